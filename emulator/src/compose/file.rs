//! The compose file: YAML read into an untyped tree, `${VAR}` interpolated
//! in every string value (from the environment and a `.env` beside the
//! file, as Docker Compose does), then typed with serde. Every field the
//! typed model does not read is collected and named in a warning, and a
//! type error names the file and the field's path.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_yaml_ng::Value;

use super::interpolate::interpolate_tree;
use super::ComposeError;

/// A compose file, typed. Fields keep compose's names.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ComposeFile {
    pub name: Option<String>,
    /// Obsolete in the Compose Specification; read so it draws no warning.
    pub version: Option<Value>,
    pub services: BTreeMap<String, Service>,
    pub volumes: BTreeMap<String, Option<NamedVolume>>,
    pub networks: BTreeMap<String, Option<Network>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Service {
    pub image: Option<String>,
    pub build: Option<Value>,
    pub command: Option<Command>,
    pub entrypoint: Option<Command>,
    pub environment: Option<Environment>,
    pub env_file: Option<EnvFiles>,
    pub ports: Vec<Port>,
    pub expose: Vec<Scalar>,
    pub healthcheck: Option<Healthcheck>,
    pub depends_on: Option<DependsOn>,
    pub volumes: Vec<VolumeMount>,
    pub deploy: Option<Deploy>,
    /// Compose's older replica count; `deploy.replicas` wins.
    pub scale: Option<u32>,
    pub labels: Option<Labels>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    pub ulimits: BTreeMap<String, Ulimit>,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub networks: Option<ServiceNetworks>,
    pub logging: Option<Logging>,
    pub init: Option<bool>,
    pub stop_grace_period: Option<String>,
    pub read_only: Option<bool>,
    pub tty: Option<bool>,
    pub stdin_open: Option<bool>,
}

/// A string value YAML may have typed as a number or a boolean.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
pub enum Scalar {
    String(String),
    Integer(i64),
    Float(f64),
    Bool(bool),
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::String(s) => f.write_str(s),
            Self::Integer(n) => write!(f, "{n}"),
            Self::Float(n) => write!(f, "{n}"),
            Self::Bool(b) => write!(f, "{b}"),
        }
    }
}

/// `command` / `entrypoint`: one string (split as a shell would) or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Command {
    Shell(String),
    Exec(Vec<Scalar>),
}

impl Command {
    /// The argument list; a string that a shell could not split is an error.
    pub fn args(&self) -> Result<Vec<String>, String> {
        match self {
            Self::Shell(s) => shell_words::split(s).map_err(|e| format!("{s:?}: {e}")),
            Self::Exec(v) => Ok(v.iter().map(Scalar::to_string).collect()),
        }
    }
}

/// `environment`: `KEY: value` (a null value is taken from the shell) or
/// `- KEY=value` (a bare `KEY` likewise).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Environment {
    Map(BTreeMap<String, Option<Scalar>>),
    List(Vec<String>),
}

/// `env_file`: one path, or a list of paths or `{path, required}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EnvFiles {
    One(String),
    Many(Vec<EnvFile>),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum EnvFile {
    Path(String),
    Long {
        path: String,
        #[serde(default = "yes")]
        required: bool,
    },
}

fn yes() -> bool {
    true
}

impl EnvFiles {
    /// Each file with whether it must exist.
    pub fn entries(&self) -> Vec<(String, bool)> {
        match self {
            Self::One(path) => vec![(path.clone(), true)],
            Self::Many(files) => files
                .iter()
                .map(|f| match f {
                    EnvFile::Path(path) => (path.clone(), true),
                    EnvFile::Long { path, required } => (path.clone(), *required),
                })
                .collect(),
        }
    }
}

/// `ports`: `"[HOST_IP:][PUBLISHED:]TARGET[/PROTOCOL]"` or the long form.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Port {
    Short(Scalar),
    Long(LongPort),
}

#[derive(Debug, Clone, Deserialize)]
pub struct LongPort {
    pub target: u16,
    pub published: Option<Scalar>,
    pub protocol: Option<String>,
    pub host_ip: Option<String>,
    pub mode: Option<String>,
    pub name: Option<String>,
    pub app_protocol: Option<String>,
}

/// One port mapping, whichever syntax it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortMapping {
    pub target: u16,
    pub published: Option<u16>,
    pub protocol: String,
}

