use aws_sdk_ecs::types::LogDriver;

use super::*;
use crate::compose::{ecs_params, file};

/// The plan of a compose text (written to a temporary file and loaded),
/// with optional ecs-params text.
fn plan_of(compose: &str, params: Option<&str>) -> Result<Plan, String> {
    let dir = std::env::temp_dir().join(format!("compose-plan-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("docker-compose.yml");
    std::fs::write(&path, compose).unwrap();
    let project = file::load(&path, Some("shop"), &|_| None);
    std::fs::remove_dir_all(&dir).unwrap();
    let project = project.map_err(|e| e.to_string())?;
    let params = match params {
        Some(text) => ecs_params::parse(text)?.0,
        None => EcsParams::default(),
    };
    plan(&project, &params, "us-east-1")
}

fn service<'a>(plan: &'a Plan, name: &str) -> &'a ServicePlan {
    plan.service(name).unwrap()
}

const EXAMPLE: &str = "services:
  web:
    image: sample-app:latest
    environment:
      APP_VERSION: web-v1
    ports: [\"80:8080\"]
    depends_on:
      backend: {condition: service_healthy}
    deploy:
      replicas: 2
    healthcheck:
      test: [CMD, /sample-app, healthcheck]
      interval: 5s
      timeout: 2s
      retries: 3
  backend:
    image: sample-app:latest
    environment: [APP_VERSION=backend-v1]
    healthcheck:
      test: curl -f http://localhost:8080/health || exit 1
      interval: 1m30s
      start_period: 500ms
";

#[test]
fn each_service_is_a_family_a_service_and_its_published_ports_listeners() {
    let plan = plan_of(EXAMPLE, None).unwrap();
    assert_eq!(
        (plan.cluster.as_str(), plan.namespace.as_str()),
        ("shop", "shop")
    );
    assert_eq!(plan.load_balancer, "shop");
    assert_eq!(plan.log_group, "/compose/shop");
    // backend first: web depends on it.
    let names: Vec<&str> = plan.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["backend", "web"]);

    let web = service(&plan, "web");
    assert_eq!(web.task.family, "shop-web");
    assert_eq!((web.task.cpu, web.task.memory), (256, 512));
    assert_eq!(web.desired_count, 2);
    assert!(web.discovery);
    assert_eq!(
        web.depends_on,
        [("backend".to_string(), Condition::ServiceHealthy)]
    );
    let c = &web.task.container;
    assert_eq!(c.name(), Some("web"));
    assert_eq!(c.image(), Some("sample-app:latest"));
    assert_eq!(c.essential(), Some(true));
    assert_eq!(c.environment()[0].name(), Some("APP_VERSION"));
    assert_eq!(c.environment()[0].value(), Some("web-v1"));
    assert_eq!(c.port_mappings()[0].container_port(), Some(8080));
    assert_eq!(
        c.docker_labels().unwrap()["com.docker.compose.project"],
        "shop"
    );
    let logs = c.log_configuration().unwrap();
    assert_eq!(logs.log_driver(), &LogDriver::Awslogs);
    assert_eq!(logs.options().unwrap()["awslogs-group"], "/compose/shop");
    assert_eq!(
        web.listeners,
        [ListenerPlan {
            port: 80,
            container_port: 8080,
            target_group: "shop-web-80".into(),
            health_check_path: "/".into(),
            health_check_interval: 5,
            health_check_timeout: 2,
            healthy_threshold: 2,
        }]
    );
    let backend = service(&plan, "backend");
    assert!(backend.listeners.is_empty());
    assert_eq!(backend.desired_count, 1);
    assert!(plan.has_listeners());
}

