//! Batched reduction loops: many independent runs of a reduction or a scan in
//! one loop, one run per iteration — the form in which `reduce` and `accumulate`
//! run on the GPU, one thread per iteration.
//!
//! Both loops have kind [`FunctionKind::ReductionBatch`] and the grid-stride
//! shape the NVPTX backend turns into kernels (`i = 0; loop { if !(i < n) break;
//! body(i); i = i + 1 }`); they are ordinary IR, so Cranelift and the
//! interpreter run them too, which is how their indexing is tested without a GPU.
//! Each run is computed by the very code of the single-run loops
//! ([`reduce_loop`](crate::loops::reduce_loop)'s block, [`scan_loop`](crate::loops::scan_loop)'s
//! left fold), so a batch gives the bits those loops give run by run.
//!
//! * [`build_reduce_batch`] adds `f[A,X->A].reduce_batch(x: &[[X]], out: &mut
//!   [[A]])`. `x` holds `lanes = len(x, 0)` lanes of `n = len(x, 1)` elements (any
//!   strides); each lane is cut into `blocks = ceil(n / BLOCK)` blocks of
//!   [`BLOCK`] elements (the last one shorter), and iteration `i <
//!   lanes * blocks` reduces block `i % blocks` of lane `i / blocks` with the
//!   block loop's order into `out[i / blocks, i % blocks]`. `out` must be
//!   `lanes × blocks`; its stores are bounds-checked, so a wrong shape traps
//!   instead of writing elsewhere. Reducing `out` the same way until one block is
//!   left is exactly the runtime's blocked reduction on the CPU targets.
//! * [`build_scan_batch`] adds `f[A,X->A].scan_batch(seed: &[A], x: &[[X]], out:
//!   &mut [[A]])`: iteration `lane < len(x, 0)` folds `x[lane, ..]` onto
//!   `seed[lane]` in order, storing every step to `out[lane, j]` (the scan loop,
//!   lane by lane). An `out` of stride 0 along axis 1 over the seeds themselves
//!   makes it an in-order reduction, as with the scan loop.
//!
//! Loads from `x` are unchecked (their indices come from `x`'s own extents);
//! `seed` and `out` accesses are checked. This module knows IR only.

use crate::ir::build::FunctionBuilder;
use crate::ir::*;
use crate::loops::elementwise::LoopError;
use crate::loops::reduce_loop::{add_combiners, emit_block_reduction, BLOCK};
use crate::loops::scan_loop::{emit_scan, scan_builder};

fn array2(elem: ScalarType, mutable: bool) -> Type {
    Type::Array(ArrayType {
        elem,
        rank: 2,
        mutable,
    })
}

/// The batch loop `for iv in 0..count` over a fresh local, one independent run per
/// iteration. The induction starts at zero as every local does; it is not set
/// before the loop, so the GPU kernel can re-seed it with the thread's index.
fn batch_loop(
    b: &mut FunctionBuilder,
    count: ValueId,
    body: impl FnOnce(&mut FunctionBuilder, ValueId),
) {
    let i = b.local("i", Type::Scalar(ScalarType::Usize));
    b.counted_loop_to(i, count, IterationOrder::Independent, body);
    b.inst(InstKind::Return(None));
}

