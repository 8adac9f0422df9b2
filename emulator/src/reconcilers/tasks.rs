//! The task runner: drives each task through its lifecycle on Docker
//! (aws-semantics C1) and records what it observes in the store.
//!
//! One driver per task owns that task's containers from PROVISIONING to
//! STOPPED. API handlers never touch Docker: RunTask inserts a PROVISIONING
//! task and StopTask sets `desiredStatus=STOPPED`; drivers see both through
//! the store's change notifications.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use bollard::models::{HealthConfig, HealthStatusEnum};
use futures::stream::FuturesUnordered;
use futures::StreamExt;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::domain::ecs::task::StopCode;
use crate::domain::ecs::task_definition::SecretSource;
use crate::domain::ecs::{KeyValuePair, Task, TaskStatus};
use crate::domain::Store;
use crate::runtime::docker::{
    self, ContainerSpec, DockerRuntime, Sandbox, SandboxAddress, LABEL_CLUSTER,
    LABEL_CONTAINER_NAME, LABEL_FAMILY, LABEL_REVISION, LABEL_TASK_ARN,
};
use crate::runtime::metadata::{self, TaskEndpoints};

/// A task's ENI as created in EC2.
struct TaskEni {
    id: String,
    region: String,
    ip: std::net::Ipv4Addr,
    mac: String,
    subnet_cidr: ipnet::Ipv4Net,
    vpc_id: String,
    vpc_cidr: ipnet::Ipv4Net,
    default_vpc: bool,
}

/// `ip-10-0-1-5.ec2.internal` in us-east-1, `ip-….REGION.compute.internal`
/// elsewhere, as EC2 names private addresses.
fn private_dns_name(region: &str, octets: &str) -> String {
    if region == "us-east-1" {
        format!("ip-{octets}.ec2.internal")
    } else {
        format!("ip-{octets}.{region}.compute.internal")
    }
}

/// ECS's default `stopTimeout`: SIGTERM, then SIGKILL 30 s later.
const DEFAULT_STOP_TIMEOUT_SECS: i64 = 30;
/// On emulator shutdown tasks get this long after SIGTERM, so Ctrl-C is quick.
const SHUTDOWN_STOP_TIMEOUT_SECS: i32 = 2;
/// How often container health (Docker health checks) is read.
const HEALTH_POLL_INTERVAL: Duration = Duration::from_millis(500);
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
    endpoints: Option<TaskEndpoints>,
    shutdown: CancellationToken,
    drivers: TaskTracker,
    /// The drivers started since the last reset (see [`TaskRunner::finish_forgotten`]).
    world: std::sync::Mutex<TaskTracker>,
}

