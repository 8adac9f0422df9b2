//! Route tables, internet gateways, elastic IPs and NAT gateways.

use crate::domain::ec2::{lookup, Ec2Error, Kind};
use crate::protocol::query::Params;

use super::{
    describe, encode, required, returns_true, tag_specifications, tagged, Cx, Output, Result,
};

/// The destinations a route may have: request member, XML member.
const DESTINATIONS: [(&str, &str); 3] = [
    ("DestinationCidrBlock", "destinationCidrBlock"),
    ("DestinationIpv6CidrBlock", "destinationIpv6CidrBlock"),
    ("DestinationPrefixListId", "destinationPrefixListId"),
];
/// The targets a route may have: request member, XML member.
const TARGETS: [(&str, &str); 9] = [
    ("GatewayId", "gatewayId"),
    ("NatGatewayId", "natGatewayId"),
    ("NetworkInterfaceId", "networkInterfaceId"),
    ("InstanceId", "instanceId"),
    ("VpcPeeringConnectionId", "vpcPeeringConnectionId"),
    ("TransitGatewayId", "transitGatewayId"),
    ("EgressOnlyInternetGatewayId", "egressOnlyInternetGatewayId"),
    ("LocalGatewayId", "localGatewayId"),
    ("CarrierGatewayId", "carrierGatewayId"),
];

fn exactly_one(
    p: &Params,
    members: &[(&str, &'static str)],
    what: &str,
) -> Result<(&'static str, String)> {
    let given: Vec<_> = members
        .iter()
        .filter_map(|(param, xml)| p.get(param).map(|v| (*xml, v.to_string())))
        .collect();
    match given.len() {
        1 => Ok(given.into_iter().next().expect("one")),
        0 => Err(Ec2Error::MissingParameter(what.into()).into()),
        _ => Err(
            Ec2Error::InvalidParameterCombination(format!("Only one {what} may be given")).into(),
        ),
    }
}

pub fn create_route_table(cx: &Cx, p: &Params) -> Result<Output> {
    let vpc = required(p, "VpcId")?;
    let tags = tag_specifications(p, "route-table")?;
    let view = cx.write(|r| {
        let id = r.create_route_table(vpc)?;
        r.tag(&id, &tags);
        Ok(tagged(r, &r.route_tables[&id]))
    })?;
    let owner = cx.owner();
    Ok(Box::new(move |w| {
        w.element("routeTable", |w| encode::route_table(w, &owner, &view));
    }))
}

pub fn describe_route_tables(cx: &Cx, p: &Params) -> Result<Output> {
    describe(
        cx,
        p,
        "RouteTableId",
        |r| r.route_tables.values().collect(),
        tagged,
        "routeTableSet",
        encode::route_table,
    )
}

pub fn delete_route_table(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "RouteTableId")?;
    cx.write(|r| r.delete_route_table(id))?;
    Ok(returns_true())
}

fn put_route(cx: &Cx, p: &Params, replace: bool) -> Result<Output> {
    let table = required(p, "RouteTableId")?;
    let destination = exactly_one(p, &DESTINATIONS, "DestinationCidrBlock")?;
    let target = exactly_one(p, &TARGETS, "GatewayId")?;
    cx.write(|r| r.put_route(table, destination, target, replace))?;
    Ok(returns_true())
}

pub fn create_route(cx: &Cx, p: &Params) -> Result<Output> {
    put_route(cx, p, false)
}

pub fn replace_route(cx: &Cx, p: &Params) -> Result<Output> {
    put_route(cx, p, true)
}

pub fn delete_route(cx: &Cx, p: &Params) -> Result<Output> {
    let table = required(p, "RouteTableId")?;
    let (_, destination) = exactly_one(p, &DESTINATIONS, "DestinationCidrBlock")?;
    cx.write(|r| r.delete_route(table, &destination))?;
    Ok(returns_true())
}

pub fn associate_route_table(cx: &Cx, p: &Params) -> Result<Output> {
    let table = required(p, "RouteTableId")?;
    let id = cx.write(|r| r.associate_route_table(table, p.get("SubnetId"), p.get("GatewayId")))?;
    Ok(Box::new(move |w| {
        w.text("associationId", &id);
        encode::association_state(w);
    }))
}

pub fn disassociate_route_table(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "AssociationId")?;
    cx.write(|r| r.disassociate_route_table(id))?;
    Ok(Box::new(|_| {}))
}

