//! VPCs, their subnets and network ACLs.

use std::collections::BTreeSet;

use ipnet::Ipv4Net;

use super::filter::{flag, Filterable};
use super::{
    cidr, lookup, lookup_mut, AclEntry, Ec2Error, Kind, NetworkAcl, Peer, RegionState, Route,
    RouteTable, RouteTableAssociation, SecurityGroup, SecurityGroupRule, Subnet, Vpc,
};

/// The rule number of the default ACL's allow-all entries.
pub const DEFAULT_ACL_RULE: i32 = 100;
/// The rule number AWS shows for the final `*` deny entry.
pub const LAST_ACL_RULE: i32 = 32767;
/// The name and description of every VPC's default security group.
pub const DEFAULT_GROUP_NAME: &str = "default";
pub const DEFAULT_GROUP_DESCRIPTION: &str = "default VPC security group";

impl RegionState {
    /// Creates a VPC in `cidr` after AWS's checks.
    pub fn create_vpc(&mut self, cidr_block: &str, tenancy: &str) -> Result<String, Ec2Error> {
        let net = cidr::parse(cidr_block, "cidrBlock")?;
        cidr::check_vpc_size(net)?;
        if !matches!(tenancy, "default" | "dedicated") {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ({tenancy}) for parameter instanceTenancy is invalid."
            )));
        }
        Ok(self.insert_vpc(net, false, tenancy))
    }

    /// A VPC with its default security group, main route table and default
    /// network ACL, as CreateVpc makes them.
    pub(super) fn insert_vpc(&mut self, net: Ipv4Net, is_default: bool, tenancy: &str) -> String {
        let id = Kind::Vpc.new_id();
        let group_id = Kind::SecurityGroup.new_id();
        let rule = |egress: bool, peer: Peer| SecurityGroupRule {
            id: Kind::SecurityGroupRule.new_id(),
            egress,
            protocol: "-1".into(),
            from_port: -1,
            to_port: -1,
            peer,
            description: None,
        };
        self.security_groups.insert(
            group_id.clone(),
            SecurityGroup {
                id: group_id.clone(),
                name: DEFAULT_GROUP_NAME.into(),
                description: DEFAULT_GROUP_DESCRIPTION.into(),
                vpc_id: id.clone(),
                rules: vec![
                    rule(
                        false,
                        Peer::Group {
                            group_id: group_id.clone(),
                            user_id: self.account.clone(),
                        },
                    ),
                    rule(true, Peer::Ipv4("0.0.0.0/0".into())),
                ],
            },
        );
        let table_id = Kind::RouteTable.new_id();
        self.route_tables.insert(
            table_id.clone(),
            RouteTable {
                id: table_id.clone(),
                vpc_id: id.clone(),
                routes: vec![Route {
                    destination: ("destinationCidrBlock", net.to_string()),
                    target: ("gatewayId", "local".into()),
                    origin: "CreateRouteTable",
                }],
                associations: vec![RouteTableAssociation {
                    id: Kind::RouteTableAssociation.new_id(),
                    subnet_id: None,
                    gateway_id: None,
                    main: true,
                }],
            },
        );
        let acl_id = Kind::NetworkAcl.new_id();
        let entry = |rule_number: i32, egress: bool, action: &str| AclEntry {
            rule_number,
            egress,
            protocol: "-1".into(),
            action: action.into(),
            cidr: "0.0.0.0/0".into(),
            port_range: None,
        };
        self.network_acls.insert(
            acl_id.clone(),
            NetworkAcl {
                id: acl_id.clone(),
                vpc_id: id.clone(),
                is_default: true,
                entries: vec![
                    entry(DEFAULT_ACL_RULE, false, "allow"),
                    entry(LAST_ACL_RULE, false, "deny"),
                    entry(DEFAULT_ACL_RULE, true, "allow"),
                    entry(LAST_ACL_RULE, true, "deny"),
                ],
                associations: vec![],
            },
        );
        self.vpcs.insert(
            id.clone(),
            Vpc {
                id: id.clone(),
                cidr: net,
                cidr_association_id: Kind::VpcCidrAssociation.new_id(),
                is_default,
                instance_tenancy: tenancy.into(),
                dhcp_options_id: Kind::DhcpOptions.new_id(),
                enable_dns_support: true,
                enable_dns_hostnames: is_default,
                enable_network_address_usage_metrics: false,
                default_security_group_id: group_id,
                main_route_table_id: table_id,
                default_network_acl_id: acl_id,
            },
        );
        id
    }

    /// Deletes a VPC with nothing left in it but its defaults.
    pub fn delete_vpc(&mut self, id: &str) -> Result<(), Ec2Error> {
        let vpc = lookup(&self.vpcs, Kind::Vpc, id)?.clone();
        let in_use = self.subnets.values().any(|s| s.vpc_id == id)
            || self
                .internet_gateways
                .values()
                .any(|g| g.attached_vpc.as_deref() == Some(id))
            || self
                .security_groups
                .values()
                .any(|g| g.vpc_id == id && g.id != vpc.default_security_group_id)
            || self
                .route_tables
                .values()
                .any(|t| t.vpc_id == id && t.id != vpc.main_route_table_id)
            || self
                .network_acls
                .values()
                .any(|a| a.vpc_id == id && a.id != vpc.default_network_acl_id);
        if in_use {
            return Err(Ec2Error::has_dependencies("vpc", id));
        }
        for owned in [
            &vpc.default_security_group_id,
            &vpc.main_route_table_id,
            &vpc.default_network_acl_id,
            &vpc.id,
        ] {
            self.untag_all(owned);
        }
        self.security_groups.remove(&vpc.default_security_group_id);
        self.route_tables.remove(&vpc.main_route_table_id);
        self.network_acls.remove(&vpc.default_network_acl_id);
        self.vpcs.remove(id);
        Ok(())
    }

    /// Creates a subnet after AWS's checks. `zone` defaults to the first
    /// AZ of the region.
    pub fn create_subnet(
        &mut self,
        vpc_id: &str,
        cidr_block: &str,
        zone: Option<&str>,
    ) -> Result<String, Ec2Error> {
        let vpc = lookup(&self.vpcs, Kind::Vpc, vpc_id)?;
        let net = cidr::parse(cidr_block, "cidrBlock")?;
        cidr::check_subnet_range(net, vpc.cidr)?;
        if self
            .subnets
            .values()
            .any(|s| s.vpc_id == vpc_id && cidr::overlaps(s.cidr, net))
        {
            return Err(Ec2Error::SubnetConflict(format!(
                "The CIDR '{net}' conflicts with another subnet"
            )));
        }
        let zones = self.zones();
        let zone = match zone {
            None => zones[0].clone(),
            Some(z) if zones.iter().any(|known| known == z) => z.to_string(),
            Some(z) => {
                return Err(Ec2Error::InvalidParameterValue(format!(
                    "Value ({z}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: {}.",
                    zones.join(", ")
                )))
            }
        };
        Ok(self.insert_subnet(vpc_id, net, zone, false))
    }

    pub(super) fn insert_subnet(
        &mut self,
        vpc_id: &str,
        net: Ipv4Net,
        zone: String,
        default_for_az: bool,
    ) -> String {
        let id = Kind::Subnet.new_id();
        self.subnets.insert(
            id.clone(),
            Subnet {
                id: id.clone(),
                vpc_id: vpc_id.to_string(),
                cidr: net,
                availability_zone: zone,
                default_for_az,
                map_public_ip_on_launch: default_for_az,
                assign_ipv6_address_on_creation: false,
                allocated: BTreeSet::new(),
            },
        );
        let acl = self
            .vpcs
            .get(vpc_id)
            .map(|v| v.default_network_acl_id.clone());
        if let Some(acl) = acl.and_then(|a| self.network_acls.get_mut(&a)) {
            acl.associations
                .push((Kind::NetworkAclAssociation.new_id(), id.clone()));
        }
        id
    }

    /// Deletes a subnet that no network interface uses.
    pub fn delete_subnet(&mut self, id: &str) -> Result<(), Ec2Error> {
        lookup(&self.subnets, Kind::Subnet, id)?;
        if self.network_interfaces.values().any(|e| e.subnet_id == id)
            || self
                .nat_gateways
                .values()
                .any(|n| n.subnet_id == id && n.state != "deleted")
        {
            return Err(Ec2Error::has_dependencies("subnet", id));
        }
        self.subnets.remove(id);
        self.untag_all(id);
        for acl in self.network_acls.values_mut() {
            acl.associations.retain(|(_, s)| s != id);
        }
        for table in self.route_tables.values_mut() {
            table
                .associations
                .retain(|a| a.subnet_id.as_deref() != Some(id));
        }
        Ok(())
    }
}

