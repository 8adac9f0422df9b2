//! `cargo xtask bench`: the data-plane benchmark against nginx and HAProxy,
//! and `cargo xtask bench control-plane`: API and scheduler figures.
//!
//! Method (shared/reference/performance.md):
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

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use serde_json::{json, Value};

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
/// [`nofile_limit`].
const NOFILE: u64 = 200_000;
/// Slack on top of a load run's duration before it is killed.
const RUN_SLACK: Duration = Duration::from_secs(30);
/// The ECS JSON target prefix.
const ECS_TARGET: &str = "AmazonEC2ContainerServiceV20141113";

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
    /// Run nginx and HAProxy with performance.md's minimal configs, which
    /// leave out the four headers the ALB adds to every request. By
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
    /// The peers skip the forwarding headers (see [`FORWARDING_HEADERS`]).
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

// ---------------------------------------------------------------------------
// Data plane

fn data_plane(s: &Settings) -> Result<String> {
    crate::check_docker()?;
    let tools = Tools::find(s)?;
    let emulator_bin = build_emulator(s)?;
    sample_image(s)?;

    let tmp = TempDir::new("fe-bench")?;
    let backends = Backends::start(s.targets)?;
    // All or nothing: the load generator follows the backends' policy.
    let batch_sched = s.batch_sched
        && match backends.set_load_policy() {
            Ok(()) => true,
            Err(e) => {
                println!("xtask: WARNING: the load CPU keeps the default scheduling policy: {e:#}");
                false
            }
        };
    let direct_url = format!("http://{}:{BACKEND_PORT}/", backends.ips[0]);

    // This ALB.
    let emu = Emulator::start(&emulator_bin, &tmp, true, "alb")?;
    let alb = AlbSetup::create(&emu, &backends, s)?;

    let mut contenders = vec![
        Contender::new("direct", direct_url, None),
        Contender::new("alb", url(alb.port), Some(emu.pid())),
    ];
    let baseline = match &s.baseline {
        Some(bin) => {
            let emu = Emulator::start(bin, &tmp, true, "baseline")?;
            let setup = AlbSetup::create(&emu, &backends, s)?;
            contenders.push(Contender::new(
                "alb-baseline",
                url(setup.port),
                Some(emu.pid()),
            ));
            Some(emu)
        }
        None => None,
    };
    let mut _peers: Vec<Proc> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    // Each peer gets its own working directory (config, logs) under `tmp`.
    type StartPeer = fn(&Path, &Path, u16, &Backends, bool) -> Result<Proc>;
    let peers: [(&'static str, &Option<PathBuf>, StartPeer); 2] = [
        ("nginx", &tools.nginx, start_nginx),
        ("haproxy", &tools.haproxy, start_haproxy),
    ];
    for (name, bin, start) in peers {
        match bin {
            Some(bin) => {
                let port = free_port()?;
                let dir = tmp.path.join(name);
                std::fs::create_dir_all(&dir)?;
                let p = start(bin, &dir, port, &backends, s.minimal_peers)?;
                contenders.push(Contender::new(name, url(port), Some(p.pid())));
                _peers.push(p);
            }
            None => skipped.push(name.into()),
        }
    }
    for c in &contenders {
        if let Err(e) = wait_http_ok(&c.url, Duration::from_secs(30)) {
            let log = tmp.path.join(c.name).join("stdout.log");
            bail!(
                "{} does not answer at {}: {e:#}\n{}",
                c.name,
                c.url,
                tail(&log, 20)
            );
        }
    }

    for c in contenders.iter().filter(|c| c.pid.is_some()) {
        if !(s.minimal_peers && matches!(c.name, "nginx" | "haproxy")) {
            check_same_job(c)?;
        }
    }

    let wrk = &LoadGen::new(&tools.wrk, batch_sched);
    let cpus_at_start = cpu_times();
    println!("xtask: warm-up ({} s each)", s.warmup);
    for c in &contenders {
        run_wrk(wrk, &c.url, s.connections, s.warmup, &tmp)?;
    }
    for round in 1..=s.rounds {
        for c in contenders.iter_mut() {
            check_interrupted()?;
            let sample = measure(c.pid, || {
                run_wrk(wrk, &c.url, s.connections, s.duration, &tmp)
            })?;
            println!(
                "xtask: wrk round {round}/{} {:12} {:>9.0} req/s  p50 {:.3} ms  p99 {:.3} ms  errors {}  CPU/10k {:.3}  busy {:.0}%/{:.0}%",
                s.rounds, c.name, sample.rps, sample.p50_ms, sample.p99_ms, sample.errors,
                sample.cpu_per_10k.unwrap_or(0.0),
                sample.busy.map_or(0.0, |b| b.0 * 100.0),
                sample.busy.map_or(0.0, |b| b.1 * 100.0),
            );
            c.wrk.push(sample);
        }
    }

    if let Some(out) = &s.profile {
        profile_alb(wrk, &contenders[1], s, &tmp, out)?;
    }

    let mut oha_rate = None;
    match &tools.oha {
        Some(oha) => {
            let oha = &LoadGen::new(oha, batch_sched);
            let rate = s.rate.unwrap_or_else(|| {
                let slowest = contenders
                    .iter()
                    .filter(|c| c.pid.is_some())
                    .map(|c| median(c.wrk.iter().map(|x| x.rps)))
                    .fold(f64::INFINITY, f64::min);
                ((slowest * 0.25 / 1000.0).floor() as u64 * 1000).max(1000)
            });
            oha_rate = Some(rate);
            for round in 1..=s.rounds {
                for c in contenders.iter_mut() {
                    check_interrupted()?;
                    let mut sample = measure(c.pid, || {
                        run_oha(oha, &c.url, s.connections, rate, s.duration, &tmp)
                    })?;
                    // After the measured window: reading the log is the
                    // bench's own work, not the contender's.
                    sample.latencies_ms = last_oha_latencies(&tmp);
                    println!(
                        "xtask: oha round {round}/{} {:8} {:>9.0} req/s  p50 {:.3} ms  p99 {:.3} ms  errors {}",
                        s.rounds, c.name, sample.rps, sample.p50_ms, sample.p99_ms, sample.errors
                    );
                    c.oha.push(sample);
                }
            }
        }
        None => skipped.push("oha open-loop runs".into()),
    }

    let extras = if s.extras {
        Some(extra_checks(s, wrk, &emu, &alb, &tmp)?)
    } else {
        None
    };
    let steal = cpus_at_start
        .zip(cpu_times())
        .map(|(start, end)| steal_share(&start, &end));
    if let Some(steal) = steal {
        println!(
            "xtask: hypervisor steal during the load runs: {:.1} %",
            steal * 100.0
        );
    }

    let mut report = String::new();
    writeln!(report, "## Data plane").unwrap();
    writeln!(report).unwrap();
    writeln!(report, "Command: `{}`", command_line()).unwrap();
    writeln!(report).unwrap();
    writeln!(report, "{}", environment(&tools)).unwrap();
    writeln!(
        report,
        "Backends: {} sample-app containers on a Docker bridge network (CPU {LOAD_CPU}, request logging off); \
         proxies on CPU {PROXY_CPU} with one worker; load generator on CPU {LOAD_CPU}; \
         {} connections, {} s per run, {} interleaved rounds after a {} s warm-up.",
        s.targets, s.connections, s.duration, s.rounds, s.warmup
    )
    .unwrap();
    writeln!(report).unwrap();
    let policy = match (s.batch_sched, batch_sched) {
        (_, true) => {
            "Scheduling: wrk, oha and the backends run under SCHED_BATCH (`chrt --batch`), so \
             on their shared CPU a wake-up does not preempt the running one \
             (`--no-batch-sched` leaves the default policy)."
        }
        (true, false) => {
            "Scheduling: the default policy; SCHED_BATCH was asked for but `chrt` failed \
             on the backends (see the bench's output)."
        }
        (false, false) => "Scheduling: the default policy (`--no-batch-sched`).",
    };
    writeln!(report, "{policy}").unwrap();
    writeln!(report).unwrap();
    let job = if s.minimal_peers {
        "nginx and HAProxy run performance.md's minimal configs (`--minimal-peers`): \
         they do not add the four headers the ALB adds to every request."
    } else {
        "Same job: like the ALB, nginx and HAProxy add `X-Forwarded-For`, \
         `X-Forwarded-Proto`, `X-Forwarded-Port` and an `X-Amzn-Trace-Id` to every request \
         (`--minimal-peers` leaves them out)."
    };
    writeln!(report, "{job}").unwrap();
    writeln!(report).unwrap();
    if let Some(steal) = steal {
        // On a virtual machine, time taken by its neighbours: the rounds
        // spread more the higher it is.
        writeln!(
            report,
            "Hypervisor steal during the load runs: {:.1} % of both CPUs' time (`steal` in /proc/stat).",
            steal * 100.0
        )
        .unwrap();
        writeln!(report).unwrap();
    }
    if s.quick {
        writeln!(
            report,
            "**--quick: a smoke run (debug build, 2 s): the figures are not meaningful.**"
        )
        .unwrap();
        writeln!(report).unwrap();
    }
    for name in &skipped {
        writeln!(report, "**skipped: {name} not installed**").unwrap();
        writeln!(report).unwrap();
    }
    writeln!(
        report,
        "### Closed loop (`wrk -t1 -c{} -d{}s --latency`)",
        s.connections, s.duration
    )
    .unwrap();
    writeln!(report).unwrap();
    report.push_str(&table(&contenders, |c| &c.wrk));
    report.push_str(&rounds_won(&contenders, |c| &c.wrk, true));
    report.push_str(&load_cpu_ceiling(&contenders, |c| &c.wrk));
    if let Some(rate) = oha_rate {
        writeln!(report).unwrap();
        writeln!(
            report,
            "### Open loop at {rate} req/s (`oha -z{}s -c{} -q {rate} --latency-correction`)",
            s.duration, s.connections
        )
        .unwrap();
        writeln!(report).unwrap();
        report.push_str(&table(&contenders, |c| &c.oha));
        report.push_str(&rounds_won(&contenders, |c| &c.oha, false));
        let pooled = pooled_table(&contenders, |c| &c.oha);
        if !pooled.is_empty() {
            writeln!(report).unwrap();
            let which = match s.rounds {
                1 => "Every request of the round".to_string(),
                n => format!("All {n} rounds' requests together"),
            };
            writeln!(
                report,
                "{which} (nearest rank; from oha's per-request log, `--db-url`):"
            )
            .unwrap();
            writeln!(report).unwrap();
            report.push_str(&pooled);
        }
    }
    if let Some(extras) = extras {
        writeln!(report).unwrap();
        report.push_str(&extras);
    }
    writeln!(report).unwrap();
    writeln!(
        report,
        "Medians of the rounds with (min-max). CPU: user+system seconds of the proxy \
         process per 10k requests. RSS: the proxy's peak (VmHWM). Errors: non-2xx/3xx \
         plus socket errors, summed over rounds. Ratios compare median req/s. \
         An open-loop run also covers oha writing its per-request log after the \
         load (about 0.2 s per 50k requests, on CPU 1)."
    )
    .unwrap();
    // Stop the emulator explicitly so its shutdown (container cleanup) runs
    // before the backends disappear.
    drop(_peers);
    if let Some(b) = baseline {
        b.stop();
    }
    emu.stop();
    drop(backends);
    Ok(report)
}

/// Records the ALB with `perf record` during one wrk run and writes the flat
/// profile (`perf report --no-children`) to `out`.
fn profile_alb(
    wrk: &LoadGen,
    alb: &Contender,
    s: &Settings,
    tmp: &TempDir,
    out: &Path,
) -> Result<()> {
    let perf = which("perf").context("--profile needs perf (Debian: linux-perf)")?;
    let pid = alb.pid.context("the ALB has no process")?.to_string();
    let data = tmp.path.join("perf.data");
    println!("xtask: profiling the ALB during a {} s wrk run", s.duration);
    let record = Proc::spawn(
        "perf record",
        Command::new(&perf)
            .args(["record", "-F", "1999", "-g", "-p", &pid, "-o"])
            .arg(&data),
        &tmp.path.join("perf-record.log"),
    )?;
    let sample = run_wrk(wrk, &alb.url, s.connections, s.duration, tmp)?;
    // SAFETY: signalling our own child by pid; SIGINT makes perf write its file.
    unsafe { libc::kill(record.pid() as libc::pid_t, libc::SIGINT) };
    let deadline = Instant::now() + Duration::from_secs(60);
    while !record.exited() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(record);
    let report = run_bounded(
        Command::new(&perf)
            .args(["report", "--stdio", "--no-children", "-g", "none"])
            .args(["--percent-limit", "0.3", "--sort", "symbol", "-i"])
            .arg(&data),
        Duration::from_secs(300),
        tmp,
    )?;
    let header = format!(
        "# perf profile of the ALB: wrk -c{} -d{}s, {:.0} req/s during the recording\n",
        s.connections, s.duration, sample.rps
    );
    std::fs::write(out, header + &report).with_context(|| format!("writing {}", out.display()))?;
    println!("xtask: profile written to {}", out.display());
    Ok(())
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/")
}

/// One load run's figures.
#[derive(Clone, Default)]
struct Sample {
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
    requests: u64,
    errors: u64,
    cpu_per_10k: Option<f64>,
    rss_kb: Option<u64>,
    /// Busy share of the proxy CPU and of the load CPU during the run (all
    /// processes): shows which side was the bottleneck.
    busy: Option<(f64, f64)>,
    /// Every request's latency (oha runs only), for percentiles over all
    /// rounds together.
    latencies_ms: Vec<f64>,
}

struct Contender {
    name: &'static str,
    url: String,
    pid: Option<u32>,
    wrk: Vec<Sample>,
    oha: Vec<Sample>,
}

impl Contender {
    fn new(name: &'static str, url: String, pid: Option<u32>) -> Self {
        Self {
            name,
            url,
            pid,
            wrk: Vec::new(),
            oha: Vec::new(),
        }
    }
}

/// Runs a load and adds the process's CPU time and peak RSS to its sample.
fn measure(pid: Option<u32>, load: impl FnOnce() -> Result<Sample>) -> Result<Sample> {
    let before = pid.map(cpu_ticks).transpose()?;
    let cpus_before = cpu_times();
    let mut sample = load()?;
    if let (Some(a), Some(b)) = (cpus_before, cpu_times()) {
        sample.busy = Some((busy_share(&a, &b, 0), busy_share(&a, &b, 1)));
    }
    if let (Some(pid), Some(before)) = (pid, before) {
        let ticks = cpu_ticks(pid)?.saturating_sub(before);
        let secs = ticks as f64 / clock_ticks_per_second();
        if sample.requests > 0 {
            sample.cpu_per_10k = Some(secs / sample.requests as f64 * 10_000.0);
        }
        sample.rss_kb = peak_rss_kb(pid);
    }
    Ok(sample)
}

/// The markdown table of one load kind.
fn table(contenders: &[Contender], pick: impl Fn(&Contender) -> &Vec<Sample>) -> String {
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
fn rounds_won(
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
fn load_cpu_ceiling(contenders: &[Contender], pick: impl Fn(&Contender) -> &Vec<Sample>) -> String {
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
struct RoundsWon {
    rounds: usize,
    more_rps: usize,
    lower_p99: usize,
}

impl RoundsWon {
    fn count(alb: &[Sample], peer: &[Sample]) -> Self {
        let pairs = || alb.iter().zip(peer);
        Self {
            rounds: pairs().count(),
            more_rps: pairs().filter(|(a, p)| a.rps > p.rps).count(),
            lower_p99: pairs().filter(|(a, p)| a.p99_ms < p.p99_ms).count(),
        }
    }
}

/// `median (min-max)`, or just the value for one sample.
fn spread(values: &[f64], decimals: usize) -> String {
    let m = median(values.iter().copied());
    if values.len() < 2 {
        return format!("{m:.decimals$}");
    }
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    format!("{m:.decimals$} ({min:.decimals$}-{max:.decimals$})")
}

/// p50, p95 (nearest rank) and maximum of a non-empty sample.
fn p50_p95_max(mut values: Vec<f64>) -> (f64, f64, f64) {
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
fn pooled_table(contenders: &[Contender], pick: impl Fn(&Contender) -> &Vec<Sample>) -> String {
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

fn median(values: impl Iterator<Item = f64>) -> f64 {
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

/// The issue's extra checks: many client connections, ten listener rules,
/// health-check interval.
fn extra_checks(
    s: &Settings,
    wrk: &LoadGen,
    emu: &Emulator,
    alb: &AlbSetup,
    tmp: &TempDir,
) -> Result<String> {
    let mut out = String::new();
    writeln!(out, "### Extra checks (ALB only, wrk)").unwrap();
    writeln!(out).unwrap();
    writeln!(out, "| check | figures | result |").unwrap();
    writeln!(out, "|---|---|---|").unwrap();

    // Ten non-matching rules in front of the default action.
    let (mut base, mut ruled) = (Vec::new(), Vec::new());
    for _ in 0..s.rounds {
        check_interrupted()?;
        base.push(run_wrk(
            wrk,
            &url(alb.port),
            s.connections,
            s.duration,
            tmp,
        )?);
        ruled.push(run_wrk(
            wrk,
            &url(alb.rules_port),
            s.connections,
            s.duration,
            tmp,
        )?);
    }
    let (b, r) = (
        median(base.iter().map(|x| x.rps)),
        median(ruled.iter().map(|x| x.rps)),
    );
    let cost = (1.0 - r / b) * 100.0;
    println!("xtask: ten rules: {b:.0} -> {r:.0} req/s ({cost:+.1}% cost)");
    writeln!(
        out,
        "| ten non-matching listener rules | {b:.0} req/s without, {r:.0} with: {cost:.1}% cost (goal < 5%) | {} |",
        verdict(cost < 5.0)
    )
    .unwrap();

    // Health checks every 5 s (ALB's minimum) against every 300 s.
    let (mut fast, mut slow) = (Vec::new(), Vec::new());
    for _ in 0..s.rounds {
        check_interrupted()?;
        alb.health_interval(emu, 5)?;
        fast.push(run_wrk(
            wrk,
            &url(alb.port),
            s.connections,
            s.duration,
            tmp,
        )?);
        alb.health_interval(emu, 300)?;
        slow.push(run_wrk(
            wrk,
            &url(alb.port),
            s.connections,
            s.duration,
            tmp,
        )?);
    }
    alb.health_interval(emu, 5)?;
    let (f, sl) = (
        median(fast.iter().map(|x| x.rps)),
        median(slow.iter().map(|x| x.rps)),
    );
    let cost = (1.0 - f / sl) * 100.0;
    println!("xtask: health checks: {sl:.0} (300 s) vs {f:.0} (5 s) req/s ({cost:+.1}%)");
    writeln!(
        out,
        "| health checks every 5 s vs every 300 s | {f:.0} vs {sl:.0} req/s: {cost:.1}% cost | {} |",
        verdict(cost < 3.0)
    )
    .unwrap();

    // Many concurrent keep-alive client connections.
    check_interrupted()?;
    let n = s.many_connections;
    let many = measure(Some(emu.pid()), || {
        run_wrk(wrk, &url(alb.port), n, s.duration.max(5), tmp)
    })?;
    println!(
        "xtask: {n} connections: {:.0} req/s, p99 {:.1} ms, {} errors",
        many.rps, many.p99_ms, many.errors
    );
    writeln!(
        out,
        "| {n} concurrent keep-alive client connections | {:.0} req/s, p50 {:.1} ms, p99 {:.1} ms, {} requests, {} errors, peak RSS {:.1} MiB | {} |",
        many.rps,
        many.p50_ms,
        many.p99_ms,
        many.requests,
        many.errors,
        many.rss_kb.unwrap_or(0) as f64 / 1024.0,
        verdict(many.errors == 0 && many.requests > 0)
    )
    .unwrap();
    Ok(out)
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "ok"
    } else {
        "**not met**"
    }
}

// ---------------------------------------------------------------------------
// Load generators

/// A load generator (wrk or oha) and how it runs on [`LOAD_CPU`].
struct LoadGen<'a> {
    bin: &'a Path,
    batch_sched: bool,
}

impl<'a> LoadGen<'a> {
    fn new(bin: &'a Path, batch_sched: bool) -> Self {
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

fn run_wrk(
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

fn run_wrk_script(
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

fn parse_wrk(text: &str) -> Result<Sample> {
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

fn run_oha(
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
const OHA_CRATE: &str = "oha@1.16.0";

/// Where [`run_oha`] has oha write its per-request log.
fn oha_db(tmp: &TempDir) -> PathBuf {
    tmp.path.join("oha.db")
}

/// Every request's latency from the last [`run_oha`], in ms. Empty, with a
/// warning, if the log can't be read: another oha version may keep another
/// schema, which should cost only the pooled table.
fn last_oha_latencies(tmp: &TempDir) -> Vec<f64> {
    oha_latencies_ms(&oha_db(tmp)).unwrap_or_else(|e| {
        println!("xtask: WARNING: no per-request latencies from oha: {e:#}");
        Vec::new()
    })
}

/// The latency of every request in an oha database (`--db-url`), in ms.
/// `duration` is measured from the request's scheduled start under
/// `--latency-correction`, as oha's own percentiles are.
fn oha_latencies_ms(db: &Path) -> Result<Vec<f64>> {
    let conn =
        rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
            .with_context(|| format!("opening oha's database {}", db.display()))?;
    let mut query = conn.prepare("SELECT duration FROM oha")?;
    let rows = query.query_map([], |row| row.get::<_, f64>(0))?;
    rows.map(|r| Ok(r? * 1000.0)).collect()
}

fn parse_oha(text: &str) -> Result<Sample> {
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

// ---------------------------------------------------------------------------
// The ALB under test

/// A load balancer, a target group with every backend, a plain listener and
/// one with ten non-matching rules.
struct AlbSetup {
    port: u16,
    rules_port: u16,
    tg_arn: String,
}

impl AlbSetup {
    fn create(emu: &Emulator, backends: &Backends, s: &Settings) -> Result<Self> {
        let lb = emu.elbv2(&[("Action", "CreateLoadBalancer"), ("Name", "bench")])?;
        let lb_arn = xml_text(&lb, "LoadBalancerArn").context("LoadBalancerArn")?;
        let tg = emu.elbv2(&[
            ("Action", "CreateTargetGroup"),
            ("Name", "bench"),
            ("Protocol", "HTTP"),
            ("Port", "8080"),
            ("TargetType", "ip"),
            ("HealthCheckPath", "/health"),
            ("HealthCheckIntervalSeconds", "5"),
            ("HealthCheckTimeoutSeconds", "2"),
            ("HealthyThresholdCount", "2"),
        ])?;
        let tg_arn = xml_text(&tg, "TargetGroupArn").context("TargetGroupArn")?;
        let mut register = vec![
            ("Action".to_string(), "RegisterTargets".to_string()),
            ("TargetGroupArn".to_string(), tg_arn.clone()),
        ];
        for (i, ip) in backends.ips.iter().enumerate() {
            register.push((format!("Targets.member.{}.Id", i + 1), ip.to_string()));
            register.push((
                format!("Targets.member.{}.Port", i + 1),
                BACKEND_PORT.to_string(),
            ));
        }
        emu.elbv2_owned(&register)?;
        let listener = |port: u16| -> Result<String> {
            let out = emu.elbv2(&[
                ("Action", "CreateListener"),
                ("LoadBalancerArn", &lb_arn),
                ("Protocol", "HTTP"),
                ("Port", &port.to_string()),
                ("DefaultActions.member.1.Type", "forward"),
                ("DefaultActions.member.1.TargetGroupArn", &tg_arn),
            ])?;
            xml_text(&out, "ListenerArn").context("ListenerArn")
        };
        let port = free_port()?;
        listener(port)?;
        let rules_port = free_port()?;
        let rules_listener = listener(rules_port)?;
        for i in 1..=10 {
            emu.elbv2(&[
                ("Action", "CreateRule"),
                ("ListenerArn", &rules_listener),
                ("Priority", &i.to_string()),
                ("Conditions.member.1.Field", "path-pattern"),
                (
                    "Conditions.member.1.PathPatternConfig.Values.member.1",
                    &format!("/no-match-{i}/*"),
                ),
                ("Actions.member.1.Type", "forward"),
                ("Actions.member.1.TargetGroupArn", &tg_arn),
            ])?;
        }
        let setup = Self {
            port,
            rules_port,
            tg_arn,
        };
        // Healthy targets (two checks 5 s apart), so routing is the normal
        // path and not fail-open.
        let deadline = Instant::now() + Duration::from_secs(if s.quick { 60 } else { 90 });
        loop {
            check_interrupted()?;
            let out = emu.elbv2(&[
                ("Action", "DescribeTargetHealth"),
                ("TargetGroupArn", &setup.tg_arn),
            ])?;
            let healthy = xml_all(&out, "State")
                .iter()
                .filter(|s| *s == "healthy")
                .count();
            if healthy == backends.ips.len() {
                break;
            }
            if Instant::now() > deadline {
                bail!("targets did not become healthy:\n{out}");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        println!("xtask: ALB ready on 127.0.0.1:{port} (10-rule listener on {rules_port})");
        Ok(setup)
    }

    fn health_interval(&self, emu: &Emulator, secs: u32) -> Result<()> {
        emu.elbv2(&[
            ("Action", "ModifyTargetGroup"),
            ("TargetGroupArn", &self.tg_arn),
            ("HealthCheckIntervalSeconds", &secs.to_string()),
            ("HealthCheckTimeoutSeconds", "2"),
        ])?;
        Ok(())
    }
}

/// The emulator as a child process with its own Docker instance name.
struct Emulator {
    proc: Proc,
    api: SocketAddr,
}

impl Emulator {
    /// `pinned`: one tokio worker on the proxy CPU (the data-plane setting).
    fn start(bin: &Path, tmp: &TempDir, pinned: bool, tag: &str) -> Result<Self> {
        let api = SocketAddr::from(([127, 0, 0, 1], free_port()?));
        let instance = format!("bench-{tag}-{}", std::process::id());
        let mut cmd = if pinned {
            let mut c = Command::new("taskset");
            c.args(["-c", PROXY_CPU]).arg(bin).args(["--workers", "1"]);
            c.env("TOKIO_WORKER_THREADS", "1");
            c
        } else {
            Command::new(bin)
        };
        // --in-memory: a benchmark's resources are its own run's.
        cmd.args([
            "--listen",
            &api.to_string(),
            "--instance",
            &instance,
            "--in-memory",
        ])
        .env("RUST_LOG", "warn");
        let log = tmp.path.join(format!("emulator-{tag}.log"));
        let proc = Proc::spawn(&format!("emulator ({tag})"), &mut cmd, &log)?;
        let emu = Self { proc, api };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            check_interrupted()?;
            if emu.proc.exited() {
                bail!(
                    "the emulator exited during start-up; its log:\n{}",
                    tail(&log, 30)
                );
            }
            if emu.elbv2(&[("Action", "DescribeLoadBalancers")]).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "the emulator did not answer within 120 s; log:\n{}",
                    tail(&log, 30)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        println!("xtask: emulator ({tag}) up on {api}, pid {}", emu.pid());
        Ok(emu)
    }

    fn pid(&self) -> u32 {
        self.proc.pid()
    }

    fn elbv2(&self, params: &[(&str, &str)]) -> Result<String> {
        let owned: Vec<(String, String)> = params
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        self.elbv2_owned(&owned)
    }

    /// A Query request (`Version=2015-12-01`), no signature: the emulator
    /// only reads the credential scope when there is one.
    fn elbv2_owned(&self, params: &[(String, String)]) -> Result<String> {
        let mut body = String::from("Version=2015-12-01");
        for (k, v) in params {
            write!(body, "&{}={}", form_encode(k), form_encode(v)).unwrap();
        }
        let (status, text) = http_request(
            self.api,
            "POST",
            "/",
            &[("content-type", "application/x-www-form-urlencoded")],
            body.as_bytes(),
        )?;
        if status != 200 {
            bail!("ELBv2 {params:?} failed with {status}: {text}");
        }
        Ok(text)
    }

    fn ecs(&self, action: &str, input: Value) -> Result<Value> {
        let (status, text) = http_request(
            self.api,
            "POST",
            "/",
            &[
                ("content-type", "application/x-amz-json-1.1"),
                ("x-amz-target", &format!("{ECS_TARGET}.{action}")),
            ],
            input.to_string().as_bytes(),
        )?;
        if status != 200 {
            bail!("ECS {action} failed with {status}: {text}");
        }
        Ok(serde_json::from_str(&text)?)
    }

    /// SIGTERM and wait: the emulator stops its tasks and removes its
    /// containers on the way out.
    fn stop(self) {
        drop(self.proc);
    }
}

// ---------------------------------------------------------------------------
// Peers

/// The headers the ALB adds to every request, and so the peers too unless
/// `--minimal-peers`.
const FORWARDING_HEADERS: [&str; 4] = [
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-port",
    "x-amzn-trace-id",
];

/// Fails unless the backend sees every one of [`FORWARDING_HEADERS`] on a
/// request through `c` (sample-app's `/echo` answers with the headers it
/// got): no contender may do less than the others.
fn check_same_job(c: &Contender) -> Result<()> {
    let (addr, path) = split_url(&c.url)?;
    let (status, body) = http_request(addr, "GET", &format!("{path}echo"), &[], b"")?;
    let seen: Value = serde_json::from_str(&body)
        .with_context(|| format!("{}: /echo answered {status}: {body}", c.name))?;
    let missing: Vec<&str> = FORWARDING_HEADERS
        .into_iter()
        .filter(|h| seen["headers"][h].as_str().is_none())
        .collect();
    if !missing.is_empty() {
        bail!("{} does not add {missing:?} to requests: {body}", c.name);
    }
    Ok(())
}

fn start_nginx(
    bin: &Path,
    dir: &Path,
    port: u16,
    backends: &Backends,
    minimal: bool,
) -> Result<Proc> {
    let servers: String = backends
        .ips
        .iter()
        .map(|ip| format!("    server {ip}:{BACKEND_PORT};\n"))
        .collect();
    // The ALB's trace id is `Root=1-<8 hex: time>-<24 hex>`; nginx's
    // `$request_id` is 32 random hex digits, the same length but one dash.
    let alb_headers = if minimal {
        ""
    } else {
        r#"
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Forwarded-Port $server_port;
      proxy_set_header X-Amzn-Trace-Id "Root=1-$request_id";"#
    };
    let d = dir.display();
    let nofile = nofile_limit();
    let half = nofile / 2;
    // `master_process off`: the one process is the worker, so its CPU time
    // and RSS are what /proc shows for the pid.
    let conf = format!(
        r#"daemon off;
master_process off;
worker_processes 1;
worker_rlimit_nofile {nofile};
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections {half}; }}
http {{
  access_log off;
  client_body_temp_path {d}/body;
  proxy_temp_path {d}/proxy;
  fastcgi_temp_path {d}/fastcgi;
  uwsgi_temp_path {d}/uwsgi;
  scgi_temp_path {d}/scgi;
  upstream backends {{
{servers}    keepalive 64;
    keepalive_requests 100000;
  }}
  server {{
    listen 127.0.0.1:{port};
    location / {{
      proxy_pass http://backends;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;{alb_headers}
    }}
  }}
}}
"#
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf)?;
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", PROXY_CPU])
        .arg(bin)
        .arg("-p")
        .arg(dir)
        .arg("-c")
        .arg(&path);
    Proc::spawn("nginx", &mut cmd, &dir.join("stdout.log"))
}

fn start_haproxy(
    bin: &Path,
    dir: &Path,
    port: u16,
    backends: &Backends,
    minimal: bool,
) -> Result<Proc> {
    let servers: String = backends
        .ips
        .iter()
        .enumerate()
        .map(|(i, ip)| {
            format!("    server s{i} {ip}:{BACKEND_PORT} check inter 2s fall 2 rise 2\n")
        })
        .collect();
    // The trace id in the ALB's format: 8 hex digits of time, 24 random.
    let alb_headers = if minimal {
        ""
    } else {
        r#"
    option forwardfor
    http-request set-header X-Forwarded-Proto http
    http-request set-header X-Forwarded-Port %[dst_port]
    http-request set-header X-Amzn-Trace-Id Root=1-%[date,hex,lower,bytes(8,8)]-%[rand,hex,lower,bytes(8,8)]%[rand,hex,lower,bytes(8,8)]%[rand,hex,lower,bytes(8,8)]"#
    };
    // Each client connection may need a server one too.
    let maxconn = nofile_limit() / 2 - 100;
    let conf = format!(
        r#"global
    nbthread 1
    maxconn {maxconn}
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
    http-reuse safe
frontend fe
    bind 127.0.0.1:{port}{alb_headers}
    default_backend be
backend be
    balance roundrobin
    option httpchk
    http-check send meth GET uri /health ver HTTP/1.1 hdr Host bench
{servers}"#
    );
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, conf)?;
    let mut cmd = Command::new("taskset");
    cmd.args(["-c", PROXY_CPU])
        .arg(bin)
        .arg("-db")
        .arg("-f")
        .arg(&path);
    Proc::spawn("haproxy", &mut cmd, &dir.join("stdout.log"))
}

// ---------------------------------------------------------------------------
// Control plane

fn control_plane(s: &Settings) -> Result<String> {
    crate::check_docker()?;
    let tools = Tools::find(s)?;
    let emulator_bin = build_emulator(s)?;
    sample_image(s)?;
    let tmp = TempDir::new("fe-bench-cp")?;
    let emu = Emulator::start(&emulator_bin, &tmp, false, "cp")?;
    let n = s.tasks;
    let network = json!({"awsvpcConfiguration": {"subnets": ["subnet-12345678"], "assignPublicIp": "DISABLED"}});

    emu.ecs("CreateCluster", json!({"clusterName": "bench"}))?;
    let td = emu.ecs(
        "RegisterTaskDefinition",
        json!({
            "family": "bench",
            "networkMode": "awsvpc",
            "requiresCompatibilities": ["FARGATE"],
            "cpu": "256",
            "memory": "512",
            "containerDefinitions": [{
                "name": "app",
                "image": crate::DEFAULT_TAG,
                "essential": true,
                "portMappings": [{"containerPort": 8080}]
            }]
        }),
    )?;
    let td_arn = td["taskDefinition"]["taskDefinitionArn"]
        .as_str()
        .context("taskDefinitionArn")?
        .to_string();
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = current_rss_kb(emu.pid());

    let run_one_task = |emu: &Emulator, td_arn: &str, network: &Value| -> Result<String> {
        let out = emu.ecs(
            "RunTask",
            json!({"cluster": "bench", "taskDefinition": td_arn, "count": 1,
                   "launchType": "FARGATE", "networkConfiguration": network}),
        )?;
        Ok(out["tasks"][0]["taskArn"]
            .as_str()
            .with_context(|| format!("RunTask returned no task: {out}"))?
            .to_string())
    };

    // RunTask -> RUNNING for one task at a time: what a single launch costs.
    let single_n = if s.quick { 3 } else { 10 };
    println!("xtask: RunTask one at a time x{single_n}");
    let mut single: Vec<f64> = Vec::new();
    for _ in 0..single_n {
        check_interrupted()?;
        let t0 = Instant::now();
        let arn = run_one_task(&emu, &td_arn, &network)?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            check_interrupted()?;
            let out = emu.ecs("DescribeTasks", json!({"cluster": "bench", "tasks": [arn]}))?;
            match out["tasks"][0]["lastStatus"].as_str() {
                Some("RUNNING") => break,
                Some("STOPPED") => bail!("task stopped before RUNNING: {out}"),
                _ if Instant::now() > deadline => bail!("task not RUNNING within 60 s: {out}"),
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        single.push(t0.elapsed().as_secs_f64());
        emu.ecs("StopTask", json!({"cluster": "bench", "task": arn}))?;
    }
    let (single_p50, single_p95, single_max) = p50_p95_max(single);
    println!(
        "xtask: one at a time: RunTask -> RUNNING p50 {single_p50:.2} s, p95 {single_p95:.2} s"
    );

    // RunTask -> RUNNING, one task per call, issued back to back.
    println!("xtask: RunTask x{n}");
    let mut submitted: Vec<(String, Instant)> = Vec::new();
    for _ in 0..n {
        let t0 = Instant::now();
        let arn = run_one_task(&emu, &td_arn, &network)?;
        submitted.push((arn, t0));
    }
    let mut running: BTreeMap<String, Duration> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60 + 10 * n as u64);
    while running.len() < n {
        check_interrupted()?;
        if Instant::now() > deadline {
            bail!("only {} of {n} tasks reached RUNNING", running.len());
        }
        let arns: Vec<&str> = submitted
            .iter()
            .filter(|(a, _)| !running.contains_key(a))
            .map(|(a, _)| a.as_str())
            .collect();
        let out = emu.ecs("DescribeTasks", json!({"cluster": "bench", "tasks": arns}))?;
        let now = Instant::now();
        for task in out["tasks"].as_array().into_iter().flatten() {
            let arn = task["taskArn"].as_str().unwrap_or_default();
            match task["lastStatus"].as_str() {
                Some("RUNNING") => {
                    if let Some((_, t0)) = submitted.iter().find(|(a, _)| a == arn) {
                        running.insert(arn.to_string(), now - *t0);
                    }
                }
                Some("STOPPED") => bail!("task stopped before RUNNING: {task}"),
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (run_p50, run_p95, run_max) =
        p50_p95_max(running.values().map(Duration::as_secs_f64).collect());
    println!("xtask: RunTask -> RUNNING p50 {run_p50:.2} s, p95 {run_p95:.2} s");
    for (arn, _) in &submitted {
        emu.ecs("StopTask", json!({"cluster": "bench", "task": arn}))?;
    }

    // A service of n tasks reaching steady state.
    println!("xtask: service with {n} tasks");
    let t0 = Instant::now();
    emu.ecs(
        "CreateService",
        json!({"cluster": "bench", "serviceName": "bench", "taskDefinition": td_arn,
               "desiredCount": n, "launchType": "FARGATE", "networkConfiguration": network}),
    )?;
    let deadline = Instant::now() + Duration::from_secs(60 + 10 * n as u64);
    let steady = loop {
        check_interrupted()?;
        let out = emu.ecs(
            "DescribeServices",
            json!({"cluster": "bench", "services": ["bench"]}),
        )?;
        let svc = &out["services"][0];
        if svc["runningCount"].as_u64() == Some(n as u64) && svc["pendingCount"].as_u64() == Some(0)
        {
            break t0.elapsed();
        }
        if Instant::now() > deadline {
            bail!("service did not reach {n} running tasks: {svc}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    println!("xtask: service steady after {:.2} s", steady.as_secs_f64());

    // API latency under 50 concurrent clients (closed loop).
    let api_secs = s.duration.max(2);
    let mut api_rows = Vec::new();
    for (action, body) in [
        ("ListClusters", "{}".to_string()),
        (
            "DescribeServices",
            json!({"cluster": "bench", "services": ["bench"]}).to_string(),
        ),
    ] {
        check_interrupted()?;
        let script = tmp.path.join(format!("{action}.lua"));
        std::fs::write(
            &script,
            format!(
                "wrk.method = \"POST\"\nwrk.body = '{body}'\n\
                 wrk.headers[\"Content-Type\"] = \"application/x-amz-json-1.1\"\n\
                 wrk.headers[\"X-Amz-Target\"] = \"{ECS_TARGET}.{action}\"\n"
            ),
        )?;
        let sample = run_wrk_script(
            &tools.wrk,
            &format!("http://{}/", emu.api),
            &script,
            50,
            api_secs,
            &tmp,
        )?;
        println!(
            "xtask: {action} x50 clients: {:.0} req/s, p99 {:.2} ms, {} errors",
            sample.rps, sample.p99_ms, sample.errors
        );
        api_rows.push((action, sample));
    }
    let loaded_rss = peak_rss_kb(emu.pid());

    let _ = emu.ecs(
        "DeleteService",
        json!({"cluster": "bench", "service": "bench", "force": true}),
    );
    emu.stop();

    let mib = |kb: Option<u64>| kb.map_or("-".into(), |kb| format!("{:.1}", kb as f64 / 1024.0));
    let mut r = String::new();
    writeln!(r, "## Control plane").unwrap();
    writeln!(r).unwrap();
    writeln!(r, "Command: `{}`", command_line()).unwrap();
    writeln!(r).unwrap();
    writeln!(r, "{}", environment(&tools)).unwrap();
    writeln!(r, "| figure | value |").unwrap();
    writeln!(r, "|---|---|").unwrap();
    writeln!(
        r,
        "| RunTask -> RUNNING, one task at a time ({single_n} tasks, polled every 10 ms) | p50 {single_p50:.2} s, p95 {single_p95:.2} s, max {single_max:.2} s |"
    )
    .unwrap();
    writeln!(
        r,
        "| RunTask -> RUNNING ({n} tasks, one RunTask each, back to back) | p50 {run_p50:.2} s, p95 {run_p95:.2} s, max {run_max:.2} s |"
    )
    .unwrap();
    writeln!(
        r,
        "| service of {n} tasks: CreateService -> runningCount {n} | {:.2} s |",
        steady.as_secs_f64()
    )
    .unwrap();
    for (action, s) in &api_rows {
        writeln!(
            r,
            "| {action}, 50 concurrent clients (wrk, {api_secs} s) | {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms, {} errors |",
            s.rps, s.p50_ms, s.p99_ms, s.errors
        )
        .unwrap();
    }
    writeln!(
        r,
        "| emulator RSS idle (after start-up) | {} MiB |",
        mib(idle_rss)
    )
    .unwrap();
    writeln!(
        r,
        "| emulator peak RSS ({n} tasks running, after the API load) | {} MiB |",
        mib(loaded_rss)
    )
    .unwrap();
    Ok(r)
}

// ---------------------------------------------------------------------------
// Tools, processes, Docker

struct Tools {
    wrk: PathBuf,
    oha: Option<PathBuf>,
    nginx: Option<PathBuf>,
    haproxy: Option<PathBuf>,
    versions: Vec<String>,
}

impl Tools {
    fn find(s: &Settings) -> Result<Self> {
        let mut missing_apt: Vec<&str> = ["wrk", "nginx", "haproxy"]
            .into_iter()
            .filter(|b| which(b).is_none())
            .collect();
        if !missing_apt.is_empty() && s.install {
            println!("xtask: installing {}", missing_apt.join(" "));
            let installed = crate::run(
                Command::new("apt-get")
                    .args(["install", "-y", "-o", "DPkg::Lock::Timeout=300"])
                    .args(&missing_apt)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
            .or_else(|_| {
                crate::run(Command::new("apt-get").arg("update"))?;
                crate::run(
                    Command::new("apt-get")
                        .args(["install", "-y", "-o", "DPkg::Lock::Timeout=300"])
                        .args(&missing_apt)
                        .env("DEBIAN_FRONTEND", "noninteractive"),
                )
            });
            if let Err(e) = installed {
                println!("xtask: installing {} failed: {e:#}", missing_apt.join(" "));
            }
            missing_apt.retain(|b| which(b).is_none());
        }
        let wrk = match which("wrk") {
            Some(p) => p,
            None => bail!(
                "wrk is not installed and is required (apt-get install wrk; \
                 the bench installs it unless --no-install)"
            ),
        };
        let nginx = which("nginx");
        let haproxy = which("haproxy");
        for (name, found) in [("nginx", &nginx), ("haproxy", &haproxy)] {
            if found.is_none() {
                println!("xtask: skipped: {name} not installed (apt-get install {name})");
            }
        }
        let mut oha = which("oha");
        if oha.is_none() && s.install && !s.quick {
            println!(
                "xtask: installing oha (cargo install {OHA_CRATE} --locked; takes a few minutes)"
            );
            if crate::run(crate::cargo().args(["install", OHA_CRATE, "--locked"])).is_ok() {
                oha = which("oha");
            }
        }
        if oha.is_none() {
            println!(
                "xtask: skipped: oha not installed (cargo install {OHA_CRATE} --locked); \
                 the open-loop runs are left out, wrk still runs"
            );
        }
        let mut versions = Vec::new();
        let version = |cmd: &mut Command| -> Option<String> {
            let out = cmd.output().ok()?;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            text.lines().next().map(|l| l.trim().to_string())
        };
        if let Some(v) = version(Command::new(&wrk).arg("-v")) {
            versions.push(v);
        }
        if let Some(v) = oha
            .as_ref()
            .and_then(|o| version(Command::new(o).arg("--version")))
        {
            versions.push(v);
        }
        if let Some(v) = nginx
            .as_ref()
            .and_then(|n| version(Command::new(n).arg("-v")))
        {
            versions.push(v);
        }
        if let Some(v) = haproxy
            .as_ref()
            .and_then(|h| version(Command::new(h).arg("-v")))
        {
            versions.push(v);
        }
        Ok(Self {
            wrk,
            oha,
            nginx,
            haproxy,
            versions,
        })
    }
}

/// A binary on PATH (or in ~/.cargo/bin, or /usr/sbin).
fn which(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.push("/usr/sbin".into());
    dirs.push("/usr/local/sbin".into());
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

fn environment(tools: &Tools) -> String {
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

fn command_line() -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    format!("cargo xtask {}", args.join(" "))
}

fn sample_image(s: &Settings) -> Result<()> {
    if s.image_build {
        return crate::sample_image(crate::DEFAULT_TAG);
    }
    docker(&["image", "inspect", crate::DEFAULT_TAG])
        .map(drop)
        .context("--no-image-build: the sample-app image is missing (cargo xtask sample-image)")
}

fn build_emulator(s: &Settings) -> Result<PathBuf> {
    if let Some(bin) = &s.emulator {
        return Ok(bin.clone());
    }
    let root = &crate::workspace_root()?;
    // --quick only checks that the bench runs: the debug build CI already
    // has is enough, and its figures mean nothing.
    // Otherwise the `perf` profile: release with whole-program optimisation
    // (slow to build, so not the everyday release profile).
    let (profile, dir) = if s.quick {
        ("dev", "debug")
    } else {
        ("perf", "perf")
    };
    println!("xtask: building the emulator (profile {profile})");
    let mut cmd = crate::cargo();
    cmd.current_dir(root).args([
        "build",
        "--workspace",
        "--bin",
        "emulator",
        "--profile",
        profile,
    ]);
    if profile == "dev" {
        // With the tests: the same feature set as the tests' build (their
        // dev-dependencies included), so a debug build reuses it.
        cmd.arg("--tests");
    }
    crate::run(&mut cmd)?;
    let bin = crate::cargo_target_dir(root)?.join(dir).join("emulator");
    if !bin.is_file() {
        bail!("expected {}", bin.display());
    }
    Ok(bin)
}

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
struct Proc {
    name: String,
    child: Child,
}

impl Proc {
    fn spawn(name: &str, cmd: &mut Command, log: &Path) -> Result<Self> {
        let file = std::fs::File::create(log)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {name}: {cmd:?}"))?;
        Ok(Self {
            name: name.to_string(),
            child,
        })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn exited(&self) -> bool {
        // SAFETY: kill with signal 0 only checks that the process exists.
        let alive = unsafe { libc::kill(self.pid() as libc::pid_t, 0) } == 0;
        let zombie = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .map(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        !alive || zombie
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("xtask: {} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command to completion within `limit` (killed after it), returning
/// its stdout; an error carries its stderr too.
fn run_bounded(cmd: &mut Command, limit: Duration, tmp: &TempDir) -> Result<String> {
    // Apart: a tool's stderr lines (oha's "Storing results to ...") would
    // land in the middle of its JSON on stdout.
    let out_path = tmp.path.join("run.out");
    let err_path = tmp.path.join("run.err");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::fs::File::create(&err_path)?)
        .spawn()
        .with_context(|| format!("spawning {cmd:?}"))?;
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    check_interrupted()?;
    let text = std::fs::read_to_string(&out_path)?;
    if !status.success() {
        let err = std::fs::read_to_string(&err_path).unwrap_or_default();
        bail!("{cmd:?} failed ({status}):\n{text}{err}");
    }
    Ok(text)
}

/// The sample-app backends, on a bench network, pinned to the load CPU.
struct Backends {
    network: String,
    containers: Vec<String>,
    ips: Vec<Ipv4Addr>,
}

impl Backends {
    fn start(n: usize) -> Result<Self> {
        remove_leftovers();
        let tag = std::process::id();
        let mut this = Self {
            network: format!("fe-bench-{tag}"),
            containers: Vec::new(),
            ips: Vec::new(),
        };
        docker(&["network", "create", "--label", BENCH_LABEL, &this.network])?;
        for i in 0..n {
            let name = format!("fe-bench-{tag}-{i}");
            docker(&[
                "run",
                "-d",
                "--name",
                &name,
                "--label",
                BENCH_LABEL,
                "--network",
                &this.network,
                "--cpuset-cpus",
                LOAD_CPU,
                // No stdout line per request: Docker's log pipeline
                // (containerd-shim, dockerd: on no pinned CPU) would take
                // a third of the proxy's CPU, at random.
                "--log-driver",
                "none",
                "-e",
                "REQUEST_LOG=off",
                "-e",
                &format!("APP_VERSION=bench-{i}"),
                crate::DEFAULT_TAG,
            ])?;
            this.containers.push(name.clone());
            let ip = docker(&[
                "inspect",
                "-f",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                &name,
            ])?;
            this.ips.push(
                ip.trim()
                    .parse()
                    .with_context(|| format!("IP of {name}: {ip:?}"))?,
            );
        }
        for ip in &this.ips {
            wait_http_ok(
                &format!("http://{ip}:{BACKEND_PORT}/health"),
                Duration::from_secs(30),
            )?;
        }
        println!("xtask: backends up: {:?}", this.ips);
        Ok(this)
    }

    /// Puts every thread of every backend under [`LOAD_POLICY`] (needs the
    /// right to change another user's processes, as root has).
    fn set_load_policy(&self) -> Result<()> {
        for name in &self.containers {
            let pid = docker(&["inspect", "-f", "{{.State.Pid}}", name])?;
            stdout_of(
                "chrt",
                &["--all-tasks", LOAD_POLICY, "--pid", "0", pid.trim()],
            )
            .with_context(|| format!("backend {name}"))?;
        }
        Ok(())
    }
}

impl Drop for Backends {
    fn drop(&mut self) {
        if !self.containers.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(self.containers.iter().map(String::as_str));
            let _ = docker(&args);
        }
        let _ = docker(&["network", "rm", &self.network]);
    }
}

/// Containers and networks of an earlier bench that was killed hard.
fn remove_leftovers() {
    let filter = format!("label={BENCH_LABEL}");
    if let Ok(ids) = docker(&["ps", "-aq", "--filter", &filter]) {
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids);
            let _ = docker(&args);
        }
    }
    if let Ok(ids) = docker(&["network", "ls", "-q", "--filter", &filter]) {
        for id in ids.split_whitespace() {
            let _ = docker(&["network", "rm", id]);
        }
    }
}

fn docker(args: &[&str]) -> Result<String> {
    stdout_of("docker", args)
}

/// Runs `program` to the end; its stdout, or an error with its stderr.
fn stdout_of(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

struct TempDir {
    path: PathBuf,
}

impl TempDir {
    fn new(prefix: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Self { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

// ---------------------------------------------------------------------------
// /proc, signals, limits

/// One CPU's clock ticks since boot, from /proc/stat.
struct CpuTicks {
    /// Everything but idle and iowait (steal included).
    busy: u64,
    /// Time the hypervisor gave to other guests while this one wanted to run.
    steal: u64,
    total: u64,
}

/// Per CPU, from /proc/stat.
fn cpu_times() -> Option<Vec<CpuTicks>> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let mut out = Vec::new();
    for line in stat.lines() {
        let Some(rest) = line.strip_prefix("cpu") else {
            continue;
        };
        if !rest.starts_with(|c: char| c.is_ascii_digit()) {
            continue;
        }
        let v: Vec<u64> = rest
            .split_whitespace()
            .skip(1)
            .filter_map(|x| x.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal...
        let field = |i: usize| v.get(i).copied().unwrap_or(0);
        let total: u64 = v.iter().take(8).sum();
        out.push(CpuTicks {
            busy: total - field(3) - field(4),
            steal: field(7),
            total,
        });
    }
    Some(out)
}

fn busy_share(before: &[CpuTicks], after: &[CpuTicks], cpu: usize) -> f64 {
    match (before.get(cpu), after.get(cpu)) {
        (Some(a), Some(b)) if b.total > a.total => {
            (b.busy - a.busy) as f64 / (b.total - a.total) as f64
        }
        _ => 0.0,
    }
}

/// Steal's share of all CPUs' time between two readings.
fn steal_share(before: &[CpuTicks], after: &[CpuTicks]) -> f64 {
    let (mut steal, mut total) = (0, 0);
    for (a, b) in before.iter().zip(after) {
        steal += b.steal.saturating_sub(a.steal);
        total += b.total.saturating_sub(a.total);
    }
    if total == 0 {
        0.0
    } else {
        steal as f64 / total as f64
    }
}

/// utime + stime of a process, in clock ticks.
fn cpu_ticks(pid: u32) -> Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces): state is 3.
    let rest = stat.rsplit_once(')').context("malformed stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: u64 = fields.get(11).context("utime")?.parse()?;
    let stime: u64 = fields.get(12).context("stime")?.parse()?;
    Ok(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

fn peak_rss_kb(pid: u32) -> Option<u64> {
    status_kb(pid, "VmHWM:")
}

fn current_rss_kb(pid: u32) -> Option<u64> {
    status_kb(pid, "VmRSS:")
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C reaches the whole foreground process group: the load generator and
/// the proxies stop on their own, and the bench notices the flag at its next
/// step and unwinds, so every guard removes what it started.
pub(crate) fn install_signal_handlers() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic (async-signal-safe).
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted; cleaning up");
    }
    Ok(())
}

static NOFILE_LIMIT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1024);

/// The open-files limit the bench and its children run with.
fn nofile_limit() -> u64 {
    NOFILE_LIMIT.load(Ordering::Relaxed)
}

/// Children inherit the limit: wrk with 10k connections and the proxies
/// with as many again upstream.
fn raise_nofile_limit() {
    let limit = libc::rlimit {
        rlim_cur: NOFILE as libc::rlim_t,
        rlim_max: NOFILE as libc::rlim_t,
    };
    // SAFETY: setrlimit reads a valid struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        let mut cur = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes to a valid struct.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur) };
        cur.rlim_cur = cur.rlim_max;
        // SAFETY: as above.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &cur) };
        println!(
            "xtask: could not raise the open-files limit to {NOFILE}; using {}",
            cur.rlim_max
        );
    }
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes to a valid struct.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur) };
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    NOFILE_LIMIT.store(cur.rlim_cur as u64, Ordering::Relaxed);
}

// ---------------------------------------------------------------------------
// A tiny blocking HTTP/1.1 client (control requests only)

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The address and path of an `http://IP:PORT/...` URL.
fn split_url(url: &str) -> Result<(SocketAddr, String)> {
    let rest = url.strip_prefix("http://").context("http URL")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    Ok((host.parse()?, format!("/{path}")))
}

fn wait_http_ok(url: &str, limit: Duration) -> Result<()> {
    let (addr, path) = split_url(url)?;
    let deadline = Instant::now() + limit;
    loop {
        check_interrupted()?;
        match http_request(addr, "GET", &path, &[], b"") {
            Ok((200, _)) => return Ok(()),
            Ok((status, _)) if Instant::now() > deadline => bail!("{url}: status {status}"),
            Err(e) if Instant::now() > deadline => bail!("{url}: {e:#}"),
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (k, v) in headers {
        write!(req, "{k}: {v}\r\n").unwrap();
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes())?;
    s.write_all(body)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .context("no end of response head")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let mut body = raw[split + 4..].to_vec();
    let status: u16 = head
        .split_whitespace()
        .nth(1)
        .context("no status")?
        .parse()?;
    if head
        .lines()
        .any(|l| l.to_ascii_lowercase().starts_with("transfer-encoding:") && l.contains("chunked"))
    {
        body = dechunk(&body)?;
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn dechunk(mut data: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .context("chunk size line")?;
        let size_text = std::str::from_utf8(&data[..line_end])?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)?;
        data = &data[line_end + 2..];
        if size == 0 {
            return Ok(out);
        }
        if data.len() < size + 2 {
            bail!("truncated chunk");
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            write!(out, "%{b:02X}").unwrap();
        }
    }
    out
}

/// The text of the first `<tag>` element.
fn xml_text(xml: &str, tag: &str) -> Option<String> {
    xml_all(xml, tag).into_iter().next()
}

fn xml_all(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    let mut out = Vec::new();
    let mut rest = xml;
    while let Some(i) = rest.find(&open) {
        let after = &rest[i + open.len()..];
        let Some(j) = after.find(&close) else { break };
        out.push(after[..j].to_string());
        rest = &after[j + close.len()..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steal_is_a_share_of_every_cpus_time() {
        let ticks = |busy, steal, total| CpuTicks { busy, steal, total };
        let before = [ticks(10, 0, 100), ticks(10, 5, 100)];
        // 100 ticks more on each CPU; 2 and 8 of them stolen.
        let after = [ticks(60, 2, 200), ticks(90, 13, 200)];
        assert!((steal_share(&before, &after) - 0.05).abs() < 1e-9);
        assert!((busy_share(&before, &after, 1) - 0.8).abs() < 1e-9);
        assert_eq!(steal_share(&before, &before), 0.0);
    }

    #[test]
    fn parses_wrk_output() {
        let text = "Running 2s test @ http://127.0.0.1:1/\n  1 threads and 64 connections\n\
            Thread Stats   Avg      Stdev     Max   +/- Stdev\n\
            Latency     1.02ms  200.00us   5.00ms   90.00%\n\
            Latency Distribution\n     50%  486.00us\n     75%    1.00ms\n     90%    1.50ms\n     99%    2.50ms\n\
            120000 requests in 2.00s, 20.00MB read\n\
            Socket errors: connect 1, read 2, write 0, timeout 3\n\
            Non-2xx or 3xx responses: 4\n\
            Requests/sec:  60000.50\nTransfer/sec:     10.00MB\n";
        let s = parse_wrk(text).unwrap();
        assert_eq!(s.requests, 120_000);
        assert_eq!(s.errors, 10);
        assert!((s.rps - 60000.5).abs() < 1e-6);
        assert!((s.p50_ms - 0.486).abs() < 1e-9);
        assert!((s.p99_ms - 2.5).abs() < 1e-9);
    }

    #[test]
    fn parses_oha_json() {
        let text = r#"{"summary":{"requestsPerSec":1000.5},"latencyPercentiles":{"p50":0.001,"p99":0.004},
            "statusCodeDistribution":{"200":990,"502":10},"errorDistribution":{"aborted due to deadline":5,"connection reset":2}}"#;
        let s = parse_oha(text).unwrap();
        assert_eq!(s.requests, 1000);
        assert_eq!(s.errors, 12);
        assert!((s.p99_ms - 4.0).abs() < 1e-9);
    }

    #[test]
    fn nearest_rank_percentiles() {
        let values: Vec<f64> = (1..=20).rev().map(f64::from).collect();
        assert_eq!(p50_p95_max(values), (10.0, 19.0, 20.0));
        assert_eq!(p50_p95_max(vec![3.0]), (3.0, 3.0, 3.0));
    }

    #[test]
    fn rounds_won_counts_strict_wins_per_round() {
        let round = |rps: f64, p99_ms: f64| Sample {
            rps,
            p99_ms,
            ..Sample::default()
        };
        let alb = [round(100.0, 2.0), round(90.0, 1.0), round(80.0, 3.0)];
        let peer = [round(90.0, 2.0), round(95.0, 1.5), round(80.0, 2.5)];
        assert_eq!(
            RoundsWon::count(&alb, &peer),
            RoundsWon {
                rounds: 3,
                more_rps: 1,
                lower_p99: 1
            }
        );
        let contenders = vec![
            Contender {
                wrk: alb.to_vec(),
                ..Contender::new("alb", String::new(), Some(1))
            },
            Contender {
                wrk: peer.to_vec(),
                ..Contender::new("haproxy", String::new(), Some(2))
            },
            Contender {
                wrk: peer.to_vec(),
                ..Contender::new("direct", String::new(), None)
            },
        ];
        assert_eq!(
            rounds_won(&contenders, |c| &c.wrk, true),
            "\nRound by round, the ALB against haproxy: more req/s in 1 of 3, \
             lower p99 in 1 of 3 (a tie is not a win).\n"
        );
        assert_eq!(
            rounds_won(&contenders, |c| &c.wrk, false),
            "\nRound by round, the ALB against haproxy: lower p99 in 1 of 3 (a tie is not a win).\n"
        );
    }

    #[test]
    fn load_cpu_ceiling_needs_every_proxy_at_it() {
        let busy = |load: f64| Sample {
            busy: Some((0.9, load)),
            ..Sample::default()
        };
        let proxies = |alb_load: f64| {
            vec![
                Contender {
                    wrk: vec![busy(alb_load), busy(0.97), busy(alb_load)],
                    ..Contender::new("alb", String::new(), Some(1))
                },
                Contender {
                    wrk: vec![busy(0.96)],
                    ..Contender::new("haproxy", String::new(), Some(2))
                },
                // `direct` has no proxy process: its load is not counted.
                Contender {
                    wrk: vec![busy(0.5)],
                    ..Contender::new("direct", String::new(), None)
                },
            ]
        };
        let warning = load_cpu_ceiling(&proxies(0.98), |c| &c.wrk);
        assert!(warning.contains("CPU 1"), "{warning}");
        assert!(warning.contains("at least 90 % busy"), "{warning}");
        assert_eq!(load_cpu_ceiling(&proxies(0.85), |c| &c.wrk), "");
        assert_eq!(load_cpu_ceiling(&proxies(0.98)[..1], |c| &c.wrk), "");
    }

    #[test]
    fn pooled_percentiles_span_every_round() {
        let round = |latencies_ms: Vec<f64>| Sample {
            latencies_ms,
            ..Sample::default()
        };
        // 1..=1000 ms split over two rounds, out of order.
        let (low, high): (Vec<f64>, Vec<f64>) = (1..=1000)
            .map(f64::from)
            .rev()
            .partition(|v| v % 2.0 == 0.0);
        let contenders = vec![
            Contender {
                oha: vec![round(low), round(high)],
                ..Contender::new("alb", String::new(), Some(1))
            },
            // wrk-only contender: no latencies, no row.
            Contender::new("direct", String::new(), None),
        ];
        assert_eq!(
            pooled_table(&contenders, |c| &c.oha),
            "| contender | requests | p50 ms | p90 ms | p99 ms | p99.9 ms |\n\
             |---|---|---|---|---|---|\n\
             | alb | 1000 | 500.000 | 900.000 | 990.000 | 999.000 |\n"
        );
        assert_eq!(pooled_table(&contenders, |c| &c.wrk), "");
    }

    #[test]
    fn reads_latencies_from_an_oha_database() {
        let tmp = TempDir::new("fe-bench-test-oha-db").unwrap();
        let db = tmp.path.join("oha.db");
        let conn = rusqlite::Connection::open(&db).unwrap();
        // oha 1.16's schema (src/db.rs).
        conn.execute_batch(
            "CREATE TABLE oha (url TEXT NOT NULL, start REAL NOT NULL, \
             start_latency_correction REAL, end REAL NOT NULL, duration REAL NOT NULL, \
             status INTEGER NOT NULL, len_bytes INTEGER NOT NULL, run INTEGER NOT NULL);
             INSERT INTO oha VALUES ('/', 0.1, 0.09, 0.1005, 0.0015, 200, 87, 1);
             INSERT INTO oha VALUES ('/', 0.2, NULL, 0.20025, 0.00025, 502, 0, 1);",
        )
        .unwrap();
        drop(conn);
        let got = oha_latencies_ms(&db).unwrap();
        assert_eq!(got.len(), 2);
        assert!(
            (got[0] - 1.5).abs() < 1e-9 && (got[1] - 0.25).abs() < 1e-9,
            "{got:?}"
        );
        assert!(oha_latencies_ms(&tmp.path.join("missing.db")).is_err());
    }

    #[test]
    fn medians_and_xml() {
        assert_eq!(median([3.0, 1.0, 2.0].into_iter()), 2.0);
        assert_eq!(median([4.0, 1.0].into_iter()), 2.5);
        assert_eq!(spread(&[1.0, 3.0, 2.0], 0), "2 (1-3)");
        let xml = "<a><State>healthy</State><State>initial</State></a>";
        assert_eq!(xml_all(xml, "State"), ["healthy", "initial"]);
        assert_eq!(form_encode("a b/c"), "a%20b%2Fc");
        assert_eq!(dechunk(b"3\r\nabc\r\n0\r\n\r\n").unwrap(), b"abc");
    }
}
