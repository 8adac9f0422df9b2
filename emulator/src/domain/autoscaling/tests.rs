//! Unit tests of the Application Auto Scaling model and its scaling rules.

use super::tracking::parse_resource_label;
use super::*;
use crate::config::Config;
use crate::domain::elbv2::Elbv2State;

fn key() -> TargetKey {
    TargetKey::new("ecs", "service/default/web", ECS_DESIRED_COUNT).unwrap()
}

fn config() -> Config {
    Config::default()
}

fn target(min: u32, max: u32, policy: TargetTrackingConfiguration) -> ScalableTarget {
    let key = key();
    let p = ScalingPolicy::new(&key, "p", policy, Metric::EcsCpu, "us-east-1", "0");
    ScalableTarget {
        arn: "arn".into(),
        min_capacity: min,
        max_capacity: max,
        role_arn: "role".into(),
        created_at: OffsetDateTime::UNIX_EPOCH,
        suspended: SuspendedState::default(),
        policies: BTreeMap::from([("p".to_string(), p)]),
        last_scale_out: None,
        last_scale_in: None,
        key,
    }
}

fn tracking(value: f64, out: i64, inc: i64) -> TargetTrackingConfiguration {
    TargetTrackingConfiguration {
        target_value: value,
        predefined_metric_specification: Some(PredefinedMetricSpecification {
            predefined_metric_type: ECS_CPU.into(),
            resource_label: None,
        }),
        customized_metric_specification: None,
        scale_out_cooldown: Some(out),
        scale_in_cooldown: Some(inc),
        disable_scale_in: None,
    }
}

fn at(secs: i64) -> OffsetDateTime {
    OffsetDateTime::UNIX_EPOCH + time::Duration::seconds(secs)
}

fn metric(v: f64) -> BTreeMap<String, Option<f64>> {
    BTreeMap::from([("p".to_string(), Some(v))])
}

#[test]
fn keys_are_ecs_services_only() {
    let k = key();
    assert_eq!(k.ecs_service(), ("default", "web"));
    for (ns, id, dim) in [
        ("dynamodb", "service/default/web", ECS_DESIRED_COUNT),
        ("ecs", "service/default/web", "ecs:service:Bogus"),
        ("ecs", "service/default", ECS_DESIRED_COUNT),
        ("ecs", "cluster/default/web", ECS_DESIRED_COUNT),
        ("ecs", "service//web", ECS_DESIRED_COUNT),
    ] {
        let e = TargetKey::new(ns, id, dim).unwrap_err();
        assert_eq!(e.code(), "ValidationException", "{ns} {id} {dim}");
    }
}

#[test]
fn tracking_capacity_is_the_ceiling_of_the_ratio() {
    assert_eq!(tracking_capacity(1, 300.0, 100.0), 3);
    assert_eq!(tracking_capacity(2, 150.0, 100.0), 3);
    assert_eq!(tracking_capacity(3, 100.0, 100.0), 3);
    assert_eq!(tracking_capacity(4, 0.0, 100.0), 0);
    assert_eq!(tracking_capacity(0, 500.0, 100.0), 0);
    assert_eq!(tracking_capacity(3, 70.0 / 3.0, 70.0 / 3.0), 3);
}

#[test]
fn scale_out_needs_three_high_datapoints_and_respects_max_and_cooldown() {
    let config = config();
    let mut t = target(1, 4, tracking(100.0, 60, 60));
    assert_eq!(t.decide(&metric(1000.0), 1, at(0), &config), None);
    assert_eq!(t.decide(&metric(1000.0), 1, at(60), &config), None);
    let d = t.decide(&metric(1000.0), 1, at(120), &config).unwrap();
    assert_eq!((d.capacity, d.scale_out), (4, true));
    assert!(d
        .cause
        .starts_with("monitor alarm TargetTracking-service/default/web-AlarmHigh-"));
    assert!(d.cause.ends_with(" in state ALARM triggered policy p"));
    t.record(&d, at(120));
    // Still high, but at max: nothing more to do.
    assert_eq!(t.decide(&metric(1000.0), 4, at(180), &config), None);
    // Below max, still cooling down from the scale-out.
    assert_eq!(t.decide(&metric(1000.0), 3, at(150), &config), None);
    assert!(t.decide(&metric(1000.0), 3, at(200), &config).is_some());
}

