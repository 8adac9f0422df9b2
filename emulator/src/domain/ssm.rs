//! SSM Parameter Store model: parameters with their version history, labels
//! and tags, and the pure rules of the API (names, tiers, selectors, filters).
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Operations.html>

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use std::collections::BTreeMap;

use base64::Engine;
use time::OffsetDateTime;

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

/// AWS's wording for a member that breaks a modelled constraint.
pub fn constraint_violation(value: &str, member: &str, constraint: &str) -> String {
    format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    )
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
    #[borsh(
        serialize_with = "field::time::serialize",
        deserialize_with = "field::time::deserialize"
    )]
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

/// Splits `name[:selector]`. An ARN's colons are not selectors.
pub fn parse_selector(reference: &str) -> (&str, Option<Selector>) {
    let split_from = if reference.starts_with("arn:") {
        reference.find(":parameter").unwrap_or(0)
    } else {
        0
    };
    match reference[split_from..].rfind(':').map(|i| i + split_from) {
        Some(i) if !reference[i..].starts_with(":parameter") => {
            let (name, selector) = (&reference[..i], &reference[i + 1..]);
            let selector = match selector.parse::<u64>() {
                Ok(v) => Selector::Version(v),
                Err(_) => Selector::Label(selector.to_string()),
            };
            (name, Some(selector))
        }
        _ => (reference, None),
    }
}

/// The parameter name an ARN or name refers to: `arn:...:parameter/a/b` is
/// `/a/b`, `arn:...:parameter/x` is `x` (or `/x`; the caller tries both).
fn name_candidates(reference: &str) -> Vec<String> {
    match reference.split_once(":parameter/") {
        Some((prefix, rest)) if prefix.starts_with("arn:") => {
            if rest.contains('/') {
                vec![format!("/{rest}")]
            } else {
                vec![rest.to_string(), format!("/{rest}")]
            }
        }
        _ => vec![reference.to_string()],
    }
}

/// AWS's parameter name rules: letters, digits, `.-_`, `/` between levels
/// (then a leading `/`), no `aws`/`ssm` prefix, at most 15 levels.
pub fn validate_name(name: &str) -> Result<(), SsmError> {
    if name.is_empty() || name.len() > MAX_NAME_LEN {
        return Err(SsmError::Validation(constraint_violation(
            name,
            "name",
            &format!("Member must have length between 1 and {MAX_NAME_LEN}"),
        )));
    }
    let first = name.trim_start_matches('/').to_ascii_lowercase();
    let chars_ok = name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
    if !chars_ok || first.starts_with("aws") || first.starts_with("ssm") || name.contains("//") {
        return Err(SsmError::Validation(
            "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the following 3 symbols .-_".into(),
        ));
    }
    if name.contains('/') && !name.starts_with('/') {
        return Err(SsmError::Validation(
            "Parameter name must be a fully qualified name.".into(),
        ));
    }
    if name.trim_start_matches('/').split('/').count() > MAX_HIERARCHY_LEVELS {
        return Err(SsmError::HierarchyLevelLimitExceeded(format!(
            "A hierarchy can have a maximum of {MAX_HIERARCHY_LEVELS} levels. For more information, see Requirements and Constraints for Parameter Names in the AWS Systems Manager User Guide."
        )));
    }
    Ok(())
}

/// GetParametersByPath's rules for a path: a leading `/`, then name characters.
pub fn validate_path(path: &str) -> Result<(), SsmError> {
    let ok = path.starts_with('/')
        && path
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-/".contains(c));
    if !ok {
        return Err(SsmError::Validation(
            "The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash \"/\". It can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). It must use only letters, numbers, or the following symbols: . (period), - (hyphen), _ (underscore). Special characters are not allowed. All sub-paths, if specified, must use the forward slash symbol \"/\". Valid example: /get/parameters2-/by1./path0_.".into(),
        ));
    }
    if path.trim_matches('/').split('/').count() > MAX_HIERARCHY_LEVELS {
        return Err(SsmError::HierarchyLevelLimitExceeded(format!(
            "A hierarchy can have a maximum of {MAX_HIERARCHY_LEVELS} levels."
        )));
    }
    Ok(())
}

