//! The dashboard: one self-contained page at `GET /` (inline CSS and JS, no
//! build step, no external URL) that polls `GET /_emulator/state` every
//! second and redraws.
//!
//! The state endpoint returns what the store holds (clusters, services,
//! tasks, load balancers, listeners, rules, target groups and target health)
//! plus, for each target, its counters from the data plane (requests sent, in
//! flight, responses by class) and its request rate and mean/median response
//! time over the last few seconds (from the ring `observability::rates`
//! keeps).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::State;
use axum::response::{Html, IntoResponse, Json};
use serde_json::{json, Value};
use time::OffsetDateTime;

use crate::dataplane::observe;
use crate::dataplane::snapshot::Target;
use crate::dataplane::Dataplane;
use crate::domain::ecs::service::ServiceStatus;
use crate::domain::ecs::{ClusterStatus, TaskStatus};
use crate::domain::elbv2::{ActionKind, Condition, Elbv2State, Listener, Rule};
use crate::domain::{State as StoreState, Store};
use crate::observability::rates::Rates;

/// The page, served as is.
const INDEX_HTML: &str = include_str!("index.html");
/// Stopped tasks shown, newest first (running ones are always shown).
const STOPPED_TASKS_SHOWN: usize = 10;
/// Service events shown, newest first.
const EVENTS_SHOWN: usize = 5;

/// `GET /`.
pub async fn index() -> impl IntoResponse {
    (
        [(http::header::CACHE_CONTROL, "no-store")],
        Html(INDEX_HTML),
    )
}

/// `GET /_emulator/state`.
pub async fn state(
    State(store): State<Store>,
    State(dataplane): State<Dataplane>,
) -> impl IntoResponse {
    let snapshot = dataplane.snapshot();
    let targets: HashMap<(&str, SocketAddr), &Arc<Target>> = snapshot
        .target_groups
        .values()
        .flat_map(|tg| tg.targets.iter().map(|t| ((tg.arn.as_str(), t.addr), t)))
        .collect();
    let rates = dataplane.observability().rates();
    let body = store.read(|s| build(s, &targets, rates, |arn| dataplane.listener_addr(arn)));
    ([(http::header::CACHE_CONTROL, "no-store")], Json(body))
}

