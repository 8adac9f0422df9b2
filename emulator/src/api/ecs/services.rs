//! ECS service actions. Handlers record desired state; the service
//! scheduler (`reconcilers::scheduler`) launches, registers and stops tasks.

use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{merge_tags, missing, paginate, Handler, NetworkConfiguration, Output, PageInput};
use crate::domain::arn::last_segment;
use crate::domain::ecs::blue_green;
use crate::domain::ecs::capacity::{self, StrategyItem};
use crate::domain::ecs::service::{
    DeploymentConfiguration, LaunchSettings, LoadBalancerRef, Service, ServiceRegistry,
    ServiceRuntime, ServiceStatus, MAX_LOAD_BALANCERS,
};
use crate::domain::ecs::service_connect::ServiceConnectConfiguration;
use crate::domain::ecs::service_deployment::ContainerImage;
use crate::domain::ecs::validate::EcsError;
use crate::domain::ecs::{EcsState, Tag, TaskDefinition, TaskDefinitionStatus};
use crate::domain::State;

/// ListServices page size when `maxResults` is absent (AWS: 10).
const LIST_SERVICES_DEFAULT_PAGE: usize = 10;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateServiceInput {
    cluster: Option<String>,
    service_name: String,
    task_definition: Option<String>,
    #[serde(default)]
    load_balancers: Vec<LoadBalancerRef>,
    /// AWS requires it for REPLICA services; a missing count means 0 here.
    desired_count: Option<i64>,
    launch_type: Option<String>,
    #[serde(default)]
    capacity_provider_strategy: Vec<StrategyItem>,
    network_configuration: Option<Value>,
    deployment_configuration: Option<DeploymentConfiguration>,
    health_check_grace_period_seconds: Option<i64>,
    scheduling_strategy: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    enable_ecs_managed_tags: bool,
    propagate_tags: Option<String>,
    #[serde(default)]
    service_registries: Vec<ServiceRegistry>,
    service_connect_configuration: Option<ServiceConnectConfiguration>,
    /// Members the emulator does not act on (logged once each).
    #[serde(flatten)]
    ignored: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateServiceInput {
    cluster: Option<String>,
    service: String,
    desired_count: Option<i64>,
    task_definition: Option<String>,
    #[serde(default)]
    force_new_deployment: bool,
    deployment_configuration: Option<DeploymentConfiguration>,
    health_check_grace_period_seconds: Option<i64>,
    network_configuration: Option<Value>,
    load_balancers: Option<Vec<LoadBalancerRef>>,
    capacity_provider_strategy: Option<Vec<StrategyItem>>,
    service_registries: Option<Vec<ServiceRegistry>>,
    service_connect_configuration: Option<ServiceConnectConfiguration>,
    /// Members the emulator does not act on (logged once each).
    #[serde(flatten)]
    ignored: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeleteServiceInput {
    cluster: Option<String>,
    service: String,
    #[serde(default)]
    force: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeServicesInput {
    cluster: Option<String>,
    services: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListServicesInput {
    cluster: Option<String>,
    launch_type: Option<String>,
    max_results: Option<usize>,
    next_token: Option<String>,
}

impl Handler<'_> {
    pub(super) fn create_service(&self, input: CreateServiceInput) -> Output {
        log_ignored("CreateService", &input.ignored);
        validate_name(&input.service_name)?;
        if input
            .scheduling_strategy
            .as_deref()
            .is_some_and(|s| s != "REPLICA")
        {
            return Err(EcsError::InvalidParameter(
                "This emulator supports the REPLICA scheduling strategy only.".into(),
            ));
        }
        let desired_count = count(input.desired_count.unwrap_or(0))?;
        let grace = grace_period(
            input.health_check_grace_period_seconds,
            &input.load_balancers,
        )?;
        let deployment_configuration = input.deployment_configuration.unwrap_or_default();
        validate_deployment_configuration(&deployment_configuration)?;
        let network = input.network_configuration.ok_or_else(|| {
            EcsError::InvalidParameter(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified."
                    .into(),
            )
        })?;
        validate_network(&network)?;
        let Some(task_definition) = input.task_definition else {
            return Err(EcsError::InvalidParameter(
                "TaskDefinition must be specified.".into(),
            ));
        };
        self.api.store.write(|s| {
            let cluster_arn = self.cluster_arn(&mut s.ecs, input.cluster.as_deref())?;
            let placement = capacity::resolve_placement(
                input.launch_type.as_deref(),
                input.capacity_provider_strategy,
                &s.ecs.clusters[last_segment(&cluster_arn)],
            )?;
            let def = active_task_definition(&s.ecs, &task_definition)?;
            validate_load_balancers(s, &def, &input.load_balancers)?;
            validate_traffic_rules(s, &deployment_configuration, &input.load_balancers)?;
            validate_registries(s, &def, &input.service_registries)?;
            self.check_network_in_ec2(s, &network)?;
            let service_arn = format!(
                "{}service/{}/{}",
                cluster_arn
                    .split_once("cluster/")
                    .map(|(p, _)| p)
                    .unwrap_or_default(),
                last_segment(&cluster_arn),
                input.service_name
            );
            if let Some(existing) = s.ecs.services.get(&service_arn) {
                if existing.status != ServiceStatus::Inactive {
                    return Err(EcsError::InvalidParameter(
                        "Creation of service was not idempotent.".into(),
                    ));
                }
            }
            let (service_connect_configuration, service_connect_resources) = match input
                .service_connect_configuration
            {
                Some(config) => {
                    let (config, resources) =
                        self.apply_service_connect(s, &service_arn, &cluster_arn, &def, config)?;
                    (Some(config), resources)
                }
                None => (None, vec![]),
            };
            let mut service = Service {
                service_arn: service_arn.clone(),
                service_name: input.service_name.clone(),
                cluster_arn,
                load_balancers: input.load_balancers,
                service_registries: input.service_registries.clone(),
                service_connect_configuration,
                service_connect_resources,
                status: ServiceStatus::Active,
                desired_count,
                running_count: 0,
                pending_count: 0,
                launch: LaunchSettings::fargate(&placement, "LATEST"),
                task_definition: def.task_definition_arn.clone(),
                deployment_configuration,
                deployments: vec![],
                events: Default::default(),
                created_at: OffsetDateTime::now_utc(),
                network_configuration: network,
                health_check_grace_period_seconds: grace,
                scheduling_strategy: "REPLICA",
                deployment_controller: json!({ "type": "ECS" }),
                enable_ecs_managed_tags: input.enable_ecs_managed_tags,
                propagate_tags: input.propagate_tags.unwrap_or_else(|| "NONE".into()),
                enable_execute_command: false,
                tags: input.tags.clone(),
                runtime: ServiceRuntime::default(),
                revisions: vec![],
                history: vec![],
            };
            service.start_deployment(def.task_definition_arn.clone(), ContainerImage::of(&def));
            s.ecs.tags.remove(&service_arn);
            merge_tags(&mut s.ecs, &service_arn, input.tags);
            s.ecs.services.insert(service_arn, service.clone());
            Ok(json!({ "service": service }))
        })
    }

    pub(super) fn update_service(&self, input: UpdateServiceInput) -> Output {
        log_ignored("UpdateService", &input.ignored);
        let desired_count = input.desired_count.map(count).transpose()?;
        if let Some(dc) = &input.deployment_configuration {
            validate_deployment_configuration(dc)?;
        }
        if let Some(network) = &input.network_configuration {
            validate_network(network)?;
        }
        self.api.store.write(|s| {
            let arn = self.service_arn(&mut s.ecs, input.cluster.as_deref(), &input.service)?;
            let current = s
                .ecs
                .services
                .get(&arn)
                .cloned()
                .ok_or(EcsError::ServiceNotFound)?;
            if current.status != ServiceStatus::Active {
                return Err(EcsError::ServiceNotActive);
            }
            let new_def = match &input.task_definition {
                Some(reference) => Some(active_task_definition(&s.ecs, reference)?),
                None => None,
            };
            let def_for_checks = match &new_def {
                Some(d) => d.clone(),
                None => active_task_definition(&s.ecs, &current.task_definition).or_else(|_| {
                    s.ecs
                        .find_task_definition(&current.task_definition)
                        .cloned()
                        .ok_or_else(|| EcsError::Client("TaskDefinition not found.".into()))
                })?,
            };
            let load_balancers = input
                .load_balancers
                .clone()
                .unwrap_or_else(|| current.load_balancers.clone());
            validate_load_balancers(s, &def_for_checks, &load_balancers)?;
            validate_traffic_rules(
                s,
                input
                    .deployment_configuration
                    .as_ref()
                    .unwrap_or(&current.deployment_configuration),
                &load_balancers,
            )?;
            if let Some(registries) = &input.service_registries {
                validate_registries(s, &def_for_checks, registries)?;
            }
            let grace = match input.health_check_grace_period_seconds {
                Some(g) => grace_period(Some(g), &load_balancers)?,
                None => current.health_check_grace_period_seconds,
            };
            let mut redeploy_for_strategy = false;
            if let Some(strategy) = &input.capacity_provider_strategy {
                let cluster = &s.ecs.clusters[last_segment(&current.cluster_arn)];
                capacity::check_placement(strategy, &cluster.capacity_providers)?;
            }
            if let Some(network) = &input.network_configuration {
                self.check_network_in_ec2(s, network)?;
            }
            let service_connect = match input.service_connect_configuration {
                Some(config) => Some(self.apply_service_connect(
                    s,
                    &arn,
                    &current.cluster_arn,
                    &def_for_checks,
                    config,
                )?),
                None => None,
            };
            let images = ContainerImage::of(&def_for_checks);
            let service = s.ecs.services.get_mut(&arn).expect("checked above");
            if let Some(strategy) = input.capacity_provider_strategy {
                // An empty strategy keeps the current placement.
                if !strategy.is_empty() && strategy != service.launch.capacity_provider_strategy {
                    service.launch.capacity_provider_strategy = strategy;
                    service.launch.launch_type = None;
                    redeploy_for_strategy = true;
                }
            }
            if let Some(dc) = desired_count {
                service.desired_count = dc;
                if let Some(primary) = service.deployments.first_mut() {
                    primary.desired_count = dc;
                }
                service.runtime.steady = false;
            }
            if let Some(dc) = input.deployment_configuration {
                service.deployment_configuration = dc;
            }
            service.health_check_grace_period_seconds = grace;
            let mut redeploy = input.force_new_deployment || redeploy_for_strategy;
            if let Some(network) = input.network_configuration {
                redeploy |= network != service.network_configuration;
                service.network_configuration = network;
            }
            if input.load_balancers.is_some() {
                redeploy |= load_balancers != service.load_balancers;
                service.load_balancers = load_balancers;
            }
            if let Some(registries) = input.service_registries {
                redeploy |= registries != service.service_registries;
                service.service_registries = registries;
            }
            if let Some((config, resources)) = service_connect {
                redeploy |= Some(&config) != service.service_connect_configuration.as_ref();
                service.service_connect_configuration = Some(config);
                service.service_connect_resources = resources;
            }
            if let Some(def) = new_def {
                redeploy |= def.task_definition_arn != service.task_definition;
                service.task_definition = def.task_definition_arn.clone();
            }
            if redeploy {
                let def = service.task_definition.clone();
                service.start_deployment(def, images);
            }
            Ok(json!({ "service": service }))
        })
    }

    pub(super) fn delete_service(&self, input: DeleteServiceInput) -> Output {
        self.api.store.write(|s| {
            let arn = self.service_arn(&mut s.ecs, input.cluster.as_deref(), &input.service)?;
            let service = s
                .ecs
                .services
                .get_mut(&arn)
                .ok_or(EcsError::ServiceNotFound)?;
            if service.status != ServiceStatus::Active {
                return Err(EcsError::ServiceNotActive);
            }
            if service.desired_count > 0 && !input.force {
                return Err(EcsError::InvalidParameter(
                    "The service cannot be stopped while it is scaled above 0.".into(),
                ));
            }
            service.desired_count = 0;
            for d in &mut service.deployments {
                d.desired_count = 0;
            }
            service.status = ServiceStatus::Draining;
            Ok(json!({ "service": service }))
        })
    }

    pub(super) fn describe_services(&self, input: DescribeServicesInput) -> Output {
        if input.services.len() > 10 {
            return Err(EcsError::InvalidParameter(
                "services can have at most 10 items.".into(),
            ));
        }
        let with_tags = input.include.iter().any(|i| i == "TAGS");
        self.api.store.write(|s| {
            let cluster_arn = self.cluster_arn(&mut s.ecs, input.cluster.as_deref())?;
            let mut services = vec![];
            let mut failures = vec![];
            for reference in &input.services {
                let arn = service_arn_in(&cluster_arn, reference);
                match s.ecs.services.get(&arn) {
                    Some(service) => {
                        let mut v = serde_json::to_value(service).unwrap_or_default();
                        if with_tags {
                            v["tags"] = json!(s.ecs.tags_of(&arn));
                        }
                        services.push(v);
                    }
                    None => failures.push(missing(&arn)),
                }
            }
            Ok(json!({ "services": services, "failures": failures }))
        })
    }

    pub(super) fn list_services(&self, input: ListServicesInput) -> Output {
        if input.launch_type.as_deref().is_some_and(|l| l != "FARGATE") {
            return Ok(json!({ "serviceArns": [] }));
        }
        let arns = self.api.store.write(|s| {
            let cluster_arn = self.cluster_arn(&mut s.ecs, input.cluster.as_deref())?;
            Ok::<_, EcsError>(
                s.ecs
                    .services
                    .values()
                    .filter(|svc| {
                        svc.cluster_arn == cluster_arn && svc.status != ServiceStatus::Inactive
                    })
                    .map(|svc| svc.service_arn.clone())
                    .collect::<Vec<_>>(),
            )
        })?;
        let page = PageInput {
            max_results: Some(input.max_results.unwrap_or(LIST_SERVICES_DEFAULT_PAGE)),
            next_token: input.next_token,
        };
        let (page, next) = paginate(arns, &page)?;
        Ok(json!({ "serviceArns": page, "nextToken": next }))
    }

    pub(super) fn service_arn(
        &self,
        ecs: &mut EcsState,
        cluster: Option<&str>,
        reference: &str,
    ) -> Result<String, EcsError> {
        let cluster_arn = self.cluster_arn(ecs, cluster)?;
        let arn = service_arn_in(&cluster_arn, reference);
        if ecs.services.contains_key(&arn) {
            Ok(arn)
        } else {
            Err(EcsError::ServiceNotFound)
        }
    }
}

/// A service name or ARN as the ARN within `cluster_arn`.
fn service_arn_in(cluster_arn: &str, reference: &str) -> String {
    if reference.starts_with("arn:") {
        return reference.to_string();
    }
    let prefix = cluster_arn
        .split_once("cluster/")
        .map(|(p, _)| p)
        .unwrap_or_default();
    format!("{prefix}service/{}/{reference}", last_segment(cluster_arn))
}

fn validate_name(name: &str) -> Result<(), EcsError> {
    let ok = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        Ok(())
    } else {
        Err(EcsError::InvalidParameter(
            "Service name can have up to 255 characters: letters, numbers, hyphens and underscores.".into(),
        ))
    }
}

fn count(n: i64) -> Result<u32, EcsError> {
    u32::try_from(n).ok().filter(|n| *n <= 5000).ok_or_else(|| {
        EcsError::InvalidParameter("desiredCount must be between 0 and 5000.".into())
    })
}

fn grace_period(
    seconds: Option<i64>,
    load_balancers: &[LoadBalancerRef],
) -> Result<Option<u32>, EcsError> {
    let Some(seconds) = seconds else {
        return Ok(None);
    };
    if load_balancers.is_empty() {
        return Err(EcsError::InvalidParameter(
            "Health check grace period is only valid for services configured to use load balancers"
                .into(),
        ));
    }
    u32::try_from(seconds)
        .ok()
        .filter(|s| *s <= 2_147_483_647)
        .map(Some)
        .ok_or_else(|| {
            EcsError::InvalidParameter("healthCheckGracePeriodSeconds must be 0 or more.".into())
        })
}

/// At most one registry (AWS), naming a Cloud Map service that exists; a
/// `containerName` names a container of the task definition. The messages
/// are the emulator's own (AWS does not document them).
fn validate_registries(
    s: &State,
    def: &TaskDefinition,
    registries: &[ServiceRegistry],
) -> Result<(), EcsError> {
    if registries.len() > 1 {
        return Err(EcsError::InvalidParameter(
            "A service can be associated with one service registry.".into(),
        ));
    }
    for registry in registries {
        if s.servicediscovery
            .service_by_arn(&registry.registry_arn)
            .is_none()
        {
            return Err(EcsError::InvalidParameter(format!(
                "The service registry {} does not exist.",
                registry.registry_arn
            )));
        }
        if let Some(name) = &registry.container_name {
            if def.container(name).is_none() {
                return Err(EcsError::InvalidParameter(format!(
                    "The container {name} of serviceRegistries is not in the task definition."
                )));
            }
        }
    }
    Ok(())
}

/// Logs, once per member, the service members the emulator stores nowhere
/// (the README lists them).
fn log_ignored(action: &str, members: &serde_json::Map<String, Value>) {
    for member in members.keys() {
        crate::api::ignored_once(&format!("ECS {action} {member}"));
    }
}

fn validate_deployment_configuration(dc: &DeploymentConfiguration) -> Result<(), EcsError> {
    if dc.minimum_healthy_percent > 100 {
        return Err(EcsError::InvalidParameter(
            "minimumHealthyPercent must be between 0 and 100.".into(),
        ));
    }
    if dc.maximum_percent < 100 || dc.maximum_percent > 200 {
        return Err(EcsError::InvalidParameter(
            "maximumPercent must be between 100 and 200.".into(),
        ));
    }
    blue_green::validate_strategy(dc)?;
    for member in dc.extra.keys() {
        crate::api::ignored_once(&format!("ECS deploymentConfiguration.{member}"));
    }
    for hook in &dc.lifecycle_hooks {
        crate::api::ignored_once(&format!(
            "ECS lifecycle hook {} (AWS_LAMBDA hooks are marked SUCCEEDED without a call)",
            hook.hook_target_arn.as_deref().unwrap_or_default()
        ));
    }
    Ok(())
}

impl Handler<'_> {
    /// The subnets and security groups exist in EC2 (placeholders aside).
    fn check_network_in_ec2(&self, s: &mut State, network: &Value) -> Result<(), EcsError> {
        let decoded: NetworkConfiguration =
            serde_json::from_value(network.clone()).map_err(|e| {
                EcsError::InvalidParameter(format!("Invalid networkConfiguration: {e}"))
            })?;
        let awsvpc = decoded.awsvpc_configuration.unwrap_or_default();
        crate::domain::ecs::network::resolve(
            s.ec2.region(&self.ctx.region, self.api.account_id()),
            &awsvpc.subnets,
            &awsvpc.security_groups,
        )
        .map(drop)
    }
}

fn validate_network(network: &Value) -> Result<(), EcsError> {
    let decoded: NetworkConfiguration = serde_json::from_value(network.clone())
        .map_err(|e| EcsError::InvalidParameter(format!("Invalid networkConfiguration: {e}")))?;
    let subnets = decoded
        .awsvpc_configuration
        .map(|a| a.subnets)
        .unwrap_or_default();
    if subnets.is_empty() {
        return Err(EcsError::InvalidParameter(
            "subnets can not be empty.".into(),
        ));
    }
    Ok(())
}

fn active_task_definition(ecs: &EcsState, reference: &str) -> Result<TaskDefinition, EcsError> {
    let def = ecs
        .find_task_definition(reference)
        .cloned()
        .ok_or_else(|| EcsError::InvalidParameter("TaskDefinition not found.".into()))?;
    if def.status != TaskDefinitionStatus::Active {
        return Err(EcsError::InvalidParameter(format!(
            "TaskDefinition is inactive: {}",
            def.task_definition_arn
        )));
    }
    if !def.is_fargate() {
        return Err(EcsError::InvalidParameter(
            "Task definition does not support launch_type FARGATE.".into(),
        ));
    }
    Ok(def)
}

/// Target groups must exist, be of type `ip`, sit behind a load balancer,
/// and name a container and port of the task definition.
fn validate_load_balancers(
    state: &State,
    def: &TaskDefinition,
    lbs: &[LoadBalancerRef],
) -> Result<(), EcsError> {
    if lbs.len() > MAX_LOAD_BALANCERS {
        return Err(EcsError::InvalidParameter(
            "A service can use at most 5 target groups.".into(),
        ));
    }
    for lb in lbs {
        if lb.load_balancer_name.is_some() {
            return Err(EcsError::InvalidParameter(
                "Classic Load Balancers are not supported; use targetGroupArn.".into(),
            ));
        }
        let Some(tg_arn) = lb.target_group_arn.as_deref() else {
            return Err(EcsError::InvalidParameter(
                "targetGroupArn is required for an Application Load Balancer.".into(),
            ));
        };
        check_target_group(state, tg_arn)?;
        let (Some(name), Some(port)) = (lb.container_name.as_deref(), lb.container_port) else {
            return Err(EcsError::InvalidParameter(
                "containerName and containerPort are required.".into(),
            ));
        };
        let Some(container) = def.container(name) else {
            return Err(EcsError::InvalidParameter(format!(
                "The container {name} does not exist in the task definition."
            )));
        };
        if !container
            .port_mappings
            .iter()
            .any(|p| p.container_port == port)
        {
            return Err(EcsError::InvalidParameter(format!(
                "The container {name} did not have a container port {port} defined."
            )));
        }
    }
    Ok(())
}

/// A target group a service registers in: it exists, is of type `ip`, and
/// sits behind a load balancer.
fn check_target_group(state: &State, tg_arn: &str) -> Result<(), EcsError> {
    let Some(tg) = state.elbv2.target_groups.get(tg_arn) else {
        return Err(EcsError::InvalidParameter(format!(
            "Unable to find target group {tg_arn}."
        )));
    };
    if tg.target_type != "ip" {
        return Err(EcsError::InvalidParameter(format!(
        "The provided target group {tg_arn} has target type {}, which is incompatible with the awsvpc network mode specified in the task definition.",
        tg.target_type
        )));
    }
    if !state.elbv2.target_group_in_use(tg_arn) {
        return Err(EcsError::InvalidParameter(format!(
        "The target group with targetGroupArn {tg_arn} does not have an associated load balancer."
        )));
    }
    Ok(())
}

/// The alternate target groups and listener rules of
/// `advancedConfiguration` exist, and a production rule that does not
/// forward to both target groups comes with a test rule.
fn validate_traffic_rules(
    state: &State,
    dc: &DeploymentConfiguration,
    lbs: &[LoadBalancerRef],
) -> Result<(), EcsError> {
    blue_green::validate_advanced(dc, lbs)?;
    for lb in lbs {
        let Some(advanced) = &lb.advanced_configuration else {
            continue;
        };
        let alternate = advanced
            .alternate_target_group_arn
            .as_deref()
            .unwrap_or_default();
        check_target_group(state, alternate)?;
        for rule in advanced
            .production_listener_rule
            .iter()
            .chain(&advanced.test_listener_rule)
        {
            if !state.elbv2.rules.contains_key(rule) {
                return Err(EcsError::InvalidParameter(format!(
                    "Unable to find listener rule {rule}."
                )));
            }
        }
        let production = advanced
            .production_listener_rule
            .as_deref()
            .unwrap_or_default();
        let forwards_to = state.elbv2.forward_weights(production).unwrap_or_default();
        let forwards = |tg: &str| forwards_to.iter().any(|(arn, _)| arn == tg);
        let both = lb.target_group_arn.as_deref().is_some_and(forwards) && forwards(alternate);
        if !both && advanced.test_listener_rule.is_none() {
            return Err(EcsError::InvalidParameter(
                "For Application LoadBalancer, testListenerRule is required when productionListenerRule is not associated with both targetGroup and alternateTargetGroup".into(),
            ));
        }
    }
    Ok(())
}
