//! Immutable routing tables, rebuilt from the ELBv2 model on every store change.
//!
//! Everything the proxy needs is precomputed here: rules in evaluation order
//! with compiled conditions, the headers a listener adds to responses, each
//! target's URI authority, the set of targets a
//! new request may go to (healthy ones, or all non-draining ones when none is
//! healthy: fail-open). Mutable per-target counters are shared `Arc`s that the
//! [`StatsRegistry`] hands out again for the same target on the next rebuild.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::uri::Authority;
use http::HeaderValue;

use super::headers::ResponseHeaders;
use super::pool::Pool;
use super::sticky;
use crate::config::Config;
use crate::domain::ecs::service_connect::Endpoint;
use crate::domain::elbv2::matching::CompiledCondition;
use crate::domain::elbv2::{
    ActionKind, Elbv2State, FixedResponseConfig, RedirectConfig, TargetGroup, TargetState,
};

/// AWS default for `idle_timeout.timeout_seconds`.
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// AWS default for `stickiness.lb_cookie.duration_seconds` (one day).
pub const DEFAULT_STICKY_SECONDS: u64 = 86_400;

/// Every listener, load balancer host name and target group, as routed now.
#[derive(Default)]
pub struct Snapshot {
    /// By listener ARN.
    pub listeners: HashMap<String, Arc<ListenerRoutes>>,
    /// Listeners of each load balancer by lowercase DNS name, lowest port first.
    pub lb_hosts: HashMap<String, Vec<Arc<ListenerRoutes>>>,
    /// By target group ARN.
    pub target_groups: HashMap<String, Arc<TargetGroupRoutes>>,
    /// Service Connect endpoints by route key.
    pub service_connect: HashMap<String, Arc<ServiceConnectRoutes>>,
}

/// One Service Connect endpoint: its serving tasks as a target group, and
/// the listener routes that forward every request to them.
pub struct ServiceConnectRoutes {
    pub group: Arc<TargetGroupRoutes>,
    pub routes: Arc<ListenerRoutes>,
    /// Balanced per request; otherwise per TCP connection.
    pub http: bool,
}

/// Service Connect's idle timeouts when none is configured: 5 minutes for
/// HTTP, 1 hour for TCP.
const SERVICE_CONNECT_HTTP_IDLE: Duration = Duration::from_secs(300);
pub const SERVICE_CONNECT_TCP_IDLE: Duration = Duration::from_secs(3600);

