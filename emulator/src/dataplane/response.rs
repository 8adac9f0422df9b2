//! Responses the ALB generates itself: error pages, redirects
//! and fixed responses. All carry `Server: awselb/2.0`.
//!
//! Error bodies are nginx-style HTML with CRLF line ends, as recorded from real
//! ALBs (the 503 page is 162 bytes).

use bytes::Bytes;
use http::header::{CONNECTION, CONTENT_TYPE, LOCATION, SERVER};
use http::{HeaderValue, Response, StatusCode};

use super::body::AlbBody;
use crate::domain::elbv2::{FixedResponseConfig, RedirectConfig};

pub const SERVER_NAME: HeaderValue = HeaderValue::from_static("awselb/2.0");
const TEXT_HTML: HeaderValue = HeaderValue::from_static("text/html");

/// A failure the ALB answers itself, mapped to a status in exactly one place.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlbError {
    /// Malformed request (also `Content-Length` with `Transfer-Encoding`).
    BadRequest,
    /// A request line or header line over 16 KB, a head over 64 KB, or more
    /// header fields than the engine reads.
    HeaderTooLarge,
    /// The client stopped sending a request (head or body) for the idle
    /// timeout.
    RequestTimeout,
    /// `TRACE`.
    MethodNotAllowed,
    /// More than 30 addresses in `X-Forwarded-For`.
    TooManyForwardedIps,
    /// `Transfer-Encoding` other than `chunked` or `identity`.
    UnsupportedTransferEncoding,
    /// The target refused or reset the connection, or answered garbage.
    BadGateway,
    /// No registered target (or no target group) to send the request to.
    NoTargets,
    /// No answer within the idle timeout, or no connection within 10 s.
    GatewayTimeout,
}

impl AlbError {
    pub fn status(self) -> StatusCode {
        match self {
            Self::BadRequest | Self::HeaderTooLarge => StatusCode::BAD_REQUEST,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::TooManyForwardedIps => {
                StatusCode::from_u16(463).expect("463 is a valid status code")
            }
            Self::UnsupportedTransferEncoding => StatusCode::NOT_IMPLEMENTED,
            Self::BadGateway => StatusCode::BAD_GATEWAY,
            Self::NoTargets => StatusCode::SERVICE_UNAVAILABLE,
            Self::GatewayTimeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// Whether the client connection must close after the response.
    fn closes(self) -> bool {
        matches!(
            self,
            Self::BadRequest
                | Self::HeaderTooLarge
                | Self::RequestTimeout
                | Self::UnsupportedTransferEncoding
        )
    }

    pub fn into_response(self) -> Response<AlbBody> {
        let body = match self {
            // nginx's wording, which ALB's page keeps.
            Self::HeaderTooLarge => concat!(
                "<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n",
                "<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n",
                "<center>Request Header Or Cookie Too Large</center>\r\n</body>\r\n</html>\r\n"
            ),
            _ => page_body(self.status()),
        };
        let mut resp = html_page(self.status(), body);
        if self.closes() {
            resp.headers_mut()
                .insert(CONNECTION, HeaderValue::from_static("close"));
        }
        resp
    }
}

macro_rules! page {
    ($title:literal) => {
        concat!(
            "<html>\r\n<head><title>",
            $title,
            "</title></head>\r\n<body>\r\n<center><h1>",
            $title,
            "</h1></center>\r\n</body>\r\n</html>\r\n"
        )
    };
}

/// The nginx-style page for `status`.
pub fn page_body(status: StatusCode) -> &'static str {
    match status.as_u16() {
        301 => page!("301 Moved Permanently"),
        302 => page!("302 Found"),
        400 => page!("400 Bad Request"),
        405 => page!("405 Method Not Allowed"),
        408 => page!("408 Request Time-out"),
        463 => page!("463"),
        501 => page!("501 Not Implemented"),
        502 => page!("502 Bad Gateway"),
        503 => page!("503 Service Temporarily Unavailable"),
        504 => page!("504 Gateway Time-out"),
        _ => page!("500 Internal Server Error"),
    }
}

fn html_page(status: StatusCode, body: &'static str) -> Response<AlbBody> {
    let mut resp = Response::new(AlbBody::full(Bytes::from_static(body.as_bytes())));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(SERVER, SERVER_NAME);
    h.insert(CONTENT_TYPE, TEXT_HTML);
    resp
}

/// A `fixed-response` action.
pub fn fixed(cfg: &FixedResponseConfig) -> Response<AlbBody> {
    let status = cfg
        .status_code
        .parse::<u16>()
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let body = cfg.message_body.clone().unwrap_or_default();
    let mut resp = Response::new(AlbBody::full(Bytes::from(body)));
    *resp.status_mut() = status;
    let h = resp.headers_mut();
    h.insert(SERVER, SERVER_NAME);
    let content_type = cfg
        .content_type
        .as_deref()
        .and_then(|c| HeaderValue::from_str(c).ok())
        .unwrap_or(HeaderValue::from_static("text/plain; charset=utf-8"));
    h.insert(CONTENT_TYPE, content_type);
    resp
}

/// What a redirect template can refer to.
#[derive(Debug, Clone, Copy)]
pub struct RedirectInput<'a> {
    pub https: bool,
    /// The Host header without its port.
    pub host: &'a str,
    /// The listener's port.
    pub port: u16,
    pub path: &'a str,
    /// Without `?`.
    pub query: Option<&'a str>,
}

