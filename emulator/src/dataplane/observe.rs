//! The data plane's instrumentation: what one request did, recorded into
//! `observability` (metrics and access log).
//!
//! # How the data plane reports a request
//! The caller of `proxy::handle` wraps it in one [`Exchange`]:
//! ```text
//! let mut exchange = Exchange::begin(&shared.observe, peer, routes.as_ref(), &req);
//! let resp = proxy::handle(..., exchange.notes()).await;
//! exchange.finish(resp, open)   // Response<ObservedBody>
//! ```
//! While `handle` runs, it writes what only the proxy knows into the
//! exchange's [`RequestNotes`]: the matched rule and the target a request is
//! sent to, and when. [`Exchange::finish`] then records
//! the metrics (atomic adds, no locks, no allocation) and wraps the body in an
//! [`ObservedBody`], which counts the bytes sent and, when the body ends,
//! queues the access-log entry.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};

use super::body::{AlbBody, BoxError};
use super::desync::Classification;
use super::snapshot::{ListenerRoutes, RouteAction, RouteRule, Target, TargetGroupRoutes};
use super::Dataplane;
use crate::observability::access_log::{AccessLogEntry, AccessLogSink};
use crate::observability::metrics::{self, ConnectionGuard, LbMetrics};
use crate::observability::rates::{TargetSample, SAMPLE_EVERY};
use crate::observability::Observability;

/// `target`'s counters now, as the dashboard's rates compare them.
pub fn sample(target: &Target) -> TargetSample {
    TargetSample {
        requests: target.stats.requests.load(Relaxed),
        response_time: target.stats.metrics.response_time.read(),
    }
}

/// Samples the data plane's targets every [`SAMPLE_EVERY`] into the rates
/// ring until `stop`.
pub async fn sample_rates(dataplane: Dataplane, stop: tokio_util::sync::CancellationToken) {
    let mut tick = tokio::time::interval(SAMPLE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tick.tick() => {
                let snapshot = dataplane.snapshot();
                let targets = snapshot
                    .target_groups
                    .values()
                    .flat_map(|tg| {
                        tg.targets
                            .iter()
                            .map(|t| ((tg.arn.clone(), t.addr), sample(t)))
                    })
                    .collect();
                dataplane.observability().rates().sample(targets, Instant::now());
            }
        }
    }
}

/// Counts a client connection of a listener as active until dropped.
pub fn connection(observe: &Observability, routes: Option<&ListenerRoutes>) -> ConnectionGuard {
    ConnectionGuard::new(routes.and_then(|r| load_balancer(observe, r)))
}

/// The counters of the load balancer `routes` belongs to.
fn load_balancer(observe: &Observability, routes: &ListenerRoutes) -> Option<Arc<LbMetrics>> {
    routes
        .lb_metrics
        .get_or_init(|| observe.metrics().load_balancer(&routes.arn))
        .clone()
}

/// What the access log needs from the request itself; taken only when the
/// access log is on.
struct RequestFacts {
    created: SystemTime,
    client: SocketAddr,
    elb: String,
    request: String,
    user_agent: Option<String>,
    trace_id: Option<String>,
    /// Request line and headers, approximately as they came over the wire.
    head_bytes: u64,
}

impl RequestFacts {
    fn new<B>(client: SocketAddr, listener: Option<(&str, u16)>, req: &Request<B>) -> Self {
        let header = |name: &str| {
            req.headers()
                .get(name)
                .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        };
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| req.uri().host())
            .unwrap_or("-");
        let host = crate::domain::elbv2::matching::strip_port(host);
        let port = listener.map_or(80, |(_, port)| port);
        let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
        let request = format!(
            "{} http://{host}:{port}{path} {:?}",
            req.method(),
            req.version()
        );
        let head_bytes = request.len() as u64
            + req
                .headers()
                .iter()
                .map(|(k, v)| (k.as_str().len() + v.len() + 4) as u64)
                .sum::<u64>()
            + 2;
        Self {
            created: SystemTime::now(),
            client,
            elb: listener
                .and_then(|(arn, _)| metrics::lb_key(arn))
                .unwrap_or("-")
                .to_string(),
            request,
            user_agent: header("user-agent"),
            trace_id: header("x-amzn-trace-id"),
            head_bytes,
        }
    }
}

