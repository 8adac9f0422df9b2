//! ELBv2 ARN formats:
//!
//! | Resource | Resource part of the ARN |
//! |---|---|
//! | Load balancer | `loadbalancer/app/<name>/<16hex>` |
//! | Target group | `targetgroup/<name>/<16hex>` |
//! | Listener | `listener/app/<lb>/<lbid>/<16hex>` |
//! | Rule | `listener-rule/app/<lb>/<lbid>/<lid>/<16hex>` |

use borsh::{BorshDeserialize, BorshSerialize};

use crate::domain::arn::{arn, random_hex};

const SERVICE: &str = "elasticloadbalancing";
/// Length of the random id at the end of every ELBv2 ARN.
const ID_HEX_DIGITS: usize = 16;

/// The kind of resource an ELBv2 ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ResourceKind {
    LoadBalancer,
    TargetGroup,
    Listener,
    Rule,
}

pub fn load_balancer(region: &str, account: &str, name: &str) -> String {
    arn(
        SERVICE,
        region,
        account,
        &format!("loadbalancer/app/{name}/{}", random_hex(ID_HEX_DIGITS)),
    )
}

pub fn target_group(region: &str, account: &str, name: &str) -> String {
    arn(
        SERVICE,
        region,
        account,
        &format!("targetgroup/{name}/{}", random_hex(ID_HEX_DIGITS)),
    )
}

/// A listener ARN under `load_balancer_arn`.
pub fn listener(load_balancer_arn: &str) -> String {
    format!(
        "{}/{}",
        load_balancer_arn.replacen(":loadbalancer/", ":listener/", 1),
        random_hex(ID_HEX_DIGITS)
    )
}

/// A rule ARN under `listener_arn`.
pub fn rule(listener_arn: &str) -> String {
    format!(
        "{}/{}",
        listener_arn.replacen(":listener/", ":listener-rule/", 1),
        random_hex(ID_HEX_DIGITS)
    )
}

/// What an ELBv2 ARN names, from its resource type; `None` if it is not one.
pub fn kind(resource_arn: &str) -> Option<ResourceKind> {
    let mut parts = resource_arn.splitn(6, ':');
    if parts.next()? != "arn" || parts.nth(1)? != SERVICE {
        return None;
    }
    let resource = parts.nth(2)?;
    match resource.split('/').next()? {
        "loadbalancer" => Some(ResourceKind::LoadBalancer),
        "targetgroup" => Some(ResourceKind::TargetGroup),
        "listener" => Some(ResourceKind::Listener),
        "listener-rule" => Some(ResourceKind::Rule),
        _ => None,
    }
}

/// The part after `loadbalancer/` (`app/<name>/<id>`), as the
/// `ALBRequestCountPerTarget` resource label uses it.
pub fn load_balancer_suffix(load_balancer_arn: &str) -> Option<&str> {
    load_balancer_arn
        .split_once(":loadbalancer/")
        .map(|(_, suffix)| suffix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_nest_and_are_recognised() {
        let lb = load_balancer("us-east-1", "000000000000", "web");
        assert!(lb.starts_with(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:loadbalancer/app/web/"
        ));
        let lb_id = crate::domain::arn::last_segment(&lb);
        assert_eq!(lb_id.len(), 16);
        let l = listener(&lb);
        assert!(l.starts_with(&format!(
            "arn:aws:elasticloadbalancing:us-east-1:000000000000:listener/app/web/{lb_id}/"
        )));
        let r = rule(&l);
        let l_id = crate::domain::arn::last_segment(&l);
        assert!(r.contains(&format!(":listener-rule/app/web/{lb_id}/{l_id}/")));
        let tg = target_group("eu-west-1", "1", "tg");
        assert!(tg.starts_with("arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/tg/"));

        assert_eq!(kind(&lb), Some(ResourceKind::LoadBalancer));
        assert_eq!(kind(&tg), Some(ResourceKind::TargetGroup));
        assert_eq!(kind(&l), Some(ResourceKind::Listener));
        assert_eq!(kind(&r), Some(ResourceKind::Rule));
        assert_eq!(kind("arn:aws:ecs:us-east-1:1:cluster/x"), None);
        assert_eq!(kind("nonsense"), None);
        assert_eq!(
            load_balancer_suffix(&lb),
            Some(&lb[lb.find("app/").unwrap()..])
        );
    }
}
