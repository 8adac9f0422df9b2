//! `emulator demo`: tasks with separate IPs get uneven load; the ALB evens it.
//!
//! The demo drives an emulator through the real AWS API, exactly as a user
//! would with the SDK: a cluster, a `sample-app` service of N tasks behind an
//! ALB. Then it sends the same client load twice, and counts which task
//! answered each request (the `ip` in sample-app's JSON):
//!
//! 1. **Without a load balancer.** Each client resolves a DNS-like name once,
//!    takes the first address of a shuffled answer and keeps it, as clients do
//!    with a cached DNS answer or a hard-coded IP. Tasks get load in
//!    proportion to how many clients picked them, so the spread is skewed and
//!    some tasks may get nothing.
//! 2. **Through the ALB listener**: every request is balanced on its own.
//!
//! The `slow-task` scenario adds one task that answers after
//! `RESPONSE_DELAY_MS` and runs the ALB phase twice, with `round_robin` and
//! with `least_outstanding_requests`, to show the second one routing around
//! the slow task.
//!
//! # Layout
//! - `scenario`: the AWS resources the demo creates, waiting until they are
//!   ready, and their teardown.
//! - `driver`: the load: C clients, one keep-alive connection each; the
//!   DNS-like assignment of the direct phase.
//! - [`report`]: per-phase statistics and the terminal tables.
//! - `chart`: the SVG chart.
//!
//! Everything is bounded: request counts, a time limit per phase, a time
//! limit for setup, a timeout per request. Traffic only goes to 127.0.0.1 (the
//! listener) and to the task IPs on the local Docker network. An in-process
//! emulator is always shut down (on success, on error, on Ctrl-C, and from a
//! drop guard if the future is dropped), which removes every container.

mod chart;
mod driver;
pub mod report;
mod scenario;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use crate::config::Config;
use crate::console::Console;
use crate::embedded::{EmbeddedEmulator, StartError};
use crate::sdk_client::{Aws, AwsCallFailed};

pub use driver::dns_assignment;
pub use report::{DemoReport, DemoTask, LatencySummary, PhaseReport, Route};

/// Time scale of the demo's own emulator: health checks every second instead
/// of every five, so targets turn healthy about two seconds after start.
pub const DEMO_TIME_SCALE: f64 = 0.2;
/// The image `cargo xtask sample-image` builds.
pub const SAMPLE_IMAGE: &str = "sample-app:latest";
/// The port sample-app listens on in every task.
pub const APP_PORT: u16 = 8080;
/// Request rate of the `even` scenario unless `--rate` says otherwise: 2000
/// requests take five seconds per phase, long enough to watch the bars grow.
pub const DEFAULT_EVEN_RATE: u64 = 400;
/// The largest values the options accept: the demo is a demo, not a load test.
pub const MAX_TASKS: usize = 16;
pub const MAX_CLIENTS: usize = 256;
pub const MAX_REQUESTS: u64 = 200_000;

/// The balancing algorithm of the target group (`load_balancing.algorithm.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "snake_case")]
pub enum Algorithm {
    RoundRobin,
    LeastOutstandingRequests,
}

impl Algorithm {
    /// The attribute value AWS uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RoundRobin => "round_robin",
            Self::LeastOutstandingRequests => "least_outstanding_requests",
        }
    }
}

impl std::fmt::Display for Algorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the demo sets up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// N equal tasks; the ALB phase uses `--algorithm`.
    Even,
    /// N-1 equal tasks and one slow one; the ALB phase runs with
    /// round_robin, then with least_outstanding_requests.
    SlowTask,
}

impl std::fmt::Display for Scenario {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Even => "even",
            Self::SlowTask => "slow-task",
        })
    }
}

