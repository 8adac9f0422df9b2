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

async fn docker() -> Result<bollard::Docker> {
    Ok(bollard::Docker::connect_with_local_defaults()?
        .negotiate_version()
        .await?)
}

fn instance_filter(instance: &str) -> std::collections::HashMap<String, Vec<String>> {
    std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!(
            "{}={instance}",
            emulator::runtime::docker::LABEL_INSTANCE
        )],
    )])
}

async fn leftover_networks(instance: &str) -> Result<usize> {
    let options = bollard::query_parameters::ListNetworksOptionsBuilder::new()
        .filters(&instance_filter(instance))
        .build();
    Ok(docker().await?.list_networks(Some(options)).await?.len())
}

/// The instance's containers, running or not.
async fn instance_containers(instance: &str) -> Result<Vec<bollard::models::ContainerSummary>> {
    let options = bollard::query_parameters::ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&instance_filter(instance))
        .build();
    Ok(docker().await?.list_containers(Some(options)).await?)
}

/// The number of a `KEY:` line of a process's `/proc/PID/status`: VmRSS
/// and RssAnon in KiB, Threads as a count.
fn status_number(pid: u32, key: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
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

    /// `docker kill` of a random running task's app container or sandbox;
    /// when it was killed and the task's ARN.
    async fn kill(&mut self) -> Result<Option<(Duration, String)>> {
        let tasks = self.live_tasks().await?;
        if tasks.is_empty() {
            self.journal
                .problem(self.journal.now(), "no running task to kill".into());
            return Ok(None);
        }
        let victim = &tasks[self.rng.gen_range(0..tasks.len())];
        let network_holder = self.rng.gen_bool(0.5);
        let containers = tests::task_containers(&victim.arn).await;
        let id = containers
            .iter()
            .filter(|c| c.state.as_ref().map(|s| s.to_string()).as_deref() == Some("running"))
            .find(|c| {
                let name = c.labels.as_ref().and_then(|l| {
                    l.get(emulator::runtime::docker::LABEL_CONTAINER_NAME)
                        .cloned()
                });
                match network_holder {
                    true => name.is_none(),
                    false => name.as_deref() == Some("app"),
                }
            })
            .and_then(|c| c.id.clone());
        let task = victim
            .arn
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let Some(id) = id else {
            eprintln!("soak: task {task} has no running container to kill; skipped");
            return Ok(None);
        };
        let start = self.journal.now();
        let killed = docker()
            .await?
            .kill_container(&id, None::<bollard::query_parameters::KillContainerOptions>)
            .await;
        match killed {
            Ok(()) if network_holder => self
                .journal
                .event(start, EventKind::KillNetworkHolder { task }),
            Ok(()) => self.journal.event(start, EventKind::KillApp { task }),
            // It ended on its own in between (the task was stopping).
            Err(e) => {
                eprintln!("soak: docker kill {id} failed: {e}; skipped");
                return Ok(None);
            }
        }
        Ok(Some((start, victim.arn.clone())))
    }

    /// Until the killed task is no longer RUNNING (recorded from the kill's
    /// `start`): before, the service looks steady still.
    async fn wait_stopped(&self, start: Duration, arn: &str) {
        let deadline = Instant::now() + SETTLE_DEADLINE;
        while Instant::now() < deadline {
            let described = self
                .ecs
                .describe_tasks()
                .cluster(&self.cluster)
                .tasks(arn)
                .send()
                .await;
            let status = described.ok().and_then(|d| {
                d.tasks()
                    .first()
                    .and_then(|t| t.last_status().map(str::to_string))
            });
            if status.is_some_and(|s| s != "RUNNING") {
                let task = arn.rsplit('/').next().unwrap_or_default().to_string();
                self.journal.event(start, EventKind::Unnoticed { task });
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.journal.problem(
            start,
            format!("the killed task {arn} is still RUNNING after {SETTLE_DEADLINE:?}"),
        );
    }

    /// Registers the next revision (another APP_VERSION); its ARN.
    async fn register_next(&mut self) -> Result<String> {
        self.version += 1;
        let app = tests::ecs::sample_container("app")
            .environment(tests::ecs::env(
                "APP_VERSION",
                &format!("v{}", self.version),
            ))
            .build();
        Ok(tests::ecs::register(&self.ecs, &self.family, vec![app]).await)
    }

    /// UpdateService to a new revision, until only its tasks serve.
    async fn deploy(&mut self) -> Result<()> {
        let start = self.journal.now();
        let arn = self.register_next().await?;
        let revision = arn
            .rsplit(':')
            .next()
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        self.ecs
            .update_service()
            .cluster(&self.cluster)
            .service(&self.service)
            .task_definition(&arn)
            .send()
            .await
            .context("update service")?;
        let rolled = self.wait_steady(Some(&arn), DEPLOY_DEADLINE).await;
        self.journal.event(
            start,
            EventKind::Deployment {
                revision,
                done: rolled.is_ok(),
            },
        );
        if let Err(why) = rolled {
            self.journal.problem(
                start,
                format!("the deployment to revision {revision} did not finish in {DEPLOY_DEADLINE:?}: {why}"),
            );
        }
        Ok(())
    }

    /// `kill -9` of the emulator, a restart on the same state directory and
    /// port, and the listener answering again. Losing the service ends the
    /// run (an error), with the reason recorded.
    async fn restart(&mut self, emu: &mut EmulatorProcess) -> Result<()> {
        let start = self.journal.now();
        self.pid.store(0, Relaxed);
        emu.crash();
        emu.restart().await;
        self.pid.store(emu.pid().unwrap_or(0), Relaxed);
        self.process.store(1, Relaxed);
        let deadline = Instant::now() + RESTART_DEADLINE;
        let url = self.alb.url();
        let back = loop {
            if matches!(tests::http_get(&url).await, Ok((200, _))) {
                break true;
            }
            if Instant::now() >= deadline {
                break false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if back {
            self.journal
                .event(start, EventKind::EmulatorDown { back: true });
            let up = self.journal.now();
            self.rss_baseline_from = up + RSS_WARMUP.min(self.length.saturating_sub(up) / 2);
            return Ok(());
        }
        let (lost, why) = self.what_the_restart_lost().await;
        // Whatever fails from here on is downtime: stop the load first, so
        // the downtime window covers every request.
        self.stop_load().await;
        self.journal
            .event(start, EventKind::EmulatorDown { back: false });
        self.journal
            .problem(start, format!("after restart: {lost} ({why})"));
        anyhow::bail!("after restart: {lost}")
    }

    /// What the restart lost, and why the listener does not answer.
    async fn what_the_restart_lost(&self) -> (String, String) {
        let services = self
            .ecs
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .send()
            .await;
        let service = match services {
            Err(e) => {
                use aws_sdk_ecs::error::ProvideErrorMetadata;
                let lost = match e.code() {
                    Some("ClusterNotFoundException") => "cluster and service missing",
                    _ => "the service cannot be described",
                };
                return (
                    lost.to_string(),
                    format!(
                        "the state was not restored? DescribeServices: {}; the listener on port {} does not answer",
                        e.code().or(e.message()).unwrap_or("no error code"),
                        self.alb.port
                    ),
                );
            }
            Ok(out) => out
                .services()
                .iter()
                .find(|s| s.status() == Some("ACTIVE"))
                .cloned(),
        };
        let Some(service) = service else {
            return (
                "service missing".to_string(),
                format!(
                    "the state was not restored? the listener on port {} does not answer",
                    self.alb.port
                ),
            );
        };
        let listeners = self
            .elbv2
            .describe_listeners()
            .load_balancer_arn(&self.alb.load_balancer_arn)
            .send()
            .await
            .map(|l| l.listeners().len());
        (
            "the listener does not answer".to_string(),
            format!(
                "service there, running {} of {}; port {}, {RESTART_DEADLINE:?} after the \
                 restart; listeners of the ALB: {listeners:?}",
                service.running_count(),
                service.desired_count(),
                self.alb.port
            ),
        )
    }

    /// Steady again (recorded), then no container of the instance belongs to
    /// a stopped or unknown task once a grace period passed.
    async fn settle(&mut self, after: &str) {
        let start = self.journal.now();
        match self.wait_steady(None, SETTLE_DEADLINE).await {
            Ok(()) => self.journal.event(start, EventKind::Settled),
            Err(why) => self.journal.problem(
                start,
                format!("not steady {SETTLE_DEADLINE:?} after {after}: {why}"),
            ),
        }
        let deadline = Instant::now() + LEAK_GRACE;
        loop {
            let orphans = match self.orphans().await {
                Ok(o) => o,
                Err(e) => {
                    self.journal
                        .problem(start, format!("cannot check for leaked containers: {e:#}"));
                    return;
                }
            };
            if orphans.is_empty() {
                return;
            }
            if Instant::now() >= deadline {
                self.leaked_max = self.leaked_max.max(orphans.len());
                self.journal.problem(
                    start,
                    format!(
                        "{} containers of no live task {LEAK_GRACE:?} after steady: {}",
                        orphans.len(),
                        orphans.join(", ")
                    ),
                );
                return;
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// The instance's containers whose task is STOPPED or unknown (names).
    async fn orphans(&self) -> Result<Vec<String>> {
        let containers = instance_containers(&self.instance).await?;
        let task_of = |c: &bollard::models::ContainerSummary| {
            c.labels
                .as_ref()
                .and_then(|l| l.get(emulator::runtime::docker::LABEL_TASK_ARN).cloned())
        };
        let mut arns: Vec<String> = containers.iter().filter_map(task_of).collect();
        arns.sort();
        arns.dedup();
        let mut live = std::collections::HashSet::new();
        for chunk in arns.chunks(100) {
            let described = self
                .ecs
                .describe_tasks()
                .cluster(&self.cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .context("describe tasks")?;
            live.extend(
                described
                    .tasks()
                    .iter()
                    .filter(|t| t.last_status() != Some("STOPPED"))
                    .filter_map(|t| t.task_arn().map(str::to_string)),
            );
        }
        Ok(containers
            .iter()
            .filter(|c| task_of(c).is_none_or(|arn| !live.contains(&arn)))
            .map(|c| {
                c.names
                    .as_ref()
                    .and_then(|n| n.first().cloned())
                    .or_else(|| c.id.clone())
                    .unwrap_or_default()
            })
            .collect())
    }

    /// The service's tasks with desired status RUNNING that are RUNNING.
    async fn live_tasks(&self) -> Result<Vec<Live>> {
        let arns = self
            .ecs
            .list_tasks()
            .cluster(&self.cluster)
            .service_name(&self.service)
            .desired_status(DesiredStatus::Running)
            .send()
            .await
            .context("list tasks")?
            .task_arns()
            .to_vec();
        if arns.is_empty() {
            return Ok(vec![]);
        }
        let described = self
            .ecs
            .describe_tasks()
            .cluster(&self.cluster)
            .set_tasks(Some(arns))
            .send()
            .await
            .context("describe tasks")?;
        Ok(described
            .tasks()
            .iter()
            .filter(|t| t.last_status() == Some("RUNNING"))
            .filter_map(|t| {
                Some(Live {
                    arn: t.task_arn()?.to_string(),
                    ip: t
                        .attachments()
                        .iter()
                        .flat_map(|a| a.details())
                        .find(|d| d.name() == Some("privateIPv4Address"))?
                        .value()?
                        .to_string(),
                    task_definition: t.task_definition_arn()?.to_string(),
                })
            })
            .collect())
    }

    /// Polls [`Self::steady`] until it holds; the last reason when not.
    async fn wait_steady(
        &self,
        task_definition: Option<&str>,
        within: Duration,
    ) -> std::result::Result<(), String> {
        let deadline = Instant::now() + within;
        loop {
            let why = match self.steady(task_definition).await {
                Ok(None) => return Ok(()),
                Ok(Some(why)) => why,
                Err(e) => format!("{e:#}"),
            };
            if Instant::now() >= deadline {
                return Err(why);
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// `None` when the service is steady: one deployment (of
    /// `task_definition`, if given), [`TASKS`] tasks RUNNING on it and no
    /// other, and exactly their IPs healthy in the target group; else why not.
    async fn steady(&self, task_definition: Option<&str>) -> Result<Option<String>> {
        let out = self
            .ecs
            .describe_services()
            .cluster(&self.cluster)
            .services(&self.service)
            .send()
            .await
            .context("describe services")?;
        let Some(service) = out.services().first() else {
            return Ok(Some("service missing".into()));
        };
        let deployments = service.deployments();
        let primary = deployments
            .iter()
            .find(|d| d.status() == Some("PRIMARY"))
            .and_then(|d| d.task_definition())
            .unwrap_or_default()
            .to_string();
        if deployments.len() != 1 || task_definition.is_some_and(|td| td != primary) {
            return Ok(Some(format!(
                "{} deployments, primary {primary}",
                deployments.len()
            )));
        }
        let tasks = self.live_tasks().await?;
        if tasks.len() != TASKS as usize
            || service.running_count() != TASKS
            || service.pending_count() != 0
            || tasks.iter().any(|t| t.task_definition != primary)
        {
            return Ok(Some(format!(
                "{} tasks running on {primary} or not (service: running {}, pending {})",
                tasks.len(),
                service.running_count(),
                service.pending_count()
            )));
        }
        let mut healthy: Vec<String> =
            tests::alb::target_health(&self.elbv2, &self.alb.target_group_arn)
                .await
                .into_iter()
                .filter(|(_, state, _)| state == "healthy")
                .map(|(ip, _, _)| ip)
                .collect();
        let mut ips: Vec<String> = tasks.into_iter().map(|t| t.ip).collect();
        healthy.sort();
        ips.sort();
        if healthy != ips {
            return Ok(Some(format!(
                "healthy targets {healthy:?}, running tasks {ips:?}"
            )));
        }
        Ok(None)
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

/// GET `url` at `rate` per second, each on its own schedule (open loop: a
/// slow answer does not delay the next request), over a few keep-alive
/// connections, until `stop`; every request is recorded.
async fn load(url: hyper::Uri, rate: u32, journal: Arc<Journal>, stop: Arc<AtomicBool>) {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CONNECTIONS)
        .build(connector);
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    let mut in_flight = tokio::task::JoinSet::new();
    while !stop.load(Relaxed) {
        tick.tick().await;
        while in_flight.try_join_next().is_some() {}
        let start = journal.now();
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            journal.requests.lock().unwrap().push(Request {
                start,
                end: start,
                outcome: Outcome::Error(format!("client: {MAX_IN_FLIGHT} requests in flight")),
            });
            continue;
        };
        let (client, url, journal) = (client.clone(), url.clone(), journal.clone());
        in_flight.spawn(async move {
            let outcome = match tokio::time::timeout(REQUEST_TIMEOUT, get(&client, url)).await {
                Ok(Ok(status)) => Outcome::Status(status),
                Ok(Err(e)) => Outcome::Error(format!("{e:#}")),
                Err(_) => Outcome::Error(format!("no answer in {REQUEST_TIMEOUT:?}")),
            };
            let end = journal.now();
            journal.requests.lock().unwrap().push(Request {
                start,
                end,
                outcome,
            });
            drop(permit);
        });
    }
    while in_flight.join_next().await.is_some() {}
}

async fn get(client: &Client<HttpConnector, Empty<bytes::Bytes>>, url: hyper::Uri) -> Result<u16> {
    let response = client.get(url).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}

/// The emulator's VmRSS (and its anonymous part) every [`RSS_EVERY`] while
/// it runs, and once more when stopped.
async fn sample_rss(
    journal: Arc<Journal>,
    pid: Arc<AtomicU32>,
    process: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(RSS_EVERY);
    loop {
        let last = stop.load(Relaxed);
        let (pid, process) = (pid.load(Relaxed), process.load(Relaxed));
        if let Some(kib) = (pid != 0).then(|| status_number(pid, "VmRSS:")).flatten() {
            journal.rss.lock().unwrap().push(RssSample {
                at: journal.now(),
                kib,
                anon_kib: status_number(pid, "RssAnon:").unwrap_or(0),
                threads: status_number(pid, "Threads:").unwrap_or(0),
                process,
            });
        }
        if last {
            return;
        }
        tick.tick().await;
    }
}
