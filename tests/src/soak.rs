//! What the soak run (`cargo xtask soak`, driver `tests/src/bin/soak/main.rs`)
//! records, and its report: each request's outcome sorted into failures in
//! flight at a container kill, failures while the emulator was down, and
//! failures beyond those (the ones that count); containers leaked; the
//! emulator's RSS growth.

use std::fmt::Write as _;
use std::time::Duration;

/// Largest RSS growth, in percent, between the baseline and the end.
pub const MAX_RSS_GROWTH_PERCENT: f64 = 10.0;
/// How many failures beyond in-flight the report details.
const SHOWN_FAILURES: usize = 10;
/// Events this close to a detailed failure are listed with it.
const CONTEXT: Duration = Duration::from_secs(10);

/// One request of the steady load; times since the load started.
#[derive(Debug, Clone)]
pub struct Request {
    pub start: Duration,
    pub end: Duration,
    pub outcome: Outcome,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Status(u16),
    /// No response: connection error, timeout, a body cut short.
    Error(String),
}

impl Request {
    pub fn ok(&self) -> bool {
        matches!(self.outcome, Outcome::Status(200..=299))
    }

    /// Whether `[start, end]` overlaps `window`.
    fn overlaps(&self, window: &Window) -> bool {
        self.start <= window.end && self.end >= window.start
    }
}

impl std::fmt::Display for Outcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Status(s) => write!(f, "HTTP {s}"),
            Self::Error(e) => f.write_str(e),
        }
    }
}

/// A span of the run, since the load started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Duration,
    pub end: Duration,
}

/// Something the chaos did or saw.
#[derive(Debug, Clone)]
pub struct Event {
    /// When it began and ended (a kill: the `docker kill` call; the
    /// emulator's downtime: `kill -9` until the listener answered again).
    pub window: Window,
    pub kind: EventKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// `docker kill` of a task's app container.
    KillApp { task: String },
    /// `docker kill` of a task's network holder (its sandbox).
    KillNetworkHolder { task: String },
    /// From a kill until the killed task was seen no longer RUNNING: the
    /// ALB may still pick the dead target for a new request then.
    Unnoticed { task: String },
    /// A rolling deployment to a new revision, from UpdateService until the
    /// new tasks alone serve (`done`) or the deadline passed.
    Deployment { revision: i32, done: bool },
    /// `kill -9` of the emulator until its listener answered again (`back`),
    /// or until the run ended without it.
    EmulatorDown { back: bool },
    /// The service was steady again (its tasks running and healthy).
    Settled,
    /// Ctrl-C or SIGTERM, until the load stopped: the emulator, in the same
    /// process group, was stopping too; counted as downtime.
    Interrupted,
    /// Something went wrong that the run cannot treat as a request failure:
    /// a settle deadline passed, the restart lost the service.
    Problem(String),
}

impl EventKind {
    fn is_kill(&self) -> bool {
        matches!(self, Self::KillApp { .. } | Self::KillNetworkHolder { .. })
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::KillApp { task } => write!(f, "docker kill app container of task {task}"),
            Self::KillNetworkHolder { task } => {
                write!(f, "docker kill network holder of task {task}")
            }
            Self::Deployment { revision, done } => write!(
                f,
                "rolling deployment to revision {revision}{}",
                if *done { "" } else { " (did not finish)" }
            ),
            Self::EmulatorDown { back } => write!(
                f,
                "emulator killed (kill -9) and restarted{}",
                if *back {
                    ""
                } else {
                    "; its listener never answered again"
                }
            ),
            Self::Unnoticed { task } => {
                write!(f, "until task {task} was seen no longer RUNNING")
            }
            Self::Settled => f.write_str("steady"),
            Self::Interrupted => f.write_str("interrupted; the emulator stops too"),
            Self::Problem(p) => write!(f, "PROBLEM: {p}"),
        }
    }
}

