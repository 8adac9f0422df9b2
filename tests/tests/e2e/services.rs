//! ECS services behind the ALB, end to end: registration, replacement,
//! rolling deployments and scale-in under load, through the AWS SDK.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{LoadBalancer, TaskStopCode};
use tests::web::{register_version, web_service, WAIT};
use tests::{alb, ecs, load, unique, wait_until, TestEmulator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_registers_its_tasks_and_the_alb_spreads_requests_evenly() {
    let web = web_service(3).await;
    let service = web.service().await;
    assert_eq!(service.running_count(), 3);
    assert_eq!(service.deployments().len(), 1);
    assert_eq!(
        service.deployments()[0].rollout_state().map(|s| s.as_str()),
        Some("COMPLETED")
    );
    let messages: Vec<&str> = service
        .events()
        .iter()
        .filter_map(|e| e.message())
        .collect();
    assert!(
        messages[0].ends_with("has reached a steady state."),
        "{messages:?}"
    );
    assert!(messages
        .iter()
        .any(|m| m.contains("registered 1 targets in (target-group")));

    let tasks = web.tasks().await;
    assert_eq!(tasks.len(), 3);
    for t in &tasks {
        assert_eq!(t.group(), Some(format!("service:{}", web.service).as_str()));
        assert_eq!(t.started_by(), service.deployments()[0].id());
    }
    let ips = web.task_ips().await;
    assert_eq!(
        web.healthy_target_ips().await,
        ips,
        "every task is a healthy target"
    );

    let stop = Arc::new(AtomicBool::new(false));
    let report = load::run(&web.alb.url(), 4, "ip", stop, 300, WAIT).await;
    assert_eq!(report.sent, 300);
    assert_eq!(report.failures(), 0, "{report:?}");
    assert_eq!(report.by_field.keys().cloned().collect::<Vec<_>>(), ips);
    for (ip, n) in &report.by_field {
        assert!((90..=110).contains(n), "{ip} got {n} of 300");
    }
    web.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_task_is_replaced_and_the_targets_follow() {
    let web = web_service(2).await;
    let victim = web.tasks().await.remove(0);
    let victim_ip = ecs::private_ip(&victim);
    let container_id = victim.containers()[0].runtime_id().unwrap().to_string();
    let docker = bollard::Docker::connect_with_local_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap();
    docker
        .kill_container(
            &container_id,
            None::<bollard::query_parameters::KillContainerOptions>,
        )
        .await
        .expect("docker kill");

    let arn = victim.task_arn().unwrap().to_string();
    web.emu
        .ecs
        .wait_until_tasks_stopped()
        .tasks(&arn)
        .wait(WAIT)
        .await
        .unwrap();
    let stopped = &ecs::describe(&web.emu.ecs, "default", &[arn]).await[0];
    assert_eq!(
        stopped.stop_code(),
        Some(&TaskStopCode::EssentialContainerExited)
    );
    assert_eq!(stopped.containers()[0].exit_code(), Some(137));

    let ips = wait_until("a replacement is a healthy target", WAIT, || async {
        let ips = web.healthy_target_ips().await;
        let tasks = web.task_ips().await;
        (ips.len() == 2 && ips == tasks && !ips.contains(&victim_ip)).then_some(ips)
    })
    .await;
    assert!(!ips.contains(&victim_ip));
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
async fn a_task_failing_elb_health_checks_is_stopped_with_the_aws_reason_and_replaced() {
    let web = web_service(2).await;
    let victim = web.tasks().await.remove(0);
    let ip = ecs::private_ip(&victim);
    let (status, _) = tests::http_request("POST", &format!("http://{ip}:8080/admin/unhealthy"))
        .await
        .unwrap();
    assert_eq!(status, 200);

    let arn = victim.task_arn().unwrap().to_string();
    web.emu
        .ecs
        .wait_until_tasks_stopped()
        .tasks(&arn)
        .wait(WAIT)
        .await
        .unwrap();
    let stopped = &ecs::describe(&web.emu.ecs, "default", &[arn]).await[0];
    assert_eq!(
        stopped.stop_code(),
        Some(&TaskStopCode::ServiceSchedulerInitiated)
    );
    assert_eq!(
        stopped.stopped_reason(),
        Some(
            format!(
                "Task failed ELB health checks in (target-group {})",
                web.alb.target_group_arn
            )
            .as_str()
        )
    );
    wait_until("the service is back to 2 healthy targets", WAIT, || async {
        let ips = web.healthy_target_ips().await;
        (ips.len() == 2 && !ips.contains(&ip)).then_some(())
    })
    .await;
    web.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rolling_deployment_under_load_loses_no_request() {
    let web = web_service(3).await;
    let v2 = register_version(&web.emu, &web.family, "v2").await;

    let stop = Arc::new(AtomicBool::new(false));
    let url = web.alb.url();
    let load = tokio::spawn({
        let stop = stop.clone();
        async move { load::run(&url, 4, "version", stop, 200_000, Duration::from_secs(120)).await }
    });
    wait_until("load has started", WAIT, || async {
        web.alb_request_count()
            .await
            .filter(|n| *n > 50)
            .map(|_| ())
    })
    .await;
    web.emu
        .ecs
        .update_service()
        .service(&web.service)
        .task_definition(&v2)
        .send()
        .await
        .expect("update service");
    wait_until("the v2 deployment completes", WAIT, || async {
        let s = web.service().await;
        let done = s.deployments().len() == 1
            && s.deployments()[0].task_definition() == Some(v2.as_str())
            && s.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED");
        done.then_some(())
    })
    .await;
    // Old tasks drain after the deployment completes; keep the load on
    // until every v1 task has stopped.
    wait_until("every v1 task has stopped", WAIT, || async {
        let tasks = web.tasks().await;
        tasks
            .iter()
            .all(|t| t.task_definition_arn() == Some(v2.as_str()))
            .then_some(())
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let report = load.await.unwrap();
    assert!(report.sent > 200, "{report:?}");
    assert_eq!(report.failures(), 0, "{report:?}");
    assert!(
        report.by_field.contains_key("v1") && report.by_field.contains_key("v2"),
        "{report:?}"
    );

    let after = load::run(
        &web.alb.url(),
        2,
        "version",
        Arc::new(AtomicBool::new(false)),
        60,
        WAIT,
    )
    .await;
    assert_eq!(
        after.by_field.get("v2"),
        Some(&60),
        "all traffic is on v2: {after:?}"
    );
    web.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scale_in_drains_without_losing_requests() {
    let web = web_service(3).await;
    let stop = Arc::new(AtomicBool::new(false));
    let url = web.alb.url();
    let load = tokio::spawn({
        let stop = stop.clone();
        async move { load::run(&url, 4, "ip", stop, 200_000, Duration::from_secs(120)).await }
    });
    web.emu
        .ecs
        .update_service()
        .service(&web.service)
        .desired_count(1)
        .send()
        .await
        .unwrap();
    let stopped = wait_until("two tasks have drained and stopped", WAIT, || async {
        let stopped = web
            .emu
            .ecs
            .list_tasks()
            .service_name(&web.service)
            .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
            .send()
            .await
            .unwrap()
            .task_arns()
            .to_vec();
        let tasks = ecs::describe(&web.emu.ecs, "default", &stopped).await;
        (tasks.len() == 2 && tasks.iter().all(|t| t.last_status() == Some("STOPPED")))
            .then_some(tasks)
    })
    .await;
    stop.store(true, Ordering::Relaxed);
    let report = load.await.unwrap();
    assert_eq!(report.failures(), 0, "{report:?}");
    for t in &stopped {
        assert!(t
            .stopped_reason()
            .unwrap_or_default()
            .starts_with("Scaling activity initiated by (deployment ecs-svc/"));
    }
    assert_eq!(web.healthy_target_ips().await.len(), 1);
    let messages: Vec<String> = web
        .service()
        .await
        .events()
        .iter()
        .filter_map(|e| e.message().map(String::from))
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m.contains("has begun draining connections on")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains("deregistered 2 targets in")),
        "{messages:?}"
    );
    web.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_validation_errors_match_aws() {
    let emu = TestEmulator::start().await;
    let name = unique("val");
    let alb = alb::create(&emu.elbv2, &name).await;
    ecs::register(&emu.ecs, &name, vec![ecs::sample_container("app").build()]).await;
    let create = |port: i32| {
        emu.ecs
            .create_service()
            .service_name(&name)
            .task_definition(&name)
            .desired_count(1)
            .network_configuration(ecs::network())
            .load_balancers(
                LoadBalancer::builder()
                    .target_group_arn(&alb.target_group_arn)
                    .container_name("app")
                    .container_port(port)
                    .build(),
            )
            .send()
    };
    let err = create(9999).await.unwrap_err().into_service_error();
    assert!(err.is_invalid_parameter_exception(), "{err:?}");
    assert!(err
        .meta()
        .message()
        .unwrap_or_default()
        .contains("did not have a container port 9999"));

    create(8080).await.expect("valid service");
    let err = create(8080).await.unwrap_err().into_service_error();
    assert!(err.is_invalid_parameter_exception(), "duplicate: {err:?}");

    let err = emu
        .ecs
        .delete_cluster()
        .cluster("default")
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_cluster_contains_services_exception(), "{err:?}");
    let err = emu
        .ecs
        .update_service()
        .service("no-such-service")
        .desired_count(2)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_service_not_found_exception(), "{err:?}");
    let err = emu
        .ecs
        .delete_service()
        .service(&name)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(
        err.is_invalid_parameter_exception(),
        "scaled above 0: {err:?}"
    );

    let deleted = emu
        .ecs
        .delete_service()
        .service(&name)
        .force(true)
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.service().and_then(|s| s.status()), Some("DRAINING"));
    emu.ecs
        .wait_until_services_inactive()
        .services(&name)
        .wait(WAIT)
        .await
        .expect("service becomes INACTIVE");
    let missing = emu
        .ecs
        .describe_services()
        .services("no-such-service")
        .send()
        .await
        .unwrap();
    assert_eq!(missing.failures()[0].reason(), Some("MISSING"));
    emu.shutdown().await;
}
