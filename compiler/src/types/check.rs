//! Checking one function body (one instance of it, for generics).
//!
//! Walks the AST of a function with generic parameters substituted, infers the type
//! of every expression, resolves every name and method, and reports errors. The
//! result, a [`TypedBody`], is a set of side tables keyed by `ExprId` that lowering
//! reads; the AST itself is never changed. Knows nothing of IR construction.

use std::collections::HashMap;

use super::env::{ConstKey, Env, FnKey, Namespace};
use super::infer::{Inference, Ty, VarKind};
use super::methods::{self, MethodResolution};
use crate::diagnostics::{Diagnostic, Span};
use crate::ir::{FormatPiece, Intrinsic};
use crate::syntax::ast::*;
use crate::types::format_string::parse_format_string;
use crate::types::{ScalarType, ScalarValue};

mod host_arrays;
mod host_gufunc;
mod host_jobs;
mod host_mpi;
mod kernels;
mod npy_header;
pub use host_arrays::{HostMethod, HostResolution};
pub use host_jobs::JobsCall;
pub use kernels::SpmdResolution;

/// Index of a variable binding (parameter, `let`, loop variable) in a body.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BindingId(pub u32);

#[derive(Clone, Debug)]
pub struct Binding {
    pub name: String,
    pub ty: Ty,
    pub mutable: bool,
    pub span: Span,
    /// For a named array dimension (`N` in `&[f64; N]`): the array binding and axis.
    pub dim_of: Option<(BindingId, u8)>,
}

/// What a name, call or method in the body refers to.
#[derive(Clone, Debug, PartialEq)]
pub enum Resolution {
    Local(BindingId),
    /// A scalar `const` item.
    Const(ConstKey),
    /// `PI`, `f64::MAX`, ...: a constant whose type is the expression's type.
    BuiltinFloat(f64),
    BuiltinValue(ScalarValue),
    /// A call of a kern function with its generic arguments (in declaration order).
    Call(FnKey, Vec<Ty>),
    Intrinsic(Intrinsic),
    /// Other methods handled directly by lowering.
    Method(MethodResolution),
    /// `T[i]` on a constant table.
    ConstIndex(ConstKey),
    /// `a[i][j]` on an array parameter: the outermost `Index` expression.
    ArrayIndex(BindingId),
    /// `a.len()`
    ArrayLen(BindingId),
    /// `f64::from_bits(x)` / `f32::from_bits(x)`
    FromBits(ScalarType),
    /// `println!` / `print!` with the parsed format string.
    Print {
        pieces: Vec<FormatPiece>,
        newline: bool,
    },
    /// Float `%`: a call of the stdlib's `fmod_*`.
    FloatRem(FnKey),
    /// A host-array builtin, method, index or ufunc call in `main`.
    Host(HostResolution),
    /// An SPMD builtin in a `#[kernel]`, or a kernel launch in `main`.
    Spmd(SpmdResolution),
}

/// The checker's output for one function instance.
#[derive(Default)]
pub struct TypedBody {
    pub expr_types: HashMap<ExprId, Ty>,
    pub resolutions: HashMap<ExprId, Resolution>,
    pub bindings: Vec<Binding>,
    /// `let` and `for` bindings by the start offset of their name.
    pub binding_at: HashMap<u32, BindingId>,
    pub params: Vec<BindingId>,
    pub ret: Ty,
}

impl TypedBody {
    pub fn ty(&self, e: &Expr) -> Ty {
        self.expr_types.get(&e.id).copied().unwrap_or(Ty::Error)
    }
}

pub struct FnChecker<'e, 'a> {
    env: &'e Env<'a>,
    namespace: Namespace,
    generics: HashMap<String, ScalarType>,
    inf: Inference,
    scopes: Vec<HashMap<String, BindingId>>,
    body: TypedBody,
    /// Integer literals and whether they are directly negated, for range checks.
    int_literals: Vec<(ExprId, u128, bool, Span)>,
    loops: Vec<bool>,
    pub errors: Vec<Diagnostic>,
    /// Checking host code (`fn main`): host arrays are allowed.
    host: bool,
    /// The element type a `let x: Array<T> = init` annotation gives `init`.
    array_hint: Option<(ExprId, ScalarType)>,
    /// Types of the arguments of the next `call_function`, when already checked.
    prechecked_args: Option<Vec<Ty>>,
    /// Checking a `#[kernel]` body: SPMD builtins are allowed.
    kernel: bool,
}

