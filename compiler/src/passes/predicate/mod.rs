//! If-conversion: an element function (scalar parameters, one result, no arrays)
//! rewritten as one straight-line, branch-free body that computes every element
//! of a group of lanes at once — the target-neutral half of SIMD code generation.
//!
//! It owns the decision *whether* a body can run lane-parallel and the
//! transformation into [`Predicated`] form; it must not know any vector type,
//! lane count or instruction set (that is the backend's business, e.g.
//! `backend/cranelift/vector.rs`).
//!
//! # The predicated form
//!
//! A [`Predicated`] body is a list of pure SSA operations ([`PInst`]) on scalar
//! types; a backend evaluates each of them for all lanes of a group. Control flow
//! is gone:
//!
//! * **If**: both branches are computed; every local carries one value per lane,
//!   and `SetLocal` under a condition becomes `select(cond, new, old)` where `cond`
//!   covers the lanes executing the assignment, minus any condition whose
//!   excluded lanes can no longer observe the local (so an inlined callee's
//!   parameters and locals are usually assigned without a select).
//! * **Early exits**: `Return` and `Break` out of a *one-shot* loop (a loop whose
//!   body can never reach its latch, such as the inliner's call wrapper) remove
//!   the executing lanes from the active mask until the loop (or the function)
//!   ends, so later assignments leave their values alone. `Return` merges its value
//!   into the result under the same mask.
//! * **Traps**: integer `Div`/`Rem` get a divisor that is never zero and never
//!   `-1` against `MIN` (`select(unsafe, 1, b)`), `LoadConst` an index that is
//!   always in range (`select(out_of_range, 0, i)`), so every operation is safe
//!   to execute on every lane, also on lanes that did not take the branch. The
//!   condition "an *active* lane would trap here" becomes a [`Guard`].
//! * **What cannot be vectorised** — a real loop (with a back edge), a call that
//!   was not inlined, `print!` — becomes a guard on the mask of lanes reaching it,
//!   and is otherwise skipped; an `if` branch containing one is guarded and
//!   skipped as a whole (sin's Payne–Hanek reduction costs the vector code
//!   nothing).
//!
//! The form is hash-consed and constant-folded (`build.rs`): the copies of a
//! kernel that inlining and both-branches evaluation produce are computed once.
//! [`schedule`] orders it into regions a backend may skip when no lane needs them.
//!
//! A backend runs a group lane-parallel only when no guard holds on any lane; if
//! one does, it must run the group with the original scalar code instead,
//! element by element, so traps and side effects happen exactly as the IR says.
//! When a guard holds for every lane unconditionally, the body is rejected
//! ([`NotVectorisable::AlwaysScalar`]): the vector path would never be taken.

mod build;
pub mod schedule;
mod shape;
mod walk;

use std::fmt;

use crate::diagnostics::Span;
use crate::ir::*;

/// A value of a predicated body: index into [`Predicated::insts`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PValue(pub u32);

/// One lane-parallel operation. Operands are earlier values; all semantics are
/// those of the IR instruction of the same name (`ir/mod.rs`), applied per lane,
/// except that none of them can trap (see the module docs).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum PInst {
    /// Parameter `k` of the element function: the lane's element of input `k`.
    Param(u32),
    /// The same constant on every lane (bits as in `ScalarValue::to_bits`).
    Const {
        ty: ScalarType,
        bits: u64,
    },
    Unary(UnaryOp, PValue),
    /// Integer `Div`/`Rem` here never see a zero divisor or `MIN / -1`.
    Binary(BinaryOp, PValue, PValue),
    Cmp(CmpOp, PValue, PValue),
    Cast(PValue, ScalarType),
    Bitcast(PValue, ScalarType),
    Select {
        cond: PValue,
        if_true: PValue,
        if_false: PValue,
    },
    Intrinsic(Intrinsic, Vec<PValue>),
    /// The index is always below the table's length (which is never zero).
    LoadConst {
        table: ConstTableId,
        index: PValue,
    },
}

