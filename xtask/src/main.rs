//! Project automation: `cargo xtask <command>` (aliased in .cargo/config.toml).
//!
//! - `sample-image`: build the `sample-app` Docker image from a static binary,
//!   without pulling anything (the image is `FROM scratch`).
//! - `test`: the one command that runs every test: checks Docker, builds the
//!   sample image and the emulator binary, runs `cargo test --workspace`,
//!   then alone the tests that restart the Docker engine. `.ci/run` calls it.
//! - `bench`: the data-plane benchmark against nginx and HAProxy;
//!   `bench control-plane`: API and scheduler figures (see [`bench`](mod@bench)).
//! - `fuzz`: the parsers' fuzz targets, for a time budget (see [`fuzz`](mod@fuzz)).
//! - `soak`: steady load through the ALB under chaos (container kills,
//!   rolling deployments, an emulator restart), see [`soak`](mod@soak).

mod bench;
mod fuzz;
mod soak;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "xtask",
    about = "Project automation for the Fargate/ALB emulator"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Build the sample-app image (static binary, FROM scratch) with docker build.
    SampleImage {
        /// Image tag to build.
        #[arg(long, default_value = DEFAULT_TAG)]
        tag: String,
    },
    /// Check Docker, build the sample image, then run `cargo test --workspace`,
    /// then (without extra arguments) the tests that restart the Docker engine.
    ///
    /// Arguments after `--` go to cargo test, e.g. `cargo xtask test -- -p tests`
    /// or `cargo xtask test -- -- --nocapture`.
    Test {
        /// Extra arguments for cargo test (`--workspace` is dropped if they
        /// contain `-p`/`--package`).
        #[arg(last = true)]
        cargo_args: Vec<String>,
    },
    /// Benchmark the ALB against direct, nginx and HAProxy (`bench
    /// control-plane`: RunTask, services, API latency). `--quick` for CI.
    Bench(bench::BenchArgs),
    /// Fuzz the parsers (JSON, Query, XML, SigV4, the target client, the
    /// framing scanner) for `--seconds` each; a failure prints its seed.
    Fuzz(fuzz::FuzzArgs),
    /// Soak: a service behind the ALB under steady load while containers
    /// are killed, deployments roll and the emulator restarts once; reports
    /// failures beyond in-flight requests, leaked containers, RSS growth.
    Soak(soak::SoakArgs),
}

const DEFAULT_TAG: &str = "sample-app:latest";

fn main() {
    let cli = Cli::parse();
    let result = match cli.command {
        Cmd::SampleImage { tag } => sample_image(&tag),
        Cmd::Test { cargo_args } => test(&cargo_args),
        Cmd::Bench(args) => bench::run(args),
        Cmd::Fuzz(args) => fuzz::run(args),
        Cmd::Soak(args) => soak::run(args),
    };
    if let Err(e) = result {
        eprintln!("xtask: error: {e:#}");
        std::process::exit(1);
    }
}

fn test(cargo_args: &[String]) -> Result<()> {
    check_docker()?;
    sample_image(DEFAULT_TAG)?;
    let root = workspace_root()?;
    // The restart tests run the emulator binary as its own process. Built
    // together with the tests, it shares every dependency build with them:
    // alone, it would resolve features without the dev-dependencies and
    // build the AWS SDK crates a second time.
    println!("xtask: building the emulator binary");
    run(cargo()
        .current_dir(&root)
        .args(["build", "--workspace", "--bin", "emulator", "--tests"]))?;
    let mut cmd = cargo();
    cmd.current_dir(&root).arg("test");
    // cargo ignores `-p` next to `--workspace`, so only add it when the
    // caller did not pick packages.
    if !selects_packages(cargo_args) {
        cmd.arg("--workspace");
    }
    let emulator_bin = cargo_target_dir(&root)?.join("debug/emulator");
    cmd.args(cargo_args)
        .env("RUST_BACKTRACE", "1")
        .env("EMULATOR_BIN", &emulator_bin);
    run(&mut cmd)?;
    if !cargo_args.is_empty() {
        return Ok(());
    }
    // Tests that stop the Docker engine break whatever else runs: alone,
    // after the suite.
    println!("xtask: tests that restart the Docker engine, alone");
    run(cargo()
        .current_dir(&root)
        .args([
            "test",
            "--workspace",
            "--test",
            "e2e",
            "--",
            "--ignored",
            "engine_restart::",
        ])
        .env("RUST_BACKTRACE", "1")
        .env("EMULATOR_BIN", &emulator_bin))
}

/// Whether cargo's own arguments (those before a `--`) name packages.
fn selects_packages(cargo_args: &[String]) -> bool {
    cargo_args.iter().take_while(|a| *a != "--").any(|a| {
        a == "-p"
            || a == "--package"
            || a.starts_with("--package=")
            || (a.starts_with("-p") && a.len() > 2)
    })
}

/// Fails early with a readable message instead of letting every test that
/// needs Docker fail on its own.
fn check_docker() -> Result<()> {
    println!("xtask: checking that Docker answers (docker info)");
    let out = Command::new("docker")
        .args(["info", "--format", "{{.ServerVersion}}"])
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(o) if o.status.success() => {
            println!(
                "xtask: Docker engine {}",
                String::from_utf8_lossy(&o.stdout).trim()
            );
            Ok(())
        }
        Ok(o) => bail!(
            "`docker info` failed: the Docker daemon is not reachable. Start it \
             (e.g. `dockerd &`, or see .ci/run) and retry.\n{}",
            String::from_utf8_lossy(&o.stderr).trim()
        ),
        Err(e) => {
            bail!("cannot run `docker` ({e}); install Docker (e.g. apt-get install docker.io)")
        }
    }
}

