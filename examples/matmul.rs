//! Batched matrix multiply as a gufunc: the signature `(m,n),(n,p)->(m,p)` comes
//! from the nested array types; the loop over the batch is compiled, and `parallel`
//! splits the batch across cores with bit-identical results.
//!
//! `cargo run --release --example matmul [batch]`

use std::time::Instant;

use kern::ndarray::Array3;
use kern::{Module, Target};

const SOURCE: &str = r#"
#[guvectorize]
fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[k][j]; }
            out[i][j] = s;
        }
    }
}
"#;

fn main() -> Result<(), kern::Error> {
    let batch: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let module = Module::from_source("matmul.kern", SOURCE)?;
    let a = Array3::from_shape_fn((batch, 8, 8), |(b, i, j)| {
        ((b + 2 * i + 3 * j) % 11) as f64 - 5.0
    });
    let b = Array3::from_shape_fn((batch, 8, 8), |(b, i, j)| {
        ((3 * b + i + j) % 7) as f64 * 0.5
    });
    let mut expected = Array3::<f64>::zeros((batch, 8, 8));
    for n in 0..batch {
        for i in 0..8 {
            for j in 0..8 {
                expected[[n, i, j]] = (0..8).map(|k| a[[n, i, k]] * b[[n, k, j]]).sum();
            }
        }
    }
    let mut results = Vec::new();
    for target in [Target::Cpu, Target::Parallel] {
        let matmul = module.gufunc("matmul")?.with_target(target);
        matmul.call(&[
            (&a.slice(kern::ndarray::s![..1, .., ..])).into(),
            (&b.slice(kern::ndarray::s![..1, .., ..])).into(),
        ])?;
        let started = Instant::now();
        let out = matmul.call(&[(&a).into(), (&b).into()])?;
        let ms = started.elapsed().as_secs_f64() * 1e3;
        let c = out[0].as_array::<f64>().expect("an f64 result").clone();
        assert_eq!(c, expected.clone().into_dyn(), "{target}");
        println!(
            "matmul {} x 8x8 on {target:>8}: {ms:.2} ms (signature {})",
            batch,
            matmul.signature()
        );
        results.push(c);
    }
    assert_eq!(results[0], results[1], "cpu and parallel agree bit for bit");
    Ok(())
}
