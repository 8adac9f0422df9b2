//! Data-plane tests over real sockets: the model is written straight into the
//! store (no ELBv2 API involved), targets are tiny hyper servers on
//! 127.0.0.x, and clients are hyper clients or raw TCP.

use std::collections::{BTreeMap, HashMap};
use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::Frame;
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::{TokioExecutor, TokioIo};
use time::OffsetDateTime;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use test_support::{wait_until, Backend};

use super::Dataplane;
use crate::config::Config;
use crate::domain::elbv2::{
    Action, ActionKind, Condition, FixedResponseConfig, ForwardConfig, HealthCheckSettings,
    Listener, LoadBalancer, LoadBalancerState, RedirectConfig, Registration, Rule, TargetGroup,
    TargetHealth, TargetState,
};
use crate::domain::Store;

const LB: &str =
    "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/lb/0123456789abcdef";
const LISTENER: &str =
    "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/lb/0123456789abcdef/aaaa";
const DNS: &str = "lb-123.elb.localhost";

fn tg_arn(name: &str) -> String {
    format!(
        "arn:aws:elasticloadbalancing:us-east-1:000000000000:targetgroup/{name}/0123456789abcdef"
    )
}

/// A test target named `name`: answers as [`test_support::target::answer`]
/// and counts requests.
async fn backend(ip: Ipv4Addr, name: &'static str) -> Backend {
    Backend::start(ip, move |req| test_support::target::answer(name, req)).await
}

fn health_check() -> HealthCheckSettings {
    HealthCheckSettings {
        enabled: true,
        protocol: "HTTP".into(),
        port: "traffic-port".into(),
        path: "/".into(),
        interval_seconds: 5,
        timeout_seconds: 2,
        healthy_threshold: 2,
        unhealthy_threshold: 2,
        matcher: "200".into(),
    }
}

fn registration(addr: SocketAddr, state: TargetState) -> Registration {
    Registration {
        id: addr.ip(),
        port: addr.port(),
        registered_at: OffsetDateTime::now_utc(),
        draining_until: None,
        health: TargetHealth {
            state,
            reason: None,
            description: None,
        },
    }
}

fn target_group(name: &str, targets: &[SocketAddr], attrs: &[(&str, &str)]) -> TargetGroup {
    TargetGroup {
        arn: tg_arn(name),
        name: name.into(),
        protocol: "HTTP".into(),
        protocol_version: "HTTP1".into(),
        port: Some(80),
        vpc_id: None,
        target_type: "ip".into(),
        health_check: health_check(),
        attributes: attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        registrations: targets
            .iter()
            .map(|a| registration(*a, TargetState::Healthy))
            .collect(),
    }
}

fn forward(tgs: &[(&str, u32)]) -> Action {
    Action {
        order: None,
        kind: ActionKind::Forward(ForwardConfig {
            target_groups: tgs.iter().map(|(n, w)| (tg_arn(n), *w)).collect(),
            stickiness_seconds: None,
            single_target_group: tgs.len() == 1,
        }),
    }
}

/// A running data plane with one load balancer and one listener.
struct Alb {
    store: Store,
    dataplane: Dataplane,
    addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

impl Alb {
    async fn start(groups: Vec<TargetGroup>, default: Action, lb_attrs: &[(&str, &str)]) -> Self {
        let store = Store::new(Config {
            time_scale: 0.1,
            ..Config::default()
        });
        let dataplane = Dataplane::start(store.clone());
        dataplane
            .open_listener(LISTENER, "127.0.0.1:0".parse().unwrap())
            .unwrap();
        let addr = dataplane.listener_addr(LISTENER).unwrap();
        let attributes: BTreeMap<String, String> = lb_attrs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        store.write(|s| {
            let e = &mut s.elbv2;
            e.load_balancers.insert(
                LB.into(),
                LoadBalancer {
                    arn: LB.into(),
                    name: "lb".into(),
                    dns_name: DNS.into(),
                    scheme: "internet-facing".into(),
                    lb_type: "application".into(),
                    ip_address_type: "ipv4".into(),
                    state: LoadBalancerState::Active,
                    created_at: OffsetDateTime::now_utc(),
                    subnets: vec![],
                    zones: vec![],
                    security_groups: vec![],
                    vpc_id: "vpc-1".into(),
                    attributes,
                },
            );
            for tg in groups {
                e.target_groups.insert(tg.arn.clone(), tg);
            }
            e.listeners.insert(
                LISTENER.into(),
                Listener {
                    arn: LISTENER.into(),
                    load_balancer_arn: LB.into(),
                    port: 80,
                    protocol: "HTTP".into(),
                    default_actions: vec![default],
                    attributes: crate::domain::elbv2::listener_attributes::defaults(),
                },
            );
        });
        let alb = Self {
            store,
            dataplane,
            addr,
            client: Client::builder(TokioExecutor::new()).build_http(),
        };
        alb.wait_published().await;
        alb
    }

