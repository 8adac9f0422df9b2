//! Registering and deregistering targets: one implementation for the
//! ELBv2 API and the ECS service scheduler.

use borsh::{BorshDeserialize, BorshSerialize};

use std::net::IpAddr;
use std::time::Duration;

use time::OffsetDateTime;

use super::{Elbv2State, Registration, TargetGroup, TargetHealth};

/// What `TargetGroup::register` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub enum Registered {
    /// A new registration, or a draining one made fresh again.
    New,
    /// The target was already registered and not draining.
    Existing,
}

impl TargetGroup {
    /// Registers `ip:port`; a draining registration starts over.
    pub fn register(&mut self, ip: IpAddr, port: u16, now: OffsetDateTime) -> Registered {
        let fresh = Registration {
            id: ip,
            port,
            registered_at: now,
            draining_until: None,
            health: TargetHealth::registration_in_progress(),
        };
        match self
            .registrations
            .iter()
            .position(|r| r.id == ip && r.port == port)
        {
            Some(i) if self.registrations[i].is_draining() => {
                self.registrations[i] = fresh;
                Registered::New
            }
            Some(_) => Registered::Existing,
            None => {
                self.registrations.push(fresh);
                Registered::New
            }
        }
    }
}

impl Elbv2State {
    /// Starts draining `ip:port` in `tg_arn` for `delay` (already scaled).
    /// If no listener uses the group there is nothing to drain and the
    /// registration goes at once. Unknown targets are ignored, as in AWS.
    /// Returns whether anything changed.
    pub fn deregister(
        &mut self,
        tg_arn: &str,
        ip: IpAddr,
        port: u16,
        now: OffsetDateTime,
        delay: Duration,
    ) -> bool {
        let in_use = self.target_group_in_use(tg_arn);
        let Some(tg) = self.target_groups.get_mut(tg_arn) else {
            return false;
        };
        let matches = |r: &Registration| r.id == ip && r.port == port;
        if in_use {
            let mut changed = false;
            for r in tg
                .registrations
                .iter_mut()
                .filter(|r| matches(r) && !r.is_draining())
            {
                r.draining_until = Some(now + delay);
                changed = true;
            }
            changed
        } else {
            let before = tg.registrations.len();
            tg.registrations.retain(|r| !matches(r));
            before != tg.registrations.len()
        }
    }

    /// Whether `ip:port` is still registered (draining or not) in `tg_arn`.
    pub fn is_registered(&self, tg_arn: &str, ip: IpAddr, port: u16) -> bool {
        self.target_groups.get(tg_arn).is_some_and(|tg| {
            tg.registrations
                .iter()
                .any(|r| r.id == ip && r.port == port)
        })
    }
}
