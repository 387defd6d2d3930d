//! Checking one function body (one instance of it, for generics).
//!
//! Walks the AST of a function with generic parameters substituted, infers the type
//! of every expression, resolves every name and method, and reports errors. The
//! result, a [`TypedBody`], is a set of side tables keyed by `ExprId` that lowering
//! reads; the AST itself is never changed. Knows nothing of IR construction.
//!
//! This file owns the checker's state (scopes, inference, side tables), bindings and
//! the entry points (a function, a constant's expression); the walk itself is split
//! by concern: `type_exprs` (types written in source), `statements`, `expressions`,
//! `operators`, `calls`, `format_macros`, and the host/SPMD builtins beside them.

use crate::collections::HashMap;

use super::env::{ConstKey, Env, FnKey, Namespace};
use super::infer::{Inference, Ty, VarKind};
use super::methods::{self, MethodResolution};
use crate::diagnostics::{Diagnostic, Span};
use crate::ir::{FormatPiece, Intrinsic};
use crate::syntax::ast::*;
use crate::types::format_string::parse_format_string;
use crate::types::{ScalarType, ScalarValue};

mod calls;
mod expressions;
mod format_macros;
mod host_arrays;
mod host_gufunc;
mod host_jobs;
mod host_mpi;
mod kernels;
mod npy_header;
mod operators;
mod statements;
mod type_exprs;
use calls::{MethodCall, PathCall, UserCall};
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
            scopes: vec![HashMap::default()],
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