#[test]
fn scale_in_waits_for_the_metric_to_stay_low_for_the_cooldown() {
    let config = config();
    let mut t = target(1, 4, tracking(100.0, 60, 120));
    for s in [0, 60] {
        assert_eq!(t.decide(&metric(10.0), 4, at(s), &config), None);
    }
    // A datapoint near the target resets AlarmLow.
    assert_eq!(t.decide(&metric(95.0), 4, at(90), &config), None);
    for s in [100, 160] {
        assert_eq!(t.decide(&metric(10.0), 4, at(s), &config), None);
    }
    let d = t.decide(&metric(10.0), 4, at(220), &config).unwrap();
    assert_eq!((d.capacity, d.scale_out), (1, false));
    assert!(d.cause.contains("-AlarmLow-"));
}

#[test]
fn disable_scale_in_drops_the_low_alarm_and_never_scales_in() {
    let config = config();
    let mut policy = tracking(100.0, 0, 0);
    policy.disable_scale_in = Some(true);
    let mut t = target(1, 4, policy);
    assert_eq!(t.policies["p"].alarms.len(), 1);
    for s in 0..10 {
        assert_eq!(t.decide(&metric(0.0), 4, at(s * 60), &config), None);
    }
}

#[test]
fn missing_data_blocks_scale_in_and_resets_alarms() {
    let config = config();
    let mut t = target(1, 4, tracking(100.0, 0, 0));
    let none = BTreeMap::from([("p".to_string(), None)]);
    for s in 0..5 {
        assert_eq!(t.decide(&none, 4, at(s), &config), None);
    }
    assert_eq!(t.policies["p"].alarm_state, AlarmState::default());
}

#[test]
fn suspended_scale_out_holds() {
    let config = config();
    let mut t = target(1, 4, tracking(100.0, 0, 0));
    t.suspended.dynamic_scaling_out_suspended = true;
    for s in 0..5 {
        assert_eq!(t.decide(&metric(1000.0), 1, at(s), &config), None);
    }
}

#[test]
fn cooldowns_follow_the_time_scale() {
    let config = Config {
        time_scale: 0.01,
        ..Config::default()
    };
    let mut t = target(1, 4, tracking(100.0, 300, 300));
    t.last_scale_out = Some(at(0));
    for s in [1, 2] {
        assert_eq!(t.decide(&metric(1000.0), 1, at(s), &config), None);
    }
    // 300 s scaled by 0.01 is 3 s.
    assert!(t.decide(&metric(1000.0), 1, at(3), &config).is_some());
}

#[test]
fn resource_labels_split_into_load_balancer_and_target_group() {
    let ok = "app/web/0123456789abcdef/targetgroup/tg/fedcba9876543210";
    assert_eq!(
        parse_resource_label(ok).unwrap(),
        ("app/web/0123456789abcdef", "tg/fedcba9876543210")
    );
    for bad in [
        "targetgroup/tg/fedcba9876543210",
        "app/web/0123456789abcdef",
        "app/web/targetgroup/tg/fedcba9876543210",
        "net/web/0123456789abcdef/targetgroup/tg/fedcba9876543210",
        "app/web/0123456789abcdef/targetgroup/tg",
        "app/web//targetgroup/tg/fedcba9876543210",
    ] {
        assert_eq!(
            parse_resource_label(bad).unwrap_err().code(),
            "ValidationException",
            "{bad}"
        );
    }
    let empty = Elbv2State::default();
    assert!(resolve_resource_label(&empty, ok)
        .unwrap_err()
        .to_string()
        .contains("load balancer that does not exist"));
}
