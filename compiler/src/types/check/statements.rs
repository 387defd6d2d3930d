//! Checking blocks and statements: scopes, `let` bindings (with the array hint
//! an annotation gives its initialiser), a block's tail and unit value, and loop
//! bodies (whether they may `break`). Expressions are checked in `expressions`.

use super::*;

impl FnChecker<'_, '_> {
    pub(super) fn block(&mut self, block: &Block) -> Ty {
        self.scopes.push(HashMap::default());
        let mut diverges = false;
        for stmt in &block.stmts {
            match &stmt.kind {
                StmtKind::Let {
                    mutable,
                    name,
                    ty,
                    init,
                } => {
                    if self.shared_array_let(name, ty.as_ref(), init.as_ref()) {
                        continue;
                    }
                    let declared = ty.as_ref().map(|t| self.let_type(t));
                    let ty = match (declared, init) {
                        (Some(d), Some(init)) => {
                            if let Ty::HostArray(elem) = d {
                                self.array_hint = Some((strip_parens(init).id, elem));
                            }
                            let found = self.expr(init);
                            self.array_hint = None;
                            self.expect(found, d, init.span);
                            d
                        }
                        (Some(d), None) => d,
                        (None, Some(init)) => {
                            let found = self.expr(init);
                            match self.inf.resolve(found) {
                                Ty::Array { .. } => self
                                    .error(init.span, "arrays cannot be bound to local variables"),
                                Ty::Unit => self.error(init.span, "this expression has no value"),
                                Ty::Never => {
                                    diverges = true;
                                    Ty::Error
                                }
                                _ => found,
                            }
                        }
                        (None, None) => self.inf.fresh(VarKind::Any),
                    };
                    self.bind(name, ty, *mutable, None);
                }
                StmtKind::Expr { expr, has_semi } => {
                    let ty = self.expr(expr);
                    let ty = self.inf.resolve(ty);
                    if ty == Ty::Never {
                        diverges = true;
                    } else if matches!(ty, Ty::Array { .. })
                        || matches!(ty, Ty::HostArray(_))
                            && matches!(
                                strip_parens(expr).kind,
                                ExprKind::Path(_)
                                    | ExprKind::If { .. }
                                    | ExprKind::Block(_)
                                    | ExprKind::Ref { .. }
                            )
                    {
                        // An array parameter or variable is a place, never a value
                        // (as for `let`): a bare statement of one (`out;`) has
                        // nothing to evaluate. A call's new array may be dropped.
                        self.errors.push(
                            Diagnostic::error(expr.span, "an array is not a value")
                                .with_label("this statement does nothing with the array")
                                .with_note("help: index it (`a[i]`) or pass it to a function"),
                        );
                    } else if !has_semi && ty != Ty::Unit && ty != Ty::Error {
                        let d = self.inf.describe(ty);
                        self.mismatch_unit(expr.span, &d);
                    }
                }
                StmtKind::Empty => {}
            }
        }
        let ty = match &block.tail {
            Some(tail) => self.expr(tail),
            None if diverges => Ty::Never,
            None => Ty::Unit,
        };
        self.scopes.pop();
        ty
    }

    pub(super) fn mismatch_unit(&mut self, span: Span, found: &str) {
        self.errors.push(
            Diagnostic::error(span, "mismatched types")
                .with_label(format!("expected `()`, found `{found}`"))
                .with_note("help: add `;` after this expression to discard its value"),
        );
    }

    /// Checks a loop body; returns whether it contains a `break` for this loop.
    pub(super) fn loop_body(&mut self, body: &Block) -> bool {
        self.loops.push(false);
        let t = self.block(body);
        if self.inf.unify(t, Ty::Unit).is_err() {
            let d = self.inf.describe(t);
            self.mismatch_unit(body.span, &d);
        }
        self.loops.pop().unwrap_or(false)
    }
}
