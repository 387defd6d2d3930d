//! Full unrolling of small `for` loops over a constant range.
//!
//! A user's `for i in a..b` (or `a..=b`) whose bounds are constants once inlining
//! and folding are done, and whose trip count and size fit the budget
//! ([`MAX_TRIPS`] iterations, [`MAX_UNROLLED_INSTS`] instructions for all the
//! copies together), becomes its body copied once per iteration, in order: every
//! copy with fresh values, every read of the loop variable replaced by the
//! iteration's constant, so that folding afterwards removes what depended on it
//! (Philox-4x32-10's `if round_index > 0` in `stdlib/random.kern`, whose ten rounds
//! become straight-line code). After the copies the variable's local is set to the
//! value the loop leaves in it. A loop that runs zero times disappears.
//!
//! User loops declare nothing (`counted: None`), so the pass recognises the one
//! shape `lower/body/control_flow.rs` gives a `for` over a range without
//! `step_by`: a header `i = get l; e = get end; c = i < e` (`<=` for `..=`), a
//! latch that sets `l = i + 1` (behind `if i == e { break }` for `..=`), and the
//! two locals set, before the loop in the same block, to constants; or that
//! shape after `passes::licm` hoisted `e = get end` to just before the loop
//! (what a built loop finds in the bodies it inlines). A loop whose
//! body writes either local, or has a `break` or `continue` of its own (not of a
//! loop nested in it), is left alone; a `return` in the body stays a `return`,
//! which leaves the function from the unrolled copies just as from the loop.
//! Inner loops are unrolled first, so an outer loop is judged by its size with
//! its inner loops unrolled.
//!
//! Every copy does exactly what the iteration did, in the same order, with the
//! same spans, traps included; the loop's own control (the header's comparison,
//! the latch's step) computes nothing else and cannot trap. Host code (`main`)
//! runs in the interpreter and is left as it is. This pass knows the IR only.

use std::collections::{HashMap, HashSet};

use super::rename::{operands, remap};
use crate::diagnostics::Span;
use crate::ir::*;

/// Most iterations a loop may have to be unrolled.
pub const MAX_TRIPS: u128 = 16;

/// Most instructions the copies of one loop's body may add up to (the body's
/// instructions, nested blocks included, times the trip count). 600 takes in
/// Philox-4x32-10's ten rounds (ten copies of 49, most of them reads and writes
/// of locals, which Cranelift turns into SSA values) and keeps what Cranelift
/// compiles small: about two inlined `ln`s.
pub const MAX_UNROLLED_INSTS: u128 = 600;

/// Unrolls the small constant-range loops of every function of `program` but `main`.
pub fn unroll_program(program: &mut Program) {
    for f in &mut program.functions {
        if f.kind != FunctionKind::Main {
            unroll_loops(f);
        }
    }
}

/// Unrolls the small constant-range loops of `f`.
pub fn unroll_loops(f: &mut Function) {
    let constants = f
        .body
        .insts_deep()
        .filter_map(|i| match (&i.kind, i.result) {
            (InstKind::Const(c), Some(r)) => Some((r, *c)),
            _ => None,
        })
        .collect();
    let mut body = std::mem::take(&mut f.body);
    Unroller { f, constants }.block(&mut body);
    f.body = body;
}

/// A `for` loop over a constant range, as recognised.
struct ForRange {
    /// The loop variable's local.
    counter: LocalId,
    ty: ScalarType,
    first: i128,
    /// The range's end (included for `..=`).
    last: i128,
    trips: u128,
    /// The header's values: the variable, the end and the loop's condition.
    induction: ValueId,
    end: ValueId,
    cond: ValueId,
}

struct Unroller<'a> {
    f: &'a mut Function,
    /// Every constant of the function, by value.
    constants: HashMap<ValueId, ScalarValue>,
}

