//! The Docker engine as the tests see it: the containers of an instance or
//! a task, and the clean-up after a failed test.

use std::time::Duration;

/// Removes an emulator instance's Docker objects, from a separate thread
/// with its own runtime (for `Drop`, which cannot await). A task driver may
/// still be creating a container, so it sweeps until the instance stays
/// empty.
pub fn remove_instance_objects(instance: &str) {
    let instance = instance.to_string();
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async {
            let deadline = tokio::time::Instant::now() + CLEANUP_SWEEP_LIMIT;
            let mut empty_sweeps = 0;
            while empty_sweeps < 2 && tokio::time::Instant::now() < deadline {
                let _ = emulator::runtime::docker::cleanup_instance(&instance).await;
                empty_sweeps = if leftover_containers(&instance).await == 0 {
                    empty_sweeps + 1
                } else {
                    0
                };
                // The pace of the sweep: a container created late shows
                // up on the next one.
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        });
    })
    .join();
}

/// How long a failed test's clean-up keeps sweeping for late containers.
const CLEANUP_SWEEP_LIMIT: Duration = Duration::from_secs(15);

/// Docker containers still labelled with `instance` (0 after a clean shutdown).
pub async fn leftover_containers(instance: &str) -> usize {
    use bollard::query_parameters::ListContainersOptionsBuilder;
    let docker = bollard::Docker::connect_with_local_defaults()
        .expect("docker")
        .negotiate_version()
        .await
        .expect("docker version");
    let filter = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!(
            "{}={instance}",
            emulator::runtime::docker::LABEL_INSTANCE
        )],
    )]);
    docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filter)
                .build(),
        ))
        .await
        .expect("list containers")
        .len()
}

/// Every Docker container of the task, the sandbox included (it has no
/// container-name label), running or not.
pub async fn task_containers(task_arn: &str) -> Vec<bollard::models::ContainerSummary> {
    use bollard::query_parameters::ListContainersOptionsBuilder;
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("com.amazonaws.ecs.task-arn={task_arn}")],
    )]);
    bollard::Docker::connect_with_local_defaults()
        .unwrap()
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap()
}

/// The Docker id of the task's container named `name` (as in its task
/// definition).
pub async fn task_container_id(task_arn: &str, name: &str) -> String {
    task_containers(task_arn)
        .await
        .into_iter()
        .find(|c| {
            c.labels
                .as_ref()
                .and_then(|l| l.get("com.amazonaws.ecs.container-name"))
                .is_some_and(|n| n == name)
        })
        .and_then(|c| c.id)
        .unwrap_or_else(|| panic!("no container {name} in {task_arn}"))
}

/// The environment Docker gives the task's container named `name`.
pub async fn container_env(task_arn: &str, name: &str) -> Vec<String> {
    let id = task_container_id(task_arn, name).await;
    bollard::Docker::connect_with_local_defaults()
        .unwrap()
        .inspect_container(
            &id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap()
        .config
        .and_then(|c| c.env)
        .unwrap_or_default()
}
