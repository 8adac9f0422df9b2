//! Secrets Manager model: secrets, their versions and staging labels,
//! scheduled deletion, tags and resource policies, plus the pure rules of the
//! API (names, secret ids, staging-label moves, random passwords).
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Operations.html>
//!
//! # Layout
//! - this file: the resource model (every struct and enum but
//!   [`PasswordRules`]; `build.rs` fingerprints them in path and file
//!   order), the limits and the errors.
//! - `versions`: a secret's versions and staging labels.
//! - `actions`: the API's changes and reads on [`SecretsState`].
//! - `validate`: input rules (tokens, names, descriptions, tags).
//! - `password`: GetRandomPassword.
//! - `tests`: the unit tests.

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::validation::constraint_violation;

mod actions;
mod password;
mod validate;
mod versions;

pub use password::{random_password, PasswordRules};
pub use validate::validate_name;

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
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created: OffsetDateTime,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
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
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub created: OffsetDateTime,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub last_changed: OffsetDateTime,
    /// Day of the last GetSecretValue (AWS rounds it to the day).
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub last_accessed: Option<OffsetDateTime>,
    /// When the scheduled deletion happens, while one is scheduled.
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub deletion_date: Option<OffsetDateTime>,
    pub policy: Option<String>,
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

#[cfg(test)]
mod tests;
