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
//! has the vector path exactly where it should.

use kern_compiler::backend::cranelift::{CallError, CompiledFunction, JitEngine};
use kern_compiler::interp::Interpreter;
use kern_compiler::ir::{verify, ArrayDesc, FuncId, HostArg, Program, ScalarType, ScalarValue};
use kern_compiler::loops::reduce_batch::build_reduce_batch;
use kern_compiler::loops::reduce_loop::{build_reduce_loop, BLOCK};
use kern_compiler::{frontend, SourceMap};
use proptest::prelude::*;

use ScalarType as T;

const SOURCE: &str = r#"
#[vectorize(identity = 0)] fn add32(a: f32, b: f32) -> f32 { a + b }
#[vectorize(identity = 0)] fn add64(a: f64, b: f64) -> f64 { a + b }
#[vectorize(identity = 1)] fn mul64(a: f64, b: f64) -> f64 { a * b }
#[vectorize(identity = "reorderable")] fn max64(a: f64, b: f64) -> f64 { a.max(b) }
#[vectorize(identity = "reorderable")] fn min32(a: f32, b: f32) -> f32 { a.min(b) }
#[vectorize(identity = "reorderable")] fn larger(a: f64, b: f64) -> f64 { if a > b { a } else { b } }
#[vectorize(identity = 0)] fn skew(a: f64, b: f64) -> f64 { 2.0 * a + b }
#[vectorize(identity = 0)] fn addi(a: i64, b: i64) -> i64 { a + b }
#[vectorize(identity = 0)] fn addi32(a: i32, b: i32) -> i32 { a + b }
#[vectorize(identity = 0)] fn skewi(a: i64, b: i64) -> i64 { 2 * a + b }
#[vectorize(identity = 0)] fn quotient(a: i64, b: i64) -> i64 { a + 1000 / b }
"#;

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
}

fn batch(ufunc: &str, ty: ScalarType) -> Batch {
    let mut sources = SourceMap::new();
    let file = sources.add("t.kern", SOURCE);
    let mut program = match frontend::compile(&mut sources, file) {
        Ok(c) => c.program,
        Err(d) => panic!("{}", d.render(&sources)),
    };
    let f = program.find(ufunc).expect("declared");
    let func = build_reduce_batch(&mut program, f, ty, ty).unwrap();
    let block = build_reduce_loop(&mut program, f, ty, ty).unwrap();
    verify::verify_program(&program).unwrap();
    let mut engine = JitEngine::new().unwrap();
    let compiled = engine.compile(&program, func).unwrap();
    let block = engine.compile(&program, block).unwrap();
    let clif = JitEngine::emit_clif(&program, func, &sources).unwrap();
    let vector = ["f64x2", "f32x4", "i64x2", "i32x4"]
        .iter()
        .any(|t| clif.contains(t));
    Batch {
        program,
        func,
        compiled,
        block,
        ty,
        vector,
    }
}

/// `lanes` lanes of `n` elements stored in 8-byte slots: element `j` of lane
/// `l` at slot `l * lane_stride + j * stride` (a 4-byte type in the low half).
#[derive(Clone, Copy, Debug)]
struct Layout {
    lanes: usize,
    n: usize,
    lane_stride: isize,
    stride: isize,
}

impl Layout {
    /// Lanes one after the other, contiguous (the vector path), or with every
    /// element `stride` apart.
    fn rows(lanes: usize, n: usize, stride: isize) -> Layout {
        Layout {
            lanes,
            n,
            lane_stride: n as isize * stride,
            stride,
        }
    }

    fn slots(&self) -> usize {
        self.lanes * self.n * self.stride as usize
    }
}

/// A descriptor over `data` with element strides; `size`-byte elements packed
/// as the layout says.
fn desc(data: &mut [u8], shape: [usize; 2], strides: [isize; 2]) -> HostArg {
    let mut d = ArrayDesc {
        data: data.as_mut_ptr(),
        shape: Default::default(),
        strides: Default::default(),
    };
    for k in 0..2 {
        d.shape[k] = shape[k] as i64;
        d.strides[k] = strides[k] as i64;
    }
    HostArg::Array(d)
}

fn to_bytes(ty: ScalarType, values: &[ScalarValue]) -> Vec<u8> {
    let size = ty.size_bytes();
    values
        .iter()
        .flat_map(|v| v.to_bits().to_le_bytes()[..size].to_vec())
        .collect()
}

fn from_bytes(ty: ScalarType, bytes: &[u8]) -> Vec<ScalarValue> {
    bytes
        .chunks_exact(ty.size_bytes())
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            ScalarValue::from_bits(ty, u64::from_le_bytes(b))
        })
        .collect()
}

