//! `cargo xtask fuzz --seconds N [--target NAME] [--seed S]`: runs the fuzz
//! targets of the `fuzz` crate (proptest on stable Rust: the parsers of the
//! control API and the data plane, against oracles), N seconds each. A
//! failure prints its seed and the shrunk input, and the command fails.
//!
//! The build is the dev profile: overflow checks and debug assertions stay
//! on (they turn silent wrap-arounds into findings), and it shares the build
//! `cargo xtask test` makes.

use anyhow::Result;
use clap::Args;

#[derive(Args)]
pub struct FuzzArgs {
    /// Seconds per target.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Run only this target (repeatable): json, query, xml, sigv4, client, framing.
    #[arg(long)]
    target: Vec<String>,
    /// The seed a failure printed, to replay it.
    #[arg(long)]
    seed: Option<String>,
}

pub fn run(args: FuzzArgs) -> Result<()> {
    let root = super::workspace_root()?;
    // Built with the whole workspace and its tests, so it shares the test
    // build's dependencies: `-p fuzz`, or a build without the tests'
    // dev-dependencies, unifies features differently and rebuilds the
    // emulator and much of what it uses.
    super::run(super::cargo().current_dir(&root).args([
        "build",
        "--quiet",
        "--workspace",
        "--bin",
        "fuzz",
        "--tests",
    ]))?;
    let mut cmd = std::process::Command::new(super::cargo_target_dir(&root)?.join("debug/fuzz"));
    cmd.current_dir(&root)
        .arg("--seconds")
        .arg(args.seconds.to_string());
    for target in &args.target {
        cmd.args(["--target", target]);
    }
    if let Some(seed) = &args.seed {
        cmd.args(["--seed", seed]);
    }
    super::run(&mut cmd)
}
