//! Common subexpressions: a pure instruction that repeats one whose value is
//! visible where it stands — the same operation on the same operands, a
//! constant operand counted by its value — is that value; and an integer
//! operation with a neutral operand (`x + 0`, `x ^ 0`, `x * 1`, `x << 0` …) is
//! its other operand. Its uses read that value and the instruction is gone.
//!
//! What it is for: two inlined calls of one function on the same arguments
//! (`random::uniform(seed, 2 * i)` and `(seed, 2 * i + 1)` both compute
//! Philox's key schedule from `seed`) repeat each other's work, which loop-
//! invariant code motion then hoists twice, and the first round of Philox
//! xors with the constant 0.
//!
//! Pure is what [`super::licm`] may move of instructions on values: unary and
//! binary operations (not an integer division or remainder, which can trap),
//! comparisons, casts, bit casts, selects and intrinsics; never a constant itself (a backend may give
//! one its own meaning: the GPU's grid-stride step), a read of a local or an
//! array, a call. Identities are integer-only: `x + 0.0` is not `x` for `x =
//! -0.0`, and `x * 1.0` quiets a signalling NaN.
//!
//! Where a value is visible: after it in its block and in the blocks nested
//! there, so a block sees what its enclosing blocks computed before it and
//! nothing its own nested blocks computed. Every replaced instruction computed
//! the bits of the value it is replaced by, so no result changes. This pass
//! knows the IR only.

use crate::collections::HashMap;

use crate::ir::*;

/// Removes the common subexpressions of every function of `program`.
pub fn eliminate_program(program: &mut Program) {
    for f in &mut program.functions {
        eliminate(f);
    }
}

/// Removes the common subexpressions of `f` (see the module docs).
pub fn eliminate(f: &mut Function) {
    super::replace_found(f, |f, body| {
        let mut numbering = Numbering {
            f,
            constants: HashMap::default(),
            seen: vec![HashMap::default()],
            replaced: HashMap::default(),
        };
        numbering.block(body);
        numbering.replaced
    });
}

/// An operand as the numbering compares it: a constant by its type and bits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Operand {
    Value(ValueId),
    Const(ScalarType, u64),
}

/// A pure instruction as the numbering compares it.
#[derive(PartialEq, Eq, Hash)]
enum Key {
    Unary(UnaryOp, Operand),
    Binary(BinaryOp, Operand, Operand),
    Cmp(CmpOp, Operand, Operand),
    Cast(Operand, ScalarType),
    Bitcast(Operand, ScalarType),
    Select(Operand, Operand, Operand),
    Intrinsic(Intrinsic, Vec<Operand>),
}

struct Numbering<'a> {
    f: &'a Function,
    /// Every constant met so far, by its type and bits.
    constants: HashMap<ValueId, (ScalarType, u64)>,
    /// The instructions visible so far, one table per enclosing block,
    /// innermost last.
    seen: Vec<HashMap<Key, ValueId>>,
    /// The value each removed instruction's result is.
    replaced: HashMap<ValueId, ValueId>,
}

impl Numbering<'_> {
    fn block(&mut self, block: &mut Block) {
        let insts = std::mem::take(&mut block.insts);
        block.insts.reserve_exact(insts.len());
        for mut inst in insts {
            for nested in inst.kind.blocks_mut() {
                self.seen.push(HashMap::default());
                self.block(nested);
                self.seen.pop();
            }
            // A constant is defined before every use (in the walk's order too).
            if let (InstKind::Const(c), Some(r)) = (&inst.kind, inst.result) {
                self.constants.insert(r, (c.ty(), c.to_bits()));
            }
            if let Some(r) = inst.result {
                if let Some(v) = self.number(&inst.kind, r) {
                    self.replaced.insert(r, v);
                    continue;
                }
            }
            block.insts.push(inst);
        }
    }

    /// The value already computed that `kind` (with result `r`) is, if any;
    /// otherwise records it when it is pure.
    fn number(&mut self, kind: &InstKind, r: ValueId) -> Option<ValueId> {
        let op = |v: &ValueId| self.operand(*v);
        let key = match kind {
            InstKind::Unary(o, a) => Key::Unary(*o, op(a)),
            // An integer division or remainder can trap.
            InstKind::Binary(BinaryOp::Div | BinaryOp::Rem, a, _)
                if !self.f.value_type(*a).is_float() =>
            {
                return None
            }
            InstKind::Binary(o, a, b) => {
                if let Some(same) = self.identity(*o, *a, *b) {
                    return Some(same);
                }
                Key::Binary(*o, op(a), op(b))
            }
            InstKind::Cmp(o, a, b) => Key::Cmp(*o, op(a), op(b)),
            InstKind::Cast(a, t) => Key::Cast(op(a), *t),
            InstKind::Bitcast(a, t) => Key::Bitcast(op(a), *t),
            InstKind::Select {
                cond,
                if_true,
                if_false,
            } => Key::Select(op(cond), op(if_true), op(if_false)),
            InstKind::Intrinsic(i, args) => Key::Intrinsic(*i, args.iter().map(op).collect()),
            _ => return None,
        };
        if let Some(&v) = self.seen.iter().rev().find_map(|table| table.get(&key)) {
            return Some(v);
        }
        self.seen
            .last_mut()
            .expect("a table per open block")
            .insert(key, r);
        None
    }

    /// `v`, or the value it replaced, as an operand.
    fn operand(&self, v: ValueId) -> Operand {
        let v = *self.replaced.get(&v).unwrap_or(&v);
        match self.constants.get(&v) {
            Some(&(ty, bits)) => Operand::Const(ty, bits),
            None => Operand::Value(v),
        }
    }

    /// The operand `a op b` is when the other is neutral (integers only).
    fn identity(&self, op: BinaryOp, a: ValueId, b: ValueId) -> Option<ValueId> {
        let (a, b) = (
            *self.replaced.get(&a).unwrap_or(&a),
            *self.replaced.get(&b).unwrap_or(&b),
        );
        let ty = self.f.value_type(a);
        if !ty.is_int() {
            return None;
        }
        let is = |v: ValueId, n: u64| self.constants.get(&v).is_some_and(|&(_, bits)| bits == n);
        use BinaryOp::*;
        match op {
            Add | Sub | Or | Xor | Shl | Shr if is(b, 0) => Some(a),
            Add | Or | Xor if is(a, 0) => Some(b),
            Mul if is(b, 1) => Some(a),
            Mul if is(a, 1) => Some(b),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests;
