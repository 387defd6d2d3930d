//! The generic ufunc of `discriminant.rs`, written with `#[kern::vectorize]`: the
//! same Rust call runs f64 and f32 arrays (one loop compiled per dtype, on first
//! use) on `cpu` and `parallel`, bit-identical across targets and equal to plain
//! Rust.
//!
//! `cargo run --release --example discriminant_macro [n]`

use std::time::Instant;

use kern::ndarray::Array1;
use kern::{NdArray, Target};

#[kern::vectorize]
fn discriminant<T: Float>(a: T, b: T, c: T) -> T {
    b * b - 4.0 * a * c
}

fn on_both_targets<T: kern::Element>(
    a: &Array1<T>,
    b: &Array1<T>,
    c: &Array1<T>,
) -> Result<Vec<(Target, NdArray, f64)>, kern::Error> {
    let mut results = Vec::new();
    for target in [Target::Cpu, Target::Parallel] {
        let ufunc = discriminant::on(target)?;
        let started = Instant::now();
        let d = ufunc.call(&[a.into(), b.into(), c.into()])?;
        results.push((target, d, started.elapsed().as_secs_f64() * 1e3));
    }
    Ok(results)
}

fn main() -> Result<(), kern::Error> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let a = Array1::from_shape_fn(n, |i| 1.0 + (i % 10) as f64);
    let b = Array1::from_shape_fn(n, |i| 5.0 + (i % 13) as f64);
    let c = Array1::from_shape_fn(n, |i| (i % 17) as f64 * 0.25);
    let expected: Array1<f64> = (0..n).map(|i| b[i] * b[i] - 4.0 * a[i] * c[i]).collect();
    // The plain call: the declared target (cpu).
    let d = discriminant(&a, &b, &c)?;
    assert_eq!(d.as_array::<f64>(), Some(&expected.clone().into_dyn()));
    for (target, d, ms) in on_both_targets(&a, &b, &c)? {
        assert_eq!(
            d.as_array::<f64>(),
            Some(&expected.clone().into_dyn()),
            "{target}"
        );
        println!("discriminant f64, {target:>8}: {ms:7.2} ms");
    }
    let (a32, b32, c32) = (
        a.mapv(|v| v as f32),
        b.mapv(|v| v as f32),
        c.mapv(|v| v as f32),
    );
    let expected32: Array1<f32> = (0..n)
        .map(|i| b32[i] * b32[i] - 4.0 * a32[i] * c32[i])
        .collect();
    let results = on_both_targets(&a32, &b32, &c32)?;
    assert_eq!(
        results[0].1, results[1].1,
        "cpu and parallel agree bit for bit"
    );
    for (target, d, ms) in &results {
        assert_eq!(
            d.as_array::<f32>(),
            Some(&expected32.clone().into_dyn()),
            "{target}"
        );
        println!("discriminant f32, {target:>8}: {ms:7.2} ms");
    }
    println!("d[12345 % n] = {}", expected[12345 % n]);
    Ok(())
}
