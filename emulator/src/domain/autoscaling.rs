//! Application Auto Scaling: scalable targets, target
//! tracking policies, scaling activities, and the pure rules that turn a
//! metric datapoint into a new capacity (alarms, cooldowns, min and max).
//!
//! Only ECS services are scalable here (`ecs` / `ecs:service:DesiredCount`),
//! and only with target tracking: step scaling needs CloudWatch alarms that
//! the user creates, and the emulator has no CloudWatch. The reconciler in
//! `reconcilers::autoscaling` measures the metrics and applies decisions.
//! <https://docs.aws.amazon.com/autoscaling/application/APIReference/Welcome.html>

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::ecs::service::Service;
use super::elbv2::Elbv2State;
use super::State;
use crate::config::Config;

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

/// An Application Auto Scaling error, mapped to the awsJson1_1 shape by the API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ScalingError {
    pub code: &'static str,
    pub message: String,
}

impl ScalingError {
    pub fn validation(message: impl Into<String>) -> Self {
        Self {
            code: "ValidationException",
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            code: "ObjectNotFoundException",
            message: message.into(),
        }
    }

    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        Self {
            code: "LimitExceededException",
            message: message.into(),
        }
    }

    pub fn invalid_next_token() -> Self {
        Self {
            code: "InvalidNextTokenException",
            message: "The NextToken value is not valid.".into(),
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
            return Err(ScalingError::validation(format!(
                "Unsupported service namespace: {namespace}. This emulator scales ECS services only (ServiceNamespace=ecs)."
            )));
        }
        if dimension != ECS_DESIRED_COUNT {
            return Err(ScalingError::validation(format!(
                "Unsupported scalable dimension: {dimension}. The scalable dimension of an ECS service is {ECS_DESIRED_COUNT}."
            )));
        }
        let parts: Vec<&str> = resource_id.split('/').collect();
        if parts.len() != 3 || parts[0] != "service" || parts.iter().any(|p| p.is_empty()) {
            return Err(ScalingError::validation(format!(
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
    #[borsh(
        serialize_with = "field::time::serialize",
        deserialize_with = "field::time::deserialize"
    )]
    pub created_at: OffsetDateTime,
    pub suspended: SuspendedState,
    /// By policy name.
    pub policies: BTreeMap<String, ScalingPolicy>,
    /// When a policy last added capacity (starts the scale-out cooldown).
    #[borsh(
        serialize_with = "field::time_opt::serialize",
        deserialize_with = "field::time_opt::deserialize"
    )]
    pub last_scale_out: Option<OffsetDateTime>,
    /// When a policy last removed capacity (starts the scale-in cooldown).
    #[borsh(
        serialize_with = "field::time_opt::serialize",
        deserialize_with = "field::time_opt::deserialize"
    )]
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
    #[borsh(
        serialize_with = "field::json::serialize",
        deserialize_with = "field::json::deserialize"
    )]
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

impl TargetTrackingConfiguration {
    /// Checks the configuration and works out its metric. A
    /// `ResourceLabel` must name an existing load balancer and target group.
    pub fn validate(&self, elbv2: &Elbv2State) -> Result<Metric, ScalingError> {
        if !(self.target_value.is_finite() && self.target_value > 0.0) {
            return Err(ScalingError::validation(format!(
                "TargetValue must be a positive number, not {}.",
                self.target_value
            )));
        }
        for (name, value) in [
            ("ScaleOutCooldown", self.scale_out_cooldown),
            ("ScaleInCooldown", self.scale_in_cooldown),
        ] {
            if value.is_some_and(|v| !(0..=MAX_COOLDOWN_SECS).contains(&v)) {
                return Err(ScalingError::validation(format!(
                    "{name} must be between 0 and {MAX_COOLDOWN_SECS} seconds."
                )));
            }
        }
        if self.customized_metric_specification.is_some() {
            return Err(ScalingError::validation(
                "CustomizedMetricSpecification is not supported by this emulator (it has no CloudWatch); use a PredefinedMetricSpecification.",
            ));
        }
        let Some(spec) = &self.predefined_metric_specification else {
            return Err(ScalingError::validation(
                "A target tracking policy needs a PredefinedMetricSpecification or a CustomizedMetricSpecification.",
            ));
        };
        match spec.predefined_metric_type.as_str() {
            ALB_REQUEST_COUNT_PER_TARGET => {
                let Some(label) = spec.resource_label.as_deref() else {
                    return Err(ScalingError::validation(format!(
                        "ResourceLabel must be specified for {ALB_REQUEST_COUNT_PER_TARGET}, as app/LB_NAME/LB_ID/targetgroup/TG_NAME/TG_ID."
                    )));
                };
                let target_group_arn = resolve_resource_label(elbv2, label)?;
                Ok(Metric::AlbRequestCountPerTarget { target_group_arn })
            }
            other if spec.resource_label.is_some() => Err(ScalingError::validation(format!(
                "ResourceLabel is only valid with {ALB_REQUEST_COUNT_PER_TARGET}, not with {other}."
            ))),
            ECS_CPU => Ok(Metric::EcsCpu),
            ECS_MEMORY => Ok(Metric::EcsMemory),
            other => Err(ScalingError::validation(format!(
                "Unsupported metric type {other} for an ECS service; use {ALB_REQUEST_COUNT_PER_TARGET}, {ECS_CPU} or {ECS_MEMORY}."
            ))),
        }
    }

