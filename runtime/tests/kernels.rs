//! `#[kernel]` launches from Rust: one suite of cases, instantiated at the bottom
//! for every way a launch can run — compiled on `cpu`, `parallel`, `mpi` (the whole
//! launch on every rank) and `cuda` (one GPU thread per kernel thread), and in the
//! interpreter (the oracle). Every runner gives the same arrays: exactly for
//! integer and atomic results, also when the work is split over workers or blocks;
//! bit for bit for float elementwise results. Errors (bad arguments, bad launch
//! shapes, out-of-range indices) are typed `Err`s, the kernel ones with the
//! kernel's file:line:col. Barriers and shared arrays run on `cuda` and are
//! refused, with their location, everywhere else.
//!
//! A runner this machine lacks (no GPU) skips each case, saying why.

use kern_runtime::{Arg, Dim3, Error, Module, Target};
use ndarray::{s, Array1, Array2};

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
fn histogram(samples: &[f64], counts: &mut [i32], sums: &mut [f64], wide: &mut [i64], ones: &mut [f32], unsigned: &mut [u64], lo: &mut [f32], hi: &mut [i64]) {
    let i = global_id();
    if i < samples.len() {
        let bin = (samples[i] * 8.0) as usize;
        atomic_add(&mut counts, bin, 1);
        atomic_add(&mut sums, bin, 0.125);
        atomic_sub(&mut wide, bin, 2);
        atomic_add(&mut ones, bin, 1.0);
        atomic_sub(&mut unsigned, bin, 3);
        atomic_min(&mut lo, bin, samples[i] as f32);
        atomic_max(&mut hi, bin, i as i64);
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

// Each block sums its 256 elements in shared memory (a tree of halvings with a
// barrier per level); thread 0 stores the block's sum and adds it to the total.
#[kernel]
fn block_sum(x: &[i64], sums: &mut [i64], total: &mut [i64]) {
    let partial: &mut [i64; 256] = shared_array();
    let t = thread_idx();
    let i = global_id();
    if i < x.len() {
        partial[t] = x[i];
    }
    sync_threads();
    let mut width = block_dim() / 2;
    while width > 0 {
        if t < width {
            partial[t] += partial[t + width];
        }
        sync_threads();
        width /= 2;
    }
    if t == 0 {
        sums[block_idx()] = partial[0];
        atomic_add(&mut total, 0, partial[0]);
    }
}

// Every thread of a 2-d block counts itself into the block's shared counters:
// correct only when every block starts from zeroed shared memory.
#[kernel]
fn count_per_block(counts: &mut [[u32; 2]; B]) {
    let seen: &mut [u32; 2] = shared_array();
    atomic_add(&mut seen, 0, 1);
    atomic_add(&mut seen, 1, (thread_idx_y() + 1) as u32);
    sync_threads();
    if thread_idx() == 0 && thread_idx_y() == 0 {
        counts[block_idx()][0] = seen[0];
        counts[block_idx()][1] = seen[1];
    }
}

// Threads past the end trap; the rest of the block waits at a barrier the
// trapping threads never reach, which must not hang a GPU launch.
#[kernel]
fn unguarded_before_a_barrier(x: &mut [f64]) {
    let i = global_id();
    x[i] = 1.0;
    sync_threads();
}

#[kernel]
fn scaled(x: &mut [f64], factor: f64) {
    let i = global_id();
    if i < x.len() { x[i] = x[i] * factor; }
}

fn not_a_kernel(x: f64) -> f64 { x }
"#;

/// One way to run a launch: compiled for a target, or interpreted.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Runner {
    Compiled(Target),
    Interpreter,
}

impl Runner {
    /// Barriers and shared arrays need a GPU's blocks; every other runner refuses
    /// them with the kernel's location.
    fn has_blocks(self) -> bool {
        self == Runner::Compiled(Target::Cuda)
    }

    fn check_available(self) -> Result<(), Error> {
        match self {
            Runner::Compiled(t) => t.check_available(),
            Runner::Interpreter => Ok(()),
        }
    }
}

fn module() -> Module {
    match Module::from_source("kernels.kern", SOURCE) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

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

/// `file:line:col` of `text` in the body of kernel `kernel`.
fn location_of(kernel: &str, text: &str) -> String {
    let start = SOURCE
        .lines()
        .position(|l| l.starts_with(&format!("fn {kernel}(")))
        .unwrap_or_else(|| panic!("no kernel `{kernel}`"));
    let (line, column) = SOURCE
        .lines()
        .enumerate()
        .skip(start)
        .find_map(|(i, l)| l.find(text).map(|c| (i + 1, c + 1)))
        .unwrap_or_else(|| panic!("`{text}` is not in `{kernel}`"));
    format!("kernels.kern:{line}:{column}")
}

/// The rendered error of a refused barrier or shared array, which must point at
/// the kernel source.
fn assert_refused_for_blocks(runner: Runner, result: Result<(), Error>, construct: &str) {
    match result {
        Err(Error::Kernel { rendered, .. }) => {
            assert!(rendered.contains("--target cuda"), "{runner:?}: {rendered}");
            assert!(rendered.contains(construct), "{runner:?}: {rendered}");
        }
        other => panic!("{runner:?}: expected a refusal of `{construct}`, got {other:?}"),
    }
}

fn vector_add_gives_the_same_bits_everywhere(runner: Runner) {
    let m = module();
    let n = 100_003;
    let a = Array1::from_shape_fn(n, |i| (i as f32).sin());
    let b = Array1::from_shape_fn(n, |i| 1.0 / (i as f32 + 0.5));
    let mut out = Array1::<f32>::from_elem(n, -1.0);
    launch(
        &m,
        runner,
        "vector_add",
        n.div_ceil(256),
        256,
        &mut [(&a).into(), (&b).into(), (&mut out).into()],
    )
    .unwrap_or_else(|e| panic!("{runner:?}: {e}"));
    for i in 0..n {
        assert_eq!(
            out[i].to_bits(),
            (a[i] + b[i]).to_bits(),
            "{runner:?} [{i}]"
        );
    }
    // A strided input view, a reversed one and a strided output reach the same sums.
    let wide = Array2::from_shape_fn((n, 2), |(i, _)| a[i]);
    let column = wide.column(0);
    let reversed = b.slice(s![..;-1]);
    let mut strided = Array2::<f32>::zeros((n, 3));
    let mut out_column = strided.column_mut(1);
    launch(
        &m,
        runner,
        "vector_add",
        n.div_ceil(128),
        128,
        &mut [
            (&column).into(),
            (&reversed).into(),
            (&mut out_column).into(),
        ],
    )
    .unwrap_or_else(|e| panic!("{runner:?}: {e}"));
    for i in [0, 1, n / 2, n - 1] {
        assert_eq!(strided[[i, 1]].to_bits(), (a[i] + b[n - 1 - i]).to_bits());
        assert_eq!((strided[[i, 0]], strided[[i, 2]]), (0.0, 0.0));
    }
}

fn a_two_dimensional_launch_reaches_every_element_once(runner: Runner) {
    let m = module();
    let (h, w) = (37, 53);
    let expected = Array2::from_shape_fn((h, w), |(y, x)| (1000 * y + x) as u32);
    let mut out = Array2::<u32>::zeros((h, w));
    launch(
        &m,
        runner,
        "coordinates",
        (4, 5),
        (16, 8),
        &mut [(&mut out).into()],
    )
    .unwrap_or_else(|e| panic!("{runner:?}: {e}"));
    assert_eq!(out, expected, "{runner:?}");
}

fn atomics_are_exact_when_blocks_run_concurrently(runner: Runner) {
    let m = module();
    let n = 1 << 17; // enough threads for the parallel target to split the blocks
    let x = samples(n);
    let mut counts = Array1::<i32>::zeros(8);
    let mut sums = Array1::<f64>::zeros(8);
    let mut wide = Array1::<i64>::zeros(8);
    let mut ones = Array1::<f32>::zeros(8);
    let mut unsigned = Array1::<u64>::zeros(8);
    let mut lo = Array1::<f32>::from_elem(8, f32::INFINITY);
    let mut hi = Array1::<i64>::from_elem(8, -1);
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
            (&mut unsigned).into(),
            (&mut lo).into(),
            (&mut hi).into(),
        ],
    )
    .unwrap_or_else(|e| panic!("{runner:?}: {e}"));
    for bin in 0..8 {
        let members: Vec<usize> = (0..n).filter(|&i| (x[i] * 8.0) as usize == bin).collect();
        let count = members.len();
        assert_eq!(counts[bin], count as i32, "{runner:?} bin {bin}");
        // Multiples of 1/8 below 2^53 (and small integers in f32): every partial
        // sum is exact in any order.
        assert_eq!(sums[bin], count as f64 * 0.125, "{runner:?} bin {bin}");
        assert_eq!(wide[bin], -2 * count as i64, "{runner:?} bin {bin}");
        assert_eq!(ones[bin], count as f32, "{runner:?} bin {bin}");
        assert_eq!(
            unsigned[bin],
            0u64.wrapping_sub(3 * count as u64),
            "{runner:?} bin {bin}"
        );
        let lowest = members
            .iter()
            .map(|&i| x[i] as f32)
            .fold(f32::INFINITY, f32::min);
        assert_eq!(lo[bin], lowest, "{runner:?} bin {bin}");
        assert_eq!(
            hi[bin],
            *members.iter().max().unwrap() as i64,
            "{runner:?} bin {bin}"
        );
    }
}

