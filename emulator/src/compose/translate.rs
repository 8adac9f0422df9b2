//! Compose to ECS, pure: a loaded compose file and `ecs-params.yml` become
//! the requests `up` sends (task definitions, services, target groups and
//! listeners, Cloud Map names), in the order to create them. No I/O.
//!
//! Each compose service is one task-definition family with one container
//! and one ECS service. ECS `dependsOn` only orders containers within a
//! task, so `depends_on` across services is creation order: a service is
//! created once its dependencies' services run (`service_started`) or are
//! steady with healthy tasks (`service_healthy`).

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_ecs::types::{
    ContainerDefinition, KeyValuePair, PortMapping, Secret, TransportProtocol, Ulimit, UlimitName,
    Volume,
};

pub use super::compare::differences;
use super::ecs_params::EcsParams;
use super::file::{Condition, Project, Service};
pub use super::units::{aws_name, cpu_units, fargate_size, mebibytes, seconds};
use super::units::{is_dns_label, is_ecs_name};

/// The tag every resource `up` creates carries; `down` deletes by it.
pub const PROJECT_TAG: &str = crate::domain::servicediscovery::COMPOSE_PROJECT_TAG;
pub const SERVICE_TAG: &str = "compose-service";
/// ELBv2 names (load balancers, target groups) are at most 32 characters.
const ELB_NAME_MAX: usize = 32;
/// The task size when neither `deploy.resources` nor ecs-params give one.
const DEFAULT_CPU: u32 = 256;
const DEFAULT_MEMORY: u32 = 512;
/// Fargate's ceiling for `stopTimeout`.
const MAX_STOP_TIMEOUT: i32 = 120;
/// Target-group health check when the compose one is not an HTTP check:
/// `/` every 10 s (AWS's default is 30 s; a local loop wants it quicker).
const TARGET_HEALTH_INTERVAL: i32 = 10;
const TARGET_HEALTH_TIMEOUT: i32 = 5;
const TARGET_HEALTH_THRESHOLD: i32 = 2;

/// Everything `up` creates for one compose project.
#[derive(Debug, Clone)]
pub struct Plan {
    pub project: String,
    pub cluster: String,
    /// The Cloud Map private DNS namespace: `SERVICE.PROJECT` resolves.
    pub namespace: String,
    pub log_group: String,
    pub load_balancer: String,
    pub network: NetworkPlan,
    /// In creation order: every service after its dependencies.
    pub services: Vec<ServicePlan>,
    pub warnings: Vec<String>,
}

impl Plan {
    pub fn has_listeners(&self) -> bool {
        self.services.iter().any(|s| !s.listeners.is_empty())
    }

    pub fn service(&self, name: &str) -> Option<&ServicePlan> {
        self.services.iter().find(|s| s.name == name)
    }
}

/// The awsvpc configuration of every service; no subnets means the
/// default VPC's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetworkPlan {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: bool,
}

#[derive(Debug, Clone)]
pub struct ServicePlan {
    /// The compose name: also the ECS service, the container and the
    /// Cloud Map service.
    pub name: String,
    pub task: TaskDefinitionSpec,
    pub desired_count: i32,
    pub listeners: Vec<ListenerPlan>,
    /// Whether the service registers in the namespace (its name is a DNS label).
    pub discovery: bool,
    pub depends_on: Vec<(String, Condition)>,
}

/// What `up` registers for a service; compared field by field with the
/// registered revision to tell whether the service changed.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskDefinitionSpec {
    pub family: String,
    pub cpu: u32,
    pub memory: u32,
    pub container: ContainerDefinition,
    pub volumes: Vec<Volume>,
    pub task_role_arn: Option<String>,
    pub execution_role_arn: Option<String>,
}

/// One published port: a listener on the project's load balancer that
/// forwards to a target group of the service's tasks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenerPlan {
    /// The published (host) port: the listener's `Port`.
    pub port: u16,
    pub container_port: u16,
    pub target_group: String,
    pub health_check_path: String,
    pub health_check_interval: i32,
    pub health_check_timeout: i32,
    pub healthy_threshold: i32,
}

