//! The ALB data plane: a hyper reverse proxy per listener.
//!
//! # How it fits together
//! - The control plane (the ELBv2 API) opens and closes listener sockets with
//!   [`Dataplane::open_listener`] and [`Dataplane::close_listener`], so bind
//!   errors surface in `CreateListener`.
//! - Routing is never pushed: a background task subscribes to the store's
//!   version counter and, on every change, rebuilds an immutable
//!   [`snapshot::Snapshot`] and publishes it with `ArcSwap` (globally, and into
//!   each open listener's slot). The request path only loads snapshots: no
//!   locks.
//! - Per-target counters (in-flight requests, request counts, round-robin
//!   cursors) live in `Arc`s that survive snapshot rebuilds.
//! - Each target address has a pool of keep-alive HTTP/1 connections
//!   ([`pool`]: `TCP_NODELAY`, connect timeout, idle timeout), handed out per
//!   request and given back when the response body ends.
//!
//! Modules: [`snapshot`] (routing tables), [`balancer`] (target selection),
//! [`proxy`] (one request), [`headers`], [`response`] (ALB-generated
//! responses), [`framing`] (the guard on client bytes: whole heads only,
//! limits, stand-ins), [`desync`] (head checks and desync mitigation),
//! [`body`], [`listener`], [`observe`] (what each request did, recorded
//! into `observability`).

pub mod balancer;
pub mod body;
pub mod client;
pub mod desync;
pub mod framing;
#[doc(hidden)]
pub mod fuzzing;
pub mod headers;
pub mod listener;
pub mod observe;
pub mod pool;
pub mod proxy;
pub mod response;
pub mod service_connect;
pub mod snapshot;
pub mod sticky;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::{ArcSwap, ArcSwapOption};
use tokio_util::sync::CancellationToken;

use crate::domain::Store;
use snapshot::{ListenerRoutes, Snapshot, StatsRegistry};

/// How long [`Dataplane::shutdown`] lets in-flight requests and upgraded
/// connections finish before it gives up waiting.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// Handle on the running listeners. Cheap to clone.
#[derive(Clone)]
pub struct Dataplane {
    inner: Arc<Inner>,
}

struct Inner {
    shared: Arc<proxy::Shared>,
    store: Store,
    /// Open listeners by ARN. Only the control plane takes this lock (open,
    /// close, publishing a snapshot); connections hold their own slot.
    listeners: Mutex<HashMap<String, listener::ListenerHandle>>,
    /// Service Connect endpoints being served, by route key; a handle
    /// whose token is cancelled is dropped at the next publish.
    service_connect: Mutex<Vec<(String, RoutesSlot, CancellationToken)>>,
    /// Counters that survive rebuilds; only the snapshot builder locks it.
    registry: Mutex<StatsRegistry>,
    /// The store version the current snapshot was built from.
    published: AtomicU64,
}

