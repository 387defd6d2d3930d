//! Elementwise loops: the compiled inner loop of a ufunc for one set of operand
//! dtypes.
//!
//! For a ufunc `f(a: A, b: B) -> R` called with operands stored as dtypes
//! `(X, Y) -> Z`, [`build_elementwise_loop`] adds two functions to the program:
//!
//! * the **element function** `f[X,Y->Z](a: X, b: Y) -> Z`: converts each operand
//!   to the parameter type (`as`; the runtime only asks for conversions NumPy's
//!   casting rules allow), calls `f` and converts the result to `Z`; everything it
//!   calls is inlined, so it is one self-contained body;
//! * the **loop function** `f[X,Y->Z].loop(a: &[X], b: &[Y], out: &mut [Z])` of
//!   kind [`FunctionKind::ElementwiseLoop`]: for `i in 0..out.len()` it stores
//!   `element(a[i], b[i])` into `out[i]`. Accesses are unchecked: the caller passes
//!   one-dimensional views of exactly `out.len()` elements each (any stride, also
//!   zero and negative). The element function is inlined into it.
//!
//! The IR loop *is* the semantics — the interpreter runs it as written, elements in
//! order, a trap stopping at the first failing element. Backends may generate
//! faster code for a function of this kind (the Cranelift backend adds a SIMD path
//! for unit and zero strides) as long as the outcome is the same. This module knows
//! IR only; choosing dtypes and splitting arrays is the runtime's job.

use crate::ir::build::FunctionBuilder;
use crate::ir::*;

/// The stored dtypes of a loop's operands (array element types; no `usize`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LoopSignature {
    pub inputs: Vec<ScalarType>,
    pub output: ScalarType,
}

impl std::fmt::Display for LoopSignature {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inputs: Vec<&str> = self.inputs.iter().map(|t| t.name()).collect();
        write!(f, "{}->{}", inputs.join(","), self.output.name())
    }
}

/// Why a loop cannot be built for a function.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LoopError {
    #[error(
        "`{function}` takes {params} scalar parameters, the loop signature has {inputs} inputs"
    )]
    Arity {
        function: String,
        params: usize,
        inputs: usize,
    },
    #[error("`{0}` has an array parameter or no result: it is not an elementwise function")]
    NotElementwise(String),
}

/// Adds the element and loop functions of `ufunc` for `signature` to `program` and
/// returns `(element, loop)`.
pub fn build_elementwise_loop(
    program: &mut Program,
    ufunc: FuncId,
    signature: &LoopSignature,
) -> Result<(FuncId, FuncId), LoopError> {
    let f = program.function(ufunc);
    let param_types: Vec<ScalarType> = f
        .param_types()
        .into_iter()
        .map(|t| {
            t.as_scalar()
                .ok_or_else(|| LoopError::NotElementwise(f.name.clone()))
        })
        .collect::<Result<_, _>>()?;
    let ret = f
        .ret
        .ok_or_else(|| LoopError::NotElementwise(f.name.clone()))?;
    if param_types.len() != signature.inputs.len() {
        return Err(LoopError::Arity {
            function: f.name.clone(),
            params: param_types.len(),
            inputs: signature.inputs.len(),
        });
    }
    let name = format!("{}[{}]", f.name, signature);
    let span = f.span;
    let element = add_element_function(program, ufunc, &param_types, ret, signature, &name);
    let mut b = FunctionBuilder::new(format!("{name}.loop"), None, span);
    b.set_kind(FunctionKind::ElementwiseLoop { element });
    let inputs: Vec<LocalId> = signature
        .inputs
        .iter()
        .enumerate()
        .map(|(i, &t)| b.param(format!("in{i}"), array1(t, false)))
        .collect();
    let out = b.param("out", array1(signature.output, true));
    let n = b.array_len(out, 0);
    let i = b.local("i", Type::Scalar(ScalarType::Usize));
    b.counted_loop_to(i, n, IterationOrder::Independent, |b, iv| {
        let args: Vec<Arg> = inputs
            .iter()
            .zip(&signature.inputs)
            .map(|(&array, &t)| Arg::Value(b.load(array, vec![iv], false, t)))
            .collect();
        let r = b.value(
            InstKind::Call {
                callee: element,
                args,
            },
            signature.output,
        );
        b.store(out, vec![iv], r, false);
    });
    b.inst(InstKind::Return(None));
    let lp = crate::loops::add_inlined(program, b);
    Ok((element, lp))
}

