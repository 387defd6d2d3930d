//! Job server hello world: a compiled kern function and a Rust closure run as
//! jobs, their results waited for, a callback on completion.
//!
//! `cargo run --example hello`

use kern::jobs::Server;
use kern::{Module, ScalarValue};

const SOURCE: &str = "fn square(x: i64) -> i64 { x * x }";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut module = Module::from_source("hello.kern", SOURCE)?;
    let square = module.function("square")?;
    let server = Server::new()?;
    println!(
        "Hello, world from kern's job server ({} workers)!",
        server.workers()
    );

    let greeting = server.submit_fn(|| format!("hello from {:?}", std::thread::current().name()));
    greeting.on_complete(|r| println!("callback: the greeting job finished ({})", r.is_ok()));
    println!("{}", greeting.wait()?);

    let jobs: Vec<_> = (1..=10i64).map(|i| server.submit(&square, (i,))).collect();
    let mut total = 0;
    for job in jobs {
        if let Some(ScalarValue::I64(v)) = job.wait()? {
            total += v;
        }
    }
    println!("The sum of the first 10 squares is {total}");
    Ok(())
}
