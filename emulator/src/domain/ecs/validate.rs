//! ECS validation rules, as pure functions.

use super::container_options::ULIMIT_NAMES;
use super::dependencies::{find_cycle, Condition};
use super::task_definition::{ContainerDefinition, TaskDefinition};

/// Why an ECS request was refused: one variant per ECS error shape, whose
/// text is the client-facing message. The API layer maps it to the
/// awsJson1_1 error (`api::ecs`); [`EcsError::code`] is the `__type`. Every
/// variant is a client error (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EcsError {
    /// The generic refusal of a request ECS cannot act on.
    #[error("{0}")]
    Client(String),
    /// A parameter that is missing, malformed or out of range.
    #[error("{0}")]
    InvalidParameter(String),
    #[error("Cluster not found.")]
    ClusterNotFound,
    #[error("Service not found.")]
    ServiceNotFound,
    /// UpdateService or DeleteService on a DRAINING or INACTIVE service.
    #[error("Service was not ACTIVE.")]
    ServiceNotActive,
    #[error("The service deployment does not exist.")]
    ServiceDeploymentNotFound,
    /// The Cloud Map namespace of a Service Connect configuration.
    #[error("The specified namespace wasn't found.")]
    NamespaceNotFound,
    /// DeleteCluster while services are active.
    #[error("The Cluster cannot be deleted while Services are active.")]
    ClusterContainsServices,
    /// DeleteCluster while tasks are active.
    #[error("The Cluster cannot be deleted while Tasks are active.")]
    ClusterContainsTasks,
    /// A capacity provider still used by a cluster or a service.
    #[error("{0}")]
    ResourceInUse(String),
    /// StopServiceDeployment on a deployment that cannot be stopped.
    #[error("{0}")]
    Conflict(String),
}

impl EcsError {
    /// The wire error code (the error shape's name).
    pub fn code(&self) -> &'static str {
        match self {
            EcsError::Client(_) => "ClientException",
            EcsError::InvalidParameter(_) => "InvalidParameterException",
            EcsError::ClusterNotFound => "ClusterNotFoundException",
            EcsError::ServiceNotFound => "ServiceNotFoundException",
            EcsError::ServiceNotActive => "ServiceNotActiveException",
            EcsError::ServiceDeploymentNotFound => "ServiceDeploymentNotFoundException",
            EcsError::NamespaceNotFound => "NamespaceNotFoundException",
            EcsError::ClusterContainsServices => "ClusterContainsServicesException",
            EcsError::ClusterContainsTasks => "ClusterContainsTasksException",
            EcsError::ResourceInUse(_) => "ResourceInUseException",
            EcsError::Conflict(_) => "ConflictException",
        }
    }
}

/// Normalizes a task-level `cpu` ("1 vCPU", ".25 vcpu", "256") to CPU units.
pub fn normalize_cpu(value: &str) -> Option<u32> {
    let v = value.trim().to_ascii_lowercase();
    if let Some(vcpu) = v.strip_suffix("vcpu") {
        let n: f64 = vcpu.trim().parse().ok()?;
        return (n > 0.0).then(|| (n * 1024.0).round() as u32);
    }
    v.parse().ok().filter(|n| *n > 0)
}

/// Normalizes a task-level `memory` ("1GB", "0.5 gb", "512") to MiB.
pub fn normalize_memory(value: &str) -> Option<u32> {
    let v = value.trim().to_ascii_lowercase();
    if let Some(gb) = v.strip_suffix("gb") {
        let n: f64 = gb.trim().parse().ok()?;
        return (n > 0.0).then(|| (n * 1024.0).round() as u32);
    }
    v.strip_suffix("mb")
        .unwrap_or(&v)
        .trim()
        .parse()
        .ok()
        .filter(|n| *n > 0)
}

/// Whether `cpu` units with `memory` MiB is a Fargate size.
pub fn is_valid_fargate_size(cpu: u32, memory: u32) -> bool {
    let gib = |n: u32| n * 1024;
    let steps = |lo: u32, hi: u32, step: u32| {
        memory >= lo && memory <= hi && (memory - lo).is_multiple_of(step)
    };
    match cpu {
        256 => matches!(memory, 512 | 1024 | 2048),
        512 => steps(gib(1), gib(4), 1024),
        1024 => steps(gib(2), gib(8), 1024),
        2048 => steps(gib(4), gib(16), 1024),
        4096 => steps(gib(8), gib(30), 1024),
        8192 => steps(gib(16), gib(60), gib(4)),
        16384 => steps(gib(32), gib(120), gib(8)),
        _ => false,
    }
}

