//! Task definitions as registered (the wire shape of RegisterTaskDefinition's
//! input, plus what ECS adds). Unknown members are kept and echoed back, so
//! fields the emulator does not act on still round-trip.

use crate::domain::epoch_seconds;
use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use time::OffsetDateTime;

use super::container_options::{
    DockerLabels, EphemeralStorage, LinuxParameters, MountPoint, SystemControl, Ulimit, Volume,
    VolumeFrom,
};
use super::KeyValuePair;

#[derive(Debug, Clone, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct TaskDefinition {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub task_definition_arn: String,
    pub family: String,
    #[serde(default)]
    pub revision: u32,
    /// Set at registration: a `status` member of RegisterTaskDefinition's
    /// input is read as a string and ignored.
    #[serde(default, deserialize_with = "TaskDefinitionStatus::ignore_input")]
    pub status: TaskDefinitionStatus,
    pub container_definitions: Vec<ContainerDefinition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requires_compatibilities: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub compatibilities: Vec<String>,
    /// Normalized to a number of CPU units as a string ("256").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Normalized to MiB as a string ("512").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_role_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_role_arn: Option<String>,
    #[serde(
        default,
        with = "epoch_seconds::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub registered_at: Option<OffsetDateTime>,
    #[serde(
        default,
        with = "epoch_seconds::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub deregistered_at: Option<OffsetDateTime>,
    /// The principal that registered it (set by the emulator).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_by: Option<String>,
    /// Mounted where the containers' `mountPoints` name them.
    #[serde(default)]
    pub volumes: Vec<Volume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ephemeral_storage: Option<EphemeralStorage>,
    #[serde(default)]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub placement_constraints: Vec<Value>,
    /// What a container instance must offer, derived at registration
    /// ([`TaskDefinition::required_attributes`]), as ECS reports it.
    #[serde(default)]
    pub requires_attributes: Vec<RequiredAttribute>,
    #[serde(flatten)]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub extra: Map<String, Value>,
}

/// `status` of a task definition revision: ACTIVE when registered,
/// INACTIVE once deregistered, DELETE_IN_PROGRESS once deleted.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TaskDefinitionStatus {
    #[default]
    Active,
    Inactive,
    DeleteInProgress,
}

impl TaskDefinitionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "ACTIVE",
            Self::Inactive => "INACTIVE",
            Self::DeleteInProgress => "DELETE_IN_PROGRESS",
        }
    }

    fn ignore_input<'de, D: serde::Deserializer<'de>>(input: D) -> Result<Self, D::Error> {
        <String as Deserialize>::deserialize(input)?;
        Ok(Self::default())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
pub struct RequiredAttribute {
    pub name: String,
}

/// A container's `secrets` item: an environment variable filled at launch
/// from SSM Parameter Store or Secrets Manager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Secret {
    pub name: String,
    pub value_from: String,
}

/// Where a secret's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum SecretSource {
    Ssm,
    SecretsManager,
}