impl PInst {
    pub fn for_each_operand(&self, mut f: impl FnMut(PValue)) {
        match self {
            PInst::Param(_) | PInst::Const { .. } => {}
            PInst::Unary(_, a) | PInst::Cast(a, _) | PInst::Bitcast(a, _) => f(*a),
            PInst::Binary(_, a, b) | PInst::Cmp(_, a, b) => {
                f(*a);
                f(*b);
            }
            PInst::Select {
                cond,
                if_true,
                if_false,
            } => {
                f(*cond);
                f(*if_true);
                f(*if_false);
            }
            PInst::Intrinsic(_, args) => args.iter().copied().for_each(f),
            PInst::LoadConst { index, .. } => f(*index),
        }
    }

    pub fn map_operands(&self, mut f: impl FnMut(PValue) -> PValue) -> PInst {
        match self {
            PInst::Param(k) => PInst::Param(*k),
            PInst::Const { ty, bits } => PInst::Const {
                ty: *ty,
                bits: *bits,
            },
            PInst::Unary(op, a) => PInst::Unary(*op, f(*a)),
            PInst::Cast(a, t) => PInst::Cast(f(*a), *t),
            PInst::Bitcast(a, t) => PInst::Bitcast(f(*a), *t),
            PInst::Binary(op, a, b) => PInst::Binary(*op, f(*a), f(*b)),
            PInst::Cmp(op, a, b) => PInst::Cmp(*op, f(*a), f(*b)),
            PInst::Select {
                cond,
                if_true,
                if_false,
            } => PInst::Select {
                cond: f(*cond),
                if_true: f(*if_true),
                if_false: f(*if_false),
            },
            PInst::Intrinsic(op, args) => {
                PInst::Intrinsic(*op, args.iter().map(|a| f(*a)).collect())
            }
            PInst::LoadConst { table, index } => PInst::LoadConst {
                table: *table,
                index: f(*index),
            },
        }
    }

    /// The IR instruction that computes this one for a single element: operands
    /// become `value(operand)`, and `Param(k)` becomes `param(k)` (how the
    /// element of input `k` is read is the caller's). Nothing it makes can trap:
    /// the predicated form's divisors and table indices are already safe.
    pub fn to_ir(
        &self,
        value: impl Fn(PValue) -> ValueId,
        param: impl FnOnce(u32) -> InstKind,
    ) -> InstKind {
        match self {
            PInst::Param(k) => param(*k),
            PInst::Const { ty, bits } => InstKind::Const(ScalarValue::from_bits(*ty, *bits)),
            PInst::Unary(op, a) => InstKind::Unary(*op, value(*a)),
            PInst::Binary(op, a, c) => InstKind::Binary(*op, value(*a), value(*c)),
            PInst::Cmp(op, a, c) => InstKind::Cmp(*op, value(*a), value(*c)),
            PInst::Cast(a, to) => InstKind::Cast(value(*a), *to),
            PInst::Bitcast(a, to) => InstKind::Bitcast(value(*a), *to),
            PInst::Select {
                cond,
                if_true,
                if_false,
            } => InstKind::Select {
                cond: value(*cond),
                if_true: value(*if_true),
                if_false: value(*if_false),
            },
            PInst::Intrinsic(op, args) => {
                InstKind::Intrinsic(*op, args.iter().map(|a| value(*a)).collect())
            }
            PInst::LoadConst { table, index } => InstKind::LoadConst {
                table: *table,
                index: value(*index),
            },
        }
    }
}

/// Why a group must leave the lane-parallel path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GuardKind {
    /// An active lane would trap (division, constant-table index, assertion).
    Trap,
    /// An active lane reaches a loop with a back edge.
    Loop,
    /// An active lane reaches a call that was not inlined.
    Call,
    /// An active lane reaches `print!`.
    Print,
}

/// "If `when` holds on any lane, run this group with the scalar code."
#[derive(Clone, Debug, PartialEq)]
pub struct Guard {
    /// A bool value.
    pub when: PValue,
    pub kind: GuardKind,
    /// The IR instruction that needs the scalar code.
    pub span: Span,
}