impl Snapshot {
    /// Requests the proxy sent to each target of `tg_arn` so far, for the
    /// `RequestCountPerTarget` metric and its scaling. A target's counter
    /// lives as long as it stays registered.
    pub fn target_request_counts(&self, tg_arn: &str) -> Vec<(SocketAddr, u64)> {
        self.target_groups
            .get(tg_arn)
            .map(|tg| {
                tg.targets
                    .iter()
                    .map(|t| (t.addr, t.stats.requests.load(Ordering::Relaxed)))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The listener a control-port request with this Host header goes to, if
    /// the host is a load balancer's DNS name.
    pub fn route_host(&self, host: Option<&str>) -> Option<Arc<ListenerRoutes>> {
        let host = host?;
        let (name, port) = match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
                (name, port.parse::<u16>().ok())
            }
            _ => (host, None),
        };
        if !name.contains('.') {
            return None;
        }
        let listeners = self.lb_hosts.get(&name.to_ascii_lowercase())?;
        port.and_then(|p| listeners.iter().find(|l| l.port == p))
            .or_else(|| listeners.first())
            .cloned()
    }

    /// Builds the snapshot from the model. `now` anchors slow-start ramps.
    pub fn build(
        state: &Elbv2State,
        endpoints: &[Endpoint],
        config: &Config,
        registry: &mut StatsRegistry,
        now: Instant,
    ) -> Self {
        let mut target_groups = HashMap::with_capacity(state.target_groups.len());
        for tg in state.target_groups.values() {
            target_groups.insert(
                tg.arn.clone(),
                Arc::new(TargetGroupRoutes::build(tg, config, registry, now)),
            );
        }
        let service_connect: HashMap<String, Arc<ServiceConnectRoutes>> = endpoints
            .iter()
            .map(|e| {
                (
                    e.key.clone(),
                    Arc::new(ServiceConnectRoutes::build(e, registry)),
                )
            })
            .collect();
        registry.retain(
            target_groups
                .values()
                .chain(service_connect.values().map(|e| &e.group)),
        );

        // Rules of each listener, default rule last.
        let mut rules_by_listener: HashMap<&str, Vec<&crate::domain::elbv2::Rule>> = HashMap::new();
        for rule in state.rules.values() {
            rules_by_listener
                .entry(rule.listener_arn.as_str())
                .or_default()
                .push(rule);
        }

        let mut listeners = HashMap::with_capacity(state.listeners.len());
        let mut lb_hosts: HashMap<String, Vec<Arc<ListenerRoutes>>> = HashMap::new();
        for listener in state.listeners.values() {
            let lb = state.load_balancers.get(&listener.load_balancer_arn);
            let idle_timeout = lb
                .and_then(|lb| attr_u64(&lb.attributes, "idle_timeout.timeout_seconds"))
                .map(|s| Duration::from_secs(s.max(1)))
                .unwrap_or(DEFAULT_IDLE_TIMEOUT);
            let desync_mode = super::desync::Mode::from_attribute(
                lb.and_then(|lb| lb.attributes.get("routing.http.desync_mitigation_mode"))
                    .map(String::as_str),
            );
            let mut rules: Vec<RouteRule> = Vec::new();
            let mut listed = rules_by_listener
                .remove(listener.arn.as_str())
                .unwrap_or_default();
            listed.sort_by_key(|r| r.priority.unwrap_or(u32::MAX));
            let mut saw_default = false;
            for rule in listed {
                saw_default |= rule.is_default();
                rules.push(RouteRule {
                    priority: rule.priority.unwrap_or(0),
                    conditions: rule
                        .conditions
                        .iter()
                        .map(CompiledCondition::compile)
                        .collect(),
                    action: RouteAction::build(&rule.actions, &target_groups),
                });
            }
            if !saw_default {
                // The API may keep the default rule only on the listener.
                rules.push(RouteRule {
                    priority: 0,
                    conditions: Vec::new(),
                    action: RouteAction::build(&listener.default_actions, &target_groups),
                });
            }
            let routes = Arc::new(ListenerRoutes {
                arn: listener.arn.clone(),
                port: listener.port,
                forwarded_port: HeaderValue::from(listener.port),
                https: listener.protocol.eq_ignore_ascii_case("HTTPS"),
                idle_timeout,
                desync_mode,
                rules,
                response_headers: ResponseHeaders::from_attributes(&listener.attributes),
                lb_metrics: Default::default(),
            });
            if let Some(lb) = lb {
                lb_hosts
                    .entry(lb.dns_name.to_ascii_lowercase())
                    .or_default()
                    .push(routes.clone());
            }
            listeners.insert(listener.arn.clone(), routes);
        }
        for list in lb_hosts.values_mut() {
            list.sort_by_key(|l| l.port);
        }
        Self {
            listeners,
            lb_hosts,
            target_groups,
            service_connect,
        }
    }
}

impl ServiceConnectRoutes {
    /// Every serving task is a healthy round-robin target: ECS leaves out
    /// the tasks that stopped or turned unhealthy.
    fn build(endpoint: &Endpoint, registry: &mut StatsRegistry) -> Self {
        let targets: Vec<Arc<Target>> = endpoint
            .targets
            .iter()
            .map(|addr| {
                Arc::new(Target {
                    addr: *addr,
                    authority: authority_of(*addr),
                    host: HeaderValue::try_from(addr.to_string())
                        .expect("a socket address is a valid header value"),
                    pool: registry.pool(*addr),
                    cookie: String::new(),
                    stats: registry.stats(&endpoint.key, *addr),
                    healthy: true,
                    draining: false,
                    slow_start_until: None,
                })
            })
            .collect();
        let group = Arc::new(TargetGroupRoutes {
            arn: endpoint.key.clone(),
            algorithm: Algorithm::RoundRobin,
            candidates: targets.clone(),
            targets,
            cursor: registry.cursor(&endpoint.key),
            stickiness_seconds: None,
            slow_start: false,
            cookie: String::new(),
        });
        let idle_timeout = match endpoint.idle_timeout_seconds {
            Some(s) => Duration::from_secs(s.into()),
            None if endpoint.http => SERVICE_CONNECT_HTTP_IDLE,
            None => SERVICE_CONNECT_TCP_IDLE,
        };
        let routes = Arc::new(ListenerRoutes {
            arn: endpoint.key.clone(),
            port: endpoint.port,
            forwarded_port: HeaderValue::from(endpoint.port),
            https: false,
            idle_timeout,
            desync_mode: super::desync::Mode::default(),
            rules: vec![RouteRule {
                priority: 0,
                conditions: vec![],
                action: RouteAction::Forward(ForwardPlan {
                    groups: vec![(group.clone(), 1)],
                    total_weight: 1,
                    stickiness_seconds: None,
                    cursor: AtomicUsize::new(0),
                }),
            }],
            response_headers: ResponseHeaders::default(),
            lb_metrics: Default::default(),
        });
        Self {
            group,
            routes,
            http: endpoint.http,
        }
    }
}

/// One listener's rules, in evaluation order.
pub struct ListenerRoutes {
    pub arn: String,
    /// The port in the API (what `X-Forwarded-Port` carries).
    pub port: u16,
    pub forwarded_port: HeaderValue,
    pub https: bool,
    /// The load balancer's `idle_timeout.timeout_seconds`, in real time.
    pub idle_timeout: Duration,
    /// The load balancer's `routing.http.desync_mitigation_mode`.
    pub desync_mode: super::desync::Mode,
    /// By priority, lowest first; the default rule last.
    pub rules: Vec<RouteRule>,
    /// The listener's `routing.http.response.*` attributes, ready to apply.
    pub response_headers: ResponseHeaders,
    /// The load balancer's counters, looked up once per snapshot (by
    /// `observability`) instead of once per request.
    pub lb_metrics: std::sync::OnceLock<Option<Arc<crate::observability::metrics::LbMetrics>>>,
}

pub struct RouteRule {
    /// 0 for the default rule (as in access logs).
    pub priority: u32,
    pub conditions: Vec<CompiledCondition>,
    pub action: RouteAction,
}

/// The terminal action of a rule.
pub enum RouteAction {
    Forward(ForwardPlan),
    Redirect(RedirectConfig),
    FixedResponse(FixedResponseConfig),
    /// No terminal action (or one naming an unknown target group): 503.
    None,
}

impl RouteAction {
    fn build(
        actions: &[crate::domain::elbv2::Action],
        target_groups: &HashMap<String, Arc<TargetGroupRoutes>>,
    ) -> Self {
        // The terminal action is the one with the highest order (or the last).
        let terminal = actions
            .iter()
            .enumerate()
            .max_by_key(|(i, a)| (a.order.unwrap_or(u32::MAX), *i))
            .map(|(_, a)| a);
        match terminal.map(|a| &a.kind) {
            Some(ActionKind::Forward(fwd)) => {
                let groups: Vec<(Arc<TargetGroupRoutes>, u32)> = fwd
                    .target_groups
                    .iter()
                    .filter_map(|(arn, w)| target_groups.get(arn).map(|tg| (tg.clone(), *w)))
                    .collect();
                if groups.is_empty() {
                    return Self::None;
                }
                let total_weight = groups.iter().map(|(_, w)| *w).sum();
                Self::Forward(ForwardPlan {
                    groups,
                    total_weight,
                    stickiness_seconds: fwd
                        .stickiness_seconds
                        .filter(|_| fwd.target_groups.len() > 1),
                    cursor: AtomicUsize::new(0),
                })
            }
            Some(ActionKind::Redirect(r)) => Self::Redirect(r.clone()),
            Some(ActionKind::FixedResponse(f)) => Self::FixedResponse(f.clone()),
            None => Self::None,
        }
    }
}

/// A forward action: one or more weighted target groups.
pub struct ForwardPlan {
    pub groups: Vec<(Arc<TargetGroupRoutes>, u32)>,
    pub total_weight: u32,
    /// Target-group stickiness (`AWSALBTG`), only with several groups.
    pub stickiness_seconds: Option<u32>,
    /// Interleaves weighted groups; restarts with every snapshot.
    pub cursor: AtomicUsize,
}

/// `load_balancing.algorithm.type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    RoundRobin,
    LeastOutstandingRequests,
    WeightedRandom,
}