/// The plan for `project`, or the first reason it cannot be deployed.
pub fn plan(project: &Project, params: &EcsParams, region: &str) -> Result<Plan, String> {
    let mut warnings = project.warnings.clone();
    let name = project.name.clone();
    let task_size = params.task_size()?;
    for unknown in params
        .task_definition
        .services
        .keys()
        .filter(|s| !project.file.services.contains_key(*s))
    {
        warnings.push(format!(
            "ecs-params task_definition.services.{unknown} is ignored: the compose file has no such service"
        ));
    }
    network_warnings(project, &mut warnings);
    volume_warnings(project, &mut warnings);

    let log_group = log_group_name(&name);
    let mut published: BTreeMap<u16, String> = BTreeMap::new();
    let mut services = vec![];
    for service_name in creation_order(project)? {
        let service = &project.file.services[&service_name];
        let context = ServiceContext {
            project: &name,
            service_name: &service_name,
            service,
            environment: project.environments.get(&service_name),
            params,
            task_size,
            log_group: &log_group,
            region,
            named_volumes: &project.file.volumes.keys().cloned().collect(),
        };
        let planned = context.plan(&mut warnings)?;
        for (dependency, condition) in &planned.depends_on {
            if *condition == Condition::ServiceCompletedSuccessfully {
                warnings.push(format!(
                    "services.{service_name}.depends_on.{dependency}: service_completed_successfully \
                     waits only until {dependency} runs: an ECS service replaces a task that exits"
                ));
            }
        }
        for listener in &planned.listeners {
            if let Some(other) = published.insert(listener.port, service_name.clone()) {
                return Err(format!(
                    "services.{service_name}.ports: port {} is published by {other} too",
                    listener.port
                ));
            }
        }
        services.push(planned);
    }
    let vpc = &params.run_params.network_configuration.awsvpc_configuration;
    Ok(Plan {
        cluster: name.clone(),
        namespace: name.clone(),
        log_group,
        load_balancer: aws_name(&[&name], ELB_NAME_MAX),
        network: NetworkPlan {
            subnets: vpc.subnets.clone(),
            security_groups: vpc.security_groups.clone(),
            assign_public_ip: vpc.assign_public_ip.as_deref() == Some("ENABLED"),
        },
        project: name,
        services,
        warnings,
    })
}

/// The CloudWatch Logs group every task of the project logs to.
pub fn log_group_name(project: &str) -> String {
    format!("/compose/{project}")
}

/// Services ordered so that each comes after what it depends on.
fn creation_order(project: &Project) -> Result<Vec<String>, String> {
    let services = &project.file.services;
    let mut deps: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (name, service) in services {
        let mut wanted = BTreeSet::new();
        for (dependency, _) in service
            .depends_on
            .as_ref()
            .map(|d| d.entries())
            .unwrap_or_default()
        {
            if !services.contains_key(&dependency) {
                return Err(format!(
                    "services.{name}.depends_on: there is no service {dependency}"
                ));
            }
            wanted.insert(dependency);
        }
        deps.insert(name, wanted);
    }
    let mut order: Vec<String> = vec![];
    while order.len() < services.len() {
        let ready: Vec<String> = deps
            .iter()
            .filter(|(name, wanted)| {
                !order.iter().any(|o| o == *name) && wanted.iter().all(|w| order.contains(w))
            })
            .map(|(name, _)| name.to_string())
            .collect();
        if ready.is_empty() {
            let stuck: Vec<&str> = deps
                .keys()
                .filter(|n| !order.iter().any(|o| o == *n))
                .copied()
                .collect();
            return Err(format!(
                "depends_on: the services {} depend on each other in a cycle",
                stuck.join(", ")
            ));
        }
        order.extend(ready);
    }
    Ok(order)
}

