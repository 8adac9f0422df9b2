//! Stickiness cookies (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/sticky-sessions.html>).
//!
//! - `AWSALB` (and `AWSALBCORS`, `SameSite=None; Secure`) name a target of a
//!   group with `stickiness.type=lb_cookie`.
//! - `AWSALBTG` (and `AWSALBTGCORS`) name the target group of a weighted
//!   forward action with target-group stickiness.
//!
//! The values are opaque to clients: a 128-bit FNV-1a hash of the group and
//! target, unkeyed, so a cookie stays valid across emulator restarts. It is
//! not a secret: whoever knows a target group's ARN and a target's address
//! can compute the value that picks that target (ALB encrypts its cookies).
//! A value that names no healthy target is ignored and the cookie is
//! rewritten. Cookies carry `Expires`, never `Max-Age`.

use std::net::SocketAddr;

use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use time::OffsetDateTime;

pub const TARGET_COOKIE: &str = "AWSALB";
pub const TARGET_CORS_COOKIE: &str = "AWSALBCORS";
pub const GROUP_COOKIE: &str = "AWSALBTG";
pub const GROUP_CORS_COOKIE: &str = "AWSALBTGCORS";

/// The opaque `AWSALB` value for a target of a group.
pub fn target_cookie(tg_arn: &str, addr: SocketAddr) -> String {
    opaque(&[tg_arn.as_bytes(), b"|", addr.to_string().as_bytes()])
}

/// The opaque `AWSALBTG` value for a group.
pub fn group_cookie(tg_arn: &str) -> String {
    opaque(&[b"tg|", tg_arn.as_bytes()])
}

fn opaque(parts: &[&[u8]]) -> String {
    // Two FNV-1a passes with different offsets: 128 bits, stable across runs.
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4;
    for part in parts {
        for &byte in *part {
            a = (a ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            b = (b ^ u64::from(byte.rotate_left(3))).wrapping_mul(0x0100_0000_01b3);
        }
    }
    format!("{a:016x}{b:016x}")
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn request_cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|pair| {
            let (k, v) = pair.trim().split_once('=')?;
            (k == name).then_some(v)
        })
}

/// The two `Set-Cookie` values (plain and CORS) for cookie `name`.
pub fn set_cookies(
    name: &str,
    cors_name: &str,
    value: &str,
    lifetime_seconds: u64,
) -> [HeaderValue; 2] {
    let expires = http_date(
        OffsetDateTime::now_utc()
            + time::Duration::seconds(lifetime_seconds.min(i64::MAX as u64) as i64),
    );
    let plain = format!("{name}={value}; Expires={expires}; Path=/");
    let cors = format!("{cors_name}={value}; Expires={expires}; Path=/; SameSite=None; Secure");
    [
        HeaderValue::try_from(plain).expect("cookie is a valid header value"),
        HeaderValue::try_from(cors).expect("cookie is a valid header value"),
    ]
}

/// An IMF-fixdate (RFC 9110 section 5.6.7), e.g. `Sun, 06 Nov 1994 08:49:37 GMT`.
pub fn http_date(at: OffsetDateTime) -> String {
    const FORMAT: &[time::format_description::FormatItem<'static>] = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    at.to_offset(time::UtcOffset::UTC)
        .format(FORMAT)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_opaque_and_stable() {
        let addr: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let a = target_cookie("arn:tg/a", addr);
        assert_eq!(a, target_cookie("arn:tg/a", addr));
        assert_ne!(a, target_cookie("arn:tg/b", addr));
        assert_eq!(a.len(), 32);
        assert!(!a.contains("10.0.0.2"));
    }

    #[test]
    fn finds_exact_cookie_name() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, "AWSALBCORS=x; AWSALBTG=y".parse().unwrap());
        h.append(COOKIE, "a=b; AWSALB=z".parse().unwrap());
        assert_eq!(request_cookie(&h, "AWSALB"), Some("z"));
        assert_eq!(request_cookie(&h, "AWSALBTG"), Some("y"));
        assert_eq!(request_cookie(&h, "missing"), None);
    }

    #[test]
    fn set_cookie_uses_expires() {
        let [plain, cors] = set_cookies("AWSALB", "AWSALBCORS", "v", 60);
        let plain = plain.to_str().unwrap();
        assert!(plain.starts_with("AWSALB=v; Expires="), "{plain}");
        assert!(plain.ends_with(" GMT; Path=/"), "{plain}");
        assert!(!plain.contains("Max-Age"));
        assert!(cors.to_str().unwrap().ends_with("SameSite=None; Secure"));
    }

    #[test]
    fn imf_fixdate() {
        let t = time::macros::datetime!(1994-11-06 08:49:37 UTC);
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
    }
}
