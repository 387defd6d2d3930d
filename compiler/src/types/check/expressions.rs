//! Checking expressions: the dispatch on every expression kind, literals (range
//! checked against their inferred type at the end), paths (bindings, constants,
//! functions), assignment places and indexing. Operators, calls and macros have
//! their own files; nothing here knows of IR.

use super::*;

impl FnChecker<'_, '_> {
    pub(super) fn expr(&mut self, e: &Expr) -> Ty {
        let ty = self.expr_kind(e);
        self.record(e, ty)
    }

    pub(super) fn expr_kind(&mut self, e: &Expr) -> Ty {
        match &e.kind {
            ExprKind::Lit(lit) => self.literal(e, lit, false),
            ExprKind::Path(segments) => self.path(e, segments),
            ExprKind::Paren(inner) => self.expr(inner),
            ExprKind::Unary { op, operand } => self.unary(e, *op, operand),
            ExprKind::Binary { op, lhs, rhs } => self.binary(e, *op, lhs, rhs),
            ExprKind::Assign { target, value } => {
                let target_ty = self.place(target);
                let value_ty = self.expr(value);
                self.expect(value_ty, target_ty, value.span);
                Ty::Unit
            }
            ExprKind::CompoundAssign { op, target, value } => {
                let target_ty = self.place(target);
                let value_ty = self.expr(value);
                let result = self.arithmetic(e, *op, target_ty, value_ty, value.span);
                if !matches!(op, BinaryOp::Shl | BinaryOp::Shr) {
                    self.expect(result, target_ty, e.span);
                }
                if *op == BinaryOp::Rem {
                    self.resolve_float_rem(e, target_ty);
                }
                Ty::Unit
            }
            ExprKind::Cast { expr, ty } => self.cast(expr, ty),
            ExprKind::Call { callee, args } => self.call(e, callee, args),
            ExprKind::MethodCall {
                receiver,
                method,
                args,
            } => self.method_call(e, receiver, method, args),
            ExprKind::Index { .. } => {
                if self.host {
                    if let Some(t) = self.host_index(e) {
                        return t;
                    }
                }
                self.index(e)
            }
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => {
                let c = self.expr(cond);
                self.expect(c, Ty::Scalar(ScalarType::Bool), cond.span);
                let then_ty = self.block(then_branch);
                match else_branch {
                    Some(else_expr) => {
                        let else_ty = self.expr(else_expr);
                        if self.inf.unify(else_ty, then_ty).is_err() {
                            let (t, f) = (self.inf.describe(then_ty), self.inf.describe(else_ty));
                            self.errors.push(
                                Diagnostic::error(
                                    else_expr.span,
                                    "`if` and `else` have incompatible types",
                                )
                                .with_label(format!("expected `{t}`, found `{f}`")),
                            );
                        }
                        match (self.inf.resolve(then_ty), self.inf.resolve(else_ty)) {
                            (Ty::Never, other) => other,
                            (t, _) => t,
                        }
                    }
                    None => {
                        let t = self.inf.resolve(then_ty);
                        if t != Ty::Unit && t != Ty::Never && t != Ty::Error {
                            let d = self.inf.describe(t);
                            self.errors.push(
                                Diagnostic::error(e.span, "`if` may be missing an `else` clause")
                                    .with_label(format!("expected `()`, found `{d}`")),
                            );
                        }
                        Ty::Unit
                    }
                }
            }
            ExprKind::While { cond, body } => {
                let c = self.expr(cond);
                self.expect(c, Ty::Scalar(ScalarType::Bool), cond.span);
                self.loop_body(body);
                Ty::Unit
            }
            ExprKind::Loop { body } => {
                if self.loop_body(body) {
                    Ty::Unit
                } else {
                    Ty::Never
                }
            }
            ExprKind::For {
                var,
                start,
                end,
                step,
                body,
                ..
            } => {
                let s = self.expr(start);
                let t = self.expr(end);
                self.expect(t, s, end.span);
                if self.inf.constrain(s, VarKind::Int).is_err() {
                    let d = self.inf.describe(s);
                    self.error(
                        start.span,
                        format!("`for` ranges must be over integers, found `{d}`"),
                    );
                }
                if let Some(step) = step {
                    let st = self.expr(step);
                    self.expect(st, Ty::Scalar(ScalarType::Usize), step.span);
                }
                self.scopes.push(HashMap::default());
                self.bind(var, s, false, None);
                self.loop_body(body);
                self.scopes.pop();
                Ty::Unit
            }
            ExprKind::Break | ExprKind::Continue => {
                let word = if matches!(e.kind, ExprKind::Break) {
                    "break"
                } else {
                    "continue"
                };
                match self.loops.last_mut() {
                    Some(has_break) => {
                        if word == "break" {
                            *has_break = true;
                        }
                    }
                    None => {
                        self.errors.push(
                            Diagnostic::error(e.span, format!("`{word}` outside of a loop"))
                                .with_label(format!("cannot `{word}` outside of a loop")),
                        );
                    }
                }
                Ty::Never
            }
            ExprKind::Return(value) => {
                let ret = self.body.ret;
                match value {
                    Some(v) => {
                        let t = self.expr(v);
                        self.expect(t, ret, v.span);
                    }
                    None => {
                        if self.inf.unify(Ty::Unit, ret).is_err() {
                            self.mismatch(e.span, ret, Ty::Unit);
                        }
                    }
                }
                Ty::Never
            }
            ExprKind::Block(b) => self.block(b),
            ExprKind::Macro { name, args } => self.macro_call(e, name, args),
            ExprKind::ArrayLit(_) | ExprKind::ArrayRepeat { .. } => {
                if self.host {
                    return self.error(e.span, "array literals are only allowed in `const` tables and as the shape of `zeros`, `ones`, `full` and `reshape`");
                }
                self.error(e.span, "array literals are only allowed in `const` tables")
            }
            ExprKind::Ref { .. } => self.borrow(e),
            ExprKind::Range { .. } => self.error(
                e.span,
                "ranges are only allowed in `for` loops and as slices of host arrays, `x[a..b]`",
            ),
        }
    }

