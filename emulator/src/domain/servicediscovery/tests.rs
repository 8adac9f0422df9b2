use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::*;

const REGION: &str = "us-east-1";
const ACCOUNT: &str = "000000000000";

fn now() -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::days(20_000)
}

fn namespace_request(kind: NamespaceType, name: &str) -> NamespaceRequest {
    NamespaceRequest {
        kind,
        name: name.into(),
        creator_request_id: None,
        description: None,
        vpc: (kind == NamespaceType::DnsPrivate).then(|| "vpc-1".into()),
        soa_ttl: None,
        tags: Vec::new(),
    }
}

/// Creates the namespace and returns its id.
fn create_namespace(state: &mut ServiceDiscoveryState, request: NamespaceRequest) -> String {
    let operation = state
        .create_namespace(request, REGION, ACCOUNT, now())
        .unwrap();
    state.operation(&operation).unwrap().targets["NAMESPACE"].clone()
}

fn http_namespace(state: &mut ServiceDiscoveryState, name: &str) -> String {
    create_namespace(state, namespace_request(NamespaceType::Http, name))
}

fn service(state: &mut ServiceDiscoveryState, namespace_id: &str, custom: bool) -> String {
    state
        .create_service(
            ServiceRequest {
                name: "web".into(),
                namespace_id: Some(namespace_id.into()),
                custom_health_check: custom.then_some(None),
                ..Default::default()
            },
            REGION,
            ACCOUNT,
            now(),
        )
        .unwrap()
        .id
}

