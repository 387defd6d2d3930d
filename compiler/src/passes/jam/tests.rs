//! The jammer's tests: which loops of a specialised gufunc loop it jams, and
//! that the jammed loop computes the generic loop's bits (which nothing
//! jams: its ranges are not constants) in the interpreter, as Cranelift's code
//! and, with the `llvm` feature, as LLVM's.

use super::*;
use crate::loops::gufunc_loop::{
    build_gufunc_loop, build_specialised_gufunc_loop, CoreSpecialisation, GufuncLoopSignature,
};
use crate::test_support::{array_arg, call, compile};

/// The gufunc `name` of `src` over `f64` arrays (its first `nin` parameters the
/// inputs): its loop specialised on the core `extents` of every operand with
/// contiguous core axes, and its generic loop, in one program.
fn loops(src: &str, name: &str, nin: usize, extents: &[Vec<usize>]) -> (Program, FuncId, FuncId) {
    let mut program = compile(src);
    let body = program.find(name).unwrap();
    let signature = GufuncLoopSignature {
        inputs: vec![ScalarType::F64; nin],
        outputs: vec![ScalarType::F64; extents.len() - nin],
    };
    let core = CoreSpecialisation {
        extents: extents.to_vec(),
        contiguous: true,
    };
    let special =
        build_specialised_gufunc_loop(&mut program, body, nin, &signature, &core).unwrap();
    let generic = build_gufunc_loop(&mut program, body, nin, &signature).unwrap();
    if let Err(e) = crate::ir::verify::verify_program(&program) {
        panic!("{e:?}\n{}", crate::ir::print::print_program(&program));
    }
    (program, special, generic)
}

/// The bits of every operand after `lp` ran over a batch of `batch` with
/// operands of core `extents` (C-contiguous; inputs of small integers and
/// fractions of both signs, outputs starting as -0.0), in the interpreter, as
/// Cranelift's code and, with the `llvm` feature, as LLVM's; with the outcome.
fn runs(program: &Program, lp: FuncId, extents: &[Vec<usize>], batch: usize) -> Vec<String> {
    let mut outcomes = Vec::new();
    for engine in ["interpreter", "cranelift", "llvm"] {
        if engine == "llvm" && !cfg!(feature = "llvm") {
            continue;
        }
        let mut buffers: Vec<Vec<f64>> = extents
            .iter()
            .enumerate()
            .map(|(k, core)| {
                let len = batch * core.iter().product::<usize>();
                (0..len)
                    .map(|i| ((i * 7 + k * 3) % 23) as f64 * 0.375 - 3.0 + 1.0 / (i + 3) as f64)
                    .collect()
            })
            .collect();
        let args: Vec<HostArg> = buffers
            .iter_mut()
            .zip(extents)
            .map(|(data, core)| {
                let shape: Vec<i64> = std::iter::once(batch)
                    .chain(core.iter().copied())
                    .map(|x| x as i64)
                    .collect();
                let mut strides = vec![1i64; shape.len()];
                for axis in (0..shape.len() - 1).rev() {
                    strides[axis] = strides[axis + 1] * shape[axis + 1];
                }
                array_arg(data, &shape, &strides)
            })
            .collect();
        // SAFETY: every descriptor covers its live buffer.
        let outcome = unsafe {
            match engine {
                "interpreter" => call(program, lp, &args, false),
                "cranelift" => call(program, lp, &args, true),
                _ => llvm(program, lp, &args),
            }
        };
        let bits: Vec<Vec<u64>> = buffers
            .iter()
            .map(|b| b.iter().map(|x| x.to_bits()).collect())
            .collect();
        outcomes.push(format!("{outcome:?} {bits:?}"));
    }
    outcomes
}

/// Calls `lp` as the optimized tier's code.
///
/// # Safety
/// As for [`call`].
#[cfg(feature = "llvm")]
unsafe fn llvm(
    program: &Program,
    lp: FuncId,
    args: &[HostArg],
) -> Result<Option<ScalarValue>, Trap> {
    let code = crate::backend::llvm::host::compile(program, lp).unwrap();
    code.call(args, &mut std::io::sink()).map_err(|e| match e {
        crate::backend::cranelift::CallError::Trap(t) => t,
        other => panic!("{other}"),
    })
}

