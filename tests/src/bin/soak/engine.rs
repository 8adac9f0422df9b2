//! What the run's emulator instance has on the Docker engine.

use super::*;

pub(super) async fn docker() -> Result<bollard::Docker> {
    Ok(bollard::Docker::connect_with_local_defaults()?
        .negotiate_version()
        .await?)
}

pub(super) fn instance_filter(instance: &str) -> std::collections::HashMap<String, Vec<String>> {
    std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!(
            "{}={instance}",
            emulator::runtime::docker::LABEL_INSTANCE
        )],
    )])
}

pub(super) async fn leftover_networks(instance: &str) -> Result<usize> {
    let options = bollard::query_parameters::ListNetworksOptionsBuilder::new()
        .filters(&instance_filter(instance))
        .build();
    Ok(docker().await?.list_networks(Some(options)).await?.len())
}

/// The instance's containers, running or not.
pub(super) async fn instance_containers(
    instance: &str,
) -> Result<Vec<bollard::models::ContainerSummary>> {
    let options = bollard::query_parameters::ListContainersOptionsBuilder::new()
        .all(true)
        .filters(&instance_filter(instance))
        .build();
    Ok(docker().await?.list_containers(Some(options)).await?)
}
