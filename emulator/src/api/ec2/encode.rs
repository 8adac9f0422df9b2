//! The XML of each EC2 resource (members named by the model's `locationName`).

use crate::domain::ec2::vpcs::zone_id;
use crate::domain::ec2::{
    Address, InternetGateway, NatGateway, NetworkAcl, NetworkInterface, Peer, RouteTable,
    SecurityGroup, SecurityGroupRule, Subnet, Tags, Vpc,
};
use crate::protocol::query::XmlWriter;

use super::Owner;

pub fn tag_set(w: &mut XmlWriter, tags: &Tags) {
    w.items("tagSet", tags, |w, (k, v)| {
        w.text("key", k).text("value", v);
    });
}

pub fn vpc(w: &mut XmlWriter, owner: &Owner, (v, tags): &(Vpc, Tags)) {
    w.text("vpcId", &v.id)
        .text("ownerId", &owner.account)
        .text("state", "available")
        .text("cidrBlock", v.cidr)
        .text("dhcpOptionsId", &v.dhcp_options_id)
        .text("instanceTenancy", &v.instance_tenancy)
        .text("isDefault", v.is_default);
    w.items("cidrBlockAssociationSet", [v], |w, v| {
        w.text("associationId", &v.cidr_association_id)
            .text("cidrBlock", v.cidr)
            .element("cidrBlockState", |w| {
                w.text("state", "associated");
            });
    });
    w.items("ipv6CidrBlockAssociationSet", [(); 0], |_, _| {});
    w.element("blockPublicAccessStates", |w| {
        w.text("internetGatewayBlockMode", "off");
    });
    tag_set(w, tags);
}

pub fn subnet(w: &mut XmlWriter, owner: &Owner, (s, tags): &(Subnet, Tags)) {
    w.text("subnetId", &s.id)
        .text("subnetArn", owner.arn("subnet", &s.id))
        .text("ownerId", &owner.account)
        .text("state", "available")
        .text("vpcId", &s.vpc_id)
        .text("cidrBlock", s.cidr)
        .text("availableIpAddressCount", s.available_ip_count())
        .text("availabilityZone", &s.availability_zone)
        .text("availabilityZoneId", zone_id(&s.availability_zone))
        .text("defaultForAz", s.default_for_az)
        .text("mapPublicIpOnLaunch", s.map_public_ip_on_launch)
        .text("mapCustomerOwnedIpOnLaunch", false)
        .text(
            "assignIpv6AddressOnCreation",
            s.assign_ipv6_address_on_creation,
        )
        .text("enableDns64", false)
        .text("ipv6Native", false);
    w.items("ipv6CidrBlockAssociationSet", [(); 0], |_, _| {});
    w.element("privateDnsNameOptionsOnLaunch", |w| {
        w.text("hostnameType", "ip-name")
            .text("enableResourceNameDnsARecord", false)
            .text("enableResourceNameDnsAAAARecord", false);
    });
    w.element("blockPublicAccessStates", |w| {
        w.text("internetGatewayBlockMode", "off");
    });
    tag_set(w, tags);
}

/// A group with the names of the groups its rules refer to.
pub struct GroupView {
    pub group: SecurityGroup,
    pub tags: Tags,
    /// (group id, group name) of peers, for `groups/item/groupName`.
    pub peer_names: Vec<(String, String)>,
}

pub fn security_group(w: &mut XmlWriter, owner: &Owner, g: &GroupView) {
    w.text("ownerId", &owner.account)
        .text("groupId", &g.group.id)
        .text("groupName", &g.group.name)
        .text("groupDescription", &g.group.description)
        .text("vpcId", &g.group.vpc_id)
        .text("securityGroupArn", owner.arn("security-group", &g.group.id));
    for (set, egress) in [("ipPermissions", false), ("ipPermissionsEgress", true)] {
        let rules: Vec<&SecurityGroupRule> = g
            .group
            .rules
            .iter()
            .filter(|r| r.egress == egress)
            .collect();
        w.items(set, permissions(&rules), |w, rules| permission(w, g, rules));
    }
    tag_set(w, &g.tags);
}

/// Rules grouped as IpPermissions: one per protocol and port range.
fn permissions<'a>(rules: &[&'a SecurityGroupRule]) -> Vec<Vec<&'a SecurityGroupRule>> {
    let mut out: Vec<Vec<&SecurityGroupRule>> = Vec::new();
    for rule in rules {
        match out.iter_mut().find(|p| {
            let first = p[0];
            first.protocol == rule.protocol
                && first.from_port == rule.from_port
                && first.to_port == rule.to_port
        }) {
            Some(p) => p.push(rule),
            None => out.push(vec![rule]),
        }
    }
    out
}

