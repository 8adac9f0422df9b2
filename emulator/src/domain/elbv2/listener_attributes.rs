//! Listener attributes (`DescribeListenerAttributes`,
//! `ModifyListenerAttributes`) of an Application Load Balancer's listeners:
//! the keys, AWS's defaults and the values AWS accepts.
//!
//! Keys and value rules: the API reference's `ListenerAttribute` and the ALB
//! guide's "HTTP header modification"
//! (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/header-modification.html>).
//! An empty header value or name means "not set": the listener leaves that
//! header alone (or keeps the default name).
//!
//! Validation is pure: it returns the new attribute map, so a rejected
//! request changes nothing.

use std::collections::BTreeMap;

use super::error::{Elbv2Error, Result};
use super::settings::{apply_attribute_changes, boolean, integer_in, one_of};

/// Whether the ALB's own responses carry `Server: awselb/2.0` (default `true`).
pub const SERVER_ENABLED: &str = "routing.http.response.server.enabled";

/// `(attribute key, response header)`: headers the listener adds to every
/// response, or overwrites in a target's, when the value is not empty.
pub const RESPONSE_HEADERS: [(&str, &str); 10] = [
    (
        "routing.http.response.strict_transport_security.header_value",
        "strict-transport-security",
    ),
    (
        "routing.http.response.access_control_allow_origin.header_value",
        "access-control-allow-origin",
    ),
    (
        "routing.http.response.access_control_allow_methods.header_value",
        "access-control-allow-methods",
    ),
    (
        "routing.http.response.access_control_allow_headers.header_value",
        "access-control-allow-headers",
    ),
    (
        "routing.http.response.access_control_allow_credentials.header_value",
        "access-control-allow-credentials",
    ),
    (
        "routing.http.response.access_control_expose_headers.header_value",
        "access-control-expose-headers",
    ),
    (
        "routing.http.response.access_control_max_age.header_value",
        "access-control-max-age",
    ),
    (
        "routing.http.response.content_security_policy.header_value",
        "content-security-policy",
    ),
    (
        "routing.http.response.x_content_type_options.header_value",
        "x-content-type-options",
    ),
    (
        "routing.http.response.x_frame_options.header_value",
        "x-frame-options",
    ),
];

/// Names of the mTLS and TLS request headers an HTTPS listener adds; each
/// attribute renames one. Stored and described here: HTTP listeners add none.
pub const REQUEST_HEADER_NAMES: [&str; 8] = [
    "routing.http.request.x_amzn_mtls_clientcert_serial_number.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_issuer.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_subject.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_validity.header_name",
    "routing.http.request.x_amzn_mtls_clientcert_leaf.header_name",
    "routing.http.request.x_amzn_mtls_clientcert.header_name",
    "routing.http.request.x_amzn_tls_version.header_name",
    "routing.http.request.x_amzn_tls_cipher_suite.header_name",
];

/// The Network and Gateway Load Balancer key; ALB listeners refuse it.
const TCP_IDLE_TIMEOUT: &str = "tcp.idle_timeout.seconds";

/// `ListenerAttributeKey`: at most 256 characters of `[a-zA-Z0-9._]`.
const KEY_MAX: usize = 256;
/// AWS's limit for an inserted header value.
pub const HEADER_VALUE_MAX: usize = 1024;
/// `access_control_max_age`: 0 to 86400 seconds.
const MAX_AGE_RANGE: (i64, i64) = (0, 86_400);
/// What `Access-Control-Allow-Methods` may list.
const METHODS: [&str; 9] = [
    "GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH",
];

/// The attributes of a new HTTP or HTTPS listener, as
/// DescribeListenerAttributes returns them: every key, `""` when unset.
pub fn defaults() -> BTreeMap<String, String> {
    let mut attributes: BTreeMap<String, String> = RESPONSE_HEADERS
        .iter()
        .map(|(key, _)| *key)
        .chain(REQUEST_HEADER_NAMES)
        .map(|key| (key.to_string(), String::new()))
        .collect();
    attributes.insert(SERVER_ENABLED.into(), "true".into());
    attributes
}

/// Validates a ModifyListenerAttributes request and returns the new map.
/// Values are trimmed of surrounding whitespace, as AWS does.
pub fn modify(
    current: &BTreeMap<String, String>,
    changes: &[(String, String)],
) -> Result<BTreeMap<String, String>> {
    apply_attribute_changes(current, changes, |position, key, value| {
        check_key(position, key)?;
        match key {
            SERVER_ENABLED => boolean(key, value)?,
            TCP_IDLE_TIMEOUT => {
                return Err(Elbv2Error::InvalidConfiguration(format!(
                    "Listener attribute '{key}' is supported by Network and Gateway Load Balancers only, not by Application Load Balancers"
                )))
            }
            k if RESPONSE_HEADERS.iter().any(|(name, _)| *name == k) => {
                response_header_value(key, value)?
            }
            k if REQUEST_HEADER_NAMES.contains(&k) => request_header_name(key, value)?,
            _ => {
                return Err(Elbv2Error::Validation(format!(
                    "Listener attribute key '{key}' is not recognized"
                )))
            }
        }
        Ok(())
    })
}

