//! Listener attributes and security policies through the official
//! `aws-sdk-elasticloadbalancingv2` client: DescribeListenerAttributes and
//! ModifyListenerAttributes against a real listener in front of a real
//! sample-app task, checked by the headers a client sees through the
//! listener; and DescribeSSLPolicies with its filters, paging and errors.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_ecs::client::Waiters;
use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ListenerAttribute, LoadBalancerTypeEnum,
    RuleCondition, TargetDescription,
};
use aws_sdk_elasticloadbalancingv2::Client;
use tests::{alb, ecs, http_exchange, unique, wait_until, TestEmulator};

const WAIT: Duration = Duration::from_secs(60);

const SERVER: &str = "routing.http.response.server.enabled";
const FRAME: &str = "routing.http.response.x_frame_options.header_value";
const HSTS: &str = "routing.http.response.strict_transport_security.header_value";
const ORIGIN: &str = "routing.http.response.access_control_allow_origin.header_value";
const METHODS: &str = "routing.http.response.access_control_allow_methods.header_value";
const MAX_AGE: &str = "routing.http.response.access_control_max_age.header_value";
const NOSNIFF: &str = "routing.http.response.x_content_type_options.header_value";

/// Every key DescribeListenerAttributes returns for an ALB's HTTP listener.
const ALL_KEYS: [&str; 19] = [
    "routing.http.request.x_amzn_mtls_clientcert.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_issuer.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_leaf.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_subject.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_validity.header_name",
    "routing.http.request.x_amzn_tls_cipher_suite.header_name",
    "routing.http.request.x_amzn_tls_version.header_name",
    "routing.http.response.access_control_allow_credentials.header_value",
    "routing.http.response.access_control_allow_headers.header_value",
    METHODS,
    ORIGIN,
    "routing.http.response.access_control_expose_headers.header_value",
    MAX_AGE,
    "routing.http.response.content_security_policy.header_value",
    SERVER,
    HSTS,
    NOSNIFF,
    FRAME,
];

fn attribute(key: &str, value: &str) -> ListenerAttribute {
    ListenerAttribute::builder().key(key).value(value).build()
}

