//! Target groups, their attributes, and target registration and health.

use std::net::IpAddr;

use crate::domain::elbv2::{
    arns, settings, validate, Elbv2Error, HealthCheckSettings, Registration, TargetGroup,
    TargetHealth, TARGETS_PER_TARGET_GROUP,
};
use crate::protocol::query::{Params, QueryError};

use super::{decode, encode, page, Cx, Output, Result, DEFAULT_VPC_ID};

/// The settings two CreateTargetGroup calls must share to be the same call.
#[derive(PartialEq)]
struct Settings {
    protocol: String,
    protocol_version: String,
    port: Option<u16>,
    vpc_id: Option<String>,
    target_type: String,
    health_check: HealthCheckSettings,
}

impl Settings {
    fn of(tg: &TargetGroup) -> Self {
        Self {
            protocol: tg.protocol.clone(),
            protocol_version: tg.protocol_version.clone(),
            port: tg.port,
            vpc_id: tg.vpc_id.clone(),
            target_type: tg.target_type.clone(),
            health_check: tg.health_check.clone(),
        }
    }
}

const PROTOCOLS: &[&str] = &[
    "HTTP", "HTTPS", "TCP", "TLS", "UDP", "TCP_UDP", "GENEVE", "QUIC", "TCP_QUIC",
];

pub fn create(cx: &Cx, p: &Params) -> Result<Output> {
    let name = p.required("Name")?.to_string();
    validate::target_group_name(&name)?;
    // AWS's default target type is `instance`; ECS services on Fargate
    // need `ip`. Both work here, with IP-address target ids.
    let target_type = decode::one_of(
        "targetType",
        p.get("TargetType").unwrap_or("instance"),
        &["instance", "ip", "lambda", "alb"],
    )?;
    if target_type == "lambda" || target_type == "alb" {
        return Err(Elbv2Error::InvalidConfiguration(format!(
            "Target type '{target_type}' is not supported by this emulator; use 'ip' or 'instance'"
        ))
        .into());
    }
    let protocol = p
        .get("Protocol")
        .ok_or_else(|| QueryError::validation("A protocol must be specified for target groups with the target type 'ip' or 'instance'"))?;
    decode::one_of("protocol", protocol, PROTOCOLS)?;
    if protocol != "HTTP" {
        return Err(Elbv2Error::InvalidConfiguration(format!(
            "Target group protocol '{protocol}' is not supported: this emulator serves Application Load Balancers and reaches targets over HTTP"
        ))
        .into());
    }
    let port = p.integer::<i64>("Port")?.ok_or_else(|| {
        QueryError::validation(
            "A port must be specified for target groups with the target type 'ip' or 'instance'",
        )
    })?;
    let port = validate::port("port", port)?;
    let protocol_version = p
        .get("ProtocolVersion")
        .unwrap_or("HTTP1")
        .to_ascii_uppercase();
    if protocol_version != "HTTP1" {
        return Err(Elbv2Error::InvalidConfiguration(format!(
            "Protocol version '{protocol_version}' is not supported by this emulator; use HTTP1"
        ))
        .into());
    }
    if let Some(t) = p.get("IpAddressType") {
        decode::one_of("ipAddressType", t, &["ipv4"])?;
    }
    let health_check =
        HealthCheckSettings::default().apply(&decode::health_check_change(p)?, target_type)?;
    let tags = decode::tags(p)?;
    let wanted = Settings {
        protocol: protocol.into(),
        protocol_version,
        port: Some(port),
        vpc_id: Some(p.get("VpcId").unwrap_or(DEFAULT_VPC_ID).to_string()),
        target_type: target_type.into(),
        health_check,
    };

    let (tg, lbs) = cx.api.store.write(|s| {
        let state = &mut s.elbv2;
        if let Some(existing) = state
            .target_groups
            .values()
            .find(|tg| tg.name == name && cx.in_region(&tg.arn))
        {
            return if Settings::of(existing) == wanted {
                let lbs = state.load_balancers_of_target_group(&existing.arn);
                Ok((existing.clone(), lbs.into_iter().collect()))
            } else {
                Err(Elbv2Error::DuplicateTargetGroupName(format!(
                    "A target group with the same name '{name}' exists, but with different settings"
                )))
            };
        }
        let arn = arns::target_group(cx.region, cx.account(), &name);
        let tg = TargetGroup {
            arn: arn.clone(),
            name: name.clone(),
            protocol: wanted.protocol.clone(),
            protocol_version: wanted.protocol_version.clone(),
            port: wanted.port,
            vpc_id: wanted.vpc_id.clone(),
            target_type: wanted.target_type.clone(),
            health_check: wanted.health_check.clone(),
            attributes: settings::target_group_attribute_defaults(),
            registrations: Vec::new(),
        };
        state.target_groups.insert(arn.clone(), tg.clone());
        if !tags.is_empty() {
            state.tags.insert(arn, tags);
        }
        Ok::<_, Elbv2Error>((tg, Vec::new()))
    })?;
    Ok(target_groups_output(vec![(tg, lbs)], None))
}

