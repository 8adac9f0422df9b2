//! Domain model → the XML shapes of the ELBv2 service model (`LoadBalancer`,
//! `TargetGroup`, `Listener`, `Rule`, `Action`, `RuleCondition`).

use crate::domain::arn;
use crate::domain::elbv2::{
    validate, Action, ActionKind, Condition, Listener, LoadBalancer, LoadBalancerState, Rule,
    TargetGroup,
};
use crate::protocol::query::XmlWriter;

/// Route 53 hosted zone of ALBs in a region (published in the AWS general
/// reference, "Elastic Load Balancing endpoints and quotas"); us-east-1's for
/// regions not listed. Nothing resolves through it locally.
fn canonical_hosted_zone_id(region: &str) -> &'static str {
    match region {
        "us-east-2" => "Z3AADJGX6KTTL2",
        "us-west-1" => "Z368ELLRRE2KJ0",
        "us-west-2" => "Z1H1FL5HABSF5",
        "eu-west-1" => "Z32O12XQLNTSW2",
        "eu-central-1" => "Z215JYRZR1TBD5",
        "ap-southeast-1" => "Z1LMS91P8CMLE5",
        "ap-northeast-1" => "Z14GRHDCWA56QT",
        _ => "Z35SXDOTRQ7X7K",
    }
}

/// `<AvailabilityZones>` of a load balancer: one member per subnet, with
/// the subnet's own zone.
pub fn availability_zones(w: &mut XmlWriter, lb: &LoadBalancer) {
    w.members(
        "AvailabilityZones",
        lb.subnets.iter().zip(&lb.zones),
        |w, (subnet, zone)| {
            w.text("ZoneName", zone).text("SubnetId", subnet).members(
                "LoadBalancerAddresses",
                std::iter::empty::<()>(),
                |_, _| {},
            );
        },
    );
}

pub fn load_balancer(w: &mut XmlWriter, lb: &LoadBalancer) {
    let region = arn::region_of(&lb.arn).unwrap_or_default();
    w.text("LoadBalancerArn", &lb.arn)
        .text("DNSName", &lb.dns_name)
        .text("CanonicalHostedZoneId", canonical_hosted_zone_id(region))
        .timestamp("CreatedTime", lb.created_at)
        .text("LoadBalancerName", &lb.name)
        .text("Scheme", &lb.scheme)
        .text("VpcId", &lb.vpc_id)
        .element("State", |w| {
            w.text(
                "Code",
                match lb.state {
                    LoadBalancerState::Provisioning => "provisioning",
                    LoadBalancerState::Active => "active",
                },
            );
        })
        .text("Type", &lb.lb_type);
    availability_zones(w, lb);
    w.string_members("SecurityGroups", &lb.security_groups)
        .text("IpAddressType", &lb.ip_address_type);
}

pub fn target_group(w: &mut XmlWriter, tg: &TargetGroup, load_balancer_arns: &[String]) {
    let hc = &tg.health_check;
    w.text("TargetGroupArn", &tg.arn)
        .text("TargetGroupName", &tg.name)
        .text("Protocol", &tg.protocol)
        .opt_text("Port", tg.port)
        .opt_text("VpcId", tg.vpc_id.as_deref())
        .text("HealthCheckProtocol", &hc.protocol)
        .text("HealthCheckPort", &hc.port)
        .text("HealthCheckEnabled", hc.enabled)
        .text("HealthCheckIntervalSeconds", hc.interval_seconds)
        .text("HealthCheckTimeoutSeconds", hc.timeout_seconds)
        .text("HealthyThresholdCount", hc.healthy_threshold)
        .text("UnhealthyThresholdCount", hc.unhealthy_threshold)
        .text("HealthCheckPath", &hc.path)
        .element("Matcher", |w| {
            w.text("HttpCode", &hc.matcher);
        })
        .string_members("LoadBalancerArns", load_balancer_arns)
        .text("TargetType", &tg.target_type)
        .text("ProtocolVersion", &tg.protocol_version)
        .text("IpAddressType", "ipv4");
}

