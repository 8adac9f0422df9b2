//! Cloud Map (service discovery) end to end, through the AWS SDK for Rust:
//! namespaces, their operations, services, instances and discovery, custom
//! health, service attributes, tags and reset. No containers run.

use aws_sdk_servicediscovery::error::ProvideErrorMetadata;
use aws_sdk_servicediscovery::operation::create_http_namespace::CreateHttpNamespaceError;
use aws_sdk_servicediscovery::operation::create_service::CreateServiceError;
use aws_sdk_servicediscovery::types::{
    CustomHealthStatus, DnsConfig, DnsRecord, HealthCheckCustomConfig, HealthStatusFilter,
    Namespace, NamespaceFilter, NamespaceFilterName, OperationFilter, OperationFilterName,
    OperationStatus, OperationTargetType, OperationType, PrivateDnsNamespaceChange, RecordType,
    ServiceFilter, ServiceFilterName, ServiceTypeOption, Tag,
};
use aws_sdk_servicediscovery::Client;
use serde_json::json;
use tests::{unique, TestEmulator};

/// Every Cloud Map action.
const OPERATIONS: [&str; 30] = [
    "CreateHttpNamespace",
    "CreatePrivateDnsNamespace",
    "CreatePublicDnsNamespace",
    "GetNamespace",
    "ListNamespaces",
    "DeleteNamespace",
    "UpdateHttpNamespace",
    "UpdatePrivateDnsNamespace",
    "UpdatePublicDnsNamespace",
    "GetOperation",
    "ListOperations",
    "CreateService",
    "GetService",
    "ListServices",
    "UpdateService",
    "DeleteService",
    "GetServiceAttributes",
    "UpdateServiceAttributes",
    "DeleteServiceAttributes",
    "RegisterInstance",
    "DeregisterInstance",
    "GetInstance",
    "ListInstances",
    "GetInstancesHealthStatus",
    "UpdateInstanceCustomHealthStatus",
    "DiscoverInstances",
    "DiscoverInstancesRevision",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
];

/// The error code of a call expected to fail.
fn code<T, E: ProvideErrorMetadata>(result: Result<T, E>) -> String {
    match result {
        Ok(_) => panic!("the call was expected to fail"),
        Err(e) => e.code().unwrap_or("<no code>").to_string(),
    }
}

