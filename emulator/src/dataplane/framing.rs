//! Request-smuggling guard: finds requests that carry both `Content-Length`
//! and `Transfer-Encoding`.
//!
//! RFC 9112 section 6.1 lets a server either reject such a request or frame it
//! by `Transfer-Encoding` alone, and then close. hyper (since PR #4124) does
//! the second: it drops `Content-Length` before the service sees the request,
//! so the service can't tell. ALB, like nginx, answers 400 and closes. To do
//! the same, [`GuardedIo`] follows the HTTP/1 framing of the bytes hyper reads
//! (heads, `Content-Length` bodies, chunked bodies) and records the index of
//! the first request whose head has both headers; the service answers that
//! request with 400 instead of forwarding it.
//!
//! Cost: a scan of each request head (a few hundred bytes); bodies are skipped
//! by length. Scanning stops for good after an upgrade request, after the
//! flagged request, or at anything it doesn't understand (hyper then rejects
//! the connection itself).

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Per-connection facts shared between the IO wrapper and the service.
#[derive(Default)]
pub struct ConnFraming {
    /// 1-based index of the first request with both framing headers; 0: none.
    reject_at: AtomicU64,
    /// Requests the service has seen on this connection.
    served: AtomicU64,
}

impl ConnFraming {
    /// Called by the service once per request, in order: whether this request
    /// must be rejected as malformed.
    pub fn next_request_is_ambiguous(&self) -> bool {
        let n = self.served.fetch_add(1, Relaxed) + 1;
        self.reject_at.load(Relaxed) == n
    }

    /// Requests the service has seen on this connection so far.
    pub fn requests_seen(&self) -> u64 {
        self.served.load(Relaxed)
    }
}

/// Longest header-line prefix kept for inspection.
const LINE_KEEP: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Head,
    Body(u64),
    ChunkSize {
        size: u64,
        digits: bool,
        ext: bool,
    },
    ChunkData(u64),
    ChunkDataEnd,
    Trailers {
        empty_line: bool,
    },
    /// Not following the stream any more.
    Off,
}

/// Follows the framing of one connection's request stream.
pub struct Scanner {
    state: State,
    heads: u64,
    line: [u8; LINE_KEEP],
    line_len: usize,
    /// Header lines seen in the current head (0: expecting the request line).
    lines: usize,
    content_length: Option<u64>,
    saw_content_length: bool,
    saw_transfer_encoding: bool,
    chunked: bool,
    upgrade: bool,
    confused: bool,
}

impl Default for Scanner {
    fn default() -> Self {
        Self {
            state: State::Head,
            heads: 0,
            line: [0; LINE_KEEP],
            line_len: 0,
            lines: 0,
            content_length: None,
            saw_content_length: false,
            saw_transfer_encoding: false,
            chunked: false,
            upgrade: false,
            confused: false,
        }
    }
}

/// What scanning found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// Request number `n` (1-based) has both `Content-Length` and `Transfer-Encoding`.
    Ambiguous(u64),
}

