//! Pure validation of ELBv2 input: names, tags, targets, rule conditions,
//! actions and priorities (limits from
//! <https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-limits.html>). The API layer decodes the wire format into the
//! model types and calls these before it changes the store.

use std::collections::HashSet;
use std::net::IpAddr;

use super::error::{Elbv2Error, Result};
use super::{Action, ActionKind, Condition, FixedResponseConfig, ForwardConfig, RedirectConfig};

/// Load balancer and target group names: at most 32 characters.
pub const NAME_MAX: usize = 32;
/// Rule priorities run from 1 to 50000.
pub const PRIORITY_RANGE: (i64, i64) = (1, 50_000);
/// Action `Order`: 1–50000.
pub const ACTION_ORDER_RANGE: (i64, i64) = (1, 50_000);
/// Condition values per rule (query-string pairs count one each).
pub const CONDITION_VALUES_PER_RULE: usize = 5;
/// Wildcards (`*`, `?`) per rule.
pub const WILDCARDS_PER_RULE: usize = 5;
/// Length of each condition value.
pub const CONDITION_VALUE_MAX: usize = 128;
/// Length of an HTTP header condition's header name.
pub const HEADER_NAME_MAX: usize = 40;
/// Length of an HTTP method in a condition.
pub const METHOD_MAX: usize = 40;
/// Target groups in one forward action.
pub const TARGET_GROUPS_PER_ACTION: usize = 5;
/// Forward weights: 0–999.
pub const WEIGHT_RANGE: (i64, i64) = (0, 999);
/// Target-group stickiness of a forward action: 1 second to 7 days.
pub const STICKINESS_RANGE: (i64, i64) = (1, 604_800);
/// Fixed-response bodies: at most 1024 characters.
pub const MESSAGE_BODY_MAX: usize = 1024;
/// Redirect host, path and query: at most 128 characters.
pub const REDIRECT_PART_MAX: usize = 128;
/// Fixed-response content types ALB accepts.
pub const FIXED_RESPONSE_CONTENT_TYPES: &[&str] = &[
    "text/plain",
    "text/css",
    "text/html",
    "application/javascript",
    "application/json",
];
/// Tags per resource.
pub const TAGS_PER_RESOURCE: usize = 50;
/// Tag key and value lengths.
pub const TAG_KEY_MAX: usize = 128;
pub const TAG_VALUE_MAX: usize = 256;

/// A load balancer name: 1–32 alphanumerics or hyphens, not starting or
/// ending with a hyphen, not starting with `internal-`.
pub fn load_balancer_name(name: &str) -> Result<()> {
    resource_name("Load balancer", name)?;
    if name.starts_with("internal-") {
        return Err(Elbv2Error::Validation(format!(
            "Load balancer name '{name}' cannot begin with 'internal-'"
        )));
    }
    Ok(())
}

/// A target group name: 1–32 alphanumerics or hyphens, not starting or
/// ending with a hyphen.
pub fn target_group_name(name: &str) -> Result<()> {
    resource_name("Target group", name)
}

fn resource_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() || name.len() > NAME_MAX {
        return Err(Elbv2Error::Validation(format!(
            "{what} name '{name}' must be from 1 to {NAME_MAX} characters long"
        )));
    }
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(Elbv2Error::Validation(format!(
            "{what} name '{name}' can contain only alphanumeric characters and hyphens"
        )));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(Elbv2Error::Validation(format!(
            "{what} name '{name}' cannot begin or end with a hyphen"
        )));
    }
    Ok(())
}

/// A `1..=65535` port from wide input.
pub fn port(member: &str, value: i64) -> Result<u16> {
    u16::try_from(value)
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| Elbv2Error::out_of_range(member, value, 1, 65535))
}

/// A rule priority, 1–50000.
pub fn priority(value: i64) -> Result<u32> {
    in_range("priority", value, PRIORITY_RANGE)
}

/// A forward weight, 0–999.
pub fn weight(value: i64) -> Result<u32> {
    in_range("weight", value, WEIGHT_RANGE)
}

/// An action `Order`, 1–50000.
pub fn action_order(value: i64) -> Result<u32> {
    in_range("order", value, ACTION_ORDER_RANGE)
}