impl Secret {
    /// A Secrets Manager ARN reads Secrets Manager; anything else (a
    /// parameter name or ARN) reads Parameter Store, as Fargate does.
    pub fn source(&self) -> SecretSource {
        if self.value_from.starts_with("arn:aws:secretsmanager:") {
            SecretSource::SecretsManager
        } else {
            SecretSource::Ssm
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDefinition {
    pub name: String,
    pub image: String,
    #[serde(default)]
    pub cpu: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_reservation: Option<i64>,
    #[serde(default)]
    pub port_mappings: Vec<PortMapping>,
    /// Defaults to true; at least one container must be essential.
    #[serde(default = "default_true")]
    pub essential: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entry_point: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    #[serde(default)]
    pub environment: Vec<KeyValuePair>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<HealthCheck>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_timeout: Option<i64>,
    /// Seconds the containers depending on this one wait for it to reach
    /// COMPLETE, SUCCESS or HEALTHY, counted from its start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_timeout: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_configuration: Option<LogConfiguration>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<ContainerDependency>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<Secret>,
    #[serde(default)]
    pub mount_points: Vec<MountPoint>,
    #[serde(default)]
    pub volumes_from: Vec<VolumeFrom>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ulimits: Vec<Ulimit>,
    #[serde(default, skip_serializing_if = "DockerLabels::is_empty")]
    pub docker_labels: DockerLabels,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub readonly_root_filesystem: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub linux_parameters: Option<LinuxParameters>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pseudo_terminal: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interactive: Option<bool>,
    #[serde(default)]
    pub system_controls: Vec<SystemControl>,
    #[serde(flatten)]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub extra: Map<String, Value>,
}

fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct PortMapping {
    pub container_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_protocol: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct HealthCheck {
    pub command: Vec<String>,
    #[serde(default = "HealthCheck::default_interval")]
    pub interval: u32,
    #[serde(default = "HealthCheck::default_timeout")]
    pub timeout: u32,
    #[serde(default = "HealthCheck::default_retries")]
    pub retries: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_period: Option<u32>,
}

impl HealthCheck {
    fn default_interval() -> u32 {
        30
    }
    fn default_timeout() -> u32 {
        5
    }
    fn default_retries() -> u32 {
        3
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogConfiguration {
    pub log_driver: String,
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub options: std::collections::BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerDependency {
    pub container_name: String,
    pub condition: String,
}

impl TaskDefinition {
    pub fn is_fargate(&self) -> bool {
        self.requires_compatibilities.iter().any(|c| c == "FARGATE")
    }

    pub fn cpu_units(&self) -> Option<u32> {
        self.cpu.as_deref()?.parse().ok()
    }

    pub fn memory_mib(&self) -> Option<u32> {
        self.memory.as_deref()?.parse().ok()
    }

    pub fn container(&self, name: &str) -> Option<&ContainerDefinition> {
        self.container_definitions.iter().find(|c| c.name == name)
    }

    /// The port mapping named `name`, in any container (Service Connect's
    /// `portName`).
    pub fn named_port(&self, name: &str) -> Option<&PortMapping> {
        self.container_definitions
            .iter()
            .flat_map(|c| &c.port_mappings)
            .find(|m| m.name.as_deref() == Some(name))
    }

    /// The `requiresAttributes` ECS derives from what the definition uses.
    pub fn required_attributes(&self) -> Vec<RequiredAttribute> {
        const DOCKER_API: &str = "com.amazonaws.ecs.capability.docker-remote-api.";
        let containers = &self.container_definitions;
        let any = |f: &dyn Fn(&ContainerDefinition) -> bool| containers.iter().any(f);
        let awslogs = any(&|c| {
            c.log_configuration
                .as_ref()
                .is_some_and(|l| l.log_driver == "awslogs")
        });
        let secrets_from =
            |source: SecretSource| any(&|c| c.secrets.iter().any(|s| s.source() == source));
        let mut names = vec![format!("{DOCKER_API}1.18")];
        let mut add = |cond: bool, name: &str| {
            if cond {
                names.push(name.to_string());
            }
        };
        add(
            self.network_mode.as_deref() == Some("awsvpc"),
            "ecs.capability.task-eni",
        );
        add(
            awslogs,
            "com.amazonaws.ecs.capability.logging-driver.awslogs",
        );
        add(awslogs, &format!("{DOCKER_API}1.19"));
        add(
            awslogs && self.execution_role_arn.is_some(),
            "ecs.capability.execution-role-awslogs",
        );
        add(
            self.task_role_arn.is_some(),
            "com.amazonaws.ecs.capability.task-iam-role",
        );
        add(
            secrets_from(SecretSource::Ssm),
            "ecs.capability.secrets.ssm.environment-variables",
        );
        add(
            secrets_from(SecretSource::SecretsManager),
            "ecs.capability.secrets.asm.environment-variables",
        );
        add(
            any(&|c| c.health_check.is_some()),
            "ecs.capability.container-health-check",
        );
        add(
            any(&|c| !c.depends_on.is_empty()),
            "ecs.capability.container-ordering",
        );
        names.sort();
        names.dedup();
        names
            .into_iter()
            .map(|name| RequiredAttribute { name })
            .collect()
    }
}
