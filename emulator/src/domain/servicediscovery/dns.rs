//! What Route 53 answers for a Cloud Map DNS namespace, inside a VPC: the
//! records Cloud Map creates for each registered instance.
//!
//! For a service `S` in namespace `N` (<https://docs.aws.amazon.com/cloud-map/latest/dg/services-values.html>):
//! - an A record `S.N` per instance, with `AWS_INSTANCE_IPV4`;
//! - an SRV record `S.N` per instance, `1 1 AWS_INSTANCE_PORT ID.S.N`, and
//!   with it an A record `ID.S.N` with `AWS_INSTANCE_IPV4`.
//!
//! Healthy instances are answered; when none is healthy, all of them, as
//! Route 53 does. A private namespace is seen from its own VPC only.

use std::net::Ipv4Addr;

use super::{HealthStatus, NamespaceType, ServiceDiscoveryState};

/// One record of an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    A {
        ip: Ipv4Addr,
        ttl: u32,
    },
    Srv {
        priority: u16,
        weight: u16,
        port: u16,
        target: String,
        ttl: u32,
    },
}

/// The query types answered from Cloud Map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryType {
    A,
    Srv,
    /// Any other type: the name exists (or not), with no records.
    Other,
}

/// The outcome for one name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// Not in a namespace this VPC sees: ask elsewhere.
    NotOurs,
    /// In a namespace, but no such name (NXDOMAIN).
    NoSuchName,
    /// The name exists; these are its records of the asked type.
    Records(Vec<Answer>),
}

impl ServiceDiscoveryState {
    /// Whether VPC `vpc` sees a DNS namespace (its private ones, or a
    /// public one).
    pub fn has_dns_namespace_for(&self, vpc: &str) -> bool {
        self.namespaces.values().any(|n| sees(n, vpc))
    }

    /// Answers `name` (case-insensitive, with or without the final dot)
    /// as the VPC `vpc` sees it.
    pub fn dns_lookup(&self, vpc: &str, name: &str, kind: QueryType) -> Lookup {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        let visible = self.namespaces.values().filter(|n| sees(n, vpc));
        // The longest namespace that contains the name owns it.
        let Some(namespace) = visible
            .filter(|n| {
                let zone = n.name.to_ascii_lowercase();
                name == zone || name.ends_with(&format!(".{zone}"))
            })
            .max_by_key(|n| n.name.len())
        else {
            return Lookup::NotOurs;
        };
        let zone = namespace.name.to_ascii_lowercase();
        let mut found = false;
        let mut answers = vec![];
        for service in self
            .services
            .values()
            .filter(|s| s.namespace_id == namespace.id)
        {
            let Some(config) = &service.dns_config else {
                continue;
            };
            let service_name = format!("{}.{zone}", service.name.to_ascii_lowercase());
            let ttl = |kind: &str| {
                config
                    .records
                    .iter()
                    .find(|r| r.kind == kind)
                    .map(|r| r.ttl.clamp(0, i64::from(u32::MAX)) as u32)
            };
            let (a_ttl, srv_ttl) = (ttl("A"), ttl("SRV"));
            let mut instances: Vec<_> = service
                .instances
                .values()
                .filter(|i| service.health_of(i) == HealthStatus::Healthy)
                .collect();
            if instances.is_empty() {
                instances = service.instances.values().collect();
            }
            let ipv4 = |i: &super::Instance| {
                i.attributes
                    .get("AWS_INSTANCE_IPV4")
                    .and_then(|ip| ip.parse::<Ipv4Addr>().ok())
            };
            if name == service_name {
                found = true;
                for instance in &instances {
                    match (kind, a_ttl, srv_ttl) {
                        (QueryType::A, Some(ttl), _) => {
                            if let Some(ip) = ipv4(instance) {
                                answers.push(Answer::A { ip, ttl });
                            }
                        }
                        (QueryType::Srv, _, Some(ttl)) => {
                            let port = instance
                                .attributes
                                .get("AWS_INSTANCE_PORT")
                                .and_then(|p| p.parse().ok());
                            if let Some(port) = port {
                                answers.push(Answer::Srv {
                                    priority: 1,
                                    weight: 1,
                                    port,
                                    target: format!("{}.{service_name}", instance.id),
                                    ttl,
                                });
                            }
                        }
                        _ => {}
                    }
                }
                continue;
            }
            let Some(srv_ttl) = srv_ttl else {
                continue;
            };
            for instance in service.instances.values() {
                if name == format!("{}.{service_name}", instance.id.to_ascii_lowercase()) {
                    found = true;
                    if let (QueryType::A, Some(ip)) = (kind, ipv4(instance)) {
                        answers.push(Answer::A { ip, ttl: srv_ttl });
                    }
                }
            }
        }
        if found || name == zone {
            Lookup::Records(answers)
        } else {
            Lookup::NoSuchName
        }
    }
}

