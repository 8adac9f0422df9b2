//! Waiting for a condition instead of sleeping a fixed time.

use std::fmt::Debug;
use std::future::Future;
use std::time::Duration;

/// The first poll comes this soon after a miss; each miss doubles the gap,
/// up to [`MAX_INTERVAL`]. Quick conditions end quickly, slow ones are not
/// polled more than ten times a second.
const FIRST_INTERVAL: Duration = Duration::from_millis(5);
const MAX_INTERVAL: Duration = Duration::from_millis(100);

/// What one poll of [`wait_until`] returns: `Some(v)` / `Ok(v)` ends the
/// wait with `v`; `Err(seen)` goes on and names `seen` if the wait times
/// out, `None` goes on without a value to show.
pub trait Outcome {
    type Value;
    /// The value, or what was seen instead (`None`: nothing to show).
    fn into_result(self) -> Result<Self::Value, Option<String>>;
}

impl<T> Outcome for Option<T> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self.ok_or(None)
    }
}

impl<T, E: Debug> Outcome for Result<T, E> {
    type Value = T;
    fn into_result(self) -> Result<T, Option<String>> {
        self.map_err(|seen| Some(format!("{seen:?}")))
    }
}

/// Polls `check` until it returns `Some`/`Ok`, or panics after `timeout`
/// with `what` and the last `Err` value seen.
pub async fn wait_until<O, F, Fut>(what: &str, timeout: Duration, mut check: F) -> O::Value
where
    O: Outcome,
    F: FnMut() -> Fut,
    Fut: Future<Output = O>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut interval = FIRST_INTERVAL;
    loop {
        let last = match check().await.into_result() {
            Ok(v) => return v,
            Err(last) => last,
        };
        if tokio::time::Instant::now() >= deadline {
            match last {
                Some(last) => {
                    panic!("timed out after {timeout:?} waiting for {what}; last seen: {last}")
                }
                None => panic!("timed out after {timeout:?} waiting for {what}"),
            }
        }
        tokio::time::sleep(interval).await;
        interval = (interval * 2).min(MAX_INTERVAL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn returns_the_first_value() {
        let polls = AtomicU32::new(0);
        let v = wait_until("three polls", Duration::from_secs(5), || async {
            let n = polls.fetch_add(1, Ordering::SeqCst) + 1;
            (n == 3).then_some(n)
        })
        .await;
        assert_eq!(v, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "waiting for green; last seen: \"red\"")]
    async fn names_the_last_value_seen() {
        let () = wait_until("green", Duration::from_millis(50), || async {
            Err::<(), _>("red")
        })
        .await;
    }
}
