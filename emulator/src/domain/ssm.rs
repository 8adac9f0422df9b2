//! SSM Parameter Store resource model.

/// SSM state.
#[derive(Debug, Default)]
pub struct SsmState {}
