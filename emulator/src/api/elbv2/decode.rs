//! Query parameters → domain model values. Only the wire shape is checked
//! here (types, required members, enums); ranges and limits are checked by
//! `domain::elbv2::validate` and `settings`.

use crate::domain::elbv2::settings::HealthCheckChange;
use crate::domain::elbv2::{
    validate, Action, ActionKind, Condition, Elbv2Error, FixedResponseConfig, ForwardConfig,
    RedirectConfig, Tags,
};
use crate::protocol::query::{Params, QueryError};

use super::Result;

/// `Tags.member.N.Key/Value`, validated.
pub fn tags(p: &Params) -> Result<Tags> {
    let tags = p.key_values("Tags")?;
    validate::tags(&tags)?;
    if tags.len() > validate::TAGS_PER_RESOURCE {
        return Err(Elbv2Error::TooManyTags(format!(
            "A resource can have at most {} tags",
            validate::TAGS_PER_RESOURCE
        ))
        .into());
    }
    Ok(tags)
}

/// A required, non-empty list of structures.
pub fn required_structures(p: &Params, name: &str) -> Result<Vec<Params>> {
    let items = p.structures(name)?;
    if items.is_empty() {
        return Err(QueryError::missing(name));
    }
    Ok(items)
}

/// A required, non-empty list of strings.
pub fn required_list<'a>(p: &'a Params, name: &str) -> Result<Vec<&'a str>> {
    let items = p.list(name)?;
    if items.is_empty() {
        return Err(QueryError::missing(name));
    }
    Ok(items)
}

/// An enum member, with AWS's wording when the value is not in the set.
pub fn one_of<'a>(member: &str, value: &'a str, allowed: &[&str]) -> Result<&'a str> {
    if allowed.contains(&value) {
        Ok(value)
    } else {
        Err(QueryError::validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must satisfy enum value set: [{}]",
            allowed.join(", ")
        )))
    }
}

/// The health-check members of CreateTargetGroup / ModifyTargetGroup.
pub fn health_check_change(p: &Params) -> Result<HealthCheckChange> {
    let matcher = p.structure("Matcher");
    if matcher
        .as_ref()
        .is_some_and(|m| m.get("GrpcCode").is_some())
    {
        return Err(Elbv2Error::InvalidConfiguration(
            "Matcher GrpcCode is not supported: this emulator serves HTTP1 target groups only"
                .into(),
        )
        .into());
    }
    Ok(HealthCheckChange {
        enabled: p.boolean("HealthCheckEnabled")?,
        protocol: p.get("HealthCheckProtocol").map(Into::into),
        port: p.get("HealthCheckPort").map(Into::into),
        path: p.get("HealthCheckPath").map(Into::into),
        interval_seconds: p.integer("HealthCheckIntervalSeconds")?,
        timeout_seconds: p.integer("HealthCheckTimeoutSeconds")?,
        healthy_threshold: p.integer("HealthyThresholdCount")?,
        unhealthy_threshold: p.integer("UnhealthyThresholdCount")?,
        matcher: matcher.and_then(|m| m.get("HttpCode").map(Into::into)),
    })
}

/// `Conditions.member.N`.
pub fn conditions(p: &Params) -> Result<Vec<Condition>> {
    p.structures("Conditions")?.iter().map(condition).collect()
}

const CONDITION_FIELDS: &[&str] = &[
    "host-header",
    "path-pattern",
    "http-header",
    "http-request-method",
    "query-string",
    "source-ip",
];

