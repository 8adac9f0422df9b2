//! sample-app: the task image used in demos and tests of the emulator.
//!
//! A small HTTP/1.1 server whose answers let a test see *which* task served a
//! request and steer its behaviour (health, latency, crashes, large bodies,
//! WebSockets). It links statically so it can run in a `FROM scratch` image;
//! `sample-app healthcheck` stands in for `curl` in a Docker HEALTHCHECK;
//! `sample-app exit CODE [AFTER_MS]` and `sample-app write PATH TEXT` are
//! one-shot (init) containers.
//!
//! Endpoints:
//! - `GET /`                 JSON `{ip, hostname, version, requests, port}`
//! - `GET /health`           `ok` (200), or 503 after `POST /admin/unhealthy`
//! - `ANY /echo`             JSON `{method, path, query, args, headers, body_bytes}`
//! - `GET /bytes?n=N`        N bytes, chunked, in 64 KiB chunks
//! - `POST /upload`          JSON `{bytes}`: the request body's length
//! - `GET /ws`               WebSocket echo (text and binary)
//! - `GET /file?path=P`     the file's contents (404 with the error if unreadable)
//! - `PUT /file?path=P`     writes the body to the file (500 with the error)
//! - `GET /process`          JSON `{uid, gid, pid, cwd, nofile: [soft, hard]}`
//! - `GET /resolve?name=N`   JSON `{addresses}`: what N resolves to (404 if nothing)
//! - `GET /resolve?name=N&type=SRV`  JSON `{records: [{priority, weight, port, target}]}`
//! - `GET /call?url=U`       GETs `http://HOST[:PORT]/PATH` from this task, on a new
//!   connection, and answers with its status and body (502 if unreachable)
//! - `POST /admin/healthy`, `POST /admin/unhealthy`
//! - `POST /admin/exit?code=N`  exit with N (default 1) just after answering
//! - `GET /aws/identity`     JSON `{arn, account, userId}` from STS
//!   GetCallerIdentity, called with the AWS SDK's default credential chain
//!   (inside a task: the task role) at `AWS_ENDPOINT_URL`; 502 with `{error}`
//!   if the SDK finds no credentials or the call fails
//!
//! Environment: `PORT` (8080), `APP_VERSION` (`v1`), `RESPONSE_DELAY_MS` (0)
//! added to every `/` and `/echo` response, plus `?delay_ms=N` per request,
//! and `REQUEST_LOG` (`on`): `off` drops the stdout line per request
//! (benchmarks, where Docker's log pipeline would cost more than the app).

use std::convert::Infallible;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::Role;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

mod outbound;
mod query;
mod websocket;

use outbound::{aws_identity, call, parse_status_line, srv_lookup, task_metadata};
use query::{parse_query, query_arg, query_u64};
use websocket::websocket;

type Body = BoxBody<Bytes, Infallible>;

/// Size of one chunk of `/bytes`.
const CHUNK: usize = 64 * 1024;
static FILLER: [u8; CHUNK] = [b'x'; CHUNK];
/// Upper bound for any artificial delay, so a typo cannot park a request forever
/// (and `tokio::time::sleep` never sees an absurd duration).
const MAX_DELAY_MS: u64 = 3_600_000;

struct App {
    version: String,
    hostname: String,
    port: u16,
    base_delay_ms: u64,
    healthy: AtomicBool,
    requests: AtomicU64,
    /// One stdout line per request (`REQUEST_LOG`).
    request_log: bool,
}

