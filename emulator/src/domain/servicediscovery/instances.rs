//! Instances: what a service's callers find, with their attributes and
//! health, and DiscoverInstances' rules.
//!
//! Health: the emulator runs no Route 53 health checks, so an instance of a
//! service with HealthCheckConfig, or with no health check at all, is
//! reported HEALTHY. With HealthCheckCustomConfig an instance starts as its
//! `AWS_INIT_HEALTH_STATUS` attribute says, HEALTHY when it has none (as
//! AWS documents), and UpdateInstanceCustomHealthStatus changes it.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use time::OffsetDateTime;

use super::{
    check_len, invalid, max_results, CloudMapError, OperationType, Service, ServiceDiscoveryState,
    MAX_RESOURCE_ID_LEN,
};
use crate::domain::persist::field;

/// Attributes on one instance (AWS: 30).
pub const MAX_INSTANCE_ATTRIBUTES: usize = 30;
/// DiscoverInstances' page size by default and at most (AWS: 100, 1,000).
pub const DISCOVER_DEFAULT_MAX: i64 = 100;
pub const DISCOVER_MAX: i64 = 1000;
/// The attribute that sets a custom-health instance's first status.
pub const INIT_HEALTH_STATUS: &str = "AWS_INIT_HEALTH_STATUS";

#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum HealthStatus {
    Healthy,
    Unhealthy,
}

impl HealthStatus {
    pub fn parse(s: &str, member: &str) -> Result<Self, CloudMapError> {
        match s {
            "HEALTHY" => Ok(Self::Healthy),
            "UNHEALTHY" => Ok(Self::Unhealthy),
            other => Err(invalid(
                other,
                member,
                "Member must satisfy enum value set: [HEALTHY, UNHEALTHY]",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Healthy => "HEALTHY",
            Self::Unhealthy => "UNHEALTHY",
        }
    }
}

/// DiscoverInstances' HealthStatus; HEALTHY when the request names none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HealthFilter {
    #[default]
    Healthy,
    Unhealthy,
    All,
    HealthyOrElseAll,
}

impl HealthFilter {
    pub fn parse(s: &str) -> Result<Self, CloudMapError> {
        match s {
            "HEALTHY" => Ok(Self::Healthy),
            "UNHEALTHY" => Ok(Self::Unhealthy),
            "ALL" => Ok(Self::All),
            "HEALTHY_OR_ELSE_ALL" => Ok(Self::HealthyOrElseAll),
            other => Err(invalid(
                other,
                "healthStatus",
                "Member must satisfy enum value set: [HEALTHY, UNHEALTHY, ALL, HEALTHY_OR_ELSE_ALL]",
            )),
        }
    }
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct Instance {
    pub id: String,
    pub creator_request_id: Option<String>,
    pub attributes: BTreeMap<String, String>,
    /// The custom health status; meaningful with HealthCheckCustomConfig only.
    pub custom_health: HealthStatus,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub registered: OffsetDateTime,
}

/// DiscoverInstances' input, decoded.
#[derive(Debug, Clone, Default)]
pub struct DiscoverQuery {
    pub namespace_name: String,
    pub service_name: String,
    pub query_parameters: BTreeMap<String, String>,
    pub optional_parameters: BTreeMap<String, String>,
    pub health: HealthFilter,
    pub max_results: Option<i64>,
}

/// What DiscoverInstances finds.
#[derive(Debug, Clone)]
pub struct Discovered {
    /// The namespace's HttpName.
    pub namespace_name: String,
    pub service_name: String,
    pub instances: Vec<(Instance, HealthStatus)>,
    pub revision: i64,
}

impl Service {
    /// The health the service reports for `instance` (see the module notes).
    pub fn health_of(&self, instance: &Instance) -> HealthStatus {
        if self.custom_health_check.is_some() {
            instance.custom_health
        } else {
            HealthStatus::Healthy
        }
    }

    fn has_health_check(&self) -> bool {
        self.health_check.is_some() || self.custom_health_check.is_some()
    }

