//! Health-check settings and the attributes of load balancers and target
//! groups: AWS defaults, ranges and cross-checks.
//!
//! Validation is pure: it takes the current value and the requested change
//! and returns the new value, so a rejected request changes nothing.

use borsh::{BorshDeserialize, BorshSerialize};

use std::collections::BTreeMap;
use std::time::Duration;

use super::error::{Elbv2Error, Result};
use super::HealthCheckSettings;

/// `HealthCheckIntervalSeconds`: default 30, range 5–300.
pub const HEALTH_CHECK_INTERVAL_DEFAULT: u32 = 30;
pub const HEALTH_CHECK_INTERVAL_RANGE: (i64, i64) = (5, 300);
/// `HealthCheckTimeoutSeconds`: 5 for HTTP instance/ip targets in the ALB
/// guide (the API reference says 6, shared with other types), range 2–120.
pub const HEALTH_CHECK_TIMEOUT_DEFAULT: u32 = 5;
pub const HEALTH_CHECK_TIMEOUT_RANGE: (i64, i64) = (2, 120);
/// `HealthyThresholdCount`: default 5, range 2–10.
pub const HEALTHY_THRESHOLD_DEFAULT: u32 = 5;
/// `UnhealthyThresholdCount`: default 2, range 2–10.
pub const UNHEALTHY_THRESHOLD_DEFAULT: u32 = 2;
pub const THRESHOLD_RANGE: (i64, i64) = (2, 10);
/// `HealthCheckPath`: default `/`, 1–1024 characters.
pub const HEALTH_CHECK_PATH_DEFAULT: &str = "/";
pub const HEALTH_CHECK_PATH_MAX: usize = 1024;
/// `Matcher.HttpCode`: default `200`; codes 200–499.
pub const MATCHER_DEFAULT: &str = "200";
pub const MATCHER_CODE_RANGE: (u16, u16) = (200, 499);
/// `HealthCheckPort`: the port each target receives traffic on.
pub const TRAFFIC_PORT: &str = "traffic-port";

/// What a CreateTargetGroup / ModifyTargetGroup request sets; `None` keeps the
/// current (or default) value. Numbers are wide so that out-of-range input
/// gets AWS's range message rather than a parse error.
#[derive(Debug, Clone, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct HealthCheckChange {
    pub enabled: Option<bool>,
    pub protocol: Option<String>,
    pub port: Option<String>,
    pub path: Option<String>,
    pub interval_seconds: Option<i64>,
    pub timeout_seconds: Option<i64>,
    pub healthy_threshold: Option<i64>,
    pub unhealthy_threshold: Option<i64>,
    pub matcher: Option<String>,
}

impl Default for HealthCheckSettings {
    /// The ALB defaults for an HTTP target group.
    fn default() -> Self {
        Self {
            enabled: true,
            protocol: "HTTP".into(),
            port: TRAFFIC_PORT.into(),
            path: HEALTH_CHECK_PATH_DEFAULT.into(),
            interval_seconds: HEALTH_CHECK_INTERVAL_DEFAULT,
            timeout_seconds: HEALTH_CHECK_TIMEOUT_DEFAULT,
            healthy_threshold: HEALTHY_THRESHOLD_DEFAULT,
            unhealthy_threshold: UNHEALTHY_THRESHOLD_DEFAULT,
            matcher: MATCHER_DEFAULT.into(),
        }
    }
}