/// Target-group stickiness duration of a forward action, 1–604800.
pub fn stickiness_duration(value: i64) -> Result<u32> {
    in_range("durationSeconds", value, STICKINESS_RANGE)
}

fn in_range(member: &str, value: i64, (min, max): (i64, i64)) -> Result<u32> {
    if (min..=max).contains(&value) {
        Ok(value as u32)
    } else {
        Err(Elbv2Error::out_of_range(member, value, min, max))
    }
}

/// A target `Id`. This emulator reaches targets by IP address only: for
/// `instance` target groups it cannot resolve EC2 instance ids.
pub fn target_id(id: &str, target_type: &str) -> Result<IpAddr> {
    id.trim().parse().map_err(|_| {
        Elbv2Error::InvalidTarget(if target_type == "instance" {
            format!(
                "The target Id '{id}' is not an IP address: this emulator cannot resolve EC2 instance ids, so targets of 'instance' target groups must be given as IP addresses (or use TargetType 'ip')"
            )
        } else {
            format!("The IP address '{id}' is not a valid IPv4 or IPv6 address")
        })
    })
}

/// Tags of a create or AddTags request: key and value limits, no `aws:`
/// keys, no key twice.
pub fn tags(tags: &[(String, String)]) -> Result<()> {
    let mut seen = HashSet::new();
    for (key, value) in tags {
        if key.is_empty() || key.chars().count() > TAG_KEY_MAX {
            return Err(Elbv2Error::Validation(format!(
                "Tag key '{key}' must be from 1 to {TAG_KEY_MAX} characters long"
            )));
        }
        if value.chars().count() > TAG_VALUE_MAX {
            return Err(Elbv2Error::Validation(format!(
                "The value of tag '{key}' must be at most {TAG_VALUE_MAX} characters long"
            )));
        }
        let allowed = |c: char| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c);
        if !key.chars().all(allowed) || !value.chars().all(allowed) {
            return Err(Elbv2Error::Validation(format!(
                "Tag '{key}' may contain only letters, digits, spaces and _ . : / = + - @"
            )));
        }
        if key.to_ascii_lowercase().starts_with("aws:") {
            return Err(Elbv2Error::Validation(format!(
                "Tag key '{key}' uses the reserved prefix 'aws:'"
            )));
        }
        if !seen.insert(key.as_str()) {
            return Err(Elbv2Error::DuplicateTagKeys(format!(
                "Tag key '{key}' is specified more than once"
            )));
        }
    }
    Ok(())
}

/// The conditions of a (non-default) rule.
pub fn conditions(conditions: &[Condition]) -> Result<()> {
    if conditions.is_empty() {
        return Err(Elbv2Error::Validation(
            "A rule must have at least one condition".into(),
        ));
    }
    let mut singles = HashSet::new();
    let mut values = 0;
    let mut wildcards = 0;
    for condition in conditions {
        let field = field_name(condition);
        if !matches!(
            condition,
            Condition::HttpHeader { .. } | Condition::QueryString(_)
        ) && !singles.insert(field)
        {
            return Err(Elbv2Error::Validation(format!(
                "A rule can only have one '{field}' condition"
            )));
        }
        let texts: Vec<&str> = match condition {
            Condition::HostHeader(v)
            | Condition::PathPattern(v)
            | Condition::HttpRequestMethod(v) => v.iter().map(String::as_str).collect(),
            Condition::HttpHeader { values, .. } => values.iter().map(String::as_str).collect(),
            Condition::QueryString(pairs) => pairs
                .iter()
                .flat_map(|(k, v)| k.as_deref().into_iter().chain([v.as_str()]))
                .collect(),
            Condition::SourceIp(_) => Vec::new(),
        };
        let count = match condition {
            Condition::QueryString(pairs) => pairs.len(),
            Condition::SourceIp(nets) => nets.len(),
            _ => texts.len(),
        };
        if count == 0 {
            return Err(Elbv2Error::Validation(format!(
                "A '{field}' condition must have at least one value"
            )));
        }
        values += count;
        for text in &texts {
            if text.chars().count() > CONDITION_VALUE_MAX {
                return Err(Elbv2Error::Validation(format!(
                    "Condition value '{text}' is longer than {CONDITION_VALUE_MAX} characters"
                )));
            }
        }
        if !matches!(condition, Condition::HttpRequestMethod(_)) {
            wildcards += texts
                .iter()
                .map(|t| t.chars().filter(|c| *c == '*' || *c == '?').count())
                .sum::<usize>();
        }
        condition_values(condition)?;
    }
    if values > CONDITION_VALUES_PER_RULE {
        return Err(Elbv2Error::Validation(format!(
            "A rule can only have '{CONDITION_VALUES_PER_RULE}' condition values in total, not '{values}'"
        )));
    }
    if wildcards > WILDCARDS_PER_RULE {
        return Err(Elbv2Error::Validation(format!(
            "A rule can only have '{WILDCARDS_PER_RULE}' wildcards in total, not '{wildcards}'"
        )));
    }
    Ok(())
}

