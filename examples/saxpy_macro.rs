//! saxpy with the attribute macro: `#[kern::vectorize]` on a Rust function, called
//! like one, on `cpu` (its declared target) and `parallel` (overridden per call);
//! checked against plain Rust and timed. `saxpy.rs` does the same through the
//! `Module` API from kern source text.
//!
//! `cargo run --release --example saxpy_macro [n]`

use std::time::Instant;

use kern::ndarray::Array1;
use kern::Target;

#[kern::vectorize]
fn saxpy(a: f32, x: f32, y: f32) -> f32 {
    a * x + y
}

fn main() -> Result<(), kern::Error> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let x = Array1::from_shape_fn(n, |i| (i % 1000) as f32 * 0.001);
    let y = Array1::from_shape_fn(n, |i| (i % 7) as f32);
    let a = 2.0f32;
    let expected: Array1<f32> = x.iter().zip(&y).map(|(x, y)| a * x + y).collect();

    // The first call builds the module from the source the macro captured and
    // compiles the f32 loop; later calls reuse both.
    let tiny = Array1::<f32>::ones(1000);
    let started = Instant::now();
    saxpy(a, &tiny, &tiny)?;
    let first_call = started.elapsed();

    let started = Instant::now();
    let on_cpu = saxpy(a, &x, &y)?;
    let t_cpu = started.elapsed();

    let parallel = saxpy::on(Target::Parallel)?;
    parallel.call(&[a.into(), (&tiny).into(), (&tiny).into()])?;
    let mut on_parallel = Array1::<f32>::zeros(n);
    let started = Instant::now();
    parallel.call_out(&[a.into(), (&x).into(), (&y).into()], &mut on_parallel)?;
    let t_parallel = started.elapsed();

    assert_eq!(
        on_cpu.as_array::<f32>(),
        Some(&expected.clone().into_dyn()),
        "cpu vs Rust"
    );
    assert_eq!(on_parallel, expected, "parallel vs Rust");
    let gbs = |t: std::time::Duration| (3 * 4 * n) as f64 / t.as_secs_f64() / 1e9;
    println!(
        "#[kern::vectorize] saxpy over {n} f32 elements: cpu and parallel agree with plain Rust"
    );
    println!(
        "  first call (compile + 1000 elements): {:8.3} ms",
        first_call.as_secs_f64() * 1e3
    );
    println!(
        "  cpu:      {:8.2} ms  {:6.1} GB/s",
        t_cpu.as_secs_f64() * 1e3,
        gbs(t_cpu)
    );
    println!(
        "  parallel: {:8.2} ms  {:6.1} GB/s",
        t_parallel.as_secs_f64() * 1e3,
        gbs(t_parallel)
    );
    Ok(())
}
