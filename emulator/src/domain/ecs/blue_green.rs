//! ECS-native BLUE_GREEN, LINEAR and CANARY deployments: their
//! configuration (`deploymentConfiguration.strategy` and friends,
//! `loadBalancers[].advancedConfiguration`), its validation, the lifecycle
//! stages, and the production traffic steps each strategy takes.
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html>

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::service::{DeploymentConfiguration, LoadBalancerRef};
use super::validate::EcsError;
use crate::domain::persist::field;

/// `deploymentConfiguration.strategy`. An unknown value is kept so that
/// validation can name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(from = "String", into = "String")]
pub enum DeploymentStrategy {
    Rolling,
    BlueGreen,
    Linear,
    Canary,
    Unknown(String),
}

impl From<String> for DeploymentStrategy {
    fn from(s: String) -> Self {
        match s.as_str() {
            "ROLLING" => Self::Rolling,
            "BLUE_GREEN" => Self::BlueGreen,
            "LINEAR" => Self::Linear,
            "CANARY" => Self::Canary,
            _ => Self::Unknown(s),
        }
    }
}

impl From<DeploymentStrategy> for String {
    fn from(s: DeploymentStrategy) -> Self {
        match s {
            DeploymentStrategy::Rolling => "ROLLING".into(),
            DeploymentStrategy::BlueGreen => "BLUE_GREEN".into(),
            DeploymentStrategy::Linear => "LINEAR".into(),
            DeploymentStrategy::Canary => "CANARY".into(),
            DeploymentStrategy::Unknown(s) => s,
        }
    }
}

/// `linearConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinearConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step_bake_time_in_minutes: Option<i64>,
}

/// `canaryConfiguration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct CanaryConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_percent: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canary_bake_time_in_minutes: Option<i64>,
}

/// `lifecycleHooks[]`. AWS_LAMBDA hooks are accepted and marked SUCCEEDED
/// at once (the emulator runs no Lambda); PAUSE hooks are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct LifecycleHook {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_target_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub lifecycle_stages: Vec<String>,
    /// `hookDetails`, `timeoutConfiguration`: echoed.
    #[serde(flatten)]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// `loadBalancers[].advancedConfiguration`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdvancedConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alternate_target_group_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub production_listener_rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_listener_rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// `ServiceDeployment.lifecycleStage`, in the order a deployment goes
/// through them (RECONCILE_SERVICE is not used: see the README).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum LifecycleStage {
    PreScaleUp,
    ScaleUp,
    PostScaleUp,
    TestTrafficShift,
    PostTestTrafficShift,
    ProductionTrafficShift,
    PostProductionTrafficShift,
    BakeTime,
    CleanUp,
}

impl LifecycleStage {
    /// The stage after this one (CLEAN_UP is the last).
    pub fn next(self) -> Self {
        use LifecycleStage::*;
        match self {
            PreScaleUp => ScaleUp,
            ScaleUp => PostScaleUp,
            PostScaleUp => TestTrafficShift,
            TestTrafficShift => PostTestTrafficShift,
            PostTestTrafficShift => ProductionTrafficShift,
            ProductionTrafficShift => PostProductionTrafficShift,
            PostProductionTrafficShift => BakeTime,
            BakeTime | CleanUp => CleanUp,
        }
    }
}

/// Where one load balancer entry's traffic goes: the production and test
/// rules, and which of its two target groups is blue (serving) and green.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ShiftRoute {
    pub production_rule: String,
    pub test_rule: Option<String>,
    /// `None` on a service's first deployment: nothing serves yet.
    pub blue_target_group: Option<String>,
    pub green_target_group: String,
}

/// A traffic-shifting service deployment as it goes.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct TrafficShift {
    pub strategy: DeploymentStrategy,
    pub stage: LifecycleStage,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub stage_started_at: OffsetDateTime,
    /// Resolved from the production rules when the deployment starts.
    pub routes: Vec<ShiftRoute>,
    /// Production traffic on green, in tenths of a percent.
    pub production_tenths: u32,
    /// Test traffic on green, in tenths of a percent.
    pub test_tenths: u32,
}

