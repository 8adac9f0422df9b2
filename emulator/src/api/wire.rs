//! What the per-service handlers share on the wire: domain errors as the
//! protocols' errors ([`ServiceError`]), and the dispatch of the AWS JSON
//! 1.1 services ([`JsonService`], [`handle_json`]).

use std::marker::PhantomData;

use axum::response::Response;
use http::StatusCode;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{Api, RequestContext};
use crate::domain::autoscaling::ScalingError;
use crate::domain::ec2::Ec2Error;
use crate::domain::ecs::validate::EcsError;
use crate::domain::elbv2::Elbv2Error;
use crate::domain::iam::IamError;
use crate::domain::logs::LogsError;
use crate::domain::secretsmanager::SecretsError;
use crate::domain::ssm::SsmError;
use crate::protocol::json::{self, JsonError};
use crate::protocol::query::QueryError;

/// A domain error as the wire shows it: its code (JSON's `__type`, Query's
/// `<Code>`), its HTTP status, and its `Display` as the message.
pub trait ServiceError: std::fmt::Display {
    fn code(&self) -> &'static str;

    /// A client error unless the error says otherwise.
    fn status(&self) -> StatusCode {
        StatusCode::BAD_REQUEST
    }
}

/// The one place where domain errors become JSON 1.1 errors.
impl<E: ServiceError> From<E> for JsonError {
    fn from(e: E) -> Self {
        JsonError {
            status: e.status(),
            ..JsonError::client(e.code(), e.to_string())
        }
    }
}

/// The one place where domain errors become Query errors.
impl<E: ServiceError> From<E> for QueryError {
    fn from(e: E) -> Self {
        QueryError::with_status(e.status(), e.code(), e.to_string())
    }
}

/// Implements [`ServiceError`] with the error's own `code()` and, after
/// `with status:`, its own `status()` (an HTTP status number).
macro_rules! service_errors {
    ($($error:ty),* $(,)?) => {$(
        impl ServiceError for $error {
            fn code(&self) -> &'static str {
                <$error>::code(self)
            }
        }
    )*};
    (with status: $($error:ty),* $(,)?) => {$(
        impl ServiceError for $error {
            fn code(&self) -> &'static str {
                <$error>::code(self)
            }

            fn status(&self) -> StatusCode {
                StatusCode::from_u16(<$error>::status(self)).unwrap_or(StatusCode::BAD_REQUEST)
            }
        }
    )*};
}

// Every one of these is a client error (HTTP 400).
service_errors!(
    EcsError,
    LogsError,
    ScalingError,
    SsmError,
    SecretsError,
    Elbv2Error
);
// These carry their status (IAM's NoSuchEntity is a 404, for one).
service_errors!(with status: IamError, Ec2Error);

/// What an operation of a JSON 1.1 service reaches. `S` names the service,
/// so that each service's module adds its operations as methods of its own
/// `Handler<S>`.
pub struct Handler<'a, S> {
    pub api: &'a Api,
    pub ctx: &'a RequestContext,
    service: PhantomData<S>,
}

/// A JSON 1.1 request's body, to decode into the operation's input.
pub struct Input<'a> {
    body: &'a [u8],
    validation_code: &'static str,
}

impl Input<'_> {
    /// The operation's input. A body that does not match its shape is the
    /// service's validation error.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T, JsonError> {
        json::decode(self.body, self.validation_code)
    }
}

/// A service that speaks AWS JSON 1.1 (`X-Amz-Target` names the operation).
pub trait JsonService: Sized {
    /// `__type` of the error for a body that does not match its input shape.
    const VALIDATION_CODE: &'static str;
    /// The service's domain error.
    type Error: Into<JsonError>;

    /// Runs the operation `op` names on its input; an operation the service
    /// does not have is `JsonError::unknown_operation`.
    fn dispatch(
        h: &Handler<'_, Self>,
        op: &str,
        input: &Input<'_>,
    ) -> Result<Result<Value, Self::Error>, JsonError>;
}

/// Answers one request of the JSON 1.1 service `S`.
pub fn handle_json<S: JsonService>(
    api: &Api,
    ctx: &RequestContext,
    op: &str,
    body: &[u8],
) -> Response {
    let handler = Handler {
        api,
        ctx,
        service: PhantomData,
    };
    let input = Input {
        body,
        validation_code: S::VALIDATION_CODE,
    };
    json::respond(S::dispatch(&handler, op, &input), &ctx.request_id)
}
