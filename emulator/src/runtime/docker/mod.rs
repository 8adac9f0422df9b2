//! Docker through bollard: the network that stands in for the VPC, one
//! sandbox (pause) container per task holding its network namespace, and the
//! task's containers joined to it.
//!
//! Every object carries [`LABEL_MANAGED`] and [`LABEL_INSTANCE`], so an
//! emulator removes exactly its own leftovers and parallel emulators (test
//! runs) sharing one engine never touch each other's containers.

use std::collections::{HashMap, HashSet};
use std::net::Ipv4Addr;

use bollard::models::{
    ContainerCreateBody, ContainerInspectResponse, EndpointIpamConfig, EndpointSettings,
    HealthConfig, HostConfig, Ipam, IpamConfig, Mount, NetworkConnectRequest, NetworkCreateRequest,
    NetworkDisconnectRequest, NetworkingConfig, ResourcesUlimits,
};
use bollard::query_parameters::{
    BuildImageOptionsBuilder, CreateContainerOptionsBuilder, CreateImageOptionsBuilder,
    InspectContainerOptions, KillContainerOptionsBuilder, ListContainersOptionsBuilder,
    ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder, StartContainerOptions,
    StopContainerOptionsBuilder,
};
use bollard::Docker;
use futures::StreamExt;

use super::pause::{self, PAUSE_IMAGE};
use crate::config::Config;

mod network;
mod objects;

use network::{create_network, disconnect_all, join_network};
pub use objects::{cleanup_instance, remove_instance_objects};
use objects::{
    instance_filter, list_containers, list_networks, network_name, remove_container_ids,
    remove_containers, remove_network,
};

/// Marks every Docker object this emulator creates.
pub const LABEL_MANAGED: &str = "fargate-emulator.managed";
/// The emulator instance (see `Config::instance`) that owns the object.
pub const LABEL_INSTANCE: &str = "fargate-emulator.instance";
/// The ARN of the task a container belongs to.
pub const LABEL_TASK_ARN: &str = "com.amazonaws.ecs.task-arn";
/// The container name from the task definition (the ECS agent sets the same).
pub const LABEL_CONTAINER_NAME: &str = "com.amazonaws.ecs.container-name";
pub const LABEL_CLUSTER: &str = "com.amazonaws.ecs.cluster";
pub const LABEL_FAMILY: &str = "com.amazonaws.ecs.task-definition-family";
pub const LABEL_REVISION: &str = "com.amazonaws.ecs.task-definition-version";

/// Errors from the container runtime, kept apart from API errors so callers
/// decide how each shows up (a stopped reason, a log line).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuntimeError {
    /// The Docker engine refused or failed a call.
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    /// An image is neither local nor pullable.
    #[error("{0}")]
    ImagePull(String),
    /// The sandbox came up without an address on the task network.
    #[error("task network: {0}")]
    Network(String),
    /// Building the pause image failed.
    #[error("pause image: {0}")]
    PauseImage(String),
}

pub type Result<T> = std::result::Result<T, RuntimeError>;

/// The task network as created.
#[derive(Debug, Clone)]
pub struct TaskNetwork {
    pub name: String,
    pub id: String,
    /// e.g. 172.18.0.0/16
    pub subnet: ipnet::Ipv4Net,
    /// The host's address on the network: tasks reach the emulator here.
    pub gateway: Ipv4Addr,
    /// The emulator's own address on the network when it runs in a container
    /// that joined it (`Config::container`).
    pub emulator_ip: Option<Ipv4Addr>,
}

impl TaskNetwork {
    /// Where tasks reach the emulator: its container's address on the
    /// network, or else the host's (the gateway).
    pub fn emulator_address(&self) -> Ipv4Addr {
        self.emulator_ip.unwrap_or(self.gateway)
    }
}

/// A task's network namespace holder.
#[derive(Debug, Clone)]
pub struct Sandbox {
    pub container_id: String,
    pub ip: Ipv4Addr,
    pub mac: String,
}