fn is_valid_family(family: &str) -> bool {
    !family.is_empty()
        && family.len() <= 255
        && family
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Checks and normalizes a task definition being registered.
pub fn task_definition(def: &mut TaskDefinition) -> Result<(), EcsError> {
    if !is_valid_family(&def.family) {
        return Err(EcsError::Client(
            "Family contains invalid characters or is too long: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.".into(),
        ));
    }
    if def.container_definitions.is_empty() {
        return Err(EcsError::Client("Container list cannot be empty.".into()));
    }
    if let Some(bad) = def.requires_compatibilities.iter().find(|c| {
        !matches!(
            c.as_str(),
            "EC2" | "FARGATE" | "EXTERNAL" | "MANAGED_INSTANCES"
        )
    }) {
        return Err(EcsError::InvalidParameter(format!(
            "Invalid requiresCompatibilities value: {bad}"
        )));
    }
    if let Some(cpu) = def.cpu.clone() {
        let units = normalize_cpu(&cpu)
            .ok_or_else(|| EcsError::Client(format!("Invalid 'cpu' setting for task: {cpu}")))?;
        def.cpu = Some(units.to_string());
    }
    if let Some(memory) = def.memory.clone() {
        let mib = normalize_memory(&memory).ok_or_else(|| {
            EcsError::Client(format!("Invalid 'memory' setting for task: {memory}"))
        })?;
        def.memory = Some(mib.to_string());
    }
    if def.is_fargate() {
        if def.network_mode.as_deref() != Some("awsvpc") {
            return Err(EcsError::Client(
                "Fargate only supports network mode 'awsvpc'.".into(),
            ));
        }
        let (Some(cpu), Some(memory)) = (def.cpu_units(), def.memory_mib()) else {
            return Err(EcsError::Client(
                "Fargate requires that 'cpu' be defined at the task level.".into(),
            ));
        };
        if !is_valid_fargate_size(cpu, memory) {
            return Err(EcsError::Client(format!(
                "No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. See the Amazon ECS documentation for the valid values."
            )));
        }
    }
    if let Some(mode) = def.network_mode.as_deref() {
        if !matches!(mode, "awsvpc" | "bridge" | "host" | "none") {
            return Err(EcsError::InvalidParameter(format!(
                "Invalid networkMode: {mode}"
            )));
        }
    }
    // Tools that copy a definition send absent roles as "": they mean none.
    for role in [&mut def.task_role_arn, &mut def.execution_role_arn] {
        if role.as_deref() == Some("") {
            *role = None;
        }
    }
    let has_secrets = def
        .container_definitions
        .iter()
        .any(|c| !c.secrets.is_empty());
    if has_secrets && def.execution_role_arn.is_none() {
        return Err(EcsError::Client(
            "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.".into(),
        ));
    }
    let awsvpc = def.network_mode.as_deref() == Some("awsvpc");
    let mut names = std::collections::HashSet::new();
    for container in &mut def.container_definitions {
        if container.name.is_empty() || container.image.is_empty() {
            return Err(EcsError::Client(
                "Container.name and Container.image should not be null or empty.".into(),
            ));
        }
        if !names.insert(container.name.clone()) {
            return Err(EcsError::Client(format!(
                "Duplicate container name found: {}",
                container.name
            )));
        }
        for mapping in &mut container.port_mappings {
            if awsvpc {
                match mapping.host_port {
                    None => mapping.host_port = Some(mapping.container_port),
                    Some(h) if h != mapping.container_port => {
                        return Err(EcsError::Client(
                            "When networkMode=awsvpc, the host ports and container ports in port mappings must match.".into(),
                        ))
                    }
                    Some(_) => {}
                }
            }
            let protocol = mapping.protocol.get_or_insert_with(|| "tcp".into());
            if !matches!(protocol.as_str(), "tcp" | "udp") {
                return Err(EcsError::InvalidParameter(format!(
                    "Invalid protocol: {protocol}"
                )));
            }
        }
        if let Some(hc) = &container.health_check {
            let first = hc.command.first().map(String::as_str);
            if !matches!(first, Some("CMD" | "CMD-SHELL")) {
                return Err(EcsError::Client(
                    "The healthCheck command must start with CMD or CMD-SHELL.".into(),
                ));
            }
            let in_range = (5..=300).contains(&hc.interval)
                && (2..=60).contains(&hc.timeout)
                && (1..=10).contains(&hc.retries)
                && hc.start_period.is_none_or(|s| s <= 300);
            if !in_range {
                return Err(EcsError::Client(
                    "Health check values out of range: interval 5-300, timeout 2-60, retries 1-10, startPeriod 0-300.".into(),
                ));
            }
        }
        if container
            .stop_timeout
            .is_some_and(|t| !(0..=120).contains(&t))
            && def.requires_compatibilities.iter().any(|c| c == "FARGATE")
        {
            return Err(EcsError::Client(
                "stopTimeout must be between 0 and 120 seconds on Fargate.".into(),
            ));
        }
        if container
            .start_timeout
            .is_some_and(|t| !(2..=120).contains(&t))
            && def.requires_compatibilities.iter().any(|c| c == "FARGATE")
        {
            return Err(EcsError::Client(
                "startTimeout must be between 2 and 120 seconds on Fargate.".into(),
            ));
        }
        for dep in &container.depends_on {
            if Condition::parse(&dep.condition).is_none() {
                return Err(EcsError::InvalidParameter(format!(
                    "Invalid dependsOn condition: {}",
                    dep.condition
                )));
            }
        }
    }
    if !def.container_definitions.iter().any(|c| c.essential) {
        return Err(EcsError::Client(
            "Task definition does not have any essential container.".into(),
        ));
    }
    dependencies(&def.container_definitions)?;
    container_options(def)?;
    refused_on_fargate(def)
}

/// Volumes, mounts, limits and Linux parameters, with Fargate's limits.
/// AWS does not document these messages; they are the emulator's own.
fn container_options(def: &TaskDefinition) -> Result<(), EcsError> {
    let fargate = def.is_fargate();
    let mut volume_names = std::collections::HashSet::new();
    for volume in &def.volumes {
        if volume.name.is_empty() || !volume_names.insert(volume.name.as_str()) {
            return Err(EcsError::Client(format!(
                "Volume names must be present and unique: '{}'.",
                volume.name
            )));
        }
        if fargate {
            if volume
                .host
                .as_ref()
                .is_some_and(|h| h.source_path.is_some())
            {
                return Err(EcsError::Client(format!(
                    "Volume '{}': host.sourcePath is not supported on Fargate; leave it out for a volume the task's containers share.",
                    volume.name
                )));
            }
            if let Some(kind) = volume
                .extra
                .keys()
                .find(|k| k.ends_with("VolumeConfiguration"))
            {
                return Err(EcsError::Client(format!(
                    "Volume '{}': {kind} is not supported on Fargate.",
                    volume.name
                )));
            }
        }
        if let Some(efs) = &volume.efs_volume_configuration {
            if efs.file_system_id.is_empty() {
                return Err(EcsError::Client(format!(
                    "Volume '{}': efsVolumeConfiguration.fileSystemId is required.",
                    volume.name
                )));
            }
        }
    }
    if let Some(storage) = def.ephemeral_storage {
        if fargate && !(21..=200).contains(&storage.size_in_gib) {
            return Err(EcsError::Client(
                "ephemeralStorage.sizeInGiB must be between 21 and 200 on Fargate.".into(),
            ));
        }
    }
    let containers = &def.container_definitions;
    for c in containers {
        for mount in &c.mount_points {
            if !volume_names.contains(mount.source_volume.as_str()) {
                return Err(EcsError::Client(format!(
                    "Container {}: mountPoints sourceVolume '{}' is not a volume of the task definition.",
                    c.name, mount.source_volume
                )));
            }
            if !mount.container_path.starts_with('/') {
                return Err(EcsError::Client(format!(
                    "Container {}: mountPoints containerPath '{}' must be an absolute path.",
                    c.name, mount.container_path
                )));
            }
        }
        for from in &c.volumes_from {
            if from.source_container == c.name
                || !containers.iter().any(|o| o.name == from.source_container)
            {
                return Err(EcsError::Client(format!(
                    "Container {}: volumesFrom sourceContainer '{}' is not another container of the task definition.",
                    c.name, from.source_container
                )));
            }
        }
        for limit in &c.ulimits {
            if !ULIMIT_NAMES.contains(&limit.name.as_str()) {
                return Err(EcsError::InvalidParameter(format!(
                    "Invalid ulimit name: {}",
                    limit.name
                )));
            }
            if limit.soft_limit > limit.hard_limit {
                return Err(EcsError::Client(format!(
                    "Container {}: the {} ulimit's softLimit is above its hardLimit.",
                    c.name, limit.name
                )));
            }
            if fargate && limit.name == "nofile" && limit.hard_limit > FARGATE_MAX_NOFILE {
                return Err(EcsError::Client(format!(
                    "Container {}: the nofile ulimit can be at most {FARGATE_MAX_NOFILE} on Fargate.",
                    c.name
                )));
            }
        }
        if let Some(linux) = c.linux_parameters.as_ref().filter(|_| fargate) {
            if let Some(field) = linux.extra.keys().next() {
                return Err(EcsError::Client(format!(
                    "Container {}: linuxParameters.{field} is not supported on Fargate.",
                    c.name
                )));
            }
            let added = linux.capabilities.iter().flat_map(|k| &k.add);
            if let Some(cap) = added.into_iter().find(|cap| cap.as_str() != "SYS_PTRACE") {
                return Err(EcsError::Client(format!(
                    "Container {}: Fargate can only add the SYS_PTRACE kernel capability, not {cap}.",
                    c.name
                )));
            }
        }
    }
    Ok(())
}

/// Container members Fargate (awsvpc) refuses.
const REFUSED_ON_FARGATE: [&str; 8] = [
    "links",
    "hostname",
    "privileged",
    "dockerSecurityOptions",
    "dnsServers",
    "dnsSearchDomains",
    "extraHosts",
    "disableNetworking",
];

/// Refuses the container members Fargate refuses; the emulator's wording.
fn refused_on_fargate(def: &TaskDefinition) -> Result<(), EcsError> {
    if !def.is_fargate() {
        return Ok(());
    }
    for c in &def.container_definitions {
        if let Some(member) = REFUSED_ON_FARGATE
            .iter()
            .find(|m| c.extra.contains_key(**m))
        {
            return Err(EcsError::Client(format!(
                "Container {}: {member} is not supported on Fargate (awsvpc network mode).",
                c.name
            )));
        }
    }
    Ok(())
}

/// The members of a valid definition the emulator stores and echoes but
/// does not act on, as `taskDefinition.X` and `containerDefinitions.X`
/// (each is logged once, and the README lists them).
pub fn ignored_members(def: &TaskDefinition) -> Vec<String> {
    let mut ignored: Vec<String> = def
        .extra
        .keys()
        .map(|k| format!("taskDefinition.{k}"))
        .chain(
            def.container_definitions
                .iter()
                .flat_map(|c| c.extra.keys())
                .map(|k| format!("containerDefinitions.{k}")),
        )
        .collect();
    for volume in &def.volumes {
        if volume.configured_at_launch == Some(true) {
            ignored.push("volumes.configuredAtLaunch (a local volume instead)".into());
        }
        if let Some(efs) = &volume.efs_volume_configuration {
            ignored.extend(
                efs.extra
                    .keys()
                    .map(|k| format!("efsVolumeConfiguration.{k}")),
            );
        }
    }
    if def.ephemeral_storage.is_some() {
        ignored.push("taskDefinition.ephemeralStorage (size not enforced)".into());
    }
    ignored.sort();
    ignored.dedup();
    ignored
}

/// Fargate's ceiling for the `nofile` ulimit.
const FARGATE_MAX_NOFILE: i64 = 1_048_576;

/// `dependsOn` across the containers: every dependency exists, COMPLETE and
/// SUCCESS wait only on non-essential containers (an essential one that
/// exits stops the task), HEALTHY only on a container with a health check,
/// and no cycle. The first two messages are AWS's; AWS does not document
/// the other two, so they are the emulator's own.
fn dependencies(containers: &[ContainerDefinition]) -> Result<(), EcsError> {
    for container in containers {
        for dep in &container.depends_on {
            let Some(dependency) = containers.iter().find(|c| c.name == dep.container_name) else {
                // AWS's message, stray `+` included.
                return Err(EcsError::Client(format!(
                    "Cannot depend on container + '{}' because it does not exist",
                    dep.container_name
                )));
            };
            match Condition::parse(&dep.condition) {
                Some(Condition::Complete | Condition::Success) if dependency.essential => {
                    return Err(EcsError::Client(
                        "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container".into(),
                    ));
                }
                Some(Condition::Healthy) if dependency.health_check.is_none() => {
                    return Err(EcsError::Client(format!(
                        "Container {} depends on container {} being HEALTHY, but {} has no healthCheck.",
                        container.name, dependency.name, dependency.name
                    )));
                }
                _ => {}
            }
        }
    }
    if let Some(cycle) = find_cycle(containers) {
        return Err(EcsError::Client(format!(
            "The container dependencies form a cycle: {} -> {}.",
            cycle.join(" -> "),
            cycle[0]
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(json: serde_json::Value) -> TaskDefinition {
        serde_json::from_value(json).unwrap()
    }

    fn fargate(cpu: &str, memory: &str) -> TaskDefinition {
        def(serde_json::json!({
            "family": "web", "networkMode": "awsvpc", "requiresCompatibilities": ["FARGATE"],
            "cpu": cpu, "memory": memory,
            "containerDefinitions": [{"name": "app", "image": "sample-app:latest",
                "portMappings": [{"containerPort": 8080}]}]
        }))
    }

    #[test]
    fn fargate_sizes() {
        assert!(is_valid_fargate_size(256, 512));
        assert!(!is_valid_fargate_size(256, 4096));
        assert!(is_valid_fargate_size(512, 3072));
        assert!(!is_valid_fargate_size(512, 1536));
        assert!(is_valid_fargate_size(4096, 30720));
        assert!(is_valid_fargate_size(8192, 20480));
        assert!(!is_valid_fargate_size(8192, 18432));
        assert!(!is_valid_fargate_size(300, 512));
    }

    #[test]
    fn units_are_normalized() {
        assert_eq!(normalize_cpu("1 vCPU"), Some(1024));
        assert_eq!(normalize_cpu(".25 vcpu"), Some(256));
        assert_eq!(normalize_memory("1GB"), Some(1024));
        assert_eq!(normalize_memory("0.5 GB"), Some(512));
        assert_eq!(normalize_memory("abc"), None);
        let mut d = fargate("0.5 vCPU", "1 GB");
        task_definition(&mut d).unwrap();
        assert_eq!(
            (d.cpu.as_deref(), d.memory.as_deref()),
            (Some("512"), Some("1024"))
        );
        let mapping = &d.container_definitions[0].port_mappings[0];
        assert_eq!(
            (mapping.host_port, mapping.protocol.as_deref()),
            (Some(8080), Some("tcp"))
        );
    }

    #[test]
    fn fargate_rules_are_enforced() {
        let mut d = fargate("256", "4096");
        assert!(task_definition(&mut d)
            .unwrap_err()
            .to_string()
            .contains("No Fargate configuration"));
        let mut d = fargate("256", "512");
        d.network_mode = Some("bridge".into());
        assert!(task_definition(&mut d)
            .unwrap_err()
            .to_string()
            .contains("awsvpc"));
        let mut d = fargate("256", "512");
        d.container_definitions[0].port_mappings[0].host_port = Some(80);
        assert!(task_definition(&mut d).is_err());
        let mut d = fargate("256", "512");
        d.container_definitions[0].essential = false;
        assert!(task_definition(&mut d)
            .unwrap_err()
            .to_string()
            .contains("essential"));
        let mut d = fargate("256", "512");
        d.family = "bad family!".into();
        assert!(task_definition(&mut d).is_err());
    }

    #[test]
    fn depends_on_is_checked_across_the_containers() {
        let with = |containers: serde_json::Value| {
            let mut d = fargate("256", "512");
            d.container_definitions = serde_json::from_value(containers).unwrap();
            task_definition(&mut d).map_err(|e| e.to_string())
        };
        let app = |deps: serde_json::Value| serde_json::json!({"name": "app", "image": "a", "dependsOn": deps});
        let init = serde_json::json!({"name": "init", "image": "i", "essential": false});
        let checked = serde_json::json!({"name": "db", "image": "d",
            "healthCheck": {"command": ["CMD", "true"]}});
        assert_eq!(
            with(serde_json::json!([
                init.clone(),
                checked.clone(),
                app(serde_json::json!([
                    {"containerName": "init", "condition": "SUCCESS"},
                    {"containerName": "db", "condition": "HEALTHY"}]))
            ])),
            Ok(())
        );
        assert_eq!(
            with(serde_json::json!([app(
                serde_json::json!([{"containerName": "nope", "condition": "START"}])
            )])),
            Err("Cannot depend on container + 'nope' because it does not exist".into())
        );
        let essential_init = serde_json::json!({"name": "init", "image": "i"});
        assert_eq!(
            with(serde_json::json!([
                essential_init,
                app(serde_json::json!([{"containerName": "init", "condition": "COMPLETE"}]))
            ])),
            Err("A dependency container with SUCCESS or COMPLETE condition cannot be an essential container".into())
        );
        let unchecked = with(serde_json::json!([
            init.clone(),
            app(serde_json::json!([{"containerName": "init", "condition": "HEALTHY"}]))
        ]));
        assert!(unchecked.unwrap_err().contains("no healthCheck"));
        let cycle = with(serde_json::json!([
            {"name": "a", "image": "a", "dependsOn": [{"containerName": "b", "condition": "START"}]},
            {"name": "b", "image": "b", "dependsOn": [{"containerName": "a", "condition": "START"}]}
        ]));
        assert_eq!(
            cycle,
            Err("The container dependencies form a cycle: a -> b -> a.".into())
        );
        let late = with(serde_json::json!([
            {"name": "app", "image": "a", "startTimeout": 121}
        ]));
        assert!(late.unwrap_err().contains("startTimeout"));
    }

    #[test]
    fn volumes_mounts_and_linux_parameters_follow_fargates_rules() {
        let with = |patch: serde_json::Value| {
            let mut d = serde_json::to_value(fargate("256", "512")).unwrap();
            for (k, v) in patch.as_object().unwrap() {
                d[k] = v.clone();
            }
            let mut d: TaskDefinition = serde_json::from_value(d).unwrap();
            task_definition(&mut d).map_err(|e| e.to_string())
        };
        let app = |extra: serde_json::Value| {
            let mut c = serde_json::json!({"name": "app", "image": "a"});
            for (k, v) in extra.as_object().unwrap() {
                c[k] = v.clone();
            }
            serde_json::json!([c])
        };
        let shared = serde_json::json!([{"name": "data", "host": {}}]);
        assert_eq!(
            with(serde_json::json!({
                "volumes": shared,
                "ephemeralStorage": {"sizeInGiB": 30},
                "containerDefinitions": app(serde_json::json!({
                    "mountPoints": [{"sourceVolume": "data", "containerPath": "/data"}],
                    "ulimits": [{"name": "nofile", "softLimit": 1024, "hardLimit": 4096}],
                    "linuxParameters": {"initProcessEnabled": true,
                        "capabilities": {"add": ["SYS_PTRACE"], "drop": ["NET_RAW"]}},
                    "user": "1000", "workingDirectory": "/data"
                }))
            })),
            Ok(())
        );
        let refused = |patch: serde_json::Value, needle: &str| {
            let err = with(patch).unwrap_err();
            assert!(err.contains(needle), "{err}");
        };
        refused(
            serde_json::json!({"volumes": [{"name": "d", "host": {"sourcePath": "/etc"}}]}),
            "sourcePath",
        );
        refused(
            serde_json::json!({"volumes": [{"name": "d", "dockerVolumeConfiguration": {}}]}),
            "dockerVolumeConfiguration",
        );
        refused(
            serde_json::json!({"containerDefinitions": app(serde_json::json!({
                "mountPoints": [{"sourceVolume": "nope", "containerPath": "/x"}]}))}),
            "sourceVolume 'nope'",
        );
        refused(
            serde_json::json!({"containerDefinitions": app(serde_json::json!({
                "volumesFrom": [{"sourceContainer": "app"}]}))}),
            "volumesFrom",
        );
        refused(
            serde_json::json!({"containerDefinitions": app(serde_json::json!({
                "linuxParameters": {"capabilities": {"add": ["NET_ADMIN"]}}}))}),
            "SYS_PTRACE",
        );
        refused(
            serde_json::json!({"containerDefinitions": app(serde_json::json!({
                "linuxParameters": {"sharedMemorySize": 64}}))}),
            "sharedMemorySize",
        );
        refused(
            serde_json::json!({"containerDefinitions": app(serde_json::json!({
                "ulimits": [{"name": "nofile", "softLimit": 10, "hardLimit": 2000000}]}))}),
            "nofile",
        );
        refused(
            serde_json::json!({"ephemeralStorage": {"sizeInGiB": 10}}),
            "ephemeralStorage",
        );
    }

    #[test]
    fn empty_role_arns_mean_none_and_secrets_need_an_execution_role() {
        let mut d = fargate("256", "512");
        d.task_role_arn = Some(String::new());
        d.execution_role_arn = Some(String::new());
        task_definition(&mut d).unwrap();
        assert_eq!((d.task_role_arn, d.execution_role_arn), (None, None));
        let mut d = fargate("256", "512");
        d.container_definitions[0].secrets = vec![super::super::task_definition::Secret {
            name: "X".into(),
            value_from: "/x".into(),
        }];
        assert_eq!(
            task_definition(&mut d).unwrap_err().code(),
            "ClientException"
        );
    }
}
