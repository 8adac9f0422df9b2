//! A bounded HTTP load generator over keep-alive connections.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// What a load run saw.
#[derive(Debug, Default, Clone)]
pub struct Report {
    pub sent: u64,
    pub ok: u64,
    /// Status code -> count, for responses that were not 2xx.
    pub non_2xx: BTreeMap<u16, u64>,
    /// Connection errors and timeouts.
    pub errors: u64,
    /// The `field` of each JSON response body -> count (e.g. `ip`, `version`).
    pub by_field: BTreeMap<String, u64>,
}

impl Report {
    pub fn failures(&self) -> u64 {
        self.non_2xx.values().sum::<u64>() + self.errors
    }
}

/// Sends GET `url` from `concurrency` workers until `stop` is set, or
/// `max_requests` were sent, or `max_duration` passed, whichever is first.
pub async fn run(
    url: &str,
    concurrency: usize,
    field: &str,
    stop: Arc<AtomicBool>,
    max_requests: u64,
    max_duration: Duration,
) -> Report {
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let report = Arc::new(Mutex::new(Report::default()));
    let deadline = Instant::now() + max_duration;
    let budget = Arc::new(std::sync::atomic::AtomicU64::new(max_requests));
    let mut workers = vec![];
    for _ in 0..concurrency {
        let (client, report, stop, budget) =
            (client.clone(), report.clone(), stop.clone(), budget.clone());
        let url: hyper::Uri = url.parse().expect("url");
        let field = field.to_string();
        workers.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                if budget
                    .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |b| b.checked_sub(1))
                    .is_err()
                {
                    break;
                }
                let result = tokio::time::timeout(Duration::from_secs(10), async {
                    let response = client.get(url.clone()).await?;
                    let status = response.status().as_u16();
                    let body = response.into_body().collect().await?.to_bytes();
                    Ok::<_, anyhow::Error>((status, body))
                })
                .await;
                let mut r = report.lock().unwrap();
                r.sent += 1;
                match result {
                    Ok(Ok((status, body))) if (200..300).contains(&status) => {
                        r.ok += 1;
                        let value = serde_json::from_slice::<serde_json::Value>(&body)
                            .ok()
                            .and_then(|v| v.get(&field).and_then(|f| f.as_str().map(String::from)));
                        if let Some(value) = value {
                            *r.by_field.entry(value).or_default() += 1;
                        }
                    }
                    Ok(Ok((status, _))) => *r.non_2xx.entry(status).or_default() += 1,
                    _ => r.errors += 1,
                }
            }
        }));
    }
    for w in workers {
        let _ = w.await;
    }
    let r = report.lock().unwrap().clone();
    r
}
