//! The load generators: wrk (closed loop) and oha (open loop), pinned to
//! [`LOAD_CPU`], and the parsing of their output (oha's per-request
//! SQLite log included).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use serde_json::Value;

use super::process::{run_bounded, TempDir};
use super::report::Sample;
use super::{LOAD_CPU, LOAD_POLICY, RUN_SLACK};

/// A load generator (wrk or oha) and how it runs on [`LOAD_CPU`].
pub(super) struct LoadGen<'a> {
    bin: &'a Path,
    batch_sched: bool,
}

impl<'a> LoadGen<'a> {
    pub(super) fn new(bin: &'a Path, batch_sched: bool) -> Self {
        Self { bin, batch_sched }
    }

    /// Its command: pinned to [`LOAD_CPU`], under [`LOAD_POLICY`] unless
    /// `--no-batch-sched`.
    fn command(&self) -> Command {
        let mut cmd = if self.batch_sched {
            let mut c = Command::new("chrt");
            c.args([LOAD_POLICY, "0", "taskset"]);
            c
        } else {
            Command::new("taskset")
        };
        cmd.args(["-c", LOAD_CPU]).arg(self.bin);
        cmd
    }
}

pub(super) fn run_wrk(
    wrk: &LoadGen,
    url: &str,
    connections: usize,
    secs: u64,
    tmp: &TempDir,
) -> Result<Sample> {
    let mut cmd = wrk.command();
    cmd.args(["-t1", &format!("-c{connections}"), &format!("-d{secs}s")])
        .args(["--timeout", "10s", "--latency", url]);
    let text = run_bounded(&mut cmd, Duration::from_secs(secs) + RUN_SLACK, tmp)?;
    parse_wrk(&text).with_context(|| format!("parsing wrk output:\n{text}"))
}

pub(super) fn run_wrk_script(
    wrk: &Path,
    url: &str,
    script: &Path,
    connections: usize,
    secs: u64,
    tmp: &TempDir,
) -> Result<Sample> {
    let mut cmd = Command::new(wrk);
    cmd.args(["-t1", &format!("-c{connections}"), &format!("-d{secs}s")])
        .args(["--timeout", "10s", "--latency", "-s"])
        .arg(script)
        .arg(url);
    let text = run_bounded(&mut cmd, Duration::from_secs(secs) + RUN_SLACK, tmp)?;
    parse_wrk(&text).with_context(|| format!("parsing wrk output:\n{text}"))
}

pub(super) fn parse_wrk(text: &str) -> Result<Sample> {
    let mut s = Sample::default();
    let mut in_distribution = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("Latency Distribution") {
            in_distribution = true;
            continue;
        }
        if in_distribution {
            let mut it = line.split_whitespace();
            match (it.next(), it.next()) {
                (Some("50%"), Some(v)) => s.p50_ms = wrk_duration_ms(v)?,
                (Some("99%"), Some(v)) => s.p99_ms = wrk_duration_ms(v)?,
                (Some(p), _) if p.ends_with('%') => {}
                _ => in_distribution = false,
            }
        }
        if let Some(v) = line.strip_prefix("Requests/sec:") {
            s.rps = v.trim().parse()?;
        } else if let Some(v) = line.strip_prefix("Non-2xx or 3xx responses:") {
            s.errors += v.trim().parse::<u64>()?;
        } else if let Some(v) = line.strip_prefix("Socket errors:") {
            for part in v.split(',') {
                if let Some(n) = part.split_whitespace().nth(1) {
                    s.errors += n.parse::<u64>()?;
                }
            }
        } else if line.contains(" requests in ") {
            s.requests = line
                .split_whitespace()
                .next()
                .context("request count")?
                .parse()?;
        }
    }
    if s.requests == 0 && s.rps == 0.0 {
        bail!("no results");
    }
    Ok(s)
}

