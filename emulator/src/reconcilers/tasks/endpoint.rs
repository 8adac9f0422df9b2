//! How a task's containers reach the metadata and credentials endpoint, and
//! the environment that tells them where it is.
//!
//! Where the emulator can enter the task's network namespace, the endpoint
//! is at 169.254.170.2 as on Fargate, and a task role's credentials are
//! served at `AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`. Where it cannot (not
//! root, Docker Desktop), metadata is served on the task network's gateway
//! and a task role's credentials are given to the containers as
//! `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and `AWS_SESSION_TOKEN`,
//! which every SDK also reads.

use std::io::ErrorKind;
use std::sync::atomic::Ordering;

use time::OffsetDateTime;
use tokio_util::sync::DropGuard;

use crate::domain::ecs::Task;
use crate::runtime::docker::Sandbox;
use crate::runtime::{metadata, task_dns};

use super::TaskRunner;

/// The endpoint variables every container of a task gets.
#[derive(Debug, Default)]
pub(super) struct EndpointEnvironment {
    /// The metadata base URL, without the container key.
    pub(super) metadata_v4: Option<String>,
    /// `NAME=value` pairs that give the SDK the task role's credentials.
    pub(super) credentials: Vec<String>,
}

impl TaskRunner {
    /// Starts the task's own endpoint, if the emulator can, and says how the
    /// containers find it. The endpoint stops when the guard is dropped.
    pub(super) async fn task_endpoint(
        &self,
        task: &Task,
        sandbox: &Sandbox,
    ) -> (Option<DropGuard>, EndpointEnvironment) {
        let guard = self.serve_in_namespace(task, sandbox).await;
        let metadata_v4 = if guard.is_some() {
            Some(metadata::link_local_metadata_v4())
        } else {
            self.inner.endpoints.as_ref().map(|e| e.metadata_v4.clone())
        };
        let credentials = match &task.definition.task_role_arn {
            None => vec![],
            Some(_) if guard.is_some() => {
                let id = uuid::Uuid::new_v4().to_string();
                let uri = metadata::credentials_relative_uri(&id);
                self.update(&task.task_arn, |t| t.runtime.credentials_id = Some(id));
                vec![format!("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI={uri}")]
            }
            Some(_) => self.static_credentials(task),
        };
        (
            guard,
            EndpointEnvironment {
                metadata_v4,
                credentials,
            },
        )
    }

    pub(super) async fn serve_in_namespace(
        &self,
        task: &Task,
        sandbox: &Sandbox,
    ) -> Option<DropGuard> {
        if !self.inner.store.config().task_link_local_endpoint
            || self.inner.no_namespace_endpoint.load(Ordering::Relaxed)
        {
            return None;
        }
        let served = match self.inner.runtime.process_id(&sandbox.container_id).await {
            Ok(pid) => {
                let token = self.inner.shutdown.child_token();
                metadata::start_in_task(self.inner.store.clone(), pid, token.clone())
                    .await
                    .map(|()| token.drop_guard())
            }
            Err(e) => Err(std::io::Error::other(e.to_string())),
        };
        match served {
            Ok(guard) => Some(guard),
            Err(e) => {
                let lacks_rights = matches!(
                    e.kind(),
                    ErrorKind::PermissionDenied | ErrorKind::Unsupported | ErrorKind::NotFound
                );
                if !lacks_rights {
                    tracing::warn!(task = %task.task_arn, error = %e, "no endpoint at 169.254.170.2 in this task");
                } else if !self
                    .inner
                    .no_namespace_endpoint
                    .swap(true, Ordering::Relaxed)
                {
                    tracing::warn!(
                        error = %e,
                        "cannot serve 169.254.170.2 inside tasks (this needs root on a Linux Docker host): \
                         task metadata is served on the task network's gateway instead, and task roles' \
                         credentials are given as AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN"
                    );
                }
                None
            }
        }
    }

    /// The DNS server for a task of `vpc`: the emulator's own inside the
    /// task when the VPC sees a Cloud Map DNS namespace (for SRV records)
    /// and the emulator can serve it; else Docker's default.
    pub(super) fn task_dns_servers(&self, vpc: &str) -> Vec<String> {
        let serves = self.inner.store.config().task_link_local_endpoint
            && !self.inner.no_namespace_endpoint.load(Ordering::Relaxed)
            && self
                .inner
                .store
                .read(|s| s.servicediscovery.has_dns_namespace_for(vpc));
        if serves {
            vec![task_dns::address().to_string()]
        } else {
            vec![]
        }
    }

    /// Starts the task's DNS server if its sandbox was given it (see
    /// [`Self::task_dns_servers`]); it stops when the guard is dropped.
    pub(super) async fn serve_task_dns(&self, task: &Task, sandbox: &Sandbox) -> Option<DropGuard> {
        let vpc = task.runtime.vpc_id.clone()?;
        if self.task_dns_servers(&vpc).is_empty() {
            return None;
        }
        let pid = self
            .inner
            .runtime
            .process_id(&sandbox.container_id)
            .await
            .ok()?;
        let token = self.inner.shutdown.child_token();
        match task_dns::start_in_task(self.inner.store.clone(), pid, vpc, token.clone()).await {
            Ok(()) => Some(token.drop_guard()),
            Err(e) => {
                tracing::warn!(task = %task.task_arn, error = %e, "no DNS server inside the task: its names outside Cloud Map do not resolve");
                None
            }
        }
    }

    /// The task role's credentials as environment variables, for tasks
    /// without the credentials endpoint.
    fn static_credentials(&self, task: &Task) -> Vec<String> {
        let now = OffsetDateTime::now_utc();
        let issued = self
            .inner
            .store
            .write(|s| s.issue_task_role_credentials(&task.task_arn, now));
        match issued {
            Ok((_, c)) => vec![
                format!("AWS_ACCESS_KEY_ID={}", c.access_key_id),
                format!("AWS_SECRET_ACCESS_KEY={}", c.secret_access_key),
                format!("AWS_SESSION_TOKEN={}", c.session_token),
            ],
            Err(e) => {
                tracing::warn!(task = %task.task_arn, error = %e, "no credentials for the task role");
                vec![]
            }
        }
    }
}
