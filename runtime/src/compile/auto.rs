//! The `auto` tier's policy and its one background compiler: which requests are
//! hot, and the thread that compiles them with LLVM `-O3` while their calls go on
//! with Cranelift's code.
//!
//! A request is **hot** when one call is about to run it over at least
//! [`HOT_ELEMENTS`] elements, or when its baseline code has spent at least
//! [`HOT_TIME`] running, summed over its calls
//! ([`CompiledFunction::time_spent`]). A hot request is queued once; one
//! background thread per module compiles the queue in order, and each finished
//! compile is served to the calls that ask after it (the swap). A request LLVM
//! cannot compile keeps its baseline code. No call ever waits for LLVM.
//!
//! It knows the LLVM host backend and the request type; it must not know who
//! asks for code (handles) nor how code runs (`exec`).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use kern_compiler::backend::cranelift::CompiledFunction;
use kern_compiler::ir::{FuncId, Program};

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

/// One LLVM compile for the background thread.
struct Job {
    program: Program,
    root: FuncId,
    request: LoopRequest,
}

/// The upgraded code, the requests queued so far and the background thread.
#[derive(Default)]
pub struct Upgrades {
    /// LLVM's code of each finished request: served instead of the baseline's.
    done: Arc<Mutex<HashMap<LoopRequest, CompiledFunction>>>,
    /// Every request ever queued (each is compiled at most once).
    queued: HashSet<LoopRequest>,
    /// Queued compiles not finished yet.
    pending: Arc<AtomicUsize>,
    /// The queue of the background thread, started with the first job.
    queue: Option<Sender<Job>>,
    worker: Option<JoinHandle<()>>,
}

impl Upgrades {
    /// LLVM's code of `request`, once its background compile has finished.
    pub fn get(&self, request: &LoopRequest) -> Option<CompiledFunction> {
        self.done.lock().ok()?.get(request).cloned()
    }

    /// Whether `request` was queued already.
    pub fn is_queued(&self, request: &LoopRequest) -> bool {
        self.queued.contains(request)
    }

    /// Queues the LLVM compile of `request` (built as `program`, rooted at `root`).
    pub fn queue(&mut self, request: LoopRequest, program: Program, root: FuncId) {
        if !self.queued.insert(request.clone()) {
            return;
        }
        let job = Job {
            program,
            root,
            request,
        };
        self.pending.fetch_add(1, Ordering::SeqCst);
        let job = match &self.queue {
            Some(queue) => match queue.send(job) {
                Ok(()) => return,
                // The thread is gone (it cannot panic, but if it did): start anew.
                Err(returned) => returned.0,
            },
            None => job,
        };
        let (queue, jobs) = channel::<Job>();
        let (done, pending) = (self.done.clone(), self.pending.clone());
        let worker = std::thread::Builder::new()
            .name("kern-llvm-tier".into())
            .spawn(move || {
                for job in jobs {
                    if let Ok(f) =
                        kern_compiler::backend::llvm::host::compile(&job.program, job.root)
                    {
                        if let Ok(mut done) = done.lock() {
                            done.insert(job.request, f);
                        }
                    }
                    pending.fetch_sub(1, Ordering::SeqCst);
                }
            });
        match worker {
            Ok(worker) => {
                // A fresh channel cannot be closed yet.
                let _ = queue.send(job);
                self.queue = Some(queue);
                self.worker = Some(worker);
            }
            // No thread to be had: the request keeps its baseline code.
            Err(_) => {
                self.pending.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }

    /// How many requests were queued so far.
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// Whether every queued compile has finished.
    pub fn all_done(&self) -> bool {
        self.pending.load(Ordering::SeqCst) == 0
    }

    /// Waits for the background thread to finish the queue (LLVM must not be
    /// compiling while the process tears it down).
    pub fn finish(&mut self) {
        self.queue = None;
        if let Some(worker) = self.worker.take() {
            let _ = worker.join();
        }
    }
}
