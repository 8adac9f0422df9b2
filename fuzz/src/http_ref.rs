//! Oracles for HTTP/1.1 framing: a reference model of how hyper's server
//! frames a request stream (httparse for heads, the same parser hyper
//! uses, and hyper 1.x's header rules and chunked decoder restated from
//! RFC 9112), and hyper itself, run over in-memory pipes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Empty};
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// hyper's limit on header fields (`DEFAULT_MAX_HEADERS`).
pub const MAX_HEADERS: usize = 100;

/// How a request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodyKind {
    Length(u64),
    Chunked,
}

/// One request whose head hyper accepts (so the service sees it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefRequest {
    pub method: String,
    pub target: String,
    /// Offset just past the head.
    pub head_end: usize,
    pub body: BodyKind,
    /// The body, and the offset just past it; `Err` if it is cut short or
    /// malformed (the connection ends there).
    pub body_end: Result<(Vec<u8>, usize), ()>,
    /// Both `Content-Length` and `Transfer-Encoding` (hyper frames it by
    /// the latter and closes after).
    pub ambiguous: bool,
    /// `Upgrade` (HTTP/1.1) or `CONNECT`: the connection may switch protocols.
    pub upgrade: bool,
    /// An `Upgrade` field, in any version.
    pub upgrade_field: bool,
    /// hyper reads another request after this one.
    pub keep_alive: bool,
}

/// How the stream ends for hyper.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefEnd {
    /// At a message boundary, or inside a head or body that never completes.
    Partial,
    /// A head hyper rejects (it answers 4xx and closes).
    Invalid(String),
    /// After a request that does not keep the connection alive.
    Closed,
}

/// The requests hyper's server would hand to its service from `stream`.
pub fn requests(stream: &[u8]) -> (Vec<RefRequest>, RefEnd) {
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        if pos == stream.len() {
            return (out, RefEnd::Partial);
        }
        let (request, end) = match head(&stream[pos..]) {
            Ok(Some(r)) => r,
            Ok(None) => return (out, RefEnd::Partial),
            Err(e) => return (out, RefEnd::Invalid(e)),
        };
        let mut request = request;
        request.head_end = pos + end;
        let body_start = request.head_end;
        request.body_end = match request.body {
            BodyKind::Length(n) => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if stream.len() - body_start >= n {
                    Ok((stream[body_start..body_start + n].to_vec(), body_start + n))
                } else {
                    Err(())
                }
            }
            BodyKind::Chunked => chunked(&stream[body_start..])
                .map(|(body, used)| (body, body_start + used))
                .ok_or(()),
        };
        let next = request.body_end.as_ref().ok().map(|(_, end)| *end);
        let keep_alive = request.keep_alive;
        out.push(request);
        match next {
            None => return (out, RefEnd::Partial),
            Some(_) if !keep_alive => return (out, RefEnd::Closed),
            Some(end) => pos = end,
        }
    }
}

/// One request head at the front of `buf`, by hyper's server rules
/// (`proto::h1::role::Server::parse`); `None` while incomplete.
fn head(buf: &[u8]) -> Result<Option<(RefRequest, usize)>, String> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut req = httparse::Request::new(&mut fields);
    let len = match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("httparse: {e}")),
    };
    let method = req.method.expect("complete");
    let target = req.path.expect("complete");
    Method::from_bytes(method.as_bytes()).map_err(|e| e.to_string())?;
    let uri: http::Uri = target.parse().map_err(|e| format!("target: {e}"))?;
    let http11 = req.version == Some(1);
    let mut keep_alive = http11;
    let (mut is_te, mut is_te_chunked, mut is_cl) = (false, false, false);
    let mut length: Option<u64> = None;
    let mut saw_close = false;
    let mut upgrade = method == "CONNECT";
    let mut upgrade_field = false;
    for field in req.headers.iter() {
        let value = field.value;
        match field.name.to_ascii_lowercase().as_str() {
            "transfer-encoding" => {
                if !http11 {
                    return Err("HTTP/1.0 with Transfer-Encoding".into());
                }
                is_te = true;
                length = None;
                is_te_chunked = last_token_is(value, "chunked");
            }
            "content-length" => {
                is_cl = true;
                if is_te {
                    continue;
                }
                let n = digits(value).ok_or("bad Content-Length")?;
                if length.is_some_and(|prev| prev != n) {
                    return Err("differing Content-Length".into());
                }
                // hyper's `DecodedLength::checked_new`.
                if n > u64::MAX - 2 {
                    return Err("Content-Length too large".into());
                }
                length = Some(n);
            }
            "connection" => {
                if saw_close || has_token(value, "close") {
                    saw_close = true;
                    keep_alive = false;
                } else if !keep_alive {
                    keep_alive = has_token(value, "keep-alive");
                }
            }
            "upgrade" => {
                upgrade = http11;
                upgrade_field = true;
            }
            _ => {}
        }
    }
    if is_te && !is_te_chunked {
        return Err("Transfer-Encoding not ending in chunked".into());
    }
    if is_te && is_cl {
        keep_alive = false;
    }
    let body = if is_te {
        BodyKind::Chunked
    } else {
        BodyKind::Length(length.unwrap_or(0))
    };
    let request = RefRequest {
        method: method.to_string(),
        target: uri.to_string(),
        head_end: 0,
        body,
        body_end: Err(()),
        ambiguous: is_te && is_cl,
        upgrade,
        upgrade_field,
        keep_alive,
    };
    Ok(Some((request, len)))
}

