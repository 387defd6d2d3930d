//! Ufunc handles: calling a `#[vectorize]` function on n-d arrays and scalars with
//! NumPy's semantics.
//!
//! A call resolves the loop ([`resolve`]: exact match, then safe casting, weak
//! scalars; or the types the handle fixes, `call_types`), broadcasts the
//! operands, allocates the output (or checks the given `out`: the inputs
//! broadcast to its shape, it is never stretched; a dtype the result converts to
//! under the casting rule, `same_kind` by default), copies an input that overlaps `out` other than elementwise, and
//! runs the compiled elementwise loop for those dtypes on the target — compiling it
//! on first use, once, whichever thread asks first. `reduce`, `accumulate` and
//! `outer` are in [`methods`]; calls whose operands live in GPU memory
//! (`DeviceArray`, feature `cuda`) in `device_call`, planned by the same
//! `plan_described` as host calls.
//!
//! This module knows arrays, dtypes and targets; it does not know how loops are
//! generated (the compiler's `loops::elementwise`) or run (`exec`).

pub(crate) mod call_types;
#[cfg(feature = "cuda")]
mod device_call;
mod folds;
mod masked;
mod methods;

pub use kern_compiler::dtype_rules::{casting, resolve};

use std::sync::Arc;

use kern_compiler::ir::ScalarType;
use kern_compiler::kernel_decl::UfuncDecl;
use kern_compiler::loops::elementwise::LoopSignature;

pub use crate::loop_text::LoopForm;
use call_types::CallTypes;
#[cfg(feature = "cuda")]
pub use device_call::DeviceOperand;
pub use methods::{Initial, Reduce};
use resolve::{resolve_loop_with, InputDtype, ResolvedLoop};

use crate::array::{
    cast_value, overlap_copies, storage_dtype, with_copies, with_dtype, ArrayMut, ArrayRef, DType,
    Element, NdArray, Operand, OutOperand,
};
use crate::broadcast::{broadcast_shapes, broadcast_strides};
use crate::compile::{CompileService, LoopRequest};
use crate::exec::{self, Iteration, LoopCode, StridedOperand};
use crate::shape::shape_text;
use crate::{Error, Target};

/// A `#[vectorize]` function of a module, callable on arrays. Cheap to clone and
/// safe to share between threads.
#[derive(Clone)]
pub struct Ufunc {
    core: Arc<CompileService>,
    decl: Arc<UfuncDecl>,
    target: Target,
    /// `casting=`, `dtype=`, `signature=` of its calls.
    types: CallTypes,
}

impl std::fmt::Debug for Ufunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ufunc")
            .field("name", &self.decl.name)
            .field("target", &self.target)
            .finish()
    }
}

call_types::handle_options!(Ufunc);

