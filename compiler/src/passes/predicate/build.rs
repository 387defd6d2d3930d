//! The builder of a [`Predicated`] body: hash-consing (one value per distinct pure
//! operation, so the four inlined copies of a kernel that if-conversion computes
//! side by side collapse into one), constant folding with the shared scalar
//! semantics of `ir::eval` (never folding a trap), the Boolean identities that keep
//! lane masks small, and dead-value removal with renumbering at the end.
//!
//! It knows only the predicated form; walking the structured IR is `walk.rs`'s job,
//! and nothing here may know a lane count or vector type.

use crate::collections::HashMap;

use super::{Guard, PInst, PValue, Predicated};
use crate::diagnostics::Span;
use crate::ir::eval::{eval_binary, eval_bitcast, eval_cast, eval_cmp, eval_intrinsic, eval_unary};
use crate::ir::{BinaryOp, CmpOp, ConstTable, ScalarType, ScalarValue, UnaryOp};

/// Accumulates the values of one predicated body.
pub(super) struct Builder<'p> {
    tables: &'p [ConstTable],
    insts: Vec<PInst>,
    types: Vec<ScalarType>,
    spans: Vec<Span>,
    memo: HashMap<PInst, PValue>,
    /// Span given to the next new value.
    pub span: Span,
}

