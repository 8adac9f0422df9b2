//! Security groups and their rules.

use borsh::{BorshDeserialize, BorshSerialize};

use super::filter::{flag, Filterable};
use super::vpcs::DEFAULT_GROUP_NAME;
use super::{
    lookup, lookup_mut, Ec2Error, Kind, Peer, RegionState, SecurityGroup, SecurityGroupRule,
};

/// Longest group name and description AWS accepts.
pub const NAME_MAX: usize = 255;

/// A rule as a request gives it, before it has an id.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RuleSpec {
    pub protocol: String,
    pub from_port: i32,
    pub to_port: i32,
    pub peer: Peer,
    pub description: Option<String>,
}

impl RuleSpec {
    /// Whether `rule` is this rule, in the direction `egress`.
    pub fn matches(&self, rule: &SecurityGroupRule, egress: bool) -> bool {
        rule.egress == egress
            && rule.protocol == self.protocol
            && rule.from_port == self.from_port
            && rule.to_port == self.to_port
            && rule.peer == self.peer
    }

    /// The rule with this content, id and direction.
    pub fn into_rule(self, id: String, egress: bool) -> SecurityGroupRule {
        SecurityGroupRule {
            id,
            egress,
            protocol: self.protocol,
            from_port: self.from_port,
            to_port: self.to_port,
            peer: self.peer,
            description: self.description,
        }
    }
}

/// AWS's spelling of a protocol: names for tcp/udp/icmp, `-1` for all.
pub fn normalize_protocol(protocol: &str) -> Result<String, Ec2Error> {
    let p = protocol.to_ascii_lowercase();
    Ok(match p.as_str() {
        "-1" | "all" => "-1".into(),
        "6" | "tcp" => "tcp".into(),
        "17" | "udp" => "udp".into(),
        "1" | "icmp" => "icmp".into(),
        "58" | "icmpv6" => "icmpv6".into(),
        n if n.parse::<u8>().is_ok() => n.into(),
        _ => {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Invalid value '{protocol}' for IP protocol. Unknown protocol."
            )))
        }
    })
}

