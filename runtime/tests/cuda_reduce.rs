//! `reduce` and `accumulate` on the `cuda` target: the GPU runs the CPU targets'
//! fixed orders (blocked pairwise reduction, row-by-row folds of other axes, left folds), so its results
//! are the CPU's bit for bit — along the contiguous axis, along a strided one,
//! over every axis, for in-order folds — and a trap in a reduction's body comes
//! back with its source location. Without a GPU each test prints why it skips;
//! the first one checks the error a machine without a GPU gets.
#![cfg(feature = "cuda")]

use kern_runtime::{DType, Error, Module, NdArray, Reduce, Target};
use ndarray::{Array1, Array2, Array3};

const SOURCE: &str = r#"
#[vectorize(identity = 0)]
fn add32(a: f32, b: f32) -> f32 { a + b }

#[vectorize(identity = 0)]
fn add64(a: f64, b: f64) -> f64 { a + b }

#[vectorize(identity = "reorderable")]
fn max32(a: f32, b: f32) -> f32 { a.max(b) }

#[vectorize(identity = "reorderable")]
fn max64(a: f64, b: f64) -> f64 { a.max(b) }

#[vectorize]
fn drift(a: f64, b: f64) -> f64 { a * 0.999 + b }

#[vectorize(identity = 0)]
fn careful(a: i64, b: i64) -> i64 { a + 1000 / b }
"#;

