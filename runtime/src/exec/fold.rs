//! Folds along one axis on the CPU targets, with the compiled fold loops of the
//! compiler (`loops::reduce_loop`, `loops::scan_loop`):
//!
//! * [`reduce_blocked`]: reducing a contiguous axis in one streaming pass. The
//!   axis is cut into blocks of [`BLOCK`] elements, each block reduced with the
//!   block loop's order (eight accumulators, NumPy's pairwise block), and the
//!   block results are reduced the same way until one is left. One call of the
//!   batched block loop covers about 64 Ki elements (many blocks of a long lane,
//!   or many short lanes), so calls cost nothing next to the work. Blocks are
//!   fixed by position, so `parallel` (which runs calls on the pool) computes
//!   exactly the bits `cpu` does.
//! * [`fold_rows`]: a fold along an axis that does not stream (axis 0 of a C
//!   array) with many lanes, row by row into the result: one pass, tiles of
//!   lanes whose accumulators stay in cache, one call of the row fold per tile,
//!   nothing allocated.
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
use super::{parallel, run_in_runs, Iteration, StridedOperand, MAX_OPERANDS};
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
    /// The batched block loop of a reduction of `elem` elements into `acc`
    /// (`loops::reduce_batch`, on every target).
    fn reduce(&self, elem: DType, acc: DType) -> Result<LoopCode, Error>;
    /// The left-fold loop of `elem` elements onto an `acc` seed (batched on
    /// the GPU).
    fn scan(&self, elem: DType, acc: DType) -> Result<LoopCode, Error>;
    /// The row fold of `elem` elements into a row of `acc` accumulators
    /// (`loops::row_fold`): many rows of a fold across many lanes in one call.
    fn rows(&self, elem: DType, acc: DType) -> Result<LoopCode, Error>;
    /// A trap of one of the loops, as the error the caller reports.
    fn trapped(&self, trap: Trap) -> Error;
}

/// An in-order fold along one axis: elements `skip..` of `axis` of `source`,
/// folded with `loops` (what [`fold_rows`] and [`scan_axis`] take, here and on
/// the GPU).
#[derive(Clone, Copy)]
pub struct AxisFold<'f, 'a> {
    pub loops: &'f dyn FoldLoops,
    pub source: &'f ArrayRef<'a>,
    pub axis: usize,
    pub skip: usize,
}

impl<'f, 'a> AxisFold<'f, 'a> {
    /// The loops, the source, the axis and the first element folded.
    pub fn parts(&self) -> (&'f dyn FoldLoops, &'f ArrayRef<'a>, usize, usize) {
        (self.loops, self.source, self.axis, self.skip)
    }
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

/// Where a blocked reduction reads (the source) and writes (the partials).
#[derive(Clone, Copy)]
struct Bases {
    source: *const u8,
    partials: *mut u8,
}

impl Bases {
    /// `offset` bytes into the source. (Methods, so that closures capture the
    /// `Sync` whole rather than its raw-pointer fields.)
    fn source(&self, offset: isize) -> *const u8 {
        self.source.wrapping_offset(offset)
    }

