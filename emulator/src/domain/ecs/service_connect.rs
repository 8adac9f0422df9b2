//! ECS Service Connect: a service's `serviceConnectConfiguration`, the
//! Cloud Map services ECS creates for it, and the endpoints its tasks reach.
//!
//! On Fargate, each task of a Service Connect service runs a proxy. Every
//! client alias (`dnsName:port`) of every service in the namespace resolves
//! inside the task to a loopback address where that proxy listens and
//! balances over the serving service's tasks. The emulator does the same
//! from outside the task: [`task_aliases`] gives each alias name an address
//! in 127.255.0.0/24 (written to the task's hosts file), the task runner
//! listens on those addresses inside the task's network namespace, and the
//! data plane balances over [`endpoints`]. A task reads the aliases of its
//! namespace when it starts; AWS likewise configures a task's proxy at
//! launch, and advises deploying serving services before their clients.
//!
//! With `appProtocol: http` the proxy balances each request (the ALB's
//! HTTP/1 proxy); otherwise (none, `http2`, `grpc`) it balances each TCP
//! connection, which carries any protocol.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, SocketAddr};

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::service::{Service, ServiceStatus};
use super::validate::EcsError;
use super::{HealthStatus, Task, TaskDefinition};
use crate::domain::persist::field;
use crate::domain::servicediscovery::{Namespace, ServiceDiscoveryState};
use crate::domain::State;

/// `services[].clientAliases` holds at most this many aliases (AWS: 1).
pub const MAX_CLIENT_ALIASES: usize = 1;
/// The first three octets of the alias addresses inside a task.
const ALIAS_NETWORK: [u8; 3] = [127, 255, 0];
/// Alias addresses run from .1 to .254.
pub const MAX_ALIAS_NAMES: usize = 254;

/// `serviceConnectConfiguration`, with `namespace` resolved to its ARN.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectConfiguration {
    pub enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    #[serde(default)]
    pub services: Vec<ServiceConnectService>,
    /// The proxy's own log configuration: stored and echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub log_configuration: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub access_log_configuration: Option<Value>,
}

/// `services[]`: one named port of the task definition, offered to the
/// namespace under client aliases.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectService {
    pub port_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub discovery_name: Option<String>,
    #[serde(default)]
    pub client_aliases: Vec<ClientAlias>,
    /// The port of the serving task's own proxy. The emulator runs no proxy
    /// in serving tasks, so clients reach the container port directly.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress_port_override: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<TimeoutConfiguration>,
    /// TLS between the proxies: stored and echoed (traffic stays plain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub tls: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClientAlias {
    pub port: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_name: Option<String>,
    /// Blue/green test-traffic header rules: stored and echoed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub test_traffic_rules: Option<Value>,
}

#[derive(
    Debug, Clone, Default, PartialEq, Serialize, Deserialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct TimeoutConfiguration {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_timeout_seconds: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_request_timeout_seconds: Option<u32>,
}

/// `serviceConnectResources[]` of a deployment: the Cloud Map service ECS
/// created for a discovery name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct ServiceConnectResource {
    pub discovery_name: String,
    pub discovery_arn: String,
}

impl ServiceConnectService {
    /// `discoveryName`, which defaults to `portName`.
    pub fn discovery_name(&self) -> &str {
        self.discovery_name.as_deref().unwrap_or(&self.port_name)
    }
}

/// Whether `name` is a valid `discoveryName` or port name: 1-64 lowercase
/// letters, digits, `_` and `-`, not starting with `-`.
fn valid_discovery_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// Whether `name` is a valid client alias `dnsName`: up to 127 lowercase
/// letters, digits, `_`, `-` and `.`, not starting with `-`.
fn valid_dns_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 127
        && !name.starts_with('-')
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'-' | b'.')
        })
}

/// The namespace a configuration names (by name or ARN), else the
/// cluster's default, else an error.
pub fn resolve_namespace<'a>(
    discovery: &'a ServiceDiscoveryState,
    named: Option<&str>,
    cluster_default: Option<&str>,
) -> Result<&'a Namespace, EcsError> {
    let Some(reference) = named.or(cluster_default) else {
        return Err(EcsError::InvalidParameter(
            "Service Connect needs a namespace: set serviceConnectConfiguration.namespace \
             or the cluster's serviceConnectDefaults."
                .into(),
        ));
    };
    discovery
        .namespace(reference)
        .or_else(|_| discovery.namespace_by_name(reference))
        .map_err(|_| EcsError::NamespaceNotFound)
}

