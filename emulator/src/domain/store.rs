//! The single store of control-plane state.
//!
//! A `std::sync::Mutex` is right here: every critical section is short,
//! synchronous, and never spans an `.await`. Reconcilers subscribe to the
//! version counter to learn that something changed; the data plane never
//! touches this lock (it reads snapshots, see `dataplane`).
//!
//! [`Store::reset`] replaces the whole state at once (`POST /_emulator/reset`);
//! its generation counter lets background work that outlives a reset (a
//! container's log shipper) tell that its world is gone.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use super::{autoscaling, ec2, ecs, elbv2, iam, logs, secretsmanager, servicediscovery, ssm};
use crate::config::Config;

/// Everything the control plane knows.
#[derive(Debug, Default, borsh::BorshSerialize, borsh::BorshDeserialize)]
pub struct State {
    pub autoscaling: autoscaling::AutoScalingState,
    pub ec2: ec2::Ec2State,
    pub ecs: ecs::EcsState,
    pub elbv2: elbv2::Elbv2State,
    pub iam: iam::IamState,
    pub logs: logs::LogsState,
    pub secretsmanager: secretsmanager::SecretsState,
    pub servicediscovery: servicediscovery::ServiceDiscoveryState,
    pub ssm: ssm::SsmState,
}

/// A task role's credentials are issued again once they have less than
/// this left.
const TASK_CREDENTIALS_REFRESH_BEFORE: time::Duration = time::Duration::hours(1);

impl State {
    /// The credentials last issued for the task's role, with the role ARN,
    /// while they have more than an hour left.
    pub fn current_task_role_credentials(
        &self,
        task_arn: &str,
        now: time::OffsetDateTime,
    ) -> Option<(String, iam::RoleCredentials)> {
        let task = self.ecs.tasks.get(task_arn)?;
        let role_arn = task.definition.task_role_arn.clone()?;
        let current = task.runtime.role_credentials.as_ref()?;
        (current.expiration - now > TASK_CREDENTIALS_REFRESH_BEFORE)
            .then(|| (role_arn, current.clone()))
    }

    /// New credentials for the task's role, remembered on the task; with
    /// the role ARN. `Err` says why there are none.
    pub fn issue_task_role_credentials(
        &mut self,
        task_arn: &str,
        now: time::OffsetDateTime,
    ) -> Result<(String, iam::RoleCredentials), String> {
        let task = self
            .ecs
            .tasks
            .get_mut(task_arn)
            .ok_or("the task no longer exists")?;
        let role_arn = task
            .definition
            .task_role_arn
            .clone()
            .ok_or("the task has no task role")?;
        let issued = self
            .iam
            .issue_task_role_credentials(&role_arn, task.id(), now)
            .map_err(|e| e.to_string())?;
        task.runtime.role_credentials = Some(issued.clone());
        Ok((role_arn, issued))
    }
}

/// A cheap-to-clone handle on the state.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    version: watch::Sender<u64>,
    /// How many resets happened; changed only with `state` locked.
    generation: AtomicU64,
    /// Counts every change, log events included: the state file is
    /// written again when it moves.
    changes: AtomicU64,
    config: Config,
}

impl Store {
    pub fn new(config: Config) -> Self {
        Self::with_state(config, State::default())
    }

