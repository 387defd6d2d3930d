//! First-call latency of a `#[kern::vectorize]` function against its later calls.
//!
//! Goal (issue 4): the first call — build the module from the source the macro
//! captured, compile the f32 loop, run it on 1000 elements — under 1 ms.
//! `first call` measures exactly what the expansion's first call does
//! (`saxpy::compile_fresh()` is the uncached build behind `saxpy::handle()`);
//! `later call` is the cached handle. The stdlib's one-time parse (per process)
//! is paid before measuring, as a long-running program would.

use criterion::{criterion_group, criterion_main, Criterion};
use kern::ndarray::Array1;

#[kern::vectorize]
fn saxpy(a: f32, x: f32, y: f32) -> f32 {
    a * x + y
}

fn first_call_latency(c: &mut Criterion) {
    let x = Array1::from_shape_fn(1000, |i| i as f32);
    let y = Array1::from_shape_fn(1000, |i| (i % 7) as f32);
    saxpy(2.0f32, &x, &y).expect("saxpy runs");
    let mut group = c.benchmark_group("vectorize_saxpy_1000");
    group.bench_function("first call (compile + run)", |b| {
        b.iter(|| {
            let fresh = saxpy::compile_fresh().expect("compiles");
            fresh
                .call(&[2.0f32.into(), (&x).into(), (&y).into()])
                .expect("runs")
        })
    });
    group.bench_function("later call (cached)", |b| {
        b.iter(|| saxpy(2.0f32, &x, &y).expect("runs"))
    });
    group.finish();
}

criterion_group!(benches, first_call_latency);
criterion_main!(benches);
