//! Roles, their inline policies and their attached managed policies.

use crate::domain::iam::{validate, IamError, NewRole, Role};
use crate::protocol::query::Params;

use super::encode::{self, Detail};
use super::{
    empty, page, path_prefix, policy_arn, role_name, tag_resource, tags, tags_output, truncation,
    untag_resource, Cx, Output, Result,
};

/// `<Role>` with every member.
fn full_role(role: Role) -> Output {
    Box::new(move |w| {
        w.element("Role", |w| encode::role(w, &role, Detail::Full));
    })
}

/// A role, written in full after `f` changed it.
fn role_output(
    cx: &Cx,
    name: &str,
    f: impl FnOnce(&mut crate::domain::iam::IamState) -> Result<(), IamError>,
) -> Result<Output> {
    let role = cx.write(|s| {
        f(s)?;
        s.role(name).cloned()
    })?;
    Ok(full_role(role))
}

pub fn create(cx: &Cx, p: &Params) -> Result<Output> {
    let new = NewRole {
        name: p.required("RoleName")?.into(),
        path: p.get("Path").map(String::from),
        assume_role_policy: p.required("AssumeRolePolicyDocument")?.into(),
        description: p.get("Description").map(String::from),
        max_session_duration: p.integer("MaxSessionDuration")?,
        permissions_boundary: p.get("PermissionsBoundary").map(String::from),
        tags: tags(p)?,
    };
    let name = new.name.clone();
    role_output(cx, &name, |s| {
        s.create_role(cx.account(), new, cx.now).map(|_| ())
    })
}

pub fn get(cx: &Cx, p: &Params) -> Result<Output> {
    let name = role_name(p)?;
    let role = cx.read(|s| s.role(name).cloned())?;
    Ok(full_role(role))
}

pub fn list(cx: &Cx, p: &Params) -> Result<Output> {
    let prefix = path_prefix(p)?;
    let roles = cx.read(|s| s.roles_under(&prefix).into_iter().cloned().collect());
    let page = page(roles, p)?;
    Ok(Box::new(move |w| {
        w.members("Roles", &page.items, |w, r| {
            encode::role(w, r, Detail::Summary)
        });
        truncation(w, &page.next);
    }))
}

fn description(p: &Params) -> Result<Option<String>> {
    let d = p.get("Description");
    if let Some(d) = d {
        validate::length("description", d, 0, validate::DESCRIPTION_MAX)?;
    }
    Ok(d.map(String::from))
}

pub fn update(cx: &Cx, p: &Params) -> Result<Output> {
    let name = role_name(p)?;
    let description = description(p)?;
    let duration = p
        .integer::<i64>("MaxSessionDuration")?
        .map(crate::domain::iam::roles::max_session_duration)
        .transpose()?;
    cx.write(|s| {
        let role = s.modifiable_role(name)?;
        if let Some(d) = description {
            role.description = Some(d);
        }
        if let Some(d) = duration {
            role.max_session_duration = d;
        }
        Ok::<_, IamError>(())
    })?;
    Ok(empty())
}

pub fn update_description(cx: &Cx, p: &Params) -> Result<Output> {
    let name = role_name(p)?;
    let description = description(p)?.unwrap_or_default();
    role_output(cx, name, |s| {
        s.modifiable_role(name)?.description = Some(description);
        Ok(())
    })
}

pub fn update_assume_role_policy(cx: &Cx, p: &Params) -> Result<Output> {
    let name = role_name(p)?;
    let document = p.required("PolicyDocument")?;
    validate::policy_document("policyDocument", document)?;
    cx.write(|s| {
        s.modifiable_role(name)?.assume_role_policy = document.into();
        Ok::<_, IamError>(())
    })?;
    Ok(empty())
}

pub fn delete(cx: &Cx, p: &Params) -> Result<Output> {
    let name = role_name(p)?;
    cx.write(|s| s.delete_role(name))?;
    Ok(empty())
}

pub fn tag(cx: &Cx, p: &Params) -> Result<Output> {
    let name = role_name(p)?;
    tag_resource(cx, p, name, "Role", |s, id| {
        s.role_mut(id).map(|r| &mut r.tags)
    })
}

pub fn untag(cx: &Cx, p: &Params) -> Result<Output> {
    let name = role_name(p)?;
    untag_resource(cx, p, name, |s, id| s.role_mut(id).map(|r| &mut r.tags))
}

pub fn list_tags(cx: &Cx, p: &Params) -> Result<Output> {
    let name = role_name(p)?;
    let tags = cx.read(|s| s.role(name).map(|r| r.tags.clone()))?;
    tags_output(tags, p)
}

pub fn create_service_linked(cx: &Cx, p: &Params) -> Result<Output> {
    let service = p.required("AWSServiceName")?;
    let description = description(p)?;
    let suffix = p.get("CustomSuffix");
    let role = cx.write(|s| {
        s.create_service_linked_role(cx.account(), service, description, suffix, cx.now)
            .cloned()
    })?;
    Ok(full_role(role))
}

