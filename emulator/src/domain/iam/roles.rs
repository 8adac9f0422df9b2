//! Roles: creation, changes, inline policies and deletion rules.

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use time::OffsetDateTime;

use super::{iam_arn, key, unique_id, validate, IamError, IamState, Role, Tags, ROLE_ID_PREFIX};

/// MaxSessionDuration's default, in seconds.
pub const MAX_SESSION_DURATION_DEFAULT: u32 = 3600;
/// MaxSessionDuration's range, in seconds.
pub const MAX_SESSION_DURATION_MIN: i64 = 3600;
pub const MAX_SESSION_DURATION_MAX: i64 = 43200;
/// Paths default to `/`.
pub const DEFAULT_PATH: &str = "/";

/// What CreateRole asks for, validated by [`IamState::create_role`].
#[derive(Debug, Clone, Default, BorshSerialize, BorshDeserialize)]
pub struct NewRole {
    pub name: String,
    pub path: Option<String>,
    pub assume_role_policy: String,
    pub description: Option<String>,
    pub max_session_duration: Option<i64>,
    pub permissions_boundary: Option<String>,
    pub tags: Tags,
}

/// A service-linked role's name, path and description for a service.
#[derive(Debug, Clone, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct ServiceLinkedRole {
    pub name: String,
    pub path: String,
    /// The AWS-managed policy the service attaches, if the emulator knows it.
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub policy_arn: Option<&'static str>,
}

/// The services whose service-linked role names the emulator knows:
/// service principal, role name suffix, attached AWS-managed policy.
const SERVICE_LINKED_ROLES: &[(&str, &str, Option<&str>)] = &[
    (
        "ecs.amazonaws.com",
        "ECS",
        Some("arn:aws:iam::aws:policy/aws-service-role/AmazonECSServiceRolePolicy"),
    ),
    (
        "ecs.application-autoscaling.amazonaws.com",
        "ApplicationAutoScaling_ECSService",
        Some("arn:aws:iam::aws:policy/aws-service-role/AWSApplicationAutoscalingECSServicePolicy"),
    ),
    (
        "elasticloadbalancing.amazonaws.com",
        "ElasticLoadBalancing",
        None,
    ),
    ("autoscaling.amazonaws.com", "AutoScaling", None),
    ("ecr.amazonaws.com", "ECRReplication", None),
    ("logs.amazonaws.com", "CloudWatchLogs", None),
    ("ssm.amazonaws.com", "AmazonSSM", None),
    ("secretsmanager.amazonaws.com", "SecretsManager", None),
];

/// The service-linked role of `service` (e.g. `ecs.amazonaws.com` gives
/// `AWSServiceRoleForECS` under `/aws-service-role/ecs.amazonaws.com/`).
pub fn service_linked_role(
    service: &str,
    suffix: Option<&str>,
) -> Result<ServiceLinkedRole, IamError> {
    let Some((_, base, policy_arn)) = SERVICE_LINKED_ROLES.iter().find(|(s, _, _)| *s == service)
    else {
        return Err(IamError::InvalidInput(format!(
            "The service {service} has no service-linked role this emulator knows; known: {}",
            SERVICE_LINKED_ROLES
                .iter()
                .map(|(s, _, _)| *s)
                .collect::<Vec<_>>()
                .join(", ")
        )));
    };
    let mut name = format!("AWSServiceRoleFor{base}");
    if let Some(suffix) = suffix {
        name = format!("{name}_{suffix}");
    }
    Ok(ServiceLinkedRole {
        name,
        path: format!("/aws-service-role/{service}/"),
        policy_arn: *policy_arn,
    })
}

/// Service-linked roles live under this path prefix.
pub const SERVICE_ROLE_PATH_PREFIX: &str = "/aws-service-role/";

impl Role {
    /// Whether only its service may change the role.
    pub fn is_service_linked(&self) -> bool {
        self.path.starts_with(SERVICE_ROLE_PATH_PREFIX)
    }
}

fn no_such_role(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("The role with name {name} cannot be found."))
}

