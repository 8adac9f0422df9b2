//! The load: C clients, each with its own keep-alive connection, sending
//! `GET /` and counting which task answered by the `ip` in sample-app's JSON.
//!
//! Bounded three ways: a request count per client, a deadline for the phase,
//! and a timeout per request. The client tasks live in a `JoinSet`, so
//! dropping the phase (Ctrl-C) aborts them.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::report::{DemoTask, LatencySummary, PhaseReport, Route};
use super::APP_PORT;

/// Longest wait for one response. sample-app answers in well under a
/// second (plus the slow task's delay); a stuck request must not stall a phase.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait for a TCP connection when checking that task IPs are reachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);

/// Which task each client talks to in the direct phase, as a DNS-like
/// lookup decides it: the name resolves to every task IP in a random order
/// (one shuffle per client, seeded), and the client keeps the first answer
/// (a cached DNS answer, a hard-coded IP). With a fixed seed the assignment
/// is the same on every run.
pub fn dns_assignment(seed: u64, clients: usize, tasks: usize) -> Vec<usize> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut answer: Vec<usize> = (0..tasks).collect();
    (0..clients)
        .map(|_| {
            answer.shuffle(&mut rng);
            answer.first().copied().unwrap_or(0)
        })
        .collect()
}

/// How many of `total` requests client `client` of `clients` sends: an even
/// split, the first `total % clients` clients send one more.
pub fn requests_for(client: usize, clients: usize, total: u64) -> u64 {
    let clients = clients.max(1) as u64;
    let client = client as u64;
    total / clients + u64::from(client < total % clients)
}

/// Connects once to every task's `IP:8080`. The direct phase needs the host
/// to reach container IPs (true on Linux, not on Docker Desktop).
pub async fn check_reachable(tasks: &[DemoTask]) -> Result<(), String> {
    for task in tasks {
        let addr = (task.ip, APP_PORT);
        match tokio::time::timeout(CONNECT_TIMEOUT, tokio::net::TcpStream::connect(addr)).await {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => return Err(format!("cannot connect to {}:{APP_PORT}: {e}", task.ip)),
            Err(_) => {
                return Err(format!(
                    "no connection to {}:{APP_PORT} within {CONNECT_TIMEOUT:?}",
                    task.ip
                ))
            }
        }
    }
    Ok(())
}

/// One phase's load.
pub struct PhasePlan<'a> {
    pub route: Route,
    pub tasks: &'a [DemoTask],
    /// The URL of each client: a task's `http://IP:8080/` or the listener.
    pub client_urls: Vec<String>,
    /// Client -> task index, in the direct phase.
    pub assignment: Option<Vec<usize>>,
    /// Requests of the phase, split evenly over the clients.
    pub requests: u64,
    /// Requests per second of all clients together; `None` is unpaced.
    pub rate: Option<u64>,
    pub time_limit: Duration,
}

/// Live bars of one phase: the total, and one bar per task whose length is
/// the common scale of every table, so skew shows while it happens.
pub struct Progress {
    total: ProgressBar,
    per_task: Vec<ProgressBar>,
}

impl Progress {
    pub fn new(multi: &MultiProgress, tasks: &[DemoTask], requests: u64, scale: u64) -> Self {
        let total = multi.add(ProgressBar::new(requests));
        total.set_style(
            ProgressStyle::with_template(
                "  {prefix:<26} {bar:40.green/black} {pos:>6}/{len} {elapsed:>4}",
            )
            .expect("valid template")
            .progress_chars("█▉▊▋▌▍▎▏ "),
        );
        total.set_prefix("all requests");
        let style = ProgressStyle::with_template("  {prefix:<26} {bar:40.cyan/black} {pos:>6}")
            .expect("valid template")
            .progress_chars("█▉▊▋▌▍▎▏ ");
        let per_task = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let bar = multi.add(ProgressBar::new(scale.max(1)));
                bar.set_style(style.clone());
                bar.set_prefix(t.label(i));
                bar
            })
            .collect();
        Self { total, per_task }
    }

    fn finish(&self) {
        for bar in std::iter::once(&self.total).chain(&self.per_task) {
            bar.finish_and_clear();
        }
    }
}

/// What one client saw.
#[derive(Default)]
struct Tally {
    counts: Vec<u64>,
    unknown: u64,
    failed: u64,
    sent: u64,
    latencies: Vec<Duration>,
}

