//! The fixed-rate load on the listener and the emulator's RSS samples.

use super::*;

/// GET `url` at `rate` per second, each on its own schedule (open loop: a
/// slow answer does not delay the next request), over a few keep-alive
/// connections, until `stop`; every request is recorded.
pub(super) async fn load(url: hyper::Uri, rate: u32, journal: Arc<Journal>, stop: Arc<AtomicBool>) {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    let client: Client<_, Empty<bytes::Bytes>> = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(CONNECTIONS)
        .build(connector);
    let limit = Arc::new(tokio::sync::Semaphore::new(MAX_IN_FLIGHT));
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / f64::from(rate)));
    let mut in_flight = tokio::task::JoinSet::new();
    while !stop.load(Relaxed) {
        tick.tick().await;
        while in_flight.try_join_next().is_some() {}
        let start = journal.now();
        let Ok(permit) = limit.clone().try_acquire_owned() else {
            journal.requests.lock().unwrap().push(Request {
                start,
                end: start,
                outcome: Outcome::Error(format!("client: {MAX_IN_FLIGHT} requests in flight")),
            });
            continue;
        };
        let (client, url, journal) = (client.clone(), url.clone(), journal.clone());
        in_flight.spawn(async move {
            let outcome = match tokio::time::timeout(REQUEST_TIMEOUT, get(&client, url)).await {
                Ok(Ok(status)) => Outcome::Status(status),
                Ok(Err(e)) => Outcome::Error(format!("{e:#}")),
                Err(_) => Outcome::Error(format!("no answer in {REQUEST_TIMEOUT:?}")),
            };
            let end = journal.now();
            journal.requests.lock().unwrap().push(Request {
                start,
                end,
                outcome,
            });
            drop(permit);
        });
    }
    while in_flight.join_next().await.is_some() {}
}

pub(super) async fn get(
    client: &Client<HttpConnector, Empty<bytes::Bytes>>,
    url: hyper::Uri,
) -> Result<u16> {
    let response = client.get(url).await?;
    let status = response.status().as_u16();
    response.into_body().collect().await?;
    Ok(status)
}

/// The emulator's VmRSS (and its anonymous part) every [`RSS_EVERY`] while
/// it runs, and once more when stopped.
pub(super) async fn sample_rss(
    journal: Arc<Journal>,
    pid: Arc<AtomicU32>,
    process: Arc<AtomicU32>,
    stop: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(RSS_EVERY);
    loop {
        let last = stop.load(Relaxed);
        let (pid, process) = (pid.load(Relaxed), process.load(Relaxed));
        if let Some(kib) = (pid != 0).then(|| status_number(pid, "VmRSS:")).flatten() {
            journal.rss.lock().unwrap().push(RssSample {
                at: journal.now(),
                kib,
                anon_kib: status_number(pid, "RssAnon:").unwrap_or(0),
                threads: status_number(pid, "Threads:").unwrap_or(0),
                process,
            });
        }
        if last {
            return;
        }
        tick.tick().await;
    }
}

/// The number of a `KEY:` line of a process's `/proc/PID/status`: VmRSS
/// and RssAnon in KiB, Threads as a count.
pub(super) fn status_number(pid: u32, key: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(key))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}