/// The demo's options, as flags of `emulator demo` or built in code.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoOptions {
    /// Number of sample-app tasks.
    #[arg(long, default_value_t = 4)]
    pub tasks: usize,
    /// Number of concurrent clients, each with one keep-alive connection.
    #[arg(long, default_value_t = 8)]
    pub clients: usize,
    /// Requests per phase, shared evenly by the clients.
    #[arg(long, default_value_t = 2000)]
    pub requests: u64,
    /// ALB algorithm of the `even` scenario (`slow-task` runs both).
    #[arg(long, value_enum, default_value_t = Algorithm::RoundRobin)]
    pub algorithm: Algorithm,
    /// `even`, or `slow-task`: one task answers after --slow-delay-ms.
    #[arg(long, value_enum, default_value_t = Scenario::Even)]
    pub scenario: Scenario,
    /// Requests per second of all clients together, each client pacing
    /// itself at rate/clients; 0 sends as fast as the tasks answer. Default:
    /// 400 in `even`; unpaced in `slow-task`, whose point is how long the
    /// same requests take.
    #[arg(long)]
    pub rate: Option<u64>,
    /// Added latency of the slow task (its `RESPONSE_DELAY_MS`).
    #[arg(long, default_value_t = 50)]
    pub slow_delay_ms: u64,
    /// Where to write the SVG chart.
    #[arg(long, default_value = "demo.svg")]
    pub svg: Option<PathBuf>,
    /// Drive an emulator that is already running (e.g. http://127.0.0.1:4566)
    /// instead of starting one in this process. What the demo creates there
    /// is deleted through the API at the end.
    #[arg(long)]
    pub endpoint: Option<String>,
    /// Listener port (default: a free port). With docker compose, pick one of
    /// the published ports, e.g. 18080.
    #[arg(long)]
    pub listener_port: Option<u16>,
    /// Seed of the DNS-like answers of the direct phase (default: random;
    /// the report prints it, so a run can be repeated).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Upper bound for one phase, in seconds; unsent requests are reported.
    #[arg(long, default_value_t = 60)]
    pub phase_time_limit_secs: u64,
    /// Upper bound for setup (tasks RUNNING and targets healthy), in seconds.
    #[arg(long, default_value_t = 120)]
    pub setup_time_limit_secs: u64,
    /// Task image.
    #[arg(long, default_value = SAMPLE_IMAGE)]
    pub image: String,
    /// Print nothing (no progress, no tables); only the returned report.
    #[arg(long)]
    pub quiet: bool,
}

impl Default for DemoOptions {
    fn default() -> Self {
        Self {
            tasks: 4,
            clients: 8,
            requests: 2000,
            algorithm: Algorithm::RoundRobin,
            scenario: Scenario::Even,
            rate: None,
            slow_delay_ms: 50,
            svg: Some(PathBuf::from("demo.svg")),
            endpoint: None,
            listener_port: None,
            seed: None,
            phase_time_limit_secs: 60,
            setup_time_limit_secs: 120,
            image: SAMPLE_IMAGE.to_string(),
            quiet: false,
        }
    }
}

impl DemoOptions {
    fn validate(&self) -> Result<(), DemoError> {
        let invalid = |m: String| Err(DemoError::InvalidOptions(m));
        let min_tasks = if self.scenario == Scenario::SlowTask {
            2
        } else {
            1
        };
        if !(min_tasks..=MAX_TASKS).contains(&self.tasks) {
            return invalid(format!(
                "--tasks must be {min_tasks}..={MAX_TASKS} for the {} scenario",
                self.scenario
            ));
        }
        if !(1..=MAX_CLIENTS).contains(&self.clients) {
            return invalid(format!("--clients must be 1..={MAX_CLIENTS}"));
        }
        if self.requests < self.clients as u64 || self.requests > MAX_REQUESTS {
            return invalid(format!(
                "--requests must be at least --clients ({}) and at most {MAX_REQUESTS}",
                self.clients
            ));
        }
        if self.slow_delay_ms > 10_000 {
            return invalid("--slow-delay-ms must be at most 10000".into());
        }
        if self.phase_time_limit_secs == 0 || self.setup_time_limit_secs == 0 {
            return invalid("time limits must be at least one second".into());
        }
        Ok(())
    }

