//! AWS wire protocols and the dispatcher that tells services apart on one port.
//!
//! Routing follows LocalStack's order: the SigV4 signing name first, then the
//! `X-Amz-Target` prefix, then a Query `Action` form field told apart by its
//! `Version`. A request for a service the emulator does not serve is still
//! classified by protocol, so its error comes in a shape its client parses.

pub mod json;
pub mod query;
pub mod sigv4;

use axum::response::Response;
use http::{HeaderMap, HeaderValue};

use query::QueryApi;

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
    /// EC2, ec2Query, `Version=2016-11-15`.
    Ec2,
    /// IAM, AWS Query, `Version=2010-05-08`.
    Iam,
    /// STS, AWS Query, `Version=2011-06-15`.
    Sts,
    /// SSM (Parameter Store), AWS JSON 1.1, `AmazonSSM.*`.
    Ssm,
    /// Secrets Manager, AWS JSON 1.1, `secretsmanager.*`.
    SecretsManager,
    /// Cloud Map, AWS JSON 1.1, `Route53AutoNaming_v20170314.*`.
    ServiceDiscovery,
}

impl Service {
    const ALL: [Service; 10] = [
        Service::Ecs,
        Service::Elbv2,
        Service::ApplicationAutoScaling,
        Service::Logs,
        Service::Ec2,
        Service::Iam,
        Service::Sts,
        Service::Ssm,
        Service::SecretsManager,
        Service::ServiceDiscovery,
    ];

    /// The `X-Amz-Target` prefix of a JSON service.
    pub fn target_prefix(self) -> Option<&'static str> {
        match self {
            Service::Ecs => Some("AmazonEC2ContainerServiceV20141113"),
            Service::ApplicationAutoScaling => Some("AnyScaleFrontendService"),
            Service::Logs => Some("Logs_20140328"),
            Service::Ssm => Some("AmazonSSM"),
            Service::SecretsManager => Some("secretsmanager"),
            Service::ServiceDiscovery => Some("Route53AutoNaming_v20170314"),
            Service::Elbv2 | Service::Ec2 | Service::Iam | Service::Sts => None,
        }
    }

    /// The Query API of a Query service.
    pub fn query_api(self) -> Option<&'static QueryApi> {
        match self {
            Service::Elbv2 => Some(&query::ELBV2),
            Service::Ec2 => Some(&query::EC2),
            Service::Iam => Some(&query::IAM),
            Service::Sts => Some(&query::STS),
            _ => None,
        }
    }

    /// The SigV4 signing name (the service part of the credential scope).
    pub fn signing_name(self) -> &'static str {
        match self {
            Service::Ecs => "ecs",
            Service::Elbv2 => "elasticloadbalancing",
            Service::ApplicationAutoScaling => "application-autoscaling",
            Service::Logs => "logs",
            Service::Ec2 => "ec2",
            Service::Iam => "iam",
            Service::Sts => "sts",
            Service::Ssm => "ssm",
            Service::SecretsManager => "secretsmanager",
            Service::ServiceDiscovery => "servicediscovery",
        }
    }

    fn from_signing_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.signing_name() == name)
    }

    fn from_target_prefix(prefix: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.target_prefix() == Some(prefix))
    }

    fn from_query_version(version: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|s| s.query_api().is_some_and(|api| api.version == version))
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
    /// The access key id from the SigV4 scope (who is calling, for STS).
    pub access_key: Option<String>,
}

/// A request for a service the emulator does not serve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unserved {
    /// The signing name, else the `X-Amz-Target` prefix, if the request names one.
    pub name: Option<String>,
    pub protocol: WireProtocol,
}

/// The protocol family a request is written in, as far as its head and body show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireProtocol {
    /// `X-Amz-Target` with a JSON body (awsJson1_0 and 1_1).
    Json,
    /// A form body with `Action` (awsQuery, ec2Query).
    Query,
    /// Anything else: a REST protocol; JSON if the body says so, else XML.
    RestJson,
    RestXml,
}

impl Unserved {
    /// The error for this request, in its own protocol's error shape.
    pub fn into_response(self, request_id: &str) -> Response {
        let (status, code, message) = match &self.name {
            Some(name) => (
                http::StatusCode::NOT_IMPLEMENTED,
                "UnsupportedService",
                format!(
                    "The emulator does not serve '{name}': it serves {SERVED_NAMES} (start it with --upstream-endpoint to forward other services)"
                ),
            ),
            None => (
                http::StatusCode::BAD_REQUEST,
                "UnrecognizedClientException",
                format!(
                    "The request names no AWS service (no SigV4 scope, X-Amz-Target or Action): this emulator serves {SERVED_NAMES}"
                ),
            ),
        };
        match self.protocol {
            WireProtocol::Json | WireProtocol::RestJson => {
                let mut error = json::JsonError::client(code, message);
                error.status = status;
                error.into_response_with_id(request_id)
            }
            WireProtocol::Query | WireProtocol::RestXml => {
                query::QueryError::with_status(status, code, message)
                    .into_response(&query::UNSERVED, request_id)
            }
        }
    }
}

