//! The row fold (`loops::row_fold`, what `reduce` runs along an axis that does
//! not stream) through the Cranelift backend, whose SIMD path keeps groups of
//! accumulators in vectors across passes of several rows
//! (`backend/cranelift/vector_rows.rs`), compared with the reference
//! interpreter running the same IR (a NaN against any NaN) and bit for bit
//! with what the row fold replaces: the compiled elementwise step
//! `acc = f(acc, x[j])` called once per row. Sums, products, maxima and minima
//! of `f32` and `f64` with NaN, infinities and `-0.0`, wrapping `i64`, `i32`,
//! `i8` and `u16` sums, a combiner with a branch and ones that expose the order (`2a + b`),
//! at row counts around the pass and lane counts around the vector group.
//! Strided lanes, accumulators that overlap the rows or are too few, and a
//! combiner that can trap take the scalar path, which traps at the element the
//! steps trap at, after the same stores. Also: the CLIF really has the vector
//! path exactly where it should. With `--features llvm` every check runs the
//! optimized tier's row fold too (`backend/llvm/host/row_fold.rs`, groups of
//! 256 bytes of lanes in vectors across passes of rows).

mod common;

use common::combiners::{
    bits, desc, from_bytes, has_vectors, program, to_bytes, values, VECTORISED,
};
use common::layout::Layout;
use kern_compiler::backend::cranelift::{CallError, CompiledFunction, JitEngine};
use kern_compiler::interp::Interpreter;
use kern_compiler::ir::{verify, FuncId, HostArg, Program, ScalarType, ScalarValue};
use kern_compiler::loops::elementwise::{build_elementwise_loop, LoopSignature};
use kern_compiler::loops::row_fold::build_row_fold;
use proptest::prelude::*;

use ScalarType as T;

/// The row fold of one ufunc over `ty`, its program (for the interpreter) and
/// the elementwise step loop it must agree with.
struct Fold {
    program: Program,
    func: FuncId,
    compiled: CompiledFunction,
    step: CompiledFunction,
    ty: ScalarType,
    /// The CLIF of the row fold has vector code.
    vector: bool,
    /// The optimized tier's code for the same row fold.
    #[cfg(feature = "llvm")]
    optimized: CompiledFunction,
}

impl Fold {
    /// The machine code of every tier this build has, and whether it must
    /// match the steps bit for bit (LLVM may give a NaN another sign or
    /// payload: docs/language.md).
    fn tiers(&self) -> Vec<(&CompiledFunction, bool)> {
        #[cfg(feature = "llvm")]
        return vec![(&self.compiled, true), (&self.optimized, false)];
        #[cfg(not(feature = "llvm"))]
        vec![(&self.compiled, true)]
    }
}

fn fold(ufunc: &str, ty: ScalarType) -> Fold {
    let (mut program, sources) = program();
    let f = program.find(ufunc).expect("declared");
    let func = build_row_fold(&mut program, f, ty, ty).unwrap();
    let signature = LoopSignature {
        inputs: vec![ty, ty],
        output: ty,
    };
    let (_, step) = build_elementwise_loop(&mut program, f, &signature).unwrap();
    verify::verify_program(&program).unwrap();
    let mut engine = JitEngine::new().unwrap();
    let compiled = engine.compile(&program, func).unwrap();
    let step = engine.compile(&program, step).unwrap();
    let clif = JitEngine::emit_clif(&program, func, &sources).unwrap();
    #[cfg(feature = "llvm")]
    let optimized = kern_compiler::backend::llvm::host::compile(&program, func)
        .unwrap_or_else(|e| panic!("LLVM compiles the row fold: {e}"));
    Fold {
        #[cfg(feature = "llvm")]
        optimized,
        program,
        func,
        compiled,
        step,
        ty,
        vector: has_vectors(&clif),
    }
}

/// Where the accumulators are: their own buffer, as many as the lanes or
/// fewer, or inside the rows' buffer from slot `at` on.
#[derive(Clone, Copy, Debug)]
enum Accumulators {
    Own { len: usize },
    InRows { at: usize },
}

/// One call: `x` laid out by `layout` (element `j` of lane `l` is `x[l, j]`,
/// row `j` the elements `j` of every lane), the accumulators starting as
/// `seeds`.
#[derive(Clone, Copy, Debug)]
struct Call<'a> {
    x: &'a [ScalarValue],
    layout: Layout,
    seeds: &'a [ScalarValue],
    acc: Accumulators,
}

