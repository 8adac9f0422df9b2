//! HTTP/1.1 to targets, driven by the task of the client request it serves.
//!
//! hyper's client runs every connection in a task of its own and joins it to
//! the caller with an mpsc channel, a oneshot and a body channel: three to
//! four task wake-ups and as many hand-offs per proxied request (measured in
//! BENCHMARKS.md). Here the request's own task writes the request and reads
//! the response. httparse (the parser hyper itself uses) reads response heads;
//! this module does the message framing of RFC 9112 section 6.
//!
//! The request body is written while the response is read (a target may
//! answer early, or stream its answer while the upload goes on): the send
//! future and then the response body drive both directions. A connection goes
//! back to its pool ([`TargetBody::take_reusable`]) only when both messages
//! were complete and the target kept the connection alive.
//!
//! # Layout
//! - this file: the connection, the request writer and the response reader.
//! - `tests`: the unit tests.

use std::io::{self, IoSlice};
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use bytes::{Buf, Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Version};
use http_body::{Body, Frame, SizeHint};
use tokio::io::AsyncWrite;
use tokio::net::TcpStream;

use super::body::{BoxError, UpstreamBody};

/// ALB gives up on a target connection after 10 s (504).
pub const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Longest response head accepted from a target (hyper's default buffer
/// limit is about 400 KiB; ALB documents no limit for responses, and a head
/// this long is a broken target).
pub const MAX_RESPONSE_HEAD_BYTES: usize = 64 * 1024;
/// Most response header fields accepted (hyper's default is 100).
const MAX_RESPONSE_HEADERS: usize = 100;
/// How much room each socket read asks for.
const READ_CHUNK: usize = 16 * 1024;

/// An open connection to a target, between requests.
pub struct TargetConn {
    stream: TcpStream,
    /// Bytes read but not yet used (none between well-behaved exchanges).
    read_buf: BytesMut,
}

impl TargetConn {
    /// Opens a connection (`TCP_NODELAY`), within [`CONNECT_TIMEOUT`].
    pub async fn connect(addr: SocketAddr) -> Result<Self, ConnectError> {
        let stream = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .map_err(|_| ConnectError::Timeout)?
            .map_err(ConnectError::Io)?;
        let _ = stream.set_nodelay(true);
        Ok(Self {
            stream,
            read_buf: BytesMut::new(),
        })
    }

    /// Whether an idle connection can carry another request: not when the
    /// target closed it or sent something unasked. Costs a system call only
    /// when the socket has become readable since the last read.
    pub fn is_usable(&self) -> bool {
        self.read_buf.is_empty()
            && matches!(self.stream.try_read(&mut [0u8; 1]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }
}

/// Why no connection to a target could be made.
#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    /// No TCP connection within [`CONNECT_TIMEOUT`].
    #[error("connect timed out")]
    Timeout,
    /// The target refused or reset the connection (nothing was sent).
    #[error("connect failed: {0}")]
    Io(#[source] io::Error),
    /// The target left routing while the connect was pending.
    #[error("the target left routing before the connection was made")]
    Retired,
}

/// Why an exchange with a target failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("target connection failed: {0}")]
    Io(#[source] io::Error),
    #[error("target closed the connection before its response ended")]
    Closed,
    #[error("malformed response from the target: {0}")]
    Malformed(&'static str),
    #[error("request body failed: {0}")]
    RequestBody(#[source] BoxError),
}

/// A failed exchange, and whether the target can have seen nothing of it.
#[derive(Debug)]
pub struct Failed {
    pub error: SendError,
    /// No byte of a response arrived and the connection failed while
    /// writing the request or right after: what a kept-alive connection the
    /// target had just closed looks like.
    pub unanswered: bool,
}

/// Sends `head` and `body` on `conn` and reads the response head. The
/// returned body owns the connection. `upgrade`: the request asks for a
/// protocol switch, so `101 Switching Protocols` is a valid answer (then
/// [`TargetBody::into_upgraded`] gives the connection).
pub async fn send(
    mut conn: TargetConn,
    head: &http::request::Parts,
    body: UpstreamBody,
    upgrade: bool,
) -> Result<Response<TargetBody>, Failed> {
    let mut writer = Some(RequestWriter::new(head, body));
    let mut answered = false;
    // A target may answer and close before taking the whole request (413,
    // say): a failed write ends the writing, and the answer is still read.
    let mut write_failed = None;
    let parsed = std::future::poll_fn(|cx| {
        if let Some(e) = drive_writer(&mut writer, cx, &mut conn.stream)? {
            write_failed = Some(e);
        }
        poll_response_head(cx, &mut conn, &mut answered)
    })
    .await;
    let parsed = match parsed {
        Ok(parsed) => parsed,
        Err(error) => {
            let error = match (write_failed, error) {
                (Some(e), SendError::Io(_) | SendError::Closed) => SendError::Io(e),
                (_, error) => error,
            };
            let unanswered = !answered && matches!(error, SendError::Io(_) | SendError::Closed);
            return Err(Failed { error, unanswered });
        }
    };
    let malformed = |reason| Failed {
        error: SendError::Malformed(reason),
        unanswered: false,
    };
    let keep_alive = keeps_alive(parsed.version, &parsed.headers);
    let framing = body_framing(&head.method, upgrade, &parsed).map_err(malformed)?;
    let mut resp = Response::new(());
    *resp.status_mut() = parsed.status;
    *resp.version_mut() = Version::HTTP_11;
    *resp.headers_mut() = parsed.headers;
    // RFC 9112 section 6.3: a message with both framings is closed after.
    let both_framings = resp.headers().contains_key(TRANSFER_ENCODING)
        && resp.headers().contains_key(CONTENT_LENGTH);
    let reusable = keep_alive
        && !both_framings
        && write_failed.is_none()
        && !matches!(framing, Framing::UntilClose | Framing::Upgraded);
    Ok(resp.map(|()| TargetBody {
        conn: Some(conn),
        framing,
        writer,
        reusable,
    }))
}

pub(super) struct ParsedHead {
    pub status: StatusCode,
    /// The minor version: HTTP/1.0 or HTTP/1.1.
    pub version: u8,
    pub headers: HeaderMap,
}

/// Reads until a final (non-1xx, or 101) response head is complete.
fn poll_response_head(
    cx: &mut Context<'_>,
    conn: &mut TargetConn,
    answered: &mut bool,
) -> Poll<Result<ParsedHead, SendError>> {
    loop {
        if !conn.read_buf.is_empty() {
            *answered = true;
            if let Some(head) = parse_response_head(&mut conn.read_buf)? {
                return Poll::Ready(Ok(head));
            }
        }
        if !ready!(poll_fill(cx, conn))? {
            return Poll::Ready(Err(SendError::Closed));
        }
    }
}

/// Takes a final (non-1xx, or 101) response head off the front of `buf`,
/// skipping interim responses; `None` until one is complete.
pub(super) fn parse_response_head(buf: &mut BytesMut) -> Result<Option<ParsedHead>, SendError> {
    while !buf.is_empty() {
        let mut fields = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
        let mut parsed = httparse::Response::new(&mut fields);
        match parsed.parse(buf) {
            Ok(httparse::Status::Complete(len)) => {
                let code = parsed.code.unwrap_or(0);
                let version = parsed.version.unwrap_or(1);
                // Interim responses (100 Continue, 103 Early Hints) are
                // not passed on, like hyper's client does.
                if (100..200).contains(&code) && code != 101 {
                    buf.advance(len);
                    continue;
                }
                let status = StatusCode::from_u16(code)
                    .map_err(|_| SendError::Malformed("bad status code"))?;
                // Header values share the head's bytes instead of copies.
                let names: Vec<(HeaderName, std::ops::Range<usize>)> = {
                    let base = buf.as_ptr() as usize;
                    let mut names = Vec::with_capacity(parsed.headers.len());
                    for field in parsed.headers.iter() {
                        let name = HeaderName::from_bytes(field.name.as_bytes())
                            .map_err(|_| SendError::Malformed("bad header name"))?;
                        let start = field.value.as_ptr() as usize - base;
                        names.push((name, start..start + field.value.len()));
                    }
                    names
                };
                let bytes = buf.split_to(len).freeze();
                let mut headers = HeaderMap::with_capacity(names.len());
                for (name, range) in names {
                    let value = HeaderValue::from_maybe_shared(bytes.slice(range))
                        .map_err(|_| SendError::Malformed("bad header value"))?;
                    headers.append(name, value);
                }
                return Ok(Some(ParsedHead {
                    status,
                    version,
                    headers,
                }));
            }
            Ok(httparse::Status::Partial) => {
                if buf.len() >= MAX_RESPONSE_HEAD_BYTES {
                    return Err(SendError::Malformed("response head too long"));
                }
                return Ok(None);
            }
            Err(httparse::Error::TooManyHeaders) => {
                return Err(SendError::Malformed("too many header fields"))
            }
            Err(_) => return Err(SendError::Malformed("unparsable head")),
        }
    }
    Ok(None)
}

/// Reads more into the connection's buffer: `false` at end of stream.
fn poll_fill(cx: &mut Context<'_>, conn: &mut TargetConn) -> Poll<Result<bool, SendError>> {
    conn.read_buf.reserve(READ_CHUNK);
    tokio_util::io::poll_read_buf(Pin::new(&mut conn.stream), cx, &mut conn.read_buf)
        .map(|read| read.map(|n| n > 0).map_err(SendError::Io))
}

/// Writes as much of the request as it can, if any is left; `writer` goes
/// when done. A failed write also ends the writing, and is returned rather
/// than raised: the target stopped reading, and its answer still counts. A
/// failed request body is an error.
fn drive_writer(
    writer: &mut Option<RequestWriter>,
    cx: &mut Context<'_>,
    stream: &mut TcpStream,
) -> Result<Option<io::Error>, SendError> {
    let Some(w) = writer else {
        return Ok(None);
    };
    match w.poll_write(cx, stream) {
        Poll::Pending => Ok(None),
        Poll::Ready(done) => {
            *writer = None;
            match done {
                Ok(()) => Ok(None),
                Err(SendError::Io(e)) => Ok(Some(e)),
                Err(e) => Err(e),
            }
        }
    }
}

/// RFC 9112 section 9.3: HTTP/1.1 stays open unless `close`; HTTP/1.0 only
/// with `keep-alive`.
pub(super) fn keeps_alive(minor_version: u8, headers: &HeaderMap) -> bool {
    let has = |token: &str| {
        headers.get_all(CONNECTION).iter().any(|v| {
            v.as_bytes()
                .split(|b| *b == b',')
                .any(|t| t.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
        })
    };
    if minor_version >= 1 {
        !has("close")
    } else {
        has("keep-alive")
    }
}

/// How the body of a response to `method` is delimited; `upgrade`: the
/// request asked for a protocol switch.
pub(super) fn body_framing(
    method: &Method,
    upgrade: bool,
    head: &ParsedHead,
) -> Result<Framing, &'static str> {
    let (status, headers) = (head.status, &head.headers);
    if status == StatusCode::SWITCHING_PROTOCOLS {
        if !upgrade {
            return Err("101 Switching Protocols without an upgrade request");
        }
        Ok(Framing::Upgraded)
    } else if *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        Ok(Framing::Done)
    } else if head.version == 0 && headers.contains_key(TRANSFER_ENCODING) {
        // RFC 9112 section 6.1: such framing is faulty (HTTP/1.0 has no
        // chunked coding); hyper's client refuses it too.
        Err("Transfer-Encoding in an HTTP/1.0 response")
    } else {
        response_framing(headers)
    }
}

/// How the response body is delimited (RFC 9112 section 6.3).
fn response_framing(headers: &HeaderMap) -> Result<Framing, &'static str> {
    if let Some(last) = headers.get_all(TRANSFER_ENCODING).iter().next_back() {
        let chunked_last = last
            .as_bytes()
            .rsplit(|b| *b == b',')
            .next()
            .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"));
        return Ok(if chunked_last {
            Framing::Chunked(Chunked::Size)
        } else {
            Framing::UntilClose
        });
    }
    let mut length = None;
    for value in headers.get_all(CONTENT_LENGTH) {
        for part in value.as_bytes().split(|b| *b == b',') {
            let n = std::str::from_utf8(part.trim_ascii())
                .ok()
                .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|s| s.parse::<u64>().ok())
                .ok_or("bad Content-Length")?;
            if length.is_some_and(|l| l != n) {
                return Err("conflicting Content-Length values");
            }
            length = Some(n);
        }
    }
    Ok(match length {
        Some(0) => Framing::Done,
        Some(n) => Framing::Length(n),
        None => Framing::UntilClose,
    })
}

/// Writes a request: its head, then its body as it arrives.
struct RequestWriter {
    /// Encoded but not yet written, in order.
    queue: std::collections::VecDeque<Bytes>,
    /// `None` once the body has ended.
    body: Option<UpstreamBody>,
    chunked: bool,
}

impl RequestWriter {
    fn new(head: &http::request::Parts, body: UpstreamBody) -> Self {
        let mut out = Vec::with_capacity(512);
        out.extend_from_slice(head.method.as_str().as_bytes());
        out.push(b' ');
        let target = head.uri.path_and_query().map_or("/", |p| p.as_str());
        out.extend_from_slice(if target.is_empty() { "/" } else { target }.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        for (name, value) in &head.headers {
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        // Transfer-Encoding was dropped as hop-by-hop: a body of unknown
        // length goes out chunked, like hyper's client would send it.
        let mut chunked = false;
        if !head.headers.contains_key(CONTENT_LENGTH) {
            match body.size_hint().exact() {
                Some(0) if body.is_end_stream() => {
                    if matches!(head.method, Method::POST | Method::PUT | Method::PATCH) {
                        out.extend_from_slice(b"content-length: 0\r\n");
                    }
                }
                Some(n) => {
                    out.extend_from_slice(format!("content-length: {n}\r\n").as_bytes());
                }
                None => {
                    out.extend_from_slice(b"transfer-encoding: chunked\r\n");
                    chunked = true;
                }
            }
        }
        out.extend_from_slice(b"\r\n");
        let mut queue = std::collections::VecDeque::with_capacity(1);
        queue.push_back(Bytes::from(out));
        Self {
            queue,
            body: (!body.is_end_stream()).then_some(body),
            chunked,
        }
    }

    /// Writes what can be written now; ready once the whole request is out.
    fn poll_write(
        &mut self,
        cx: &mut Context<'_>,
        stream: &mut TcpStream,
    ) -> Poll<Result<(), SendError>> {
        loop {
            while !self.queue.is_empty() {
                let mut slices = [IoSlice::new(&[]); 4];
                let n = self.queue.len().min(slices.len());
                for (slice, buf) in slices.iter_mut().zip(self.queue.iter()) {
                    *slice = IoSlice::new(buf);
                }
                let written = ready!(Pin::new(&mut *stream).poll_write_vectored(cx, &slices[..n]))
                    .map_err(SendError::Io)?;
                if written == 0 {
                    return Poll::Ready(Err(SendError::Io(io::ErrorKind::WriteZero.into())));
                }
                self.consume(written);
            }
            let Some(body) = &mut self.body else {
                return Poll::Ready(Ok(()));
            };
            match ready!(Pin::new(body).poll_frame(cx)) {
                Some(Ok(frame)) => match frame.into_data() {
                    Ok(data) if data.is_empty() => {}
                    Ok(data) if self.chunked => {
                        self.queue
                            .push_back(Bytes::from(format!("{:x}\r\n", data.len())));
                        self.queue.push_back(data);
                        self.queue.push_back(Bytes::from_static(b"\r\n"));
                    }
                    Ok(data) => self.queue.push_back(data),
                    // Request trailers are not forwarded (ALB drops them).
                    Err(_trailers) => {}
                },
                Some(Err(e)) => return Poll::Ready(Err(SendError::RequestBody(e))),
                None => {
                    self.body = None;
                    if self.chunked {
                        self.queue.push_back(Bytes::from_static(b"0\r\n\r\n"));
                    }
                }
            }
        }
    }

    fn consume(&mut self, mut written: usize) {
        while written > 0 {
            let front = self
                .queue
                .front_mut()
                .expect("wrote no more than was queued");
            if written >= front.len() {
                written -= front.len();
                self.queue.pop_front();
            } else {
                front.advance(written);
                written = 0;
            }
        }
    }
}

/// What is left of the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Framing {
    /// Read to its end (or there was none).
    Done,
    /// This many bytes to go.
    Length(u64),
    Chunked(Chunked),
    /// Until the target closes the connection.
    UntilClose,
    /// The connection now carries another protocol.
    Upgraded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Chunked {
    /// Expecting a chunk-size line.
    Size,
    /// This many bytes of chunk data to go.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// After the last chunk: trailer fields, then an empty line.
    Trailers,
}

/// A target's response body. Owns the connection while it is read, and
/// finishes writing the request body if that is still going.
pub struct TargetBody {
    /// `None` once given back or broken.
    conn: Option<TargetConn>,
    framing: Framing,
    writer: Option<RequestWriter>,
    /// The target keeps the connection open after this exchange.
    reusable: bool,
}

impl TargetBody {
    /// The connection, when this exchange is complete and the connection can
    /// carry another.
    /// Closes the connection after this exchange instead of pooling it
    /// (desync mitigation of an ambiguous request).
    pub fn forbid_reuse(&mut self) {
        self.reusable = false;
    }

    pub fn take_reusable(&mut self) -> Option<TargetConn> {
        if self.reusable && self.framing == Framing::Done && self.writer.is_none() {
            self.conn.take()
        } else {
            None
        }
    }

    /// After `101 Switching Protocols`: the connection's socket and the bytes
    /// the target already sent in the new protocol.
    pub fn into_upgraded(mut self) -> Option<(TcpStream, Bytes)> {
        if self.framing != Framing::Upgraded {
            return None;
        }
        let conn = self.conn.take()?;
        Some((conn.stream, conn.read_buf.freeze()))
    }

    fn poll_body(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Frame<Bytes>>, SendError>> {
        let Some(conn) = &mut self.conn else {
            return Poll::Ready(Ok(None));
        };
        if drive_writer(&mut self.writer, cx, &mut conn.stream)?.is_some() {
            self.reusable = false;
        }
        loop {
            match body_step(&mut self.framing, &mut conn.read_buf).map_err(SendError::Malformed)? {
                BodyStep::Frame(frame) => return Poll::Ready(Ok(Some(frame))),
                BodyStep::End => return Poll::Ready(Ok(None)),
                BodyStep::NeedMore => {
                    if !ready!(poll_fill(cx, conn))? {
                        if self.framing != Framing::UntilClose {
                            return Poll::Ready(Err(SendError::Closed));
                        }
                        self.framing = Framing::Done;
                        return Poll::Ready(Ok(None));
                    }
                }
            }
        }
    }
}

/// What the buffered bytes give of a response body.
pub(super) enum BodyStep {
    /// Data, or the trailers that end a chunked body.
    Frame(Frame<Bytes>),
    End,
    /// Nothing until more bytes arrive (or, for [`Framing::UntilClose`], the end).
    NeedMore,
}

/// Takes the next part of the body off `buf`, advancing `framing`.
pub(super) fn body_step(
    framing: &mut Framing,
    buf: &mut BytesMut,
) -> Result<BodyStep, &'static str> {
    loop {
        match *framing {
            Framing::Done | Framing::Upgraded => return Ok(BodyStep::End),
            _ if buf.is_empty() => return Ok(BodyStep::NeedMore),
            Framing::Length(left) => {
                let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                let left = left - n as u64;
                *framing = if left == 0 {
                    Framing::Done
                } else {
                    Framing::Length(left)
                };
                return Ok(BodyStep::Frame(Frame::data(buf.split_to(n).freeze())));
            }
            Framing::UntilClose => return Ok(BodyStep::Frame(Frame::data(buf.split().freeze()))),
            Framing::Chunked(state) => match decode_chunked(state, buf)? {
                Decoded::Data(next, data) => {
                    *framing = Framing::Chunked(next);
                    return Ok(BodyStep::Frame(Frame::data(data)));
                }
                Decoded::State(next) => *framing = Framing::Chunked(next),
                Decoded::End(trailers) => {
                    *framing = Framing::Done;
                    return Ok(
                        trailers.map_or(BodyStep::End, |t| BodyStep::Frame(Frame::trailers(t)))
                    );
                }
                Decoded::NeedMore => return Ok(BodyStep::NeedMore),
            },
        }
    }
}

enum Decoded {
    Data(Chunked, Bytes),
    State(Chunked),
    End(Option<HeaderMap>),
    NeedMore,
}

/// One step of chunked decoding over the buffered bytes.
fn decode_chunked(state: Chunked, buf: &mut BytesMut) -> Result<Decoded, &'static str> {
    // A size line or trailer section this long is not a real one.
    const MAX_LINE_BYTES: usize = 64 * 1024;
    match state {
        Chunked::Size => {
            // RFC 9112's chunk-size is 1*HEXDIG: httparse reads an empty one
            // as 0 (the last chunk), and refuses more than 16 digits even
            // when they are leading zeros. hyper does neither.
            if buf.first().is_some_and(|b| !b.is_ascii_hexdigit()) {
                return Err("bad chunk size line");
            }
            let skip = buf
                .iter()
                .take_while(|b| **b == b'0')
                .count()
                .saturating_sub(1);
            match httparse::parse_chunk_size(&buf[skip..]) {
                Ok(httparse::Status::Complete((used, size))) => {
                    buf.advance(skip + used);
                    Ok(Decoded::State(if size == 0 {
                        Chunked::Trailers
                    } else {
                        Chunked::Data(size)
                    }))
                }
                Ok(httparse::Status::Partial) if buf.len() < MAX_LINE_BYTES => {
                    Ok(Decoded::NeedMore)
                }
                _ => Err("bad chunk size line"),
            }
        }
        Chunked::Data(left) => {
            if buf.is_empty() {
                return Ok(Decoded::NeedMore);
            }
            let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
            let left = left - n as u64;
            let next = if left == 0 {
                Chunked::DataEnd
            } else {
                Chunked::Data(left)
            };
            Ok(Decoded::Data(next, buf.split_to(n).freeze()))
        }
        Chunked::DataEnd => {
            if buf.len() < 2 {
                return Ok(Decoded::NeedMore);
            }
            if &buf[..2] != b"\r\n" {
                return Err("chunk data not followed by CRLF");
            }
            buf.advance(2);
            Ok(Decoded::State(Chunked::Size))
        }
        Chunked::Trailers => {
            if buf.starts_with(b"\r\n") {
                buf.advance(2);
                return Ok(Decoded::End(None));
            }
            let mut fields = [httparse::EMPTY_HEADER; MAX_RESPONSE_HEADERS];
            match httparse::parse_headers(buf, &mut fields) {
                Ok(httparse::Status::Complete((used, fields))) => {
                    let mut trailers = HeaderMap::with_capacity(fields.len());
                    for field in fields {
                        if let (Ok(name), Ok(value)) = (
                            HeaderName::from_bytes(field.name.as_bytes()),
                            HeaderValue::from_bytes(field.value),
                        ) {
                            trailers.append(name, value);
                        }
                    }
                    buf.advance(used);
                    Ok(Decoded::End(Some(trailers)))
                }
                Ok(httparse::Status::Partial) if buf.len() < MAX_LINE_BYTES => {
                    Ok(Decoded::NeedMore)
                }
                _ => Err("bad trailer section"),
            }
        }
    }
}

impl Body for TargetBody {
    type Data = Bytes;
    type Error = SendError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, SendError>>> {
        let this = self.get_mut();
        let polled = this.poll_body(cx).map(Result::transpose);
        if let Poll::Ready(Some(Err(_))) = &polled {
            // Broken mid-message: never reused, and no second error.
            this.conn = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.framing, Framing::Done | Framing::Upgraded) || self.conn.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            Framing::Done | Framing::Upgraded => SizeHint::with_exact(0),
            Framing::Length(n) => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}

#[cfg(test)]
mod tests;
