//! Starting a task's containers in `dependsOn` order, and stopping them in
//! the reverse order (the rules themselves are in
//! [`crate::domain::ecs::dependencies`]).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use tokio::sync::broadcast::error::RecvError;

use super::{log_destination, TaskRunner};
use crate::domain::ecs::dependencies::{gate, stop_waves, Gate, Progress};
use crate::domain::ecs::task::StopCode;
use crate::domain::ecs::{HealthStatus, Task, TaskStatus};

/// How often the started containers are read while others wait on them
/// (Docker's events cut the wait short when one ends).
const DEPENDENCY_POLL_INTERVAL: Duration = Duration::from_millis(250);
/// The exit code the ECS agent gives a container it stops because its
/// dependencies can never be met (Docker's code for SIGTERM).
const ABANDONED_EXIT_CODE: i64 = 143;

impl TaskRunner {
    /// Starts each container once its `dependsOn` conditions hold, those
    /// ready together in definition order, and returns once every container
    /// has started or been given up on. A container whose dependencies can
    /// never be met is stopped unstarted, as the agent does; if it is
    /// essential, the task stops. `Err` is the task's stoppedReason.
    pub(super) async fn start_in_order(
        &self,
        arn: &str,
        task: &Task,
        containers: &[(String, String)],
        generation: u64,
    ) -> Result<(), String> {
        let mut progress: HashMap<String, Progress> = containers
            .iter()
            .map(|(name, _)| (name.clone(), Progress::default()))
            .collect();
        let mut started_at: HashMap<&str, Instant> = HashMap::new();
        let mut pending: Vec<&(String, String)> = containers.iter().collect();
        let mut events = self.inner.container_events.subscribe();
        let mut poll = tokio::time::interval(DEPENDENCY_POLL_INTERVAL);
        loop {
            // One container starting or given up on can open another's gate.
            loop {
                let next = pending.iter().enumerate().find_map(|(i, (name, _))| {
                    match task.definition.container(name).map(|d| gate(d, &progress)) {
                        Some(Gate::Wait) => None,
                        Some(verdict) => Some((i, verdict)),
                        // Not in the definition: nothing holds it back.
                        None => Some((i, Gate::Open)),
                    }
                });
                let Some((index, verdict)) = next else {
                    break;
                };
                let (name, id) = pending.remove(index);
                let Some(p) = progress.get_mut(name) else {
                    continue;
                };
                match verdict {
                    Gate::Open => {
                        self.start_one(arn, task, name, id, generation).await?;
                        p.started = true;
                        started_at.insert(name, Instant::now());
                    }
                    Gate::Never(detail) => {
                        p.abandoned = true;
                        self.abandon(arn, name, &detail);
                    }
                    Gate::Wait => unreachable!("waiting containers are not picked"),
                }
            }
            if pending.is_empty() || self.stop_requested(arn) {
                return Ok(());
            }
            tokio::select! {
                _ = self.inner.shutdown.cancelled() => return Ok(()),
                _ = poll.tick() => {}
                event = events.recv() => if let Err(RecvError::Closed) = event {
                    return Ok(());
                },
            }
            self.observe_started(arn, task, containers, &started_at, &mut progress)
                .await;
        }
    }

