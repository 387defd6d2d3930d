//! The attribute macros end to end: what the generated functions compute on `cpu`
//! and `parallel` (compared with plain Rust), their errors, their caching across
//! threads, and (with trybuild) which annotated functions compile and with which
//! messages the others fail.

use kern::ndarray::{array, s, Array1, Array2, Array3, ArrayD};
use kern::{NdArray, Reduce, ScalarValue, Target};

#[kern::vectorize]
fn saxpy(a: f32, x: f32, y: f32) -> f32 {
    a * x + y
}

/// A doc comment on an annotated function is kept for Rust and left out for kern.
#[kern::vectorize(target = "parallel")]
pub fn discriminant<T: Float>(a: T, b: T, c: T) -> T {
    b * b - 4.0 * a * c
}

#[kern::vectorize(f32, f64)]
fn halve<T: Float>(x: T) -> T {
    x * 0.5
}

#[kern::vectorize(identity = 0)]
fn add<T>(a: T, b: T) -> T {
    a + b
}

#[kern::vectorize]
fn safe_div(a: i32, b: i32) -> i32 {
    a / b
}

#[kern::guvectorize]
fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N {
                s += a[i][k] * b[k][j];
            }
            out[i][j] = s;
        }
    }
}

#[kern::guvectorize("(n),(n)->(n),()")]
fn sum_and_dot(a: &[f64], b: &[f64], sum: &mut [f64]) -> f64 {
    let mut d = 0.0;
    for i in 0..a.len() {
        sum[i] = a[i] + b[i];
        d += a[i] * b[i];
    }
    d
}

#[kern::jit]
fn sum_primes_below(n: i64) -> i64 {
    let mut total = 0;
    let mut k = 2;
    while k < n {
        let mut prime = true;
        let mut d = 2;
        while d * d <= k {
            if k % d == 0 {
                prime = false;
                break;
            }
            d += 1;
        }
        if prime {
            total += k;
        }
        k += 1;
    }
    total
}

#[kern::jit]
fn sum_arrays(a: &[f64], b: &[f64], out: &mut [f64]) {
    for i in 0..out.len() {
        out[i] = a[i] + b[i];
    }
}

#[kern::jit]
fn mean(x: &[f32]) -> f32 {
    let mut s = 0.0;
    for i in 0..x.len() {
        s += x[i];
    }
    s / x.len() as f32
}

#[kern::kernel]
fn scale_add(a: &[f64], b: &[f64], k: f64, out: &mut [f64]) {
    let i = global_id();
    if i < out.len() {
        out[i] = k * a[i] + b[i];
    }
}

#[kern::kernel]
fn histogram(x: &[i64], bins: &mut [i64]) {
    let i = global_id();
    if i < x.len() {
        atomic_add(&mut bins, (x[i] % 10) as usize, 1);
    }
}

fn f32s(result: &NdArray) -> ArrayD<f32> {
    result.as_array::<f32>().expect("an f32 array").clone()
}

#[test]
fn a_vectorized_function_matches_plain_rust_on_every_target() {
    let x = Array1::from_shape_fn(1000, |i| i as f32 * 0.25);
    let y = Array1::from_shape_fn(1000, |i| (i % 7) as f32);
    let expected = x
        .iter()
        .zip(&y)
        .map(|(x, y)| 2.0 * x + y)
        .collect::<Array1<f32>>();
    assert_eq!(
        f32s(&saxpy(2.0f32, &x, &y).unwrap()),
        expected.clone().into_dyn()
    );
    for target in [Target::Cpu, Target::Parallel] {
        let on = saxpy::on(target).unwrap();
        assert_eq!(on.target(), target);
        let got = on.call(&[2.0f32.into(), (&x).into(), (&y).into()]).unwrap();
        assert_eq!(f32s(&got), expected.clone().into_dyn(), "{target}");
    }
}

