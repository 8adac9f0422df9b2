//! One request through the ALB: checks, rule evaluation, the action, and for
//! `forward` the trip to a target over a pooled keep-alive connection
//! ([`super::pool`], [`super::client`]).

use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;
use http::header::{CONNECTION, HOST, SET_COOKIE, TRANSFER_ENCODING};
use http::uri::PathAndQuery;
use http::{HeaderMap, HeaderValue, Method, Request, Response, StatusCode, Uri, Version};
use hyper_util::rt::TokioIo;
use tokio::sync::OwnedSemaphorePermit;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::balancer;
use super::body::{AlbBody, InflightGuard, Reuse, UpstreamBody};
pub use super::client::CONNECT_TIMEOUT;
use super::client::{self, ConnectError, TargetBody, TargetConn};
use super::desync::{self, Action};
use super::framing::ConnFraming;
use super::headers;
use super::observe::RequestNotes;
pub use super::pool::UPSTREAM_IDLE_TIMEOUT;
use super::response::{self, AlbError, RedirectInput};
use super::snapshot::{
    ForwardPlan, ListenerRoutes, RouteAction, Snapshot, Target, TargetGroupRoutes,
};
use super::sticky;
use crate::domain::elbv2::matching::{self, RequestFacts};

/// ALB's limit for all request headers together.
pub const MAX_REQUEST_HEAD_BYTES: usize = 64 * 1024;

/// What every connection of every listener shares.
pub struct Shared {
    /// The routing snapshot, swapped by the publisher.
    pub snapshot: ArcSwap<Snapshot>,
    /// Settings for client connections.
    pub server: hyper::server::conn::http1::Builder,
    /// Cancelled at shutdown; every connection and tunnel watches it.
    pub shutdown: CancellationToken,
    /// Owns every connection and tunnel task.
    pub tasks: TaskTracker,
    /// Metrics and access log (see `observability`).
    pub observe: crate::observability::Observability,
}

impl Shared {
    pub fn new(snapshot: Arc<Snapshot>) -> Self {
        let mut server = hyper::server::conn::http1::Builder::new();
        // Slow and missing heads are the guard's and the listener's
        // watchdog's job (see `framing`, `listener`): hyper's timer costs a
        // clock read, an allocation and a timer registration per request.
        server
            .header_read_timeout(None)
            .max_buf_size(MAX_REQUEST_HEAD_BYTES.max(8192) * 2)
            .keep_alive(true);
        Self {
            snapshot: ArcSwap::new(snapshot),
            server,
            shutdown: CancellationToken::new(),
            tasks: TaskTracker::new(),
            observe: Default::default(),
        }
    }
}

/// Facts about the client connection.
pub struct ConnInfo {
    pub peer: SocketAddr,
    /// The peer's IP as a header value, for `X-Forwarded-For`.
    client_ip: HeaderValue,
    framing: Option<Arc<ConnFraming>>,
}

impl ConnInfo {
    pub fn new(peer: SocketAddr, framing: Option<Arc<ConnFraming>>) -> Self {
        let ip = match peer.ip() {
            std::net::IpAddr::V6(v6) => v6
                .to_ipv4_mapped()
                .map(std::net::IpAddr::V4)
                .unwrap_or(std::net::IpAddr::V6(v6)),
            v4 => v4,
        };
        Self {
            peer,
            client_ip: HeaderValue::try_from(ip.to_string())
                .expect("an IP address is a valid header value"),
            framing,
        }
    }
}

/// Handles one client request on a listener (`routes` is `None` while the
/// listener's configuration is not yet published), and applies the
/// listener's response-header attributes to whatever answers it.
pub async fn handle(
    shared: &Shared,
    routes: Option<Arc<ListenerRoutes>>,
    conn: &ConnInfo,
    req: Request<UpstreamBody>,
    notes: &mut RequestNotes,
) -> Response<AlbBody> {
    let Some(routes) = routes else {
        return answer(shared, None, conn, req, notes).await;
    };
    let mut resp = answer(shared, Some(&routes), conn, req, notes).await;
    let generated = !resp.body().is_upstream();
    routes.response_headers.apply(resp.headers_mut(), generated);
    resp
}

