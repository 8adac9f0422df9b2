//! The ELBv2 control API through the official `aws-sdk-elasticloadbalancingv2`
//! client: every action, its defaults, and its main errors. Each test runs
//! its own emulator, with unique names and free ports, so tests run in
//! parallel.

use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ForwardActionConfig,
    HostHeaderConditionConfig, HttpHeaderConditionConfig, HttpRequestMethodConditionConfig,
    LoadBalancerAttribute, LoadBalancerSchemeEnum, LoadBalancerStateEnum, Matcher,
    PathPatternConditionConfig, ProtocolEnum, QueryStringConditionConfig, QueryStringKeyValuePair,
    RedirectActionConfig, RedirectActionStatusCodeEnum, RuleCondition, RulePriorityPair,
    SourceIpConditionConfig, Tag, TargetDescription, TargetGroupAttribute, TargetGroupTuple,
    TargetTypeEnum,
};
use aws_sdk_elasticloadbalancingv2::Client;
use tests::{ports, unique, wait_until, Backend, TestEmulator};

/// The error code of a request that must fail.
fn code<T: std::fmt::Debug, E: ProvideErrorMetadata>(result: Result<T, E>) -> String {
    result
        .expect_err("the request should fail")
        .code()
        .unwrap_or("<no code>")
        .to_string()
}

async fn create_lb(c: &Client, name: &str) -> String {
    let out = c.create_load_balancer().name(name).send().await.unwrap();
    out.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string()
}

async fn create_tg(c: &Client, name: &str, port: i32) -> String {
    let out = c
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(port)
        .target_type(TargetTypeEnum::Ip)
        .vpc_id("vpc-123")
        .send()
        .await
        .unwrap();
    out.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string()
}

fn forward(tg: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(tg)
        .build()
}

fn fixed(status: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::FixedResponse)
        .fixed_response_config(
            FixedResponseActionConfig::builder()
                .status_code(status)
                .content_type("text/plain")
                .message_body("fixed")
                .build(),
        )
        .build()
}

async fn create_listener(c: &Client, lb: &str, port: u16, action: Action) -> String {
    let out = c
        .create_listener()
        .load_balancer_arn(lb)
        .protocol(ProtocolEnum::Http)
        .port(i32::from(port))
        .default_actions(action)
        .send()
        .await
        .unwrap();
    out.listeners()[0].listener_arn().unwrap().to_string()
}

async fn delete_lb(c: &Client, arn: &str) {
    c.delete_load_balancer()
        .load_balancer_arn(arn)
        .send()
        .await
        .unwrap();
}

async fn delete_tg(c: &Client, arn: &str) {
    c.delete_target_group()
        .target_group_arn(arn)
        .send()
        .await
        .unwrap();
}

/// GET `/` of a listener on 127.0.0.1:`port`.
async fn get_listener(port: u16) -> anyhow::Result<(u16, String)> {
    tests::http_get(&format!("http://127.0.0.1:{port}/")).await
}

/// Waits until nothing accepts on 127.0.0.1:`port` any more.
async fn wait_closed(port: u16) {
    wait_until(
        "the listener socket to close",
        Duration::from_secs(5),
        || async { get_listener(port).await.err() },
    )
    .await;
}

fn path(values: &[&str]) -> RuleCondition {
    RuleCondition::builder()
        .field("path-pattern")
        .path_pattern_config(
            PathPatternConditionConfig::builder()
                .set_values(Some(values.iter().map(|v| v.to_string()).collect()))
                .build(),
        )
        .build()
}

fn target(ip: &str, port: i32) -> TargetDescription {
    TargetDescription::builder().id(ip).port(port).build()
}

