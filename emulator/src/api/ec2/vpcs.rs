//! VPCs, subnets and network ACLs.

use crate::domain::ec2::{Ec2Error, Kind};
use crate::protocol::query::Params;

use super::{
    describe, encode, required, returns_true, tag_specifications, tagged, Cx, Output, Result,
};

/// The VPC attributes ModifyVpcAttribute and DescribeVpcAttribute know.
const VPC_ATTRIBUTES: [&str; 3] = [
    "EnableDnsSupport",
    "EnableDnsHostnames",
    "EnableNetworkAddressUsageMetrics",
];

pub fn create_vpc(cx: &Cx, p: &Params) -> Result<Output> {
    let cidr = required(p, "CidrBlock")?;
    let tenancy = p.get("InstanceTenancy").unwrap_or("default");
    if p.boolean("AmazonProvidedIpv6CidrBlock")? == Some(true) || p.get("Ipv6CidrBlock").is_some() {
        return Err(Ec2Error::InvalidParameterValue(
            "IPv6 CIDR blocks are not supported by this emulator.".into(),
        )
        .into());
    }
    for ignored in ["Ipv4IpamPoolId", "Ipv4NetmaskLength"] {
        if p.get(ignored).is_some() {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "{ignored} (IPAM) is not supported by this emulator; give CidrBlock."
            ))
            .into());
        }
    }
    let tags = tag_specifications(p, "vpc")?;
    let view = cx.write(|r| {
        let id = r.create_vpc(cidr, tenancy)?;
        r.tag(&id, &tags);
        Ok(tagged(r, &r.vpcs[&id]))
    })?;
    let owner = cx.owner();
    Ok(Box::new(move |w| {
        w.element("vpc", |w| encode::vpc(w, &owner, &view));
    }))
}

pub fn describe_vpcs(cx: &Cx, p: &Params) -> Result<Output> {
    describe(
        cx,
        p,
        "VpcId",
        |r| r.vpcs.values().collect(),
        tagged,
        "vpcSet",
        encode::vpc,
    )
}

pub fn delete_vpc(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "VpcId")?;
    cx.write(|r| r.delete_vpc(id))?;
    Ok(returns_true())
}

/// The one attribute of a Modify/DescribeVpcAttribute call: AWS takes
/// exactly one per call.
fn one_attribute<'a>(names: impl Iterator<Item = &'a str>) -> Result<&'a str> {
    let given: Vec<&str> = names.collect();
    match given.as_slice() {
        [one] => Ok(one),
        [] => Err(Ec2Error::MissingParameter("Attribute".into()).into()),
        _ => Err(Ec2Error::InvalidParameterCombination(
            "Fields for multiple attribute types specified: only one attribute may be modified per call".into(),
        )
        .into()),
    }
}

pub fn modify_vpc_attribute(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "VpcId")?;
    let attribute = one_attribute(VPC_ATTRIBUTES.into_iter().filter(|a| p.has(a)))?;
    let value = p
        .boolean(&format!("{attribute}.Value"))?
        .ok_or_else(|| Ec2Error::MissingParameter(format!("{attribute}.Value")))?;
    cx.write(|r| {
        let vpc = crate::domain::ec2::lookup_mut(&mut r.vpcs, Kind::Vpc, id)?;
        match attribute {
            "EnableDnsSupport" => vpc.enable_dns_support = value,
            "EnableDnsHostnames" => vpc.enable_dns_hostnames = value,
            _ => vpc.enable_network_address_usage_metrics = value,
        }
        Ok(())
    })?;
    Ok(returns_true())
}