#[test]
fn health_checks_map_to_ecs_with_its_bounds() {
    let plan = plan_of(EXAMPLE, None).unwrap();
    let web = service(&plan, "web").task.container.health_check().unwrap();
    assert_eq!(web.command(), ["CMD", "/sample-app", "healthcheck"]);
    assert_eq!(
        (
            web.interval(),
            web.timeout(),
            web.retries(),
            web.start_period()
        ),
        (Some(5), Some(2), Some(3), Some(0))
    );
    // A string test runs in the shell; 1m30s is 90 s; 500ms rounds up to 1 s.
    let backend = service(&plan, "backend")
        .task
        .container
        .health_check()
        .unwrap();
    assert_eq!(
        backend.command(),
        [
            "CMD-SHELL",
            "curl -f http://localhost:8080/health || exit 1"
        ]
    );
    assert_eq!(
        (backend.interval(), backend.start_period()),
        (Some(90), Some(1))
    );
    // Compose's 30 s default timeout is within ECS's 2-60.
    assert_eq!(backend.timeout(), Some(30));

    let plan = plan_of(
        "services:\n  a:\n    image: x\n    healthcheck:\n      test: [NONE]\n  b:\n    image: x\n    healthcheck:\n      test: [CMD, true]\n      disable: true\n  c:\n    image: x\n    healthcheck:\n      test: [CMD-SHELL, wget -q -O- 'http://127.0.0.1:3000/ready?deep=1']\n      interval: 1s\n      retries: 20\n    ports: [\"3000:3000\"]\n",
        None,
    )
    .unwrap();
    assert!(service(&plan, "a").task.container.health_check().is_none());
    assert!(service(&plan, "b").task.container.health_check().is_none());
    let c = service(&plan, "c");
    let check = c.task.container.health_check().unwrap();
    assert_eq!((check.interval(), check.retries()), (Some(5), Some(10)));
    assert!(plan
        .warnings
        .iter()
        .any(|w| w.contains("services.c.healthcheck.interval")));
    assert!(plan
        .warnings
        .iter()
        .any(|w| w.contains("services.c.healthcheck.retries")));
    // The HTTP check's path becomes the target group's.
    assert_eq!(c.listeners[0].health_check_path, "/ready?deep=1");
    assert_eq!(c.listeners[0].health_check_interval, 5);

    let err = plan_of(
        "services:\n  a:\n    image: x\n    healthcheck:\n      test: [curl, x]\n",
        None,
    )
    .unwrap_err();
    assert!(err.contains("services.a.healthcheck.test"), "{err}");
    let err = plan_of("services:\n  a:\n    image: x\n    healthcheck:\n      test: [CMD, x]\n      interval: often\n", None)
        .unwrap_err();
    assert!(err.contains("services.a.healthcheck.interval"), "{err}");
}

#[test]
fn cpu_and_memory_round_up_to_a_fargate_size() {
    assert_eq!(fargate_size(256, 512), Some((256, 512)));
    assert_eq!(fargate_size(100, 100), Some((256, 512)));
    assert_eq!(fargate_size(256, 600), Some((256, 1024)));
    assert_eq!(fargate_size(256, 3000), Some((512, 3072)));
    assert_eq!(fargate_size(600, 512), Some((1024, 2048)));
    assert_eq!(fargate_size(1024, 9000), Some((2048, 9216)));
    assert_eq!(fargate_size(4096, 31 * 1024), Some((8192, 32 * 1024)));
    assert_eq!(fargate_size(16384, 121 * 1024), None);
    assert_eq!(cpu_units("0.5").unwrap(), 512);
    assert_eq!(cpu_units("0.3").unwrap(), 308);
    assert!(cpu_units("-1").is_err());
    assert_eq!(mebibytes("512M").unwrap(), 512);
    assert_eq!(mebibytes("1g").unwrap(), 1024);
    assert_eq!(mebibytes("1.5GB").unwrap(), 1536);
    assert_eq!(mebibytes("268435456").unwrap(), 256);
    assert_eq!(mebibytes("100k").unwrap(), 1);
    assert!(mebibytes("lots").is_err());
    assert_eq!(seconds("1m30s").unwrap(), 90);
    assert_eq!(seconds("250ms").unwrap(), 1);

    let plan = plan_of(
        "services:\n  a:\n    image: x\n    deploy:\n      resources:\n        limits: {cpus: \"0.75\", memory: 1500M}\n",
        None,
    )
    .unwrap();
    let a = service(&plan, "a");
    assert_eq!((a.task.cpu, a.task.memory), (1024, 2048));
    assert!(plan
        .warnings
        .iter()
        .any(|w| w.contains("rounded up to the Fargate size 1024 CPU, 2048 MiB")));
    // ecs-params' task size wins, with a warning for the limits it overrides.
    let plan = plan_of(
        "services:\n  a:\n    image: x\n    deploy:\n      resources:\n        limits: {cpus: \"4\"}\n",
        Some("task_definition:\n  task_size:\n    cpu_limit: 512\n    mem_limit: 1GB\n"),
    )
    .unwrap();
    let a = service(&plan, "a");
    assert_eq!((a.task.cpu, a.task.memory), (512, 1024));
    assert!(plan
        .warnings
        .iter()
        .any(|w| w.contains("services.a.deploy.resources.limits is ignored")));
    let err = plan_of(
        "services:\n  a:\n    image: x\n    deploy:\n      resources:\n        limits: {memory: 500g}\n",
        None,
    )
    .unwrap_err();
    assert!(err.contains("largest Fargate task"), "{err}");
}