/// Why a request failed, as far as the run can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureClass {
    /// It overlapped the emulator's downtime (or the stop after Ctrl-C):
    /// the ALB itself was gone.
    Downtime,
    /// It was in flight when a container was killed.
    InFlightAtKill,
    /// Neither: a failure the emulator owes an explanation for.
    Beyond,
}

/// Sorts a failed request; downtime first, as a kill during the downtime
/// is not what failed it.
pub fn classify(request: &Request, events: &[Event]) -> FailureClass {
    let overlaps = |pick: fn(&EventKind) -> bool| {
        events
            .iter()
            .filter(|e| pick(&e.kind))
            .any(|e| request.overlaps(&e.window))
    };
    if overlaps(|k| matches!(k, EventKind::EmulatorDown { .. } | EventKind::Interrupted)) {
        FailureClass::Downtime
    } else if overlaps(EventKind::is_kill) {
        FailureClass::InFlightAtKill
    } else {
        FailureClass::Beyond
    }
}

/// One reading of the emulator's VmRSS.
#[derive(Debug, Clone, Copy)]
pub struct RssSample {
    pub at: Duration,
    /// VmRSS, what the figures judge.
    pub kib: u64,
    /// RssAnon, the heap's share of it (the rest is the binary and files),
    /// written to the CSV to tell the two apart.
    pub anon_kib: u64,
    /// Threads of the process: each one carries its own allocator heap.
    pub threads: u64,
    /// Which emulator process: 0 before the restart, 1 after it.
    pub process: u32,
}

/// RSS of the restarted process: from a baseline after its warm-up to the end.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RssGrowth {
    pub baseline_at: Duration,
    pub baseline_kib: u64,
    pub final_at: Duration,
    pub final_kib: u64,
    pub min_kib: u64,
    pub max_kib: u64,
}

/// How long the baseline and the final level are each read over.
pub const RSS_LEVEL_WINDOW: Duration = Duration::from_secs(60);

impl RssGrowth {
    /// Growth of the last process's level, not of a moment: the baseline is
    /// the median of its samples in the first [`RSS_LEVEL_WINDOW`] from
    /// `baseline_from`, the final level the median of its last window (each
    /// window at most a quarter of the span). The allocator keeps and hands
    /// back memory in bursts, a few MiB either way around a deployment; a
    /// leak raises the whole last window, a burst does not. Min and max are
    /// over every sample from the baseline on. `None` without two samples.
    pub fn measure(samples: &[RssSample], baseline_from: Duration) -> Option<Self> {
        let process = samples.iter().map(|s| s.process).max()?;
        let span: Vec<&RssSample> = samples
            .iter()
            .filter(|s| s.process == process && s.at >= baseline_from)
            .collect();
        if span.len() < 2 {
            return None;
        }
        let (first, last) = (span[0].at, span[span.len() - 1].at);
        let window = RSS_LEVEL_WINDOW.min((last - first) / 4);
        let median = |pick: &dyn Fn(Duration) -> bool| {
            let mut kib: Vec<u64> = span.iter().filter(|s| pick(s.at)).map(|s| s.kib).collect();
            kib.sort_unstable();
            kib[kib.len() / 2]
        };
        Some(Self {
            baseline_at: first,
            baseline_kib: median(&|at| at <= first + window),
            final_at: last,
            final_kib: median(&|at| at + window >= last),
            min_kib: span.iter().map(|s| s.kib).min()?,
            max_kib: span.iter().map(|s| s.kib).max()?,
        })
    }

    pub fn percent(&self) -> f64 {
        (self.final_kib as f64 - self.baseline_kib as f64) * 100.0 / self.baseline_kib as f64
    }
}

