//! Gufunc handles: calling a `#[guvectorize]` function on n-d arrays with NumPy's
//! generalized-ufunc semantics.
//!
//! A call resolves the element types (`ufunc::resolve`, the dtype of an array being
//! its element type: exact match, else safe casting, host scalars weak), binds the
//! signature's core dimensions to the trailing axes of the operands ([`bind`]:
//! NumPy's rules and messages, optional `?` dimensions dropped where an operand
//! lacks them), broadcasts the remaining loop dimensions (given outputs take part:
//! inputs stretch to them, they are never stretched), allocates the outputs (or
//! checks the given ones: core dimensions as bound, a dtype the result converts to
//! under the casting rule, `same_kind` by default) and runs the compiled gufunc
//! loop over the loop dimensions on the target ([`run`]). `axes.rs` places core
//! dimensions elsewhere than last (`axes=`, `axis=`, `keepdims=`).
//!
//! Dtypes: an array input whose dtype is not its parameter's element type is
//! converted first into a temporary contiguous copy (by safe casts, unless the
//! handle fixes the types or loosens `casting`); scalar (`()`) inputs and returned outputs are converted in the loop.
//! A `&mut` output given with another dtype is computed in a temporary of the
//! parameter's type (initialised from it) and converted back. New outputs start as
//! zeros (the body may read before it writes). Inputs that share memory with a
//! given output are read from a copy, as NumPy does.
//!
//! A call whose core dimensions are all small runs a loop specialised on their
//! extents (at most [`MAX_CORE_EXTENT`], and [`MAX_SPECIALISED_PER_LOOP`] such
//! loops per gufunc instance; docs/gufuncs.md, "Specialisation"), computing the
//! generic loop's bits.
//!
//! This module knows arrays, dtypes, shapes and targets; it does not know how loops
//! are generated (the compiler's `loops::gufunc_loop`) or executed (`exec::gufunc`).

mod axes;
mod bind;
mod run;

pub use crate::compile::{MAX_CORE_EXTENT, MAX_SPECIALISED_PER_LOOP};

use std::sync::Arc;

use kern_compiler::ir::ScalarType;
use kern_compiler::kernel_decl::{GufuncDecl, OperandForm, SchemeType};
use kern_compiler::loops::gufunc_loop::GufuncLoopSignature;

use crate::array::{
    overlap_copies, storage_dtype, with_array, with_copies, ArrayMut, ArrayRef, DType, NdArray,
    Operand, OutOperand,
};
use crate::broadcast::broadcast_shapes;
use crate::compile::CompileService;
use crate::exec::MAX_OPERANDS;
use crate::shape::shape_text;
use crate::ufunc::call_types::CallTypes;
use crate::ufunc::resolve::{resolve_types_with, InputDtype, LoopScheme, ResolvedTypes};
use crate::{Error, Target};
use bind::{bind, Binding, Names};

/// A `#[guvectorize]` function of a module, callable on arrays. Cheap to clone and
/// safe to share between threads.
#[derive(Clone)]
pub struct Gufunc {
    core: Arc<CompileService>,
    decl: Arc<GufuncDecl>,
    target: Target,
    /// Where the operands' core axes are (`axes=`, `axis=`, `keepdims=`).
    layout: axes::CoreLayout,
    /// `casting=`, `dtype=`, `signature=` of its calls.
    types: CallTypes,
}

impl std::fmt::Debug for Gufunc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gufunc")
            .field("name", &self.decl.name)
            .field("signature", &self.decl.signature_text)
            .field("target", &self.target)
            .finish()
    }
}

/// One output of a planned call: its full shape and the dtype of the buffer the
/// loop writes.
#[derive(Clone, Debug)]
struct OutputPlan {
    shape: Vec<usize>,
    dtype: DType,
}

/// What a call resolved to before anything runs.
struct Plan {
    types: ResolvedTypes,
    binding: Binding,
    loop_shape: Vec<usize>,
    outputs: Vec<OutputPlan>,
    signature: GufuncLoopSignature,
}

crate::ufunc::call_types::handle_options!(Gufunc);

impl Gufunc {
    pub(crate) fn new(
        core: Arc<CompileService>,
        decl: GufuncDecl,
        target: Option<Target>,
    ) -> Gufunc {
        let target = crate::ufunc::call_types::initial_target(target, decl.target.as_deref());
        Gufunc {
            core,
            decl: Arc::new(decl),
            target,
            layout: axes::CoreLayout::default(),
            types: CallTypes::default(),
        }
    }

    pub fn name(&self) -> &str {
        &self.decl.name
    }

