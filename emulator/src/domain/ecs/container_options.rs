//! The parts of a task definition that shape how its containers run beyond
//! image and command: volumes and their mounts, the process's user and
//! directory, limits, labels and Linux parameters. Each is honoured on
//! Docker (see the task runner's container spec) or refused at
//! registration where Fargate refuses it.

use std::collections::BTreeMap;

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::domain::persist::field;

/// A task-level `volumes[]` item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Volume {
    pub name: String,
    /// A bind mount. On Fargate only without `sourcePath`: then it is an
    /// ephemeral volume the task's containers share.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<HostVolume>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub efs_volume_configuration: Option<EfsVolumeConfiguration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configured_at_launch: Option<bool>,
    /// `dockerVolumeConfiguration`, `fsxWindowsFileServerVolumeConfiguration`
    /// and whatever else: kept to be refused on Fargate and echoed.
    #[serde(flatten)]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct HostVolume {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

/// An EFS file system, emulated by one named Docker volume per file system
/// id, shared by every task that mounts it and kept while the emulator runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct EfsVolumeConfiguration {
    pub file_system_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_directory: Option<String>,
    /// Transit encryption, IAM authorization and access points: accepted
    /// and echoed, meaningless on a local volume.
    #[serde(flatten)]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub extra: Map<String, Value>,
}

/// A container's `mountPoints[]` item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct MountPoint {
    #[serde(default)]
    pub source_volume: String,
    #[serde(default)]
    pub container_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

/// A container's `volumesFrom[]` item: every mount of another container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeFrom {
    #[serde(default)]
    pub source_container: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub read_only: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Ulimit {
    pub name: String,
    pub soft_limit: i64,
    pub hard_limit: i64,
}

/// The `ulimits[].name` values ECS accepts.
pub const ULIMIT_NAMES: [&str; 15] = [
    "core",
    "cpu",
    "data",
    "fsize",
    "locks",
    "memlock",
    "msgqueue",
    "nice",
    "nofile",
    "nproc",
    "rss",
    "rtprio",
    "rttime",
    "sigpending",
    "stack",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct LinuxParameters {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<KernelCapabilities>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub init_process_enabled: Option<bool>,
    /// `devices`, `sharedMemorySize`, `tmpfs`, `maxSwap`, `swappiness`:
    /// Fargate refuses each; kept to say which.
    #[serde(flatten)]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct KernelCapabilities {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub add: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop: Vec<String>,
}

/// A `systemControls[]` item: a namespaced kernel parameter (sysctl).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct SystemControl {
    pub namespace: String,
    pub value: String,
}

/// The task's `ephemeralStorage`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, BorshSerialize, BorshDeserialize,
)]
#[serde(rename_all = "camelCase")]
pub struct EphemeralStorage {
    #[serde(rename = "sizeInGiB")]
    pub size_in_gib: i64,
}

/// Docker labels a definition sets, beside the emulator's own.
pub type DockerLabels = BTreeMap<String, String>;
