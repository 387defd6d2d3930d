//! Lowering of expressions: the dispatch on every checked expression kind,
//! literals, operators (short-circuit `&&`/`||` through result locals, float
//! remainder through the stdlib) and assignments to places. Calls and macros are
//! lowered in `calls`, host arrays and SPMD builtins beside them.

use super::*;

impl BodyLowerer<'_, '_, '_, '_> {
    /// Lowers an expression; `None` for unit, diverging or failed expressions.
    pub(super) fn expr(&mut self, e: &Expr) -> Option<ValueId> {
        if self.b.is_terminated() {
            return None;
        }
        let saved = self.b.current_span;
        self.b.current_span = e.span;
        let v = self.expr_kind(e);
        self.b.current_span = saved;
        v
    }

    pub(super) fn expr_kind(&mut self, e: &Expr) -> Option<ValueId> {
        let resolution = self.typed.resolutions.get(&e.id).cloned();
        match &e.kind {
            ExprKind::Lit(lit) => self.literal(e, lit, false),
            ExprKind::Path(_) => match resolution? {
                Resolution::Local(b) => {
                    let binding = &self.typed.bindings[b.0 as usize];
                    if let Some((array, axis)) = binding.dim_of {
                        let array = self.local_for(array);
                        return Some(
                            self.b
                                .value(InstKind::ArrayLen { array, axis }, ScalarType::Usize),
                        );
                    }
                    let local = self.local_for(b);
                    Some(self.b.get(local))
                }
                Resolution::Const(c) => {
                    let t = self.scalar_ty(e);
                    let v = self.lowering.const_value(c, t)?;
                    Some(self.constant(v))
                }
                Resolution::BuiltinFloat(v) => {
                    let c = match self.scalar_ty(e) {
                        ScalarType::F32 => ScalarValue::F32(v as f32),
                        _ => ScalarValue::F64(v),
                    };
                    Some(self.constant(c))
                }
                Resolution::BuiltinValue(v) => Some(self.constant(v)),
                _ => None,
            },
            ExprKind::Paren(inner) => self.expr(inner),
            ExprKind::Unary { op, operand } => {
                if let (UnaryOp::Neg, ExprKind::Lit(lit)) = (op, &operand.kind) {
                    return self.literal(operand, lit, true);
                }
                let v = self.expr(operand)?;
                let op = match op {
                    UnaryOp::Neg => IrUn::Neg,
                    UnaryOp::Not => IrUn::Not,
                };
                let t = self.scalar_ty(e);
                Some(self.b.value(InstKind::Unary(op, v), t))
            }
            ExprKind::Binary { op, lhs, rhs } => self.binary(e, *op, lhs, rhs, resolution),
            ExprKind::Assign { target, value } => {
                if let Ty::HostArray(_) = self.typed.ty(target) {
                    self.host_assign(target, value);
                    return None;
                }
                let v = self.expr(value)?;
                self.assign(target, v);
                None
            }
            ExprKind::CompoundAssign { op, target, value } => {
                let current = self.expr(target)?;
                let rhs = self.expr(value)?;
                let t = self.scalar_ty(target);
                let result = match resolution {
                    Some(Resolution::FloatRem(key)) => {
                        let f = self.lowering.request(key, vec![]);
                        self.b.value(
                            InstKind::Call {
                                callee: f,
                                args: vec![Arg::Value(current), Arg::Value(rhs)],
                            },
                            t,
                        )
                    }
                    _ => self
                        .b
                        .value(InstKind::Binary(arith_op(*op), current, rhs), t),
                };
                self.assign(target, result);
                None
            }
            ExprKind::Cast { expr, .. } => {
                let v = self.expr(expr)?;
                let from = self.scalar_ty(expr);
                let to = self.scalar_ty(e);
                if from == to {
                    Some(v)
                } else {
                    Some(self.b.value(InstKind::Cast(v, to), to))
                }
            }
            ExprKind::Call { args, .. } => match resolution? {
                Resolution::FromBits(t) => {
                    let v = self.expr(&args[0])?;
                    Some(self.b.value(InstKind::Bitcast(v, t), t))
                }
                Resolution::Call(key, type_args) => self.call(e, key, &type_args, None, args),
                Resolution::Host(r) => self.host_expr(e, r),
                Resolution::Spmd(r) => self.spmd_expr(e, r, args),
                _ => None,
            },
            ExprKind::MethodCall { receiver, args, .. } => match resolution? {
                Resolution::Intrinsic(i) => {
                    let mut values = vec![self.expr(receiver)?];
                    for a in args {
                        values.push(self.expr(a)?);
                    }
                    let t = self.scalar_ty(e);
                    Some(self.b.value(InstKind::Intrinsic(i, values), t))
                }
                Resolution::Method(m) => self.builtin_method(e, m, receiver, args),
                Resolution::ArrayLen(b) => {
                    let array = self.local_for(b);
                    Some(
                        self.b
                            .value(InstKind::ArrayLen { array, axis: 0 }, ScalarType::Usize),
                    )
                }
                Resolution::Call(key, type_args) => {
                    self.call(e, key, &type_args, Some(receiver), args)
                }
                Resolution::Host(r) => self.host_expr(e, r),
                Resolution::Spmd(r) => self.spmd_expr(e, r, args),
                _ => None,
            },
            ExprKind::Index { .. } => {
                let (base, indices) = flatten_index(e);
                match resolution? {
                    Resolution::Host(r) => self.host_expr(e, r),
                    Resolution::ConstIndex(c) => {
                        let index = self.expr(indices[0])?;
                        let table = self.lowering.const_table(c)?;
                        let t = self.scalar_ty(e);
                        Some(self.b.value(InstKind::LoadConst { table, index }, t))
                    }
                    Resolution::ArrayIndex(b) => {
                        let _ = base;
                        let mut values = Vec::new();
                        for i in indices {
                            values.push(self.expr(i)?);
                        }
                        let array = self.local_for(b);
                        let t = self.scalar_ty(e);
                        Some(self.b.value(
                            InstKind::Load {
                                array,
                                indices: values,
                                checked: true,
                            },
                            t,
                        ))
                    }
                    _ => None,
                }
            }
            ExprKind::If {
                cond,
                then_branch,
                else_branch,
            } => self.if_expr(e, cond, then_branch, else_branch.as_deref()),
            ExprKind::While { cond, body } => {
                self.b.begin_block();
                let c = self.expr(cond);
                let header = self.b.end_block();
                self.b.begin_block();
                self.block(body);
                let body = self.b.end_block();
                self.b.inst(InstKind::Loop {
                    header,
                    cond: c,
                    body,
                    latch: IrBlock::default(),
                    counted: None,
                });
                None
            }
            ExprKind::Loop { body } => {
                self.b.begin_block();
                self.block(body);
                let body = self.b.end_block();
                self.b.inst(InstKind::Loop {
                    header: IrBlock::default(),
                    cond: None,
                    body,
                    latch: IrBlock::default(),
                    counted: None,
                });
                if matches!(self.typed.ty(e), Ty::Never) {
                    // A loop without `break` never falls through: mark the rest dead.
                    let dummy = self.dummy_return();
                    self.b.inst(InstKind::Return(dummy));
                }
                None
            }
            ExprKind::For {
                var,
                start,
                end,
                inclusive,
                step,
                body,
            } => {
                self.for_loop(var, start, end, *inclusive, step.as_deref(), body);
                None
            }
            ExprKind::Break => {
                self.b.inst(InstKind::Break);
                None
            }
            ExprKind::Continue => {
                self.b.inst(InstKind::Continue);
                None
            }
            ExprKind::Return(value) => {
                let v = match value {
                    Some(v) => Some(self.expr(v)?),
                    None => None,
                };
                self.b.current_span = e.span;
                self.b.inst(InstKind::Return(v));
                None
            }
            ExprKind::Block(block) => self.block(block),
            ExprKind::Macro { name, args } => {
                self.macro_call(e, name, args, resolution);
                None
            }
            ExprKind::ArrayLit(_) | ExprKind::ArrayRepeat { .. } => None,
            ExprKind::Ref { expr, .. } => self.expr(expr),
            ExprKind::Range { .. } => None,
        }
    }