/// The namespace id an operation created, after checking it succeeded.
async fn namespace_of(cloud_map: &Client, operation_id: &str) -> String {
    let operation = cloud_map
        .get_operation()
        .operation_id(operation_id)
        .send()
        .await
        .expect("get operation")
        .operation
        .expect("an operation");
    assert_eq!(operation.status, Some(OperationStatus::Success));
    assert_eq!(operation.r#type, Some(OperationType::CreateNamespace));
    assert!(operation.create_date.is_some() && operation.update_date.is_some());
    operation.targets.expect("targets")[&OperationTargetType::Namespace].clone()
}

async fn get_namespace(cloud_map: &Client, id: &str) -> Namespace {
    cloud_map
        .get_namespace()
        .id(id)
        .send()
        .await
        .expect("get namespace")
        .namespace
        .expect("a namespace")
}

async fn register(cloud_map: &Client, service_id: &str, instance_id: &str, version: &str) {
    let out = cloud_map
        .register_instance()
        .service_id(service_id)
        .instance_id(instance_id)
        .attributes("AWS_INSTANCE_IPV4", "10.0.0.1")
        .attributes("version", version)
        .send()
        .await
        .expect("register instance");
    let operation = cloud_map
        .get_operation()
        .operation_id(out.operation_id.expect("an operation id"))
        .send()
        .await
        .expect("get operation")
        .operation
        .expect("an operation");
    assert_eq!(operation.r#type, Some(OperationType::RegisterInstance));
    let targets = operation.targets.expect("targets");
    assert_eq!(targets[&OperationTargetType::Instance], instance_id);
    assert_eq!(targets[&OperationTargetType::Service], service_id);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_service_instances_discovery_and_teardown() {
    let emu = TestEmulator::start().await;
    let cloud_map = &emu.cloud_map;
    let name = unique("shop");

    let created = cloud_map
        .create_http_namespace()
        .name(&name)
        .description("the shop")
        .tags(Tag::builder().key("team").value("web").build().unwrap())
        .send()
        .await
        .expect("create namespace");
    let ns_id = namespace_of(cloud_map, created.operation_id().expect("an operation id")).await;
    assert!(ns_id.starts_with("ns-") && ns_id.len() == 19, "{ns_id}");

    let namespace = get_namespace(cloud_map, &ns_id).await;
    assert_eq!(namespace.name(), Some(name.as_str()));
    assert_eq!(namespace.r#type().map(|t| t.as_str()), Some("HTTP"));
    assert_eq!(namespace.service_count, Some(0));
    let ns_arn = namespace.arn().expect("an ARN").to_string();
    assert_eq!(
        ns_arn,
        format!("arn:aws:servicediscovery:us-east-1:000000000000:namespace/{ns_id}")
    );
    let http_name = namespace
        .properties()
        .and_then(|p| p.http_properties())
        .and_then(|h| h.http_name());
    assert_eq!(http_name, Some(name.as_str()));
    let tags = cloud_map
        .list_tags_for_resource()
        .resource_arn(&ns_arn)
        .send()
        .await
        .expect("list tags");
    assert_eq!(tags.tags().len(), 1);

    let listed = cloud_map
        .list_namespaces()
        .filters(
            NamespaceFilter::builder()
                .name(NamespaceFilterName::Name)
                .values(&name)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("list namespaces");
    assert_eq!(listed.namespaces().len(), 1);
    assert_eq!(listed.namespaces()[0].id(), Some(ns_id.as_str()));

    let service = cloud_map
        .create_service()
        .name("web")
        .namespace_id(&ns_id)
        .send()
        .await
        .expect("create service")
        .service
        .expect("a service");
    let srv_id = service.id().expect("an id").to_string();
    assert!(srv_id.starts_with("srv-") && srv_id.len() == 20, "{srv_id}");
    assert_eq!(service.r#type().map(|t| t.as_str()), Some("HTTP"));
    let again = cloud_map
        .create_service()
        .name("web")
        .namespace_id(&ns_id)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let CreateServiceError::ServiceAlreadyExists(exists) = again else {
        panic!("expected ServiceAlreadyExists, got {again:?}");
    };
    assert_eq!(exists.service_id(), Some(srv_id.as_str()));
    let services = cloud_map
        .list_services()
        .filters(
            ServiceFilter::builder()
                .name(ServiceFilterName::NamespaceId)
                .values(&ns_id)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("list services");
    assert_eq!(services.services().len(), 1);

    register(cloud_map, &srv_id, "i-1", "v1").await;
    register(cloud_map, &srv_id, "i-2", "v2").await;
    let instances = cloud_map
        .list_instances()
        .service_id(&srv_id)
        .send()
        .await
        .expect("list instances");
    let mut ids: Vec<&str> = instances
        .instances()
        .iter()
        .filter_map(|i| i.id())
        .collect();
    ids.sort();
    assert_eq!(ids, ["i-1", "i-2"]);

    let found = cloud_map
        .discover_instances()
        .namespace_name(&name)
        .service_name("web")
        .query_parameters("version", "v2")
        .health_status(HealthStatusFilter::All)
        .send()
        .await
        .expect("discover instances");
    assert_eq!(found.instances().len(), 1);
    let instance = &found.instances()[0];
    assert_eq!(instance.instance_id(), Some("i-2"));
    assert_eq!(instance.namespace_name(), Some(name.as_str()));
    assert_eq!(instance.service_name(), Some("web"));
    assert_eq!(
        instance.health_status().map(|h| h.as_str()),
        Some("HEALTHY")
    );
    assert_eq!(
        instance
            .attributes()
            .and_then(|a| a.get("version"))
            .map(String::as_str),
        Some("v2")
    );
    let revision = found.instances_revision.expect("a revision");

    // The wire shape, without the SDK in between.
    let (status, body) = tests::post_json(
        emu.addr(),
        "Route53AutoNaming_v20170314.DiscoverInstances",
        json!({ "NamespaceName": name, "ServiceName": "web" }),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["Instances"].as_array().map(Vec::len), Some(2));
    assert_eq!(body["InstancesRevision"], json!(revision));

    let deregistered = cloud_map
        .deregister_instance()
        .service_id(&srv_id)
        .instance_id("i-1")
        .send()
        .await
        .expect("deregister instance");
    assert!(deregistered.operation_id.is_some());
    let after = cloud_map
        .discover_instances_revision()
        .namespace_name(&name)
        .service_name("web")
        .send()
        .await
        .expect("discover revision");
    assert!(after.instances_revision.expect("a revision") > revision);

    let in_use = cloud_map.delete_service().id(&srv_id).send().await;
    assert_eq!(code(in_use), "ResourceInUse");
    let in_use = cloud_map.delete_namespace().id(&ns_id).send().await;
    assert_eq!(code(in_use), "ResourceInUse");
    cloud_map
        .deregister_instance()
        .service_id(&srv_id)
        .instance_id("i-2")
        .send()
        .await
        .expect("deregister instance");
    cloud_map
        .delete_service()
        .id(&srv_id)
        .send()
        .await
        .expect("delete service");
    cloud_map
        .delete_namespace()
        .id(&ns_id)
        .send()
        .await
        .expect("delete namespace");
    let gone = cloud_map.get_namespace().id(&ns_id).send().await;
    assert_eq!(code(gone), "NamespaceNotFound");
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_come_in_aws_shapes() {
    let emu = TestEmulator::start().await;
    let cloud_map = &emu.cloud_map;

    let missing = cloud_map
        .get_namespace()
        .id("ns-0000000000000000")
        .send()
        .await;
    assert_eq!(code(missing), "NamespaceNotFound");
    let missing = cloud_map
        .create_service()
        .name("web")
        .namespace_id("ns-0000000000000000")
        .send()
        .await;
    assert_eq!(code(missing), "NamespaceNotFound");
    let missing = cloud_map
        .get_service()
        .id("srv-0000000000000000")
        .send()
        .await;
    assert_eq!(code(missing), "ServiceNotFound");
    let missing = cloud_map.get_operation().operation_id("nope").send().await;
    assert_eq!(code(missing), "OperationNotFound");

    let name = unique("dup");
    let created = cloud_map
        .create_http_namespace()
        .name(&name)
        .send()
        .await
        .expect("create namespace");
    let ns_id = namespace_of(cloud_map, created.operation_id().expect("an operation id")).await;
    let again = cloud_map
        .create_http_namespace()
        .name(&name)
        .send()
        .await
        .unwrap_err()
        .into_service_error();
    let CreateHttpNamespaceError::NamespaceAlreadyExists(exists) = again else {
        panic!("expected NamespaceAlreadyExists, got {again:?}");
    };
    assert_eq!(exists.namespace_id(), Some(ns_id.as_str()));
    let no_vpc = tests::post_json(
        emu.addr(),
        "Route53AutoNaming_v20170314.CreatePrivateDnsNamespace",
        json!({ "Name": unique("private") }),
    )
    .await;
    assert_eq!(
        (no_vpc.0, no_vpc.1["__type"].as_str()),
        (400, Some("InvalidInput"))
    );
    let bad_name = cloud_map
        .create_public_dns_namespace()
        .name("not a domain")
        .send()
        .await;
    assert_eq!(code(bad_name), "InvalidInput");
    let malformed = tests::post(
        emu.addr(),
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", "Route53AutoNaming_v20170314.ListNamespaces"),
        ],
        "{\"MaxResults\": \"many\"}",
    )
    .await;
    assert_eq!(malformed.status, 400);
    assert!(
        malformed.body.contains("InvalidInput"),
        "{}",
        malformed.body
    );

    // Every action answers bad input with a client error, never a fault.
    for operation in OPERATIONS {
        for body in [
            json!({}),
            json!([]),
            json!({ "Id": 5, "ServiceId": [], "NamespaceName": {}, "MaxResults": -1 }),
        ] {
            let (status, answer) = tests::post_json(
                emu.addr(),
                &format!("Route53AutoNaming_v20170314.{operation}"),
                body.clone(),
            )
            .await;
            let kind = answer["__type"].as_str().unwrap_or_default();
            let listing = operation.starts_with("List") && body == json!({});
            assert!(
                (status == 400 && !kind.is_empty()) || (status == 200 && listing),
                "{operation} {body}: {status} {answer}"
            );
        }
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn custom_health_attributes_operations_and_tags() {
    let emu = TestEmulator::start().await;
    let cloud_map = &emu.cloud_map;
    let name = format!("{}.local", unique("internal"));

    let created = cloud_map
        .create_private_dns_namespace()
        .name(&name)
        .vpc("vpc-12345678")
        .send()
        .await
        .expect("create private DNS namespace");
    let ns_id = namespace_of(cloud_map, created.operation_id().expect("an operation id")).await;
    let namespace = get_namespace(cloud_map, &ns_id).await;
    assert_eq!(namespace.r#type().map(|t| t.as_str()), Some("DNS_PRIVATE"));
    let dns = namespace
        .properties()
        .and_then(|p| p.dns_properties())
        .expect("DNS properties");
    assert!(dns.hosted_zone_id().is_some_and(|z| z.starts_with('Z')));
    let updated = cloud_map
        .update_private_dns_namespace()
        .id(&ns_id)
        .namespace(
            PrivateDnsNamespaceChange::builder()
                .description("changed")
                .build(),
        )
        .send()
        .await
        .expect("update namespace");
    assert!(updated.operation_id.is_some());

    let service = cloud_map
        .create_service()
        .name("api")
        .namespace_id(&ns_id)
        .dns_config(
            DnsConfig::builder()
                .dns_records(
                    DnsRecord::builder()
                        .r#type(RecordType::A)
                        .ttl(60)
                        .build()
                        .unwrap(),
                )
                .build()
                .unwrap(),
        )
        .health_check_custom_config(HealthCheckCustomConfig::builder().build())
        .send()
        .await
        .expect("create service")
        .service
        .expect("a service");
    assert_eq!(service.r#type().map(|t| t.as_str()), Some("DNS_HTTP"));
    let srv_id = service.id().expect("an id").to_string();
    let srv_arn = service.arn().expect("an ARN").to_string();

    register(cloud_map, &srv_id, "i-1", "v1").await;
    register(cloud_map, &srv_id, "i-2", "v1").await;
    cloud_map
        .update_instance_custom_health_status()
        .service_id(&srv_id)
        .instance_id("i-2")
        .status(CustomHealthStatus::Unhealthy)
        .send()
        .await
        .expect("update custom health");
    let health = cloud_map
        .get_instances_health_status()
        .service_id(&srv_id)
        .send()
        .await
        .expect("health status");
    let status = health.status().expect("a status map");
    assert_eq!(status["i-1"].as_str(), "HEALTHY");
    assert_eq!(status["i-2"].as_str(), "UNHEALTHY");
    let healthy = cloud_map
        .discover_instances()
        .namespace_name(&name)
        .service_name("api")
        .health_status(HealthStatusFilter::Healthy)
        .send()
        .await
        .expect("discover healthy");
    let ids: Vec<&str> = healthy
        .instances()
        .iter()
        .filter_map(|i| i.instance_id())
        .collect();
    assert_eq!(ids, ["i-1"]);

    cloud_map
        .update_service_attributes()
        .service_id(&srv_id)
        .attributes("owner", "team-a")
        .attributes("tier", "1")
        .send()
        .await
        .expect("update service attributes");
    cloud_map
        .delete_service_attributes()
        .service_id(&srv_id)
        .attributes("tier")
        .send()
        .await
        .expect("delete service attributes");
    let attributes = cloud_map
        .get_service_attributes()
        .service_id(&srv_id)
        .send()
        .await
        .expect("get service attributes")
        .service_attributes
        .expect("service attributes");
    assert_eq!(attributes.service_arn(), Some(srv_arn.as_str()));
    let map = attributes.attributes().expect("attributes");
    assert_eq!(map.len(), 1);
    assert_eq!(map["owner"], "team-a");

    cloud_map
        .tag_resource()
        .resource_arn(&srv_arn)
        .tags(Tag::builder().key("env").value("dev").build().unwrap())
        .tags(Tag::builder().key("cost").value("1").build().unwrap())
        .send()
        .await
        .expect("tag");
    cloud_map
        .untag_resource()
        .resource_arn(&srv_arn)
        .tag_keys("cost")
        .send()
        .await
        .expect("untag");
    let tags = cloud_map
        .list_tags_for_resource()
        .resource_arn(&srv_arn)
        .send()
        .await
        .expect("list tags");
    let keys: Vec<&str> = tags.tags().iter().map(|t| t.key()).collect();
    assert_eq!(keys, ["env"]);
    let unknown = cloud_map
        .list_tags_for_resource()
        .resource_arn(srv_arn.replace(&srv_id, "srv-0000000000000000"))
        .send()
        .await;
    assert_eq!(code(unknown), "ResourceNotFoundException");

    let registrations = cloud_map
        .list_operations()
        .filters(
            OperationFilter::builder()
                .name(OperationFilterName::Type)
                .values("REGISTER_INSTANCE")
                .build()
                .unwrap(),
        )
        .filters(
            OperationFilter::builder()
                .name(OperationFilterName::ServiceId)
                .values(&srv_id)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("list operations");
    assert_eq!(registrations.operations().len(), 2);
    assert!(registrations
        .operations()
        .iter()
        .all(|o| o.status() == Some(&OperationStatus::Success)));

    // Without HealthCheckCustomConfig there is no custom health to set.
    let plain = cloud_map
        .create_service()
        .name("plain")
        .namespace_id(&ns_id)
        .r#type(ServiceTypeOption::Http)
        .send()
        .await
        .expect("create service")
        .service
        .expect("a service");
    let plain_id = plain.id().expect("an id");
    cloud_map
        .register_instance()
        .service_id(plain_id)
        .instance_id("i-9")
        .attributes("k", "v")
        .send()
        .await
        .expect("register");
    let refused = cloud_map
        .update_instance_custom_health_status()
        .service_id(plain_id)
        .instance_id("i-9")
        .status(CustomHealthStatus::Healthy)
        .send()
        .await;
    assert_eq!(code(refused), "CustomHealthNotFound");

    let (status, _) =
        tests::http_request("POST", &format!("{}/_emulator/reset", emu.endpoint_url()))
            .await
            .expect("reset answers");
    assert_eq!(status, 200);
    let after_reset = cloud_map.get_namespace().id(&ns_id).send().await;
    assert_eq!(code(after_reset), "NamespaceNotFound");
    emu.shutdown().await;
}