impl HealthCheckSettings {
    /// Applies `change` to these settings after validating every field and
    /// the combination. `target_type` matters because `ip` target groups
    /// cannot disable health checks.
    pub fn apply(&self, change: &HealthCheckChange, target_type: &str) -> Result<Self> {
        let mut s = self.clone();
        if let Some(enabled) = change.enabled {
            s.enabled = enabled;
        }
        if let Some(protocol) = &change.protocol {
            s.protocol = health_check_protocol(protocol)?;
        }
        if let Some(port) = &change.port {
            s.port = health_check_port(port)?;
        }
        if let Some(path) = &change.path {
            s.path = health_check_path(path)?;
        }
        let range = |member: &str, v: Option<i64>, (min, max): (i64, i64), current: u32| match v {
            None => Ok(current),
            Some(v) if (min..=max).contains(&v) => Ok(v as u32),
            Some(v) => Err(Elbv2Error::out_of_range(member, v, min, max)),
        };
        s.interval_seconds = range(
            "healthCheckIntervalSeconds",
            change.interval_seconds,
            HEALTH_CHECK_INTERVAL_RANGE,
            s.interval_seconds,
        )?;
        s.timeout_seconds = range(
            "healthCheckTimeoutSeconds",
            change.timeout_seconds,
            HEALTH_CHECK_TIMEOUT_RANGE,
            s.timeout_seconds,
        )?;
        s.healthy_threshold = range(
            "healthyThresholdCount",
            change.healthy_threshold,
            THRESHOLD_RANGE,
            s.healthy_threshold,
        )?;
        s.unhealthy_threshold = range(
            "unhealthyThresholdCount",
            change.unhealthy_threshold,
            THRESHOLD_RANGE,
            s.unhealthy_threshold,
        )?;
        if let Some(matcher) = &change.matcher {
            s.matcher = http_code_matcher(matcher)?;
        }
        if s.timeout_seconds >= s.interval_seconds {
            return Err(Elbv2Error::Validation(format!(
                "Health check timeout '{}' must be smaller than the interval '{}'",
                s.timeout_seconds, s.interval_seconds
            )));
        }
        if !s.enabled && target_type == "ip" {
            return Err(Elbv2Error::InvalidConfiguration(
                "Health checks cannot be disabled for target groups with the target type 'ip'"
                    .into(),
            ));
        }
        Ok(s)
    }
}

fn health_check_protocol(protocol: &str) -> Result<String> {
    match protocol {
        "HTTP" => Ok(protocol.into()),
        "HTTPS" => Err(Elbv2Error::InvalidConfiguration(
            "Health check protocol 'HTTPS' is not supported by this emulator: targets are checked over plain HTTP".into(),
        )),
        "TCP" | "TLS" | "UDP" | "TCP_UDP" | "GENEVE" | "QUIC" | "TCP_QUIC" => {
            Err(Elbv2Error::InvalidConfiguration(format!(
                "Health check protocol '{protocol}' is not supported for target groups with the HTTP protocol"
            )))
        }
        _ => Err(Elbv2Error::Validation(format!(
            "1 validation error detected: Value '{protocol}' at 'healthCheckProtocol' failed to satisfy constraint: Member must satisfy enum value set: [HTTP, HTTPS, TCP, TLS, UDP, TCP_UDP, GENEVE, QUIC, TCP_QUIC]"
        ))),
    }
}

fn health_check_port(port: &str) -> Result<String> {
    if port == TRAFFIC_PORT {
        return Ok(port.into());
    }
    match port.parse::<u32>() {
        Ok(p) if (1..=65535).contains(&p) => Ok(p.to_string()),
        _ => Err(Elbv2Error::Validation(format!(
            "Health check port '{port}' must be '{TRAFFIC_PORT}' or a port number from 1 to 65535"
        ))),
    }
}

fn health_check_path(path: &str) -> Result<String> {
    if path.is_empty() || path.len() > HEALTH_CHECK_PATH_MAX {
        return Err(Elbv2Error::Validation(format!(
            "1 validation error detected: Value '{path}' at 'healthCheckPath' failed to satisfy constraint: Member must have length between 1 and {HEALTH_CHECK_PATH_MAX}"
        )));
    }
    if !path.starts_with('/') {
        return Err(Elbv2Error::Validation(format!(
            "Health check path '{path}' must begin with a '/' character"
        )));
    }
    Ok(path.into())
}

