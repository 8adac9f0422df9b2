//! DescribeSSLPolicies: AWS's predefined security policies
//! (`domain::elbv2::ssl_policies`), filtered by name and load balancer type.

use crate::domain::elbv2::ssl_policies::{
    self as table, SslPolicy, SSL_POLICIES, SUPPORTED_LOAD_BALANCER_TYPES,
};
use crate::domain::elbv2::Elbv2Error;
use crate::protocol::query::Params;

use super::{decode, page, Output, Result};

/// `Names` returns those policies in the order asked (every name must
/// exist); `LoadBalancerType` keeps the policies of that type (none for
/// `gateway`). Without `Names`, the whole table pages with `Marker` and
/// `PageSize`.
pub fn describe(p: &Params) -> Result<Output> {
    let lb_type = p
        .get("LoadBalancerType")
        .map(|t| {
            decode::one_of(
                "loadBalancerType",
                t,
                &["application", "network", "gateway"],
            )
        })
        .transpose()?;
    let names = p.list("Names")?;
    let chosen: Vec<&'static SslPolicy> = if names.is_empty() {
        SSL_POLICIES.iter().collect()
    } else {
        names
            .iter()
            .map(|name| {
                table::find(name).ok_or_else(|| {
                    Elbv2Error::SslPolicyNotFound(format!("SSL policy '{name}' not found"))
                })
            })
            .collect::<Result<_, _>>()?
    };
    let chosen: Vec<&'static SslPolicy> = chosen
        .into_iter()
        .filter(|_| lb_type.is_none_or(|t| SUPPORTED_LOAD_BALANCER_TYPES.contains(&t)))
        .collect();
    let (items, next) = page(chosen, p)?;
    Ok(Box::new(move |w| {
        w.members("SslPolicies", items, |w, policy| {
            w.string_members("SslProtocols", policy.protocols)
                .members(
                    "Ciphers",
                    policy.ciphers().zip(1u32..),
                    |w, (name, priority)| {
                        w.text("Name", name).text("Priority", priority);
                    },
                )
                .text("Name", policy.name)
                .string_members("SupportedLoadBalancerTypes", SUPPORTED_LOAD_BALANCER_TYPES);
        })
        .opt_text("NextMarker", next);
    }))
}