    /// A value for the `Return` that closes a diverging `loop` (never executed).
    pub(super) fn dummy_return(&mut self) -> Option<ValueId> {
        let ret = self.typed.ret;
        match ret {
            Ty::Scalar(t) => Some(self.constant(ScalarValue::zero(t))),
            _ => None,
        }
    }

    pub(super) fn literal(&mut self, e: &Expr, lit: &Literal, negated: bool) -> Option<ValueId> {
        let t = self.scalar_ty(e);
        let v = match &lit.kind {
            LitKind::Int { value, .. } => {
                let v = *value as i128;
                if t.is_float() {
                    let x = if negated {
                        -(*value as f64)
                    } else {
                        *value as f64
                    };
                    float_value(t, x)
                } else {
                    ScalarValue::int(t, if negated { v.wrapping_neg() } else { v })
                }
            }
            LitKind::Float { text, .. } => {
                if t == ScalarType::F32 {
                    let x: f32 = text.parse().unwrap_or(f32::NAN);
                    ScalarValue::F32(if negated { -x } else { x })
                } else {
                    let x: f64 = text.parse().unwrap_or(f64::NAN);
                    ScalarValue::F64(if negated { -x } else { x })
                }
            }
            LitKind::Bool(b) => ScalarValue::Bool(*b),
            LitKind::Str(_) => return None,
        };
        Some(self.constant(v))
    }

