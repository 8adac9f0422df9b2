//! Application Auto Scaling's target tracking.
//!
//! Once per metric period (AWS: one minute, scaled by `time_scale`) this
//! loop measures the metric of every scaling policy, lets the scalable
//! target decide (alarms, cooldowns, min and max: `domain::autoscaling`),
//! and writes the ECS service's desired count. The service scheduler then
//! launches or drains tasks; nothing here touches Docker containers beyond
//! reading their stats.
//!
//! Metrics:
//! - `ALBRequestCountPerTarget`: the requests the data plane sent to the
//!   target group since the last period, per healthy target, per minute of
//!   real time (so `TargetValue` means what it means in AWS, whatever the
//!   time scale).
//! - `ECSServiceAverageCPUUtilization` / `...MemoryUtilization`: Docker
//!   stats of the RUNNING tasks' containers, as a percentage of the task's
//!   `cpu` units (1024 = one vCPU) and `memory`, averaged over tasks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bollard::query_parameters::StatsOptionsBuilder;
use bollard::Docker;
use futures::StreamExt;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use crate::dataplane::Dataplane;
use crate::domain::autoscaling::{ecs_service, scale_service, Metric, TargetKey};
use crate::domain::ecs::TaskStatus;
use crate::domain::elbv2::TargetState;
use crate::domain::{State, Store};

/// Target tracking evaluates one-minute metrics (AWS).
const METRIC_PERIOD: Duration = Duration::from_secs(60);
/// Shortest evaluation period, however small the time scale: request counts
/// and CPU time over shorter windows are too noisy to act on.
const MIN_PERIOD: Duration = Duration::from_secs(1);
/// Longest wait for one container's stats from Docker.
const STATS_TIMEOUT: Duration = Duration::from_secs(5);
/// Memory statistics that count page cache, not the task's own memory
/// (cgroup v2, then v1), subtracted from `usage` as `docker stats` does.
const CACHE_STATS: [&str; 2] = ["inactive_file", "total_inactive_file"];
const MIB: f64 = 1024.0 * 1024.0;

/// Runs evaluation passes until `shutdown`.
pub async fn run(store: Store, dataplane: Dataplane, docker: Docker, shutdown: CancellationToken) {
    let period = store.config().scaled(METRIC_PERIOD).max(MIN_PERIOD);
    let mut tick = tokio::time::interval(period);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut meter = Meter::new(dataplane, docker);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tick.tick() => {}
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = evaluate(&store, &mut meter) => {}
        }
    }
}

/// A scalable target with policies whose service is ACTIVE, as read at the
/// start of a pass.
struct Watched {
    key: TargetKey,
    policies: Vec<(String, Metric)>,
    /// The service's RUNNING tasks (only read for ECS metrics).
    tasks: Vec<TaskSample>,
}

/// What the stats of one RUNNING task are measured against.
struct TaskSample {
    container_ids: Vec<String>,
    cpu_units: f64,
    memory_mib: f64,
}

/// One evaluation pass: read, measure (async, no lock held), decide and write.
async fn evaluate(store: &Store, meter: &mut Meter) {
    let (watched, healthy) = store.read(|s| (watched_targets(s), counted_targets(s)));
    if watched.is_empty() {
        meter.forget_all();
        return;
    }

    let mut metrics: BTreeMap<TargetKey, BTreeMap<String, Option<f64>>> = BTreeMap::new();
    let mut alb_rates: HashMap<String, Option<f64>> = HashMap::new();
    let mut live_containers = HashSet::new();
    for w in &watched {
        let needs_stats = w
            .policies
            .iter()
            .any(|(_, m)| matches!(m, Metric::EcsCpu | Metric::EcsMemory));
        let utilization = if needs_stats {
            live_containers.extend(w.tasks.iter().flat_map(|t| t.container_ids.clone()));
            meter.ecs_utilization(&w.tasks).await
        } else {
            Utilization::default()
        };
        let mut values = BTreeMap::new();
        for (name, metric) in &w.policies {
            let value = match metric {
                Metric::AlbRequestCountPerTarget { target_group_arn } => {
                    let targets = healthy.get(target_group_arn).copied().unwrap_or(0);
                    *alb_rates
                        .entry(target_group_arn.clone())
                        .or_insert_with(|| meter.alb_request_rate(target_group_arn, targets))
                }
                Metric::EcsCpu => utilization.cpu,
                Metric::EcsMemory => utilization.memory,
            };
            tracing::debug!(target = %w.key.resource_id, policy = %name, ?value, "auto scaling datapoint");
            values.insert(name.clone(), value);
        }
        metrics.insert(w.key.clone(), values);
    }
    meter.retain(&alb_rates, &live_containers);

    let config = store.config().clone();
    let now = OffsetDateTime::now_utc();
    store.modify(|s| {
        let mut changed = false;
        for (key, values) in &metrics {
            let Some(current) = ecs_service(s, key).map(|svc| svc.desired_count) else {
                continue;
            };
            let Some(target) = s.autoscaling.targets.get_mut(key) else {
                continue;
            };
            let Some(decision) = target.decide(values, current, now, &config) else {
                continue;
            };
            target.record(&decision, now);
            tracing::info!(
                target = %key.resource_id,
                from = current,
                to = decision.capacity,
                cause = %decision.cause,
                "auto scaling"
            );
            changed |= scale_service(s, key, decision.capacity, decision.cause, now);
        }
        changed
    });
}