pub fn replace_route_table_association(cx: &Cx, p: &Params) -> Result<Output> {
    let association = required(p, "AssociationId")?;
    let table = required(p, "RouteTableId")?;
    let id = cx.write(|r| r.replace_route_table_association(association, table))?;
    Ok(Box::new(move |w| {
        w.text("newAssociationId", &id);
        encode::association_state(w);
    }))
}

pub fn create_internet_gateway(cx: &Cx, p: &Params) -> Result<Output> {
    let tags = tag_specifications(p, "internet-gateway")?;
    let view = cx.write(|r| {
        let id = r.create_internet_gateway();
        r.tag(&id, &tags);
        Ok(tagged(r, &r.internet_gateways[&id]))
    })?;
    let owner = cx.owner();
    Ok(Box::new(move |w| {
        w.element("internetGateway", |w| {
            encode::internet_gateway(w, &owner, &view)
        });
    }))
}

pub fn attach_internet_gateway(cx: &Cx, p: &Params) -> Result<Output> {
    let igw = required(p, "InternetGatewayId")?;
    let vpc = required(p, "VpcId")?;
    cx.write(|r| r.attach_internet_gateway(igw, vpc))?;
    Ok(returns_true())
}

pub fn detach_internet_gateway(cx: &Cx, p: &Params) -> Result<Output> {
    let igw = required(p, "InternetGatewayId")?;
    let vpc = required(p, "VpcId")?;
    cx.write(|r| r.detach_internet_gateway(igw, vpc))?;
    Ok(returns_true())
}

pub fn delete_internet_gateway(cx: &Cx, p: &Params) -> Result<Output> {
    let igw = required(p, "InternetGatewayId")?;
    cx.write(|r| r.delete_internet_gateway(igw))?;
    Ok(returns_true())
}

pub fn describe_internet_gateways(cx: &Cx, p: &Params) -> Result<Output> {
    describe(
        cx,
        p,
        "InternetGatewayId",
        |r| r.internet_gateways.values().collect(),
        tagged,
        "internetGatewaySet",
        encode::internet_gateway,
    )
}

pub fn allocate_address(cx: &Cx, p: &Params) -> Result<Output> {
    match p.get("Domain") {
        None | Some("vpc") => {}
        Some(other) => {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ({other}) for parameter domain is invalid. Only 'vpc' is supported."
            ))
            .into())
        }
    }
    for unsupported in [
        "Address",
        "PublicIpv4Pool",
        "CustomerOwnedIpv4Pool",
        "IpamPoolId",
    ] {
        if p.get(unsupported).is_some() {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "{unsupported} is not supported by this emulator: addresses come from 203.0.113.0/24 and 198.51.100.0/24."
            ))
            .into());
        }
    }
    let tags = tag_specifications(p, "elastic-ip")?;
    let address = cx.write(|r| {
        let a = r.allocate_address()?;
        r.tag(&a.allocation_id, &tags);
        Ok(a)
    })?;
    let border = cx.region.to_string();
    Ok(Box::new(move |w| {
        w.text("publicIp", address.public_ip)
            .text("allocationId", &address.allocation_id)
            .text("domain", "vpc")
            .text("publicIpv4Pool", "amazon")
            .text("networkBorderGroup", &border);
    }))
}

pub fn release_address(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "AllocationId")?;
    cx.write(|r| r.release_address(id))?;
    Ok(returns_true())
}

