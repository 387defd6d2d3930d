//! The host environment of `fn main`: the table of host arrays (`Array<T>`) and
//! every operation on them (`ir::HostOp`), for the interpreter.
//!
//! Arrays are [`NdArray`]s owned by the table and named by handles in the
//! interpreter's locals. Constructors, `.npy` files and printing use `array::`;
//! ufunc calls and their methods go through [`Ufunc`] on the module's compiled
//! loops, on the run's target; `random::*_array` runs the compiled stdlib function
//! once per element. Failures are `TrapKind::Host` traps at the instruction's span.

mod gufunc_call;
mod jobs;
mod mpi;
mod reduce;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use kern_compiler::backend::cranelift::{CallError, CompiledFunction};
use kern_compiler::diagnostics::Span;
use kern_compiler::interp::{HostEnv, HostHandle, HostValue};
use kern_compiler::ir::format::format_value;
use kern_compiler::ir::{
    ArrayDesc, FormatPiece, FuncId, HostOp, ScalarType, ScalarValue, Trap, TrapKind, MAX_RANK,
};
use ndarray::{ArrayD, Axis, IxDyn, Slice};

use crate::array::{
    alloc, cast_value, construct, npy, storage_dtype, with_array, Element, NdArray,
};
use crate::array::{Operand, OutOperand};
use crate::compile::CompileService;
use crate::shape::shape_tuple;
use crate::ufunc::{Reduce, Ufunc};
use crate::{Error, Target};

/// The host arrays of one run of `main`.
pub(crate) struct HostArrays<'m> {
    core: Arc<CompileService>,
    machine_code: &'m HashMap<FuncId, CompiledFunction>,
    /// The target ufunc calls run on: the run's when it asked for `parallel`,
    /// `cuda` or `mpi`, else each ufunc's own (`target = ".."`, or `cpu`).
    ufunc_target: Option<Target>,
    arrays: Vec<Option<NdArray>>,
    free: Vec<u32>,
    ufuncs: HashMap<String, Ufunc>,
    gufuncs: HashMap<String, crate::gufunc::Gufunc>,
    jobs: jobs::HostJobs,
}

