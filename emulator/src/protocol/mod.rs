//! AWS wire protocols and the dispatcher that tells services apart on one port.
//!
//! Routing follows LocalStack's order (aws-semantics A3): the SigV4 signing
//! name first, then the `X-Amz-Target` prefix, then a Query `Action` form field.

pub mod json;
pub mod query;
pub mod sigv4;

use http::HeaderMap;

/// The AWS services served on the control port.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// ECS, AWS JSON 1.1, `AmazonEC2ContainerServiceV20141113.*`.
    Ecs,
    /// ELBv2, AWS Query (form in, XML out), `Version=2015-12-01`.
    Elbv2,
    /// Application Auto Scaling, AWS JSON 1.1, `AnyScaleFrontendService.*`.
    ApplicationAutoScaling,
    /// CloudWatch Logs, AWS JSON 1.1, `Logs_20140328.*`.
    Logs,
}

impl Service {
    /// The `X-Amz-Target` prefix of a JSON service.
    pub fn target_prefix(self) -> Option<&'static str> {
        match self {
            Service::Ecs => Some("AmazonEC2ContainerServiceV20141113"),
            Service::ApplicationAutoScaling => Some("AnyScaleFrontendService"),
            Service::Logs => Some("Logs_20140328"),
            Service::Elbv2 => None,
        }
    }

    fn from_signing_name(name: &str) -> Option<Self> {
        match name {
            "ecs" => Some(Service::Ecs),
            "elasticloadbalancing" => Some(Service::Elbv2),
            "application-autoscaling" => Some(Service::ApplicationAutoScaling),
            "logs" => Some(Service::Logs),
            _ => None,
        }
    }

    fn from_target_prefix(prefix: &str) -> Option<Self> {
        [Service::Ecs, Service::ApplicationAutoScaling, Service::Logs]
            .into_iter()
            .find(|s| s.target_prefix() == Some(prefix))
    }
}

/// What a request is addressed to, before its body is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressed {
    pub service: Service,
    /// The operation for JSON services (from `X-Amz-Target`); Query services
    /// carry it in the body as `Action`.
    pub operation: Option<String>,
    pub region: Option<String>,
}

/// Works out which service a control-port request is for. `None` means no
/// AWS service recognises it.
pub fn address(headers: &HeaderMap, body: &[u8]) -> Option<Addressed> {
    let scope = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(sigv4::CredentialScope::from_authorization);
    let target = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split_once('.'));

    let by_scope = scope
        .as_ref()
        .and_then(|s| Service::from_signing_name(&s.service));
    let by_target = target.and_then(|(prefix, _)| Service::from_target_prefix(prefix));
    let by_form = || {
        let is_elbv2 = form_field(body, "Version").as_deref() == Some(query::ELBV2_VERSION)
            && form_field(body, "Action").is_some();
        is_elbv2.then_some(Service::Elbv2)
    };
    let service = by_scope.or(by_target).or_else(by_form)?;
    Some(Addressed {
        service,
        operation: target
            .filter(|_| service.target_prefix().is_some())
            .map(|(_, op)| op.to_string()),
        region: scope.map(|s| s.region),
    })
}

fn form_field(body: &[u8], name: &str) -> Option<String> {
    form_urlencoded_pairs(body)
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
}

fn form_urlencoded_pairs(body: &[u8]) -> impl Iterator<Item = (String, String)> + '_ {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(body)
        .unwrap_or_default()
        .into_iter()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn signing_name_wins_and_carries_region() {
        let h = headers(&[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/eu-west-1/ecs/aws4_request, SignedHeaders=host, Signature=x"),
            ("x-amz-target", "AmazonEC2ContainerServiceV20141113.ListClusters"),
        ]);
        let a = address(&h, b"{}").unwrap();
        assert_eq!(a.service, Service::Ecs);
        assert_eq!(a.operation.as_deref(), Some("ListClusters"));
        assert_eq!(a.region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn unsigned_requests_fall_back_to_target_then_form() {
        let h = headers(&[("x-amz-target", "Logs_20140328.GetLogEvents")]);
        assert_eq!(address(&h, b"{}").unwrap().service, Service::Logs);
        let form = b"Action=DescribeLoadBalancers&Version=2015-12-01";
        let a = address(&HeaderMap::new(), form).unwrap();
        assert_eq!(a.service, Service::Elbv2);
        assert_eq!(a.operation, None);
        assert!(address(&HeaderMap::new(), b"Action=X&Version=2012-06-01").is_none());
        assert!(address(&HeaderMap::new(), b"garbage").is_none());
    }
}
