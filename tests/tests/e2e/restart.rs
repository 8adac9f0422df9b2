//! The emulator binary crashed with `kill -9`, or stopped with SIGTERM, and
//! started again on the same state directory: every resource comes back;
//! after a crash the running tasks are adopted (same ARNs, same IPs, same
//! containers, still healthy behind the same listener port); after a clean
//! stop services start their desired count again. A state file the
//! emulator cannot read is refused, and left as it was.

use std::collections::BTreeSet;
use std::time::Duration;

use tests::process::EmulatorProcess;
use tests::web::WAIT;
use tests::{alb, ecs, leftover_containers, unique, wait_until};

struct Clients {
    ecs: aws_sdk_ecs::Client,
    elbv2: aws_sdk_elasticloadbalancingv2::Client,
    ssm: aws_sdk_ssm::Client,
}

async fn clients(emu: &EmulatorProcess) -> Clients {
    let sdk = emu.sdk().await;
    Clients {
        ecs: aws_sdk_ecs::Client::new(&sdk),
        elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&sdk),
        ssm: aws_sdk_ssm::Client::new(&sdk),
    }
}

/// A stable service of `count` sample-app tasks behind a fresh ALB.
async fn web(c: &Clients, count: i32) -> (String, alb::Alb) {
    let name = unique("restart");
    let alb = alb::create(&c.elbv2, &name).await;
    ecs::register(&c.ecs, &name, vec![ecs::sample_container("app").build()]).await;
    ecs::create_stable_service(
        &c.ecs,
        "default",
        &name,
        &name,
        &alb.target_group_arn,
        count,
    )
    .await;
    (name, alb)
}

async fn healthy_ips(c: &Clients, alb: &alb::Alb) -> BTreeSet<String> {
    alb::target_health(&c.elbv2, &alb.target_group_arn)
        .await
        .into_iter()
        .filter(|(_, state, _)| state == "healthy")
        .map(|(ip, _, _)| ip)
        .collect()
}

/// Ids of the Docker containers of these tasks, and whether each runs.
async fn containers_of(tasks: &BTreeSet<(String, String)>) -> BTreeSet<(String, bool)> {
    let mut ids = BTreeSet::new();
    for (arn, _) in tasks {
        for c in tests::task_containers(arn).await {
            ids.insert((
                c.id.unwrap(),
                c.state.map(|s| s.to_string()) == Some("running".into()),
            ));
        }
    }
    ids
}

async fn answers_ok(url: &str) -> bool {
    matches!(tests::http_get(url).await, Ok((200, _)))
}

