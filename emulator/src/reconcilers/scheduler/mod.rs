//! The ECS service scheduler: keeps each service at its
//! desired count, registers RUNNING tasks in the service's target groups,
//! drains tasks before they stop, replaces failed tasks, and rolls
//! deployments within minimumHealthyPercent and maximumPercent.
//!
//! A pass is a pure function of the state ([`reconcile`]), run under the
//! store lock; Docker work happens in the task runner, which sees the tasks
//! this pass creates or stops.

use std::collections::BTreeMap;
use std::time::Duration;

use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::domain::ecs::service::{RolloutState, Service, ServiceStatus};
use crate::domain::ecs::service_deployment::RevisionCounts;
use crate::domain::ecs::task::{StopCode, TaskLaunch};
use crate::domain::ecs::{capacity, network};
use crate::domain::ecs::{EcsState, Task, TaskStatus};
use crate::domain::elbv2::registration::Registered;
use crate::domain::{State, Store};

mod traffic_shift;
mod views;

use views::{expected_targets, task_views, TaskView};

/// How often the scheduler looks even when nothing changed (grace periods,
/// draining deadlines and backoffs expire with time, not with writes).
const TICK: Duration = Duration::from_millis(250);
/// Longest wait between attempts to start tasks that keep failing.
const MAX_LAUNCH_BACKOFF: Duration = Duration::from_secs(60);
/// Start failures in a row before the "unable to consistently start" event.
const START_FAILURES_BEFORE_EVENT: u32 = 3;
/// How long an INACTIVE service stays describable.
const INACTIVE_SERVICE_RETENTION: Duration = Duration::from_secs(3600);

/// Runs scheduler passes until `shutdown`.
pub async fn run(store: Store, shutdown: CancellationToken) {
    let mut changes = store.subscribe();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            changed = changes.changed() => if changed.is_err() { return },
            _ = tick.tick() => {}
        }
        let config = store.config().clone();
        let now = OffsetDateTime::now_utc();
        // Registrations whose delay is over go first, so their tasks are
        // released in this pass.
        super::health::expire_draining(&store, now);
        store.modify(|state| reconcile(state, &config, now));
    }
}

/// One pass over every service. Returns whether anything changed.
pub fn reconcile(state: &mut State, config: &Config, now: OffsetDateTime) -> bool {
    let mut changed = release_drained_tasks(state);
    let arns: Vec<String> = state.ecs.services.keys().cloned().collect();
    for arn in arns {
        changed |= reconcile_service(state, config, now, &arn);
    }
    changed |= super::discovery::sync(state, now);
    changed
}

/// Tasks whose registrations are all gone may leave DEACTIVATING.
fn release_drained_tasks(state: &mut State) -> bool {
    let mut changed = false;
    for task in state.ecs.tasks.values_mut() {
        if task.desired_status != TaskStatus::Stopped || task.runtime.targets.is_empty() {
            continue;
        }
        let before = task.runtime.targets.len();
        task.runtime
            .targets
            .retain(|t| state.elbv2.is_registered(&t.target_group_arn, t.ip, t.port));
        changed |= before != task.runtime.targets.len();
    }
    changed
}

