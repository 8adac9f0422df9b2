//! The task runner: drives each task through its lifecycle on Docker
//! and records what it observes in the store.
//!
//! One driver per task owns that task's containers from PROVISIONING to
//! STOPPED. API handlers never touch Docker: RunTask inserts a PROVISIONING
//! task and StopTask sets `desiredStatus=STOPPED`; drivers see both through
//! the store's change notifications.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use bollard::models::{ContainerStateStatusEnum, HealthStatusEnum};
use time::OffsetDateTime;
use tokio_util::sync::{CancellationToken, DropGuard};
use tokio_util::task::TaskTracker;

use crate::dataplane::Dataplane;
use crate::domain::ecs::task::{AttachmentStatus, StopCode};
use crate::domain::ecs::{HealthStatus, KeyValuePair, Task, TaskStatus};
use crate::domain::Store;
use crate::runtime::docker::{
    self, DockerRuntime, Sandbox, LABEL_CLUSTER, LABEL_FAMILY, LABEL_REVISION, LABEL_TASK_ARN,
};
use crate::runtime::metadata::TaskEndpoints;
use crate::runtime::watch::{ContainerEvent, ContainerState};
use tokio::sync::broadcast::{self, error::RecvError};

mod adopt;
mod endpoint;
mod eni;
mod ordering;
mod service_connect;
mod spec;

pub use adopt::{adoptable, resumable};

/// ECS's default `stopTimeout`: SIGTERM, then SIGKILL 30 s later.
const DEFAULT_STOP_TIMEOUT_SECS: i64 = 30;
/// On emulator shutdown tasks get this long after SIGTERM, so Ctrl-C is quick.
const SHUTDOWN_STOP_TIMEOUT_SECS: i32 = 2;
/// How often container health (Docker health checks) is read.
const HEALTH_POLL_INTERVAL: Duration = Duration::from_millis(500);
/// How often a running task's containers are read, in case Docker's events
/// missed an end.
const CONTAINER_CHECK_INTERVAL: Duration = Duration::from_secs(5);
/// A container's `reason` when it was removed behind the emulator's back.
const CONTAINER_REMOVED_REASON: &str =
    "CannotInspectContainerError: the container was removed outside the emulator";
/// How often expired STOPPED tasks are forgotten.
const RETENTION_SWEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Handle on the task runner.
#[derive(Clone)]
pub struct TaskRunner {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    runtime: DockerRuntime,
    /// Serves the Service Connect endpoints inside tasks.
    dataplane: Dataplane,
    endpoints: Option<TaskEndpoints>,
    shutdown: CancellationToken,
    drivers: TaskTracker,
    /// Deaths and removals of this instance's containers.
    container_events: broadcast::Sender<ContainerEvent>,
    /// Set once entering tasks' network namespaces has failed for lack of
    /// rights: later tasks do not try again.
    no_namespace_endpoint: AtomicBool,
    /// The drivers started since the last reset (see [`TaskRunner::finish_forgotten`]).
    world: std::sync::Mutex<TaskTracker>,
}

/// Whether the emulator can serve endpoints inside tasks' namespaces;
/// warns once when it is asked to and cannot.
fn namespaces_enterable() -> bool {
    let can = crate::runtime::netns::can_enter();
    if !can {
        tracing::warn!(
            "cannot enter tasks' network namespaces (this needs root on a Linux Docker host): \
             task metadata is served on the task network's gateway instead, task roles' \
             credentials are given as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and \
             AWS_SESSION_TOKEN, Service Connect aliases refuse connections and Cloud Map \
             SRV records are not served"
        );
    }
    can
}

impl TaskRunner {
    pub fn new(
        store: Store,
        runtime: DockerRuntime,
        dataplane: Dataplane,
        endpoints: Option<TaskEndpoints>,
        shutdown: CancellationToken,
    ) -> Self {
        let container_events = runtime.watch_containers(shutdown.clone());
        Self {
            inner: Arc::new(Inner {
                container_events,
                store,
                runtime,
                dataplane,
                endpoints,
                shutdown,
                drivers: TaskTracker::new(),
                no_namespace_endpoint: AtomicBool::new(!namespaces_enterable()),
                world: Default::default(),
            }),
        }
    }

