//! `cargo xtask bench control-plane`: RunTask -> RUNNING one at a time and
//! back to back, a service reaching steady state, API latency under 50
//! concurrent clients (wrk posting ECS JSON), the emulator's RSS. The
//! calls go through the AWS SDK for Rust, as a user's would.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, LaunchType,
    NetworkConfiguration, NetworkMode, PortMapping,
};
use serde_json::json;

use super::alb::Emulator;
use super::http::call;
use super::load::run_wrk_script;
use super::measure::{current_rss_kb, peak_rss_kb};
use super::process::{check_interrupted, TempDir};
use super::report::{command_line, environment, p50_p95_max};
use super::setup::{build_emulator, sample_image, Tools};
use super::Settings;

/// The ECS JSON target prefix, for the wrk scripts that post ECS requests
/// as the API-latency load (every other call goes through the SDK).
const ECS_TARGET: &str = "AmazonEC2ContainerServiceV20141113";

pub(super) fn control_plane(s: &Settings) -> Result<String> {
    crate::check_docker()?;
    let tools = Tools::find(s)?;
    let emulator_bin = build_emulator(s)?;
    sample_image(s)?;
    let tmp = TempDir::new("fe-bench-cp")?;
    let emu = Emulator::start(&emulator_bin, &tmp, false, "cp")?;
    let n = s.tasks;
    let ecs = &emu.ecs;
    let network = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-12345678")
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()?,
        )
        .build();

    call(
        "CreateCluster",
        ecs.create_cluster().cluster_name("bench").send(),
    )?;
    let td = call(
        "RegisterTaskDefinition",
        ecs.register_task_definition()
            .family("bench")
            .network_mode(NetworkMode::Awsvpc)
            .requires_compatibilities(Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .container_definitions(
                ContainerDefinition::builder()
                    .name("app")
                    .image(crate::DEFAULT_TAG)
                    .essential(true)
                    .port_mappings(PortMapping::builder().container_port(8080).build())
                    .build(),
            )
            .send(),
    )?;
    let td_arn = td
        .task_definition()
        .and_then(|t| t.task_definition_arn())
        .context("taskDefinitionArn")?
        .to_string();
    std::thread::sleep(Duration::from_secs(1));
    let idle_rss = current_rss_kb(emu.pid());

    let run_one_task = || -> Result<String> {
        let out = call(
            "RunTask",
            ecs.run_task()
                .cluster("bench")
                .task_definition(&td_arn)
                .count(1)
                .launch_type(LaunchType::Fargate)
                .network_configuration(network.clone())
                .send(),
        )?;
        Ok(out
            .tasks()
            .first()
            .and_then(|t| t.task_arn())
            .with_context(|| format!("RunTask returned no task: {out:?}"))?
            .to_string())
    };

    // RunTask -> RUNNING for one task at a time: what a single launch costs.
    let single_n = if s.quick { 3 } else { 10 };
    println!("xtask: RunTask one at a time x{single_n}");
    let mut single: Vec<f64> = Vec::new();
    for _ in 0..single_n {
        check_interrupted()?;
        let t0 = Instant::now();
        let arn = run_one_task()?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            check_interrupted()?;
            let out = call(
                "DescribeTasks",
                ecs.describe_tasks().cluster("bench").tasks(&arn).send(),
            )?;
            match out.tasks().first().and_then(|t| t.last_status()) {
                Some("RUNNING") => break,
                Some("STOPPED") => bail!("task stopped before RUNNING: {out:?}"),
                _ if Instant::now() > deadline => bail!("task not RUNNING within 60 s: {out:?}"),
                _ => std::thread::sleep(Duration::from_millis(10)),
            }
        }
        single.push(t0.elapsed().as_secs_f64());
        stop_task(ecs, &arn)?;
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
        let arn = run_one_task()?;
        submitted.push((arn, t0));
    }
    let mut running: BTreeMap<String, Duration> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(60 + 10 * n as u64);
    while running.len() < n {
        check_interrupted()?;
        if Instant::now() > deadline {
            bail!("only {} of {n} tasks reached RUNNING", running.len());
        }
        let arns: Vec<String> = submitted
            .iter()
            .filter(|(a, _)| !running.contains_key(a))
            .map(|(a, _)| a.clone())
            .collect();
        let out = call(
            "DescribeTasks",
            ecs.describe_tasks()
                .cluster("bench")
                .set_tasks(Some(arns))
                .send(),
        )?;
        let now = Instant::now();
        for task in out.tasks() {
            let arn = task.task_arn().unwrap_or_default();
            match task.last_status() {
                Some("RUNNING") => {
                    if let Some((_, t0)) = submitted.iter().find(|(a, _)| a == arn) {
                        running.insert(arn.to_string(), now - *t0);
                    }
                }
                Some("STOPPED") => bail!("task stopped before RUNNING: {task:?}"),
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let (run_p50, run_p95, run_max) =
        p50_p95_max(running.values().map(Duration::as_secs_f64).collect());
    println!("xtask: RunTask -> RUNNING p50 {run_p50:.2} s, p95 {run_p95:.2} s");
    for (arn, _) in &submitted {
        stop_task(ecs, arn)?;
    }

    // A service of n tasks reaching steady state.
    println!("xtask: service with {n} tasks");
    let t0 = Instant::now();
    call(
        "CreateService",
        ecs.create_service()
            .cluster("bench")
            .service_name("bench")
            .task_definition(&td_arn)
            .desired_count(i32::try_from(n)?)
            .launch_type(LaunchType::Fargate)
            .network_configuration(network.clone())
            .send(),
    )?;
    let deadline = Instant::now() + Duration::from_secs(60 + 10 * n as u64);
    let steady = loop {
        check_interrupted()?;
        let out = call(
            "DescribeServices",
            ecs.describe_services()
                .cluster("bench")
                .services("bench")
                .send(),
        )?;
        let svc = out.services().first();
        if svc.is_some_and(|svc| svc.running_count() as usize == n && svc.pending_count() == 0) {
            break t0.elapsed();
        }
        if Instant::now() > deadline {
            bail!("service did not reach {n} running tasks: {svc:?}");
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

    let _ = call(
        "DeleteService",
        ecs.delete_service()
            .cluster("bench")
            .service("bench")
            .force(true)
            .send(),
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

fn stop_task(ecs: &aws_sdk_ecs::Client, arn: &str) -> Result<()> {
    call(
        "StopTask",
        ecs.stop_task().cluster("bench").task(arn).send(),
    )?;
    Ok(())
}