/// The `ListenerAttributeKey` constraints, in the Query protocol's wording.
fn check_key(position: usize, key: &str) -> Result<()> {
    let constraint = if key.len() > KEY_MAX {
        format!("Member must have length less than or equal to {KEY_MAX}")
    } else if key.is_empty()
        || !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_')
    {
        "Member must satisfy regular expression pattern: ^[a-zA-Z0-9._]+$".to_string()
    } else {
        return Ok(());
    };
    Err(Elbv2Error::Validation(format!(
        "1 validation error detected: Value '{key}' at 'attributes.{position}.member.key' failed to satisfy constraint: {constraint}"
    )))
}

fn invalid(key: &str, value: &str, expected: &str) -> Elbv2Error {
    Elbv2Error::InvalidConfiguration(format!(
        "The value of attribute '{key}' must be {expected}, not '{value}'"
    ))
}

/// A header value to insert: empty (unset), or printable ASCII within
/// [`HEADER_VALUE_MAX`] that fits the header's own grammar.
fn response_header_value(key: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        return Ok(());
    }
    if value.len() > HEADER_VALUE_MAX {
        return Err(Elbv2Error::InvalidConfiguration(format!(
            "The value of attribute '{key}' cannot be longer than {HEADER_VALUE_MAX} characters"
        )));
    }
    if !value.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Err(invalid(key, value, "printable ASCII characters"));
    }
    let header = key
        .strip_prefix("routing.http.response.")
        .and_then(|k| k.strip_suffix(".header_value"))
        .unwrap_or_default();
    let (ok, expected) = match header {
        "strict_transport_security" => (
            is_hsts(value),
            "'max-age=SECONDS', optionally followed by '; includeSubDomains' and '; preload'",
        ),
        "access_control_allow_origin" => (
            value == "*" || is_origin(value),
            "'*' or an origin such as 'https://example.com'",
        ),
        "access_control_allow_methods" => (
            is_list(value, |m| m == "*" || METHODS.contains(&m)),
            "'*' or a comma-separated list of GET, HEAD, POST, PUT, DELETE, CONNECT, OPTIONS, TRACE, PATCH",
        ),
        "access_control_allow_headers" | "access_control_expose_headers" => (
            is_list(value, |h| h == "*" || is_header_name(h)),
            "'*' or a comma-separated list of header names",
        ),
        "access_control_allow_credentials" => return one_of(key, value, &["true"]),
        "access_control_max_age" => return integer_in(key, value, MAX_AGE_RANGE).map(|_| ()),
        "x_content_type_options" => return one_of(key, value, &["nosniff"]),
        "x_frame_options" => (
            value == "DENY"
                || value == "SAMEORIGIN"
                || value
                    .strip_prefix("ALLOW-FROM ")
                    .is_some_and(|uri| is_origin(uri.trim())),
            "DENY, SAMEORIGIN or 'ALLOW-FROM https://example.com'",
        ),
        // Content-Security-Policy: any policy text.
        _ => (true, ""),
    };
    if ok {
        Ok(())
    } else {
        Err(invalid(key, value, expected))
    }
}

/// A request header's new name: empty (the default name), or a header name
/// of letters, digits and hyphens within [`HEADER_VALUE_MAX`].
fn request_header_name(key: &str, value: &str) -> Result<()> {
    if value.is_empty() || (value.len() <= HEADER_VALUE_MAX && is_header_name(value)) {
        Ok(())
    } else {
        Err(invalid(
            key,
            value,
            "a header name of letters, digits and hyphens",
        ))
    }
}

