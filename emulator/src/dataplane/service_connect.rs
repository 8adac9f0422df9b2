//! Service Connect endpoints: the proxy a client task reaches at an alias.
//!
//! The socket is bound by the task runner inside the task's network
//! namespace; it is served here. An HTTP endpoint goes through the ALB's
//! own listener code (one request at a time, each balanced). A TCP endpoint
//! picks a serving task per connection and copies bytes both ways; with no
//! serving task, the connection is closed at once.

use std::sync::Arc;
use std::time::Instant;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use super::balancer;
use super::client::CONNECT_TIMEOUT;
use super::proxy::Shared;
use super::snapshot::ServiceConnectRoutes;

/// Serves a TCP endpoint until `token` is cancelled.
pub(super) async fn serve_tcp(
    shared: Arc<Shared>,
    listener: TcpListener,
    key: String,
    token: CancellationToken,
) {
    loop {
        let accepted = tokio::select! {
            _ = token.cancelled() => return,
            accepted = listener.accept() => accepted,
        };
        let Ok((client, _)) = accepted else {
            tokio::select! {
                _ = token.cancelled() => return,
                _ = tokio::time::sleep(std::time::Duration::from_millis(50)) => continue,
            }
        };
        let endpoint = shared.snapshot.load().service_connect.get(&key).cloned();
        let token = token.clone();
        shared.tasks.spawn(async move {
            if let Some(endpoint) = endpoint {
                tokio::select! {
                    _ = token.cancelled() => {}
                    _ = relay(client, &endpoint) => {}
                }
            }
        });
    }
}

/// Connects the client to the next serving task and copies until either
/// side closes.
async fn relay(mut client: TcpStream, endpoint: &ServiceConnectRoutes) {
    let Some(target) = balancer::pick(&endpoint.group, Instant::now(), None) else {
        return;
    };
    let connected = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(target.addr)).await;
    let Ok(Ok(mut upstream)) = connected else {
        tracing::debug!(target = %target.addr, "Service Connect: no connection to the task");
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    target
        .stats
        .requests
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
}
