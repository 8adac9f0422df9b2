//! Managed policies: customer-managed ones with versions, and the
//! AWS-managed ones of the built-in table.

use crate::domain::iam::{validate, IamError, NewPolicy, PolicyScope};
use crate::protocol::query::{Params, QueryError};

use super::encode::{self, Detail};
use super::{
    empty, page, path_prefix, policy_arn, tag_resource, tags, tags_output, truncation,
    untag_resource, Cx, Output, Result,
};

/// A `VersionId` parameter: `v` and a number, optionally `.suffix`.
fn version_id(p: &Params) -> Result<&str> {
    let id = p.required("VersionId")?;
    let number = id
        .strip_prefix('v')
        .map(|rest| rest.split('.').next().unwrap_or(""));
    let valid = number.is_some_and(|n| {
        !n.is_empty() && !n.starts_with('0') && n.bytes().all(|b| b.is_ascii_digit())
    });
    if !valid {
        return Err(IamError::constraint(
            "versionId",
            id,
            r"Member must satisfy regular expression pattern: v[1-9][0-9]*(\.[A-Za-z0-9-]*)?",
        )
        .into());
    }
    Ok(id)
}

pub fn create(cx: &Cx, p: &Params) -> Result<Output> {
    let new = NewPolicy {
        name: p.required("PolicyName")?.into(),
        path: p.get("Path").map(String::from),
        document: p.required("PolicyDocument")?.into(),
        description: p.get("Description").map(String::from),
        tags: tags(p)?,
    };
    let view = cx.write(|s| s.create_policy(cx.account(), new, cx.now))?;
    Ok(Box::new(move |w| {
        w.element("Policy", |w| encode::policy(w, &view, Detail::Full));
    }))
}

pub fn get(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = policy_arn(p)?;
    let view = cx.read(|s| s.policy(arn))?;
    Ok(Box::new(move |w| {
        w.element("Policy", |w| encode::policy(w, &view, Detail::Full));
    }))
}

pub fn delete(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = policy_arn(p)?;
    cx.write(|s| s.delete_policy(arn))?;
    Ok(empty())
}

fn scope(p: &Params) -> Result<PolicyScope> {
    match p.get("Scope") {
        None | Some("All") => Ok(PolicyScope::All),
        Some("AWS") => Ok(PolicyScope::Aws),
        Some("Local") => Ok(PolicyScope::Local),
        Some(other) => Err(IamError::constraint(
            "scope",
            other,
            "Member must satisfy enum value set: [All, AWS, Local]",
        )
        .into()),
    }
}

pub fn list(cx: &Cx, p: &Params) -> Result<Output> {
    let scope = scope(p)?;
    let only_attached = p.boolean("OnlyAttached")?.unwrap_or(false);
    let prefix = path_prefix(p)?;
    match p.get("PolicyUsageFilter") {
        None => {}
        Some("PermissionsPolicy" | "PermissionsBoundary") => {
            cx.ignored(p, "ListPolicies", "PolicyUsageFilter")
        }
        Some(other) => {
            return Err(IamError::constraint(
                "policyUsageFilter",
                other,
                "Member must satisfy enum value set: [PermissionsPolicy, PermissionsBoundary]",
            )
            .into())
        }
    }
    let views = cx.read(|s| s.list_policies(scope, only_attached, &prefix));
    let page = page(views, p)?;
    Ok(Box::new(move |w| {
        w.members("Policies", &page.items, |w, v| {
            encode::policy(w, v, Detail::Summary)
        });
        truncation(w, &page.next);
    }))
}

pub fn create_version(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = policy_arn(p)?;
    let document = p.required("PolicyDocument")?.to_string();
    let set_as_default = p.boolean("SetAsDefault")?.unwrap_or(false);
    let id = cx.write(|s| s.create_policy_version(arn, document, set_as_default, cx.now))?;
    let now = cx.now;
    Ok(Box::new(move |w| {
        w.element("PolicyVersion", |w| {
            w.text("VersionId", id)
                .text("IsDefaultVersion", set_as_default)
                .timestamp("CreateDate", now);
        });
    }))
}

pub fn get_version(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = policy_arn(p)?;
    let id = version_id(p)?.to_string();
    let (document, default, date) = cx.read(|s| s.policy_version(arn, &id))?;
    Ok(Box::new(move |w| {
        w.element("PolicyVersion", |w| {
            w.text("Document", validate::url_encode(&document))
                .text("VersionId", id)
                .text("IsDefaultVersion", default)
                .timestamp("CreateDate", date);
        });
    }))
}

pub fn list_versions(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = policy_arn(p)?;
    let versions = cx.read(|s| s.policy_versions(arn))?;
    let page = page(versions, p)?;
    Ok(Box::new(move |w| {
        w.members("Versions", &page.items, |w, (id, default, date)| {
            w.text("VersionId", id)
                .text("IsDefaultVersion", default)
                .timestamp("CreateDate", *date);
        });
        truncation(w, &page.next);
    }))
}

pub fn delete_version(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = policy_arn(p)?;
    let id = version_id(p)?;
    cx.write(|s| s.delete_policy_version(arn, id))?;
    Ok(empty())
}

pub fn set_default_version(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = policy_arn(p)?;
    let id = version_id(p)?;
    cx.write(|s| s.set_default_policy_version(arn, id, cx.now))?;
    Ok(empty())
}

pub fn tag(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = policy_arn(p)?;
    tag_resource(cx, p, arn, "Policy", |s, id| {
        s.customer_policy_mut(id).map(|p| &mut p.tags)
    })
}

pub fn untag(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = policy_arn(p)?;
    untag_resource(cx, p, arn, |s, id| {
        s.customer_policy_mut(id).map(|p| &mut p.tags)
    })
}

pub fn list_tags(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = policy_arn(p)?;
    let tags = cx.read(|s| s.policy(arn).map(|v| v.tags))?;
    tags_output(tags, p)
}

/// Roles only: the emulator has no users or groups, so those lists are
/// always empty.
pub fn list_entities(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = policy_arn(p)?;
    match p.get("EntityFilter") {
        None | Some("Role") | Some("User") | Some("Group") | Some("LocalManagedPolicy") | Some("AWSManagedPolicy") => {}
        Some(other) => {
            return Err(QueryError::from(IamError::constraint(
                "entityFilter",
                other,
                "Member must satisfy enum value set: [User, Role, LocalManagedPolicy, Group, AWSManagedPolicy]",
            )))
        }
    }
    let roles_wanted = matches!(p.get("EntityFilter"), None | Some("Role"));
    let prefix = path_prefix(p)?;
    let roles = cx.read(|s| {
        s.roles_with_policy(arn).map(|roles| {
            roles
                .into_iter()
                .filter(|(name, _)| s.role(name).is_ok_and(|r| r.path.starts_with(&prefix)))
                .collect::<Vec<_>>()
        })
    })?;
    let roles = if roles_wanted { roles } else { Vec::new() };
    let page = page(roles, p)?;
    Ok(Box::new(move |w| {
        w.members("PolicyGroups", Vec::<()>::new(), |_, _| {});
        w.members("PolicyUsers", Vec::<()>::new(), |_, _| {});
        w.members("PolicyRoles", &page.items, |w, (name, id)| {
            w.text("RoleName", name).text("RoleId", id);
        });
        truncation(w, &page.next);
    }))
}