/// One request being observed; see the module docs.
pub struct Exchange<'a> {
    observe: &'a Observability,
    started: Instant,
    lb: Option<Arc<LbMetrics>>,
    received_body: u64,
    log: Option<Box<RequestFacts>>,
    notes: RequestNotes,
}

impl<'a> Exchange<'a> {
    /// Starts observing one request that arrived on `routes`' listener.
    pub fn begin<B>(
        observe: &'a Observability,
        peer: SocketAddr,
        routes: Option<&Arc<ListenerRoutes>>,
        req: &Request<B>,
    ) -> Self {
        let started = Instant::now();
        let lb = routes.and_then(|r| load_balancer(observe, r));
        let received_body = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or(0);
        let log = observe.access_log().map(|_| {
            Box::new(RequestFacts::new(
                peer,
                routes.map(|r| (r.arn.as_str(), r.port)),
                req,
            ))
        });
        Exchange {
            observe,
            started,
            lb,
            received_body,
            log,
            notes: RequestNotes::default(),
        }
    }

    /// Where the proxy notes what it did with the request.
    pub fn notes(&mut self) -> &mut RequestNotes {
        &mut self.notes
    }

    /// Records what the proxy did and returns its response with the body
    /// observed. The body holds `open` (a listener's count of open
    /// responses) until it ends or is dropped.
    pub fn finish(
        self,
        resp: Response<AlbBody>,
        open: Option<OpenExchange>,
    ) -> Response<ObservedBody> {
        let notes = self.notes;
        let answered = Instant::now();
        let status = resp.status().as_u16();
        // A response the ALB made itself (an error page, a redirect, a fixed
        // response) has no upstream body.
        let from_target = resp.body().is_upstream();
        let metrics = self.observe.metrics();

        if let Some(t) = &notes.target {
            metrics.record_target(
                &t.target.stats.metrics,
                &t.group.arn,
                from_target.then_some(status),
                answered - t.sent_at,
            );
        }
        if let Some(lb) = &self.lb {
            if !from_target {
                match notes.rule.and_then(|r| r.action) {
                    Some(ActionKind::FixedResponse) => lb.record_fixed_response(),
                    Some(ActionKind::Redirect) => lb.record_redirect(),
                    _ => lb.record_elb(status),
                }
            }
        }

        let log = match (self.log, self.observe.access_log()) {
            (Some(facts), Some(sink)) => {
                let target_time = notes
                    .target
                    .as_ref()
                    .filter(|_| from_target)
                    .map(|t| answered - t.sent_at);
                let head_bytes = response_head_bytes(&resp);
                let entry = AccessLogEntry {
                    kind: if status == 101 { "ws" } else { "http" },
                    time: SystemTime::now(),
                    elb: facts.elb,
                    client: facts.client,
                    target: notes.target.as_ref().map(|t| t.target.addr),
                    request_processing_time: notes
                        .target
                        .as_ref()
                        .map(|t| t.sent_at.saturating_duration_since(self.started)),
                    target_processing_time: target_time,
                    response_processing_time: target_time.map(|_| Duration::ZERO),
                    elb_status_code: status,
                    target_status_code: from_target.then_some(status),
                    received_bytes: facts.head_bytes + self.received_body,
                    sent_bytes: head_bytes,
                    request: facts.request,
                    user_agent: facts.user_agent,
                    target_group_arn: notes.target.as_ref().map(|t| t.group.arn.clone()),
                    trace_id: facts.trace_id,
                    matched_rule_priority: notes.rule.map(|r| r.priority),
                    request_creation_time: facts.created,
                    actions_executed: notes.rule.and_then(|r| r.action).map(ActionKind::name),
                    redirect_url: resp
                        .headers()
                        .get(http::header::LOCATION)
                        .filter(|_| !from_target)
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()),
                    error_reason: None,
                    classification: notes
                        .classification
                        .and_then(|c| Some((c.tier.log_name()?, c.reason))),
                };
                Some(Box::new((sink.clone(), entry)))
            }
            _ => None,
        };
        let received_body = self.received_body;
        let lb = self.lb;
        resp.map(|inner| ObservedBody {
            inner,
            sent: 0,
            received_body,
            lb,
            log,
            finished: false,
            _open: open,
        })
    }
}