impl Algorithm {
    fn parse(value: Option<&String>) -> Self {
        match value.map(String::as_str) {
            Some("least_outstanding_requests") => Self::LeastOutstandingRequests,
            Some("weighted_random") => Self::WeightedRandom,
            _ => Self::RoundRobin,
        }
    }
}

/// A target group as the balancer sees it.
pub struct TargetGroupRoutes {
    pub arn: String,
    pub algorithm: Algorithm,
    /// Every registration, draining ones included (for lookups and metrics).
    pub targets: Vec<Arc<Target>>,
    /// Where new requests may go: healthy, non-draining targets; when there
    /// is none, every non-draining target (fail-open).
    pub candidates: Vec<Arc<Target>>,
    /// Shared round-robin cursor, kept across rebuilds.
    pub cursor: Arc<AtomicUsize>,
    /// `stickiness.enabled` with `stickiness.type=lb_cookie`: cookie lifetime.
    pub stickiness_seconds: Option<u64>,
    /// Whether any candidate may still be ramping up (slow start).
    pub slow_start: bool,
    /// The `AWSALBTG` value naming this group.
    pub cookie: String,
}

impl TargetGroupRoutes {
    fn build(
        tg: &TargetGroup,
        config: &Config,
        registry: &mut StatsRegistry,
        now: Instant,
    ) -> Self {
        let algorithm = Algorithm::parse(tg.attributes.get("load_balancing.algorithm.type"));
        let slow_start = attr_u64(&tg.attributes, "slow_start.duration_seconds")
            .filter(|s| *s > 0 && algorithm != Algorithm::LeastOutstandingRequests)
            .map(|s| config.scaled(Duration::from_secs(s)));
        let sticky = tg
            .attributes
            .get("stickiness.enabled")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
            && tg
                .attributes
                .get("stickiness.type")
                .is_none_or(|t| t == "lb_cookie");
        let stickiness_seconds = sticky.then(|| {
            attr_u64(&tg.attributes, "stickiness.lb_cookie.duration_seconds")
                .unwrap_or(DEFAULT_STICKY_SECONDS)
        });

        // First pass: which targets are routable now, and which were already
        // established (healthy before this rebuild and not ramping).
        let mut staged = Vec::with_capacity(tg.registrations.len());
        let mut established = false;
        for reg in &tg.registrations {
            let addr = SocketAddr::new(reg.id, reg.port);
            let stats = registry.stats(&tg.arn, addr);
            let draining = reg.draining_until.is_some()
                || matches!(
                    reg.health.state,
                    TargetState::Draining | TargetState::UnhealthyDraining
                );
            // With health checks off (`unavailable`), every target takes traffic.
            let healthy = !draining
                && (!tg.health_check.enabled
                    || matches!(
                        reg.health.state,
                        TargetState::Healthy | TargetState::Unavailable
                    ));
            let track = stats
                .track
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if healthy && track.was_healthy && track.slow_start_until.is_none_or(|u| u <= now) {
                established = true;
            }
            staged.push((addr, stats, draining, healthy));
        }

        let mut targets = Vec::with_capacity(staged.len());
        for (addr, stats, draining, healthy) in staged {
            let slow_start_until = {
                let mut track = stats.track.lock().unwrap_or_else(|p| p.into_inner());
                if healthy && !track.was_healthy {
                    // Slow start only when some healthy target is not ramping.
                    track.slow_start_until = match slow_start {
                        Some(d) if established => Some(now + d),
                        _ => None,
                    };
                    track.slow_start_duration = slow_start;
                } else if !healthy {
                    track.slow_start_until = None;
                }
                track.was_healthy = healthy;
                match (track.slow_start_until, track.slow_start_duration) {
                    (Some(until), Some(d)) if until > now => Some((until, d)),
                    _ => None,
                }
            };
            targets.push(Arc::new(Target {
                addr,
                authority: authority_of(addr),
                host: HeaderValue::try_from(addr.to_string())
                    .expect("a socket address is a valid header value"),
                pool: registry.pool(addr),
                cookie: sticky::target_cookie(&tg.arn, addr),
                stats,
                healthy,
                draining,
                slow_start_until,
            }));
        }
        let mut candidates: Vec<Arc<Target>> =
            targets.iter().filter(|t| t.healthy).cloned().collect();
        if candidates.is_empty() {
            candidates = targets.iter().filter(|t| !t.draining).cloned().collect();
        }
        let slow = candidates.iter().any(|t| t.slow_start_until.is_some());
        Self {
            arn: tg.arn.clone(),
            algorithm,
            targets,
            candidates,
            cursor: registry.cursor(&tg.arn),
            stickiness_seconds,
            slow_start: slow,
            cookie: sticky::group_cookie(&tg.arn),
        }
    }
}