#[test]
fn operands_are_arrays_of_any_rank_views_and_scalars_in_any_mix() {
    let grid = Array2::from_shape_fn((3, 4), |(i, j)| (i * 4 + j) as f32);
    let row = array![1.0f32, 2.0, 3.0];
    let got = saxpy(&row, &grid.t(), 1.0f32).unwrap();
    assert_eq!(got.shape(), &[4, 3]);
    let expected = Array2::from_shape_fn((4, 3), |(i, j)| row[j] * grid[[j, i]] + 1.0);
    assert_eq!(f32s(&got), expected.into_dyn());
    let all_scalars = saxpy(3.0f32, 2.0f32, 1.0f32).unwrap();
    assert_eq!(all_scalars.get(&[]), Some(ScalarValue::F32(7.0)));
    let reversed = grid.slice(s![.., ..;-1]);
    let got = saxpy(1.0f32, &reversed, 0.0f32).unwrap();
    assert_eq!(f32s(&got), reversed.to_owned().into_dyn());
}

#[test]
fn the_out_variant_writes_into_a_given_buffer() {
    let x = array![1.0f32, 2.0, 3.0];
    let mut out = Array1::<f32>::zeros(3);
    saxpy::call_out(&[2.0f32.into(), (&x).into(), (&x).into()], &mut out).unwrap();
    assert_eq!(out, array![3.0f32, 6.0, 9.0]);
    let mut wrong_shape = Array1::<f32>::zeros(4);
    let error = saxpy::call_out(&[2.0f32.into(), (&x).into(), (&x).into()], &mut wrong_shape);
    assert!(error.unwrap_err().to_string().contains("broadcast"));
}

/// Signature `(),()->()`: a ufunc, so its module has `reduce`, `accumulate`, `outer`.
#[kern::guvectorize]
fn larger(a: i64, b: i64) -> i64 {
    if a > b {
        a
    } else {
        b
    }
}

#[test]
fn a_scalar_signature_gufunc_has_the_ufunc_methods() {
    let x = array![3i64, 9, 2];
    let top = larger::reduce(&x, &Reduce::default()).unwrap();
    assert_eq!(top.get(&[]), Some(ScalarValue::I64(9)));
    let running = larger::accumulate(&x, 0).unwrap();
    assert_eq!(
        running.as_array::<i64>().unwrap(),
        &array![3i64, 9, 9].into_dyn()
    );
    let table = larger::outer(&array![1i64, 5], &x).unwrap();
    assert_eq!(
        table.as_array::<i64>().unwrap(),
        &array![[3i64, 9, 2], [5, 9, 5]].into_dyn()
    );
}

#[test]
fn the_where_variants_compute_only_the_selected_elements() {
    // `safe_div` traps on a zero divisor; the mask keeps it from being computed.
    let (a, b) = (array![6i32, 1, 8], array![3i32, 0, 2]);
    let mask = b.mapv(|v| v != 0);
    let mut out = Array1::<i32>::from_elem(3, -1);
    safe_div::call_out_where(&[(&a).into(), (&b).into()], &mask, &mut out).unwrap();
    assert_eq!(out, array![2i32, -1, 4]);
    let fresh = safe_div::call_where(&[(&a).into(), (&b).into()], &mask).unwrap();
    assert_eq!(
        fresh.as_array::<i32>().unwrap(),
        &array![2i32, 0, 4].into_dyn()
    );
}

/// An output-only core dimension with a declared size.
#[kern::guvectorize("(m),(n)->(p)", p = "m + n - 1")]
fn convolve(a: &[f64], b: &[f64], out: &mut [f64]) {
    for i in 0..out.len() {
        out[i] = 0.0;
    }
    for i in 0..a.len() {
        for j in 0..b.len() {
            out[i + j] += a[i] * b[j];
        }
    }
}

