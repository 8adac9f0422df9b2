//! `json`: AWS JSON 1.1 request decoding (`protocol::json::decode`),
//! including its error path and the epoch-seconds timestamps.
//!
//! Oracle: serde_json's own reading of the body as a `Value`. A blank body
//! is `{}`; a body that is not JSON is `SerializationException`; JSON of
//! the wrong shape gets the service's validation code (never
//! `SerializationException`); a timestamp in range reads back to within a
//! millisecond, and one out of range is a validation error, not a panic.

use emulator::domain::epoch_seconds;
use emulator::protocol::json;
use proptest::prelude::*;
use serde_json::Value;

use super::bytes_from;
use crate::{check, Target};

pub const TARGET: Target = Target {
    name: "json",
    about: "JSON 1.1 request bodies: syntax vs validation errors, timestamps",
    run,
};

const VALIDATION: &str = "InvalidParameterException";

/// An input shape like the API's: required and optional members, a list of
/// structures, a timestamp.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code)]
struct Input {
    name: String,
    count: Option<i32>,
    tags: Option<Vec<Tag>>,
    #[serde(default, with = "epoch_seconds::option")]
    at: Option<time::OffsetDateTime>,
}

#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)]
struct Tag {
    key: String,
    value: Option<String>,
}

#[derive(Debug, serde::Deserialize)]
struct Stamp {
    #[serde(with = "epoch_seconds")]
    at: time::OffsetDateTime,
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        "[a-z\\\\\"é\u{0}-\u{1f}]{0,6}".prop_map(Value::String),
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        Just("name".to_string()),
        Just("count".to_string()),
        Just("tags".to_string()),
        Just("key".to_string()),
        Just("value".to_string()),
        Just("at".to_string()),
        "[a-z]{0,4}",
    ];
    leaf().prop_recursive(4, 32, 6, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((key.clone(), inner), 0..5)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
}

#[derive(Debug, Clone)]
enum Body {
    Raw(Vec<u8>),
    /// A JSON document, then cut, with a byte put in, or padded.
    Json {
        doc: Value,
        cut: Option<u16>,
        insert: Option<(u16, u8)>,
        pad: &'static str,
    },
}

impl Body {
    fn bytes(&self) -> Vec<u8> {
        match self {
            Body::Raw(b) => b.clone(),
            Body::Json {
                doc,
                cut,
                insert,
                pad,
            } => {
                let mut b = serde_json::to_vec(doc).expect("a Value serializes");
                if let Some(cut) = cut {
                    b.truncate(b.len() * usize::from(*cut % 1000) / 1000);
                }
                if let Some((at, byte)) = insert {
                    let at = b.len() * usize::from(*at % 1000) / 1000;
                    b.insert(at, *byte);
                }
                let mut out = pad.as_bytes().to_vec();
                out.extend_from_slice(&b);
                out.extend_from_slice(pad.as_bytes());
                out
            }
        }
    }
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        bytes_from(b"{}[]\":,0123456789.eE-+ \t\r\n\x0ctrufalsn\\", 48).prop_map(Body::Raw),
        (
            value(),
            prop::option::weighted(0.2, any::<u16>()),
            prop::option::weighted(0.2, (any::<u16>(), any::<u8>())),
            prop::sample::select(&["", " ", "\r\n", "\t"][..]),
        )
            .prop_map(|(doc, cut, insert, pad)| Body::Json {
                doc,
                cut,
                insert,
                pad
            }),
    ]
}

fn run(runner: &mut proptest::test_runner::TestRunner) -> Result<(), String> {
    check(runner, (body(), any::<f64>()), |(body, secs)| {
        let bytes = body.bytes();
        decodes_like_serde_json(&bytes)?;
        timestamps(secs)
    })
}

fn decodes_like_serde_json(bytes: &[u8]) -> Result<(), String> {
    let blank = bytes.iter().all(u8::is_ascii_whitespace);
    let reference = serde_json::from_slice::<Value>(bytes);
    let got = json::decode::<Value>(bytes, VALIDATION);
    match (&reference, &got) {
        _ if blank => {
            if got.as_ref().ok() != Some(&serde_json::json!({})) {
                return Err(format!("a blank body is not {{}}: {got:?}"));
            }
        }
        (Ok(want), Ok(v)) if want == v => {}
        (Err(_), Err(e)) if e.code == "SerializationException" && e.status == 400 => {}
        _ => return Err(format!("decode gave {got:?}, serde_json {reference:?}")),
    }
    let typed = json::decode::<Input>(bytes, VALIDATION);
    match (&reference, &typed) {
        (_, Ok(_)) => {}
        // `{}` lacks the required `name`.
        _ if blank && typed.as_ref().err().map(|e| e.code.as_str()) != Some(VALIDATION) => {
            return Err(format!("a blank body gave {typed:?}"));
        }
        _ if blank => {}
        (Ok(_), Err(e)) if e.code != VALIDATION => {
            return Err(format!("well-formed JSON of the wrong shape gave {e:?}"))
        }
        (Err(_), Err(e)) if e.code != "SerializationException" => {
            return Err(format!("malformed JSON gave {e:?}"))
        }
        _ => {}
    }
    Ok(())
}

fn timestamps(secs: f64) -> Result<(), String> {
    // What `time` can hold (years -9999..=9999 by default).
    let min_secs = time::PrimitiveDateTime::MIN.assume_utc().unix_timestamp() as f64;
    let max_secs = time::PrimitiveDateTime::MAX.assume_utc().unix_timestamp() as f64;
    let Some(number) = serde_json::Number::from_f64(secs) else {
        return Ok(()); // NaN and infinities are not JSON.
    };
    let body = serde_json::json!({ "at": number }).to_string();
    let got = json::decode::<Stamp>(body.as_bytes(), VALIDATION);
    // Well inside the range: must read back; well outside: must refuse.
    if secs > min_secs + 1.0 && secs < max_secs - 1.0 {
        let t = got.map_err(|e| format!("{body} refused: {e:?}"))?.at;
        let back = epoch_seconds::to_f64(t);
        if (back - secs).abs() > 1e-3 + secs.abs() * 1e-15 {
            return Err(format!("{body} read back as {back}"));
        }
    } else if secs < min_secs - 1.0 || secs > max_secs + 1.0 {
        match got {
            Err(e) if e.code == VALIDATION => {}
            other => return Err(format!("{body} out of range gave {other:?}")),
        }
    }
    Ok(())
}
