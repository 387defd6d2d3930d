//! Gufunc conformance, written from NumPy's documented behaviour for generalized
//! ufuncs: core dimensions matched from the end and never broadcast, loop
//! dimensions broadcast, frozen and optional (`?`) dimensions, outputs sized from
//! the inputs or a given `out`, NumPy's error messages, empty loops and empty core
//! dimensions, strided and reversed inputs, dtype conversion by safe casting.
//!
//! Every case is a function of the target; `suite!` instantiates all of them once
//! per target (`cpu`, `parallel`; a `cuda` line can be added), and the last cases
//! check that `parallel` is bit-identical to `cpu` on work large enough to split.

use kern_runtime::{Error, Module, NdArray, Operand, OutOperand, Target};
use ndarray::{s, Array, ArrayD, ArrayViewD, ArrayViewMutD, IxDyn};

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

#[guvectorize("(m?,n),(n,p?)->(m?,p?)")]
fn matmul_opt(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[k][j]; }
            out[i][j] = s;
        }
    }
}

#[guvectorize]
fn cross(a: &[f64; 3], b: &[f64; 3], out: &mut [f64; 3]) {
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

#[guvectorize]
fn norm<T: Float>(x: &[T]) -> T {
    let mut s = 0.0;
    for i in 0..x.len() { s += x[i] * x[i]; }
    s.sqrt()
}

#[guvectorize]
fn cumsum_total(x: &[f64; N], cum: &mut [f64; N]) -> f64 {
    let mut s = 0.0;
    for i in 0..N { s += x[i]; cum[i] = s; }
    s
}

#[guvectorize]
fn weighted(x: &[f64], w: f64) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() { s += x[i]; }
    s * w
}

// An output-only dimension with a declared size (NumPy needs a
// process_core_dims hook for this).
#[guvectorize("(m),(n)->(p)", p = "m + n - 1")]
fn convolve(a: &[f64], b: &[f64], out: &mut [f64]) {
    for i in 0..out.len() { out[i] = 0.0; }
    for i in 0..a.len() { for j in 0..b.len() { out[i + j] += a[i] * b[j]; } }
}

#[guvectorize("(n)->(n,k)")]
fn powers(x: &[f64], out: &mut [[f64; K]; N]) {
    for i in 0..N { let mut p = 1.0; for j in 0..K { out[i][j] = p; p *= x[i]; } }
}

// Signature `(),()->()`: a ufunc in all but name (neither associative nor commutative).
#[guvectorize]
fn mix(a: i64, b: i64) -> i64 { (3 * a + b) % 1000 }

#[guvectorize]
fn past_the_end(x: &[i64]) -> i64 { x[x.len()] }

#[guvectorize]
fn length(x: &[i64]) -> i64 { x.len() as i64 + 100 }

#[guvectorize]
fn isum(x: &[i32]) -> i32 {
    let mut s = 0;
    for i in 0..x.len() { s += x[i]; }
    s
}
"#;

fn module() -> Module {
    match Module::from_source("gufuncs.kern", SOURCE) {
        Ok(m) => m,
        Err(e) => panic!("{e}"),
    }
}

fn gufunc(name: &str, target: Target) -> kern_runtime::Gufunc {
    module().gufunc(name).unwrap().with_target(target)
}

fn arr(shape: &[usize], f: impl Fn(usize) -> f64) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    ArrayD::from_shape_vec(IxDyn(shape), (0..n).map(f).collect()).unwrap()
}

fn f64s(out: &NdArray) -> ArrayD<f64> {
    out.as_array::<f64>().expect("an f64 output").clone()
}

fn call_err(g: &kern_runtime::Gufunc, inputs: &[Operand<'_>]) -> String {
    match g.call(inputs) {
        Err(Error::Call(message)) => message,
        other => panic!("expected a call error, got {other:?}"),
    }
}

/// `a @ b` over broadcast leading dimensions, computed naively.
fn reference_matmul(a: &ArrayD<f64>, b: &ArrayD<f64>) -> ArrayD<f64> {
    let (ra, rb) = (a.ndim(), b.ndim());
    let (m, n, p) = (a.shape()[ra - 2], a.shape()[ra - 1], b.shape()[rb - 1]);
    let loops = ra.max(rb) - 2;
    let mut lshape = vec![1; loops];
    for (shape, r) in [(a.shape(), ra), (b.shape(), rb)] {
        for (k, &d) in shape[..r - 2].iter().rev().enumerate() {
            let slot = &mut lshape[loops - 1 - k];
            assert!(*slot == 1 || d == 1 || *slot == d);
            *slot = (*slot).max(d);
        }
    }
    let mut shape = lshape.clone();
    shape.extend([m, p]);
    ArrayD::from_shape_fn(IxDyn(&shape), |idx| {
        let (i, j) = (idx[loops], idx[loops + 1]);
        let at = |x: &ArrayD<f64>, r: usize, row: usize, col: usize| {
            let mut full: Vec<usize> = Vec::new();
            for k in 0..r - 2 {
                let d = x.shape()[k];
                full.push(if d == 1 { 0 } else { idx[loops - (r - 2) + k] });
            }
            full.extend([row, col]);
            x[IxDyn(&full)]
        };
        (0..n).fold(0.0, |s, k| s + at(a, ra, i, k) * at(b, rb, k, j))
    })
}

fn matmul_batched_over_broadcast_loop_dims(target: Target) {
    let g = gufunc("matmul", target);
    assert_eq!(g.signature(), "(M,N),(N,P)->(M,P)");
    assert_eq!((g.nin(), g.nout()), (2, 1));
    let a = arr(&[2, 1, 3, 4], |i| (i as f64 * 0.37).sin());
    let b = arr(&[5, 4, 2], |i| (i as f64 * 0.11).cos() - 0.5);
    let out = g.call(&[(&a).into(), (&b).into()]).unwrap();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].shape(), [2, 5, 3, 2]);
    assert_eq!(f64s(&out[0]), reference_matmul(&a, &b));
}

