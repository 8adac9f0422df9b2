//! `GET /metrics` and the access log, end to end: traffic through a real ALB
//! listener (created with the AWS SDK) to in-process HTTP targets on
//! 127.0.0.x, then the counters the control port exposes and the lines the
//! access log holds.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::types::TargetDescription;
use tests::{alb, http_get, unique, wait_until, Backend, TestEmulator};

const WAIT: Duration = Duration::from_secs(30);

/// An HTTP target answering 200 `ok` to everything, until dropped.
struct Target(Backend);

impl Target {
    async fn start(last_octet: u8) -> Self {
        Self(Backend::answering(last_octet, 200, "ok").await)
    }

    fn description(&self) -> TargetDescription {
        TargetDescription::builder()
            .id(self.0.addr.ip().to_string())
            .port(self.0.addr.port() as i32)
            .build()
    }
}

/// `name{labels} value` lines of a Prometheus text exposition, by series.
fn parse(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            Some((series.to_string(), value.parse().ok()?))
        })
        .collect()
}

async fn scrape(emu: &TestEmulator) -> HashMap<String, f64> {
    let (status, text) = http_get(&format!("{}/metrics", emu.endpoint_url()))
        .await
        .expect("GET /metrics");
    assert_eq!(status, 200);
    assert!(
        text.ends_with("# EOF\n"),
        "OpenMetrics text ends with # EOF"
    );
    parse(&text)
}