pub fn delete_service_linked(cx: &Cx, p: &Params) -> Result<Output> {
    let name = role_name(p)?;
    let task = cx.write(|s| s.delete_service_linked_role(name))?;
    Ok(Box::new(move |w| {
        w.text("DeletionTaskId", &task);
    }))
}

/// Deletion finishes at once, so every known task has succeeded.
pub fn deletion_status(cx: &Cx, p: &Params) -> Result<Output> {
    let task = p.required("DeletionTaskId")?.to_string();
    if !cx.read(|s| s.deletion_tasks.contains(&task)) {
        return Err(
            IamError::NoSuchEntity(format!("Deletion task {task} cannot be found.")).into(),
        );
    }
    Ok(Box::new(|w| {
        w.text("Status", "SUCCEEDED");
    }))
}

/// A `PolicyName` parameter, validated.
fn policy_name(p: &Params) -> Result<&str> {
    let name = p.required("PolicyName")?;
    validate::name("policyName", name, validate::POLICY_NAME_MAX)?;
    Ok(name)
}

pub fn put_policy(cx: &Cx, p: &Params) -> Result<Output> {
    let role = role_name(p)?;
    let policy = policy_name(p)?;
    let document = p.required("PolicyDocument")?.to_string();
    cx.write(|s| s.put_role_policy(role, policy, document))?;
    Ok(empty())
}

pub fn get_policy(cx: &Cx, p: &Params) -> Result<Output> {
    let role = role_name(p)?;
    let policy = policy_name(p)?.to_string();
    let (role, document) = cx.read(|s| {
        s.role_policy(role, &policy)
            .map(|(r, d)| (r.name.clone(), d.clone()))
    })?;
    Ok(Box::new(move |w| {
        w.text("RoleName", role)
            .text("PolicyName", policy)
            .text("PolicyDocument", validate::url_encode(&document));
    }))
}

pub fn list_policies(cx: &Cx, p: &Params) -> Result<Output> {
    let role = role_name(p)?;
    let names: Vec<String> = cx.read(|s| {
        s.role(role)
            .map(|r| r.inline_policies.keys().cloned().collect())
    })?;
    let page = page(names, p)?;
    Ok(Box::new(move |w| {
        w.string_members("PolicyNames", &page.items);
        truncation(w, &page.next);
    }))
}

pub fn delete_policy(cx: &Cx, p: &Params) -> Result<Output> {
    let role = role_name(p)?;
    let policy = policy_name(p)?;
    cx.write(|s| s.delete_role_policy(role, policy))?;
    Ok(empty())
}

pub fn attach_policy(cx: &Cx, p: &Params) -> Result<Output> {
    let role = role_name(p)?;
    let arn = policy_arn(p)?;
    let unlisted = cx.write(|s| s.attach_role_policy(cx.account(), role, arn, cx.now))?;
    if unlisted {
        crate::api::log_once(arn, || {
            tracing::info!(policy_arn = %arn, "IAM: AWS-managed policy not in the emulator's table; its document is unknown and reads as an empty Statement list");
        });
    }
    Ok(empty())
}

pub fn detach_policy(cx: &Cx, p: &Params) -> Result<Output> {
    let role = role_name(p)?;
    let arn = policy_arn(p)?;
    cx.write(|s| s.detach_role_policy(role, arn))?;
    Ok(empty())
}

pub fn list_attached(cx: &Cx, p: &Params) -> Result<Output> {
    let role = role_name(p)?;
    let prefix = path_prefix(p)?;
    let attached: Vec<(String, String)> = cx.read(|s| {
        s.role(role).map(|r| {
            r.attached
                .iter()
                .filter_map(|arn| {
                    let view = s.policy(arn).ok()?;
                    view.path
                        .starts_with(&prefix)
                        .then(|| (view.name, arn.clone()))
                })
                .collect()
        })
    })?;
    let page = page(attached, p)?;
    Ok(Box::new(move |w| {
        w.members("AttachedPolicies", &page.items, |w, (name, arn)| {
            w.text("PolicyName", name).text("PolicyArn", arn);
        });
        truncation(w, &page.next);
    }))
}

pub fn put_boundary(cx: &Cx, p: &Params) -> Result<Output> {
    let role = role_name(p)?;
    let arn = p.required("PermissionsBoundary")?;
    validate::length(
        "permissionsBoundary",
        arn,
        validate::ARN_MIN,
        validate::ARN_MAX,
    )?;
    cx.write(|s| s.set_role_boundary(cx.account(), role, Some(arn.into())))?;
    Ok(empty())
}

pub fn delete_boundary(cx: &Cx, p: &Params) -> Result<Output> {
    let role = role_name(p)?;
    cx.write(|s| s.set_role_boundary(cx.account(), role, None))?;
    Ok(empty())
}