fn frozen_dimensions(target: Target) {
    let g = gufunc("cross", target);
    assert_eq!(g.signature(), "(3),(3)->(3)");
    let a = arr(&[4, 3], |i| i as f64);
    let b = arr(&[3], |i| [1.0, -2.0, 0.5][i]);
    let out = f64s(&g.call(&[(&a).into(), (&b).into()]).unwrap()[0]);
    for r in 0..4 {
        let x = a.slice(s![r, ..]);
        assert_eq!(out[[r, 0]], x[1] * b[2] - x[2] * b[1]);
        assert_eq!(out[[r, 2]], x[0] * b[1] - x[1] * b[0]);
    }
    assert_eq!(
        call_err(&g, &[(&arr(&[4], |i| i as f64)).into(), (&b).into()]),
        "cross: Input operand 0 has a mismatch in its core dimension 0, with gufunc signature (3),(3)->(3) (size 4 is different from 3)"
    );
}

fn optional_dimensions(target: Target) {
    let g = gufunc("matmul_opt", target);
    let m = arr(&[2, 3], |i| i as f64 + 1.0);
    let v = arr(&[3], |i| [1.0, 0.0, -1.0][i]);
    let w = arr(&[2], |i| [2.0, 1.0][i]);
    // matrix @ vector: p is missing, the output is (m,).
    let out = f64s(&g.call(&[(&m).into(), (&v).into()]).unwrap()[0]);
    assert_eq!(out, arr(&[2], |i| [-2.0, -2.0][i]));
    // vector @ matrix: m is missing.
    let out = f64s(&g.call(&[(&w).into(), (&m).into()]).unwrap()[0]);
    assert_eq!(out, arr(&[3], |i| [6.0, 9.0, 12.0][i]));
    // vector @ vector: both missing, a 0-d result.
    let out = f64s(&g.call(&[(&v).into(), (&v).into()]).unwrap()[0]);
    assert_eq!(out.shape(), [] as [usize; 0]);
    assert_eq!(out[IxDyn(&[])], 2.0);
    // A stack of vectors has enough dimensions: nothing is dropped.
    let out = g.call(&[(&m).into(), (&m.t().to_owned()).into()]).unwrap();
    assert_eq!(out[0].shape(), [2, 2]);
    assert_eq!(
        call_err(&g, &[(&v).into(), (&w).into()]),
        "matmul_opt: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature (m?,n),(n,p?)->(m?,p?) (size 2 is different from 3)"
    );
}

fn returned_output_and_generic_dtypes(target: Target) {
    let g = gufunc("norm", target);
    assert_eq!(g.signature(), "(n)->()");
    let x = arr(&[2, 2], |i| [3.0, 4.0, 6.0, 8.0][i]);
    let out = g.call(&[(&x).into()]).unwrap();
    assert_eq!(f64s(&out[0]), arr(&[2], |i| [5.0, 10.0][i]));
    // f32 specialises the generic body at f32; i32 and u8 reach a float safely.
    let x32 = x.mapv(|v| v as f32);
    let out = g.call(&[(&x32).into()]).unwrap();
    assert_eq!(out[0].as_array::<f32>().unwrap()[[1]], 10.0f32);
    let xi = x.mapv(|v| v as i32);
    assert_eq!(f64s(&g.call(&[(&xi).into()]).unwrap()[0])[[0]], 5.0);
    let xu = x.mapv(|v| v as u8);
    let out = g.call(&[(&xu).into()]).unwrap();
    assert_eq!(out[0].dtype(), kern_runtime::DType::F32);
}

fn two_outputs(target: Target) {
    let g = gufunc("cumsum_total", target);
    assert_eq!(g.signature(), "(N)->(N),()");
    let x = arr(&[2, 3], |i| i as f64);
    let out = g.call(&[(&x).into()]).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(
        f64s(&out[0]),
        arr(&[2, 3], |i| [0.0, 1.0, 3.0, 3.0, 7.0, 12.0][i])
    );
    assert_eq!(f64s(&out[1]), arr(&[2], |i| [3.0, 12.0][i]));
}

fn zero_size_loop_dimension_never_runs_the_kernel(target: Target) {
    // The body indexes past the end: any call of it would trap.
    let g = gufunc("past_the_end", target);
    let x = ndarray::Array2::<i64>::zeros((0, 4)).into_dyn();
    let out = g.call(&[(&x).into()]).unwrap();
    assert_eq!(out[0].shape(), [0]);
    // Matmul with an empty batch and a broadcast one.
    let a = arr(&[0, 2, 3], |_| 1.0);
    let b = arr(&[1, 3, 4], |_| 1.0);
    let out = gufunc("matmul", target)
        .call(&[(&a).into(), (&b).into()])
        .unwrap();
    assert_eq!(out[0].shape(), [0, 2, 4]);
}