impl Scanner {
    /// Feeds bytes read from the client.
    pub fn feed(&mut self, mut data: &[u8]) -> Option<Finding> {
        while !data.is_empty() {
            match self.state {
                State::Off => return None,
                State::Head => {
                    let (line_end, consumed) = match memchr::memchr(b'\n', data) {
                        Some(i) => (true, i + 1),
                        None => (false, data.len()),
                    };
                    let mut part = &data[..if line_end { consumed - 1 } else { consumed }];
                    loop {
                        let keep = part.len().min(LINE_KEEP - self.line_len);
                        self.line[self.line_len..self.line_len + keep]
                            .copy_from_slice(&part[..keep]);
                        self.line_len += keep;
                        part = &part[keep..];
                        if part.is_empty() || !self.squeeze() {
                            break;
                        }
                    }
                    data = &data[consumed..];
                    if line_end {
                        if let Some(found) = self.end_of_line() {
                            return Some(found);
                        }
                    }
                }
                State::Body(left) => {
                    let n = (data.len() as u64).min(left);
                    data = &data[n as usize..];
                    self.state = if left == n {
                        State::Head
                    } else {
                        State::Body(left - n)
                    };
                }
                State::ChunkSize { size, digits, ext } => {
                    let b = data[0];
                    data = &data[1..];
                    self.state = match b {
                        b'\n' if digits => {
                            if size == 0 {
                                State::Trailers { empty_line: true }
                            } else {
                                State::ChunkData(size)
                            }
                        }
                        b'\r' | b' ' | b'\t' => State::ChunkSize { size, digits, ext },
                        _ if ext => State::ChunkSize { size, digits, ext },
                        b';' => State::ChunkSize {
                            size,
                            digits,
                            ext: true,
                        },
                        _ => match (b as char).to_digit(16) {
                            Some(d) if size < (1 << 56) => State::ChunkSize {
                                size: size * 16 + u64::from(d),
                                digits: true,
                                ext,
                            },
                            _ => State::Off,
                        },
                    };
                }
                State::ChunkData(left) => {
                    let n = (data.len() as u64).min(left);
                    data = &data[n as usize..];
                    self.state = if left == n {
                        State::ChunkDataEnd
                    } else {
                        State::ChunkData(left - n)
                    };
                }
                State::ChunkDataEnd => {
                    let b = data[0];
                    data = &data[1..];
                    match b {
                        b'\r' => {}
                        b'\n' => {
                            self.state = State::ChunkSize {
                                size: 0,
                                digits: false,
                                ext: false,
                            }
                        }
                        _ => self.state = State::Off,
                    }
                }
                State::Trailers { empty_line } => {
                    let b = data[0];
                    data = &data[1..];
                    self.state = match b {
                        b'\n' if empty_line => State::Head,
                        b'\n' => State::Trailers { empty_line: true },
                        b'\r' => State::Trailers { empty_line },
                        _ => State::Trailers { empty_line: false },
                    };
                }
            }
        }
        None
    }

    fn end_of_line(&mut self) -> Option<Finding> {
        let mut line = &self.line[..self.line_len];
        if let [rest @ .., b'\r'] = line {
            line = rest;
        }
        let line_empty = line.is_empty();
        if line_empty {
            self.line_len = 0;
            if self.lines == 0 {
                // Empty lines before a request line are ignored (RFC 9112 2.2).
                return None;
            }
            return self.end_of_head();
        }
        if self.lines > 0 {
            self.header_line();
        }
        self.lines += 1;
        self.line_len = 0;
        None
    }

    /// Makes room in a full line buffer, keeping what the line means. Only
    /// `Content-Length` and `Transfer-Encoding` values matter, and hyper
    /// takes long ones made of spaces, leading zeros or (for
    /// `Transfer-Encoding`) earlier codings: those are squeezed out. A value
    /// still long after that (past 32 bytes) is no length and not `chunked`,
    /// so `x` stands for it. `false` for another line: the rest is dropped.
    fn squeeze(&mut self) -> bool {
        const LONGEST: usize = 32;
        let line = &self.line[..self.line_len];
        let Some(colon) = line
            .iter()
            .position(|b| *b == b':')
            .filter(|_| self.lines > 0)
        else {
            return false;
        };
        let te = line[..colon].eq_ignore_ascii_case(b"transfer-encoding");
        if !te && !line[..colon].eq_ignore_ascii_case(b"content-length") {
            return false;
        }
        let mut value = &line[colon + 1..];
        if te {
            value = value.rsplit(|b| *b == b',').next().unwrap_or(value);
        }
        value = value.trim_ascii_start();
        while !te && value.len() > 1 && value[0] == b'0' && value[1].is_ascii_digit() {
            value = &value[1..];
        }
        // Runs of spaces and tabs become one space.
        let mut squeezed = [0u8; LONGEST];
        let mut len = 0;
        for (i, &b) in value.iter().enumerate() {
            let space = b == b' ' || b == b'\t';
            if space && i > 0 && matches!(value[i - 1], b' ' | b'\t') {
                continue;
            }
            if len == LONGEST {
                len = usize::MAX;
                break;
            }
            squeezed[len] = if space { b' ' } else { b };
            len += 1;
        }
        let squeezed: &[u8] = if len == usize::MAX {
            b"x"
        } else {
            &squeezed[..len]
        };
        let start = colon + 1;
        self.line[start..start + squeezed.len()].copy_from_slice(squeezed);
        self.line_len = start + squeezed.len();
        true
    }

