//! The bench's control requests: one tokio runtime that the AWS SDK calls
//! ([`call`]) and plain GETs ([`http_get`]) block on, and waiting for an
//! endpoint to answer. The load itself comes from wrk and
//! oha (see `load`), not from here.

use std::future::Future;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Result};
use aws_sdk_ecs::error::DisplayErrorContext;
use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::process::check_interrupted;

/// Runs `f` to its end on the bench's runtime: one thread, the caller's, so
/// nothing of the bench's own runs while a load run is measured.
pub(super) fn block_on<F: Future>(f: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a tokio runtime")
        })
        .block_on(f)
}

/// One AWS SDK request (`what` names it in an error), blocking; an error
/// carries the service's code and message.
pub(super) fn call<T, E>(what: &str, request: impl Future<Output = Result<T, E>>) -> Result<T>
where
    E: std::error::Error + 'static,
{
    block_on(request).map_err(|e| anyhow!("{what} failed: {}", DisplayErrorContext(&e)))
}

/// GET `url` on a connection of its own (not kept for another request):
/// the status and the body. 5 s to connect, 30 s for the whole exchange.
pub(super) fn http_get(url: &str) -> Result<(u16, String)> {
    let uri: hyper::Uri = url.parse()?;
    block_on(async {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        let client: Client<_, Empty<Bytes>> = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(connector);
        let exchange = async {
            let response = client.get(uri).await?;
            let status = response.status().as_u16();
            let body = response.into_body().collect().await?.to_bytes();
            Ok::<_, anyhow::Error>((status, String::from_utf8_lossy(&body).into_owned()))
        };
        tokio::time::timeout(Duration::from_secs(30), exchange)
            .await
            .map_err(|_| anyhow!("no response within 30 s"))?
    })
}

pub(super) fn wait_http_ok(url: &str, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    loop {
        check_interrupted()?;
        match http_get(url) {
            Ok((200, _)) => return Ok(()),
            Ok((status, _)) if Instant::now() > deadline => bail!("{url}: status {status}"),
            Err(e) if Instant::now() > deadline => bail!("{url}: {e:#}"),
            _ => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}
