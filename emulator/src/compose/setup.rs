//! What `up` sets up before the services, each looked up by name before
//! it is created: the network (ecs-params' subnets or the default VPC's),
//! the cluster, the log group, the Cloud Map namespace and its services,
//! and the load balancer with a target group and a listener per published
//! port.

use std::collections::BTreeMap;

use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{AssignPublicIp, AwsVpcConfiguration, NetworkConfiguration};
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, Listener, ProtocolEnum, TargetGroupAttribute, TargetTypeEnum,
};
use aws_sdk_servicediscovery::types::{
    DnsConfig, DnsRecord, NamespaceFilter, NamespaceFilterName, OperationTargetType, RecordType,
    ServiceFilter, ServiceFilterName,
};

use super::translate::{Plan, PROJECT_TAG, SERVICE_TAG};
use super::ComposeError;
use crate::console::Console;
use crate::sdk_client::{Aws, AwsCallFailed, AwsFailure};

/// Seconds a deregistered target drains before its task stops (AWS's
/// default is 300; a local edit-and-`up` loop wants it shorter).
const DEREGISTRATION_DELAY_SECS: &str = "10";
/// TTL of the Cloud Map A records.
const DNS_TTL: i64 = 10;

/// The subnets, security groups and VPC every service runs in.
pub(super) struct Network {
    pub configuration: NetworkConfiguration,
    subnets: Vec<String>,
    security_groups: Vec<String>,
    vpc: String,
}

/// The awsvpc configuration: ecs-params' subnets, else the default VPC's.
pub(super) async fn network(aws: &Aws, plan: &Plan) -> Result<Network, ComposeError> {
    let request = aws.ec2.describe_subnets();
    let request = if plan.network.subnets.is_empty() {
        request.filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("default-for-az")
                .values("true")
                .build(),
        )
    } else {
        request.set_subnet_ids(Some(plan.network.subnets.clone()))
    };
    let subnets = request
        .send()
        .await
        .map_err(ComposeError::aws("DescribeSubnets"))?
        .subnets
        .unwrap_or_default();
    let vpc = subnets
        .first()
        .and_then(|s| s.vpc_id())
        .ok_or_else(|| {
            ComposeError::Invalid(
                "no subnet found for the tasks: name subnets in ecs-params.yml".into(),
            )
        })?
        .to_string();
    let subnet_ids: Vec<String> = subnets
        .iter()
        .filter_map(|s| s.subnet_id().map(str::to_string))
        .collect();
    let configuration = NetworkConfiguration::builder()
        .awsvpc_configuration(
            AwsVpcConfiguration::builder()
                .set_subnets(Some(subnet_ids.clone()))
                .set_security_groups(
                    (!plan.network.security_groups.is_empty())
                        .then(|| plan.network.security_groups.clone()),
                )
                .assign_public_ip(if plan.network.assign_public_ip {
                    AssignPublicIp::Enabled
                } else {
                    AssignPublicIp::Disabled
                })
                .build()
                .expect("subnets are set"),
        )
        .build();
    Ok(Network {
        configuration,
        subnets: subnet_ids,
        security_groups: plan.network.security_groups.clone(),
        vpc,
    })
}

pub(super) fn ecs_tags(project: &str, service: Option<&str>) -> Vec<aws_sdk_ecs::types::Tag> {
    let mut tags = vec![aws_sdk_ecs::types::Tag::builder()
        .key(PROJECT_TAG)
        .value(project)
        .build()];
    if let Some(service) = service {
        tags.push(
            aws_sdk_ecs::types::Tag::builder()
                .key(SERVICE_TAG)
                .value(service)
                .build(),
        );
    }
    tags
}

fn elb_tags(
    project: &str,
    service: Option<&str>,
) -> Vec<aws_sdk_elasticloadbalancingv2::types::Tag> {
    let tag = |k: &str, v: &str| {
        aws_sdk_elasticloadbalancingv2::types::Tag::builder()
            .key(k)
            .value(v)
            .build()
    };
    let mut tags = vec![tag(PROJECT_TAG, project)];
    if let Some(service) = service {
        tags.push(tag(SERVICE_TAG, service));
    }
    tags
}

fn cloud_map_tag(project: &str) -> aws_sdk_servicediscovery::types::Tag {
    aws_sdk_servicediscovery::types::Tag::builder()
        .key(PROJECT_TAG)
        .value(project)
        .build()
        .expect("key and value are set")
}

pub(super) async fn cluster(aws: &Aws, plan: &Plan, console: &Console) -> Result<(), ComposeError> {
    aws.ecs
        .create_cluster()
        .cluster_name(&plan.cluster)
        .set_tags(Some(ecs_tags(&plan.project, None)))
        .send()
        .await
        .map_err(ComposeError::aws("CreateCluster"))?;
    console.step(&format!("cluster {}", plan.cluster));
    Ok(())
}

