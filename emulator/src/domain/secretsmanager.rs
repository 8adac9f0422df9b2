//! Secrets Manager model: secrets, their versions and staging labels,
//! scheduled deletion, tags and resource policies, plus the pure rules of the
//! API (names, secret ids, staging-label moves, random passwords).
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Operations.html>

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use std::collections::BTreeMap;

use rand::seq::SliceRandom;
use rand::Rng;
use time::{Duration, OffsetDateTime};

use super::ssm::constraint_violation;

/// The label of the version GetSecretValue returns by default.
pub const AWSCURRENT: &str = "AWSCURRENT";
/// The label the previous AWSCURRENT version gets when another takes it.
pub const AWSPREVIOUS: &str = "AWSPREVIOUS";
/// Longest secret name (AWS: 512).
pub const MAX_NAME_LEN: usize = 512;
/// Largest SecretString or SecretBinary (AWS: 65,536 bytes).
pub const MAX_VALUE_BYTES: usize = 65_536;
/// Longest description (AWS: 2,048).
pub const MAX_DESCRIPTION_LEN: usize = 2048;
/// ClientRequestToken length bounds (AWS: 32 to 64).
pub const TOKEN_LEN: std::ops::RangeInclusive<usize> = 32..=64;
/// A secret keeps about this many versions; unlabelled ones beyond it are
/// removed oldest first (AWS: about 100).
pub const MAX_VERSIONS: usize = 100;
/// Tags on one secret (AWS: 50).
pub const MAX_TAGS: usize = 50;
/// DeleteSecret's recovery window bounds and default, in days (AWS: 7-30, 30).
pub const RECOVERY_WINDOW_DAYS: std::ops::RangeInclusive<i64> = 7..=30;
pub const DEFAULT_RECOVERY_WINDOW_DAYS: i64 = 30;
/// GetRandomPassword's length bounds and default (AWS: 1-4096, 32).
pub const PASSWORD_LENGTH: std::ops::RangeInclusive<i64> = 1..=4096;
pub const DEFAULT_PASSWORD_LENGTH: i64 = 32;
/// The punctuation GetRandomPassword draws from (AWS's list).
const PUNCTUATION: &str = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
/// Characters of the random ARN suffix (AWS: 6 letters and digits).
const SUFFIX_LEN: usize = 6;

/// A rejected Secrets Manager request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecretsError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Exists(String),
    #[error("{0}")]
    InvalidParameter(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    LimitExceeded(String),
    #[error("{0}")]
    MalformedPolicy(String),
    #[error("The token is not valid.")]
    InvalidNextToken,
    /// A modelled constraint (length, range, enum) the request breaks.
    #[error("{0}")]
    Validation(String),
}

impl SecretsError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "ResourceNotFoundException",
            Self::Exists(_) => "ResourceExistsException",
            Self::InvalidParameter(_) => "InvalidParameterException",
            Self::InvalidRequest(_) => "InvalidRequestException",
            Self::LimitExceeded(_) => "LimitExceededException",
            Self::MalformedPolicy(_) => "MalformedPolicyDocumentException",
            Self::InvalidNextToken => "InvalidNextTokenException",
            Self::Validation(_) => "ValidationException",
        }
    }

    pub fn secret_not_found() -> Self {
        Self::NotFound("Secrets Manager can't find the specified secret.".into())
    }

    fn stage_not_found(stage: &str) -> Self {
        Self::NotFound(format!(
            "Secrets Manager can't find the specified secret value for staging label: {stage}"
        ))
    }

    fn version_not_found(version_id: &str) -> Self {
        Self::NotFound(format!(
            "Secrets Manager can't find the specified secret value for VersionId: {version_id}"
        ))
    }

    pub fn marked_for_deletion() -> Self {
        Self::InvalidRequest(
            "You can't perform this operation on the secret because it was marked for deletion."
                .into(),
        )
    }
}

/// A version's value: text, or bytes (base64 on the wire).
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum SecretValue {
    String(String),
    Binary(Vec<u8>),
}

