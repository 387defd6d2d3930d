//! Gufunc loops specialised on their core extents, and optionally on C-contiguous
//! core axes: what
//! [`build_specialised_gufunc_loop`](super::build_specialised_gufunc_loop) adds to
//! the generic loop.
//!
//! On entry the loop asserts that every core axis of every array operand has the
//! extent it was built for (a loop handed other operands stops there with a
//! located trap, never reads out of bounds), and that the axes built for one
//! extent have one extent — more than the generic loop can state (only the axes
//! one dimension name binds), so bounds-check elimination
//! ([`crate::passes::bounds`]) also proves `y[i]` from `i < x.len()` when `x` and
//! `y` were bound to one size. After inlining and bounds-check elimination every
//! core extent read inside the loop (`ArrayLen` of an operand on a core axis)
//! becomes that constant and the constants are folded: the body's loops over core
//! dimensions get constant trip counts, and those within the unrolling pass's
//! budget are unrolled, and those whose iterations can interleave are then
//! jammed ([`crate::passes::jam`]; the loop is built after the pass list has
//! run, so it runs them itself). The loop axis (`n`) stays a run-time value.
//!
//! A loop built for contiguous core axes also asserts on entry that the core
//! axes of every array operand have the C-contiguous strides for those extents
//! (the last core axis 1 element, each other the product of the extents after
//! it) and declares these strides ([`FixedStride`]): the backends then address
//! elements with constant strides, so with the core loops unrolled (constant
//! indices) an access is the operand's sub-array at `i` plus a constant offset.
//! Only the axes an index moves along are asserted: not an axis of extent 1
//! (always indexed at 0, so its stride never matters: a missing optional
//! dimension has stride 0), nor any axis of an operand with an extent 0 (no
//! element). A call with other strides stops at that assertion, never reads
//! elsewhere; the runtime asks for such a loop only for operands laid out so.
//! The loop axis's stride stays a run-time value (zero for a broadcast
//! operand).
//!
//! It knows the loop builder's operands and kern IR only; which extents are worth
//! a loop of their own, and how many such loops are kept, are the runtime's.

use super::{CoreSpecialisation, GufuncLoopError};
use crate::ir::build::FunctionBuilder;
use crate::ir::*;

/// Checks that `core` has one entry per operand, of its core rank (`ranks`),
/// and, for contiguous axes, that their strides fit an `i64`.
pub(super) fn check_core_sizes(
    function: &str,
    ranks: &[usize],
    core: &CoreSpecialisation,
) -> Result<(), GufuncLoopError> {
    let fail = |message: String| GufuncLoopError::CoreSizes {
        function: function.to_string(),
        message,
    };
    if core.extents.len() != ranks.len() {
        return Err(fail(format!(
            "{} operands have core extents, the loop has {}",
            core.extents.len(),
            ranks.len()
        )));
    }
    for (k, (sizes, &rank)) in core.extents.iter().zip(ranks).enumerate() {
        if sizes.len() != rank {
            return Err(fail(format!(
                "operand {k} has {rank} core axes, {} extents were given",
                sizes.len()
            )));
        }
        if let Some(&big) = sizes.iter().find(|&&s| i64::try_from(s).is_err()) {
            return Err(fail(format!("operand {k}: extent {big} is too large")));
        }
        if core.contiguous && contiguous_strides(sizes).is_none() {
            return Err(fail(format!(
                "operand {k}: the contiguous strides of {} overflow",
                suffix(std::slice::from_ref(sizes))
            )));
        }
    }
    Ok(())
}

/// The C-contiguous strides (in elements) of core axes of extents `sizes`:
/// the last axis 1, each other the product of the extents after it; `None`
/// when one does not fit an `i64`.
fn contiguous_strides(sizes: &[usize]) -> Option<Vec<i64>> {
    let mut strides = vec![0i64; sizes.len()];
    let mut stride = 1i64;
    for (axis, &size) in sizes.iter().enumerate().rev() {
        strides[axis] = stride;
        stride = stride.checked_mul(i64::try_from(size).ok()?)?;
    }
    Some(strides)
}

/// The loop name's suffix for `core`: operands separated by `,`, the extents of
/// one operand by `x`, `-` for an operand without core axes, and `:contiguous`
/// for contiguous core axes (`3x3,3x3,3x3:contiguous`).
pub(super) fn name_suffix(core: &CoreSpecialisation) -> String {
    let extents = suffix(&core.extents);
    match core.contiguous {
        true => format!("{extents}:contiguous"),
        false => extents,
    }
}

