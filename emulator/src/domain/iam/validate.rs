//! The constraints of the IAM and STS models, as pure functions.

use super::IamError;

/// Role, instance profile and policy names: 1-64 (roles, profiles) or
/// 1-128 (managed and inline policies) characters of `[\w+=,.@-]`.
pub const ROLE_NAME_MAX: usize = 64;
/// Managed and inline policy names are up to 128 characters.
pub const POLICY_NAME_MAX: usize = 128;
/// Instance profile names are up to 128 characters.
pub const INSTANCE_PROFILE_NAME_MAX: usize = 128;
/// Paths are 1-512 characters, `/` or `/.../`.
pub const PATH_MAX: usize = 512;
/// Role and policy descriptions are up to 1000 characters.
pub const DESCRIPTION_MAX: usize = 1000;
/// Policy documents are 1-131072 characters in the model.
pub const POLICY_DOCUMENT_MAX: usize = 131_072;
/// Tags per role, policy or instance profile.
pub const TAGS_PER_RESOURCE: usize = 50;
/// Tag keys are 1-128 characters.
pub const TAG_KEY_MAX: usize = 128;
/// Tag values are 0-256 characters.
pub const TAG_VALUE_MAX: usize = 256;
/// ARNs (roles, policies) are 20-2048 characters.
pub const ARN_MIN: usize = 20;
pub const ARN_MAX: usize = 2048;
/// The regular expression AWS quotes for names.
pub const NAME_PATTERN: &str = r"[\w+=,.@-]+";

/// A name character: `[\w+=,.@-]` (word characters are ASCII here).
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Length `min..=max`, in AWS's wording on failure.
pub fn length(member: &str, value: &str, min: usize, max: usize) -> Result<(), IamError> {
    let n = value.chars().count();
    if n < min {
        return Err(IamError::constraint(
            member,
            value,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if n > max {
        return Err(IamError::constraint(
            member,
            value,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// A name of 1..=`max` characters of `[\w+=,.@-]`.
pub fn name(member: &str, value: &str, max: usize) -> Result<(), IamError> {
    length(member, value, 1, max)?;
    if !value.chars().all(is_name_char) {
        return Err(IamError::constraint(
            member,
            value,
            &format!("Member must satisfy regular expression pattern: {NAME_PATTERN}"),
        ));
    }
    Ok(())
}

/// A path: `/`, or `/` + segments each ending in `/`, of printable ASCII.
pub fn path(member: &str, value: &str) -> Result<(), IamError> {
    length(member, value, 1, PATH_MAX)?;
    let printable = value.chars().all(|c| ('\u{21}'..='\u{7e}').contains(&c));
    if !(value.starts_with('/') && value.ends_with('/') && printable) {
        return Err(IamError::constraint(
            member,
            value,
            r"Member must satisfy regular expression pattern: (\u002F)|(\u002F[\u0021-\u007E]+\u002F)",
        ));
    }
    if value.contains("//") {
        return Err(IamError::InvalidInput(format!(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters: {value}"
        )));
    }
    Ok(())
}

/// An integer in `min..=max`, in AWS's wording on failure.
pub fn range(member: &str, value: i64, min: i64, max: i64) -> Result<(), IamError> {
    if value < min {
        return Err(IamError::constraint(
            member,
            value,
            &format!("Member must have value greater than or equal to {min}"),
        ));
    }
    if value > max {
        return Err(IamError::constraint(
            member,
            value,
            &format!("Member must have value less than or equal to {max}"),
        ));
    }
    Ok(())
}

/// A policy document: within the model's length and valid JSON. The
/// document is kept as given; this only checks it.
pub fn policy_document(member: &str, document: &str) -> Result<(), IamError> {
    if document.is_empty() || document.chars().count() > POLICY_DOCUMENT_MAX {
        length(member, document, 1, POLICY_DOCUMENT_MAX)?;
    }
    match serde_json::from_str::<serde_json::Value>(document) {
        Ok(serde_json::Value::Object(_)) => Ok(()),
        Ok(_) => Err(IamError::MalformedPolicyDocument(
            "Syntax errors in policy.".into(),
        )),
        Err(_) => Err(IamError::MalformedPolicyDocument(
            "This policy contains invalid Json".into(),
        )),
    }
}

/// Tag keys and values within their lengths.
pub fn tags(tags: &[(String, String)]) -> Result<(), IamError> {
    for (i, (key, value)) in tags.iter().enumerate() {
        length(&format!("tags.{}.member.key", i + 1), key, 1, TAG_KEY_MAX)?;
        length(
            &format!("tags.{}.member.value", i + 1),
            value,
            0,
            TAG_VALUE_MAX,
        )?;
        if tags[..i].iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
            return Err(IamError::InvalidInput(
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.".into(),
            ));
        }
    }
    Ok(())
}

/// RFC 3986 percent-encoding: everything but `A-Za-z0-9-._~` becomes
/// `%XX`. IAM returns policy documents this way.
pub fn url_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len() * 3);
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert!(name("roleName", "ecs-task_role+=,.@", ROLE_NAME_MAX).is_ok());
        let e = name("roleName", "bad name", ROLE_NAME_MAX).unwrap_err();
        assert_eq!(e.code(), "ValidationError");
        assert!(e.to_string().contains("'roleName'"), "{e}");
        assert!(name("roleName", "", ROLE_NAME_MAX).is_err());
        assert!(name("roleName", &"a".repeat(65), ROLE_NAME_MAX).is_err());
        assert!(name("policyName", &"a".repeat(128), POLICY_NAME_MAX).is_ok());
    }

    #[test]
    fn paths() {
        for good in ["/", "/service-role/", "/a/b/"] {
            assert!(path("path", good).is_ok(), "{good}");
        }
        for bad in ["", "a/", "/a", "/a b/"] {
            assert_eq!(
                path("path", bad).unwrap_err().code(),
                "ValidationError",
                "{bad}"
            );
        }
        assert_eq!(path("path", "/a//b/").unwrap_err().code(), "InvalidInput");
    }

    #[test]
    fn documents_must_be_json_objects() {
        assert!(policy_document("d", r#"{"Version":"2012-10-17","Statement":[]}"#).is_ok());
        for bad in ["not json", "[1]", "{"] {
            let e = policy_document("d", bad).unwrap_err();
            assert_eq!(e.code(), "MalformedPolicyDocument", "{bad}");
        }
        assert_eq!(
            policy_document("d", "").unwrap_err().code(),
            "ValidationError"
        );
    }

    #[test]
    fn ranges_use_aws_wording() {
        let e = range("maxSessionDuration", 100, 3600, 43200).unwrap_err();
        assert_eq!(
            e.to_string(),
            "1 validation error detected: Value '100' at 'maxSessionDuration' failed to satisfy constraint: Member must have value greater than or equal to 3600"
        );
        assert!(range("m", 3600, 3600, 43200).is_ok());
    }

    #[test]
    fn tag_keys_are_unique_regardless_of_case() {
        let tags = [
            ("Env".to_string(), "a".to_string()),
            ("env".to_string(), "b".to_string()),
        ];
        assert_eq!(super::tags(&tags).unwrap_err().code(), "InvalidInput");
        assert!(super::tags(&tags[..1]).is_ok());
    }

    #[test]
    fn url_encoding_is_rfc3986() {
        assert_eq!(
            url_encode(r#"{"A": "b/c*"}"#),
            "%7B%22A%22%3A%20%22b%2Fc%2A%22%7D"
        );
        assert_eq!(url_encode("a-b_c.d~é"), "a-b_c.d~%C3%A9");
    }
}
