//! `fuzz --seconds N [--target NAME] [--seed S]`: runs each target for N
//! seconds (see the library docs). `cargo xtask fuzz` runs this.

use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

#[derive(Parser)]
#[command(
    name = "fuzz",
    about = "Fuzz the emulator's parsers (proptest, stable Rust)"
)]
struct Args {
    /// Seconds per target.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Run only this target (repeatable); default: all of them.
    #[arg(long)]
    target: Vec<String>,
    /// Seed of the first batch (a failure prints the one to pass here);
    /// default: from the clock.
    #[arg(long, value_parser = parse_seed)]
    seed: Option<u64>,
    /// List the targets and exit.
    #[arg(long)]
    list: bool,
}

fn parse_seed(s: &str) -> Result<u64, String> {
    let parsed = match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => s.parse(),
    };
    parsed.map_err(|e| format!("not a seed ({e}): {s}"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.list {
        for t in fuzz::TARGETS {
            println!("{:<8} {}", t.name, t.about);
        }
        return ExitCode::SUCCESS;
    }
    let unknown: Vec<&String> = args
        .target
        .iter()
        .filter(|name| !fuzz::TARGETS.iter().any(|t| t.name == name.as_str()))
        .collect();
    if !unknown.is_empty() {
        let names: Vec<&str> = fuzz::TARGETS.iter().map(|t| t.name).collect();
        eprintln!(
            "fuzz: unknown target {unknown:?}; targets: {}",
            names.join(", ")
        );
        return ExitCode::from(2);
    }
    if !(args.seconds.is_finite() && args.seconds > 0.0) {
        eprintln!("fuzz: --seconds must be a positive number");
        return ExitCode::from(2);
    }
    let seed = args.seed.unwrap_or_else(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        fuzz::next_seed(nanos)
    });
    let budget = Duration::from_secs_f64(args.seconds);
    let (mut passed, mut failed) = (0, 0);
    for target in fuzz::TARGETS {
        if !args.target.is_empty() && !args.target.iter().any(|n| n == target.name) {
            continue;
        }
        let started = Instant::now();
        let outcome = fuzz::fuzz(target, budget, seed);
        let took = started.elapsed().as_secs_f64();
        match outcome.failure {
            None => {
                passed += 1;
                println!(
                    "fuzz: {:<8} ok: {} cases in {took:.1} s (seed {seed:#018x})",
                    target.name, outcome.cases
                );
            }
            Some((batch_seed, report)) => {
                failed += 1;
                println!(
                    "fuzz: {:<8} FAILED after {} cases in {took:.1} s\n{report}\n\
                     replay: cargo xtask fuzz --target {} --seed {batch_seed:#018x}",
                    target.name, outcome.cases, target.name
                );
            }
        }
    }
    println!("fuzz: {passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
