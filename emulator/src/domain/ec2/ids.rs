//! EC2 resource kinds and their ids (`vpc-` + 17 hex digits, ...).

use borsh::{BorshDeserialize, BorshSerialize};

use crate::domain::arn::random_hex;

/// Hex digits after the prefix of an id EC2 makes today.
pub const ID_HEX_DIGITS: usize = 17;
/// Hex digits of the ids EC2 made before 2018 (still valid on the wire).
pub const LEGACY_ID_HEX_DIGITS: usize = 8;

/// The kinds of EC2 resource this emulator models.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, BorshSerialize, BorshDeserialize,
)]
pub enum Kind {
    Vpc,
    VpcCidrAssociation,
    Subnet,
    SecurityGroup,
    SecurityGroupRule,
    RouteTable,
    RouteTableAssociation,
    InternetGateway,
    Address,
    AddressAssociation,
    NatGateway,
    NetworkAcl,
    NetworkAclAssociation,
    NetworkInterface,
    DhcpOptions,
}

impl Kind {
    /// The id prefix, without the dash.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Vpc => "vpc",
            Kind::VpcCidrAssociation => "vpc-cidr-assoc",
            Kind::Subnet => "subnet",
            Kind::SecurityGroup => "sg",
            Kind::SecurityGroupRule => "sgr",
            Kind::RouteTable => "rtb",
            Kind::RouteTableAssociation => "rtbassoc",
            Kind::InternetGateway => "igw",
            Kind::Address => "eipalloc",
            Kind::AddressAssociation => "eipassoc",
            Kind::NatGateway => "nat",
            Kind::NetworkAcl => "acl",
            Kind::NetworkAclAssociation => "aclassoc",
            Kind::NetworkInterface => "eni",
            Kind::DhcpOptions => "dopt",
        }
    }

    /// A fresh id of this kind.
    pub fn new_id(self) -> String {
        format!("{}-{}", self.prefix(), random_hex(ID_HEX_DIGITS))
    }

    /// The kind an id names, by its prefix (for CreateTags and DescribeTags).
    pub fn of_id(id: &str) -> Option<Kind> {
        let (prefix, _) = id.rsplit_once('-')?;
        TAGGABLE.iter().copied().find(|k| k.prefix() == prefix)
    }

    /// The `resource-type` of DescribeTags and of TagSpecifications.
    pub fn resource_type(self) -> &'static str {
        match self {
            Kind::Vpc => "vpc",
            Kind::Subnet => "subnet",
            Kind::SecurityGroup => "security-group",
            Kind::SecurityGroupRule => "security-group-rule",
            Kind::RouteTable => "route-table",
            Kind::InternetGateway => "internet-gateway",
            Kind::Address => "elastic-ip",
            Kind::NatGateway => "natgateway",
            Kind::NetworkAcl => "network-acl",
            Kind::NetworkInterface => "network-interface",
            Kind::DhcpOptions => "dhcp-options",
            Kind::VpcCidrAssociation
            | Kind::RouteTableAssociation
            | Kind::AddressAssociation
            | Kind::NetworkAclAssociation => "",
        }
    }

    /// The code AWS answers for an id of this kind that does not exist.
    pub fn not_found_code(self) -> &'static str {
        match self {
            Kind::Vpc => "InvalidVpcID.NotFound",
            Kind::Subnet => "InvalidSubnetID.NotFound",
            Kind::SecurityGroup => "InvalidGroup.NotFound",
            Kind::SecurityGroupRule => "InvalidSecurityGroupRuleId.NotFound",
            Kind::RouteTable => "InvalidRouteTableID.NotFound",
            Kind::InternetGateway => "InvalidInternetGatewayID.NotFound",
            Kind::Address => "InvalidAllocationID.NotFound",
            Kind::NatGateway => "NatGatewayNotFound",
            Kind::NetworkAcl => "InvalidNetworkAclID.NotFound",
            Kind::NetworkInterface => "InvalidNetworkInterfaceID.NotFound",
            Kind::DhcpOptions => "InvalidDhcpOptionID.NotFound",
            Kind::VpcCidrAssociation
            | Kind::RouteTableAssociation
            | Kind::AddressAssociation
            | Kind::NetworkAclAssociation => "InvalidAssociationID.NotFound",
        }
    }

    /// The code AWS answers for an id of this kind that is not well-formed.
    pub fn malformed_code(self) -> &'static str {
        match self {
            Kind::Vpc => "InvalidVpcID.Malformed",
            Kind::Subnet => "InvalidSubnetID.Malformed",
            Kind::SecurityGroup => "InvalidGroupId.Malformed",
            Kind::SecurityGroupRule => "InvalidSecurityGroupRuleId.Malformed",
            Kind::RouteTable => "InvalidRouteTableId.Malformed",
            Kind::InternetGateway => "InvalidInternetGatewayId.Malformed",
            Kind::Address => "InvalidAllocationID.Malformed",
            Kind::NatGateway => "NatGatewayMalformed",
            Kind::NetworkAcl => "InvalidNetworkAclId.Malformed",
            Kind::NetworkInterface => "InvalidNetworkInterfaceId.Malformed",
            Kind::DhcpOptions => "InvalidDhcpOptionsId.Malformed",
            Kind::VpcCidrAssociation
            | Kind::RouteTableAssociation
            | Kind::AddressAssociation
            | Kind::NetworkAclAssociation => "InvalidAssociationID.Malformed",
        }
    }

    /// How AWS's NotFound message names an id of this kind.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Vpc => "vpc ID",
            Kind::Subnet => "subnet ID",
            Kind::SecurityGroup => "security group",
            Kind::SecurityGroupRule => "security group rule ID",
            Kind::RouteTable => "routeTable ID",
            Kind::InternetGateway => "internetGateway ID",
            Kind::Address => "allocation ID",
            Kind::NatGateway => "Nat Gateway",
            Kind::NetworkAcl => "networkAcl ID",
            Kind::NetworkInterface => "networkInterface ID",
            Kind::DhcpOptions => "dhcpOption ID",
            Kind::VpcCidrAssociation
            | Kind::RouteTableAssociation
            | Kind::AddressAssociation
            | Kind::NetworkAclAssociation => "association ID",
        }
    }

    /// Whether `id` has this kind's prefix and a hex suffix: anything else
    /// is refused with [`Kind::malformed_code`] before any lookup.
    pub fn is_well_formed(self, id: &str) -> bool {
        id.strip_prefix(self.prefix())
            .and_then(|rest| rest.strip_prefix('-'))
            .is_some_and(|hex| !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()))
    }

    /// Whether `id` has the form EC2 makes today (17 hex digits). Ids of
    /// any other form (`subnet-a`, `sg-1`, and the 8-digit `subnet-12345678`
    /// of AWS's documentation examples) are placeholders: the task launcher
    /// maps them onto the default VPC, so scripts written before the
    /// emulator had EC2 keep working.
    pub fn is_real_form(self, id: &str) -> bool {
        self.is_well_formed(id) && id.len() - self.prefix().len() - 1 == ID_HEX_DIGITS
    }
}

