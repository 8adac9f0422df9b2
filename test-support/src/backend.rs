//! An HTTP/1 test target: a hyper server on a socket bound by the test.

use std::convert::Infallible;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio_util::sync::CancellationToken;

/// A response body that is either whole (see [`text`]) or streamed, such
/// as a request's body echoed back.
pub type BoxBody = http_body_util::combinators::BoxBody<Bytes, hyper::Error>;

/// A whole body of `s`.
pub fn text(s: impl Into<String>) -> BoxBody {
    Full::new(Bytes::from(s.into()))
        .map_err(|e| match e {})
        .boxed()
}

/// An HTTP/1 server (upgrades allowed) answering every request with its
/// handler. Dropping it stops accepting and closes its connections.
pub struct Backend {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
    stop: CancellationToken,
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

impl Backend {
    /// Serves `handle` on 127.0.0.`octet` (Linux routes all of 127/8 to
    /// loopback), any port.
    pub async fn on_loopback<F, Fut, B>(octet: u8, handle: F) -> Self
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<B>, Infallible>> + Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        Self::start(Ipv4Addr::new(127, 0, 0, octet), handle).await
    }

    /// Serves `handle` on `ip`, any port.
    pub async fn start<F, Fut, B>(ip: Ipv4Addr, handle: F) -> Self
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<B>, Infallible>> + Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let listener = tokio::net::TcpListener::bind((ip, 0))
            .await
            .unwrap_or_else(|e| panic!("bind a test backend on {ip}: {e}"));
        Self::serve(listener, handle)
    }

    /// Answers every request with `status` and `body`.
    pub async fn answering(octet: u8, status: u16, body: &'static str) -> Self {
        Self::on_loopback(octet, move |_| async move {
            Ok::<_, Infallible>(
                Response::builder()
                    .status(status)
                    .body(Full::new(Bytes::from_static(body.as_bytes())))
                    .expect("a valid status"),
            )
        })
        .await
    }

    /// Serves `handle` on a listener the caller bound.
    pub fn serve<F, Fut, B>(listener: tokio::net::TcpListener, handle: F) -> Self
    where
        F: Fn(Request<Incoming>) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = Result<Response<B>, Infallible>> + Send + 'static,
        B: http_body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    {
        let addr = listener.local_addr().expect("a bound address");
        let requests = Arc::new(AtomicUsize::new(0));
        let stop = CancellationToken::new();
        let (counted, stopped) = (requests.clone(), stop.clone());
        tokio::spawn(async move {
            loop {
                let stream = tokio::select! {
                    _ = stopped.cancelled() => return,
                    a = listener.accept() => match a { Ok((s, _)) => s, Err(_) => continue },
                };
                let (handle, counted, stopped) = (handle.clone(), counted.clone(), stopped.clone());
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req| {
                        counted.fetch_add(1, Ordering::SeqCst);
                        handle(req)
                    });
                    let conn = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), svc)
                        .with_upgrades();
                    tokio::select! {
                        _ = conn => {}
                        _ = stopped.cancelled() => {}
                    }
                });
            }
        });
        Self {
            addr,
            requests,
            stop,
        }
    }

    /// Requests received so far, on every connection.
    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }

    /// Cancelled when the backend is dropped.
    pub fn stop_token(&self) -> CancellationToken {
        self.stop.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn answers_and_counts() {
        let backend = Backend::answering(1, 418, "teapot").await;
        let stream = tokio::net::TcpStream::connect(backend.addr).await.unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let response = sender
            .send_request(
                Request::get("/")
                    .header("host", "x")
                    .body(http_body_util::Empty::<Bytes>::new())
                    .unwrap(),
            )
            .await
            .unwrap();
        assert_eq!(response.status(), 418);
        let body = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(&body[..], b"teapot");
        assert_eq!(backend.requests(), 1);
    }
}