impl Unroller<'_> {
    fn block(&mut self, block: &mut Block) {
        let insts = std::mem::take(&mut block.insts);
        for mut inst in insts {
            // Inner loops first.
            for nested in inst.kind.blocks_mut() {
                self.block(nested);
            }
            let Some(range) = self.for_range(&inst, &block.insts) else {
                block.insts.push(inst);
                continue;
            };
            self.unroll(&inst, &range, &mut block.insts);
            if ends_in_terminator(&block.insts) {
                // A copy returned: what followed the loop is unreachable.
                return;
            }
        }
    }

    /// The constant range `inst` loops over, when it is a `for` loop this pass
    /// unrolls; `before` is what precedes it in its block.
    fn for_range(&self, inst: &Inst, before: &[Inst]) -> Option<ForRange> {
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
            InstKind::Cmp(op, a, b)
                if compare.result == Some(*cond) && a == induction && b == end =>
            {
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
        let ty = self
            .f
            .local(counter)
            .ty
            .as_scalar()
            .filter(|t| t.is_int())?;
        let first = self.value_at_entry(before, counter)?.as_i128()?;
        let last = self.value_at_entry(before_end, end_local)?.as_i128()?;
        let trips = match (inclusive, first <= last) {
            (_, false) => 0,
            (false, true) => (last - first) as u128,
            (true, true) => (last - first) as u128 + 1,
        };
        let size = body.insts_deep().count() as u128;
        if trips > MAX_TRIPS || trips * size > MAX_UNROLLED_INSTS {
            return None;
        }
        Some(ForRange {
            counter,
            ty,
            first,
            last,
            trips,
            induction,
            end,
            cond: *cond,
        })
    }

    /// The constant `local` holds after `before` (the instructions preceding a
    /// loop in its block): the value of its last write there, when that is a
    /// constant and nothing after it (nested blocks included) writes it again.
    fn value_at_entry(&self, before: &[Inst], local: LocalId) -> Option<ScalarValue> {
        for inst in before.iter().rev() {
            match &inst.kind {
                InstKind::SetLocal(l, v) if *l == local => return self.constants.get(v).copied(),
                kind if kind.blocks().any(|b| writes(b, &[local])) => return None,
                _ => {}
            }
        }
        None
    }

    /// Appends the copies of the loop `inst`'s body for each iteration of `range`
    /// to `out`, then sets the loop variable to the value the loop leaves in it.
    fn unroll(&mut self, inst: &Inst, range: &ForRange, out: &mut Vec<Inst>) {
        let InstKind::Loop { body, .. } = &inst.kind else {
            return;
        };
        // The header's values the body reads directly (lowering reads the variable
        // through its local, but nothing forbids the header's value).
        let read: HashSet<ValueId> = body.insts_deep().flat_map(|i| operands(&i.kind)).collect();
        let value = |k: u128| ScalarValue::int(range.ty, range.first + k as i128);
        for k in 0..range.trips {
            let mut values = HashMap::new();
            for (v, c) in [
                (range.induction, value(k)),
                (range.end, ScalarValue::int(range.ty, range.last)),
                (range.cond, ScalarValue::Bool(true)),
            ] {
                if read.contains(&v) {
                    let new = self.constant(c, inst.span, out);
                    values.insert(v, new);
                }
            }
            let copy = self.copy_block(body, &mut values, range.counter, value(k));
            out.extend(copy.insts);
            if ends_in_terminator(out) {
                return;
            }
        }
        let exit = if range.trips == 0 {
            range.first
        } else {
            range.last
        };
        let exit = self.constant(ScalarValue::int(range.ty, exit), inst.span, out);
        out.push(Inst {
            result: None,
            kind: InstKind::SetLocal(range.counter, exit),
            span: inst.span,
        });
    }

    /// Appends `c` (a new value) to `out`.
    fn constant(&mut self, c: ScalarValue, span: Span, out: &mut Vec<Inst>) -> ValueId {
        let v = self.new_value(c.ty());
        self.constants.insert(v, c);
        out.push(Inst {
            result: Some(v),
            kind: InstKind::Const(c),
            span,
        });
        v
    }

    fn new_value(&mut self, ty: ScalarType) -> ValueId {
        self.f.value_types.push(ty);
        ValueId(self.f.value_types.len() as u32 - 1)
    }

    /// A copy of `block` with fresh values (`values` maps the old ones to their
    /// copies) and every read of `counter` replaced by the constant `iteration`.
    fn copy_block(
        &mut self,
        block: &Block,
        values: &mut HashMap<ValueId, ValueId>,
        counter: LocalId,
        iteration: ScalarValue,
    ) -> Block {
        let mut out = Vec::with_capacity(block.insts.len());
        for inst in &block.insts {
            let kind = match &inst.kind {
                InstKind::GetLocal(l) if *l == counter => InstKind::Const(iteration),
                InstKind::If {
                    cond,
                    then_block,
                    else_block,
                } => {
                    let then_block = self.copy_block(then_block, values, counter, iteration);
                    let else_block = self.copy_block(else_block, values, counter, iteration);
                    InstKind::If {
                        cond: renamed(values, *cond),
                        then_block,
                        else_block,
                    }
                }
                InstKind::Loop {
                    header,
                    cond,
                    body,
                    latch,
                    counted,
                } => {
                    let header = self.copy_block(header, values, counter, iteration);
                    let body = self.copy_block(body, values, counter, iteration);
                    let latch = self.copy_block(latch, values, counter, iteration);
                    InstKind::Loop {
                        header,
                        cond: cond.map(|c| renamed(values, c)),
                        body,
                        latch,
                        counted: counted.map(|c| CountedLoop {
                            induction: renamed(values, c.induction),
                            step: renamed(values, c.step),
                            ..c
                        }),
                    }
                }
                other => remap(other, |v| renamed(values, *v), |l| *l),
            };
            let result = inst.result.map(|r| {
                let new = self.new_value(self.f.value_type(r));
                values.insert(r, new);
                if let InstKind::Const(c) = kind {
                    self.constants.insert(new, c);
                }
                new
            });
            out.push(Inst {
                result,
                kind,
                span: inst.span,
            });
        }
        Block { insts: out }
    }
}

fn renamed(values: &HashMap<ValueId, ValueId>, v: ValueId) -> ValueId {
    values.get(&v).copied().unwrap_or(v)
}

fn ends_in_terminator(insts: &[Inst]) -> bool {
    insts.last().is_some_and(|i| {
        matches!(
            i.kind,
            InstKind::Break | InstKind::Continue | InstKind::Return(_)
        )
    })
}

/// Whether anything in `block` (nested blocks included) sets one of `locals`.
fn writes(block: &Block, locals: &[LocalId]) -> bool {
    block
        .insts_deep()
        .any(|i| matches!(i.kind, InstKind::SetLocal(l, _) if locals.contains(&l)))
}

/// Whether `block` has a `Break` or `Continue` of the loop it belongs to (not of a
/// loop nested in it).
fn leaves_loop(block: &Block) -> bool {
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
    let mut defs: HashMap<ValueId, &InstKind> = HashMap::new();
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

#[cfg(test)]
mod tests;