/// Whether `name` sits under `path`: directly, or at any depth if recursive.
pub fn is_under(name: &str, path: &str, recursive: bool) -> bool {
    let prefix = if path.ends_with('/') {
        path.to_string()
    } else {
        format!("{path}/")
    };
    match name.strip_prefix(&prefix) {
        Some(rest) => !rest.is_empty() && (recursive || !rest.contains('/')),
        None => false,
    }
}

/// Label rules: 1-100 of letters, digits, `.-_`; not starting with a digit,
/// `aws` or `ssm`.
pub fn is_valid_label(label: &str) -> bool {
    let lower = label.to_ascii_lowercase();
    !label.is_empty()
        && label.len() <= MAX_LABEL_LEN
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        && !label.starts_with(|c: char| c.is_ascii_digit())
        && !lower.starts_with("aws")
        && !lower.starts_with("ssm")
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

/// The tier a value is stored in: Intelligent-Tiering picks Standard when
/// the value fits; a parameter never goes back from Advanced to Standard.
fn choose_tier(
    requested: Option<&str>,
    current: Option<Tier>,
    value_len: usize,
) -> Result<Tier, SsmError> {
    let tier = match requested {
        None => current.unwrap_or(Tier::Standard),
        Some("Standard") => Tier::Standard,
        Some("Advanced") => Tier::Advanced,
        Some("Intelligent-Tiering") => {
            if value_len > STANDARD_VALUE_LIMIT || current == Some(Tier::Advanced) {
                Tier::Advanced
            } else {
                Tier::Standard
            }
        }
        Some(other) => {
            return Err(SsmError::Validation(constraint_violation(
                other,
                "tier",
                "Member must satisfy enum value set: [Advanced, Intelligent-Tiering, Standard]",
            )))
        }
    };
    if tier == Tier::Standard && current == Some(Tier::Advanced) {
        return Err(SsmError::Validation("This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter and recreate it as a standard parameter.".into()));
    }
    if value_len > ADVANCED_VALUE_LIMIT {
        return Err(SsmError::Validation(constraint_violation(
            "[sensitive]",
            "value",
            &format!("Member must have length less than or equal to {ADVANCED_VALUE_LIMIT}"),
        )));
    }
    if tier == Tier::Standard && value_len > STANDARD_VALUE_LIMIT {
        return Err(SsmError::Validation(format!("Standard tier parameters support a maximum parameter value of {STANDARD_VALUE_LIMIT} characters. To create a larger parameter value, upgrade the parameter to use the advanced-parameter tier. For more information, see https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html")));
    }
    Ok(tier)
}

fn check_data_type(data_type: &str, kind: ParameterType, value: &str) -> Result<(), SsmError> {
    if !DATA_TYPES.contains(&data_type) {
        return Err(SsmError::Validation(format!(
            "The following data type is not supported: {data_type} (Data type names are all lowercase.)"
        )));
    }
    if data_type == "aws:ec2:image" {
        if kind != ParameterType::String {
            return Err(SsmError::Validation(
                "The aws:ec2:image data type is only supported for String parameters.".into(),
            ));
        }
        let is_ami = value
            .strip_prefix("ami-")
            .is_some_and(|id| !id.is_empty() && id.chars().all(|c| c.is_ascii_hexdigit()));
        if !is_ami {
            return Err(SsmError::Validation(format!(
                "Parameter value, {value}, is not a valid AMI ID. The ID must be in the format ami-xxxxxxxx."
            )));
        }
    }
    Ok(())
}

fn check_key_id(key_id: &str) -> Result<(), SsmError> {
    let ok = !key_id.is_empty()
        && key_id.len() <= 256
        && key_id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ":/_-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(SsmError::InvalidKeyId(format!(
            "Invalid KeyId: {key_id}. The KeyId must be a key ID, key ARN, alias name or alias ARN."
        )))
    }
}

/// Tag rules shared by PutParameter and AddTagsToResource.
fn check_tags<'a>(tags: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<(), SsmError> {
    for (key, value) in tags {
        if key.is_empty() || key.len() > 128 {
            return Err(SsmError::Validation(constraint_violation(
                key,
                "tags.member.key",
                "Member must have length between 1 and 128",
            )));
        }
        if value.len() > 256 {
            return Err(SsmError::Validation(constraint_violation(
                value,
                "tags.member.value",
                "Member must have length less than or equal to 256",
            )));
        }
    }
    Ok(())
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

