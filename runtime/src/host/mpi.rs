//! MPI in host code: `HostOp::Mpi` (`mpi::rank`, `mpi::send`, `mpi::bcast`,
//! `mpi::reduce`, ...) on the process's [`World`](crate::exec::mpi::World) — MPI's
//! ranks under `mpirun` with the `mpi` feature, else this process alone (rank 0 of
//! 1, where a message sent to rank 0 waits for the matching `recv`).
//!
//! A scalar travels as a 0-d array of its type and comes back as a scalar of that
//! type. Every failure (a rank or tag out of range, a message of the wrong dtype or
//! shape, a `recv` that could never be matched) is a host trap at the call.

use std::borrow::Cow;

use kern_compiler::diagnostics::Span;
use kern_compiler::interp::HostValue;
use kern_compiler::ir::eval::eval_cast;
use kern_compiler::ir::{Function, HostOp, InstKind, MpiOp, MpiReduceOp, ScalarType, Trap};

use super::{error_trap, from_values, host, HostArrays};
use crate::array::{construct, NdArray};
use crate::exec::mpi::{world, ReduceOp};
use crate::shape::shape_tuple;

/// Whether `main` calls an `mpi::` builtin. Such a run opens the world (MPI's
/// start-up, hundreds of milliseconds under `mpirun`) before its clock starts,
/// as a Python program's `import mpi4py` does before anything it times. (The
/// `mpi` target opens it earlier still, when it checks that it is available.)
pub(crate) fn calls_mpi(main: &Function) -> bool {
    main.body.insts_deep().any(|inst| {
        matches!(
            inst.kind,
            InstKind::Host {
                op: HostOp::Mpi(_),
                ..
            }
        )
    })
}

fn reduce_op(op: MpiReduceOp) -> ReduceOp {
    match op {
        MpiReduceOp::Sum => ReduceOp::Sum,
        MpiReduceOp::Prod => ReduceOp::Prod,
        MpiReduceOp::Min => ReduceOp::Min,
        MpiReduceOp::Max => ReduceOp::Max,
    }
}

/// "a f64 array of shape (3,)", or "a f64 scalar" for a 0-d array when scalars
/// are what the call moves.
fn describe(a: &NdArray, scalar: bool) -> String {
    if scalar && a.ndim() == 0 {
        format!("a {} scalar", a.dtype())
    } else {
        format!("a {} array of shape {}", a.dtype(), shape_tuple(a.shape()))
    }
}

