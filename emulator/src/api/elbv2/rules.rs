//! CreateRule, DescribeRules, ModifyRule, DeleteRule, SetRulePriorities.

use std::collections::{BTreeMap, HashSet};

use crate::domain::elbv2::{arns, validate, Elbv2Error, Elbv2State, Rule, RULES_PER_LOAD_BALANCER};
use crate::protocol::query::{Params, QueryError};

use super::{decode, encode, page, Cx, Output, Result};

pub fn create(cx: &Cx, p: &Params) -> Result<Output> {
    let listener_arn = p.required("ListenerArn")?.to_string();
    let priority = validate::priority(
        p.integer::<i64>("Priority")?
            .ok_or_else(|| QueryError::missing("Priority"))?,
    )?;
    if p.has("Transforms") {
        return Err(decode::unsupported_transforms());
    }
    let conditions = decode::conditions(p)?;
    validate::conditions(&conditions)?;
    let actions = decode::actions(p, "Actions")?;
    let tags = decode::tags(p)?;

    let rule = cx.api.store.write(|s| {
        let state = &mut s.elbv2;
        let lb_arn = state
            .listeners
            .get(&listener_arn)
            .map(|l| l.load_balancer_arn.clone())
            .ok_or_else(|| super::listeners::not_found(&listener_arn))?;
        if state
            .rules_of(&listener_arn)
            .iter()
            .any(|r| r.priority == Some(priority))
        {
            return Err(priority_in_use(priority));
        }
        if state.rule_count(&lb_arn) >= RULES_PER_LOAD_BALANCER {
            return Err(Elbv2Error::TooManyRules(format!(
                "A load balancer can have at most {RULES_PER_LOAD_BALANCER} rules, not counting default rules"
            )));
        }
        state.check_forward_targets(&lb_arn, &actions)?;
        let rule = Rule {
            arn: arns::rule(&listener_arn),
            listener_arn: listener_arn.clone(),
            priority: Some(priority),
            conditions,
            actions,
        };
        state.rules.insert(rule.arn.clone(), rule.clone());
        if !tags.is_empty() {
            state.tags.insert(rule.arn.clone(), tags);
        }
        Ok(rule)
    })?;
    Ok(rules_output(vec![rule], None))
}

pub fn describe(cx: &Cx, p: &Params) -> Result<Output> {
    let listener_arn = p.get("ListenerArn");
    let arns = p.list("RuleArns")?;
    if listener_arn.is_some() != arns.is_empty() {
        return Err(QueryError::validation(
            "Specify either a listener ARN or one or more rule ARNs",
        ));
    }
    let found = cx.api.store.read(|s| {
        let state = &s.elbv2;
        if let Some(l) = listener_arn {
            if !state.listeners.contains_key(l) {
                return Err(super::listeners::not_found(l));
            }
            return Ok(state.rules_of(l).into_iter().cloned().collect());
        }
        arns.iter()
            .map(|a| state.rules.get(*a).cloned().ok_or_else(|| not_found(a)))
            .collect::<Result<Vec<_>, _>>()
    })?;
    let (items, next) = page(found, p)?;
    Ok(rules_output(items, next))
}

/// Replaces a rule's conditions and/or actions. The default rule's
/// conditions cannot change; its actions are the listener's default actions.
pub fn modify(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("RuleArn")?.to_string();
    if p.has("Transforms") {
        return Err(decode::unsupported_transforms());
    }
    let conditions = if p.has("Conditions") {
        let c = decode::conditions(p)?;
        Some(c)
    } else {
        None
    };
    let actions = if p.has("Actions") {
        Some(decode::actions(p, "Actions")?)
    } else {
        None
    };
    let rule = cx.api.store.write(|s| {
        let state = &mut s.elbv2;
        let rule = state.rules.get(&arn).ok_or_else(|| not_found(&arn))?;
        let listener_arn = rule.listener_arn.clone();
        let is_default = rule.is_default();
        if let Some(c) = &conditions {
            if is_default {
                return Err(Elbv2Error::OperationNotPermitted(
                    "The conditions of a default rule cannot be modified".into(),
                ));
            }
            validate::conditions(c)?;
        }
        if let Some(actions) = &actions {
            let lb_arn = state
                .listeners
                .get(&listener_arn)
                .map(|l| l.load_balancer_arn.clone())
                .unwrap_or_default();
            state.check_forward_targets(&lb_arn, actions)?;
            if is_default {
                state.set_default_actions(&listener_arn, actions.clone());
            }
        }
        let rule = state.rules.get_mut(&arn).ok_or_else(|| not_found(&arn))?;
        if let Some(c) = conditions {
            rule.conditions = c;
        }
        if let Some(a) = actions {
            rule.actions = a;
        }
        Ok(rule.clone())
    })?;
    Ok(rules_output(vec![rule], None))
}

