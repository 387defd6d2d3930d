//! The server: worker threads around one shared queue, submission, waiting for
//! everything, changing the worker count, shutting down.
//!
//! Load balancing is dynamic by construction: a free worker takes the oldest
//! queued job, so long jobs never hold up a whole share of the work. The server
//! runs opaque tasks; what a job is (its result slot, its panic handling) is
//! `job.rs`'s and `submit_catching`'s business.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Instant;

use super::job::{Job, JobError, JobState};
use super::kernel::{KernArgs, KernFunction};
use super::stats::{Stats, WorkerCounters};
use super::template::Template;
use crate::exec::parallel::MAX_THREADS;
use crate::{Error, ScalarValue};

/// A queued job. The worker passes its counters and the job's start time, so the
/// job is counted before its result is delivered (whoever waited for it then sees
/// it in the stats).
type Task = Box<dyn FnOnce(&WorkerCounters, Instant) + Send>;

struct Queue {
    tasks: VecDeque<Task>,
    /// Workers the server should have; extra ones retire when they are between jobs.
    target_workers: usize,
    live_workers: usize,
    /// Jobs taken by a worker and not finished yet.
    running: usize,
    shutting_down: bool,
}

/// What the workers and every handle share.
struct Shared {
    /// Identifies this server's workers (see `ON_WORKER_OF`).
    id: usize,
    queue: Mutex<Queue>,
    /// Signalled when a task is queued, the worker count drops, or on shutdown.
    work: Condvar,
    /// Signalled when the last queued or running job finishes.
    idle: Condvar,
    /// One entry per worker ever started, retired ones included.
    workers: Mutex<Vec<Arc<WorkerCounters>>>,
    handles: Mutex<Vec<JoinHandle<()>>>,
    created: Instant,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

thread_local! {
    /// The id of the server whose worker this thread is (0: none).
    static ON_WORKER_OF: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Shuts the workers down when the last [`Server`] handle goes.
struct Owner {
    shared: Arc<Shared>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        lock(&self.shared.queue).shutting_down = true;
        self.shared.work.notify_all();
        // Queued jobs still run: a dropped server finishes its work, then its
        // workers exit. A worker cannot join itself (the last handle may be dropped
        // inside a job), so from a worker the threads are left to exit on their own.
        if ON_WORKER_OF.with(|w| w.get()) == self.shared.id {
            return;
        }
        let handles = std::mem::take(&mut *lock(&self.shared.handles));
        for handle in handles {
            let _ = handle.join();
        }
    }
}

/// A job server. Cheap to clone: clones are handles on the same workers and queue;
/// when the last one is dropped, the queued jobs finish and the workers exit.
#[derive(Clone)]
pub struct Server {
    owner: Arc<Owner>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("workers", &self.workers())
            .finish()
    }
}

/// The number of workers a server gets when none is given: the machine's.
pub fn detected_workers() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS))
}

impl Server {
    /// A server with one worker per hardware thread of the machine.
    pub fn new() -> Result<Server, Error> {
        Server::with_workers(detected_workers())
    }

    /// A server with `workers` worker threads (at least one).
    pub fn with_workers(workers: usize) -> Result<Server, Error> {
        static NEXT_ID: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        check_worker_count(workers)?;
        let shared = Arc::new(Shared {
            id: NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
            queue: Mutex::new(Queue {
                tasks: VecDeque::new(),
                target_workers: 0,
                live_workers: 0,
                running: 0,
                shutting_down: false,
            }),
            work: Condvar::new(),
            idle: Condvar::new(),
            workers: Mutex::new(Vec::new()),
            handles: Mutex::new(Vec::new()),
            created: Instant::now(),
        });
        let server = Server {
            owner: Arc::new(Owner { shared }),
        };
        server.set_workers(workers)?;
        Ok(server)
    }

    fn shared(&self) -> &Arc<Shared> {
        &self.owner.shared
    }

    /// The number of workers the server has now (retiring ones not counted).
    pub fn workers(&self) -> usize {
        lock(&self.shared().queue).target_workers
    }

    /// Changes the number of workers while jobs may be running. New workers start
    /// at once; surplus ones finish the job they are running and then exit, and no
    /// job is lost either way.
    pub fn set_workers(&self, workers: usize) -> Result<(), Error> {
        check_worker_count(workers)?;
        let shared = self.shared();
        let mut queue = lock(&shared.queue);
        queue.target_workers = workers;
        let missing = workers.saturating_sub(queue.live_workers);
        for _ in 0..missing {
            let counters = {
                let mut all = lock(&shared.workers);
                let counters = Arc::new(WorkerCounters::new(all.len()));
                all.push(counters.clone());
                counters
            };
            let worker_shared = shared.clone();
            let handle = std::thread::Builder::new()
                .name(format!("kern-job-worker-{}", counters.id))
                .stack_size(kern_compiler::stack_limit::WORKER_STACK_BYTES)
                .spawn(move || worker_loop(&worker_shared, &counters))
                .map_err(|e| Error::Call(format!("cannot start a job worker thread: {e}")))?;
            queue.live_workers += 1;
            lock(&shared.handles).push(handle);
        }
        drop(queue);
        // Surplus workers are asleep on `work`: wake them so they retire.
        shared.work.notify_all();
        Ok(())
    }

