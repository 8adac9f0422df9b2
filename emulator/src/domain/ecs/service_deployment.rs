//! Service revisions and service deployments: the history ECS keeps of a
//! service's rollouts (ListServiceDeployments, DescribeServiceDeployments,
//! DescribeServiceRevisions, StopServiceDeployment). A service revision is
//! what a deployment rolls out (task definition, network, load balancers);
//! a service deployment is one rollout from the running revisions to a
//! target revision, with its status as it goes.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::service::{DeploymentConfiguration, LaunchSettings, LoadBalancerRef, ServiceRegistry};
use super::service_connect::ServiceConnectConfiguration;
use crate::domain::epoch_seconds;
use crate::domain::persist::field;

/// How far a service deployment has got (`ServiceDeploymentStatus`).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceDeploymentStatus {
    Pending,
    InProgress,
    Successful,
    StopRequested,
    Stopped,
    RollbackRequested,
    RollbackInProgress,
    RollbackSuccessful,
    RollbackFailed,
}

impl ServiceDeploymentStatus {
    pub fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).ok()
    }

    pub fn in_progress(self) -> bool {
        matches!(self, Self::InProgress | Self::RollbackInProgress)
    }
}

/// A container's image in a revision.
#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerImage {
    pub container_name: String,
    pub image: String,
}

impl ContainerImage {
    /// The images of a task definition's containers.
    pub fn of(definition: &super::TaskDefinition) -> Vec<Self> {
        definition
            .container_definitions
            .iter()
            .map(|c| Self {
                container_name: c.name.clone(),
                image: c.image.clone(),
            })
            .collect()
    }
}

/// One service revision, as DescribeServiceRevisions shows it.
#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRevision {
    pub service_revision_arn: String,
    pub service_arn: String,
    pub cluster_arn: String,
    pub task_definition: String,
    #[serde(flatten)]
    pub launch: LaunchSettings,
    pub load_balancers: Vec<LoadBalancerRef>,
    pub service_registries: Vec<ServiceRegistry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration: Option<ServiceConnectConfiguration>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub network_configuration: serde_json::Value,
    pub container_images: Vec<ContainerImage>,
    pub guard_duty_enabled: bool,
    #[serde(with = "epoch_seconds")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created_at: OffsetDateTime,
}

/// Task counts of one revision in a deployment (`ServiceRevisionSummary`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RevisionCounts {
    pub requested: u32,
    pub running: u32,
    pub pending: u32,
}

/// A rollback under way or done (`Rollback`).
#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rollback {
    pub reason: String,
    #[serde(with = "epoch_seconds")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub started_at: OffsetDateTime,
    pub service_revision_arn: String,
}

/// One service deployment. Its wire shape is built by the API layer, which
/// adds the live task counts of each revision.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct ServiceDeploymentRecord {
    pub arn: String,
    /// The `deployments[]` entry (ecs-svc/...) that rolls out the target.
    pub deployment_id: String,
    /// The `deployments[]` entry of a rollback, once one started.
    pub rollback_deployment_id: Option<String>,
    pub source_revision_arns: Vec<String>,
    pub target_revision_arn: String,
    pub status: ServiceDeploymentStatus,
    pub status_reason: Option<String>,
    pub deployment_configuration: DeploymentConfiguration,
    pub rollback: Option<Rollback>,
    /// The target's counts when the deployment ended (live counts come from
    /// the service's deployments while they last).
    pub final_counts: RevisionCounts,
    pub failure_count: u32,
    pub breaker_threshold: u32,
    /// The stages and traffic weights of a BLUE_GREEN, LINEAR or CANARY
    /// deployment; `None` for one that rolls.
    pub shift: Option<super::blue_green::TrafficShift>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created_at: OffsetDateTime,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub updated_at: OffsetDateTime,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub finished_at: Option<OffsetDateTime>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub stopped_at: Option<OffsetDateTime>,
}