    fn header_line(&mut self) {
        let line = &self.line[..self.line_len];
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            return;
        };
        let name = &line[..colon];
        let value = line[colon + 1..].trim_ascii();
        if name.eq_ignore_ascii_case(b"content-length") {
            self.saw_content_length = true;
            let parsed = std::str::from_utf8(value)
                .ok()
                .and_then(|v| v.parse::<u64>().ok());
            match (parsed, self.content_length) {
                (Some(v), None) => self.content_length = Some(v),
                (Some(v), Some(prev)) if v == prev => {}
                _ => self.confused = true,
            }
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.saw_transfer_encoding = true;
            let last = value
                .rsplit(|b| *b == b',')
                .next()
                .unwrap_or(b"")
                .trim_ascii();
            // Never truncated: `squeeze` keeps the last coding.
            self.chunked = last.eq_ignore_ascii_case(b"chunked");
        } else if name.eq_ignore_ascii_case(b"upgrade") {
            self.upgrade = true;
        }
    }

    fn end_of_head(&mut self) -> Option<Finding> {
        self.heads += 1;
        let finding = if self.saw_content_length && self.saw_transfer_encoding {
            self.state = State::Off;
            Some(Finding::Ambiguous(self.heads))
        } else {
            self.state = if self.upgrade || self.confused {
                State::Off
            } else if self.saw_transfer_encoding {
                if self.chunked {
                    State::ChunkSize {
                        size: 0,
                        digits: false,
                        ext: false,
                    }
                } else {
                    State::Off
                }
            } else {
                match self.content_length {
                    Some(n) if n > 0 => State::Body(n),
                    _ => State::Head,
                }
            };
            None
        };
        self.lines = 0;
        self.content_length = None;
        self.saw_content_length = false;
        self.saw_transfer_encoding = false;
        self.chunked = false;
        self.upgrade = false;
        self.confused = false;
        finding
    }
}

/// Where a [`Scanner`] is in the stream, for the fuzz targets.
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Before a request line (empty lines may come first).
    Idle,
    /// Inside a request head.
    Head,
    /// In a body: bytes left of a `Content-Length` one, or `None` for chunked.
    Body(Option<u64>),
    /// Not following the stream any more.
    Off,
}

impl Scanner {
    /// Request heads completed so far, and where the scanner is now.
    #[doc(hidden)]
    pub fn phase(&self) -> (u64, Phase) {
        let phase = match self.state {
            State::Head if self.lines == 0 && self.line_len == 0 => Phase::Idle,
            State::Head => Phase::Head,
            State::Body(left) => Phase::Body(Some(left)),
            State::Off => Phase::Off,
            _ => Phase::Body(None),
        };
        (self.heads, phase)
    }
}

/// A client connection whose reads are scanned (see the module docs).
pub struct GuardedIo<T> {
    inner: T,
    scanner: Box<Scanner>,
    framing: Arc<ConnFraming>,
}

