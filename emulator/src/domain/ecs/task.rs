//! Tasks and their lifecycle.

use crate::domain::epoch_seconds;
use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use super::task_definition::TaskDefinition;
use super::{KeyValuePair, Tag};

/// `lastStatus` of a task, in lifecycle order.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskStatus {
    Provisioning,
    Pending,
    Activating,
    Running,
    Deactivating,
    Stopping,
    Deprovisioning,
    Stopped,
}

impl TaskStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Provisioning => "PROVISIONING",
            TaskStatus::Pending => "PENDING",
            TaskStatus::Activating => "ACTIVATING",
            TaskStatus::Running => "RUNNING",
            TaskStatus::Deactivating => "DEACTIVATING",
            TaskStatus::Stopping => "STOPPING",
            TaskStatus::Deprovisioning => "DEPROVISIONING",
            TaskStatus::Stopped => "STOPPED",
        }
    }

    /// Counted in a cluster's `pendingTasksCount`.
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            TaskStatus::Provisioning | TaskStatus::Pending | TaskStatus::Activating
        )
    }
}

/// `healthStatus` of a task or a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HealthStatus {
    Healthy,
    Unhealthy,
    Unknown,
}

/// `status` of the task's ENI attachment, in lifecycle order (ECS also has
/// ATTACHING, which the emulator passes over).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AttachmentStatus {
    Precreated,
    Attached,
    Detaching,
    Deleted,
}

/// Why a task stopped (`stopCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
pub enum StopCode {
    TaskFailedToStart,
    EssentialContainerExited,
    UserInitiated,
    ServiceSchedulerInitiated,
}

#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_arn: String,
    pub cluster_arn: String,
    pub task_definition_arn: String,
    pub last_status: TaskStatus,
    /// RUNNING or STOPPED.
    pub desired_status: TaskStatus,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub launch_type: &'static str,
    /// Set when a capacity provider strategy placed the task.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub capacity_provider_name: Option<String>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub platform_version: &'static str,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub platform_family: &'static str,
    pub availability_zone: String,
    pub cpu: String,
    pub memory: String,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub connectivity: Option<&'static str>,
    #[serde(
        with = "epoch_seconds::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub connectivity_at: Option<OffsetDateTime>,
    #[serde(with = "epoch_seconds")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created_at: OffsetDateTime,
    #[serde(
        with = "epoch_seconds::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub pull_started_at: Option<OffsetDateTime>,
    #[serde(
        with = "epoch_seconds::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub pull_stopped_at: Option<OffsetDateTime>,
    #[serde(
        with = "epoch_seconds::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(
        with = "epoch_seconds::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub stopping_at: Option<OffsetDateTime>,
    #[serde(
        with = "epoch_seconds::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub stopped_at: Option<OffsetDateTime>,
    #[serde(
        with = "epoch_seconds::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub execution_stopped_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<StopCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    /// From the essential containers.
    pub health_status: HealthStatus,
    pub containers: Vec<Container>,
    pub attachments: Vec<Attachment>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub overrides: serde_json::Value,
    /// Bumped on every change, as ECS does.
    pub version: u64,
    pub enable_execute_command: bool,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub ephemeral_storage: serde_json::Value,
    pub tags: Vec<Tag>,

    /// The definition the task runs (with overrides applied).
    #[serde(skip)]
    pub definition: Arc<TaskDefinition>,
    /// Runtime-side facts the API never shows.
    #[serde(skip)]
    pub runtime: TaskRuntime,
}

/// What the task runner knows about the Docker side of a task.
#[derive(Debug, Clone, Default, BorshSerialize, BorshDeserialize)]
pub struct TaskRuntime {
    /// The sandbox (pause) container holding the network namespace.
    pub sandbox_id: Option<String>,
    /// The id in the task's `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, when
    /// it has a task role.
    pub credentials_id: Option<String>,
    /// The task role's credentials last issued to the task.
    pub role_credentials: Option<crate::domain::iam::RoleCredentials>,
    /// The real instant the STOPPED task may be forgotten.
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub expires_at: Option<OffsetDateTime>,
    /// The security groups of the task's ENI.
    pub security_groups: Vec<String>,
    /// The EC2 network interface, once created, and its VPC.
    pub eni_id: Option<String>,
    pub vpc_id: Option<String>,
    /// Target-group registrations the service scheduler made for this task.
    /// The task runner does not stop a task's containers while any remain:
    /// the task sits in DEACTIVATING until its targets have drained.
    pub targets: Vec<TargetRef>,
}

/// One registration of a task in a target group.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TargetRef {
    pub target_group_arn: String,
    pub ip: std::net::IpAddr,
    pub port: u16,
}

#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Container {
    pub container_arn: String,
    pub task_arn: String,
    pub name: String,
    pub image: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_digest: Option<String>,
    /// The Docker container id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runtime_id: Option<String>,
    pub last_status: TaskStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub network_bindings: Vec<serde_json::Value>,
    pub network_interfaces: Vec<NetworkInterface>,
    pub health_status: HealthStatus,
    pub cpu: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip)]
    pub essential: bool,
}

#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    pub attachment_id: String,
    pub private_ipv4_address: String,
}

/// The task's ENI (`type: ElasticNetworkInterface`).
#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: String,
    #[serde(rename = "type")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub kind: &'static str,
    pub status: AttachmentStatus,
    pub details: Vec<KeyValuePair>,
}

