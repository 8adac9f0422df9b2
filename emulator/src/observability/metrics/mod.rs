//! ALB and ECS metrics: atomic counters on the request path, Prometheus text
//! (via `prometheus-client`) built at scrape time.
//!
//! # Names
//! Each ALB metric is `alb_` + its `AWS/ApplicationELB` name in snake case;
//! counters then carry OpenMetrics' `_total` suffix and the histogram its
//! unit. The AWS name opens each metric's HELP text:
//!
//! | AWS name | Prometheus name | labels |
//! |---|---|---|
//! | `RequestCount` | `alb_request_count_total` | `load_balancer`, `target_group` |
//! | `RequestCountPerTarget` | `alb_request_count_per_target_total` | + `target` (`ip:port`) |
//! | `HTTPCode_Target_2XX_Count` (3XX, 4XX, 5XX) | `alb_httpcode_target_2xx_count_total` | `load_balancer`, `target_group` |
//! | `TargetResponseTime` | `alb_target_response_time_seconds` (histogram) | `load_balancer`, `target_group` |
//! | `TargetConnectionErrorCount` | `alb_target_connection_error_count_total` | `load_balancer`, `target_group` |
//! | `HealthyHostCount`, `UnHealthyHostCount` | `alb_healthy_host_count`, `alb_unhealthy_host_count` | `load_balancer`, `target_group` |
//! | `HTTPCode_ELB_3XX_Count` (4XX, 5XX, 500, 502, 503, 504) | `alb_httpcode_elb_3xx_count_total` | `load_balancer` |
//! | `HTTP_Fixed_Response_Count`, `HTTP_Redirect_Count` | `alb_http_fixed_response_count_total`, `alb_http_redirect_count_total` | `load_balancer` |
//! | `ActiveConnectionCount` | `alb_active_connection_count` (gauge: open now) | `load_balancer` |
//! | `NewConnectionCount`, `ProcessedBytes` | `alb_new_connection_count_total`, `alb_processed_bytes_total` | `load_balancer` |
//!
//! `load_balancer` is `app/NAME/ID` and `target_group` is
//! `targetgroup/NAME/ID`, as CloudWatch's `LoadBalancer` and `TargetGroup`
//! dimensions spell them. ECS: `ecs_tasks{cluster,last_status}` and
//! `ecs_service_{desired,running,pending}_count{cluster,service}`.
//!
//! # Cost
//! Recording is a handful of relaxed atomic adds on counters that are looked
//! up once (per-target counters live in the data plane's `TargetStats`, which
//! survive snapshot rebuilds) or through a lock-free copy-on-write map.
//! Health gauges and ECS counts are computed from the store at scrape time.
//!
//! # Layout
//! - this file: the counters, the registry and the text at scrape time.
//! - `tests`: the unit tests.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arc_swap::ArcSwap;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};

use crate::domain::ecs::service::ServiceStatus;
use crate::domain::elbv2::{arns, TargetState};
use crate::domain::State;

/// Upper bounds (seconds) of the response-time histogram buckets: fine at the
/// low end, where a local target answers, up to ALB's 60 s idle timeout.
pub const LATENCY_BUCKETS: [f64; 15] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0,
];
const BUCKETS: usize = LATENCY_BUCKETS.len() + 1;

/// A lock-free histogram of durations over [`LATENCY_BUCKETS`].
#[derive(Debug, Default)]
pub struct Histogram {
    /// Per bucket (not cumulative); the last one is `+Inf`.
    counts: [AtomicU64; BUCKETS],
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        let i = LATENCY_BUCKETS
            .iter()
            .position(|b| secs <= *b)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.counts[i].fetch_add(1, Relaxed);
        self.sum_micros
            .fetch_add(d.as_micros().min(u64::MAX as u128) as u64, Relaxed);
    }

    pub fn read(&self) -> HistogramValues {
        HistogramValues {
            counts: std::array::from_fn(|i| self.counts[i].load(Relaxed)),
            sum_seconds: self.sum_micros.load(Relaxed) as f64 / 1e6,
        }
    }
}

/// A histogram's values at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HistogramValues {
    /// Per bucket (not cumulative); the last one is `+Inf`.
    pub counts: [u64; BUCKETS],
    pub sum_seconds: f64,
}

