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
//!
//! # Layout
//! - this file: [`ConnFraming`], the verdicts a connection's requests got.
//! - `scanner`: [`Scanner`], the framing of the bytes read.
//! - `guarded`: [`GuardedIo`], the connection hyper reads through.
//! - `tests`: the unit tests.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;

use super::desync::Verdict;

mod guarded;
mod scanner;

pub use guarded::GuardedIo;
pub use scanner::{Event, Finding, Phase, Scanner};

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

#[cfg(test)]
mod tests;
