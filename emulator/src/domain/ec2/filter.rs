//! Describe* selection: id lists (every id must exist) and `Filter.N`
//! (unknown filter names are refused; values may use `*` and `?`).

use std::collections::BTreeMap;

use super::ids::Kind;
use super::{Ec2Error, Tags};

/// One `Filter.N`: a name and the values any of which may match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
}

/// A resource that Describe* calls list.
pub trait Filterable {
    /// The filter names AWS accepts for this resource, besides the tag
    /// filters (`tag:KEY`, `tag-key`, `tag-value`) every resource has.
    const FILTERS: &'static [&'static str];
    /// The kind of id Describe's id list holds.
    const KIND: Kind;
    fn id(&self) -> &str;
    /// The values of filter `name` (one of [`Filterable::FILTERS`]).
    fn values(&self, name: &str) -> Vec<String>;
}

/// Refuses a filter name the resource does not know, as AWS does.
pub fn check_filters<T: Filterable>(filters: &[Filter]) -> Result<(), Ec2Error> {
    for f in filters {
        let known = T::FILTERS.contains(&f.name.as_str())
            || f.name.starts_with("tag:")
            || f.name == "tag-key"
            || f.name == "tag-value";
        if !known {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "The filter '{}' is invalid",
                f.name
            )));
        }
    }
    Ok(())
}

/// The items named by `ids` (all of them, or `NotFound` for the first that
/// is missing; all items when `ids` is empty) that match every filter.
pub fn select<'a, T: Filterable>(
    items: impl IntoIterator<Item = &'a T>,
    ids: &[String],
    filters: &[Filter],
    tags: &BTreeMap<String, Tags>,
) -> Result<Vec<&'a T>, Ec2Error> {
    check_filters::<T>(filters)?;
    let items: Vec<&T> = items.into_iter().collect();
    if let Some(missing) = ids.iter().find(|id| !items.iter().any(|i| i.id() == *id)) {
        return Err(Ec2Error::not_found(T::KIND, missing.clone()));
    }
    let empty = Tags::new();
    Ok(items
        .into_iter()
        .filter(|i| ids.is_empty() || ids.iter().any(|id| id == i.id()))
        .filter(|i| {
            let tags = tags.get(i.id()).unwrap_or(&empty);
            filters.iter().all(|f| matches(*i, f, tags))
        })
        .collect())
}

fn matches<T: Filterable>(item: &T, filter: &Filter, tags: &Tags) -> bool {
    let values: Vec<String> = if let Some(key) = filter.name.strip_prefix("tag:") {
        tags.get(key).cloned().into_iter().collect()
    } else if filter.name == "tag-key" {
        tags.keys().cloned().collect()
    } else if filter.name == "tag-value" {
        tags.values().cloned().collect()
    } else {
        item.values(&filter.name)
    };
    filter
        .values
        .iter()
        .any(|pattern| values.iter().any(|v| glob(pattern, v)))
}

/// EC2 filter wildcards: `*` any run of characters, `?` one character.
pub fn glob(pattern: &str, value: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let v: Vec<char> = value.chars().collect();
    // Iterative matching with backtracking to the last `*`.
    let (mut pi, mut vi) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, vi));
            pi += 1;
        } else if let Some((sp, sv)) = star {
            pi = sp + 1;
            vi = sv + 1;
            star = Some((sp, sv + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// `true` / `false` as filters compare booleans.
pub fn flag(b: bool) -> Vec<String> {
    vec![b.to_string()]
}

/// An optional value as a filter sees it.
pub fn opt(v: &Option<String>) -> Vec<String> {
    v.iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Thing(&'static str, &'static str);

    impl Filterable for Thing {
        const FILTERS: &'static [&'static str] = &["color"];
        const KIND: Kind = Kind::Vpc;
        fn id(&self) -> &str {
            self.0
        }
        fn values(&self, name: &str) -> Vec<String> {
            match name {
                "color" => vec![self.1.to_string()],
                _ => vec![],
            }
        }
    }

    fn filter(name: &str, values: &[&str]) -> Filter {
        Filter {
            name: name.into(),
            values: values.iter().map(|v| v.to_string()).collect(),
        }
    }

    #[test]
    fn wildcards() {
        assert!(glob("web-*", "web-1"));
        assert!(glob("w?b", "web"));
        assert!(glob("*", ""));
        assert!(glob("*-b-*", "a-b-c"));
        assert!(!glob("web", "web-1"));
        assert!(!glob("a*c", "abd"));
    }

    #[test]
    fn ids_filters_and_tags() {
        let things = [Thing("vpc-1", "red"), Thing("vpc-2", "blue")];
        let mut tags = BTreeMap::new();
        tags.insert(
            "vpc-2".to_string(),
            Tags::from([("Name".to_string(), "main".to_string())]),
        );
        let ids = |sel: Vec<&Thing>| sel.iter().map(|t| t.0).collect::<Vec<_>>();
        assert_eq!(
            ids(select(&things, &[], &[filter("color", &["r*"])], &tags).unwrap()),
            ["vpc-1"]
        );
        assert_eq!(
            ids(select(&things, &[], &[filter("tag:Name", &["main"])], &tags).unwrap()),
            ["vpc-2"]
        );
        assert_eq!(
            ids(select(&things, &[], &[filter("tag-key", &["Name"])], &tags).unwrap()),
            ["vpc-2"]
        );
        assert_eq!(
            ids(select(&things, &["vpc-2".into()], &[], &tags).unwrap()),
            ["vpc-2"]
        );
        let e = select(&things, &["vpc-3".into()], &[], &tags).unwrap_err();
        assert_eq!(e.code(), "InvalidVpcID.NotFound");
        let e = select(&things, &[], &[filter("size", &["x"])], &tags).unwrap_err();
        assert_eq!(e.code(), "InvalidParameterValue");
        assert_eq!(e.to_string(), "The filter 'size' is invalid");
    }
}
