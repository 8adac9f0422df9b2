//! Listener sockets: binding, the accept loop, and one hyper HTTP/1
//! connection per client.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use socket2::{Domain, Protocol, Socket, Type};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::body::UpstreamBody;
use super::framing::{ConnFraming, GuardedIo};
use super::proxy::{self, ConnInfo, Shared};
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

/// Starts the accept loop of a bound socket.
pub fn serve(
    shared: Arc<Shared>,
    socket: std::net::TcpListener,
    slot: RoutesSlot,
    token: CancellationToken,
    tasks: TaskTracker,
) -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::from_std(socket)?;
    let tracker = tasks.clone();
    tasks.spawn(async move {
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
    });
    Ok(())
}

/// Serves one client connection until it closes or the listener shuts down.
async fn connection(
    shared: Arc<Shared>,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    slot: RoutesSlot,
    token: CancellationToken,
) {
    let _active = shared.observe.connection(slot.load().as_deref());
    let framing = Arc::new(ConnFraming::default());
    let conn_info = Arc::new(ConnInfo::new(peer, Some(framing.clone())));
    let io = TokioIo::new(GuardedIo::new(stream, framing));
    let svc_shared = shared.clone();
    let service = service_fn(move |req: http::Request<hyper::body::Incoming>| {
        let shared = svc_shared.clone();
        let conn_info = conn_info.clone();
        let routes = slot.load_full();
        async move {
            let req = req.map(UpstreamBody::from_incoming);
            let mut exchange = shared.observe.begin(conn_info.peer, routes.as_ref(), &req);
            let resp = proxy::handle(&shared, routes, &conn_info, req, exchange.notes()).await;
            Ok::<_, Infallible>(exchange.finish(resp))
        }
    });
    let conn = shared.server.serve_connection(io, service).with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, %peer, "ALB client connection ended with an error");
            }
        }
        _ = token.cancelled() => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}
