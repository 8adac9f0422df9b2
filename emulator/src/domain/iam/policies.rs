//! Managed policies: customer-managed ones with versions, AWS-managed ones
//! from the built-in table, and their attachments to roles.

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::aws_managed::{self, ARN_PREFIX};
use super::{
    iam_arn, key, unique_id, validate, IamError, IamState, ManagedPolicy, PolicyVersion, Tags,
    POLICY_ID_PREFIX,
};

/// Versions a managed policy may have at once.
pub const VERSIONS_PER_POLICY: usize = 5;
/// The document of an AWS-managed policy the emulator does not know.
pub const UNKNOWN_DOCUMENT: &str = r#"{"Version":"2012-10-17","Statement":[]}"#;
/// The version id of a synthesized AWS-managed policy.
const UNKNOWN_VERSION: &str = "v1";

/// What CreatePolicy asks for, validated by [`IamState::create_policy`].
#[derive(Debug, Clone, Default, BorshSerialize, BorshDeserialize)]
pub struct NewPolicy {
    pub name: String,
    pub path: Option<String>,
    pub document: String,
    pub description: Option<String>,
    pub tags: Tags,
}

/// ListPolicies' `Scope`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum PolicyScope {
    All,
    Aws,
    Local,
}

/// A managed policy as GetPolicy and ListPolicies describe it, customer- or
/// AWS-managed.
#[derive(Debug, Clone, PartialEq, BorshSerialize, BorshDeserialize)]
pub struct PolicyView {
    pub name: String,
    pub id: String,
    pub arn: String,
    pub path: String,
    pub default_version: String,
    pub attachment_count: usize,
    pub permissions_boundary_usage_count: usize,
    pub description: Option<String>,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub create_date: OffsetDateTime,
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub update_date: OffsetDateTime,
    pub tags: Tags,
}

fn not_found(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Policy {arn} was not found."))
}

fn not_attachable(arn: &str) -> IamError {
    IamError::NoSuchEntity(format!("Policy {arn} does not exist or is not attachable."))
}

