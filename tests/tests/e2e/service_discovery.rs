//! ECS `serviceRegistries` end to end: a service's running tasks are Cloud
//! Map instances, and their name resolves inside another task of the VPC.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_ecs::types::{LaunchType, ServiceRegistry};
use aws_sdk_servicediscovery::types::{DnsConfig, DnsRecord, OperationTargetType, RecordType};
use tests::{ecs, http_get, unique, wait_until, TestEmulator};

const WAIT: Duration = Duration::from_secs(90);

/// The id of the default VPC, where tasks run by default.
async fn default_vpc(emu: &TestEmulator) -> String {
    let ec2 = aws_sdk_ec2::Client::new(&tests::sdk_config(&emu.endpoint_url()).await);
    ec2.describe_vpcs()
        .send()
        .await
        .unwrap()
        .vpcs()
        .iter()
        .find(|v| v.is_default() == Some(true))
        .and_then(|v| v.vpc_id())
        .expect("a default VPC")
        .to_string()
}

/// A private DNS namespace `NAME` in the default VPC and a service
/// `backend` in it with records of `types`; the service's ARN.
async fn backend_registry(emu: &TestEmulator, namespace: &str, types: &[RecordType]) -> String {
    let cloud_map = &emu.cloud_map;
    let operation = cloud_map
        .create_private_dns_namespace()
        .name(namespace)
        .vpc(default_vpc(emu).await)
        .send()
        .await
        .unwrap()
        .operation_id
        .unwrap();
    let namespace_id = cloud_map
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
    let records = types
        .iter()
        .map(|t| {
            DnsRecord::builder()
                .r#type(t.clone())
                .ttl(10)
                .build()
                .unwrap()
        })
        .collect();
    cloud_map
        .create_service()
        .name("backend")
        .namespace_id(namespace_id)
        .dns_config(
            DnsConfig::builder()
                .set_dns_records(Some(records))
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap()
        .service
        .unwrap()
        .arn
        .unwrap()
}

/// The IPs registered in the Cloud Map service.
async fn registered_ips(emu: &TestEmulator, registry: &str) -> BTreeSet<String> {
    let id = registry.rsplit('/').next().unwrap();
    emu.cloud_map
        .list_instances()
        .service_id(id)
        .send()
        .await
        .unwrap()
        .instances
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| i.attributes?.get("AWS_INSTANCE_IPV4").cloned())
        .collect()
}

/// The IPs of the service's RUNNING tasks.
async fn task_ips(emu: &TestEmulator, service: &str) -> BTreeSet<String> {
    ecs::running_tasks(&emu.ecs, service)
        .await
        .into_iter()
        .map(|(_, ip)| ip)
        .collect()
}

