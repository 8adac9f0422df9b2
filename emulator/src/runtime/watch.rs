//! Watching task containers from outside: Docker's event stream says when
//! one of this instance's containers dies or is removed, whoever did it
//! (the app exiting, `docker kill`, `docker rm -f`, the OOM killer), and a
//! container's state can be read at any time. The stream breaks while the
//! engine restarts; the watcher reconnects once the engine answers again and
//! then asks every watcher to read its containers' state afresh.

use std::collections::HashMap;
use std::time::Duration;

use bollard::query_parameters::EventsOptionsBuilder;
use futures::StreamExt;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use super::docker::{ContainerExit, DockerRuntime, RuntimeError, LABEL_INSTANCE};

/// How long the watcher waits between attempts to reach a lost engine.
const RECONNECT_INTERVAL: Duration = Duration::from_secs(1);
/// Events are small; a watcher that falls this far behind reads states.
const EVENT_BUFFER: usize = 1024;

/// What the watcher reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerEvent {
    /// The container with this id died or was removed.
    Ended(String),
    /// Events may have been missed (the engine was unreachable): read state.
    Resync,
}

/// A container's state as Docker reports it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContainerState {
    Running,
    /// Exited (or never started), with how it ended.
    Ended(ContainerExit),
    /// No such container any more.
    Removed,
    /// The engine did not answer; try again later.
    Unknown,
}

impl DockerRuntime {
    /// Streams the deaths and removals of this instance's containers until
    /// `shutdown`. Subscribe to the returned sender.
    pub fn watch_containers(
        &self,
        shutdown: CancellationToken,
    ) -> broadcast::Sender<ContainerEvent> {
        let (tx, _) = broadcast::channel(EVENT_BUFFER);
        let sender = tx.clone();
        let docker = self.docker().clone();
        let filters = HashMap::from([
            ("type".to_string(), vec!["container".to_string()]),
            (
                "event".to_string(),
                vec!["die".to_string(), "destroy".to_string()],
            ),
            (
                "label".to_string(),
                vec![format!("{LABEL_INSTANCE}={}", self.instance())],
            ),
        ]);
        tokio::spawn(async move {
            loop {
                // Only subscribe to an engine that answers; then whatever
                // happened while it was away is read as state.
                if docker.ping().await.is_err() {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        _ = tokio::time::sleep(RECONNECT_INTERVAL) => continue,
                    }
                }
                let options = EventsOptionsBuilder::new().filters(&filters).build();
                let mut events = docker.events(Some(options));
                // Whatever ended before this subscription is read as state.
                let _ = tx.send(ContainerEvent::Resync);
                loop {
                    tokio::select! {
                        _ = shutdown.cancelled() => return,
                        event = events.next() => match event {
                            Some(Ok(event)) => {
                                if let Some(id) = event.actor.and_then(|a| a.id) {
                                    let _ = tx.send(ContainerEvent::Ended(id));
                                }
                            }
                            Some(Err(e)) => {
                                tracing::warn!(error = %e, "Docker event stream broke; reconnecting");
                                break;
                            }
                            None => {
                                tracing::warn!("Docker event stream ended; reconnecting");
                                break;
                            }
                        }
                    }
                }
            }
        });
        sender
    }

    /// The container's state now.
    pub async fn container_state(&self, id: &str) -> ContainerState {
        match self.inspect(id).await {
            Ok(info) => {
                let state = info.state.unwrap_or_default();
                if state.running == Some(true) {
                    ContainerState::Running
                } else {
                    ContainerState::Ended(ContainerExit {
                        exit_code: state.exit_code,
                        oom_killed: state.oom_killed.unwrap_or(false),
                    })
                }
            }
            Err(RuntimeError::Docker(bollard::errors::Error::DockerResponseServerError {
                status_code: 404,
                ..
            })) => ContainerState::Removed,
            Err(_) => ContainerState::Unknown,
        }
    }
}
