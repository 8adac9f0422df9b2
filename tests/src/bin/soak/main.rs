//! The soak run's driver; `cargo xtask soak --minutes N` builds and runs it.
//!
//! It starts the emulator binary as a child process on a fresh state
//! directory, puts a 3-task sample-app service behind an ALB through the
//! official SDK crates, and sends a steady fixed-rate load to the listener
//! while, one at a time and each followed by a settle (service steady, no
//! container of a dead task left):
//! - at seeded random intervals, `docker kill`s a random task's app container
//!   or its network holder (the sandbox);
//! - every few minutes, rolls a deployment (a new revision: another
//!   `APP_VERSION`);
//! - once, at a quarter of the run, crashes the emulator (`kill -9`) and
//!   starts it again on the same state directory and port; the load goes on.
//!
//! Then it stops the emulator with SIGTERM, counts what the instance left on
//! the Docker engine, and prints the report of [`tests::soak`]. The exit
//! code is 0 only when the run passes. Traffic goes to 127.0.0.1 and the
//! run's own containers only; every wait has a deadline; Ctrl-C, SIGTERM,
//! a failed step and a panic all end in the same clean-up and report.
//!
//! # Layout
//! - this file: the arguments, the run's set-up and its chaos schedule;
//! - `faults`: the container kill, the deployment, the emulator restart;
//! - `checks`: whether the service is steady and nothing leaked;
//! - `load`: the fixed-rate load and the emulator's RSS samples;
//! - `engine`: what the instance has on the Docker engine.

use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use aws_sdk_ecs::types::DesiredStatus;
use clap::Parser;
use futures::FutureExt;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tests::process::EmulatorProcess;
use tests::soak::{Event, EventKind, Outcome, Request, RssSample, Run, Window};

mod checks;
mod engine;
mod faults;
mod load;

use engine::leftover_networks;
use load::{load, sample_rss};

/// Tasks of the service.
const TASKS: i32 = 3;
/// Seconds between container kills, drawn from this range.
const KILL_EVERY_SECS: std::ops::RangeInclusive<u64> = 15..=45;
/// Rolling deployments come a third of the run apart, within these bounds.
const DEPLOY_EVERY_MIN: Duration = Duration::from_secs(60);
const DEPLOY_EVERY_MAX: Duration = Duration::from_secs(300);
/// No chaos starts this close to the end, so the last one settles in time.
const QUIET_END: Duration = Duration::from_secs(15);
/// How long the service may take to be steady again after a kill.
const SETTLE_DEADLINE: Duration = Duration::from_secs(120);
/// How long a rolling deployment may take.
const DEPLOY_DEADLINE: Duration = Duration::from_secs(180);
/// How long a stopped task's containers may take to go, once steady.
const LEAK_GRACE: Duration = Duration::from_secs(30);
/// How long the listener may take to answer after the restart.
const RESTART_DEADLINE: Duration = Duration::from_secs(60);
/// The RSS baseline is taken this long after the restart (at most half of
/// what is left of the run).
const RSS_WARMUP: Duration = Duration::from_secs(120);
const RSS_EVERY: Duration = Duration::from_secs(2);
/// Above the ALB's own timeouts (60 s idle, 10 s connect), so a request's
/// outcome is the ALB's answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(65);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Idle keep-alive connections the load keeps to the listener.
const CONNECTIONS: usize = 4;
/// Requests in flight at most; beyond, a tick counts as a client failure.
const MAX_IN_FLIGHT: usize = 256;
const POLL: Duration = Duration::from_millis(250);