/// The answer to one request: the head check's verdict under the desync
/// mode, then [`route`]. A request forwarded only to close both connections
/// after (ambiguous, in defensive mode) gets `Connection: close`, and its
/// target connection is not pooled.
async fn answer(
    shared: &Shared,
    routes: Option<&Arc<ListenerRoutes>>,
    conn: &ConnInfo,
    req: Request<UpstreamBody>,
    notes: &mut RequestNotes,
) -> Response<AlbBody> {
    let Some(framing) = &conn.framing else {
        return route(shared, routes, conn, req, 0, notes).await;
    };
    let (index, verdict) = framing.next_request();
    if verdict == desync::Verdict::FINE {
        return route(shared, routes, conn, req, index, notes).await;
    }
    notes.classification(verdict.class);
    let mode = routes.map(|r| r.desync_mode).unwrap_or_default();
    match verdict.decide(mode) {
        Err(e) => e.into_response(),
        Ok(Action::ForwardThenClose) => {
            let mut resp = route(shared, routes, conn, req, index, notes).await;
            resp.body_mut().forbid_reuse();
            resp.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
            resp
        }
        Ok(_) => route(shared, routes, conn, req, index, notes).await,
    }
}

/// The ALB's checks, rule evaluation, the action. `index`: the request's
/// place on its client connection (0 when unknown).
async fn route(
    shared: &Shared,
    routes: Option<&Arc<ListenerRoutes>>,
    conn: &ConnInfo,
    req: Request<UpstreamBody>,
    index: u64,
    notes: &mut RequestNotes,
) -> Response<AlbBody> {
    if req.method() == Method::TRACE {
        return AlbError::MethodNotAllowed.into_response();
    }
    if !transfer_encoding_supported(req.headers()) {
        return AlbError::UnsupportedTransferEncoding.into_response();
    }
    if headers::forwarded_for_count(req.headers()) > headers::MAX_FORWARDED_FOR_IPS {
        return AlbError::TooManyForwardedIps.into_response();
    }
    let Some(routes) = routes else {
        return AlbError::NoTargets.into_response();
    };
    let rule = {
        let facts = RequestFacts {
            method: req.method().as_str(),
            host: headers::request_host(&req),
            path: req.uri().path(),
            query: req.uri().query(),
            headers: req.headers(),
            source: conn.peer.ip(),
        };
        routes
            .rules
            .iter()
            .position(|r| matching::all_match(&r.conditions, &facts))
    };
    let Some(rule) = rule else {
        return AlbError::NoTargets.into_response();
    };
    notes.rule(&routes.rules[rule]);
    match &routes.rules[rule].action {
        RouteAction::Forward(plan) => forward(shared, routes, plan, conn, req, index, notes).await,
        RouteAction::Redirect(cfg) => {
            let host = headers::request_host(&req).unwrap_or("");
            let input = RedirectInput {
                https: routes.https,
                host: matching::strip_port(host),
                port: routes.port,
                path: req.uri().path(),
                query: req.uri().query(),
            };
            response::redirect(cfg, &input)
        }
        RouteAction::FixedResponse(cfg) => response::fixed(cfg),
        RouteAction::None => AlbError::NoTargets.into_response(),
    }
}

/// `chunked` and `identity` are the only transfer codings ALB accepts.
fn transfer_encoding_supported(headers: &HeaderMap) -> bool {
    headers
        .get_all(TRANSFER_ENCODING)
        .iter()
        .all(|v| match v.to_str() {
            Ok(v) => v.split(',').all(|t| {
                let t = t.trim();
                t.eq_ignore_ascii_case("chunked") || t.eq_ignore_ascii_case("identity")
            }),
            Err(_) => false,
        })
}