fn main() {
    let port = env_port();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number = |i: usize| args.get(i).and_then(|a| a.parse::<u64>().ok());
    match args.first().map(String::as_str) {
        // `healthcheck [PORT]`: a sidecar can check its neighbour on localhost.
        Some("healthcheck") => {
            let port = number(1)
                .and_then(|p| u16::try_from(p).ok())
                .unwrap_or(port);
            // No runtime needed: a blocking one-shot probe keeps the exit path simple.
            std::process::exit(healthcheck(port));
        }
        // `write PATH TEXT`: a one-shot container that leaves a file behind.
        Some("write") => {
            let (path, text) = (
                args.get(1).cloned().unwrap_or_default(),
                args.get(2).cloned().unwrap_or_default(),
            );
            match std::fs::write(&path, text) {
                Ok(()) => std::process::exit(0),
                Err(e) => {
                    log(&format!("sample-app: cannot write {path}: {e}"));
                    std::process::exit(1);
                }
            }
        }
        // `exit CODE [AFTER_MS]`: a one-shot container (an init container).
        Some("exit") => {
            std::thread::sleep(Duration::from_millis(
                number(2).unwrap_or(0).min(MAX_DELAY_MS),
            ));
            log(&format!(
                "sample-app: exiting with {}",
                number(1).unwrap_or(0)
            ));
            std::process::exit(number(1).unwrap_or(0) as i32);
        }
        _ => {}
    }
    // Tasks are small: two workers are plenty and keep the footprint low
    // when a test starts many containers. A container held to one CPU
    // (`--cpuset-cpus`, as in the benchmark) gets one, since a second worker
    // on that CPU would only wake up and switch with the first.
    let workers = std::thread::available_parallelism().map_or(2, |n| n.get().min(2));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .expect("tokio runtime");
    if let Err(e) = rt.block_on(serve(port)) {
        log(&format!("sample-app: {e}"));
        std::process::exit(2);
    }
}

fn env_port() -> u16 {
    std::env::var("PORT")
        .ok()
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or(8080)
}

async fn serve(port: u16) -> std::io::Result<()> {
    let app = Arc::new(App {
        version: std::env::var("APP_VERSION").unwrap_or_else(|_| "v1".to_string()),
        hostname: hostname(),
        port,
        base_delay_ms: std::env::var("RESPONSE_DELAY_MS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0),
        healthy: AtomicBool::new(true),
        requests: AtomicU64::new(0),
        request_log: std::env::var("REQUEST_LOG").map_or(true, |v| v.trim() != "off"),
    });

    let listener = TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port))).await?;
    log(&format!(
        "sample-app listening on 0.0.0.0:{port} version {}",
        app.version
    ));

    // As PID 1 in a container, SIGTERM is ignored unless we handle it; without
    // this `docker stop` would wait its full grace period and then SIGKILL.
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;

    loop {
        tokio::select! {
            _ = sigterm.recv() => {
                log("sample-app: SIGTERM, exiting");
                std::process::exit(0);
            }
            _ = tokio::signal::ctrl_c() => {
                log("sample-app: SIGINT, exiting");
                std::process::exit(0);
            }
            accepted = listener.accept() => {
                let (stream, _peer) = match accepted {
                    Ok(s) => s,
                    // e.g. EMFILE: keep serving the connections we have.
                    Err(e) => {
                        log(&format!("sample-app: accept: {e}"));
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                // The address the request arrived on is what tells tasks apart
                // behind the load balancer (each task has its own ENI address).
                let local_ip: Arc<str> = stream
                    .local_addr()
                    .map(|a| a.ip().to_canonical())
                    .unwrap_or(IpAddr::from([0, 0, 0, 0]))
                    .to_string()
                    .into();
                let app = app.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        handle(app.clone(), local_ip.clone(), req)
                    });
                    // Errors here are client resets and the like; nothing to do.
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades()
                        .await;
                });
            }
        }
    }
}

/// `GET /`'s answer. Fields in alphabetical order, as the answer has always
/// had them.
#[derive(serde::Serialize)]
struct Whoami<'a> {
    hostname: &'a str,
    ip: &'a str,
    port: u16,
    requests: u64,
    version: &'a str,
}

