//! ECS services and deployments.

use crate::domain::epoch_seconds;
use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::blue_green::{
    AdvancedConfiguration, CanaryConfiguration, DeploymentStrategy, LifecycleHook,
    LinearConfiguration, TrafficShift,
};
use super::capacity::{Placement, StrategyItem};
use super::service_connect::{ServiceConnectConfiguration, ServiceConnectResource};
use super::service_deployment::{
    ContainerImage, RevisionCounts, ServiceDeploymentRecord, ServiceDeploymentStatus,
    ServiceRevision,
};
use super::Tag;

/// At most this many events are kept per service, newest first (AWS: 100).
pub const MAX_SERVICE_EVENTS: usize = 100;
/// At most this many target groups per service (AWS: 5).
pub const MAX_LOAD_BALANCERS: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct LoadBalancerRef {
    pub target_group_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub load_balancer_name: Option<String>,
    pub container_name: Option<String>,
    pub container_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advanced_configuration: Option<AdvancedConfiguration>,
}

/// A `serviceRegistries[]` item: the Cloud Map service the service's tasks
/// are registered in while they run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceRegistry {
    #[serde(default)]
    pub registry_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub container_port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    #[serde(default = "default_maximum_percent")]
    pub maximum_percent: u32,
    #[serde(default = "default_minimum_healthy_percent")]
    pub minimum_healthy_percent: u32,
    #[serde(default = "default_circuit_breaker")]
    pub deployment_circuit_breaker: CircuitBreaker,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strategy: Option<DeploymentStrategy>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bake_time_in_minutes: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub linear_configuration: Option<LinearConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_configuration: Option<CanaryConfiguration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lifecycle_hooks: Vec<LifecycleHook>,
    /// `alarms` and anything else: stored and echoed (the API logs them
    /// once as ignored).
    #[serde(flatten)]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn default_maximum_percent() -> u32 {
    200
}
fn default_minimum_healthy_percent() -> u32 {
    100
}
fn default_circuit_breaker() -> CircuitBreaker {
    CircuitBreaker {
        enable: false,
        rollback: false,
    }
}

impl Default for DeploymentConfiguration {
    fn default() -> Self {
        Self {
            maximum_percent: default_maximum_percent(),
            minimum_healthy_percent: default_minimum_healthy_percent(),
            deployment_circuit_breaker: default_circuit_breaker(),
            strategy: None,
            bake_time_in_minutes: None,
            linear_configuration: None,
            canary_configuration: None,
            lifecycle_hooks: vec![],
            extra: serde_json::Map::new(),
        }
    }
}

/// Where a service's tasks run: the members a service, each of its
/// deployments and each of its revisions show, in this order.
#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct LaunchSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub launch_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<StrategyItem>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub platform_version: &'static str,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub platform_family: &'static str,
}

impl LaunchSettings {
    /// Linux tasks on Fargate `platform_version`, placed by `placement`.
    pub fn fargate(placement: &Placement, platform_version: &'static str) -> Self {
        Self {
            launch_type: placement.launch_type(),
            capacity_provider_strategy: placement.strategy().to_vec(),
            platform_version,
            platform_family: "Linux",
        }
    }

    /// How the tasks are placed.
    pub fn placement(&self) -> Placement {
        if self.capacity_provider_strategy.is_empty() {
            Placement::LaunchType
        } else {
            Placement::Strategy(self.capacity_provider_strategy.clone())
        }
    }
}

/// `status` of a service: ACTIVE until DeleteService, DRAINING while its
/// tasks stop, then INACTIVE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ServiceStatus {
    Active,
    Draining,
    Inactive,
}

impl ServiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Draining => "DRAINING",
            Self::Inactive => "INACTIVE",
        }
    }
}

/// `status` of a `deployments[]` entry: the newest is PRIMARY, the ones it
/// replaces ACTIVE until their tasks are gone (ECS's INACTIVE deployments
/// are dropped from the list here, not kept).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeploymentStatus {
    Primary,
    Active,
}

/// `rolloutState` of a deployment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RolloutState {
    InProgress,
    Completed,
    Failed,
}

#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// `ecs-svc/` and 19 digits.
    pub id: String,
    pub status: DeploymentStatus,
    pub task_definition: String,
    pub desired_count: u32,
    pub pending_count: u32,
    pub running_count: u32,
    pub failed_tasks: u32,
    #[serde(with = "epoch_seconds")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created_at: OffsetDateTime,
    #[serde(with = "epoch_seconds")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub updated_at: OffsetDateTime,
    #[serde(flatten)]
    pub launch: LaunchSettings,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub network_configuration: serde_json::Value,
    pub rollout_state: RolloutState,
    pub rollout_state_reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_connect_configuration: Option<ServiceConnectConfiguration>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub service_connect_resources: Vec<ServiceConnectResource>,
    /// Tasks already counted in `failed_tasks`.
    #[serde(skip)]
    pub counted_failures: BTreeSet<String>,
    /// The service revision it rolls out.
    #[serde(skip)]
    pub service_revision_arn: String,
    /// The target group its tasks register in, for each of the service's
    /// load balancers (a blue/green deployment's green groups); empty for
    /// each load balancer's `targetGroupArn`.
    #[serde(skip)]
    pub target_groups: Vec<String>,
}