impl ServiceDeploymentRecord {
    /// Ends it with `status`: SUCCESSFUL and ROLLBACK_SUCCESSFUL finish it,
    /// STOPPED stops it.
    pub fn end(
        &mut self,
        status: ServiceDeploymentStatus,
        reason: Option<String>,
        now: OffsetDateTime,
    ) {
        self.status = status;
        if reason.is_some() {
            self.status_reason = reason;
        }
        self.updated_at = now;
        match status {
            ServiceDeploymentStatus::Stopped => self.stopped_at = Some(now),
            _ => self.finished_at = Some(now),
        }
    }

    /// A rollback to `revision_arn`, by the `deployments[]` entry
    /// `rollback_deployment_id`, begins.
    pub fn start_rollback(
        &mut self,
        status: ServiceDeploymentStatus,
        failures: u32,
        reason: &str,
        rollback_deployment_id: String,
        revision_arn: String,
    ) {
        let now = OffsetDateTime::now_utc();
        self.status = status;
        self.failure_count = failures;
        self.status_reason = Some(reason.to_string());
        self.rollback_deployment_id = Some(rollback_deployment_id);
        self.rollback = Some(Rollback {
            reason: reason.to_string(),
            started_at: now,
            service_revision_arn: revision_arn,
        });
        self.updated_at = now;
    }

    /// The `deployments[]` entry the record now follows.
    pub fn current_deployment_id(&self) -> &str {
        self.rollback_deployment_id
            .as_deref()
            .unwrap_or(&self.deployment_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> ServiceDeploymentRecord {
        let now = OffsetDateTime::UNIX_EPOCH;
        ServiceDeploymentRecord {
            arn: "arn:aws:ecs:us-east-1:1:service-deployment/c/s/abc".into(),
            deployment_id: "ecs-svc/1".into(),
            rollback_deployment_id: None,
            source_revision_arns: vec![],
            target_revision_arn: "rev".into(),
            status: ServiceDeploymentStatus::InProgress,
            status_reason: None,
            deployment_configuration: DeploymentConfiguration::default(),
            rollback: None,
            final_counts: RevisionCounts::default(),
            failure_count: 0,
            breaker_threshold: 3,
            shift: None,
            created_at: now,
            updated_at: now,
            finished_at: None,
            stopped_at: None,
        }
    }

    #[test]
    fn a_record_follows_its_rollback_and_ends_by_finishing_or_stopping() {
        let mut r = record();
        assert_eq!(r.current_deployment_id(), "ecs-svc/1");
        r.rollback_deployment_id = Some("ecs-svc/2".into());
        assert_eq!(r.current_deployment_id(), "ecs-svc/2");
        let later = OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(5);
        r.end(ServiceDeploymentStatus::RollbackSuccessful, None, later);
        assert_eq!(
            (r.finished_at, r.stopped_at, r.updated_at),
            (Some(later), None, later)
        );
        let mut r = record();
        r.end(
            ServiceDeploymentStatus::Stopped,
            Some("stopped".into()),
            later,
        );
        assert_eq!((r.finished_at, r.stopped_at), (None, Some(later)));
        assert_eq!(r.status_reason.as_deref(), Some("stopped"));
    }

    #[test]
    fn statuses_use_aws_strings_both_ways() {
        assert_eq!(
            serde_json::to_value(ServiceDeploymentStatus::RollbackInProgress).unwrap(),
            "ROLLBACK_IN_PROGRESS"
        );
        assert_eq!(
            ServiceDeploymentStatus::parse("SUCCESSFUL"),
            Some(ServiceDeploymentStatus::Successful)
        );
        assert_eq!(ServiceDeploymentStatus::parse("DONE"), None);
        assert!(ServiceDeploymentStatus::RollbackInProgress.in_progress());
        assert!(!ServiceDeploymentStatus::Stopped.in_progress());
    }
}
