//! Fuzz targets for the emulator's parsers, on the stable toolchain.
//!
//! cargo-fuzz needs nightly, so each target is a proptest property instead:
//! strategies generate raw bytes and near-valid inputs, the property checks
//! the parser (never a panic, and agreement with an oracle: httparse, hyper,
//! the SDK's XML reader, or a reference model), and proptest shrinks a
//! failing input to a minimal one. [`fuzz`] runs a target for a time budget
//! in batches, each from a seed it can print, so `--seed` replays a failure.
//!
//! Targets ([`TARGETS`]): `json` and `query` (request decoding), `xml` (the
//! Query services' response writer, read back), `sigv4` (the credential
//! scope and service addressing), `client` (the HTTP/1 client that reads
//! target responses, against hyper's client) and `framing` (the request
//! framing scanner, against httparse and hyper's server).

pub mod http_ref;
pub mod targets;

use std::cell::RefCell;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngAlgorithm, TestError, TestRng, TestRunner};

/// One fuzz target.
pub struct Target {
    pub name: &'static str,
    pub about: &'static str,
    /// Runs the runner's configured number of cases.
    pub run: fn(&mut TestRunner) -> Result<(), String>,
}

/// Every target, in the order `cargo xtask fuzz` runs them.
pub const TARGETS: &[Target] = &[
    targets::json::TARGET,
    targets::query::TARGET,
    targets::xml::TARGET,
    targets::sigv4::TARGET,
    targets::client::TARGET,
    targets::framing::TARGET,
];

/// Runs `test` on inputs from `strategy`; a failure is reported with the
/// shrunk input (the property's own message first).
pub fn check<S: Strategy>(
    runner: &mut TestRunner,
    strategy: S,
    test: impl Fn(S::Value) -> Result<(), String>,
) -> Result<(), String>
where
    S::Value: Debug,
{
    let result = runner.run(&strategy, |value| {
        test(value).map_err(proptest::test_runner::TestCaseError::fail)
    });
    match result {
        Ok(()) => Ok(()),
        Err(TestError::Fail(reason, value)) => Err(format!(
            "{reason}{}\nminimal input: {value:#?}",
            last_panic_location()
        )),
        Err(TestError::Abort(reason)) => Err(format!("aborted: {reason}")),
    }
}

/// What a time-bounded run did.
#[derive(Debug)]
pub struct Outcome {
    pub cases: u64,
    pub batches: u64,
    /// The seed of the failing batch, and the report.
    pub failure: Option<(u64, String)>,
}

/// Runs `target` for `budget` in batches. Batch k runs from seed s_k, with
/// s_0 = `seed` and each next seed derived from the last, so a failure's
/// printed seed replays it as the first batch of a new run.
pub fn fuzz(target: &Target, budget: Duration, seed: u64) -> Outcome {
    install_panic_hook();
    let start = Instant::now();
    let mut outcome = Outcome {
        cases: 0,
        batches: 0,
        failure: None,
    };
    let mut seed = seed;
    let mut cases = 64u32;
    loop {
        let batch_start = Instant::now();
        let mut runner = runner(seed, cases);
        if let Err(report) = (target.run)(&mut runner) {
            outcome.failure = Some((seed, report));
            return outcome;
        }
        outcome.cases += u64::from(cases);
        outcome.batches += 1;
        if start.elapsed() >= budget {
            return outcome;
        }
        // Batches of about a second keep the overshoot small.
        if batch_start.elapsed() < Duration::from_millis(500) && cases < 1 << 16 {
            cases *= 2;
        }
        seed = next_seed(seed);
    }
}

/// A runner for `cases` cases from `seed`, without failure files (the
/// printed seed is the way to replay).
pub fn runner(seed: u64, cases: u32) -> TestRunner {
    let config = Config {
        cases,
        failure_persistence: None,
        max_shrink_time: 60_000,
        ..Config::default()
    };
    let mut bytes = [0u8; 32];
    let mut s = seed;
    for chunk in bytes.chunks_mut(8) {
        s = next_seed(s);
        chunk.copy_from_slice(&s.to_le_bytes());
    }
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

/// splitmix64: cheap, and every output differs for consecutive inputs.
pub fn next_seed(s: u64) -> u64 {
    let mut z = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Keeps panics quiet while proptest shrinks (it catches them and retries
/// hundreds of times), remembering where the last one happened.
fn install_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            let at = info.location().map(|l| l.to_string()).unwrap_or_default();
            LAST_PANIC.with(|p| *p.borrow_mut() = Some(at));
        }));
    });
}

fn last_panic_location() -> String {
    LAST_PANIC
        .with(|p| p.borrow_mut().take())
        .map(|at| format!(" (panicked at {at})"))
        .unwrap_or_default()
}

/// Runs every target for a few hundred cases from a fixed seed: the
/// targets' own smoke test, in `cargo test`.
#[cfg(test)]
mod tests {
    #[test]
    fn every_target_passes_a_short_run() {
        for target in super::TARGETS {
            let mut runner = super::runner(0x5eed, 200);
            if let Err(report) = (target.run)(&mut runner) {
                panic!("target {}: {report}", target.name);
            }
        }
    }
}
