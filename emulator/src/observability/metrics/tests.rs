//! Unit tests of the metrics and their Prometheus text.

use super::*;

#[test]
fn histogram_buckets_and_sum() {
    let h = Histogram::default();
    h.observe(Duration::from_micros(300));
    h.observe(Duration::from_millis(3));
    h.observe(Duration::from_secs(100));
    let v = h.read();
    assert_eq!(v.count(), 3);
    let buckets = v.buckets();
    assert_eq!(buckets[0], (0.0005, 1));
    assert_eq!(buckets[3], (0.005, 1));
    assert_eq!(*buckets.last().unwrap(), (f64::MAX, 1));
    assert!((v.sum_seconds - 100.0033).abs() < 1e-9);
}

#[test]
fn exposition_names_labels_and_cumulative_buckets() {
    let h = Histogram::default();
    h.observe(Duration::from_micros(300));
    h.observe(Duration::from_millis(3));
    h.observe(Duration::from_secs(100));
    let labels = || vec![("load_balancer", "app/web/1".to_string())];
    let mut scrape = Scrape::default();
    scrape.counter("alb_request_count", "RequestCount: x.", vec![(labels(), 7)]);
    scrape.gauge(
        "alb_healthy_host_count",
        "HealthyHostCount: x.",
        vec![(labels(), 2)],
    );
    scrape.histogram(
        "alb_target_response_time",
        "TargetResponseTime: x.",
        vec![(labels(), h.read())],
    );
    let mut registry = Registry::default();
    registry.register_collector(Box::new(scrape));
    let mut text = String::new();
    prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
    for line in [
        "# HELP alb_request_count RequestCount: x.",
        "# TYPE alb_request_count counter",
        "alb_request_count_total{load_balancer=\"app/web/1\"} 7",
        "alb_healthy_host_count{load_balancer=\"app/web/1\"} 2",
        "# TYPE alb_target_response_time_seconds histogram",
        "alb_target_response_time_seconds_count{load_balancer=\"app/web/1\"} 3",
        "alb_target_response_time_seconds_bucket{le=\"0.0005\",load_balancer=\"app/web/1\"} 1",
        "alb_target_response_time_seconds_bucket{le=\"0.005\",load_balancer=\"app/web/1\"} 2",
        "alb_target_response_time_seconds_bucket{le=\"60.0\",load_balancer=\"app/web/1\"} 2",
        "alb_target_response_time_seconds_bucket{le=\"+Inf\",load_balancer=\"app/web/1\"} 3",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn status_classes() {
    let c = StatusCounters::default();
    for s in [101, 200, 204, 302, 404, 503, 599] {
        c.record(s);
    }
    assert_eq!(c.read(), [2, 1, 1, 2]);
}

#[test]
fn keys_from_arns() {
    let listener =
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/web/0123456789abcdef/fedcba9876543210";
    assert_eq!(lb_key(listener), Some("app/web/0123456789abcdef"));
    let tg = "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/tg/0123456789abcdef";
    assert_eq!(tg_key(tg), Some("targetgroup/tg/0123456789abcdef"));
}

#[test]
fn cow_map_inserts_once_and_prunes() {
    let m: CowMap<AtomicU64> = CowMap::default();
    m.get_or_insert("a").fetch_add(1, Relaxed);
    m.get_or_insert("a").fetch_add(1, Relaxed);
    m.get_or_insert("b");
    assert_eq!(m.get("a").unwrap().load(Relaxed), 2);
    m.retain(|k| k == "b");
    assert!(m.get("a").is_none());
    assert!(m.get("b").is_some());
}
