//! Security groups and their rules.

use crate::domain::ec2::filter::{check_filters, select, Filter};
use crate::domain::ec2::security_groups::{normalize_protocol, RuleOfGroup, RuleSpec};
use crate::domain::ec2::{
    Ec2Error, Kind, Peer, RegionState, SecurityGroup, SecurityGroupRule, Tags,
};
use crate::protocol::query::Params;

use super::encode::{self, GroupView};
use super::{
    describe_with, filters, ids, page, required, returns_true, tag_specifications, Cx, Output,
    Result,
};

pub fn create(cx: &Cx, p: &Params) -> Result<Output> {
    let name = required(p, "GroupName")?;
    let description = required(p, "GroupDescription")?;
    let vpc = p.get("VpcId");
    let tags = tag_specifications(p, "security-group")?;
    let (id, tags) = cx.write(|r| {
        let id = r.create_security_group(name, description, vpc)?;
        r.tag(&id, &tags);
        let tags = r.tags.get(&id).cloned().unwrap_or_default();
        Ok((id, tags))
    })?;
    let owner = cx.owner();
    Ok(Box::new(move |w| {
        w.text("groupId", &id)
            .text("securityGroupArn", owner.arn("security-group", &id));
        encode::tag_set(w, &tags);
    }))
}

fn group_view(r: &RegionState, g: &SecurityGroup) -> GroupView {
    let peer_names = g
        .rules
        .iter()
        .filter_map(|rule| match &rule.peer {
            Peer::Group { group_id, .. } => r
                .security_groups
                .get(group_id)
                .map(|p| (p.id.clone(), p.name.clone())),
            _ => None,
        })
        .collect();
    GroupView {
        group: g.clone(),
        tags: r.tags.get(&g.id).cloned().unwrap_or_default(),
        peer_names,
    }
}

pub fn describe(cx: &Cx, p: &Params) -> Result<Output> {
    let names: Vec<String> = p
        .flat_list("GroupName")?
        .into_iter()
        .map(String::from)
        .collect();
    let mut extra = Vec::new();
    if !names.is_empty() {
        // Names refer to the default VPC's groups, each of which must exist.
        let vpc = cx.read(|r| {
            for n in &names {
                r.group_by_name(n, None)?;
            }
            Ok(r.default_vpc().map(|v| v.id.clone()).unwrap_or_default())
        })?;
        extra.push(Filter {
            name: "group-name".into(),
            values: names,
        });
        extra.push(Filter {
            name: "vpc-id".into(),
            values: vec![vpc],
        });
    }
    describe_with(
        cx,
        p,
        "GroupId",
        extra,
        |r| r.security_groups.values().collect(),
        group_view,
        "securityGroupInfo",
        encode::security_group,
    )
}

/// The group a request means: `GroupId`, or `GroupName` in the default VPC.
fn group_id(cx: &Cx, p: &Params) -> Result<String> {
    if let Some(id) = p.get("GroupId") {
        return Ok(id.to_string());
    }
    let name = p
        .get("GroupName")
        .ok_or_else(|| Ec2Error::MissingParameter("GroupId".into()))?;
    cx.read(|r| r.group_by_name(name, None).map(|g| g.id.clone()))
}

pub fn delete(cx: &Cx, p: &Params) -> Result<Output> {
    let id = group_id(cx, p)?;
    cx.write(|r| r.delete_security_group(&id))?;
    Ok(returns_true())
}

/// The ports of a rule: both for tcp/udp, -1 when the protocol has none.
fn ports(protocol: &str, from: Option<i32>, to: Option<i32>) -> Result<(i32, i32)> {
    match protocol {
        "tcp" | "udp" => match (from, to) {
            (Some(f), Some(t)) if (0..=65535).contains(&f) && (f..=65535).contains(&t) => Ok((f, t)),
            (Some(f), Some(t)) => Err(Ec2Error::InvalidParameterValue(format!(
                "Invalid value '{f}-{t}' for portRange. Ports must be 0 to 65535, from not above to."
            ))
            .into()),
            _ => Err(Ec2Error::InvalidParameterValue(format!(
                "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange. ({protocol})"
            ))
            .into()),
        },
        "icmp" | "icmpv6" => Ok((from.unwrap_or(-1), to.unwrap_or(-1))),
        "-1" => Ok((-1, -1)),
        _ => Ok((from.unwrap_or(-1), to.unwrap_or(-1))),
    }
}

