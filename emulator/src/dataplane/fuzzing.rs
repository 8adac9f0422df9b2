//! Entry points for the fuzz targets (the `fuzz` crate, `cargo xtask fuzz`):
//! the target client's response reading, over bytes instead of a socket.
//! Not an API: nothing else uses it.

use bytes::BytesMut;
use http::{HeaderMap, Method, StatusCode};

use super::client::{self, BodyStep, Framing, SendError};

/// A response as the target client reads it.
#[derive(Debug)]
pub struct ReadResponse {
    pub status: StatusCode,
    /// The minor version: HTTP/1.0 or HTTP/1.1.
    pub version: u8,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub trailers: Option<HeaderMap>,
    /// The target keeps the connection open (by version and `Connection`).
    pub keep_alive: bool,
    /// `101 Switching Protocols`: the rest is another protocol.
    pub upgraded: bool,
}

/// Reads one response to `method` from `pieces`, handed over one at a time
/// as socket reads would return them; the stream ends after the last one.
/// `upgrade`: the request asked for a protocol switch. `Err` says why the
/// response is malformed, or `"closed"` when the stream ended first.
pub fn read_response(
    pieces: &[&[u8]],
    method: &Method,
    upgrade: bool,
) -> Result<ReadResponse, String> {
    let mut pieces = pieces.iter();
    let mut buf = BytesMut::new();
    // Like `poll_fill`: false at the end of the stream.
    let mut fill = |buf: &mut BytesMut| match pieces.next() {
        Some(piece) => {
            buf.extend_from_slice(piece);
            true
        }
        None => false,
    };
    let malformed = |e: SendError| e.to_string();
    let head = loop {
        if !buf.is_empty() {
            if let Some(head) = client::parse_response_head(&mut buf).map_err(malformed)? {
                break head;
            }
        }
        if !fill(&mut buf) {
            return Err("closed".into());
        }
    };
    let mut framing = client::body_framing(method, upgrade, &head)?;
    let mut response = ReadResponse {
        keep_alive: client::keeps_alive(head.version, &head.headers),
        status: head.status,
        version: head.version,
        headers: head.headers,
        body: Vec::new(),
        trailers: None,
        upgraded: framing == Framing::Upgraded,
    };
    loop {
        match client::body_step(&mut framing, &mut buf)? {
            BodyStep::Frame(frame) => match frame.into_data() {
                Ok(data) => response.body.extend_from_slice(&data),
                Err(frame) => response.trailers = frame.into_trailers().ok(),
            },
            BodyStep::End => return Ok(response),
            BodyStep::NeedMore => {
                if !fill(&mut buf) {
                    if framing == Framing::UntilClose {
                        return Ok(response);
                    }
                    return Err("closed".into());
                }
            }
        }
    }
}
