//! What a compose service's `healthcheck`, `volumes`, `cap_add`,
//! `cap_drop`, `init` and `logging` become: the container's health check,
//! mount points, Linux parameters and log configuration, the task's
//! volumes, and the target group's health check.

use std::collections::BTreeMap;

use aws_sdk_ecs::types::{
    HealthCheck, HostVolumeProperties, KernelCapabilities, LinuxParameters, LogConfiguration,
    LogDriver, MountPoint, Volume,
};

use super::super::file::{HealthTest, Mount};
use super::super::units::{http_path, seconds};
use super::{ServiceContext, TARGET_HEALTH_INTERVAL, TARGET_HEALTH_TIMEOUT};

impl ServiceContext<'_> {
    /// The target group's check: the path of an HTTP URL in the compose
    /// healthcheck (`curl -f http://localhost:8080/health`), else `/`; its
    /// interval and timeout when given.
    pub(super) fn target_health_check(&self) -> (String, i32, i32) {
        let check = self.service.healthcheck.as_ref();
        let path = check
            .and_then(|h| h.test.as_ref())
            .and_then(|test| test.words().iter().find_map(|w| http_path(w)))
            .unwrap_or_else(|| "/".to_string());
        let interval = check
            .and_then(|h| h.interval.as_deref())
            .and_then(|i| seconds(i).ok())
            .map_or(TARGET_HEALTH_INTERVAL, |s| s.clamp(5, 300));
        let timeout = check
            .and_then(|h| h.timeout.as_deref())
            .and_then(|t| seconds(t).ok())
            .map_or(TARGET_HEALTH_TIMEOUT, |t| t.clamp(2, 120))
            .min(interval - 1);
        (path, interval, timeout)
    }

    /// The container health check, with ECS's bounds.
    pub(super) fn health_check(
        &self,
        warnings: &mut Vec<String>,
    ) -> Result<Option<HealthCheck>, String> {
        let Some(check) = &self.service.healthcheck else {
            return Ok(None);
        };
        let command: Vec<String> = match &check.test {
            _ if check.disable => return Ok(None),
            None => {
                warnings.push(format!(
                    "{} has no test: the image's own HEALTHCHECK is not read, so the container has none",
                    self.field("healthcheck")
                ));
                return Ok(None);
            }
            Some(HealthTest::Shell(s)) => vec!["CMD-SHELL".into(), s.clone()],
            Some(test @ HealthTest::List(_)) => match test.words().first().map(String::as_str) {
                Some("NONE") => return Ok(None),
                Some("CMD" | "CMD-SHELL") => test.words(),
                _ => {
                    return Err(format!(
                        "{}: a list test starts with CMD, CMD-SHELL or NONE",
                        self.field("healthcheck.test")
                    ))
                }
            },
        };
        if check.start_interval.is_some() {
            warnings.push(format!(
                "{} is ignored: ECS health checks have no start interval",
                self.field("healthcheck.start_interval")
            ));
        }
        let mut bounded = |field: &str, value: Option<i32>, default: i32, min: i32, max: i32| {
            let v = value.unwrap_or(default);
            if !(min..=max).contains(&v) {
                warnings.push(format!(
                    "{} {v}s is moved into ECS's range {min}-{max}s",
                    self.field(&format!("healthcheck.{field}"))
                ));
            }
            v.clamp(min, max)
        };
        let duration = |field: &str, value: &Option<String>| -> Result<Option<i32>, String> {
            value
                .as_deref()
                .map(seconds)
                .transpose()
                .map_err(|e| format!("{}: {e}", self.field(&format!("healthcheck.{field}"))))
        };
        // Compose's defaults: 30 s interval and timeout, 3 retries, no start period.
        let interval = bounded(
            "interval",
            duration("interval", &check.interval)?,
            30,
            5,
            300,
        );
        let timeout = bounded("timeout", duration("timeout", &check.timeout)?, 30, 2, 60);
        let retries = bounded(
            "retries",
            check.retries.map(|r| i32::try_from(r).unwrap_or(i32::MAX)),
            3,
            1,
            10,
        );
        let start_period = bounded(
            "start_period",
            duration("start_period", &check.start_period)?,
            0,
            0,
            300,
        );
        Ok(Some(
            HealthCheck::builder()
                .set_command(Some(command))
                .interval(interval)
                .timeout(timeout)
                .retries(retries)
                .start_period(start_period)
                .build()
                .expect("command is set"),
        ))
    }

    /// Task volumes and the container's mount points: named and anonymous
    /// volumes are task volumes; bind mounts have no Fargate equivalent.
    pub(super) fn volumes(
        &self,
        warnings: &mut Vec<String>,
    ) -> Result<(Vec<Volume>, Vec<MountPoint>), String> {
        let mut volumes = vec![];
        let mut mounts = vec![];
        for (i, volume) in self.service.volumes.iter().enumerate() {
            let field = self.field(&format!("volumes[{i}]"));
            let Mount {
                kind,
                source,
                target,
                read_only,
            } = volume.mount();
            if kind != "volume" {
                warnings.push(format!(
                    "{field} ({kind} {}) is ignored: Fargate mounts no host paths; use a named volume",
                    source.as_deref().unwrap_or(&target)
                ));
                continue;
            }
            let name = match source {
                Some(name) if !self.named_volumes.contains(&name) => {
                    return Err(format!(
                        "{field}: the volume {name} is not declared under volumes"
                    ))
                }
                Some(name) => name,
                None => format!("anonymous-{i}"),
            };
            volumes.push(
                Volume::builder()
                    .name(&name)
                    .host(HostVolumeProperties::builder().build())
                    .build(),
            );
            mounts.push(
                MountPoint::builder()
                    .source_volume(name)
                    .container_path(target)
                    .read_only(read_only)
                    .build(),
            );
        }
        Ok((volumes, mounts))
    }

    /// `init`, `cap_add` (Fargate adds SYS_PTRACE only) and `cap_drop`.
    pub(super) fn linux_parameters(&self, warnings: &mut Vec<String>) -> Option<LinuxParameters> {
        let service = self.service;
        let (add, refused): (Vec<String>, Vec<String>) = service
            .cap_add
            .iter()
            .cloned()
            .partition(|c| c.trim_start_matches("CAP_") == "SYS_PTRACE");
        for cap in refused {
            warnings.push(format!(
                "{} {cap} is ignored: Fargate adds no capability but SYS_PTRACE",
                self.field("cap_add")
            ));
        }
        if add.is_empty() && service.cap_drop.is_empty() && service.init.is_none() {
            return None;
        }
        let capabilities = KernelCapabilities::builder()
            .set_add((!add.is_empty()).then_some(add))
            .set_drop((!service.cap_drop.is_empty()).then(|| service.cap_drop.clone()))
            .build();
        Some(
            LinuxParameters::builder()
                .capabilities(capabilities)
                .set_init_process_enabled(service.init)
                .build(),
        )
    }

    /// `awslogs` to the project's log group, or the service's own awslogs
    /// options; other drivers have no place on Fargate here.
    pub(super) fn log_configuration(&self, warnings: &mut Vec<String>) -> LogConfiguration {
        let logging = self.service.logging.clone().unwrap_or_default();
        let options: BTreeMap<String, String> = match logging.driver.as_deref() {
            Some("awslogs") => logging
                .options
                .iter()
                .map(|(k, v)| (k.clone(), v.to_string()))
                .collect(),
            other => {
                if let Some(driver) = other {
                    warnings.push(format!(
                        "{} {driver} is ignored: tasks log to CloudWatch Logs (awslogs)",
                        self.field("logging.driver")
                    ));
                }
                BTreeMap::from([
                    ("awslogs-group".to_string(), self.log_group.to_string()),
                    ("awslogs-region".to_string(), self.region.to_string()),
                    (
                        "awslogs-stream-prefix".to_string(),
                        self.project.to_string(),
                    ),
                    ("awslogs-create-group".to_string(), "true".to_string()),
                ])
            }
        };
        LogConfiguration::builder()
            .log_driver(LogDriver::Awslogs)
            .set_options(Some(options.into_iter().collect()))
            .build()
            .expect("the driver is set")
    }
}
