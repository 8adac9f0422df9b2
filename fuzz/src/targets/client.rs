//! `client`: the hand-written HTTP/1 client that reads target responses
//! (`dataplane::client`: httparse heads, its own framing and chunked
//! decoding), differential against hyper's client on the same bytes.
//!
//! Responses are raw bytes or near-valid messages (interim 1xx heads first,
//! statuses with and without bodies, the framing combinations of
//! [`super::message`]), answered to GET, HEAD or an upgrade request and
//! delivered in random pieces. Both must agree on success or failure and
//! on status, header fields, body and trailers.
//!
//! Where the client differs on purpose, the oracle allows it:
//! - `101 Switching Protocols` to a request that asked for no upgrade is
//!   refused (502): there is no protocol to switch to. hyper hands it on.

use emulator::dataplane::fuzzing::read_response;
use http::{Method, StatusCode};
use proptest::prelude::*;

use super::message::{message, Message};
use super::{bytes_from, split_at};
use crate::http_ref;
use crate::{check, Target};

pub const TARGET: Target = Target {
    name: "client",
    about: "target response reading (heads, framing, chunked) vs hyper's client",
    run,
};

#[derive(Debug, Clone)]
struct Resp {
    interim: Vec<u16>,
    line: String,
    message: Message,
}

#[derive(Debug, Clone)]
enum Input {
    Raw(Vec<u8>),
    Resp(Box<Resp>, Vec<u8>),
}

fn status_line() -> impl Strategy<Value = String> {
    let code = prop_oneof![
        6 => Just(200u16),
        1 => prop::sample::select(&[204u16, 304, 101, 100, 103, 404, 500, 199, 999][..]),
        1 => 0u16..1100,
    ];
    (
        prop::sample::select(
            &[
                "HTTP/1.1", "HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2", "http/1.1",
            ][..],
        ),
        code,
        prop_oneof![
            Just("OK".to_string()),
            Just(String::new()),
            "[ -~\u{80}-\u{ff}]{0,6}"
        ],
    )
        .prop_map(|(version, code, reason)| format!("{version} {code:03} {reason}"))
}

fn input() -> impl Strategy<Value = Input> {
    let raw = bytes_from(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n0123456789abcdef;: ",
        160,
    );
    let resp = (
        prop::collection::vec(prop::sample::select(&[100u16, 102, 103][..]), 0..2),
        status_line(),
        message(),
    )
        .prop_map(|(interim, line, message)| Resp {
            interim,
            line,
            message,
        });
    prop_oneof![
        1 => raw.prop_map(Input::Raw),
        4 => (resp, bytes_from(b"\r\n0HTTP/1.1 200", 6)).prop_map(|(r, tail)| Input::Resp(Box::new(r), tail)),
    ]
}

fn run(runner: &mut proptest::test_runner::TestRunner) -> Result<(), String> {
    let rt = http_ref::runtime();
    let request = prop::sample::select(
        &[
            (Method::GET, false),
            (Method::HEAD, false),
            (Method::GET, true),
        ][..],
    );
    check(
        runner,
        (input(), request, prop::collection::vec(any::<u16>(), 0..6)),
        |(input, (method, upgrade), cuts)| {
            let bytes = match &input {
                Input::Raw(b) => b.clone(),
                Input::Resp(r, tail) => {
                    let mut b = Vec::new();
                    for code in &r.interim {
                        b.extend_from_slice(format!("HTTP/1.1 {code} Continue\r\n\r\n").as_bytes());
                    }
                    b.extend(r.message.bytes(&r.line));
                    b.extend_from_slice(tail);
                    b
                }
            };
            let pieces = split_at(&bytes, &cuts);
            let pieces: Vec<&[u8]> = pieces.iter().map(Vec::as_slice).collect();
            let ours = read_response(&pieces, &method, upgrade);
            let theirs = http_ref::hyper_fetches(&rt, &method, upgrade, &bytes);
            let same = match (&ours, &theirs) {
                (Ok(a), Ok(b)) => {
                    a.status == b.status
                        && a.headers == b.headers
                        && a.body == b.body
                        && a.trailers == b.trailers
                }
                (Err(_), Err(_)) => true,
                // Intended: a 101 nobody asked for is refused.
                (Err(_), Ok(b)) => b.status == StatusCode::SWITCHING_PROTOCOLS && !upgrade,
                (Ok(_), Err(_)) => false,
            };
            if same {
                Ok(())
            } else {
                Err(format!(
                    "{method} (upgrade: {upgrade})\nresponse: {:?}\nours: {ours:#?}\nhyper: {theirs:#?}",
                    String::from_utf8_lossy(&bytes)
                ))
            }
        },
    )
}
