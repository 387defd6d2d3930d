//! Lowering of one checked function body (statements and expressions) into IR
//! with a `FunctionBuilder`. Control flow maps onto structured `If`/`Loop`;
//! short-circuit operators and `if` expressions go through result locals; `for`
//! loops evaluate their bounds once and step in the loop's latch without overflow.

use std::collections::HashMap;

mod host;
mod kernels;

use super::Lowering;
use crate::diagnostics::Span;
use crate::ir::build::FunctionBuilder;
use crate::ir::{
    Arg, ArrayType, BinaryOp as IrBin, Block as IrBlock, CmpOp, Function, InstKind, LocalId, Type,
    UnaryOp as IrUn, ValueId,
};
use crate::scalar::{ScalarType, ScalarValue};
use crate::syntax::ast::*;
use crate::types::check::{BindingId, Resolution, TypedBody};
use crate::types::infer::Ty;
use crate::types::methods::MethodResolution;

pub(super) fn lower_function(
    lowering: &mut Lowering,
    typed: &TypedBody,
    decl: &FnDecl,
    builder: FunctionBuilder,
) -> Function {
    let mut l = BodyLowerer {
        lowering,
        typed,
        b: builder,
        locals: HashMap::new(),
    };
    for id in &typed.params {
        let binding = &typed.bindings[id.0 as usize];
        let ty = ir_type(binding.ty);
        let local = l.b.param(binding.name.clone(), ty);
        l.locals.insert(*id, local);
    }
    l.b.current_span = decl.body.span;
    let value = l.block(&decl.body);
    if !l.b.is_terminated() {
        l.b.current_span = Span::new(
            decl.body.span.file,
            decl.body.span.end as usize - 1,
            decl.body.span.end as usize,
        );
        l.b.inst(InstKind::Return(value));
    }
    l.b.finish()
}

/// Lowers a constant initializer into a function returning its value.
pub(super) fn lower_const_expr(
    lowering: &mut Lowering,
    typed: &TypedBody,
    expr: &Expr,
    builder: FunctionBuilder,
) -> Option<Function> {
    let mut l = BodyLowerer {
        lowering,
        typed,
        b: builder,
        locals: HashMap::new(),
    };
    let v = l.expr(expr)?;
    l.b.inst(InstKind::Return(Some(v)));
    Some(l.b.finish())
}

fn ir_type(ty: Ty) -> Type {
    match ty {
        Ty::Scalar(t) => Type::Scalar(t),
        Ty::Array {
            elem,
            rank,
            mutable,
        } => Type::Array(ArrayType {
            elem,
            rank,
            mutable,
        }),
        Ty::HostArray(elem) => Type::HostArray(elem),
        // Only reachable for bodies with errors, which are never lowered.
        _ => Type::Scalar(ScalarType::Bool),
    }
}

struct BodyLowerer<'l, 'e, 'a, 't> {
    lowering: &'l mut Lowering<'e, 'a>,
    typed: &'t TypedBody,
    b: FunctionBuilder,
    locals: HashMap<BindingId, LocalId>,
}

impl BodyLowerer<'_, '_, '_, '_> {
    fn scalar_ty(&self, e: &Expr) -> ScalarType {
        match self.typed.ty(e) {
            Ty::Scalar(t) => t,
            _ => ScalarType::Bool,
        }
    }

    fn local_for(&mut self, id: BindingId) -> LocalId {
        if let Some(l) = self.locals.get(&id) {
            return *l;
        }
        let binding = &self.typed.bindings[id.0 as usize];
        let local = self.b.local(binding.name.clone(), ir_type(binding.ty));
        self.locals.insert(id, local);
        local
    }

    fn constant(&mut self, v: ScalarValue) -> ValueId {
        self.b.constant(v)
    }