/// Checks a configuration against the task definition and the other
/// services of the namespace, and returns it with `namespace` set to the
/// namespace's ARN and every alias's defaults filled in.
pub fn validate(
    mut config: ServiceConnectConfiguration,
    definition: &TaskDefinition,
    namespace: &Namespace,
    this_service_arn: &str,
    services: &BTreeMap<String, Service>,
) -> Result<ServiceConnectConfiguration, EcsError> {
    config.namespace = Some(namespace.arn.clone());
    if !config.enabled {
        return Ok(config);
    }
    let mut names = BTreeSet::new();
    for service in &mut config.services {
        let Some(mapping) = definition.named_port(&service.port_name) else {
            return Err(EcsError::InvalidParameter(format!(
                "The portName '{}' of serviceConnectConfiguration.services does not match \
                 the name of a portMapping in the task definition.",
                service.port_name
            )));
        };
        let discovery_name = service.discovery_name().to_string();
        if !valid_discovery_name(&discovery_name) {
            return Err(EcsError::InvalidParameter(format!(
                "The discoveryName '{discovery_name}' must be 1-64 lowercase letters, numbers, \
                 underscores and hyphens, and can't start with a hyphen."
            )));
        }
        if !names.insert(discovery_name.clone()) {
            return Err(EcsError::InvalidParameter(format!(
                "The discoveryName '{discovery_name}' is used twice in serviceConnectConfiguration."
            )));
        }
        let taken = services.values().any(|other| {
            other.service_arn != this_service_arn
                && other.status != ServiceStatus::Inactive
                && other.service_connect_in(&namespace.arn).is_some_and(|c| {
                    c.services
                        .iter()
                        .any(|s| s.discovery_name() == discovery_name)
                })
        });
        if taken {
            return Err(EcsError::InvalidParameter(format!(
                "The discoveryName '{discovery_name}' is already used by another service \
                 in the namespace {}.",
                namespace.name
            )));
        }
        if service.client_aliases.len() > MAX_CLIENT_ALIASES {
            return Err(EcsError::InvalidParameter(format!(
                "clientAliases can have at most {MAX_CLIENT_ALIASES} item."
            )));
        }
        for alias in &mut service.client_aliases {
            if alias.port == 0 {
                return Err(EcsError::InvalidParameter(
                    "The clientAliases port must be between 1 and 65535.".into(),
                ));
            }
            let dns_name = alias
                .dns_name
                .get_or_insert_with(|| format!("{discovery_name}.{}", namespace.name));
            if !valid_dns_name(dns_name) {
                return Err(EcsError::InvalidParameter(format!(
                    "The clientAliases dnsName '{dns_name}' must be up to 127 lowercase letters, \
                     numbers, underscores, hyphens and periods, and can't start with a hyphen."
                )));
            }
        }
        let tcp = !is_http(mapping.app_protocol.as_deref());
        let per_request = service
            .timeout
            .as_ref()
            .and_then(|t| t.per_request_timeout_seconds);
        if tcp && per_request.is_some() {
            return Err(EcsError::InvalidParameter(
                "perRequestTimeoutSeconds can only be set when the port mapping's appProtocol \
                 is http, http2 or grpc."
                    .into(),
            ));
        }
    }
    Ok(config)
}

/// Whether an `appProtocol` is balanced per request (HTTP/1 here) rather
/// than per connection.
fn is_http(app_protocol: Option<&str>) -> bool {
    app_protocol.is_some_and(|p| p.eq_ignore_ascii_case("http"))
}

/// The Cloud Map service ECS keeps for each discovery name.
pub fn resource_for(discovery_name: &str, discovery_arn: &str) -> ServiceConnectResource {
    ServiceConnectResource {
        discovery_name: discovery_name.to_string(),
        discovery_arn: discovery_arn.to_string(),
    }
}

/// One client alias of the namespace, as the data plane serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// Names the endpoint's routes (namespace, name and port).
    pub key: String,
    pub namespace_arn: String,
    pub dns_name: String,
    pub port: u16,
    /// Balanced per request (HTTP/1) rather than per connection.
    pub http: bool,
    /// `idleTimeoutSeconds`, if set.
    pub idle_timeout_seconds: Option<u32>,
    /// The serving tasks' addresses (IP and container port).
    pub targets: Vec<SocketAddr>,
}

/// The route key of alias `dns_name:port` in the namespace.
pub fn endpoint_key(namespace_arn: &str, dns_name: &str, port: u16) -> String {
    format!("service-connect:{namespace_arn}:{dns_name}:{port}")
}

