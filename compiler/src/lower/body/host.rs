//! Lowering of host-array expressions (`main` only) to `InstKind::Host`.
//!
//! Array values live in host-array locals: an expression making an array writes
//! it to a local (the `let`'s own, or a temporary); a variable used as an operand
//! is passed as its local, without a copy.

use super::*;
use crate::diagnostics::Diagnostic;
use crate::ir::{HostOp, JobsOp};
use crate::types::check::{HostMethod, HostResolution, JobsCall};

impl BodyLowerer<'_, '_, '_, '_> {
    fn host_inst(
        &mut self,
        op: HostOp,
        args: Vec<Arg>,
        dest: Option<LocalId>,
        result: Option<ScalarType>,
    ) -> Option<ValueId> {
        let kind = InstKind::Host { op, args, dest };
        match result {
            Some(t) => Some(self.b.value(kind, t)),
            None => {
                self.b.inst(kind);
                None
            }
        }
    }

    /// An integer argument converted to `i64` (dimensions, counts, axes).
    fn i64_arg(&mut self, a: &Expr) -> Option<Arg> {
        let v = self.expr(a)?;
        let t = self.scalar_ty(a);
        Some(Arg::Value(if t == ScalarType::I64 {
            v
        } else {
            self.b
                .value(InstKind::Cast(v, ScalarType::I64), ScalarType::I64)
        }))
    }

    fn shape_args(&mut self, a: &Expr) -> Option<Vec<Arg>> {
        match &strip_parens(a).kind {
            ExprKind::ArrayLit(items) => items.iter().map(|i| self.i64_arg(i)).collect(),
            _ => Some(vec![self.i64_arg(a)?]),
        }
    }

    /// A host array operand: a variable's own local, or a temporary holding the
    /// value of any other array expression.
    pub(super) fn host_array_operand(&mut self, e: &Expr) -> Option<LocalId> {
        let inner = strip_ref(e);
        if let Some(Resolution::Local(b)) = self.typed.resolutions.get(&inner.id).cloned() {
            return Some(self.local_for(b));
        }
        let t = match self.typed.ty(inner) {
            Ty::HostArray(t) => t,
            _ => return None,
        };
        let temp = self.b.local("", Type::HostArray(t));
        self.host_array_into(inner, temp).then_some(temp)
    }

    /// Evaluates array expression `e` into `dest`; false if it could not.
    pub(super) fn host_array_into(&mut self, e: &Expr, dest: LocalId) -> bool {
        if self.b.is_terminated() {
            return false;
        }
        let inner = strip_ref(e);
        let saved = self.b.current_span;
        self.b.current_span = inner.span;
        let done = match self.typed.resolutions.get(&inner.id).cloned() {
            Some(Resolution::Local(b)) => {
                let source = self.local_for(b);
                if source != dest {
                    self.host_inst(HostOp::Copy, vec![Arg::Array(source)], Some(dest), None);
                }
                true
            }
            Some(Resolution::Host(r)) => self.host_op(inner, r, Some(dest)).is_some(),
            _ => {
                self.lowering.errors.push(
                    Diagnostic::error(
                        inner.span,
                        "`if` expressions and blocks cannot produce host arrays yet",
                    )
                    .with_note("assign in the branches instead: `let mut y = zeros(3); if c { y = ones(3); }`"),
                );
                false
            }
        };
        self.b.current_span = saved;
        done
    }

    /// `x = value` for a host-array variable `x`.
    pub(super) fn host_assign(&mut self, target: &Expr, value: &Expr) {
        let target = strip_parens(target);
        if let Some(Resolution::Local(b)) = self.typed.resolutions.get(&target.id).cloned() {
            let local = self.local_for(b);
            self.host_array_into(value, local);
        }
    }

    /// `x[i] = v`.
    pub(super) fn host_set(&mut self, target: &Expr, value: ValueId) {
        let (base, indices) = flatten_index(target);
        let Some(array) = self.host_array_operand(base) else {
            return;
        };
        let mut args = vec![Arg::Array(array)];
        for i in indices {
            match self.expr(i) {
                Some(v) => args.push(Arg::Value(v)),
                None => return,
            }
        }
        args.push(Arg::Value(value));
        self.b.current_span = target.span;
        self.host_inst(HostOp::Set, args, None, None);
    }

