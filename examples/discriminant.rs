//! The same generic ufunc on `cpu` and `parallel`, for f64 and f32 arrays: kern
//! specialises `discriminant<T: Float>` per input dtype on first call, and both
//! targets give bit-identical results.
//!
//! `cargo run --release --example discriminant [n]`

use std::time::Instant;

use kern::ndarray::{Array1, ArrayD};
use kern::{Module, NdArray, Target};

const SOURCE: &str = r#"
#[vectorize]
fn discriminant<T: Float>(a: T, b: T, c: T) -> T { b * b - 4.0 * a * c }
"#;

fn run<T: kern::Element + Copy>(
    module: &Module,
    a: &Array1<T>,
    b: &Array1<T>,
    c: &Array1<T>,
) -> Result<Vec<(Target, NdArray, f64)>, kern::Error> {
    let mut results = Vec::new();
    for target in [Target::Cpu, Target::Parallel] {
        let ufunc = module.ufunc("discriminant")?.with_target(target);
        ufunc.call(&[
            (&a.slice(kern::ndarray::s![..1])).into(),
            (&b.slice(kern::ndarray::s![..1])).into(),
            (&c.slice(kern::ndarray::s![..1])).into(),
        ])?;
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
    let module = Module::from_source("discriminant.kern", SOURCE)?;
    let a = Array1::from_shape_fn(n, |i| 1.0 + (i % 10) as f64);
    let b = Array1::from_shape_fn(n, |i| 5.0 + (i % 13) as f64);
    let c = Array1::from_shape_fn(n, |i| (i % 17) as f64 * 0.25);
    let results = run(&module, &a, &b, &c)?;
    let expected: ArrayD<f64> = ndarray_expected(&a, &b, &c).into_dyn();
    for (target, d, ms) in &results {
        assert_eq!(d.as_array::<f64>(), Some(&expected), "{target}");
        println!(
            "discriminant f64, {target:>8}: {ms:7.2} ms, d[12345] = {}",
            expected[[12345 % n]]
        );
    }
    let (a32, b32, c32) = (
        a.mapv(|v| v as f32),
        b.mapv(|v| v as f32),
        c.mapv(|v| v as f32),
    );
    let results32 = run(&module, &a32, &b32, &c32)?;
    assert_eq!(
        results32[0].1, results32[1].1,
        "cpu and parallel agree bit for bit"
    );
    for (target, d, ms) in &results32 {
        assert_eq!(d.dtype(), kern::DType::F32);
        println!("discriminant f32, {target:>8}: {ms:7.2} ms");
    }
    Ok(())
}

fn ndarray_expected(a: &Array1<f64>, b: &Array1<f64>, c: &Array1<f64>) -> Array1<f64> {
    let mut d = Array1::zeros(a.len());
    for i in 0..a.len() {
        d[i] = b[i] * b[i] - 4.0 * a[i] * c[i];
    }
    d
}