impl TrafficShift {
    pub fn new(strategy: DeploymentStrategy, now: OffsetDateTime) -> Self {
        Self {
            strategy,
            stage: LifecycleStage::PreScaleUp,
            stage_started_at: now,
            routes: vec![],
            production_tenths: 0,
            test_tenths: 0,
        }
    }

    /// Green's requested share of production and test traffic, in percent.
    pub fn requested_weights(&self) -> (f64, f64) {
        (
            f64::from(self.production_tenths) / 10.0,
            f64::from(self.test_tenths) / 10.0,
        )
    }
}

/// Defaults of the API reference (API_LinearConfiguration,
/// API_CanaryConfiguration).
const DEFAULT_STEP_PERCENT: f64 = 10.0;
const DEFAULT_STEP_BAKE_MINUTES: i64 = 6;
const DEFAULT_CANARY_PERCENT: f64 = 5.0;
const DEFAULT_CANARY_BAKE_MINUTES: i64 = 10;
/// Bake times are 0 to 1440 minutes.
const MAX_BAKE_MINUTES: i64 = 1440;

impl DeploymentConfiguration {
    /// The strategy, ROLLING when none was given.
    pub fn strategy(&self) -> DeploymentStrategy {
        self.strategy.clone().unwrap_or(DeploymentStrategy::Rolling)
    }

    /// Whether deployments shift traffic between two target groups.
    pub fn shifts_traffic(&self) -> bool {
        matches!(
            self.strategy(),
            DeploymentStrategy::BlueGreen | DeploymentStrategy::Linear | DeploymentStrategy::Canary
        )
    }

    /// The production traffic on green after each shift, in tenths of a
    /// percent, ending at 1000, with the bake (minutes) after each step
    /// ("not applied after reaching 100 percent").
    pub fn production_steps(&self) -> Vec<(u32, i64)> {
        match self.strategy() {
            DeploymentStrategy::Linear => {
                let c = self.linear_configuration.as_ref();
                let step = tenths(
                    c.and_then(|c| c.step_percent)
                        .unwrap_or(DEFAULT_STEP_PERCENT),
                );
                let bake = c
                    .and_then(|c| c.step_bake_time_in_minutes)
                    .unwrap_or(DEFAULT_STEP_BAKE_MINUTES);
                let mut steps: Vec<(u32, i64)> = (1..)
                    .map(|n| n * step.max(1))
                    .take_while(|t| *t < 1000)
                    .map(|t| (t, bake))
                    .collect();
                steps.push((1000, 0));
                steps
            }
            DeploymentStrategy::Canary => {
                let c = self.canary_configuration.as_ref();
                let canary = tenths(
                    c.and_then(|c| c.canary_percent)
                        .unwrap_or(DEFAULT_CANARY_PERCENT),
                );
                let bake = c
                    .and_then(|c| c.canary_bake_time_in_minutes)
                    .unwrap_or(DEFAULT_CANARY_BAKE_MINUTES);
                // canaryPercent 100 is a single shift (not documented).
                if canary >= 1000 {
                    vec![(1000, 0)]
                } else {
                    vec![(canary, bake), (1000, 0)]
                }
            }
            _ => vec![(1000, 0)],
        }
    }

    /// `bakeTimeInMinutes`. AWS documents no default that fits its own
    /// 0-1440 range (CloudFormation says 2160); the emulator bakes 0
    /// minutes when it is absent, as Terraform lets it be.
    pub fn bake_minutes(&self) -> i64 {
        self.bake_time_in_minutes.unwrap_or(0)
    }
}

/// A percent as tenths (`stepPercent` and `canaryPercent` are multiples of 0.1).
fn tenths(percent: f64) -> u32 {
    (percent * 10.0).round().clamp(0.0, 1000.0) as u32
}