/// The rules of `IpPermissions.N` (one per peer), or of the legacy
/// top-level `IpProtocol`/`CidrIp`/`SourceSecurityGroupName` members.
fn rule_specs(cx: &Cx, p: &Params) -> Result<Vec<RuleSpec>> {
    let account = cx.account().to_string();
    let mut specs = Vec::new();
    for perm in p.flat_structures("IpPermissions")? {
        let protocol = normalize_protocol(required(&perm, "IpProtocol")?)?;
        let (from, to) = ports(
            &protocol,
            perm.integer("FromPort")?,
            perm.integer("ToPort")?,
        )?;
        let mut push = |peer: Peer, description: Option<&str>| {
            specs.push(RuleSpec {
                protocol: protocol.clone(),
                from_port: from,
                to_port: to,
                peer,
                description: description.map(String::from),
            })
        };
        for range in perm.flat_structures("IpRanges")? {
            let cidr = required(&range, "CidrIp")?;
            cidr.parse::<ipnet::Ipv4Net>().map_err(|_| {
                Ec2Error::InvalidParameterValue(format!("CIDR block {cidr} is malformed"))
            })?;
            push(Peer::Ipv4(cidr.to_string()), range.get("Description"));
        }
        for range in perm.flat_structures("Ipv6Ranges")? {
            let cidr = required(&range, "CidrIpv6")?;
            cidr.parse::<ipnet::Ipv6Net>().map_err(|_| {
                Ec2Error::InvalidParameterValue(format!("CIDR block {cidr} is malformed"))
            })?;
            push(Peer::Ipv6(cidr.to_string()), range.get("Description"));
        }
        for pair in perm.flat_structures("Groups")? {
            let group_id = match (pair.get("GroupId"), pair.get("GroupName")) {
                (Some(id), _) => id.to_string(),
                (None, Some(name)) => {
                    cx.read(|r| r.group_by_name(name, None).map(|g| g.id.clone()))?
                }
                (None, None) => return Err(Ec2Error::MissingParameter("GroupId".into()).into()),
            };
            let user_id = pair.get("UserId").unwrap_or(&account).to_string();
            push(Peer::Group { group_id, user_id }, pair.get("Description"));
        }
        for list in perm.flat_structures("PrefixListIds")? {
            let id = required(&list, "PrefixListId")?;
            push(Peer::PrefixList(id.to_string()), list.get("Description"));
        }
    }
    if let Some(protocol) = p.get("IpProtocol") {
        let protocol = normalize_protocol(protocol)?;
        let (from, to) = ports(&protocol, p.integer("FromPort")?, p.integer("ToPort")?)?;
        let peer = match (p.get("CidrIp"), p.get("SourceSecurityGroupName")) {
            (Some(cidr), _) => Peer::Ipv4(cidr.to_string()),
            (None, Some(name)) => Peer::Group {
                group_id: cx.read(|r| r.group_by_name(name, None).map(|g| g.id.clone()))?,
                user_id: p
                    .get("SourceSecurityGroupOwnerId")
                    .unwrap_or(&account)
                    .to_string(),
            },
            (None, None) => Peer::Ipv4("0.0.0.0/0".into()),
        };
        specs.push(RuleSpec {
            protocol,
            from_port: from,
            to_port: to,
            peer,
            description: None,
        });
    }
    Ok(specs)
}

fn authorize(cx: &Cx, p: &Params, egress: bool) -> Result<Output> {
    let id = if egress {
        required(p, "GroupId")?.to_string()
    } else {
        group_id(cx, p)?
    };
    let specs = rule_specs(cx, p)?;
    if specs.is_empty() {
        return Err(Ec2Error::MissingParameter("IpPermissions".into()).into());
    }
    let tags = tag_specifications(p, "security-group-rule")?;
    let added = cx.write(|r| {
        let added = r.authorize(&id, egress, specs)?;
        for rule in &added {
            r.tag(&rule.id, &tags);
        }
        Ok(added
            .into_iter()
            .map(|rule| {
                let tags = r.tags.get(&rule.id).cloned().unwrap_or_default();
                (id.clone(), rule, tags)
            })
            .collect::<Vec<_>>())
    })?;
    let owner = cx.owner();
    Ok(Box::new(move |w| {
        w.text("return", true);
        w.items("securityGroupRuleSet", &added, |w, r| {
            encode::rule(w, &owner, r)
        });
    }))
}

pub fn authorize_ingress(cx: &Cx, p: &Params) -> Result<Output> {
    authorize(cx, p, false)
}

pub fn authorize_egress(cx: &Cx, p: &Params) -> Result<Output> {
    authorize(cx, p, true)
}

fn revoke(cx: &Cx, p: &Params, egress: bool) -> Result<Output> {
    let id = if egress {
        required(p, "GroupId")?.to_string()
    } else {
        group_id(cx, p)?
    };
    let specs = rule_specs(cx, p)?;
    let rule_ids = ids(p, "SecurityGroupRuleId", Kind::SecurityGroupRule)?;
    if specs.is_empty() && rule_ids.is_empty() {
        return Err(Ec2Error::MissingParameter("IpPermissions".into()).into());
    }
    cx.write(|r| r.revoke(&id, egress, &specs, &rule_ids))?;
    Ok(Box::new(|w| {
        w.text("return", true);
        w.items("unknownIpPermissionSet", [(); 0], |_, _| {});
    }))
}

pub fn revoke_ingress(cx: &Cx, p: &Params) -> Result<Output> {
    revoke(cx, p, false)
}

