//! Header rewriting on the way to and from targets.
//!
//! - Hop-by-hop headers go (RFC 9110 section 7.6.1): `Connection` and every
//!   header it lists, `Keep-Alive`, `Proxy-Connection`, `Proxy-Authenticate`,
//!   `Proxy-Authorization`, `TE`, `Trailer`, `Transfer-Encoding`, `Upgrade`.
//!   A real upgrade keeps `Upgrade` and `Connection: upgrade`.
//! - The ALB adds `X-Forwarded-For` (append mode), `X-Forwarded-Proto`,
//!   `X-Forwarded-Port` and `X-Amzn-Trace-Id`
//!   (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/x-forwarded-headers.html>,
//!   <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-request-tracing.html>).
//! - A listener's attributes add response headers and may drop the ALB's
//!   `Server` header ([`ResponseHeaders`]).

use std::collections::BTreeMap;

use http::header::{self, HeaderName, CONNECTION, HOST, SERVER, UPGRADE};
use http::{HeaderMap, HeaderValue, Request};
use rand::Rng;

pub static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
pub static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub static X_FORWARDED_PORT: HeaderName = HeaderName::from_static("x-forwarded-port");
pub static X_AMZN_TRACE_ID: HeaderName = HeaderName::from_static("x-amzn-trace-id");
static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");

/// More `X-Forwarded-For` entries than this get 463.
pub const MAX_FORWARDED_FOR_IPS: usize = 30;

/// Headers that never cross the proxy (besides those `Connection` lists).
fn hop_by_hop() -> [&'static HeaderName; 9] {
    [
        &CONNECTION,
        &KEEP_ALIVE,
        &PROXY_CONNECTION,
        &header::PROXY_AUTHENTICATE,
        &header::PROXY_AUTHORIZATION,
        &header::TE,
        &header::TRAILER,
        &header::TRANSFER_ENCODING,
        &UPGRADE,
    ]
}

/// The Host header, else the authority of an absolute-form request target.
pub fn request_host<B>(req: &Request<B>) -> Option<&str> {
    req.headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().authority().map(|a| a.as_str()))
}

/// Whether `Connection` lists `token` (case-insensitive).
pub fn connection_has(headers: &HeaderMap, token: &str) -> bool {
    headers
        .get_all(CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|t| t.trim().eq_ignore_ascii_case(token))
}

/// The `Upgrade` value of a real upgrade request (`Connection: upgrade` too).
pub fn upgrade_request(headers: &HeaderMap) -> Option<HeaderValue> {
    let upgrade = headers.get(UPGRADE)?;
    connection_has(headers, "upgrade").then(|| upgrade.clone())
}

/// Removes hop-by-hop headers; with `upgrade`, re-adds `Upgrade` and
/// `Connection: upgrade`.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, upgrade: Option<HeaderValue>) {
    // Usually there are none: one pass over the few names present (cheap
    // comparisons of standard names) instead of nine hashed removals.
    let hop = hop_by_hop();
    if !headers.keys().any(|name| hop.contains(&name)) {
        if let Some(upgrade) = upgrade {
            headers.insert(UPGRADE, upgrade);
            headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
        }
        return;
    }
    if headers.contains_key(CONNECTION) {
        let listed: Vec<HeaderName> = headers
            .get_all(CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|t| HeaderName::from_bytes(t.trim().as_bytes()).ok())
            .collect();
        for name in listed {
            headers.remove(name);
        }
    }
    for name in hop_by_hop() {
        headers.remove(name);
    }
    if let Some(upgrade) = upgrade {
        headers.insert(UPGRADE, upgrade);
        headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    }
}

/// What a listener's `routing.http.response.*` attributes do to the
/// responses it sends, built once per snapshot so a request only copies
/// ready header values.
///
/// AWS adds each configured header to every response, or overwrites the
/// target's; `server.enabled=false` removes the `Server: awselb/2.0` of the
/// responses the ALB makes itself (fixed responses, redirects, error pages),
/// and leaves a target's own `Server` header alone
/// (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/header-modification.html>).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseHeaders {
    /// Set on every response, in attribute order.
    set: Vec<(HeaderName, HeaderValue)>,
    /// Whether the ALB's own responses keep `Server: awselb/2.0`.
    server: bool,
}