    pub(super) fn literal(&mut self, e: &Expr, lit: &Literal, negated: bool) -> Ty {
        match &lit.kind {
            LitKind::Int { value, suffix } => {
                self.int_literals.push((e.id, *value, negated, lit.span));
                match suffix {
                    Some(t) if t.is_float() => Ty::Scalar(*t),
                    Some(t) => Ty::Scalar(*t),
                    None => self.inf.fresh(VarKind::Int),
                }
            }
            LitKind::Float { suffix, .. } => match suffix {
                Some(t) => Ty::Scalar(*t),
                None => self.inf.fresh(VarKind::Float),
            },
            LitKind::Bool(_) => Ty::Scalar(ScalarType::Bool),
            LitKind::Str(_) => self.error(
                lit.span,
                "string literals are only allowed in `println!`, `print!` and `assert!`",
            ),
        }
    }

    pub(super) fn path(&mut self, e: &Expr, segments: &[Ident]) -> Ty {
        let names: Vec<&str> = segments.iter().map(|s| s.name.as_str()).collect();
        if let [name] = names.as_slice() {
            if let Some(b) = self.lookup(name) {
                self.resolve(e, Resolution::Local(b));
                return self.body.bindings[b.0 as usize].ty;
            }
            if let Some(c) = self.env.find_const(self.namespace, name) {
                let decl = self.env.constant(c).decl;
                if matches!(decl.ty.kind, TypeExprKind::Array { .. }) {
                    return self.error(
                        e.span,
                        format!("constant table `{name}` can only be indexed: `{name}[i]`"),
                    );
                }
                self.resolve(e, Resolution::Const(c));
                return match self.scalar_type(&decl.ty) {
                    Some(t) => Ty::Scalar(t),
                    None => Ty::Error,
                };
            }
        }
        if let Some((value, ty)) = methods::builtin_constant(&names) {
            return match (value, ty) {
                (methods::BuiltinConst::Float(v), None) => {
                    self.resolve(e, Resolution::BuiltinFloat(v));
                    self.inf.fresh(VarKind::Float)
                }
                (methods::BuiltinConst::Float(v), Some(t)) => {
                    self.resolve(e, Resolution::BuiltinFloat(v));
                    Ty::Scalar(t)
                }
                (methods::BuiltinConst::Value(v), _) => {
                    self.resolve(e, Resolution::BuiltinValue(v));
                    Ty::Scalar(v.ty())
                }
            };
        }
        let full = names.join("::");
        if self.env.find_fn(self.namespace, &full).is_some() {
            return self.error(
                e.span,
                format!("`{full}` is a function: call it with `{full}(..)`"),
            );
        }
        self.errors.push(
            Diagnostic::error(e.span, format!("cannot find value `{full}` in this scope"))
                .with_label("not found in this scope"),
        );
        Ty::Error
    }

