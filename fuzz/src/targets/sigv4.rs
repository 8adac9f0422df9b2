//! `sigv4`: the credential scope in `Authorization`, and the addressing of a
//! control-port request by scope, `X-Amz-Target` and form body.
//!
//! Oracle: a scope built from clean parts (no `/`, `,` or surrounding
//! space) parses back to exactly those parts; any parsed scope is made of
//! `/`-free parts that appear in the header in order; addressing never
//! panics and names the service the scope or target names.

use emulator::protocol::{self, sigv4::CredentialScope};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

use super::string_from;
use crate::{check, Target};

pub const TARGET: Target = Target {
    name: "sigv4",
    about: "SigV4 credential scope parsing and service addressing",
    run,
};

#[derive(Debug, Clone)]
struct Scope {
    scheme: &'static str,
    before: Vec<String>,
    parts: [String; 5],
    after: Vec<String>,
    separator: &'static str,
}

impl Scope {
    fn header(&self) -> String {
        let credential = format!("Credential={}", self.parts.join("/"));
        let mut fields = self.before.clone();
        fields.push(credential);
        fields.extend(self.after.iter().cloned());
        format!("{}{}", self.scheme, fields.join(self.separator))
    }

    /// Whether the header must parse to exactly these parts.
    fn clean(&self) -> bool {
        self.scheme.starts_with("AWS4-HMAC-SHA256")
            && self.parts[4] == "aws4_request"
            && self.parts[..4]
                .iter()
                .all(|p| !p.contains(['/', ',']) && p.trim() == p)
            && self
                .before
                .iter()
                .all(|f| !f.contains(',') && !f.trim_start().starts_with("Credential="))
    }
}

fn part() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[A-Za-z0-9_-]{0,12}",
        1 => string_from("/,= aA1-_", 8),
        1 => Just("aws4_request".to_string()),
    ]
}

fn field() -> impl Strategy<Value = String> {
    prop_oneof![
        "SignedHeaders=[a-z;-]{0,20}",
        "Signature=[0-9a-f]{0,16}",
        string_from("=,/ Credential", 16),
    ]
}

fn scope() -> impl Strategy<Value = Scope> {
    (
        prop::sample::select(
            &[
                "AWS4-HMAC-SHA256 ",
                "AWS4-HMAC-SHA256",
                "AWS4-HMAC-SHA256  ",
                "aws4-hmac-sha256 ",
                "Basic ",
                "",
            ][..],
        ),
        prop::collection::vec(field(), 0..2),
        [part(), part(), part(), part(), part()],
        prop::collection::vec(field(), 0..3),
        prop::sample::select(&[", ", ",", " , ", ",\t"][..]),
    )
        .prop_map(|(scheme, before, parts, after, separator)| Scope {
            scheme,
            before,
            parts,
            after,
            separator,
        })
        .prop_map(|mut s| {
            // Mostly well-formed: the last part is the terminator.
            if s.parts[4].len() % 3 != 0 {
                s.parts[4] = "aws4_request".into();
            }
            s
        })
}

#[derive(Debug, Clone)]
enum Input {
    Raw(String),
    Scope(Scope),
}

#[derive(Debug, Clone)]
struct Request {
    authorization: Input,
    target: Option<String>,
    content_type: Option<String>,
    body: Vec<u8>,
}

fn target_header() -> impl Strategy<Value = String> {
    prop_oneof![
        (
            prop::sample::select(
                &[
                    "AmazonEC2ContainerServiceV20141113",
                    "Logs_20140328",
                    "AmazonSSM",
                    "secretsmanager",
                    "Route53AutoNaming_v20170314",
                    "AnyScaleFrontendService",
                    "AmazonSQS",
                    "",
                ][..]
            ),
            "[A-Za-z.]{0,12}"
        )
            .prop_map(|(prefix, op)| format!("{prefix}.{op}")),
        string_from(".aA", 12),
    ]
}

fn request() -> impl Strategy<Value = Request> {
    (
        prop_oneof![
            1 => any::<String>().prop_map(Input::Raw),
            3 => scope().prop_map(Input::Scope),
        ],
        prop::option::of(target_header()),
        prop::option::of(prop::sample::select(
            &["application/x-amz-json-1.1", "application/json", "text/xml", "x"][..],
        ).prop_map(str::to_string)),
        prop_oneof![
            "(Action=[A-Za-z]{0,8}&)?(Version=(2015-12-01|2016-11-15|2010-05-08|2011-06-15|2012-06-01)&?)?[a-z=&%]{0,8}"
                .prop_map(String::into_bytes),
            prop::collection::vec(any::<u8>(), 0..32),
        ],
    )
        .prop_map(|(authorization, target, content_type, body)| Request {
            authorization,
            target,
            content_type,
            body,
        })
}

fn run(runner: &mut proptest::test_runner::TestRunner) -> Result<(), String> {
    check(runner, request(), |r| {
        let header = match &r.authorization {
            Input::Raw(s) => s.clone(),
            Input::Scope(s) => s.header(),
        };
        let parsed = CredentialScope::from_authorization(&header);
        if let Input::Scope(s) = &r.authorization {
            if s.clean() {
                let want = (&s.parts[0], &s.parts[2], &s.parts[3]);
                let got = parsed
                    .as_ref()
                    .map(|p| (&p.access_key, &p.region, &p.service));
                if got != Some(want) {
                    return Err(format!("{header:?} parsed as {parsed:?}"));
                }
            }
        }
        if let Some(p) = &parsed {
            let parts = [&p.access_key, &p.region, &p.service];
            if parts.iter().any(|part| part.contains('/')) {
                return Err(format!("a scope part holds '/': {p:?}"));
            }
            let needle = format!("Credential={}/", p.access_key);
            let tail = format!("/{}/{}/aws4_request", p.region, p.service);
            if !header.contains(&needle) || !header.contains(&tail) {
                return Err(format!("{header:?} parsed as {p:?}"));
            }
        }
        address(&r, &header, parsed.as_ref())
    })
}

/// The addressing of the same request: no panic, and the scope's or the
/// target's service when one names a served service.
fn address(
    r: &Request,
    authorization: &str,
    scope: Option<&CredentialScope>,
) -> Result<(), String> {
    let mut headers = HeaderMap::new();
    let mut put = |name: &'static str, value: &str| {
        if let Ok(v) = HeaderValue::from_str(value) {
            headers.insert(name, v);
        }
    };
    put("authorization", authorization);
    if let Some(t) = &r.target {
        put("x-amz-target", t);
    }
    if let Some(ct) = &r.content_type {
        put("content-type", ct);
    }
    // The header as the server sees it: a value that is not visible ASCII
    // never reaches the parser.
    let scope_seen = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(CredentialScope::from_authorization);
    let readable = headers
        .get("authorization")
        .is_some_and(|v| v.to_str().is_ok());
    if readable && scope_seen.as_ref() != scope {
        return Err("the header map changed the scope".into());
    }
    let unserved = protocol::names_unserved_service(&headers);
    match protocol::address(&headers, &r.body) {
        Ok(a) => {
            if let Some(s) = &scope_seen {
                if !unserved && a.service.signing_name() != s.service {
                    return Err(format!("scope {s:?} addressed to {:?}", a.service));
                }
                if a.region.as_deref() != Some(s.region.as_str()) {
                    return Err(format!("region of {s:?} lost: {a:?}"));
                }
            }
        }
        Err(unserved_request) => {
            if let Some(s) = &scope_seen {
                if !unserved {
                    return Err(format!("served scope {s:?} refused: {unserved_request:?}"));
                }
            }
        }
    }
    Ok(())
}