impl Port {
    /// The mapping; a range (`8000-8010:8000-8010`) or a bad number is an error.
    pub fn mapping(&self) -> Result<PortMapping, String> {
        let number = |s: &str| -> Result<u16, String> {
            s.trim()
                .parse()
                .map_err(|_| format!("{s:?} is not a port number (ranges are not supported)"))
        };
        match self {
            Self::Short(spec) => {
                let spec = spec.to_string();
                let (ports, protocol) = match spec.rsplit_once('/') {
                    Some((ports, protocol)) => (ports, protocol.to_string()),
                    None => (spec.as_str(), "tcp".to_string()),
                };
                // An IPv6 host address is bracketed: `[::1]:80:8080`.
                let parts: Vec<&str> = match ports.rsplit_once("]:") {
                    Some((_, rest)) => rest.split(':').collect(),
                    None => ports.split(':').collect(),
                };
                let (published, target) = match parts.as_slice() {
                    [target] => (None, *target),
                    [published, target] | [_, published, target] => (Some(*published), *target),
                    _ => return Err(format!("{spec:?} is not a port mapping")),
                };
                Ok(PortMapping {
                    target: number(target)?,
                    published: published
                        .filter(|p| !p.is_empty())
                        .map(number)
                        .transpose()?,
                    protocol,
                })
            }
            Self::Long(long) => Ok(PortMapping {
                target: long.target,
                published: long
                    .published
                    .as_ref()
                    .map(|p| number(&p.to_string()))
                    .transpose()?,
                protocol: long.protocol.clone().unwrap_or_else(|| "tcp".into()),
            }),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Healthcheck {
    pub test: Option<HealthTest>,
    pub interval: Option<String>,
    pub timeout: Option<String>,
    pub retries: Option<u32>,
    pub start_period: Option<String>,
    pub start_interval: Option<String>,
    pub disable: bool,
}

/// `test`: `[CMD, ...]`, `[CMD-SHELL, "..."]`, `[NONE]`, or a string
/// (run by the shell, as CMD-SHELL).
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum HealthTest {
    Shell(String),
    List(Vec<Scalar>),
}

impl HealthTest {
    /// The list form's words, or the one shell string.
    pub fn words(&self) -> Vec<String> {
        match self {
            Self::Shell(s) => vec![s.clone()],
            Self::List(v) => v.iter().map(Scalar::to_string).collect(),
        }
    }
}

/// `depends_on`: a list of names, or a map with conditions.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum DependsOn {
    List(Vec<String>),
    Map(BTreeMap<String, Dependency>),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Dependency {
    pub condition: Condition,
    pub restart: Option<bool>,
    pub required: Option<bool>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    #[default]
    ServiceStarted,
    ServiceHealthy,
    ServiceCompletedSuccessfully,
}

impl DependsOn {
    pub fn entries(&self) -> Vec<(String, Condition)> {
        match self {
            Self::List(names) => names
                .iter()
                .map(|n| (n.clone(), Condition::ServiceStarted))
                .collect(),
            Self::Map(map) => map.iter().map(|(n, d)| (n.clone(), d.condition)).collect(),
        }
    }
}

/// `volumes` of a service: `[SOURCE:]TARGET[:MODE]` or the long form.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum VolumeMount {
    Short(String),
    Long(LongVolume),
}

#[derive(Debug, Clone, Deserialize)]
pub struct LongVolume {
    #[serde(rename = "type")]
    pub kind: String,
    pub source: Option<String>,
    pub target: String,
    #[serde(default)]
    pub read_only: bool,
}

/// A service's mount, whichever syntax it came in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// `volume` (named or anonymous), `bind` or another compose type.
    pub kind: String,
    pub source: Option<String>,
    pub target: String,
    pub read_only: bool,
}

impl VolumeMount {
    pub fn mount(&self) -> Mount {
        match self {
            Self::Short(spec) => {
                let parts: Vec<&str> = spec.split(':').collect();
                let (source, target, mode) = match parts.as_slice() {
                    [target] => (None, *target, ""),
                    [source, target] => (Some(*source), *target, ""),
                    [source, target, mode, ..] => (Some(*source), *target, *mode),
                    [] => (None, "", ""),
                };
                // A path (`./data`, `/srv`, `~/x`) is a bind mount, a name a volume.
                let bind = source.is_some_and(|s| s.starts_with(['.', '/', '~']));
                Mount {
                    kind: if bind { "bind" } else { "volume" }.into(),
                    source: source.map(str::to_string),
                    target: target.to_string(),
                    read_only: mode.split(',').any(|m| m == "ro"),
                }
            }
            Self::Long(long) => Mount {
                kind: long.kind.clone(),
                source: long.source.clone(),
                target: long.target.clone(),
                read_only: long.read_only,
            },
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Deploy {
    pub replicas: Option<u32>,
    pub resources: Option<Resources>,
    pub mode: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Resources {
    pub limits: Option<ResourceLimits>,
    pub reservations: Option<ResourceLimits>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ResourceLimits {
    pub cpus: Option<Scalar>,
    pub memory: Option<String>,
}

/// `labels`: a map or `- key=value`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Labels {
    Map(BTreeMap<String, Option<Scalar>>),
    List(Vec<String>),
}

impl Labels {
    pub fn entries(&self) -> BTreeMap<String, String> {
        match self {
            Self::Map(map) => map
                .iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_ref().map(Scalar::to_string).unwrap_or_default(),
                    )
                })
                .collect(),
            Self::List(list) => list
                .iter()
                .map(|l| match l.split_once('=') {
                    Some((k, v)) => (k.to_string(), v.to_string()),
                    None => (l.clone(), String::new()),
                })
                .collect(),
        }
    }
}

/// An ulimit: one number (soft = hard) or `{soft, hard}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Ulimit {
    Single(i64),
    Pair { soft: i64, hard: i64 },
}

impl Ulimit {
    pub fn soft_hard(&self) -> (i64, i64) {
        match self {
            Self::Single(n) => (*n, *n),
            Self::Pair { soft, hard } => (*soft, *hard),
        }
    }
}

/// A service's `networks`: a list of names or a map of names to settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum ServiceNetworks {
    List(Vec<String>),
    Map(BTreeMap<String, Option<Value>>),
}