fn min_max_compare_and_exchange_are_exact(runner: Runner) {
    let m = module();
    let n = 1 << 16;
    let x = samples(n).mapv(|v| v * 3.0 - 1.0);
    let lowest = x.iter().cloned().fold(f64::INFINITY, f64::min);
    let highest = x.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
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
    .unwrap_or_else(|e| panic!("{runner:?}: {e}"));
    assert_eq!((lo[0], hi[0]), (lowest, highest), "{runner:?}");
    assert_eq!(ilo[0], (lowest * 10.0) as i32, "{runner:?}");
    assert!(
        claimed[0] >= 1 && claimed[0] <= n as u64,
        "{runner:?}: {}",
        claimed[0]
    );
    assert_eq!(claimed[1], 7, "{runner:?}");
}

fn an_index_out_of_range_is_an_error_at_the_kernel_source(runner: Runner) {
    let m = module();
    let mut x = Array1::<f64>::zeros(100);
    match launch(&m, runner, "unguarded", 2, 64, &mut [(&mut x).into()]) {
        Err(Error::Kernel { trap, rendered }) => {
            assert!(
                rendered.contains("index out of bounds: the len is 100"),
                "{runner:?}: {rendered}"
            );
            let at = location_of("unguarded", "x[i] = 1.0;");
            assert!(rendered.contains(&at), "{runner:?}: {rendered}");
            assert!(trap.span.start > 0);
        }
        other => panic!("{runner:?}: expected a kernel error, got {other:?}"),
    }
}

