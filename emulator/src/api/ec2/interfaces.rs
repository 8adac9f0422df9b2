//! Network interfaces.

use crate::domain::ec2::interfaces::InterfaceSpec;
use crate::domain::ec2::{NetworkInterface, RegionState};
use crate::protocol::query::Params;

use super::encode::{self, InterfaceView};
use super::{ids, required, returns_true, tag_specifications, Cx, Output, Result};
use crate::domain::ec2::{Ec2Error, Kind};

fn view(r: &RegionState, e: &NetworkInterface) -> InterfaceView {
    let groups = e
        .security_groups
        .iter()
        .map(|id| {
            let name = r
                .security_groups
                .get(id)
                .map(|g| g.name.clone())
                .unwrap_or_default();
            (id.clone(), name)
        })
        .collect();
    let public = r.addresses.values().find_map(|a| {
        a.association
            .as_ref()
            .filter(|x| x.network_interface_id == e.id)
            .map(|x| {
                (
                    a.public_ip.to_string(),
                    a.allocation_id.clone(),
                    x.id.clone(),
                )
            })
    });
    InterfaceView {
        eni: e.clone(),
        tags: r.tags.get(&e.id).cloned().unwrap_or_default(),
        groups,
        public,
    }
}

pub fn describe(cx: &Cx, p: &Params) -> Result<Output> {
    super::describe(
        cx,
        p,
        "NetworkInterfaceId",
        |r| r.network_interfaces.values().collect(),
        view,
        "networkInterfaceSet",
        encode::network_interface,
    )
}

pub fn create(cx: &Cx, p: &Params) -> Result<Output> {
    let subnet = required(p, "SubnetId")?.to_string();
    let groups = ids(p, "SecurityGroupId", Kind::SecurityGroup)?;
    let description = p.get("Description").unwrap_or_default().to_string();
    let interface_type = match p.get("InterfaceType") {
        None => "interface".to_string(),
        Some(other) => {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ({other}) for parameter interfaceType is not supported by this emulator."
            ))
            .into())
        }
    };
    if p.get("PrivateIpAddress").is_some() || p.has("PrivateIpAddresses") {
        return Err(Ec2Error::InvalidParameterValue(
            "Choosing private IP addresses is not supported by this emulator; one is allocated."
                .into(),
        )
        .into());
    }
    let tags = tag_specifications(p, "network-interface")?;
    let view = cx.write(|r| {
        let eni = r.create_network_interface(InterfaceSpec {
            subnet,
            security_groups: groups,
            description,
            interface_type,
            requester_id: None,
            requester_managed: false,
            attachment_id: None,
            taken: &|_| false,
        })?;
        r.tag(&eni.id, &tags);
        Ok(view(r, &eni))
    })?;
    let owner = cx.owner();
    Ok(Box::new(move |w| {
        w.element("networkInterface", |w| {
            encode::network_interface(w, &owner, &view)
        });
    }))
}

pub fn delete(cx: &Cx, p: &Params) -> Result<Output> {
    let id = required(p, "NetworkInterfaceId")?;
    cx.write(|r| r.delete_network_interface(id))?;
    Ok(returns_true())
}