    /// Resumes the tasks `resumed` from the state file (see [`resumable`]),
    /// then watches the store and starts a driver for every new task.
    pub async fn run(self, resumed: Vec<String>) {
        let mut changes = self.inner.store.subscribe();
        let mut claimed: HashSet<String> = HashSet::new();
        for arn in resumed {
            claimed.insert(arn.clone());
            let runner = self.clone();
            let world = self.lock_world().clone();
            self.inner
                .drivers
                .spawn(world.track_future(async move { runner.resume(arn).await }));
        }
        let mut sweep = tokio::time::interval(RETENTION_SWEEP_INTERVAL);
        loop {
            let new_tasks: Vec<String> = self.inner.store.read(|s| {
                s.ecs
                    .tasks
                    .values()
                    .filter(|t| {
                        t.last_status == TaskStatus::Provisioning && !claimed.contains(&t.task_arn)
                    })
                    .map(|t| t.task_arn.clone())
                    .collect()
            });
            for arn in new_tasks {
                claimed.insert(arn.clone());
                let runner = self.clone();
                let world = self.lock_world().clone();
                self.inner
                    .drivers
                    .spawn(world.track_future(async move { runner.drive(arn).await }));
            }
            tokio::select! {
                _ = self.inner.shutdown.cancelled() => break,
                changed = changes.changed() => if changed.is_err() { break },
                _ = sweep.tick() => {
                    let now = OffsetDateTime::now_utc();
                    // `modify`: a sweep that removes nothing wakes no one
                    // (it runs every few seconds, idle or not).
                    self.inner.store.modify(|s| {
                        let before = s.ecs.tasks.len();
                        s.ecs.tasks.retain(|_, t| t.runtime.expires_at.is_none_or(|at| at > now));
                        s.ecs.tasks.len() != before
                    });
                    claimed.retain(|arn| self.inner.store.read(|s| s.ecs.tasks.contains_key(arn)));
                }
            }
        }
        self.inner.drivers.close();
        self.inner.drivers.wait().await;
    }

    /// Waits until every driver started before this call has finished. For
    /// a reset, after the store was replaced: those drivers' tasks are gone
    /// from it, so each one stops at its next step and removes the
    /// containers it made. A driver started after the store was replaced
    /// finds no task and does nothing, so it need not be waited for.
    pub async fn finish_forgotten(&self) {
        let old = std::mem::take(&mut *self.lock_world());
        old.close();
        old.wait().await;
    }

    fn lock_world(&self) -> std::sync::MutexGuard<'_, TaskTracker> {
        self.inner.world.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update<R>(&self, arn: &str, f: impl FnOnce(&mut Task) -> R) -> Option<R> {
        self.inner.store.write(|s| {
            s.ecs.tasks.get_mut(arn).map(|t| {
                let r = f(t);
                t.version += 1;
                r
            })
        })
    }

    fn snapshot(&self, arn: &str) -> Option<Task> {
        self.inner.store.read(|s| s.ecs.tasks.get(arn).cloned())
    }

    fn stop_requested(&self, arn: &str) -> bool {
        self.inner.store.read(|s| {
            s.ecs
                .tasks
                .get(arn)
                .is_none_or(|t| t.desired_status == TaskStatus::Stopped)
        })
    }

    async fn drive(&self, arn: String) {
        let mut containers: Vec<(String, String)> = vec![];
        let mut sandbox: Option<Sandbox> = None;
        let mut endpoints: Vec<DropGuard> = vec![];
        match self
            .start(&arn, &mut sandbox, &mut endpoints, &mut containers)
            .await
        {
            Ok(()) => {
                if let Some(sandbox) = &sandbox {
                    self.monitor(&arn, sandbox, &containers).await;
                }
            }
            Err(failure) => {
                tracing::warn!(task = %arn, reason = %failure, "task failed to start");
                self.update(&arn, |t| {
                    t.request_stop(StopCode::TaskFailedToStart, failure)
                });
            }
        }
        self.stop(&arn, sandbox.as_ref(), &containers).await;
        drop(endpoints);
    }