fn condition(p: &Params) -> Result<Condition> {
    let field = one_of("field", p.required("Field")?, CONDITION_FIELDS)?;
    let regex = p.has("RegexValues")
        || ["HostHeaderConfig", "PathPatternConfig", "HttpHeaderConfig"]
            .iter()
            .any(|c| p.structure(c).is_some_and(|s| s.has("RegexValues")));
    if regex {
        return Err(Elbv2Error::InvalidConfiguration(
            "RegexValues conditions are not supported by this emulator; use Values with * and ? wildcards".into(),
        )
        .into());
    }
    let legacy: Vec<String> = p.list("Values")?.into_iter().map(Into::into).collect();
    let config = |name: &str| p.structure(name);
    let config_values = |name: &str| -> Result<Option<Vec<String>>> {
        config(name)
            .map(|c| Ok(c.list("Values")?.into_iter().map(Into::into).collect()))
            .transpose()
    };
    let not_legacy = || -> Result<()> {
        if legacy.is_empty() {
            Ok(())
        } else {
            Err(QueryError::validation(format!(
                "Values can only be specified for 'host-header' and 'path-pattern' conditions; use the {field} configuration"
            )))
        }
    };
    let needs =
        |name: &str| QueryError::validation(format!("A '{field}' condition must specify {name}"));
    Ok(match field {
        "host-header" | "path-pattern" => {
            let config_name = if field == "host-header" {
                "HostHeaderConfig"
            } else {
                "PathPatternConfig"
            };
            let values = match config_values(config_name)? {
                Some(values) if !legacy.is_empty() && values != legacy => {
                    return Err(QueryError::validation(format!(
                        "Values and {config_name}.Values differ; specify only one of them"
                    )))
                }
                Some(values) => values,
                None => legacy.clone(),
            };
            if field == "host-header" {
                Condition::HostHeader(values)
            } else {
                Condition::PathPattern(values)
            }
        }
        "http-header" => {
            not_legacy()?;
            let c = config("HttpHeaderConfig").ok_or_else(|| needs("HttpHeaderConfig"))?;
            Condition::HttpHeader {
                name: c.required("HttpHeaderName")?.to_string(),
                values: c.list("Values")?.into_iter().map(Into::into).collect(),
            }
        }
        "http-request-method" => {
            not_legacy()?;
            let values = config_values("HttpRequestMethodConfig")?
                .ok_or_else(|| needs("HttpRequestMethodConfig"))?;
            Condition::HttpRequestMethod(values)
        }
        "query-string" => {
            not_legacy()?;
            let c = config("QueryStringConfig").ok_or_else(|| needs("QueryStringConfig"))?;
            let pairs = c
                .structures("Values")?
                .iter()
                .map(|kv| {
                    Ok((
                        kv.get("Key").map(Into::into),
                        kv.required("Value")?.to_string(),
                    ))
                })
                .collect::<Result<_>>()?;
            Condition::QueryString(pairs)
        }
        "source-ip" => {
            not_legacy()?;
            let values = config_values("SourceIpConfig")?.ok_or_else(|| needs("SourceIpConfig"))?;
            let nets = values
                .iter()
                .map(|v| {
                    v.parse::<ipnet::IpNet>().map_err(|_| {
                        QueryError::validation(format!(
                            "Source IP '{v}' is not a valid CIDR block (for example 10.0.0.0/16 or 192.0.2.7/32)"
                        ))
                    })
                })
                .collect::<Result<_>>()?;
            Condition::SourceIp(nets)
        }
        _ => unreachable!("one_of checked the field"),
    })
}

pub fn unsupported_transforms() -> QueryError {
    Elbv2Error::InvalidConfiguration(
        "Rule transforms (host-header-rewrite, url-rewrite) are not supported by this emulator"
            .into(),
    )
    .into()
}

const ACTION_TYPES: &[&str] = &[
    "forward",
    "authenticate-oidc",
    "authenticate-cognito",
    "redirect",
    "fixed-response",
    "jwt-validation",
];

/// `NAME.member.N` actions (`Actions` or `DefaultActions`), validated and
/// with `Order` filled in.
pub fn actions(p: &Params, name: &str) -> Result<Vec<Action>> {
    let actions = required_structures(p, name)?
        .iter()
        .map(action)
        .collect::<Result<Vec<_>>>()?;
    Ok(validate::actions(&actions)?)
}

fn action(p: &Params) -> Result<Action> {
    let kind = one_of("type", p.required("Type")?, ACTION_TYPES)?;
    let order = p
        .integer::<i64>("Order")?
        .map(validate::action_order)
        .transpose()?;
    let config = |name: &str| {
        p.structure(name)
            .ok_or_else(|| QueryError::validation(format!("A '{kind}' action must specify {name}")))
    };
    let kind = match kind {
        "forward" => ActionKind::Forward(forward(p)?),
        "redirect" => {
            let c = config("RedirectConfig")?;
            ActionKind::Redirect(RedirectConfig {
                protocol: c.get("Protocol").map(Into::into),
                port: c.get("Port").map(Into::into),
                host: c.get("Host").map(Into::into),
                path: c.get("Path").map(Into::into),
                query: c.get("Query").map(Into::into),
                status_code: c.required("StatusCode")?.to_string(),
            })
        }
        "fixed-response" => {
            let c = config("FixedResponseConfig")?;
            ActionKind::FixedResponse(FixedResponseConfig {
                status_code: c.required("StatusCode")?.to_string(),
                content_type: c.get("ContentType").map(Into::into),
                message_body: c.get("MessageBody").map(Into::into),
            })
        }
        other => {
            return Err(Elbv2Error::InvalidLoadBalancerAction(format!(
                "Action type '{other}' is not supported by this emulator: authentication actions need an HTTPS listener, and listeners here serve HTTP"
            ))
            .into())
        }
    };
    Ok(Action { order, kind })
}