impl SecretValue {
    /// SecretString or SecretBinary as a request gives them: one, or none.
    pub fn from_parts(
        string: Option<String>,
        binary: Option<Vec<u8>>,
    ) -> Result<Option<Self>, SecretsError> {
        let value = match (string, binary) {
            (Some(_), Some(_)) => {
                return Err(SecretsError::InvalidParameter(
                    "You can't specify both a binary secret value and a string secret value in the same secret.".into(),
                ))
            }
            (Some(s), None) => Self::String(s),
            (None, Some(b)) => Self::Binary(b),
            (None, None) => return Ok(None),
        };
        let (len, member) = match &value {
            Self::String(s) => (s.len(), "secretString"),
            Self::Binary(b) => (b.len(), "secretBinary"),
        };
        if len == 0 || len > MAX_VALUE_BYTES {
            return Err(SecretsError::Validation(constraint_violation(
                "***",
                member,
                &format!("Member must have length between 1 and {MAX_VALUE_BYTES}"),
            )));
        }
        Ok(Some(value))
    }
}

/// One version of a secret.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct SecretVersion {
    pub id: String,
    pub value: SecretValue,
    pub stages: Vec<String>,
    #[borsh(
        serialize_with = "field::time::serialize",
        deserialize_with = "field::time::deserialize"
    )]
    pub created: OffsetDateTime,
    #[borsh(
        serialize_with = "field::time_opt::serialize",
        deserialize_with = "field::time_opt::deserialize"
    )]
    pub last_accessed: Option<OffsetDateTime>,
}

/// One secret.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct Secret {
    pub name: String,
    pub arn: String,
    pub description: Option<String>,
    pub kms_key_id: Option<String>,
    /// In the order they were added, keys unique.
    pub tags: Vec<(String, String)>,
    /// Oldest first.
    pub versions: Vec<SecretVersion>,
    #[borsh(
        serialize_with = "field::time::serialize",
        deserialize_with = "field::time::deserialize"
    )]
    pub created: OffsetDateTime,
    #[borsh(
        serialize_with = "field::time::serialize",
        deserialize_with = "field::time::deserialize"
    )]
    pub last_changed: OffsetDateTime,
    /// Day of the last GetSecretValue (AWS rounds it to the day).
    #[borsh(
        serialize_with = "field::time_opt::serialize",
        deserialize_with = "field::time_opt::deserialize"
    )]
    pub last_accessed: Option<OffsetDateTime>,
    /// When the scheduled deletion happens, while one is scheduled.
    #[borsh(
        serialize_with = "field::time_opt::serialize",
        deserialize_with = "field::time_opt::deserialize"
    )]
    pub deletion_date: Option<OffsetDateTime>,
    pub policy: Option<String>,
}

impl Secret {
    pub fn version(&self, id: &str) -> Option<&SecretVersion> {
        self.versions.iter().find(|v| v.id == id)
    }

