//! `query`: form bodies of the Query protocols (`protocol::query::Params`):
//! decoding, `.member.N` and ec2Query `.N` lists, structures, key/values,
//! integers and booleans.
//!
//! Oracle: a reference model over serde_urlencoded's pairs, written from
//! the encoding rules (a list index is a decimal N >= 1 that fits in u32,
//! sign-free and without leading zeros; a structure member has a non-empty field name after the
//! index), not from the parser's code.

use std::collections::BTreeMap;

use emulator::protocol::query::{Params, QueryError};
use proptest::prelude::*;

use super::{bytes_from, string_from};
use crate::{check, Target};

pub const TARGET: Target = Target {
    name: "query",
    about: "Query form bodies: Params, member and flat lists, key/values",
    run,
};

const NAMES: &[&str] = &["Names", "Tags", "Filter", "Port", "Enabled"];

fn key() -> impl Strategy<Value = String> {
    (
        prop::sample::select(NAMES),
        prop::sample::select(&[".member.", ".", "", ".member"][..]),
        prop::sample::select(
            &[
                "1",
                "2",
                "10",
                "0",
                "01",
                "+1",
                "-1",
                "x",
                "",
                "4294967296",
                "4294967295",
                "٣",
            ][..],
        ),
        prop::sample::select(
            &[
                "",
                ".Key",
                ".Value",
                ".Value.1",
                ".",
                ".Values.member.2",
                ".Key.x",
            ][..],
        ),
    )
        .prop_map(|(name, infix, index, field)| format!("{name}{infix}{index}{field}"))
}

fn value() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("true".to_string()),
        Just("FALSE".to_string()),
        "[ ]?[0-9]{1,6}[ ]?",
        string_from("a%+=&é 1", 8),
    ]
}

#[derive(Debug, Clone)]
enum Body {
    Raw(Vec<u8>),
    /// Pairs, each encoded properly or written raw.
    Pairs(Vec<(String, String, bool)>),
}

impl Body {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Raw(b) => b.clone(),
            Body::Pairs(pairs) => {
                let parts: Vec<String> = pairs
                    .iter()
                    .map(|(k, v, encode)| {
                        if *encode {
                            serde_urlencoded::to_string([(k, v)]).expect("strings encode")
                        } else {
                            format!("{k}={v}")
                        }
                    })
                    .collect();
                parts.join("&").into_bytes()
            }
        }
    }
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        1 => bytes_from(b"Names.member.1=&%2+x\xff", 40).prop_map(Body::Raw),
        4 => prop::collection::vec((key(), value(), any::<bool>()), 0..8).prop_map(Body::Pairs),
    ]
}

fn run(runner: &mut proptest::test_runner::TestRunner) -> Result<(), String> {
    check(runner, body(), |body| {
        let bytes = body.bytes();
        let Some(pairs) = reference_pairs(&bytes) else {
            return match Params::parse(&bytes) {
                Err(e) if e.code == "MalformedQueryString" => Ok(()),
                other => Err(format!("undecodable body gave {other:?}")),
            };
        };
        let params = Params::parse(&bytes).map_err(|e| format!("refused: {e:?}"))?;
        let map: BTreeMap<String, String> = pairs.into_iter().collect();
        for (k, v) in &map {
            if params.get(k) != Some(v.as_str()) {
                return Err(format!("{k:?} is {:?}, not {v:?}", params.get(k)));
            }
        }
        compare(&params, &map, 0)
    })
}

/// The pairs of a valid body; `None` when the parser must refuse it
/// (not UTF-8, undecodable, or a key given twice).
fn reference_pairs(bytes: &[u8]) -> Option<Vec<(String, String)>> {
    std::str::from_utf8(bytes).ok()?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(bytes).ok()?;
    let pairs: Vec<_> = pairs.into_iter().filter(|(k, _)| !k.is_empty()).collect();
    let mut seen = std::collections::HashSet::new();
    pairs
        .iter()
        .all(|(k, _)| seen.insert(k.clone()))
        .then_some(pairs)
}

/// The index and the rest of `key` after `prefix`, as the encoding defines them.
fn index_of<'k>(key: &'k str, prefix: &str) -> Option<(u32, &'k str)> {
    let after = key.strip_prefix(prefix)?;
    let end = after.find('.').unwrap_or(after.len());
    let digits = &after[..end];
    if digits.is_empty() || digits.starts_with('0') || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u32 = digits.parse().ok()?;
    (n >= 1).then_some((n, &after[end..]))
}

type Items = Result<Vec<(u32, BTreeMap<String, String>)>, ()>;