impl ServiceNetworks {
    pub fn names(&self) -> Vec<String> {
        match self {
            Self::List(names) => names.clone(),
            Self::Map(map) => map.keys().cloned().collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Logging {
    pub driver: Option<String>,
    pub options: BTreeMap<String, Scalar>,
}

/// A top-level named volume.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct NamedVolume {
    pub driver: Option<String>,
    pub external: Option<Value>,
    pub name: Option<String>,
}

/// A top-level network.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Network {
    pub driver: Option<String>,
    pub external: Option<Value>,
    pub name: Option<String>,
}

/// A loaded compose file: the model, each service's final environment
/// (`env_file`s, then `environment`), and the warnings of loading.
#[derive(Debug)]
pub struct Project {
    pub name: String,
    pub path: PathBuf,
    pub file: ComposeFile,
    pub environments: BTreeMap<String, BTreeMap<String, String>>,
    pub warnings: Vec<String>,
}

/// Reads, interpolates and types `path`. `project_name` overrides the
/// file's `name` and its directory's name. `lookup` is the shell
/// environment (the process's, or a test's).
pub fn load(
    path: &Path,
    project_name: Option<&str>,
    lookup: &dyn Fn(&str) -> Option<String>,
) -> Result<Project, ComposeError> {
    let file_error = |message: String| ComposeError::File {
        path: path.to_path_buf(),
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let dotenv = read_env_file(&dir.join(".env"), false).map_err(file_error)?;
    // The shell's variables win over `.env`'s, as in Docker Compose.
    let variables = |name: &str| lookup(name).or_else(|| dotenv.get(name).cloned());
    let mut warnings = vec![];
    let file = parse(&text, &variables, &mut warnings).map_err(file_error)?;

    let name = project_name
        .map(str::to_string)
        .or_else(|| file.name.clone())
        .or_else(|| {
            std::path::absolute(dir)
                .ok()?
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
        })
        .unwrap_or_default();
    let name = normalize_project_name(&name).ok_or_else(|| {
        file_error(format!(
            "project name {name:?} has no letter or digit; pass --project-name"
        ))
    })?;

    let mut environments = BTreeMap::new();
    for (service_name, service) in &file.services {
        let mut env = BTreeMap::new();
        for (env_path, required) in service
            .env_file
            .as_ref()
            .map(EnvFiles::entries)
            .unwrap_or_default()
        {
            let resolved = dir.join(&env_path);
            let values = read_env_file(&resolved, required).map_err(|message| {
                file_error(format!("services.{service_name}.env_file: {message}"))
            })?;
            env.extend(values);
        }
        match &service.environment {
            Some(Environment::Map(map)) => {
                for (key, value) in map {
                    match value {
                        Some(v) => {
                            env.insert(key.clone(), v.to_string());
                        }
                        None => {
                            if let Some(v) = variables(key) {
                                env.insert(key.clone(), v);
                            }
                        }
                    }
                }
            }
            Some(Environment::List(list)) => {
                for entry in list {
                    match entry.split_once('=') {
                        Some((k, v)) => {
                            env.insert(k.to_string(), v.to_string());
                        }
                        None => {
                            if let Some(v) = variables(entry) {
                                env.insert(entry.clone(), v);
                            }
                        }
                    }
                }
            }
            None => {}
        }
        environments.insert(service_name.clone(), env);
    }
    Ok(Project {
        name,
        path: path.to_path_buf(),
        file,
        environments,
        warnings: warnings
            .into_iter()
            .map(|w| format!("{}: {w}", path.display()))
            .collect(),
    })
}

/// YAML text to the typed model: interpolation, then typing; the fields
/// left unread are warned about.
pub fn parse(
    text: &str,
    variables: &dyn Fn(&str) -> Option<String>,
    warnings: &mut Vec<String>,
) -> Result<ComposeFile, String> {
    let mut tree: Value = serde_yaml_ng::from_str(text).map_err(|e| e.to_string())?;
    if tree.is_null() {
        return Err("the file is empty".into());
    }
    interpolate_tree(&mut tree, "", variables, warnings)?;
    let (file, unread): (ComposeFile, _) = deserialize_noting_unread(tree)?;
    for path in unread.iter().map(|path| path.replace(".?", "")) {
        // `x-` fields are compose's extension points (YAML anchors live there).
        if !path.split('.').any(|segment| segment.starts_with("x-")) {
            warnings.push(unread_field_warning(&path));
        }
    }
    if file.services.is_empty() {
        return Err("services: the file defines no service".into());
    }
    Ok(file)
}

/// Why a field the model does not read has no ECS meaning here.
/// Deserializes `input` as `T`, with the paths of the fields `T` does not
/// read; a type error is prefixed with the path of the field it is in.
pub(super) fn deserialize_noting_unread<'de, D, T>(input: D) -> Result<(T, Vec<String>), String>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    let mut unread = vec![];
    let typed: Result<T, _> = {
        let mut note = |path: serde_ignored::Path| unread.push(path.to_string());
        let ignored = serde_ignored::Deserializer::new(input, &mut note);
        serde_path_to_error::deserialize(ignored)
    };
    let value = typed.map_err(|e| {
        let path = e.path().to_string();
        format!("{path}: {}", e.into_inner())
    })?;
    Ok((value, unread))
}

fn unread_field_warning(path: &str) -> String {
    let field = path.rsplit('.').next().unwrap_or(path);
    let reason = match field {
        "privileged" => "Fargate runs no privileged containers",
        "network_mode" => "every Fargate task has its own network interface (awsvpc)",
        "container_name" | "hostname" | "domainname" => "ECS names containers and tasks itself",
        "restart" => "an ECS service always replaces a task that stops",
        "links" | "external_links" => "Fargate has no links; services resolve by name",
        "dns" | "dns_search" | "dns_opt" | "extra_hosts" => {
            "Fargate refuses DNS and extra-host settings"
        }
        "devices"
        | "device_cgroup_rules"
        | "shm_size"
        | "tmpfs"
        | "security_opt"
        | "pid"
        | "ipc"
        | "cgroup"
        | "cgroup_parent"
        | "userns_mode"
        | "isolation"
        | "oom_score_adj"
        | "oom_kill_disable"
        | "memswap_limit"
        | "mem_swappiness"
        | "cpuset"
        | "runtime"
        | "storage_opt"
        | "sysctls" => "Fargate task definitions do not take it",
        "platform" => "containers run on the Docker host's architecture",
        "pull_policy" => "images are used from the local Docker engine (pulled if missing)",
        "profiles" => "every service of the file is deployed",
        "secrets" | "configs" => {
            "put it in Secrets Manager or SSM and name it in ecs-params.yml's services.NAME.secrets"
        }
        "placement" | "update_config" | "rollback_config" | "restart_policy" | "endpoint_mode" => {
            "ECS schedules and rolls services itself"
        }
        _ => "it has no ECS meaning here",
    };
    format!("{path} is ignored: {reason}")
}

/// A dotenv file's variables (Docker Compose's format); a missing file is
/// empty unless `required`.
fn read_env_file(path: &Path, required: bool) -> Result<BTreeMap<String, String>, String> {
    if !path.exists() && !required {
        return Ok(BTreeMap::new());
    }
    let named = |e: dotenvy::Error| format!("{}: {e}", path.display());
    dotenvy::from_path_iter(path)
        .map_err(named)?
        .map(|item| item.map_err(named))
        .collect()
}

/// Compose's project-name rule: lower case, letters, digits, `-` and `_`,
/// starting with a letter or digit.
pub fn normalize_project_name(name: &str) -> Option<String> {
    let normalized: String = name
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    let normalized = normalized.trim_start_matches(['-', '_']).to_string();
    (!normalized.is_empty()).then_some(normalized)
}

#[cfg(test)]
#[path = "file_tests.rs"]
mod tests;
