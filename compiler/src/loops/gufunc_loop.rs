//! Gufunc loops: the compiled loop of a `#[guvectorize]` body for one set of
//! operand dtypes.
//!
//! For a body `f(a: &[[A; N]; M], x: X, out: &mut [Z; M]) -> R` (inputs first, then
//! `&mut` outputs, then the returned scalar as the last output) called with operands
//! stored as dtypes `(A, X2) -> (Z, R2)`, [`build_gufunc_loop`] adds the **loop
//! function** `f[A,X2->Z,R2].loop(in0: &[[[A]]], in1: &[X2], out0: &mut [[Z]],
//! out1: &mut [R2])` of kind [`FunctionKind::GufuncLoop`]. Every operand has one axis
//! more than the body sees: axis 0 is the flattened loop dimension (length `n`, the
//! extent of axis 0 of the first output; any stride, also zero and negative), the
//! others are its core dimensions. For `i in 0..n` the loop calls the body with
//! [`Arg::SubView`]s of the array operands at `i`, loads scalar inputs at `i` and
//! converts them to the parameter type (`as`), and stores the returned value,
//! converted to the output's dtype, at `i`. Array operands must already have the
//! parameter's element type (the runtime converts them beforehand). The body is
//! inlined (and with it what it calls) where the inliner can, so there is usually no
//! call per element; its bounds checks on core dimensions stay as it has them.
//!
//! On entry the loop asserts what its caller guarantees and the inlined body's
//! bounds checks may then rely on ([`crate::passes::bounds`]): every array
//! operand's axis 0 is at least `n` long, and the axes that share a core dimension
//! name have one extent. Neither fails for operands the runtime bound.
//!
//! [`build_specialised_gufunc_loop`] builds the same loop for one set of core
//! extents, which its body then sees as constants, and optionally for
//! C-contiguous core axes, whose strides it then addresses as constants
//! ([`specialise`]); the runtime asks for it when a call's core dimensions are
//! small (docs/gufuncs.md).
//!
//! `n = 0` runs the body never; a core dimension of extent 0 is passed as it is.
//! This module knows IR only: binding core dimensions to shapes, choosing dtypes and
//! cutting the loop space into runs are the runtime's.

use crate::gufunc_signature::{CoreDim, CoreDimSize, GufuncSignature};
use crate::ir::build::FunctionBuilder;
use crate::ir::*;

/// The stored dtypes of a gufunc loop's operands.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct GufuncLoopSignature {
    pub inputs: Vec<ScalarType>,
    pub outputs: Vec<ScalarType>,
}

impl std::fmt::Display for GufuncLoopSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names = |ts: &[ScalarType]| ts.iter().map(|t| t.name()).collect::<Vec<_>>().join(",");
        write!(f, "{}->{}", names(&self.inputs), names(&self.outputs))
    }
}

/// Why a loop cannot be built for a body.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum GufuncLoopError {
    #[error(
        "`{function}` has {inputs} inputs and {outputs} outputs, the loop signature {signature}"
    )]
    Arity {
        function: String,
        inputs: usize,
        outputs: usize,
        signature: String,
    },
    #[error("operand {operand} of `{function}`: {message}")]
    Operand {
        function: String,
        operand: usize,
        message: String,
    },
    #[error("the core extents of a specialised loop of `{function}`: {message}")]
    CoreSizes { function: String, message: String },
}

/// How a body parameter becomes a loop operand.
enum Operand {
    /// An array parameter: passed as a sub-view.
    Array(ArrayType),
    /// A scalar input of this parameter type: loaded and converted.
    Scalar(ScalarType),
}

/// Adds the loop function of `body` (its first `nin` parameters are the inputs) for
/// `signature` to `program` and returns its id: the generic loop, for any core
/// extents.
pub fn build_gufunc_loop(
    program: &mut Program,
    body: FuncId,
    nin: usize,
    signature: &GufuncLoopSignature,
) -> Result<FuncId, GufuncLoopError> {
    build(program, body, nin, signature, None)
}

/// What a specialised gufunc loop is built for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CoreSpecialisation {
    /// The extent of every core axis of each operand: inputs, then outputs, the
    /// returned value last (empty for a scalar operand).
    pub extents: Vec<Vec<usize>>,
    /// Whether every array operand's core axes are C-contiguous: the last core
    /// axis has stride 1 (element), each other the product of the extents after
    /// it.
    pub contiguous: bool,
}

