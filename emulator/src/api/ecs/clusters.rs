//! Cluster actions: create, describe, list, update, delete, and the
//! capacity providers a cluster is associated with.

use serde::Deserialize;
use serde_json::{json, Value};

use super::{merge_tags, missing, paginate, Handler, Output, PageInput};
use crate::domain::arn::last_segment;
use crate::domain::ecs::capacity::{self, CapacityProviderStatus, StrategyItem};
use crate::domain::ecs::service::ServiceStatus;
use crate::domain::ecs::validate::EcsError;
use crate::domain::ecs::{
    Cluster, ClusterStatus, EcsState, KeyValuePair, Tag, TaskStatus, DEFAULT_CLUSTER,
};

/// The one cluster setting ECS has, and the values it takes.
const CONTAINER_INSIGHTS: &str = "containerInsights";
const CONTAINER_INSIGHTS_VALUES: [&str; 3] = ["enhanced", "enabled", "disabled"];

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct CreateClusterInput {
    cluster_name: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    settings: Vec<KeyValuePair>,
    configuration: Option<Value>,
    #[serde(default)]
    capacity_providers: Vec<String>,
    #[serde(default)]
    default_capacity_provider_strategy: Vec<StrategyItem>,
    service_connect_defaults: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DescribeClustersInput {
    clusters: Option<Vec<String>>,
    #[serde(default)]
    include: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ClusterInput {
    cluster: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateClusterInput {
    cluster: String,
    settings: Option<Vec<KeyValuePair>>,
    configuration: Option<Value>,
    service_connect_defaults: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct UpdateClusterSettingsInput {
    cluster: String,
    settings: Vec<KeyValuePair>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PutClusterCapacityProvidersInput {
    cluster: String,
    capacity_providers: Vec<String>,
    default_capacity_provider_strategy: Vec<StrategyItem>,
}

/// What a new cluster starts with besides its name.
#[derive(Default)]
pub(super) struct ClusterSpec {
    pub settings: Vec<KeyValuePair>,
    pub configuration: Option<Value>,
    pub capacity_providers: Vec<String>,
    pub default_capacity_provider_strategy: Vec<StrategyItem>,
    pub service_connect_defaults: Option<Value>,
}

impl Handler<'_> {
    /// The caller, for account settings: any credentials are the account's
    /// root here, as IAM users are not modelled.
    pub(super) fn root_principal(&self) -> String {
        format!("arn:aws:iam::{}:root", self.api.account_id())
    }

    pub(super) fn insert_cluster(
        &self,
        ecs: &mut EcsState,
        name: &str,
        spec: ClusterSpec,
    ) -> Cluster {
        let mut settings = spec.settings;
        if !settings.iter().any(|s| s.name == CONTAINER_INSIGHTS) {
            // New clusters take the account's containerInsights setting.
            let root = self.root_principal();
            let value = ecs
                .account_settings
                .effective(&root, &root, CONTAINER_INSIGHTS)
                .unwrap_or_else(|| "disabled".into());
            settings.push(KeyValuePair {
                name: CONTAINER_INSIGHTS.into(),
                value,
            });
        }
        let cluster = Cluster {
            cluster_arn: self.arn(&format!("cluster/{name}")),
            cluster_name: name.to_string(),
            status: ClusterStatus::Active,
            created_at: Some(Self::now()),
            settings,
            capacity_providers: spec.capacity_providers,
            default_capacity_provider_strategy: spec.default_capacity_provider_strategy,
            configuration: spec.configuration,
            service_connect_defaults: spec.service_connect_defaults,
        };
        ecs.clusters.insert(name.to_string(), cluster.clone());
        cluster
    }

    pub(super) fn create_cluster(&self, input: CreateClusterInput) -> Output {
        let name = input
            .cluster_name
            .unwrap_or_else(|| DEFAULT_CLUSTER.to_string());
        let valid = !name.is_empty()
            && name.len() <= 255
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(EcsError::InvalidParameter(
                "Cluster name can have up to 255 characters: letters, numbers, hyphens and underscores.".into(),
            ));
        }
        check_settings(&input.settings)?;
        self.api.store.write(|s| {
            let ecs = &mut s.ecs;
            check_association(
                ecs,
                &input.capacity_providers,
                &input.default_capacity_provider_strategy,
            )?;
            // Creating an existing ACTIVE cluster returns it unchanged, as AWS does.
            let cluster = match ecs.clusters.get(&name) {
                Some(c) if c.status == ClusterStatus::Active => c.clone(),
                _ => self.insert_cluster(
                    ecs,
                    &name,
                    ClusterSpec {
                        settings: input.settings,
                        configuration: input.configuration,
                        capacity_providers: input.capacity_providers,
                        default_capacity_provider_strategy: input
                            .default_capacity_provider_strategy,
                        service_connect_defaults: input.service_connect_defaults,
                    },
                ),
            };
            merge_tags(ecs, &cluster.cluster_arn, input.tags);
            Ok(json!({ "cluster": ecs.cluster_view(&cluster, true) }))
        })
    }

    pub(super) fn describe_clusters(&self, input: DescribeClustersInput) -> Output {
        let names = input
            .clusters
            .unwrap_or_else(|| vec![DEFAULT_CLUSTER.to_string()]);
        let with_tags = input.include.iter().any(|i| i == "TAGS");
        self.api.store.read(|s| {
            let mut clusters = vec![];
            let mut failures = vec![];
            for reference in &names {
                match s.ecs.clusters.get(last_segment(reference)) {
                    Some(c) => clusters.push(s.ecs.cluster_view(c, with_tags)),
                    None => failures.push(missing(&self.cluster_reference_arn(reference))),
                }
            }
            Ok(json!({ "clusters": clusters, "failures": failures }))
        })
    }

    fn cluster_reference_arn(&self, reference: &str) -> String {
        if reference.starts_with("arn:") {
            reference.to_string()
        } else {
            self.arn(&format!("cluster/{reference}"))
        }
    }

    pub(super) fn list_clusters(&self, input: PageInput) -> Output {
        let arns: Vec<String> = self.api.store.read(|s| {
            s.ecs
                .clusters
                .values()
                .filter(|c| c.status == ClusterStatus::Active)
                .map(|c| c.cluster_arn.clone())
                .collect()
        });
        let (page, next) = paginate(arns, &input)?;
        Ok(json!({ "clusterArns": page, "nextToken": next }))
    }

    pub(super) fn delete_cluster(&self, input: ClusterInput) -> Output {
        self.api.store.write(|s| {
            let ecs = &mut s.ecs;
            let name = last_segment(&input.cluster).to_string();
            let cluster = active_cluster(ecs, &input.cluster)?.clone();
            let has_services = ecs.services.values().any(|svc| {
                svc.cluster_arn == cluster.cluster_arn && svc.status != ServiceStatus::Inactive
            });
            if has_services {
                return Err(EcsError::ClusterContainsServices);
            }
            let has_tasks = ecs.tasks.values().any(|t| {
                t.cluster_arn == cluster.cluster_arn && t.last_status != TaskStatus::Stopped
            });
            if has_tasks {
                return Err(EcsError::ClusterContainsTasks);
            }
            let mut view = ecs.cluster_view(&cluster, false);
            view.cluster.status = ClusterStatus::Inactive;
            if let Some(c) = ecs.clusters.get_mut(&name) {
                c.status = ClusterStatus::Inactive;
            }
            Ok(json!({ "cluster": view }))
        })
    }

    pub(super) fn update_cluster(&self, input: UpdateClusterInput) -> Output {
        if let Some(settings) = &input.settings {
            check_settings(settings)?;
        }
        self.api.store.write(|s| {
            let cluster = active_cluster_mut(&mut s.ecs, &input.cluster)?;
            if let Some(settings) = input.settings {
                merge_settings(cluster, settings);
            }
            if let Some(configuration) = input.configuration {
                cluster.configuration = Some(configuration);
            }
            if let Some(defaults) = input.service_connect_defaults {
                cluster.service_connect_defaults = Some(defaults);
            }
            let cluster = cluster.clone();
            Ok(json!({ "cluster": s.ecs.cluster_view(&cluster, false) }))
        })
    }

    pub(super) fn update_cluster_settings(&self, input: UpdateClusterSettingsInput) -> Output {
        check_settings(&input.settings)?;
        self.api.store.write(|s| {
            let cluster = active_cluster_mut(&mut s.ecs, &input.cluster)?;
            merge_settings(cluster, input.settings);
            let cluster = cluster.clone();
            Ok(json!({ "cluster": s.ecs.cluster_view(&cluster, false) }))
        })
    }

    pub(super) fn put_cluster_capacity_providers(
        &self,
        input: PutClusterCapacityProvidersInput,
    ) -> Output {
        self.api.store.write(|s| {
            let ecs = &mut s.ecs;
            check_association(
                ecs,
                &input.capacity_providers,
                &input.default_capacity_provider_strategy,
            )?;
            let cluster_arn = active_cluster(ecs, &input.cluster)?.cluster_arn.clone();
            // A provider that a service's strategy uses stays associated.
            let in_use = ecs.services.values().any(|svc| {
                svc.cluster_arn == cluster_arn
                    && svc.status != ServiceStatus::Inactive
                    && svc
                        .launch
                        .capacity_provider_strategy
                        .iter()
                        .any(|i| !input.capacity_providers.contains(&i.capacity_provider))
            });
            if in_use {
                return Err(EcsError::ResourceInUse(
                    "The specified capacity provider is in use and cannot be removed.".into(),
                ));
            }
            let cluster = active_cluster_mut(ecs, &input.cluster)?;
            cluster.capacity_providers = input.capacity_providers;
            cluster.default_capacity_provider_strategy = input.default_capacity_provider_strategy;
            let cluster = cluster.clone();
            Ok(json!({ "cluster": ecs.cluster_view(&cluster, false) }))
        })
    }
}

/// An ACTIVE cluster by name or ARN.
fn active_cluster<'e>(ecs: &'e EcsState, reference: &str) -> Result<&'e Cluster, EcsError> {
    match ecs.clusters.get(last_segment(reference)) {
        Some(c) if c.status == ClusterStatus::Active => Ok(c),
        _ => Err(EcsError::ClusterNotFound),
    }
}

fn active_cluster_mut<'e>(
    ecs: &'e mut EcsState,
    reference: &str,
) -> Result<&'e mut Cluster, EcsError> {
    match ecs.clusters.get_mut(last_segment(reference)) {
        Some(c) if c.status == ClusterStatus::Active => Ok(c),
        _ => Err(EcsError::ClusterNotFound),
    }
}

