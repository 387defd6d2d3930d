//! Checking host arrays (`Array<T>`) in `fn main`: the `Array<T>` type, borrows
//! `&x` / `&mut x`, the array builtins (`zeros`, `load`, ...), methods (`.sum()`,
//! `.reshape(..)`, ...), indexing and slicing, and ufunc calls on arrays, whose
//! result element type is NumPy's loop selection (`dtype_rules::resolve`) run at
//! compile time. Kernels cannot use any of it.

use super::*;
use crate::dtype_rules::resolve::{resolve_loop, InputDtype};
use crate::kernel_decl::UfuncDecl;

/// What a host-array expression is, for lowering.
#[derive(Clone, Debug, PartialEq)]
pub enum HostResolution {
    /// `zeros(shape)` / `ones(shape)` / `full(shape, v)` of element type `elem`.
    Zeros(ScalarType),
    Ones(ScalarType),
    Full(ScalarType),
    /// `arange(start, stop[, step])`.
    Arange(ScalarType),
    /// `linspace(start, stop, num)` of float type `elem`.
    Linspace(ScalarType),
    /// `random::uniform_array(seed, n)` / `random::normal_array(seed, n)`: element
    /// `i` is `func(seed, i)`.
    Random {
        func: FnKey,
        elem: ScalarType,
    },
    Load {
        path: String,
        elem: ScalarType,
    },
    Save {
        path: String,
    },
    /// `x[i]`, `x[i][j]` (also as an assignment target).
    Index,
    /// `x[a..b]` along axis 0.
    Slice,
    Method(HostMethod),
    /// A ufunc called with at least one array.
    Ufunc {
        name: String,
        ret: ScalarType,
    },
    /// `f.call_out(&mut out, ..)`, `f.reduce(..)`, `f.accumulate(..)`, `f.outer(..)`.
    UfuncOut {
        name: String,
    },
    Reduce {
        name: String,
        axis: bool,
    },
    Accumulate {
        name: String,
    },
    Outer {
        name: String,
    },
    /// A gufunc called with at least one array: `nin` inputs, then (unless
    /// `allocating`) the `&mut` outputs.
    Gufunc {
        name: String,
        nin: usize,
        allocating: bool,
    },
    /// `jobs::map(f, ..)` (see `host_jobs`).
    JobsMap {
        func: FnKey,
    },
    /// The other job-server builtins.
    Jobs(super::host_jobs::JobsCall),
    /// An MPI builtin (see `host_mpi`).
    Mpi(crate::ir::MpiOp),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostMethod {
    Reshape,
    Sum,
    Mean,
    Min,
    Max,
    Len,
    Ndim,
    Shape,
    Clone,
}

const BUILTINS: [&str; 7] = [
    "zeros", "ones", "full", "arange", "linspace", "load", "save",
];

impl FnChecker<'_, '_> {
    pub(super) fn host_array_type_error(&mut self, span: Span) -> Ty {
        self.errors.push(
            Diagnostic::error(
                span,
                "host arrays (`Array<T>`) are only available in host code (`fn main`)",
            )
            .with_label("not allowed in a kernel")
            .with_note("kernels take arrays as `&[T]` or `&mut [T]` parameters"),
        );
        Ty::Error
    }

    /// The type of a `let` annotation: a scalar, or `Array<T>` in host code.
    pub(super) fn let_type(&mut self, ty: &TypeExpr) -> Ty {
        match &ty.kind {
            TypeExprKind::Generic { name, args } => {
                if name.name != "Array" {
                    return self.error(
                        name.span,
                        format!("cannot find type `{}` in this scope", name.name),
                    );
                }
                if !self.host {
                    return self.host_array_type_error(ty.span);
                }
                if args.len() != 1 {
                    return self.error(ty.span, "`Array` takes one type argument: `Array<f64>`");
                }
                match self.scalar_type(&args[0]) {
                    Some(t) => Ty::HostArray(t),
                    None => Ty::Error,
                }
            }
            _ => match self.scalar_type(ty) {
                Some(s) => Ty::Scalar(s),
                None => Ty::Error,
            },
        }
    }