/// What a new task is made from (RunTask, or the service scheduler).
pub struct TaskLaunch<'a> {
    pub cluster_arn: &'a str,
    pub definition: Arc<TaskDefinition>,
    /// The subnet (resolved against EC2), its AZ and the security groups.
    pub network: &'a super::network::Placement,
    /// `service:NAME` for service tasks; defaults to `family:FAMILY`.
    pub group: Option<String>,
    /// The deployment id for service tasks.
    pub started_by: Option<String>,
    pub tags: Vec<Tag>,
    /// The `overrides` member as the API shows it.
    pub overrides: serde_json::Value,
    /// The capacity provider a strategy picked (`None` for a launch type).
    pub capacity_provider: Option<String>,
}

impl Task {
    /// A new PROVISIONING task; the task runner takes it from there.
    pub fn launch(launch: TaskLaunch<'_>) -> Task {
        let def = launch.definition;
        // `arn:aws:ecs:REGION:ACCOUNT:` from the cluster's ARN.
        let prefix = launch
            .cluster_arn
            .split_once("cluster/")
            .map(|(p, _)| p)
            .unwrap_or("arn:aws:ecs:us-east-1:000000000000:");
        let cluster_name = crate::domain::arn::last_segment(launch.cluster_arn);
        let id = crate::domain::arn::random_hex(32);
        let task_arn = format!("{prefix}task/{cluster_name}/{id}");
        let containers = def
            .container_definitions
            .iter()
            .map(|c| Container {
                container_arn: format!(
                    "{prefix}container/{cluster_name}/{id}/{}",
                    uuid::Uuid::new_v4()
                ),
                task_arn: task_arn.clone(),
                name: c.name.clone(),
                image: c.image.clone(),
                image_digest: None,
                runtime_id: None,
                last_status: TaskStatus::Pending,
                exit_code: None,
                reason: None,
                network_bindings: vec![],
                network_interfaces: vec![],
                health_status: HealthStatus::Unknown,
                cpu: c.cpu.to_string(),
                memory: c.memory.map(|m| m.to_string()),
                essential: c.essential,
            })
            .collect();
        Task {
            task_arn,
            cluster_arn: launch.cluster_arn.to_string(),
            task_definition_arn: def.task_definition_arn.clone(),
            last_status: TaskStatus::Provisioning,
            desired_status: TaskStatus::Running,
            launch_type: "FARGATE",
            capacity_provider_name: launch.capacity_provider,
            platform_version: "1.4.0",
            platform_family: "Linux",
            availability_zone: launch.network.availability_zone.clone(),
            cpu: def.cpu.clone().unwrap_or_default(),
            memory: def.memory.clone().unwrap_or_default(),
            connectivity: None,
            connectivity_at: None,
            created_at: OffsetDateTime::now_utc(),
            pull_started_at: None,
            pull_stopped_at: None,
            started_at: None,
            stopping_at: None,
            stopped_at: None,
            execution_stopped_at: None,
            stop_code: None,
            stopped_reason: None,
            group: Some(
                launch
                    .group
                    .unwrap_or_else(|| format!("family:{}", def.family)),
            ),
            started_by: launch.started_by,
            health_status: HealthStatus::Unknown,
            containers,
            attachments: vec![Attachment {
                id: uuid::Uuid::new_v4().to_string(),
                kind: "ElasticNetworkInterface",
                status: AttachmentStatus::Precreated,
                details: vec![KeyValuePair {
                    name: "subnetId".into(),
                    value: launch.network.subnet_id.clone(),
                }],
            }],
            overrides: launch.overrides,
            version: 1,
            enable_execute_command: false,
            ephemeral_storage: serde_json::json!({ "sizeInGiB": 20 }),
            tags: launch.tags,
            definition: def,
            runtime: TaskRuntime {
                security_groups: launch.network.security_groups.clone(),
                ..TaskRuntime::default()
            },
        }
    }

    /// The 32-hex task id (the last part of the ARN).
    pub fn id(&self) -> &str {
        crate::domain::arn::last_segment(&self.task_arn)
    }

    /// The task's private IP, once its ENI is attached.
    pub fn private_ip(&self) -> Option<&str> {
        self.attachments
            .iter()
            .flat_map(|a| a.details.iter())
            .find(|d| d.name == "privateIPv4Address")
            .map(|d| d.value.as_str())
    }

    /// Moves `lastStatus` forward; a task never goes back.
    pub fn advance(&mut self, status: TaskStatus) {
        if status > self.last_status {
            self.last_status = status;
            self.version += 1;
        }
    }

    /// Records the first reason the task is stopping; later reasons do not
    /// overwrite it (the first cause is the one users need to see).
    pub fn request_stop(&mut self, code: StopCode, reason: impl Into<String>) {
        if self.desired_status != TaskStatus::Stopped {
            self.desired_status = TaskStatus::Stopped;
            self.stop_code = Some(code);
            self.stopped_reason = Some(reason.into());
            self.version += 1;
        }
    }

    /// Derives the task health from its essential containers.
    pub fn refresh_health(&mut self) {
        let essential = self.containers.iter().filter(|c| c.essential);
        let mut status = HealthStatus::Healthy;
        let mut any_checked = false;
        for c in essential {
            match c.health_status {
                HealthStatus::Unhealthy => {
                    status = HealthStatus::Unhealthy;
                    any_checked = true;
                    break;
                }
                HealthStatus::Healthy => any_checked = true,
                HealthStatus::Unknown => {
                    if self
                        .definition
                        .container(&c.name)
                        .and_then(|d| d.health_check.as_ref())
                        .is_some()
                    {
                        status = HealthStatus::Unknown;
                        any_checked = true;
                    }
                }
            }
        }
        self.health_status = if any_checked {
            status
        } else {
            HealthStatus::Unknown
        };
    }

    /// Environment from the definition, then overrides.
    pub fn container_environment(&self, name: &str) -> Vec<KeyValuePair> {
        self.definition
            .container(name)
            .map(|c| c.environment.clone())
            .unwrap_or_default()
    }
}
