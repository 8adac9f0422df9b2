//! Queries and consistent changes over [`Elbv2State`]: references between
//! resources, draining, and the target health that DescribeTargetHealth
//! reports.

use std::collections::BTreeSet;
use std::time::Duration;

use time::OffsetDateTime;

use super::error::{Elbv2Error, Result};
use super::{
    settings, Action, ActionKind, Elbv2State, Listener, Registration, Rule, TargetGroup,
    TargetHealth, TargetState,
};

/// Rules per Application Load Balancer, not counting default rules.
pub const RULES_PER_LOAD_BALANCER: usize = 100;
/// Listeners per Application Load Balancer.
pub const LISTENERS_PER_LOAD_BALANCER: usize = 50;
/// Targets per target group.
pub const TARGETS_PER_TARGET_GROUP: usize = 1000;

impl Action {
    /// The target groups this action forwards to.
    pub fn target_group_arns(&self) -> impl Iterator<Item = &str> {
        let groups: &[(String, u32)] = match &self.kind {
            ActionKind::Forward(f) => &f.target_groups,
            _ => &[],
        };
        groups.iter().map(|(arn, _)| arn.as_str())
    }
}

impl TargetGroup {
    /// `deregistration_delay.timeout_seconds`, as configured (not scaled).
    pub fn deregistration_delay(&self) -> Duration {
        settings::deregistration_delay(&self.attributes)
    }
}

impl Registration {
    /// Whether DeregisterTargets was called for this target.
    pub fn is_draining(&self) -> bool {
        self.draining_until.is_some()
    }
}

impl TargetHealth {
    /// `unused` / `Target.NotRegistered`.
    pub fn not_registered() -> Self {
        Self {
            state: TargetState::Unused,
            reason: Some("Target.NotRegistered"),
            description: Some("Target is not registered to the target group".into()),
        }
    }

    /// `unused` / `Target.NotInUse`: no listener or rule forwards to the group.
    pub fn not_in_use() -> Self {
        Self {
            state: TargetState::Unused,
            reason: Some("Target.NotInUse"),
            description: Some(
                "Target group is not configured to receive traffic from the load balancer".into(),
            ),
        }
    }

    /// `draining` / `Target.DeregistrationInProgress`.
    pub fn draining() -> Self {
        Self {
            state: TargetState::Draining,
            reason: Some("Target.DeregistrationInProgress"),
            description: Some("Target deregistration is in progress".into()),
        }
    }

    /// `unavailable` / `Target.HealthCheckDisabled`.
    pub fn health_check_disabled() -> Self {
        Self {
            state: TargetState::Unavailable,
            reason: Some("Target.HealthCheckDisabled"),
            description: Some("Health checks are disabled for the target group".into()),
        }
    }
}

impl Elbv2State {
    /// Removes every registration whose draining period ended at or before
    /// `now`. Returns whether anything was removed. The API calls this before
    /// it reads or changes target groups; the data plane may call it on a timer.
    pub fn expire_draining(&mut self, now: OffsetDateTime) -> bool {
        let mut removed = false;
        for tg in self.target_groups.values_mut() {
            let before = tg.registrations.len();
            tg.registrations
                .retain(|r| r.draining_until.is_none_or(|until| until > now));
            removed |= tg.registrations.len() != before;
        }
        removed
    }

    /// Whether [`Elbv2State::expire_draining`] would remove something.
    pub fn has_expired_draining(&self, now: OffsetDateTime) -> bool {
        self.target_groups.values().any(|tg| {
            tg.registrations
                .iter()
                .any(|r| r.draining_until.is_some_and(|until| until <= now))
        })
    }

    /// Whether any listener's default rule or any rule forwards to `tg_arn`.
    pub fn target_group_in_use(&self, tg_arn: &str) -> bool {
        self.rules
            .values()
            .flat_map(|r| &r.actions)
            .chain(self.listeners.values().flat_map(|l| &l.default_actions))
            .any(|a| a.target_group_arns().any(|arn| arn == tg_arn))
    }

