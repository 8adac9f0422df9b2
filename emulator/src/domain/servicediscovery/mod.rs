//! Cloud Map (service discovery) model: namespaces, their services, the
//! instances registered in them, and the operations that changed them, plus
//! the pure rules of the API (names, filters, discovery).
//! <https://docs.aws.amazon.com/cloud-map/latest/api/API_Operations.html>
//!
//! AWS runs namespace and instance changes asynchronously and reports them
//! as operations; the emulator completes each at once, so every operation
//! is `SUCCESS` from the start.
//!
//! For ECS `serviceRegistries`: [`ServiceDiscoveryState::service_by_arn`]
//! finds a registry's service, and [`ServiceDiscoveryState::register_instance`]
//! / [`ServiceDiscoveryState::deregister_instance`] take its id or ARN.

pub mod dns;
mod instances;
mod namespaces;
mod services;

pub use instances::{
    DiscoverQuery, Discovered, HealthFilter, HealthStatus, Instance, INIT_HEALTH_STATUS,
};
pub use namespaces::{
    Namespace, NamespaceChange, NamespaceRequest, NamespaceType, NAMESPACE_FILTERS,
};
pub use services::{
    DnsConfig, DnsRecord, HealthCheck, Service, ServiceChange, ServiceRequest, ServiceType,
    SERVICE_FILTERS,
};

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use rand::Rng;
use time::OffsetDateTime;

use crate::domain::persist::field;

/// The tag `emulator compose up` puts on what it creates, the project's
/// namespace included; such a namespace is a search domain of its tasks.
pub const COMPOSE_PROJECT_TAG: &str = "compose-project";
/// Longest description (AWS: 1,024).
pub const MAX_DESCRIPTION_LEN: usize = 1024;
/// Longest CreatorRequestId, instance id and VPC id (AWS: 64).
pub const MAX_RESOURCE_ID_LEN: usize = 64;
/// Tags on one resource (AWS: 200).
pub const MAX_TAGS: usize = 200;
/// Operations kept; older ones are forgotten first.
pub const MAX_OPERATIONS: usize = 1000;
/// Characters after `ns-` / `srv-` (AWS: 16 lower-case letters and digits).
const ID_SUFFIX_LEN: usize = 16;

/// A rejected Cloud Map request; the variant names the AWS error shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudMapError {
    #[error("{0}")]
    InvalidInput(String),
    #[error("{0}")]
    NamespaceNotFound(String),
    #[error("{0}")]
    ServiceNotFound(String),
    #[error("{0}")]
    InstanceNotFound(String),
    #[error("{0}")]
    OperationNotFound(String),
    #[error("{message}")]
    NamespaceAlreadyExists {
        message: String,
        namespace_id: String,
        creator_request_id: Option<String>,
    },
    #[error("{message}")]
    ServiceAlreadyExists {
        message: String,
        service_id: String,
        service_arn: String,
        creator_request_id: Option<String>,
    },
    #[error("{0}")]
    ResourceInUse(String),
    #[error("{0}")]
    ResourceNotFound(String),
    #[error("{0}")]
    CustomHealthNotFound(String),
    #[error("{0}")]
    TooManyTags(String),
    #[error("{0}")]
    ServiceAttributesLimitExceeded(String),
}

impl CloudMapError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidInput(_) => "InvalidInput",
            Self::NamespaceNotFound(_) => "NamespaceNotFound",
            Self::ServiceNotFound(_) => "ServiceNotFound",
            Self::InstanceNotFound(_) => "InstanceNotFound",
            Self::OperationNotFound(_) => "OperationNotFound",
            Self::NamespaceAlreadyExists { .. } => "NamespaceAlreadyExists",
            Self::ServiceAlreadyExists { .. } => "ServiceAlreadyExists",
            Self::ResourceInUse(_) => "ResourceInUse",
            Self::ResourceNotFound(_) => "ResourceNotFoundException",
            Self::CustomHealthNotFound(_) => "CustomHealthNotFound",
            Self::TooManyTags(_) => "TooManyTagsException",
            Self::ServiceAttributesLimitExceeded(_) => "ServiceAttributesLimitExceededException",
        }
    }

    fn namespace_not_found(id: &str) -> Self {
        Self::NamespaceNotFound(format!("Namespace not found: {id}"))
    }

    fn service_not_found(id: &str) -> Self {
        Self::ServiceNotFound(format!("Service not found: {id}"))
    }

    fn instance_not_found(id: &str) -> Self {
        Self::InstanceNotFound(format!("Instance not found: {id}"))
    }
}

