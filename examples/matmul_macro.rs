//! Batched matrix multiply with `#[kern::guvectorize]`: the signature
//! `(M,N),(N,P)->(M,P)` comes from the nested array types, the batch axis is the
//! loop dimension, and `parallel` splits it across cores with bit-identical
//! results. `matmul.rs` does the same through the `Module` API.
//!
//! `cargo run --release --example matmul_macro [batch]`

use std::time::Instant;

use kern::ndarray::Array3;
use kern::Target;

#[kern::guvectorize]
fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut sum = 0.0;
            for k in 0..N {
                sum += a[i][k] * b[k][j];
            }
            out[i][j] = sum;
        }
    }
}

fn main() -> Result<(), kern::Error> {
    let batch: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
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
    let started = Instant::now();
    let on_cpu = matmul(&a, &b)?;
    let ms_cpu = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(
        on_cpu.as_array::<f64>(),
        Some(&expected.clone().into_dyn()),
        "cpu"
    );

    let parallel = matmul::on(Target::Parallel)?;
    let mut on_parallel = Array3::<f64>::zeros((batch, 8, 8));
    let started = Instant::now();
    parallel.call_out(&[(&a).into(), (&b).into()], vec![(&mut on_parallel).into()])?;
    let ms_parallel = started.elapsed().as_secs_f64() * 1e3;
    assert_eq!(on_parallel, expected, "parallel");
    println!("matmul {batch} x 8x8, signature {}", matmul::SIGNATURE);
    println!("  cpu (first call, includes compile): {ms_cpu:.2} ms");
    println!("  parallel:                           {ms_parallel:.2} ms");
    println!("  both agree with plain Rust");
    Ok(())
}
