//! Account settings: PutAccountSetting(Default), DeleteAccountSetting,
//! ListAccountSettings.

use serde::Deserialize;
use serde_json::json;

use super::{paginate, Handler, Output, PageInput};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct PutAccountSettingInput {
    name: String,
    value: String,
    principal_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct DeleteAccountSettingInput {
    name: String,
    principal_arn: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct ListAccountSettingsInput {
    name: Option<String>,
    value: Option<String>,
    principal_arn: Option<String>,
    #[serde(default)]
    effective_settings: bool,
    #[serde(flatten)]
    page: PageInput,
}

impl Handler<'_> {
    /// `account_default`: PutAccountSettingDefault, which sets the value for
    /// the whole account (stored under the root principal).
    pub(super) fn put_account_setting(
        &self,
        input: PutAccountSettingInput,
        account_default: bool,
    ) -> Output {
        let root = self.root_principal();
        let principal = match (account_default, input.principal_arn) {
            (false, Some(p)) => p,
            _ => root,
        };
        self.api.store.write(|s| {
            let setting = s
                .ecs
                .account_settings
                .put(&principal, &input.name, &input.value)?;
            Ok(json!({ "setting": setting }))
        })
    }

    pub(super) fn delete_account_setting(&self, input: DeleteAccountSettingInput) -> Output {
        let principal = input.principal_arn.unwrap_or_else(|| self.root_principal());
        self.api.store.write(|s| {
            let removed = s.ecs.account_settings.delete(&principal, &input.name)?;
            // Deleting a value that was never set still answers the setting
            // it would have removed, as AWS does.
            let setting = removed.map_or_else(
                || json!({ "name": input.name, "principalArn": principal, "type": "user" }),
                |setting| json!(setting),
            );
            Ok(json!({ "setting": setting }))
        })
    }

    pub(super) fn list_account_settings(&self, input: ListAccountSettingsInput) -> Output {
        let root = self.root_principal();
        let principal = input.principal_arn.unwrap_or_else(|| root.clone());
        let settings = self.api.store.read(|s| {
            s.ecs
                .account_settings
                .list(&principal, &root, input.effective_settings)
        });
        let settings: Vec<_> = settings
            .into_iter()
            .filter(|s| input.name.as_ref().is_none_or(|n| &s.name == n))
            .filter(|s| input.value.as_ref().is_none_or(|v| &s.value == v))
            .collect();
        let (page, next) = paginate(settings, &input.page)?;
        Ok(json!({ "settings": page, "nextToken": next }))
    }
}
