//! Recognising a user's `for` loop over a range of constants: what the passes
//! that rewrite such a loop by its trip count (`unroll`, `jam`) share.
//!
//! User loops declare nothing (`counted: None`), so this recognises the one
//! shape `lower/body/control_flow.rs` gives a `for` over a range without
//! `step_by`: a header `i = get l; e = get end; c = i < e` (`<=` for `..=`), a
//! latch that sets `l = i + 1` (behind `if i == e { break }` for `..=`), and the
//! two locals set, before the loop in the same block, to constants; or that
//! shape after `passes::licm` hoisted `e = get end` to just before the loop
//! (what a built loop finds in the bodies it inlines). A loop whose body writes
//! either local, or has a `break` or `continue` of its own (not of a loop nested
//! in it), is not such a loop. It knows the IR only, and no pass.

use crate::collections::HashMap;

use crate::ir::*;

/// Every constant of `f`, by value.
pub(super) fn constants(f: &Function) -> HashMap<ValueId, ScalarValue> {
    f.body
        .insts_deep()
        .filter_map(|i| match (&i.kind, i.result) {
            (InstKind::Const(c), Some(r)) => Some((r, *c)),
            _ => None,
        })
        .collect()
}

/// A `for` loop over a constant range, as recognised.
pub(crate) struct ForRange {
    /// The loop variable's local.
    pub counter: LocalId,
    pub ty: ScalarType,
    pub first: i128,
    /// The range's end (included for `..=`).
    pub last: i128,
    /// Whether the range is `first..=last` (else `first..last`).
    pub inclusive: bool,
    pub trips: u128,
    /// The header's values: the variable, the end and the loop's condition.
    pub induction: ValueId,
    pub end: ValueId,
    pub cond: ValueId,
}

/// The constant range `inst` loops over, when it is a `for` loop over a range
/// of constants; `before` is what precedes it in its block, `constants` every
/// constant of `f` by value.
pub(super) fn for_range(
    f: &Function,
    constants: &HashMap<ValueId, ScalarValue>,
    inst: &Inst,
    before: &[Inst],
) -> Option<ForRange> {
    let InstKind::Loop {
        header,
        cond: Some(cond),
        body,
        latch,
        counted: None,
    } = &inst.kind
    else {
        return None;
    };
    let (read, compare) = match header.insts.as_slice() {
        [read, _, compare] | [read, compare] => (read, compare),
        _ => return None,
    };
    let (InstKind::GetLocal(counter), Some(induction)) = (&read.kind, read.result) else {
        return None;
    };
    // The end's read in the header, or hoisted out of it (`passes::licm`)
    // to the end of `before`: then the range ends at the value it read.
    let (end_local, end, before_end) = match header.insts.as_slice() {
        [_, read_end, _] => match (&read_end.kind, read_end.result) {
            (InstKind::GetLocal(l), Some(end)) => (*l, end, before),
            _ => return None,
        },
        _ => {
            let InstKind::Cmp(_, _, end) = compare.kind else {
                return None;
            };
            let at = before.iter().rposition(|i| i.result == Some(end))?;
            let InstKind::GetLocal(l) = before[at].kind else {
                return None;
            };
            let sets = |i: &Inst| {
                matches!(i.kind, InstKind::SetLocal(w, _) if w == l)
                    || i.kind.blocks().any(|b| writes(b, &[l]))
            };
            if before[at..].iter().any(sets) {
                return None;
            }
            (l, end, &before[..at])
        }
    };
    let inclusive = match compare.kind {
        InstKind::Cmp(op, a, b) if compare.result == Some(*cond) && a == induction && b == end => {
            match op {
                CmpOp::Lt => false,
                CmpOp::Le => true,
                _ => return None,
            }
        }
        _ => return None,
    };
    let counter = *counter;
    if counter == end_local
        || !steps_by_one(latch, counter, end_local, inclusive)
        || writes(body, &[counter, end_local])
        || leaves_loop(body)
    {
        return None;
    }
    let ty = f.local(counter).ty.as_scalar().filter(|t| t.is_int())?;
    let first = value_at_entry(constants, before, counter)?.as_i128()?;
    let last = value_at_entry(constants, before_end, end_local)?.as_i128()?;
    let trips = match (inclusive, first <= last) {
        (_, false) => 0,
        (false, true) => (last - first) as u128,
        (true, true) => (last - first) as u128 + 1,
    };
    Some(ForRange {
        counter,
        ty,
        first,
        last,
        inclusive,
        trips,
        induction,
        end,
        cond: *cond,
    })
}

