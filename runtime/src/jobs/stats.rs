//! Statistics of a job server: jobs done and busy time per worker, wall time, and
//! their table (Parallel Python's `print_stats`).
//!
//! Workers update their own counters with atomics after each job (before its
//! result is delivered), so recording costs no lock; a snapshot reads them without
//! stopping anyone.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

/// The live counters of one worker.
pub(crate) struct WorkerCounters {
    pub id: usize,
    jobs: AtomicU64,
    busy_nanos: AtomicU64,
    retired: AtomicBool,
}

impl WorkerCounters {
    pub fn new(id: usize) -> WorkerCounters {
        WorkerCounters {
            id,
            jobs: AtomicU64::new(0),
            busy_nanos: AtomicU64::new(0),
            retired: AtomicBool::new(false),
        }
    }

    pub fn record(&self, busy: Duration) {
        let nanos = u64::try_from(busy.as_nanos()).unwrap_or(u64::MAX);
        self.busy_nanos.fetch_add(nanos, Ordering::Relaxed);
        // Release: whoever sees the new job count also sees the busy time.
        self.jobs.fetch_add(1, Ordering::Release);
    }

    pub fn retire(&self) {
        self.retired.store(true, Ordering::Release);
    }

    pub fn snapshot(&self) -> WorkerStats {
        let jobs = self.jobs.load(Ordering::Acquire);
        WorkerStats {
            id: self.id,
            jobs,
            busy: Duration::from_nanos(self.busy_nanos.load(Ordering::Relaxed)),
            active: !self.retired.load(Ordering::Acquire),
        }
    }
}

/// What one worker has done since it started.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorkerStats {
    /// Workers are numbered from 0 in the order they were started.
    pub id: usize,
    /// Jobs it has finished.
    pub jobs: u64,
    /// Time spent running jobs (their callbacks not included).
    pub busy: Duration,
    /// False once the worker retired after [`super::Server::set_workers`] lowered
    /// the count.
    pub active: bool,
}

/// A snapshot of a server's work.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Every worker ever started, retired ones included.
    pub workers: Vec<WorkerStats>,
    /// Time since the server was created.
    pub wall: Duration,
    /// Jobs waiting for a worker.
    pub queued: usize,
    /// Jobs being run right now.
    pub running: usize,
}

impl Stats {
    /// Jobs finished by all workers together.
    pub fn jobs_done(&self) -> u64 {
        self.workers.iter().map(|w| w.jobs).sum()
    }

    /// Busy time of all workers together.
    pub fn busy(&self) -> Duration {
        self.workers.iter().map(|w| w.busy).sum()
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let total = self.jobs_done();
        writeln!(f, "Job execution statistics:")?;
        writeln!(
            f,
            " worker  | job count | % of all jobs | job time sum (s) | time per job (s)"
        )?;
        for w in &self.workers {
            let share = if total == 0 {
                0.0
            } else {
                100.0 * w.jobs as f64 / total as f64
            };
            let per_job = if w.jobs == 0 {
                0.0
            } else {
                w.busy.as_secs_f64() / w.jobs as f64
            };
            writeln!(
                f,
                " {:>6}{} | {:>9} | {:>13.2} | {:>16.4} | {:>16.6}",
                w.id,
                if w.active { " " } else { "r" },
                w.jobs,
                share,
                w.busy.as_secs_f64(),
                per_job
            )?;
        }
        writeln!(
            f,
            "Time elapsed since server creation: {:.4} s ({} jobs, {} queued, {} running; r = retired worker)",
            self.wall.as_secs_f64(),
            total,
            self.queued,
            self.running
        )
    }
}