/// hyper's `from_digits`: ASCII digits only, no sign, no space, no overflow.
pub fn digits(value: &[u8]) -> Option<u64> {
    if value.is_empty() {
        return None;
    }
    value.iter().try_fold(0u64, |n, b| {
        b.is_ascii_digit()
            .then(|| n.checked_mul(10)?.checked_add(u64::from(b - b'0')))?
    })
}

/// hyper's `is_chunked_`: the value is visible ASCII and its last
/// comma-separated token is `token`.
pub fn last_token_is(value: &[u8], token: &str) -> bool {
    std::str::from_utf8(value).is_ok_and(|s| {
        s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
            && s.rsplit(',')
                .next()
                .is_some_and(|t| t.trim().eq_ignore_ascii_case(token))
    })
}

fn has_token(value: &[u8], token: &str) -> bool {
    std::str::from_utf8(value).is_ok_and(|s| {
        s.bytes().all(|b| b == b'\t' || (b' '..=b'~').contains(&b))
            && s.split(',').any(|t| t.trim().eq_ignore_ascii_case(token))
    })
}

/// A chunked body at the front of `buf` by hyper's decoder: strict CRLF,
/// a hex size of at least one digit, extensions after `;` up to CR,
/// trailer lines up to CRLF. The data and the bytes used; `None` if it is
/// malformed or incomplete.
pub fn chunked(buf: &[u8]) -> Option<(Vec<u8>, usize)> {
    let mut pos = 0;
    let mut data = Vec::new();
    let next = |pos: &mut usize| -> Option<u8> {
        let b = *buf.get(*pos)?;
        *pos += 1;
        Some(b)
    };
    loop {
        let mut size: u64 = 0;
        let mut b = next(&mut pos)?;
        if !b.is_ascii_hexdigit() {
            return None;
        }
        while let Some(d) = (b as char).to_digit(16) {
            size = size.checked_mul(16)?.checked_add(u64::from(d))?;
            b = next(&mut pos)?;
        }
        while b == b' ' || b == b'\t' {
            b = next(&mut pos)?;
        }
        if b == b';' {
            loop {
                b = next(&mut pos)?;
                match b {
                    b'\r' => break,
                    b'\n' => return None,
                    _ => {}
                }
            }
        }
        if b != b'\r' || next(&mut pos)? != b'\n' {
            return None;
        }
        if size == 0 {
            break;
        }
        let size = usize::try_from(size).ok()?;
        let chunk = buf.get(pos..pos.checked_add(size)?)?;
        data.extend_from_slice(chunk);
        pos += size;
        if next(&mut pos)? != b'\r' || next(&mut pos)? != b'\n' {
            return None;
        }
    }
    // Trailer lines, then the empty line; hyper parses the lines as fields.
    let trailers_start = pos;
    loop {
        let b = next(&mut pos)?;
        if b == b'\r' {
            if next(&mut pos)? != b'\n' {
                return None;
            }
            return valid_trailers(&buf[trailers_start..pos]).then_some((data, pos));
        }
        let mut b = b;
        while b != b'\r' {
            b = next(&mut pos)?;
        }
        if next(&mut pos)? != b'\n' {
            return None;
        }
    }
}

/// hyper's `decode_trailers`: httparse reads the section, and every field
/// makes a `HeaderName` and a `HeaderValue`.
fn valid_trailers(section: &[u8]) -> bool {
    if section == b"\r\n" {
        return true;
    }
    let mut fields = [httparse::EMPTY_HEADER; MAX_HEADERS];
    match httparse::parse_headers(section, &mut fields) {
        Ok(httparse::Status::Complete((_, fields))) => fields.iter().all(|f| {
            http::HeaderName::from_bytes(f.name.as_bytes()).is_ok()
                && http::HeaderValue::from_bytes(f.value).is_ok()
        }),
        _ => false,
    }
}

