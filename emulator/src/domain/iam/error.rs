//! The IAM and STS domain error. The API layers map it to the Query
//! `<ErrorResponse>` in one place each (`api::iam`, `api::sts`);
//! [`IamError::code`] is the wire `Code` and [`IamError::status`] the HTTP
//! status the service model gives the exception.

/// Why an IAM or STS request was refused. The string is the client-facing message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IamError {
    /// The generic Query constraint violation (lengths, patterns, ranges).
    #[error("{0}")]
    Validation(String),
    /// A value that is well-formed but not acceptable here.
    #[error("{0}")]
    InvalidInput(String),
    /// A role, policy, version or instance profile that does not exist.
    #[error("{0}")]
    NoSuchEntity(String),
    /// A name already used in the account.
    #[error("{0}")]
    EntityAlreadyExists(String),
    /// The entity still has dependents (policies, attachments, roles).
    #[error("{0}")]
    DeleteConflict(String),
    /// An account or entity quota (policy versions, roles per profile, tags).
    #[error("{0}")]
    LimitExceeded(String),
    /// A policy document that is not JSON.
    #[error("{0}")]
    MalformedPolicyDocument(String),
    /// A service-linked role, which only its service may change.
    #[error("{0}")]
    UnmodifiableEntity(String),
    /// STS: the role may not be assumed (here: it does not exist).
    #[error("{0}")]
    AccessDenied(String),
    /// STS: session policies and tags too large once packed.
    #[error("{0}")]
    PackedPolicyTooLarge(String),
    /// STS: the caller's temporary credentials are past their expiration.
    #[error("{0}")]
    ExpiredToken(String),
}

impl IamError {
    /// The wire error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "ValidationError",
            Self::InvalidInput(_) => "InvalidInput",
            Self::NoSuchEntity(_) => "NoSuchEntity",
            Self::EntityAlreadyExists(_) => "EntityAlreadyExists",
            Self::DeleteConflict(_) => "DeleteConflict",
            Self::LimitExceeded(_) => "LimitExceeded",
            Self::MalformedPolicyDocument(_) => "MalformedPolicyDocument",
            Self::UnmodifiableEntity(_) => "UnmodifiableEntity",
            Self::AccessDenied(_) => "AccessDenied",
            Self::ExpiredToken(_) => "ExpiredTokenException",
            Self::PackedPolicyTooLarge(_) => "PackedPolicyTooLarge",
        }
    }

    /// The HTTP status of the error, from the service models.
    pub fn status(&self) -> u16 {
        match self {
            Self::NoSuchEntity(_) => 404,
            Self::EntityAlreadyExists(_) | Self::DeleteConflict(_) | Self::LimitExceeded(_) => 409,
            Self::AccessDenied(_) => 403,
            Self::Validation(_)
            | Self::InvalidInput(_)
            | Self::MalformedPolicyDocument(_)
            | Self::UnmodifiableEntity(_)
            | Self::ExpiredToken(_)
            | Self::PackedPolicyTooLarge(_) => 400,
        }
    }

    /// `Value 'v' at 'member' failed to satisfy constraint: ...`, AWS's
    /// wording for one violated constraint.
    pub fn constraint(member: &str, value: impl std::fmt::Display, constraint: &str) -> Self {
        Self::Validation(format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        ))
    }
}