/// Validates a MaxSessionDuration.
pub fn max_session_duration(seconds: i64) -> Result<u32, IamError> {
    validate::range(
        "maxSessionDuration",
        seconds,
        MAX_SESSION_DURATION_MIN,
        MAX_SESSION_DURATION_MAX,
    )?;
    Ok(seconds as u32)
}

impl IamState {
    pub fn role(&self, name: &str) -> Result<&Role, IamError> {
        self.roles.get(&key(name)).ok_or_else(|| no_such_role(name))
    }

    pub fn role_mut(&mut self, name: &str) -> Result<&mut Role, IamError> {
        self.roles
            .get_mut(&key(name))
            .ok_or_else(|| no_such_role(name))
    }

    /// A role that its service does not protect, for changes.
    pub fn modifiable_role(&mut self, name: &str) -> Result<&mut Role, IamError> {
        let role = self.role_mut(name)?;
        if role.is_service_linked() {
            return Err(IamError::UnmodifiableEntity(format!(
                "Cannot perform the operation on the protected role '{}' - this role is only modifiable by AWS",
                role.name
            )));
        }
        Ok(role)
    }

    /// CreateRole.
    pub fn create_role(
        &mut self,
        account: &str,
        new: NewRole,
        now: OffsetDateTime,
    ) -> Result<&Role, IamError> {
        validate::name("roleName", &new.name, validate::ROLE_NAME_MAX)?;
        let path = new.path.unwrap_or_else(|| DEFAULT_PATH.to_string());
        validate::path("path", &path)?;
        validate::policy_document("assumeRolePolicyDocument", &new.assume_role_policy)?;
        if let Some(d) = &new.description {
            validate::length("description", d, 0, validate::DESCRIPTION_MAX)?;
        }
        let max_session_duration = new
            .max_session_duration
            .map(max_session_duration)
            .transpose()?
            .unwrap_or(MAX_SESSION_DURATION_DEFAULT);
        if let Some(boundary) = &new.permissions_boundary {
            self.check_boundary(account, boundary)?;
        }
        let mut tags = Tags::new();
        super::merge_tags(&mut tags, &new.tags, "Role")?;
        let k = key(&new.name);
        if self.roles.contains_key(&k) {
            return Err(IamError::EntityAlreadyExists(format!(
                "Role with name {} already exists.",
                new.name
            )));
        }
        let role = Role {
            arn: iam_arn(account, "role", &path, &new.name),
            name: new.name,
            path,
            id: unique_id(ROLE_ID_PREFIX),
            create_date: now,
            assume_role_policy: new.assume_role_policy,
            description: new.description,
            max_session_duration,
            permissions_boundary: new.permissions_boundary,
            tags,
            inline_policies: Default::default(),
            attached: Vec::new(),
        };
        Ok(self.roles.entry(k).or_insert(role))
    }

    /// A permissions boundary must be a managed policy that exists.
    pub fn check_boundary(&self, account: &str, arn: &str) -> Result<(), IamError> {
        self.check_policy_arn(account, arn).map_err(|_| {
            IamError::NoSuchEntity(format!(
                "Scope ARN: {arn} does not exist or is not attachable."
            ))
        })
    }

    /// PutRolePermissionsBoundary (`Some`) and DeleteRolePermissionsBoundary (`None`).
    pub fn set_role_boundary(
        &mut self,
        account: &str,
        role: &str,
        arn: Option<String>,
    ) -> Result<(), IamError> {
        if let Some(arn) = &arn {
            self.check_boundary(account, arn)?;
        }
        self.modifiable_role(role)?.permissions_boundary = arn;
        Ok(())
    }

