//! EC2 actions (ec2Query protocol): the networking a Terraform VPC module,
//! ECS and ELBv2 need.
//!
//! Each handler decodes its [`Params`], changes or reads its region's
//! [`RegionState`] in one short store call, and returns an [`Output`] that
//! writes the members of `<OpResponse>`. Errors are [`Ec2Error`]s or Query
//! decoding errors; both become `<Response><Errors>` in [`handle`], and
//! only there.

mod account;
mod encode;
mod interfaces;
mod network_acls;
mod routing;
mod security_groups;
mod tags;
mod vpcs;

use axum::response::Response;
use time::OffsetDateTime;

use super::{Api, RequestContext};
use crate::domain::ec2::filter::{select, Filter, Filterable};
use crate::domain::ec2::{error::check_form, Ec2Error, Kind, RegionState, Tags};
use crate::protocol::query::{self, Params, QueryError, XmlWriter, EC2};

/// Writes the members of `<OpResponse>` for a successful request.
use crate::protocol::query::Output;
type Result<T, E = QueryError> = std::result::Result<T, E>;
type Handler = fn(&Cx, &Params) -> Result<Output>;

/// Smallest `MaxResults` the Describe calls accept.
const MAX_RESULTS_MIN: usize = 5;
/// Largest `MaxResults` (and the page size without one).
const MAX_RESULTS_MAX: usize = 1000;

/// What a handler needs besides its parameters.
struct Cx<'a> {
    api: &'a Api,
    region: &'a str,
    now: OffsetDateTime,
}

/// Who owns what a response shows (`ownerId`, ARNs).
#[derive(Clone)]
struct Owner {
    account: String,
    region: String,
}

impl Owner {
    /// `arn:aws:ec2:REGION:ACCOUNT:TYPE/ID`.
    fn arn(&self, resource_type: &str, id: &str) -> String {
        crate::domain::arn::arn(
            "ec2",
            &self.region,
            &self.account,
            &format!("{resource_type}/{id}"),
        )
    }
}

impl Cx<'_> {
    fn account(&self) -> &str {
        self.api.account_id()
    }

    fn owner(&self) -> Owner {
        Owner {
            account: self.account().to_string(),
            region: self.region.to_string(),
        }
    }

    /// Reads this request's region (created, with its default VPC, in [`handle`]).
    fn read<R>(&self, f: impl FnOnce(&RegionState) -> Result<R, Ec2Error>) -> Result<R> {
        self.api
            .store
            .read(|s| match s.ec2.region_ref(self.region) {
                Some(r) => f(r).map_err(QueryError::from),
                None => Err(QueryError::receiver(
                    "InternalError",
                    "the region's EC2 state is missing",
                )),
            })
    }

    /// Changes this request's region.
    fn write<R>(&self, f: impl FnOnce(&mut RegionState) -> Result<R, Ec2Error>) -> Result<R> {
        let account = self.account().to_string();
        self.api
            .store
            .write(|s| f(s.ec2.region(self.region, &account)).map_err(QueryError::from))
    }
}

/// Handles one EC2 request; `body` is the form-encoded Query body.
pub async fn handle(api: &Api, ctx: &RequestContext, body: &[u8]) -> Response {
    query::serve(&EC2, &ctx.request_id, body, |action, params| {
        let cx = Cx {
            api,
            region: &ctx.region,
            now: OffsetDateTime::now_utc(),
        };
        // The first EC2 call of a region creates its default VPC.
        let account = api.account_id().to_string();
        api.store.modify(|s| {
            let new = !s.ec2.has_region(&ctx.region);
            s.ec2.region(&ctx.region, &account);
            new
        });
        let handler = handler(action).ok_or_else(|| query::invalid_action(action))?;
        match params.boolean("DryRun")? {
            Some(true) => Err(Ec2Error::DryRunOperation.into()),
            _ => handler(&cx, params),
        }
    })
}

