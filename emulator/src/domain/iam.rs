//! IAM resource model.

/// IAM state.
#[derive(Debug, Default)]
pub struct IamState {}