#[derive(Parser)]
#[command(
    name = "soak",
    about = "Soak the emulator: steady load through the ALB under chaos"
)]
struct Args {
    /// Length of the run (load and chaos), in minutes.
    #[arg(long, default_value_t = 30.0)]
    minutes: f64,
    /// Seed of the chaos (intervals, victims); random when not given.
    #[arg(long)]
    seed: Option<u64>,
    /// Requests per second of the steady load.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// Also write the report to this file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Leave out the emulator restart (soak without persistence); the run
    /// cannot pass then.
    #[arg(long)]
    no_restart: bool,
    /// The emulator binary's build profile, for the report.
    #[arg(long, default_value = "dev")]
    profile: String,
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.minutes.is_nan() || args.minutes <= 0.0 || args.rate == 0 {
        eprintln!("soak: --minutes and --rate must be positive");
        return ExitCode::from(2);
    }
    let seed = args.seed.unwrap_or_else(rand::random);
    eprintln!(
        "soak: {} min, seed {seed}, {} req/s; starting the emulator",
        args.minutes, args.rate
    );
    let mut emu = EmulatorProcess::start().await;
    eprintln!(
        "soak: emulator instance {} on port {} (log {})",
        emu.instance,
        emu.port,
        emu.state_dir.join("emulator.log").display()
    );
    let mut slot = None;
    let mut signalled = false;
    let aborted = tokio::select! {
        r = AssertUnwindSafe(drive(&mut slot, &mut emu, &args, seed)).catch_unwind() => match r {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(format!("{e:#}")),
            Err(panic) => Some(format!("harness panic: {}", panic_message(&panic))),
        },
        why = stop_signal() => {
            signalled = true;
            Some(why.to_string())
        }
    };
    if let Some(why) = &aborted {
        eprintln!("soak: run cut short: {why}");
    }

    let mut run = Run {
        minutes: args.minutes,
        seed,
        rate: args.rate,
        profile: args.profile.clone(),
        restart_skipped: args.no_restart,
        aborted,
        ..Run::default()
    };
    if let Some(soak) = &mut slot {
        let at = soak.journal.now();
        soak.stop_load().await;
        if signalled {
            // The signal reached the emulator too (one process group).
            soak.journal.event(at, EventKind::Interrupted);
        }
    }
    run.left_after_stop = clean_stop(&mut emu).await;
    if let Some(soak) = slot {
        soak.into_run(&mut run);
    }
    let report = run.markdown();
    println!("{report}");
    if let Some(out) = &args.out {
        if let Err(e) = write_report(out, &report) {
            eprintln!("soak: cannot write {}: {e:#}", out.display());
        }
        let csv = out.with_extension("rss.csv");
        match std::fs::write(&csv, run.rss_csv()) {
            Ok(()) => eprintln!("soak: the RSS samples are in {}", csv.display()),
            Err(e) => eprintln!("soak: cannot write {}: {e}", csv.display()),
        }
        // Dropping the process removes its state directory, log included.
        let log = out.with_extension("emulator.log");
        match std::fs::copy(emu.state_dir.join("emulator.log"), &log) {
            Ok(_) => eprintln!("soak: the emulator's log is in {}", log.display()),
            Err(e) => eprintln!("soak: cannot keep the emulator's log: {e}"),
        }
    }
    drop(emu);
    if run.verdict().is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

async fn stop_signal() -> &'static str {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "interrupted (Ctrl-C)",
        _ = term.recv() => "terminated (SIGTERM)",
    }
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "(no message)".to_string())
}

fn write_report(out: &std::path::Path, report: &str) -> Result<()> {
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(out, report)?;
    eprintln!("soak: report written to {}", out.display());
    Ok(())
}

/// SIGTERM, then what the instance left: `(containers, networks)`; `None`
/// when the emulator was not running or did not exit cleanly.
async fn clean_stop(emu: &mut EmulatorProcess) -> Option<(usize, usize)> {
    let pid = emu.pid()?;
    eprintln!("soak: stopping the emulator (SIGTERM)");
    if AssertUnwindSafe(emu.stop()).catch_unwind().await.is_err() {
        eprintln!("soak: the clean stop failed:\n{}", emu.log_tail());
        // It may still run: stop() gave up waiting.
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status();
        return None;
    }
    let containers = tests::leftover_containers(&emu.instance).await;
    let networks = leftover_networks(&emu.instance).await.unwrap_or(usize::MAX);
    Some((containers, networks))
}