    /// PROVISIONING → PENDING → RUNNING. `Err` is the task's stoppedReason.
    async fn start(
        &self,
        arn: &str,
        sandbox_slot: &mut Option<Sandbox>,
        endpoint_slot: &mut Vec<DropGuard>,
        containers: &mut Vec<(String, String)>,
    ) -> Result<(), String> {
        // Read before the task: if the task is there, it is of this generation.
        let generation = self.inner.store.generation();
        let Some(task) = self.snapshot(arn) else {
            return Ok(());
        };
        let runtime = &self.inner.runtime;
        let labels = task_labels(&task);
        let eni = self.create_eni(&task)?;
        let address = match self.sandbox_address(&task, &eni).await {
            Ok(address) => address,
            Err(e) => {
                self.delete_eni(&task);
                return Err(e);
            }
        };
        let sandbox = runtime
            .create_sandbox(task.id(), &labels, &address)
            .await
            .map_err(|e| format!("ResourceInitializationError: failed to configure ENI: {e}"))?;
        *sandbox_slot = Some(sandbox.clone());
        self.update(arn, |t| {
            t.runtime.sandbox_id = Some(sandbox.container_id.clone());
            let ip = sandbox.ip.to_string();
            let octets = ip.replace('.', "-");
            let gateway = eni
                .subnet_cidr
                .hosts()
                .next()
                .unwrap_or(eni.subnet_cidr.addr());
            if let Some(attachment) = t.attachments.first_mut() {
                attachment.status = AttachmentStatus::Attached;
                let mut details = vec![
                    kv("networkInterfaceId", eni.id.clone()),
                    kv("macAddress", eni.mac.clone()),
                    kv(
                        "privateDnsName",
                        eni::private_dns_name(&eni.region, &octets),
                    ),
                    kv("privateIPv4Address", ip.clone()),
                    kv("subnetCidrBlock", eni.subnet_cidr.to_string()),
                    kv(
                        "subnetGatewayIpv4Address",
                        format!("{gateway}/{}", eni.subnet_cidr.prefix_len()),
                    ),
                ];
                attachment.details.retain(|d| d.name == "subnetId");
                attachment.details.append(&mut details);
                let attachment_id = attachment.id.clone();
                for c in &mut t.containers {
                    c.network_interfaces = vec![crate::domain::ecs::task::NetworkInterface {
                        attachment_id: attachment_id.clone(),
                        private_ipv4_address: ip.clone(),
                    }];
                }
            }
            t.connectivity = Some("CONNECTED");
            t.connectivity_at = Some(OffsetDateTime::now_utc());
            t.advance(TaskStatus::Pending);
            t.pull_started_at = Some(OffsetDateTime::now_utc());
        });

        let (endpoint, endpoint_env) = self.task_endpoint(&task, &sandbox).await;
        endpoint_slot.extend(endpoint);
        endpoint_slot.extend(self.serve_service_connect(&task, &sandbox).await);
        // Read again: the ENI's VPC is in it now.
        if let Some(attached) = self.snapshot(arn) {
            endpoint_slot.extend(self.serve_task_dns(&attached, &sandbox).await);
        }

        // Fargate fetches secrets after attaching the ENI, before pulling.
        let secrets = self
            .resolve_secrets(&task)
            .map_err(|detail| format!("ResourceInitializationError: {detail}"))?;

        for image in unique_images(&task) {
            if self.stop_requested(arn) {
                return Ok(());
            }
            if !runtime.image_present(&image).await {
                tracing::info!(task = %arn, %image, "image not present locally, pulling");
                if let Err(e) = runtime.pull_image(&image).await {
                    return Err(format!(
                        "CannotPullContainerError: pull image manifest has been retried 1 time(s): failed to resolve ref {image}: {e}"
                    ));
                }
            }
        }
        self.update(arn, |t| t.pull_stopped_at = Some(OffsetDateTime::now_utc()));

        let volumes = self.prepare_volumes(&task).await?;
        // A container is created after those it takes volumes from: Docker
        // needs them to exist.
        let mut to_create: Vec<_> = task.definition.container_definitions.iter().collect();
        while !to_create.is_empty() {
            let ready = to_create
                .iter()
                .position(|def| {
                    def.volumes_from.iter().all(|from| {
                        containers
                            .iter()
                            .any(|(name, _)| *name == from.source_container)
                    })
                })
                .unwrap_or(0);
            let def = to_create.remove(ready);
            let spec = self.container_spec(&task, def, &secrets, &endpoint_env, &volumes);
            let id = runtime
                .create_container(task.id(), &sandbox, &spec)
                .await
                .map_err(|e| format!("CannotCreateContainerError: {e}"))?;
            containers.push((def.name.clone(), id.clone()));
            self.update(arn, |t| {
                if let Some(c) = t.containers.iter_mut().find(|c| c.name == def.name) {
                    c.runtime_id = Some(id.clone());
                }
            });
        }
        if self.stop_requested(arn) {
            return Ok(());
        }
        self.start_in_order(arn, &task, containers, generation)
            .await?;
        // An essential container that exited, or never could start, has
        // asked for the stop: the task never ran.
        if self.stop_requested(arn) {
            return Ok(());
        }
        self.update(arn, |t| {
            t.started_at = Some(OffsetDateTime::now_utc());
            t.advance(TaskStatus::Running);
        });
        tracing::info!(task = %arn, ip = %sandbox.ip, "task running");
        Ok(())
    }

