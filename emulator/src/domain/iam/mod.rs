//! IAM resource model: roles with their trust, inline and attached policies,
//! customer-managed policies with versions, instance profiles, and the STS
//! sessions issued by `AssumeRole`. IAM is global: ARNs have no region.
//!
//! Nothing is enforced (any credentials may do anything), but every
//! resource is stored, validated and described as IAM does.

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

pub mod aws_managed;
mod error;
mod instance_profiles;
pub mod policies;
pub mod roles;
pub mod sessions;
pub mod validate;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rand::Rng;
use time::OffsetDateTime;

pub use error::IamError;
pub use policies::{NewPolicy, PolicyScope, PolicyView};
pub use roles::{service_linked_role, NewRole, ServiceLinkedRole};
pub use sessions::{RoleCredentials, Session, SessionKind};

/// Tags in the order they were first set.
pub type Tags = Vec<(String, String)>;

/// A role.
#[derive(Debug, Clone, PartialEq, BorshSerialize, BorshDeserialize)]
pub struct Role {
    pub name: String,
    pub path: String,
    /// `AROA` + 17 characters.
    pub id: String,
    pub arn: String,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub create_date: OffsetDateTime,
    /// The trust policy, exactly as given.
    pub assume_role_policy: String,
    pub description: Option<String>,
    /// Seconds, 3600-43200.
    pub max_session_duration: u32,
    /// The ARN of the managed policy that bounds the role.
    pub permissions_boundary: Option<String>,
    pub tags: Tags,
    /// Inline policies by name, documents exactly as given.
    pub inline_policies: BTreeMap<String, String>,
    /// Attached managed policy ARNs, in attachment order.
    pub attached: Vec<String>,
}

/// A customer-managed policy.
#[derive(Debug, Clone, PartialEq, BorshSerialize, BorshDeserialize)]
pub struct ManagedPolicy {
    pub name: String,
    pub path: String,
    /// `ANPA` + 17 characters.
    pub id: String,
    pub arn: String,
    pub description: Option<String>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub create_date: OffsetDateTime,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub update_date: OffsetDateTime,
    /// Oldest first.
    pub versions: Vec<PolicyVersion>,
    pub default_version: String,
    /// The number of the next version (`v{n}`); versions are never reused.
    pub next_version: u32,
    pub tags: Tags,
}

/// One version of a managed policy.
#[derive(Debug, Clone, PartialEq, BorshSerialize, BorshDeserialize)]
pub struct PolicyVersion {
    /// `v1`, `v2`, ...
    pub id: String,
    /// Exactly as given.
    pub document: String,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub create_date: OffsetDateTime,
}

/// An instance profile.
#[derive(Debug, Clone, PartialEq, BorshSerialize, BorshDeserialize)]
pub struct InstanceProfile {
    pub name: String,
    pub path: String,
    /// `AIPA` + 17 characters.
    pub id: String,
    pub arn: String,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub create_date: OffsetDateTime,
    /// The key (lower-cased name) of its role; at most one.
    pub role: Option<String>,
    pub tags: Tags,
}

/// IAM state.
#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct IamState {
    /// By lower-cased name: IAM names are unique regardless of case.
    pub roles: BTreeMap<String, Role>,
    /// Customer-managed policies by lower-cased name.
    pub policies: BTreeMap<String, ManagedPolicy>,
    /// By lower-cased name.
    pub instance_profiles: BTreeMap<String, InstanceProfile>,
    /// STS sessions by access key id.
    pub sessions: HashMap<String, Session>,
    /// AWS-managed ARNs outside [`aws_managed::POLICIES`] that were
    /// attached, with the time of their first attachment.
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub unlisted_aws_policies: BTreeMap<String, OffsetDateTime>,
    /// Service-linked role deletion tasks, all finished.
    pub deletion_tasks: BTreeSet<String>,
}

/// The lookup key of a name: IAM names are unique regardless of case.
pub fn key(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// `arn:aws:iam::ACCOUNT:KIND{path}{name}`.
pub fn iam_arn(account: &str, kind: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:{kind}{path}{name}")
}

/// The characters of IAM unique ids after their 4-letter prefix.
const ID_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
/// Unique ids are the prefix plus this many characters.
const ID_SUFFIX_LEN: usize = 17;

/// A unique id: `prefix` (`AROA`, `ANPA`, `AIPA`) + 17 random characters.
pub fn unique_id(prefix: &str) -> String {
    let mut rng = rand::thread_rng();
    let suffix: String = (0..ID_SUFFIX_LEN)
        .map(|_| char::from(ID_ALPHABET[rng.gen_range(0..ID_ALPHABET.len())]))
        .collect();
    format!("{prefix}{suffix}")
}

/// Id prefix of roles.
pub const ROLE_ID_PREFIX: &str = "AROA";
/// Id prefix of managed policies.
pub const POLICY_ID_PREFIX: &str = "ANPA";
/// Id prefix of instance profiles.
pub const INSTANCE_PROFILE_ID_PREFIX: &str = "AIPA";

/// Adds `new` to `current` (a key that exists gets the new value) and
/// checks the per-resource quota.
pub fn merge_tags(
    current: &mut Tags,
    new: &[(String, String)],
    kind: &str,
) -> Result<(), IamError> {
    validate::tags(new)?;
    let mut merged = current.clone();
    // IAM tag keys are case-insensitive; the new spelling wins.
    crate::domain::tags::upsert(&mut merged, new.iter().cloned(), str::eq_ignore_ascii_case);
    if merged.len() > validate::TAGS_PER_RESOURCE {
        return Err(IamError::LimitExceeded(format!(
            "Cannot exceed quota for TagsPer{kind}: {}",
            validate::TAGS_PER_RESOURCE
        )));
    }
    *current = merged;
    Ok(())
}

/// Removes the tags with these keys (compared regardless of case).
pub fn remove_tags(current: &mut Tags, keys: &[String]) {
    current.retain(|(k, _)| !keys.iter().any(|key| key.eq_ignore_ascii_case(k)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_have_the_aws_shape() {
        let id = unique_id(ROLE_ID_PREFIX);
        assert_eq!(id.len(), 21);
        assert!(id.starts_with("AROA"));
        assert!(id[4..].bytes().all(|b| ID_ALPHABET.contains(&b)));
    }

    #[test]
    fn tags_merge_and_are_limited() {
        let mut tags = vec![("a".to_string(), "1".to_string())];
        merge_tags(
            &mut tags,
            &[("a".into(), "2".into()), ("b".into(), "3".into())],
            "Role",
        )
        .unwrap();
        assert_eq!(
            tags,
            vec![("a".into(), "2".into()), ("b".into(), "3".into())]
        );
        let many: Tags = (0..50).map(|i| (format!("k{i}"), String::new())).collect();
        let e = merge_tags(&mut tags, &many, "Role").unwrap_err();
        assert_eq!(e.code(), "LimitExceeded");
        assert_eq!(tags.len(), 2, "a refused merge changes nothing");
        remove_tags(&mut tags, &["a".into()]);
        assert_eq!(tags, vec![("b".into(), "3".into())]);
    }
}