/// The batch's `out` (lanes × blocks, or `out_blocks` columns) or its trap,
/// on the interpreter or the JIT.
fn run(
    b: &Batch,
    x: &[ScalarValue],
    layout: Layout,
    out_blocks: usize,
    jit: bool,
) -> Result<Vec<ScalarValue>, String> {
    let mut xs = to_bytes(b.ty, x);
    let mut out = vec![0u8; layout.lanes * out_blocks * b.ty.size_bytes()];
    let args = [
        desc(
            &mut xs,
            [layout.lanes, layout.n],
            [layout.lane_stride, layout.stride],
        ),
        desc(
            &mut out,
            [layout.lanes, out_blocks],
            [out_blocks as isize, 1],
        ),
    ];
    // SAFETY: the descriptors cover the live buffers.
    let trap = unsafe {
        if jit {
            match b.compiled.call(&args, &mut std::io::sink()) {
                Ok(_) => None,
                Err(CallError::Trap(t)) => Some(format!("{t} at {:?}", t.span)),
                Err(e) => panic!("{e}"),
            }
        } else {
            Interpreter::new(&b.program)
                .call(b.func, &args, &mut std::io::sink())
                .err()
                .map(|t| format!("{t} at {:?}", t.span))
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
            let first = (lane as isize * layout.lane_stride + start as isize * layout.stride)
                as usize
                * size;
            let mut out = vec![0u8; size];
            let mut d = ArrayDesc {
                data: xs[first..].as_mut_ptr(),
                shape: Default::default(),
                strides: Default::default(),
            };
            d.shape[0] = len as i64;
            d.strides[0] = layout.stride as i64;
            let args = [HostArg::Array(d), {
                let mut o = d;
                o.data = out.as_mut_ptr();
                o.shape[0] = 1;
                o.strides[0] = 1;
                HostArg::Array(o)
            }];
            // SAFETY: the descriptors cover the live buffers.
            unsafe { b.block.call(&args, &mut std::io::sink()) }.unwrap();
            results.extend(from_bytes(b.ty, &out));
        }
    }
    results
}

/// The JIT's batch against the interpreter's (NaN against any NaN) and, when
/// it does not trap, against the scalar block loop bit for bit.
fn check(b: &Batch, x: &[ScalarValue], layout: Layout, out_blocks: usize) {
    let want = run(b, x, layout, out_blocks, false);
    let got = run(b, x, layout, out_blocks, true);
    let ctx = || format!("{layout:?}, out {out_blocks} blocks, x {x:?}");
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
            let bits = |v: &[ScalarValue]| v.iter().map(|s| s.to_bits()).collect::<Vec<_>>();
            assert_eq!(
                bits(got),
                bits(&blocks),
                "against the block loop; {}",
                ctx()
            );
        }
        _ => assert_eq!(want, got, "{}", ctx()),
    }
}

/// Values of `ty` with the edge cases of its kind.
fn values(ty: ScalarType, len: usize) -> BoxedStrategy<Vec<ScalarValue>> {
    let element: BoxedStrategy<ScalarValue> = match ty {
        T::F64 | T::F32 => prop_oneof![
            4 => -1.0e3f64..1.0e3,
            2 => -1.0e-3f64..1.0e-3,
            2 => -1.0e12f64..1.0e12,
            1 => prop::sample::select(vec![
                0.0,
                -0.0,
                f64::NAN,
                f64::INFINITY,
                f64::NEG_INFINITY,
                f64::MAX,
                f64::MIN_POSITIVE / 4.0,
            ]),
        ]
        .prop_map(move |v| match ty {
            T::F32 => ScalarValue::F32(v as f32),
            _ => ScalarValue::F64(v),
        })
        .boxed(),
        T::I32 => prop_oneof![any::<i32>(), -3i32..3]
            .prop_map(ScalarValue::I32)
            .boxed(),
        _ => prop_oneof![any::<i64>(), -3i64..3, Just(i64::MAX), Just(i64::MIN)]
            .prop_map(ScalarValue::I64)
            .boxed(),
    };
    prop::collection::vec(element, len).boxed()
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

/// The ufuncs with a vector path, with their type.
const VECTORISED: [(&str, ScalarType); 9] = [
    ("add32", T::F32),
    ("add64", T::F64),
    ("mul64", T::F64),
    ("max64", T::F64),
    ("min32", T::F32),
    ("larger", T::F64),
    ("skew", T::F64),
    ("addi", T::I64),
    ("addi32", T::I32),
];

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
    let got = run(&add, &x, Layout::rows(1, 300, 1), 3, true).unwrap();
    let wrapped = |count: i64| ScalarValue::I64(i64::MAX.wrapping_mul(count));
    assert_eq!(got, vec![wrapped(128), wrapped(128), wrapped(44)]);
    check(&add, &x, Layout::rows(1, 300, 1), 3);
}

#[test]
fn an_out_too_small_takes_the_scalar_path_and_traps_where_it_does() {
    let add = batch("add64", T::F64);
    let x: Vec<ScalarValue> = (0..300).map(|j| ScalarValue::F64(j as f64)).collect();
    check(&add, &x, Layout::rows(1, 300, 1), 2);
    assert!(run(&add, &x, Layout::rows(1, 300, 1), 2, true).is_err());
}

#[test]
fn a_combiner_that_can_trap_runs_the_scalar_path() {
    let q = batch("quotient", T::I64);
    let mut x: Vec<ScalarValue> = (1..=200).map(ScalarValue::I64).collect();
    check(&q, &x, Layout::rows(1, 200, 1), 2);
    x[150] = ScalarValue::I64(0);
    check(&q, &x, Layout::rows(1, 200, 1), 2);
    assert!(run(&q, &x, Layout::rows(1, 200, 1), 2, true).is_err());
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