#[tokio::test]
async fn load_balancer_defaults_idempotency_attributes_and_deletion() {
    let e = TestEmulator::start().await;
    let c = &e.elbv2;
    let name = unique("lb");

    let out = c.create_load_balancer().name(&name).send().await.unwrap();
    let lb = &out.load_balancers()[0];
    let arn = lb.load_balancer_arn().unwrap().to_string();
    assert!(arn.starts_with(&format!(
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/{name}/"
    )));
    assert_eq!(
        lb.state().unwrap().code(),
        Some(&LoadBalancerStateEnum::Active)
    );
    assert_eq!(lb.scheme(), Some(&LoadBalancerSchemeEnum::InternetFacing));
    assert_eq!(lb.r#type().unwrap().as_str(), "application");
    assert_eq!(lb.ip_address_type().unwrap().as_str(), "ipv4");
    assert!(lb.dns_name().unwrap().starts_with(&format!("{name}-")));
    assert!(lb.dns_name().unwrap().ends_with(".elb.localhost"));
    assert!(lb.created_time().is_some());
    let zones: Vec<&str> = lb
        .availability_zones()
        .iter()
        .map(|z| z.zone_name().unwrap())
        .collect();
    assert_eq!(zones, ["us-east-1a", "us-east-1b"]);

    // Identical settings: the same load balancer. Different: an error.
    let again = c.create_load_balancer().name(&name).send().await.unwrap();
    assert_eq!(
        again.load_balancers()[0].load_balancer_arn(),
        Some(arn.as_str())
    );
    let r = c
        .create_load_balancer()
        .name(&name)
        .scheme(LoadBalancerSchemeEnum::Internal)
        .send()
        .await;
    assert_eq!(code(r), "DuplicateLoadBalancerName");
    let r = c.create_load_balancer().name("bad_name").send().await;
    assert_eq!(code(r), "ValidationError");
    let r = c
        .create_load_balancer()
        .name(unique("one"))
        .subnets("subnet-1")
        .send()
        .await;
    assert_eq!(code(r), "InvalidConfigurationRequest");

    let by_name = c
        .describe_load_balancers()
        .names(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(by_name.load_balancers().len(), 1);
    let by_arn = c
        .describe_load_balancers()
        .load_balancer_arns(&arn)
        .send()
        .await
        .unwrap();
    assert_eq!(
        by_arn.load_balancers()[0].load_balancer_name(),
        Some(name.as_str())
    );
    let r = c.describe_load_balancers().names("no-such-lb").send().await;
    assert_eq!(code(r), "LoadBalancerNotFound");

    let attrs = c
        .describe_load_balancer_attributes()
        .load_balancer_arn(&arn)
        .send()
        .await
        .unwrap();
    let get = |key: &str| {
        attrs
            .attributes()
            .iter()
            .find(|a| a.key() == Some(key))
            .and_then(|a| a.value())
            .map(str::to_string)
    };
    assert_eq!(get("idle_timeout.timeout_seconds").as_deref(), Some("60"));
    assert_eq!(get("deletion_protection.enabled").as_deref(), Some("false"));
    assert_eq!(
        get("routing.http.xff_header_processing.mode").as_deref(),
        Some("append")
    );

    let attr = |k: &str, v: &str| LoadBalancerAttribute::builder().key(k).value(v).build();
    let modified = c
        .modify_load_balancer_attributes()
        .load_balancer_arn(&arn)
        .attributes(attr("idle_timeout.timeout_seconds", "120"))
        .send()
        .await
        .unwrap();
    assert!(modified
        .attributes()
        .iter()
        .any(|a| a.key() == Some("idle_timeout.timeout_seconds") && a.value() == Some("120")));
    let r = c
        .modify_load_balancer_attributes()
        .load_balancer_arn(&arn)
        .attributes(attr("idle_timeout.timeout_seconds", "4001"))
        .send()
        .await;
    assert_eq!(code(r), "InvalidConfigurationRequest");
    let r = c
        .describe_load_balancer_attributes()
        .load_balancer_arn(arn.replace(&name, "other"))
        .send()
        .await;
    assert_eq!(code(r), "LoadBalancerNotFound");

    // Deletion protection blocks DeleteLoadBalancer.
    c.modify_load_balancer_attributes()
        .load_balancer_arn(&arn)
        .attributes(attr("deletion_protection.enabled", "true"))
        .send()
        .await
        .unwrap();
    let r = c
        .delete_load_balancer()
        .load_balancer_arn(&arn)
        .send()
        .await;
    assert_eq!(code(r), "OperationNotPermitted");
    c.modify_load_balancer_attributes()
        .load_balancer_arn(&arn)
        .attributes(attr("deletion_protection.enabled", "false"))
        .send()
        .await
        .unwrap();
    delete_lb(c, &arn).await;
    // Deleting an unknown load balancer succeeds.
    delete_lb(c, &arn).await;
    let r = c
        .describe_load_balancers()
        .load_balancer_arns(&arn)
        .send()
        .await;
    assert_eq!(code(r), "LoadBalancerNotFound");

    e.shutdown().await;
}

#[tokio::test]
async fn target_group_defaults_ranges_and_attributes() {
    let e = TestEmulator::start().await;
    let c = &e.elbv2;
    let name = unique("tg");

    // AWS defaults: target type instance, health check as in the ALB guide.
    let out = c
        .create_target_group()
        .name(&name)
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .vpc_id("vpc-123")
        .send()
        .await
        .unwrap();
    let tg = &out.target_groups()[0];
    let arn = tg.target_group_arn().unwrap().to_string();
    assert!(arn.contains(&format!(":targetgroup/{name}/")));
    assert_eq!(tg.target_type(), Some(&TargetTypeEnum::Instance));
    assert_eq!(tg.health_check_protocol(), Some(&ProtocolEnum::Http));
    assert_eq!(tg.health_check_port(), Some("traffic-port"));
    assert_eq!(tg.health_check_path(), Some("/"));
    assert_eq!(tg.health_check_enabled(), Some(true));
    assert_eq!(tg.health_check_interval_seconds(), Some(30));
    assert_eq!(tg.health_check_timeout_seconds(), Some(5));
    assert_eq!(tg.healthy_threshold_count(), Some(5));
    assert_eq!(tg.unhealthy_threshold_count(), Some(2));
    assert_eq!(tg.matcher().and_then(|m| m.http_code()), Some("200"));
    assert_eq!(tg.protocol_version(), Some("HTTP1"));
    assert!(tg.load_balancer_arns().is_empty());

    let same = c
        .create_target_group()
        .name(&name)
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .vpc_id("vpc-123")
        .send()
        .await
        .unwrap();
    assert_eq!(
        same.target_groups()[0].target_group_arn(),
        Some(arn.as_str())
    );
    let r = c
        .create_target_group()
        .name(&name)
        .protocol(ProtocolEnum::Http)
        .port(9090)
        .vpc_id("vpc-123")
        .send()
        .await;
    assert_eq!(code(r), "DuplicateTargetGroupName");

    // Every health-check range of B1.
    let base = || {
        c.create_target_group()
            .name(unique("r"))
            .protocol(ProtocolEnum::Http)
            .port(80)
            .target_type(TargetTypeEnum::Ip)
    };
    for r in [
        base().health_check_interval_seconds(4).send().await,
        base().health_check_interval_seconds(301).send().await,
        base().health_check_timeout_seconds(1).send().await,
        base().health_check_timeout_seconds(121).send().await,
        base().healthy_threshold_count(1).send().await,
        base().unhealthy_threshold_count(11).send().await,
        base()
            .health_check_interval_seconds(10)
            .health_check_timeout_seconds(10)
            .send()
            .await,
        base()
            .matcher(Matcher::builder().http_code("600").build())
            .send()
            .await,
        base().health_check_path("no-slash").send().await,
        base().port(0).send().await,
    ] {
        assert_eq!(code(r), "ValidationError");
    }
    let r = base().health_check_enabled(false).send().await;
    assert_eq!(code(r), "InvalidConfigurationRequest");

    // ModifyTargetGroup changes the health check.
    let modified = c
        .modify_target_group()
        .target_group_arn(&arn)
        .health_check_path("/health")
        .health_check_interval_seconds(10)
        .matcher(Matcher::builder().http_code("200-299").build())
        .send()
        .await
        .unwrap();
    let tg = &modified.target_groups()[0];
    assert_eq!(tg.health_check_path(), Some("/health"));
    assert_eq!(tg.health_check_interval_seconds(), Some(10));
    assert_eq!(tg.matcher().and_then(|m| m.http_code()), Some("200-299"));
    let r = c
        .modify_target_group()
        .target_group_arn(&arn)
        .health_check_timeout_seconds(10)
        .send()
        .await;
    assert_eq!(code(r), "ValidationError");

    // Attributes: AWS defaults, ranges, and the change.
    let attrs = c
        .describe_target_group_attributes()
        .target_group_arn(&arn)
        .send()
        .await
        .unwrap();
    let value = |key: &str| {
        attrs
            .attributes()
            .iter()
            .find(|a| a.key() == Some(key))
            .and_then(|a| a.value())
            .map(str::to_string)
    };
    for (k, v) in [
        ("deregistration_delay.timeout_seconds", "300"),
        ("stickiness.enabled", "false"),
        ("stickiness.type", "lb_cookie"),
        ("stickiness.lb_cookie.duration_seconds", "86400"),
        ("load_balancing.algorithm.type", "round_robin"),
        ("slow_start.duration_seconds", "0"),
    ] {
        assert_eq!(value(k).as_deref(), Some(v), "{k}");
    }
    let attr = |k: &str, v: &str| TargetGroupAttribute::builder().key(k).value(v).build();
    let out = c
        .modify_target_group_attributes()
        .target_group_arn(&arn)
        .attributes(attr("deregistration_delay.timeout_seconds", "5"))
        .attributes(attr(
            "load_balancing.algorithm.type",
            "least_outstanding_requests",
        ))
        .send()
        .await
        .unwrap();
    assert!(
        out.attributes()
            .iter()
            .any(|a| a.key() == Some("deregistration_delay.timeout_seconds")
                && a.value() == Some("5"))
    );
    for (k, v) in [
        ("deregistration_delay.timeout_seconds", "3601"),
        ("stickiness.lb_cookie.duration_seconds", "604801"),
        ("slow_start.duration_seconds", "10"),
        ("slow_start.duration_seconds", "60"), // not with least_outstanding_requests
        ("stickiness.type", "source_ip"),
        ("no.such.attribute", "1"),
    ] {
        let r = c
            .modify_target_group_attributes()
            .target_group_arn(&arn)
            .attributes(attr(k, v))
            .send()
            .await;
        assert_eq!(code(r), "InvalidConfigurationRequest", "{k}={v}");
    }

    let listed = c
        .describe_target_groups()
        .names(&name)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.target_groups().len(), 1);
    let r = c.describe_target_groups().names("no-such-tg").send().await;
    assert_eq!(code(r), "TargetGroupNotFound");
    let r = c
        .describe_target_group_attributes()
        .target_group_arn(arn.replace(&name, "gone"))
        .send()
        .await;
    assert_eq!(code(r), "TargetGroupNotFound");

    delete_tg(c, &arn).await;
    delete_tg(c, &arn).await;
    let r = c
        .describe_target_groups()
        .target_group_arns(&arn)
        .send()
        .await;
    assert_eq!(code(r), "TargetGroupNotFound");

    e.shutdown().await;
}

#[tokio::test]
async fn listeners_bind_sockets_and_manage_their_default_rule() {
    let e = TestEmulator::start().await;
    let c = &e.elbv2;
    let lb = create_lb(c, &unique("lb")).await;
    let tg = create_tg(c, &unique("tg"), 80).await;
    let port = ports::reserve();

    let listener = create_listener(c, &lb, port, forward(&tg)).await;
    assert!(listener.contains(":listener/app/"));
    // The socket is live: no targets yet, so the ALB answers 503.
    let (status, _) = get_listener(port).await.unwrap();
    assert_eq!(status, 503);

    // The default rule exists and shows as such.
    let rules = c
        .describe_rules()
        .listener_arn(&listener)
        .send()
        .await
        .unwrap();
    assert_eq!(rules.rules().len(), 1);
    let default = &rules.rules()[0];
    assert_eq!(default.priority(), Some("default"));
    assert_eq!(default.is_default(), Some(true));
    let action = &default.actions()[0];
    assert_eq!(action.r#type(), Some(&ActionTypeEnum::Forward));
    assert_eq!(action.target_group_arn(), Some(tg.as_str()));
    assert_eq!(action.order(), Some(1));
    let default_arn = default.rule_arn().unwrap().to_string();
    let r = c.delete_rule().rule_arn(&default_arn).send().await;
    assert_eq!(code(r), "OperationNotPermitted");

    // The target group now reports its load balancer, and cannot be deleted.
    let tgs = c
        .describe_target_groups()
        .target_group_arns(&tg)
        .send()
        .await
        .unwrap();
    assert_eq!(
        tgs.target_groups()[0].load_balancer_arns(),
        std::slice::from_ref(&lb)
    );
    let r = c.delete_target_group().target_group_arn(&tg).send().await;
    assert_eq!(code(r), "ResourceInUse");

    // Same port: identical settings return the listener, others fail.
    let again = create_listener(c, &lb, port, forward(&tg)).await;
    assert_eq!(again, listener);
    let r = c
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(i32::from(port))
        .default_actions(fixed("404"))
        .send()
        .await;
    assert_eq!(code(r), "DuplicateListener");

    // A port something else holds fails with a clear error.
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let taken = blocker.local_addr().unwrap().port();
    let r = c
        .create_listener()
        .load_balancer_arn(&lb)
        .protocol(ProtocolEnum::Http)
        .port(i32::from(taken))
        .default_actions(fixed("200"))
        .send()
        .await;
    let err = r.expect_err("port in use");
    assert_eq!(err.code(), Some("InvalidConfigurationRequest"));
    assert!(err.message().unwrap().contains(&taken.to_string()));
    drop(blocker);

    for r in [
        c.create_listener()
            .load_balancer_arn(&lb)
            .protocol(ProtocolEnum::Https)
            .port(i32::from(ports::reserve()))
            .default_actions(fixed("200"))
            .send()
            .await,
        c.create_listener()
            .load_balancer_arn(&lb)
            .protocol(ProtocolEnum::Http)
            .port(i32::from(ports::reserve()))
            .default_actions(forward(&tg.replace("targetgroup/", "targetgroup/x")))
            .send()
            .await,
        c.create_listener()
            .load_balancer_arn(lb.replace("loadbalancer/app/", "loadbalancer/app/x"))
            .protocol(ProtocolEnum::Http)
            .port(i32::from(ports::reserve()))
            .default_actions(fixed("200"))
            .send()
            .await,
    ] {
        let code = code(r);
        assert!(
            [
                "UnsupportedProtocol",
                "TargetGroupNotFound",
                "LoadBalancerNotFound"
            ]
            .contains(&code.as_str()),
            "{code}"
        );
    }

    // A target group serves one load balancer.
    let other_lb = create_lb(c, &unique("lb2")).await;
    let r = c
        .create_listener()
        .load_balancer_arn(&other_lb)
        .protocol(ProtocolEnum::Http)
        .port(i32::from(ports::reserve()))
        .default_actions(forward(&tg))
        .send()
        .await;
    assert_eq!(code(r), "TargetGroupAssociationLimit");

    // ModifyListener moves the socket and replaces the default actions.
    let new_port = ports::reserve();
    let out = c
        .modify_listener()
        .listener_arn(&listener)
        .port(i32::from(new_port))
        .default_actions(fixed("418"))
        .send()
        .await
        .unwrap();
    assert_eq!(out.listeners()[0].port(), Some(i32::from(new_port)));
    let (status, body) = get_listener(new_port).await.unwrap();
    assert_eq!((status, body.as_str()), (418, "fixed"));
    assert!(get_listener(port).await.is_err());
    let rules = c
        .describe_rules()
        .listener_arn(&listener)
        .send()
        .await
        .unwrap();
    assert_eq!(
        rules.rules()[0].actions()[0].r#type(),
        Some(&ActionTypeEnum::FixedResponse)
    );
    let listed = c
        .describe_listeners()
        .load_balancer_arn(&lb)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.listeners().len(), 1);

    // Deleting the load balancer deletes its listeners and rules and
    // closes the socket; the target group stays and is free again.
    delete_lb(c, &lb).await;
    let r = c.describe_listeners().listener_arns(&listener).send().await;
    assert_eq!(code(r), "ListenerNotFound");
    let r = c.describe_rules().rule_arns(&default_arn).send().await;
    assert_eq!(code(r), "RuleNotFound");
    wait_closed(new_port).await;
    delete_tg(c, &tg).await;

    // DeleteListener closes its socket too.
    let lb3 = create_lb(c, &unique("lb3")).await;
    let port3 = ports::reserve();
    let l3 = create_listener(c, &lb3, port3, fixed("200")).await;
    assert_eq!(get_listener(port3).await.unwrap().0, 200);
    c.delete_listener().listener_arn(&l3).send().await.unwrap();
    let r = c.delete_listener().listener_arn(&l3).send().await;
    assert_eq!(code(r), "ListenerNotFound");
    wait_closed(port3).await;

    e.shutdown().await;
}

#[tokio::test]
async fn rules_conditions_priorities_and_limits() {
    let e = TestEmulator::start().await;
    let c = &e.elbv2;
    let lb = create_lb(c, &unique("lb")).await;
    let tg = create_tg(c, &unique("tg"), 80).await;
    let listener = create_listener(c, &lb, ports::reserve(), fixed("404")).await;

    let all_conditions = vec![
        path(&["/api/*"]),
        RuleCondition::builder()
            .field("host-header")
            .host_header_config(
                HostHeaderConditionConfig::builder()
                    .values("*.example.com")
                    .build(),
            )
            .build(),
        RuleCondition::builder()
            .field("http-header")
            .http_header_config(
                HttpHeaderConditionConfig::builder()
                    .http_header_name("X-Env")
                    .values("dev*")
                    .build(),
            )
            .build(),
        RuleCondition::builder()
            .field("query-string")
            .query_string_config(
                QueryStringConditionConfig::builder()
                    .values(
                        QueryStringKeyValuePair::builder()
                            .key("v")
                            .value("2")
                            .build(),
                    )
                    .build(),
            )
            .build(),
        RuleCondition::builder()
            .field("http-request-method")
            .http_request_method_config(
                HttpRequestMethodConditionConfig::builder()
                    .values("GET")
                    .build(),
            )
            .build(),
    ];
    let weighted = Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .forward_config(
            ForwardActionConfig::builder()
                .target_groups(
                    TargetGroupTuple::builder()
                        .target_group_arn(&tg)
                        .weight(3)
                        .build(),
                )
                .build(),
        )
        .build();
    let out = c
        .create_rule()
        .listener_arn(&listener)
        .priority(10)
        .set_conditions(Some(all_conditions))
        .actions(weighted)
        .send()
        .await
        .unwrap();
    let r10 = &out.rules()[0];
    let r10_arn = r10.rule_arn().unwrap().to_string();
    assert!(r10_arn.contains(":listener-rule/app/"));
    assert_eq!(r10.priority(), Some("10"));
    assert_eq!(r10.is_default(), Some(false));
    assert_eq!(r10.conditions().len(), 5);
    let path_condition = &r10.conditions()[0];
    assert_eq!(path_condition.field(), Some("path-pattern"));
    assert_eq!(path_condition.values(), ["/api/*"]);
    assert_eq!(
        path_condition.path_pattern_config().unwrap().values(),
        ["/api/*"]
    );
    let fc = r10.actions()[0].forward_config().unwrap();
    assert_eq!(fc.target_groups()[0].weight(), Some(3));
    assert_eq!(
        fc.target_group_stickiness_config()
            .and_then(|s| s.enabled()),
        Some(false)
    );

    let source_ip = RuleCondition::builder()
        .field("source-ip")
        .source_ip_config(
            SourceIpConditionConfig::builder()
                .values("10.0.0.0/8")
                .build(),
        )
        .build();
    let redirect = Action::builder()
        .r#type(ActionTypeEnum::Redirect)
        .redirect_config(
            RedirectActionConfig::builder()
                .protocol("HTTPS")
                .status_code(RedirectActionStatusCodeEnum::Http301)
                .build(),
        )
        .build();
    let out = c
        .create_rule()
        .listener_arn(&listener)
        .priority(20)
        .conditions(source_ip)
        .actions(redirect)
        .send()
        .await
        .unwrap();
    let r20_arn = out.rules()[0].rule_arn().unwrap().to_string();
    let rc = out.rules()[0].actions()[0].redirect_config().unwrap();
    assert_eq!(rc.host(), Some("#{host}"));
    assert_eq!(rc.path(), Some("/#{path}"));

    // Priorities: unique per listener, 1–50000.
    let create = |priority: i32, condition: RuleCondition| {
        c.create_rule()
            .listener_arn(&listener)
            .priority(priority)
            .conditions(condition)
            .actions(fixed("200"))
            .send()
    };
    assert_eq!(code(create(10, path(&["/x"])).await), "PriorityInUse");
    assert_eq!(code(create(0, path(&["/x"])).await), "ValidationError");
    assert_eq!(code(create(50001, path(&["/x"])).await), "ValidationError");
    create(50000, path(&["/last"])).await.unwrap();
    // Condition limits: one path-pattern, five values, valid CIDRs.
    let r = c
        .create_rule()
        .listener_arn(&listener)
        .priority(30)
        .conditions(path(&["/a"]))
        .conditions(path(&["/b"]))
        .actions(fixed("200"))
        .send()
        .await;
    assert_eq!(code(r), "ValidationError");
    assert_eq!(
        code(create(31, path(&["/1", "/2", "/3", "/4", "/5", "/6"])).await),
        "ValidationError"
    );
    let bad_cidr = RuleCondition::builder()
        .field("source-ip")
        .source_ip_config(
            SourceIpConditionConfig::builder()
                .values("10.0.0.300/8")
                .build(),
        )
        .build();
    assert_eq!(code(create(32, bad_cidr).await), "ValidationError");
    let r = c
        .create_rule()
        .listener_arn(&listener)
        .priority(33)
        .actions(fixed("200"))
        .send()
        .await;
    assert_eq!(code(r), "ValidationError");
    let r = c
        .create_rule()
        .listener_arn(&listener)
        .priority(34)
        .conditions(path(&["/x"]))
        .actions(fixed("302"))
        .send()
        .await;
    assert_eq!(code(r), "ValidationError");
    let r = c
        .create_rule()
        .listener_arn(&listener)
        .priority(35)
        .conditions(path(&["/x"]))
        .actions(forward(&tg.replace("targetgroup/", "targetgroup/no")))
        .send()
        .await;
    assert_eq!(code(r), "TargetGroupNotFound");
    let r = c
        .create_rule()
        .listener_arn(listener.replace("listener/app/", "listener/app/no"))
        .priority(36)
        .conditions(path(&["/x"]))
        .actions(fixed("200"))
        .send()
        .await;
    assert_eq!(code(r), "ListenerNotFound");

    // DescribeRules: by priority, default last.
    let rules = c
        .describe_rules()
        .listener_arn(&listener)
        .send()
        .await
        .unwrap();
    let priorities: Vec<&str> = rules.rules().iter().filter_map(|r| r.priority()).collect();
    assert_eq!(priorities, ["10", "20", "50000", "default"]);
    let paged = c
        .describe_rules()
        .listener_arn(&listener)
        .page_size(2)
        .send()
        .await
        .unwrap();
    assert_eq!(paged.rules().len(), 2);
    let rest = c
        .describe_rules()
        .listener_arn(&listener)
        .marker(paged.next_marker().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(rest.rules().len(), 2);
    assert!(rest.next_marker().is_none());

    // SetRulePriorities: swap atomically; a clash changes nothing.
    let pair = |arn: &str, p: i32| {
        RulePriorityPair::builder()
            .rule_arn(arn)
            .priority(p)
            .build()
    };
    let out = c
        .set_rule_priorities()
        .rule_priorities(pair(&r10_arn, 20))
        .rule_priorities(pair(&r20_arn, 10))
        .send()
        .await
        .unwrap();
    assert_eq!(out.rules().len(), 2);
    let r = c
        .set_rule_priorities()
        .rule_priorities(pair(&r10_arn, 50000))
        .send()
        .await;
    assert_eq!(code(r), "PriorityInUse");
    let default_arn = rules
        .rules()
        .last()
        .unwrap()
        .rule_arn()
        .unwrap()
        .to_string();
    let r = c
        .set_rule_priorities()
        .rule_priorities(pair(&default_arn, 5))
        .send()
        .await;
    assert_eq!(code(r), "OperationNotPermitted");
    let now = c.describe_rules().rule_arns(&r10_arn).send().await.unwrap();
    assert_eq!(now.rules()[0].priority(), Some("20"));

    // ModifyRule replaces conditions or actions; not the default rule's conditions.
    let out = c
        .modify_rule()
        .rule_arn(&r10_arn)
        .conditions(path(&["/v2/*"]))
        .send()
        .await
        .unwrap();
    assert_eq!(out.rules()[0].conditions().len(), 1);
    assert_eq!(
        out.rules()[0].actions()[0].r#type(),
        Some(&ActionTypeEnum::Forward)
    );
    let r = c
        .modify_rule()
        .rule_arn(&default_arn)
        .conditions(path(&["/x"]))
        .send()
        .await;
    assert_eq!(code(r), "OperationNotPermitted");
    c.modify_rule()
        .rule_arn(&default_arn)
        .actions(fixed("503"))
        .send()
        .await
        .unwrap();
    let listeners = c
        .describe_listeners()
        .listener_arns(&listener)
        .send()
        .await
        .unwrap();
    let default_action = &listeners.listeners()[0].default_actions()[0];
    assert_eq!(
        default_action
            .fixed_response_config()
            .unwrap()
            .status_code(),
        Some("503")
    );

    c.delete_rule().rule_arn(&r20_arn).send().await.unwrap();
    let r = c.delete_rule().rule_arn(&r20_arn).send().await;
    assert_eq!(code(r), "RuleNotFound");
    let r = c
        .modify_rule()
        .rule_arn(&r20_arn)
        .actions(fixed("200"))
        .send()
        .await;
    assert_eq!(code(r), "RuleNotFound");

    e.shutdown().await;
}

#[tokio::test]
async fn target_health_from_registration_to_draining_and_gone() {
    let e = TestEmulator::start().await;
    let c = &e.elbv2;
    // A target answering 200 to everything, for health checks.
    let backend = Backend::answering(1, 200, "ok").await;
    let backend_port = backend.addr.port();
    let tg = create_tg(c, &unique("tg"), i32::from(backend_port)).await;
    c.modify_target_group()
        .target_group_arn(&tg)
        .health_check_interval_seconds(5)
        .health_check_timeout_seconds(2)
        .send()
        .await
        .unwrap();
    // 2 s delay, 0.2 s at the harness's time scale.
    c.modify_target_group_attributes()
        .target_group_arn(&tg)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("2")
                .build(),
        )
        .send()
        .await
        .unwrap();

    let health = |targets: Vec<TargetDescription>| {
        let c = c.clone();
        let tg = tg.clone();
        async move {
            let out = c
                .describe_target_health()
                .target_group_arn(&tg)
                .set_targets((!targets.is_empty()).then_some(targets))
                .send()
                .await
                .unwrap();
            out.target_health_descriptions()
                .iter()
                .map(|d| {
                    let h = d.target_health().unwrap();
                    (
                        d.target().unwrap().id().unwrap().to_string(),
                        h.state().unwrap().as_str().to_string(),
                        h.reason().map(|r| r.as_str().to_string()),
                        d.health_check_port().map(str::to_string),
                    )
                })
                .collect::<Vec<_>>()
        }
    };

    // Registered in a group no listener uses: unused / Target.NotInUse.
    c.register_targets()
        .target_group_arn(&tg)
        .targets(TargetDescription::builder().id("127.0.0.1").build())
        .send()
        .await
        .unwrap();
    let h = health(vec![]).await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].1, "unused");
    assert_eq!(h[0].2.as_deref(), Some("Target.NotInUse"));
    assert_eq!(h[0].3.as_deref(), Some(backend_port.to_string().as_str()));

    // Once a listener forwards to it: initial, then healthy.
    let lb = create_lb(c, &unique("lb")).await;
    create_listener(c, &lb, ports::reserve(), forward(&tg)).await;
    let h = health(vec![]).await;
    assert_eq!(h[0].1, "initial", "{h:?}");
    assert!(
        matches!(
            h[0].2.as_deref(),
            Some("Elb.RegistrationInProgress") | Some("Elb.InitialHealthChecking")
        ),
        "{h:?}"
    );
    wait_until(
        "the target to become healthy",
        Duration::from_secs(10),
        || async {
            let h = health(vec![]).await;
            (h[0].1 == "healthy" && h[0].2.is_none()).then_some(())
        },
    )
    .await;

    // Deregistering drains, then the registration is gone.
    c.deregister_targets()
        .target_group_arn(&tg)
        .targets(target("127.0.0.1", i32::from(backend_port)))
        .send()
        .await
        .unwrap();
    let h = health(vec![]).await;
    assert_eq!(h[0].1, "draining");
    assert_eq!(h[0].2.as_deref(), Some("Target.DeregistrationInProgress"));
    wait_until(
        "the drained target to be removed",
        Duration::from_secs(5),
        || async { health(vec![]).await.is_empty().then_some(()) },
    )
    .await;
    let h = health(vec![target("127.0.0.1", i32::from(backend_port))]).await;
    assert_eq!(h[0].1, "unused");
    assert_eq!(h[0].2.as_deref(), Some("Target.NotRegistered"));

    // Deregistering a target that is not registered succeeds.
    c.deregister_targets()
        .target_group_arn(&tg)
        .targets(target("10.9.9.9", 80))
        .send()
        .await
        .unwrap();

    // Errors: unknown group, ids that are not IPs, ports out of range.
    let r = c
        .register_targets()
        .target_group_arn(tg.replace("targetgroup/", "targetgroup/no"))
        .targets(target("10.0.0.1", 80))
        .send()
        .await;
    assert_eq!(code(r), "TargetGroupNotFound");
    let r = c
        .register_targets()
        .target_group_arn(&tg)
        .targets(TargetDescription::builder().id("not-an-ip").build())
        .send()
        .await;
    assert_eq!(code(r), "InvalidTarget");
    let r = c
        .register_targets()
        .target_group_arn(&tg)
        .targets(target("10.0.0.1", 70000))
        .send()
        .await;
    assert_eq!(code(r), "ValidationError");
    let instance_tg = c
        .create_target_group()
        .name(unique("inst"))
        .protocol(ProtocolEnum::Http)
        .port(80)
        .send()
        .await
        .unwrap();
    let err = c
        .register_targets()
        .target_group_arn(instance_tg.target_groups()[0].target_group_arn().unwrap())
        .targets(TargetDescription::builder().id("i-0abc").build())
        .send()
        .await
        .expect_err("instance ids cannot be resolved");
    assert_eq!(err.code(), Some("InvalidTarget"));
    assert!(err.message().unwrap().contains("instance ids"));

    drop(backend);
    e.shutdown().await;
}

