//! Renaming the values and locals an instruction names: what a pass that copies
//! IR (inlining a callee, unrolling a loop) does to every instruction it copies.
//!
//! It owns the one match over the operands of the instructions without blocks;
//! the blocks of an `If` or `Loop` are copied by the pass, which knows what its
//! copy means for `Break`, `Continue` and `Return`. It also replaces the uses
//! of values a pass found already computed ([`replace_uses`]). Host instructions are copied
//! unchanged: no pass copies host code (`main` runs in the interpreter). It must
//! not know any pass.

use std::cell::RefCell;

use crate::collections::HashMap;

use crate::ir::*;

/// A copy of an instruction without blocks with values and locals renamed (an
/// `If` or `Loop` comes back as it is: its blocks are the caller's to copy).
pub(super) fn remap(
    kind: &InstKind,
    v: impl Fn(&ValueId) -> ValueId,
    l: impl Fn(&LocalId) -> LocalId,
) -> InstKind {
    match kind {
        InstKind::Const(c) => InstKind::Const(*c),
        InstKind::GetLocal(x) => InstKind::GetLocal(l(x)),
        InstKind::SetLocal(x, y) => InstKind::SetLocal(l(x), v(y)),
        InstKind::Unary(op, a) => InstKind::Unary(*op, v(a)),
        InstKind::Binary(op, a, b) => InstKind::Binary(*op, v(a), v(b)),
        InstKind::Cmp(op, a, b) => InstKind::Cmp(*op, v(a), v(b)),
        InstKind::Cast(a, t) => InstKind::Cast(v(a), *t),
        InstKind::Bitcast(a, t) => InstKind::Bitcast(v(a), *t),
        InstKind::Select {
            cond,
            if_true,
            if_false,
        } => InstKind::Select {
            cond: v(cond),
            if_true: v(if_true),
            if_false: v(if_false),
        },
        InstKind::Intrinsic(i, args) => InstKind::Intrinsic(*i, args.iter().map(&v).collect()),
        InstKind::Call { callee, args } => InstKind::Call {
            callee: *callee,
            args: args
                .iter()
                .map(|a| match a {
                    Arg::Value(x) => Arg::Value(v(x)),
                    Arg::Array(x) => Arg::Array(l(x)),
                    Arg::SubView { array, index } => Arg::SubView {
                        array: l(array),
                        index: v(index),
                    },
                })
                .collect(),
        },
        InstKind::ArrayLen { array, axis } => InstKind::ArrayLen {
            array: l(array),
            axis: *axis,
        },
        InstKind::ArrayStride { array, axis } => InstKind::ArrayStride {
            array: l(array),
            axis: *axis,
        },
        InstKind::Load {
            array,
            indices,
            checked,
        } => InstKind::Load {
            array: l(array),
            indices: indices.iter().map(&v).collect(),
            checked: *checked,
        },
        InstKind::Store {
            array,
            indices,
            value,
            checked,
        } => InstKind::Store {
            array: l(array),
            indices: indices.iter().map(&v).collect(),
            value: v(value),
            checked: *checked,
        },
        InstKind::LoadConst { table, index } => InstKind::LoadConst {
            table: *table,
            index: v(index),
        },
        InstKind::Assert { cond, message } => InstKind::Assert {
            cond: v(cond),
            message: message.clone(),
        },
        InstKind::Print {
            pieces,
            args,
            newline,
        } => InstKind::Print {
            pieces: pieces.clone(),
            args: args.iter().map(&v).collect(),
            newline: *newline,
        },
        InstKind::Spmd(s) => InstKind::Spmd(s.map(|x| v(&x), |x| l(&x))),
        InstKind::Return(x) => InstKind::Return(x.as_ref().map(&v)),
        // Control flow is copied by the caller of `remap`.
        other => other.clone(),
    }
}

/// The values `kind` reads: its operands, an `If`'s or a `Loop`'s condition and a
/// counted loop's induction value and step (not what its blocks read).
pub(super) fn operands(kind: &InstKind) -> Vec<ValueId> {
    match kind {
        InstKind::If { cond, .. } => vec![*cond],
        InstKind::Loop { cond, counted, .. } => {
            let declared = counted.iter().flat_map(|c| [c.induction, c.step]);
            cond.iter().copied().chain(declared).collect()
        }
        other => {
            let read = RefCell::new(Vec::new());
            remap(
                other,
                |v| {
                    read.borrow_mut().push(*v);
                    *v
                },
                |l| *l,
            );
            read.into_inner()
        }
    }
}

/// Makes every use in `block` (nested blocks, conditions and a counted loop's
/// declared values included) of a key of `replaced` a use of its value: what
/// a pass that finds a value already computed does to the rest of the function.
/// In place: an instruction that reads none of them is not copied.
pub(super) fn replace_uses(block: &mut Block, replaced: &HashMap<ValueId, ValueId>) {
    for inst in &mut block.insts {
        operands_mut(&mut inst.kind, |v| {
            if let Some(&to) = replaced.get(v) {
                *v = to;
            }
        });
        for nested in inst.kind.blocks_mut() {
            replace_uses(nested, replaced);
        }
    }
}

/// Calls `f` on every value `kind` reads, in place: its operands, an `If`'s or
/// a `Loop`'s condition and a counted loop's declared values (not what its
/// blocks read).
fn operands_mut(kind: &mut InstKind, mut f: impl FnMut(&mut ValueId)) {
    match kind {
        InstKind::Const(_)
        | InstKind::GetLocal(_)
        | InstKind::ArrayLen { .. }
        | InstKind::ArrayStride { .. }
        | InstKind::Break
        | InstKind::Continue => {}
        InstKind::SetLocal(_, a)
        | InstKind::Unary(_, a)
        | InstKind::Cast(a, _)
        | InstKind::Bitcast(a, _)
        | InstKind::LoadConst { index: a, .. }
        | InstKind::Assert { cond: a, .. }
        | InstKind::If { cond: a, .. } => f(a),
        InstKind::Binary(_, a, b) | InstKind::Cmp(_, a, b) => {
            f(a);
            f(b);
        }
        InstKind::Select {
            cond,
            if_true,
            if_false,
        } => {
            f(cond);
            f(if_true);
            f(if_false);
        }
        InstKind::Intrinsic(_, args) | InstKind::Print { args, .. } => args.iter_mut().for_each(f),
        InstKind::Load { indices, .. } => indices.iter_mut().for_each(f),
        InstKind::Store { indices, value, .. } => {
            indices.iter_mut().for_each(&mut f);
            f(value);
        }
        InstKind::Call { args, .. } | InstKind::Host { args, .. } => {
            for arg in args {
                match arg {
                    Arg::Value(v) | Arg::SubView { index: v, .. } => f(v),
                    Arg::Array(_) => {}
                }
            }
        }
        InstKind::Return(v) => {
            if let Some(v) = v {
                f(v);
            }
        }
        InstKind::Loop { cond, counted, .. } => {
            if let Some(c) = cond {
                f(c);
            }
            if let Some(c) = counted {
                f(&mut c.induction);
                f(&mut c.step);
            }
        }
        InstKind::Spmd(s) => {
            *s = s.map(
                |mut v| {
                    f(&mut v);
                    v
                },
                |l| l,
            );
        }
    }
}