/// `486.00us`, `1.23ms`, `2.00s`, `1.5m` as milliseconds.
fn wrk_duration_ms(v: &str) -> Result<f64> {
    let (num, factor) = if let Some(n) = v.strip_suffix("us") {
        (n, 0.001)
    } else if let Some(n) = v.strip_suffix("ms") {
        (n, 1.0)
    } else if let Some(n) = v.strip_suffix('s') {
        (n, 1000.0)
    } else if let Some(n) = v.strip_suffix('m') {
        (n, 60_000.0)
    } else {
        bail!("unknown duration {v}")
    };
    Ok(num.parse::<f64>()? * factor)
}

pub(super) fn run_oha(
    oha: &LoadGen,
    url: &str,
    connections: usize,
    rate: u64,
    secs: u64,
    tmp: &TempDir,
) -> Result<Sample> {
    // oha writes every completed request to this SQLite file after the run
    // (about 0.2 s per 50k requests), so rounds can be pooled.
    let db = oha_db(tmp);
    let _ = std::fs::remove_file(&db);
    let mut cmd = oha.command();
    cmd.args([&format!("-z{secs}s"), &format!("-c{connections}")])
        .args([
            "-q",
            &rate.to_string(),
            "--latency-correction",
            "--no-tui",
            "--output-format",
            "json",
            "--db-url",
        ])
        .arg(&db)
        .arg(url);
    let text = run_bounded(&mut cmd, Duration::from_secs(secs) + RUN_SLACK, tmp)?;
    parse_oha(&text).with_context(|| format!("parsing oha output:\n{text}"))
}

/// The oha the bench installs: the version of every figure in
/// BENCHMARKS.md, and of the per-request database schema that
/// [`oha_latencies_ms`] reads.
pub(super) const OHA_CRATE: &str = "oha@1.16.0";

/// Where [`run_oha`] has oha write its per-request log.
fn oha_db(tmp: &TempDir) -> PathBuf {
    tmp.path.join("oha.db")
}

/// Every request's latency from the last [`run_oha`], in ms. Empty, with a
/// warning, if the log can't be read: another oha version may keep another
/// schema, which should cost only the pooled table.
pub(super) fn last_oha_latencies(tmp: &TempDir) -> Vec<f64> {
    oha_latencies_ms(&oha_db(tmp)).unwrap_or_else(|e| {
        println!("xtask: WARNING: no per-request latencies from oha: {e:#}");
        Vec::new()
    })
}

/// The latency of every request in an oha database (`--db-url`), in ms.
/// `duration` is measured from the request's scheduled start under
/// `--latency-correction`, as oha's own percentiles are.
pub(super) fn oha_latencies_ms(db: &Path) -> Result<Vec<f64>> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening oha's database {}", db.display()))?;
    let mut query = conn.prepare("SELECT duration FROM oha")?;
    let rows = query.query_map([], |row| row.get::<_, f64>(0))?;
    rows.map(|r| Ok(r? * 1000.0)).collect()
}

pub(super) fn parse_oha(text: &str) -> Result<Sample> {
    let start = text.find('{').context("no JSON in oha output")?;
    let v: Value = serde_json::from_str(&text[start..])?;
    let secs = |x: &Value| x.as_f64().unwrap_or(0.0) * 1000.0;
    let mut s = Sample {
        rps: v["summary"]["requestsPerSec"].as_f64().unwrap_or(0.0),
        p50_ms: secs(&v["latencyPercentiles"]["p50"]),
        p99_ms: secs(&v["latencyPercentiles"]["p99"]),
        ..Sample::default()
    };
    if let Some(codes) = v["statusCodeDistribution"].as_object() {
        for (code, n) in codes {
            let n = n.as_u64().unwrap_or(0);
            s.requests += n;
            if !(code.starts_with('2') || code.starts_with('3')) {
                s.errors += n;
            }
        }
    }
    if let Some(errors) = v["errorDistribution"].as_object() {
        // oha counts requests cut off by the end of the run as errors
        // ("aborted due to deadline"); those are not the proxy's.
        for (what, n) in errors {
            if !what.contains("deadline") {
                s.errors += n.as_u64().unwrap_or(0);
            }
        }
    }
    Ok(s)
}