impl StringFilter {
    /// Rejects keys, options and values AWS rejects for `context`.
    pub fn validate(&self, context: FilterContext) -> Result<(), SsmError> {
        let key = self.key.as_str();
        let known = match context {
            FilterContext::ByPath => ["Type", "KeyId", "Label"].contains(&key),
            FilterContext::Describe => {
                ["Name", "Type", "KeyId", "Path", "Tier", "DataType"].contains(&key)
                    || key.starts_with("tag:")
            }
        };
        if !known {
            let valid = match context {
                FilterContext::ByPath => "[Type, KeyId, Label]",
                FilterContext::Describe => "[Name, Type, KeyId, Path, Tier, DataType, tag:KEY]",
            };
            return Err(SsmError::InvalidFilterKey(format!(
                "The following filter key is not valid: {key}. Valid filter keys include: {valid}."
            )));
        }
        let options: &[&str] = match key {
            "Name" => &["Equals", "BeginsWith", "Contains"],
            "Path" => &["OneLevel", "Recursive"],
            "Label" | "KeyId" | "Type" | "Tier" | "DataType" => &["Equals", "BeginsWith"],
            _ => &["Equals"],
        };
        if let Some(option) = &self.option {
            if !options.contains(&option.as_str()) {
                return Err(SsmError::InvalidFilterOption(format!(
                    "The following filter option is not valid: {option}. Valid options include: [{}].",
                    options.join(", ")
                )));
            }
        }
        if self.values.is_empty() && !key.starts_with("tag:") {
            return Err(SsmError::InvalidFilterValue(format!(
                "The following filter values are missing : null for filter key {key}."
            )));
        }
        if key == "Type" {
            if let Some(bad) = self
                .values
                .iter()
                .find(|v| ParameterType::parse(v).is_err())
            {
                return Err(SsmError::InvalidFilterValue(format!(
                    "The following filter value is not valid: {bad}. Valid values include: [String, StringList, SecureString]."
                )));
            }
        }
        if key == "Path" {
            for value in &self.values {
                validate_path(value)?;
            }
        }
        Ok(())
    }

    /// Whether the parameter (at its latest version, or any version for
    /// labels) passes this filter.
    pub fn matches(&self, parameter: &Parameter) -> bool {
        let latest = parameter.latest();
        let option = self.option.as_deref().unwrap_or(match self.key.as_str() {
            "Path" => "OneLevel",
            _ => "Equals",
        });
        let compare = |actual: &str, wanted: &str| match option {
            "BeginsWith" => actual.starts_with(wanted),
            "Contains" => actual.contains(wanted),
            _ => actual == wanted,
        };
        let any = |actual: &str| self.values.iter().any(|v| compare(actual, v));
        match self.key.as_str() {
            // Names compare with a leading `/`, so `foo` finds `/foo` and `foo`.
            "Name" => {
                let name = with_slash(&parameter.name);
                self.values
                    .iter()
                    .any(|v| compare(&name, &with_slash(v)) || compare(&parameter.name, v))
            }
            "Type" => any(latest.kind.as_str()),
            "KeyId" => latest.key_id.as_deref().is_some_and(any),
            "Tier" => any(latest.tier.as_str()),
            "DataType" => any(&latest.data_type),
            "Label" => parameter
                .versions
                .iter()
                .any(|v| v.labels.iter().any(|l| any(l))),
            "Path" => self
                .values
                .iter()
                .any(|path| is_under(&parameter.name, path, option == "Recursive")),
            tag => {
                let tag_key = tag.trim_start_matches("tag:");
                parameter
                    .tags
                    .get(tag_key)
                    .is_some_and(|value| self.values.is_empty() || self.values.contains(value))
            }
        }
    }
}

fn with_slash(name: &str) -> String {
    if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/{name}")
    }
}

/// Parameters by name.
#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct SsmState {
    pub parameters: BTreeMap<String, Parameter>,
}

