//! ELBv2 actions (AWS Query protocol).

use axum::response::Response;

use super::{App, RequestContext};
use crate::protocol::query;

/// Handles one ELBv2 request; `body` is the form-encoded Query body.
pub async fn handle(_app: &App, ctx: &RequestContext, body: &[u8]) -> Response {
    let _ = body;
    query::QueryError::sender("InvalidAction", "ELBv2 is not implemented yet")
        .into_response_with_id(&ctx.request_id)
}
