//! SSM Parameter Store model: parameters with their version history, labels
//! and tags, and the pure rules of the API (names, tiers, selectors, filters).
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Operations.html>
//!
//! # Layout
//! - this file: the resource model (every struct and enum; `build.rs`
//!   fingerprints them in path and file order), the limits and the errors.
//! - `names`: names, paths, labels and selectors.
//! - `validate`: PutParameter's other checks (tier, data type, key, tags).
//! - `filters`: `ParameterFilters`.
//! - `state`: the API's changes and reads on [`SsmState`].
//! - `tests`: the unit tests.

use crate::domain::persist::field;
use crate::domain::validation::constraint_violation;
use borsh::{BorshDeserialize, BorshSerialize};

use std::collections::BTreeMap;

use base64::Engine;
use time::OffsetDateTime;

mod filters;
mod names;
mod state;
mod validate;

pub use names::{is_under, is_valid_label, parse_selector, validate_name, validate_path};

/// Hierarchy depth limit of a parameter name (AWS: 15 levels).
pub const MAX_HIERARCHY_LEVELS: usize = 15;
/// Longest parameter name (AWS documents 1011 characters for the name).
pub const MAX_NAME_LEN: usize = 1011;
/// A parameter keeps this many versions; the oldest goes when a new one
/// comes (AWS: 100, and the oldest may not carry a label).
pub const MAX_VERSIONS: usize = 100;
/// Labels on one version (AWS: 10).
pub const MAX_LABELS_PER_VERSION: usize = 10;
/// Longest label (AWS: 100).
pub const MAX_LABEL_LEN: usize = 100;
/// Value size of a Standard parameter (AWS: 4 KB).
pub const STANDARD_VALUE_LIMIT: usize = 4096;
/// Value size of an Advanced parameter (AWS: 8 KB).
pub const ADVANCED_VALUE_LIMIT: usize = 8192;
/// Longest description (AWS: 1024).
pub const MAX_DESCRIPTION_LEN: usize = 1024;
/// Tags on one resource (AWS: 50).
pub const MAX_TAGS: usize = 50;
/// The key a SecureString uses when PutParameter names none.
pub const DEFAULT_KEY_ID: &str = "alias/aws/ssm";
/// The DataType of a parameter that names none.
pub const DEFAULT_DATA_TYPE: &str = "text";
/// The data types AWS accepts.
const DATA_TYPES: [&str; 3] = ["text", "aws:ec2:image", "aws:ssm:integration"];

/// A rejected SSM request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsmError {
    #[error("{0}")]
    Validation(String),
    /// GetParameter's ParameterNotFound carries no message on AWS.
    #[error("{0}")]
    ParameterNotFound(String),
    #[error("The parameter already exists. To overwrite this value, set the overwrite option in the request to true.")]
    ParameterAlreadyExists,
    #[error("Systems Manager could not find version {version} of {name}. Verify the version and try again.")]
    VersionNotFound { name: String, version: String },
    #[error("{0}")]
    HierarchyLevelLimitExceeded(String),
    #[error("Parameter value, cannot be validated against allowedPattern: {0}")]
    PatternMismatch(String),
    #[error("Invalid AllowedPattern: {0}")]
    InvalidAllowedPattern(String),
    #[error("You attempted to create a new version of {name} by calling the PutParameter API with the overwrite flag. Version {oldest}, the oldest version, can't be deleted because it has a label associated with it. Move the label to another version of the parameter, and try again.")]
    MaxVersionLimitExceeded { name: String, oldest: u64 },
    #[error("A parameter version can have maximum 10 labels.Move one or more labels to another version and try again.")]
    LabelLimitExceeded,
    #[error("{0}")]
    InvalidKeyId(String),
    #[error("{0}")]
    InvalidFilterKey(String),
    #[error("{0}")]
    InvalidFilterOption(String),
    #[error("{0}")]
    InvalidFilterValue(String),
    #[error("The specified token isn't valid.")]
    InvalidNextToken,
    #[error("The resource type is not valid.")]
    InvalidResourceType,
    #[error("The resource ID is not valid. Verify that the resource ID and try again.")]
    InvalidResourceId,
    #[error(
        "The Tags parameter contains more than the maximum number of tags allowed ({MAX_TAGS})."
    )]
    TooManyTags,
}

