//! Launching `#[kernel]`s from Rust: every case runs on `cpu`, on `parallel` and
//! in the interpreter (the oracle) and must give the same arrays — exactly, also
//! for atomics on work large enough to be split over the worker pool. Errors
//! (bad arguments, bad launch shapes, out-of-range indices, barriers on cpu) are
//! typed `Err`s, the kernel ones with the kernel's source location.

use kern_runtime::{Arg, Dim3, Error, Module, Target};
use ndarray::{Array1, Array2};

const SOURCE: &str = r#"
#[kernel]
fn vector_add(a: &[f32], b: &[f32], out: &mut [f32]) {
    let i = global_id();
    if i < out.len() {
        out[i] = a[i] + b[i];
    }
}

#[kernel]
fn coordinates(out: &mut [[u32; W]; H]) {
    let x = global_id();
    let y = global_id_y();
    if x < W && y < H {
        out[y][x] = (1000 * y + x) as u32 + (block_idx_y() * 0) as u32;
    }
}

#[kernel]
fn histogram(samples: &[f64], counts: &mut [i32], sums: &mut [f64], wide: &mut [i64], ones: &mut [f32]) {
    let i = global_id();
    if i < samples.len() {
        let bin = (samples[i] * 8.0) as usize;
        atomic_add(&mut counts, bin, 1);
        atomic_add(&mut sums, bin, 0.125);
        atomic_sub(&mut wide, bin, 2);
        atomic_add(&mut ones, bin, 1.0);
    }
}

#[kernel]
fn extremes(x: &[f64], lo: &mut [f64], hi: &mut [f64], ilo: &mut [i32], claimed: &mut [u64]) {
    let i = global_id();
    if i < x.len() {
        atomic_min(&mut lo, 0, x[i]);
        atomic_max(&mut hi, 0, x[i]);
        atomic_min(&mut ilo, 0, (x[i] * 10.0) as i32);
        // Exactly one thread claims the slot; everyone else sees its id.
        atomic_cas(&mut claimed, 0, 0, i as u64 + 1);
        atomic_exchange(&mut claimed, 1, 7);
    }
}

#[kernel]
fn unguarded(x: &mut [f64]) {
    let i = global_id();
    x[i] = 1.0;
}

#[kernel]
fn with_barrier(x: &mut [f32]) {
    let i = global_id();
    let v = x[i];
    sync_threads();
    x[i ^ 1] = v;
}

#[kernel]
fn scaled(x: &mut [f64], factor: f64) {
    let i = global_id();
    if i < x.len() { x[i] = x[i] * factor; }
}

fn not_a_kernel(x: f64) -> f64 { x }
"#;

