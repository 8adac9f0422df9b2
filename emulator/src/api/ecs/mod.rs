//! ECS actions (AWS JSON 1.1). Handlers only change the store; the task
//! runner (`reconcilers::tasks`) starts and stops containers.

mod account;
mod capacity_providers;
mod clusters;
mod service_connect;
mod service_deployments;
mod services;
mod task_definitions;

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::wire::{self, Input, JsonService};
use crate::domain::arn::{arn, last_segment};
use crate::domain::ecs::capacity::{self, StrategyItem};
use crate::domain::ecs::network;
use crate::domain::ecs::task::{StopCode, TaskLaunch};
use crate::domain::ecs::validate::{self, EcsError};
use crate::domain::ecs::{
    ClusterStatus, EcsState, KeyValuePair, Tag, Task, TaskDefinition, TaskDefinitionStatus,
    TaskStatus, DEFAULT_CLUSTER,
};
use crate::protocol::json::JsonError;

/// RunTask starts at most this many tasks per call (AWS: 1-10).
const MAX_RUN_TASK_COUNT: u32 = 10;
/// ListTasks / ListClusters page size when `maxResults` is absent (AWS: 100).
const DEFAULT_PAGE_SIZE: usize = 100;

type Output = Result<Value, EcsError>;

/// ECS's operations.
pub struct Ecs;

type Handler<'a> = wire::Handler<'a, Ecs>;

impl JsonService for Ecs {
    const VALIDATION_CODE: &'static str = "InvalidParameterException";
    type Error = EcsError;

