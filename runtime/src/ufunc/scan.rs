//! In-order folds along one axis with the compiled scan loop (the compiler's
//! `loops::scan_loop`): `accumulate`, and `reduce` of a ufunc that is not reorderable.
//! Each lane (one position of the other axes) is one call of the loop over the
//! whole axis, so a long axis costs one call, not one call per element; lanes run
//! on the pool for `parallel`. Every lane is the same left fold whichever thread
//! runs it, so the bits do not depend on the target.
//!
//! It knows strided memory and the scan loop's calling convention; when this path
//! is taken instead of elementwise calls across lanes is `methods.rs`'s decision.

use kern_compiler::dtype_rules::resolve::ResolvedLoop;

use super::Ufunc;
use crate::array::{ArrayRef, NdArray};
use crate::compile::LoopRequest;
use crate::exec::dispatch::axis_desc;
use crate::{Error, Target};

/// Lanes up to which folding lane by lane beats elementwise calls across the
/// lanes (one call per position along the axis, each costing a microsecond or
/// so of dispatch); beyond it the caller keeps the elementwise form.
pub const MAX_SCAN_LANES: usize = 256;

/// One lane: `n` elements of `x` folded onto the seed, each step stored to `out`.
#[derive(Clone, Copy)]
struct Lane {
    seed: *const u8,
    x: *const u8,
    x_stride: isize,
    out: *mut u8,
    out_stride: isize,
    n: usize,
}

// SAFETY: lanes describe memory the caller keeps alive for the call; every lane
// writes only its own elements.
unsafe impl Send for Lane {}
unsafe impl Sync for Lane {}

/// Element offsets of every lane of `shape` without `axis`, row-major.
fn lane_offsets(shape: &[usize], strides: &[isize], axis: usize) -> Vec<isize> {
    let lanes: usize = shape
        .iter()
        .enumerate()
        .filter(|(k, _)| *k != axis)
        .map(|(_, d)| d)
        .product();
    let mut offsets = Vec::with_capacity(lanes);
    for lane in 0..lanes {
        let mut rest = lane;
        let mut offset = 0isize;
        for k in (0..shape.len()).rev() {
            if k == axis {
                continue;
            }
            offset += (rest % shape[k]) as isize * strides[k];
            rest /= shape[k];
        }
        offsets.push(offset);
    }
    offsets
}

impl Ufunc {
    /// Whether an in-order fold over `lanes` lanes runs the scan loop lane by
    /// lane: up to [`MAX_SCAN_LANES`] on the CPU targets, always on `cuda`,
    /// where every lane is one GPU thread of one launch (elementwise calls would
    /// be one launch per step).
    pub(super) fn folds_lane_by_lane(&self, lanes: usize) -> bool {
        lanes <= MAX_SCAN_LANES || self.target == Target::Cuda
    }

    /// Folds elements `skip..` of `axis` of `source` lane by lane, `skip >= 1`
    /// when `out` has `source`'s shape. `out` is either of `source`'s shape
    /// (accumulate: element `skip - 1` of each lane is the seed, already stored,
    /// and every step is kept) or of the shape without `axis` (reduce: it holds
    /// the seeds and ends as the folds).
    pub(super) fn scan_axis(
        &self,
        source: &ArrayRef<'_>,
        axis: usize,
        skip: usize,
        out: &mut NdArray,
        resolved: &ResolvedLoop,
    ) -> Result<(), Error> {
        #[cfg(feature = "cuda")]
        if self.target == Target::Cuda {
            return self.scan_axis_on_gpu(source, axis, skip, out, resolved);
        }
        let shape = source.shape();
        let n = shape[axis] - skip;
        let acc = out.dtype();
        let code =
            self.machine_code(&LoopRequest::Scan(self.fold(resolved, source.dtype(), acc)))?;
        let elem_size = source.dtype().size_bytes() as isize;
        let acc_size = acc.size_bytes() as isize;
        let x_offsets = lane_offsets(shape, source.strides(), axis);
        let keeps_steps = out.ndim() == shape.len();
        let mut out_view = out.view_mut();
        let out_strides = out_view.strides().to_vec();
        let out_base = out_view.base_ptr();
        let (out_offsets, out_stride) = if keeps_steps {
            (lane_offsets(shape, &out_strides, axis), out_strides[axis])
        } else {
            let mut full = out_strides.clone();
            full.insert(axis, 0);
            (lane_offsets(shape, &full, axis), 0)
        };
        let x_base = source.base_ptr();
        let lanes: Vec<Lane> = (0..x_offsets.len())
            .map(|l| {
                let out_lane = out_base.wrapping_offset(out_offsets[l] * acc_size);
                let out_first = out_lane.wrapping_offset(skip as isize * out_stride * acc_size);
                let seed = if keeps_steps {
                    out_lane.wrapping_offset((skip as isize - 1) * out_stride * acc_size)
                } else {
                    out_lane
                };
                Lane {
                    seed,
                    x: x_base.wrapping_offset(
                        (x_offsets[l] + skip as isize * source.strides()[axis]) * elem_size,
                    ),
                    x_stride: source.strides()[axis],
                    out: out_first,
                    out_stride,
                    n,
                }
            })
            .collect();
        if n == 0 {
            return Ok(());
        }
        let args = |k: usize| {
            let lane = lanes[k];
            [
                axis_desc(lane.seed, 1, 1),
                axis_desc(lane.x, lane.n, lane.x_stride),
                axis_desc(lane.out, lane.n, lane.out_stride),
            ]
        };
        let per_lane = lanes.first().map_or(1, |l| l.n);
        // SAFETY: lanes address `source` (live for this call) and distinct lanes of
        // `out`; seeds are read before their lane's first store.
        unsafe { self.call_each(&code, lanes.len(), 16 * 1024 / per_lane.max(1), args) }
    }
}