/// Every client alias of every Service Connect service, with the tasks
/// that serve it now: running, meant to run, and not unhealthy.
pub fn endpoints(state: &State) -> Vec<Endpoint> {
    let mut endpoints: BTreeMap<String, Endpoint> = BTreeMap::new();
    for service in state.ecs.services.values() {
        let Some(config) = service.service_connect_configuration.as_ref() else {
            continue;
        };
        let (true, Some(namespace), false) = (
            config.enabled,
            config.namespace.as_deref(),
            service.status == ServiceStatus::Inactive,
        ) else {
            continue;
        };
        let tasks: Vec<&Task> = state
            .ecs
            .tasks
            .values()
            .filter(|t| serves(t, service))
            .collect();
        for offered in &config.services {
            for alias in &offered.client_aliases {
                let Some(dns_name) = alias.dns_name.as_deref() else {
                    continue;
                };
                let key = endpoint_key(namespace, dns_name, alias.port);
                let entry = endpoints.entry(key.clone()).or_insert_with(|| Endpoint {
                    key,
                    namespace_arn: namespace.to_string(),
                    dns_name: dns_name.to_string(),
                    port: alias.port,
                    http: false,
                    idle_timeout_seconds: offered
                        .timeout
                        .as_ref()
                        .and_then(|t| t.idle_timeout_seconds),
                    targets: vec![],
                });
                if let Some(mapping) = state
                    .ecs
                    .find_task_definition(&service.task_definition)
                    .and_then(|d| d.named_port(&offered.port_name))
                {
                    entry.http = is_http(mapping.app_protocol.as_deref());
                }
                for task in &tasks {
                    let Some(mapping) = task.definition.named_port(&offered.port_name) else {
                        continue;
                    };
                    if let Some(ip) = task.private_ip().and_then(|ip| ip.parse().ok()) {
                        entry
                            .targets
                            .push(SocketAddr::new(ip, mapping.container_port));
                    }
                }
            }
        }
    }
    endpoints.into_values().collect()
}

/// A task of `service` serves its endpoints while it runs, is meant to,
/// and is not unhealthy.
fn serves(task: &Task, service: &Service) -> bool {
    service.runs(task) && task.health_status != HealthStatus::Unhealthy
}

/// One alias as a task sees it: the name in its hosts file, the loopback
/// address it resolves to, and the endpoint listening there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskAlias {
    pub dns_name: String,
    pub address: Ipv4Addr,
    pub port: u16,
    pub key: String,
    pub http: bool,
}

/// The aliases a task of a Service Connect service reaches: every client
/// alias in its service's namespace. Each distinct name gets its own
/// address, in name order.
pub fn task_aliases(state: &State, task: &Task) -> Vec<TaskAlias> {
    let Some(namespace) = state
        .ecs
        .services
        .values()
        .find(|s| s.owns(task))
        .and_then(|s| s.service_connect_configuration.as_ref())
        .filter(|c| c.enabled)
        .and_then(|c| c.namespace.clone())
    else {
        return vec![];
    };
    let endpoints: Vec<Endpoint> = endpoints(state)
        .into_iter()
        .filter(|e| e.namespace_arn == namespace)
        .collect();
    let names: Vec<&str> = endpoints
        .iter()
        .map(|e| e.dns_name.as_str())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .take(MAX_ALIAS_NAMES)
        .collect();
    endpoints
        .iter()
        .filter_map(|e| {
            let index = names.iter().position(|n| *n == e.dns_name)?;
            let [a, b, c] = ALIAS_NETWORK;
            Some(TaskAlias {
                dns_name: e.dns_name.clone(),
                address: Ipv4Addr::new(a, b, c, index as u8 + 1),
                port: e.port,
                key: e.key.clone(),
                http: e.http,
            })
        })
        .collect()
}

