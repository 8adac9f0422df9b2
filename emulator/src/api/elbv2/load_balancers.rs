//! CreateLoadBalancer, DescribeLoadBalancers, DeleteLoadBalancer and the
//! load balancer attributes.

use crate::domain::arn::random_digits;
use crate::domain::elbv2::{arns, settings, validate, Elbv2Error, LoadBalancer, LoadBalancerState};
use crate::protocol::query::{Params, QueryError};

use super::{decode, encode, page, Cx, Output, Result};

/// An ALB needs subnets in at least two availability zones.
const MIN_SUBNETS: usize = 2;

/// The settings two CreateLoadBalancer calls must share to be the same call.
#[derive(PartialEq)]
struct Settings {
    scheme: String,
    lb_type: String,
    ip_address_type: String,
    subnets: Vec<String>,
    security_groups: Vec<String>,
}

impl Settings {
    fn of(lb: &LoadBalancer) -> Self {
        Self {
            scheme: lb.scheme.clone(),
            lb_type: lb.lb_type.clone(),
            ip_address_type: lb.ip_address_type.clone(),
            subnets: lb.subnets.clone(),
            security_groups: lb.security_groups.clone(),
        }
    }
}

pub fn create(cx: &Cx, p: &Params) -> Result<Output> {
    let name = p.required("Name")?.to_string();
    validate::load_balancer_name(&name)?;
    let lb_type = p.get("Type").unwrap_or("application");
    decode::one_of("type", lb_type, &["application", "network", "gateway"])?;
    if lb_type != "application" {
        return Err(Elbv2Error::InvalidConfiguration(format!(
            "Load balancer type '{lb_type}' is not supported: this emulator serves Application Load Balancers only"
        ))
        .into());
    }
    let scheme = decode::one_of(
        "scheme",
        p.get("Scheme").unwrap_or("internet-facing"),
        &["internet-facing", "internal"],
    )?;
    let ip_address_type = decode::one_of(
        "ipAddressType",
        p.get("IpAddressType").unwrap_or("ipv4"),
        &["ipv4", "dualstack", "dualstack-without-public-ipv4"],
    )?;
    let mut subnets: Vec<String> = p.list("Subnets")?.into_iter().map(Into::into).collect();
    for mapping in p.structures("SubnetMappings")? {
        subnets.push(mapping.required("SubnetId")?.to_string());
    }
    if subnets.is_empty() {
        // AWS requires subnets; the emulator is lenient and takes two of
        // the default VPC's default subnets (two AZs), so a bare
        // CreateLoadBalancer still works.
        subnets = cx.api.store.write(|s| {
            s.ec2
                .region(cx.region, cx.account())
                .default_subnets()
                .iter()
                .take(MIN_SUBNETS)
                .map(|s| s.id.clone())
                .collect()
        });
    }
    let mut unique = subnets.clone();
    unique.sort();
    unique.dedup();
    if unique.len() < MIN_SUBNETS {
        return Err(Elbv2Error::InvalidConfiguration(
            "At least two subnets in two different Availability Zones must be specified".into(),
        )
        .into());
    }
    let security_groups: Vec<String> = p
        .list("SecurityGroups")?
        .into_iter()
        .map(Into::into)
        .collect();
    let tags = decode::tags(p)?;
    let wanted = Settings {
        scheme: scheme.into(),
        lb_type: lb_type.into(),
        ip_address_type: ip_address_type.into(),
        subnets,
        security_groups,
    };

    let lb = cx.api.store.write(|s| -> Result<LoadBalancer, Elbv2Error> {
        let state = &mut s.elbv2;
        if let Some(existing) = state
            .load_balancers
            .values()
            .find(|lb| lb.name == name && cx.in_region(&lb.arn))
        {
            return if Settings::of(existing) == wanted {
                Ok(existing.clone())
            } else {
                Err(Elbv2Error::DuplicateLoadBalancerName(format!(
                    "A load balancer with the same name '{name}' exists, but with different settings"
                )))
            };
        }
        let (vpc_id, zones) =
            vpc_of_subnets(s.ec2.region(cx.region, cx.account()), &wanted.subnets)?;
        let state = &mut s.elbv2;
        let arn = arns::load_balancer(cx.region, cx.account(), &name);
        // `NAME-DIGITS.elb.localhost`, shaped like AWS's
        // `NAME-1234567890.REGION.elb.amazonaws.com`. Names under
        // `.localhost` resolve to the loopback address (RFC 6761), and the
        // control port routes requests with this Host to the ALB.
        let prefix = if wanted.scheme == "internal" {
            "internal-"
        } else {
            ""
        };
        let lb = LoadBalancer {
            dns_name: format!("{prefix}{name}-{}.elb.localhost", random_digits(10)),
            arn: arn.clone(),
            name: name.clone(),
            scheme: wanted.scheme.clone(),
            lb_type: wanted.lb_type.clone(),
            ip_address_type: wanted.ip_address_type.clone(),
            // Nothing to provision locally: the load balancer is usable at once.
            state: LoadBalancerState::Active,
            created_at: cx.now,
            subnets: wanted.subnets.clone(),
            zones,
            security_groups: wanted.security_groups.clone(),
            vpc_id,
            attributes: settings::load_balancer_attribute_defaults(),
        };
        state.load_balancers.insert(arn.clone(), lb.clone());
        if !tags.is_empty() {
            state.tags.insert(arn, tags);
        }
        Ok(lb)
    })?;
    Ok(Box::new(move |w| {
        w.members("LoadBalancers", [&lb], encode::load_balancer);
    }))
}