/// A private namespace is seen from its VPC; a public one from anywhere.
fn sees(namespace: &super::Namespace, vpc: &str) -> bool {
    match namespace.kind {
        NamespaceType::DnsPrivate => namespace.vpc.as_deref() == Some(vpc),
        NamespaceType::DnsPublic => true,
        NamespaceType::Http => false,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::domain::servicediscovery::{DnsConfig, DnsRecord, NamespaceRequest, ServiceRequest};

    /// A private namespace `shop.internal` in `vpc-1` with service
    /// `backend` (A and SRV records) holding two instances.
    fn cloud_map() -> ServiceDiscoveryState {
        let now = time::OffsetDateTime::now_utc();
        let mut state = ServiceDiscoveryState::default();
        let request = NamespaceRequest {
            kind: NamespaceType::DnsPrivate,
            name: "shop.internal".into(),
            creator_request_id: None,
            description: None,
            vpc: Some("vpc-1".into()),
            soa_ttl: None,
            tags: vec![],
        };
        state
            .create_namespace(request, "us-east-1", "000000000000", now)
            .unwrap();
        let namespace_id = state.namespaces.values().next().unwrap().id.clone();
        let records = ["A", "SRV"]
            .map(|kind| DnsRecord {
                kind: kind.into(),
                ttl: 10,
            })
            .to_vec();
        let service = state
            .create_service(
                ServiceRequest {
                    name: "backend".into(),
                    namespace_id: Some(namespace_id),
                    dns_config: Some(DnsConfig {
                        routing_policy: "MULTIVALUE".into(),
                        records,
                    }),
                    ..Default::default()
                },
                "us-east-1",
                "000000000000",
                now,
            )
            .unwrap();
        for (id, ip) in [("t1", "10.0.0.5"), ("t2", "10.0.0.6")] {
            let attrs = BTreeMap::from([
                ("AWS_INSTANCE_IPV4".to_string(), ip.to_string()),
                ("AWS_INSTANCE_PORT".to_string(), "8080".to_string()),
            ]);
            state
                .register_instance(&service.id, id, None, attrs, now)
                .unwrap();
        }
        state
    }

    #[test]
    fn a_and_srv_records_follow_cloud_map() {
        let state = cloud_map();
        let Lookup::Records(a) = state.dns_lookup("vpc-1", "Backend.shop.internal.", QueryType::A)
        else {
            panic!("the service name is ours");
        };
        assert_eq!(
            a,
            [
                Answer::A {
                    ip: Ipv4Addr::new(10, 0, 0, 5),
                    ttl: 10
                },
                Answer::A {
                    ip: Ipv4Addr::new(10, 0, 0, 6),
                    ttl: 10
                },
            ]
        );
        let Lookup::Records(srv) =
            state.dns_lookup("vpc-1", "backend.shop.internal", QueryType::Srv)
        else {
            panic!("the service name is ours");
        };
        assert_eq!(
            srv[0],
            Answer::Srv {
                priority: 1,
                weight: 1,
                port: 8080,
                target: "t1.backend.shop.internal".into(),
                ttl: 10
            }
        );
        assert_eq!(
            state.dns_lookup("vpc-1", "t2.backend.shop.internal", QueryType::A),
            Lookup::Records(vec![Answer::A {
                ip: Ipv4Addr::new(10, 0, 0, 6),
                ttl: 10
            }])
        );
    }

    #[test]
    fn other_names_and_vpcs_are_not_answered() {
        let state = cloud_map();
        assert_eq!(
            state.dns_lookup("vpc-1", "nope.shop.internal", QueryType::A),
            Lookup::NoSuchName
        );
        assert_eq!(
            state.dns_lookup("vpc-1", "example.com", QueryType::A),
            Lookup::NotOurs
        );
        assert_eq!(
            state.dns_lookup("vpc-2", "backend.shop.internal", QueryType::A),
            Lookup::NotOurs
        );
        assert_eq!(
            state.dns_lookup("vpc-1", "shop.internal", QueryType::Other),
            Lookup::Records(vec![])
        );
    }
}
