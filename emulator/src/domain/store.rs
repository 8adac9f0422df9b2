//! The single store of control-plane state.
//!
//! A `std::sync::Mutex` is right here: every critical section is short,
//! synchronous, and never spans an `.await`. Reconcilers subscribe to the
//! version counter to learn that something changed; the data plane never
//! touches this lock (it reads snapshots, see `dataplane`).

use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use super::{autoscaling, ec2, ecs, elbv2, iam, logs, secretsmanager, ssm};
use crate::config::Config;

/// Everything the control plane knows.
#[derive(Debug, Default)]
pub struct State {
    pub autoscaling: autoscaling::AutoScalingState,
    pub ec2: ec2::Ec2State,
    pub ecs: ecs::EcsState,
    pub elbv2: elbv2::Elbv2State,
    pub iam: iam::IamState,
    pub logs: logs::LogsState,
    pub secretsmanager: secretsmanager::SecretsState,
    pub ssm: ssm::SsmState,
}

/// A cheap-to-clone handle on the state.
#[derive(Clone)]
pub struct Store {
    inner: Arc<Inner>,
}

struct Inner {
    state: Mutex<State>,
    version: watch::Sender<u64>,
    config: Config,
}

impl Store {
    pub fn new(config: Config) -> Self {
        Self {
            inner: Arc::new(Inner {
                state: Mutex::new(State::default()),
                version: watch::Sender::new(0),
                config,
            }),
        }
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
        self.inner.version.send_modify(|v| *v += 1);
        result
    }

    /// Changes the log groups only, waking no subscriber. Log events are
    /// read on demand (`GetLogEvents`, `FilterLogEvents`) and no reconciler
    /// or data-plane snapshot depends on them; waking everyone on each flush
    /// would rerun every reconciler and rebuild the routing snapshot up to
    /// five times a second per chatty task, on the thread that also proxies.
    pub fn write_logs<R>(&self, f: impl FnOnce(&mut logs::LogsState) -> R) -> R {
        f(&mut self.lock().logs)
    }

    /// Like [`Store::write`], but wakes subscribers only if `f` says it
    /// changed something. Reconcilers use it so a pass that finds nothing to
    /// do does not wake everyone (and itself) again.
    pub fn modify(&self, f: impl FnOnce(&mut State) -> bool) -> bool {
        let changed = f(&mut self.lock());
        if changed {
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
}
