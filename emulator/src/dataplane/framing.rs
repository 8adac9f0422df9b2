//! The listeners' guard on what clients send, below hyper: every request
//! head is checked whole ([`super::desync`]) before hyper reads a byte of it.
//!
//! [`GuardedIo`] wraps a client connection and follows the HTTP/1 framing
//! of the bytes read (heads, `Content-Length` bodies, chunked bodies) with
//! a [`Scanner`]. Bytes of a head still incomplete at the end of a read are
//! held back from hyper until the head ends, so that:
//! - each complete head is checked in one piece: ALB's size limits, what
//!   hyper would refuse, and the desync classification. A verdict other
//!   than compliant is recorded in [`ConnFraming`] by request index for
//!   the service, which acts on it per the load balancer's desync mode;
//! - a head that can't be served (over 16 KB per line or 64 KB in all, not
//!   HTTP, unframeable) never reaches hyper, whose own answer would be a
//!   bare 400 or 431: hyper gets a stand-in request in its place, and the
//!   service answers it with the ALB's page and closes;
//! - a head that stalls for the idle timeout gets 408 the same way.
//!
//! Why the stand-in and the index: hyper drops `Content-Length` when
//! `Transfer-Encoding` is present (RFC 9112 section 6.1), and answers parse
//! errors itself, so the service can't see either from the request.
//!
//! Cost on the common path (a head arrives in one read): the scan, and one
//! parse and classification of the head in the read buffer; nothing is
//! copied or allocated. Bodies are skipped by length. Scanning stops for
//! good after an upgrade request, or after a request that closes the
//! connection (both framing headers, or one hyper refuses).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::desync::{self, Verdict, MAX_HEAD_BYTES, MAX_LINE_BYTES};

/// Verdicts that can wait for the service at once (pipelined requests that
/// are not compliant); more make the rest of the connection refused.
const VERDICT_SLOTS: usize = 8;

/// Per-connection facts shared between the IO wrapper, the service and the
/// listener's watchdog.
pub struct ConnFraming {
    /// Requests the service has seen on this connection.
    served: AtomicU64,
    /// Verdicts in `verdicts` not taken yet: the service locks only then.
    waiting: AtomicU64,
    /// Non-compliant verdicts by 1-based request index (0: free slot).
    verdicts: Mutex<[(u64, Verdict); VERDICT_SLOTS]>,
    /// The first request whose verdict found no free slot: it and every
    /// later one are refused. 0: none.
    lost_from: AtomicU64,
    /// Bytes read from the client so far: the watchdog's sign of life.
    bytes_read: AtomicU64,
    /// The request whose body is still arriving; 0: none.
    body_open: AtomicU64,
    /// Bytes of a head are held back (it will end or get 408).
    head_held: AtomicBool,
    /// The load balancer's idle timeout, in milliseconds.
    idle_timeout_ms: AtomicU64,
}

impl Default for ConnFraming {
    fn default() -> Self {
        Self {
            served: AtomicU64::new(0),
            waiting: AtomicU64::new(0),
            verdicts: Mutex::new([(0, Verdict::FINE); VERDICT_SLOTS]),
            lost_from: AtomicU64::new(0),
            bytes_read: AtomicU64::new(0),
            body_open: AtomicU64::new(0),
            head_held: AtomicBool::new(false),
            idle_timeout_ms: AtomicU64::new(
                super::snapshot::DEFAULT_IDLE_TIMEOUT.as_millis() as u64
            ),
        }
    }
}

impl ConnFraming {
    /// Called by the service once per request, in order: the request's
    /// 1-based index on the connection and what its head check found.
    pub fn next_request(&self) -> (u64, Verdict) {
        let n = self.served.fetch_add(1, Relaxed) + 1;
        let lost_from = self.lost_from.load(Relaxed);
        if lost_from != 0 && n >= lost_from {
            return (n, Verdict::TOO_LARGE);
        }
        if self.waiting.load(Relaxed) == 0 {
            return (n, Verdict::FINE);
        }
        let mut slots = self.lock();
        match slots.iter_mut().find(|(i, _)| *i == n) {
            Some(slot) => {
                let verdict = slot.1;
                *slot = (0, Verdict::FINE);
                self.waiting.fetch_sub(1, Relaxed);
                (n, verdict)
            }
            None => (n, Verdict::FINE),
        }
    }

    /// Requests the service has seen on this connection so far.
    pub fn requests_seen(&self) -> u64 {
        self.served.load(Relaxed)
    }

    /// Bytes read from the client so far.
    pub fn bytes_read(&self) -> u64 {
        self.bytes_read.load(Relaxed)
    }

