//! ECS resource model. The structs serialize straight to the ECS wire shape
//! (camelCase JSON), so what DescribeTasks returns is what the store holds;
//! runtime-only fields are `#[serde(skip)]`.

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

pub mod account_settings;
pub mod blue_green;
pub mod capacity;
pub mod container_options;
pub mod dependencies;
pub mod network;
pub mod service;
pub mod service_connect;
pub mod service_deployment;
pub mod task;
pub mod task_definition;
pub mod validate;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use task::{Attachment, Container, HealthStatus, Task, TaskStatus};
pub use task_definition::{ContainerDefinition, TaskDefinition, TaskDefinitionStatus};

/// The cluster used when a request names none. AWS creates it on first use;
/// so does the emulator, for any request that leaves `cluster` out.
pub const DEFAULT_CLUSTER: &str = "default";

#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct EcsState {
    /// By name. Deleted clusters stay as INACTIVE, as in AWS.
    pub clusters: BTreeMap<String, Cluster>,
    /// By family; revision N is at index N-1.
    pub task_definitions: BTreeMap<String, Vec<TaskDefinition>>,
    /// By ARN.
    pub tasks: BTreeMap<String, Task>,
    /// By ARN.
    pub services: BTreeMap<String, service::Service>,
    /// Tags by resource ARN.
    pub tags: BTreeMap<String, Vec<Tag>>,
    /// Custom capacity providers (Fargate's two are built in).
    pub capacity_providers: capacity::CapacityProviders,
    pub account_settings: account_settings::AccountSettings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
pub struct KeyValuePair {
    pub name: String,
    #[serde(default)]
    pub value: String,
}

/// `status` of a cluster: ACTIVE, or INACTIVE once deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ClusterStatus {
    Active,
    Inactive,
}

impl ClusterStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Inactive => "INACTIVE",
        }
    }
}

#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cluster {
    pub cluster_arn: String,
    pub cluster_name: String,
    pub status: ClusterStatus,
    #[serde(skip)]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created_at: Option<OffsetDateTime>,
    pub settings: Vec<KeyValuePair>,
    /// Associated through CreateCluster or PutClusterCapacityProviders.
    pub capacity_providers: Vec<String>,
    pub default_capacity_provider_strategy: Vec<capacity::StrategyItem>,
    /// `executeCommandConfiguration` and `managedStorageConfiguration`,
    /// stored and echoed: ECS Exec and managed storage are not emulated.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub configuration: Option<serde_json::Value>,
    /// The Cloud Map namespace for Service Connect, stored and echoed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub service_connect_defaults: Option<serde_json::Value>,
}

/// The wire form of a cluster, with counts derived from the tasks.
#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    #[serde(flatten)]
    pub cluster: Cluster,
    pub registered_container_instances_count: u32,
    pub running_tasks_count: u32,
    pub pending_tasks_count: u32,
    pub active_services_count: u32,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub statistics: Vec<serde_json::Value>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub attachments: Vec<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<Tag>>,
}

impl EcsState {
    pub fn cluster_view(&self, cluster: &Cluster, with_tags: bool) -> ClusterView {
        let in_cluster = || {
            self.tasks
                .values()
                .filter(|t| t.cluster_arn == cluster.cluster_arn)
        };
        ClusterView {
            cluster: cluster.clone(),
            registered_container_instances_count: 0,
            running_tasks_count: in_cluster()
                .filter(|t| t.last_status == TaskStatus::Running)
                .count() as u32,
            pending_tasks_count: in_cluster().filter(|t| t.last_status.is_pending()).count() as u32,
            active_services_count: self
                .services
                .values()
                .filter(|svc| {
                    svc.cluster_arn == cluster.cluster_arn
                        && svc.status == service::ServiceStatus::Active
                })
                .count() as u32,
            statistics: vec![],
            attachments: vec![],
            tags: with_tags.then(|| self.tags_of(&cluster.cluster_arn)),
        }
    }

    pub fn tags_of(&self, arn: &str) -> Vec<Tag> {
        self.tags.get(arn).cloned().unwrap_or_default()
    }