async fn handle(
    app: Arc<App>,
    local_ip: Arc<str>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let method = req.method().clone();
    // A clone of the URI shares its bytes: no copy per request.
    let uri = req.uri().clone();
    let path = uri.path();
    let args = parse_query(uri.query().unwrap_or(""));

    // Health probes arrive on a timer; counting them would make `requests`
    // depend on timing rather than on what a test sent.
    if path != "/health" {
        app.requests.fetch_add(1, Ordering::Relaxed);
    }

    let resp = match (&method, path) {
        (_, "/health") => {
            if app.healthy.load(Ordering::Relaxed) {
                text(StatusCode::OK, "ok\n")
            } else {
                text(StatusCode::SERVICE_UNAVAILABLE, "unhealthy\n")
            }
        }
        (&Method::GET | &Method::HEAD, "/") => {
            delay(&app, &args).await;
            json_response(
                StatusCode::OK,
                &Whoami {
                    hostname: &app.hostname,
                    ip: &local_ip,
                    port: app.port,
                    requests: app.requests.load(Ordering::Relaxed),
                    version: &app.version,
                },
            )
        }
        (_, "/echo") => echo(&app, req, &args).await,
        (&Method::GET, "/bytes") => {
            let n = query_u64(&args, "n").unwrap_or(0);
            bytes_body(n)
        }
        (&Method::POST | &Method::PUT, "/upload") => match count_body(req.into_body()).await {
            Ok(n) => json_response(StatusCode::OK, &json!({ "bytes": n })),
            Err(e) => text(StatusCode::BAD_REQUEST, &format!("body error: {e}\n")),
        },
        (&Method::GET, "/ws") => websocket(req),
        (&Method::POST, "/admin/unhealthy") => {
            app.healthy.store(false, Ordering::Relaxed);
            text(StatusCode::OK, "unhealthy\n")
        }
        (&Method::POST, "/admin/healthy") => {
            app.healthy.store(true, Ordering::Relaxed);
            text(StatusCode::OK, "healthy\n")
        }
        (&Method::GET, "/file") => match std::fs::read(query_arg(&args, "path").unwrap_or("")) {
            Ok(bytes) => text(StatusCode::OK, &String::from_utf8_lossy(&bytes)),
            Err(e) => text(StatusCode::NOT_FOUND, &format!("{e}\n")),
        },
        (&Method::PUT, "/file") => {
            let path = query_arg(&args, "path").unwrap_or("").to_string();
            match req.into_body().collect().await {
                Ok(body) => match std::fs::write(&path, body.to_bytes()) {
                    Ok(()) => text(StatusCode::OK, "written\n"),
                    Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
                },
                Err(e) => text(StatusCode::BAD_REQUEST, &format!("body error: {e}\n")),
            }
        }
        (&Method::GET, "/process") => json_response(StatusCode::OK, &process_info()),
        (&Method::GET, "/resolve") if query_arg(&args, "type") == Some("SRV") => {
            let name = query_arg(&args, "name").unwrap_or("").to_string();
            match tokio::task::spawn_blocking(move || srv_lookup(&name)).await {
                Ok(Ok(records)) => json_response(StatusCode::OK, &json!({ "records": records })),
                Ok(Err(e)) => text(StatusCode::NOT_FOUND, &format!("SRV lookup: {e}\n")),
                Err(e) => text(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &format!("SRV lookup: {e}\n"),
                ),
            }
        }
        (&Method::GET, "/resolve") => {
            let name = query_arg(&args, "name").unwrap_or("").to_string();
            let found = tokio::net::lookup_host(format!("{name}:0")).await;
            match found {
                Ok(found) => {
                    let mut addresses: Vec<String> = found.map(|a| a.ip().to_string()).collect();
                    addresses.sort();
                    addresses.dedup();
                    json_response(StatusCode::OK, &json!({ "addresses": addresses }))
                }
                Err(e) => text(StatusCode::NOT_FOUND, &format!("{name}: {e}\n")),
            }
        }
        (&Method::GET, "/call") => call(query_arg(&args, "url").unwrap_or("").to_string()).await,
        (&Method::GET, "/metadata") => task_metadata().await,
        (&Method::GET, "/aws/identity") => aws_identity().await,
        (&Method::POST, "/admin/alloc") => {
            let mb = query_u64(&args, "mb").unwrap_or(0) as usize;
            log(&format!("sample-app: allocating {mb} MiB"));
            // Touch every page so the memory is really charged to the cgroup.
            let block = vec![1u8; mb * 1024 * 1024];
            let sum: u64 = block.iter().step_by(4096).map(|b| u64::from(*b)).sum();
            std::mem::forget(block);
            text(StatusCode::OK, &format!("allocated {sum} pages\n"))
        }
        (&Method::POST, "/admin/exit") => {
            let code = query_arg(&args, "code")
                .and_then(|c| c.parse::<i32>().ok())
                .unwrap_or(1);
            log(&format!("sample-app: exiting with code {code} on request"));
            // Exit a little later so the response below reaches the client.
            tokio::spawn(async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                std::process::exit(code);
            });
            let mut r = text(StatusCode::OK, &format!("exiting with code {code}\n"));
            r.headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
            r
        }
        (
            _,
            "/" | "/bytes" | "/upload" | "/ws" | "/file" | "/process" | "/resolve" | "/call"
            | "/metadata" | "/aws/identity" | "/admin/alloc" | "/admin/healthy"
            | "/admin/unhealthy" | "/admin/exit",
        ) => text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n"),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    };

    if app.request_log {
        log(&format!("{method} {path} {}", resp.status().as_u16()));
    }
    Ok(resp)
}