fn permission(w: &mut XmlWriter, g: &GroupView, rules: Vec<&SecurityGroupRule>) {
    let first = rules[0];
    w.text("ipProtocol", &first.protocol);
    if first.protocol != "-1" {
        w.text("fromPort", first.from_port)
            .text("toPort", first.to_port);
    }
    let of = |pick: fn(&Peer) -> bool| rules.iter().filter(move |r| pick(&r.peer)).copied();
    w.items("groups", of(|p| matches!(p, Peer::Group { .. })), |w, r| {
        if let Peer::Group { group_id, user_id } = &r.peer {
            w.text("groupId", group_id).text("userId", user_id);
            let name = g.peer_names.iter().find(|(id, _)| id == group_id);
            w.opt_text("groupName", name.map(|(_, n)| n));
        }
        w.opt_text("description", r.description.as_ref());
    });
    w.items("ipRanges", of(|p| matches!(p, Peer::Ipv4(_))), |w, r| {
        if let Peer::Ipv4(c) = &r.peer {
            w.text("cidrIp", c);
        }
        w.opt_text("description", r.description.as_ref());
    });
    w.items("ipv6Ranges", of(|p| matches!(p, Peer::Ipv6(_))), |w, r| {
        if let Peer::Ipv6(c) = &r.peer {
            w.text("cidrIpv6", c);
        }
        w.opt_text("description", r.description.as_ref());
    });
    w.items(
        "prefixListIds",
        of(|p| matches!(p, Peer::PrefixList(_))),
        |w, r| {
            if let Peer::PrefixList(c) = &r.peer {
                w.text("prefixListId", c);
            }
            w.opt_text("description", r.description.as_ref());
        },
    );
}

/// One rule of DescribeSecurityGroupRules and Authorize*.
pub fn rule(
    w: &mut XmlWriter,
    owner: &Owner,
    (group_id, r, tags): &(String, SecurityGroupRule, Tags),
) {
    w.text("securityGroupRuleId", &r.id)
        .text("groupId", group_id)
        .text("groupOwnerId", &owner.account)
        .text("isEgress", r.egress)
        .text("ipProtocol", &r.protocol)
        .text("fromPort", r.from_port)
        .text("toPort", r.to_port)
        .text(
            "securityGroupRuleArn",
            owner.arn("security-group-rule", &r.id),
        );
    match &r.peer {
        Peer::Ipv4(c) => {
            w.text("cidrIpv4", c);
        }
        Peer::Ipv6(c) => {
            w.text("cidrIpv6", c);
        }
        Peer::PrefixList(c) => {
            w.text("prefixListId", c);
        }
        Peer::Group { group_id, user_id } => {
            w.element("referencedGroupInfo", |w| {
                w.text("groupId", group_id).text("userId", user_id);
            });
        }
    }
    w.opt_text("description", r.description.as_ref());
    tag_set(w, tags);
}

pub fn route_table(w: &mut XmlWriter, owner: &Owner, (t, tags): &(RouteTable, Tags)) {
    w.text("routeTableId", &t.id)
        .text("vpcId", &t.vpc_id)
        .text("ownerId", &owner.account);
    w.items("routeSet", &t.routes, |w, r| {
        w.text(r.destination.0, &r.destination.1)
            .text(r.target.0, &r.target.1)
            .text("state", "active")
            .text("origin", r.origin);
    });
    w.items("associationSet", &t.associations, |w, a| {
        w.text("routeTableAssociationId", &a.id)
            .text("routeTableId", &t.id)
            .text("main", a.main)
            .opt_text("subnetId", a.subnet_id.as_ref())
            .opt_text("gatewayId", a.gateway_id.as_ref());
        association_state(w);
    });
    w.items("propagatingVgwSet", [(); 0], |_, _| {});
    tag_set(w, tags);
}

pub fn association_state(w: &mut XmlWriter) {
    w.element("associationState", |w| {
        w.text("state", "associated");
    });
}

pub fn internet_gateway(w: &mut XmlWriter, owner: &Owner, (g, tags): &(InternetGateway, Tags)) {
    w.text("internetGatewayId", &g.id)
        .text("ownerId", &owner.account);
    w.items("attachmentSet", &g.attached_vpc, |w, vpc| {
        w.text("vpcId", vpc).text("state", "available");
    });
    tag_set(w, tags);
}

pub fn address(w: &mut XmlWriter, owner: &Owner, (a, tags): &(Address, Tags)) {
    w.text("allocationId", &a.allocation_id)
        .text("publicIp", a.public_ip)
        .text("domain", "vpc")
        .text("publicIpv4Pool", "amazon")
        .text("networkBorderGroup", &owner.region);
    if let Some(assoc) = &a.association {
        w.text("associationId", &assoc.id)
            .text("networkInterfaceId", &assoc.network_interface_id)
            .text("networkInterfaceOwnerId", &owner.account)
            .text("privateIpAddress", assoc.private_ip);
    }
    tag_set(w, tags);
}

