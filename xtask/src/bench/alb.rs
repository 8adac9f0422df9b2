//! The ALB under test: the emulator as a child process with its own Docker
//! instance name, and its load balancer, target group and listeners, set up
//! through the AWS SDK for Rust as a user would.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_ecs::config::{Credentials, SharedCredentialsProvider};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, PathPatternConditionConfig, ProtocolEnum, RuleCondition,
    TargetDescription, TargetHealthStateEnum, TargetTypeEnum,
};
use test_support::ports::reserve;

use super::http::call;
use super::process::{check_interrupted, tail, Proc, TempDir};
use super::setup::Backends;
use super::{Settings, BACKEND_PORT, PROXY_CPU};

/// A load balancer, a target group with every backend, a plain listener and
/// one with ten non-matching rules.
pub(super) struct AlbSetup {
    pub(super) port: u16,
    pub(super) rules_port: u16,
    tg_arn: String,
}

impl AlbSetup {
    pub(super) fn create(emu: &Emulator, backends: &Backends, s: &Settings) -> Result<Self> {
        let elbv2 = &emu.elbv2;
        let lb = call(
            "CreateLoadBalancer",
            elbv2.create_load_balancer().name("bench").send(),
        )?;
        let lb_arn = lb
            .load_balancers()
            .first()
            .and_then(|l| l.load_balancer_arn())
            .context("LoadBalancerArn")?
            .to_string();
        let tg = call(
            "CreateTargetGroup",
            elbv2
                .create_target_group()
                .name("bench")
                .protocol(ProtocolEnum::Http)
                .port(i32::from(BACKEND_PORT))
                .target_type(TargetTypeEnum::Ip)
                .health_check_path("/health")
                .health_check_interval_seconds(5)
                .health_check_timeout_seconds(2)
                .healthy_threshold_count(2)
                .send(),
        )?;
        let tg_arn = tg
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .context("TargetGroupArn")?
            .to_string();
        let targets = backends
            .ips
            .iter()
            .map(|ip| {
                TargetDescription::builder()
                    .id(ip.to_string())
                    .port(i32::from(BACKEND_PORT))
                    .build()
            })
            .collect();
        call(
            "RegisterTargets",
            elbv2
                .register_targets()
                .target_group_arn(&tg_arn)
                .set_targets(Some(targets))
                .send(),
        )?;
        let forward = || {
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&tg_arn)
                .build()
        };
        let listener = |port: u16| -> Result<String> {
            let out = call(
                "CreateListener",
                elbv2
                    .create_listener()
                    .load_balancer_arn(&lb_arn)
                    .protocol(ProtocolEnum::Http)
                    .port(i32::from(port))
                    .default_actions(forward())
                    .send(),
            )?;
            out.listeners()
                .first()
                .and_then(|l| l.listener_arn())
                .map(str::to_string)
                .context("ListenerArn")
        };
        let port = reserve();
        listener(port)?;
        let rules_port = reserve();
        let rules_listener = listener(rules_port)?;
        for i in 1..=10 {
            let no_match = PathPatternConditionConfig::builder()
                .values(format!("/no-match-{i}/*"))
                .build();
            call(
                "CreateRule",
                elbv2
                    .create_rule()
                    .listener_arn(&rules_listener)
                    .priority(i)
                    .conditions(
                        RuleCondition::builder()
                            .field("path-pattern")
                            .path_pattern_config(no_match)
                            .build(),
                    )
                    .actions(forward())
                    .send(),
            )?;
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
            let out = call(
                "DescribeTargetHealth",
                elbv2
                    .describe_target_health()
                    .target_group_arn(&setup.tg_arn)
                    .send(),
            )?;
            let healthy = out
                .target_health_descriptions()
                .iter()
                .filter_map(|d| d.target_health()?.state())
                .filter(|state| **state == TargetHealthStateEnum::Healthy)
                .count();
            if healthy == backends.ips.len() {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "targets did not become healthy:\n{:?}",
                    out.target_health_descriptions()
                );
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        println!("xtask: ALB ready on 127.0.0.1:{port} (10-rule listener on {rules_port})");
        Ok(setup)
    }

    pub(super) fn health_interval(&self, emu: &Emulator, secs: i32) -> Result<()> {
        call(
            "ModifyTargetGroup",
            emu.elbv2
                .modify_target_group()
                .target_group_arn(&self.tg_arn)
                .health_check_interval_seconds(secs)
                .health_check_timeout_seconds(2)
                .send(),
        )?;
        Ok(())
    }
}

/// The emulator as a child process with its own Docker instance name, and
/// SDK clients pointed at it.
pub(super) struct Emulator {
    proc: Proc,
    pub(super) api: SocketAddr,
    pub(super) ecs: aws_sdk_ecs::Client,
    pub(super) elbv2: aws_sdk_elasticloadbalancingv2::Client,
}

impl Emulator {
    /// `pinned`: one tokio worker on the proxy CPU (the data-plane setting).
    pub(super) fn start(bin: &Path, tmp: &TempDir, pinned: bool, tag: &str) -> Result<Self> {
        let api = SocketAddr::from(([127, 0, 0, 1], reserve()));
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
        let sdk = sdk_config(api);
        let emu = Self {
            proc,
            api,
            ecs: aws_sdk_ecs::Client::new(&sdk),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
        };
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            check_interrupted()?;
            if emu.proc.exited() {
                bail!(
                    "the emulator exited during start-up; its log:\n{}",
                    tail(&log, 30)
                );
            }
            let up = call(
                "DescribeLoadBalancers",
                emu.elbv2.describe_load_balancers().send(),
            );
            if up.is_ok() {
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

    pub(super) fn pid(&self) -> u32 {
        self.proc.pid()
    }

    /// SIGTERM and wait: the emulator stops its tasks and removes its
    /// containers on the way out.
    pub(super) fn stop(self) {
        drop(self.proc);
    }
}

/// The SDK's settings for the emulator at `api`: us-east-1, static
/// credentials, no retries (a failed call fails the bench, and the start-up
/// poll asks again on its own), 5 s to connect and 30 s per attempt.
fn sdk_config(api: SocketAddr) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(format!("http://{api}"))
        .region(Region::new("us-east-1"))
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            "bench", "bench", None, None, "bench",
        )))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(30))
                .build(),
        )
        .build()
}