/// `app/NAME/ID` and `targetgroup/NAME/ID`, as the labels spell them.
fn labels(alb: &alb::Alb) -> String {
    let lb = alb
        .load_balancer_arn
        .split_once(":loadbalancer/")
        .unwrap()
        .1;
    let tg = alb.target_group_arn.rsplit_once(':').unwrap().1;
    format!("load_balancer=\"{lb}\",target_group=\"{tg}\"")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_target_counts_status_classes_elb_503_and_access_log() {
    let log_path = std::env::temp_dir().join(format!("{}.log", unique("access")));
    let log = log_path.to_string_lossy().into_owned();
    let emu = TestEmulator::start_with(|c| c.access_log = Some(log)).await;
    let targets = [Target::start(2).await, Target::start(3).await];

    // An ALB with two healthy targets.
    let web = alb::create(&emu.elbv2, &unique("m")).await;
    emu.elbv2
        .register_targets()
        .target_group_arn(&web.target_group_arn)
        .set_targets(Some(targets.iter().map(Target::description).collect()))
        .send()
        .await
        .expect("register targets");
    wait_until("both targets healthy", WAIT, || async {
        let health = alb::target_health(&emu.elbv2, &web.target_group_arn).await;
        (health.len() == 2 && health.iter().all(|(_, s, _)| s == "healthy")).then_some(())
    })
    .await;
    // An ALB whose target group has no targets: every request is an ELB 503.
    let empty = alb::create(&emu.elbv2, &unique("e")).await;

    const SENT: usize = 40;
    for _ in 0..SENT {
        let (status, body) = http_get(&web.url()).await.expect("request through the ALB");
        assert_eq!((status, body.as_str()), (200, "ok"));
    }
    const UNAVAILABLE: usize = 3;
    for _ in 0..UNAVAILABLE {
        let (status, _) = http_get(&empty.url()).await.unwrap();
        assert_eq!(status, 503);
    }

    let m = scrape(&emu).await;
    let web_labels = labels(&web);
    let get = |series: String| {
        *m.get(&series)
            .unwrap_or_else(|| panic!("no series {series} in /metrics"))
    };
    // Per target: both got traffic, and together exactly what was sent.
    let per_target: Vec<f64> = targets
        .iter()
        .map(|t| {
            get(format!(
                "alb_request_count_per_target_total{{{web_labels},target=\"{}\"}}",
                t.0.addr
            ))
        })
        .collect();
    assert!(per_target.iter().all(|n| *n > 0.0), "{per_target:?}");
    assert_eq!(per_target.iter().sum::<f64>(), SENT as f64);
    assert_eq!(
        get(format!("alb_request_count_total{{{web_labels}}}")),
        SENT as f64
    );
    assert_eq!(
        get(format!(
            "alb_httpcode_target_2xx_count_total{{{web_labels}}}"
        )),
        SENT as f64
    );
    assert_eq!(
        get(format!(
            "alb_httpcode_target_5xx_count_total{{{web_labels}}}"
        )),
        0.0
    );
    assert_eq!(
        get(format!(
            "alb_target_response_time_seconds_count{{{web_labels}}}"
        )),
        SENT as f64
    );
    assert_eq!(
        get(format!(
            "alb_target_response_time_seconds_bucket{{le=\"+Inf\",{web_labels}}}"
        )),
        SENT as f64
    );
    assert_eq!(get(format!("alb_healthy_host_count{{{web_labels}}}")), 2.0);
    assert_eq!(
        get(format!("alb_unhealthy_host_count{{{web_labels}}}")),
        0.0
    );

    // The empty group: no target chosen, so no RequestCount; ELB 503s instead.
    let empty_lb = empty
        .load_balancer_arn
        .split_once(":loadbalancer/")
        .unwrap()
        .1;
    assert_eq!(
        get(format!(
            "alb_httpcode_elb_503_count_total{{load_balancer=\"{empty_lb}\"}}"
        )),
        UNAVAILABLE as f64
    );
    assert_eq!(
        get(format!(
            "alb_httpcode_elb_5xx_count_total{{load_balancer=\"{empty_lb}\"}}"
        )),
        UNAVAILABLE as f64
    );
    assert_eq!(
        get(format!("alb_request_count_total{{{}}}", labels(&empty))),
        0.0
    );
    let web_lb = web
        .load_balancer_arn
        .split_once(":loadbalancer/")
        .unwrap()
        .1;
    assert_eq!(
        get(format!(
            "alb_httpcode_elb_5xx_count_total{{load_balancer=\"{web_lb}\"}}"
        )),
        0.0
    );

    // The access log: one line per request, in AWS's field order.
    let lines = wait_until("every request in the access log", WAIT, || async {
        let text = std::fs::read_to_string(&log_path).unwrap_or_default();
        let lines: Vec<String> = text.lines().map(str::to_string).collect();
        (lines.len() >= SENT + UNAVAILABLE).then_some(lines)
    })
    .await;
    assert_eq!(lines.len(), SENT + UNAVAILABLE);
    let forwarded = &lines[0];
    let fields: Vec<&str> = forwarded.split(' ').collect();
    assert_eq!(fields[0], "http");
    assert!(
        fields[1].ends_with('Z') && fields[1].contains('T'),
        "{forwarded}"
    );
    assert_eq!(fields[2], web_lb);
    assert!(
        targets.iter().any(|t| fields[4] == t.0.addr.to_string()),
        "target:port in {forwarded}"
    );
    assert_eq!((fields[8], fields[9]), ("200", "200"), "{forwarded}");
    assert!(
        forwarded.contains(&format!("\"GET http://127.0.0.1:{}/ HTTP/1.1\"", web.port)),
        "{forwarded}"
    );
    assert!(forwarded.contains(&web.target_group_arn), "{forwarded}");
    assert!(
        forwarded.contains(" 0 "),
        "default rule priority 0: {forwarded}"
    );
    assert!(forwarded.contains("\"forward\""), "{forwarded}");
    let unavailable = lines.last().unwrap();
    let fields: Vec<&str> = unavailable.split(' ').collect();
    assert_eq!(fields[2], empty_lb);
    assert_eq!(
        &fields[4..10],
        ["-", "-1", "-1", "-1", "503", "-"],
        "{unavailable}"
    );

    drop(targets);
    emu.shutdown().await;
    let _ = std::fs::remove_file(&log_path);
}