    /// The instances DiscoverInstances returns, before MaxResults: those with
    /// every QueryParameter; of them, those with every OptionalParameter if
    /// any has them all; then by health (ignored without a health check).
    pub fn discover(&self, query: &DiscoverQuery) -> Vec<(&Instance, HealthStatus)> {
        let has_all = |instance: &Instance, wanted: &BTreeMap<String, String>| {
            wanted
                .iter()
                .all(|(k, v)| instance.attributes.get(k) == Some(v))
        };
        let mut found: Vec<&Instance> = self
            .instances
            .values()
            .filter(|i| has_all(i, &query.query_parameters))
            .collect();
        if !query.optional_parameters.is_empty() {
            let optional: Vec<&Instance> = found
                .iter()
                .copied()
                .filter(|i| has_all(i, &query.optional_parameters))
                .collect();
            if !optional.is_empty() {
                found = optional;
            }
        }
        let with_health: Vec<(&Instance, HealthStatus)> =
            found.into_iter().map(|i| (i, self.health_of(i))).collect();
        if !self.has_health_check() {
            return with_health;
        }
        let of = |wanted: HealthStatus| -> Vec<(&Instance, HealthStatus)> {
            with_health
                .iter()
                .copied()
                .filter(|(_, h)| *h == wanted)
                .collect()
        };
        match query.health {
            HealthFilter::All => with_health,
            HealthFilter::Healthy => of(HealthStatus::Healthy),
            HealthFilter::Unhealthy => of(HealthStatus::Unhealthy),
            HealthFilter::HealthyOrElseAll => {
                let healthy = of(HealthStatus::Healthy);
                if healthy.is_empty() {
                    with_health
                } else {
                    healthy
                }
            }
        }
    }
}

/// AWS's instance id rules: 1-64 of letters, digits and `_/:.@-`.
pub fn validate_instance_id(id: &str) -> Result<(), CloudMapError> {
    let valid = (1..=MAX_RESOURCE_ID_LEN).contains(&id.len())
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_/:.@-".contains(c));
    if valid {
        Ok(())
    } else {
        Err(invalid(
            id,
            "instanceId",
            "Member must satisfy regular expression pattern: ^[0-9a-zA-Z_/:.@-]+$",
        ))
    }
}

fn check_attributes(
    service: &Service,
    attributes: &BTreeMap<String, String>,
) -> Result<(), CloudMapError> {
    if attributes.len() > MAX_INSTANCE_ATTRIBUTES {
        return Err(CloudMapError::InvalidInput(format!(
            "An instance can have at most {MAX_INSTANCE_ATTRIBUTES} attributes."
        )));
    }
    for (key, value) in attributes {
        if key.is_empty() || !key.bytes().all(|b| (b'!'..=b'~').contains(&b)) {
            return Err(invalid(
                key,
                "attributes.key",
                "Member must satisfy regular expression pattern: ^[a-zA-Z0-9!-~]+$",
            ));
        }
        check_len(Some(key), "attributes.key", 255)?;
        check_len(Some(value), "attributes.value", 1024)?;
    }
    if let Some(status) = attributes.get(INIT_HEALTH_STATUS) {
        HealthStatus::parse(status, "attributes.AWS_INIT_HEALTH_STATUS")?;
    }
    let records = service.dns_config.iter().flat_map(|c| c.records.iter());
    for record in records {
        let needed: &[&str] = match record.kind.as_str() {
            "A" => &["AWS_INSTANCE_IPV4"],
            "AAAA" => &["AWS_INSTANCE_IPV6"],
            "CNAME" => &["AWS_INSTANCE_CNAME"],
            _ => &["AWS_INSTANCE_PORT"],
        };
        if let Some(missing) = needed.iter().find(|k| !attributes.contains_key(**k)) {
            return Err(CloudMapError::InvalidInput(format!(
                "The service has a {} record, so the instance needs the attribute {missing}.",
                record.kind
            )));
        }
    }
    Ok(())
}

impl ServiceDiscoveryState {
    /// Registers `instance_id` in the service (by id or ARN), or updates it
    /// if it is registered: attributes are replaced, a custom health status
    /// is kept unless `AWS_INIT_HEALTH_STATUS` names one.
    pub fn register_instance(
        &mut self,
        service_id_or_arn: &str,
        instance_id: &str,
        creator_request_id: Option<String>,
        attributes: BTreeMap<String, String>,
        now: OffsetDateTime,
    ) -> Result<String, CloudMapError> {
        validate_instance_id(instance_id)?;
        check_len(
            creator_request_id.as_deref(),
            "creatorRequestId",
            MAX_RESOURCE_ID_LEN,
        )?;
        let service = self.service_mut(service_id_or_arn)?;
        check_attributes(service, &attributes)?;
        let init = attributes
            .get(INIT_HEALTH_STATUS)
            .map(|s| HealthStatus::parse(s, INIT_HEALTH_STATUS))
            .transpose()?;
        match service.instances.get_mut(instance_id) {
            Some(instance) => {
                instance.attributes = attributes;
                instance.custom_health = init.unwrap_or(instance.custom_health);
                if creator_request_id.is_some() {
                    instance.creator_request_id = creator_request_id;
                }
            }
            None => {
                service.instances.insert(
                    instance_id.to_string(),
                    Instance {
                        id: instance_id.to_string(),
                        creator_request_id,
                        attributes,
                        custom_health: init.unwrap_or(HealthStatus::Healthy),
                        registered: now,
                    },
                );
            }
        }
        let service_id = service.id.clone();
        Ok(self.instances_changed(
            &service_id,
            OperationType::RegisterInstance,
            instance_id,
            now,
        ))
    }

