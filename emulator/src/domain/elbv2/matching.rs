//! Listener-rule condition matching, as pure functions.
//!
//! The data plane compiles every [`Condition`] of a rule once, when it builds a
//! routing snapshot ([`CompiledCondition::compile`]), and then evaluates the
//! compiled form against the facts of each request ([`RequestFacts`]).
//!
//! AWS rules (<https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-condition-types.html>):
//! - host-header: case-insensitive; `*` matches zero or more characters, `?`
//!   exactly one. `*.example.com` does not match `example.com`.
//! - path-pattern: case-sensitive, same wildcards, the path only (no query).
//! - http-header: the name is case-insensitive and has no wildcards; the
//!   values are case-insensitive with wildcards.
//! - http-request-method: exact and case-sensitive.
//! - query-string: `Key`/`Value` pairs, case-insensitive, with wildcards; a
//!   literal `*` or `?` is escaped with `\`.
//! - source-ip: CIDR blocks, matched against the connecting peer (never
//!   `X-Forwarded-For`).
//!
//! Values inside one condition are OR-ed; the conditions of a rule are AND-ed.

use std::borrow::Cow;
use std::net::IpAddr;

use http::{HeaderMap, HeaderName};

use super::Condition;

/// One element of a compiled wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    /// A literal byte (already lowercased when the pattern is case-insensitive).
    Byte(u8),
    /// `?`: exactly one character.
    One,
    /// `*`: zero or more characters.
    Many,
}

/// A compiled AWS wildcard pattern (`*` and `?`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    tokens: Vec<Token>,
    case_insensitive: bool,
}

impl Pattern {
    /// Compiles `pattern`. With `escapes`, `\*`, `\?` and `\\` stand for the
    /// literal character (query-string conditions only).
    pub fn new(pattern: &str, case_insensitive: bool, escapes: bool) -> Self {
        let mut tokens = Vec::with_capacity(pattern.len());
        let mut bytes = pattern.bytes();
        while let Some(b) = bytes.next() {
            let token = match b {
                b'\\' if escapes => match bytes.next() {
                    Some(next) => Token::Byte(fold(next, case_insensitive)),
                    None => Token::Byte(b'\\'),
                },
                b'*' => {
                    // `**` is the same as `*`; collapsing keeps matching linear.
                    if tokens.last() == Some(&Token::Many) {
                        continue;
                    }
                    Token::Many
                }
                b'?' => Token::One,
                other => Token::Byte(fold(other, case_insensitive)),
            };
            tokens.push(token);
        }
        Self {
            tokens,
            case_insensitive,
        }
    }

    /// Whether `text` matches the whole pattern.
    pub fn matches(&self, text: &str) -> bool {
        let text = text.as_bytes();
        let pat = &self.tokens;
        let (mut t, mut p) = (0usize, 0usize);
        // Where to resume after the last `*`: (pattern index after it, text index).
        let mut backtrack: Option<(usize, usize)> = None;
        while t < text.len() {
            match pat.get(p) {
                Some(Token::Byte(b)) if *b == fold(text[t], self.case_insensitive) => {
                    t += 1;
                    p += 1;
                    continue;
                }
                Some(Token::One) => {
                    t += utf8_len(text[t]).min(text.len() - t);
                    p += 1;
                    continue;
                }
                Some(Token::Many) => {
                    p += 1;
                    backtrack = Some((p, t));
                    continue;
                }
                _ => {}
            }
            // Mismatch: let the last `*` swallow one more character.
            match backtrack {
                Some((bp, bt)) => {
                    let next = bt + utf8_len(text[bt]).min(text.len() - bt);
                    backtrack = Some((bp, next));
                    p = bp;
                    t = next;
                }
                None => return false,
            }
        }
        pat[p..].iter().all(|tok| *tok == Token::Many)
    }
}

fn fold(b: u8, case_insensitive: bool) -> u8 {
    if case_insensitive {
        b.to_ascii_lowercase()
    } else {
        b
    }
}

/// Length of the UTF-8 sequence that starts with `lead` (1 for stray bytes).
fn utf8_len(lead: u8) -> usize {
    match lead {
        0xF0..=0xF7 => 4,
        0xE0..=0xEF => 3,
        0xC0..=0xDF => 2,
        _ => 1,
    }
}

/// A condition compiled for fast evaluation.
#[derive(Debug, Clone)]
pub enum CompiledCondition {
    HostHeader(Vec<Pattern>),
    PathPattern(Vec<Pattern>),
    HttpHeader {
        name: HeaderName,
        values: Vec<Pattern>,
    },
    HttpRequestMethod(Vec<String>),
    QueryString(Vec<(Option<Pattern>, Pattern)>),
    SourceIp(Vec<ipnet::IpNet>),
    /// A condition that can never match (for example an invalid header name).
    Never,
}