    /// A host expression in a scalar context: its scalar value, or `None` (an array
    /// made into a temporary that nothing reads, or a unit result).
    pub(super) fn host_expr(&mut self, e: &Expr, r: HostResolution) -> Option<ValueId> {
        match self.typed.ty(e) {
            Ty::HostArray(t) => {
                let temp = self.b.local("", Type::HostArray(t));
                self.host_op(e, r, Some(temp));
                None
            }
            _ => self.host_op(e, r, None).flatten(),
        }
    }

    /// Lowers host operation `r` of expression `e`; an array result goes to `dest`.
    /// `None` when lowering failed; `Some(None)` for no scalar result.
    fn host_op(
        &mut self,
        e: &Expr,
        r: HostResolution,
        dest: Option<LocalId>,
    ) -> Option<Option<ValueId>> {
        let scalar = match self.typed.ty(e) {
            Ty::Scalar(t) => Some(t),
            _ => None,
        };
        let (op, args): (HostOp, Vec<Arg>) = match (&e.kind, r) {
            (ExprKind::Call { args, .. }, r) => match r {
                HostResolution::Zeros(t) => (HostOp::Zeros(t), self.shape_args(&args[0])?),
                HostResolution::Ones(t) => (HostOp::Ones(t), self.shape_args(&args[0])?),
                HostResolution::Full(t) => {
                    let mut a = self.shape_args(&args[0])?;
                    a.push(Arg::Value(self.expr(&args[1])?));
                    (HostOp::Full(t), a)
                }
                HostResolution::Arange(t) => {
                    let mut a = Vec::new();
                    for x in args {
                        a.push(Arg::Value(self.expr(x)?));
                    }
                    if a.len() == 2 {
                        a.push(Arg::Value(
                            self.constant(crate::ir::eval::eval_cast(ScalarValue::I64(1), t)),
                        ));
                    }
                    (HostOp::Arange(t), a)
                }
                HostResolution::Linspace(t) => {
                    let start = self.expr(&args[0])?;
                    let stop = self.expr(&args[1])?;
                    let num = self.i64_arg(&args[2])?;
                    (
                        HostOp::Linspace(t),
                        vec![Arg::Value(start), Arg::Value(stop), num],
                    )
                }
                HostResolution::Random { func, elem } => {
                    let func = self.lowering.request(func, vec![]);
                    let seed = self.expr(&args[0])?;
                    let n = self.i64_arg(&args[1])?;
                    (HostOp::Random { func, elem }, vec![Arg::Value(seed), n])
                }
                HostResolution::Load { path, elem } => (HostOp::Load { path, elem }, vec![]),
                HostResolution::Save { path } => {
                    let a = self.host_array_operand(&args[1])?;
                    (HostOp::Save { path }, vec![Arg::Array(a)])
                }
                HostResolution::Ufunc { name, .. } => {
                    let mut a = Vec::new();
                    for x in args {
                        a.push(self.ufunc_operand(x)?);
                    }
                    (HostOp::Ufunc { name }, a)
                }
                HostResolution::Gufunc {
                    name,
                    nin,
                    allocating,
                } => {
                    let mut a = Vec::new();
                    for x in args {
                        a.push(self.ufunc_operand(x)?);
                    }
                    (
                        HostOp::Gufunc {
                            name,
                            nin,
                            allocating,
                        },
                        a,
                    )
                }
                HostResolution::JobsMap { func } => {
                    let func = self.lowering.request(func, vec![]);
                    let mut a = Vec::new();
                    for x in &args[1..] {
                        a.push(Arg::Array(self.host_array_operand(x)?));
                    }
                    (HostOp::Jobs(JobsOp::Map { func }), a)
                }
                HostResolution::Jobs(call) => match call {
                    JobsCall::SetWorkers => (
                        HostOp::Jobs(JobsOp::SetWorkers),
                        vec![self.i64_arg(&args[0])?],
                    ),
                    JobsCall::Workers => (HostOp::Jobs(JobsOp::Workers), vec![]),
                    JobsCall::PrintStats => (HostOp::Jobs(JobsOp::PrintStats), vec![]),
                },
                // The value (array or scalar) first, then `i64` ranks and tags.
                HostResolution::Mpi(op) => {
                    let mut a = Vec::new();
                    for (i, x) in args.iter().enumerate() {
                        a.push(if i == 0 {
                            self.ufunc_operand(x)?
                        } else {
                            self.i64_arg(x)?
                        });
                    }
                    (HostOp::Mpi(op), a)
                }
                _ => return None,
            },
            (ExprKind::MethodCall { receiver, args, .. }, r) => match r {
                HostResolution::Method(m) => {
                    let x = self.host_array_operand(receiver)?;
                    let mut a = vec![Arg::Array(x)];
                    let op = match m {
                        HostMethod::Reshape => {
                            a.extend(self.shape_args(&args[0])?);
                            HostOp::Reshape
                        }
                        HostMethod::Sum => HostOp::Sum,
                        HostMethod::Mean => HostOp::Mean,
                        HostMethod::Min => HostOp::Min,
                        HostMethod::Max => HostOp::Max,
                        HostMethod::Len => HostOp::Len,
                        HostMethod::Ndim => HostOp::Ndim,
                        HostMethod::Shape => HostOp::Shape,
                        HostMethod::Clone => HostOp::Copy,
                    };
                    (op, a)
                }
                HostResolution::UfuncOut { name } => {
                    let mut a = Vec::new();
                    for x in args {
                        a.push(self.ufunc_operand(x)?);
                    }
                    (HostOp::UfuncOut { name }, a)
                }
                HostResolution::Reduce { name, axis } => {
                    let mut a = vec![Arg::Array(self.host_array_operand(&args[0])?)];
                    if axis {
                        a.push(self.i64_arg(&args[1])?);
                    }
                    (HostOp::Reduce { name, axis }, a)
                }
                HostResolution::Accumulate { name } => {
                    let x = self.host_array_operand(&args[0])?;
                    let axis = self.i64_arg(&args[1])?;
                    (HostOp::Accumulate { name }, vec![Arg::Array(x), axis])
                }
                HostResolution::Outer { name } => {
                    let a = self.host_array_operand(&args[0])?;
                    let b = self.host_array_operand(&args[1])?;
                    (HostOp::Outer { name }, vec![Arg::Array(a), Arg::Array(b)])
                }
                _ => return None,
            },
            (ExprKind::Index { .. }, HostResolution::Index) => {
                let (base, indices) = flatten_index(e);
                let x = self.host_array_operand(base)?;
                let mut a = vec![Arg::Array(x)];
                for i in indices {
                    a.push(Arg::Value(self.expr(i)?));
                }
                (HostOp::Get, a)
            }
            (ExprKind::Index { base, index }, HostResolution::Slice) => {
                let x = self.host_array_operand(base)?;
                let mut a = vec![Arg::Array(x)];
                let ExprKind::Range { start, end } = &index.kind else {
                    return None;
                };
                for bound in [start, end].into_iter().flatten() {
                    a.push(Arg::Value(self.expr(bound)?));
                }
                (
                    HostOp::Slice {
                        has_start: start.is_some(),
                        has_end: end.is_some(),
                    },
                    a,
                )
            }
            _ => return None,
        };
        self.b.current_span = e.span;
        let makes_array = matches!(self.typed.ty(e), Ty::HostArray(_));
        let dest = if makes_array { dest } else { None };
        Some(self.host_inst(op, args, dest, scalar))
    }

    fn ufunc_operand(&mut self, a: &Expr) -> Option<Arg> {
        match self.typed.ty(a) {
            Ty::HostArray(_) => Some(Arg::Array(self.host_array_operand(a)?)),
            _ => Some(Arg::Value(self.expr(a)?)),
        }
    }

    /// `println!` with array arguments.
    pub(super) fn host_print(
        &mut self,
        e: &Expr,
        pieces: Vec<crate::ir::FormatPiece>,
        newline: bool,
        args: &[Expr],
    ) {
        let Some(values) = args
            .iter()
            .map(|a| self.ufunc_operand(a))
            .collect::<Option<Vec<_>>>()
        else {
            return;
        };
        self.b.current_span = e.span;
        self.host_inst(HostOp::Print { pieces, newline }, values, None, None);
    }
}