/// The `forward` action.
async fn forward(
    shared: &Shared,
    routes: &ListenerRoutes,
    plan: &ForwardPlan,
    conn: &ConnInfo,
    mut req: Request<UpstreamBody>,
    index: u64,
    notes: &mut RequestNotes,
) -> Response<AlbBody> {
    // Target group: sticky by AWSALBTG when enabled, else by weight.
    let sticky_group = plan.stickiness_seconds.and_then(|_| {
        sticky::request_cookie(req.headers(), sticky::GROUP_COOKIE)
            .and_then(|c| balancer::sticky_group(plan, c))
    });
    let Some(tg) = sticky_group.or_else(|| balancer::pick_group(plan)) else {
        return AlbError::NoTargets.into_response();
    };
    let mut cookies: Vec<HeaderValue> = Vec::new();
    if let Some(secs) = plan.stickiness_seconds {
        cookies.extend(sticky::set_cookies(
            sticky::GROUP_COOKIE,
            sticky::GROUP_CORS_COOKIE,
            &tg.cookie,
            u64::from(secs),
        ));
    }

    // Target: sticky by AWSALB when enabled, else by the algorithm.
    let now = Instant::now();
    let sticky_target = tg.stickiness_seconds.and_then(|_| {
        sticky::request_cookie(req.headers(), sticky::TARGET_COOKIE)
            .and_then(|c| balancer::sticky_target(tg, c))
    });
    let Some(mut target) = sticky_target
        .or_else(|| balancer::pick(tg, now, None))
        .cloned()
    else {
        return AlbError::NoTargets.into_response();
    };

    // Headers for the target.
    let upgrade = headers::upgrade_request(req.headers());
    let client_upgrade = upgrade.is_some().then(|| hyper::upgrade::on(&mut req));
    headers::strip_hop_by_hop(req.headers_mut(), upgrade);
    // Room for the four headers added below, made in one step: the map
    // from hyper is full, and growing it inside the inserts cost more
    // (callgrind: -0.85 % instructions per request).
    req.headers_mut().reserve(4);
    headers::set_forwarded(
        req.headers_mut(),
        &conn.client_ip,
        if routes.https { "https" } else { "http" },
        &routes.forwarded_port,
    );
    headers::set_trace_id(req.headers_mut(), epoch_secs());
    // Origin form for the target: hyper writes the URI as given.
    if req.uri().scheme().is_some() || req.uri().authority().is_some() {
        let path_and_query = req
            .uri()
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| PathAndQuery::from_static("/"));
        *req.uri_mut() = Uri::from(path_and_query);
    }
    *req.version_mut() = Version::HTTP_11;
    let add_host = !req.headers().contains_key(HOST);

    // From `now`: one clock read fewer than `timeout`.
    let mut deadline = tokio::time::Instant::from_std(now) + routes.idle_timeout;
    let framing = conn.framing.as_deref();
    let mut client_bytes = framing.map(ConnFraming::bytes_read);
    let outcome = {
        let sent = send(
            tg,
            now,
            &mut target,
            req,
            add_host,
            client_upgrade.is_some(),
            notes,
        );
        tokio::pin!(sent);
        loop {
            if let Ok(sent) = tokio::time::timeout_at(deadline, &mut sent).await {
                break Ok(sent);
            }
            // A body still arriving: the target waits for it, and idle means
            // no byte from the client for the idle timeout (then 408).
            match framing.filter(|f| f.body_open(index)) {
                Some(f) if client_bytes != Some(f.bytes_read()) => {
                    client_bytes = Some(f.bytes_read());
                    deadline += routes.idle_timeout;
                }
                Some(_) => break Err(AlbError::RequestTimeout),
                None => break Err(AlbError::GatewayTimeout),
            }
        }
    };
    let (resp, permit, inflight) = match outcome {
        Ok(Ok(sent)) => sent,
        Ok(Err(e)) => return e.into_response(),
        Err(e) => {
            tracing::debug!(target = %target.addr, status = %e.status(),
                "no answer within the idle timeout");
            return e.into_response();
        }
    };

    if let Some(secs) = tg.stickiness_seconds {
        // Refresh (or rewrite, when it named a gone target) the AWSALB cookie.
        cookies.extend(sticky::set_cookies(
            sticky::TARGET_COOKIE,
            sticky::TARGET_CORS_COOKIE,
            &target.cookie,
            secs,
        ));
    }

    let (mut parts, body) = resp.into_parts();
    let switching = parts.status == StatusCode::SWITCHING_PROTOCOLS;
    let response_upgrade = if switching {
        parts.headers.get(http::header::UPGRADE).cloned()
    } else {
        None
    };
    headers::strip_hop_by_hop(&mut parts.headers, response_upgrade);
    for cookie in cookies {
        parts.headers.append(SET_COOKIE, cookie);
    }
    if switching {
        // `client::send` accepts 101 only for upgrade requests. The target
        // connection now belongs to the tunnel.
        if let (Some(client), Some(upstream)) = (client_upgrade, body.into_upgraded()) {
            tunnel(shared, client, upstream, inflight);
        }
        return Response::from_parts(parts, AlbBody::switched());
    }
    let reuse = Reuse {
        pool: target.pool.clone(),
        _permit: permit,
    };
    Response::from_parts(parts, AlbBody::upstream(body, reuse, inflight))
}