impl<'m> HostArrays<'m> {
    pub(crate) fn new(
        core: Arc<CompileService>,
        machine_code: &'m HashMap<FuncId, CompiledFunction>,
        target: Target,
    ) -> HostArrays<'m> {
        HostArrays {
            core,
            machine_code,
            ufunc_target: matches!(target, Target::Parallel | Target::Cuda | Target::Mpi)
                .then_some(target),
            arrays: Vec::new(),
            free: Vec::new(),
            ufuncs: HashMap::new(),
            gufuncs: HashMap::new(),
            jobs: jobs::HostJobs::default(),
        }
    }

    fn insert(&mut self, array: NdArray) -> HostValue {
        let index = match self.free.pop() {
            Some(i) => {
                self.arrays[i as usize] = Some(array);
                i
            }
            None => {
                self.arrays.push(Some(array));
                self.arrays.len() as u32 - 1
            }
        };
        HostValue::Array(HostHandle(index + 1))
    }

    fn get(&self, h: HostHandle, span: Span) -> Result<&NdArray, Trap> {
        h.0.checked_sub(1)
            .and_then(|i| self.arrays.get(i as usize))
            .and_then(|a| a.as_ref())
            .ok_or_else(|| host(span, "use of an array variable that has no value yet"))
    }

    fn get_mut(&mut self, h: HostHandle, span: Span) -> Result<&mut NdArray, Trap> {
        h.0.checked_sub(1)
            .and_then(|i| self.arrays.get_mut(i as usize))
            .and_then(|a| a.as_mut())
            .ok_or_else(|| host(span, "use of an array variable that has no value yet"))
    }

    fn ufunc(&mut self, name: &str, span: Span) -> Result<Ufunc, Trap> {
        if let Some(u) = self.ufuncs.get(name) {
            return Ok(u.clone());
        }
        // A gufunc whose signature is all scalars (`(),()->()`) is a ufunc too.
        let decl = self
            .core
            .compiled
            .ufuncs
            .get(name)
            .cloned()
            .or_else(|| self.core.compiled.gufuncs.get(name)?.as_ufunc())
            .ok_or_else(|| host(span, format!("no ufunc `{name}` in this module")))?;
        let u = Ufunc::new(self.core.clone(), decl, self.ufunc_target);
        self.ufuncs.insert(name.to_string(), u.clone());
        Ok(u)
    }

    fn run(
        &mut self,
        op: &HostOp,
        args: &[HostValue],
        span: Span,
        out: &mut dyn Write,
    ) -> Result<HostValue, Trap> {
        let fail = |msg: String| host(span, msg);
        let construct_error = |e: construct::ConstructError| host(span, e.to_string());
        let scalar = |i: usize| -> Result<ScalarValue, Trap> {
            match args.get(i) {
                Some(HostValue::Scalar(v)) => Ok(*v),
                _ => Err(host(span, "internal error: expected a scalar operand")),
            }
        };
        let int = |i: usize| -> Result<i64, Trap> {
            let v = scalar(i)?;
            Ok(v.as_i128().unwrap_or(0) as i64)
        };
        let shape_of = |dims: &[HostValue]| -> Result<Vec<usize>, Trap> {
            let dims: Vec<i64> = dims
                .iter()
                .map(|d| match d {
                    HostValue::Scalar(v) => v.as_i128().unwrap_or(0) as i64,
                    _ => 0,
                })
                .collect();
            if dims.iter().any(|d| *d < 0) {
                return Err(host(
                    span,
                    format!(
                        "negative dimensions are not allowed: shape {}",
                        shape_tuple(&dims)
                    ),
                ));
            }
            Ok(dims.iter().map(|d| *d as usize).collect())
        };
        let value = match op {
            HostOp::Zeros(t) => construct::zeros(*t, &shape_of(args)?).map_err(construct_error)?,
            HostOp::Ones(t) => construct::ones(*t, &shape_of(args)?).map_err(construct_error)?,
            HostOp::Full(t) => {
                let (dims, value) = args.split_at(args.len().saturating_sub(1));
                let HostValue::Scalar(v) = value.first().copied().unwrap_or(HostValue::Unit) else {
                    return Err(fail("internal error: `full` without a value".into()));
                };
                construct::full(*t, &shape_of(dims)?, v).map_err(construct_error)?
            }
            HostOp::Arange(t) => construct::arange(scalar(0)?, scalar(1)?, scalar(2)?, *t)
                .map_err(construct_error)?,
            HostOp::Linspace(t) => {
                let f = |v: ScalarValue| match v {
                    ScalarValue::F64(x) => x,
                    other => match kern_compiler::ir::eval::eval_cast(other, ScalarType::F64) {
                        ScalarValue::F64(x) => x,
                        _ => f64::NAN,
                    },
                };
                let num = int(2)?;
                if num < 0 {
                    return Err(fail(format!(
                        "linspace: the number of samples, {num}, must be non-negative"
                    )));
                }
                let a = construct::linspace(f(scalar(0)?), f(scalar(1)?), num as usize, true)
                    .map_err(construct_error)?;
                if storage_dtype(*t) == a.dtype() {
                    a
                } else {
                    a.cast(*t)
                }
            }
            HostOp::Random { func, elem } => {
                let seed = scalar(0)?;
                let n = int(1)?;
                if n < 0 {
                    return Err(fail(format!("cannot make an array of {n} random numbers")));
                }
                let code = self.machine_code.get(func).ok_or_else(|| {
                    fail("internal error: the random number generator is not compiled".into())
                })?;
                // The array first: a length memory cannot hold is an error up front.
                let mut array = construct::zeros(*elem, &[n as usize]).map_err(construct_error)?;
                with_array!(NdArray, &mut array, |x: T| {
                    for (i, slot) in x.iter_mut().enumerate() {
                        let v = match code.call_scalars(&[seed, ScalarValue::U64(i as u64)], out) {
                            Ok(Some(v)) => v,
                            Ok(None) => return Err(fail("internal error: no random value".into())),
                            Err(CallError::Trap(t)) => return Err(t),
                            Err(other) => return Err(fail(format!("{other}"))),
                        };
                        *slot = T::from_value(cast_value(v, T::DTYPE))
                            .ok_or_else(|| fail("internal error: element type".into()))?;
                    }
                });
                array
            }
            HostOp::Load { path, elem } => {
                let a = npy::load_npy(Path::new(path)).map_err(|e| fail(e.to_string()))?;
                if a.dtype() != storage_dtype(*elem) {
                    return Err(fail(format!(
                        "cannot load `{path}` as an `Array<{elem}>`: the file holds an array of dtype {}",
                        a.dtype()
                    )));
                }
                a
            }
            HostOp::Save { path } => {
                let a = self.arg_array(args, 0, span)?;
                npy::save_npy(Path::new(path), &a.view()).map_err(|e| fail(e.to_string()))?;
                return Ok(HostValue::Unit);
            }
            HostOp::Copy => {
                let a = self.arg_array(args, 0, span)?;
                with_array!(NdArray, a, |x: T| T::wrap(
                    alloc::to_owned(x.view()).map_err(|e| fail(e.to_string()))?
                ))
            }
            HostOp::Get => {
                let a = self.arg_array(args, 0, span)?;
                let index = checked_index(a, &args[1..], span)?;
                let v = a
                    .get(&index)
                    .ok_or_else(|| fail("internal error: index".into()))?;
                return Ok(HostValue::Scalar(v));
            }
            HostOp::Set => {
                let HostValue::Array(h) = args[0] else {
                    return Err(fail("internal error: expected an array".into()));
                };
                let (indices, value) = args[1..].split_at(args.len() - 2);
                let HostValue::Scalar(v) = value[0] else {
                    return Err(fail("internal error: expected a value".into()));
                };
                let a = self.get_mut(h, span)?;
                let index = checked_index(a, indices, span)?;
                with_array!(NdArray, a, |x: T| {
                    let v = T::from_value(cast_value(v, T::DTYPE))
                        .ok_or_else(|| fail("internal error: element type".into()))?;
                    x[IxDyn(&index)] = v;
                });
                return Ok(HostValue::Unit);
            }
            HostOp::Slice { has_start, has_end } => {
                let a = self.arg_array(args, 0, span)?;
                if a.ndim() == 0 {
                    return Err(fail("cannot slice a 0-d array".into()));
                }
                let len = a.shape()[0];
                let mut next = 1;
                let mut bound = |present: bool, default: usize| -> Result<usize, Trap> {
                    if !present {
                        return Ok(default);
                    }
                    next += 1;
                    Ok(scalar(next - 1)?.as_i128().unwrap_or(0) as usize)
                };
                let start = bound(*has_start, 0)?;
                let end = bound(*has_end, len)?;
                if end > len {
                    return Err(fail(format!(
                        "range end index {end} out of range for axis 0 of length {len}"
                    )));
                }
                if start > end {
                    return Err(fail(format!(
                        "slice index starts at {start} but ends at {end}"
                    )));
                }
                with_array!(NdArray, a, |x: T| T::wrap(
                    alloc::to_owned(x.slice_axis(Axis(0), Slice::from(start..end)))
                        .map_err(|e| fail(e.to_string()))?
                ))
            }
            HostOp::Reshape => {
                let a = self.arg_array(args, 0, span)?;
                let dims: Vec<isize> = (1..args.len())
                    .map(|i| int(i).map(|d| d as isize))
                    .collect::<Result<_, _>>()?;
                construct::reshape(a, &dims).map_err(construct_error)?
            }
            HostOp::Sum => {
                let a = self.arg_array(args, 0, span)?;
                if a.dtype() == ScalarType::Bool {
                    return Err(fail("`.sum()` of a bool array is not supported".into()));
                }
                return Ok(HostValue::Scalar(
                    reduce::sum(a).map_err(|e| fail(e.to_string()))?,
                ));
            }
            HostOp::Mean => {
                return Ok(HostValue::Scalar(
                    reduce::mean(self.arg_array(args, 0, span)?)
                        .map_err(|e| fail(e.to_string()))?,
                ))
            }
            HostOp::Min | HostOp::Max => {
                let max = matches!(op, HostOp::Max);
                let a = self.arg_array(args, 0, span)?;
                return match reduce::extreme(a, max) {
                    Some(v) => Ok(HostValue::Scalar(v)),
                    None => Err(fail(format!(
                        "zero-size array to reduction operation {} which has no identity",
                        if max { "maximum" } else { "minimum" }
                    ))),
                };
            }
            HostOp::Len => {
                let a = self.arg_array(args, 0, span)?;
                return match a.shape().first() {
                    Some(n) => Ok(HostValue::Scalar(ScalarValue::Usize(*n as u64))),
                    None => Err(fail("len() of a 0-d array".into())),
                };
            }
            HostOp::Ndim => {
                let a = self.arg_array(args, 0, span)?;
                return Ok(HostValue::Scalar(ScalarValue::Usize(a.ndim() as u64)));
            }
            HostOp::Shape => {
                let a = self.arg_array(args, 0, span)?;
                let shape: Vec<u64> = a.shape().iter().map(|d| *d as u64).collect();
                NdArray::from(ndarray::Array1::from(shape).into_dyn())
            }
            HostOp::Ufunc { name } => {
                let u = self.ufunc(name, span)?;
                let operands = self.operands(args, span)?;
                u.call(&operands).map_err(|e| error_trap(e, span))?
            }
            HostOp::UfuncOut { name } => {
                let u = self.ufunc(name, span)?;
                let HostValue::Array(h) = args[0] else {
                    return Err(fail("internal error: expected an output array".into()));
                };
                let mut target = self.get(h, span)?.clone();
                // An input that is the output itself is read from a copy of it.
                let copy = target.clone();
                let mut operands = Vec::new();
                for a in &args[1..] {
                    operands.push(match a {
                        HostValue::Array(x) if *x == h => Operand::Array(copy.view()),
                        HostValue::Array(x) => Operand::Array(self.get(*x, span)?.view()),
                        HostValue::Scalar(v) => Operand::Scalar(*v),
                        HostValue::Unit => return Err(fail("internal error: operand".into())),
                    });
                }
                u.call_out(&operands, OutOperand(target.view_mut()))
                    .map_err(|e| error_trap(e, span))?;
                drop(operands);
                *self.get_mut(h, span)? = target;
                return Ok(HostValue::Unit);
            }
            HostOp::Gufunc {
                name,
                allocating: true,
                ..
            } => self.call_gufunc(name, args, span)?,
            HostOp::Gufunc { name, nin, .. } => {
                self.call_gufunc_out(name, *nin, args, span)?;
                return Ok(HostValue::Unit);
            }
            HostOp::Reduce { name, axis } => {
                let u = self.ufunc(name, span)?;
                let options = if *axis {
                    Reduce::axis(int(1)? as isize)
                } else {
                    Reduce::all()
                };
                let a = self.arg_array(args, 0, span)?;
                let r = u
                    .reduce(Operand::Array(a.view()), &options)
                    .map_err(|e| error_trap(e, span))?;
                if !*axis {
                    let v = r
                        .get(&[])
                        .ok_or_else(|| fail("internal error: reduction".into()))?;
                    return Ok(HostValue::Scalar(v));
                }
                r
            }
            HostOp::Accumulate { name } => {
                let u = self.ufunc(name, span)?;
                let axis = int(1)? as isize;
                let a = self.arg_array(args, 0, span)?;
                u.accumulate(Operand::Array(a.view()), axis)
                    .map_err(|e| error_trap(e, span))?
            }
            HostOp::Outer { name } => {
                let u = self.ufunc(name, span)?;
                let a = self.arg_array(args, 0, span)?;
                let b = self.arg_array(args, 1, span)?;
                u.outer(Operand::Array(a.view()), Operand::Array(b.view()))
                    .map_err(|e| error_trap(e, span))?
            }
            HostOp::Launch { kernel } => {
                self.launch(*kernel, args, span, out)?;
                return Ok(HostValue::Unit);
            }
            HostOp::Jobs(op) => return self.jobs_op(op, args, span, out),
            HostOp::Mpi(op) => return self.mpi_op(op, args, span),
            HostOp::Print { pieces, newline } => {
                let mut text = String::new();
                let mut next = args.iter();
                for piece in pieces {
                    match piece {
                        FormatPiece::Text(t) => text.push_str(t),
                        FormatPiece::Arg(spec) => match next.next() {
                            Some(HostValue::Scalar(v)) => text.push_str(&format_value(*v, spec)),
                            Some(HostValue::Array(h)) => {
                                text.push_str(&self.get(*h, span)?.to_string())
                            }
                            _ => {}
                        },
                    }
                }
                if *newline {
                    text.push('\n');
                }
                // Lost output (a full disk, a closed pipe) is an error at the print.
                out.write_all(text.as_bytes()).map_err(|e| {
                    host(
                        span,
                        format!("cannot write the output of `print!`/`println!`: {e}"),
                    )
                })?;
                return Ok(HostValue::Unit);
            }
        };
        Ok(self.insert(value))
    }

    /// `kernel.launch(grid, block, args..)`: args are the six extents, then the
    /// kernel's arguments.
    fn launch(
        &mut self,
        kernel: FuncId,
        args: &[HostValue],
        span: Span,
        out: &mut dyn Write,
    ) -> Result<(), Trap> {
        let Some((dims, kernel_args)) = args.split_first_chunk::<6>() else {
            return Err(host(
                span,
                "internal error: a launch without its grid and block",
            ));
        };
        let mut extents = [0usize; 6];
        for (extent, d) in extents.iter_mut().zip(dims) {
            let n = match d {
                HostValue::Scalar(v) => v.as_i128().unwrap_or(-1),
                _ => -1,
            };
            *extent = usize::try_from(n).map_err(|_| {
                host(
                    span,
                    format!("a grid or block extent must be at least 1, not {n}"),
                )
            })?;
        }
        let grid = crate::Dim3::new(extents[0], extents[1], extents[2]);
        let block = crate::Dim3::new(extents[3], extents[4], extents[5]);
        let params = self.core.compiled.program.function(kernel).param_types();
        let mut host_args = Vec::with_capacity(kernel_args.len());
        for (arg, param) in kernel_args.iter().zip(params) {
            host_args.push(match (arg, param) {
                (HostValue::Array(h), kern_compiler::ir::Type::Array(a)) => {
                    kern_compiler::interp::HostArg::Array(self.descriptor(*h, a.rank, span)?)
                }
                (HostValue::Scalar(v), _) => kern_compiler::interp::HostArg::Scalar(*v),
                _ => return Err(host(span, "internal error: a kernel argument")),
            });
        }
        let target = self
            .ufunc_target
            .or_else(|| crate::kernel::declared_target(&self.core.compiled.program, kernel))
            .unwrap_or_default();
        // SAFETY: every descriptor points into an array of this table, which no
        // one else touches until the launch returns; the checker matched element
        // types and the descriptor call checked the rank.
        unsafe { crate::kernel::launch(&self.core, kernel, target, grid, block, &host_args, out) }
            .map_err(|f| crate::kernel::failure_trap(f, span))
    }

    fn arg_array(&self, args: &[HostValue], i: usize, span: Span) -> Result<&NdArray, Trap> {
        match args.get(i) {
            Some(HostValue::Array(h)) => self.get(*h, span),
            _ => Err(host(span, "internal error: expected an array operand")),
        }
    }

    fn operands(&self, args: &[HostValue], span: Span) -> Result<Vec<Operand<'_>>, Trap> {
        args.iter()
            .map(|a| match a {
                HostValue::Array(h) => Ok(Operand::Array(self.get(*h, span)?.view())),
                HostValue::Scalar(v) => Ok(Operand::Scalar(*v)),
                HostValue::Unit => Err(host(span, "internal error: operand")),
            })
            .collect()
    }
}