    /// `&x` / `&mut x` outside a call argument.
    pub(super) fn borrow(&mut self, e: &Expr) -> Ty {
        let t = self.arg_expr(e);
        if let Ty::HostArray(_) = self.inf.resolve(t) {
            self.errors.push(
                Diagnostic::error(
                    e.span,
                    "a borrow of a host array can only be passed to a call",
                )
                .with_note("write `let y = x;` for a copy of `x`"),
            );
            return Ty::Error;
        }
        if let Ty::Array { .. } = self.inf.resolve(t) {
            return self.error(e.span, "a borrow of an array can only be passed to a call");
        }
        t
    }

    /// Checks every argument of a call that is rejected, so that their own errors
    /// are reported too.
    pub(super) fn arg_exprs(&mut self, args: &[Expr]) {
        for a in args {
            self.arg_expr(a);
        }
    }

    /// A call argument: `&x` / `&mut x` of an array, or any expression.
    pub(super) fn arg_expr(&mut self, a: &Expr) -> Ty {
        let ExprKind::Ref { mutable, expr } = &a.kind else {
            return self.expr(a);
        };
        let t = self.expr(expr);
        let result = match self.inf.resolve(t) {
            Ty::HostArray(elem) => {
                if *mutable {
                    self.require_mutable_binding(expr);
                }
                Ty::HostArray(elem)
            }
            Ty::Array {
                elem,
                rank,
                mutable: m,
            } => {
                if *mutable && !m {
                    let d = self.inf.describe(t);
                    self.error(
                        a.span,
                        format!("cannot borrow an array of type `{d}` as mutable"),
                    );
                }
                Ty::Array {
                    elem,
                    rank,
                    mutable: m && *mutable,
                }
            }
            Ty::Error => Ty::Error,
            _ => {
                let d = self.inf.describe(t);
                self.error(
                    a.span,
                    format!("only arrays can be borrowed with `&`; pass the `{d}` value itself"),
                )
            }
        };
        self.record(a, result)
    }

    fn require_mutable_binding(&mut self, place: &Expr) {
        if let Some(Resolution::Local(b)) = self.body.resolutions.get(&place.id).cloned() {
            let binding = &self.body.bindings[b.0 as usize];
            if !binding.mutable {
                let (name, span) = (binding.name.clone(), binding.span);
                self.errors.push(
                    Diagnostic::error(
                        place.span,
                        format!(
                            "cannot borrow `{name}` as mutable, as it is not declared as mutable"
                        ),
                    )
                    .with_secondary(
                        span,
                        format!("help: consider changing this to be mutable: `mut {name}`"),
                    ),
                );
            }
        } else {
            self.error(place.span, "only a variable can be borrowed as mutable");
        }
    }

    /// A host array passed to an `&[T]` / `&mut [T]` parameter of a kern function.
    pub(super) fn host_array_argument(
        &mut self,
        arg: &Expr,
        pt: Ty,
        at: Ty,
        same_elem: bool,
        mutable: bool,
    ) {
        if !same_elem {
            self.mismatch(arg.span, pt, at);
            return;
        }
        if mutable && !matches!(&arg.kind, ExprKind::Ref { mutable: true, .. }) {
            let d = self.inf.describe(pt);
            self.errors.push(
                Diagnostic::error(arg.span, "mismatched types")
                    .with_label(format!("expected `{d}`, found `{}`", self.inf.describe(at)))
                    .with_note("help: pass the array mutably borrowed: `&mut x`"),
            );
        }
    }

    /// An integer argument (a dimension, a count, an axis): any integer type.
    pub(super) fn int_arg(&mut self, a: &Expr) {
        let t = self.expr(a);
        if self.inf.constrain(t, VarKind::Int).is_err() {
            let d = self.inf.describe(t);
            self.error(a.span, format!("expected an integer, found `{d}`"));
        }
    }