    /// Queues a task; the server counts it as pending until it has run.
    fn push(&self, task: Task) {
        let shared = self.shared();
        lock(&shared.queue).tasks.push_back(task);
        shared.work.notify_one();
    }

    /// Runs `run` on a worker; a panic becomes [`JobError::Panicked`].
    pub(crate) fn submit_catching<T, F>(&self, run: F) -> Job<T>
    where
        T: Send + 'static,
        F: FnOnce() -> Result<T, JobError> + Send + 'static,
    {
        let state = JobState::new();
        let worker_state = state.clone();
        self.push(Box::new(
            move |counters: &WorkerCounters, started: Instant| {
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
                    .unwrap_or_else(|payload| Err(JobError::Panicked(panic_message(&*payload))));
                counters.record(started.elapsed());
                worker_state.complete(result);
            },
        ));
        Job::from_state(state)
    }

    /// Runs the Rust closure `f` on a worker. A panic inside it comes back from
    /// [`Job::wait`] as [`JobError::Panicked`]; the worker keeps serving.
    pub fn submit_fn<T, F>(&self, f: F) -> Job<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        self.submit_catching(move || Ok(f()))
    }

    /// Calls the compiled kern function `function` with `args` (a tuple of scalars,
    /// or a `Vec<ScalarValue>`) on a worker. A trap comes back from [`Job::wait`] as
    /// [`JobError::Kernel`], rendered with its source location; `print!` output of
    /// the call is written to stdout in one piece when the job finishes.
    pub fn submit(&self, function: &KernFunction, args: impl KernArgs) -> Job<Option<ScalarValue>> {
        let function = function.clone();
        let args = args.into_values();
        self.submit_catching(move || function.call_to_stdout(&args).map_err(JobError::from))
    }

    /// A template running `f` on each argument set submitted to it.
    pub fn template<A, T, F>(&self, f: F) -> Template<A, T>
    where
        A: Send + 'static,
        T: Send + 'static,
        F: Fn(A) -> T + Send + Sync + 'static,
    {
        Template::new(self, f)
    }

    /// Blocks until no job is queued or running (jobs submitted meanwhile included).
    pub fn wait_all(&self) {
        let shared = self.shared();
        let mut queue = lock(&shared.queue);
        while !queue.tasks.is_empty() || queue.running > 0 {
            queue = shared
                .idle
                .wait(queue)
                .unwrap_or_else(PoisonError::into_inner);
        }
    }

    /// Blocks until every job of `group` has finished; see [`super::Group::wait`].
    pub fn wait_group(&self, group: &super::Group) -> super::GroupSummary {
        group.wait()
    }

    /// Jobs done and busy time per worker, and the time since the server started.
    pub fn stats(&self) -> Stats {
        let shared = self.shared();
        let (queued, running) = {
            let queue = lock(&shared.queue);
            (queue.tasks.len(), queue.running)
        };
        let workers = lock(&shared.workers)
            .iter()
            .map(|counters| counters.snapshot())
            .collect();
        Stats {
            workers,
            wall: shared.created.elapsed(),
            queued,
            running,
        }
    }

    /// Prints [`Server::stats`] as a table on stdout.
    pub fn print_stats(&self) {
        print!("{}", self.stats());
    }
}

fn check_worker_count(workers: usize) -> Result<(), Error> {
    if workers == 0 {
        return Err(Error::Call("a job server needs at least one worker".into()));
    }
    if workers > MAX_THREADS {
        return Err(Error::Call(format!(
            "a job server has at most {MAX_THREADS} workers, not {workers}"
        )));
    }
    Ok(())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".into()
    }
}

fn worker_loop(shared: &Shared, counters: &WorkerCounters) {
    ON_WORKER_OF.with(|w| w.set(shared.id));
    loop {
        let task = {
            let mut queue = lock(&shared.queue);
            loop {
                if queue.live_workers > queue.target_workers {
                    queue.live_workers -= 1;
                    counters.retire();
                    return;
                }
                if let Some(task) = queue.tasks.pop_front() {
                    queue.running += 1;
                    break task;
                }
                if queue.shutting_down {
                    queue.live_workers -= 1;
                    counters.retire();
                    return;
                }
                queue = shared
                    .work
                    .wait(queue)
                    .unwrap_or_else(PoisonError::into_inner);
            }
        };
        task(counters, Instant::now());
        let mut queue = lock(&shared.queue);
        queue.running -= 1;
        if queue.running == 0 && queue.tasks.is_empty() {
            shared.idle.notify_all();
        }
    }
}
