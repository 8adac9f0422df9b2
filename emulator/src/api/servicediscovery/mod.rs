//! Cloud Map actions (AWS JSON 1.1, `X-Amz-Target: Route53AutoNaming_v20170314.*`).
//! <https://docs.aws.amazon.com/cloud-map/latest/api/API_Operations.html>
//!
//! DNS namespaces get a hosted zone id but no DNS server answers for them:
//! callers find instances with DiscoverInstances.

mod input;

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};
use time::OffsetDateTime;

use super::ignored_once;
use super::wire::{self, Input, JsonService};
use crate::domain::epoch_seconds;
use crate::domain::servicediscovery::{
    paginate, CloudMapError, DiscoverQuery, DnsConfig, Filter, HealthFilter, HealthStatus,
    Instance, Namespace, NamespaceChange, NamespaceRequest, NamespaceType, Operation, Service,
    ServiceChange, ServiceDiscoveryState, ServiceRequest, NAMESPACE_FILTERS, OPERATION_FILTERS,
    SERVICE_FILTERS,
};
use crate::protocol::json::JsonError;
use input::*;

/// List page size by default and at most (AWS: 100).
const MAX_LIST_RESULTS: i64 = 100;

type Output = Result<Value, CloudMapError>;

impl From<CloudMapError> for JsonError {
    fn from(e: CloudMapError) -> Self {
        let error = JsonError::client(e.code(), e.to_string());
        match &e {
            CloudMapError::NamespaceAlreadyExists {
                namespace_id,
                creator_request_id,
                ..
            } => error
                .with_member("NamespaceId", Some(namespace_id))
                .with_member("CreatorRequestId", creator_request_id.as_deref()),
            CloudMapError::ServiceAlreadyExists {
                service_id,
                service_arn,
                creator_request_id,
                ..
            } => error
                .with_member("ServiceId", Some(service_id))
                .with_member("ServiceArn", Some(service_arn))
                .with_member("CreatorRequestId", creator_request_id.as_deref()),
            _ => error,
        }
    }
}

/// Cloud Map's operations.
pub struct ServiceDiscovery;

type Handler<'a> = wire::Handler<'a, ServiceDiscovery>;

impl JsonService for ServiceDiscovery {
    const VALIDATION_CODE: &'static str = "InvalidInput";
    type Error = CloudMapError;

    fn dispatch(h: &Handler, op: &str, input: &Input) -> Result<Output, JsonError> {
        Ok(match op {
            "CreateHttpNamespace" => h.create_http_namespace(input.decode()?),
            "CreatePrivateDnsNamespace" => {
                h.create_dns_namespace(NamespaceType::DnsPrivate, input.decode()?)
            }
            "CreatePublicDnsNamespace" => {
                h.create_dns_namespace(NamespaceType::DnsPublic, input.decode()?)
            }
            "GetNamespace" => h.get_namespace(input.decode()?),
            "ListNamespaces" => h.list_namespaces(input.decode()?),
            "DeleteNamespace" => h.delete_namespace(input.decode()?),
            "UpdateHttpNamespace" => h.update_http_namespace(input.decode()?),
            "UpdatePrivateDnsNamespace" => {
                h.update_dns_namespace(NamespaceType::DnsPrivate, input.decode()?)
            }
            "UpdatePublicDnsNamespace" => {
                h.update_dns_namespace(NamespaceType::DnsPublic, input.decode()?)
            }
            "GetOperation" => h.get_operation(input.decode()?),
            "ListOperations" => h.list_operations(input.decode()?),
            "CreateService" => h.create_service(input.decode()?),
            "GetService" => h.get_service(input.decode()?),
            "ListServices" => h.list_services(input.decode()?),
            "UpdateService" => h.update_service(input.decode()?),
            "DeleteService" => h.delete_service(input.decode()?),
            "GetServiceAttributes" => h.get_service_attributes(input.decode()?),
            "UpdateServiceAttributes" => h.update_service_attributes(input.decode()?),
            "DeleteServiceAttributes" => h.delete_service_attributes(input.decode()?),
            "RegisterInstance" => h.register_instance(input.decode()?),
            "DeregisterInstance" => h.deregister_instance(input.decode()?),
            "GetInstance" => h.get_instance(input.decode()?),
            "ListInstances" => h.list_instances(input.decode()?),
            "GetInstancesHealthStatus" => h.get_instances_health_status(input.decode()?),
            "UpdateInstanceCustomHealthStatus" => h.update_custom_health(input.decode()?),
            "DiscoverInstances" => h.discover_instances(input.decode()?),
            "DiscoverInstancesRevision" => h.discover_instances_revision(input.decode()?),
            "TagResource" => h.tag_resource(input.decode()?),
            "UntagResource" => h.untag_resource(input.decode()?),
            "ListTagsForResource" => h.list_tags_for_resource(input.decode()?),
            other => return Err(JsonError::unknown_operation(other)),
        })
    }
}