    /// A shape: an integer (1-d) or a list `[d0, d1, ..]` of integers.
    fn shape_arg(&mut self, a: &Expr) {
        match &strip_parens(a).kind {
            ExprKind::ArrayLit(items) => {
                if items.len() > crate::types::MAX_ARRAY_DIMS {
                    self.error(
                        a.span,
                        format!(
                            "too many dimensions: {} (an array has at most {})",
                            items.len(),
                            crate::types::MAX_ARRAY_DIMS
                        ),
                    );
                }
                for item in items {
                    self.int_arg(item);
                }
            }
            _ => self.int_arg(a),
        }
    }

    fn hint(&self, e: &Expr) -> Option<ScalarType> {
        self.array_hint
            .and_then(|(id, t)| if id == e.id { Some(t) } else { None })
    }

    fn string_arg(&mut self, a: Option<&Expr>, what: &str, span: Span) -> Option<String> {
        match a.map(|a| &a.kind) {
            Some(ExprKind::Lit(Literal {
                kind: LitKind::Str(s),
                ..
            })) => Some(s.clone()),
            _ => {
                self.error(
                    a.map_or(span, |a| a.span),
                    format!("`{what}` takes the file's path as a string literal"),
                );
                None
            }
        }
    }

    pub(super) fn arity(&mut self, e: &Expr, name: &str, args: &[Expr], allowed: &[usize]) -> bool {
        if allowed.contains(&args.len()) {
            return true;
        }
        for a in args {
            if !matches!(
                a.kind,
                ExprKind::Lit(Literal {
                    kind: LitKind::Str(_),
                    ..
                }) | ExprKind::ArrayLit(_)
            ) {
                self.arg_expr(a);
            }
        }
        self.arity_error(e.span, name, allowed[0], args.len());
        false
    }

