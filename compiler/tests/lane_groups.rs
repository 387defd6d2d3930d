//! Lane groups (`backend/cranelift/lane_groups.rs`) in specialised gufunc
//! loops: the jammed columns of a batched matmul run two `f64` (four `f32`)
//! at a time in 128-bit vectors. Every result must be the bits of the generic
//! loop (nothing unrolled or jammed, so nothing grouped) compiled by
//! Cranelift, NaNs included, and the results of the reference interpreter
//! running the same IR and, with the `llvm` feature, of the optimized tier's
//! code (there any NaN for a NaN, as the IR specifies): `f64` and `f32`, at 8x8 and
//! 16x16 and at sizes whose rows leave a remainder after the groups (3x5,
//! 7x9, one column), with NaN, infinities, `-0.0`, huge and subnormal values
//! among the inputs. And the CLIF has vectors exactly where the groups'
//! condition holds: not where the neighbouring columns are a row apart in
//! memory (a transposed operand), nor in a loop built without contiguous
//! strides.

mod common;

use common::combiners::{bits, checked, desc, from_bytes, has_vectors, to_bytes, values};
use kern_compiler::backend::cranelift::{CompiledFunction, JitEngine};
use kern_compiler::interp::Interpreter;
use kern_compiler::ir::{verify, FuncId, HostArg, Program, ScalarType, ScalarValue};
use kern_compiler::loops::gufunc_loop::{
    build_gufunc_loop, build_specialised_gufunc_loop, CoreSpecialisation, GufuncLoopSignature,
};
use proptest::test_runner::{Config, TestRunner};

use ScalarType as T;

const SOURCE: &str = r#"
#[guvectorize]
fn mm64(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[k][j]; }
            out[i][j] = s;
        }
    }
}

#[guvectorize]
fn mm32(a: &[[f32; N]; M], b: &[[f32; P]; N], out: &mut [[f32; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[k][j]; }
            out[i][j] = s;
        }
    }
}

// Subtraction and division too.
#[guvectorize]
fn mixed(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = -0.0;
            for k in 0..N { s = (s - a[i][k] * b[k][j]) / 1.5; }
            out[i][j] = s;
        }
    }
}

// `b` transposed: column `j + 1` of the product reads a row after column `j`.
#[guvectorize]
fn mm_bt(a: &[[f64; N]; M], b: &[[f64; N]; P], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[j][k]; }
            out[i][j] = s;
        }
    }
}
"#;

/// One gufunc of [`SOURCE`] over `ty`, specialised on `extents`, and its
/// generic loop, compiled.
struct Loops {
    program: Program,
    special: FuncId,
    ty: ScalarType,
    extents: Vec<Vec<usize>>,
    compiled: CompiledFunction,
    generic: CompiledFunction,
    /// The specialised loop's CLIF has vector code.
    vector: bool,
}

fn loops(name: &str, ty: ScalarType, extents: &[Vec<usize>], contiguous: bool) -> Loops {
    let (mut program, sources) = checked(SOURCE);
    let body = program.find(name).expect("declared");
    let signature = GufuncLoopSignature {
        inputs: vec![ty; 2],
        outputs: vec![ty],
    };
    let core = CoreSpecialisation {
        extents: extents.to_vec(),
        contiguous,
    };
    let special = build_specialised_gufunc_loop(&mut program, body, 2, &signature, &core).unwrap();
    let generic = build_gufunc_loop(&mut program, body, 2, &signature).unwrap();
    verify::verify_program(&program).unwrap();
    let mut engine = JitEngine::new().unwrap();
    let compiled = engine.compile(&program, special).unwrap();
    let generic = engine.compile(&program, generic).unwrap();
    let clif = JitEngine::emit_clif(&program, special, &sources).unwrap();
    Loops {
        program,
        special,
        ty,
        extents: extents.to_vec(),
        compiled,
        generic,
        vector: has_vectors(&clif),
    }
}

fn matmul(m: usize, n: usize, p: usize) -> Vec<Vec<usize>> {
    vec![vec![m, n], vec![n, p], vec![m, p]]
}

