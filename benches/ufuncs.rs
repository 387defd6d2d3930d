//! Ufunc throughput against plain Rust baselines measured in the same run
//! (issue 3's goals; figures and ratios go in BENCHMARKS.md):
//!
//! * saxpy f32 and sumarrays f64 at 10^7 elements, against a plain Rust STREAM
//!   triad (`a[i] = b[i] + s * c[i]`) — goal ≥ 90% of its bandwidth;
//! * discriminant f64 at 10^7;
//! * `exp(-x*x) * sin(x) + ln_1p(abs(x))` f64 at 10^7 against the same loop in
//!   Rust calling std's libm per element — goal ≥ 2× faster;
//! * `exp(x) + ln(abs(x))` f32 at 10^7 against Rust's f32 libm per element (the
//!   f32 stdlib functions computed in f32, four lanes at a time);
//! * allocating calls against calls with `out` — goal within 1.3×;
//! * `parallel` against `cpu` for the compute-bound transcendental ufunc — goal
//!   ≥ 1.8× on 2 cores.
//!
//! Sizes can be overridden with `KERN_BENCH_N` (elements).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use kern::ndarray::Array1;
use kern::{Module, Target};

const SOURCE: &str = r#"
#[vectorize]
fn saxpy(a: f32, x: f32, y: f32) -> f32 { a * x + y }

#[vectorize]
fn add(a: f64, b: f64) -> f64 { a + b }

#[vectorize]
fn discriminant<T: Float>(a: T, b: T, c: T) -> T { b * b - 4.0 * a * c }

#[vectorize]
fn wave(x: f64) -> f64 { (-x * x).exp() * x.sin() + x.abs().ln_1p() }

#[vectorize]
fn exp_ln(x: f32) -> f32 { x.exp() + x.abs().ln() }
"#;