    /// The load balancers whose listeners or rules forward to `tg_arn`.
    pub fn load_balancers_of_target_group(&self, tg_arn: &str) -> BTreeSet<String> {
        let via_rules = self.rules.values().filter_map(|r| {
            let forwards = r
                .actions
                .iter()
                .any(|a| a.target_group_arns().any(|arn| arn == tg_arn));
            forwards
                .then(|| self.listeners.get(&r.listener_arn))
                .flatten()
        });
        let via_defaults = self.listeners.values().filter(|l| {
            l.default_actions
                .iter()
                .any(|a| a.target_group_arns().any(|arn| arn == tg_arn))
        });
        via_rules
            .chain(via_defaults)
            .map(|l| l.load_balancer_arn.clone())
            .collect()
    }

    /// The listeners of a load balancer, by port.
    pub fn listeners_of(&self, lb_arn: &str) -> Vec<&Listener> {
        let mut listeners: Vec<&Listener> = self
            .listeners
            .values()
            .filter(|l| l.load_balancer_arn == lb_arn)
            .collect();
        listeners.sort_by_key(|l| l.port);
        listeners
    }

    /// The rules of a listener in evaluation order: by priority, the default
    /// rule last.
    pub fn rules_of(&self, listener_arn: &str) -> Vec<&Rule> {
        let mut rules: Vec<&Rule> = self
            .rules
            .values()
            .filter(|r| r.listener_arn == listener_arn)
            .collect();
        rules.sort_by_key(|r| r.priority.unwrap_or(u32::MAX));
        rules
    }

    /// Non-default rules across all listeners of a load balancer.
    pub fn rule_count(&self, lb_arn: &str) -> usize {
        self.rules
            .values()
            .filter(|r| !r.is_default())
            .filter(|r| {
                self.listeners
                    .get(&r.listener_arn)
                    .is_some_and(|l| l.load_balancer_arn == lb_arn)
            })
            .count()
    }

    /// Checks that every target group the actions forward to exists and may
    /// be used by load balancer `lb_arn`: an ALB target group serves a single
    /// load balancer.
    pub fn check_forward_targets(&self, lb_arn: &str, actions: &[Action]) -> Result<()> {
        for arn in actions.iter().flat_map(Action::target_group_arns) {
            let Some(tg) = self.target_groups.get(arn) else {
                return Err(Elbv2Error::TargetGroupNotFound(format!(
                    "Target group '{arn}' not found"
                )));
            };
            if tg.protocol != "HTTP" && tg.protocol != "HTTPS" {
                return Err(Elbv2Error::IncompatibleProtocols(format!(
                    "Target group '{arn}' uses protocol '{}', which an Application Load Balancer cannot forward to",
                    tg.protocol
                )));
            }
            if let Some(other) = self
                .load_balancers_of_target_group(arn)
                .into_iter()
                .find(|other| other != lb_arn)
            {
                return Err(Elbv2Error::TargetGroupAssociationLimit(format!(
                    "The following target groups cannot be associated with more than one load balancer: {arn} (already used by {other})"
                )));
            }
        }
        Ok(())
    }

    /// The health DescribeTargetHealth reports for a registration: draining
    /// first, then `unused` when nothing forwards to the group, then
    /// `unavailable` with health checks off, else what the health checker saw.
    pub fn reported_health(&self, tg: &TargetGroup, registration: &Registration) -> TargetHealth {
        if registration.is_draining() {
            TargetHealth::draining()
        } else if !self.target_group_in_use(&tg.arn) {
            TargetHealth::not_in_use()
        } else if !tg.health_check.enabled {
            TargetHealth::health_check_disabled()
        } else {
            registration.health.clone()
        }
    }

