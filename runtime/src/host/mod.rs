//! The host environment of `fn main`: the table of host arrays (`Array<T>`) and
//! every operation on them (`ir::HostOp`), for the interpreter.
//!
//! Arrays are [`NdArray`]s owned by the table and named by handles in the
//! interpreter's locals. Constructors, `.npy` files and printing use `array::`;
//! ufunc calls and their methods go through [`Ufunc`] on the module's compiled
//! loops, on the run's target; `random::*_array` runs the compiled loop that fills
//! an array from the stdlib generator (`loops::index_fill`). Failures are
//! `TrapKind::Host` traps at the instruction's span.
//!
//! This file owns the table and the dispatch of each `HostOp` to its concern:
//! `constructors`, `array_methods` (indexing, slicing, reductions in `reduce`),
//! `ufunc_call`, `gufunc_call`, `print`, kernel launches, `jobs` and `mpi`;
//! under `--target mpi` an array may be held distributed (`distributed`), and an
//! operation that needs it whole gathers it first.

mod array_methods;
mod constructors;
mod distributed;
mod gufunc_call;
mod jobs;
mod mpi;
mod print;
mod reduce;
mod ufunc_call;

pub(crate) use mpi::calls_mpi;

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use kern_compiler::backend::cranelift::CompiledFunction;
use kern_compiler::diagnostics::Span;
use kern_compiler::interp::{HostEnv, HostHandle, HostValue};

use distributed::Slot;
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
    arrays: Vec<Option<Slot>>,
    free: Vec<u32>,
    /// The world ufunc results stay distributed over, if they do
    /// ([`distributed::spreading_world`]).
    spread: Option<&'static crate::exec::mpi::World>,
    ufuncs: HashMap<String, Ufunc>,
    gufuncs: HashMap<String, crate::gufunc::Gufunc>,
    jobs: jobs::HostJobs,
    /// The operands of the current op that are temporaries, which it may take
    /// ([`HostEnv::temporaries`]).
    temporaries: Vec<HostHandle>,
}