fn zero_size_core_dimension_calls_the_kernel_with_n_0(target: Target) {
    let x = ndarray::Array2::<i64>::zeros((3, 0)).into_dyn();
    let out = gufunc("length", target).call(&[(&x).into()]).unwrap();
    assert_eq!(
        out[0].as_array::<i64>().unwrap().as_slice().unwrap(),
        [100; 3]
    );
    match gufunc("past_the_end", target).call(&[(&x).into()]) {
        Err(Error::Kernel { trap, .. }) => assert_eq!(
            trap.to_string(),
            "index out of bounds: the len is 0 but the index is 0"
        ),
        other => panic!("expected a trap, got {other:?}"),
    }
    // Matmul over an empty inner dimension: sums of nothing.
    let a = arr(&[2, 0], |_| 1.0);
    let b = arr(&[0, 3], |_| 1.0);
    let out = gufunc("matmul", target)
        .call(&[(&a).into(), (&b).into()])
        .unwrap();
    assert_eq!(f64s(&out[0]), ArrayD::zeros(IxDyn(&[2, 3])));
}

fn strided_and_reversed_inputs(target: Target) {
    let g = gufunc("matmul", target);
    let big = arr(&[4, 6, 8], |i| (i as f64 * 0.7).sin());
    let rhs = arr(&[8, 5], |i| (i as f64 * 0.3).cos());
    let a = big.slice(s![..;-1, ..;2, 1..;2]).to_owned().into_dyn(); // reference operands
    let a_view = big.slice(s![..;-1, ..;2, 1..;2]);
    let b_view = rhs.slice(s![..;-2, ..;-1]);
    let b = b_view.to_owned().into_dyn();
    let out = g.call(&[(&a_view).into(), (&b_view).into()]).unwrap();
    assert_eq!(f64s(&out[0]), reference_matmul(&a, &b));
    // A transposed (Fortran-ordered) operand.
    let t = arr(&[5, 4], |i| i as f64 - 3.0);
    let out = g
        .call(&[(&t.t()).into(), (&rhs.slice(s![..5, ..])).into()])
        .unwrap();
    let expected = reference_matmul(
        &t.t().to_owned(),
        &rhs.slice(s![..5, ..]).to_owned().into_dyn(),
    );
    assert_eq!(f64s(&out[0]), expected);
}

fn scalar_inputs_are_empty_core_dimensions(target: Target) {
    let g = gufunc("weighted", target);
    assert_eq!(g.signature(), "(n),()->()");
    let x = arr(&[3, 2], |i| i as f64);
    let out = g.call(&[(&x).into(), 2.0.into()]).unwrap();
    assert_eq!(f64s(&out[0]), arr(&[3], |i| [2.0, 10.0, 18.0][i]));
    // An array of weights broadcast against the rows, converted from i32 in the loop.
    let w = ndarray::arr1(&[1i32, 0, -1]).into_dyn();
    let out = g.call(&[(&x).into(), (&w).into()]).unwrap();
    assert_eq!(f64s(&out[0]), arr(&[3], |i| [1.0, 0.0, -9.0][i]));
}

fn out_given(target: Target) {
    let g = gufunc("matmul", target);
    let a = arr(&[3, 2, 2], |i| i as f64);
    let b = arr(&[2, 2], |i| [1.0, 2.0, 3.0, 4.0][i]);
    let mut out = ArrayD::<f64>::from_elem(IxDyn(&[3, 2, 2]), f64::NAN);
    g.call_out(&[(&a).into(), (&b).into()], vec![(&mut out).into()])
        .unwrap();
    assert_eq!(out, reference_matmul(&a, &b));
    // Another dtype (same_kind): computed in f64, stored as f32.
    let mut out32 = ArrayD::<f32>::zeros(IxDyn(&[3, 2, 2]));
    g.call_out(&[(&a).into(), (&b).into()], vec![(&mut out32).into()])
        .unwrap();
    assert_eq!(out32, reference_matmul(&a, &b).mapv(|v| v as f32));
    // A given out sizes output-only dimensions.
    let p = gufunc("powers", target);
    let x = arr(&[2], |i| [2.0, 3.0][i]);
    assert_eq!(
        call_err(&p, &[(&x).into()]),
        "powers: Output operand 0 has core dimension 1 unspecified, with gufunc signature (n)->(n,k)"
    );
    let mut table = ArrayD::<f64>::zeros(IxDyn(&[2, 3]));
    p.call_out(&[(&x).into()], vec![(&mut table).into()])
        .unwrap();
    assert_eq!(table, arr(&[2, 3], |i| [1.0, 2.0, 4.0, 1.0, 3.0, 9.0][i]));
    // Two outputs into given arrays, the returned one as i64 (converted in the loop).
    let c = gufunc("cumsum_total", target);
    let mut cum = ArrayD::<f64>::zeros(IxDyn(&[2]));
    let mut total = ndarray::arr0(0.0f32).into_dyn();
    let outs: Vec<OutOperand<'_>> = vec![(&mut cum).into(), (&mut total).into()];
    c.call_out(&[(&x).into()], outs).unwrap();
    assert_eq!((cum[[1]], total[IxDyn(&[])]), (5.0, 5.0f32));
}

