//! EC2 actions (Query protocol). Not yet implemented: every action is refused.

use axum::response::Response;

use super::{App, RequestContext};
use crate::protocol::query::{self, Params, QueryError, EC2};

/// Handles one EC2 request; `body` is the form-encoded Query body.
pub async fn handle(_app: &App, ctx: &RequestContext, body: &[u8]) -> Response {
    let result = Params::parse(body).and_then(|params| {
        let action = query::action(&EC2, &params)?;
        Err::<(), _>(QueryError::sender(
            "InvalidAction",
            format!("The action {action} is not valid for this web service"),
        ))
    });
    match result {
        Ok(()) => query::respond(&EC2, "", &ctx.request_id, |_| {}),
        Err(e) => e.into_response(&EC2, &ctx.request_id),
    }
}