/// A branch-free, lane-parallel form of an element function.
#[derive(Clone, Debug, PartialEq)]
pub struct Predicated {
    pub name: String,
    /// Types of the element function's parameters (one input each).
    pub params: Vec<ScalarType>,
    pub ret: ScalarType,
    /// In dependency order: operands always precede their users.
    pub insts: Vec<PInst>,
    pub types: Vec<ScalarType>,
    /// Source location of each value (of the IR instruction it came from).
    pub spans: Vec<Span>,
    pub result: PValue,
    pub guards: Vec<Guard>,
}

impl Predicated {
    pub fn ty(&self, v: PValue) -> ScalarType {
        self.types[v.0 as usize]
    }

    pub fn inst(&self, v: PValue) -> &PInst {
        &self.insts[v.0 as usize]
    }
}

/// Why a function has no predicated form.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum NotVectorisable {
    /// Every lane always needs the scalar code (e.g. a top-level loop or `print!`).
    #[error("every element needs the scalar code: {kind:?}")]
    AlwaysScalar { kind: GuardKind, span: Span },
    /// The function is not an element function (arrays, no result, ...).
    #[error("not an element function: {0}")]
    NotElementFunction(String),
}

/// The predicated form of `combine`, the combiner of a fold in `ty`, when it
/// can run lane by lane: `(ty, ty) -> ty` with no guard (it can never trap).
/// What every backend's vector form of a fold asks of its combiner.
pub fn lane_combiner(program: &Program, combine: FuncId, ty: ScalarType) -> Option<Predicated> {
    let pred = if_convert(program, combine).ok()?;
    (pred.params == [ty, ty] && pred.ret == ty && pred.guards.is_empty()).then_some(pred)
}

/// If-converts element function `func` of `program` (see the module docs).
pub fn if_convert(program: &Program, func: FuncId) -> Result<Predicated, NotVectorisable> {
    let f = program
        .functions
        .get(func.0 as usize)
        .ok_or_else(|| NotVectorisable::NotElementFunction(format!("no function {}", func.0)))?;
    let bad = |why: &str| NotVectorisable::NotElementFunction(format!("`{}`: {why}", f.name));
    let ret = f.ret.ok_or_else(|| bad("no result"))?;
    let params: Vec<ScalarType> = f
        .param_types()
        .into_iter()
        .map(|t| t.as_scalar().ok_or_else(|| bad("an array parameter")))
        .collect::<Result<_, _>>()?;
    if f.locals.iter().any(|l| matches!(l.ty, Type::Array(_))) {
        return Err(bad("an array local"));
    }
    walk::run(program, f, params, ret)
}

impl fmt::Display for Predicated {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let params: Vec<&str> = self.params.iter().map(|t| t.name()).collect();
        writeln!(
            f,
            "predicated {}({}) -> {} {{",
            self.name,
            params.join(", "),
            self.ret
        )?;
        let v = |p: &PValue| format!("p{}", p.0);
        for (i, inst) in self.insts.iter().enumerate() {
            let text = match inst {
                PInst::Param(k) => format!("param {k}"),
                PInst::Const { ty, bits } => {
                    format!("const {}", ScalarValue::from_bits(*ty, *bits))
                }
                PInst::Unary(op, a) => format!("{op:?} {}", v(a)),
                PInst::Binary(op, a, b) => format!("{op:?} {}, {}", v(a), v(b)),
                PInst::Cmp(op, a, b) => format!("cmp {op:?} {}, {}", v(a), v(b)),
                PInst::Cast(a, t) => format!("cast {} as {t}", v(a)),
                PInst::Bitcast(a, t) => format!("bitcast {} to {t}", v(a)),
                PInst::Select {
                    cond,
                    if_true,
                    if_false,
                } => format!("select {}, {}, {}", v(cond), v(if_true), v(if_false)),
                PInst::Intrinsic(op, args) => {
                    let args: Vec<String> = args.iter().map(v).collect();
                    format!("{} {}", op.name(), args.join(", "))
                }
                PInst::LoadConst { table, index } => format!("table t{}[{}]", table.0, v(index)),
            };
            writeln!(f, "    p{i}: {} = {text}", self.types[i])?;
        }
        for g in &self.guards {
            writeln!(f, "    guard {:?} when {}", g.kind, v(&g.when))?;
        }
        writeln!(f, "    result {}", v(&self.result))?;
        f.write_str("}")
    }
}

#[cfg(test)]
mod tests;