impl Default for ResponseHeaders {
    /// A listener with AWS's defaults: nothing added, `Server` kept.
    fn default() -> Self {
        Self {
            set: Vec::new(),
            server: true,
        }
    }
}

impl ResponseHeaders {
    /// From a listener's attribute map (already validated by the API; a
    /// value that still is no header value is skipped, never a panic).
    pub fn from_attributes(attributes: &BTreeMap<String, String>) -> Self {
        use crate::domain::elbv2::listener_attributes::{RESPONSE_HEADERS, SERVER_ENABLED};
        let set = RESPONSE_HEADERS
            .iter()
            .filter_map(|(key, name)| {
                let value = attributes.get(*key).filter(|v| !v.is_empty())?;
                let value = HeaderValue::from_str(value).ok()?;
                Some((HeaderName::from_static(name), value))
            })
            .collect();
        Self {
            set,
            server: attributes.get(SERVER_ENABLED).map(String::as_str) != Some("false"),
        }
    }

    /// Applies the attributes to a response; `generated` when the ALB made
    /// it rather than a target.
    pub fn apply(&self, headers: &mut HeaderMap, generated: bool) {
        if self.set.is_empty() && self.server {
            return;
        }
        for (name, value) in &self.set {
            headers.insert(name, value.clone());
        }
        if generated && !self.server {
            headers.remove(SERVER);
        }
    }
}

/// How many addresses `X-Forwarded-For` carries.
pub fn forwarded_for_count(headers: &HeaderMap) -> usize {
    headers
        .get_all(&X_FORWARDED_FOR)
        .iter()
        .map(|v| {
            v.as_bytes()
                .split(|b| *b == b',')
                .filter(|part| part.iter().any(|b| !b.is_ascii_whitespace()))
                .count()
        })
        .sum()
}

/// Sets the `X-Forwarded-*` headers. `client_ip` is the peer's address as a
/// header value; `port` the listener's API port.
pub fn set_forwarded(
    headers: &mut HeaderMap,
    client_ip: &HeaderValue,
    proto: &'static str,
    port: &HeaderValue,
) {
    let existing: Vec<HeaderValue> = match headers.entry(&X_FORWARDED_FOR) {
        header::Entry::Vacant(v) => {
            v.insert(client_ip.clone());
            Vec::new()
        }
        header::Entry::Occupied(o) => o.remove_entry_mult().1.collect(),
    };
    if !existing.is_empty() {
        let mut joined: Vec<u8> = Vec::with_capacity(64);
        for v in existing.iter() {
            let v = v.as_bytes();
            let v = v.trim_ascii();
            if v.is_empty() {
                continue;
            }
            if !joined.is_empty() {
                joined.extend_from_slice(b", ");
            }
            joined.extend_from_slice(v);
        }
        if !joined.is_empty() {
            joined.extend_from_slice(b", ");
        }
        joined.extend_from_slice(client_ip.as_bytes());
        let value = HeaderValue::from_bytes(&joined).unwrap_or_else(|_| client_ip.clone());
        headers.insert(&X_FORWARDED_FOR, value);
    }
    headers.insert(&X_FORWARDED_PROTO, HeaderValue::from_static(proto));
    headers.insert(&X_FORWARDED_PORT, port.clone());
}