    fn dispatch(h: &Handler, op: &str, input: &Input) -> Result<Output, JsonError> {
        Ok(match op {
            "CreateCluster" => h.create_cluster(input.decode()?),
            "DescribeClusters" => h.describe_clusters(input.decode()?),
            "ListClusters" => h.list_clusters(input.decode()?),
            "DeleteCluster" => h.delete_cluster(input.decode()?),
            "UpdateCluster" => h.update_cluster(input.decode()?),
            "UpdateClusterSettings" => h.update_cluster_settings(input.decode()?),
            "PutClusterCapacityProviders" => h.put_cluster_capacity_providers(input.decode()?),
            "CreateCapacityProvider" => h.create_capacity_provider(input.decode()?),
            "DescribeCapacityProviders" => h.describe_capacity_providers(input.decode()?),
            "UpdateCapacityProvider" => h.update_capacity_provider(input.decode()?),
            "DeleteCapacityProvider" => h.delete_capacity_provider(input.decode()?),
            "PutAccountSetting" => h.put_account_setting(input.decode()?, false),
            "PutAccountSettingDefault" => h.put_account_setting(input.decode()?, true),
            "DeleteAccountSetting" => h.delete_account_setting(input.decode()?),
            "ListAccountSettings" => h.list_account_settings(input.decode()?),
            "DeleteTaskDefinitions" => h.delete_task_definitions(input.decode()?),
            "RegisterTaskDefinition" => h.register_task_definition(input.decode()?),
            "DeregisterTaskDefinition" => h.deregister_task_definition(input.decode()?),
            "DescribeTaskDefinition" => h.describe_task_definition(input.decode()?),
            "ListTaskDefinitions" => h.list_task_definitions(input.decode()?),
            "ListTaskDefinitionFamilies" => h.list_task_definition_families(input.decode()?),
            "RunTask" => h.run_task(input.decode()?),
            "StopTask" => h.stop_task(input.decode()?),
            "DescribeTasks" => h.describe_tasks(input.decode()?),
            "ListTasks" => h.list_tasks(input.decode()?),
            "TagResource" => h.tag_resource(input.decode()?),
            "UntagResource" => h.untag_resource(input.decode()?),
            "ListTagsForResource" => h.list_tags_for_resource(input.decode()?),
            "CreateService" => h.create_service(input.decode()?),
            "UpdateService" => h.update_service(input.decode()?),
            "DeleteService" => h.delete_service(input.decode()?),
            "DescribeServices" => h.describe_services(input.decode()?),
            "ListServices" => h.list_services(input.decode()?),
            "ListServiceDeployments" => h.list_service_deployments(input.decode()?),
            "DescribeServiceDeployments" => h.describe_service_deployments(input.decode()?),
            "DescribeServiceRevisions" => h.describe_service_revisions(input.decode()?),
            "StopServiceDeployment" => h.stop_service_deployment(input.decode()?),
            other => return Err(JsonError::unknown_operation(other)),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInput {
    max_results: Option<usize>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunTaskInput {
    cluster: Option<String>,
    task_definition: String,
    count: Option<u32>,
    launch_type: Option<String>,
    network_configuration: Option<NetworkConfiguration>,
    overrides: Option<TaskOverride>,
    started_by: Option<String>,
    group: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    capacity_provider_strategy: Vec<StrategyItem>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfiguration {
    pub awsvpc_configuration: Option<AwsVpcConfiguration>,
}

#[derive(Deserialize, Clone, Default)]
#[serde(rename_all = "camelCase")]
pub struct AwsVpcConfiguration {
    #[serde(default)]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<String>,
}

#[derive(Deserialize, Clone, Default)]
#[serde(rename_all = "camelCase")]
struct TaskOverride {
    #[serde(default)]
    container_overrides: Vec<ContainerOverride>,
    cpu: Option<String>,
    memory: Option<String>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
struct ContainerOverride {
    name: String,
    command: Option<Vec<String>>,
    #[serde(default)]
    environment: Vec<KeyValuePair>,
    cpu: Option<i64>,
    memory: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StopTaskInput {
    cluster: Option<String>,
    task: String,
    reason: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeTasksInput {
    cluster: Option<String>,
    tasks: Vec<String>,
    #[serde(default)]
    include: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListTasksInput {
    cluster: Option<String>,
    family: Option<String>,
    started_by: Option<String>,
    service_name: Option<String>,
    desired_status: Option<String>,
    launch_type: Option<String>,
    #[serde(flatten)]
    page: PageInput,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagResourceInput {
    resource_arn: String,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
}

impl Handler<'_> {
    fn arn(&self, resource: &str) -> String {
        arn("ecs", &self.ctx.region, self.api.account_id(), resource)
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// Resolves a cluster name or ARN to an ACTIVE cluster's ARN. `None`
    /// means `default`, which is created on first use, as AWS does.
    fn cluster_arn(&self, ecs: &mut EcsState, reference: Option<&str>) -> Result<String, EcsError> {
        let name = reference.map(last_segment).unwrap_or(DEFAULT_CLUSTER);
        if name == DEFAULT_CLUSTER && !ecs.clusters.contains_key(DEFAULT_CLUSTER) {
            self.insert_cluster(ecs, DEFAULT_CLUSTER, clusters::ClusterSpec::default());
        }
        match ecs.clusters.get(name) {
            Some(c) if c.status == ClusterStatus::Active => Ok(c.cluster_arn.clone()),
            _ => Err(EcsError::ClusterNotFound),
        }
    }

    fn run_task(&self, input: RunTaskInput) -> Output {
        let count = input.count.unwrap_or(1);
        if !(1..=MAX_RUN_TASK_COUNT).contains(&count) {
            return Err(EcsError::InvalidParameter(
                "count must be between 1 and 10.".into(),
            ));
        }
        let awsvpc = input
            .network_configuration
            .as_ref()
            .and_then(|n| n.awsvpc_configuration.clone());
        let Some(awsvpc) = awsvpc else {
            return Err(EcsError::InvalidParameter(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified."
                    .into(),
            ));
        };
        self.api.store.write(|s| {
            let cluster_arn = self.cluster_arn(&mut s.ecs, input.cluster.as_deref())?;
            let placement = capacity::resolve_placement(
                input.launch_type.as_deref(),
                input.capacity_provider_strategy.clone(),
                &s.ecs.clusters[last_segment(&cluster_arn)],
            )?;
            let def = s
                .ecs
                .find_task_definition(&input.task_definition)
                .cloned()
                .ok_or_else(|| EcsError::Client("TaskDefinition not found.".into()))?;
            if def.status != TaskDefinitionStatus::Active {
                return Err(EcsError::Client("TaskDefinition is inactive".into()));
            }
            if !def.is_fargate() {
                return Err(EcsError::Client(
                    "Task definition does not support launch_type FARGATE.".into(),
                ));
            }
            let def = Arc::new(apply_overrides(
                def,
                input.overrides.clone().unwrap_or_default(),
            )?);
            let placements = network::resolve(
                s.ec2.region(&self.ctx.region, self.api.account_id()),
                &awsvpc.subnets,
                &awsvpc.security_groups,
            )?;
            let mut tasks = vec![];
            let mut placed = BTreeMap::new();
            for n in 0..count as usize {
                let provider = capacity::pick(placement.strategy(), &placed);
                if let Some(name) = &provider {
                    *placed.entry(name.clone()).or_default() += 1;
                }
                let task = Task::launch(TaskLaunch {
                    cluster_arn: &cluster_arn,
                    definition: def.clone(),
                    // Spread over the subnets given, as ECS spreads over AZs.
                    network: &placements[n % placements.len()],
                    group: input.group.clone(),
                    started_by: input.started_by.clone(),
                    tags: input.tags.clone(),
                    overrides: overrides_json(input.overrides.as_ref()),
                    capacity_provider: provider,
                });
                merge_tags(&mut s.ecs, &task.task_arn, input.tags.clone());
                s.ecs.tasks.insert(task.task_arn.clone(), task.clone());
                tasks.push(task);
            }
            Ok(json!({ "tasks": tasks, "failures": [] }))
        })
    }

    fn stop_task(&self, input: StopTaskInput) -> Output {
        self.api.store.write(|s| {
            let cluster_arn = self.cluster_arn(&mut s.ecs, input.cluster.as_deref())?;
            let arn = s
                .ecs
                .find_task(&cluster_arn, &input.task)
                .map(|t| t.task_arn.clone())
                .ok_or_else(|| {
                    EcsError::InvalidParameter("The referenced task was not found.".into())
                })?;
            let task = s.ecs.tasks.get_mut(&arn).expect("found above");
            let reason = input
                .reason
                .unwrap_or_else(|| "Task stopped by user".into());
            task.request_stop(StopCode::UserInitiated, reason);
            Ok(json!({ "task": task }))
        })
    }

    fn describe_tasks(&self, input: DescribeTasksInput) -> Output {
        if input.tasks.len() > 100 {
            return Err(EcsError::InvalidParameter(
                "Tasks cannot have more than 100 elements".into(),
            ));
        }
        let with_tags = input.include.iter().any(|i| i == "TAGS");
        self.api.store.write(|s| {
            let cluster_arn = self.cluster_arn(&mut s.ecs, input.cluster.as_deref())?;
            let mut tasks = vec![];
            let mut failures = vec![];
            for reference in &input.tasks {
                match s.ecs.find_task(&cluster_arn, reference) {
                    Some(t) => {
                        let mut v = serde_json::to_value(t).unwrap_or_default();
                        if !with_tags {
                            v.as_object_mut().map(|o| o.remove("tags"));
                        }
                        tasks.push(v);
                    }
                    None => failures.push(missing(reference)),
                }
            }
            Ok(json!({ "tasks": tasks, "failures": failures }))
        })
    }

    fn list_tasks(&self, input: ListTasksInput) -> Output {
        // AWS lists tasks whose desiredStatus is RUNNING unless asked otherwise.
        let desired = match input.desired_status.as_deref() {
            None | Some("RUNNING") => TaskStatus::Running,
            Some("STOPPED") => TaskStatus::Stopped,
            Some("PENDING") => TaskStatus::Pending,
            Some(other) => {
                return Err(EcsError::InvalidParameter(format!(
                    "Invalid desiredStatus: {other}"
                )))
            }
        };
        if input.launch_type.as_deref().is_some_and(|l| l != "FARGATE") {
            return Ok(json!({ "taskArns": [] }));
        }
        let service_group = input
            .service_name
            .as_ref()
            .map(|s| format!("service:{}", last_segment(s)));
        let arns = self.api.store.write(|s| {
            let cluster_arn = self.cluster_arn(&mut s.ecs, input.cluster.as_deref())?;
            Ok::<_, EcsError>(
                s.ecs
                    .tasks
                    .values()
                    .filter(|t| t.cluster_arn == cluster_arn)
                    .filter(|t| match desired {
                        TaskStatus::Pending => t.last_status.is_pending(),
                        d => t.desired_status == d,
                    })
                    .filter(|t| {
                        input
                            .family
                            .as_deref()
                            .is_none_or(|f| t.definition.family == f)
                    })
                    .filter(|t| input.started_by.is_none() || t.started_by == input.started_by)
                    .filter(|t| service_group.is_none() || t.group == service_group)
                    .map(|t| t.task_arn.clone())
                    .collect::<Vec<_>>(),
            )
        })?;
        let (page, next) = paginate(arns, &input.page)?;
        Ok(json!({ "taskArns": page, "nextToken": next }))
    }

    fn tag_resource(&self, input: TagResourceInput) -> Output {
        self.api.store.write(|s| {
            ensure_resource_exists(&s.ecs, &input.resource_arn)?;
            merge_tags(&mut s.ecs, &input.resource_arn, input.tags);
            Ok(json!({}))
        })
    }

    fn untag_resource(&self, input: TagResourceInput) -> Output {
        self.api.store.write(|s| {
            ensure_resource_exists(&s.ecs, &input.resource_arn)?;
            if let Some(tags) = s.ecs.tags.get_mut(&input.resource_arn) {
                tags.retain(|t| !input.tag_keys.contains(&t.key));
            }
            if let Some(task) = s.ecs.tasks.get_mut(&input.resource_arn) {
                task.tags.retain(|t| !input.tag_keys.contains(&t.key));
            }
            Ok(json!({}))
        })
    }

    fn list_tags_for_resource(&self, input: TagResourceInput) -> Output {
        self.api.store.read(|s| {
            ensure_resource_exists(&s.ecs, &input.resource_arn)?;
            Ok(json!({ "tags": s.ecs.tags_of(&input.resource_arn) }))
        })
    }
}

fn missing(arn: &str) -> Value {
    json!({ "arn": arn, "reason": "MISSING" })
}

fn merge_tags(ecs: &mut EcsState, arn: &str, tags: Vec<Tag>) {
    if tags.is_empty() {
        return;
    }
    let existing = ecs.tags.entry(arn.to_string()).or_default();
    for tag in tags {
        match existing.iter_mut().find(|t| t.key == tag.key) {
            Some(t) => t.value = tag.value.clone(),
            None => existing.push(tag.clone()),
        }
    }
    let merged = existing.clone();
    if let Some(task) = ecs.tasks.get_mut(arn) {
        task.tags = merged;
    }
}

fn ensure_resource_exists(ecs: &EcsState, arn: &str) -> Result<(), EcsError> {
    let exists = ecs.clusters.values().any(|c| c.cluster_arn == arn)
        || ecs.tasks.contains_key(arn)
        || ecs
            .task_definitions
            .values()
            .flatten()
            .any(|d| d.task_definition_arn == arn);
    if exists {
        Ok(())
    } else {
        Err(EcsError::InvalidParameter(
            "The specified resource is not found.".into(),
        ))
    }
}

/// Applies RunTask `overrides` to a copy of the definition the task runs.
fn apply_overrides(
    mut def: TaskDefinition,
    overrides: TaskOverride,
) -> Result<TaskDefinition, EcsError> {
    if let Some(cpu) = overrides.cpu {
        def.cpu = Some(
            validate::normalize_cpu(&cpu)
                .ok_or_else(|| EcsError::InvalidParameter("Invalid cpu override".into()))?
                .to_string(),
        );
    }
    if let Some(memory) = overrides.memory {
        def.memory = Some(
            validate::normalize_memory(&memory)
                .ok_or_else(|| EcsError::InvalidParameter("Invalid memory override".into()))?
                .to_string(),
        );
    }
    for o in overrides.container_overrides {
        let container = def
            .container_definitions
            .iter_mut()
            .find(|c| c.name == o.name)
            .ok_or_else(|| {
                EcsError::InvalidParameter(format!(
                    "Container {} is not in the task definition.",
                    o.name
                ))
            })?;
        if let Some(command) = o.command {
            container.command = Some(command);
        }
        for kv in o.environment {
            match container.environment.iter_mut().find(|e| e.name == kv.name) {
                Some(e) => e.value = kv.value,
                None => container.environment.push(kv),
            }
        }
        if let Some(cpu) = o.cpu {
            container.cpu = cpu;
        }
        if let Some(memory) = o.memory {
            container.memory = Some(memory);
        }
    }
    Ok(def)
}

fn overrides_json(overrides: Option<&TaskOverride>) -> Value {
    let container_overrides: Vec<Value> = overrides
        .map(|o| {
            o.container_overrides
                .iter()
                .map(|c| {
                    let mut v = json!({ "name": c.name });
                    if let Some(cmd) = &c.command {
                        v["command"] = json!(cmd);
                    }
                    if !c.environment.is_empty() {
                        v["environment"] = json!(c.environment);
                    }
                    v
                })
                .collect()
        })
        .unwrap_or_default();
    json!({ "containerOverrides": container_overrides, "inferenceAcceleratorOverrides": [] })
}

/// Pages a list: `nextToken` is the offset of the next item.
fn paginate<T: serde::Serialize>(
    items: Vec<T>,
    page: &PageInput,
) -> Result<(Vec<T>, Option<String>), EcsError> {
    let size = page.max_results.unwrap_or(DEFAULT_PAGE_SIZE);
    if !(1..=100).contains(&size) {
        return Err(EcsError::InvalidParameter(
            "maxResults must be between 1 and 100.".into(),
        ));
    }
    let start = match &page.next_token {
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| EcsError::InvalidParameter("Invalid nextToken.".into()))?,
        None => 0,
    };
    let total = items.len();
    let page_items: Vec<T> = items.into_iter().skip(start).take(size).collect();
    let next = (start + size < total).then(|| (start + size).to_string());
    Ok((page_items, next))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_their_shape_name_and_message_as_client_errors() {
        for (error, code, message) in [
            (
                EcsError::ClusterNotFound,
                "ClusterNotFoundException",
                "Cluster not found.",
            ),
            (
                EcsError::ServiceNotActive,
                "ServiceNotActiveException",
                "Service was not ACTIVE.",
            ),
            (
                EcsError::Client("TaskDefinition is inactive".into()),
                "ClientException",
                "TaskDefinition is inactive",
            ),
        ] {
            let wire = JsonError::from(error);
            assert_eq!(
                (wire.code.as_str(), wire.message.as_str(), wire.status),
                (code, message, http::StatusCode::BAD_REQUEST)
            );
        }
    }
}