fn resource_not_found(arn: &str) -> CloudMapError {
    CloudMapError::ResourceNotFound(format!("The resource {arn} can't be found."))
}

/// A `1 validation error` message in AWS's words, as `InvalidInput`.
pub fn invalid(value: &str, member: &str, constraint: &str) -> CloudMapError {
    CloudMapError::InvalidInput(super::validation::constraint_violation(
        value, member, constraint,
    ))
}

/// A length check for an optional string member.
pub fn check_len(value: Option<&str>, member: &str, max: usize) -> Result<(), CloudMapError> {
    match value {
        Some(v) if v.len() > max => Err(invalid(
            v,
            member,
            &format!("Member must have length less than or equal to {max}"),
        )),
        _ => Ok(()),
    }
}

/// `n` random lower-case letters and digits.
fn random_lower_alnum(n: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::thread_rng();
    (0..n)
        .map(|_| char::from(CHARS[rng.gen_range(0..CHARS.len())]))
        .collect()
}

/// `prefix` and 16 random lower-case letters and digits: `ns-…`, `srv-…`.
fn random_id(prefix: &str) -> String {
    format!("{prefix}{}", random_lower_alnum(ID_SUFFIX_LEN))
}

/// An operation id in AWS's form: 32 and 8 lower-case letters and digits.
fn operation_id() -> String {
    format!("{}-{}", random_lower_alnum(32), random_lower_alnum(8))
}

/// What an operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum OperationType {
    CreateNamespace,
    DeleteNamespace,
    UpdateNamespace,
    UpdateService,
    RegisterInstance,
    DeregisterInstance,
}

impl OperationType {
    pub const ALL: [OperationType; 6] = [
        Self::CreateNamespace,
        Self::DeleteNamespace,
        Self::UpdateNamespace,
        Self::UpdateService,
        Self::RegisterInstance,
        Self::DeregisterInstance,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreateNamespace => "CREATE_NAMESPACE",
            Self::DeleteNamespace => "DELETE_NAMESPACE",
            Self::UpdateNamespace => "UPDATE_NAMESPACE",
            Self::UpdateService => "UPDATE_SERVICE",
            Self::RegisterInstance => "REGISTER_INSTANCE",
            Self::DeregisterInstance => "DEREGISTER_INSTANCE",
        }
    }
}

/// One asynchronous change, as GetOperation reports it. Always `SUCCESS`.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct Operation {
    pub id: String,
    pub kind: OperationType,
    /// `NAMESPACE`, `SERVICE`, `INSTANCE` to the id of each.
    pub targets: BTreeMap<String, String>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created: OffsetDateTime,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub updated: OffsetDateTime,
}

/// The ListOperations filters and the conditions each takes.
pub const OPERATION_FILTERS: [(&str, &[Condition]); 5] = [
    ("NAMESPACE_ID", &[Condition::Eq]),
    ("SERVICE_ID", &[Condition::Eq]),
    ("STATUS", &[Condition::Eq, Condition::In]),
    ("TYPE", &[Condition::Eq, Condition::In]),
    ("UPDATE_DATE", &[Condition::Between]),
];

impl Operation {
    pub const STATUS: &'static str = "SUCCESS";

    /// Whether the operation passes a ListOperations filter; UPDATE_DATE
    /// takes two epoch-seconds bounds, both included.
    pub fn matches(&self, filter: &Filter) -> Result<bool, CloudMapError> {
        let target = |kind: &str| {
            self.targets
                .get(kind)
                .is_some_and(|id| filter.matches_text(id))
        };
        Ok(match filter.name.as_str() {
            "NAMESPACE_ID" => target("NAMESPACE"),
            "SERVICE_ID" => target("SERVICE"),
            "STATUS" => filter.matches_text(Self::STATUS),
            "TYPE" => filter.matches_text(self.kind.as_str()),
            _ => {
                let bound = |v: &String| {
                    v.parse::<f64>().map_err(|_| {
                        CloudMapError::InvalidInput(format!(
                            "The UPDATE_DATE filter takes epoch seconds, not {v}."
                        ))
                    })
                };
                let (from, to) = (bound(&filter.values[0])?, bound(&filter.values[1])?);
                let at = self.updated.unix_timestamp_nanos() as f64 / 1e9;
                (from..=to).contains(&at)
            }
        })
    }
}