/// Adds `X-Amzn-Trace-Id: Root=1-<epoch hex>-<24 hex>`, or, when the client
/// sent one, inserts or replaces its `Self=` field and keeps the rest.
pub fn set_trace_id(headers: &mut HeaderMap, epoch_secs: u64) {
    let existing = headers.get(&X_AMZN_TRACE_ID).and_then(|v| v.to_str().ok());
    if existing.is_none() {
        // The common case, without formatting: `Root=` and the id, built on
        // the stack.
        let mut buf = [0u8; 5 + TRACE_ID_LEN];
        buf[..5].copy_from_slice(b"Root=");
        write_trace_id(&mut buf[5..], epoch_secs);
        if let Ok(v) = HeaderValue::from_bytes(&buf) {
            headers.insert(&X_AMZN_TRACE_ID, v);
        }
        return;
    }
    let id = new_trace_id(epoch_secs);
    let value = match existing {
        None => format!("Root={id}"),
        Some(existing) => {
            let mut out = String::with_capacity(existing.len() + 40);
            out.push_str("Self=");
            out.push_str(&id);
            for field in existing.split(';') {
                let field = field.trim();
                if field.is_empty() || field.starts_with("Self=") {
                    continue;
                }
                out.push(';');
                out.push_str(field);
            }
            out
        }
    };
    if let Ok(v) = HeaderValue::try_from(value) {
        headers.insert(&X_AMZN_TRACE_ID, v);
    }
}

