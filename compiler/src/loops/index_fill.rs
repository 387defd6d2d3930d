//! Index fills: the compiled loop of host code's `random::uniform_array(seed, n)`
//! and its kin, whose element `i` is a function of the seed and `i` alone.
//!
//! [`build_index_fill`] adds `NAME.fill(seed: u64, start: u64, out: &mut [T])`:
//!
//! ```text
//! for i in 0..len(out) { out[i] = f(seed, start + i) as T }
//! ```
//!
//! with `f` (a counter-based generator such as `random::uniform`) inlined, so an
//! array of n numbers is one call, not n calls through the runtime. Element `i`
//! depends on `start + i` only, so a run may fill any slice of the array in any
//! order — in pieces, or on several threads — and get the same bits. The loop's
//! indices come from `out`'s own extent, so nothing in it is bounds-checked.
//! This module knows IR only.

use crate::ir::build::FunctionBuilder;
use crate::ir::*;
use crate::loops::elementwise::{array1, LoopError};

/// Adds the fill loop of `f(seed: u64, i: u64) -> R` storing into an array of
/// `elem` (each result cast with `as`); returns its id.
pub fn build_index_fill(
    program: &mut Program,
    f: FuncId,
    elem: ScalarType,
) -> Result<FuncId, LoopError> {
    let func = program.function(f);
    let takes_seed_and_index =
        func.param_types() == [Type::Scalar(ScalarType::U64), Type::Scalar(ScalarType::U64)];
    let Some(ret) = func.ret.filter(|_| takes_seed_and_index) else {
        return Err(LoopError::NotElementwise(func.name.clone()));
    };
    let mut b = FunctionBuilder::new(format!("{}.fill", func.name), None, func.span);
    let seed = b.param("seed", Type::Scalar(ScalarType::U64));
    let start = b.param("start", Type::Scalar(ScalarType::U64));
    let out = b.param("out", array1(elem, true));
    let (seed, start) = (b.get(seed), b.get(start));
    let n = b.array_len(out, 0);
    let i = b.local("i", Type::Scalar(ScalarType::Usize));
    let zero = b.constant(ScalarValue::Usize(0));
    b.set(i, zero);
    b.counted_loop_to(i, n, IterationOrder::Independent, |b, i| {
        let offset = b.value(InstKind::Cast(i, ScalarType::U64), ScalarType::U64);
        let index = b.binary(BinaryOp::Add, start, offset);
        let v = b.value(
            InstKind::Call {
                callee: f,
                args: vec![Arg::Value(seed), Arg::Value(index)],
            },
            ret,
        );
        let v = if ret == elem {
            v
        } else {
            b.value(InstKind::Cast(v, elem), elem)
        };
        b.store(out, vec![i], v, false);
    });
    b.inst(InstKind::Return(None));
    Ok(crate::loops::add_inlined(program, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;
    use crate::test_support::{compile, desc};

    /// Every element is the function at its index, whatever slice is filled.
    #[test]
    fn element_i_is_the_function_at_start_plus_i() {
        let mut program = compile("fn g(seed: u64, i: u64) -> f64 { (seed * 1000 + i) as f64 }");
        let g = program.find("g").unwrap();
        let fill = build_index_fill(&mut program, g, ScalarType::F32).unwrap();
        crate::ir::verify::verify_program(&program).unwrap();
        let mut out = [0.0f32; 5];
        let args = [
            HostArg::Scalar(ScalarValue::U64(7)),
            HostArg::Scalar(ScalarValue::U64(40)),
            HostArg::Array(desc(out.as_mut_ptr(), &[5], &[1])),
        ];
        // SAFETY: the descriptor covers the live buffer.
        unsafe { Interpreter::new(&program).call(fill, &args, &mut std::io::sink()) }.unwrap();
        assert_eq!(out, [7040.0, 7041.0, 7042.0, 7043.0, 7044.0]);
    }

    #[test]
    fn a_function_of_other_parameters_is_refused() {
        let mut program = compile("fn g(seed: u64, i: i64) -> f64 { (seed as i64 + i) as f64 }");
        let g = program.find("g").unwrap();
        assert!(build_index_fill(&mut program, g, ScalarType::F64).is_err());
    }
}
