//! Unroll-and-jam of `for` loops over a constant range whose body is
//! straight-line code: the copies of [`JAM`] consecutive iterations run
//! interleaved, instruction by instruction, and what they compute alike is
//! computed once.
//!
//! A batched matmul's `for j in 0..P { s = 0; for k in 0..N { s += a[i][k] *
//! b[k][j] } out[i][j] = s }`, once `passes::unroll` has unrolled `k`, is such a
//! loop: jammed, the copies for `j..j + 8` load `a[i][k]` once, keep eight
//! independent accumulators `s` (each still adding its products in `k`'s order),
//! and store `out[i][j..j + 8]` last. The copies of one instruction end up
//! side by side, which is what the Cranelift backend runs as lanes of vectors
//! (its lane groups: neighbouring columns, two `f64` at a time); LLVM's SLP
//! vectoriser turns the eight chains into vector operations, which it could
//! not do across the loop's iterations (each stored before the next one
//! loaded).
//!
//! A loop is jammed when [`super::for_range`] recognises it as a `for` over
//! `first..last` (not `..=`) with at least two iterations, its body is at most
//! [`MAX_JAMMED_INSTS`] instructions once copied, and its iterations are
//! independent in a way that lets them interleave ([`interleavable`]):
//!
//! - the body is straight-line code that cannot trap: reads and writes of
//!   locals, pure operations (no integer division), unchecked loads and
//!   stores — no call, no `if`, no loop, no assertion, no print;
//! - no local carries a value from one iteration to the next: the body writes a
//!   local before it reads it (copies but the last get fresh locals; the last
//!   keeps the originals, so the loop leaves in them what it left before);
//! - interleaving moves an access of a later iteration before the accesses of an
//!   earlier one that come after it in the body; so any two accesses at two
//!   places of the body, one of them a store, must address arrays known never to
//!   share memory: the input and the output of a gufunc loop (see
//!   [`FunctionKind::GufuncLoop`]). One store's copies stay in iteration order,
//!   so the last write of an element is the one it was. A body that stores into
//!   an array it also reads (`out[j] = out[j - 1] + x`) is never jammed.
//!
//! Copy `c` reads the loop variable as `j + c`. A loop of at most
//! [`MAX_STRAIGHT_TRIPS`] iterations becomes groups of `JAM` copies (the last
//! group the rest) with the variable a constant in each, like an unrolled loop;
//! a longer one becomes a loop stepping by `JAM` over the first
//! `trips / JAM * JAM` iterations, followed by the original loop, which runs the
//! rest from where the jammed loop left the variable. An instruction of a later
//! copy that is the same pure instruction on the same operands as the first
//! copy's (a constant, a read of a local the body never writes, a load from an
//! array the body never stores into, arithmetic on those) is not repeated: its
//! value is the first copy's.
//!
//! Every iteration computes the same operations on the same operands as
//! before, so the same bits; only the order of independent operations changes.
//! This pass knows the IR only.

use crate::collections::{HashMap, HashSet};

use super::for_range::{constants, for_range, ForRange};
use super::licm::movable_operands;
use super::rename::{operands, remap};
use crate::diagnostics::Span;
use crate::ir::*;

/// How many iterations run interleaved: eight `f64` accumulators fill an
/// AVX-512 register, two AVX2 or four SSE ones.
pub const JAM: u128 = 8;

/// Most iterations a loop may have to become groups of jammed copies with the
/// variable a constant in each (no loop left); a longer loop becomes a loop
/// stepping by [`JAM`]. Constant indices are what the Cranelift tier
/// addresses best (a constant offset from the operand's sub-array).
pub const MAX_STRAIGHT_TRIPS: u128 = 2 * JAM;

/// Most instructions the copies of one jammed body may add up to (before the
/// copies share what they compute alike): a 16-long dot product (`k`
/// unrolled) is about 130.
pub const MAX_JAMMED_INSTS: u128 = 1600;

/// Jams the loops of `f` that qualify (see the module docs), innermost first.
pub fn jam_loops(f: &mut Function) {
    let constants = constants(f);
    let mut body = std::mem::take(&mut f.body);
    Jammer { f, constants }.block(&mut body);
    f.body = body;
}

struct Jammer<'a> {
    f: &'a mut Function,
    /// Every constant of the function, by value.
    constants: HashMap<ValueId, ScalarValue>,
}