pub fn nat_gateway(w: &mut XmlWriter, _owner: &Owner, (n, tags): &(NatGateway, Tags)) {
    w.text("natGatewayId", &n.id)
        .text("subnetId", &n.subnet_id)
        .text("vpcId", &n.vpc_id)
        .text("state", &n.state)
        .text("connectivityType", &n.connectivity_type)
        .timestamp("createTime", n.created);
    if let Some(t) = n.deleted {
        w.timestamp("deleteTime", t);
    }
    w.items("natGatewayAddressSet", [n], |w, n| {
        w.opt_text("allocationId", n.allocation_id.as_ref())
            .opt_text("associationId", n.association_id.as_ref())
            .text("networkInterfaceId", &n.network_interface_id)
            .text("privateIp", n.private_ip)
            .opt_text("publicIp", n.public_ip)
            .text("isPrimary", true)
            .text("status", "succeeded");
    });
    tag_set(w, tags);
}

pub fn network_acl(w: &mut XmlWriter, owner: &Owner, (a, tags): &(NetworkAcl, Tags)) {
    w.text("networkAclId", &a.id)
        .text("vpcId", &a.vpc_id)
        .text("default", a.is_default)
        .text("ownerId", &owner.account);
    w.items("entrySet", &a.entries, |w, e| {
        w.text("ruleNumber", e.rule_number)
            .text("protocol", &e.protocol)
            .text("ruleAction", &e.action)
            .text("egress", e.egress)
            .text("cidrBlock", &e.cidr);
        if let Some((from, to)) = e.port_range {
            w.element("portRange", |w| {
                w.text("from", from).text("to", to);
            });
        }
    });
    w.items("associationSet", &a.associations, |w, (id, subnet)| {
        w.text("networkAclAssociationId", id)
            .text("networkAclId", &a.id)
            .text("subnetId", subnet);
    });
    tag_set(w, tags);
}

/// An ENI with its groups' names and any elastic IP on it.
pub struct InterfaceView {
    pub eni: NetworkInterface,
    pub tags: Tags,
    pub groups: Vec<(String, String)>,
    /// (public IP, allocation id, association id).
    pub public: Option<(String, String, String)>,
}

pub fn network_interface(w: &mut XmlWriter, owner: &Owner, v: &InterfaceView) {
    let e = &v.eni;
    let dns = private_dns_name(&owner.region, &e.private_ip.to_string());
    w.text("networkInterfaceId", &e.id)
        .text("subnetId", &e.subnet_id)
        .text("vpcId", &e.vpc_id)
        .text("availabilityZone", &e.availability_zone)
        .text("availabilityZoneId", zone_id(&e.availability_zone))
        .text("description", &e.description)
        .text("ownerId", &owner.account)
        .opt_text("requesterId", e.requester_id.as_ref())
        .text("requesterManaged", e.requester_managed)
        .text("status", &e.status)
        .text("macAddress", &e.mac_address)
        .text("privateIpAddress", e.private_ip)
        .text("privateDnsName", &dns)
        .text("sourceDestCheck", true)
        .text("interfaceType", &e.interface_type);
    w.items("groupSet", &v.groups, |w, (id, name)| {
        w.text("groupId", id).text("groupName", name);
    });
    if let Some(attachment) = &e.attachment_id {
        w.element("attachment", |w| {
            w.text("attachmentId", attachment)
                .text("deviceIndex", 1)
                .text("networkCardIndex", 0)
                .text("status", "attached")
                .text("deleteOnTermination", false);
        });
    }
    let association = |w: &mut XmlWriter| {
        if let Some((ip, allocation, association)) = &v.public {
            w.element("association", |w| {
                w.text("publicIp", ip)
                    .text("allocationId", allocation)
                    .text("associationId", association)
                    .text("ipOwnerId", &owner.account);
            });
        }
    };
    association(w);
    w.items("privateIpAddressesSet", [e], |w, e| {
        w.text("privateIpAddress", e.private_ip)
            .text("privateDnsName", &dns)
            .text("primary", true);
        association(w);
    });
    w.items("ipv6AddressesSet", [(); 0], |_, _| {});
    tag_set(w, &v.tags);
}

/// `ip-10-0-1-5.ec2.internal` in us-east-1, `ip-….REGION.compute.internal` elsewhere.
fn private_dns_name(region: &str, ip: &str) -> String {
    let host = format!("ip-{}", ip.replace('.', "-"));
    if region == "us-east-1" {
        format!("{host}.ec2.internal")
    } else {
        format!("{host}.{region}.compute.internal")
    }
}
