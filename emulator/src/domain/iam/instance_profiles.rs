//! Instance profiles: at most one role each.

use time::OffsetDateTime;

use super::{
    iam_arn, key, unique_id, validate, IamError, IamState, InstanceProfile, Role, Tags,
    INSTANCE_PROFILE_ID_PREFIX,
};

/// Roles per instance profile (IAM's `InstanceSessionsPerInstanceProfile`).
pub const ROLES_PER_INSTANCE_PROFILE: usize = 1;

fn no_such_profile(name: &str) -> IamError {
    IamError::NoSuchEntity(format!("Instance Profile {name} cannot be found."))
}

impl IamState {
    pub fn instance_profile(&self, name: &str) -> Result<&InstanceProfile, IamError> {
        self.instance_profiles
            .get(&key(name))
            .ok_or_else(|| no_such_profile(name))
    }

    pub fn instance_profile_mut(&mut self, name: &str) -> Result<&mut InstanceProfile, IamError> {
        self.instance_profiles
            .get_mut(&key(name))
            .ok_or_else(|| no_such_profile(name))
    }

    /// The roles of a profile (zero or one), for describing it.
    pub fn profile_roles(&self, profile: &InstanceProfile) -> Vec<&Role> {
        profile
            .role
            .iter()
            .filter_map(|k| self.roles.get(k))
            .collect()
    }

    pub fn create_instance_profile(
        &mut self,
        account: &str,
        name: &str,
        path: Option<&str>,
        tags: Tags,
        now: OffsetDateTime,
    ) -> Result<&InstanceProfile, IamError> {
        validate::name(
            "instanceProfileName",
            name,
            validate::INSTANCE_PROFILE_NAME_MAX,
        )?;
        let path = path.unwrap_or(super::roles::DEFAULT_PATH);
        validate::path("path", path)?;
        let mut merged = Tags::new();
        super::merge_tags(&mut merged, &tags, "InstanceProfile")?;
        let k = key(name);
        if self.instance_profiles.contains_key(&k) {
            return Err(IamError::EntityAlreadyExists(format!(
                "Instance Profile {name} already exists."
            )));
        }
        let profile = InstanceProfile {
            name: name.into(),
            path: path.into(),
            id: unique_id(INSTANCE_PROFILE_ID_PREFIX),
            arn: iam_arn(account, "instance-profile", path, name),
            create_date: now,
            role: None,
            tags: merged,
        };
        Ok(self.instance_profiles.entry(k).or_insert(profile))
    }

    pub fn delete_instance_profile(&mut self, name: &str) -> Result<(), IamError> {
        if self.instance_profile(name)?.role.is_some() {
            return Err(IamError::DeleteConflict(
                "Cannot delete entity, must remove roles from instance profile first.".into(),
            ));
        }
        self.instance_profiles.remove(&key(name));
        Ok(())
    }

    pub fn add_role_to_instance_profile(
        &mut self,
        profile: &str,
        role: &str,
    ) -> Result<(), IamError> {
        let role_key = key(&self.role(role)?.name);
        let p = self.instance_profile_mut(profile)?;
        if p.role.is_some() {
            return Err(IamError::LimitExceeded(format!(
                "Cannot exceed quota for InstanceSessionsPerInstanceProfile: {ROLES_PER_INSTANCE_PROFILE}"
            )));
        }
        p.role = Some(role_key);
        Ok(())
    }

    pub fn remove_role_from_instance_profile(
        &mut self,
        profile: &str,
        role: &str,
    ) -> Result<(), IamError> {
        self.role(role)?;
        let p = self.instance_profile_mut(profile)?;
        if p.role.as_deref() != Some(key(role).as_str()) {
            return Err(IamError::NoSuchEntity(format!(
                "The role with name {role} cannot be found in instance profile {profile}."
            )));
        }
        p.role = None;
        Ok(())
    }

    /// The profiles a role is in.
    pub fn profiles_for_role(&self, role: &str) -> Result<Vec<&InstanceProfile>, IamError> {
        let k = key(&self.role(role)?.name);
        Ok(self
            .instance_profiles
            .values()
            .filter(|p| p.role.as_deref() == Some(k.as_str()))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::super::roles::tests::{now, with_role, ACCOUNT};

    #[test]
    fn one_role_per_profile() {
        let mut s = with_role("r");
        let p = s
            .create_instance_profile(ACCOUNT, "ip", Some("/x/"), vec![], now())
            .unwrap();
        assert_eq!(p.arn, "arn:aws:iam::000000000000:instance-profile/x/ip");
        assert!(p.id.starts_with("AIPA"));
        s.add_role_to_instance_profile("ip", "r").unwrap();
        assert_eq!(
            s.add_role_to_instance_profile("ip", "r")
                .unwrap_err()
                .code(),
            "LimitExceeded"
        );
        assert_eq!(
            s.delete_instance_profile("ip").unwrap_err().code(),
            "DeleteConflict"
        );
        assert_eq!(s.profiles_for_role("r").unwrap().len(), 1);
        s.remove_role_from_instance_profile("ip", "r").unwrap();
        s.delete_instance_profile("ip").unwrap();
        assert_eq!(s.instance_profile("ip").unwrap_err().code(), "NoSuchEntity");
        let e = s
            .create_instance_profile(ACCOUNT, "a b", None, vec![], now())
            .unwrap_err();
        assert_eq!(e.code(), "ValidationError");
    }
}