pub fn listener(w: &mut XmlWriter, l: &Listener) {
    w.text("ListenerArn", &l.arn)
        .text("LoadBalancerArn", &l.load_balancer_arn)
        .text("Port", l.port)
        .text("Protocol", &l.protocol)
        .members("DefaultActions", &l.default_actions, action);
}

pub fn rule(w: &mut XmlWriter, r: &Rule) {
    w.text("RuleArn", &r.arn);
    match r.priority {
        Some(p) => w.text("Priority", p),
        None => w.text("Priority", "default"),
    };
    w.members("Conditions", &r.conditions, condition)
        .members("Actions", &r.actions, action)
        .text("IsDefault", r.is_default());
}

/// An action as DescribeRules shows it: a forward always carries its
/// `ForwardConfig`, and also `TargetGroupArn` when it has one target group;
/// a redirect shows the placeholders for the parts it keeps.
pub fn action(w: &mut XmlWriter, a: &Action) {
    match &a.kind {
        ActionKind::Forward(f) => {
            w.text("Type", "forward");
            if let [(arn, _)] = f.target_groups.as_slice() {
                w.text("TargetGroupArn", arn);
            }
            w.opt_text("Order", a.order).element("ForwardConfig", |w| {
                w.members("TargetGroups", &f.target_groups, |w, (arn, weight)| {
                    w.text("TargetGroupArn", arn).text("Weight", weight);
                })
                .element("TargetGroupStickinessConfig", |w| {
                    w.text("Enabled", f.stickiness_seconds.is_some())
                        .opt_text("DurationSeconds", f.stickiness_seconds);
                });
            });
        }
        ActionKind::Redirect(r) => {
            w.text("Type", "redirect")
                .opt_text("Order", a.order)
                .element("RedirectConfig", |w| {
                    w.text("Protocol", r.protocol.as_deref().unwrap_or("#{protocol}"))
                        .text("Port", r.port.as_deref().unwrap_or("#{port}"))
                        .text("Host", r.host.as_deref().unwrap_or("#{host}"))
                        .text("Path", r.path.as_deref().unwrap_or("/#{path}"))
                        .text("Query", r.query.as_deref().unwrap_or("#{query}"))
                        .text("StatusCode", &r.status_code);
                });
        }
        ActionKind::FixedResponse(f) => {
            w.text("Type", "fixed-response")
                .opt_text("Order", a.order)
                .element("FixedResponseConfig", |w| {
                    w.opt_text("MessageBody", f.message_body.as_deref())
                        .text("StatusCode", &f.status_code)
                        .opt_text("ContentType", f.content_type.as_deref());
                });
        }
    }
}

/// A condition as DescribeRules shows it: host-header and path-pattern
/// repeat their values in the legacy `Values` member.
pub fn condition(w: &mut XmlWriter, c: &Condition) {
    w.text("Field", validate::field_name(c));
    match c {
        Condition::HostHeader(values) => {
            w.string_members("Values", values)
                .element("HostHeaderConfig", |w| {
                    w.string_members("Values", values);
                });
        }
        Condition::PathPattern(values) => {
            w.string_members("Values", values)
                .element("PathPatternConfig", |w| {
                    w.string_members("Values", values);
                });
        }
        Condition::HttpHeader { name, values } => {
            w.element("HttpHeaderConfig", |w| {
                w.text("HttpHeaderName", name)
                    .string_members("Values", values);
            });
        }
        Condition::HttpRequestMethod(values) => {
            w.element("HttpRequestMethodConfig", |w| {
                w.string_members("Values", values);
            });
        }
        Condition::QueryString(pairs) => {
            w.element("QueryStringConfig", |w| {
                w.members("Values", pairs, |w, (key, value)| {
                    w.opt_text("Key", key.as_deref()).text("Value", value);
                });
            });
        }
        Condition::SourceIp(nets) => {
            w.element("SourceIpConfig", |w| {
                w.string_members("Values", nets);
            });
        }
    }
}