/// `1-<8 hex epoch seconds>-<24 hex random>`.
pub fn new_trace_id(epoch_secs: u64) -> String {
    let mut buf = [0u8; TRACE_ID_LEN];
    write_trace_id(&mut buf, epoch_secs);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Length of `1-XXXXXXXX-` plus 24 hex digits.
const TRACE_ID_LEN: usize = 35;

/// Writes `1-<8 hex epoch seconds>-<24 hex random>` into `out`.
fn write_trace_id(out: &mut [u8], epoch_secs: u64) {
    debug_assert_eq!(out.len(), TRACE_ID_LEN);
    let mut rng = rand::thread_rng();
    let hi: u32 = rng.gen();
    let lo: u64 = rng.gen();
    out[0] = b'1';
    out[1] = b'-';
    hex(&mut out[2..10], u64::from(epoch_secs as u32));
    out[10] = b'-';
    hex(&mut out[11..19], u64::from(hi));
    hex(&mut out[19..35], lo);
}

/// `v` as lowercase hex filling `out` (leading zeros kept).
fn hex(out: &mut [u8], mut v: u64) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in out.iter_mut().rev() {
        *b = DIGITS[(v & 0xf) as usize];
        v >>= 4;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A header map from name-value pairs (repeats append).
    pub(crate) fn map(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        h
    }

    #[test]
    fn strips_hop_by_hop_and_listed() {
        let mut h = map(&[
            ("connection", "keep-alive, X-Secret"),
            ("x-secret", "1"),
            ("keep-alive", "timeout=5"),
            ("te", "trailers"),
            ("transfer-encoding", "chunked"),
            ("upgrade", "websocket"),
            ("proxy-authorization", "x"),
            ("proxy-connection", "keep-alive"),
            ("trailer", "x"),
            ("x-keep", "yes"),
        ]);
        strip_hop_by_hop(&mut h, None);
        assert_eq!(h.len(), 1, "{h:?}");
        assert_eq!(h["x-keep"], "yes");
    }

    #[test]
    fn keeps_upgrade_for_real_upgrade() {
        let mut h = map(&[("connection", "Upgrade"), ("upgrade", "websocket")]);
        let up = upgrade_request(&h);
        assert_eq!(up.as_ref().unwrap(), "websocket");
        strip_hop_by_hop(&mut h, up);
        assert_eq!(h["upgrade"], "websocket");
        assert_eq!(h["connection"], "upgrade");
        // Upgrade without Connection: upgrade is not an upgrade.
        assert!(upgrade_request(&map(&[("upgrade", "websocket")])).is_none());
    }

    #[test]
    fn forwarded_for_appends() {
        let ip = HeaderValue::from_static("127.0.0.1");
        let port = HeaderValue::from_static("80");
        let mut h = HeaderMap::new();
        set_forwarded(&mut h, &ip, "http", &port);
        assert_eq!(h["x-forwarded-for"], "127.0.0.1");
        assert_eq!(h["x-forwarded-proto"], "http");
        assert_eq!(h["x-forwarded-port"], "80");

        let mut h = map(&[
            ("x-forwarded-for", "1.1.1.1, 2.2.2.2"),
            ("x-forwarded-for", "3.3.3.3"),
            ("x-forwarded-proto", "https"),
        ]);
        set_forwarded(&mut h, &ip, "http", &port);
        assert_eq!(h["x-forwarded-for"], "1.1.1.1, 2.2.2.2, 3.3.3.3, 127.0.0.1");
        assert_eq!(h.get_all("x-forwarded-for").iter().count(), 1);
        assert_eq!(h["x-forwarded-proto"], "http");
    }

    #[test]
    fn counts_forwarded_ips() {
        let list: Vec<String> = (0..31).map(|i| format!("10.0.0.{i}")).collect();
        let h = map(&[("x-forwarded-for", &list.join(", "))]);
        assert_eq!(forwarded_for_count(&h), 31);
        assert_eq!(forwarded_for_count(&HeaderMap::new()), 0);
    }

    #[test]
    fn trace_id_root_and_self() {
        let mut h = HeaderMap::new();
        set_trace_id(&mut h, 0x6344_1c4a);
        let v = h["x-amzn-trace-id"].to_str().unwrap().to_string();
        assert!(v.starts_with("Root=1-63441c4a-"), "{v}");
        assert_eq!(v.len(), "Root=1-63441c4a-abcdef012345678912345678".len());
        assert!(v[16..].bytes().all(|b| b.is_ascii_hexdigit()));

        let mut h = map(&[(
            "x-amzn-trace-id",
            "Root=1-67891233-abcdef012345678912345678;Self=1-00000000-000000000000000000000000;CalledFrom=app",
        )]);
        set_trace_id(&mut h, 0x6344_1c4a);
        let v = h["x-amzn-trace-id"].to_str().unwrap();
        assert!(v.starts_with("Self=1-63441c4a-"), "{v}");
        assert!(v.contains(";Root=1-67891233-abcdef012345678912345678"));
        assert!(v.ends_with(";CalledFrom=app"));
        assert_eq!(v.matches("Self=").count(), 1);
    }

    #[test]
    fn response_headers_from_listener_attributes() {
        use crate::domain::elbv2::listener_attributes::{defaults, modify};
        let kv = |k: &str, v: &str| (k.to_string(), v.to_string());
        let defaults = defaults();
        let none = ResponseHeaders::from_attributes(&defaults);
        assert_eq!(none, ResponseHeaders::default());
        let mut h = map(&[("server", "awselb/2.0")]);
        none.apply(&mut h, true);
        assert_eq!(h.len(), 1, "defaults change nothing");

        let attrs = modify(
            &defaults,
            &[
                kv("routing.http.response.x_frame_options.header_value", "DENY"),
                kv(
                    "routing.http.response.access_control_allow_origin.header_value",
                    "https://example.com",
                ),
                kv("routing.http.response.server.enabled", "false"),
            ],
        )
        .unwrap();
        let configured = ResponseHeaders::from_attributes(&attrs);

        // A target's response: headers added or overwritten, its Server kept.
        let mut h = map(&[("x-frame-options", "SAMEORIGIN"), ("server", "nginx")]);
        configured.apply(&mut h, false);
        assert_eq!(h["x-frame-options"], "DENY");
        assert_eq!(h.get_all("x-frame-options").iter().count(), 1);
        assert_eq!(h["access-control-allow-origin"], "https://example.com");
        assert_eq!(h["server"], "nginx");

        // The ALB's own response loses `Server: awselb/2.0`.
        let mut h = map(&[("server", "awselb/2.0")]);
        configured.apply(&mut h, true);
        assert!(h.get("server").is_none());
        assert_eq!(h["x-frame-options"], "DENY");
    }

    #[test]
    fn host_from_header_or_uri() {
        let req = Request::builder()
            .uri("http://a.example.com:81/x")
            .body(())
            .unwrap();
        assert_eq!(request_host(&req), Some("a.example.com:81"));
        let req = Request::builder()
            .uri("/x")
            .header("host", "b.example.com")
            .body(())
            .unwrap();
        assert_eq!(request_host(&req), Some("b.example.com"));
    }
}
