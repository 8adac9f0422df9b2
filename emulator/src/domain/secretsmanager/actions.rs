//! The actions on the secrets: create, read, put and update values, move
//! staging labels, delete and restore, tags and resource policies, and the
//! values a task definition's `secrets` resolve to.

use rand::Rng;
use time::{Duration, OffsetDateTime};

use super::validate::{check_description, check_tags, check_token, validate_name};
use super::{
    Changed, CreateRequest, Secret, SecretValue, SecretVersion, SecretsError, SecretsState,
    TaskSecretRef, AWSCURRENT, DEFAULT_RECOVERY_WINDOW_DAYS, MAX_TAGS, RECOVERY_WINDOW_DAYS,
    SUFFIX_LEN,
};

/// `n` random letters and digits: the ARN suffix.
fn random_suffix() -> String {
    rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(SUFFIX_LEN)
        .map(char::from)
        .collect()
}

impl SecretsState {
    /// Deletes the secrets whose recovery window is over.
    fn purge(&mut self, now: OffsetDateTime) {
        self.secrets
            .retain(|_, s| s.deletion_date.is_none_or(|d| d > now));
    }

    /// The secret a SecretId names: its name, its ARN, or its ARN without
    /// the random suffix (a partial ARN).
    pub fn find(&self, secret_id: &str, now: OffsetDateTime) -> Option<&Secret> {
        let key = self.key_of(secret_id)?;
        self.secrets
            .get(&key)
            .filter(|s| s.deletion_date.is_none_or(|d| d > now))
    }

    fn key_of(&self, secret_id: &str) -> Option<String> {
        if self.secrets.contains_key(secret_id) {
            return Some(secret_id.to_string());
        }
        if !secret_id.starts_with("arn:") {
            return None;
        }
        self.secrets
            .values()
            .find(|s| s.arn == secret_id)
            .or_else(|| {
                self.secrets.values().find(|s| {
                    s.arn.len() > SUFFIX_LEN + 1
                        && s.arn[..s.arn.len() - SUFFIX_LEN - 1] == *secret_id
                })
            })
            .map(|s| s.name.clone())
    }

    /// The secret for a change: found, and not scheduled for deletion.
    fn live_mut(
        &mut self,
        secret_id: &str,
        now: OffsetDateTime,
    ) -> Result<&mut Secret, SecretsError> {
        let secret = self.any_mut(secret_id, now)?;
        if secret.is_scheduled_for_deletion() {
            return Err(SecretsError::marked_for_deletion());
        }
        Ok(secret)
    }

    /// The secret, scheduled for deletion or not.
    pub fn any_mut(
        &mut self,
        secret_id: &str,
        now: OffsetDateTime,
    ) -> Result<&mut Secret, SecretsError> {
        self.purge(now);
        let key = self
            .key_of(secret_id)
            .ok_or_else(SecretsError::secret_not_found)?;
        self.secrets
            .get_mut(&key)
            .ok_or_else(SecretsError::secret_not_found)
    }

    pub fn create(
        &mut self,
        request: CreateRequest,
        region: &str,
        account: &str,
        now: OffsetDateTime,
    ) -> Result<Changed, SecretsError> {
        validate_name(&request.name)?;
        check_description(request.description.as_deref())?;
        check_tags(&request.tags)?;
        self.purge(now);
        if let Some(existing) = self.secrets.get_mut(&request.name) {
            if existing.is_scheduled_for_deletion() {
                return Err(SecretsError::InvalidRequest("You can't create this secret because a secret with this name is already scheduled for deletion.".into()));
            }
            // The same request again (same token and value) succeeds once more.
            let repeated = request.token.as_deref().and_then(|t| existing.version(t));
            return match (repeated, &request.value) {
                (Some(version), Some(value)) if version.value == *value => Ok(Changed {
                    arn: existing.arn.clone(),
                    name: existing.name.clone(),
                    version_id: Some(version.id.clone()),
                }),
                _ => Err(SecretsError::Exists(format!(
                    "The operation failed because the secret {} already exists.",
                    request.name
                ))),
            };
        }
        let arn = format!(
            "arn:aws:secretsmanager:{region}:{account}:secret:{}-{}",
            request.name,
            random_suffix()
        );
        let mut secret = Secret {
            name: request.name.clone(),
            arn: arn.clone(),
            description: request.description,
            kms_key_id: request.kms_key_id,
            tags: Vec::new(),
            versions: Vec::new(),
            created: now,
            last_changed: now,
            last_accessed: None,
            deletion_date: None,
            policy: None,
        };
        crate::domain::tags::upsert(&mut secret.tags, request.tags, |a, b| a == b);
        let version_id = match request.value {
            Some(value) => {
                Some(secret.add_or_repeat(request.token, value, &[AWSCURRENT.to_string()], now)?)
            }
            None => {
                check_token(request.token)?;
                None
            }
        };
        self.secrets.insert(request.name.clone(), secret);
        Ok(Changed {
            arn,
            name: request.name,
            version_id,
        })
    }