/// The `Location` of a redirect action. Unset fields keep their original
/// value; `#{path}` is the path without its leading `/`; the port is left out
/// when it is the protocol's default.
pub fn redirect_location(cfg: &RedirectConfig, input: &RedirectInput<'_>) -> String {
    let original_protocol = if input.https { "https" } else { "http" };
    let port = input.port.to_string();
    let path_no_slash = input.path.strip_prefix('/').unwrap_or(input.path);
    let query = input.query.unwrap_or("");
    let fill = |template: &str| -> String {
        template
            .replace("#{protocol}", original_protocol)
            .replace("#{host}", input.host)
            .replace("#{port}", &port)
            .replace("#{path}", path_no_slash)
            .replace("#{query}", query)
    };
    let protocol = fill(cfg.protocol.as_deref().unwrap_or("#{protocol}")).to_ascii_lowercase();
    let host = fill(cfg.host.as_deref().unwrap_or("#{host}"));
    let port = fill(cfg.port.as_deref().unwrap_or("#{port}"));
    let mut path = fill(cfg.path.as_deref().unwrap_or("/#{path}"));
    if !path.starts_with('/') {
        path.insert(0, '/');
    }
    let query = fill(cfg.query.as_deref().unwrap_or("#{query}"));
    let default_port = match protocol.as_str() {
        "https" => "443",
        _ => "80",
    };
    let mut out =
        String::with_capacity(protocol.len() + host.len() + path.len() + query.len() + 16);
    out.push_str(&protocol);
    out.push_str("://");
    out.push_str(&host);
    if port != default_port && !port.is_empty() {
        out.push(':');
        out.push_str(&port);
    }
    out.push_str(&path);
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    out
}

