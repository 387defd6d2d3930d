//! Lowering of blocks, statements and control flow: `let` (scalars, shared
//! arrays, host arrays), `if` (through a result local when it has a value) and
//! `for` loops (bounds evaluated once, the step taken in the latch without
//! overflow). Expressions are lowered in `expressions`.

use super::*;

impl BodyLowerer<'_, '_, '_, '_> {
    pub(super) fn block(&mut self, block: &Block) -> Option<ValueId> {
        for stmt in &block.stmts {
            if self.b.is_terminated() {
                return None;
            }
            self.b.current_span = stmt.span;
            match &stmt.kind {
                StmtKind::Let { name, init, .. } => {
                    let Some(id) = self.typed.binding_at.get(&name.span.start).copied() else {
                        continue;
                    };
                    let local = self.local_for(id);
                    if let Some(len) = init.as_ref().and_then(|i| self.shared_array_len(i)) {
                        self.b.current_span = stmt.span;
                        self.b
                            .inst(InstKind::Spmd(crate::ir::spmd::SpmdInst::SharedArray {
                                array: local,
                                len,
                            }));
                        continue;
                    }
                    if let (Some(init), Ty::HostArray(_)) =
                        (init, self.typed.bindings[id.0 as usize].ty)
                    {
                        self.host_array_into(init, local);
                        continue;
                    }
                    if let Some(init) = init {
                        if let Some(v) = self.expr(init) {
                            self.b.current_span = stmt.span;
                            self.b.set(local, v);
                        }
                    }
                }
                StmtKind::Expr { expr, .. } => {
                    self.expr(expr);
                }
                StmtKind::Empty => {}
            }
        }
        if self.b.is_terminated() {
            return None;
        }
        block.tail.as_ref().and_then(|t| self.expr(t))
    }

    pub(super) fn if_expr(
        &mut self,
        e: &Expr,
        cond: &Expr,
        then_branch: &Block,
        else_branch: Option<&Expr>,
    ) -> Option<ValueId> {
        let c = self.expr(cond)?;
        let result = match self.typed.ty(e) {
            Ty::Scalar(t) => Some(self.b.local("", Type::Scalar(t))),
            _ => None,
        };
        self.b.begin_block();
        let v = self.block(then_branch);
        if let (Some(r), Some(v)) = (result, v) {
            self.b.set(r, v);
        }
        let then_block = self.b.end_block();
        self.b.begin_block();
        if let Some(else_expr) = else_branch {
            let v = self.expr(else_expr);
            if let (Some(r), Some(v)) = (result, v) {
                self.b.set(r, v);
            }
        }
        let else_block = self.b.end_block();
        self.b.current_span = e.span;
        self.b.if_else(c, then_block, else_block);
        if matches!(self.typed.ty(e), Ty::Never) {
            let dummy = self.dummy_return();
            self.b.inst(InstKind::Return(dummy));
            return None;
        }
        result.map(|r| self.b.get(r))
    }

    pub(super) fn for_loop(
        &mut self,
        var: &Ident,
        start: &Expr,
        end: &Expr,
        inclusive: bool,
        step: Option<&Expr>,
        body: &Block,
    ) {
        let Some(binding) = self.typed.binding_at.get(&var.span.start).copied() else {
            return;
        };
        let t = self.scalar_ty(start);
        let Some(s) = self.expr(start) else { return };
        let Some(en) = self.expr(end) else { return };
        let counter = self.local_for(binding);
        let end_local = self.b.local("", Type::Scalar(t));
        self.b.set(counter, s);
        self.b.set(end_local, en);
        let step_value = match step {
            Some(step) => {
                let Some(st) = self.expr(step) else { return };
                let zero = self.constant(ScalarValue::Usize(0));
                let nonzero = self.b.cmp(CmpOp::Ne, st, zero);
                self.b.current_span = step.span;
                self.b.inst(InstKind::Assert {
                    cond: nonzero,
                    message: "step_by needs a step greater than zero".into(),
                });
                let cast = if t == ScalarType::Usize {
                    st
                } else {
                    self.b.value(InstKind::Cast(st, t), t)
                };
                let local = self.b.local("", Type::Scalar(t));
                self.b.set(local, cast);
                Some(local)
            }
            None => None,
        };
        self.b.current_span = start.span.to(end.span);
        // Header: i < end (or i <= end).
        self.b.begin_block();
        let i = self.b.get(counter);
        let e = self.b.get(end_local);
        let c = self
            .b
            .cmp(if inclusive { CmpOp::Le } else { CmpOp::Lt }, i, e);
        let header = self.b.end_block();
        self.b.begin_block();
        self.block(body);
        let body_block = self.b.end_block();
        // Latch: advance, leaving the loop instead of wrapping past the type's end.
        self.b.current_span = start.span.to(end.span);
        self.b.begin_block();
        let i = self.b.get(counter);
        let e = self.b.get(end_local);
        match (step_value, inclusive) {
            (None, false) => {
                let one = self.constant(ScalarValue::int(t, 1));
                let next = self.b.binary(IrBin::Add, i, one);
                self.b.set(counter, next);
            }
            (None, true) => {
                let at_end = self.b.cmp(CmpOp::Eq, i, e);
                self.b.begin_block();
                self.b.inst(InstKind::Break);
                let stop = self.b.end_block();
                self.b.begin_block();
                let one = self.constant(ScalarValue::int(t, 1));
                let next = self.b.binary(IrBin::Add, i, one);
                self.b.set(counter, next);
                let advance = self.b.end_block();
                self.b.if_else(at_end, stop, advance);
            }
            (Some(step_local), inclusive) => {
                let st = self.b.get(step_local);
                let next = self.b.binary(IrBin::Add, i, st);
                let wrapped = self.b.cmp(CmpOp::Lt, next, i);
                let past = self
                    .b
                    .cmp(if inclusive { CmpOp::Gt } else { CmpOp::Ge }, next, e);
                let stop = self.b.binary(IrBin::Or, wrapped, past);
                self.b.begin_block();
                self.b.inst(InstKind::Break);
                let stop_block = self.b.end_block();
                self.b.begin_block();
                self.b.set(counter, next);
                let advance = self.b.end_block();
                self.b.if_else(stop, stop_block, advance);
            }
        }
        let latch = self.b.end_block();
        self.b.inst(InstKind::Loop {
            header,
            cond: Some(c),
            body: body_block,
            latch,
            counted: None,
        });
    }
}
