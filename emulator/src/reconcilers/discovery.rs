//! ECS `serviceRegistries`: while a service's task runs, it is an instance
//! of the service's Cloud Map service (instance id = task id), with the
//! attributes ECS gives it; when it stops, the instance goes. Names in a DNS
//! namespace resolve inside the VPC through the task network's DNS: each
//! task's sandbox carries the alias `SERVICE.NAMESPACE` (see [`dns_names`]).
//! A namespace tagged [`COMPOSE_PROJECT_TAG`] is also a search domain of its
//! tasks, so a compose file's bare service names resolve (see
//! [`dns_search_domains`]).
//! A Service Connect service's tasks are instances of the Cloud Map service
//! of each of its discovery names too.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use crate::domain::arn::last_segment;
use crate::domain::ecs::service::Service;
use crate::domain::ecs::Task;
use crate::domain::servicediscovery::{self, Namespace, NamespaceType, COMPOSE_PROJECT_TAG};
use crate::domain::State;

/// The attributes ECS sets that say which ECS service registered an
/// instance; the emulator only deregisters instances that carry its own.
const CLUSTER_ATTRIBUTE: &str = "ECS_CLUSTER_NAME";
const SERVICE_ATTRIBUTE: &str = "ECS_SERVICE_NAME";

/// Registers the running tasks of every service with registries and
/// deregisters the instances of its tasks that no longer run. Whether
/// anything changed.
pub fn sync(state: &mut State, now: OffsetDateTime) -> bool {
    let mut changes: Vec<(String, Change)> = vec![];
    for service in state.ecs.services.values() {
        for (registry_arn, port) in registrations(service, state) {
            let Some(cloud_map) = state.servicediscovery.service_by_arn(&registry_arn) else {
                continue;
            };
            let wanted: BTreeMap<String, BTreeMap<String, String>> = state
                .ecs
                .tasks
                .values()
                .filter(|t| is_registered(t, service))
                .map(|t| (t.id().to_string(), attributes(t, service, port)))
                .collect();
            let cluster = last_segment(&service.cluster_arn);
            let ours: BTreeSet<&String> = cloud_map
                .instances
                .values()
                .filter(|i| {
                    i.attributes.get(CLUSTER_ATTRIBUTE).map(String::as_str) == Some(cluster)
                        && i.attributes.get(SERVICE_ATTRIBUTE) == Some(&service.service_name)
                })
                .map(|i| &i.id)
                .collect();
            for (id, attrs) in &wanted {
                let current = cloud_map.instances.get(id).map(|i| &i.attributes);
                if current != Some(attrs) {
                    changes.push((
                        cloud_map.id.clone(),
                        Change::Register(id.clone(), attrs.clone()),
                    ));
                }
            }
            for id in ours.into_iter().filter(|id| !wanted.contains_key(*id)) {
                changes.push((cloud_map.id.clone(), Change::Deregister(id.clone())));
            }
        }
    }
    let changed = !changes.is_empty();
    for (service_id, change) in changes {
        let result = match change {
            Change::Register(id, attrs) => {
                state
                    .servicediscovery
                    .register_instance(&service_id, &id, None, attrs, now)
            }
            Change::Deregister(id) => {
                state
                    .servicediscovery
                    .deregister_instance(&service_id, &id, now)
            }
        };
        if let Err(e) = result {
            tracing::warn!(service = %service_id, error = %e, "Cloud Map registration failed");
        }
    }
    changed
}

enum Change {
    Register(String, BTreeMap<String, String>),
    Deregister(String),
}