    /// The effective `--rate`: `None` is unpaced.
    fn pace(&self) -> Option<u64> {
        let rate = self.rate.unwrap_or(match self.scenario {
            Scenario::Even => DEFAULT_EVEN_RATE,
            Scenario::SlowTask => 0,
        });
        (rate > 0).then_some(rate)
    }

    fn phase_time_limit(&self) -> Duration {
        Duration::from_secs(self.phase_time_limit_secs)
    }
}

/// Why the demo stopped early.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DemoError {
    /// An option is out of range.
    #[error("invalid options: {0}")]
    InvalidOptions(String),
    /// The in-process emulator did not start (Docker not reachable?).
    #[error("cannot start the emulator: {0:#}")]
    Emulator(anyhow::Error),
    /// An AWS API call failed.
    #[error(transparent)]
    Aws(#[from] AwsCallFailed),
    /// The task image does not exist locally.
    #[error("image {image} not found{detail}: {}", image_hint(image))]
    ImageMissing { image: String, detail: String },
    /// A task stopped while the demo waited for it.
    #[error("task {task} stopped: {reason}")]
    TaskStopped { task: String, reason: String },
    /// Setup did not finish within the time limit.
    #[error("timed out after {0:?} waiting for {1}")]
    Timeout(Duration, String),
    /// A local I/O step failed.
    #[error("{what}: {source}")]
    Io {
        what: &'static str,
        #[source]
        source: std::io::Error,
    },
    /// Writing the chart failed.
    #[error("cannot write the chart to {path}: {message}")]
    Chart { path: PathBuf, message: String },
    /// Ctrl-C (or the caller's cancel future) stopped the demo.
    #[error("cancelled")]
    Cancelled,
}

/// How to get a missing task image.
fn image_hint(image: &str) -> &'static str {
    if image == SAMPLE_IMAGE {
        "build it with `cargo xtask sample-image`"
    } else {
        "pull or build it, or use the default sample-app:latest (`cargo xtask sample-image`)"
    }
}

impl From<StartError> for DemoError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Failed(e) => Self::Emulator(e),
            StartError::Cancelled => Self::Cancelled,
        }
    }
}

/// Runs the demo on an in-process emulator with the default config (or on
/// `options.endpoint`), until done.
pub async fn run(options: DemoOptions) -> Result<DemoReport, DemoError> {
    run_with(options, Config::default(), std::future::pending()).await
}

/// Runs the demo; `config` is the base of an in-process emulator's config
/// (its listen address, instance name and time scale are replaced). When
/// `cancel` completes, the demo stops, cleans up and returns
/// [`DemoError::Cancelled`].
pub async fn run_with(
    options: DemoOptions,
    config: Config,
    cancel: impl Future<Output = ()>,
) -> Result<DemoReport, DemoError> {
    options.validate()?;
    // One cancel future for start-up and the demo itself.
    tokio::pin!(cancel);
    let console = Console::new(options.quiet);
    let run_id = uuid::Uuid::new_v4().simple().to_string()[..8].to_string();

    let mut owned = None;
    let endpoint = match &options.endpoint {
        Some(endpoint) => endpoint.clone(),
        None => {
            let instance = format!("demo-{run_id}");
            console.step(&format!("starting an emulator (instance {instance})"));
            let emulator =
                EmbeddedEmulator::start(config, &instance, DEMO_TIME_SCALE, &mut cancel).await?;
            let url = emulator.endpoint_url();
            owned = Some(emulator);
            url
        }
    };
    console.step(&format!("AWS endpoint {endpoint}"));

    let aws = Aws::new(&endpoint).await;
    let mut resources = scenario::Resources::new(&run_id);
    let outcome = tokio::select! {
        outcome = demo(&options, &console, &aws, &mut resources) => outcome,
        _ = &mut cancel => {
            console.clear();
            console.line("\ninterrupted: cleaning up");
            Err(DemoError::Cancelled)
        }
    };
    console.clear();

    // Teardown runs whatever happened above.
    match owned {
        Some(guard) => {
            console.step("stopping the emulator: tasks stop, containers are removed");
            guard.shutdown().await;
        }
        None => {
            console.step("deleting what the demo created");
            resources.teardown(&aws).await;
        }
    }
    let mut report = outcome?;
    report.instance = (options.endpoint.is_none()).then(|| format!("demo-{run_id}"));
    Ok(report)
}