async fn drive(
    slot: &mut Option<Soak>,
    emu: &mut EmulatorProcess,
    args: &Args,
    seed: u64,
) -> Result<()> {
    let soak = slot.insert(Soak::setup(emu, args, seed).await?);
    soak.chaos(emu).await
}

/// What the load, the sampler and the chaos record, since the load started.
struct Journal {
    t0: Instant,
    requests: Mutex<Vec<Request>>,
    events: Mutex<Vec<Event>>,
    rss: Mutex<Vec<RssSample>>,
}

impl Journal {
    fn now(&self) -> Duration {
        self.t0.elapsed()
    }

    fn event(&self, start: Duration, kind: EventKind) {
        let window = Window {
            start,
            end: self.now(),
        };
        eprintln!(
            "soak: [{:7.1} s] {kind} ({:.1} s)",
            window.start.as_secs_f64(),
            (window.end - window.start).as_secs_f64()
        );
        self.events.lock().unwrap().push(Event { window, kind });
    }

    fn problem(&self, start: Duration, what: String) {
        self.event(start, EventKind::Problem(what));
    }
}

/// A task of the service that should be running.
struct Live {
    arn: String,
    ip: String,
    task_definition: String,
}

struct Soak {
    journal: Arc<Journal>,
    ecs: aws_sdk_ecs::Client,
    elbv2: aws_sdk_elasticloadbalancingv2::Client,
    cluster: String,
    service: String,
    family: String,
    alb: tests::alb::Alb,
    instance: String,
    rng: StdRng,
    length: Duration,
    /// Last APP_VERSION registered.
    version: u32,
    /// The emulator's pid for the sampler (0 while it is down) and which
    /// process it is (0 before the restart, 1 after).
    pid: Arc<AtomicU32>,
    process: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
    load: Option<tokio::task::JoinHandle<()>>,
    sampler: Option<tokio::task::JoinHandle<()>>,
    rss_baseline_from: Duration,
    leaked_max: usize,
    skip_restart: bool,
}