/// The wire `Field` name of a condition.
pub fn field_name(condition: &Condition) -> &'static str {
    match condition {
        Condition::HostHeader(_) => "host-header",
        Condition::PathPattern(_) => "path-pattern",
        Condition::HttpHeader { .. } => "http-header",
        Condition::HttpRequestMethod(_) => "http-request-method",
        Condition::QueryString(_) => "query-string",
        Condition::SourceIp(_) => "source-ip",
    }
}

/// The characters each condition type allows (ALB guide, "Rule condition types").
fn condition_values(condition: &Condition) -> Result<()> {
    let bad = |field: &str, value: &str, allowed: &str| {
        Err(Elbv2Error::Validation(format!(
            "Condition value '{value}' is not valid for '{field}': {allowed}"
        )))
    };
    match condition {
        Condition::HostHeader(values) => {
            for v in values {
                let chars_ok = v
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-.*?".contains(c));
                let last = v.rsplit('.').next().unwrap_or_default();
                if v.is_empty() || !chars_ok || !v.contains('.') || last.is_empty() {
                    return bad(
                        "host-header",
                        v,
                        "use A-Z, a-z, 0-9, '-', '.', '*' and '?', with at least one '.'",
                    );
                }
            }
        }
        Condition::PathPattern(values) => {
            for v in values {
                let ok = !v.is_empty()
                    && v.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-.$/~\"'@:+&*?".contains(c));
                if !ok {
                    return bad(
                        "path-pattern",
                        v,
                        "use A-Z, a-z, 0-9 and _ - . $ / ~ \" ' @ : + & * ?",
                    );
                }
            }
        }
        Condition::HttpRequestMethod(values) => {
            for v in values {
                let ok = !v.is_empty()
                    && v.len() <= METHOD_MAX
                    && v.chars()
                        .all(|c| c.is_ascii_uppercase() || c == '-' || c == '_');
                if !ok {
                    return bad(
                        "http-request-method",
                        v,
                        "use up to 40 characters A-Z, '-' and '_' (methods are case-sensitive)",
                    );
                }
            }
        }
        Condition::HttpHeader { name, values } => {
            let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c);
            if name.is_empty() || name.len() > HEADER_NAME_MAX || !name.chars().all(token) {
                return Err(Elbv2Error::Validation(format!(
                    "HTTP header name '{name}' must be 1 to {HEADER_NAME_MAX} characters allowed in header names (RFC 7230 tokens)"
                )));
            }
            if name.eq_ignore_ascii_case("host") {
                return Err(Elbv2Error::Validation(
                    "An http-header condition cannot match the Host header; use a host-header condition".into(),
                ));
            }
            if let Some(v) = values.iter().find(|v| v.is_empty()) {
                return bad("http-header", v, "values cannot be empty");
            }
        }
        Condition::QueryString(pairs) => {
            if pairs
                .iter()
                .any(|(k, v)| v.is_empty() || k.as_deref() == Some(""))
            {
                return Err(Elbv2Error::Validation(
                    "A query-string condition needs a non-empty Value; Key is optional but cannot be empty".into(),
                ));
            }
        }
        Condition::SourceIp(_) => {}
    }
    Ok(())
}

