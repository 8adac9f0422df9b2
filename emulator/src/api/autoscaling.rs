//! Application Auto Scaling actions (AWS JSON 1.1, `X-Amz-Target:
//! AnyScaleFrontendService.*`) for ECS services: scalable targets, target
//! tracking policies and scaling activities. The reconciler
//! `reconcilers::autoscaling` evaluates the policies.
//! <https://docs.aws.amazon.com/autoscaling/application/APIReference/API_Operations.html>

use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::wire::{self, Input, JsonService};
use crate::domain::arn::{arn, random_hex};
use crate::domain::autoscaling::{
    ecs_service, scale_service, ScalableTarget, ScalingActivity, ScalingError, ScalingPolicy,
    SuspendedState, TargetKey, TargetTrackingConfiguration, ECS_DESIRED_COUNT, ECS_NAMESPACE,
    ECS_SERVICE_LINKED_ROLE, MAX_POLICIES_PER_TARGET, MAX_SCALABLE_TARGETS, TARGET_TRACKING,
};
use crate::domain::epoch_seconds;
use crate::protocol::json::JsonError;

/// DescribeScalableTargets and DescribeScalingActivities page size by
/// default and at most (AWS: 50).
const MAX_PAGE: usize = 50;
/// DescribeScalingPolicies page size by default and at most (AWS: 10).
const MAX_POLICY_PAGE: usize = 10;
/// ResourceIds / PolicyNames filters hold at most this many names (AWS: 50).
const MAX_FILTER_NAMES: usize = 50;
/// Length of the id at the end of a scalable target ARN.
const SCALABLE_TARGET_ID_HEX: usize = 36;

type Output = Result<Value, ScalingError>;

/// Application Auto Scaling's operations.
pub struct AutoScaling;

type Handler<'a> = wire::Handler<'a, AutoScaling>;

impl JsonService for AutoScaling {
    const VALIDATION_CODE: &'static str = "ValidationException";
    type Error = ScalingError;

    fn dispatch(h: &Handler, op: &str, input: &Input) -> Result<Output, JsonError> {
        Ok(match op {
            "RegisterScalableTarget" => h.register_scalable_target(input.decode()?),
            "DescribeScalableTargets" => h.describe_scalable_targets(input.decode()?),
            "DeregisterScalableTarget" => h.deregister_scalable_target(input.decode()?),
            "PutScalingPolicy" => h.put_scaling_policy(input.decode()?),
            "DescribeScalingPolicies" => h.describe_scaling_policies(input.decode()?),
            "DeleteScalingPolicy" => h.delete_scaling_policy(input.decode()?),
            "DescribeScalingActivities" => h.describe_scaling_activities(input.decode()?),
            other => return Err(JsonError::unknown_operation(other)),
        })
    }
}

/// The three members that name a scalable target.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TargetRef {
    service_namespace: String,
    resource_id: String,
    scalable_dimension: String,
}