impl<'m> HostArrays<'m> {
    pub(crate) fn new(
        core: Arc<CompileService>,
        machine_code: &'m HashMap<FuncId, CompiledFunction>,
        target: Target,
    ) -> HostArrays<'m> {
        let spread = distributed::spreading_world(&core.compiled.program, target);
        HostArrays {
            core,
            machine_code,
            ufunc_target: matches!(target, Target::Parallel | Target::Cuda | Target::Mpi)
                .then_some(target),
            spread,
            arrays: Vec::new(),
            free: Vec::new(),
            ufuncs: HashMap::new(),
            gufuncs: HashMap::new(),
            jobs: jobs::HostJobs::default(),
            temporaries: Vec::new(),
        }
    }

    fn insert(&mut self, array: NdArray) -> HostValue {
        self.insert_slot(Slot::Whole(array))
    }

    fn insert_slot(&mut self, slot: Slot) -> HostValue {
        let index = match self.free.pop() {
            Some(i) => {
                self.arrays[i as usize] = Some(slot);
                i
            }
            None => {
                self.arrays.push(Some(slot));
                self.arrays.len() as u32 - 1
            }
        };
        HostValue::Array(HostHandle(index + 1))
    }

    /// The whole array of operand `value` if it is a temporary of the current
    /// op, taken out of the table (its handle keeps an empty array until the
    /// interpreter releases it, right after the op).
    fn take_temporary(&mut self, value: &HostValue) -> Option<NdArray> {
        let HostValue::Array(h) = value else {
            return None;
        };
        if !self.temporaries.contains(h) {
            return None;
        }
        let slot =
            h.0.checked_sub(1)
                .and_then(|i| self.arrays.get_mut(i as usize))?;
        match slot {
            Some(Slot::Whole(a)) => {
                let empty = NdArray::zeros(a.dtype(), &[0]).ok()?;
                Some(std::mem::replace(a, empty))
            }
            _ => None,
        }
    }

    fn slot(&self, h: HostHandle, span: Span) -> Result<&Slot, Trap> {
        h.0.checked_sub(1)
            .and_then(|i| self.arrays.get(i as usize))
            .and_then(|a| a.as_ref())
            .ok_or_else(|| host(span, "use of an array variable that has no value yet"))
    }

    fn slot_mut(&mut self, h: HostHandle, span: Span) -> Result<&mut Slot, Trap> {
        h.0.checked_sub(1)
            .and_then(|i| self.arrays.get_mut(i as usize))
            .and_then(|a| a.as_mut())
            .ok_or_else(|| host(span, "use of an array variable that has no value yet"))
    }

    /// The whole array `h` (distributed ones are gathered before any operation
    /// that gets here).
    fn get(&self, h: HostHandle, span: Span) -> Result<&NdArray, Trap> {
        match self.slot(h, span)? {
            Slot::Whole(a) => Ok(a),
            Slot::Spread(_) => Err(not_gathered(span)),
        }
    }

    fn get_mut(&mut self, h: HostHandle, span: Span) -> Result<&mut NdArray, Trap> {
        match self.slot_mut(h, span)? {
            Slot::Whole(a) => Ok(a),
            Slot::Spread(_) => Err(not_gathered(span)),
        }
    }

    fn ufunc(&mut self, name: &str, span: Span) -> Result<Ufunc, Trap> {
        let (core, target) = (&self.core, self.ufunc_target);
        cached(&mut self.ufuncs, name, || {
            let compiled = &core.compiled;
            // A gufunc whose signature is all scalars (`(),()->()`) is a ufunc too.
            let decl = (compiled.ufuncs.get(name).cloned())
                .or_else(|| compiled.gufuncs.get(name)?.as_ufunc())
                .ok_or_else(|| host(span, format!("no ufunc `{name}` in this module")))?;
            Ok(Ufunc::new(core.clone(), decl, target))
        })
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
        let result = self.dispatch(op, args, span, out);
        self.temporaries.clear();
        result
    }

    fn temporaries(&mut self, arrays: &[HostHandle]) {
        self.temporaries = arrays.to_vec();
    }

    fn descriptor(&mut self, array: HostHandle, rank: u8, span: Span) -> Result<ArrayDesc, Trap> {
        self.describe(array, rank, span)
    }

    fn release(&mut self, array: HostHandle) {
        self.free_slot(array)
    }
}

impl HostArrays<'_> {
    /// Runs `op` ([`HostEnv::host_op`]).
    fn dispatch(
        &mut self,
        op: &HostOp,
        args: &[HostValue],
        span: Span,
        out: &mut dyn Write,
    ) -> Result<HostValue, Trap> {
        if let Some(world) = self.spread {
            if let Some(value) = self.distributed_op(world, op, args, span)? {
                return Ok(value);
            }
            self.gather_args(args, span)?;
        }
        match op {
            HostOp::Zeros(_)
            | HostOp::Ones(_)
            | HostOp::Full(_)
            | HostOp::Arange(_)
            | HostOp::Linspace(_)
            | HostOp::Random { .. }
            | HostOp::Load { .. } => self.constructor(op, args, span),
            HostOp::Save { .. }
            | HostOp::Copy
            | HostOp::Get
            | HostOp::Set
            | HostOp::Slice { .. }
            | HostOp::Reshape
            | HostOp::Sum
            | HostOp::Mean
            | HostOp::Min
            | HostOp::Max
            | HostOp::Len
            | HostOp::Ndim
            | HostOp::Shape => self.array_method(op, args, span),
            HostOp::Ufunc { .. }
            | HostOp::UfuncOut { .. }
            | HostOp::Reduce { .. }
            | HostOp::Accumulate { .. }
            | HostOp::Outer { .. } => self.ufunc_op(op, args, span),
            HostOp::Gufunc {
                name,
                allocating: true,
                ..
            } => {
                let value = self.call_gufunc(name, args, span)?;
                Ok(self.insert(value))
            }
            HostOp::Gufunc { name, nin, .. } => {
                self.call_gufunc_out(name, *nin, args, span)?;
                Ok(HostValue::Unit)
            }
            HostOp::Launch { kernel } => {
                self.launch(*kernel, args, span, out)?;
                Ok(HostValue::Unit)
            }
            HostOp::Jobs(op) => self.jobs_op(op, args, span, out),
            HostOp::Mpi(op) => self.mpi_op(op, args, span),
            HostOp::Print { pieces, newline } => self.print(pieces, *newline, args, span, out),
        }
    }

    fn describe(&mut self, array: HostHandle, rank: u8, span: Span) -> Result<ArrayDesc, Trap> {
        self.gather(array, span)?;
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

    fn free_slot(&mut self, array: HostHandle) {
        if let Some(i) = array.0.checked_sub(1) {
            if let Some(slot) = self.arrays.get_mut(i as usize) {
                if slot.take().is_some() {
                    self.free.push(i);
                }
            }
        }
    }
}

