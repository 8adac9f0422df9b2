//! Hostile HTTP on an ALB listener, end to end: request smuggling (CL.TE,
//! TE.CL, differing and duplicate `Content-Length`, obfuscated
//! `Transfer-Encoding`), invalid methods and request targets, slowloris
//! heads and bodies, and header floods, each sent on a raw socket to a
//! listener created with the AWS SDK. Each gets the status ALB gives (its
//! `awselb/2.0` page, the connection closed where ALB closes it), and a
//! target that counts what reaches it shows what was forwarded: never a
//! smuggled request, and the outer one per the desync mitigation mode.
//! After every batch, a plain request through the same listener gets 200.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_elasticloadbalancingv2::client::Waiters;
use aws_sdk_elasticloadbalancingv2::types::{LoadBalancerAttribute, TargetDescription};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use tests::{alb, unique, wait_until, TestEmulator};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const WAIT: Duration = Duration::from_secs(30);

/// An HTTP target on 127.0.0.`octet` that counts, by path, the requests it
/// received whole (body read to its end). `/health` is not counted; `/slow`
/// answers after 3 s.
struct Counter {
    server: tests::Backend,
    seen: Arc<Mutex<HashMap<String, u64>>>,
}

impl Counter {
    async fn start(octet: u8) -> Self {
        let seen: Arc<Mutex<HashMap<String, u64>>> = Arc::default();
        let counted = seen.clone();
        let server =
            tests::Backend::on_loopback(octet, move |req| count(req, counted.clone())).await;
        Self { server, seen }
    }

