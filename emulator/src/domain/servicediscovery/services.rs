//! Services: named groups of instances in a namespace, with their DNS and
//! health-check settings and service attributes.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use time::OffsetDateTime;

use super::namespaces::MAX_TTL;
use super::{
    check_create_members, check_len, invalid, random_id, CloudMapError, Condition, Filter,
    Instance, NamespaceType, OperationType, ServiceDiscoveryState, MAX_DESCRIPTION_LEN,
};
use crate::domain::arn;
use crate::domain::persist::field;

/// Service attributes on one service (AWS: 30).
pub const MAX_SERVICE_ATTRIBUTES: usize = 30;

/// `HTTP`: found by DiscoverInstances only; `DNS_HTTP`: also by DNS records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ServiceType {
    Http,
    DnsHttp,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Http => "HTTP",
            Self::DnsHttp => "DNS_HTTP",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DnsRecord {
    /// SRV, A, AAAA or CNAME.
    pub kind: String,
    pub ttl: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct DnsConfig {
    /// MULTIVALUE (the default) or WEIGHTED.
    pub routing_policy: String,
    pub records: Vec<DnsRecord>,
}

/// A Route 53 health check's settings (kept, not run: see [`super::HealthStatus`]).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct HealthCheck {
    /// HTTP, HTTPS or TCP.
    pub kind: String,
    pub resource_path: Option<String>,
    pub failure_threshold: Option<i64>,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct Service {
    pub id: String,
    pub arn: String,
    pub name: String,
    pub namespace_id: String,
    pub kind: ServiceType,
    pub description: Option<String>,
    pub creator_request_id: Option<String>,
    pub dns_config: Option<DnsConfig>,
    pub health_check: Option<HealthCheck>,
    /// `Some` when the service has HealthCheckCustomConfig (its FailureThreshold inside).
    pub custom_health_check: Option<Option<i64>>,
    pub tags: Vec<(String, String)>,
    pub attributes: BTreeMap<String, String>,
    /// By instance id.
    pub instances: BTreeMap<String, Instance>,
    /// Moves on every change to the instances (DiscoverInstancesRevision).
    pub revision: i64,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created: OffsetDateTime,
}

/// CreateService, decoded.
#[derive(Debug, Clone, Default)]
pub struct ServiceRequest {
    pub name: String,
    pub namespace_id: Option<String>,
    pub creator_request_id: Option<String>,
    pub description: Option<String>,
    pub dns_config: Option<DnsConfig>,
    pub health_check: Option<HealthCheck>,
    pub custom_health_check: Option<Option<i64>>,
    /// `Type: HTTP` was asked for.
    pub http_only: bool,
    pub tags: Vec<(String, String)>,
}

/// UpdateService's changes; `None` leaves a member as it is.
#[derive(Debug, Clone, Default)]
pub struct ServiceChange {
    pub description: Option<String>,
    pub dns_records: Option<Vec<DnsRecord>>,
    pub health_check: Option<HealthCheck>,
}

/// Whether `label` is one label of a service name: one letter or digit, or
/// 2-63 of letters, digits, `-` and `_` that neither start nor end with `-`.
fn is_service_label(label: &str) -> bool {
    let edge = |c: char| c.is_ascii_alphanumeric() || c == '_';
    match label.len() {
        1 => label.chars().all(|c| c.is_ascii_alphanumeric()),
        2..=63 => {
            label.starts_with(edge)
                && label.ends_with(edge)
                && label
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        }
        _ => false,
    }
}

/// AWS's service name rules: up to 127 characters of dot-separated labels,
/// or `.` alone.
pub fn validate_service_name(name: &str) -> Result<(), CloudMapError> {
    let valid = name == "." || (name.len() <= 127 && name.split('.').all(is_service_label));
    if valid {
        Ok(())
    } else {
        Err(invalid(
            name,
            "name",
            "Member must satisfy regular expression pattern: ((?=^.{1,127}$)^([a-zA-Z0-9_][a-zA-Z0-9-_]{0,61}[a-zA-Z0-9_]|[a-zA-Z0-9])(\\.([a-zA-Z0-9_][a-zA-Z0-9-_]{0,61}[a-zA-Z0-9_]|[a-zA-Z0-9]))*$)|(^\\.$)",
        ))
    }
}

fn check_records(records: &[DnsRecord], routing_policy: &str) -> Result<(), CloudMapError> {
    if records.is_empty() {
        return Err(CloudMapError::InvalidInput(
            "DnsConfig needs at least one DnsRecord.".into(),
        ));
    }
    for record in records {
        if !["SRV", "A", "AAAA", "CNAME"].contains(&record.kind.as_str()) {
            return Err(invalid(
                &record.kind,
                "dnsConfig.dnsRecords.member.type",
                "Member must satisfy enum value set: [SRV, A, AAAA, CNAME]",
            ));
        }
        if !(0..=MAX_TTL).contains(&record.ttl) {
            return Err(invalid(
                &record.ttl.to_string(),
                "dnsConfig.dnsRecords.member.tTL",
                &format!("Member must have value between 0 and {MAX_TTL}"),
            ));
        }
    }
    let cname = records.iter().any(|r| r.kind == "CNAME");
    if cname && (records.len() > 1 || routing_policy != "WEIGHTED") {
        return Err(CloudMapError::InvalidInput(
            "A CNAME record must be the only DnsRecord, with the WEIGHTED routing policy.".into(),
        ));
    }
    Ok(())
}

fn check_dns_config(config: &DnsConfig) -> Result<(), CloudMapError> {
    if !["MULTIVALUE", "WEIGHTED"].contains(&config.routing_policy.as_str()) {
        return Err(invalid(
            &config.routing_policy,
            "dnsConfig.routingPolicy",
            "Member must satisfy enum value set: [MULTIVALUE, WEIGHTED]",
        ));
    }
    check_records(&config.records, &config.routing_policy)
}

fn check_failure_threshold(threshold: Option<i64>) -> Result<(), CloudMapError> {
    match threshold {
        Some(n) if !(1..=10).contains(&n) => Err(invalid(
            &n.to_string(),
            "failureThreshold",
            "Member must have value between 1 and 10",
        )),
        _ => Ok(()),
    }
}

fn check_health_check(check: &HealthCheck) -> Result<(), CloudMapError> {
    if !["HTTP", "HTTPS", "TCP"].contains(&check.kind.as_str()) {
        return Err(invalid(
            &check.kind,
            "healthCheckConfig.type",
            "Member must satisfy enum value set: [HTTP, HTTPS, TCP]",
        ));
    }
    if check.kind == "TCP" && check.resource_path.is_some() {
        return Err(CloudMapError::InvalidInput(
            "A TCP health check takes no ResourcePath.".into(),
        ));
    }
    check_len(
        check.resource_path.as_deref(),
        "healthCheckConfig.resourcePath",
        255,
    )?;
    check_failure_threshold(check.failure_threshold)
}

/// Update/DeleteServiceAttributes take 1 to [`MAX_SERVICE_ATTRIBUTES`] attributes.
fn check_attribute_count(count: usize) -> Result<(), CloudMapError> {
    if (1..=MAX_SERVICE_ATTRIBUTES).contains(&count) {
        return Ok(());
    }
    Err(invalid(
        &count.to_string(),
        "attributes",
        &format!("Member must have length between 1 and {MAX_SERVICE_ATTRIBUTES}"),
    ))
}

/// The ListServices filters and the conditions each takes.
pub const SERVICE_FILTERS: [(&str, &[Condition]); 2] = [
    ("NAMESPACE_ID", &[Condition::Eq, Condition::In]),
    ("RESOURCE_OWNER", &[Condition::Eq]),
];

impl Service {
    /// Whether the service passes a ListServices filter.
    pub fn matches(&self, filter: &Filter) -> bool {
        match filter.name.as_str() {
            "NAMESPACE_ID" => filter.matches_text(&self.namespace_id),
            _ => filter.matches_text("SELF"),
        }
    }
}

impl ServiceDiscoveryState {
    /// Creates a service; the same request again (same name, namespace and
    /// CreatorRequestId) returns the existing service.
    pub fn create_service(
        &mut self,
        request: ServiceRequest,
        region: &str,
        account: &str,
        now: OffsetDateTime,
    ) -> Result<Service, CloudMapError> {
        validate_service_name(&request.name)?;
        check_create_members(
            request.description.as_deref(),
            request.creator_request_id.as_deref(),
            &request.tags,
        )?;
        let namespace_id = request.namespace_id.ok_or_else(|| {
            CloudMapError::InvalidInput("CreateService needs a NamespaceId.".into())
        })?;
        let namespace = self.namespace(&namespace_id)?;
        let namespace_id = namespace.id.clone();
        if let Some(config) = &request.dns_config {
            check_dns_config(config)?;
        }
        if let Some(check) = &request.health_check {
            check_health_check(check)?;
        }
        if let Some(threshold) = request.custom_health_check {
            check_failure_threshold(threshold)?;
        }
        if request.health_check.is_some() && request.custom_health_check.is_some() {
            return Err(CloudMapError::InvalidInput(
                "A service can have HealthCheckConfig or HealthCheckCustomConfig, not both.".into(),
            ));
        }
        if request.health_check.is_some() && namespace.kind != NamespaceType::DnsPublic {
            return Err(CloudMapError::InvalidInput(
                "HealthCheckConfig is only valid for services in public DNS namespaces.".into(),
            ));
        }
        let kind = match (&request.dns_config, namespace.kind, request.http_only) {
            (Some(_), NamespaceType::Http, _) => {
                return Err(CloudMapError::InvalidInput(
                    "A service in an HTTP namespace can't have a DnsConfig.".into(),
                ))
            }
            (Some(_), _, true) => {
                return Err(CloudMapError::InvalidInput(
                    "A service of Type HTTP can't have a DnsConfig.".into(),
                ))
            }
            (Some(_), _, false) => ServiceType::DnsHttp,
            (None, _, _) => ServiceType::Http,
        };
        if let Some(existing) = self
            .services
            .values()
            .find(|s| s.namespace_id == namespace_id && s.name == request.name)
        {
            if request.creator_request_id.is_some()
                && existing.creator_request_id == request.creator_request_id
            {
                return Ok(existing.clone());
            }
            return Err(CloudMapError::ServiceAlreadyExists {
                message: format!("Service already exists: {}", request.name),
                service_id: existing.id.clone(),
                service_arn: existing.arn.clone(),
                creator_request_id: existing.creator_request_id.clone(),
            });
        }
        let id = random_id("srv-");
        let service = Service {
            arn: arn::arn(
                "servicediscovery",
                region,
                account,
                &format!("service/{id}"),
            ),
            id: id.clone(),
            name: request.name,
            namespace_id,
            kind,
            description: request.description,
            creator_request_id: request.creator_request_id,
            dns_config: request.dns_config,
            health_check: request.health_check,
            custom_health_check: request.custom_health_check,
            tags: request.tags,
            attributes: BTreeMap::new(),
            instances: BTreeMap::new(),
            revision: 1,
            created: now,
        };
        self.services.insert(id, service.clone());
        Ok(service)
    }

    pub fn update_service(
        &mut self,
        id: &str,
        change: ServiceChange,
        now: OffsetDateTime,
    ) -> Result<String, CloudMapError> {
        check_len(
            change.description.as_deref(),
            "service.description",
            MAX_DESCRIPTION_LEN,
        )?;
        if let Some(check) = &change.health_check {
            check_health_check(check)?;
        }
        let service = self.service_mut(id)?;
        if let Some(records) = &change.dns_records {
            let Some(config) = &service.dns_config else {
                return Err(CloudMapError::InvalidInput(format!(
                    "The service {id} has no DnsConfig to change."
                )));
            };
            check_records(records, &config.routing_policy)?;
        }
        if change.health_check.is_some() && service.health_check.is_none() {
            return Err(CloudMapError::InvalidInput(format!(
                "The service {id} has no HealthCheckConfig to change."
            )));
        }
        if let Some(description) = change.description {
            service.description = Some(description);
        }
        if let (Some(records), Some(config)) = (change.dns_records, service.dns_config.as_mut()) {
            config.records = records;
        }
        if let Some(check) = change.health_check {
            service.health_check = Some(check);
        }
        let id = service.id.clone();
        Ok(self.record(OperationType::UpdateService, &[("SERVICE", &id)], now))
    }

    /// Deletes a service that has no instances registered.
    pub fn delete_service(&mut self, id: &str) -> Result<(), CloudMapError> {
        let service = self.service(id)?;
        if !service.instances.is_empty() {
            return Err(CloudMapError::ResourceInUse(format!(
                "The service {id} has {} registered instances; deregister them first.",
                service.instances.len()
            )));
        }
        let id = service.id.clone();
        self.services.remove(&id);
        Ok(())
    }

    /// Adds or replaces service attributes, at most [`MAX_SERVICE_ATTRIBUTES`] in all.
    pub fn update_service_attributes(
        &mut self,
        id: &str,
        attributes: BTreeMap<String, String>,
    ) -> Result<(), CloudMapError> {
        check_attribute_count(attributes.len())?;
        for (key, value) in &attributes {
            check_len(Some(key), "attributes.key", 255)?;
            check_len(Some(value), "attributes.value", 1024)?;
        }
        let service = self.service_mut(id)?;
        let mut merged = service.attributes.clone();
        merged.extend(attributes);
        if merged.len() > MAX_SERVICE_ATTRIBUTES {
            return Err(CloudMapError::ServiceAttributesLimitExceeded(format!(
                "A service can have at most {MAX_SERVICE_ATTRIBUTES} attributes."
            )));
        }
        service.attributes = merged;
        Ok(())
    }

    pub fn delete_service_attributes(
        &mut self,
        id: &str,
        keys: &[String],
    ) -> Result<(), CloudMapError> {
        check_attribute_count(keys.len())?;
        let service = self.service_mut(id)?;
        service.attributes.retain(|k, _| !keys.contains(k));
        Ok(())
    }
}