fn out_with_more_loop_dimensions_broadcasts_the_inputs(target: Target) {
    // As in NumPy, the inputs' loop dimensions stretch to a given output's: every
    // row of `out` is filled.
    let g = gufunc("matmul", target);
    let a = arr(&[3, 2, 2], |i| i as f64);
    let b = arr(&[2, 2], |i| [1.0, 2.0, 3.0, 4.0][i]);
    let mut out = ArrayD::<f64>::from_elem(IxDyn(&[5, 3, 2, 2]), f64::NAN);
    g.call_out(&[(&a).into(), (&b).into()], vec![(&mut out).into()])
        .unwrap();
    let one = reference_matmul(&a, &b);
    for row in out.outer_iter() {
        assert_eq!(row, one);
    }
    // A returned output too: one norm per row of `out`.
    let n = gufunc("norm", target);
    let x = arr(&[2], |i| [3.0, 4.0][i]);
    let mut norms = ArrayD::<f64>::zeros(IxDyn(&[4]));
    n.call_out(&[(&x).into()], vec![(&mut norms).into()])
        .unwrap();
    assert_eq!(norms, ArrayD::from_elem(IxDyn(&[4]), 5.0));
}

/// Work under the documented threshold (16 Ki elements per chunk) is never
/// split: three loop indices of 12 Ki elements each cannot make two chunks of
/// 16 Ki, so `parallel` runs them in order, like `cpu`, and stops at the trap in
/// the second before running the third.
fn calls_under_the_work_threshold_run_serially(target: Target) {
    if target == Target::Mpi {
        // `mpi` splits the loop's rows across ranks whatever their work (docs/mpi.md).
        return;
    }
    let mut x = ArrayD::<i64>::from_elem(IxDyn(&[3, 12 * 1024]), 1);
    x[[1, 5]] = 0;
    let probe = "#[guvectorize] fn inv(x: &[i64]) -> i64 { let mut s = 0; for i in 0..x.len() { s += 100 / x[i]; } s }";
    let m = Module::from_source("probe.kern", probe).unwrap();
    let inv = m.gufunc("inv").unwrap().with_target(target);
    let mut out = ArrayD::<i64>::zeros(IxDyn(&[3]));
    let err = inv.call_out(&[(&x).into()], vec![(&mut out).into()]);
    assert!(matches!(err, Err(Error::Kernel { .. })), "{err:?}");
    assert_eq!(out, ndarray::arr1(&[100 * 12 * 1024, 0, 0]).into_dyn());
}

/// NumPy treats a gufunc whose signature is `(),()->()` as a ufunc: it has
/// `reduce` (in order: it has no identity), `accumulate` and `outer`, and is a
/// ufunc handle too.
fn scalar_signature_gufuncs_are_ufuncs(target: Target) {
    let f = |a: i64, b: i64| (3 * a + b) % 1000;
    let g = gufunc("mix", target);
    assert_eq!(g.signature(), "(),()->()");
    let x = ndarray::arr1(&[1i64, 2, 3, 4]).into_dyn();
    let folded = [2, 3, 4].iter().fold(1, |a, &b| f(a, b));
    let r = g.reduce(&x, &kern_runtime::Reduce::default()).unwrap();
    assert_eq!(r.get(&[]), Some(kern_runtime::ScalarValue::I64(folded)));
    let r = g.accumulate(&x, 0).unwrap();
    let running: Vec<i64> = vec![1, f(1, 2), f(f(1, 2), 3), folded];
    assert_eq!(
        r.as_array::<i64>().unwrap().as_slice().unwrap(),
        running.as_slice()
    );
    let r = g
        .outer(&ndarray::arr1(&[1i64, 2]), &ndarray::arr1(&[10i64, 20, 30]))
        .unwrap();
    assert_eq!(r.shape(), &[2, 3]);
    assert_eq!(
        r.get(&[1, 2]),
        Some(kern_runtime::ScalarValue::I64(f(2, 30)))
    );
    let m = ndarray::arr2(&[[1i64, 2], [3, 4]]).into_dyn();
    assert_eq!(
        g.reduce(&m, &kern_runtime::Reduce::all())
            .unwrap_err()
            .to_string(),
        "error: reduction operation `mix` is not reorderable, so at most one axis may be specified"
    );
    // The ufunc handle: elementwise calls with broadcasting, same answers.
    let u = module().ufunc("mix").unwrap().with_target(target);
    let r = u.call(&[(&m).into(), 5i64.into()]).unwrap();
    assert_eq!(
        r.get(&[1, 0]),
        Some(kern_runtime::ScalarValue::I64(f(3, 5)))
    );
    // Any other gufunc is not a ufunc (NumPy: "Reduction not defined on ufunc
    // with signature").
    let err = gufunc("matmul", target)
        .reduce(&m, &kern_runtime::Reduce::default())
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: reduce is not defined on gufunc `matmul` with signature (M,N),(N,P)->(M,P): only a gufunc whose signature is all scalars, like (),()->(), is a ufunc"
    );
}