pub(super) async fn log_group(aws: &Aws, plan: &Plan) -> Result<(), ComposeError> {
    match aws
        .logs
        .create_log_group()
        .log_group_name(&plan.log_group)
        .tags(PROJECT_TAG, &plan.project)
        .send()
        .await
    {
        Err(e) if e.code() == Some("ResourceAlreadyExistsException") => Ok(()),
        other => other
            .map(|_| ())
            .map_err(ComposeError::aws("CreateLogGroup")),
    }
}

/// The private DNS namespace `PROJECT` and a Cloud Map service per
/// compose service with a DNS name; their ARNs by compose service.
pub(super) async fn discovery(
    aws: &Aws,
    plan: &Plan,
    network: &Network,
    console: &Console,
) -> Result<BTreeMap<String, String>, ComposeError> {
    let namespace_id = match find_namespace(aws, &plan.namespace).await? {
        Some((id, _)) => id,
        None => {
            let operation = aws
                .cloud_map
                .create_private_dns_namespace()
                .name(&plan.namespace)
                .vpc(&network.vpc)
                .tags(cloud_map_tag(&plan.project))
                .send()
                .await
                .map_err(ComposeError::aws("CreatePrivateDnsNamespace"))?
                .operation_id
                .unwrap_or_default();
            aws.cloud_map
                .get_operation()
                .operation_id(operation)
                .send()
                .await
                .map_err(ComposeError::aws("GetOperation"))?
                .operation
                .and_then(|o| o.targets)
                .and_then(|t| t.get(&OperationTargetType::Namespace).cloned())
                .ok_or_else(|| AwsCallFailed {
                    action: "GetOperation",
                    message: "the operation names no namespace".into(),
                })?
        }
    };
    console.step(&format!(
        "Cloud Map namespace {} (services resolve as NAME.{})",
        plan.namespace, plan.namespace
    ));
    let existing: BTreeMap<String, String> = namespace_services(aws, &namespace_id)
        .await?
        .into_iter()
        .map(|(_, name, arn)| (name, arn))
        .collect();
    let mut registries = BTreeMap::new();
    for service in plan.services.iter().filter(|s| s.discovery) {
        let arn = match existing.get(&service.name) {
            Some(arn) => arn.clone(),
            None => aws
                .cloud_map
                .create_service()
                .name(&service.name)
                .namespace_id(&namespace_id)
                .dns_config(
                    DnsConfig::builder()
                        .dns_records(
                            DnsRecord::builder()
                                .r#type(RecordType::A)
                                .ttl(DNS_TTL)
                                .build()
                                .expect("type and ttl are set"),
                        )
                        .build()
                        .expect("records are set"),
                )
                .tags(cloud_map_tag(&plan.project))
                .send()
                .await
                .map_err(ComposeError::aws("CreateService (Cloud Map)"))?
                .service
                .and_then(|s| s.arn)
                .unwrap_or_default(),
        };
        registries.insert(service.name.clone(), arn);
    }
    Ok(registries)
}

/// The private DNS namespace named `name`: its id and ARN.
pub(super) async fn find_namespace(
    aws: &Aws,
    name: &str,
) -> Result<Option<(String, String)>, ComposeError> {
    let namespaces = aws
        .cloud_map
        .list_namespaces()
        .filters(
            NamespaceFilter::builder()
                .name(NamespaceFilterName::Type)
                .values("DNS_PRIVATE")
                .build()
                .expect("name and values are set"),
        )
        .send()
        .await
        .map_err(ComposeError::aws("ListNamespaces"))?
        .namespaces
        .unwrap_or_default();
    Ok(namespaces
        .into_iter()
        .find(|n| n.name() == Some(name))
        .and_then(|n| Some((n.id?, n.arn?))))
}

/// The Cloud Map services of a namespace: id, name, ARN.
pub(super) async fn namespace_services(
    aws: &Aws,
    namespace_id: &str,
) -> Result<Vec<(String, String, String)>, ComposeError> {
    Ok(aws
        .cloud_map
        .list_services()
        .filters(
            ServiceFilter::builder()
                .name(ServiceFilterName::NamespaceId)
                .values(namespace_id)
                .build()
                .expect("name and values are set"),
        )
        .send()
        .await
        .map_err(ComposeError::aws("ListServices (Cloud Map)"))?
        .services
        .unwrap_or_default()
        .into_iter()
        .filter_map(|s| Some((s.id?, s.name?, s.arn?)))
        .collect())
}

/// The ARN of the target group named `name`, if it exists.
pub(super) async fn find_target_group(
    aws: &Aws,
    name: &str,
) -> Result<Option<String>, ComposeError> {
    match aws.elbv2.describe_target_groups().names(name).send().await {
        Ok(out) => Ok(out
            .target_groups()
            .first()
            .and_then(|t| t.target_group_arn())
            .map(str::to_string)),
        Err(e) if e.code() == Some("TargetGroupNotFound") => Ok(None),
        Err(e) => Err(ComposeError::aws("DescribeTargetGroups")(e)),
    }
}