impl Dataplane {
    /// Creates the data plane and starts the task that republishes routing
    /// snapshots whenever the store changes. Must run inside a tokio runtime.
    pub fn start(store: Store) -> Self {
        let shared = Arc::new(proxy::Shared::new(Arc::new(Snapshot::default())));
        let dataplane = Self {
            inner: Arc::new(Inner {
                shared,
                store,
                listeners: Mutex::new(HashMap::new()),
                service_connect: Mutex::new(Vec::new()),
                registry: Mutex::new(StatsRegistry::default()),
                published: AtomicU64::new(0),
            }),
        };
        dataplane.publish();
        let shared = &dataplane.inner.shared;
        let config = dataplane.inner.store.config();
        shared
            .observe
            .start(config, &shared.tasks, &shared.shutdown);
        let this = dataplane.clone();
        let mut changes = dataplane.inner.store.subscribe();
        let stop = dataplane.inner.shared.shutdown.clone();
        dataplane.inner.shared.tasks.spawn(async move {
            let mut sweep = tokio::time::interval(pool::SWEEP_INTERVAL);
            sweep.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = stop.cancelled() => break,
                    changed = changes.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        this.publish();
                    }
                    _ = sweep.tick() => this.sweep_pools(false),
                }
            }
            this.sweep_pools(true);
        });
        dataplane
    }

    /// Binds `bind` for the listener and starts serving it. Binding is
    /// synchronous, so `CreateListener` can report a port in use. Opening a
    /// listener that is already open on the same address does nothing; on
    /// another address it moves the socket.
    pub fn open_listener(&self, listener_arn: &str, bind: SocketAddr) -> std::io::Result<()> {
        let mut listeners = self.lock_listeners();
        if let Some(existing) = listeners.get(listener_arn) {
            if existing.bind == bind {
                return Ok(());
            }
        }
        let socket = listener::bind(bind)?;
        let actual = socket.local_addr()?;
        let slot = Arc::new(ArcSwapOption::new(
            self.inner
                .shared
                .snapshot
                .load()
                .listeners
                .get(listener_arn)
                .cloned(),
        ));
        let token = self.inner.shared.shutdown.child_token();
        let accepting = listener::serve(
            self.inner.shared.clone(),
            socket,
            slot.clone(),
            token.clone(),
            self.inner.shared.tasks.clone(),
        )?;
        let handle = listener::ListenerHandle {
            bind,
            local_addr: actual,
            slot,
            token,
            accepting,
        };
        if let Some(old) = listeners.insert(listener_arn.to_string(), handle) {
            old.token.cancel();
        }
        tracing::info!(listener = listener_arn, addr = %actual, "ALB listener open");
        Ok(())
    }

    /// Serves the Service Connect endpoint `key` on a socket bound
    /// elsewhere (inside a task's network namespace) until `token` is
    /// cancelled: per request when `http`, else per connection.
    pub fn serve_service_connect(
        &self,
        key: &str,
        socket: std::net::TcpListener,
        http: bool,
        token: CancellationToken,
    ) -> std::io::Result<()> {
        let shared = &self.inner.shared;
        // Ends with the caller's token or with the data plane.
        let caller = token;
        let token = shared.shutdown.child_token();
        let combined = token.clone();
        shared.tasks.spawn(async move {
            tokio::select! {
                _ = caller.cancelled() => combined.cancel(),
                _ = combined.cancelled() => {}
            }
        });
        if !http {
            let listener = tokio::net::TcpListener::from_std(socket)?;
            shared.tasks.spawn(service_connect::serve_tcp(
                shared.clone(),
                listener,
                key.to_string(),
                token,
            ));
            return Ok(());
        }
        let routes = shared
            .snapshot
            .load()
            .service_connect
            .get(key)
            .map(|e| e.routes.clone());
        let slot: RoutesSlot = Arc::new(ArcSwapOption::new(routes));
        listener::serve(
            shared.clone(),
            socket,
            slot.clone(),
            token.clone(),
            shared.tasks.clone(),
        )?;
        self.inner
            .service_connect
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((key.to_string(), slot, token));
        Ok(())
    }

    /// Stops accepting on the listener and closes its socket. In-flight
    /// requests finish; idle keep-alive connections are closed.
    pub fn close_listener(&self, listener_arn: &str) {
        if let Some(handle) = self.lock_listeners().remove(listener_arn) {
            handle.token.cancel();
            tracing::info!(listener = listener_arn, "ALB listener closed");
        }
    }

    /// Closes every listener and returns once their sockets are closed, so
    /// their ports can be bound again at once (for a reset). In-flight
    /// requests finish; idle keep-alive connections are closed.
    pub async fn close_all_listeners(&self) {
        let closing: Vec<_> = self.lock_listeners().drain().collect();
        for (arn, handle) in closing {
            handle.token.cancel();
            let _ = handle.accepting.await;
            tracing::info!(listener = arn, "ALB listener closed");
        }
    }

    /// The address a listener really bound (useful with port 0).
    pub fn listener_addr(&self, listener_arn: &str) -> Option<SocketAddr> {
        self.lock_listeners()
            .get(listener_arn)
            .map(|h| h.local_addr)
    }

    /// Closes every listener and waits (bounded) for in-flight requests.
    pub async fn shutdown(&self) {
        self.inner.shared.shutdown.cancel();
        self.lock_listeners().clear();
        self.inner.shared.tasks.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, self.inner.shared.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("data plane: some connections were still open at shutdown");
        }
    }

    /// The routing snapshot in use right now.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.inner.shared.snapshot.load_full()
    }

    /// Metrics and access log of every listener.
    pub fn observability(&self) -> &crate::observability::Observability {
        &self.inner.shared.observe
    }

    /// Requests the proxy sent to `ip:port` in target group `tg_arn` so far.
    pub fn target_request_count(&self, tg_arn: &str, addr: SocketAddr) -> u64 {
        self.snapshot()
            .target_groups
            .get(tg_arn)
            .and_then(|tg| tg.targets.iter().find(|t| t.addr == addr))
            .map(|t| t.stats.requests.load(Ordering::Relaxed))
            .unwrap_or(0)
    }

    /// Serves a control-port request whose Host header names a load balancer
    /// (`NAME-ID.elb.localhost[:port]`) through that load balancer: the
    /// listener whose port matches, else its lowest-port listener. Gives the
    /// request back untouched when the Host names no load balancer.
    pub async fn serve_host_routed(
        &self,
        req: http::Request<axum::body::Body>,
    ) -> Result<http::Response<axum::body::Body>, http::Request<axum::body::Body>> {
        let snapshot = self.inner.shared.snapshot.load();
        let Some(routes) = snapshot.route_host(headers::request_host(&req)) else {
            return Err(req);
        };
        let peer = req
            .extensions()
            .get::<axum::extract::ConnectInfo<SocketAddr>>()
            .map(|c| c.0)
            .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)));
        let conn = proxy::ConnInfo::new(peer, None);
        let req = req.map(body::UpstreamBody::Axum);
        let shared = &self.inner.shared;
        let mut exchange = observe::Exchange::begin(&shared.observe, peer, Some(&routes), &req);
        let resp = proxy::handle(shared, Some(routes), &conn, req, exchange.notes()).await;
        Ok(exchange.finish(resp, None).map(axum::body::Body::new))
    }

    /// Rebuilds the routing snapshot from the store and publishes it.
    fn publish(&self) {
        // Read the version first: the state read below is at least that new.
        let version = *self.inner.store.subscribe().borrow();
        let config = self.inner.store.config().clone();
        let snapshot = {
            let mut registry = self
                .inner
                .registry
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            self.inner.store.read(|state| {
                Snapshot::build(
                    &state.elbv2,
                    &crate::domain::ecs::service_connect::endpoints(state),
                    &config,
                    &mut registry,
                    std::time::Instant::now(),
                )
            })
        };
        let snapshot = Arc::new(snapshot);
        self.inner.shared.snapshot.store(snapshot.clone());
        for (arn, handle) in self.lock_listeners().iter() {
            handle.slot.store(snapshot.listeners.get(arn).cloned());
        }
        {
            let mut served = self
                .inner
                .service_connect
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            served.retain(|(_, _, token)| !token.is_cancelled());
            for (key, slot, _) in served.iter() {
                slot.store(snapshot.service_connect.get(key).map(|e| e.routes.clone()));
            }
        }
        self.inner.published.store(version, Ordering::Release);
    }

    /// Closes idle target connections (past their idle timeout, or all).
    fn sweep_pools(&self, all: bool) {
        self.inner
            .registry
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .sweep_pools(all);
    }

    /// The store version the routing in use was built from.
    pub fn published_version(&self) -> u64 {
        self.inner.published.load(Ordering::Acquire)
    }

    fn lock_listeners(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, listener::ListenerHandle>> {
        self.inner
            .listeners
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// axum middleware for the control port: a request whose Host header names a
/// load balancer goes to that load balancer; anything else to `next`.
pub async fn route_by_host(
    axum::extract::State(dataplane): axum::extract::State<Dataplane>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    match dataplane.serve_host_routed(req).await {
        Ok(resp) => resp,
        Err(req) => next.run(req).await,
    }
}

/// Shared so `Snapshot` users outside the module can name it.
pub type RoutesSlot = Arc<ArcSwapOption<ListenerRoutes>>;
/// The global snapshot cell.
pub type SnapshotCell = ArcSwap<Snapshot>;
