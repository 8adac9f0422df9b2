//! Ships the output of containers that use the `awslogs` driver into the
//! CloudWatch Logs model, so `aws logs get-log-events` shows it.
//!
//! One shipper per container follows Docker's log stream (stdout and stderr,
//! each line with Docker's timestamp) and appends the lines to the store in
//! batches ([`Store::write_logs`], which wakes no reconciler), so a chatty
//! container takes the store's lock a few times a second, not once per line.

use std::time::Duration;

use bollard::container::LogOutput;
use bollard::query_parameters::LogsOptionsBuilder;
use futures::StreamExt;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::domain::logs::now_millis;
use crate::domain::Store;
use crate::runtime::DockerRuntime;

/// Buffered lines reach the store at most this long after Docker sent the
/// first of them. (The awslogs driver flushes every 5 s by default; shorter
/// here, so tests and people see output at once.)
const FLUSH_INTERVAL: Duration = Duration::from_millis(200);
/// A batch is written as soon as it holds this many lines.
const MAX_BATCH_LINES: usize = 1_000;

/// Where one container's output goes.
#[derive(Debug, Clone)]
pub struct LogDestination {
    pub group: String,
    /// `prefix/container-name/task-id`, as AWS names awslogs streams.
    pub stream: String,
}

/// Follows `container_id`'s stdout and stderr until the container is gone.
///
/// The spawned task lives as long as the container's log stream: Docker ends
/// a followed stream when the container stops, and the task runner removes
/// every container when a task stops and at shutdown. The group and stream
/// are created if missing (see [`crate::domain::logs::LogsState::append_creating`]).
/// `generation` is the store's when the task started: after a reset, the
/// last lines of a container being removed are dropped, not written into
/// the fresh state.
pub fn ship(
    store: Store,
    runtime: DockerRuntime,
    container_id: String,
    destination: LogDestination,
    generation: u64,
) {
    ship_after(store, runtime, container_id, destination, generation, None);
}

/// [`ship`], leaving out lines stamped at or before `after` (milliseconds):
/// for a container adopted after a restart, whose earlier lines the store
/// has. A line stamped in the same millisecond as the last one kept is taken
/// as shipped already.
pub fn ship_after(
    store: Store,
    runtime: DockerRuntime,
    container_id: String,
    destination: LogDestination,
    generation: u64,
    after: Option<i64>,
) {
    tokio::spawn(async move {
        let out = Output {
            store: &store,
            destination: &destination,
            generation,
        };
        follow(&out, &runtime, &container_id, after).await;
        tracing::debug!(container = %container_id, group = %destination.group, stream = %destination.stream, "log shipping ended");
    });
}

/// Where a shipper's batches go.
struct Output<'a> {
    store: &'a Store,
    destination: &'a LogDestination,
    generation: u64,
}

async fn follow(out: &Output<'_>, runtime: &DockerRuntime, container_id: &str, after: Option<i64>) {
    let mut options = LogsOptionsBuilder::new()
        .follow(true)
        .stdout(true)
        .stderr(true)
        .timestamps(true);
    if let Some(after) = after {
        // Docker's `since` is in whole seconds; the lines of that second
        // that the store has are dropped below.
        options = options.since((after / 1000) as i32);
    }
    let options = options.build();
    let mut frames = runtime.docker().logs(container_id, Some(options));
    let mut batch: Vec<(i64, String)> = Vec::new();
    let mut flush_at = tokio::time::Instant::now();
    loop {
        let frame = if batch.is_empty() {
            frames.next().await
        } else {
            tokio::select! {
                frame = frames.next() => frame,
                _ = tokio::time::sleep_until(flush_at) => {
                    flush(out, &mut batch);
                    continue;
                }
            }
        };
        match frame {
            Some(Ok(frame)) => {
                if batch.is_empty() {
                    flush_at = tokio::time::Instant::now() + FLUSH_INTERVAL;
                }
                batch.extend(
                    parse_frame(frame)
                        .into_iter()
                        .filter(|(at, _)| after.is_none_or(|after| *at > after)),
                );
                if batch.len() >= MAX_BATCH_LINES {
                    flush(out, &mut batch);
                }
            }
            Some(Err(e)) => {
                // Typically the container was removed mid-stream.
                tracing::debug!(container = %container_id, error = %e, "container log stream failed");
                break;
            }
            None => break,
        }
    }
    flush(out, &mut batch);
}

fn flush(out: &Output<'_>, batch: &mut Vec<(i64, String)>) {
    if batch.is_empty() {
        return;
    }
    let events = std::mem::take(batch);
    out.store.write_logs_in(out.generation, |logs| {
        logs.append_creating(
            &out.destination.group,
            &out.destination.stream,
            events,
            now_millis(),
        )
    });
}

/// The events in one Docker log frame: `RFC3339Nano-timestamp SP line LF`,
/// usually one line per frame. Empty lines are dropped, as the awslogs
/// driver drops them (CloudWatch rejects empty messages). A line without a
/// readable timestamp gets the time it arrived.
fn parse_frame(frame: LogOutput) -> Vec<(i64, String)> {
    let bytes = frame.into_bytes();
    String::from_utf8_lossy(&bytes)
        .split_terminator('\n')
        .filter_map(|line| {
            let line = line.strip_suffix('\r').unwrap_or(line);
            let (timestamp, message) = match line.split_once(' ') {
                Some((ts, rest)) => match OffsetDateTime::parse(ts, &Rfc3339) {
                    Ok(t) => ((t.unix_timestamp_nanos() / 1_000_000) as i64, rest),
                    Err(_) => (now_millis(), line),
                },
                None => match OffsetDateTime::parse(line, &Rfc3339) {
                    // A timestamp alone: the line was empty.
                    Ok(_) => return None,
                    Err(_) => (now_millis(), line),
                },
            };
            (!message.is_empty()).then(|| (timestamp, message.to_string()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stdout(s: &str) -> LogOutput {
        LogOutput::StdOut {
            message: bytes::Bytes::from(s.to_string()),
        }
    }

    #[test]
    fn frames_become_events_with_docker_timestamps() {
        let events = parse_frame(stdout(
            "2024-05-06T07:08:09.123456789Z sample-app listening on 0.0.0.0:8080\n",
        ));
        assert_eq!(
            events,
            [(
                1714979289123,
                "sample-app listening on 0.0.0.0:8080".to_string()
            )]
        );
        // Docker trims trailing zeros of the fraction.
        let events = parse_frame(stdout("2024-05-06T07:08:09.5Z GET / 200\n"));
        assert_eq!(events, [(1714979289500, "GET / 200".to_string())]);
        let events = parse_frame(LogOutput::StdErr {
            message: "2024-05-06T07:08:09Z  two  spaces \r\n".into(),
        });
        assert_eq!(events, [(1714979289000, " two  spaces ".to_string())]);
    }

    #[test]
    fn empty_lines_are_dropped_and_frames_may_hold_several_lines() {
        assert!(parse_frame(stdout("2024-05-06T07:08:09.5Z \n")).is_empty());
        assert!(parse_frame(stdout("2024-05-06T07:08:09.5Z\n")).is_empty());
        let events = parse_frame(stdout("2024-05-06T07:08:09Z a\n2024-05-06T07:08:10Z b\n"));
        assert_eq!(
            events,
            [(1714979289000, "a".into()), (1714979290000, "b".into())]
        );
        let before = now_millis();
        let events = parse_frame(stdout("no timestamp here\n"));
        assert_eq!(events[0].1, "no timestamp here");
        assert!(events[0].0 >= before);
    }
}
