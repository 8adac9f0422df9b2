//! Application Auto Scaling end to end, through the AWS SDK for Rust: the
//! API's validation and round trips, and a target tracking policy on
//! `ALBRequestCountPerTarget` that really changes an ECS service's desired
//! count under load through the ALB and back when the load stops.
//!
//! Every wait is a condition with a deadline; the load loop is bounded in
//! requests and time, and only talks to the emulator's listener on loopback.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_applicationautoscaling::error::ProvideErrorMetadata;
use aws_sdk_applicationautoscaling::types::{
    MetricType, PolicyType, PredefinedMetricSpecification, ScalableDimension, ServiceNamespace,
    TargetTrackingScalingPolicyConfiguration,
};
use aws_sdk_applicationautoscaling::Client as AutoScaling;
use aws_sdk_ecs::client::Waiters;
use aws_sdk_ecs::types::LoadBalancer;
use tests::{alb, ecs, http_get, unique, wait_until, TestEmulator};
use tokio_util::sync::CancellationToken;

/// One emulated minute is 1.2 s: a metric period, and cooldowns of 60 s.
const TIME_SCALE: f64 = 0.02;
const WAIT: Duration = Duration::from_secs(60);
const DESIRED_COUNT: ScalableDimension = ScalableDimension::EcsServiceDesiredCount;

async fn autoscaling(emu: &TestEmulator) -> AutoScaling {
    AutoScaling::new(&tests::sdk_config(&emu.endpoint_url()).await)
}

/// The error code of a request that must fail, and its message.
fn error<T: std::fmt::Debug, E: ProvideErrorMetadata + std::fmt::Debug>(
    result: Result<T, E>,
) -> (String, String) {
    let e = result.expect_err("the request should fail");
    (
        e.code().unwrap_or("<no code>").to_string(),
        e.message().unwrap_or_default().to_string(),
    )
}

fn cpu_policy(target: f64) -> TargetTrackingScalingPolicyConfiguration {
    TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(target)
        .predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::EcsServiceAverageCpuUtilization)
                .build()
                .unwrap(),
        )
        .build()
        .unwrap()
}

/// Registers sample-app and creates a service of `desired` tasks, behind
/// the target group if one is given.
async fn create_service(
    emu: &TestEmulator,
    name: &str,
    desired: i32,
    target_group: Option<&str>,
) -> String {
    ecs::register(&emu.ecs, name, vec![ecs::sample_container("app").build()]).await;
    let mut create = emu
        .ecs
        .create_service()
        .service_name(name)
        .task_definition(name)
        .desired_count(desired)
        .launch_type(aws_sdk_ecs::types::LaunchType::Fargate)
        .network_configuration(ecs::network());
    if let Some(tg) = target_group {
        create = create.load_balancers(
            LoadBalancer::builder()
                .target_group_arn(tg)
                .container_name("app")
                .container_port(8080)
                .build(),
        );
    }
    create.send().await.expect("create service");
    format!("service/default/{name}")
}