    fn scale_out_cooldown(&self) -> Duration {
        cooldown(self.scale_out_cooldown)
    }

    fn scale_in_cooldown(&self) -> Duration {
        cooldown(self.scale_in_cooldown)
    }

    fn scale_in_disabled(&self) -> bool {
        self.disable_scale_in.unwrap_or(false)
    }
}

fn cooldown(secs: Option<i64>) -> Duration {
    let secs = secs.unwrap_or(DEFAULT_ECS_COOLDOWN_SECS.into()).max(0);
    Duration::from_secs(secs as u64)
}

/// Splits a `ResourceLabel` into `app/<lb>/<lbid>` and `<tg>/<tgid>`.
fn parse_resource_label(label: &str) -> Result<(&str, &str), ScalingError> {
    let invalid = || {
        ScalingError::validation(format!(
            "Invalid ResourceLabel {label}: expected app/LB_NAME/LB_ID/targetgroup/TG_NAME/TG_ID."
        ))
    };
    let (lb_part, tg_part) = label.split_once("/targetgroup/").ok_or_else(invalid)?;
    let lb_ok = lb_part.starts_with("app/") && lb_part.split('/').count() == 3;
    if !lb_ok || tg_part.split('/').count() != 2 || label.split('/').any(str::is_empty) {
        return Err(invalid());
    }
    Ok((lb_part, tg_part))
}

/// Finds the target group a `ResourceLabel` names:
/// `app/<lb>/<lbid>/targetgroup/<tg>/<tgid>`, the last part of the load
/// balancer ARN, `/`, and the last part of the target group ARN.
pub fn resolve_resource_label(elbv2: &Elbv2State, label: &str) -> Result<String, ScalingError> {
    let (lb_part, tg_part) = parse_resource_label(label)?;
    let lb_suffix = format!(":loadbalancer/{lb_part}");
    if !elbv2
        .load_balancers
        .keys()
        .any(|arn| arn.ends_with(&lb_suffix))
    {
        return Err(ScalingError::validation(format!(
            "ResourceLabel {label} names a load balancer that does not exist: {lb_part}."
        )));
    }
    let tg_suffix = format!(":targetgroup/{tg_part}");
    elbv2
        .target_groups
        .keys()
        .find(|arn| arn.ends_with(&tg_suffix))
        .cloned()
        .ok_or_else(|| {
            ScalingError::validation(format!(
                "ResourceLabel {label} names a target group that does not exist: targetgroup/{tg_part}."
            ))
        })
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

impl Alarm {
    /// `TargetTracking-<resource id>-AlarmHigh-<uuid>` (or `AlarmLow`).
    pub fn new(kind: AlarmKind, region: &str, account: &str, resource_id: &str) -> Self {
        let which = match kind {
            AlarmKind::High => "AlarmHigh",
            AlarmKind::Low => "AlarmLow",
        };
        let name = format!(
            "TargetTracking-{resource_id}-{which}-{}",
            uuid::Uuid::new_v4()
        );
        let arn = super::arn::arn("cloudwatch", region, account, &format!("alarm:{name}"));
        Self { kind, name, arn }
    }
}

/// How the alarms of a policy stand, from the datapoints seen so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct AlarmState {
    /// Consecutive datapoints above the target value.
    pub high_datapoints: u32,
    /// Consecutive datapoints below the low threshold, and since when.
    pub low_datapoints: u32,
    #[borsh(
        serialize_with = "field::time_opt::serialize",
        deserialize_with = "field::time_opt::deserialize"
    )]
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
    #[borsh(
        serialize_with = "field::time::serialize",
        deserialize_with = "field::time::deserialize"
    )]
    pub created_at: OffsetDateTime,
    pub alarm_state: AlarmState,
}