/// The structures `name<infix>N.*` (or scalars, `field` empty), by index.
fn reference_items(map: &BTreeMap<String, String>, prefix: &str, scalars: bool) -> Items {
    let mut items: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
    let mut order = Vec::new();
    for (k, v) in map.iter().filter(|(k, _)| k.starts_with(prefix)) {
        let (n, rest) = index_of(k, prefix).ok_or(())?;
        if scalars {
            if !rest.is_empty() {
                return Err(());
            }
            order.push((n, BTreeMap::from([(String::new(), v.clone())])));
        } else {
            let field = rest.strip_prefix('.').filter(|f| !f.is_empty()).ok_or(())?;
            items
                .entry(n)
                .or_default()
                .insert(field.to_string(), v.clone());
        }
    }
    if scalars {
        order.sort_by_key(|(n, _)| *n);
        return Ok(order);
    }
    Ok(items.into_iter().collect())
}

fn malformed<T: std::fmt::Debug>(got: &Result<T, QueryError>) -> bool {
    matches!(got, Err(e) if e.code == "MalformedQueryString")
}

fn compare(params: &Params, map: &BTreeMap<String, String>, depth: u32) -> Result<(), String> {
    let mut names: Vec<&str> = NAMES.to_vec();
    names.extend(["Key", "Value", "Values"]);
    for name in names {
        for (infix, structures) in [
            (".member.", false),
            (".member.", true),
            (".", false),
            (".", true),
        ] {
            let prefix = format!("{name}{infix}");
            let want = reference_items(map, &prefix, !structures);
            let label = format!("{name}{infix}N structures={structures}");
            match (structures, infix) {
                (false, ".member.") => same_scalars(&label, params.list(name), &want)?,
                (false, _) => same_scalars(&label, params.flat_list(name), &want)?,
                (true, ".member.") => {
                    let got = params.structures(name);
                    same_structures(&label, &got, &want, depth)?;
                    key_values(name, params, &want)?;
                }
                (true, _) => same_structures(&label, &params.flat_structures(name), &want, depth)?,
            }
        }
        let value = map.get(name);
        let int = params.integer::<u16>(name);
        let want_int = value.map(|v| v.trim().parse::<u16>().ok());
        match (&int, want_int) {
            (Ok(got), None) if got.is_none() => {}
            (Ok(Some(got)), Some(Some(want))) if *got == want => {}
            (Err(e), Some(None)) if e.code == "ValidationError" => {}
            _ => return Err(format!("integer {name}: {int:?} for {value:?}")),
        }
        let boolean = params.boolean(name);
        let want_bool = value.map(|v| match v.to_ascii_lowercase().as_str() {
            "true" => Some(true),
            "false" => Some(false),
            _ => None,
        });
        match (&boolean, want_bool) {
            (Ok(None), None) => {}
            (Ok(Some(got)), Some(Some(want))) if *got == want => {}
            (Err(e), Some(None)) if e.code == "ValidationError" => {}
            _ => return Err(format!("boolean {name}: {boolean:?} for {value:?}")),
        }
        let present =
            map.contains_key(name) || map.keys().any(|k| k.starts_with(&format!("{name}.")));
        if params.has(name) != present {
            return Err(format!("has({name}) is {}", params.has(name)));
        }
    }
    Ok(())
}

fn same_scalars(
    label: &str,
    got: Result<Vec<&str>, QueryError>,
    want: &Items,
) -> Result<(), String> {
    match (&got, want) {
        (Ok(items), Ok(want)) => {
            let want: Vec<&str> = want.iter().map(|(_, m)| m[""].as_str()).collect();
            if *items != want {
                return Err(format!("{label}: {items:?}, want {want:?}"));
            }
        }
        (_, Err(())) if malformed(&got) => {}
        _ => return Err(format!("{label}: {got:?}, want {want:?}")),
    }
    Ok(())
}

fn same_structures(
    label: &str,
    got: &Result<Vec<Params>, QueryError>,
    want: &Items,
    depth: u32,
) -> Result<(), String> {
    match (got, want) {
        (Ok(items), Ok(want)) if items.len() == want.len() => {
            for (item, (_, fields)) in items.iter().zip(want) {
                for (field, value) in fields {
                    if item.get(field) != Some(value.as_str()) {
                        return Err(format!("{label}: {field} is {:?}", item.get(field)));
                    }
                }
                if depth == 0 {
                    compare(item, fields, 1)?;
                }
            }
        }
        (_, Err(())) if malformed(got) => {}
        _ => return Err(format!("{label}: {got:?}, want {want:?}")),
    }
    Ok(())
}

fn key_values(name: &str, params: &Params, want: &Items) -> Result<(), String> {
    let got = params.key_values(name);
    let Ok(want) = want else {
        return if malformed(&got) {
            Ok(())
        } else {
            Err(format!("key_values {name}: {got:?}"))
        };
    };
    let expected: Option<Vec<(String, String)>> = want
        .iter()
        .map(|(_, m)| {
            let key = m.get("Key")?.clone();
            Some((key, m.get("Value").cloned().unwrap_or_default()))
        })
        .collect();
    match (&got, expected) {
        (Ok(got), Some(want)) if *got == want => Ok(()),
        (Err(e), None) if e.code == "ValidationError" && e.message.contains(".key'") => Ok(()),
        (got, want) => Err(format!("key_values {name}: {got:?}, want {want:?}")),
    }
}