/// The integer ALB weights `(blue, green)` for `green_tenths`: percents
/// when whole, else per mille (ALB weights are integers 0-999; how ECS
/// encodes fractional percents is not documented).
pub fn forward_weights(green_tenths: u32) -> (u32, u32) {
    if green_tenths.is_multiple_of(10) {
        (100 - green_tenths / 10, green_tenths / 10)
    } else {
        (1000 - green_tenths, green_tenths)
    }
}

fn invalid(message: impl Into<String>) -> Result<(), EcsError> {
    Err(EcsError::InvalidParameter(message.into()))
}

fn check_bake(name: &str, minutes: Option<i64>) -> Result<(), EcsError> {
    match minutes {
        Some(m) if !(0..=MAX_BAKE_MINUTES).contains(&m) => invalid(format!(
            "{name} must be between 0 and {MAX_BAKE_MINUTES} minutes."
        )),
        _ => Ok(()),
    }
}

fn check_percent(name: &str, percent: Option<f64>, min: f64) -> Result<(), EcsError> {
    let Some(p) = percent else { return Ok(()) };
    let multiple_of_tenth = ((p * 10.0).round() - p * 10.0).abs() < 1e-6;
    if !(min..=100.0).contains(&p) || !multiple_of_tenth {
        return invalid(format!(
            "{name} must be a multiple of 0.1 between {min:.1} and 100.0."
        ));
    }
    Ok(())
}

/// The strategy's own members (API_DeploymentConfiguration). The messages
/// for misplaced or out-of-range members are the emulator's own (AWS does
/// not document them).
pub fn validate_strategy(dc: &DeploymentConfiguration) -> Result<(), EcsError> {
    let strategy = dc.strategy();
    if let DeploymentStrategy::Unknown(other) = &strategy {
        return invalid(format!(
            "Invalid deployment strategy: {other}. The valid values are ROLLING, BLUE_GREEN, LINEAR and CANARY."
        ));
    }
    if dc.linear_configuration.is_some() && strategy != DeploymentStrategy::Linear {
        return invalid(
            "linearConfiguration is only valid when the deployment strategy is LINEAR.",
        );
    }
    if dc.canary_configuration.is_some() && strategy != DeploymentStrategy::Canary {
        return invalid(
            "canaryConfiguration is only valid when the deployment strategy is CANARY.",
        );
    }
    check_bake("bakeTimeInMinutes", dc.bake_time_in_minutes)?;
    if let Some(c) = &dc.linear_configuration {
        check_percent("stepPercent", c.step_percent, 3.0)?;
        check_bake("stepBakeTimeInMinutes", c.step_bake_time_in_minutes)?;
    }
    if let Some(c) = &dc.canary_configuration {
        check_percent("canaryPercent", c.canary_percent, 0.1)?;
        check_bake("canaryBakeTimeInMinutes", c.canary_bake_time_in_minutes)?;
    }
    for hook in &dc.lifecycle_hooks {
        match hook.target_type.as_deref() {
            None | Some("AWS_LAMBDA") => {}
            Some("PAUSE") => {
                return invalid(
                    "PAUSE lifecycle hooks are not supported by this emulator (ContinueServiceDeployment is not implemented); use AWS_LAMBDA hooks, which it marks SUCCEEDED at once.",
                )
            }
            Some(_) => return invalid("Invalid targetType. Valid values are: AWS_LAMBDA, PAUSE"),
        }
    }
    Ok(())
}