/// One container of a task, ready to create.
#[derive(Debug, Clone, Default)]
pub struct ContainerSpec {
    pub name: String,
    pub image: String,
    pub entrypoint: Option<Vec<String>>,
    pub command: Option<Vec<String>>,
    pub env: Vec<String>,
    pub labels: HashMap<String, String>,
    pub memory_bytes: Option<i64>,
    pub nano_cpus: Option<i64>,
    pub health_check: Option<HealthConfig>,
    pub stop_timeout_secs: Option<i64>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub ulimits: Vec<ResourcesUlimits>,
    pub readonly_rootfs: bool,
    /// Run an init process as PID 1 (`initProcessEnabled`).
    pub init: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub tty: bool,
    pub open_stdin: bool,
    pub mounts: Vec<Mount>,
    /// `CONTAINER_NAME[:ro]` of containers whose mounts this one takes.
    pub volumes_from: Vec<String>,
    pub memory_reservation_bytes: Option<i64>,
    pub sysctls: HashMap<String, String>,
}

/// What became of a container that is no longer running.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerExit {
    pub exit_code: Option<i64>,
    pub oom_killed: bool,
}

/// Handle on the Docker engine, scoped to one emulator instance.
#[derive(Clone)]
pub struct DockerRuntime {
    docker: Docker,
    instance: String,
    /// The default VPC's network.
    network: TaskNetwork,
    /// Networks of the other VPCs, by VPC id, made on a VPC's first task.
    /// A tokio mutex: creating a network awaits Docker, and two tasks of a
    /// new VPC must not both create it.
    vpc_networks: std::sync::Arc<tokio::sync::Mutex<HashMap<String, TaskNetwork>>>,
}

/// Where a task's sandbox attaches: a VPC's network and the ENI's address.
#[derive(Debug, Clone)]
pub struct SandboxAddress {
    pub network: TaskNetwork,
    pub ip: Ipv4Addr,
    pub mac: String,
    /// Names the task answers to on the network (Docker's DNS resolves
    /// each to every container that carries it).
    pub dns_names: Vec<String>,
    /// `NAME:IP` lines for the task's hosts file, which every container
    /// of the task shares with the sandbox.
    pub extra_hosts: Vec<String>,
    /// Where Docker's DNS forwards the names it does not know (empty: the
    /// host's nameservers).
    pub dns_servers: Vec<String>,
    /// The resolver's search domains (empty: Docker's default).
    pub dns_search: Vec<String>,
}

/// What a state restored from the state file still uses on Docker: kept at
/// start, while everything else an earlier run of the instance left is
/// removed.
#[derive(Debug, Default)]
pub struct Keep {
    /// Containers of tasks the task runner adopts.
    pub containers: HashSet<String>,
    /// The default VPC's CIDR: its network is kept if it has it, else made
    /// again with it.
    pub default_vpc_cidr: Option<ipnet::Ipv4Net>,
    /// VPCs (other than the default one) whose networks are kept.
    pub vpcs: HashSet<String>,
}

impl DockerRuntime {
    /// Connects, removes what an earlier run of this instance left behind
    /// (but what `keep` names), creates or adopts the task network and makes
    /// sure the pause image exists.
    pub async fn start(config: &Config, keep: &Keep) -> Result<Self> {
        let docker = Docker::connect_with_local_defaults()?
            .negotiate_version()
            .await?;
        let instance = sanitize(&config.instance);
        let filter = instance_filter(&instance);
        let leftovers = list_containers(&docker, &filter).await;
        remove_container_ids(
            &docker,
            leftovers
                .into_iter()
                .filter(|id| !keep.containers.contains(id)),
        )
        .await;
        // Volumes of the adopted tasks are in use, and stay.
        super::volumes::remove_volumes(&docker, &filter).await;
        let default_name = network_name(&instance, "");
        let mut vpc_networks = HashMap::new();
        let mut default_network = None;
        for network in list_networks(&docker, &filter).await {
            let vpc = network
                .name
                .strip_prefix(&default_name)
                .and_then(|rest| rest.strip_prefix('-'));
            if network.name == default_name && keep.default_vpc_cidr == Some(network.subnet) {
                default_network = Some(network);
            } else if let Some(vpc) = vpc.filter(|vpc| keep.vpcs.contains(*vpc)) {
                vpc_networks.insert(vpc.to_string(), network);
            } else {
                remove_network(&docker, &network.id).await;
            }
        }
        let mut network = match default_network {
            Some(network) => {
                tracing::info!(network = %network.name, subnet = %network.subnet, "task network adopted");
                network
            }
            None => {
                let subnet = keep.default_vpc_cidr.or(config.subnet);
                create_network(&docker, &instance, "", subnet).await?
            }
        };
        if let Some(container) = config.container.as_deref() {
            network.emulator_ip = Some(join_network(&docker, &network, container).await?);
        }
        let runtime = Self {
            docker,
            instance,
            network,
            vpc_networks: std::sync::Arc::new(tokio::sync::Mutex::new(vpc_networks)),
        };
        runtime.ensure_pause_image().await?;
        Ok(runtime)
    }

