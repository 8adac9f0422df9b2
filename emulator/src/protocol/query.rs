//! AWS Query protocol (ELBv2): form-encoded requests, XML responses.

use axum::response::{IntoResponse, Response};
use http::StatusCode;

/// `Version` of the ELBv2 API.
pub const ELBV2_VERSION: &str = "2015-12-01";

/// An error in the Query `<ErrorResponse>` shape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct QueryError {
    pub code: String,
    pub message: String,
    pub status: StatusCode,
}

impl QueryError {
    pub fn sender(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            code: code.into(),
            message: message.into(),
            status: StatusCode::BAD_REQUEST,
        }
    }

    pub fn into_response_with_id(self, request_id: &str) -> Response {
        // Placeholder until the XML writer lands.
        let _ = request_id;
        (self.status, self.message).into_response()
    }
}
