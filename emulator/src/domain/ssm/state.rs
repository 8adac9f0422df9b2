//! The actions on the parameters: put (versions, tiers, the oldest version
//! dropped), get, delete, labels, tags, and the values a task definition's
//! `secrets` resolve to.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use crate::domain::validation::constraint_violation;

use super::names::{is_valid_label, name_candidates, parse_selector, validate_name};
use super::validate::{
    check_data_type, check_key_id, check_resource_type, check_tags, choose_tier,
};
use super::{
    Parameter, ParameterType, ParameterVersion, PutRequest, Selector, SsmError, SsmState, Tier,
    DEFAULT_DATA_TYPE, DEFAULT_KEY_ID, MAX_DESCRIPTION_LEN, MAX_LABELS_PER_VERSION, MAX_TAGS,
    MAX_VERSIONS,
};

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
