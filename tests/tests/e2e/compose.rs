//! `emulator compose` end to end: `examples/compose` goes up on a running
//! emulator, is checked through the AWS SDK and through its ALB, rolls an
//! edit under load without a failed request, and `down` leaves nothing.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::DesiredStatus;
use emulator::compose::{self, Action, ComposeOptions};
use emulator::Config;
use tests::{http_get, load, unique, wait_until, TestEmulator};

const WAIT: Duration = Duration::from_secs(120);

/// The example's two files, copied to a directory of their own so the
/// test can edit them.
fn example_copy() -> (PathBuf, PathBuf) {
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/compose");
    let dir = std::env::temp_dir().join(unique("compose-example"));
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["docker-compose.yml", "ecs-params.yml"] {
        std::fs::copy(example.join(name), dir.join(name)).unwrap();
    }
    (dir.join("docker-compose.yml"), dir)
}

struct Project {
    file: PathBuf,
    name: String,
    endpoint: String,
    config: Config,
}

impl Project {
    async fn run(&self, action: Action) {
        let options = ComposeOptions {
            action,
            file: self.file.clone(),
            project_name: Some(self.name.clone()),
            ecs_params: None,
            endpoint: Some(self.endpoint.clone()),
            timeout_secs: WAIT.as_secs(),
            quiet: true,
        };
        compose::run(options, self.config.clone(), std::future::pending())
            .await
            .unwrap_or_else(|e| panic!("compose failed: {e}"));
    }
}

/// The ECS service `service` of the project's cluster.
async fn project_service(
    emu: &TestEmulator,
    cluster: &str,
    service: &str,
) -> aws_sdk_ecs::types::Service {
    emu.ecs
        .describe_services()
        .cluster(cluster)
        .services(service)
        .send()
        .await
        .unwrap()
        .services()
        .iter()
        .find(|s| s.service_name() == Some(service))
        .unwrap_or_else(|| panic!("no service {service}"))
        .clone()
}

/// The revision number a service of the project runs.
async fn revision(emu: &TestEmulator, cluster: &str, service: &str) -> String {
    let definition = project_service(emu, cluster, service)
        .await
        .task_definition
        .unwrap();
    definition.rsplit(':').next().unwrap().to_string()
}

