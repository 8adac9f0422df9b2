//! `framing`: the request-framing scanner of the listeners
//! (`dataplane::framing::Scanner`), differential against httparse and
//! hyper's server.
//!
//! Streams are raw bytes or pipelined near-valid requests (generated
//! methods, targets, headers, `Content-Length` / `Transfer-Encoding`
//! combinations with odd spacing, zeros and case, chunked bodies with
//! extensions and trailers), fed to the scanner in random pieces. The
//! reference model ([`crate::http_ref::requests`]: httparse heads, hyper's
//! header rules and chunked decoder) says which requests hyper hands to the
//! service, and is itself checked against hyper run on the same bytes. For
//! each of those requests the scanner must agree on where its head ends and
//! how its body is framed, and flag exactly the first one that carries both
//! framing headers. The scanner needs no method or target: they are
//! checked between the model and hyper.
//!
//! Where the scanner differs on purpose, the oracle allows it:
//! - After a request that may switch protocols (`Upgrade`, `CONNECT`) the
//!   scanner stops: whether the connection changed protocol depends on the
//!   target's answer, which it does not see. It stops at any `Upgrade`
//!   field, even in HTTP/1.0 where hyper ignores it (it reads no versions).
//! - After a request hyper rejects, or that closes the connection, nothing
//!   is required: hyper reads no further.

use emulator::dataplane::framing::{Finding, Phase, Scanner};
use proptest::prelude::*;

use super::message::{message, Message};
use super::{bytes_from, split_at};
use crate::http_ref::{self, BodyKind, RefEnd, RefRequest};
use crate::{check, Target};

pub const TARGET: Target = Target {
    name: "framing",
    about: "request framing scanner vs httparse and hyper's server",
    run,
};

/// A request: empty lines first (allowed), a request line, the rest.
#[derive(Debug, Clone)]
struct Req {
    leading: &'static str,
    line: String,
    message: Message,
}

impl Req {
    fn bytes(&self) -> Vec<u8> {
        let mut out = self.leading.as_bytes().to_vec();
        out.extend(self.message.bytes(&self.line));
        out
    }
}

fn request() -> impl Strategy<Value = Req> {
    (
        prop::sample::select(&["", "", "", "\r\n", "\n"][..]),
        prop::sample::select(
            &[
                "GET", "POST", "PUT", "HEAD", "CONNECT", "OPTIONS", "PATCH", "get", "G ET", "",
            ][..],
        ),
        prop_oneof![
            6 => Just("/".to_string()),
            2 => "/[a-z0-9?=&%]{0,10}",
            1 => Just("*".to_string()),
            1 => Just("http://h/x".to_string()),
            1 => "[ -~]{0,6}",
        ],
        prop::sample::select(
            &[
                "HTTP/1.1",
                "HTTP/1.1",
                "HTTP/1.1",
                "HTTP/1.0",
                "HTTP/2.0",
                "HTTP/1.1 ",
            ][..],
        ),
        message(),
    )
        .prop_map(|(leading, method, target, version, message)| Req {
            leading,
            line: format!("{method} {target} {version}"),
            message,
        })
}

#[derive(Debug, Clone)]
enum Stream {
    Raw(Vec<u8>),
    Requests(Vec<Req>, Vec<u8>),
}

fn stream() -> impl Strategy<Value = (Stream, Vec<u16>)> {
    let raw = bytes_from(
        b"GET / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n0123456789abcdef;: \t",
        200,
    );
    (
        prop_oneof![
            1 => raw.prop_map(Stream::Raw),
            4 => (prop::collection::vec(request(), 1..4), bytes_from(b"\r\n0GET ", 6))
                .prop_map(|(reqs, tail)| Stream::Requests(reqs, tail)),
        ],
        prop::collection::vec(any::<u16>(), 0..6),
    )
}

fn run(runner: &mut proptest::test_runner::TestRunner) -> Result<(), String> {
    let rt = http_ref::runtime();
    check(runner, stream(), |(stream, cuts)| {
        let bytes = match &stream {
            Stream::Raw(b) => b.clone(),
            Stream::Requests(reqs, tail) => {
                let mut b: Vec<u8> = reqs.iter().flat_map(Req::bytes).collect();
                b.extend_from_slice(tail);
                b
            }
        };
        let (requests, end) = http_ref::requests(&bytes);
        model_matches_hyper(&rt, &bytes, &requests, &end)?;
        scanner_agrees(&bytes, &cuts, &requests).map_err(|e| {
            format!(
                "{e}\nstream: {:?}\nreference: {requests:#?}",
                String::from_utf8_lossy(&bytes)
            )
        })
    })
}