fn parse_filters(
    filters: Vec<FilterInput>,
    allowed: &[(&str, &[crate::domain::servicediscovery::Condition])],
) -> Result<Vec<Filter>, CloudMapError> {
    filters
        .into_iter()
        .map(|f| Filter::parse(f.name, f.values, f.condition.as_deref(), allowed))
        .collect()
}

/// What a change that runs as an operation returns.
fn operation_view(operation_id: String) -> Value {
    json!({ "OperationId": operation_id })
}

fn namespace_view(namespace: &Namespace, account: &str, services: usize, full: bool) -> Value {
    let mut dns = Map::new();
    if let Some(zone) = &namespace.hosted_zone_id {
        dns.insert("HostedZoneId".into(), json!(zone));
    }
    if let Some(ttl) = namespace.soa_ttl {
        dns.insert("SOA".into(), json!({ "TTL": ttl }));
    }
    let mut view = json!({
        "Id": namespace.id,
        "Arn": namespace.arn,
        "ResourceOwner": account,
        "Name": namespace.name,
        "Type": namespace.kind.as_str(),
        "ServiceCount": services,
        "Properties": {
            "DnsProperties": dns,
            "HttpProperties": { "HttpName": namespace.http_name },
        },
        "CreateDate": epoch_seconds::to_f64(namespace.created),
    });
    if let Some(d) = &namespace.description {
        view["Description"] = json!(d);
    }
    if full {
        if let Some(r) = &namespace.creator_request_id {
            view["CreatorRequestId"] = json!(r);
        }
    }
    view
}

fn dns_config_view(config: &DnsConfig, namespace_id: &str) -> Value {
    json!({
        "NamespaceId": namespace_id,
        "RoutingPolicy": config.routing_policy,
        "DnsRecords": config.records.iter().map(|r| json!({ "Type": r.kind, "TTL": r.ttl })).collect::<Vec<_>>(),
    })
}

/// GetService's members (`full`), else ListServices' summary.
fn service_view(service: &Service, account: &str, full: bool) -> Value {
    let mut view = json!({
        "Id": service.id,
        "Arn": service.arn,
        "ResourceOwner": account,
        "Name": service.name,
        "Type": service.kind.as_str(),
        "InstanceCount": service.instances.len(),
        "CreateDate": epoch_seconds::to_f64(service.created),
        "CreatedByAccount": account,
    });
    if let Some(d) = &service.description {
        view["Description"] = json!(d);
    }
    if let Some(config) = &service.dns_config {
        view["DnsConfig"] = dns_config_view(config, &service.namespace_id);
    }
    if let Some(check) = &service.health_check {
        let mut c = json!({ "Type": check.kind });
        if let Some(p) = &check.resource_path {
            c["ResourcePath"] = json!(p);
        }
        if let Some(t) = check.failure_threshold {
            c["FailureThreshold"] = json!(t);
        }
        view["HealthCheckConfig"] = c;
    }
    if let Some(threshold) = service.custom_health_check {
        let mut c = json!({});
        if let Some(t) = threshold {
            c["FailureThreshold"] = json!(t);
        }
        view["HealthCheckCustomConfig"] = c;
    }
    if full {
        view["NamespaceId"] = json!(service.namespace_id);
        if let Some(r) = &service.creator_request_id {
            view["CreatorRequestId"] = json!(r);
        }
    }
    view
}

fn instance_view(instance: &Instance, account: &str, full: bool) -> Value {
    let mut view = json!({
        "Id": instance.id,
        "Attributes": instance.attributes,
        "CreatedByAccount": account,
    });
    if full {
        if let Some(r) = &instance.creator_request_id {
            view["CreatorRequestId"] = json!(r);
        }
    }
    view
}

fn tags_view(tags: &[(String, String)]) -> Vec<Value> {
    tags.iter()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect()
}

