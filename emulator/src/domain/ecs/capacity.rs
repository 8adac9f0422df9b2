//! Capacity providers and strategies. Every account has Fargate's two,
//! `FARGATE` and `FARGATE_SPOT`; a cluster uses those it is associated with
//! (PutClusterCapacityProviders). Custom Auto Scaling group providers are
//! stored and described, but this emulator runs Fargate tasks only, so a
//! strategy that names one is refused where a task would be placed.
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-capacity-providers.html>

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::validate::EcsError;
use super::{Cluster, Tag};

pub const FARGATE: &str = "FARGATE";
pub const FARGATE_SPOT: &str = "FARGATE_SPOT";

/// A strategy holds at most this many providers (AWS: 20).
pub const MAX_STRATEGY_ITEMS: usize = 20;
/// `weight` is 0-1000 (the model's range).
pub const MAX_WEIGHT: u32 = 1000;
/// `base` is 0-100000 (the model's range).
pub const MAX_BASE: u32 = 100_000;

/// One item of a capacity provider strategy, as on the wire.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct StrategyItem {
    pub capacity_provider: String,
    #[serde(default)]
    pub weight: u32,
    #[serde(default)]
    pub base: u32,
}

/// A custom capacity provider (CreateCapacityProvider). Fargate's own two
/// are not stored: [`describe_fargate`] makes them.
#[derive(Debug, Clone, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct CapacityProvider {
    pub capacity_provider_arn: String,
    pub name: String,
    pub status: CapacityProviderStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub auto_scaling_group_provider: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub managed_instances_provider: Option<serde_json::Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub update_status: Option<CapacityProviderUpdateStatus>,
    pub tags: Vec<Tag>,
    /// EC2_AUTOSCALING or MANAGED_INSTANCES.
    #[serde(rename = "type")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub kind: &'static str,
}

/// `status` of a capacity provider: ACTIVE, or INACTIVE once deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CapacityProviderStatus {
    Active,
    Inactive,
}

/// `updateStatus` of a capacity provider, after UpdateCapacityProvider or
/// DeleteCapacityProvider (both finish at once here).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CapacityProviderUpdateStatus {
    UpdateComplete,
    DeleteComplete,
}

/// The custom capacity providers, by name.
pub type CapacityProviders = BTreeMap<String, CapacityProvider>;

/// Fargate's built-in providers as DescribeCapacityProviders shows them.
pub fn describe_fargate(region: &str, account: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "capacityProviderArn": format!("arn:aws:ecs:{region}:{account}:capacity-provider/{name}"),
        "name": name,
        "status": CapacityProviderStatus::Active,
        "tags": [],
        "type": name,
    })
}

pub fn is_fargate(name: &str) -> bool {
    name == FARGATE || name == FARGATE_SPOT
}

/// CreateCapacityProvider's name rule: 1-255 letters, digits, `_` and `-`,
/// not starting with "aws", "ecs" or "fargate" (in any case).
pub fn check_provider_name(name: &str) -> Result<(), EcsError> {
    let valid_chars = !name.is_empty()
        && name.len() <= 255
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let lower = name.to_ascii_lowercase();
    let reserved = ["aws", "ecs", "fargate"]
        .iter()
        .any(|p| lower.starts_with(p));
    if !valid_chars || reserved {
        return Err(EcsError::InvalidParameter(
            "The specified capacity provider name is invalid. Up to 255 characters are allowed, including letters (upper and lowercase), numbers, underscores, and hyphens. The name cannot be prefixed with \"aws\", \"ecs\", or \"fargate\".".into(),
        ));
    }
    Ok(())
}

