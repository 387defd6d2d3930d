//! The `cuda` target from the Rust API: without a driver or device every call is
//! a clear `TargetUnavailable` error (never a panic); with a GPU, ufunc calls give
//! exactly the bits the CPU gives, including strided and broadcast operands, and
//! a trap in a GPU thread comes back with the kernel's source location.
#![cfg(feature = "cuda")]

use kern_runtime::{Error, Module, Target};
use ndarray::{s, Array1, Array2};

const SOURCE: &str = r#"
#[vectorize]
fn saxpy(a: f32, x: f32, y: f32) -> f32 { a * x + y }

#[vectorize]
fn wave(x: f64) -> f64 { (-x * x).exp() * x.sin() + x.abs().ln_1p() }

#[vectorize]
fn inverse(x: i64) -> i64 { 100 / x }

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

fn module() -> Module {
    Module::from_source("gpu.kern", SOURCE).expect("compiles")
}

/// `None` (after printing why) when this machine has no usable GPU.
fn gpu_or_skip(test: &str) -> Option<()> {
    match Target::Cuda.check_available() {
        Ok(()) => Some(()),
        Err(reason) => {
            eprintln!("skipped {test}: {reason}");
            None
        }
    }
}

#[test]
fn without_a_gpu_the_target_is_unavailable_with_a_reason() {
    let Err(reason) = Target::Cuda.check_available() else {
        return; // A GPU is present: the other tests cover it.
    };
    assert!(matches!(reason, Error::TargetUnavailable(_)), "{reason:?}");
    let text = reason.to_string();
    assert!(
        text.contains("NVIDIA driver")
            || text.contains("CUDA device")
            || text.contains("CUDA driver call"),
        "{text}"
    );
    let x = Array1::<f32>::zeros(4);
    let saxpy = module().ufunc("saxpy").unwrap().with_target(Target::Cuda);
    let err = saxpy
        .call(&[2.0f32.into(), (&x).into(), (&x).into()])
        .unwrap_err();
    assert!(matches!(err, Error::TargetUnavailable(_)), "{err:?}");
}

#[test]
fn gpu_ufunc_calls_are_bit_identical_to_cpu() {
    if gpu_or_skip("gpu_ufunc_calls_are_bit_identical_to_cpu").is_none() {
        return;
    }
    let m = module();
    let x = Array2::from_shape_fn((300, 700), |(i, j)| {
        (i as f32 - 150.0) * 0.01 + j as f32 * 1e-3
    });
    let y = Array1::from_shape_fn(700, |j| j as f32 * 0.5);
    // A transposed, reversed view and a broadcast row.
    let xt = x.t();
    let xs = xt.slice(s![..;-1, ..]);
    let yb = y.slice(s![..300]).insert_axis(ndarray::Axis(1));
    let saxpy = m.ufunc("saxpy").unwrap();
    let cpu = saxpy
        .call(&[3.0f32.into(), (&xs).into(), (&yb).into()])
        .unwrap();
    let gpu = saxpy
        .clone()
        .with_target(Target::Cuda)
        .call(&[3.0f32.into(), (&xs).into(), (&yb).into()])
        .unwrap();
    assert_eq!(cpu, gpu);

    let w = Array1::from_shape_fn(1_000_000, |i| (i as f64 - 5e5) * 1e-4);
    let wave = m.ufunc("wave").unwrap();
    let cpu = wave.call(&[(&w).into()]).unwrap();
    let gpu = wave.with_target(Target::Cuda).call(&[(&w).into()]).unwrap();
    assert_eq!(cpu, gpu, "the stdlib computes the same bits on the GPU");
}

#[test]
fn gpu_gufunc_calls_are_bit_identical_to_cpu() {
    if gpu_or_skip("gpu_gufunc_calls_are_bit_identical_to_cpu").is_none() {
        return;
    }
    let a =
        ndarray::Array3::from_shape_fn((1000, 4, 3), |(b, i, j)| (b + 2 * i + 3 * j) as f64 * 0.25);
    let b = Array2::from_shape_fn((3, 5), |(i, j)| i as f64 - j as f64 * 0.5);
    let matmul = module().gufunc("matmul").unwrap();
    let cpu = matmul.call(&[(&a).into(), (&b).into()]).unwrap();
    let gpu = matmul
        .with_target(Target::Cuda)
        .call(&[(&a).into(), (&b).into()])
        .unwrap();
    assert_eq!(cpu, gpu);
}

#[test]
fn a_gpu_trap_reports_the_kernel_source_location() {
    if gpu_or_skip("a_gpu_trap_reports_the_kernel_source_location").is_none() {
        return;
    }
    let x = Array1::from_vec(vec![5i64, 4, 0, 2]);
    let inverse = module().ufunc("inverse").unwrap().with_target(Target::Cuda);
    let err = inverse.call(&[(&x).into()]).unwrap_err().to_string();
    assert!(err.contains("attempt to divide by zero"), "{err}");
    assert!(err.contains("gpu.kern:9:"), "{err}");
}