fn sample_image(tag: &str) -> Result<()> {
    let root = workspace_root()?;
    let target = host_triple()?;

    // A static glibc binary runs in an empty image. The explicit --target puts
    // it under target/<triple>/, so these RUSTFLAGS do not invalidate the
    // normal (dynamic) build in target/release or target/debug.
    println!("xtask: building static sample-app for {target}");
    let mut build = cargo();
    build
        .current_dir(&root)
        .args([
            "build",
            "--release",
            "-p",
            "sample-app",
            "--target",
            &target,
        ])
        .env("RUSTFLAGS", "-C target-feature=+crt-static")
        // The release profile keeps line tables for profiling the emulator;
        // the image needs none (they would triple its size).
        .env("CARGO_PROFILE_RELEASE_DEBUG", "0")
        .env("CARGO_PROFILE_RELEASE_STRIP", "symbols");
    run(&mut build)?;

    let target_dir = cargo_target_dir(&root)?;
    let binary = target_dir.join(&target).join("release").join("sample-app");
    if !binary.is_file() {
        bail!("expected binary at {}", binary.display());
    }

    // A fresh context holding only the binary: sending target/ as the build
    // context would upload gigabytes to the daemon.
    let context = std::env::temp_dir().join(format!("sample-app-image-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&context);
    std::fs::create_dir_all(&context).with_context(|| format!("creating {}", context.display()))?;
    let result = (|| {
        std::fs::copy(&binary, context.join("sample-app"))
            .with_context(|| format!("copying {}", binary.display()))?;
        std::fs::write(context.join("Dockerfile"), SCRATCH_DOCKERFILE)?;
        println!(
            "xtask: docker build -t {tag} {} (FROM scratch + {})",
            context.display(),
            binary.display()
        );
        // The legacy builder (engine 20.10) works without BuildKit and needs
        // no base image, so nothing is pulled.
        run(Command::new("docker")
            .args(["build", "-t", tag])
            .arg(&context)
            .env("DOCKER_BUILDKIT", "0"))
    })();
    let _ = std::fs::remove_dir_all(&context);
    result?;
    println!("xtask: built image {tag}");
    Ok(())
}

/// Dockerfile for the prebuilt static binary (the repository's Dockerfile has
/// the self-contained multi-stage build, target `sample-app`). No HEALTHCHECK: container health checks
/// come from the task definition (`/sample-app healthcheck` works there), and
/// an image-level one would make Docker probe every task container.
const SCRATCH_DOCKERFILE: &str = r#"FROM scratch
COPY sample-app /sample-app
EXPOSE 8080
ENTRYPOINT ["/sample-app"]
"#;

/// The host's target triple, from `rustc -vV`.
fn host_triple() -> Result<String> {
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let out = Command::new(rustc)
        .arg("-vV")
        .output()
        .context("running rustc -vV")?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: "))
        .map(|s| s.trim().to_string())
        .context("no `host:` line in rustc -vV output")
}

/// Where cargo puts build output (honours CARGO_TARGET_DIR and config), from
/// `cargo metadata`.
fn cargo_target_dir(root: &Path) -> Result<PathBuf> {
    let out = cargo()
        .current_dir(root)
        .args(["metadata", "--format-version", "1", "--no-deps"])
        .stderr(Stdio::inherit())
        .output()
        .context("running cargo metadata")?;
    if !out.status.success() {
        bail!("cargo metadata failed");
    }
    let meta: serde_json::Value =
        serde_json::from_slice(&out.stdout).context("parsing cargo metadata")?;
    meta["target_directory"]
        .as_str()
        .map(PathBuf::from)
        .context("no target_directory in cargo metadata")
}

fn workspace_root() -> Result<PathBuf> {
    // xtask lives in <root>/xtask.
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .context("xtask has no parent directory")
}

/// A `cargo` command for nested builds, without the package variables that
/// `cargo run` set for this binary (`CARGO_PKG_NAME`, `CARGO_MANIFEST_DIR`,
/// ...). Build scripts that declare `rerun-if-env-changed` on them (ring's
/// does) would otherwise see them change between `cargo build` and
/// `cargo xtask`, and rebuild with everything above them: the bench's `perf`
/// build started over from its dependencies each time.
fn cargo() -> Command {
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()));
    for (name, _) in std::env::vars_os() {
        let Some(name) = name.to_str() else { continue };
        let set_by_cargo_run = name.starts_with("CARGO_PKG_")
            || matches!(
                name,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_MANIFEST_LINKS"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_BIN_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
            );
        if set_by_cargo_run {
            cmd.env_remove(name);
        }
    }
    cmd
}

fn run(cmd: &mut Command) -> Result<()> {
    let shown = format!("{cmd:?}");
    let status = cmd.status().with_context(|| format!("spawning {shown}"))?;
    if !status.success() {
        bail!("command failed ({status}): {shown}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(a: &[&str]) -> Vec<String> {
        a.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn package_selection_is_detected_before_the_separator() {
        assert!(!selects_packages(&args(&[])));
        assert!(selects_packages(&args(&["-p", "tests"])));
        assert!(selects_packages(&args(&["-ptests"])));
        assert!(selects_packages(&args(&["--package=tests"])));
        assert!(!selects_packages(&args(&["--", "-p"])));
        assert!(!selects_packages(&args(&[
            "--release",
            "--",
            "--nocapture"
        ])));
    }
}
