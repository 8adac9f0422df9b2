//! SSM Parameter Store actions (AWS JSON 1.1, `X-Amz-Target: AmazonSSM.*`).
//! <https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_Operations.html>

use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};
use time::OffsetDateTime;

use super::ignored_once;
use super::wire::{self, Input, JsonService};
use crate::domain::arn::arn;
use crate::domain::epoch_seconds;
use crate::domain::secretsmanager::SecretValue;
use crate::domain::ssm::{
    is_under, offset_page, validate_path, FilterContext, Parameter, ParameterType,
    ParameterVersion, PutRequest, Selector, SsmError, StringFilter, DEFAULT_DATA_TYPE,
};
use crate::domain::validation::constraint_violation;
use crate::domain::State;
use crate::protocol::json::JsonError;

/// GetParametersByPath page size by default and at most (AWS: 10).
const MAX_BY_PATH_RESULTS: i64 = 10;
/// DescribeParameters / GetParameterHistory page size at most (AWS: 50).
const MAX_DESCRIBE_RESULTS: i64 = 50;
/// DescribeParameters' page size without MaxResults (AWS: 10).
const DEFAULT_DESCRIBE_RESULTS: i64 = 10;
/// GetParameter reads Secrets Manager secrets under this path.
const SECRETS_REFERENCE_PREFIX: &str = "/aws/reference/secretsmanager/";
/// GetParameters / DeleteParameters take at most this many names (AWS: 10).
const MAX_NAMES: usize = 10;

type Output = Result<Value, SsmError>;

/// SSM Parameter Store's operations.
pub struct Ssm;

type Handler<'a> = wire::Handler<'a, Ssm>;

impl JsonService for Ssm {
    const VALIDATION_CODE: &'static str = "ValidationException";
    type Error = SsmError;