/// Adds the element function `name(in0: X, ..) -> Z` of `ufunc` (parameter types
/// `param_types`, result `ret`) for `signature`, with everything it calls inlined.
pub(crate) fn add_element_function(
    program: &mut Program,
    ufunc: FuncId,
    param_types: &[ScalarType],
    ret: ScalarType,
    signature: &LoopSignature,
    name: &str,
) -> FuncId {
    let span = program.function(ufunc).span;
    let mut b = FunctionBuilder::new(name.to_string(), Some(signature.output), span);
    let mut args = Vec::new();
    for (i, (&stored, &param)) in signature.inputs.iter().zip(param_types).enumerate() {
        let local = b.param(format!("in{i}"), Type::Scalar(stored));
        let v = b.get(local);
        args.push(Arg::Value(convert(&mut b, v, param)));
    }
    let r = b.value(
        InstKind::Call {
            callee: ufunc,
            args,
        },
        ret,
    );
    let r = convert(&mut b, r, signature.output);
    b.inst(InstKind::Return(Some(r)));
    crate::loops::add_inlined(program, b)
}

/// The scalar parameter types and result of an elementwise function.
pub(crate) fn scalar_signature(f: &Function) -> Result<(Vec<ScalarType>, ScalarType), LoopError> {
    let params = f
        .param_types()
        .into_iter()
        .map(|t| {
            t.as_scalar()
                .ok_or_else(|| LoopError::NotElementwise(f.name.clone()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let ret = f
        .ret
        .ok_or_else(|| LoopError::NotElementwise(f.name.clone()))?;
    Ok((params, ret))
}

pub(crate) fn array1(elem: ScalarType, mutable: bool) -> Type {
    Type::Array(ArrayType {
        elem,
        rank: 1,
        mutable,
    })
}

/// `v as to`, or `v` itself when it already has type `to`.
pub(crate) fn convert(b: &mut FunctionBuilder, v: ValueId, to: ScalarType) -> ValueId {
    if b.value_type(v) == to {
        v
    } else {
        b.value(InstKind::Cast(v, to), to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;
    use crate::test_support::{compile, desc};

    #[test]
    fn the_loop_applies_the_ufunc_to_every_element_with_conversions() {
        let mut program = compile(
            "#[vectorize] fn scale(a: f64, x: f64) -> f64 { if x < 0.0 { return 0.0; } a * x.sqrt() }",
        );
        let scale = program.find("scale").unwrap();
        let sig = LoopSignature {
            inputs: vec![ScalarType::F64, ScalarType::I32],
            output: ScalarType::F32,
        };
        let (element, lp) = build_elementwise_loop(&mut program, scale, &sig).unwrap();
        crate::ir::verify::verify_program(&program).unwrap();
        assert!(
            program.function(element).callees().is_empty(),
            "fully inlined"
        );
        assert!(program.function(lp).callees().is_empty(), "fully inlined");
        assert_eq!(
            program.function(lp).kind,
            FunctionKind::ElementwiseLoop { element }
        );

        let a = [2.0f64];
        let x = [4i32, -1, 9, 16];
        let mut out = [0f32; 4];
        let args = [
            HostArg::Array(desc(a.as_ptr().cast_mut(), &[4], &[0])),
            HostArg::Array(desc(x.as_ptr().cast_mut(), &[4], &[1])),
            HostArg::Array(desc(out.as_mut_ptr(), &[4], &[1])),
        ];
        // SAFETY: every descriptor covers its live buffer for 4 elements.
        unsafe { Interpreter::new(&program).call(lp, &args, &mut std::io::sink()) }.unwrap();
        assert_eq!(out, [4.0, 0.0, 6.0, 8.0]);
    }

    #[test]
    fn arity_mismatch_is_an_error() {
        let mut program = compile("#[vectorize] fn neg(x: f64) -> f64 { -x }");
        let neg = program.find("neg").unwrap();
        let sig = LoopSignature {
            inputs: vec![ScalarType::F64, ScalarType::F64],
            output: ScalarType::F64,
        };
        assert!(matches!(
            build_elementwise_loop(&mut program, neg, &sig),
            Err(LoopError::Arity { .. })
        ));
    }
}