fn a_trap_before_a_barrier_neither_hangs_nor_escapes(runner: Runner) {
    let m = module();
    let mut x = Array1::<f64>::zeros(100);
    // 128 threads for 100 elements.
    let result = launch(
        &m,
        runner,
        "unguarded_before_a_barrier",
        1,
        128,
        &mut [(&mut x).into()],
    );
    if !runner.has_blocks() {
        return assert_refused_for_blocks(runner, result, "sync_threads();");
    }
    match result {
        Err(Error::Kernel { rendered, .. }) => {
            assert!(
                rendered.contains("index out of bounds: the len is 100"),
                "{rendered}"
            );
            let at = location_of("unguarded_before_a_barrier", "x[i] = 1.0;");
            assert!(rendered.contains(&at), "{rendered}");
        }
        other => panic!("{runner:?}: expected a kernel error, got {other:?}"),
    }
    // A trapping device launch copies nothing back.
    assert!(x.iter().all(|&v| v == 0.0));
}

fn barriers_order_a_block(runner: Runner) {
    let m = module();
    let mut x = Array1::from_shape_fn(8, |i| i as f32);
    let result = launch(&m, runner, "with_barrier", 2, 4, &mut [(&mut x).into()]);
    if !runner.has_blocks() {
        return assert_refused_for_blocks(runner, result, "sync_threads();");
    }
    result.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(x.to_vec(), [1.0, 0.0, 3.0, 2.0, 5.0, 4.0, 7.0, 6.0]);
}