fn attrs(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn discovered_ids(state: &ServiceDiscoveryState, query: &DiscoverQuery) -> Vec<String> {
    state
        .discover_instances(query)
        .unwrap()
        .instances
        .into_iter()
        .map(|(i, _)| i.id)
        .collect()
}

#[test]
fn ids_and_arns_have_aws_form() {
    let mut state = ServiceDiscoveryState::default();
    let ns = http_namespace(&mut state, "shop");
    let suffix = ns.strip_prefix("ns-").unwrap();
    assert_eq!(suffix.len(), 16);
    assert!(suffix
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
    assert_eq!(
        state.namespace(&ns).unwrap().arn,
        format!("arn:aws:servicediscovery:{REGION}:{ACCOUNT}:namespace/{ns}")
    );
    let srv = service(&mut state, &ns, false);
    assert_eq!(srv.len(), 4 + 16);
    let arn = state.service(&srv).unwrap().arn.clone();
    assert_eq!(
        arn,
        format!("arn:aws:servicediscovery:{REGION}:{ACCOUNT}:service/{srv}")
    );
    assert_eq!(state.service_by_arn(&arn).unwrap().id, srv);
    assert_eq!(state.service(&arn).unwrap().id, srv);
}

#[test]
fn names_are_validated() {
    use namespaces::validate_namespace_name;
    assert!(validate_namespace_name(NamespaceType::Http, "my-app_1").is_ok());
    assert!(validate_namespace_name(NamespaceType::Http, "arn:aws:x").is_err());
    assert!(validate_namespace_name(NamespaceType::Http, "has space").is_err());
    assert!(validate_namespace_name(NamespaceType::Http, "").is_err());
    assert!(validate_namespace_name(NamespaceType::Http, &"a".repeat(1025)).is_err());
    assert!(validate_namespace_name(NamespaceType::DnsPublic, "example.com").is_ok());
    assert!(validate_namespace_name(NamespaceType::DnsPublic, "example").is_err());
    assert!(validate_namespace_name(NamespaceType::DnsPublic, "-bad.com").is_err());
    assert!(validate_namespace_name(NamespaceType::DnsPrivate, &"a".repeat(254)).is_err());

    use services::validate_service_name;
    for good in ["web", "a", "_http._tcp", "my-service", "."] {
        assert!(validate_service_name(good).is_ok(), "{good}");
    }
    for bad in ["", "-web", "web-", "a..b", "has space", &"a".repeat(128)] {
        assert!(validate_service_name(bad).is_err(), "{bad}");
    }
    assert!(instances::validate_instance_id("i-0123/x:y.z@w_v").is_ok());
    assert!(instances::validate_instance_id("bad id").is_err());
}

#[test]
fn namespace_names_are_unique_and_repeats_are_idempotent() {
    let mut state = ServiceDiscoveryState::default();
    let request = NamespaceRequest {
        creator_request_id: Some("req-1".into()),
        ..namespace_request(NamespaceType::DnsPrivate, "internal")
    };
    let first = state
        .create_namespace(request.clone(), REGION, ACCOUNT, now())
        .unwrap();
    let again = state
        .create_namespace(request.clone(), REGION, ACCOUNT, now())
        .unwrap();
    assert_eq!(first, again);
    let other = NamespaceRequest {
        creator_request_id: Some("req-2".into()),
        ..request.clone()
    };
    let e = state
        .create_namespace(other, REGION, ACCOUNT, now())
        .unwrap_err();
    assert_eq!(e.code(), "NamespaceAlreadyExists");
    let no_vpc = NamespaceRequest {
        name: "other".into(),
        vpc: None,
        ..request
    };
    let e = state
        .create_namespace(no_vpc, REGION, ACCOUNT, now())
        .unwrap_err();
    assert_eq!(e.code(), "InvalidInput");
}

#[test]
fn delete_refuses_resources_in_use() {
    let mut state = ServiceDiscoveryState::default();
    let ns = http_namespace(&mut state, "shop");
    let srv = service(&mut state, &ns, false);
    assert_eq!(
        state.delete_namespace(&ns, now()).unwrap_err().code(),
        "ResourceInUse"
    );
    state
        .register_instance(&srv, "i-1", None, attrs(&[("a", "b")]), now())
        .unwrap();
    assert_eq!(
        state.delete_service(&srv).unwrap_err().code(),
        "ResourceInUse"
    );
    state.deregister_instance(&srv, "i-1", now()).unwrap();
    assert_eq!(
        state
            .deregister_instance(&srv, "i-1", now())
            .unwrap_err()
            .code(),
        "InstanceNotFound"
    );
    state.delete_service(&srv).unwrap();
    let op = state.delete_namespace(&ns, now()).unwrap();
    assert_eq!(
        state.operation(&op).unwrap().kind,
        OperationType::DeleteNamespace
    );
    assert_eq!(
        state.namespace(&ns).unwrap_err().code(),
        "NamespaceNotFound"
    );
}

#[test]
fn duplicate_service_names_are_refused() {
    let mut state = ServiceDiscoveryState::default();
    let ns = http_namespace(&mut state, "shop");
    service(&mut state, &ns, false);
    let e = state
        .create_service(
            ServiceRequest {
                name: "web".into(),
                namespace_id: Some(ns),
                ..Default::default()
            },
            REGION,
            ACCOUNT,
            now(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "ServiceAlreadyExists");
}

#[test]
fn discovery_filters_by_query_and_optional_parameters() {
    let mut state = ServiceDiscoveryState::default();
    let ns = http_namespace(&mut state, "shop");
    let srv = service(&mut state, &ns, false);
    for (id, version, az) in [("i-1", "v1", "a"), ("i-2", "v1", "b"), ("i-3", "v2", "a")] {
        state
            .register_instance(
                &srv,
                id,
                None,
                attrs(&[("version", version), ("az", az)]),
                now(),
            )
            .unwrap();
    }
    let query = |q: &[(&str, &str)], o: &[(&str, &str)]| DiscoverQuery {
        namespace_name: "shop".into(),
        service_name: "web".into(),
        query_parameters: attrs(q),
        optional_parameters: attrs(o),
        ..Default::default()
    };
    assert_eq!(
        discovered_ids(&state, &query(&[], &[])),
        ["i-1", "i-2", "i-3"]
    );
    assert_eq!(
        discovered_ids(&state, &query(&[("version", "v1")], &[])),
        ["i-1", "i-2"]
    );
    assert_eq!(
        discovered_ids(&state, &query(&[("version", "v1")], &[("az", "b")])),
        ["i-2"]
    );
    // Optional parameters nobody matches are dropped.
    assert_eq!(
        discovered_ids(&state, &query(&[("version", "v1")], &[("az", "z")])),
        ["i-1", "i-2"]
    );
    assert!(discovered_ids(&state, &query(&[("version", "v9")], &[])).is_empty());
    let limited = DiscoverQuery {
        max_results: Some(1),
        ..query(&[], &[])
    };
    assert_eq!(discovered_ids(&state, &limited), ["i-1"]);
    let missing = DiscoverQuery {
        service_name: "nope".into(),
        ..query(&[], &[])
    };
    assert_eq!(
        state.discover_instances(&missing).unwrap_err().code(),
        "ServiceNotFound"
    );
    let missing = DiscoverQuery {
        namespace_name: "nope".into(),
        ..query(&[], &[])
    };
    assert_eq!(
        state.discover_instances(&missing).unwrap_err().code(),
        "NamespaceNotFound"
    );
}

#[test]
fn discovery_filters_by_custom_health() {
    let mut state = ServiceDiscoveryState::default();
    let ns = http_namespace(&mut state, "shop");
    let srv = service(&mut state, &ns, true);
    state
        .register_instance(&srv, "i-1", None, attrs(&[]), now())
        .unwrap();
    state
        .register_instance(
            &srv,
            "i-2",
            None,
            attrs(&[(instances::INIT_HEALTH_STATUS, "UNHEALTHY")]),
            now(),
        )
        .unwrap();
    let query = |health| DiscoverQuery {
        namespace_name: "shop".into(),
        service_name: "web".into(),
        health,
        ..Default::default()
    };
    assert_eq!(
        discovered_ids(&state, &query(HealthFilter::Healthy)),
        ["i-1"]
    );
    assert_eq!(
        discovered_ids(&state, &query(HealthFilter::Unhealthy)),
        ["i-2"]
    );
    assert_eq!(
        discovered_ids(&state, &query(HealthFilter::All)),
        ["i-1", "i-2"]
    );
    assert_eq!(
        discovered_ids(&state, &query(HealthFilter::HealthyOrElseAll)),
        ["i-1"]
    );
    let revision = state.service(&srv).unwrap().revision;
    state
        .update_custom_health(&srv, "i-1", HealthStatus::Unhealthy)
        .unwrap();
    assert!(state.service(&srv).unwrap().revision > revision);
    assert!(discovered_ids(&state, &query(HealthFilter::Healthy)).is_empty());
    assert_eq!(
        discovered_ids(&state, &query(HealthFilter::HealthyOrElseAll)),
        ["i-1", "i-2"]
    );
    // Without a health check the filter is ignored and all are healthy.
    let plain = state
        .create_service(
            ServiceRequest {
                name: "plain".into(),
                namespace_id: Some(ns),
                ..Default::default()
            },
            REGION,
            ACCOUNT,
            now(),
        )
        .unwrap()
        .id;
    state
        .register_instance(&plain, "i-9", None, attrs(&[]), now())
        .unwrap();
    let unhealthy = DiscoverQuery {
        service_name: "plain".into(),
        ..query(HealthFilter::Unhealthy)
    };
    assert_eq!(discovered_ids(&state, &unhealthy), ["i-9"]);
    assert_eq!(
        state
            .update_custom_health(&plain, "i-9", HealthStatus::Healthy)
            .unwrap_err()
            .code(),
        "CustomHealthNotFound"
    );
}

#[test]
fn reregistering_updates_the_instance() {
    let mut state = ServiceDiscoveryState::default();
    let ns = http_namespace(&mut state, "shop");
    let srv = service(&mut state, &ns, false);
    state
        .register_instance(&srv, "i-1", None, attrs(&[("v", "1")]), now())
        .unwrap();
    let op = state
        .register_instance(&srv, "i-1", None, attrs(&[("v", "2")]), now())
        .unwrap();
    let instance = state.instance(&srv, "i-1").unwrap();
    assert_eq!(instance.attributes, attrs(&[("v", "2")]));
    assert_eq!(state.service(&srv).unwrap().instances.len(), 1);
    let operation = state.operation(&op).unwrap();
    assert_eq!(operation.kind, OperationType::RegisterInstance);
    assert_eq!(operation.targets["INSTANCE"], "i-1");
    assert_eq!(operation.targets["SERVICE"], srv);
}

#[test]
fn pagination_and_filters() {
    let items: Vec<u32> = (0..5).collect();
    let (page, next) = paginate(items.clone(), Some(2), 100, None).unwrap();
    assert_eq!((page, next.as_deref()), (vec![0, 1], Some("2")));
    let (page, next) = paginate(items.clone(), Some(2), 100, Some("4")).unwrap();
    assert_eq!((page, next), (vec![4], None));
    assert_eq!(
        paginate(items.clone(), Some(0), 100, None)
            .unwrap_err()
            .code(),
        "InvalidInput"
    );
    assert_eq!(
        paginate(items, None, 100, Some("x")).unwrap_err().code(),
        "InvalidInput"
    );

    let mut state = ServiceDiscoveryState::default();
    http_namespace(&mut state, "alpha");
    http_namespace(&mut state, "beta");
    let filter = |name: &str, values: &[&str], condition| {
        Filter::parse(
            name.into(),
            values.iter().map(|v| v.to_string()).collect(),
            condition,
            &namespaces::NAMESPACE_FILTERS,
        )
    };
    let matching = |f: &Filter| -> Vec<String> {
        state
            .namespaces
            .values()
            .filter(|n| n.matches(f))
            .map(|n| n.name.clone())
            .collect()
    };
    assert_eq!(
        matching(&filter("NAME", &["al"], Some("BEGINS_WITH")).unwrap()),
        ["alpha"]
    );
    assert_eq!(
        matching(&filter("HTTP_NAME", &["beta"], None).unwrap()).len(),
        1
    );
    assert_eq!(
        matching(&filter("TYPE", &["HTTP", "DNS_PRIVATE"], Some("IN")).unwrap()).len(),
        2
    );
    assert!(matching(&filter("TYPE", &["DNS_PUBLIC"], None).unwrap()).is_empty());
    assert!(filter("TYPE", &["HTTP"], Some("BEGINS_WITH")).is_err());
    assert!(filter("NAME", &["a", "b"], None).is_err());
    assert!(filter("COLOUR", &["red"], None).is_err());
}

#[test]
fn tags_by_arn() {
    let mut state = ServiceDiscoveryState::default();
    let ns = http_namespace(&mut state, "shop");
    let arn = state.namespace(&ns).unwrap().arn.clone();
    state
        .tag(
            &arn,
            vec![("a".into(), "1".into()), ("b".into(), "2".into())],
        )
        .unwrap();
    state.tag(&arn, vec![("a".into(), "3".into())]).unwrap();
    state.untag(&arn, &["b".into()]).unwrap();
    assert_eq!(
        state.tags(&arn).unwrap(),
        [("a".to_string(), "3".to_string())]
    );
    assert_eq!(
        state
            .tags("arn:aws:servicediscovery:x:y:namespace/ns-x")
            .unwrap_err()
            .code(),
        "ResourceNotFoundException"
    );
    let too_many: Vec<(String, String)> = (0..=MAX_TAGS)
        .map(|i| (i.to_string(), String::new()))
        .collect();
    assert_eq!(
        state.tag(&arn, too_many).unwrap_err().code(),
        "TooManyTagsException"
    );
}

#[test]
fn namespaces_are_found_by_arn_too() {
    let mut state = ServiceDiscoveryState::default();
    let ns = http_namespace(&mut state, "shop");
    let arn = state.namespace(&ns).unwrap().arn.clone();
    let srv = service(&mut state, &arn, false);
    assert_eq!(state.service(&srv).unwrap().namespace_id, ns);
    assert_eq!(state.service_count(&ns), 1);
    state.delete_service(&srv).unwrap();
    state.delete_namespace(&arn, now()).unwrap();
    assert!(state.namespaces.is_empty());
}

#[test]
fn state_round_trips_through_borsh() {
    let mut state = ServiceDiscoveryState::default();
    let ns = http_namespace(&mut state, "shop");
    let srv = service(&mut state, &ns, true);
    state
        .register_instance(&srv, "i-1", Some("req".into()), attrs(&[("a", "b")]), now())
        .unwrap();
    let bytes = borsh::to_vec(&state).unwrap();
    let back: ServiceDiscoveryState = borsh::from_slice(&bytes).unwrap();
    assert_eq!(borsh::to_vec(&back).unwrap(), bytes);
    assert_eq!(
        back.instance(&srv, "i-1").unwrap().attributes,
        attrs(&[("a", "b")])
    );
    assert_eq!(back.operations.len(), state.operations.len());
}

#[test]
fn service_shapes_follow_the_namespace() {
    let mut state = ServiceDiscoveryState::default();
    let http = http_namespace(&mut state, "shop");
    let dns = create_namespace(
        &mut state,
        namespace_request(NamespaceType::DnsPrivate, "internal.local"),
    );
    let a_record = DnsConfig {
        routing_policy: "MULTIVALUE".into(),
        records: vec![DnsRecord {
            kind: "A".into(),
            ttl: 60,
        }],
    };
    let request = |namespace: &str, dns_config: Option<DnsConfig>| ServiceRequest {
        name: "api".into(),
        namespace_id: Some(namespace.into()),
        dns_config,
        ..Default::default()
    };
    let e = state
        .create_service(
            request(&http, Some(a_record.clone())),
            REGION,
            ACCOUNT,
            now(),
        )
        .unwrap_err();
    assert_eq!(e.code(), "InvalidInput");
    let dns_http = state
        .create_service(request(&dns, Some(a_record)), REGION, ACCOUNT, now())
        .unwrap();
    assert_eq!(dns_http.kind, ServiceType::DnsHttp);
    // An A record needs the instance's IPv4 address.
    let e = state
        .register_instance(&dns_http.id, "i-1", None, attrs(&[]), now())
        .unwrap_err();
    assert_eq!(e.code(), "InvalidInput");
    state
        .register_instance(
            &dns_http.id,
            "i-1",
            None,
            attrs(&[("AWS_INSTANCE_IPV4", "10.0.0.1")]),
            now(),
        )
        .unwrap();
    let health_check = ServiceRequest {
        name: "checked".into(),
        health_check: Some(HealthCheck {
            kind: "HTTP".into(),
            resource_path: Some("/".into()),
            failure_threshold: None,
        }),
        ..request(&dns, None)
    };
    let e = state
        .create_service(health_check, REGION, ACCOUNT, now())
        .unwrap_err();
    assert_eq!(
        e.code(),
        "InvalidInput",
        "Route 53 health checks need a public namespace"
    );
}

#[test]
fn operations_filter_by_type_target_and_update_date() {
    let mut state = ServiceDiscoveryState::default();
    let ns = http_namespace(&mut state, "shop");
    let srv = service(&mut state, &ns, false);
    state
        .register_instance(&srv, "i-1", None, attrs(&[]), now())
        .unwrap();
    let filter = |name: &str, values: &[&str], condition| {
        Filter::parse(
            name.into(),
            values.iter().map(|v| v.to_string()).collect(),
            condition,
            &OPERATION_FILTERS,
        )
        .unwrap()
    };
    let count = |f: &Filter| {
        state
            .operations
            .iter()
            .filter(|o| o.matches(f).unwrap())
            .count()
    };
    assert_eq!(count(&filter("TYPE", &["REGISTER_INSTANCE"], None)), 1);
    assert_eq!(count(&filter("NAMESPACE_ID", &[&ns], None)), 1);
    assert_eq!(count(&filter("SERVICE_ID", &[&srv], None)), 1);
    assert_eq!(
        count(&filter("STATUS", &["SUCCESS", "FAIL"], Some("IN"))),
        2
    );
    let at = now().unix_timestamp();
    let around = [(at - 1).to_string(), (at + 1).to_string()];
    let around: Vec<&str> = around.iter().map(String::as_str).collect();
    assert_eq!(count(&filter("UPDATE_DATE", &around, Some("BETWEEN"))), 2);
    let before = filter("UPDATE_DATE", &["0", "1"], Some("BETWEEN"));
    assert_eq!(count(&before), 0);
    let garbage = filter("UPDATE_DATE", &["x", "1"], Some("BETWEEN"));
    assert_eq!(
        state.operations[0].matches(&garbage).unwrap_err().code(),
        "InvalidInput"
    );
}
