//! AddTags, RemoveTags, DescribeTags, for load balancers, target groups,
//! listeners and rules.

use crate::domain::elbv2::arns::{self, ResourceKind};
use crate::domain::elbv2::{validate, Elbv2Error, Elbv2State, Tags};
use crate::protocol::query::{Params, QueryError};

use super::{decode, Cx, Output, Result};

/// ARNs per AddTags / RemoveTags / DescribeTags request.
const RESOURCES_PER_REQUEST: usize = 20;

fn resource_arns(p: &Params) -> Result<Vec<String>> {
    let arns = decode::required_list(p, "ResourceArns")?;
    if arns.len() > RESOURCES_PER_REQUEST {
        return Err(QueryError::validation(format!(
            "At most {RESOURCES_PER_REQUEST} resource ARNs can be specified"
        )));
    }
    Ok(arns.into_iter().map(Into::into).collect())
}

/// The not-found error of the resource's kind if it does not exist.
fn check_exists(state: &Elbv2State, arn: &str) -> Result<(), Elbv2Error> {
    let exists = match arns::kind(arn) {
        Some(ResourceKind::LoadBalancer) => state.load_balancers.contains_key(arn),
        Some(ResourceKind::TargetGroup) => state.target_groups.contains_key(arn),
        Some(ResourceKind::Listener) => state.listeners.contains_key(arn),
        Some(ResourceKind::Rule) => state.rules.contains_key(arn),
        None => {
            return Err(Elbv2Error::Validation(format!(
                "'{arn}' is not a valid Elastic Load Balancing resource ARN"
            )))
        }
    };
    if exists {
        return Ok(());
    }
    let message = format!("Resource '{arn}' not found");
    Err(match arns::kind(arn) {
        Some(ResourceKind::LoadBalancer) => Elbv2Error::LoadBalancerNotFound(message),
        Some(ResourceKind::TargetGroup) => Elbv2Error::TargetGroupNotFound(message),
        Some(ResourceKind::Listener) => Elbv2Error::ListenerNotFound(message),
        _ => Elbv2Error::RuleNotFound(message),
    })
}

/// Adds tags; a key that exists gets the new value.
pub fn add(cx: &Cx, p: &Params) -> Result<Output> {
    let arns = resource_arns(p)?;
    let tags = decode::tags(p)?;
    if tags.is_empty() {
        return Err(QueryError::missing("Tags"));
    }
    cx.api.store.write(|s| {
        let state = &mut s.elbv2;
        for arn in &arns {
            check_exists(state, arn)?;
            let merged = merge(state.tags.get(arn).cloned().unwrap_or_default(), &tags);
            if merged.len() > validate::TAGS_PER_RESOURCE {
                return Err(Elbv2Error::TooManyTags(format!(
                    "Resource '{arn}' would have {} tags; the limit is {}",
                    merged.len(),
                    validate::TAGS_PER_RESOURCE
                )));
            }
        }
        for arn in &arns {
            let merged = merge(state.tags.get(arn).cloned().unwrap_or_default(), &tags);
            state.tags.insert(arn.clone(), merged);
        }
        Ok::<_, Elbv2Error>(())
    })?;
    Ok(super::empty())
}

fn merge(mut current: Tags, new: &Tags) -> Tags {
    for (key, value) in new {
        match current.iter_mut().find(|(k, _)| k == key) {
            Some(existing) => existing.1 = value.clone(),
            None => current.push((key.clone(), value.clone())),
        }
    }
    current
}

pub fn remove(cx: &Cx, p: &Params) -> Result<Output> {
    let arns = resource_arns(p)?;
    let keys: Vec<String> = decode::required_list(p, "TagKeys")?
        .into_iter()
        .map(Into::into)
        .collect();
    cx.api.store.write(|s| {
        let state = &mut s.elbv2;
        for arn in &arns {
            check_exists(state, arn)?;
        }
        for arn in &arns {
            if let Some(tags) = state.tags.get_mut(arn) {
                tags.retain(|(k, _)| !keys.contains(k));
            }
        }
        Ok::<_, Elbv2Error>(())
    })?;
    Ok(super::empty())
}

pub fn describe(cx: &Cx, p: &Params) -> Result<Output> {
    let arns = resource_arns(p)?;
    let descriptions = cx.api.store.read(|s| {
        arns.into_iter()
            .map(|arn| {
                check_exists(&s.elbv2, &arn)?;
                let tags = s.elbv2.tags.get(&arn).cloned().unwrap_or_default();
                Ok((arn, tags))
            })
            .collect::<Result<Vec<_>, Elbv2Error>>()
    })?;
    Ok(Box::new(move |w| {
        w.members("TagDescriptions", &descriptions, |w, (arn, tags)| {
            w.text("ResourceArn", arn)
                .members("Tags", tags, |w, (k, v)| {
                    w.text("Key", k).text("Value", v);
                });
        });
    }))
}