    /// Looks a task definition up by `family`, `family:revision` or ARN.
    /// A bare family means its latest ACTIVE revision.
    pub fn find_task_definition(&self, reference: &str) -> Option<&TaskDefinition> {
        let reference = reference
            .split_once(":task-definition/")
            .map(|(_, r)| r)
            .unwrap_or(reference);
        match reference.rsplit_once(':') {
            Some((family, revision)) => {
                let revision: usize = revision.parse().ok()?;
                self.task_definitions
                    .get(family)?
                    .get(revision.checked_sub(1)?)
            }
            None => self
                .task_definitions
                .get(reference)?
                .iter()
                .rev()
                .find(|d| d.status == TaskDefinitionStatus::Active),
        }
    }

    /// A task by ARN or id, within `cluster_arn`.
    pub fn find_task(&self, cluster_arn: &str, reference: &str) -> Option<&Task> {
        match self.tasks.get(reference) {
            Some(t) if t.cluster_arn == cluster_arn => Some(t),
            Some(_) => None,
            None => self
                .tasks
                .values()
                .find(|t| t.cluster_arn == cluster_arn && t.id() == reference),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::capacity::{CapacityProviderStatus, CapacityProviderUpdateStatus};
    use super::service::{DeploymentStatus, RolloutState, ServiceStatus};
    use super::task::AttachmentStatus;
    use super::*;

    fn wire(value: impl Serialize) -> String {
        serde_json::to_value(value)
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn statuses_serialise_as_aws_strings() {
        for (s, text) in [
            (ServiceStatus::Active, "ACTIVE"),
            (ServiceStatus::Draining, "DRAINING"),
            (ServiceStatus::Inactive, "INACTIVE"),
        ] {
            assert_eq!((wire(s), s.as_str()), (text.to_string(), text));
        }
        for (s, text) in [
            (ClusterStatus::Active, "ACTIVE"),
            (ClusterStatus::Inactive, "INACTIVE"),
        ] {
            assert_eq!((wire(s), s.as_str()), (text.to_string(), text));
        }
        for (s, text) in [
            (TaskDefinitionStatus::Active, "ACTIVE"),
            (TaskDefinitionStatus::Inactive, "INACTIVE"),
            (TaskDefinitionStatus::DeleteInProgress, "DELETE_IN_PROGRESS"),
        ] {
            assert_eq!((wire(s), s.as_str()), (text.to_string(), text));
        }
        assert_eq!(wire(DeploymentStatus::Primary), "PRIMARY");
        assert_eq!(wire(DeploymentStatus::Active), "ACTIVE");
        assert_eq!(wire(RolloutState::InProgress), "IN_PROGRESS");
        assert_eq!(wire(RolloutState::Completed), "COMPLETED");
        assert_eq!(wire(RolloutState::Failed), "FAILED");
        assert_eq!(wire(HealthStatus::Healthy), "HEALTHY");
        assert_eq!(wire(HealthStatus::Unhealthy), "UNHEALTHY");
        assert_eq!(wire(HealthStatus::Unknown), "UNKNOWN");
        assert_eq!(wire(AttachmentStatus::Precreated), "PRECREATED");
        assert_eq!(wire(AttachmentStatus::Attached), "ATTACHED");
        assert_eq!(wire(AttachmentStatus::Detaching), "DETACHING");
        assert_eq!(wire(AttachmentStatus::Deleted), "DELETED");
        assert_eq!(wire(CapacityProviderStatus::Active), "ACTIVE");
        assert_eq!(wire(CapacityProviderStatus::Inactive), "INACTIVE");
        assert_eq!(
            wire(CapacityProviderUpdateStatus::UpdateComplete),
            "UPDATE_COMPLETE"
        );
        assert_eq!(
            wire(CapacityProviderUpdateStatus::DeleteComplete),
            "DELETE_COMPLETE"
        );
    }

    #[test]
    fn a_status_in_registration_input_is_read_as_a_string_and_ignored() {
        let input = |status: serde_json::Value| {
            serde_json::from_value::<TaskDefinition>(serde_json::json!({
                "family": "f",
                "containerDefinitions": [],
                "status": status,
            }))
        };
        let def = input("DELETE_IN_PROGRESS".into()).unwrap();
        assert_eq!(def.status, TaskDefinitionStatus::Active);
        assert_eq!(
            input("ANYTHING".into()).unwrap().status,
            TaskDefinitionStatus::Active
        );
        assert!(input(3.into()).is_err());
    }
}
