//! The ALB health checker
//! (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html>).
//!
//! A supervisor watches the store. Every registration of a target group that
//! a listener or rule forwards to gets its own check task: an HTTP GET of the
//! health-check path every interval (scaled by `time_scale`), bounded by the
//! timeout. The timeout is not scaled: it bounds the target's real response
//! time, which a faster clock does not shorten; one check per target is in
//! flight at a time, so a timeout longer than the scaled interval delays the
//! next check. Results move the target through the states:
//!
//! - `initial` (`Elb.InitialHealthChecking`) while the first checks run; one
//!   passing check makes a new target `healthy`; `unhealthy_threshold`
//!   consecutive failures make it `unhealthy`.
//! - `healthy` → `unhealthy` after `unhealthy_threshold` consecutive failures.
//! - `unhealthy` → `healthy` after `healthy_threshold` consecutive passes.
//!
//! The store is written only when the reported health changes, so routine
//! checks don't churn the version counter (and the data plane's snapshots).
//! The supervisor also removes registrations whose deregistration delay ended.
//! Nothing here touches the request path.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::Empty;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use time::OffsetDateTime;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::domain::elbv2::{HealthCheckSettings, TargetHealth, TargetState};
use crate::domain::Store;

/// How often the supervisor looks for expired draining targets when nothing
/// else wakes it.
const DRAIN_SWEEP: Duration = Duration::from_millis(250);
/// What ALB health checks send as `User-Agent`.
const USER_AGENT: &str = "ELB-HealthChecker/2.0";

type HealthClient = Client<HttpConnector, Empty<Bytes>>;

/// Starts the health checker; it stops when `shutdown` is cancelled.
pub fn spawn(store: Store, shutdown: CancellationToken) -> JoinHandle<()> {
    tokio::spawn(supervise(store, shutdown))
}

/// Which target a check task probes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CheckKey {
    tg_arn: String,
    ip: IpAddr,
    port: u16,
}

/// How it probes it; a change restarts the task.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CheckSpec {
    settings: HealthCheckSettings,
    addr: SocketAddr,
}

struct RunningCheck {
    spec: CheckSpec,
    stop: CancellationToken,
}

async fn supervise(store: Store, shutdown: CancellationToken) {
    let client = health_client();
    let tasks = TaskTracker::new();
    let mut running: HashMap<CheckKey, RunningCheck> = HashMap::new();
    let mut changes = store.subscribe();
    loop {
        expire_draining(&store, OffsetDateTime::now_utc());
        let desired = desired_checks(&store);
        running.retain(|key, check| {
            let keep = desired.get(key) == Some(&check.spec);
            if !keep {
                check.stop.cancel();
            }
            keep
        });
        for (key, spec) in desired {
            if running.contains_key(&key) {
                continue;
            }
            let stop = shutdown.child_token();
            tasks.spawn(check_loop(
                store.clone(),
                client.clone(),
                key.clone(),
                spec.clone(),
                stop.clone(),
            ));
            running.insert(key, RunningCheck { spec, stop });
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            changed = changes.changed() => if changed.is_err() { break },
            _ = tokio::time::sleep(DRAIN_SWEEP) => {}
        }
    }
    for check in running.values() {
        check.stop.cancel();
    }
    tasks.close();
    tasks.wait().await;
}

fn health_client() -> HealthClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.enforce_http(true);
    // ALB opens a connection per check; no pooling, so a check never rides on
    // a connection the data plane or an earlier check left open.
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_max_idle_per_host(0)
        .build(connector)
}

/// Removes registrations whose deregistration delay has passed by `now`.
/// The one place that does: this loop sweeps every `DRAIN_SWEEP`, and the
/// ELBv2 API and the scheduler call it first so that they see them gone.
/// Writes (and so wakes the data plane and the scheduler) only when
/// something expired.
pub fn expire_draining(store: &Store, now: OffsetDateTime) {
    if store.read(|s| s.elbv2.has_expired_draining(now)) {
        store.write(|s| s.elbv2.expire_draining(now));
    }
}

/// Every registration that must be checked: not draining, in a target group
/// with health checks on that some listener or rule forwards to.
fn desired_checks(store: &Store) -> HashMap<CheckKey, CheckSpec> {
    store.read(|s| {
        let mut desired = HashMap::new();
        for tg in s.elbv2.target_groups.values() {
            if !tg.health_check.enabled || !s.elbv2.target_group_in_use(&tg.arn) {
                continue;
            }
            for reg in tg.registrations.iter().filter(|r| !r.is_draining()) {
                let port = match tg.health_check.port.parse::<u16>() {
                    Ok(p) => p,
                    Err(_) => reg.port, // traffic-port
                };
                desired.insert(
                    CheckKey {
                        tg_arn: tg.arn.clone(),
                        ip: reg.id,
                        port: reg.port,
                    },
                    CheckSpec {
                        settings: tg.health_check.clone(),
                        addr: SocketAddr::new(reg.id, port),
                    },
                );
            }
        }
        desired
    })
}