/// What `name` resolves to inside the task at `ip`.
async fn resolved_in(ip: &str, name: &str) -> BTreeSet<String> {
    match http_get(&format!("http://{ip}:8080/resolve?name={name}")).await {
        Ok((200, body)) => {
            let v: serde_json::Value = serde_json::from_str(&body).unwrap();
            v["addresses"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect()
        }
        _ => BTreeSet::new(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_services_tasks_are_cloud_map_instances_whose_name_resolves_in_the_vpc() {
    let emu = TestEmulator::start().await;
    let namespace = format!("{}.internal", unique("ns"));
    let registry = backend_registry(&emu, &namespace, &[RecordType::A]).await;
    let (service, family) = (unique("backend"), unique("backend"));
    ecs::register(
        &emu.ecs,
        &family,
        vec![ecs::sample_container("app").build()],
    )
    .await;
    ecs::fargate_service(&emu.ecs, &service, &family, 2)
        .service_registries(ServiceRegistry::builder().registry_arn(&registry).build())
        .send()
        .await
        .unwrap();
    ecs::wait_stable(&emu.ecs, &[&service]).await;

    let running = task_ips(&emu, &service).await;
    assert_eq!(running.len(), 2);
    let registered = wait_until("both tasks are instances", WAIT, || async {
        let ips = registered_ips(&emu, &registry).await;
        (ips == running).then_some(ips)
    })
    .await;
    let described = ecs::describe_service(&emu.ecs, &service).await;
    assert_eq!(
        described.service_registries()[0].registry_arn(),
        Some(registry.as_str())
    );

    // Another task of the VPC resolves the name to both tasks.
    let client = unique("client");
    ecs::register(
        &emu.ecs,
        &client,
        vec![ecs::sample_container("app").build()],
    )
    .await;
    let (_, client_ip) = ecs::run_one_running(&emu.ecs, &client).await;
    let name = format!("backend.{namespace}");
    wait_until("the name resolves to both tasks", WAIT, || async {
        (resolved_in(&client_ip, &name).await == registered).then_some(())
    })
    .await;

    // Scaling in deregisters the stopped task and takes it out of DNS.
    emu.ecs
        .update_service()
        .service(&service)
        .desired_count(1)
        .send()
        .await
        .unwrap();
    let left = wait_until("one instance is left", WAIT, || async {
        let ips = registered_ips(&emu, &registry).await;
        (ips.len() == 1).then_some(ips)
    })
    .await;
    assert!(left.is_subset(&running));
    wait_until("the name resolves to the one task left", WAIT, || async {
        (resolved_in(&client_ip, &name).await == left).then_some(())
    })
    .await;
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registry_that_does_not_exist_is_refused() {
    let emu = TestEmulator::start().await;
    let family = unique("nowhere");
    ecs::register(
        &emu.ecs,
        &family,
        vec![ecs::sample_container("app").build()],
    )
    .await;
    let err = emu
        .ecs
        .create_service()
        .service_name(unique("nowhere"))
        .task_definition(&family)
        .desired_count(1)
        .launch_type(LaunchType::Fargate)
        .network_configuration(ecs::network())
        .service_registries(
            ServiceRegistry::builder()
                .registry_arn(
                    "arn:aws:servicediscovery:us-east-1:000000000000:service/srv-0000000000000000",
                )
                .build(),
        )
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    assert!(err.is_invalid_parameter_exception(), "{err:?}");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn srv_records_name_each_task_and_its_port_inside_the_vpc() {
    let emu = TestEmulator::start().await;
    let namespace = format!("{}.internal", unique("srv"));
    let registry = backend_registry(&emu, &namespace, &[RecordType::Srv, RecordType::A]).await;
    let (service, family) = (unique("backend"), unique("backend"));
    ecs::register(
        &emu.ecs,
        &family,
        vec![ecs::sample_container("app").build()],
    )
    .await;
    ecs::fargate_service(&emu.ecs, &service, &family, 2)
        .service_registries(
            ServiceRegistry::builder()
                .registry_arn(&registry)
                .container_name("app")
                .container_port(8080)
                .build(),
        )
        .send()
        .await
        .unwrap();
    ecs::wait_stable(&emu.ecs, &[&service]).await;
    let tasks = ecs::running_tasks(&emu.ecs, &service).await;
    assert_eq!(tasks.len(), 2);
    // `1 1 PORT TASKID.backend.NAMESPACE.` for each task, as Cloud Map
    // writes them.
    let expected: BTreeSet<String> = tasks
        .iter()
        .map(|(arn, _)| {
            let id = arn.rsplit('/').next().unwrap();
            format!("1 1 8080 {id}.backend.{namespace}.")
        })
        .collect();

    let client = unique("client");
    ecs::register(
        &emu.ecs,
        &client,
        vec![ecs::sample_container("app").build()],
    )
    .await;
    let (_, client_ip) = ecs::run_one_running(&emu.ecs, &client).await;
    let name = format!("backend.{namespace}");
    wait_until("the SRV records name both tasks", WAIT, || async {
        let url = format!("http://{client_ip}:8080/resolve?name={name}&type=SRV");
        let (status, body) = http_get(&url).await.ok()?;
        if status != 200 {
            return None;
        }
        let v: serde_json::Value = serde_json::from_str(&body).ok()?;
        let found: BTreeSet<String> = v["records"]
            .as_array()?
            .iter()
            .map(|r| {
                format!(
                    "{} {} {} {}",
                    r["priority"],
                    r["weight"],
                    r["port"],
                    r["target"].as_str().unwrap_or("")
                )
            })
            .collect();
        (found == expected).then_some(())
    })
    .await;
    // Each SRV target resolves to its task's address.
    for (arn, ip) in &tasks {
        let id = arn.rsplit('/').next().unwrap();
        let target = format!("{id}.backend.{namespace}");
        assert_eq!(
            resolved_in(&client_ip, &target).await,
            BTreeSet::from([ip.clone()]),
            "{target}"
        );
    }
    // A name of the namespace that Cloud Map does not hold does not exist.
    assert!(resolved_in(&client_ip, &format!("nope.{namespace}"))
        .await
        .is_empty());
    emu.shutdown().await;
}