fn watched_targets(state: &State) -> Vec<Watched> {
    state
        .autoscaling
        .targets
        .values()
        .filter(|t| !t.policies.is_empty())
        .filter_map(|t| {
            let service = ecs_service(state, &t.key)?;
            let group = service.task_group();
            let tasks = state
                .ecs
                .tasks
                .values()
                .filter(|task| {
                    task.cluster_arn == service.cluster_arn
                        && task.group.as_deref() == Some(group.as_str())
                        && task.last_status == TaskStatus::Running
                        && task.desired_status == TaskStatus::Running
                })
                .map(|task| TaskSample {
                    container_ids: task
                        .containers
                        .iter()
                        .filter(|c| c.last_status == TaskStatus::Running)
                        .filter_map(|c| c.runtime_id.clone())
                        .collect(),
                    cpu_units: task.definition.cpu_units().map(f64::from).unwrap_or(1024.0),
                    memory_mib: task.definition.memory_mib().map(f64::from).unwrap_or(512.0),
                })
                .collect();
            Some(Watched {
                key: t.key.clone(),
                policies: t
                    .policies
                    .values()
                    .map(|p| (p.name.clone(), p.metric.clone()))
                    .collect(),
                tasks,
            })
        })
        .collect()
}

/// Targets that share a group's requests, per target group: the healthy
/// ones, or when none is healthy the registered ones not draining (ALB
/// fails open to them).
fn counted_targets(state: &State) -> HashMap<String, usize> {
    state
        .elbv2
        .target_groups
        .values()
        .map(|tg| {
            let healthy = tg
                .registrations
                .iter()
                .filter(|r| !r.is_draining() && r.health.state == TargetState::Healthy)
                .count();
            let counted = if healthy > 0 {
                healthy
            } else {
                tg.registrations.iter().filter(|r| !r.is_draining()).count()
            };
            (tg.arn.clone(), counted)
        })
        .collect()
}

/// Average utilisation of a service's tasks, in percent.
#[derive(Debug, Default, Clone, Copy)]
struct Utilization {
    cpu: Option<f64>,
    memory: Option<f64>,
}

/// Request counters seen at the previous sample of one target group.
struct RequestSample {
    at: Instant,
    counts: HashMap<SocketAddr, u64>,
}

/// Cumulative CPU time of one container at its previous sample.
struct CpuSample {
    at: Instant,
    total_ns: u64,
}

/// Turns counters into rates: remembers the previous sample of each target
/// group and container between passes.
struct Meter {
    dataplane: Dataplane,
    docker: Docker,
    requests: HashMap<String, RequestSample>,
    cpu: HashMap<String, CpuSample>,
}

impl Meter {
    fn new(dataplane: Dataplane, docker: Docker) -> Self {
        Self {
            dataplane,
            docker,
            requests: HashMap::new(),
            cpu: HashMap::new(),
        }
    }

    /// Requests per counted target per minute since the previous sample;
    /// `None` on the first sample or with no target to count.
    fn alb_request_rate(&mut self, tg_arn: &str, targets: usize) -> Option<f64> {
        let now = Instant::now();
        let counts: HashMap<SocketAddr, u64> = self
            .dataplane
            .snapshot()
            .target_request_counts(tg_arn)
            .into_iter()
            .collect();
        let previous = self.requests.insert(
            tg_arn.to_string(),
            RequestSample {
                at: now,
                counts: counts.clone(),
            },
        )?;
        let requests = request_delta(&previous.counts, &counts);
        let elapsed = now.duration_since(previous.at).as_secs_f64();
        per_target_per_minute(requests, elapsed, targets)
    }