/// SetSecurityGroups: the groups must be of the load balancer's VPC.
pub fn set_security_groups(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("LoadBalancerArn")?.to_string();
    let groups: Vec<String> = p
        .list("SecurityGroups")?
        .into_iter()
        .map(Into::into)
        .collect();
    if p.get("EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic")
        .is_some()
    {
        return Err(Elbv2Error::InvalidConfiguration(
            "EnforceSecurityGroupInboundRulesOnPrivateLinkTraffic applies to Network Load Balancers only".into(),
        )
        .into());
    }
    let groups = cx.api.store.write(|s| {
        let vpc_id = s
            .elbv2
            .load_balancers
            .get(&arn)
            .map(|lb| lb.vpc_id.clone())
            .ok_or_else(|| not_found(&arn))?;
        if groups.is_empty() {
            return Err(Elbv2Error::InvalidConfiguration(
                "An Application Load Balancer must have at least one security group".into(),
            ));
        }
        let ec2 = s.ec2.region(cx.region, cx.account());
        for group in &groups {
            // Every id must be a real group of the VPC here: no placeholders.
            let known = ec2
                .security_groups
                .get(group)
                .is_some_and(|g| g.vpc_id == vpc_id);
            if !known {
                return Err(Elbv2Error::InvalidSecurityGroup(format!(
                    "One or more security groups are invalid: '{group}' is not a security group of {vpc_id}"
                )));
            }
        }
        let lb = s.elbv2.load_balancers.get_mut(&arn).expect("found above");
        lb.security_groups = groups.clone();
        Ok(groups)
    })?;
    Ok(Box::new(move |w| {
        w.string_members("SecurityGroupIds", &groups);
    }))
}

/// SetSubnets: at least two subnets, in the load balancer's VPC.
pub fn set_subnets(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("LoadBalancerArn")?.to_string();
    let mut subnets: Vec<String> = p.list("Subnets")?.into_iter().map(Into::into).collect();
    for mapping in p.structures("SubnetMappings")? {
        subnets.push(mapping.required("SubnetId")?.to_string());
    }
    subnets.dedup();
    if subnets.len() < MIN_SUBNETS {
        return Err(Elbv2Error::InvalidConfiguration(
            "At least two subnets in two different Availability Zones must be specified".into(),
        )
        .into());
    }
    let lb = cx.api.store.write(|s| {
        let current_vpc = s
            .elbv2
            .load_balancers
            .get(&arn)
            .map(|lb| lb.vpc_id.clone())
            .ok_or_else(|| not_found(&arn))?;
        let (vpc, zones) = vpc_of_subnets(s.ec2.region(cx.region, cx.account()), &subnets)?;
        if vpc != current_vpc {
            return Err(Elbv2Error::InvalidConfiguration(format!(
                "The subnets must be in the load balancer's VPC {current_vpc}"
            )));
        }
        let lb = s.elbv2.load_balancers.get_mut(&arn).expect("found above");
        lb.subnets = subnets;
        lb.zones = zones;
        Ok(lb.clone())
    })?;
    Ok(Box::new(move |w| {
        encode::availability_zones(w, &lb);
        w.text("IpAddressType", &lb.ip_address_type);
    }))
}