pub fn describe(cx: &Cx, p: &Params) -> Result<Output> {
    let lb_arn = p.get("LoadBalancerArn");
    let arns: Vec<&str> = p.list("TargetGroupArns")?;
    let names: Vec<&str> = p.list("Names")?;
    let filters = usize::from(lb_arn.is_some())
        + usize::from(!arns.is_empty())
        + usize::from(!names.is_empty());
    if filters > 1 {
        return Err(QueryError::validation(
            "Only one of LoadBalancerArn, TargetGroupArns or Names can be specified",
        ));
    }
    let found = cx.api.store.read(|s| {
        let state = &s.elbv2;
        let tgs = &state.target_groups;
        let mut selected: Vec<&TargetGroup> = if let Some(lb) = lb_arn {
            if !state.load_balancers.contains_key(lb) {
                return Err(super::load_balancers::not_found(lb));
            }
            tgs.values()
                .filter(|tg| state.load_balancers_of_target_group(&tg.arn).contains(lb))
                .collect()
        } else if !arns.is_empty() {
            arns.iter()
                .map(|a| tgs.get(*a).ok_or_else(some_not_found))
                .collect::<Result<_, _>>()?
        } else if !names.is_empty() {
            names
                .iter()
                .map(|n| {
                    tgs.values()
                        .find(|tg| tg.name == *n && cx.in_region(&tg.arn))
                        .ok_or_else(some_not_found)
                })
                .collect::<Result<_, _>>()?
        } else {
            let mut all: Vec<&TargetGroup> =
                tgs.values().filter(|tg| cx.in_region(&tg.arn)).collect();
            all.sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
            all
        };
        if lb_arn.is_some() {
            selected.sort_by(|a, b| (&a.name, &a.arn).cmp(&(&b.name, &b.arn)));
        }
        Ok::<_, Elbv2Error>(
            selected
                .into_iter()
                .map(|tg| {
                    let lbs = state.load_balancers_of_target_group(&tg.arn);
                    (tg.clone(), lbs.into_iter().collect())
                })
                .collect::<Vec<_>>(),
        )
    })?;
    let (items, next) = page(found, p)?;
    Ok(target_groups_output(items, next))
}

pub fn modify(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("TargetGroupArn")?;
    let change = decode::health_check_change(p)?;
    let (tg, lbs) = cx.api.store.write(|s| {
        let state = &mut s.elbv2;
        let tg = state
            .target_groups
            .get_mut(arn)
            .ok_or_else(|| not_found(arn))?;
        tg.health_check = tg.health_check.apply(&change, &tg.target_type)?;
        let tg = tg.clone();
        let lbs = state
            .load_balancers_of_target_group(arn)
            .into_iter()
            .collect();
        Ok::<_, Elbv2Error>((tg, lbs))
    })?;
    Ok(target_groups_output(vec![(tg, lbs)], None))
}

/// Deletes a target group that no listener or rule uses. Succeeds when it
/// does not exist.
pub fn delete(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("TargetGroupArn")?;
    cx.api.store.write(|s| {
        let state = &mut s.elbv2;
        if !state.target_groups.contains_key(arn) {
            return Ok(());
        }
        if state.target_group_in_use(arn) {
            return Err(Elbv2Error::ResourceInUse(format!(
                "Target group '{arn}' is currently in use by a listener or a rule"
            )));
        }
        state.target_groups.remove(arn);
        state.tags.remove(arn);
        Ok(())
    })?;
    Ok(super::empty())
}

pub fn describe_attributes(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("TargetGroupArn")?;
    let attributes = cx.api.store.read(|s| {
        s.elbv2
            .target_groups
            .get(arn)
            .map(|tg| tg.attributes.clone())
            .ok_or_else(|| not_found(arn))
    })?;
    Ok(super::attributes_output(attributes))
}

pub fn modify_attributes(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("TargetGroupArn")?;
    let changes = super::attribute_changes(p)?;
    let attributes = cx.api.store.write(|s| {
        let tg = s
            .elbv2
            .target_groups
            .get_mut(arn)
            .ok_or_else(|| not_found(arn))?;
        tg.attributes = settings::modify_target_group_attributes(&tg.attributes, &changes)?;
        Ok::<_, Elbv2Error>(tg.attributes.clone())
    })?;
    Ok(super::attributes_output(attributes))
}

/// A `TargetDescription`: the IP and the port (the group's port by default).
struct TargetRef {
    ip: IpAddr,
    port: u16,
    /// As the request spelled it, for echoing unknown targets.
    id: String,
}

fn targets(p: &Params, tg: &TargetGroup) -> Result<Vec<TargetRef>> {
    p.structures("Targets")?
        .iter()
        .map(|t| {
            let id = t.required("Id")?;
            let ip = validate::target_id(id, &tg.target_type)?;
            let port = match t.integer::<i64>("Port")? {
                Some(port) => validate::port("port", port)?,
                None => tg.port.ok_or_else(|| {
                    QueryError::validation(format!("A port must be specified for target '{id}'"))
                })?,
            };
            Ok(TargetRef {
                ip,
                port,
                id: id.to_string(),
            })
        })
        .collect()
}