impl<'e, 'a> FnChecker<'e, 'a> {
    pub fn new(
        env: &'e Env<'a>,
        namespace: Namespace,
        generics: HashMap<String, ScalarType>,
    ) -> FnChecker<'e, 'a> {
        FnChecker {
            env,
            namespace,
            generics,
            inf: Inference::default(),
            scopes: vec![HashMap::new()],
            body: TypedBody::default(),
            int_literals: Vec::new(),
            loops: Vec::new(),
            errors: Vec::new(),
            host: false,
            array_hint: None,
            prechecked_args: None,
            kernel: false,
        }
    }

    fn error(&mut self, span: Span, message: impl Into<String>) -> Ty {
        self.errors.push(Diagnostic::error(span, message));
        Ty::Error
    }

    fn mismatch(&mut self, span: Span, expected: Ty, found: Ty) {
        let (e, f) = (self.inf.describe(expected), self.inf.describe(found));
        self.errors.push(
            Diagnostic::error(span, "mismatched types")
                .with_label(format!("expected `{e}`, found `{f}`")),
        );
    }

    /// Unifies `found` with `expected`, reporting a mismatch at `span`.
    fn expect(&mut self, found: Ty, expected: Ty, span: Span) {
        if self.inf.unify(found, expected).is_err() {
            self.mismatch(span, expected, found);
        }
    }

    // ---- types written in source ----------------------------------------------

    /// The scalar type a type expression names (with generics substituted).
    pub fn scalar_type(&mut self, ty: &TypeExpr) -> Option<ScalarType> {
        match &ty.kind {
            TypeExprKind::Named(name) => {
                if let Some(t) = self.generics.get(&name.name) {
                    return Some(*t);
                }
                match ScalarType::from_name(&name.name) {
                    Some(t) => Some(t),
                    None => {
                        self.error(
                            name.span,
                            format!("cannot find type `{}` in this scope", name.name),
                        );
                        None
                    }
                }
            }
            TypeExprKind::Generic { .. } => {
                self.host_array_type_error(ty.span);
                None
            }
            _ => {
                self.error(ty.span, "expected a scalar type here");
                None
            }
        }
    }

    /// A parameter type: a scalar, or an array reference (`&[T]`, `&mut [[T; N]; M]`),
    /// with the names of its dimensions from the outermost axis in.
    fn param_type(&mut self, ty: &TypeExpr) -> (Ty, Vec<Option<Ident>>) {
        match &ty.kind {
            TypeExprKind::Named(_) => (self.scalar_type(ty).map_or(Ty::Error, Ty::Scalar), vec![]),
            TypeExprKind::Ref { mutable, inner } => {
                let mut dims = Vec::new();
                let mut current: &TypeExpr = inner;
                loop {
                    match &current.kind {
                        TypeExprKind::Slice(elem) => {
                            dims.push(None);
                            current = elem;
                        }
                        TypeExprKind::Array { elem, len } => {
                            dims.push(match len {
                                ArrayLen::Named(n) => Some(n.clone()),
                                ArrayLen::Literal(..) => None,
                            });
                            current = elem;
                        }
                        _ => break,
                    }
                }
                if dims.is_empty() {
                    return (
                        self.error(
                            ty.span,
                            "references to scalars are not supported; pass the value",
                        ),
                        vec![],
                    );
                }
                if dims.len() > crate::ir::MAX_RANK {
                    return (
                        self.error(ty.span, "arrays of rank above 8 are not supported"),
                        vec![],
                    );
                }
                match self.scalar_type(current) {
                    Some(elem) => (
                        Ty::Array {
                            elem,
                            rank: dims.len() as u8,
                            mutable: *mutable,
                        },
                        dims,
                    ),
                    None => (Ty::Error, vec![]),
                }
            }
            TypeExprKind::Unit => (Ty::Unit, vec![]),
            TypeExprKind::Generic { .. } => (self.host_array_type_error(ty.span), vec![]),
            _ => (
                self.error(
                    ty.span,
                    "array parameters are passed by reference: write `&[T]`",
                ),
                vec![],
            ),
        }
    }

