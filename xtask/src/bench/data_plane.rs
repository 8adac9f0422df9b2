//! The data-plane run: the contenders against the same backends, wrk's
//! closed-loop rounds, oha's open-loop rounds, the ALB-only extra checks,
//! the optional `perf` profile, and the report's data-plane section.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use test_support::ports::reserve;

use super::alb::{AlbSetup, Emulator};
use super::http::wait_http_ok;
use super::load::{last_oha_latencies, run_oha, run_wrk, LoadGen};
use super::measure::{cpu_times, measure, steal_share};
use super::peers::{check_same_job, start_haproxy, start_nginx, Peer};
use super::process::{check_interrupted, run_bounded, tail, Proc, TempDir};
use super::report::{
    command_line, environment, load_cpu_ceiling, median, pooled_table, rounds_won, table,
    Contender, Sample,
};
use super::setup::{build_emulator, sample_image, which, Backends, Tools};
use super::{Settings, BACKEND_PORT, LOAD_CPU, PROXY_CPU};

pub(super) fn data_plane(s: &Settings) -> Result<String> {
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
    type StartPeer = fn(&Path, &Peer) -> Result<Proc>;
    let peers: [(&'static str, &Option<PathBuf>, StartPeer); 2] = [
        ("nginx", &tools.nginx, start_nginx),
        ("haproxy", &tools.haproxy, start_haproxy),
    ];
    for (name, bin, start) in peers {
        match bin {
            Some(bin) => {
                let port = reserve();
                let dir = tmp.path.join(name);
                std::fs::create_dir_all(&dir)?;
                let peer = Peer {
                    dir: &dir,
                    port,
                    backends: &backends,
                    minimal: s.minimal_peers,
                };
                let p = start(bin, &peer)?;
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
        "nginx and HAProxy run minimal configs (`--minimal-peers`): \
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

/// The median req/s of two loads over `rounds` rounds, each round running
/// `first` then `second`.
fn median_rps_pair(
    rounds: usize,
    mut first: impl FnMut() -> Result<Sample>,
    mut second: impl FnMut() -> Result<Sample>,
) -> Result<(f64, f64)> {
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        check_interrupted()?;
        a.push(first()?);
        b.push(second()?);
    }
    Ok((
        median(a.iter().map(|x| x.rps)),
        median(b.iter().map(|x| x.rps)),
    ))
}

fn url(port: u16) -> String {
    format!("http://127.0.0.1:{port}/")
}

/// The extra checks: many client connections, ten listener rules,
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

    let load = |port| run_wrk(wrk, &url(port), s.connections, s.duration, tmp);

    // Ten non-matching rules in front of the default action.
    let (b, r) = median_rps_pair(s.rounds, || load(alb.port), || load(alb.rules_port))?;
    let cost = (1.0 - r / b) * 100.0;
    println!("xtask: ten rules: {b:.0} -> {r:.0} req/s ({cost:+.1}% cost)");
    writeln!(
        out,
        "| ten non-matching listener rules | {b:.0} req/s without, {r:.0} with: {cost:.1}% cost (goal < 5%) | {} |",
        verdict(cost < 5.0)
    )
    .unwrap();

    // Health checks every 5 s (ALB's minimum) against every 300 s.
    let with_interval = |secs| {
        alb.health_interval(emu, secs)?;
        load(alb.port)
    };
    let (f, sl) = median_rps_pair(s.rounds, || with_interval(5), || with_interval(300))?;
    alb.health_interval(emu, 5)?;
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
