//! ELBv2 (ALB) resource model: load balancers, target groups, listeners,
//! rules, registrations and their observed health.
//!
//! These types are the control plane's truth. The ELBv2 API (`api::elbv2`)
//! creates and changes them; the health checker records what it observes in
//! [`Registration::health`]; the data plane never reads them directly but gets
//! an immutable snapshot built from them (`dataplane::snapshot`).

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

pub mod arns;
pub mod error;
pub mod listener_attributes;
pub mod matching;
pub mod registration;
pub mod settings;
pub mod ssl_policies;
mod state;
pub mod validate;

pub use error::Elbv2Error;
pub use state::{LISTENERS_PER_LOAD_BALANCER, RULES_PER_LOAD_BALANCER, TARGETS_PER_TARGET_GROUP};

use std::collections::BTreeMap;
use std::net::IpAddr;

use time::OffsetDateTime;

/// Tags on any ELBv2 resource, in insertion order as AWS returns them.
pub type Tags = Vec<(String, String)>;

#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct Elbv2State {
    /// By ARN.
    pub load_balancers: BTreeMap<String, LoadBalancer>,
    /// By ARN.
    pub target_groups: BTreeMap<String, TargetGroup>,
    /// By ARN.
    pub listeners: BTreeMap<String, Listener>,
    /// By ARN.
    pub rules: BTreeMap<String, Rule>,
    /// Tags by resource ARN.
    pub tags: BTreeMap<String, Tags>,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct LoadBalancer {
    pub arn: String,
    pub name: String,
    /// `NAME-ID.elb.localhost`: resolves to 127.0.0.1 on most systems, and the
    /// control port routes requests with this Host header to the ALB too.
    pub dns_name: String,
    pub scheme: String,
    pub lb_type: String,
    pub ip_address_type: String,
    pub state: LoadBalancerState,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created_at: OffsetDateTime,
    pub subnets: Vec<String>,
    /// The availability zone of each subnet, in the same order.
    pub zones: Vec<String>,
    pub security_groups: Vec<String>,
    pub vpc_id: String,
    /// `DescribeLoadBalancerAttributes`, with AWS defaults filled in.
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum LoadBalancerState {
    Provisioning,
    Active,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct TargetGroup {
    pub arn: String,
    pub name: String,
    pub protocol: String,
    pub protocol_version: String,
    pub port: Option<u16>,
    pub vpc_id: Option<String>,
    /// `ip` or `instance` (`lambda` and `alb` are rejected).
    pub target_type: String,
    pub health_check: HealthCheckSettings,
    /// `DescribeTargetGroupAttributes`, with AWS defaults filled in.
    pub attributes: BTreeMap<String, String>,
    /// Registered targets, in registration order.
    pub registrations: Vec<Registration>,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct HealthCheckSettings {
    pub enabled: bool,
    pub protocol: String,
    /// `traffic-port` or a number.
    pub port: String,
    pub path: String,
    pub interval_seconds: u32,
    pub timeout_seconds: u32,
    pub healthy_threshold: u32,
    pub unhealthy_threshold: u32,
    /// Matcher.HttpCode, e.g. `200`, `200,202`, `200-299`.
    pub matcher: String,
}

/// A target registered in a target group.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct Registration {
    pub id: IpAddr,
    pub port: u16,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub registered_at: OffsetDateTime,
    /// Set by DeregisterTargets; the target drains until this instant, then is removed.
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub draining_until: Option<OffsetDateTime>,
    /// What the health checker last observed.
    pub health: TargetHealth,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct TargetHealth {
    pub state: TargetState,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub reason: Option<&'static str>,
    pub description: Option<String>,
}

/// `TargetHealthStateEnum`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, BorshSerialize, BorshDeserialize)]
pub enum TargetState {
    Initial,
    Healthy,
    Unhealthy,
    UnhealthyDraining,
    Unused,
    Draining,
    Unavailable,
}

impl TargetState {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Initial => "initial",
            TargetState::Healthy => "healthy",
            TargetState::Unhealthy => "unhealthy",
            TargetState::UnhealthyDraining => "unhealthy.draining",
            TargetState::Unused => "unused",
            TargetState::Draining => "draining",
            TargetState::Unavailable => "unavailable",
        }
    }
}

impl TargetHealth {
    pub fn registration_in_progress() -> Self {
        Self {
            state: TargetState::Initial,
            reason: Some("Elb.RegistrationInProgress"),
            description: Some("Target registration is in progress".into()),
        }
    }

    pub fn healthy() -> Self {
        Self {
            state: TargetState::Healthy,
            reason: None,
            description: None,
        }
    }
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct Listener {
    pub arn: String,
    pub load_balancer_arn: String,
    /// The port in the API; the socket may differ (privileged-port offset).
    pub port: u16,
    pub protocol: String,
    /// Actions of the default rule.
    pub default_actions: Vec<Action>,
    /// `DescribeListenerAttributes`, with AWS defaults filled in.
    pub attributes: BTreeMap<String, String>,
}

#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct Rule {
    pub arn: String,
    pub listener_arn: String,
    /// `None` for the default rule (`<Priority>default</Priority>`).
    pub priority: Option<u32>,
    pub conditions: Vec<Condition>,
    pub actions: Vec<Action>,
}

impl Rule {
    pub fn is_default(&self) -> bool {
        self.priority.is_none()
    }
}

/// A rule condition. Values within one condition are OR-ed.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Condition {
    HostHeader(Vec<String>),
    PathPattern(Vec<String>),
    HttpHeader {
        name: String,
        values: Vec<String>,
    },
    HttpRequestMethod(Vec<String>),
    /// `(key, value)` pairs; a `None` key matches any key.
    QueryString(Vec<(Option<String>, String)>),
    /// CIDR blocks, matched against the connecting peer.
    SourceIp(
        #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
        Vec<ipnet::IpNet>,
    ),
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Action {
    /// 1-50000 when set.
    pub order: Option<u32>,
    pub kind: ActionKind,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ActionKind {
    /// A single `TargetGroupArn` is a ForwardConfig with one group of weight 1.
    Forward(ForwardConfig),
    Redirect(RedirectConfig),
    FixedResponse(FixedResponseConfig),
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ForwardConfig {
    /// `(target group ARN, weight 0-999)`.
    pub target_groups: Vec<(String, u32)>,
    /// Target-group stickiness duration when enabled.
    pub stickiness_seconds: Option<u32>,
    /// Whether the request named a single TargetGroupArn (echoed back that way).
    pub single_target_group: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RedirectConfig {
    pub protocol: Option<String>,
    pub port: Option<String>,
    pub host: Option<String>,
    pub path: Option<String>,
    pub query: Option<String>,
    /// `HTTP_301` or `HTTP_302`.
    pub status_code: String,
}

#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct FixedResponseConfig {
    pub status_code: String,
    pub content_type: Option<String>,
    pub message_body: Option<String>,
}