impl CompiledCondition {
    pub fn compile(condition: &Condition) -> Self {
        match condition {
            Condition::HostHeader(values) => Self::HostHeader(
                values
                    .iter()
                    .map(|v| Pattern::new(v, true, false))
                    .collect(),
            ),
            Condition::PathPattern(values) => Self::PathPattern(
                values
                    .iter()
                    .map(|v| Pattern::new(v, false, false))
                    .collect(),
            ),
            Condition::HttpHeader { name, values } => {
                match HeaderName::from_bytes(name.as_bytes()) {
                    Ok(name) => Self::HttpHeader {
                        name,
                        values: values
                            .iter()
                            .map(|v| Pattern::new(v, true, false))
                            .collect(),
                    },
                    Err(_) => Self::Never,
                }
            }
            Condition::HttpRequestMethod(values) => Self::HttpRequestMethod(values.clone()),
            Condition::QueryString(pairs) => Self::QueryString(
                pairs
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.as_deref().map(|k| Pattern::new(k, true, true)),
                            Pattern::new(v, true, true),
                        )
                    })
                    .collect(),
            ),
            Condition::SourceIp(nets) => Self::SourceIp(nets.clone()),
        }
    }

    /// Evaluates the condition: true when any of its values matches.
    pub fn matches(&self, req: &RequestFacts<'_>) -> bool {
        match self {
            Self::HostHeader(patterns) => {
                let Some(host) = req.host else { return false };
                let host = strip_port(host);
                patterns.iter().any(|p| p.matches(host))
            }
            Self::PathPattern(patterns) => patterns.iter().any(|p| p.matches(req.path)),
            Self::HttpHeader { name, values } => req.headers.get_all(name).iter().any(|v| {
                let v = String::from_utf8_lossy(v.as_bytes());
                values.iter().any(|p| p.matches(&v))
            }),
            Self::HttpRequestMethod(methods) => methods.iter().any(|m| m == req.method),
            Self::QueryString(pairs) => {
                let Some(query) = req.query else { return false };
                query_pairs(query).any(|(key, value)| {
                    pairs.iter().any(|(kp, vp)| {
                        kp.as_ref().is_none_or(|kp| kp.matches(&key)) && vp.matches(&value)
                    })
                })
            }
            Self::SourceIp(nets) => {
                let ip = canonical_ip(req.source);
                nets.iter().any(|net| net.contains(&ip))
            }
            Self::Never => false,
        }
    }
}

/// What rule conditions look at in a request.
#[derive(Debug, Clone, Copy)]
pub struct RequestFacts<'a> {
    pub method: &'a str,
    /// The Host header (or the authority of an absolute-form URI), port included.
    pub host: Option<&'a str>,
    /// The path, without the query.
    pub path: &'a str,
    /// The raw query, without `?`.
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    /// The connecting peer.
    pub source: IpAddr,
}

/// True when every condition matches (an empty list always matches).
pub fn all_match(conditions: &[CompiledCondition], req: &RequestFacts<'_>) -> bool {
    conditions.iter().all(|c| c.matches(req))
}

/// `host:port` → `host`; IPv6 literals keep their brackets.
pub fn strip_port(host: &str) -> &str {
    if let Some(end) = host.strip_prefix('[').and_then(|h| h.find(']')) {
        return &host[..end + 2];
    }
    match host.rfind(':') {
        Some(i) if host[i + 1..].bytes().all(|b| b.is_ascii_digit()) => &host[..i],
        _ => host,
    }
}

/// `::ffff:a.b.c.d` → `a.b.c.d`, so IPv4 CIDRs match dual-stack peers.
fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6
            .to_ipv4_mapped()
            .map(IpAddr::V4)
            .unwrap_or(IpAddr::V6(v6)),
        v4 => v4,
    }
}

/// Decoded `key=value` pairs of a query string (`+` is a space, `%XX` decoded).
fn query_pairs(query: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k), percent_decode(v))
    })
}