impl Jammer<'_> {
    fn block(&mut self, block: &mut Block) {
        let insts = std::mem::take(&mut block.insts);
        for mut inst in insts {
            for nested in inst.kind.blocks_mut() {
                self.block(nested);
            }
            match self.jammable(&inst, &block.insts) {
                Some((range, factor)) => self.jam(inst, &range, factor, &mut block.insts),
                None => block.insts.push(inst),
            }
        }
    }

    /// The range of the loop `inst` and how many of its iterations to
    /// interleave, when it qualifies; `before` is what precedes it in its block.
    fn jammable(&self, inst: &Inst, before: &[Inst]) -> Option<(ForRange, u128)> {
        let range = for_range(self.f, &self.constants, inst, before)?;
        let InstKind::Loop { body, .. } = &inst.kind else {
            return None;
        };
        let factor = factor(&range);
        takes(self.f, body, &range).then_some((range, factor))
    }

    /// Appends to `out` what replaces the loop `inst`: its jammed copies, then
    /// the loop itself for the iterations they leave.
    fn jam(&mut self, inst: Inst, range: &ForRange, factor: u128, out: &mut Vec<Inst>) {
        let InstKind::Loop { body, .. } = &inst.kind else {
            return;
        };
        let span = inst.span;
        let jammed = range.trips / factor * factor;
        let value = |k: u128| ScalarValue::int(range.ty, range.first + k as i128);
        if range.trips <= MAX_STRAIGHT_TRIPS {
            // Groups of `factor` copies (the last one of the rest), the
            // variable a constant in each: no loop is left.
            let mut k = 0;
            while k < range.trips {
                let group = factor.min(range.trips - k);
                let counters: Vec<ValueId> = (k..k + group)
                    .map(|c| self.constant(value(c), span, out))
                    .collect();
                self.copies(body, range, &counters, out);
                k += group;
            }
            let exit = self.constant(value(range.trips), span, out);
            out.push(inst_at(span, None, InstKind::SetLocal(range.counter, exit)));
            return;
        }
        // for (j = first; j < first + jammed; j += factor) { copies of j..j + factor }
        let mut header = Vec::new();
        let iv = self.new_value(range.ty);
        header.push(inst_at(span, Some(iv), InstKind::GetLocal(range.counter)));
        let end = self.constant(value(jammed), span, &mut header);
        let cond = self.new_value(ScalarType::Bool);
        header.push(inst_at(span, Some(cond), InstKind::Cmp(CmpOp::Lt, iv, end)));
        let mut copies = Vec::new();
        let mut counters = vec![iv];
        for c in 1..factor {
            let offset = self.constant(ScalarValue::int(range.ty, c as i128), span, &mut copies);
            let next = self.new_value(range.ty);
            let add = InstKind::Binary(BinaryOp::Add, iv, offset);
            copies.push(inst_at(span, Some(next), add));
            counters.push(next);
        }
        self.copies(body, range, &counters, &mut copies);
        let mut latch = Vec::new();
        let step = self.constant(ScalarValue::int(range.ty, factor as i128), span, &mut latch);
        let next = self.new_value(range.ty);
        latch.push(inst_at(
            span,
            Some(next),
            InstKind::Binary(BinaryOp::Add, iv, step),
        ));
        latch.push(inst_at(span, None, InstKind::SetLocal(range.counter, next)));
        out.push(inst_at(
            span,
            None,
            InstKind::Loop {
                header: Block { insts: header },
                cond: Some(cond),
                body: Block { insts: copies },
                latch: Block { insts: latch },
                counted: None,
            },
        ));
        if jammed < range.trips {
            out.push(inst);
        }
    }

    /// Appends to `out` the copies of `body` for the iterations whose loop
    /// variable is `counters[c]`, interleaved instruction by instruction; a
    /// later copy's instruction that repeats the first copy's pure one is left
    /// out, its value the first copy's.
    fn copies(
        &mut self,
        body: &Block,
        range: &ForRange,
        counters: &[ValueId],
        out: &mut Vec<Inst>,
    ) {
        let written = body.written_locals();
        let stored: HashSet<LocalId> = body
            .insts
            .iter()
            .filter_map(|i| match i.kind {
                InstKind::Store { array, .. } => Some(array),
                _ => None,
            })
            .collect();
        // In a fixed order, so that the same loop always gets the same locals.
        let mut renamed: Vec<LocalId> = written.iter().copied().collect();
        renamed.sort();
        let last = counters.len() - 1;
        let locals: Vec<HashMap<LocalId, LocalId>> = (0..counters.len())
            .map(|c| match c == last {
                true => HashMap::default(),
                false => renamed.iter().map(|&l| (l, self.fresh_local(l))).collect(),
            })
            .collect();
        let mut values: Vec<HashMap<ValueId, ValueId>> = counters
            .iter()
            .map(|&counter| HashMap::from_iter([(range.induction, counter)]))
            .collect();
        for inst in &body.insts {
            let mut first: Option<(InstKind, Option<ValueId>)> = None;
            for (c, values) in values.iter_mut().enumerate() {
                if let (InstKind::GetLocal(l), Some(r)) = (&inst.kind, inst.result) {
                    if *l == range.counter {
                        values.insert(r, counters[c]);
                        continue;
                    }
                }
                let kind = remap(
                    &inst.kind,
                    |v| values.get(v).copied().unwrap_or(*v),
                    |l| locals[c].get(l).copied().unwrap_or(*l),
                );
                if let (Some((repeated, Some(same))), Some(r)) = (&first, inst.result) {
                    let pure = movable_operands(self.f, &kind, &written).is_some()
                        || matches!(kind, InstKind::Load { array, .. } if !stored.contains(&array));
                    if *repeated == kind && pure {
                        values.insert(r, *same);
                        continue;
                    }
                }
                let result = inst.result.map(|r| {
                    let new = self.new_value(self.f.value_type(r));
                    values.insert(r, new);
                    new
                });
                if c == 0 {
                    first = Some((kind.clone(), result));
                }
                out.push(inst_at(inst.span, result, kind));
            }
        }
    }

    /// Appends `c` (a new value) to `out`.
    fn constant(&mut self, c: ScalarValue, span: Span, out: &mut Vec<Inst>) -> ValueId {
        let v = self.new_value(c.ty());
        self.constants.insert(v, c);
        out.push(inst_at(span, Some(v), InstKind::Const(c)));
        v
    }

    fn new_value(&mut self, ty: ScalarType) -> ValueId {
        self.f.value_types.push(ty);
        ValueId(self.f.value_types.len() as u32 - 1)
    }

    /// A new local like `l`.
    fn fresh_local(&mut self, l: LocalId) -> LocalId {
        let local = self.f.local(l).clone();
        self.f.locals.push(local);
        LocalId(self.f.locals.len() as u32 - 1)
    }
}

