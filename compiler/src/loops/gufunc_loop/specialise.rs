//! Gufunc loops specialised on their core extents: what
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
//! dimensions get constant trip counts, for a later pass (unrolling) to read off
//! the IR. The loop axis (`n`) and every stride stay run-time values.
//!
//! It knows the loop builder's operands and kern IR only; which extents are worth
//! a loop of their own, and how many such loops are kept, are the runtime's.

use super::GufuncLoopError;
use crate::ir::build::FunctionBuilder;
use crate::ir::*;

/// Checks that `core` has one entry per operand, of its core rank (`ranks`).
pub(super) fn check_core_sizes(
    function: &str,
    ranks: &[usize],
    core: &[Vec<usize>],
) -> Result<(), GufuncLoopError> {
    let fail = |message: String| GufuncLoopError::CoreSizes {
        function: function.to_string(),
        message,
    };
    if core.len() != ranks.len() {
        return Err(fail(format!(
            "{} operands have core extents, the loop has {}",
            core.len(),
            ranks.len()
        )));
    }
    for (k, (sizes, &rank)) in core.iter().zip(ranks).enumerate() {
        if sizes.len() != rank {
            return Err(fail(format!(
                "operand {k} has {rank} core axes, {} extents were given",
                sizes.len()
            )));
        }
        if let Some(&big) = sizes.iter().find(|&&s| i64::try_from(s).is_err()) {
            return Err(fail(format!("operand {k}: extent {big} is too large")));
        }
    }
    Ok(())
}

/// The loop name's suffix for `core`: operands separated by `,`, the extents of
/// one operand by `x`, `-` for an operand without core axes (`3x3,3x3,3x3`).
pub(super) fn suffix(core: &[Vec<usize>]) -> String {
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

/// Asserts, on entry, that core axis `a` of operand `k` (`locals[k]`, whose axis
/// `a + 1` it is) has extent `core[k][a]`, and that the axes of one extent have
/// one extent (what bounds-check elimination reads).
pub(super) fn assert_core_sizes(b: &mut FunctionBuilder, locals: &[LocalId], core: &[Vec<usize>]) {
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
/// built loop, inlined) by its constant, then folds constants. The entry's
/// reads, which the assertions compare, stay reads.
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
