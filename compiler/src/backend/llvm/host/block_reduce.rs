//! A batch of block reductions (`loops::reduce_batch`, what every `reduce` of a
//! reorderable ufunc runs) on the host, with its eight accumulators as one
//! vector: the LLVM counterpart of the baseline's `cranelift/vector_reduce.rs`.
//!
//! Lowered from its IR, the batch is one loop over `lanes × blocks` iterations
//! that divides its index by `blocks` for every block of 128 elements, with
//! eight scalar accumulators that LLVM's SLP vectoriser packed into pairs of
//! non-adjacent lanes (gathers and shuffles, 128-bit vectors on an AVX-512 CPU).
//! Here the loop is built directly, in the order the IR gives
//! (`loops::reduce_loop`'s block order):
//!
//! ```text
//! entry:  if x's element stride is 1 and out is at least lanes × blocks:
//!         for lane, for block (the IR's iterations, in their order):
//!           len < 8:  r = x[0], i = 1                      (in order)
//!           else:     acc = x[0..8] as one vector, i = 8
//!                     while i + 8 <= len: acc = f(acc, x[i..i + 8]) lane by lane, i += 8
//!                     r = f(f(f(r0, r1), f(r2, r3)), f(f(r4, r5), f(r6, r7)))
//!           while i < len: r = f(r, x[i]), i += 1         (in order)
//!           out[lane, block] = r
//!         else: the loop function (the IR body, which traps on a wrong `out`)
//! ```
//!
//! `f` is the ufunc's combiner, called lane by lane on the vectors' elements:
//! LLVM inlines it and turns the eight calls into one vector operation (a
//! `<8 x double>` add on AVX-512). Each lane computes the very operations of
//! the IR's accumulator, so the bits are the loop's. It applies when the
//! combiner takes and returns the element type (32 or 64 bits, not `bool`)
//! and can never trap (its predicated form has no guard), as on the baseline;
//! other batches keep the unit-stride copy of their loop (`contiguous`).
//!
//! It knows the batch's parameters (`x` first, its elements along axis 1;
//! `out` second) and the shared lowering's calling convention; not how the
//! combiner is lowered.

use inkwell::types::{BasicType, VectorType};
use inkwell::values::{BasicValueEnum, FunctionValue, IntValue, PointerValue, VectorValue};
use inkwell::IntPredicate;

use super::fold_vectors::{
    arrays, begin_fold, call_and_return, counted_loop, vector_type, Combiner, LaneFold,
};
use super::LlvmError;
use crate::backend::llvm::lower::Unit;
use crate::backend::llvm::types::register_type;
use crate::ir;
use crate::loops::reduce_batch::BlockBatch;
use crate::loops::reduce_loop::{BLOCK, LANES};

/// The plan of batch `func`, when its combiner qualifies (module docs).
pub(super) fn vector_batch(program: &ir::Program, func: &ir::Function) -> Option<LaneFold> {
    let batch = BlockBatch::of(func)?;
    LaneFold::of(program, batch.combine, batch.ty)
}

/// Defines `name`, batch `func` built as in the module docs, calling `generic`
/// (the loop function) for the calls it does not take; returns it (it has
/// `func`'s signature). The combiner must be defined in the unit.
pub(super) fn define_vector_batch<'ctx>(
    unit: &mut Unit<'ctx>,
    func: &ir::Function,
    plan: LaneFold,
    generic: FunctionValue<'ctx>,
    name: &str,
) -> Result<FunctionValue<'ctx>, LlvmError> {
    let cx = unit.cx;
    let (function, frame, combine) = begin_fold(unit, func, plan, name)?;
    let (x, out) = arrays(&frame);
    let elem = register_type(cx, plan.ty);
    let b = cx.create_builder();
    let block = |name: &str| cx.append_basic_block(function, name);
    b.position_at_end(block("entry"));
    let i64t = cx.i64_type();
    let int = |v: u64| i64t.const_int(v, false);
    let vector = vector_type(elem, LANES as u32);
    let slots = Slots {
        lane: b.build_alloca(i64t, "lane")?,
        block: b.build_alloca(i64t, "block")?,
        i: b.build_alloca(i64t, "i")?,
        r: b.build_alloca(elem, "r")?,
        acc: b.build_alloca(vector, "acc")?,
    };
    let lanes = x.shape[0];
    let n = x.shape[1];
    let rounded_up = b.build_int_add(n, int(BLOCK as u64 - 1), "")?;
    let blocks = b.build_right_shift(rounded_up, int(BLOCK.trailing_zeros() as u64), false, "")?;
    let contiguous = b.build_int_compare(IntPredicate::EQ, x.strides[1], int(1), "")?;
    let rows_fit = b.build_int_compare(IntPredicate::UGE, out.shape[0], lanes, "")?;
    let cols_fit = b.build_int_compare(IntPredicate::UGE, out.shape[1], blocks, "")?;
    let ok = b.build_and(contiguous, rows_fit, "")?;
    let ok = b.build_and(ok, cols_fit, "")?;
    let (fast, other) = (block("vector"), block("generic"));
    b.build_conditional_branch(ok, fast, other)?;
    b.position_at_end(other);
    call_and_return(&b, function, generic)?;

    b.position_at_end(fast);
    let folds = Blocks {
        c: Combiner {
            cx,
            b: &b,
            combine,
            trap: frame.trap,
            elem,
            size: plan.ty.size_bytes() as u32,
        },
        function,
        vector,
        slots: &slots,
    };
    counted_loop(&b, function, slots.lane, (int(0), lanes, 1), |lane| {
        counted_loop(&b, function, slots.block, (int(0), blocks, 1), |blk| {
            let start = b.build_int_mul(blk, int(BLOCK as u64), "")?;
            let left = b.build_int_sub(n, start, "")?;
            let short = b.build_int_compare(IntPredicate::ULT, left, int(BLOCK as u64), "")?;
            let len = b
                .build_select(short, left, int(BLOCK as u64), "")?
                .into_int_value();
            let row = b.build_int_mul(lane, x.strides[0], "")?;
            let first = folds.c.element(x.data, b.build_int_add(row, start, "")?)?;
            let r = folds.block_reduction(first, len)?;
            let row = b.build_int_mul(lane, out.strides[0], "")?;
            let col = b.build_int_mul(blk, out.strides[1], "")?;
            let slot = folds.c.element(out.data, b.build_int_add(row, col, "")?)?;
            folds.c.store(slot, r)
        })
    })?;
    b.build_return(None)?;
    Ok(function)
}

