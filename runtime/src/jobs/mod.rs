//! The job server: Parallel Python's model of task parallelism for kern.
//!
//! A [`Server`] owns a set of worker threads and one shared queue of jobs. Anything
//! can be submitted: a compiled kern function with scalar arguments
//! ([`Server::submit`], a [`KernFunction`] from [`crate::Module::function`]) or a
//! Rust closure ([`Server::submit_fn`]). Each submission returns a [`Job`] whose
//! [`wait`](Job::wait) gives the result — or the error: a kern run-time trap, or a
//! panic of a closure, which are caught so the server keeps working. Workers take
//! the next queued job as soon as they are free, so uneven jobs balance
//! themselves (dynamic load balancing). On top of that: completion callbacks
//! ([`Job::on_complete`]), [`Template`]s (one function, many argument sets),
//! [`Group`]s to wait for a batch, a worker count that can change while jobs run
//! ([`Server::set_workers`]) and [`Stats`] per worker.
//!
//! Workers are plain OS threads, not rayon's pool: the `parallel` target runs
//! ufunc loops on rayon, and a job may well call such a ufunc. If jobs ran on
//! rayon's workers, a job blocking on its own `parallel` call would hold a rayon
//! worker while waiting for rayon — and a job waiting for another job would hold
//! one while the other sits behind it in the same pool. Separate threads keep the
//! two pools independent: a job may use `parallel` freely.
//!
//! This module knows how to run closures and compiled functions on threads; it
//! knows nothing of host code (`fn main`), which reaches it through `host::jobs`.

mod group;
mod job;
mod kernel;
pub mod progress;
mod server;
mod stats;
mod template;

pub use group::{Group, GroupSummary};
pub use job::{Job, JobError};
pub use kernel::{KernArgs, KernFunction};
pub use server::Server;
pub use stats::{Stats, WorkerStats};
pub use template::Template;
