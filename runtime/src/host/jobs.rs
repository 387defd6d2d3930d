//! The job server of host code: `HostOp::Jobs` (`jobs::map`, `jobs::set_workers`,
//! `jobs::workers`, `jobs::print_stats`) on a [`Server`] owned by the run of
//! `main`, started on first use with one worker per hardware thread.
//!
//! `jobs::map` submits one job per element and waits for all of them (a progress
//! bar on a terminal for long batches, see `jobs::progress`); each job's
//! `print!` output is collected and written in element order, so a program's
//! output does not depend on scheduling.

use std::io::Write;

use kern_compiler::backend::cranelift::CallError;
use kern_compiler::diagnostics::Span;
use kern_compiler::interp::HostValue;
use kern_compiler::ir::eval::eval_cast;
use kern_compiler::ir::{FuncId, JobsOp, ScalarValue, Trap, Type};

use super::{from_values, host, HostArrays};
use crate::array::{with_array, Element, NdArray};
use crate::jobs::{Group, Job, Server};
use crate::shape::shape_tuple;

/// The server of one run of `main`.
#[derive(Default)]
pub(crate) struct HostJobs {
    server: Option<Server>,
}

impl HostJobs {
    fn server(&mut self, span: Span) -> Result<&Server, Trap> {
        if self.server.is_none() {
            self.server = Some(Server::new().map_err(|e| host(span, e.message()))?);
        }
        Ok(self.server.as_ref().expect("the server was just started"))
    }
}

/// What one element's job gives back: the call's result and its `print!` output.
type ElementResult = (Result<Option<ScalarValue>, CallError>, Vec<u8>);

impl HostArrays<'_> {
    pub(super) fn jobs_op(
        &mut self,
        op: &JobsOp,
        args: &[HostValue],
        span: Span,
        out: &mut dyn Write,
    ) -> Result<HostValue, Trap> {
        match op {
            JobsOp::Map { func } => self.jobs_map(*func, args, span, out),
            JobsOp::SetWorkers => {
                let n = match args.first() {
                    Some(HostValue::Scalar(v)) => v.as_i128().unwrap_or(0),
                    _ => return Err(host(span, "internal error: expected a worker count")),
                };
                if n < 1 {
                    return Err(host(
                        span,
                        format!("the job server needs at least one worker, not {n}"),
                    ));
                }
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                self.jobs
                    .server(span)?
                    .set_workers(n)
                    .map_err(|e| host(span, e.message()))?;
                Ok(HostValue::Unit)
            }
            JobsOp::Workers => {
                let n = self.jobs.server(span)?.workers();
                Ok(HostValue::Scalar(ScalarValue::I64(n as i64)))
            }
            JobsOp::PrintStats => {
                let stats = self.jobs.server(span)?.stats();
                let _ = write!(std::io::stderr().lock(), "{stats}");
                Ok(HostValue::Unit)
            }
        }
    }

    fn jobs_map(
        &mut self,
        func: FuncId,
        args: &[HostValue],
        span: Span,
        out: &mut dyn Write,
    ) -> Result<HostValue, Trap> {
        let function = self.core.compiled.program.function(func);
        let (params, ret) = (function.param_types(), function.ret);
        let Some(ret) = ret else {
            return Err(host(
                span,
                "internal error: a job function without a result",
            ));
        };
        let code = self
            .machine_code
            .get(&func)
            .cloned()
            .ok_or_else(|| host(span, "internal error: the job function is not compiled"))?;
        // The arguments of every job, element by element (row-major order).
        let mut shape: Option<Vec<usize>> = None;
        let mut columns: Vec<Vec<ScalarValue>> = Vec::new();
        for (arg, param) in args.iter().zip(&params) {
            let HostValue::Array(h) = arg else {
                return Err(host(span, "internal error: expected an array"));
            };
            let Type::Scalar(param) = *param else {
                return Err(host(span, "internal error: an array parameter"));
            };
            let a = self.get(*h, span)?;
            match &shape {
                Some(s) if s.as_slice() != a.shape() => {
                    return Err(host(
                        span,
                        format!(
                            "`jobs::map` needs arrays of one shape, found {} and {}",
                            shape_tuple(s),
                            shape_tuple(a.shape())
                        ),
                    ))
                }
                Some(_) => {}
                None => shape = Some(a.shape().to_vec()),
            }
            let column: Vec<ScalarValue> = with_array!(NdArray, a, |x: T| x
                .iter()
                .map(|v| eval_cast(v.to_value(), param))
                .collect());
            columns.push(column);
        }
        let shape = shape.unwrap_or_default();
        let count = columns.first().map_or(0, Vec::len);
        let server = self.jobs.server(span)?.clone();
        let group = Group::new();
        let jobs: Vec<Job<ElementResult>> = (0..count)
            .map(|i| {
                let call_args: Vec<ScalarValue> = columns.iter().map(|c| c[i]).collect();
                let code = code.clone();
                server
                    .submit_fn(move || {
                        let mut output = Vec::new();
                        let result = code.call_scalars(&call_args, &mut output);
                        (result, output)
                    })
                    .in_group(&group)
            })
            .collect();
        group.wait();
        let mut values = Vec::with_capacity(count);
        for job in jobs {
            let (result, output) = match job.wait() {
                Ok(r) => r,
                // The job only calls compiled code, which reports failures as
                // values; a panic here is an internal error, kept off the user.
                Err(e) => return Err(host(span, format!("internal error: a job failed: {e}"))),
            };
            out.write_all(&output)
                .map_err(|e| host(span, format!("cannot write the output of a job: {e}")))?;
            match result {
                Ok(Some(v)) => values.push(v),
                Ok(None) => return Err(host(span, "internal error: a job without a result")),
                Err(CallError::Trap(trap)) => return Err(trap),
                Err(other) => return Err(host(span, other.to_string())),
            }
        }
        Ok(self.insert(from_values(ret, &shape, &values)))
    }
}