/// Rule numbers users may give ACL entries.
pub const ACL_RULE_NUMBERS: std::ops::RangeInclusive<i32> = 1..=32766;

impl RegionState {
    /// A network ACL that denies everything until entries are added.
    pub fn create_network_acl(&mut self, vpc_id: &str) -> Result<String, Ec2Error> {
        lookup(&self.vpcs, Kind::Vpc, vpc_id)?;
        let id = Kind::NetworkAcl.new_id();
        let deny = |egress| AclEntry {
            rule_number: LAST_ACL_RULE,
            egress,
            protocol: "-1".into(),
            action: "deny".into(),
            cidr: "0.0.0.0/0".into(),
            port_range: None,
        };
        self.network_acls.insert(
            id.clone(),
            NetworkAcl {
                id: id.clone(),
                vpc_id: vpc_id.into(),
                is_default: false,
                entries: vec![deny(false), deny(true)],
                associations: vec![],
            },
        );
        Ok(id)
    }

    pub fn delete_network_acl(&mut self, id: &str) -> Result<(), Ec2Error> {
        let acl = lookup(&self.network_acls, Kind::NetworkAcl, id)?;
        if acl.is_default {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "cannot delete default network ACL {id}"
            )));
        }
        if !acl.associations.is_empty() {
            return Err(Ec2Error::has_dependencies("networkAcl", id));
        }
        self.network_acls.remove(id);
        self.untag_all(id);
        Ok(())
    }

    /// CreateNetworkAclEntry (`replace` false) or ReplaceNetworkAclEntry.
    pub fn put_acl_entry(
        &mut self,
        id: &str,
        entry: AclEntry,
        replace: bool,
    ) -> Result<(), Ec2Error> {
        if !ACL_RULE_NUMBERS.contains(&entry.rule_number) {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Invalid value '{}' for ruleNumber. It must be between 1 and 32766.",
                entry.rule_number
            )));
        }
        cidr::parse(&entry.cidr, "cidrBlock")?;
        let acl = lookup_mut(&mut self.network_acls, Kind::NetworkAcl, id)?;
        let existing = acl
            .entries
            .iter()
            .position(|e| e.egress == entry.egress && e.rule_number == entry.rule_number);
        match (existing, replace) {
            (Some(_), false) => return Err(Ec2Error::AclEntryExists(entry.rule_number)),
            (None, true) => return Err(Ec2Error::AclEntryNotFound(entry.rule_number)),
            (Some(i), true) => acl.entries[i] = entry,
            (None, false) => acl.entries.push(entry),
        }
        acl.entries.sort_by_key(|e| (e.egress, e.rule_number));
        Ok(())
    }

    pub fn delete_acl_entry(
        &mut self,
        id: &str,
        rule_number: i32,
        egress: bool,
    ) -> Result<(), Ec2Error> {
        let acl = lookup_mut(&mut self.network_acls, Kind::NetworkAcl, id)?;
        let before = acl.entries.len();
        acl.entries.retain(|e| {
            !(e.egress == egress && e.rule_number == rule_number && rule_number != LAST_ACL_RULE)
        });
        if acl.entries.len() == before {
            return Err(Ec2Error::AclEntryNotFound(rule_number));
        }
        Ok(())
    }

    /// Moves a subnet's ACL association to `acl_id`; returns the new id.
    pub fn replace_acl_association(
        &mut self,
        association_id: &str,
        acl_id: &str,
    ) -> Result<String, Ec2Error> {
        super::error::check_form(Kind::NetworkAclAssociation, association_id)?;
        lookup(&self.network_acls, Kind::NetworkAcl, acl_id)?;
        let (old, subnet) = self
            .network_acls
            .values()
            .find_map(|a| {
                a.associations
                    .iter()
                    .find(|(id, _)| id == association_id)
                    .map(|(_, s)| (a.id.clone(), s.clone()))
            })
            .ok_or_else(|| Ec2Error::not_found(Kind::NetworkAclAssociation, association_id))?;
        if let Some(a) = self.network_acls.get_mut(&old) {
            a.associations.retain(|(id, _)| id != association_id);
        }
        let id = Kind::NetworkAclAssociation.new_id();
        if let Some(a) = self.network_acls.get_mut(acl_id) {
            a.associations.push((id.clone(), subnet));
        }
        Ok(id)
    }
}

