//! Child processes and the bench's own process: [`Proc`] (stopped on drop),
//! bounded runs, the temporary directory, Ctrl-C handling and the
//! open-files limit.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

use super::NOFILE;

/// A child process that is stopped (SIGTERM, then SIGKILL) when dropped.
pub(super) struct Proc {
    name: String,
    child: Child,
}

impl Proc {
    pub(super) fn spawn(name: &str, cmd: &mut Command, log: &Path) -> Result<Self> {
        let file = std::fs::File::create(log)?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("starting {name}: {cmd:?}"))?;
        Ok(Self {
            name: name.to_string(),
            child,
        })
    }

    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    pub(super) fn exited(&self) -> bool {
        // SAFETY: kill with signal 0 only checks that the process exists.
        let alive = unsafe { libc::kill(self.pid() as libc::pid_t, 0) } == 0;
        let zombie = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))
            .map(|s| {
                s.rsplit_once(')')
                    .is_some_and(|(_, r)| r.trim_start().starts_with('Z'))
            })
            .unwrap_or(true);
        !alive || zombie
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Ok(Some(_)) = self.child.try_wait() {
            return;
        }
        // SAFETY: signalling our own child by pid.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("xtask: {} did not stop on SIGTERM; killing it", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs a command to completion within `limit` (killed after it), returning
/// its stdout; an error carries its stderr too.
pub(super) fn run_bounded(cmd: &mut Command, limit: Duration, tmp: &TempDir) -> Result<String> {
    // Apart: a tool's stderr lines (oha's "Storing results to ...") would
    // land in the middle of its JSON on stdout.
    let out_path = tmp.path.join("run.out");
    let err_path = tmp.path.join("run.err");
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&out_path)?)
        .stderr(std::fs::File::create(&err_path)?)
        .spawn()
        .with_context(|| format!("spawning {cmd:?}"))?;
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{cmd:?} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    check_interrupted()?;
    let text = std::fs::read_to_string(&out_path)?;
    if !status.success() {
        let err = std::fs::read_to_string(&err_path).unwrap_or_default();
        bail!("{cmd:?} failed ({status}):\n{text}{err}");
    }
    Ok(text)
}

pub(super) struct TempDir {
    pub(super) path: PathBuf,
}

impl TempDir {
    pub(super) fn new(prefix: &str) -> Result<Self> {
        let path = std::env::temp_dir().join(format!("{prefix}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)?;
        Ok(Self { path })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

pub(super) fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C reaches the whole foreground process group: the load generator and
/// the proxies stop on their own, and the bench notices the flag at its next
/// step and unwinds, so every guard removes what it started.
pub(crate) fn install_signal_handlers() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic (async-signal-safe).
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

pub(super) fn check_interrupted() -> Result<()> {
    if INTERRUPTED.load(Ordering::SeqCst) {
        bail!("interrupted; cleaning up");
    }
    Ok(())
}

static NOFILE_LIMIT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1024);

/// The open-files limit the bench and its children run with.
pub(super) fn nofile_limit() -> u64 {
    NOFILE_LIMIT.load(Ordering::Relaxed)
}

/// Children inherit the limit: wrk with 10k connections and the proxies
/// with as many again upstream.
pub(super) fn raise_nofile_limit() {
    let limit = libc::rlimit {
        rlim_cur: NOFILE as libc::rlim_t,
        rlim_max: NOFILE as libc::rlim_t,
    };
    // SAFETY: setrlimit reads a valid struct.
    if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
        let mut cur = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit writes to a valid struct.
        unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur) };
        cur.rlim_cur = cur.rlim_max;
        // SAFETY: as above.
        unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &cur) };
        println!(
            "xtask: could not raise the open-files limit to {NOFILE}; using {}",
            cur.rlim_max
        );
    }
    let mut cur = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes to a valid struct.
    unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut cur) };
    #[allow(clippy::unnecessary_cast)] // rlim_t is not u64 everywhere
    NOFILE_LIMIT.store(cur.rlim_cur as u64, Ordering::Relaxed);
}