fn reconcile_service(state: &mut State, config: &Config, now: OffsetDateTime, arn: &str) -> bool {
    let Some(service) = state.ecs.services.get(arn).cloned() else {
        return false;
    };
    if service.status == ServiceStatus::Inactive {
        if service.runtime.expires_at.is_some_and(|at| at <= now) {
            state.ecs.services.remove(arn);
            return true;
        }
        return false;
    }
    let views = task_views(state, &service, now);
    let mut svc = service.clone();
    let mut plan = Plan::default();
    let shift = traffic_shift::advance(state, config, now, &mut svc, &views);

    // Targets follow the tasks: register RUNNING ones, drain stopping ones.
    for v in &views {
        if v.needs_registration {
            plan.register.push(v.arn.clone());
        }
        if v.needs_deregistration {
            plan.deregister.push(v.arn.clone());
        }
    }
    // Failed health checks past the grace period: stop and replace.
    for v in views.iter().filter(|v| v.live) {
        if let Some(reason) = &v.failed_health {
            plan.stop.push((v.arn.clone(), reason.clone()));
        }
    }
    // Count start failures per deployment (circuit breaker, backoff).
    count_failures(&mut svc, &views, now, config);

    let failed: Vec<&str> = plan.stop.iter().map(|(a, _)| a.as_str()).collect();
    let live_in = |dep: &str| -> Vec<&TaskView> {
        views
            .iter()
            .filter(|v| {
                v.live && v.deployment.as_deref() == Some(dep) && !failed.contains(&v.arn.as_str())
            })
            .collect()
    };
    let desired = svc.desired_count;
    let max_total = desired * svc.deployment_configuration.maximum_percent / 100;
    let min_healthy =
        (desired * svc.deployment_configuration.minimum_healthy_percent).div_ceil(100);
    let primary_id = svc.primary().map(|d| d.id.clone()).unwrap_or_default();
    let primary_failed = svc
        .primary()
        .is_some_and(|d| d.rollout_state == RolloutState::Failed);
    let primary_live = live_in(&primary_id);
    let old_live: Vec<&TaskView> = views
        .iter()
        .filter(|v| {
            v.live
                && v.deployment.as_deref() != Some(&primary_id)
                && !failed.contains(&v.arn.as_str())
        })
        .collect();
    let healthy_total = primary_live
        .iter()
        .chain(old_live.iter())
        .filter(|v| v.healthy)
        .count() as u32;

    // Launch primary tasks up to the desired count, within maximumPercent.
    let live_total = (primary_live.len() + old_live.len()) as u32;
    let may_launch = !primary_failed
        && shift.may_launch()
        && svc.status == ServiceStatus::Active
        && svc.runtime.launch_not_before.is_none_or(|t| t <= now);
    if may_launch {
        // Green scales up to the full desired count beside blue.
        let room = if shift.active() {
            desired
        } else {
            max_total.max(desired).saturating_sub(live_total)
        };
        let wanted = desired.saturating_sub(primary_live.len() as u32);
        plan.launch = wanted.min(room);
    }

    // Stop old tasks: unhealthy ones freely, healthy ones while enough stay.
    let mut can_stop_healthy = healthy_total.saturating_sub(min_healthy);
    let mut old_sorted = old_live.clone();
    old_sorted.sort_by_key(|v| v.healthy);
    for v in old_sorted.into_iter().filter(|_| !shift.holds_blue()) {
        if !v.healthy {
            plan.scale_in.push(v.arn.clone());
        } else if can_stop_healthy > 0 {
            plan.scale_in.push(v.arn.clone());
            can_stop_healthy -= 1;
        }
    }
    // Scale in the primary: not-yet-healthy tasks first, then the newest.
    if primary_live.len() as u32 > desired {
        let mut extra: Vec<&&TaskView> = primary_live.iter().collect();
        extra.sort_by_key(|v| (v.healthy, std::cmp::Reverse(v.started_at)));
        for v in extra
            .into_iter()
            .take(primary_live.len() - desired as usize)
        {
            plan.scale_in.push(v.arn.clone());
        }
    }

    let primary_healthy = primary_live.iter().filter(|v| v.healthy).count() as u32;
    let complete = old_live.is_empty()
        && primary_live.len() as u32 == desired
        && primary_healthy == desired
        && !shift.holds_blue();
    let changed = apply(state, config, now, &mut svc, &views, plan, complete);
    let before = serde_json::to_value(&service).ok();
    let after = serde_json::to_value(&svc).ok();
    let service_changed = before != after
        || svc.runtime.steady != service.runtime.steady
        || svc.runtime.launch_not_before != service.runtime.launch_not_before
        || svc.runtime.expires_at != service.runtime.expires_at
        || svc.runtime.consecutive_start_failures != service.runtime.consecutive_start_failures;
    state.ecs.services.insert(arn.to_string(), svc);
    changed || service_changed || shift.changed
}

#[derive(Default)]
struct Plan {
    register: Vec<String>,
    deregister: Vec<String>,
    /// Tasks failing health checks, with their stopped reason.
    stop: Vec<(String, String)>,
    scale_in: Vec<String>,
    launch: u32,
}

