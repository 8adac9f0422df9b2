//! What the ALB did, made visible: CloudWatch-style metrics (Prometheus text
//! at `GET /metrics`) and access logs in AWS's format.
//!
//! This module knows nothing of the data plane's types: the data plane
//! records into it (`dataplane::observe` measures each request and fills
//! the counters here and the access-log entry), and the control port reads
//! it. Nothing on the request path waits on I/O: access-log entries go
//! through a bounded channel to a writer task (see [`access_log`]), and only
//! when `--access-log` is set.
//!
//! # Layout
//! - this file: [`Observability`], the handle on all of it.
//! - [`metrics`]: the counters and the Prometheus text.
//! - [`access_log`]: the entry, its format and the writer task.
//! - [`rates`]: the ring of recent per-target samples the dashboard reads.

pub mod access_log;
pub mod metrics;
pub mod rates;

use std::sync::{Arc, OnceLock};

use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::config::Config;
use access_log::{AccessLogSink, Destination};
use metrics::Metrics;

/// The data plane's metrics and access log. Cheap to clone.
#[derive(Clone, Default)]
pub struct Observability {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    metrics: Metrics,
    rates: rates::Rates,
    /// Set once, when the data plane starts with `--access-log`.
    access_log: OnceLock<AccessLogSink>,
}

impl Observability {
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Recent per-target rates, for the dashboard.
    pub fn rates(&self) -> &rates::Rates {
        &self.inner.rates
    }

    /// Starts the access-log writer when `--access-log` is set. It runs on
    /// `tasks` and stops (after writing what is queued) when `stop` is
    /// cancelled. A log file that cannot be opened is reported and leaves
    /// access logging off.
    pub fn start(&self, config: &Config, tasks: &TaskTracker, stop: &CancellationToken) {
        let Some(dest) = config.access_log.as_deref() else {
            return;
        };
        let dropped = self.inner.metrics.access_log_dropped.clone();
        match AccessLogSink::start(&Destination::parse(dest), tasks, stop.clone(), dropped) {
            Ok(sink) => {
                let _ = self.inner.access_log.set(sink);
                tracing::info!(destination = dest, "ALB access log on");
            }
            Err(e) => {
                tracing::error!(error = %e, destination = dest, "cannot open the access log; access logging is off");
            }
        }
    }

    /// The access-log writer, when `--access-log` is set and it started.
    pub fn access_log(&self) -> Option<&AccessLogSink> {
        self.inner.access_log.get()
    }
}
