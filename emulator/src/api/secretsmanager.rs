//! Secrets Manager actions (AWS JSON 1.1, `X-Amz-Target: secretsmanager.*`).
//! <https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_Operations.html>
//!
//! Rotation and replication need Lambda and other regions, which this
//! emulator does not have: those actions are refused.

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::ignored_once;
use super::wire::{self, Input, JsonService};
use crate::domain::epoch_seconds;
use crate::domain::secretsmanager::{
    random_password, Changed, CreateRequest, PasswordRules, Secret, SecretValue, SecretVersion,
    SecretsError,
};
use crate::domain::ssm::offset_page;
use crate::domain::validation::constraint_violation;
use crate::protocol::json::JsonError;

/// ListSecrets / ListSecretVersionIds page size by default and at most (AWS: 100).
const MAX_LIST_RESULTS: i64 = 100;
/// BatchGetSecretValue: ids per call and page size at most (AWS: 20).
const MAX_BATCH: i64 = 20;

type Output = Result<Value, SecretsError>;

/// Secrets Manager's operations.
pub struct SecretsManager;

type Handler<'a> = wire::Handler<'a, SecretsManager>;

impl JsonService for SecretsManager {
    const VALIDATION_CODE: &'static str = "InvalidParameterException";
    type Error = SecretsError;

    fn dispatch(h: &Handler, op: &str, input: &Input) -> Result<Output, JsonError> {
        Ok(match op {
            "CreateSecret" => h.create_secret(input.decode()?),
            "GetSecretValue" => h.get_secret_value(input.decode()?),
            "BatchGetSecretValue" => h.batch_get_secret_value(input.decode()?),
            "PutSecretValue" => h.put_secret_value(input.decode()?),
            "UpdateSecret" => h.update_secret(input.decode()?),
            "DescribeSecret" => h.describe_secret(input.decode()?),
            "ListSecrets" => h.list_secrets(input.decode()?),
            "ListSecretVersionIds" => h.list_secret_version_ids(input.decode()?),
            "UpdateSecretVersionStage" => h.update_secret_version_stage(input.decode()?),
            "DeleteSecret" => h.delete_secret(input.decode()?),
            "RestoreSecret" => h.restore_secret(input.decode()?),
            "TagResource" => h.tag_resource(input.decode()?),
            "UntagResource" => h.untag_resource(input.decode()?),
            "GetRandomPassword" => h.get_random_password(input.decode()?),
            "PutResourcePolicy" => h.put_resource_policy(input.decode()?),
            "GetResourcePolicy" => h.get_resource_policy(input.decode()?),
            "DeleteResourcePolicy" => h.delete_resource_policy(input.decode()?),
            "ValidateResourcePolicy" => h.validate_resource_policy(input.decode()?),
            "RotateSecret" | "CancelRotateSecret" => Err(SecretsError::InvalidRequest(format!(
                "{op} is not supported by this emulator: it runs no Lambda rotation functions."
            ))),
            "ReplicateSecretToRegions"
            | "RemoveRegionsFromReplication"
            | "StopReplicationToReplica" => Err(replication_refused()),
            other => return Err(JsonError::unknown_operation(other)),
        })
    }
}

fn replication_refused() -> SecretsError {
    SecretsError::InvalidRequest(
        "Replication is not supported by this emulator: secrets are not kept per region.".into(),
    )
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    #[serde(default)]
    value: String,
}

/// SecretString / SecretBinary (base64 on the wire).
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct ValueInput {
    secret_string: Option<String>,
    secret_binary: Option<String>,
}