/// Everything the run saw, for the report.
#[derive(Debug, Clone, Default)]
pub struct Run {
    pub minutes: f64,
    pub seed: u64,
    pub rate: u32,
    /// The emulator binary's build profile.
    pub profile: String,
    pub requests: Vec<Request>,
    pub events: Vec<Event>,
    pub rss: Vec<RssSample>,
    /// When the RSS baseline may be taken (warm-up after the restart).
    pub rss_baseline_from: Duration,
    /// Largest count of the instance's containers that belonged to no live
    /// task once the service was steady, over every settle.
    pub leaked_during_run: usize,
    /// What the instance left on the Docker engine after SIGTERM; `None`
    /// when the clean stop failed.
    pub left_after_stop: Option<(usize, usize)>,
    /// The run ended before its time (Ctrl-C, a harness error).
    pub aborted: Option<String>,
    /// `--no-restart`: the emulator was not restarted (such a run fails).
    pub restart_skipped: bool,
}

/// The figures the run is judged by.
#[derive(Debug, Clone, PartialEq)]
pub struct Figures {
    pub total: usize,
    pub failed: usize,
    pub in_flight_at_kill: usize,
    pub downtime: usize,
    pub beyond: usize,
    /// Of `beyond`, those that started while a killed task still looked
    /// RUNNING (see [`EventKind::Unnoticed`]).
    pub beyond_unnoticed: usize,
    pub rss: Option<RssGrowth>,
}

impl Run {
    /// The RSS samples as CSV (`seconds,process,kib,anon_kib,threads`),
    /// for plotting the curve the figures summarise.
    pub fn rss_csv(&self) -> String {
        let mut csv = String::from("seconds,process,kib,anon_kib,threads\n");
        for s in &self.rss {
            csv.push_str(&format!(
                "{:.1},{},{},{},{}\n",
                s.at.as_secs_f64(),
                s.process,
                s.kib,
                s.anon_kib,
                s.threads
            ));
        }
        csv
    }

    pub fn figures(&self) -> Figures {
        let mut f = Figures {
            total: self.requests.len(),
            failed: 0,
            in_flight_at_kill: 0,
            downtime: 0,
            beyond: 0,
            beyond_unnoticed: 0,
            rss: RssGrowth::measure(&self.rss, self.rss_baseline_from),
        };
        for r in self.requests.iter().filter(|r| !r.ok()) {
            f.failed += 1;
            match classify(r, &self.events) {
                FailureClass::Downtime => f.downtime += 1,
                FailureClass::InFlightAtKill => f.in_flight_at_kill += 1,
                FailureClass::Beyond => {
                    f.beyond += 1;
                    let unnoticed = self.events.iter().any(|e| {
                        matches!(e.kind, EventKind::Unnoticed { .. })
                            && e.window.start <= r.start
                            && r.start <= e.window.end
                    });
                    f.beyond_unnoticed += usize::from(unnoticed);
                }
            }
        }
        f
    }