impl<'p> Builder<'p> {
    pub fn new(tables: &'p [ConstTable]) -> Builder<'p> {
        Builder {
            tables,
            insts: Vec::new(),
            types: Vec::new(),
            spans: Vec::new(),
            memo: HashMap::default(),
            span: Span::default(),
        }
    }

    pub fn table(&self, id: crate::ir::ConstTableId) -> Option<&ConstTable> {
        self.tables.get(id.0 as usize)
    }

    pub fn ty(&self, v: PValue) -> ScalarType {
        self.types[v.0 as usize]
    }

    pub fn as_const(&self, v: PValue) -> Option<ScalarValue> {
        match self.insts[v.0 as usize] {
            PInst::Const { ty, bits } => Some(ScalarValue::from_bits(ty, bits)),
            _ => None,
        }
    }

    pub fn is_true(&self, v: PValue) -> bool {
        self.as_const(v) == Some(ScalarValue::Bool(true))
    }

    pub fn is_false(&self, v: PValue) -> bool {
        self.as_const(v) == Some(ScalarValue::Bool(false))
    }

    pub fn constant(&mut self, value: ScalarValue) -> PValue {
        self.intern(
            PInst::Const {
                ty: value.ty(),
                bits: value.to_bits(),
            },
            value.ty(),
        )
    }

    pub fn bool(&mut self, b: bool) -> PValue {
        self.constant(ScalarValue::Bool(b))
    }

    fn intern(&mut self, inst: PInst, ty: ScalarType) -> PValue {
        if let Some(v) = self.memo.get(&inst) {
            return *v;
        }
        let v = PValue(self.insts.len() as u32);
        self.insts.push(inst.clone());
        self.types.push(ty);
        self.spans.push(self.span);
        self.memo.insert(inst, v);
        v
    }

    /// Adds `inst` (of result type `ty`), folded when its operands are constants.
    pub fn push(&mut self, inst: PInst, ty: ScalarType) -> PValue {
        let inst = if ty.is_float() { inst } else { canonical(inst) };
        if let Some(folded) = self.fold(&inst) {
            return folded;
        }
        self.intern(inst, ty)
    }

    fn fold(&mut self, inst: &PInst) -> Option<PValue> {
        if let PInst::Binary(op, a, b) = inst {
            if self.ty(*a) == ScalarType::Bool {
                if let Some(v) = self.fold_logic(*op, *a, *b) {
                    return Some(v);
                }
            }
        }
        let c = |v: &PValue| self.as_const(*v);
        let value = match inst {
            PInst::Unary(op, a) => {
                if let PInst::Unary(inner, x) = &self.insts[a.0 as usize] {
                    // not(not x), neg(neg x): exact for every type (floats flip a bit).
                    if inner == op {
                        return Some(*x);
                    }
                }
                eval_unary(*op, c(a)?)
            }
            PInst::Binary(op, a, b) => eval_binary(*op, c(a)?, c(b)?).ok()?,
            PInst::Cmp(op, a, b) => ScalarValue::Bool(eval_cmp(*op, c(a)?, c(b)?)),
            PInst::Cast(a, to) => {
                if self.ty(*a) == *to {
                    return Some(*a);
                }
                eval_cast(c(a)?, *to)
            }
            PInst::Bitcast(a, to) => {
                if self.ty(*a) == *to {
                    return Some(*a);
                }
                eval_bitcast(c(a)?, *to)
            }
            PInst::Select {
                cond,
                if_true,
                if_false,
            } => {
                if if_true == if_false {
                    return Some(*if_true);
                }
                if self.ty(*if_true) == ScalarType::Bool {
                    // Selects of bools (from `||`, `&&` and `if` expressions) as logic.
                    let (c, t, f) = (*cond, *if_true, *if_false);
                    let negated = match &self.insts[c.0 as usize] {
                        PInst::Unary(UnaryOp::Not, x) => Some(*x),
                        _ => None,
                    };
                    if t == c {
                        return Some(self.or(c, f)); // c ? c : f
                    }
                    if f == c {
                        return Some(self.and(c, t)); // c ? t : c
                    }
                    if negated == Some(f) {
                        return Some(self.or(f, t)); // !f ? t : f
                    }
                    if negated == Some(t) {
                        return Some(self.and(t, f)); // !t ? t : f
                    }
                }
                match c(cond)? {
                    ScalarValue::Bool(true) => return Some(*if_true),
                    _ => return Some(*if_false),
                }
            }
            PInst::Intrinsic(op, args) => {
                let args: Option<Vec<ScalarValue>> = args.iter().map(c).collect();
                eval_intrinsic(*op, &args?)
            }
            PInst::LoadConst { table, index } => {
                let i = c(index)?.as_i128()?;
                let t = self.tables.get(table.0 as usize)?;
                *t.values.get(usize::try_from(i).ok()?)?
            }
            PInst::Param(_) | PInst::Const { .. } => return None,
        };
        Some(self.constant(value))
    }

    /// Boolean identities for `and`/`or`/`xor` on masks.
    fn fold_logic(&mut self, op: BinaryOp, a: PValue, b: PValue) -> Option<PValue> {
        let (ca, cb) = (self.as_const(a), self.as_const(b));
        let t = ScalarValue::Bool(true);
        let f = ScalarValue::Bool(false);
        match op {
            BinaryOp::And if ca == Some(t) => Some(b),
            BinaryOp::And if cb == Some(t) => Some(a),
            BinaryOp::And if ca == Some(f) || cb == Some(f) => Some(self.bool(false)),
            BinaryOp::And | BinaryOp::Or if a == b => Some(a),
            BinaryOp::Or if ca == Some(f) => Some(b),
            BinaryOp::Or if cb == Some(f) => Some(a),
            BinaryOp::Or if ca == Some(t) || cb == Some(t) => Some(self.bool(true)),
            BinaryOp::Xor if ca == Some(f) => Some(b),
            BinaryOp::Xor if cb == Some(f) => Some(a),
            _ => None,
        }
    }

    pub fn and(&mut self, a: PValue, b: PValue) -> PValue {
        self.push(PInst::Binary(BinaryOp::And, a, b), ScalarType::Bool)
    }

    pub fn or(&mut self, a: PValue, b: PValue) -> PValue {
        self.push(PInst::Binary(BinaryOp::Or, a, b), ScalarType::Bool)
    }

    pub fn not(&mut self, a: PValue) -> PValue {
        self.push(PInst::Unary(UnaryOp::Not, a), ScalarType::Bool)
    }

    pub fn cmp(&mut self, op: CmpOp, a: PValue, b: PValue) -> PValue {
        self.push(PInst::Cmp(op, a, b), ScalarType::Bool)
    }

    pub fn select(&mut self, cond: PValue, if_true: PValue, if_false: PValue) -> PValue {
        let ty = self.ty(if_true);
        self.push(
            PInst::Select {
                cond,
                if_true,
                if_false,
            },
            ty,
        )
    }

    /// The finished body: only the values the result and the guards depend on, in
    /// their original (topological) order, renumbered densely.
    pub fn finish(
        self,
        name: String,
        params: Vec<ScalarType>,
        ret: ScalarType,
        result: PValue,
        guards: Vec<Guard>,
    ) -> Predicated {
        let mut live = vec![false; self.insts.len()];
        live[result.0 as usize] = true;
        for g in &guards {
            live[g.when.0 as usize] = true;
        }
        for i in (0..self.insts.len()).rev() {
            if live[i] {
                self.insts[i].for_each_operand(|v| live[v.0 as usize] = true);
            }
        }
        let mut renumber = vec![PValue(u32::MAX); self.insts.len()];
        let mut out = Predicated {
            name,
            params,
            ret,
            insts: Vec::new(),
            types: Vec::new(),
            spans: Vec::new(),
            result,
            guards: Vec::new(),
        };
        for (i, inst) in self.insts.into_iter().enumerate() {
            if !live[i] {
                continue;
            }
            renumber[i] = PValue(out.insts.len() as u32);
            out.insts
                .push(inst.map_operands(|v| renumber[v.0 as usize]));
            out.types.push(self.types[i]);
            out.spans.push(self.spans[i]);
        }
        out.result = renumber[result.0 as usize];
        out.guards = guards
            .into_iter()
            .map(|g| Guard {
                when: renumber[g.when.0 as usize],
                ..g
            })
            .collect();
        out
    }
}

/// Orders the operands of commutative integer and logic operations so that
/// hash-consing sees `a & b` and `b & a` as one value. Only called for non-float
/// results: float operations keep their order (which NaN operand a result
/// propagates depends on it on x86).
fn canonical(inst: PInst) -> PInst {
    match inst {
        PInst::Binary(
            op @ (BinaryOp::And | BinaryOp::Or | BinaryOp::Xor | BinaryOp::Add | BinaryOp::Mul),
            a,
            b,
        ) if b < a => PInst::Binary(op, b, a),
        other => other,
    }
}
