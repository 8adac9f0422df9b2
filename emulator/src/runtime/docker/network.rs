//! The bridge networks that stand in for VPCs, and joining containers to
//! them.

use super::*;

/// Creates a labelled bridge network: the default VPC's (`vpc_id` empty)
/// or another VPC's. Tasks get fixed addresses, which Docker allows only on
/// a network with a configured subnet; without `subnet`, Docker picks one
/// and the network is made again with it set.
pub(super) async fn create_network(
    docker: &Docker,
    instance: &str,
    vpc_id: &str,
    subnet: Option<ipnet::Ipv4Net>,
) -> Result<TaskNetwork> {
    let name = network_name(instance, vpc_id);
    for _ in 0..NETWORK_CREATE_ATTEMPTS {
        let chosen = match subnet {
            Some(s) => s,
            None => {
                let probe = create_bridge(docker, instance, &name, None).await?;
                let _ = docker.remove_network(&probe.id).await;
                probe.subnet
            }
        };
        match create_bridge(docker, instance, &name, Some(chosen)).await {
            Ok(network) => return Ok(network),
            // Another engine user took the probed subnet in between: retry.
            Err(e) if subnet.is_none() => {
                tracing::debug!(error = %e, "probed subnet taken, retrying");
            }
            Err(e) => return Err(e),
        }
    }
    Err(RuntimeError::Network(format!(
        "could not create network {name}: every subnet Docker offered was taken"
    )))
}

/// How often a Docker-chosen subnet is probed before giving up.
const NETWORK_CREATE_ATTEMPTS: usize = 5;

async fn create_bridge(
    docker: &Docker,
    instance: &str,
    name: &str,
    subnet: Option<ipnet::Ipv4Net>,
) -> Result<TaskNetwork> {
    let name = name.to_string();
    let request = NetworkCreateRequest {
        name: name.clone(),
        driver: Some("bridge".into()),
        labels: Some(HashMap::from([
            (LABEL_MANAGED.to_string(), "true".to_string()),
            (LABEL_INSTANCE.to_string(), instance.to_string()),
        ])),
        ipam: subnet.map(|s| Ipam {
            config: Some(vec![IpamConfig {
                subnet: Some(s.to_string()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let created = docker.create_network(request).await?;
    let inspect = docker
        .inspect_network(
            &created.id,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await?;
    let config = inspect
        .ipam
        .and_then(|i| i.config)
        .and_then(|c| c.into_iter().next())
        .ok_or_else(|| RuntimeError::Network("network has no IPAM config".into()))?;
    let subnet: ipnet::Ipv4Net = config
        .subnet
        .as_deref()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| RuntimeError::Network("network has no IPv4 subnet".into()))?;
    let gateway = config
        .gateway
        .as_deref()
        .and_then(|g| g.parse().ok())
        .unwrap_or_else(|| subnet.hosts().next().unwrap_or(subnet.addr()));
    tracing::info!(network = %name, %subnet, %gateway, "task network ready");
    Ok(TaskNetwork {
        name,
        id: created.id,
        subnet,
        gateway,
        emulator_ip: None,
    })
}

/// Connects the emulator's own container (`auto`: the one named by this
/// host's hostname, which Docker sets to the short container id) to the
/// task network and returns its address there.
pub(super) async fn join_network(
    docker: &Docker,
    network: &TaskNetwork,
    container: &str,
) -> Result<Ipv4Addr> {
    let container = if container == "auto" {
        own_container_id().ok_or_else(|| {
            RuntimeError::Network(
                "EMULATOR_CONTAINER=auto: no hostname to name this container".into(),
            )
        })?
    } else {
        container.to_string()
    };
    let connected = docker
        .connect_network(
            &network.id,
            NetworkConnectRequest {
                container: Some(container.clone()),
                endpoint_config: Some(EndpointSettings::default()),
            },
        )
        .await;
    if let Err(e) = connected {
        // An adopted network may have it attached already: its address
        // below says so; without one, the connect error is the cause.
        tracing::debug!(%container, error = %e, "connecting to the task network failed");
    }
    let ip = docker
        .inspect_container(&container, None::<InspectContainerOptions>)
        .await?
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|mut n| n.remove(&network.name))
        .and_then(|e| e.ip_address)
        .and_then(|ip| ip.parse().ok())
        .ok_or_else(|| RuntimeError::Network(format!("container {container} got no address")))?;
    tracing::info!(%container, %ip, network = %network.name, "joined the task network");
    Ok(ip)
}

/// The hostname, which is the container id unless `--hostname` changed it.
fn own_container_id() -> Option<String> {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
}

/// Disconnects whatever is still attached to a network about to be removed
/// (the emulator's own container, when it joined it).
pub(super) async fn disconnect_all(docker: &Docker, network: &str) {
    let attached = docker
        .inspect_network(
            network,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        .ok()
        .and_then(|n| n.containers)
        .unwrap_or_default();
    for container in attached.into_keys() {
        let request = NetworkDisconnectRequest {
            container: Some(container),
            force: Some(true),
        };
        let _ = docker.disconnect_network(network, request).await;
    }
}