    /// Removes a listener with its rules and their tags.
    pub fn remove_listener(&mut self, listener_arn: &str) -> Option<Listener> {
        let listener = self.listeners.remove(listener_arn)?;
        let rules: Vec<String> = self
            .rules
            .values()
            .filter(|r| r.listener_arn == listener_arn)
            .map(|r| r.arn.clone())
            .collect();
        for rule in rules {
            self.rules.remove(&rule);
            self.tags.remove(&rule);
        }
        self.tags.remove(listener_arn);
        Some(listener)
    }

    /// Removes a load balancer with its listeners and rules. Returns the
    /// removed listeners' ARNs, whose sockets must be closed.
    pub fn remove_load_balancer(&mut self, lb_arn: &str) -> Vec<String> {
        if self.load_balancers.remove(lb_arn).is_none() {
            return Vec::new();
        }
        self.tags.remove(lb_arn);
        let listeners: Vec<String> = self
            .listeners
            .values()
            .filter(|l| l.load_balancer_arn == lb_arn)
            .map(|l| l.arn.clone())
            .collect();
        for arn in &listeners {
            self.remove_listener(arn);
        }
        listeners
    }

    /// Replaces a listener's default actions, in the listener and in its
    /// default rule, which always agree.
    pub fn set_default_actions(&mut self, listener_arn: &str, actions: Vec<Action>) {
        if let Some(rule) = self
            .rules
            .values_mut()
            .find(|r| r.listener_arn == listener_arn && r.is_default())
        {
            rule.actions = actions.clone();
        }
        if let Some(listener) = self.listeners.get_mut(listener_arn) {
            listener.default_actions = actions;
        }
    }

    /// The `(target group, weight)` pairs of a rule's forward action.
    pub fn forward_weights(&self, rule_arn: &str) -> Option<Vec<(String, u32)>> {
        self.rules
            .get(rule_arn)?
            .actions
            .iter()
            .find_map(|a| match &a.kind {
                ActionKind::Forward(f) => Some(f.target_groups.clone()),
                _ => None,
            })
    }