    fn staged(&self, stage: &str) -> Option<&SecretVersion> {
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

    fn changed(&self, version_id: Option<String>) -> Changed {
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
    fn move_stage(&mut self, stage: &str, to: &str) {
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
    fn add_or_repeat(
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

/// A ClientRequestToken, or a fresh one (the SDKs always send one).
fn check_token(token: Option<String>) -> Result<String, SecretsError> {
    match token {
        None => Ok(uuid::Uuid::new_v4().to_string()),
        Some(t) if TOKEN_LEN.contains(&t.len()) => Ok(t),
        Some(t) => Err(SecretsError::Validation(constraint_violation(
            &t,
            "clientRequestToken",
            "Member must have length between 32 and 64",
        ))),
    }
}

/// AWS's name rules: 1-512 of letters, digits and `/_+=.@-`.
pub fn validate_name(name: &str) -> Result<(), SecretsError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(SecretsError::Validation(constraint_violation(
            name,
            "name",
            &format!("Member must have length between 1 and {MAX_NAME_LEN}"),
        )));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/_+=.@-".contains(c))
    {
        return Err(SecretsError::InvalidParameter(
            "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!".into(),
        ));
    }
    Ok(())
}

fn check_description(description: Option<&str>) -> Result<(), SecretsError> {
    match description {
        Some(d) if d.len() > MAX_DESCRIPTION_LEN => {
            Err(SecretsError::Validation(constraint_violation(
                d,
                "description",
                &format!("Member must have length less than or equal to {MAX_DESCRIPTION_LEN}"),
            )))
        }
        _ => Ok(()),
    }
}

/// `n` random letters and digits: the ARN suffix.
fn random_suffix() -> String {
    rand::thread_rng()
        .sample_iter(rand::distributions::Alphanumeric)
        .take(SUFFIX_LEN)
        .map(char::from)
        .collect()
}

/// CreateSecret's input, decoded.
#[derive(Debug, Clone, Default, BorshSerialize, BorshDeserialize)]
pub struct CreateRequest {
    pub name: String,
    pub token: Option<String>,
    pub description: Option<String>,
    pub kms_key_id: Option<String>,
    pub value: Option<SecretValue>,
    pub tags: Vec<(String, String)>,
}

/// What a change returns: the secret's ARN and name, and a version if one was made.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Changed {
    pub arn: String,
    pub name: String,
    pub version_id: Option<String>,
}

/// Secrets by name.
#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct SecretsState {
    pub secrets: BTreeMap<String, Secret>,
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
        merge_tags(&mut secret.tags, request.tags);
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
        merge_tags(&mut merged, tags);
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

    fn resolve_at(&self, value_from: &str, now: OffsetDateTime) -> Result<String, String> {
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

/// A container secret's `valueFrom`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
struct TaskSecretRef<'a> {
    /// The secret's name or (full or partial) ARN.
    secret_id: String,
    json_key: Option<&'a str>,
    stage: Option<&'a str>,
    version_id: Option<&'a str>,
}

impl<'a> TaskSecretRef<'a> {
    fn parse(value_from: &'a str) -> Self {
        let none_if_empty = |s: Option<&'a str>| s.filter(|s| !s.is_empty());
        if !value_from.starts_with("arn:") {
            return Self {
                secret_id: value_from.to_string(),
                json_key: None,
                stage: None,
                version_id: None,
            };
        }
        // arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME are 7 parts;
        // names cannot hold a colon, so the rest are the three options.
        let parts: Vec<&str> = value_from.splitn(10, ':').collect();
        let secret_id = parts[..parts.len().min(7)].join(":");
        Self {
            secret_id,
            json_key: none_if_empty(parts.get(7).copied()),
            stage: none_if_empty(parts.get(8).copied()),
            version_id: none_if_empty(parts.get(9).copied()),
        }
    }
}

fn check_tags(tags: &[(String, String)]) -> Result<(), SecretsError> {
    for (key, value) in tags {
        if key.is_empty() || key.len() > 128 {
            return Err(SecretsError::Validation(constraint_violation(
                key,
                "tags.member.key",
                "Member must have length between 1 and 128",
            )));
        }
        if value.len() > 256 {
            return Err(SecretsError::Validation(constraint_violation(
                value,
                "tags.member.value",
                "Member must have length less than or equal to 256",
            )));
        }
    }
    if tags.len() > MAX_TAGS {
        return Err(SecretsError::InvalidParameter(format!(
            "Number of tags exceeds the limit of {MAX_TAGS}."
        )));
    }
    Ok(())
}

/// Adds tags, a repeated key replacing the value.
fn merge_tags(into: &mut Vec<(String, String)>, tags: Vec<(String, String)>) {
    for (key, value) in tags {
        match into.iter_mut().find(|(k, _)| *k == key) {
            Some(existing) => existing.1 = value,
            None => into.push((key, value)),
        }
    }
}

/// GetRandomPassword's options.
#[derive(Debug, Clone, Default, BorshSerialize, BorshDeserialize)]
pub struct PasswordRules {
    pub length: Option<i64>,
    pub exclude_characters: String,
    pub exclude_numbers: bool,
    pub exclude_punctuation: bool,
    pub exclude_uppercase: bool,
    pub exclude_lowercase: bool,
    pub include_space: bool,
    /// AWS's default: true.
    pub require_each_included_type: Option<bool>,
}

/// GetRandomPassword: `length` characters from the included classes, at
/// least one of each when required.
pub fn random_password(rules: &PasswordRules) -> Result<String, SecretsError> {
    let length = rules.length.unwrap_or(DEFAULT_PASSWORD_LENGTH);
    if !PASSWORD_LENGTH.contains(&length) {
        return Err(SecretsError::Validation(constraint_violation(
            &length.to_string(),
            "passwordLength",
            "Member must have value between 1 and 4096",
        )));
    }
    let keep = |c: &char| !rules.exclude_characters.contains(*c);
    let mut classes: Vec<Vec<char>> = Vec::new();
    let mut add = |excluded: bool, chars: &mut dyn Iterator<Item = char>| {
        if !excluded {
            let class: Vec<char> = chars.filter(keep).collect();
            if !class.is_empty() {
                classes.push(class);
            }
        }
    };
    add(rules.exclude_lowercase, &mut ('a'..='z'));
    add(rules.exclude_uppercase, &mut ('A'..='Z'));
    add(rules.exclude_numbers, &mut ('0'..='9'));
    add(rules.exclude_punctuation, &mut PUNCTUATION.chars());
    add(!rules.include_space, &mut std::iter::once(' '));
    if classes.is_empty() {
        return Err(SecretsError::InvalidParameter(
            "The password can't be generated: every character type is excluded.".into(),
        ));
    }
    let length = length as usize;
    let require_each = rules.require_each_included_type.unwrap_or(true);
    if require_each && length < classes.len() {
        return Err(SecretsError::InvalidParameter(format!(
            "The password length must be at least {} to include each character type.",
            classes.len()
        )));
    }
    let mut rng = rand::thread_rng();
    let all: Vec<char> = classes.concat();
    let mut password: Vec<char> = if require_each {
        classes
            .iter()
            .filter_map(|class| class.choose(&mut rng).copied())
            .collect()
    } else {
        Vec::new()
    };
    while password.len() < length {
        password.extend(all.choose(&mut rng));
    }
    password.shuffle(&mut rng);
    Ok(password.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN_A: &str = "aaaaaaaa-aaaa-aaaa-aaaa-aaaaaaaaaaaa";
    const TOKEN_B: &str = "bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbb";

    fn now() -> OffsetDateTime {
        OffsetDateTime::UNIX_EPOCH + Duration::days(20_000)
    }

    fn create(state: &mut SecretsState, name: &str, value: &str) -> Changed {
        state
            .create(
                CreateRequest {
                    name: name.into(),
                    token: Some(TOKEN_A.into()),
                    value: Some(SecretValue::String(value.into())),
                    ..Default::default()
                },
                "us-east-1",
                "000000000000",
                now(),
            )
            .unwrap()
    }

    fn text(
        state: &mut SecretsState,
        id: &str,
        version: Option<&str>,
        stage: Option<&str>,
    ) -> Result<String, &'static str> {
        match state.get_value(id, version, stage, now()) {
            Ok((_, v)) => match &v.value {
                SecretValue::String(s) => Ok(s.clone()),
                SecretValue::Binary(_) => Ok("<binary>".into()),
            },
            Err(e) => Err(e.code()),
        }
    }

    #[test]
    fn ids_are_names_full_and_partial_arns() {
        let mut s = SecretsState::default();
        let created = create(&mut s, "app/db", "pw");
        assert!(created
            .arn
            .starts_with("arn:aws:secretsmanager:us-east-1:000000000000:secret:app/db-"));
        let suffix = created.arn.rsplit('-').next().unwrap();
        assert_eq!(suffix.len(), 6);
        assert!(suffix.chars().all(|c| c.is_ascii_alphanumeric()));
        let partial = &created.arn[..created.arn.len() - 7];
        for id in ["app/db", created.arn.as_str(), partial] {
            assert_eq!(text(&mut s, id, None, None), Ok("pw".into()), "{id}");
        }
        assert_eq!(
            text(&mut s, "app/d", None, None),
            Err("ResourceNotFoundException")
        );
        assert_eq!(
            text(&mut s, &format!("{partial}-zzzzzz"), None, None),
            Err("ResourceNotFoundException")
        );
    }

    #[test]
    fn names_and_values_are_checked() {
        assert!(validate_name("a/b_c+d=e.f@g-h").is_ok());
        assert_eq!(
            validate_name("a b").unwrap_err().code(),
            "InvalidParameterException"
        );
        assert_eq!(
            validate_name(&"a".repeat(513)).unwrap_err().code(),
            "ValidationException"
        );
        assert_eq!(
            SecretValue::from_parts(Some("a".into()), Some(vec![1]))
                .unwrap_err()
                .code(),
            "InvalidParameterException"
        );
        assert_eq!(SecretValue::from_parts(None, None), Ok(None));
        assert_eq!(
            SecretValue::from_parts(Some(String::new()), None)
                .unwrap_err()
                .code(),
            "ValidationException"
        );
    }

    #[test]
    fn create_is_idempotent_per_token() {
        let mut s = SecretsState::default();
        let first = create(&mut s, "x", "v");
        assert_eq!(create(&mut s, "x", "v"), first);
        let err = s
            .create(
                CreateRequest {
                    name: "x".into(),
                    token: Some(TOKEN_A.into()),
                    value: Some(SecretValue::String("other".into())),
                    ..Default::default()
                },
                "us-east-1",
                "000000000000",
                now(),
            )
            .unwrap_err();
        assert_eq!(err.code(), "ResourceExistsException");
        assert_eq!(
            err.to_string(),
            "The operation failed because the secret x already exists."
        );
    }

    #[test]
    fn staging_labels_move_with_new_versions() {
        let mut s = SecretsState::default();
        create(&mut s, "x", "one");
        let (changed, stages) = s
            .put_value(
                "x",
                Some(TOKEN_B.into()),
                Some(SecretValue::String("two".into())),
                None,
                now(),
            )
            .unwrap();
        assert_eq!(changed.version_id.as_deref(), Some(TOKEN_B));
        assert_eq!(stages, vec![AWSCURRENT.to_string()]);
        assert_eq!(text(&mut s, "x", None, None), Ok("two".into()));
        assert_eq!(text(&mut s, "x", None, Some(AWSPREVIOUS)), Ok("one".into()));
        assert_eq!(text(&mut s, "x", Some(TOKEN_A), None), Ok("one".into()));
        assert_eq!(
            text(&mut s, "x", Some(TOKEN_A), Some(AWSCURRENT)),
            Err("ResourceNotFoundException")
        );
        // Repeating the put is a no-op; another value under the token is refused.
        s.put_value(
            "x",
            Some(TOKEN_B.into()),
            Some(SecretValue::String("two".into())),
            None,
            now(),
        )
        .unwrap();
        assert_eq!(s.secrets["x"].versions.len(), 2);
        assert_eq!(
            s.put_value(
                "x",
                Some(TOKEN_B.into()),
                Some(SecretValue::String("3".into())),
                None,
                now()
            )
            .unwrap_err()
            .code(),
            "ResourceExistsException"
        );
        // Moving AWSCURRENT back needs RemoveFromVersionId.
        assert_eq!(
            s.update_stage("x", AWSCURRENT, None, Some(TOKEN_A), now())
                .unwrap_err()
                .code(),
            "InvalidParameterException"
        );
        s.update_stage("x", AWSCURRENT, Some(TOKEN_B), Some(TOKEN_A), now())
            .unwrap();
        assert_eq!(text(&mut s, "x", None, None), Ok("one".into()));
        assert_eq!(text(&mut s, "x", None, Some(AWSPREVIOUS)), Ok("two".into()));
        // A custom label is added and removed.
        s.update_stage("x", "BLUE", None, Some(TOKEN_B), now())
            .unwrap();
        assert_eq!(text(&mut s, "x", None, Some("BLUE")), Ok("two".into()));
        s.update_stage("x", "BLUE", Some(TOKEN_B), None, now())
            .unwrap();
        assert_eq!(
            text(&mut s, "x", None, Some("BLUE")),
            Err("ResourceNotFoundException")
        );
    }

    #[test]
    fn deletion_recovery_and_force() {
        let mut s = SecretsState::default();
        create(&mut s, "x", "v");
        assert_eq!(
            s.delete("x", Some(3), false, now()).unwrap_err().code(),
            "InvalidParameterException"
        );
        assert_eq!(
            s.delete("x", Some(7), true, now()).unwrap_err().code(),
            "InvalidParameterException"
        );
        let (_, date) = s.delete("x", None, false, now()).unwrap();
        assert_eq!(date, now() + Duration::days(30));
        let err = s.get_value("x", None, None, now()).unwrap_err();
        assert_eq!(err, SecretsError::marked_for_deletion());
        assert_eq!(
            s.create(
                CreateRequest {
                    name: "x".into(),
                    ..Default::default()
                },
                "r",
                "a",
                now()
            )
            .unwrap_err()
            .code(),
            "InvalidRequestException"
        );
        s.restore("x", now()).unwrap();
        assert_eq!(text(&mut s, "x", None, None), Ok("v".into()));
        // Past the window the secret is gone.
        s.delete("x", Some(7), false, now()).unwrap();
        assert!(s.find("x", now() + Duration::days(8)).is_none());
        create(&mut s, "y", "v");
        s.delete("y", None, true, now()).unwrap();
        assert!(!s.secrets.contains_key("y"));
    }

    #[test]
    fn random_passwords_follow_the_rules() {
        let p = random_password(&PasswordRules::default()).unwrap();
        assert_eq!(p.chars().count(), 32);
        assert!(p.chars().any(|c| c.is_ascii_lowercase()));
        assert!(p.chars().any(|c| c.is_ascii_uppercase()));
        assert!(p.chars().any(|c| c.is_ascii_digit()));
        assert!(p.chars().any(|c| PUNCTUATION.contains(c)));
        let rules = PasswordRules {
            length: Some(64),
            exclude_punctuation: true,
            exclude_uppercase: true,
            exclude_characters: "abc".into(),
            ..Default::default()
        };
        let p = random_password(&rules).unwrap();
        assert_eq!(p.len(), 64);
        assert!(p
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()));
        assert!(!p.contains(['a', 'b', 'c']));
        let none = PasswordRules {
            exclude_lowercase: true,
            exclude_uppercase: true,
            exclude_numbers: true,
            exclude_punctuation: true,
            ..Default::default()
        };
        assert_eq!(
            random_password(&none).unwrap_err().code(),
            "InvalidParameterException"
        );
        let too_long = PasswordRules {
            length: Some(4097),
            ..Default::default()
        };
        assert_eq!(
            random_password(&too_long).unwrap_err().code(),
            "ValidationException"
        );
    }

    #[test]
    fn task_value_from_forms() {
        let mut s = SecretsState::default();
        let db = create(
            &mut s,
            "db",
            r#"{"user":"admin","port":5432,"nested":{"a":1}}"#,
        );
        create(&mut s, "plain", "text");
        s.put_value(
            "db",
            Some(TOKEN_B.into()),
            Some(SecretValue::String(r#"{"user":"next"}"#.into())),
            None,
            now(),
        )
        .unwrap();
        let partial = &db.arn[..db.arn.len() - 7];
        let resolve = |v: &str| s.resolve_at(v, now());
        assert_eq!(resolve("plain").unwrap(), "text");
        assert_eq!(resolve(&db.arn).unwrap(), r#"{"user":"next"}"#);
        assert_eq!(resolve(&format!("{}:user::", db.arn)).unwrap(), "next");
        assert_eq!(resolve(&format!("{partial}:user::")).unwrap(), "next");
        assert_eq!(
            resolve(&format!("{}:user:AWSPREVIOUS:", db.arn)).unwrap(),
            "admin"
        );
        assert_eq!(
            resolve(&format!("{}:port::{TOKEN_A}", db.arn)).unwrap(),
            "5432"
        );
        assert_eq!(
            resolve(&format!("{}:nested:AWSPREVIOUS:", db.arn)).unwrap(),
            r#"{"a":1}"#
        );
        assert_eq!(
            resolve(&format!("{}::AWSPREVIOUS:", db.arn)).unwrap().len(),
            45
        );
        let prefix = "unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secret from asm: service call has been retried 1 time(s)";
        let missing = "arn:aws:secretsmanager:us-east-1:000000000000:secret:nope-abcdef";
        assert_eq!(
            resolve(&format!("{missing}:k::")).unwrap_err(),
            format!("{prefix}: failed to fetch secret {missing} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.")
        );
        assert_eq!(
            resolve(&format!("{}:password::", db.arn)).unwrap_err(),
            format!(
                "{prefix}: retrieved secret from Secrets Manager did not contain json key password"
            )
        );
        assert_eq!(
            resolve(&format!("{}::BLUE:", db.arn)).unwrap_err(),
            format!("{prefix}: failed to fetch secret {} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret value for staging label: BLUE", db.arn)
        );
        assert!(resolve(&format!("{}:::{TOKEN_B}x", db.arn))
            .unwrap_err()
            .ends_with("can't find the specified secret value for VersionId: bbbbbbbb-bbbb-bbbb-bbbb-bbbbbbbbbbbbx"));
        assert!(resolve("plain:k").is_err());
        s.delete("plain", None, false, now()).unwrap();
        assert!(s
            .resolve_at("plain", now())
            .unwrap_err()
            .ends_with("InvalidRequestException: You can't perform this operation on the secret because it was marked for deletion."));
    }
}
