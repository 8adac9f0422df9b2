//! One handler per AWS action. Handlers decode the input, validate it against
//! the domain rules, and change the store; reconcilers do the slow work.
//! The routes that reach them are in `server`.
//!
//! # Layout
//! - this file: [`Api`] (what every handler reaches), [`RequestContext`] and
//!   the log-once helpers.
//! - [`wire`]: domain errors as wire errors, and the dispatch every JSON 1.1
//!   service shares.
//! - one module per service: its operations (JSON 1.1: ECS, Logs,
//!   Application Auto Scaling, SSM, Secrets Manager, Cloud Map; Query: ELBv2,
//!   EC2, IAM, STS).

pub mod autoscaling;
pub mod ec2;
pub mod ecs;
pub mod elbv2;
pub mod iam;
pub mod logs;
pub mod secretsmanager;
pub mod servicediscovery;
pub mod ssm;
pub mod sts;
pub mod wire;

use crate::dataplane::Dataplane;
use crate::domain::Store;

/// What every handler can reach: the store, and the data plane that
/// CreateListener and DeleteListener open and close sockets on. Cheap to
/// clone.
#[derive(Clone)]
pub struct Api {
    pub store: Store,
    pub dataplane: Dataplane,
}

/// Per-request facts taken from the wire.
#[derive(Debug, Clone)]
pub struct RequestContext {
    /// From the SigV4 credential scope, else the default region.
    pub region: String,
    pub request_id: String,
    /// The caller's access key id, from the SigV4 scope (unsigned: `None`).
    pub access_key: Option<String>,
}

/// Runs `log` the first time `key` is seen in this process, for messages
/// that would otherwise repeat on every request.
pub fn log_once(key: &str, log: impl FnOnce()) {
    // A std mutex: the critical section is one set insert, never awaited.
    static SEEN: std::sync::Mutex<std::collections::BTreeSet<String>> =
        std::sync::Mutex::new(std::collections::BTreeSet::new());
    let first = SEEN
        .lock()
        .map(|mut seen| seen.insert(key.to_string()))
        .unwrap_or(false);
    if first {
        log();
    }
}

/// Logs, once per process, that a request member is accepted but not acted
/// on; `what` names the service, action and member (the README lists them).
pub fn ignored_once(what: &str) {
    log_once(what, || {
        tracing::info!("{what} is accepted but ignored by this emulator");
    });
}

impl Api {
    pub fn account_id(&self) -> &str {
        &self.store.config().account_id
    }
}