/// The actions of a rule or of a listener's default rule. Returns them with
/// `Order` filled in (AWS reports `Order` 1 for a single action without one).
///
/// This emulator serves the terminal actions only (forward, redirect,
/// fixed-response); the authenticate actions need HTTPS listeners.
pub fn actions(actions: &[Action]) -> Result<Vec<Action>> {
    let Some(last) = actions.last() else {
        return Err(Elbv2Error::Validation(
            "At least one action must be specified".into(),
        ));
    };
    if actions.len() > 1 {
        return Err(Elbv2Error::InvalidLoadBalancerAction(format!(
            "A rule must have exactly one terminal action (forward, redirect or fixed-response); {} were given",
            actions.len()
        )));
    }
    match &last.kind {
        ActionKind::Forward(f) => forward(f)?,
        ActionKind::Redirect(r) => redirect(r)?,
        ActionKind::FixedResponse(f) => fixed_response(f)?,
    }
    Ok(vec![Action {
        order: Some(last.order.unwrap_or(1)),
        kind: last.kind.clone(),
    }])
}

fn forward(f: &ForwardConfig) -> Result<()> {
    if f.target_groups.is_empty() {
        return Err(Elbv2Error::Validation(
            "A forward action must specify a target group ARN or a ForwardConfig with at least one target group".into(),
        ));
    }
    if f.target_groups.len() > TARGET_GROUPS_PER_ACTION {
        return Err(Elbv2Error::Validation(format!(
            "A forward action can have at most {TARGET_GROUPS_PER_ACTION} target groups, not {}",
            f.target_groups.len()
        )));
    }
    let mut seen = HashSet::new();
    for (arn, weight) in &f.target_groups {
        if !seen.insert(arn) {
            return Err(Elbv2Error::Validation(format!(
                "Target group '{arn}' appears more than once in the forward action"
            )));
        }
        self::weight(i64::from(*weight))?;
    }
    if let Some(secs) = f.stickiness_seconds {
        stickiness_duration(i64::from(secs))?;
    }
    Ok(())
}

fn redirect(r: &RedirectConfig) -> Result<()> {
    if r.status_code != "HTTP_301" && r.status_code != "HTTP_302" {
        return Err(Elbv2Error::Validation(format!(
            "1 validation error detected: Value '{}' at 'redirectConfig.statusCode' failed to satisfy constraint: Member must satisfy enum value set: [HTTP_301, HTTP_302]",
            r.status_code
        )));
    }
    if let Some(p) = &r.protocol {
        if !matches!(p.as_str(), "HTTP" | "HTTPS" | "#{protocol}") {
            return Err(Elbv2Error::Validation(format!(
                "Redirect protocol '{p}' must be HTTP, HTTPS or #{{protocol}}"
            )));
        }
    }
    if let Some(p) = &r.port {
        let numeric = p.parse::<u32>().is_ok_and(|n| (1..=65535).contains(&n));
        if p != "#{port}" && !numeric {
            return Err(Elbv2Error::Validation(format!(
                "Redirect port '{p}' must be from 1 to 65535 or #{{port}}"
            )));
        }
    }
    for (name, value, min) in [
        ("Host", &r.host, 1),
        ("Path", &r.path, 1),
        ("Query", &r.query, 0),
    ] {
        if let Some(v) = value {
            let len = v.chars().count();
            if len < min || len > REDIRECT_PART_MAX {
                return Err(Elbv2Error::Validation(format!(
                    "Redirect {name} '{v}' must be from {min} to {REDIRECT_PART_MAX} characters long"
                )));
            }
        }
    }
    if let Some(path) = &r.path {
        if !path.starts_with('/') {
            return Err(Elbv2Error::Validation(format!(
                "Redirect path '{path}' must start with '/'"
            )));
        }
    }
    let keeps =
        |v: &Option<String>, placeholder: &str| v.as_deref().is_none_or(|v| v == placeholder);
    if keeps(&r.protocol, "#{protocol}")
        && keeps(&r.port, "#{port}")
        && keeps(&r.host, "#{host}")
        && keeps(&r.path, "/#{path}")
        && keeps(&r.query, "#{query}")
    {
        return Err(Elbv2Error::InvalidLoadBalancerAction(
            "The redirect configuration is not valid: it redirects to the original URL, which loops. Change at least one of Protocol, Port, Host, Path or Query".into(),
        ));
    }
    Ok(())
}