/// A request as hyper's server handed it to the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Served {
    pub method: String,
    pub target: String,
    /// The whole body, or `Err` when reading it failed.
    pub body: Result<Vec<u8>, ()>,
}

/// A current-thread runtime for running hyper on pipes.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// What hyper's server, configured as the listeners are, serves from
/// `input` written by a client that then closes its side. Every request is
/// answered 404 (so an upgrade never happens) after its body is read.
pub fn hyper_serves(rt: &tokio::runtime::Runtime, input: &[u8]) -> Result<Vec<Served>, String> {
    let served = Arc::new(Mutex::new(Vec::new()));
    let log = served.clone();
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let log = log.clone();
        async move {
            let (parts, body) = req.into_parts();
            let body = body
                .collect()
                .await
                .map(|c| c.to_bytes().to_vec())
                .map_err(|_| ());
            log.lock().expect("not poisoned").push(Served {
                method: parts.method.to_string(),
                target: parts.uri.to_string(),
                body,
            });
            let mut response = Response::new(Empty::<Bytes>::new());
            *response.status_mut() = StatusCode::NOT_FOUND;
            Ok::<_, std::convert::Infallible>(response)
        }
    });
    rt.block_on(async {
        let (mut client, server) = tokio::io::duplex(1 << 20);
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .header_read_timeout(None)
            .max_buf_size(emulator::dataplane::proxy::MAX_REQUEST_HEAD_BYTES.max(8192) * 2)
            .keep_alive(true)
            // The client closes its side after writing: serve what it sent
            // (the listeners' EOF handling is not what is compared here).
            .half_close(true);
        let conn = builder.serve_connection(TokioIo::new(server), service);
        let talk = async {
            client.write_all(input).await.ok();
            client.shutdown().await.ok();
            let mut sink = Vec::new();
            client.read_to_end(&mut sink).await.ok();
        };
        let both = async { tokio::join!(conn, talk) };
        // The connection's own error (a rejected head) is expected; the log
        // of served requests is what counts.
        let (_conn, ()) = tokio::time::timeout(Duration::from_secs(10), both)
            .await
            .map_err(|_| "hyper's server did not finish".to_string())?;
        Ok::<_, String>(())
    })?;
    let served = served.lock().expect("not poisoned").clone();
    Ok(served)
}

/// A response as hyper's client reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub trailers: Option<HeaderMap>,
}

/// Sends a `method` request with hyper's client over a pipe whose other end
/// answers `response` and then closes; what hyper makes of the answer.
pub fn hyper_fetches(
    rt: &tokio::runtime::Runtime,
    method: &Method,
    upgrade: bool,
    response: &[u8],
) -> Result<Fetched, String> {
    rt.block_on(async {
        let (client, mut server) = tokio::io::duplex(1 << 20);
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(client))
            .await
            .map_err(|e| e.to_string())?;
        let conn = tokio::spawn(conn);
        let mut request = Request::builder()
            .method(method.clone())
            .uri("/")
            .header("host", "t");
        if upgrade {
            request = request
                .header("connection", "upgrade")
                .header("upgrade", "websocket");
        }
        let request = request
            .body(Empty::<Bytes>::new())
            .expect("a valid request");
        let answer = async {
            // Answer only once the request is out: hyper drops a response
            // that comes before its request.
            let mut seen = Vec::new();
            let mut buf = [0u8; 1024];
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                match server.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            server.write_all(response).await.ok();
            server.shutdown().await.ok();
            Ok::<_, String>(())
        };
        let fetch = async {
            let response = sender
                .send_request(request)
                .await
                .map_err(|e| e.to_string())?;
            let (parts, body) = response.into_parts();
            let collected = body.collect().await.map_err(|e| e.to_string())?;
            let trailers = collected.trailers().cloned();
            Ok::<_, String>(Fetched {
                status: parts.status,
                headers: parts.headers,
                body: collected.to_bytes().to_vec(),
                trailers,
            })
        };
        let both = async { tokio::join!(answer, fetch) };
        let result = tokio::time::timeout(Duration::from_secs(10), both).await;
        conn.abort();
        match result {
            Ok((_, fetched)) => fetched,
            Err(_) => Err("hyper's client did not finish".into()),
        }
    })
}