    /// The layout signature, as written in the attribute or derived from the
    /// parameter types (e.g. `(M,N),(N,P)->(M,P)`).
    pub fn signature(&self) -> &str {
        &self.decl.signature_text
    }

    /// Number of inputs.
    pub fn nin(&self) -> usize {
        self.decl.inputs.len()
    }

    /// Number of outputs (`&mut` parameters, then the returned value).
    pub fn nout(&self) -> usize {
        self.decl.outputs.len()
    }

    /// How many core axes each input has, when that is fixed (no optional `?`
    /// dimension) and the call keeps the default layout (core axes last): the
    /// axes before them are the loop's. `None` otherwise.
    pub(crate) fn fixed_input_core_ndims(&self) -> Option<Vec<usize>> {
        if self.layout != axes::CoreLayout::default() {
            return None;
        }
        self.decl
            .signature
            .inputs
            .iter()
            .map(|dims| (!dims.iter().any(|d| d.optional)).then_some(dims.len()))
            .collect()
    }

    /// This gufunc as a ufunc, on the same target, when its signature is all
    /// scalars with one output (`(),()->()`): NumPy treats such a gufunc as a
    /// ufunc. `None` for any other gufunc.
    pub fn as_ufunc(&self) -> Option<crate::Ufunc> {
        let decl = self.decl.as_ufunc()?;
        Some(crate::Ufunc::new(
            self.core.clone(),
            decl,
            Some(self.target),
        ))
    }

    fn scalar_ufunc(&self, method: &str) -> Result<crate::Ufunc, Error> {
        self.as_ufunc().ok_or_else(|| {
            Error::Call(format!(
                "{method} is not defined on gufunc `{}` with signature {}: only a gufunc whose signature is all scalars, like (),()->(), is a ufunc",
                self.decl.name, self.decl.signature_text
            ))
        })
    }