    /// GetSecretValue: the version, whose access date it records.
    pub fn get_value(
        &mut self,
        secret_id: &str,
        version_id: Option<&str>,
        stage: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(&Secret, &SecretVersion), SecretsError> {
        let secret = self.live_mut(secret_id, now)?;
        let id = secret.pick(version_id, stage)?.id.clone();
        let today = now.replace_time(time::Time::MIDNIGHT);
        secret.last_accessed = Some(today);
        if let Some(v) = secret.versions.iter_mut().find(|v| v.id == id) {
            v.last_accessed = Some(today);
        }
        let secret = &*secret;
        let version = secret.version(&id).expect("picked above");
        Ok((secret, version))
    }

    /// PutSecretValue: a new version with `stages` (AWSCURRENT by default).
    pub fn put_value(
        &mut self,
        secret_id: &str,
        token: Option<String>,
        value: Option<SecretValue>,
        stages: Option<Vec<String>>,
        now: OffsetDateTime,
    ) -> Result<(Changed, Vec<String>), SecretsError> {
        let value = value.ok_or_else(|| {
            SecretsError::InvalidRequest(
                "You must provide either SecretString or SecretBinary.".into(),
            )
        })?;
        let stages = stages.unwrap_or_else(|| vec![AWSCURRENT.to_string()]);
        let secret = self.live_mut(secret_id, now)?;
        let id = secret.add_or_repeat(token, value, &stages, now)?;
        let stages = secret
            .version(&id)
            .map(|v| v.stages.clone())
            .unwrap_or_default();
        Ok((secret.changed(Some(id)), stages))
    }

    /// UpdateSecret: description, key, and a new AWSCURRENT version if a value is given.
    pub fn update(
        &mut self,
        secret_id: &str,
        description: Option<String>,
        kms_key_id: Option<String>,
        token: Option<String>,
        value: Option<SecretValue>,
        now: OffsetDateTime,
    ) -> Result<Changed, SecretsError> {
        check_description(description.as_deref())?;
        let secret = self.live_mut(secret_id, now)?;
        if let Some(d) = description {
            secret.description = Some(d);
            secret.last_changed = now;
        }
        if let Some(k) = kms_key_id {
            secret.kms_key_id = Some(k);
            secret.last_changed = now;
        }
        let version_id = match value {
            Some(value) => {
                Some(secret.add_or_repeat(token, value, &[AWSCURRENT.to_string()], now)?)
            }
            None => None,
        };
        Ok(secret.changed(version_id))
    }

    /// UpdateSecretVersionStage: moves `stage` from one version to another,
    /// or removes it.
    pub fn update_stage(
        &mut self,
        secret_id: &str,
        stage: &str,
        remove_from: Option<&str>,
        move_to: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<Changed, SecretsError> {
        let secret = self.live_mut(secret_id, now)?;
        for id in remove_from.iter().chain(move_to.iter()) {
            if secret.version(id).is_none() {
                return Err(SecretsError::version_not_found(id));
            }
        }
        let holder = secret.staged(stage).map(|v| v.id.clone());
        match (holder.as_deref(), remove_from) {
            (Some(h), None) if Some(h) != move_to => {
                return Err(SecretsError::InvalidParameter(format!("The parameter RemoveFromVersionId can't be empty. Staging label {stage} is currently attached to version {h}, so you must explicitly reference that version in RemoveFromVersionId.")))
            }
            (h, Some(r)) if h != Some(r) => {
                return Err(SecretsError::InvalidParameter(format!(
                    "The staging label {stage} is not attached to version {r}."
                )))
            }
            _ => {}
        }
        match move_to {
            Some(to) => secret.move_stage(stage, to),
            None if stage == AWSCURRENT => {
                return Err(SecretsError::InvalidParameter(
                    "You can't remove the staging label AWSCURRENT from a secret's versions. Move it to another version instead.".into(),
                ))
            }
            None => {
                for v in secret.versions.iter_mut() {
                    v.stages.retain(|s| s != stage);
                }
            }
        }
        secret.last_changed = now;
        Ok(secret.changed(None))
    }

    /// DeleteSecret: at once with `force`, else after the recovery window.
    /// Returns the secret and its deletion date.
    pub fn delete(
        &mut self,
        secret_id: &str,
        window_days: Option<i64>,
        force: bool,
        now: OffsetDateTime,
    ) -> Result<(Changed, OffsetDateTime), SecretsError> {
        if force && window_days.is_some() {
            return Err(SecretsError::InvalidParameter(
                "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays."
                    .into(),
            ));
        }
        let days = window_days.unwrap_or(DEFAULT_RECOVERY_WINDOW_DAYS);
        if !force && !RECOVERY_WINDOW_DAYS.contains(&days) {
            return Err(SecretsError::InvalidParameter(
                "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).".into(),
            ));
        }
        let secret = self.any_mut(secret_id, now)?;
        let changed = secret.changed(None);
        if force {
            let name = secret.name.clone();
            self.secrets.remove(&name);
            return Ok((changed, now));
        }
        if secret.is_scheduled_for_deletion() {
            return Err(SecretsError::marked_for_deletion());
        }
        let date = now + Duration::days(days);
        secret.deletion_date = Some(date);
        Ok((changed, date))
    }

    /// RestoreSecret: cancels a scheduled deletion.
    pub fn restore(
        &mut self,
        secret_id: &str,
        now: OffsetDateTime,
    ) -> Result<Changed, SecretsError> {
        let secret = self.any_mut(secret_id, now)?;
        secret.deletion_date = None;
        Ok(secret.changed(None))
    }

    pub fn tag(
        &mut self,
        secret_id: &str,
        tags: Vec<(String, String)>,
        now: OffsetDateTime,
    ) -> Result<(), SecretsError> {
        check_tags(&tags)?;
        let secret = self.live_mut(secret_id, now)?;
        let mut merged = secret.tags.clone();
        crate::domain::tags::upsert(&mut merged, tags, |a, b| a == b);
        if merged.len() > MAX_TAGS {
            return Err(SecretsError::InvalidParameter(format!(
                "Number of tags exceeds the limit of {MAX_TAGS}."
            )));
        }
        secret.tags = merged;
        Ok(())
    }

    pub fn untag(
        &mut self,
        secret_id: &str,
        keys: &[String],
        now: OffsetDateTime,
    ) -> Result<(), SecretsError> {
        let secret = self.live_mut(secret_id, now)?;
        secret.tags.retain(|(k, _)| !keys.contains(k));
        Ok(())
    }

    /// PutResourcePolicy: the policy must be a JSON object.
    pub fn put_policy(
        &mut self,
        secret_id: &str,
        policy: String,
        now: OffsetDateTime,
    ) -> Result<Changed, SecretsError> {
        if !matches!(
            serde_json::from_str::<serde_json::Value>(&policy),
            Ok(serde_json::Value::Object(_))
        ) {
            return Err(SecretsError::MalformedPolicy(
                "This resource policy contains a syntax error.".into(),
            ));
        }
        let secret = self.live_mut(secret_id, now)?;
        secret.policy = Some(policy);
        Ok(secret.changed(None))
    }

    pub fn delete_policy(
        &mut self,
        secret_id: &str,
        now: OffsetDateTime,
    ) -> Result<Changed, SecretsError> {
        let secret = self.live_mut(secret_id, now)?;
        secret.policy = None;
        Ok(secret.changed(None))
    }

    /// The value Fargate injects for a container secret whose `valueFrom`
    /// is `arn:aws:secretsmanager:R:A:secret:NAME[-SUFFIX][:JSON_KEY:STAGE:VERSION_ID]`
    /// or a plain name. The error is the detail of the task's
    /// `ResourceInitializationError`.
    pub fn resolve_for_task(&self, value_from: &str) -> Result<String, String> {
        self.resolve_at(value_from, OffsetDateTime::now_utc())
    }

    pub(super) fn resolve_at(
        &self,
        value_from: &str,
        now: OffsetDateTime,
    ) -> Result<String, String> {
        const PREFIX: &str = "unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s)";
        let reference = TaskSecretRef::parse(value_from);
        let fetch_error = |e: SecretsError| {
            format!(
                "{PREFIX}: failed to fetch secret {} from secrets manager: {}: {e}",
                reference.secret_id,
                e.code()
            )
        };
        let secret = self
            .find(&reference.secret_id, now)
            .ok_or_else(|| fetch_error(SecretsError::secret_not_found()))?;
        if secret.is_scheduled_for_deletion() {
            return Err(fetch_error(SecretsError::marked_for_deletion()));
        }
        let version = secret
            .pick(reference.version_id, reference.stage)
            .map_err(fetch_error)?;
        let text = match &version.value {
            SecretValue::String(s) => s.clone(),
            // ECS injects SecretString only.
            SecretValue::Binary(_) => {
                return Err(format!(
                    "{PREFIX}: secret {} has no SecretString; ECS injects only string secrets",
                    reference.secret_id
                ))
            }
        };
        let Some(key) = reference.json_key else {
            return Ok(text);
        };
        let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&text)
            .map_err(|e| {
                format!(
                    "{PREFIX}: failed to unmarshal secret value of {}: {e}",
                    reference.secret_id
                )
            })?;
        match object.get(key) {
            Some(serde_json::Value::String(s)) => Ok(s.clone()),
            Some(other) => Ok(other.to_string()),
            None => Err(format!(
                "{PREFIX}: retrieved secret from Secrets Manager did not contain json key {key}"
            )),
        }
    }
}
