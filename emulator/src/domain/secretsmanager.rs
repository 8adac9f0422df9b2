//! Secrets Manager resource model.

/// Secrets Manager state.
#[derive(Debug, Default)]
pub struct SecretsState {}
