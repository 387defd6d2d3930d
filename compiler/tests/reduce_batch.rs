//! The batched reduction loops (`loops::reduce_batch`, what `reduce` and `accumulate`
//! run on the GPU, one thread per iteration) compiled with Cranelift and compared
//! bit for bit with the single-run loops the CPU targets run: the block loop over
//! every block of every lane, level after level as the runtime's blocked
//! reduction does, and the scan loop lane by lane. This is how the batches'
//! indexing is verified on a machine without a GPU.

mod common;

use common::layout::Layout;
use kern_compiler::backend::cranelift::{CompiledFunction, JitEngine};
use kern_compiler::ir::{verify, ArrayDesc, HostArg, Program, ScalarType, MAX_RANK};
use kern_compiler::loops::reduce_batch::{build_reduce_batch, build_scan_batch};
use kern_compiler::loops::reduce_loop::{build_reduce_loop, BLOCK};
use kern_compiler::loops::scan_loop::build_scan_loop;
use kern_compiler::{frontend, SourceMap};
use proptest::prelude::*;

const SOURCE: &str = r#"
#[vectorize(identity = 0)] fn add32(a: f32, b: f32) -> f32 { a + b }
#[vectorize(identity = 0)] fn add64(a: f64, b: f64) -> f64 { a + b }
#[vectorize(identity = "reorderable")] fn max64(a: f64, b: f64) -> f64 { a.max(b) }
#[vectorize(identity = 0)] fn addi(a: i64, b: i64) -> i64 { a + b }
"#;

fn program() -> Program {
    let mut sources = SourceMap::new();
    let file = sources.add("t.kern", SOURCE);
    match frontend::compile(&mut sources, file) {
        Ok(c) => c.program,
        Err(d) => panic!("{}", d.render(&sources)),
    }
}

/// The block loop, its batch, the scan loop and its batch of one ufunc.
#[derive(Clone)]
struct Loops {
    block: CompiledFunction,
    block_of_acc: CompiledFunction,
    batch: CompiledFunction,
    batch_of_acc: CompiledFunction,
    scan: CompiledFunction,
    scan_batch: CompiledFunction,
}

fn loops(ufunc: &str, elem: ScalarType, acc: ScalarType) -> Loops {
    let mut program = program();
    let f = program.find(ufunc).expect("declared");
    let ids = [
        build_reduce_loop(&mut program, f, elem, acc).unwrap(),
        build_reduce_loop(&mut program, f, acc, acc).unwrap(),
        build_reduce_batch(&mut program, f, elem, acc).unwrap(),
        build_reduce_batch(&mut program, f, acc, acc).unwrap(),
        build_scan_loop(&mut program, f, elem, acc).unwrap(),
        build_scan_batch(&mut program, f, elem, acc).unwrap(),
    ];
    verify::verify_program(&program).unwrap();
    let mut engine = JitEngine::new().unwrap();
    let mut compiled = ids
        .map(|id| engine.compile(&program, id).unwrap())
        .into_iter();
    let mut next = || compiled.next().unwrap();
    Loops {
        block: next(),
        block_of_acc: next(),
        batch: next(),
        batch_of_acc: next(),
        scan: next(),
        scan_batch: next(),
    }
}

fn desc<T>(data: *mut T, shape: &[usize], strides: &[isize]) -> HostArg {
    let mut d = ArrayDesc {
        data: data.cast(),
        shape: [0; MAX_RANK],
        strides: [0; MAX_RANK],
    };
    for (k, (&n, &s)) in shape.iter().zip(strides).enumerate() {
        d.shape[k] = n as i64;
        d.strides[k] = s as i64;
    }
    HostArg::Array(d)
}

fn call(f: &CompiledFunction, args: &[HostArg]) {
    // SAFETY: every caller passes descriptors over live vectors it owns.
    unsafe { f.call(args, &mut std::io::sink()) }.unwrap();
}

/// Lanes of `n` elements one after the other, or side by side (`transposed`).
fn layout_of(lanes: usize, n: usize, transposed: bool) -> Layout {
    if transposed {
        Layout::columns(lanes, n)
    } else {
        Layout::rows(lanes, n, 1)
    }
}