/// `/process`: who and where the app runs as (uid, gid, pid, working
/// directory) and its open-files limit, read from `/proc`.
fn process_info() -> Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let first_id = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|id| id.parse::<u64>().ok())
    };
    let limits = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let nofile: Vec<Value> = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .map(|l| {
            l.split_whitespace()
                .skip(3)
                .take(2)
                .map(|n| n.parse::<u64>().map_or(Value::Null, Value::from))
                .collect()
        })
        .unwrap_or_default();
    json!({
        "uid": first_id("Uid:"),
        "gid": first_id("Gid:"),
        "pid": std::process::id(),
        "cwd": std::env::current_dir().ok().map(|d| d.display().to_string()),
        "nofile": nofile,
    })
}

/// `/echo`: describe the request back, reading (not buffering) its body.
async fn echo(app: &App, req: Request<Incoming>, args: &[(String, String)]) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let mut headers = Map::new();
    for name in parts.headers.keys() {
        let joined = parts
            .headers
            .get_all(name)
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
            .collect::<Vec<_>>()
            .join(", ");
        headers.insert(name.as_str().to_string(), Value::String(joined));
    }
    let mut arg_map = Map::new();
    for (k, v) in args {
        // Last one wins, like most frameworks' "get one" accessors.
        arg_map.insert(k.clone(), Value::String(v.clone()));
    }
    let body_bytes = match count_body(body).await {
        Ok(n) => n,
        Err(e) => return text(StatusCode::BAD_REQUEST, &format!("body error: {e}\n")),
    };
    delay(app, args).await;
    json_response(
        StatusCode::OK,
        &json!({
            "method": parts.method.as_str(),
            "path": parts.uri.path(),
            "query": parts.uri.query().unwrap_or(""),
            "args": arg_map,
            "headers": headers,
            "body_bytes": body_bytes,
        }),
    )
}

/// Reads a body to its end frame by frame, returning its length.
async fn count_body(mut body: Incoming) -> Result<u64, hyper::Error> {
    let mut n = 0u64;
    while let Some(frame) = body.frame().await {
        if let Some(data) = frame?.data_ref() {
            n += data.len() as u64;
        }
    }
    Ok(n)
}

/// `n` filler bytes as a stream of 64 KiB frames. No length is announced, so
/// hyper sends it with chunked transfer encoding.
fn bytes_body(n: u64) -> Response<Body> {
    let chunks = n.div_ceil(CHUNK as u64);
    let stream = futures::stream::iter(0..chunks).map(move |i| {
        let len = (n - i * CHUNK as u64).min(CHUNK as u64) as usize;
        Ok::<_, Infallible>(Frame::data(Bytes::from_static(&FILLER[..len])))
    });
    let mut r = Response::new(BodyExt::boxed(StreamBody::new(stream)));
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    r
}