impl HistogramValues {
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// What was observed after `earlier` (a reading of the same histogram).
    pub fn since(&self, earlier: &HistogramValues) -> HistogramValues {
        HistogramValues {
            counts: std::array::from_fn(|i| self.counts[i].saturating_sub(earlier.counts[i])),
            sum_seconds: (self.sum_seconds - earlier.sum_seconds).max(0.0),
        }
    }

    /// Mean in seconds; `None` when empty.
    pub fn mean(&self) -> Option<f64> {
        let n = self.count();
        (n > 0).then(|| self.sum_seconds / n as f64)
    }

    /// The `q` quantile in seconds, interpolated linearly within its bucket
    /// (as Prometheus' `histogram_quantile` does); `None` when empty.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = q.clamp(0.0, 1.0) * n as f64;
        let mut seen = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 && (seen + c) as f64 >= rank {
                let lower = if i == 0 { 0.0 } else { LATENCY_BUCKETS[i - 1] };
                // Past the last bound there is nothing to interpolate to.
                let Some(&upper) = LATENCY_BUCKETS.get(i) else {
                    return Some(lower);
                };
                let within = (rank - seen as f64) / c as f64;
                return Some(lower + (upper - lower) * within);
            }
            seen += c;
        }
        None
    }

    /// `(upper bound, count in that bucket)` pairs, as `prometheus-client`
    /// takes them (it sums them up); `f64::MAX` stands for `+Inf`.
    fn buckets(&self) -> Vec<(f64, u64)> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, c)| (LATENCY_BUCKETS.get(i).copied().unwrap_or(f64::MAX), *c))
            .collect()
    }
}

/// Responses by status class, 2XX to 5XX (1XX, such as a WebSocket's 101,
/// has no ALB metric).
#[derive(Debug, Default)]
pub struct StatusCounters([AtomicU64; 4]);

impl StatusCounters {
    pub fn record(&self, status: u16) {
        if let Some(c) = (status / 100)
            .checked_sub(2)
            .and_then(|i| self.0.get(i as usize))
        {
            c.fetch_add(1, Relaxed);
        }
    }

    /// Counts of 2XX, 3XX, 4XX, 5XX.
    pub fn read(&self) -> [u64; 4] {
        std::array::from_fn(|i| self.0[i].load(Relaxed))
    }
}

/// What one target answered. Lives in the data plane's per-target stats, so
/// it survives snapshot rebuilds and goes away with the registration.
#[derive(Debug, Default)]
pub struct TargetMetrics {
    pub responses: StatusCounters,
    pub response_time: Histogram,
    /// The target's group counters, looked up on its first request.
    group: OnceLock<Arc<GroupMetrics>>,
}

impl TargetMetrics {
    /// The counters of the group `tg_arn` this target belongs to.
    fn group(&self, metrics: &Metrics, tg_arn: &str) -> &GroupMetrics {
        self.group
            .get_or_init(|| metrics.groups.get_or_insert(tg_arn))
    }
}

/// Counters of one target group; they outlive its targets.
#[derive(Debug, Default)]
pub struct GroupMetrics {
    /// Requests for which a target of this group was chosen (`RequestCount`).
    pub requests: AtomicU64,
    pub responses: StatusCounters,
    pub response_time: Histogram,
    /// The target could not be reached or gave no answer (the ALB sent 502/504).
    pub connection_errors: AtomicU64,
}

/// Counters of one load balancer.
#[derive(Debug, Default)]
pub struct LbMetrics {
    /// ALB-generated responses by class: 3XX (redirects), 4XX, 5XX.
    elb_3xx: AtomicU64,
    elb_4xx: AtomicU64,
    elb_5xx: AtomicU64,
    /// ALB-generated 500, 502, 503, 504.
    elb_5xx_codes: [AtomicU64; 4],
    fixed_responses: AtomicU64,
    redirects: AtomicU64,
    active_connections: AtomicI64,
    new_connections: AtomicU64,
    processed_bytes: AtomicU64,
}

impl LbMetrics {
    /// A response the load balancer made itself.
    pub fn record_elb(&self, status: u16) {
        match status / 100 {
            3 => &self.elb_3xx,
            4 => &self.elb_4xx,
            5 => &self.elb_5xx,
            _ => return,
        }
        .fetch_add(1, Relaxed);
        if let Some(i) = [500, 502, 503, 504].iter().position(|c| *c == status) {
            self.elb_5xx_codes[i].fetch_add(1, Relaxed);
        }
    }

