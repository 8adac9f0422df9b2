//! Capacity provider actions. Fargate's `FARGATE` and `FARGATE_SPOT` are
//! built in; custom ones (an Auto Scaling group or ECS Managed Instances)
//! are stored and described as AWS does, but no task runs on them.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{merge_tags, paginate, Handler, Output, PageInput};
use crate::domain::arn::last_segment;
use crate::domain::ecs::capacity::{
    self, CapacityProvider, CapacityProviderStatus, CapacityProviderUpdateStatus, FARGATE,
    FARGATE_SPOT,
};
use crate::domain::ecs::validate::EcsError;
use crate::domain::ecs::{ClusterStatus, Tag};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateCapacityProviderInput {
    name: String,
    auto_scaling_group_provider: Option<Value>,
    managed_instances_provider: Option<Value>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeCapacityProvidersInput {
    capacity_providers: Option<Vec<String>>,
    #[serde(default)]
    include: Vec<String>,
    #[serde(flatten)]
    page: PageInput,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateCapacityProviderInput {
    name: String,
    auto_scaling_group_provider: Option<Value>,
    managed_instances_provider: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeleteCapacityProviderInput {
    capacity_provider: String,
}

fn not_found() -> EcsError {
    EcsError::InvalidParameter(
        "The specified capacity provider does not exist. Specify a valid name or ARN and try again.".into(),
    )
}

impl Handler<'_> {
    pub(super) fn create_capacity_provider(&self, input: CreateCapacityProviderInput) -> Output {
        capacity::check_provider_name(&input.name)?;
        let kind =
            match (
                &input.auto_scaling_group_provider,
                &input.managed_instances_provider,
            ) {
                (Some(asg), None) => {
                    if asg
                        .get("autoScalingGroupArn")
                        .and_then(Value::as_str)
                        .is_none()
                    {
                        return Err(EcsError::InvalidParameter(
                            "autoScalingGroupProvider.autoScalingGroupArn is required.".into(),
                        ));
                    }
                    "EC2_AUTOSCALING"
                }
                (None, Some(_)) => "MANAGED_INSTANCES",
                _ => return Err(EcsError::InvalidParameter(
                    "Specify exactly one of autoScalingGroupProvider or managedInstancesProvider."
                        .into(),
                )),
            };
        let arn = self.arn(&format!("capacity-provider/{}", input.name));
        self.api.store.write(|s| {
            let ecs = &mut s.ecs;
            if ecs
                .capacity_providers
                .get(&input.name)
                .is_some_and(|p| p.status == CapacityProviderStatus::Active)
            {
                return Err(EcsError::InvalidParameter(
                    "The specified capacity provider already exists. To change the configuration of an existing capacity provider, update the capacity provider.".into(),
                ));
            }
            let provider = CapacityProvider {
                capacity_provider_arn: arn.clone(),
                name: input.name.clone(),
                status: CapacityProviderStatus::Active,
                auto_scaling_group_provider: input.auto_scaling_group_provider,
                managed_instances_provider: input.managed_instances_provider,
                update_status: None,
                tags: input.tags.clone(),
                kind,
            };
            ecs.capacity_providers.insert(input.name, provider.clone());
            merge_tags(ecs, &arn, input.tags);
            Ok(json!({ "capacityProvider": provider }))
        })
    }

    pub(super) fn describe_capacity_providers(
        &self,
        input: DescribeCapacityProvidersInput,
    ) -> Output {
        let account = self.api.account_id();
        let region = &self.ctx.region;
        let with_tags = input.include.iter().any(|i| i == "TAGS");
        let (providers, failures) = self.api.store.read(|s| {
            let describe = |name: &str| -> Option<Value> {
                if capacity::is_fargate(name) {
                    return Some(capacity::describe_fargate(region, account, name));
                }
                let provider = s.ecs.capacity_providers.get(name)?;
                let mut v = json!(provider);
                if with_tags {
                    v["tags"] = json!(s.ecs.tags_of(&provider.capacity_provider_arn));
                } else {
                    v.as_object_mut().map(|o| o.remove("tags"));
                }
                Some(v)
            };
            match &input.capacity_providers {
                Some(names) => {
                    let mut found = vec![];
                    let mut failures = vec![];
                    for reference in names {
                        match describe(last_segment(reference)) {
                            Some(p) => found.push(p),
                            None => failures.push(json!({ "arn": reference, "reason": "MISSING" })),
                        }
                    }
                    (found, failures)
                }
                None => {
                    let custom = s
                        .ecs
                        .capacity_providers
                        .values()
                        .filter(|p| p.status == CapacityProviderStatus::Active)
                        .map(|p| p.name.clone());
                    let all: Vec<Value> = [FARGATE.to_string(), FARGATE_SPOT.to_string()]
                        .into_iter()
                        .chain(custom)
                        .filter_map(|n| describe(&n))
                        .collect();
                    (all, vec![])
                }
            }
        });
        let (page, next) = paginate(providers, &input.page)?;
        Ok(json!({ "capacityProviders": page, "failures": failures, "nextToken": next }))
    }

    pub(super) fn update_capacity_provider(&self, input: UpdateCapacityProviderInput) -> Output {
        if capacity::is_fargate(&input.name) {
            return Err(EcsError::InvalidParameter(
                "The Fargate capacity providers cannot be updated.".into(),
            ));
        }
        self.api.store.write(|s| {
            let provider = s
                .ecs
                .capacity_providers
                .get_mut(last_segment(&input.name))
                .filter(|p| p.status == CapacityProviderStatus::Active)
                .ok_or_else(not_found)?;
            if let Some(update) = input.auto_scaling_group_provider {
                if let (Some(Value::Object(current)), Value::Object(update)) =
                    (provider.auto_scaling_group_provider.as_mut(), update)
                {
                    current.extend(update);
                }
            }
            if let Some(update) = input.managed_instances_provider {
                provider.managed_instances_provider = Some(update);
            }
            provider.update_status = Some(CapacityProviderUpdateStatus::UpdateComplete);
            Ok(json!({ "capacityProvider": provider }))
        })
    }

    pub(super) fn delete_capacity_provider(&self, input: DeleteCapacityProviderInput) -> Output {
        let name = last_segment(&input.capacity_provider).to_string();
        if capacity::is_fargate(&name) {
            return Err(EcsError::InvalidParameter(
                "The Fargate capacity providers cannot be deleted.".into(),
            ));
        }
        self.api.store.write(|s| {
            let ecs = &mut s.ecs;
            let associated = ecs
                .clusters
                .values()
                .any(|c| c.status == ClusterStatus::Active && c.capacity_providers.contains(&name));
            if associated {
                return Err(EcsError::ResourceInUse(
                    "The specified capacity provider is in use and cannot be deleted. Disassociate the capacity provider from all clusters and try again.".into(),
                ));
            }
            let provider = ecs
                .capacity_providers
                .get_mut(&name)
                .filter(|p| p.status == CapacityProviderStatus::Active)
                .ok_or_else(not_found)?;
            provider.status = CapacityProviderStatus::Inactive;
            provider.update_status = Some(CapacityProviderUpdateStatus::DeleteComplete);
            Ok(json!({ "capacityProvider": provider }))
        })
    }
}