#[test]
fn the_handles_take_numpys_call_options() {
    // casting=, dtype= on a ufunc's handle.
    let x = array![1.5f64, 2.5];
    let as_f32 = add::handle().unwrap().clone().with_dtype(kern::DType::F32);
    let sum = as_f32.call(&[(&x).into(), (&x).into()]).unwrap();
    assert_eq!(
        sum.as_array::<f32>().unwrap(),
        &array![3.0f32, 5.0].into_dyn()
    );
    let strict = add::handle()
        .unwrap()
        .clone()
        .with_casting(kern::Casting::No);
    let mut out = Array1::<f32>::zeros(2);
    assert!(strict
        .call_out(&[(&x).into(), (&x).into()], &mut out)
        .unwrap_err()
        .to_string()
        .contains("casting rule 'no'"));
    // axes= on a gufunc's handle, and a declared output size.
    let rows = array![[1.0f64, 2.0], [3.0, 4.0]];
    let by_column = matmul::handle()
        .unwrap()
        .clone()
        .with_axes(&[&[1, 0], &[0, 1], &[0, 1]]);
    let product = by_column.call(&[(&rows).into(), (&rows).into()]).unwrap();
    // rowsᵀ · rows
    assert_eq!(
        product[0].as_array::<f64>().unwrap(),
        &array![[10.0, 14.0], [14.0, 20.0]].into_dyn()
    );
    let smoothed = convolve(&array![1.0, 2.0, 3.0], &array![1.0, -1.0]).unwrap();
    assert_eq!(
        smoothed.as_array::<f64>().unwrap(),
        &array![1.0, 1.0, 1.0, -3.0].into_dyn()
    );
}

#[test]
fn a_generic_ufunc_specialises_per_dtype_and_keeps_its_declared_target() {
    assert_eq!(discriminant::handle().unwrap().target(), Target::Parallel);
    let (a, b, c) = (
        array![1.0f64, 2.0],
        array![5.0f64, 1.0],
        array![1.0f64, 3.0],
    );
    let got = discriminant(&a, &b, &c).unwrap();
    let expected: Array1<f64> = (0..2).map(|i| b[i] * b[i] - 4.0 * a[i] * c[i]).collect();
    assert_eq!(got.as_array::<f64>().unwrap(), &expected.into_dyn());
    let (a, b, c) = (
        a.mapv(|v| v as f32),
        b.mapv(|v| v as f32),
        c.mapv(|v| v as f32),
    );
    let got = discriminant(&a, &b, &c).unwrap();
    assert_eq!(got.dtype(), kern::DType::F32);
    assert_eq!(
        got,
        discriminant::on(Target::Cpu)
            .unwrap()
            .call(&[(&a).into(), (&b).into(), (&c).into()])
            .unwrap()
    );
}

#[test]
fn a_type_list_fixes_the_loops_and_unsafe_casts_are_errors() {
    assert_eq!(halve(&array![1.0f32]).unwrap().dtype(), kern::DType::F32);
    // i32 is not listed, but converts safely to f64: the f64 loop runs.
    assert_eq!(
        halve(&array![3i32]).unwrap().get(&[0]),
        Some(ScalarValue::F64(1.5))
    );
    // f64 does not convert safely to saxpy's f32: no loop fits.
    let error = saxpy(2.0f32, &array![1.0f64], &array![1.0f64]).unwrap_err();
    assert!(matches!(error, kern::Error::Call(_)), "{error}");
}

#[test]
fn wrong_arity_through_the_module_is_an_error_not_a_panic() {
    let x = array![1.0f32];
    let error = saxpy::call(&[(&x).into()]).unwrap_err();
    assert!(
        error
            .to_string()
            .contains("takes 3 inputs but 1 were given"),
        "{error}"
    );
}

#[test]
fn binary_ufuncs_reduce_accumulate_and_outer_like_plain_rust() {
    let a = Array2::from_shape_fn((3, 5), |(i, j)| (i * 5 + j) as i64);
    let total = add::reduce(&a, &Reduce::all()).unwrap();
    assert_eq!(total.get(&[]), Some(ScalarValue::I64(a.sum())));
    let by_rows = add::reduce(&a, &Reduce::axis(1)).unwrap();
    assert_eq!(
        by_rows.as_array::<i64>().unwrap(),
        &a.sum_axis(kern::ndarray::Axis(1)).into_dyn()
    );
    let running = add::accumulate(&array![1.0f64, 2.0, 3.0], 0).unwrap();
    assert_eq!(
        running.as_array::<f64>().unwrap(),
        &array![1.0, 3.0, 6.0].into_dyn()
    );
    let table = add::outer(&array![1i32, 2], &array![10i32, 20, 30]).unwrap();
    assert_eq!(
        table.as_array::<i32>().unwrap(),
        &array![[11, 21, 31], [12, 22, 32]].into_dyn()
    );
    let parallel = add::on(Target::Parallel).unwrap();
    let big = Array1::from_shape_fn(100_000, |i| (i % 1000) as i64);
    let sum = parallel.reduce(&big, &Reduce::all()).unwrap();
    assert_eq!(sum.get(&[]), Some(ScalarValue::I64(big.sum())));
}

