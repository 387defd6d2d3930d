//! The cuda target on a GPU (issue 5): saxpy f32 against the device's measured
//! device-to-device copy bandwidth (goal: ≥ 85 % of it), the same call with host
//! arrays (transfers included), and the first call's compile latency (PTX from
//! LLVM, module load, one launch on 1000 elements).
//!
//! Needs `--features cuda` and a GPU; without one it prints why and measures
//! nothing. `KERN_BENCH_CUDA_N` sets the element count (default 10^8). The peers
//! (Numba's `@vectorize(target='cuda')`, CuPy's `ElementwiseKernel`) are measured
//! by `benches/peers_cuda.py` on the same machine.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kern::ndarray::Array1;
use kern::{to_device, DType, DeviceArray, Module, Target};

const SAXPY: &str = "#[vectorize]\nfn saxpy(a: f32, x: f32, y: f32) -> f32 { a * x + y }\n";

fn elements() -> usize {
    std::env::var("KERN_BENCH_CUDA_N")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100_000_000)
}

fn gpu_benches(c: &mut Criterion) {
    if let Err(e) = Target::Cuda.check_available() {
        eprintln!("skipping the cuda benchmarks: {e}");
        return;
    }
    let n = elements();
    let module = Module::from_source("saxpy.kern", SAXPY).expect("saxpy compiles");
    let saxpy = module
        .ufunc("saxpy")
        .expect("a ufunc")
        .with_target(Target::Cuda);
    let x = Array1::from_shape_fn(n, |i| (i % 1000) as f32 * 1e-3);
    let y = Array1::from_shape_fn(n, |i| (i % 7) as f32);
    let dx = to_device(&x).expect("x on the GPU");
    let dy = to_device(&y).expect("y on the GPU");
    let mut dout = DeviceArray::zeros(DType::F32, &[n]).expect("an output on the GPU");

    let mut copy = c.benchmark_group(format!("cuda_copy_f32_{n}"));
    copy.throughput(Throughput::Bytes(2 * 4 * n as u64));
    copy.bench_function("device to device", |b| {
        b.iter(|| dout.copy_from(&dx).expect("copies"))
    });
    copy.finish();

    let mut group = c.benchmark_group(format!("cuda_saxpy_f32_{n}"));
    group.throughput(Throughput::Bytes(3 * 4 * n as u64));
    group.bench_function("device arrays", |b| {
        b.iter(|| {
            saxpy
                .call_on_device_out(&[2.0f32.into(), (&dx).into(), (&dy).into()], &mut dout)
                .expect("runs")
        })
    });
    group.sample_size(10);
    group.bench_function("host arrays (with transfers)", |b| {
        b.iter(|| {
            saxpy
                .call(&[2.0f32.into(), (&x).into(), (&y).into()])
                .expect("runs")
        })
    });
    group.finish();

    let small_x = Array1::from_shape_fn(1000, |i| i as f32);
    let small_y = Array1::from_shape_fn(1000, |i| (i % 7) as f32);
    let mut first = c.benchmark_group("cuda_first_call_1000");
    first.sample_size(20);
    first.bench_function("compile + load + run", |b| {
        b.iter(|| {
            // A fresh module has no compiled loops: the call builds the loop,
            // compiles it to PTX, loads it and launches it.
            let fresh = Module::from_source("saxpy.kern", SAXPY).expect("compiles");
            let f = fresh.ufunc("saxpy").unwrap().with_target(Target::Cuda);
            f.call(&[2.0f32.into(), (&small_x).into(), (&small_y).into()])
                .expect("runs")
        })
    });
    first.bench_function("later call (cached)", |b| {
        b.iter(|| {
            saxpy
                .call(&[2.0f32.into(), (&small_x).into(), (&small_y).into()])
                .expect("runs")
        })
    });
    first.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = gpu_benches
}
criterion_main!(benches);