async fn service(emu: &TestEmulator, name: &str) -> aws_sdk_ecs::types::Service {
    emu.ecs
        .describe_services()
        .services(name)
        .send()
        .await
        .expect("describe services")
        .services()[0]
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scalable_targets_and_policies_validate_and_round_trip() {
    let emu = TestEmulator::start_with(|c| c.time_scale = TIME_SCALE).await;
    let aas = autoscaling(&emu).await;
    let name = unique("api");
    let resource = create_service(&emu, &name, 0, None).await;
    let register = || {
        aas.register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&resource)
            .scalable_dimension(DESIRED_COUNT)
    };

    // Validation.
    let (code, message) = error(
        aas.register_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id("service/default/no-such-service")
            .scalable_dimension(DESIRED_COUNT)
            .min_capacity(1)
            .max_capacity(2)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("ECS service doesn't exist"), "{message}");
    let (code, _) = error(
        register()
            .scalable_dimension(ScalableDimension::from("ecs:service:Bogus"))
            .min_capacity(1)
            .max_capacity(2)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    let (code, message) = error(register().min_capacity(3).max_capacity(2).send().await);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("cannot be greater than"), "{message}");
    let (code, _) = error(register().send().await);
    assert_eq!(
        code, "ValidationException",
        "a new target needs min and max"
    );

    // Register, then re-register: same target, updated.
    let arn = register()
        .min_capacity(0)
        .max_capacity(2)
        .send()
        .await
        .expect("register")
        .scalable_target_arn
        .expect("ARN");
    assert!(
        arn.starts_with("arn:aws:application-autoscaling:us-east-1:000000000000:scalable-target/"),
        "{arn}"
    );
    let again = register().max_capacity(4).send().await.expect("update");
    assert_eq!(again.scalable_target_arn(), Some(arn.as_str()));
    let described = aas
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids(&resource)
        .send()
        .await
        .expect("describe");
    let [target] = described.scalable_targets() else {
        panic!("one target: {described:?}");
    };
    assert_eq!(target.resource_id(), resource);
    assert_eq!(target.scalable_dimension(), &DESIRED_COUNT);
    assert_eq!((target.min_capacity(), target.max_capacity()), (0, 4));
    assert_eq!(target.scalable_target_arn(), Some(arn.as_str()));
    assert!(target
        .role_arn()
        .contains("AWSServiceRoleForApplicationAutoScaling_ECSService"));
    let age = aws_smithy_age(target.creation_time());
    assert!(age < Duration::from_secs(60), "created {age:?} ago");
    let suspended = target.suspended_state().expect("SuspendedState");
    assert_eq!(suspended.dynamic_scaling_in_suspended(), Some(false));
    let other = aas
        .describe_scalable_targets()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_ids("service/default/other")
        .send()
        .await
        .unwrap();
    assert!(other.scalable_targets().is_empty());

    // Policies: only target tracking, only on registered targets.
    let put = || {
        aas.put_scaling_policy()
            .policy_name("cpu")
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&resource)
            .scalable_dimension(DESIRED_COUNT)
            .policy_type(PolicyType::TargetTrackingScaling)
            .target_tracking_scaling_policy_configuration(cpu_policy(50.0))
    };
    let (code, message) = error(put().policy_type(PolicyType::StepScaling).send().await);
    assert_eq!(code, "ValidationException");
    assert!(message.contains("StepScaling"), "{message}");
    let (code, _) = error(put().resource_id("service/default/other").send().await);
    assert_eq!(code, "ObjectNotFoundException");
    let bad_label = TargetTrackingScalingPolicyConfiguration::builder()
        .target_value(100.0)
        .predefined_metric_specification(
            PredefinedMetricSpecification::builder()
                .predefined_metric_type(MetricType::AlbRequestCountPerTarget)
                .resource_label("app/nope/0123456789abcdef/targetgroup/nope/0123456789abcdef")
                .build()
                .unwrap(),
        )
        .build()
        .unwrap();
    let (code, message) = error(
        put()
            .target_tracking_scaling_policy_configuration(bad_label)
            .send()
            .await,
    );
    assert_eq!(code, "ValidationException");
    assert!(message.contains("ResourceLabel"), "{message}");

    let out = put().send().await.expect("put policy");
    assert!(
        out.policy_arn().contains(":scalingPolicy:")
            && out
                .policy_arn()
                .ends_with(&format!(":resource/ecs/{resource}:policyName/cpu")),
        "{}",
        out.policy_arn()
    );
    let alarms: Vec<&str> = out.alarms().iter().map(|a| a.alarm_name()).collect();
    assert_eq!(alarms.len(), 2, "{alarms:?}");
    assert!(alarms[0].starts_with(&format!("TargetTracking-{resource}-AlarmHigh-")));
    assert!(alarms[1].starts_with(&format!("TargetTracking-{resource}-AlarmLow-")));
    let policies = aas
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource)
        .send()
        .await
        .unwrap();
    let [policy] = policies.scaling_policies() else {
        panic!("one policy: {policies:?}");
    };
    assert_eq!(policy.policy_arn(), out.policy_arn());
    assert_eq!(policy.policy_type(), &PolicyType::TargetTrackingScaling);
    let config = policy
        .target_tracking_scaling_policy_configuration()
        .unwrap();
    assert_eq!(config.target_value(), 50.0);
    assert_eq!(
        config
            .predefined_metric_specification()
            .map(|m| m.predefined_metric_type()),
        Some(&MetricType::EcsServiceAverageCpuUtilization)
    );
    assert_eq!(policy.alarms().len(), 2);

    let delete = || {
        aas.delete_scaling_policy()
            .policy_name("cpu")
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&resource)
            .scalable_dimension(DESIRED_COUNT)
    };
    delete().send().await.expect("delete policy");
    let (code, _) = error(delete().send().await);
    assert_eq!(code, "ObjectNotFoundException");

    // Deregistering deletes the target's policies.
    put().send().await.expect("put policy again");
    let deregister = || {
        aas.deregister_scalable_target()
            .service_namespace(ServiceNamespace::Ecs)
            .resource_id(&resource)
            .scalable_dimension(DESIRED_COUNT)
    };
    deregister().send().await.expect("deregister");
    let policies = aas
        .describe_scaling_policies()
        .service_namespace(ServiceNamespace::Ecs)
        .send()
        .await
        .unwrap();
    assert!(policies.scaling_policies().is_empty());
    let (code, _) = error(deregister().send().await);
    assert_eq!(code, "ObjectNotFoundException");

    // A minimum above the desired count raises it at once.
    register()
        .min_capacity(1)
        .max_capacity(2)
        .send()
        .await
        .expect("register with min 1");
    assert_eq!(service(&emu, &name).await.desired_count(), 1);
    let activities = aas
        .describe_scaling_activities()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource)
        .send()
        .await
        .unwrap();
    let [activity] = activities.scaling_activities() else {
        panic!("one activity: {activities:?}");
    };
    assert_eq!(activity.description(), "Setting desired count to 1.");
    assert_eq!(activity.cause(), "minimum capacity was set to 1");
    assert_eq!(activity.status_code().as_str(), "Successful");

    emu.shutdown().await;
}