    /// Host builtins: `zeros(..)`, `load(..)`, `random::uniform_array(..)`, ...
    /// `None` when the call is not one (a user function of that name wins).
    pub(super) fn host_call(&mut self, call: &PathCall) -> Option<Ty> {
        let (e, callee, names, args) = (call.e, call.callee, call.names, call.args);
        if let Some(t) = self.jobs_call(call) {
            return Some(t);
        }
        if let Some(t) = self.mpi_call(call) {
            return Some(t);
        }
        let builtin = match names {
            [name] if BUILTINS.contains(name) => *name,
            ["random", name @ ("uniform_array" | "normal_array")] => *name,
            _ => return None,
        };
        if names.len() == 1 && self.env.find_fn(self.namespace, builtin).is_some() {
            return None;
        }
        if self.namespace != Namespace::User {
            return None;
        }
        if !self.host {
            for a in args {
                if !matches!(a.kind, ExprKind::Lit(_) | ExprKind::ArrayLit(_)) {
                    self.arg_expr(a);
                }
            }
            return Some(self.error(
                callee.span,
                format!("`{}` makes a host array: host arrays are only available in host code (`fn main`)", names.join("::")),
            ));
        }
        let hint = self.hint(e);
        let name = names.join("::");
        let ty = match builtin {
            "zeros" | "ones" => {
                if !self.arity(e, &name, args, &[1]) {
                    return Some(Ty::Error);
                }
                self.shape_arg(&args[0]);
                let elem = hint.unwrap_or(ScalarType::F64);
                self.resolve(
                    e,
                    Resolution::Host(if builtin == "zeros" {
                        HostResolution::Zeros(elem)
                    } else {
                        HostResolution::Ones(elem)
                    }),
                );
                Ty::HostArray(elem)
            }
            "full" => {
                if !self.arity(e, &name, args, &[2]) {
                    return Some(Ty::Error);
                }
                self.shape_arg(&args[0]);
                let v = self.expr(&args[1]);
                if let Some(h) = hint {
                    self.expect(v, Ty::Scalar(h), args[1].span);
                }
                let Some(elem) = self.inf.scalar(v) else {
                    return Some(self.error(args[1].span, "`full` fills an array with a scalar"));
                };
                self.resolve(e, Resolution::Host(HostResolution::Full(elem)));
                Ty::HostArray(elem)
            }
            "arange" => {
                if !self.arity(e, &name, args, &[2, 3]) {
                    return Some(Ty::Error);
                }
                let t = self.expr(&args[0]);
                for a in &args[1..] {
                    let at = self.expr(a);
                    self.expect(at, t, a.span);
                }
                if let Some(h) = hint {
                    self.expect(t, Ty::Scalar(h), args[0].span);
                }
                if self.inf.constrain(t, VarKind::Num).is_err() {
                    let d = self.inf.describe(t);
                    return Some(
                        self.error(args[0].span, format!("`arange` takes numbers, found `{d}`")),
                    );
                }
                let elem = self.inf.scalar(t).unwrap_or(ScalarType::I32);
                self.resolve(e, Resolution::Host(HostResolution::Arange(elem)));
                Ty::HostArray(elem)
            }
            "linspace" => {
                if !self.arity(e, &name, args, &[3]) {
                    return Some(Ty::Error);
                }
                for a in &args[..2] {
                    let at = self.expr(a);
                    self.expect(at, Ty::Scalar(ScalarType::F64), a.span);
                }
                self.int_arg(&args[2]);
                let elem = hint.unwrap_or(ScalarType::F64);
                if !elem.is_float() {
                    return Some(self.error(
                        e.span,
                        format!("`linspace` makes float arrays, not `Array<{elem}>`"),
                    ));
                }
                self.resolve(e, Resolution::Host(HostResolution::Linspace(elem)));
                Ty::HostArray(elem)
            }
            "uniform_array" | "normal_array" => {
                if !self.arity(e, &name, args, &[2]) {
                    return Some(Ty::Error);
                }
                let seed = self.expr(&args[0]);
                self.expect(seed, Ty::Scalar(ScalarType::U64), args[0].span);
                self.int_arg(&args[1]);
                let elem = hint.unwrap_or(ScalarType::F64);
                let base = builtin.trim_end_matches("_array");
                let fname = match elem {
                    ScalarType::F64 => format!("random::{base}"),
                    ScalarType::F32 => format!("random::{base}_f32"),
                    _ => {
                        return Some(self.error(
                            e.span,
                            format!("`{name}` makes f64 or f32 arrays, not `Array<{elem}>`"),
                        ))
                    }
                };
                let Some(func) = self.env.find_fn(Namespace::Stdlib, &fname) else {
                    return Some(self.error(e.span, format!("the stdlib has no `{fname}`")));
                };
                self.resolve(e, Resolution::Host(HostResolution::Random { func, elem }));
                Ty::HostArray(elem)
            }
            "load" => {
                if !self.arity(e, &name, args, &[1]) {
                    return Some(Ty::Error);
                }
                let Some(path) = self.string_arg(args.first(), "load", e.span) else {
                    return Some(Ty::Error);
                };
                // Without an annotation, the file's header says (when the file
                // exists as the program is checked).
                let elem = match hint {
                    Some(elem) => elem,
                    None => match super::npy_header::npy_dtype(&path) {
                        Ok(elem) => elem,
                        Err(why) => {
                            self.errors.push(
                                Diagnostic::error(e.span, "`load` needs the element type of the array")
                                    .with_label("cannot infer the element type")
                                    .with_note(format!("it is read from the file's header when the file exists as the program is compiled, but {why}"))
                                    .with_note(
                                        "annotate the variable: `let x: Array<f64> = load(\"x.npy\");`",
                                    ),
                            );
                            return Some(Ty::Error);
                        }
                    },
                };
                self.resolve(e, Resolution::Host(HostResolution::Load { path, elem }));
                Ty::HostArray(elem)
            }
            "save" => {
                if !self.arity(e, &name, args, &[2]) {
                    return Some(Ty::Error);
                }
                let path = self.string_arg(args.first(), "save", e.span);
                let t = self.arg_expr(&args[1]);
                match self.inf.resolve(t) {
                    Ty::HostArray(_) | Ty::Error => {}
                    _ => {
                        let d = self.inf.describe(t);
                        self.error(args[1].span, format!("`save` writes an array, found `{d}`"));
                    }
                }
                let Some(path) = path else {
                    return Some(Ty::Error);
                };
                self.resolve(e, Resolution::Host(HostResolution::Save { path }));
                Ty::Unit
            }
            _ => return None,
        };
        Some(ty)
    }

