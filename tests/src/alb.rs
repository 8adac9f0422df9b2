//! ALB helpers shared by the tests.

use aws_sdk_elasticloadbalancingv2::types::{
    Action, ActionTypeEnum, ProtocolEnum, TargetGroupAttribute, TargetTypeEnum,
};

/// A load balancer with one listener forwarding to one `ip` target group.
pub struct Alb {
    pub load_balancer_arn: String,
    pub target_group_arn: String,
    pub listener_arn: String,
    pub port: u16,
}

impl Alb {
    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

/// Creates a target group (health check `/health` every 5 s, thresholds
/// 2, deregistration delay 5 s: all scaled by the emulator's time scale),
/// a load balancer and a listener on a free port.
pub async fn create(client: &aws_sdk_elasticloadbalancingv2::Client, name: &str) -> Alb {
    let target_group_arn = create_target_group(client, &format!("{name}-tg")).await;
    let lb = client
        .create_load_balancer()
        .name(format!("{name}-lb"))
        .subnets("subnet-a")
        .subnets("subnet-b")
        .send()
        .await
        .expect("create load balancer");
    let load_balancer_arn = lb.load_balancers()[0]
        .load_balancer_arn()
        .unwrap()
        .to_string();
    let port = super::ports::reserve();
    let listener = client
        .create_listener()
        .load_balancer_arn(&load_balancer_arn)
        .protocol(ProtocolEnum::Http)
        .port(port as i32)
        .default_actions(
            Action::builder()
                .r#type(ActionTypeEnum::Forward)
                .target_group_arn(&target_group_arn)
                .build(),
        )
        .send()
        .await
        .expect("create listener");
    Alb {
        load_balancer_arn,
        target_group_arn,
        listener_arn: listener.listeners()[0].listener_arn().unwrap().to_string(),
        port,
    }
}

/// An `ip` target group on port 8080 with the health check and
/// deregistration delay that [`create`] describes.
pub async fn create_target_group(
    client: &aws_sdk_elasticloadbalancingv2::Client,
    name: &str,
) -> String {
    let tg = client
        .create_target_group()
        .name(name)
        .protocol(ProtocolEnum::Http)
        .port(8080)
        .vpc_id("vpc-emulator")
        .target_type(TargetTypeEnum::Ip)
        .health_check_path("/health")
        .health_check_interval_seconds(5)
        .health_check_timeout_seconds(2)
        .healthy_threshold_count(2)
        .unhealthy_threshold_count(2)
        .send()
        .await
        .expect("create target group");
    let target_group_arn = tg.target_groups()[0]
        .target_group_arn()
        .unwrap()
        .to_string();
    client
        .modify_target_group_attributes()
        .target_group_arn(&target_group_arn)
        .attributes(
            TargetGroupAttribute::builder()
                .key("deregistration_delay.timeout_seconds")
                .value("5")
                .build(),
        )
        .send()
        .await
        .expect("set deregistration delay");
    target_group_arn
}

/// `(ip, state, reason)` of every target in the group.
pub async fn target_health(
    client: &aws_sdk_elasticloadbalancingv2::Client,
    target_group_arn: &str,
) -> Vec<(String, String, Option<String>)> {
    client
        .describe_target_health()
        .target_group_arn(target_group_arn)
        .send()
        .await
        .expect("describe target health")
        .target_health_descriptions()
        .iter()
        .map(|d| {
            let health = d.target_health();
            (
                d.target()
                    .and_then(|t| t.id())
                    .unwrap_or_default()
                    .to_string(),
                health
                    .and_then(|h| h.state())
                    .map(|s| s.as_str().to_string())
                    .unwrap_or_default(),
                health
                    .and_then(|h| h.reason())
                    .map(|r| r.as_str().to_string()),
            )
        })
        .collect()
}
