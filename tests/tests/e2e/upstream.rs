//! Requests for services the emulator does not serve get an error in their
//! own protocol, or, with `--upstream-endpoint`, go to that endpoint
//! unchanged: method, path, query, headers (Host and the signature
//! included) and body.

use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use tests::TestEmulator;

const S3_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/s3/aws4_request, SignedHeaders=host;x-amz-date, Signature=0123abcd";
const SQS_AUTH: &str = "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/sqs/aws4_request, SignedHeaders=host;x-amz-target, Signature=4567ef01";

/// What the fake upstream saw of one request.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    host: String,
    authorization: String,
    body: String,
}

/// An HTTP/1 server on 127.0.0.1:0 that records requests and answers 203
/// with a body and a header of its own, so the test can tell it answered.
async fn fake_upstream() -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(vec![]));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                    let log = log.clone();
                    async move {
                        let header = |name: &str| {
                            req.headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_string()
                        };
                        let (method, uri) = (req.method().to_string(), req.uri().to_string());
                        let (host, authorization) = (header("host"), header("authorization"));
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        log.lock().unwrap().push(Seen {
                            method,
                            uri,
                            host,
                            authorization,
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                        Ok::<_, std::convert::Infallible>(
                            hyper::Response::builder()
                                .status(203)
                                .header("x-upstream", "yes")
                                .body(Full::new(bytes::Bytes::from_static(b"from upstream")))
                                .unwrap(),
                        )
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

/// Sends one request to the control port; returns status, x-upstream, body.
async fn send(
    emu: &TestEmulator,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> (u16, Option<String>, String) {
    let stream = tokio::net::TcpStream::connect(emu.addr()).await.unwrap();
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .unwrap();
    tokio::spawn(conn);
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(path)
        .header("host", emu.addr().to_string());
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = sender
        .send_request(
            request
                .body(Full::new(bytes::Bytes::from(body.to_string())))
                .unwrap(),
        )
        .await
        .unwrap();
    let status = response.status().as_u16();
    let marker = response
        .headers()
        .get("x-upstream")
        .map(|v| v.to_str().unwrap().to_string());
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, marker, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unserved_services_get_errors_in_their_own_protocol() {
    let emu = TestEmulator::start().await;
    let (status, _, body) = send(
        &emu,
        "POST",
        "/",
        &[
            ("authorization", SQS_AUTH),
            ("x-amz-target", "AmazonSQS.ListQueues"),
            ("content-type", "application/x-amz-json-1.0"),
        ],
        "{}",
    )
    .await;
    assert_eq!(status, 501, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("a JSON error");
    assert_eq!(v["__type"], "UnsupportedService");
    assert!(v["message"].as_str().unwrap().contains("'sqs'"), "{body}");

    let (status, _, body) = send(
        &emu,
        "POST",
        "/",
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            (
                "authorization",
                "AWS4-HMAC-SHA256 Credential=AKID/20261206/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=x",
            ),
        ],
        "Action=ListTopics&Version=2010-03-31",
    )
    .await;
    assert_eq!(status, 501, "{body}");
    assert!(
        body.contains("<ErrorResponse>") && body.contains("<Code>UnsupportedService</Code>"),
        "{body}"
    );
    assert!(
        body.replace("&apos;", "'").contains("serve 'sns'"),
        "{body}"
    );
    emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unserved_services_go_upstream_unchanged() {
    let (upstream, seen) = fake_upstream().await;
    let uri: hyper::Uri = upstream.parse().unwrap();
    let emu = TestEmulator::start_with(|c| c.upstream_endpoint = Some(uri)).await;

    let (status, marker, body) = send(
        &emu,
        "PUT",
        "/my-bucket/a/key.txt?x-id=PutObject",
        &[
            ("authorization", S3_AUTH),
            ("x-amz-date", "20261206T000000Z"),
        ],
        "object body",
    )
    .await;
    assert_eq!(
        (status, marker.as_deref(), body.as_str()),
        (203, Some("yes"), "from upstream")
    );
    let (status, marker, _) = send(
        &emu,
        "POST",
        "/",
        &[
            ("authorization", SQS_AUTH),
            ("x-amz-target", "AmazonSQS.ListQueues"),
            ("content-type", "application/x-amz-json-1.0"),
        ],
        r#"{"QueueNamePrefix":"q"}"#,
    )
    .await;
    assert_eq!((status, marker.as_deref()), (203, Some("yes")));

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert_eq!(seen[0].method, "PUT");
    assert_eq!(seen[0].uri, "/my-bucket/a/key.txt?x-id=PutObject");
    assert_eq!(
        seen[0].host,
        emu.addr().to_string(),
        "Host is kept for the signature"
    );
    assert_eq!(seen[0].authorization, S3_AUTH);
    assert_eq!(seen[0].body, "object body");
    assert_eq!(seen[1].body, r#"{"QueueNamePrefix":"q"}"#);

    // Served services stay here.
    let sts = aws_sdk_sts::Client::new(&tests::sdk_config(&emu.endpoint_url()).await);
    let me = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(me.account(), Some("000000000000"));
    assert_eq!(seen.len(), 2);
    emu.shutdown().await;
}