/// Adds the batched block reduction of the binary `ufunc` for elements stored as
/// `elem`, accumulating in `acc`; returns its id.
pub fn build_reduce_batch(
    program: &mut Program,
    ufunc: FuncId,
    elem: ScalarType,
    acc: ScalarType,
) -> Result<FuncId, LoopError> {
    let combiners = add_combiners(program, ufunc, elem, acc)?;
    let mut b = combiners.builder("reduce_batch");
    b.set_kind(FunctionKind::ReductionBatch {
        combine: combiners.elem,
        runs: BatchRuns::Blocks,
    });
    let x = b.param("x", array2(elem, false));
    let out = b.param("out", array2(acc, true));
    let lanes = b.array_len(x, 0);
    let n = b.array_len(x, 1);
    let block = b.constant(ScalarValue::Usize(BLOCK as u64));
    let block_less_one = b.constant(ScalarValue::Usize(BLOCK as u64 - 1));
    let rounded_up = b.binary(BinaryOp::Add, n, block_less_one);
    let blocks = b.binary(BinaryOp::Div, rounded_up, block);
    let count = b.binary(BinaryOp::Mul, lanes, blocks);

    batch_loop(&mut b, count, |b, iv| {
        // `blocks > 0` whenever the body runs (`count > 0`).
        let lane = b.binary(BinaryOp::Div, iv, blocks);
        let lane_start = b.binary(BinaryOp::Mul, lane, blocks);
        let block_index = b.binary(BinaryOp::Sub, iv, lane_start);
        let start = b.binary(BinaryOp::Mul, block_index, block);
        // `start < n` because `block_index < blocks`, so this does not wrap.
        let left = b.binary(BinaryOp::Sub, n, start);
        let short = b.cmp(CmpOp::Lt, left, block);
        let len = b.value(
            InstKind::Select {
                cond: short,
                if_true: left,
                if_false: block,
            },
            ScalarType::Usize,
        );
        let load = |b: &mut FunctionBuilder, k: ValueId| {
            let j = b.binary(BinaryOp::Add, start, k);
            b.load(x, vec![lane, j], false, elem)
        };
        let r = emit_block_reduction(b, &combiners, len, &load);
        b.store(out, vec![lane, block_index], r, true);
    });
    let id = crate::loops::add_inlined(program, b);
    Ok(id)
}

/// A batch of block reductions as a backend's vector form of it reads it
/// (`cranelift/vector_reduce.rs`, `llvm/host/block_reduce.rs`): its
/// combiner, its `x` and `out` parameters, and the one type of its elements
/// and accumulators.
#[derive(Clone, Copy, Debug)]
pub struct BlockBatch {
    pub combine: FuncId,
    pub x: LocalId,
    pub out: LocalId,
    pub ty: ScalarType,
}

impl BlockBatch {
    /// `func` as such a batch, when it is one whose elements and accumulators
    /// are one number type of 32 or 64 bits (what a lane of a vector holds).
    pub fn of(func: &Function) -> Option<BlockBatch> {
        let FunctionKind::ReductionBatch {
            combine,
            runs: BatchRuns::Blocks,
        } = func.kind
        else {
            return None;
        };
        let [x, out] = &func.params[..] else {
            return None;
        };
        let (Type::Array(xa), Type::Array(oa)) = (func.local(x.local).ty, func.local(out.local).ty)
        else {
            return None;
        };
        let ty = xa.elem;
        let shapes = xa.rank == 2 && oa.rank == 2 && oa.mutable && oa.elem == ty;
        (shapes && ty != ScalarType::Bool && matches!(ty.bits(), 32 | 64)).then_some(BlockBatch {
            combine,
            x: x.local,
            out: out.local,
            ty,
        })
    }
}

/// Adds the batched in-order scan of the binary `ufunc` for elements stored as
/// `elem`, accumulating in `acc`; returns its id.
pub fn build_scan_batch(
    program: &mut Program,
    ufunc: FuncId,
    elem: ScalarType,
    acc: ScalarType,
) -> Result<FuncId, LoopError> {
    let (combine, mut b) = scan_builder(program, ufunc, elem, acc, "scan_batch")?;
    b.set_kind(FunctionKind::ReductionBatch {
        combine,
        runs: BatchRuns::Scans,
    });
    let seed = b.param(
        "seed",
        Type::Array(ArrayType {
            elem: acc,
            rank: 1,
            mutable: false,
        }),
    );
    let x = b.param("x", array2(elem, false));
    let out = b.param("out", array2(acc, true));
    let lanes = b.array_len(x, 0);
    let n = b.array_len(x, 1);

    batch_loop(&mut b, lanes, |b, lane| {
        let first = b.load(seed, vec![lane], true, acc);
        let load = |b: &mut FunctionBuilder, j: ValueId| b.load(x, vec![lane, j], false, elem);
        let store = |b: &mut FunctionBuilder, j: ValueId, value: ValueId| {
            b.store(out, vec![lane, j], value, true)
        };
        emit_scan(b, combine, first, n, &load, &store);
    });
    let id = crate::loops::add_inlined(program, b);
    Ok(id)
}

#[cfg(test)]
mod tests;