#[tokio::test(flavor = "multi_thread")]
async fn a_crash_and_restart_adopts_the_running_tasks() {
    let mut emu = EmulatorProcess::start().await;
    let c = clients(&emu).await;
    let (service, alb) = web(&c, 2).await;
    let tasks = ecs::running_tasks(&c.ecs, &service).await;
    assert_eq!(tasks.len(), 2, "{tasks:?}");
    let ips: BTreeSet<String> = tasks.iter().map(|(_, ip)| ip.clone()).collect();
    assert_eq!(healthy_ips(&c, &alb).await, ips);
    assert!(answers_ok(&alb.url()).await);
    let containers = containers_of(&tasks).await;
    assert!(
        containers.iter().all(|(_, running)| *running),
        "{containers:?}"
    );

    emu.crash();
    // Nothing removed the containers: they run on without the emulator.
    assert_eq!(containers_of(&tasks).await, containers);
    emu.restart().await;

    // The same tasks, RUNNING, with the same IPs and the same containers.
    assert_eq!(
        ecs::running_tasks(&c.ecs, &service).await,
        tasks,
        "{}",
        emu.log_tail()
    );
    assert_eq!(containers_of(&tasks).await, containers);
    // Still registered and healthy, and served on the same listener port.
    assert_eq!(healthy_ips(&c, &alb).await, ips);
    wait_until("the listener serves again", WAIT, || async {
        answers_ok(&alb.url()).await.then_some(())
    })
    .await;
    for _ in 0..20 {
        assert!(answers_ok(&alb.url()).await, "{}", emu.log_tail());
    }
    let svc = ecs::describe_service(&c.ecs, &service).await;
    assert_eq!(svc.running_count(), 2);
    assert_eq!(svc.deployments().len(), 1);
    // No replacement was started: the service's tasks are the adopted ones.
    assert_eq!(ecs::running_tasks(&c.ecs, &service).await, tasks);

    // An adopted task is still watched: killing its app container stops it.
    let (victim, _) = tasks.iter().next().unwrap().clone();
    let app = tests::task_container_id(&victim, "app").await;
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    docker
        .kill_container(
            &app,
            None::<bollard::query_parameters::KillContainerOptions>,
        )
        .await
        .unwrap();
    let stopped = wait_until("the adopted task stops", WAIT, || {
        let (ecs, victim) = (c.ecs.clone(), victim.clone());
        async move {
            let t = ecs::describe(&ecs, "default", &[victim]).await;
            (t[0].last_status() == Some("STOPPED")).then(|| t[0].clone())
        }
    })
    .await;
    assert_eq!(
        stopped.stopped_reason(),
        Some("Essential container in task exited")
    );

    emu.stop().await;
    assert_eq!(leftover_containers(&emu.instance).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_clean_stop_and_restart_brings_every_resource_back() {
    let mut emu = EmulatorProcess::start().await;
    let c = clients(&emu).await;
    let (service, alb) = web(&c, 1).await;
    let parameter = format!("/{}/greeting", unique("p"));
    c.ssm
        .put_parameter()
        .name(&parameter)
        .value("hello")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let old = ecs::running_tasks(&c.ecs, &service).await;
    assert_eq!(old.len(), 1);

    emu.stop().await;
    assert_eq!(
        leftover_containers(&emu.instance).await,
        0,
        "a clean stop removes every container"
    );
    emu.restart().await;

    // The resources are back as they were.
    let svc = ecs::describe_service(&c.ecs, &service).await;
    assert_eq!(svc.status(), Some("ACTIVE"));
    assert_eq!(svc.desired_count(), 1);
    let listeners = c
        .elbv2
        .describe_listeners()
        .load_balancer_arn(&alb.load_balancer_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(listeners.listeners()[0].port(), Some(alb.port as i32));
    let value = c
        .ssm
        .get_parameter()
        .name(&parameter)
        .send()
        .await
        .unwrap()
        .parameter
        .and_then(|p| p.value);
    assert_eq!(value.as_deref(), Some("hello"));
    // The stopped task is STOPPED, not running.
    let (old_arn, _) = old.iter().next().unwrap().clone();
    let described = ecs::describe(&c.ecs, "default", std::slice::from_ref(&old_arn)).await;
    assert_eq!(described[0].last_status(), Some("STOPPED"));

    // The service starts its desired count again, behind the same port.
    let new = wait_until("the service runs a new task", WAIT, || async {
        let tasks = ecs::running_tasks(&c.ecs, &service).await;
        (tasks.len() == 1 && !tasks.contains(old.iter().next().unwrap())).then_some(tasks)
    })
    .await;
    let ip = new.iter().next().unwrap().1.clone();
    wait_until("the new task is healthy and served", WAIT, || async {
        (healthy_ips(&c, &alb).await.contains(&ip) && answers_ok(&alb.url()).await).then_some(())
    })
    .await;

    emu.stop().await;
    assert_eq!(leftover_containers(&emu.instance).await, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreadable_state_file_is_refused_and_kept() {
    let mut emu = EmulatorProcess::start().await;
    emu.stop().await;
    let file = emu.state_file();
    std::fs::write(&file, b"this is not a state file").unwrap();
    let mut child = emu.spawn();
    let status = wait_until("the emulator exits", Duration::from_secs(60), || {
        let status = child.try_wait().unwrap();
        async move { status }
    })
    .await;
    assert!(!status.success());
    assert!(emu.log_tail().contains("state file"), "{}", emu.log_tail());
    assert_eq!(std::fs::read(&file).unwrap(), b"this is not a state file");
}