    fn ufunc_decl(&self, key: FnKey) -> Option<UfuncDecl> {
        let entry = self.env.function(key);
        if entry.namespace != Namespace::User {
            return None;
        }
        UfuncDecl::of(entry.decl)
    }

    /// What dtype resolution sees of an operand whose type is `t` (`None` for a
    /// non-numeric operand): arrays are strong, scalars weak, with the literal's
    /// value when the argument is a literal (for NumPy's range check).
    fn input_dtype(&mut self, a: &Expr, t: Ty) -> Option<InputDtype> {
        match self.inf.resolve(t) {
            Ty::HostArray(elem) => Some(InputDtype::Strong(elem)),
            _ => {
                let s = self.inf.scalar(t)?;
                Some(InputDtype::Weak(
                    literal_value(a, s).unwrap_or(ScalarValue::zero(s)),
                ))
            }
        }
    }

    /// `input_dtype` of an input of a `ufunc` or `gufunc` (`what`), reporting a
    /// non-numeric one.
    pub(super) fn input_dtype_of(&mut self, a: &Expr, t: Ty, what: &str) -> Option<InputDtype> {
        let input = self.input_dtype(a, t);
        if input.is_none() {
            let d = self.inf.describe(t);
            self.error(
                a.span,
                format!("a {what} takes arrays and numbers, found `{d}`"),
            );
        }
        input
    }

    /// A call of a user function `key` in host code: a ufunc (or gufunc) with at
    /// least one array argument is an array call; otherwise `None`, and the call
    /// is checked as a scalar call with the argument types found here.
    pub(super) fn host_ufunc_call(&mut self, call: &UserCall) -> Option<Ty> {
        let (e, key, name, args) = (call.e, call.key, call.name, call.args);
        let decl = self.env.function(key).decl;
        if decl.attrs.iter().any(|a| a.name.name == "guvectorize") {
            return self.host_gufunc_call(call);
        }
        if decl.params.len() != args.len() {
            return None;
        }
        let ufunc = self.ufunc_decl(key)?;
        let types: Vec<Ty> = args.iter().map(|a| self.arg_expr(a)).collect();
        let any_array = types
            .iter()
            .any(|t| matches!(self.inf.resolve(*t), Ty::HostArray(_)));
        if !any_array {
            self.prechecked_args = Some(types);
            return None;
        }
        let Some(ret) = self.resolve_ufunc(e, &ufunc, args, &types) else {
            return Some(Ty::Error);
        };
        self.resolve(
            e,
            Resolution::Host(HostResolution::Ufunc {
                name: name.to_string(),
                ret,
            }),
        );
        Some(Ty::HostArray(ret))
    }

    fn resolve_ufunc(
        &mut self,
        e: &Expr,
        ufunc: &UfuncDecl,
        args: &[Expr],
        types: &[Ty],
    ) -> Option<ScalarType> {
        let mut inputs = Vec::new();
        for (a, t) in args.iter().zip(types) {
            if self.inf.resolve(*t) == Ty::Error {
                return Some(ScalarType::F64);
            }
            inputs.push(self.input_dtype_of(a, *t, "ufunc")?);
        }
        match resolve_loop(ufunc, &inputs) {
            Ok(lp) => Some(lp.ret),
            Err(err) => {
                let mut d = Diagnostic::error(e.span, err.message.clone())
                    .with_label("no loop of this ufunc accepts these operands");
                let f64_array = inputs
                    .iter()
                    .any(|i| matches!(i, InputDtype::Strong(ScalarType::F64)));
                if f64_array && err.message.contains("f32") {
                    d = d.with_note("f64 does not convert safely to f32 (NumPy's rule): make the array f32, e.g. `let x: Array<f32> = linspace(..)`");
                }
                self.errors.push(d);
                None
            }
        }
    }