    /// Moves the service's revision on and records the operation on `instance_id`.
    fn instances_changed(
        &mut self,
        service_id: &str,
        kind: OperationType,
        instance_id: &str,
        now: OffsetDateTime,
    ) -> String {
        if let Some(service) = self.services.get_mut(service_id) {
            service.revision += 1;
        }
        self.record(
            kind,
            &[("INSTANCE", instance_id), ("SERVICE", service_id)],
            now,
        )
    }

    /// Deregisters `instance_id` from the service (by id or ARN).
    pub fn deregister_instance(
        &mut self,
        service_id_or_arn: &str,
        instance_id: &str,
        now: OffsetDateTime,
    ) -> Result<String, CloudMapError> {
        let service = self.service_mut(service_id_or_arn)?;
        service
            .instances
            .remove(instance_id)
            .ok_or_else(|| CloudMapError::instance_not_found(instance_id))?;
        let service_id = service.id.clone();
        Ok(self.instances_changed(
            &service_id,
            OperationType::DeregisterInstance,
            instance_id,
            now,
        ))
    }

    pub fn instance(
        &self,
        service_id: &str,
        instance_id: &str,
    ) -> Result<&Instance, CloudMapError> {
        self.service(service_id)?
            .instances
            .get(instance_id)
            .ok_or_else(|| CloudMapError::instance_not_found(instance_id))
    }

    /// The health of `ids` (every instance when `None`), in id order.
    pub fn health_statuses(
        &self,
        service_id: &str,
        ids: Option<&[String]>,
    ) -> Result<Vec<(String, HealthStatus)>, CloudMapError> {
        let service = self.service(service_id)?;
        match ids {
            None => Ok(service
                .instances
                .values()
                .map(|i| (i.id.clone(), service.health_of(i)))
                .collect()),
            Some(ids) => ids
                .iter()
                .map(|id| {
                    let instance = self.instance(service_id, id)?;
                    Ok((id.clone(), service.health_of(instance)))
                })
                .collect(),
        }
    }

    pub fn update_custom_health(
        &mut self,
        service_id: &str,
        instance_id: &str,
        status: HealthStatus,
    ) -> Result<(), CloudMapError> {
        let service = self.service_mut(service_id)?;
        let custom = service.custom_health_check.is_some();
        let instance = service
            .instances
            .get_mut(instance_id)
            .ok_or_else(|| CloudMapError::instance_not_found(instance_id))?;
        if !custom {
            return Err(CloudMapError::CustomHealthNotFound(format!(
                "The service {service_id} has no HealthCheckCustomConfig."
            )));
        }
        if instance.custom_health != status {
            instance.custom_health = status;
            service.revision += 1;
        }
        Ok(())
    }

    /// DiscoverInstances: the namespace by name or HttpName, the service by
    /// name in it.
    pub fn discover_instances(&self, query: &DiscoverQuery) -> Result<Discovered, CloudMapError> {
        let (namespace_name, service) =
            self.discovered_service(&query.namespace_name, &query.service_name)?;
        let limit = max_results(query.max_results, DISCOVER_DEFAULT_MAX, DISCOVER_MAX)?;
        let instances = service
            .discover(query)
            .into_iter()
            .take(limit)
            .map(|(i, h)| (i.clone(), h))
            .collect();
        Ok(Discovered {
            namespace_name,
            service_name: service.name.clone(),
            instances,
            revision: service.revision,
        })
    }

    /// The namespace's HttpName and the service DiscoverInstances names.
    pub fn discovered_service(
        &self,
        namespace_name: &str,
        service_name: &str,
    ) -> Result<(String, &Service), CloudMapError> {
        let namespace = self.namespace_by_name(namespace_name)?;
        let service = self
            .services
            .values()
            .find(|s| s.namespace_id == namespace.id && s.name == service_name)
            .ok_or_else(|| CloudMapError::service_not_found(service_name))?;
        Ok((namespace.http_name.clone(), service))
    }
}