    /// A store holding `state`, as read back from the state file.
    pub fn with_state(config: Config, state: State) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(state),
                version: watch::Sender::new(0),
                generation: AtomicU64::new(0),
                changes: AtomicU64::new(0),
                config,
            }),
        }
    }

    /// Moves on every change (log events included); for the state file.
    pub fn changes(&self) -> u64 {
        self.inner.changes.load(Ordering::Relaxed)
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// Reads the state.
    pub fn read<R>(&self, f: impl FnOnce(&State) -> R) -> R {
        f(&self.lock())
    }

    /// Changes the state and wakes every subscriber.
    pub fn write<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        let result = f(&mut self.lock());
        self.changed();
        self.inner.version.send_modify(|v| *v += 1);
        result
    }

    fn changed(&self) {
        self.inner.changes.fetch_add(1, Ordering::Relaxed);
    }

    /// Changes the log groups only, waking no subscriber. Log events are
    /// read on demand (`GetLogEvents`, `FilterLogEvents`) and no reconciler
    /// or data-plane snapshot depends on them; waking everyone on each flush
    /// would rerun every reconciler and rebuild the routing snapshot up to
    /// five times a second per chatty task, on the thread that also proxies.
    pub fn write_logs<R>(&self, f: impl FnOnce(&mut logs::LogsState) -> R) -> R {
        let result = f(&mut self.lock().logs);
        self.changed();
        result
    }

    /// [`Store::write_logs`] for work started in `generation` (see
    /// [`Store::generation`]): after a reset it does nothing and gives `None`,
    /// so output of a container of the old world never lands in the new one.
    pub fn write_logs_in<R>(
        &self,
        generation: u64,
        f: impl FnOnce(&mut logs::LogsState) -> R,
    ) -> Option<R> {
        let mut state = self.lock();
        let result = (self.inner.generation.load(Ordering::Relaxed) == generation)
            .then(|| f(&mut state.logs));
        drop(state);
        if result.is_some() {
            self.changed();
        }
        result
    }

    /// The number of resets so far.
    pub fn generation(&self) -> u64 {
        self.inner.generation.load(Ordering::Relaxed)
    }

    /// Replaces the whole state with a fresh one in one step, so every reader
    /// sees either the old world or the new one; `seed` carries over what
    /// start-up set (the old state is read-only there). Wakes every
    /// subscriber and returns the old state, to be dropped outside the lock.
    pub fn reset(&self, seed: impl FnOnce(&State, &mut State)) -> State {
        let old = {
            let mut state = self.lock();
            let old = std::mem::take(&mut *state);
            seed(&old, &mut state);
            self.inner.generation.fetch_add(1, Ordering::Relaxed);
            old
        };
        self.changed();
        self.inner.version.send_modify(|v| *v += 1);
        old
    }

    /// Like [`Store::write`], but wakes subscribers only if `f` says it
    /// changed something. Reconcilers use it so a pass that finds nothing to
    /// do does not wake everyone (and itself) again.
    pub fn modify(&self, f: impl FnOnce(&mut State) -> bool) -> bool {
        let changed = f(&mut self.lock());
        if changed {
            self.changed();
            self.inner.version.send_modify(|v| *v += 1);
        }
        changed
    }

    /// A receiver that changes whenever [`Store::write`] runs.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.version.subscribe()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock must not take the emulator down:
        // every write leaves the state consistent before it can panic.
        self.inner
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_watched_changes_wake_subscribers() {
        let store = Store::new(Config::default());
        let mut changes = store.subscribe();

        store.write_logs(|logs| logs.append_creating("/ecs/app", "web/1", [(1, "hi".into())], 1));
        assert!(
            !changes.has_changed().unwrap(),
            "log events woke subscribers"
        );
        assert_eq!(store.read(|s| s.logs.groups.len()), 1);

        store.modify(|_| false);
        assert!(
            !changes.has_changed().unwrap(),
            "an unchanged modify woke subscribers"
        );

        store.modify(|_| true);
        assert!(changes.has_changed().unwrap());
        changes.mark_unchanged();

        store.write(|_| ());
        assert!(changes.has_changed().unwrap());
    }

    #[test]
    fn reset_replaces_everything_and_fences_old_log_writes() {
        let store = Store::new(Config::default());
        store.write(|s| s.ec2.default_vpc_cidr = Some("10.9.0.0/16".parse().unwrap()));
        store.write_logs(|logs| logs.append_creating("/ecs/app", "web/1", [(1, "hi".into())], 1));
        let before = store.generation();
        let mut changes = store.subscribe();
        changes.mark_unchanged();

        let old = store.reset(|old, new| new.ec2.default_vpc_cidr = old.ec2.default_vpc_cidr);
        assert_eq!(old.logs.groups.len(), 1);
        assert!(changes.has_changed().unwrap(), "a reset woke no one");
        assert_eq!(store.generation(), before + 1);
        store.read(|s| {
            assert!(s.logs.groups.is_empty());
            assert_eq!(s.ec2.default_vpc_cidr, Some("10.9.0.0/16".parse().unwrap()));
        });

        // A shipper of the old world writes nothing; one of the new world does.
        let late = store.write_logs_in(before, |logs| {
            logs.append_creating("/ecs/app", "web/1", [(2, "late".into())], 2)
        });
        assert!(late.is_none());
        assert!(store.read(|s| s.logs.groups.is_empty()));
        let now = store.write_logs_in(before + 1, |logs| {
            logs.append_creating("/ecs/app", "web/2", [(3, "new".into())], 3)
        });
        assert!(now.is_some());
        assert_eq!(store.read(|s| s.logs.groups.len()), 1);
    }
}
