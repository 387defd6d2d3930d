//! Groups: a batch of jobs to wait for together (Parallel Python's `group=` and
//! `wait(group)`), with a progress bar for long batches.
//!
//! A group only counts: each job added registers a completion callback that
//! ticks the count, so a group works with jobs of any result type and any server.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::job::Job;
use super::progress::ProgressDisplay;

#[derive(Default)]
struct Counts {
    added: usize,
    finished: usize,
    failed: usize,
}

#[derive(Default)]
struct Inner {
    counts: Mutex<Counts>,
    changed: Condvar,
}

/// A set of jobs to wait for together. Cheap to clone (clones are the same group).
#[derive(Clone, Default)]
pub struct Group {
    inner: Arc<Inner>,
}

/// How a group's jobs ended.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GroupSummary {
    /// Jobs of the group that finished (successfully or not).
    pub finished: usize,
    /// Of those, the ones whose result is an error.
    pub failed: usize,
}

fn lock(mutex: &Mutex<Counts>) -> MutexGuard<'_, Counts> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl std::fmt::Debug for Group {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let counts = lock(&self.inner.counts);
        f.debug_struct("Group")
            .field("added", &counts.added)
            .field("finished", &counts.finished)
            .finish()
    }
}

impl Group {
    pub fn new() -> Group {
        Group::default()
    }

    /// Adds `job`; a job that has already finished counts as finished at once.
    pub fn add<T: Send + 'static>(&self, job: &Job<T>) {
        lock(&self.inner.counts).added += 1;
        let inner = self.inner.clone();
        job.on_complete(move |result| {
            let mut counts = lock(&inner.counts);
            counts.finished += 1;
            counts.failed += usize::from(result.is_err());
            drop(counts);
            inner.changed.notify_all();
        });
    }

    /// Jobs added so far.
    pub fn len(&self) -> usize {
        lock(&self.inner.counts).added
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Blocks until every job added so far has finished. On a terminal, with
    /// progress bars switched on ([`super::progress::set_enabled`]), a long batch
    /// shows a progress bar on stderr while it waits.
    pub fn wait(&self) -> GroupSummary {
        let started = Instant::now();
        let mut display = ProgressDisplay::new();
        let mut counts = lock(&self.inner.counts);
        while counts.finished < counts.added {
            display.update(started.elapsed(), counts.finished, counts.added);
            counts = self
                .inner
                .changed
                .wait_timeout(counts, Duration::from_millis(100))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        display.finish();
        GroupSummary {
            finished: counts.finished,
            failed: counts.failed,
        }
    }
}
