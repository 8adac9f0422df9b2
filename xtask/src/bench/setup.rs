//! What the bench needs before it measures: the tools (wrk, oha, nginx,
//! HAProxy; installed unless `--no-install`), the emulator binary, the
//! sample-app image, and the backends (Docker containers on a bench network),
//! removed again on drop.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use anyhow::{bail, Context, Result};

use super::http::wait_http_ok;
use super::load::OHA_CRATE;
use super::{Settings, BACKEND_PORT, BENCH_LABEL, LOAD_CPU, LOAD_POLICY};

pub(super) struct Tools {
    pub(super) wrk: PathBuf,
    pub(super) oha: Option<PathBuf>,
    pub(super) nginx: Option<PathBuf>,
    pub(super) haproxy: Option<PathBuf>,
    pub(super) versions: Vec<String>,
}

impl Tools {
    pub(super) fn find(s: &Settings) -> Result<Self> {
        let mut missing_apt: Vec<&str> = ["wrk", "nginx", "haproxy"]
            .into_iter()
            .filter(|b| which(b).is_none())
            .collect();
        if !missing_apt.is_empty() && s.install {
            println!("xtask: installing {}", missing_apt.join(" "));
            let installed = crate::run(
                Command::new("apt-get")
                    .args(["install", "-y", "-o", "DPkg::Lock::Timeout=300"])
                    .args(&missing_apt)
                    .env("DEBIAN_FRONTEND", "noninteractive"),
            )
            .or_else(|_| {
                crate::run(Command::new("apt-get").arg("update"))?;
                crate::run(
                    Command::new("apt-get")
                        .args(["install", "-y", "-o", "DPkg::Lock::Timeout=300"])
                        .args(&missing_apt)
                        .env("DEBIAN_FRONTEND", "noninteractive"),
                )
            });
            if let Err(e) = installed {
                println!("xtask: installing {} failed: {e:#}", missing_apt.join(" "));
            }
            missing_apt.retain(|b| which(b).is_none());
        }
        let wrk = match which("wrk") {
            Some(p) => p,
            None => bail!(
                "wrk is not installed and is required (apt-get install wrk; \
                 the bench installs it unless --no-install)"
            ),
        };
        let nginx = which("nginx");
        let haproxy = which("haproxy");
        for (name, found) in [("nginx", &nginx), ("haproxy", &haproxy)] {
            if found.is_none() {
                println!("xtask: skipped: {name} not installed (apt-get install {name})");
            }
        }
        let mut oha = which("oha");
        if oha.is_none() && s.install && !s.quick {
            println!(
                "xtask: installing oha (cargo install {OHA_CRATE} --locked; takes a few minutes)"
            );
            if crate::run(crate::cargo().args(["install", OHA_CRATE, "--locked"])).is_ok() {
                oha = which("oha");
            }
        }
        if oha.is_none() {
            println!(
                "xtask: skipped: oha not installed (cargo install {OHA_CRATE} --locked); \
                 the open-loop runs are left out, wrk still runs"
            );
        }
        let mut versions = Vec::new();
        let version = |cmd: &mut Command| -> Option<String> {
            let out = cmd.output().ok()?;
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            text.lines().next().map(|l| l.trim().to_string())
        };
        if let Some(v) = version(Command::new(&wrk).arg("-v")) {
            versions.push(v);
        }
        if let Some(v) = oha
            .as_ref()
            .and_then(|o| version(Command::new(o).arg("--version")))
        {
            versions.push(v);
        }
        if let Some(v) = nginx
            .as_ref()
            .and_then(|n| version(Command::new(n).arg("-v")))
        {
            versions.push(v);
        }
        if let Some(v) = haproxy
            .as_ref()
            .and_then(|h| version(Command::new(h).arg("-v")))
        {
            versions.push(v);
        }
        Ok(Self {
            wrk,
            oha,
            nginx,
            haproxy,
            versions,
        })
    }
}

