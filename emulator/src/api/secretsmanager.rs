//! Secrets Manager, AWS JSON 1.1, `X-Amz-Target: secretsmanager.*`. Not yet implemented: every action is refused.

use axum::response::Response;

use super::{App, RequestContext};
use crate::protocol::json::JsonError;

pub async fn handle(_app: &App, ctx: &RequestContext, op: &str, _body: &[u8]) -> Response {
    JsonError::unknown_operation(op).into_response_with_id(&ctx.request_id)
}