fn out_errors(target: Target) {
    let g = gufunc("matmul", target);
    let a = arr(&[3, 2, 2], |i| i as f64);
    let b = arr(&[2, 2], |i| i as f64);
    let mut wrong_loop = ArrayD::<f64>::zeros(IxDyn(&[4, 2, 2]));
    let err = g.call_out(&[(&a).into(), (&b).into()], vec![(&mut wrong_loop).into()]);
    assert_eq!(
        err.unwrap_err().to_string(),
        "error: matmul: operands could not be broadcast together with loop shapes (3,) () (4,) (their shapes without the core dimensions of signature (M,N),(N,P)->(M,P))"
    );
    // An output is never stretched to the inputs' loop shape.
    let mut too_few = ArrayD::<f64>::zeros(IxDyn(&[1, 2, 2]));
    let err = g.call_out(&[(&a).into(), (&b).into()], vec![(&mut too_few).into()]);
    assert_eq!(
        err.unwrap_err().to_string(),
        "error: matmul: non-broadcastable output operand 0 with loop shape (1,) doesn't match the broadcast loop shape (3,)"
    );
    let mut wrong_core = ArrayD::<f64>::zeros(IxDyn(&[3, 2, 5]));
    let err = g.call_out(&[(&a).into(), (&b).into()], vec![(&mut wrong_core).into()]);
    assert_eq!(
        err.unwrap_err().to_string(),
        "error: matmul: Output operand 0 has a mismatch in its core dimension 1, with gufunc signature (M,N),(N,P)->(M,P) (size 5 is different from 2)"
    );
    let mut ints = ArrayD::<i64>::zeros(IxDyn(&[3, 2, 2]));
    let err = g.call_out(&[(&a).into(), (&b).into()], vec![(&mut ints).into()]);
    assert_eq!(
        err.unwrap_err().to_string(),
        "error: cannot cast gufunc `matmul` output 0 from f64 to i64 with casting rule 'same_kind'"
    );
    let err = g.call_out(&[(&a).into(), (&b).into()], vec![]);
    assert_eq!(
        err.unwrap_err().to_string(),
        "error: gufunc `matmul` has 1 output but 0 were given"
    );
}

fn dimension_and_arity_errors(target: Target) {
    let g = gufunc("matmul", target);
    let sig = "(M,N),(N,P)->(M,P)";
    let v = arr(&[3], |_| 1.0);
    let m23 = arr(&[2, 3], |_| 1.0);
    let m22 = arr(&[2, 2], |_| 1.0);
    assert_eq!(
        call_err(&g, &[(&v).into(), (&m23).into()]),
        format!("matmul: Input operand 0 does not have enough dimensions (has 1, gufunc core with signature {sig} requires 2)")
    );
    assert_eq!(
        call_err(&g, &[(&m22).into(), (&m23.t().to_owned()).into()]),
        format!("matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature {sig} (size 3 is different from 2)")
    );
    // A host scalar has no dimensions at all.
    assert_eq!(
        call_err(&g, &[2.0.into(), (&m23).into()]),
        format!("matmul: Input operand 0 does not have enough dimensions (has 0, gufunc core with signature {sig} requires 2)")
    );
    // Core dimensions never broadcast: 1 is not stretched to 3.
    let m21 = arr(&[2, 1], |_| 1.0);
    assert_eq!(
        call_err(&g, &[(&m21).into(), (&m23).into()]),
        format!("matmul: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature {sig} (size 2 is different from 1)")
    );
    // Loop dimensions broadcast only where NumPy's rule allows.
    let a = arr(&[2, 2, 3], |_| 1.0);
    let b = arr(&[4, 3, 2], |_| 1.0);
    assert_eq!(
        call_err(&g, &[(&a).into(), (&b).into()]),
        format!("matmul: operands could not be broadcast together with loop shapes (2,) (4,) (their shapes without the core dimensions of signature {sig})")
    );
    assert_eq!(
        call_err(&g, &[(&m23).into()]),
        "gufunc `matmul` takes 2 inputs but 1 were given"
    );
    let x = arr(&[3], |_| 1.0);
    assert_eq!(
        call_err(&gufunc("isum", target), &[(&x).into()]),
        "gufunc `isum` has no loop for the input dtypes (f64); its loops are: (i32) -> i32"
    );
    assert!(module().gufunc("nope").is_err());
    let huge = "#[guvectorize] fn huge(x: f64, out: &mut [[f64; 4294967296]; 4294967296]) { out[0][0] = x; }";
    let m = Module::from_source("huge.kern", huge).unwrap();
    let g = m.gufunc("huge").unwrap().with_target(target);
    assert_eq!(
        call_err(&g, &[1.0.into()]),
        "huge: output operand 0 of shape (4294967296,4294967296) is too large"
    );
}

