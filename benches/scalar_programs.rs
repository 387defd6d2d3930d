//! Run time of scalar kern programs against the same algorithms in plain Rust,
//! measured side by side in one run. Goal (issue 2): kern within 1.3× of rustc
//! `--release`.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use kern::{Module, ScalarValue};

const SUM_PRIMES: &str = include_str!("../examples/sum_primes.kern");
const MIDPOINT: &str = include_str!("../examples/midpoint_integration.kern");

fn rust_is_prime(n: i64) -> bool {
    if n < 2 {
        return false;
    }
    if n % 2 == 0 {
        return n == 2;
    }
    let mut i = 3;
    while i * i <= n {
        if n % i == 0 {
            return false;
        }
        i += 2;
    }
    true
}

fn rust_sum_primes(n: i64) -> i64 {
    (2..n).filter(|&k| rust_is_prime(k)).sum()
}

fn rust_integrate(n: i64) -> f64 {
    let h = 1.0 / n as f64;
    let mut sum = 0.0;
    for i in 0..n {
        let x = h * (i as f64 + 0.5);
        sum += 4.0 / (1.0 + x * x);
    }
    sum * h
}

fn scalar_programs(c: &mut Criterion) {
    let mut sum_primes = Module::from_source("sum_primes.kern", SUM_PRIMES).expect("valid");
    let mut midpoint = Module::from_source("midpoint.kern", MIDPOINT).expect("valid");
    let sink = &mut std::io::sink();

    let n_primes = 200_000;
    let kern_primes = sum_primes
        .call("sum_primes", &[ScalarValue::I64(n_primes)], sink)
        .expect("runs");
    assert_eq!(
        kern_primes,
        Some(ScalarValue::I64(rust_sum_primes(n_primes)))
    );

    let mut group = c.benchmark_group("sum_primes_200k");
    group.sample_size(20);
    group.bench_function("kern", |b| {
        b.iter(|| {
            sum_primes
                .call("sum_primes", &[ScalarValue::I64(black_box(n_primes))], sink)
                .expect("runs")
        })
    });
    group.bench_function("rust", |b| b.iter(|| rust_sum_primes(black_box(n_primes))));
    group.finish();

    let n_intervals = 10_000_000;
    let mut group = c.benchmark_group("midpoint_integration_1e7");
    group.sample_size(20);
    group.bench_function("kern", |b| {
        b.iter(|| {
            midpoint
                .call(
                    "integrate",
                    &[ScalarValue::I64(black_box(n_intervals))],
                    sink,
                )
                .expect("runs")
        })
    });
    group.bench_function("rust", |b| {
        b.iter(|| rust_integrate(black_box(n_intervals)))
    });
    group.finish();
}

criterion_group!(benches, scalar_programs);
criterion_main!(benches);