/// The shape rules every strategy follows, wherever it is given.
pub fn check_strategy(items: &[StrategyItem]) -> Result<(), EcsError> {
    if items.len() > MAX_STRATEGY_ITEMS {
        return Err(EcsError::InvalidParameter(format!(
            "A capacity provider strategy can contain a maximum of {MAX_STRATEGY_ITEMS} capacity providers."
        )));
    }
    for item in items {
        if item.weight > MAX_WEIGHT {
            return Err(EcsError::InvalidParameter(format!(
                "The specified capacity provider strategy weight {} is invalid. The weight must be between 0 and {MAX_WEIGHT}.",
                item.weight
            )));
        }
        if item.base > MAX_BASE {
            return Err(EcsError::InvalidParameter(format!(
                "The specified capacity provider strategy base {} is invalid. The base must be between 0 and {MAX_BASE}.",
                item.base
            )));
        }
    }
    let mut names: Vec<&str> = items.iter().map(|i| i.capacity_provider.as_str()).collect();
    names.sort_unstable();
    if names.windows(2).any(|w| w[0] == w[1]) {
        return Err(EcsError::InvalidParameter(
            "The specified capacity provider strategy cannot contain duplicate capacity providers."
                .into(),
        ));
    }
    if items.iter().filter(|i| i.base > 0).count() > 1 {
        return Err(EcsError::InvalidParameter(
            "The specified capacity provider strategy cannot specify a base for more than one capacity provider.".into(),
        ));
    }
    if !items.is_empty() && items.iter().all(|i| i.weight == 0) {
        return Err(EcsError::InvalidParameter(
            "The specified capacity provider strategy must contain at least one capacity provider with a weight greater than zero.".into(),
        ));
    }
    let fargate = items
        .iter()
        .filter(|i| is_fargate(&i.capacity_provider))
        .count();
    if fargate != 0 && fargate != items.len() {
        return Err(EcsError::InvalidParameter(
            "The specified capacity provider strategy cannot contain a mix of capacity providers using Auto Scaling groups and Fargate providers. Specify one or the other and try again.".into(),
        ));
    }
    Ok(())
}

/// Checks a strategy that places tasks: its providers must be associated
/// with the cluster, and (here) be Fargate's.
pub fn check_placement(
    items: &[StrategyItem],
    cluster_providers: &[String],
) -> Result<(), EcsError> {
    check_strategy(items)?;
    for item in items {
        if !cluster_providers.contains(&item.capacity_provider) {
            return Err(EcsError::InvalidParameter(
                "The specified capacity provider strategy cannot contain a capacity provider that is not associated with the cluster. Associate the capacity provider with the cluster or specify a valid capacity provider and try again.".into(),
            ));
        }
        if !is_fargate(&item.capacity_provider) {
            return Err(EcsError::InvalidParameter(format!(
                "Capacity provider {} uses an Auto Scaling group: this emulator runs Fargate tasks only (FARGATE, FARGATE_SPOT).",
                item.capacity_provider
            )));
        }
    }
    Ok(())
}

/// How a RunTask call or a service places its tasks.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Placement {
    /// `launchType: FARGATE`.
    LaunchType,
    /// A capacity provider strategy (given, or the cluster's default).
    Strategy(Vec<StrategyItem>),
}

impl Placement {
    /// The `launchType` member: absent when a strategy places the tasks.
    pub fn launch_type(&self) -> Option<&'static str> {
        matches!(self, Placement::LaunchType).then_some(FARGATE)
    }

    pub fn strategy(&self) -> &[StrategyItem] {
        match self {
            Placement::LaunchType => &[],
            Placement::Strategy(items) => items,
        }
    }
}

/// Works out the placement of RunTask or CreateService from its
/// `launchType` and `capacityProviderStrategy`. With neither, the cluster's
/// default strategy applies; a cluster without one gets FARGATE (AWS would
/// use the EC2 launch type, which this emulator does not run).
pub fn resolve_placement(
    launch_type: Option<&str>,
    strategy: Vec<StrategyItem>,
    cluster: &Cluster,
) -> Result<Placement, EcsError> {
    match (launch_type, strategy.is_empty()) {
        (Some(_), false) => Err(EcsError::InvalidParameter(
            "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.".into(),
        )),
        (Some(FARGATE), true) => Ok(Placement::LaunchType),
        (Some(other), true) => Err(EcsError::InvalidParameter(format!(
            "This emulator runs Fargate tasks only; launchType {other} is not supported."
        ))),
        (None, false) => {
            check_placement(&strategy, &cluster.capacity_providers)?;
            Ok(Placement::Strategy(strategy))
        }
        (None, true) if cluster.default_capacity_provider_strategy.is_empty() => {
            Ok(Placement::LaunchType)
        }
        (None, true) => {
            let default = cluster.default_capacity_provider_strategy.clone();
            check_placement(&default, &cluster.capacity_providers)?;
            Ok(Placement::Strategy(default))
        }
    }
}

