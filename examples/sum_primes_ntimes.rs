//! sum_primes repeated: `rounds` rounds of the 8 uneven inputs submitted at once,
//! waited for as one group, with callbacks collecting the sums; then the worker
//! count is halved while a second batch runs. Prints per-worker statistics.
//!
//! `cargo run --release --example sum_primes_ntimes [rounds]`

use std::sync::{Arc, Mutex};
use std::time::Instant;

use kern::jobs::{Group, Server};
use kern::{Module, ScalarValue};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rounds: i64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(4);
    let mut module = Module::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sum_primes.kern"
    ))?;
    let sum_primes = module.function("sum_primes")?;
    let server = Server::new()?;
    println!(
        "{} rounds of 8 jobs on {} workers",
        rounds,
        server.workers()
    );

    let total = Arc::new(Mutex::new(0i64));
    let submit_batch = |group: &Group| {
        for _ in 0..rounds {
            for step in 1..=8i64 {
                let job = server
                    .submit(&sum_primes, (step * 100_000,))
                    .in_group(group);
                let total = total.clone();
                job.on_complete(move |result| {
                    if let Ok(Some(ScalarValue::I64(sum))) = result {
                        *total.lock().unwrap() += sum;
                    }
                });
            }
        }
    };

    let started = Instant::now();
    let first = Group::new();
    submit_batch(&first);
    let summary = server.wait_group(&first);
    println!(
        "batch 1: {} jobs ({} failed) in {:.3} s",
        summary.finished,
        summary.failed,
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let second = Group::new();
    submit_batch(&second);
    server.set_workers(server.workers().div_ceil(2))?;
    let summary = server.wait_group(&second);
    println!(
        "batch 2 (workers halved to {} while it ran): {} jobs in {:.3} s",
        server.workers(),
        summary.finished,
        started.elapsed().as_secs_f64()
    );
    // The last callbacks may still run when the group is done: wait for them.
    server.wait_all();
    println!("Sum of all sums: {}", total.lock().unwrap());
    server.print_stats();
    Ok(())
}
