//! Cloud Map request members, as the wire names them.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::domain::servicediscovery::{DnsRecord, HealthCheck};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct Tag {
    pub(super) key: String,
    #[serde(default)]
    pub(super) value: String,
}

pub(super) fn into_pairs(tags: Vec<Tag>) -> Vec<(String, String)> {
    tags.into_iter().map(|t| (t.key, t.value)).collect()
}

#[derive(Deserialize)]
pub(super) struct Soa {
    #[serde(rename = "TTL")]
    pub(super) ttl: i64,
}

#[derive(Deserialize)]
pub(super) struct MutableDnsProperties {
    #[serde(rename = "SOA")]
    pub(super) soa: Soa,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DnsNamespaceProperties {
    pub(super) dns_properties: MutableDnsProperties,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CreateNamespaceInput {
    pub(super) name: String,
    pub(super) creator_request_id: Option<String>,
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) tags: Vec<Tag>,
    /// Private DNS namespaces only (required there).
    pub(super) vpc: Option<String>,
    /// DNS namespaces only.
    pub(super) properties: Option<DnsNamespaceProperties>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CreateHttpNamespaceInput {
    pub(super) name: String,
    pub(super) creator_request_id: Option<String>,
    pub(super) description: Option<String>,
    #[serde(default)]
    pub(super) tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct IdInput {
    pub(super) id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct FilterInput {
    pub(super) name: String,
    #[serde(default)]
    pub(super) values: Vec<String>,
    pub(super) condition: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListInput {
    pub(super) next_token: Option<String>,
    pub(super) max_results: Option<i64>,
    #[serde(default)]
    pub(super) filters: Vec<FilterInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct HttpNamespaceChange {
    pub(super) description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct UpdateHttpNamespaceInput {
    pub(super) id: String,
    pub(super) updater_request_id: Option<String>,
    pub(super) namespace: HttpNamespaceChange,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DnsNamespaceChange {
    pub(super) description: Option<String>,
    pub(super) properties: Option<DnsNamespaceProperties>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct UpdateDnsNamespaceInput {
    pub(super) id: String,
    pub(super) updater_request_id: Option<String>,
    pub(super) namespace: DnsNamespaceChange,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct GetOperationInput {
    pub(super) operation_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DnsRecordInput {
    #[serde(rename = "Type")]
    pub(super) kind: String,
    #[serde(rename = "TTL")]
    pub(super) ttl: i64,
}

pub(super) fn into_records(records: Vec<DnsRecordInput>) -> Vec<DnsRecord> {
    records
        .into_iter()
        .map(|r| DnsRecord {
            kind: r.kind,
            ttl: r.ttl,
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DnsConfigInput {
    pub(super) namespace_id: Option<String>,
    pub(super) routing_policy: Option<String>,
    pub(super) dns_records: Vec<DnsRecordInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct HealthCheckInput {
    #[serde(rename = "Type")]
    pub(super) kind: String,
    pub(super) resource_path: Option<String>,
    pub(super) failure_threshold: Option<i64>,
}

impl From<HealthCheckInput> for HealthCheck {
    fn from(h: HealthCheckInput) -> Self {
        HealthCheck {
            kind: h.kind,
            resource_path: h.resource_path,
            failure_threshold: h.failure_threshold,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CustomHealthInput {
    pub(super) failure_threshold: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CreateServiceInput {
    pub(super) name: String,
    pub(super) namespace_id: Option<String>,
    pub(super) creator_request_id: Option<String>,
    pub(super) description: Option<String>,
    pub(super) dns_config: Option<DnsConfigInput>,
    pub(super) health_check_config: Option<HealthCheckInput>,
    pub(super) health_check_custom_config: Option<CustomHealthInput>,
    #[serde(default)]
    pub(super) tags: Vec<Tag>,
    #[serde(rename = "Type")]
    pub(super) kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DnsConfigChangeInput {
    pub(super) dns_records: Vec<DnsRecordInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ServiceChangeInput {
    pub(super) description: Option<String>,
    pub(super) dns_config: Option<DnsConfigChangeInput>,
    pub(super) health_check_config: Option<HealthCheckInput>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct UpdateServiceInput {
    pub(super) id: String,
    pub(super) service: ServiceChangeInput,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ServiceIdInput {
    pub(super) service_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct UpdateServiceAttributesInput {
    pub(super) service_id: String,
    pub(super) attributes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DeleteServiceAttributesInput {
    pub(super) service_id: String,
    pub(super) attributes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct RegisterInstanceInput {
    pub(super) service_id: String,
    pub(super) instance_id: String,
    pub(super) creator_request_id: Option<String>,
    pub(super) attributes: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct InstanceInput {
    pub(super) service_id: String,
    pub(super) instance_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ListInstancesInput {
    pub(super) service_id: String,
    pub(super) next_token: Option<String>,
    pub(super) max_results: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct HealthStatusInput {
    pub(super) service_id: String,
    pub(super) instances: Option<Vec<String>>,
    pub(super) next_token: Option<String>,
    pub(super) max_results: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct CustomHealthStatusInput {
    pub(super) service_id: String,
    pub(super) instance_id: String,
    pub(super) status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DiscoverInput {
    pub(super) namespace_name: String,
    pub(super) service_name: String,
    pub(super) max_results: Option<i64>,
    #[serde(default)]
    pub(super) query_parameters: BTreeMap<String, String>,
    #[serde(default)]
    pub(super) optional_parameters: BTreeMap<String, String>,
    pub(super) health_status: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct DiscoverRevisionInput {
    pub(super) namespace_name: String,
    pub(super) service_name: String,
}

#[derive(Deserialize)]
pub(super) struct ArnInput {
    #[serde(rename = "ResourceARN")]
    pub(super) resource_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct TagResourceInput {
    #[serde(rename = "ResourceARN")]
    pub(super) resource_arn: String,
    pub(super) tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct UntagResourceInput {
    #[serde(rename = "ResourceARN")]
    pub(super) resource_arn: String,
    pub(super) tag_keys: Vec<String>,
}