/// The operands of one host operation, read as the checker guarantees them.
struct Args<'a> {
    values: &'a [HostValue],
    span: Span,
}

impl<'a> Args<'a> {
    fn new(values: &'a [HostValue], span: Span) -> Args<'a> {
        Args { values, span }
    }

    fn scalar(&self, i: usize) -> Result<ScalarValue, Trap> {
        match self.values.get(i) {
            Some(HostValue::Scalar(v)) => Ok(*v),
            _ => Err(host(self.span, "internal error: expected a scalar operand")),
        }
    }

    fn int(&self, i: usize) -> Result<i64, Trap> {
        let v = self.scalar(i)?;
        Ok(v.as_i128().unwrap_or(0) as i64)
    }

    /// A shape from dimension operands; negative dimensions are an error.
    fn shape(&self, dims: &[HostValue]) -> Result<Vec<usize>, Trap> {
        let dims: Vec<i64> = dims
            .iter()
            .map(|d| match d {
                HostValue::Scalar(v) => v.as_i128().unwrap_or(0) as i64,
                _ => 0,
            })
            .collect();
        if dims.iter().any(|d| *d < 0) {
            return Err(host(
                self.span,
                format!(
                    "negative dimensions are not allowed: shape {}",
                    shape_tuple(&dims)
                ),
            ));
        }
        Ok(dims.iter().map(|d| *d as usize).collect())
    }
}

fn not_gathered(span: Span) -> Trap {
    host(
        span,
        "internal error: a distributed array where a whole one is needed",
    )
}

fn host(span: Span, msg: impl Into<String>) -> Trap {
    Trap {
        kind: TrapKind::Host(msg.into()),
        span,
    }
}

/// The ufunc or gufunc handle of `name` in `cache`, made by `make` on its
/// first use.
fn cached<T: Clone>(
    cache: &mut HashMap<String, T>,
    name: &str,
    make: impl FnOnce() -> Result<T, Trap>,
) -> Result<T, Trap> {
    if let Some(handle) = cache.get(name) {
        return Ok(handle.clone());
    }
    let handle = make()?;
    cache.insert(name.to_string(), handle.clone());
    Ok(handle)
}

/// A runtime error of a ufunc call as a trap: a kernel's own trap stays one.
fn error_trap(e: Error, span: Span) -> Trap {
    match e {
        Error::Kernel { trap, .. } => trap,
        Error::Call(msg) | Error::Backend(msg) | Error::TargetUnavailable(msg) => host(span, msg),
        other => host(span, other.message()),
    }
}

/// The multi-index `indices` of an array of `shape`, checked against its rank
/// and extents.
fn checked_index(shape: &[usize], indices: &[HostValue], span: Span) -> Result<Vec<usize>, Trap> {
    let ndim = shape.len();
    if indices.len() != ndim {
        let s = |n: usize| if n == 1 { "" } else { "es" };
        return Err(host(
            span,
            format!(
                "cannot index an array of shape {} with {} index{}: it has {} ax{}",
                shape_tuple(shape),
                indices.len(),
                s(indices.len()),
                ndim,
                if ndim == 1 { "is" } else { "es" }
            ),
        ));
    }
    let mut index = Vec::with_capacity(indices.len());
    for (axis, (i, &len)) in indices.iter().zip(shape).enumerate() {
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