impl Subnet {
    /// Addresses still free, as `availableIpAddressCount` reports them.
    pub fn available_ip_count(&self) -> u32 {
        cidr::usable_count(self.cidr).saturating_sub(self.allocated.len() as u32)
    }
}

impl Filterable for Vpc {
    const FILTERS: &'static [&'static str] = &[
        "cidr",
        "cidr-block-association.cidr-block",
        "cidr-block-association.association-id",
        "cidr-block-association.state",
        "dhcp-options-id",
        "is-default",
        "owner-id",
        "state",
        "vpc-id",
    ];
    const KIND: Kind = Kind::Vpc;
    fn id(&self) -> &str {
        &self.id
    }
    fn values(&self, name: &str) -> Vec<String> {
        match name {
            "cidr" | "cidr-block-association.cidr-block" => vec![self.cidr.to_string()],
            "cidr-block-association.association-id" => vec![self.cidr_association_id.clone()],
            "cidr-block-association.state" | "state" => {
                vec![if name == "state" {
                    "available"
                } else {
                    "associated"
                }
                .into()]
            }
            "dhcp-options-id" => vec![self.dhcp_options_id.clone()],
            "is-default" => flag(self.is_default),
            "vpc-id" => vec![self.id.clone()],
            _ => vec![],
        }
    }
}

