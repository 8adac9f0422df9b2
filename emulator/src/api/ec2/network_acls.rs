//! Network ACLs and their entries.

use crate::domain::ec2::{AclEntry, Ec2Error};
use crate::protocol::query::Params;

use super::{encode, required, tag_specifications, tagged, Cx, Output, Result};

pub fn describe(cx: &Cx, p: &Params) -> Result<Output> {
    super::describe(
        cx,
        p,
        "NetworkAclId",
        |r| r.network_acls.values().collect(),
        tagged,
        "networkAclSet",
        encode::network_acl,
    )
}

pub fn create(cx: &Cx, p: &Params) -> Result<Output> {
    let vpc = required(p, "VpcId")?;
    let tags = tag_specifications(p, "network-acl")?;
    let view = cx.write(|r| {
        let id = r.create_network_acl(vpc)?;
        r.tag(&id, &tags);
        Ok(tagged(r, &r.network_acls[&id]))
    })?;
    let owner = cx.owner();
    Ok(Box::new(move |w| {
        w.element("networkAcl", |w| encode::network_acl(w, &owner, &view));
    }))
}

pub fn delete(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "NetworkAclId")?;
    cx.write(|r| r.delete_network_acl(id))?;
    Ok(Box::new(|_| {}))
}

fn rule_number(p: &Params) -> Result<i32> {
    p.integer("RuleNumber")?
        .ok_or_else(|| Ec2Error::MissingParameter("RuleNumber".into()).into())
}

fn egress(p: &Params) -> Result<bool> {
    p.boolean("Egress")?
        .ok_or_else(|| Ec2Error::MissingParameter("Egress".into()).into())
}

fn put_entry(cx: &Cx, p: &Params, replace: bool) -> Result<Output> {
    let id = required(p, "NetworkAclId")?;
    let action = required(p, "RuleAction")?;
    if !matches!(action, "allow" | "deny") {
        return Err(Ec2Error::InvalidParameterValue(format!(
            "Value ({action}) for parameter ruleAction is invalid."
        ))
        .into());
    }
    if p.get("Ipv6CidrBlock").is_some() {
        return Err(Ec2Error::InvalidParameterValue(
            "IPv6 entries are not supported by this emulator.".into(),
        )
        .into());
    }
    let port_range = match p.structure("PortRange") {
        None => None,
        Some(r) => Some((
            r.integer("From")?.unwrap_or_default(),
            r.integer("To")?.unwrap_or_default(),
        )),
    };
    let entry = AclEntry {
        rule_number: rule_number(p)?,
        egress: egress(p)?,
        protocol: required(p, "Protocol")?.to_string(),
        action: action.to_string(),
        cidr: required(p, "CidrBlock")?.to_string(),
        port_range,
    };
    cx.write(|r| r.put_acl_entry(id, entry, replace))?;
    Ok(Box::new(|_| {}))
}

pub fn create_entry(cx: &Cx, p: &Params) -> Result<Output> {
    put_entry(cx, p, false)
}

pub fn replace_entry(cx: &Cx, p: &Params) -> Result<Output> {
    put_entry(cx, p, true)
}

pub fn delete_entry(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "NetworkAclId")?;
    let number = rule_number(p)?;
    let egress = egress(p)?;
    cx.write(|r| r.delete_acl_entry(id, number, egress))?;
    Ok(Box::new(|_| {}))
}

pub fn replace_association(cx: &Cx, p: &Params) -> Result<Output> {
    let association = required(p, "AssociationId")?;
    let acl = required(p, "NetworkAclId")?;
    let id = cx.write(|r| r.replace_acl_association(association, acl))?;
    Ok(Box::new(move |w| {
        w.text("newAssociationId", &id);
    }))
}
