//! ECS tasks end to end: the AWS SDK for Rust against a real emulator that
//! runs real containers on the Docker engine.

use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{ContainerDefinition, TaskStopCode};
use tests::{ecs, http_get, unique, wait_until, TestEmulator};

const WAIT: Duration = Duration::from_secs(60);

/// Runs one task of `family` in `default`, waits for RUNNING; its ARN (as a
/// one-element list for describe calls) and its private IP.
async fn run_one(emu: &TestEmulator, family: &str) -> (Vec<String>, String) {
    let (arn, ip) = ecs::run_one_running(&emu.ecs, family).await;
    (vec![arn], ip)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn run_describe_and_stop_three_tasks_each_on_its_own_ip() {
    let emu = TestEmulator::start().await;
    let cluster = unique("c");
    emu.ecs
        .create_cluster()
        .cluster_name(&cluster)
        .send()
        .await
        .unwrap();
    let family = unique("web");
    let def = ecs::register(
        &emu.ecs,
        &family,
        vec![ecs::sample_container("app").build()],
    )
    .await;
    assert!(
        def.ends_with(&format!(":task-definition/{family}:1")),
        "{def}"
    );

    let arns = ecs::run(&emu.ecs, &cluster, &family, 3).await;
    assert_eq!(arns.len(), 3);
    emu.ecs
        .wait_until_tasks_running()
        .cluster(&cluster)
        .set_tasks(Some(arns.clone()))
        .wait(WAIT)
        .await
        .expect("tasks reach RUNNING");

    let tasks = ecs::describe(&emu.ecs, &cluster, &arns).await;
    let mut ips = vec![];
    for task in &tasks {
        assert_eq!(task.last_status(), Some("RUNNING"));
        assert_eq!(task.desired_status(), Some("RUNNING"));
        assert!(task.created_at().is_some() && task.pull_started_at().is_some());
        assert!(task.pull_stopped_at().is_some() && task.started_at().is_some());
        assert_eq!(task.launch_type().map(|l| l.as_str()), Some("FARGATE"));
        let eni = &task.attachments()[0];
        assert_eq!(eni.r#type(), Some("ElasticNetworkInterface"));
        assert_eq!(eni.status(), Some("ATTACHED"));
        for field in [
            "networkInterfaceId",
            "macAddress",
            "privateDnsName",
            "subnetId",
        ] {
            assert!(
                eni.details().iter().any(|d| d.name() == Some(field)),
                "missing {field}"
            );
        }
        let ip = ecs::private_ip(task);
        let container = &task.containers()[0];
        assert_eq!(
            container.network_interfaces()[0].private_ipv4_address(),
            Some(ip.as_str())
        );
        assert!(container.runtime_id().is_some());
        // The task answers on its own IP, and says it is that IP.
        let (status, body) = http_get(&format!("http://{ip}:8080/")).await.unwrap();
        assert_eq!(status, 200);
        let body: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(body["ip"], ip.as_str());
        ips.push(ip);
    }
    ips.sort();
    ips.dedup();
    assert_eq!(ips.len(), 3, "each task has its own IP");

    let listed = emu.ecs.list_tasks().cluster(&cluster).send().await.unwrap();
    assert_eq!(listed.task_arns().len(), 3);
    let clusters = emu
        .ecs
        .describe_clusters()
        .clusters(&cluster)
        .send()
        .await
        .unwrap();
    assert_eq!(clusters.clusters()[0].running_tasks_count(), 3);

    let stopped = emu
        .ecs
        .stop_task()
        .cluster(&cluster)
        .task(&arns[0])
        .reason("test is done")
        .send()
        .await
        .unwrap();
    assert_eq!(
        stopped.task().and_then(|t| t.desired_status()),
        Some("STOPPED")
    );
    emu.ecs
        .wait_until_tasks_stopped()
        .cluster(&cluster)
        .tasks(&arns[0])
        .wait(WAIT)
        .await
        .expect("task reaches STOPPED");
    let task = &ecs::describe(&emu.ecs, &cluster, &arns[..1]).await[0];
    assert_eq!(task.stop_code(), Some(&TaskStopCode::UserInitiated));
    assert_eq!(task.stopped_reason(), Some("test is done"));
    assert!(task.stopping_at().is_some() && task.stopped_at().is_some());
    assert_eq!(
        task.containers()[0].exit_code(),
        Some(0),
        "sample-app exits 0 on SIGTERM"
    );
    let running = emu.ecs.list_tasks().cluster(&cluster).send().await.unwrap();
    assert_eq!(running.task_arns().len(), 2);
    let all_stopped = emu
        .ecs
        .list_tasks()
        .cluster(&cluster)
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Stopped)
        .send()
        .await
        .unwrap();
    assert_eq!(all_stopped.task_arns(), &arns[..1]);

    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_of_a_task_share_one_network_namespace() {
    let emu = TestEmulator::start().await;
    let family = unique("sidecar");
    // The sidecar listens on 9090 and is only healthy if it reaches the app
    // on localhost:8080, as awsvpc sidecars do.
    let sidecar = ContainerDefinition::builder()
        .name("sidecar")
        .image(tests::SAMPLE_IMAGE)
        .essential(false)
        .environment(ecs::env("PORT", "9090"))
        .health_check(ecs::sample_health_check(8080))
        .build();
    ecs::register(
        &emu.ecs,
        &family,
        vec![ecs::sample_container("app").build(), sidecar],
    )
    .await;
    let arns = ecs::run(&emu.ecs, "default", &family, 1).await;

    let task = wait_until("the sidecar reports HEALTHY", WAIT, || async {
        let task = ecs::describe(&emu.ecs, "default", &arns).await.remove(0);
        let sidecar = task
            .containers()
            .iter()
            .find(|c| c.name() == Some("sidecar"))?;
        (sidecar.health_status().map(|h| h.as_str()) == Some("HEALTHY")).then_some(task)
    })
    .await;
    let ip = ecs::private_ip(&task);
    for port in [8080, 9090] {
        let (status, body) = http_get(&format!("http://{ip}:{port}/")).await.unwrap();
        assert_eq!(status, 200);
        assert!(body.contains(&format!("\"ip\":\"{ip}\"")), "{body}");
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_essential_container_that_exits_stops_the_task() {
    let emu = TestEmulator::start().await;
    let family = unique("exit");
    ecs::register(
        &emu.ecs,
        &family,
        vec![ecs::sample_container("app").build()],
    )
    .await;
    let (arns, ip) = run_one(&emu, &family).await;
    let exit = tests::http_request("POST", &format!("http://{ip}:8080/admin/exit?code=3")).await;
    assert_eq!(exit.unwrap().0, 200);

    emu.ecs
        .wait_until_tasks_stopped()
        .tasks(&arns[0])
        .wait(WAIT)
        .await
        .unwrap();
    let task = &ecs::describe(&emu.ecs, "default", &arns).await[0];
    assert_eq!(
        task.stop_code(),
        Some(&TaskStopCode::EssentialContainerExited)
    );
    assert_eq!(
        task.stopped_reason(),
        Some("Essential container in task exited")
    );
    assert_eq!(task.containers()[0].exit_code(), Some(3));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_fails_the_task_with_cannot_pull() {
    let emu = TestEmulator::start().await;
    let family = unique("missing");
    let container = ContainerDefinition::builder()
        .name("app")
        .image(format!("{}:does-not-exist", unique("no-such-image")))
        .build();
    ecs::register(&emu.ecs, &family, vec![container]).await;
    let arns = ecs::run(&emu.ecs, "default", &family, 1).await;
    emu.ecs
        .wait_until_tasks_stopped()
        .tasks(&arns[0])
        .wait(WAIT)
        .await
        .unwrap();
    let task = &ecs::describe(&emu.ecs, "default", &arns).await[0];
    assert_eq!(task.stop_code(), Some(&TaskStopCode::TaskFailedToStart));
    let reason = task.stopped_reason().unwrap_or_default();
    assert!(reason.starts_with("CannotPullContainerError:"), "{reason}");
    assert!(task.started_at().is_none());
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_task_metadata_endpoint_is_reachable_from_inside_the_task() {
    let emu = TestEmulator::start().await;
    let family = unique("meta");
    ecs::register(
        &emu.ecs,
        &family,
        vec![ecs::sample_container("app").build()],
    )
    .await;
    let (arns, ip) = run_one(&emu, &family).await;
    let (status, body) = http_get(&format!("http://{ip}:8080/metadata"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(doc["TaskARN"], arns[0].as_str());
    assert_eq!(doc["Family"], family.as_str());
    assert_eq!(doc["Revision"], "1");
    assert_eq!(doc["LaunchType"], "FARGATE");
    assert_eq!(doc["KnownStatus"], "RUNNING");
    assert_eq!(doc["Limits"]["Memory"], 512);
    // The default VPC's id, in EC2's 17-hex-digit form.
    let vpc = doc["VPCID"].as_str().unwrap_or_default();
    assert!(vpc.starts_with("vpc-") && vpc.len() == 21, "{vpc}");
    let container = &doc["Containers"][0];
    assert_eq!(container["Name"], "app");
    assert_eq!(container["Networks"][0]["NetworkMode"], "awsvpc");
    assert_eq!(container["Networks"][0]["IPv4Addresses"][0], ip.as_str());
    assert_eq!(
        container["Labels"]["com.amazonaws.ecs.task-arn"],
        arns[0].as_str()
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_memory_stops_the_task_with_out_of_memory_error() {
    let emu = TestEmulator::start().await;
    let family = unique("oom");
    let app = ecs::sample_container("app").memory(64).build();
    ecs::register(&emu.ecs, &family, vec![app]).await;
    let (arns, ip) = run_one(&emu, &family).await;
    // The response never comes: the kernel kills the process mid-allocation.
    let _ = tests::http_request("POST", &format!("http://{ip}:8080/admin/alloc?mb=256")).await;
    emu.ecs
        .wait_until_tasks_stopped()
        .tasks(&arns[0])
        .wait(WAIT)
        .await
        .unwrap();
    let task = &ecs::describe(&emu.ecs, "default", &arns).await[0];
    assert_eq!(
        task.stop_code(),
        Some(&TaskStopCode::EssentialContainerExited)
    );
    assert_eq!(
        task.containers()[0].reason(),
        Some("OutOfMemoryError: Container killed due to memory usage")
    );
    assert_eq!(task.containers()[0].exit_code(), Some(137));
    emu.shutdown().await;
}
