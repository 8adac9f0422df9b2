//! Listing and removing an instance's containers and networks, by label.

use super::*;

/// Removes every container and network labelled with `instance`. Used at
/// shutdown, and by test harnesses after a failed test.
pub async fn remove_instance_objects(docker: &Docker, instance: &str) {
    let filter = instance_filter(instance);
    remove_containers(docker, &filter).await;
    crate::runtime::volumes::remove_volumes(docker, &filter).await;
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filter).build(),
        ))
        .await
        .unwrap_or_default();
    for network in networks.into_iter().filter_map(|n| n.id) {
        remove_network(docker, &network).await;
    }
}

pub(super) fn instance_filter(instance: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([(
        "label".to_string(),
        vec![format!("{LABEL_INSTANCE}={instance}")],
    )])
}

/// The ids of the containers that match `filter`, running or not.
pub(super) async fn list_containers(
    docker: &Docker,
    filter: &HashMap<String, Vec<String>>,
) -> Vec<String> {
    docker
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(filter)
                .build(),
        ))
        .await
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.id)
        .collect()
}

/// The networks that match `filter` and have an IPv4 subnet.
pub(super) async fn list_networks(
    docker: &Docker,
    filter: &HashMap<String, Vec<String>>,
) -> Vec<TaskNetwork> {
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(filter).build(),
        ))
        .await
        .unwrap_or_default();
    networks
        .into_iter()
        .filter_map(|n| {
            let config = n.ipam?.config?.into_iter().next()?;
            let subnet: ipnet::Ipv4Net = config.subnet?.parse().ok()?;
            let gateway = config
                .gateway
                .and_then(|g| g.parse().ok())
                .unwrap_or_else(|| subnet.hosts().next().unwrap_or(subnet.addr()));
            Some(TaskNetwork {
                name: n.name?,
                id: n.id?,
                subnet,
                gateway,
                emulator_ip: None,
            })
        })
        .collect()
}

/// `fargate-emulator-INSTANCE` for the default VPC (`vpc_id` empty), else
/// `fargate-emulator-INSTANCE-VPC`.
pub(super) fn network_name(instance: &str, vpc_id: &str) -> String {
    if vpc_id.is_empty() {
        format!("fargate-emulator-{instance}")
    } else {
        format!("fargate-emulator-{instance}-{vpc_id}")
    }
}

/// Disconnects whatever is still attached and removes the network.
pub(super) async fn remove_network(docker: &Docker, network: &str) {
    disconnect_all(docker, network).await;
    if let Err(e) = docker.remove_network(network).await {
        tracing::warn!(network, error = %e, "cannot remove network");
    }
}

/// Force-removes every container that matches `filter`, at once.
pub(super) async fn remove_containers(docker: &Docker, filter: &HashMap<String, Vec<String>>) {
    remove_container_ids(docker, list_containers(docker, filter).await).await;
}

/// Force-removes these containers, at once.
pub(super) async fn remove_container_ids(docker: &Docker, ids: impl IntoIterator<Item = String>) {
    let removals = ids.into_iter().map(|id| async move {
        let options = RemoveContainerOptionsBuilder::new()
            .force(true)
            .v(true)
            .build();
        let _ = docker.remove_container(&id, Some(options)).await;
    });
    futures::future::join_all(removals).await;
}

/// Connects with local defaults and removes `instance`'s objects.
pub async fn cleanup_instance(instance: &str) -> Result<()> {
    let docker = Docker::connect_with_local_defaults()?
        .negotiate_version()
        .await?;
    remove_instance_objects(&docker, &sanitize(instance)).await;
    Ok(())
}
