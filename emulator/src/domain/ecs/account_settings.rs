//! ECS account settings (PutAccountSetting and friends): a value per
//! setting name for the account default and for each principal. Only
//! `containerInsights` changes anything here: it is the default of new
//! clusters' `containerInsights` setting, as on AWS.
//! <https://docs.aws.amazon.com/AmazonECS/latest/developerguide/ecs-account-settings.html>

use crate::domain::persist::field;
use borsh::{BorshDeserialize, BorshSerialize};

use std::collections::BTreeMap;

use serde::Serialize;

use super::validate::EcsError;

/// Every setting name with the values it takes and the value an account
/// starts with (AWS's defaults for accounts created today).
const SETTINGS: &[(&str, &[&str], &str)] = &[
    ("serviceLongArnFormat", &["enabled", "disabled"], "enabled"),
    ("taskLongArnFormat", &["enabled", "disabled"], "enabled"),
    (
        "containerInstanceLongArnFormat",
        &["enabled", "disabled"],
        "enabled",
    ),
    ("awsvpcTrunking", &["enabled", "disabled"], "disabled"),
    (
        "containerInsights",
        &["enhanced", "enabled", "disabled"],
        "disabled",
    ),
    ("fargateFIPSMode", &["enabled", "disabled"], "disabled"),
    ("tagResourceAuthorization", &["on", "off"], "on"),
    ("fargateTaskRetirementWaitPeriod", &["0", "7", "14"], "7"),
    ("guardDutyActivate", &["on", "off"], "off"),
    (
        "defaultLogDriverMode",
        &["blocking", "non-blocking"],
        "non-blocking",
    ),
    ("fargateEventWindows", &["enabled", "disabled"], "disabled"),
];

/// One setting as the API shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, BorshSerialize, BorshDeserialize)]
#[serde(rename_all = "camelCase")]
pub struct Setting {
    pub name: String,
    pub value: String,
    pub principal_arn: String,
    /// `user` when set through the API, `aws_managed` for AWS's defaults.
    #[serde(rename = "type")]
    #[borsh(serialize_with = "field::write", deserialize_with = "field::read")]
    pub kind: &'static str,
}

/// Values set through the API, by principal ARN then setting name. The
/// account's own default is stored under its root ARN.
#[derive(Debug, Default, BorshSerialize, BorshDeserialize)]
pub struct AccountSettings {
    values: BTreeMap<String, BTreeMap<String, String>>,
}

/// The values a setting name takes, or the error for an unknown name.
fn allowed_values(name: &str) -> Result<&'static [&'static str], EcsError> {
    SETTINGS
        .iter()
        .find(|(n, _, _)| *n == name)
        .map(|(_, allowed, _)| *allowed)
        .ok_or_else(|| {
            EcsError::InvalidParameter(format!(
                "Invalid setting name '{name}'. Valid names are: {}.",
                SETTINGS
                    .iter()
                    .map(|(n, _, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })
}

/// Checks a setting name and value pair.
pub fn check(name: &str, value: &str) -> Result<(), EcsError> {
    let allowed = allowed_values(name)?;
    if !allowed.contains(&value) {
        return Err(EcsError::InvalidParameter(format!(
            "Invalid value '{value}' for setting '{name}'. Valid values are: {}.",
            allowed.join(", ")
        )));
    }
    Ok(())
}

impl AccountSettings {
    /// Sets `name` for `principal` (the root ARN for the account default).
    pub fn put(&mut self, principal: &str, name: &str, value: &str) -> Result<Setting, EcsError> {
        check(name, value)?;
        self.values
            .entry(principal.to_string())
            .or_default()
            .insert(name.to_string(), value.to_string());
        Ok(user_setting(principal, name, value))
    }

    /// Removes a principal's own value; `None` if it had none.
    pub fn delete(&mut self, principal: &str, name: &str) -> Result<Option<Setting>, EcsError> {
        allowed_values(name)?;
        Ok(self
            .values
            .get_mut(principal)
            .and_then(|m| m.remove(name))
            .map(|value| user_setting(principal, name, &value)))
    }

    /// The settings `principal` sees. With `effective`, every name: its own
    /// value, else the account default, else AWS's; without, only the
    /// values set for that principal.
    pub fn list(&self, principal: &str, root: &str, effective: bool) -> Vec<Setting> {
        let own = self.values.get(principal);
        if !effective {
            return own
                .into_iter()
                .flatten()
                .map(|(n, v)| user_setting(principal, n, v))
                .collect();
        }
        SETTINGS
            .iter()
            .map(|(name, _, default)| {
                let set = own
                    .and_then(|m| m.get(*name))
                    .map(|v| (v.as_str(), principal))
                    .or_else(|| {
                        self.values
                            .get(root)
                            .and_then(|m| m.get(*name))
                            .map(|v| (v.as_str(), root))
                    });
                match set {
                    Some((value, owner)) => user_setting(owner, name, value),
                    None => Setting {
                        name: name.to_string(),
                        value: default.to_string(),
                        principal_arn: root.to_string(),
                        kind: "aws_managed",
                    },
                }
            })
            .collect()
    }

    /// The effective value of `name` for `principal`.
    pub fn effective(&self, principal: &str, root: &str, name: &str) -> Option<String> {
        self.list(principal, root, true)
            .into_iter()
            .find(|s| s.name == name)
            .map(|s| s.value)
    }
}

fn user_setting(principal: &str, name: &str, value: &str) -> Setting {
    Setting {
        name: name.to_string(),
        value: value.to_string(),
        principal_arn: principal.to_string(),
        kind: "user",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ROOT: &str = "arn:aws:iam::000000000000:root";
    const USER: &str = "arn:aws:iam::000000000000:user/dev";

    #[test]
    fn values_are_checked() {
        assert!(check("containerInsights", "enhanced").is_ok());
        assert!(check("containerInsights", "on").is_err());
        assert!(check("noSuchSetting", "enabled").is_err());
        assert!(check("fargateTaskRetirementWaitPeriod", "14").is_ok());
    }

    #[test]
    fn principal_then_account_then_aws_default() {
        let mut s = AccountSettings::default();
        assert_eq!(
            s.effective(USER, ROOT, "containerInsights").unwrap(),
            "disabled"
        );
        s.put(ROOT, "containerInsights", "enabled").unwrap();
        assert_eq!(
            s.effective(USER, ROOT, "containerInsights").unwrap(),
            "enabled"
        );
        s.put(USER, "containerInsights", "enhanced").unwrap();
        assert_eq!(
            s.effective(USER, ROOT, "containerInsights").unwrap(),
            "enhanced"
        );
        assert_eq!(s.list(USER, ROOT, false).len(), 1);
        assert_eq!(s.list(USER, ROOT, true).len(), SETTINGS.len());
        let deleted = s.delete(USER, "containerInsights").unwrap().unwrap();
        assert_eq!(deleted.value, "enhanced");
        assert!(s.delete(USER, "containerInsights").unwrap().is_none());
        assert_eq!(
            s.effective(USER, ROOT, "containerInsights").unwrap(),
            "enabled"
        );
    }
}
