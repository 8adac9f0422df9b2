//! Emulator configuration: one struct, filled from flags or environment
//! variables by clap, or built in code by tests.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

/// The account id LocalStack uses; scripts written for it work unchanged.
pub const DEFAULT_ACCOUNT_ID: &str = "000000000000";
/// The region used when a request carries no SigV4 credential scope.
pub const DEFAULT_REGION: &str = "us-east-1";
/// The state file's name in `--state-dir`.
pub const STATE_FILE_NAME: &str = "state.redb";

#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address of the control API (AWS endpoints, dashboard, metrics).
    #[arg(long, env = "EMULATOR_LISTEN", default_value = "127.0.0.1:4566")]
    pub listen: SocketAddr,

    /// Account id used in every ARN.
    #[arg(long, env = "EMULATOR_ACCOUNT_ID", default_value = DEFAULT_ACCOUNT_ID)]
    pub account_id: String,

    /// Name of this emulator instance. Docker objects carry it in a label, and
    /// start-up cleanup only removes objects of the same instance, so several
    /// emulators (parallel test runs) can share one Docker engine.
    #[arg(long, env = "EMULATOR_INSTANCE", default_value = "default")]
    pub instance: String,

    /// Subnet of the Docker network that stands in for the VPC (for example
    /// 10.213.0.0/16). Without it Docker picks a free one.
    #[arg(long, env = "EMULATOR_SUBNET")]
    pub subnet: Option<ipnet::Ipv4Net>,

    /// The emulator's own container (id or name) when it runs in one, as with
    /// docker compose; `auto` takes it from the hostname. That container
    /// joins the task network, so listeners and health checks reach task IPs
    /// and tasks reach the metadata endpoint at its address there.
    #[arg(long, env = "EMULATOR_CONTAINER")]
    pub container: Option<String>,

    /// Address that ALB listeners bind to; a listener with Port=P serves on BIND:P.
    #[arg(long, env = "EMULATOR_LISTENER_BIND", default_value = "127.0.0.1")]
    pub listener_bind: IpAddr,

    /// Added to listener ports below 1024, so `Port=80` serves on 8080 without
    /// root. 0 disables the mapping.
    #[arg(long, env = "EMULATOR_PRIVILEGED_PORT_OFFSET", default_value_t = 8000)]
    pub privileged_port_offset: u16,

    /// Multiplies every emulated wait (health-check interval and timeout,
    /// deregistration delay, slow start, cooldowns, stopped-task retention).
    /// 0.1 makes a suite ten times faster; the API still reports configured values.
    #[arg(long, env = "EMULATOR_TIME_SCALE", default_value_t = 1.0)]
    pub time_scale: f64,

    /// How long stopped tasks stay visible to DescribeTasks (AWS: at least one hour).
    #[arg(
        long,
        env = "EMULATOR_STOPPED_TASK_RETENTION_SECS",
        default_value_t = 3600
    )]
    pub stopped_task_retention_secs: u64,

    /// Give every task container `AWS_ENDPOINT_URL` pointing back at this
    /// emulator, so the app's own AWS calls land here (`false` to turn off;
    /// a container's own `AWS_ENDPOINT_URL` always wins).
    #[arg(
        long,
        env = "EMULATOR_TASK_ENDPOINT_URL",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub task_endpoint_url: bool,

    /// Serve task metadata and task-role credentials at 169.254.170.2 inside
    /// each task, as Fargate does, and there the DNS server that answers
    /// Cloud Map's SRV records (needs root on a Linux Docker host).
    /// `false`, or where that is not possible: metadata on the task
    /// network's gateway, and the task role's credentials as
    /// `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`.
    #[arg(
        long,
        env = "EMULATOR_TASK_LINK_LOCAL_ENDPOINT",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub task_link_local_endpoint: bool,

    /// Forward requests for AWS services this emulator does not serve (S3,
    /// SQS, DynamoDB, ...) to this endpoint, unchanged, e.g. moto's server
    /// at `http://127.0.0.1:5000`. Without it they get an error in their
    /// own protocol.
    #[arg(long, env = "EMULATOR_UPSTREAM_ENDPOINT", value_name = "URL")]
    pub upstream_endpoint: Option<http::Uri>,

    /// Directory of the state file (`state.redb`): every resource survives
    /// a restart, and tasks still running after a crash are adopted.
    /// Default: `fargate-emulator/INSTANCE` under the user's data directory
    /// (`$XDG_DATA_HOME`, else `~/.local/share`).
    #[arg(long, env = "EMULATOR_STATE_DIR", value_name = "DIR")]
    pub state_dir: Option<PathBuf>,

    /// Keep state in memory only: nothing survives a restart.
    #[arg(
        long,
        env = "EMULATOR_IN_MEMORY",
        default_value_t = false,
        conflicts_with = "state_dir"
    )]
    pub in_memory: bool,

    /// Emit the emulator's own logs as JSON lines.
    #[arg(long, env = "EMULATOR_LOG_JSON", default_value_t = false)]
    pub log_json: bool,

    /// Write ALB access logs (AWS's line format) to this file, or to standard
    /// output with `-`. Off by default, as on AWS.
    #[arg(long, env = "EMULATOR_ACCESS_LOG", value_name = "PATH|-")]
    pub access_log: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4566),
            account_id: DEFAULT_ACCOUNT_ID.to_string(),
            instance: "default".to_string(),
            subnet: None,
            container: None,
            listener_bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
            privileged_port_offset: 8000,
            time_scale: 1.0,
            stopped_task_retention_secs: 3600,
            task_endpoint_url: true,
            task_link_local_endpoint: true,
            upstream_endpoint: None,
            // Emulators built in code (test harnesses, the demo) start empty
            // and leave nothing on disk unless they name a state directory.
            state_dir: None,
            in_memory: true,
            log_json: false,
            access_log: None,
        }
    }
}

impl Config {
    /// Scales an emulated wait by `time_scale`, never below one millisecond.
    pub fn scaled(&self, configured: Duration) -> Duration {
        let scale = if self.time_scale.is_finite() && self.time_scale > 0.0 {
            self.time_scale
        } else {
            1.0
        };
        configured.mul_f64(scale).max(Duration::from_millis(1))
    }

    /// The state file, or `None` to keep state in memory only.
    pub fn state_file(&self) -> Option<PathBuf> {
        if self.in_memory && self.state_dir.is_none() {
            return None;
        }
        let dir = match &self.state_dir {
            Some(dir) => dir.clone(),
            None => dirs::data_local_dir()
                .unwrap_or_else(std::env::temp_dir)
                .join("fargate-emulator")
                .join(&self.instance),
        };
        Some(dir.join(STATE_FILE_NAME))
    }

    /// The port a listener with `Port=port` really binds.
    pub fn listener_port(&self, port: u16) -> u16 {
        if port < 1024 && self.privileged_port_offset > 0 {
            port.saturating_add(self.privileged_port_offset)
        } else {
            port
        }
    }
}
