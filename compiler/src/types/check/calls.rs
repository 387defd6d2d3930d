//! Checking calls: calls of user functions (arity, generic instantiation,
//! argument types), builtins and intrinsics, and method calls resolved through
//! `types::methods`. Host-array, jobs, MPI and SPMD builtins are dispatched to
//! their own files.

use super::*;

/// A call by path, `a::b(args)`, handed to the checkers of path builtins
/// (`host_call`, `jobs_call`, `mpi_call`).
pub(super) struct PathCall<'c> {
    pub e: &'c Expr,
    pub callee: &'c Expr,
    pub names: &'c [&'c str],
    pub args: &'c [Expr],
}

/// A call of the user function `key`, written `name(args)`, handed to the checkers
/// of the calls that are not scalar calls (kernels, ufuncs and gufuncs on arrays).
pub(super) struct UserCall<'c> {
    pub e: &'c Expr,
    pub key: FnKey,
    pub name: &'c str,
    pub args: &'c [Expr],
}

/// `receiver.method(args)`, handed to the checkers of host methods on user
/// functions (`k.launch(..)`, `f.reduce(..)`).
pub(super) struct MethodCall<'c> {
    pub e: &'c Expr,
    pub receiver: &'c Expr,
    pub method: &'c Ident,
    pub args: &'c [Expr],
}

impl FnChecker<'_, '_> {
    /// The user function a method call's receiver names (`f.reduce(..)`,
    /// `k.launch(..)`): a one-segment path that is not a local binding.
    pub(super) fn user_fn_receiver<'r>(&self, receiver: &'r Expr) -> Option<(&'r Ident, FnKey)> {
        let ExprKind::Path(segments) = &receiver.kind else {
            return None;
        };
        let [name] = segments.as_slice() else {
            return None;
        };
        if self.lookup(&name.name).is_some() {
            return None;
        }
        Some((name, self.env.find_fn(Namespace::User, &name.name)?))
    }

    /// `NAME` of a call `module::NAME(..)` in user code (`jobs::map`, `mpi::rank`).
    pub(super) fn user_module_call<'a, 'n>(
        &self,
        module: &str,
        names: &'a [&'n str],
    ) -> Option<&'a &'n str> {
        match names {
            [m, name] if *m == module && self.namespace == Namespace::User => Some(name),
            _ => None,
        }
    }

    pub(super) fn call(&mut self, e: &Expr, callee: &Expr, args: &[Expr]) -> Ty {
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
        let names = names.as_slice();
        if let Some(t) = self.host_call(&PathCall {
            e,
            callee,
            names,
            args,
        }) {
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
        let call = UserCall {
            e,
            key,
            name: &full,
            args,
        };
        if let Some(t) = self.kernel_called(&call) {
            return t;
        }
        if self.host {
            if let Some(t) = self.host_ufunc_call(&call) {
                return t;
            }
        }
        self.call_function(e, key, &full, None, args)
    }

    /// Checks a call of kern function `key` with `args` (plus an already-checked
    /// receiver for method syntax).
    pub(super) fn call_function(
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
        let mut generic_vars: HashMap<String, Ty> = HashMap::default();
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

    pub(super) fn arity_error(
        &mut self,
        span: Span,
        name: &str,
        expected: usize,
        given: usize,
    ) -> Ty {
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

    pub(super) fn method_call(
        &mut self,
        e: &Expr,
        receiver: &Expr,
        method: &Ident,
        args: &[Expr],
    ) -> Ty {
        if self.host {
            let call = MethodCall {
                e,
                receiver,
                method,
                args,
            };
            if let Some(t) = self.kernel_launch(&call) {
                return t;
            }
            if let Some(t) = self.host_ufunc_method(&call) {
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
}