fn a_block_sum_in_shared_memory_gives_the_exact_integer_sums(runner: Runner) {
    let m = module();
    // Not a multiple of 256: the last block is partial (its missing elements
    // count as the shared array's zeros).
    let n: usize = 256 * 37 + 101;
    let blocks = n.div_ceil(256);
    let x = Array1::from_shape_fn(n, |i| (i as i64 * 7919) % 100_003 - 50_000);
    let mut sums = Array1::<i64>::zeros(blocks);
    let mut total = Array1::<i64>::zeros(1);
    let result = launch(
        &m,
        runner,
        "block_sum",
        blocks,
        256,
        &mut [(&x).into(), (&mut sums).into(), (&mut total).into()],
    );
    if !runner.has_blocks() {
        return assert_refused_for_blocks(runner, result, "shared_array()");
    }
    result.unwrap_or_else(|e| panic!("{e}"));
    for b in 0..blocks {
        let expected: i64 = x.iter().skip(256 * b).take(256).sum();
        assert_eq!(sums[b], expected, "block {b}");
    }
    assert_eq!(total[0], x.sum());
}

fn every_block_starts_with_zeroed_shared_memory(runner: Runner) {
    let m = module();
    // Far more blocks than a GPU runs at once: blocks reuse shared memory.
    let blocks = 4096;
    let mut counts = Array2::<u32>::zeros((blocks, 2));
    let result = launch(
        &m,
        runner,
        "count_per_block",
        blocks,
        (16, 4),
        &mut [(&mut counts).into()],
    );
    if !runner.has_blocks() {
        return assert_refused_for_blocks(runner, result, "shared_array()");
    }
    result.unwrap_or_else(|e| panic!("{e}"));
    // 64 threads; the y-weights 1..=4 sixteen times each.
    for b in 0..blocks {
        assert_eq!((counts[[b, 0]], counts[[b, 1]]), (64, 160), "block {b}");
    }
}

