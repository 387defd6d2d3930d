//! The progress bar of long batches (indicatif), drawn on stderr while a
//! [`super::Group`] or a host-code `jobs::map` waits.
//!
//! Drawn only when it helps and never pollutes output that is read by programs:
//! progress bars must be switched on (the `kern` CLI does it, a library user
//! opts in), stderr must be a terminal, the batch must have at least
//! [`MIN_JOBS`] jobs and still be running after [`DELAY`].

use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// Batches smaller than this finish too soon for a bar to help.
pub const MIN_JOBS: usize = 8;
/// A batch done before this never shows a bar (no flicker on fast batches).
pub const DELAY: Duration = Duration::from_millis(500);

static ENABLED: AtomicBool = AtomicBool::new(false);

/// Switches progress bars on or off for the whole process (off by default).
pub fn set_enabled(enabled: bool) {
    ENABLED.store(enabled, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Whether a batch of `total` jobs, waited on for `waited`, gets a bar.
pub fn should_draw(
    enabled: bool,
    stderr_is_terminal: bool,
    total: usize,
    waited: Duration,
) -> bool {
    enabled && stderr_is_terminal && total >= MIN_JOBS && waited >= DELAY
}

/// The bar of one wait, created the first time [`should_draw`] says so.
pub(crate) struct ProgressDisplay {
    bar: Option<ProgressBar>,
    /// Decided once per wait: stderr does not become a terminal midway.
    may_draw: bool,
}

impl ProgressDisplay {
    pub fn new() -> ProgressDisplay {
        ProgressDisplay {
            bar: None,
            may_draw: enabled() && std::io::stderr().is_terminal(),
        }
    }

    pub fn update(&mut self, waited: Duration, finished: usize, total: usize) {
        if self.bar.is_none() && should_draw(self.may_draw, true, total, waited) {
            let bar =
                ProgressBar::with_draw_target(Some(total as u64), ProgressDrawTarget::stderr());
            if let Ok(style) =
                ProgressStyle::with_template("{spinner} jobs [{bar:40}] {pos}/{len} ({elapsed})")
            {
                bar.set_style(style.progress_chars("=> "));
            }
            self.bar = Some(bar);
        }
        if let Some(bar) = &self.bar {
            bar.set_length(total as u64);
            bar.set_position(finished as u64);
        }
    }

    pub fn finish(self) {
        if let Some(bar) = self.bar {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bar_needs_everything_at_once() {
        let long = DELAY * 2;
        assert!(should_draw(true, true, MIN_JOBS, long));
        assert!(!should_draw(false, true, MIN_JOBS, long), "switched off");
        assert!(!should_draw(true, false, MIN_JOBS, long), "not a terminal");
        assert!(!should_draw(true, true, MIN_JOBS - 1, long), "small batch");
        assert!(!should_draw(true, true, MIN_JOBS, DELAY / 2), "quick batch");
    }
}
