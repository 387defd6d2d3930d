//! The batched block reduction (`loops::reduce_batch`, what `reduce` runs on
//! every target) through the Cranelift backend's SIMD path
//! (`backend/cranelift/vector_reduce.rs`, the eight accumulators held in
//! vectors), compared with the reference interpreter running the same IR (a
//! NaN against any NaN) and bit for bit with the scalar block loop compiled
//! block by block: sums, products, maxima and minima of `f32` and `f64` with
//! NaN, infinities and `-0.0`, wrapping `i64` and `i32` sums, combiners with
//! branches and one that exposes the order (`2a + b`), at lengths around 8,
//! 16 and the block of 128. Strided lanes, a combiner that can trap and an
//! `out` too small take the scalar path and agree too. Also: the CLIF really
//! has the vector path exactly where it should. With `--features llvm` every
//! check runs the optimized tier's batch too (`backend::llvm::host`, whose
//! contiguous lanes run with the eight accumulators in one vector).

mod common;

use common::combiners::{
    bits, desc, from_bytes, has_vectors, program, to_bytes, values, VECTORISED,
};
use common::layout::Layout;
use kern_compiler::backend::cranelift::{CallError, CompiledFunction, JitEngine};
use kern_compiler::interp::Interpreter;
use kern_compiler::ir::{verify, FuncId, Program, ScalarType, ScalarValue};
use kern_compiler::loops::reduce_batch::build_reduce_batch;
use kern_compiler::loops::reduce_loop::{build_reduce_loop, BLOCK};
use proptest::prelude::*;

use ScalarType as T;

/// The batch of one ufunc over `ty`, its program (for the interpreter) and the
/// scalar block loop it must agree with.
struct Batch {
    program: Program,
    func: FuncId,
    compiled: CompiledFunction,
    block: CompiledFunction,
    ty: ScalarType,
    /// The CLIF of the batch has vector code.
    vector: bool,
    /// The optimized tier's code for the same batch.
    #[cfg(feature = "llvm")]
    optimized: CompiledFunction,
}

impl Batch {
    /// The machine code of every tier this build has.
    fn tiers(&self) -> Vec<&CompiledFunction> {
        #[cfg(feature = "llvm")]
        return vec![&self.compiled, &self.optimized];
        #[cfg(not(feature = "llvm"))]
        vec![&self.compiled]
    }
}

fn batch(ufunc: &str, ty: ScalarType) -> Batch {
    let (mut program, sources) = program();
    let f = program.find(ufunc).expect("declared");
    let func = build_reduce_batch(&mut program, f, ty, ty).unwrap();
    let block = build_reduce_loop(&mut program, f, ty, ty).unwrap();
    verify::verify_program(&program).unwrap();
    let mut engine = JitEngine::new().unwrap();
    let compiled = engine.compile(&program, func).unwrap();
    let block = engine.compile(&program, block).unwrap();
    let clif = JitEngine::emit_clif(&program, func, &sources).unwrap();
    let vector = has_vectors(&clif);
    #[cfg(feature = "llvm")]
    let optimized = kern_compiler::backend::llvm::host::compile(&program, func)
        .unwrap_or_else(|e| panic!("LLVM compiles the batch: {e}"));
    Batch {
        #[cfg(feature = "llvm")]
        optimized,
        program,
        func,
        compiled,
        block,
        ty,
        vector,
    }
}

/// The batch's `out` (lanes × blocks, or `out_blocks` columns) or its trap,
/// on the interpreter (`code` None) or compiled `code`.
fn run(
    b: &Batch,
    x: &[ScalarValue],
    layout: Layout,
    out_blocks: usize,
    code: Option<&CompiledFunction>,
) -> Result<Vec<ScalarValue>, String> {
    let mut xs = to_bytes(b.ty, x);
    let mut out = vec![0u8; layout.lanes * out_blocks * b.ty.size_bytes()];
    let args = [
        desc(
            xs.as_mut_ptr(),
            &[layout.lanes, layout.n],
            &[layout.lane_stride, layout.stride],
        ),
        desc(
            out.as_mut_ptr(),
            &[layout.lanes, out_blocks],
            &[out_blocks as isize, 1],
        ),
    ];
    // SAFETY: the descriptors cover the live buffers.
    let trap = unsafe {
        match code {
            Some(code) => match code.call(&args, &mut std::io::sink()) {
                Ok(_) => None,
                Err(CallError::Trap(t)) => Some(format!("{t} at {:?}", t.span)),
                Err(e) => panic!("{e}"),
            },
            None => Interpreter::new(&b.program)
                .call(b.func, &args, &mut std::io::sink())
                .err()
                .map(|t| format!("{t} at {:?}", t.span)),
        }
    };
    match trap {
        Some(t) => Err(t),
        None => Ok(from_bytes(b.ty, &out)),
    }
}

