//! A row fold (`loops::row_fold`: `reduce` along an axis that does not
//! stream, `acc[i] = f(acc[i], x[i, j])` for every row `j`, then every lane
//! `i`) on the host with groups of accumulators in vector registers across
//! rows: the LLVM counterpart of the baseline's `cranelift/vector_rows.rs`.
//!
//! Lowered from its IR, the loop loads and stores every accumulator once per
//! row: for an axis-0 reduce of a (1000, 10000) array, 1000 passes over 80 KB
//! of accumulators. When the combiner can never trap, no lane can observe
//! another, so the lanes' steps may run in any order as long as each lane
//! folds its own elements in order. Here a group of [`GROUP_BYTES`] of lanes
//! keeps its accumulators in registers while a pass of [`ROWS`] rows goes by
//! (the rows read as that many streams side by side), and stores them once:
//!
//! ```text
//! entry:  if x's lanes and acc are contiguous, len(acc) >= lanes and acc
//!         does not overlap x:
//!           for each pass of ROWS rows (the last one shorter):
//!             for each group of W lanes: r = acc[group] (one vector)
//!               for each row j of the pass: r = f(r, x[group, j]) lane by lane
//!               acc[group] = r
//!             for each lane i after the last group: the same, one lane
//!         else: the loop function (the IR body, which checks `acc`)
//! ```
//!
//! Every lane computes the very operations of the IR in the same order, so
//! the bits are the loop's. It applies when the combiner takes and returns
//! the element type (32 or 64 bits, not `bool`) and its predicated form has
//! no guard; other row folds run the IR.
//!
//! It knows the row fold's parameters (`x`, its lanes along axis 0 and rows
//! along axis 1, then `acc`); not how the combiner is lowered.

use inkwell::types::BasicType;
use inkwell::values::{FunctionValue, IntValue, PointerValue};
use inkwell::IntPredicate;

use super::fold_vectors::{
    arrays, begin_fold, call_and_return, counted_loop, vector_type, Combiner, LaneFold,
};
use super::LlvmError;
use crate::backend::llvm::lower::Unit;
use crate::backend::llvm::types::register_type;
use crate::ir;
use crate::loops::row_fold::RowFold;

/// Bytes of lanes per group: four 512-bit vectors.
const GROUP_BYTES: u32 = 256;

/// Rows per pass (as on the baseline).
const ROWS: u64 = 8;

/// The plan of row fold `func`, when its combiner qualifies (module docs).
pub(super) fn vector_rows(program: &ir::Program, func: &ir::Function) -> Option<LaneFold> {
    let fold = RowFold::of(func)?;
    LaneFold::of(program, fold.combine, fold.ty)
}