/// The one VPC a load balancer's subnets are in, and each subnet's zone, as
/// EC2 resolves them (placeholder ids are the default VPC's subnets).
fn vpc_of_subnets(
    ec2: &crate::domain::ec2::RegionState,
    subnets: &[String],
) -> Result<(String, Vec<String>), Elbv2Error> {
    let mut vpc_id: Option<String> = None;
    let mut zones = Vec::with_capacity(subnets.len());
    for id in subnets {
        let subnet = ec2.resolve_subnet(id).map_err(|_| {
            Elbv2Error::SubnetNotFound(format!("The specified subnet '{id}' does not exist."))
        })?;
        match &vpc_id {
            Some(vpc) if *vpc != subnet.vpc_id => {
                return Err(Elbv2Error::InvalidConfiguration(
                    "All subnets of a load balancer must be in the same VPC".into(),
                ))
            }
            _ => vpc_id = Some(subnet.vpc_id.clone()),
        }
        zones.push(subnet.availability_zone.clone());
    }
    Ok((vpc_id.unwrap_or_default(), zones))
}

pub fn describe(cx: &Cx, p: &Params) -> Result<Output> {
    let arns: Vec<String> = p
        .list("LoadBalancerArns")?
        .into_iter()
        .map(Into::into)
        .collect();
    let names: Vec<String> = p.list("Names")?.into_iter().map(Into::into).collect();
    if !arns.is_empty() && !names.is_empty() {
        return Err(QueryError::validation(
            "Load balancer names and load balancer ARNs cannot be specified at the same time",
        ));
    }
    let found = cx
        .api
        .store
        .read(|s| -> Result<Vec<LoadBalancer>, Elbv2Error> {
            let lbs = &s.elbv2.load_balancers;
            if !arns.is_empty() {
                let missing: Vec<&String> = arns.iter().filter(|a| !lbs.contains_key(*a)).collect();
                if !missing.is_empty() {
                    return Err(Elbv2Error::LoadBalancerNotFound(format!(
                        "Load balancers '{missing:?}' not found"
                    )));
                }
                return Ok(arns.iter().map(|a| lbs[a].clone()).collect());
            }
            let in_region = || lbs.values().filter(|lb| cx.in_region(&lb.arn));
            if !names.is_empty() {
                let mut out = Vec::new();
                let mut missing = Vec::new();
                for name in &names {
                    match in_region().find(|lb| &lb.name == name) {
                        Some(lb) => out.push(lb.clone()),
                        None => missing.push(name),
                    }
                }
                if !missing.is_empty() {
                    return Err(Elbv2Error::LoadBalancerNotFound(format!(
                        "Load balancers '{missing:?}' not found"
                    )));
                }
                return Ok(out);
            }
            let mut all: Vec<LoadBalancer> = in_region().cloned().collect();
            all.sort_by(|a, b| (a.created_at, &a.arn).cmp(&(b.created_at, &b.arn)));
            Ok(all)
        })?;
    let (items, next) = page(found, p)?;
    Ok(Box::new(move |w| {
        w.members("LoadBalancers", &items, |w, lb| {
            encode::load_balancer(w, lb)
        })
        .opt_text("NextMarker", next);
    }))
}

/// Deletes the load balancer with its listeners and rules. Succeeds when it
/// does not exist. Target groups stay.
pub fn delete(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("LoadBalancerArn")?.to_string();
    let closed = cx.api.store.write(|s| -> Result<Vec<String>, Elbv2Error> {
        let Some(lb) = s.elbv2.load_balancers.get(&arn) else {
            return Ok(Vec::new());
        };
        if lb
            .attributes
            .get("deletion_protection.enabled")
            .map(String::as_str)
            == Some("true")
        {
            return Err(Elbv2Error::OperationNotPermitted(format!(
                "Load balancer '{arn}' cannot be deleted because deletion protection is enabled"
            )));
        }
        Ok(s.elbv2.remove_load_balancer(&arn))
    })?;
    for listener in closed {
        cx.api.dataplane.close_listener(&listener);
    }
    Ok(super::empty())
}

pub fn describe_attributes(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("LoadBalancerArn")?;
    let attributes = cx.api.store.read(|s| {
        s.elbv2
            .load_balancers
            .get(arn)
            .map(|lb| lb.attributes.clone())
            .ok_or_else(|| not_found(arn))
    })?;
    Ok(super::attributes_output(attributes))
}

pub fn modify_attributes(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("LoadBalancerArn")?;
    let changes = super::attribute_changes(p)?;
    let attributes = cx.api.store.write(|s| {
        let lb = s
            .elbv2
            .load_balancers
            .get_mut(arn)
            .ok_or_else(|| not_found(arn))?;
        lb.attributes = settings::modify_load_balancer_attributes(&lb.attributes, &changes)?;
        Ok::<_, Elbv2Error>(lb.attributes.clone())
    })?;
    Ok(super::attributes_output(attributes))
}

pub fn not_found(arn: &str) -> Elbv2Error {
    Elbv2Error::LoadBalancerNotFound(format!("Load balancer '{arn}' not found"))
}
