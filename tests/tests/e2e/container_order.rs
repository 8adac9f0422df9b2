//! Container ordering (`dependsOn`) end to end: an init container, a sidecar
//! that must be HEALTHY first, the stop order reversed, and a dependency
//! that can never be met.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::{
    Container, ContainerCondition, ContainerDefinition, ContainerDependency, TaskStopCode,
};
use bollard::query_parameters::{EventsOptions, InspectContainerOptions};
use futures::StreamExt;
use tests::{ecs, unique, TestEmulator};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

const WAIT: Duration = Duration::from_secs(60);

fn depends(name: &str, condition: ContainerCondition) -> ContainerDependency {
    ContainerDependency::builder()
        .container_name(name)
        .condition(condition)
        .build()
        .unwrap()
}

/// A one-shot container: exits with `code` after `after_ms`.
fn one_shot(name: &str, code: i32, after_ms: u64) -> ContainerDefinition {
    ContainerDefinition::builder()
        .name(name)
        .image(tests::SAMPLE_IMAGE)
        .essential(false)
        .command("exit")
        .command(code.to_string())
        .command(after_ms.to_string())
        .build()
}

/// A sample-app on 9090 whose health check probes itself.
fn sidecar() -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    ContainerDefinition::builder()
        .name("sidecar")
        .image(tests::SAMPLE_IMAGE)
        .essential(false)
        .environment(ecs::env("PORT", "9090"))
        .health_check(ecs::sample_health_check(9090))
}

fn container<'a>(task: &'a aws_sdk_ecs::types::Task, name: &str) -> &'a Container {
    task.containers()
        .iter()
        .find(|c| c.name() == Some(name))
        .unwrap_or_else(|| panic!("no container {name}"))
}

/// Docker's record of a container: when it started, and when its health
/// check first passed.
struct Seen {
    started: OffsetDateTime,
    finished: Option<OffsetDateTime>,
    first_healthy: Option<OffsetDateTime>,
    /// Health checks in Docker's log (it keeps the last five).
    checks: usize,
}

