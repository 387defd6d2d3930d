//! The `auto` tier's policy and its one background compiler: which requests are
//! hot, and the thread that compiles them with LLVM `-O3` while their calls go on
//! with Cranelift's code.
//!
//! A request is **hot** when one call is about to run it over at least
//! [`HOT_ELEMENTS`] elements, or when its baseline code has spent at least
//! [`HOT_TIME`] running, summed over its calls
//! ([`CompiledFunction::time_spent`]). A hot request is queued once; one
//! background thread per module compiles the queued requests hottest first
//! (the one whose baseline code has run longest when the thread picks), and
//! each finished compile is served to the calls that ask after it (the swap).
//! A request LLVM cannot compile keeps its baseline code, and the folds the
//! baseline already runs at memory speed are never queued
//! ([`worth_upgrading`]). No call ever waits for LLVM, and no call shares its
//! core with it: the compiles run in the idle scheduling class
//! (`idle_class.rs`) until they starve — except on a thread allowed one CPU
//! only, which has no other core to wait for.
//!
//! It knows the LLVM host backend and the request type; it must not know who
//! asks for code (handles) nor how code runs (`exec`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kern_compiler::backend::cranelift::CompiledFunction;
use kern_compiler::ir::{FuncId, Program};

use super::idle_class::IdleClass;
use super::LoopRequest;

/// One call over at least this many elements makes its loop hot at once (the
/// call itself still runs the baseline code).
pub const HOT_ELEMENTS: usize = 1_000_000;

/// Baseline code that has run this long in all makes its request hot.
pub const HOT_TIME: Duration = Duration::from_millis(10);

/// Whether a request with `elements` about to run and `baseline` code (if
/// compiled) is hot under the policy above.
pub fn is_hot(elements: usize, baseline: Option<&CompiledFunction>) -> bool {
    elements >= HOT_ELEMENTS || baseline.is_some_and(|f| f.time_spent() >= HOT_TIME)
}

/// Whether `request` is worth LLVM's code at all. Not the block and row folds
/// of reductions (`LoopRequest::Reduce`, `LoopRequest::Rows`): the baseline
/// runs them in vectors at memory speed, and LLVM's code for them measured
/// slower (BENCHMARKS.md, the quiet table of both tiers: `add.reduce` 7.4
/// against 5.5 ms, the axis-0 reduce 4.5 against 3.3), so `auto` keeps their
/// baseline code; `optimized` still compiles them with LLVM.
pub fn worth_upgrading(request: &LoopRequest) -> bool {
    !matches!(request, LoopRequest::Reduce(_) | LoopRequest::Rows(_))
}

/// One LLVM compile for the background thread.
struct Job {
    program: Program,
    root: FuncId,
    request: LoopRequest,
    /// The request's baseline code, whose run time says how hot it is now.
    baseline: CompiledFunction,
}

/// The background thread's work: queued jobs, and whether more can come.
#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    closed: bool,
}

/// The queue and the signal that it changed, shared with the thread.
type Shared = Arc<(Mutex<Queue>, Condvar)>;

/// The upgraded code, the requests queued so far and the background thread.
#[derive(Default)]
pub struct Upgrades {
    /// LLVM's code of each finished request: served instead of the baseline's.
    done: Arc<Mutex<HashMap<LoopRequest, CompiledFunction>>>,
    /// Every request ever queued (each is compiled at most once).
    queued: HashSet<LoopRequest>,
    /// Queued compiles not finished yet.
    pending: Arc<AtomicUsize>,
    /// The jobs of the background thread, started with the first job.
    queue: Shared,
    /// The scheduling class of its compiles.
    class: Arc<IdleClass>,
    worker: Option<JoinHandle<()>>,
}

/// The index of the job to compile next: the one whose baseline code has run
/// longest so far (the earliest queued among equals). The order requests became
/// hot is not the order that pays: a loop called again and again while another
/// compiles overtakes it.
fn hottest<T>(jobs: &[T], heat: impl Fn(&T) -> Duration) -> Option<usize> {
    let mut best: Option<(usize, Duration)> = None;
    for (i, job) in jobs.iter().enumerate() {
        let h = heat(job);
        if best.is_none_or(|(_, b)| h > b) {
            best = Some((i, h));
        }
    }
    best.map(|(i, _)| i)
}

