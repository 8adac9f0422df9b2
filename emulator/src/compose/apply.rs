//! `up`, `scale` and `down` through the official AWS SDK, as a deploy to
//! AWS would make them. `up` is idempotent: it looks each resource up by
//! its name before creating it, registers a new revision only for a
//! service whose task definition changed (which rolls a deployment), and
//! only changes the desired count of one that did not.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_ecs::error::ProvideErrorMetadata;
use aws_sdk_ecs::types::{
    Compatibility, DesiredStatus, HealthStatus, LaunchType, LoadBalancer, NetworkMode,
    PropagateTags, ServiceRegistry,
};
use indicatif::{ProgressBar, ProgressStyle};

use super::file::Condition;
use super::setup::{self, ecs_tags, Network};
use super::translate::{differences, Plan, ServicePlan};
use super::ComposeError;
use crate::console::Console;
use crate::domain::ecs::service::ServiceStatus;
use crate::domain::ecs::TaskStatus;
use crate::sdk_client::{healthy_targets, poll_until, Aws, AwsFailure, Check};

/// How often waits poll the API.
pub(super) const POLL: Duration = Duration::from_millis(500);

/// Creates or updates everything in `plan` and waits until every service
/// runs its tasks, healthy.
pub async fn up(
    aws: &Aws,
    plan: &Plan,
    console: &Console,
    timeout: Duration,
) -> Result<(), ComposeError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let network = setup::network(aws, plan).await?;
    setup::cluster(aws, plan, console).await?;
    setup::log_group(aws, plan).await?;
    let registries = setup::discovery(aws, plan, &network, console).await?;
    let target_groups = setup::load_balancer(aws, plan, &network, console).await?;

    let bars: BTreeMap<&str, ProgressBar> = plan
        .services
        .iter()
        .map(|s| (s.name.as_str(), service_bar(console, s)))
        .collect();
    let mut expected: BTreeMap<String, String> = BTreeMap::new();
    for service in &plan.services {
        // A service waits for what it depends on (ECS dependsOn orders only
        // the containers of one task).
        for (dependency, condition) in &service.depends_on {
            let level = match condition {
                Condition::ServiceHealthy => Level::Healthy,
                Condition::ServiceStarted | Condition::ServiceCompletedSuccessfully => {
                    Level::Started
                }
            };
            let dependency = plan.service(dependency).expect("planned dependency");
            wait(
                aws,
                plan,
                dependency,
                &expected[&dependency.name],
                &target_groups,
                level,
                &bars[dependency.name.as_str()],
                deadline,
            )
            .await?;
        }
        let arn = deploy_service(
            aws,
            plan,
            service,
            &network,
            &registries,
            &target_groups,
            &bars[service.name.as_str()],
        )
        .await?;
        expected.insert(service.name.clone(), arn);
    }
    for service in &plan.services {
        let bar = &bars[service.name.as_str()];
        wait(
            aws,
            plan,
            service,
            &expected[&service.name],
            &target_groups,
            Level::Healthy,
            bar,
            deadline,
        )
        .await?;
        bar.finish_with_message("running, healthy");
        console.step(&format!(
            "{}: {} task(s) running, healthy",
            service.name, service.desired_count
        ));
    }
    Ok(())
}