/// The kinds CreateTags accepts, found by id prefix.
const TAGGABLE: [Kind; 10] = [
    Kind::Vpc,
    Kind::Subnet,
    Kind::SecurityGroup,
    Kind::SecurityGroupRule,
    Kind::RouteTable,
    Kind::InternetGateway,
    Kind::Address,
    Kind::NatGateway,
    Kind::NetworkAcl,
    Kind::NetworkInterface,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_aws_shape() {
        let id = Kind::Vpc.new_id();
        assert!(
            id.starts_with("vpc-") && id.len() == 4 + ID_HEX_DIGITS,
            "{id}"
        );
        assert!(Kind::Vpc.is_real_form(&id));
        assert!(!Kind::Subnet.is_real_form("subnet-0123abcd"));
        assert!(!Kind::Subnet.is_real_form("subnet-a"));
        assert!(Kind::Subnet.is_well_formed("subnet-a"));
        assert!(!Kind::Subnet.is_well_formed("subnet-x"));
        assert!(!Kind::Subnet.is_well_formed("vpc-1"));
        assert!(!Kind::Subnet.is_well_formed("subnet-"));
        assert_eq!(Kind::of_id("rtb-1"), Some(Kind::RouteTable));
        assert_eq!(Kind::of_id("eipalloc-1"), Some(Kind::Address));
        assert_eq!(Kind::of_id("nope"), None);
    }
}