impl ScalingPolicy {
    pub fn new(
        key: &TargetKey,
        name: &str,
        configuration: TargetTrackingConfiguration,
        metric: Metric,
        region: &str,
        account: &str,
    ) -> Self {
        let arn = super::arn::arn(
            "autoscaling",
            region,
            account,
            &format!(
                "scalingPolicy:{}:resource/{}/{}:policyName/{name}",
                uuid::Uuid::new_v4(),
                key.namespace,
                key.resource_id
            ),
        );
        let mut policy = Self {
            name: name.to_string(),
            arn,
            configuration,
            metric,
            alarms: vec![Alarm::new(
                AlarmKind::High,
                region,
                account,
                &key.resource_id,
            )],
            created_at: OffsetDateTime::now_utc(),
            alarm_state: AlarmState::default(),
        };
        policy.sync_alarms(region, account, &key.resource_id);
        policy
    }

    /// Replaces the configuration of an existing policy; the ARN stays.
    pub fn update(
        &mut self,
        configuration: TargetTrackingConfiguration,
        metric: Metric,
        region: &str,
        account: &str,
        resource_id: &str,
    ) {
        self.configuration = configuration;
        self.metric = metric;
        self.alarm_state = AlarmState::default();
        self.sync_alarms(region, account, resource_id);
    }

    /// Target tracking has no AlarmLow when scale-in is disabled.
    fn sync_alarms(&mut self, region: &str, account: &str, resource_id: &str) {
        let has_low = self.alarms.iter().any(|a| a.kind == AlarmKind::Low);
        if self.configuration.scale_in_disabled() {
            self.alarms.retain(|a| a.kind != AlarmKind::Low);
        } else if !has_low {
            self.alarms
                .push(Alarm::new(AlarmKind::Low, region, account, resource_id));
        }
    }

    fn alarm_name(&self, kind: AlarmKind) -> String {
        self.alarms
            .iter()
            .find(|a| a.kind == kind)
            .map(|a| a.name.clone())
            .unwrap_or_default()
    }