impl SsmState {
    /// The parameter a name or ARN (without selector) refers to.
    pub fn find(&self, reference: &str) -> Option<&Parameter> {
        name_candidates(reference)
            .iter()
            .find_map(|n| self.parameters.get(n))
    }

    fn find_name(&self, reference: &str) -> Option<String> {
        self.find(reference).map(|p| p.name.clone())
    }

    /// PutParameter: a new parameter, or a new version of one with Overwrite.
    pub fn put(
        &mut self,
        request: PutRequest,
        now: OffsetDateTime,
        user: &str,
    ) -> Result<(u64, Tier), SsmError> {
        validate_name(&request.name)?;
        if request.value.is_empty() {
            return Err(SsmError::Validation(constraint_violation(
                "",
                "value",
                "Member must have length greater than or equal to 1",
            )));
        }
        if let Some(description) = &request.description {
            if description.len() > MAX_DESCRIPTION_LEN {
                return Err(SsmError::Validation(constraint_violation(
                    description,
                    "description",
                    &format!("Member must have length less than or equal to {MAX_DESCRIPTION_LEN}"),
                )));
            }
        }
        if request.overwrite && !request.tags.is_empty() {
            return Err(SsmError::Validation("Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.".into()));
        }
        check_tags(request.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        if request.tags.len() > MAX_TAGS {
            return Err(SsmError::TooManyTags);
        }
        let existing = self.parameters.get(&request.name);
        if existing.is_some() && !request.overwrite {
            return Err(SsmError::ParameterAlreadyExists);
        }
        let current = existing.map(Parameter::latest);
        let kind = match (request.kind, current) {
            (Some(kind), _) => kind,
            (None, Some(current)) => current.kind,
            (None, None) => {
                return Err(SsmError::Validation(
                    "A parameter type is required when you create a parameter.".into(),
                ))
            }
        };
        let key_id = match (&request.key_id, kind) {
            (Some(_), ParameterType::String | ParameterType::StringList) => {
                return Err(SsmError::Validation(
                    "KeyId is required for SecureString type parameter only.".into(),
                ))
            }
            (Some(key), ParameterType::SecureString) => {
                check_key_id(key)?;
                Some(key.clone())
            }
            (None, ParameterType::SecureString) => Some(
                current
                    .and_then(|c| c.key_id.clone())
                    .unwrap_or_else(|| DEFAULT_KEY_ID.to_string()),
            ),
            (None, _) => None,
        };
        let tier = choose_tier(
            request.tier.as_deref(),
            current.map(|c| c.tier),
            request.value.chars().count(),
        )?;
        let data_type = request
            .data_type
            .clone()
            .or_else(|| current.map(|c| c.data_type.clone()))
            .unwrap_or_else(|| DEFAULT_DATA_TYPE.to_string());
        check_data_type(&data_type, kind, &request.value)?;
        let allowed_pattern = request
            .allowed_pattern
            .clone()
            .or_else(|| current.and_then(|c| c.allowed_pattern.clone()));
        if let Some(pattern) = &allowed_pattern {
            let regex = regex_lite::Regex::new(pattern)
                .map_err(|e| SsmError::InvalidAllowedPattern(e.to_string()))?;
            if !regex.is_match(&request.value) {
                return Err(SsmError::PatternMismatch(pattern.clone()));
            }
        }
        let description = request
            .description
            .clone()
            .or_else(|| current.and_then(|c| c.description.clone()));
        let version = current.map_or(1, |c| c.version + 1);
        let entry = ParameterVersion {
            version,
            value: request.value,
            kind,
            key_id,
            description,
            allowed_pattern,
            tier,
            data_type,
            labels: Vec::new(),
            last_modified: now,
            last_modified_user: user.to_string(),
        };
        match self.parameters.get_mut(&request.name) {
            Some(parameter) => {
                if parameter.versions.len() >= MAX_VERSIONS {
                    let oldest = &parameter.versions[0];
                    if !oldest.labels.is_empty() {
                        return Err(SsmError::MaxVersionLimitExceeded {
                            name: request.name,
                            oldest: oldest.version,
                        });
                    }
                    parameter.versions.remove(0);
                }
                parameter.versions.push(entry);
            }
            None => {
                self.parameters.insert(
                    request.name.clone(),
                    Parameter {
                        name: request.name,
                        versions: vec![entry],
                        tags: request.tags.into_iter().collect(),
                    },
                );
            }
        }
        Ok((version, tier))
    }

    /// GetParameter: the version a `name[:selector]` picks, with the selector.
    pub fn get(
        &self,
        reference: &str,
    ) -> Result<(&Parameter, &ParameterVersion, Option<Selector>), SsmError> {
        let (name, selector) = parse_selector(reference);
        let parameter = self
            .find(name)
            .ok_or_else(|| SsmError::ParameterNotFound(String::new()))?;
        let version = match &selector {
            None => parameter.latest(),
            Some(Selector::Version(v)) => parameter
                .versions
                .iter()
                .find(|pv| pv.version == *v)
                .ok_or_else(|| SsmError::VersionNotFound {
                    name: parameter.name.clone(),
                    version: v.to_string(),
                })?,
            Some(Selector::Label(label)) => parameter
                .versions
                .iter()
                .find(|pv| pv.labels.contains(label))
                .ok_or_else(|| SsmError::VersionNotFound {
                    name: parameter.name.clone(),
                    version: label.clone(),
                })?,
        };
        Ok((parameter, version, selector))
    }

    pub fn delete(&mut self, reference: &str) -> Result<(), SsmError> {
        let name = self
            .find_name(reference)
            .ok_or_else(|| SsmError::not_found(reference))?;
        self.parameters.remove(&name);
        Ok(())
    }

    /// LabelParameterVersion: moves valid labels to the version (the latest
    /// by default); returns the invalid labels and the version labelled.
    pub fn label(
        &mut self,
        reference: &str,
        version: Option<u64>,
        labels: &[String],
    ) -> Result<(Vec<String>, u64), SsmError> {
        let name = self
            .find_name(reference)
            .ok_or_else(|| SsmError::not_found(reference))?;
        let parameter = self.parameters.get_mut(&name).expect("found above");
        let target = version.unwrap_or(parameter.latest().version);
        let (valid, invalid): (Vec<String>, Vec<String>) =
            labels.iter().cloned().partition(|l| is_valid_label(l));
        let existing = parameter
            .versions
            .iter()
            .find(|v| v.version == target)
            .ok_or_else(|| SsmError::VersionNotFound {
                name: name.clone(),
                version: target.to_string(),
            })?;
        let new_count = existing.labels.len()
            + valid
                .iter()
                .filter(|l| !existing.labels.contains(l))
                .count();
        if new_count > MAX_LABELS_PER_VERSION {
            return Err(SsmError::LabelLimitExceeded);
        }
        for v in parameter.versions.iter_mut() {
            v.labels.retain(|l| !valid.contains(l));
        }
        let entry = parameter.version_mut(target).expect("found above");
        entry.labels.extend(valid);
        Ok((invalid, target))
    }

    /// UnlabelParameterVersion: returns (removed, not found on the version).
    pub fn unlabel(
        &mut self,
        reference: &str,
        version: u64,
        labels: &[String],
    ) -> Result<(Vec<String>, Vec<String>), SsmError> {
        let name = self
            .find_name(reference)
            .ok_or_else(|| SsmError::not_found(reference))?;
        let parameter = self.parameters.get_mut(&name).expect("found above");
        let entry = parameter
            .version_mut(version)
            .ok_or_else(|| SsmError::VersionNotFound {
                name: name.clone(),
                version: version.to_string(),
            })?;
        let (removed, invalid): (Vec<String>, Vec<String>) = labels
            .iter()
            .cloned()
            .partition(|l| entry.labels.contains(l));
        entry.labels.retain(|l| !removed.contains(l));
        Ok((removed, invalid))
    }

    fn tagged_mut(
        &mut self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<&mut Parameter, SsmError> {
        check_resource_type(resource_type)?;
        let name = self
            .find_name(resource_id)
            .ok_or(SsmError::InvalidResourceId)?;
        Ok(self.parameters.get_mut(&name).expect("found above"))
    }

    pub fn add_tags(
        &mut self,
        resource_type: &str,
        resource_id: &str,
        tags: &[(String, String)],
    ) -> Result<(), SsmError> {
        check_tags(tags.iter().map(|(k, v)| (k.as_str(), v.as_str())))?;
        let parameter = self.tagged_mut(resource_type, resource_id)?;
        let mut merged = parameter.tags.clone();
        merged.extend(tags.iter().cloned());
        if merged.len() > MAX_TAGS {
            return Err(SsmError::TooManyTags);
        }
        parameter.tags = merged;
        Ok(())
    }

    pub fn remove_tags(
        &mut self,
        resource_type: &str,
        resource_id: &str,
        keys: &[String],
    ) -> Result<(), SsmError> {
        let parameter = self.tagged_mut(resource_type, resource_id)?;
        parameter.tags.retain(|k, _| !keys.contains(k));
        Ok(())
    }

    pub fn tags(
        &self,
        resource_type: &str,
        resource_id: &str,
    ) -> Result<&BTreeMap<String, String>, SsmError> {
        check_resource_type(resource_type)?;
        self.find(resource_id)
            .map(|p| &p.tags)
            .ok_or(SsmError::InvalidResourceId)
    }

    /// The value Fargate injects for a container secret whose `valueFrom` is
    /// a parameter name or ARN: the latest version, decrypted. The error is
    /// the detail of the task's `ResourceInitializationError`.
    pub fn resolve_for_task(&self, value_from: &str) -> Result<String, String> {
        self.find(value_from)
            .map(|p| p.latest().value.clone())
            .ok_or_else(|| {
                format!(
                    "unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid ssm parameters: {value_from}"
                )
            })
    }
}

/// Tags are supported on parameters only; the other SSM resource types are
/// valid names but nothing of theirs exists here.
fn check_resource_type(resource_type: &str) -> Result<(), SsmError> {
    const OTHER_TYPES: [&str; 8] = [
        "Document",
        "ManagedInstance",
        "MaintenanceWindow",
        "PatchBaseline",
        "OpsItem",
        "OpsMetadata",
        "Automation",
        "Association",
    ];
    match resource_type {
        "Parameter" => Ok(()),
        t if OTHER_TYPES.contains(&t) => Err(SsmError::InvalidResourceId),
        _ => Err(SsmError::InvalidResourceType),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put(
        state: &mut SsmState,
        name: &str,
        value: &str,
        overwrite: bool,
    ) -> Result<u64, SsmError> {
        state
            .put(
                PutRequest {
                    name: name.into(),
                    value: value.into(),
                    kind: Some(ParameterType::String),
                    overwrite,
                    ..Default::default()
                },
                OffsetDateTime::UNIX_EPOCH,
                "root",
            )
            .map(|(v, _)| v)
    }

    /// The error code of a PutParameter expected to fail.
    fn put_error(state: &mut SsmState, request: PutRequest) -> &'static str {
        state
            .put(request, OffsetDateTime::UNIX_EPOCH, "u")
            .unwrap_err()
            .code()
    }

    fn put_typed(state: &mut SsmState, name: &str, value: &str, kind: ParameterType) {
        let request = PutRequest {
            name: name.into(),
            value: value.into(),
            kind: Some(kind),
            ..Default::default()
        };
        state.put(request, OffsetDateTime::UNIX_EPOCH, "u").unwrap();
    }

    #[test]
    fn names_follow_aws_rules() {
        assert!(validate_name("/a/b-c_d.e").is_ok());
        assert!(validate_name("plain").is_ok());
        assert_eq!(
            validate_name("a/b").unwrap_err().code(),
            "ValidationException"
        );
        assert_eq!(
            validate_name("/aws/x").unwrap_err().code(),
            "ValidationException"
        );
        assert_eq!(
            validate_name("SSMthing").unwrap_err().code(),
            "ValidationException"
        );
        assert_eq!(
            validate_name("/a b").unwrap_err().code(),
            "ValidationException"
        );
        let deep = "/l".repeat(16);
        assert_eq!(
            validate_name(&deep).unwrap_err().code(),
            "HierarchyLevelLimitExceededException"
        );
        assert!(validate_name(&"/l".repeat(15)).is_ok());
    }

    #[test]
    fn selectors_split_names_and_arns() {
        assert_eq!(parse_selector("/a/b"), ("/a/b", None));
        assert_eq!(
            parse_selector("/a/b:3"),
            ("/a/b", Some(Selector::Version(3)))
        );
        assert_eq!(
            parse_selector("/a/b:prod"),
            ("/a/b", Some(Selector::Label("prod".into())))
        );
        let arn = "arn:aws:ssm:us-east-1:000000000000:parameter/a/b";
        assert_eq!(parse_selector(arn), (arn, None));
        assert_eq!(
            parse_selector(&format!("{arn}:2")),
            (arn, Some(Selector::Version(2)))
        );
    }

    #[test]
    fn versions_labels_and_selectors() {
        let mut s = SsmState::default();
        assert_eq!(put(&mut s, "/p", "one", false), Ok(1));
        assert_eq!(
            put(&mut s, "/p", "two", false),
            Err(SsmError::ParameterAlreadyExists)
        );
        assert_eq!(put(&mut s, "/p", "two", true), Ok(2));
        let (invalid, v) = s
            .label("/p", Some(1), &["prod".into(), "9bad".into()])
            .unwrap();
        assert_eq!((invalid, v), (vec!["9bad".to_string()], 1));
        assert_eq!(s.get("/p:prod").unwrap().1.value, "one");
        assert_eq!(s.get("/p:2").unwrap().1.value, "two");
        assert_eq!(s.get("/p").unwrap().1.value, "two");
        assert_eq!(
            s.get("/p:7").unwrap_err().code(),
            "ParameterVersionNotFound"
        );
        assert_eq!(s.get("/q").unwrap_err().code(), "ParameterNotFound");
        // Labelling another version moves the label.
        s.label("/p", None, &["prod".into()]).unwrap();
        assert_eq!(s.get("/p:prod").unwrap().1.version, 2);
        let (removed, invalid) = s.unlabel("/p", 2, &["prod".into(), "x".into()]).unwrap();
        assert_eq!((removed, invalid), (vec!["prod".into()], vec!["x".into()]));
    }

    #[test]
    fn the_oldest_version_goes_unless_labelled() {
        let mut s = SsmState::default();
        put(&mut s, "/p", "v", false).unwrap();
        for _ in 1..MAX_VERSIONS {
            put(&mut s, "/p", "v", true).unwrap();
        }
        assert_eq!(put(&mut s, "/p", "v", true), Ok(101));
        assert_eq!(s.parameters["/p"].versions[0].version, 2);
        s.label("/p", Some(2), &["keep".into()]).unwrap();
        assert_eq!(
            put(&mut s, "/p", "v", true).unwrap_err().code(),
            "ParameterMaxVersionLimitExceeded"
        );
    }

    #[test]
    fn tiers_patterns_types_and_tags() {
        let mut s = SsmState::default();
        let big = "x".repeat(STANDARD_VALUE_LIMIT + 1);
        let request = |tier: Option<&str>| PutRequest {
            name: "/big".into(),
            value: big.clone(),
            kind: Some(ParameterType::String),
            tier: tier.map(String::from),
            ..Default::default()
        };
        assert_eq!(put_error(&mut s, request(None)), "ValidationException");
        let (_, tier) = s
            .put(
                request(Some("Intelligent-Tiering")),
                OffsetDateTime::UNIX_EPOCH,
                "u",
            )
            .unwrap();
        assert_eq!(tier, Tier::Advanced);
        let patterned = PutRequest {
            name: "/num".into(),
            value: "abc".into(),
            kind: Some(ParameterType::String),
            allowed_pattern: Some("^\\d+$".into()),
            ..Default::default()
        };
        assert_eq!(
            put_error(&mut s, patterned),
            "ParameterPatternMismatchException"
        );
        let untyped = PutRequest {
            name: "/untyped".into(),
            value: "v".into(),
            ..Default::default()
        };
        assert_eq!(put_error(&mut s, untyped), "ValidationException");
        let tagged_overwrite = PutRequest {
            name: "/t".into(),
            value: "v".into(),
            kind: Some(ParameterType::String),
            overwrite: true,
            tags: vec![("k".into(), "v".into())],
            ..Default::default()
        };
        assert!(s
            .put(tagged_overwrite, OffsetDateTime::UNIX_EPOCH, "u")
            .unwrap_err()
            .to_string()
            .contains("tags and overwrite"));
        let ami = PutRequest {
            name: "/ami".into(),
            value: "not-an-ami".into(),
            kind: Some(ParameterType::String),
            data_type: Some("aws:ec2:image".into()),
            ..Default::default()
        };
        assert_eq!(put_error(&mut s, ami), "ValidationException");
    }

    #[test]
    fn paths_and_filters() {
        assert!(is_under("/a/b", "/a", false));
        assert!(!is_under("/a/b/c", "/a", false));
        assert!(is_under("/a/b/c", "/a/", true));
        assert!(!is_under("/ab", "/a", true));
        assert!(is_under("/a", "/", false));
        assert!(!is_under("/a/b", "/", false));
        assert!(!is_under("plain", "/", true));
        let mut s = SsmState::default();
        put(&mut s, "/app/db/url", "u", false).unwrap();
        put(&mut s, "plain", "p", false).unwrap();
        let filter = |key: &str, option: Option<&str>, value: &str| StringFilter {
            key: key.into(),
            option: option.map(String::from),
            values: vec![value.into()],
        };
        let p = &s.parameters["/app/db/url"];
        assert!(filter("Name", Some("BeginsWith"), "/app").matches(p));
        assert!(filter("Name", None, "app/db/url").matches(p));
        assert!(filter("Path", Some("Recursive"), "/app").matches(p));
        assert!(!filter("Path", None, "/app").matches(p));
        assert!(filter("Type", None, "String").matches(p));
        assert!(filter("Name", None, "/plain").matches(&s.parameters["plain"]));
        assert_eq!(
            filter("Name", None, "x")
                .validate(FilterContext::ByPath)
                .unwrap_err()
                .code(),
            "InvalidFilterKey"
        );
        assert_eq!(
            filter("Path", Some("Equals"), "/x")
                .validate(FilterContext::Describe)
                .unwrap_err()
                .code(),
            "InvalidFilterOption"
        );
        assert_eq!(
            filter("Type", None, "Number")
                .validate(FilterContext::Describe)
                .unwrap_err()
                .code(),
            "InvalidFilterValue"
        );
    }

    #[test]
    fn secure_strings_are_opaque_without_decryption() {
        let mut s = SsmState::default();
        put_typed(&mut s, "/secret", "hunter2", ParameterType::SecureString);
        let v = s.parameters["/secret"].latest();
        assert_eq!(v.key_id.as_deref(), Some(DEFAULT_KEY_ID));
        assert_eq!(v.value_for(true), "hunter2");
        assert_ne!(v.value_for(false), "hunter2");
        assert!(!v.value_for(false).contains("hunter2"));
    }

    #[test]
    fn resolve_for_task_by_name_and_arn() {
        let mut s = SsmState::default();
        put(&mut s, "/app/db/password", "one", false).unwrap();
        put(&mut s, "/app/db/password", "two", true).unwrap();
        put(&mut s, "name", "plain", false).unwrap();
        put_typed(&mut s, "/list", "a,b", ParameterType::StringList);
        put_typed(&mut s, "/sec", "s3cret", ParameterType::SecureString);
        assert_eq!(s.resolve_for_task("/app/db/password").unwrap(), "two");
        assert_eq!(s.resolve_for_task("name").unwrap(), "plain");
        assert_eq!(s.resolve_for_task("/list").unwrap(), "a,b");
        assert_eq!(s.resolve_for_task("/sec").unwrap(), "s3cret");
        let arn = "arn:aws:ssm:us-east-1:000000000000:parameter";
        assert_eq!(
            s.resolve_for_task(&format!("{arn}/app/db/password"))
                .unwrap(),
            "two"
        );
        assert_eq!(s.resolve_for_task(&format!("{arn}/name")).unwrap(), "plain");
        assert_eq!(
            s.resolve_for_task("/missing").unwrap_err(),
            "unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: service call has been retried 1 time(s): invalid ssm parameters: /missing"
        );
    }
}
