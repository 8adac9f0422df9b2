//! The calls an unchanged Terraform apply of an ECS-Fargate service behind
//! an ALB makes, in its order, through the official SDK crates: a VPC with
//! two subnets and a security group, IAM roles, a secret and a parameter, a
//! log group with retention, a cluster with capacity providers, a task
//! definition with secrets and roles, an ALB in the VPC's subnets, and a
//! service with a capacity-provider strategy that becomes stable.

use std::net::Ipv4Addr;
use std::time::Duration;

use aws_sdk_ec2::types::{Filter, IpPermission, IpRange};
use aws_sdk_ecs::types::{
    AssignPublicIp, AwsVpcConfiguration, CapacityProviderStrategyItem, Compatibility, LoadBalancer,
    LogConfiguration, LogDriver, NetworkConfiguration, NetworkMode, Secret,
};
use aws_sdk_elasticloadbalancingv2::types::{Action, ActionTypeEnum, ProtocolEnum, TargetTypeEnum};
use tests::{ecs, unique, wait_until, TestEmulator};

const TRUST_POLICY: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

fn strategy(name: &str, weight: i32, base: i32) -> CapacityProviderStrategyItem {
    CapacityProviderStrategyItem::builder()
        .capacity_provider(name)
        .weight(weight)
        .base(base)
        .build()
        .unwrap()
}

