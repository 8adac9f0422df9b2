//! An awsvpc network configuration checked against EC2, as ECS does before
//! it places a task: every subnet and security group must exist (ids of the
//! placeholder form land in the default VPC, see `domain::ec2`), and all
//! subnets must be in one VPC.

use borsh::{BorshDeserialize, BorshSerialize};

use super::validate::EcsError;
use crate::domain::ec2::{Ec2Error, RegionState};

/// A subnet a task can be placed in.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Placement {
    pub subnet_id: String,
    pub availability_zone: String,
    pub security_groups: Vec<String>,
}

/// The subnets of a network configuration, resolved, in the order given.
pub fn resolve(
    ec2: &RegionState,
    subnets: &[String],
    security_groups: &[String],
) -> Result<Vec<Placement>, EcsError> {
    if subnets.is_empty() {
        return Err(EcsError::InvalidParameter(
            "subnets can not be empty.".into(),
        ));
    }
    let mut resolved = Vec::with_capacity(subnets.len());
    for id in subnets {
        let subnet = ec2
            .resolve_subnet(id)
            .map_err(|e| ec2_error("subnet", subnets, &e))?;
        resolved.push((
            subnet.id.clone(),
            subnet.vpc_id.clone(),
            subnet.availability_zone.clone(),
        ));
    }
    let vpc_id = resolved[0].1.clone();
    if resolved.iter().any(|(_, vpc, _)| *vpc != vpc_id) {
        return Err(EcsError::InvalidParameter(
            "Subnets must all belong to the same VPC.".into(),
        ));
    }
    let groups = ec2
        .resolve_security_groups(&vpc_id, security_groups)
        .map_err(|e| ec2_error("security group", security_groups, &e))?;
    Ok(resolved
        .into_iter()
        .map(|(subnet_id, _, availability_zone)| Placement {
            subnet_id,
            availability_zone,
            security_groups: groups.clone(),
        })
        .collect())
}

/// ECS relays EC2's refusal inside its own InvalidParameterException.
fn ec2_error(what: &str, ids: &[String], e: &Ec2Error) -> EcsError {
    EcsError::InvalidParameter(format!(
        "Error retrieving {what} information for [{}]: {e} (Service: AmazonEC2; Status Code: 400; Error Code: {})",
        ids.join(", "),
        e.code()
    ))
}