    /// Whether the body of request `index` is still arriving.
    pub fn body_open(&self, index: u64) -> bool {
        index != 0 && self.body_open.load(Relaxed) == index
    }

    /// Whether an incomplete head is held back from hyper.
    pub fn head_held(&self) -> bool {
        self.head_held.load(Relaxed)
    }

    /// How long a head may stall before it gets 408.
    pub fn set_idle_timeout(&self, timeout: Duration) {
        self.idle_timeout_ms
            .store(timeout.as_millis() as u64, Relaxed);
    }

    fn idle_timeout(&self) -> Duration {
        Duration::from_millis(self.idle_timeout_ms.load(Relaxed))
    }

    fn record(&self, index: u64, verdict: Verdict) {
        let mut slots = self.lock();
        match slots.iter_mut().find(|(i, _)| *i == 0) {
            Some(slot) => {
                *slot = (index, verdict);
                self.waiting.fetch_add(1, Relaxed);
            }
            None => {
                if self.lost_from.load(Relaxed) == 0 {
                    self.lost_from.store(index, Relaxed);
                }
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, [(u64, Verdict); VERDICT_SLOTS]> {
        self.verdicts.lock().unwrap_or_else(|p| p.into_inner())
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
    /// The head that ended last had both framing headers.
    ambiguous: bool,
    /// Bytes of the current line, all of them (`line` keeps a prefix).
    line_total: usize,
    /// Bytes of the current head so far.
    head_total: usize,
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
            ambiguous: false,
            line_total: 0,
            head_total: 0,
        }
    }
}

/// What scanning found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finding {
    /// Request number `n` (1-based) has both `Content-Length` and `Transfer-Encoding`.
    Ambiguous(u64),
}

/// Where [`Scanner::step`] stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A request head ended with the last byte consumed.
    HeadEnd,
    /// A request body ended with the last byte consumed: the next head
    /// starts here.
    MessageEnd,
    /// The head in progress went over one of ALB's size limits; the scanner
    /// stops.
    TooLarge,
}

impl Scanner {
    /// Feeds bytes read from the client; reports the first request that
    /// carries both framing headers.
    pub fn feed(&mut self, mut data: &[u8]) -> Option<Finding> {
        while !data.is_empty() {
            let (used, event) = self.step(data);
            data = &data[used..];
            if event == Some(Event::HeadEnd) && self.ambiguous {
                return Some(Finding::Ambiguous(self.heads));
            }
        }
        None
    }