fn suffix(core: &[Vec<usize>]) -> String {
    core.iter()
        .map(|sizes| match sizes.as_slice() {
            [] => "-".to_string(),
            sizes => sizes
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join("x"),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Asserts, on entry, what the loop was built for: the core extents
/// ([`assert_core_sizes`]) and, for contiguous core axes, their strides, which
/// it declares fixed.
pub(super) fn assert_core_layout(
    b: &mut FunctionBuilder,
    locals: &[LocalId],
    core: &CoreSpecialisation,
) {
    assert_core_sizes(b, locals, &core.extents);
    if !core.contiguous {
        return;
    }
    for (&local, sizes) in locals.iter().zip(&core.extents) {
        if sizes.contains(&0) {
            continue;
        }
        let strides = contiguous_strides(sizes).expect("checked by check_core_sizes");
        for (axis, stride) in strides.into_iter().enumerate() {
            if sizes[axis] == 1 {
                continue;
            }
            b.fix_stride(
                local,
                axis as u8 + 1,
                stride,
                "the operands' core dimensions have the contiguous layout the loop was built for",
            );
        }
    }
}

/// Asserts, on entry, that core axis `a` of operand `k` (`locals[k]`, whose axis
/// `a + 1` it is) has extent `core[k][a]`, and that the axes of one extent have
/// one extent (what bounds-check elimination reads).
fn assert_core_sizes(b: &mut FunctionBuilder, locals: &[LocalId], core: &[Vec<usize>]) {
    let mut first_of_size: Vec<(usize, ValueId)> = Vec::new();
    for (&local, sizes) in locals.iter().zip(core) {
        for (axis, &size) in sizes.iter().enumerate() {
            let extent = b.array_len(local, axis as u8 + 1);
            let expected = b.constant(ScalarValue::Usize(size as u64));
            let cond = b.cmp(CmpOp::Eq, extent, expected);
            b.inst(InstKind::Assert {
                cond,
                message: "the operands' core dimensions have the extents the loop was built for"
                    .into(),
            });
            match first_of_size.iter().find(|(s, _)| *s == size) {
                Some(&(_, first)) => {
                    let cond = b.cmp(CmpOp::Eq, first, extent);
                    b.inst(InstKind::Assert {
                        cond,
                        message: "the operands' core dimensions were bound".into(),
                    });
                }
                None => first_of_size.push((size, extent)),
            }
        }
    }
}

/// Replaces every core extent of an operand read inside the loop of `f` (the
/// built loop, inlined) by its constant, then folds constants, unrolls the
/// loops that now run over small constant ranges ([`crate::passes::unroll`])
/// but those the jammer takes, and folds again, then jams the loops whose
/// iterations can interleave ([`crate::passes::jam`]: matmul's `j` around the
/// unrolled `k`) and folds once more. The entry's reads, which the assertions compare, stay
/// reads.
pub(super) fn fold_core_extents(f: &mut Function, locals: &[LocalId], core: &[Vec<usize>]) {
    let size_of = |array: LocalId, axis: u8| {
        let k = locals.iter().position(|&l| l == array)?;
        let core_axis = usize::from(axis).checked_sub(1)?;
        core.get(k)?.get(core_axis).copied()
    };
    for inst in &mut f.body.insts {
        for block in inst.kind.blocks_mut() {
            substitute(block, &size_of);
        }
    }
    crate::passes::fold::fold_constants(f);
    crate::passes::unroll::unroll_loops_but(f, &crate::passes::jam::takes);
    crate::passes::fold::fold_constants(f);
    crate::passes::jam::jam_loops(f);
    crate::passes::fold::fold_constants(f);
}

fn substitute(block: &mut Block, size_of: &impl Fn(LocalId, u8) -> Option<usize>) {
    for inst in &mut block.insts {
        if let InstKind::ArrayLen { array, axis } = inst.kind {
            if let Some(size) = size_of(array, axis) {
                inst.kind = InstKind::Const(ScalarValue::Usize(size as u64));
            }
        }
        for nested in inst.kind.blocks_mut() {
            substitute(nested, size_of);
        }
    }
}
