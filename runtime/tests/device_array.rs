//! `DeviceArray` and ufunc calls over it on the `cuda` target.
//!
//! Without a GPU: every constructor and device call is a `TargetUnavailable`
//! error, never a panic, and the checks that need no device (the target, arity,
//! sizes) fail the same way everywhere. With a GPU: copies in and out are exact
//! for any strides, chained device calls give the bits of the same chain on host
//! arrays on `cpu`, host operands and scalars mix with device arrays, `out` is
//! written in place, and bad dtypes or shapes are the host call's very errors.
#![cfg(feature = "cuda")]

use kern_runtime::{
    to_device, DType, DeviceArray, DeviceOperand, Error, Module, NdArray, Target, Ufunc,
};
use ndarray::{s, Array1, Array2, ArrayD, Axis};

const SOURCE: &str = r#"
#[vectorize]
fn saxpy(a: f32, x: f32, y: f32) -> f32 { a * x + y }

#[vectorize]
fn root(x: f32) -> f32 { x.sqrt() }

#[vectorize]
fn inverse(x: i64) -> i64 { 100 / x }
"#;

fn ufunc(name: &str, target: Target) -> Ufunc {
    Module::from_source("device.kern", SOURCE)
        .expect("compiles")
        .ufunc(name)
        .unwrap()
        .with_target(target)
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

fn grid(rows: usize, cols: usize) -> Array2<f32> {
    Array2::from_shape_fn((rows, cols), |(i, j)| {
        (i as f32 - rows as f32 / 2.0) * 0.37 + j as f32 * 1.3e-2
    })
}

#[test]
fn without_a_gpu_every_constructor_and_call_is_unavailable_not_a_panic() {
    if Target::Cuda.check_available().is_ok() {
        return; // A GPU is present: the other tests cover it.
    }
    let x = Array1::<f32>::from_vec(vec![1.0, 2.0, 3.0]);
    let unavailable = |result: Result<DeviceArray, Error>, what: &str| match result {
        Err(Error::TargetUnavailable(reason)) => {
            assert!(
                reason.contains("NVIDIA driver")
                    || reason.contains("CUDA device")
                    || reason.contains("CUDA driver call"),
                "{what}: {reason}"
            );
        }
        other => panic!("{what}: expected TargetUnavailable, got {other:?}"),
    };
    unavailable(to_device(&x), "to_device");
    unavailable(DeviceArray::from_array(&x.t()), "from_array");
    unavailable(DeviceArray::from_host(&(&x).into()), "from_host");
    unavailable(DeviceArray::zeros(DType::F64, &[2, 3]), "zeros");
    let saxpy = ufunc("saxpy", Target::Cuda);
    unavailable(
        saxpy.call_on_device(&[2.0f32.into(), (&x).into(), (&x).into()]),
        "call_on_device",
    );
}

#[test]
fn device_calls_on_a_cpu_target_are_an_error_naming_cuda() {
    let x = Array1::<f32>::zeros(3);
    for target in [Target::Cpu, Target::Parallel] {
        let err = ufunc("saxpy", target)
            .call_on_device(&[2.0f32.into(), (&x).into(), (&x).into()])
            .unwrap_err();
        let text = err.to_string();
        assert!(matches!(err, Error::Call(_)), "{err:?}");
        assert!(text.contains(&format!("`{target}` target")), "{text}");
        assert!(text.contains("Target::Cuda"), "{text}");
    }
}

#[test]
fn the_wrong_number_of_operands_is_the_host_calls_error_before_any_device_work() {
    let x = Array1::<f32>::zeros(3);
    let saxpy = ufunc("saxpy", Target::Cuda);
    let host = saxpy.call(&[(&x).into()]).unwrap_err();
    let device = saxpy.call_on_device(&[(&x).into()]).unwrap_err();
    assert!(matches!(device, Error::Call(_)), "{device:?}");
    assert_eq!(host.to_string(), device.to_string());
}

#[test]
fn a_device_array_too_large_to_address_is_an_error() {
    let err = DeviceArray::zeros(DType::F64, &[usize::MAX / 2, 3]).unwrap_err();
    assert!(matches!(err, Error::Call(_)), "{err:?}");
    assert!(err.to_string().contains("more bytes"), "{err}");
}

#[test]
fn strided_and_broadcast_views_round_trip_bit_for_bit() {
    if gpu_or_skip("strided_and_broadcast_views_round_trip_bit_for_bit").is_none() {
        return;
    }
    // Special floats too: -0.0, NaN with a payload, infinities, subnormals.
    let specials = [
        -0.0f64,
        f64::from_bits(0x7ff8_dead_beef_0001),
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::MIN_POSITIVE / 8.0,
    ];
    let floats = Array2::from_shape_fn((6, 5), |(i, j)| match (i * 5 + j) % 7 {
        k if k < specials.len() => specials[k],
        _ => i as f64 * 10.0 + j as f64 / 3.0,
    });
    let row = floats.slice(s![2, ..]).insert_axis(Axis(0));
    let views = [
        floats.view(),
        floats.t(),
        floats.slice(s![..;-2, 1..;2]),
        row.broadcast((4, 5)).unwrap(),
    ];
    for view in views {
        let device = DeviceArray::from_array(&view).unwrap();
        assert_eq!(device.shape(), view.shape());
        assert_eq!(device.dtype(), DType::F64);
        assert_eq!(device.len(), view.len());
        let back = device.to_host_array::<f64>().unwrap();
        assert_eq!(
            back.mapv(f64::to_bits),
            view.to_owned().into_dyn().mapv(f64::to_bits)
        );
    }
    // Every other dtype, through the dtype-erased path.
    let ints = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as i16 - 6);
    let bools = ints.mapv(|v| v % 3 == 0);
    let wide = ints.mapv(|v| (v as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    for host in [
        NdArray::from(ints.t().to_owned().into_dyn()),
        NdArray::from(bools.into_dyn()),
        NdArray::from(wide.slice(s![.., ..;-1]).to_owned().into_dyn()),
        NdArray::from(ArrayD::<u8>::zeros(ndarray::IxDyn(&[0, 3]))),
        NdArray::from(ArrayD::from_elem(ndarray::IxDyn(&[]), 7i32)),
    ] {
        let device = DeviceArray::from_host(&host.view()).unwrap();
        assert_eq!(device.to_host().unwrap(), host);
    }
    // Asking for the wrong element type is an error, not a reinterpretation.
    let device = to_device(&ints).unwrap();
    let err = device.to_host_array::<u16>().unwrap_err();
    assert!(err.to_string().contains("i16"), "{err}");
}

#[test]
fn a_chain_of_device_calls_gives_the_bits_of_the_host_chain_on_cpu() {
    if gpu_or_skip("a_chain_of_device_calls_gives_the_bits_of_the_host_chain_on_cpu").is_none() {
        return;
    }
    let x = grid(300, 700);
    let y = grid(300, 700).mapv(|v| v.abs() + 1.0);
    let (saxpy, root) = (ufunc("saxpy", Target::Cpu), ufunc("root", Target::Cpu));
    let c = saxpy
        .call(&[2.5f32.into(), (&x).into(), (&y).into()])
        .unwrap();
    let expected = root.call(&[(&c).into()]).unwrap();

    let (dx, dy) = (to_device(&x).unwrap(), to_device(&y).unwrap());
    let saxpy = saxpy.with_target(Target::Cuda);
    let root = root.with_target(Target::Cuda);
    let dc = saxpy
        .call_on_device(&[2.5f32.into(), (&dx).into(), (&dy).into()])
        .unwrap();
    let dd = root.call_on_device(&[(&dc).into()]).unwrap();
    assert_eq!((dd.shape(), dd.dtype()), (&[300usize, 700][..], DType::F32));
    let got = dd.to_host_array::<f32>().unwrap();
    let want = expected.as_array::<f32>().unwrap();
    // Some elements are NaN (sqrt of negatives): compare bits.
    assert_eq!(got.mapv(f32::to_bits), want.mapv(f32::to_bits));
}

#[test]
fn device_host_and_scalar_operands_mix_with_broadcasting() {
    if gpu_or_skip("device_host_and_scalar_operands_mix_with_broadcasting").is_none() {
        return;
    }
    let x = grid(300, 700);
    let row = Array1::from_shape_fn(700, |j| j as f32 * 0.5);
    let column = Array1::from_shape_fn(300, |i| i as f32 - 9.0).insert_axis(Axis(1));
    let cpu = ufunc("saxpy", Target::Cpu);
    let gpu = ufunc("saxpy", Target::Cuda);
    let (dx, drow) = (to_device(&x).unwrap(), to_device(&row).unwrap());
    let dcol = to_device(&column).unwrap();
    let xs = x.slice(s![..;-1, ..]);
    // (scalar, device, host broadcast row), (device column, strided host, device row).
    let cases: [(Vec<DeviceOperand<'_>>, NdArray); 2] = [
        (
            vec![3.0f32.into(), (&dx).into(), (&row).into()],
            cpu.call(&[3.0f32.into(), (&x).into(), (&row).into()])
                .unwrap(),
        ),
        (
            vec![(&dcol).into(), (&xs).into(), (&drow).into()],
            cpu.call(&[(&column).into(), (&xs).into(), (&row).into()])
                .unwrap(),
        ),
    ];
    for (operands, expected) in cases {
        let got = gpu.call_on_device(&operands).unwrap().to_host().unwrap();
        assert_eq!(got, expected);
    }
    // Only host operands: still a device result.
    let only_host = gpu
        .call_on_device(&[1.0f32.into(), (&x).into(), (&x).into()])
        .unwrap();
    assert_eq!(
        only_host.to_host().unwrap(),
        cpu.call(&[1.0f32.into(), (&x).into(), (&x).into()])
            .unwrap()
    );
}

#[test]
fn a_device_out_is_written_in_place_with_the_hosts_casting() {
    if gpu_or_skip("a_device_out_is_written_in_place_with_the_hosts_casting").is_none() {
        return;
    }
    let x = grid(64, 33);
    let dx = to_device(&x).unwrap();
    // f32 results into an f64 `out` (same_kind), broadcasting a scalar and a row.
    let mut out = DeviceArray::zeros(DType::F64, &[64, 33]).unwrap();
    let row = Array1::from_shape_fn(33, |j| j as f32);
    ufunc("saxpy", Target::Cuda)
        .call_on_device_out(&[0.5f32.into(), (&dx).into(), (&row).into()], &mut out)
        .unwrap();
    let mut expected = Array2::<f64>::zeros((64, 33));
    ufunc("saxpy", Target::Cpu)
        .call_out(&[0.5f32.into(), (&x).into(), (&row).into()], &mut expected)
        .unwrap();
    assert_eq!(out.to_host_array::<f64>().unwrap(), expected.into_dyn());
}

#[test]
fn bad_dtypes_and_shapes_on_device_are_the_host_calls_errors() {
    if gpu_or_skip("bad_dtypes_and_shapes_on_device_are_the_host_calls_errors").is_none() {
        return;
    }
    let (cpu, gpu) = (ufunc("saxpy", Target::Cpu), ufunc("saxpy", Target::Cuda));
    let same = |host: Error, device: Error| {
        assert!(matches!(device, Error::Call(_)), "{device:?}");
        assert_eq!(host.to_string(), device.to_string());
    };
    // f64 does not convert safely to f32.
    let wide = Array1::<f64>::zeros(4);
    let dwide = to_device(&wide).unwrap();
    same(
        cpu.call(&[1.0f32.into(), (&wide).into(), (&wide).into()])
            .unwrap_err(),
        gpu.call_on_device(&[1.0f32.into(), (&dwide).into(), (&dwide).into()])
            .unwrap_err(),
    );
    // (4,) and (5,) do not broadcast.
    let (four, five) = (Array1::<f32>::zeros(4), Array1::<f32>::zeros(5));
    let dfour = to_device(&four).unwrap();
    same(
        cpu.call(&[1.0f32.into(), (&four).into(), (&five).into()])
            .unwrap_err(),
        gpu.call_on_device(&[1.0f32.into(), (&dfour).into(), (&five).into()])
            .unwrap_err(),
    );
    // An `out` of the wrong shape, and one the result cannot be cast to.
    let mut host_out = Array1::<f32>::zeros(5);
    let mut device_out = DeviceArray::zeros(DType::F32, &[5]).unwrap();
    same(
        cpu.call_out(
            &[1.0f32.into(), (&four).into(), (&four).into()],
            &mut host_out,
        )
        .unwrap_err(),
        gpu.call_on_device_out(
            &[1.0f32.into(), (&dfour).into(), (&four).into()],
            &mut device_out,
        )
        .unwrap_err(),
    );
    let mut host_out = Array1::<i32>::zeros(4);
    let mut device_out = DeviceArray::zeros(DType::I32, &[4]).unwrap();
    same(
        cpu.call_out(
            &[1.0f32.into(), (&four).into(), (&four).into()],
            &mut host_out,
        )
        .unwrap_err(),
        gpu.call_on_device_out(
            &[1.0f32.into(), (&dfour).into(), (&four).into()],
            &mut device_out,
        )
        .unwrap_err(),
    );
}

#[test]
fn a_trap_in_a_device_call_reports_the_kernel_source_location() {
    if gpu_or_skip("a_trap_in_a_device_call_reports_the_kernel_source_location").is_none() {
        return;
    }
    let x = to_device(&Array1::from_vec(vec![5i64, 4, 0, 2])).unwrap();
    let err = ufunc("inverse", Target::Cuda)
        .call_on_device(&[(&x).into()])
        .unwrap_err();
    assert!(matches!(err, Error::Kernel { .. }), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("attempt to divide by zero"), "{text}");
    assert!(text.contains("device.kern:9:"), "{text}");
}