    /// RUNNING until a stop is requested, or until an essential container
    /// or the sandbox holding the task's network ends, whoever ended it
    /// (Docker's events say so at once; reading the state every few seconds
    /// catches whatever the events missed).
    async fn monitor(&self, arn: &str, sandbox: &Sandbox, containers: &[(String, String)]) {
        let mut events = self.inner.container_events.subscribe();
        let mut changes = self.inner.store.subscribe();
        let has_health = containers.iter().any(|(name, _)| {
            self.snapshot(arn)
                .and_then(|t| {
                    t.definition
                        .container(name)
                        .map(|d| d.health_check.is_some())
                })
                .unwrap_or(false)
        });
        let mut health_tick = tokio::time::interval(HEALTH_POLL_INTERVAL);
        // The first tick is at once: it catches an exit before `subscribe`.
        let mut state_check = tokio::time::interval(CONTAINER_CHECK_INTERVAL);
        state_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let ours = |id: &str| id == sandbox.container_id || containers.iter().any(|(_, c)| c == id);
        loop {
            if self.stop_requested(arn) {
                return;
            }
            tokio::select! {
                _ = self.inner.shutdown.cancelled() => return,
                changed = changes.changed() => if changed.is_err() { return },
                event = events.recv() => match event {
                    Ok(ContainerEvent::Ended(id)) if ours(&id) => {
                        self.check_containers(arn, sandbox, containers).await;
                    }
                    Ok(ContainerEvent::Ended(_)) => {}
                    Ok(ContainerEvent::Resync) | Err(RecvError::Lagged(_)) => {
                        self.check_containers(arn, sandbox, containers).await;
                    }
                    Err(RecvError::Closed) => return,
                },
                _ = state_check.tick() => self.check_containers(arn, sandbox, containers).await,
                _ = health_tick.tick(), if has_health => {
                    self.refresh_health(arn, containers).await;
                }
            }
        }
    }

    /// Records every container that is no longer running. The sandbox
    /// counts as an essential container, as the ECS agent's pause
    /// container does: without it the task has no network.
    async fn check_containers(
        &self,
        arn: &str,
        sandbox: &Sandbox,
        containers: &[(String, String)],
    ) {
        let runtime = &self.inner.runtime;
        let running: Vec<&(String, String)> = self.inner.store.read(|s| {
            let task = s.ecs.tasks.get(arn);
            containers
                .iter()
                .filter(|(name, _)| {
                    task.and_then(|t| t.containers.iter().find(|c| &c.name == name))
                        .is_some_and(|c| c.last_status != TaskStatus::Stopped)
                })
                .collect()
        });
        for (name, id) in running {
            self.check_container(arn, name, id).await;
        }
        if matches!(
            runtime.container_state(&sandbox.container_id).await,
            ContainerState::Ended(_) | ContainerState::Removed
        ) {
            tracing::warn!(task = %arn, "the task's sandbox (its network) ended");
            self.update(arn, |t| {
                if t.desired_status != TaskStatus::Stopped {
                    t.request_stop(
                        StopCode::EssentialContainerExited,
                        "Essential container in task exited",
                    );
                }
            });
        }
    }