/// `app/<lb>/<lbid>/targetgroup/<tg>/<tgid>`: what `ALBRequestCountPerTarget`
/// takes as `ResourceLabel`.
fn resource_label(lb: &alb::Alb) -> String {
    let (_, load_balancer) = lb
        .load_balancer_arn
        .split_once(":loadbalancer/")
        .expect("a load balancer ARN");
    let (_, target_group) = lb
        .target_group_arn
        .rsplit_once(':')
        .expect("a target group ARN");
    format!("{load_balancer}/{target_group}")
}

/// How long ago an SDK timestamp was.
fn aws_smithy_age(t: &aws_sdk_applicationautoscaling::primitives::DateTime) -> Duration {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    Duration::from_secs_f64((now - t.as_secs_f64()).max(0.0))
}

/// What a load loop sent.
#[derive(Debug, Default)]
struct LoadReport {
    sent: u64,
    failed: u64,
}

/// GETs `url` every `pace` until `stop`, `max_requests` or `max_time`,
/// whichever comes first; counts non-2xx answers and connection errors.
async fn paced_load(
    url: String,
    pace: Duration,
    max_requests: u64,
    max_time: Duration,
    stop: CancellationToken,
) -> LoadReport {
    let sent = Arc::new(AtomicU64::new(0));
    let failed = Arc::new(AtomicU64::new(0));
    let deadline = tokio::time::Instant::now() + max_time;
    let mut tick = tokio::time::interval(pace);
    let mut in_flight = tokio::task::JoinSet::new();
    for _ in 0..max_requests {
        tokio::select! {
            _ = stop.cancelled() => break,
            _ = tokio::time::sleep_until(deadline) => break,
            _ = tick.tick() => {}
        }
        let (url, sent, failed) = (url.clone(), sent.clone(), failed.clone());
        in_flight.spawn(async move {
            sent.fetch_add(1, Ordering::Relaxed);
            match http_get(&url).await {
                Ok((status, _)) if (200..300).contains(&status) => {}
                _ => {
                    failed.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        while in_flight.try_join_next().is_some() {}
    }
    while in_flight.join_next().await.is_some() {}
    LoadReport {
        sent: sent.load(Ordering::Relaxed),
        failed: failed.load(Ordering::Relaxed),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_request_count_policy_scales_out_under_load_and_back_in() {
    let emu = TestEmulator::start_with(|c| c.time_scale = TIME_SCALE).await;
    let aas = autoscaling(&emu).await;
    let name = unique("scale");
    let lb = alb::create(&emu.elbv2, &name).await;
    let resource = create_service(&emu, &name, 1, Some(&lb.target_group_arn)).await;
    emu.ecs
        .wait_until_services_stable()
        .services(&name)
        .wait(WAIT)
        .await
        .expect("the service becomes stable");

    aas.register_scalable_target()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource)
        .scalable_dimension(DESIRED_COUNT)
        .min_capacity(1)
        .max_capacity(3)
        .send()
        .await
        .expect("register");
    // 600 requests per target per minute is 10 per second; the load sends
    // about 100 per second, so target tracking asks for 10 tasks (max 3).
    let policy = aas
        .put_scaling_policy()
        .policy_name("requests")
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource)
        .scalable_dimension(DESIRED_COUNT)
        .policy_type(PolicyType::TargetTrackingScaling)
        .target_tracking_scaling_policy_configuration(
            TargetTrackingScalingPolicyConfiguration::builder()
                .target_value(600.0)
                .predefined_metric_specification(
                    PredefinedMetricSpecification::builder()
                        .predefined_metric_type(MetricType::AlbRequestCountPerTarget)
                        .resource_label(resource_label(&lb))
                        .build()
                        .unwrap(),
                )
                .scale_out_cooldown(60)
                .scale_in_cooldown(60)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .expect("put policy");
    let high_alarm = policy.alarms()[0].alarm_name().to_string();
    let low_alarm = policy.alarms()[1].alarm_name().to_string();

    let started = Instant::now();
    let stop = CancellationToken::new();
    let load = tokio::spawn(paced_load(
        lb.url(),
        Duration::from_millis(10),
        2_000,
        Duration::from_secs(20),
        stop.clone(),
    ));
    wait_until("the policy scales the service out to 3", WAIT, || async {
        (service(&emu, &name).await.desired_count() == 3).then_some(())
    })
    .await;
    let scaled_out = started.elapsed();
    wait_until("3 healthy targets", WAIT, || async {
        let healthy = alb::target_health(&emu.elbv2, &lb.target_group_arn)
            .await
            .into_iter()
            .filter(|(_, state, _)| state == "healthy")
            .count();
        (healthy == 3).then_some(())
    })
    .await;
    let serving = started.elapsed();
    stop.cancel();
    let report = load.await.expect("load loop");
    assert!(report.sent > 0);
    assert_eq!(report.failed, 0, "{report:?}");

    let stopped = Instant::now();
    wait_until(
        "the policy scales the service back in to 1",
        WAIT,
        || async { (service(&emu, &name).await.desired_count() == 1).then_some(()) },
    )
    .await;
    let scaled_in = stopped.elapsed();
    emu.ecs
        .wait_until_services_stable()
        .services(&name)
        .wait(WAIT)
        .await
        .expect("the service settles at one task");
    assert_eq!(service(&emu, &name).await.running_count(), 1);

    let activities = aas
        .describe_scaling_activities()
        .service_namespace(ServiceNamespace::Ecs)
        .resource_id(&resource)
        .scalable_dimension(DESIRED_COUNT)
        .send()
        .await
        .unwrap();
    let list = activities.scaling_activities();
    assert_eq!(list.len(), 2, "{list:?}");
    let (scale_in, scale_out) = (&list[0], &list[1]);
    assert_eq!(scale_out.description(), "Setting desired count to 3.");
    assert_eq!(
        scale_out.cause(),
        format!("monitor alarm {high_alarm} in state ALARM triggered policy requests")
    );
    assert_eq!(scale_in.description(), "Setting desired count to 1.");
    assert_eq!(
        scale_in.cause(),
        format!("monitor alarm {low_alarm} in state ALARM triggered policy requests")
    );
    for a in list {
        assert_eq!(a.status_code().as_str(), "Successful");
        assert!(a
            .status_message()
            .unwrap_or_default()
            .ends_with("Change successfully fulfilled by ecs."));
        assert!(a.end_time().is_some());
    }
    eprintln!(
        "scaled out after {scaled_out:?}, 3 healthy after {serving:?} ({} requests, {} failed); scaled in {scaled_in:?} after the load stopped",
        report.sent, report.failed
    );
    emu.shutdown().await;
}