pub fn describe_vpc_attribute(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "VpcId")?.to_string();
    let attribute = required(p, "Attribute")?;
    let member = match attribute {
        "enableDnsSupport" | "enableDnsHostnames" | "enableNetworkAddressUsageMetrics" => {
            attribute.to_string()
        }
        other => {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ({other}) for parameter attribute is invalid. Unknown attribute."
            ))
            .into())
        }
    };
    let value = cx.read(|r| {
        let vpc = crate::domain::ec2::lookup(&r.vpcs, Kind::Vpc, &id)?;
        Ok(match member.as_str() {
            "enableDnsSupport" => vpc.enable_dns_support,
            "enableDnsHostnames" => vpc.enable_dns_hostnames,
            _ => vpc.enable_network_address_usage_metrics,
        })
    })?;
    Ok(Box::new(move |w| {
        w.text("vpcId", &id).element(&member, |w| {
            w.text("value", value);
        });
    }))
}

pub fn create_subnet(cx: &Cx, p: &Params) -> Result<Output> {
    let vpc = required(p, "VpcId")?;
    let cidr = required(p, "CidrBlock")?;
    let zone = match (p.get("AvailabilityZone"), p.get("AvailabilityZoneId")) {
        (Some(z), _) => Some(z.to_string()),
        (None, Some(id)) => Some(
            cx.read(|r| Ok(r.zones()))?
                .into_iter()
                .find(|z| crate::domain::ec2::vpcs::zone_id(z) == id)
                .ok_or_else(|| {
                    Ec2Error::InvalidParameterValue(format!(
                        "Value ({id}) for parameter availabilityZoneId is invalid."
                    ))
                })?,
        ),
        (None, None) => None,
    };
    if p.get("Ipv6CidrBlock").is_some() || p.boolean("Ipv6Native")? == Some(true) {
        return Err(Ec2Error::InvalidParameterValue(
            "IPv6 subnets are not supported by this emulator.".into(),
        )
        .into());
    }
    let tags = tag_specifications(p, "subnet")?;
    let view = cx.write(|r| {
        let id = r.create_subnet(vpc, cidr, zone.as_deref())?;
        r.tag(&id, &tags);
        Ok(tagged(r, &r.subnets[&id]))
    })?;
    let owner = cx.owner();
    Ok(Box::new(move |w| {
        w.element("subnet", |w| encode::subnet(w, &owner, &view));
    }))
}

pub fn describe_subnets(cx: &Cx, p: &Params) -> Result<Output> {
    describe(
        cx,
        p,
        "SubnetId",
        |r| r.subnets.values().collect(),
        tagged,
        "subnetSet",
        encode::subnet,
    )
}

pub fn delete_subnet(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "SubnetId")?;
    cx.write(|r| r.delete_subnet(id))?;
    Ok(Box::new(|_| {}))
}

pub fn modify_subnet_attribute(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "SubnetId")?;
    let map_public = p.boolean("MapPublicIpOnLaunch.Value")?;
    let assign_ipv6 = p.boolean("AssignIpv6AddressOnCreation.Value")?;
    if assign_ipv6 == Some(true) {
        return Err(Ec2Error::InvalidParameterValue(
            "IPv6 is not supported by this emulator.".into(),
        )
        .into());
    }
    let unsupported = [
        "MapCustomerOwnedIpOnLaunch",
        "CustomerOwnedIpv4Pool",
        "EnableDns64",
        "PrivateDnsHostnameTypeOnLaunch",
        "EnableResourceNameDnsARecordOnLaunch",
        "EnableResourceNameDnsAAAARecordOnLaunch",
        "EnableLniAtDeviceIndex",
        "DisableLniAtDeviceIndex",
    ];
    for name in unsupported.iter().filter(|n| p.has(n)) {
        crate::api::ignored_once(&format!("EC2 ModifySubnetAttribute {name}"));
    }
    cx.write(|r| {
        let subnet = crate::domain::ec2::lookup_mut(&mut r.subnets, Kind::Subnet, id)?;
        if let Some(v) = map_public {
            subnet.map_public_ip_on_launch = v;
        }
        if let Some(v) = assign_ipv6 {
            subnet.assign_ipv6_address_on_creation = v;
        }
        Ok(())
    })?;
    Ok(Box::new(|_| {}))
}