/// Every block of every lane with the compiled scalar block loop.
fn by_block_loop(b: &Batch, x: &[ScalarValue], layout: Layout) -> Vec<ScalarValue> {
    let size = b.ty.size_bytes();
    let mut xs = to_bytes(b.ty, x);
    let blocks = layout.n.div_ceil(BLOCK);
    let mut results = Vec::new();
    for lane in 0..layout.lanes {
        for block in 0..blocks {
            let start = block * BLOCK;
            let len = (layout.n - start).min(BLOCK);
            let first = layout.slot(lane, start) * size;
            let mut out = vec![0u8; size];
            let args = [
                desc(xs[first..].as_mut_ptr(), &[len], &[layout.stride]),
                desc(out.as_mut_ptr(), &[1], &[1]),
            ];
            // SAFETY: the descriptors cover the live buffers.
            unsafe { b.block.call(&args, &mut std::io::sink()) }.unwrap();
            results.extend(from_bytes(b.ty, &out));
        }
    }
    results
}

/// Each tier's batch against the interpreter's (NaN against any NaN) and, when
/// it does not trap, against the scalar block loop bit for bit.
fn check(b: &Batch, x: &[ScalarValue], layout: Layout, out_blocks: usize) {
    let want = run(b, x, layout, out_blocks, None);
    for code in b.tiers() {
        let got = run(b, x, layout, out_blocks, Some(code));
        let ctx = || {
            format!(
                "{} tier, {layout:?}, out {out_blocks} blocks, x {x:?}",
                code.engine()
            )
        };
        match (&want, &got) {
            (Ok(want), Ok(got)) => {
                for (k, (w, g)) in want.iter().zip(got).enumerate() {
                    assert!(
                        w.same_result(*g),
                        "out[{k}]: interpreter {w:?}, jit {g:?}; {}",
                        ctx()
                    );
                }
                let blocks = by_block_loop(b, x, layout);
                if std::ptr::eq(code, &b.compiled) {
                    // One engine: even the NaNs' signs and payloads agree.
                    assert_eq!(
                        bits(got),
                        bits(&blocks),
                        "against the block loop; {}",
                        ctx()
                    );
                } else {
                    // Another engine: the same bits except a NaN's sign and
                    // payload (docs/language.md).
                    for (k, (g, w)) in got.iter().zip(&blocks).enumerate() {
                        assert!(
                            g.same_result(*w),
                            "out[{k}]: {g:?}, block loop {w:?}; {}",
                            ctx()
                        );
                    }
                }
            }
            _ => assert_eq!(&want, &got, "{}", ctx()),
        }
    }
}

/// Lengths around the group of eight, two groups, the block and two blocks.
fn lengths() -> impl Strategy<Value = usize> {
    prop_oneof![1usize..20, 120usize..140, 250usize..270, 1000usize..3000]
}

fn layouts(strides: &'static [isize]) -> impl Strategy<Value = Layout> {
    (1usize..4, lengths(), prop::sample::select(strides))
        .prop_map(|(lanes, n, stride)| Layout::rows(lanes, n, stride))
}

fn data(
    ty: ScalarType,
    strides: &'static [isize],
) -> impl Strategy<Value = (Layout, Vec<ScalarValue>)> {
    layouts(strides).prop_flat_map(move |l| (Just(l), values(ty, l.slots())))
}

#[test]
fn float_and_integer_combiners_that_never_trap_have_the_vector_path() {
    for (ufunc, ty) in VECTORISED.into_iter().chain([("skewi", T::I64)]) {
        assert!(batch(ufunc, ty).vector, "{ufunc}");
    }
    // Division by an element can trap: its guard would fire, so no vector path.
    assert!(!batch("quotient", T::I64).vector);
}

