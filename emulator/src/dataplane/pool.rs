//! Keep-alive connections to targets: one pool per target address.
//!
//! Each pooled connection is a [`TargetConn`]: a socket, driven by whichever
//! request uses it (see [`super::client`]). A request checks a connection out
//! (the most recently used idle one, else a new one), sends on it, and the
//! response body gives it back when it has been read to the end
//! ([`super::body::AlbBody`]). A connection whose response was cut short, or
//! that was upgraded, is never reused.
//!
//! This replaces hyper-util's legacy `Client`, whose pool is shared by every
//! authority (a key hash, a lock and a clone per request) and which hands
//! connections back through an extra task per request.
//!
//! At most [`MAX_ACTIVE_PER_TARGET`] requests use connections to one target
//! at once; more wait for a free connection (within the listener's idle
//! timeout). Without the cap, 10k busy clients would open 10k target sockets
//! and run the process out of file descriptors.
//!
//! Idle connections are dropped by the sweeper ([`Pool::sweep`], run every
//! [`SWEEP_INTERVAL`] by the snapshot task): a connection still idle at its
//! second sweep goes, so none stays idle longer than
//! [`UPSTREAM_IDLE_TIMEOUT`]. Generations instead of timestamps keep clock
//! reads off the request path.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

use super::client::TargetConn;

/// The longest an idle pooled connection to a target stays open (the sweep
/// closes it after one to two [`SWEEP_INTERVAL`]s, checked against this
/// bound below). Below the usual backend keep-alive (Node 5 s, nginx 75 s,
/// Go 90 s... the lowest common one), so the proxy closes first and never
/// reuses a connection the target is closing (hyper#2627). AWS keeps target
/// connections for the load balancer's idle timeout (60 s by default); this
/// emulator deliberately does not.
pub const UPSTREAM_IDLE_TIMEOUT: Duration = Duration::from_secs(4);
/// Requests in flight to one target at most; more wait for a connection.
/// AWS states no such limit; a local emulator needs one to stay within its
/// file-descriptor limit.
pub const MAX_ACTIVE_PER_TARGET: usize = 1024;
/// Idle connections kept per target at most; more are closed when handed
/// back (a burst of 10k clients must not leave 10k idle sockets behind).
pub const MAX_IDLE_PER_TARGET: usize = 1024;
/// How often idle connections are swept (see the module docs).
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(2);
const _: () = assert!(2 * SWEEP_INTERVAL.as_millis() <= UPSTREAM_IDLE_TIMEOUT.as_millis());

struct Idle {
    conn: TargetConn,
    /// The sweep generation it went idle in.
    generation: u64,
}

/// The connections to one target address. Shared by every target group
/// that registers the address; outlives routing snapshots.
pub struct Pool {
    addr: SocketAddr,
    /// Most recently used last. A `std` mutex: it is held for one push or
    /// pop, never across `.await`, so it is uncontended in practice.
    idle: Mutex<Vec<Idle>>,
    /// One permit per request using a connection to this target.
    active: Arc<Semaphore>,
    /// Incremented by every sweep.
    generation: AtomicU64,
    /// Cancelled when the address leaves routing: its deregistration delay
    /// is over, or no group registers it any more.
    retired: CancellationToken,
}

impl Pool {
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            idle: Mutex::new(Vec::new()),
            active: Arc::new(Semaphore::new(MAX_ACTIVE_PER_TARGET)),
            generation: AtomicU64::new(0),
            retired: CancellationToken::new(),
        }
    }

    /// The address left routing: requests still waiting on it end (as ALB
    /// closes them when the deregistration delay expires), connects still
    /// pending go elsewhere, and the idle connections close.
    pub fn retire(&self) {
        self.retired.cancel();
        self.sweep(true);
    }

    /// Resolves once [`Pool::retire`] was called.
    pub fn retired(&self) -> WaitForCancellationFuture<'_> {
        self.retired.cancelled()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A turn to use a connection to this target; waits while
    /// [`MAX_ACTIVE_PER_TARGET`] requests hold one. Held until the response
    /// body is done.
    pub async fn acquire(&self) -> OwnedSemaphorePermit {
        match self.active.clone().try_acquire_owned() {
            Ok(permit) => permit,
            Err(_) => self
                .active
                .clone()
                .acquire_owned()
                .await
                .expect("the semaphore is never closed"),
        }
    }

    /// An idle connection that is still open, if any.
    pub fn take_idle(&self) -> Option<TargetConn> {
        loop {
            let conn = self.lock().pop()?.conn;
            // Checked outside the lock: it may cost a system call.
            if conn.is_usable() {
                return Some(conn);
            }
        }
    }

    /// Hands back a connection whose last exchange was complete.
    pub fn put_back(&self, conn: TargetConn) {
        let generation = self.generation.load(Relaxed);
        let mut idle = self.lock();
        if idle.len() < MAX_IDLE_PER_TARGET {
            idle.push(Idle { conn, generation });
        }
    }

    /// Drops connections that were already idle at the previous sweep (or
    /// all of them with `all`), which closes their sockets.
    pub fn sweep(&self, all: bool) {
        let current = self.generation.fetch_add(1, Relaxed);
        let stale: Vec<Idle> = {
            let mut idle = self.lock();
            if all {
                std::mem::take(&mut *idle)
            } else {
                // Oldest first: everything before the first recent one goes.
                let keep_from = idle
                    .iter()
                    .position(|c| c.generation >= current)
                    .unwrap_or(idle.len());
                idle.drain(..keep_from).collect()
            }
        };
        drop(stale);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Idle>> {
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn requests_beyond_the_cap_wait_for_a_turn() {
        let pool = Pool::new("127.0.0.1:9".parse().unwrap());
        let mut turns = Vec::new();
        for _ in 0..MAX_ACTIVE_PER_TARGET {
            turns.push(pool.acquire().await);
        }
        let mut waiting = std::pin::pin!(pool.acquire());
        assert!(
            futures::poll!(waiting.as_mut()).is_pending(),
            "a turn beyond the cap was granted"
        );
        turns.pop();
        let granted = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert!(granted.is_ok(), "a freed turn was not granted");
    }
}