impl TargetRef {
    fn key(&self) -> Result<TargetKey, ScalingError> {
        TargetKey::new(
            &self.service_namespace,
            &self.resource_id,
            &self.scalable_dimension,
        )
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RegisterScalableTargetInput {
    #[serde(flatten)]
    target: TargetRef,
    min_capacity: Option<i64>,
    max_capacity: Option<i64>,
    #[serde(rename = "RoleARN")]
    role_arn: Option<String>,
    suspended_state: Option<SuspendedState>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeScalableTargetsInput {
    service_namespace: String,
    resource_ids: Option<Vec<String>>,
    scalable_dimension: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutScalingPolicyInput {
    policy_name: String,
    #[serde(flatten)]
    target: TargetRef,
    policy_type: Option<String>,
    target_tracking_scaling_policy_configuration: Option<TargetTrackingConfiguration>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeScalingPoliciesInput {
    policy_names: Option<Vec<String>>,
    service_namespace: String,
    resource_id: Option<String>,
    scalable_dimension: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteScalingPolicyInput {
    policy_name: String,
    #[serde(flatten)]
    target: TargetRef,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeScalingActivitiesInput {
    service_namespace: String,
    resource_id: Option<String>,
    scalable_dimension: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

/// A capacity: a non-negative integer.
fn capacity(name: &str, value: Option<i64>) -> Result<Option<u32>, ScalingError> {
    value
        .map(|v| {
            u32::try_from(v).map_err(|_| {
                ScalingError::Validation(format!("{name} must be a non-negative integer, not {v}."))
            })
        })
        .transpose()
}

/// A `MaxResults` in `1..=max`, `max` when absent.
fn page_size(value: Option<i64>, max: usize) -> Result<usize, ScalingError> {
    match value {
        None => Ok(max),
        Some(n) if (1..=max as i64).contains(&n) => Ok(n as usize),
        Some(n) => Err(ScalingError::Validation(format!(
            "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value between 1 and {max}"
        ))),
    }
}

/// One page of a listing; the token is the offset of the next page.
fn paginate<T>(
    items: Vec<T>,
    size: usize,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ScalingError> {
    let start = match token {
        Some(t) => t
            .parse::<usize>()
            .map_err(|_| ScalingError::InvalidNextToken)?,
        None => 0,
    };
    let total = items.len();
    let page = items.into_iter().skip(start).take(size).collect();
    let next = (start + size < total).then(|| (start + size).to_string());
    Ok((page, next))
}

/// The filters every Describe action shares: the namespace must be one the
/// emulator serves; a dimension filter needs a resource id filter (AWS).
fn check_filters(
    namespace: &str,
    has_resource_filter: bool,
    dimension: Option<&str>,
) -> Result<(), ScalingError> {
    if namespace != ECS_NAMESPACE {
        // Rejects the namespace with the same message as the other actions.
        TargetKey::new(namespace, "service/c/s", ECS_DESIRED_COUNT)?;
    }
    if dimension.is_some() && !has_resource_filter {
        return Err(ScalingError::Validation(
            "If you specify a scalable dimension, you must also specify a resource ID.".into(),
        ));
    }
    Ok(())
}

fn with_next(mut out: Value, next: Option<String>) -> Value {
    if let Some(token) = next {
        out["NextToken"] = json!(token);
    }
    out
}

fn target_view(t: &ScalableTarget) -> Value {
    json!({
        "ServiceNamespace": t.key.namespace,
        "ResourceId": t.key.resource_id,
        "ScalableDimension": t.key.dimension,
        "MinCapacity": t.min_capacity,
        "MaxCapacity": t.max_capacity,
        "RoleARN": t.role_arn,
        "CreationTime": epoch_seconds::to_f64(t.created_at),
        "SuspendedState": t.suspended,
        "ScalableTargetARN": t.arn,
    })
}

fn alarms_view(p: &ScalingPolicy) -> Value {
    p.alarms
        .iter()
        .map(|a| json!({ "AlarmName": a.name, "AlarmARN": a.arn }))
        .collect()
}

fn policy_view(key: &TargetKey, p: &ScalingPolicy) -> Value {
    json!({
        "PolicyARN": p.arn,
        "PolicyName": p.name,
        "ServiceNamespace": key.namespace,
        "ResourceId": key.resource_id,
        "ScalableDimension": key.dimension,
        "PolicyType": TARGET_TRACKING,
        "TargetTrackingScalingPolicyConfiguration": p.configuration,
        "Alarms": alarms_view(p),
        "CreationTime": epoch_seconds::to_f64(p.created_at),
    })
}

fn activity_view(a: &ScalingActivity) -> Value {
    let mut view = json!({
        "ActivityId": a.id,
        "ServiceNamespace": a.key.namespace,
        "ResourceId": a.key.resource_id,
        "ScalableDimension": a.key.dimension,
        "Description": a.description,
        "Cause": a.cause,
        "StartTime": epoch_seconds::to_f64(a.start_time),
        "StatusCode": a.status_code,
        "StatusMessage": a.status_message,
    });
    if let Some(end) = a.end_time {
        view["EndTime"] = json!(epoch_seconds::to_f64(end));
    }
    view
}

impl Handler<'_> {
    fn register_scalable_target(&self, input: RegisterScalableTargetInput) -> Output {
        let key = input.target.key()?;
        let min = capacity("MinCapacity", input.min_capacity)?;
        let max = capacity("MaxCapacity", input.max_capacity)?;
        let account = self.api.account_id().to_string();
        let now = OffsetDateTime::now_utc();
        self.api.store.write(|s| {
            let Some(desired) = ecs_service(s, &key).map(|svc| svc.desired_count) else {
                return Err(ScalingError::Validation(format!(
                    "ECS service doesn't exist: {}",
                    key.resource_id
                )));
            };
            let existing = s.autoscaling.targets.get(&key);
            let (min, max) = match (existing, min, max) {
                (Some(t), min, max) => {
                    (min.unwrap_or(t.min_capacity), max.unwrap_or(t.max_capacity))
                }
                (None, Some(min), Some(max)) => (min, max),
                (None, _, _) => return Err(ScalingError::Validation(
                    "MinCapacity and MaxCapacity are required to register a new scalable target."
                        .into(),
                )),
            };
            if min > max {
                return Err(ScalingError::Validation(format!(
                    "Minimum capacity ({min}) cannot be greater than maximum capacity ({max})."
                )));
            }
            if existing.is_none() && s.autoscaling.targets.len() >= MAX_SCALABLE_TARGETS {
                return Err(ScalingError::LimitExceeded(format!(
                    "You can register at most {MAX_SCALABLE_TARGETS} scalable targets."
                )));
            }
            let target =
                s.autoscaling
                    .targets
                    .entry(key.clone())
                    .or_insert_with(|| ScalableTarget {
                        key: key.clone(),
                        arn: arn(
                            "application-autoscaling",
                            &self.ctx.region,
                            &account,
                            &format!("scalable-target/{}", random_hex(SCALABLE_TARGET_ID_HEX)),
                        ),
                        min_capacity: min,
                        max_capacity: max,
                        role_arn: format!("arn:aws:iam::{account}:{ECS_SERVICE_LINKED_ROLE}"),
                        created_at: now,
                        suspended: SuspendedState::default(),
                        policies: Default::default(),
                        last_scale_out: None,
                        last_scale_in: None,
                    });
            target.min_capacity = min;
            target.max_capacity = max;
            if let Some(role) = input.role_arn {
                target.role_arn = role;
            }
            if let Some(suspended) = input.suspended_state {
                target.suspended = suspended;
            }
            let arn = target.arn.clone();
            // A desired count outside the new range is brought into it at once.
            let adjusted = if desired < min {
                Some((min, format!("minimum capacity was set to {min}")))
            } else if desired > max {
                Some((max, format!("maximum capacity was set to {max}")))
            } else {
                None
            };
            if let Some((count, cause)) = adjusted {
                scale_service(s, &key, count, cause, now);
            }
            Ok(json!({ "ScalableTargetARN": arn }))
        })
    }

    fn describe_scalable_targets(&self, input: DescribeScalableTargetsInput) -> Output {
        let ids = input.resource_ids.unwrap_or_default();
        check_filters(
            &input.service_namespace,
            !ids.is_empty(),
            input.scalable_dimension.as_deref(),
        )?;
        if ids.len() > MAX_FILTER_NAMES {
            return Err(ScalingError::Validation(format!(
                "ResourceIds holds at most {MAX_FILTER_NAMES} resource IDs."
            )));
        }
        let size = page_size(input.max_results, MAX_PAGE)?;
        let targets: Vec<Value> = self.api.store.read(|s| {
            s.autoscaling
                .targets
                .values()
                .filter(|t| t.key.namespace == input.service_namespace)
                .filter(|t| ids.is_empty() || ids.contains(&t.key.resource_id))
                .filter(|t| {
                    input
                        .scalable_dimension
                        .as_deref()
                        .is_none_or(|d| d == t.key.dimension)
                })
                .map(target_view)
                .collect()
        });
        let (page, next) = paginate(targets, size, input.next_token.as_deref())?;
        Ok(with_next(json!({ "ScalableTargets": page }), next))
    }

    fn deregister_scalable_target(&self, input: TargetRef) -> Output {
        let key = input.key()?;
        self.api.store.write(|s| {
            s.autoscaling.targets.remove(&key).ok_or_else(|| {
                ScalingError::ObjectNotFound(format!(
                    "No scalable target found for {}",
                    key.describe()
                ))
            })?;
            Ok(json!({}))
        })
    }

    fn put_scaling_policy(&self, input: PutScalingPolicyInput) -> Output {
        let key = input.target.key()?;
        let name = input.policy_name;
        if name.is_empty() || name.chars().count() > 256 {
            return Err(ScalingError::Validation(
                "PolicyName must be 1 to 256 characters long.".into(),
            ));
        }
        match input.policy_type.as_deref() {
            Some(TARGET_TRACKING) => {}
            Some("StepScaling") => {
                return Err(ScalingError::Validation(
                    "StepScaling policies are not supported by this emulator: they are driven by CloudWatch alarms, which it does not emulate. Use PolicyType TargetTrackingScaling.".into(),
                ))
            }
            Some(other) => {
                return Err(ScalingError::Validation(format!(
                    "Unsupported PolicyType {other}. This emulator supports TargetTrackingScaling only."
                )))
            }
            None => {
                return Err(ScalingError::Validation(
                    "PolicyType must be specified; this emulator supports TargetTrackingScaling.".into(),
                ))
            }
        }
        let Some(configuration) = input.target_tracking_scaling_policy_configuration else {
            return Err(ScalingError::Validation(
                "TargetTrackingScalingPolicyConfiguration must be specified for a TargetTrackingScaling policy.".into(),
            ));
        };
        let account = self.api.account_id().to_string();
        let region = self.ctx.region.clone();
        self.api.store.write(|s| {
            let metric = configuration.validate(&s.elbv2)?;
            let target = s.autoscaling.target_mut(&key)?;
            let policy = match target.policies.get_mut(&name) {
                Some(policy) => {
                    policy.update(configuration, metric, &region, &account, &key.resource_id);
                    policy
                }
                None => {
                    if target.policies.len() >= MAX_POLICIES_PER_TARGET {
                        return Err(ScalingError::LimitExceeded(format!(
                            "A scalable target can have at most {MAX_POLICIES_PER_TARGET} scaling policies."
                        )));
                    }
                    let policy =
                        ScalingPolicy::new(&key, &name, configuration, metric, &region, &account);
                    target.policies.entry(name.clone()).or_insert(policy)
                }
            };
            Ok(json!({ "PolicyARN": policy.arn, "Alarms": alarms_view(policy) }))
        })
    }

    fn describe_scaling_policies(&self, input: DescribeScalingPoliciesInput) -> Output {
        check_filters(
            &input.service_namespace,
            input.resource_id.is_some(),
            input.scalable_dimension.as_deref(),
        )?;
        let names = input.policy_names.unwrap_or_default();
        if names.len() > MAX_FILTER_NAMES {
            return Err(ScalingError::Validation(format!(
                "PolicyNames holds at most {MAX_FILTER_NAMES} names."
            )));
        }
        let size = page_size(input.max_results, MAX_POLICY_PAGE)?;
        let policies: Vec<Value> = self.api.store.read(|s| {
            s.autoscaling
                .targets
                .values()
                .filter(|t| t.key.namespace == input.service_namespace)
                .filter(|t| {
                    input
                        .resource_id
                        .as_deref()
                        .is_none_or(|r| r == t.key.resource_id)
                })
                .filter(|t| {
                    input
                        .scalable_dimension
                        .as_deref()
                        .is_none_or(|d| d == t.key.dimension)
                })
                .flat_map(|t| t.policies.values().map(|p| (&t.key, p)))
                .filter(|(_, p)| names.is_empty() || names.contains(&p.name))
                .map(|(key, p)| policy_view(key, p))
                .collect()
        });
        let (page, next) = paginate(policies, size, input.next_token.as_deref())?;
        Ok(with_next(json!({ "ScalingPolicies": page }), next))
    }

    fn delete_scaling_policy(&self, input: DeleteScalingPolicyInput) -> Output {
        let key = input.target.key()?;
        self.api.store.write(|s| {
            let removed = s
                .autoscaling
                .targets
                .get_mut(&key)
                .and_then(|t| t.policies.remove(&input.policy_name));
            match removed {
                Some(_) => Ok(json!({})),
                None => Err(ScalingError::ObjectNotFound(format!(
                    "No scaling policy found for {}, policy name: {}",
                    key.describe(),
                    input.policy_name
                ))),
            }
        })
    }

    fn describe_scaling_activities(&self, input: DescribeScalingActivitiesInput) -> Output {
        check_filters(
            &input.service_namespace,
            input.resource_id.is_some(),
            input.scalable_dimension.as_deref(),
        )?;
        let size = page_size(input.max_results, MAX_PAGE)?;
        let views: Vec<Value> = self.api.store.read(|s| {
            let mut activities: Vec<&ScalingActivity> = s
                .autoscaling
                .activities
                .iter()
                .filter(|(k, _)| k.namespace == input.service_namespace)
                .filter(|(k, _)| {
                    input
                        .resource_id
                        .as_deref()
                        .is_none_or(|r| r == k.resource_id)
                })
                .filter(|(k, _)| {
                    input
                        .scalable_dimension
                        .as_deref()
                        .is_none_or(|d| d == k.dimension)
                })
                .flat_map(|(_, list)| list.iter())
                .collect();
            // Newest first across targets, as AWS lists them.
            activities.sort_by_key(|a| std::cmp::Reverse(a.start_time));
            activities.iter().map(|a| activity_view(a)).collect()
        });
        let (page, next) = paginate(views, size, input.next_token.as_deref())?;
        Ok(with_next(json!({ "ScalingActivities": page }), next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_sizes_default_to_the_maximum_and_reject_out_of_range() {
        assert_eq!(page_size(None, 50), Ok(50));
        assert_eq!(page_size(Some(10), 50), Ok(10));
        assert!(page_size(Some(0), 50).is_err());
        assert!(page_size(Some(51), 50).is_err());
    }

    #[test]
    fn listings_page_by_offset_and_reject_bad_tokens() {
        let (page, next) = paginate(vec![1, 2, 3], 2, None).unwrap();
        assert_eq!((page, next.as_deref()), (vec![1, 2], Some("2")));
        let (page, next) = paginate(vec![1, 2, 3], 2, Some("2")).unwrap();
        assert_eq!((page, next), (vec![3], None));
        assert_eq!(
            paginate(vec![1], 2, Some("x")).unwrap_err().code(),
            "InvalidNextTokenException"
        );
    }

    #[test]
    fn a_dimension_filter_needs_a_resource_filter() {
        assert!(check_filters("ecs", false, None).is_ok());
        assert!(check_filters("ecs", true, Some("ecs:service:DesiredCount")).is_ok());
        assert!(check_filters("ecs", false, Some("ecs:service:DesiredCount")).is_err());
        assert!(check_filters("dynamodb", false, None).is_err());
    }
}
