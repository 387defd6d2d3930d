//! Parallel Python's sum_primes demo on kern's job server: the sum of the primes
//! below n for n = 100_000, 200_000, ..., 800_000, one job each. The jobs are
//! uneven (larger n take longer); the server's shared queue balances them.
//!
//! `cargo run --release --example sum_primes [workers]`

use std::time::Instant;

use kern::jobs::{Server, Template};
use kern::Module;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut module = Module::load(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/sum_primes.kern"
    ))?;
    let sum_primes = module.function("sum_primes")?;
    let server = match std::env::args().nth(1).and_then(|s| s.parse().ok()) {
        Some(workers) => Server::with_workers(workers)?,
        None => Server::new()?,
    };
    println!("Starting the job server with {} workers", server.workers());

    let started = Instant::now();
    let template = Template::kern(&server, &sum_primes);
    let inputs: Vec<i64> = (1..=8).map(|k| k * 100_000).collect();
    let jobs = template.submit_all(inputs.iter().map(|&n| (n,)));
    for (n, job) in inputs.iter().zip(jobs) {
        let sum = job.wait()?.expect("sum_primes returns a value");
        println!("Sum of primes below {n} is {sum}");
    }
    println!("Time elapsed: {:.3} s", started.elapsed().as_secs_f64());
    server.print_stats();
    Ok(())
}