/// The constant `local` holds after `before` (the instructions preceding a
/// loop in its block): the value of its last write there, when that is a
/// constant and nothing after it (nested blocks included) writes it again.
fn value_at_entry(
    constants: &HashMap<ValueId, ScalarValue>,
    before: &[Inst],
    local: LocalId,
) -> Option<ScalarValue> {
    for inst in before.iter().rev() {
        match &inst.kind {
            InstKind::SetLocal(l, v) if *l == local => return constants.get(v).copied(),
            kind if kind.blocks().any(|b| writes(b, &[local])) => return None,
            _ => {}
        }
    }
    None
}

/// Whether anything in `block` (nested blocks included) sets one of `locals`.
pub(super) fn writes(block: &Block, locals: &[LocalId]) -> bool {
    block
        .insts_deep()
        .any(|i| matches!(i.kind, InstKind::SetLocal(l, _) if locals.contains(&l)))
}

/// Whether `block` has a `Break` or `Continue` of the loop it belongs to (not of a
/// loop nested in it).
pub(super) fn leaves_loop(block: &Block) -> bool {
    block.insts.iter().any(|i| match &i.kind {
        InstKind::Break | InstKind::Continue => true,
        InstKind::Loop { .. } => false,
        other => other.blocks().any(leaves_loop),
    })
}

/// Whether `latch` is the step of a `for` over a range of `counter` up to
/// `end_local`: `counter = i + 1` with `i = get counter`, for `..=` behind `if i ==
/// e { break }` with `e = get end_local`; nothing else but reads and constants.
fn steps_by_one(latch: &Block, counter: LocalId, end_local: LocalId, inclusive: bool) -> bool {
    let mut defs: HashMap<ValueId, &InstKind> = HashMap::default();
    let (last, rest) = match latch.insts.split_last() {
        Some(split) => split,
        None => return false,
    };
    if !pure_reads(rest, &mut defs) {
        return false;
    }
    if !inclusive {
        return adds_one(last, counter, &defs);
    }
    let InstKind::If {
        cond,
        then_block,
        else_block,
    } = &last.kind
    else {
        return false;
    };
    let at_end = matches!(
        defs.get(cond),
        Some(InstKind::Cmp(CmpOp::Eq, i, e))
            if matches!(defs.get(i), Some(InstKind::GetLocal(l)) if *l == counter)
                && matches!(defs.get(e), Some(InstKind::GetLocal(l)) if *l == end_local)
    );
    let stops = matches!(
        then_block.insts.as_slice(),
        [Inst {
            kind: InstKind::Break,
            ..
        }]
    );
    let advances = match else_block.insts.split_last() {
        Some((set, reads)) => pure_reads(reads, &mut defs) && adds_one(set, counter, &defs),
        None => false,
    };
    at_end && stops && advances
}

/// Whether `insts` are only reads of locals, constants, additions and
/// comparisons (recorded in `defs`).
fn pure_reads<'a>(insts: &'a [Inst], defs: &mut HashMap<ValueId, &'a InstKind>) -> bool {
    insts.iter().all(|i| {
        let pure = matches!(
            i.kind,
            InstKind::GetLocal(_)
                | InstKind::Const(_)
                | InstKind::Binary(BinaryOp::Add, _, _)
                | InstKind::Cmp(..)
        );
        if let (true, Some(r)) = (pure, i.result) {
            defs.insert(r, &i.kind);
        }
        pure
    })
}

/// Whether `set` is `counter = i + 1` with `i = get counter` (by `defs`).
fn adds_one(set: &Inst, counter: LocalId, defs: &HashMap<ValueId, &InstKind>) -> bool {
    let InstKind::SetLocal(l, next) = set.kind else {
        return false;
    };
    l == counter
        && matches!(
            defs.get(&next),
            Some(InstKind::Binary(BinaryOp::Add, i, one))
                if matches!(defs.get(i), Some(InstKind::GetLocal(l)) if *l == counter)
                    && matches!(defs.get(one), Some(InstKind::Const(c)) if c.as_i128() == Some(1))
        )
}