fn parse_date(date: &str) -> OffsetDateTime {
    OffsetDateTime::parse(date, &Rfc3339).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A stable `ANPA` id for an AWS-managed ARN outside the table.
fn synthesized_id(arn: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    // FNV-1a, spread over 17 base-32 characters.
    let mut hash: u128 = 0x6c62_272e_07bb_0142_62b8_2175_6295_c58d;
    for b in arn.bytes() {
        hash ^= u128::from(b);
        hash = hash.wrapping_mul(0x0000_0000_0100_0000_0000_0000_0000_013B);
    }
    let suffix: String = (0..17)
        .map(|i| char::from(ALPHABET[((hash >> (i * 5)) & 31) as usize]))
        .collect();
    format!("{POLICY_ID_PREFIX}{suffix}")
}

/// The path and name of a policy ARN's resource part (`policy/PATH/NAME`).
fn path_and_name(arn: &str) -> (String, String) {
    let resource = arn.split_once(":policy/").map_or("", |(_, r)| r);
    match resource.rsplit_once('/') {
        Some((path, name)) => (format!("/{path}/"), name.to_string()),
        None => ("/".to_string(), resource.to_string()),
    }
}

impl IamState {
    fn customer_policy(&self, arn: &str) -> Option<&ManagedPolicy> {
        let (_, name) = path_and_name(arn);
        self.policies.get(&key(&name)).filter(|p| p.arn == arn)
    }

    /// A customer-managed policy by ARN, for changes.
    pub fn customer_policy_mut(&mut self, arn: &str) -> Result<&mut ManagedPolicy, IamError> {
        let (_, name) = path_and_name(arn);
        if arn.starts_with(ARN_PREFIX) {
            return Err(IamError::InvalidInput(format!(
                "Policy {arn} is an AWS-managed policy; only AWS can change it."
            )));
        }
        self.policies
            .get_mut(&key(&name))
            .filter(|p| p.arn == arn)
            .ok_or_else(|| not_found(arn))
    }

    /// Whether `arn` names a policy roles can be attached to: a customer
    /// policy of this account, or any AWS-managed ARN.
    pub fn check_policy_arn(&self, account: &str, arn: &str) -> Result<(), IamError> {
        validate::length("policyArn", arn, validate::ARN_MIN, validate::ARN_MAX)?;
        let ours = arn.starts_with(&format!("arn:aws:iam::{account}:policy/"));
        if arn.starts_with(ARN_PREFIX) || (ours && self.customer_policy(arn).is_some()) {
            Ok(())
        } else {
            Err(not_attachable(arn))
        }
    }

    fn attachment_count(&self, arn: &str) -> usize {
        self.roles
            .values()
            .filter(|r| r.attached.iter().any(|a| a == arn))
            .count()
    }

    fn boundary_count(&self, arn: &str) -> usize {
        self.roles
            .values()
            .filter(|r| r.permissions_boundary.as_deref() == Some(arn))
            .count()
    }

    /// GetPolicy: customer-managed, AWS-managed from the table, or an
    /// AWS-managed ARN outside the table that was attached (synthesized).
    pub fn policy(&self, arn: &str) -> Result<PolicyView, IamError> {
        let (attachment_count, permissions_boundary_usage_count) =
            (self.attachment_count(arn), self.boundary_count(arn));
        if let Some(p) = self.customer_policy(arn) {
            return Ok(PolicyView {
                name: p.name.clone(),
                id: p.id.clone(),
                arn: p.arn.clone(),
                path: p.path.clone(),
                default_version: p.default_version.clone(),
                attachment_count,
                permissions_boundary_usage_count,
                description: p.description.clone(),
                create_date: p.create_date,
                update_date: p.update_date,
                tags: p.tags.clone(),
            });
        }
        if let Some(p) = aws_managed::find(arn) {
            return Ok(PolicyView {
                name: p.name.into(),
                id: p.id.into(),
                arn: arn.into(),
                path: p.path.into(),
                default_version: p.default_version.into(),
                attachment_count,
                permissions_boundary_usage_count,
                description: None,
                create_date: parse_date(p.create_date),
                update_date: parse_date(p.update_date),
                tags: Tags::new(),
            });
        }
        let Some(first_attached) = self.unlisted_aws_policies.get(arn) else {
            return Err(not_found(arn));
        };
        let (path, name) = path_and_name(arn);
        Ok(PolicyView {
            name,
            id: synthesized_id(arn),
            arn: arn.into(),
            path,
            default_version: UNKNOWN_VERSION.into(),
            attachment_count,
            permissions_boundary_usage_count,
            description: None,
            create_date: *first_attached,
            update_date: *first_attached,
            tags: Tags::new(),
        })
    }

    /// GetPolicyVersion: the document, whether it is the default, its date.
    pub fn policy_version(
        &self,
        arn: &str,
        version: &str,
    ) -> Result<(String, bool, OffsetDateTime), IamError> {
        let missing = || {
            IamError::NoSuchEntity(format!(
                "Policy {arn} version {version} does not exist or is not attachable."
            ))
        };
        if let Some(p) = self.customer_policy(arn) {
            let v = p
                .versions
                .iter()
                .find(|v| v.id == version)
                .ok_or_else(missing)?;
            return Ok((v.document.clone(), v.id == p.default_version, v.create_date));
        }
        let view = self.policy(arn).map_err(|_| missing())?;
        if view.default_version != version {
            return Err(missing());
        }
        let document = aws_managed::find(arn).map_or(UNKNOWN_DOCUMENT, |p| p.document);
        Ok((document.to_string(), true, view.update_date))
    }

    /// The versions of a policy, newest first as IAM lists them.
    pub fn policy_versions(
        &self,
        arn: &str,
    ) -> Result<Vec<(String, bool, OffsetDateTime)>, IamError> {
        if let Some(p) = self.customer_policy(arn) {
            return Ok(p
                .versions
                .iter()
                .rev()
                .map(|v| (v.id.clone(), v.id == p.default_version, v.create_date))
                .collect());
        }
        let view = self.policy(arn)?;
        Ok(vec![(view.default_version, true, view.update_date)])
    }

    /// ListPolicies: customer policies (`Local`), the AWS-managed table
    /// (`AWS`) or both, by name, filtered.
    pub fn list_policies(
        &self,
        scope: PolicyScope,
        only_attached: bool,
        path_prefix: &str,
    ) -> Vec<PolicyView> {
        let mut arns: Vec<String> = Vec::new();
        if scope != PolicyScope::Local {
            arns.extend(aws_managed::POLICIES.iter().map(|p| p.arn()));
            arns.extend(self.unlisted_aws_policies.keys().cloned());
        }
        if scope != PolicyScope::Aws {
            arns.extend(self.policies.values().map(|p| p.arn.clone()));
        }
        let mut views: Vec<PolicyView> = arns
            .iter()
            .filter_map(|arn| self.policy(arn).ok())
            .filter(|v| v.path.starts_with(path_prefix))
            .filter(|v| !only_attached || v.attachment_count > 0)
            .collect();
        views.sort_by(|a, b| a.name.cmp(&b.name));
        views
    }

    /// CreatePolicy: version `v1`, the default.
    pub fn create_policy(
        &mut self,
        account: &str,
        new: NewPolicy,
        now: OffsetDateTime,
    ) -> Result<PolicyView, IamError> {
        let NewPolicy {
            name,
            path,
            document,
            description,
            tags,
        } = new;
        let name = name.as_str();
        validate::name("policyName", name, validate::POLICY_NAME_MAX)?;
        let path = path.as_deref().unwrap_or(super::roles::DEFAULT_PATH);
        validate::path("path", path)?;
        validate::policy_document("policyDocument", &document)?;
        if let Some(d) = &description {
            validate::length("description", d, 0, validate::DESCRIPTION_MAX)?;
        }
        let mut merged = Tags::new();
        super::merge_tags(&mut merged, &tags, "Policy")?;
        let k = key(name);
        if self.policies.contains_key(&k) {
            return Err(IamError::EntityAlreadyExists(format!(
                "A policy called {name} already exists. Duplicate names are not allowed."
            )));
        }
        let arn = iam_arn(account, "policy", path, name);
        self.policies.insert(
            k,
            ManagedPolicy {
                name: name.into(),
                path: path.into(),
                id: unique_id(POLICY_ID_PREFIX),
                arn: arn.clone(),
                description,
                create_date: now,
                update_date: now,
                versions: vec![PolicyVersion {
                    id: "v1".into(),
                    document,
                    create_date: now,
                }],
                default_version: "v1".into(),
                next_version: 2,
                tags: merged,
            },
        );
        self.policy(&arn)
    }

    /// DeletePolicy: refused while attached or while it has versions other
    /// than the default.
    pub fn delete_policy(&mut self, arn: &str) -> Result<(), IamError> {
        let attached = self.attachment_count(arn) + self.boundary_count(arn) > 0;
        let policy = self.customer_policy_mut(arn)?;
        if attached {
            return Err(IamError::DeleteConflict(
                "Cannot delete a policy attached to entities.".into(),
            ));
        }
        if policy.versions.len() > 1 {
            return Err(IamError::DeleteConflict(
                "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.".into(),
            ));
        }
        let k = key(&policy.name);
        self.policies.remove(&k);
        Ok(())
    }

    /// CreatePolicyVersion: the new version's id.
    pub fn create_policy_version(
        &mut self,
        arn: &str,
        document: String,
        set_as_default: bool,
        now: OffsetDateTime,
    ) -> Result<String, IamError> {
        validate::policy_document("policyDocument", &document)?;
        let policy = self.customer_policy_mut(arn)?;
        if policy.versions.len() >= VERSIONS_PER_POLICY {
            return Err(IamError::LimitExceeded(format!(
                "A managed policy can have up to {VERSIONS_PER_POLICY} versions. Before you create a new version, you must delete an existing version."
            )));
        }
        let id = format!("v{}", policy.next_version);
        policy.next_version += 1;
        policy.versions.push(PolicyVersion {
            id: id.clone(),
            document,
            create_date: now,
        });
        if set_as_default {
            policy.default_version = id.clone();
            policy.update_date = now;
        }
        Ok(id)
    }

    pub fn delete_policy_version(&mut self, arn: &str, version: &str) -> Result<(), IamError> {
        let policy = self.customer_policy_mut(arn)?;
        if policy.default_version == version {
            return Err(IamError::DeleteConflict(
                "Cannot delete the default version of a policy.".into(),
            ));
        }
        let before = policy.versions.len();
        policy.versions.retain(|v| v.id != version);
        if policy.versions.len() == before {
            return Err(IamError::NoSuchEntity(format!(
                "Policy {arn} version {version} does not exist or is not attachable."
            )));
        }
        Ok(())
    }

    pub fn set_default_policy_version(
        &mut self,
        arn: &str,
        version: &str,
        now: OffsetDateTime,
    ) -> Result<(), IamError> {
        let policy = self.customer_policy_mut(arn)?;
        if !policy.versions.iter().any(|v| v.id == version) {
            return Err(IamError::NoSuchEntity(format!(
                "Policy {arn} version {version} does not exist or is not attachable."
            )));
        }
        policy.default_version = version.into();
        policy.update_date = now;
        Ok(())
    }

    /// AttachRolePolicy; attaching twice is a no-op. Returns whether the
    /// ARN is AWS-managed and outside the built-in table (the caller logs
    /// that once).
    pub fn attach_role_policy(
        &mut self,
        account: &str,
        role: &str,
        arn: &str,
        now: OffsetDateTime,
    ) -> Result<bool, IamError> {
        self.check_policy_arn(account, arn)?;
        let role = self.modifiable_role(role)?;
        if !role.attached.iter().any(|a| a == arn) {
            role.attached.push(arn.to_string());
        }
        let unlisted = arn.starts_with(ARN_PREFIX) && aws_managed::find(arn).is_none();
        if unlisted {
            self.unlisted_aws_policies
                .entry(arn.to_string())
                .or_insert(now);
        }
        Ok(unlisted)
    }

    pub fn detach_role_policy(&mut self, role: &str, arn: &str) -> Result<(), IamError> {
        let role = self.modifiable_role(role)?;
        let before = role.attached.len();
        role.attached.retain(|a| a != arn);
        if role.attached.len() == before {
            return Err(IamError::NoSuchEntity(format!(
                "Policy {arn} was not attached."
            )));
        }
        Ok(())
    }

    /// ListEntitiesForPolicy (roles only: the emulator has no users or
    /// groups): (role name, role id) of the roles it is attached to.
    pub fn roles_with_policy(&self, arn: &str) -> Result<Vec<(String, String)>, IamError> {
        self.policy(arn)?;
        Ok(self
            .roles
            .values()
            .filter(|r| r.attached.iter().any(|a| a == arn))
            .map(|r| (r.name.clone(), r.id.clone()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::roles::tests::{now, with_role, ACCOUNT, TRUST};
    use super::*;

    const EXEC: &str = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";

    #[test]
    fn versions_and_limits() {
        let mut s = IamState::default();
        let p = s
            .create_policy(
                ACCOUNT,
                NewPolicy {
                    name: "p".into(),
                    path: Some("/app/".into()),
                    document: TRUST.into(),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        assert_eq!(p.arn, "arn:aws:iam::000000000000:policy/app/p");
        assert_eq!(path_and_name(&p.arn), ("/app/".into(), "p".into()));
        for n in 2..=5 {
            assert_eq!(
                s.create_policy_version(&p.arn, TRUST.into(), n == 3, now())
                    .unwrap(),
                format!("v{n}")
            );
        }
        let e = s
            .create_policy_version(&p.arn, TRUST.into(), false, now())
            .unwrap_err();
        assert_eq!(e.code(), "LimitExceeded");
        assert_eq!(s.policy(&p.arn).unwrap().default_version, "v3");
        assert_eq!(
            s.delete_policy_version(&p.arn, "v3").unwrap_err().code(),
            "DeleteConflict"
        );
        assert_eq!(
            s.delete_policy(&p.arn).unwrap_err().code(),
            "DeleteConflict"
        );
        for v in ["v1", "v2", "v4", "v5"] {
            s.delete_policy_version(&p.arn, v).unwrap();
        }
        assert_eq!(s.policy_versions(&p.arn).unwrap().len(), 1);
        s.delete_policy(&p.arn).unwrap();
        assert_eq!(s.policy(&p.arn).unwrap_err().code(), "NoSuchEntity");
    }

    #[test]
    fn attachments_count_and_block_deletion() {
        let mut s = with_role("r");
        let p = s
            .create_policy(
                ACCOUNT,
                NewPolicy {
                    name: "p".into(),
                    path: None,
                    document: TRUST.into(),
                    ..Default::default()
                },
                now(),
            )
            .unwrap();
        assert!(!s.attach_role_policy(ACCOUNT, "r", &p.arn, now()).unwrap());
        assert!(!s.attach_role_policy(ACCOUNT, "r", EXEC, now()).unwrap());
        assert_eq!(s.policy(&p.arn).unwrap().attachment_count, 1);
        assert_eq!(s.policy(EXEC).unwrap().attachment_count, 1);
        assert_eq!(
            s.delete_policy(&p.arn).unwrap_err().code(),
            "DeleteConflict"
        );
        let missing = "arn:aws:iam::000000000000:policy/nope";
        assert_eq!(
            s.attach_role_policy(ACCOUNT, "r", missing, now())
                .unwrap_err()
                .code(),
            "NoSuchEntity"
        );
        assert_eq!(s.roles_with_policy(EXEC).unwrap()[0].0, "r");
        let only = s.list_policies(PolicyScope::All, true, "/");
        assert_eq!(only.len(), 2);
        assert!(s
            .list_policies(PolicyScope::Local, false, "/")
            .iter()
            .all(|v| v.arn == p.arn));
    }

    #[test]
    fn unknown_aws_policies_are_synthesized_once_attached() {
        let mut s = with_role("r");
        let arn = "arn:aws:iam::aws:policy/service-role/SomethingNew";
        assert_eq!(s.policy(arn).unwrap_err().code(), "NoSuchEntity");
        assert!(s.attach_role_policy(ACCOUNT, "r", arn, now()).unwrap());
        let view = s.policy(arn).unwrap();
        assert_eq!(
            (view.name.as_str(), view.path.as_str()),
            ("SomethingNew", "/service-role/")
        );
        assert_eq!(view.id, synthesized_id(arn));
        assert_eq!(view.id.len(), 21);
        assert_eq!(s.policy_version(arn, "v1").unwrap().0, UNKNOWN_DOCUMENT);
        let (doc, default, _) = s.policy_version(EXEC, "v1").unwrap();
        assert!(default && doc.contains("logs:PutLogEvents"));
    }
}