/// The reference model serves what hyper serves.
fn model_matches_hyper(
    rt: &tokio::runtime::Runtime,
    bytes: &[u8],
    requests: &[RefRequest],
    end: &RefEnd,
) -> Result<(), String> {
    let served = http_ref::hyper_serves(rt, bytes)?;
    let model: Vec<http_ref::Served> = requests
        .iter()
        .map(|r| http_ref::Served {
            method: r.method.clone(),
            target: r.target.clone(),
            body: r.body_end.clone().map(|(body, _)| body),
        })
        .collect();
    if served != model {
        return Err(format!(
            "the reference model disagrees with hyper\nstream: {:?}\nhyper: {served:#?}\nmodel: {model:#?} then {end:?}",
            String::from_utf8_lossy(bytes)
        ));
    }
    Ok(())
}

fn scanner_agrees(bytes: &[u8], cuts: &[u16], requests: &[RefRequest]) -> Result<(), String> {
    // Feed in random pieces, and also stop at every boundary to look.
    let mut stops: Vec<usize> = split_at(bytes, cuts)
        .iter()
        .scan(0, |at, piece| {
            *at += piece.len();
            Some(*at)
        })
        .collect();
    for r in requests {
        stops.push(r.head_end);
        if let Ok((_, end)) = r.body_end {
            stops.push(end);
        }
    }
    stops.sort_unstable();
    stops.dedup();

    let mut scanner = Scanner::default();
    let mut fed = 0;
    let mut finding: Option<(u64, usize)> = None;
    let mut feed_to = |scanner: &mut Scanner, to: usize, finding: &mut Option<(u64, usize)>| {
        while fed < to {
            let next = *stops.iter().find(|s| **s > fed).unwrap_or(&to).min(&to);
            if let Some(Finding::Ambiguous(n)) = scanner.feed(&bytes[fed..next]) {
                finding.get_or_insert((n, next));
            }
            fed = next;
        }
    };
    for (i, r) in requests.iter().enumerate() {
        let n = i as u64 + 1;
        feed_to(&mut scanner, r.head_end, &mut finding);
        let (heads, phase) = scanner.phase();
        if r.ambiguous {
            return match finding {
                Some((found, _)) if found == n => Ok(()),
                other => Err(format!(
                    "request {n} has both framing headers; scanner found {other:?}"
                )),
            };
        }
        if let Some((found, at)) = finding {
            return Err(format!(
                "scanner flagged request {found} (at byte {at}); request {n} is fine"
            ));
        }
        let want = match r.body {
            BodyKind::Length(0) => Phase::Idle,
            BodyKind::Length(len) => Phase::Body(Some(len)),
            BodyKind::Chunked => Phase::Body(None),
        };
        if r.upgrade || r.upgrade_field {
            // The scanner stops after a possible protocol switch (see above).
            return if phase == Phase::Off || (heads, phase) == (n, want) {
                Ok(())
            } else {
                Err(format!(
                    "after upgrade request {n}: scanner at {:?}",
                    (heads, phase)
                ))
            };
        }
        if (heads, phase) != (n, want) {
            return Err(format!(
                "after head {n} (byte {}): scanner at {:?}, hyper at {:?}",
                r.head_end,
                (heads, phase),
                (n, want)
            ));
        }
        let Ok((_, body_end)) = r.body_end else {
            return Ok(());
        };
        feed_to(&mut scanner, body_end, &mut finding);
        if scanner.phase() != (n, Phase::Idle) {
            return Err(format!(
                "after body {n} (byte {body_end}): scanner at {:?}",
                scanner.phase()
            ));
        }
        if !r.keep_alive {
            return Ok(());
        }
    }
    // The rest of the stream is never served: the scanner may make of it
    // what it likes, but must not flag a request that was served.
    feed_to(&mut scanner, bytes.len(), &mut finding);
    match finding {
        Some((found, _)) if found <= requests.len() as u64 => {
            Err(format!("scanner flagged served request {found}"))
        }
        _ => Ok(()),
    }
}