/// Checks a `Matcher.HttpCode`: codes 200–499, as `200`, `200,202` or
/// `200-299` (and combinations of lists and ranges).
pub fn http_code_matcher(matcher: &str) -> Result<String> {
    let invalid = || {
        Elbv2Error::Validation(format!(
            "Health check matcher HTTP code '{matcher}' must be a code from {} to {}, a comma-separated list of codes, or a range such as '200-299'",
            MATCHER_CODE_RANGE.0, MATCHER_CODE_RANGE.1
        ))
    };
    let code = |s: &str| -> Result<u16> {
        let c: u16 = s.trim().parse().map_err(|_| invalid())?;
        if (MATCHER_CODE_RANGE.0..=MATCHER_CODE_RANGE.1).contains(&c) {
            Ok(c)
        } else {
            Err(invalid())
        }
    };
    if matcher.trim().is_empty() {
        return Err(invalid());
    }
    for part in matcher.split(',') {
        match part.split_once('-') {
            Some((lo, hi)) => {
                if code(lo)? > code(hi)? {
                    return Err(invalid());
                }
            }
            None => {
                code(part)?;
            }
        }
    }
    Ok(matcher.to_string())
}

/// Default attributes of an ALB target group with `instance` or `ip` targets,
/// as DescribeTargetGroupAttributes returns them.
pub const TARGET_GROUP_ATTRIBUTE_DEFAULTS: &[(&str, &str)] = &[
    ("deregistration_delay.timeout_seconds", "300"),
    ("stickiness.enabled", "false"),
    ("stickiness.type", "lb_cookie"),
    ("stickiness.lb_cookie.duration_seconds", "86400"),
    ("stickiness.app_cookie.cookie_name", ""),
    ("stickiness.app_cookie.duration_seconds", "86400"),
    ("slow_start.duration_seconds", "0"),
    ("load_balancing.algorithm.type", "round_robin"),
    ("load_balancing.algorithm.anomaly_mitigation", "off"),
    (
        "load_balancing.cross_zone.enabled",
        "use_load_balancer_configuration",
    ),
    (
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count",
        "1",
    ),
    (
        "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage",
        "off",
    ),
    (
        "target_group_health.dns_failover.minimum_healthy_targets.count",
        "1",
    ),
    (
        "target_group_health.dns_failover.minimum_healthy_targets.percentage",
        "off",
    ),
];

/// `deregistration_delay.timeout_seconds`: 0–3600.
pub const DEREGISTRATION_DELAY_RANGE: (i64, i64) = (0, 3600);
/// `stickiness.*.duration_seconds`: 1 second to 7 days.
pub const STICKINESS_DURATION_RANGE: (i64, i64) = (1, 604_800);
/// `slow_start.duration_seconds`: 30–900, or 0 to disable.
pub const SLOW_START_RANGE: (i64, i64) = (30, 900);
/// Cookie-name prefixes the load balancer reserves for itself.
const RESERVED_COOKIE_PREFIXES: &[&str] = &["AWSALB", "AWSALBAPP", "AWSALBTG"];

/// The default target-group attributes as a map.
pub fn target_group_attribute_defaults() -> BTreeMap<String, String> {
    attribute_map(TARGET_GROUP_ATTRIBUTE_DEFAULTS)
}