/// A `redirect` action's response.
pub fn redirect(cfg: &RedirectConfig, input: &RedirectInput<'_>) -> Response<AlbBody> {
    let status = if cfg.status_code == "HTTP_301" {
        StatusCode::MOVED_PERMANENTLY
    } else {
        StatusCode::FOUND
    };
    let mut resp = html_page(status, page_body(status));
    if let Ok(location) = HeaderValue::try_from(redirect_location(cfg, input)) {
        resp.headers_mut().insert(LOCATION, location);
    }
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_page_503_matches_alb() {
        let body = page_body(StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body.len(), 162);
        assert_eq!(
            body,
            "<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n"
        );
        let resp = AlbError::NoTargets.into_response();
        assert_eq!(resp.status(), 503);
        assert_eq!(resp.headers()["server"], "awselb/2.0");
        assert_eq!(resp.headers()["content-type"], "text/html");
        assert!(resp.headers().get("connection").is_none());
    }

    #[test]
    fn error_statuses() {
        assert_eq!(AlbError::BadGateway.into_response().status(), 502);
        assert!(page_body(StatusCode::BAD_GATEWAY).contains("<title>502 Bad Gateway</title>"));
        assert_eq!(AlbError::GatewayTimeout.into_response().status(), 504);
        assert_eq!(AlbError::TooManyForwardedIps.status().as_u16(), 463);
        assert_eq!(AlbError::MethodNotAllowed.status(), 405);
        assert_eq!(AlbError::UnsupportedTransferEncoding.status(), 501);
        let bad = AlbError::BadRequest.into_response();
        assert_eq!(bad.status(), 400);
        assert_eq!(bad.headers()["connection"], "close");
        let large = AlbError::HeaderTooLarge.into_response();
        assert_eq!(large.status(), 400);
        assert_eq!(large.headers()["connection"], "close");
        let timeout = AlbError::RequestTimeout.into_response();
        assert_eq!(timeout.status(), 408);
        assert_eq!(timeout.headers()["connection"], "close");
        assert!(
            page_body(StatusCode::REQUEST_TIMEOUT).contains("<title>408 Request Time-out</title>")
        );
    }

    fn cfg(
        protocol: Option<&str>,
        host: Option<&str>,
        port: Option<&str>,
        path: Option<&str>,
        query: Option<&str>,
    ) -> RedirectConfig {
        RedirectConfig {
            protocol: protocol.map(Into::into),
            port: port.map(Into::into),
            host: host.map(Into::into),
            path: path.map(Into::into),
            query: query.map(Into::into),
            status_code: "HTTP_301".into(),
        }
    }

    const INPUT: RedirectInput<'static> = RedirectInput {
        https: false,
        host: "app.example.com",
        port: 18080,
        path: "/a/b",
        query: Some("x=1"),
    };

    #[test]
    fn redirect_keeps_unset_fields() {
        let loc = redirect_location(&cfg(None, None, None, None, None), &INPUT);
        assert_eq!(loc, "http://app.example.com:18080/a/b?x=1");
    }

    #[test]
    fn redirect_to_https_default_port() {
        let loc = redirect_location(&cfg(Some("HTTPS"), None, Some("443"), None, None), &INPUT);
        assert_eq!(loc, "https://app.example.com/a/b?x=1");
    }

    #[test]
    fn redirect_templates() {
        let c = cfg(
            Some("#{protocol}"),
            Some("new.#{host}"),
            Some("#{port}"),
            Some("/v2/#{path}"),
            Some("#{query}&from=old"),
        );
        let loc = redirect_location(&c, &INPUT);
        assert_eq!(loc, "http://new.app.example.com:18080/v2/a/b?x=1&from=old");
        let no_query = RedirectInput {
            query: None,
            ..INPUT
        };
        let loc = redirect_location(
            &cfg(None, Some("h"), Some("80"), Some("/p"), None),
            &no_query,
        );
        assert_eq!(loc, "http://h/p");
    }

    #[test]
    fn redirect_response() {
        let mut c = cfg(None, Some("example.org"), None, None, None);
        c.status_code = "HTTP_302".into();
        let resp = redirect(&c, &INPUT);
        assert_eq!(resp.status(), 302);
        assert_eq!(
            resp.headers()["location"],
            "http://example.org:18080/a/b?x=1"
        );
        assert_eq!(resp.headers()["server"], "awselb/2.0");
    }

    #[test]
    fn fixed_response() {
        let resp = fixed(&FixedResponseConfig {
            status_code: "418".into(),
            content_type: Some("application/json".into()),
            message_body: Some("{}".into()),
        });
        assert_eq!(resp.status(), 418);
        assert_eq!(resp.headers()["content-type"], "application/json");
    }
}