    /// Records one datapoint (`None`: insufficient data) and says what the
    /// policy asks for. Cooldowns are scaled by the config's time scale.
    pub fn observe(
        &mut self,
        metric: Option<f64>,
        current: u32,
        target: &ScalableTarget,
        now: OffsetDateTime,
        config: &Config,
    ) -> Vote {
        let Some(metric) = metric else {
            self.alarm_state = AlarmState::default();
            return Vote::NoData;
        };
        let goal = self.configuration.target_value;
        let state = &mut self.alarm_state;
        if metric > goal {
            state.high_datapoints += 1;
        } else {
            state.high_datapoints = 0;
        }
        if metric < goal * ALARM_LOW_RATIO {
            state.low_datapoints += 1;
            state.low_since.get_or_insert(now);
        } else {
            state.low_datapoints = 0;
            state.low_since = None;
        }
        let wanted = tracking_capacity(current, metric, goal).clamp(
            target.min_capacity,
            target.max_capacity.max(target.min_capacity),
        );

        let out_cooldown = config.scaled(self.configuration.scale_out_cooldown());
        let in_cooldown = config.scaled(self.configuration.scale_in_cooldown());
        let high = state.high_datapoints >= ALARM_HIGH_DATAPOINTS;
        let low = state.low_datapoints >= ALARM_LOW_MIN_DATAPOINTS
            && state
                .low_since
                .is_some_and(|since| since + in_cooldown <= now);
        let past = |last: Option<OffsetDateTime>, cooldown: Duration| {
            last.is_none_or(|t| t + cooldown <= now)
        };
        if high
            && wanted > current
            && !target.suspended.dynamic_scaling_out_suspended
            && past(target.last_scale_out, out_cooldown)
        {
            return Vote::Out(Proposal {
                capacity: wanted,
                alarm: self.alarm_name(AlarmKind::High),
                policy: self.name.clone(),
            });
        }
        if low
            && wanted < current
            && !self.configuration.scale_in_disabled()
            && !target.suspended.dynamic_scaling_in_suspended
            && past(target.last_scale_in, in_cooldown)
        {
            return Vote::In(Proposal {
                capacity: wanted,
                alarm: self.alarm_name(AlarmKind::Low),
                policy: self.name.clone(),
            });
        }
        Vote::Hold
    }
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

/// Target tracking: the capacity that brings `metric` back to `goal`,
/// `ceil(current * metric / goal)`. A tiny epsilon keeps exact ratios from
/// rounding up because of floating point.
pub fn tracking_capacity(current: u32, metric: f64, goal: f64) -> u32 {
    let exact = f64::from(current) * metric / goal;
    if !exact.is_finite() || exact <= 0.0 {
        return 0;
    }
    (exact - 1e-9).ceil().min(f64::from(u32::MAX)) as u32
}

impl ScalableTarget {
    /// Feeds each policy its datapoint and combines the votes as AWS does
    /// with several target tracking policies: scale out if any policy asks
    /// (to the largest capacity asked for); scale in only if every policy
    /// asks (to the largest of their capacities).
    pub fn decide(
        &mut self,
        metrics: &BTreeMap<String, Option<f64>>,
        current: u32,
        now: OffsetDateTime,
        config: &Config,
    ) -> Option<Decision> {
        if self.policies.is_empty() {
            return None;
        }
        let mut policies = std::mem::take(&mut self.policies);
        let votes: Vec<Vote> = policies
            .values_mut()
            .map(|p| {
                let metric = metrics.get(&p.name).copied().flatten();
                p.observe(metric, current, self, now, config)
            })
            .collect();
        self.policies = policies;

        let cause = |p: &Proposal| {
            format!(
                "monitor alarm {} in state ALARM triggered policy {}",
                p.alarm, p.policy
            )
        };
        let out = votes
            .iter()
            .filter_map(|v| match v {
                Vote::Out(p) => Some(p),
                _ => None,
            })
            .max_by_key(|p| p.capacity);
        if let Some(p) = out {
            return Some(Decision {
                capacity: p.capacity,
                scale_out: true,
                cause: cause(p),
            });
        }
        let ins: Vec<&Proposal> = votes
            .iter()
            .filter_map(|v| match v {
                Vote::In(p) => Some(p),
                _ => None,
            })
            .collect();
        if ins.len() == votes.len() {
            let p = ins.into_iter().max_by_key(|p| p.capacity)?;
            return Some(Decision {
                capacity: p.capacity,
                scale_out: false,
                cause: cause(p),
            });
        }
        None
    }

    /// Starts the cooldown the decision triggers.
    pub fn record(&mut self, decision: &Decision, now: OffsetDateTime) {
        if decision.scale_out {
            self.last_scale_out = Some(now);
        } else {
            self.last_scale_in = Some(now);
        }
    }
}

/// `ScalingActivity`: one change of an ECS service's desired count.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct ScalingActivity {
    pub id: String,
    pub key: TargetKey,
    pub description: String,
    pub cause: String,
    #[borsh(
        serialize_with = "field::time::serialize",
        deserialize_with = "field::time::deserialize"
    )]
    pub start_time: OffsetDateTime,
    #[borsh(
        serialize_with = "field::time_opt::serialize",
        deserialize_with = "field::time_opt::deserialize"
    )]
    pub end_time: Option<OffsetDateTime>,
    /// Pending, InProgress, Successful, Overridden, Unfulfilled or Failed.
    #[borsh(
        serialize_with = "field::static_str::serialize",
        deserialize_with = "field::static_str::deserialize"
    )]
    pub status_code: &'static str,
    pub status_message: String,
}

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
        .find(|s| s.status == "ACTIVE" && s.service_arn.ends_with(&suffix))
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
        .find(|s| s.status == "ACTIVE" && s.service_arn.ends_with(&suffix))
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

