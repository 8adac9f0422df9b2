//! Docker volumes for task definitions' `volumes`: one per task and volume
//! for a Fargate ephemeral (bind, no source path) volume, removed with the
//! task; one per EFS file system id, shared by every task that mounts it
//! and removed with the emulator's other objects.

use std::collections::HashMap;

use bollard::models::VolumeCreateOptions;
use bollard::query_parameters::{ListVolumesOptionsBuilder, RemoveVolumeOptionsBuilder};
use bollard::Docker;

use super::docker::{sanitize, DockerRuntime, Result, LABEL_INSTANCE, LABEL_TASK_ARN};

/// What a task volume stands for on Docker.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VolumeSource {
    /// The task's own, shared by its containers.
    Task,
    /// An EFS file system.
    Efs { file_system_id: String },
}

impl DockerRuntime {
    /// The Docker volume behind a task's volume `name`, created if missing.
    pub async fn ensure_volume(
        &self,
        task_arn: &str,
        task_id: &str,
        name: &str,
        source: &VolumeSource,
    ) -> Result<String> {
        let mut labels = self.labels();
        let volume = match source {
            VolumeSource::Task => {
                labels.insert(LABEL_TASK_ARN.to_string(), task_arn.to_string());
                format!("fe-{}-{}-{}", self.instance(), task_id, sanitize(name))
            }
            VolumeSource::Efs { file_system_id } => {
                format!("fe-{}-efs-{}", self.instance(), sanitize(file_system_id))
            }
        };
        // Creating a volume that exists returns it unchanged.
        self.docker()
            .create_volume(VolumeCreateOptions {
                name: Some(volume.clone()),
                labels: Some(labels),
                ..Default::default()
            })
            .await?;
        Ok(volume)
    }

    /// Removes the volumes of one task (after its containers).
    pub async fn remove_task_volumes(&self, task_arn: &str) {
        let filter = HashMap::from([(
            "label".to_string(),
            vec![
                format!("{LABEL_INSTANCE}={}", self.instance()),
                format!("{LABEL_TASK_ARN}={task_arn}"),
            ],
        )]);
        remove_volumes(self.docker(), &filter).await;
    }
}

/// Removes the volumes matching `filter` that no container uses (Docker
/// refuses the others, which is what a start-up sweep wants).
pub(super) async fn remove_volumes(docker: &Docker, filter: &HashMap<String, Vec<String>>) {
    let listed = docker
        .list_volumes(Some(
            ListVolumesOptionsBuilder::new().filters(filter).build(),
        ))
        .await;
    let volumes = listed.ok().and_then(|l| l.volumes).unwrap_or_default();
    let removals = volumes.into_iter().map(|v| async move {
        let options = RemoveVolumeOptionsBuilder::new().force(false).build();
        if let Err(e) = docker.remove_volume(&v.name, Some(options)).await {
            tracing::debug!(volume = %v.name, error = %e, "volume not removed");
        }
    });
    futures::future::join_all(removals).await;
}
