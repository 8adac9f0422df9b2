//! Instance profiles.

use crate::domain::iam::{validate, IamState, InstanceProfile, Role};
use crate::protocol::query::Params;

use super::{
    empty, encode, page, path_prefix, role_name, tag_resource, tags, tags_output, truncation,
    untag_resource, Cx, Output, Result,
};

/// An `InstanceProfileName` parameter, validated.
fn profile_name(p: &Params) -> Result<&str> {
    let name = p.required("InstanceProfileName")?;
    validate::name(
        "instanceProfileName",
        name,
        validate::INSTANCE_PROFILE_NAME_MAX,
    )?;
    Ok(name)
}

/// A profile with copies of its roles, for writing.
fn described(s: &IamState, profile: &InstanceProfile) -> (InstanceProfile, Vec<Role>) {
    let roles = s.profile_roles(profile).into_iter().cloned().collect();
    (profile.clone(), roles)
}

fn profile_output((profile, roles): (InstanceProfile, Vec<Role>)) -> Output {
    Box::new(move |w| {
        w.element("InstanceProfile", |w| {
            encode::instance_profile(w, &profile, &roles)
        });
    })
}

fn profiles_output(profiles: Vec<(InstanceProfile, Vec<Role>)>, p: &Params) -> Result<Output> {
    let page = page(profiles, p)?;
    Ok(Box::new(move |w| {
        w.members("InstanceProfiles", &page.items, |w, (profile, roles)| {
            encode::instance_profile(w, profile, roles)
        });
        truncation(w, &page.next);
    }))
}

pub fn create(cx: &Cx, p: &Params) -> Result<Output> {
    let name = p.required("InstanceProfileName")?;
    let tags = tags(p)?;
    let profile = cx.write(|s| {
        s.create_instance_profile(cx.account(), name, p.get("Path"), tags, cx.now)
            .cloned()
    })?;
    Ok(profile_output((profile, Vec::new())))
}

pub fn get(cx: &Cx, p: &Params) -> Result<Output> {
    let name = profile_name(p)?;
    let described = cx.read(|s| s.instance_profile(name).map(|ip| described(s, ip)))?;
    Ok(profile_output(described))
}

pub fn delete(cx: &Cx, p: &Params) -> Result<Output> {
    let name = profile_name(p)?;
    cx.write(|s| s.delete_instance_profile(name))?;
    Ok(empty())
}

pub fn add_role(cx: &Cx, p: &Params) -> Result<Output> {
    let profile = profile_name(p)?;
    let role = role_name(p)?;
    cx.write(|s| s.add_role_to_instance_profile(profile, role))?;
    Ok(empty())
}

pub fn remove_role(cx: &Cx, p: &Params) -> Result<Output> {
    let profile = profile_name(p)?;
    let role = role_name(p)?;
    cx.write(|s| s.remove_role_from_instance_profile(profile, role))?;
    Ok(empty())
}

pub fn list(cx: &Cx, p: &Params) -> Result<Output> {
    let prefix = path_prefix(p)?;
    let profiles = cx.read(|s| {
        s.instance_profiles
            .values()
            .filter(|ip| ip.path.starts_with(&prefix))
            .map(|ip| described(s, ip))
            .collect()
    });
    profiles_output(profiles, p)
}

pub fn list_for_role(cx: &Cx, p: &Params) -> Result<Output> {
    let role = role_name(p)?;
    let profiles = cx.read(|s| {
        s.profiles_for_role(role)
            .map(|ps| ps.into_iter().map(|ip| described(s, ip)).collect())
    })?;
    profiles_output(profiles, p)
}

pub fn tag(cx: &Cx, p: &Params) -> Result<Output> {
    let name = profile_name(p)?;
    tag_resource(cx, p, name, "InstanceProfile", |s, id| {
        s.instance_profile_mut(id).map(|ip| &mut ip.tags)
    })
}

pub fn untag(cx: &Cx, p: &Params) -> Result<Output> {
    let name = profile_name(p)?;
    untag_resource(cx, p, name, |s, id| {
        s.instance_profile_mut(id).map(|ip| &mut ip.tags)
    })
}

pub fn list_tags(cx: &Cx, p: &Params) -> Result<Output> {
    let name = profile_name(p)?;
    let tags = cx.read(|s| s.instance_profile(name).map(|ip| ip.tags.clone()))?;
    tags_output(tags, p)
}
