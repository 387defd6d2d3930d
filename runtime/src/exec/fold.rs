//! Folds along one axis on the CPU targets, with the compiled fold loops of the
//! compiler (`loops::reduce_loop`, `loops::scan_loop`):
//!
//! * [`reduce_blocked`]: reducing a contiguous axis in one streaming pass. The
//!   axis is cut into blocks of [`BLOCK`] elements, each block reduced by the
//!   block loop (eight accumulators, NumPy's pairwise block), and the block
//!   results are reduced the same way until one is left. Blocks are fixed by
//!   position, so `parallel` (which runs blocks on the pool) computes exactly
//!   the bits `cpu` does.
//! * [`scan_axis`]: in-order folds (`accumulate`, and `reduce` of a ufunc that
//!   is not reorderable). Each lane (one position of the other axes) is one call
//!   of the scan loop over the whole axis, so a long axis costs one call, not one
//!   call per element; lanes run on the pool for `parallel`. Every lane is the
//!   same left fold whichever thread runs it, so the bits do not depend on the
//!   target.
//!
//! The loops come from a [`FoldLoops`] — whoever knows the ufunc compiles them
//! for the call's target; `exec::cuda::fold` runs the same folds on the GPU. It
//! knows strided memory and the loops' calling conventions; which axes take
//! which path is the ufunc's decision, and which target runs it `dispatch`'s.

use kern_compiler::backend::cranelift::CompiledFunction;
use kern_compiler::ir::{ArrayDesc, Trap, MAX_RANK};

use super::code::{LoopCode, Outcome};
use super::parallel;
use crate::array::{ArrayRef, DType, NdArray};
use crate::{Error, Target};

/// Elements per block (the compiler's, which the GPU's batched loop uses too).
pub use kern_compiler::loops::reduce_loop::BLOCK;

/// Lanes up to which folding lane by lane beats elementwise calls across the
/// lanes (one call per position along the axis, each costing a microsecond or
/// so of dispatch) on the CPU targets.
pub const MAX_SCAN_LANES: usize = 256;

/// The compiled loops of one fold (a ufunc at fixed type arguments), for the
/// target of the call, from whoever knows the ufunc.
pub trait FoldLoops {
    /// The block loop of a reduction of `elem` elements into `acc` (its
    /// batched form on the GPU).
    fn reduce(&self, elem: DType, acc: DType) -> Result<LoopCode, Error>;
    /// The left-fold loop of `elem` elements onto an `acc` seed (batched on
    /// the GPU).
    fn scan(&self, elem: DType, acc: DType) -> Result<LoopCode, Error>;
    /// The elementwise loop of the ufunc on two `elem` operands into `acc`
    /// (one halving level of a pairwise reduction).
    fn halving(&self, elem: DType, acc: DType) -> Result<LoopCode, Error>;
    /// A trap of one of the loops, as the error the caller reports.
    fn trapped(&self, trap: Trap) -> Error;
}

/// One run to reduce: `n` elements from `data` with an element stride, into `out`.
#[derive(Clone, Copy)]
struct Run {
    data: *const u8,
    n: usize,
    stride: isize,
    out: *mut u8,
}

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

// SAFETY: runs and lanes describe memory the caller keeps alive for the call;
// every run writes its own output element, every lane only its own elements.
unsafe impl Send for Run {}
unsafe impl Sync for Run {}
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

/// The descriptor of `n` elements from `data`, `stride` elements apart: the
/// one-axis arrays the block and scan loops take.
fn axis_desc(data: *const u8, n: usize, stride: isize) -> ArrayDesc {
    let mut d = ArrayDesc {
        data: data as *mut u8,
        shape: [0; MAX_RANK],
        strides: [0; MAX_RANK],
    };
    d.shape[0] = n as i64;
    d.strides[0] = stride as i64;
    d
}