/// Sleeps `RESPONSE_DELAY_MS` plus this request's `?delay_ms=`.
async fn delay(app: &App, args: &[(String, String)]) {
    let ms = total_delay_ms(app.base_delay_ms, query_u64(args, "delay_ms"));
    if ms > 0 {
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
}

fn total_delay_ms(base: u64, per_request: Option<u64>) -> u64 {
    base.saturating_add(per_request.unwrap_or(0))
        .min(MAX_DELAY_MS)
}

fn hostname() -> String {
    let from_file = |p: &str| {
        std::fs::read_to_string(p)
            .ok()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
    };
    from_file("/etc/hostname")
        .or_else(|| std::env::var("HOSTNAME").ok().filter(|s| !s.is_empty()))
        // The kernel's UTS name, for hosts without /etc/hostname.
        .or_else(|| from_file("/proc/sys/kernel/hostname"))
        .unwrap_or_else(|| "unknown".to_string())
}

fn empty() -> Body {
    BodyExt::boxed(Full::new(Bytes::new()))
}

fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(BodyExt::boxed(Full::new(Bytes::from(body.to_string()))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

fn json_response(status: StatusCode, v: &impl serde::Serialize) -> Response<Body> {
    let mut body = serde_json::to_vec(v).expect("JSON values serialize");
    body.push(b'\n');
    let mut r = Response::new(BodyExt::boxed(Full::new(Bytes::from(body))));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

/// One line to stdout, flushed at once so `docker logs` shows it immediately.
fn log(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// `sample-app healthcheck`: GET /health on the local server; 0 if it says 200.
/// Images built `FROM scratch` have no shell or curl for a HEALTHCHECK.
fn healthcheck(port: u16) -> i32 {
    match probe(port) {
        Ok(200) => 0,
        Ok(status) => {
            eprintln!("healthcheck: status {status}");
            1
        }
        Err(e) => {
            eprintln!("healthcheck: {e}");
            1
        }
    }
}

fn probe(port: u16) -> std::io::Result<u16> {
    let timeout = Duration::from_secs(3);
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(b"GET /health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")?;
    // The status line is all we need; it fits in the first read in practice,
    // but read until a line ends to be safe.
    let mut buf = Vec::new();
    let mut chunk = [0u8; 512];
    while !buf.contains(&b'\n') && buf.len() < 4096 {
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    parse_status_line(&buf)
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, "bad status line"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::percent_decode;

    #[test]
    fn query_pairs_are_split_and_decoded() {
        assert_eq!(
            parse_query("a=1&b=hello+world&c=%41%2f&d&&e="),
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "hello world".into()),
                ("c".into(), "A/".into()),
                ("d".into(), "".into()),
                ("e".into(), "".into()),
            ]
        );
        assert!(parse_query("").is_empty());
    }

    #[test]
    fn bad_percent_escapes_are_kept() {
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%zz"), "%zz");
        assert_eq!(percent_decode("%4"), "%4");
        assert_eq!(percent_decode("%41"), "A");
    }

    #[test]
    fn last_query_value_wins() {
        let args = parse_query("n=1&n=2&x=abc");
        assert_eq!(query_u64(&args, "n"), Some(2));
        assert_eq!(query_u64(&args, "x"), None);
        assert_eq!(query_u64(&args, "missing"), None);
    }

    #[test]
    fn delays_add_and_are_capped() {
        assert_eq!(total_delay_ms(0, None), 0);
        assert_eq!(total_delay_ms(100, Some(50)), 150);
        assert_eq!(total_delay_ms(u64::MAX, Some(5)), MAX_DELAY_MS);
    }

    #[test]
    fn status_lines_parse() {
        assert_eq!(parse_status_line(b"HTTP/1.1 200 OK\r\nx: y\r\n"), Some(200));
        assert_eq!(
            parse_status_line(b"HTTP/1.0 503 Service Unavailable\r\n"),
            Some(503)
        );
        assert_eq!(parse_status_line(b"garbage\r\n"), None);
        assert_eq!(parse_status_line(b""), None);
    }

    #[test]
    fn whoami_keeps_its_json_shape() {
        let v = Whoami {
            hostname: "h",
            ip: "10.0.0.2",
            port: 8080,
            requests: 7,
            version: "v1",
        };
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"hostname":"h","ip":"10.0.0.2","port":8080,"requests":7,"version":"v1"}"#
        );
    }

    #[test]
    fn accept_key_matches_rfc6455_example() {
        assert_eq!(
            derive_accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }
}