impl Call<'_> {
    fn own<'a>(x: &'a [ScalarValue], layout: Layout, seeds: &'a [ScalarValue]) -> Call<'a> {
        Call {
            x,
            layout,
            seeds,
            acc: Accumulators::Own { len: layout.lanes },
        }
    }
}

/// What a call leaves: the accumulators (and, where they live in the rows,
/// the rows), and its trap with where it happened.
#[derive(Debug, PartialEq)]
struct Outcome {
    memory: Vec<ScalarValue>,
    trap: Option<String>,
}

/// `run(args)` with the call's buffers, `args` given the descriptors of `x`
/// (rows × lanes) and of the accumulators.
fn with_buffers(
    f: &Fold,
    call: Call,
    run: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>) -> Option<String>,
) -> Outcome {
    let (ty, size) = (f.ty, f.ty.size_bytes());
    let mut xs = to_bytes(ty, call.x);
    let mut own = to_bytes(ty, call.seeds);
    if let Accumulators::InRows { at } = call.acc {
        xs[at * size..(at + call.seeds.len()) * size].copy_from_slice(&own);
    }
    let trap = run(&mut xs, &mut own);
    let memory = match call.acc {
        Accumulators::Own { .. } => from_bytes(ty, &own),
        Accumulators::InRows { .. } => from_bytes(ty, &xs),
    };
    Outcome { memory, trap }
}

/// The row fold on the interpreter (`code` None) or compiled `code`.
fn run(f: &Fold, call: Call, code: Option<&CompiledFunction>) -> Outcome {
    let layout = call.layout;
    with_buffers(f, call, |xs, own| {
        let x = desc(
            xs.as_mut_ptr(),
            &[layout.lanes, layout.n],
            &[layout.lane_stride, layout.stride],
        );
        let acc = match call.acc {
            Accumulators::Own { len } => desc(own.as_mut_ptr(), &[len], &[1]),
            Accumulators::InRows { at } => desc(
                xs[at * f.ty.size_bytes()..].as_mut_ptr(),
                &[layout.lanes],
                &[1],
            ),
        };
        call_fold(f, &[x, acc], code)
    })
}

fn call_fold(f: &Fold, args: &[HostArg], code: Option<&CompiledFunction>) -> Option<String> {
    // SAFETY: the descriptors cover the live buffers of the call.
    unsafe {
        match code {
            Some(code) => match code.call(args, &mut std::io::sink()) {
                Ok(_) => None,
                Err(CallError::Trap(t)) => Some(format!("{t} at {:?}", t.span)),
                Err(e) => panic!("{e}"),
            },
            None => Interpreter::new(&f.program)
                .call(f.func, args, &mut std::io::sink())
                .err()
                .map(|t| format!("{t} at {:?}", t.span)),
        }
    }
}

/// What the runtime computed before the row fold: the elementwise step
/// `acc = f(acc, x[j])` over every lane, once per row, to the first trap (for
/// accumulators of their own, one per lane).
fn by_steps(f: &Fold, call: Call) -> Outcome {
    let layout = call.layout;
    let size = f.ty.size_bytes();
    with_buffers(f, call, |xs, own| {
        for j in 0..layout.n {
            let row = xs[layout.slot(0, j) * size..].as_mut_ptr();
            let acc = own.as_mut_ptr();
            let args = [
                desc(acc, &[layout.lanes], &[1]),
                desc(row, &[layout.lanes], &[layout.lane_stride]),
                desc(acc, &[layout.lanes], &[1]),
            ];
            // SAFETY: the descriptors cover the live buffers of the call.
            match unsafe { f.step.call(&args, &mut std::io::sink()) } {
                Ok(_) => {}
                Err(CallError::Trap(t)) => return Some(format!("{t} at {:?}", t.span)),
                Err(e) => panic!("{e}"),
            }
        }
        None
    })
}