fn module() -> Module {
    Module::from_source("reduce.kern", SOURCE).expect("compiles")
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

/// Values of mixed magnitudes and signs, so any change of order changes the
/// rounded result.
fn data(len: usize) -> Vec<f64> {
    (0..len)
        .map(|i| {
            let x = (i as f64 * 0.618_034).fract() - 0.5;
            x * [1.0, 1e-3, 1e4, 7.0][i % 4]
        })
        .collect()
}

/// Every element's bits, widened exactly to `f64` (an `f32` converts exactly).
fn bits(a: &NdArray) -> Vec<u64> {
    let wide = a.cast(DType::F64);
    let wide = wide.as_array::<f64>().expect("an f64 array");
    wide.iter().map(|v| v.to_bits()).collect()
}

fn same_bits(cpu: &NdArray, gpu: &NdArray, what: &str) {
    assert_eq!(cpu.dtype(), gpu.dtype(), "{what}");
    assert_eq!(cpu.shape(), gpu.shape(), "{what}");
    assert!(
        bits(cpu) == bits(gpu),
        "{what}: the GPU's bits differ from the CPU's"
    );
}

#[test]
fn without_a_gpu_a_reduction_is_a_clear_error() {
    if Target::Cuda.check_available().is_ok() {
        return; // A GPU is present: the other tests cover it.
    }
    let x = Array1::<f64>::ones(1000);
    let add = module().ufunc("add64").unwrap().with_target(Target::Cuda);
    let err = add.reduce(&x, &Reduce::axis(0)).unwrap_err();
    assert!(matches!(err, Error::TargetUnavailable(_)), "{err:?}");
    let err = add.accumulate(&x, 0).unwrap_err();
    assert!(matches!(err, Error::TargetUnavailable(_)), "{err:?}");
}

#[test]
fn gpu_reductions_of_a_million_elements_are_the_cpus_bits() {
    if gpu_or_skip("gpu_reductions_of_a_million_elements_are_the_cpus_bits").is_none() {
        return;
    }
    let m = module();
    let (rows, cols) = (1000, 1201);
    let x64 = Array2::from_shape_vec((rows, cols), data(rows * cols)).unwrap();
    let x32 = x64.mapv(|v| v as f32);
    let long = Array1::from_vec(data(1_000_003));
    let cases = [
        Reduce::axis(0),
        Reduce::axis(1),
        Reduce::all(),
        Reduce::axis(1).keepdims(true),
        Reduce::axis(0).initial(0.5f64),
    ];
    for name in ["add32", "max32", "add64", "max64"] {
        let cpu = m.ufunc(name).unwrap();
        let gpu = cpu.clone().with_target(Target::Cuda);
        for options in &cases {
            let what = format!("{name} {options:?}");
            let (c, g) = if name.ends_with("32") {
                (cpu.reduce(&x32, options), gpu.reduce(&x32, options))
            } else {
                (cpu.reduce(&x64, options), gpu.reduce(&x64, options))
            };
            same_bits(&c.unwrap(), &g.unwrap(), &what);
        }
        if name.ends_with("64") {
            let c = cpu.reduce(&long, &Reduce::axis(0)).unwrap();
            let g = gpu.reduce(&long, &Reduce::axis(0)).unwrap();
            same_bits(&c, &g, &format!("{name} of 1_000_003 elements"));
            // A transposed view: the contiguous axis is now axis 0.
            let t = x64.t();
            for axis in [0, 1] {
                let c = cpu.reduce(&t, &Reduce::axis(axis)).unwrap();
                let g = gpu.reduce(&t, &Reduce::axis(axis)).unwrap();
                same_bits(&c, &g, &format!("{name} of the transpose along {axis}"));
            }
        }
    }
    // Several axes of a 3-d array, one at a time, last first.
    let cube = Array3::from_shape_vec((60, 70, 250), data(60 * 70 * 250)).unwrap();
    let add = m.ufunc("add64").unwrap();
    for options in [Reduce::axes(&[0, 2]), Reduce::axes(&[1]), Reduce::all()] {
        let c = add.reduce(&cube, &options).unwrap();
        let g = add
            .clone()
            .with_target(Target::Cuda)
            .reduce(&cube, &options)
            .unwrap();
        same_bits(&c, &g, &format!("cube {options:?}"));
    }
}

#[test]
fn gpu_accumulations_and_in_order_reductions_are_the_cpus_bits() {
    if gpu_or_skip("gpu_accumulations_and_in_order_reductions_are_the_cpus_bits").is_none() {
        return;
    }
    let m = module();
    // Few long lanes, and many lanes (more than the CPU's lane-by-lane limit).
    let few = Array2::from_shape_vec((3, 100_000), data(300_000)).unwrap();
    let many = Array2::from_shape_vec((2000, 500), data(1_000_000)).unwrap();
    for name in ["add64", "drift"] {
        let cpu = m.ufunc(name).unwrap();
        let gpu = cpu.clone().with_target(Target::Cuda);
        for (x, label) in [(&few, "few lanes"), (&many, "many lanes")] {
            for axis in [0, 1] {
                let what = format!("{name} accumulate {label} axis {axis}");
                let c = cpu.accumulate(x, axis).unwrap();
                let g = gpu.accumulate(x, axis).unwrap();
                same_bits(&c, &g, &what);
            }
        }
    }
    // `drift` has no identity: its reduce is the in-order fold.
    let drift = m.ufunc("drift").unwrap();
    for options in [
        Reduce::axis(0),
        Reduce::axis(1),
        Reduce::axis(1).initial(2.0f64),
    ] {
        let c = drift.reduce(&many, &options).unwrap();
        let g = drift
            .clone()
            .with_target(Target::Cuda)
            .reduce(&many, &options)
            .unwrap();
        same_bits(&c, &g, &format!("drift {options:?}"));
    }
}

#[test]
fn a_trap_in_a_gpu_reduction_reports_its_source_location() {
    let m = module();
    let mut x = Array2::from_elem((300, 400), 3i64);
    // A divisor in every order: row 200 is folded into axis 0's result row by
    // row, column 321 past the first eight of its block along axis 1.
    x[[200, 321]] = 0;
    let cases = [Reduce::axis(1), Reduce::axis(0), Reduce::all()];
    // The CPU traps on this data (so the GPU must too).
    let cpu = m.ufunc("careful").unwrap();
    for options in &cases {
        let err = cpu.reduce(&x, options).unwrap_err().to_string();
        assert!(err.contains("reduce.kern:18:"), "cpu {options:?}: {err}");
    }
    if gpu_or_skip("a_trap_in_a_gpu_reduction_reports_its_source_location").is_none() {
        return;
    }
    let careful = cpu.with_target(Target::Cuda);
    for options in &cases {
        let err = careful.reduce(&x, options).unwrap_err().to_string();
        assert!(
            err.contains("attempt to divide by zero"),
            "{options:?}: {err}"
        );
        assert!(err.contains("reduce.kern:18:"), "{options:?}: {err}");
    }
    let err = careful.accumulate(&x, 1).unwrap_err().to_string();
    assert!(err.contains("attempt to divide by zero"), "{err}");
    assert!(err.contains("reduce.kern:18:"), "{err}");
}
