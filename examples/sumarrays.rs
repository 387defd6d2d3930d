//! Sum of two arrays, elementwise, with a ufunc — then summed to a scalar with the
//! ufunc's `reduce` (pairwise, exact for these integers) on `cpu` and `parallel`.
//!
//! `cargo run --release --example sumarrays [n]`

use std::time::Instant;

use kern::ndarray::Array1;
use kern::{Module, Reduce, ScalarValue, Target};

const SOURCE: &str = r#"
#[vectorize(identity = 0)]
fn add(a: f64, b: f64) -> f64 { a + b }
"#;

fn main() -> Result<(), kern::Error> {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let module = Module::from_source("sumarrays.kern", SOURCE)?;
    let a = Array1::from_shape_fn(n, |i| i as f64);
    let b = Array1::from_shape_fn(n, |i| (n - i) as f64);
    for target in [Target::Cpu, Target::Parallel] {
        let add = module.ufunc("add")?.with_target(target);
        add.call(&[1.0f64.into(), 1.0f64.into()])?;
        let mut c = Array1::<f64>::zeros(n);
        let started = Instant::now();
        add.call_out(&[(&a).into(), (&b).into()], &mut c)?;
        let elementwise = started.elapsed();
        let started = Instant::now();
        let total = add.reduce(&c, &Reduce::all())?;
        let reduce = started.elapsed();
        assert!(c.iter().all(|&v| v == n as f64));
        assert_eq!(total.get(&[]), Some(ScalarValue::F64(n as f64 * n as f64)));
        println!(
            "{target:>8}: c = a + b in {:.2} ms ({:.1} GB/s), sum(c) = {} in {:.2} ms",
            elementwise.as_secs_f64() * 1e3,
            (3 * 8 * n) as f64 / elementwise.as_secs_f64() / 1e9,
            n as f64 * n as f64,
            reduce.as_secs_f64() * 1e3
        );
    }
    Ok(())
}
