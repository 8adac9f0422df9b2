//! Parameter names and how requests name a parameter: the naming rules,
//! hierarchy paths, labels, and the `name:version` / `name:label`
//! selectors (by name or ARN).

use super::{Selector, SsmError, MAX_HIERARCHY_LEVELS, MAX_LABEL_LEN, MAX_NAME_LEN};
use crate::domain::validation::constraint_violation;

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
pub(super) fn name_candidates(reference: &str) -> Vec<String> {
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

pub(super) fn with_slash(name: &str) -> String {
    if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/{name}")
    }
}
