//! What a demo run measured, and how the terminal shows it: one table per
//! phase (bars, count, share, max/min, coefficient of variation) and a
//! summary that compares the phases.

use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use super::driver::requests_for;
use super::{Algorithm, Scenario};

/// Width of a bar in terminal cells at full scale.
const BAR_WIDTH: usize = 40;
/// Sub-cell steps of a bar (eighths), from full to empty.
const EIGHTHS: [char; 8] = ['█', '▉', '▊', '▋', '▌', '▍', '▎', '▏'];

/// A task the demo sends load to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoTask {
    /// The task id (the last segment of its ARN).
    pub id: String,
    /// Its private IPv4 address on the task network.
    pub ip: Ipv4Addr,
    /// Started with `RESPONSE_DELAY_MS` (the `slow-task` scenario).
    pub slow: bool,
}

impl DemoTask {
    /// `task 1 172.18.0.3`, plus `slow` for the slow task.
    pub fn label(&self, index: usize) -> String {
        let slow = if self.slow { " slow" } else { "" };
        format!("task {} {}{slow}", index + 1, self.ip)
    }
}

/// How a phase's requests reached the tasks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// Each client keeps one task IP.
    Direct,
    /// Through the ALB listener, with this algorithm.
    Alb(Algorithm),
}

impl Route {
    pub fn title(&self) -> String {
        match self {
            Self::Direct => "Without a load balancer: each client keeps one task IP".into(),
            Self::Alb(a) => format!("Through the ALB ({a})"),
        }
    }

    /// `direct`, `ALB round_robin`.
    pub fn short(&self) -> String {
        match self {
            Self::Direct => "direct".into(),
            Self::Alb(a) => format!("ALB {a}"),
        }
    }
}

/// Latency of the successful requests of a phase.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LatencySummary {
    pub count: usize,
    pub mean: Duration,
    pub p50: Duration,
    pub p90: Duration,
    pub p95: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl LatencySummary {
    pub fn new(mut samples: Vec<Duration>) -> Self {
        if samples.is_empty() {
            return Self::default();
        }
        samples.sort_unstable();
        let n = samples.len();
        // Nearest rank: the smallest sample with at least p% at or below it.
        let rank = |p: f64| samples[((p * n as f64).ceil() as usize).clamp(1, n) - 1];
        Self {
            count: n,
            mean: samples.iter().sum::<Duration>() / n as u32,
            p50: rank(0.50),
            p90: rank(0.90),
            p95: rank(0.95),
            p99: rank(0.99),
            max: samples[n - 1],
        }
    }
}

/// One phase: the same load, one route.
#[derive(Debug, Clone)]
pub struct PhaseReport {
    pub route: Route,
    /// Successful answers per task, in the order of [`DemoReport::tasks`].
    pub counts: Vec<u64>,
    /// Clients per task, in the direct phase.
    pub clients_per_task: Option<Vec<usize>>,
    /// Successful answers from an address that is none of the tasks.
    pub unknown: u64,
    /// Requests without a 2xx answer (connection errors, timeouts, 5xx).
    pub failed: u64,
    /// Requests the phase was to send.
    pub planned: u64,
    /// Requests sent before the deadline.
    pub sent: u64,
    pub elapsed: Duration,
    pub latency: LatencySummary,
}

impl PhaseReport {
    /// Successful answers from the tasks.
    pub fn answered(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Every planned request was sent and answered by a task.
    pub fn complete(&self) -> bool {
        self.sent == self.planned && self.failed == 0 && self.unknown == 0
    }

    /// Task `i`'s fraction of the answers.
    pub fn share(&self, i: usize) -> f64 {
        let total = self.answered();
        if total == 0 {
            0.0
        } else {
            self.counts[i] as f64 / total as f64
        }
    }

    /// What each task would get with a perfectly even spread.
    pub fn even_share(&self) -> f64 {
        self.answered() as f64 / self.counts.len().max(1) as f64
    }

    pub fn max(&self) -> u64 {
        self.counts.iter().copied().max().unwrap_or(0)
    }

    pub fn min(&self) -> u64 {
        self.counts.iter().copied().min().unwrap_or(0)
    }

    /// Coefficient of variation of the per-task counts: population standard
    /// deviation over the mean. 0 is perfectly even.
    pub fn cv(&self) -> f64 {
        let mean = self.even_share();
        if mean == 0.0 {
            return 0.0;
        }
        let n = self.counts.len() as f64;
        let variance = self
            .counts
            .iter()
            .map(|&c| (c as f64 - mean).powi(2))
            .sum::<f64>()
            / n;
        variance.sqrt() / mean
    }

    /// Requests per second over the phase.
    pub fn throughput(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.answered() as f64 / secs
        } else {
            0.0
        }
    }
}