impl HostEnv for HostArrays<'_> {
    fn host_op(
        &mut self,
        op: &HostOp,
        args: &[HostValue],
        span: Span,
        out: &mut dyn Write,
    ) -> Result<HostValue, Trap> {
        self.run(op, args, span, out)
    }

    fn descriptor(&mut self, array: HostHandle, rank: u8, span: Span) -> Result<ArrayDesc, Trap> {
        let a = self.get_mut(array, span)?;
        if a.ndim() != rank as usize {
            return Err(host(
                span,
                format!(
                    "this call expects a {rank}-d array, but the array has shape {}",
                    shape_tuple(a.shape())
                ),
            ));
        }
        if a.ndim() > MAX_RANK {
            return Err(host(
                span,
                "arrays of rank above 8 cannot be passed to kernels",
            ));
        }
        let mut desc = ArrayDesc {
            data: std::ptr::null_mut(),
            shape: [0; MAX_RANK],
            strides: [0; MAX_RANK],
        };
        with_array!(NdArray, a, |x: T| {
            for (k, (&len, &stride)) in x.shape().iter().zip(x.strides()).enumerate() {
                desc.shape[k] = len as i64;
                desc.strides[k] = stride as i64;
            }
            desc.data = x.as_mut_ptr().cast::<u8>();
        });
        Ok(desc)
    }

    fn release(&mut self, array: HostHandle) {
        if let Some(i) = array.0.checked_sub(1) {
            if let Some(slot) = self.arrays.get_mut(i as usize) {
                if slot.take().is_some() {
                    self.free.push(i);
                }
            }
        }
    }
}