#[test]
fn a_kernel_error_is_an_err_with_the_location_in_the_rust_file() {
    let error = safe_div(&array![1i32, 2], &array![1i32, 0]).unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, kern::Error::Kernel { .. }), "{text}");
    // `a / b` is on line 32 of this file.
    assert!(text.contains("tests/macros.rs:32:"), "{text}");
}

#[test]
fn a_gufunc_matches_plain_rust_on_every_target() {
    assert_eq!(matmul::SIGNATURE, "(M,N),(N,P)->(M,P)");
    let a = Array3::from_shape_fn((50, 3, 4), |(b, i, j)| {
        ((b + 2 * i + 3 * j) % 11) as f64 - 5.0
    });
    let b = Array3::from_shape_fn((50, 4, 2), |(b, i, j)| ((3 * b + i + j) % 7) as f64 * 0.5);
    let mut expected = Array3::<f64>::zeros((50, 3, 2));
    for n in 0..50 {
        for i in 0..3 {
            for j in 0..2 {
                expected[[n, i, j]] = (0..4).map(|k| a[[n, i, k]] * b[[n, k, j]]).sum();
            }
        }
    }
    assert_eq!(
        matmul(&a, &b).unwrap().as_array::<f64>().unwrap(),
        &expected.clone().into_dyn()
    );
    for target in [Target::Cpu, Target::Parallel] {
        let got = matmul::on(target)
            .unwrap()
            .call(&[(&a).into(), (&b).into()])
            .unwrap();
        assert_eq!(
            got[0].as_array::<f64>().unwrap(),
            &expected.clone().into_dyn(),
            "{target}"
        );
    }
    let mut out = Array3::<f64>::zeros((50, 3, 2));
    matmul::call_out(&[(&a).into(), (&b).into()], vec![(&mut out).into()]).unwrap();
    assert_eq!(out, expected);
    let error = matmul(&a, &a).unwrap_err();
    assert!(matches!(error, kern::Error::Call(_)), "{error}");
}

#[test]
fn a_gufunc_with_an_explicit_signature_returns_all_its_outputs() {
    assert_eq!(sum_and_dot::SIGNATURE, "(n),(n)->(n),()");
    let a = array![[3.0f64, 4.0], [1.0, 0.0]];
    let b = array![[1.0f64, 1.0], [2.0, 5.0]];
    let outputs = sum_and_dot(&a, &b).unwrap();
    assert_eq!(outputs.len(), 2);
    assert_eq!(outputs[0].as_array::<f64>().unwrap(), &(&a + &b).into_dyn());
    assert_eq!(
        outputs[1].as_array::<f64>().unwrap(),
        &array![7.0, 2.0].into_dyn()
    );
}

#[test]
fn a_jit_function_matches_plain_rust() {
    let plain = (2..1000i64)
        .filter(|k| (2..*k).take_while(|d| d * d <= *k).all(|d| k % d != 0))
        .sum::<i64>();
    assert_eq!(sum_primes_below(1000).unwrap(), plain);
    let a = Array1::from_shape_fn(100, |i| i as f64);
    let b = Array1::from_shape_fn(100, |i| (100 - i) as f64);
    let mut out = Array1::<f64>::zeros(100);
    sum_arrays(&a, &b, &mut out).unwrap();
    assert_eq!(out, &a + &b);
    assert_eq!(mean(&array![1.0f32, 2.0, 6.0]).unwrap(), 3.0);
    let untyped = sum_primes_below::call(&mut [kern::Arg::Scalar(ScalarValue::I64(10))]).unwrap();
    assert_eq!(untyped, Some(ScalarValue::I64(17)));
}

