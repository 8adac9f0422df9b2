//! Live per-target rates for the dashboard: a sampler
//! (`dataplane::observe::sample_rates`) copies every target's counters into
//! a small ring once a second, and a reader compares the
//! current counters with the oldest sample still in the window.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::metrics::HistogramValues;

/// Rates cover about this much recent time.
pub const WINDOW: Duration = Duration::from_secs(5);
/// How often the sampler runs.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(1);

/// One target's counters at one instant.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TargetSample {
    pub requests: u64,
    pub response_time: HistogramValues,
}

/// What a target did over the window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LiveRate {
    pub requests_per_second: f64,
    /// Mean and median response time in seconds; `None` without responses.
    pub mean: Option<f64>,
    pub p50: Option<f64>,
}

struct Sample {
    at: Instant,
    targets: HashMap<(String, SocketAddr), TargetSample>,
}

/// The ring of recent samples. A `std::sync::Mutex`: the sampler and the
/// state endpoint take it briefly, never across an `.await`, and the request
/// path never touches it.
#[derive(Default)]
pub struct Rates {
    ring: Mutex<VecDeque<Sample>>,
}

impl Rates {
    /// Records every target's counters at `now`, keyed by target group ARN
    /// and address, and forgets samples older than the window.
    pub fn sample(&self, targets: HashMap<(String, SocketAddr), TargetSample>, now: Instant) {
        let mut ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        ring.push_back(Sample { at: now, targets });
        while ring
            .front()
            .is_some_and(|s| now.duration_since(s.at) > WINDOW + SAMPLE_EVERY / 2)
        {
            ring.pop_front();
        }
    }

    /// Rates of a target whose counters read `current` at `now`, against the
    /// oldest sample that knew it; `None` until one exists.
    pub fn live(
        &self,
        tg_arn: &str,
        addr: SocketAddr,
        current: TargetSample,
        now: Instant,
    ) -> Option<LiveRate> {
        let ring = self.ring.lock().unwrap_or_else(|p| p.into_inner());
        let (at, then) = ring.iter().find_map(|s| {
            s.targets
                .get(&(tg_arn.to_string(), addr))
                .map(|t| (s.at, *t))
        })?;
        let secs = now.checked_duration_since(at)?.as_secs_f64();
        if secs < 0.2 {
            return None;
        }
        let latency = current.response_time.since(&then.response_time);
        Some(LiveRate {
            requests_per_second: current.requests.saturating_sub(then.requests) as f64 / secs,
            mean: latency.mean(),
            p50: latency.quantile(0.5),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observability::metrics::Histogram;

    #[test]
    fn rate_mean_and_median_over_the_window() {
        let h = Histogram::default();
        let before = TargetSample {
            requests: 10,
            response_time: h.read(),
        };
        for ms in [2, 3, 4, 40] {
            h.observe(Duration::from_millis(ms));
        }
        let after = TargetSample {
            requests: 30,
            response_time: h.read(),
        };
        let rates = Rates::default();
        let t0 = Instant::now();
        let addr: SocketAddr = "10.0.0.1:80".parse().unwrap();
        rates.ring.lock().unwrap().push_back(Sample {
            at: t0,
            targets: HashMap::from([(("tg".to_string(), addr), before)]),
        });
        let live = rates
            .live("tg", addr, after, t0 + Duration::from_secs(2))
            .unwrap();
        assert_eq!(live.requests_per_second, 10.0);
        assert!((live.mean.unwrap() - 0.01225).abs() < 1e-9);
        // Two of four in the 2.5-5 ms bucket: the median lies inside it.
        let p50 = live.p50.unwrap();
        assert!((0.0025..=0.005).contains(&p50), "{p50}");
        assert!(rates.live("other", addr, after, t0).is_none());
    }
}
