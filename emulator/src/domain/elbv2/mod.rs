//! ELBv2 (ALB) resource model.

/// Load balancers, target groups, listeners, rules and registrations.
#[derive(Debug, Default)]
pub struct Elbv2State {}
