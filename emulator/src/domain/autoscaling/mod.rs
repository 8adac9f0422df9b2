//! Application Auto Scaling: scalable targets, target
//! tracking policies, scaling activities, and the pure rules that turn a
//! metric datapoint into a new capacity (alarms, cooldowns, min and max).
//!
//! Only ECS services are scalable here (`ecs` / `ecs:service:DesiredCount`),
//! and only with target tracking: step scaling needs CloudWatch alarms that
//! the user creates, and the emulator has no CloudWatch. The reconciler in
//! `reconcilers::autoscaling` measures the metrics and applies decisions.
//! <https://docs.aws.amazon.com/autoscaling/application/APIReference/Welcome.html>
//!
//! # Layout
//! - this file: the resource model (every struct and enum; `build.rs`
//!   fingerprints them in path and file order), the limits and the errors.
//! - `tracking`: target tracking: configuration checks, alarms, votes and
//!   decisions.
//! - `targets`: the scaled ECS service, scaling activities, target lookups.
//! - `tests`: the unit tests.

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

mod targets;
mod tracking;

pub use targets::{ecs_service, scale_service};
pub use tracking::{resolve_resource_label, tracking_capacity};

/// The only service namespace the emulator scales.
pub const ECS_NAMESPACE: &str = "ecs";
/// The only scalable dimension of an ECS service.
pub const ECS_DESIRED_COUNT: &str = "ecs:service:DesiredCount";
/// The only policy type the emulator runs.
pub const TARGET_TRACKING: &str = "TargetTrackingScaling";
/// `PredefinedMetricType`s an ECS service can track.
pub const ALB_REQUEST_COUNT_PER_TARGET: &str = "ALBRequestCountPerTarget";
pub const ECS_CPU: &str = "ECSServiceAverageCPUUtilization";
pub const ECS_MEMORY: &str = "ECSServiceAverageMemoryUtilization";

/// ScaleOutCooldown and ScaleInCooldown when a policy leaves them out
/// (ECS: 300 s for both).
pub const DEFAULT_ECS_COOLDOWN_SECS: u32 = 300;
/// Largest cooldown accepted (AWS: one year).
pub const MAX_COOLDOWN_SECS: i64 = 365 * 24 * 3600;
/// Scaling policies per scalable target (AWS quota: 50).
pub const MAX_POLICIES_PER_TARGET: usize = 50;
/// Scalable targets per account and resource type (AWS quota: 3000).
pub const MAX_SCALABLE_TARGETS: usize = 3000;
/// Scaling activities kept per scalable target, newest first. AWS keeps six
/// weeks of history; this bounds memory instead.
pub const MAX_ACTIVITIES_PER_TARGET: usize = 500;
/// Consecutive datapoints above the target value that put AlarmHigh in
/// ALARM (AWS target tracking: 3 out of 3 one-minute datapoints).
pub const ALARM_HIGH_DATAPOINTS: u32 = 3;
/// AlarmLow's threshold as a share of the target value (AWS: 90 %).
pub const ALARM_LOW_RATIO: f64 = 0.9;
/// Fewest datapoints below the low threshold before AlarmLow fires. AWS asks
/// for 15 one-minute datapoints; here AlarmLow fires once the metric has
/// stayed low for the scale-in cooldown and at least this many datapoints.
pub const ALARM_LOW_MIN_DATAPOINTS: u32 = 3;
/// The role AWS reports when RegisterScalableTarget names none: the
/// service-linked role for ECS.
pub const ECS_SERVICE_LINKED_ROLE: &str = "role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService";

/// Why an Application Auto Scaling request was refused: one variant per
/// error shape, whose text is the client-facing message. The API layer maps
/// it to the awsJson1_1 error (`api::autoscaling`); [`ScalingError::code`]
/// is the `__type`. Every variant is a client error (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ScalingError {
    /// A parameter that is missing, malformed or out of range.
    #[error("{0}")]
    Validation(String),
    /// A scalable target or scaling policy that does not exist.
    #[error("{0}")]
    ObjectNotFound(String),
    /// Too many scalable targets, or scaling policies on one.
    #[error("{0}")]
    LimitExceeded(String),
    #[error("The NextToken value is not valid.")]
    InvalidNextToken,
}

impl ScalingError {
    /// The wire error code (the error shape's name).
    pub fn code(&self) -> &'static str {
        match self {
            ScalingError::Validation(_) => "ValidationException",
            ScalingError::ObjectNotFound(_) => "ObjectNotFoundException",
            ScalingError::LimitExceeded(_) => "LimitExceededException",
            ScalingError::InvalidNextToken => "InvalidNextTokenException",
        }
    }
}

/// What names a scalable target: namespace, resource id and dimension.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, BorshDeserialize)]
pub struct TargetKey {
    pub namespace: String,
    pub resource_id: String,
    pub dimension: String,
}

impl TargetKey {
    /// Checks that the triple names an ECS service's desired count, with a
    /// resource id of the form `service/CLUSTER/SERVICE`.
    pub fn new(namespace: &str, resource_id: &str, dimension: &str) -> Result<Self, ScalingError> {
        if namespace != ECS_NAMESPACE {
            return Err(ScalingError::Validation(format!(
                "Unsupported service namespace: {namespace}. This emulator scales ECS services only (ServiceNamespace=ecs)."
            )));
        }
        if dimension != ECS_DESIRED_COUNT {
            return Err(ScalingError::Validation(format!(
                "Unsupported scalable dimension: {dimension}. The scalable dimension of an ECS service is {ECS_DESIRED_COUNT}."
            )));
        }
        let parts: Vec<&str> = resource_id.split('/').collect();
        if parts.len() != 3 || parts[0] != "service" || parts.iter().any(|p| p.is_empty()) {
            return Err(ScalingError::Validation(format!(
                "Unsupported resource ID: {resource_id}. An ECS service's resource ID is service/CLUSTER/SERVICE."
            )));
        }
        Ok(Self {
            namespace: namespace.to_string(),
            resource_id: resource_id.to_string(),
            dimension: dimension.to_string(),
        })
    }

