//! `--upstream-endpoint`: requests for AWS services this emulator does not
//! serve (S3, SQS, DynamoDB, ...) go, unchanged, to another emulator such as
//! moto's server, so one endpoint serves a whole app.
//!
//! "Unchanged" means method, path, query, every header (the original
//! `Host` and the SigV4 `Authorization` included, so a signature still
//! verifies) and the body, streamed both ways. Which requests go is decided
//! from the head alone: a SigV4 credential scope or an `X-Amz-Target` that
//! names a service the emulator does not serve.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{StatusCode, Uri};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use crate::protocol;

/// The forwarder: the upstream's base URL and a pooled HTTP/1 client.
#[derive(Clone)]
pub struct Upstream {
    base: Uri,
    client: Client<HttpConnector, Body>,
}

impl Upstream {
    pub fn new(base: Uri) -> Self {
        Self {
            base,
            client: Client::builder(TokioExecutor::new()).build_http(),
        }
    }

    /// The upstream URI for a request's path and query.
    fn target(&self, uri: &Uri) -> Result<Uri, http::Error> {
        let path_and_query = uri.path_and_query().map_or("/", |p| p.as_str());
        let base_path = self.base.path().trim_end_matches('/');
        let mut parts = self.base.clone().into_parts();
        parts.path_and_query = Some(format!("{base_path}{path_and_query}").parse()?);
        Ok(Uri::from_parts(parts)?)
    }

    async fn forward(&self, mut req: Request) -> Response {
        let target = match self.target(req.uri()) {
            Ok(t) => t,
            Err(e) => return bad_gateway(&format!("cannot build the upstream URI: {e}")),
        };
        *req.uri_mut() = target;
        match self.client.request(req).await {
            Ok(response) => response.map(Body::new),
            Err(e) => {
                tracing::warn!(upstream = %self.base, error = %e, "upstream request failed");
                bad_gateway(&format!(
                    "the upstream endpoint {} did not answer: {e}",
                    self.base
                ))
            }
        }
    }
}

/// Middleware: forwards requests for unserved services, passes the rest on.
pub async fn forward_unserved(
    State(upstream): State<Option<Upstream>>,
    req: Request,
    next: Next,
) -> Response {
    match upstream {
        Some(upstream) if protocol::names_unserved_service(req.headers()) => {
            upstream.forward(req).await
        }
        _ => next.run(req).await,
    }
}

fn bad_gateway(message: &str) -> Response {
    (StatusCode::BAD_GATEWAY, message.to_string()).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_keep_path_and_query_under_the_base() {
        let up = Upstream::new("http://127.0.0.1:5000".parse().unwrap());
        let uri: Uri = "/bucket/key?list-type=2".parse().unwrap();
        assert_eq!(
            up.target(&uri).unwrap().to_string(),
            "http://127.0.0.1:5000/bucket/key?list-type=2"
        );
        let up = Upstream::new("http://moto:5000/prefix/".parse().unwrap());
        assert_eq!(
            up.target(&"/".parse().unwrap()).unwrap().to_string(),
            "http://moto:5000/prefix/"
        );
    }
}
