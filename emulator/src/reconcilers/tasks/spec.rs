//! What each container of a task is created with: environment (secrets
//! included), labels, limits, health check, mounts and the process's
//! user, directory and Linux parameters.

use std::collections::HashMap;
use std::time::Duration;

use bollard::models::{HealthConfig, Mount, MountTypeEnum, MountVolumeOptions, ResourcesUlimits};

use crate::domain::ecs::task_definition::SecretSource;
use crate::domain::ecs::Task;
use crate::runtime::docker::{ContainerSpec, LABEL_CONTAINER_NAME};
use crate::runtime::metadata;
use crate::runtime::volumes::VolumeSource;

use super::endpoint::EndpointEnvironment;
use super::{task_labels, TaskRunner, DEFAULT_STOP_TIMEOUT_SECS};

/// A task volume as Docker has it.
#[derive(Debug, Clone)]
pub(super) struct TaskVolume {
    pub docker_name: String,
    /// Inside the Docker volume (an EFS `rootDirectory`).
    pub subpath: Option<String>,
}

impl TaskRunner {
    /// Each container's `secrets` as `NAME=value`, read from Parameter Store
    /// and Secrets Manager as they are now. `Err` is the detail Fargate
    /// puts after `ResourceInitializationError: `.
    pub(super) fn resolve_secrets(
        &self,
        task: &Task,
    ) -> Result<HashMap<String, Vec<String>>, String> {
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

    /// The Docker volume behind each of the task's volumes, created now.
    /// `Err` is the task's stoppedReason.
    pub(super) async fn prepare_volumes(
        &self,
        task: &Task,
    ) -> Result<HashMap<String, TaskVolume>, String> {
        let mut volumes = HashMap::new();
        for volume in &task.definition.volumes {
            let efs = volume.efs_volume_configuration.as_ref();
            let source = match efs {
                Some(efs) => VolumeSource::Efs {
                    file_system_id: efs.file_system_id.clone(),
                },
                None => VolumeSource::Task,
            };
            let docker_name = self
                .inner
                .runtime
                .ensure_volume(&task.task_arn, task.id(), &volume.name, &source)
                .await
                .map_err(|e| {
                    format!(
                        "ResourceInitializationError: failed to create volume {}: {e}",
                        volume.name
                    )
                })?;
            let subpath = efs
                .and_then(|efs| efs.root_directory.as_deref())
                .map(|dir| dir.trim_matches('/').to_string())
                .filter(|dir| !dir.is_empty());
            volumes.insert(
                volume.name.clone(),
                TaskVolume {
                    docker_name,
                    subpath,
                },
            );
        }
        Ok(volumes)
    }

    pub(super) fn container_spec(
        &self,
        task: &Task,
        def: &crate::domain::ecs::ContainerDefinition,
        secrets: &HashMap<String, Vec<String>>,
        endpoint: &EndpointEnvironment,
        volumes: &HashMap<String, TaskVolume>,
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
        let has_env = |name: &str| def.environment.iter().any(|e| e.name == name);
        if let Some(base) = &endpoint.metadata_v4 {
            let uri = format!("{base}/{}", metadata::container_key(task.id(), &def.name));
            env.push(format!("ECS_CONTAINER_METADATA_URI_V4={uri}"));
            env.push(format!("ECS_CONTAINER_METADATA_URI={uri}"));
        }
        // Not on Fargate: points the app's own AWS calls back here.
        if let Some(endpoints) = self.inner.endpoints.as_ref() {
            if config.task_endpoint_url && !has_env("AWS_ENDPOINT_URL") {
                env.push(format!("AWS_ENDPOINT_URL={}", endpoints.aws));
            }
        }
        // Keys a definition sets itself win over the task role's.
        if !has_env("AWS_ACCESS_KEY_ID") {
            env.extend(endpoint.credentials.iter().cloned());
        }
        env.extend(secrets.get(&def.name).into_iter().flatten().cloned());
        env.push(format!("AWS_REGION={region}"));
        env.push(format!("AWS_DEFAULT_REGION={region}"));
        env.push("AWS_EXECUTION_ENV=AWS_ECS_FARGATE".into());
        // The definition's dockerLabels, under the labels ECS sets itself.
        let mut labels: HashMap<String, String> = def
            .docker_labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        labels.extend(task_labels(task));
        labels.insert(LABEL_CONTAINER_NAME.into(), def.name.clone());
        // Fargate limits the whole task; Docker limits containers, so each
        // container gets its own limit, else the task's.
        let memory_mib = def.memory.or(task.definition.memory_mib().map(i64::from));
        let cpu_units = if def.cpu > 0 {
            Some(def.cpu)
        } else {
            task.definition.cpu_units().map(i64::from)
        };
        let linux = def.linux_parameters.as_ref();
        let capabilities = linux.and_then(|l| l.capabilities.as_ref());
        let scaled_ns =
            |secs: u32| config.scaled(Duration::from_secs(secs.into())).as_nanos() as i64;
        // The timeout bounds the command's real run time (a `docker exec`
        // on a loaded host takes what it takes), so only waits are scaled.
        let health_check = def.health_check.as_ref().map(|hc| HealthConfig {
            test: Some(hc.command.clone()),
            interval: Some(scaled_ns(hc.interval)),
            timeout: Some(Duration::from_secs(hc.timeout.into()).as_nanos() as i64),
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
            memory_reservation_bytes: def.memory_reservation.map(|m| m * 1024 * 1024),
            sysctls: def
                .system_controls
                .iter()
                .map(|c| (c.namespace.clone(), c.value.clone()))
                .collect(),
            nano_cpus: cpu_units.map(|c| c * 1_000_000_000 / 1024),
            health_check,
            stop_timeout_secs: Some(def.stop_timeout.unwrap_or(DEFAULT_STOP_TIMEOUT_SECS)),
            working_dir: def.working_directory.clone(),
            user: def.user.clone(),
            ulimits: def
                .ulimits
                .iter()
                .map(|u| ResourcesUlimits {
                    name: Some(u.name.clone()),
                    soft: Some(u.soft_limit),
                    hard: Some(u.hard_limit),
                })
                .collect(),
            readonly_rootfs: def.readonly_root_filesystem.unwrap_or(false),
            init: linux.and_then(|l| l.init_process_enabled).unwrap_or(false),
            cap_add: capabilities.map(|c| c.add.clone()).unwrap_or_default(),
            cap_drop: capabilities.map(|c| c.drop.clone()).unwrap_or_default(),
            tty: def.pseudo_terminal.unwrap_or(false),
            open_stdin: def.interactive.unwrap_or(false),
            mounts: def
                .mount_points
                .iter()
                .filter_map(|m| {
                    let volume = volumes.get(&m.source_volume)?;
                    Some(Mount {
                        target: Some(m.container_path.clone()),
                        source: Some(volume.docker_name.clone()),
                        typ: Some(MountTypeEnum::VOLUME),
                        read_only: m.read_only,
                        volume_options: volume.subpath.clone().map(|subpath| MountVolumeOptions {
                            subpath: Some(subpath),
                            ..Default::default()
                        }),
                        ..Default::default()
                    })
                })
                .collect(),
            volumes_from: def
                .volumes_from
                .iter()
                .map(|from| {
                    let source = self
                        .inner
                        .runtime
                        .container_name(task.id(), &from.source_container);
                    if from.read_only.unwrap_or(false) {
                        format!("{source}:ro")
                    } else {
                        source
                    }
                })
                .collect(),
        }
    }
}
