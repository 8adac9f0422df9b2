//! What the scheduler knows of a service's tasks before a pass changes
//! anything, and the registrations each task should have.

use std::time::Duration;

use time::OffsetDateTime;

use crate::domain::ecs::service::Service;
use crate::domain::ecs::task::TargetRef;
use crate::domain::ecs::{HealthStatus, Task, TaskStatus};
use crate::domain::elbv2::{Registration, TargetState};
use crate::domain::State;

/// Facts about one task of a service, taken before anything changes.
pub(super) struct TaskView {
    pub arn: String,
    pub deployment: Option<String>,
    pub live: bool,
    /// STOPPED: its containers are gone.
    pub stopped: bool,
    pub running: bool,
    /// RUNNING, and (behind a load balancer) registered with its first
    /// health check done. runningCount counts these, so that a stable
    /// service (`aws ecs wait services-stable`) already takes traffic on
    /// every task. AWS counts RUNNING alone, which lets the waiter return
    /// while targets are still `initial`; users expect the stricter form.
    pub counted_running: bool,
    pub pending: bool,
    pub healthy: bool,
    pub failed_health: Option<String>,
    pub failed_to_start: bool,
    pub needs_registration: bool,
    pub needs_deregistration: bool,
    pub started_at: Option<OffsetDateTime>,
}

pub(super) fn task_views(state: &State, service: &Service, now: OffsetDateTime) -> Vec<TaskView> {
    let group = service.task_group();
    let grace = Duration::from_secs(
        service
            .health_check_grace_period_seconds
            .unwrap_or(0)
            .into(),
    );
    state
        .ecs
        .tasks
        .values()
        .filter(|t| {
            t.cluster_arn == service.cluster_arn && t.group.as_deref() == Some(group.as_str())
        })
        .map(|t| {
            let live = t.desired_status == TaskStatus::Running;
            let running = t.last_status == TaskStatus::Running;
            let targets = expected_targets(service, t);
            let registered =
                !targets.is_empty() && targets.iter().all(|r| t.runtime.targets.contains(r));
            let states: Vec<(String, Option<TargetState>, Option<String>)> = t
                .runtime
                .targets
                .iter()
                .map(|r| {
                    let reg = registration(state, r);
                    (
                        r.target_group_arn.clone(),
                        reg.map(|g| g.health.state),
                        reg.and_then(|g| g.health.description.clone()),
                    )
                })
                .collect();
            let checked = service.load_balancers.is_empty()
                || (registered
                    && states
                        .iter()
                        .all(|(_, s, _)| s.is_some_and(|s| s != TargetState::Initial)));
            let elb_healthy = service.load_balancers.is_empty()
                || (registered
                    && states
                        .iter()
                        .all(|(_, s, _)| *s == Some(TargetState::Healthy)));
            let container_healthy = t.health_status != HealthStatus::Unhealthy
                && (t.health_status == HealthStatus::Healthy || !has_container_health_checks(t));
            let past_grace = t.started_at.is_some_and(|s| s + grace <= now);
            let failed_health = if !live || !running || !past_grace {
                None
            } else if let Some((tg, _, _)) = states
                .iter()
                .find(|(_, s, _)| *s == Some(TargetState::Unhealthy))
            {
                Some(format!(
                    "Task failed ELB health checks in (target-group {tg})"
                ))
            } else if t.health_status == HealthStatus::Unhealthy {
                Some("Task failed container health checks".to_string())
            } else {
                None
            };
            TaskView {
                arn: t.task_arn.clone(),
                deployment: t.started_by.clone(),
                live,
                stopped: t.last_status == TaskStatus::Stopped,
                running,
                counted_running: running && checked,
                pending: t.last_status.is_pending() || (running && !checked),
                healthy: live && running && elb_healthy && container_healthy,
                failed_health,
                failed_to_start: t.last_status == TaskStatus::Stopped && t.started_at.is_none(),
                needs_registration: live && running && !registered && t.private_ip().is_some(),
                needs_deregistration: !live
                    && t.runtime
                        .targets
                        .iter()
                        .any(|r| registration(state, r).is_some_and(|g| !g.is_draining())),
                started_at: t.started_at,
            }
        })
        .collect()
}

fn has_container_health_checks(task: &Task) -> bool {
    task.definition
        .container_definitions
        .iter()
        .any(|c| c.essential && c.health_check.is_some())
}

/// The target group's registration that `target` stands for, if it has one.
fn registration<'a>(state: &'a State, target: &TargetRef) -> Option<&'a Registration> {
    state
        .elbv2
        .target_groups
        .get(&target.target_group_arn)?
        .registrations
        .iter()
        .find(|g| g.id == target.ip && g.port == target.port)
}

/// The registrations a task of `service` should have: in each load
/// balancer's target group, or in the one its deployment chose (green).
pub(super) fn expected_targets(service: &Service, task: &Task) -> Vec<TargetRef> {
    let Some(ip) = task.private_ip().and_then(|ip| ip.parse().ok()) else {
        return vec![];
    };
    let chosen = service
        .deployments
        .iter()
        .find(|d| task.started_by.as_deref() == Some(d.id.as_str()))
        .map(|d| d.target_groups.as_slice())
        .unwrap_or_default();
    service
        .load_balancers
        .iter()
        .enumerate()
        .filter_map(|(i, lb)| {
            Some(TargetRef {
                target_group_arn: chosen.get(i).or(lb.target_group_arn.as_ref()).cloned()?,
                ip,
                port: lb.container_port?,
            })
        })
        .collect()
}
