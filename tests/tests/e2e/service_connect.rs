//! ECS Service Connect end to end: a client alias resolves inside another
//! service's task and is balanced over the serving service's tasks, per
//! request (`appProtocol: http`) and per connection (TCP).

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_ecs::types::{
    ApplicationProtocol, ContainerDefinition, LaunchType, PortMapping, ServiceConnectClientAlias,
    ServiceConnectConfiguration, ServiceConnectService,
};
use aws_sdk_servicediscovery::types::OperationTargetType;
use tests::{ecs, http_get, unique, wait_until, TestEmulator, SAMPLE_IMAGE};

const WAIT: Duration = Duration::from_secs(90);
/// Calls through an alias; enough that each of two tasks answers.
const CALLS: usize = 12;

/// An HTTP namespace; its name and ARN.
async fn namespace(emu: &TestEmulator) -> (String, String) {
    let name = unique("sc");
    let operation = emu
        .cloud_map
        .create_http_namespace()
        .name(&name)
        .send()
        .await
        .unwrap()
        .operation_id
        .unwrap();
    let id = emu
        .cloud_map
        .get_operation()
        .operation_id(operation)
        .send()
        .await
        .unwrap()
        .operation
        .unwrap()
        .targets
        .unwrap()[&OperationTargetType::Namespace]
        .clone();
    let arn = emu
        .cloud_map
        .get_namespace()
        .id(id)
        .send()
        .await
        .unwrap()
        .namespace
        .unwrap()
        .arn
        .unwrap();
    (name, arn)
}

/// sample-app with port 8080 named twice: `api` (HTTP) and `raw` (TCP).
fn backend_container() -> ContainerDefinition {
    ContainerDefinition::builder()
        .name("app")
        .image(SAMPLE_IMAGE)
        .essential(true)
        .port_mappings(
            PortMapping::builder()
                .container_port(8080)
                .name("api")
                .app_protocol(ApplicationProtocol::Http)
                .build(),
        )
        .port_mappings(
            PortMapping::builder()
                .container_port(8080)
                .name("raw")
                .build(),
        )
        .build()
}

