//! The state file: the whole control-plane state, kept in one redb database
//! (`--state-dir`/state.redb) so a restart brings every resource back.
//!
//! Why redb: pure Rust (no C toolchain, unlike SQLite's bundled build), one
//! file, and ACID commits on copy-on-write B-trees. A commit is fsynced and
//! either wholly there or not at all, so a `kill -9` mid-write leaves the
//! previous snapshot, never half of one. The state is small (kilobytes to a
//! few megabytes), so it is written whole, as one value, encoded by
//! [`crate::domain::persist`]; the file holds the encoding's format version
//! and a newer or unknown one is refused rather than half-read.
//!
//! [`Persister`] writes a snapshot shortly after each change: changes that
//! come in a burst (a deployment, a service's tasks starting) share one
//! write, and at most one write is in flight.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{anyhow, Context};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::domain::State;
use crate::domain::{persist, Store};

const SNAPSHOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshots");
const CURRENT: &str = "current";

/// Changes within this long of each other share one write.
const COALESCE: Duration = Duration::from_millis(50);
/// Log events do not wake subscribers; the writer looks for them this often.
const LOG_CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// An open state file, locked against other emulators.
#[derive(Clone)]
pub struct StateFile {
    db: Arc<Database>,
    path: PathBuf,
}

/// redb's page cache for the state file.
const STATE_CACHE_BYTES: usize = 4 * 1024 * 1024;

