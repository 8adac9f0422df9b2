//! Tasks and their lifecycle (aws-semantics C1).

use std::sync::Arc;

use serde::Serialize;
use time::OffsetDateTime;

use super::task_definition::TaskDefinition;
use super::{ts, KeyValuePair, Tag};

/// `lastStatus` of a task, in lifecycle order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
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

/// Why a task stopped (`stopCode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum StopCode {
    TaskFailedToStart,
    EssentialContainerExited,
    UserInitiated,
    ServiceSchedulerInitiated,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Task {
    pub task_arn: String,
    pub cluster_arn: String,
    pub task_definition_arn: String,
    pub last_status: TaskStatus,
    /// RUNNING or STOPPED.
    pub desired_status: TaskStatus,
    pub launch_type: &'static str,
    pub capacity_provider_name: &'static str,
    pub platform_version: &'static str,
    pub platform_family: &'static str,
    pub availability_zone: String,
    pub cpu: String,
    pub memory: String,
    pub connectivity: Option<&'static str>,
    #[serde(with = "ts::option", skip_serializing_if = "Option::is_none")]
    pub connectivity_at: Option<OffsetDateTime>,
    #[serde(with = "ts")]
    pub created_at: OffsetDateTime,
    #[serde(with = "ts::option", skip_serializing_if = "Option::is_none")]
    pub pull_started_at: Option<OffsetDateTime>,
    #[serde(with = "ts::option", skip_serializing_if = "Option::is_none")]
    pub pull_stopped_at: Option<OffsetDateTime>,
    #[serde(with = "ts::option", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<OffsetDateTime>,
    #[serde(with = "ts::option", skip_serializing_if = "Option::is_none")]
    pub stopping_at: Option<OffsetDateTime>,
    #[serde(with = "ts::option", skip_serializing_if = "Option::is_none")]
    pub stopped_at: Option<OffsetDateTime>,
    #[serde(with = "ts::option", skip_serializing_if = "Option::is_none")]
    pub execution_stopped_at: Option<OffsetDateTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_code: Option<StopCode>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_by: Option<String>,
    /// HEALTHY, UNHEALTHY or UNKNOWN, from the essential containers.
    pub health_status: &'static str,
    pub containers: Vec<Container>,
    pub attachments: Vec<Attachment>,
    pub overrides: serde_json::Value,
    /// Bumped on every change, as ECS does.
    pub version: u64,
    pub enable_execute_command: bool,
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
#[derive(Debug, Clone, Default)]
pub struct TaskRuntime {
    /// The sandbox (pause) container holding the network namespace.
    pub sandbox_id: Option<String>,
    /// The metadata endpoint base URL, without the container suffix.
    pub metadata_base: Option<String>,
    /// The real instant the STOPPED task may be forgotten.
    pub expires_at: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, Serialize)]
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
    pub network_bindings: Vec<serde_json::Value>,
    pub network_interfaces: Vec<NetworkInterface>,
    /// HEALTHY, UNHEALTHY or UNKNOWN.
    pub health_status: &'static str,
    pub cpu: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip)]
    pub essential: bool,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NetworkInterface {
    pub attachment_id: String,
    pub private_ipv4_address: String,
}

/// The task's ENI (`type: ElasticNetworkInterface`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Attachment {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// PRECREATED, ATTACHING, ATTACHED, DETACHING or DELETED.
    pub status: &'static str,
    pub details: Vec<KeyValuePair>,
}

impl Task {
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
        let mut status = "HEALTHY";
        let mut any_checked = false;
        for c in essential {
            match c.health_status {
                "UNHEALTHY" => {
                    status = "UNHEALTHY";
                    any_checked = true;
                    break;
                }
                "HEALTHY" => any_checked = true,
                _ => {
                    if self
                        .definition
                        .container(&c.name)
                        .and_then(|d| d.health_check.as_ref())
                        .is_some()
                    {
                        status = "UNKNOWN";
                        any_checked = true;
                    }
                }
            }
        }
        self.health_status = if any_checked { status } else { "UNKNOWN" };
    }

    /// Environment from the definition, then overrides.
    pub fn container_environment(&self, name: &str) -> Vec<KeyValuePair> {
        self.definition
            .container(name)
            .map(|c| c.environment.clone())
            .unwrap_or_default()
    }
}
