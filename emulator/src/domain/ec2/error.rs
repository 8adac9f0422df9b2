//! The EC2 domain error. The API layer maps it to the ec2Query
//! `<Response><Errors>` in one place (`api::ec2`); [`Ec2Error::code`] is the
//! wire `Code`.

use super::ids::Kind;

/// Why an EC2 request was refused. The strings are client-facing messages.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Ec2Error {
    /// An id of a well-formed shape that names nothing in this region.
    #[error("{}", not_found_message(*kind, id))]
    NotFound { kind: Kind, id: String },
    /// An id that is not `PREFIX-HEX`.
    #[error("Invalid id: \"{id}\" (expecting \"{}-...\")", kind.prefix())]
    Malformed { kind: Kind, id: String },
    /// A security group name that does not exist in the default VPC (names
    /// are looked up there only, as AWS does).
    #[error("The security group '{name}' does not exist in default VPC '{vpc_id}'")]
    GroupNameNotFound { name: String, vpc_id: String },
    #[error("{0}")]
    InvalidParameterValue(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    InvalidParameterCombination(String),
    #[error("The request must contain the parameter {0}")]
    MissingParameter(String),
    #[error("{0}")]
    DependencyViolation(String),
    #[error("{0}")]
    VpcRange(String),
    #[error("{0}")]
    SubnetRange(String),
    #[error("{0}")]
    SubnetConflict(String),
    #[error("{0}")]
    GroupDuplicate(String),
    #[error("{0}")]
    PermissionDuplicate(String),
    #[error("{0}")]
    PermissionNotFound(String),
    #[error("{0}")]
    CannotDelete(String),
    #[error("{0}")]
    AlreadyAssociated(String),
    #[error("{0}")]
    GatewayNotAttached(String),
    #[error("{0}")]
    RouteAlreadyExists(String),
    #[error("{0}")]
    RouteNotFound(String),
    #[error("{0}")]
    AddressInUse(String),
    #[error("{0}")]
    InsufficientFreeAddresses(String),
    #[error("{0}")]
    InvalidNextToken(String),
    #[error("The network acl entry identified by {0} already exists.")]
    AclEntryExists(i32),
    #[error("The specified rule does not exist in this network acl: {0}")]
    AclEntryNotFound(i32),
    #[error("Request would have succeeded, but DryRun flag is set.")]
    DryRunOperation,
}

impl Ec2Error {
    /// The wire `Code`.
    pub fn code(&self) -> &'static str {
        match self {
            Ec2Error::NotFound { kind, .. } => kind.not_found_code(),
            Ec2Error::Malformed { kind, .. } => kind.malformed_code(),
            Ec2Error::GroupNameNotFound { .. } => "InvalidGroup.NotFound",
            Ec2Error::InvalidParameterValue(_) => "InvalidParameterValue",
            Ec2Error::InvalidParameter(_) => "InvalidParameter",
            Ec2Error::InvalidParameterCombination(_) => "InvalidParameterCombination",
            Ec2Error::MissingParameter(_) => "MissingParameter",
            Ec2Error::DependencyViolation(_) => "DependencyViolation",
            Ec2Error::VpcRange(_) => "InvalidVpc.Range",
            Ec2Error::SubnetRange(_) => "InvalidSubnet.Range",
            Ec2Error::SubnetConflict(_) => "InvalidSubnet.Conflict",
            Ec2Error::GroupDuplicate(_) => "InvalidGroup.Duplicate",
            Ec2Error::PermissionDuplicate(_) => "InvalidPermission.Duplicate",
            Ec2Error::PermissionNotFound(_) => "InvalidPermission.NotFound",
            Ec2Error::CannotDelete(_) => "CannotDelete",
            Ec2Error::AlreadyAssociated(_) => "Resource.AlreadyAssociated",
            Ec2Error::GatewayNotAttached(_) => "Gateway.NotAttached",
            Ec2Error::RouteAlreadyExists(_) => "RouteAlreadyExists",
            Ec2Error::RouteNotFound(_) => "InvalidRoute.NotFound",
            Ec2Error::AddressInUse(_) => "InvalidIPAddress.InUse",
            Ec2Error::InsufficientFreeAddresses(_) => "InsufficientFreeAddressesInSubnet",
            Ec2Error::InvalidNextToken(_) => "InvalidNextToken",
            Ec2Error::AclEntryExists(_) => "NetworkAclEntryAlreadyExists",
            Ec2Error::AclEntryNotFound(_) => "InvalidNetworkAclEntry.NotFound",
            Ec2Error::DryRunOperation => "DryRunOperation",
        }
    }

    /// The HTTP status: 412 for a dry run, 400 for everything else.
    pub fn status(&self) -> u16 {
        match self {
            Ec2Error::DryRunOperation => 412,
            _ => 400,
        }
    }

    pub fn not_found(kind: Kind, id: impl Into<String>) -> Self {
        Ec2Error::NotFound {
            kind,
            id: id.into(),
        }
    }

    /// `DependencyViolation` in AWS's wording for a resource still in use.
    pub fn has_dependencies(noun: &str, id: &str) -> Self {
        Ec2Error::DependencyViolation(format!(
            "The {noun} '{id}' has dependencies and cannot be deleted."
        ))
    }
}

fn not_found_message(kind: Kind, id: &str) -> String {
    match kind {
        Kind::NatGateway => format!("The Nat Gateway {id} was not found"),
        _ => format!("The {} '{id}' does not exist", kind.noun()),
    }
}

/// Checks that `id` is `PREFIX-HEX` for `kind`.
pub fn check_form(kind: Kind, id: &str) -> Result<(), Ec2Error> {
    if kind.is_well_formed(id) {
        Ok(())
    } else {
        Err(Ec2Error::Malformed {
            kind,
            id: id.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_follow_aws() {
        let e = Ec2Error::not_found(Kind::Vpc, "vpc-1");
        assert_eq!(e.code(), "InvalidVpcID.NotFound");
        assert_eq!(e.to_string(), "The vpc ID 'vpc-1' does not exist");
        assert_eq!(
            Ec2Error::not_found(Kind::NatGateway, "nat-1").to_string(),
            "The Nat Gateway nat-1 was not found"
        );
        let e = check_form(Kind::Subnet, "sub-1").unwrap_err();
        assert_eq!(e.code(), "InvalidSubnetID.Malformed");
        assert_eq!(Ec2Error::DryRunOperation.status(), 412);
    }
}