pub fn describe_addresses(cx: &Cx, p: &Params) -> Result<Output> {
    let public_ips = p.flat_list("PublicIp")?;
    let known = cx.read(|r| {
        Ok(r.addresses
            .values()
            .map(|a| a.public_ip.to_string())
            .collect::<Vec<_>>())
    })?;
    if let Some(ip) = public_ips.iter().find(|ip| !known.iter().any(|k| k == *ip)) {
        return Err(Ec2Error::InvalidParameterValue(format!("Address '{ip}' not found.")).into());
    }
    let extra = if public_ips.is_empty() {
        vec![]
    } else {
        vec![crate::domain::ec2::Filter {
            name: "public-ip".into(),
            values: public_ips.iter().map(|s| s.to_string()).collect(),
        }]
    };
    super::describe_with(
        cx,
        p,
        "AllocationId",
        extra,
        |r| r.addresses.values().collect(),
        tagged,
        "addressesSet",
        encode::address,
    )
}

pub fn associate_address(cx: &Cx, p: &Params) -> Result<Output> {
    let allocation = match (p.get("AllocationId"), p.get("PublicIp")) {
        (Some(a), _) => a.to_string(),
        (None, Some(ip)) => cx.read(|r| {
            r.addresses
                .values()
                .find(|a| a.public_ip.to_string() == ip)
                .map(|a| a.allocation_id.clone())
                .ok_or_else(|| {
                    Ec2Error::InvalidParameterValue(format!("Address '{ip}' not found."))
                })
        })?,
        (None, None) => return Err(Ec2Error::MissingParameter("AllocationId".into()).into()),
    };
    if p.get("InstanceId").is_some() {
        return Err(Ec2Error::InvalidParameterValue(
            "Instances are not emulated: associate with a NetworkInterfaceId".into(),
        )
        .into());
    }
    let eni = required(p, "NetworkInterfaceId")?;
    let reassociate = p.boolean("AllowReassociation")?.unwrap_or(false);
    let id = cx.write(|r| r.associate_address(&allocation, eni, reassociate))?;
    Ok(Box::new(move |w| {
        w.text("associationId", &id);
    }))
}

pub fn disassociate_address(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "AssociationId")?;
    cx.write(|r| r.disassociate_address(id))?;
    Ok(Box::new(|_| {}))
}

pub fn create_nat_gateway(cx: &Cx, p: &Params) -> Result<Output> {
    let subnet = required(p, "SubnetId")?;
    let connectivity = p.get("ConnectivityType").unwrap_or("public");
    let allocation = p.get("AllocationId");
    for ignored in [
        "PrivateIpAddress",
        "SecondaryAllocationId.1",
        "SecondaryPrivateIpAddress.1",
        "SecondaryPrivateIpAddressCount",
    ] {
        if p.get(ignored).is_some() {
            crate::api::ignored_once(&format!("EC2 CreateNatGateway {ignored}"));
        }
    }
    let tags = tag_specifications(p, "natgateway")?;
    let now = cx.now;
    let view = cx.write(|r| {
        let id = r.create_nat_gateway(subnet, allocation, connectivity, now)?;
        r.tag(&id, &tags);
        Ok(tagged(r, &r.nat_gateways[&id]))
    })?;
    let owner = cx.owner();
    let token = p.get("ClientToken").map(String::from);
    Ok(Box::new(move |w| {
        w.opt_text("clientToken", token);
        w.element("natGateway", |w| encode::nat_gateway(w, &owner, &view));
    }))
}

pub fn describe_nat_gateways(cx: &Cx, p: &Params) -> Result<Output> {
    describe(
        cx,
        p,
        "NatGatewayId",
        |r| r.nat_gateways.values().collect(),
        tagged,
        "natGatewaySet",
        encode::nat_gateway,
    )
}

pub fn delete_nat_gateway(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "NatGatewayId")?.to_string();
    let now = cx.now;
    cx.write(|r| {
        lookup(&r.nat_gateways, Kind::NatGateway, &id)?;
        r.delete_nat_gateway(&id, now)
    })?;
    Ok(Box::new(move |w| {
        w.text("natGatewayId", &id);
    }))
}
