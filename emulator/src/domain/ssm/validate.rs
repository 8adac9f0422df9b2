//! PutParameter's checks besides the name: the tier a value needs, data
//! types, KMS key ids, tags and resource types.

use super::{
    ParameterType, SsmError, Tier, ADVANCED_VALUE_LIMIT, DATA_TYPES, STANDARD_VALUE_LIMIT,
};
use crate::domain::validation::constraint_violation;

/// The tier a value is stored in: Intelligent-Tiering picks Standard when
/// the value fits; a parameter never goes back from Advanced to Standard.
pub(super) fn choose_tier(
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

pub(super) fn check_data_type(
    data_type: &str,
    kind: ParameterType,
    value: &str,
) -> Result<(), SsmError> {
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

pub(super) fn check_key_id(key_id: &str) -> Result<(), SsmError> {
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
pub(super) fn check_tags<'a>(
    tags: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Result<(), SsmError> {
    match crate::domain::tags::length_violation(tags) {
        Some(message) => Err(SsmError::Validation(message)),
        None => Ok(()),
    }
}

/// Tags are supported on parameters only; the other SSM resource types are
/// valid names but nothing of theirs exists here.
pub(super) fn check_resource_type(resource_type: &str) -> Result<(), SsmError> {
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
