//! In-order scan loops: the compiled inner loop of `accumulate`, and of `reduce`
//! for a ufunc that is not reorderable, over one strided run.
//!
//! [`build_scan_loop`] adds
//! `f[A,X->A].scan(seed: &[A], x: &[X], out: &mut [A])` that runs
//!
//! ```text
//! acc = seed[0]
//! for i in 0..len(x) { acc = f(acc, x[i]); out[i] = acc }
//! ```
//!
//! `out` has `x`'s length; the runtime gives `accumulate` the run after its first
//! element, and an in-order `reduce` an `out` of stride 0 (every step stores into
//! the one result, which is also the seed). The order is exactly NumPy's left fold,
//! so there is nothing to document beyond it. The IR is the semantics, as for the
//! other loops; this module knows IR only.

use crate::ir::build::FunctionBuilder;
use crate::ir::*;
use crate::loops::elementwise::{array1, LoopError};

/// The element function `f[A,X->A]` a scan of `elem` values accumulating in `acc`
/// folds with, and the builder of the scan loop `f[A,X->A].{suffix}`.
pub(super) fn scan_builder(
    program: &mut Program,
    ufunc: FuncId,
    elem: ScalarType,
    acc: ScalarType,
    suffix: &str,
) -> Result<(FuncId, FunctionBuilder), LoopError> {
    let m = crate::loops::reduce_loop::add_mixed_combiner(program, ufunc, elem, acc)?;
    let name = format!("{}[{}].{suffix}", m.base, m.mixed);
    Ok((m.func, FunctionBuilder::new(name, None, m.span)))
}

/// Emits into `b` the left fold of the module docs: from `first` (of the
/// accumulator type) over the `n` elements `load(b, i)`, calling `store(b, i, acc)`
/// after every step. Shared by the scan loop and the batched scan
/// (`reduce_batch`), so both have one order.
pub(super) fn emit_scan(
    b: &mut FunctionBuilder,
    combine: FuncId,
    first: ValueId,
    n: ValueId,
    load: &dyn Fn(&mut FunctionBuilder, ValueId) -> ValueId,
    store: &dyn Fn(&mut FunctionBuilder, ValueId, ValueId),
) {
    let acc = b.value_type(first);
    let zero = b.constant(ScalarValue::Usize(0));
    let result = b.local("acc", Type::Scalar(acc));
    let i = b.local("i", Type::Scalar(ScalarType::Usize));
    b.set(result, first);
    b.set(i, zero);

    b.counted_loop_to(i, n, IterationOrder::InOrder, |b, iv| {
        let v = load(b, iv);
        let current = b.get(result);
        let next = b.value(
            InstKind::Call {
                callee: combine,
                args: vec![Arg::Value(current), Arg::Value(v)],
            },
            acc,
        );
        b.set(result, next);
        store(b, iv, next);
    });
}

/// Adds the scan loop of the binary `ufunc` for elements stored as `elem`,
/// accumulating in `acc`; returns its id.
pub fn build_scan_loop(
    program: &mut Program,
    ufunc: FuncId,
    elem: ScalarType,
    acc: ScalarType,
) -> Result<FuncId, LoopError> {
    let (combine, mut b) = scan_builder(program, ufunc, elem, acc, "scan")?;
    let seed = b.param("seed", array1(acc, false));
    let x = b.param("x", array1(elem, false));
    let out = b.param("out", array1(acc, true));
    let zero = b.constant(ScalarValue::Usize(0));
    let n = b.array_len(x, 0);
    let first = b.load(seed, vec![zero], false, acc);
    let load = |b: &mut FunctionBuilder, i: ValueId| b.load(x, vec![i], false, elem);
    let store =
        |b: &mut FunctionBuilder, i: ValueId, value: ValueId| b.store(out, vec![i], value, false);
    emit_scan(&mut b, combine, first, n, &load, &store);
    b.inst(InstKind::Return(None));
    let id = crate::loops::add_inlined(program, b);
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;
    use crate::test_support::{compile, desc};

    #[test]
    fn the_scan_is_a_left_fold_that_stores_every_step() {
        let mut program = compile("#[vectorize] fn g(a: i64, b: i32) -> i64 { 2 * a + b as i64 }");
        let g = program.find("g").unwrap();
        let lp = build_scan_loop(&mut program, g, ScalarType::I32, ScalarType::I64).unwrap();
        crate::ir::verify::verify_program(&program).unwrap();

        let mut seed = [5i64];
        let mut x: Vec<i32> = vec![1, -2, 3, 4, 0, 7];
        let mut out = [0i64; 3];
        // Every other element of x, as a strided run.
        let args = [
            HostArg::Array(desc(seed.as_mut_ptr(), &[1], &[1])),
            HostArg::Array(desc(x.as_mut_ptr(), &[3], &[2])),
            HostArg::Array(desc(out.as_mut_ptr(), &[3], &[1])),
        ];
        // SAFETY: the descriptors cover the live buffers.
        unsafe { Interpreter::new(&program).call(lp, &args, &mut std::io::sink()) }.unwrap();
        assert_eq!(out, [2 * 5 + 1, 2 * 11 + 3, 2 * 25]);

        // An output of stride 0 that is also the seed: an in-order reduction.
        let mut acc = [1i64];
        let args = [
            HostArg::Array(desc(acc.as_mut_ptr(), &[1], &[1])),
            HostArg::Array(desc(x.as_mut_ptr(), &[6], &[1])),
            HostArg::Array(desc(acc.as_mut_ptr(), &[6], &[0])),
        ];
        // SAFETY: as above; every store goes to `acc[0]`.
        unsafe { Interpreter::new(&program).call(lp, &args, &mut std::io::sink()) }.unwrap();
        let expected = x.iter().fold(1i64, |a, &b| 2 * a + b as i64);
        assert_eq!(acc[0], expected);
    }
}
