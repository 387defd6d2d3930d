//! Lowering of one checked function body (statements and expressions) into IR
//! with a `FunctionBuilder`. Control flow maps onto structured `If`/`Loop`;
//! short-circuit operators and `if` expressions go through result locals; `for`
//! loops evaluate their bounds once and step in the loop's latch without overflow.
//!
//! This file owns the entry points and the lowerer's state (the builder, the
//! locals of bindings); the walk is split by concern: `control_flow` (blocks,
//! statements, `if`, `for`), `expressions` (operators, assignments), `calls`
//! (functions, intrinsics, methods, macros), `host` (host arrays) and `kernels`
//! (SPMD builtins, launches).

use crate::collections::HashMap;

mod calls;
mod control_flow;
mod expressions;
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
        locals: HashMap::default(),
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
        locals: HashMap::default(),
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
}

/// `(&x)`, `&mut x` → `x`.
fn strip_ref(e: &Expr) -> &Expr {
    match &e.kind {
        ExprKind::Paren(inner) => strip_ref(inner),
        ExprKind::Ref { expr, .. } => strip_ref(expr),
        _ => e,
    }
}

fn float_value(t: ScalarType, x: f64) -> ScalarValue {
    if t == ScalarType::F32 {
        ScalarValue::F32(x as f32)
    } else {
        ScalarValue::F64(x)
    }
}