    /// Reads one container and records its end if it has ended: its exit
    /// code then (`Some(None)` without one, as for a removed container), or
    /// `None` while it runs or the engine does not answer.
    async fn check_container(&self, arn: &str, name: &str, id: &str) -> Option<Option<i64>> {
        match self.inner.runtime.container_state(id).await {
            ContainerState::Running | ContainerState::Unknown => None,
            ContainerState::Ended(exit) => {
                self.record_exit(arn, name, &exit, None);
                Some(exit.exit_code)
            }
            ContainerState::Removed => {
                let exit = docker::ContainerExit {
                    exit_code: None,
                    oom_killed: false,
                };
                self.record_exit(arn, name, &exit, Some(CONTAINER_REMOVED_REASON));
                Some(None)
            }
        }
    }

    /// `reason` overrides the container's reason (else OutOfMemoryError, if
    /// it was OOM-killed).
    fn record_exit(
        &self,
        arn: &str,
        name: &str,
        exit: &docker::ContainerExit,
        reason: Option<&str>,
    ) {
        self.update(arn, |t| {
            let Some(c) = t.containers.iter_mut().find(|c| c.name == name) else {
                return;
            };
            if c.last_status == TaskStatus::Stopped {
                return;
            }
            c.last_status = TaskStatus::Stopped;
            c.exit_code = exit.exit_code;
            if let Some(reason) = reason {
                c.reason = Some(reason.into());
            } else if exit.oom_killed {
                c.reason = Some("OutOfMemoryError: Container killed due to memory usage".into());
            }
            let essential = c.essential;
            if essential {
                let reason = if exit.oom_killed {
                    "OutOfMemoryError: Container killed due to memory usage".to_string()
                } else {
                    "Essential container in task exited".to_string()
                };
                t.request_stop(StopCode::EssentialContainerExited, reason);
            }
        });
    }

    /// Reads the health of `containers` and records what changed; each
    /// one's status by name.
    async fn refresh_health(
        &self,
        arn: &str,
        containers: &[(String, String)],
    ) -> HashMap<String, HealthStatus> {
        let mut statuses = HashMap::new();
        for (name, id) in containers {
            let health = self
                .inner
                .runtime
                .inspect(id)
                .await
                .ok()
                .and_then(|i| i.state)
                .and_then(|s| s.health)
                .and_then(|h| h.status);
            let status = match health {
                Some(HealthStatusEnum::HEALTHY) => HealthStatus::Healthy,
                Some(HealthStatusEnum::UNHEALTHY) => HealthStatus::Unhealthy,
                _ => HealthStatus::Unknown,
            };
            statuses.insert(name.clone(), status);
        }
        let changed = self.inner.store.read(|s| {
            s.ecs.tasks.get(arn).is_some_and(|t| {
                t.containers
                    .iter()
                    .any(|c| statuses.get(&c.name).is_some_and(|s| *s != c.health_status))
            })
        });
        if changed {
            self.update(arn, |t| {
                for c in &mut t.containers {
                    if let Some(status) = statuses.get(&c.name) {
                        c.health_status = *status;
                    }
                }
                t.refresh_health();
            });
        }
        statuses
    }

    /// Waits in DEACTIVATING until the service scheduler has drained the
    /// task's targets (AWS waits for the target to be `unused`).
    async fn wait_for_drain(&self, arn: &str) {
        let mut changes = self.inner.store.subscribe();
        loop {
            let drained = self.inner.store.read(|s| {
                s.ecs
                    .tasks
                    .get(arn)
                    .is_none_or(|t| t.runtime.targets.is_empty())
            });
            if drained {
                return;
            }
            tokio::select! {
                _ = self.inner.shutdown.cancelled() => return,
                changed = changes.changed() => if changed.is_err() { return },
            }
        }
    }

