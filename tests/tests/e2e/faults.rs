//! Faults from outside the emulator: a task's containers killed, stopped or
//! removed with Docker directly, including the sandbox that holds the
//! task's network. Each task goes STOPPED with the reason Fargate gives, and
//! a service replaces it behind the ALB.

use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::TaskStopCode;
use bollard::query_parameters::{
    KillContainerOptions, RemoveContainerOptionsBuilder, StopContainerOptionsBuilder,
};
use tests::web::{web_service, WAIT};
use tests::{ecs, unique, wait_until, TestEmulator};

async fn docker() -> bollard::Docker {
    bollard::Docker::connect_with_local_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap()
}

/// The id of the task's sandbox: its one container without a container
/// name label.
async fn sandbox_of(task_arn: &str) -> String {
    let sandboxes: Vec<String> = tests::task_containers(task_arn)
        .await
        .into_iter()
        .filter(|c| {
            c.labels
                .as_ref()
                .is_none_or(|l| !l.contains_key("com.amazonaws.ecs.container-name"))
        })
        .filter_map(|c| c.id)
        .collect();
    assert_eq!(sandboxes.len(), 1, "{sandboxes:?}");
    sandboxes[0].clone()
}

async fn run_one(emu: &TestEmulator) -> aws_sdk_ecs::types::Task {
    let family = unique("fault");
    ecs::register(
        &emu.ecs,
        &family,
        vec![ecs::sample_container("app").build()],
    )
    .await;
    let arns = ecs::run(&emu.ecs, "default", &family, 1).await;
    wait_until("task RUNNING", WAIT, || async {
        let tasks = ecs::describe(&emu.ecs, "default", &arns).await;
        (tasks[0].last_status() == Some("RUNNING")).then(|| tasks[0].clone())
    })
    .await
}

async fn stopped(emu: &TestEmulator, arn: &str) -> aws_sdk_ecs::types::Task {
    emu.ecs
        .wait_until_tasks_stopped()
        .tasks(arn)
        .wait(WAIT)
        .await
        .expect("task stops");
    ecs::describe(&emu.ecs, "default", &[arn.to_string()])
        .await
        .remove(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_network_holder_stops_the_task_and_the_service_replaces_it() {
    let web = web_service(2).await;
    let victim = web.tasks().await.remove(0);
    let victim_arn = victim.task_arn().unwrap().to_string();
    let victim_ip = ecs::private_ip(&victim);
    docker()
        .await
        .kill_container(&sandbox_of(&victim_arn).await, None::<KillContainerOptions>)
        .await
        .expect("docker kill");

    let task = stopped(&web.emu, &victim_arn).await;
    assert_eq!(
        task.stop_code(),
        Some(&TaskStopCode::EssentialContainerExited)
    );
    assert_eq!(
        task.stopped_reason(),
        Some("Essential container in task exited")
    );

    let ips = wait_until("a replacement is a healthy target", WAIT, || async {
        let ips = web.healthy_target_ips().await;
        let tasks = web.task_ips().await;
        (ips.len() == 2 && ips == tasks).then_some(ips)
    })
    .await;
    assert!(!ips.contains(&victim_ip), "{ips:?}");
    let targets = tests::alb::target_health(&web.emu.elbv2, &web.alb.target_group_arn).await;
    assert!(
        targets
            .iter()
            .all(|(ip, state, _)| ip != &victim_ip || state == "draining"),
        "{targets:?}"
    );
    web.emu
        .ecs
        .wait_until_services_stable()
        .services(&web.service)
        .wait(WAIT)
        .await
        .unwrap();
    web.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_removed_behind_the_emulators_back_stops_its_task() {
    let emu = TestEmulator::start().await;
    let task = run_one(&emu).await;
    let arn = task.task_arn().unwrap().to_string();
    let id = task.containers()[0].runtime_id().unwrap().to_string();
    docker()
        .await
        .remove_container(
            &id,
            Some(RemoveContainerOptionsBuilder::new().force(true).build()),
        )
        .await
        .expect("docker rm -f");

    let task = stopped(&emu, &arn).await;
    assert_eq!(
        task.stop_code(),
        Some(&TaskStopCode::EssentialContainerExited)
    );
    // `docker rm -f` kills first: the emulator sees either the death (exit
    // 137) or, if the removal came first, a container that is gone.
    let container = &task.containers()[0];
    assert_eq!(container.last_status(), Some("STOPPED"));
    assert!(
        container.exit_code() == Some(137)
            || container
                .reason()
                .is_some_and(|r| r.starts_with("CannotInspectContainerError")),
        "{container:?}"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docker_stop_outside_the_emulator_records_the_exit_code() {
    let emu = TestEmulator::start().await;
    let task = run_one(&emu).await;
    let arn = task.task_arn().unwrap().to_string();
    let id = task.containers()[0].runtime_id().unwrap().to_string();
    // sample-app exits cleanly on SIGTERM.
    docker()
        .await
        .stop_container(&id, Some(StopContainerOptionsBuilder::new().t(1).build()))
        .await
        .expect("docker stop");

    let task = stopped(&emu, &arn).await;
    assert_eq!(
        task.stop_code(),
        Some(&TaskStopCode::EssentialContainerExited)
    );
    assert_eq!(task.containers()[0].exit_code(), Some(0));
    // The ENI went with the task: its IP is free for the next one.
    let ip = ecs::private_ip(&task);
    let next = wait_until("the ENI is deleted", Duration::from_secs(30), || async {
        let ec2 = aws_sdk_ec2::Client::new(&tests::sdk_config(&emu.endpoint_url()).await);
        let enis = ec2
            .describe_network_interfaces()
            .send()
            .await
            .unwrap()
            .network_interfaces()
            .to_vec();
        (!enis
            .iter()
            .any(|e| e.private_ip_address() == Some(ip.as_str())))
        .then_some(enis.len())
    })
    .await;
    assert_eq!(next, 0);
    emu.shutdown().await;
}
