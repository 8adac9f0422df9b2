//! ECS actions (AWS JSON 1.1). Handlers only change the store; the task
//! runner (`reconcilers::tasks`) starts and stops containers.

mod services;

use std::sync::Arc;

use axum::response::Response;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::{App, RequestContext};
use crate::domain::arn::{arn, last_segment};
use crate::domain::ecs::task::{StopCode, TaskLaunch};
use crate::domain::ecs::validate::{self, EcsError};
use crate::domain::ecs::{
    Cluster, EcsState, KeyValuePair, Tag, Task, TaskDefinition, TaskStatus, DEFAULT_CLUSTER,
};
use crate::protocol::json::{self, JsonError};

/// RunTask starts at most this many tasks per call (AWS: 1-10).
const MAX_RUN_TASK_COUNT: u32 = 10;
/// ListTasks / ListClusters page size when `maxResults` is absent (AWS: 100).
const DEFAULT_PAGE_SIZE: usize = 100;

type Output = Result<Value, EcsError>;

pub async fn handle(app: &App, ctx: &RequestContext, op: &str, body: &[u8]) -> Response {
    json::respond(dispatch(app, ctx, op, body), &ctx.request_id)
}

fn dispatch(app: &App, ctx: &RequestContext, op: &str, body: &[u8]) -> Result<Output, JsonError> {
    let h = Handler { app, ctx };
    Ok(match op {
        "CreateCluster" => h.create_cluster(decode(body)?),
        "DescribeClusters" => h.describe_clusters(decode(body)?),
        "ListClusters" => h.list_clusters(decode(body)?),
        "DeleteCluster" => h.delete_cluster(decode(body)?),
        "RegisterTaskDefinition" => h.register_task_definition(decode(body)?),
        "DeregisterTaskDefinition" => h.deregister_task_definition(decode(body)?),
        "DescribeTaskDefinition" => h.describe_task_definition(decode(body)?),
        "ListTaskDefinitions" => h.list_task_definitions(decode(body)?),
        "ListTaskDefinitionFamilies" => h.list_task_definition_families(decode(body)?),
        "RunTask" => h.run_task(decode(body)?),
        "StopTask" => h.stop_task(decode(body)?),
        "DescribeTasks" => h.describe_tasks(decode(body)?),
        "ListTasks" => h.list_tasks(decode(body)?),
        "TagResource" => h.tag_resource(decode(body)?),
        "UntagResource" => h.untag_resource(decode(body)?),
        "ListTagsForResource" => h.list_tags_for_resource(decode(body)?),
        "CreateService" => h.create_service(decode(body)?),
        "UpdateService" => h.update_service(decode(body)?),
        "DeleteService" => h.delete_service(decode(body)?),
        "DescribeServices" => h.describe_services(decode(body)?),
        "ListServices" => h.list_services(decode(body)?),
        other => return Err(JsonError::unknown_operation(other)),
    })
}

fn decode<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, JsonError> {
    json::decode(body, "InvalidParameterException")
}