impl RegionState {
    pub fn create_security_group(
        &mut self,
        name: &str,
        description: &str,
        vpc_id: Option<&str>,
    ) -> Result<String, Ec2Error> {
        let vpc_id = match vpc_id {
            Some(id) => lookup(&self.vpcs, Kind::Vpc, id)?.id.clone(),
            None => self
                .default_vpc()
                .map(|v| v.id.clone())
                .ok_or_else(|| Ec2Error::MissingParameter("vpcId".into()))?,
        };
        if name.is_empty() || name.len() > NAME_MAX || name.starts_with("sg-") {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ({name}) for parameter GroupName is invalid. Group names may not be empty, longer than {NAME_MAX} characters or begin with sg-."
            )));
        }
        if name == DEFAULT_GROUP_NAME {
            return Err(Ec2Error::InvalidParameterValue(
                "Value (default) for parameter GroupName is invalid. Group names may not be default.".into(),
            ));
        }
        if description.len() > NAME_MAX {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value for parameter GroupDescription is invalid. It may not be longer than {NAME_MAX} characters."
            )));
        }
        if self
            .security_groups
            .values()
            .any(|g| g.vpc_id == vpc_id && g.name == name)
        {
            return Err(Ec2Error::GroupDuplicate(format!(
                "The security group '{name}' already exists for VPC '{vpc_id}'"
            )));
        }
        let id = Kind::SecurityGroup.new_id();
        let rules = vec![SecurityGroupRule {
            id: Kind::SecurityGroupRule.new_id(),
            egress: true,
            protocol: "-1".into(),
            from_port: -1,
            to_port: -1,
            peer: Peer::Ipv4("0.0.0.0/0".into()),
            description: None,
        }];
        self.security_groups.insert(
            id.clone(),
            SecurityGroup {
                id: id.clone(),
                name: name.into(),
                description: description.into(),
                vpc_id,
                rules,
            },
        );
        Ok(id)
    }

    /// The group named `name` in `vpc_id` (default VPC when `None`).
    pub fn group_by_name(
        &self,
        name: &str,
        vpc_id: Option<&str>,
    ) -> Result<&SecurityGroup, Ec2Error> {
        let vpc = match vpc_id {
            Some(v) => v.to_string(),
            None => self.default_vpc().map(|v| v.id.clone()).unwrap_or_default(),
        };
        self.security_groups
            .values()
            .find(|g| g.name == name && g.vpc_id == vpc)
            .ok_or(Ec2Error::GroupNameNotFound {
                name: name.into(),
                vpc_id: vpc,
            })
    }

    pub fn delete_security_group(&mut self, id: &str) -> Result<(), Ec2Error> {
        let group = lookup(&self.security_groups, Kind::SecurityGroup, id)?;
        if group.name == DEFAULT_GROUP_NAME {
            return Err(Ec2Error::CannotDelete(format!(
                "the specified group: \"{id}\" name: \"default\" cannot be deleted by a user"
            )));
        }
        let referenced = self.security_groups.values().any(|g| {
            g.id != id
                && g.rules
                    .iter()
                    .any(|r| matches!(&r.peer, Peer::Group { group_id, .. } if group_id == id))
        });
        let used = self
            .network_interfaces
            .values()
            .any(|e| e.security_groups.iter().any(|g| g == id));
        if referenced || used {
            return Err(Ec2Error::DependencyViolation(format!(
                "resource {id} has a dependent object"
            )));
        }
        self.security_groups.remove(id);
        self.untag_all(id);
        Ok(())
    }

    /// Adds rules; all or nothing. Returns the new rules.
    pub fn authorize(
        &mut self,
        group_id: &str,
        egress: bool,
        specs: Vec<RuleSpec>,
    ) -> Result<Vec<SecurityGroupRule>, Ec2Error> {
        for spec in &specs {
            if let Peer::Group { group_id: peer, .. } = &spec.peer {
                lookup(&self.security_groups, Kind::SecurityGroup, peer)?;
            }
        }
        let group = lookup_mut(&mut self.security_groups, Kind::SecurityGroup, group_id)?;
        let mut added: Vec<SecurityGroupRule> = Vec::new();
        for spec in specs {
            if group
                .rules
                .iter()
                .chain(&added)
                .any(|r| spec.matches(r, egress))
            {
                return Err(duplicate(&spec));
            }
            added.push(spec.into_rule(Kind::SecurityGroupRule.new_id(), egress));
        }
        group.rules.extend(added.iter().cloned());
        Ok(added)
    }

    /// Removes rules given as permissions or by id; all or nothing.
    pub fn revoke(
        &mut self,
        group_id: &str,
        egress: bool,
        specs: &[RuleSpec],
        rule_ids: &[String],
    ) -> Result<(), Ec2Error> {
        let group = lookup_mut(&mut self.security_groups, Kind::SecurityGroup, group_id)?;
        let mut remove = Vec::new();
        for spec in specs {
            let found = group.rules.iter().find(|r| spec.matches(r, egress));
            match found {
                Some(r) => remove.push(r.id.clone()),
                None => {
                    return Err(Ec2Error::PermissionNotFound(
                        "The specified rule does not exist in this security group.".into(),
                    ))
                }
            }
        }
        for id in rule_ids {
            if !group
                .rules
                .iter()
                .any(|r| &r.id == id && r.egress == egress)
            {
                return Err(Ec2Error::not_found(Kind::SecurityGroupRule, id));
            }
            remove.push(id.clone());
        }
        group.rules.retain(|r| !remove.contains(&r.id));
        for id in &remove {
            self.tags.remove(id);
        }
        Ok(())
    }

    /// ModifySecurityGroupRules: replaces rules by id, keeping their ids
    /// and directions; all or nothing.
    pub fn modify_rules(
        &mut self,
        group_id: &str,
        changes: Vec<(String, RuleSpec)>,
    ) -> Result<(), Ec2Error> {
        let group = lookup_mut(&mut self.security_groups, Kind::SecurityGroup, group_id)?;
        let mut rules = group.rules.clone();
        for (id, spec) in changes {
            let Some(i) = rules.iter().position(|r| r.id == id) else {
                return Err(Ec2Error::not_found(Kind::SecurityGroupRule, id));
            };
            let egress = rules[i].egress;
            if rules.iter().any(|r| r.id != id && spec.matches(r, egress)) {
                return Err(duplicate(&spec));
            }
            rules[i] = spec.into_rule(id, egress);
        }
        group.rules = rules;
        Ok(())
    }

    /// Sets the description of rules by id.
    pub fn describe_rules(
        &mut self,
        group_id: &str,
        descriptions: &[(String, Option<String>)],
    ) -> Result<(), Ec2Error> {
        let group = lookup_mut(&mut self.security_groups, Kind::SecurityGroup, group_id)?;
        for (id, _) in descriptions {
            if !group.rules.iter().any(|r| &r.id == id) {
                return Err(Ec2Error::not_found(Kind::SecurityGroupRule, id));
            }
        }
        for (id, description) in descriptions {
            if let Some(rule) = group.rules.iter_mut().find(|r| &r.id == id) {
                rule.description = description.clone();
            }
        }
        Ok(())
    }

    /// Every rule of the region with its group.
    pub fn all_rules(&self) -> Vec<(&SecurityGroup, &SecurityGroupRule)> {
        self.security_groups
            .values()
            .flat_map(|g| g.rules.iter().map(move |r| (g, r)))
            .collect()
    }
}

