//! EC2 networking model: VPCs, subnets, security groups, route tables,
//! gateways, elastic IPs, network ACLs and network interfaces.
//!
//! EC2 is regional: each region's resources live in their own
//! [`RegionState`], created with its default VPC on first use. The task
//! launcher and the load balancers use the pure functions of
//! [`interfaces`] (subnet resolution, IP allocation, ENIs).

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

pub mod cidr;
pub mod error;
pub mod filter;
pub mod ids;
pub mod interfaces;
pub mod routing;
pub mod security_groups;
pub mod vpcs;

pub use error::Ec2Error;
pub use filter::{Filter, Filterable};
pub use ids::Kind;

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

use ipnet::Ipv4Net;
use time::OffsetDateTime;

/// Tags of one resource, by key.
pub type Tags = BTreeMap<String, String>;

/// The default VPC's CIDR when the emulator sets none, as in AWS accounts.
pub const AWS_DEFAULT_VPC_CIDR: &str = "172.31.0.0/16";
/// AZ letters of every region (AWS regions have at least three).
pub const AZ_LETTERS: [char; 3] = ['a', 'b', 'c'];

/// EC2 state of every region.
#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct Ec2State {
    /// The default VPC's CIDR; the emulator sets it from its Docker network
    /// at start-up. `None`: [`AWS_DEFAULT_VPC_CIDR`].
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub default_vpc_cidr: Option<Ipv4Net>,
    regions: BTreeMap<String, RegionState>,
}

impl Ec2State {
    /// Whether `region` has been used (and so has its default VPC).
    pub fn has_region(&self, region: &str) -> bool {
        self.regions.contains_key(region)
    }

    /// The resources of `region`, creating it and its default VPC on first use.
    pub fn region(&mut self, region: &str, account: &str) -> &mut RegionState {
        let cidr = self
            .default_vpc_cidr
            .unwrap_or_else(|| AWS_DEFAULT_VPC_CIDR.parse().expect("valid constant"));
        self.regions
            .entry(region.to_string())
            .or_insert_with(|| RegionState::with_default_vpc(region, account, cidr))
    }

    /// Every VPC that is not a default one, in every region: each has its
    /// own Docker network.
    pub fn vpc_ids(&self) -> impl Iterator<Item = String> + '_ {
        self.regions
            .values()
            .flat_map(|r| r.vpcs.values())
            .filter(|v| !v.is_default)
            .map(|v| v.id.clone())
    }

    /// The resources of a region already used, for reads.
    pub fn region_ref(&self, region: &str) -> Option<&RegionState> {
        self.regions.get(region)
    }
}

/// The EC2 resources of one region, each map by id.
#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct RegionState {
    pub region: String,
    pub account: String,
    pub vpcs: BTreeMap<String, Vpc>,
    pub subnets: BTreeMap<String, Subnet>,
    pub security_groups: BTreeMap<String, SecurityGroup>,
    pub route_tables: BTreeMap<String, RouteTable>,
    pub internet_gateways: BTreeMap<String, InternetGateway>,
    pub addresses: BTreeMap<String, Address>,
    pub nat_gateways: BTreeMap<String, NatGateway>,
    pub network_acls: BTreeMap<String, NetworkAcl>,
    pub network_interfaces: BTreeMap<String, NetworkInterface>,
    /// Tags by resource id.
    pub tags: BTreeMap<String, Tags>,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct Vpc {
    pub id: String,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub cidr: Ipv4Net,
    pub cidr_association_id: String,
    pub is_default: bool,
    pub instance_tenancy: String,
    pub dhcp_options_id: String,
    pub enable_dns_support: bool,
    pub enable_dns_hostnames: bool,
    pub enable_network_address_usage_metrics: bool,
    pub default_security_group_id: String,
    pub main_route_table_id: String,
    pub default_network_acl_id: String,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct Subnet {
    pub id: String,
    pub vpc_id: String,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub cidr: Ipv4Net,
    pub availability_zone: String,
    pub default_for_az: bool,
    pub map_public_ip_on_launch: bool,
    pub assign_ipv6_address_on_creation: bool,
    /// Private addresses given to network interfaces.
    pub allocated: BTreeSet<Ipv4Addr>,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct SecurityGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub vpc_id: String,
    pub rules: Vec<SecurityGroupRule>,
}

/// One rule: one protocol and port range, one peer.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct SecurityGroupRule {
    pub id: String,
    pub egress: bool,
    /// `tcp`, `udp`, `icmp`, `icmpv6`, `-1` (all) or a protocol number.
    pub protocol: String,
    /// -1 when the protocol has no ports.
    pub from_port: i32,
    pub to_port: i32,
    pub peer: Peer,
    pub description: Option<String>,
}

