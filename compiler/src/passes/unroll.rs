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
//! Such a loop is recognised by [`super::for_range`] (the shape lowering gives
//! a `for` over a range; a body with a `break` or `continue` of its own is not
//! one); a `return` in the body stays a `return`,
//! which leaves the function from the unrolled copies just as from the loop.
//! Inner loops are unrolled first, so an outer loop is judged by its size with
//! its inner loops unrolled.
//!
//! Every copy does exactly what the iteration did, in the same order, with the
//! same spans, traps included; the loop's own control (the header's comparison,
//! the latch's step) computes nothing else and cannot trap. Host code (`main`)
//! runs in the interpreter and is left as it is. This pass knows the IR only.

use crate::collections::{HashMap, HashSet};

use super::for_range::ForRange;
use super::for_range::{constants, for_range};
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
    unroll_loops_but(f, &|_, _, _| false);
}

/// Unrolls the small constant-range loops of `f` but those `keep(f, body,
/// range)` holds for (a loop the caller will jam: [`super::jam::takes`]).
pub(crate) fn unroll_loops_but(f: &mut Function, keep: &Keep) {
    let constants = constants(f);
    let mut body = std::mem::take(&mut f.body);
    Unroller { f, constants, keep }.block(&mut body);
    f.body = body;
}

/// Which loops [`unroll_loops_but`] leaves: given the function, the loop's body
/// and its range.
pub(crate) type Keep = dyn Fn(&Function, &Block, &ForRange) -> bool;

struct Unroller<'a> {
    f: &'a mut Function,
    /// Every constant of the function, by value.
    constants: HashMap<ValueId, ScalarValue>,
    keep: &'a Keep,
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
    /// unrolls (within the budget); `before` is what precedes it in its block.
    fn for_range(&self, inst: &Inst, before: &[Inst]) -> Option<ForRange> {
        let range = for_range(self.f, &self.constants, inst, before)?;
        let InstKind::Loop { body, .. } = &inst.kind else {
            return None;
        };
        let size = body.insts_deep().count() as u128;
        let fits = range.trips <= MAX_TRIPS && range.trips * size <= MAX_UNROLLED_INSTS;
        (fits && !(self.keep)(self.f, body, &range)).then_some(range)
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
            let mut values = HashMap::default();
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

#[cfg(test)]
mod tests;