    /// The cluster and service names in `service/CLUSTER/SERVICE`.
    pub fn ecs_service(&self) -> (&str, &str) {
        let mut parts = self.resource_id.splitn(3, '/').skip(1);
        (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        )
    }

    /// How AWS names a target in its error messages.
    pub fn describe(&self) -> String {
        format!(
            "service namespace: {}, resource ID: {}, scalable dimension: {}",
            self.namespace, self.resource_id, self.dimension
        )
    }
}

/// `SuspendedState`: which kinds of scaling are paused.
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Serialize,
    Deserialize,
    BorshSerialize,
    BorshDeserialize,
)]
#[serde(rename_all = "PascalCase")]
pub struct SuspendedState {
    #[serde(default)]
    pub dynamic_scaling_in_suspended: bool,
    #[serde(default)]
    pub dynamic_scaling_out_suspended: bool,
    #[serde(default)]
    pub scheduled_scaling_suspended: bool,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct ScalableTarget {
    pub key: TargetKey,
    /// `arn:aws:application-autoscaling:REGION:ACCOUNT:scalable-target/ID`.
    pub arn: String,
    pub min_capacity: u32,
    pub max_capacity: u32,
    pub role_arn: String,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created_at: OffsetDateTime,
    pub suspended: SuspendedState,
    /// By policy name.
    pub policies: BTreeMap<String, ScalingPolicy>,
    /// When a policy last added capacity (starts the scale-out cooldown).
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub last_scale_out: Option<OffsetDateTime>,
    /// When a policy last removed capacity (starts the scale-in cooldown).
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub last_scale_in: Option<OffsetDateTime>,
}

/// `TargetTrackingScalingPolicyConfiguration`, as the caller sent it; the
/// API echoes it back in DescribeScalingPolicies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TargetTrackingConfiguration {
    pub target_value: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub predefined_metric_specification: Option<PredefinedMetricSpecification>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub customized_metric_specification: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_out_cooldown: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scale_in_cooldown: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disable_scale_in: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PredefinedMetricSpecification {
    pub predefined_metric_type: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_label: Option<String>,
}

/// What a policy measures, resolved against the model when it is put.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Metric {
    /// Requests per healthy target of this group per minute.
    AlbRequestCountPerTarget { target_group_arn: String },
    /// Average CPU of the service's tasks, in percent of the task's CPU.
    EcsCpu,
    /// Average memory of the service's tasks, in percent of the task's memory.
    EcsMemory,
}

/// Which of a target tracking policy's two alarms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum AlarmKind {
    High,
    Low,
}

/// A CloudWatch alarm the policy owns (named as AWS names them; the
/// emulator evaluates them itself).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Alarm {
    pub kind: AlarmKind,
    pub name: String,
    pub arn: String,
}

/// How the alarms of a policy stand, from the datapoints seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AlarmState {
    /// Consecutive datapoints above the target value.
    pub high_datapoints: u32,
    /// Consecutive datapoints below the low threshold, and since when.
    pub low_datapoints: u32,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub low_since: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct ScalingPolicy {
    pub name: String,
    /// `arn:aws:autoscaling:REGION:ACCOUNT:scalingPolicy:UUID:resource/ecs/RESOURCE:policyName/NAME`.
    pub arn: String,
    pub configuration: TargetTrackingConfiguration,
    pub metric: Metric,
    /// AlarmHigh, then AlarmLow unless scale-in is disabled.
    pub alarms: Vec<Alarm>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created_at: OffsetDateTime,
    pub alarm_state: AlarmState,
}

/// What one policy asks for after a datapoint.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Vote {
    Out(Proposal),
    In(Proposal),
    /// Keep the capacity.
    Hold,
    /// No datapoint; like Hold, and it blocks scale-in by other policies.
    NoData,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Proposal {
    pub capacity: u32,
    /// The alarm that fired.
    pub alarm: String,
    pub policy: String,
}

/// A change of capacity decided by the policies of one scalable target.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Decision {
    pub capacity: u32,
    pub scale_out: bool,
    /// `monitor alarm NAME in state ALARM triggered policy NAME`.
    pub cause: String,
}

/// `ScalingActivity`: one change of an ECS service's desired count.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct ScalingActivity {
    pub id: String,
    pub key: TargetKey,
    pub description: String,
    pub cause: String,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub start_time: OffsetDateTime,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub end_time: Option<OffsetDateTime>,
    /// Pending, InProgress, Successful, Overridden, Unfulfilled or Failed.
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub status_code: &'static str,
    pub status_message: String,
}

#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct AutoScalingState {
    pub targets: BTreeMap<TargetKey, ScalableTarget>,
    /// Newest first, at most [`MAX_ACTIVITIES_PER_TARGET`] per target. They
    /// outlive the target, as in AWS.
    pub activities: BTreeMap<TargetKey, VecDeque<ScalingActivity>>,
}

#[cfg(test)]
mod tests;
