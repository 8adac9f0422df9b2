//! ELBv2 actions (AWS Query protocol).
//!
//! Each handler decodes its [`Params`], validates with the pure functions of
//! `domain::elbv2`, changes the store in one short `write` (never across an
//! `.await`), and returns an `Output` that writes the members of
//! `<OpResult>`. Errors are [`Elbv2Error`]s or Query decoding errors; both
//! become the XML `<ErrorResponse>` in [`handle`], and only there.
//!
//! Routing changes need no notification: the data plane rebuilds its
//! snapshot whenever the store version changes. Listener sockets are opened
//! and closed here, through `api.dataplane`, so bind errors surface in
//! CreateListener.

mod decode;
mod encode;
mod listeners;
mod load_balancers;
mod rules;
mod ssl_policies;
mod tags;
mod target_groups;

use std::collections::BTreeMap;

use axum::response::Response;
use time::OffsetDateTime;

use super::{Api, RequestContext};
use crate::domain::arn;
use crate::domain::elbv2::Elbv2Error;
use crate::protocol::query::{self, Params, QueryError, ELBV2};

/// Writes the members of `<OpResult>` for a successful request.
use crate::protocol::query::Output;
type Result<T, E = QueryError> = std::result::Result<T, E>;

/// The VPC every resource is in: the emulator has one network.
pub const DEFAULT_VPC_ID: &str = "vpc-emulator";
/// Largest and default `PageSize` of the Describe calls.
const PAGE_SIZE_MAX: usize = 400;

/// What a handler needs besides its parameters.
struct Cx<'a> {
    api: &'a Api,
    region: &'a str,
    now: OffsetDateTime,
}

impl Cx<'_> {
    fn account(&self) -> &str {
        self.api.account_id()
    }

    /// Whether an ARN belongs to the region of this request: ELBv2
    /// resources, and their names, are regional.
    fn in_region(&self, resource_arn: &str) -> bool {
        arn::region_of(resource_arn) == Some(self.region)
    }
}

/// Handles one ELBv2 request; `body` is the form-encoded Query body.
pub async fn handle(api: &Api, ctx: &RequestContext, body: &[u8]) -> Response {
    query::serve(&ELBV2, &ctx.request_id, body, |action, params| {
        let cx = Cx {
            api,
            region: &ctx.region,
            now: OffsetDateTime::now_utc(),
        };
        // Registrations whose deregistration delay is over are gone for
        // every read and write.
        crate::reconcilers::health::expire_draining(&api.store, cx.now);
        dispatch(&cx, action, params)
    })
}

fn dispatch(cx: &Cx, action: &str, p: &Params) -> Result<Output> {
    match action {
        "CreateLoadBalancer" => load_balancers::create(cx, p),
        "DescribeLoadBalancers" => load_balancers::describe(cx, p),
        "DeleteLoadBalancer" => load_balancers::delete(cx, p),
        "DescribeLoadBalancerAttributes" => load_balancers::describe_attributes(cx, p),
        "ModifyLoadBalancerAttributes" => load_balancers::modify_attributes(cx, p),
        "SetSecurityGroups" => load_balancers::set_security_groups(cx, p),
        "SetSubnets" => load_balancers::set_subnets(cx, p),
        "DescribeAccountLimits" => describe_account_limits(p),
        "CreateTargetGroup" => target_groups::create(cx, p),
        "DescribeTargetGroups" => target_groups::describe(cx, p),
        "ModifyTargetGroup" => target_groups::modify(cx, p),
        "DeleteTargetGroup" => target_groups::delete(cx, p),
        "DescribeTargetGroupAttributes" => target_groups::describe_attributes(cx, p),
        "ModifyTargetGroupAttributes" => target_groups::modify_attributes(cx, p),
        "RegisterTargets" => target_groups::register_targets(cx, p),
        "DeregisterTargets" => target_groups::deregister_targets(cx, p),
        "DescribeTargetHealth" => target_groups::describe_target_health(cx, p),
        "CreateListener" => listeners::create(cx, p),
        "DescribeListeners" => listeners::describe(cx, p),
        "ModifyListener" => listeners::modify(cx, p),
        "DeleteListener" => listeners::delete(cx, p),
        "DescribeListenerAttributes" => listeners::describe_attributes(cx, p),
        "ModifyListenerAttributes" => listeners::modify_attributes(cx, p),
        "DescribeSSLPolicies" => ssl_policies::describe(p),
        "CreateRule" => rules::create(cx, p),
        "DescribeRules" => rules::describe(cx, p),
        "ModifyRule" => rules::modify(cx, p),
        "DeleteRule" => rules::delete(cx, p),
        "SetRulePriorities" => rules::set_priorities(cx, p),
        "AddTags" => tags::add(cx, p),
        "RemoveTags" => tags::remove(cx, p),
        "DescribeTags" => tags::describe(cx, p),
        other => Err(query::invalid_action(other)),
    }
}