    /// An assignable place: a mutable local or an element of a `&mut` array.
    pub(super) fn place(&mut self, target: &Expr) -> Ty {
        match &target.kind {
            ExprKind::Path(segments) if segments.len() == 1 => {
                let ty = self.expr(target);
                if let Some(Resolution::Local(b)) = self.body.resolutions.get(&target.id).cloned() {
                    let binding = &self.body.bindings[b.0 as usize];
                    if !binding.mutable {
                        let (name, span) = (binding.name.clone(), binding.span);
                        self.errors.push(
                            Diagnostic::error(
                                target.span,
                                format!("cannot assign twice to immutable variable `{name}`"),
                            )
                            .with_label("cannot assign twice to immutable variable")
                            .with_secondary(
                                span,
                                format!("help: consider making this binding mutable: `mut {name}`"),
                            ),
                        );
                    }
                } else if ty != Ty::Error {
                    self.error(target.span, "invalid left-hand side of assignment");
                }
                ty
            }
            ExprKind::Index { .. } => {
                let ty = self.expr(target);
                if let Some(Resolution::Host(r)) = self.body.resolutions.get(&target.id).cloned() {
                    return if self.host_place(target, &r) {
                        ty
                    } else {
                        Ty::Error
                    };
                }
                if let Some(Resolution::ArrayIndex(b)) =
                    self.body.resolutions.get(&target.id).cloned()
                {
                    if let Ty::Array { mutable: false, .. } = self.body.bindings[b.0 as usize].ty {
                        let name = self.body.bindings[b.0 as usize].name.clone();
                        self.errors.push(
                            Diagnostic::error(target.span, format!("cannot assign to `{name}[..]`, which is behind a `&` reference"))
                                .with_note(format!("help: declare the parameter as `&mut` to write to `{name}`")),
                        );
                    }
                }
                ty
            }
            ExprKind::Paren(inner) => self.place(inner),
            _ => {
                self.expr(target);
                self.error(target.span, "invalid left-hand side of assignment")
            }
        }
    }

    pub(super) fn index(&mut self, e: &Expr) -> Ty {
        let (base, indices) = flatten_index(e);
        for index in &indices {
            let t = self.expr(index);
            self.expect(t, Ty::Scalar(ScalarType::Usize), index.span);
        }
        if let ExprKind::Path(segments) = &base.kind {
            if let [name] = segments.as_slice() {
                if self.lookup(&name.name).is_none() {
                    if let Some(c) = self.env.find_const(self.namespace, &name.name) {
                        let decl = self.env.constant(c).decl;
                        if let TypeExprKind::Array { elem, .. } = &decl.ty.kind {
                            if indices.len() != 1 {
                                return self.error(e.span, "constant tables have one dimension");
                            }
                            self.resolve(e, Resolution::ConstIndex(c));
                            return match self.scalar_type(elem) {
                                Some(t) => Ty::Scalar(t),
                                None => Ty::Error,
                            };
                        }
                    }
                }
            }
        }
        let bt = self.expr(base);
        match (
            self.inf.resolve(bt),
            self.body.resolutions.get(&base.id).cloned(),
        ) {
            (Ty::Array { elem, rank, .. }, Some(Resolution::Local(b))) => {
                if indices.len() != rank as usize {
                    return self.error(
                        e.span,
                        format!("this array has {rank} dimension{}; index it with exactly {rank} index{}", if rank == 1 { "" } else { "s" }, if rank == 1 { "" } else { "es" }),
                    );
                }
                self.resolve(e, Resolution::ArrayIndex(b));
                Ty::Scalar(elem)
            }
            (Ty::Error, _) => Ty::Error,
            (other, _) => {
                let d = self.inf.describe(other);
                self.error(
                    base.span,
                    format!("cannot index into a value of type `{d}`"),
                )
            }
        }
    }
}