/// `{ key: page, NextToken? }`: one page of `views`.
fn list_page(
    key: &str,
    views: Vec<Value>,
    max_results: Option<i64>,
    token: Option<&str>,
) -> Output {
    let (page, next) = paginate(views, max_results, MAX_LIST_RESULTS, token)?;
    let mut out = json!({ key: page });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

fn updater_ignored(updater_request_id: &Option<String>, action: &str) {
    if updater_request_id.is_some() {
        ignored_once(&format!("Cloud Map {action} UpdaterRequestId"));
    }
}

impl Handler<'_> {
    fn account(&self) -> &str {
        self.api.account_id()
    }

    fn write<R>(
        &self,
        f: impl FnOnce(&mut ServiceDiscoveryState, OffsetDateTime) -> Result<R, CloudMapError>,
    ) -> Result<R, CloudMapError> {
        self.api
            .store
            .write(|s| f(&mut s.servicediscovery, OffsetDateTime::now_utc()))
    }

    fn read<R>(&self, f: impl FnOnce(&ServiceDiscoveryState) -> R) -> R {
        self.api.store.read(|s| f(&s.servicediscovery))
    }

    fn create_namespace(&self, request: NamespaceRequest) -> Output {
        let (region, account) = (self.ctx.region.as_str(), self.account());
        let id = self.write(|s, now| s.create_namespace(request, region, account, now))?;
        Ok(operation_view(id))
    }

    fn create_http_namespace(&self, input: CreateHttpNamespaceInput) -> Output {
        self.create_namespace(NamespaceRequest {
            kind: NamespaceType::Http,
            name: input.name,
            creator_request_id: input.creator_request_id,
            description: input.description,
            vpc: None,
            soa_ttl: None,
            tags: into_pairs(input.tags),
        })
    }

    fn create_dns_namespace(&self, kind: NamespaceType, input: CreateNamespaceInput) -> Output {
        if kind == NamespaceType::DnsPublic && input.vpc.is_some() {
            return Err(CloudMapError::InvalidInput(
                "A public DNS namespace takes no Vpc.".into(),
            ));
        }
        self.create_namespace(NamespaceRequest {
            kind,
            name: input.name,
            creator_request_id: input.creator_request_id,
            description: input.description,
            vpc: input.vpc,
            soa_ttl: input.properties.map(|p| p.dns_properties.soa.ttl),
            tags: into_pairs(input.tags),
        })
    }

    fn get_namespace(&self, input: IdInput) -> Output {
        self.read(|s| {
            let namespace = s.namespace(&input.id)?;
            let view = namespace_view(
                namespace,
                self.account(),
                s.service_count(&namespace.id),
                true,
            );
            Ok(json!({ "Namespace": view }))
        })
    }

    fn list_namespaces(&self, input: ListInput) -> Output {
        let filters = parse_filters(input.filters, &NAMESPACE_FILTERS)?;
        let views = self.read(|s| {
            s.namespaces
                .values()
                .filter(|n| filters.iter().all(|f| n.matches(f)))
                .map(|n| namespace_view(n, self.account(), s.service_count(&n.id), false))
                .collect()
        });
        list_page(
            "Namespaces",
            views,
            input.max_results,
            input.next_token.as_deref(),
        )
    }

    fn delete_namespace(&self, input: IdInput) -> Output {
        let id = self.write(|s, now| s.delete_namespace(&input.id, now))?;
        Ok(operation_view(id))
    }

    fn update_namespace(&self, id: &str, kind: NamespaceType, change: NamespaceChange) -> Output {
        let id = self.write(|s, now| s.update_namespace(id, kind, change, now))?;
        Ok(operation_view(id))
    }

    fn update_http_namespace(&self, input: UpdateHttpNamespaceInput) -> Output {
        updater_ignored(&input.updater_request_id, "UpdateHttpNamespace");
        let change = NamespaceChange {
            description: Some(input.namespace.description),
            soa_ttl: None,
        };
        self.update_namespace(&input.id, NamespaceType::Http, change)
    }

    fn update_dns_namespace(&self, kind: NamespaceType, input: UpdateDnsNamespaceInput) -> Output {
        updater_ignored(&input.updater_request_id, "Update*DnsNamespace");
        let change = NamespaceChange {
            description: input.namespace.description,
            soa_ttl: input.namespace.properties.map(|p| p.dns_properties.soa.ttl),
        };
        self.update_namespace(&input.id, kind, change)
    }

    fn get_operation(&self, input: GetOperationInput) -> Output {
        self.read(|s| {
            let operation = s.operation(&input.operation_id)?;
            Ok(json!({ "Operation": {
                "Id": operation.id,
                "OwnerAccount": self.account(),
                "Type": operation.kind.as_str(),
                "Status": Operation::STATUS,
                "CreateDate": epoch_seconds::to_f64(operation.created),
                "UpdateDate": epoch_seconds::to_f64(operation.updated),
                "Targets": operation.targets,
            }}))
        })
    }

    fn list_operations(&self, input: ListInput) -> Output {
        let filters = parse_filters(input.filters, &OPERATION_FILTERS)?;
        let views = self.read(|s| {
            let mut views = Vec::new();
            for operation in &s.operations {
                let mut passes = true;
                for f in &filters {
                    passes &= operation.matches(f)?;
                }
                if passes {
                    views.push(json!({ "Id": operation.id, "Status": Operation::STATUS }));
                }
            }
            Ok::<_, CloudMapError>(views)
        })?;
        list_page(
            "Operations",
            views,
            input.max_results,
            input.next_token.as_deref(),
        )
    }

    fn create_service(&self, input: CreateServiceInput) -> Output {
        let http_only = match input.kind.as_deref() {
            None => false,
            Some("HTTP") => true,
            Some(other) => {
                return Err(crate::domain::servicediscovery::invalid(
                    other,
                    "type",
                    "Member must satisfy enum value set: [HTTP]",
                ))
            }
        };
        let dns_namespace_id = input
            .dns_config
            .as_ref()
            .and_then(|c| c.namespace_id.clone());
        let request = ServiceRequest {
            name: input.name,
            namespace_id: input.namespace_id.or(dns_namespace_id),
            creator_request_id: input.creator_request_id,
            description: input.description,
            dns_config: input.dns_config.map(|c| DnsConfig {
                routing_policy: c.routing_policy.unwrap_or_else(|| "MULTIVALUE".into()),
                records: into_records(c.dns_records),
            }),
            health_check: input.health_check_config.map(Into::into),
            custom_health_check: input
                .health_check_custom_config
                .map(|c| c.failure_threshold),
            http_only,
            tags: into_pairs(input.tags),
        };
        let (region, account) = (self.ctx.region.as_str(), self.account());
        let service = self.write(|s, now| s.create_service(request, region, account, now))?;
        Ok(json!({ "Service": service_view(&service, account, true) }))
    }

    fn get_service(&self, input: IdInput) -> Output {
        self.read(|s| {
            let service = s.service(&input.id)?;
            Ok(json!({ "Service": service_view(service, self.account(), true) }))
        })
    }

    fn list_services(&self, input: ListInput) -> Output {
        let filters = parse_filters(input.filters, &SERVICE_FILTERS)?;
        let views = self.read(|s| {
            s.services
                .values()
                .filter(|srv| filters.iter().all(|f| srv.matches(f)))
                .map(|srv| service_view(srv, self.account(), false))
                .collect()
        });
        list_page(
            "Services",
            views,
            input.max_results,
            input.next_token.as_deref(),
        )
    }

    fn update_service(&self, input: UpdateServiceInput) -> Output {
        let change = ServiceChange {
            description: input.service.description,
            dns_records: input
                .service
                .dns_config
                .map(|c| into_records(c.dns_records)),
            health_check: input.service.health_check_config.map(Into::into),
        };
        let id = self.write(|s, now| s.update_service(&input.id, change, now))?;
        Ok(operation_view(id))
    }

    fn delete_service(&self, input: IdInput) -> Output {
        self.write(|s, _| s.delete_service(&input.id))?;
        Ok(json!({}))
    }

    fn get_service_attributes(&self, input: ServiceIdInput) -> Output {
        self.read(|s| {
            let service = s.service(&input.service_id)?;
            Ok(json!({ "ServiceAttributes": {
                "ServiceArn": service.arn,
                "ResourceOwner": self.account(),
                "Attributes": service.attributes,
            }}))
        })
    }

    fn update_service_attributes(&self, input: UpdateServiceAttributesInput) -> Output {
        self.write(|s, _| s.update_service_attributes(&input.service_id, input.attributes))?;
        Ok(json!({}))
    }

    fn delete_service_attributes(&self, input: DeleteServiceAttributesInput) -> Output {
        self.write(|s, _| s.delete_service_attributes(&input.service_id, &input.attributes))?;
        Ok(json!({}))
    }

    fn register_instance(&self, input: RegisterInstanceInput) -> Output {
        let id = self.write(|s, now| {
            s.register_instance(
                &input.service_id,
                &input.instance_id,
                input.creator_request_id,
                input.attributes,
                now,
            )
        })?;
        Ok(operation_view(id))
    }

    fn deregister_instance(&self, input: InstanceInput) -> Output {
        let id =
            self.write(|s, now| s.deregister_instance(&input.service_id, &input.instance_id, now))?;
        Ok(operation_view(id))
    }

    fn get_instance(&self, input: InstanceInput) -> Output {
        self.read(|s| {
            let instance = s.instance(&input.service_id, &input.instance_id)?;
            Ok(json!({
                "ResourceOwner": self.account(),
                "Instance": instance_view(instance, self.account(), true),
            }))
        })
    }

    fn list_instances(&self, input: ListInstancesInput) -> Output {
        let views = self.read(|s| {
            let service = s.service(&input.service_id)?;
            Ok::<Vec<Value>, CloudMapError>(
                service
                    .instances
                    .values()
                    .map(|i| instance_view(i, self.account(), false))
                    .collect(),
            )
        })?;
        let mut out = list_page(
            "Instances",
            views,
            input.max_results,
            input.next_token.as_deref(),
        )?;
        out["ResourceOwner"] = json!(self.account());
        Ok(out)
    }

    fn get_instances_health_status(&self, input: HealthStatusInput) -> Output {
        if input.instances.as_ref().is_some_and(Vec::is_empty) {
            return Err(crate::domain::servicediscovery::invalid(
                "[]",
                "instances",
                "Member must have length greater than or equal to 1",
            ));
        }
        let statuses =
            self.read(|s| s.health_statuses(&input.service_id, input.instances.as_deref()))?;
        let (page, next) = paginate(
            statuses,
            input.max_results,
            MAX_LIST_RESULTS,
            input.next_token.as_deref(),
        )?;
        let status: BTreeMap<String, &str> =
            page.into_iter().map(|(id, h)| (id, h.as_str())).collect();
        let mut out = json!({ "Status": status });
        if let Some(next) = next {
            out["NextToken"] = json!(next);
        }
        Ok(out)
    }

    fn update_custom_health(&self, input: CustomHealthStatusInput) -> Output {
        let status = HealthStatus::parse(&input.status, "status")?;
        self.write(|s, _| s.update_custom_health(&input.service_id, &input.instance_id, status))?;
        Ok(json!({}))
    }

    fn discover_instances(&self, input: DiscoverInput) -> Output {
        let query = DiscoverQuery {
            namespace_name: input.namespace_name,
            service_name: input.service_name,
            query_parameters: input.query_parameters,
            optional_parameters: input.optional_parameters,
            health: input
                .health_status
                .as_deref()
                .map(HealthFilter::parse)
                .transpose()?
                .unwrap_or_default(),
            max_results: input.max_results,
        };
        let found = self.read(|s| s.discover_instances(&query))?;
        let instances: Vec<Value> = found
            .instances
            .iter()
            .map(|(instance, health)| {
                json!({
                    "InstanceId": instance.id,
                    "NamespaceName": found.namespace_name,
                    "ServiceName": found.service_name,
                    "HealthStatus": health.as_str(),
                    "Attributes": instance.attributes,
                })
            })
            .collect();
        Ok(json!({ "Instances": instances, "InstancesRevision": found.revision }))
    }

    fn discover_instances_revision(&self, input: DiscoverRevisionInput) -> Output {
        let revision = self.read(|s| {
            s.discovered_service(&input.namespace_name, &input.service_name)
                .map(|(_, service)| service.revision)
        })?;
        Ok(json!({ "InstancesRevision": revision }))
    }

    fn tag_resource(&self, input: TagResourceInput) -> Output {
        self.write(|s, _| s.tag(&input.resource_arn, into_pairs(input.tags)))?;
        Ok(json!({}))
    }

    fn untag_resource(&self, input: UntagResourceInput) -> Output {
        self.write(|s, _| s.untag(&input.resource_arn, &input.tag_keys))?;
        Ok(json!({}))
    }

    fn list_tags_for_resource(&self, input: ArnInput) -> Output {
        self.read(|s| {
            let tags = s.tags(&input.resource_arn)?;
            Ok(json!({ "Tags": tags_view(tags) }))
        })
    }
}