/// Setup, phases, tables and the chart.
async fn demo(
    options: &DemoOptions,
    console: &Console,
    aws: &Aws,
    resources: &mut scenario::Resources,
) -> Result<DemoReport, DemoError> {
    let started = tokio::time::Instant::now();
    scenario::check_image(&options.image).await?;
    let tasks = resources.create(aws, options, console).await?;
    // A short random seed is easy to retype with --seed.
    let seed = options
        .seed
        .unwrap_or_else(|| u64::from(rand::random::<u16>()));
    let assignment = dns_assignment(seed, options.clients, tasks.len());
    let scale = report::bar_scale(&assignment, options.requests, tasks.len());

    console.line("");
    console.line(&report::render_tasks(&tasks, resources.listener_port()));
    let mut phases = Vec::new();

    // Phase 1: each client keeps the one task IP it got.
    match driver::check_reachable(&tasks).await {
        Ok(()) => {
            console.line(&format!(
                "\n▶ {}  ({} clients, {} requests{}; seed {seed})",
                Route::Direct.title(),
                options.clients,
                options.requests,
                rate_note(options.pace()),
            ));
            let urls = assignment
                .iter()
                .map(|&t| format!("http://{}:{APP_PORT}/", tasks[t].ip))
                .collect();
            let plan = driver::PhasePlan {
                route: Route::Direct,
                tasks: &tasks,
                client_urls: urls,
                assignment: Some(assignment.clone()),
                requests: options.requests,
                rate: options.pace(),
                time_limit: options.phase_time_limit(),
            };
            phases.push(run_phase(console, plan, scale).await);
        }
        Err(e) => console.line(&format!(
            "\n! skipping the direct phase: {e}\n  (Docker Desktop on macOS/Windows does not route container IPs to the host; \
             the direct phase needs Linux or a client inside the task network)"
        )),
    }

    // Phase 2 (and 3): the same load through the listener.
    let algorithms = match options.scenario {
        Scenario::Even => vec![options.algorithm],
        Scenario::SlowTask => vec![Algorithm::RoundRobin, Algorithm::LeastOutstandingRequests],
    };
    for algorithm in algorithms {
        resources.set_algorithm(aws, algorithm).await?;
        let route = Route::Alb(algorithm);
        console.line(&format!(
            "\n▶ {}  ({} clients, {} requests{} to {})",
            route.title(),
            options.clients,
            options.requests,
            rate_note(options.pace()),
            resources.listener_url()
        ));
        let plan = driver::PhasePlan {
            route,
            tasks: &tasks,
            client_urls: vec![resources.listener_url(); options.clients],
            assignment: None,
            requests: options.requests,
            rate: options.pace(),
            time_limit: options.phase_time_limit(),
        };
        phases.push(run_phase(console, plan, scale).await);
    }

    let mut report = DemoReport {
        scenario: options.scenario,
        seed,
        clients: options.clients,
        requests: options.requests,
        tasks,
        phases,
        svg: None,
        instance: None,
        elapsed: Duration::ZERO,
    };
    if let Some(path) = &options.svg {
        chart::write_svg(&report, path)?;
        report.svg = Some(path.clone());
    }
    report.elapsed = started.elapsed();
    console.line(&report::render_summary(&report));
    Ok(report)
}

/// ` at 400 req/s`, or nothing when unpaced.
fn rate_note(rate: Option<u64>) -> String {
    rate.map(|r| format!(" at {r} req/s")).unwrap_or_default()
}

/// Runs one phase under live bars, then prints its table.
async fn run_phase(console: &Console, plan: driver::PhasePlan<'_>, scale: u64) -> PhaseReport {
    let tasks = plan.tasks;
    let progress = driver::Progress::new(console.bars(), tasks, plan.requests, scale);
    let phase = driver::run_phase(plan, &progress).await;
    console.line(&report::render_phase(tasks, &phase, scale));
    phase
}
