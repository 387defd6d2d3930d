//! The `parallel` target for elementwise work: the flattened iteration space cut
//! into contiguous chunks run on a rayon pool.
//!
//! The pool has one thread per core (`std::thread::available_parallelism`), or
//! `KERN_NUM_THREADS`, or what [`set_num_threads`] set last (at most
//! [`MAX_THREADS`]; a bad `KERN_NUM_THREADS` is an error when the pool starts). Chunks are at least
//! [`MIN_CHUNK`] elements, so a small call runs on the calling thread and is never
//! slower than `cpu`; there are at most four per thread, so uneven progress
//! balances out. Each element is computed by the same compiled code as on `cpu`,
//! so results are bit-identical; a trap reports the first failing chunk in element
//! order, as `cpu` would (later chunks may have written their elements).
//! [`run_split`] does the same for work that is not an elementwise iteration
//! (gufunc loops), weighting each index by its cost.

use std::sync::{Arc, RwLock};

use kern_compiler::ir::Trap;
use rayon::prelude::*;
use rayon::ThreadPool;

use super::{ElementwiseLoop, Iteration};

/// Fewest elements worth handing to another thread.
pub const MIN_CHUNK: usize = 16 * 1024;

/// Chunk boundaries fall on multiples of this many elements, keeping each chunk's
/// SIMD groups aligned the way a serial run's are.
const CHUNK_ALIGN: usize = 64;

static POOL: RwLock<Option<Arc<ThreadPool>>> = RwLock::new(None);

/// The most threads a pool or a job server may have. Each thread costs a stack and
/// a signal stack; tens of thousands fail to start or abort the process, and no
/// machine kern runs on has this many cores.
pub const MAX_THREADS: usize = 1024;

/// The thread count a new pool gets: `KERN_NUM_THREADS` when set, otherwise the
/// machine's available parallelism. A value that is not a whole number from 1 to
/// [`MAX_THREADS`] (empty, `0`, `-1`, `abc`, `4294967297`) is an error, not ignored.
fn default_threads() -> Result<usize, String> {
    match std::env::var_os("KERN_NUM_THREADS") {
        None => Ok(std::thread::available_parallelism().map_or(1, |n| n.get())),
        Some(value) => {
            let text = value.to_string_lossy();
            check_thread_count(text.trim().parse::<usize>().ok()).map_err(|_| {
                format!("KERN_NUM_THREADS must be a number of threads from 1 to {MAX_THREADS}, not `{text}`")
            })
        }
    }
}

/// `threads` if it is from 1 to [`MAX_THREADS`].
fn check_thread_count(threads: Option<usize>) -> Result<usize, String> {
    match threads {
        Some(n @ 1..=MAX_THREADS) => Ok(n),
        _ => Err(format!(
            "the number of threads must be from 1 to {MAX_THREADS}"
        )),
    }
}

fn build_pool(threads: usize) -> Result<Arc<ThreadPool>, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("kern-worker-{i}"))
        .stack_size(kern_compiler::stack_limit::WORKER_STACK_BYTES)
        .build()
        .map(Arc::new)
        .map_err(|e| format!("cannot start {threads} worker threads: {e}"))
}

/// The pool, created on first use.
fn pool() -> Result<Arc<ThreadPool>, String> {
    if let Some(pool) = POOL.read().ok().and_then(|p| p.clone()) {
        return Ok(pool);
    }
    let mut slot = POOL
        .write()
        .map_err(|_| "the worker pool is poisoned".to_string())?;
    if let Some(pool) = slot.clone() {
        return Ok(pool);
    }
    let pool = build_pool(default_threads()?)?;
    *slot = Some(pool.clone());
    Ok(pool)
}

/// Number of worker threads the `parallel` target uses.
pub fn num_threads() -> usize {
    pool().map_or(1, |p| p.current_num_threads())
}

/// Replaces the pool with one of `threads` workers (calls already running keep the
/// old one until they finish).
pub fn set_num_threads(threads: usize) -> Result<(), String> {
    let pool = build_pool(check_thread_count(Some(threads))?)?;
    *POOL
        .write()
        .map_err(|_| "the worker pool is poisoned".to_string())? = Some(pool);
    Ok(())
}

/// How `len` elements are cut: `(chunk_len, chunks)`; one chunk means "run serially".
pub fn chunking(len: usize, threads: usize) -> (usize, usize) {
    if threads <= 1 || len < 2 * MIN_CHUNK {
        return (len, 1);
    }
    let chunks = (len / MIN_CHUNK).min(threads * 4).max(1);
    let chunk = len.div_ceil(chunks).div_ceil(CHUNK_ALIGN) * CHUNK_ALIGN;
    (chunk, len.div_ceil(chunk))
}