    /// Rewrites a rule's forward action to a weighted ForwardConfig over
    /// `weights`, as ECS does when it shifts traffic; a default rule's
    /// listener changes with it (ECS calls ModifyListener for those).
    /// Whether anything changed.
    pub fn set_forward_weights(&mut self, rule_arn: &str, weights: Vec<(String, u32)>) -> bool {
        let Some(rule) = self.rules.get(rule_arn) else {
            return false;
        };
        let mut actions = rule.actions.clone();
        let Some(forward) = actions.iter_mut().find_map(|a| match &mut a.kind {
            ActionKind::Forward(f) => Some(f),
            _ => None,
        }) else {
            return false;
        };
        if forward.target_groups == weights && !forward.single_target_group {
            return false;
        }
        forward.target_groups = weights;
        forward.single_target_group = false;
        if rule.is_default() {
            let listener = rule.listener_arn.clone();
            self.set_default_actions(&listener, actions);
        } else if let Some(rule) = self.rules.get_mut(rule_arn) {
            rule.actions = actions;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::super::{ForwardConfig, HealthCheckSettings, LoadBalancer, LoadBalancerState};
    use super::*;

    fn forward(tg: &str) -> Action {
        Action {
            order: Some(1),
            kind: ActionKind::Forward(ForwardConfig {
                target_groups: vec![(tg.to_string(), 1)],
                stickiness_seconds: None,
                single_target_group: true,
            }),
        }
    }

    fn state_with(tg: &str) -> Elbv2State {
        let mut s = Elbv2State::default();
        s.target_groups.insert(
            tg.into(),
            TargetGroup {
                arn: tg.into(),
                name: "tg".into(),
                protocol: "HTTP".into(),
                protocol_version: "HTTP1".into(),
                port: Some(80),
                vpc_id: None,
                target_type: "ip".into(),
                health_check: HealthCheckSettings::default(),
                attributes: settings::target_group_attribute_defaults(),
                registrations: Vec::new(),
            },
        );
        s
    }

    fn add_lb(s: &mut Elbv2State, lb: &str, listener: &str, tg: &str) {
        s.load_balancers.insert(
            lb.into(),
            LoadBalancer {
                arn: lb.into(),
                name: "lb".into(),
                dns_name: "lb.elb.localhost".into(),
                scheme: "internet-facing".into(),
                lb_type: "application".into(),
                ip_address_type: "ipv4".into(),
                state: LoadBalancerState::Active,
                created_at: OffsetDateTime::UNIX_EPOCH,
                subnets: vec![],
                zones: vec![],
                security_groups: vec![],
                vpc_id: "vpc".into(),
                attributes: BTreeMap::new(),
            },
        );
        s.listeners.insert(
            listener.into(),
            Listener {
                arn: listener.into(),
                load_balancer_arn: lb.into(),
                port: 80,
                protocol: "HTTP".into(),
                default_actions: vec![forward(tg)],
                attributes: BTreeMap::new(),
            },
        );
        s.rules.insert(
            format!("{listener}/default"),
            Rule {
                arn: format!("{listener}/default"),
                listener_arn: listener.into(),
                priority: None,
                conditions: vec![],
                actions: vec![forward(tg)],
            },
        );
    }

    fn registration(draining_until: Option<OffsetDateTime>) -> Registration {
        Registration {
            id: "10.0.0.1".parse().unwrap(),
            port: 80,
            registered_at: OffsetDateTime::UNIX_EPOCH,
            draining_until,
            health: TargetHealth::registration_in_progress(),
        }
    }

    #[test]
    fn expire_draining_removes_only_expired() {
        let mut s = state_with("tg1");
        let t0 = OffsetDateTime::UNIX_EPOCH + Duration::from_secs(100);
        let regs = &mut s.target_groups.get_mut("tg1").unwrap().registrations;
        regs.push(registration(None));
        regs.push(registration(Some(t0)));
        regs.push(registration(Some(t0 + Duration::from_secs(10))));
        assert!(!s.has_expired_draining(t0 - Duration::from_secs(1)));
        assert!(s.has_expired_draining(t0));
        assert!(s.expire_draining(t0));
        assert_eq!(s.target_groups["tg1"].registrations.len(), 2);
        assert!(!s.expire_draining(t0));
    }

    #[test]
    fn reported_health_precedence() {
        let mut s = state_with("tg1");
        let tg = s.target_groups["tg1"].clone();
        assert_eq!(
            s.reported_health(&tg, &registration(None)),
            TargetHealth::not_in_use()
        );
        add_lb(&mut s, "lb1", "l1", "tg1");
        assert!(s.target_group_in_use("tg1"));
        assert_eq!(
            s.reported_health(&tg, &registration(None)),
            TargetHealth::registration_in_progress()
        );
        let draining = registration(Some(OffsetDateTime::UNIX_EPOCH));
        assert_eq!(
            s.reported_health(&tg, &draining).state,
            TargetState::Draining
        );
    }

    #[test]
    fn association_and_removal() {
        let mut s = state_with("tg1");
        add_lb(&mut s, "lb1", "l1", "tg1");
        assert_eq!(
            s.load_balancers_of_target_group("tg1")
                .into_iter()
                .collect::<Vec<_>>(),
            vec!["lb1".to_string()]
        );
        assert!(s.check_forward_targets("lb1", &[forward("tg1")]).is_ok());
        let e = s
            .check_forward_targets("lb2", &[forward("tg1")])
            .unwrap_err();
        assert_eq!(e.code(), "TargetGroupAssociationLimit");
        let e = s
            .check_forward_targets("lb1", &[forward("nope")])
            .unwrap_err();
        assert_eq!(e.code(), "TargetGroupNotFound");

        assert_eq!(s.remove_load_balancer("lb1"), vec!["l1".to_string()]);
        assert!(s.listeners.is_empty() && s.rules.is_empty());
        assert!(!s.target_group_in_use("tg1"));
        assert!(s.remove_load_balancer("lb1").is_empty());
    }
}