/// The background thread: compiles the hottest queued job until the queue is
/// closed and empty.
fn work(
    queue: Shared,
    done: Arc<Mutex<HashMap<LoopRequest, CompiledFunction>>>,
    pending: Arc<AtomicUsize>,
    class: Arc<IdleClass>,
) {
    let (lock, changed) = &*queue;
    loop {
        let job = {
            let Ok(mut q) = lock.lock() else { return };
            loop {
                if let Some(i) = hottest(&q.jobs, |j| j.baseline.time_spent()) {
                    break q.jobs.remove(i);
                }
                if q.closed {
                    return;
                }
                q = match changed.wait(q) {
                    Ok(q) => q,
                    Err(_) => return,
                };
            }
        };
        class.start();
        let compiled =
            super::llvm::compile(&job.program, job.root, "background", Some(&job.baseline));
        if let Ok(f) = compiled {
            if let Ok(mut done) = done.lock() {
                done.insert(job.request, f);
            }
        }
        class.end();
        pending.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Upgrades {
    /// LLVM's code of `request`, once its background compile has finished.
    /// Every call asks, so this is also where a starved compile is put back in
    /// the default class (`idle_class.rs`).
    pub fn get(&self, request: &LoopRequest) -> Option<CompiledFunction> {
        self.class.check(Instant::now());
        self.done.lock().ok()?.get(request).cloned()
    }

    /// Whether `request` was queued already.
    pub fn is_queued(&self, request: &LoopRequest) -> bool {
        self.queued.contains(request)
    }

    /// Queues the LLVM compile of `request` (built as `program`, rooted at
    /// `root`; `baseline` is its running code).
    pub fn queue(
        &mut self,
        request: LoopRequest,
        program: Program,
        root: FuncId,
        baseline: CompiledFunction,
    ) {
        if !self.queued.insert(request.clone()) {
            return;
        }
        if self.worker.is_none() {
            let (queue, done, pending, class) = (
                self.queue.clone(),
                self.done.clone(),
                self.pending.clone(),
                self.class.clone(),
            );
            match std::thread::Builder::new()
                .name("kern-llvm-tier".into())
                .spawn(move || work(queue, done, pending, class))
            {
                Ok(worker) => self.worker = Some(worker),
                // No thread to be had: the request keeps its baseline code.
                Err(_) => return,
            }
        }
        let (lock, changed) = &*self.queue;
        if let Ok(mut q) = lock.lock() {
            q.jobs.push(Job {
                program,
                root,
                request,
                baseline,
            });
            self.pending.fetch_add(1, Ordering::SeqCst);
            changed.notify_one();
        }
    }

    /// Whether the background thread is in the idle class now (`None` before
    /// its first compile).
    #[cfg(test)]
    pub fn background_thread_idle(&self) -> Option<bool> {
        let (thread, _) = self.class.thread()?;
        Some(super::idle_class::is_idle(thread))
    }

    /// How many requests were queued so far.
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// Whether every queued compile has finished (and a starved one is put
    /// back in the default class, as in [`Upgrades::get`]).
    pub fn all_done(&self) -> bool {
        self.class.check(Instant::now());
        self.pending.load(Ordering::SeqCst) == 0
    }

    /// Waits for the background thread to finish the queue (LLVM must not be
    /// compiling while the process tears it down).
    pub fn finish(&mut self) {
        let (lock, changed) = &*self.queue;
        if let Ok(mut q) = lock.lock() {
            q.closed = true;
            changed.notify_all();
        }
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_job_that_has_run_longest_compiles_first() {
        let ms = Duration::from_millis;
        assert_eq!(hottest(&[] as &[u64], |&t| ms(t)), None);
        assert_eq!(hottest(&[10, 250, 40], |&t| ms(t)), Some(1));
        // Among equals, the earliest queued.
        assert_eq!(hottest(&[0, 30, 30, 5], |&t| ms(t)), Some(1));
        assert_eq!(hottest(&[0, 0], |&t| ms(t)), Some(0));
    }
}
