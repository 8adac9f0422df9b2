//! IAM actions (AWS Query protocol).
//!
//! Each handler decodes its [`Params`], applies the pure rules of
//! `domain::iam` in one short store access, and returns an `Output` that
//! writes the members of `<OpResult>`. Domain errors become the XML
//! `<ErrorResponse>` through the one `From<IamError>` impl below.

mod encode;
mod instance_profiles;
mod policies;
mod roles;

use axum::response::Response;
use time::OffsetDateTime;

use super::{Api, RequestContext};
use crate::domain::iam::{merge_tags, remove_tags, validate, IamError, IamState, Tags};
use crate::protocol::query::{self, Params, QueryError, XmlWriter, IAM};

/// Writes the members of `<OpResult>` for a successful request.
use crate::protocol::query::Output;
type Result<T, E = QueryError> = std::result::Result<T, E>;

/// The default of `MaxItems` in the List calls.
const MAX_ITEMS_DEFAULT: i64 = 100;
/// The range of `MaxItems`.
const MAX_ITEMS_MIN: i64 = 1;
const MAX_ITEMS_MAX: i64 = 1000;

/// Path prefixes are 1-512 characters.
const PATH_PREFIX_MAX: usize = 512;

/// What a handler needs besides its parameters.
struct Cx<'a> {
    api: &'a Api,
    now: OffsetDateTime,
}

impl Cx<'_> {
    fn account(&self) -> &str {
        self.api.account_id()
    }

    fn read<R>(&self, f: impl FnOnce(&IamState) -> R) -> R {
        self.api.store.read(|s| f(&s.iam))
    }

    fn write<R>(&self, f: impl FnOnce(&mut IamState) -> R) -> R {
        self.api.store.write(|s| f(&mut s.iam))
    }

    /// Logs once that `field` of `action` is accepted and ignored.
    fn ignored(&self, p: &Params, action: &str, field: &str) {
        if p.has(field) {
            super::ignored_once(&format!("IAM {action} {field}"));
        }
    }
}

/// Handles one IAM request; `body` is the form-encoded Query body.
pub async fn handle(api: &Api, ctx: &RequestContext, body: &[u8]) -> Response {
    query::serve(&IAM, &ctx.request_id, body, |action, params| {
        let cx = Cx {
            api,
            now: OffsetDateTime::now_utc(),
        };
        dispatch(&cx, action, params)
    })
}

fn dispatch(cx: &Cx, action: &str, p: &Params) -> Result<Output> {
    match action {
        "CreateRole" => roles::create(cx, p),
        "GetRole" => roles::get(cx, p),
        "ListRoles" => roles::list(cx, p),
        "UpdateRole" => roles::update(cx, p),
        "UpdateRoleDescription" => roles::update_description(cx, p),
        "UpdateAssumeRolePolicy" => roles::update_assume_role_policy(cx, p),
        "DeleteRole" => roles::delete(cx, p),
        "TagRole" => roles::tag(cx, p),
        "UntagRole" => roles::untag(cx, p),
        "ListRoleTags" => roles::list_tags(cx, p),
        "CreateServiceLinkedRole" => roles::create_service_linked(cx, p),
        "DeleteServiceLinkedRole" => roles::delete_service_linked(cx, p),
        "GetServiceLinkedRoleDeletionStatus" => roles::deletion_status(cx, p),
        "PutRolePermissionsBoundary" => roles::put_boundary(cx, p),
        "DeleteRolePermissionsBoundary" => roles::delete_boundary(cx, p),
        "PutRolePolicy" => roles::put_policy(cx, p),
        "GetRolePolicy" => roles::get_policy(cx, p),
        "ListRolePolicies" => roles::list_policies(cx, p),
        "DeleteRolePolicy" => roles::delete_policy(cx, p),
        "AttachRolePolicy" => roles::attach_policy(cx, p),
        "DetachRolePolicy" => roles::detach_policy(cx, p),
        "ListAttachedRolePolicies" => roles::list_attached(cx, p),
        "CreatePolicy" => policies::create(cx, p),
        "GetPolicy" => policies::get(cx, p),
        "DeletePolicy" => policies::delete(cx, p),
        "ListPolicies" => policies::list(cx, p),
        "CreatePolicyVersion" => policies::create_version(cx, p),
        "GetPolicyVersion" => policies::get_version(cx, p),
        "ListPolicyVersions" => policies::list_versions(cx, p),
        "DeletePolicyVersion" => policies::delete_version(cx, p),
        "SetDefaultPolicyVersion" => policies::set_default_version(cx, p),
        "TagPolicy" => policies::tag(cx, p),
        "UntagPolicy" => policies::untag(cx, p),
        "ListPolicyTags" => policies::list_tags(cx, p),
        "ListEntitiesForPolicy" => policies::list_entities(cx, p),
        "CreateInstanceProfile" => instance_profiles::create(cx, p),
        "GetInstanceProfile" => instance_profiles::get(cx, p),
        "DeleteInstanceProfile" => instance_profiles::delete(cx, p),
        "AddRoleToInstanceProfile" => instance_profiles::add_role(cx, p),
        "RemoveRoleFromInstanceProfile" => instance_profiles::remove_role(cx, p),
        "ListInstanceProfiles" => instance_profiles::list(cx, p),
        "ListInstanceProfilesForRole" => instance_profiles::list_for_role(cx, p),
        "TagInstanceProfile" => instance_profiles::tag(cx, p),
        "UntagInstanceProfile" => instance_profiles::untag(cx, p),
        "ListInstanceProfileTags" => instance_profiles::list_tags(cx, p),
        other => Err(query::invalid_action(other)),
    }
}

