//! DescribeParameters' and GetParametersByPath's `ParameterFilters`:
//! checking a filter, and matching a parameter against it.

use super::names::{is_under, validate_path, with_slash};
use super::{FilterContext, Parameter, ParameterType, SsmError, StringFilter};

impl StringFilter {
    /// Rejects keys, options and values AWS rejects for `context`.
    pub fn validate(&self, context: FilterContext) -> Result<(), SsmError> {
        let key = self.key.as_str();
        let known = match context {
            FilterContext::ByPath => ["Type", "KeyId", "Label"].contains(&key),
            FilterContext::Describe => {
                ["Name", "Type", "KeyId", "Path", "Tier", "DataType"].contains(&key)
                    || key.starts_with("tag:")
            }
        };
        if !known {
            let valid = match context {
                FilterContext::ByPath => "[Type, KeyId, Label]",
                FilterContext::Describe => "[Name, Type, KeyId, Path, Tier, DataType, tag:KEY]",
            };
            return Err(SsmError::InvalidFilterKey(format!(
                "The following filter key is not valid: {key}. Valid filter keys include: {valid}."
            )));
        }
        let options: &[&str] = match key {
            "Name" => &["Equals", "BeginsWith", "Contains"],
            "Path" => &["OneLevel", "Recursive"],
            "Label" | "KeyId" | "Type" | "Tier" | "DataType" => &["Equals", "BeginsWith"],
            _ => &["Equals"],
        };
        if let Some(option) = &self.option {
            if !options.contains(&option.as_str()) {
                return Err(SsmError::InvalidFilterOption(format!(
                    "The following filter option is not valid: {option}. Valid options include: [{}].",
                    options.join(", ")
                )));
            }
        }
        if self.values.is_empty() && !key.starts_with("tag:") {
            return Err(SsmError::InvalidFilterValue(format!(
                "The following filter values are missing : null for filter key {key}."
            )));
        }
        if key == "Type" {
            if let Some(bad) = self
                .values
                .iter()
                .find(|v| ParameterType::parse(v).is_err())
            {
                return Err(SsmError::InvalidFilterValue(format!(
                    "The following filter value is not valid: {bad}. Valid values include: [String, StringList, SecureString]."
                )));
            }
        }
        if key == "Path" {
            for value in &self.values {
                validate_path(value)?;
            }
        }
        Ok(())
    }

    /// Whether the parameter (at its latest version, or any version for
    /// labels) passes this filter.
    pub fn matches(&self, parameter: &Parameter) -> bool {
        let latest = parameter.latest();
        let option = self.option.as_deref().unwrap_or(match self.key.as_str() {
            "Path" => "OneLevel",
            _ => "Equals",
        });
        let compare = |actual: &str, wanted: &str| match option {
            "BeginsWith" => actual.starts_with(wanted),
            "Contains" => actual.contains(wanted),
            _ => actual == wanted,
        };
        let any = |actual: &str| self.values.iter().any(|v| compare(actual, v));
        match self.key.as_str() {
            // Names compare with a leading `/`, so `foo` finds `/foo` and `foo`.
            "Name" => {
                let name = with_slash(&parameter.name);
                self.values
                    .iter()
                    .any(|v| compare(&name, &with_slash(v)) || compare(&parameter.name, v))
            }
            "Type" => any(latest.kind.as_str()),
            "KeyId" => latest.key_id.as_deref().is_some_and(any),
            "Tier" => any(latest.tier.as_str()),
            "DataType" => any(&latest.data_type),
            "Label" => parameter
                .versions
                .iter()
                .any(|v| v.labels.iter().any(|l| any(l))),
            "Path" => self
                .values
                .iter()
                .any(|path| is_under(&parameter.name, path, option == "Recursive")),
            tag => {
                let tag_key = tag.trim_start_matches("tag:");
                parameter
                    .tags
                    .get(tag_key)
                    .is_some_and(|value| self.values.is_empty() || self.values.contains(value))
            }
        }
    }
}
