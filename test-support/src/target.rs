//! The answers of the test targets the data-plane tests proxy to.

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::backend::{text, BoxBody};

/// How long `/slow` takes to answer: longer than the idle timeouts the
/// tests set (1 s), so the proxy gives up first.
pub const SLOW: Duration = Duration::from_secs(3);

/// A target named `name`, by path:
/// - `/headers`: the request's headers, one `name: value` line each;
/// - `/echo`: the request's body, streamed back;
/// - `/slow`: `slow` after [`SLOW`];
/// - `/ws`: `101` with the request's `Upgrade`, then echoes bytes;
/// - anything else: `hello from NAME`.
///
/// All but `/headers` and `/echo` carry `x-backend: NAME`.
pub async fn answer(
    name: &'static str,
    mut req: Request<Incoming>,
) -> Result<Response<BoxBody>, Infallible> {
    let resp = match req.uri().path() {
        "/headers" => {
            let mut out = String::new();
            for (k, v) in req.headers() {
                out.push_str(&format!("{k}: {}\n", v.to_str().unwrap_or("?")));
            }
            Response::new(text(out))
        }
        "/echo" => Response::new(req.into_body().boxed()),
        "/slow" => {
            // The slow target is what the test is about: it answers late.
            tokio::time::sleep(SLOW).await;
            Response::builder()
                .header("x-backend", name)
                .body(text("slow"))
                .unwrap()
        }
        "/ws" => {
            let protocol = req.headers().get("upgrade").cloned();
            let on = hyper::upgrade::on(&mut req);
            tokio::spawn(async move {
                if let Ok(up) = on.await {
                    let mut io = TokioIo::new(up);
                    let mut buf = [0u8; 4096];
                    while let Ok(n) = io.read(&mut buf).await {
                        if n == 0 || io.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                    }
                }
            });
            let mut resp = Response::builder()
                .status(101)
                .header("connection", "upgrade");
            if let Some(protocol) = protocol {
                resp = resp.header("upgrade", protocol);
            }
            resp.body(text("")).unwrap()
        }
        _ => Response::builder()
            .header("x-backend", name)
            .body(text(format!("hello from {name}")))
            .unwrap(),
    };
    Ok(resp)
}