/// Checks one target until stopped.
async fn check_loop(
    store: Store,
    client: HealthClient,
    key: CheckKey,
    spec: CheckSpec,
    stop: CancellationToken,
) {
    let config = store.config().clone();
    let interval = config.scaled(Duration::from_secs(spec.settings.interval_seconds.into()));
    let timeout = Duration::from_secs(spec.settings.timeout_seconds.into());
    let Some(current) = current_health(&store, &key) else {
        return;
    };
    let mut tracker = Tracker::resume(&current);
    let mut reported = current;
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        // The first tick fires at once: new targets are checked right away.
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = ticks.tick() => {}
        }
        let result = tokio::select! {
            _ = stop.cancelled() => return,
            r = probe(&client, &spec, timeout) => r,
        };
        tracker.record(&result, &spec.settings);
        let health = tracker.health();
        if health != reported {
            if !write_health(&store, &key, &health) {
                return; // deregistered meanwhile
            }
            tracing::debug!(target = %spec.addr, state = health.state.as_str(),
                reason = ?health.reason, "target health changed");
            reported = health;
        }
    }
}

fn current_health(store: &Store, key: &CheckKey) -> Option<TargetHealth> {
    store.read(|s| {
        s.elbv2
            .target_groups
            .get(&key.tg_arn)?
            .registrations
            .iter()
            .find(|r| r.id == key.ip && r.port == key.port && !r.is_draining())
            .map(|r| r.health.clone())
    })
}

/// Records `health` on the registration; false when it is gone or draining.
fn write_health(store: &Store, key: &CheckKey, health: &TargetHealth) -> bool {
    if current_health(store, key).is_none() {
        return false;
    }
    store.write(|s| {
        let reg = s.elbv2.target_groups.get_mut(&key.tg_arn).and_then(|tg| {
            tg.registrations
                .iter_mut()
                .find(|r| r.id == key.ip && r.port == key.port && !r.is_draining())
        });
        match reg {
            Some(reg) => {
                reg.health = health.clone();
                true
            }
            None => false,
        }
    })
}

/// The outcome of one health check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Probe {
    Pass,
    /// The response code is not in the matcher.
    CodeMismatch(u16),
    /// No response within the timeout.
    Timeout,
    /// Connection refused or reset, or a malformed response.
    Failed,
}

async fn probe(client: &HealthClient, spec: &CheckSpec, timeout: Duration) -> Probe {
    let path = if spec.settings.path.starts_with('/') {
        spec.settings.path.clone()
    } else {
        format!("/{}", spec.settings.path)
    };
    let req = Request::get(format!("http://{}{}", spec.addr, path))
        .header(http::header::USER_AGENT, USER_AGENT)
        .header(http::header::HOST, spec.addr.to_string())
        .body(Empty::new());
    let Ok(req) = req else {
        return Probe::Failed;
    };
    match tokio::time::timeout(timeout, client.request(req)).await {
        Err(_) => Probe::Timeout,
        Ok(Err(_)) => Probe::Failed,
        Ok(Ok(resp)) => {
            let code = resp.status();
            if matcher_accepts(&spec.settings.matcher, code) {
                Probe::Pass
            } else {
                Probe::CodeMismatch(code.as_u16())
            }
        }
    }
}

/// Whether `Matcher.HttpCode` (`200`, `200,202`, `200-299`, or a mix)
/// accepts `code`.
pub fn matcher_accepts(matcher: &str, code: StatusCode) -> bool {
    let code = code.as_u16();
    matcher
        .split(',')
        .map(str::trim)
        .any(|part| match part.split_once('-') {
            Some((lo, hi)) => match (lo.trim().parse::<u16>(), hi.trim().parse::<u16>()) {
                (Ok(lo), Ok(hi)) => (lo..=hi).contains(&code),
                _ => false,
            },
            None => part.parse::<u16>() == Ok(code),
        })
}

/// Consecutive results and the state they lead to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracker {
    state: TargetState,
    passes: u32,
    failures: u32,
    last_failure: Option<Probe>,
}

impl Tracker {
    /// Continues from what the store reports: a healthy target stays healthy
    /// until it fails `unhealthy_threshold` checks; anything else is checked
    /// from `initial`, except an `unhealthy` one, which needs
    /// `healthy_threshold` passes.
    pub fn resume(current: &TargetHealth) -> Self {
        let state = match current.state {
            TargetState::Healthy => TargetState::Healthy,
            TargetState::Unhealthy => TargetState::Unhealthy,
            _ => TargetState::Initial,
        };
        Self {
            state,
            passes: 0,
            failures: 0,
            last_failure: None,
        }
    }