fn network_warnings(project: &Project, warnings: &mut Vec<String>) {
    let declared = &project.file.networks;
    for (name, network) in declared {
        if let Some(network) = network {
            if network.driver.is_some() || network.external.is_some() || network.name.is_some() {
                warnings.push(format!(
                    "networks.{name}: driver, external and name are ignored: compose networks map onto the VPC"
                ));
            }
        }
    }
    if declared.len() > 1 {
        warnings.push(format!(
            "networks: {} all map onto one VPC, so tasks on different networks can reach each other",
            declared.keys().cloned().collect::<Vec<_>>().join(", ")
        ));
    }
}

fn volume_warnings(project: &Project, warnings: &mut Vec<String>) {
    for (name, volume) in &project.file.volumes {
        if volume
            .as_ref()
            .is_some_and(|v| v.driver.is_some() || v.external.is_some())
        {
            warnings.push(format!(
                "volumes.{name}: driver and external are ignored: a named volume is a Docker volume of each task"
            ));
        }
        let users: Vec<&String> = project
            .file
            .services
            .iter()
            .filter(|(_, s)| {
                s.volumes
                    .iter()
                    .any(|v| v.mount().source.as_deref() == Some(name.as_str()))
            })
            .map(|(n, _)| n)
            .collect();
        if users.len() > 1 {
            warnings.push(format!(
                "volumes.{name} is not shared by {}: on Fargate a task's volume belongs to that task (share files through EFS)",
                users.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(" and ")
            ));
        }
    }
}

/// What planning one service needs.
struct ServiceContext<'a> {
    project: &'a str,
    service_name: &'a str,
    service: &'a Service,
    environment: Option<&'a BTreeMap<String, String>>,
    params: &'a EcsParams,
    task_size: (Option<u32>, Option<u32>),
    log_group: &'a str,
    region: &'a str,
    named_volumes: &'a BTreeSet<String>,
}