/// ALB's valid header name: `[-A-Za-z0-9]+`.
fn is_header_name(name: &str) -> bool {
    !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// A non-empty comma-separated list whose every item passes `item`.
fn is_list(value: &str, item: impl Fn(&str) -> bool) -> bool {
    value.split(',').all(|part| {
        let part = part.trim();
        !part.is_empty() && item(part)
    })
}

/// `http[s]://host[:port]`, without a path.
fn is_origin(value: &str) -> bool {
    let Some(authority) = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"))
    else {
        return false;
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, Some(port)),
        None => (authority, None),
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.' || b == b'*');
    let port_ok = port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    host_ok && port_ok
}

/// `max-age=N[; includeSubDomains][; preload]` (directive names in any case).
fn is_hsts(value: &str) -> bool {
    let mut max_age = false;
    for directive in value.split(';').map(str::trim) {
        let lower = directive.to_ascii_lowercase();
        if let Some(secs) = lower.strip_prefix("max-age=") {
            if max_age || secs.is_empty() || !secs.bytes().all(|b| b.is_ascii_digit()) {
                return false;
            }
            max_age = true;
        } else if lower != "includesubdomains" && lower != "preload" {
            return false;
        }
    }
    max_age
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(key: &str, value: &str) -> Result<BTreeMap<String, String>> {
        modify(&defaults(), &[(key.to_string(), value.to_string())])
    }

    #[test]
    fn defaults_list_every_key() {
        let d = defaults();
        assert_eq!(
            d.len(),
            1 + RESPONSE_HEADERS.len() + REQUEST_HEADER_NAMES.len()
        );
        assert_eq!(d[SERVER_ENABLED], "true");
        assert!(d
            .iter()
            .filter(|(k, _)| *k != SERVER_ENABLED)
            .all(|(_, v)| v.is_empty()));
    }

    #[test]
    fn accepts_what_aws_documents() {
        let key = |h: &str| format!("routing.http.response.{h}.header_value");
        for (header, value) in [
            (
                "strict_transport_security",
                "max-age=31536000; includeSubDomains; preload",
            ),
            ("strict_transport_security", "max-age=0"),
            ("access_control_allow_origin", "https://example.com"),
            ("access_control_allow_origin", "*"),
            ("access_control_allow_origin", "http://localhost:3000"),
            ("access_control_allow_methods", "GET, POST,OPTIONS"),
            ("access_control_allow_headers", "Content-Type, X-Custom"),
            ("access_control_expose_headers", "*"),
            ("access_control_allow_credentials", "true"),
            ("access_control_max_age", "86400"),
            ("content_security_policy", "default-src 'self'; img-src *"),
            ("x_content_type_options", "nosniff"),
            ("x_frame_options", "SAMEORIGIN"),
            ("x_frame_options", "ALLOW-FROM https://example.com"),
            ("x_frame_options", ""),
        ] {
            let next = set(&key(header), value).unwrap_or_else(|e| panic!("{header}={value}: {e}"));
            assert_eq!(next[&key(header)], value);
        }
        let next = set(SERVER_ENABLED, " false ").unwrap();
        assert_eq!(next[SERVER_ENABLED], "false", "values are trimmed");
        let tls = "routing.http.request.x_amzn_tls_version.header_name";
        assert_eq!(set(tls, "X-Tls-Version").unwrap()[tls], "X-Tls-Version");
    }

    #[test]
    fn rejects_bad_values() {
        let key = |h: &str| format!("routing.http.response.{h}.header_value");
        for (header, value) in [
            ("strict_transport_security", "includeSubDomains"),
            ("strict_transport_security", "max-age=abc"),
            ("strict_transport_security", "max-age=1; max-age=2"),
            ("strict_transport_security", "max-age=1; always"),
            ("access_control_allow_origin", "example.com"),
            ("access_control_allow_origin", "ftp://example.com"),
            ("access_control_allow_methods", "GET, FETCH"),
            ("access_control_allow_methods", "GET,,POST"),
            ("access_control_allow_headers", "Content Type"),
            ("access_control_allow_credentials", "false"),
            ("access_control_max_age", "86401"),
            ("access_control_max_age", "-1"),
            ("access_control_max_age", "soon"),
            ("x_content_type_options", "sniff"),
            ("x_frame_options", "ALLOW"),
            ("x_frame_options", "ALLOW-FROM example"),
            ("content_security_policy", "default-src \u{7f}"),
        ] {
            let e = set(&key(header), value).unwrap_err();
            assert_eq!(e.code(), "InvalidConfigurationRequest", "{header}={value}");
        }
        let long = "a".repeat(HEADER_VALUE_MAX + 1);
        assert!(set(&key("content_security_policy"), &long).is_err());
        assert!(set(SERVER_ENABLED, "yes").is_err());
        assert!(set(
            "routing.http.request.x_amzn_mtls_clientcert.header_name",
            "X Cert"
        )
        .is_err());
    }

    #[test]
    fn rejects_unknown_and_foreign_keys() {
        let e = set("routing.http.response.server.enable", "true").unwrap_err();
        assert_eq!(e.code(), "ValidationError");
        assert_eq!(
            e.to_string(),
            "Listener attribute key 'routing.http.response.server.enable' is not recognized"
        );
        let e = set(TCP_IDLE_TIMEOUT, "350").unwrap_err();
        assert_eq!(e.code(), "InvalidConfigurationRequest");
        let e = set("bad key!", "1").unwrap_err();
        assert_eq!(e.code(), "ValidationError");
        assert!(e.to_string().contains("'attributes.1.member.key'"), "{e}");
        assert!(set(&"a".repeat(KEY_MAX + 1), "1")
            .unwrap_err()
            .to_string()
            .contains("less than or equal to 256"));
    }

    #[test]
    fn one_bad_key_fails_the_whole_request() {
        let changes = vec![
            (SERVER_ENABLED.to_string(), "false".to_string()),
            ("nope".to_string(), "1".to_string()),
        ];
        assert!(modify(&defaults(), &changes).is_err());
    }
}