/// The Cloud Map services a service's tasks are instances of, with the
/// port they are registered with: its `serviceRegistries` (the registry's
/// `port`, else its `containerPort`), and the Service Connect discovery
/// names (the container port of the named port mapping).
fn registrations(service: &Service, state: &State) -> Vec<(String, Option<u16>)> {
    let mut all: Vec<(String, Option<u16>)> = service
        .service_registries
        .iter()
        .map(|r| (r.registry_arn.clone(), r.port.or(r.container_port)))
        .collect();
    let definition = state.ecs.find_task_definition(&service.task_definition);
    for resource in &service.service_connect_resources {
        let port = service
            .service_connect_configuration
            .iter()
            .flat_map(|c| &c.services)
            .find(|s| s.discovery_name() == resource.discovery_name)
            .and_then(|s| definition?.named_port(&s.port_name))
            .map(|m| m.container_port);
        all.push((resource.discovery_arn.clone(), port));
    }
    all
}

/// A task of `service` counts as an instance while it runs, is meant to,
/// and has an address.
fn is_registered(task: &Task, service: &Service) -> bool {
    service.runs(task) && task.private_ip().is_some()
}

/// The attributes ECS registers a task with; `port` is `AWS_INSTANCE_PORT`.
fn attributes(task: &Task, service: &Service, port: Option<u16>) -> BTreeMap<String, String> {
    let region = crate::domain::arn::region_of(&task.task_arn).unwrap_or("us-east-1");
    let mut attrs = BTreeMap::from([
        (
            servicediscovery::INIT_HEALTH_STATUS.to_string(),
            servicediscovery::HealthStatus::Healthy.as_str().to_string(),
        ),
        (
            "AWS_INSTANCE_IPV4".to_string(),
            task.private_ip().unwrap_or_default().to_string(),
        ),
        (
            "AVAILABILITY_ZONE".to_string(),
            task.availability_zone.clone(),
        ),
        (
            CLUSTER_ATTRIBUTE.to_string(),
            last_segment(&service.cluster_arn).to_string(),
        ),
        (SERVICE_ATTRIBUTE.to_string(), service.service_name.clone()),
        (
            "ECS_TASK_DEFINITION_FAMILY".to_string(),
            task.definition.family.clone(),
        ),
        ("REGION".to_string(), region.to_string()),
    ]);
    if let Some(port) = port {
        attrs.insert("AWS_INSTANCE_PORT".to_string(), port.to_string());
    }
    attrs
}

/// The DNS names a task answers to inside its VPC: `SERVICE.NAMESPACE` for
/// each registry of its ECS service whose Cloud Map namespace is a DNS one.
pub fn dns_names(state: &State, task: &Task) -> Vec<String> {
    dns_registries(state, task)
        .map(|(service, namespace)| format!("{service}.{}", namespace.name))
        .collect()
}

/// The search domains of a task's resolver: the DNS namespaces of its
/// registries that a compose project created. Docker's ECS integration
/// added its project's namespace to each task's search list (through a
/// sidecar), so that the bare service names of a compose file resolve;
/// elsewhere ECS adds none and names are written in full.
pub fn dns_search_domains(state: &State, task: &Task) -> Vec<String> {
    let domains: BTreeSet<String> = dns_registries(state, task)
        .filter(|(_, namespace)| {
            namespace
                .tags
                .iter()
                .any(|(key, _)| key == COMPOSE_PROJECT_TAG)
        })
        .map(|(_, namespace)| namespace.name.clone())
        .collect();
    domains.into_iter().collect()
}

/// The Cloud Map service name and DNS namespace of each registry of the
/// task's ECS service.
fn dns_registries<'a>(
    state: &'a State,
    task: &Task,
) -> impl Iterator<Item = (&'a str, &'a Namespace)> + 'a {
    let service = state.ecs.services.values().find(|s| s.owns(task));
    let discovery = &state.servicediscovery;
    service
        .into_iter()
        .flat_map(|s| s.service_registries.iter())
        .filter_map(move |r| {
            let cloud_map = discovery.service_by_arn(&r.registry_arn)?;
            let namespace = discovery.namespace(&cloud_map.namespace_id).ok()?;
            (namespace.kind != NamespaceType::Http).then_some((cloud_map.name.as_str(), namespace))
        })
}