impl StateFile {
    /// Opens (or creates) the state file, and its directory.
    pub fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the state directory {}", dir.display()))?;
        }
        // The file holds one snapshot, read once at start: a small cache
        // is enough, and redb's default (1 GiB) would let the memory of a
        // long run grow with every rewrite of it.
        let db = Database::builder()
            .set_cache_size(STATE_CACHE_BYTES)
            .create(path)
            .map_err(|e| match e {
                redb::DatabaseError::DatabaseAlreadyOpen => anyhow!(
                    "the state file {} is in use by another emulator; give this one its own \
                 --state-dir or --instance, or --in-memory",
                    path.display()
                ),
                redb::DatabaseError::UpgradeRequired(version) => anyhow!(
                    "the state file {} was written in redb file format {version}, which this \
                 emulator cannot read; move it away (or pick another --state-dir) to start empty",
                    path.display()
                ),
                other => anyhow!("cannot open the state file {}: {other}", path.display()),
            })?;
        Ok(Self {
            db: Arc::new(db),
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The last state written, or `None` for a new file. An unreadable or
    /// foreign snapshot is an error: starting empty would overwrite it.
    pub fn load(&self) -> anyhow::Result<Option<State>> {
        let read = self.db.begin_read()?;
        let table = match read.open_table(SNAPSHOTS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        let Some(bytes) = table.get(CURRENT)? else {
            return Ok(None);
        };
        let state = persist::decode(bytes.value()).map_err(|e| {
            anyhow!(
                "cannot restore from the state file {}: {e}; move it away (or pick another \
                 --state-dir) to start empty",
                self.path.display()
            )
        })?;
        Ok(Some(state))
    }

    /// Replaces the snapshot in one fsynced commit.
    pub fn save(&self, bytes: &[u8]) -> anyhow::Result<()> {
        let write = self.db.begin_write()?;
        {
            let mut table = write.open_table(SNAPSHOTS)?;
            table.insert(CURRENT, bytes)?;
        }
        write.commit()?;
        Ok(())
    }
}

/// Writes the store to its state file after changes, until [`Persister::finish`].
pub struct Persister {
    file: StateFile,
    store: Store,
    stop: CancellationToken,
    writer: JoinHandle<()>,
}

impl Persister {
    pub fn start(file: StateFile, store: Store) -> Self {
        let stop = CancellationToken::new();
        // Taken here, not in the task: a change made before the task first
        // runs must still be written.
        let changes = store.subscribe();
        let written = store.changes();
        let writer = tokio::spawn(write_on_change(
            file.clone(),
            store.clone(),
            changes,
            written,
            stop.clone(),
        ));
        Self {
            file,
            store,
            stop,
            writer,
        }
    }

    /// Stops writing on changes and writes the final state (after a clean
    /// shutdown: every task stopped).
    pub async fn finish(self) {
        self.stop.cancel();
        let _ = self.writer.await;
        if let Err(e) = save_now(&self.file, &self.store).await {
            tracing::error!(file = %self.file.path().display(), error = %e, "cannot write the final state");
        }
    }
}

async fn write_on_change(
    file: StateFile,
    store: Store,
    mut changes: watch::Receiver<u64>,
    mut written: u64,
    stop: CancellationToken,
) {
    let mut log_check = tokio::time::interval(LOG_CHECK_INTERVAL);
    loop {
        tokio::select! {
            _ = stop.cancelled() => return,
            changed = changes.changed() => if changed.is_err() { return },
            _ = log_check.tick() => {}
        }
        if store.changes() == written {
            continue;
        }
        tokio::select! {
            _ = stop.cancelled() => return,
            _ = tokio::time::sleep(COALESCE) => {}
        }
        written = store.changes();
        if let Err(e) = save_now(&file, &store).await {
            // The next change tries again; the file keeps the last good state.
            tracing::error!(file = %file.path().display(), error = %e, "cannot write the state file");
        }
    }
}

async fn save_now(file: &StateFile, store: &Store) -> anyhow::Result<()> {
    let bytes = store.read(persist::encode);
    let file = file.clone();
    tokio::task::spawn_blocking(move || file.save(&bytes)).await?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_path() -> PathBuf {
        std::env::temp_dir()
            .join(format!("fe-state-{}", uuid::Uuid::new_v4().simple()))
            .join(crate::config::STATE_FILE_NAME)
    }

    #[test]
    fn a_new_file_has_no_state_and_keeps_what_is_saved() {
        let path = temp_path();
        let file = StateFile::open(&path).unwrap();
        assert!(file.load().unwrap().is_none());
        let mut state = State::default();
        state.ec2.default_vpc_cidr = Some("10.7.0.0/16".parse().unwrap());
        file.save(&persist::encode(&state)).unwrap();
        drop(file);
        let loaded = StateFile::open(&path).unwrap().load().unwrap().unwrap();
        assert_eq!(loaded.ec2.default_vpc_cidr, state.ec2.default_vpc_cidr);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn a_second_emulator_is_refused_the_file() {
        let path = temp_path();
        let _first = StateFile::open(&path).unwrap();
        let err = StateFile::open(&path)
            .map(|_| ())
            .expect_err("second open refused");
        assert!(
            err.to_string().contains("in use by another emulator"),
            "{err}"
        );
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[test]
    fn an_unreadable_snapshot_is_refused_not_replaced() {
        let path = temp_path();
        let file = StateFile::open(&path).unwrap();
        file.save(b"not a snapshot").unwrap();
        let err = file.load().expect_err("refused");
        assert!(err.to_string().contains("cannot restore"), "{err}");
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }

    #[tokio::test]
    async fn changes_are_written_and_finish_writes_the_last_state() {
        let path = temp_path();
        let file = StateFile::open(&path).unwrap();
        let store = Store::new(crate::Config::default());
        let persister = Persister::start(file.clone(), store.clone());
        store.write(|s| s.ec2.default_vpc_cidr = Some("10.8.0.0/16".parse().unwrap()));
        test_support::wait_until("the change written", Duration::from_secs(10), || async {
            file.load().unwrap().and_then(|s| s.ec2.default_vpc_cidr)
        })
        .await;
        // A log event alone wakes no subscriber but is written too.
        store.write_logs(|logs| logs.append_creating("/ecs/app", "web/1", [(1, "hi".into())], 1));
        persister.finish().await;
        let loaded = file.load().unwrap().unwrap();
        assert_eq!(loaded.logs.groups.len(), 1);
        let _ = std::fs::remove_dir_all(path.parent().unwrap());
    }
}