/// An output with no members.
fn empty() -> Output {
    Box::new(|_| {})
}

/// One page of a List call: the items and the marker of the next page.
struct Page<T> {
    items: Vec<T>,
    next: Option<String>,
}

/// Applies `Marker` and `MaxItems` to a full, ordered list. The marker is
/// the offset of the next item.
fn page<T>(items: Vec<T>, p: &Params) -> Result<Page<T>> {
    let max = p.integer::<i64>("MaxItems")?.unwrap_or(MAX_ITEMS_DEFAULT);
    validate::range("maxItems", max, MAX_ITEMS_MIN, MAX_ITEMS_MAX)?;
    let start = match p.get("Marker") {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|s| *s <= items.len())
            .ok_or_else(|| IamError::InvalidInput(format!("Invalid Marker: {m}")))?,
    };
    let end = (start + max as usize).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    let items = items.into_iter().skip(start).take(end - start).collect();
    Ok(Page { items, next })
}

/// `IsTruncated`, and `Marker` when there is a next page.
fn truncation(w: &mut XmlWriter, next: &Option<String>) {
    w.text("IsTruncated", next.is_some())
        .opt_text("Marker", next.as_deref());
}

/// `Tags.member.N.Key/Value`.
fn tags(p: &Params) -> Result<Tags> {
    p.key_values("Tags")
}

/// `Tags.member.N` of a Tag* call: at least one.
fn required_tags(p: &Params) -> Result<Tags> {
    let tags = tags(p)?;
    if tags.is_empty() {
        return Err(QueryError::missing("Tags"));
    }
    Ok(tags)
}

/// Finds the tags of the resource a Tag* or Untag* request names.
type TagsOf = for<'a> fn(&'a mut IamState, &str) -> std::result::Result<&'a mut Tags, IamError>;

/// TagRole, TagPolicy, TagInstanceProfile: merges `Tags` into the tags of
/// the resource `id` names (a `kind`: `Role`, `Policy`, ...).
fn tag_resource(cx: &Cx, p: &Params, id: &str, kind: &str, tags_of: TagsOf) -> Result<Output> {
    let new = required_tags(p)?;
    cx.write(|s| merge_tags(tags_of(s, id)?, &new, kind))?;
    Ok(empty())
}

/// UntagRole, UntagPolicy, UntagInstanceProfile.
fn untag_resource(cx: &Cx, p: &Params, id: &str, tags_of: TagsOf) -> Result<Output> {
    let keys = tag_keys(p)?;
    cx.write(|s| {
        remove_tags(tags_of(s, id)?, &keys);
        Ok::<_, IamError>(())
    })?;
    Ok(empty())
}

/// `TagKeys.member.N` of an Untag* call: at least one.
fn tag_keys(p: &Params) -> Result<Vec<String>> {
    let keys: Vec<String> = p.list("TagKeys")?.into_iter().map(String::from).collect();
    if keys.is_empty() {
        return Err(QueryError::missing("TagKeys"));
    }
    Ok(keys)
}

/// A ListXTags answer for `tags`, paginated.
fn tags_output(tags: Tags, p: &Params) -> Result<Output> {
    let page = page(tags, p)?;
    Ok(Box::new(move |w| {
        encode::tags(w, &page.items);
        truncation(w, &page.next);
    }))
}

/// A `RoleName` parameter, validated.
fn role_name(p: &Params) -> Result<&str> {
    let name = p.required("RoleName")?;
    validate::name("roleName", name, validate::ROLE_NAME_MAX)?;
    Ok(name)
}

/// A `PolicyArn` parameter.
fn policy_arn(p: &Params) -> Result<&str> {
    let arn = p.required("PolicyArn")?;
    validate::length("policyArn", arn, validate::ARN_MIN, validate::ARN_MAX)?;
    Ok(arn)
}

/// `PathPrefix`, `/` when absent.
fn path_prefix(p: &Params) -> Result<String> {
    let prefix = p.get("PathPrefix").unwrap_or("/");
    validate::length("pathPrefix", prefix, 1, PATH_PREFIX_MAX)?;
    if !prefix.starts_with('/') {
        return Err(IamError::constraint(
            "pathPrefix",
            prefix,
            r"Member must satisfy regular expression pattern: \u002F[\u0021-\u007F]*",
        )
        .into());
    }
    Ok(prefix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn pagination() {
        let p = Params::parse(b"MaxItems=2").unwrap();
        let page1 = page(vec![1, 2, 3], &p).unwrap();
        assert_eq!(
            (page1.items, page1.next.as_deref()),
            (vec![1, 2], Some("2"))
        );
        let p = Params::parse(b"MaxItems=2&Marker=2").unwrap();
        let page2 = page(vec![1, 2, 3], &p).unwrap();
        assert_eq!((page2.items, page2.next), (vec![3], None));
        for bad in [
            &b"MaxItems=0"[..],
            b"MaxItems=1001",
            b"Marker=zz",
            b"Marker=9",
        ] {
            assert!(page(vec![1], &Params::parse(bad).unwrap()).is_err());
        }
    }

    #[test]
    fn domain_errors_keep_code_and_status() {
        let q: QueryError = IamError::NoSuchEntity("x".into()).into();
        assert_eq!(
            (q.code.as_str(), q.status),
            ("NoSuchEntity", StatusCode::NOT_FOUND)
        );
        let q: QueryError = IamError::DeleteConflict("x".into()).into();
        assert_eq!(q.status, StatusCode::CONFLICT);
    }
}