/// The provider for the next task, given how many tasks each provider
/// already runs for the same service or RunTask call. `base` tasks go to
/// the provider that has one first; after that each provider's share
/// follows its weight (the one furthest below its share is picked, ties
/// going to the first listed). `None` for an empty strategy.
pub fn pick(items: &[StrategyItem], placed: &BTreeMap<String, u32>) -> Option<String> {
    let count = |name: &str| placed.get(name).copied().unwrap_or(0);
    if let Some(item) = items
        .iter()
        .find(|i| i.base > 0 && count(&i.capacity_provider) < i.base)
    {
        return Some(item.capacity_provider.clone());
    }
    items
        .iter()
        .filter(|i| i.weight > 0)
        .min_by(|a, b| {
            // Compare (count - base) / weight without division.
            let beyond =
                |i: &StrategyItem| u64::from(count(&i.capacity_provider).saturating_sub(i.base));
            (beyond(a) * u64::from(b.weight)).cmp(&(beyond(b) * u64::from(a.weight)))
        })
        .map(|i| i.capacity_provider.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(name: &str, weight: u32, base: u32) -> StrategyItem {
        StrategyItem {
            capacity_provider: name.into(),
            weight,
            base,
        }
    }

    fn place(items: &[StrategyItem], n: usize) -> BTreeMap<String, u32> {
        let mut placed = BTreeMap::new();
        for _ in 0..n {
            let name = pick(items, &placed).unwrap();
            *placed.entry(name).or_default() += 1;
        }
        placed
    }

    #[test]
    fn base_first_then_weights() {
        let strategy = [item(FARGATE, 1, 2), item(FARGATE_SPOT, 3, 0)];
        let placed = place(&strategy, 2);
        assert_eq!(placed.get(FARGATE), Some(&2));
        let placed = place(&strategy, 10);
        assert_eq!((placed[FARGATE], placed[FARGATE_SPOT]), (4, 6));
        let only_spot = [item(FARGATE, 0, 1), item(FARGATE_SPOT, 1, 0)];
        let placed = place(&only_spot, 5);
        assert_eq!((placed[FARGATE], placed[FARGATE_SPOT]), (1, 4));
        assert_eq!(pick(&[], &BTreeMap::new()), None);
    }

    #[test]
    fn strategy_rules() {
        assert!(check_strategy(&[item(FARGATE, 1, 0)]).is_ok());
        let cases = [
            vec![item(FARGATE, 1001, 0)],
            vec![item(FARGATE, 1, 100_001)],
            vec![item(FARGATE, 1, 0), item(FARGATE, 1, 0)],
            vec![item(FARGATE, 1, 1), item(FARGATE_SPOT, 1, 1)],
            vec![item(FARGATE, 0, 0)],
            vec![item(FARGATE, 1, 0), item("asg", 1, 0)],
        ];
        for case in cases {
            let e = check_strategy(&case).unwrap_err();
            assert_eq!(e.code(), "InvalidParameterException", "{case:?}");
        }
        let many: Vec<_> = (0..21).map(|i| item(&format!("p{i}"), 1, 0)).collect();
        assert!(check_strategy(&many).is_err());
    }

    #[test]
    fn placement_needs_an_associated_fargate_provider() {
        let cluster = vec![FARGATE.to_string()];
        assert!(check_placement(&[item(FARGATE, 1, 0)], &cluster).is_ok());
        let e = check_placement(&[item(FARGATE_SPOT, 1, 0)], &cluster).unwrap_err();
        assert!(
            e.to_string().contains("not associated"),
            "{}",
            e.to_string()
        );
        let e = check_placement(&[item("asg", 1, 0)], &["asg".to_string()]).unwrap_err();
        assert!(
            e.to_string().contains("Fargate tasks only"),
            "{}",
            e.to_string()
        );
    }

    #[test]
    fn provider_names() {
        assert!(check_provider_name("my-asg_1").is_ok());
        for bad in ["", "awsThing", "ECS-x", "Fargate2", "a b", &"x".repeat(256)] {
            assert!(check_provider_name(bad).is_err(), "{bad}");
        }
    }
}
