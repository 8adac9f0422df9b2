//! The AWS SDK side that `demo` and `compose` share: the clients, pointed
//! at an emulator's endpoint; the text of a failed call, in each command's
//! own error type; the ECS and ELBv2 look-ups both wait on, and the
//! polling loop of those waits.

use std::collections::BTreeSet;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use aws_sdk_ecs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_ecs::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_ecs::types::{DesiredStatus, Task};
use aws_sdk_elasticloadbalancingv2::types::TargetHealthStateEnum;

/// The region of [`Aws`]'s clients.
pub const REGION: &str = "us-east-1";

/// The SDK clients `demo` and `compose` use, pointed at one endpoint.
pub struct Aws {
    pub ecs: aws_sdk_ecs::Client,
    pub elbv2: aws_sdk_elasticloadbalancingv2::Client,
    pub cloud_map: aws_sdk_servicediscovery::Client,
    pub logs: aws_sdk_cloudwatchlogs::Client,
    pub ec2: aws_sdk_ec2::Client,
}

impl Aws {
    /// Clients with static credentials (any are accepted) and us-east-1,
    /// as the README shows.
    pub async fn new(endpoint: &str) -> Self {
        let config = aws_config::defaults(BehaviorVersion::latest())
            .endpoint_url(endpoint)
            .region(Region::new(REGION))
            .credentials_provider(Credentials::new("local", "local", None, None, "emulator"))
            .load()
            .await;
        Self {
            ecs: aws_sdk_ecs::Client::new(&config),
            elbv2: aws_sdk_elasticloadbalancingv2::Client::new(&config),
            cloud_map: aws_sdk_servicediscovery::Client::new(&config),
            logs: aws_sdk_cloudwatchlogs::Client::new(&config),
            ec2: aws_sdk_ec2::Client::new(&config),
        }
    }
}

/// A failed AWS call: which action, and the error's text. `demo` and
/// `compose` each hold it in their own error type.
#[derive(Debug, thiserror::Error)]
#[error("{action} failed: {message}")]
pub struct AwsCallFailed {
    pub action: &'static str,
    pub message: String,
}

/// An error type that holds a failed AWS call.
pub trait AwsFailure: From<AwsCallFailed> {
    /// Wraps an AWS SDK error with the action that failed.
    fn aws<E, R>(action: &'static str) -> impl FnOnce(SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug,
    {
        move |e| {
            Self::from(AwsCallFailed {
                action,
                message: aws_message(&e),
            })
        }
    }
}

impl<T: From<AwsCallFailed>> AwsFailure for T {}

/// `Code: message` of an AWS error, or the whole chain when it has no code
/// (a connection refused, a timeout).
pub fn aws_message<E, R>(e: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    match (e.code(), e.message()) {
        (Some(code), Some(message)) => format!("{code}: {message}"),
        (Some(code), None) => code.to_string(),
        _ => aws_sdk_ecs::error::DisplayErrorContext(e).to_string(),
    }
}

/// What one look of a wait found.
pub enum Check<T> {
    Done(T),
    /// Not yet: what the wait still waits for, for the timeout's error.
    NotYet(String),
}

/// Runs `check` every `interval` until it is done. A check that is not
/// done once `deadline` has passed ends the wait with the error
/// `timed_out` makes of what it still waits for; a check's error ends it
/// at once.
pub async fn poll_until<T, E, Fut>(
    deadline: tokio::time::Instant,
    interval: Duration,
    mut check: impl FnMut() -> Fut,
    timed_out: impl FnOnce(String) -> E,
) -> Result<T, E>
where
    Fut: Future<Output = Result<Check<T>, E>>,
{
    loop {
        let waiting_for = match check().await? {
            Check::Done(value) => return Ok(value),
            Check::NotYet(waiting_for) => waiting_for,
        };
        if tokio::time::Instant::now() >= deadline {
            return Err(timed_out(waiting_for));
        }
        tokio::time::sleep(interval).await;
    }
}

/// Whether DeleteCluster refused because the cluster still holds services
/// or tasks: a deleted service drains before it goes INACTIVE.
pub fn cluster_in_use(e: &impl ProvideErrorMetadata) -> bool {
    matches!(
        e.code(),
        Some("ClusterContainsServicesException" | "ClusterContainsTasksException")
    )
}

/// The ARNs of a cluster's tasks with the given desired status.
pub async fn task_arns(
    aws: &Aws,
    cluster: &str,
    status: DesiredStatus,
) -> Result<Vec<String>, AwsCallFailed> {
    Ok(aws
        .ecs
        .list_tasks()
        .cluster(cluster)
        .desired_status(status)
        .send()
        .await
        .map_err(AwsCallFailed::aws("ListTasks"))?
        .task_arns
        .unwrap_or_default())
}

/// DescribeTasks in chunks of 100, ECS's limit.
pub async fn describe_tasks(
    aws: &Aws,
    cluster: &str,
    arns: &[String],
) -> Result<Vec<Task>, AwsCallFailed> {
    let mut tasks = vec![];
    for chunk in arns.chunks(100) {
        tasks.extend(
            aws.ecs
                .describe_tasks()
                .cluster(cluster)
                .set_tasks(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(AwsCallFailed::aws("DescribeTasks"))?
                .tasks
                .unwrap_or_default(),
        );
    }
    Ok(tasks)
}

/// The ids of a target group's healthy targets (IPs, for `ip` targets)
/// that parse as `Id`.
pub async fn healthy_targets<Id: FromStr + Ord>(
    aws: &Aws,
    target_group: &str,
) -> Result<BTreeSet<Id>, AwsCallFailed> {
    Ok(aws
        .elbv2
        .describe_target_health()
        .target_group_arn(target_group)
        .send()
        .await
        .map_err(AwsCallFailed::aws("DescribeTargetHealth"))?
        .target_health_descriptions()
        .iter()
        .filter(|d| {
            d.target_health().and_then(|h| h.state()) == Some(&TargetHealthStateEnum::Healthy)
        })
        .filter_map(|d| d.target()?.id()?.parse().ok())
        .collect())
}

/// A task's private IPv4 address, from its ENI attachment.
pub fn private_ip(task: &Task) -> Option<std::net::Ipv4Addr> {
    task.attachments()
        .iter()
        .flat_map(|a| a.details())
        .find(|d| d.name() == Some("privateIPv4Address"))
        .and_then(|d| d.value())
        .and_then(|v| v.parse().ok())
}
