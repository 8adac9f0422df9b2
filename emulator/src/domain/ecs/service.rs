//! ECS services and deployments (aws-semantics C4).

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use std::collections::{BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::capacity::{Placement, StrategyItem};
use super::{ts, Tag};

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct CircuitBreaker {
    pub enable: bool,
    pub rollback: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeploymentConfiguration {
    #[serde(default = "default_maximum_percent")]
    pub maximum_percent: u32,
    #[serde(default = "default_minimum_healthy_percent")]
    pub minimum_healthy_percent: u32,
    #[serde(default = "default_circuit_breaker")]
    pub deployment_circuit_breaker: CircuitBreaker,
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
        }
    }
}

#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Deployment {
    /// `ecs-svc/` and 19 digits.
    pub id: String,
    /// PRIMARY or ACTIVE.
    #[borsh(
        serialize_with = "field::static_str::serialize",
        deserialize_with = "field::static_str::deserialize"
    )]
    pub status: &'static str,
    pub task_definition: String,
    pub desired_count: u32,
    pub pending_count: u32,
    pub running_count: u32,
    pub failed_tasks: u32,
    #[serde(with = "ts")]
    #[borsh(
        serialize_with = "field::time::serialize",
        deserialize_with = "field::time::deserialize"
    )]
    pub created_at: OffsetDateTime,
    #[serde(with = "ts")]
    #[borsh(
        serialize_with = "field::time::serialize",
        deserialize_with = "field::time::deserialize"
    )]
    pub updated_at: OffsetDateTime,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[borsh(
        serialize_with = "field::static_str_opt::serialize",
        deserialize_with = "field::static_str_opt::deserialize"
    )]
    pub launch_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<StrategyItem>,
    #[borsh(
        serialize_with = "field::static_str::serialize",
        deserialize_with = "field::static_str::deserialize"
    )]
    pub platform_version: &'static str,
    #[borsh(
        serialize_with = "field::static_str::serialize",
        deserialize_with = "field::static_str::deserialize"
    )]
    pub platform_family: &'static str,
    #[borsh(
        serialize_with = "field::json::serialize",
        deserialize_with = "field::json::deserialize"
    )]
    pub network_configuration: serde_json::Value,
    /// IN_PROGRESS, COMPLETED or FAILED.
    #[borsh(
        serialize_with = "field::static_str::serialize",
        deserialize_with = "field::static_str::deserialize"
    )]
    pub rollout_state: &'static str,
    pub rollout_state_reason: String,
    /// Tasks already counted in `failed_tasks`.
    #[serde(skip)]
    pub counted_failures: BTreeSet<String>,
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
            status: "PRIMARY",
            task_definition,
            desired_count,
            pending_count: 0,
            running_count: 0,
            failed_tasks: 0,
            created_at: now,
            updated_at: now,
            launch_type: placement.launch_type(),
            capacity_provider_strategy: placement.strategy().to_vec(),
            platform_version: "1.4.0",
            platform_family: "Linux",
            network_configuration: network,
            rollout_state: "IN_PROGRESS",
            counted_failures: BTreeSet::new(),
        }
    }
}

#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceEvent {
    pub id: String,
    #[serde(with = "ts")]
    #[borsh(
        serialize_with = "field::time::serialize",
        deserialize_with = "field::time::deserialize"
    )]
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
    #[borsh(
        serialize_with = "field::json::serialize",
        deserialize_with = "field::json::deserialize"
    )]
    pub service_registries: Vec<serde_json::Value>,
    /// ACTIVE, DRAINING or INACTIVE.
    #[borsh(
        serialize_with = "field::static_str::serialize",
        deserialize_with = "field::static_str::deserialize"
    )]
    pub status: &'static str,
    pub desired_count: u32,
    pub running_count: u32,
    pub pending_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[borsh(
        serialize_with = "field::static_str_opt::serialize",
        deserialize_with = "field::static_str_opt::deserialize"
    )]
    pub launch_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub capacity_provider_strategy: Vec<StrategyItem>,
    #[borsh(
        serialize_with = "field::static_str::serialize",
        deserialize_with = "field::static_str::deserialize"
    )]
    pub platform_version: &'static str,
    #[borsh(
        serialize_with = "field::static_str::serialize",
        deserialize_with = "field::static_str::deserialize"
    )]
    pub platform_family: &'static str,
    pub task_definition: String,
    pub deployment_configuration: DeploymentConfiguration,
    pub deployments: Vec<Deployment>,
    pub events: VecDeque<ServiceEvent>,
    #[serde(with = "ts")]
    #[borsh(
        serialize_with = "field::time::serialize",
        deserialize_with = "field::time::deserialize"
    )]
    pub created_at: OffsetDateTime,
    #[borsh(
        serialize_with = "field::json::serialize",
        deserialize_with = "field::json::deserialize"
    )]
    pub network_configuration: serde_json::Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check_grace_period_seconds: Option<u32>,
    #[borsh(
        serialize_with = "field::static_str::serialize",
        deserialize_with = "field::static_str::deserialize"
    )]
    pub scheduling_strategy: &'static str,
    #[borsh(
        serialize_with = "field::json::serialize",
        deserialize_with = "field::json::deserialize"
    )]
    pub deployment_controller: serde_json::Value,
    pub enable_ecs_managed_tags: bool,
    pub propagate_tags: String,
    pub enable_execute_command: bool,
    #[serde(skip)]
    pub tags: Vec<Tag>,
    #[serde(skip)]
    pub runtime: ServiceRuntime,
}

/// Scheduler bookkeeping the API never shows.
#[derive(Debug, Clone, Default, BorshSerialize, BorshDeserialize)]
pub struct ServiceRuntime {
    /// Whether "has reached a steady state" was said since the last change.
    pub steady: bool,
    /// Tasks that failed to start in a row; reset when one reaches RUNNING.
    pub consecutive_start_failures: u32,
    /// No task is launched before this instant (start-failure backoff).
    #[borsh(
        serialize_with = "field::time_opt::serialize",
        deserialize_with = "field::time_opt::deserialize"
    )]
    pub launch_not_before: Option<OffsetDateTime>,
    /// The real instant an INACTIVE service is forgotten.
    #[borsh(
        serialize_with = "field::time_opt::serialize",
        deserialize_with = "field::time_opt::deserialize"
    )]
    pub expires_at: Option<OffsetDateTime>,
}

impl Service {
    /// `service:NAME`, the `group` of the service's tasks.
    pub fn task_group(&self) -> String {
        format!("service:{}", self.service_name)
    }

    /// How the service places its tasks.
    pub fn placement(&self) -> Placement {
        if self.capacity_provider_strategy.is_empty() {
            Placement::LaunchType
        } else {
            Placement::Strategy(self.capacity_provider_strategy.clone())
        }
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

    /// Makes a new PRIMARY deployment; earlier ones become ACTIVE.
    pub fn start_deployment(&mut self, task_definition: String) {
        for d in &mut self.deployments {
            d.status = "ACTIVE";
        }
        let deployment = Deployment::new(
            task_definition.clone(),
            self.desired_count,
            self.network_configuration.clone(),
            &self.placement(),
        );
        self.task_definition = task_definition;
        self.deployments.insert(0, deployment);
        self.runtime.steady = false;
        self.runtime.consecutive_start_failures = 0;
        self.runtime.launch_not_before = None;
    }
}