fn count_failures(svc: &mut Service, views: &[TaskView], now: OffsetDateTime, config: &Config) {
    let threshold = svc.breaker_threshold();
    let breaker = svc
        .deployment_configuration
        .deployment_circuit_breaker
        .clone();
    let mut new_start_failures = 0;
    for d in &mut svc.deployments {
        for v in views
            .iter()
            .filter(|v| v.deployment.as_deref() == Some(d.id.as_str()))
        {
            let failed = v.failed_to_start || v.failed_health.is_some();
            if failed && d.counted_failures.insert(v.arn.clone()) {
                d.failed_tasks += 1;
                if v.failed_to_start {
                    new_start_failures += 1;
                }
            }
        }
    }
    if views.iter().any(|v| v.running && v.live) && new_start_failures == 0 {
        svc.runtime.consecutive_start_failures = 0;
        svc.runtime.launch_not_before = None;
    }
    if new_start_failures > 0 {
        svc.runtime.consecutive_start_failures += new_start_failures;
        let n = svc.runtime.consecutive_start_failures.min(6);
        let backoff = Duration::from_secs(1 << n).min(MAX_LAUNCH_BACKOFF);
        svc.runtime.launch_not_before = Some(now + config.scaled(backoff));
        if svc.runtime.consecutive_start_failures == START_FAILURES_BEFORE_EVENT {
            let name = svc.service_name.clone();
            svc.event(format!("(service {name}) is unable to consistently start tasks successfully. For more information, see the Troubleshooting section of the Amazon ECS Developer Guide."));
        }
    }
    let Some(primary) = svc.deployments.first_mut() else {
        return;
    };
    if breaker.enable
        && primary.rollout_state == RolloutState::InProgress
        && primary.failed_tasks >= threshold
    {
        const REASON: &str = "ECS deployment circuit breaker: tasks failed to start.";
        primary.rollout_state = RolloutState::Failed;
        primary.rollout_state_reason = REASON.into();
        primary.updated_at = now;
        let failed_id = primary.id.clone();
        let failures = primary.failed_tasks;
        let name = svc.service_name.clone();
        svc.event(format!(
            "(service {name}) (deployment {failed_id}) deployment failed: tasks failed to start."
        ));
        let rolled_back = breaker.rollback && svc.start_rollback(REASON, false);
        if rolled_back {
            let def = svc.task_definition.clone();
            svc.event(format!(
                "(service {name}) (deployment {failed_id}) rolling back to {def}."
            ));
        } else {
            svc.deployment_failed(&failed_id, failures, REASON);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn apply(
    state: &mut State,
    config: &Config,
    now: OffsetDateTime,
    svc: &mut Service,
    views: &[TaskView],
    plan: Plan,
    complete: bool,
) -> bool {
    let name = svc.service_name.clone();
    let mut changed = false;

    // Register targets of newly RUNNING tasks.
    let mut registered: BTreeMap<String, u32> = BTreeMap::new();
    for arn in &plan.register {
        let Some(task) = state.ecs.tasks.get(arn) else {
            continue;
        };
        let targets = expected_targets(svc, task);
        for target in &targets {
            if let Some(tg) = state.elbv2.target_groups.get_mut(&target.target_group_arn) {
                if tg.register(target.ip, target.port, now) == Registered::New {
                    *registered
                        .entry(target.target_group_arn.clone())
                        .or_default() += 1;
                }
            }
        }
        // A task that reuses a stopped task's IP takes over its draining
        // registration: the stopped task's targets are no longer its own
        // (it would otherwise drain the new task's registration).
        for other in state.ecs.tasks.values_mut() {
            let before = other.runtime.targets.len();
            if &other.task_arn != arn {
                other.runtime.targets.retain(|t| !targets.contains(t));
            }
            if other.runtime.targets.len() != before {
                other.version += 1;
            }
        }
        if let Some(task) = state.ecs.tasks.get_mut(arn) {
            task.runtime.targets = targets;
            task.version += 1;
        }
        changed = true;
    }
    for (tg, n) in registered {
        svc.event(format!(
            "(service {name}) registered {n} targets in (target-group {tg})"
        ));
    }

    // Failing tasks and scale-in: stop (the runner waits for draining).
    let mut stopped = vec![];
    for (arn, reason) in &plan.stop {
        if let Some(task) = state.ecs.tasks.get_mut(arn) {
            task.request_stop(StopCode::ServiceSchedulerInitiated, reason.clone());
            stopped.push(task.id().to_string());
        }
    }
    for arn in &plan.scale_in {
        if let Some(task) = state.ecs.tasks.get_mut(arn) {
            let deployment = task.started_by.clone().unwrap_or_default();
            task.request_stop(
                StopCode::ServiceSchedulerInitiated,
                format!("Scaling activity initiated by (deployment {deployment})"),
            );
            stopped.push(task.id().to_string());
        }
    }
    if !stopped.is_empty() {
        let list: Vec<String> = stopped.iter().map(|id| format!("(task {id})")).collect();
        svc.event(format!(
            "(service {name}) has stopped {} running tasks: {}.",
            stopped.len(),
            list.join(" ")
        ));
        svc.runtime.steady = false;
        changed = true;
    }

    // Drain the targets of stopping tasks.
    let mut deregistered: BTreeMap<String, u32> = BTreeMap::new();
    let mut draining_tasks = 0;
    let deregister: Vec<String> = plan
        .deregister
        .iter()
        .cloned()
        .chain(plan.stop.iter().map(|(a, _)| a.clone()))
        .chain(plan.scale_in.iter().cloned())
        .collect();
    for arn in &deregister {
        let Some(task) = state.ecs.tasks.get(arn) else {
            continue;
        };
        let targets = task.runtime.targets.clone();
        if targets.is_empty() {
            continue;
        }
        for t in &targets {
            let delay = state
                .elbv2
                .target_groups
                .get(&t.target_group_arn)
                .map(|tg| config.scaled(tg.deregistration_delay()))
                .unwrap_or_default();
            if state
                .elbv2
                .deregister(&t.target_group_arn, t.ip, t.port, now, delay)
            {
                *deregistered.entry(t.target_group_arn.clone()).or_default() += 1;
            }
        }
        if let Some(task) = state.ecs.tasks.get_mut(arn) {
            task.advance(TaskStatus::Deactivating);
        }
        draining_tasks += 1;
        changed = true;
    }
    if draining_tasks > 0 {
        let deployment = svc.primary().map(|d| d.id.clone()).unwrap_or_default();
        svc.event(format!("(service {name}, taskSet {deployment}) has begun draining connections on {draining_tasks} tasks."));
    }
    for (tg, n) in deregistered {
        svc.event(format!(
            "(service {name}) deregistered {n} targets in (target-group {tg})"
        ));
    }

    // Launch new tasks of the primary deployment.
    if plan.launch > 0 {
        if let Some(primary) = svc.primary().cloned() {
            let definition = state
                .ecs
                .find_task_definition(&primary.task_definition)
                .cloned();
            let placements = service_placements(state, svc);
            if let (Some(definition), false) = (definition, placements.is_empty()) {
                let definition = std::sync::Arc::new(definition);
                let placement = svc.launch.placement();
                let mut placed = providers_in_use(&state.ecs, svc);
                let mut ids = vec![];
                let live = live_tasks(&state.ecs, svc);
                for n in 0..plan.launch {
                    let provider = capacity::pick(placement.strategy(), &placed);
                    if let Some(name) = &provider {
                        *placed.entry(name.clone()).or_default() += 1;
                    }
                    let task = Task::launch(TaskLaunch {
                        cluster_arn: &svc.cluster_arn,
                        definition: definition.clone(),
                        network: &placements[(live + n as usize) % placements.len()],
                        group: Some(svc.task_group()),
                        started_by: Some(primary.id.clone()),
                        tags: vec![],
                        overrides: serde_json::json!({ "containerOverrides": [], "inferenceAcceleratorOverrides": [] }),
                        capacity_provider: provider,
                    });
                    ids.push(format!("(task {})", task.id()));
                    state.ecs.tasks.insert(task.task_arn.clone(), task);
                }
                svc.event(format!(
                    "(service {name}) has started {} tasks: {}.",
                    ids.len(),
                    ids.join(" ")
                ));
                svc.runtime.steady = false;
                changed = true;
            }
        }
    }

    update_counts(state, svc, views, now);

    // Deployments: drop drained old ones, complete the primary, steady state.
    let live_by_deployment = |id: &str| {
        views
            .iter()
            .filter(|v| v.live && v.deployment.as_deref() == Some(id))
            .count()
    };
    let primary_id = svc.primary().map(|d| d.id.clone());
    svc.deployments
        .retain(|d| Some(&d.id) == primary_id.as_ref() || live_by_deployment(&d.id) > 0);
    if complete {
        if let Some(primary) = svc.deployments.first_mut() {
            if primary.rollout_state == RolloutState::InProgress {
                primary.rollout_state = RolloutState::Completed;
                primary.rollout_state_reason = format!("ECS deployment {} completed.", primary.id);
                primary.updated_at = now;
                let id = primary.id.clone();
                let counts = RevisionCounts {
                    requested: primary.desired_count,
                    running: primary.running_count,
                    pending: primary.pending_count,
                };
                svc.deployment_completed(&id, counts);
                svc.event(format!(
                    "(service {name}) (deployment {id}) deployment completed."
                ));
            }
        }
        if !svc.runtime.steady && svc.deployments.len() == 1 {
            svc.runtime.steady = true;
            svc.event(format!("(service {name}) has reached a steady state."));
        }
    }
    if svc.status == ServiceStatus::Draining
        && views.iter().all(|v| !v.live)
        && svc.running_count == 0
        && svc.pending_count == 0
    {
        let draining_left = views.iter().any(|v| {
            state
                .ecs
                .tasks
                .get(&v.arn)
                .is_some_and(|t| t.last_status != TaskStatus::Stopped)
        });
        if !draining_left {
            svc.status = ServiceStatus::Inactive;
            svc.runtime.expires_at = Some(now + config.scaled(INACTIVE_SERVICE_RETENTION));
            changed = true;
        }
    }
    changed
}

/// runningCount and pendingCount of the service and of each deployment.
fn update_counts(state: &State, svc: &mut Service, views: &[TaskView], now: OffsetDateTime) {
    let live_running = |dep: Option<&str>| {
        views
            .iter()
            .filter(|v| {
                v.live && v.counted_running && (dep.is_none() || v.deployment.as_deref() == dep)
            })
            .count() as u32
    };
    let live_pending = |dep: Option<&str>| {
        views
            .iter()
            .filter(|v| v.live && v.pending && (dep.is_none() || v.deployment.as_deref() == dep))
            .count() as u32
    };
    let _ = state;
    svc.running_count = live_running(None);
    svc.pending_count = live_pending(None);
    let primary_id = svc.primary().map(|d| d.id.clone());
    let desired = svc.desired_count;
    for d in &mut svc.deployments {
        let running = live_running(Some(&d.id));
        let pending = live_pending(Some(&d.id));
        if (running, pending) != (d.running_count, d.pending_count) {
            d.running_count = running;
            d.pending_count = pending;
            d.updated_at = now;
        }
        d.desired_count = if Some(&d.id) == primary_id.as_ref() {
            desired
        } else {
            running + pending
        };
    }
}

/// How many of a service's live tasks each capacity provider runs, so new
/// tasks keep the strategy's base and weights.
fn providers_in_use(ecs: &EcsState, svc: &Service) -> BTreeMap<String, u32> {
    let group = svc.task_group();
    let mut placed = BTreeMap::new();
    for task in ecs.tasks.values() {
        let live = task.cluster_arn == svc.cluster_arn
            && task.group.as_deref() == Some(group.as_str())
            && task.desired_status != TaskStatus::Stopped;
        if let (true, Some(name)) = (live, &task.capacity_provider_name) {
            *placed.entry(name.clone()).or_default() += 1;
        }
    }
    placed
}

/// The subnets a service's tasks go to, resolved against EC2. A service
/// whose subnets have gone (deleted since CreateService) launches nothing
/// and says why once per pass in the log.
fn service_placements(state: &mut State, svc: &Service) -> Vec<network::Placement> {
    let list = |pointer: &str| -> Vec<String> {
        svc.network_configuration
            .pointer(pointer)
            .and_then(|v| v.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    let region =
        crate::domain::arn::region_of(&svc.service_arn).unwrap_or(crate::config::DEFAULT_REGION);
    let account = crate::domain::arn::account_of(&svc.service_arn)
        .unwrap_or_default()
        .to_string();
    let subnets = list("/awsvpcConfiguration/subnets");
    let groups = list("/awsvpcConfiguration/securityGroups");
    match network::resolve(state.ec2.region(region, &account), &subnets, &groups) {
        Ok(placements) => placements,
        Err(e) => {
            tracing::warn!(service = %svc.service_arn, error = %e, "cannot place tasks");
            vec![]
        }
    }
}

/// How many of the service's tasks are not stopping, to spread new ones.
fn live_tasks(ecs: &EcsState, svc: &Service) -> usize {
    let group = svc.task_group();
    ecs.tasks
        .values()
        .filter(|t| {
            t.cluster_arn == svc.cluster_arn
                && t.group.as_deref() == Some(group.as_str())
                && t.desired_status != TaskStatus::Stopped
        })
        .count()
}