    fn problems(&self) -> Vec<&str> {
        self.events
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::Problem(p) => Some(p.as_str()),
                _ => None,
            })
            .collect()
    }

    /// Why the run fails its done-when figures; empty when it passes.
    pub fn verdict(&self) -> Vec<String> {
        let f = self.figures();
        let mut failed = vec![];
        if let Some(why) = &self.aborted {
            failed.push(format!("the run was cut short: {why}"));
        }
        if self.restart_skipped {
            failed.push("the emulator restart was left out (--no-restart)".to_string());
        }
        if f.beyond > 0 {
            failed.push(format!("{} failures beyond in-flight", f.beyond));
        }
        if self.leaked_during_run > 0 {
            failed.push(format!(
                "{} containers of no live task during the run",
                self.leaked_during_run
            ));
        }
        match self.left_after_stop {
            Some((0, 0)) => {}
            Some((c, n)) => failed.push(format!(
                "{c} containers and {n} networks left after SIGTERM"
            )),
            None => failed.push("the clean stop (SIGTERM) failed".to_string()),
        }
        match f.rss {
            Some(rss) if rss.percent() < MAX_RSS_GROWTH_PERCENT => {}
            Some(rss) => failed.push(format!("RSS grew {:.1} %", rss.percent())),
            None => failed.push("too few RSS samples after the warm-up".to_string()),
        }
        for p in self.problems() {
            failed.push(p.to_string());
        }
        failed
    }

    fn count(&self, pick: impl Fn(&EventKind) -> bool) -> usize {
        self.events.iter().filter(|e| pick(&e.kind)).count()
    }

    /// The report: a table of figures, the failures beyond in-flight with
    /// what happened around them, and the timeline.
    pub fn markdown(&self) -> String {
        let f = self.figures();
        let verdict = self.verdict();
        let mut out = String::new();
        let _ = writeln!(
            out,
            "Soak: {} min, seed {}, {} req/s, emulator built `{}`\n",
            self.minutes, self.seed, self.rate, self.profile
        );
        let _ = writeln!(out, "| Figure | Value | Done when |");
        let _ = writeln!(out, "|---|---|---|");
        let mut row = |name: &str, value: String, target: &str| {
            let _ = writeln!(out, "| {name} | {value} | {target} |");
        };
        row("Requests", f.total.to_string(), "");
        row("Failed", f.failed.to_string(), "");
        row("- in flight at a kill", f.in_flight_at_kill.to_string(), "");
        let downtime: Duration = self
            .events
            .iter()
            .filter(|e| matches!(e.kind, EventKind::EmulatorDown { .. }))
            .map(|e| e.window.end.saturating_sub(e.window.start))
            .sum();
        row(
            "- during the emulator's downtime",
            format!("{} ({:.1} s down)", f.downtime, downtime.as_secs_f64()),
            "",
        );
        row("- beyond in-flight", f.beyond.to_string(), "0");
        if f.beyond_unnoticed > 0 {
            row(
                "  - of those, started before the emulator saw the kill",
                f.beyond_unnoticed.to_string(),
                "",
            );
        }
        if f.failed > 0 {
            row("Failures by outcome", failure_kinds(&self.requests), "");
        }
        if let Some((p50, p99, max)) = latency(&self.requests) {
            row(
                "Latency of successes p50 / p99 / max",
                format!("{p50:.1} / {p99:.1} / {max:.1} ms"),
                "",
            );
            row("Slowest successes", slowest(&self.requests), "");
        }
        row(
            "Kills: app containers / network holders",
            format!(
                "{} / {}",
                self.count(|k| matches!(k, EventKind::KillApp { .. })),
                self.count(|k| matches!(k, EventKind::KillNetworkHolder { .. }))
            ),
            "",
        );
        row(
            "Rolling deployments finished / started",
            format!(
                "{} / {}",
                self.count(|k| matches!(k, EventKind::Deployment { done: true, .. })),
                self.count(|k| matches!(k, EventKind::Deployment { .. }))
            ),
            "",
        );
        row(
            "Emulator restarts (kill -9)",
            self.count(|k| matches!(k, EventKind::EmulatorDown { .. }))
                .to_string(),
            "",
        );
        row(
            "Containers of no live task after a settle (max)",
            self.leaked_during_run.to_string(),
            "0",
        );
        row(
            "Containers / networks left after SIGTERM",
            match self.left_after_stop {
                Some((c, n)) => format!("{c} / {n}"),
                None => "clean stop failed".to_string(),
            },
            "0 / 0",
        );
        match f.rss {
            Some(rss) => {
                row(
                    "RSS baseline → final (medians over a minute)",
                    format!(
                        "{:.1} MiB from {:.0} s → {:.1} MiB to {:.0} s",
                        mib(rss.baseline_kib),
                        rss.baseline_at.as_secs_f64(),
                        mib(rss.final_kib),
                        rss.final_at.as_secs_f64()
                    ),
                    "",
                );
                row(
                    "RSS growth",
                    format!("{:+.1} %", rss.percent()),
                    &format!("< {MAX_RSS_GROWTH_PERCENT} %"),
                );
                row(
                    "RSS min / max since the baseline",
                    format!("{:.1} / {:.1} MiB", mib(rss.min_kib), mib(rss.max_kib)),
                    "",
                );
            }
            None => row("RSS growth", "not measured".to_string(), ""),
        }
        if let Some(first) = self.rss.iter().find(|s| s.process == 0) {
            let before = self.rss.iter().filter(|s| s.process == 0);
            row(
                "RSS of the first process (before any restart) first / max",
                format!(
                    "{:.1} / {:.1} MiB",
                    mib(first.kib),
                    mib(before.map(|s| s.kib).max().unwrap_or(0))
                ),
                "",
            );
        }
        row(
            "Result",
            if verdict.is_empty() { "PASS" } else { "FAIL" }.to_string(),
            "",
        );
        if !verdict.is_empty() {
            let _ = writeln!(out, "\nFails because:");
            for v in &verdict {
                let _ = writeln!(out, "- {v}");
            }
        }
        let beyond: Vec<&Request> = self
            .requests
            .iter()
            .filter(|r| !r.ok() && classify(r, &self.events) == FailureClass::Beyond)
            .collect();
        if !beyond.is_empty() {
            let _ = writeln!(
                out,
                "\nFirst failures beyond in-flight (of {}):",
                beyond.len()
            );
            for r in beyond.iter().take(SHOWN_FAILURES) {
                let _ = writeln!(
                    out,
                    "- {:.3}-{:.3} s: {}",
                    r.start.as_secs_f64(),
                    r.end.as_secs_f64(),
                    r.outcome
                );
                for e in self.events.iter().filter(|e| {
                    e.window.end + CONTEXT >= r.start && e.window.start <= r.end + CONTEXT
                }) {
                    let _ = writeln!(out, "  - {}: {}", span(&e.window), e.kind);
                }
            }
        }
        let _ = writeln!(out, "\nTimeline (seconds since the load started):");
        for e in &self.events {
            let _ = writeln!(out, "- {}: {}", span(&e.window), e.kind);
        }
        out
    }
}