impl HostArrays<'_> {
    pub(super) fn mpi_op(
        &mut self,
        op: &MpiOp,
        args: &[HostValue],
        span: Span,
    ) -> Result<HostValue, Trap> {
        let name = op.name();
        let world = world().map_err(|e| error_trap(e, span))?;
        let int = |i: usize| -> Result<i64, Trap> {
            match args.get(i) {
                Some(HostValue::Scalar(v)) => Ok(v
                    .as_i128()
                    .map_or(i64::MAX, |v| i64::try_from(v).unwrap_or(i64::MAX))),
                _ => Err(host(
                    span,
                    format!("internal error: `{name}` without a rank"),
                )),
            }
        };
        let failed = |e: crate::Error| error_trap(e, span);
        match op {
            MpiOp::Rank => Ok(HostValue::Scalar(kern_compiler::ir::ScalarValue::I64(
                world.rank() as i64,
            ))),
            MpiOp::Size => Ok(HostValue::Scalar(kern_compiler::ir::ScalarValue::I64(
                world.size() as i64,
            ))),
            MpiOp::Barrier => {
                world.barrier().map_err(failed)?;
                Ok(HostValue::Unit)
            }
            MpiOp::Send => {
                let (value, _) = self.mpi_value(args, span)?;
                world.send(&value, int(1)?, int(2)?).map_err(failed)?;
                Ok(HostValue::Unit)
            }
            MpiOp::Recv => {
                let Some(HostValue::Array(h)) = args.first() else {
                    return Err(host(span, "internal error: `mpi::recv` without a buffer"));
                };
                let (source, tag) = (int(1)?, int(2)?);
                let arrived = world.recv(source, tag).map_err(failed)?;
                let buf = self.get(*h, span)?;
                // A scalar travels as a 0-d array and fits a 1-element buffer.
                let arrived = if arrived.ndim() == 0 && buf.shape() == [1] {
                    construct::reshape(&arrived, &[1]).map_err(|e| host(span, e.to_string()))?
                } else {
                    arrived
                };
                if arrived.dtype() != buf.dtype() || arrived.shape() != buf.shape() {
                    return Err(host(
                        span,
                        format!(
                            "`mpi::recv` from rank {source} with tag {tag} received {}, \
                             but the buffer is {}: the dtype and shape must be the buffer's \
                             (a scalar fits a 1-element buffer)",
                            describe(&arrived, false),
                            describe(buf, false)
                        ),
                    ));
                }
                *self.get_mut(*h, span)? = arrived;
                Ok(HostValue::Unit)
            }
            MpiOp::Bcast => {
                let root = int(1)?;
                let (value, scalar) = self.mpi_value(args, span)?;
                let arrived = world.broadcast(&value, root).map_err(failed)?;
                let wrong_shape = scalar.is_some() && arrived.ndim() != 0;
                if arrived.dtype() != value.dtype() || wrong_shape {
                    return Err(host(
                        span,
                        format!(
                            "`mpi::bcast` from root rank {root} delivered {}, but this rank expected {}",
                            describe(&arrived, scalar.is_some()),
                            match scalar {
                                Some(_) => describe(&value, true),
                                None => format!("a {} array", value.dtype()),
                            }
                        ),
                    ));
                }
                self.mpi_result(arrived, scalar, span)
            }
            MpiOp::Scatter => {
                let root = int(1)?;
                let (value, _) = self.mpi_value(args, span)?;
                let part = world.scatter(&value, root).map_err(failed)?;
                Ok(self.insert(part))
            }
            MpiOp::Gather => {
                let root = int(1)?;
                let (value, _) = self.mpi_value(args, span)?;
                let gathered = world.gather(&value, root).map_err(failed)?;
                let result = match gathered {
                    Some(all) => all,
                    // Not the root: an empty array with the rows' shape.
                    None => {
                        let mut shape = vec![0];
                        shape.extend(value.shape().iter().skip(1));
                        NdArray::zeros(value.dtype(), &shape)
                            .map_err(|e| host(span, e.to_string()))?
                    }
                };
                Ok(self.insert(result))
            }
            MpiOp::AllGather => {
                let (value, _) = self.mpi_value(args, span)?;
                let all = world.all_gather(&value).map_err(failed)?;
                Ok(self.insert(all))
            }
            MpiOp::Reduce(r) => {
                let root = int(1)?;
                let (value, scalar) = self.mpi_value(args, span)?;
                let value = value.into_owned();
                let result = world
                    .reduce(&value, reduce_op(*r), root)
                    .map_err(failed)?
                    // Not the root: the rank's own value back.
                    .unwrap_or(value);
                self.mpi_result(result, scalar, span)
            }
            MpiOp::AllReduce(r) => {
                let (value, scalar) = self.mpi_value(args, span)?;
                let result = world.all_reduce(&value, reduce_op(*r)).map_err(failed)?;
                self.mpi_result(result, scalar, span)
            }
        }
    }

    /// The value operand (the first): an array of the table, or a scalar as a
    /// 0-d array of its type (with that type, to turn the result back into one).
    fn mpi_value(
        &self,
        args: &[HostValue],
        span: Span,
    ) -> Result<(Cow<'_, NdArray>, Option<ScalarType>), Trap> {
        match args.first() {
            Some(HostValue::Array(h)) => Ok((Cow::Borrowed(self.get(*h, span)?), None)),
            Some(HostValue::Scalar(v)) => {
                let t = v.ty();
                Ok((Cow::Owned(from_values(t, &[], &[*v])), Some(t)))
            }
            _ => Err(host(span, "internal error: an MPI call without its value")),
        }
    }

    /// An array result into the table, or a scalar of type `scalar` from a 0-d one.
    fn mpi_result(
        &mut self,
        result: NdArray,
        scalar: Option<ScalarType>,
        span: Span,
    ) -> Result<HostValue, Trap> {
        match scalar {
            None => Ok(self.insert(result)),
            Some(t) => {
                let v = result
                    .get(&[])
                    .ok_or_else(|| host(span, "internal error: a scalar result that is not 0-d"))?;
                Ok(HostValue::Scalar(eval_cast(v, t)))
            }
        }
    }
}
