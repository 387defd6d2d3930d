//! The job server (issue 4): overhead per job, and dynamic load balancing against
//! a static split of uneven jobs.
//!
//! * `overhead/round_trip`: submit one empty closure and wait for it (latency).
//! * `overhead/batch_of_1000`: submit 1000 empty closures, then wait for all; the
//!   time per job is the median over 1000 (goal: under 5 µs).
//! * `balance/*`: Parallel Python's sum_primes inputs, n = 100_000 ..= 800_000
//!   (larger n take longer), as compiled kern code on one server: `dynamic`
//!   submits one job per n (a free worker takes the next), `static` gives each
//!   worker one job with a contiguous share of the inputs (what a fixed split
//!   does).
//! * `balance_sleeping/*`: the same comparison with jobs that *sleep* 10, 20, ..,
//!   80 ms instead of computing: they need no free core, so the scheduling policy
//!   shows even on a loaded machine (2 workers: 200 ms dynamic vs 260 ms static
//!   in theory).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use kern::jobs::Server;
use kern::{Module, ScalarValue};

const SUM_PRIMES: &str = include_str!("../examples/sum_primes.kern");

fn overhead(c: &mut Criterion) {
    let server = Server::new().expect("a job server");
    let mut group = c.benchmark_group("overhead");
    group.bench_function("round_trip", |b| {
        b.iter(|| server.submit_fn(|| black_box(1u64)).wait().unwrap())
    });
    group.throughput(Throughput::Elements(1000));
    group.bench_function("batch_of_1000", |b| {
        b.iter(|| {
            let jobs: Vec<_> = (0..1000u64)
                .map(|i| server.submit_fn(move || black_box(i)))
                .collect();
            jobs.into_iter().map(|j| j.wait().unwrap()).sum::<u64>()
        })
    });
    group.finish();
}

fn balance(c: &mut Criterion) {
    let mut module =
        Module::from_source("sum_primes.kern", SUM_PRIMES).expect("the example compiles");
    let sum_primes = module.function("sum_primes").expect("sum_primes");
    let workers = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    let server = Server::with_workers(workers).expect("a job server");
    let inputs: Vec<i64> = (1..=8).map(|k| k * 100_000).collect();
    let expected: i64 = inputs
        .iter()
        .map(
            |&n| match sum_primes.call(&[ScalarValue::I64(n)], &mut std::io::sink()) {
                Ok(Some(ScalarValue::I64(v))) => v,
                other => panic!("sum_primes({n}): {other:?}"),
            },
        )
        .sum();

    let mut group = c.benchmark_group(format!("balance/{workers}_workers"));
    group.sample_size(10);
    group.bench_function("dynamic", |b| {
        b.iter(|| {
            let jobs: Vec<_> = inputs
                .iter()
                .map(|&n| server.submit(&sum_primes, (n,)))
                .collect();
            let total: i64 = jobs
                .into_iter()
                .map(|j| match j.wait().unwrap() {
                    Some(ScalarValue::I64(v)) => v,
                    other => panic!("{other:?}"),
                })
                .sum();
            assert_eq!(total, expected);
        })
    });
    group.bench_function("static", |b| {
        b.iter(|| {
            let share = inputs.len().div_ceil(workers);
            let jobs: Vec<_> = inputs
                .chunks(share)
                .map(|chunk| {
                    let chunk = chunk.to_vec();
                    let f = sum_primes.clone();
                    server.submit_fn(move || {
                        chunk
                            .iter()
                            .map(
                                |&n| match f.call(&[ScalarValue::I64(n)], &mut std::io::sink()) {
                                    Ok(Some(ScalarValue::I64(v))) => v,
                                    other => panic!("{other:?}"),
                                },
                            )
                            .sum::<i64>()
                    })
                })
                .collect();
            let total: i64 = jobs.into_iter().map(|j| j.wait().unwrap()).sum();
            assert_eq!(total, expected);
        })
    });
    group.finish();
}

fn balance_sleeping(c: &mut Criterion) {
    let workers = 2;
    let server = Server::with_workers(workers).expect("a job server");
    let naps: Vec<u64> = (1..=8).map(|k| k * 10).collect();
    let nap = |ms: u64| std::thread::sleep(Duration::from_millis(ms));
    let mut group = c.benchmark_group("balance_sleeping/2_workers");
    group.sample_size(10);
    group.bench_function("dynamic", |b| {
        b.iter(|| {
            let jobs: Vec<_> = naps
                .iter()
                .map(|&ms| server.submit_fn(move || nap(ms)))
                .collect();
            jobs.into_iter().for_each(|j| j.wait().unwrap());
        })
    });
    group.bench_function("static", |b| {
        b.iter(|| {
            let jobs: Vec<_> = naps
                .chunks(naps.len().div_ceil(workers))
                .map(|chunk| {
                    let chunk = chunk.to_vec();
                    server.submit_fn(move || chunk.iter().for_each(|&ms| nap(ms)))
                })
                .collect();
            jobs.into_iter().for_each(|j| j.wait().unwrap());
        })
    });
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    targets = overhead, balance, balance_sleeping
}
criterion_main!(benches);