/// Adds the loop function of `body` for `signature` specialised on `core` (see
/// [`specialise`]). The loop asserts on entry that its operands have the core
/// extents (and, if `core.contiguous`, the core strides) it was built for; its
/// body sees the extents as constants, and the backends address the strides as
/// constants.
pub fn build_specialised_gufunc_loop(
    program: &mut Program,
    body: FuncId,
    nin: usize,
    signature: &GufuncLoopSignature,
    core: &CoreSpecialisation,
) -> Result<FuncId, GufuncLoopError> {
    build(program, body, nin, signature, Some(core))
}

fn build(
    program: &mut Program,
    body: FuncId,
    nin: usize,
    signature: &GufuncLoopSignature,
    core: Option<&CoreSpecialisation>,
) -> Result<FuncId, GufuncLoopError> {
    let f = program.function(body);
    let params = f.param_types();
    let nout = params.len().saturating_sub(nin) + usize::from(f.ret.is_some());
    if nin > params.len() || signature.inputs.len() != nin || signature.outputs.len() != nout {
        return Err(GufuncLoopError::Arity {
            function: f.name.clone(),
            inputs: nin.min(params.len()),
            outputs: nout,
            signature: signature.to_string(),
        });
    }
    let stored: Vec<ScalarType> = signature
        .inputs
        .iter()
        .chain(&signature.outputs)
        .copied()
        .collect();
    let mut operands = Vec::with_capacity(params.len());
    for (k, (param, &dtype)) in params.iter().zip(&stored).enumerate() {
        let fail = |message: String| GufuncLoopError::Operand {
            function: f.name.clone(),
            operand: k,
            message,
        };
        operands.push(match *param {
            Type::Array(a) => {
                if a.elem != dtype {
                    return Err(fail(format!(
                        "an array of {} is passed as {dtype}: convert it first",
                        a.elem
                    )));
                }
                if a.mutable != (k >= nin) {
                    return Err(fail("inputs are `&` arrays, outputs `&mut` arrays".into()));
                }
                if a.rank as usize >= MAX_RANK {
                    return Err(fail(format!("rank {} leaves no axis for the loop", a.rank)));
                }
                Operand::Array(a)
            }
            Type::Scalar(t) if k < nin => Operand::Scalar(t),
            Type::Scalar(_) => return Err(fail("a scalar output parameter".into())),
            Type::HostArray(_) => return Err(fail("a host array parameter".into())),
        });
    }
    if let Some(core) = core {
        specialise::check_core_sizes(&f.name, &operand_ranks(&operands, f.ret), core)?;
    }
    let name = match core {
        None => format!("{}[{}].loop", f.name, signature),
        Some(core) => format!(
            "{}[{}].loop@{}",
            f.name,
            signature,
            specialise::name_suffix(core)
        ),
    };
    let (span, ret) = (f.span, f.ret);
    let shared = shared_core_dims(f, nin, nout);

    let mut b = FunctionBuilder::new(name, None, span);
    b.set_kind(FunctionKind::GufuncLoop { body });
    let locals: Vec<LocalId> = operands
        .iter()
        .zip(&stored)
        .enumerate()
        .map(|(k, (operand, &dtype))| {
            let name = if k < nin {
                format!("in{k}")
            } else {
                format!("out{}", k - nin)
            };
            let ty = match operand {
                Operand::Array(a) => ArrayType {
                    elem: a.elem,
                    rank: a.rank + 1,
                    mutable: a.mutable,
                },
                Operand::Scalar(_) => ArrayType {
                    elem: dtype,
                    rank: 1,
                    mutable: false,
                },
            };
            b.param(name, Type::Array(ty))
        })
        .collect();
    let returned = ret.map(|r| {
        let dtype = *signature
            .outputs
            .last()
            .expect("nout counts the return value");
        let local = b.param(
            format!("out{}", nout - 1),
            Type::Array(ArrayType {
                elem: dtype,
                rank: 1,
                mutable: true,
            }),
        );
        (local, r, dtype)
    });
    let first_output = locals
        .get(nin)
        .copied()
        .or(returned.map(|(l, _, _)| l))
        .expect("a gufunc has an output");
    match core {
        None => assert_shared_extents(&mut b, &locals, &shared),
        Some(core) => specialise::assert_core_layout(&mut b, &locals, core),
    }
    let n = b.array_len(first_output, 0);
    for (operand, &local) in operands.iter().zip(&locals) {
        if matches!(operand, Operand::Array(_)) && local != first_output {
            // What the sub-view at `i < n` takes for granted, stated for the
            // bounds checks of the inlined body (on its prepended index).
            let extent = b.array_len(local, 0);
            let spans = b.cmp(CmpOp::Le, n, extent);
            b.inst(InstKind::Assert {
                cond: spans,
                message: "every operand spans the loop dimension".into(),
            });
        }
    }
    let i = b.local("i", Type::Scalar(ScalarType::Usize));
    b.counted_loop_to(i, n, IterationOrder::Independent, |b, iv| {
        let mut args = Vec::with_capacity(operands.len());
        for ((operand, &local), &dtype) in operands.iter().zip(&locals).zip(&stored) {
            args.push(match operand {
                Operand::Array(_) => Arg::SubView {
                    array: local,
                    index: iv,
                },
                Operand::Scalar(param) => {
                    let x = b.load(local, vec![iv], false, dtype);
                    Arg::Value(convert(b, x, *param))
                }
            });
        }
        match returned {
            Some((out, r, dtype)) => {
                let value = b.value(InstKind::Call { callee: body, args }, r);
                let value = convert(b, value, dtype);
                b.store(out, vec![iv], value, false);
            }
            None => b.inst(InstKind::Call { callee: body, args }),
        }
    });
    b.inst(InstKind::Return(None));
    let lp = crate::loops::add_inlined(program, b);
    if let Some(core) = core {
        specialise::fold_core_extents(
            &mut program.functions[lp.0 as usize],
            &locals,
            &core.extents,
        );
    }
    Ok(lp)
}