    /// Feeds bytes up to the next [`Event`]: how many it consumed, and the
    /// event, if one stopped it.
    pub fn step(&mut self, data: &[u8]) -> (usize, Option<Event>) {
        let total = data.len();
        let mut data = data;
        while !data.is_empty() {
            match self.state {
                State::Off => return (total, None),
                State::Head => {
                    let (line_end, consumed) = match memchr::memchr(b'\n', data) {
                        Some(i) => (true, i + 1),
                        None => (false, data.len()),
                    };
                    let mut part = &data[..if line_end { consumed - 1 } else { consumed }];
                    self.line_total += part.len();
                    self.head_total += consumed;
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
                    // A line may end in CR besides its 16 KB.
                    if self.line_total > MAX_LINE_BYTES + 1 || self.head_total > MAX_HEAD_BYTES {
                        self.state = State::Off;
                        return (total - data.len(), Some(Event::TooLarge));
                    }
                    if line_end {
                        self.line_total = 0;
                        if let Some(event) = self.end_of_line() {
                            return (total - data.len(), Some(event));
                        }
                    }
                }
                State::Body(left) => {
                    let n = (data.len() as u64).min(left);
                    data = &data[n as usize..];
                    if left == n {
                        self.state = State::Head;
                        return (total - data.len(), Some(Event::MessageEnd));
                    }
                    self.state = State::Body(left - n);
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
                        b'\n' if empty_line => {
                            self.state = State::Head;
                            return (total - data.len(), Some(Event::MessageEnd));
                        }
                        b'\n' => State::Trailers { empty_line: true },
                        b'\r' => State::Trailers { empty_line },
                        _ => State::Trailers { empty_line: false },
                    };
                }
            }
        }
        (total, None)
    }

    fn end_of_line(&mut self) -> Option<Event> {
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

    fn end_of_head(&mut self) -> Option<Event> {
        self.heads += 1;
        self.ambiguous = self.saw_content_length && self.saw_transfer_encoding;
        if self.ambiguous {
            self.state = State::Off;
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
        }
        self.lines = 0;
        self.head_total = 0;
        self.content_length = None;
        self.saw_content_length = false;
        self.saw_transfer_encoding = false;
        self.chunked = false;
        self.upgrade = false;
        self.confused = false;
        Some(Event::HeadEnd)
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

/// What hyper reads in place of a head that is refused: any request does,
/// the service answers it by its index without looking at it.
const STAND_IN: &[u8] = b"GET / HTTP/1.1\r\n\r\n";

/// A client connection whose reads are checked (see the module docs).
pub struct GuardedIo<T> {
    inner: T,
    guard: Box<Guard>,
    framing: Arc<ConnFraming>,
}

/// The per-connection state of [`GuardedIo`], boxed once.
#[derive(Default)]
struct Guard {
    scanner: Scanner,
    /// Bytes read but not given to hyper yet: `[sent..ready]` are checked,
    /// `[ready..]` is the start of a head that has not ended.
    held: Vec<u8>,
    sent: usize,
    ready: usize,
    cut: Cut,
    /// When a held head has stalled for the idle timeout.
    stall_at: Option<tokio::time::Instant>,
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    bytes: u64,
}

/// After a refused head: the stand-in request, then nothing more.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Cut {
    #[default]
    No,
    /// Bytes of the stand-in given so far.
    StandIn(usize),
    Done,
}

impl<T> GuardedIo<T> {
    pub fn new(inner: T, framing: Arc<ConnFraming>) -> Self {
        Self {
            inner,
            guard: Box::default(),
            framing,
        }
    }
}

impl Guard {
    /// Follows `data[from..]`; `head_start` is where the head in progress
    /// began, if the scanner is in one. Checks each head that ends. Returns
    /// how much of `data` may go to hyper: all of it, or up to the start of
    /// a head that has not ended or is refused (then `true`).
    fn check(
        &mut self,
        data: &[u8],
        from: usize,
        mut head_start: Option<usize>,
        framing: &ConnFraming,
    ) -> (usize, bool) {
        let mut pos = from;
        while pos < data.len() {
            let (used, event) = self.scanner.step(&data[pos..]);
            pos += used;
            match event {
                None => {}
                Some(Event::MessageEnd) => head_start = Some(pos),
                Some(Event::HeadEnd) => {
                    let start = head_start.unwrap_or(0);
                    let verdict = desync::check_head(&data[start..pos]);
                    let index = self.scanner.heads;
                    if verdict != Verdict::FINE {
                        framing.record(index, verdict);
                    }
                    if verdict.refused.is_some() {
                        self.scanner.state = State::Off;
                        return (start, true);
                    }
                    head_start = (self.scanner.state == State::Head).then_some(pos);
                }
                Some(Event::TooLarge) => {
                    framing.record(self.scanner.heads + 1, Verdict::TOO_LARGE);
                    return (head_start.unwrap_or(0), true);
                }
            }
            if self.scanner.state == State::Off {
                head_start = None;
                break;
            }
        }
        let in_body = !matches!(self.scanner.state, State::Head | State::Off);
        framing
            .body_open
            .store(if in_body { self.scanner.heads } else { 0 }, Relaxed);
        (head_start.unwrap_or(data.len()), false)
    }

    /// Replaces the rest of the stream with the stand-in request.
    fn cut(&mut self, framing: &ConnFraming) {
        self.held.clear();
        self.sent = 0;
        self.ready = 0;
        self.cut = Cut::StandIn(0);
        framing.head_held.store(false, Relaxed);
    }

    /// Starts or restarts the stall clock of a held head.
    fn hold(&mut self, framing: &ConnFraming) {
        self.stall_at = Some(tokio::time::Instant::now() + framing.idle_timeout());
        framing.head_held.store(true, Relaxed);
    }

    /// Whether the held head has stalled for the idle timeout.
    fn poll_stalled(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(at) = self.stall_at else {
            return false;
        };
        let sleep = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        if sleep.deadline() != at {
            sleep.as_mut().reset(at);
        }
        sleep.as_mut().poll(cx).is_ready()
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for GuardedIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let g = &mut *this.guard;
        let framing = &*this.framing;
        loop {
            // Held bytes that were checked go first.
            if g.sent < g.ready {
                let n = (g.ready - g.sent).min(buf.remaining());
                buf.put_slice(&g.held[g.sent..g.sent + n]);
                g.sent += n;
                if g.sent == g.ready {
                    g.held.drain(..g.ready);
                    g.sent = 0;
                    g.ready = 0;
                }
                return Poll::Ready(Ok(()));
            }
            match g.cut {
                Cut::No => {}
                Cut::StandIn(given) => {
                    let n = (STAND_IN.len() - given).min(buf.remaining());
                    buf.put_slice(&STAND_IN[given..given + n]);
                    g.cut = if given + n == STAND_IN.len() {
                        Cut::Done
                    } else {
                        Cut::StandIn(given + n)
                    };
                    return Poll::Ready(Ok(()));
                }
                // The answer to the stand-in closes the connection; the
                // client's further bytes are never read.
                Cut::Done => return Poll::Pending,
            }
            let before = buf.filled().len();
            match Pin::new(&mut this.inner).poll_read(cx, buf) {
                Poll::Ready(Ok(())) => {}
                Poll::Pending => {
                    if g.held.is_empty() || !g.poll_stalled(cx) {
                        return Poll::Pending;
                    }
                    g.stall_at = None;
                    framing.head_held.store(false, Relaxed);
                    if g.held.iter().all(|b| matches!(b, b'\r' | b'\n')) {
                        // Only empty lines: an idle connection, no request.
                        g.held.clear();
                        return Poll::Pending;
                    }
                    framing.record(g.scanner.heads + 1, Verdict::TIMED_OUT);
                    g.scanner.state = State::Off;
                    g.cut(framing);
                    continue;
                }
                err => return err,
            }
            let n = buf.filled().len() - before;
            if n == 0 {
                // The client closed: a held partial head is nobody's request.
                g.held.clear();
                framing.head_held.store(false, Relaxed);
                return Poll::Ready(Ok(()));
            }
            g.bytes += n as u64;
            framing.bytes_read.store(g.bytes, Relaxed);
            if g.scanner.state == State::Off && g.held.is_empty() {
                return Poll::Ready(Ok(()));
            }
            if g.held.is_empty() {
                // The common case: checked where hyper will read it.
                let data = &buf.filled()[before..];
                let head_start = (g.scanner.state == State::Head).then_some(0);
                let (pass, refused) = g.check(data, 0, head_start, framing);
                if pass < n && !refused {
                    g.held.extend_from_slice(&data[pass..]);
                    g.hold(framing);
                }
                buf.set_filled(before + pass);
                if refused {
                    g.cut(framing);
                }
                if pass > 0 {
                    return Poll::Ready(Ok(()));
                }
            } else {
                // More of a held head: everything read joins it.
                let old = g.held.len();
                g.held.extend_from_slice(&buf.filled()[before..]);
                buf.set_filled(before);
                let held = std::mem::take(&mut g.held);
                let (pass, refused) = g.check(&held, old, Some(0), framing);
                g.held = held;
                if refused {
                    g.held.truncate(pass);
                    g.ready = pass;
                    g.cut = Cut::StandIn(0);
                    framing.head_held.store(false, Relaxed);
                } else {
                    g.ready = pass;
                    if pass < g.held.len() {
                        g.hold(framing);
                    } else {
                        g.stall_at = None;
                        framing.head_held.store(false, Relaxed);
                    }
                }
            }
        }
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
    fn service_side_takes_verdicts_by_index() {
        let f = ConnFraming::default();
        f.record(2, Verdict::TOO_LARGE);
        assert_eq!(f.next_request(), (1, Verdict::FINE));
        assert_eq!(f.next_request(), (2, Verdict::TOO_LARGE));
        assert_eq!(f.next_request(), (3, Verdict::FINE));
        // Past the slots, the rest of the connection is refused.
        for i in 4..4 + VERDICT_SLOTS as u64 + 1 {
            f.record(i, Verdict::TIMED_OUT);
        }
        let lost = 4 + VERDICT_SLOTS as u64;
        for i in 4..lost {
            assert_eq!(f.next_request(), (i, Verdict::TIMED_OUT));
        }
        assert_eq!(f.next_request(), (lost, Verdict::TOO_LARGE));
        assert_eq!(f.next_request(), (lost + 1, Verdict::TOO_LARGE));
    }

    /// Reads that return the given pieces one by one, then nothing ever.
    struct Script(std::collections::VecDeque<Vec<u8>>);

    impl AsyncRead for Script {
        fn poll_read(
            self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut ReadBuf<'_>,
        ) -> Poll<io::Result<()>> {
            match self.get_mut().0.pop_front() {
                Some(piece) => {
                    buf.put_slice(&piece);
                    Poll::Ready(Ok(()))
                }
                None => Poll::Pending,
            }
        }
    }

    /// What hyper would read through a guard fed `pieces`: each read's
    /// bytes, until the reads stop for `quiet`.
    async fn through(
        pieces: &[&[u8]],
        framing: &Arc<ConnFraming>,
        quiet: Duration,
    ) -> Vec<Vec<u8>> {
        use tokio::io::AsyncReadExt;
        let script = Script(pieces.iter().map(|p| p.to_vec()).collect());
        let mut io = GuardedIo::new(script, framing.clone());
        let mut reads = Vec::new();
        let mut buf = vec![0u8; 256 * 1024];
        while let Ok(Ok(n)) = tokio::time::timeout(quiet, io.read(&mut buf)).await {
            if n == 0 {
                break;
            }
            reads.push(buf[..n].to_vec());
        }
        reads
    }

    const QUIET: Duration = Duration::from_millis(200);

    #[tokio::test]
    async fn heads_reach_hyper_only_whole() {
        let f = Arc::new(ConnFraming::default());
        let reads = through(
            &[
                b"GET /a HTTP/1.1\r\nHo",
                b"st: x\r\n",
                b"\r\nGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nab",
                b"cGET",
            ],
            &f,
            QUIET,
        )
        .await;
        assert_eq!(
            reads,
            vec![
                b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\n\r\nPOST /c HTTP/1.1\r\nContent-Length: 3\r\n\r\nab".to_vec(),
                b"c".to_vec(),
            ],
            "the first head waits for its end; the unfinished `GET` is held back"
        );
        assert!(f.head_held());
        for i in 1..=3 {
            assert_eq!(f.next_request(), (i, Verdict::FINE));
        }
    }

    #[tokio::test]
    async fn a_refused_head_becomes_the_stand_in() {
        let f = Arc::new(ConnFraming::default());
        let reads = through(
            &[b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nxGET /c HTTP/1.1\r\n\r\n"],
            &f,
            QUIET,
        )
        .await;
        assert_eq!(
            reads.concat(),
            [&b"GET /a HTTP/1.1\r\n\r\n"[..], STAND_IN].concat()
        );
        assert_eq!(f.next_request(), (1, Verdict::FINE));
        let (n, verdict) = f.next_request();
        assert_eq!(
            (n, verdict.refused),
            (2, Some(crate::dataplane::response::AlbError::BadRequest))
        );
        assert_eq!(verdict.class.reason, "MultipleContentLength");
    }

    #[tokio::test]
    async fn floods_past_the_limits_are_cut_early() {
        // One header line over 16 KB, sent in pieces: refused before it ends.
        let f = Arc::new(ConnFraming::default());
        let big = vec![b'a'; MAX_LINE_BYTES];
        let reads = through(&[b"GET / HTTP/1.1\r\nX: ", &big, &big], &f, QUIET).await;
        assert_eq!(reads.concat(), STAND_IN);
        assert_eq!(f.next_request(), (1, Verdict::TOO_LARGE));
        // Many small header lines, 64 KB in all.
        let f = Arc::new(ConnFraming::default());
        let line = b"X-Flood: 0123456789abcdef0123456789abcdef0123456789abcdef\r\n";
        let many = line.repeat(MAX_HEAD_BYTES / line.len() + 1);
        let reads = through(&[b"GET / HTTP/1.1\r\n", &many], &f, QUIET).await;
        assert_eq!(reads.concat(), STAND_IN);
        assert_eq!(f.next_request(), (1, Verdict::TOO_LARGE));
        // A head just under the limits passes.
        let f = Arc::new(ConnFraming::default());
        let value = vec![b'v'; MAX_LINE_BYTES - 4];
        let head = [&b"GET / HTTP/1.1\r\nX: "[..], &value, b"\r\n\r\n"].concat();
        let reads = through(&[&head], &f, QUIET).await;
        assert_eq!(reads.concat(), head);
        assert_eq!(f.next_request(), (1, Verdict::FINE));
    }

    #[tokio::test]
    async fn a_stalled_head_times_out_and_empty_lines_do_not() {
        let f = Arc::new(ConnFraming::default());
        f.set_idle_timeout(Duration::from_millis(100));
        let reads = through(&[b"GET / HT"], &f, Duration::from_secs(2)).await;
        assert_eq!(reads.concat(), STAND_IN);
        assert_eq!(f.next_request(), (1, Verdict::TIMED_OUT));

        let f = Arc::new(ConnFraming::default());
        f.set_idle_timeout(Duration::from_millis(100));
        let reads = through(&[b"\r\n"], &f, Duration::from_millis(500)).await;
        assert!(reads.is_empty(), "{reads:?}");
        assert!(!f.head_held());
    }
}