async fn seen(task_arn: &str, name: &str) -> Seen {
    let id = tests::task_container_id(task_arn, name).await;
    let state = bollard::Docker::connect_with_local_defaults()
        .unwrap()
        .inspect_container(&id, None::<InspectContainerOptions>)
        .await
        .unwrap()
        .state
        .unwrap();
    let at = |s: Option<String>| {
        s.and_then(|s| OffsetDateTime::parse(&s, &Rfc3339).ok())
            // Docker writes 0001-01-01 for "never".
            .filter(|t| t.year() > 1)
    };
    let log = state.health.and_then(|h| h.log).unwrap_or_default();
    let checks = log.len();
    let first_healthy = log
        .into_iter()
        .filter(|check| check.exit_code == Some(0))
        .filter_map(|check| at(check.end))
        .min();
    Seen {
        started: at(state.started_at).expect("the container started"),
        finished: at(state.finished_at),
        first_healthy,
        checks,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_init_container_and_a_healthy_sidecar_start_first_and_stop_last() {
    let emu = TestEmulator::start().await;
    let family = unique("ordered");
    let app = ecs::sample_container("app")
        .depends_on(depends("sidecar", ContainerCondition::Healthy))
        .depends_on(depends("init", ContainerCondition::Complete))
        .build();
    let sidecar = sidecar()
        .depends_on(depends("init", ContainerCondition::Success))
        .build();
    // Listed app first: the order comes from dependsOn, not the list.
    ecs::register(
        &emu.ecs,
        &family,
        vec![app, sidecar, one_shot("init", 0, 300)],
    )
    .await;
    let arns = ecs::run(&emu.ecs, "default", &family, 1).await;
    emu.ecs
        .wait_until_tasks_running()
        .tasks(&arns[0])
        .wait(WAIT)
        .await
        .expect("the task reaches RUNNING");

    let task = ecs::describe(&emu.ecs, "default", &arns).await.remove(0);
    let init = container(&task, "init");
    assert_eq!(init.last_status(), Some("STOPPED"));
    assert_eq!(init.exit_code(), Some(0));
    assert_eq!(
        container(&task, "sidecar")
            .health_status()
            .map(|h| h.as_str()),
        Some("HEALTHY")
    );
    assert_eq!(container(&task, "app").last_status(), Some("RUNNING"));

    let (init, sidecar, app) = (
        seen(&arns[0], "init").await,
        seen(&arns[0], "sidecar").await,
        seen(&arns[0], "app").await,
    );
    let init_done = init.finished.expect("init finished");
    assert!(
        init_done <= sidecar.started,
        "the sidecar waited for init to succeed"
    );
    // Docker runs a container's first health check one interval after it
    // starts (5 s, scaled by the test emulator's time scale to 0.5 s), so
    // an app that waited for HEALTHY started at least that much later.
    assert!(
        app.started - sidecar.started >= time::Duration::milliseconds(500),
        "the app waited for the sidecar to be HEALTHY: sidecar started {}, app {}",
        sidecar.started,
        app.started
    );
    // Docker keeps the last five checks: the first is there only if few ran.
    if let Some(healthy) = sidecar.first_healthy.filter(|_| sidecar.checks < 5) {
        assert!(
            healthy <= app.started,
            "the app started after the first passing check"
        );
    }

    // Stopping reverses the order: the app ends before the sidecar it
    // depends on is even asked to stop. Docker's die events tell the order.
    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let filters = HashMap::from([
        ("event".to_string(), vec!["die".to_string()]),
        (
            "label".to_string(),
            vec![format!("com.amazonaws.ecs.task-arn={}", arns[0])],
        ),
    ]);
    // `since` replays what happened after it, so no event is missed while
    // the stream's request is still on its way.
    let since = OffsetDateTime::now_utc().unix_timestamp().to_string();
    let mut events = docker.events(Some(EventsOptions {
        since: Some(since),
        filters: Some(filters),
        ..Default::default()
    }));
    emu.ecs.stop_task().task(&arns[0]).send().await.unwrap();
    let mut died = vec![];
    while died.len() < 2 {
        let event = tokio::time::timeout(WAIT, events.next())
            .await
            .expect("the task's containers die")
            .expect("the event stream stays open")
            .unwrap();
        let name = event
            .actor
            .and_then(|a| a.attributes)
            .and_then(|a| a.get("com.amazonaws.ecs.container-name").cloned());
        // init ended long before; within `since`'s second it may show.
        died.extend(name.filter(|n| n != "init"));
    }
    assert_eq!(died, ["app", "sidecar"]);
    emu.ecs
        .wait_until_tasks_stopped()
        .tasks(&arns[0])
        .wait(WAIT)
        .await
        .unwrap();
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dependency_that_can_never_be_met_stops_the_task_with_the_agents_reason() {
    let emu = TestEmulator::start().await;
    let family = unique("never");
    let app = ecs::sample_container("app")
        .depends_on(depends("init", ContainerCondition::Success))
        .build();
    ecs::register(&emu.ecs, &family, vec![app, one_shot("init", 3, 0)]).await;
    let arns = ecs::run(&emu.ecs, "default", &family, 1).await;
    emu.ecs
        .wait_until_tasks_stopped()
        .tasks(&arns[0])
        .wait(WAIT)
        .await
        .expect("the task stops");

    let task = ecs::describe(&emu.ecs, "default", &arns).await.remove(0);
    assert_eq!(
        task.stop_code(),
        Some(&TaskStopCode::EssentialContainerExited)
    );
    assert_eq!(
        task.stopped_reason(),
        Some("Essential container in task exited")
    );
    assert_eq!(container(&task, "init").exit_code(), Some(3));
    let app = container(&task, "app");
    assert_eq!(app.exit_code(), Some(143));
    let reason = app.reason().unwrap_or_default();
    assert!(
        reason.starts_with("CannotStartContainerError: dependency graph: failed to resolve container ordering dependency [init] for target [app]"),
        "{reason}"
    );
    assert!(reason.contains("did not exit successfully"), "{reason}");
    assert_eq!(task.started_at(), None, "the task never ran");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refuses_dependencies_aws_refuses() {
    let emu = TestEmulator::start().await;
    let register = |containers: Vec<ContainerDefinition>| {
        emu.ecs
            .register_task_definition()
            .family(unique("bad"))
            .network_mode(aws_sdk_ecs::types::NetworkMode::Awsvpc)
            .requires_compatibilities(aws_sdk_ecs::types::Compatibility::Fargate)
            .cpu("256")
            .memory("512")
            .set_container_definitions(Some(containers))
            .send()
    };
    let essential_init = ContainerDefinition::builder()
        .name("init")
        .image(tests::SAMPLE_IMAGE)
        .build();
    let app = ecs::sample_container("app")
        .depends_on(depends("init", ContainerCondition::Success))
        .build();
    let err = register(vec![app, essential_init]).await.unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_client_exception(), "{err:?}");
    assert_eq!(
        aws_sdk_ecs::error::ProvideErrorMetadata::message(&err),
        Some("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container")
    );
    let missing = ecs::sample_container("app")
        .depends_on(depends("ghost", ContainerCondition::Start))
        .build();
    let err = register(vec![missing])
        .await
        .unwrap_err()
        .into_service_error();
    assert_eq!(
        aws_sdk_ecs::error::ProvideErrorMetadata::message(&err),
        Some("Cannot depend on container + 'ghost' because it does not exist")
    );
    emu.shutdown().await;
}