/// What `runtime/src/exec/fold.rs` computes: every block of every lane
/// with the block loop, then the block results the same way until one is left.
fn reduce_by_runs<X: Copy, A: Copy + Default>(
    loops: &Loops,
    x: &mut [X],
    layout: Layout,
) -> Vec<A> {
    let blocks = layout.n.div_ceil(BLOCK);
    let mut partials = vec![A::default(); layout.lanes * blocks];
    for lane in 0..layout.lanes {
        for block in 0..blocks {
            let start = block * BLOCK;
            let len = (layout.n - start).min(BLOCK);
            let offset = lane as isize * layout.lane_stride + start as isize * layout.stride;
            let first = x[offset as usize..].as_mut_ptr();
            let out = &mut partials[lane * blocks + block] as *mut A;
            call(
                &loops.block,
                &[desc(first, &[len], &[layout.stride]), desc(out, &[1], &[1])],
            );
        }
    }
    if blocks == 1 {
        return partials;
    }
    let next = layout_of(layout.lanes, blocks, false);
    let level_loops = Loops {
        block: loops.block_of_acc.clone(),
        ..loops.clone()
    };
    reduce_by_runs::<A, A>(&level_loops, &mut partials, next)
}

/// What the `cuda` target computes: one batch call per level, every level's
/// partials the next level's operand.
fn reduce_by_batches<X: Copy, A: Copy + Default>(
    loops: &Loops,
    x: &mut [X],
    layout: Layout,
) -> Vec<A> {
    let blocks = layout.n.div_ceil(BLOCK);
    let mut partials = vec![A::default(); layout.lanes * blocks];
    call(
        &loops.batch,
        &[
            desc(
                x.as_mut_ptr(),
                &[layout.lanes, layout.n],
                &[layout.lane_stride, layout.stride],
            ),
            desc(
                partials.as_mut_ptr(),
                &[layout.lanes, blocks],
                &[blocks as isize, 1],
            ),
        ],
    );
    if blocks == 1 {
        return partials;
    }
    let level_loops = Loops {
        batch: loops.batch_of_acc.clone(),
        ..loops.clone()
    };
    reduce_by_batches::<A, A>(
        &level_loops,
        &mut partials,
        layout_of(layout.lanes, blocks, false),
    )
}

/// `accumulate` lane by lane with the scan loop, and with one batch call.
fn scans<X: Copy, A: Copy + Default>(
    loops: &Loops,
    x: &mut [X],
    seeds: &mut [A],
    layout: Layout,
) -> (Vec<A>, Vec<A>) {
    let n = layout.n;
    let mut by_lanes = vec![A::default(); layout.lanes * n];
    for lane in 0..layout.lanes {
        let first = x[(lane as isize * layout.lane_stride) as usize..].as_mut_ptr();
        call(
            &loops.scan,
            &[
                desc(&mut seeds[lane] as *mut A, &[1], &[1]),
                desc(first, &[n], &[layout.stride]),
                desc(by_lanes[lane * n..].as_mut_ptr(), &[n], &[1]),
            ],
        );
    }
    let mut batched = vec![A::default(); layout.lanes * n];
    call(
        &loops.scan_batch,
        &[
            desc(seeds.as_mut_ptr(), &[layout.lanes], &[1]),
            desc(
                x.as_mut_ptr(),
                &[layout.lanes, n],
                &[layout.lane_stride, layout.stride],
            ),
            desc(batched.as_mut_ptr(), &[layout.lanes, n], &[n as isize, 1]),
        ],
    );
    (by_lanes, batched)
}

fn layouts() -> impl Strategy<Value = Layout> {
    // Lengths around the block size and its multiples, where indexing slips show.
    let n = prop_oneof![1usize..20, 120usize..140, 250usize..270, 1000usize..20_000];
    (1usize..6, n, any::<bool>()).prop_map(|(lanes, n, t)| layout_of(lanes, n, t))
}

