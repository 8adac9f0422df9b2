//! [`Scanner`]: follows the HTTP/1 framing of a client's bytes (heads,
//! `Content-Length` and chunked bodies) read by read, and reports each
//! complete head, where it ends, and what made a connection unframeable.

use crate::dataplane::desync::{MAX_HEAD_BYTES, MAX_LINE_BYTES};

/// Longest header-line prefix kept for inspection.
const LINE_KEEP: usize = 128;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum State {
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
    pub(super) state: State,
    pub(super) heads: u64,
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
