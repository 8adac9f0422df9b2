//! Target tracking: a policy's configuration checked and its metric worked
//! out (a `ResourceLabel` resolved against the load balancers), its two
//! alarms, and the rules that turn a datapoint into a vote and the votes of
//! a target's policies into a new capacity (cooldowns, min and max).

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;

use super::{
    Alarm, AlarmKind, AlarmState, Decision, Metric, Proposal, ScalableTarget, ScalingError,
    ScalingPolicy, TargetKey, TargetTrackingConfiguration, Vote, ALARM_HIGH_DATAPOINTS,
    ALARM_LOW_MIN_DATAPOINTS, ALARM_LOW_RATIO, ALB_REQUEST_COUNT_PER_TARGET,
    DEFAULT_ECS_COOLDOWN_SECS, ECS_CPU, ECS_MEMORY, MAX_COOLDOWN_SECS,
};
use crate::config::Config;
use crate::domain::elbv2::Elbv2State;

impl TargetTrackingConfiguration {
    /// Checks the configuration and works out its metric. A
    /// `ResourceLabel` must name an existing load balancer and target group.
    pub fn validate(&self, elbv2: &Elbv2State) -> Result<Metric, ScalingError> {
        if !(self.target_value.is_finite() && self.target_value > 0.0) {
            return Err(ScalingError::Validation(format!(
                "TargetValue must be a positive number, not {}.",
                self.target_value
            )));
        }
        for (name, value) in [
            ("ScaleOutCooldown", self.scale_out_cooldown),
            ("ScaleInCooldown", self.scale_in_cooldown),
        ] {
            if value.is_some_and(|v| !(0..=MAX_COOLDOWN_SECS).contains(&v)) {
                return Err(ScalingError::Validation(format!(
                    "{name} must be between 0 and {MAX_COOLDOWN_SECS} seconds."
                )));
            }
        }
        if self.customized_metric_specification.is_some() {
            return Err(ScalingError::Validation(
                "CustomizedMetricSpecification is not supported by this emulator (it has no CloudWatch); use a PredefinedMetricSpecification.".into(),
            ));
        }
        let Some(spec) = &self.predefined_metric_specification else {
            return Err(ScalingError::Validation(
                "A target tracking policy needs a PredefinedMetricSpecification or a CustomizedMetricSpecification.".into(),
            ));
        };
        match spec.predefined_metric_type.as_str() {
            ALB_REQUEST_COUNT_PER_TARGET => {
                let Some(label) = spec.resource_label.as_deref() else {
                    return Err(ScalingError::Validation(format!(
                        "ResourceLabel must be specified for {ALB_REQUEST_COUNT_PER_TARGET}, as app/LB_NAME/LB_ID/targetgroup/TG_NAME/TG_ID."
                    )));
                };
                let target_group_arn = resolve_resource_label(elbv2, label)?;
                Ok(Metric::AlbRequestCountPerTarget { target_group_arn })
            }
            other if spec.resource_label.is_some() => Err(ScalingError::Validation(format!(
                "ResourceLabel is only valid with {ALB_REQUEST_COUNT_PER_TARGET}, not with {other}."
            ))),
            ECS_CPU => Ok(Metric::EcsCpu),
            ECS_MEMORY => Ok(Metric::EcsMemory),
            other => Err(ScalingError::Validation(format!(
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
pub(super) fn parse_resource_label(label: &str) -> Result<(&str, &str), ScalingError> {
    let invalid = || {
        ScalingError::Validation(format!(
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
        return Err(ScalingError::Validation(format!(
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
            ScalingError::Validation(format!(
                "ResourceLabel {label} names a target group that does not exist: targetgroup/{tg_part}."
            ))
        })
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
        let arn = crate::domain::arn::arn("cloudwatch", region, account, &format!("alarm:{name}"));
        Self { kind, name, arn }
    }
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
        let arn = crate::domain::arn::arn(
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