/// Everything a demo run measured.
#[derive(Debug, Clone)]
pub struct DemoReport {
    pub scenario: Scenario,
    /// Seed of the direct phase's DNS-like answers.
    pub seed: u64,
    pub clients: usize,
    /// Requests per phase.
    pub requests: u64,
    pub tasks: Vec<DemoTask>,
    /// In run order: direct (unless the host cannot reach task IPs), then
    /// one ALB phase per algorithm.
    pub phases: Vec<PhaseReport>,
    /// Where the chart was written.
    pub svg: Option<PathBuf>,
    /// The in-process emulator's instance name (its Docker label).
    pub instance: Option<String>,
    /// Setup plus phases (not teardown).
    pub elapsed: Duration,
}

impl DemoReport {
    pub fn phase(&self, route: Route) -> Option<&PhaseReport> {
        self.phases.iter().find(|p| p.route == route)
    }

    pub fn direct(&self) -> Option<&PhaseReport> {
        self.phase(Route::Direct)
    }

    /// Index of the slow task, in `slow-task`.
    pub fn slow_task(&self) -> Option<usize> {
        self.tasks.iter().position(|t| t.slow)
    }
}

/// The count at which every table's bars are full: the direct phase's
/// largest expected count (known from the assignment), or 1.4 x an even
/// share, whichever is larger, so all tables share one scale.
pub fn bar_scale(assignment: &[usize], requests: u64, tasks: usize) -> u64 {
    let clients = assignment.len();
    let mut direct = vec![0u64; tasks];
    for (c, &t) in assignment.iter().enumerate() {
        direct[t] += requests_for(c, clients, requests);
    }
    let direct_max = direct.into_iter().max().unwrap_or(0);
    let headroom = (requests as f64 * 1.4 / tasks.max(1) as f64).ceil() as u64;
    direct_max.max(headroom.min(requests)).max(1)
}

/// A bar of `value / scale` x `BAR_WIDTH` cells, in eighths.
pub fn bar(value: u64, scale: u64) -> String {
    let eighths =
        ((value.min(scale) as f64 / scale.max(1) as f64) * (BAR_WIDTH * 8) as f64).round() as usize;
    let mut s = "█".repeat(eighths / 8);
    if !eighths.is_multiple_of(8) {
        s.push(EIGHTHS[8 - eighths % 8]);
    }
    let cells = s.chars().count();
    s.push_str(&" ".repeat(BAR_WIDTH - cells));
    s
}

/// The tasks, before the phases.
pub fn render_tasks(tasks: &[DemoTask], listener_port: u16) -> String {
    let mut out = format!(
        "{} tasks behind the ALB listener 127.0.0.1:{listener_port}:\n",
        tasks.len()
    );
    for (i, t) in tasks.iter().enumerate() {
        let _ = writeln!(out, "  {:<26} task id {}", t.label(i), t.id);
    }
    out.pop();
    out
}

