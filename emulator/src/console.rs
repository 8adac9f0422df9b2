//! The terminal output `demo` and `compose` share.

use std::io::Write as _;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressDrawTarget};

/// Terminal output: step lines and tables on stdout, progress bars on
/// stderr (hidden when stderr is not a terminal), nothing when quiet.
pub(crate) struct Console {
    quiet: bool,
    bars: MultiProgress,
}

impl Console {
    pub(crate) fn new(quiet: bool) -> Self {
        let target = if quiet {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        };
        Self {
            quiet,
            bars: MultiProgress::with_draw_target(target),
        }
    }

    /// A line of output, printed above any progress bars. A closed stdout
    /// (`demo | head`) must not stop the demo before it cleans up.
    pub(crate) fn line(&self, text: &str) {
        if !self.quiet {
            self.bars.suspend(|| {
                let _ = writeln!(std::io::stdout(), "{text}");
            });
        }
    }

    /// A setup step: `· text`.
    pub(crate) fn step(&self, text: &str) {
        self.line(&format!("· {text}"));
    }

    /// A spinner for a wait; finish it with `finish_and_clear`.
    pub(crate) fn spinner(&self, message: &str) -> indicatif::ProgressBar {
        let bar = self.bars.add(indicatif::ProgressBar::new_spinner());
        bar.set_style(
            indicatif::ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .expect("valid template"),
        );
        bar.set_message(message.to_string());
        bar.enable_steady_tick(Duration::from_millis(100));
        bar
    }

    /// The bars' group, for live bars a command lays out itself.
    pub(crate) fn bars(&self) -> &MultiProgress {
        &self.bars
    }

    /// A bar of `len` steps, e.g. one per task.
    pub(crate) fn bar(&self, len: u64) -> indicatif::ProgressBar {
        self.bars.add(indicatif::ProgressBar::new(len))
    }

    pub(crate) fn clear(&self) {
        let _ = self.bars.clear();
    }
}
