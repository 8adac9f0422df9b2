//! EC2 resource model.

/// EC2 state.
#[derive(Debug, Default)]
pub struct Ec2State {}
