//! The lifecycle stages of a BLUE_GREEN, LINEAR or CANARY service
//! deployment: green scales up to the full desired count in the target
//! group that serves no production traffic, takes the test rule's traffic,
//! then the production rule's in the strategy's steps, bakes, and only then
//! are blue's tasks drained and stopped. Traffic moves by rewriting the
//! listener rules' forward weights in the ELBv2 state, which DescribeRules
//! shows and the data plane's next snapshot routes by.
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/blue-green-deployment-how-it-works.html>

use std::time::Duration;

use time::OffsetDateTime;

use super::views::TaskView;
use crate::config::Config;
use crate::domain::ecs::blue_green::{forward_weights, LifecycleStage, ShiftRoute};
use crate::domain::ecs::service::{RolloutState, Service};
use crate::domain::ecs::service_deployment::ServiceDeploymentStatus;
use crate::domain::State;

/// Every stage lasts at least this long (scaled by `--time-scale`), so that
/// pollers of DescribeServiceDeployments see each one, as they do on AWS,
/// where each stage takes seconds at least.
const STAGE_MIN: Duration = Duration::from_secs(5);

/// What the rest of the scheduler pass must respect.
#[derive(Default)]
pub(super) struct Shift {
    /// The stage of a traffic-shifting deployment under way.
    pub stage: Option<LifecycleStage>,
    /// The pass changed the ELBv2 state or the service deployment.
    pub changed: bool,
}

impl Shift {
    /// Green launches to the full desired count, beside blue.
    pub fn active(&self) -> bool {
        self.stage.is_some()
    }

    /// Whether blue's tasks must keep running (until CLEAN_UP).
    pub fn holds_blue(&self) -> bool {
        self.stage.is_some_and(|s| s != LifecycleStage::CleanUp)
    }

    /// Whether new tasks may start (green starts at SCALE_UP).
    pub fn may_launch(&self) -> bool {
        self.stage.is_none_or(|s| s >= LifecycleStage::ScaleUp)
    }
}

/// Moves the service's traffic-shifting deployment on by at most one stage
/// (or one production step), or its rollback.
pub(super) fn advance(
    state: &mut State,
    config: &Config,
    now: OffsetDateTime,
    svc: &mut Service,
    views: &[TaskView],
) -> Shift {
    // Only the newest service deployment can be under way.
    let Some(index) = svc.history.len().checked_sub(1) else {
        return Shift::default();
    };
    if svc.history[index].shift.is_none() {
        return Shift::default();
    }
    let record = &svc.history[index];
    let green_id = record.deployment_id.clone();
    let of_green = |v: &&TaskView| v.deployment.as_deref() == Some(green_id.as_str());
    match record.status {
        ServiceDeploymentStatus::RollbackRequested
        | ServiceDeploymentStatus::RollbackInProgress => {
            let left = views.iter().filter(of_green).filter(|v| !v.stopped).count();
            return roll_back(state, now, svc, index, left);
        }
        ServiceDeploymentStatus::InProgress => {}
        _ => return Shift::default(),
    }
    if svc.primary().map(|d| d.id.as_str()) != Some(green_id.as_str()) {
        return Shift::default();
    }
    let green_healthy = views
        .iter()
        .filter(of_green)
        .filter(|v| v.live && v.healthy)
        .count() as u32;
    let mut shift = record.shift.clone().expect("found by its shift");
    let steps = if shift.routes.iter().any(|r| r.blue_target_group.is_some()) {
        record.deployment_configuration.production_steps()
    } else {
        // A first deployment has no blue: green takes all traffic at once.
        vec![(1000, 0)]
    };
    let bake_minutes = record.deployment_configuration.bake_minutes();
    let min = config.scaled(STAGE_MIN);
    let baked = |minutes: i64| {
        let bake = config.scaled(Duration::from_secs(minutes.max(0) as u64 * 60));
        now - shift.stage_started_at >= bake.max(min)
    };
    let mut changed = false;
    let stage_done = match shift.stage {
        LifecycleStage::PreScaleUp => {
            if shift.routes.is_empty() {
                match resolve_routes(state, svc) {
                    Ok(routes) => {
                        if let Some(green) = svc.deployments.first_mut() {
                            green.target_groups = routes
                                .iter()
                                .map(|r| r.green_target_group.clone())
                                .collect();
                        }
                        shift.routes = routes;
                        changed = true;
                    }
                    Err(detail) => {
                        fail(svc, &green_id, &format!("Service deployment rolled back because of invalid networking configuration. {detail}"));
                        return Shift {
                            changed: true,
                            ..Shift::default()
                        };
                    }
                }
            }
            baked(0)
        }
        // Green must be healthy in its target group before any traffic.
        LifecycleStage::ScaleUp => baked(0) && green_healthy >= svc.desired_count,
        LifecycleStage::ProductionTrafficShift => {
            let bake = steps
                .iter()
                .find(|(tenths, _)| *tenths == shift.production_tenths)
                .map_or(0, |(_, bake)| *bake);
            match steps.iter().find(|(t, _)| *t > shift.production_tenths) {
                Some((next, _)) if baked(bake) => {
                    shift.production_tenths = *next;
                    shift.stage_started_at = now;
                    write_weights(state, &shift.routes, Rules::Production, *next);
                    changed = true;
                    false
                }
                Some(_) => false,
                None => baked(bake),
            }
        }
        LifecycleStage::BakeTime => baked(bake_minutes),
        LifecycleStage::CleanUp => false,
        _ => baked(0),
    };
    if stage_done {
        shift.stage = shift.stage.next();
        shift.stage_started_at = now;
        changed = true;
        match shift.stage {
            LifecycleStage::TestTrafficShift => {
                shift.test_tenths = 1000;
                write_weights(state, &shift.routes, Rules::Test, 1000);
            }
            LifecycleStage::ProductionTrafficShift => {
                shift.production_tenths = steps[0].0;
                write_weights(state, &shift.routes, Rules::Production, steps[0].0);
            }
            _ => {}
        }
    }
    let stage = Some(shift.stage);
    let record = &mut svc.history[index];
    if changed {
        record.updated_at = now;
    }
    record.shift = Some(shift);
    Shift { stage, changed }
}

