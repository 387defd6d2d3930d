//! Reducing a contiguous axis in one streaming pass: the axis is cut into blocks
//! of [`BLOCK`] elements, each block is reduced by the compiled block loop (the
//! compiler's `loops::reduce_loop`: eight accumulators, NumPy's pairwise block), and
//! the block results are reduced the same way until one is left. Blocks are fixed
//! by position, so `parallel` (which runs blocks on the pool) computes exactly the
//! bits `cpu` does.
//!
//! It knows strided memory and the block loop's calling convention; which axes
//! take this path is `methods.rs`'s decision.

use kern_compiler::dtype_rules::resolve::ResolvedLoop;

use super::Ufunc;
use crate::array::{ArrayRef, DType, NdArray};
use crate::compile::LoopRequest;
use crate::exec::dispatch::axis_desc;
use crate::Error;

/// Elements per block (the compiler's, which the GPU's batched loop uses too).
pub use kern_compiler::loops::reduce_loop::BLOCK;

/// One run to reduce: `n` elements from `data` with an element stride, into `out`.
#[derive(Clone, Copy)]
struct Run {
    data: *const u8,
    n: usize,
    stride: isize,
    out: *mut u8,
}

// SAFETY: runs describe memory the caller keeps alive and unaliased for the call;
// every run writes its own output element.
unsafe impl Send for Run {}
unsafe impl Sync for Run {}

impl Ufunc {
    /// Reduces `axis` of `source` (length at least 1) into a new array of `acc`.
    pub(super) fn reduce_blocked(
        &self,
        source: &ArrayRef<'_>,
        axis: usize,
        acc: DType,
        resolved: &ResolvedLoop,
    ) -> Result<NdArray, Error> {
        #[cfg(feature = "cuda")]
        if self.target == Target::Cuda {
            return self.reduce_blocked_on_gpu(source, axis, acc, resolved);
        }
        let shape = source.shape().to_vec();
        let strides = source.strides().to_vec();
        let n = shape[axis];
        let mut out_shape = shape.clone();
        out_shape.remove(axis);
        let lanes: usize = out_shape.iter().product();
        let elem_size = source.dtype().size_bytes() as isize;
        let acc_size = acc.size_bytes();
        let blocks = n.div_ceil(BLOCK);
        // Partial results, one per (lane, block), C-ordered; with one block they
        // are the result itself.
        let mut partials = NdArray::zeros(acc, &[lanes, blocks])?;
        let partial_base = partials.view_mut().base_ptr();
        let code = self.machine_code(&LoopRequest::Reduce(self.fold(
            resolved,
            source.dtype(),
            acc,
        )))?;
        let mut runs = Vec::with_capacity(lanes * blocks);
        let mut index = vec![0usize; shape.len()];
        for lane in 0..lanes {
            // Multi-index of this lane over the other axes, row-major.
            let mut rest = lane;
            for k in (0..shape.len()).rev() {
                if k == axis {
                    index[k] = 0;
                    continue;
                }
                index[k] = rest % shape[k];
                rest /= shape[k];
            }
            let lane_offset: isize = index
                .iter()
                .zip(&strides)
                .map(|(&i, &s)| i as isize * s)
                .sum();
            for block in 0..blocks {
                let start = block * BLOCK;
                let offset = (lane_offset + start as isize * strides[axis]) * elem_size;
                runs.push(Run {
                    data: source.base_ptr().wrapping_offset(offset),
                    n: (n - start).min(BLOCK),
                    stride: strides[axis],
                    out: partial_base.wrapping_add((lane * blocks + block) * acc_size),
                });
            }
        }
        let args = |k: usize| {
            let run = runs[k];
            [
                axis_desc(run.data, run.n, run.stride),
                axis_desc(run.out, 1, 1),
            ]
        };
        let per_run = runs.first().map_or(1, |r| r.n);
        // SAFETY: runs cover the source view (live for this call) and distinct
        // elements of `partials`.
        unsafe { self.call_each(&code, runs.len(), 64 * 1024 / per_run.max(1), args) }?;
        let reduced = if blocks == 1 {
            partials
        } else {
            self.reduce_blocked(&partials.view(), 1, acc, resolved)?
        };
        Ok(super::methods::reshape(reduced, &out_shape))
    }
}