    /// `f.call_out(..)`, `f.reduce(..)`, `f.accumulate(..)`, `f.outer(..)` on a
    /// ufunc `f`; `None` when the receiver is not a ufunc name.
    pub(super) fn host_ufunc_method(&mut self, call: &MethodCall) -> Option<Ty> {
        let (e, receiver, method, args) = (call.e, call.receiver, call.method, call.args);
        let (fname, key) = self.user_fn_receiver(receiver)?;
        // A gufunc whose signature is all scalars, `(),()->()`, is a ufunc.
        let scalar_gufunc = || {
            let entry = self.env.function(key);
            (entry.namespace == Namespace::User)
                .then(|| crate::kernel_decl::GufuncDecl::of(entry.decl))
                .flatten()
                .and_then(|g| g.as_ufunc())
        };
        let Some(ufunc) = self.ufunc_decl(key).or_else(scalar_gufunc) else {
            let is_gufunc = self
                .env
                .function(key)
                .decl
                .attrs
                .iter()
                .any(|a| a.name.name == "guvectorize");
            if is_gufunc {
                self.arg_exprs(args);
                return Some(self.error(
                    method.span,
                    format!(
                        "gufuncs have no methods (as in NumPy) unless their signature is all scalars, like `(),()->()`: call `{0}(..)` with the inputs, or with the inputs and `&mut` outputs",
                        fname.name
                    ),
                ));
            }
            return None;
        };
        Some(
            self.ufunc_method(e, &fname.name, ufunc, method, args)
                .unwrap_or(Ty::Error),
        )
    }

    /// `f.method(args)` on ufunc `f`; `None` after an error.
    fn ufunc_method(
        &mut self,
        e: &Expr,
        fname: &str,
        ufunc: UfuncDecl,
        method: &Ident,
        args: &[Expr],
    ) -> Option<Ty> {
        let name = fname.to_string();
        let nin = ufunc.params.len();
        let types: Vec<Ty> = args.iter().map(|a| self.arg_expr(a)).collect();
        let array_elem = |c: &mut Self, i: usize| -> Option<ScalarType> {
            match c.inf.resolve(types[i]) {
                Ty::HostArray(t) => Some(t),
                Ty::Error => None,
                _ => {
                    let d = c.inf.describe(types[i]);
                    c.error(args[i].span, format!("expected a host array, found `{d}`"));
                    None
                }
            }
        };
        let binary = |c: &mut Self| -> bool {
            if nin != 2 {
                c.error(
                    method.span,
                    format!(
                        "`{}` is only supported for binary ufuncs; `{name}` takes {nin} input{}",
                        method.name,
                        if nin == 1 { "" } else { "s" }
                    ),
                );
                return false;
            }
            true
        };
        // `binary`, for a method of exactly `n` arguments.
        let binary_taking = |c: &mut Self, n: usize| -> bool {
            if !binary(c) {
                return false;
            }
            if args.len() != n {
                c.arity_error(e.span, &method.name, n, args.len());
                return false;
            }
            true
        };
        // The element type a reduction computes in: the loop for `(T, T)`, `T`
        // widened for a `widen = true` ufunc (`dtype_rules::reduction`).
        let accumulator = |c: &mut Self, t: ScalarType| -> Option<ScalarType> {
            let input = crate::dtype_rules::reduction::reduction_input(&ufunc, t);
            match crate::dtype_rules::reduction::accumulator_loop(&ufunc, input) {
                Ok(lp) => Some(lp.ret),
                Err(err) => {
                    c.error(e.span, err.message);
                    None
                }
            }
        };
        let ty = match method.name.as_str() {
            "call_out" => {
                if args.len() != nin + 1 {
                    return Some(self.arity_error(e.span, &method.name, nin + 1, args.len()));
                }
                if !matches!(&args[0].kind, ExprKind::Ref { mutable: true, .. }) {
                    return Some(self.error(
                        args[0].span,
                        "the output of `call_out` is its first argument, borrowed mutably: `&mut out`",
                    ));
                }
                let out = array_elem(self, 0)?;
                let ret = self.resolve_ufunc(e, &ufunc, &args[1..], &types[1..])?;
                if !crate::dtype_rules::casting::can_cast_same_kind(ret, out) {
                    return Some(self.error(
                        args[0].span,
                        format!("cannot write the {ret} results of `{name}` to an `Array<{out}>` (casting rule 'same_kind')"),
                    ));
                }
                self.resolve(e, Resolution::Host(HostResolution::UfuncOut { name }));
                Ty::Unit
            }
            "reduce" => {
                if !binary(self) {
                    return Some(Ty::Error);
                }
                if args.is_empty() || args.len() > 2 {
                    return Some(self.arity_error(e.span, "reduce", 1, args.len()));
                }
                let t = array_elem(self, 0)?;
                let acc = accumulator(self, t)?;
                let axis = args.len() == 2;
                if axis {
                    self.constrain_int(&args[1], types[1]);
                }
                self.resolve(e, Resolution::Host(HostResolution::Reduce { name, axis }));
                if axis {
                    Ty::HostArray(acc)
                } else {
                    Ty::Scalar(acc)
                }
            }
            "accumulate" => {
                if !binary_taking(self, 2) {
                    return Some(Ty::Error);
                }
                let t = array_elem(self, 0)?;
                let acc = accumulator(self, t)?;
                self.constrain_int(&args[1], types[1]);
                self.resolve(e, Resolution::Host(HostResolution::Accumulate { name }));
                Ty::HostArray(acc)
            }
            "outer" => {
                if !binary_taking(self, 2) {
                    return Some(Ty::Error);
                }
                array_elem(self, 0)?;
                array_elem(self, 1)?;
                let ret = self.resolve_ufunc(e, &ufunc, args, &types)?;
                self.resolve(e, Resolution::Host(HostResolution::Outer { name }));
                Ty::HostArray(ret)
            }
            other => self.error(
                method.span,
                format!("ufuncs have the methods `call_out`, `reduce`, `accumulate` and `outer`, not `{other}`"),
            ),
        };
        Some(ty)
    }