    /// CPU (from the change in cumulative CPU time since the previous
    /// sample) and memory of each task, averaged over the tasks measured.
    async fn ecs_utilization(&mut self, tasks: &[TaskSample]) -> Utilization {
        let mut cpu = vec![];
        let mut memory = vec![];
        for task in tasks {
            let samples = futures::future::join_all(
                task.container_ids.iter().map(|id| self.container_stats(id)),
            )
            .await;
            let now = Instant::now();
            let mut cores = Some(0.0);
            let mut bytes = Some(0.0);
            for (id, sample) in task.container_ids.iter().zip(samples) {
                let Some(sample) = sample else {
                    cores = None;
                    bytes = None;
                    continue;
                };
                let previous = self.cpu.insert(
                    id.clone(),
                    CpuSample {
                        at: now,
                        total_ns: sample.cpu_total_ns,
                    },
                );
                cores = match (cores, previous) {
                    (Some(sum), Some(p)) if sample.cpu_total_ns >= p.total_ns => {
                        let elapsed = now.duration_since(p.at).as_secs_f64();
                        (elapsed > 0.0).then(|| {
                            sum + (sample.cpu_total_ns - p.total_ns) as f64 / 1e9 / elapsed
                        })
                    }
                    _ => None,
                };
                bytes = bytes.map(|sum| sum + sample.memory_bytes);
            }
            if task.container_ids.is_empty() {
                continue;
            }
            if let Some(cores) = cores {
                cpu.push(cores / (task.cpu_units / 1024.0) * 100.0);
            }
            if let Some(bytes) = bytes {
                memory.push(bytes / (task.memory_mib * MIB) * 100.0);
            }
        }
        Utilization {
            cpu: average(&cpu),
            memory: average(&memory),
        }
    }

    /// One-shot stats of a container: cumulative CPU time and memory in use
    /// without page cache. `None` if Docker does not answer in time.
    async fn container_stats(&self, id: &str) -> Option<ContainerSample> {
        let options = StatsOptionsBuilder::new()
            .stream(false)
            .one_shot(true)
            .build();
        let mut stream = self.docker.stats(id, Some(options));
        let stats = match tokio::time::timeout(STATS_TIMEOUT, stream.next()).await {
            Ok(Some(Ok(stats))) => stats,
            Ok(Some(Err(e))) => {
                tracing::debug!(container = id, error = %e, "container stats failed");
                return None;
            }
            _ => return None,
        };
        let cpu_total_ns = stats.cpu_stats?.cpu_usage?.total_usage?;
        let memory = stats.memory_stats?;
        let cache = memory
            .stats
            .as_ref()
            .and_then(|s| CACHE_STATS.iter().find_map(|k| s.get(*k).copied()))
            .unwrap_or(0);
        let memory_bytes = memory.usage?.saturating_sub(cache) as f64;
        Some(ContainerSample {
            cpu_total_ns,
            memory_bytes,
        })
    }

    /// Forgets samples of target groups and containers no longer measured.
    fn retain(&mut self, groups: &HashMap<String, Option<f64>>, containers: &HashSet<String>) {
        self.requests.retain(|arn, _| groups.contains_key(arn));
        self.cpu.retain(|id, _| containers.contains(id));
    }

    fn forget_all(&mut self) {
        self.requests.clear();
        self.cpu.clear();
    }
}

struct ContainerSample {
    cpu_total_ns: u64,
    memory_bytes: f64,
}

/// Requests between two samples of a group's per-target counters. A target
/// new since the previous sample (or whose counter restarted because it was
/// registered again) counts from zero.
fn request_delta(previous: &HashMap<SocketAddr, u64>, now: &HashMap<SocketAddr, u64>) -> u64 {
    now.iter()
        .map(|(addr, &count)| match previous.get(addr) {
            Some(&before) if before <= count => count - before,
            _ => count,
        })
        .sum()
}

/// `requests` over `elapsed_secs` of real time, per target, per minute.
fn per_target_per_minute(requests: u64, elapsed_secs: f64, targets: usize) -> Option<f64> {
    (targets > 0 && elapsed_secs > 0.0)
        .then(|| requests as f64 * 60.0 / elapsed_secs / targets as f64)
}

fn average(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([10, 0, 0, 1], port))
    }

    #[test]
    fn request_deltas_survive_new_and_restarted_targets() {
        let before = HashMap::from([(addr(1), 10), (addr(2), 50)]);
        // Target 2 was deregistered and registered again (counter restarted
        // at 5); target 3 is new; a vanished target adds nothing.
        let now = HashMap::from([(addr(1), 25), (addr(2), 5), (addr(3), 7)]);
        assert_eq!(request_delta(&before, &now), 15 + 5 + 7);
        assert_eq!(request_delta(&HashMap::new(), &HashMap::new()), 0);
    }

    #[test]
    fn request_rates_are_per_target_per_real_minute() {
        // 120 requests in 3 s to 2 targets: 40 req/s, 1200 per target-minute.
        assert_eq!(per_target_per_minute(120, 3.0, 2), Some(1200.0));
        assert_eq!(per_target_per_minute(0, 3.0, 2), Some(0.0));
        assert_eq!(per_target_per_minute(120, 3.0, 0), None);
        assert_eq!(per_target_per_minute(120, 0.0, 1), None);
    }

    #[test]
    fn averages_skip_empty_sets() {
        assert_eq!(average(&[]), None);
        assert_eq!(average(&[10.0, 30.0]), Some(20.0));
    }
}
