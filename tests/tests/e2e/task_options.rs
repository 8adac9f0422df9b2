//! The container fields people copy from production, honoured on Docker:
//! a volume the task's containers share (written by an init container,
//! mounted read-only, taken with `volumesFrom`), and the process's user,
//! directory, limits, labels, read-only root and init process.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{
    ContainerCondition, ContainerDefinition, ContainerDependency, HostVolumeProperties,
    KernelCapabilities, LinuxParameters, MountPoint, Ulimit, UlimitName, Volume, VolumeFrom,
};
use bollard::query_parameters::{InspectContainerOptions, ListVolumesOptionsBuilder};
use tests::{ecs, http_get, http_request, unique, TestEmulator};

const WAIT: Duration = Duration::from_secs(60);

async fn task_volumes(task_arn: &str) -> Vec<String> {
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("com.amazonaws.ecs.task-arn={task_arn}")],
    )]);
    bollard::Docker::connect_with_local_defaults()
        .unwrap()
        .list_volumes(Some(
            ListVolumesOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .unwrap()
        .volumes
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.name)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn containers_of_a_task_share_a_volume() {
    let emu = TestEmulator::start().await;
    let family = unique("volume");
    let mount = |path: &str, read_only: bool| {
        MountPoint::builder()
            .source_volume("shared")
            .container_path(path)
            .read_only(read_only)
            .build()
    };
    let init = ContainerDefinition::builder()
        .name("init")
        .image(tests::SAMPLE_IMAGE)
        .essential(false)
        .command("write")
        .command("/shared/greeting")
        .command("hello from init")
        .mount_points(mount("/shared", false))
        .build();
    let app = ecs::sample_container("app")
        .mount_points(mount("/data", true))
        .depends_on(
            ContainerDependency::builder()
                .container_name("init")
                .condition(ContainerCondition::Success)
                .build()
                .unwrap(),
        )
        .build();
    let sidecar = ContainerDefinition::builder()
        .name("sidecar")
        .image(tests::SAMPLE_IMAGE)
        .essential(false)
        .environment(ecs::env("PORT", "9090"))
        .volumes_from(VolumeFrom::builder().source_container("app").build())
        .build();
    emu.ecs
        .register_task_definition()
        .family(&family)
        .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
        .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .volumes(
            Volume::builder()
                .name("shared")
                .host(HostVolumeProperties::builder().build())
                .build(),
        )
        .container_definitions(init)
        .container_definitions(app)
        .container_definitions(sidecar)
        .send()
        .await
        .unwrap();
    let (task_arn, ip) = ecs::run_one_running(&emu.ecs, &family).await;

    let read = |port: u16| {
        let ip = ip.clone();
        async move { http_get(&format!("http://{ip}:{port}/file?path=/data/greeting")).await }
    };
    assert_eq!(
        read(8080).await.unwrap(),
        (200, "hello from init".to_string())
    );
    // volumesFrom: the sidecar has the app's mount, at the app's path.
    assert_eq!(
        read(9090).await.unwrap(),
        (200, "hello from init".to_string())
    );
    // The app's mount is read-only.
    let write = http_request("PUT", &format!("http://{ip}:8080/file?path=/data/new"))
        .await
        .unwrap();
    assert_eq!(write.0, 500, "{write:?}");
    assert!(write.1.contains("Read-only file system"), "{write:?}");
    assert_eq!(task_volumes(&task_arn).await.len(), 1);

    emu.ecs.stop_task().task(&task_arn).send().await.unwrap();
    emu.ecs
        .wait_until_tasks_stopped()
        .tasks(&task_arn)
        .wait(WAIT)
        .await
        .unwrap();
    assert_eq!(
        task_volumes(&task_arn).await,
        Vec::<String>::new(),
        "removed with the task"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn user_directory_limits_labels_and_linux_parameters_reach_the_process() {
    let emu = TestEmulator::start().await;
    let family = unique("options");
    let app = ecs::sample_container("app")
        .user("1000:1001")
        .working_directory("/work")
        .ulimits(
            Ulimit::builder()
                .name(UlimitName::Nofile)
                .soft_limit(2048)
                .hard_limit(4096)
                .build()
                .unwrap(),
        )
        .docker_labels("team", "web")
        .readonly_root_filesystem(true)
        .linux_parameters(
            LinuxParameters::builder()
                .init_process_enabled(true)
                .capabilities(KernelCapabilities::builder().add("SYS_PTRACE").build())
                .build(),
        )
        .build();
    ecs::register(&emu.ecs, &family, vec![app]).await;
    let (task_arn, ip) = ecs::run_one_running(&emu.ecs, &family).await;

    let (status, body) = http_get(&format!("http://{ip}:8080/process"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    let process: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(process["uid"], 1000, "{process}");
    assert_eq!(process["gid"], 1001, "{process}");
    assert_eq!(process["cwd"], "/work", "{process}");
    assert_eq!(
        process["nofile"],
        serde_json::json!([2048, 4096]),
        "{process}"
    );
    assert_ne!(process["pid"], 1, "an init process is PID 1: {process}");
    let write = http_request("PUT", &format!("http://{ip}:8080/file?path=/work/x"))
        .await
        .unwrap();
    assert!(write.1.contains("Read-only file system"), "{write:?}");

    let id = tests::task_container_id(&task_arn, "app").await;
    let inspected = bollard::Docker::connect_with_local_defaults()
        .unwrap()
        .inspect_container(&id, None::<InspectContainerOptions>)
        .await
        .unwrap();
    let labels = inspected.config.and_then(|c| c.labels).unwrap_or_default();
    assert_eq!(labels.get("team").map(String::as_str), Some("web"));
    assert_eq!(
        labels.get("com.amazonaws.ecs.task-arn").map(String::as_str),
        Some(task_arn.as_str()),
        "ECS's own labels stay"
    );
    let host = inspected.host_config.unwrap();
    assert_eq!(host.cap_add, Some(vec!["SYS_PTRACE".to_string()]));
    emu.shutdown().await;
}
