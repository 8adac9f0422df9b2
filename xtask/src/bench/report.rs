//! What a load run measured ([`Sample`]), the contenders' samples, and the
//! markdown the report is made of: the per-contender tables, rounds won,
//! the load-CPU warning, pooled percentiles, the environment line.

use std::fmt::Write as _;

use super::setup::Tools;
use super::LOAD_CPU;

/// One load run's figures.
#[derive(Clone, Default)]
pub(super) struct Sample {
    pub(super) rps: f64,
    pub(super) p50_ms: f64,
    pub(super) p99_ms: f64,
    pub(super) requests: u64,
    pub(super) errors: u64,
    pub(super) cpu_per_10k: Option<f64>,
    pub(super) rss_kb: Option<u64>,
    /// Busy share of the proxy CPU and of the load CPU during the run (all
    /// processes): shows which side was the bottleneck.
    pub(super) busy: Option<(f64, f64)>,
    /// Every request's latency (oha runs only), for percentiles over all
    /// rounds together.
    pub(super) latencies_ms: Vec<f64>,
}

pub(super) struct Contender {
    pub(super) name: &'static str,
    pub(super) url: String,
    pub(super) pid: Option<u32>,
    pub(super) wrk: Vec<Sample>,
    pub(super) oha: Vec<Sample>,
}

impl Contender {
    pub(super) fn new(name: &'static str, url: String, pid: Option<u32>) -> Self {
        Self {
            name,
            url,
            pid,
            wrk: Vec::new(),
            oha: Vec::new(),
        }
    }
}

/// The markdown table of one load kind.
pub(super) fn table(contenders: &[Contender], pick: impl Fn(&Contender) -> &Vec<Sample>) -> String {
    let med = |name: &str| {
        contenders
            .iter()
            .find(|c| c.name == name)
            .map(|c| median(pick(c).iter().map(|x| x.rps)))
            .filter(|m| *m > 0.0)
    };
    let (direct, nginx, haproxy) = (med("direct"), med("nginx"), med("haproxy"));
    let mut t = String::new();
    t.push_str("| contender | req/s | p50 ms | p99 ms | CPU s / 10k req | peak RSS MiB | errors | CPU0 / CPU1 busy | vs direct | vs nginx | vs HAProxy |\n");
    t.push_str("|---|---|---|---|---|---|---|---|---|---|---|\n");
    for c in contenders {
        let samples = pick(c);
        if samples.is_empty() {
            continue;
        }
        let rps: Vec<f64> = samples.iter().map(|x| x.rps).collect();
        let p50: Vec<f64> = samples.iter().map(|x| x.p50_ms).collect();
        let p99: Vec<f64> = samples.iter().map(|x| x.p99_ms).collect();
        let cpu: Vec<f64> = samples.iter().filter_map(|x| x.cpu_per_10k).collect();
        let rss = samples.iter().filter_map(|x| x.rss_kb).max();
        let errors: u64 = samples.iter().map(|x| x.errors).sum();
        let busy0 = median(samples.iter().filter_map(|x| x.busy).map(|b| b.0));
        let busy1 = median(samples.iter().filter_map(|x| x.busy).map(|b| b.1));
        let m = median(rps.iter().copied());
        let ratio = |base: Option<f64>| match base {
            Some(b) => format!("{:.2}", m / b),
            None => "-".into(),
        };
        writeln!(
            t,
            "| {} | {} | {} | {} | {} | {} | {} | {:.0}% / {:.0}% | {} | {} | {} |",
            c.name,
            spread(&rps, 0),
            spread(&p50, 3),
            spread(&p99, 3),
            if cpu.is_empty() {
                "-".into()
            } else {
                format!("{:.3}", median(cpu.iter().copied()))
            },
            rss.map_or("-".into(), |kb| format!("{:.1}", kb as f64 / 1024.0)),
            errors,
            busy0 * 100.0,
            busy1 * 100.0,
            ratio(direct),
            ratio(nginx),
            ratio(haproxy),
        )
        .unwrap();
    }
    t
}

/// How often the ALB beat each other proxy round by round (the rounds are
/// interleaved, so sample i of every contender is round i): a median lead
/// may come from most rounds or from one. `with_rps`: also compare
/// requests/s (meaningless at the open loop's fixed rate). Empty when there
/// is nothing to compare.
pub(super) fn rounds_won(
    contenders: &[Contender],
    pick: impl Fn(&Contender) -> &Vec<Sample>,
    with_rps: bool,
) -> String {
    let Some(alb) = contenders.iter().find(|c| c.name == "alb") else {
        return String::new();
    };
    let parts: Vec<String> = contenders
        .iter()
        .filter(|c| c.pid.is_some() && c.name != "alb" && !pick(c).is_empty())
        .map(|peer| {
            let won = RoundsWon::count(pick(alb), pick(peer));
            let rps = if with_rps {
                format!("more req/s in {} of {}, ", won.more_rps, won.rounds)
            } else {
                String::new()
            };
            format!(
                "against {}: {rps}lower p99 in {} of {}",
                peer.name, won.lower_p99, won.rounds
            )
        })
        .collect();
    if parts.is_empty() {
        return String::new();
    }
    format!(
        "\nRound by round, the ALB {} (a tie is not a win).\n",
        parts.join("; ")
    )
}