impl SsmError {
    /// The error shape name on the wire.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "ValidationException",
            Self::ParameterNotFound(_) => "ParameterNotFound",
            Self::ParameterAlreadyExists => "ParameterAlreadyExists",
            Self::VersionNotFound { .. } => "ParameterVersionNotFound",
            Self::HierarchyLevelLimitExceeded(_) => "HierarchyLevelLimitExceededException",
            Self::PatternMismatch(_) => "ParameterPatternMismatchException",
            Self::InvalidAllowedPattern(_) => "InvalidAllowedPatternException",
            Self::MaxVersionLimitExceeded { .. } => "ParameterMaxVersionLimitExceeded",
            Self::LabelLimitExceeded => "ParameterVersionLabelLimitExceeded",
            Self::InvalidKeyId(_) => "InvalidKeyId",
            Self::InvalidFilterKey(_) => "InvalidFilterKey",
            Self::InvalidFilterOption(_) => "InvalidFilterOption",
            Self::InvalidFilterValue(_) => "InvalidFilterValue",
            Self::InvalidNextToken => "InvalidNextToken",
            Self::InvalidResourceType => "InvalidResourceType",
            Self::InvalidResourceId => "InvalidResourceId",
            Self::TooManyTags => "TooManyTagsError",
        }
    }

    fn not_found(name: &str) -> Self {
        Self::ParameterNotFound(format!("Parameter {name} not found."))
    }
}

/// One page of a listing whose token is the offset of the next page;
/// `None` for a token that is not one.
pub fn offset_page<T>(
    items: Vec<T>,
    limit: usize,
    token: Option<&str>,
) -> Option<(Vec<T>, Option<String>)> {
    let start = match token {
        Some(t) => t.parse::<usize>().ok()?,
        None => 0,
    };
    let total = items.len();
    let page = items.into_iter().skip(start).take(limit).collect();
    let next = (start + limit < total).then(|| (start + limit).to_string());
    Some((page, next))
}

/// A String, StringList or SecureString.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum ParameterType {
    String,
    StringList,
    SecureString,
}

impl ParameterType {
    pub fn parse(s: &str) -> Result<Self, SsmError> {
        match s {
            "String" => Ok(Self::String),
            "StringList" => Ok(Self::StringList),
            "SecureString" => Ok(Self::SecureString),
            other => Err(SsmError::Validation(constraint_violation(
                other,
                "type",
                "Member must satisfy enum value set: [SecureString, StringList, String]",
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::String => "String",
            Self::StringList => "StringList",
            Self::SecureString => "SecureString",
        }
    }
}

/// Standard or Advanced (Intelligent-Tiering resolves to one of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Tier {
    Standard,
    Advanced,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "Standard",
            Self::Advanced => "Advanced",
        }
    }
}

/// One version of a parameter.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct ParameterVersion {
    pub version: u64,
    pub value: String,
    pub kind: ParameterType,
    /// The KMS key of a SecureString.
    pub key_id: Option<String>,
    pub description: Option<String>,
    pub allowed_pattern: Option<String>,
    pub tier: Tier,
    pub data_type: String,
    pub labels: Vec<String>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub last_modified: OffsetDateTime,
    pub last_modified_user: String,
}

impl ParameterVersion {
    /// The value as GetParameter returns it: a SecureString without
    /// decryption is its ciphertext (here a base64 blob naming the key).
    pub fn value_for(&self, with_decryption: bool) -> String {
        match (self.kind, with_decryption) {
            (ParameterType::SecureString, false) => base64::engine::general_purpose::STANDARD
                .encode(format!(
                    "kms:{}:{}",
                    self.key_id.as_deref().unwrap_or(DEFAULT_KEY_ID),
                    self.value
                )),
            _ => self.value.clone(),
        }
    }
}

/// A parameter: its versions, oldest first, and its tags.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct Parameter {
    pub name: String,
    pub versions: Vec<ParameterVersion>,
    pub tags: BTreeMap<String, String>,
}

impl Parameter {
    pub fn latest(&self) -> &ParameterVersion {
        // A parameter is only ever stored with at least one version.
        self.versions.last().expect("a parameter has a version")
    }

    fn version_mut(&mut self, version: u64) -> Option<&mut ParameterVersion> {
        self.versions.iter_mut().find(|v| v.version == version)
    }
}

/// What a selector (`name:VERSION` or `name:LABEL`) picks.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Selector {
    Version(u64),
    Label(String),
}

/// PutParameter's input, decoded.
#[derive(Debug, Clone, Default, BorshSerialize, BorshDeserialize)]
pub struct PutRequest {
    pub name: String,
    pub value: String,
    pub kind: Option<ParameterType>,
    pub key_id: Option<String>,
    pub description: Option<String>,
    pub overwrite: bool,
    pub allowed_pattern: Option<String>,
    pub tags: Vec<(String, String)>,
    /// `Standard`, `Advanced` or `Intelligent-Tiering`.
    pub tier: Option<String>,
    pub data_type: Option<String>,
}

/// A ParameterFilters entry, decoded.
#[derive(Debug, Clone, BorshSerialize, BorshDeserialize)]
pub struct StringFilter {
    pub key: String,
    pub option: Option<String>,
    pub values: Vec<String>,
}

/// Which action a filter list belongs to: keys and options differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum FilterContext {
    Describe,
    ByPath,
}

/// Parameters by name.
#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct SsmState {
    pub parameters: BTreeMap<String, Parameter>,
}

#[cfg(test)]
mod tests;