impl Deployment {
    pub fn new(
        task_definition: String,
        desired_count: u32,
        network: serde_json::Value,
        placement: &Placement,
    ) -> Self {
        let id = format!("ecs-svc/{}", crate::domain::arn::random_digits(19));
        let now = OffsetDateTime::now_utc();
        Self {
            rollout_state_reason: format!("ECS deployment {id} in progress."),
            id,
            status: DeploymentStatus::Primary,
            task_definition,
            desired_count,
            pending_count: 0,
            running_count: 0,
            failed_tasks: 0,
            created_at: now,
            updated_at: now,
            launch: LaunchSettings::fargate(placement, "1.4.0"),
            network_configuration: network,
            rollout_state: RolloutState::InProgress,
            service_connect_configuration: None,
            service_connect_resources: vec![],
            counted_failures: BTreeSet::new(),
            service_revision_arn: String::new(),
            target_groups: vec![],
        }
    }
}

#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    pub id: String,
    #[serde(with = "epoch_seconds")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created_at: OffsetDateTime,
    pub message: String,
}

#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Service {
    pub service_arn: String,
    pub service_name: String,
    pub cluster_arn: String,
    pub load_balancers: Vec<LoadBalancerRef>,
    pub service_registries: Vec<ServiceRegistry>,
    /// Shown on each deployment, as AWS does.
    #[serde(skip)]
    pub service_connect_configuration: Option<ServiceConnectConfiguration>,
    /// The Cloud Map services of its discovery names.
    #[serde(skip)]
    pub service_connect_resources: Vec<ServiceConnectResource>,
    pub status: ServiceStatus,
    pub desired_count: u32,
    pub running_count: u32,
    pub pending_count: u32,
    #[serde(flatten)]
    pub launch: LaunchSettings,
    pub task_definition: String,
    pub deployment_configuration: DeploymentConfiguration,
    pub deployments: Vec<Deployment>,
    pub events: VecDeque<ServiceEvent>,
    #[serde(with = "epoch_seconds")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created_at: OffsetDateTime,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub network_configuration: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<u32>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub scheduling_strategy: &'static str,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub deployment_controller: serde_json::Value,
    pub enable_ecs_managed_tags: bool,
    pub propagate_tags: String,
    pub enable_execute_command: bool,
    #[serde(skip)]
    pub tags: Vec<Tag>,
    #[serde(skip)]
    pub runtime: ServiceRuntime,
    /// Every revision the service has had, oldest first.
    #[serde(skip)]
    pub revisions: Vec<ServiceRevision>,
    /// Every service deployment, oldest first.
    #[serde(skip)]
    pub history: Vec<ServiceDeploymentRecord>,
}

/// Scheduler bookkeeping the API never shows.
#[derive(Debug, Clone, Default, BorshSerialize, BorshDeserialize)]
pub struct ServiceRuntime {
    /// Whether "has reached a steady state" was said since the last change.
    pub steady: bool,
    /// Tasks that failed to start in a row; reset when one reaches RUNNING.
    pub consecutive_start_failures: u32,
    /// No task is launched before this instant (start-failure backoff).
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub launch_not_before: Option<OffsetDateTime>,
    /// The real instant an INACTIVE service is forgotten.
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub expires_at: Option<OffsetDateTime>,
}

impl Service {
    /// `service:NAME`, the `group` of the service's tasks.
    pub fn task_group(&self) -> String {
        format!("service:{}", self.service_name)
    }

    /// Whether `task` is one of this service's tasks.
    pub fn owns(&self, task: &super::Task) -> bool {
        task.cluster_arn == self.cluster_arn
            && task.group.as_deref() == Some(self.task_group().as_str())
    }

    /// Whether `task` is one of this service's tasks that runs and is meant
    /// to: what Cloud Map and Service Connect route to.
    pub fn runs(&self, task: &super::Task) -> bool {
        self.owns(task)
            && task.last_status == super::TaskStatus::Running
            && task.desired_status == super::TaskStatus::Running
    }

    pub fn primary(&self) -> Option<&Deployment> {
        self.deployments.first()
    }

