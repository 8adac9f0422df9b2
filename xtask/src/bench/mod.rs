//! `cargo xtask bench`: the data-plane benchmark against nginx and HAProxy,
//! and `cargo xtask bench control-plane`: API and scheduler figures.
//!
//! Method:
//! - The same sample-app backends (Docker containers labelled
//!   `fargate-emulator.bench=1`, pinned to CPU 1) serve every contender:
//!   `direct` (one backend, no proxy), `alb` (this emulator, one tokio worker,
//!   configured through the ELBv2 Query API), `nginx` (`worker_processes 1`,
//!   upstream keep-alive) and `haproxy` (`nbthread 1`, `http-reuse safe`).
//!   nginx and HAProxy add the same forwarding headers as the ALB, so all
//!   three do the same job (`--minimal-peers` leaves them out).
//! - Proxies run on CPU 0, the load generator and the backends on CPU 1,
//!   under SCHED_BATCH (see [`LOAD_POLICY`]).
//! - Load: `wrk` closed-loop for maximum requests/s, then `oha` open-loop at a
//!   fixed rate for honest tail latency; a warm-up, then interleaved rounds.
//! - Every load run is bounded in time and only talks to 127.0.0.1 and the
//!   bench's own containers. Containers, networks and processes are removed
//!   at the end, on failure and on Ctrl-C.
//!
//! # Layout
//! - this file: the command line ([`BenchArgs`]), the resolved settings and
//!   the constants every part shares.
//! - `data_plane`: the data-plane run, its extra checks and its report.
//! - `control_plane`: RunTask, a service, API latency, emulator RSS.
//! - `alb`: the emulator as a child process and the ALB it is set up as,
//!   through the AWS SDK for Rust.
//! - `peers`: nginx and HAProxy, and the same-job check.
//! - `load`: wrk and oha, and the parsing of their output.
//! - `measure`: CPU time, RSS and CPU shares from /proc.
//! - `report`: samples, contenders and the markdown tables.
//! - `setup`: tools, the emulator build, the sample image, the backends.
//! - `process`: child processes, bounded runs, the temporary directory,
//!   signals and the open-files limit.
//! - `http`: the tokio runtime the control requests block on, and plain
//!   GETs (health polls, the same-job check).

mod alb;
mod control_plane;
mod data_plane;
mod http;
mod load;
mod measure;
mod peers;
mod process;
mod report;
mod setup;
#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};

use control_plane::control_plane;
use data_plane::data_plane;
pub(crate) use process::install_signal_handlers;
use process::raise_nofile_limit;

/// Label on every Docker object the bench creates.
const BENCH_LABEL: &str = "fargate-emulator.bench=1";
/// The backends' port inside their containers.
const BACKEND_PORT: u16 = 8080;
/// CPU of the proxy under test.
const PROXY_CPU: &str = "0";
/// CPU of the load generator and the backends.
const LOAD_CPU: &str = "1";
/// The scheduling policy of everything on [`LOAD_CPU`] (`chrt --batch`).
/// wrk (or oha) and the backends share that CPU; under the default policy
/// each wake-up of one preempts another, and the resulting switching
/// patterns flipped every 10-20 s and moved every proxy's rounds by
/// 20-50 %. SCHED_BATCH tasks do not preempt on wake-up. The same for every
/// contender; `--no-batch-sched` measures without it. Figures: BENCHMARKS.md,
/// "Scheduling on the load CPU".
const LOAD_POLICY: &str = "--batch";
/// File descriptors asked for, for the bench and its children (10k client
/// connections plus the upstream ones); the hard limit may cap it, see
/// [`nofile_limit`](process::nofile_limit).
const NOFILE: u64 = 200_000;
/// Slack on top of a load run's duration before it is killed.
const RUN_SLACK: Duration = Duration::from_secs(30);