#[test]
fn a_jit_function_reports_wrong_arrays_and_traps_as_errors() {
    let mut out = Array1::<f64>::zeros(3);
    let wrong_dtype = sum_arrays(&array![1.0f32, 2.0, 3.0], &array![1.0, 2.0, 3.0], &mut out);
    assert!(matches!(wrong_dtype.unwrap_err(), kern::Error::Call(_)));
    let too_short = sum_arrays(&array![1.0, 2.0], &array![1.0, 2.0, 3.0], &mut out).unwrap_err();
    assert!(
        too_short.to_string().contains("index out of bounds"),
        "{too_short}"
    );
    assert!(
        too_short.to_string().contains("tests/macros.rs:"),
        "{too_short}"
    );
}

#[test]
fn many_threads_share_one_handle_and_agree() {
    let x = Array1::from_shape_fn(4096, |i| i as f64);
    let results: Vec<NdArray> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8).map(|_| scope.spawn(|| halve(&x).unwrap())).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let expected = x.mapv(|v| v * 0.5).into_dyn();
    for r in &results {
        assert_eq!(r.as_array::<f64>().unwrap(), &expected);
    }
    let first = halve::handle().unwrap() as *const kern::Ufunc;
    let again = std::thread::spawn(|| halve::handle().unwrap() as *const kern::Ufunc as usize)
        .join()
        .unwrap();
    assert_eq!(first as usize, again, "one handle per process");
    let sums: Vec<i64> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..4)
            .map(|_| scope.spawn(|| sum_primes_below(200).unwrap()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert!(sums.iter().all(|&s| s == sums[0]));
}

#[test]
fn the_captured_source_is_kern_spelling_at_the_rust_positions() {
    assert!(saxpy::SOURCE.starts_with("#[vectorize]"));
    let lines: Vec<&str> = saxpy::SOURCE.lines().collect();
    // `fn saxpy` is on line 10 of this file, its body on line 11.
    assert_eq!(lines[9], "fn saxpy(a: f32, x: f32, y: f32) -> f32 {");
    assert_eq!(lines[10], "    a * x + y");
    assert!(!discriminant::SOURCE.contains("doc"));
    assert!(!discriminant::SOURCE.contains("pub"));
}

#[test]
fn a_kernel_launches_over_a_grid_on_every_target_like_plain_rust() {
    let n = 100_000;
    let a = Array1::from_shape_fn(n, |i| i as f64 * 0.5);
    let b = Array1::from_shape_fn(n, |i| (i % 13) as f64);
    let expected = Array1::from_shape_fn(n, |i| 3.0 * a[i] + b[i]);
    let mut out = Array1::<f64>::zeros(n);
    scale_add(n.div_ceil(256), 256, &a, &b, 3.0, &mut out).unwrap();
    assert_eq!(out, expected);
    // The same launch on `parallel` (blocks split over the cores), and atomics
    // exact however the blocks are split.
    let mut out = Array1::<f64>::zeros(n);
    scale_add::on(Target::Parallel)
        .unwrap()
        .launch(
            n.div_ceil(256),
            256,
            &mut [
                kern::Arg::Ref((&a).into()),
                kern::Arg::Ref((&b).into()),
                3.0f64.into(),
                kern::Arg::Mut((&mut out).into()),
            ],
            &mut std::io::sink(),
        )
        .unwrap();
    assert_eq!(out, expected);
    let x = Array1::from_shape_fn(n, |i| (i * 7 % 1000) as i64);
    let mut bins = Array1::<i64>::zeros(10);
    histogram((n.div_ceil(128), 1), 128, &x, &mut bins).unwrap();
    let mut plain = [0i64; 10];
    for v in &x {
        plain[(v % 10) as usize] += 1;
    }
    assert_eq!(bins.as_slice().unwrap(), &plain);
    // Indexing past the end is an error with the location in this file.
    let short = Array1::<f64>::zeros(10);
    let err = scale_add(1, 32, &short, &short, 1.0, &mut Array1::<f64>::zeros(32)).unwrap_err();
    assert!(err.to_string().contains("tests/macros.rs"), "{err}");
}

#[test]
fn annotated_functions_compile_or_fail_with_kern_messages() {
    let cases = trybuild::TestCases::new();
    cases.pass("tests/macros_ui/pass/*.rs");
    cases.compile_fail("tests/macros_ui/fail/*.rs");
}
