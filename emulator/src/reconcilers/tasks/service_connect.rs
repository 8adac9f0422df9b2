//! Service Connect inside a task: each alias of the task's namespace is
//! a name in the task's hosts file (see `eni`), and the emulator listens at
//! its address inside the task's network namespace, as the Service Connect
//! proxy does on Fargate; the data plane balances what arrives there.

use std::net::SocketAddrV4;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio_util::sync::DropGuard;

use crate::domain::ecs::service_connect::{self, TaskAlias};
use crate::domain::ecs::Task;
use crate::runtime::docker::Sandbox;
use crate::runtime::netns;

use super::TaskRunner;

/// Whether the warning that aliases cannot be served was given.
static WARNED: AtomicBool = AtomicBool::new(false);

impl TaskRunner {
    /// The aliases a task reaches, for its hosts file.
    pub(super) fn service_connect_hosts(&self, task: &Task) -> Vec<String> {
        self.aliases(task)
            .iter()
            .map(|a| format!("{}:{}", a.dns_name, a.address))
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect()
    }

    fn aliases(&self, task: &Task) -> Vec<TaskAlias> {
        self.inner
            .store
            .read(|s| service_connect::task_aliases(s, task))
    }

    /// Starts serving every alias inside the task; they stop when the
    /// guard is dropped. `None` when the task has no aliases or the
    /// emulator cannot enter its namespace (warned once).
    pub(super) async fn serve_service_connect(
        &self,
        task: &Task,
        sandbox: &Sandbox,
    ) -> Option<DropGuard> {
        let aliases = self.aliases(task);
        if aliases.is_empty() {
            return None;
        }
        let pid = match self.inner.runtime.process_id(&sandbox.container_id).await {
            Ok(pid) => pid,
            Err(e) => {
                tracing::warn!(task = %task.task_arn, error = %e, "Service Connect: no sandbox process");
                return None;
            }
        };
        let token = self.inner.shutdown.child_token();
        for alias in aliases {
            let addr = SocketAddrV4::new(alias.address, alias.port);
            let served = match netns::listen_in(pid, addr).await {
                Ok(listener) => listener.into_std().and_then(|socket| {
                    self.inner.dataplane.serve_service_connect(
                        &alias.key,
                        socket,
                        alias.http,
                        token.clone(),
                    )
                }),
                Err(e) => Err(e),
            };
            if let Err(e) = served {
                if !WARNED.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        task = %task.task_arn,
                        alias = %alias.dns_name,
                        error = %e,
                        "cannot serve Service Connect aliases inside tasks (this needs root on a \
                         Linux Docker host): the aliases resolve but refuse connections"
                    );
                }
                break;
            }
        }
        Some(token.drop_guard())
    }
}