#[test]
fn ecs_params_set_roles_network_and_secrets() {
    let plan = plan_of(
        "services:\n  a:\n    image: x\n",
        Some(
            "task_definition:\n  task_role_arn: arn:aws:iam::000000000000:role/app\n  task_execution_role: arn:aws:iam::000000000000:role/exec\n  services:\n    a:\n      secrets:\n        - {value_from: /shop/token, name: TOKEN}\n    ghost: {}\nrun_params:\n  network_configuration:\n    awsvpc_configuration:\n      subnets: [subnet-1]\n      security_groups: [sg-1]\n      assign_public_ip: ENABLED\n",
        ),
    )
    .unwrap();
    let a = service(&plan, "a");
    assert_eq!(
        a.task.task_role_arn.as_deref(),
        Some("arn:aws:iam::000000000000:role/app")
    );
    assert_eq!(
        a.task.execution_role_arn.as_deref(),
        Some("arn:aws:iam::000000000000:role/exec")
    );
    assert_eq!(a.task.container.secrets()[0].value_from(), "/shop/token");
    assert_eq!(
        plan.network,
        NetworkPlan {
            subnets: vec!["subnet-1".into()],
            security_groups: vec!["sg-1".into()],
            assign_public_ip: true,
        }
    );
    assert!(plan.warnings.iter().any(|w| w.contains("services.ghost")));
    let err = plan_of(
        "services:\n  a:\n    image: x\n",
        Some("task_definition:\n  services:\n    a:\n      secrets: [{value_from: /x, name: X}]\n"),
    )
    .unwrap_err();
    assert!(err.contains("task_execution_role"), "{err}");
}

#[test]
fn build_without_image_is_an_error_that_says_to_build_locally() {
    let err = plan_of("services:\n  web:\n    build: .\n", None).unwrap_err();
    assert!(
        err.contains("services.web") && err.contains("docker build"),
        "{err}"
    );
    let plan = plan_of("services:\n  web:\n    build: .\n    image: mine:1\n", None).unwrap();
    assert!(plan
        .warnings
        .iter()
        .any(|w| w.contains("services.web.build is ignored")));
    let err = plan_of("services:\n  web:\n    command: x\n", None).unwrap_err();
    assert!(err.contains("image is missing"), "{err}");
}

