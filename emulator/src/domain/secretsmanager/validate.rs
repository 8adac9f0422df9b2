//! The API's input rules: client request tokens, secret names,
//! descriptions and tags.

use super::{SecretsError, MAX_DESCRIPTION_LEN, MAX_NAME_LEN, MAX_TAGS, TOKEN_LEN};
use crate::domain::validation::constraint_violation;

/// A ClientRequestToken, or a fresh one (the SDKs always send one).
pub(super) fn check_token(token: Option<String>) -> Result<String, SecretsError> {
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

pub(super) fn check_description(description: Option<&str>) -> Result<(), SecretsError> {
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

pub(super) fn check_tags(tags: &[(String, String)]) -> Result<(), SecretsError> {
    let pairs = tags.iter().map(|(k, v)| (k.as_str(), v.as_str()));
    if let Some(message) = crate::domain::tags::length_violation(pairs) {
        return Err(SecretsError::Validation(message));
    }
    if tags.len() > MAX_TAGS {
        return Err(SecretsError::InvalidParameter(format!(
            "Number of tags exceeds the limit of {MAX_TAGS}."
        )));
    }
    Ok(())
}