#[tokio::test]
async fn tags_on_every_resource_kind() {
    let e = TestEmulator::start().await;
    let c = &e.elbv2;
    let tag = |k: &str, v: &str| Tag::builder().key(k).value(v).build();
    let lb = c
        .create_load_balancer()
        .name(unique("lb"))
        .tags(tag("env", "dev"))
        .send()
        .await
        .unwrap()
        .load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let tg = create_tg(c, &unique("tg"), 80).await;
    let listener = create_listener(c, &lb, ports::reserve(), forward(&tg)).await;
    let rule = c
        .create_rule()
        .listener_arn(&listener)
        .priority(1)
        .conditions(path(&["/x"]))
        .actions(fixed("200"))
        .tags(tag("kind", "rule"))
        .send()
        .await
        .unwrap()
        .rules()[0]
        .rule_arn()
        .unwrap()
        .to_string();

    c.add_tags()
        .resource_arns(&lb)
        .resource_arns(&tg)
        .resource_arns(&listener)
        .tags(tag("team", "a"))
        .tags(tag("env", "prod"))
        .send()
        .await
        .unwrap();
    let out = c
        .describe_tags()
        .resource_arns(&lb)
        .resource_arns(&tg)
        .resource_arns(&listener)
        .resource_arns(&rule)
        .send()
        .await
        .unwrap();
    let tags_of = |i: usize| -> Vec<(String, String)> {
        out.tag_descriptions()[i]
            .tags()
            .iter()
            .map(|t| {
                (
                    t.key().unwrap().to_string(),
                    t.value().unwrap_or_default().to_string(),
                )
            })
            .collect()
    };
    assert_eq!(out.tag_descriptions()[0].resource_arn(), Some(lb.as_str()));
    assert_eq!(
        tags_of(0),
        [("env".into(), "prod".into()), ("team".into(), "a".into())]
    );
    assert_eq!(tags_of(1).len(), 2);
    assert_eq!(tags_of(3), [("kind".into(), "rule".into())]);

    c.remove_tags()
        .resource_arns(&lb)
        .tag_keys("env")
        .send()
        .await
        .unwrap();
    let out = c.describe_tags().resource_arns(&lb).send().await.unwrap();
    assert_eq!(out.tag_descriptions()[0].tags().len(), 1);

    let r = c
        .add_tags()
        .resource_arns(&lb)
        .tags(tag("k", "1"))
        .tags(tag("k", "2"))
        .send()
        .await;
    assert_eq!(code(r), "DuplicateTagKeys");
    let r = c
        .describe_tags()
        .resource_arns(tg.replace("targetgroup/", "targetgroup/no"))
        .send()
        .await;
    assert_eq!(code(r), "TargetGroupNotFound");
    let r = c
        .remove_tags()
        .resource_arns(lb.replace("loadbalancer/app/", "loadbalancer/app/no"))
        .tag_keys("k")
        .send()
        .await;
    assert_eq!(code(r), "LoadBalancerNotFound");
    let too_many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "v")).collect();
    let r = c
        .add_tags()
        .resource_arns(&tg)
        .set_tags(Some(too_many))
        .send()
        .await;
    assert_eq!(code(r), "TooManyTags");

    e.shutdown().await;
}