fn fixed_response(f: &FixedResponseConfig) -> Result<()> {
    let b = f.status_code.as_bytes();
    let status_ok =
        b.len() == 3 && matches!(b[0], b'2' | b'4' | b'5') && b.iter().all(u8::is_ascii_digit);
    if !status_ok {
        return Err(Elbv2Error::Validation(format!(
            "1 validation error detected: Value '{}' at 'fixedResponseConfig.statusCode' failed to satisfy constraint: Member must satisfy regular expression pattern: ^(2|4|5)\\d\\d$",
            f.status_code
        )));
    }
    if let Some(ct) = &f.content_type {
        if !FIXED_RESPONSE_CONTENT_TYPES.contains(&ct.as_str()) {
            return Err(Elbv2Error::Validation(format!(
                "Fixed-response content type '{ct}' must be one of {}",
                FIXED_RESPONSE_CONTENT_TYPES.join(", ")
            )));
        }
    }
    if let Some(body) = &f.message_body {
        if body.chars().count() > MESSAGE_BODY_MAX {
            return Err(Elbv2Error::Validation(format!(
                "Fixed-response message body must be at most {MESSAGE_BODY_MAX} characters long"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd(groups: &[(&str, u32)]) -> Action {
        Action {
            order: None,
            kind: ActionKind::Forward(ForwardConfig {
                target_groups: groups.iter().map(|(a, w)| (a.to_string(), *w)).collect(),
                stickiness_seconds: None,
                single_target_group: false,
            }),
        }
    }

    fn redirect_action(f: impl FnOnce(&mut RedirectConfig)) -> Action {
        let mut r = RedirectConfig {
            protocol: None,
            port: None,
            host: None,
            path: None,
            query: None,
            status_code: "HTTP_301".into(),
        };
        f(&mut r);
        Action {
            order: None,
            kind: ActionKind::Redirect(r),
        }
    }

    fn fixed(status: &str, ct: Option<&str>) -> Action {
        Action {
            order: None,
            kind: ActionKind::FixedResponse(FixedResponseConfig {
                status_code: status.into(),
                content_type: ct.map(Into::into),
                message_body: None,
            }),
        }
    }

    #[test]
    fn names() {
        assert!(load_balancer_name("web-1").is_ok());
        assert!(load_balancer_name(&"a".repeat(32)).is_ok());
        for bad in ["", "-web", "web-", "we_b", "internal-web", &"a".repeat(33)] {
            assert_eq!(
                load_balancer_name(bad).unwrap_err().code(),
                "ValidationError",
                "{bad}"
            );
        }
        assert!(target_group_name("internal-ok").is_ok());
    }

    #[test]
    fn ranges() {
        assert_eq!(priority(1).unwrap(), 1);
        assert_eq!(priority(50000).unwrap(), 50000);
        assert!(priority(0).is_err());
        assert!(priority(50001).is_err());
        assert!(weight(999).is_ok() && weight(1000).is_err() && weight(-1).is_err());
        assert!(port("port", 0).is_err() && port("port", 65536).is_err());
        assert_eq!(port("port", 80).unwrap(), 80);
    }

    #[test]
    fn target_ids_must_be_ips() {
        assert_eq!(target_id("10.0.0.5", "ip").unwrap().to_string(), "10.0.0.5");
        assert!(target_id("::1", "ip").is_ok());
        let e = target_id("i-0123456789abcdef0", "instance").unwrap_err();
        assert_eq!(e.code(), "InvalidTarget");
        assert!(e.to_string().contains("instance ids"));
    }

    #[test]
    fn tag_rules() {
        let t = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        assert!(tags(&t(&[("env", "dev"), ("team", "")])).is_ok());
        assert_eq!(
            tags(&t(&[("a", "1"), ("a", "2")])).unwrap_err().code(),
            "DuplicateTagKeys"
        );
        assert!(tags(&t(&[("aws:x", "1")])).is_err());
        assert!(tags(&t(&[("", "1")])).is_err());
        assert!(tags(&t(&[("k", "bad#")])).is_err());
    }

    #[test]
    fn condition_limits() {
        assert!(conditions(&[]).is_err());
        let path = Condition::PathPattern(vec!["/api/*".into()]);
        assert!(conditions(std::slice::from_ref(&path)).is_ok());
        let e = conditions(&[path.clone(), path.clone()]).unwrap_err();
        assert!(e.to_string().contains("only have one 'path-pattern'"));
        let header = Condition::HttpHeader {
            name: "X-A".into(),
            values: vec!["b".into()],
        };
        assert!(conditions(&[header.clone(), header.clone(), path.clone()]).is_ok());
        let six = Condition::PathPattern((0..6).map(|i| format!("/{i}")).collect());
        assert!(conditions(&[six])
            .unwrap_err()
            .to_string()
            .contains("condition values"));
        let wild = Condition::PathPattern(vec!["/*/*/*".into(), "/?/?/?".into()]);
        assert!(conditions(&[wild])
            .unwrap_err()
            .to_string()
            .contains("wildcards"));
        let long = Condition::PathPattern(vec![format!("/{}", "a".repeat(128))]);
        assert!(conditions(&[long]).is_err());
        assert!(conditions(&[Condition::PathPattern(vec![])]).is_err());
    }

    #[test]
    fn condition_characters() {
        assert!(conditions(&[Condition::HostHeader(vec!["*.example.com".into()])]).is_ok());
        assert!(conditions(&[Condition::HostHeader(vec!["localhost".into()])]).is_err());
        assert!(conditions(&[Condition::HostHeader(vec!["a b.com".into()])]).is_err());
        assert!(conditions(&[Condition::HttpRequestMethod(vec!["GET".into()])]).is_ok());
        assert!(conditions(&[Condition::HttpRequestMethod(vec!["get".into()])]).is_err());
        let host_header = Condition::HttpHeader {
            name: "Host".into(),
            values: vec!["x".into()],
        };
        assert!(conditions(&[host_header]).is_err());
        let bad_name = Condition::HttpHeader {
            name: "X A".into(),
            values: vec!["x".into()],
        };
        assert!(conditions(&[bad_name]).is_err());
        assert!(conditions(&[Condition::QueryString(vec![(None, "v".into())])]).is_ok());
        assert!(
            conditions(&[Condition::QueryString(vec![(Some("k".into()), "".into())])]).is_err()
        );
    }

    #[test]
    fn action_rules() {
        let a = actions(&[fwd(&[("t1", 1)])]).unwrap();
        assert_eq!(a[0].order, Some(1));
        assert!(actions(&[]).is_err());
        assert_eq!(
            actions(&[fwd(&[("t1", 1)]), fwd(&[("t2", 1)])])
                .unwrap_err()
                .code(),
            "InvalidLoadBalancerAction"
        );
        assert!(actions(&[fwd(&[("t1", 1), ("t1", 2)])]).is_err());
        let six: Vec<(String, u32)> = (0..6).map(|i| (format!("t{i}"), 1)).collect();
        let six: Vec<(&str, u32)> = six.iter().map(|(a, w)| (a.as_str(), *w)).collect();
        assert!(actions(&[fwd(&six)]).is_err());
        assert!(actions(&[fwd(&[("t1", 1000)])]).is_err());

        assert!(actions(&[redirect_action(|r| r.protocol = Some("HTTPS".into()))]).is_ok());
        let loop_ = actions(&[redirect_action(|_| {})]).unwrap_err();
        assert_eq!(loop_.code(), "InvalidLoadBalancerAction");
        assert!(actions(&[redirect_action(|r| r.path = Some("/#{path}".into()))]).is_err());
        assert!(actions(&[redirect_action(|r| r.path = Some("new".into()))]).is_err());
        assert!(actions(&[redirect_action(|r| r.port = Some("70000".into()))]).is_err());
        assert!(actions(&[redirect_action(|r| {
            r.host = Some("x.example.com".into());
            r.status_code = "HTTP_307".into();
        })])
        .is_err());

        assert!(actions(&[fixed("503", Some("text/plain"))]).is_ok());
        assert!(actions(&[fixed("302", None)]).is_err());
        assert!(actions(&[fixed("20", None)]).is_err());
        assert!(actions(&[fixed("200", Some("image/png"))]).is_err());
    }
}