/// Tags as a request gives them: keys 1-128, values up to 256, at most 200.
pub fn check_tags(tags: &[(String, String)]) -> Result<(), CloudMapError> {
    if tags.len() > MAX_TAGS {
        return Err(CloudMapError::TooManyTags(format!(
            "A resource can have at most {MAX_TAGS} tags."
        )));
    }
    let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    match super::tags::length_violation(pairs) {
        Some(message) => Err(CloudMapError::InvalidInput(message)),
        None => Ok(()),
    }
}

/// Adds or replaces `new` tags, keeping at most [`MAX_TAGS`].
fn merge_tags(
    tags: &mut Vec<(String, String)>,
    new: Vec<(String, String)>,
) -> Result<(), CloudMapError> {
    check_tags(&new)?;
    let mut merged = tags.clone();
    super::tags::upsert(&mut merged, new, |a, b| a == b);
    check_tags(&merged)?;
    *tags = merged;
    Ok(())
}

/// `MaxResults` in `1..=max`, `default` when absent.
pub fn max_results(value: Option<i64>, default: i64, max: i64) -> Result<usize, CloudMapError> {
    match value {
        None => Ok(default as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(invalid(
            &n.to_string(),
            "maxResults",
            &format!("Member must have value between 1 and {max}"),
        )),
    }
}

/// One page of `items` (`max` by default); the token is the offset of the next page.
pub fn paginate<T>(
    items: Vec<T>,
    limit: Option<i64>,
    max: i64,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), CloudMapError> {
    super::ssm::offset_page(items, max_results(limit, max, max)?, token)
        .ok_or_else(|| CloudMapError::InvalidInput("The token is not valid.".into()))
}

/// The members every create request has: Description, CreatorRequestId, Tags.
fn check_create_members(
    description: Option<&str>,
    creator_request_id: Option<&str>,
    tags: &[(String, String)],
) -> Result<(), CloudMapError> {
    check_len(description, "description", MAX_DESCRIPTION_LEN)?;
    check_len(creator_request_id, "creatorRequestId", MAX_RESOURCE_ID_LEN)?;
    check_tags(tags)
}

/// How a list filter compares (`Condition`; EQ when absent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Condition {
    Eq,
    In,
    Between,
    BeginsWith,
}

/// One ListNamespaces / ListServices / ListOperations filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filter {
    pub name: String,
    pub values: Vec<String>,
    pub condition: Condition,
}

impl Filter {
    /// Checks `name` against `names` and the condition against what the
    /// name allows (`allowed`), and the number of values the condition takes.
    pub fn parse(
        name: String,
        values: Vec<String>,
        condition: Option<&str>,
        allowed: &[(&str, &[Condition])],
    ) -> Result<Self, CloudMapError> {
        let Some((_, conditions)) = allowed.iter().find(|(n, _)| *n == name) else {
            let names: Vec<&str> = allowed.iter().map(|(n, _)| *n).collect();
            return Err(invalid(
                &name,
                "filters.member.name",
                &format!("Member must satisfy enum value set: [{}]", names.join(", ")),
            ));
        };
        let condition = match condition.unwrap_or("EQ") {
            "EQ" => Condition::Eq,
            "IN" => Condition::In,
            "BETWEEN" => Condition::Between,
            "BEGINS_WITH" => Condition::BeginsWith,
            other => {
                return Err(invalid(
                    other,
                    "filters.member.condition",
                    "Member must satisfy enum value set: [EQ, IN, BETWEEN, BEGINS_WITH]",
                ))
            }
        };
        if !conditions.contains(&condition) {
            return Err(CloudMapError::InvalidInput(format!(
                "The condition {condition:?} is not supported for the filter {name}."
            )));
        }
        let count_ok = match condition {
            Condition::Eq | Condition::BeginsWith => values.len() == 1,
            Condition::In => !values.is_empty(),
            Condition::Between => values.len() == 2,
        };
        if !count_ok {
            return Err(CloudMapError::InvalidInput(format!(
                "The filter {name} has the wrong number of values for its condition."
            )));
        }
        Ok(Self {
            name,
            values,
            condition,
        })
    }