    pub fn record_fixed_response(&self) {
        self.fixed_responses.fetch_add(1, Relaxed);
    }

    pub fn record_redirect(&self) {
        self.redirects.fetch_add(1, Relaxed);
        self.elb_3xx.fetch_add(1, Relaxed);
    }

    pub fn add_processed_bytes(&self, n: u64) {
        self.processed_bytes.fetch_add(n, Relaxed);
    }
}

/// Counts a client connection as active until dropped.
pub struct ConnectionGuard(Option<Arc<LbMetrics>>);

impl ConnectionGuard {
    pub fn new(lb: Option<Arc<LbMetrics>>) -> Self {
        if let Some(lb) = &lb {
            lb.active_connections.fetch_add(1, Relaxed);
            lb.new_connections.fetch_add(1, Relaxed);
        }
        Self(lb)
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        if let Some(lb) = &self.0 {
            lb.active_connections.fetch_sub(1, Relaxed);
        }
    }
}

/// A map read without locks: readers load the current `Arc<HashMap>`; the
/// rare writer (a group or load balancer seen for the first time) copies it
/// under a mutex and swaps the copy in.
#[derive(Debug)]
struct CowMap<V> {
    map: ArcSwap<HashMap<Box<str>, Arc<V>>>,
    write: Mutex<()>,
}

impl<V> Default for CowMap<V> {
    fn default() -> Self {
        Self {
            map: ArcSwap::from_pointee(HashMap::new()),
            write: Mutex::new(()),
        }
    }
}

impl<V: Default> CowMap<V> {
    fn get(&self, key: &str) -> Option<Arc<V>> {
        self.map.load().get(key).cloned()
    }

    fn get_or_insert(&self, key: &str) -> Arc<V> {
        if let Some(v) = self.get(key) {
            return v;
        }
        let _write = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.map.load_full();
        if let Some(v) = current.get(key) {
            return v.clone();
        }
        let mut next = (*current).clone();
        let v = Arc::new(V::default());
        next.insert(key.into(), v.clone());
        self.map.store(Arc::new(next));
        v
    }