/// How many iterations of a loop over `range` run interleaved.
fn factor(range: &ForRange) -> u128 {
    range.trips.min(JAM)
}

/// Whether this pass jams a loop over `range` (a `for` over a constant range,
/// [`super::for_range`]) whose body is `body`: what the unroller leaves to it
/// in a specialised gufunc loop, where jamming also shares what the
/// iterations compute alike.
pub(crate) fn takes(f: &Function, body: &Block, range: &ForRange) -> bool {
    let factor = factor(range);
    let size = body.insts.len() as u128;
    let fits = !range.inclusive && factor >= 2 && factor * size <= MAX_JAMMED_INSTS;
    fits && interleavable(f, body, range)
}

fn inst_at(span: Span, result: Option<ValueId>, kind: InstKind) -> Inst {
    Inst { result, kind, span }
}

/// Whether the iterations of the loop over `range` whose body is `body` may run
/// interleaved (the conditions of the module docs): straight-line code that
/// cannot trap, no local carried from one iteration to the next, and any two
/// accesses at two places of the body, one of them a store, to arrays that
/// never share memory.
fn interleavable(f: &Function, body: &Block, range: &ForRange) -> bool {
    let written = body.written_locals();
    let mut set = HashSet::default();
    let mut accesses: Vec<(LocalId, bool)> = Vec::new();
    let none = HashSet::default();
    for inst in &body.insts {
        // The header's end and condition are the loop's own (its variable is
        // copied as `j + c`).
        if operands(&inst.kind)
            .iter()
            .any(|&v| v == range.end || v == range.cond)
        {
            return false;
        }
        match &inst.kind {
            InstKind::SetLocal(l, _) => {
                set.insert(*l);
            }
            InstKind::GetLocal(l) => {
                if written.contains(l) && !set.contains(l) {
                    return false;
                }
            }
            InstKind::Load {
                array,
                checked: false,
                ..
            } => accesses.push((*array, false)),
            InstKind::Store {
                array,
                checked: false,
                ..
            } => accesses.push((*array, true)),
            kind if movable_operands(f, kind, &none).is_some() => {}
            _ => return false,
        }
    }
    accesses.iter().enumerate().all(|(p, &(x, x_stores))| {
        accesses[p + 1..]
            .iter()
            .all(|&(y, y_stores)| !(x_stores || y_stores) || disjoint(f, x, y))
    })
}

/// Whether the arrays `x` and `y` never share memory: in a gufunc loop, an input
/// and an output (the runtime copies an input that shares memory with an output
/// first; [`FunctionKind::GufuncLoop`]).
fn disjoint(f: &Function, x: LocalId, y: LocalId) -> bool {
    let param = |l: LocalId| f.params.iter().any(|p| p.local == l);
    let mutable = |l: LocalId| matches!(f.local(l).ty, Type::Array(a) if a.mutable);
    matches!(f.kind, FunctionKind::GufuncLoop { .. })
        && param(x)
        && param(y)
        && mutable(x) != mutable(y)
}

#[cfg(test)]
mod tests;