/// One phase's table.
pub fn render_phase(tasks: &[DemoTask], phase: &PhaseReport, scale: u64) -> String {
    let mut out = String::new();
    let clients = phase.clients_per_task.as_ref();
    let _ = writeln!(
        out,
        "  {:<26} {:>7} {:<BAR_WIDTH$} {:>6} {:>7} {:>8}",
        "",
        if clients.is_some() { "clients" } else { "" },
        "",
        "count",
        "share",
        "vs even"
    );
    let even = phase.even_share();
    for (i, task) in tasks.iter().enumerate() {
        let count = phase.counts[i];
        let versus = if even > 0.0 {
            format!("{:+.0}%", (count as f64 / even - 1.0) * 100.0)
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "  {:<26} {:>7} {} {:>6} {:>6.1}% {:>8}",
            task.label(i),
            clients.map(|c| c[i].to_string()).unwrap_or_default(),
            bar(count, scale),
            count,
            phase.share(i) * 100.0,
            versus
        );
    }
    let _ = writeln!(
        out,
        "  max/min {}/{} ({})  ·  CV {:.2}  ·  latency p50 {} p99 {} max {}  ·  {} ok, {} failed in {} ({:.0} req/s){}",
        phase.max(),
        phase.min(),
        ratio(phase.max(), phase.min()),
        phase.cv(),
        ms(phase.latency.p50),
        ms(phase.latency.p99),
        ms(phase.latency.max),
        phase.answered(),
        phase.failed,
        secs(phase.elapsed),
        phase.throughput(),
        if phase.sent < phase.planned {
            format!(
                "  ·  stopped at the time limit: {} of {} sent",
                phase.sent, phase.planned
            )
        } else {
            String::new()
        }
    );
    out.pop();
    out
}

/// The comparison after the last phase.
pub fn render_summary(report: &DemoReport) -> String {
    let mut out = String::from("\nSummary\n");
    let _ = writeln!(
        out,
        "  {:<34} {:>6} {:>11} {:>9} {:>9} {:>9} {:>9} {:>8}",
        "", "CV", "max/min", "p50", "p95", "p99", "mean", "time"
    );
    for phase in &report.phases {
        let _ = writeln!(
            out,
            "  {:<34} {:>6.2} {:>11} {:>9} {:>9} {:>9} {:>9} {:>8}",
            phase.route.short(),
            phase.cv(),
            format!("{}/{}", phase.max(), phase.min()),
            ms(phase.latency.p50),
            ms(phase.latency.p95),
            ms(phase.latency.p99),
            ms(phase.latency.mean),
            secs(phase.elapsed)
        );
    }
    let alb = report
        .phases
        .iter()
        .find(|p| matches!(p.route, Route::Alb(_)));
    if let (Some(direct), Some(alb)) = (report.direct(), alb) {
        let idle = direct.counts.iter().filter(|&&c| c == 0).count();
        let _ = writeln!(
            out,
            "\n  Without a load balancer {} clients kept {} of {} tasks busy{}: max/min {}/{}, CV {:.2}.\n  Through the ALB the same load spread to every task: max/min {}/{}, CV {:.2}.",
            report.clients,
            report.tasks.len() - idle,
            report.tasks.len(),
            if idle > 0 {
                format!(" ({idle} got nothing)")
            } else {
                String::new()
            },
            direct.max(),
            direct.min(),
            direct.cv(),
            alb.max(),
            alb.min(),
            alb.cv()
        );
    }
    if report.direct().is_some_and(|d| d.cv() == 0.0) && report.tasks.len() > 1 {
        let _ = writeln!(
            out,
            "  This draw happened to give every task the same number of clients, which random\n  \
             answers do now and then; run again, or pass another --seed, to see the usual skew."
        );
    }
    if let Some(comparison) = render_slow_comparison(report) {
        out.push_str(&comparison);
    }
    if let Some(svg) = &report.svg {
        let _ = writeln!(out, "\n  Chart: {}", svg.display());
    }
    let _ = write!(
        out,
        "  Seed {} (--seed {} repeats the direct phase's assignment).",
        report.seed, report.seed
    );
    out
}