    fn constrain_int(&mut self, a: &Expr, t: Ty) {
        if self.inf.constrain(t, VarKind::Int).is_err() {
            let d = self.inf.describe(t);
            self.error(a.span, format!("expected an integer axis, found `{d}`"));
        }
    }

    /// Methods of a host array.
    pub(super) fn host_method(
        &mut self,
        e: &Expr,
        _receiver: &Expr,
        elem: ScalarType,
        method: &Ident,
        args: &[Expr],
    ) -> Ty {
        let name = method.name.as_str();
        let (m, ty) = match name {
            "reshape" => {
                if args.len() != 1 {
                    self.arg_exprs(args);
                    return self.arity_error(e.span, "reshape", 1, args.len());
                }
                self.shape_arg(&args[0]);
                (HostMethod::Reshape, Ty::HostArray(elem))
            }
            "sum" | "mean" | "min" | "max" | "len" | "ndim" | "shape" | "clone" => {
                if !args.is_empty() {
                    self.arg_exprs(args);
                    return self.arity_error(e.span, name, 0, args.len());
                }
                if elem == ScalarType::Bool && matches!(name, "sum" | "mean") {
                    return self.error(
                        method.span,
                        format!("`.{name}()` of a bool array is not supported: convert it with a ufunc first"),
                    );
                }
                match name {
                    "sum" => (HostMethod::Sum, Ty::Scalar(elem)),
                    "mean" => (
                        HostMethod::Mean,
                        Ty::Scalar(if elem.is_float() {
                            elem
                        } else {
                            ScalarType::F64
                        }),
                    ),
                    "min" => (HostMethod::Min, Ty::Scalar(elem)),
                    "max" => (HostMethod::Max, Ty::Scalar(elem)),
                    "len" => (HostMethod::Len, Ty::Scalar(ScalarType::Usize)),
                    "ndim" => (HostMethod::Ndim, Ty::Scalar(ScalarType::Usize)),
                    "shape" => (HostMethod::Shape, Ty::HostArray(ScalarType::Usize)),
                    _ => (HostMethod::Clone, Ty::HostArray(elem)),
                }
            }
            _ => {
                self.arg_exprs(args);
                return self.error(
                    method.span,
                    format!("no method named `{name}` found for `Array<{elem}>`"),
                );
            }
        };
        self.resolve(e, Resolution::Host(HostResolution::Method(m)));
        ty
    }

