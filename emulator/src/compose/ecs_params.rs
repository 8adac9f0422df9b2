//! `ecs-params.yml`, as ecs-cli read it: the ECS settings a compose file
//! cannot say. `task_definition.task_size` (task cpu and memory, in CPU
//! units or `0.5 vCPU`, in MiB or `1GB`), the task and execution roles,
//! `task_definition.services.NAME.secrets`, and
//! `run_params.network_configuration.awsvpc_configuration` (subnets,
//! security groups, public IP). Fields not read are warned about by name.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use super::file::deserialize_noting_unread;
use super::ComposeError;
use crate::domain::ecs::validate::{normalize_cpu, normalize_memory};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct EcsParams {
    pub version: Option<serde_yaml_ng::Value>,
    pub task_definition: TaskDefinitionParams,
    pub run_params: RunParams,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TaskDefinitionParams {
    pub ecs_network_mode: Option<String>,
    pub task_role_arn: Option<String>,
    pub task_execution_role: Option<String>,
    pub task_size: Option<TaskSize>,
    pub services: BTreeMap<String, ServiceParams>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct TaskSize {
    pub cpu_limit: Option<super::file::Scalar>,
    pub mem_limit: Option<super::file::Scalar>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ServiceParams {
    pub secrets: Vec<Secret>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Secret {
    pub value_from: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct RunParams {
    pub network_configuration: NetworkConfiguration,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NetworkConfiguration {
    pub awsvpc_configuration: AwsVpcConfiguration,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct AwsVpcConfiguration {
    pub subnets: Vec<String>,
    pub security_groups: Vec<String>,
    pub assign_public_ip: Option<String>,
}

impl EcsParams {
    /// The task size in CPU units and MiB, if `task_size` gives it.
    pub fn task_size(&self) -> Result<(Option<u32>, Option<u32>), String> {
        let Some(size) = &self.task_definition.task_size else {
            return Ok((None, None));
        };
        let cpu = size
            .cpu_limit
            .as_ref()
            .map(|c| {
                normalize_cpu(&c.to_string()).ok_or_else(|| {
                    format!("task_definition.task_size.cpu_limit: {c} is not a CPU size")
                })
            })
            .transpose()?;
        let memory = size
            .mem_limit
            .as_ref()
            .map(|m| {
                normalize_memory(&m.to_string()).ok_or_else(|| {
                    format!("task_definition.task_size.mem_limit: {m} is not a memory size")
                })
            })
            .transpose()?;
        Ok((cpu, memory))
    }
}

/// Reads `path`; its warnings (fields not read, a network mode other than
/// awsvpc) are returned with it.
pub fn load(path: &Path) -> Result<(EcsParams, Vec<String>), ComposeError> {
    let error = |message: String| ComposeError::File {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| error(e.to_string()))?;
    let (params, warnings) = parse(&text).map_err(error)?;
    let warnings = warnings
        .into_iter()
        .map(|w| format!("{}: {w}", path.display()))
        .collect();
    Ok((params, warnings))
}

/// The YAML text to the typed params and its warnings.
pub fn parse(text: &str) -> Result<(EcsParams, Vec<String>), String> {
    let (params, unread): (EcsParams, _) =
        deserialize_noting_unread(serde_yaml_ng::Deserializer::from_str(text))?;
    let mut warnings: Vec<String> = unread
        .into_iter()
        .map(|p| format!("{p} is ignored: not an ecs-params field this tool reads"))
        .collect();
    if let Some(mode) = &params.task_definition.ecs_network_mode {
        if mode != "awsvpc" {
            warnings.push(format!(
                "task_definition.ecs_network_mode {mode} is ignored: Fargate tasks use awsvpc"
            ));
        }
    }
    params.task_size()?;
    Ok((params, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_size_roles_and_network_are_read() {
        let (params, warnings) = parse(
            "version: 1\n\
             task_definition:\n  ecs_network_mode: awsvpc\n  task_role_arn: arn:aws:iam::000000000000:role/app\n  \
             task_execution_role: ecsTaskExecutionRole\n  task_size:\n    cpu_limit: 0.5 vCPU\n    mem_limit: 1GB\n  \
             services:\n    web:\n      secrets:\n        - value_from: /app/token\n          name: TOKEN\n\
             run_params:\n  network_configuration:\n    awsvpc_configuration:\n      subnets: [subnet-a]\n      \
             security_groups: [sg-1]\n      assign_public_ip: DISABLED\n",
        )
        .unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(params.task_size().unwrap(), (Some(512), Some(1024)));
        assert_eq!(
            params.task_definition.task_execution_role.as_deref(),
            Some("ecsTaskExecutionRole")
        );
        let vpc = &params.run_params.network_configuration.awsvpc_configuration;
        assert_eq!(vpc.subnets, ["subnet-a"]);
        assert_eq!(vpc.security_groups, ["sg-1"]);
        assert_eq!(
            params.task_definition.services["web"].secrets[0].name,
            "TOKEN"
        );
    }

    #[test]
    fn unknown_fields_and_other_network_modes_are_warned_by_name() {
        let (_, warnings) = parse(
            "version: 1\ntask_definition:\n  ecs_network_mode: bridge\n  docker_volumes: []\n\
             run_params:\n  task_placement: {}\n",
        )
        .unwrap();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings
            .iter()
            .any(|w| w.starts_with("task_definition.docker_volumes")));
        assert!(warnings
            .iter()
            .any(|w| w.starts_with("run_params.task_placement")));
        assert!(warnings.iter().any(|w| w.contains("bridge")));
    }

    #[test]
    fn a_bad_size_names_its_field() {
        let err = parse("task_definition:\n  task_size:\n    cpu_limit: lots\n").unwrap_err();
        assert!(err.contains("task_definition.task_size.cpu_limit"), "{err}");
        let err = parse("task_definition:\n  task_size: 5\n").unwrap_err();
        assert!(err.contains("task_definition.task_size"), "{err}");
    }
}
