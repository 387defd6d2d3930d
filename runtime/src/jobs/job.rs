//! A job handle: the slot a worker fills with a job's result, the callbacks to run
//! when it is filled, and waiting for it.
//!
//! It knows nothing of threads or queues: the server runs the job and calls
//! [`JobState::complete`] once.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use crate::Error;

/// Why a job produced no result.
#[derive(Clone, Debug, thiserror::Error)]
pub enum JobError {
    /// The kern function failed: a run-time trap (with its source location) or bad
    /// arguments.
    #[error("{0}")]
    Kernel(Arc<Error>),
    /// The Rust closure panicked; the message is the panic's payload.
    #[error("the job panicked: {0}")]
    Panicked(String),
}

impl From<Error> for JobError {
    fn from(error: Error) -> Self {
        JobError::Kernel(Arc::new(error))
    }
}

type Callback<T> = Box<dyn FnOnce(&Result<T, JobError>) + Send>;

/// Where a job's result is, as seen by waiters.
enum Slot<T> {
    /// Not finished (callbacks registered before completion run before `Done`).
    Pending,
    /// Finished; a late callback has the result out for a moment (see `on_complete`).
    Lent,
    Done(Result<T, JobError>),
}

struct Inner<T> {
    slot: Slot<T>,
    callbacks: Vec<Callback<T>>,
}

/// The state a [`Job`] shares with the worker that runs it.
pub(crate) struct JobState<T> {
    inner: Mutex<Inner<T>>,
    changed: Condvar,
}

/// Locks ignoring poison: every critical section here leaves the state consistent
/// (user code never runs under these locks), so a panic elsewhere is no reason to
/// refuse waiting.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs a callback, keeping its panic away from the worker or waiter running it.
fn run_callback<T>(callback: Callback<T>, result: &Result<T, JobError>) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(result)));
}

impl<T> JobState<T> {
    pub(crate) fn new() -> Arc<JobState<T>> {
        Arc::new(JobState {
            inner: Mutex::new(Inner {
                slot: Slot::Pending,
                callbacks: Vec::new(),
            }),
            changed: Condvar::new(),
        })
    }

    /// Publishes the result, after running every callback registered so far (also
    /// those registered while earlier ones run), so `wait` returns only once the
    /// callbacks are done.
    pub(crate) fn complete(&self, result: Result<T, JobError>) {
        let mut inner = lock(&self.inner);
        loop {
            let callbacks = std::mem::take(&mut inner.callbacks);
            if callbacks.is_empty() {
                inner.slot = Slot::Done(result);
                drop(inner);
                self.changed.notify_all();
                return;
            }
            drop(inner);
            for callback in callbacks {
                run_callback(callback, &result);
            }
            inner = lock(&self.inner);
        }
    }

    fn wait_done(&self) -> MutexGuard<'_, Inner<T>> {
        let mut inner = lock(&self.inner);
        while !matches!(inner.slot, Slot::Done(_)) {
            inner = self
                .changed
                .wait(inner)
                .unwrap_or_else(PoisonError::into_inner);
        }
        inner
    }

    pub(crate) fn on_complete(&self, callback: Callback<T>) {
        let mut inner = lock(&self.inner);
        if matches!(inner.slot, Slot::Pending) {
            inner.callbacks.push(callback);
            return;
        }
        drop(inner);
        // Finished: run it here, with the result lent out of the slot so that no
        // lock is held while user code runs.
        let mut inner = self.wait_done();
        let Slot::Done(result) = std::mem::replace(&mut inner.slot, Slot::Lent) else {
            unreachable!("wait_done returns with a finished slot")
        };
        drop(inner);
        run_callback(callback, &result);
        lock(&self.inner).slot = Slot::Done(result);
        self.changed.notify_all();
    }

    pub(crate) fn is_finished(&self) -> bool {
        !matches!(lock(&self.inner).slot, Slot::Pending)
    }
}

/// A submitted job; [`wait`](Job::wait) for its result. Dropping a `Job` does not
/// cancel it: it still runs, and its callbacks still fire.
pub struct Job<T> {
    state: Arc<JobState<T>>,
}

impl<T> std::fmt::Debug for Job<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Job")
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<T> Job<T> {
    pub(crate) fn from_state(state: Arc<JobState<T>>) -> Job<T> {
        Job { state }
    }

    /// Whether the job has finished (successfully or not).
    pub fn is_finished(&self) -> bool {
        self.state.is_finished()
    }
}

impl<T: Send + 'static> Job<T> {
    /// Blocks until the job has run (and its callbacks with it); its result, or why
    /// there is none.
    pub fn wait(self) -> Result<T, JobError> {
        let mut inner = self.state.wait_done();
        match std::mem::replace(&mut inner.slot, Slot::Lent) {
            Slot::Done(result) => result,
            _ => unreachable!("wait_done returns with a finished slot"),
        }
    }

    /// Like [`wait`](Job::wait), keeping the result in the job (for handles that
    /// are waited on more than once).
    pub fn wait_cloned(&self) -> Result<T, JobError>
    where
        T: Clone,
    {
        match &self.state.wait_done().slot {
            Slot::Done(result) => result.clone(),
            _ => unreachable!("wait_done returns with a finished slot"),
        }
    }

    /// Runs `callback` once with the job's result: on the worker when the job
    /// finishes, or right here if it has finished already. A panicking callback is
    /// contained; it never takes down the worker.
    pub fn on_complete(&self, callback: impl FnOnce(&Result<T, JobError>) + Send + 'static) {
        self.state.on_complete(Box::new(callback));
    }

    /// Adds the job to `group` (see [`Group::wait`]) and returns it, for chaining
    /// after `submit`.
    pub fn in_group(self, group: &crate::jobs::Group) -> Job<T> {
        group.add(&self);
        self
    }
}