    /// The usual set-up: one target group `web` of `targets`, forwarded to
    /// by the listener's default action.
    async fn forwarding_to(targets: &[SocketAddr]) -> Self {
        Self::start(
            vec![target_group("web", targets, &[])],
            forward(&[("web", 1)]),
            &[],
        )
        .await
    }

    /// Waits until the publisher saw the latest store version.
    async fn wait_published(&self) {
        wait_until("the snapshot published", Duration::from_secs(5), || async {
            let (published, latest) = (
                self.dataplane.published_version(),
                *self.store.subscribe().borrow(),
            );
            if self.dataplane.snapshot().listeners.contains_key(LISTENER) && published == latest {
                Ok(())
            } else {
                Err(format!("version {published} of {latest}"))
            }
        })
        .await
    }

    async fn update(&self, f: impl FnOnce(&mut crate::domain::elbv2::Elbv2State)) {
        self.store.write(|s| f(&mut s.elbv2));
        self.wait_published().await;
    }

    async fn get(&self, path: &str) -> (StatusCode, http::HeaderMap, String) {
        self.send(
            Request::get(format!("http://{}{}", self.addr, path))
                .body(Full::default())
                .unwrap(),
        )
        .await
    }

    async fn send(&self, req: Request<Full<Bytes>>) -> (StatusCode, http::HeaderMap, String) {
        let resp = tokio::time::timeout(Duration::from_secs(20), self.client.request(req))
            .await
            .expect("response in time")
            .expect("response");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.unwrap().to_bytes();
        (
            parts.status,
            parts.headers,
            String::from_utf8_lossy(&body).into_owned(),
        )
    }
}

fn lo(n: u8) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, n)
}