/// How `len` items that each cost about `cost` elements of work are cut (gufunc
/// loop indices, kernel blocks): `(chunk_len, chunks)`, chunk `c` being items
/// `c * chunk_len ..` up to the next chunk's start, the last one taking the rest
/// (fewer than `chunks` items more). Every chunk is worth at least [`MIN_CHUNK`]
/// elements of work, and there are at most four per thread; one chunk means "run
/// serially".
pub fn chunking_by_cost(len: usize, cost: usize, threads: usize) -> (usize, usize) {
    let cost = cost.max(1);
    // The fewest items that make a chunk worth handing over.
    let min_items = MIN_CHUNK.div_ceil(cost);
    let chunks = (threads.saturating_mul(4)).min(len / min_items);
    if threads <= 1 || chunks <= 1 {
        return (len, 1);
    }
    (len / chunks, chunks)
}

/// Runs `run(start, end)` over `0..len` on the pool, cut by [`chunking_by_cost`];
/// returns the first failing chunk's trap in index order.
pub fn run_split(
    len: usize,
    cost: usize,
    run: &(dyn Fn(usize, usize) -> Result<(), Trap> + Sync),
) -> Result<Result<(), Trap>, String> {
    let pool = pool()?;
    let (chunk, chunks) = chunking_by_cost(len, cost, pool.current_num_threads());
    if chunks <= 1 {
        return Ok(run(0, len));
    }
    let end = |c: usize| {
        if c + 1 == chunks {
            len
        } else {
            (c + 1) * chunk
        }
    };
    let results: Vec<Result<(), Trap>> = pool.install(|| {
        (0..chunks)
            .into_par_iter()
            .map(|c| run(c * chunk, end(c)))
            .collect()
    });
    Ok(results.into_iter().find(|r| r.is_err()).unwrap_or(Ok(())))
}

/// Runs all of `iteration` on the pool.
///
/// # Safety
/// As [`ElementwiseLoop::run`].
pub unsafe fn run(lp: &ElementwiseLoop, iteration: &Iteration) -> Result<Result<(), Trap>, String> {
    let len = iteration.len();
    let pool = pool()?;
    let (chunk, chunks) = chunking(len, pool.current_num_threads());
    if chunks <= 1 {
        // SAFETY: forwarded from the caller.
        return Ok(unsafe { lp.run(iteration, 0, len) });
    }
    let results: Vec<Result<(), Trap>> = pool.install(|| {
        (0..chunks)
            .into_par_iter()
            .map(|c| {
                let (start, end) = (c * chunk, ((c + 1) * chunk).min(len));
                // SAFETY: chunks are disjoint ranges of elements, so no output
                // element is written twice; the rest is the caller's promise.
                unsafe { lp.run(iteration, start, end) }
            })
            .collect()
    });
    Ok(results.into_iter().find(|r| r.is_err()).unwrap_or(Ok(())))
}

/// Runs `f` over `0..items` cut into contiguous ranges of at least `min_items`
/// (serially when that gives one range), returning the first trap in item order.
pub fn run_ranges(
    items: usize,
    min_items: usize,
    f: impl Fn(std::ops::Range<usize>) -> Result<(), Trap> + Sync,
) -> Result<Result<(), Trap>, String> {
    let pool = pool()?;
    let threads = pool.current_num_threads();
    let min_items = min_items.max(1);
    if threads <= 1 || items < 2 * min_items {
        return Ok(f(0..items));
    }
    let chunks = (items / min_items).min(threads * 4).max(1);
    let chunk = items.div_ceil(chunks);
    let results: Vec<Result<(), Trap>> = pool.install(|| {
        (0..items.div_ceil(chunk))
            .into_par_iter()
            .map(|c| f(c * chunk..((c + 1) * chunk).min(items)))
            .collect()
    });
    Ok(results.into_iter().find(|r| r.is_err()).unwrap_or(Ok(())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_work_is_not_split() {
        assert_eq!(chunking(1000, 8), (1000, 1));
        assert_eq!(chunking(2 * MIN_CHUNK - 1, 8).1, 1);
        assert_eq!(chunking(1 << 20, 1).1, 1);
    }

    #[test]
    fn chunks_cover_the_work_exactly_and_are_aligned() {
        for len in [2 * MIN_CHUNK, 100_003, 1 << 22, 10_000_000] {
            for threads in [2, 3, 16] {
                let (chunk, chunks) = chunking(len, threads);
                assert!(chunks > 1 && chunks <= threads * 4);
                assert_eq!(chunk % CHUNK_ALIGN, 0);
                assert!(chunk * chunks >= len && chunk * (chunks - 1) < len);
            }
        }
    }
}