fn percent_decode(s: &str) -> Cow<'_, str> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Cow::Borrowed(s);
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = |b: u8| (b as char).to_digit(16);
                match (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    Cow::Owned(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn host(p: &str, h: &str) -> bool {
        Pattern::new(p, true, false).matches(h)
    }
    fn path(p: &str, h: &str) -> bool {
        Pattern::new(p, false, false).matches(h)
    }

    #[test]
    fn wildcards() {
        assert!(path("/api/*", "/api/"));
        assert!(path("/api/*", "/api/v1/users"));
        assert!(!path("/api/*", "/api"));
        assert!(path("/api*", "/api"));
        assert!(path("*", ""));
        assert!(path("*", "/anything"));
        assert!(path("/a?c", "/abc"));
        assert!(!path("/a?c", "/ac"));
        assert!(!path("/a?c", "/abbc"));
        assert!(path("/*/x/*", "/a/b/x/c"));
        assert!(path("*.jpg", "/img/cat.jpg"));
        assert!(!path("*.jpg", "/img/cat.jpeg"));
        assert!(path("/a**b", "/ab"));
        assert!(path("/é?", "/éü"));
        assert!(!path("/exact", "/exact/"));
    }

    #[test]
    fn path_is_case_sensitive_host_is_not() {
        assert!(!path("/API/*", "/api/x"));
        assert!(host("*.Example.com", "WWW.example.COM"));
        assert!(host("www.example.com", strip_port("www.example.com:8080")));
    }

    #[test]
    fn host_star_does_not_match_apex() {
        assert!(!host("*.example.com", "example.com"));
        assert!(host("*.example.com", "a.b.example.com"));
        assert!(host("api-?.example.com", "api-1.example.com"));
    }

    #[test]
    fn escapes_only_for_query() {
        let q = Pattern::new(r"a\*b", true, true);
        assert!(q.matches("a*b"));
        assert!(!q.matches("axb"));
        let q = Pattern::new(r"a\?b", true, true);
        assert!(q.matches("a?b"));
        assert!(!q.matches("axb"));
    }

    #[test]
    fn strip_port_variants() {
        assert_eq!(strip_port("a.com:80"), "a.com");
        assert_eq!(strip_port("a.com"), "a.com");
        assert_eq!(strip_port("[::1]:80"), "[::1]");
        assert_eq!(strip_port("[::1]"), "[::1]");
    }

    fn facts<'a>(
        method: &'a str,
        host: Option<&'a str>,
        path: &'a str,
        query: Option<&'a str>,
        headers: &'a HeaderMap,
    ) -> RequestFacts<'a> {
        RequestFacts {
            method,
            host,
            path,
            query,
            headers,
            source: IpAddr::V4(Ipv4Addr::new(10, 1, 2, 3)),
        }
    }

    #[test]
    fn conditions() {
        let mut headers = HeaderMap::new();
        headers.insert("x-env", "Canary-7".parse().unwrap());
        headers.append("x-env", "other".parse().unwrap());
        let req = facts(
            "GET",
            Some("api.example.com:18080"),
            "/v1/items",
            Some("version=v2&tag=a%2Ab&x=1+2&flag"),
            &headers,
        );
        let c = |c: Condition| CompiledCondition::compile(&c).matches(&req);
        assert!(c(Condition::HostHeader(vec!["*.example.com".into()])));
        assert!(!c(Condition::HostHeader(vec!["example.com".into()])));
        assert!(c(Condition::PathPattern(vec![
            "/nope".into(),
            "/v1/*".into()
        ])));
        assert!(c(Condition::HttpHeader {
            name: "X-Env".into(),
            values: vec!["canary-*".into()]
        }));
        assert!(!c(Condition::HttpHeader {
            name: "X-Other".into(),
            values: vec!["*".into()]
        }));
        assert!(c(Condition::HttpRequestMethod(vec!["GET".into()])));
        assert!(!c(Condition::HttpRequestMethod(vec!["get".into()])));
        assert!(c(Condition::QueryString(vec![(
            Some("VERSION".into()),
            "V2".into()
        )])));
        assert!(c(Condition::QueryString(vec![(None, "v?".into())])));
        assert!(c(Condition::QueryString(vec![(
            Some("tag".into()),
            r"a\*b".into()
        )])));
        assert!(c(Condition::QueryString(vec![(
            Some("x".into()),
            "1 2".into()
        )])));
        assert!(c(Condition::QueryString(vec![(
            Some("flag".into()),
            "".into()
        )])));
        assert!(!c(Condition::QueryString(vec![(
            Some("version".into()),
            "v3".into()
        )])));
        assert!(c(Condition::SourceIp(vec!["10.1.0.0/16".parse().unwrap()])));
        assert!(!c(Condition::SourceIp(vec!["10.2.0.0/16"
            .parse()
            .unwrap()])));
    }

    #[test]
    fn query_condition_without_query_fails() {
        let headers = HeaderMap::new();
        let req = facts("GET", None, "/", None, &headers);
        let c = CompiledCondition::compile(&Condition::QueryString(vec![(None, "*".into())]));
        assert!(!c.matches(&req));
        let host = CompiledCondition::compile(&Condition::HostHeader(vec!["*".into()]));
        assert!(!host.matches(&req));
    }

    #[test]
    fn v4_mapped_source() {
        let headers = HeaderMap::new();
        let mut req = facts("GET", None, "/", None, &headers);
        req.source = "::ffff:10.1.2.3".parse().unwrap();
        let c =
            CompiledCondition::compile(&Condition::SourceIp(vec!["10.0.0.0/8".parse().unwrap()]));
        assert!(c.matches(&req));
    }

    #[test]
    fn all_conditions_are_anded() {
        let headers = HeaderMap::new();
        let req = facts("POST", Some("a.example.com"), "/x", None, &headers);
        let conds = vec![
            CompiledCondition::compile(&Condition::HostHeader(vec!["a.example.com".into()])),
            CompiledCondition::compile(&Condition::HttpRequestMethod(vec!["GET".into()])),
        ];
        assert!(!all_match(&conds, &req));
        assert!(all_match(&conds[..1], &req));
        assert!(all_match(&[], &req));
    }

    #[test]
    fn percent_decoding() {
        assert_eq!(percent_decode("a%20b"), "a b");
        assert_eq!(percent_decode("a%2"), "a%2");
        assert_eq!(percent_decode("%41"), "A");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