    // ---- bindings --------------------------------------------------------------

    fn bind(
        &mut self,
        name: &Ident,
        ty: Ty,
        mutable: bool,
        dim_of: Option<(BindingId, u8)>,
    ) -> BindingId {
        let id = BindingId(self.body.bindings.len() as u32);
        self.body.bindings.push(Binding {
            name: name.name.clone(),
            ty,
            mutable,
            span: name.span,
            dim_of,
        });
        self.body.binding_at.insert(name.span.start, id);
        if let Some(scope) = self.scopes.last_mut() {
            scope.insert(name.name.clone(), id);
        }
        id
    }

    fn lookup(&self, name: &str) -> Option<BindingId> {
        self.scopes.iter().rev().find_map(|s| s.get(name).copied())
    }

    // ---- functions -------------------------------------------------------------

    /// Checks a whole function; returns the typed body (errors are in `self.errors`).
    pub fn check_function(mut self, decl: &FnDecl) -> (TypedBody, Vec<Diagnostic>) {
        self.host = self.namespace == Namespace::User
            && decl.name.name == "main"
            && decl.attrs.is_empty()
            && decl.generics.is_empty();
        self.kernel = kernels::is_kernel(decl);
        for param in &decl.params {
            let (ty, dims) = self.param_type(&param.ty);
            let id = self.bind(&param.name, ty, param.mutable, None);
            self.body.params.push(id);
            for (axis, dim) in dims.iter().enumerate() {
                if let Some(dim) = dim {
                    if self
                        .lookup(&dim.name)
                        .is_none_or(|b| self.body.bindings[b.0 as usize].dim_of.is_none())
                    {
                        self.bind(
                            dim,
                            Ty::Scalar(ScalarType::Usize),
                            false,
                            Some((id, axis as u8)),
                        );
                    }
                }
            }
        }
        let ret = match &decl.ret {
            None => Ty::Unit,
            Some(t) => match self.scalar_type(t) {
                Some(s) => Ty::Scalar(s),
                None => Ty::Error,
            },
        };
        self.body.ret = ret;
        let body_ty = self.block(&decl.body);
        if self.inf.unify(body_ty, ret).is_err() {
            let end = decl.body.span.end as usize;
            let span = decl.body.tail.as_ref().map_or(
                Span::new(decl.body.span.file, end.saturating_sub(1), end),
                |t| t.span,
            );
            let (e, f) = (self.inf.describe(ret), self.inf.describe(body_ty));
            let mut d = Diagnostic::error(span, "mismatched types")
                .with_label(format!("expected `{e}`, found `{f}`"));
            if let Some(r) = &decl.ret {
                d = d.with_secondary(
                    r.span,
                    format!("expected `{e}` because of this return type"),
                );
            }
            if body_ty == Ty::Unit && ret != Ty::Unit {
                d = d.with_note("the function must return a value on every path");
            }
            self.errors.push(d);
        }
        self.finish()
    }

    /// Checks a `const` initializer against its declared type.
    pub fn check_const_expr(mut self, expr: &Expr, ty: Ty) -> (TypedBody, Vec<Diagnostic>) {
        let found = self.expr(expr);
        self.expect(found, ty, expr.span);
        self.body.ret = ty;
        self.finish()
    }

    /// Defaults literal variables, checks literal ranges, resolves every type.
    fn finish(mut self) -> (TypedBody, Vec<Diagnostic>) {
        let ids: Vec<ExprId> = self.body.expr_types.keys().copied().collect();
        for id in ids {
            let ty = self.body.expr_types[&id];
            let resolved = self.resolve_final(ty);
            self.body.expr_types.insert(id, resolved);
        }
        for i in 0..self.body.bindings.len() {
            let ty = self.body.bindings[i].ty;
            let resolved = self.resolve_final(ty);
            if let Ty::Var(_) = resolved {
                let span = self.body.bindings[i].span;
                let name = self.body.bindings[i].name.clone();
                self.error(span, format!("type annotations needed for `{name}`"));
            }
            self.body.bindings[i].ty = resolved;
        }
        for resolution in self.body.resolutions.values_mut() {
            if let Resolution::Call(_, args) = resolution {
                for a in args.iter_mut() {
                    let ty = self.inf.default_var(*a);
                    *a = ty;
                }
            }
        }
        for (id, value, negated, span) in std::mem::take(&mut self.int_literals) {
            if let Some(Ty::Scalar(t)) = self.body.expr_types.get(&id).copied() {
                if !int_fits(value, negated, t) {
                    self.error(span, format!("literal out of range for `{t}`"));
                }
            }
        }
        (self.body, self.errors)
    }