/// Calls `code` once for each of `items` items, with the descriptors `args`
/// gives for it, stopping at the first trap (in item order). `cpu` runs them in
/// order on this thread; `parallel` and `mpi` (where every rank holds the
/// operands) in ranges of at least `grain` items on the pool.
///
/// # Safety
/// The descriptors of every item must address live memory of the loop's
/// parameter types, and no two items may write the same element.
unsafe fn call_each<const K: usize>(
    code: &CompiledFunction,
    target: Target,
    items: usize,
    grain: usize,
    args: impl Fn(usize) -> [ArrayDesc; K] + Sync,
) -> Outcome {
    let run = |range: std::ops::Range<usize>| -> Result<(), Trap> {
        let mut ctx = code.new_context();
        for item in range {
            let descs = args(item);
            let slots = descs.each_ref().map(|d| d as *const ArrayDesc as u64);
            // SAFETY: the slots describe the item, valid by the caller's promise.
            unsafe { code.call_raw(&mut ctx, slots.as_ptr()) };
            if let Some(trap) = code.trap_of(&ctx) {
                return Err(trap);
            }
        }
        Ok(())
    };
    match target {
        Target::Parallel | Target::Mpi => {
            parallel::run_ranges(items, grain, run).map_err(Error::Call)
        }
        _ => Ok(run(0..items)),
    }
}

/// Calls the CPU loop `code` once per item on `target`, in ranges of about
/// `work` elements of `per_item` each; a trap through `loops`.
///
/// # Safety
/// As [`call_each`].
unsafe fn call_items<const K: usize>(
    loops: &dyn FoldLoops,
    code: LoopCode,
    target: Target,
    items: usize,
    (work, per_item): (usize, usize),
    args: impl Fn(usize) -> [kern_compiler::ir::ArrayDesc; K] + Sync,
) -> Result<(), Error> {
    let code = code.machine()?;
    let grain = (work / per_item.max(1)).max(1);
    // SAFETY: the caller's promise.
    unsafe { call_each(&code, target, items, grain, args) }?.map_err(|t| loops.trapped(t))
}

/// Reduces `axis` of `source` (length at least 1) into a new array of `acc`.
pub fn reduce_blocked(
    loops: &dyn FoldLoops,
    target: Target,
    source: &ArrayRef<'_>,
    axis: usize,
    acc: DType,
) -> Result<NdArray, Error> {
    let shape = source.shape().to_vec();
    let strides = source.strides().to_vec();
    let n = shape[axis];
    let mut out_shape = shape.clone();
    out_shape.remove(axis);
    let elem_size = source.dtype().size_bytes() as isize;
    let acc_size = acc.size_bytes();
    let blocks = n.div_ceil(BLOCK);
    let lane_offsets = lane_offsets(&shape, &strides, axis);
    let lanes = lane_offsets.len();
    // Partial results, one per (lane, block), C-ordered; with one block they
    // are the result itself.
    let mut partials = NdArray::zeros(acc, &[lanes, blocks])?;
    let partial_base = partials.view_mut().base_ptr();
    let code = loops.reduce(source.dtype(), acc)?;
    let mut runs = Vec::with_capacity(lanes * blocks);
    for (lane, &lane_offset) in lane_offsets.iter().enumerate() {
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
    unsafe { call_items(loops, code, target, runs.len(), (64 * 1024, per_run), args) }?;
    let reduced = if blocks == 1 {
        partials
    } else {
        reduce_blocked(loops, target, &partials.view(), 1, acc)?
    };
    Ok(crate::array::axes::reshape(reduced, &out_shape))
}

/// Folds elements `skip..` of `axis` of `source` lane by lane, `skip >= 1`
/// when `out` has `source`'s shape. `out` is either of `source`'s shape
/// (accumulate: element `skip - 1` of each lane is the seed, already stored,
/// and every step is kept) or of the shape without `axis` (reduce: it holds
/// the seeds and ends as the folds).
pub fn scan_axis(
    loops: &dyn FoldLoops,
    target: Target,
    source: &ArrayRef<'_>,
    axis: usize,
    skip: usize,
    out: &mut NdArray,
) -> Result<(), Error> {
    let shape = source.shape();
    let n = shape[axis] - skip;
    let acc = out.dtype();
    let code = loops.scan(source.dtype(), acc)?;
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
    // SAFETY: lanes address `source` (live for this call) and distinct lanes of
    // `out`; seeds are read before their lane's first store.
    unsafe { call_items(loops, code, target, lanes.len(), (16 * 1024, n), args) }
}