/// Who runs a loop.
#[derive(Clone, Copy, Debug)]
enum Engine {
    Interpreter,
    Cranelift,
    Generic,
    #[cfg_attr(not(feature = "llvm"), allow(dead_code))]
    Llvm,
}

const BATCH: usize = 3;

/// The output `engine` computes from the inputs `a` and `b` (a batch of
/// [`BATCH`], C-contiguous; the output starts as `-0.0`).
fn output(l: &Loops, engine: Engine, a: &[ScalarValue], b: &[ScalarValue]) -> Vec<ScalarValue> {
    let out_len = BATCH * l.extents[2].iter().product::<usize>();
    let minus_zero = match l.ty {
        T::F32 => ScalarValue::F32(-0.0),
        _ => ScalarValue::F64(-0.0),
    };
    let mut buffers = [
        to_bytes(l.ty, a),
        to_bytes(l.ty, b),
        to_bytes(l.ty, &vec![minus_zero; out_len]),
    ];
    let args: Vec<HostArg> = buffers
        .iter_mut()
        .zip(&l.extents)
        .map(|(data, core)| {
            let shape: Vec<usize> = std::iter::once(BATCH).chain(core.clone()).collect();
            let mut strides = vec![1isize; shape.len()];
            for axis in (0..shape.len() - 1).rev() {
                strides[axis] = strides[axis + 1] * shape[axis + 1] as isize;
            }
            desc(data.as_mut_ptr(), &shape, &strides)
        })
        .collect();
    let sink = &mut std::io::sink();
    // SAFETY: every descriptor covers its live buffer.
    let outcome = unsafe {
        match engine {
            Engine::Interpreter => Interpreter::new(&l.program)
                .call(l.special, &args, sink)
                .map_err(|t| t.to_string()),
            Engine::Cranelift => l.compiled.call(&args, sink).map_err(|e| e.to_string()),
            Engine::Generic => l.generic.call(&args, sink).map_err(|e| e.to_string()),
            Engine::Llvm => optimized(l, &args),
        }
    };
    if let Err(e) = outcome {
        panic!("{engine:?}: {e}");
    }
    from_bytes(l.ty, &buffers[2])
}

/// The specialised loop as the optimized tier's code.
///
/// # Safety
/// The descriptors of `args` cover live buffers.
#[cfg(feature = "llvm")]
unsafe fn optimized(l: &Loops, args: &[HostArg]) -> Result<Option<ScalarValue>, String> {
    let code = kern_compiler::backend::llvm::host::compile(&l.program, l.special).unwrap();
    code.call(args, &mut std::io::sink())
        .map_err(|e| e.to_string())
}

#[cfg(not(feature = "llvm"))]
unsafe fn optimized(_: &Loops, _: &[HostArg]) -> Result<Option<ScalarValue>, String> {
    unreachable!("only run with the `llvm` feature")
}

/// Every engine computes the interpreter's results from `a` and `b` (any NaN
/// for a NaN: their sign and payload are unspecified), and the vector lanes
/// compute the very bits of the generic loop's scalar code, NaNs included.
fn check(l: &Loops, a: &[ScalarValue], b: &[ScalarValue]) {
    let want = output(l, Engine::Interpreter, a, b);
    let mut engines = vec![Engine::Cranelift, Engine::Generic];
    if cfg!(feature = "llvm") {
        engines.push(Engine::Llvm);
    }
    for engine in engines {
        let got = output(l, engine, a, b);
        for (k, (w, g)) in want.iter().zip(&got).enumerate() {
            assert!(
                w.same_result(*g),
                "{engine:?} at {:?}, element {k}: {g:?}, the interpreter {w:?}",
                l.extents
            );
        }
    }
    let vector = bits(&output(l, Engine::Cranelift, a, b));
    assert_eq!(
        vector,
        bits(&output(l, Engine::Generic, a, b)),
        "{:?}",
        l.extents
    );
}

/// [`check`] on inputs drawn with the edge cases of `l`'s type.
fn check_drawn(l: &Loops, cases: u32) {
    let len = |k: usize| BATCH * l.extents[k].iter().product::<usize>();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&(values(l.ty, len(0)), values(l.ty, len(1))), |(a, b)| {
            check(l, &a, &b);
            Ok(())
        })
        .unwrap();
}