fn forward(p: &Params) -> Result<ForwardConfig> {
    let single = p.get("TargetGroupArn");
    let config = p.structure("ForwardConfig");
    let mut target_groups = Vec::new();
    let mut stickiness_seconds = None;
    if let Some(c) = &config {
        for tg in c.structures("TargetGroups")? {
            let arn = tg.required("TargetGroupArn")?.to_string();
            let weight = tg
                .integer::<i64>("Weight")?
                .map(validate::weight)
                .transpose()?
                .unwrap_or(1);
            target_groups.push((arn, weight));
        }
        if let Some(s) = c.structure("TargetGroupStickinessConfig") {
            if s.boolean("Enabled")?.unwrap_or(false) {
                let secs = s.integer::<i64>("DurationSeconds")?.ok_or_else(|| {
                    QueryError::validation(
                        "A DurationSeconds must be specified when target group stickiness is enabled",
                    )
                })?;
                stickiness_seconds = Some(validate::stickiness_duration(secs)?);
            }
        }
    }
    match single {
        Some(arn) if target_groups.is_empty() => target_groups.push((arn.to_string(), 1)),
        Some(arn) if target_groups.len() == 1 && target_groups[0].0 == arn => {}
        Some(_) => return Err(QueryError::validation(
            "TargetGroupArn and ForwardConfig name different target groups; specify one of them",
        )),
        None => {}
    }
    if target_groups.is_empty() {
        return Err(QueryError::validation(
            "A forward action must specify TargetGroupArn or ForwardConfig.TargetGroups",
        ));
    }
    Ok(ForwardConfig {
        target_groups,
        stickiness_seconds,
        single_target_group: single.is_some(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(body: &str) -> Params {
        Params::parse(body.as_bytes()).unwrap()
    }

    #[test]
    fn conditions_from_configs_and_legacy_values() {
        let p = params(concat!(
            "Conditions.member.1.Field=path-pattern&Conditions.member.1.Values.member.1=/a/*",
            "&Conditions.member.2.Field=host-header",
            "&Conditions.member.2.HostHeaderConfig.Values.member.1=*.example.com",
            "&Conditions.member.3.Field=http-header",
            "&Conditions.member.3.HttpHeaderConfig.HttpHeaderName=X-A",
            "&Conditions.member.3.HttpHeaderConfig.Values.member.1=b*",
            "&Conditions.member.4.Field=query-string",
            "&Conditions.member.4.QueryStringConfig.Values.member.1.Key=v",
            "&Conditions.member.4.QueryStringConfig.Values.member.1.Value=1",
            "&Conditions.member.5.Field=source-ip",
            "&Conditions.member.5.SourceIpConfig.Values.member.1=10.0.0.0/8",
        ));
        let c = conditions(&p).unwrap();
        assert_eq!(c[0], Condition::PathPattern(vec!["/a/*".into()]));
        assert_eq!(c[1], Condition::HostHeader(vec!["*.example.com".into()]));
        assert_eq!(
            c[2],
            Condition::HttpHeader {
                name: "X-A".into(),
                values: vec!["b*".into()]
            }
        );
        assert_eq!(
            c[3],
            Condition::QueryString(vec![(Some("v".into()), "1".into())])
        );
        assert_eq!(
            c[4],
            Condition::SourceIp(vec!["10.0.0.0/8".parse().unwrap()])
        );
    }

    #[test]
    fn bad_conditions() {
        for body in [
            "Conditions.member.1.Field=cookie",
            "Conditions.member.1.Field=source-ip&Conditions.member.1.SourceIpConfig.Values.member.1=10.0.0.1.2",
            "Conditions.member.1.Field=http-header",
            "Conditions.member.1.Field=source-ip&Conditions.member.1.Values.member.1=10.0.0.0/8",
            "Conditions.member.1.Field=path-pattern&Conditions.member.1.PathPatternConfig.RegexValues.member.1=^/a",
        ] {
            assert!(conditions(&params(body)).is_err(), "{body}");
        }
    }

    #[test]
    fn forward_forms() {
        let a = actions(
            &params("Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn=T1"),
            "Actions",
        )
        .unwrap();
        assert_eq!(a[0].order, Some(1));
        let ActionKind::Forward(f) = &a[0].kind else {
            panic!("not a forward")
        };
        assert_eq!(f.target_groups, vec![("T1".to_string(), 1)]);
        assert!(f.single_target_group);

        let a = actions(
            &params(concat!(
                "Actions.member.1.Type=forward&Actions.member.1.Order=3",
                "&Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=T1",
                "&Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight=3",
                "&Actions.member.1.ForwardConfig.TargetGroups.member.2.TargetGroupArn=T2",
                "&Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled=true",
                "&Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.DurationSeconds=60",
            )),
            "Actions",
        )
        .unwrap();
        assert_eq!(a[0].order, Some(3));
        let ActionKind::Forward(f) = &a[0].kind else {
            panic!("not a forward")
        };
        assert_eq!(
            f.target_groups,
            vec![("T1".to_string(), 3), ("T2".to_string(), 1)]
        );
        assert_eq!(f.stickiness_seconds, Some(60));
        assert!(!f.single_target_group);

        for body in [
            "Actions.member.1.Type=forward",
            "Actions.member.1.Type=forward&Actions.member.1.TargetGroupArn=T1&Actions.member.1.Order=0",
            "Actions.member.1.Type=forward&Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=T1&Actions.member.1.ForwardConfig.TargetGroups.member.1.Weight=1000",
            "Actions.member.1.Type=forward&Actions.member.1.ForwardConfig.TargetGroups.member.1.TargetGroupArn=T1&Actions.member.1.ForwardConfig.TargetGroupStickinessConfig.Enabled=true",
            "Actions.member.1.Type=authenticate-oidc",
            "Actions.member.1.Type=redirect",
            "Actions.member.1.Type=teleport",
            "Other=1",
        ] {
            assert!(actions(&params(body), "Actions").is_err(), "{body}");
        }
    }
}