/// One registered target.
pub struct Target {
    pub addr: SocketAddr,
    /// `ip:port`, ready for the upstream URI.
    pub authority: Authority,
    /// `ip:port` as the `Host` of requests that came without one.
    pub host: HeaderValue,
    /// Keep-alive connections to `addr` (shared by every group that
    /// registers it; outlives snapshots).
    pub pool: Arc<Pool>,
    /// The `AWSALB` value naming this target.
    pub cookie: String,
    pub stats: Arc<TargetStats>,
    pub healthy: bool,
    pub draining: bool,
    /// While ramping up: when the ramp ends, and its full length.
    pub slow_start_until: Option<(Instant, Duration)>,
}

impl Target {
    /// Slow-start weight in (0, 1]: the share of a full target's traffic.
    pub fn weight(&self, now: Instant) -> f64 {
        match self.slow_start_until {
            Some((until, len)) if until > now && !len.is_zero() => {
                let left = (until - now).as_secs_f64() / len.as_secs_f64();
                (1.0 - left).clamp(MIN_SLOW_START_WEIGHT, 1.0)
            }
            _ => 1.0,
        }
    }
}

/// A target starting its ramp still gets a trickle, so it warms up at all.
const MIN_SLOW_START_WEIGHT: f64 = 0.01;