impl Filterable for Subnet {
    const FILTERS: &'static [&'static str] = &[
        "availability-zone",
        "availability-zone-id",
        "available-ip-address-count",
        "cidr",
        "cidr-block",
        "cidrBlock",
        "default-for-az",
        "defaultForAz",
        "map-public-ip-on-launch",
        "owner-id",
        "state",
        "subnet-arn",
        "subnet-id",
        "vpc-id",
    ];
    const KIND: Kind = Kind::Subnet;
    fn id(&self) -> &str {
        &self.id
    }
    fn values(&self, name: &str) -> Vec<String> {
        match name {
            "availability-zone" => vec![self.availability_zone.clone()],
            "availability-zone-id" => vec![zone_id(&self.availability_zone)],
            "available-ip-address-count" => vec![self.available_ip_count().to_string()],
            "cidr" | "cidr-block" | "cidrBlock" => vec![self.cidr.to_string()],
            "default-for-az" | "defaultForAz" => flag(self.default_for_az),
            "map-public-ip-on-launch" => flag(self.map_public_ip_on_launch),
            "state" => vec!["available".into()],
            "subnet-id" => vec![self.id.clone()],
            "vpc-id" => vec![self.vpc_id.clone()],
            _ => vec![],
        }
    }
}

impl Filterable for NetworkAcl {
    const FILTERS: &'static [&'static str] = &[
        "association.association-id",
        "association.network-acl-id",
        "association.subnet-id",
        "default",
        "entry.rule-action",
        "entry.rule-number",
        "network-acl-id",
        "owner-id",
        "vpc-id",
    ];
    const KIND: Kind = Kind::NetworkAcl;
    fn id(&self) -> &str {
        &self.id
    }
    fn values(&self, name: &str) -> Vec<String> {
        match name {
            "association.association-id" => {
                self.associations.iter().map(|(a, _)| a.clone()).collect()
            }
            "association.network-acl-id" | "network-acl-id" => vec![self.id.clone()],
            "association.subnet-id" => self.associations.iter().map(|(_, s)| s.clone()).collect(),
            "default" => flag(self.is_default),
            "entry.rule-action" => self.entries.iter().map(|e| e.action.clone()).collect(),
            "entry.rule-number" => self
                .entries
                .iter()
                .map(|e| e.rule_number.to_string())
                .collect(),
            "vpc-id" => vec![self.vpc_id.clone()],
            _ => vec![],
        }
    }
}

/// The AZ id of a zone name, `use1-az1` for `us-east-1a`: the region's
/// short form (`us` + the first letters of its direction + its number).
pub fn zone_id(zone: &str) -> String {
    let Some(letter) = zone.chars().last() else {
        return String::new();
    };
    let region = &zone[..zone.len() - letter.len_utf8()];
    let parts: Vec<&str> = region.split('-').collect();
    let short = match parts.as_slice() {
        [area, direction, number] => {
            let direction = match *direction {
                "northeast" => "ne",
                "southeast" => "se",
                "northwest" => "nw",
                "southwest" => "sw",
                other => &other[..other.len().min(1)],
            };
            format!("{area}{direction}{number}")
        }
        _ => region.replace('-', ""),
    };
    let index = (letter as u32).saturating_sub('a' as u32) + 1;
    format!("{short}-az{index}")
}