#[cfg(not(feature = "llvm"))]
unsafe fn llvm(_: &Program, _: FuncId, _: &[HostArg]) -> Result<Option<ScalarValue>, Trap> {
    unreachable!("runs skips LLVM without the feature")
}

/// Asserts that the specialised and the generic loop of `src`'s gufunc `name`
/// give the same bits (and outcome) on every engine, and returns the
/// specialised loop's program and id for the test to inspect.
fn same_bits(src: &str, name: &str, nin: usize, extents: &[Vec<usize>]) -> (Program, FuncId) {
    let (program, special, generic) = loops(src, name, nin, extents);
    let expected = runs(&program, generic, extents, 3);
    let got = runs(&program, special, extents, 3);
    for (engine, (want, have)) in expected.iter().zip(&got).enumerate() {
        assert_eq!(want, have, "engine {engine}, extents {extents:?}");
    }
    assert!(expected.windows(2).all(|w| w[0] == w[1]), "{expected:?}");
    (program, special)
}

/// How many loops with a condition `f` has (the loop axis's, the body's `for`s
/// that are left, a jammed loop).
fn conditional_loops(f: &Function) -> usize {
    f.body
        .insts_deep()
        .filter(|i| matches!(i.kind, InstKind::Loop { cond: Some(_), .. }))
        .count()
}

fn count(f: &Function, pred: impl Fn(&InstKind) -> bool) -> usize {
    f.body.insts_deep().filter(|i| pred(&i.kind)).count()
}

fn loads(f: &Function) -> usize {
    count(f, |k| matches!(k, InstKind::Load { .. }))
}

fn stores(f: &Function) -> usize {
    count(f, |k| matches!(k, InstKind::Store { .. }))
}

const MATMUL: &str = "
#[guvectorize]
fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[k][j]; }
            out[i][j] = s;
        }
    }
}";

fn matmul(m: usize, n: usize, p: usize) -> Vec<Vec<usize>> {
    vec![vec![m, n], vec![n, p], vec![m, p]]
}

#[test]
fn matmul_8x8_interleaves_eight_columns_sharing_the_row_loads() {
    let (program, lp) = same_bits(MATMUL, "matmul", 2, &matmul(8, 8, 8));
    let f = program.function(lp);
    // `k` unrolled, then `j` jammed whole: the loop axis's loop and `i` are
    // left; per row, a[i][k] is loaded once for the eight columns.
    assert_eq!(conditional_loops(f), 2);
    assert_eq!(loads(f), 8 + 64);
    assert_eq!(stores(f), 8);
    // The eight stores come last, after every load of the row.
    let accesses = crate::test_support::accesses(&program, lp);
    let first_store = accesses
        .iter()
        .position(|a| a.starts_with("store"))
        .unwrap();
    assert_eq!(first_store, 72);
}

#[test]
fn longer_rows_jam_eight_columns_at_a_time_and_run_the_rest_in_the_loop() {
    // 16 columns: two groups of eight, no loop left over `j`.
    let (program, lp) = same_bits(MATMUL, "matmul", 2, &matmul(16, 16, 16));
    let f = program.function(lp);
    assert_eq!(conditional_loops(f), 2);
    assert_eq!(loads(f), 2 * (16 + 16 * 8));
    // 11 columns: a group of eight and one of three (16 rows: too many
    // copies of the row for the unroller).
    let (program, lp) = same_bits(MATMUL, "matmul", 2, &matmul(16, 12, 11));
    let f = program.function(lp);
    assert_eq!(conditional_loops(f), 2);
    assert_eq!(loads(f), (12 + 12 * 8) + (12 + 12 * 3));
    // 20 columns (more than a specialised loop has, but any constant range
    // qualifies): a jammed loop over 16, then the original loop for 4, in each
    // of the two rows (`i` unrolled).
    let (program, lp) = same_bits(MATMUL, "matmul", 2, &matmul(2, 12, 20));
    let f = program.function(lp);
    assert_eq!(conditional_loops(f), 1 + 2 * 2);
    assert_eq!(loads(f), 2 * ((12 + 12 * 8) + (12 + 12)));
    // Fewer than eight columns (too many for the unroller): all of them
    // jammed, as constants, in each of the two rows.
    let (program, lp) = same_bits(MATMUL, "matmul", 2, &matmul(2, 16, 5));
    let f = program.function(lp);
    assert_eq!(conditional_loops(f), 1);
    assert_eq!(loads(f), 2 * (16 + 16 * 5));
    // Columns the unroller takes whole are not the jammer's.
    for (m, n, p) in [(2, 3, 5), (1, 1, 2), (3, 4, 4)] {
        same_bits(MATMUL, "matmul", 2, &matmul(m, n, p));
    }
}

