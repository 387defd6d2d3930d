//! Checking operators: unary and binary operators (comparisons, logic, arithmetic,
//! bitwise and shifts, float remainder through the stdlib's `fmod_*`) and `as`
//! casts. Knows nothing of IR.

use super::*;

impl FnChecker<'_, '_> {
    /// Whether `t` is `bool` or an integer (constraining it to an integer when it
    /// is not known yet): the operands of `!`, `&`, `|` and `^`.
    fn bool_or_int(&mut self, t: Ty) -> bool {
        self.inf.resolve(t) == Ty::Scalar(ScalarType::Bool)
            || self.inf.constrain(t, VarKind::Int).is_ok()
    }

    pub(super) fn unary(&mut self, e: &Expr, op: UnaryOp, operand: &Expr) -> Ty {
        let t = match (&operand.kind, op) {
            (ExprKind::Lit(lit), UnaryOp::Neg) => {
                let t = self.literal(operand, lit, true);
                self.record(operand, t)
            }
            _ => self.expr(operand),
        };
        match op {
            UnaryOp::Neg => {
                let resolved = self.inf.resolve(t);
                let ok = match resolved {
                    Ty::Scalar(s) => s.is_signed_int() || s.is_float(),
                    Ty::Error | Ty::Never => true,
                    _ => self.inf.constrain(t, VarKind::Num).is_ok(),
                };
                if !ok {
                    let d = self.inf.describe(t);
                    return self.error(
                        e.span,
                        format!("cannot apply unary operator `-` to type `{d}`"),
                    );
                }
                t
            }
            UnaryOp::Not => {
                if self.bool_or_int(t) {
                    t
                } else {
                    let d = self.inf.describe(t);
                    self.error(
                        e.span,
                        format!("cannot apply unary operator `!` to type `{d}`"),
                    )
                }
            }
        }
    }

    pub(super) fn binary(&mut self, e: &Expr, op: BinaryOp, lhs: &Expr, rhs: &Expr) -> Ty {
        let l = self.expr(lhs);
        let r = self.expr(rhs);
        match op {
            BinaryOp::And | BinaryOp::Or => {
                self.expect(l, Ty::Scalar(ScalarType::Bool), lhs.span);
                self.expect(r, Ty::Scalar(ScalarType::Bool), rhs.span);
                Ty::Scalar(ScalarType::Bool)
            }
            op if op.is_comparison() => {
                self.expect(r, l, rhs.span);
                match self.inf.resolve(l) {
                    Ty::Array { .. } | Ty::HostArray(_) | Ty::Unit => self.error(
                        e.span,
                        format!("cannot compare values of type `{}`", self.inf.describe(l)),
                    ),
                    _ => Ty::Scalar(ScalarType::Bool),
                }
            }
            _ => {
                let t = self.arithmetic(e, op, l, r, rhs.span);
                if op == BinaryOp::Rem {
                    self.resolve_float_rem(e, t);
                }
                t
            }
        }
    }

    /// `%` (or `%=`) of floats of type `t` is the stdlib's `fmod`: resolves `e`
    /// to it when `t` is a float; an integer `%` stays an IR operation.
    pub(super) fn resolve_float_rem(&mut self, e: &Expr, t: Ty) {
        if let Ty::Scalar(s) = self.inf.resolve(t) {
            if s.is_float() {
                self.float_rem(e, s);
            }
        } else if self.inf.var_kind(t) == Some(VarKind::Float) {
            let s = self.inf.scalar(t).unwrap_or(ScalarType::F64);
            self.float_rem(e, s);
        }
    }

    fn float_rem(&mut self, e: &Expr, t: ScalarType) {
        match self.env.find_fn(Namespace::Stdlib, &format!("fmod_{t}")) {
            Some(f) => self.resolve(e, Resolution::FloatRem(f)),
            None => {
                self.error(
                    e.span,
                    format!("float remainder needs the stdlib function `fmod_{t}`"),
                );
            }
        }
    }

    /// Types of `l op r` for arithmetic, bitwise and shift operators.
    pub(super) fn arithmetic(
        &mut self,
        e: &Expr,
        op: BinaryOp,
        l: Ty,
        r: Ty,
        rhs_span: Span,
    ) -> Ty {
        match op {
            BinaryOp::Shl | BinaryOp::Shr => {
                for (t, span) in [(l, e.span), (r, rhs_span)] {
                    if self.inf.constrain(t, VarKind::Int).is_err() {
                        let d = self.inf.describe(t);
                        self.error(
                            span,
                            format!(
                                "no implementation for `{d} {} {}`",
                                op.symbol(),
                                self.inf.describe(r)
                            ),
                        );
                        return Ty::Error;
                    }
                }
                l
            }
            BinaryOp::BitAnd | BinaryOp::BitOr | BinaryOp::BitXor => {
                self.expect(r, l, rhs_span);
                if self.bool_or_int(l) {
                    l
                } else {
                    let d = self.inf.describe(l);
                    self.error(
                        e.span,
                        format!("no implementation for `{d} {} {d}`", op.symbol()),
                    )
                }
            }
            _ => {
                if self.inf.unify(r, l).is_err() {
                    let (a, b) = (self.inf.describe(l), self.inf.describe(r));
                    let mut d = Diagnostic::error(rhs_span, "mismatched types")
                        .with_label(format!("expected `{a}`, found `{b}`"));
                    d = if a.starts_with('{') {
                        d.with_note("kern has no implicit conversion between numeric types: convert one side with `as`")
                    } else {
                        d.with_note(format!(
                            "kern has no implicit conversion between numeric types: use `as {a}`"
                        ))
                    };
                    self.errors.push(d);
                    return Ty::Error;
                }
                if self.inf.constrain(l, VarKind::Num).is_err() {
                    let d = self.inf.describe(l);
                    return self.error(
                        e.span,
                        format!("cannot apply `{}` to type `{d}`", op.symbol()),
                    );
                }
                l
            }
        }
    }

    pub(super) fn cast(&mut self, expr: &Expr, ty: &TypeExpr) -> Ty {
        let from = self.expr(expr);
        let Some(to) = self.scalar_type(ty) else {
            return Ty::Error;
        };
        match self.inf.resolve(from) {
            Ty::Scalar(f) => {
                if to == ScalarType::Bool && f != ScalarType::Bool {
                    return self.error(
                        expr.span.to(ty.span),
                        format!("cannot cast `{f}` as `bool`"),
                    );
                }
                if f == ScalarType::Bool && to.is_float() {
                    return self.error(
                        expr.span.to(ty.span),
                        format!("cannot cast `bool` as `{to}`"),
                    );
                }
            }
            Ty::Var(_) => {
                if to == ScalarType::Bool {
                    return self.error(expr.span.to(ty.span), "cannot cast a number as `bool`");
                }
                if self.inf.constrain(from, VarKind::Num).is_err() {
                    return self.error(expr.span, "cannot infer the type of this expression");
                }
            }
            Ty::Error | Ty::Never => {}
            other => {
                return self.error(
                    expr.span.to(ty.span),
                    format!("non-primitive cast: `{other}` as `{to}`"),
                );
            }
        }
        Ty::Scalar(to)
    }
}
