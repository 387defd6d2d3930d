//! In-order folds along one axis with the compiled scan loop (the compiler's
//! `loops::scan_loop`): `accumulate`, and `reduce` of a ufunc that is not reorderable.
//! Each lane (one position of the other axes) is one call of the loop over the
//! whole axis, so a long axis costs one call, not one call per element; lanes run
//! on the pool for `parallel`. Every lane is the same left fold whichever thread
//! runs it, so the bits do not depend on the target.
//!
//! It knows strided memory and the scan loop's calling convention; when this path
//! is taken instead of elementwise calls across lanes is `methods.rs`'s decision.

use kern_compiler::backend::cranelift::CompiledFunction;
use kern_compiler::dtype_rules::resolve::ResolvedLoop;
use kern_compiler::ir::{ArrayDesc, Trap, MAX_RANK};
use kern_compiler::loops::scan_loop::build_scan_loop;

use super::Ufunc;
use crate::array::{ArrayRef, DType, NdArray};
use crate::exec::parallel::run_ranges;
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

fn desc(data: *const u8, n: usize, stride: isize) -> ArrayDesc {
    let mut d = ArrayDesc {
        data: data as *mut u8,
        shape: [0; MAX_RANK],
        strides: [0; MAX_RANK],
    };
    d.shape[0] = n as i64;
    d.strides[0] = stride as i64;
    d
}

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

/// Runs the scan loop on every lane (on the pool for `parallel`).
///
/// # Safety
/// Every lane must address live elements of the loop's types, and lanes must not
/// write each other's elements.
unsafe fn scan_lanes(
    code: &CompiledFunction,
    lanes: &[Lane],
    target: Target,
) -> Result<Result<(), Trap>, String> {
    let run = |range: std::ops::Range<usize>| -> Result<(), Trap> {
        let mut ctx = code.new_context();
        for lane in &lanes[range] {
            let seed = desc(lane.seed, 1, 1);
            let x = desc(lane.x, lane.n, lane.x_stride);
            let out = desc(lane.out, lane.n, lane.out_stride);
            let slots = [
                &seed as *const ArrayDesc as u64,
                &x as *const ArrayDesc as u64,
                &out as *const ArrayDesc as u64,
            ];
            // SAFETY: the descriptors address the lane, valid by the caller's promise.
            unsafe { code.call_raw(&mut ctx, slots.as_ptr()) };
            if let Some(trap) = code.trap_of(&ctx) {
                return Err(trap);
            }
        }
        Ok(())
    };
    // On `mpi` every rank holds the operands and scans them on its own pool.
    match target {
        Target::Parallel | Target::Mpi => {
            let per_lane = lanes.first().map_or(1, |l| l.n.max(1));
            run_ranges(lanes.len(), (16 * 1024 / per_lane).max(1), run)
        }
        _ => Ok(run(0..lanes.len())),
    }
}

impl Ufunc {
    fn scan_loop(
        &self,
        resolved: &ResolvedLoop,
        elem: DType,
        acc: DType,
    ) -> Result<CompiledFunction, Error> {
        self.cached_function(
            &format!("{}.scan", self.decl.name),
            resolved,
            &[acc, elem],
            acc,
            |program, id| {
                build_scan_loop(program, id, elem, acc).map_err(|e| Error::Backend(e.to_string()))
            },
        )
    }

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
        let code = self.scan_loop(resolved, source.dtype(), acc)?;
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
        // SAFETY: lanes address `source` (live for this call) and distinct lanes of
        // `out`; seeds are read before their lane's first store.
        unsafe { scan_lanes(&code, &lanes, self.target) }
            .map_err(Error::Call)?
            .map_err(|trap| Error::kernel(trap, &self.core.sources))
    }
}