    /// `reduce` of a `(),()->()` gufunc, as the ufunc's (see [`Gufunc::as_ufunc`]).
    pub fn reduce<'a>(
        &self,
        array: impl Into<Operand<'a>>,
        options: &crate::Reduce,
    ) -> Result<NdArray, Error> {
        self.scalar_ufunc("reduce")?.reduce(array, options)
    }

    /// `accumulate` of a `(),()->()` gufunc, as the ufunc's.
    pub fn accumulate<'a>(
        &self,
        array: impl Into<Operand<'a>>,
        axis: isize,
    ) -> Result<NdArray, Error> {
        self.scalar_ufunc("accumulate")?.accumulate(array, axis)
    }

    /// `outer` of a `(),()->()` gufunc, as the ufunc's.
    pub fn outer<'a, 'b>(
        &self,
        a: impl Into<Operand<'a>>,
        b: impl Into<Operand<'b>>,
    ) -> Result<NdArray, Error> {
        self.scalar_ufunc("outer")?.outer(a, b)
    }

    /// The generated gufunc loop at the gufunc's natural types (its parameter
    /// types; a generic parameter at `i64` for an integer bound, else `f64`) as
    /// kern IR, CLIF, machine code, or (with the `cuda` feature) the LLVM IR and
    /// PTX of its GPU kernel, for `kern emit`.
    pub fn emit_loop(&self, form: crate::LoopForm) -> Result<String, Error> {
        use kern_compiler::kernel_decl::TypeBound;
        let decl = &self.decl;
        let type_args: Vec<ScalarType> = decl
            .generics
            .iter()
            .map(|b| match b {
                TypeBound::Int => ScalarType::I64,
                _ => ScalarType::F64,
            })
            .collect();
        let apply = |t: SchemeType| match t {
            SchemeType::Concrete(t) => t,
            SchemeType::Generic(i) => type_args[i],
        };
        // Scalars travel as their storage dtype, arrays as their element type
        // (the rule `plan` applies to a call whose dtypes match exactly).
        let operand_type = |o: &kern_compiler::kernel_decl::GufuncOperand| match o.form {
            OperandForm::Array { .. } => apply(o.elem),
            OperandForm::Scalar | OperandForm::Returned => storage_dtype(apply(o.elem)),
        };
        let signature = GufuncLoopSignature {
            inputs: decl.inputs.iter().map(operand_type).collect(),
            outputs: decl.outputs.iter().map(operand_type).collect(),
        };
        let request = crate::compile::LoopRequest::Gufunc {
            gufunc: decl.name.clone(),
            type_args,
            nin: self.nin(),
            signature,
            core: None,
        };
        let (program, loop_id) = self
            .core
            .build(&request, true)
            .map_err(|f| self.core.error(f))?;
        crate::loop_text::loop_text(&program, loop_id, form, &self.core.sources)
    }

    /// Applies the gufunc, broadcasting the loop dimensions; returns the new
    /// outputs in order (`&mut` parameters, then the returned value).
    pub fn call(&self, inputs: &[Operand<'_>]) -> Result<Vec<NdArray>, Error> {
        if !self.layout.is_default() {
            return self.call_placed(inputs);
        }
        let plan = self.plan(inputs, None)?;
        let mut outs: Vec<NdArray> = plan
            .outputs
            .iter()
            .map(|o| NdArray::zeros(o.dtype, &o.shape))
            .collect::<Result<_, _>>()?;
        let mut views: Vec<ArrayMut<'_>> = outs.iter_mut().map(|o| o.view_mut()).collect();
        self.execute(&plan, inputs, &mut views)?;
        drop(views);
        Ok(outs)
    }

    /// Applies the gufunc into `outs`, one per output, each with the loop shape
    /// (the inputs' loop dimensions broadcast with every output's, which are never
    /// stretched) followed by its core dimensions, and a dtype the result converts
    /// to under `same_kind`. A `&mut` output's previous contents are what
    /// the body reads from it.
    pub fn call_out(&self, inputs: &[Operand<'_>], outs: Vec<OutOperand<'_>>) -> Result<(), Error> {
        if outs.len() != self.nout() {
            return Err(Error::Call(format!(
                "gufunc `{}` has {} output{} but {} were given",
                self.decl.name,
                self.nout(),
                plural(self.nout()),
                outs.len()
            )));
        }
        if !self.layout.is_default() {
            return self.call_out_placed(inputs, outs);
        }
        let mut outs: Vec<ArrayMut<'_>> = outs.into_iter().map(|o| o.0).collect();
        let given: Vec<(Vec<usize>, DType)> = outs
            .iter()
            .map(|o| (o.shape().to_vec(), o.dtype()))
            .collect();
        let plan = self.plan(inputs, Some(&given))?;
        // `&mut` outputs of another dtype: computed in a converted copy.
        let mut temps: Vec<Option<NdArray>> = outs
            .iter()
            .zip(&plan.outputs)
            .map(|(o, p)| (o.dtype() != p.dtype).then(|| o.view().cast(p.dtype)))
            .collect();
        // Inputs sharing memory with an output are read from a copy.
        let copies = overlap_copies(inputs, |a| outs.iter().any(|o| run::overlaps(a, &o.view())));
        let inputs = with_copies(inputs, &copies);
        {
            let mut views: Vec<ArrayMut<'_>> = outs
                .iter_mut()
                .zip(temps.iter_mut())
                .map(|(o, t)| match t {
                    Some(t) => t.view_mut(),
                    None => o.reborrow(),
                })
                .collect();
            self.execute(&plan, &inputs, &mut views)?;
        }
        for (out, temp) in outs.iter_mut().zip(&temps) {
            if let Some(temp) = temp {
                assign_converted(out, &temp.view());
            }
        }
        Ok(())
    }

    /// Dtype resolution and shape checks of a call, before anything runs. `given`:
    /// the shape and dtype of each given output.
    fn plan(
        &self,
        inputs: &[Operand<'_>],
        given: Option<&[(Vec<usize>, DType)]>,
    ) -> Result<Plan, Error> {
        let decl = &self.decl;
        let name = &decl.name;
        if inputs.len() != self.nin() {
            return Err(Error::Call(format!(
                "gufunc `{name}` takes {} input{} but {} were given",
                self.nin(),
                plural(self.nin()),
                inputs.len()
            )));
        }
        if self.nin() + self.nout() > MAX_OPERANDS {
            return Err(Error::Call(format!(
                "gufunc `{name}` has {} operands; at most {MAX_OPERANDS} are supported",
                self.nin() + self.nout()
            )));
        }
        self.target.check_available()?;
        let params: Vec<SchemeType> = decl.inputs.iter().map(|o| o.elem).collect();
        let results: Vec<SchemeType> = decl.outputs.iter().map(|o| o.elem).collect();
        let scheme = LoopScheme {
            what: "gufunc",
            name,
            params: &params,
            results: &results,
            generics: &decl.generics,
            declared: &[],
        };
        let dtypes: Vec<InputDtype> = inputs
            .iter()
            .map(|o| match o {
                Operand::Array(a) => InputDtype::Strong(a.dtype()),
                Operand::Scalar(v) => InputDtype::Weak(*v),
            })
            .collect();
        self.types.check("gufunc", name, self.nin(), self.nout())?;
        let casting = self.types.casting;
        let types = resolve_types_with(&scheme, &dtypes, &self.types.fixed, casting)
            .map_err(|e| Error::Call(e.message))?;

        let names = Names {
            gufunc: name,
            signature: &decl.signature_text,
        };
        let input_shapes: Vec<&[usize]> = inputs.iter().map(|o| o.shape()).collect();
        let given_shapes: Vec<Option<&[usize]>> = match given {
            Some(g) => g.iter().map(|(s, _)| Some(s.as_slice())).collect(),
            None => vec![None; self.nout()],
        };
        let binding = bind(
            &names,
            &decl.signature,
            &decl.sizes,
            &input_shapes,
            &given_shapes,
        )
        .map_err(Error::Call)?;
        let nin = self.nin();
        let loop_of = |k: usize, shape: &[usize]| -> Vec<usize> {
            shape[..shape.len() - binding.core_ndim(k)].to_vec()
        };
        // Given outputs take part in broadcasting the loop dimensions (the inputs
        // stretch to them, as in NumPy) but are never stretched themselves.
        let loop_shapes: Vec<Vec<usize>> = input_shapes
            .iter()
            .map(|s| Some(*s))
            .chain(given_shapes.iter().copied())
            .enumerate()
            .filter_map(|(k, s)| s.map(|s| loop_of(k, s)))
            .collect();
        let refs: Vec<&[usize]> = loop_shapes.iter().map(Vec::as_slice).collect();
        let loop_shape = broadcast_shapes(&refs).map_err(|_| {
            let texts: Vec<String> = loop_shapes.iter().map(|s| shape_text(s)).collect();
            Error::Call(format!(
                "{name}: operands could not be broadcast together with loop shapes {} (their shapes without the core dimensions of signature {})",
                texts.join(" "),
                decl.signature_text
            ))
        })?;

        let mut outputs = Vec::with_capacity(self.nout());
        for (j, operand) in decl.outputs.iter().enumerate() {
            let k = nin + j;
            let result = types.results[j];
            let mut shape = loop_shape.clone();
            shape.extend(binding.core_shape(k));
            let fits = shape
                .iter()
                .try_fold(storage_dtype(result).size_bytes(), |n, &d| n.checked_mul(d))
                .is_some_and(|bytes| bytes <= isize::MAX as usize);
            if !fits {
                return Err(Error::Call(format!(
                    "{name}: output operand {j} of shape {} is too large",
                    shape_text(&shape)
                )));
            }
            let dtype = match given.map(|g| &g[j]) {
                None => storage_dtype(result),
                Some((out_shape, out_dtype)) => {
                    let out_loop = loop_of(k, out_shape);
                    if out_loop != loop_shape {
                        return Err(Error::Call(format!(
                            "{name}: non-broadcastable output operand {j} with loop shape {} doesn't match the broadcast loop shape {}",
                            shape_text(&out_loop),
                            shape_text(&loop_shape)
                        )));
                    }
                    if !casting.allows(result, *out_dtype) {
                        return Err(Error::Call(format!(
                            "cannot cast gufunc `{name}` output {j} from {result} to {out_dtype} with casting rule '{casting}'"
                        )));
                    }
                    match operand.form {
                        OperandForm::Returned => *out_dtype,
                        _ => storage_dtype(result),
                    }
                }
            };
            outputs.push(OutputPlan { shape, dtype });
        }
        let signature = GufuncLoopSignature {
            inputs: decl
                .inputs
                .iter()
                .zip(inputs)
                .zip(&types.params)
                .map(|((operand, input), &param)| match (operand.form, input) {
                    (OperandForm::Scalar, Operand::Array(a)) => a.dtype(),
                    (OperandForm::Scalar, Operand::Scalar(_)) => storage_dtype(param),
                    _ => param,
                })
                .collect(),
            outputs: decl
                .outputs
                .iter()
                .zip(&outputs)
                .zip(&types.results)
                .map(|((operand, out), &result)| match operand.form {
                    OperandForm::Returned => out.dtype,
                    _ => result,
                })
                .collect(),
        };
        Ok(Plan {
            types,
            binding,
            loop_shape,
            outputs,
            signature,
        })
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// `out[..] = src[..] as out's dtype` (shapes are equal).
fn assign_converted(out: &mut ArrayMut<'_>, src: &ArrayRef<'_>) {
    let converted = src.cast(out.dtype());
    with_array!(ArrayMut, out, |o: T| {
        if let Some(c) = converted.as_array::<T>() {
            o.assign(c);
        }
    })
}