fn module() -> Module {
    match Module::from_source("kernels.kern", SOURCE) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

/// The ways a launch can run: compiled on each CPU target, and interpreted.
#[derive(Clone, Copy, Debug)]
enum Runner {
    Compiled(Target),
    Interpreter,
}

const RUNNERS: [Runner; 3] = [
    Runner::Compiled(Target::Cpu),
    Runner::Compiled(Target::Parallel),
    Runner::Interpreter,
];

fn launch(
    m: &Module,
    runner: Runner,
    name: &str,
    grid: impl Into<Dim3>,
    block: impl Into<Dim3>,
    args: &mut [Arg<'_>],
) -> Result<(), Error> {
    let k = m.kernel(name)?;
    let out = &mut std::io::sink();
    match runner {
        Runner::Compiled(t) => k.with_target(t).launch(grid, block, args, out),
        Runner::Interpreter => k.interpret(grid, block, args, out),
    }
}

fn samples(n: usize) -> Array1<f64> {
    Array1::from_shape_fn(n, |i| ((i * 7919) % n) as f64 / n as f64)
}

#[test]
fn vector_add_gives_the_same_sums_everywhere() {
    kern_runtime::exec::parallel::set_num_threads(4).unwrap();
    let m = module();
    let n = 100_003;
    let a = Array1::from_shape_fn(n, |i| i as f32 * 0.5);
    let b = Array1::from_shape_fn(n, |i| 1.0 / (i as f32 + 1.0));
    let expected = &a + &b;
    for runner in RUNNERS {
        let mut out = Array1::<f32>::zeros(n);
        let grid = n.div_ceil(256);
        launch(
            &m,
            runner,
            "vector_add",
            grid,
            256,
            &mut [(&a).into(), (&b).into(), (&mut out).into()],
        )
        .unwrap();
        assert_eq!(out, expected, "{runner:?}");
    }
}

#[test]
fn a_two_dimensional_launch_reaches_every_element_once() {
    let m = module();
    let (h, w) = (37, 53);
    let expected = Array2::from_shape_fn((h, w), |(y, x)| (1000 * y + x) as u32);
    for runner in RUNNERS {
        let mut out = Array2::<u32>::zeros((h, w));
        launch(
            &m,
            runner,
            "coordinates",
            (4, 5),
            (16, 8),
            &mut [(&mut out).into()],
        )
        .unwrap();
        assert_eq!(out, expected, "{runner:?}");
    }
}

#[test]
fn atomics_are_exact_when_blocks_run_concurrently() {
    kern_runtime::exec::parallel::set_num_threads(4).unwrap();
    let m = module();
    let n = 1 << 17; // enough threads for the parallel target to split the blocks
    let x = samples(n);
    let mut expected = [0i32; 8];
    for v in &x {
        expected[(v * 8.0) as usize] += 1;
    }
    for runner in RUNNERS {
        let mut counts = Array1::<i32>::zeros(8);
        let mut sums = Array1::<f64>::zeros(8);
        let mut wide = Array1::<i64>::zeros(8);
        let mut ones = Array1::<f32>::zeros(8);
        launch(
            &m,
            runner,
            "histogram",
            n / 128,
            128,
            &mut [
                (&x).into(),
                (&mut counts).into(),
                (&mut sums).into(),
                (&mut wide).into(),
                (&mut ones).into(),
            ],
        )
        .unwrap();
        assert_eq!(counts.to_vec(), expected, "{runner:?}");
        let sums_expected: Vec<f64> = expected.iter().map(|c| *c as f64 * 0.125).collect();
        assert_eq!(sums.to_vec(), sums_expected, "{runner:?}");
        let wide_expected: Vec<i64> = expected.iter().map(|c| -2 * *c as i64).collect();
        assert_eq!(wide.to_vec(), wide_expected, "{runner:?}");
        let ones_expected: Vec<f32> = expected.iter().map(|c| *c as f32).collect();
        assert_eq!(ones.to_vec(), ones_expected, "{runner:?}");
    }
}

#[test]
fn min_max_compare_and_exchange_agree_with_the_interpreter() {
    kern_runtime::exec::parallel::set_num_threads(4).unwrap();
    let m = module();
    let n = 1 << 16;
    let x = samples(n).mapv(|v| v * 3.0 - 1.0);
    let lowest = x.iter().cloned().fold(f64::INFINITY, f64::min);
    let highest = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    for runner in RUNNERS {
        let mut lo = Array1::from_elem(1, f64::INFINITY);
        let mut hi = Array1::from_elem(1, f64::NEG_INFINITY);
        let mut ilo = Array1::from_elem(1, i32::MAX);
        let mut claimed = Array1::<u64>::zeros(2);
        launch(
            &m,
            runner,
            "extremes",
            n / 256,
            256,
            &mut [
                (&x).into(),
                (&mut lo).into(),
                (&mut hi).into(),
                (&mut ilo).into(),
                (&mut claimed).into(),
            ],
        )
        .unwrap();
        assert_eq!((lo[0], hi[0]), (lowest, highest), "{runner:?}");
        assert_eq!(ilo[0], (lowest * 10.0) as i32, "{runner:?}");
        assert!(
            claimed[0] >= 1 && claimed[0] <= n as u64,
            "{runner:?}: {}",
            claimed[0]
        );
        assert_eq!(claimed[1], 7, "{runner:?}");
    }
}

#[test]
fn an_index_out_of_range_is_an_error_at_the_kernel_source() {
    let m = module();
    for runner in RUNNERS {
        let mut x = Array1::<f64>::zeros(100);
        match launch(&m, runner, "unguarded", 2, 64, &mut [(&mut x).into()]) {
            Err(Error::Kernel { trap, rendered }) => {
                assert!(
                    rendered.contains("index out of bounds: the len is 100"),
                    "{rendered}"
                );
                assert!(rendered.contains("kernels.kern:"), "{rendered}");
                assert!(rendered.contains("x[i] = 1.0;"), "{rendered}");
                assert!(trap.span.start > 0);
            }
            other => panic!("{runner:?}: expected a kernel error, got {other:?}"),
        }
    }
}

#[test]
fn a_barrier_is_refused_on_cpu_and_parallel_with_its_location() {
    let m = module();
    for runner in RUNNERS {
        let mut x = Array1::<f32>::zeros(4);
        match launch(&m, runner, "with_barrier", 1, 4, &mut [(&mut x).into()]) {
            Err(Error::Kernel { rendered, .. }) => {
                assert!(rendered.contains("--target cuda"), "{rendered}");
                assert!(rendered.contains("sync_threads();"), "{rendered}");
            }
            other => panic!("{runner:?}: expected a refusal, got {other:?}"),
        }
    }
}

#[test]
fn argument_and_shape_mistakes_are_call_errors() {
    let m = module();
    let mut x = Array1::<f64>::zeros(8);
    let wrong = Array1::<f32>::zeros(8);
    let cases: Vec<(&str, Result<(), Error>)> = vec![
        (
            "count",
            launch(&m, RUNNERS[0], "scaled", 1, 8, &mut [(&mut x).into()]),
        ),
        (
            "scalar type",
            launch(
                &m,
                RUNNERS[0],
                "scaled",
                1,
                8,
                &mut [(&mut x).into(), 2.0f32.into()],
            ),
        ),
        (
            "dtype",
            launch(
                &m,
                RUNNERS[0],
                "vector_add",
                1,
                8,
                &mut [(&wrong).into(), (&wrong).into(), (&mut x).into()],
            ),
        ),
        (
            "zero extent",
            launch(
                &m,
                RUNNERS[0],
                "scaled",
                (1, 0),
                8,
                &mut [(&mut x).into(), 2.0.into()],
            ),
        ),
        (
            "huge block",
            launch(
                &m,
                RUNNERS[1],
                "scaled",
                1,
                (64, 32),
                &mut [(&mut x).into(), 2.0.into()],
            ),
        ),
    ];
    for (what, result) in cases {
        assert!(matches!(result, Err(Error::Call(_))), "{what}: {result:?}");
    }
    assert!(matches!(m.kernel("not_a_kernel"), Err(Error::Call(_))));
    assert!(matches!(m.kernel("missing"), Err(Error::Call(_))));
    let mut m = m;
    let called = m.call_with_arrays(
        "scaled",
        &mut [(&mut x).into(), 2.0.into()],
        &mut std::io::sink(),
    );
    assert!(
        matches!(called, Err(Error::Call(ref msg)) if msg.contains("#[kernel]")),
        "{called:?}"
    );
}

#[test]
fn scalar_arguments_reach_every_thread() {
    let m = module();
    for runner in RUNNERS {
        let mut x = Array1::from_shape_fn(10, |i| i as f64);
        launch(
            &m,
            runner,
            "scaled",
            3,
            4,
            &mut [(&mut x).into(), 2.5.into()],
        )
        .unwrap();
        assert_eq!(
            x,
            Array1::from_shape_fn(10, |i| i as f64 * 2.5),
            "{runner:?}"
        );
    }
}