impl ServiceContext<'_> {
    fn field(&self, field: &str) -> String {
        format!("services.{}.{field}", self.service_name)
    }

    fn plan(&self, warnings: &mut Vec<String>) -> Result<ServicePlan, String> {
        let service = self.service;
        let name = self.service_name;
        if !is_ecs_name(name) {
            return Err(format!(
                "services.{name}: ECS names take letters, digits, hyphens and underscores only"
            ));
        }
        let image = match (&service.image, &service.build) {
            (Some(image), build) => {
                if build.is_some() {
                    warnings.push(format!(
                        "{} is ignored: nothing is built; the image {image} must be on the local Docker engine",
                        self.field("build")
                    ));
                }
                image.clone()
            }
            (None, Some(_)) => {
                return Err(format!(
                    "services.{name} has build but no image: nothing is built and there is no registry; \
                     build it yourself (docker build -t {name}:latest .) and set image: {name}:latest"
                ))
            }
            (None, None) => return Err(format!("services.{name}: image is missing")),
        };
        let mut container = ContainerDefinition::builder()
            .name(name)
            .image(image)
            .essential(true);
        if let Some(command) = &service.command {
            container = container.set_command(Some(
                command
                    .args()
                    .map_err(|e| format!("{}: {e}", self.field("command")))?,
            ));
        }
        if let Some(entrypoint) = &service.entrypoint {
            container = container.set_entry_point(Some(
                entrypoint
                    .args()
                    .map_err(|e| format!("{}: {e}", self.field("entrypoint")))?,
            ));
        }
        let environment: Vec<KeyValuePair> = self
            .environment
            .into_iter()
            .flatten()
            .map(|(k, v)| KeyValuePair::builder().name(k).value(v).build())
            .collect();
        if !environment.is_empty() {
            container = container.set_environment(Some(environment));
        }
        let (port_mappings, listeners) = self.ports(warnings)?;
        if !port_mappings.is_empty() {
            container = container.set_port_mappings(Some(port_mappings));
        }
        if let Some(check) = self.health_check(warnings)? {
            container = container.health_check(check);
        }
        let (volumes, mount_points) = self.volumes(warnings)?;
        if !mount_points.is_empty() {
            container = container.set_mount_points(Some(mount_points));
        }
        let mut labels = service
            .labels
            .as_ref()
            .map(|l| l.entries())
            .unwrap_or_default();
        // Docker Compose's own labels, so `docker ps --filter` finds the tasks.
        labels.insert("com.docker.compose.project".into(), self.project.into());
        labels.insert("com.docker.compose.service".into(), name.into());
        container = container.set_docker_labels(Some(labels.into_iter().collect()));
        container = container
            .set_working_directory(service.working_dir.clone())
            .set_user(service.user.clone())
            .set_readonly_root_filesystem(service.read_only)
            .set_pseudo_terminal(service.tty)
            .set_interactive(service.stdin_open);
        let ulimits: Vec<Ulimit> = service
            .ulimits
            .iter()
            .map(|(limit, value)| {
                let (soft, hard) = value.soft_hard();
                Ulimit::builder()
                    .name(UlimitName::from(limit.as_str()))
                    .soft_limit(soft as i32)
                    .hard_limit(hard as i32)
                    .build()
                    .expect("name and limits are set")
            })
            .collect();
        if !ulimits.is_empty() {
            container = container.set_ulimits(Some(ulimits));
        }
        if let Some(linux) = self.linux_parameters(warnings) {
            container = container.linux_parameters(linux);
        }
        if let Some(grace) = &service.stop_grace_period {
            let seconds =
                seconds(grace).map_err(|e| format!("{}: {e}", self.field("stop_grace_period")))?;
            if seconds > MAX_STOP_TIMEOUT {
                warnings.push(format!(
                    "{} {grace} is cut to {MAX_STOP_TIMEOUT}s, Fargate's longest stopTimeout",
                    self.field("stop_grace_period")
                ));
            }
            container = container.stop_timeout(seconds.min(MAX_STOP_TIMEOUT));
        }
        container = container.log_configuration(self.log_configuration(warnings));
        let secrets = &self
            .params
            .task_definition
            .services
            .get(name)
            .map(|s| s.secrets.clone())
            .unwrap_or_default();
        if !secrets.is_empty() {
            if self.params.task_definition.task_execution_role.is_none() {
                return Err(format!(
                    "ecs-params task_definition.services.{name}.secrets need task_definition.task_execution_role"
                ));
            }
            container = container.set_secrets(Some(
                secrets
                    .iter()
                    .map(|s| {
                        Secret::builder()
                            .name(&s.name)
                            .value_from(&s.value_from)
                            .build()
                            .expect("name and valueFrom are set")
                    })
                    .collect(),
            ));
        }
        let (cpu, memory) = self.task_size(warnings)?;
        let deploy = service.deploy.clone().unwrap_or_default();
        if deploy.mode.as_deref().is_some_and(|m| m != "replicated") {
            warnings.push(format!(
                "{} {} is ignored: Fargate services are REPLICA services",
                self.field("deploy.mode"),
                deploy.mode.as_deref().unwrap_or_default()
            ));
        }
        let desired_count = deploy.replicas.or(service.scale).unwrap_or(1);
        let discovery = is_dns_label(name);
        if !discovery {
            warnings.push(format!(
                "services.{name} gets no DNS name: Cloud Map names are DNS labels (letters, digits, hyphens)"
            ));
        }
        Ok(ServicePlan {
            name: name.to_string(),
            task: TaskDefinitionSpec {
                family: format!("{}-{name}", self.project),
                cpu,
                memory,
                container: container.build(),
                volumes,
                task_role_arn: self.params.task_definition.task_role_arn.clone(),
                execution_role_arn: self.params.task_definition.task_execution_role.clone(),
            },
            desired_count: i32::try_from(desired_count).unwrap_or(i32::MAX),
            listeners,
            discovery,
            depends_on: service
                .depends_on
                .as_ref()
                .map(|d| d.entries())
                .unwrap_or_default(),
        })
    }

    /// Container port mappings (ports and expose) and a listener per
    /// published TCP port.
    fn ports(
        &self,
        warnings: &mut Vec<String>,
    ) -> Result<(Vec<PortMapping>, Vec<ListenerPlan>), String> {
        let mut mappings: Vec<(u16, String)> = vec![];
        let mut listeners = vec![];
        for (i, port) in self.service.ports.iter().enumerate() {
            let field = self.field(&format!("ports[{i}]"));
            let mapping = port.mapping().map_err(|e| format!("{field}: {e}"))?;
            if !mappings.contains(&(mapping.target, mapping.protocol.clone())) {
                mappings.push((mapping.target, mapping.protocol.clone()));
            }
            let Some(published) = mapping.published else {
                continue;
            };
            if mapping.protocol != "tcp" {
                warnings.push(format!(
                    "{field}: {published}/{} gets no listener: the ALB serves HTTP over TCP",
                    mapping.protocol
                ));
                continue;
            }
            let (path, interval, timeout) = self.target_health_check();
            listeners.push(ListenerPlan {
                port: published,
                container_port: mapping.target,
                target_group: aws_name(
                    &[self.project, self.service_name, &published.to_string()],
                    ELB_NAME_MAX,
                ),
                health_check_path: path,
                health_check_interval: interval,
                health_check_timeout: timeout,
                healthy_threshold: TARGET_HEALTH_THRESHOLD,
            });
        }
        for (i, exposed) in self.service.expose.iter().enumerate() {
            let spec = exposed.to_string();
            let (port, protocol) = spec.split_once('/').unwrap_or((&spec, "tcp"));
            let port: u16 = port.parse().map_err(|_| {
                format!(
                    "{}: {spec:?} is not a port",
                    self.field(&format!("expose[{i}]"))
                )
            })?;
            if !mappings.contains(&(port, protocol.to_string())) {
                mappings.push((port, protocol.to_string()));
            }
        }
        let mappings = mappings
            .into_iter()
            .map(|(port, protocol)| {
                PortMapping::builder()
                    .container_port(i32::from(port))
                    .protocol(TransportProtocol::from(protocol.as_str()))
                    .build()
            })
            .collect();
        Ok((mappings, listeners))
    }

    /// ecs-params' task size, else `deploy.resources.limits` rounded up to
    /// a Fargate size, else the smallest.
    fn task_size(&self, warnings: &mut Vec<String>) -> Result<(u32, u32), String> {
        let limits = self
            .service
            .deploy
            .as_ref()
            .and_then(|d| d.resources.as_ref())
            .and_then(|r| r.limits.clone())
            .unwrap_or_default();
        let cpu = limits
            .cpus
            .as_ref()
            .map(|c| cpu_units(&c.to_string()))
            .transpose()
            .map_err(|e| format!("{}: {e}", self.field("deploy.resources.limits.cpus")))?;
        let memory = limits
            .memory
            .as_deref()
            .map(mebibytes)
            .transpose()
            .map_err(|e| format!("{}: {e}", self.field("deploy.resources.limits.memory")))?;
        let (param_cpu, param_memory) = self.task_size;
        if (param_cpu.is_some() || param_memory.is_some()) && (cpu.is_some() || memory.is_some()) {
            warnings.push(format!(
                "{} is ignored: ecs-params task_definition.task_size sets the task size",
                self.field("deploy.resources.limits")
            ));
        }
        let wanted_cpu = param_cpu.or(cpu).unwrap_or(DEFAULT_CPU);
        let wanted_memory = param_memory.or(memory).unwrap_or(DEFAULT_MEMORY);
        let size = fargate_size(wanted_cpu, wanted_memory).ok_or_else(|| {
            format!(
                "services.{}: {wanted_cpu} CPU units with {wanted_memory} MiB is more than the largest Fargate task",
                self.service_name
            )
        })?;
        if size != (wanted_cpu, wanted_memory) {
            warnings.push(format!(
                "services.{}: {wanted_cpu} CPU units and {wanted_memory} MiB are rounded up to the Fargate size {} CPU, {} MiB",
                self.service_name, size.0, size.1
            ));
        }
        Ok(size)
    }
}

mod container;

#[cfg(test)]
#[path = "translate_tests.rs"]
mod tests;