fn traps_report_the_kernel_source(target: Target) {
    let x = ndarray::Array2::<i64>::zeros((2, 3)).into_dyn();
    match gufunc("past_the_end", target).call(&[(&x).into()]) {
        Err(Error::Kernel { trap, rendered }) => {
            assert_eq!(
                trap.to_string(),
                "index out of bounds: the len is 3 but the index is 3"
            );
            assert!(rendered.contains("gufuncs.kern"), "{rendered}");
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// Large enough that `parallel` splits the loop; the results must be bit-identical.
fn parallel_matches_cpu_bit_for_bit(target: Target) {
    let a = arr(&[3000, 6, 7], |i| ((i * 7919) % 1000) as f64 / 7.0 - 70.0);
    let b = arr(&[7, 5], |i| (i as f64).sqrt());
    let run = |t: Target| {
        gufunc("matmul", t)
            .call(&[(&a).into(), (&b).into()])
            .unwrap()
    };
    let (mine, cpu) = (f64s(&run(target)[0]), f64s(&run(Target::Cpu)[0]));
    assert!(mine
        .iter()
        .zip(&cpu)
        .all(|(x, y)| x.to_bits() == y.to_bits()));
    assert_eq!(cpu, reference_matmul(&a, &b));
    // The first trap in loop order is the one reported, whoever hits it.
    let mut x = Array::from_elem((20_000, 4), 1i64).into_dyn();
    x.slice_mut(s![7000.., ..]).fill(0);
    let probe = "#[guvectorize] fn inv(x: &[i64]) -> i64 { let mut s = 0; for i in 0..x.len() { s += 100 / x[i]; } s }";
    let m = Module::from_source("probe.kern", probe).unwrap();
    let inv = m.gufunc("inv").unwrap().with_target(target);
    match inv.call(&[(&x).into()]) {
        Err(Error::Kernel { trap, .. }) => {
            assert_eq!(trap.to_string(), "attempt to divide by zero")
        }
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// The bits of every element of every output.
fn bits(outs: &[NdArray]) -> Vec<Vec<u64>> {
    outs.iter()
        .map(|o| f64s(o).iter().map(|x| x.to_bits()).collect())
        .collect()
}

/// Small core extents run a loop specialised on them (and on C-contiguous core
/// axes when the operands have them), others (and calls after a module's first
/// `MAX_SPECIALISED_PER_LOOP` sizes) the generic loop: the same bits either
/// way, and `matmul`'s are the naive product's.
fn specialised_and_generic_loops_compute_the_same_bits(target: Target) {
    use kern_runtime::gufunc::{MAX_CORE_EXTENT, MAX_SPECIALISED_PER_LOOP};
    let limit = MAX_CORE_EXTENT;
    // A fresh module's gufunc `name`, whose specialised loops are all taken
    // (by `fill(k)`, `k` in 1..=MAX_SPECIALISED_PER_LOOP) when `generic`.
    let fresh = |name: &str, generic: bool, fill: &dyn Fn(usize) -> Vec<ArrayD<f64>>| {
        let g = gufunc(name, target);
        if generic {
            for k in 1..=MAX_SPECIALISED_PER_LOOP {
                let inputs = fill(k);
                let operands: Vec<Operand<'_>> = inputs.iter().map(|a| a.into()).collect();
                g.call(&operands).unwrap();
            }
        }
        g
    };
    // `k x 1 @ 1 x 1`: sizes none of the cases below has.
    let thin = |k: usize| vec![arr(&[k, 1], |i| i as f64), arr(&[1, 1], |_| 2.0)];
    for (m, n, p) in [
        (1, 1, 2),
        (3, 3, 3),
        (4, 4, 4),
        (8, 8, 8),
        (limit, limit, limit),
        (3, 5, 2),
        (2, limit + 1, 3),
        (limit + 4, limit + 4, limit + 4),
    ] {
        let a = arr(&[7, m, 2 * n], |i| ((i * 7919) % 1013) as f64 / 9.0 - 50.0);
        let b = arr(&[p, n], |i| (i as f64 * 0.37).sin()).reversed_axes();
        let b_c = b.as_standard_layout().into_owned();
        // Reversed along the loop axis, b broadcast: C-contiguous core axes
        // (the loop for them); then b transposed in memory and a's rows every
        // other element (the loop for the extents only).
        let a_c = a
            .slice(s![..;-1, .., ..n])
            .as_standard_layout()
            .into_owned();
        let a_rev = a_c.slice(s![..;-1, .., ..]).into_dyn();
        let a_step = a.slice(s![.., .., ..;2]).into_dyn();
        for (a, b) in [
            (a_rev.clone(), b_c.view()),
            (a_rev, b.view()),
            (a_step, b_c.view()),
        ] {
            let results: Vec<_> = [false, true]
                .into_iter()
                .map(|generic| {
                    let g = fresh("matmul", generic, &thin);
                    bits(&g.call(&[(&a).into(), (&b).into()]).unwrap())
                })
                .collect();
            assert_eq!(results[0], results[1], "{m}x{n}x{p}");
            let expected = reference_matmul(&a.to_owned().into_dyn(), &b.to_owned().into_dyn());
            assert_eq!(results[0][0], bits(&[NdArray::from(expected)])[0]);
        }
    }
    // A returned output besides a core one, at small and large extents.
    // Sizes 6.. to take the slots: none of the cases below has them.
    assert!(5 + MAX_SPECIALISED_PER_LOOP < limit);
    let cumsum = |k: usize| vec![arr(&[2, 5 + k], |i| i as f64)];
    for n in [2, 5, limit, limit + 3] {
        let x = arr(&[9, n], |i| ((i * 31) % 17) as f64 * 0.1 - 0.7);
        let results: Vec<_> = [false, true]
            .into_iter()
            .map(|generic| {
                let g = fresh("cumsum_total", generic, &cumsum);
                bits(&g.call(&[(&x).into()]).unwrap())
            })
            .collect();
        assert_eq!(results[0], results[1], "n = {n}");
    }
}

/// `matmul(a, b, out=a)` at the sizes whose loop runs its columns side by
/// side in vectors (8x8, 16x16, 12 columns: a group of eight and one of
/// four): an input that shares memory with the output is copied first, so
/// the output is the product of the inputs' values, bit for bit.
fn an_output_that_is_an_input_gets_the_product_of_the_inputs(target: Target) {
    let g = gufunc("matmul", target);
    for (n, p) in [(8, 8), (16, 16), (12, 12)] {
        let mut a = arr(&[5, n, p], |i| ((i * 37) % 101) as f64 / 7.0 - 6.0);
        let b = arr(&[5, p, p], |i| ((i * 13) % 29) as f64 * 0.25 - 3.0);
        let expected = bits(&[NdArray::from(reference_matmul(&a, &b))]);
        let base = a.as_mut_ptr();
        // SAFETY: both views cover `a`'s buffer, which outlives the call.
        let input = unsafe { ArrayViewD::from_shape_ptr(IxDyn(&[5, n, p]), base as *const f64) };
        let mut out = unsafe { ArrayViewMutD::from_shape_ptr(IxDyn(&[5, n, p]), base) };
        g.call_out(&[(&input).into(), (&b).into()], vec![(&mut out).into()])
            .unwrap();
        assert_eq!(bits(&[NdArray::from(a)]), expected, "{n}x{p}");
    }
}

fn axes_axis_and_keepdims_place_the_core_dimensions(target: Target) {
    // NumPy: np.matmul(a, b, axes=[(0, 1), (0, 1), (1, 2)]) with the batch axis last
    // in the inputs and first in the output.
    let g = gufunc("matmul", target);
    let a = arr(&[3, 4, 5], |i| (i as f64 * 0.37).sin());
    let b = arr(&[4, 2, 5], |i| (i as f64 * 0.11).cos() - 0.5);
    let batch_first = |x: &ArrayD<f64>| x.view().permuted_axes(IxDyn(&[2, 0, 1])).to_owned();
    let expected = reference_matmul(&batch_first(&a), &batch_first(&b));
    let placed = g.clone().with_axes(&[&[0, 1], &[0, 1], &[1, 2]]);
    let out = placed.call(&[(&a).into(), (&b).into()]).unwrap();
    assert_eq!(out[0].shape(), [5, 3, 2]);
    assert_eq!(f64s(&out[0]), expected);
    // Core axes last in the output (negative axes count from the end), given as `out`.
    let mut given = ArrayD::<f64>::from_elem(IxDyn(&[3, 2, 5]), f64::NAN);
    g.clone()
        .with_axes(&[&[0, 1], &[-3, -2], &[0, 1]])
        .call_out(&[(&a).into(), (&b).into()], vec![(&mut given).into()])
        .unwrap();
    assert_eq!(batch_first(&given), expected);
    // A new output in another place: its memory is in the gufunc's order, as NumPy's.
    let out = g
        .clone()
        .with_axes(&[&[0, 1], &[0, 1], &[0, 1]])
        .call(&[(&a).into(), (&b).into()])
        .unwrap();
    assert_eq!(out[0].shape(), [3, 2, 5]);
    assert_eq!(batch_first(&f64s(&out[0])), expected);

    // `axis=` for a single shared core dimension; `keepdims=` keeps it with length 1.
    let norm = gufunc("norm", target);
    let x = arr(&[4, 3], |i| i as f64 - 5.0);
    let column_norms = arr(&[3], |j| {
        (0..4).map(|i| x[[i, j]] * x[[i, j]]).sum::<f64>().sqrt()
    });
    let by_column = norm.clone().with_axis(0).call(&[(&x).into()]).unwrap();
    assert_eq!(f64s(&by_column[0]), column_norms);
    let kept = norm
        .clone()
        .with_axis(0)
        .with_keepdims(true)
        .call(&[(&x).into()])
        .unwrap();
    assert_eq!(
        f64s(&kept[0]),
        column_norms.clone().insert_axis(ndarray::Axis(0))
    );
    let kept = norm
        .clone()
        .with_keepdims(true)
        .call(&[(&x).into()])
        .unwrap();
    assert_eq!(kept[0].shape(), [4, 1]);
    let mut into = ArrayD::<f64>::zeros(IxDyn(&[1, 3]));
    norm.clone()
        .with_axes(&[&[0], &[0]])
        .with_keepdims(true)
        .call_out(&[(&x).into()], vec![(&mut into).into()])
        .unwrap();
    assert_eq!(into, column_norms.insert_axis(ndarray::Axis(0)));

    // NumPy's errors.
    assert_eq!(
        call_err(&g.clone().with_axes(&[&[0, 1], &[0, 1]]), &[(&a).into(), (&b).into()]),
        "axes should be a list with an entry for all 3 inputs and outputs; entries for outputs can only be omitted if none of them has core axes."
    );
    assert_eq!(
        call_err(
            &g.clone().with_axes(&[&[0, 1], &[0, 1], &[0, 5]]),
            &[(&a).into(), (&b).into()]
        ),
        "axis 5 is out of bounds for array of dimension 3"
    );
    assert_eq!(
        call_err(&g.clone().with_axis(0), &[(&a).into(), (&b).into()]),
        "matmul: axis can only be used with a single shared core dimension, not with the 3 distinct ones implied by signature (M,N),(N,P)->(M,P)."
    );
    assert_eq!(
        call_err(&g.with_keepdims(true), &[(&a).into(), (&b).into()]),
        "matmul does not support keepdims: its signature (M,N),(N,P)->(M,P) requires output 0 to have 2 core dimensions, but keepdims can only be used when all inputs have the same number of core dimensions and all outputs have no core dimensions."
    );
    assert_eq!(
        call_err(&norm.with_axes(&[&[1], &[]]).with_axis(1), &[(&x).into()]),
        "cannot specify both 'axis' and 'axes'"
    );
}

fn casting_and_forced_element_types(target: Target) {
    use kern_runtime::{Casting, DType};
    let norm = gufunc("norm", target);
    let x = arr(&[2, 2], |i| [3.0, 4.0, 6.0, 8.0][i]);
    // np.vecnorm-style: dtype= picks the f32 instance, the input cast same_kind.
    let r = norm
        .clone()
        .with_dtype(DType::F32)
        .call(&[(&x).into()])
        .unwrap();
    assert_eq!(
        r[0].as_array::<f32>().unwrap(),
        &ndarray::arr1(&[5.0f32, 10.0]).into_dyn()
    );
    assert_eq!(
        call_err(
            &norm
                .clone()
                .with_casting(Casting::No)
                .with_dtype(DType::F32),
            &[(&x).into()]
        ),
        "cannot cast gufunc `norm` input 0 from f64 to f32 with casting rule 'no'"
    );
    let m = gufunc("matmul", target);
    let a = arr(&[2, 2], |i| i as f64 + 0.5);
    let mut f32_out = ArrayD::<f32>::zeros(IxDyn(&[2, 2]));
    let err = m
        .clone()
        .with_casting(Casting::Safe)
        .call_out(&[(&a).into(), (&a).into()], vec![(&mut f32_out).into()])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: cannot cast gufunc `matmul` output 0 from f64 to f32 with casting rule 'safe'"
    );
    let mut ints = ArrayD::<i64>::zeros(IxDyn(&[2, 2]));
    m.clone()
        .with_casting(Casting::Unsafe)
        .call_out(&[(&a).into(), (&a).into()], vec![(&mut ints).into()])
        .unwrap();
    assert_eq!(ints, reference_matmul(&a, &a).mapv(|v| v as i64));
    assert_eq!(
        call_err(
            &m.with_signature(&[Some(DType::F64)]),
            &[(&a).into(), (&a).into()]
        ),
        "a type-tuple must be specified of length 3 for gufunc `matmul`"
    );
}

fn output_only_dimensions_take_their_declared_size(target: Target) {
    let g = gufunc("convolve", target);
    let a = arr(&[2, 3], |i| i as f64 + 1.0);
    let b = arr(&[2], |i| [1.0, -1.0][i]);
    let out = g.call(&[(&a).into(), (&b).into()]).unwrap();
    // np.convolve([1, 2, 3], [1, -1]) and np.convolve([4, 5, 6], [1, -1]).
    assert_eq!(
        f64s(&out[0]),
        arr(&[2, 4], |i| [1.0, 1.0, 1.0, -3.0, 4.0, 1.0, 1.0, -6.0][i])
    );
    let mut given = ArrayD::<f64>::zeros(IxDyn(&[2, 4]));
    g.call_out(&[(&a).into(), (&b).into()], vec![(&mut given).into()])
        .unwrap();
    assert_eq!(given, f64s(&out[0]));
    let mut wrong = ArrayD::<f64>::zeros(IxDyn(&[2, 5]));
    let err = g
        .call_out(&[(&a).into(), (&b).into()], vec![(&mut wrong).into()])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: convolve: a given output has core dimension p of size 5, but p = m + n - 1 is 4"
    );
    let empty = arr(&[0], |_| 0.0);
    assert_eq!(
        call_err(&g, &[(&empty).into(), (&empty).into()]),
        "convolve: core dimension p = m + n - 1 is -1 for these inputs, which is not a size"
    );
}

macro_rules! suite {
    ($($target:ident => $value:expr),* $(,)?) => {$(
        mod $target {
            use super::*;
            suite!(@cases $value;
                matmul_batched_over_broadcast_loop_dims,
                frozen_dimensions,
                optional_dimensions,
                returned_output_and_generic_dtypes,
                two_outputs,
                zero_size_loop_dimension_never_runs_the_kernel,
                zero_size_core_dimension_calls_the_kernel_with_n_0,
                strided_and_reversed_inputs,
                scalar_inputs_are_empty_core_dimensions,
                out_given,
                out_with_more_loop_dimensions_broadcasts_the_inputs,
                axes_axis_and_keepdims_place_the_core_dimensions,
                casting_and_forced_element_types,
                output_only_dimensions_take_their_declared_size,
                calls_under_the_work_threshold_run_serially,
                scalar_signature_gufuncs_are_ufuncs,
                out_errors,
                dimension_and_arity_errors,
                traps_report_the_kernel_source,
                parallel_matches_cpu_bit_for_bit,
                specialised_and_generic_loops_compute_the_same_bits,
                an_output_that_is_an_input_gets_the_product_of_the_inputs,
            );
        }
    )*};
    (@cases $value:expr; $($case:ident),* $(,)?) => {$(
        #[test]
        fn $case() {
            // A target this machine lacks (no GPU) skips, saying why.
            if let Err(reason) = $value.check_available() {
                eprintln!("skipped {} on {}: {reason}", stringify!($case), $value);
                return;
            }
            super::$case($value);
        }
    )*};
}

suite!(cpu => Target::Cpu, parallel => Target::Parallel);
#[cfg(feature = "cuda")]
suite!(cuda => Target::Cuda);
// Under `mpirun -n N` with `--test-threads=1` every rank runs the same cases in
// the same order, so their collectives pair up (see `.ci/run`).
#[cfg(feature = "mpi")]
suite!(mpi => Target::Mpi);