/// Validates ModifyTargetGroupAttributes: each key and value, then the
/// combination. Returns the new attribute map.
pub fn modify_target_group_attributes(
    current: &BTreeMap<String, String>,
    changes: &[(String, String)],
) -> Result<BTreeMap<String, String>> {
    let next = apply_attribute_changes(current, changes, |_, key, value| {
        match key {
            "deregistration_delay.timeout_seconds" => {
                integer_in(key, value, DEREGISTRATION_DELAY_RANGE)?;
            }
            "stickiness.enabled" => boolean(key, value)?,
            "stickiness.type" => one_of(key, value, &["lb_cookie", "app_cookie"])?,
            "stickiness.lb_cookie.duration_seconds" | "stickiness.app_cookie.duration_seconds" => {
                integer_in(key, value, STICKINESS_DURATION_RANGE)?;
            }
            "stickiness.app_cookie.cookie_name" => {
                if let Some(prefix) = RESERVED_COOKIE_PREFIXES
                    .iter()
                    .find(|p| value.to_ascii_uppercase().starts_with(*p))
                {
                    return Err(Elbv2Error::InvalidConfiguration(format!(
                        "Application cookie name '{value}' cannot start with '{prefix}': the prefixes AWSALB, AWSALBAPP and AWSALBTG are reserved for the load balancer"
                    )));
                }
            }
            "slow_start.duration_seconds" => {
                let v = integer(key, value)?;
                if v != 0 && !(SLOW_START_RANGE.0..=SLOW_START_RANGE.1).contains(&v) {
                    return Err(Elbv2Error::InvalidConfiguration(format!(
                        "Slow start duration '{v}' must be 0 (disabled) or from {} to {} seconds",
                        SLOW_START_RANGE.0, SLOW_START_RANGE.1
                    )));
                }
            }
            "load_balancing.algorithm.type" => one_of(
                key,
                value,
                &["round_robin", "least_outstanding_requests", "weighted_random"],
            )?,
            "load_balancing.algorithm.anomaly_mitigation" => one_of(key, value, &["on", "off"])?,
            "load_balancing.cross_zone.enabled" => one_of(
                key,
                value,
                &["true", "false", "use_load_balancer_configuration"],
            )?,
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.count" => {
                integer_in(key, value, (1, i64::from(u32::MAX)))?;
            }
            "target_group_health.dns_failover.minimum_healthy_targets.count" => {
                if value != "off" {
                    integer_in(key, value, (1, i64::from(u32::MAX)))?;
                }
            }
            "target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage"
            | "target_group_health.dns_failover.minimum_healthy_targets.percentage" => {
                if value != "off" {
                    integer_in(key, value, (1, 100))?;
                }
            }
            _ => {
                return Err(Elbv2Error::InvalidConfiguration(format!(
                    "Target group attribute key '{key}' is not recognized for Application Load Balancer target groups"
                )))
            }
        }
        Ok(())
    })?;
    let get = |k: &str| next.get(k).map(String::as_str).unwrap_or_default();
    let slow_start = get("slow_start.duration_seconds");
    if slow_start != "0"
        && !slow_start.is_empty()
        && get("load_balancing.algorithm.type") == "least_outstanding_requests"
    {
        return Err(Elbv2Error::InvalidConfiguration(
            "Slow start cannot be enabled with the 'least_outstanding_requests' load balancing algorithm".into(),
        ));
    }
    if get("load_balancing.algorithm.anomaly_mitigation") == "on"
        && get("load_balancing.algorithm.type") != "weighted_random"
    {
        return Err(Elbv2Error::InvalidConfiguration(
            "Anomaly mitigation is only available with the 'weighted_random' load balancing algorithm".into(),
        ));
    }
    if get("stickiness.enabled") == "true"
        && get("stickiness.type") == "app_cookie"
        && get("stickiness.app_cookie.cookie_name").is_empty()
    {
        return Err(Elbv2Error::InvalidConfiguration(
            "An application cookie name must be specified with 'stickiness.app_cookie.cookie_name' when 'stickiness.type' is 'app_cookie'".into(),
        ));
    }
    Ok(next)
}

/// The deregistration delay of a target-group attribute map (default 300 s).
pub fn deregistration_delay(attributes: &BTreeMap<String, String>) -> Duration {
    let secs = attributes
        .get("deregistration_delay.timeout_seconds")
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(300);
    Duration::from_secs(secs)
}

/// Default attributes of an Application Load Balancer, as
/// DescribeLoadBalancerAttributes returns them.
pub const LOAD_BALANCER_ATTRIBUTE_DEFAULTS: &[(&str, &str)] = &[
    ("access_logs.s3.enabled", "false"),
    ("access_logs.s3.bucket", ""),
    ("access_logs.s3.prefix", ""),
    ("connection_logs.s3.enabled", "false"),
    ("connection_logs.s3.bucket", ""),
    ("connection_logs.s3.prefix", ""),
    ("health_check_logs.s3.enabled", "false"),
    ("health_check_logs.s3.bucket", ""),
    ("health_check_logs.s3.prefix", ""),
    ("idle_timeout.timeout_seconds", "60"),
    ("client_keep_alive.seconds", "3600"),
    ("deletion_protection.enabled", "false"),
    ("routing.http2.enabled", "true"),
    ("routing.http.drop_invalid_header_fields.enabled", "false"),
    ("routing.http.xff_client_port.enabled", "false"),
    ("routing.http.preserve_host_header.enabled", "false"),
    ("routing.http.xff_header_processing.mode", "append"),
    ("routing.http.desync_mitigation_mode", "defensive"),
    (
        "routing.http.x_amzn_tls_version_and_cipher_suite.enabled",
        "false",
    ),
    ("load_balancing.cross_zone.enabled", "true"),
    ("waf.fail_open.enabled", "false"),
    ("zonal_shift.config.enabled", "false"),
    ("ipv6.deny_all_igw_traffic", "false"),
];