/// Reads the target group (for the target type and port), then decodes the
/// `Targets` member against it.
fn target_group_and_targets(
    cx: &Cx,
    p: &Params,
    required: bool,
) -> Result<(String, Vec<TargetRef>)> {
    let arn = p.required("TargetGroupArn")?.to_string();
    if required {
        decode::required_structures(p, "Targets")?;
    }
    let tg = cx
        .api
        .store
        .read(|s| s.elbv2.target_groups.get(&arn).cloned())
        .ok_or_else(|| not_found(&arn))?;
    let targets = targets(p, &tg)?;
    Ok((arn, targets))
}

/// Registers targets. A target registered again is left as it is; one that
/// was draining starts over as a new registration.
pub fn register_targets(cx: &Cx, p: &Params) -> Result<Output> {
    let (arn, targets) = target_group_and_targets(cx, p, true)?;
    cx.api.store.write(|s| {
        let tg = s
            .elbv2
            .target_groups
            .get_mut(&arn)
            .ok_or_else(|| not_found(&arn))?;
        for t in &targets {
            let known = tg
                .registrations
                .iter()
                .any(|r| r.id == t.ip && r.port == t.port);
            if !known && tg.registrations.len() >= TARGETS_PER_TARGET_GROUP {
                return Err(Elbv2Error::TooManyTargets(format!(
                    "A target group can have at most {TARGETS_PER_TARGET_GROUP} targets"
                )));
            }
            tg.register(t.ip, t.port, cx.now);
        }
        Ok::<_, Elbv2Error>(())
    })?;
    Ok(super::empty())
}

/// Starts draining targets. A target that is not registered is ignored, as
/// in AWS. The registration is removed after `deregistration_delay`, scaled
/// by the emulator's time scale; if no listener uses the group there is
/// nothing to drain and it is removed at once.
pub fn deregister_targets(cx: &Cx, p: &Params) -> Result<Output> {
    let (arn, targets) = target_group_and_targets(cx, p, true)?;
    let config = cx.api.store.config().clone();
    cx.api.store.write(|s| {
        let tg = s
            .elbv2
            .target_groups
            .get(&arn)
            .ok_or_else(|| not_found(&arn))?;
        let delay = config.scaled(tg.deregistration_delay());
        for t in &targets {
            s.elbv2.deregister(&arn, t.ip, t.port, cx.now, delay);
        }
        Ok::<_, Elbv2Error>(())
    })?;
    Ok(super::empty())
}

struct HealthRow {
    id: String,
    port: u16,
    health_check_port: String,
    health: TargetHealth,
}

pub fn describe_target_health(cx: &Cx, p: &Params) -> Result<Output> {
    let (arn, requested) = target_group_and_targets(cx, p, false)?;
    let rows = cx.api.store.read(|s| {
        let state = &s.elbv2;
        let tg = state
            .target_groups
            .get(&arn)
            .ok_or_else(|| not_found(&arn))?;
        let hc_port = |port: u16| {
            if tg.health_check.port == settings::TRAFFIC_PORT {
                port.to_string()
            } else {
                tg.health_check.port.clone()
            }
        };
        let row = |r: &Registration| HealthRow {
            id: r.id.to_string(),
            port: r.port,
            health_check_port: hc_port(r.port),
            health: state.reported_health(tg, r),
        };
        let rows: Vec<HealthRow> = if requested.is_empty() {
            tg.registrations.iter().map(row).collect()
        } else {
            requested
                .iter()
                .map(|t| {
                    match tg
                        .registrations
                        .iter()
                        .find(|r| r.id == t.ip && r.port == t.port)
                    {
                        Some(r) => row(r),
                        None => HealthRow {
                            id: t.id.clone(),
                            port: t.port,
                            health_check_port: hc_port(t.port),
                            health: TargetHealth::not_registered(),
                        },
                    }
                })
                .collect()
        };
        Ok::<_, Elbv2Error>(rows)
    })?;
    Ok(Box::new(move |w| {
        w.members("TargetHealthDescriptions", &rows, |w, row| {
            w.element("Target", |w| {
                w.text("Id", &row.id).text("Port", row.port);
            })
            .text("HealthCheckPort", &row.health_check_port)
            .element("TargetHealth", |w| {
                w.text("State", row.health.state.as_str())
                    .opt_text("Reason", row.health.reason)
                    .opt_text("Description", row.health.description.as_deref());
            });
        });
    }))
}

fn target_groups_output(items: Vec<(TargetGroup, Vec<String>)>, next: Option<String>) -> Output {
    Box::new(move |w| {
        w.members("TargetGroups", &items, |w, (tg, lbs)| {
            encode::target_group(w, tg, lbs)
        })
        .opt_text("NextMarker", next);
    })
}

pub fn not_found(arn: &str) -> Elbv2Error {
    Elbv2Error::TargetGroupNotFound(format!("Target group '{arn}' not found"))
}

fn some_not_found() -> Elbv2Error {
    Elbv2Error::TargetGroupNotFound("One or more target groups not found".into())
}