/// The core rank of every operand (inputs, outputs, the returned value last).
fn operand_ranks(operands: &[Operand], ret: Option<ScalarType>) -> Vec<usize> {
    operands
        .iter()
        .map(|o| match o {
            Operand::Array(a) => a.rank as usize,
            Operand::Scalar(_) => 0,
        })
        .chain(ret.map(|_| 0))
        .collect()
}

/// The operand axes (operand index, core axis) that bear each dimension name
/// appearing more than once in the body's signature; none when the signature has
/// optional dimensions (an operand may lack one, which moves its axes) or does not
/// parse for the body's arity.
fn shared_core_dims(f: &Function, nin: usize, nout: usize) -> Vec<Vec<(usize, u8)>> {
    let FunctionKind::Gufunc { signature, .. } = &f.kind else {
        return Vec::new();
    };
    let Ok(parsed) = GufuncSignature::parse_with_counts(signature, nin, nout) else {
        return Vec::new();
    };
    let operands: Vec<&Vec<CoreDim>> = parsed.inputs.iter().chain(&parsed.outputs).collect();
    if operands.iter().copied().flatten().any(|d| d.optional) {
        return Vec::new();
    }
    parsed
        .core_dim_names()
        .into_iter()
        .map(|name| {
            let named = |d: &CoreDim| matches!(&d.size, CoreDimSize::Named(n) if n == name);
            operands
                .iter()
                .enumerate()
                .flat_map(|(k, dims)| {
                    dims.iter()
                        .enumerate()
                        .filter(move |(_, d)| named(d))
                        .map(move |(axis, _)| (k, axis as u8))
                })
                .collect::<Vec<_>>()
        })
        .filter(|axes| axes.len() > 1)
        .collect()
}

/// Asserts, on entry, that the axes bearing one dimension name have one extent.
/// The runtime binds core dimensions before it calls the loop, so these never fail;
/// they state what it guarantees in the IR, where bounds-check elimination
/// ([`crate::passes::bounds`]) reads it: `b[k]` is in bounds for `k < N` measured on
/// `a` when `a` and `b` share `N`.
fn assert_shared_extents(b: &mut FunctionBuilder, locals: &[LocalId], shared: &[Vec<(usize, u8)>]) {
    for axes in shared {
        let mut extents = axes
            .iter()
            .filter(|(k, _)| *k < locals.len())
            .map(|&(k, axis)| (locals[k], axis + 1));
        let Some((array, axis)) = extents.next() else {
            continue;
        };
        let first = b.array_len(array, axis);
        for (array, axis) in extents {
            let e = b.array_len(array, axis);
            let cond = b.cmp(CmpOp::Eq, first, e);
            b.inst(InstKind::Assert {
                cond,
                message: "the operands' core dimensions were bound".into(),
            });
        }
    }
}

/// `v as to`, or `v` itself when it already has type `to`.
fn convert(b: &mut FunctionBuilder, v: ValueId, to: ScalarType) -> ValueId {
    if b.value_type(v) == to {
        v
    } else {
        b.value(InstKind::Cast(v, to), to)
    }
}

mod specialise;
#[cfg(all(test, feature = "cranelift"))]
mod tests;
