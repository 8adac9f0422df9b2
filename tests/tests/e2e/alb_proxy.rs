//! The ALB data plane end to end: load balancers, listeners, rules and target
//! groups created with the AWS SDK for Rust against a running emulator, and
//! traffic through the real listener sockets to in-process HTTP targets on
//! 127.0.0.x addresses (Linux routes all of 127/8 to loopback).
//!
//! Every wait is a condition with a deadline; every load loop is bounded.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::client::Waiters;
use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, FixedResponseActionConfig, ForwardActionConfig, LoadBalancerAttribute,
    ProtocolEnum, RuleCondition, TargetDescription, TargetGroupAttribute, TargetGroupTuple,
    TargetHealthStateEnum,
};
use aws_sdk_elasticloadbalancingv2::Client as Elbv2;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;
use tests::{ports, text, unique, wait_until, Backend, BoxBody, TestEmulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(30);

/// An in-process HTTP target. `/health` answers `health_status` after
/// `health_delay_ms`; every other path answers as [`tests::target::answer`]
/// (`/slow` takes 3 s, `/headers`, `/echo`, `/ws`, else its name) and counts
/// in `hits`. Dropping it closes its socket and connections.
struct Target {
    server: Backend,
    name: &'static str,
    hits: Arc<AtomicUsize>,
    health_status: Arc<AtomicU16>,
    health_delay_ms: Arc<AtomicU64>,
}

impl Target {
    async fn start(last_octet: u8, name: &'static str) -> Self {
        let hits = Arc::<AtomicUsize>::default();
        let health_status = Arc::new(AtomicU16::new(200));
        let health_delay_ms = Arc::<AtomicU64>::default();
        let (h, status, delay) = (hits.clone(), health_status.clone(), health_delay_ms.clone());
        let server = Backend::on_loopback(last_octet, move |req| {
            handle(name, req, h.clone(), status.clone(), delay.clone())
        })
        .await;
        Self {
            server,
            name,
            hits,
            health_status,
            health_delay_ms,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.server.addr
    }

    fn description(&self) -> TargetDescription {
        TargetDescription::builder()
            .id(self.addr().ip().to_string())
            .port(self.addr().port() as i32)
            .build()
    }
}

async fn handle(
    name: &'static str,
    req: Request<Incoming>,
    hits: Arc<AtomicUsize>,
    status: Arc<AtomicU16>,
    delay: Arc<AtomicU64>,
) -> Result<Response<BoxBody>, Infallible> {
    if req.uri().path() != "/health" {
        hits.fetch_add(1, Ordering::SeqCst);
        return tests::target::answer(name, req).await;
    }
    let ms = delay.load(Ordering::SeqCst);
    if ms > 0 {
        // A slow health check is what the test sets up.
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    Ok(Response::builder()
        .status(status.load(Ordering::SeqCst))
        .body(text("health"))
        .unwrap())
}

/// A load balancer with one HTTP listener forwarding to one target group.
struct Alb {
    lb_arn: String,
    dns_name: String,
    tg_arn: String,
    listener_arn: String,
    url: String,
    addr: SocketAddr,
}

/// Fast health checks: every 5 s (0.5 s at the harness's time scale 0.1),
/// 2 s timeout, thresholds 2/2, `/health`.
async fn create_target_group(elbv2: &Elbv2, name: &str) -> String {
    elbv2
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(80)
        .vpc_id("vpc-12345678")
        .target_type("ip".into())
        .health_check_path("/health")
        .health_check_interval_seconds(5)
        .health_check_timeout_seconds(2)
        .healthy_threshold_count(2)
        .unhealthy_threshold_count(2)
        .send()
        .await
        .expect("create target group")
        .target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string()
}

fn forward_to(tg_arn: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(tg_arn)
        .build()
}

async fn create_alb(elbv2: &Elbv2, targets: &[&Target]) -> Alb {
    let tg_arn = create_target_group(elbv2, &unique("tg")).await;
    let lb = elbv2
        .create_load_balancer()
        .name(unique("lb"))
        .subnets("subnet-aaaa1111")
        .subnets("subnet-bbbb2222")
        .send()
        .await
        .expect("create load balancer");
    let lb = &lb.load_balancers()[0];
    let lb_arn = lb.load_balancer_arn().unwrap().to_string();
    let dns_name = lb.dns_name().unwrap().to_string();
    let port = ports::reserve();
    let listener_arn = elbv2
        .create_listener()
        .load_balancer_arn(&lb_arn)
        .protocol(ProtocolEnum::Http)
        .port(port as i32)
        .default_actions(forward_to(&tg_arn))
        .send()
        .await
        .expect("create listener")
        .listeners()[0]
        .listener_arn()
        .unwrap()
        .to_string();
    if !targets.is_empty() {
        register(elbv2, &tg_arn, targets).await;
    }
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    Alb {
        lb_arn,
        dns_name,
        tg_arn,
        listener_arn,
        url: format!("http://{addr}"),
        addr,
    }
}

async fn register(elbv2: &Elbv2, tg_arn: &str, targets: &[&Target]) {
    elbv2
        .register_targets()
        .target_group_arn(tg_arn)
        .set_targets(Some(targets.iter().map(|t| t.description()).collect()))
        .send()
        .await
        .expect("register targets");
}

async fn wait_in_service(elbv2: &Elbv2, tg_arn: &str, targets: &[&Target]) {
    elbv2
        .wait_until_target_in_service()
        .target_group_arn(tg_arn)
        .set_targets(Some(targets.iter().map(|t| t.description()).collect()))
        .wait(WAIT)
        .await
        .expect("targets in service");
}

/// `(state, reason, description)` of one target.
async fn health_of(
    elbv2: &Elbv2,
    tg_arn: &str,
    target: &Target,
) -> Option<(String, Option<String>, Option<String>)> {
    let out = elbv2
        .describe_target_health()
        .target_group_arn(tg_arn)
        .send()
        .await
        .expect("describe target health");
    out.target_health_descriptions()
        .iter()
        .find(|d| {
            d.target().and_then(|t| t.id()) == Some(&target.addr().ip().to_string())
                && d.target().and_then(|t| t.port()) == Some(target.addr().port() as i32)
        })
        .and_then(|d| d.target_health())
        .map(|h| {
            (
                h.state()
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                h.reason().map(|r| r.as_str().to_string()),
                h.description().map(str::to_string),
            )
        })
}

fn client() -> Client<HttpConnector, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build_http()
}

async fn get(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &str,
) -> (u16, hyper::HeaderMap, String) {
    send(client, Request::get(url).body(Full::default()).unwrap()).await
}

async fn send(
    client: &Client<HttpConnector, Full<Bytes>>,
    req: Request<Full<Bytes>>,
) -> (u16, hyper::HeaderMap, String) {
    let resp = tokio::time::timeout(Duration::from_secs(20), client.request(req))
        .await
        .expect("answer in time")
        .expect("a response");
    let (parts, body) = resp.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    (
        parts.status.as_u16(),
        parts.headers,
        String::from_utf8_lossy(&body).into_owned(),
    )
}

fn backend_of(headers: &hyper::HeaderMap) -> String {
    headers
        .get("x-backend")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_targets_share_300_requests_within_ten_percent() {
    let emu = TestEmulator::start().await;
    let (a, b, c) = (
        Target::start(2, "a").await,
        Target::start(3, "b").await,
        Target::start(4, "c").await,
    );
    let alb = create_alb(&emu.elbv2, &[&a, &b, &c]).await;
    wait_in_service(&emu.elbv2, &alb.tg_arn, &[&a, &b, &c]).await;

    let http = client();
    let mut counts: HashMap<String, usize> = HashMap::new();
    for _ in 0..300 {
        let (status, headers, _) = get(&http, &alb.url).await;
        assert_eq!(status, 200);
        *counts.entry(backend_of(&headers)).or_default() += 1;
    }
    for t in [&a, &b, &c] {
        let n = counts.get(t.name).copied().unwrap_or(0);
        assert!(
            (90..=110).contains(&n),
            "{}: {n} of 300 ({counts:?})",
            t.name
        );
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_transitions_with_reason_codes_and_recovery() {
    let emu = TestEmulator::start().await;
    let (a, b) = (Target::start(2, "a").await, Target::start(3, "b").await);
    let alb = create_alb(&emu.elbv2, &[&a, &b]).await;
    wait_in_service(&emu.elbv2, &alb.tg_arn, &[&a, &b]).await;

    // 404 from the health path: unhealthy with the codes in the description.
    a.health_status.store(404, Ordering::SeqCst);
    let health = wait_until("a unhealthy", WAIT, || async {
        health_of(&emu.elbv2, &alb.tg_arn, &a)
            .await
            .filter(|h| h.0 == "unhealthy")
    })
    .await;
    assert_eq!(health.1.as_deref(), Some("Target.ResponseCodeMismatch"));
    assert_eq!(
        health.2.as_deref(),
        Some("Health checks failed with these codes: [404]")
    );
    // No traffic to a while b is healthy.
    let http = client();
    for _ in 0..20 {
        assert_eq!(backend_of(&get(&http, &alb.url).await.1), "b");
    }

    // Recovery: healthy_threshold passes bring it back.
    a.health_status.store(200, Ordering::SeqCst);
    wait_in_service(&emu.elbv2, &alb.tg_arn, &[&a]).await;
    let mut seen_a = false;
    for _ in 0..10 {
        seen_a |= backend_of(&get(&http, &alb.url).await.1) == "a";
    }
    assert!(seen_a, "a gets traffic again");

    // Too slow for the 2 s timeout (not scaled: it bounds real response
    // time): Target.Timeout.
    a.health_delay_ms.store(3_000, Ordering::SeqCst);
    let health = wait_until("a timing out", WAIT, || async {
        health_of(&emu.elbv2, &alb.tg_arn, &a)
            .await
            .filter(|h| h.0 == "unhealthy")
    })
    .await;
    assert_eq!(health.1.as_deref(), Some("Target.Timeout"));
    assert_eq!(health.2.as_deref(), Some("Request timed out"));

    // Gone entirely: Target.FailedHealthChecks.
    let b_addr = b.addr();
    drop(b);
    let health = wait_until("b failing", WAIT, || async {
        let out = emu
            .elbv2
            .describe_target_health()
            .target_group_arn(&alb.tg_arn)
            .send()
            .await
            .unwrap();
        out.target_health_descriptions()
            .iter()
            .find(|d| d.target().and_then(|t| t.port()) == Some(b_addr.port() as i32))
            .and_then(|d| d.target_health())
            .filter(|h| h.state() == Some(&TargetHealthStateEnum::Unhealthy))
            .map(|h| h.reason().map(|r| r.as_str().to_string()))
    })
    .await;
    assert_eq!(health.as_deref(), Some("Target.FailedHealthChecks"));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_target_finishes_in_flight_requests_and_gets_no_new_ones() {
    let emu = TestEmulator::start().await;
    let (a, b) = (Target::start(2, "a").await, Target::start(3, "b").await);
    let alb = create_alb(&emu.elbv2, &[&a, &b]).await;
    emu.elbv2
        .modify_target_group_attributes()
        .target_group_arn(&alb.tg_arn)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("30") // 3 s at time scale 0.1
                .build(),
        )
        .send()
        .await
        .unwrap();
    wait_in_service(&emu.elbv2, &alb.tg_arn, &[&a, &b]).await;

    // Start slow requests until one lands on a, then deregister a.
    let http = client();
    let in_flight = {
        let url = format!("{}/slow", alb.url);
        let http = http.clone();
        let mut tries = 0;
        loop {
            tries += 1;
            assert!(tries <= 4, "round robin never chose a");
            let before = a.hits.load(Ordering::SeqCst);
            let before_both = before + b.hits.load(Ordering::SeqCst);
            let h = {
                let (http, url) = (http.clone(), url.clone());
                tokio::spawn(async move { get(&http, &url).await })
            };
            // The target counts a request as it arrives, before its 3 s.
            wait_until("slow request reaches a target", WAIT, || async {
                let both = a.hits.load(Ordering::SeqCst) + b.hits.load(Ordering::SeqCst);
                (both > before_both).then_some(())
            })
            .await;
            if a.hits.load(Ordering::SeqCst) > before {
                break h;
            }
            let _ = h.await;
        }
    };
    emu.elbv2
        .deregister_targets()
        .target_group_arn(&alb.tg_arn)
        .targets(a.description())
        .send()
        .await
        .unwrap();
    let state = health_of(&emu.elbv2, &alb.tg_arn, &a).await.unwrap();
    assert_eq!(state.0, "draining");
    assert_eq!(state.1.as_deref(), Some("Target.DeregistrationInProgress"));

    // New requests avoid a once the snapshot caught up.
    wait_until("a out of rotation", WAIT, || async {
        let hits = a.hits.load(Ordering::SeqCst);
        for _ in 0..4 {
            get(&http, &alb.url).await;
        }
        (a.hits.load(Ordering::SeqCst) == hits).then_some(())
    })
    .await;
    let (status, headers, _) = in_flight.await.unwrap();
    assert_eq!(status, 200, "the in-flight request finishes");
    assert_eq!(backend_of(&headers), "a");

    // After the delay the target is gone.
    elbv2_wait_deregistered(&emu.elbv2, &alb.tg_arn, &a).await;
    emu.shutdown().await;
}

async fn elbv2_wait_deregistered(elbv2: &Elbv2, tg_arn: &str, target: &Target) {
    elbv2
        .wait_until_target_deregistered()
        .target_group_arn(tg_arn)
        .targets(target.description())
        .wait(WAIT)
        .await
        .expect("target deregistered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_and_weighted_forward_through_the_api() {
    let emu = TestEmulator::start().await;
    let (a, b) = (Target::start(2, "a").await, Target::start(3, "b").await);
    let alb = create_alb(&emu.elbv2, &[&a]).await;
    let tg_b = create_target_group(&emu.elbv2, &unique("tgb")).await;
    register(&emu.elbv2, &tg_b, &[&b]).await;
    emu.elbv2
        .create_rule()
        .listener_arn(&alb.listener_arn)
        .priority(10)
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .values("/api/*")
                .build(),
        )
        .actions(forward_to(&tg_b))
        .send()
        .await
        .expect("create rule");
    emu.elbv2
        .create_rule()
        .listener_arn(&alb.listener_arn)
        .priority(5)
        .conditions(
            RuleCondition::builder()
                .field("path-pattern")
                .values("/api/teapot")
                .build(),
        )
        .actions(
            Action::builder()
                .r#type(ActionTypeEnum::FixedResponse)
                .fixed_response_config(
                    FixedResponseActionConfig::builder()
                        .status_code("418")
                        .content_type("text/plain")
                        .message_body("short and stout")
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("create fixed-response rule");
    wait_in_service(&emu.elbv2, &alb.tg_arn, &[&a]).await;
    wait_in_service(&emu.elbv2, &tg_b, &[&b]).await;

    let http = client();
    assert_eq!(
        backend_of(&get(&http, &format!("{}/api/x", alb.url)).await.1),
        "b"
    );
    assert_eq!(
        backend_of(&get(&http, &format!("{}/web", alb.url)).await.1),
        "a"
    );
    let (status, headers, body) = get(&http, &format!("{}/api/teapot", alb.url)).await;
    assert_eq!((status, body.as_str()), (418, "short and stout"));
    assert_eq!(headers["server"], "awselb/2.0");

    // 3:1 between the two groups on the default rule.
    emu.elbv2
        .modify_listener()
        .listener_arn(&alb.listener_arn)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .forward_config(
                    ForwardActionConfig::builder()
                        .target_groups(
                            TargetGroupTuple::builder()
                                .target_group_arn(&alb.tg_arn)
                                .weight(3)
                                .build(),
                        )
                        .target_groups(
                            TargetGroupTuple::builder()
                                .target_group_arn(&tg_b)
                                .weight(1)
                                .build(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .expect("modify listener");
    // Wait for the new routing, then count.
    wait_until("weighted routing live", WAIT, || async {
        let mut seen_b = false;
        for _ in 0..8 {
            seen_b |= backend_of(&get(&http, &alb.url).await.1) == "b";
        }
        seen_b.then_some(())
    })
    .await;
    let mut to_a = 0;
    for _ in 0..400 {
        if backend_of(&get(&http, &alb.url).await.1) == "a" {
            to_a += 1;
        }
    }
    assert!(
        (270..=330).contains(&to_a),
        "a got {to_a} of 400, want ~300"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alb_errors_502_503_504() {
    let emu = TestEmulator::start().await;
    let a = Target::start(2, "a").await;
    // No targets: 503 in the ALB's own format.
    let alb = create_alb(&emu.elbv2, &[]).await;
    let http = client();
    let (status, headers, body) = get(&http, &alb.url).await;
    assert_eq!(status, 503);
    assert_eq!(headers["server"], "awselb/2.0");
    assert_eq!(headers["content-type"], "text/html");
    assert!(body.contains("<center><h1>503 Service Temporarily Unavailable</h1></center>"));

    // A slow target and a 1 s idle timeout: 504.
    register(&emu.elbv2, &alb.tg_arn, &[&a]).await;
    wait_in_service(&emu.elbv2, &alb.tg_arn, &[&a]).await;
    emu.elbv2
        .modify_load_balancer_attributes()
        .load_balancer_arn(&alb.lb_arn)
        .attributes(
            LoadBalancerAttribute::builder()
                .key("idle_timeout.timeout_seconds")
                .value("1")
                .build(),
        )
        .send()
        .await
        .expect("modify load balancer attributes");
    let (status, _, body) = wait_until("504 from the idle timeout", WAIT, || async {
        let r = get(&http, &format!("{}/slow", alb.url)).await;
        (r.0 == 504).then_some(r)
    })
    .await;
    assert_eq!(status, 504);
    assert!(body.contains("504 Gateway Time-out"));

    // The only target stops listening: fail-open routes to it, it refuses: 502.
    drop(a);
    let (status, _, body) = wait_until("502 from a refused connection", WAIT, || async {
        let r = get(&http, &alb.url).await;
        (r.0 == 502).then_some(r)
    })
    .await;
    assert_eq!(status, 502);
    assert!(body.contains("502 Bad Gateway"));
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarded_headers_host_routing_and_retry_on_refused() {
    let emu = TestEmulator::start().await;
    let (a, b) = (Target::start(2, "a").await, Target::start(3, "b").await);
    let alb = create_alb(&emu.elbv2, &[&a, &b]).await;
    wait_in_service(&emu.elbv2, &alb.tg_arn, &[&a, &b]).await;
    let http = client();

    let (_, _, body) = send(
        &http,
        Request::get(format!("{}/headers", alb.url))
            .header("host", "shop.example.com")
            .header("x-forwarded-for", "198.51.100.1")
            .header("connection", "x-hop")
            .header("x-hop", "1")
            .header(
                "x-amzn-trace-id",
                "Root=1-5759e988-bd862e3fe1be46a994272793",
            )
            .body(Full::default())
            .unwrap(),
    )
    .await;
    let seen: HashMap<&str, &str> = body.lines().filter_map(|l| l.split_once(": ")).collect();
    assert_eq!(seen["host"], "shop.example.com");
    assert_eq!(seen["x-forwarded-for"], "198.51.100.1, 127.0.0.1");
    assert_eq!(seen["x-forwarded-proto"], "http");
    assert_eq!(seen["x-forwarded-port"], alb.addr.port().to_string());
    assert!(seen["x-amzn-trace-id"].starts_with("Self=1-"), "{body}");
    assert!(seen["x-amzn-trace-id"].contains("Root=1-5759e988-bd862e3fe1be46a994272793"));
    assert!(!seen.contains_key("x-hop"));

    // The load balancer's DNS name on the control port reaches the ALB.
    let (status, headers, _) = send(
        &http,
        Request::get(format!("{}/", emu.endpoint_url()))
            .header("host", format!("{}:{}", alb.dns_name, alb.addr.port()))
            .body(Full::default())
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(["a", "b"].contains(&backend_of(&headers).as_str()));

    // b dies between two health checks: its share is retried on a.
    drop(b);
    for _ in 0..10 {
        let (status, headers, _) = get(&http, &alb.url).await;
        assert_eq!(status, 200);
        assert_eq!(backend_of(&headers), "a");
    }
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn websocket_large_bodies_malformed_requests_and_disconnects() {
    let emu = TestEmulator::start().await;
    let a = Target::start(2, "a").await;
    let alb = create_alb(&emu.elbv2, &[&a]).await;
    wait_in_service(&emu.elbv2, &alb.tg_arn, &[&a]).await;

    // WebSocket handshake and echo through the tunnel.
    let mut ws = TcpStream::connect(alb.addr).await.unwrap();
    ws.write_all(
        b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n",
    )
    .await
    .unwrap();
    let head = read_head(&mut ws).await;
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    for msg in [&b"\x81\x05hello"[..], b"\x81\x03abc"] {
        ws.write_all(msg).await.unwrap();
        let mut back = vec![0u8; msg.len()];
        tokio::time::timeout(Duration::from_secs(5), ws.read_exact(&mut back))
            .await
            .expect("echo in time")
            .unwrap();
        assert_eq!(back, msg);
    }
    drop(ws);

    // 4 MiB streamed up and back, chunked.
    let body = Bytes::from(vec![b'z'; 4 << 20]);
    let (status, _, echoed) = send(
        &client(),
        Request::post(format!("{}/echo", alb.url))
            .body(Full::new(body.clone()))
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(echoed.len(), body.len());

    // Malformed requests: 400, nothing forwarded.
    let hits = a.hits.load(Ordering::SeqCst);
    for bad in [
        &b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabc"[..],
        b"NOT AN HTTP REQUEST\r\n\r\n",
    ] {
        let out = raw_exchange(alb.addr, bad).await;
        assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    }
    assert_eq!(a.hits.load(Ordering::SeqCst), hits);

    // A client that hangs up mid-body does not wedge the proxy.
    let mut s = TcpStream::connect(alb.addr).await.unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\nabc")
        .await
        .unwrap();
    wait_until("partial request reaches the target", WAIT, || async {
        (a.hits.load(Ordering::SeqCst) > hits).then_some(())
    })
    .await;
    drop(s);
    let (status, _, _) = get(&client(), &alb.url).await;
    assert_eq!(status, 200);
    emu.shutdown().await;
}

async fn read_head(s: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut byte))
            .await
            .expect("head in time")
            .unwrap();
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

async fn raw_exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}
