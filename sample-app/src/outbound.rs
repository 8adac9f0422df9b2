//! What the app asks of others for a test: STS through the AWS SDK, the
//! task metadata endpoint, DNS SRV records, and `/call`'s GET.

use super::*;

/// `GET /metadata`: this task's metadata document, fetched from
/// `$ECS_CONTAINER_METADATA_URI_V4/task` as an application would.
/// `/aws/identity`: who the SDK's default credentials are, as STS says.
pub(crate) async fn aws_identity() -> Response<Body> {
    // Plain HTTP only: the emulator's endpoints need no TLS.
    let http = aws_smithy_http_client::Builder::new().build_http();
    let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await;
    match aws_sdk_sts::Client::new(&config)
        .get_caller_identity()
        .send()
        .await
    {
        Ok(id) => json_response(
            StatusCode::OK,
            &json!({ "arn": id.arn(), "account": id.account(), "userId": id.user_id() }),
        ),
        Err(e) => {
            let error = aws_sdk_sts::error::DisplayErrorContext(&e).to_string();
            json_response(StatusCode::BAD_GATEWAY, &json!({ "error": error }))
        }
    }
}

pub(crate) async fn task_metadata() -> Response<Body> {
    let Ok(uri) = std::env::var("ECS_CONTAINER_METADATA_URI_V4") else {
        return text(
            StatusCode::SERVICE_UNAVAILABLE,
            "ECS_CONTAINER_METADATA_URI_V4 is not set\n",
        );
    };
    let fetched = tokio::task::spawn_blocking(move || fetch(&format!("{uri}/task"))).await;
    match fetched {
        Ok(Ok((200, body))) => {
            let mut r = Response::new(BodyExt::boxed(Full::new(Bytes::from(body))));
            r.headers_mut().insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            );
            r
        }
        Ok(Ok((status, _))) => text(
            StatusCode::BAD_GATEWAY,
            &format!("metadata status {status}\n"),
        ),
        Ok(Err(e)) => text(StatusCode::BAD_GATEWAY, &format!("metadata: {e}\n")),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("metadata: {e}\n"),
        ),
    }
}

/// The SRV records of `name`, asked of the first nameserver in
/// /etc/resolv.conf, as `{priority, weight, port, target}`.
pub(crate) fn srv_lookup(name: &str) -> std::io::Result<Vec<serde_json::Value>> {
    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::{Name, RData, RecordType};
    let other = |e: &dyn std::fmt::Display| std::io::Error::other(e.to_string());
    let server = std::fs::read_to_string("/etc/resolv.conf")?
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("nameserver")
                .map(|s| s.trim().to_string())
        })
        .ok_or_else(|| other(&"no nameserver in /etc/resolv.conf"))?;
    let mut query = Message::new();
    query
        .set_id(std::process::id() as u16)
        .set_recursion_desired(true)
        .add_query(Query::query(
            Name::from_ascii(name).map_err(|e| other(&e))?,
            RecordType::SRV,
        ));
    let socket = std::net::UdpSocket::bind("0.0.0.0:0")?;
    socket.set_read_timeout(Some(Duration::from_secs(3)))?;
    socket.send_to(
        &query.to_vec().map_err(|e| other(&e))?,
        (server.as_str(), 53),
    )?;
    let mut buf = vec![0u8; 4096];
    let len = socket.recv(&mut buf)?;
    let reply = Message::from_vec(&buf[..len]).map_err(|e| other(&e))?;
    Ok(reply
        .answers()
        .iter()
        .filter_map(|r| match r.data() {
            RData::SRV(srv) => Some(json!({
                "priority": srv.priority(),
                "weight": srv.weight(),
                "port": srv.port(),
                "target": srv.target().to_ascii(),
            })),
            _ => None,
        })
        .collect())
}

/// `GET /call?url=http://HOST[:PORT]/PATH`: this task GETs the URL (on a
/// new connection, names resolved by the task's resolver) and answers with
/// the upstream's status and body; 502 when it cannot be reached.
pub(crate) async fn call(url: String) -> Response<Body> {
    match tokio::task::spawn_blocking(move || fetch(&url)).await {
        Ok(Ok((status, body))) => {
            let mut r = Response::new(BodyExt::boxed(Full::new(Bytes::from(body))));
            *r.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
            r
        }
        Ok(Err(e)) => text(StatusCode::BAD_GATEWAY, &format!("call: {e}\n")),
        Err(e) => text(StatusCode::INTERNAL_SERVER_ERROR, &format!("call: {e}\n")),
    }
}

/// A blocking HTTP/1.1 GET of `http://HOST[:PORT]/PATH`, read to the end.
fn fetch(url: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let invalid = |m: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, m.to_string());
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| invalid("not an http URL"))?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let timeout = Duration::from_secs(3);
    // Fargate's metadata URL names no port: 80.
    let with_port = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let addr: SocketAddr = with_port
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| invalid("the host name has no address"))?;
    let mut s = std::net::TcpStream::connect_timeout(&addr, timeout)?;
    s.set_read_timeout(Some(timeout))?;
    let path = if path.is_empty() { "/" } else { path };
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n").as_bytes(),
    )?;
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let status = parse_status_line(&buf).ok_or_else(|| invalid("bad status line"))?;
    let body_start = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .unwrap_or(buf.len());
    Ok((status, buf[body_start..].to_vec()))
}

/// `HTTP/1.1 200 OK` -> 200.
pub(super) fn parse_status_line(buf: &[u8]) -> Option<u16> {
    let line = buf.split(|&c| c == b'\n').next()?;
    let line = std::str::from_utf8(line).ok()?;
    let mut parts = line.split_whitespace();
    if !parts.next()?.starts_with("HTTP/") {
        return None;
    }
    parts.next()?.parse().ok()
}
