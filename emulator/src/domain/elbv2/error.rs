//! The ELBv2 domain error. The API layer maps it to the Query
//! `<ErrorResponse>` in one place (`api::elbv2`); [`Elbv2Error::code`] is the
//! wire `Code`, the model's exception shape name without `Exception`.
//! Every variant is HTTP 400 / `Sender`.

/// Why an ELBv2 request was refused. The string is the client-facing message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Elbv2Error {
    /// The generic Query constraint violation (ranges, patterns, lengths).
    #[error("{0}")]
    Validation(String),
    /// A setting that is well-formed but not allowed in this combination.
    #[error("{0}")]
    InvalidConfiguration(String),
    /// A load balancer ARN or name that does not exist.
    #[error("{0}")]
    LoadBalancerNotFound(String),
    /// A target group ARN or name that does not exist.
    #[error("{0}")]
    TargetGroupNotFound(String),
    /// A listener ARN that does not exist.
    #[error("{0}")]
    ListenerNotFound(String),
    /// A rule ARN that does not exist.
    #[error("{0}")]
    RuleNotFound(String),
    /// A subnet that EC2 does not know.
    #[error("{0}")]
    SubnetNotFound(String),
    /// A security group that is not of the load balancer's VPC.
    #[error("{0}")]
    InvalidSecurityGroup(String),
    /// CreateLoadBalancer with a used name and different settings.
    #[error("{0}")]
    DuplicateLoadBalancerName(String),
    /// CreateTargetGroup with a used name and different settings.
    #[error("{0}")]
    DuplicateTargetGroupName(String),
    /// A listener already uses this port on the load balancer.
    #[error("{0}")]
    DuplicateListener(String),
    /// The same tag key twice in one request.
    #[error("{0}")]
    DuplicateTagKeys(String),
    /// Another rule of the listener has this priority.
    #[error("{0}")]
    PriorityInUse(String),
    /// A security policy name that is not one of AWS's predefined policies.
    #[error("{0}")]
    SslPolicyNotFound(String),
    /// A target id that is not usable (not an IP address here).
    #[error("{0}")]
    InvalidTarget(String),
    /// The action list is not valid (terminal action, redirect loop, ...).
    #[error("{0}")]
    InvalidLoadBalancerAction(String),
    /// A protocol this load balancer type (or this emulator) does not serve.
    #[error("{0}")]
    UnsupportedProtocol(String),
    /// A target group whose protocol does not fit the listener.
    #[error("{0}")]
    IncompatibleProtocols(String),
    /// The resource is still referenced (a target group used by a rule).
    #[error("{0}")]
    ResourceInUse(String),
    /// The operation is never allowed on this resource (the default rule,
    /// deletion protection).
    #[error("{0}")]
    OperationNotPermitted(String),
    /// A target group may be used by only one load balancer.
    #[error("{0}")]
    TargetGroupAssociationLimit(String),
    /// Rules per load balancer.
    #[error("{0}")]
    TooManyRules(String),
    /// Targets per target group.
    #[error("{0}")]
    TooManyTargets(String),
    /// Actions per rule.
    #[error("{0}")]
    TooManyActions(String),
    /// Listeners per load balancer.
    #[error("{0}")]
    TooManyListeners(String),
    /// Tags per resource.
    #[error("{0}")]
    TooManyTags(String),
}

impl Elbv2Error {
    /// The wire error code.
    pub fn code(&self) -> &'static str {
        match self {
            Elbv2Error::Validation(_) => "ValidationError",
            Elbv2Error::InvalidConfiguration(_) => "InvalidConfigurationRequest",
            Elbv2Error::LoadBalancerNotFound(_) => "LoadBalancerNotFound",
            Elbv2Error::TargetGroupNotFound(_) => "TargetGroupNotFound",
            Elbv2Error::ListenerNotFound(_) => "ListenerNotFound",
            Elbv2Error::RuleNotFound(_) => "RuleNotFound",
            Elbv2Error::SubnetNotFound(_) => "SubnetNotFound",
            Elbv2Error::InvalidSecurityGroup(_) => "InvalidSecurityGroup",
            Elbv2Error::DuplicateLoadBalancerName(_) => "DuplicateLoadBalancerName",
            Elbv2Error::DuplicateTargetGroupName(_) => "DuplicateTargetGroupName",
            Elbv2Error::DuplicateListener(_) => "DuplicateListener",
            Elbv2Error::DuplicateTagKeys(_) => "DuplicateTagKeys",
            Elbv2Error::PriorityInUse(_) => "PriorityInUse",
            Elbv2Error::SslPolicyNotFound(_) => "SSLPolicyNotFound",
            Elbv2Error::InvalidTarget(_) => "InvalidTarget",
            Elbv2Error::InvalidLoadBalancerAction(_) => "InvalidLoadBalancerAction",
            Elbv2Error::UnsupportedProtocol(_) => "UnsupportedProtocol",
            Elbv2Error::IncompatibleProtocols(_) => "IncompatibleProtocols",
            Elbv2Error::ResourceInUse(_) => "ResourceInUse",
            Elbv2Error::OperationNotPermitted(_) => "OperationNotPermitted",
            Elbv2Error::TargetGroupAssociationLimit(_) => "TargetGroupAssociationLimit",
            Elbv2Error::TooManyRules(_) => "TooManyRules",
            Elbv2Error::TooManyTargets(_) => "TooManyTargets",
            Elbv2Error::TooManyActions(_) => "TooManyActions",
            Elbv2Error::TooManyListeners(_) => "TooManyListeners",
            Elbv2Error::TooManyTags(_) => "TooManyTags",
        }
    }

    /// A `ValidationError` in AWS's wording for a numeric range:
    /// "1 validation error detected: Value '1' at 'healthCheckIntervalSeconds'
    /// failed to satisfy constraint: Member must have value greater than or
    /// equal to 5".
    pub fn out_of_range(member: &str, value: impl std::fmt::Display, min: i64, max: i64) -> Self {
        let value = value.to_string();
        let bound = match value.parse::<i64>() {
            Ok(v) if v < min => format!("greater than or equal to {min}"),
            Ok(_) => format!("less than or equal to {max}"),
            Err(_) => format!("be an integer between {min} and {max}"),
        };
        let bound = if bound.starts_with("be ") {
            bound
        } else {
            format!("have value {bound}")
        };
        Elbv2Error::Validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: Member must {bound}"
        ))
    }
}

/// Shorthand for the domain functions.
pub type Result<T, E = Elbv2Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn range_messages_follow_aws_wording() {
        let e = Elbv2Error::out_of_range("healthCheckIntervalSeconds", 1, 5, 300);
        assert_eq!(e.code(), "ValidationError");
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value '1' at 'healthCheckIntervalSeconds' failed to satisfy constraint: Member must have value greater than or equal to 5"
        );
        let e = Elbv2Error::out_of_range("priority", 50001, 1, 50000);
        assert!(e.to_string().ends_with("less than or equal to 50000"));
        let e = Elbv2Error::out_of_range("x", "abc", 1, 2);
        assert!(e
            .to_string()
            .ends_with("Member must be an integer between 1 and 2"));
    }
}