/// Production and test traffic back on blue; the record rolls back until
/// green's tasks have stopped (the rest of the pass drains and stops them,
/// as blue is PRIMARY again).
fn roll_back(
    state: &mut State,
    now: OffsetDateTime,
    svc: &mut Service,
    index: usize,
    green_left: usize,
) -> Shift {
    let name = svc.service_name.clone();
    let record = &mut svc.history[index];
    let mut shift = record.shift.clone().expect("found by its shift");
    let mut changed = write_weights(state, &shift.routes, Rules::Production, 0);
    changed |= write_weights(state, &shift.routes, Rules::Test, 0);
    shift.production_tenths = 0;
    shift.test_tenths = 0;
    record.shift = Some(shift);
    if record.status == ServiceDeploymentStatus::RollbackRequested {
        record.status = ServiceDeploymentStatus::RollbackInProgress;
        record.updated_at = now;
        changed = true;
    }
    if green_left == 0 {
        record.end(ServiceDeploymentStatus::RollbackSuccessful, None, now);
        let id = record.deployment_id.clone();
        svc.event(format!(
            "(service {name}) (deployment {id}) rolled back: traffic is on the previous revision."
        ));
        changed = true;
    }
    Shift {
        changed,
        ..Shift::default()
    }
}

/// Fails the deployment: a rollback to blue if there is one, else STOPPED.
fn fail(svc: &mut Service, green_id: &str, reason: &str) {
    if let Some(green) = svc.deployments.first_mut() {
        green.rollout_state = RolloutState::Failed;
        green.rollout_state_reason = reason.to_string();
    }
    if !svc.start_rollback(reason, false) {
        svc.deployment_failed(green_id, 0, reason);
    }
}

#[derive(Clone, Copy)]
enum Rules {
    Production,
    Test,
}

/// Sets green's share of the production or test rules to `green_tenths`
/// and blue's to the rest. Whether a rule changed.
fn write_weights(
    state: &mut State,
    routes: &[ShiftRoute],
    rules: Rules,
    green_tenths: u32,
) -> bool {
    let (blue_weight, green_weight) = forward_weights(green_tenths);
    let mut changed = false;
    for route in routes {
        let rule = match rules {
            Rules::Production => &route.production_rule,
            Rules::Test => match &route.test_rule {
                Some(rule) => rule,
                None => continue,
            },
        };
        let mut weights = state.elbv2.forward_weights(rule).unwrap_or_default();
        let mut set = |tg: &str, weight: u32| match weights.iter_mut().find(|(arn, _)| arn == tg) {
            Some(pair) => pair.1 = weight,
            None => weights.push((tg.to_string(), weight)),
        };
        set(&route.green_target_group, green_weight);
        if let Some(blue) = &route.blue_target_group {
            set(blue, blue_weight);
        }
        changed |= state.elbv2.set_forward_weights(rule, weights);
    }
    changed
}

/// Which target group of each load balancer is blue and which green: blue
/// is the one the production rule sends traffic to, green the other. On a
/// service's first deployment (nothing else runs) green is the serving one
/// (AWS does not document this case). The messages are AWS's
/// (troubleshooting-blue-green).
fn resolve_routes(state: &State, svc: &Service) -> Result<Vec<ShiftRoute>, String> {
    let first = svc.deployments.len() == 1;
    let mut routes = vec![];
    for lb in &svc.load_balancers {
        let (Some(primary), Some(advanced)) = (&lb.target_group_arn, &lb.advanced_configuration)
        else {
            continue;
        };
        let alternate = advanced
            .alternate_target_group_arn
            .clone()
            .unwrap_or_default();
        let production = advanced
            .production_listener_rule
            .clone()
            .unwrap_or_default();
        let weights = state.elbv2.forward_weights(&production).ok_or_else(|| {
            format!("productionListenerRule {production} does not forward to a target group.")
        })?;
        let serving: Vec<&String> = weights
            .iter()
            .filter(|(_, w)| *w > 0)
            .map(|(tg, _)| tg)
            .collect();
        if let Some(other) = serving
            .iter()
            .find(|tg| **tg != primary && **tg != &alternate)
        {
            return Err(format!("Production listener rule is forwarding traffic to unexpected target group {other}. Expected traffic to be forwarded to either targetGroupArn: {primary} or alternateTargetGroupArn: {alternate}"));
        }
        if serving.len() > 1 {
            return Err(format!("productionListenerRule {production} should have exactly one target group serving traffic but found {} target groups which are serving traffic", serving.len()));
        }
        let serving = serving.first().map(|tg| (*tg).clone());
        let (blue, green) = match serving {
            Some(tg) if first => (None, tg),
            None => (None, primary.clone()),
            Some(tg) if tg == alternate => (Some(tg), primary.clone()),
            Some(tg) => (Some(tg), alternate.clone()),
        };
        routes.push(ShiftRoute {
            production_rule: production,
            test_rule: advanced.test_listener_rule.clone(),
            blue_target_group: blue,
            green_target_group: green,
        });
    }
    Ok(routes)
}