fn handler(action: &str) -> Option<Handler> {
    Some(match action {
        "DescribeAccountAttributes" => account::describe_account_attributes,
        "DescribeRegions" => account::describe_regions,
        "DescribeAvailabilityZones" => account::describe_availability_zones,
        "CreateVpc" => vpcs::create_vpc,
        "DescribeVpcs" => vpcs::describe_vpcs,
        "DeleteVpc" => vpcs::delete_vpc,
        "ModifyVpcAttribute" => vpcs::modify_vpc_attribute,
        "DescribeVpcAttribute" => vpcs::describe_vpc_attribute,
        "CreateSubnet" => vpcs::create_subnet,
        "DescribeSubnets" => vpcs::describe_subnets,
        "DeleteSubnet" => vpcs::delete_subnet,
        "ModifySubnetAttribute" => vpcs::modify_subnet_attribute,
        "DescribeNetworkAcls" => network_acls::describe,
        "CreateNetworkAcl" => network_acls::create,
        "DeleteNetworkAcl" => network_acls::delete,
        "CreateNetworkAclEntry" => network_acls::create_entry,
        "ReplaceNetworkAclEntry" => network_acls::replace_entry,
        "DeleteNetworkAclEntry" => network_acls::delete_entry,
        "ReplaceNetworkAclAssociation" => network_acls::replace_association,
        "CreateSecurityGroup" => security_groups::create,
        "DescribeSecurityGroups" => security_groups::describe,
        "DeleteSecurityGroup" => security_groups::delete,
        "AuthorizeSecurityGroupIngress" => security_groups::authorize_ingress,
        "AuthorizeSecurityGroupEgress" => security_groups::authorize_egress,
        "RevokeSecurityGroupIngress" => security_groups::revoke_ingress,
        "RevokeSecurityGroupEgress" => security_groups::revoke_egress,
        "DescribeSecurityGroupRules" => security_groups::describe_rules,
        "ModifySecurityGroupRules" => security_groups::modify_rules,
        "UpdateSecurityGroupRuleDescriptionsIngress" => {
            security_groups::update_descriptions_ingress
        }
        "UpdateSecurityGroupRuleDescriptionsEgress" => security_groups::update_descriptions_egress,
        "CreateRouteTable" => routing::create_route_table,
        "DescribeRouteTables" => routing::describe_route_tables,
        "DeleteRouteTable" => routing::delete_route_table,
        "CreateRoute" => routing::create_route,
        "ReplaceRoute" => routing::replace_route,
        "DeleteRoute" => routing::delete_route,
        "AssociateRouteTable" => routing::associate_route_table,
        "DisassociateRouteTable" => routing::disassociate_route_table,
        "ReplaceRouteTableAssociation" => routing::replace_route_table_association,
        "CreateInternetGateway" => routing::create_internet_gateway,
        "AttachInternetGateway" => routing::attach_internet_gateway,
        "DetachInternetGateway" => routing::detach_internet_gateway,
        "DeleteInternetGateway" => routing::delete_internet_gateway,
        "DescribeInternetGateways" => routing::describe_internet_gateways,
        "AllocateAddress" => routing::allocate_address,
        "ReleaseAddress" => routing::release_address,
        "DescribeAddresses" => routing::describe_addresses,
        "AssociateAddress" => routing::associate_address,
        "DisassociateAddress" => routing::disassociate_address,
        "CreateNatGateway" => routing::create_nat_gateway,
        "DescribeNatGateways" => routing::describe_nat_gateways,
        "DeleteNatGateway" => routing::delete_nat_gateway,
        "DescribeNetworkInterfaces" => interfaces::describe,
        "CreateNetworkInterface" => interfaces::create,
        "DeleteNetworkInterface" => interfaces::delete,
        "CreateTags" => tags::create,
        "DeleteTags" => tags::delete,
        "DescribeTags" => tags::describe,
        _ => return None,
    })
}

/// An output with only `<return>true</return>`.
fn returns_true() -> Output {
    Box::new(|w| {
        w.text("return", true);
    })
}

/// A required scalar, refused with EC2's `MissingParameter`.
fn required<'p>(p: &'p Params, name: &str) -> Result<&'p str> {
    p.get(name)
        .ok_or_else(|| Ec2Error::MissingParameter(name.to_string()).into())
}

/// `Filter.N.Name` / `Filter.N.Value.M`.
fn filters(p: &Params) -> Result<Vec<Filter>> {
    p.flat_structures("Filter")?
        .into_iter()
        .map(|f| {
            Ok(Filter {
                name: required(&f, "Name")?.to_string(),
                values: f
                    .flat_list("Value")?
                    .into_iter()
                    .map(String::from)
                    .collect(),
            })
        })
        .collect()
}

/// An id list `NAME.N`, each id checked for its kind's form.
fn ids(p: &Params, name: &str, kind: Kind) -> Result<Vec<String>> {
    p.flat_list(name)?
        .into_iter()
        .map(|id| {
            check_form(kind, id)?;
            Ok(id.to_string())
        })
        .collect()
}

/// The tags of `TagSpecification.N` for `resource_type`; a specification
/// for another type is refused as AWS does.
fn tag_specifications(p: &Params, resource_type: &str) -> Result<Vec<(String, String)>> {
    let mut tags = Vec::new();
    for spec in p.flat_structures("TagSpecification")? {
        let kind = required(&spec, "ResourceType")?;
        if kind != resource_type {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "'{kind}' is not a valid taggable resource type for this operation."
            ))
            .into());
        }
        tags.extend(tag_list(&spec, "Tag")?);
    }
    Ok(tags)
}

/// `NAME.N.Key` / `NAME.N.Value`.
fn tag_list(p: &Params, name: &str) -> Result<Vec<(String, String)>> {
    p.flat_structures(name)?
        .into_iter()
        .map(|t| {
            Ok((
                required(&t, "Key")?.to_string(),
                t.get("Value").unwrap_or_default().to_string(),
            ))
        })
        .collect()
}

