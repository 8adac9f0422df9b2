//! Listener sockets: binding, the accept loop, and one hyper HTTP/1
//! connection per client.
//!
//! A client connection idle for the load balancer's idle timeout (no byte
//! from the client, no response open, no head held by the guard, which
//! answers a stalled head with 408 itself: see `framing`) is closed by a
//! per-connection watchdog that looks every half timeout: it closes after 1
//! to 1.5 timeouts. hyper's own header-read timeout would do it to the
//! second, but it reads the clock, allocates a timer and registers it for
//! every request; the watchdog's one timer is re-armed twice a timeout.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use socket2::{Domain, Protocol, Socket, Type};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::body::UpstreamBody;
use super::framing::{ConnFraming, GuardedIo};
use super::observe::{self, Exchange, OpenExchange};
use super::proxy::{self, ConnInfo, Shared};
use super::snapshot::DEFAULT_IDLE_TIMEOUT;
use super::RoutesSlot;

/// Pending-connection queue of a listener socket (the kernel caps it at
/// `net.core.somaxconn`). Large, so bursts of new clients aren't refused.
const LISTEN_BACKLOG: i32 = 4096;

/// An open listener, as the control plane tracks it.
pub struct ListenerHandle {
    /// The address asked for.
    pub bind: SocketAddr,
    /// The address really bound.
    pub local_addr: SocketAddr,
    /// Where the snapshot publisher puts this listener's routes.
    pub slot: RoutesSlot,
    /// Cancelled when the listener closes.
    pub token: CancellationToken,
    /// The accept loop; the socket is closed once it has ended.
    pub accepting: tokio::task::JoinHandle<()>,
}

/// Binds synchronously, so the caller sees errors such as "address in use".
pub fn bind(addr: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    // Lets a listener re-bind a port that still has TIME_WAIT connections.
    socket.set_reuse_address(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(LISTEN_BACKLOG)?;
    Ok(socket.into())
}

/// Starts the accept loop of a bound socket; it ends (closing the socket)
/// when `token` is cancelled.
pub fn serve(
    shared: Arc<Shared>,
    socket: std::net::TcpListener,
    slot: RoutesSlot,
    token: CancellationToken,
    tasks: TaskTracker,
) -> std::io::Result<tokio::task::JoinHandle<()>> {
    let listener = tokio::net::TcpListener::from_std(socket)?;
    let tracker = tasks.clone();
    Ok(tasks.spawn(async move {
        loop {
            let accepted = tokio::select! {
                _ = token.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    tracker.spawn(connection(
                        shared.clone(),
                        stream,
                        peer,
                        slot.clone(),
                        token.clone(),
                    ));
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off briefly
                    // instead of spinning.
                    tracing::warn!(error = %e, "ALB listener accept failed");
                    tokio::select! {
                        _ = token.cancelled() => break,
                        _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => {}
                    }
                }
            }
        }
        // Dropping `listener` closes the socket.
    }))
}

/// Serves one client connection until it closes, stays quiet too long (see
/// the module docs) or the listener shuts down.
async fn connection(
    shared: Arc<Shared>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    slot: RoutesSlot,
    token: CancellationToken,
) {
    let _active = observe::connection(&shared.observe, slot.load().as_deref());
    let framing = Arc::new(ConnFraming::default());
    let idle_timeout = |slot: &RoutesSlot| {
        slot.load()
            .as_ref()
            .map_or(DEFAULT_IDLE_TIMEOUT, |r| r.idle_timeout)
    };
    let mut timeout = idle_timeout(&slot);
    framing.set_idle_timeout(timeout);
    let watch_slot = slot.clone();
    let conn_info = Arc::new(ConnInfo::new(peer, Some(framing.clone())));
    let open_responses = Arc::new(AtomicU64::new(0));
    let io = TokioIo::new(GuardedIo::new(stream, framing.clone()));
    let svc_shared = shared.clone();
    let svc_open_responses = open_responses.clone();
    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let shared = svc_shared.clone();
        let conn_info = conn_info.clone();
        let open = OpenExchange::begin(&svc_open_responses);
        let routes = slot.load_full();
        async move {
            let req = req.map(UpstreamBody::from_incoming);
            let mut exchange =
                Exchange::begin(&shared.observe, conn_info.peer, routes.as_ref(), &req);
            let resp = proxy::handle(&shared, routes, &conn_info, req, exchange.notes()).await;
            Ok::<_, Infallible>(exchange.finish(resp, Some(open)))
        }
    });
    let conn = shared.server.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    let watch = |timeout: Duration| {
        let every = timeout / 2;
        tokio::time::interval_at(tokio::time::Instant::now() + every, every)
    };
    let mut watchdog = watch(timeout);
    let mut last = framing.bytes_read();
    let mut quiet_looks = 0;
    loop {
        tokio::select! {
            biased;
            result = conn.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "ALB client connection ended with an error");
                }
                return;
            }
            _ = watchdog.tick() => {
                let now = idle_timeout(&watch_slot);
                if now != timeout {
                    // ModifyLoadBalancerAttributes changed it.
                    timeout = now;
                    framing.set_idle_timeout(timeout);
                    watchdog = watch(timeout);
                    quiet_looks = 0;
                    continue;
                }
                let bytes = framing.bytes_read();
                let quiet = bytes == last
                    && open_responses.load(Relaxed) == 0
                    && !framing.head_held();
                last = bytes;
                quiet_looks = if quiet { quiet_looks + 1 } else { 0 };
                if quiet_looks >= 2 {
                    tracing::debug!(%peer, "client connection idle for the idle timeout; closing it");
                    return; // dropping `conn` closes the socket
                }
            }
            _ = token.cancelled() => {
                conn.as_mut().graceful_shutdown();
                let _ = conn.await;
                return;
            }
        }
    }
}