fn argument_and_shape_mistakes_are_call_errors(runner: Runner) {
    let m = module();
    let mut x = Array1::<f64>::zeros(8);
    let wrong = Array1::<f32>::zeros(8);
    let (a, b) = (Array1::<f32>::zeros(8), Array1::<f32>::zeros(8));
    let mut out = Array1::<f32>::zeros(8);
    let cases: Vec<(&str, Result<(), Error>)> = vec![
        (
            "count",
            launch(&m, runner, "scaled", 1, 8, &mut [(&mut x).into()]),
        ),
        (
            "scalar type",
            launch(
                &m,
                runner,
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
                runner,
                "vector_add",
                1,
                8,
                &mut [(&wrong).into(), (&wrong).into(), (&mut x).into()],
            ),
        ),
    ];
    for (what, result) in cases {
        assert!(
            matches!(result, Err(Error::Call(_))),
            "{runner:?} {what}: {result:?}"
        );
    }
    // Launch shapes no target runs, then the limits of CUDA's grids and blocks.
    let mut shapes = vec![
        ((1, 0, 1), (8, 1, 1), "at least 1"),
        ((0, 1, 1), (8, 1, 1), "at least 1"),
        ((1, 1, 1), (64, 32, 1), "at most 1024 threads"),
        ((1, 1, 1), (2048, 1, 1), "at most 1024 threads"),
    ];
    if runner.has_blocks() {
        shapes.extend([
            ((1, 1, 1), (1, 1, 65), "at most 64 along z"),
            ((1, 70_000, 1), (1, 1, 1), "at most 65535 along y"),
            ((1 << 31, 1, 1), (1, 1, 1), "along x"),
        ]);
    }
    for (grid, block, message) in shapes {
        let (grid, block) = (
            Dim3::new(grid.0, grid.1, grid.2),
            Dim3::new(block.0, block.1, block.2),
        );
        let result = launch(
            &m,
            runner,
            "vector_add",
            grid,
            block,
            &mut [(&a).into(), (&b).into(), (&mut out).into()],
        );
        match result {
            Err(Error::Call(text)) => {
                assert!(text.contains(message), "{runner:?} {grid} {block}: {text}")
            }
            other => panic!("{runner:?} {grid} {block}: expected a call error, got {other:?}"),
        }
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

fn scalar_arguments_reach_every_thread(runner: Runner) {
    let m = module();
    let mut x = Array1::from_shape_fn(10, |i| i as f64);
    launch(
        &m,
        runner,
        "scaled",
        3,
        4,
        &mut [(&mut x).into(), 2.5.into()],
    )
    .unwrap_or_else(|e| panic!("{runner:?}: {e}"));
    assert_eq!(
        x,
        Array1::from_shape_fn(10, |i| i as f64 * 2.5),
        "{runner:?}"
    );
}

/// Without a driver or a device, a `cuda` launch is a clear `TargetUnavailable`.
#[cfg(feature = "cuda")]
#[test]
fn without_a_gpu_a_cuda_launch_is_unavailable_with_a_reason() {
    if Target::Cuda.check_available().is_ok() {
        return; // A GPU is present: the cuda suite below covers it.
    }
    let m = module();
    let (a, b) = (Array1::<f32>::zeros(4), Array1::<f32>::zeros(4));
    let mut out = Array1::<f32>::zeros(4);
    let err = launch(
        &m,
        Runner::Compiled(Target::Cuda),
        "vector_add",
        1,
        4,
        &mut [(&a).into(), (&b).into(), (&mut out).into()],
    )
    .unwrap_err();
    assert!(matches!(err, Error::TargetUnavailable(_)), "{err:?}");
}

macro_rules! kernel_suite {
    ($runner_mod:ident, $runner:expr, [$($case:ident),* $(,)?]) => {
        mod $runner_mod {
            #[allow(unused_imports)]
            use kern_runtime::Target;
            use super::Runner;
            $(
                #[test]
                fn $case() {
                    let runner: Runner = $runner;
                    if let Err(reason) = runner.check_available() {
                        eprintln!("skipped {} on {runner:?}: {reason}", stringify!($case));
                        return;
                    }
                    // Several workers even on a one-core machine, so work is split.
                    kern_runtime::exec::parallel::set_num_threads(4).unwrap();
                    super::$case(runner);
                }
            )*
        }
    };
}

macro_rules! for_every_runner {
    ($($runner_mod:ident => $runner:expr),*) => {$(
        kernel_suite!($runner_mod, $runner, [
            vector_add_gives_the_same_bits_everywhere,
            a_two_dimensional_launch_reaches_every_element_once,
            atomics_are_exact_when_blocks_run_concurrently,
            min_max_compare_and_exchange_are_exact,
            an_index_out_of_range_is_an_error_at_the_kernel_source,
            a_trap_before_a_barrier_neither_hangs_nor_escapes,
            barriers_order_a_block,
            a_block_sum_in_shared_memory_gives_the_exact_integer_sums,
            every_block_starts_with_zeroed_shared_memory,
            argument_and_shape_mistakes_are_call_errors,
            scalar_arguments_reach_every_thread,
        ]);
    )*};
}

for_every_runner!(
    cpu => Runner::Compiled(Target::Cpu),
    parallel => Runner::Compiled(Target::Parallel),
    interpreter => Runner::Interpreter
);
#[cfg(feature = "cuda")]
for_every_runner!(cuda => Runner::Compiled(Target::Cuda));
// Under `mpirun -n N` with `--test-threads=1` every rank runs the same cases in
// the same order (see `.ci/run`).
#[cfg(feature = "mpi")]
for_every_runner!(mpi => Runner::Compiled(Target::Mpi));