/// Runs the phase to completion (or its deadline) and reports it.
pub async fn run_phase(plan: PhasePlan<'_>, progress: &Progress) -> PhaseReport {
    let by_ip: Arc<HashMap<String, usize>> = Arc::new(
        plan.tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.ip.to_string(), i))
            .collect(),
    );
    let clients = plan.client_urls.len();
    let started = Instant::now();
    let deadline = started + plan.time_limit;
    // Each client paces itself at rate/clients; starts are staggered so the
    // clients do not fire in lockstep.
    let period = plan
        .rate
        .map(|r| Duration::from_secs_f64(clients as f64 / r.max(1) as f64));
    let mut set = JoinSet::new();
    for (c, url) in plan.client_urls.iter().enumerate() {
        let client = ClientRun {
            url: url.clone(),
            requests: requests_for(c, clients, plan.requests),
            pacing: period.map(|p| (started + p.mul_f64(c as f64 / clients as f64), p)),
            deadline,
            by_ip: by_ip.clone(),
            total_bar: progress.total.clone(),
            task_bars: progress.per_task.clone(),
        };
        set.spawn(client.run());
    }
    let mut tally = Tally {
        counts: vec![0; plan.tasks.len()],
        ..Tally::default()
    };
    while let Some(joined) = set.join_next().await {
        // A client task only ends early by panicking; count nothing for it.
        let Ok(t) = joined else { continue };
        for (sum, n) in tally.counts.iter_mut().zip(&t.counts) {
            *sum += n;
        }
        tally.unknown += t.unknown;
        tally.failed += t.failed;
        tally.sent += t.sent;
        tally.latencies.extend(t.latencies);
    }
    let elapsed = started.elapsed();
    progress.finish();
    let clients_per_task = plan.assignment.map(|a| {
        let mut per_task = vec![0; plan.tasks.len()];
        for t in a {
            per_task[t] += 1;
        }
        per_task
    });
    PhaseReport {
        route: plan.route,
        counts: tally.counts,
        clients_per_task,
        unknown: tally.unknown,
        failed: tally.failed,
        planned: plan.requests,
        sent: tally.sent,
        elapsed,
        latency: LatencySummary::new(tally.latencies),
    }
}

/// One client: one HTTP/1.1 connection (re-opened only if it breaks).
struct ClientRun {
    url: String,
    requests: u64,
    /// First send and the period between sends, when paced.
    pacing: Option<(Instant, Duration)>,
    deadline: Instant,
    by_ip: Arc<HashMap<String, usize>>,
    total_bar: ProgressBar,
    task_bars: Vec<ProgressBar>,
}

impl ClientRun {
    async fn run(self) -> Tally {
        let mut tally = Tally {
            counts: vec![0; self.task_bars.len()],
            ..Tally::default()
        };
        let Ok(uri) = self.url.parse::<hyper::Uri>() else {
            tally.failed = self.requests;
            return tally;
        };
        let mut connector = HttpConnector::new();
        // Small requests on a kept-alive connection: without TCP_NODELAY,
        // Nagle and delayed ACKs add tens of milliseconds to some of them.
        connector.set_nodelay(true);
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(1)
            .build(connector);
        let mut ticks = self.pacing.map(|(start, period)| {
            let mut ticks = tokio::time::interval_at(start, period);
            // A slow answer delays the next send; no burst to catch up.
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            ticks
        });
        for _ in 0..self.requests {
            if let Some(ticks) = ticks.as_mut() {
                tokio::select! {
                    _ = ticks.tick() => {}
                    _ = tokio::time::sleep_until(self.deadline) => break,
                }
            }
            let sent_at = Instant::now();
            if sent_at >= self.deadline {
                break;
            }
            let limit = self.deadline.min(sent_at + REQUEST_TIMEOUT);
            let answer = tokio::time::timeout_at(limit, async {
                let response = client.get(uri.clone()).await.ok()?;
                let ok = response.status().is_success();
                let body = response.into_body().collect().await.ok()?.to_bytes();
                ok.then_some(body)
            })
            .await;
            tally.sent += 1;
            self.total_bar.inc(1);
            match answer {
                Ok(Some(body)) => {
                    tally.latencies.push(sent_at.elapsed());
                    match served_by(&body).and_then(|ip| self.by_ip.get(&ip)) {
                        Some(&i) => {
                            tally.counts[i] += 1;
                            self.task_bars[i].inc(1);
                        }
                        None => tally.unknown += 1,
                    }
                }
                _ => tally.failed += 1,
            }
        }
        tally
    }
}

/// The `ip` field of sample-app's `GET /` answer.
fn served_by(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("ip")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignment_is_deterministic_per_seed() {
        assert_eq!(dns_assignment(7, 8, 4), dns_assignment(7, 8, 4));
        assert!(dns_assignment(7, 8, 4).iter().all(|&t| t < 4));
        assert_eq!(dns_assignment(1, 5, 1), vec![0; 5]);
        // Different seeds give different answers somewhere in 20 tries.
        let first = dns_assignment(0, 8, 4);
        assert!((1..20).any(|s| dns_assignment(s, 8, 4) != first));
    }

    #[test]
    fn requests_split_evenly() {
        let split: Vec<u64> = (0..3).map(|c| requests_for(c, 3, 10)).collect();
        assert_eq!(split, vec![4, 3, 3]);
        assert_eq!((0..8).map(|c| requests_for(c, 8, 2000)).sum::<u64>(), 2000);
    }

    #[test]
    fn the_answering_task_is_read_from_the_body() {
        let body = br#"{"ip":"10.0.0.3","hostname":"h","version":"v1","requests":1}"#;
        assert_eq!(served_by(body).as_deref(), Some("10.0.0.3"));
        assert_eq!(served_by(b"not json"), None);
    }
}