#[test]
fn other_orders_of_reduction_keep_their_bits() {
    // The dot product summed from the far end, and the transposed product
    // with the accumulator in a local set by an `if` before the loop.
    let reversed = "
#[guvectorize]
fn rev(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = -0.0;
            for k in 0..N { s = a[i][N - 1 - k] * b[N - 1 - k][j] + s * 0.5; }
            out[i][j] = s;
        }
    }
}";
    for (m, n, p) in [(8, 8, 8), (4, 6, 10), (16, 16, 16)] {
        let (program, lp) = same_bits(reversed, "rev", 2, &matmul(m, n, p));
        assert!(loads(program.function(lp)) > 0);
    }
}

#[test]
fn a_dependence_between_iterations_is_never_jammed() {
    // (Rows of 20, more than the unroller takes, so that the loops over `j`
    // are left to the jammer.)
    // A running sum: `s` carries a value from one column to the next.
    let scan = "
#[guvectorize]
fn scan(a: &[[f64; N]; M], out: &mut [[f64; N]; M]) {
    for i in 0..M {
        let mut s = 0.0;
        for j in 0..N { s = s * 0.5 + a[i][j]; out[i][j] = s; }
    }
}";
    let (program, lp) = same_bits(scan, "scan", 1, &[vec![4, 20], vec![4, 20]]);
    // The rows are unrolled; each keeps its loop over `j` with its one store.
    assert_eq!(stores(program.function(lp)), 4);
    // The output read back: column j reads what column j - 1 stored.
    let chain = "
#[guvectorize]
fn chain(a: &[[f64; N]; M], out: &mut [[f64; N]; M]) {
    for i in 0..M {
        out[i][0] = a[i][0];
        for j in 1..N { out[i][j] = out[i][j - 1] * 0.5 + a[i][j]; }
    }
}";
    let (program, lp) = same_bits(chain, "chain", 1, &[vec![3, 20], vec![3, 20]]);
    assert_eq!(stores(program.function(lp)), 3 * 2);
    // Accumulating into the output (`out[i][j] += ..` in k's loop): a load
    // and a store of one array at two places.
    let axpy = "
#[guvectorize]
fn acc(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for k in 0..N {
            for j in 0..P { out[i][j] += a[i][k] * b[k][j]; }
        }
    }
}";
    let (program, lp) = same_bits(axpy, "acc", 2, &matmul(3, 3, 20));
    // `i` and `k` unrolled, each copy's loop over `j` with its one store.
    assert_eq!(stores(program.function(lp)), 3 * 3);
}

#[test]
fn two_outputs_and_traps_are_never_jammed() {
    // Two outputs may be one array: their stores at two places keep their order.
    let two = "
#[guvectorize]
fn two(a: &[[f64; N]; M], x: &mut [[f64; N]; M], y: &mut [[f64; N]; M]) {
    for i in 0..M {
        for j in 0..N { x[i][j] = a[i][j] * 2.0; y[i][j] = a[i][j] + 1.0; }
    }
}";
    let (program, lp) = same_bits(two, "two", 1, &[vec![2, 20], vec![2, 20], vec![2, 20]]);
    assert_eq!(stores(program.function(lp)), 2 * 2);
    // A checked access (it may trap) in the body: the loop stays as it is, and
    // traps at the same element in every engine.
    let shifted = "
#[guvectorize]
fn shifted(a: &[[f64; N]; M], out: &mut [[f64; N]; M]) {
    for i in 0..M {
        for j in 0..N { out[i][j] = a[i][j + 2 - i]; }
    }
}";
    let (program, lp) = same_bits(shifted, "shifted", 1, &[vec![3, 20], vec![3, 20]]);
    let f = program.function(lp);
    let checked = count(f, |k| matches!(k, InstKind::Load { checked: true, .. }));
    assert_eq!(checked, 3, "one per row (unrolled), in its loop over j");
}