/// Raw Query requests: the envelope errors the SDK never produces.
#[tokio::test]
async fn query_protocol_errors_are_xml_error_responses() {
    use http_body_util::{BodyExt, Full};
    let e = TestEmulator::start().await;
    let addr = e.addr();
    let post = |body: &'static str| async move {
        let stream = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let request = hyper::Request::post("/")
            .header(hyper::header::HOST, addr.to_string())
            .header(
                hyper::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )
            // Signed like the SDK, so the dispatcher routes to ELBv2 by scope.
            .header(
                hyper::header::AUTHORIZATION,
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/elasticloadbalancing/aws4_request, SignedHeaders=host, Signature=x",
            )
            .body(Full::new(bytes::Bytes::from_static(body.as_bytes())))
            .unwrap();
        let response = sender.send_request(request).await.unwrap();
        let status = response.status().as_u16();
        let content_type = response.headers()[hyper::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .to_string();
        let body = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            content_type,
            String::from_utf8_lossy(&body).into_owned(),
        )
    };

    let (status, content_type, body) = post("Action=Frobnicate&Version=2015-12-01").await;
    assert_eq!(status, 400);
    assert_eq!(content_type, "text/xml");
    assert!(
        body.contains(
            "<ErrorResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\">"
        ),
        "{body}"
    );
    assert!(
        body.contains("<Type>Sender</Type><Code>InvalidAction</Code>"),
        "{body}"
    );
    assert!(body.contains("<RequestId>"), "{body}");

    let (status, _, body) = post("Action=DescribeLoadBalancers&Version=2012-06-01").await;
    assert_eq!(status, 400);
    assert!(
        body.contains("<Code>InvalidParameterValue</Code>"),
        "{body}"
    );
    let (status, _, body) = post("Action=DescribeLoadBalancers").await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>MissingParameter</Code>"), "{body}");
    let (status, _, body) =
        post("Action=DescribeLoadBalancers&Version=2015-12-01&Names.member.x=a").await;
    assert_eq!(status, 400);
    assert!(body.contains("<Code>MalformedQueryString</Code>"), "{body}");

    let (status, _, body) = post("Action=DescribeLoadBalancers&Version=2015-12-01").await;
    assert_eq!(status, 200);
    assert!(
        body.contains("<DescribeLoadBalancersResponse xmlns=\"http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/\"><DescribeLoadBalancersResult>"),
        "{body}"
    );

    e.shutdown().await;
}