impl Ufunc {
    pub(crate) fn new(core: Arc<CompileService>, decl: UfuncDecl, target: Option<Target>) -> Ufunc {
        let target = call_types::initial_target(target, decl.target.as_deref());
        Ufunc {
            core,
            decl: Arc::new(decl),
            target,
            types: CallTypes::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.decl.name
    }

    /// Number of inputs.
    pub fn nin(&self) -> usize {
        self.decl.params.len()
    }

    /// Applies the ufunc elementwise, broadcasting the inputs; returns a new array
    /// (a 0-d array when every input is a scalar).
    pub fn call(&self, inputs: &[Operand<'_>]) -> Result<NdArray, Error> {
        let plan = self.plan(inputs, None)?;
        let shape = plan.shape.clone();
        let layout_fortran = prefers_fortran(inputs, &shape);
        with_dtype!(plan.out_dtype, |T| {
            let mut out = crate::array::alloc::uninit_array::<T>(&shape, layout_fortran)?;
            let strides = out.strides().to_vec();
            let base = out.as_mut_ptr() as *mut u8;
            // SAFETY: `out` is a fresh allocation of the broadcast shape; the loop
            // writes every element before `assume_init`, and on error the
            // uninitialised array is dropped without being read.
            unsafe { self.execute(&plan, inputs, base, &strides)? };
            Ok(T::wrap(unsafe { out.assume_init() }))
        })
    }

    /// Applies the ufunc elementwise into `out`: the inputs broadcast to its shape
    /// (`out` itself is never stretched), and its dtype must be one the result converts to under
    /// NumPy's `same_kind` rule. An input may be `out` itself (elementwise);
    /// inputs that overlap `out` in any other way are copied first.
    pub fn call_out<'o>(
        &self,
        inputs: &[Operand<'_>],
        out: impl Into<OutOperand<'o>>,
    ) -> Result<(), Error> {
        let OutOperand(mut out) = out.into();
        let plan = self.plan(inputs, Some(&out))?;
        let strides = out.strides().to_vec();
        let base = out.base_ptr();
        // Inputs that overlap `out` other than elementwise are read from a copy, as
        // NumPy does, so the result is as if all inputs were read first.
        let copies = overlap_copies(inputs, |a| overlaps_unsafely(a, &out, &plan.shape));
        let inputs = with_copies(inputs, &copies);
        // SAFETY: `out` is a live, writable view of the broadcast shape, borrowed
        // mutably for the whole call; inputs alias it only elementwise.
        unsafe { self.execute(&plan, &inputs, base, &strides) }
    }

    /// Dtype resolution and shape checks of a call, before anything runs.
    fn plan(&self, inputs: &[Operand<'_>], out: Option<&ArrayMut<'_>>) -> Result<CallPlan, Error> {
        let described: Vec<PlanInput<'_>> = inputs
            .iter()
            .map(|o| PlanInput {
                dtype: match o {
                    Operand::Array(a) => InputDtype::Strong(a.dtype()),
                    Operand::Scalar(v) => InputDtype::Weak(*v),
                },
                shape: o.shape(),
            })
            .collect();
        self.plan_described(&described, out.map(|o| (o.shape(), o.dtype())))
    }

    /// [`Ufunc::plan`] over what planning sees of the operands, wherever they
    /// live: host and device calls share it, so they resolve and fail alike.
    /// `out` is the given output's shape and dtype.
    fn plan_described(
        &self,
        inputs: &[PlanInput<'_>],
        out: Option<(&[usize], DType)>,
    ) -> Result<CallPlan, Error> {
        let decl = &self.decl;
        if inputs.len() != decl.params.len() {
            return Err(Error::Call(format!(
                "ufunc `{}` takes {} input{} but {} were given",
                decl.name,
                decl.params.len(),
                if decl.params.len() == 1 { "" } else { "s" },
                inputs.len()
            )));
        }
        self.target.check_available()?;
        self.types
            .check("ufunc", &decl.name, decl.params.len(), 1)?;
        let dtypes: Vec<InputDtype> = inputs.iter().map(|o| o.dtype).collect();
        let casting = self.types.casting;
        let resolved = resolve_loop_with(decl, &dtypes, &self.types.fixed, casting)
            .map_err(|e| Error::Call(e.message))?;
        // `out` takes part in broadcasting (inputs stretch to its shape) but is
        // never stretched itself, as in NumPy.
        let mut shapes: Vec<&[usize]> = inputs.iter().map(|o| o.shape).collect();
        if let Some((out_shape, _)) = out {
            shapes.push(out_shape);
        }
        let shape = broadcast_shapes(&shapes).map_err(|e| Error::Call(e.to_string()))?;
        let out_dtype = match out {
            None => storage_dtype(resolved.ret),
            Some((out_shape, out_dtype)) => {
                if out_shape != shape.as_slice() {
                    return Err(Error::Call(format!(
                        "non-broadcastable output operand with shape {} doesn't match the broadcast shape {}",
                        shape_text(out_shape),
                        shape_text(&shape)
                    )));
                }
                if !casting.allows(resolved.ret, out_dtype) {
                    return Err(Error::Call(format!(
                        "cannot cast ufunc `{}` output from {} to {} with casting rule '{casting}'",
                        decl.name, resolved.ret, out_dtype
                    )));
                }
                out_dtype
            }
        };
        let signature = LoopSignature {
            inputs: inputs
                .iter()
                .zip(&resolved.params)
                .map(|(o, p)| match o.dtype {
                    InputDtype::Strong(d) => d,
                    InputDtype::Weak(_) => storage_dtype(*p),
                })
                .collect(),
            output: out_dtype,
        };
        Ok(CallPlan {
            resolved,
            signature,
            shape,
            out_dtype,
        })
    }

    /// Runs the loop of `plan` with the output at `out_base`/`out_strides`.
    ///
    /// # Safety
    /// The output must be writable memory of `plan.out_dtype` at every index of
    /// `plan.shape` with those strides, aliased by the inputs only elementwise.
    unsafe fn execute(
        &self,
        plan: &CallPlan,
        inputs: &[Operand<'_>],
        out_base: *mut u8,
        out_strides: &[isize],
    ) -> Result<(), Error> {
        let len: usize = plan.shape.iter().product();
        if len == 0 {
            return Ok(());
        }
        // Scalars are passed as zero-stride arrays over a one-element buffer in the
        // parameter's dtype; the buffers live until the loop has run.
        let scalars: Vec<u64> = inputs
            .iter()
            .zip(&plan.resolved.params)
            .map(|(o, p)| match o {
                Operand::Scalar(v) => cast_value(*v, *p).to_bits(),
                Operand::Array(_) => 0,
            })
            .collect();
        let mut operands = Vec::with_capacity(inputs.len() + 1);
        for (i, input) in inputs.iter().enumerate() {
            operands.push(match input {
                Operand::Array(a) => StridedOperand {
                    base: a.base_ptr() as *mut u8,
                    elem_size: a.dtype().size_bytes(),
                    strides: broadcast_strides(a.shape(), a.strides(), &plan.shape)
                        .map_err(|e| Error::Call(e.to_string()))?,
                },
                Operand::Scalar(_) => StridedOperand {
                    base: &scalars[i] as *const u64 as *mut u8,
                    elem_size: storage_dtype(plan.signature.inputs[i]).size_bytes(),
                    strides: vec![0; plan.shape.len()],
                },
            });
        }
        operands.push(StridedOperand {
            base: out_base,
            elem_size: plan.out_dtype.size_bytes(),
            strides: out_strides.to_vec(),
        });
        let elements = plan.shape.iter().product();
        let code = self.code(&self.elementwise(&plan.resolved, &plan.signature), elements)?;
        let iteration = Iteration {
            shape: plan.shape.clone(),
            operands,
        };
        // SAFETY: operands come from live views (or the scalar buffers above) over
        // the broadcast shape; the output is the caller's promise.
        unsafe { exec::dispatch::elementwise(&code, self.target, iteration, inputs.len()) }?
            .map_err(|trap| Error::kernel(trap, &self.core.sources))
    }

    /// The loop a call with arrays of the ufunc's own parameter types would run:
    /// its signature for a concrete ufunc, the first listed type for a type list,
    /// `f64` (or `i64` for `T: Int`) for a generic one.
    fn natural_loop(&self) -> Result<(ResolvedLoop, LoopSignature), Error> {
        use kern_compiler::kernel_decl::{SchemeType, TypeBound};
        let type_args: Vec<ScalarType> = match self.decl.declared.first() {
            Some(first) => first.clone(),
            None => self
                .decl
                .generics
                .iter()
                .map(|b| match b {
                    TypeBound::Int => ScalarType::I64,
                    _ => ScalarType::F64,
                })
                .collect(),
        };
        let apply = |t: SchemeType| match t {
            SchemeType::Concrete(t) => t,
            SchemeType::Generic(i) => type_args[i],
        };
        let params: Vec<ScalarType> = self.decl.params.iter().map(|p| apply(*p)).collect();
        let ret = apply(self.decl.ret);
        let signature = LoopSignature {
            inputs: params.iter().map(|p| storage_dtype(*p)).collect(),
            output: storage_dtype(ret),
        };
        Ok((
            ResolvedLoop {
                type_args,
                params,
                ret,
            },
            signature,
        ))
    }

    /// The generated elementwise loop of the ufunc's natural signature (see
    /// `natural_loop`) as kern IR, CLIF, machine code, or (with the `cuda`
    /// feature) the LLVM IR and PTX of its GPU kernel, for `kern emit`.
    pub fn emit_loop(&self, form: LoopForm) -> Result<String, Error> {
        let (resolved, signature) = self.natural_loop()?;
        let (program, loop_id) = self
            .core
            .build(&self.elementwise(&resolved, &signature), true)
            .map_err(|f| self.core.error(f))?;
        crate::loop_text::loop_text(&program, loop_id, form, &self.core.sources)
    }

    /// The request for the elementwise loop of `resolved` at `signature`.
    fn elementwise(&self, resolved: &ResolvedLoop, signature: &LoopSignature) -> LoopRequest {
        LoopRequest::Elementwise {
            ufunc: self.decl.name.clone(),
            type_args: resolved.type_args.clone(),
            signature: signature.clone(),
        }
    }

    /// The code of `request` for the ufunc's target, compiled on first use;
    /// `elements` as in [`CompileService::compile`](crate::compile::CompileService::compile).
    fn code(&self, request: &LoopRequest, elements: usize) -> Result<LoopCode, Error> {
        self.core
            .compile(request, self.target, elements)
            .map_err(|f| self.core.error(f))
    }

    /// The loaded GPU kernel of `request`.
    #[cfg(feature = "cuda")]
    fn gpu_loop(&self, request: &LoopRequest) -> Result<Arc<crate::exec::cuda::GpuLoop>, Error> {
        self.core.gpu_loop(request).map_err(|f| self.core.error(f))
    }
}

/// What planning sees of one input: its dtype (strong for an array, the weak
/// value of a scalar) and the shape it broadcasts as (`[]` for a scalar).
struct PlanInput<'s> {
    dtype: InputDtype,
    shape: &'s [usize],
}

/// What a call resolved to before running.
struct CallPlan {
    resolved: ResolvedLoop,
    signature: LoopSignature,
    shape: Vec<usize>,
    out_dtype: DType,
}

/// NumPy's `order='K'` in its simplest form: a new output is Fortran-ordered when
/// the first array input is Fortran- but not C-contiguous, so elementwise work on
/// Fortran arrays streams through memory.
fn prefers_fortran(inputs: &[Operand<'_>], shape: &[usize]) -> bool {
    let Some(a) = inputs.iter().find_map(|o| match o {
        Operand::Array(a) => Some(a),
        Operand::Scalar(_) => None,
    }) else {
        return false;
    };
    a.shape() == shape && shape.len() > 1 && is_f_contiguous(a) && !is_c_contiguous(a)
}

fn is_c_contiguous(a: &ArrayRef<'_>) -> bool {
    contiguous_in(a.shape().iter().zip(a.strides()).rev())
}

fn is_f_contiguous(a: &ArrayRef<'_>) -> bool {
    contiguous_in(a.shape().iter().zip(a.strides()))
}

fn contiguous_in<'x>(axes: impl Iterator<Item = (&'x usize, &'x isize)>) -> bool {
    let mut expected = 1isize;
    for (&len, &stride) in axes {
        if len != 1 && stride != expected {
            return false;
        }
        expected *= len as isize;
    }
    true
}

/// Byte range `[lo, hi)` an array view touches.
pub(crate) fn extent(
    base: *const u8,
    shape: &[usize],
    strides: &[isize],
    elem: usize,
) -> (usize, usize) {
    let (mut lo, mut hi) = (base as usize as isize, base as usize as isize);
    if shape.contains(&0) {
        return (lo as usize, lo as usize);
    }
    for (&len, &stride) in shape.iter().zip(strides) {
        let span = (len as isize - 1) * stride * elem as isize;
        if span < 0 {
            lo += span;
        } else {
            hi += span;
        }
    }
    (lo as usize, hi as usize + elem)
}

/// True when `input` shares memory with `out` other than element for element (the
/// same address, dtype and strides at the broadcast shape).
fn overlaps_unsafely(input: &ArrayRef<'_>, out: &ArrayMut<'_>, shape: &[usize]) -> bool {
    let out_view = out.view();
    let (a_lo, a_hi) = extent(
        input.base_ptr(),
        input.shape(),
        input.strides(),
        input.dtype().size_bytes(),
    );
    let (o_lo, o_hi) = extent(
        out_view.base_ptr(),
        out_view.shape(),
        out_view.strides(),
        out_view.dtype().size_bytes(),
    );
    if a_hi <= o_lo || o_hi <= a_lo {
        return false;
    }
    let elementwise = input.base_ptr() == out_view.base_ptr()
        && input.dtype() == out_view.dtype()
        && broadcast_strides(input.shape(), input.strides(), shape)
            .ok()
            .as_deref()
            == Some(out_view.strides());
    !elementwise
}
