//! One handler per AWS action. Handlers decode the input, validate it against
//! the domain rules, and change the store; reconcilers do the slow work.

pub mod autoscaling;
pub mod ec2;
pub mod ecs;
pub mod elbv2;
pub mod iam;
pub mod logs;
pub mod secretsmanager;
pub mod ssm;
pub mod sts;

use crate::dataplane::Dataplane;
use crate::domain::Store;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct App {
    pub store: Store,
    pub dataplane: Dataplane,
    /// Where requests for services the emulator does not serve go.
    pub upstream: Option<crate::upstream::Upstream>,
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

impl App {
    pub fn account_id(&self) -> &str {
        &self.store.config().account_id
    }
}
