//! HTTP without the SDK: plain requests to listeners and raw POSTs to the
//! control port.

use std::net::SocketAddr;

/// A plain HTTP/1.1 GET with a fresh connection; returns status and body.
pub async fn http_get(url: &str) -> anyhow::Result<(u16, String)> {
    http_request("GET", url).await
}

/// A body-less HTTP/1.1 request with a fresh connection; status and body.
pub async fn http_request(method: &str, url: &str) -> anyhow::Result<(u16, String)> {
    let (status, _, body) = http_exchange(method, url).await?;
    Ok((status, body))
}

/// Like [`http_request`], with the response headers too.
pub async fn http_exchange(
    method: &str,
    url: &str,
) -> anyhow::Result<(u16, hyper::HeaderMap, String)> {
    use http_body_util::{BodyExt, Empty};
    let uri: hyper::Uri = url.parse()?;
    let host = uri
        .host()
        .ok_or_else(|| anyhow::anyhow!("no host in {url}"))?;
    let port = uri.port_u16().unwrap_or(80);
    let stream = tokio::net::TcpStream::connect((host, port)).await?;
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
    tokio::spawn(conn);
    let request = hyper::Request::builder()
        .method(method)
        .uri(uri.path_and_query().map(|p| p.as_str()).unwrap_or("/"))
        .header(hyper::header::HOST, format!("{host}:{port}"))
        .body(Empty::<bytes::Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, headers, String::from_utf8_lossy(&body).into_owned()))
}

/// What [`post`] got back.
pub struct RawResponse {
    pub status: u16,
    pub body: String,
    pub content_type: Option<String>,
}

/// POSTs `body` to `/` of the control port with the given headers, with no
/// SDK in between (for checking wire shapes and bad input).
pub async fn post(addr: SocketAddr, headers: &[(&str, &str)], body: &str) -> RawResponse {
    use http_body_util::{BodyExt, Full};
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to the control port");
    let (mut sender, conn) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .expect("HTTP/1 handshake");
    tokio::spawn(conn);
    let mut request = hyper::Request::post("/").header("host", addr.to_string());
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = sender
        .send_request(
            request
                .body(Full::new(bytes::Bytes::from(body.to_string())))
                .expect("request"),
        )
        .await
        .expect("response");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    RawResponse {
        status,
        body: String::from_utf8_lossy(&body).into_owned(),
        content_type,
    }
}

/// An AWS JSON 1.1 call, `target` being `Prefix.Operation`; the body as JSON.
pub async fn post_json(
    addr: SocketAddr,
    target: &str,
    body: serde_json::Value,
) -> (u16, serde_json::Value) {
    let response = post(
        addr,
        &[
            ("content-type", "application/x-amz-json-1.1"),
            ("x-amz-target", target),
        ],
        &body.to_string(),
    )
    .await;
    let json = serde_json::from_str(&response.body).expect("a JSON body");
    (response.status, json)
}
