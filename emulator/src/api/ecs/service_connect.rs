//! `serviceConnectConfiguration` on CreateService and UpdateService: the
//! checks, and the Cloud Map service ECS creates for each discovery name
//! (the scheduler registers the service's running tasks in it).

use time::OffsetDateTime;

use super::Handler;
use crate::domain::arn::last_segment;
use crate::domain::ecs::service_connect::{
    self, ServiceConnectConfiguration, ServiceConnectResource,
};
use crate::domain::ecs::validate::EcsError;
use crate::domain::ecs::TaskDefinition;
use crate::domain::servicediscovery::ServiceRequest;
use crate::domain::State;

impl Handler<'_> {
    /// Checks `config` for the service `service_arn` in `cluster_arn` and
    /// makes sure every discovery name has its Cloud Map service. Returns
    /// the configuration as stored (namespace ARN, alias defaults) and the
    /// resources.
    pub(super) fn apply_service_connect(
        &self,
        s: &mut State,
        service_arn: &str,
        cluster_arn: &str,
        definition: &TaskDefinition,
        config: ServiceConnectConfiguration,
    ) -> Result<(ServiceConnectConfiguration, Vec<ServiceConnectResource>), EcsError> {
        let cluster_default = s
            .ecs
            .clusters
            .get(last_segment(cluster_arn))
            .and_then(|c| c.service_connect_defaults.as_ref())
            .and_then(|d| d.get("namespace"))
            .and_then(|n| n.as_str())
            .map(str::to_string);
        let namespace = service_connect::resolve_namespace(
            &s.servicediscovery,
            config.namespace.as_deref(),
            cluster_default.as_deref(),
        )?
        .clone();
        let config = service_connect::validate(
            config,
            definition,
            &namespace,
            service_arn,
            &s.ecs.services,
        )?;
        if !config.enabled {
            return Ok((config, vec![]));
        }
        log_ignored(&config);
        let mut resources = vec![];
        for offered in &config.services {
            let name = offered.discovery_name();
            let existing = s
                .servicediscovery
                .services
                .values()
                .find(|c| c.namespace_id == namespace.id && c.name == name)
                .map(|c| c.arn.clone());
            let arn = match existing {
                Some(arn) => arn,
                None => {
                    let request = ServiceRequest {
                        name: name.to_string(),
                        namespace_id: Some(namespace.id.clone()),
                        creator_request_id: None,
                        description: None,
                        dns_config: None,
                        health_check: None,
                        custom_health_check: None,
                        http_only: false,
                        tags: vec![("AmazonECSManaged".into(), "true".into())],
                    };
                    s.servicediscovery
                        .create_service(
                            request,
                            &self.ctx.region,
                            self.api.account_id(),
                            OffsetDateTime::now_utc(),
                        )
                        .map_err(|e| EcsError::InvalidParameter(e.to_string()))?
                        .arn
                }
            };
            resources.push(service_connect::resource_for(name, &arn));
        }
        Ok((config, resources))
    }
}

/// Logs, once per member, what is stored and echoed but not acted on (the
/// README lists them).
fn log_ignored(config: &ServiceConnectConfiguration) {
    let mut ignored = vec![];
    if config.log_configuration.is_some() {
        ignored.push("logConfiguration");
    }
    if config.access_log_configuration.is_some() {
        ignored.push("accessLogConfiguration");
    }
    for offered in &config.services {
        if offered.tls.is_some() {
            ignored.push("services[].tls");
        }
        if offered.ingress_port_override.is_some() {
            ignored.push("services[].ingressPortOverride (clients reach the container port)");
        }
        if offered
            .client_aliases
            .iter()
            .any(|a| a.test_traffic_rules.is_some())
        {
            ignored.push("services[].clientAliases[].testTrafficRules");
        }
    }
    for member in ignored {
        crate::api::ignored_once(&format!("ECS serviceConnectConfiguration.{member}"));
    }
}