pub fn delete(cx: &Cx, p: &Params) -> Result<Output> {
    let arn = p.required("RuleArn")?;
    cx.api.store.write(|s| {
        let state = &mut s.elbv2;
        let rule = state.rules.get(arn).ok_or_else(|| not_found(arn))?;
        if rule.is_default() {
            return Err(Elbv2Error::OperationNotPermitted(format!(
                "Default rule '{arn}' cannot be deleted"
            )));
        }
        state.rules.remove(arn);
        state.tags.remove(arn);
        Ok(())
    })?;
    Ok(super::empty())
}

/// Sets the priorities of several rules at once; the final priorities of
/// each listener must be unique. Either every change applies or none.
pub fn set_priorities(cx: &Cx, p: &Params) -> Result<Output> {
    let mut changes: Vec<(String, u32)> = Vec::new();
    for pair in decode::required_structures(p, "RulePriorities")? {
        let arn = pair.required("RuleArn")?.to_string();
        let priority = validate::priority(
            pair.integer::<i64>("Priority")?
                .ok_or_else(|| QueryError::missing("RulePriorities.member.N.Priority"))?,
        )?;
        if changes.iter().any(|(a, _)| *a == arn) {
            return Err(QueryError::validation(format!(
                "Rule '{arn}' is specified more than once"
            )));
        }
        changes.push((arn, priority));
    }
    let rules = cx.api.store.write(|s| {
        let state = &mut s.elbv2;
        check_priorities(state, &changes)?;
        let mut out = Vec::new();
        for (arn, priority) in &changes {
            if let Some(rule) = state.rules.get_mut(arn) {
                rule.priority = Some(*priority);
                out.push(rule.clone());
            }
        }
        Ok::<_, Elbv2Error>(out)
    })?;
    Ok(rules_output(rules, None))
}

/// Validates SetRulePriorities against the state without changing it.
fn check_priorities(state: &Elbv2State, changes: &[(String, u32)]) -> Result<(), Elbv2Error> {
    let mut listeners = HashSet::new();
    for (arn, _) in changes {
        let rule = state.rules.get(arn).ok_or_else(|| not_found(arn))?;
        if rule.is_default() {
            return Err(Elbv2Error::OperationNotPermitted(format!(
                "The priority of default rule '{arn}' cannot be changed"
            )));
        }
        listeners.insert(rule.listener_arn.clone());
    }
    let changed: BTreeMap<&str, u32> = changes.iter().map(|(a, p)| (a.as_str(), *p)).collect();
    for listener in listeners {
        let mut used = HashSet::new();
        for rule in state.rules_of(&listener) {
            let priority = changed.get(rule.arn.as_str()).copied().or(rule.priority);
            if let Some(priority) = priority {
                if !used.insert(priority) {
                    return Err(priority_in_use(priority));
                }
            }
        }
    }
    Ok(())
}

fn rules_output(items: Vec<Rule>, next: Option<String>) -> Output {
    Box::new(move |w| {
        w.members("Rules", &items, encode::rule)
            .opt_text("NextMarker", next);
    })
}

fn priority_in_use(priority: u32) -> Elbv2Error {
    Elbv2Error::PriorityInUse(format!("Priority '{priority}' is currently in use"))
}

fn not_found(arn: &str) -> Elbv2Error {
    Elbv2Error::RuleNotFound(format!("Rule '{arn}' not found"))
}