/// Applies `MaxResults` and `NextToken` (the offset of the next item).
fn page<T>(items: Vec<T>, p: &Params) -> Result<(Vec<T>, Option<String>)> {
    let size = match p.integer::<i64>("MaxResults")? {
        None => MAX_RESULTS_MAX,
        Some(n) if (MAX_RESULTS_MIN as i64..=MAX_RESULTS_MAX as i64).contains(&n) => n as usize,
        Some(n) => {
            return Err(Ec2Error::InvalidParameterValue(format!(
                "Value ( {n} ) for parameter maxResults is invalid. Parameter must be between {MAX_RESULTS_MIN} and {MAX_RESULTS_MAX}."
            ))
            .into())
        }
    };
    let start = match p.get("NextToken") {
        None => 0,
        Some(t) => t
            .parse::<usize>()
            .ok()
            .filter(|s| *s <= items.len())
            .ok_or_else(|| Ec2Error::InvalidNextToken(format!("The token '{t}' is invalid.")))?,
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((
        items.into_iter().skip(start).take(end - start).collect(),
        next,
    ))
}

/// A Describe call: the id list `id_param`, filters and paging over the
/// region's `list`; each match becomes a `view` (built under the lock) and
/// is written by `write` as an `<item>` of `set`.
fn describe<T, V>(
    cx: &Cx,
    p: &Params,
    id_param: &str,
    list: impl FnOnce(&RegionState) -> Vec<&T>,
    view: impl Fn(&RegionState, &T) -> V,
    set: &'static str,
    write: fn(&mut XmlWriter, &Owner, &V),
) -> Result<Output>
where
    T: Filterable,
    V: Send + 'static,
{
    describe_with(cx, p, id_param, Vec::new(), list, view, set, write)
}

/// [`describe`] with `extra` filters besides the request's.
#[allow(clippy::too_many_arguments)]
fn describe_with<T, V>(
    cx: &Cx,
    p: &Params,
    id_param: &str,
    extra: Vec<Filter>,
    list: impl FnOnce(&RegionState) -> Vec<&T>,
    view: impl Fn(&RegionState, &T) -> V,
    set: &'static str,
    write: fn(&mut XmlWriter, &Owner, &V),
) -> Result<Output>
where
    T: Filterable,
    V: Send + 'static,
{
    let ids = ids(p, id_param, T::KIND)?;
    let mut filters = filters(p)?;
    filters.extend(extra);
    if !ids.is_empty() && p.get("MaxResults").is_some() {
        return Err(Ec2Error::InvalidParameterCombination(format!(
            "The parameter {id_param}s cannot be used with the parameter maxResults"
        ))
        .into());
    }
    let views = cx.read(|r| {
        let all = list(r);
        let selected = select(all, &ids, &filters, &r.tags)?;
        Ok(selected.into_iter().map(|t| view(r, t)).collect::<Vec<V>>())
    })?;
    let (views, next) = page(views, p)?;
    let owner = cx.owner();
    Ok(Box::new(move |w| {
        w.items(set, &views, |w, v| write(w, &owner, v));
        w.opt_text("nextToken", next);
    }))
}

/// A resource with its tags, cloned out of the store.
fn tagged<T: Filterable + Clone>(r: &RegionState, t: &T) -> (T, Tags) {
    (t.clone(), r.tags.get(t.id()).cloned().unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination() {
        let p = Params::parse(b"MaxResults=5").unwrap();
        let (items, next) = page((1..=7).collect(), &p).unwrap();
        assert_eq!((items.len(), next.as_deref()), (5, Some("5")));
        let p = Params::parse(b"MaxResults=5&NextToken=5").unwrap();
        let (items, next) = page((1..=7).collect(), &p).unwrap();
        assert_eq!((items, next), (vec![6, 7], None));
        assert!(page(vec![1], &Params::parse(b"MaxResults=4").unwrap()).is_err());
        assert!(page(vec![1], &Params::parse(b"NextToken=zz").unwrap()).is_err());
    }

    #[test]
    fn filters_and_tag_specifications_decode() {
        let p = Params::parse(b"Filter.1.Name=vpc-id&Filter.1.Value.1=a&Filter.1.Value.2=b&TagSpecification.1.ResourceType=vpc&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=x").unwrap();
        let f = filters(&p).unwrap();
        assert_eq!(f[0].name, "vpc-id");
        assert_eq!(f[0].values, ["a", "b"]);
        assert_eq!(
            tag_specifications(&p, "vpc").unwrap(),
            [("Name".into(), "x".into())]
        );
        assert_eq!(
            tag_specifications(&p, "subnet").unwrap_err().code,
            "InvalidParameterValue"
        );
        let q: QueryError = Ec2Error::DryRunOperation.into();
        assert_eq!(q.status.as_u16(), 412);
    }
}