/// `advancedConfiguration` of the load balancers under `dc`, the checks
/// CreateService and UpdateService make at once (troubleshooting-blue-green
/// documents the messages).
pub fn validate_advanced(
    dc: &DeploymentConfiguration,
    lbs: &[LoadBalancerRef],
) -> Result<(), EcsError> {
    let with = lbs
        .iter()
        .filter(|lb| lb.advanced_configuration.is_some())
        .count();
    if dc.shifts_traffic() && with < lbs.len() {
        return invalid("advancedConfiguration field is required for all loadBalancers when using a non-ROLLING deployment strategy");
    }
    if with != 0 && with != lbs.len() {
        return invalid(
            "Either all or none of the provided loadBalancers must have advancedConfiguration defined",
        );
    }
    let mut seen = std::collections::BTreeSet::new();
    for lb in lbs.iter().filter(|_| with > 0) {
        let alternate = lb
            .advanced_configuration
            .as_ref()
            .and_then(|a| a.alternate_target_group_arn.as_ref());
        for tg in lb.target_group_arn.iter().chain(alternate) {
            if !seen.insert(tg.clone()) {
                return invalid(format!("Duplicate targetGroupArn found: {tg}"));
            }
        }
        let Some(advanced) = &lb.advanced_configuration else {
            continue;
        };
        if lb.load_balancer_name.is_some() {
            return invalid("advancedConfiguration field is not allowed with ELBv1 loadBalancers");
        }
        // Required for an ALB (Terraform's schema; the API marks every
        // member optional).
        for (name, value) in [
            (
                "alternateTargetGroupArn",
                &advanced.alternate_target_group_arn,
            ),
            ("productionListenerRule", &advanced.production_listener_rule),
            ("roleArn", &advanced.role_arn),
        ] {
            if value.is_none() {
                return invalid(format!("advancedConfiguration.{name} is required."));
            }
        }
        for (name, rule) in [
            ("productionListenerRule", &advanced.production_listener_rule),
            ("testListenerRule", &advanced.test_listener_rule),
        ] {
            if let Some(rule) = rule {
                if !rule.contains(":listener-rule/app/") {
                    return invalid(format!("{name} has an invalid ARN format. Must be RuleArn for ALB or ListenerArn for NLB. Got: {rule}"));
                }
            }
        }
        if advanced.test_listener_rule.is_some()
            && advanced.test_listener_rule == advanced.production_listener_rule
        {
            return invalid(format!(
                "The following rules cannot be used as both production and test listener rules: {}",
                advanced.test_listener_rule.as_deref().unwrap_or_default()
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(json: serde_json::Value) -> DeploymentConfiguration {
        serde_json::from_value(json).unwrap()
    }

    fn lb(advanced: Option<serde_json::Value>) -> LoadBalancerRef {
        let mut v = serde_json::json!({
            "targetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/blue/1",
            "containerName": "app", "containerPort": 8080,
        });
        if let Some(a) = advanced {
            v["advancedConfiguration"] = a;
        }
        serde_json::from_value(v).unwrap()
    }

    const RULE: &str = "arn:aws:elasticloadbalancing:us-east-1:1:listener-rule/app/lb/1/2/3";

    fn advanced() -> serde_json::Value {
        serde_json::json!({
            "alternateTargetGroupArn": "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/green/2",
            "productionListenerRule": RULE,
            "roleArn": "arn:aws:iam::1:role/ecs",
        })
    }

    fn message(r: Result<(), EcsError>) -> String {
        r.unwrap_err().to_string()
    }

    #[test]
    fn each_strategy_steps_as_documented() {
        let steps = |json| config(json).production_steps();
        assert_eq!(
            steps(serde_json::json!({"strategy": "BLUE_GREEN"})),
            [(1000, 0)]
        );
        assert_eq!(
            steps(serde_json::json!({"strategy": "LINEAR",
                "linearConfiguration": {"stepPercent": 25.0, "stepBakeTimeInMinutes": 2}})),
            [(250, 2), (500, 2), (750, 2), (1000, 0)]
        );
        // 11 % steps: 9 bakes, then the last step is capped at 100.
        let eleven = steps(serde_json::json!({"strategy": "LINEAR",
            "linearConfiguration": {"stepPercent": 11.0}}));
        assert_eq!(eleven.len(), 10);
        assert_eq!(eleven[8], (990, 6));
        assert_eq!(
            steps(serde_json::json!({"strategy": "CANARY"})),
            [(50, 10), (1000, 0)]
        );
        assert_eq!(
            steps(serde_json::json!({"strategy": "CANARY",
                "canaryConfiguration": {"canaryPercent": 100.0}})),
            [(1000, 0)]
        );
    }

    #[test]
    fn weights_are_percents_or_per_mille() {
        assert_eq!(forward_weights(0), (100, 0));
        assert_eq!(forward_weights(200), (80, 20));
        assert_eq!(forward_weights(1000), (0, 100));
        assert_eq!(forward_weights(33), (967, 33));
    }

    #[test]
    fn strategy_members_are_checked() {
        let check = |json| validate_strategy(&config(json));
        assert!(check(serde_json::json!({"strategy": "LINEAR",
            "linearConfiguration": {"stepPercent": 3.0, "stepBakeTimeInMinutes": 1440}}))
        .is_ok());
        assert!(message(check(serde_json::json!({"strategy": "BLUE"}))).contains("BLUE."));
        assert!(message(check(
            serde_json::json!({"strategy": "CANARY", "linearConfiguration": {}})
        ))
        .starts_with("linearConfiguration is only valid"));
        assert!(message(check(
            serde_json::json!({"strategy": "LINEAR", "canaryConfiguration": {}})
        ))
        .starts_with("canaryConfiguration is only valid"));
        for bad in [2.9, 100.1, 10.05] {
            assert!(message(check(serde_json::json!({"strategy": "LINEAR",
                "linearConfiguration": {"stepPercent": bad}})))
            .starts_with("stepPercent"));
        }
        assert!(check(serde_json::json!({"strategy": "CANARY",
            "canaryConfiguration": {"canaryPercent": 0.1}}))
        .is_ok());
        assert!(message(check(serde_json::json!({"strategy": "CANARY",
            "canaryConfiguration": {"canaryPercent": 0.0}})))
        .starts_with("canaryPercent"));
        assert!(message(check(
            serde_json::json!({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1441})
        ))
        .starts_with("bakeTimeInMinutes"));
        assert!(message(check(serde_json::json!({"strategy": "BLUE_GREEN",
            "lifecycleHooks": [{"targetType": "SNS"}]})))
        .starts_with("Invalid targetType"));
        assert!(message(check(serde_json::json!({"strategy": "BLUE_GREEN",
            "lifecycleHooks": [{"targetType": "PAUSE"}]})))
        .starts_with("PAUSE lifecycle hooks"));
    }

    #[test]
    fn advanced_configuration_is_checked() {
        let bg = config(serde_json::json!({"strategy": "BLUE_GREEN"}));
        let rolling = DeploymentConfiguration::default();
        assert!(validate_advanced(&bg, &[lb(Some(advanced()))]).is_ok());
        assert!(message(validate_advanced(&bg, &[lb(None)]))
            .starts_with("advancedConfiguration field is required"));
        let mut second = lb(None);
        second.target_group_arn =
            Some("arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/other/3".into());
        assert!(
            message(validate_advanced(&rolling, &[lb(Some(advanced())), second]))
                .starts_with("Either all or none")
        );
        let mut same = advanced();
        same["alternateTargetGroupArn"] =
            "arn:aws:elasticloadbalancing:us-east-1:1:targetgroup/blue/1".into();
        assert!(message(validate_advanced(&bg, &[lb(Some(same))]))
            .starts_with("Duplicate targetGroupArn found: "));
        let mut bad = advanced();
        bad["productionListenerRule"] = "rule-1".into();
        assert_eq!(
            message(validate_advanced(&bg, &[lb(Some(bad))])),
            "productionListenerRule has an invalid ARN format. Must be RuleArn for ALB or ListenerArn for NLB. Got: rule-1"
        );
        let mut both = advanced();
        both["testListenerRule"] = RULE.into();
        assert_eq!(
            message(validate_advanced(&bg, &[lb(Some(both))])),
            format!("The following rules cannot be used as both production and test listener rules: {RULE}")
        );
        let mut no_role = advanced();
        no_role.as_object_mut().unwrap().remove("roleArn");
        assert!(message(validate_advanced(&bg, &[lb(Some(no_role))])).contains("roleArn"));
    }
}