impl Service {
    /// The service's Service Connect configuration if it is on and in
    /// `namespace_arn`.
    pub fn service_connect_in(&self, namespace_arn: &str) -> Option<&ServiceConnectConfiguration> {
        self.service_connect_configuration
            .as_ref()
            .filter(|c| c.enabled && c.namespace.as_deref() == Some(namespace_arn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::servicediscovery::{NamespaceRequest, NamespaceType};
    use serde_json::json;

    fn namespace() -> (ServiceDiscoveryState, String) {
        let mut discovery = ServiceDiscoveryState::default();
        let request = NamespaceRequest {
            kind: NamespaceType::Http,
            name: "shop".into(),
            creator_request_id: None,
            description: None,
            vpc: None,
            soa_ttl: None,
            tags: vec![],
        };
        let now = time::OffsetDateTime::now_utc();
        discovery
            .create_namespace(request, "us-east-1", "000000000000", now)
            .unwrap();
        let arn = discovery.namespaces.values().next().unwrap().arn.clone();
        (discovery, arn)
    }

    fn definition() -> TaskDefinition {
        serde_json::from_value(json!({
            "family": "web",
            "containerDefinitions": [{
                "name": "app",
                "image": "sample-app:latest",
                "portMappings": [
                    {"containerPort": 8080, "name": "api", "appProtocol": "http"},
                    {"containerPort": 9000, "name": "raw"}
                ]
            }]
        }))
        .unwrap()
    }

    fn config(services: Value) -> ServiceConnectConfiguration {
        serde_json::from_value(json!({"enabled": true, "namespace": "shop", "services": services}))
            .unwrap()
    }

    #[test]
    fn the_namespace_is_found_by_name_or_arn_or_the_cluster_default() {
        let (discovery, arn) = namespace();
        assert_eq!(
            resolve_namespace(&discovery, Some("shop"), None)
                .unwrap()
                .arn,
            arn
        );
        assert_eq!(
            resolve_namespace(&discovery, Some(&arn), None).unwrap().arn,
            arn
        );
        assert_eq!(
            resolve_namespace(&discovery, None, Some("shop"))
                .unwrap()
                .arn,
            arn
        );
        let e = resolve_namespace(&discovery, Some("nowhere"), None).unwrap_err();
        assert_eq!(e.code(), "NamespaceNotFoundException");
        let e = resolve_namespace(&discovery, None, None).unwrap_err();
        assert_eq!(e.code(), "InvalidParameterException");
    }

    #[test]
    fn aliases_get_their_documented_defaults() {
        let (discovery, arn) = namespace();
        let ns = discovery.namespace(&arn).unwrap();
        let services = BTreeMap::new();
        let checked = validate(
            config(json!([{"portName": "api", "clientAliases": [{"port": 80}]}])),
            &definition(),
            ns,
            "svc",
            &services,
        )
        .unwrap();
        assert_eq!(checked.namespace.as_deref(), Some(arn.as_str()));
        assert_eq!(checked.services[0].discovery_name(), "api");
        assert_eq!(
            checked.services[0].client_aliases[0].dns_name.as_deref(),
            Some("api.shop")
        );
    }

    #[test]
    fn bad_configurations_are_refused() {
        let (discovery, arn) = namespace();
        let ns = discovery.namespace(&arn).unwrap();
        let services = BTreeMap::new();
        let refused = |services_json: Value| {
            validate(config(services_json), &definition(), ns, "svc", &services).unwrap_err()
        };
        let e = refused(json!([{"portName": "nope"}]));
        assert!(e.to_string().contains("'nope'"), "{}", e.to_string());
        let e = refused(json!([{"portName": "api", "discoveryName": "-x"}]));
        assert!(e.to_string().contains("discoveryName"), "{}", e.to_string());
        let e = refused(json!([{"portName": "api"}, {"portName": "api"}]));
        assert!(e.to_string().contains("twice"), "{}", e.to_string());
        let e = refused(json!([{"portName": "api", "clientAliases": [{"port": 1}, {"port": 2}]}]));
        assert!(e.to_string().contains("at most 1"), "{}", e.to_string());
        let e = refused(json!([{"portName": "raw", "timeout": {"perRequestTimeoutSeconds": 5}}]));
        assert!(
            e.to_string().contains("perRequestTimeoutSeconds"),
            "{}",
            e.to_string()
        );
        let e = refused(
            json!([{"portName": "api", "clientAliases": [{"port": 80, "dnsName": "Bad Name"}]}]),
        );
        assert!(e.to_string().contains("dnsName"), "{}", e.to_string());
    }

    #[test]
    fn names_follow_the_documented_character_sets() {
        assert!(valid_discovery_name("api_v2-x"));
        assert!(!valid_discovery_name("-api"));
        assert!(!valid_discovery_name("Api"));
        assert!(!valid_discovery_name(&"a".repeat(65)));
        assert!(valid_dns_name("backend.local"));
        assert!(!valid_dns_name("back end"));
        assert!(!valid_dns_name(&"a".repeat(128)));
    }

    #[test]
    fn only_http_is_balanced_per_request() {
        assert!(is_http(Some("http")));
        assert!(!is_http(Some("http2")));
        assert!(!is_http(Some("grpc")));
        assert!(!is_http(None));
    }
}