    /// Whole requests received for `path` so far.
    fn count(&self, path: &str) -> u64 {
        self.seen.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    fn description(&self) -> TargetDescription {
        TargetDescription::builder()
            .id(self.server.addr.ip().to_string())
            .port(self.server.addr.port() as i32)
            .build()
    }
}

async fn count(
    req: Request<Incoming>,
    seen: Arc<Mutex<HashMap<String, u64>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_string();
    if path == "/health" {
        return Ok(Response::new(Full::new(Bytes::from_static(b"ok"))));
    }
    if req.into_body().collect().await.is_err() {
        // The body never arrived whole: not a request the target served.
        return Ok(Response::new(Full::default()));
    }
    if path == "/slow" {
        // A target slower than the idle timeout the test sets.
        tokio::time::sleep(Duration::from_secs(3)).await;
    }
    *seen.lock().unwrap().entry(path.clone()).or_default() += 1;
    Ok(Response::new(Full::new(Bytes::from(format!("saw {path}")))))
}

/// An emulator, a counting target on 127.0.0.`octet`, and a load balancer
/// whose listener forwards to it, in service.
async fn setup(octet: u8) -> (TestEmulator, Counter, alb::Alb) {
    let emu = TestEmulator::start().await;
    let target = Counter::start(octet).await;
    let alb = listener_to(&emu, &target).await;
    (emu, target, alb)
}

async fn listener_to(emu: &TestEmulator, target: &Counter) -> alb::Alb {
    let alb = alb::create(&emu.elbv2, &unique("hostile")).await;
    emu.elbv2
        .register_targets()
        .target_group_arn(&alb.target_group_arn)
        .targets(target.description())
        .send()
        .await
        .expect("register the target");
    emu.elbv2
        .wait_until_target_in_service()
        .target_group_arn(&alb.target_group_arn)
        .targets(target.description())
        .wait(WAIT)
        .await
        .expect("target in service");
    alb
}

async fn set_attribute(emu: &TestEmulator, alb: &alb::Alb, key: &str, value: &str) {
    emu.elbv2
        .modify_load_balancer_attributes()
        .load_balancer_arn(&alb.load_balancer_arn)
        .attributes(
            LoadBalancerAttribute::builder()
                .key(key)
                .value(value)
                .build(),
        )
        .send()
        .await
        .expect("modify load balancer attributes");
}

/// What the listener answers to `request` on a fresh connection, read
/// until it closes the connection (`closed`) or goes quiet for 5 s.
struct Answer {
    text: String,
    closed: bool,
}

impl Answer {
    fn status(&self) -> u16 {
        self.text
            .get(9..12)
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// Status lines in the answer: one per request answered.
    fn responses(&self) -> usize {
        self.text.matches("HTTP/1.1 ").count()
    }

    fn is_albs(&self) -> bool {
        self.text
            .to_ascii_lowercase()
            .contains("server: awselb/2.0")
    }

    fn says_close(&self) -> bool {
        self.text.to_ascii_lowercase().contains("connection: close")
    }
}

async fn exchange(addr: u16, request: &[u8]) -> Answer {
    let mut s = TcpStream::connect(("127.0.0.1", addr)).await.unwrap();
    // The listener may answer and close before it has read everything.
    let _ = s.write_all(request).await;
    read_answer(&mut s, Duration::from_secs(5)).await
}

async fn read_answer(s: &mut TcpStream, quiet: Duration) -> Answer {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    let closed = loop {
        match tokio::time::timeout(quiet, s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => break true,
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => break false,
        }
    };
    Answer {
        text: String::from_utf8_lossy(&out).into_owned(),
        closed,
    }
}

/// A plain GET through the listener gets 200 from the target.
async fn still_serves(port: u16, target: &Counter) {
    let before = target.count("/after");
    let answer = exchange(
        port,
        b"GET /after HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    )
    .await;
    assert_eq!(answer.status(), 200, "{}", answer.text);
    assert_eq!(target.count("/after"), before + 1);
}

/// CL.TE: the front end frames by Content-Length and forwards the smuggled
/// request as part of the body; a back end framing by chunked would run it.
const CL_TE: &[u8] = b"POST /outer HTTP/1.1\r\nHost: x\r\nContent-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";
/// TE.CL: chunked for the front end, whose one chunk holds the smuggled
/// request that a back end framing by Content-Length would run.
const TE_CL: &[u8] = b"POST /outer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n23\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n\r\n0\r\n\r\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn smuggling_and_malformed_requests_get_albs_status_per_desync_mode() {
    let (emu, target, alb) = setup(21).await;
    let port = alb.port;

    // Defensive (the default). Both framings: ambiguous, forwarded framed by
    // chunked, then the connection is closed: the smuggled bytes are never
    // read as a request.
    for (name, request) in [("CL.TE", CL_TE), ("TE.CL", TE_CL)] {
        let before = target.count("/outer");
        let answer = exchange(port, request).await;
        assert_eq!(answer.status(), 200, "{name}: {}", answer.text);
        assert_eq!(answer.responses(), 1, "{name}: {}", answer.text);
        assert!(
            answer.says_close() && answer.closed,
            "{name}: {}",
            answer.text
        );
        assert_eq!(target.count("/outer"), before + 1, "{name}");
    }

    // Refused whatever the mode, or severe: 400 and closed, nothing forwarded.
    let refused: &[(&str, &[u8])] = &[
        (
            "differing Content-Length",
            b"POST /bad HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 46\r\n\r\nhelloGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
        ),
        (
            "Content-Length not a number",
            b"POST /bad HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n",
        ),
        (
            "Transfer-Encoding: xchunked",
            b"POST /bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\n0\r\n\r\n",
        ),
        (
            "chunked twice",
            b"POST /bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "chunked not last",
            b"POST /bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n",
        ),
        (
            "space before the colon",
            b"POST /bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding : chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "folded Transfer-Encoding",
            b"POST /bad HTTP/1.1\r\nHost: x\r\nX: y\r\n Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        ),
        (
            "CR inside a value",
            b"GET /bad HTTP/1.1\r\nHost: x\r\nX: a\rTransfer-Encoding: chunked\r\n\r\n",
        ),
        ("method with a bracket", b"GE(T /bad HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("method with a control", b"GE\x01T /bad HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("no method", b" /bad HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("no leading slash", b"GET bad HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("asterisk with GET", b"GET * HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("control in the target", b"GET /b\x7fad HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("space in the target", b"GET /b ad HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("authority form", b"GET x.example:80 HTTP/1.1\r\nHost: x\r\n\r\n"),
        ("unknown version", b"GET /bad HTTP/2.0\r\nHost: x\r\n\r\n"),
        ("not HTTP", b"NOT AN HTTP REQUEST\r\n\r\n"),
    ];
    for (name, request) in refused {
        let answer = exchange(port, request).await;
        assert_eq!(answer.status(), 400, "{name}: {}", answer.text);
        assert!(answer.is_albs(), "{name}: {}", answer.text);
        assert!(
            answer.text.contains("<title>400 Bad Request</title>"),
            "{name}"
        );
        assert!(answer.closed, "{name}: the connection stayed open");
    }
    // ALB's other generated statuses.
    let trace = exchange(port, b"TRACE /bad HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert_eq!(trace.status(), 405, "{}", trace.text);
    let gzip = exchange(
        port,
        b"POST /bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n",
    )
    .await;
    assert_eq!(gzip.status(), 501, "{}", gzip.text);
    assert!(gzip.is_albs() && gzip.closed, "{}", gzip.text);
    assert_eq!(target.count("/bad"), 0);
    assert_eq!(target.count("/smuggled"), 0);

    // A request before a refused one on the same connection is served.
    let answer = exchange(
        port,
        b"GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET bad HTTP/1.1\r\nHost: x\r\n\r\n",
    )
    .await;
    assert_eq!(answer.status(), 200, "{}", answer.text);
    assert!(answer.text.contains("HTTP/1.1 400"), "{}", answer.text);
    assert_eq!(target.count("/first"), 1);
    // Acceptable (a GET with an empty body declared) is forwarded.
    let acceptable =
        b"GET /acceptable HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    assert_eq!(exchange(port, acceptable).await.status(), 200);
    still_serves(port, &target).await;

    // Strictest: only compliant requests get through.
    set_attribute(
        &emu,
        &alb,
        "routing.http.desync_mitigation_mode",
        "strictest",
    )
    .await;
    wait_until("strictest mode in force", WAIT, || async {
        (exchange(port, acceptable).await.status() == 400).then_some(())
    })
    .await;
    let outer = target.count("/outer");
    for (name, request) in [("CL.TE", CL_TE), ("TE.CL", TE_CL)] {
        let answer = exchange(port, request).await;
        assert_eq!(answer.status(), 400, "{name}: {}", answer.text);
        assert!(answer.is_albs() && answer.closed, "{name}: {}", answer.text);
    }
    assert_eq!(target.count("/outer"), outer, "strictest forwards neither");
    still_serves(port, &target).await;

    // Monitor: everything the engine can frame is forwarded; an unknown
    // coding is ALB's 501.
    set_attribute(&emu, &alb, "routing.http.desync_mitigation_mode", "monitor").await;
    let xchunked = b"POST /bad HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n";
    wait_until("monitor mode in force", WAIT, || async {
        (exchange(port, xchunked).await.status() == 501).then_some(())
    })
    .await;
    let answer = exchange(port, CL_TE).await;
    assert_eq!(answer.status(), 200, "{}", answer.text);
    assert_eq!(answer.responses(), 1, "{}", answer.text);
    assert_eq!(target.count("/outer"), outer + 1);
    assert_eq!(target.count("/smuggled"), 0, "never a smuggled request");
    assert_eq!(target.count("/bad"), 0);
    still_serves(port, &target).await;
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slowloris_heads_and_bodies_get_408_within_the_idle_timeout() {
    let (emu, target, alb) = setup(22).await;
    let port = alb.port;
    set_attribute(&emu, &alb, "idle_timeout.timeout_seconds", "2").await;
    // `/slow` answers after 3 s: 504 once the 2 s idle timeout is in force.
    wait_until("the 2 s idle timeout in force", WAIT, || async {
        let slow = b"GET /slow HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        let answer = exchange(port, slow).await;
        (answer.status() == 504).then_some(())
    })
    .await;

    // A head trickling in faster than the timeout is waited for; then it
    // stops, and 408 comes after the idle timeout, and the close.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    for byte in b"GET /slowloris HTTP/1.1\r\nHost: x\r\n" {
        s.write_all(&[*byte]).await.unwrap();
        // The trickle is the attack under test: a byte each 50 ms.
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = read_answer(&mut s, Duration::from_secs(10)).await;
    assert_eq!(answer.status(), 408, "{}", answer.text);
    assert!(answer.is_albs(), "{}", answer.text);
    assert!(
        answer.text.contains("408 Request Time-out"),
        "{}",
        answer.text
    );
    assert!(answer.closed, "the connection stayed open after 408");

    // One byte, then nothing for longer than the timeout.
    let answer = {
        let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        s.write_all(b"G").await.unwrap();
        read_answer(&mut s, Duration::from_secs(10)).await
    };
    assert_eq!(answer.status(), 408, "{}", answer.text);
    assert!(answer.closed);

    // A body that stops halfway: 408 and closed; the target never gets a
    // whole request.
    let answer = exchange(
        port,
        b"POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly part of it",
    )
    .await;
    assert_eq!(answer.status(), 408, "{}", answer.text);
    assert!(answer.is_albs() && answer.closed, "{}", answer.text);

    // An idle keep-alive connection is closed without an answer.
    let mut s = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    s.write_all(b"GET /kept HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let answer = read_answer(&mut s, Duration::from_secs(10)).await;
    assert_eq!(answer.status(), 200, "{}", answer.text);
    assert_eq!(answer.responses(), 1, "{}", answer.text);
    assert!(answer.closed, "an idle connection stayed open");

    assert_eq!(target.count("/slowloris"), 0);
    assert_eq!(target.count("/upload"), 0);
    assert_eq!(target.count("/kept"), 1);
    still_serves(port, &target).await;
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn header_floods_past_albs_limits_get_400() {
    let (emu, target, alb) = setup(23).await;
    let port = alb.port;
    let request = |line: &str, headers: &[String]| {
        let mut r = format!("{line}\r\nHost: x\r\n");
        for h in headers {
            r.push_str(h);
            r.push_str("\r\n");
        }
        r.push_str("Connection: close\r\n\r\n");
        r.into_bytes()
    };
    let kb = |n: usize| "a".repeat(n * 1024);

    let floods: Vec<(&str, Vec<u8>)> = vec![
        (
            "a 17 KB request line",
            request(&format!("GET /flood?q={} HTTP/1.1", kb(17)), &[]),
        ),
        (
            "one 17 KB header",
            request("GET /flood HTTP/1.1", &[format!("X-Big: {}", kb(17))]),
        ),
        (
            "70 KB of 8 KB headers",
            request(
                "GET /flood HTTP/1.1",
                &(0..9)
                    .map(|i| format!("X-{i}: {}", kb(8)))
                    .collect::<Vec<_>>(),
            ),
        ),
        (
            "70 KB of small headers",
            request(
                "GET /flood HTTP/1.1",
                &(0..7000).map(|i| format!("X-{i}: v")).collect::<Vec<_>>(),
            ),
        ),
    ];
    for (name, request) in &floods {
        let answer = exchange(port, request).await;
        assert_eq!(answer.status(), 400, "{name}: {:.300}", answer.text);
        assert!(answer.is_albs(), "{name}: {:.300}", answer.text);
        assert!(
            answer.text.contains("Request Header Or Cookie Too Large"),
            "{name}: {:.300}",
            answer.text
        );
        assert!(answer.closed, "{name}: the connection stayed open");
    }
    assert_eq!(target.count("/flood"), 0);

    // Just under the limits, the same shapes are forwarded.
    let under = request(
        "GET /under HTTP/1.1",
        &[
            format!("X-Big: {}", kb(15)),
            format!("X-Other: {}", kb(15)),
            format!("X-More: {}", kb(15)),
        ],
    );
    let answer = exchange(port, &under).await;
    assert_eq!(answer.status(), 200, "{:.300}", answer.text);
    assert_eq!(target.count("/under"), 1);
    still_serves(port, &target).await;
    emu.shutdown().await;
}
