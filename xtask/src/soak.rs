//! `cargo xtask soak --minutes N`: the soak run. Builds the sample-app image,
//! then the emulator binary and the driver (`tests/src/bin/soak/main.rs`) in one
//! `cargo build --workspace` with the same profile, and runs the driver: a
//! service behind the ALB under steady load while task containers and
//! network holders are killed, deployments roll and the emulator restarts
//! once. The driver prints the report (also written under `target/soak/`)
//! and fails when the done-when figures do (see `tests::soak`).

use std::path::PathBuf;
use std::process::Command;

use anyhow::{bail, Context, Result};
use clap::Args;

#[derive(Args)]
pub struct SoakArgs {
    /// Length of the run (load and chaos), in minutes; setup comes on top.
    #[arg(long, default_value_t = 30.0)]
    minutes: f64,
    /// Seed of the chaos schedule (kill intervals and victims); random
    /// when not given, and printed either way.
    #[arg(long)]
    seed: Option<u64>,
    /// Requests per second of the steady load.
    #[arg(long, default_value_t = 50)]
    rate: u32,
    /// Build the emulator and the driver with the release profile (the
    /// default, dev, shares the test suite's build).
    #[arg(long)]
    release: bool,
    /// Leave out the emulator restart (soak without persistence); such a
    /// run reports its figures but does not pass.
    #[arg(long)]
    no_restart: bool,
    /// Do not build the sample-app image; use the existing one.
    #[arg(long)]
    no_image_build: bool,
    /// Where the report goes; default `target/soak/soak-<unix time>.md`.
    #[arg(long)]
    out: Option<PathBuf>,
}

pub fn run(args: SoakArgs) -> Result<()> {
    crate::check_docker()?;
    if !args.no_image_build {
        crate::sample_image(crate::DEFAULT_TAG)?;
    }
    let root = crate::workspace_root()?;
    let (profile, dir) = if args.release {
        ("release", "release")
    } else {
        ("dev", "debug")
    };
    println!("xtask: building the emulator and the soak driver ({profile})");
    let mut build = crate::cargo();
    build
        .current_dir(&root)
        .args(["build", "--workspace", "--bin", "emulator", "--bin", "soak"]);
    if args.release {
        build.arg("--release");
    } else {
        // With the tests: their features, so the debug build is the tests'.
        build.arg("--tests");
    }
    crate::run(&mut build)?;
    let target = crate::cargo_target_dir(&root)?;
    let bin = target.join(dir);
    let out = match args.out {
        Some(out) => out,
        None => {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .context("clock before 1970")?
                .as_secs();
            target.join("soak").join(format!("soak-{now}.md"))
        }
    };
    let mut driver = Command::new(bin.join("soak"));
    driver
        .args(["--minutes", &args.minutes.to_string()])
        .args(["--rate", &args.rate.to_string()])
        .args(["--profile", profile])
        .arg("--out")
        .arg(&out)
        .env("EMULATOR_BIN", bin.join("emulator"))
        .env("RUST_BACKTRACE", "1");
    if args.no_restart {
        driver.arg("--no-restart");
    }
    if let Some(seed) = args.seed {
        driver.args(["--seed", &seed.to_string()]);
    }
    // Ctrl-C reaches the driver too: it stops the run, cleans up and
    // reports; xtask waits for that instead of dying first.
    crate::bench::install_signal_handlers();
    let status = driver.status().context("running the soak driver")?;
    if !status.success() {
        bail!("the soak run failed ({status}); report: {}", out.display());
    }
    println!("xtask: soak passed; report: {}", out.display());
    Ok(())
}