    /// DeleteRole: refused while the role has inline or attached policies
    /// or is in an instance profile, with AWS's messages.
    pub fn delete_role(&mut self, name: &str) -> Result<Role, IamError> {
        let role = self.modifiable_role(name)?;
        if !role.inline_policies.is_empty() {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must delete policies first.".into(),
            ));
        }
        if !role.attached.is_empty() {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must detach all policies first.".into(),
            ));
        }
        let k = key(name);
        if self
            .instance_profiles
            .values()
            .any(|p| p.role.as_deref() == Some(k.as_str()))
        {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must remove roles from instance profile first.".into(),
            ));
        }
        self.roles.remove(&k).ok_or_else(|| no_such_role(name))
    }

    /// DeleteServiceLinkedRole: the role goes at once (the emulator has no
    /// resources that use it), and the returned task id reports success.
    pub fn delete_service_linked_role(&mut self, name: &str) -> Result<String, IamError> {
        let role = self.role(name)?;
        if !role.is_service_linked() {
            return Err(IamError::InvalidInput(format!(
                "Role {} is not a service-linked role.",
                role.name
            )));
        }
        let task = format!("task{}{}/{}", role.path, role.name, uuid::Uuid::new_v4());
        self.roles.remove(&key(name));
        self.deletion_tasks.insert(task.clone());
        Ok(task)
    }

    /// CreateServiceLinkedRole: the role of `service`, trusted by it, with
    /// the AWS-managed policy the service attaches.
    pub fn create_service_linked_role(
        &mut self,
        account: &str,
        service: &str,
        description: Option<String>,
        suffix: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<&Role, IamError> {
        let slr = service_linked_role(service, suffix)?;
        if self.roles.contains_key(&key(&slr.name)) {
            return Err(IamError::InvalidInput(format!(
                "Service role name {} has been taken in this account, please try a different suffix.",
                slr.name
            )));
        }
        let trust = format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"Service":["{service}"]}},"Action":["sts:AssumeRole"]}}]}}"#
        );
        let new = NewRole {
            name: slr.name.clone(),
            path: Some(slr.path),
            assume_role_policy: trust,
            description,
            ..Default::default()
        };
        self.create_role(account, new, now)?;
        let role = self.role_mut(&slr.name)?;
        role.attached.extend(slr.policy_arn.map(String::from));
        Ok(role)
    }

    /// PutRolePolicy: adds or replaces an inline policy.
    pub fn put_role_policy(
        &mut self,
        role: &str,
        policy: &str,
        document: String,
    ) -> Result<(), IamError> {
        validate::name("policyName", policy, validate::POLICY_NAME_MAX)?;
        validate::policy_document("policyDocument", &document)?;
        self.modifiable_role(role)?
            .inline_policies
            .insert(policy.to_string(), document);
        Ok(())
    }

    /// GetRolePolicy: the role's name and the document.
    pub fn role_policy(&self, role: &str, policy: &str) -> Result<(&Role, &String), IamError> {
        let r = self.role(role)?;
        let doc = r
            .inline_policies
            .get(policy)
            .ok_or_else(|| no_such_role_policy(policy))?;
        Ok((r, doc))
    }

    pub fn delete_role_policy(&mut self, role: &str, policy: &str) -> Result<(), IamError> {
        self.modifiable_role(role)?
            .inline_policies
            .remove(policy)
            .map(|_| ())
            .ok_or_else(|| no_such_role_policy(policy))
    }

    /// Roles under `path_prefix`, by name.
    pub fn roles_under(&self, path_prefix: &str) -> Vec<&Role> {
        self.roles
            .values()
            .filter(|r| r.path.starts_with(path_prefix))
            .collect()
    }

    /// The role of this account an ARN names, if it exists (names are
    /// compared regardless of case, the path exactly).
    pub fn role_by_arn(&self, arn: &str) -> Option<&Role> {
        let name = arn.rsplit('/').next()?;
        self.roles
            .get(&key(name))
            .filter(|r| r.arn.eq_ignore_ascii_case(arn))
    }
}

