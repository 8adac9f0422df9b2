//! What the ALB did, made visible: CloudWatch-style metrics (Prometheus text
//! at `GET /metrics`) and access logs in AWS's format.
//!
//! # How the data plane reports a request
//! The caller of `proxy::handle` wraps it in one [`Exchange`]:
//! ```text
//! let mut exchange = shared.observe.begin(peer, routes.as_ref(), &req);
//! let resp = proxy::handle(..., exchange.notes()).await;
//! exchange.finish(resp)   // Response<ObservedBody>
//! ```
//! While `handle` runs, it writes what only the proxy knows into the
//! exchange's [`RequestNotes`]: the matched rule and the target a request is
//! sent to, and when. [`Exchange::finish`] then records
//! the metrics (atomic adds, no locks, no allocation) and wraps the body in an
//! [`ObservedBody`], which counts the bytes sent and, when the body ends,
//! queues the access-log entry. Nothing on the request path waits on I/O:
//! access-log entries go through a bounded channel to a writer task (see
//! [`access_log`]), and only when `--access-log` is set.

pub mod access_log;
pub mod metrics;
pub mod rates;

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use crate::dataplane::body::AlbBody;
use crate::dataplane::snapshot::{
    ListenerRoutes, RouteAction, RouteRule, Target, TargetGroupRoutes,
};
use access_log::{AccessLogEntry, AccessLogSink, Destination};
use metrics::{ConnectionGuard, LbMetrics, Metrics};

/// The data plane's metrics and access log. Cheap to clone.
#[derive(Clone, Default)]
pub struct Observability {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    metrics: Metrics,
    rates: rates::Rates,
    /// Set once, when the data plane starts with `--access-log`.
    access_log: OnceLock<AccessLogSink>,
}

impl Observability {
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Recent per-target rates, for the dashboard.
    pub fn rates(&self) -> &rates::Rates {
        &self.inner.rates
    }

    /// Starts the access-log writer when `--access-log` is set. It runs on
    /// `tasks` and stops (after writing what is queued) when `stop` is
    /// cancelled. A log file that cannot be opened is reported and leaves
    /// access logging off.
    pub fn start(&self, config: &Config, tasks: &TaskTracker, stop: &CancellationToken) {
        let Some(dest) = config.access_log.as_deref() else {
            return;
        };
        let dropped = self.inner.metrics.access_log_dropped.clone();
        match AccessLogSink::start(&Destination::parse(dest), tasks, stop.clone(), dropped) {
            Ok(sink) => {
                let _ = self.inner.access_log.set(sink);
                tracing::info!(destination = dest, "ALB access log on");
            }
            Err(e) => {
                tracing::error!(error = %e, destination = dest, "cannot open the access log; access logging is off");
            }
        }
    }

    /// Counts a client connection of a listener as active until dropped.
    pub fn connection(&self, routes: Option<&ListenerRoutes>) -> ConnectionGuard {
        ConnectionGuard::new(routes.and_then(|r| self.load_balancer(r)))
    }

    /// The counters of the load balancer `routes` belongs to.
    fn load_balancer(&self, routes: &ListenerRoutes) -> Option<Arc<LbMetrics>> {
        routes
            .lb_metrics
            .get_or_init(|| self.inner.metrics.load_balancer(&routes.arn))
            .clone()
    }

    /// Starts observing one request that arrived on `routes`' listener.
    pub fn begin<B>(
        &self,
        peer: SocketAddr,
        routes: Option<&Arc<ListenerRoutes>>,
        req: &Request<B>,
    ) -> Exchange<'_> {
        let started = Instant::now();
        let lb = routes.and_then(|r| self.load_balancer(r));
        let received_body = req
            .headers()
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok()?.parse().ok())
            .unwrap_or(0);
        let log = self.inner.access_log.get().map(|_| {
            Box::new(RequestFacts::new(
                peer,
                routes.map(|r| (r.arn.as_str(), r.port)),
                req,
            ))
        });
        Exchange {
            observe: self,
            started,
            lb,
            received_body,
            log,
            notes: RequestNotes::default(),
        }
    }
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

impl Exchange<'_> {
    /// Where the proxy notes what it did with the request.
    pub fn notes(&mut self) -> &mut RequestNotes {
        &mut self.notes
    }

    /// Records what the proxy did and returns its response with the body
    /// observed.
    pub fn finish(self, resp: Response<AlbBody>) -> Response<ObservedBody> {
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

        let log = match (self.log, self.observe.inner.access_log.get()) {
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
    type Error = crate::dataplane::body::BoxError;

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
    classification: Option<crate::dataplane::desync::Classification>,
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
    pub fn classification(&mut self, class: crate::dataplane::desync::Classification) {
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