/// Sends the request to `target` on a pooled connection, or a new one. A
/// refused connection, or a connect still pending when the target leaves
/// routing, is retried once on another target of the group (`target` is
/// updated). A target that leaves routing before it answers ends the
/// request with 502. A pooled connection the target turns out to have
/// closed (it failed without a byte of answer) is replaced by a new one when
/// the request can be replayed: no body, and an idempotent method (RFC 9110
/// section 9.2.2). Nothing else is retried once the request may have reached
/// a target.
async fn send(
    tg: &Arc<TargetGroupRoutes>,
    now: Instant,
    target: &mut Arc<Target>,
    req: Request<UpstreamBody>,
    add_host: bool,
    upgrade: bool,
    notes: &mut RequestNotes,
) -> Result<(Response<TargetBody>, OwnedSemaphorePermit, InflightGuard), AlbError> {
    let (mut head, body) = req.into_parts();
    let replayable = body.is_empty() && head.method.is_idempotent();
    let mut body = Some(body);
    let mut moved = false;
    let mut fresh = false;
    let mut permit = target.pool.acquire().await;
    loop {
        let pooled = if fresh { None } else { target.pool.take_idle() };
        let reused = pooled.is_some();
        let conn = match pooled {
            Some(conn) => conn,
            None => match connect(target).await {
                Ok(conn) => conn,
                Err(e) => {
                    if !matches!(e, ConnectError::Timeout) && !moved {
                        // Nothing was sent: try once more on another target.
                        if let Some(other) = balancer::pick(tg, now, Some(target.addr)) {
                            tracing::debug!(target = %target.addr, retry = %other.addr, error = %e,
                                "target refused the connection; retrying on another target");
                            *target = other.clone();
                            moved = true;
                            fresh = false;
                            permit = target.pool.acquire().await;
                            continue;
                        }
                    }
                    tracing::debug!(target = %target.addr, error = %e, "no connection to the target");
                    return Err(match e {
                        ConnectError::Timeout => AlbError::GatewayTimeout,
                        ConnectError::Io(_) | ConnectError::Retired => AlbError::BadGateway,
                    });
                }
            },
        };
        if add_host {
            head.headers.insert(HOST, target.host.clone());
        }
        let inflight = InflightGuard::new(&target.stats);
        target.stats.requests.fetch_add(1, Relaxed);
        notes.target(tg, target);
        // A replay (only of bodiless requests) sends no body.
        let attempt_body = body.take().unwrap_or(UpstreamBody::Empty);
        let answer = tokio::select! {
            answer = client::send(conn, &head, attempt_body, upgrade) => answer,
            () = target.pool.retired() => {
                tracing::debug!(target = %target.addr,
                    "the target left routing (deregistration delay over) before answering");
                return Err(AlbError::BadGateway);
            }
        };
        match answer {
            Ok(resp) => return Ok((resp, permit, inflight)),
            Err(failed) if failed.unanswered && reused && replayable => {
                tracing::debug!(target = %target.addr, error = %failed.error,
                    "pooled target connection was closed; sending on a new one");
                target.stats.requests.fetch_sub(1, Relaxed);
                fresh = true;
            }
            Err(failed) => {
                tracing::debug!(target = %target.addr, error = %failed.error, "forward failed");
                return Err(AlbError::BadGateway);
            }
        }
    }
}

/// A new connection to `target`, given up when the target leaves routing
/// first (a task that died is deregistered while the connect still waits
/// for an address that no longer answers).
async fn connect(target: &Target) -> Result<TargetConn, ConnectError> {
    tokio::select! {
        conn = TargetConn::connect(target.pool.addr()) => conn,
        () = target.pool.retired() => Err(ConnectError::Retired),
    }
}

/// Copies bytes both ways between an upgraded client connection and its
/// target connection (WebSocket), until either side closes or the data plane
/// shuts down. `early` is what the target sent right after its 101.
fn tunnel(
    shared: &Shared,
    client: hyper::upgrade::OnUpgrade,
    (mut upstream, early): (tokio::net::TcpStream, bytes::Bytes),
    inflight: InflightGuard,
) {
    use tokio::io::AsyncWriteExt;
    let stop = shared.shutdown.clone();
    shared.tasks.spawn(async move {
        let _inflight = inflight;
        let client = match client.await {
            Ok(c) => c,
            Err(e) => {
                tracing::debug!(error = %e, "client upgrade failed");
                return;
            }
        };
        let mut client = TokioIo::new(client);
        let relay = async {
            if !early.is_empty() {
                client.write_all(&early).await?;
            }
            tokio::io::copy_bidirectional(&mut client, &mut upstream).await
        };
        tokio::select! {
            _ = relay => {}
            _ = stop.cancelled() => {}
        }
    });
}

fn epoch_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transfer_codings() {
        let mut h = HeaderMap::new();
        assert!(transfer_encoding_supported(&h));
        h.insert(TRANSFER_ENCODING, "chunked".parse().unwrap());
        assert!(transfer_encoding_supported(&h));
        h.insert(TRANSFER_ENCODING, "gzip, chunked".parse().unwrap());
        assert!(!transfer_encoding_supported(&h));
    }
}