fn size() -> usize {
    std::env::var("KERN_BENCH_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000)
}

fn rust_triad(a: &mut [f64], b: &[f64], c: &[f64], s: f64) {
    for ((a, b), c) in a.iter_mut().zip(b).zip(c) {
        *a = b + s * c;
    }
}

fn memory_bound(c: &mut Criterion) {
    let n = size();
    let module = Module::from_source("bench.kern", SOURCE).expect("valid");
    let mut group = c.benchmark_group("memory_bound");
    group.sample_size(20);

    let b64 = Array1::from_shape_fn(n, |i| i as f64);
    let c64 = Array1::from_shape_fn(n, |i| (i % 7) as f64);
    let mut a64 = Array1::<f64>::zeros(n);
    group.throughput(Throughput::Bytes((3 * 8 * n) as u64));
    group.bench_function(BenchmarkId::new("rust_stream_triad_f64", n), |bench| {
        bench.iter(|| {
            rust_triad(
                a64.as_slice_mut().unwrap(),
                b64.as_slice().unwrap(),
                c64.as_slice().unwrap(),
                3.0,
            );
            black_box(&a64);
        })
    });
    let add = module.ufunc("add").unwrap();
    group.bench_function(BenchmarkId::new("kern_sumarrays_f64_out", n), |bench| {
        bench.iter(|| {
            add.call_out(&[(&b64).into(), (&c64).into()], &mut a64)
                .unwrap()
        })
    });
    group.bench_function(BenchmarkId::new("kern_sumarrays_f64_alloc", n), |bench| {
        bench.iter(|| black_box(add.call(&[(&b64).into(), (&c64).into()]).unwrap()))
    });

    let x32 = Array1::from_shape_fn(n, |i| (i % 1000) as f32 * 1e-3);
    let y32 = Array1::from_shape_fn(n, |i| (i % 7) as f32);
    let mut out32 = Array1::<f32>::zeros(n);
    group.throughput(Throughput::Bytes((3 * 4 * n) as u64));
    group.bench_function(BenchmarkId::new("rust_saxpy_f32", n), |bench| {
        bench.iter(|| {
            // Slices, not ndarray iterators, so rustc vectorises the loop.
            let (x, y) = (x32.as_slice().unwrap(), y32.as_slice().unwrap());
            for ((o, x), y) in out32.as_slice_mut().unwrap().iter_mut().zip(x).zip(y) {
                *o = 2.0 * x + y;
            }
            black_box(&out32);
        })
    });
    let saxpy = module.ufunc("saxpy").unwrap();
    group.bench_function(BenchmarkId::new("kern_saxpy_f32_out", n), |bench| {
        bench.iter(|| {
            saxpy
                .call_out(&[2.0f32.into(), (&x32).into(), (&y32).into()], &mut out32)
                .unwrap()
        })
    });
    group.bench_function(BenchmarkId::new("kern_saxpy_f32_alloc", n), |bench| {
        bench.iter(|| {
            black_box(
                saxpy
                    .call(&[2.0f32.into(), (&x32).into(), (&y32).into()])
                    .unwrap(),
            )
        })
    });
    group.finish();
}

fn compute_bound(c: &mut Criterion) {
    let n = size();
    let module = Module::from_source("bench.kern", SOURCE).expect("valid");
    let mut group = c.benchmark_group("compute_bound");
    group.sample_size(10);
    group.throughput(Throughput::Elements(n as u64));

    let a = Array1::from_shape_fn(n, |i| 1.0 + (i % 10) as f64);
    let b = Array1::from_shape_fn(n, |i| 5.0 + (i % 13) as f64);
    let cc = Array1::from_shape_fn(n, |i| (i % 17) as f64 * 0.25);
    let mut out = Array1::<f64>::zeros(n);
    group.bench_function(BenchmarkId::new("rust_discriminant_f64", n), |bench| {
        bench.iter(|| {
            for i in 0..n {
                out[i] = b[i] * b[i] - 4.0 * a[i] * cc[i];
            }
            black_box(&out);
        })
    });
    let disc = module.ufunc("discriminant").unwrap();
    group.bench_function(BenchmarkId::new("kern_discriminant_f64", n), |bench| {
        bench.iter(|| {
            disc.call_out(&[(&a).into(), (&b).into(), (&cc).into()], &mut out)
                .unwrap()
        })
    });

    let x = Array1::from_shape_fn(n, |i| (i as f64 / n as f64 - 0.5) * 20.0);
    group.bench_function(BenchmarkId::new("rust_libm_wave_f64", n), |bench| {
        bench.iter(|| {
            for (o, &v) in out.iter_mut().zip(&x) {
                *o = (-v * v).exp() * v.sin() + v.abs().ln_1p();
            }
            black_box(&out);
        })
    });
    for target in [Target::Cpu, Target::Parallel] {
        let wave = module.ufunc("wave").unwrap().with_target(target);
        group.bench_function(
            BenchmarkId::new(format!("kern_wave_f64_{target}"), n),
            |bench| bench.iter(|| wave.call_out(&[(&x).into()], &mut out).unwrap()),
        );
    }

    let x32 = Array1::from_shape_fn(n, |i| (i as f32 / n as f32 - 0.5) * 20.0);
    let mut out32 = Array1::<f32>::zeros(n);
    group.bench_function(BenchmarkId::new("rust_libm_exp_ln_f32", n), |bench| {
        bench.iter(|| {
            for (o, &v) in out32.iter_mut().zip(&x32) {
                *o = v.exp() + v.abs().ln();
            }
            black_box(&out32);
        })
    });
    let exp_ln = module.ufunc("exp_ln").unwrap();
    group.bench_function(BenchmarkId::new("kern_exp_ln_f32", n), |bench| {
        bench.iter(|| exp_ln.call_out(&[(&x32).into()], &mut out32).unwrap())
    });
    group.finish();
}

criterion_group!(benches, memory_bound, compute_bound);
criterion_main!(benches);