    /// `x[i]`, `x[i][j]`, `x[a..b]` on a host array; `None` when the base is not one.
    pub(super) fn host_index(&mut self, e: &Expr) -> Option<Ty> {
        let (base, indices) = flatten_index(e);
        let bt = match &base.kind {
            ExprKind::Path(segments) => {
                let [name] = segments.as_slice() else {
                    return None;
                };
                let b = self.lookup(&name.name)?;
                if !matches!(self.body.bindings[b.0 as usize].ty, Ty::HostArray(_)) {
                    return None;
                }
                self.expr(base)
            }
            _ => {
                let t = self.expr(base);
                if !matches!(self.inf.resolve(t), Ty::HostArray(_)) {
                    for index in &indices {
                        if !matches!(index.kind, ExprKind::Range { .. }) {
                            self.expr(index);
                        }
                    }
                    if self.inf.resolve(t) == Ty::Error {
                        return Some(Ty::Error);
                    }
                    let d = self.inf.describe(t);
                    return Some(self.error(
                        base.span,
                        format!("cannot index into a value of type `{d}`"),
                    ));
                }
                t
            }
        };
        let Ty::HostArray(elem) = self.inf.resolve(bt) else {
            return Some(Ty::Error);
        };
        if let [index] = indices.as_slice() {
            if let ExprKind::Range { start, end } = &index.kind {
                for bound in [start, end].into_iter().flatten() {
                    let t = self.expr(bound);
                    self.expect(t, Ty::Scalar(ScalarType::Usize), bound.span);
                }
                self.resolve(e, Resolution::Host(HostResolution::Slice));
                return Some(Ty::HostArray(elem));
            }
        }
        for index in &indices {
            if let ExprKind::Range { .. } = index.kind {
                return Some(self.error(
                    index.span,
                    "a host array is sliced along its first axis only: `x[a..b]`, then index the copy",
                ));
            }
            let t = self.expr(index);
            self.expect(t, Ty::Scalar(ScalarType::Usize), index.span);
        }
        self.resolve(e, Resolution::Host(HostResolution::Index));
        Some(Ty::Scalar(elem))
    }

    /// `x[i] = v`: `x` must be a `let mut` host array.
    pub(super) fn host_place(&mut self, target: &Expr, r: &HostResolution) -> bool {
        if *r == HostResolution::Slice {
            self.error(
                target.span,
                "cannot assign to a slice of a host array; assign its elements one by one",
            );
            return false;
        }
        let mut base = target;
        while let ExprKind::Index { base: b, .. } = &base.kind {
            base = b;
        }
        self.require_mutable_binding(base);
        true
    }
}

/// The value of a literal argument (`2`, `-1.5`) at type `t`.
pub(super) fn literal_value(a: &Expr, t: ScalarType) -> Option<ScalarValue> {
    let (lit, negated) = match &strip_parens(a).kind {
        ExprKind::Lit(l) => (l, false),
        ExprKind::Unary {
            op: UnaryOp::Neg,
            operand,
        } => match &operand.kind {
            ExprKind::Lit(l) => (l, true),
            _ => return None,
        },
        _ => return None,
    };
    match &lit.kind {
        LitKind::Int { value, .. } if t.is_int() => {
            let v = i128::try_from(*value).ok()?;
            Some(ScalarValue::int(t, if negated { -v } else { v }))
        }
        LitKind::Float { text, .. } if t.is_float() => {
            let x: f64 = text.parse().ok()?;
            let x = if negated { -x } else { x };
            Some(if t == ScalarType::F32 {
                ScalarValue::F32(x as f32)
            } else {
                ScalarValue::F64(x)
            })
        }
        _ => None,
    }
}
