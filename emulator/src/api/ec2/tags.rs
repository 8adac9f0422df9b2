//! CreateTags, DeleteTags, DescribeTags.

use crate::domain::ec2::filter::check_filters;
use crate::domain::ec2::filter::{glob, Filterable};
use crate::domain::ec2::{Ec2Error, Kind};
use crate::protocol::query::Params;

use super::{filters, page, required, returns_true, tag_list, Cx, Output, Result};

/// Tags per resource AWS allows.
pub const TAGS_PER_RESOURCE: usize = 50;
/// Longest tag key and value AWS allows.
const KEY_MAX: usize = 128;
const VALUE_MAX: usize = 256;

fn resource_ids(p: &Params) -> Result<Vec<String>> {
    let ids: Vec<String> = p
        .flat_list("ResourceId")?
        .into_iter()
        .map(String::from)
        .collect();
    if ids.is_empty() {
        return Err(Ec2Error::MissingParameter("ResourceId".into()).into());
    }
    Ok(ids)
}

pub fn create(cx: &Cx, p: &Params) -> Result<Output> {
    let ids = resource_ids(p)?;
    let tags = tag_list(p, "Tag")?;
    if tags.is_empty() {
        return Err(Ec2Error::MissingParameter("Tag".into()).into());
    }
    for (k, v) in &tags {
        if k.is_empty() || k.len() > KEY_MAX || v.len() > VALUE_MAX || k.starts_with("aws:") {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Tag key '{k}' or its value is invalid: keys are 1 to {KEY_MAX} characters and may not begin with aws:, values up to {VALUE_MAX}."
            ))
            .into());
        }
    }
    cx.write(|r| {
        for id in &ids {
            r.exists(id)?;
            let mut keys: Vec<&String> = r
                .tags
                .get(id)
                .map(|t| t.keys().collect())
                .unwrap_or_default();
            keys.extend(tags.iter().map(|(k, _)| k));
            keys.sort();
            keys.dedup();
            if keys.len() > TAGS_PER_RESOURCE {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Resource {id} would have more than {TAGS_PER_RESOURCE} tags"
                )));
            }
        }
        for id in &ids {
            r.tag(id, &tags);
        }
        Ok(())
    })?;
    Ok(returns_true())
}

pub fn delete(cx: &Cx, p: &Params) -> Result<Output> {
    let ids = resource_ids(p)?;
    // A key with no Value deletes the tag whatever its value; with one,
    // only when it matches.
    let specs: Vec<(String, Option<String>)> = p
        .flat_structures("Tag")?
        .into_iter()
        .map(|t| {
            Ok((
                required(&t, "Key")?.to_string(),
                t.get("Value").map(String::from),
            ))
        })
        .collect::<Result<_>>()?;
    cx.write(|r| {
        for id in &ids {
            r.exists(id)?;
        }
        for id in &ids {
            if let Some(tags) = r.tags.get_mut(id) {
                if specs.is_empty() {
                    tags.clear();
                }
                for (k, v) in &specs {
                    if v.is_none() || tags.get(k) == v.as_ref() {
                        tags.remove(k);
                    }
                }
            }
        }
        Ok(())
    })?;
    Ok(returns_true())
}

/// One tag of one resource, as DescribeTags lists it.
struct TagRow {
    id: String,
    kind: &'static str,
    key: String,
    value: String,
}

impl Filterable for TagRow {
    const FILTERS: &'static [&'static str] = &["key", "resource-id", "resource-type", "value"];
    const KIND: Kind = Kind::Vpc;
    fn id(&self) -> &str {
        &self.id
    }
    fn values(&self, name: &str) -> Vec<String> {
        match name {
            "key" => vec![self.key.clone()],
            "resource-id" => vec![self.id.clone()],
            "resource-type" => vec![self.kind.to_string()],
            "value" => vec![self.value.clone()],
            _ => vec![],
        }
    }
}

pub fn describe(cx: &Cx, p: &Params) -> Result<Output> {
    let filters = filters(p)?;
    check_filters::<TagRow>(&filters)?;
    if let Some(f) = filters.iter().find(|f| f.name.starts_with("tag")) {
        return Err(
            Ec2Error::InvalidParameterValue(format!("The filter '{}' is invalid", f.name)).into(),
        );
    }
    let rows = cx.read(|r| {
        Ok(r.tags
            .iter()
            .flat_map(|(id, tags)| {
                let kind = Kind::of_id(id).map(Kind::resource_type).unwrap_or_default();
                tags.iter().map(move |(k, v)| TagRow {
                    id: id.clone(),
                    kind,
                    key: k.clone(),
                    value: v.clone(),
                })
            })
            .filter(|row| {
                filters.iter().all(|f| {
                    let values = row.values(&f.name);
                    f.values
                        .iter()
                        .any(|pat| values.iter().any(|v| glob(pat, v)))
                })
            })
            .collect::<Vec<_>>())
    })?;
    let (rows, next) = page(rows, p)?;
    Ok(Box::new(move |w| {
        w.items("tagSet", &rows, |w, t| {
            w.text("resourceId", &t.id)
                .text("resourceType", t.kind)
                .text("key", &t.key)
                .text("value", &t.value);
        });
        w.opt_text("nextToken", next);
    }))
}