/// Where a rule's traffic comes from or goes to.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Peer {
    Ipv4(String),
    Ipv6(String),
    Group { group_id: String, user_id: String },
    PrefixList(String),
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct RouteTable {
    pub id: String,
    pub vpc_id: String,
    pub routes: Vec<Route>,
    pub associations: Vec<RouteTableAssociation>,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Route {
    /// `destinationCidrBlock`, `destinationIpv6CidrBlock` or
    /// `destinationPrefixListId`, with its value.
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub destination: (&'static str, String),
    /// The target's XML member (`gatewayId`, `natGatewayId`, ...) and id.
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub target: (&'static str, String),
    /// `CreateRouteTable` for the local route, `CreateRoute` otherwise.
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub origin: &'static str,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct RouteTableAssociation {
    pub id: String,
    pub subnet_id: Option<String>,
    pub gateway_id: Option<String>,
    pub main: bool,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct InternetGateway {
    pub id: String,
    pub attached_vpc: Option<String>,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct Address {
    pub allocation_id: String,
    pub public_ip: Ipv4Addr,
    pub association: Option<AddressAssociation>,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct AddressAssociation {
    pub id: String,
    pub network_interface_id: String,
    pub private_ip: Ipv4Addr,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct NatGateway {
    pub id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    /// `public` or `private`.
    pub connectivity_type: String,
    /// `available` at once; `deleted` after DeleteNatGateway.
    pub state: String,
    pub allocation_id: Option<String>,
    pub association_id: Option<String>,
    pub public_ip: Option<Ipv4Addr>,
    pub network_interface_id: String,
    pub private_ip: Ipv4Addr,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created: OffsetDateTime,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub deleted: Option<OffsetDateTime>,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct NetworkAcl {
    pub id: String,
    pub vpc_id: String,
    pub is_default: bool,
    pub entries: Vec<AclEntry>,
    /// Association id and subnet id.
    pub associations: Vec<(String, String)>,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct AclEntry {
    pub rule_number: i32,
    pub egress: bool,
    pub protocol: String,
    /// `allow` or `deny`.
    pub action: String,
    pub cidr: String,
    /// For tcp and udp entries.
    pub port_range: Option<(i32, i32)>,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct NetworkInterface {
    pub id: String,
    pub subnet_id: String,
    pub vpc_id: String,
    pub availability_zone: String,
    pub private_ip: Ipv4Addr,
    pub mac_address: String,
    pub security_groups: Vec<String>,
    pub description: String,
    /// `interface`, `nat_gateway`, ...
    pub interface_type: String,
    pub requester_id: Option<String>,
    pub requester_managed: bool,
    /// `in-use` or `available`.
    pub status: String,
    pub attachment_id: Option<String>,
}

impl RegionState {
    /// A region as an AWS account has it: a default VPC in `cidr` with a
    /// default subnet per AZ and an attached internet gateway.
    fn with_default_vpc(region: &str, account: &str, cidr: Ipv4Net) -> Self {
        let mut r = RegionState {
            region: region.to_string(),
            account: account.to_string(),
            ..Default::default()
        };
        let vpc_id = r.insert_vpc(cidr, true, "default");
        for (net, az) in cidr::default_subnets(cidr).into_iter().zip(r.zones()) {
            r.insert_subnet(&vpc_id, net, az, true);
        }
        let igw = Kind::InternetGateway.new_id();
        r.internet_gateways.insert(
            igw.clone(),
            InternetGateway {
                id: igw.clone(),
                attached_vpc: Some(vpc_id.clone()),
            },
        );
        let main = r.vpcs[&vpc_id].main_route_table_id.clone();
        if let Some(table) = r.route_tables.get_mut(&main) {
            table.routes.push(Route {
                destination: ("destinationCidrBlock", "0.0.0.0/0".into()),
                target: ("gatewayId", igw),
                origin: "CreateRoute",
            });
        }
        r
    }

    /// The availability zones of this region.
    pub fn zones(&self) -> Vec<String> {
        AZ_LETTERS
            .iter()
            .map(|l| format!("{}{l}", self.region))
            .collect()
    }

    /// The region's default VPC (there is always one).
    pub fn default_vpc(&self) -> Option<&Vpc> {
        self.vpcs.values().find(|v| v.is_default)
    }

    /// The tags of `id` (empty when it has none).
    pub fn tags_of(&self, id: &str) -> Vec<(&str, &str)> {
        self.tags
            .get(id)
            .map(|t| t.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect())
            .unwrap_or_default()
    }

    /// Adds or replaces tags on `id`.
    pub fn tag(&mut self, id: &str, tags: &[(String, String)]) {
        if tags.is_empty() {
            return;
        }
        let entry = self.tags.entry(id.to_string()).or_default();
        for (k, v) in tags {
            entry.insert(k.clone(), v.clone());
        }
    }

    /// Forgets everything about a deleted resource's tags.
    pub fn untag_all(&mut self, id: &str) {
        self.tags.remove(id);
    }

    /// Whether a resource with this id exists (for CreateTags).
    pub fn exists(&self, id: &str) -> Result<(), Ec2Error> {
        let Some(kind) = Kind::of_id(id) else {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Invalid id: \"{id}\""
            )));
        };
        let found = match kind {
            Kind::Vpc => self.vpcs.contains_key(id),
            Kind::Subnet => self.subnets.contains_key(id),
            Kind::SecurityGroup => self.security_groups.contains_key(id),
            Kind::SecurityGroupRule => self
                .security_groups
                .values()
                .any(|g| g.rules.iter().any(|r| r.id == id)),
            Kind::RouteTable => self.route_tables.contains_key(id),
            Kind::InternetGateway => self.internet_gateways.contains_key(id),
            Kind::Address => self.addresses.contains_key(id),
            Kind::NatGateway => self.nat_gateways.contains_key(id),
            Kind::NetworkAcl => self.network_acls.contains_key(id),
            Kind::NetworkInterface => self.network_interfaces.contains_key(id),
            _ => false,
        };
        if found {
            Ok(())
        } else {
            Err(Ec2Error::not_found(kind, id))
        }
    }
}

/// Looks `id` up in `map`, refusing a malformed or unknown id as AWS does.
pub fn lookup<'a, T>(
    map: &'a BTreeMap<String, T>,
    kind: Kind,
    id: &str,
) -> Result<&'a T, Ec2Error> {
    error::check_form(kind, id)?;
    map.get(id).ok_or_else(|| Ec2Error::not_found(kind, id))
}

/// Like [`lookup`], for changing the resource.
pub fn lookup_mut<'a, T>(
    map: &'a mut BTreeMap<String, T>,
    kind: Kind,
    id: &str,
) -> Result<&'a mut T, Ec2Error> {
    error::check_form(kind, id)?;
    map.get_mut(id).ok_or_else(|| Ec2Error::not_found(kind, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_region_starts_with_a_default_vpc() {
        let mut state = Ec2State::default();
        let r = state.region("eu-west-1", "000000000000");
        let vpc = r.default_vpc().unwrap().clone();
        assert_eq!(vpc.cidr.to_string(), AWS_DEFAULT_VPC_CIDR);
        let subnets: Vec<_> = r.subnets.values().filter(|s| s.vpc_id == vpc.id).collect();
        assert_eq!(subnets.len(), 3);
        assert!(subnets
            .iter()
            .all(|s| s.default_for_az && s.map_public_ip_on_launch));
        let mut zones: Vec<_> = subnets
            .iter()
            .map(|s| s.availability_zone.as_str())
            .collect();
        zones.sort();
        assert_eq!(zones, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]);
        assert_eq!(
            r.security_groups[&vpc.default_security_group_id].name,
            "default"
        );
        assert!(r.network_acls[&vpc.default_network_acl_id].is_default);
        assert!(r
            .internet_gateways
            .values()
            .any(|g| g.attached_vpc.as_deref() == Some(vpc.id.as_str())));
        assert!(!state.has_region("us-east-1"));

        let mut docker = Ec2State {
            default_vpc_cidr: Some("172.18.0.0/16".parse().unwrap()),
            ..Default::default()
        };
        let r = docker.region("us-east-1", "000000000000");
        assert_eq!(r.default_vpc().unwrap().cidr.to_string(), "172.18.0.0/16");
    }
}