    pub(super) fn binary(
        &mut self,
        e: &Expr,
        op: BinaryOp,
        lhs: &Expr,
        rhs: &Expr,
        resolution: Option<Resolution>,
    ) -> Option<ValueId> {
        match op {
            BinaryOp::And | BinaryOp::Or => {
                let result = self.b.local("", Type::Scalar(ScalarType::Bool));
                let l = self.expr(lhs)?;
                self.b.set(result, l);
                self.b.begin_block();
                if let Some(r) = self.expr(rhs) {
                    self.b.set(result, r);
                }
                let evaluate_rhs = self.b.end_block();
                let (then_block, else_block) = if op == BinaryOp::And {
                    (evaluate_rhs, IrBlock::default())
                } else {
                    (IrBlock::default(), evaluate_rhs)
                };
                self.b.if_else(l, then_block, else_block);
                Some(self.b.get(result))
            }
            op if op.is_comparison() => {
                let l = self.expr(lhs)?;
                let r = self.expr(rhs)?;
                let cmp = match op {
                    BinaryOp::Eq => CmpOp::Eq,
                    BinaryOp::Ne => CmpOp::Ne,
                    BinaryOp::Lt => CmpOp::Lt,
                    BinaryOp::Le => CmpOp::Le,
                    BinaryOp::Gt => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                Some(self.b.cmp(cmp, l, r))
            }
            _ => {
                let l = self.expr(lhs)?;
                let r = self.expr(rhs)?;
                let t = self.scalar_ty(e);
                if let Some(Resolution::FloatRem(key)) = resolution {
                    let f = self.lowering.request(key, vec![]);
                    return Some(self.b.value(
                        InstKind::Call {
                            callee: f,
                            args: vec![Arg::Value(l), Arg::Value(r)],
                        },
                        t,
                    ));
                }
                Some(self.b.value(InstKind::Binary(arith_op(op), l, r), t))
            }
        }
    }

    pub(super) fn assign(&mut self, target: &Expr, value: ValueId) {
        let target = strip_parens(target);
        match self.typed.resolutions.get(&target.id).cloned() {
            Some(Resolution::Local(b)) => {
                let local = self.local_for(b);
                self.b.set(local, value);
            }
            Some(Resolution::Host(_)) => self.host_set(target, value),
            Some(Resolution::ArrayIndex(b)) => {
                let (_, indices) = flatten_index(target);
                let mut values = Vec::new();
                for i in indices {
                    match self.expr(i) {
                        Some(v) => values.push(v),
                        None => return,
                    }
                }
                let array = self.local_for(b);
                self.b.inst(InstKind::Store {
                    array,
                    indices: values,
                    value,
                    checked: true,
                });
            }
            _ => {}
        }
    }
}

pub(super) fn arith_op(op: BinaryOp) -> IrBin {
    match op {
        BinaryOp::Add => IrBin::Add,
        BinaryOp::Sub => IrBin::Sub,
        BinaryOp::Mul => IrBin::Mul,
        BinaryOp::Div => IrBin::Div,
        BinaryOp::Rem => IrBin::Rem,
        BinaryOp::BitAnd | BinaryOp::And => IrBin::And,
        BinaryOp::BitOr | BinaryOp::Or => IrBin::Or,
        BinaryOp::BitXor => IrBin::Xor,
        BinaryOp::Shl => IrBin::Shl,
        _ => IrBin::Shr,
    }
}
