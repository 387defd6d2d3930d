//! `#[kernel]`s on the `cuda` target, from the Rust API. Without a driver or a
//! device a launch is a clear `TargetUnavailable` error; with a GPU, a kernel
//! gives the CPU's arrays (vector_add bit for bit, integer sums and atomics
//! exactly), shared arrays and barriers work (and start zeroed in every block),
//! and errors — an index out of range, a launch shape CUDA cannot run — come back
//! as typed `Err`s, the kernel ones with the kernel's file:line:col.
//!
//! The GPU cases skip, saying why, on a machine without a usable GPU.
#![cfg(feature = "cuda")]

use kern_runtime::{Arg, Dim3, Error, Module, Target};
use ndarray::{Array1, Array2};

const SOURCE: &str = r#"#[kernel]
fn vector_add(a: &[f32], b: &[f32], out: &mut [f32]) {
    let i = global_id();
    if i < out.len() {
        out[i] = a[i] + b[i];
    }
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

#[kernel]
fn histogram(samples: &[f64], counts: &mut [i32], wide: &mut [u64], totals: &mut [f64], lo: &mut [f32], hi: &mut [i64]) {
    let i = global_id();
    if i < samples.len() {
        let bin = (samples[i] * 8.0) as usize;
        atomic_add(&mut counts, bin, 1);
        atomic_sub(&mut wide, bin, 3);
        atomic_add(&mut totals, bin, 0.125);
        atomic_min(&mut lo, bin, samples[i] as f32);
        atomic_max(&mut hi, bin, i as i64);
    }
}

#[kernel]
fn unguarded(x: &mut [f64]) {
    let i = global_id();
    x[i] = 1.0;
    sync_threads();
}
"#;

fn module() -> Module {
    match Module::from_source("kernels_cuda.kern", SOURCE) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

/// `None` (after printing why) when this machine has no usable GPU.
fn gpu_or_skip(test: &str) -> Option<()> {
    match Target::Cuda.check_available() {
        Ok(()) => Some(()),
        Err(reason) => {
            eprintln!("skipped {test}: {reason}");
            None
        }
    }
}

fn launch(
    m: &Module,
    target: Target,
    name: &str,
    grid: impl Into<Dim3>,
    block: impl Into<Dim3>,
    args: &mut [Arg<'_>],
) -> Result<(), Error> {
    m.kernel(name)?
        .with_target(target)
        .launch(grid, block, args, &mut std::io::sink())
}

fn samples(n: usize) -> Array1<f64> {
    Array1::from_shape_fn(n, |i| ((i * 7919) % n) as f64 / n as f64)
}

#[test]
fn without_a_gpu_a_cuda_launch_is_unavailable_with_a_reason() {
    if Target::Cuda.check_available().is_ok() {
        return; // A GPU is present: the other tests cover it.
    }
    let m = module();
    let (a, b) = (Array1::<f32>::zeros(4), Array1::<f32>::zeros(4));
    let mut out = Array1::<f32>::zeros(4);
    let err = launch(
        &m,
        Target::Cuda,
        "vector_add",
        1,
        4,
        &mut [(&a).into(), (&b).into(), (&mut out).into()],
    )
    .unwrap_err();
    assert!(matches!(err, Error::TargetUnavailable(_)), "{err:?}");
}

#[test]
fn vector_add_on_the_gpu_equals_the_cpu() {
    if gpu_or_skip("vector_add_on_the_gpu_equals_the_cpu").is_none() {
        return;
    }
    let m = module();
    let n = 100_003;
    let a = Array1::from_shape_fn(n, |i| (i as f32).sin());
    let b = Array1::from_shape_fn(n, |i| 1.0 / (i as f32 + 0.5));
    let on = |target| {
        let mut out = Array1::<f32>::from_elem(n, -1.0);
        let grid = n.div_ceil(256);
        launch(
            &m,
            target,
            "vector_add",
            grid,
            256,
            &mut [(&a).into(), (&b).into(), (&mut out).into()],
        )
        .unwrap_or_else(|e| panic!("{target}: {e}"));
        out
    };
    let (cpu, gpu) = (on(Target::Cpu), on(Target::Cuda));
    assert!(
        cpu.iter()
            .zip(&gpu)
            .all(|(c, g)| c.to_bits() == g.to_bits()),
        "the GPU's sums differ from the CPU's"
    );
    // A strided, reversed input view and a strided output reach the same answer.
    let wide = Array2::from_shape_fn((n, 2), |(i, _)| a[i]);
    let column = wide.column(0);
    let reversed = b.slice(ndarray::s![..;-1]);
    let mut strided = Array2::<f32>::zeros((n, 3));
    let mut out_column = strided.column_mut(1);
    launch(
        &m,
        Target::Cuda,
        "vector_add",
        n.div_ceil(128),
        128,
        &mut [
            (&column).into(),
            (&reversed).into(),
            (&mut out_column).into(),
        ],
    )
    .unwrap();
    for i in [0, 1, n / 2, n - 1] {
        assert_eq!(strided[[i, 1]].to_bits(), (a[i] + b[n - 1 - i]).to_bits());
        assert_eq!(strided[[i, 0]], 0.0);
    }
}

#[test]
fn a_block_sum_in_shared_memory_gives_the_exact_integer_sums() {
    if gpu_or_skip("a_block_sum_in_shared_memory_gives_the_exact_integer_sums").is_none() {
        return;
    }
    let m = module();
    // Not a multiple of 256: the last block is partial (its missing elements
    // count as the shared array's zeros).
    let n: usize = 256 * 37 + 101;
    let blocks = n.div_ceil(256);
    let x = Array1::from_shape_fn(n, |i| (i as i64 * 7919) % 100_003 - 50_000);
    let mut sums = Array1::<i64>::zeros(blocks);
    let mut total = Array1::<i64>::zeros(1);
    launch(
        &m,
        Target::Cuda,
        "block_sum",
        blocks,
        256,
        &mut [(&x).into(), (&mut sums).into(), (&mut total).into()],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for b in 0..blocks {
        let expected: i64 = x.iter().skip(256 * b).take(256).sum();
        assert_eq!(sums[b], expected, "block {b}");
    }
    assert_eq!(total[0], x.sum());
}

#[test]
fn every_block_starts_with_zeroed_shared_memory() {
    if gpu_or_skip("every_block_starts_with_zeroed_shared_memory").is_none() {
        return;
    }
    let m = module();
    // Far more blocks than the GPU runs at once: blocks reuse shared memory.
    let blocks = 4096;
    let mut counts = Array2::<u32>::zeros((blocks, 2));
    launch(
        &m,
        Target::Cuda,
        "count_per_block",
        blocks,
        (16, 4),
        &mut [(&mut counts).into()],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    // 64 threads; the y-weights 1..=4 sixteen times each.
    for b in 0..blocks {
        assert_eq!((counts[[b, 0]], counts[[b, 1]]), (64, 160), "block {b}");
    }
}

#[test]
fn an_atomic_histogram_on_the_gpu_is_exact() {
    if gpu_or_skip("an_atomic_histogram_on_the_gpu_is_exact").is_none() {
        return;
    }
    let m = module();
    let n = 1 << 18;
    let x = samples(n);
    let mut counts = Array1::<i32>::zeros(8);
    let mut wide = Array1::<u64>::zeros(8);
    let mut totals = Array1::<f64>::zeros(8);
    let mut lo = Array1::<f32>::from_elem(8, f32::INFINITY);
    let mut hi = Array1::<i64>::from_elem(8, -1);
    launch(
        &m,
        Target::Cuda,
        "histogram",
        n / 256,
        256,
        &mut [
            (&x).into(),
            (&mut counts).into(),
            (&mut wide).into(),
            (&mut totals).into(),
            (&mut lo).into(),
            (&mut hi).into(),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for bin in 0..8 {
        let members: Vec<usize> = (0..n).filter(|&i| (x[i] * 8.0) as usize == bin).collect();
        let count = members.len();
        assert_eq!(counts[bin], count as i32, "bin {bin}");
        assert_eq!(wide[bin], 0u64.wrapping_sub(3 * count as u64), "bin {bin}");
        // Multiples of 1/8 below 2^53: every partial sum is exact in any order.
        assert_eq!(totals[bin], count as f64 * 0.125, "bin {bin}");
        let lowest = members
            .iter()
            .map(|&i| x[i] as f32)
            .fold(f32::INFINITY, f32::min);
        assert_eq!(lo[bin], lowest, "bin {bin}");
        assert_eq!(hi[bin], *members.iter().max().unwrap() as i64, "bin {bin}");
    }
}

#[test]
fn an_index_out_of_range_on_the_gpu_is_an_error_at_the_kernel_source() {
    if gpu_or_skip("an_index_out_of_range_on_the_gpu_is_an_error_at_the_kernel_source").is_none() {
        return;
    }
    let m = module();
    let mut x = Array1::<f64>::zeros(100);
    // 128 threads for 100 elements; the rest of the block waits at a barrier the
    // trapping threads never reach, which must not hang the launch.
    match launch(
        &m,
        Target::Cuda,
        "unguarded",
        1,
        128,
        &mut [(&mut x).into()],
    ) {
        Err(Error::Kernel { trap, rendered }) => {
            assert!(
                rendered.contains("index out of bounds: the len is 100"),
                "{rendered}"
            );
            // `x[i] = 1.0;` starts at column 5 of its line.
            let line = SOURCE
                .lines()
                .position(|l| l.contains("x[i] = 1.0;"))
                .unwrap()
                + 1;
            assert!(
                rendered.contains(&format!("kernels_cuda.kern:{line}:5")),
                "{rendered}"
            );
            assert!(trap.span.start > 0);
        }
        other => panic!("expected a kernel error, got {other:?}"),
    }
    // A trapping launch leaves the `&mut` arrays as they were.
    assert!(x.iter().all(|&v| v == 0.0));
}

#[test]
fn launch_shapes_cuda_cannot_run_are_call_errors_not_crashes() {
    if gpu_or_skip("launch_shapes_cuda_cannot_run_are_call_errors_not_crashes").is_none() {
        return;
    }
    let m = module();
    let (a, b) = (Array1::<f32>::zeros(8), Array1::<f32>::zeros(8));
    let mut out = Array1::<f32>::zeros(8);
    for (grid, block, message) in [
        (
            Dim3::new(1, 1, 1),
            Dim3::new(2048, 1, 1),
            "at most 1024 threads",
        ),
        (
            Dim3::new(1, 1, 1),
            Dim3::new(1, 1, 65),
            "at most 64 along z",
        ),
        (
            Dim3::new(1, 70_000, 1),
            Dim3::new(1, 1, 1),
            "at most 65535 along y",
        ),
        (Dim3::new(1 << 31, 1, 1), Dim3::new(1, 1, 1), "along x"),
        (Dim3::new(0, 1, 1), Dim3::new(8, 1, 1), "at least 1"),
    ] {
        let result = launch(
            &m,
            Target::Cuda,
            "vector_add",
            grid,
            block,
            &mut [(&a).into(), (&b).into(), (&mut out).into()],
        );
        match result {
            Err(Error::Call(text)) => assert!(text.contains(message), "{grid} {block}: {text}"),
            other => panic!("{grid} {block}: expected a call error, got {other:?}"),
        }
    }
}
