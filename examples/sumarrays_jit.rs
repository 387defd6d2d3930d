//! Sum of two arrays with `#[kern::jit]`: a kern function with an explicit loop
//! over slices, called with ndarray arrays like a Rust function, then a scalar
//! `#[kern::jit]` function that sums the result; both checked against plain Rust.
//! `sumarrays.rs` does the elementwise sum as a ufunc.
//!
//! `cargo run --release --example sumarrays_jit [n]`

use std::time::Instant;

use kern::ndarray::Array1;

#[kern::jit]
fn sum_arrays(a: &[f64], b: &[f64], out: &mut [f64]) {
    for i in 0..out.len() {
        out[i] = a[i] + b[i];
    }
}

#[kern::jit]
fn total(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i];
    }
    s
}

fn main() -> Result<(), kern::Error> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let a = Array1::from_shape_fn(n, |i| i as f64);
    let b = Array1::from_shape_fn(n, |i| (n - i) as f64);
    let mut c = Array1::<f64>::zeros(n);

    let started = Instant::now();
    sum_arrays(&a, &b, &mut c)?;
    let t_first = started.elapsed();
    let started = Instant::now();
    sum_arrays(&a, &b, &mut c)?;
    let t_again = started.elapsed();
    assert_eq!(c, &a + &b, "kern vs Rust");

    let s = total(&c)?;
    let expected: f64 = c.iter().sum();
    assert_eq!(
        s, expected,
        "same order of additions as Rust's iterator sum"
    );
    println!("c = a + b over {n} f64 elements agrees with plain Rust; sum(c) = {s}");
    println!(
        "  first call (compile + run): {:8.2} ms, later call: {:8.2} ms",
        t_first.as_secs_f64() * 1e3,
        t_again.as_secs_f64() * 1e3
    );
    Ok(())
}