#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct AutoScalingState {
    pub targets: BTreeMap<TargetKey, ScalableTarget>,
    /// Newest first, at most [`MAX_ACTIVITIES_PER_TARGET`] per target. They
    /// outlive the target, as in AWS.
    pub activities: BTreeMap<TargetKey, VecDeque<ScalingActivity>>,
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
    ScalingError::not_found(format!(
        "No scalable target registered for {}",
        key.describe()
    ))
}

impl From<ScalingError> for crate::protocol::json::JsonError {
    fn from(e: ScalingError) -> Self {
        Self::client(e.code, e.message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> TargetKey {
        TargetKey::new("ecs", "service/default/web", ECS_DESIRED_COUNT).unwrap()
    }

    fn config() -> Config {
        Config::default()
    }

    fn target(min: u32, max: u32, policy: TargetTrackingConfiguration) -> ScalableTarget {
        let key = key();
        let p = ScalingPolicy::new(&key, "p", policy, Metric::EcsCpu, "us-east-1", "0");
        ScalableTarget {
            arn: "arn".into(),
            min_capacity: min,
            max_capacity: max,
            role_arn: "role".into(),
            created_at: OffsetDateTime::UNIX_EPOCH,
            suspended: SuspendedState::default(),
            policies: BTreeMap::from([("p".to_string(), p)]),
            last_scale_out: None,
            last_scale_in: None,
            key,
        }
    }

    fn tracking(value: f64, out: i64, inc: i64) -> TargetTrackingConfiguration {
        TargetTrackingConfiguration {
            target_value: value,
            predefined_metric_specification: Some(PredefinedMetricSpecification {
                predefined_metric_type: ECS_CPU.into(),
                resource_label: None,
            }),
            customized_metric_specification: None,
            scale_out_cooldown: Some(out),
            scale_in_cooldown: Some(inc),
            disable_scale_in: None,
        }
    }

    fn at(secs: i64) -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(secs)
    }

    fn metric(v: f64) -> BTreeMap<String, Option<f64>> {
        BTreeMap::from([("p".to_string(), Some(v))])
    }

    #[test]
    fn keys_are_ecs_services_only() {
        let k = key();
        assert_eq!(k.ecs_service(), ("default", "web"));
        for (ns, id, dim) in [
            ("dynamodb", "service/default/web", ECS_DESIRED_COUNT),
            ("ecs", "service/default/web", "ecs:service:Bogus"),
            ("ecs", "service/default", ECS_DESIRED_COUNT),
            ("ecs", "cluster/default/web", ECS_DESIRED_COUNT),
            ("ecs", "service//web", ECS_DESIRED_COUNT),
        ] {
            let e = TargetKey::new(ns, id, dim).unwrap_err();
            assert_eq!(e.code, "ValidationException", "{ns} {id} {dim}");
        }
    }

    #[test]
    fn tracking_capacity_is_the_ceiling_of_the_ratio() {
        assert_eq!(tracking_capacity(1, 300.0, 100.0), 3);
        assert_eq!(tracking_capacity(2, 150.0, 100.0), 3);
        assert_eq!(tracking_capacity(3, 100.0, 100.0), 3);
        assert_eq!(tracking_capacity(4, 0.0, 100.0), 0);
        assert_eq!(tracking_capacity(0, 500.0, 100.0), 0);
        assert_eq!(tracking_capacity(3, 70.0 / 3.0, 70.0 / 3.0), 3);
    }

    #[test]
    fn scale_out_needs_three_high_datapoints_and_respects_max_and_cooldown() {
        let config = config();
        let mut t = target(1, 4, tracking(100.0, 60, 60));
        assert_eq!(t.decide(&metric(1000.0), 1, at(0), &config), None);
        assert_eq!(t.decide(&metric(1000.0), 1, at(60), &config), None);
        let d = t.decide(&metric(1000.0), 1, at(120), &config).unwrap();
        assert_eq!((d.capacity, d.scale_out), (4, true));
        assert!(d
            .cause
            .starts_with("monitor alarm TargetTracking-service/default/web-AlarmHigh-"));
        assert!(d.cause.ends_with(" in state ALARM triggered policy p"));
        t.record(&d, at(120));
        // Still high, but at max: nothing more to do.
        assert_eq!(t.decide(&metric(1000.0), 4, at(180), &config), None);
        // Below max, still cooling down from the scale-out.
        assert_eq!(t.decide(&metric(1000.0), 3, at(150), &config), None);
        assert!(t.decide(&metric(1000.0), 3, at(200), &config).is_some());
    }

    #[test]
    fn scale_in_waits_for_the_metric_to_stay_low_for_the_cooldown() {
        let config = config();
        let mut t = target(1, 4, tracking(100.0, 60, 120));
        for s in [0, 60] {
            assert_eq!(t.decide(&metric(10.0), 4, at(s), &config), None);
        }
        // A datapoint near the target resets AlarmLow.
        assert_eq!(t.decide(&metric(95.0), 4, at(90), &config), None);
        for s in [100, 160] {
            assert_eq!(t.decide(&metric(10.0), 4, at(s), &config), None);
        }
        let d = t.decide(&metric(10.0), 4, at(220), &config).unwrap();
        assert_eq!((d.capacity, d.scale_out), (1, false));
        assert!(d.cause.contains("-AlarmLow-"));
    }

    #[test]
    fn disable_scale_in_drops_the_low_alarm_and_never_scales_in() {
        let config = config();
        let mut policy = tracking(100.0, 0, 0);
        policy.disable_scale_in = Some(true);
        let mut t = target(1, 4, policy);
        assert_eq!(t.policies["p"].alarms.len(), 1);
        for s in 0..10 {
            assert_eq!(t.decide(&metric(0.0), 4, at(s * 60), &config), None);
        }
    }

    #[test]
    fn missing_data_blocks_scale_in_and_resets_alarms() {
        let config = config();
        let mut t = target(1, 4, tracking(100.0, 0, 0));
        let none = BTreeMap::from([("p".to_string(), None)]);
        for s in 0..5 {
            assert_eq!(t.decide(&none, 4, at(s), &config), None);
        }
        assert_eq!(t.policies["p"].alarm_state, AlarmState::default());
    }

    #[test]
    fn suspended_scale_out_holds() {
        let config = config();
        let mut t = target(1, 4, tracking(100.0, 0, 0));
        t.suspended.dynamic_scaling_out_suspended = true;
        for s in 0..5 {
            assert_eq!(t.decide(&metric(1000.0), 1, at(s), &config), None);
        }
    }

    #[test]
    fn cooldowns_follow_the_time_scale() {
        let config = Config {
            time_scale: 0.01,
            ..Config::default()
        };
        let mut t = target(1, 4, tracking(100.0, 300, 300));
        t.last_scale_out = Some(at(0));
        for s in [1, 2] {
            assert_eq!(t.decide(&metric(1000.0), 1, at(s), &config), None);
        }
        // 300 s scaled by 0.01 is 3 s.
        assert!(t.decide(&metric(1000.0), 1, at(3), &config).is_some());
    }

    #[test]
    fn resource_labels_split_into_load_balancer_and_target_group() {
        let ok = "app/web/0123456789abcdef/targetgroup/tg/fedcba9876543210";
        assert_eq!(
            parse_resource_label(ok).unwrap(),
            ("app/web/0123456789abcdef", "tg/fedcba9876543210")
        );
        for bad in [
            "targetgroup/tg/fedcba9876543210",
            "app/web/0123456789abcdef",
            "app/web/targetgroup/tg/fedcba9876543210",
            "net/web/0123456789abcdef/targetgroup/tg/fedcba9876543210",
            "app/web/0123456789abcdef/targetgroup/tg",
            "app/web//targetgroup/tg/fedcba9876543210",
        ] {
            assert_eq!(
                parse_resource_label(bad).unwrap_err().code,
                "ValidationException",
                "{bad}"
            );
        }
        let empty = Elbv2State::default();
        assert!(resolve_resource_label(&empty, ok)
            .unwrap_err()
            .message
            .contains("load balancer that does not exist"));
    }
}
