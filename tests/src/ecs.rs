//! ECS helpers shared by the tests.

use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, Compatibility, ContainerDefinition, KeyValuePair,
    LaunchType, NetworkConfiguration, NetworkMode, PortMapping, Task,
};

/// The sample-app container listening on 8080.
pub fn sample_container(name: &str) -> aws_sdk_ecs::types::builders::ContainerDefinitionBuilder {
    ContainerDefinition::builder()
        .name(name)
        .image(super::SAMPLE_IMAGE)
        .essential(true)
        .port_mappings(PortMapping::builder().container_port(8080).build())
}

/// A health check that runs `sample-app healthcheck PORT` inside the
/// container (every 5 s, 2 s timeout, 3 retries).
pub fn sample_health_check(port: u16) -> aws_sdk_ecs::types::HealthCheck {
    aws_sdk_ecs::types::HealthCheck::builder()
        .command("CMD")
        .command("/sample-app")
        .command("healthcheck")
        .command(port.to_string())
        .interval(5)
        .timeout(2)
        .retries(3)
        .build()
        .unwrap()
}

/// Runs one task of `family` in `default` and waits for RUNNING; its
/// ARN and private IP.
pub async fn run_one_running(client: &aws_sdk_ecs::Client, family: &str) -> (String, String) {
    use aws_sdk_ecs::client::Waiters;
    let arns = run(client, "default", family, 1).await;
    client
        .wait_until_tasks_running()
        .tasks(&arns[0])
        .wait(std::time::Duration::from_secs(60))
        .await
        .expect("the task reaches RUNNING");
    let ip = private_ip(&describe(client, "default", &arns).await[0]);
    (arns[0].clone(), ip)
}

/// `(task ARN, private IP)` of the service's tasks (default cluster)
/// that are RUNNING and meant to stay so.
pub async fn running_tasks(
    client: &aws_sdk_ecs::Client,
    service: &str,
) -> std::collections::BTreeSet<(String, String)> {
    let arns = client
        .list_tasks()
        .service_name(service)
        .desired_status(aws_sdk_ecs::types::DesiredStatus::Running)
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    if arns.is_empty() {
        return Default::default();
    }
    describe(client, "default", &arns)
        .await
        .iter()
        .filter(|t| t.last_status() == Some("RUNNING"))
        .map(|t| (t.task_arn().unwrap_or_default().to_string(), private_ip(t)))
        .collect()
}

/// DescribeServices for one service of the default cluster.
pub async fn describe_service(
    client: &aws_sdk_ecs::Client,
    service: &str,
) -> aws_sdk_ecs::types::Service {
    client
        .describe_services()
        .services(service)
        .send()
        .await
        .unwrap()
        .services()[0]
        .clone()
}

pub fn env(name: &str, value: &str) -> KeyValuePair {
    KeyValuePair::builder().name(name).value(value).build()
}

/// Registers a 256 CPU / 512 MiB Fargate task definition.
pub async fn register(
    client: &aws_sdk_ecs::Client,
    family: &str,
    containers: Vec<ContainerDefinition>,
) -> String {
    client
        .register_task_definition()
        .family(family)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .set_container_definitions(Some(containers))
        .send()
        .await
        .expect("register task definition")
        .task_definition
        .and_then(|d| d.task_definition_arn)
        .expect("task definition ARN")
}

pub fn network() -> NetworkConfiguration {
    NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets("subnet-12345678")
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()
                .expect("awsvpc configuration"),
        )
        .build()
}

/// CreateService for a Fargate service of `count` tasks of `family` in
/// `default`, on the default network; callers add what they test.
pub fn fargate_service(
    client: &aws_sdk_ecs::Client,
    service: &str,
    family: &str,
    count: i32,
) -> aws_sdk_ecs::operation::create_service::builders::CreateServiceFluentBuilder {
    client
        .create_service()
        .service_name(service)
        .task_definition(family)
        .desired_count(count)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
}

/// Waits (90 s at most) until the services of `default` are stable.
pub async fn wait_stable(client: &aws_sdk_ecs::Client, services: &[&str]) {
    use aws_sdk_ecs::client::Waiters;
    client
        .wait_until_services_stable()
        .set_services(Some(services.iter().map(|s| s.to_string()).collect()))
        .wait(std::time::Duration::from_secs(90))
        .await
        .expect("the services become stable");
}

/// A Fargate service of `count` tasks of `family` whose `app` container
/// (port 8080) is registered in `target_group_arn`; returns once stable.
pub async fn create_stable_service(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    service: &str,
    family: &str,
    target_group_arn: &str,
    count: i32,
) {
    use aws_sdk_ecs::client::Waiters;
    client
        .create_service()
        .cluster(cluster)
        .service_name(service)
        .task_definition(family)
        .desired_count(count)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .load_balancers(
            aws_sdk_ecs::types::LoadBalancer::builder()
                .target_group_arn(target_group_arn)
                .container_name("app")
                .container_port(8080)
                .build(),
        )
        .send()
        .await
        .expect("create service");
    client
        .wait_until_services_stable()
        .cluster(cluster)
        .services(service)
        .wait(std::time::Duration::from_secs(90))
        .await
        .expect("service becomes stable");
}

/// RunTask on Fargate; returns the task ARNs.
pub async fn run(
    client: &aws_sdk_ecs::Client,
    cluster: &str,
    task_definition: &str,
    count: i32,
) -> Vec<String> {
    let out = client
        .run_task()
        .cluster(cluster)
        .task_definition(task_definition)
        .count(count)
        .launch_type(LaunchType::Fargate)
        .network_configuration(network())
        .send()
        .await
        .expect("run task");
    assert!(out.failures().is_empty(), "failures: {:?}", out.failures());
    out.tasks()
        .iter()
        .filter_map(|t| t.task_arn.clone())
        .collect()
}

pub async fn describe(client: &aws_sdk_ecs::Client, cluster: &str, arns: &[String]) -> Vec<Task> {
    client
        .describe_tasks()
        .cluster(cluster)
        .set_tasks(Some(arns.to_vec()))
        .send()
        .await
        .expect("describe tasks")
        .tasks
        .unwrap_or_default()
}

/// The ENI's private IPv4 address from `attachments`.
pub fn private_ip(task: &Task) -> String {
    task.attachments()
        .iter()
        .flat_map(|a| a.details())
        .find(|d| d.name() == Some("privateIPv4Address"))
        .and_then(|d| d.value())
        .expect("task has a private IP")
        .to_string()
}
