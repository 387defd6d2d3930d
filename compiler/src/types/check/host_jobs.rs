//! Checking the job-server builtins of host code: `jobs::map(f, &a, ..)`,
//! `jobs::set_workers(n)`, `jobs::workers()` and `jobs::print_stats()`.
//!
//! `jobs::map` is the one construct that submits jobs: a named user function and
//! host arrays of its parameter types, one job per element, an `Array` of its
//! return type back. It needs no job or server values in the language (no new
//! types): batches are arrays, which host code already has. Kernels cannot use
//! any of it.

use super::*;

/// A job-server builtin other than `jobs::map`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobsCall {
    SetWorkers,
    Workers,
    PrintStats,
}

const JOBS_BUILTINS: &str =
    "`jobs::map`, `jobs::set_workers`, `jobs::workers` and `jobs::print_stats`";

impl FnChecker<'_, '_> {
    /// `jobs::NAME(args)`; `None` when `names` is not a `jobs::` path.
    pub(super) fn jobs_call(&mut self, call: &PathCall) -> Option<Ty> {
        let (e, callee, names, args) = (call.e, call.callee, call.names, call.args);
        let name = self.user_module_call("jobs", names)?;
        if !self.host {
            return Some(self.error(
                callee.span,
                format!("`jobs::{name}` uses the job server: it is only available in host code (`fn main`)"),
            ));
        }
        let full = format!("jobs::{name}");
        let ty = match *name {
            "map" => self.jobs_map(e, args),
            "set_workers" => {
                if !self.arity(e, &full, args, &[1]) {
                    return Some(Ty::Error);
                }
                self.int_arg(&args[0]);
                self.resolve(
                    e,
                    Resolution::Host(HostResolution::Jobs(JobsCall::SetWorkers)),
                );
                Ty::Unit
            }
            "workers" | "print_stats" => {
                if !self.arity(e, &full, args, &[0]) {
                    return Some(Ty::Error);
                }
                let (call, ty) = if *name == "workers" {
                    (JobsCall::Workers, Ty::Scalar(ScalarType::I64))
                } else {
                    (JobsCall::PrintStats, Ty::Unit)
                };
                self.resolve(e, Resolution::Host(HostResolution::Jobs(call)));
                ty
            }
            _ => {
                self.arg_exprs(args);
                self.errors.push(
                    Diagnostic::error(callee.span, format!("the job server has no `{full}`"))
                        .with_label("not a job-server builtin")
                        .with_note(format!("host code can use {JOBS_BUILTINS}")),
                );
                Ty::Error
            }
        };
        Some(ty)
    }

    /// `jobs::map(f, &a, &b, ..)`: `f` a user function of scalar parameters with a
    /// scalar result, one host array per parameter, of exactly its type.
    fn jobs_map(&mut self, e: &Expr, args: &[Expr]) -> Ty {
        let Some((func_expr, arrays)) = args.split_first() else {
            return self.error(
                e.span,
                "`jobs::map` takes a function and one array per parameter: `jobs::map(f, &x)`",
            );
        };
        let key = match &func_expr.kind {
            ExprKind::Path(segments) if segments.len() == 1 => {
                self.env.find_fn(Namespace::User, &segments[0].name)
            }
            _ => None,
        };
        let Some(key) = key else {
            for a in arrays {
                self.arg_expr(a);
            }
            return self.error(
                func_expr.span,
                "`jobs::map` runs a function of this file: name it, as in `jobs::map(sum_primes, &ns)`",
            );
        };
        let decl = self.env.function(key).decl;
        let param_types: Vec<Ty> = decl
            .params
            .iter()
            .map(|p| self.param_type(&p.ty).0)
            .collect();
        // An array made in the call (`&arange(1, 11)`) takes the parameter's
        // element type, as it would from a `let` annotation.
        let mut array_types = Vec::new();
        for (i, a) in arrays.iter().enumerate() {
            let made_here = match &a.kind {
                ExprKind::Ref { expr, .. } => strip_parens(expr),
                _ => strip_parens(a),
            };
            let saved = self.array_hint;
            if let Some(Ty::Scalar(p)) = param_types.get(i) {
                self.array_hint = Some((made_here.id, *p));
            }
            array_types.push(self.arg_expr(a));
            self.array_hint = saved;
        }
        if decl.name.name == "main" {
            return self.error(func_expr.span, "`main` cannot be a job");
        }
        if !decl.generics.is_empty() {
            return self.error(
                func_expr.span,
                format!(
                    "`{}` is generic: `jobs::map` runs functions of concrete types",
                    decl.name.name
                ),
            );
        }
        if decl.params.len() != arrays.len() {
            return self.error(
                e.span,
                format!(
                    "`{}` takes {} argument(s), so `jobs::map` needs {} array(s) after it, but {} were given",
                    decl.name.name,
                    decl.params.len(),
                    decl.params.len(),
                    arrays.len()
                ),
            );
        }
        let mut ok = true;
        for (((param, array), at), pt) in decl
            .params
            .iter()
            .zip(arrays)
            .zip(array_types)
            .zip(param_types)
        {
            let Ty::Scalar(p) = pt else {
                if pt != Ty::Error {
                    self.error(
                        param.ty.span,
                        "`jobs::map` runs functions of scalar parameters, one element per job",
                    );
                }
                ok = false;
                continue;
            };
            match self.inf.resolve(at) {
                Ty::HostArray(elem) if elem == p => {}
                Ty::Error => ok = false,
                _ => {
                    let d = self.inf.describe(at);
                    self.error(
                        array.span,
                        format!(
                            "`jobs::map` passes the elements of an `Array<{p}>` here, found `{d}`"
                        ),
                    );
                    ok = false;
                }
            }
        }
        let ret = match &decl.ret {
            Some(t) => self.param_type(t).0,
            None => {
                return self.error(
                    func_expr.span,
                    format!(
                        "`{}` returns nothing: `jobs::map` collects one result per job",
                        decl.name.name
                    ),
                )
            }
        };
        let Ty::Scalar(ret) = ret else {
            return Ty::Error;
        };
        if !ok {
            return Ty::Error;
        }
        self.resolve(e, Resolution::Host(HostResolution::JobsMap { func: key }));
        Ty::HostArray(ret)
    }
}