fn check_settings(settings: &[KeyValuePair]) -> Result<(), EcsError> {
    for setting in settings {
        if setting.name != CONTAINER_INSIGHTS {
            return Err(EcsError::InvalidParameter(format!(
                "Invalid cluster setting name '{}'. Valid names are: {CONTAINER_INSIGHTS}.",
                setting.name
            )));
        }
        if !CONTAINER_INSIGHTS_VALUES.contains(&setting.value.as_str()) {
            return Err(EcsError::InvalidParameter(format!(
                "Invalid value '{}' for cluster setting {CONTAINER_INSIGHTS}. Valid values are: {}.",
                setting.value,
                CONTAINER_INSIGHTS_VALUES.join(", ")
            )));
        }
    }
    Ok(())
}

fn merge_settings(cluster: &mut Cluster, settings: Vec<KeyValuePair>) {
    for setting in settings {
        match cluster.settings.iter_mut().find(|s| s.name == setting.name) {
            Some(existing) => existing.value = setting.value,
            None => cluster.settings.push(setting),
        }
    }
}

/// The providers a cluster is to be associated with exist, and its default
/// strategy names only those.
fn check_association(
    ecs: &EcsState,
    providers: &[String],
    default_strategy: &[StrategyItem],
) -> Result<(), EcsError> {
    for name in providers {
        let known = capacity::is_fargate(name)
            || ecs
                .capacity_providers
                .get(last_segment(name))
                .is_some_and(|p| p.status == CapacityProviderStatus::Active);
        if !known {
            return Err(EcsError::InvalidParameter(format!(
                "The specified capacity provider '{name}' does not exist. Specify a valid name or ARN and try again."
            )));
        }
    }
    capacity::check_strategy(default_strategy)?;
    if default_strategy
        .iter()
        .any(|i| !providers.contains(&i.capacity_provider))
    {
        return Err(EcsError::InvalidParameter(
            "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.".into(),
        ));
    }
    Ok(())
}