/// `idle_timeout.timeout_seconds`: 1–4000 (default 60).
pub const IDLE_TIMEOUT_RANGE: (i64, i64) = (1, 4000);
/// `client_keep_alive.seconds`: 60–604800 (default 3600).
pub const CLIENT_KEEP_ALIVE_RANGE: (i64, i64) = (60, 604_800);

/// The default load-balancer attributes as a map.
pub fn load_balancer_attribute_defaults() -> BTreeMap<String, String> {
    attribute_map(LOAD_BALANCER_ATTRIBUTE_DEFAULTS)
}

fn attribute_map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// `current` with `changes` applied in order, each value trimmed of
/// surrounding whitespace (as AWS does) and first passed to `check` with
/// its 1-based position and its key.
pub(super) fn apply_attribute_changes(
    current: &BTreeMap<String, String>,
    changes: &[(String, String)],
    mut check: impl FnMut(usize, &str, &str) -> Result<()>,
) -> Result<BTreeMap<String, String>> {
    let mut next = current.clone();
    for (i, (key, value)) in changes.iter().enumerate() {
        let value = value.trim();
        check(i + 1, key, value)?;
        next.insert(key.clone(), value.to_string());
    }
    Ok(next)
}

/// Validates ModifyLoadBalancerAttributes and returns the new attribute map.
pub fn modify_load_balancer_attributes(
    current: &BTreeMap<String, String>,
    changes: &[(String, String)],
) -> Result<BTreeMap<String, String>> {
    let next = apply_attribute_changes(current, changes, |_, key, value| {
        match key {
            "access_logs.s3.enabled"
            | "connection_logs.s3.enabled"
            | "health_check_logs.s3.enabled"
            | "deletion_protection.enabled"
            | "routing.http2.enabled"
            | "routing.http.drop_invalid_header_fields.enabled"
            | "routing.http.xff_client_port.enabled"
            | "routing.http.preserve_host_header.enabled"
            | "routing.http.x_amzn_tls_version_and_cipher_suite.enabled"
            | "waf.fail_open.enabled"
            | "zonal_shift.config.enabled"
            | "ipv6.deny_all_igw_traffic" => boolean(key, value)?,
            "access_logs.s3.bucket"
            | "access_logs.s3.prefix"
            | "connection_logs.s3.bucket"
            | "connection_logs.s3.prefix"
            | "health_check_logs.s3.bucket"
            | "health_check_logs.s3.prefix" => {}
            "idle_timeout.timeout_seconds" => {
                integer_in(key, value, IDLE_TIMEOUT_RANGE)?;
            }
            "client_keep_alive.seconds" => {
                integer_in(key, value, CLIENT_KEEP_ALIVE_RANGE)?;
            }
            "routing.http.xff_header_processing.mode" => {
                one_of(key, value, &["append", "preserve", "remove"])?
            }
            "routing.http.desync_mitigation_mode" => {
                one_of(key, value, &["monitor", "defensive", "strictest"])?
            }
            "load_balancing.cross_zone.enabled" => {
                if value != "true" {
                    return Err(Elbv2Error::InvalidConfiguration(
                        "Cross-zone load balancing is always enabled for Application Load Balancers and cannot be changed".into(),
                    ));
                }
            }
            _ => {
                return Err(Elbv2Error::InvalidConfiguration(format!(
                    "Load balancer attribute key '{key}' is not recognized for Application Load Balancers"
                )))
            }
        }
        Ok(())
    })?;
    for kind in ["access_logs", "connection_logs", "health_check_logs"] {
        let enabled = next.get(&format!("{kind}.s3.enabled")).map(String::as_str) == Some("true");
        let bucket = next
            .get(&format!("{kind}.s3.bucket"))
            .is_some_and(|b| !b.is_empty());
        if enabled && !bucket {
            return Err(Elbv2Error::InvalidConfiguration(format!(
                "The value of '{kind}.s3.bucket' cannot be empty when '{kind}.s3.enabled' is true"
            )));
        }
    }
    Ok(next)
}