fn as_map(attributes: &[ListenerAttribute]) -> BTreeMap<String, String> {
    attributes
        .iter()
        .map(|a| {
            (
                a.key().unwrap_or_default().to_string(),
                a.value().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn describe(c: &Client, listener_arn: &str) -> BTreeMap<String, String> {
    let out = c
        .describe_listener_attributes()
        .listener_arn(listener_arn)
        .send()
        .await
        .expect("describe listener attributes");
    as_map(out.attributes())
}

async fn modify(
    c: &Client,
    listener_arn: &str,
    changes: &[(&str, &str)],
) -> BTreeMap<String, String> {
    let out = c
        .modify_listener_attributes()
        .listener_arn(listener_arn)
        .set_attributes(Some(changes.iter().map(|(k, v)| attribute(k, v)).collect()))
        .send()
        .await
        .expect("modify listener attributes");
    as_map(out.attributes())
}

/// The code and message of a request that must fail.
fn failure<T: std::fmt::Debug, E: ProvideErrorMetadata>(result: Result<T, E>) -> (String, String) {
    let e = result.expect_err("the request should fail");
    (
        e.code().unwrap_or("<no code>").to_string(),
        e.message().unwrap_or_default().to_string(),
    )
}

/// Status and headers of `GET path` through the listener.
async fn get(base: &str, path: &str) -> (u16, hyper::HeaderMap) {
    let (status, headers, _) = http_exchange("GET", &format!("{base}{path}"))
        .await
        .expect("request through the listener");
    (status, headers)
}

fn header<'a>(headers: &'a hyper::HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Runs one sample-app task and registers it in the ALB's target group;
/// returns once the target is healthy.
async fn sample_target(emu: &TestEmulator, alb: &alb::Alb, family: &str) {
    ecs::register(&emu.ecs, family, vec![ecs::sample_container("app").build()]).await;
    let tasks = ecs::run(&emu.ecs, "default", family, 1).await;
    emu.ecs
        .wait_until_tasks_running()
        .cluster("default")
        .set_tasks(Some(tasks.clone()))
        .wait(WAIT)
        .await
        .expect("the task runs");
    let task = ecs::describe(&emu.ecs, "default", &tasks).await;
    let ip = ecs::private_ip(&task[0]);
    emu.elbv2
        .register_targets()
        .target_group_arn(&alb.target_group_arn)
        .targets(TargetDescription::builder().id(&ip).port(8080).build())
        .send()
        .await
        .expect("register the task");
    wait_until("the task is a healthy target", WAIT, || async {
        let health = alb::target_health(&emu.elbv2, &alb.target_group_arn).await;
        health
            .iter()
            .any(|(id, state, _)| *id == ip && state == "healthy")
            .then_some(())
    })
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn listener_attributes_set_the_headers_clients_see() {
    let emu = TestEmulator::start().await;
    let name = unique("hdr");
    let alb = alb::create(&emu.elbv2, &name).await;
    emu.elbv2
        .create_rule()
        .listener_arn(&alb.listener_arn)
        .priority(1)
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .values("/fixed")
                .build(),
        )
        .actions(
            Action::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    FixedResponseActionConfig::builder()
                        .status_code("200")
                        .content_type("text/plain")
                        .message_body("fixed")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create a fixed-response rule");
    sample_target(&emu, &alb, &name).await;
    let c = &emu.elbv2;
    let base = alb.url();

    // A new listener: every key, AWS's defaults, nothing added.
    let defaults = describe(c, &alb.listener_arn).await;
    assert_eq!(
        defaults.keys().map(String::as_str).collect::<Vec<_>>(),
        ALL_KEYS.to_vec()
    );
    for (key, value) in &defaults {
        let expected = if key == SERVER { "true" } else { "" };
        assert_eq!(value, expected, "{key}");
    }
    let (status, from_target) = get(&base, "/").await;
    assert_eq!(status, 200);
    for name in [
        "x-frame-options",
        "strict-transport-security",
        "access-control-allow-origin",
    ] {
        assert!(from_target.get(name).is_none(), "{name}: {from_target:?}");
    }
    let (status, fixed) = get(&base, "/fixed").await;
    assert_eq!(status, 200);
    assert_eq!(header(&fixed, "server"), Some("awselb/2.0"));

    // Set headers and drop the Server header.
    let hsts = "max-age=31536000; includeSubDomains; preload";
    let changed = modify(
        c,
        &alb.listener_arn,
        &[
            (HSTS, hsts),
            (FRAME, "DENY"),
            (ORIGIN, "https://example.com"),
            (METHODS, "GET, POST"),
            (MAX_AGE, "600"),
            (NOSNIFF, "nosniff"),
            (SERVER, "false"),
        ],
    )
    .await;
    assert_eq!(
        changed.len(),
        ALL_KEYS.len(),
        "Modify answers with every key"
    );
    assert_eq!(changed[FRAME], "DENY");
    assert_eq!(changed[SERVER], "false");
    assert_eq!(describe(c, &alb.listener_arn).await, changed);

    let expected = [
        ("strict-transport-security", hsts),
        ("x-frame-options", "DENY"),
        ("access-control-allow-origin", "https://example.com"),
        ("access-control-allow-methods", "GET, POST"),
        ("access-control-max-age", "600"),
        ("x-content-type-options", "nosniff"),
    ];
    let from_target = wait_until("the target's responses carry the headers", WAIT, || async {
        let (_, headers) = get(&base, "/").await;
        (header(&headers, "x-frame-options") == Some("DENY")).then_some(headers)
    })
    .await;
    for (name, value) in expected {
        assert_eq!(header(&from_target, name), Some(value), "{name}");
        assert_eq!(from_target.get_all(name).iter().count(), 1, "{name} once");
    }
    let (status, fixed) = get(&base, "/fixed").await;
    assert_eq!(status, 200);
    for (name, value) in expected {
        assert_eq!(header(&fixed, name), Some(value), "fixed response: {name}");
    }
    assert!(fixed.get("server").is_none(), "{fixed:?}");

    // An empty value removes a header again; the Server header comes back.
    modify(c, &alb.listener_arn, &[(FRAME, ""), (SERVER, "true")]).await;
    wait_until("X-Frame-Options is gone", WAIT, || async {
        let (_, headers) = get(&base, "/").await;
        headers.get("x-frame-options").is_none().then_some(())
    })
    .await;
    let (_, fixed) = get(&base, "/fixed").await;
    assert_eq!(header(&fixed, "server"), Some("awselb/2.0"));
    assert!(fixed.get("x-frame-options").is_none());
    assert_eq!(header(&fixed, "strict-transport-security"), Some(hsts));
    let now = describe(c, &alb.listener_arn).await;
    assert_eq!((now[FRAME].as_str(), now[SERVER].as_str()), ("", "true"));

    emu.shutdown().await;
}

#[tokio::test]
async fn listener_attribute_errors_match_aws() {
    let emu = TestEmulator::start().await;
    let c = &emu.elbv2;
    let alb = alb::create(c, &unique("hdr-err")).await;
    let listener = alb.listener_arn.as_str();
    let missing = format!("{listener}0");

    let (code, _) = failure(
        c.describe_listener_attributes()
            .listener_arn(&missing)
            .send()
            .await,
    );
    assert_eq!(code, "ListenerNotFound");
    let (code, _) = failure(
        c.modify_listener_attributes()
            .listener_arn(&missing)
            .attributes(attribute(SERVER, "false"))
            .send()
            .await,
    );
    assert_eq!(code, "ListenerNotFound");

    let try_set = |key: &'static str, value: &'static str| async move {
        failure(
            c.modify_listener_attributes()
                .listener_arn(listener)
                .attributes(attribute(key, value))
                .send()
                .await,
        )
    };
    let (code, message) = try_set("routing.http.response.server.enable", "false").await;
    assert_eq!(code, "ValidationError");
    assert_eq!(
        message,
        "Listener attribute key 'routing.http.response.server.enable' is not recognized"
    );
    let (code, message) = try_set("routing http", "1").await;
    assert_eq!(code, "ValidationError");
    assert!(message.contains("regular expression pattern"), "{message}");
    // An NLB listener's attribute.
    let (code, _) = try_set("tcp.idle_timeout.seconds", "350").await;
    assert_eq!(code, "InvalidConfigurationRequest");
    for (key, value) in [
        (SERVER, "no"),
        (FRAME, "ALLOW"),
        (HSTS, "includeSubDomains"),
        (ORIGIN, "example.com"),
        (METHODS, "GET, FETCH"),
        (MAX_AGE, "86401"),
        (NOSNIFF, "sniff"),
        (
            "routing.http.response.access_control_allow_credentials.header_value",
            "false",
        ),
        (
            "routing.http.request.x_amzn_tls_version.header_name",
            "X Tls",
        ),
    ] {
        let (code, message) = try_set(key, value).await;
        assert_eq!(code, "InvalidConfigurationRequest", "{key}={value}");
        assert!(message.contains(key), "{message}");
    }

    // One bad attribute fails the whole request: nothing changes.
    let before = describe(c, listener).await;
    let (code, _) = failure(
        c.modify_listener_attributes()
            .listener_arn(listener)
            .attributes(attribute(FRAME, "DENY"))
            .attributes(attribute(MAX_AGE, "-1"))
            .send()
            .await,
    );
    assert_eq!(code, "InvalidConfigurationRequest");
    assert_eq!(describe(c, listener).await, before);

    emu.shutdown().await;
}

#[tokio::test]
async fn describe_ssl_policies_filters_pages_and_errors() {
    let emu = TestEmulator::start().await;
    let c = &emu.elbv2;

    let all = c
        .describe_ssl_policies()
        .send()
        .await
        .expect("describe SSL policies")
        .ssl_policies()
        .to_vec();
    let names: Vec<&str> = all.iter().filter_map(|p| p.name()).collect();
    for name in [
        "ELBSecurityPolicy-2016-08",
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-PQ-2025-09",
        "ELBSecurityPolicy-TLS13-1-3-FIPS-2023-04",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
        "ELBSecurityPolicy-TLS-1-2-2017-01",
    ] {
        assert!(names.contains(&name), "{name} in {names:?}");
    }
    let default = all
        .iter()
        .find(|p| p.name() == Some("ELBSecurityPolicy-2016-08"))
        .unwrap();
    assert_eq!(default.ssl_protocols(), ["TLSv1", "TLSv1.1", "TLSv1.2"]);
    assert_eq!(
        default.supported_load_balancer_types(),
        ["application", "network"]
    );
    let priorities: Vec<i32> = default
        .ciphers()
        .iter()
        .filter_map(|c| c.priority())
        .collect();
    assert_eq!(priorities, (1..=18).collect::<Vec<_>>());
    assert_eq!(
        default.ciphers()[0].name(),
        Some("ECDHE-ECDSA-AES128-GCM-SHA256")
    );

    // Names: those policies, in the order asked.
    let two = c
        .describe_ssl_policies()
        .names("ELBSecurityPolicy-TLS13-1-2-2021-06")
        .names("ELBSecurityPolicy-2016-08")
        .send()
        .await
        .unwrap();
    let got: Vec<&str> = two.ssl_policies().iter().filter_map(|p| p.name()).collect();
    assert_eq!(
        got,
        [
            "ELBSecurityPolicy-TLS13-1-2-2021-06",
            "ELBSecurityPolicy-2016-08"
        ]
    );
    assert_eq!(
        two.ssl_policies()[0].ssl_protocols(),
        ["TLSv1.2", "TLSv1.3"]
    );
    let (code, message) = failure(
        c.describe_ssl_policies()
            .names("ELBSecurityPolicy-2016-08")
            .names("ELBSecurityPolicy-Nope")
            .send()
            .await,
    );
    assert_eq!(code, "SSLPolicyNotFound");
    assert!(message.contains("ELBSecurityPolicy-Nope"), "{message}");

    // LoadBalancerType: every policy serves ALBs and NLBs, none GWLBs.
    for (lb_type, expected) in [
        (LoadBalancerTypeEnum::Application, all.len()),
        (LoadBalancerTypeEnum::Network, all.len()),
        (LoadBalancerTypeEnum::Gateway, 0),
    ] {
        let out = c
            .describe_ssl_policies()
            .load_balancer_type(lb_type.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(out.ssl_policies().len(), expected, "{lb_type:?}");
    }

    // Paging: 10 at a time gives the same list, each policy once.
    let mut paged = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let out = c
            .describe_ssl_policies()
            .page_size(10)
            .set_marker(marker.clone())
            .send()
            .await
            .unwrap();
        assert!(out.ssl_policies().len() <= 10);
        paged.extend(out.ssl_policies().iter().filter_map(|p| p.name.clone()));
        marker = out.next_marker().map(str::to_string);
        if marker.is_none() {
            break;
        }
    }
    assert!(all.len() > 10, "the table spans pages");
    assert_eq!(paged, names);
    let (code, _) = failure(c.describe_ssl_policies().page_size(401).send().await);
    assert_eq!(code, "ValidationError");

    emu.shutdown().await;
}