fn host(span: Span, msg: impl Into<String>) -> Trap {
    Trap {
        kind: TrapKind::Host(msg.into()),
        span,
    }
}

/// A runtime error of a ufunc call as a trap: a kernel's own trap stays one.
fn error_trap(e: Error, span: Span) -> Trap {
    match e {
        Error::Kernel { trap, .. } => trap,
        Error::Call(msg) | Error::Backend(msg) | Error::TargetUnavailable(msg) => host(span, msg),
        other => host(span, other.message()),
    }
}

/// The multi-index `indices` of `a`, checked against its rank and extents.
fn checked_index(a: &NdArray, indices: &[HostValue], span: Span) -> Result<Vec<usize>, Trap> {
    if indices.len() != a.ndim() {
        let s = |n: usize| if n == 1 { "" } else { "es" };
        return Err(host(
            span,
            format!(
                "cannot index an array of shape {} with {} index{}: it has {} ax{}",
                shape_tuple(a.shape()),
                indices.len(),
                s(indices.len()),
                a.ndim(),
                if a.ndim() == 1 { "is" } else { "es" }
            ),
        ));
    }
    let mut index = Vec::with_capacity(indices.len());
    for (axis, (i, &len)) in indices.iter().zip(a.shape()).enumerate() {
        let i = match i {
            HostValue::Scalar(v) => v.as_i128().unwrap_or(-1),
            _ => -1,
        };
        if i < 0 || i as u128 >= len as u128 {
            return Err(host(
                span,
                format!("index {i} is out of bounds for axis {axis} with size {len}"),
            ));
        }
        index.push(i as usize);
    }
    Ok(index)
}

/// An array of `elem` and `shape` from values of that type, in C order.
fn from_values(elem: ScalarType, shape: &[usize], values: &[ScalarValue]) -> NdArray {
    crate::array::with_dtype!(elem, |T| {
        let data: Vec<T> = values
            .iter()
            .map(|v| T::from_value(cast_value(*v, T::DTYPE)).expect("storage dtype"))
            .collect();
        T::wrap(ArrayD::from_shape_vec(IxDyn(shape), data).expect("shape matches the values"))
    })
}