    /// Forgets keys `keep` rejects (resources deleted since).
    fn retain(&self, keep: impl Fn(&str) -> bool) {
        let _write = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.map.load_full();
        if current.keys().all(|k| keep(k)) {
            return;
        }
        let next = current
            .iter()
            .filter(|(k, _)| keep(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.map.store(Arc::new(next));
    }
}

/// Every counter that is not per target: per target group (by ARN) and per
/// load balancer (by `app/NAME/ID`).
#[derive(Debug, Default)]
pub struct Metrics {
    groups: CowMap<GroupMetrics>,
    lbs: CowMap<LbMetrics>,
    /// Access-log lines dropped because the writer fell behind.
    pub access_log_dropped: Arc<AtomicU64>,
}

impl Metrics {
    /// The counters of the load balancer a listener belongs to.
    pub fn load_balancer(&self, listener_arn: &str) -> Option<Arc<LbMetrics>> {
        lb_key(listener_arn).map(|key| self.lbs.get_or_insert(key))
    }

    /// Records a response a target gave (`status`) or did not give (`None`:
    /// the ALB answered 502/504 instead).
    pub fn record_target(
        &self,
        target: &TargetMetrics,
        tg_arn: &str,
        status: Option<u16>,
        response_time: Duration,
    ) {
        let group = target.group(self, tg_arn);
        group.requests.fetch_add(1, Relaxed);
        match status {
            Some(status) => {
                group.responses.record(status);
                group.response_time.observe(response_time);
                target.responses.record(status);
                target.response_time.observe(response_time);
            }
            None => {
                group.connection_errors.fetch_add(1, Relaxed);
            }
        }
    }

    /// The Prometheus text exposition of everything, with health gauges and
    /// ECS counts derived from `state`, and `requests_per_target` giving
    /// each target of a target group (by ARN) with its request count.
    pub fn encode(
        &self,
        state: &State,
        requests_per_target: impl Fn(&str) -> Vec<(SocketAddr, u64)>,
    ) -> String {
        self.groups
            .retain(|arn| state.elbv2.target_groups.contains_key(arn));
        self.lbs.retain(|key| {
            state
                .elbv2
                .load_balancers
                .keys()
                .any(|arn| arns::load_balancer_suffix(arn) == Some(key))
        });
        let mut registry = Registry::default();
        registry.register_collector(Box::new(self.gather(state, requests_per_target)));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry)
            .expect("writing to a String cannot fail");
        out
    }

    fn gather(
        &self,
        state: &State,
        requests_per_target: impl Fn(&str) -> Vec<(SocketAddr, u64)>,
    ) -> Scrape {
        let mut s = Scrape::default();
        let elbv2 = &state.elbv2;

        // Per load balancer.
        let lb_families: [LbCounter; 11] = [
            (
                "alb_httpcode_elb_3xx_count",
                "HTTPCode_ELB_3XX_Count: redirects the load balancer generated.",
                |m| m.elb_3xx.load(Relaxed),
            ),
            (
                "alb_httpcode_elb_4xx_count",
                "HTTPCode_ELB_4XX_Count: 4XX responses the load balancer generated.",
                |m| m.elb_4xx.load(Relaxed),
            ),
            (
                "alb_httpcode_elb_5xx_count",
                "HTTPCode_ELB_5XX_Count: 5XX responses the load balancer generated.",
                |m| m.elb_5xx.load(Relaxed),
            ),
            (
                "alb_httpcode_elb_500_count",
                "HTTPCode_ELB_500_Count: 500 responses the load balancer generated.",
                |m| m.elb_5xx_codes[0].load(Relaxed),
            ),
            (
                "alb_httpcode_elb_502_count",
                "HTTPCode_ELB_502_Count: 502 responses the load balancer generated.",
                |m| m.elb_5xx_codes[1].load(Relaxed),
            ),
            (
                "alb_httpcode_elb_503_count",
                "HTTPCode_ELB_503_Count: 503 responses the load balancer generated.",
                |m| m.elb_5xx_codes[2].load(Relaxed),
            ),
            (
                "alb_httpcode_elb_504_count",
                "HTTPCode_ELB_504_Count: 504 responses the load balancer generated.",
                |m| m.elb_5xx_codes[3].load(Relaxed),
            ),
            (
                "alb_http_fixed_response_count",
                "HTTP_Fixed_Response_Count: fixed-response actions served.",
                |m| m.fixed_responses.load(Relaxed),
            ),
            (
                "alb_http_redirect_count",
                "HTTP_Redirect_Count: redirect actions served.",
                |m| m.redirects.load(Relaxed),
            ),
            (
                "alb_new_connection_count",
                "NewConnectionCount: client connections accepted.",
                |m| m.new_connections.load(Relaxed),
            ),
            (
                "alb_processed_bytes",
                "ProcessedBytes: request and response body bytes through the load balancer.",
                |m| m.processed_bytes.load(Relaxed),
            ),
        ];
        let lbs: Vec<(String, Arc<LbMetrics>)> = elbv2
            .load_balancers
            .keys()
            .filter_map(|arn| arns::load_balancer_suffix(arn))
            .map(|key| {
                let m = self.lbs.get(key).unwrap_or_default();
                (key.to_string(), m)
            })
            .collect();
        let lb_labels = |key: &str| vec![("load_balancer", key.to_string())];
        s.gauge(
            "alb_active_connection_count",
            "ActiveConnectionCount: client connections open now.",
            lbs.iter()
                .map(|(k, m)| (lb_labels(k), m.active_connections.load(Relaxed)))
                .collect(),
        );
        for (name, help, read) in lb_families {
            s.counter(
                name,
                help,
                lbs.iter().map(|(k, m)| (lb_labels(k), read(m))).collect(),
            );
        }

        // Per target group, under the one load balancer that uses it.
        let mut groups = Vec::new();
        for tg in elbv2.target_groups.values() {
            let lb_arns = elbv2.load_balancers_of_target_group(&tg.arn);
            let Some(lb_arn) = lb_arns.first() else {
                continue;
            };
            let (Some(lb), Some(tg_key)) = (
                arns::load_balancer_suffix(lb_arn).map(str::to_string),
                tg_key(&tg.arn),
            ) else {
                continue;
            };
            let labels = vec![("load_balancer", lb), ("target_group", tg_key.to_string())];
            let metrics = self.groups.get(&tg.arn).unwrap_or_default();
            let (mut healthy, mut unhealthy) = (0i64, 0i64);
            for reg in &tg.registrations {
                match elbv2.reported_health(tg, reg).state {
                    TargetState::Healthy => healthy += 1,
                    TargetState::Unhealthy | TargetState::UnhealthyDraining => unhealthy += 1,
                    _ => {}
                }
            }
            let per_target: Vec<(String, u64)> = requests_per_target(&tg.arn)
                .into_iter()
                .map(|(addr, requests)| (addr.to_string(), requests))
                .collect();
            groups.push((labels, metrics, healthy, unhealthy, per_target));
        }
        s.counter(
            "alb_request_count",
            "RequestCount: requests for which a target was chosen.",
            groups
                .iter()
                .map(|(l, m, ..)| (l.clone(), m.requests.load(Relaxed)))
                .collect(),
        );
        for (class, name) in [
            (0, "alb_httpcode_target_2xx_count"),
            (1, "alb_httpcode_target_3xx_count"),
            (2, "alb_httpcode_target_4xx_count"),
            (3, "alb_httpcode_target_5xx_count"),
        ] {
            s.counter(
                name,
                [
                    "HTTPCode_Target_2XX_Count: 2XX responses from targets.",
                    "HTTPCode_Target_3XX_Count: 3XX responses from targets.",
                    "HTTPCode_Target_4XX_Count: 4XX responses from targets.",
                    "HTTPCode_Target_5XX_Count: 5XX responses from targets.",
                ][class],
                groups
                    .iter()
                    .map(|(l, m, ..)| (l.clone(), m.responses.read()[class]))
                    .collect(),
            );
        }
        s.counter(
            "alb_target_connection_error_count",
            "TargetConnectionErrorCount: requests whose target could not be reached or did not answer.",
            groups
                .iter()
                .map(|(l, m, ..)| (l.clone(), m.connection_errors.load(Relaxed)))
                .collect(),
        );
        s.histogram(
            "alb_target_response_time",
            "TargetResponseTime: seconds from sending the request to a target until its response headers arrived.",
            groups
                .iter()
                .map(|(l, m, ..)| (l.clone(), m.response_time.read()))
                .collect(),
        );
        s.gauge(
            "alb_healthy_host_count",
            "HealthyHostCount: targets that pass health checks.",
            groups.iter().map(|(l, _, h, ..)| (l.clone(), *h)).collect(),
        );
        s.gauge(
            "alb_unhealthy_host_count",
            "UnHealthyHostCount: targets that fail health checks.",
            groups
                .iter()
                .map(|(l, _, _, u, _)| (l.clone(), *u))
                .collect(),
        );
        s.counter(
            "alb_request_count_per_target",
            "RequestCountPerTarget: requests sent to each registered target.",
            groups
                .iter()
                .flat_map(|(l, _, _, _, targets)| {
                    targets.iter().map(move |(addr, n)| {
                        let mut labels = l.clone();
                        labels.push(("target", addr.clone()));
                        (labels, *n)
                    })
                })
                .collect(),
        );

        // ECS.
        let cluster_names: HashMap<&str, &str> = state
            .ecs
            .clusters
            .values()
            .map(|c| (c.cluster_arn.as_str(), c.cluster_name.as_str()))
            .collect();
        let cluster_of = |arn: &str| {
            cluster_names
                .get(arn)
                .copied()
                .unwrap_or_else(|| arns_last(arn))
                .to_string()
        };
        let mut tasks: BTreeMap<(String, &'static str), i64> = BTreeMap::new();
        for t in state.ecs.tasks.values() {
            *tasks
                .entry((cluster_of(&t.cluster_arn), t.last_status.as_str()))
                .or_default() += 1;
        }
        s.gauge(
            "ecs_tasks",
            "ECS tasks by cluster and lastStatus.",
            tasks
                .into_iter()
                .map(|((cluster, status), n)| {
                    (
                        vec![("cluster", cluster), ("last_status", status.to_string())],
                        n,
                    )
                })
                .collect(),
        );
        let services: Vec<_> = state
            .ecs
            .services
            .values()
            .filter(|svc| svc.status != ServiceStatus::Inactive)
            .map(|svc| {
                (
                    vec![
                        ("cluster", cluster_of(&svc.cluster_arn)),
                        ("service", svc.service_name.clone()),
                    ],
                    svc,
                )
            })
            .collect();
        for (name, help, read) in [
            (
                "ecs_service_desired_count",
                "ECS service desiredCount.",
                (|svc| svc.desired_count) as fn(&crate::domain::ecs::service::Service) -> u32,
            ),
            (
                "ecs_service_running_count",
                "ECS service runningCount.",
                |svc| svc.running_count,
            ),
            (
                "ecs_service_pending_count",
                "ECS service pendingCount.",
                |svc| svc.pending_count,
            ),
        ] {
            s.gauge(
                name,
                help,
                services
                    .iter()
                    .map(|(l, svc)| (l.clone(), i64::from(read(svc))))
                    .collect(),
            );
        }

        s.counter(
            "emulator_access_log_dropped",
            "Access-log lines dropped because the writer fell behind.",
            vec![(vec![], self.access_log_dropped.load(Relaxed))],
        );
        s
    }
}

/// `app/NAME/ID` from a listener ARN (`...:listener/app/NAME/ID/LISTENER`).
pub fn lb_key(listener_arn: &str) -> Option<&str> {
    let rest = listener_arn.split_once(":listener/")?.1;
    Some(rest.rsplit_once('/')?.0)
}

/// `targetgroup/NAME/ID` from a target group ARN.
pub fn tg_key(tg_arn: &str) -> Option<&str> {
    tg_arn.find("targetgroup/").map(|i| &tg_arn[i..])
}

fn arns_last(arn: &str) -> &str {
    crate::domain::arn::last_segment(arn)
}

type Labels = Vec<(&'static str, String)>;
/// A per-load-balancer counter: name, help, and how to read it.
type LbCounter = (&'static str, &'static str, fn(&LbMetrics) -> u64);

#[derive(Debug)]
enum Samples {
    Counter(Vec<(Labels, u64)>),
    Gauge(Vec<(Labels, i64)>),
    Histogram(Vec<(Labels, HistogramValues)>),
}

#[derive(Debug)]
struct Family {
    name: &'static str,
    help: &'static str,
    samples: Samples,
}

/// One scrape's values, encoded by `prometheus-client`.
#[derive(Debug, Default)]
struct Scrape(Vec<Family>);

impl Scrape {
    fn counter(&mut self, name: &'static str, help: &'static str, v: Vec<(Labels, u64)>) {
        self.0.push(Family {
            name,
            help,
            samples: Samples::Counter(v),
        });
    }

    fn gauge(&mut self, name: &'static str, help: &'static str, v: Vec<(Labels, i64)>) {
        self.0.push(Family {
            name,
            help,
            samples: Samples::Gauge(v),
        });
    }

    fn histogram(
        &mut self,
        name: &'static str,
        help: &'static str,
        v: Vec<(Labels, HistogramValues)>,
    ) {
        self.0.push(Family {
            name,
            help,
            samples: Samples::Histogram(v),
        });
    }
}

impl Collector for Scrape {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            let (metric_type, unit) = match family.samples {
                Samples::Counter(_) => (MetricType::Counter, None),
                Samples::Gauge(_) => (MetricType::Gauge, None),
                Samples::Histogram(_) => (MetricType::Histogram, Some(Unit::Seconds)),
            };
            let mut metric =
                encoder.encode_descriptor(family.name, family.help, unit.as_ref(), metric_type)?;
            match &family.samples {
                Samples::Counter(v) => {
                    for (labels, n) in v {
                        metric
                            .encode_family(labels)?
                            .encode_counter::<NoLabelSet, _, u64>(n, None)?;
                    }
                }
                Samples::Gauge(v) => {
                    for (labels, n) in v {
                        metric.encode_family(labels)?.encode_gauge(n)?;
                    }
                }
                Samples::Histogram(v) => {
                    for (labels, h) in v {
                        metric
                            .encode_family(labels)?
                            .encode_histogram::<NoLabelSet>(
                                h.sum_seconds,
                                h.count(),
                                &h.buckets(),
                                None,
                            )?;
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