    /// Adds an event, newest first, keeping at most [`MAX_SERVICE_EVENTS`].
    pub fn event(&mut self, message: impl Into<String>) {
        self.events.push_front(ServiceEvent {
            id: uuid::Uuid::new_v4().to_string(),
            created_at: OffsetDateTime::now_utc(),
            message: message.into(),
        });
        self.events.truncate(MAX_SERVICE_EVENTS);
    }

    /// Circuit-breaker threshold: half the desired count, 3 to 200 (AWS).
    pub fn breaker_threshold(&self) -> u32 {
        self.desired_count
            .div_ceil(2)
            .clamp(BREAKER_MIN_THRESHOLD, BREAKER_MAX_THRESHOLD)
    }

    /// Rolls out `task_definition` (whose containers' images are `images`)
    /// as a new service revision: a new PRIMARY deployment, earlier ones
    /// ACTIVE, and a service deployment from the revisions running now. A
    /// service deployment still in progress is stopped by it.
    pub fn start_deployment(&mut self, task_definition: String, images: Vec<ContainerImage>) {
        let now = OffsetDateTime::now_utc();
        let revision_arn = format!(
            "{}/{}",
            self.service_arn
                .replacen(":service/", ":service-revision/", 1),
            crate::domain::arn::random_digits(19)
        );
        self.revisions.push(ServiceRevision {
            service_revision_arn: revision_arn.clone(),
            service_arn: self.service_arn.clone(),
            cluster_arn: self.cluster_arn.clone(),
            task_definition: task_definition.clone(),
            launch: self.launch.clone(),
            load_balancers: self.load_balancers.clone(),
            service_registries: self.service_registries.clone(),
            service_connect_configuration: self.service_connect_configuration.clone(),
            network_configuration: self.network_configuration.clone(),
            container_images: images,
            guard_duty_enabled: false,
            created_at: now,
        });
        for record in self.history.iter_mut().filter(|r| r.status.in_progress()) {
            record.end(
                ServiceDeploymentStatus::Stopped,
                Some("A new service deployment superseded it.".into()),
                now,
            );
        }
        let sources = self
            .deployments
            .iter()
            .map(|d| d.service_revision_arn.clone())
            .filter(|arn| !arn.is_empty())
            .collect();
        let deployment_id = self.launch(task_definition, revision_arn.clone());
        let threshold = self.breaker_threshold();
        // A service without load balancers has no traffic to shift: it rolls.
        let shift = (self.deployment_configuration.shifts_traffic()
            && !self.load_balancers.is_empty())
        .then(|| TrafficShift::new(self.deployment_configuration.strategy(), now));
        self.history.push(ServiceDeploymentRecord {
            arn: format!(
                "{}/{}",
                self.service_arn
                    .replacen(":service/", ":service-deployment/", 1),
                crate::domain::arn::random_alphanumeric(21)
            ),
            deployment_id,
            rollback_deployment_id: None,
            source_revision_arns: sources,
            target_revision_arn: revision_arn,
            status: ServiceDeploymentStatus::InProgress,
            status_reason: None,
            deployment_configuration: self.deployment_configuration.clone(),
            rollback: None,
            final_counts: RevisionCounts::default(),
            failure_count: 0,
            breaker_threshold: threshold,
            shift,
            created_at: now,
            updated_at: now,
            finished_at: None,
            stopped_at: None,
        });
    }

    /// Rolls the service deployment that rolls out the PRIMARY deployment
    /// back to the last deployment that completed, as ECS does on a
    /// circuit-breaker failure with rollback or on StopServiceDeployment.
    /// `false` if there is nothing to roll back to. `requested`: asked for
    /// (StopServiceDeployment), not detected.
    pub fn start_rollback(&mut self, reason: &str, requested: bool) -> bool {
        let Some((primary_id, failures)) = self.primary().map(|d| (d.id.clone(), d.failed_tasks))
        else {
            return false;
        };
        let shifting = self
            .history
            .iter()
            .rev()
            .find(|r| r.current_deployment_id() == primary_id)
            .is_some_and(|r| r.shift.is_some());
        if shifting {
            return self.start_traffic_rollback(&primary_id, failures, reason, requested);
        }
        let last_good = self
            .deployments
            .iter()
            .skip(1)
            .find(|d| d.rollout_state == RolloutState::Completed)
            .map(|d| (d.task_definition.clone(), d.service_revision_arn.clone()));
        let Some((task_definition, revision_arn)) = last_good else {
            return false;
        };
        let rollback_id = self.launch(task_definition, revision_arn.clone());
        if let Some(record) = self
            .history
            .iter_mut()
            .rev()
            .find(|r| r.current_deployment_id() == primary_id)
        {
            record.start_rollback(
                ServiceDeploymentStatus::RollbackInProgress,
                failures,
                reason,
                rollback_id,
                revision_arn,
            );
        }
        true
    }

