//! `emulator compose up|down|ps|scale|logs`: a docker-compose.yml on the
//! emulated Fargate, behind one ALB, through the same AWS API calls a
//! deploy to AWS makes (as ecs-cli and Docker's ECS integration did).
//!
//! Each compose service becomes a task-definition family and an ECS
//! service in the project's cluster; each published port a target group
//! and a listener on the project's load balancer; each service a Cloud Map
//! name `SERVICE.PROJECT` in a private DNS namespace. Everything is named
//! after the project and tagged `compose-project=PROJECT`, and `down`
//! deletes exactly what carries that tag.
//!
//! # Layout
//! - [`file`]: the compose model (serde), interpolation, `.env` and
//!   `env_file`, the warnings for fields not read.
//! - [`interpolate`]: `${VAR}` and its forms.
//! - [`ecs_params`]: ecs-cli's `ecs-params.yml`.
//! - [`translate`]: pure: the model to the requests, in creation order
//!   (its `container` module: health checks, volumes, Linux parameters
//!   and logging); `units` (sizes, durations, Fargate sizes) and
//!   `compare` (whether a service changed) serve it.
//! - `apply`: `up` and `scale` through the AWS SDK, with progress bars;
//!   `setup` makes what the services need first (network, cluster, log
//!   group, namespace, load balancer).
//! - `down`: deletes what carries the project's tag.
//! - `ps`: the task table and the ALB's URLs.
//! - `logs`: the tasks' output from CloudWatch Logs.
//!
//! Without `--endpoint`, `up` starts an emulator in this process (as
//! `demo` does) and keeps it, with the project, until Ctrl-C; the other
//! commands need `--endpoint`, since a fresh emulator holds no project.

mod apply;
mod compare;
mod down;
pub mod ecs_params;
pub mod file;
pub mod interpolate;
mod logs;
mod ps;
mod setup;
pub mod translate;
mod units;

use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Config;
use crate::console::Console;
use crate::embedded::{EmbeddedEmulator, StartError};
use crate::sdk_client::{Aws, AwsCallFailed};

pub use ps::TaskRow;

/// `emulator compose ...`: the options every action shares, then the action.
#[derive(Debug, Clone, clap::Args)]
pub struct ComposeOptions {
    #[command(subcommand)]
    pub action: Action,
    /// The compose file.
    #[arg(
        short = 'f',
        long = "file",
        global = true,
        default_value = "docker-compose.yml"
    )]
    pub file: PathBuf,
    /// The project name (default: the file's `name`, else its directory's
    /// name), normalised as compose does.
    #[arg(short = 'p', long, global = true)]
    pub project_name: Option<String>,
    /// ecs-params.yml (default: the one beside the compose file, if any).
    #[arg(long, global = true)]
    pub ecs_params: Option<PathBuf>,
    /// Drive a running emulator (e.g. http://127.0.0.1:4566) instead of
    /// starting one in this process.
    #[arg(long, global = true)]
    pub endpoint: Option<String>,
    /// Upper bound for waiting on services and tasks, in seconds.
    #[arg(long, global = true, default_value_t = 300)]
    pub timeout_secs: u64,
    /// Lines only, no progress bars.
    #[arg(long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Clone, clap::Subcommand)]
pub enum Action {
    /// Create or update the project: a changed service rolls a deployment.
    Up,
    /// Delete everything `up` created for the project.
    Down,
    /// Each task with its status, health and IP, and the ALB's URLs.
    Ps,
    /// Set services' task counts: `scale web=3 backend=2`.
    Scale {
        #[arg(required = true, value_name = "SERVICE=N")]
        counts: Vec<String>,
    },
    /// The services' output (awslogs), oldest first.
    Logs {
        /// Only these services (default: all).
        services: Vec<String>,
        /// Keep printing new output until Ctrl-C.
        #[arg(long)]
        follow: bool,
    },
}

/// Why a compose command failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ComposeError {
    /// A file could not be read or is not valid.
    #[error("{}: {message}", path.display())]
    File { path: PathBuf, message: String },
    /// The project cannot be deployed as written.
    #[error("{0}")]
    Invalid(String),
    #[error("cannot start the emulator: {0:#}")]
    Emulator(anyhow::Error),
    #[error(transparent)]
    Aws(#[from] AwsCallFailed),
    #[error("service {service}: task {task} stopped: {reason}{}", hint(reason))]
    TaskStopped {
        service: String,
        task: String,
        reason: String,
    },
    #[error("timed out waiting for {0}")]
    Timeout(String),
    #[error("{0} needs --endpoint: a new emulator holds no project (`compose up` without --endpoint runs one until Ctrl-C)")]
    NeedsEndpoint(&'static str),
    #[error("cancelled")]
    Cancelled,
}

fn hint(reason: &str) -> &'static str {
    if reason.contains("CannotPullContainer") {
        " (build or pull the image on the local Docker engine; `cargo xtask sample-image` builds sample-app:latest)"
    } else {
        ""
    }
}

impl From<StartError> for ComposeError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Failed(e) => Self::Emulator(e),
            StartError::Cancelled => Self::Cancelled,
        }
    }
}

/// Loads the compose file and its ecs-params, and plans the project.
pub fn load(options: &ComposeOptions) -> Result<translate::Plan, ComposeError> {
    let project = file::load(&options.file, options.project_name.as_deref(), &|name| {
        std::env::var(name).ok()
    })?;
    let params_path = options.ecs_params.clone().or_else(|| {
        let beside = options
            .file
            .parent()
            .unwrap_or(Path::new("."))
            .join("ecs-params.yml");
        beside.exists().then_some(beside)
    });
    let (params, mut warnings) = match &params_path {
        Some(path) => ecs_params::load(path)?,
        None => Default::default(),
    };
    let mut plan =
        translate::plan(&project, &params, crate::sdk_client::REGION).map_err(|message| {
            ComposeError::File {
                path: options.file.clone(),
                message,
            }
        })?;
    warnings.append(&mut plan.warnings);
    plan.warnings = warnings;
    Ok(plan)
}

