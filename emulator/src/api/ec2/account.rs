//! Account attributes, regions and availability zones.

use crate::domain::ec2::filter::{check_filters, glob, Filter, Filterable};
use crate::domain::ec2::vpcs::zone_id;
use crate::domain::ec2::{Ec2Error, Kind};
use crate::protocol::query::Params;

use super::{filters, Cx, Output, Result};

/// The regions DescribeRegions lists (those enabled by default in AWS).
pub const REGIONS: [&str; 17] = [
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-southeast-1",
    "ap-southeast-2",
    "ca-central-1",
    "eu-central-1",
    "eu-north-1",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
];
/// The region opt-in status AWS shows for regions enabled by default.
const OPT_IN_NOT_REQUIRED: &str = "opt-in-not-required";
/// Account limits AWS reports by default.
const MAX_INSTANCES: &str = "20";
const MAX_ELASTIC_IPS: &str = "5";
const MAX_SECURITY_GROUPS_PER_INTERFACE: &str = "5";

pub fn describe_account_attributes(cx: &Cx, p: &Params) -> Result<Output> {
    let wanted = p.flat_list("AttributeName")?;
    let default_vpc = cx.read(|r| {
        Ok(r.default_vpc()
            .map(|v| v.id.clone())
            .unwrap_or_else(|| "none".into()))
    })?;
    let all = [
        ("supported-platforms", "VPC".to_string()),
        ("default-vpc", default_vpc),
        ("max-instances", MAX_INSTANCES.into()),
        ("max-elastic-ips", MAX_ELASTIC_IPS.into()),
        ("vpc-max-elastic-ips", MAX_ELASTIC_IPS.into()),
        (
            "vpc-max-security-groups-per-interface",
            MAX_SECURITY_GROUPS_PER_INTERFACE.into(),
        ),
    ];
    for name in &wanted {
        if !all.iter().any(|(n, _)| n == name) {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ({name}) for parameter attributeName is invalid."
            ))
            .into());
        }
    }
    let selected: Vec<_> = all
        .into_iter()
        .filter(|(n, _)| wanted.is_empty() || wanted.contains(n))
        .collect();
    Ok(Box::new(move |w| {
        w.items("accountAttributeSet", &selected, |w, (name, value)| {
            w.text("attributeName", name);
            w.items("attributeValueSet", [value], |w, v| {
                w.text("attributeValue", v);
            });
        });
    }))
}

/// A region or zone as filters see it.
struct Named {
    id: String,
    fields: Vec<(&'static str, String)>,
}

/// Not looked up by id list; the kind is only the trait's requirement.
struct Region(Named);
struct Zone(Named);

impl Filterable for Region {
    const FILTERS: &'static [&'static str] = &["endpoint", "opt-in-status", "region-name"];
    const KIND: Kind = Kind::Vpc;
    fn id(&self) -> &str {
        &self.0.id
    }
    fn values(&self, name: &str) -> Vec<String> {
        field(&self.0, name)
    }
}

impl Filterable for Zone {
    const FILTERS: &'static [&'static str] = &[
        "group-name",
        "message",
        "opt-in-status",
        "region-name",
        "state",
        "zone-id",
        "zone-name",
        "zone-type",
    ];
    const KIND: Kind = Kind::Vpc;
    fn id(&self) -> &str {
        &self.0.id
    }
    fn values(&self, name: &str) -> Vec<String> {
        field(&self.0, name)
    }
}

fn field(n: &Named, name: &str) -> Vec<String> {
    n.fields
        .iter()
        .filter(|(k, _)| *k == name)
        .map(|(_, v)| v.clone())
        .collect()
}

fn matches<T: Filterable>(item: &T, filters: &[Filter]) -> bool {
    filters.iter().all(|f| {
        let values = item.values(&f.name);
        f.values
            .iter()
            .any(|pat| values.iter().any(|v| glob(pat, v)))
    })
}

pub fn describe_regions(_cx: &Cx, p: &Params) -> Result<Output> {
    let names = p.flat_list("RegionName")?;
    let filters = filters(p)?;
    check_filters::<Region>(&filters)?;
    if let Some(bad) = names.iter().find(|n| !REGIONS.contains(n)) {
        return Err(Ec2Error::InvalidParameterValue(format!("Invalid region: {bad}")).into());
    }
    let regions: Vec<Region> = REGIONS
        .iter()
        .filter(|r| names.is_empty() || names.contains(r))
        .map(|r| {
            Region(Named {
                id: r.to_string(),
                fields: vec![
                    ("region-name", r.to_string()),
                    ("endpoint", format!("ec2.{r}.amazonaws.com")),
                    ("opt-in-status", OPT_IN_NOT_REQUIRED.into()),
                ],
            })
        })
        .filter(|r| matches(r, &filters))
        .collect();
    Ok(Box::new(move |w| {
        w.items("regionInfo", &regions, |w, r| {
            w.text("regionName", &r.0.id)
                .text("regionEndpoint", field(&r.0, "endpoint").concat())
                .text("optInStatus", OPT_IN_NOT_REQUIRED);
        });
    }))
}

pub fn describe_availability_zones(cx: &Cx, p: &Params) -> Result<Output> {
    let names = p.flat_list("ZoneName")?;
    let zone_ids = p.flat_list("ZoneId")?;
    let filters = filters(p)?;
    check_filters::<Zone>(&filters)?;
    let region = cx.region.to_string();
    let zones = cx.read(|r| Ok(r.zones()))?;
    for name in &names {
        if !zones.iter().any(|z| z == name) {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "The zone '{name}' does not exist."
            ))
            .into());
        }
    }
    let zones: Vec<Zone> = zones
        .into_iter()
        .map(|z| {
            Zone(Named {
                fields: vec![
                    ("zone-name", z.clone()),
                    ("zone-id", zone_id(&z)),
                    ("state", "available".into()),
                    ("region-name", region.clone()),
                    ("group-name", region.clone()),
                    ("zone-type", "availability-zone".into()),
                    ("opt-in-status", OPT_IN_NOT_REQUIRED.into()),
                ],
                id: z,
            })
        })
        .filter(|z| names.is_empty() || names.contains(&z.0.id.as_str()))
        .filter(|z| {
            zone_ids.is_empty() || zone_ids.contains(&field(&z.0, "zone-id").concat().as_str())
        })
        .filter(|z| matches(z, &filters))
        .collect();
    Ok(Box::new(move |w| {
        w.items("availabilityZoneInfo", &zones, |w, z| {
            w.text("zoneName", &z.0.id)
                .text("zoneId", field(&z.0, "zone-id").concat())
                .text("zoneState", "available")
                .text("regionName", &region)
                .text("groupName", &region)
                .text("networkBorderGroup", &region)
                .text("zoneType", "availability-zone")
                .text("optInStatus", OPT_IN_NOT_REQUIRED);
            w.items("messageSet", [(); 0], |_, _| {});
        });
    }))
}