    /// Rolls a traffic-shifting deployment back: blue, still running,
    /// becomes PRIMARY again; the traffic shift then sends production and
    /// test traffic back to it and green's tasks stop.
    fn start_traffic_rollback(
        &mut self,
        green_id: &str,
        failures: u32,
        reason: &str,
        requested: bool,
    ) -> bool {
        let Some(blue) = self
            .deployments
            .iter()
            .position(|d| d.id != green_id && d.rollout_state == RolloutState::Completed)
        else {
            return false;
        };
        let now = OffsetDateTime::now_utc();
        let mut blue = self.deployments.remove(blue);
        for d in &mut self.deployments {
            d.status = DeploymentStatus::Active;
        }
        blue.status = DeploymentStatus::Primary;
        blue.updated_at = now;
        self.task_definition = blue.task_definition.clone();
        let (blue_id, revision_arn) = (blue.id.clone(), blue.service_revision_arn.clone());
        self.deployments.insert(0, blue);
        self.runtime.steady = false;
        if let Some(record) = self
            .history
            .iter_mut()
            .rev()
            .find(|r| r.deployment_id == green_id)
        {
            let status = if requested {
                ServiceDeploymentStatus::RollbackRequested
            } else {
                ServiceDeploymentStatus::RollbackInProgress
            };
            record.start_rollback(status, failures, reason, blue_id, revision_arn);
        }
        true
    }

    /// The PRIMARY deployment completed: so did the service deployment
    /// that follows it.
    pub fn deployment_completed(&mut self, deployment_id: &str, counts: RevisionCounts) {
        let now = OffsetDateTime::now_utc();
        for record in &mut self.history {
            if record.status.in_progress() && record.current_deployment_id() == deployment_id {
                let status = if record.rollback_deployment_id.is_some() {
                    ServiceDeploymentStatus::RollbackSuccessful
                } else {
                    ServiceDeploymentStatus::Successful
                };
                record.final_counts = counts;
                record.end(status, None, now);
            }
        }
    }

    /// The circuit breaker failed the deployment and no rollback follows.
    pub fn deployment_failed(&mut self, deployment_id: &str, failures: u32, reason: &str) {
        let now = OffsetDateTime::now_utc();
        for record in &mut self.history {
            if record.status.in_progress() && record.current_deployment_id() == deployment_id {
                record.failure_count = failures;
                let status = if record.rollback_deployment_id.is_some() {
                    ServiceDeploymentStatus::RollbackFailed
                } else {
                    ServiceDeploymentStatus::Stopped
                };
                record.end(status, Some(reason.to_string()), now);
            }
        }
    }

    /// A new PRIMARY deployment of `task_definition` as `revision_arn`.
    fn launch(&mut self, task_definition: String, revision_arn: String) -> String {
        for d in &mut self.deployments {
            d.status = DeploymentStatus::Active;
        }
        let mut deployment = Deployment::new(
            task_definition.clone(),
            self.desired_count,
            self.network_configuration.clone(),
            &self.launch.placement(),
        );
        deployment.service_revision_arn = revision_arn;
        deployment.service_connect_configuration = self.service_connect_configuration.clone();
        deployment.service_connect_resources = self.service_connect_resources.clone();
        let id = deployment.id.clone();
        self.task_definition = task_definition;
        self.deployments.insert(0, deployment);
        self.runtime.steady = false;
        self.runtime.consecutive_start_failures = 0;
        self.runtime.launch_not_before = None;
        id
    }
}

/// Circuit-breaker threshold bounds (AWS: 3-200).
const BREAKER_MIN_THRESHOLD: u32 = 3;
const BREAKER_MAX_THRESHOLD: u32 = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launch_settings_are_members_of_the_deployment_itself() {
        let by_type = Deployment::new(
            "td".into(),
            1,
            serde_json::json!({}),
            &Placement::LaunchType,
        );
        let json = serde_json::to_value(&by_type).unwrap();
        assert_eq!(json["launchType"], "FARGATE");
        assert_eq!(json["platformVersion"], "1.4.0");
        assert_eq!(json["platformFamily"], "Linux");
        assert!(json.get("capacityProviderStrategy").is_none());
        assert!(json.get("launch").is_none());
        let strategy = vec![StrategyItem {
            capacity_provider: "FARGATE_SPOT".into(),
            weight: 1,
            base: 0,
        }];
        let by_strategy = Deployment::new(
            "td".into(),
            1,
            serde_json::json!({}),
            &Placement::Strategy(strategy),
        );
        let json = serde_json::to_value(&by_strategy).unwrap();
        assert!(json.get("launchType").is_none());
        assert_eq!(
            json["capacityProviderStrategy"],
            serde_json::json!([{"capacityProvider": "FARGATE_SPOT", "weight": 1, "base": 0}])
        );
    }
}