fn no_such_role_policy(policy: &str) -> IamError {
    IamError::NoSuchEntity(format!(
        "The role policy with name {policy} cannot be found."
    ))
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    pub const ACCOUNT: &str = "000000000000";
    pub const TRUST: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;

    pub fn now() -> OffsetDateTime {
        time::macros::datetime!(2024-01-01 0:00 UTC)
    }

    pub fn with_role(name: &str) -> IamState {
        let mut s = IamState::default();
        s.create_role(
            ACCOUNT,
            NewRole {
                name: name.into(),
                assume_role_policy: TRUST.into(),
                ..Default::default()
            },
            now(),
        )
        .unwrap();
        s
    }

    #[test]
    fn create_role_defaults_and_duplicates() {
        let mut s = with_role("Task");
        let r = s.role("task").unwrap();
        assert_eq!(r.arn, "arn:aws:iam::000000000000:role/Task");
        assert_eq!((r.path.as_str(), r.max_session_duration), ("/", 3600));
        assert_eq!(r.assume_role_policy, TRUST);
        let e = s
            .create_role(
                ACCOUNT,
                NewRole {
                    name: "TASK".into(),
                    assume_role_policy: TRUST.into(),
                    ..Default::default()
                },
                now(),
            )
            .unwrap_err();
        assert_eq!(
            e,
            IamError::EntityAlreadyExists("Role with name TASK already exists.".into())
        );
        let e = s
            .create_role(
                ACCOUNT,
                NewRole {
                    name: "x".into(),
                    assume_role_policy: "{".into(),
                    ..Default::default()
                },
                now(),
            )
            .unwrap_err();
        assert_eq!(e.code(), "MalformedPolicyDocument");
        let e = s
            .create_role(
                ACCOUNT,
                NewRole {
                    name: "y".into(),
                    assume_role_policy: TRUST.into(),
                    max_session_duration: Some(60),
                    ..Default::default()
                },
                now(),
            )
            .unwrap_err();
        assert_eq!(e.code(), "ValidationError");
    }

    #[test]
    fn delete_conflicts_in_order() {
        let mut s = with_role("r");
        s.put_role_policy("r", "inline", TRUST.into()).unwrap();
        s.attach_role_policy(
            ACCOUNT,
            "r",
            "arn:aws:iam::aws:policy/AdministratorAccess",
            now(),
        )
        .unwrap();
        assert!(s
            .delete_role("r")
            .unwrap_err()
            .to_string()
            .contains("must delete policies"));
        s.delete_role_policy("r", "inline").unwrap();
        assert!(s
            .delete_role("r")
            .unwrap_err()
            .to_string()
            .contains("must detach all policies"));
        s.detach_role_policy("r", "arn:aws:iam::aws:policy/AdministratorAccess")
            .unwrap();
        s.create_instance_profile(ACCOUNT, "ip", None, Vec::new(), now())
            .unwrap();
        s.add_role_to_instance_profile("ip", "r").unwrap();
        assert!(s
            .delete_role("r")
            .unwrap_err()
            .to_string()
            .contains("instance profile"));
        s.remove_role_from_instance_profile("ip", "r").unwrap();
        s.delete_role("r").unwrap();
        assert_eq!(s.role("r").unwrap_err().code(), "NoSuchEntity");
    }

    #[test]
    fn permissions_boundaries_must_exist() {
        let mut s = with_role("r");
        let missing = "arn:aws:iam::000000000000:policy/missing";
        let e = s
            .set_role_boundary(ACCOUNT, "r", Some(missing.into()))
            .unwrap_err();
        assert_eq!(
            e,
            IamError::NoSuchEntity(format!(
                "Scope ARN: {missing} does not exist or is not attachable."
            ))
        );
        let admin = "arn:aws:iam::aws:policy/AdministratorAccess";
        s.set_role_boundary(ACCOUNT, "r", Some(admin.into()))
            .unwrap();
        assert_eq!(s.policy(admin).unwrap().permissions_boundary_usage_count, 1);
        s.set_role_boundary(ACCOUNT, "r", None).unwrap();
        assert_eq!(s.role("r").unwrap().permissions_boundary, None);
    }

    #[test]
    fn service_linked_roles() {
        let slr = service_linked_role("ecs.amazonaws.com", None).unwrap();
        assert_eq!(slr.name, "AWSServiceRoleForECS");
        assert_eq!(slr.path, "/aws-service-role/ecs.amazonaws.com/");
        assert_eq!(
            service_linked_role("nope.amazonaws.com", None)
                .unwrap_err()
                .code(),
            "InvalidInput"
        );
    }
}