/// round_robin against least_outstanding_requests, in `slow-task`.
fn render_slow_comparison(report: &DemoReport) -> Option<String> {
    let slow = report.slow_task()?;
    let rr = report.phase(Route::Alb(Algorithm::RoundRobin))?;
    let lor = report.phase(Route::Alb(Algorithm::LeastOutstandingRequests))?;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n  With a slow task ({}):\n  {:<30} {:>16} {:>28}",
        report.tasks[slow].label(slow),
        "",
        "round_robin",
        "least_outstanding_requests"
    );
    let rows = [
        (
            "requests to the slow task",
            format!("{} ({:.1}%)", rr.counts[slow], rr.share(slow) * 100.0),
            format!("{} ({:.1}%)", lor.counts[slow], lor.share(slow) * 100.0),
        ),
        ("latency p50", ms(rr.latency.p50), ms(lor.latency.p50)),
        ("latency p95", ms(rr.latency.p95), ms(lor.latency.p95)),
        ("latency p99", ms(rr.latency.p99), ms(lor.latency.p99)),
        ("latency mean", ms(rr.latency.mean), ms(lor.latency.mean)),
        ("time for all requests", secs(rr.elapsed), secs(lor.elapsed)),
    ];
    for (name, a, b) in rows {
        let _ = writeln!(out, "  {name:<30} {a:>16} {b:>28}");
    }
    let fewer = rr.counts[slow] as f64 / lor.counts[slow].max(1) as f64;
    let faster = rr.elapsed.as_secs_f64() / lor.elapsed.as_secs_f64().max(1e-6);
    let _ = writeln!(
        out,
        "  least_outstanding_requests sent {fewer:.1}x fewer requests to the slow task: mean latency {} -> {},\n  \
         p95 {} -> {}; all requests done {faster:.1}x sooner. (When only a few clients are left, every\n  \
         target is idle, ties rotate and the slow task gets its turn again: p99 and the total time\n  \
         vary from run to run, the share and the mean much less.)",
        ms(rr.latency.mean),
        ms(lor.latency.mean),
        ms(rr.latency.p95),
        ms(lor.latency.p95),
    );
    Some(out)
}

/// `3.0x`, or `∞` when the minimum is zero.
fn ratio(max: u64, min: u64) -> String {
    if min == 0 {
        if max == 0 {
            "-".into()
        } else {
            "∞".into()
        }
    } else {
        format!("{:.2}x", max as f64 / min as f64)
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(counts: Vec<u64>) -> PhaseReport {
        PhaseReport {
            route: Route::Direct,
            planned: counts.iter().sum(),
            sent: counts.iter().sum(),
            counts,
            clients_per_task: None,
            unknown: 0,
            failed: 0,
            elapsed: Duration::from_secs(1),
            latency: LatencySummary::default(),
        }
    }

    #[test]
    fn cv_is_zero_when_even_and_grows_with_skew() {
        assert_eq!(phase(vec![500; 4]).cv(), 0.0);
        // Counts 1000, 0, 500, 500: mean 500, deviations 500, 500, 0, 0.
        let skewed = phase(vec![1000, 0, 500, 500]);
        let expected = (500_000f64 / 4.0).sqrt() / 500.0;
        assert!((skewed.cv() - expected).abs() < 1e-9);
        assert_eq!((skewed.max(), skewed.min()), (1000, 0));
        assert_eq!(skewed.share(0), 0.5);
    }

    #[test]
    fn percentiles_use_nearest_rank() {
        let samples = (1..=100).map(Duration::from_millis).collect();
        let l = LatencySummary::new(samples);
        assert_eq!(l.p50, Duration::from_millis(50));
        assert_eq!(l.p99, Duration::from_millis(99));
        assert_eq!(l.max, Duration::from_millis(100));
        assert_eq!(LatencySummary::new(vec![]).count, 0);
    }

    #[test]
    fn bars_scale_in_eighths() {
        assert_eq!(bar(0, 100).trim_end(), "");
        assert_eq!(bar(100, 100), "█".repeat(BAR_WIDTH));
        assert_eq!(bar(200, 100), "█".repeat(BAR_WIDTH));
        // Half of 40 cells.
        assert_eq!(bar(50, 100).trim_end(), "█".repeat(20));
        assert_eq!(bar(1, 320).trim_end(), "▏");
        assert_eq!(bar(7, 100).chars().count(), BAR_WIDTH);
    }

    #[test]
    fn scale_covers_the_direct_skew() {
        // Clients 0..4 all on task 0: 4 x 250 of 1000 requests.
        assert_eq!(bar_scale(&[0, 0, 0, 0], 1000, 4), 1000);
        // Even: 1.4 x 250.
        assert_eq!(bar_scale(&[0, 1, 2, 3], 1000, 4), 350);
    }
}