/// CPU 1's busy share (median of a proxy's rounds) from which the load
/// generator and the backends, not the proxy, cap the closed loop. Where a
/// proxy a quarter cheaper got no more through, CPU 1 was 96-99 % busy and
/// the ALB's and HAProxy's 94-98 %; 90 % leaves room for the spread.
const LOAD_CPU_CEILING: f64 = 0.9;

/// A warning under the closed-loop table when every proxy ran with the load
/// CPU at [`LOAD_CPU_CEILING`]: then requests/s says more about wrk and the
/// backends than about the proxies (a proxy a quarter cheaper got no more
/// through: BENCHMARKS.md, "The ceiling is the load CPU"). Empty otherwise.
pub(super) fn load_cpu_ceiling(
    contenders: &[Contender],
    pick: impl Fn(&Contender) -> &Vec<Sample>,
) -> String {
    let load_busy: Vec<f64> = contenders
        .iter()
        .filter(|c| c.pid.is_some())
        .map(|c| median(pick(c).iter().filter_map(|x| x.busy).map(|b| b.1)))
        .collect();
    if load_busy.len() < 2 || load_busy.iter().any(|b| *b < LOAD_CPU_CEILING) {
        return String::new();
    }
    format!(
        "\nCPU {LOAD_CPU} (load generator and backends) was at least {:.0} % busy behind every \
         proxy: requests/s is near the load CPU's cap and does not rank the proxies \
         reliably; their CPU per request does.\n",
        LOAD_CPU_CEILING * 100.0
    )
}

/// Rounds the ALB won against one peer.
#[derive(Debug, PartialEq)]
pub(super) struct RoundsWon {
    pub(super) rounds: usize,
    pub(super) more_rps: usize,
    pub(super) lower_p99: usize,
}

impl RoundsWon {
    pub(super) fn count(alb: &[Sample], peer: &[Sample]) -> Self {
        let pairs = || alb.iter().zip(peer);
        Self {
            rounds: pairs().count(),
            more_rps: pairs().filter(|(a, p)| a.rps > p.rps).count(),
            lower_p99: pairs().filter(|(a, p)| a.p99_ms < p.p99_ms).count(),
        }
    }
}

/// `median (min-max)`, or just the value for one sample.
pub(super) fn spread(values: &[f64], decimals: usize) -> String {
    let m = median(values.iter().copied());
    if values.len() < 2 {
        return format!("{m:.decimals$}");
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{m:.decimals$} ({min:.decimals$}-{max:.decimals$})")
}

/// p50, p95 (nearest rank) and maximum of a non-empty sample.
pub(super) fn p50_p95_max(mut values: Vec<f64>) -> (f64, f64, f64) {
    values.sort_by(|a, b| a.total_cmp(b));
    let max = values[values.len() - 1];
    (nearest_rank(&values, 0.5), nearest_rank(&values, 0.95), max)
}

/// The `p` quantile (0 < p <= 1) of a sorted, non-empty sample, by nearest
/// rank.
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    let n = sorted.len();
    sorted[((n as f64 * p).ceil() as usize).clamp(1, n) - 1]
}

/// Percentiles over every request of every round, one row per contender.
/// A round's p99 rests on the few stalls of the load CPU that fall in it,
/// so the medians of the rounds' p99 move with where the stalls fell; the
/// pooled p99 counts the stalls of all rounds. A contender with a round
/// without latencies is left out; empty if all are.
pub(super) fn pooled_table(
    contenders: &[Contender],
    pick: impl Fn(&Contender) -> &Vec<Sample>,
) -> String {
    let mut t = String::new();
    for c in contenders {
        let rounds = pick(c);
        if rounds.is_empty() || rounds.iter().any(|x| x.latencies_ms.is_empty()) {
            continue;
        }
        let mut all: Vec<f64> = rounds
            .iter()
            .flat_map(|x| x.latencies_ms.iter().copied())
            .collect();
        all.sort_by(|a, b| a.total_cmp(b));
        if t.is_empty() {
            t.push_str("| contender | requests | p50 ms | p90 ms | p99 ms | p99.9 ms |\n");
            t.push_str("|---|---|---|---|---|---|\n");
        }
        writeln!(
            t,
            "| {} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
            c.name,
            all.len(),
            nearest_rank(&all, 0.5),
            nearest_rank(&all, 0.9),
            nearest_rank(&all, 0.99),
            nearest_rank(&all, 0.999),
        )
        .unwrap();
    }
    t
}

pub(super) fn median(values: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = values.collect();
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

pub(super) fn environment(tools: &Tools) -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
        .map(|s| s.trim().to_string())
        .unwrap_or_default();
    format!(
        "Environment: {cores} x {cpu}, Linux {kernel}; {}.\n",
        tools.versions.join("; ")
    )
}

pub(super) fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo xtask {}", args.join(" "))
}