/// The listeners of a load balancer.
pub(super) async fn listeners(
    aws: &Aws,
    load_balancer: &str,
) -> Result<Vec<Listener>, ComposeError> {
    Ok(aws
        .elbv2
        .describe_listeners()
        .load_balancer_arn(load_balancer)
        .send()
        .await
        .map_err(ComposeError::aws("DescribeListeners"))?
        .listeners
        .unwrap_or_default())
}

/// The load balancer, a target group and a listener per published port;
/// the target groups' ARNs by name.
pub(super) async fn load_balancer(
    aws: &Aws,
    plan: &Plan,
    network: &Network,
    console: &Console,
) -> Result<BTreeMap<String, String>, ComposeError> {
    let mut target_groups = BTreeMap::new();
    if !plan.has_listeners() {
        return Ok(target_groups);
    }
    let lb = match aws
        .elbv2
        .describe_load_balancers()
        .names(&plan.load_balancer)
        .send()
        .await
    {
        Ok(out) => out
            .load_balancers()
            .first()
            .and_then(|l| l.load_balancer_arn())
            .map(str::to_string),
        Err(e) if e.code() == Some("LoadBalancerNotFound") => None,
        Err(e) => return Err(ComposeError::aws("DescribeLoadBalancers")(e)),
    };
    let lb = match lb {
        Some(arn) => arn,
        None => aws
            .elbv2
            .create_load_balancer()
            .name(&plan.load_balancer)
            .set_subnets(Some(network.subnets.clone()))
            .set_security_groups(
                (!network.security_groups.is_empty()).then(|| network.security_groups.clone()),
            )
            .set_tags(Some(elb_tags(&plan.project, None)))
            .send()
            .await
            .map_err(ComposeError::aws("CreateLoadBalancer"))?
            .load_balancers()
            .first()
            .and_then(|l| l.load_balancer_arn())
            .unwrap_or_default()
            .to_string(),
    };
    console.step(&format!("load balancer {}", plan.load_balancer));
    let listeners = listeners(aws, &lb).await?;
    for service in &plan.services {
        for listener in &service.listeners {
            let tg = match find_target_group(aws, &listener.target_group).await? {
                Some(arn) => arn,
                None => {
                    let arn = aws
                        .elbv2
                        .create_target_group()
                        .name(&listener.target_group)
                        .protocol(ProtocolEnum::Http)
                        .port(i32::from(listener.container_port))
                        .vpc_id(&network.vpc)
                        .target_type(TargetTypeEnum::Ip)
                        .health_check_path(&listener.health_check_path)
                        .health_check_interval_seconds(listener.health_check_interval)
                        .health_check_timeout_seconds(listener.health_check_timeout)
                        .healthy_threshold_count(listener.healthy_threshold)
                        .unhealthy_threshold_count(listener.healthy_threshold)
                        .set_tags(Some(elb_tags(&plan.project, Some(&service.name))))
                        .send()
                        .await
                        .map_err(ComposeError::aws("CreateTargetGroup"))?
                        .target_groups()
                        .first()
                        .and_then(|t| t.target_group_arn())
                        .unwrap_or_default()
                        .to_string();
                    aws.elbv2
                        .modify_target_group_attributes()
                        .target_group_arn(&arn)
                        .attributes(
                            TargetGroupAttribute::builder()
                                .key("deregistration_delay.timeout_seconds")
                                .value(DEREGISTRATION_DELAY_SECS)
                                .build(),
                        )
                        .send()
                        .await
                        .map_err(ComposeError::aws("ModifyTargetGroupAttributes"))?;
                    arn
                }
            };
            if !listeners
                .iter()
                .any(|l| l.port() == Some(i32::from(listener.port)))
            {
                aws.elbv2
                    .create_listener()
                    .load_balancer_arn(&lb)
                    .protocol(ProtocolEnum::Http)
                    .port(i32::from(listener.port))
                    .default_actions(
                        Action::builder()
                            .r#type(ActionTypeEnum::Forward)
                            .target_group_arn(&tg)
                            .build(),
                    )
                    .set_tags(Some(elb_tags(&plan.project, Some(&service.name))))
                    .send()
                    .await
                    .map_err(ComposeError::aws("CreateListener"))?;
            }
            console.step(&format!(
                "listener :{} -> target group {} ({}:{}, health check {})",
                listener.port,
                listener.target_group,
                service.name,
                listener.container_port,
                listener.health_check_path
            ));
            target_groups.insert(listener.target_group.clone(), tg);
        }
    }
    Ok(target_groups)
}