/// Runs one compose command until done; `config` is the base of an
/// in-process emulator's config and tells where listeners serve
/// (`--privileged-port-offset`). When `cancel` completes, `up` with its
/// own emulator stops it; other waits end with [`ComposeError::Cancelled`].
pub async fn run(
    options: ComposeOptions,
    config: Config,
    cancel: impl Future<Output = ()>,
) -> Result<(), ComposeError> {
    tokio::pin!(cancel);
    let plan = &load(&options)?;
    let console = Console::new(options.quiet);
    let timeout = Duration::from_secs(options.timeout_secs);
    if matches!(options.action, Action::Up | Action::Scale { .. }) {
        for warning in &plan.warnings {
            console.line(&format!("warning: {warning}"));
        }
    }
    let (endpoint, owned) = match (&options.endpoint, &options.action) {
        (Some(endpoint), _) => (endpoint.clone(), None),
        (None, Action::Up) => {
            let instance = format!("compose-{}", plan.project);
            console.step(&format!("starting an emulator (instance {instance})"));
            let emulator =
                EmbeddedEmulator::start(config.clone(), &instance, 1.0, &mut cancel).await?;
            (emulator.endpoint_url(), Some(emulator))
        }
        (None, Action::Down) => return Err(ComposeError::NeedsEndpoint("down")),
        (None, Action::Ps) => return Err(ComposeError::NeedsEndpoint("ps")),
        (None, Action::Scale { .. }) => return Err(ComposeError::NeedsEndpoint("scale")),
        (None, Action::Logs { .. }) => return Err(ComposeError::NeedsEndpoint("logs")),
    };
    let aws = Aws::new(&endpoint).await;
    let work = async {
        match &options.action {
            Action::Up => {
                apply::up(&aws, plan, &console, timeout).await?;
                console.line(&ps::render(&ps::rows(&aws, plan, &config).await?));
                Ok(())
            }
            Action::Down => down::down(&aws, &plan.project, &console, timeout).await,
            Action::Ps => {
                console.line(&ps::render(&ps::rows(&aws, plan, &config).await?));
                Ok(())
            }
            Action::Scale { counts } => {
                let counts = parse_counts(counts, plan)?;
                apply::scale(&aws, plan, &counts, &console, timeout).await
            }
            Action::Logs { services, follow } => {
                logs::print(&aws, plan, services, *follow, &console).await
            }
        }
    };
    let outcome = tokio::select! {
        outcome = work => outcome,
        _ = &mut cancel => Err(ComposeError::Cancelled),
    };
    console.clear();
    let Some(emulator) = owned else {
        return outcome;
    };
    if outcome.is_ok() {
        console.line(&format!(
            "\nemulator running at {endpoint}: `emulator compose ps --endpoint {endpoint} -f {}` in another terminal; Ctrl-C stops it and removes everything",
            options.file.display()
        ));
        cancel.await;
    }
    console.step("stopping the emulator: tasks stop, containers are removed");
    emulator.shutdown().await;
    outcome
}

/// `web=3` pairs, each naming a service of the project.
fn parse_counts(
    counts: &[String],
    plan: &translate::Plan,
) -> Result<Vec<(String, i32)>, ComposeError> {
    counts
        .iter()
        .map(|pair| {
            let (service, count) = pair
                .split_once('=')
                .ok_or_else(|| ComposeError::Invalid(format!("{pair}: expected SERVICE=N")))?;
            let count: i32 = count.parse().ok().filter(|n| *n >= 0).ok_or_else(|| {
                ComposeError::Invalid(format!("{pair}: N must be a whole number"))
            })?;
            if plan.service(service).is_none() {
                return Err(ComposeError::Invalid(format!(
                    "{pair}: the project has no service {service}"
                )));
            }
            Ok((service.to_string(), count))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(subcommand)]
        command: Command,
    }

    #[derive(clap::Subcommand)]
    enum Command {
        Compose(ComposeOptions),
    }

    fn parse(args: &[&str]) -> ComposeOptions {
        let Command::Compose(options) = Cli::try_parse_from(args).unwrap().command;
        options
    }

    #[test]
    fn options_follow_the_action_as_in_docker_compose() {
        let o = parse(&[
            "emulator",
            "compose",
            "up",
            "-f",
            "app/compose.yml",
            "--project-name",
            "shop",
            "--endpoint",
            "http://127.0.0.1:4566",
        ]);
        assert!(matches!(o.action, Action::Up));
        assert_eq!(o.file, PathBuf::from("app/compose.yml"));
        assert_eq!(o.project_name.as_deref(), Some("shop"));
        assert_eq!(o.endpoint.as_deref(), Some("http://127.0.0.1:4566"));
        let o = parse(&["emulator", "compose", "logs", "web", "--follow"]);
        assert!(
            matches!(o.action, Action::Logs { ref services, follow: true } if services == &["web"])
        );
        assert_eq!(o.file, PathBuf::from("docker-compose.yml"));
        let o = parse(&["emulator", "compose", "-p", "x", "scale", "web=3"]);
        assert!(matches!(o.action, Action::Scale { ref counts } if counts == &["web=3"]));
        assert!(Cli::try_parse_from(["emulator", "compose", "scale"]).is_err());
    }
}