    /// Whether `text` passes an EQ, IN or BEGINS_WITH filter.
    pub fn matches_text(&self, text: &str) -> bool {
        match self.condition {
            Condition::BeginsWith => text.starts_with(self.values[0].as_str()),
            _ => self.values.iter().any(|v| v == text),
        }
    }
}

/// Every namespace, service (with its instances) and operation.
#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct ServiceDiscoveryState {
    /// By id.
    pub namespaces: BTreeMap<String, Namespace>,
    /// By id.
    pub services: BTreeMap<String, Service>,
    /// Oldest first, at most [`MAX_OPERATIONS`].
    pub operations: Vec<Operation>,
}

impl ServiceDiscoveryState {
    /// Records a finished operation on `targets` and returns its id.
    fn record(
        &mut self,
        kind: OperationType,
        targets: &[(&str, &str)],
        now: OffsetDateTime,
    ) -> String {
        let id = operation_id();
        self.operations.push(Operation {
            id: id.clone(),
            kind,
            targets: targets
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            created: now,
            updated: now,
        });
        if self.operations.len() > MAX_OPERATIONS {
            self.operations.remove(0);
        }
        id
    }

    pub fn operation(&self, id: &str) -> Result<&Operation, CloudMapError> {
        self.operations
            .iter()
            .find(|o| o.id == id)
            .ok_or_else(|| CloudMapError::OperationNotFound(format!("Operation not found: {id}")))
    }

    /// A namespace by id, or by ARN.
    pub fn namespace(&self, id_or_arn: &str) -> Result<&Namespace, CloudMapError> {
        self.namespaces
            .get(id_or_arn)
            .or_else(|| self.namespaces.values().find(|n| n.arn == id_or_arn))
            .ok_or_else(|| CloudMapError::namespace_not_found(id_or_arn))
    }

    fn namespace_mut(&mut self, id_or_arn: &str) -> Result<&mut Namespace, CloudMapError> {
        let id = self.namespace(id_or_arn)?.id.clone();
        self.namespaces
            .get_mut(&id)
            .ok_or_else(|| CloudMapError::namespace_not_found(id_or_arn))
    }

    /// A service by id, or by ARN (as ECS `serviceRegistries` name it).
    pub fn service(&self, id_or_arn: &str) -> Result<&Service, CloudMapError> {
        self.services
            .get(id_or_arn)
            .or_else(|| self.service_by_arn(id_or_arn))
            .ok_or_else(|| CloudMapError::service_not_found(id_or_arn))
    }

    /// The service whose ARN is `arn`.
    pub fn service_by_arn(&self, arn: &str) -> Option<&Service> {
        self.services.values().find(|s| s.arn == arn)
    }

    fn service_mut(&mut self, id_or_arn: &str) -> Result<&mut Service, CloudMapError> {
        let id = self.service(id_or_arn)?.id.clone();
        self.services
            .get_mut(&id)
            .ok_or_else(|| CloudMapError::service_not_found(id_or_arn))
    }

    /// How many services `namespace_id` holds.
    pub fn service_count(&self, namespace_id: &str) -> usize {
        self.services
            .values()
            .filter(|s| s.namespace_id == namespace_id)
            .count()
    }

    fn tags_mut(&mut self, arn: &str) -> Result<&mut Vec<(String, String)>, CloudMapError> {
        if let Some(ns) = self.namespaces.values_mut().find(|n| n.arn == arn) {
            return Ok(&mut ns.tags);
        }
        self.services
            .values_mut()
            .find(|s| s.arn == arn)
            .map(|s| &mut s.tags)
            .ok_or_else(|| resource_not_found(arn))
    }

    /// The tags of the namespace or service `arn`.
    pub fn tags(&self, arn: &str) -> Result<&[(String, String)], CloudMapError> {
        self.namespaces
            .values()
            .find(|n| n.arn == arn)
            .map(|n| n.tags.as_slice())
            .or_else(|| self.service_by_arn(arn).map(|s| s.tags.as_slice()))
            .ok_or_else(|| resource_not_found(arn))
    }

    pub fn tag(&mut self, arn: &str, tags: Vec<(String, String)>) -> Result<(), CloudMapError> {
        merge_tags(self.tags_mut(arn)?, tags)
    }

    pub fn untag(&mut self, arn: &str, keys: &[String]) -> Result<(), CloudMapError> {
        self.tags_mut(arn)?.retain(|(k, _)| !keys.contains(k));
        Ok(())
    }
}

#[cfg(test)]
mod tests;
