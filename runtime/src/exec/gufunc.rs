//! Running a compiled gufunc loop: the loop dimensions are an [`Iteration`] (cut
//! into runs along its innermost axis exactly as for elementwise loops), and every
//! operand also has core dimensions, the same for every loop index, appended to each
//! run's descriptor after the loop axis.
//!
//! `cpu` runs every run in order on the calling thread; `parallel` splits the loop
//! indices into contiguous chunks, none smaller than what amortises handing it to
//! another thread given the work per index (about the product of the core
//! dimensions), so small calls stay serial. Each loop index is computed by the same
//! code whatever the split, so both targets give bit-identical results; a trap
//! reports the first failing chunk in index order, as `cpu` would.
//!
//! Like the rest of `exec` this knows addresses, extents and strides, never dtypes,
//! signatures or how the loop was generated.

use kern_compiler::backend::cranelift::CompiledFunction;
use kern_compiler::ir::{ArrayDesc, Trap, MAX_RANK};

use super::{run_in_runs, Iteration, MAX_OPERANDS};

/// The core dimensions of one operand: extents and strides (in elements) of the
/// axes the body sees, outermost first (empty for a `()` operand).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CoreLayout {
    pub shape: Vec<i64>,
    pub strides: Vec<i64>,
}

/// A compiled gufunc loop `loop(in0: &[..], .., out0: &mut [..], ..)` whose operands
/// have the loop axis first, then their core axes.
#[derive(Clone)]
pub struct GufuncLoop {
    pub function: CompiledFunction,
}

impl GufuncLoop {
    /// Runs the loop over the loop indices `start..end` of `iteration` (row-major),
    /// with `cores[o]` the core layout of operand `o`. Returns the first trap.
    ///
    /// # Safety
    /// Every operand must address live memory of its element type at every loop
    /// index of `iteration` combined with every core index of its layout; outputs
    /// writable and aliased by no other operand; the operands must be the loop's
    /// parameters in order.
    pub unsafe fn run(
        &self,
        iteration: &Iteration,
        cores: &[CoreLayout],
        start: usize,
        end: usize,
    ) -> Result<(), Trap> {
        let operands = iteration.operands.len();
        assert!(
            operands <= MAX_OPERANDS && cores.len() == operands,
            "at most {MAX_OPERANDS} operands, each with a core layout"
        );
        assert!(
            cores.iter().all(|c| c.shape.len() < MAX_RANK),
            "a core layout leaves room for the loop axis"
        );
        let mut descs = [ArrayDesc {
            data: std::ptr::null_mut(),
            shape: [0; MAX_RANK],
            strides: [0; MAX_RANK],
        }; MAX_OPERANDS];
        for (desc, core) in descs.iter_mut().zip(cores) {
            let rank = core.shape.len();
            desc.shape[1..=rank].copy_from_slice(&core.shape);
            desc.strides[1..=rank].copy_from_slice(&core.strides);
        }
        // SAFETY: forwarded from the caller; the core axes are the caller's layout.
        unsafe { run_in_runs(&self.function, iteration, descs, start, end) }
    }
}

/// Runs all of `iteration` on the calling thread.
///
/// # Safety
/// As [`GufuncLoop::run`].
pub unsafe fn run_serial(
    lp: &GufuncLoop,
    iteration: &Iteration,
    cores: &[CoreLayout],
) -> Result<(), Trap> {
    // SAFETY: forwarded from the caller.
    unsafe { lp.run(iteration, cores, 0, iteration.len()) }
}

/// Runs all of `iteration` on the worker pool, each loop index costing about
/// `cost` elements of work.
///
/// # Safety
/// As [`GufuncLoop::run`].
pub unsafe fn run_parallel(
    lp: &GufuncLoop,
    iteration: &Iteration,
    cores: &[CoreLayout],
    cost: usize,
) -> Result<Result<(), Trap>, String> {
    let run = |start: usize, end: usize| {
        // SAFETY: chunks are disjoint ranges of loop indices, so no output element
        // is written by two of them; the rest is the caller's promise.
        unsafe { lp.run(iteration, cores, start, end) }
    };
    super::parallel::run_split(iteration.len(), cost, &run)
}

#[cfg(test)]
mod tests {
    use super::super::parallel::{chunking_by_cost, MIN_CHUNK};

    #[test]
    fn cheap_or_few_loop_indices_run_serially() {
        assert_eq!(chunking_by_cost(1000, 1, 8).1, 1);
        assert_eq!(
            chunking_by_cost(1, 1 << 30, 8).1,
            1,
            "one index cannot split"
        );
        assert_eq!(chunking_by_cost(1 << 20, 1 << 10, 1).1, 1, "one thread");
        assert_eq!(chunking_by_cost(MIN_CHUNK, 1, 8).1, 1);
    }

    #[test]
    fn expensive_indices_split_into_chunks_that_cover_the_loop() {
        for (len, cost) in [(64, 4096), (1000, 100), (3, 1 << 20), (100_003, 1)] {
            let (chunk, chunks) = chunking_by_cost(len, cost, 4);
            assert!(chunks > 1 && chunks <= 16, "{len} x {cost}: {chunks}");
            // The last chunk runs to the end: it takes fewer than `chunks` extra.
            assert!(chunk * chunks <= len && len < chunk * chunks + chunks);
            assert!(
                chunk * cost >= MIN_CHUNK,
                "each chunk amortises its overhead"
            );
        }
    }

    #[test]
    fn no_chunk_is_worth_less_than_the_threshold() {
        // Three indices of 12 Ki elements: any split leaves a chunk of one index,
        // under the 16 Ki threshold, so the call runs serially.
        assert_eq!(chunking_by_cost(3, 12 * 1024, 4).1, 1);
        for len in 2..200 {
            for cost in [1000, 5000, 9000, 16_383, 40_000] {
                let (chunk, chunks) = chunking_by_cost(len, cost, 4);
                if chunks > 1 {
                    let last = len - (chunks - 1) * chunk;
                    assert!(chunk.min(last) * cost >= MIN_CHUNK, "{len} x {cost}");
                }
            }
        }
    }
}