impl Soak {
    /// A cluster, a target group, an ALB and its listener, a steady service
    /// of [`TASKS`] tasks serving through it; then the load and the sampler.
    async fn setup(emu: &EmulatorProcess, args: &Args, seed: u64) -> Result<Self> {
        let began = Instant::now();
        let sdk = emu.sdk().await;
        let ecs = aws_sdk_ecs::Client::new(&sdk);
        let elbv2 = aws_sdk_elasticloadbalancingv2::Client::new(&sdk);
        let name = tests::unique("soak");
        ecs.create_cluster()
            .cluster_name(&name)
            .send()
            .await
            .context("create cluster")?;
        let alb = tests::alb::create(&elbv2, &name).await;
        let mut soak = Self {
            journal: Arc::new(Journal {
                t0: Instant::now(),
                requests: Mutex::default(),
                events: Mutex::default(),
                rss: Mutex::default(),
            }),
            ecs,
            elbv2,
            cluster: name.clone(),
            service: name.clone(),
            family: name,
            alb,
            instance: emu.instance.clone(),
            rng: StdRng::seed_from_u64(seed),
            length: Duration::from_secs_f64(args.minutes * 60.0),
            version: 0,
            pid: Arc::new(AtomicU32::new(emu.pid().unwrap_or(0))),
            process: Arc::new(AtomicU32::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
            load: None,
            sampler: None,
            // Without a restart, the baseline follows the load's warm-up.
            rss_baseline_from: RSS_WARMUP.min(Duration::from_secs_f64(args.minutes * 30.0)),
            leaked_max: 0,
            skip_restart: args.no_restart,
        };
        soak.register_next().await?;
        tests::ecs::create_stable_service(
            &soak.ecs,
            &soak.cluster,
            &soak.service,
            &soak.family,
            &soak.alb.target_group_arn,
            TASKS,
        )
        .await;
        soak.wait_steady(None, SETTLE_DEADLINE)
            .await
            .map_err(|why| anyhow::anyhow!("the new service is not steady: {why}"))?;
        let url = soak.alb.url();
        tests::wait_until("the listener serves", SETTLE_DEADLINE, || {
            let url = url.clone();
            async move { matches!(tests::http_get(&url).await, Ok((200, _))).then_some(()) }
        })
        .await;
        eprintln!(
            "soak: service {} steady behind {} after {:.1} s; load starts",
            soak.service,
            soak.alb.url(),
            began.elapsed().as_secs_f64()
        );
        // The timeline starts with the load.
        soak.journal = Arc::new(Journal {
            t0: Instant::now(),
            requests: Mutex::default(),
            events: Mutex::default(),
            rss: Mutex::default(),
        });
        soak.load = Some(tokio::spawn(load(
            soak.alb.url().parse()?,
            args.rate,
            soak.journal.clone(),
            soak.stop.clone(),
        )));
        soak.sampler = Some(tokio::spawn(sample_rss(
            soak.journal.clone(),
            soak.pid.clone(),
            soak.process.clone(),
            soak.stop.clone(),
        )));
        Ok(soak)
    }

    /// Kills, deployments and the restart, in time order, each followed by
    /// a settle, until the run's length; then a last settle.
    async fn chaos(&mut self, emu: &mut EmulatorProcess) -> Result<()> {
        let restart_at = if self.skip_restart {
            Duration::MAX
        } else {
            self.length / 4
        };
        let deploy_every = (self.length / 3).clamp(DEPLOY_EVERY_MIN, DEPLOY_EVERY_MAX);
        let mut next_deploy = deploy_every;
        let mut next_kill = self.kill_interval();
        let mut restarted = false;
        loop {
            let (at, what) = [
                (next_kill, Chaos::Kill),
                (next_deploy, Chaos::Deploy),
                (
                    if restarted { Duration::MAX } else { restart_at },
                    Chaos::Restart,
                ),
            ]
            .into_iter()
            .min_by_key(|(at, _)| *at)
            .expect("three candidates");
            if at.saturating_add(QUIET_END) >= self.length {
                break;
            }
            tokio::time::sleep_until((self.journal.t0 + at).into()).await;
            match what {
                Chaos::Kill => {
                    if let Some((start, victim)) = self.kill().await? {
                        self.wait_stopped(start, &victim).await;
                    }
                    next_kill = self.journal.now() + self.kill_interval();
                    self.settle("a kill").await;
                }
                Chaos::Deploy => {
                    self.deploy().await?;
                    next_deploy += deploy_every;
                    self.settle("a deployment").await;
                }
                Chaos::Restart => {
                    restarted = true;
                    self.restart(emu).await?;
                    self.settle("the restart").await;
                }
            }
        }
        tokio::time::sleep_until((self.journal.t0 + self.length).into()).await;
        self.settle("the run").await;
        Ok(())
    }

    fn kill_interval(&mut self) -> Duration {
        Duration::from_secs(self.rng.gen_range(KILL_EVERY_SECS))
    }

    /// Stops the load and the sampler after their last requests; once.
    async fn stop_load(&mut self) {
        self.stop.store(true, Relaxed);
        for task in [self.load.take(), self.sampler.take()]
            .into_iter()
            .flatten()
        {
            let _ = task.await;
        }
    }

    fn into_run(self, run: &mut Run) {
        run.requests = take(&self.journal.requests);
        run.events = take(&self.journal.events);
        run.rss = take(&self.journal.rss);
        run.rss_baseline_from = self.rss_baseline_from;
        run.leaked_during_run = self.leaked_max;
    }
}

fn take<T>(m: &Mutex<Vec<T>>) -> Vec<T> {
    std::mem::take(&mut *m.lock().unwrap())
}

#[derive(Clone, Copy)]
enum Chaos {
    Kill,
    Deploy,
    Restart,
}