impl<T> GuardedIo<T> {
    pub fn new(inner: T, framing: Arc<ConnFraming>) -> Self {
        Self {
            inner,
            scanner: Box::default(),
            framing,
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for GuardedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = result {
            if this.scanner.state != State::Off {
                if let Some(Finding::Ambiguous(n)) = this.scanner.feed(&buf.filled()[before..]) {
                    this.framing.reject_at.store(n, Relaxed);
                }
            }
        }
        result
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for GuardedIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_all(input: &[u8], chunk: usize) -> Vec<Finding> {
        let mut s = Scanner::default();
        let mut found = Vec::new();
        for part in input.chunks(chunk) {
            if let Some(f) = s.feed(part) {
                found.push(f);
            }
        }
        found
    }

    #[test]
    fn flags_cl_and_te_in_either_order() {
        for chunk in [1, 3, 7, 1000] {
            let a = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
            assert_eq!(scan_all(a, chunk), vec![Finding::Ambiguous(1)]);
            let b = b"POST / HTTP/1.1\r\ntransfer-encoding: chunked\r\ncontent-length: 5\r\n\r\n0\r\n\r\n";
            assert_eq!(scan_all(b, chunk), vec![Finding::Ambiguous(1)]);
        }
    }

    #[test]
    fn follows_bodies_to_the_next_request() {
        let mut stream = Vec::new();
        // A Content-Length body that contains header-looking text.
        let body = b"Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        stream.extend_from_slice(
            format!("POST /a HTTP/1.1\r\nContent-Length: {}\r\n\r\n", body.len()).as_bytes(),
        );
        stream.extend_from_slice(body);
        // A chunked body with an extension and a trailer.
        stream.extend_from_slice(b"POST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n");
        stream.extend_from_slice(b"5;x=y\r\nhello\r\n3\r\n\r\n\r\r\n0\r\nX-T: 1\r\n\r\n");
        stream.extend_from_slice(b"GET /c HTTP/1.1\r\n\r\n");
        stream.extend_from_slice(
            b"POST /d HTTP/1.1\r\nContent-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n",
        );
        for chunk in [1, 2, 5, 64, 4096] {
            assert_eq!(
                scan_all(&stream, chunk),
                vec![Finding::Ambiguous(4)],
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn long_framing_values_keep_their_meaning() {
        // Found by `cargo xtask fuzz --target framing`: the first 128 bytes
        // of a line were all that was kept, so a length padded with zeros
        // or spaces read as 0 (or not at all) while hyper read 1, and the
        // scanner lost the stream's framing.
        let zeros = format!("Content-Length: {}1", "0".repeat(150));
        let spaces = format!("Content-Length:{}1{}", " ".repeat(150), "\t".repeat(150));
        let codings = format!("Transfer-Encoding: {}chunked", "gzip, ".repeat(40));
        let padded = format!("Transfer-Encoding: chunked{}", " ".repeat(150));
        for (field, body) in [
            (&zeros, "X"),
            (&spaces, "X"),
            (&codings, "1\r\nX\r\n0\r\n\r\n"),
            (&padded, "1\r\nX\r\n0\r\n\r\n"),
        ] {
            let stream = format!(
                "POST / HTTP/1.1\r\n{field}\r\n\r\n{body}POST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n"
            );
            for chunk in [1, 7, 4096] {
                assert_eq!(
                    scan_all(stream.as_bytes(), chunk),
                    vec![Finding::Ambiguous(2)],
                    "{field} in pieces of {chunk}"
                );
            }
        }
        // A value that is long for real is still no length.
        let mut s = Scanner::default();
        let digits = format!(
            "GET / HTTP/1.1\r\nContent-Length: {}\r\n\r\n",
            "9".repeat(140)
        );
        s.feed(digits.as_bytes());
        assert_eq!(s.phase().1, Phase::Off);
    }

    #[test]
    fn stops_after_upgrade() {
        let stream = b"GET /ws HTTP/1.1\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\r\nPOST / HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert!(scan_all(stream, 4096).is_empty());
    }

    #[test]
    fn service_side_matches_index() {
        let f = ConnFraming::default();
        f.reject_at.store(2, Relaxed);
        assert!(!f.next_request_is_ambiguous());
        assert!(f.next_request_is_ambiguous());
        assert!(!f.next_request_is_ambiguous());
    }
}
