//! STS actions (Query protocol). Not yet implemented: every action is refused.

use axum::response::Response;

use super::{App, RequestContext};
use crate::protocol::query::{self, Params, QueryError, STS};

/// Handles one STS request; `body` is the form-encoded Query body.
pub async fn handle(_app: &App, ctx: &RequestContext, body: &[u8]) -> Response {
    let result = Params::parse(body).and_then(|params| {
        let action = query::action(&STS, &params)?;
        Err::<(), _>(QueryError::sender(
            "InvalidAction",
            format!("The action {action} is not valid for this web service"),
        ))
    });
    match result {
        Ok(()) => query::respond(&STS, "", &ctx.request_id, |_| {}),
        Err(e) => e.into_response(&STS, &ctx.request_id),
    }
}