/// A binary on PATH (or in ~/.cargo/bin, or /usr/sbin).
pub(super) fn which(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.push("/usr/sbin".into());
    dirs.push("/usr/local/sbin".into());
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

pub(super) fn sample_image(s: &Settings) -> Result<()> {
    if s.image_build {
        return crate::sample_image(crate::DEFAULT_TAG);
    }
    docker(&["image", "inspect", crate::DEFAULT_TAG])
        .map(drop)
        .context("--no-image-build: the sample-app image is missing (cargo xtask sample-image)")
}

pub(super) fn build_emulator(s: &Settings) -> Result<PathBuf> {
    if let Some(bin) = &s.emulator {
        return Ok(bin.clone());
    }
    let root = &crate::workspace_root()?;
    // --quick only checks that the bench runs: the debug build CI already
    // has is enough, and its figures mean nothing.
    // Otherwise the `perf` profile: release with whole-program optimisation
    // (slow to build, so not the everyday release profile).
    let (profile, dir) = if s.quick {
        ("dev", "debug")
    } else {
        ("perf", "perf")
    };
    println!("xtask: building the emulator (profile {profile})");
    let mut cmd = crate::cargo();
    cmd.current_dir(root).args([
        "build",
        "--workspace",
        "--bin",
        "emulator",
        "--profile",
        profile,
    ]);
    if profile == "dev" {
        // With the tests: the same feature set as the tests' build (their
        // dev-dependencies included), so a debug build reuses it.
        cmd.arg("--tests");
    }
    crate::run(&mut cmd)?;
    let bin = crate::cargo_target_dir(root)?.join(dir).join("emulator");
    if !bin.is_file() {
        bail!("expected {}", bin.display());
    }
    Ok(bin)
}

/// The sample-app backends, on a bench network, pinned to the load CPU.
pub(super) struct Backends {
    network: String,
    containers: Vec<String>,
    pub(super) ips: Vec<Ipv4Addr>,
}

impl Backends {
    pub(super) fn start(n: usize) -> Result<Self> {
        remove_leftovers();
        let tag = std::process::id();
        let mut this = Self {
            network: format!("fe-bench-{tag}"),
            containers: Vec::new(),
            ips: Vec::new(),
        };
        docker(&["network", "create", "--label", BENCH_LABEL, &this.network])?;
        for i in 0..n {
            let name = format!("fe-bench-{tag}-{i}");
            docker(&[
                "run",
                "-d",
                "--name",
                &name,
                "--label",
                BENCH_LABEL,
                "--network",
                &this.network,
                "--cpuset-cpus",
                LOAD_CPU,
                // No stdout line per request: Docker's log pipeline
                // (containerd-shim, dockerd: on no pinned CPU) would take
                // a third of the proxy's CPU, at random.
                "--log-driver",
                "none",
                "-e",
                "REQUEST_LOG=off",
                "-e",
                &format!("APP_VERSION=bench-{i}"),
                crate::DEFAULT_TAG,
            ])?;
            this.containers.push(name.clone());
            let ip = docker(&[
                "inspect",
                "-f",
                "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}",
                &name,
            ])?;
            this.ips.push(
                ip.trim()
                    .parse()
                    .with_context(|| format!("IP of {name}: {ip:?}"))?,
            );
        }
        for ip in &this.ips {
            wait_http_ok(
                &format!("http://{ip}:{BACKEND_PORT}/health"),
                Duration::from_secs(30),
            )?;
        }
        println!("xtask: backends up: {:?}", this.ips);
        Ok(this)
    }

    /// Puts every thread of every backend under [`LOAD_POLICY`] (needs the
    /// right to change another user's processes, as root has).
    pub(super) fn set_load_policy(&self) -> Result<()> {
        for name in &self.containers {
            let pid = docker(&["inspect", "-f", "{{.State.Pid}}", name])?;
            stdout_of(
                "chrt",
                &["--all-tasks", LOAD_POLICY, "--pid", "0", pid.trim()],
            )
            .with_context(|| format!("backend {name}"))?;
        }
        Ok(())
    }
}

impl Drop for Backends {
    fn drop(&mut self) {
        if !self.containers.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(self.containers.iter().map(String::as_str));
            let _ = docker(&args);
        }
        let _ = docker(&["network", "rm", &self.network]);
    }
}

/// Containers and networks of an earlier bench that was killed hard.
fn remove_leftovers() {
    let filter = format!("label={BENCH_LABEL}");
    if let Ok(ids) = docker(&["ps", "-aq", "--filter", &filter]) {
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f"];
            args.extend(ids);
            let _ = docker(&args);
        }
    }
    if let Ok(ids) = docker(&["network", "ls", "-q", "--filter", &filter]) {
        for id in ids.split_whitespace() {
            let _ = docker(&["network", "rm", id]);
        }
    }
}

fn docker(args: &[&str]) -> Result<String> {
    stdout_of("docker", args)
}

/// Runs `program` to the end; its stdout, or an error with its stderr.
fn stdout_of(program: &str, args: &[&str]) -> Result<String> {
    let out = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("running {program}"))?;
    if !out.status.success() {
        bail!(
            "{program} {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