fn service_bar(console: &Console, service: &ServicePlan) -> ProgressBar {
    let bar = console.bar(u64::try_from(service.desired_count).unwrap_or(0));
    bar.set_style(
        ProgressStyle::with_template("{prefix:>12} [{bar:20}] {pos}/{len} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(service.name.clone());
    bar.set_message("waiting");
    bar
}

/// Creates the service, or updates it if its task definition or count
/// changed; the task definition it should run.
async fn deploy_service(
    aws: &Aws,
    plan: &Plan,
    service: &ServicePlan,
    network: &Network,
    registries: &BTreeMap<String, String>,
    target_groups: &BTreeMap<String, String>,
    bar: &ProgressBar,
) -> Result<String, ComposeError> {
    let existing = describe_service(aws, plan, service)
        .await?
        .into_iter()
        .find(|s| s.status() == Some(ServiceStatus::Active.as_str()));
    // The revision to compare with: the service's, else the family's latest.
    let current = existing
        .as_ref()
        .and_then(|s| s.task_definition())
        .unwrap_or(&service.task.family)
        .to_string();
    let registered = match aws
        .ecs
        .describe_task_definition()
        .task_definition(&current)
        .send()
        .await
    {
        Ok(out) => out.task_definition,
        Err(e) if e.code() == Some("ClientException") => None,
        Err(e) => return Err(ComposeError::aws("DescribeTaskDefinition")(e)),
    };
    let changed = registered
        .as_ref()
        .map(|r| differences(&service.task, r))
        .unwrap_or_else(|| vec!["new"]);
    let arn = match registered.as_ref().and_then(|r| r.task_definition_arn()) {
        Some(arn) if changed.is_empty() => arn.to_string(),
        _ => {
            let spec = &service.task;
            let arn = aws
                .ecs
                .register_task_definition()
                .family(&spec.family)
                .network_mode(NetworkMode::Awsvpc)
                .requires_compatibilities(Compatibility::Fargate)
                .cpu(spec.cpu.to_string())
                .memory(spec.memory.to_string())
                .container_definitions(spec.container.clone())
                .set_volumes((!spec.volumes.is_empty()).then(|| spec.volumes.clone()))
                .set_task_role_arn(spec.task_role_arn.clone())
                .set_execution_role_arn(spec.execution_role_arn.clone())
                .set_tags(Some(ecs_tags(&plan.project, Some(&service.name))))
                .send()
                .await
                .map_err(ComposeError::aws("RegisterTaskDefinition"))?
                .task_definition
                .and_then(|d| d.task_definition_arn)
                .unwrap_or_default();
            arn
        }
    };
    let revision = arn.rsplit('/').next().unwrap_or(&arn).to_string();
    match existing {
        Some(existing) => {
            let rolls = !changed.is_empty();
            if rolls || existing.desired_count() != service.desired_count {
                aws.ecs
                    .update_service()
                    .cluster(&plan.cluster)
                    .service(&service.name)
                    .task_definition(&arn)
                    .desired_count(service.desired_count)
                    .send()
                    .await
                    .map_err(ComposeError::aws("UpdateService"))?;
            }
            bar.set_message(if rolls {
                format!("{revision}: rolling ({} changed)", changed.join(", "))
            } else {
                format!("{revision}: unchanged")
            });
        }
        None => {
            let load_balancers = service
                .listeners
                .iter()
                .map(|l| {
                    LoadBalancer::builder()
                        .target_group_arn(&target_groups[&l.target_group])
                        .container_name(&service.name)
                        .container_port(i32::from(l.container_port))
                        .build()
                })
                .collect::<Vec<_>>();
            let service_registries = registries
                .get(&service.name)
                .map(|arn| vec![ServiceRegistry::builder().registry_arn(arn).build()]);
            aws.ecs
                .create_service()
                .cluster(&plan.cluster)
                .service_name(&service.name)
                .task_definition(&arn)
                .desired_count(service.desired_count)
                .launch_type(LaunchType::Fargate)
                .network_configuration(network.configuration.clone())
                .set_load_balancers((!load_balancers.is_empty()).then_some(load_balancers))
                .set_service_registries(service_registries)
                .set_tags(Some(ecs_tags(&plan.project, Some(&service.name))))
                .propagate_tags(PropagateTags::Service)
                .send()
                .await
                .map_err(ComposeError::aws("CreateService"))?;
            bar.set_message(format!("{revision}: service created"));
        }
    }
    Ok(arn)
}

/// What DescribeServices returns for `service` in the project's cluster:
/// the service of that name, whatever its status, if there is one.
async fn describe_service(
    aws: &Aws,
    plan: &Plan,
    service: &ServicePlan,
) -> Result<Vec<aws_sdk_ecs::types::Service>, ComposeError> {
    Ok(aws
        .ecs
        .describe_services()
        .cluster(&plan.cluster)
        .services(&service.name)
        .send()
        .await
        .map_err(ComposeError::aws("DescribeServices"))?
        .services
        .unwrap_or_default())
}

/// How far a wait goes: tasks running, or running and healthy (container
/// health and, behind the ALB, target health).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Level {
    Started,
    Healthy,
}

/// Polls until `service` runs its desired count of `task_definition`'s
/// tasks at `level` and no older deployment is left; fails at once when one
/// of its tasks could not start.
#[allow(clippy::too_many_arguments)]
async fn wait(
    aws: &Aws,
    plan: &Plan,
    service: &ServicePlan,
    task_definition: &str,
    target_groups: &BTreeMap<String, String>,
    level: Level,
    bar: &ProgressBar,
    deadline: tokio::time::Instant,
) -> Result<(), ComposeError> {
    let check = || async {
        let described = describe_service(aws, plan, service).await?;
        let desired = described.first().map_or(0, |s| s.desired_count());
        let settled = described
            .first()
            .is_some_and(|s| s.deployments().len() == 1);
        check_failed_tasks(aws, plan, service, task_definition).await?;
        let tasks =
            super::ps::service_tasks(aws, &plan.cluster, &service.name, DesiredStatus::Running)
                .await?;
        let running: Vec<_> = tasks
            .iter()
            .filter(|t| {
                t.task_definition_arn() == Some(task_definition)
                    && t.last_status() == Some(TaskStatus::Running.as_str())
            })
            .collect();
        let healthy: BTreeSet<String> = running
            .iter()
            .filter(|t| {
                service.task.container.health_check().is_none()
                    || t.health_status() == Some(&HealthStatus::Healthy)
            })
            .filter_map(|t| super::ps::private_ip(t))
            .collect();
        let mut healthy_count = healthy.len();
        for listener in &service.listeners {
            let in_service: BTreeSet<String> =
                healthy_targets(aws, &target_groups[&listener.target_group]).await?;
            healthy_count = healthy_count.min(healthy.intersection(&in_service).count());
        }
        let (shown, done) = match level {
            Level::Started => (running.len(), running.len() as i32 >= desired),
            Level::Healthy => (
                healthy_count,
                healthy_count as i32 == desired && running.len() as i32 == desired && settled,
            ),
        };
        bar.set_length(u64::try_from(desired).unwrap_or(0));
        bar.set_position(shown as u64);
        bar.set_message(format!(
            "{} running, {healthy_count} healthy",
            running.len()
        ));
        Ok(if done {
            Check::Done(())
        } else {
            Check::NotYet(format!(
                "{}: {} of {desired} tasks running, {healthy_count} healthy",
                service.name,
                running.len()
            ))
        })
    };
    poll_until(deadline, POLL, check, ComposeError::Timeout).await
}

/// A stopped task of the new revision that never ran (no image, a failed
/// start) fails `up` at once instead of at the deadline.
async fn check_failed_tasks(
    aws: &Aws,
    plan: &Plan,
    service: &ServicePlan,
    task_definition: &str,
) -> Result<(), ComposeError> {
    let stopped =
        super::ps::service_tasks(aws, &plan.cluster, &service.name, DesiredStatus::Stopped).await?;
    match stopped.iter().find(|t| {
        t.task_definition_arn() == Some(task_definition)
            && t.stop_code().map(|c| c.as_str()) == Some("TaskFailedToStart")
    }) {
        Some(task) => Err(ComposeError::TaskStopped {
            service: service.name.clone(),
            task: task
                .task_arn()
                .and_then(|a| a.rsplit('/').next())
                .unwrap_or_default()
                .to_string(),
            reason: task
                .stopped_reason()
                .unwrap_or("no reason given")
                .to_string(),
        }),
        None => Ok(()),
    }
}

/// Sets desired counts and waits until the services settle.
pub async fn scale(
    aws: &Aws,
    plan: &Plan,
    counts: &[(String, i32)],
    console: &Console,
    timeout: Duration,
) -> Result<(), ComposeError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let target_groups = existing_target_groups(aws, plan).await?;
    for (name, count) in counts {
        let updated = aws
            .ecs
            .update_service()
            .cluster(&plan.cluster)
            .service(name)
            .desired_count(*count)
            .send()
            .await
            .map_err(ComposeError::aws("UpdateService"))?;
        let task_definition = updated
            .service()
            .and_then(|s| s.task_definition())
            .unwrap_or_default()
            .to_string();
        let mut service = plan.service(name).expect("checked by parse_counts").clone();
        service.desired_count = *count;
        let bar = service_bar(console, &service);
        wait(
            aws,
            plan,
            &service,
            &task_definition,
            &target_groups,
            Level::Healthy,
            &bar,
            deadline,
        )
        .await?;
        bar.finish_and_clear();
        console.step(&format!("{name}: {count} task(s) running"));
    }
    Ok(())
}

/// The ARNs of the plan's target groups that exist, by name.
async fn existing_target_groups(
    aws: &Aws,
    plan: &Plan,
) -> Result<BTreeMap<String, String>, ComposeError> {
    let mut found = BTreeMap::new();
    for listener in plan.services.iter().flat_map(|s| &s.listeners) {
        if let Ok(Some(arn)) = setup::find_target_group(aws, &listener.target_group).await {
            found.insert(listener.target_group.clone(), arn);
        }
    }
    Ok(found)
}