#[cfg(test)]
mod tests {
    use super::super::Ec2State;
    use super::*;

    fn region() -> Ec2State {
        Ec2State::default()
    }

    #[test]
    fn zone_ids() {
        assert_eq!(zone_id("us-east-1a"), "use1-az1");
        assert_eq!(zone_id("eu-west-1c"), "euw1-az3");
        assert_eq!(zone_id("ap-southeast-2b"), "apse2-az2");
    }

    #[test]
    fn subnets_are_checked_and_vpcs_keep_dependencies() {
        let mut state = region();
        let r = state.region("us-east-1", "000000000000");
        let vpc = r.create_vpc("10.0.0.0/16", "default").unwrap();
        assert_eq!(
            r.create_vpc("10.0.0.0/8", "default").unwrap_err().code(),
            "InvalidVpc.Range"
        );
        let a = r
            .create_subnet(&vpc, "10.0.1.0/24", Some("us-east-1a"))
            .unwrap();
        assert_eq!(
            r.create_subnet(&vpc, "10.0.1.128/25", None)
                .unwrap_err()
                .code(),
            "InvalidSubnet.Conflict"
        );
        assert_eq!(
            r.create_subnet(&vpc, "10.1.0.0/24", None)
                .unwrap_err()
                .code(),
            "InvalidSubnet.Range"
        );
        let e = r
            .create_subnet(&vpc, "10.0.2.0/24", Some("us-east-1z"))
            .unwrap_err();
        assert!(e.to_string().contains("us-east-1a, us-east-1b, us-east-1c"));
        assert_eq!(r.subnets[&a].available_ip_count(), 251);
        assert_eq!(
            r.delete_vpc(&vpc).unwrap_err().code(),
            "DependencyViolation"
        );
        r.delete_subnet(&a).unwrap();
        r.delete_vpc(&vpc).unwrap();
        assert_eq!(
            r.delete_vpc(&vpc).unwrap_err().code(),
            "InvalidVpcID.NotFound"
        );
        assert_eq!(
            r.delete_vpc("vpc-zz").unwrap_err().code(),
            "InvalidVpcID.Malformed"
        );
    }

    #[test]
    fn acl_entries_and_associations() {
        let mut state = region();
        let r = state.region("us-east-1", "000000000000");
        let vpc = r.create_vpc("10.0.0.0/16", "default").unwrap();
        let subnet = r.create_subnet(&vpc, "10.0.0.0/24", None).unwrap();
        let acl = r.create_network_acl(&vpc).unwrap();
        let entry = AclEntry {
            rule_number: 100,
            egress: false,
            protocol: "6".into(),
            action: "allow".into(),
            cidr: "0.0.0.0/0".into(),
            port_range: Some((443, 443)),
        };
        r.put_acl_entry(&acl, entry.clone(), false).unwrap();
        assert_eq!(
            r.put_acl_entry(&acl, entry.clone(), false)
                .unwrap_err()
                .code(),
            "NetworkAclEntryAlreadyExists"
        );
        r.put_acl_entry(&acl, entry, true).unwrap();
        let default = r.vpcs[&vpc].default_network_acl_id.clone();
        let association = r.network_acls[&default].associations[0].0.clone();
        r.replace_acl_association(&association, &acl).unwrap();
        assert_eq!(
            r.delete_network_acl(&acl).unwrap_err().code(),
            "DependencyViolation"
        );
        assert_eq!(
            r.delete_network_acl(&default).unwrap_err().code(),
            "InvalidParameterValue"
        );
        r.delete_acl_entry(&acl, 100, false).unwrap();
        assert_eq!(
            r.delete_acl_entry(&acl, 100, false).unwrap_err().code(),
            "InvalidNetworkAclEntry.NotFound"
        );
        r.delete_subnet(&subnet).unwrap();
        r.delete_network_acl(&acl).unwrap();
    }

    #[test]
    fn regions_are_isolated() {
        let mut state = region();
        let vpc = state
            .region("us-east-1", "000000000000")
            .create_vpc("10.0.0.0/16", "default")
            .unwrap();
        let other = state.region("eu-west-1", "000000000000");
        assert!(!other.vpcs.contains_key(&vpc));
        assert_eq!(other.vpcs.len(), 1, "only its own default VPC");
    }
}