    /// `offset` bytes into the partials.
    fn partial(&self, offset: usize) -> *mut u8 {
        self.partials.wrapping_add(offset)
    }
}

// SAFETY: lanes and bases describe memory the caller keeps alive for the call;
// every lane, and every call of a blocked reduction, writes only its own elements.
unsafe impl Send for Bases {}
unsafe impl Sync for Bases {}
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
pub(crate) fn axis_desc(data: *const u8, n: usize, stride: isize) -> ArrayDesc {
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

/// Elements of work per call of a fold loop: each call is worth this much, so
/// its cost is noise, and `parallel` hands out whole calls.
const WORK_PER_CALL: usize = 64 * 1024;

/// One call of the batched block loop: `lanes` lanes from `lane` on (whole
/// lanes, uniformly `lane_stride` apart) or, with `lanes == 1`, the blocks
/// `block..block + blocks` of one lane.
#[derive(Clone, Copy)]
struct Batch {
    lane: usize,
    lanes: usize,
    block: usize,
    blocks: usize,
}

/// The calls that cover `lanes` lanes of `n` elements, `blocks` blocks each:
/// long lanes split into ranges of blocks, short ones grouped when `uniform`
/// (their offsets one stride apart). Where a call starts never changes the
/// order: blocks are fixed by position in their lane.
fn batches(lanes: usize, n: usize, blocks: usize, uniform: bool) -> Vec<Batch> {
    let per_call = (WORK_PER_CALL / BLOCK).max(1);
    if blocks > per_call || !uniform {
        let step = blocks.min(per_call);
        (0..lanes)
            .flat_map(|lane| {
                (0..blocks).step_by(step).map(move |block| Batch {
                    lane,
                    lanes: 1,
                    block,
                    blocks: step.min(blocks - block),
                })
            })
            .collect()
    } else {
        let step = (WORK_PER_CALL / n.max(1)).max(1);
        (0..lanes)
            .step_by(step)
            .map(|lane| Batch {
                lane,
                lanes: step.min(lanes - lane),
                block: 0,
                blocks,
            })
            .collect()
    }
}

/// The stride between consecutive lanes when every lane is one stride after
/// the previous one (always for a single lane).
fn uniform_stride(offsets: &[isize]) -> Option<isize> {
    let stride = offsets.get(1).map_or(0, |o| o - offsets[0]);
    offsets
        .windows(2)
        .all(|w| w[1] - w[0] == stride)
        .then_some(stride)
}

/// The descriptor of a `rows × cols` view from `data` with element strides.
fn desc2(
    data: *const u8,
    (rows, cols): (usize, usize),
    (row_stride, col_stride): (isize, isize),
) -> ArrayDesc {
    let mut d = axis_desc(data, rows, row_stride);
    d.shape[1] = cols as i64;
    d.strides[1] = col_stride as i64;
    d
}

/// Reduces `axis` of `source` (length at least 1) into a new array of `acc`:
/// every block of every lane by one batched call per [`WORK_PER_CALL`]
/// elements, then the block results the same way until one is left.
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
    let lane_stride = uniform_stride(&lane_offsets);
    // Partial results, one per (lane, block), C-ordered; with one block they
    // are the result itself.
    let mut partials = NdArray::zeros(acc, &[lanes, blocks])?;
    let bases = Bases {
        source: source.base_ptr(),
        partials: partials.view_mut().base_ptr(),
    };
    let code = loops.reduce(source.dtype(), acc)?;
    let calls = batches(lanes, n, blocks, lane_stride.is_some());
    let stride = strides[axis];
    let args = |k: usize| {
        let c = calls[k];
        let start = c.block * BLOCK;
        let offset = (lane_offsets[c.lane] + start as isize * stride) * elem_size;
        let len = (n - start).min(c.blocks * BLOCK);
        let out = (c.lane * blocks + c.block) * acc_size;
        [
            desc2(
                bases.source(offset),
                (c.lanes, len),
                (lane_stride.unwrap_or(0), stride),
            ),
            desc2(
                bases.partial(out),
                (c.lanes, c.blocks),
                (blocks as isize, 1),
            ),
        ]
    };
    // SAFETY: the calls cover the source view (live for this call) and
    // distinct elements of `partials`.
    unsafe { call_items(loops, code, target, calls.len(), (1, 1), args) }?;
    let reduced = if blocks == 1 {
        partials
    } else {
        reduce_blocked(loops, target, &partials.view(), 1, acc)?
    };
    Ok(crate::array::axes::reshape(reduced, &out_shape))
}

/// Lane elements a tile of [`fold_rows`] keeps in cache while the rows stream
/// past: 128 KiB of f64 accumulators, which stay in the L2 cache. A row of up
/// to this many lanes is one tile, read from start to end as NumPy reads it:
/// one call of the row fold, and the source read in memory order, which the
/// prefetchers follow. Measured on the axis-0 sum of a (1000, 10000) f64 array
/// on one core, with one call per row: tiles of 2048 lanes (five calls per
/// row, the source read in 16 KiB pieces 80 KB apart) took about 1.2× the time
/// of whole rows.
const ROW_TILE: usize = 16 * 1024;

/// Folds elements `skip..` of `axis` of `source` into `out` (the shape without
/// `axis`, holding the seeds) row by row: `out = f(out, x[j])` for each `j` in
/// order, every lane of a tile by one call of the row fold (one per run of the
/// tile's lanes, when they are not one run in memory). The lanes are cut into
/// tiles of [`ROW_TILE`] whose accumulators stay in cache while every row
/// passes, so the source is read once and nothing is allocated; each lane is
/// the same left fold as [`scan_axis`] computes, whichever thread runs its tile.
/// A call folds its rows in order across its lanes, so a trap is the first the
/// row-by-row order meets among the lanes of the call that traps.
pub fn fold_rows(fold: &AxisFold<'_, '_>, target: Target, out: &mut NdArray) -> Result<(), Error> {
    let (loops, source, axis, skip) = fold.parts();
    let n = source.shape()[axis];
    let acc = out.dtype();
    let code = loops.rows(source.dtype(), acc)?.machine()?;
    let mut out_view = out.view_mut();
    let out_strides = out_view.strides().to_vec();
    let out_base = out_view.base_ptr();
    let mut x_strides = source.strides().to_vec();
    let axis_stride = x_strides.remove(axis);
    let elem_size = source.dtype().size_bytes();
    let first_row = skip as isize * axis_stride * elem_size as isize;
    // Operand 0 is the lanes of the rows (axis 0 of the row fold's `x`; its
    // axis 1, the rows, is set below), operand 1 the accumulators.
    let mut lanes = Iteration {
        shape: out_view.shape().to_vec(),
        operands: vec![
            StridedOperand {
                base: source.base_ptr().wrapping_offset(first_row) as *mut u8,
                elem_size,
                strides: x_strides,
            },
            StridedOperand {
                base: out_base,
                elem_size: acc.size_bytes(),
                strides: out_strides,
            },
        ],
    };
    lanes.order_axes_by(1);
    lanes.coalesce();
    let len = lanes.len();
    if len == 0 || skip >= n {
        return Ok(());
    }
    // Smaller tiles on the pool, so that every worker gets some; the tile
    // size never changes a lane's fold.
    let tile = match target {
        Target::Parallel | Target::Mpi => len
            .div_ceil(parallel::num_threads() * 4)
            .next_multiple_of(64)
            .clamp(256, ROW_TILE),
        _ => ROW_TILE,
    };
    let run = |tiles: std::ops::Range<usize>| -> Result<(), Trap> {
        // The rows: axis 1 of `x`, the same for every call.
        let mut descs = [axis_desc(std::ptr::null(), 0, 0); MAX_OPERANDS];
        descs[0].shape[1] = (n - skip) as i64;
        descs[0].strides[1] = axis_stride as i64;
        for t in tiles {
            let (start, end) = (t * tile, ((t + 1) * tile).min(len));
            // SAFETY: the rows `skip..n` of the source and the tile of `out`
            // are live for this call; `out` is read and written lane by lane
            // only, and the source is not written.
            unsafe { run_in_runs(&code, &lanes, descs, start, end) }?;
        }
        Ok(())
    };
    let tiles = len.div_ceil(tile);
    let outcome = match target {
        Target::Parallel | Target::Mpi => {
            let grain = (WORK_PER_CALL / (tile * (n - skip))).max(1);
            parallel::run_ranges(tiles, grain, run).map_err(Error::Call)?
        }
        _ => run(0..tiles),
    };
    outcome.map_err(|t| loops.trapped(t))
}

/// Folds elements `skip..` of `axis` of `source` lane by lane, `skip >= 1`
/// when `out` has `source`'s shape. `out` is either of `source`'s shape
/// (accumulate: element `skip - 1` of each lane is the seed, already stored,
/// and every step is kept) or of the shape without `axis` (reduce: it holds
/// the seeds and ends as the folds).
pub fn scan_axis(fold: &AxisFold<'_, '_>, target: Target, out: &mut NdArray) -> Result<(), Error> {
    let (loops, source, axis, skip) = fold.parts();
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