fn floats(len: usize) -> impl Strategy<Value = Vec<f64>> {
    // Mixed magnitudes, so a different order gives different rounding.
    prop::collection::vec(
        prop_oneof![-1.0e3f64..1.0e3, -1.0e-3f64..1.0e-3, -1.0e12f64..1.0e12],
        len,
    )
}

fn with_data<T>(
    make: impl Fn(usize) -> BoxedStrategy<Vec<T>>,
) -> impl Strategy<Value = (Layout, Vec<T>)>
where
    T: std::fmt::Debug + Clone + 'static,
{
    layouts().prop_flat_map(move |l| (Just(l), make(l.lanes * l.n)))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]

    #[test]
    fn f32_sums_of_batches_are_the_blocked_sums((layout, data) in with_data(|len| floats(len).boxed())) {
        let loops = loops("add32", ScalarType::F32, ScalarType::F32);
        let mut x: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        let expected: Vec<f32> = reduce_by_runs(&loops, &mut x, layout);
        let actual: Vec<f32> = reduce_by_batches(&loops, &mut x, layout);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&actual), bits(&expected));
    }

    #[test]
    fn f64_sums_and_maxima_of_batches_are_the_blocked_ones((layout, mut x) in with_data(|len| floats(len).boxed())) {
        let bits = |v: &[f64]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        for ufunc in ["add64", "max64"] {
            let loops = loops(ufunc, ScalarType::F64, ScalarType::F64);
            let expected: Vec<f64> = reduce_by_runs(&loops, &mut x, layout);
            let actual: Vec<f64> = reduce_by_batches(&loops, &mut x, layout);
            prop_assert_eq!(bits(&actual), bits(&expected), "{}", ufunc);
        }
    }

    #[test]
    fn i32_elements_summed_in_i64_agree((layout, mut x) in with_data(|len| prop::collection::vec(any::<i32>(), len).boxed())) {
        let loops = loops("addi", ScalarType::I32, ScalarType::I64);
        let expected: Vec<i64> = reduce_by_runs(&loops, &mut x, layout);
        let actual: Vec<i64> = reduce_by_batches(&loops, &mut x, layout);
        prop_assert_eq!(&actual, &expected);
        let wrapping: Vec<i64> = (0..layout.lanes)
            .map(|l| (0..layout.n).fold(0i64, |s, j| {
                s.wrapping_add(x[(l as isize * layout.lane_stride + j as isize * layout.stride) as usize] as i64)
            }))
            .collect();
        prop_assert_eq!(actual, wrapping);
    }

    #[test]
    fn batched_scans_are_the_scan_loop_lane_by_lane((layout, data) in with_data(|len| floats(len).boxed())) {
        let layout = Layout { n: layout.n.min(2000), ..layout };
        let loops = loops("add32", ScalarType::F32, ScalarType::F32);
        let mut x: Vec<f32> = data.iter().map(|&v| v as f32).collect();
        let mut seeds: Vec<f32> = (0..layout.lanes).map(|l| l as f32 * 0.25).collect();
        let (by_lanes, batched) = scans(&loops, &mut x, &mut seeds, layout);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
        prop_assert_eq!(bits(&batched), bits(&by_lanes));
    }
}

#[test]
fn a_float_sum_by_blocks_differs_from_a_left_fold_only_in_rounding() {
    // The documented difference (docs/ufuncs.md): the pairwise-block order rounds
    // differently from `x0 + x1 + ..`, but is as close to the exact sum or closer.
    let loops = loops("add32", ScalarType::F32, ScalarType::F32);
    let mut x: Vec<f32> = (0..100_000).map(|i| 1.0 + (i % 7) as f32 * 1e-4).collect();
    let layout = layout_of(1, x.len(), false);
    let blocked: Vec<f32> = reduce_by_batches(&loops, &mut x, layout);
    let left_fold = x.iter().fold(0.0f32, |a, &b| a + b);
    let exact: f64 = x.iter().map(|&v| v as f64).sum();
    assert_ne!(blocked[0], left_fold);
    assert!((blocked[0] as f64 - exact).abs() <= (left_fold as f64 - exact).abs());
}