struct Handler<'a> {
    app: &'a App,
    ctx: &'a RequestContext,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateClusterInput {
    cluster_name: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    settings: Vec<KeyValuePair>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DescribeClustersInput {
    clusters: Option<Vec<String>>,
    #[serde(default)]
    include: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageInput {
    max_results: Option<usize>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClusterInput {
    cluster: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegisterTaskDefinitionInput {
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(flatten)]
    definition: TaskDefinition,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TaskDefinitionRef {
    task_definition: String,
    #[serde(default)]
    include: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListTaskDefinitionsInput {
    family_prefix: Option<String>,
    status: Option<String>,
    sort: Option<String>,
    #[serde(flatten)]
    page: PageInput,
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
    capacity_provider_strategy: Vec<Value>,
}

#[derive(Deserialize, Clone)]
#[serde(rename_all = "camelCase")]
pub struct NetworkConfiguration {
    pub awsvpc_configuration: Option<AwsVpcConfiguration>,
}

#[derive(Deserialize, Clone)]
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
        arn("ecs", &self.ctx.region, self.app.account_id(), resource)
    }

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    /// Resolves a cluster name or ARN to an ACTIVE cluster's ARN. `None`
    /// means `default`, which is created on first use, as AWS does.
    fn cluster_arn(&self, ecs: &mut EcsState, reference: Option<&str>) -> Result<String, EcsError> {
        let name = reference.map(last_segment).unwrap_or(DEFAULT_CLUSTER);
        if name == DEFAULT_CLUSTER && !ecs.clusters.contains_key(DEFAULT_CLUSTER) {
            self.insert_cluster(ecs, DEFAULT_CLUSTER, vec![]);
        }
        match ecs.clusters.get(name) {
            Some(c) if c.status == "ACTIVE" => Ok(c.cluster_arn.clone()),
            _ => Err(EcsError::cluster_not_found()),
        }
    }

    fn insert_cluster(
        &self,
        ecs: &mut EcsState,
        name: &str,
        settings: Vec<KeyValuePair>,
    ) -> Cluster {
        let cluster = Cluster {
            cluster_arn: self.arn(&format!("cluster/{name}")),
            cluster_name: name.to_string(),
            status: "ACTIVE".into(),
            created_at: Some(Self::now()),
            settings: if settings.is_empty() {
                vec![KeyValuePair {
                    name: "containerInsights".into(),
                    value: "disabled".into(),
                }]
            } else {
                settings
            },
        };
        ecs.clusters.insert(name.to_string(), cluster.clone());
        cluster
    }

    fn create_cluster(&self, input: CreateClusterInput) -> Output {
        let name = input
            .cluster_name
            .unwrap_or_else(|| DEFAULT_CLUSTER.to_string());
        let valid = !name.is_empty()
            && name.len() <= 255
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(EcsError::invalid(
                "Cluster name can have up to 255 characters: letters, numbers, hyphens and underscores.",
            ));
        }
        self.app.store.write(|s| {
            let ecs = &mut s.ecs;
            // Creating an existing ACTIVE cluster returns it unchanged, as AWS does.
            let cluster = match ecs.clusters.get(&name) {
                Some(c) if c.status == "ACTIVE" => c.clone(),
                _ => self.insert_cluster(ecs, &name, input.settings),
            };
            merge_tags(ecs, &cluster.cluster_arn, input.tags);
            Ok(json!({ "cluster": ecs.cluster_view(&cluster, true) }))
        })
    }

    fn describe_clusters(&self, input: DescribeClustersInput) -> Output {
        let names = input
            .clusters
            .unwrap_or_else(|| vec![DEFAULT_CLUSTER.to_string()]);
        let with_tags = input.include.iter().any(|i| i == "TAGS");
        self.app.store.read(|s| {
            let mut clusters = vec![];
            let mut failures = vec![];
            for reference in &names {
                match s.ecs.clusters.get(last_segment(reference)) {
                    Some(c) => clusters.push(s.ecs.cluster_view(c, with_tags)),
                    None => failures.push(missing(&self.cluster_reference_arn(reference))),
                }
            }
            Ok(json!({ "clusters": clusters, "failures": failures }))
        })
    }

    fn cluster_reference_arn(&self, reference: &str) -> String {
        if reference.starts_with("arn:") {
            reference.to_string()
        } else {
            self.arn(&format!("cluster/{reference}"))
        }
    }

    fn list_clusters(&self, input: PageInput) -> Output {
        let arns: Vec<String> = self.app.store.read(|s| {
            s.ecs
                .clusters
                .values()
                .filter(|c| c.status == "ACTIVE")
                .map(|c| c.cluster_arn.clone())
                .collect()
        });
        let (page, next) = paginate(arns, &input)?;
        Ok(json!({ "clusterArns": page, "nextToken": next }))
    }

    fn delete_cluster(&self, input: ClusterInput) -> Output {
        self.app.store.write(|s| {
            let ecs = &mut s.ecs;
            let name = last_segment(&input.cluster).to_string();
            let cluster = match ecs.clusters.get(&name) {
                Some(c) if c.status == "ACTIVE" => c.clone(),
                _ => return Err(EcsError::cluster_not_found()),
            };
            let has_services = ecs
                .services
                .values()
                .any(|svc| svc.cluster_arn == cluster.cluster_arn && svc.status != "INACTIVE");
            if has_services {
                return Err(EcsError {
                    code: "ClusterContainsServicesException",
                    message: "The Cluster cannot be deleted while Services are active.".into(),
                });
            }
            let has_tasks = ecs.tasks.values().any(|t| {
                t.cluster_arn == cluster.cluster_arn && t.last_status != TaskStatus::Stopped
            });
            if has_tasks {
                return Err(EcsError {
                    code: "ClusterContainsTasksException",
                    message: "The Cluster cannot be deleted while Tasks are active.".into(),
                });
            }
            let mut view = ecs.cluster_view(&cluster, false);
            view.cluster.status = "INACTIVE".into();
            if let Some(c) = ecs.clusters.get_mut(&name) {
                c.status = "INACTIVE".into();
            }
            Ok(json!({ "cluster": view }))
        })
    }

    fn register_task_definition(&self, input: RegisterTaskDefinitionInput) -> Output {
        let mut def = input.definition;
        validate::task_definition(&mut def)?;
        self.app.store.write(|s| {
            let ecs = &mut s.ecs;
            let revisions = ecs.task_definitions.entry(def.family.clone()).or_default();
            def.revision = revisions.len() as u32 + 1;
            def.task_definition_arn =
                self.arn(&format!("task-definition/{}:{}", def.family, def.revision));
            def.status = "ACTIVE".into();
            def.registered_at = Some(Self::now());
            def.compatibilities = if def.network_mode.as_deref() == Some("awsvpc") {
                vec!["EC2".into(), "FARGATE".into()]
            } else {
                vec!["EC2".into()]
            };
            revisions.push(def.clone());
            let tags = input.tags;
            merge_tags(ecs, &def.task_definition_arn, tags.clone());
            Ok(json!({ "taskDefinition": def, "tags": tags }))
        })
    }

    fn deregister_task_definition(&self, input: TaskDefinitionRef) -> Output {
        if !input.task_definition.contains(':') {
            return Err(EcsError::client(
                "Revision must be specified: use family:revision or the full ARN.",
            ));
        }
        self.app.store.write(|s| {
            let found = s.ecs.find_task_definition(&input.task_definition).cloned();
            let Some(def) = found else {
                return Err(EcsError::client(
                    "The specified task definition does not exist.",
                ));
            };
            let revisions = s.ecs.task_definitions.get_mut(&def.family);
            let slot = revisions.and_then(|r| r.get_mut(def.revision as usize - 1));
            let Some(slot) = slot else {
                return Err(EcsError::client(
                    "The specified task definition does not exist.",
                ));
            };
            if slot.status == "ACTIVE" {
                slot.status = "INACTIVE".into();
                slot.deregistered_at = Some(Self::now());
            }
            Ok(json!({ "taskDefinition": slot.clone() }))
        })
    }

    fn describe_task_definition(&self, input: TaskDefinitionRef) -> Output {
        self.app.store.read(|s| {
            let def = s
                .ecs
                .find_task_definition(&input.task_definition)
                .ok_or_else(|| EcsError::client("Unable to describe task definition."))?;
            let mut out = json!({ "taskDefinition": def });
            if input.include.iter().any(|i| i == "TAGS") {
                out["tags"] = json!(s.ecs.tags_of(&def.task_definition_arn));
            }
            Ok(out)
        })
    }

    fn list_task_definitions(&self, input: ListTaskDefinitionsInput) -> Output {
        let status = input.status.as_deref().unwrap_or("ACTIVE");
        let mut arns: Vec<String> = self.app.store.read(|s| {
            s.ecs
                .task_definitions
                .iter()
                .filter(|(family, _)| {
                    input
                        .family_prefix
                        .as_deref()
                        .is_none_or(|p| family.starts_with(p))
                })
                .flat_map(|(_, revisions)| revisions.iter())
                .filter(|d| d.status == status)
                .map(|d| d.task_definition_arn.clone())
                .collect()
        });
        if input.sort.as_deref() == Some("DESC") {
            arns.reverse();
        }
        let (page, next) = paginate(arns, &input.page)?;
        Ok(json!({ "taskDefinitionArns": page, "nextToken": next }))
    }

    fn list_task_definition_families(&self, input: ListTaskDefinitionsInput) -> Output {
        let status = input.status.as_deref().unwrap_or("ACTIVE");
        let families: Vec<String> = self.app.store.read(|s| {
            s.ecs
                .task_definitions
                .iter()
                .filter(|(family, _)| {
                    input
                        .family_prefix
                        .as_deref()
                        .is_none_or(|p| family.starts_with(p))
                })
                .filter(|(_, revisions)| {
                    status == "ALL" || revisions.iter().any(|d| d.status == status)
                })
                .map(|(family, _)| family.clone())
                .collect()
        });
        let (page, next) = paginate(families, &input.page)?;
        Ok(json!({ "families": page, "nextToken": next }))
    }

    fn run_task(&self, input: RunTaskInput) -> Output {
        let count = input.count.unwrap_or(1);
        if !(1..=MAX_RUN_TASK_COUNT).contains(&count) {
            return Err(EcsError::invalid("count must be between 1 and 10."));
        }
        if let Some(lt) = input.launch_type.as_deref() {
            if lt != "FARGATE" {
                return Err(EcsError::invalid(format!(
                    "This emulator runs Fargate tasks only; launchType {lt} is not supported."
                )));
            }
        }
        if !input.capacity_provider_strategy.is_empty() && input.launch_type.is_some() {
            return Err(EcsError::invalid(
                "Specifying both a launch type and capacity provider strategy is not supported.",
            ));
        }
        let subnets = input
            .network_configuration
            .as_ref()
            .and_then(|n| n.awsvpc_configuration.as_ref())
            .map(|a| a.subnets.clone());
        let Some(subnets) = subnets else {
            return Err(EcsError::invalid(
                "Network Configuration must be provided when networkMode 'awsvpc' is specified.",
            ));
        };
        if subnets.is_empty() {
            return Err(EcsError::invalid("subnets can not be empty."));
        }
        let subnet = subnets[0].clone();
        self.app.store.write(|s| {
            let cluster_arn = self.cluster_arn(&mut s.ecs, input.cluster.as_deref())?;
            let def = s
                .ecs
                .find_task_definition(&input.task_definition)
                .cloned()
                .ok_or_else(|| EcsError::client("TaskDefinition not found."))?;
            if def.status != "ACTIVE" {
                return Err(EcsError::client("TaskDefinition is inactive"));
            }
            if !def.is_fargate() {
                return Err(EcsError::client(
                    "Task definition does not support launch_type FARGATE.",
                ));
            }
            let def = Arc::new(apply_overrides(
                def,
                input.overrides.clone().unwrap_or_default(),
            )?);
            let mut tasks = vec![];
            for _ in 0..count {
                let task = Task::launch(TaskLaunch {
                    cluster_arn: &cluster_arn,
                    definition: def.clone(),
                    subnet: &subnet,
                    group: input.group.clone(),
                    started_by: input.started_by.clone(),
                    tags: input.tags.clone(),
                    overrides: overrides_json(input.overrides.as_ref()),
                });
                merge_tags(&mut s.ecs, &task.task_arn, input.tags.clone());
                s.ecs.tasks.insert(task.task_arn.clone(), task.clone());
                tasks.push(task);
            }
            Ok(json!({ "tasks": tasks, "failures": [] }))
        })
    }

    fn stop_task(&self, input: StopTaskInput) -> Output {
        self.app.store.write(|s| {
            let cluster_arn = self.cluster_arn(&mut s.ecs, input.cluster.as_deref())?;
            let arn = s
                .ecs
                .find_task(&cluster_arn, &input.task)
                .map(|t| t.task_arn.clone())
                .ok_or_else(|| EcsError::invalid("The referenced task was not found."))?;
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
            return Err(EcsError::invalid(
                "Tasks cannot have more than 100 elements",
            ));
        }
        let with_tags = input.include.iter().any(|i| i == "TAGS");
        self.app.store.write(|s| {
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
                return Err(EcsError::invalid(format!("Invalid desiredStatus: {other}")))
            }
        };
        if input.launch_type.as_deref().is_some_and(|l| l != "FARGATE") {
            return Ok(json!({ "taskArns": [] }));
        }
        let service_group = input
            .service_name
            .as_ref()
            .map(|s| format!("service:{}", last_segment(s)));
        let arns = self.app.store.write(|s| {
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
        self.app.store.write(|s| {
            ensure_resource_exists(&s.ecs, &input.resource_arn)?;
            merge_tags(&mut s.ecs, &input.resource_arn, input.tags);
            Ok(json!({}))
        })
    }

    fn untag_resource(&self, input: TagResourceInput) -> Output {
        self.app.store.write(|s| {
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
        self.app.store.read(|s| {
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
        Err(EcsError {
            code: "InvalidParameterException",
            message: "The specified resource is not found.".into(),
        })
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
                .ok_or_else(|| EcsError::invalid("Invalid cpu override"))?
                .to_string(),
        );
    }
    if let Some(memory) = overrides.memory {
        def.memory = Some(
            validate::normalize_memory(&memory)
                .ok_or_else(|| EcsError::invalid("Invalid memory override"))?
                .to_string(),
        );
    }
    for o in overrides.container_overrides {
        let container = def
            .container_definitions
            .iter_mut()
            .find(|c| c.name == o.name)
            .ok_or_else(|| {
                EcsError::invalid(format!(
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
        return Err(EcsError::invalid("maxResults must be between 1 and 100."));
    }
    let start = match &page.next_token {
        Some(token) => token
            .parse::<usize>()
            .map_err(|_| EcsError::invalid("Invalid nextToken."))?,
        None => 0,
    };
    let total = items.len();
    let page_items: Vec<T> = items.into_iter().skip(start).take(size).collect();
    let next = (start + size < total).then(|| (start + size).to_string());
    Ok((page_items, next))
}
