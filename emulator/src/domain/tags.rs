//! Tags: lists kept in the order their keys were first set, and the
//! lengths AWS allows a tag.

use super::validation::constraint_violation;

/// Sets each of `new` in `tags`: one whose key `same_key` matches a key
/// already there takes that entry's place (key spelling and value), any
/// other goes at the end.
pub fn upsert(
    tags: &mut Vec<(String, String)>,
    new: impl IntoIterator<Item = (String, String)>,
    same_key: impl Fn(&str, &str) -> bool,
) {
    for (key, value) in new {
        match tags.iter_mut().find(|(k, _)| same_key(k, &key)) {
            Some(entry) => *entry = (key, value),
            None => tags.push((key, value)),
        }
    }
}

/// AWS's validation message for the first tag whose key is not 1-128
/// characters long or whose value is longer than 256, if one is.
pub fn length_violation<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Option<String> {
    tags.into_iter().find_map(|(key, value)| {
        if key.is_empty() || key.len() > 128 {
            Some(constraint_violation(
                key,
                "tags.member.key",
                "Member must have length between 1 and 128",
            ))
        } else if value.len() > 256 {
            Some(constraint_violation(
                value,
                "tags.member.value",
                "Member must have length less than or equal to 256",
            ))
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_set_key_keeps_its_place_and_a_new_one_goes_last() {
        let mut tags = pairs(&[("a", "1"), ("b", "2")]);
        upsert(&mut tags, pairs(&[("c", "3"), ("a", "4")]), |x, y| x == y);
        assert_eq!(tags, pairs(&[("a", "4"), ("b", "2"), ("c", "3")]));
        upsert(&mut tags, pairs(&[("B", "5")]), str::eq_ignore_ascii_case);
        assert_eq!(tags, pairs(&[("a", "4"), ("B", "5"), ("c", "3")]));
    }
}