#[test]
fn lengths_around_the_groups_and_the_block_agree_exactly() {
    let add = batch("add64", T::F64);
    let skew = batch("skewi", T::I64);
    for n in [
        1usize, 7, 8, 9, 15, 16, 17, 127, 128, 129, 135, 136, 255, 256, 257,
    ] {
        let x: Vec<ScalarValue> = (0..n)
            .map(|j| ScalarValue::F64(1.0 + j as f64 * 1e-3))
            .collect();
        let blocks = n.div_ceil(BLOCK);
        check(&add, &x, Layout::rows(1, n, 1), blocks);
        let x: Vec<ScalarValue> = (0..n as i64)
            .map(|j| ScalarValue::I64(j * 37 - 11))
            .collect();
        check(&skew, &x, Layout::rows(1, n, 1), blocks);
    }
}

#[test]
fn an_i64_sum_wraps_as_the_documented_semantics_say() {
    let add = batch("addi", T::I64);
    let x = vec![ScalarValue::I64(i64::MAX); 300];
    let got = run(&add, &x, Layout::rows(1, 300, 1), 3, Some(&add.compiled)).unwrap();
    let wrapped = |count: i64| ScalarValue::I64(i64::MAX.wrapping_mul(count));
    assert_eq!(got, vec![wrapped(128), wrapped(128), wrapped(44)]);
    check(&add, &x, Layout::rows(1, 300, 1), 3);
}

#[test]
fn an_out_too_small_takes_the_scalar_path_and_traps_where_it_does() {
    let add = batch("add64", T::F64);
    let x: Vec<ScalarValue> = (0..300).map(|j| ScalarValue::F64(j as f64)).collect();
    check(&add, &x, Layout::rows(1, 300, 1), 2);
    assert!(run(&add, &x, Layout::rows(1, 300, 1), 2, Some(&add.compiled)).is_err());
}

#[test]
fn a_combiner_that_can_trap_runs_the_scalar_path() {
    let q = batch("quotient", T::I64);
    let mut x: Vec<ScalarValue> = (1..=200).map(ScalarValue::I64).collect();
    check(&q, &x, Layout::rows(1, 200, 1), 2);
    x[150] = ScalarValue::I64(0);
    check(&q, &x, Layout::rows(1, 200, 1), 2);
    assert!(run(&q, &x, Layout::rows(1, 200, 1), 2, Some(&q.compiled)).is_err());
}

/// The optimized tier reads contiguous lanes as vectors and keeps the eight
/// accumulators in one: its batch is built with them as a vector
/// (`backend/llvm/host/block_reduce.rs`), whose eight combines LLVM makes one
/// vector add. Lowered from the IR, LLVM's SLP vectoriser packed them into
/// pairs of non-adjacent lanes (`<2 x double>` with shuffles).
#[cfg(feature = "llvm")]
#[test]
fn the_optimized_tier_keeps_the_eight_accumulators_in_one_vector() {
    let add = batch("add64", T::F64);
    let ir = kern_compiler::backend::llvm::host::emit_llvm_ir(&add.program, add.func).unwrap();
    assert!(ir.contains("load <8 x double>"), "no vector load:\n{ir}");
    if !has_256_bit_vectors() {
        println!("skipped the vector add's width: this CPU has no 256-bit vectors");
        return;
    }
    assert!(
        ir.contains("fadd <8 x double>") || ir.contains("fadd <4 x double>"),
        "the eight combines are not one vector add:\n{ir}"
    );
}

#[cfg(all(feature = "llvm", target_arch = "x86_64"))]
fn has_256_bit_vectors() -> bool {
    std::arch::is_x86_feature_detected!("avx")
}

#[cfg(all(feature = "llvm", not(target_arch = "x86_64")))]
fn has_256_bit_vectors() -> bool {
    false
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn contiguous_lanes_take_the_vector_path_and_agree(
        (case, (layout, x)) in (0..VECTORISED.len())
            .prop_flat_map(|c| (Just(c), data(VECTORISED[c].1, &[1])))
    ) {
        let (ufunc, ty) = VECTORISED[case];
        check(&batch(ufunc, ty), &x, layout, layout.n.div_ceil(BLOCK));
    }

    #[test]
    fn strided_lanes_take_the_scalar_path_and_agree((layout, x) in data(T::F64, &[2, 3])) {
        let b = batch("add64", T::F64);
        check(&b, &x, layout, layout.n.div_ceil(BLOCK));
    }
}