/// Every tier's row fold against the interpreter's (NaN against any NaN, the
/// same trap after the same stores) and against the elementwise steps, bit
/// for bit on the baseline.
fn check(f: &Fold, call: Call) {
    let want = run(f, call, None);
    let ctx = || format!("{call:?}");
    // The steps are defined for accumulators of their own, one per lane.
    let steps = match call.acc {
        Accumulators::Own { len } if len >= call.layout.lanes => Some(by_steps(f, call)),
        _ => None,
    };
    for (code, exact) in f.tiers() {
        let got = run(f, call, Some(code));
        assert_eq!(want.trap, got.trap, "{}: {}", code.engine(), ctx());
        for (k, (w, g)) in want.memory.iter().zip(&got.memory).enumerate() {
            assert!(
                w.same_result(*g),
                "element {k}: interpreter {w:?}, {} {g:?}; {}",
                code.engine(),
                ctx()
            );
        }
        let Some(steps) = &steps else { continue };
        assert_eq!(got.trap, steps.trap, "against the steps; {}", ctx());
        if exact {
            assert_eq!(
                bits(&got.memory),
                bits(&steps.memory),
                "against the steps; {}",
                ctx()
            );
        } else {
            for (g, s) in got.memory.iter().zip(&steps.memory) {
                assert!(
                    g.same_result(*s),
                    "against the steps: {g:?}, {s:?}; {}",
                    ctx()
                );
            }
        }
    }
}

/// `n` distinct values of `ty` whose sums and products round differently in
/// another order.
fn ramp(ty: ScalarType, n: usize) -> Vec<ScalarValue> {
    (0..n)
        .map(|k| match ty {
            T::F64 => ScalarValue::F64(1.0 + k as f64 * 1.1e-3),
            T::F32 => ScalarValue::F32(1.0 + k as f32 * 1.1e-3),
            T::I32 => ScalarValue::I32(k as i32 * 37 - 11),
            T::I8 => ScalarValue::I8((k as i32 * 37 - 11) as i8),
            T::U16 => ScalarValue::U16((k * 4099) as u16),
            _ => ScalarValue::I64(k as i64 * 37 - 11),
        })
        .collect()
}

#[test]
fn combiners_that_never_trap_have_the_vector_path() {
    for (ufunc, ty) in VECTORISED.into_iter().chain([("skewi", T::I64)]) {
        assert!(fold(ufunc, ty).vector, "{ufunc}");
    }
    // Division by an element can trap: its guard would fire, so no vector path.
    assert!(!fold("quotient", T::I64).vector);
}

#[test]
fn row_counts_around_the_pass_and_lane_counts_around_the_group_agree_exactly() {
    let folds = [
        fold("skew", T::F64),
        fold("add32", T::F32),
        fold("skewi", T::I64),
        fold("addi32", T::I32),
    ];
    let counts = [1usize, 2, 3, 7, 8, 9, 15, 16, 17, 23, 24, 25];
    for f in &folds {
        for rows in counts {
            for lanes in [1usize, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65] {
                let layout = Layout::columns(lanes, rows);
                let x = ramp(f.ty, layout.slots());
                let seeds = ramp(f.ty, lanes + 3)[3..].to_vec();
                check(f, Call::own(&x, layout, &seeds));
            }
        }
    }
}

#[test]
fn narrow_integers_fold_in_vectors_too_and_wrap() {
    for f in [fold("skewi8", T::I8), fold("addu16", T::U16)] {
        assert!(f.vector);
        for (rows, lanes) in [(1, 1), (9, 63), (9, 64), (17, 65), (8, 200)] {
            let layout = Layout::columns(lanes, rows);
            let x = ramp(f.ty, layout.slots());
            let seeds = ramp(f.ty, lanes + 5)[5..].to_vec();
            check(&f, Call::own(&x, layout, &seeds));
        }
    }
}

#[test]
fn integer_sums_wrap_as_the_documented_semantics_say() {
    let f = fold("addi32", T::I32);
    let layout = Layout::columns(9, 10);
    let x = vec![ScalarValue::I32(i32::MAX); layout.slots()];
    let seeds = vec![ScalarValue::I32(1); 9];
    let got = run(&f, Call::own(&x, layout, &seeds), Some(&f.compiled));
    let wrapped = ScalarValue::I32(i32::MAX.wrapping_mul(10).wrapping_add(1));
    assert_eq!(got.memory, vec![wrapped; 9]);
    check(&f, Call::own(&x, layout, &seeds));
}

