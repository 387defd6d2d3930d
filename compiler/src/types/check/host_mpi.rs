//! Checking the MPI builtins of host code: `mpi::rank()`, `mpi::send(&a, dest,
//! tag)`, `mpi::bcast(x, root)`, `mpi::reduce(x, root)`, ... (`ir::host_mpi` is
//! their semantics).
//!
//! Values that travel are host arrays (`&a`) or scalars (0-d arrays on the wire);
//! `recv` writes into an existing `&mut` host array, `scatter`/`gather`/
//! `allgather` take arrays only. Ranks and tags are any integer type. The result of
//! `bcast`, `reduce` and `allreduce` has the type of the value passed. Kernels
//! cannot use any of it.

use super::*;
use crate::ir::host_mpi::{MpiOp, MPI_BUILTINS};

impl FnChecker<'_, '_> {
    /// `mpi::NAME(args)`; `None` when `names` is not an `mpi::` path.
    pub(super) fn mpi_call(&mut self, call: &PathCall) -> Option<Ty> {
        let (e, callee, names, args) = (call.e, call.callee, call.names, call.args);
        let name = self.user_module_call("mpi", names)?;
        let full = format!("mpi::{name}");
        if !self.host {
            return Some(self.error(
                callee.span,
                format!(
                    "`{full}` communicates between MPI ranks: it is only available in host code (`fn main`)"
                ),
            ));
        }
        let Some(op) = MpiOp::from_name(name) else {
            self.arg_exprs(args);
            let list: Vec<String> = MPI_BUILTINS.iter().map(|b| format!("`mpi::{b}`")).collect();
            self.errors.push(
                Diagnostic::error(callee.span, format!("MPI has no `{full}`"))
                    .with_label("not an MPI builtin")
                    .with_note(format!("host code can use {}", list.join(", "))),
            );
            return Some(Ty::Error);
        };
        let arity = match op {
            MpiOp::Rank | MpiOp::Size | MpiOp::Barrier => 0,
            MpiOp::AllGather | MpiOp::AllReduce(_) => 1,
            MpiOp::Bcast | MpiOp::Scatter | MpiOp::Gather | MpiOp::Reduce(_) => 2,
            MpiOp::Send | MpiOp::Recv => 3,
        };
        if !self.arity(e, &full, args, &[arity]) {
            return Some(Ty::Error);
        }
        let ty = match op {
            MpiOp::Rank | MpiOp::Size => Ty::Scalar(ScalarType::I64),
            MpiOp::Barrier => Ty::Unit,
            MpiOp::Send => match self.mpi_value(&args[0], &full) {
                Ty::Error => Ty::Error,
                _ => Ty::Unit,
            },
            MpiOp::Recv => {
                let t = self.arg_expr(&args[0]);
                let is_mut_borrow = matches!(args[0].kind, ExprKind::Ref { mutable: true, .. });
                match self.inf.resolve(t) {
                    Ty::HostArray(_) if is_mut_borrow => Ty::Unit,
                    Ty::Error => Ty::Error,
                    _ => {
                        let d = self.inf.describe(t);
                        self.errors.push(
                            Diagnostic::error(
                                args[0].span,
                                "`mpi::recv` receives into a host array passed as `&mut buf`",
                            )
                            .with_label(format!("found `{d}`"))
                            .with_note(
                                "make the buffer first (`let mut buf: Array<f64> = zeros(n);`); \
                                 a scalar that was sent arrives in a 1-element array",
                            ),
                        );
                        Ty::Error
                    }
                }
            }
            MpiOp::Bcast | MpiOp::Reduce(_) | MpiOp::AllReduce(_) => {
                self.mpi_value(&args[0], &full)
            }
            MpiOp::Scatter | MpiOp::Gather | MpiOp::AllGather => {
                let t = self.arg_expr(&args[0]);
                match self.inf.resolve(t) {
                    Ty::HostArray(elem) => Ty::HostArray(elem),
                    Ty::Error => Ty::Error,
                    _ => {
                        let d = self.inf.describe(t);
                        self.error(
                            args[0].span,
                            format!("`{full}` takes a host array (`&a`), found `{d}`"),
                        )
                    }
                }
            }
        };
        // Ranks and tags: any integer type, as `jobs::set_workers` takes them.
        for a in args.iter().skip(1) {
            self.int_arg(a);
        }
        if ty != Ty::Error {
            self.resolve(e, Resolution::Host(HostResolution::Mpi(op)));
        }
        Some(ty)
    }

    /// A value that travels: a host array or a scalar; its type is the result's.
    fn mpi_value(&mut self, a: &Expr, full: &str) -> Ty {
        let t = self.arg_expr(a);
        match self.inf.resolve(t) {
            Ty::HostArray(_) | Ty::Scalar(_) | Ty::Var(_) | Ty::Error => t,
            _ => {
                let d = self.inf.describe(t);
                self.error(
                    a.span,
                    format!("`{full}` takes a scalar or a host array (`&a`), found `{d}`"),
                )
            }
        }
    }
}
