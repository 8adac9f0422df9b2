//! The emulator as its own process (the binary users run), for tests that
//! crash it with `kill -9` or stop it with SIGTERM and start it again on the
//! same state directory.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::{sdk_config, wait_until};

/// The emulator binary: `EMULATOR_BIN` (set by `cargo xtask test`, which
/// builds it), else built here once, with the tests so that features unify
/// as for the code under test.
pub fn emulator_binary() -> PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY
        .get_or_init(|| {
            if let Some(bin) = std::env::var_os("EMULATOR_BIN") {
                return PathBuf::from(bin);
            }
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
            let status = Command::new(cargo)
                .current_dir(&root)
                .args([
                    "build",
                    "--quiet",
                    "--workspace",
                    "--bin",
                    "emulator",
                    "--tests",
                ])
                .status()
                .expect("run cargo build");
            assert!(status.success(), "cargo build --bin emulator failed");
            std::env::var_os("CARGO_TARGET_DIR")
                .map(PathBuf::from)
                .unwrap_or_else(|| root.join("target"))
                .join("debug/emulator")
        })
        .clone()
}

/// One emulator instance run as a child process, restartable on the same
/// control port, instance name and state directory. The port comes from
/// [`crate::ports::reserve`]: outside the ephemeral range, so no other
/// socket takes it while the process is down between a crash and a
/// restart. Dropping it kills the
/// process, removes the instance's Docker objects and the state directory.
pub struct EmulatorProcess {
    child: Option<Child>,
    pub instance: String,
    pub port: u16,
    pub state_dir: PathBuf,
    log: PathBuf,
}

impl EmulatorProcess {
    /// Starts a new instance with a fresh state directory.
    pub async fn start() -> Self {
        let instance = format!("p{}", &uuid::Uuid::new_v4().simple().to_string()[..10]);
        let state_dir = std::env::temp_dir().join(format!("fe-test-{instance}"));
        std::fs::create_dir_all(&state_dir).unwrap();
        let mut process = Self {
            child: None,
            log: state_dir.join("emulator.log"),
            instance,
            port: crate::ports::reserve(),
            state_dir,
        };
        process.restart().await;
        process
    }

    /// `http://127.0.0.1:PORT`
    pub fn endpoint_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub async fn sdk(&self) -> aws_config::SdkConfig {
        sdk_config(&self.endpoint_url()).await
    }

    /// The running process's id (`None` between a crash and a restart).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The state file the emulator writes.
    pub fn state_file(&self) -> PathBuf {
        self.state_dir.join("state").join("state.redb")
    }

    /// Starts the process (again) and waits until its API answers.
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "already running");
        let child = self.spawn();
        self.child = Some(child);
        let url = self.endpoint_url();
        wait_until("the emulator answers", Duration::from_secs(60), || {
            let url = url.clone();
            async move { crate::http_get(&format!("{url}/_emulator/health")).await }
        })
        .await;
    }

    /// Starts the process without waiting; for starts expected to fail.
    pub fn spawn(&self) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        Command::new(emulator_binary())
            .args(["--listen", &format!("127.0.0.1:{}", self.port)])
            .args(["--instance", &self.instance])
            .arg("--state-dir")
            .arg(self.state_dir.join("state"))
            .args(["--time-scale", "0.1"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start the emulator binary")
    }

    /// `kill -9`: no shutdown code runs, the containers stay.
    pub fn crash(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, as Ctrl-C: the emulator stops every task and removes its
    /// containers, then exits.
    pub async fn stop(&mut self) {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let status = wait_until(
            "the emulator to exit on SIGTERM",
            Duration::from_secs(60),
            || {
                let exited = child.try_wait().unwrap();
                async move { exited }
            },
        )
        .await;
        assert!(
            status.success(),
            "emulator exited with {status}: {}",
            self.log_tail()
        );
    }

    /// The end of the emulator's own log, for failure messages.
    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

impl Drop for EmulatorProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "emulator {} log, last lines:\n{}",
                self.instance,
                self.log_tail()
            );
        }
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        crate::remove_instance_objects(&self.instance);
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}