fn span(w: &Window) -> String {
    format!("{:.3}-{:.3}", w.start.as_secs_f64(), w.end.as_secs_f64())
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Failed requests by outcome, the most frequent first (HTTP statuses, and
/// errors by their text up to the first colon), with the longest one took.
fn failure_kinds(requests: &[Request]) -> String {
    let mut kinds = std::collections::BTreeMap::<String, (usize, Duration)>::new();
    for r in requests.iter().filter(|r| !r.ok()) {
        let kind = match &r.outcome {
            Outcome::Status(s) => format!("HTTP {s}"),
            Outcome::Error(e) => e.split(':').next().unwrap_or(e).to_string(),
        };
        let (n, longest) = kinds.entry(kind).or_default();
        *n += 1;
        *longest = (*longest).max(r.end - r.start);
    }
    let mut kinds: Vec<(String, (usize, Duration))> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| b.1 .0.cmp(&a.1 .0).then_with(|| a.0.cmp(&b.0)));
    kinds
        .iter()
        .take(5)
        .map(|(k, (n, longest))| format!("{k}: {n} (up to {:.1} s)", longest.as_secs_f64()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The three slowest successful requests: duration and start.
fn slowest(requests: &[Request]) -> String {
    let mut ok: Vec<&Request> = requests.iter().filter(|r| r.ok()).collect();
    ok.sort_by_key(|r| std::cmp::Reverse(r.end - r.start));
    ok.iter()
        .take(3)
        .map(|r| {
            format!(
                "{:.0} ms at {:.1} s",
                (r.end - r.start).as_secs_f64() * 1000.0,
                r.start.as_secs_f64()
            )
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// p50, p99 and max of the successful requests, in milliseconds.
fn latency(requests: &[Request]) -> Option<(f64, f64, f64)> {
    let mut ms: Vec<f64> = requests
        .iter()
        .filter(|r| r.ok())
        .map(|r| (r.end - r.start).as_secs_f64() * 1000.0)
        .collect();
    if ms.is_empty() {
        return None;
    }
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Some((at(0.5), at(0.99), at(1.0)))
}

#[cfg(test)]
mod tests;
