//! AWS's wording for input that breaks a modelled constraint, shared by the
//! JSON services that validate that way (SSM, Secrets Manager, Cloud Map)
//! and by tags.

/// AWS's message for a member that breaks a modelled constraint.
pub fn constraint_violation(value: &str, member: &str, constraint: &str) -> String {
    format!(
        "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
    )
}