/// Status line and headers of a response, approximately as sent.
fn response_head_bytes<B>(resp: &Response<B>) -> u64 {
    // "HTTP/1.1 200 OK\r\n" and the blank line.
    let status_line = 17 + resp.status().canonical_reason().map_or(0, str::len) as u64;
    status_line
        + resp
            .headers()
            .iter()
            .map(|(k, v)| (k.as_str().len() + v.len() + 4) as u64)
            .sum::<u64>()
        + 2
}

/// One request's exchange, counted in its connection's open responses from
/// its head until its response body ends or is dropped (a listener's idle
/// watchdog reads the count).
pub struct OpenExchange(Arc<AtomicU64>);

impl OpenExchange {
    pub fn begin(open_responses: &Arc<AtomicU64>) -> Self {
        open_responses.fetch_add(1, Relaxed);
        Self(open_responses.clone())
    }
}

impl Drop for OpenExchange {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

/// A response body on its way to the client: counts the bytes, and when it
/// ends (or the client goes away) adds them to `ProcessedBytes` and queues
/// the access-log entry.
pub struct ObservedBody {
    inner: AlbBody,
    sent: u64,
    received_body: u64,
    lb: Option<Arc<LbMetrics>>,
    log: Option<Box<(AccessLogSink, AccessLogEntry)>>,
    finished: bool,
    /// Dropped after `finish` has run.
    _open: Option<OpenExchange>,
}

impl ObservedBody {
    fn finish(&mut self) {
        if std::mem::replace(&mut self.finished, true) {
            return;
        }
        if let Some(lb) = &self.lb {
            lb.add_processed_bytes(self.received_body + self.sent);
        }
        if let Some(log) = self.log.take() {
            let (sink, mut entry) = *log;
            entry.sent_bytes += self.sent;
            entry.time = SystemTime::now();
            sink.send(entry);
        }
    }
}

impl Body for ObservedBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.sent += data.len() as u64;
                }
                if this.inner.is_end_stream() {
                    this.finish();
                }
            }
            Poll::Ready(_) => this.finish(),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for ObservedBody {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The kind of a rule's terminal action, as `actions_executed` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ActionKind {
    Forward,
    Redirect,
    FixedResponse,
}

impl ActionKind {
    fn name(self) -> &'static str {
        match self {
            ActionKind::Forward => "forward",
            ActionKind::Redirect => "redirect",
            ActionKind::FixedResponse => "fixed-response",
        }
    }
}

#[derive(Clone, Copy)]
struct RuleNote {
    /// 0 for the default rule.
    priority: u32,
    action: Option<ActionKind>,
}

struct TargetNote {
    group: Arc<TargetGroupRoutes>,
    target: Arc<Target>,
    /// When the request left for the target.
    sent_at: Instant,
}

/// What the proxy noted while handling one request (see the module docs).
#[derive(Default)]
pub struct RequestNotes {
    rule: Option<RuleNote>,
    target: Option<TargetNote>,
    classification: Option<Classification>,
}

impl RequestNotes {
    /// The proxy matched `rule`.
    pub fn rule(&mut self, rule: &RouteRule) {
        let action = match rule.action {
            RouteAction::Forward(_) => Some(ActionKind::Forward),
            RouteAction::Redirect(_) => Some(ActionKind::Redirect),
            RouteAction::FixedResponse(_) => Some(ActionKind::FixedResponse),
            RouteAction::None => None,
        };
        self.rule = Some(RuleNote {
            priority: rule.priority,
            action,
        });
    }

    /// The head check classified the request (when not compliant).
    pub fn classification(&mut self, class: Classification) {
        self.classification = Some(class);
    }

    /// The proxy is sending the request to `target` of `group` now (again on
    /// a retry).
    pub fn target(&mut self, group: &Arc<TargetGroupRoutes>, target: &Arc<Target>) {
        self.target = Some(TargetNote {
            group: group.clone(),
            target: target.clone(),
            sent_at: Instant::now(),
        });
    }
}