/// A /16 in 10.128-249.0.0 that no other test of this run is likely to
/// take: Docker refuses overlapping networks on one engine.
fn vpc_cidr() -> (String, u8) {
    let second = 128 + (uuid::Uuid::new_v4().as_bytes()[0] % 122);
    (format!("10.{second}.0.0/16"), second)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terraform_ecs_fargate_alb_apply_runs_end_to_end() {
    let emu = TestEmulator::start().await;
    let sdk = tests::sdk_config(&emu.endpoint_url()).await;
    let ec2 = aws_sdk_ec2::Client::new(&sdk);
    let iam = aws_sdk_iam::Client::new(&sdk);
    let sts = aws_sdk_sts::Client::new(&sdk);
    let ssm = aws_sdk_ssm::Client::new(&sdk);
    let sm = aws_sdk_secretsmanager::Client::new(&sdk);
    let logs = aws_sdk_cloudwatchlogs::Client::new(&sdk);
    let name = unique("tf");

    // The provider's first call.
    let me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some("000000000000"));

    // Network.
    let (cidr, second) = vpc_cidr();
    let vpc = ec2.create_vpc().cidr_block(&cidr).send().await.unwrap();
    let vpc_id = vpc.vpc().unwrap().vpc_id().unwrap().to_string();
    let mut subnets = vec![];
    for (i, az) in ["us-east-1a", "us-east-1b"].iter().enumerate() {
        let subnet = ec2
            .create_subnet()
            .vpc_id(&vpc_id)
            .cidr_block(format!("10.{second}.{}.0/24", i + 1))
            .availability_zone(*az)
            .send()
            .await
            .unwrap();
        let subnet = subnet.subnet().unwrap();
        subnets.push((
            subnet.subnet_id().unwrap().to_string(),
            subnet
                .cidr_block()
                .unwrap()
                .parse::<ipnet::Ipv4Net>()
                .unwrap(),
        ));
    }
    let sg = ec2
        .create_security_group()
        .group_name(&name)
        .description("web tasks")
        .vpc_id(&vpc_id)
        .send()
        .await
        .unwrap()
        .group_id()
        .unwrap()
        .to_string();
    ec2.authorize_security_group_ingress()
        .group_id(&sg)
        .ip_permissions(
            IpPermission::builder()
                .ip_protocol("tcp")
                .from_port(8080)
                .to_port(8080)
                .ip_ranges(IpRange::builder().cidr_ip(&cidr).build())
                .build(),
        )
        .send()
        .await
        .unwrap();

    // Roles.
    let execution_role = iam
        .create_role()
        .role_name(format!("{name}-exec"))
        .assume_role_policy_document(TRUST_POLICY)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_string();
    iam.attach_role_policy()
        .role_name(format!("{name}-exec"))
        .policy_arn("arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy")
        .send()
        .await
        .unwrap();
    let task_role = iam
        .create_role()
        .role_name(format!("{name}-task"))
        .assume_role_policy_document(TRUST_POLICY)
        .send()
        .await
        .unwrap()
        .role()
        .unwrap()
        .arn()
        .to_string();

    // A secret and a parameter; a log group with retention.
    let secret_arn = sm
        .create_secret()
        .name(format!("{name}/db"))
        .secret_string(r#"{"password":"pw-1"}"#)
        .send()
        .await
        .unwrap()
        .arn()
        .unwrap()
        .to_string();
    let parameter = format!("/{name}/greeting");
    ssm.put_parameter()
        .name(&parameter)
        .value("hello")
        .r#type(aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let log_group = format!("/ecs/{name}");
    logs.create_log_group()
        .log_group_name(&log_group)
        .send()
        .await
        .unwrap();
    logs.put_retention_policy()
        .log_group_name(&log_group)
        .retention_in_days(7)
        .send()
        .await
        .unwrap();

    // Cluster and task definition.
    emu.ecs
        .create_cluster()
        .cluster_name(&name)
        .send()
        .await
        .unwrap();
    emu.ecs
        .put_cluster_capacity_providers()
        .cluster(&name)
        .capacity_providers("FARGATE")
        .capacity_providers("FARGATE_SPOT")
        .default_capacity_provider_strategy(strategy("FARGATE", 1, 0))
        .send()
        .await
        .unwrap();
    let td = emu
        .ecs
        .register_task_definition()
        .family(&name)
        .network_mode(NetworkMode::Awsvpc)
        .requires_compatibilities(Compatibility::Fargate)
        .cpu("256")
        .memory("512")
        .execution_role_arn(&execution_role)
        .task_role_arn(&task_role)
        .container_definitions(
            ecs::sample_container("app")
                .secrets(
                    Secret::builder()
                        .name("DB_PASSWORD")
                        .value_from(format!("{secret_arn}:password::"))
                        .build()
                        .unwrap(),
                )
                .secrets(
                    Secret::builder()
                        .name("GREETING")
                        .value_from(&parameter)
                        .build()
                        .unwrap(),
                )
                .log_configuration(
                    LogConfiguration::builder()
                        .log_driver(LogDriver::Awslogs)
                        .options("awslogs-group", &log_group)
                        .options("awslogs-region", "us-east-1")
                        .options("awslogs-stream-prefix", "web")
                        .build()
                        .unwrap(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap()
        .task_definition
        .and_then(|d| d.task_definition_arn)
        .unwrap();

    // The ALB in the VPC's subnets.
    let lb = emu
        .elbv2
        .create_load_balancer()
        .name(&name)
        .subnets(&subnets[0].0)
        .subnets(&subnets[1].0)
        .security_groups(&sg)
        .send()
        .await
        .unwrap();
    let lb = &lb.load_balancers()[0];
    assert_eq!(lb.vpc_id(), Some(vpc_id.as_str()));
    let zones: Vec<_> = lb
        .availability_zones()
        .iter()
        .map(|z| (z.zone_name().unwrap(), z.subnet_id().unwrap()))
        .collect();
    assert_eq!(
        zones,
        [
            ("us-east-1a", subnets[0].0.as_str()),
            ("us-east-1b", subnets[1].0.as_str())
        ]
    );
    let lb_arn = lb.load_balancer_arn().unwrap();
    let set = emu
        .elbv2
        .set_security_groups()
        .load_balancer_arn(lb_arn)
        .security_groups(&sg)
        .send()
        .await
        .unwrap();
    assert_eq!(set.security_group_ids(), std::slice::from_ref(&sg));
    let foreign = emu
        .elbv2
        .set_security_groups()
        .load_balancer_arn(lb_arn)
        .security_groups("sg-0123456789abcdef0")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata::code(&foreign),
        Some("InvalidSecurityGroup")
    );
    let moved = emu
        .elbv2
        .set_subnets()
        .load_balancer_arn(lb_arn)
        .subnets(&subnets[1].0)
        .subnets(&subnets[0].0)
        .send()
        .await
        .unwrap();
    let zones: Vec<_> = moved
        .availability_zones()
        .iter()
        .filter_map(|z| z.zone_name())
        .collect();
    assert_eq!(zones, ["us-east-1b", "us-east-1a"]);
    let other_vpc = emu
        .elbv2
        .set_subnets()
        .load_balancer_arn(lb_arn)
        .subnets("subnet-a")
        .subnets("subnet-b")
        .send()
        .await
        .unwrap_err();
    assert_eq!(
        aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata::code(&other_vpc),
        Some("InvalidConfigurationRequest")
    );
    let limits = emu.elbv2.describe_account_limits().send().await.unwrap();
    assert!(limits
        .limits()
        .iter()
        .any(|l| l.name() == Some("application-load-balancers")));
    let tg = emu
        .elbv2
        .create_target_group()
        .name(&name)
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .vpc_id(&vpc_id)
        .target_type(TargetTypeEnum::Ip)
        .health_check_path("/health")
        .health_check_interval_seconds(5)
        .health_check_timeout_seconds(2)
        .healthy_threshold_count(2)
        .send()
        .await
        .unwrap()
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    let port = tests::ports::reserve();
    let listener = emu
        .elbv2
        .create_listener()
        .load_balancer_arn(lb.load_balancer_arn().unwrap())
        .protocol(ProtocolEnum::Http)
        .port(port as i32)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&tg)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .listeners()[0]
        .listener_arn()
        .unwrap()
        .to_string();
    // The provider reads the listener's attributes after creating it.
    let attributes = emu
        .elbv2
        .describe_listener_attributes()
        .listener_arn(&listener)
        .send()
        .await
        .unwrap();
    assert!(attributes.attributes().iter().any(|a| {
        a.key() == Some("routing.http.response.server.enabled") && a.value() == Some("true")
    }));
    // And the TLS policies, to validate `ssl_policy`.
    let policies = emu
        .elbv2
        .describe_ssl_policies()
        .names("ELBSecurityPolicy-TLS13-1-2-2021-06")
        .send()
        .await
        .unwrap();
    assert_eq!(policies.ssl_policies().len(), 1);

    // The service, on a capacity-provider strategy.
    let network = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .subnets(&subnets[0].0)
                .subnets(&subnets[1].0)
                .security_groups(&sg)
                .assign_public_ip(AssignPublicIp::Disabled)
                .build()
                .unwrap(),
        )
        .build();
    emu.ecs
        .create_service()
        .cluster(&name)
        .service_name("web")
        .task_definition(&td)
        .desired_count(2)
        // One task on FARGATE (the base), the rest on FARGATE_SPOT.
        .capacity_provider_strategy(strategy("FARGATE", 0, 1))
        .capacity_provider_strategy(strategy("FARGATE_SPOT", 1, 0))
        .network_configuration(network)
        .load_balancers(
            LoadBalancer::builder()
                .target_group_arn(&tg)
                .container_name("app")
                .container_port(8080)
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_until(
        "the service is stable",
        Duration::from_secs(120),
        || async {
            let out = emu
                .ecs
                .describe_services()
                .cluster(&name)
                .services("web")
                .send()
                .await
                .ok()?;
            let svc = &out.services()[0];
            let stable = svc.running_count() == 2
                && svc.deployments().len() == 1
                && svc.deployments()[0].rollout_state().map(|r| r.as_str()) == Some("COMPLETED");
            stable.then_some(())
        },
    )
    .await;

    let arns = emu
        .ecs
        .list_tasks()
        .cluster(&name)
        .service_name("web")
        .send()
        .await
        .unwrap()
        .task_arns()
        .to_vec();
    let tasks = ecs::describe(&emu.ecs, &name, &arns).await;
    let mut providers: Vec<_> = tasks
        .iter()
        .map(|t| t.capacity_provider_name().unwrap_or_default().to_string())
        .collect();
    providers.sort();
    assert_eq!(providers, ["FARGATE", "FARGATE_SPOT"]);

    // Task IPs fall in the subnets' CIDRs, and their ENIs are listed.
    let enis = ec2
        .describe_network_interfaces()
        .filters(Filter::builder().name("vpc-id").values(&vpc_id).build())
        .send()
        .await
        .unwrap();
    for task in &tasks {
        let ip: Ipv4Addr = ecs::private_ip(task).parse().unwrap();
        assert!(
            subnets.iter().any(|(_, net)| net.contains(&ip)),
            "{ip} is in no subnet of {cidr}"
        );
        let eni = enis
            .network_interfaces()
            .iter()
            .find(|e| e.private_ip_address() == Some(ip.to_string().as_str()))
            .unwrap_or_else(|| panic!("no ENI for {ip}: {:?}", enis.network_interfaces()));
        assert!(eni
            .groups()
            .iter()
            .any(|g| g.group_id() == Some(sg.as_str())));
        assert!(eni.description().unwrap().contains(":attachment/"));
        // The container sees the secret values.
        let env = tests::container_env(task.task_arn().unwrap(), "app").await;
        for expected in ["DB_PASSWORD=pw-1", "GREETING=hello"] {
            assert!(
                env.iter().any(|e| e == expected),
                "{expected} not in {env:?}"
            );
        }
    }

    // Through the ALB, balanced over both tasks.
    let mut seen = std::collections::HashSet::new();
    for _ in 0..8 {
        let (status, body) = tests::http_get(&format!("http://127.0.0.1:{port}/"))
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        seen.insert(v["ip"].as_str().unwrap_or_default().to_string());
    }
    assert_eq!(seen.len(), 2, "{seen:?}");

    // An SDK inside a task finds the task role's credentials: STS knows
    // them as the task's session of that role.
    let (status, body) = tests::http_get(&format!("http://127.0.0.1:{port}/aws/identity"))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let who: serde_json::Value = serde_json::from_str(&body).unwrap();
    let sessions: Vec<String> = tasks
        .iter()
        .map(|t| {
            let id = t.task_arn().unwrap().rsplit('/').next().unwrap();
            format!("arn:aws:sts::000000000000:assumed-role/{name}-task/{id}")
        })
        .collect();
    assert!(
        sessions.iter().any(|s| who["arn"] == s.as_str()),
        "{who} is none of {sessions:?}"
    );

    emu.ecs
        .delete_service()
        .cluster(&name)
        .service("web")
        .force(true)
        .send()
        .await
        .unwrap();
    emu.shutdown().await;
}
