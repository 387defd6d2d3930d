//! saxpy two ways: as a ufunc (`#[vectorize]`, the compiled elementwise loop) and as
//! a plain kern function with an explicit loop over slices; both compiled by kern,
//! checked against each other and against plain Rust, and timed.
//!
//! `cargo run --release --example saxpy [n]`

use std::time::Instant;

use kern::ndarray::Array1;
use kern::{Module, Target};

const SOURCE: &str = r#"
#[vectorize]
fn saxpy(a: f32, x: f32, y: f32) -> f32 { a * x + y }

fn saxpy_loop(a: f32, x: &[f32], y: &[f32], out: &mut [f32]) {
    for i in 0..out.len() { out[i] = a * x[i] + y[i]; }
}
"#;

fn main() -> Result<(), kern::Error> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let mut module = Module::from_source("saxpy.kern", SOURCE)?;
    let x = Array1::from_shape_fn(n, |i| (i % 1000) as f32 * 0.001);
    let y = Array1::from_shape_fn(n, |i| (i % 7) as f32);
    let a = 2.0f32;

    let ufunc = module.ufunc("saxpy")?;
    // Compile once before timing: the first call of each dtype signature compiles
    // its loop (and the first kernel call its function).
    let tiny = Array1::<f32>::zeros(1);
    ufunc.call(&[a.into(), (&tiny).into(), (&tiny).into()])?;
    let mut tiny_out = Array1::<f32>::zeros(1);
    module.call_with_arrays(
        "saxpy_loop",
        &mut [
            a.into(),
            (&tiny).into(),
            (&tiny).into(),
            (&mut tiny_out).into(),
        ],
        &mut std::io::stdout(),
    )?;
    let mut by_ufunc = Array1::<f32>::zeros(n);
    let started = Instant::now();
    ufunc.call_out(&[a.into(), (&x).into(), (&y).into()], &mut by_ufunc)?;
    let t_ufunc = started.elapsed();

    let parallel = ufunc.clone().with_target(Target::Parallel);
    let mut by_parallel = Array1::<f32>::zeros(n);
    let started = Instant::now();
    parallel.call_out(&[a.into(), (&x).into(), (&y).into()], &mut by_parallel)?;
    let t_parallel = started.elapsed();

    let mut by_loop = Array1::<f32>::zeros(n);
    let started = Instant::now();
    module.call_with_arrays(
        "saxpy_loop",
        &mut [a.into(), (&x).into(), (&y).into(), (&mut by_loop).into()],
        &mut std::io::stdout(),
    )?;
    let t_loop = started.elapsed();

    let expected: Array1<f32> = x.iter().zip(&y).map(|(x, y)| a * x + y).collect();
    assert_eq!(by_ufunc, expected, "ufunc vs Rust");
    assert_eq!(by_parallel, expected, "parallel ufunc vs Rust");
    assert_eq!(by_loop, expected, "loop kernel vs Rust");
    let gbs = |t: std::time::Duration| (3 * 4 * n) as f64 / t.as_secs_f64() / 1e9;
    println!("saxpy over {n} f32 elements: all three agree with plain Rust");
    println!(
        "  ufunc, cpu:      {:8.2} ms  {:6.1} GB/s",
        t_ufunc.as_secs_f64() * 1e3,
        gbs(t_ufunc)
    );
    println!(
        "  ufunc, parallel: {:8.2} ms  {:6.1} GB/s",
        t_parallel.as_secs_f64() * 1e3,
        gbs(t_parallel)
    );
    println!(
        "  loop kernel:     {:8.2} ms  {:6.1} GB/s",
        t_loop.as_secs_f64() * 1e3,
        gbs(t_loop)
    );
    Ok(())
}