/// The JSON the page renders.
fn build(
    state: &StoreState,
    targets: &HashMap<(&str, SocketAddr), &Arc<Target>>,
    rates: &Rates,
    bound: impl Fn(&str) -> Option<SocketAddr>,
) -> Value {
    let now = Instant::now();
    let ecs = &state.ecs;
    let elbv2 = &state.elbv2;
    let tg_name = |arn: &str| {
        elbv2
            .target_groups
            .get(arn)
            .map(|tg| tg.name.clone())
            .unwrap_or_else(|| crate::domain::arn::last_segment(arn).to_string())
    };
    let cluster_name = |arn: &str| {
        ecs.clusters
            .values()
            .find(|c| c.cluster_arn == arn)
            .map(|c| c.cluster_name.clone())
            .unwrap_or_default()
    };
    let task_definition = |arn: &str| {
        arn.split_once(":task-definition/")
            .map_or(arn, |(_, r)| r)
            .to_string()
    };

    let clusters: Vec<Value> = ecs
        .clusters
        .values()
        .filter(|c| c.status == ClusterStatus::Active)
        .map(|c| {
            let view = ecs.cluster_view(c, false);
            json!({
                "name": c.cluster_name,
                "arn": c.cluster_arn,
                "status": c.status,
                "runningTasks": view.running_tasks_count,
                "pendingTasks": view.pending_tasks_count,
                "activeServices": view.active_services_count,
            })
        })
        .collect();

    let services: Vec<Value> = ecs
        .services
        .values()
        .filter(|svc| svc.status != ServiceStatus::Inactive)
        .map(|svc| {
            json!({
                "name": svc.service_name,
                "cluster": cluster_name(&svc.cluster_arn),
                "status": svc.status,
                "desired": svc.desired_count,
                "running": svc.running_count,
                "pending": svc.pending_count,
                "taskDefinition": task_definition(&svc.task_definition),
                "targetGroups": svc.load_balancers.iter()
                    .filter_map(|lb| lb.target_group_arn.as_deref())
                    .map(tg_name)
                    .collect::<Vec<_>>(),
                "deployments": svc.deployments.iter().map(|d| json!({
                    "id": d.id,
                    "status": d.status,
                    "rolloutState": d.rollout_state,
                    "rolloutStateReason": d.rollout_state_reason,
                    "taskDefinition": task_definition(&d.task_definition),
                    "desired": d.desired_count,
                    "running": d.running_count,
                    "pending": d.pending_count,
                    "failed": d.failed_tasks,
                })).collect::<Vec<_>>(),
                "events": svc.events.iter().take(EVENTS_SHOWN).map(|e| json!({
                    "at": unix(e.created_at),
                    "message": e.message,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();

    let mut tasks: Vec<_> = ecs.tasks.values().collect();
    tasks.sort_by_key(|t| std::cmp::Reverse(t.created_at));
    let (live, stopped): (Vec<_>, Vec<_>) = tasks
        .into_iter()
        .partition(|t| t.last_status != TaskStatus::Stopped);
    let tasks: Vec<Value> = live
        .into_iter()
        .chain(stopped.into_iter().take(STOPPED_TASKS_SHOWN))
        .map(|t| {
            json!({
                "id": t.id(),
                "cluster": cluster_name(&t.cluster_arn),
                "group": t.group,
                "lastStatus": t.last_status.as_str(),
                "desiredStatus": t.desired_status.as_str(),
                "health": t.health_status,
                "ip": t.private_ip(),
                "images": t.containers.iter().map(|c| c.image.as_str()).collect::<Vec<_>>(),
                "taskDefinition": task_definition(&t.task_definition_arn),
                "startedAt": t.started_at.map(unix),
                "stoppedReason": t.stopped_reason,
            })
        })
        .collect();

    let load_balancers: Vec<Value> = elbv2
        .load_balancers
        .values()
        .map(|lb| {
            let listeners: Vec<Value> = elbv2
                .listeners_of(&lb.arn)
                .into_iter()
                .map(|l| {
                    json!({
                        "port": l.port,
                        "protocol": l.protocol,
                        "bound": bound(&l.arn).map(|a| a.to_string()),
                        "rules": rules(elbv2, l, &tg_name),
                    })
                })
                .collect();
            json!({
                "name": lb.name,
                "arn": lb.arn,
                "dnsName": lb.dns_name,
                "scheme": lb.scheme,
                "state": match lb.state {
                    crate::domain::elbv2::LoadBalancerState::Active => "active",
                    crate::domain::elbv2::LoadBalancerState::Provisioning => "provisioning",
                },
                "listeners": listeners,
            })
        })
        .collect();

    let target_groups: Vec<Value> = elbv2
        .target_groups
        .values()
        .map(|tg| {
            let lb = elbv2
                .load_balancers_of_target_group(&tg.arn)
                .into_iter()
                .next()
                .and_then(|arn| elbv2.load_balancers.get(&arn).map(|lb| lb.name.clone()));
            let hc = &tg.health_check;
            json!({
                "name": tg.name,
                "arn": tg.arn,
                "protocol": tg.protocol,
                "port": tg.port,
                "loadBalancer": lb,
                "healthCheck": if hc.enabled {
                    format!("{} {} every {}s, {}/{}", hc.protocol, hc.path, hc.interval_seconds,
                        hc.healthy_threshold, hc.unhealthy_threshold)
                } else {
                    "off".to_string()
                },
                "algorithm": tg.attributes.get("load_balancing.algorithm.type"),
                "targets": tg.registrations.iter().map(|reg| {
                    let addr = SocketAddr::new(reg.id, reg.port);
                    let health = elbv2.reported_health(tg, reg);
                    let target = targets.get(&(tg.arn.as_str(), addr));
                    let live = target.and_then(|t| {
                        rates.live(&tg.arn, addr, observe::sample(t), now)
                    });
                    json!({
                        "id": addr.to_string(),
                        "state": health.state.as_str(),
                        "reason": health.reason,
                        "description": health.description,
                        "requests": target.map(|t| t.stats.requests.load(Relaxed)),
                        "inFlight": target.map(|t| t.stats.outstanding()),
                        "responses": target.map(|t| t.stats.metrics.responses.read()),
                        "rate": live.map(|l| l.requests_per_second),
                        "mean": live.and_then(|l| l.mean),
                        "p50": live.and_then(|l| l.p50),
                    })
                }).collect::<Vec<_>>(),
            })
        })
        .collect();

    json!({
        "now": unix(OffsetDateTime::now_utc()),
        "clusters": clusters,
        "services": services,
        "tasks": tasks,
        "loadBalancers": load_balancers,
        "targetGroups": target_groups,
    })
}

/// A listener's rules in evaluation order, the default rule last.
fn rules(elbv2: &Elbv2State, listener: &Listener, tg_name: &impl Fn(&str) -> String) -> Vec<Value> {
    let listed = elbv2.rules_of(&listener.arn);
    let has_default = listed.iter().any(|r| r.is_default());
    let mut out: Vec<Value> = listed
        .into_iter()
        .map(|r: &Rule| {
            json!({
                "priority": r.priority.map_or("default".to_string(), |p| p.to_string()),
                "conditions": r.conditions.iter().map(condition).collect::<Vec<_>>(),
                "actions": r.actions.iter().map(|a| action(&a.kind, tg_name)).collect::<Vec<_>>(),
            })
        })
        .collect();
    if !has_default {
        out.push(json!({
            "priority": "default",
            "conditions": [],
            "actions": listener.default_actions.iter().map(|a| action(&a.kind, tg_name)).collect::<Vec<_>>(),
        }));
    }
    out
}

fn condition(c: &Condition) -> String {
    match c {
        Condition::HostHeader(v) => format!("host-header {}", v.join(" | ")),
        Condition::PathPattern(v) => format!("path-pattern {}", v.join(" | ")),
        Condition::HttpHeader { name, values } => {
            format!("http-header {name}: {}", values.join(" | "))
        }
        Condition::HttpRequestMethod(v) => format!("http-request-method {}", v.join(" | ")),
        Condition::QueryString(v) => format!(
            "query-string {}",
            v.iter()
                .map(|(k, val)| match k {
                    Some(k) => format!("{k}={val}"),
                    None => val.clone(),
                })
                .collect::<Vec<_>>()
                .join(" | ")
        ),
        Condition::SourceIp(v) => format!(
            "source-ip {}",
            v.iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        ),
    }
}

fn action(a: &ActionKind, tg_name: &impl Fn(&str) -> String) -> String {
    match a {
        ActionKind::Forward(f) if f.target_groups.len() == 1 => {
            format!("forward → {}", tg_name(&f.target_groups[0].0))
        }
        ActionKind::Forward(f) => format!(
            "forward → {}",
            f.target_groups
                .iter()
                .map(|(arn, w)| format!("{} (weight {w})", tg_name(arn)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        ActionKind::Redirect(r) => format!(
            "redirect {} → {}://{}:{}{}",
            r.status_code.trim_start_matches("HTTP_"),
            r.protocol.as_deref().unwrap_or("#{protocol}"),
            r.host.as_deref().unwrap_or("#{host}"),
            r.port.as_deref().unwrap_or("#{port}"),
            r.path.as_deref().unwrap_or("/#{path}"),
        ),
        ActionKind::FixedResponse(f) => format!("fixed-response {}", f.status_code),
    }
}

fn unix(t: OffsetDateTime) -> f64 {
    t.unix_timestamp_nanos() as f64 / 1e9
}