    pub fn network(&self) -> &TaskNetwork {
        &self.network
    }

    pub fn docker(&self) -> &Docker {
        &self.docker
    }

    /// The Docker network of a VPC that is not the default one, created
    /// with the VPC's CIDR on its first task. Docker refuses a CIDR that
    /// overlaps another network of the engine or the host; the error says so.
    pub async fn vpc_network(&self, vpc_id: &str, cidr: ipnet::Ipv4Net) -> Result<TaskNetwork> {
        let mut networks = self.vpc_networks.lock().await;
        if let Some(network) = networks.get(vpc_id) {
            return Ok(network.clone());
        }
        let network = create_network(&self.docker, &self.instance, vpc_id, Some(cidr)).await?;
        networks.insert(vpc_id.to_string(), network.clone());
        Ok(network)
    }

    pub(super) fn labels(&self) -> HashMap<String, String> {
        HashMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_INSTANCE.to_string(), self.instance.clone()),
        ])
    }

    /// `fe-INSTANCE-TASKID-NAME`: readable in `docker ps`, unique per instance.
    pub fn container_name(&self, task_id: &str, container: &str) -> String {
        format!("fe-{}-{}-{}", self.instance, task_id, sanitize(container))
    }

    async fn ensure_pause_image(&self) -> Result<()> {
        if self.docker.inspect_image(PAUSE_IMAGE).await.is_ok() {
            return Ok(());
        }
        let context = pause::build_context(std::env::consts::ARCH)
            .map_err(|e| RuntimeError::PauseImage(e.to_string()))?;
        let options = BuildImageOptionsBuilder::new()
            .t(PAUSE_IMAGE)
            .rm(true)
            .labels(&HashMap::from([(LABEL_MANAGED, "true")]))
            .build();
        let mut build =
            self.docker
                .build_image(options, None, Some(bollard::body_full(context.into())));
        while let Some(step) = build.next().await {
            let info = step?;
            if let Some(error) = info.error {
                return Err(RuntimeError::PauseImage(error));
            }
        }
        Ok(())
    }

    /// Creates and starts the task's sandbox on its VPC's network, with the
    /// ENI's address and MAC.
    pub async fn create_sandbox(
        &self,
        task_id: &str,
        labels: &HashMap<String, String>,
        address: &SandboxAddress,
    ) -> Result<Sandbox> {
        let network = &address.network;
        let mut all_labels = self.labels();
        all_labels.extend(labels.clone());
        let name = self.container_name(task_id, "pause");
        let body = ContainerCreateBody {
            image: Some(PAUSE_IMAGE.to_string()),
            labels: Some(all_labels),
            hostname: Some(format!("ip-{task_id}")),
            host_config: Some(HostConfig {
                network_mode: Some(network.name.clone()),
                init: Some(false),
                extra_hosts: (!address.extra_hosts.is_empty()).then(|| address.extra_hosts.clone()),
                dns: (!address.dns_servers.is_empty()).then(|| address.dns_servers.clone()),
                dns_search: (!address.dns_search.is_empty()).then(|| address.dns_search.clone()),
                ..Default::default()
            }),
            mac_address: Some(address.mac.clone()),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    network.name.clone(),
                    EndpointSettings {
                        ipam_config: Some(EndpointIpamConfig {
                            ipv4_address: Some(address.ip.to_string()),
                            ..Default::default()
                        }),
                        mac_address: Some(address.mac.clone()),
                        aliases: (!address.dns_names.is_empty()).then(|| address.dns_names.clone()),
                        ..Default::default()
                    },
                )])),
            }),
            ..Default::default()
        };
        let container_id = self.create_named(&name, body).await?;
        self.start_container(&container_id).await?;
        let inspect = self.inspect(&container_id).await?;
        let endpoint = inspect
            .network_settings
            .and_then(|n| n.networks)
            .and_then(|mut n| n.remove(&network.name))
            .ok_or_else(|| RuntimeError::Network("sandbox is not attached".into()))?;
        let ip = endpoint
            .ip_address
            .as_deref()
            .and_then(|ip| ip.parse().ok())
            .ok_or_else(|| RuntimeError::Network("sandbox got no IPv4 address".into()))?;
        Ok(Sandbox {
            container_id,
            ip,
            mac: endpoint.mac_address.unwrap_or_default(),
        })
    }

    pub async fn image_present(&self, image: &str) -> bool {
        self.docker.inspect_image(image).await.is_ok()
    }

    /// Pulls an image, logging progress. No registry may be reachable: the
    /// error then says so, and becomes the task's `CannotPullContainerError`.
    pub async fn pull_image(&self, image: &str) -> Result<()> {
        let (repo, tag) = split_image(image);
        let options = CreateImageOptionsBuilder::new()
            .from_image(repo)
            .tag(tag)
            .build();
        let mut pull = self.docker.create_image(Some(options), None, None);
        while let Some(progress) = pull.next().await {
            match progress {
                Ok(info) => {
                    if let Some(error) = info.error_detail.and_then(|e| e.message) {
                        return Err(RuntimeError::ImagePull(error));
                    }
                    if let Some(status) = info.status {
                        tracing::info!(
                            image,
                            progress = info.progress.as_deref().unwrap_or(""),
                            "{status}"
                        );
                    }
                }
                Err(e) => return Err(RuntimeError::ImagePull(docker_message(&e))),
            }
        }
        Ok(())
    }

    /// Creates (not starts) a task container inside `sandbox`'s namespace.
    pub async fn create_container(
        &self,
        task_id: &str,
        sandbox: &Sandbox,
        spec: &ContainerSpec,
    ) -> Result<String> {
        let mut labels = self.labels();
        labels.extend(spec.labels.clone());
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            entrypoint: spec.entrypoint.clone(),
            cmd: spec.command.clone(),
            env: Some(spec.env.clone()),
            labels: Some(labels),
            healthcheck: spec.health_check.clone(),
            stop_timeout: spec.stop_timeout_secs,
            working_dir: spec.working_dir.clone(),
            user: spec.user.clone(),
            tty: Some(spec.tty),
            open_stdin: Some(spec.open_stdin),
            host_config: Some(HostConfig {
                // awsvpc: every container of a task shares one namespace and IP.
                network_mode: Some(format!("container:{}", sandbox.container_id)),
                memory: spec.memory_bytes,
                nano_cpus: spec.nano_cpus,
                ulimits: (!spec.ulimits.is_empty()).then(|| spec.ulimits.clone()),
                readonly_rootfs: Some(spec.readonly_rootfs),
                init: spec.init.then_some(true),
                cap_add: (!spec.cap_add.is_empty()).then(|| spec.cap_add.clone()),
                cap_drop: (!spec.cap_drop.is_empty()).then(|| spec.cap_drop.clone()),
                mounts: (!spec.mounts.is_empty()).then(|| spec.mounts.clone()),
                volumes_from: (!spec.volumes_from.is_empty()).then(|| spec.volumes_from.clone()),
                memory_reservation: spec.memory_reservation_bytes,
                sysctls: (!spec.sysctls.is_empty()).then(|| spec.sysctls.clone()),
                ..Default::default()
            }),
            ..Default::default()
        };
        let name = self.container_name(task_id, &spec.name);
        self.create_named(&name, body).await
    }

    /// Creates the container `name` and returns its id.
    async fn create_named(&self, name: &str, body: ContainerCreateBody) -> Result<String> {
        let created = self
            .docker
            .create_container(
                Some(CreateContainerOptionsBuilder::new().name(name).build()),
                body,
            )
            .await?;
        Ok(created.id)
    }

    pub async fn start_container(&self, id: &str) -> Result<()> {
        Ok(self
            .docker
            .start_container(id, None::<StartContainerOptions>)
            .await?)
    }

    pub async fn inspect(&self, id: &str) -> Result<ContainerInspectResponse> {
        Ok(self
            .docker
            .inspect_container(id, None::<InspectContainerOptions>)
            .await?)
    }

    pub(super) fn instance(&self) -> &str {
        &self.instance
    }

    /// The host process id of a running container's first process.
    pub async fn process_id(&self, id: &str) -> Result<u32> {
        let pid = self.inspect(id).await?.state.and_then(|s| s.pid);
        match pid.and_then(|p| u32::try_from(p).ok()).filter(|p| *p > 0) {
            Some(pid) => Ok(pid),
            None => Err(RuntimeError::Network(format!(
                "sandbox {id} is not running"
            ))),
        }
    }

    /// SIGTERM, then SIGKILL after `timeout_secs` (ECS `stopTimeout`).
    pub async fn stop_container(&self, id: &str, timeout_secs: i32) -> Result<()> {
        let options = StopContainerOptionsBuilder::new().t(timeout_secs).build();
        match self.docker.stop_container(id, Some(options)).await {
            Ok(()) => Ok(()),
            // 304: already stopped; 404: already gone.
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 304 | 404,
                ..
            }) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// Kills and removes a container; missing containers are fine.
    pub async fn remove_container(&self, id: &str) {
        let _ = self
            .docker
            .kill_container(
                id,
                Some(KillContainerOptionsBuilder::new().signal("SIGKILL").build()),
            )
            .await;
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        if let Err(e) = self.docker.remove_container(id, Some(options)).await {
            if !matches!(
                e,
                bollard::errors::Error::DockerResponseServerError {
                    status_code: 404,
                    ..
                }
            ) {
                tracing::warn!(container = id, error = %e, "cannot remove container");
            }
        }
    }

    /// Removes every container and the network of this instance.
    pub async fn shutdown(&self) {
        remove_instance_objects(&self.docker, &self.instance).await;
    }

    /// Removes every task container of this instance, sandboxes included,
    /// and every volume (for a reset: the store no longer knows any task).
    pub async fn remove_task_containers(&self) {
        let filter = HashMap::from([(
            "label".to_string(),
            vec![
                format!("{LABEL_INSTANCE}={}", self.instance),
                LABEL_TASK_ARN.to_string(),
            ],
        )]);
        remove_containers(&self.docker, &filter).await;
        super::volumes::remove_volumes(&self.docker, &instance_filter(&self.instance)).await;
    }

    /// Removes the networks of VPCs other than the default one (for a reset:
    /// their VPCs are gone, and a new VPC may want the same CIDR). Call it
    /// once no task uses them.
    pub async fn remove_vpc_networks(&self) {
        let networks = std::mem::take(&mut *self.vpc_networks.lock().await);
        for network in networks.into_values() {
            remove_network(&self.docker, &network.id).await;
        }
    }
}

/// Docker names allow `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub(super) fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "_.-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// `repo[:tag][@digest]` into what `POST /images/create` takes.
fn split_image(image: &str) -> (&str, &str) {
    if image.contains('@') {
        // A digest reference is pulled as it is.
        return (image, "");
    }
    match image.rsplit_once(':') {
        // A colon after the last slash is a tag; before it, a registry port.
        Some((repo, tag)) if !tag.contains('/') => (repo, tag),
        _ => (image, "latest"),
    }
}

/// The message of a Docker error without bollard's wrapping.
pub fn docker_message(e: &bollard::errors::Error) -> String {
    match e {
        bollard::errors::Error::DockerResponseServerError { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_references_split_into_repo_and_tag() {
        assert_eq!(split_image("nginx"), ("nginx", "latest"));
        assert_eq!(split_image("sample-app:v2"), ("sample-app", "v2"));
        assert_eq!(
            split_image("localhost:5000/app"),
            ("localhost:5000/app", "latest")
        );
        assert_eq!(
            split_image("localhost:5000/app:1"),
            ("localhost:5000/app", "1")
        );
    }

    #[test]
    fn names_are_docker_safe() {
        assert_eq!(sanitize("t/1 x"), "t-1-x");
    }
}