    pub fn record(&mut self, probe: &Probe, settings: &HealthCheckSettings) {
        if *probe == Probe::Pass {
            self.passes = self.passes.saturating_add(1);
            self.failures = 0;
            let promote = match self.state {
                // "A newly registered target becomes healthy after it passes
                // one health check" (ALB guide).
                TargetState::Initial => true,
                TargetState::Unhealthy => self.passes >= settings.healthy_threshold,
                _ => false,
            };
            if promote {
                self.state = TargetState::Healthy;
                self.last_failure = None;
            }
        } else {
            self.failures = self.failures.saturating_add(1);
            self.passes = 0;
            self.last_failure = Some(probe.clone());
            if self.failures >= settings.unhealthy_threshold {
                self.state = TargetState::Unhealthy;
            }
        }
    }

    /// The health to report.
    pub fn health(&self) -> TargetHealth {
        match self.state {
            TargetState::Healthy => TargetHealth::healthy(),
            TargetState::Unhealthy => {
                let (reason, description) = match &self.last_failure {
                    Some(Probe::CodeMismatch(code)) => (
                        "Target.ResponseCodeMismatch",
                        format!("Health checks failed with these codes: [{code}]"),
                    ),
                    Some(Probe::Timeout) => ("Target.Timeout", "Request timed out".to_string()),
                    _ => (
                        "Target.FailedHealthChecks",
                        "Health checks failed".to_string(),
                    ),
                };
                TargetHealth {
                    state: TargetState::Unhealthy,
                    reason: Some(reason),
                    description: Some(description),
                }
            }
            _ => TargetHealth {
                state: TargetState::Initial,
                reason: Some("Elb.InitialHealthChecking"),
                description: Some("Initial health checks in progress".into()),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> HealthCheckSettings {
        HealthCheckSettings {
            enabled: true,
            protocol: "HTTP".into(),
            port: "traffic-port".into(),
            path: "/".into(),
            interval_seconds: 5,
            timeout_seconds: 2,
            healthy_threshold: 3,
            unhealthy_threshold: 2,
            matcher: "200".into(),
        }
    }

    #[test]
    fn matcher_lists_and_ranges() {
        let ok = |m: &str, c: u16| matcher_accepts(m, StatusCode::from_u16(c).unwrap());
        assert!(ok("200", 200));
        assert!(!ok("200", 204));
        assert!(ok("200,202", 202));
        assert!(!ok("200,202", 201));
        assert!(ok("200-299", 250));
        assert!(!ok("200-299", 300));
        assert!(ok("200, 300-399", 302));
        assert!(!ok("bogus", 200));
    }

    #[test]
    fn new_target_healthy_after_one_pass() {
        let s = settings();
        let mut t = Tracker::resume(&TargetHealth::registration_in_progress());
        assert_eq!(t.health().reason, Some("Elb.InitialHealthChecking"));
        t.record(&Probe::Pass, &s);
        assert_eq!(t.health(), TargetHealth::healthy());
    }

    #[test]
    fn initial_target_fails_to_unhealthy_after_threshold() {
        let s = settings();
        let mut t = Tracker::resume(&TargetHealth::registration_in_progress());
        t.record(&Probe::CodeMismatch(404), &s);
        assert_eq!(t.health().state, TargetState::Initial);
        t.record(&Probe::CodeMismatch(404), &s);
        let h = t.health();
        assert_eq!(h.state, TargetState::Unhealthy);
        assert_eq!(h.reason, Some("Target.ResponseCodeMismatch"));
        assert_eq!(
            h.description.as_deref(),
            Some("Health checks failed with these codes: [404]")
        );
    }

    #[test]
    fn healthy_unhealthy_and_back_with_thresholds() {
        let s = settings();
        let mut t = Tracker::resume(&TargetHealth::healthy());
        t.record(&Probe::Timeout, &s);
        assert_eq!(t.health().state, TargetState::Healthy);
        // A pass resets the failure streak.
        t.record(&Probe::Pass, &s);
        t.record(&Probe::Timeout, &s);
        assert_eq!(t.health().state, TargetState::Healthy);
        t.record(&Probe::Timeout, &s);
        let h = t.health();
        assert_eq!(h.state, TargetState::Unhealthy);
        assert_eq!(h.reason, Some("Target.Timeout"));
        assert_eq!(h.description.as_deref(), Some("Request timed out"));

        t.record(&Probe::Failed, &s);
        assert_eq!(t.health().reason, Some("Target.FailedHealthChecks"));
        t.record(&Probe::Pass, &s);
        t.record(&Probe::Pass, &s);
        assert_eq!(t.health().state, TargetState::Unhealthy);
        t.record(&Probe::Pass, &s);
        assert_eq!(t.health(), TargetHealth::healthy());
    }
}