#[test]
fn matmul_columns_run_in_vectors_with_the_scalar_codes_bits() {
    for ty in [T::F64, T::F32] {
        let name = if ty == T::F64 { "mm64" } else { "mm32" };
        for (m, n, p) in [(8, 8, 8), (16, 16, 16), (2, 12, 11), (3, 16, 12)] {
            let l = loops(name, ty, &matmul(m, n, p), true);
            assert!(l.vector, "{name} {m}x{n}x{p}");
            check_drawn(&l, 12);
        }
    }
}

#[test]
fn rows_that_leave_a_remainder_after_the_groups_agree_exactly() {
    // Columns the jammer groups in eights leave 1..3 (f64) or 1..7 (f32)
    // after the last full vector, which run as scalars.
    for ty in [T::F64, T::F32] {
        let name = if ty == T::F64 { "mm64" } else { "mm32" };
        for (m, n, p) in [
            (3, 3, 5),
            (7, 7, 9),
            (5, 3, 11),
            (4, 9, 15),
            (9, 5, 1),
            (1, 1, 1),
        ] {
            let l = loops(name, ty, &matmul(m, n, p), true);
            check_drawn(&l, 8);
        }
    }
}

#[test]
fn subtraction_and_division_group_too() {
    for (m, n, p) in [(8, 8, 8), (2, 12, 7)] {
        let l = loops("mixed", T::F64, &matmul(m, n, p), true);
        assert!(l.vector, "{m}x{n}x{p}");
        check_drawn(&l, 12);
    }
}

#[test]
fn columns_that_are_not_neighbours_in_memory_stay_scalar() {
    // The transposed operand: the jammed columns read b[j][k], b[j + 1][k], a
    // row apart.
    let bt = vec![vec![8, 8], vec![8, 8], vec![8, 8]];
    let l = loops("mm_bt", T::F64, &bt, true);
    assert!(!l.vector);
    check_drawn(&l, 4);
    // Strides not declared fixed: the loop does not know the columns are
    // neighbours.
    let l = loops("mm64", T::F64, &matmul(8, 8, 8), false);
    assert!(!l.vector);
    check_drawn(&l, 4);
}

#[test]
fn special_values_propagate_lane_by_lane() {
    // Every column of `b` holds one special value in its first row, ones
    // below, so each output column shows what its lane did.
    let l = loops("mm64", T::F64, &matmul(2, 12, 8), true);
    assert!(l.vector);
    let specials = [
        f64::NAN,
        -f64::NAN,
        f64::INFINITY,
        f64::NEG_INFINITY,
        -0.0,
        0.0,
        f64::MAX,
        f64::MIN_POSITIVE / 8.0,
    ];
    // Row 0 of `a` is (1, -0.0, -0.0, ..), row 1 (inf, 2, 2, ..).
    let a: Vec<ScalarValue> = (0..BATCH * 24)
        .map(|k| {
            let (row, column) = (k % 24 / 12, k % 12);
            let x = match column {
                0 => [1.0, f64::INFINITY][row],
                _ => [-0.0, 2.0][row],
            };
            ScalarValue::F64(x)
        })
        .collect();
    let b: Vec<ScalarValue> = (0..BATCH * 96)
        .map(|k| match k % 96 {
            j @ 0..=7 => ScalarValue::F64(specials[j]),
            _ => ScalarValue::F64(1.0),
        })
        .collect();
    check(&l, &a, &b);
    let out = output(&l, Engine::Cranelift, &a, &b);
    // Row 0 of the product: column j is `0.0 + special_j`, then `-0.0`s added.
    let row: Vec<f64> = out[..8]
        .iter()
        .map(|v| match v {
            ScalarValue::F64(x) => *x,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(row[0].is_nan() && row[1].is_nan(), "{row:?}");
    assert_eq!(row[2..4], [f64::INFINITY, f64::NEG_INFINITY]);
    assert_eq!(row[4].to_bits(), 0.0f64.to_bits());
    assert_eq!(row[6], f64::MAX);
}
