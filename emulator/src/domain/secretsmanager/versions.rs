//! A secret's versions and their staging labels: picking a version for a
//! read, adding one, moving AWSCURRENT and AWSPREVIOUS, and the limit on
//! versions kept.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::validate::check_token;
use super::{
    Changed, Secret, SecretValue, SecretVersion, SecretsError, AWSCURRENT, AWSPREVIOUS,
    MAX_VERSIONS,
};

impl Secret {
    pub fn version(&self, id: &str) -> Option<&SecretVersion> {
        self.versions.iter().find(|v| v.id == id)
    }

    pub(super) fn staged(&self, stage: &str) -> Option<&SecretVersion> {
        self.versions
            .iter()
            .find(|v| v.stages.iter().any(|s| s == stage))
    }

    /// The version a GetSecretValue-style request picks: by id (and then
    /// holding `stage` if one is given), else by stage (AWSCURRENT by default).
    pub fn pick(
        &self,
        version_id: Option<&str>,
        stage: Option<&str>,
    ) -> Result<&SecretVersion, SecretsError> {
        match (version_id, stage) {
            (Some(id), stage) => {
                let version = self
                    .version(id)
                    .ok_or_else(|| SecretsError::version_not_found(id))?;
                match stage {
                    Some(stage) if !version.stages.iter().any(|s| s == stage) => {
                        Err(SecretsError::stage_not_found(stage))
                    }
                    _ => Ok(version),
                }
            }
            (None, stage) => {
                let stage = stage.unwrap_or(AWSCURRENT);
                self.staged(stage)
                    .ok_or_else(|| SecretsError::stage_not_found(stage))
            }
        }
    }

    pub(super) fn changed(&self, version_id: Option<String>) -> Changed {
        Changed {
            arn: self.arn.clone(),
            name: self.name.clone(),
            version_id,
        }
    }

    pub fn is_scheduled_for_deletion(&self) -> bool {
        self.deletion_date.is_some()
    }

    /// Versions with labels, as DescribeSecret's VersionIdsToStages.
    pub fn version_stages(&self) -> BTreeMap<&str, &[String]> {
        self.versions
            .iter()
            .filter(|v| !v.stages.is_empty())
            .map(|v| (v.id.as_str(), v.stages.as_slice()))
            .collect()
    }

    /// Attaches `stage` to version `to` alone; AWSCURRENT's previous holder
    /// becomes AWSPREVIOUS.
    pub(super) fn move_stage(&mut self, stage: &str, to: &str) {
        let previous = self
            .staged(stage)
            .filter(|v| v.id != to)
            .map(|v| v.id.clone());
        for v in self.versions.iter_mut() {
            v.stages.retain(|s| s != stage);
        }
        if let Some(v) = self.versions.iter_mut().find(|v| v.id == to) {
            v.stages.push(stage.to_string());
        }
        if stage == AWSCURRENT {
            if let Some(previous) = previous {
                self.move_stage(AWSPREVIOUS, &previous);
            }
        }
    }

    /// Adds a version with `stages` and drops the oldest unlabelled
    /// versions beyond [`MAX_VERSIONS`].
    fn add_version(
        &mut self,
        id: String,
        value: SecretValue,
        stages: &[String],
        now: OffsetDateTime,
    ) {
        self.versions.push(SecretVersion {
            id: id.clone(),
            value,
            stages: Vec::new(),
            created: now,
            last_accessed: None,
        });
        for stage in stages {
            self.move_stage(stage, &id);
        }
        while self.versions.len() > MAX_VERSIONS {
            match self.versions.iter().position(|v| v.stages.is_empty()) {
                Some(i) => {
                    self.versions.remove(i);
                }
                None => break,
            }
        }
        self.last_changed = now;
    }

    /// A new version from a request token: the same token with the same
    /// value is the same request repeated (no new version).
    pub(super) fn add_or_repeat(
        &mut self,
        token: Option<String>,
        value: SecretValue,
        stages: &[String],
        now: OffsetDateTime,
    ) -> Result<String, SecretsError> {
        let id = check_token(token)?;
        if let Some(existing) = self.version(&id) {
            return if existing.value == value {
                Ok(id)
            } else {
                Err(SecretsError::Exists(
                    "You can't modify an existing version, you can only create new versions."
                        .into(),
                ))
            };
        }
        if self
            .versions
            .iter()
            .filter(|v| !v.stages.is_empty())
            .count()
            >= MAX_VERSIONS
        {
            return Err(SecretsError::LimitExceeded(format!(
                "The secret {} has too many versions with staging labels.",
                self.name
            )));
        }
        self.add_version(id.clone(), value, stages, now);
        Ok(id)
    }
}