/// `InvalidPermission.Duplicate` in AWS's words.
fn duplicate(spec: &RuleSpec) -> Ec2Error {
    Ec2Error::PermissionDuplicate(format!(
        "the specified rule \"peer: {}, {}, from port: {}, to port: {}, ALLOW\" already exists",
        peer_text(&spec.peer),
        spec.protocol.to_ascii_uppercase(),
        spec.from_port,
        spec.to_port
    ))
}

fn peer_text(peer: &Peer) -> &str {
    match peer {
        Peer::Ipv4(c) | Peer::Ipv6(c) | Peer::PrefixList(c) => c,
        Peer::Group { group_id, .. } => group_id,
    }
}

impl Filterable for SecurityGroup {
    const FILTERS: &'static [&'static str] = &[
        "description",
        "egress.ip-permission.cidr",
        "group-id",
        "group-name",
        "ip-permission.cidr",
        "ip-permission.from-port",
        "ip-permission.protocol",
        "ip-permission.to-port",
        "ip-permission.group-id",
        "owner-id",
        "vpc-id",
    ];
    const KIND: Kind = Kind::SecurityGroup;
    fn id(&self) -> &str {
        &self.id
    }
    fn values(&self, name: &str) -> Vec<String> {
        let ingress = self.rules.iter().filter(|r| !r.egress);
        match name {
            "description" => vec![self.description.clone()],
            "group-id" => vec![self.id.clone()],
            "group-name" => vec![self.name.clone()],
            "vpc-id" => vec![self.vpc_id.clone()],
            "ip-permission.cidr" => ingress
                .filter_map(|r| match &r.peer {
                    Peer::Ipv4(c) => Some(c.clone()),
                    _ => None,
                })
                .collect(),
            "egress.ip-permission.cidr" => self
                .rules
                .iter()
                .filter(|r| r.egress)
                .filter_map(|r| match &r.peer {
                    Peer::Ipv4(c) => Some(c.clone()),
                    _ => None,
                })
                .collect(),
            "ip-permission.from-port" => ingress.map(|r| r.from_port.to_string()).collect(),
            "ip-permission.to-port" => ingress.map(|r| r.to_port.to_string()).collect(),
            "ip-permission.protocol" => ingress.map(|r| r.protocol.clone()).collect(),
            "ip-permission.group-id" => ingress
                .filter_map(|r| match &r.peer {
                    Peer::Group { group_id, .. } => Some(group_id.clone()),
                    _ => None,
                })
                .collect(),
            _ => vec![],
        }
    }
}

/// A rule with its group, as DescribeSecurityGroupRules filters it.
pub struct RuleOfGroup<'a> {
    pub group: &'a SecurityGroup,
    pub rule: &'a SecurityGroupRule,
}

impl Filterable for RuleOfGroup<'_> {
    const FILTERS: &'static [&'static str] = &["group-id", "security-group-rule-id", "is-egress"];
    const KIND: Kind = Kind::SecurityGroupRule;
    fn id(&self) -> &str {
        &self.rule.id
    }
    fn values(&self, name: &str) -> Vec<String> {
        match name {
            "group-id" => vec![self.group.id.clone()],
            "security-group-rule-id" => vec![self.rule.id.clone()],
            "is-egress" => flag(self.rule.egress),
            _ => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Ec2State;
    use super::*;

    fn tcp(port: i32, cidr: &str) -> RuleSpec {
        RuleSpec {
            protocol: "tcp".into(),
            from_port: port,
            to_port: port,
            peer: Peer::Ipv4(cidr.into()),
            description: None,
        }
    }

    #[test]
    fn rules_are_added_once_and_revoked() {
        let mut state = Ec2State::default();
        let r = state.region("us-east-1", "000000000000");
        let g = r.create_security_group("web", "web", None).unwrap();
        assert_eq!(
            r.create_security_group("web", "again", None)
                .unwrap_err()
                .code(),
            "InvalidGroup.Duplicate"
        );
        let added = r.authorize(&g, false, vec![tcp(80, "0.0.0.0/0")]).unwrap();
        assert_eq!(added.len(), 1);
        assert_eq!(
            r.authorize(&g, false, vec![tcp(80, "0.0.0.0/0")])
                .unwrap_err()
                .code(),
            "InvalidPermission.Duplicate"
        );
        assert_eq!(
            r.revoke(&g, false, &[tcp(81, "0.0.0.0/0")], &[])
                .unwrap_err()
                .code(),
            "InvalidPermission.NotFound"
        );
        r.revoke(&g, false, &[], &[added[0].id.clone()]).unwrap();
        assert_eq!(r.security_groups[&g].rules.len(), 1, "egress stays");
        let default = r.default_vpc().unwrap().default_security_group_id.clone();
        assert_eq!(
            r.delete_security_group(&default).unwrap_err().code(),
            "CannotDelete"
        );
        r.delete_security_group(&g).unwrap();
        assert_eq!(normalize_protocol("6").unwrap(), "tcp");
        assert!(normalize_protocol("bogus").is_err());
    }
}