/// Sets the headers every AWS protocol's responses carry: the body's
/// `Content-Type` and the request id (left out if it is not a valid header
/// value).
fn set_common_headers(response: &mut Response, content_type: &'static str, request_id: &str) {
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static(content_type),
    );
    if let Ok(id) = HeaderValue::from_str(request_id) {
        headers.insert("x-amzn-requestid", id);
    }
}

/// The services of [`Service`], for messages.
const SERVED_NAMES: &str =
    "ECS, ELBv2, Application Auto Scaling, CloudWatch Logs, EC2, IAM, STS, SSM, Secrets Manager and Cloud Map";

/// Whether a request's head names a service outside [`Service`]: by its
/// SigV4 scope, else by its `X-Amz-Target` prefix. (An unsigned Query form
/// is not looked at: its body is the only place that names the service.)
pub fn names_unserved_service(headers: &HeaderMap) -> bool {
    if let Some(scope) = credential_scope(headers) {
        return Service::from_signing_name(&scope.service).is_none();
    }
    target(headers).is_some_and(|(prefix, _)| Service::from_target_prefix(prefix).is_none())
}

/// The SigV4 credential scope of the `Authorization` header.
fn credential_scope(headers: &HeaderMap) -> Option<sigv4::CredentialScope> {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(sigv4::CredentialScope::from_authorization)
}

/// `X-Amz-Target` split into its service prefix and operation.
fn target(headers: &HeaderMap) -> Option<(&str, &str)> {
    headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.split_once('.'))
}

/// Works out which service a control-port request is for.
pub fn address(headers: &HeaderMap, body: &[u8]) -> Result<Addressed, Unserved> {
    let scope = credential_scope(headers);
    let target = target(headers);

    let by_scope = scope
        .as_ref()
        .and_then(|s| Service::from_signing_name(&s.service));
    let by_target = target.and_then(|(prefix, _)| Service::from_target_prefix(prefix));
    // The body is decoded at most once, and only when the head names no service.
    let form = std::cell::OnceCell::new();
    let form = || form.get_or_init(|| action_and_version(body));
    let by_form = || match form() {
        (Some(_), Some(version)) => Service::from_query_version(version),
        _ => None,
    };
    let Some(service) = by_scope.or(by_target).or_else(by_form) else {
        let protocol = if target.is_some() {
            WireProtocol::Json
        } else if form().0.is_some() {
            WireProtocol::Query
        } else if headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|ct| ct.contains("json"))
        {
            WireProtocol::RestJson
        } else {
            WireProtocol::RestXml
        };
        return Err(Unserved {
            name: scope
                .map(|s| s.service)
                .or_else(|| target.map(|(prefix, _)| prefix.to_string())),
            protocol,
        });
    };
    Ok(Addressed {
        service,
        operation: target
            .filter(|_| service.target_prefix().is_some())
            .map(|(_, op)| op.to_string()),
        access_key: scope.as_ref().map(|s| s.access_key.clone()),
        region: scope.map(|s| s.region),
    })
}

/// The `Action` and `Version` fields of a form body, in one decoding pass.
fn action_and_version(body: &[u8]) -> (Option<String>, Option<String>) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).unwrap_or_default();
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    (field("Action"), field("Version"))
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
        let classic = address(&HeaderMap::new(), b"Action=X&Version=2012-06-01").unwrap_err();
        assert_eq!(classic.protocol, WireProtocol::Query);
        assert_eq!(
            address(&HeaderMap::new(), b"garbage").unwrap_err().protocol,
            WireProtocol::RestXml
        );
        let sts = address(
            &HeaderMap::new(),
            b"Action=GetCallerIdentity&Version=2011-06-15",
        );
        assert_eq!(sts.unwrap().service, Service::Sts);
    }

    #[test]
    fn unserved_services_are_named_and_classified() {
        let sqs = headers(&[
            ("authorization", "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sqs/aws4_request, SignedHeaders=host, Signature=x"),
            ("x-amz-target", "AmazonSQS.ListQueues"),
        ]);
        let e = address(&sqs, b"{}").unwrap_err();
        assert_eq!(
            (e.name.as_deref(), e.protocol),
            (Some("sqs"), WireProtocol::Json)
        );
        let sns = headers(&[(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/sns/aws4_request, SignedHeaders=host, Signature=x",
        )]);
        let e = address(&sns, b"Action=ListTopics&Version=2010-03-31").unwrap_err();
        assert_eq!(
            (e.name.as_deref(), e.protocol),
            (Some("sns"), WireProtocol::Query)
        );
        let cloud_map = headers(&[("x-amz-target", "Route53AutoNaming_v20170314.ListNamespaces")]);
        let a = address(&cloud_map, b"{}").unwrap();
        assert_eq!(a.service, Service::ServiceDiscovery);
        assert_eq!(a.operation.as_deref(), Some("ListNamespaces"));
        let ssm = headers(&[("x-amz-target", "AmazonSSM.GetParameter")]);
        assert_eq!(address(&ssm, b"{}").unwrap().service, Service::Ssm);
        assert!(names_unserved_service(&sqs) && names_unserved_service(&sns));
        assert!(!names_unserved_service(&ssm));
        assert!(!names_unserved_service(&HeaderMap::new()));
        let s3 = headers(&[(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x",
        )]);
        assert!(names_unserved_service(&s3));
    }
}