/// Mutable counters of one target; they outlive snapshots.
#[derive(Default)]
pub struct TargetStats {
    /// Requests sent and not yet fully answered (least outstanding requests).
    pub outstanding: AtomicUsize,
    /// Requests routed to this target so far (`RequestCountPerTarget`).
    pub requests: AtomicU64,
    /// Responses by status class and response times (`observability`).
    pub metrics: crate::observability::metrics::TargetMetrics,
    /// Health history, only touched by the snapshot builder.
    track: Mutex<HealthTrack>,
}

#[derive(Default, Clone)]
struct HealthTrack {
    was_healthy: bool,
    slow_start_until: Option<Instant>,
    slow_start_duration: Option<Duration>,
}

impl TargetStats {
    pub fn outstanding(&self) -> usize {
        self.outstanding.load(Ordering::Relaxed)
    }
}

/// Hands out the same counters for the same target across rebuilds.
#[derive(Default)]
pub struct StatsRegistry {
    targets: HashMap<(String, SocketAddr), Arc<TargetStats>>,
    cursors: HashMap<String, Arc<AtomicUsize>>,
    pools: HashMap<SocketAddr, Arc<Pool>>,
}

impl StatsRegistry {
    fn stats(&mut self, tg_arn: &str, addr: SocketAddr) -> Arc<TargetStats> {
        self.targets
            .entry((tg_arn.to_string(), addr))
            .or_default()
            .clone()
    }

    fn pool(&mut self, addr: SocketAddr) -> Arc<Pool> {
        self.pools
            .entry(addr)
            .or_insert_with(|| Arc::new(Pool::new(addr)))
            .clone()
    }

    /// Closes idle target connections past their idle timeout (all of them
    /// with `all`, at shutdown).
    pub fn sweep_pools(&self, all: bool) {
        for pool in self.pools.values() {
            pool.sweep(all);
        }
    }

    fn cursor(&mut self, tg_arn: &str) -> Arc<AtomicUsize> {
        self.cursors.entry(tg_arn.to_string()).or_default().clone()
    }

    /// Forgets targets and groups that are gone.
    fn retain<'a>(&mut self, groups: impl Iterator<Item = &'a Arc<TargetGroupRoutes>>) {
        let groups: HashMap<&str, &Arc<TargetGroupRoutes>> =
            groups.map(|g| (g.arn.as_str(), g)).collect();
        self.targets.retain(|(arn, addr), _| {
            groups
                .get(arn.as_str())
                .is_some_and(|g| g.targets.iter().any(|t| t.addr == *addr))
        });
        self.cursors
            .retain(|arn, _| groups.contains_key(arn.as_str()));
        self.pools.retain(|addr, pool| {
            let routed = groups
                .values()
                .any(|g| g.targets.iter().any(|t| t.addr == *addr));
            if !routed {
                pool.retire();
            }
            routed
        });
    }
}

fn authority_of(addr: SocketAddr) -> Authority {
    Authority::try_from(addr.to_string()).expect("a socket address is a valid authority")
}

fn attr_u64(attrs: &BTreeMap<String, String>, key: &str) -> Option<u64> {
    attrs.get(key).and_then(|v| v.trim().parse().ok())
}