/// The ELBv2 quotas of an account, as DescribeAccountLimits names them
/// (AWS's defaults; the emulator enforces those the domain checks).
const ACCOUNT_LIMITS: [(&str, u32); 9] = [
    ("application-load-balancers", 50),
    ("target-groups", 3000),
    ("targets-per-application-load-balancer", 1000),
    ("listeners-per-application-load-balancer", 50),
    ("rules-per-application-load-balancer", 100),
    ("network-load-balancers", 50),
    ("targets-per-network-load-balancer", 3000),
    (
        "targets-per-availability-zone-per-network-load-balancer",
        500,
    ),
    ("listeners-per-network-load-balancer", 50),
];

fn describe_account_limits(p: &Params) -> Result<Output> {
    let (limits, next) = page(ACCOUNT_LIMITS.to_vec(), p)?;
    Ok(Box::new(move |w| {
        w.members("Limits", limits, |w, (name, max)| {
            w.text("Name", name).text("Max", max);
        });
        w.opt_text("NextMarker", next);
    }))
}

/// An output with no members (`<DeleteRuleResult/>`).
fn empty() -> Output {
    Box::new(|_| {})
}

/// Applies `Marker` and `PageSize` to a full, ordered result list. The
/// marker is the offset of the next item.
fn page<T>(items: Vec<T>, p: &Params) -> Result<(Vec<T>, Option<String>)> {
    let size = match p.integer::<i64>("PageSize")? {
        None => PAGE_SIZE_MAX,
        Some(n) if (1..=PAGE_SIZE_MAX as i64).contains(&n) => n as usize,
        Some(n) => {
            return Err(Elbv2Error::out_of_range("pageSize", n, 1, PAGE_SIZE_MAX as i64).into())
        }
    };
    let start = match p.get("Marker") {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|s| *s <= items.len())
            .ok_or_else(|| QueryError::validation(format!("Marker '{m}' is not valid")))?,
    };
    let end = (start + size).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((
        items.into_iter().skip(start).take(end - start).collect(),
        next,
    ))
}

/// `<Attributes>` of every Describe/Modify*Attributes answer: each key with
/// its value.
fn attributes_output(attributes: BTreeMap<String, String>) -> Output {
    Box::new(move |w| {
        w.members("Attributes", &attributes, |w, (k, v)| {
            w.text("Key", k).text("Value", v);
        });
    })
}

/// `Attributes.member.N.Key/Value` of a Modify*Attributes request; at least one.
fn attribute_changes(p: &Params) -> Result<Vec<(String, String)>> {
    let changes = p.key_values("Attributes")?;
    if changes.is_empty() {
        return Err(QueryError::missing("Attributes"));
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pagination() {
        let p = Params::parse(b"PageSize=2").unwrap();
        let (items, next) = page(vec![1, 2, 3], &p).unwrap();
        assert_eq!((items, next.as_deref()), (vec![1, 2], Some("2")));
        let p = Params::parse(b"PageSize=2&Marker=2").unwrap();
        let (items, next) = page(vec![1, 2, 3], &p).unwrap();
        assert_eq!((items, next), (vec![3], None));
        assert!(page(vec![1], &Params::parse(b"PageSize=0").unwrap()).is_err());
        assert!(page(vec![1], &Params::parse(b"PageSize=401").unwrap()).is_err());
        assert!(page(vec![1], &Params::parse(b"Marker=zz").unwrap()).is_err());
        assert!(page(vec![1], &Params::parse(b"Marker=5").unwrap()).is_err());
    }

    #[test]
    fn domain_errors_keep_their_code() {
        let q: QueryError =
            Elbv2Error::PriorityInUse("Priority '5' is currently in use".into()).into();
        assert_eq!(q.code, "PriorityInUse");
        assert_eq!(q.status, http::StatusCode::BAD_REQUEST);
    }
}
