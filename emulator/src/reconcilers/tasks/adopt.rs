//! Tasks restored from the state file at start.
//!
//! After a crash (`kill -9`), the containers of RUNNING tasks are still
//! there: the runner adopts them (same task, same IP, same containers) and
//! watches them as if it had started them; a container that ended while the
//! emulator was down is recorded at the first check, as any other exit.
//! A task caught mid-launch cannot be finished (its driver's steps are gone),
//! so it stops as a task that failed to start, and a service replaces it.
//! Tasks that were stopping go on stopping. After a clean stop every task is
//! STOPPED already and nothing is resumed.

use std::collections::HashSet;
use std::net::Ipv4Addr;

use crate::domain::ecs::task::StopCode;
use crate::domain::ecs::{Task, TaskStatus};
use crate::domain::State;
use crate::runtime::docker::{Keep, Sandbox};

use super::TaskRunner;

/// Why a task restored mid-launch stops.
const INTERRUPTED_LAUNCH_REASON: &str =
    "Task failed to start: the emulator restarted while the task was starting";

/// The Docker objects a restored state still uses, kept at start.
pub fn adoptable(state: &State) -> Keep {
    let containers = state
        .ecs
        .tasks
        .values()
        .filter(|t| adopts_containers(t))
        .flat_map(|t| {
            t.runtime
                .sandbox_id
                .iter()
                .chain(t.containers.iter().filter_map(|c| c.runtime_id.as_ref()))
                .cloned()
                .collect::<Vec<_>>()
        })
        .collect();
    Keep {
        containers,
        default_vpc_cidr: state.ec2.default_vpc_cidr,
        vpcs: state.ec2.vpc_ids().collect::<HashSet<_>>(),
    }
}

/// The restored tasks that are not STOPPED: the runner resumes each.
pub fn resumable(state: &State) -> Vec<String> {
    state
        .ecs
        .tasks
        .values()
        .filter(|t| t.last_status != TaskStatus::Stopped)
        .map(|t| t.task_arn.clone())
        .collect()
}

/// RUNNING or on its way to STOPPED: its containers are adopted.
fn adopts_containers(task: &Task) -> bool {
    task.last_status >= TaskStatus::Running && task.last_status != TaskStatus::Stopped
}

impl TaskRunner {
    /// Drives a restored task from where it was to STOPPED.
    pub(super) async fn resume(&self, arn: String) {
        let Some(task) = self.snapshot(&arn) else {
            return;
        };
        let containers: Vec<(String, String)> = task
            .containers
            .iter()
            .filter_map(|c| Some((c.name.clone(), c.runtime_id.clone()?)))
            .collect();
        let sandbox = restored_sandbox(&task);
        let mut endpoints = vec![];
        if !adopts_containers(&task) {
            self.update(&arn, |t| {
                t.request_stop(StopCode::TaskFailedToStart, INTERRUPTED_LAUNCH_REASON)
            });
        } else if let Some(sandbox) = &sandbox {
            if task.last_status == TaskStatus::Running {
                tracing::info!(task = %arn, ip = %sandbox.ip, "task adopted");
                endpoints.extend(self.serve_in_namespace(&task, sandbox).await);
                endpoints.extend(self.serve_service_connect(&task, sandbox).await);
                endpoints.extend(self.serve_task_dns(&task, sandbox).await);
                self.resume_log_shipping(&task, &containers);
                self.monitor(&arn, sandbox, &containers).await;
            }
        } else {
            // Without its sandbox the task has no network.
            self.update(&arn, |t| {
                t.request_stop(
                    StopCode::EssentialContainerExited,
                    "Essential container in task exited",
                )
            });
        }
        self.stop(&arn, sandbox.as_ref(), &containers).await;
        drop(endpoints);
    }

    /// Ships what the containers wrote after the last event the store has.
    fn resume_log_shipping(&self, task: &Task, containers: &[(String, String)]) {
        let generation = self.inner.store.generation();
        for (name, id) in containers {
            let Some(destination) = super::log_destination(task, name) else {
                continue;
            };
            let after = self.inner.store.read(|s| {
                s.logs
                    .group(&destination.group)
                    .ok()
                    .and_then(|g| g.stream(&destination.stream).ok())
                    .and_then(|s| s.last_event_timestamp())
            });
            crate::reconcilers::logs::ship_after(
                self.inner.store.clone(),
                self.inner.runtime.clone(),
                id.clone(),
                destination,
                generation,
                after,
            );
        }
    }
}

/// The sandbox as the task recorded it: its container and ENI.
fn restored_sandbox(task: &Task) -> Option<Sandbox> {
    let detail = |name: &str| {
        task.attachments
            .iter()
            .flat_map(|a| a.details.iter())
            .find(|d| d.name == name)
            .map(|d| d.value.clone())
    };
    Some(Sandbox {
        container_id: task.runtime.sandbox_id.clone()?,
        ip: task.private_ip()?.parse::<Ipv4Addr>().ok()?,
        mac: detail("macAddress").unwrap_or_default(),
    })
}