    fn resolve_final(&mut self, ty: Ty) -> Ty {
        self.inf.default_var(ty)
    }

    fn record(&mut self, e: &Expr, ty: Ty) -> Ty {
        self.body.expr_types.insert(e.id, ty);
        ty
    }

    fn resolve(&mut self, e: &Expr, r: Resolution) {
        self.body.resolutions.insert(e.id, r);
    }

    // ---- blocks and statements -------------------------------------------------

    fn block(&mut self, block: &Block) -> Ty {
        self.scopes.push(HashMap::new());
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

    fn mismatch_unit(&mut self, span: Span, found: &str) {
        self.errors.push(
            Diagnostic::error(span, "mismatched types")
                .with_label(format!("expected `()`, found `{found}`"))
                .with_note("help: add `;` after this expression to discard its value"),
        );
    }

    // ---- expressions -----------------------------------------------------------

    fn expr(&mut self, e: &Expr) -> Ty {
        let ty = self.expr_kind(e);
        self.record(e, ty)
    }

    fn expr_kind(&mut self, e: &Expr) -> Ty {
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
                self.scopes.push(HashMap::new());
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

    /// Checks a loop body; returns whether it contains a `break` for this loop.
    fn loop_body(&mut self, body: &Block) -> bool {
        self.loops.push(false);
        let t = self.block(body);
        if self.inf.unify(t, Ty::Unit).is_err() {
            let d = self.inf.describe(t);
            self.mismatch_unit(body.span, &d);
        }
        self.loops.pop().unwrap_or(false)
    }

    fn literal(&mut self, e: &Expr, lit: &Literal, negated: bool) -> Ty {
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

    fn path(&mut self, e: &Expr, segments: &[Ident]) -> Ty {
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

    fn unary(&mut self, e: &Expr, op: UnaryOp, operand: &Expr) -> Ty {
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
                if self.inf.resolve(t) == Ty::Scalar(ScalarType::Bool)
                    || self.inf.constrain(t, VarKind::Int).is_ok()
                {
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

    fn binary(&mut self, e: &Expr, op: BinaryOp, lhs: &Expr, rhs: &Expr) -> Ty {
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
                    if let Ty::Scalar(s) = self.inf.resolve(t) {
                        if s.is_float() {
                            self.float_rem(e, s);
                        }
                    } else if self.inf.var_kind(t) == Some(VarKind::Float) {
                        let s = self.inf.scalar(t).unwrap_or(ScalarType::F64);
                        self.float_rem(e, s);
                    }
                }
                t
            }
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
    fn arithmetic(&mut self, e: &Expr, op: BinaryOp, l: Ty, r: Ty, rhs_span: Span) -> Ty {
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
                if self.inf.resolve(l) == Ty::Scalar(ScalarType::Bool)
                    || self.inf.constrain(l, VarKind::Int).is_ok()
                {
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

    /// An assignable place: a mutable local or an element of a `&mut` array.
    fn place(&mut self, target: &Expr) -> Ty {
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

    fn cast(&mut self, expr: &Expr, ty: &TypeExpr) -> Ty {
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

    fn call(&mut self, e: &Expr, callee: &Expr, args: &[Expr]) -> Ty {
        let ExprKind::Path(segments) = &callee.kind else {
            for a in args {
                self.expr(a);
            }
            return self.error(callee.span, "only named functions can be called");
        };
        let names: Vec<&str> = segments.iter().map(|s| s.name.as_str()).collect();
        if let [ty, "from_bits"] = names.as_slice() {
            if let Some(t @ (ScalarType::F32 | ScalarType::F64)) = ScalarType::from_name(ty) {
                if args.len() != 1 {
                    return self.arity_error(e.span, &format!("{ty}::from_bits"), 1, args.len());
                }
                let a = self.expr(&args[0]);
                self.expect(a, Ty::Scalar(t.bits_type()), args[0].span);
                self.resolve(e, Resolution::FromBits(t));
                return Ty::Scalar(t);
            }
        }
        if let Some(t) = self.spmd_call(e, &names, args) {
            return t;
        }
        if let Some(t) = self.host_call(e, callee, &names, args) {
            return t;
        }
        let full = names.join("::");
        let key = if names.len() == 1 {
            self.env.find_fn(self.namespace, &full)
        } else if names.len() == 2 {
            self.env.find_fn(Namespace::Stdlib, &full)
        } else {
            None
        };
        let Some(key) = key else {
            for a in args {
                self.expr(a);
            }
            if names.len() == 1 && self.lookup(&full).is_some() {
                return self.error(
                    callee.span,
                    format!("`{full}` is a variable, not a function"),
                );
            }
            self.errors.push(
                Diagnostic::error(
                    callee.span,
                    format!("cannot find function `{full}` in this scope"),
                )
                .with_label("not found in this scope"),
            );
            return Ty::Error;
        };
        if let Some(t) = self.kernel_called(e, key, &full, args) {
            return t;
        }
        if self.host {
            if let Some(t) = self.host_ufunc_call(e, key, &full, args) {
                return t;
            }
        }
        self.call_function(e, key, &full, None, args)
    }

    /// Checks a call of kern function `key` with `args` (plus an already-checked
    /// receiver for method syntax).
    fn call_function(
        &mut self,
        e: &Expr,
        key: FnKey,
        name: &str,
        receiver: Option<(Ty, Span)>,
        args: &[Expr],
    ) -> Ty {
        let decl = self.env.function(key).decl;
        let given = args.len() + receiver.is_some() as usize;
        if decl.params.len() != given {
            for a in args {
                self.expr(a);
            }
            let n = decl.params.len() - receiver.is_some() as usize;
            return self.arity_error(e.span, name, n, args.len());
        }
        if decl.name.name == "main" && self.env.function(key).namespace == Namespace::User {
            return self.error(e.span, "`main` cannot be called");
        }
        // Generic parameters become inference variables of their bound's kind.
        let mut generic_vars: HashMap<String, Ty> = HashMap::new();
        let mut generic_args = Vec::new();
        for g in &decl.generics {
            let kind = match g.bound.as_ref().map(|b| b.name.as_str()) {
                Some("Float") => VarKind::Float,
                Some("Int") => VarKind::Int,
                _ => VarKind::Num,
            };
            let v = self.inf.fresh(kind);
            generic_vars.insert(g.name.name.clone(), v);
            generic_args.push(v);
        }
        let callee_namespace = self.env.function(key).namespace;
        let param_ty = |checker: &mut Self, ty: &TypeExpr| -> Ty {
            if let TypeExprKind::Named(n) = &ty.kind {
                if let Some(v) = generic_vars.get(&n.name) {
                    return *v;
                }
            }
            // Types in the callee's signature are resolved without the caller's generics.
            let saved = std::mem::take(&mut checker.generics);
            let saved_ns = checker.namespace;
            checker.namespace = callee_namespace;
            let (t, _) = checker.param_type(ty);
            checker.generics = saved;
            checker.namespace = saved_ns;
            t
        };
        let mut params = decl.params.iter();
        if let Some((rt, rspan)) = receiver {
            if let Some(p) = params.next() {
                let pt = param_ty(self, &p.ty);
                self.expect(rt, pt, rspan);
            }
        }
        for (i, (arg, param)) in args.iter().zip(params).enumerate() {
            let pt = param_ty(self, &param.ty);
            let at = match &self.prechecked_args {
                Some(types) => types[i],
                None => self.arg_expr(arg),
            };
            match (self.inf.resolve(pt), self.inf.resolve(at)) {
                (Ty::Array { elem, mutable, .. }, Ty::HostArray(ae)) => {
                    self.host_array_argument(arg, pt, at, elem == ae, mutable);
                }
                (
                    Ty::Array {
                        elem,
                        rank,
                        mutable,
                    },
                    Ty::Array {
                        elem: ae,
                        rank: ar,
                        mutable: am,
                    },
                ) => {
                    if elem != ae || rank != ar || (mutable && !am) {
                        self.mismatch(arg.span, pt, at);
                    }
                }
                _ => self.expect(at, pt, arg.span),
            }
        }
        self.prechecked_args = None;
        let ret = match &decl.ret {
            None => Ty::Unit,
            Some(t) => param_ty(self, t),
        };
        self.resolve(e, Resolution::Call(key, generic_args));
        ret
    }

    fn arity_error(&mut self, span: Span, name: &str, expected: usize, given: usize) -> Ty {
        let s = |n: usize| if n == 1 { "" } else { "s" };
        self.errors.push(
            Diagnostic::error(
                span,
                format!(
                    "this function takes {expected} argument{} but {given} argument{} {} supplied",
                    s(expected),
                    s(given),
                    if given == 1 { "was" } else { "were" }
                ),
            )
            .with_label(format!(
                "`{name}` expects {expected} argument{}",
                s(expected)
            )),
        );
        Ty::Error
    }

    fn method_call(&mut self, e: &Expr, receiver: &Expr, method: &Ident, args: &[Expr]) -> Ty {
        if self.host {
            if let Some(t) = self.kernel_launch(e, receiver, method, args) {
                return t;
            }
            if let Some(t) = self.host_ufunc_method(e, receiver, method, args) {
                return t;
            }
        }
        let r = self.expr(receiver);
        if let Ty::HostArray(elem) = self.inf.resolve(r) {
            return self.host_method(e, receiver, elem, method, args);
        }
        if let Ty::Array { .. } = self.inf.resolve(r) {
            if method.name == "len" && args.is_empty() {
                if let Some(Resolution::Local(b)) = self.body.resolutions.get(&receiver.id).cloned()
                {
                    self.resolve(e, Resolution::ArrayLen(b));
                    return Ty::Scalar(ScalarType::Usize);
                }
            }
            return self.error(
                method.span,
                format!("no method named `{}` found for arrays", method.name),
            );
        }
        let Some(t) = self.inf.scalar(r) else {
            for a in args {
                self.expr(a);
            }
            if self.inf.resolve(r) == Ty::Error {
                return Ty::Error;
            }
            let d = self.inf.describe(r);
            return self.error(
                method.span,
                format!("no method named `{}` found for type `{d}`", method.name),
            );
        };
        match methods::resolve_method(t, &method.name) {
            Some(MethodResolution::Intrinsic(i, arity)) => {
                if args.len() + 1 != arity {
                    return self.arity_error(e.span, &method.name, arity - 1, args.len());
                }
                for a in args {
                    let at = self.expr(a);
                    self.expect(at, Ty::Scalar(t), a.span);
                }
                self.resolve(e, Resolution::Intrinsic(i));
                Ty::Scalar(t)
            }
            Some(m) => {
                let (params, ret) = m.signature(t);
                if args.len() != params.len() {
                    return self.arity_error(e.span, &method.name, params.len(), args.len());
                }
                for (a, p) in args.iter().zip(params) {
                    let at = self.expr(a);
                    self.expect(at, Ty::Scalar(p), a.span);
                }
                self.resolve(e, Resolution::Method(m));
                Ty::Scalar(ret)
            }
            None => {
                let stdlib_name = if t.is_float() {
                    format!("{}_{t}", method.name)
                } else {
                    format!("{}_int", method.name)
                };
                match self.env.find_fn(Namespace::Stdlib, &stdlib_name) {
                    Some(key) => self.call_function(
                        e,
                        key,
                        &method.name,
                        Some((Ty::Scalar(t), receiver.span)),
                        args,
                    ),
                    None => {
                        for a in args {
                            self.expr(a);
                        }
                        self.errors.push(
                            Diagnostic::error(
                                method.span,
                                format!("no method named `{}` found for type `{t}`", method.name),
                            )
                            .with_label("method not found"),
                        );
                        Ty::Error
                    }
                }
            }
        }
    }

    fn index(&mut self, e: &Expr) -> Ty {
        // Flatten `a[i][j]` into the base and its indices, outermost axis first.
        let mut indices = Vec::new();
        let mut base = e;
        while let ExprKind::Index { base: b, index } = &base.kind {
            indices.push(index.as_ref());
            base = b;
        }
        indices.reverse();
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

    fn macro_call(&mut self, e: &Expr, name: &Ident, args: &[Expr]) -> Ty {
        match name.name.as_str() {
            "println" | "print" => {
                let newline = name.name == "println";
                let (pieces, rest) = match args.first().map(|a| &a.kind) {
                    None if newline => (Vec::new(), args),
                    Some(ExprKind::Lit(Literal {
                        kind: LitKind::Str(s),
                        span,
                    })) => match parse_format_string(s) {
                        Ok(p) => (p, &args[1..]),
                        Err(msg) => return self.error(*span, msg),
                    },
                    _ => {
                        return self.error(
                            args.first().map_or(e.span, |a| a.span),
                            format!(
                                "`{}!` needs a format string literal as its first argument",
                                name.name
                            ),
                        )
                    }
                };
                let wanted = pieces
                    .iter()
                    .filter(|p| matches!(p, FormatPiece::Arg(_)))
                    .count();
                if wanted != rest.len() {
                    let s = |n: usize| if n == 1 { "" } else { "s" };
                    return self.error(
                        e.span,
                        format!("{wanted} positional argument{} in format string, but {} argument{} given", s(wanted), rest.len(), s(rest.len())),
                    );
                }
                for a in rest {
                    let t = self.expr(a);
                    if self.host && matches!(self.inf.resolve(t), Ty::HostArray(_)) {
                        continue;
                    }
                    if !matches!(self.inf.resolve(t), Ty::Scalar(_) | Ty::Var(_) | Ty::Error) {
                        let d = self.inf.describe(t);
                        self.error(a.span, format!("`{d}` cannot be printed"));
                    }
                }
                self.resolve(e, Resolution::Print { pieces, newline });
                Ty::Unit
            }
            "assert" => {
                if args.is_empty() {
                    return self.error(
                        e.span,
                        "`assert!` takes a condition and an optional message",
                    );
                }
                if args.len() > 2 {
                    // The message travels with the trap as text fixed at compile
                    // time; formatting run-time values into it is not built yet.
                    return self.error(
                        args[2].span,
                        "`assert!` messages with format arguments are not supported",
                    );
                }
                let c = self.expr(&args[0]);
                self.expect(c, Ty::Scalar(ScalarType::Bool), args[0].span);
                if let Some(msg) = args.get(1) {
                    if !matches!(
                        msg.kind,
                        ExprKind::Lit(Literal {
                            kind: LitKind::Str(_),
                            ..
                        })
                    ) {
                        self.error(
                            msg.span,
                            "the message of `assert!` must be a string literal",
                        );
                    }
                }
                Ty::Unit
            }
            "assert_eq" => {
                if args.len() != 2 {
                    return self.error(e.span, "`assert_eq!` takes two arguments");
                }
                let a = self.expr(&args[0]);
                let b = self.expr(&args[1]);
                self.expect(b, a, args[1].span);
                if let Ty::HostArray(_) = self.inf.resolve(a) {
                    return self.error(
                        e.span,
                        "`assert_eq!` compares scalars; compare arrays element by element",
                    );
                }
                Ty::Unit
            }
            other => self.error(
                name.span,
                format!("cannot find macro `{other}` in this scope"),
            ),
        }
    }
}

/// Whether integer literal `value` (negated if `negated`) fits in `t`.
fn int_fits(value: u128, negated: bool, t: ScalarType) -> bool {
    if t.is_float() {
        return true;
    }
    let bits = t.bits();
    if t.is_signed_int() {
        let max = (1u128 << (bits - 1)) - 1;
        if negated {
            value <= max + 1
        } else {
            value <= max
        }
    } else if t == ScalarType::Bool {
        false
    } else {
        !negated && (bits == 128 || value < (1u128 << bits)) || (negated && value == 0)
    }
}

fn strip_parens(e: &Expr) -> &Expr {
    match &e.kind {
        ExprKind::Paren(inner) => strip_parens(inner),
        _ => e,
    }
}