    fn block(&mut self, block: &Block) -> Option<ValueId> {
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

    /// Lowers an expression; `None` for unit, diverging or failed expressions.
    fn expr(&mut self, e: &Expr) -> Option<ValueId> {
        if self.b.is_terminated() {
            return None;
        }
        let saved = self.b.current_span;
        self.b.current_span = e.span;
        let v = self.expr_kind(e);
        self.b.current_span = saved;
        v
    }

    fn expr_kind(&mut self, e: &Expr) -> Option<ValueId> {
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
    fn dummy_return(&mut self) -> Option<ValueId> {
        let ret = self.typed.ret;
        match ret {
            Ty::Scalar(t) => Some(self.constant(ScalarValue::zero(t))),
            _ => None,
        }
    }

    fn literal(&mut self, e: &Expr, lit: &Literal, negated: bool) -> Option<ValueId> {
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

    fn binary(
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
                self.b.inst(InstKind::If {
                    cond: l,
                    then_block,
                    else_block,
                });
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

    fn assign(&mut self, target: &Expr, value: ValueId) {
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

    fn call(
        &mut self,
        e: &Expr,
        key: crate::types::env::FnKey,
        type_args: &[Ty],
        receiver: Option<&Expr>,
        args: &[Expr],
    ) -> Option<ValueId> {
        let type_args: Vec<ScalarType> = type_args
            .iter()
            .map(|t| match t {
                Ty::Scalar(s) => *s,
                _ => ScalarType::F64,
            })
            .collect();
        let callee = self.lowering.request(key, type_args);
        let mut values = Vec::new();
        for a in receiver.into_iter().chain(args.iter()) {
            match self.typed.ty(a) {
                Ty::HostArray(_) => values.push(Arg::Array(self.host_array_operand(a)?)),
                Ty::Array { .. } => {
                    let Some(Resolution::Local(b)) =
                        self.typed.resolutions.get(&strip_ref(a).id).cloned()
                    else {
                        return None;
                    };
                    let local = self.local_for(b);
                    values.push(Arg::Array(local));
                }
                _ => values.push(Arg::Value(self.expr(a)?)),
            }
        }
        self.b.current_span = e.span;
        match self.typed.ty(e) {
            Ty::Scalar(t) => Some(self.b.value(
                InstKind::Call {
                    callee,
                    args: values,
                },
                t,
            )),
            _ => {
                self.b.inst(InstKind::Call {
                    callee,
                    args: values,
                });
                None
            }
        }
    }

    fn builtin_method(
        &mut self,
        e: &Expr,
        m: MethodResolution,
        receiver: &Expr,
        args: &[Expr],
    ) -> Option<ValueId> {
        let x = self.expr(receiver)?;
        let t = self.scalar_ty(receiver);
        let mut arg_values = Vec::new();
        for a in args {
            arg_values.push(self.expr(a)?);
        }
        let bits_of = |l: &mut Self, v: ValueId| {
            l.b.value(InstKind::Bitcast(v, t.bits_type()), t.bits_type())
        };
        let result = match m {
            MethodResolution::Intrinsic(i, _) => {
                let mut all = vec![x];
                all.extend(arg_values);
                self.b.value(InstKind::Intrinsic(i, all), t)
            }
            MethodResolution::ToBits => bits_of(self, x),
            MethodResolution::IsNan => self.b.cmp(CmpOp::Ne, x, x),
            MethodResolution::IsInfinite | MethodResolution::IsFinite => {
                let abs = self
                    .b
                    .value(InstKind::Intrinsic(crate::ir::Intrinsic::Abs, vec![x]), t);
                let inf = self.constant(float_value(t, f64::INFINITY));
                if m == MethodResolution::IsInfinite {
                    self.b.cmp(CmpOp::Eq, abs, inf)
                } else {
                    self.b.cmp(CmpOp::Lt, abs, inf)
                }
            }
            MethodResolution::IsSignNegative | MethodResolution::IsSignPositive => {
                let bits = bits_of(self, x);
                let shift = self.constant(ScalarValue::U32(t.bits() - 1));
                let sign = self
                    .b
                    .value(InstKind::Binary(IrBin::Shr, bits, shift), t.bits_type());
                let zero = self.constant(ScalarValue::zero(t.bits_type()));
                if m == MethodResolution::IsSignNegative {
                    self.b.cmp(CmpOp::Ne, sign, zero)
                } else {
                    self.b.cmp(CmpOp::Eq, sign, zero)
                }
            }
            MethodResolution::WrappingAdd => self
                .b
                .value(InstKind::Binary(IrBin::Add, x, arg_values[0]), t),
            MethodResolution::WrappingSub => self
                .b
                .value(InstKind::Binary(IrBin::Sub, x, arg_values[0]), t),
            MethodResolution::WrappingMul => self
                .b
                .value(InstKind::Binary(IrBin::Mul, x, arg_values[0]), t),
            MethodResolution::WrappingNeg => self.b.value(InstKind::Unary(IrUn::Neg, x), t),
        };
        let _ = e;
        Some(result)
    }

    fn if_expr(
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
        self.b.inst(InstKind::If {
            cond: c,
            then_block,
            else_block,
        });
        if matches!(self.typed.ty(e), Ty::Never) {
            let dummy = self.dummy_return();
            self.b.inst(InstKind::Return(dummy));
            return None;
        }
        result.map(|r| self.b.get(r))
    }

    fn for_loop(
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
                self.b.inst(InstKind::If {
                    cond: at_end,
                    then_block: stop,
                    else_block: advance,
                });
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
                self.b.inst(InstKind::If {
                    cond: stop,
                    then_block: stop_block,
                    else_block: advance,
                });
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

    fn macro_call(
        &mut self,
        e: &Expr,
        name: &Ident,
        args: &[Expr],
        resolution: Option<Resolution>,
    ) {
        match name.name.as_str() {
            "println" | "print" => {
                let Some(Resolution::Print { pieces, newline }) = resolution else {
                    return;
                };
                let rest = if args.is_empty() { args } else { &args[1..] };
                if rest
                    .iter()
                    .any(|a| matches!(self.typed.ty(a), Ty::HostArray(_)))
                {
                    self.host_print(e, pieces, newline, rest);
                    return;
                }
                let mut values = Vec::new();
                for a in rest {
                    match self.expr(a) {
                        Some(v) => values.push(v),
                        None => return,
                    }
                }
                self.b.current_span = e.span;
                self.b.inst(InstKind::Print {
                    pieces,
                    args: values,
                    newline,
                });
            }
            "assert" => {
                let Some(c) = self.expr(&args[0]) else { return };
                let message = match args.get(1).map(|a| &a.kind) {
                    Some(ExprKind::Lit(Literal {
                        kind: LitKind::Str(s),
                        ..
                    })) => s.clone(),
                    _ => "the condition is false".to_string(),
                };
                self.b.current_span = e.span;
                self.b.inst(InstKind::Assert { cond: c, message });
            }
            "assert_eq" => {
                let Some(a) = self.expr(&args[0]) else { return };
                let Some(b) = self.expr(&args[1]) else { return };
                let c = self.b.cmp(CmpOp::Eq, a, b);
                self.b.current_span = e.span;
                self.b.inst(InstKind::Assert {
                    cond: c,
                    message: "`left == right`".into(),
                });
            }
            _ => {}
        }
    }
}

fn arith_op(op: BinaryOp) -> IrBin {
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

fn float_value(t: ScalarType, x: f64) -> ScalarValue {
    if t == ScalarType::F32 {
        ScalarValue::F32(x as f32)
    } else {
        ScalarValue::F64(x)
    }
}

/// `(&x)`, `&mut x` → `x`.
fn strip_ref(e: &Expr) -> &Expr {
    match &e.kind {
        ExprKind::Paren(inner) => strip_ref(inner),
        ExprKind::Ref { expr, .. } => strip_ref(expr),
        _ => e,
    }
}

fn strip_parens(e: &Expr) -> &Expr {
    match &e.kind {
        ExprKind::Paren(inner) => strip_parens(inner),
        _ => e,
    }
}

/// `a[i][j]` → (`a`, [`i`, `j`]).
fn flatten_index(e: &Expr) -> (&Expr, Vec<&Expr>) {
    let mut indices = Vec::new();
    let mut base = e;
    while let ExprKind::Index { base: b, index } = &base.kind {
        indices.push(index.as_ref());
        base = b;
    }
    indices.reverse();
    (base, indices)
}
