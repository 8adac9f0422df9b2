//! [`GuardedIo`]: the client connection as hyper reads it. Holds back an
//! incomplete head, checks each complete one, and puts a stand-in request
//! in place of one that can't be served (or that stalled).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::scanner::{Event, Scanner, State};
use super::ConnFraming;
use crate::dataplane::desync::{self, Verdict};

/// What hyper reads in place of a head that is refused: any request does,
/// the service answers it by its index without looking at it.
pub(super) const STAND_IN: &[u8] = b"GET / HTTP/1.1\r\n\r\n";

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
