//! ECS validation rules (aws-semantics C2), as pure functions.

use super::task_definition::TaskDefinition;

/// A rejected ECS request: the error shape name and its message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct EcsError {
    pub code: &'static str,
    pub message: String,
}

impl EcsError {
    pub fn client(message: impl Into<String>) -> Self {
        Self {
            code: "ClientException",
            message: message.into(),
        }
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            code: "InvalidParameterException",
            message: message.into(),
        }
    }
    pub fn cluster_not_found() -> Self {
        Self {
            code: "ClusterNotFoundException",
            message: "Cluster not found.".into(),
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

/// Whether `cpu` units with `memory` MiB is a Fargate size (aws-semantics C2).
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
        return Err(EcsError::client(
            "Family contains invalid characters or is too long: up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores are allowed.",
        ));
    }
    if def.container_definitions.is_empty() {
        return Err(EcsError::client("Container list cannot be empty."));
    }
    if let Some(bad) = def.requires_compatibilities.iter().find(|c| {
        !matches!(
            c.as_str(),
            "EC2" | "FARGATE" | "EXTERNAL" | "MANAGED_INSTANCES"
        )
    }) {
        return Err(EcsError::invalid(format!(
            "Invalid requiresCompatibilities value: {bad}"
        )));
    }
    if let Some(cpu) = def.cpu.clone() {
        let units = normalize_cpu(&cpu)
            .ok_or_else(|| EcsError::client(format!("Invalid 'cpu' setting for task: {cpu}")))?;
        def.cpu = Some(units.to_string());
    }
    if let Some(memory) = def.memory.clone() {
        let mib = normalize_memory(&memory).ok_or_else(|| {
            EcsError::client(format!("Invalid 'memory' setting for task: {memory}"))
        })?;
        def.memory = Some(mib.to_string());
    }
    if def.is_fargate() {
        if def.network_mode.as_deref() != Some("awsvpc") {
            return Err(EcsError::client(
                "Fargate only supports network mode 'awsvpc'.",
            ));
        }
        let (Some(cpu), Some(memory)) = (def.cpu_units(), def.memory_mib()) else {
            return Err(EcsError::client(
                "Fargate requires that 'cpu' be defined at the task level.",
            ));
        };
        if !is_valid_fargate_size(cpu, memory) {
            return Err(EcsError::client(format!(
                "No Fargate configuration exists for given values: {cpu} CPU, {memory} memory. See the Amazon ECS documentation for the valid values."
            )));
        }
    }
    if let Some(mode) = def.network_mode.as_deref() {
        if !matches!(mode, "awsvpc" | "bridge" | "host" | "none") {
            return Err(EcsError::invalid(format!("Invalid networkMode: {mode}")));
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
        return Err(EcsError::client(
            "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
        ));
    }
    let awsvpc = def.network_mode.as_deref() == Some("awsvpc");
    let mut names = std::collections::HashSet::new();
    for container in &mut def.container_definitions {
        if container.name.is_empty() || container.image.is_empty() {
            return Err(EcsError::client(
                "Container.name and Container.image should not be null or empty.",
            ));
        }
        if !names.insert(container.name.clone()) {
            return Err(EcsError::client(format!(
                "Duplicate container name found: {}",
                container.name
            )));
        }
        for mapping in &mut container.port_mappings {
            if awsvpc {
                match mapping.host_port {
                    None => mapping.host_port = Some(mapping.container_port),
                    Some(h) if h != mapping.container_port => {
                        return Err(EcsError::client(
                            "When networkMode=awsvpc, the host ports and container ports in port mappings must match.",
                        ))
                    }
                    Some(_) => {}
                }
            }
            let protocol = mapping.protocol.get_or_insert_with(|| "tcp".into());
            if !matches!(protocol.as_str(), "tcp" | "udp") {
                return Err(EcsError::invalid(format!("Invalid protocol: {protocol}")));
            }
        }
        if let Some(hc) = &container.health_check {
            let first = hc.command.first().map(String::as_str);
            if !matches!(first, Some("CMD" | "CMD-SHELL")) {
                return Err(EcsError::client(
                    "The healthCheck command must start with CMD or CMD-SHELL.",
                ));
            }
            let in_range = (5..=300).contains(&hc.interval)
                && (2..=60).contains(&hc.timeout)
                && (1..=10).contains(&hc.retries)
                && hc.start_period.is_none_or(|s| s <= 300);
            if !in_range {
                return Err(EcsError::client(
                    "Health check values out of range: interval 5-300, timeout 2-60, retries 1-10, startPeriod 0-300.",
                ));
            }
        }
        if container
            .stop_timeout
            .is_some_and(|t| !(0..=120).contains(&t))
            && def.requires_compatibilities.iter().any(|c| c == "FARGATE")
        {
            return Err(EcsError::client(
                "stopTimeout must be between 0 and 120 seconds on Fargate.",
            ));
        }
        for dep in &container.depends_on {
            if !matches!(
                dep.condition.as_str(),
                "START" | "COMPLETE" | "SUCCESS" | "HEALTHY"
            ) {
                return Err(EcsError::invalid(format!(
                    "Invalid dependsOn condition: {}",
                    dep.condition
                )));
            }
        }
    }
    if !def.container_definitions.iter().any(|c| c.essential) {
        return Err(EcsError::client(
            "Task definition does not have any essential container.",
        ));
    }
    for container in &def.container_definitions {
        if let Some(dep) = container
            .depends_on
            .iter()
            .find(|d| !names.contains(&d.container_name))
        {
            return Err(EcsError::client(format!(
                "Container {} depends on unknown container {}.",
                container.name, dep.container_name
            )));
        }
    }
    Ok(())
}

impl From<EcsError> for crate::protocol::json::JsonError {
    fn from(e: EcsError) -> Self {
        Self::client(e.code, e.message)
    }
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
            .message
            .contains("No Fargate configuration"));
        let mut d = fargate("256", "512");
        d.network_mode = Some("bridge".into());
        assert!(task_definition(&mut d)
            .unwrap_err()
            .message
            .contains("awsvpc"));
        let mut d = fargate("256", "512");
        d.container_definitions[0].port_mappings[0].host_port = Some(80);
        assert!(task_definition(&mut d).is_err());
        let mut d = fargate("256", "512");
        d.container_definitions[0].essential = false;
        assert!(task_definition(&mut d)
            .unwrap_err()
            .message
            .contains("essential"));
        let mut d = fargate("256", "512");
        d.family = "bad family!".into();
        assert!(task_definition(&mut d).is_err());
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
        assert_eq!(task_definition(&mut d).unwrap_err().code, "ClientException");
    }
}