fn offered(port_name: &str, dns_name: &str, port: i32) -> ServiceConnectService {
    ServiceConnectService::builder()
        .port_name(port_name)
        .client_aliases(
            ServiceConnectClientAlias::builder()
                .port(port)
                .dns_name(dns_name)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// The IPs that answered `calls` GETs of `url` made from inside the task
/// at `client_ip`; `None` if any call failed.
async fn answered_through(client_ip: &str, url: &str, calls: usize) -> Option<BTreeSet<String>> {
    let mut ips = BTreeSet::new();
    for _ in 0..calls {
        let (status, body) = http_get(&format!("http://{client_ip}:8080/call?url={url}"))
            .await
            .ok()?;
        if status != 200 {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        ips.insert(v["ip"].as_str()?.to_string());
    }
    Some(ips)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_alias_is_balanced_over_the_serving_tasks() {
    let emu = TestEmulator::start().await;
    let (namespace_name, namespace_arn) = namespace(&emu).await;
    let (backend, backend_family) = (unique("backend"), unique("backend"));
    ecs::register(&emu.ecs, &backend_family, vec![backend_container()]).await;
    let backend_alias = unique("backend");
    let tcp_alias = format!("{backend_alias}-tcp.{namespace_name}");
    ecs::fargate_service(&emu.ecs, &backend, &backend_family, 2)
        .service_connect_configuration(
            ServiceConnectConfiguration::builder()
                .enabled(true)
                .namespace(&namespace_name)
                .services(offered("api", &backend_alias, 80))
                .services(offered("raw", &tcp_alias, 9000))
                .build(),
        )
        .send()
        .await
        .unwrap();

    let (client, client_family) = (unique("client"), unique("client"));
    ecs::register(
        &emu.ecs,
        &client_family,
        vec![ecs::sample_container("app").build()],
    )
    .await;
    ecs::fargate_service(&emu.ecs, &client, &client_family, 1)
        .service_connect_configuration(
            ServiceConnectConfiguration::builder()
                .enabled(true)
                .namespace(&namespace_arn)
                .build(),
        )
        .send()
        .await
        .unwrap();
    ecs::wait_stable(&emu.ecs, &[&backend, &client]).await;

    // DescribeServices shows the configuration on the deployment, with
    // the namespace's ARN and the Cloud Map service of each discovery name.
    let described = ecs::describe_service(&emu.ecs, &backend).await;
    let deployment = &described.deployments()[0];
    let config = deployment
        .service_connect_configuration()
        .expect("the deployment carries the configuration");
    assert_eq!(config.namespace(), Some(namespace_arn.as_str()));
    assert_eq!(
        config.services()[0].client_aliases()[0].dns_name(),
        Some(backend_alias.as_str())
    );
    let resources: Vec<(&str, &str)> = deployment
        .service_connect_resources()
        .iter()
        .map(|r| (r.discovery_name().unwrap(), r.discovery_arn().unwrap()))
        .collect();
    assert_eq!(
        resources.iter().map(|r| r.0).collect::<Vec<_>>(),
        ["api", "raw"]
    );

    let backend_ips: BTreeSet<String> = ecs::running_tasks(&emu.ecs, &backend)
        .await
        .into_iter()
        .map(|(_, ip)| ip)
        .collect();
    assert_eq!(backend_ips.len(), 2);
    // The backend's tasks are instances of its discovery names.
    let api_service = resources[0].1.rsplit('/').next().unwrap();
    let instances = wait_until("both tasks are instances of `api`", WAIT, || async {
        let listed = emu
            .cloud_map
            .list_instances()
            .service_id(api_service)
            .send()
            .await
            .ok()?;
        let ips: BTreeSet<String> = listed
            .instances()
            .iter()
            .filter_map(|i| i.attributes()?.get("AWS_INSTANCE_IPV4").cloned())
            .collect();
        (ips == backend_ips).then_some(ips)
    })
    .await;
    assert_eq!(instances.len(), 2);

    let (_, client_ip) = ecs::running_tasks(&emu.ecs, &client)
        .await
        .into_iter()
        .next()
        .expect("the client task runs");
    // Per request over HTTP, per connection over TCP: every call is a new
    // connection, so both spread over both tasks.
    for url in [
        format!("http://{backend_alias}/"),
        format!("http://{tcp_alias}:9000/"),
    ] {
        let answered = answered_through(&client_ip, &url, CALLS)
            .await
            .unwrap_or_else(|| panic!("every call to {url} from the client task is answered"));
        assert_eq!(answered, backend_ips, "{url} reaches both backend tasks");
    }

    // Scaled in, the alias reaches the one task left.
    emu.ecs
        .update_service()
        .service(&backend)
        .desired_count(1)
        .send()
        .await
        .unwrap();
    let left = wait_until("one backend task is left", WAIT, || async {
        let left = ecs::running_tasks(&emu.ecs, &backend).await;
        (left.len() == 1).then_some(left.into_iter().next().unwrap().1)
    })
    .await;
    wait_until("the alias reaches only the task left", WAIT, || async {
        let answered =
            answered_through(&client_ip, &format!("http://{backend_alias}/"), CALLS).await?;
        (answered == BTreeSet::from([left.clone()])).then_some(())
    })
    .await;
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_namespace_or_port_name_is_refused() {
    let emu = TestEmulator::start().await;
    let (namespace_name, _) = namespace(&emu).await;
    let family = unique("refused");
    ecs::register(&emu.ecs, &family, vec![backend_container()]).await;
    let create = |namespace: String, port_name: &str| {
        emu.ecs
            .create_service()
            .service_name(unique("refused"))
            .task_definition(&family)
            .desired_count(0)
            .launch_type(LaunchType::Fargate)
            .network_configuration(ecs::network())
            .service_connect_configuration(
                ServiceConnectConfiguration::builder()
                    .enabled(true)
                    .namespace(namespace)
                    .services(offered(port_name, "alias", 80))
                    .build(),
            )
            .send()
    };
    let err = create(unique("nowhere"), "api").await.unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_namespace_not_found_exception(), "{err:?}");
    let err = create(namespace_name, "nope").await.unwrap_err();
    let err = err.into_service_error();
    assert!(err.is_invalid_parameter_exception(), "{err:?}");
    assert!(err.to_string().contains("nope") || format!("{err:?}").contains("nope"));
    emu.shutdown().await;
}