pub fn revoke_egress(cx: &Cx, p: &Params) -> Result<Output> {
    revoke(cx, p, true)
}

pub fn describe_rules(cx: &Cx, p: &Params) -> Result<Output> {
    let ids = ids(p, "SecurityGroupRuleId", Kind::SecurityGroupRule)?;
    let filters = filters(p)?;
    check_filters::<RuleOfGroup>(&filters)?;
    let rules: Vec<(String, SecurityGroupRule, Tags)> = cx.read(|r| {
        let all: Vec<RuleOfGroup> = r
            .all_rules()
            .into_iter()
            .map(|(group, rule)| RuleOfGroup { group, rule })
            .collect();
        Ok(select(&all, &ids, &filters, &r.tags)?
            .into_iter()
            .map(|x| {
                let tags = r.tags.get(&x.rule.id).cloned().unwrap_or_default();
                (x.group.id.clone(), x.rule.clone(), tags)
            })
            .collect())
    })?;
    let (rules, next) = page(rules, p)?;
    let owner = cx.owner();
    Ok(Box::new(move |w| {
        w.items("securityGroupRuleSet", &rules, |w, r| {
            encode::rule(w, &owner, r)
        });
        w.opt_text("nextToken", next);
    }))
}

/// UpdateSecurityGroupRuleDescriptions*: by `SecurityGroupRuleDescriptions`
/// (rule ids) or by `IpPermissions` (matching rules, their descriptions).
fn update_descriptions(cx: &Cx, p: &Params, egress: bool) -> Result<Output> {
    let id = group_id(cx, p)?;
    let mut changes: Vec<(String, Option<String>)> = p
        .flat_structures("SecurityGroupRuleDescriptions")?
        .into_iter()
        .map(|d| {
            Ok((
                required(&d, "SecurityGroupRuleId")?.to_string(),
                d.get("Description").map(String::from),
            ))
        })
        .collect::<Result<_>>()?;
    let specs = rule_specs(cx, p)?;
    cx.write(|r| {
        let group = crate::domain::ec2::lookup(&r.security_groups, Kind::SecurityGroup, &id)?;
        for spec in &specs {
            let rule = group
                .rules
                .iter()
                .find(|x| spec.matches(x, egress))
                .ok_or_else(|| {
                    Ec2Error::PermissionNotFound(
                        "The specified rule does not exist in this security group.".into(),
                    )
                })?;
            changes.push((rule.id.clone(), spec.description.clone()));
        }
        r.describe_rules(&id, &changes)
    })?;
    Ok(returns_true())
}

pub fn update_descriptions_ingress(cx: &Cx, p: &Params) -> Result<Output> {
    update_descriptions(cx, p, false)
}

pub fn update_descriptions_egress(cx: &Cx, p: &Params) -> Result<Output> {
    update_descriptions(cx, p, true)
}

/// ModifySecurityGroupRules: `SecurityGroupRule.N.SecurityGroupRuleId` with
/// the rule's new content in `SecurityGroupRule.N.SecurityGroupRule.*`.
pub fn modify_rules(cx: &Cx, p: &Params) -> Result<Output> {
    let group = required(p, "GroupId")?.to_string();
    let account = cx.account().to_string();
    let mut changes = Vec::new();
    for item in p.flat_structures("SecurityGroupRule")? {
        let id = required(&item, "SecurityGroupRuleId")?.to_string();
        let rule = item
            .structure("SecurityGroupRule")
            .ok_or_else(|| Ec2Error::MissingParameter("SecurityGroupRule".into()))?;
        let protocol = normalize_protocol(required(&rule, "IpProtocol")?)?;
        let (from_port, to_port) = ports(
            &protocol,
            rule.integer("FromPort")?,
            rule.integer("ToPort")?,
        )?;
        let peer =
            match (
                rule.get("CidrIpv4"),
                rule.get("CidrIpv6"),
                rule.get("PrefixListId"),
                rule.get("ReferencedGroupId"),
            ) {
                (Some(c), None, None, None) => Peer::Ipv4(c.to_string()),
                (None, Some(c), None, None) => Peer::Ipv6(c.to_string()),
                (None, None, Some(l), None) => Peer::PrefixList(l.to_string()),
                (None, None, None, Some(g)) => Peer::Group {
                    group_id: g.to_string(),
                    user_id: account.clone(),
                },
                _ => return Err(Ec2Error::InvalidParameterCombination(
                    "Specify exactly one of CidrIpv4, CidrIpv6, PrefixListId and ReferencedGroupId"
                        .into(),
                )
                .into()),
            };
        let description = rule.get("Description").map(String::from);
        changes.push((
            id,
            RuleSpec {
                protocol,
                from_port,
                to_port,
                peer,
                description,
            },
        ));
    }
    if changes.is_empty() {
        return Err(Ec2Error::MissingParameter("SecurityGroupRule".into()).into());
    }
    cx.write(|r| r.modify_rules(&group, changes))?;
    Ok(returns_true())
}