fn integer(key: &str, value: &str) -> Result<i64> {
    value.parse().map_err(|_| {
        Elbv2Error::InvalidConfiguration(format!(
            "The value of attribute '{key}' must be an integer, not '{value}'"
        ))
    })
}

pub(super) fn integer_in(key: &str, value: &str, (min, max): (i64, i64)) -> Result<i64> {
    let v = integer(key, value)?;
    if (min..=max).contains(&v) {
        Ok(v)
    } else {
        Err(Elbv2Error::InvalidConfiguration(format!(
            "The value of attribute '{key}' must be from {min} to {max}, not '{value}'"
        )))
    }
}

pub(super) fn boolean(key: &str, value: &str) -> Result<()> {
    one_of(key, value, &["true", "false"])
}

pub(super) fn one_of(key: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(Elbv2Error::InvalidConfiguration(format!(
            "The value of attribute '{key}' must be one of {}, not '{value}'",
            allowed.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(f: impl FnOnce(&mut HealthCheckChange)) -> HealthCheckChange {
        let mut c = HealthCheckChange::default();
        f(&mut c);
        c
    }

    #[test]
    fn health_check_defaults_and_ranges() {
        let d = HealthCheckSettings::default();
        assert_eq!(
            (
                d.interval_seconds,
                d.timeout_seconds,
                d.healthy_threshold,
                d.unhealthy_threshold
            ),
            (30, 5, 5, 2)
        );
        assert_eq!(
            (d.path.as_str(), d.port.as_str(), d.matcher.as_str()),
            ("/", "traffic-port", "200")
        );

        for (c, member) in [
            (
                change(|c| c.interval_seconds = Some(4)),
                "healthCheckIntervalSeconds",
            ),
            (
                change(|c| c.interval_seconds = Some(301)),
                "healthCheckIntervalSeconds",
            ),
            (
                change(|c| c.timeout_seconds = Some(1)),
                "healthCheckTimeoutSeconds",
            ),
            (
                change(|c| c.healthy_threshold = Some(11)),
                "healthyThresholdCount",
            ),
            (
                change(|c| c.unhealthy_threshold = Some(1)),
                "unhealthyThresholdCount",
            ),
        ] {
            let e = d.apply(&c, "ip").unwrap_err();
            assert_eq!(e.code(), "ValidationError");
            assert!(e.to_string().contains(member), "{e}");
        }
        let ok = d
            .apply(
                &change(|c| {
                    c.interval_seconds = Some(5);
                    c.timeout_seconds = Some(2);
                    c.healthy_threshold = Some(2);
                    c.path = Some("/health".into());
                    c.port = Some("8081".into());
                    c.matcher = Some("200-299,302".into());
                }),
                "ip",
            )
            .unwrap();
        assert_eq!(ok.interval_seconds, 5);
        assert_eq!(ok.port, "8081");
    }

    #[test]
    fn health_check_cross_checks() {
        let d = HealthCheckSettings::default();
        let e = d
            .apply(&change(|c| c.timeout_seconds = Some(30)), "ip")
            .unwrap_err();
        assert!(e.to_string().contains("smaller than the interval"));
        let e = d
            .apply(&change(|c| c.enabled = Some(false)), "ip")
            .unwrap_err();
        assert_eq!(e.code(), "InvalidConfigurationRequest");
        assert!(
            !d.apply(&change(|c| c.enabled = Some(false)), "instance")
                .unwrap()
                .enabled
        );
        assert!(d
            .apply(&change(|c| c.path = Some("health".into())), "ip")
            .is_err());
        assert!(d
            .apply(&change(|c| c.port = Some("0".into())), "ip")
            .is_err());
        assert!(d
            .apply(&change(|c| c.protocol = Some("TCP".into())), "ip")
            .is_err());
        assert!(d
            .apply(&change(|c| c.protocol = Some("FTP".into())), "ip")
            .is_err());
    }

    #[test]
    fn matcher_codes_lists_and_ranges() {
        for ok in ["200", "200,202", "200-299", "200-299,404", "499"] {
            assert!(http_code_matcher(ok).is_ok(), "{ok}");
        }
        for bad in ["", "199", "500", "600", "299-200", "abc", "200,", "200-"] {
            assert!(http_code_matcher(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn target_group_attributes() {
        let d = target_group_attribute_defaults();
        assert_eq!(d["deregistration_delay.timeout_seconds"], "300");
        assert_eq!(d["stickiness.lb_cookie.duration_seconds"], "86400");
        assert_eq!(deregistration_delay(&d), Duration::from_secs(300));

        let kv = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        let next =
            modify_target_group_attributes(&d, &kv("deregistration_delay.timeout_seconds", "5"))
                .unwrap();
        assert_eq!(deregistration_delay(&next), Duration::from_secs(5));

        for (k, v) in [
            ("deregistration_delay.timeout_seconds", "3601"),
            ("deregistration_delay.timeout_seconds", "-1"),
            ("stickiness.enabled", "yes"),
            ("stickiness.type", "source_ip"),
            ("stickiness.lb_cookie.duration_seconds", "0"),
            ("stickiness.lb_cookie.duration_seconds", "604801"),
            ("stickiness.app_cookie.cookie_name", "AWSALBfoo"),
            ("slow_start.duration_seconds", "29"),
            ("slow_start.duration_seconds", "901"),
            ("load_balancing.algorithm.type", "random"),
            ("load_balancing.algorithm.anomaly_mitigation", "on"),
            ("proxy_protocol_v2.enabled", "true"),
        ] {
            let e = modify_target_group_attributes(&d, &kv(k, v)).unwrap_err();
            assert_eq!(e.code(), "InvalidConfigurationRequest", "{k}={v}");
        }
        let both = vec![
            ("slow_start.duration_seconds".to_string(), "30".to_string()),
            (
                "load_balancing.algorithm.type".to_string(),
                "least_outstanding_requests".to_string(),
            ),
        ];
        assert!(modify_target_group_attributes(&d, &both).is_err());
        let app = vec![
            ("stickiness.enabled".to_string(), "true".to_string()),
            ("stickiness.type".to_string(), "app_cookie".to_string()),
        ];
        assert!(modify_target_group_attributes(&d, &app).is_err());
        assert!(
            modify_target_group_attributes(&d, &kv("slow_start.duration_seconds", "0")).is_ok()
        );
    }

    #[test]
    fn load_balancer_attributes() {
        let d = load_balancer_attribute_defaults();
        assert_eq!(d["idle_timeout.timeout_seconds"], "60");
        let kv = |k: &str, v: &str| vec![(k.to_string(), v.to_string())];
        assert!(
            modify_load_balancer_attributes(&d, &kv("idle_timeout.timeout_seconds", "4000"))
                .is_ok()
        );
        for (k, v) in [
            ("idle_timeout.timeout_seconds", "0"),
            ("idle_timeout.timeout_seconds", "4001"),
            ("client_keep_alive.seconds", "59"),
            ("routing.http.xff_header_processing.mode", "drop"),
            ("deletion_protection.enabled", "1"),
            ("access_logs.s3.enabled", "true"),
            ("load_balancing.cross_zone.enabled", "false"),
            ("unknown.key", "1"),
        ] {
            assert!(
                modify_load_balancer_attributes(&d, &kv(k, v)).is_err(),
                "{k}={v}"
            );
        }
    }
}