impl TaskRunner {
    pub fn new(
        store: Store,
        runtime: DockerRuntime,
        endpoints: Option<TaskEndpoints>,
        shutdown: CancellationToken,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                runtime,
                endpoints,
                shutdown,
                drivers: TaskTracker::new(),
                world: Default::default(),
            }),
        }
    }

    /// Watches the store and starts a driver for every new task.
    pub async fn run(self) {
        let mut changes = self.inner.store.subscribe();
        let mut claimed: HashSet<String> = HashSet::new();
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
        match self.start(&arn, &mut sandbox, &mut containers).await {
            Ok(()) => self.monitor(&arn, &containers).await,
            Err(failure) => {
                tracing::warn!(task = %arn, reason = %failure, "task failed to start");
                self.update(&arn, |t| {
                    t.request_stop(StopCode::TaskFailedToStart, failure)
                });
            }
        }
        self.stop(&arn, sandbox.as_ref(), &containers).await;
    }

    /// PROVISIONING → PENDING → RUNNING. `Err` is the task's stoppedReason.
    async fn start(
        &self,
        arn: &str,
        sandbox_slot: &mut Option<Sandbox>,
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
            t.runtime.metadata_base = self.inner.endpoints.as_ref().map(|e| e.metadata_v4.clone());
            let ip = sandbox.ip.to_string();
            let octets = ip.replace('.', "-");
            let gateway = eni
                .subnet_cidr
                .hosts()
                .next()
                .unwrap_or(eni.subnet_cidr.addr());
            if let Some(attachment) = t.attachments.first_mut() {
                attachment.status = "ATTACHED";
                let mut details = vec![
                    kv("networkInterfaceId", eni.id.clone()),
                    kv("macAddress", eni.mac.clone()),
                    kv("privateDnsName", private_dns_name(&eni.region, &octets)),
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

        for def in &task.definition.container_definitions {
            let spec = self.container_spec(&task, def, &secrets);
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
        for (name, id) in containers.iter() {
            runtime
                .start_container(id)
                .await
                .map_err(|e| format!("CannotStartContainerError: {name}: {e}"))?;
            if let Some(destination) = log_destination(&task, name) {
                super::logs::ship(
                    self.inner.store.clone(),
                    runtime.clone(),
                    id.clone(),
                    destination,
                    generation,
                );
            }
            let digest = runtime.inspect(id).await.ok().and_then(|i| i.image);
            self.update(arn, |t| {
                if let Some(c) = t.containers.iter_mut().find(|c| &c.name == name) {
                    c.last_status = TaskStatus::Running;
                    c.image_digest = digest;
                }
            });
        }
        self.update(arn, |t| {
            t.started_at = Some(OffsetDateTime::now_utc());
            t.advance(TaskStatus::Running);
        });
        tracing::info!(task = %arn, ip = %sandbox.ip, "task running");
        Ok(())
    }

    /// Creates the task's ENI in EC2: a private IP from its subnet, its
    /// security groups. `Err` is the task's stoppedReason.
    fn create_eni(&self, task: &Task) -> Result<TaskEni, String> {
        let region =
            crate::domain::arn::region_of(&task.task_arn).unwrap_or(crate::config::DEFAULT_REGION);
        let account = self.inner.store.config().account_id.clone();
        let subnet_id = task
            .attachments
            .first()
            .and_then(|a| a.details.iter().find(|d| d.name == "subnetId"))
            .map(|d| d.value.clone())
            .unwrap_or_default();
        let attachment_id = task
            .attachments
            .first()
            .map(|a| a.id.clone())
            .unwrap_or_default();
        let default_network = self.inner.runtime.network().clone();
        let eni = self.inner.store.write(|s| {
            if !s.ecs.tasks.contains_key(&task.task_arn) {
                // Reset away: its ENI would land in the fresh state.
                return Err(crate::domain::ec2::Ec2Error::InvalidParameterValue(
                    "the task no longer exists".into(),
                ));
            }
            let ec2 = s.ec2.region(region, &account);
            let subnet = ec2.resolve_subnet(&subnet_id)?.clone();
            let vpc = crate::domain::ec2::lookup(
                &ec2.vpcs,
                crate::domain::ec2::ids::Kind::Vpc,
                &subnet.vpc_id,
            )?
            .clone();
            // The Docker network's gateway (the host) and the emulator's own
            // address are taken on the default VPC's network; a VPC network's
            // gateway is its first address.
            let gateway = if vpc.is_default {
                default_network.gateway
            } else {
                vpc.cidr.hosts().next().unwrap_or(vpc.cidr.addr())
            };
            let emulator_ip = default_network.emulator_ip;
            let taken = move |ip: std::net::Ipv4Addr| ip == gateway || Some(ip) == emulator_ip;
            let eni = ec2.create_task_interface(
                &subnet.id,
                &task.runtime.security_groups,
                &attachment_id,
                &taken,
                &[],
            )?;
            if let Some(t) = s.ecs.tasks.get_mut(&task.task_arn) {
                t.runtime.eni_id = Some(eni.id.clone());
            }
            Ok::<_, crate::domain::ec2::Ec2Error>(TaskEni {
                id: eni.id,
                region: region.to_string(),
                ip: eni.private_ip,
                mac: eni.mac_address,
                subnet_cidr: subnet.cidr,
                vpc_id: vpc.id,
                vpc_cidr: vpc.cidr,
                default_vpc: vpc.is_default,
            })
        });
        eni.map_err(|e| format!("ResourceInitializationError: failed to configure ENI: {e}"))
    }

    /// The Docker network and address of the task's sandbox.
    async fn sandbox_address(&self, task: &Task, eni: &TaskEni) -> Result<SandboxAddress, String> {
        let runtime = &self.inner.runtime;
        let network = if eni.default_vpc {
            runtime.network().clone()
        } else {
            runtime
                .vpc_network(&eni.vpc_id, eni.vpc_cidr)
                .await
                .map_err(|e| {
                    tracing::warn!(task = %task.task_arn, vpc = %eni.vpc_id, error = %e, "no network for the VPC");
                    format!("ResourceInitializationError: failed to configure ENI: network of {}: {e}", eni.vpc_id)
                })?
        };
        Ok(SandboxAddress {
            network,
            ip: eni.ip,
            mac: eni.mac.clone(),
        })
    }

    /// Deletes the task's ENI from EC2, freeing its IP.
    fn delete_eni(&self, task: &Task) {
        let region = crate::domain::arn::region_of(&task.task_arn)
            .unwrap_or(crate::config::DEFAULT_REGION)
            .to_string();
        let account = self.inner.store.config().account_id.clone();
        self.inner.store.write(|s| {
            let eni = s
                .ecs
                .tasks
                .get_mut(&task.task_arn)
                .and_then(|t| t.runtime.eni_id.take());
            if let Some(id) = eni {
                s.ec2
                    .region(&region, &account)
                    .delete_network_interface_unchecked(&id);
            }
        });
    }

    /// Each container's `secrets` as `NAME=value`, read from Parameter Store
    /// and Secrets Manager as they are now. `Err` is the detail Fargate
    /// puts after `ResourceInitializationError: `.
    fn resolve_secrets(&self, task: &Task) -> Result<HashMap<String, Vec<String>>, String> {
        self.inner.store.read(|s| {
            let mut resolved = HashMap::new();
            for def in &task.definition.container_definitions {
                let mut env = vec![];
                for secret in &def.secrets {
                    let value = match secret.source() {
                        SecretSource::Ssm => s.ssm.resolve_for_task(&secret.value_from),
                        SecretSource::SecretsManager => {
                            s.secretsmanager.resolve_for_task(&secret.value_from)
                        }
                    }?;
                    env.push(format!("{}={value}", secret.name));
                }
                resolved.insert(def.name.clone(), env);
            }
            Ok(resolved)
        })
    }

    fn container_spec(
        &self,
        task: &Task,
        def: &crate::domain::ecs::ContainerDefinition,
        secrets: &HashMap<String, Vec<String>>,
    ) -> ContainerSpec {
        let config = self.inner.store.config();
        let region = crate::domain::arn::region_of(&task.task_arn)
            .unwrap_or("us-east-1")
            .to_string();
        let mut env: Vec<String> = def
            .environment
            .iter()
            .map(|e| format!("{}={}", e.name, e.value))
            .collect();
        if let Some(endpoints) = &self.inner.endpoints {
            let uri = format!(
                "{}/{}",
                endpoints.metadata_v4,
                metadata::container_key(task.id(), &def.name)
            );
            env.push(format!("ECS_CONTAINER_METADATA_URI_V4={uri}"));
            env.push(format!("ECS_CONTAINER_METADATA_URI={uri}"));
            // Not on Fargate: points the app's own AWS calls back here.
            if config.task_endpoint_url
                && !def.environment.iter().any(|e| e.name == "AWS_ENDPOINT_URL")
            {
                env.push(format!("AWS_ENDPOINT_URL={}", endpoints.aws));
            }
        }
        env.extend(secrets.get(&def.name).into_iter().flatten().cloned());
        env.push(format!("AWS_REGION={region}"));
        env.push(format!("AWS_DEFAULT_REGION={region}"));
        env.push("AWS_EXECUTION_ENV=AWS_ECS_FARGATE".into());
        let mut labels = task_labels(task);
        labels.insert(LABEL_CONTAINER_NAME.into(), def.name.clone());
        // Fargate limits the whole task; Docker limits containers, so each
        // container gets its own limit, else the task's.
        let memory_mib = def.memory.or(task.definition.memory_mib().map(i64::from));
        let cpu_units = if def.cpu > 0 {
            Some(def.cpu)
        } else {
            task.definition.cpu_units().map(i64::from)
        };
        let scaled_ns =
            |secs: u32| config.scaled(Duration::from_secs(secs.into())).as_nanos() as i64;
        let health_check = def.health_check.as_ref().map(|hc| HealthConfig {
            test: Some(hc.command.clone()),
            interval: Some(scaled_ns(hc.interval)),
            timeout: Some(scaled_ns(hc.timeout)),
            retries: Some(hc.retries.into()),
            start_period: hc.start_period.map(scaled_ns),
            start_interval: None,
        });
        ContainerSpec {
            name: def.name.clone(),
            image: def.image.clone(),
            entrypoint: def.entry_point.clone(),
            command: def.command.clone(),
            env,
            labels,
            memory_bytes: memory_mib.map(|m| m * 1024 * 1024),
            nano_cpus: cpu_units.map(|c| c * 1_000_000_000 / 1024),
            health_check,
            stop_timeout_secs: Some(def.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT_SECS)),
        }
    }

    /// RUNNING until a stop is requested or an essential container exits.
    async fn monitor(&self, arn: &str, containers: &[(String, String)]) {
        let runtime = &self.inner.runtime;
        let mut exits: FuturesUnordered<_> = containers
            .iter()
            .map(|(name, id)| async move { (name.clone(), runtime.wait_exit(id).await) })
            .collect();
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
        loop {
            if self.stop_requested(arn) {
                return;
            }
            tokio::select! {
                _ = self.inner.shutdown.cancelled() => return,
                changed = changes.changed() => if changed.is_err() { return },
                Some((name, exit)) = exits.next() => {
                    let exit = exit.unwrap_or(docker::ContainerExit { exit_code: None, oom_killed: false });
                    self.record_exit(arn, &name, &exit);
                }
                _ = health_tick.tick(), if has_health => self.refresh_health(arn, containers).await,
            }
        }
    }

    fn record_exit(&self, arn: &str, name: &str, exit: &docker::ContainerExit) {
        self.update(arn, |t| {
            let Some(c) = t.containers.iter_mut().find(|c| c.name == name) else {
                return;
            };
            if c.last_status == TaskStatus::Stopped {
                return;
            }
            c.last_status = TaskStatus::Stopped;
            c.exit_code = exit.exit_code;
            if exit.oom_killed {
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

    async fn refresh_health(&self, arn: &str, containers: &[(String, String)]) {
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
                Some(HealthStatusEnum::HEALTHY) => "HEALTHY",
                Some(HealthStatusEnum::UNHEALTHY) => "UNHEALTHY",
                _ => "UNKNOWN",
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
                        c.health_status = status;
                    }
                }
                t.refresh_health();
            });
        }
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
        let stops = containers.iter().map(|(name, id)| {
            let timeout = if forgotten {
                0
            } else if shutting_down {
                SHUTDOWN_STOP_TIMEOUT_SECS
            } else {
                timeouts
                    .get(name)
                    .copied()
                    .unwrap_or(DEFAULT_STOP_TIMEOUT_SECS as i32)
            };
            async move {
                let _ = runtime.stop_container(id, timeout).await;
                let state = runtime.inspect(id).await.ok().and_then(|i| i.state);
                (name.clone(), state)
            }
        });
        let results = futures::future::join_all(stops).await;
        self.update(arn, |t| {
            for (name, state) in results {
                let Some(c) = t.containers.iter_mut().find(|c| c.name == name) else {
                    continue;
                };
                if c.last_status != TaskStatus::Stopped {
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
                eni.status = "DETACHING";
            }
        });
        for (_, id) in containers {
            runtime.remove_container(id).await;
        }
        if let Some(sandbox) = sandbox {
            runtime.remove_container(&sandbox.container_id).await;
        }
        if let Some(task) = self.snapshot(arn) {
            self.delete_eni(&task);
        }
        let retention = self.inner.store.config().scaled(Duration::from_secs(
            self.inner.store.config().stopped_task_retention_secs,
        ));
        self.update(arn, |t| {
            if let Some(eni) = t.attachments.first_mut() {
                eni.status = "DELETED";
            }
            t.stopped_at = Some(OffsetDateTime::now_utc());
            t.runtime.expires_at = Some(OffsetDateTime::now_utc() + retention);
            t.advance(TaskStatus::Stopped);
        });
        tracing::info!(task = %arn, "task stopped");
    }
}

/// The awslogs destination of a container, if its definition asks for one.
fn log_destination(task: &Task, container: &str) -> Option<super::logs::LogDestination> {
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