/// The stack slots of the loop's variables (`mem2reg` makes them registers).
struct Slots<'ctx> {
    lane: PointerValue<'ctx>,
    block: PointerValue<'ctx>,
    i: PointerValue<'ctx>,
    r: PointerValue<'ctx>,
    acc: PointerValue<'ctx>,
}

/// What the lowering of one block's reduction needs.
struct Blocks<'a, 'ctx> {
    c: Combiner<'a, 'ctx>,
    function: FunctionValue<'ctx>,
    vector: VectorType<'ctx>,
    slots: &'a Slots<'ctx>,
}

impl<'ctx> Blocks<'_, 'ctx> {
    /// Emits the reduction, in the block order, of the `len >= 1` contiguous
    /// elements from `first` on; returns it, in the block it leaves the
    /// builder at.
    fn block_reduction(
        &self,
        first: PointerValue<'ctx>,
        len: IntValue<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let (b, c, cx) = (self.c.b, &self.c, self.c.cx);
        let block = |name: &str| cx.append_basic_block(self.function, name);
        let i64t = cx.i64_type();
        let int = |v: u64| i64t.const_int(v, false);
        let lanes = int(LANES as u64);
        let (small, large, in_order) = (block("small"), block("large"), block("in_order"));
        let is_small = b.build_int_compare(IntPredicate::ULT, len, lanes, "")?;
        b.build_conditional_branch(is_small, small, large)?;

        // len < 8: in order from x[0].
        b.position_at_end(small);
        b.build_store(self.slots.r, c.load(c.elem, first)?)?;
        b.build_store(self.slots.i, int(1))?;
        b.build_unconditional_branch(in_order)?;

        // len >= 8: the accumulators x[0..8], then one group of eight per step.
        b.position_at_end(large);
        let acc = c.load(self.vector.as_basic_type_enum(), first)?;
        b.build_store(self.slots.acc, acc)?;
        b.build_store(self.slots.i, lanes)?;
        let (group_head, group_body, tree) = (block("group"), block("group.body"), block("tree"));
        b.build_unconditional_branch(group_head)?;
        b.position_at_end(group_head);
        let i = b.build_load(i64t, self.slots.i, "")?.into_int_value();
        let end = b.build_int_add(i, lanes, "")?;
        let fits = b.build_int_compare(IntPredicate::ULE, end, len, "")?;
        b.build_conditional_branch(fits, group_body, tree)?;
        b.position_at_end(group_body);
        let acc = b
            .build_load(self.vector, self.slots.acc, "")?
            .into_vector_value();
        let group = c.load(self.vector.as_basic_type_enum(), c.element(first, i)?)?;
        let next = c.combine_lanes(acc, group.into_vector_value())?;
        b.build_store(self.slots.acc, next)?;
        b.build_store(self.slots.i, end)?;
        b.build_unconditional_branch(group_head)?;

        // f(f(f(r0, r1), f(r2, r3)), f(f(r4, r5), f(r6, r7))).
        b.position_at_end(tree);
        let acc: VectorValue = b
            .build_load(self.vector, self.slots.acc, "")?
            .into_vector_value();
        let mut level = (0..LANES as u64)
            .map(|k| b.build_extract_element(acc, int(k), ""))
            .collect::<Result<Vec<_>, _>>()?;
        while level.len() > 1 {
            level = level
                .chunks(2)
                .map(|pair| c.combine(pair[0], pair[1]))
                .collect::<Result<_, _>>()?;
        }
        b.build_store(self.slots.r, level[0])?;
        b.build_unconditional_branch(in_order)?;

        // The rest one element at a time: all of a small block, the tail of a
        // large one.
        b.position_at_end(in_order);
        let (step, done) = (block("step"), block("done"));
        let i = b.build_load(i64t, self.slots.i, "")?.into_int_value();
        let more = b.build_int_compare(IntPredicate::ULT, i, len, "")?;
        b.build_conditional_branch(more, step, done)?;
        b.position_at_end(step);
        let x = c.load(c.elem, c.element(first, i)?)?;
        let r = b.build_load(c.elem, self.slots.r, "")?;
        b.build_store(self.slots.r, c.combine(r, x)?)?;
        let next = b.build_int_add(i, int(1), "")?;
        b.build_store(self.slots.i, next)?;
        b.build_unconditional_branch(in_order)?;
        b.position_at_end(done);
        Ok(b.build_load(c.elem, self.slots.r, "")?)
    }
}