    fn dispatch(h: &Handler, op: &str, input: &Input) -> Result<Output, JsonError> {
        Ok(match op {
            "PutParameter" => h.put_parameter(input.decode()?),
            "GetParameter" => h.get_parameter(input.decode()?),
            "GetParameters" => h.get_parameters(input.decode()?),
            "GetParametersByPath" => h.get_parameters_by_path(input.decode()?),
            "DeleteParameter" => h.delete_parameter(input.decode()?),
            "DeleteParameters" => h.delete_parameters(input.decode()?),
            "DescribeParameters" => h.describe_parameters(input.decode()?),
            "GetParameterHistory" => h.get_parameter_history(input.decode()?),
            "LabelParameterVersion" => h.label_parameter_version(input.decode()?),
            "UnlabelParameterVersion" => h.unlabel_parameter_version(input.decode()?),
            "AddTagsToResource" => h.add_tags_to_resource(input.decode()?),
            "RemoveTagsFromResource" => h.remove_tags_from_resource(input.decode()?),
            "ListTagsForResource" => h.list_tags_for_resource(input.decode()?),
            other => return Err(JsonError::unknown_operation(other)),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Tag {
    key: String,
    value: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutParameterInput {
    name: String,
    value: String,
    #[serde(rename = "Type")]
    kind: Option<String>,
    key_id: Option<String>,
    description: Option<String>,
    #[serde(default)]
    overwrite: bool,
    allowed_pattern: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
    tier: Option<String>,
    policies: Option<String>,
    data_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParameterInput {
    name: String,
    #[serde(default)]
    with_decryption: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParametersInput {
    names: Vec<String>,
    #[serde(default)]
    with_decryption: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct StringFilterInput {
    key: String,
    option: Option<String>,
    #[serde(default)]
    values: Vec<String>,
}

impl From<StringFilterInput> for StringFilter {
    fn from(f: StringFilterInput) -> Self {
        StringFilter {
            key: f.key,
            option: f.option,
            values: f.values,
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetParametersByPathInput {
    path: String,
    #[serde(default)]
    recursive: bool,
    #[serde(default)]
    parameter_filters: Vec<StringFilterInput>,
    #[serde(default)]
    with_decryption: bool,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NameInput {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct NamesInput {
    names: Vec<String>,
}

/// The older `Filters` of DescribeParameters: Name, Type or KeyId, Equals.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ParametersFilterInput {
    key: String,
    values: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DescribeParametersInput {
    #[serde(default)]
    filters: Vec<ParametersFilterInput>,
    #[serde(default)]
    parameter_filters: Vec<StringFilterInput>,
    max_results: Option<i64>,
    next_token: Option<String>,
    #[serde(default)]
    shared: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct HistoryInput {
    name: String,
    #[serde(default)]
    with_decryption: bool,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LabelInput {
    name: String,
    parameter_version: Option<u64>,
    labels: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UnlabelInput {
    name: String,
    parameter_version: u64,
    labels: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AddTagsInput {
    resource_type: String,
    resource_id: String,
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RemoveTagsInput {
    resource_type: String,
    resource_id: String,
    tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsInput {
    resource_type: String,
    resource_id: String,
}

/// `MaxResults` in `1..=max`, `default` when absent.
fn max_results(value: Option<i64>, default: i64, max: i64) -> Result<usize, SsmError> {
    match value {
        None => Ok(default as usize),
        Some(n) if (1..=max).contains(&n) => Ok(n as usize),
        Some(n) => Err(SsmError::Validation(constraint_violation(
            &n.to_string(),
            "maxResults",
            &format!("Member must have value less than or equal to {max}"),
        ))),
    }
}

/// One page; the token is the offset of the next page.
fn paginate<T>(
    items: Vec<T>,
    limit: usize,
    token: Option<&str>,
) -> Result<(Vec<T>, Option<String>), SsmError> {
    offset_page(items, limit, token).ok_or(SsmError::InvalidNextToken)
}

/// `{"Parameters": [...], "NextToken"?}` for one page of `items`.
fn parameters_page(items: Vec<Value>, limit: usize, token: Option<&str>) -> Output {
    let (page, next) = paginate(items, limit, token)?;
    let mut out = json!({ "Parameters": page });
    if let Some(next) = next {
        out["NextToken"] = json!(next);
    }
    Ok(out)
}

fn check_names_count(names: &[String]) -> Result<(), SsmError> {
    if names.is_empty() || names.len() > MAX_NAMES {
        return Err(SsmError::Validation(constraint_violation(
            &format!("[{}]", names.join(", ")),
            "names",
            &format!("Member must have length between 1 and {MAX_NAMES}"),
        )));
    }
    Ok(())
}

fn tag_list(tags: &std::collections::BTreeMap<String, String>) -> Vec<Value> {
    tags.iter()
        .map(|(k, v)| json!({ "Key": k, "Value": v }))
        .collect()
}

impl Handler<'_> {
    /// `arn:aws:ssm:REGION:ACCOUNT:parameter/NAME`, the name's leading `/` dropped.
    fn parameter_arn(&self, name: &str) -> String {
        arn(
            "ssm",
            &self.ctx.region,
            self.api.account_id(),
            &format!("parameter/{}", name.trim_start_matches('/')),
        )
    }

    /// The caller as LastModifiedUser: credentials are not checked, so root.
    fn user_arn(&self) -> String {
        format!("arn:aws:iam::{}:root", self.api.account_id())
    }

    fn parameter_view(
        &self,
        parameter: &Parameter,
        version: &ParameterVersion,
        selector: Option<&Selector>,
        with_decryption: bool,
    ) -> Value {
        let mut view = json!({
            "Name": parameter.name,
            "Type": version.kind.as_str(),
            "Value": version.value_for(with_decryption),
            "Version": version.version,
            "LastModifiedDate": epoch_seconds::to_f64(version.last_modified),
            "ARN": self.parameter_arn(&parameter.name),
            "DataType": version.data_type,
        });
        if let Some(selector) = selector {
            view["Selector"] = json!(match selector {
                Selector::Version(v) => format!(":{v}"),
                Selector::Label(l) => format!(":{l}"),
            });
        }
        view
    }

    fn metadata_view(&self, parameter: &Parameter) -> Value {
        let latest = parameter.latest();
        let mut view = json!({
            "Name": parameter.name,
            "ARN": self.parameter_arn(&parameter.name),
            "Type": latest.kind.as_str(),
            "LastModifiedDate": epoch_seconds::to_f64(latest.last_modified),
            "LastModifiedUser": latest.last_modified_user,
            "Version": latest.version,
            "Tier": latest.tier.as_str(),
            "Policies": [],
            "DataType": latest.data_type,
        });
        put_common(&mut view, latest);
        view
    }

    fn put_parameter(&self, input: PutParameterInput) -> Output {
        if input.policies.is_some() {
            ignored_once("SSM PutParameter Policies");
        }
        let request = PutRequest {
            name: input.name,
            value: input.value,
            kind: input
                .kind
                .as_deref()
                .map(ParameterType::parse)
                .transpose()?,
            key_id: input.key_id,
            description: input.description,
            overwrite: input.overwrite,
            allowed_pattern: input.allowed_pattern,
            tags: input.tags.into_iter().map(|t| (t.key, t.value)).collect(),
            tier: input.tier,
            data_type: input.data_type,
        };
        let user = self.user_arn();
        let (version, tier) = self
            .api
            .store
            .write(|s| s.ssm.put(request, OffsetDateTime::now_utc(), &user))?;
        Ok(json!({ "Version": version, "Tier": tier.as_str() }))
    }

    /// `/aws/reference/secretsmanager/ID`: a Secrets Manager secret's
    /// current value read through Parameter Store.
    fn secret_reference(&self, state: &State, reference: &str, with_decryption: bool) -> Output {
        let secret_id = &reference[SECRETS_REFERENCE_PREFIX.len()..];
        if !with_decryption {
            return Err(SsmError::Validation(
                "WithDecryption flag must be True for retrieving a Secret Manager secret.".into(),
            ));
        }
        let secret = state
            .secretsmanager
            .find(secret_id, OffsetDateTime::now_utc())
            .filter(|secret| !secret.is_scheduled_for_deletion())
            .ok_or_else(|| SsmError::ParameterNotFound(String::new()))?;
        let version = secret
            .pick(None, None)
            .map_err(|_| SsmError::ParameterNotFound(String::new()))?;
        let value = match &version.value {
            SecretValue::String(s) => s.clone(),
            SecretValue::Binary(b) => base64::engine::general_purpose::STANDARD.encode(b),
        };
        let source = json!({
            "ARN": secret.arn,
            "Name": secret.name,
            "VersionId": version.id,
            "VersionStages": version.stages,
            "CreatedDate": epoch_seconds::to_f64(version.created),
        });
        Ok(json!({ "Parameter": {
            "Name": reference,
            "Type": ParameterType::SecureString.as_str(),
            "Value": value,
            "Version": 0,
            "SourceResult": source.to_string(),
            "LastModifiedDate": epoch_seconds::to_f64(version.created),
            "ARN": secret.arn,
            "DataType": DEFAULT_DATA_TYPE,
        }}))
    }

    fn get_parameter(&self, input: GetParameterInput) -> Output {
        self.api.store.read(|s| {
            if input.name.starts_with(SECRETS_REFERENCE_PREFIX) {
                return self.secret_reference(s, &input.name, input.with_decryption);
            }
            let (parameter, version, selector) = s.ssm.get(&input.name)?;
            Ok(json!({
                "Parameter": self.parameter_view(parameter, version, selector.as_ref(), input.with_decryption)
            }))
        })
    }

    fn get_parameters(&self, input: GetParametersInput) -> Output {
        check_names_count(&input.names)?;
        self.api.store.read(|s| {
            let mut found = Vec::new();
            let mut invalid = Vec::new();
            for name in &input.names {
                match s.ssm.get(name) {
                    Ok((p, v, sel)) => {
                        found.push(self.parameter_view(p, v, sel.as_ref(), input.with_decryption))
                    }
                    Err(SsmError::ParameterNotFound(_) | SsmError::VersionNotFound { .. }) => {
                        invalid.push(name.clone())
                    }
                    Err(e) => return Err(e),
                }
            }
            Ok(json!({ "Parameters": found, "InvalidParameters": invalid }))
        })
    }

    fn get_parameters_by_path(&self, input: GetParametersByPathInput) -> Output {
        validate_path(&input.path)?;
        let limit = max_results(input.max_results, MAX_BY_PATH_RESULTS, MAX_BY_PATH_RESULTS)?;
        let filters: Vec<StringFilter> = input
            .parameter_filters
            .into_iter()
            .map(StringFilter::from)
            .collect();
        for f in &filters {
            f.validate(FilterContext::ByPath)?;
        }
        let recursive = input.recursive;
        let path = input.path.as_str();
        let views: Vec<Value> = self.api.store.read(|s| {
            s.ssm
                .parameters
                .values()
                .filter(|p| {
                    is_under(&p.name, path, recursive) && filters.iter().all(|f| f.matches(p))
                })
                .map(|p| self.parameter_view(p, p.latest(), None, input.with_decryption))
                .collect()
        });
        parameters_page(views, limit, input.next_token.as_deref())
    }

    fn delete_parameter(&self, input: NameInput) -> Output {
        self.api.store.write(|s| s.ssm.delete(&input.name))?;
        Ok(json!({}))
    }

    fn delete_parameters(&self, input: NamesInput) -> Output {
        check_names_count(&input.names)?;
        let (deleted, invalid): (Vec<String>, Vec<String>) = self.api.store.write(|s| {
            input
                .names
                .iter()
                .cloned()
                .partition(|name| s.ssm.delete(name).is_ok())
        });
        Ok(json!({ "DeletedParameters": deleted, "InvalidParameters": invalid }))
    }

    fn describe_parameters(&self, input: DescribeParametersInput) -> Output {
        if !input.filters.is_empty() && !input.parameter_filters.is_empty() {
            return Err(SsmError::Validation(
                "You can use either Filters or ParameterFilters in a single request.".into(),
            ));
        }
        if input.shared {
            // Parameters are never shared through RAM here.
            return Ok(json!({ "Parameters": [] }));
        }
        let limit = max_results(
            input.max_results,
            DEFAULT_DESCRIBE_RESULTS,
            MAX_DESCRIBE_RESULTS,
        )?;
        let mut filters: Vec<StringFilter> = Vec::new();
        for f in input.filters {
            if !["Name", "Type", "KeyId"].contains(&f.key.as_str()) {
                return Err(SsmError::Validation(constraint_violation(
                    &f.key,
                    "filters.member.key",
                    "Member must satisfy enum value set: [Name, Type, KeyId]",
                )));
            }
            filters.push(StringFilter {
                key: f.key,
                option: None,
                values: f.values,
            });
        }
        filters.extend(input.parameter_filters.into_iter().map(StringFilter::from));
        for f in &filters {
            f.validate(FilterContext::Describe)?;
        }
        let views: Vec<Value> = self.api.store.read(|s| {
            s.ssm
                .parameters
                .values()
                .filter(|p| filters.iter().all(|f| f.matches(p)))
                .map(|p| self.metadata_view(p))
                .collect()
        });
        parameters_page(views, limit, input.next_token.as_deref())
    }

    fn get_parameter_history(&self, input: HistoryInput) -> Output {
        let limit = max_results(
            input.max_results,
            MAX_DESCRIBE_RESULTS,
            MAX_DESCRIBE_RESULTS,
        )?;
        let views: Vec<Value> = self.api.store.read(|s| {
            let parameter = s.ssm.find(&input.name).ok_or_else(|| {
                SsmError::ParameterNotFound(format!("Parameter {} not found.", input.name))
            })?;
            Ok::<_, SsmError>(
                parameter
                    .versions
                    .iter()
                    .map(|v| {
                        let mut view = json!({
                            "Name": parameter.name,
                            "Type": v.kind.as_str(),
                            "LastModifiedDate": epoch_seconds::to_f64(v.last_modified),
                            "LastModifiedUser": v.last_modified_user,
                            "Value": v.value_for(input.with_decryption),
                            "Version": v.version,
                            "Labels": v.labels,
                            "Tier": v.tier.as_str(),
                            "Policies": [],
                            "DataType": v.data_type,
                        });
                        put_common(&mut view, v);
                        view
                    })
                    .collect(),
            )
        })?;
        parameters_page(views, limit, input.next_token.as_deref())
    }

    fn label_parameter_version(&self, input: LabelInput) -> Output {
        check_labels_count(&input.labels)?;
        let (invalid, version) = self.api.store.write(|s| {
            s.ssm
                .label(&input.name, input.parameter_version, &input.labels)
        })?;
        Ok(json!({ "InvalidLabels": invalid, "ParameterVersion": version }))
    }

    fn unlabel_parameter_version(&self, input: UnlabelInput) -> Output {
        check_labels_count(&input.labels)?;
        let (removed, invalid) = self.api.store.write(|s| {
            s.ssm
                .unlabel(&input.name, input.parameter_version, &input.labels)
        })?;
        Ok(json!({ "RemovedLabels": removed, "InvalidLabels": invalid }))
    }

    fn add_tags_to_resource(&self, input: AddTagsInput) -> Output {
        let tags: Vec<(String, String)> =
            input.tags.into_iter().map(|t| (t.key, t.value)).collect();
        self.api.store.write(|s| {
            s.ssm
                .add_tags(&input.resource_type, &input.resource_id, &tags)
        })?;
        Ok(json!({}))
    }

    fn remove_tags_from_resource(&self, input: RemoveTagsInput) -> Output {
        self.api.store.write(|s| {
            s.ssm
                .remove_tags(&input.resource_type, &input.resource_id, &input.tag_keys)
        })?;
        Ok(json!({}))
    }

    fn list_tags_for_resource(&self, input: ListTagsInput) -> Output {
        self.api.store.read(|s| {
            let tags = s.ssm.tags(&input.resource_type, &input.resource_id)?;
            Ok(json!({ "TagList": tag_list(tags) }))
        })
    }
}

/// Members DescribeParameters and GetParameterHistory carry only when set.
fn put_common(view: &mut Value, version: &ParameterVersion) {
    if let Some(key) = &version.key_id {
        view["KeyId"] = json!(key);
    }
    if let Some(description) = &version.description {
        view["Description"] = json!(description);
    }
    if let Some(pattern) = &version.allowed_pattern {
        view["AllowedPattern"] = json!(pattern);
    }
}

/// Label and Unlabel take 1 to 10 labels.
fn check_labels_count(labels: &[String]) -> Result<(), SsmError> {
    if labels.is_empty() || labels.len() > crate::domain::ssm::MAX_LABELS_PER_VERSION {
        return Err(SsmError::Validation(constraint_violation(
            &format!("[{}]", labels.join(", ")),
            "labels",
            "Member must have length between 1 and 10",
        )));
    }
    Ok(())
}
