//! The XML shapes of IAM resources. Policy documents are URL-encoded
//! (RFC 3986), as IAM returns them.

use crate::domain::iam::validate::url_encode;
use crate::domain::iam::{InstanceProfile, PolicyView, Role};
use crate::protocol::query::XmlWriter;

/// The `PermissionsBoundaryType` of a managed-policy boundary.
const BOUNDARY_TYPE: &str = "PermissionsBoundaryPolicy";

pub fn tags(w: &mut XmlWriter, tags: &[(String, String)]) {
    w.members("Tags", tags, |w, (k, v)| {
        w.text("Key", k).text("Value", v);
    });
}

/// How much of a resource a response shows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// List calls and roles inside instance profiles: no tags, no policy
    /// description, no role boundary or last use.
    Summary,
    /// The Get and Create calls.
    Full,
}

/// The members of a `Role`.
pub fn role(w: &mut XmlWriter, role: &Role, detail: Detail) {
    w.text("Path", &role.path)
        .text("RoleName", &role.name)
        .text("RoleId", &role.id)
        .text("Arn", &role.arn)
        .timestamp("CreateDate", role.create_date)
        .text(
            "AssumeRolePolicyDocument",
            url_encode(&role.assume_role_policy),
        )
        .opt_text("Description", role.description.as_deref())
        .text("MaxSessionDuration", role.max_session_duration);
    if detail == Detail::Full {
        if let Some(boundary) = &role.permissions_boundary {
            w.element("PermissionsBoundary", |w| {
                w.text("PermissionsBoundaryType", BOUNDARY_TYPE)
                    .text("PermissionsBoundaryArn", boundary);
            });
        }
        tags(w, &role.tags);
        w.element("RoleLastUsed", |_| {});
    }
}

/// The members of a `Policy`.
pub fn policy(w: &mut XmlWriter, p: &PolicyView, detail: Detail) {
    w.text("PolicyName", &p.name)
        .text("PolicyId", &p.id)
        .text("Arn", &p.arn)
        .text("Path", &p.path)
        .text("DefaultVersionId", &p.default_version)
        .text("AttachmentCount", p.attachment_count)
        .text(
            "PermissionsBoundaryUsageCount",
            p.permissions_boundary_usage_count,
        )
        .text("IsAttachable", true);
    if detail == Detail::Full {
        w.opt_text("Description", p.description.as_deref());
    }
    w.timestamp("CreateDate", p.create_date)
        .timestamp("UpdateDate", p.update_date);
    if detail == Detail::Full {
        tags(w, &p.tags);
    }
}

/// The members of an `InstanceProfile`, with its roles.
pub fn instance_profile(w: &mut XmlWriter, p: &InstanceProfile, roles: &[Role]) {
    w.text("Path", &p.path)
        .text("InstanceProfileName", &p.name)
        .text("InstanceProfileId", &p.id)
        .text("Arn", &p.arn)
        .timestamp("CreateDate", p.create_date)
        .members("Roles", roles, |w, r| role(w, r, Detail::Summary));
    tags(w, &p.tags);
}