#[derive(Args)]
#[command(args_conflicts_with_subcommands = false)]
pub struct BenchArgs {
    #[command(subcommand)]
    what: Option<What>,
    /// Seconds per load run.
    #[arg(long, global = true)]
    duration: Option<u64>,
    /// Interleaved rounds per contender (the median is reported).
    #[arg(long, global = true)]
    rounds: Option<usize>,
    /// Client connections of the load generator.
    #[arg(long, global = true, default_value_t = 64)]
    connections: usize,
    /// Backend containers behind the proxies (2-4).
    #[arg(long, global = true, default_value_t = 2)]
    targets: usize,
    /// Open-loop rate for oha (requests/s); default: a quarter of the
    /// slowest proxy's closed-loop median, rounded down to 1000 (oha shares
    /// its CPU with the backends; at half, that CPU saturated and the tail
    /// measured the load generator).
    #[arg(long, global = true)]
    rate: Option<u64>,
    /// Tiny setting for CI: 2 s runs, 1 round, 3 tasks, small extra checks;
    /// oha is not built (its runs are skipped, loudly) and nginx/HAProxy
    /// are skipped, loudly, when they can't be installed.
    #[arg(long, global = true)]
    quick: bool,
    /// Skip the extra checks (10k connections, ten rules, health checks).
    #[arg(long, global = true)]
    no_extras: bool,
    /// Run nginx and HAProxy with minimal configs (plain reverse proxying),
    /// which leave out the four headers the ALB adds to every request. By
    /// default they add them too, so all three do the same job.
    #[arg(long, global = true)]
    minimal_peers: bool,
    /// Never install missing tools (apt-get, cargo install).
    #[arg(long, global = true)]
    no_install: bool,
    /// Tasks for the control-plane figures (RunTask and the service).
    #[arg(long, global = true)]
    tasks: Option<usize>,
    /// Also write the markdown report to this file.
    #[arg(long, global = true)]
    out: Option<PathBuf>,
    /// Use this emulator binary instead of building one (before/after
    /// comparisons).
    #[arg(long, global = true)]
    emulator: Option<PathBuf>,
    /// Another emulator binary to run as one more contender
    /// (`alb-baseline`), for before/after figures from the same run.
    #[arg(long, global = true)]
    baseline: Option<PathBuf>,
    /// Do not build the sample-app image; use the existing one.
    #[arg(long, global = true)]
    no_image_build: bool,
    /// Run the load generator and the backends under the default
    /// scheduling policy instead of SCHED_BATCH (see [`LOAD_POLICY`]).
    #[arg(long, global = true)]
    no_batch_sched: bool,
    /// After the rounds, record the ALB with `perf record` during one more
    /// wrk run and write `perf report`'s flat profile to this file.
    #[arg(long, global = true)]
    profile: Option<PathBuf>,
}

#[derive(Subcommand, Clone, Copy, PartialEq, Eq)]
enum What {
    /// Data plane: direct, this ALB, nginx and HAProxy (the default).
    DataPlane,
    /// Control plane: RunTask -> RUNNING, a service reaching steady state,
    /// API latency under 50 concurrent clients, emulator RSS.
    ControlPlane,
}

/// Resolved settings.
struct Settings {
    duration: u64,
    rounds: usize,
    warmup: u64,
    connections: usize,
    targets: usize,
    rate: Option<u64>,
    quick: bool,
    extras: bool,
    /// The peers skip the forwarding headers (see
    /// [`FORWARDING_HEADERS`](peers::FORWARDING_HEADERS)).
    minimal_peers: bool,
    install: bool,
    tasks: usize,
    /// Client connections of the many-connections check.
    many_connections: usize,
    out: Option<PathBuf>,
    emulator: Option<PathBuf>,
    baseline: Option<PathBuf>,
    image_build: bool,
    profile: Option<PathBuf>,
    /// See [`LOAD_POLICY`].
    batch_sched: bool,
}

impl Settings {
    fn from(args: &BenchArgs) -> Result<Self> {
        if !(1..=4).contains(&args.targets) {
            bail!("--targets must be 1 to 4");
        }
        let quick = args.quick;
        Ok(Self {
            duration: args.duration.unwrap_or(if quick { 2 } else { 10 }).max(1),
            rounds: args.rounds.unwrap_or(if quick { 1 } else { 5 }).max(1),
            warmup: if quick { 1 } else { 3 },
            connections: args.connections.max(1),
            targets: args.targets,
            rate: args.rate,
            quick,
            extras: !args.no_extras,
            minimal_peers: args.minimal_peers,
            install: !args.no_install,
            tasks: args.tasks.unwrap_or(if quick { 3 } else { 20 }).max(1),
            many_connections: if quick { 1000 } else { 10_000 },
            out: args.out.clone(),
            emulator: args.emulator.clone(),
            baseline: args.baseline.clone(),
            image_build: !args.no_image_build,
            profile: args.profile.clone(),
            batch_sched: !args.no_batch_sched,
        })
    }
}

pub fn run(args: BenchArgs) -> Result<()> {
    let settings = Settings::from(&args)?;
    install_signal_handlers();
    raise_nofile_limit();
    let report = match args.what.unwrap_or(What::DataPlane) {
        What::DataPlane => data_plane(&settings)?,
        What::ControlPlane => control_plane(&settings)?,
    };
    println!("\n{report}");
    if let Some(out) = &settings.out {
        std::fs::write(out, &report).with_context(|| format!("writing {}", out.display()))?;
        println!("xtask: report written to {}", out.display());
    }
    Ok(())
}