#[test]
fn a_combiner_that_can_trap_stops_at_the_element_the_steps_stop_at() {
    let q = fold("quotient", T::I64);
    let layout = Layout::columns(11, 12);
    let mut x: Vec<ScalarValue> = (1..=layout.slots() as i64).map(ScalarValue::I64).collect();
    let seeds = ramp(T::I64, 11);
    check(&q, Call::own(&x, layout, &seeds));
    // Row 5, lane 6: the rows before it and lanes 0..6 of row 5 are folded.
    x[layout.slot(6, 5)] = ScalarValue::I64(0);
    let call = Call::own(&x, layout, &seeds);
    check(&q, call);
    let got = run(&q, call, Some(&q.compiled));
    assert!(got.trap.is_some());
    let folded = |lane: usize, rows: usize| {
        (0..rows).fold(seeds[lane], |a, j| match (a, x[layout.slot(lane, j)]) {
            (ScalarValue::I64(a), ScalarValue::I64(b)) => ScalarValue::I64(a + 1000 / b),
            other => panic!("{other:?}"),
        })
    };
    let expected: Vec<ScalarValue> = (0..11)
        .map(|lane| folded(lane, if lane < 6 { 6 } else { 5 }))
        .collect();
    assert_eq!(got.memory, expected);
}

#[test]
fn accumulators_inside_the_rows_take_the_scalar_path() {
    // The accumulators are row 2 itself, or start in the middle of row 1:
    // rows folded later read what earlier rows stored, in the IR's order.
    let f = fold("skew", T::F64);
    let layout = Layout::columns(12, 6);
    let x = ramp(T::F64, layout.slots());
    let seeds = ramp(T::F64, 12);
    for at in [layout.slot(0, 2), layout.slot(5, 1)] {
        check(
            &f,
            Call {
                acc: Accumulators::InRows { at },
                ..Call::own(&x, layout, &seeds)
            },
        );
    }
}

#[test]
fn too_few_accumulators_trap_where_the_interpreter_does() {
    let f = fold("add64", T::F64);
    let layout = Layout::columns(10, 3);
    let x = ramp(T::F64, layout.slots());
    let seeds = ramp(T::F64, 9);
    let call = Call {
        acc: Accumulators::Own { len: 9 },
        ..Call::own(&x, layout, &seeds)
    };
    check(&f, call);
    assert!(run(&f, call, Some(&f.compiled)).trap.is_some());
}

/// The optimized tier keeps a group of 256 bytes of lanes' accumulators in
/// vectors across the rows of a pass (`backend/llvm/host/row_fold.rs`):
/// lowered from the IR, LLVM vectorised the loop over the lanes, loading and
/// storing every accumulator once per row.
#[cfg(feature = "llvm")]
#[test]
fn the_optimized_tier_keeps_groups_of_accumulators_in_vectors() {
    let f = fold("add64", T::F64);
    let ir = kern_compiler::backend::llvm::host::emit_llvm_ir(&f.program, f.func).unwrap();
    assert!(
        ir.contains("load <32 x double>"),
        "no group of accumulators:\n{ir}"
    );
    let f = fold("add32", T::F32);
    let ir = kern_compiler::backend::llvm::host::emit_llvm_ir(&f.program, f.func).unwrap();
    assert!(
        ir.contains("load <64 x float>"),
        "no group of accumulators:\n{ir}"
    );
}

/// Lane and row counts around the group, the pass and a long row.
fn layouts(strided: bool) -> impl Strategy<Value = Layout> {
    let lanes = prop_oneof![1usize..40, 120usize..140];
    let rows = prop_oneof![1usize..30, 60usize..70];
    (lanes, rows, 0..3usize).prop_map(move |(lanes, n, kind)| match (strided, kind) {
        (false, _) => Layout::columns(lanes, n),
        // Transposed: each lane's elements one after the other.
        (true, 0) => Layout::rows(lanes, n, 1),
        // Every other column.
        (true, 1) => Layout {
            lanes,
            n,
            lane_stride: 2,
            stride: 2 * lanes as isize,
        },
        // Every other row.
        (true, _) => Layout {
            lanes,
            n,
            lane_stride: 1,
            stride: 2 * lanes as isize,
        },
    })
}

fn data(
    ty: ScalarType,
    strided: bool,
) -> impl Strategy<Value = (Layout, Vec<ScalarValue>, Vec<ScalarValue>)> {
    layouts(strided).prop_flat_map(move |l| (Just(l), values(ty, l.slots()), values(ty, l.lanes)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn contiguous_lanes_take_the_vector_path_and_agree(
        (case, (layout, x, seeds)) in (0..VECTORISED.len())
            .prop_flat_map(|c| (Just(c), data(VECTORISED[c].1, false)))
    ) {
        let (ufunc, ty) = VECTORISED[case];
        check(&fold(ufunc, ty), Call::own(&x, layout, &seeds));
    }

    #[test]
    fn strided_and_transposed_rows_agree((layout, x, seeds) in data(T::F64, true)) {
        check(&fold("skew", T::F64), Call::own(&x, layout, &seeds));
    }
}