    /// DEACTIVATING → STOPPING → DEPROVISIONING → STOPPED, removing every container.
    async fn stop(&self, arn: &str, sandbox: Option<&Sandbox>, containers: &[(String, String)]) {
        self.wait_for_drain(arn).await;
        let shutting_down = self.inner.shutdown.is_cancelled();
        // Only a reset takes a task from under its driver: nobody can see it
        // any more, so its containers are killed at once.
        let forgotten = self.snapshot(arn).is_none();
        self.update(arn, |t| {
            if t.desired_status != TaskStatus::Stopped {
                t.request_stop(StopCode::UserInitiated, "Emulator shutting down");
            }
            t.stopping_at = Some(OffsetDateTime::now_utc());
            t.advance(TaskStatus::Stopping);
        });
        let runtime = &self.inner.runtime;
        let timeouts: HashMap<String, i32> = self
            .snapshot(arn)
            .map(|t| {
                t.definition
                    .container_definitions
                    .iter()
                    .map(|d| {
                        (
                            d.name.clone(),
                            d.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT_SECS) as i32,
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let results = self
            .stop_in_order(arn, containers, |name| {
                if forgotten {
                    0
                } else if shutting_down {
                    SHUTDOWN_STOP_TIMEOUT_SECS
                } else {
                    timeouts
                        .get(name)
                        .copied()
                        .unwrap_or(DEFAULT_STOP_TIMEOUT_SECS as i32)
                }
            })
            .await;
        self.update(arn, |t| {
            for (name, state) in results {
                let Some(c) = t.containers.iter_mut().find(|c| c.name == name) else {
                    continue;
                };
                // A container that never started (its turn never came) has
                // no exit code, though Docker reports 0 for it.
                let ran = state
                    .as_ref()
                    .is_some_and(|s| s.status != Some(ContainerStateStatusEnum::CREATED));
                if c.last_status != TaskStatus::Stopped && ran {
                    c.last_status = TaskStatus::Stopped;
                    c.exit_code = state.as_ref().and_then(|s| s.exit_code);
                    if state.as_ref().and_then(|s| s.oom_killed).unwrap_or(false) {
                        c.reason =
                            Some("OutOfMemoryError: Container killed due to memory usage".into());
                    }
                }
            }
            for c in &mut t.containers {
                c.last_status = TaskStatus::Stopped;
            }
            t.execution_stopped_at = Some(OffsetDateTime::now_utc());
            t.advance(TaskStatus::Deprovisioning);
            if let Some(eni) = t.attachments.first_mut() {
                eni.status = AttachmentStatus::Detaching;
            }
        });
        for (_, id) in containers {
            runtime.remove_container(id).await;
        }
        if let Some(sandbox) = sandbox {
            runtime.remove_container(&sandbox.container_id).await;
        }
        if self
            .snapshot(arn)
            .is_none_or(|t| !t.definition.volumes.is_empty())
        {
            runtime.remove_task_volumes(arn).await;
        }
        if let Some(task) = self.snapshot(arn) {
            self.delete_eni(&task);
        }
        let retention = self.inner.store.config().scaled(Duration::from_secs(
            self.inner.store.config().stopped_task_retention_secs,
        ));
        self.update(arn, |t| {
            if let Some(eni) = t.attachments.first_mut() {
                eni.status = AttachmentStatus::Deleted;
            }
            t.stopped_at = Some(OffsetDateTime::now_utc());
            t.runtime.expires_at = Some(OffsetDateTime::now_utc() + retention);
            t.advance(TaskStatus::Stopped);
        });
        tracing::info!(task = %arn, "task stopped");
    }
}

/// The awslogs destination of a container, if its definition asks for one.
pub(super) fn log_destination(task: &Task, container: &str) -> Option<super::logs::LogDestination> {
    let config = task
        .definition
        .container(container)?
        .log_configuration
        .as_ref()?;
    if config.log_driver != "awslogs" {
        return None;
    }
    let group = config.options.get("awslogs-group")?.clone();
    let stream = match config.options.get("awslogs-stream-prefix") {
        Some(prefix) => format!("{prefix}/{container}/{}", task.id()),
        // Without a prefix AWS names the stream after the container id.
        None => task.id().to_string(),
    };
    Some(super::logs::LogDestination { group, stream })
}

fn kv(name: &str, value: String) -> KeyValuePair {
    KeyValuePair {
        name: name.into(),
        value,
    }
}

fn task_labels(task: &Task) -> HashMap<String, String> {
    HashMap::from([
        (LABEL_TASK_ARN.to_string(), task.task_arn.clone()),
        (LABEL_CLUSTER.to_string(), task.cluster_arn.clone()),
        (LABEL_FAMILY.to_string(), task.definition.family.clone()),
        (
            LABEL_REVISION.to_string(),
            task.definition.revision.to_string(),
        ),
    ])
}

fn unique_images(task: &Task) -> Vec<String> {
    let mut seen = HashSet::new();
    task.definition
        .container_definitions
        .iter()
        .map(|c| c.image.clone())
        .filter(|i| seen.insert(i.clone()))
        .collect()
}