#[test]
fn fields_without_ecs_meaning_are_warned_never_dropped_silently() {
    let plan = plan_of(
        "services:\n  web:\n    image: x\n    privileged: true\n    network_mode: host\n    cap_add: [NET_ADMIN, SYS_PTRACE]\n    logging: {driver: json-file}\n    volumes: [./src:/src, cache:/cache]\n    ports: [\"53:53/udp\"]\n    deploy: {mode: global}\n    stop_grace_period: 5m\nvolumes:\n  cache: {driver: local}\nnetworks:\n  front: {}\n  back: {driver: overlay}\n",
        None,
    )
    .unwrap();
    let warned = |text: &str| plan.warnings.iter().any(|w| w.contains(text));
    for text in [
        "services.web.privileged is ignored",
        "services.web.network_mode is ignored",
        "services.web.cap_add NET_ADMIN is ignored",
        "services.web.logging.driver json-file is ignored",
        "services.web.volumes[0] (bind ./src) is ignored",
        "services.web.ports[0]: 53/udp gets no listener",
        "services.web.deploy.mode global is ignored",
        "services.web.stop_grace_period 5m is cut to 120s",
        "volumes.cache: driver and external are ignored",
        "networks.back: driver",
        "networks: back, front all map onto one VPC",
    ] {
        assert!(warned(text), "no warning {text:?} in {:#?}", plan.warnings);
    }
    let c = &service(&plan, "web").task.container;
    assert_eq!(
        c.linux_parameters().unwrap().capabilities().unwrap().add(),
        ["SYS_PTRACE"]
    );
    assert_eq!(c.stop_timeout(), Some(120));
    assert_eq!(c.mount_points().len(), 1);
    assert_eq!(service(&plan, "web").task.volumes[0].name(), Some("cache"));
}

#[test]
fn dependency_errors_and_duplicate_ports_are_refused() {
    let err = plan_of(
        "services:\n  a:\n    image: x\n    depends_on: [ghost]\n",
        None,
    )
    .unwrap_err();
    assert!(
        err.contains("services.a.depends_on") && err.contains("ghost"),
        "{err}"
    );
    let err = plan_of(
        "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: x\n    depends_on: [a]\n",
        None,
    )
    .unwrap_err();
    assert!(err.contains("cycle"), "{err}");
    let err = plan_of(
        "services:\n  a:\n    image: x\n    ports: [\"80:8080\"]\n  b:\n    image: x\n    ports: [\"80:9090\"]\n",
        None,
    )
    .unwrap_err();
    assert!(err.contains("port 80 is published by a too"), "{err}");
    let err = plan_of(
        "services:\n  a:\n    image: x\n    volumes: [nowhere:/data]\n",
        None,
    )
    .unwrap_err();
    assert!(err.contains("nowhere is not declared"), "{err}");
}

#[test]
fn long_names_are_shortened_stably_for_elbv2() {
    let name = aws_name(
        &["a-very-long-project-name", "and-a-long-service", "8080"],
        32,
    );
    assert_eq!(name.len(), 32);
    assert_eq!(
        name,
        aws_name(
            &["a-very-long-project-name", "and-a-long-service", "8080"],
            32
        )
    );
    assert_ne!(
        name,
        aws_name(
            &["a-very-long-project-name", "and-a-long-service", "8081"],
            32
        )
    );
    assert_eq!(aws_name(&["my_app", "web", "80"], 32), "my-app-web-80");
}

#[test]
fn differences_name_the_changed_fields_only() {
    let plan = plan_of(EXAMPLE, None).unwrap();
    let spec = &service(&plan, "web").task;
    let registered = |container: ContainerDefinition| {
        aws_sdk_ecs::types::TaskDefinition::builder()
            .cpu(spec.cpu.to_string())
            .memory(spec.memory.to_string())
            .container_definitions(container)
            .build()
    };
    // As ECS echoes it: hostPort filled in, the same values.
    let mut echoed = spec.container.clone();
    echoed.port_mappings = Some(vec![PortMapping::builder()
        .container_port(8080)
        .host_port(8080)
        .protocol(TransportProtocol::Tcp)
        .build()]);
    assert!(differences(spec, &registered(echoed.clone())).is_empty());
    let mut edited = echoed.clone();
    edited.environment = Some(vec![KeyValuePair::builder()
        .name("APP_VERSION")
        .value("web-v2")
        .build()]);
    assert_eq!(differences(spec, &registered(edited)), ["environment"]);
    let mut edited = echoed;
    edited.image = Some("sample-app:old".into());
    assert_eq!(differences(spec, &registered(edited)), ["image"]);
}