fn env_value(container: &aws_sdk_ecs::types::ContainerDefinition, name: &str) -> Option<String> {
    container
        .environment()
        .iter()
        .find(|kv| kv.name() == Some(name))
        .and_then(|kv| kv.value().map(str::to_string))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compose_up_deploys_the_example_rolls_an_edit_without_failures_and_down_removes_it() {
    // Port 80 of the example serves on a free port: the offset moves it there.
    let port = tests::ports::reserve();
    let offset = port - 80;
    let emu = TestEmulator::start_with(|c| c.privileged_port_offset = offset).await;
    let (file, dir) = example_copy();
    let project = Project {
        file: file.clone(),
        name: unique("compose"),
        endpoint: emu.endpoint_url(),
        config: Config {
            privileged_port_offset: offset,
            ..Config::default()
        },
    };
    let name = project.name.as_str();
    project.run(Action::Up).await;

    // Task definitions, as the compose file says.
    let web_family = format!("{name}-web");
    let described = emu
        .ecs
        .describe_task_definition()
        .task_definition(&web_family)
        .include(aws_sdk_ecs::types::TaskDefinitionField::Tags)
        .send()
        .await
        .unwrap();
    let web_def = described.task_definition().unwrap();
    assert_eq!(
        (web_def.cpu(), web_def.memory()),
        (Some("256"), Some("512"))
    );
    let web = &web_def.container_definitions()[0];
    assert_eq!(web.image(), Some(tests::SAMPLE_IMAGE));
    assert_eq!(web.port_mappings()[0].container_port(), Some(8080));
    assert_eq!(env_value(web, "APP_VERSION").as_deref(), Some("web-v1"));
    let check = web.health_check().unwrap();
    assert_eq!(check.command(), ["CMD", "/sample-app", "healthcheck"]);
    assert_eq!(
        (check.interval(), check.timeout(), check.retries()),
        (Some(5), Some(2), Some(3))
    );
    assert!(described
        .tags()
        .iter()
        .any(|t| t.key() == Some("compose-project") && t.value() == Some(name)));
    let backend_def = emu
        .ecs
        .describe_task_definition()
        .task_definition(format!("{name}-backend"))
        .send()
        .await
        .unwrap()
        .task_definition
        .unwrap();
    let backend = &backend_def.container_definitions()[0];
    assert_eq!(
        env_value(backend, "APP_VERSION").as_deref(),
        Some("backend-v1")
    );
    assert!(backend.port_mappings().is_empty());

    // Services with the replica counts, web behind the target group.
    let (web_service, backend_service) = (
        project_service(&emu, name, "web").await,
        project_service(&emu, name, "backend").await,
    );
    assert_eq!(
        (web_service.desired_count(), web_service.running_count()),
        (2, 2)
    );
    assert_eq!(
        (
            backend_service.desired_count(),
            backend_service.running_count()
        ),
        (1, 1)
    );
    assert_eq!(web_service.service_registries().len(), 1);
    assert_eq!(backend_service.service_registries().len(), 1);
    assert!(backend_service.load_balancers().is_empty());

    // The target group and the listener on the project's load balancer.
    let tg = emu
        .elbv2
        .describe_target_groups()
        .names(format!("{name}-web-80"))
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .clone();
    let tg_arn = tg.target_group_arn().unwrap().to_string();
    assert_eq!(tg.port(), Some(8080));
    assert_eq!(tg.target_type().map(|t| t.as_str()), Some("ip"));
    assert_eq!(tg.health_check_path(), Some("/"));
    assert_eq!(
        web_service.load_balancers()[0].target_group_arn(),
        Some(tg_arn.as_str())
    );
    let lb = emu
        .elbv2
        .describe_load_balancers()
        .names(name)
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let listeners = emu
        .elbv2
        .describe_listeners()
        .load_balancer_arn(&lb)
        .send()
        .await
        .unwrap()
        .listeners()
        .to_vec();
    assert_eq!(listeners.len(), 1);
    assert_eq!(listeners[0].port(), Some(80));
    assert_eq!(
        listeners[0].default_actions()[0].target_group_arn(),
        Some(tg_arn.as_str())
    );

    // Requests through the ALB spread over both web tasks.
    let url = format!("http://127.0.0.1:{port}/");
    let web_ips: std::collections::BTreeSet<String> = {
        let arns = emu
            .ecs
            .list_tasks()
            .cluster(name)
            .service_name("web")
            .desired_status(DesiredStatus::Running)
            .send()
            .await
            .unwrap()
            .task_arns()
            .to_vec();
        tests::ecs::describe(&emu.ecs, name, &arns)
            .await
            .iter()
            .map(tests::ecs::private_ip)
            .collect()
    };
    assert_eq!(web_ips.len(), 2);
    let spread = load::run(&url, 2, "ip", Arc::new(AtomicBool::new(false)), 40, WAIT).await;
    assert_eq!(spread.failures(), 0, "{spread:?}");
    let served: std::collections::BTreeSet<String> = spread.by_field.keys().cloned().collect();
    assert_eq!(served, web_ips, "{spread:?}");
    assert!(
        spread.by_field.values().all(|n| *n >= 10),
        "uneven: {spread:?}"
    );

    // Web reaches the backend by its bare compose name (the project's
    // namespace is the task's search domain) and by its Cloud Map name.
    for host in ["backend".to_string(), format!("backend.{name}")] {
        let call = format!("{url}call?url=http://{host}:8080/");
        let answer = wait_until(&format!("web reaches {host}"), WAIT, || async {
            match http_get(&call).await {
                Ok((200, body)) => Some(body),
                _ => None,
            }
        })
        .await;
        // sample-app's /call answers with the called task's status and body.
        let backend_answer: serde_json::Value = serde_json::from_str(&answer).unwrap();
        assert_eq!(backend_answer["version"], "backend-v1", "{host}");
    }

    // An edit rolls web alone, under load, without a failed request.
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("web-v1", "web-v2")).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let load = tokio::spawn({
        let (url, stop) = (url.clone(), stop.clone());
        async move { load::run(&url, 4, "version", stop, 1_000_000, WAIT * 2).await }
    });
    project.run(Action::Up).await;
    stop.store(true, Ordering::Relaxed);
    let under_load = load.await.unwrap();
    assert_eq!(under_load.failures(), 0, "{under_load:?}");
    assert!(
        under_load.by_field.get("web-v1").is_some_and(|n| *n > 0),
        "{under_load:?}"
    );
    let after = load::run(
        &url,
        2,
        "version",
        Arc::new(AtomicBool::new(false)),
        20,
        WAIT,
    )
    .await;
    assert_eq!(after.by_field.get("web-v2"), Some(&20), "{after:?}");
    assert_eq!(revision(&emu, name, "web").await, "2");
    assert_eq!(
        revision(&emu, name, "backend").await,
        "1",
        "an unchanged service is not rolled"
    );

    // Down: no container, no resource.
    project.run(Action::Down).await;
    wait_until("no container of the project", WAIT, || async {
        (tests::leftover_containers(&emu.instance).await == 0).then_some(())
    })
    .await;
    let gone = emu
        .ecs
        .describe_services()
        .cluster(name)
        .services("web")
        .services("backend")
        .send()
        .await;
    if let Ok(out) = gone {
        assert!(
            out.services()
                .iter()
                .all(|s| s.status() == Some("INACTIVE")),
            "{out:?}"
        );
    }
    let err = emu
        .elbv2
        .describe_target_groups()
        .names(format!("{name}-web-80"))
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("TargetGroupNotFound"));
    let err = emu
        .elbv2
        .describe_load_balancers()
        .names(name)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LoadBalancerNotFound"));
    let err = emu
        .elbv2
        .describe_listeners()
        .load_balancer_arn(&lb)
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("LoadBalancerNotFound"));
    let clusters = emu
        .ecs
        .describe_clusters()
        .clusters(name)
        .send()
        .await
        .unwrap();
    assert!(
        clusters
            .clusters()
            .iter()
            .all(|c| c.status() == Some("INACTIVE")),
        "{clusters:?}"
    );
    let active = emu
        .ecs
        .list_task_definitions()
        .family_prefix(format!("{name}-"))
        .send()
        .await
        .unwrap();
    assert!(active.task_definition_arns().is_empty(), "{active:?}");
    let namespaces = emu.cloud_map.list_namespaces().send().await.unwrap();
    assert!(namespaces
        .namespaces()
        .iter()
        .all(|n| n.name() != Some(name)));
    let logs = aws_sdk_cloudwatchlogs::Client::new(&tests::sdk_config(&emu.endpoint_url()).await);
    let groups = logs
        .describe_log_groups()
        .log_group_name_prefix(format!("/compose/{name}"))
        .send()
        .await
        .unwrap();
    assert!(groups.log_groups().is_empty(), "{groups:?}");

    std::fs::remove_dir_all(dir).unwrap();
    emu.shutdown().await;
}