/// Raw HTTP/1.1 exchange: writes `request`, reads until the server closes
/// or `limit` passes.
async fn raw(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(request).await.unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn round_robin_spreads_300_requests_evenly() {
    let b = [
        backend(lo(2), "a").await,
        backend(lo(3), "b").await,
        backend(lo(4), "c").await,
    ];
    let addrs: Vec<_> = b.iter().map(|b| b.addr).collect();
    let alb = Alb::start(
        vec![target_group("web", &addrs, &[])],
        forward(&[("web", 1)]),
        &[],
    )
    .await;
    let mut seen: HashMap<String, usize> = HashMap::new();
    for _ in 0..300 {
        let (status, headers, _) = alb.get("/").await;
        assert_eq!(status, 200);
        *seen
            .entry(headers["x-backend"].to_str().unwrap().into())
            .or_default() += 1;
    }
    assert_eq!(seen.len(), 3);
    for (name, n) in &seen {
        assert!((90..=110).contains(n), "{name}: {n} of 300 ({seen:?})");
    }
    assert_eq!(
        alb.dataplane.target_request_count(&tg_arn("web"), addrs[0]),
        seen["a"] as u64
    );
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn rules_route_by_priority_and_conditions() {
    let api = backend(lo(2), "api").await;
    let web = backend(lo(3), "web").await;
    let alb = Alb::start(
        vec![
            target_group("api", &[api.addr], &[]),
            target_group("web", &[web.addr], &[]),
        ],
        forward(&[("web", 1)]),
        &[],
    )
    .await;
    let rule = |n: &str, priority: u32, conditions: Vec<Condition>, action: Action| Rule {
        arn: format!("{LISTENER}/rule-{n}"),
        listener_arn: LISTENER.into(),
        priority: Some(priority),
        conditions,
        actions: vec![action],
    };
    alb.update(|e| {
        for r in [
            rule(
                "1",
                10,
                vec![Condition::PathPattern(vec!["/api/*".into()])],
                forward(&[("api", 1)]),
            ),
            // A lower number wins although it is inserted later.
            rule(
                "2",
                5,
                vec![
                    Condition::PathPattern(vec!["/api/fixed".into()]),
                    Condition::HttpRequestMethod(vec!["GET".into()]),
                ],
                Action {
                    order: None,
                    kind: ActionKind::FixedResponse(FixedResponseConfig {
                        status_code: "418".into(),
                        content_type: Some("text/plain".into()),
                        message_body: Some("teapot".into()),
                    }),
                },
            ),
            rule(
                "3",
                20,
                vec![Condition::HostHeader(vec!["old.example.com".into()])],
                Action {
                    order: None,
                    kind: ActionKind::Redirect(RedirectConfig {
                        protocol: Some("HTTPS".into()),
                        port: Some("443".into()),
                        host: Some("new.example.com".into()),
                        path: None,
                        query: None,
                        status_code: "HTTP_301".into(),
                    }),
                },
            ),
            rule(
                "4",
                30,
                vec![Condition::HttpHeader {
                    name: "X-Canary".into(),
                    values: vec!["y*".into()],
                }],
                forward(&[("api", 1)]),
            ),
        ] {
            e.rules.insert(r.arn.clone(), r);
        }
    })
    .await;

    let (_, h, _) = alb.get("/api/users").await;
    assert_eq!(h["x-backend"], "api");
    let (_, h, _) = alb.get("/other").await;
    assert_eq!(h["x-backend"], "web");
    let (status, h, body) = alb.get("/api/fixed").await;
    assert_eq!((status.as_u16(), body.as_str()), (418, "teapot"));
    assert_eq!(h["server"], "awselb/2.0");
    let (status, h, _) = alb
        .send(
            Request::get(format!("http://{}/p?q=1", alb.addr))
                .header("host", "old.example.com")
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert_eq!(status, 301);
    assert_eq!(h["location"], "https://new.example.com/p?q=1");
    let (_, h, _) = alb
        .send(
            Request::get(format!("http://{}/x", alb.addr))
                .header("x-canary", "YES")
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert_eq!(h["x-backend"], "api");
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn adds_forwarding_headers_and_strips_hop_by_hop() {
    let b = backend(lo(2), "a").await;
    let alb = Alb::forwarding_to(&[b.addr]).await;
    let (status, _, body) = alb
        .send(
            Request::get(format!("http://{}/headers", alb.addr))
                .header("host", "app.example.com")
                .header("x-forwarded-for", "203.0.113.7")
                .header("connection", "x-private")
                .header("x-private", "secret")
                .header("te", "trailers")
                .header("proxy-authorization", "Basic eA==")
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert_eq!(status, 200);
    let headers: HashMap<&str, &str> = body.lines().filter_map(|l| l.split_once(": ")).collect();
    assert_eq!(headers["host"], "app.example.com");
    assert_eq!(headers["x-forwarded-for"], "203.0.113.7, 127.0.0.1");
    assert_eq!(headers["x-forwarded-proto"], "http");
    assert_eq!(headers["x-forwarded-port"], "80");
    assert!(headers["x-amzn-trace-id"].starts_with("Root=1-"), "{body}");
    for gone in ["x-private", "te", "proxy-authorization"] {
        assert!(!headers.contains_key(gone), "{gone} forwarded: {body}");
    }

    // More than 30 addresses: 463, nothing forwarded.
    let before = b.requests();
    let many: Vec<String> = (0..31).map(|i| format!("10.0.0.{i}")).collect();
    let (status, _, _) = alb
        .send(
            Request::get(format!("http://{}/", alb.addr))
                .header("x-forwarded-for", many.join(", "))
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert_eq!(status.as_u16(), 463);
    let (status, h, _) = alb
        .send(
            Request::builder()
                .method("TRACE")
                .uri(format!("http://{}/", alb.addr))
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert_eq!(status, 405);
    assert_eq!(h["server"], "awselb/2.0");
    assert_eq!(b.requests(), before);
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn error_statuses_502_503_504() {
    let b = backend(lo(2), "a").await;
    // A port nothing listens on, held so that nothing else takes it.
    let dead = test_support::ports::Refusing::on(lo(5));
    let alb = Alb::start(
        vec![
            target_group("live", &[b.addr], &[]),
            target_group("dead", &[dead.addr], &[]),
            target_group("empty", &[], &[]),
        ],
        forward(&[("live", 1)]),
        &[("idle_timeout.timeout_seconds", "1")],
    )
    .await;

    let (status, h, body) = alb.get("/slow").await;
    assert_eq!(status, 504);
    assert_eq!(h["server"], "awselb/2.0");
    assert!(body.contains("504 Gateway Time-out"));

    alb.update(|e| {
        e.listeners.get_mut(LISTENER).unwrap().default_actions = vec![forward(&[("dead", 1)])];
    })
    .await;
    let (status, h, body) = alb.get("/").await;
    assert_eq!(status, 502);
    assert_eq!(h["content-type"], "text/html");
    assert!(body.contains("<title>502 Bad Gateway</title>"));

    alb.update(|e| {
        e.listeners.get_mut(LISTENER).unwrap().default_actions = vec![forward(&[("empty", 1)])];
    })
    .await;
    let (status, h, body) = alb.get("/").await;
    assert_eq!(status, 503);
    assert_eq!(h["content-length"], "162");
    assert!(body.contains("503 Service Temporarily Unavailable"));
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn garbage_from_target_is_502() {
    let l = tokio::net::TcpListener::bind((lo(6), 0)).await.unwrap();
    let addr = l.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"this is not http\r\n\r\n").await;
        }
    });
    let alb = Alb::forwarding_to(&[addr]).await;
    let (status, _, _) = alb.get("/").await;
    assert_eq!(status, 502);
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn refused_connection_is_retried_on_another_target() {
    let b = backend(lo(2), "a").await;
    let dead = test_support::ports::Refusing::on(lo(7));
    let alb = Alb::forwarding_to(&[b.addr, dead.addr]).await;
    for _ in 0..20 {
        let (status, _, _) = alb.get("/").await;
        assert_eq!(status, 200);
    }
    assert_eq!(b.requests(), 20);
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn draining_unhealthy_and_fail_open() {
    let a = backend(lo(2), "a").await;
    let b = backend(lo(3), "b").await;
    let alb = Alb::forwarding_to(&[a.addr, b.addr]).await;
    let web = tg_arn("web");
    // b drains: no new requests.
    alb.update(|e| {
        let reg = &mut e.target_groups.get_mut(&web).unwrap().registrations[1];
        reg.draining_until = Some(OffsetDateTime::now_utc() + Duration::from_secs(300));
    })
    .await;
    for _ in 0..10 {
        assert_eq!(alb.get("/").await.1["x-backend"], "a");
    }
    // a unhealthy, b draining: fail open to the non-draining one.
    alb.update(|e| {
        e.target_groups.get_mut(&web).unwrap().registrations[0]
            .health
            .state = TargetState::Unhealthy;
    })
    .await;
    for _ in 0..4 {
        assert_eq!(alb.get("/").await.1["x-backend"], "a");
    }
    // Both registered, a unhealthy, b healthy: only b.
    alb.update(|e| {
        e.target_groups.get_mut(&web).unwrap().registrations[1].draining_until = None;
    })
    .await;
    for _ in 0..4 {
        assert_eq!(alb.get("/").await.1["x-backend"], "b");
    }
    // Initial targets get nothing while a healthy one exists.
    alb.update(|e| {
        let regs = &mut e.target_groups.get_mut(&web).unwrap().registrations;
        regs[0].health.state = TargetState::Initial;
    })
    .await;
    for _ in 0..4 {
        assert_eq!(alb.get("/").await.1["x-backend"], "b");
    }
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn weighted_target_groups_split_three_to_one() {
    let a = backend(lo(2), "a").await;
    let b = backend(lo(3), "b").await;
    let alb = Alb::start(
        vec![
            target_group("blue", &[a.addr], &[]),
            target_group("green", &[b.addr], &[]),
        ],
        forward(&[("blue", 3), ("green", 1)]),
        &[],
    )
    .await;
    let mut blue = 0;
    for _ in 0..200 {
        if alb.get("/").await.1["x-backend"] == "a" {
            blue += 1;
        }
    }
    assert!((140..=160).contains(&blue), "blue got {blue} of 200");
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn lb_cookie_stickiness() {
    let a = backend(lo(2), "a").await;
    let b = backend(lo(3), "b").await;
    let alb = Alb::start(
        vec![target_group(
            "web",
            &[a.addr, b.addr],
            &[
                ("stickiness.enabled", "true"),
                ("stickiness.type", "lb_cookie"),
            ],
        )],
        forward(&[("web", 1)]),
        &[],
    )
    .await;
    let (_, h, _) = alb.get("/").await;
    let first = h["x-backend"].clone();
    let cookies: Vec<&str> = h
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let awsalb = cookies
        .iter()
        .find(|c| c.starts_with("AWSALB="))
        .expect("AWSALB cookie");
    assert!(
        awsalb.contains("Expires=") && !awsalb.contains("Max-Age"),
        "{awsalb}"
    );
    assert!(cookies
        .iter()
        .any(|c| c.starts_with("AWSALBCORS=") && c.contains("SameSite=None")));
    let value = awsalb.split(';').next().unwrap().to_string();
    for _ in 0..10 {
        let (_, h, _) = alb
            .send(
                Request::get(format!("http://{}/", alb.addr))
                    .header("cookie", &value)
                    .body(Full::default())
                    .unwrap(),
            )
            .await;
        assert_eq!(h["x-backend"], first);
    }
    // A cookie naming nothing valid is replaced.
    let (_, h, _) = alb
        .send(
            Request::get(format!("http://{}/", alb.addr))
                .header("cookie", "AWSALB=garbage")
                .body(Full::default())
                .unwrap(),
        )
        .await;
    assert!(h
        .get_all("set-cookie")
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("AWSALB=")));
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn streams_large_chunked_bodies_both_ways() {
    let b = backend(lo(2), "a").await;
    let alb = Alb::forwarding_to(&[b.addr]).await;
    // 8 MiB in 64 KiB chunks, sent chunked (no Content-Length).
    let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
    let frames = futures::stream::iter(
        (0..128).map(move |_| Ok::<_, Infallible>(Frame::data(chunk.clone()))),
    );
    let client: Client<HttpConnector, StreamBody<_>> =
        Client::builder(TokioExecutor::new()).build_http();
    let req = Request::post(format!("http://{}/echo", alb.addr))
        .body(StreamBody::new(frames))
        .unwrap();
    let resp = client.request(req).await.unwrap();
    assert_eq!(resp.status(), 200);
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body.len(), 8 * 1024 * 1024);
    assert!(body.iter().all(|b| *b == b'x'));
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn upgrade_tunnels_bytes_both_ways() {
    let b = backend(lo(2), "a").await;
    let alb = Alb::forwarding_to(&[b.addr]).await;
    let mut s = TcpStream::connect(alb.addr).await.unwrap();
    s.write_all(b"GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n")
        .await
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        s.read_exact(&mut byte).await.unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    assert!(
        head.to_ascii_lowercase().contains("upgrade: echo"),
        "{head}"
    );
    for msg in [&b"ping"[..], b"second message"] {
        s.write_all(msg).await.unwrap();
        let mut back = vec![0u8; msg.len()];
        tokio::time::timeout(Duration::from_secs(5), s.read_exact(&mut back))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(back, msg);
    }
    drop(s);
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn malformed_and_smuggling_requests_per_desync_mode() {
    let b = backend(lo(2), "a").await;
    let smuggle = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
    // Defensive (the default): forwarded, then closed; the rest never.
    let alb = Alb::forwarding_to(&[b.addr]).await;
    let out = raw(alb.addr, smuggle).await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        out.to_ascii_lowercase().contains("connection: close"),
        "{out}"
    );
    assert_eq!(out.matches("HTTP/1.1 ").count(), 1, "{out}");
    assert_eq!(b.requests(), 1);
    let out = raw(alb.addr, b"GARBAGE\r\n\r\n").await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert!(out.contains("awselb/2.0"), "{out}");
    // A keep-alive request before the bad one is still served.
    let out = raw(
        alb.addr,
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\nPOST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\n0\r\n\r\n",
    )
    .await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("HTTP/1.1 400"), "{out}");
    assert_eq!(b.requests(), 2);
    alb.dataplane.shutdown().await;

    // Strictest: 400 and nothing forwarded.
    let alb = Alb::start(
        vec![target_group("web", &[b.addr], &[])],
        forward(&[("web", 1)]),
        &[("routing.http.desync_mitigation_mode", "strictest")],
    )
    .await;
    let out = raw(alb.addr, smuggle).await;
    assert!(out.starts_with("HTTP/1.1 400"), "{out}");
    assert_eq!(b.requests(), 2);
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn client_disconnecting_mid_request_releases_the_target() {
    let b = backend(lo(2), "a").await;
    let alb = Alb::forwarding_to(&[b.addr]).await;
    let mut s = TcpStream::connect(alb.addr).await.unwrap();
    s.write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\npartial")
        .await
        .unwrap();
    // Wait until the request reached the target, then hang up.
    wait_until(
        "the request at the target",
        Duration::from_secs(5),
        || async { (b.requests() > 0).then_some(()) },
    )
    .await;
    drop(s);
    let snapshot = alb.dataplane.snapshot();
    let target = snapshot.target_groups[&tg_arn("web")].targets[0].clone();
    wait_until("no request outstanding", Duration::from_secs(5), || async {
        match target.stats.outstanding() {
            0 => Ok(()),
            n => Err(format!("{n} outstanding")),
        }
    })
    .await;
    // The proxy still serves.
    assert_eq!(alb.get("/").await.0, 200);
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn closing_a_listener_frees_its_port_and_bind_errors_surface() {
    let b = backend(lo(2), "a").await;
    let alb = Alb::forwarding_to(&[b.addr]).await;
    // The port is taken: a second listener on it fails.
    let err = alb.dataplane.open_listener("other", alb.addr).unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    alb.dataplane.close_listener(LISTENER);
    wait_until("the listener refusing", Duration::from_secs(5), || async {
        TcpStream::connect(alb.addr).await.err()
    })
    .await;
    alb.dataplane.open_listener(LISTENER, alb.addr).unwrap();
    alb.wait_published().await;
    assert_eq!(alb.get("/").await.0, 200);
    // Closing them all returns once the sockets are closed: the port can be
    // bound again at once, with no waiting.
    alb.dataplane.close_all_listeners().await;
    assert!(alb.dataplane.listener_addr(LISTENER).is_none());
    alb.dataplane.open_listener(LISTENER, alb.addr).unwrap();
    alb.wait_published().await;
    assert_eq!(alb.get("/").await.0, 200);
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn host_routed_requests_on_the_control_port() {
    let b = backend(lo(2), "a").await;
    let alb = Alb::forwarding_to(&[b.addr]).await;
    let req = Request::get("/anything?x=1")
        .header("host", format!("{DNS}:4566"))
        .body(axum::body::Body::empty())
        .unwrap();
    let resp = alb
        .dataplane
        .serve_host_routed(req)
        .await
        .unwrap_or_else(|_| panic!("not routed"));
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["x-backend"], "a");
    let req = Request::get("/")
        .header("host", "127.0.0.1:4566")
        .body(axum::body::Body::empty())
        .unwrap();
    assert!(alb.dataplane.serve_host_routed(req).await.is_err());
    alb.dataplane.shutdown().await;
}

#[test]
fn loopback_aliases_are_usable() {
    // Documents the assumption the tests above rely on (Linux routes 127/8).
    let l = std::net::TcpListener::bind((IpAddr::V4(lo(9)), 0));
    assert!(l.is_ok());
}

#[tokio::test]
async fn quiet_client_connections_close_and_busy_ones_stay() {
    // An idle timeout of 3 s: the watchdog looks every 1.5 s and closes a
    // quiet connection after 3-4.5 s; a stalled head gets 408 after 3 s.
    let b = backend(lo(2), "a").await;
    let alb = Alb::start(
        vec![target_group("web", &[b.addr], &[])],
        forward(&[("web", 1)]),
        &[("idle_timeout.timeout_seconds", "3")],
    )
    .await;

    let busy = async {
        let stream = TcpStream::connect(alb.addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        let conn = tokio::spawn(conn);
        // One request a second for 10 s on the same connection.
        for i in 0..10 {
            sender
                .ready()
                .await
                .unwrap_or_else(|e| panic!("closed before request {i}: {e}"));
            let req = Request::get("/")
                .header("host", "x")
                .body(Full::new(Bytes::new()))
                .unwrap();
            let resp = sender.send_request(req).await.unwrap();
            assert_eq!(resp.status(), 200);
            resp.into_body().collect().await.unwrap();
            // The pace is the test: busy, but never quiet for the idle timeout.
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // Then quiet: the ALB closes it.
        let closed = tokio::time::timeout(Duration::from_secs(20), conn).await;
        assert!(closed.is_ok(), "an idle keep-alive connection stayed open");
    };

    let slow_head = async {
        let started = tokio::time::Instant::now();
        let mut s = TcpStream::connect(alb.addr).await.unwrap();
        s.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n").await.unwrap();
        let mut out = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
        assert!(
            read.is_ok(),
            "a connection with an unfinished head stayed open"
        );
        let out = String::from_utf8_lossy(&out);
        assert!(out.starts_with("HTTP/1.1 408"), "{out}");
        assert!(out.contains("awselb/2.0"), "{out}");
        assert!(
            started.elapsed() >= Duration::from_secs(3),
            "closed after {:?}, before the timeout",
            started.elapsed()
        );
    };

    tokio::join!(busy, slow_head);
    assert_eq!(b.requests(), 10);
    alb.dataplane.shutdown().await;
}

/// A target written on raw sockets, for the answers hyper's server never
/// gives: interim responses, close-delimited bodies, trailers, conflicting
/// lengths, early answers, and a connection that hangs up on its second
/// request. Counts the connections that carried a `/t/` request.
async fn scripted_target(ip: Ipv4Addr) -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind((ip, 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counted = connections.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let counted = counted.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut served = 0;
                loop {
                    let end = loop {
                        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                            break i + 4;
                        }
                        let mut chunk = [0u8; 4096];
                        match s.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    };
                    let head = String::from_utf8_lossy(&buf[..end]).into_owned();
                    buf.drain(..end);
                    let path = head.split(' ').nth(1).unwrap_or("").to_string();
                    if !path.starts_with("/t/") {
                        // Health checks.
                        let _ = s
                            .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n")
                            .await;
                        continue;
                    }
                    served += 1;
                    if served == 1 {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    let answer: &[u8] = match path.as_str() {
                        "/t/ok" => b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
                        "/t/head" => b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n",
                        "/t/once" if served > 1 => return, // hang up unanswered
                        "/t/once" => b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\nonce",
                        "/t/interim" => b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nlink: </x>\r\n\r\nHTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
                        "/t/no-content" => b"HTTP/1.1 204 No Content\r\n\r\n",
                        "/t/trailers" => b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\nx-sum: 5\r\n\r\n",
                        "/t/conflict" => b"HTTP/1.1 200 OK\r\ncontent-length: 1\r\ncontent-length: 2\r\n\r\nab",
                        "/t/http10" | "/t/early" => {
                            let answer: &[u8] = if path == "/t/http10" {
                                b"HTTP/1.0 200 OK\r\n\r\nuntil close"
                            } else {
                                b"HTTP/1.1 413 Payload Too Large\r\nconnection: close\r\ncontent-length: 3\r\n\r\nbig"
                            };
                            let _ = s.write_all(answer).await;
                            // A lingering close: the rest of the request is
                            // read and dropped, so the close is not a reset.
                            let _ = s.shutdown().await;
                            let mut sink = [0u8; 4096];
                            while let Ok(Ok(n)) =
                                tokio::time::timeout(Duration::from_secs(5), s.read(&mut sink)).await
                            {
                                if n == 0 {
                                    break;
                                }
                            }
                            return;
                        }
                        _ => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n",
                    };
                    if s.write_all(answer).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (addr, connections)
}

#[tokio::test]
async fn target_connections_are_reused_and_every_framing_is_relayed() {
    let (addr, connections) = scripted_target(lo(8)).await;
    let alb = Alb::forwarding_to(&[addr]).await;
    for _ in 0..20 {
        let (status, _, body) = alb.get("/t/ok").await;
        assert_eq!((status.as_u16(), body.as_str()), (200, "ok"));
    }
    assert_eq!(connections.load(Ordering::SeqCst), 1, "keep-alive reuse");

    // The pooled connection hangs up on the next request without an answer:
    // a GET is sent again on a new connection, a POST is not (502).
    let (status, _, body) = alb.get("/t/once").await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "once"));
    assert_eq!(connections.load(Ordering::SeqCst), 2);
    let post = Request::post(format!("http://{}/t/once", alb.addr))
        .body(Full::default())
        .unwrap();
    assert_eq!(alb.send(post).await.0, 502);

    let (status, _, body) = alb.get("/t/interim").await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "ok"));
    let head = Request::head(format!("http://{}/t/head", alb.addr))
        .body(Full::default())
        .unwrap();
    let (status, headers, body) = alb.send(head).await;
    assert_eq!((status.as_u16(), body.as_str()), (200, ""));
    assert_eq!(headers["content-length"], "2");
    assert_eq!(alb.get("/t/no-content").await.0, 204);
    let (status, _, body) = alb.get("/t/http10").await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "until close"));
    let (status, _, body) = alb.get("/t/trailers").await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "abcde"));
    assert_eq!(alb.get("/t/conflict").await.0, 502);

    // An answer that comes before the request body is taken is relayed.
    let mut s = TcpStream::connect(alb.addr).await.unwrap();
    s.write_all(b"POST /t/early HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n")
        .await
        .unwrap();
    s.write_all(&[b'x'; 1000]).await.unwrap();
    let head = tokio::time::timeout(Duration::from_secs(5), async {
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") && s.read_exact(&mut byte).await.is_ok() {
            head.push(byte[0]);
        }
        String::from_utf8_lossy(&head).into_owned()
    })
    .await
    .expect("an answer before the body was sent");
    assert!(head.starts_with("HTTP/1.1 413"), "{head}");

    let (status, _, body) = alb.get("/t/ok").await;
    assert_eq!((status.as_u16(), body.as_str()), (200, "ok"));
    alb.dataplane.shutdown().await;
}

#[tokio::test]
async fn a_request_waiting_on_a_target_that_leaves_routing_gets_502() {
    // Accepts and reads, never answers: a task whose network vanished.
    let silent = tokio::net::TcpListener::bind((lo(8), 0)).await.unwrap();
    let addr = silent.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = accepted.clone();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = silent.accept().await {
            seen.fetch_add(1, Ordering::SeqCst);
            held.push(s);
        }
    });
    let b = backend(lo(2), "a").await;
    let alb = Arc::new(Alb::forwarding_to(&[addr]).await);
    let waiting = tokio::spawn({
        let alb = alb.clone();
        async move { alb.get("/").await }
    });
    wait_until(
        "the request at the target",
        Duration::from_secs(5),
        || async { (accepted.load(Ordering::SeqCst) > 0).then_some(()) },
    )
    .await;
    // Its deregistration delay is over: the group now holds another target.
    alb.update(|e| {
        *e.target_groups.get_mut(&tg_arn("web")).unwrap() = target_group("web", &[b.addr], &[])
    })
    .await;
    let (status, h, _) = waiting.await.unwrap();
    assert_eq!(status, 502);
    assert_eq!(h["server"], "awselb/2.0");
    let (status, _, _) = alb.get("/").await;
    assert_eq!(status, 200);
    alb.dataplane.shutdown().await;
}
