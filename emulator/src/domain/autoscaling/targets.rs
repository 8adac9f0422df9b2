//! What scaling changes: the ECS service a scalable target names, its
//! desired count set as UpdateService sets it, and the scaling activities
//! recorded for it.

use time::OffsetDateTime;

use super::{
    AutoScalingState, ScalableTarget, ScalingActivity, ScalingError, TargetKey,
    MAX_ACTIVITIES_PER_TARGET,
};
use crate::domain::ecs::service::{Service, ServiceStatus};
use crate::domain::State;

impl ScalingActivity {
    /// A desired-count change ECS accepted at once, worded as AWS words it.
    pub fn desired_count(
        key: &TargetKey,
        capacity: u32,
        cause: String,
        now: OffsetDateTime,
    ) -> Self {
        Self {
            id: uuid::Uuid::new_v4().to_string(),
            key: key.clone(),
            description: format!("Setting desired count to {capacity}."),
            cause,
            start_time: now,
            end_time: Some(now),
            status_code: "Successful",
            status_message: format!(
                "Successfully set desired count to {capacity}. Change successfully fulfilled by ecs."
            ),
        }
    }
}

/// The ACTIVE ECS service `service/CLUSTER/SERVICE` names, if any.
pub fn ecs_service<'s>(state: &'s State, key: &TargetKey) -> Option<&'s Service> {
    let suffix = service_arn_suffix(key);
    state
        .ecs
        .services
        .values()
        .find(|s| s.status == ServiceStatus::Active && s.service_arn.ends_with(&suffix))
}

fn service_arn_suffix(key: &TargetKey) -> String {
    let (cluster, service) = key.ecs_service();
    format!(":service/{cluster}/{service}")
}

/// Sets the desired count of the ACTIVE service `key` names (and of its
/// primary deployment), as UpdateService does, and records the scaling
/// activity. The service scheduler then launches or stops tasks. Returns
/// whether the service exists and is ACTIVE.
pub fn scale_service(
    state: &mut State,
    key: &TargetKey,
    capacity: u32,
    cause: String,
    now: OffsetDateTime,
) -> bool {
    let suffix = service_arn_suffix(key);
    let Some(service) = state
        .ecs
        .services
        .values_mut()
        .find(|s| s.status == ServiceStatus::Active && s.service_arn.ends_with(&suffix))
    else {
        return false;
    };
    service.desired_count = capacity;
    if let Some(primary) = service.deployments.first_mut() {
        primary.desired_count = capacity;
    }
    service.runtime.steady = false;
    state
        .autoscaling
        .record_activity(ScalingActivity::desired_count(key, capacity, cause, now));
    true
}

impl AutoScalingState {
    pub fn target(&self, key: &TargetKey) -> Result<&ScalableTarget, ScalingError> {
        self.targets.get(key).ok_or_else(|| target_not_found(key))
    }

    pub fn target_mut(&mut self, key: &TargetKey) -> Result<&mut ScalableTarget, ScalingError> {
        self.targets
            .get_mut(key)
            .ok_or_else(|| target_not_found(key))
    }

    pub fn record_activity(&mut self, activity: ScalingActivity) {
        let list = self.activities.entry(activity.key.clone()).or_default();
        list.push_front(activity);
        list.truncate(MAX_ACTIVITIES_PER_TARGET);
    }
}

fn target_not_found(key: &TargetKey) -> ScalingError {
    ScalingError::ObjectNotFound(format!(
        "No scalable target registered for {}",
        key.describe()
    ))
}
