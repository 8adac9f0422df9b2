//! The ALB data plane: a hyper reverse proxy per listener.

/// Handle on the running listeners.
#[derive(Clone, Default)]
pub struct Dataplane {}