impl ValueInput {
    fn decode(self) -> Result<Option<SecretValue>, SecretsError> {
        let binary = self
            .secret_binary
            .map(|b| {
                base64::engine::general_purpose::STANDARD
                    .decode(b)
                    .map_err(|_| {
                        SecretsError::InvalidParameter(
                            "SecretBinary must be base64-encoded.".into(),
                        )
                    })
            })
            .transpose()?;
        SecretValue::from_parts(self.secret_string, binary)
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct CreateSecretInput {
    name: String,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    #[serde(flatten)]
    value: ValueInput,
    #[serde(default)]
    tags: Vec<Tag>,
    add_replica_regions: Option<Vec<Value>>,
    force_overwrite_replica_secret: Option<bool>,
    #[serde(rename = "Type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetSecretValueInput {
    secret_id: String,
    version_id: Option<String>,
    version_stage: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FilterInput {
    key: String,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct BatchGetInput {
    secret_id_list: Option<Vec<String>>,
    filters: Option<Vec<FilterInput>>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutSecretValueInput {
    secret_id: String,
    client_request_token: Option<String>,
    #[serde(flatten)]
    value: ValueInput,
    version_stages: Option<Vec<String>>,
    rotation_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateSecretInput {
    secret_id: String,
    client_request_token: Option<String>,
    description: Option<String>,
    kms_key_id: Option<String>,
    #[serde(flatten)]
    value: ValueInput,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SecretIdInput {
    secret_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListSecretsInput {
    #[serde(default)]
    include_planned_deletion: bool,
    max_results: Option<i64>,
    next_token: Option<String>,
    #[serde(default)]
    filters: Vec<FilterInput>,
    sort_order: Option<String>,
    sort_by: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListVersionsInput {
    secret_id: String,
    max_results: Option<i64>,
    next_token: Option<String>,
    #[serde(default)]
    include_deprecated: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UpdateStageInput {
    secret_id: String,
    version_stage: String,
    remove_from_version_id: Option<String>,
    move_to_version_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DeleteSecretInput {
    secret_id: String,
    recovery_window_in_days: Option<i64>,
    #[serde(default)]
    force_delete_without_recovery: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagInput {
    secret_id: String,
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagInput {
    secret_id: String,
    tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RandomPasswordInput {
    password_length: Option<i64>,
    #[serde(default)]
    exclude_characters: String,
    #[serde(default)]
    exclude_numbers: bool,
    #[serde(default)]
    exclude_punctuation: bool,
    #[serde(default)]
    exclude_uppercase: bool,
    #[serde(default)]
    exclude_lowercase: bool,
    #[serde(default)]
    include_space: bool,
    require_each_included_type: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutPolicyInput {
    secret_id: String,
    resource_policy: String,
    block_public_policy: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ValidatePolicyInput {
    resource_policy: String,
}

/// `MaxResults` in `1..=max`, `max` when absent.
fn max_results(value: Option<i64>, max: i64) -> Result<usize, SecretsError> {
    match value {
        None => Ok(max as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(SecretsError::Validation(constraint_violation(
            &n.to_string(),
            "maxResults",
            &format!("Member must have value between 1 and {max}"),
        ))),
    }
}

/// One page; the token is the offset of the next page.
fn paginate<T>(
    items: Vec<T>,
    limit: usize,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), SecretsError> {
    offset_page(items, limit, token).ok_or(SecretsError::InvalidNextToken)
}

/// The ListSecrets filter keys AWS accepts.
const FILTER_KEYS: [&str; 7] = [
    "description",
    "name",
    "tag-key",
    "tag-value",
    "primary-region",
    "owning-service",
    "all",
];

/// Whether a secret passes one ListSecrets filter: any value matches (a
/// value starting with `!` matches when the rest does not). Names and tags
/// are case-sensitive prefixes; description and `all` are not case-sensitive.
fn filter_matches(secret: &Secret, filter: &FilterInput) -> bool {
    let prefix = |text: &str, value: &str, fold: bool| {
        if fold {
            text.to_lowercase().starts_with(&value.to_lowercase())
        } else {
            text.starts_with(value)
        }
    };
    filter.values.iter().any(|raw| {
        let (negated, value) = match raw.strip_prefix('!') {
            Some(v) => (true, v),
            None => (false, raw.as_str()),
        };
        let description = secret.description.as_deref().unwrap_or("");
        let hit = match filter.key.as_str() {
            "name" => prefix(&secret.name, value, false),
            "description" => prefix(description, value, true),
            "tag-key" => secret.tags.iter().any(|(k, _)| prefix(k, value, false)),
            "tag-value" => secret.tags.iter().any(|(_, v)| prefix(v, value, false)),
            "primary-region" => secret.arn.split(':').nth(3) == Some(value),
            "owning-service" => false,
            _ => {
                prefix(&secret.name, value, true)
                    || prefix(description, value, true)
                    || secret
                        .tags
                        .iter()
                        .any(|(k, v)| prefix(k, value, true) || prefix(v, value, true))
            }
        };
        hit != negated
    })
}

fn check_filters(filters: &[FilterInput]) -> Result<(), SecretsError> {
    for f in filters {
        if !FILTER_KEYS.contains(&f.key.as_str()) {
            return Err(SecretsError::Validation(constraint_violation(
                &f.key,
                "filters.member.key",
                "Member must satisfy enum value set: [all, description, name, tag-key, tag-value, primary-region, owning-service]",
            )));
        }
        if f.values.is_empty() || f.values.len() > 10 {
            return Err(SecretsError::InvalidParameter(
                "Filter values must hold 1 to 10 values.".into(),
            ));
        }
    }
    Ok(())
}

fn changed_view(changed: &Changed) -> Value {
    let mut out = json!({ "ARN": changed.arn, "Name": changed.name });
    if let Some(v) = &changed.version_id {
        out["VersionId"] = json!(v);
    }
    out
}

fn tags_view(tags: &[(String, String)]) -> Vec<Value> {
    tags.iter()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect()
}

/// DescribeSecret's members; ListSecrets names the version map differently.
fn secret_view(secret: &Secret, versions_key: &str) -> Value {
    let mut view = json!({
        "ARN": secret.arn,
        "Name": secret.name,
        "RotationEnabled": false,
        "LastChangedDate": epoch_seconds::to_f64(secret.last_changed),
        "Tags": tags_view(&secret.tags),
        "CreatedDate": epoch_seconds::to_f64(secret.created),
    });
    view[versions_key] = json!(secret.version_stages());
    if let Some(d) = &secret.description {
        view["Description"] = json!(d);
    }
    if let Some(k) = &secret.kms_key_id {
        view["KmsKeyId"] = json!(k);
    }
    if let Some(t) = secret.last_accessed {
        view["LastAccessedDate"] = json!(epoch_seconds::to_f64(t));
    }
    if let Some(t) = secret.deletion_date {
        view["DeletedDate"] = json!(epoch_seconds::to_f64(t));
    }
    view
}

fn value_view(secret: &Secret, version: &SecretVersion) -> Value {
    let mut view = json!({
        "ARN": secret.arn,
        "Name": secret.name,
        "VersionId": version.id,
        "VersionStages": version.stages,
        "CreatedDate": epoch_seconds::to_f64(version.created),
    });
    match &version.value {
        SecretValue::String(s) => view["SecretString"] = json!(s),
        SecretValue::Binary(b) => {
            view["SecretBinary"] = json!(base64::engine::general_purpose::STANDARD.encode(b))
        }
    }
    view
}

fn into_pairs(tags: Vec<Tag>) -> Vec<(String, String)> {
    tags.into_iter().map(|t| (t.key, t.value)).collect()
}

impl Handler<'_> {
    fn create_secret(&self, input: CreateSecretInput) -> Output {
        if input.add_replica_regions.is_some() {
            return Err(replication_refused());
        }
        if input.force_overwrite_replica_secret.is_some() {
            ignored_once("Secrets Manager CreateSecret ForceOverwriteReplicaSecret");
        }
        if input.kind.is_some() {
            ignored_once("Secrets Manager CreateSecret Type");
        }
        let request = CreateRequest {
            name: input.name,
            token: input.client_request_token,
            description: input.description,
            kms_key_id: input.kms_key_id,
            value: input.value.decode()?,
            tags: into_pairs(input.tags),
        };
        let changed = self.api.store.write(|s| {
            s.secretsmanager.create(
                request,
                &self.ctx.region,
                self.api.account_id(),
                OffsetDateTime::now_utc(),
            )
        })?;
        let mut out = changed_view(&changed);
        out["ReplicationStatus"] = json!([]);
        Ok(out)
    }

    fn get_secret_value(&self, input: GetSecretValueInput) -> Output {
        let mut out = None;
        // Only the access date changes: no reconciler needs waking.
        self.api.store.modify(|s| {
            out = Some(
                s.secretsmanager
                    .get_value(
                        &input.secret_id,
                        input.version_id.as_deref(),
                        input.version_stage.as_deref(),
                        OffsetDateTime::now_utc(),
                    )
                    .map(|(secret, version)| value_view(secret, version)),
            );
            false
        });
        out.expect("set by modify")
    }

    /// BatchGetSecretValue's AWSCURRENT values of `ids`, failures as `Errors`.
    fn current_values(&self, ids: &[String]) -> Value {
        let now = OffsetDateTime::now_utc();
        let mut values = Vec::new();
        let mut errors = Vec::new();
        // Only access dates change: no reconciler needs waking.
        self.api.store.modify(|s| {
            for id in ids {
                match s.secretsmanager.get_value(id, None, None, now) {
                    Ok((secret, version)) => values.push(value_view(secret, version)),
                    Err(e) => errors.push(json!({
                        "SecretId": id,
                        "ErrorCode": e.code(),
                        "Message": e.to_string(),
                    })),
                }
            }
            false
        });
        json!({ "SecretValues": values, "Errors": errors })
    }

    fn batch_get_secret_value(&self, input: BatchGetInput) -> Output {
        match (input.secret_id_list, input.filters) {
            (Some(ids), None) => {
                if input.max_results.is_some() {
                    return Err(SecretsError::InvalidParameter(
                        "MaxResults can be used only with Filters.".into(),
                    ));
                }
                if ids.is_empty() || ids.len() > MAX_BATCH as usize {
                    return Err(SecretsError::Validation(constraint_violation(
                        &format!("[{}]", ids.join(", ")),
                        "secretIdList",
                        "Member must have length between 1 and 20",
                    )));
                }
                Ok(self.current_values(&ids))
            }
            (None, Some(filters)) => {
                check_filters(&filters)?;
                let limit = max_results(input.max_results, MAX_BATCH)?;
                let names: Vec<String> = self.api.store.read(|s| {
                    s.secretsmanager
                        .secrets
                        .values()
                        .filter(|secret| !secret.is_scheduled_for_deletion())
                        .filter(|secret| filters.iter().all(|f| filter_matches(secret, f)))
                        .map(|secret| secret.name.clone())
                        .collect()
                });
                let (page, next) = paginate(names, limit, input.next_token.as_deref())?;
                let mut out = self.current_values(&page);
                if let Some(next) = next {
                    out["NextToken"] = json!(next);
                }
                Ok(out)
            }
            _ => Err(SecretsError::InvalidParameter(
                "Either SecretIdList or Filters must be provided, but not both.".into(),
            )),
        }
    }

    fn put_secret_value(&self, input: PutSecretValueInput) -> Output {
        if input.rotation_token.is_some() {
            ignored_once("Secrets Manager PutSecretValue RotationToken");
        }
        let value = input.value.decode()?;
        let (changed, stages) = self.api.store.write(|s| {
            s.secretsmanager.put_value(
                &input.secret_id,
                input.client_request_token,
                value,
                input.version_stages,
                OffsetDateTime::now_utc(),
            )
        })?;
        let mut out = changed_view(&changed);
        out["VersionStages"] = json!(stages);
        Ok(out)
    }

    fn update_secret(&self, input: UpdateSecretInput) -> Output {
        let value = input.value.decode()?;
        let changed = self.api.store.write(|s| {
            s.secretsmanager.update(
                &input.secret_id,
                input.description,
                input.kms_key_id,
                input.client_request_token,
                value,
                OffsetDateTime::now_utc(),
            )
        })?;
        Ok(changed_view(&changed))
    }

    fn describe_secret(&self, input: SecretIdInput) -> Output {
        self.api.store.read(|s| {
            s.secretsmanager
                .find(&input.secret_id, OffsetDateTime::now_utc())
                .map(|secret| secret_view(secret, "VersionIdsToStages"))
                .ok_or_else(SecretsError::secret_not_found)
        })
    }

    fn list_secrets(&self, input: ListSecretsInput) -> Output {
        check_filters(&input.filters)?;
        let limit = max_results(input.max_results, MAX_LIST_RESULTS)?;
        let descending = match input.sort_order.as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => {
                return Err(SecretsError::Validation(constraint_violation(
                    other,
                    "sortOrder",
                    "Member must satisfy enum value set: [asc, desc]",
                )))
            }
        };
        let sort_by = input.sort_by.as_deref().unwrap_or("created-date");
        if ![
            "created-date",
            "last-accessed-date",
            "last-changed-date",
            "name",
        ]
        .contains(&sort_by)
        {
            return Err(SecretsError::Validation(constraint_violation(
                sort_by,
                "sortBy",
                "Member must satisfy enum value set: [created-date, last-accessed-date, last-changed-date, name]",
            )));
        }
        let now = OffsetDateTime::now_utc();
        let views: Vec<Value> = self.api.store.read(|s| {
            let mut secrets: Vec<&Secret> = s
                .secretsmanager
                .secrets
                .values()
                .filter(|secret| s.secretsmanager.find(&secret.name, now).is_some())
                .filter(|secret| {
                    input.include_planned_deletion || !secret.is_scheduled_for_deletion()
                })
                .filter(|secret| input.filters.iter().all(|f| filter_matches(secret, f)))
                .collect();
            match sort_by {
                "name" => secrets.sort_by(|a, b| a.name.cmp(&b.name)),
                "last-changed-date" => secrets.sort_by_key(|x| x.last_changed),
                "last-accessed-date" => secrets.sort_by_key(|x| x.last_accessed),
                _ => secrets.sort_by_key(|x| x.created),
            }
            if descending {
                secrets.reverse();
            }
            Ok::<_, SecretsError>(
                secrets
                    .into_iter()
                    .map(|secret| secret_view(secret, "SecretVersionsToStages"))
                    .collect(),
            )
        })?;
        let (page, next) = paginate(views, limit, input.next_token.as_deref())?;
        let mut out = json!({ "SecretList": page });
        if let Some(next) = next {
            out["NextToken"] = json!(next);
        }
        Ok(out)
    }

    fn list_secret_version_ids(&self, input: ListVersionsInput) -> Output {
        let limit = max_results(input.max_results, MAX_LIST_RESULTS)?;
        let (arn, name, versions) = self.api.store.read(|s| {
            let secret = s
                .secretsmanager
                .find(&input.secret_id, OffsetDateTime::now_utc())
                .ok_or_else(SecretsError::secret_not_found)?;
            let versions: Vec<Value> = secret
                .versions
                .iter()
                .rev()
                .filter(|v| input.include_deprecated || !v.stages.is_empty())
                .map(|v| {
                    let mut view = json!({
                        "VersionId": v.id,
                        "VersionStages": v.stages,
                        "CreatedDate": epoch_seconds::to_f64(v.created),
                        "KmsKeyIds": [secret.kms_key_id.as_deref().unwrap_or("DefaultEncryptionKey")],
                    });
                    if let Some(t) = v.last_accessed {
                        view["LastAccessedDate"] = json!(epoch_seconds::to_f64(t));
                    }
                    view
                })
                .collect();
            Ok::<_, SecretsError>((secret.arn.clone(), secret.name.clone(), versions))
        })?;
        let (page, next) = paginate(versions, limit, input.next_token.as_deref())?;
        let mut out = json!({ "Versions": page, "ARN": arn, "Name": name });
        if let Some(next) = next {
            out["NextToken"] = json!(next);
        }
        Ok(out)
    }

    fn update_secret_version_stage(&self, input: UpdateStageInput) -> Output {
        let changed = self.api.store.write(|s| {
            s.secretsmanager.update_stage(
                &input.secret_id,
                &input.version_stage,
                input.remove_from_version_id.as_deref(),
                input.move_to_version_id.as_deref(),
                OffsetDateTime::now_utc(),
            )
        })?;
        Ok(changed_view(&changed))
    }

    fn delete_secret(&self, input: DeleteSecretInput) -> Output {
        let (changed, date) = self.api.store.write(|s| {
            s.secretsmanager.delete(
                &input.secret_id,
                input.recovery_window_in_days,
                input.force_delete_without_recovery,
                OffsetDateTime::now_utc(),
            )
        })?;
        let mut out = changed_view(&changed);
        out["DeletionDate"] = json!(epoch_seconds::to_f64(date));
        Ok(out)
    }

    fn restore_secret(&self, input: SecretIdInput) -> Output {
        let changed = self.api.store.write(|s| {
            s.secretsmanager
                .restore(&input.secret_id, OffsetDateTime::now_utc())
        })?;
        Ok(changed_view(&changed))
    }

    fn tag_resource(&self, input: TagInput) -> Output {
        self.api.store.write(|s| {
            s.secretsmanager.tag(
                &input.secret_id,
                into_pairs(input.tags),
                OffsetDateTime::now_utc(),
            )
        })?;
        Ok(json!({}))
    }

    fn untag_resource(&self, input: UntagInput) -> Output {
        self.api.store.write(|s| {
            s.secretsmanager
                .untag(&input.secret_id, &input.tag_keys, OffsetDateTime::now_utc())
        })?;
        Ok(json!({}))
    }

    fn get_random_password(&self, input: RandomPasswordInput) -> Output {
        let password = random_password(&PasswordRules {
            length: input.password_length,
            exclude_characters: input.exclude_characters,
            exclude_numbers: input.exclude_numbers,
            exclude_punctuation: input.exclude_punctuation,
            exclude_uppercase: input.exclude_uppercase,
            exclude_lowercase: input.exclude_lowercase,
            include_space: input.include_space,
            require_each_included_type: input.require_each_included_type,
        })?;
        Ok(json!({ "RandomPassword": password }))
    }

    fn put_resource_policy(&self, input: PutPolicyInput) -> Output {
        if input.block_public_policy == Some(true) {
            ignored_once("Secrets Manager PutResourcePolicy BlockPublicPolicy");
        }
        let changed = self.api.store.write(|s| {
            s.secretsmanager.put_policy(
                &input.secret_id,
                input.resource_policy,
                OffsetDateTime::now_utc(),
            )
        })?;
        Ok(changed_view(&changed))
    }

    fn get_resource_policy(&self, input: SecretIdInput) -> Output {
        self.api.store.read(|s| {
            let secret = s
                .secretsmanager
                .find(&input.secret_id, OffsetDateTime::now_utc())
                .ok_or_else(SecretsError::secret_not_found)?;
            let mut out = json!({ "ARN": secret.arn, "Name": secret.name });
            if let Some(policy) = &secret.policy {
                out["ResourcePolicy"] = json!(policy);
            }
            Ok(out)
        })
    }

    fn delete_resource_policy(&self, input: SecretIdInput) -> Output {
        let changed = self.api.store.write(|s| {
            s.secretsmanager
                .delete_policy(&input.secret_id, OffsetDateTime::now_utc())
        })?;
        Ok(changed_view(&changed))
    }

    /// Only the policy's JSON syntax is checked (no IAM policy grammar here).
    fn validate_resource_policy(&self, input: ValidatePolicyInput) -> Output {
        let valid = matches!(
            serde_json::from_str::<Value>(&input.resource_policy),
            Ok(Value::Object(_))
        );
        if !valid {
            return Err(SecretsError::MalformedPolicy(
                "This resource policy contains a syntax error.".into(),
            ));
        }
        Ok(json!({ "PolicyValidationPassed": true, "ValidationErrors": [] }))
    }
}