/// Defines `name`, row fold `func` built as in the module docs, calling
/// `generic` (the loop function) for the calls it does not take; returns it
/// (it has `func`'s signature). The combiner must be defined in the unit.
pub(super) fn define_vector_rows<'ctx>(
    unit: &mut Unit<'ctx>,
    func: &ir::Function,
    plan: LaneFold,
    generic: FunctionValue<'ctx>,
    name: &str,
) -> Result<FunctionValue<'ctx>, LlvmError> {
    let cx = unit.cx;
    let (function, frame, combine) = begin_fold(unit, func, plan, name)?;
    let (x, acc) = arrays(&frame);
    let size = plan.ty.size_bytes() as u32;
    let width = GROUP_BYTES / size;
    let elem = register_type(cx, plan.ty);
    let group_type = vector_type(elem, width);
    let b = cx.create_builder();
    let block = |name: &str| cx.append_basic_block(function, name);
    b.position_at_end(block("entry"));
    let i64t = cx.i64_type();
    let int = |v: u64| i64t.const_int(v, false);
    let pass_slot = b.build_alloca(i64t, "pass")?;
    let group_slot = b.build_alloca(i64t, "group")?;
    let lane_slot = b.build_alloca(i64t, "lane")?;
    let row_slot = b.build_alloca(i64t, "row")?;
    let r_slot = b.build_alloca(group_type, "r")?;
    let r1_slot = b.build_alloca(elem, "r1")?;
    let (lanes, rows, row_stride) = (x.shape[0], x.shape[1], x.strides[1]);
    let c = Combiner {
        cx,
        b: &b,
        combine,
        trap: frame.trap,
        elem,
        size,
    };

    let lanes_contiguous = b.build_int_compare(IntPredicate::EQ, x.strides[0], int(1), "")?;
    let acc_contiguous = b.build_int_compare(IntPredicate::EQ, acc.strides[0], int(1), "")?;
    let fits = b.build_int_compare(IntPredicate::UGE, acc.shape[0], lanes, "")?;
    let ok = b.build_and(lanes_contiguous, acc_contiguous, "")?;
    let ok = b.build_and(ok, fits, "")?;
    let ok = b.build_and(
        ok,
        disjoint(&c, x.data, (rows, row_stride), acc.data, lanes)?,
        "",
    )?;
    let (fast, other) = (block("vector"), block("generic"));
    b.build_conditional_branch(ok, fast, other)?;
    b.position_at_end(other);
    call_and_return(&b, function, generic)?;

    b.position_at_end(fast);
    let whole = b.build_int_mul(
        b.build_int_unsigned_div(lanes, int(width as u64), "")?,
        int(width as u64),
        "",
    )?;
    // The address of lane `lane` of row `row`.
    let at = |lane: IntValue<'ctx>, row: IntValue<'ctx>| -> Result<PointerValue<'ctx>, LlvmError> {
        let rows = b.build_int_mul(row, row_stride, "")?;
        c.element(x.data, b.build_int_add(lane, rows, "")?)
    };
    counted_loop(&b, function, pass_slot, (int(0), rows, ROWS), |pass| {
        let left = b.build_int_sub(rows, pass, "")?;
        let short = b.build_int_compare(IntPredicate::ULT, left, int(ROWS), "")?;
        let count = b.build_select(short, left, int(ROWS), "")?.into_int_value();
        let end = b.build_int_add(pass, count, "")?;
        let step = width as u64;
        counted_loop(&b, function, group_slot, (int(0), whole, step), |group| {
            let first = c.element(acc.data, group)?;
            b.build_store(r_slot, c.load(group_type.as_basic_type_enum(), first)?)?;
            counted_loop(&b, function, row_slot, (pass, end, 1), |row| {
                let r = b.build_load(group_type, r_slot, "")?.into_vector_value();
                let xs = c.load(group_type.as_basic_type_enum(), at(group, row)?)?;
                b.build_store(r_slot, c.combine_lanes(r, xs.into_vector_value())?)?;
                Ok(())
            })?;
            c.store(first, b.build_load(group_type, r_slot, "")?)
        })?;
        counted_loop(&b, function, lane_slot, (whole, lanes, 1), |lane| {
            let first = c.element(acc.data, lane)?;
            b.build_store(r1_slot, c.load(elem, first)?)?;
            counted_loop(&b, function, row_slot, (pass, end, 1), |row| {
                let r = b.build_load(elem, r1_slot, "")?;
                b.build_store(r1_slot, c.combine(r, c.load(elem, at(lane, row)?)?)?)?;
                Ok(())
            })?;
            c.store(first, b.build_load(elem, r1_slot, "")?)
        })
    })?;
    b.build_return(None)?;
    Ok(function)
}

/// Whether the `lanes` elements of `acc` and the bytes of `x` (`rows` rows,
/// `row_stride` elements apart, each `lanes` elements from its start) are
/// disjoint (computed on addresses as integers: nothing here is dereferenced).
fn disjoint<'ctx>(
    c: &Combiner<'_, 'ctx>,
    x: PointerValue<'ctx>,
    (rows, row_stride): (IntValue<'ctx>, IntValue<'ctx>),
    acc: PointerValue<'ctx>,
    lanes: IntValue<'ctx>,
) -> Result<IntValue<'ctx>, LlvmError> {
    let (b, i64t) = (c.b, c.cx.i64_type());
    let zero = i64t.const_zero();
    let bytes = |elements: IntValue<'ctx>| {
        b.build_int_mul(elements, i64t.const_int(c.size as u64, false), "")
    };
    // The last row's offset from the first: below it for a negative stride.
    let last = b.build_int_sub(rows, i64t.const_int(1, false), "")?;
    let last_row = bytes(b.build_int_mul(last, row_stride, "")?)?;
    let negative = b.build_int_compare(IntPredicate::SLT, last_row, zero, "")?;
    let below = b
        .build_select(negative, last_row, zero, "")?
        .into_int_value();
    let above = b
        .build_select(negative, zero, last_row, "")?
        .into_int_value();
    let (x, acc) = (
        b.build_ptr_to_int(x, i64t, "")?,
        b.build_ptr_to_int(acc, i64t, "")?,
    );
    let lane_bytes = bytes(lanes)?;
    let x_start = b.build_int_add(x, below, "")?;
    let x_end = b.build_int_add(b.build_int_add(x, above, "")?, lane_bytes, "")?;
    let acc_end = b.build_int_add(acc, lane_bytes, "")?;
    let x_first = b.build_int_compare(IntPredicate::ULE, x_end, acc, "")?;
    let acc_first = b.build_int_compare(IntPredicate::ULE, acc_end, x_start, "")?;
    Ok(b.build_or(x_first, acc_first, "")?)
}