    /// Reads the started containers that have not ended: their exits (each
    /// recorded, so an essential one stops the task), health, and whether
    /// their `startTimeout` has passed.
    async fn observe_started(
        &self,
        arn: &str,
        task: &Task,
        containers: &[(String, String)],
        started_at: &HashMap<&str, Instant>,
        progress: &mut HashMap<String, Progress>,
    ) {
        let config = self.inner.store.config();
        let running: Vec<(String, String)> = containers
            .iter()
            .filter(|(name, _)| {
                progress
                    .get(name)
                    .is_some_and(|p| p.started && p.exited.is_none())
            })
            .cloned()
            .collect();
        // Only a container with a health check has a health to read.
        let checked: Vec<(String, String)> = running
            .iter()
            .filter(|(name, _)| {
                task.definition
                    .container(name)
                    .is_some_and(|d| d.health_check.is_some())
            })
            .cloned()
            .collect();
        let health = self.refresh_health(arn, &checked).await;
        for (name, id) in &running {
            let Some(p) = progress.get_mut(name) else {
                continue;
            };
            if let Some(exit_code) = self.check_container(arn, name, id).await {
                p.exited = Some(exit_code);
            }
            p.healthy = health.get(name) == Some(&HealthStatus::Healthy);
            let timeout = task
                .definition
                .container(name)
                .and_then(|d| d.start_timeout)
                .map(|secs| config.scaled(Duration::from_secs(secs.max(0) as u64)));
            p.timed_out = match (timeout, started_at.get(name.as_str())) {
                (Some(timeout), Some(at)) => at.elapsed() >= timeout,
                _ => false,
            };
        }
    }

    /// Starts one container: Docker start, log shipping, RUNNING.
    async fn start_one(
        &self,
        arn: &str,
        task: &Task,
        name: &str,
        id: &str,
        generation: u64,
    ) -> Result<(), String> {
        let runtime = &self.inner.runtime;
        runtime
            .start_container(id)
            .await
            .map_err(|e| format!("CannotStartContainerError: {name}: {e}"))?;
        if let Some(destination) = log_destination(task, name) {
            super::super::logs::ship(
                self.inner.store.clone(),
                runtime.clone(),
                id.to_string(),
                destination,
                generation,
            );
        }
        let digest = runtime.inspect(id).await.ok().and_then(|i| i.image);
        self.update(arn, |t| {
            if let Some(c) = t.containers.iter_mut().find(|c| c.name == name) {
                c.last_status = TaskStatus::Running;
                c.image_digest = digest;
            }
        });
        Ok(())
    }

    /// Marks a container whose dependencies can never be met as stopped,
    /// unstarted, with the agent's reason and exit code.
    fn abandon(&self, arn: &str, name: &str, detail: &str) {
        tracing::warn!(task = %arn, container = %name, %detail, "container will never start");
        self.update(arn, |t| {
            let Some(c) = t.containers.iter_mut().find(|c| c.name == name) else {
                return;
            };
            c.last_status = TaskStatus::Stopped;
            c.exit_code = Some(ABANDONED_EXIT_CODE);
            c.reason = Some(format!("CannotStartContainerError: {detail}"));
            if c.essential {
                t.request_stop(
                    StopCode::EssentialContainerExited,
                    "Essential container in task exited",
                );
            }
        });
    }

    /// Stops the containers in waves, those that depend on others first;
    /// each container's own stop timeout applies. How each one ended, by name.
    pub(super) async fn stop_in_order(
        &self,
        arn: &str,
        containers: &[(String, String)],
        timeout_of: impl Fn(&str) -> i32,
    ) -> Vec<(String, Option<bollard::models::ContainerState>)> {
        let mut waves = match self.snapshot(arn) {
            Some(task) => stop_waves(&task.definition.container_definitions),
            // Forgotten by a reset: no order to keep.
            None => vec![],
        };
        let unordered: Vec<String> = containers
            .iter()
            .map(|(name, _)| name.clone())
            .filter(|name| !waves.iter().any(|w| w.contains(name)))
            .collect();
        waves.push(unordered);
        let runtime = &self.inner.runtime;
        let mut ended = Vec::with_capacity(containers.len());
        for wave in waves {
            let stops = containers
                .iter()
                .filter(|(name, _)| wave.contains(name))
                .map(|(name, id)| {
                    let timeout = timeout_of(name);
                    async move {
                        let _ = runtime.stop_container(id, timeout).await;
                        let state = runtime.inspect(id).await.ok().and_then(|i| i.state);
                        (name.clone(), state)
                    }
                });
            ended.extend(join_all(stops).await);
        }
        ended
    }
}
