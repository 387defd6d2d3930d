//! Ufunc conformance: NumPy's documented ufunc behaviour — broadcasting, loop
//! selection and weak scalars, zero-size loops, strided and negative-stride
//! operands, `out` (with aliasing), every reduction rule, `accumulate`, `outer` —
//! checked for each target. One suite of cases, instantiated per target at the
//! bottom, so that every target must give the same answers (a new target adds
//! one line).

use kern_runtime::{DType, Error, Module, NdArray, Reduce, ScalarValue, Target, Ufunc};
use ndarray::{arr0, array, s, ArrayD, ArrayViewD, ArrayViewMutD, IxDyn, ShapeBuilder};

const SOURCE: &str = r#"
#[vectorize(identity = 0)]
fn add<T>(a: T, b: T) -> T { a + b }

#[vectorize]
fn subtract<T>(a: T, b: T) -> T { a - b }

#[vectorize(identity = "reorderable")]
fn maximum(a: f64, b: f64) -> f64 { a.max(b) }

#[vectorize]
fn saxpy(a: f32, x: f32, y: f32) -> f32 { a * x + y }

#[vectorize(f64, f32)]
fn twice_f64_first<T: Float>(x: T) -> T { x * 2.0 }

#[vectorize(f32, f64)]
fn twice_f32_first<T: Float>(x: T) -> T { x * 2.0 }

#[vectorize]
fn negate(b: bool) -> bool { !b }

#[vectorize]
fn inverse(x: i64) -> i64 { 100 / x }

#[vectorize]
fn trap_always(x: i64) -> i64 { x / (x - x) }

#[vectorize]
fn copy(x: i64) -> i64 { x }

#[vectorize]
fn mix(a: i64, b: i64) -> i64 { (3 * a + b) % 1000 }

#[vectorize]
fn quotient(a: i64, b: i64) -> i64 { a / b }

// Declared reorderable but not associative: its reduce shows the order.
#[vectorize(identity = 0)]
fn skew(a: i64, b: i64) -> i64 { (3 * a + b) % 1000003 }

#[vectorize]
fn wave(x: f64) -> f64 { (-x * x).exp() * x.sin() + x.abs().ln_1p() }

#[vectorize(identity = true)]
fn logical_and(a: bool, b: bool) -> bool { a && b }

#[vectorize(identity = false)]
fn logical_or(a: bool, b: bool) -> bool { a || b }

// The minimum of at most 2^53 + 1, a value no f64 holds.
#[vectorize(identity = 9007199254740993)]
fn capped_min(a: i64, b: i64) -> i64 { if a < b { a } else { b } }

#[vectorize(identity = 0, widen = true)]
fn sum<T>(a: T, b: T) -> T { a + b }

#[vectorize(identity = 1, widen = true)]
fn multiply<T>(a: T, b: T) -> T { a * b }
"#;

fn module() -> Module {
    Module::from_source("conformance.kern", SOURCE).expect("the conformance source compiles")
}

fn ufunc(target: Target, name: &str) -> Ufunc {
    module().ufunc(name).unwrap().with_target(target)
}

fn f64s(a: &NdArray) -> ArrayD<f64> {
    a.as_array::<f64>().expect("an f64 array").clone()
}

fn i64s(a: &NdArray) -> ArrayD<i64> {
    a.as_array::<i64>().expect("an i64 array").clone()
}

fn call_error(r: Result<NdArray, Error>) -> String {
    match r {
        Ok(a) => panic!("expected an error, got {a:?}"),
        Err(e) => e.to_string(),
    }
}

// ---------------------------------------------------------------- broadcasting

fn broadcasting_stretches_length_one_axes(t: Target) {
    let add = ufunc(t, "add");
    let col = array![[1.0], [2.0], [3.0]];
    let row = array![[10.0, 20.0, 30.0, 40.0]];
    let r = add.call(&[(&col).into(), (&row).into()]).unwrap();
    assert_eq!(r.shape(), &[3, 4]);
    assert_eq!(f64s(&r)[[2, 3]], 43.0);
    // Missing leading axes count as 1.
    let m = array![[1.0, 2.0], [3.0, 4.0]];
    let v = array![100.0, 200.0];
    let r = add.call(&[(&m).into(), (&v).into()]).unwrap();
    assert_eq!(f64s(&r), array![[101.0, 202.0], [103.0, 204.0]].into_dyn());
}

fn incompatible_shapes_are_numpys_error(t: Target) {
    let add = ufunc(t, "add");
    let a = ArrayD::<f64>::zeros(IxDyn(&[2, 3]));
    let b = ArrayD::<f64>::zeros(IxDyn(&[4]));
    assert_eq!(
        call_error(add.call(&[(&a).into(), (&b).into()])),
        "error: operands could not be broadcast together with shapes (2,3) (4,)"
    );
}

fn scalars_broadcast_and_all_scalars_give_a_0d_array(t: Target) {
    let saxpy = ufunc(t, "saxpy");
    let x = array![1.0f32, 2.0, 3.0];
    let r = saxpy
        .call(&[2.0f32.into(), (&x).into(), 1.0f32.into()])
        .unwrap();
    assert_eq!(
        r.as_array::<f32>().unwrap(),
        &array![3.0f32, 5.0, 7.0].into_dyn()
    );
    let r = saxpy
        .call(&[2.0f32.into(), 3.0f32.into(), 1.0f32.into()])
        .unwrap();
    assert_eq!(r.shape(), &[] as &[usize]);
    assert_eq!(r.get(&[]), Some(ScalarValue::F32(7.0)));
}

fn arity_is_checked(t: Target) {
    let saxpy = ufunc(t, "saxpy");
    let x = array![1.0f32];
    assert_eq!(
        call_error(saxpy.call(&[(&x).into()])),
        "error: ufunc `saxpy` takes 3 inputs but 1 were given"
    );
}

// ------------------------------------------------------------ loop selection

fn an_exact_match_is_preferred_to_an_earlier_loop(t: Target) {
    let x = array![1.5f32, -2.0];
    let r = ufunc(t, "twice_f64_first").call(&[(&x).into()]).unwrap();
    assert_eq!(
        r.as_array::<f32>().unwrap(),
        &array![3.0f32, -4.0].into_dyn()
    );
}

fn otherwise_the_first_loop_reached_by_safe_casting(t: Target) {
    let x = array![3i16, -4];
    let r = ufunc(t, "twice_f64_first").call(&[(&x).into()]).unwrap();
    assert_eq!(r.dtype(), kern_runtime::DType::F64);
    let r = ufunc(t, "twice_f32_first").call(&[(&x).into()]).unwrap();
    assert_eq!(
        r.as_array::<f32>().unwrap(),
        &array![6.0f32, -8.0].into_dyn()
    );
    // i32 -> f32 is not a safe cast: the f64 loop is used.
    let x = array![3i32];
    let r = ufunc(t, "twice_f32_first").call(&[(&x).into()]).unwrap();
    assert_eq!(r.dtype(), kern_runtime::DType::F64);
}

fn host_scalars_are_weak(t: Target) {
    let add = ufunc(t, "add");
    let x = array![1i32, 2, 3];
    let r = add.call(&[(&x).into(), 2i64.into()]).unwrap();
    assert_eq!(r.as_array::<i32>().unwrap(), &array![3i32, 4, 5].into_dyn());
    let r = add.call(&[(&x).into(), 0.5f64.into()]).unwrap();
    assert_eq!(f64s(&r), array![1.5, 2.5, 3.5].into_dyn());
    let bytes = array![250u8];
    let err = call_error(add.call(&[(&bytes).into(), 300i64.into()]));
    assert!(err.contains("300 is out of bounds for u8"), "{err}");
}

fn no_matching_loop_lists_the_loops(t: Target) {
    let x = array![1.0f64];
    let err = call_error(ufunc(t, "saxpy").call(&[(&x).into(), (&x).into(), (&x).into()]));
    assert_eq!(
        err,
        "error: ufunc `saxpy` has no loop for the input dtypes (f64, f64, f64); its loops are: (f32, f32, f32) -> f32"
    );
}

fn every_dtype_runs(t: Target) {
    macro_rules! roundtrip {
        ($($ty:ty),*) => {$(
            let x = ArrayD::<$ty>::from_shape_fn(IxDyn(&[37]), |i| (i[0] % 7) as $ty);
            let r = ufunc(t, "add").call(&[(&x).into(), (&x).into()]).unwrap();
            let expected = x.mapv(|v| v + v);
            assert_eq!(r.as_array::<$ty>().unwrap(), &expected, stringify!($ty));
        )*};
    }
    roundtrip!(i8, i16, i32, i64, u8, u16, u32, u64, f32, f64);
    let b = array![true, false, true];
    let r = ufunc(t, "negate").call(&[(&b).into()]).unwrap();
    assert_eq!(
        r.as_array::<bool>().unwrap(),
        &array![false, true, false].into_dyn()
    );
}

// -------------------------------------------------------- shapes and strides

fn a_zero_size_loop_never_runs_the_kernel(t: Target) {
    let x = ArrayD::<i64>::zeros(IxDyn(&[0, 3]));
    let r = ufunc(t, "trap_always").call(&[(&x).into()]).unwrap();
    assert_eq!(r.shape(), &[0, 3]);
    // The same kernel does trap when it runs.
    let one = array![5i64];
    let err = call_error(ufunc(t, "trap_always").call(&[(&one).into()]));
    assert!(err.contains("attempt to divide by zero"), "{err}");
    assert!(err.contains("conformance.kern"), "{err}");
}

fn strided_and_negative_stride_operands(t: Target) {
    let add = ufunc(t, "add");
    let x = ArrayD::<f64>::from_shape_fn(IxDyn(&[20]), |i| i[0] as f64);
    let every_other = x.slice(s![..;2]);
    let reversed = x.slice(s![..;-2]);
    let r = add
        .call(&[(&every_other).into(), (&reversed).into()])
        .unwrap();
    assert_eq!(f64s(&r), ArrayD::from_elem(IxDyn(&[10]), 19.0));
    let m = ArrayD::<f64>::from_shape_fn(IxDyn(&[3, 5]), |i| (i[0] * 10 + i[1]) as f64);
    let transposed = m.t();
    let r = add.call(&[(&transposed).into(), 1.0f64.into()]).unwrap();
    assert_eq!(r.shape(), &[5, 3]);
    assert_eq!(f64s(&r)[[4, 2]], 25.0);
}

fn fortran_ordered_inputs_give_fortran_ordered_outputs(t: Target) {
    let m = ArrayD::<f64>::from_shape_fn(IxDyn(&[4, 3]).f(), |i| (i[0] * 3 + i[1]) as f64);
    let r = ufunc(t, "add").call(&[(&m).into(), (&m).into()]).unwrap();
    let r = f64s(&r);
    assert_eq!(r.strides(), &[1, 4]);
    assert_eq!(r[[3, 2]], 22.0);
}

// ----------------------------------------------------------------------- out

fn out_receives_the_result(t: Target) {
    let add = ufunc(t, "add");
    let x = array![1.0, 2.0, 3.0];
    let mut out = ArrayD::<f64>::zeros(IxDyn(&[2, 3]));
    add.call_out(&[(&x).into(), 1.0f64.into()], &mut out)
        .unwrap();
    assert_eq!(out, array![[2.0, 3.0, 4.0], [2.0, 3.0, 4.0]].into_dyn());
    // A result converts to out's dtype under same_kind: f64 into f32 is fine.
    let mut narrow = ArrayD::<f32>::zeros(IxDyn(&[3]));
    add.call_out(&[(&x).into(), (&x).into()], &mut narrow)
        .unwrap();
    assert_eq!(narrow, array![2.0f32, 4.0, 6.0].into_dyn());
}

fn out_is_never_stretched_and_needs_a_same_kind_dtype(t: Target) {
    let add = ufunc(t, "add");
    let x = array![1.0, 2.0, 3.0];
    let m = ArrayD::<f64>::zeros(IxDyn(&[2, 3]));
    let mut out = ArrayD::<f64>::zeros(IxDyn(&[3]));
    let err = add
        .call_out(&[(&m).into(), (&x).into()], &mut out)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: non-broadcastable output operand with shape (3,) doesn't match the broadcast shape (2,3)"
    );
    let mut out = ArrayD::<f64>::zeros(IxDyn(&[2]));
    let err = add
        .call_out(&[(&x).into(), (&x).into()], &mut out)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: operands could not be broadcast together with shapes (3,) (3,) (2,)"
    );
    let mut ints = ArrayD::<i64>::zeros(IxDyn(&[3]));
    let err = add
        .call_out(&[(&x).into(), (&x).into()], &mut ints)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: cannot cast ufunc `add` output from f64 to i64 with casting rule 'same_kind'"
    );
}

fn casting_rules_check_inputs_and_out(t: Target) {
    use kern_runtime::Casting;
    let add = ufunc(t, "add");
    let x = array![1.0, 2.0, 3.0];
    let mut f32_out = ArrayD::<f32>::zeros(IxDyn(&[3]));
    for (casting, allowed) in [
        (Casting::No, false),
        (Casting::Equiv, false),
        (Casting::Safe, false),
        (Casting::SameKind, true),
        (Casting::Unsafe, true),
    ] {
        let result = add
            .clone()
            .with_casting(casting)
            .call_out(&[(&x).into(), (&x).into()], &mut f32_out);
        match (allowed, result) {
            (true, r) => r.unwrap(),
            (false, Err(e)) => assert_eq!(
                e.to_string(),
                format!("error: cannot cast ufunc `add` output from f64 to f32 with casting rule '{casting}'")
            ),
            (false, Ok(())) => panic!("{casting} allowed f64 -> f32"),
        }
    }
    assert_eq!(f32_out, array![2.0f32, 4.0, 6.0].into_dyn());
    // `unsafe` writes any dtype, converting as `as` does.
    let halves = array![0.75, 1.5, -2.5];
    let mut ints = ArrayD::<i64>::zeros(IxDyn(&[3]));
    add.clone()
        .with_casting(Casting::Unsafe)
        .call_out(&[(&halves).into(), (&halves).into()], &mut ints)
        .unwrap();
    assert_eq!(ints, array![1i64, 3, -5].into_dyn());
    // `no` (and `equiv`) need the loop of the inputs' exact dtypes; weak scalars
    // still take the arrays' dtype.
    let small = array![1i32, 2, 3];
    let wide = array![1i64, 2, 3];
    let strict = add.clone().with_casting(Casting::No);
    assert_eq!(
        call_error(strict.call(&[(&small).into(), (&wide).into()])),
        "error: cannot cast ufunc `add` input 0 from i32 to i64 with casting rule 'no'"
    );
    let bytes = array![1i8, 2, 3];
    let r = strict.call(&[(&bytes).into(), 2i64.into()]).unwrap();
    assert_eq!(r.as_array::<i8>().unwrap(), &array![3i8, 4, 5].into_dyn());
    assert_eq!(
        "bogus".parse::<Casting>().unwrap_err(),
        "casting must be one of 'no', 'equiv', 'safe', 'same_kind', 'unsafe' (got 'bogus')"
    );
}

fn dtype_and_signature_force_a_loop(t: Target) {
    use kern_runtime::Casting;
    let add = ufunc(t, "add");
    let x = array![1.5, 2.25, 3.0];
    let ints = array![1i64, 2, 3];
    // np.add(x, x, dtype=np.float32): the f32 loop, inputs cast same_kind.
    let r = add
        .clone()
        .with_dtype(DType::F32)
        .call(&[(&x).into(), (&x).into()])
        .unwrap();
    assert_eq!(
        r.as_array::<f32>().unwrap(),
        &array![3.0f32, 4.5, 6.0].into_dyn()
    );
    // np.add(i, i, dtype=np.float64) and signature=(None, None, 'f8').
    let r = add
        .clone()
        .with_dtype(DType::F64)
        .call(&[(&ints).into(), (&ints).into()])
        .unwrap();
    assert_eq!(f64s(&r), array![2.0, 4.0, 6.0].into_dyn());
    let r = add
        .clone()
        .with_signature(&[None, None, Some(DType::F64)])
        .call(&[(&ints).into(), (&ints).into()])
        .unwrap();
    assert_eq!(f64s(&r), array![2.0, 4.0, 6.0].into_dyn());
    let r = add
        .clone()
        .with_signature(&[Some(DType::F32), Some(DType::F32), Some(DType::F32)])
        .call(&[(&ints).into(), (&ints).into()])
        .unwrap();
    assert_eq!(r.dtype(), DType::F32);
    // An unsafe input cast needs casting = unsafe, as in NumPy.
    let to_int = add.clone().with_dtype(DType::I64);
    assert_eq!(
        call_error(to_int.call(&[(&x).into(), (&x).into()])),
        "error: cannot cast ufunc `add` input 0 from f64 to i64 with casting rule 'same_kind'"
    );
    let r = to_int
        .with_casting(Casting::Unsafe)
        .call(&[(&x).into(), (&x).into()])
        .unwrap();
    assert_eq!(i64s(&r), array![2i64, 4, 6].into_dyn());
    // A declared list: the loop whose result is the dtype, even when an earlier
    // one takes the inputs exactly.
    let twice = ufunc(t, "twice_f32_first");
    let small = array![1.5f32, 2.0];
    let r = twice
        .clone()
        .with_dtype(DType::F64)
        .call(&[(&small).into()])
        .unwrap();
    assert_eq!(f64s(&r), array![3.0, 4.0].into_dyn());
    assert_eq!(
        call_error(twice.clone().with_dtype(DType::I32).call(&[(&small).into()])),
        "error: no loop matching the specified signature and casting was found for ufunc `twice_f32_first`"
    );
    // NumPy's TypeErrors.
    assert_eq!(
        call_error(
            add.clone()
                .with_signature(&[Some(DType::F64)])
                .call(&[(&x).into(), (&x).into()])
        ),
        "error: a type-tuple must be specified of length 3 for ufunc `add`"
    );
    assert_eq!(
        call_error(
            add.with_dtype(DType::F64)
                .with_signature(&[None, None, None])
                .call(&[(&x).into(), (&x).into()])
        ),
        "error: cannot specify both 'signature' and 'dtype'"
    );
}

fn an_input_may_alias_out(t: Target) {
    let add = ufunc(t, "add");
    let n = 100_003;
    let mut x = ArrayD::<f64>::from_shape_fn(IxDyn(&[n]), |i| i[0] as f64);
    let y = ArrayD::<f64>::from_elem(IxDyn(&[n]), 0.5);
    // What `add(x, y, out=x)` is in host code: the input and the output are the
    // same memory, element for element.
    let view = unsafe { ArrayViewD::from_shape_ptr(IxDyn(&[n]), x.as_ptr()) };
    let out = unsafe { ArrayViewMutD::from_shape_ptr(IxDyn(&[n]), x.as_mut_ptr()) };
    let mut out = out;
    add.call_out(&[(&view).into(), (&y).into()], &mut out)
        .unwrap();
    assert_eq!(x[[n - 1]], (n - 1) as f64 + 0.5);
    assert_eq!(x[[0]], 0.5);
}

fn an_input_overlapping_out_otherwise_is_read_before_writing(t: Target) {
    let copy = ufunc(t, "copy");
    let mut x = ArrayD::<i64>::from_shape_fn(IxDyn(&[6]), |i| i[0] as i64 + 1);
    let base = x.as_mut_ptr();
    // out = x[1..], input = x[..5]: NumPy's result is the shifted input.
    let input = unsafe { ArrayViewD::from_shape_ptr(IxDyn(&[5]), base as *const i64) };
    let mut out = unsafe { ArrayViewMutD::from_shape_ptr(IxDyn(&[5]), base.add(1)) };
    copy.call_out(&[(&input).into()], &mut out).unwrap();
    assert_eq!(x, array![1i64, 1, 2, 3, 4, 5].into_dyn());
}

// ------------------------------------------------------------------ traps

fn a_trap_reports_the_kernel_source_location(t: Target) {
    let x = array![5i64, 4, 0, 2];
    let err = call_error(ufunc(t, "inverse").call(&[(&x).into()]));
    assert!(
        err.contains("kernel error: attempt to divide by zero"),
        "{err}"
    );
    assert!(err.contains("conformance.kern:"), "{err}");
    assert!(err.contains("100 / x"), "{err}");
}

// ------------------------------------------------------------------- where=

fn where_masks_a_call_into_out(t: Target) {
    // NumPy's `np.floor_divide(a, b, out=out, where=b != 0)`: masked-out elements
    // of `out` keep their values and are never computed (no division by zero).
    let quotient = ufunc(t, "quotient");
    let a = array![[10i64, 20, 30], [40, 50, 60]];
    let b = array![[2i64, 0, 3], [0, 5, 6]];
    let mask = b.mapv(|v| v != 0);
    let mut out = ArrayD::<i64>::from_elem(IxDyn(&[2, 3]), -1);
    quotient
        .call_out_where(&[(&a).into(), (&b).into()], &mask, &mut out)
        .unwrap();
    assert_eq!(out, array![[5i64, -1, 10], [-1, 10, 10]].into_dyn());
    // The mask broadcasts like an input; a scalar input is fine too.
    let row = array![[true, false, true]];
    let mut out = ArrayD::<i64>::zeros(IxDyn(&[2, 3]));
    quotient
        .call_out_where(&[(&a).into(), 10i64.into()], &row, &mut out)
        .unwrap();
    assert_eq!(out, array![[1i64, 0, 3], [4, 0, 6]].into_dyn());
    // Every input a scalar: the one value goes to every selected element.
    let mut out = ArrayD::<i64>::zeros(IxDyn(&[2, 3]));
    quotient
        .call_out_where(&[9i64.into(), 3i64.into()], &row, &mut out)
        .unwrap();
    assert_eq!(out, array![[3i64, 0, 3], [3, 0, 3]].into_dyn());
    // Selected elements are the unmasked call's bits.
    let x = ArrayD::<f64>::from_shape_fn(IxDyn(&[100_003]), |i| i[0] as f64 * 1e-3 - 50.0);
    let every_third = x.mapv(|v| (v * 1e3) as i64 % 3 == 0);
    let full = f64s(&ufunc(t, "wave").call(&[(&x).into()]).unwrap());
    let mut out = ArrayD::<f64>::from_elem(IxDyn(&[100_003]), 7.0);
    ufunc(t, "wave")
        .call_out_where(&[(&x).into()], &every_third, &mut out)
        .unwrap();
    for ((o, f), m) in out.iter().zip(&full).zip(&every_third) {
        assert_eq!(o.to_bits(), if *m { f.to_bits() } else { 7.0f64.to_bits() });
    }
}

fn where_without_out_and_mask_errors(t: Target) {
    let add = ufunc(t, "add");
    let v = array![1i64, 2, 3];
    // The mask takes part in broadcasting; unselected elements of a new array are 0.
    let mask = array![[true], [false]];
    let r = add.call_where(&[(&v).into(), 10i64.into()], &mask).unwrap();
    assert_eq!(i64s(&r), array![[11i64, 12, 13], [0, 0, 0]].into_dyn());
    let ints = array![1i64, 0, 1];
    let mut out = ArrayD::<i64>::zeros(IxDyn(&[3]));
    let err = add
        .call_out_where(&[(&v).into(), (&v).into()], &ints, &mut out)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: cannot cast the where mask from i64 to bool with casting rule 'safe'"
    );
    let err = add
        .call_out_where(&[(&v).into(), (&v).into()], &mask, &mut out)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: non-broadcastable where mask with shape (2,1) doesn't match the broadcast shape (3,)"
    );
}

fn where_masks_a_reduce(t: Target) {
    let add = ufunc(t, "add");
    let m = array![[1i64, 5], [7, 2]];
    let first_row = ArrayD::from(array![true, false].into_dyn());
    let r = add
        .reduce(
            &m,
            &Reduce::axis(0).where_mask(NdArray::from(first_row.clone())),
        )
        .unwrap();
    assert_eq!(i64s(&r), array![8i64, 0].into_dyn());
    let r = add
        .reduce(
            &m,
            &Reduce::axis(0)
                .initial(10i64)
                .where_mask(NdArray::from(first_row)),
        )
        .unwrap();
    assert_eq!(i64s(&r), array![18i64, 10].into_dyn());
    // Without an identity `initial` is required (NumPy's message), and is where
    // the fold over the selected elements starts.
    let diagonal = NdArray::from(array![[true, false], [false, true]].into_dyn());
    let x = array![[1.0, 5.0], [7.0, 2.0]];
    let err = ufunc(t, "maximum")
        .reduce(&x, &Reduce::all().where_mask(diagonal.clone()))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: reduction operation `maximum` does not have an identity, so to use a where mask one has to specify 'initial'"
    );
    let r = ufunc(t, "maximum")
        .reduce(&x, &Reduce::all().initial(0.0).where_mask(diagonal))
        .unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::F64(2.0)));
    let v = array![1i64, 2, 3, 4];
    let skip_second = NdArray::from(array![true, false, true, true].into_dyn());
    let r = ufunc(t, "subtract")
        .reduce(&v, &Reduce::axis(0).initial(0i64).where_mask(skip_second))
        .unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::I64(-8)));
}

// ------------------------------------------------------------------ reduce

fn reduce_follows_numpys_axis_rules(t: Target) {
    let add = ufunc(t, "add");
    let m = array![[1i64, 2, 3], [4, 5, 6]];
    assert_eq!(
        i64s(&add.reduce(&m, &Reduce::default()).unwrap()),
        array![5i64, 7, 9].into_dyn()
    );
    assert_eq!(
        i64s(&add.reduce(&m, &Reduce::axis(1)).unwrap()),
        array![6i64, 15].into_dyn()
    );
    assert_eq!(
        i64s(&add.reduce(&m, &Reduce::axis(-1)).unwrap()),
        array![6i64, 15].into_dyn()
    );
    assert_eq!(
        i64s(&add.reduce(&m, &Reduce::all()).unwrap()),
        arr0(21i64).into_dyn()
    );
    assert_eq!(
        i64s(&add.reduce(&m, &Reduce::axes(&[0, 1])).unwrap()),
        arr0(21i64).into_dyn()
    );
    assert_eq!(
        i64s(&add.reduce(&m, &Reduce::axis(0).initial(100i64)).unwrap()),
        array![105i64, 107, 109].into_dyn()
    );
    let kept = add.reduce(&m, &Reduce::axis(1).keepdims(true)).unwrap();
    assert_eq!(kept.shape(), &[2, 1]);
    assert_eq!(
        add.reduce(&m, &Reduce::axis(2)).unwrap_err().to_string(),
        "error: axis 2 is out of bounds for array of dimension 2"
    );
    assert_eq!(
        add.reduce(&m, &Reduce::axes(&[1, -1]))
            .unwrap_err()
            .to_string(),
        "error: duplicate value in 'axis'"
    );
}

fn reduce_over_empty_axes_needs_an_identity(t: Target) {
    let empty = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    let r = ufunc(t, "add").reduce(&empty, &Reduce::axis(0)).unwrap();
    assert_eq!(f64s(&r), ArrayD::zeros(IxDyn(&[3])));
    let err = ufunc(t, "maximum")
        .reduce(&empty, &Reduce::axis(0))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: zero-size array to reduction operation `maximum` which has no identity"
    );
    // Reducing the non-empty axis of the same array is fine: three empty rows.
    let r = ufunc(t, "maximum")
        .reduce(&empty, &Reduce::axis(1))
        .unwrap();
    assert_eq!(r.shape(), &[0]);
}

fn identities_keep_their_type(t: Target) {
    // `all`/`any`-style reductions of nothing are `true`/`false`, as in NumPy.
    let empty = ArrayD::<bool>::from_elem(IxDyn(&[0]), false);
    let r = ufunc(t, "logical_and")
        .reduce(&empty, &Reduce::all())
        .unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::Bool(true)));
    let r = ufunc(t, "logical_or")
        .reduce(&empty, &Reduce::all())
        .unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::Bool(false)));
    let m = array![[true, false], [true, true]];
    let r = ufunc(t, "logical_and")
        .reduce(&m, &Reduce::axis(0))
        .unwrap();
    assert_eq!(
        r.as_array::<bool>().unwrap(),
        &array![true, false].into_dyn()
    );
    // An integer identity is exact, not rounded through a float.
    let none = ArrayD::<i64>::zeros(IxDyn(&[0, 2]));
    let r = ufunc(t, "capped_min")
        .reduce(&none, &Reduce::axis(0))
        .unwrap();
    let cap = (1i64 << 53) + 1;
    assert_eq!(i64s(&r), array![cap, cap].into_dyn());
}

fn initial_is_the_result_of_an_empty_reduce_without_identity(t: Target) {
    // `maximum` is reorderable but has no identity: `initial` stands in for it.
    let empty = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
    let maximum = ufunc(t, "maximum");
    let r = maximum
        .reduce(&empty, &Reduce::axis(0).initial(3.0))
        .unwrap();
    assert_eq!(f64s(&r), array![3.0, 3.0, 3.0].into_dyn());
    let r = maximum
        .reduce(&empty, &Reduce::all().initial(-1.0))
        .unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::F64(-1.0)));
    let r = maximum
        .reduce(&empty, &Reduce::axis(0).initial(3.0).keepdims(true))
        .unwrap();
    assert_eq!(r.shape(), &[1, 3]);
    // Over a non-empty axis it is one more element.
    let x = array![[1.0, 5.0], [7.0, 2.0]];
    let r = maximum.reduce(&x, &Reduce::axis(1).initial(6.0)).unwrap();
    assert_eq!(f64s(&r), array![6.0, 7.0].into_dyn());
}

fn no_initial_makes_an_empty_reduce_an_error_even_with_an_identity(t: Target) {
    // NumPy's `initial=None`.
    let add = ufunc(t, "add");
    let empty = ArrayD::<f64>::zeros(IxDyn(&[0]));
    assert_eq!(
        add.reduce(&empty, &Reduce::axis(0).no_initial())
            .unwrap_err()
            .to_string(),
        "error: zero-size array to reduction operation `add` which has no identity"
    );
    let x = array![1.0, 2.0, 4.0];
    let r = add.reduce(&x, &Reduce::axis(0).no_initial()).unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::F64(7.0)));
}

fn reducing_a_0d_array_gives_its_element(t: Target) {
    // NumPy reads axis 0 (or -1) of a 0-d array as no axis at all.
    let add = ufunc(t, "add");
    let x = arr0(5i64).into_dyn();
    for options in [Reduce::default(), Reduce::axis(-1), Reduce::all()] {
        let r = add.reduce(&x, &options).unwrap();
        assert_eq!(r.shape(), &[] as &[usize]);
        assert_eq!(r.get(&[]), Some(ScalarValue::I64(5)));
    }
    let r = add.reduce(&x, &Reduce::default().initial(10i64)).unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::I64(15)));
    assert_eq!(
        add.reduce(&x, &Reduce::axis(1)).unwrap_err().to_string(),
        "error: axis 1 is out of bounds for array of dimension 0"
    );
    // Over no axis, `initial` meets every element (`np.add.reduce(a, axis=(), initial=10)`).
    let v = array![1i64, 2];
    let r = add.reduce(&v, &Reduce::axes(&[]).initial(10i64)).unwrap();
    assert_eq!(i64s(&r), array![11i64, 12].into_dyn());
}

fn narrow_integer_sums_accumulate_in_64_bits(t: Target) {
    // `widen = true` marks NumPy's add and multiply: bool and integers narrower
    // than 64 bits reduce and accumulate in i64 (u64 when unsigned).
    let sum = ufunc(t, "sum");
    let r = sum.reduce(&array![100i8, 100], &Reduce::default()).unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::I64(200)));
    let r = sum.reduce(&array![200u8, 200], &Reduce::default()).unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::U64(400)));
    let r = sum
        .reduce(&array![true, true, true], &Reduce::default())
        .unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::I64(3)));
    let m = ArrayD::from_shape_fn(IxDyn(&[3, 300]), |i| (i[0] + i[1]) as i16 * 100);
    let r = sum.reduce(&m, &Reduce::all()).unwrap();
    assert_eq!(
        r.get(&[]),
        Some(ScalarValue::I64(m.iter().map(|&v| v as i64).sum()))
    );
    let r = sum.reduce(&m, &Reduce::axis(0)).unwrap();
    assert_eq!(r.dtype(), kern_runtime::DType::I64);
    let r = ufunc(t, "multiply")
        .reduce(&array![100i16, 100], &Reduce::default())
        .unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::I64(10_000)));
    let r = sum.accumulate(&array![100i8, 100], 0).unwrap();
    assert_eq!(i64s(&r), array![100i64, 200].into_dyn());
    // An explicit dtype overrides it; the elements are cast to it first.
    let r = sum
        .reduce(
            &array![100i8, 100],
            &Reduce::default().dtype(kern_runtime::DType::I8),
        )
        .unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::I8(-56)));
    let r = sum
        .reduce(
            &array![300i64, 100],
            &Reduce::default().dtype(kern_runtime::DType::I8),
        )
        .unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::I8(-112)));
    // Without `widen`, a ufunc reduces in the loop chosen for its input.
    let r = ufunc(t, "add")
        .reduce(&array![100i8, 100], &Reduce::default())
        .unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::I8(-56)));
}

fn several_axes_only_when_reorderable(t: Target) {
    let m = array![[1.0, 5.0], [7.0, 2.0]];
    let r = ufunc(t, "maximum").reduce(&m, &Reduce::all()).unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::F64(7.0)));
    let err = ufunc(t, "subtract").reduce(&m, &Reduce::all()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: reduction operation `subtract` is not reorderable, so at most one axis may be specified"
    );
}

fn a_non_reorderable_reduce_runs_in_order(t: Target) {
    let x = array![1i64, 2, 3, 4, 5];
    let r = ufunc(t, "subtract").reduce(&x, &Reduce::axis(0)).unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::I64(1 - 2 - 3 - 4 - 5)));
}

fn an_in_order_reduce_starts_from_initial(t: Target) {
    // `(3a + b) % 1000` is neither associative nor commutative: the order shows.
    let f = |a: i64, b: i64| (3 * a + b) % 1000;
    let x = array![[1i64, 2, 3], [4, 5, 6]];
    let r = ufunc(t, "mix")
        .reduce(&x, &Reduce::axis(1).initial(7i64))
        .unwrap();
    let expected = array![
        [1, 2, 3].iter().fold(7, |a, &b| f(a, b)),
        [4, 5, 6].iter().fold(7, |a, &b| f(a, b))
    ];
    assert_eq!(i64s(&r), expected.into_dyn());
    // An empty axis gives `initial`, with or without an identity.
    let empty = ArrayD::<i64>::zeros(IxDyn(&[2, 0]));
    let r = ufunc(t, "mix")
        .reduce(&empty, &Reduce::axis(1).initial(7i64))
        .unwrap();
    assert_eq!(i64s(&r), array![7i64, 7].into_dyn());
}

fn long_in_order_folds_match_a_left_fold_for_few_and_many_lanes(t: Target) {
    // A 1-d axis of 100 000 elements (one lane) and a 2-d array with 1 000 lanes
    // (more than the scan path takes) give exactly the naive left folds.
    let f = |a: i64, b: i64| (3 * a + b) % 1000;
    let x: ArrayD<i64> = ArrayD::from_shape_fn(IxDyn(&[100_000]), |i| (i[0] % 7) as i64 - 3);
    let naive: Vec<i64> = x
        .iter()
        .scan(None, |acc: &mut Option<i64>, &v| {
            let next = acc.map_or(v, |a| f(a, v));
            *acc = Some(next);
            Some(next)
        })
        .collect();
    let r = ufunc(t, "mix").accumulate(&x, 0).unwrap();
    assert_eq!(i64s(&r).as_slice().unwrap(), naive.as_slice());
    let r = ufunc(t, "mix").reduce(&x, &Reduce::axis(0)).unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::I64(*naive.last().unwrap())));

    for lanes in [3usize, 1000] {
        let m = ArrayD::from_shape_fn(IxDyn(&[5, lanes]), |i| (i[0] * 3 + i[1]) as i64 % 5);
        let along_rows = ufunc(t, "mix").accumulate(&m, 0).unwrap();
        let reduced = ufunc(t, "mix").reduce(&m, &Reduce::axis(0)).unwrap();
        for l in 0..lanes {
            let mut acc = m[[0, l]];
            assert_eq!(i64s(&along_rows)[[0, l]], acc);
            for j in 1..5 {
                acc = f(acc, m[[j, l]]);
                assert_eq!(i64s(&along_rows)[[j, l]], acc, "lanes {lanes}, [{j}, {l}]");
            }
            assert_eq!(i64s(&reduced)[[l]], acc);
        }
        // Along the contiguous axis, in the transposed layout too.
        let t_view = m.t();
        let across = ufunc(t, "mix").accumulate(&t_view, 1).unwrap();
        assert_eq!(i64s(&across), i64s(&along_rows).t().to_owned());
    }
}

fn a_trap_inside_an_accumulation_is_an_error(t: Target) {
    let x = array![100i64, 5, 0, 2];
    let err = ufunc(t, "quotient")
        .accumulate(&x, 0)
        .unwrap_err()
        .to_string();
    assert!(err.contains("attempt to divide by zero"), "{err}");
    assert!(err.contains("conformance.kern"), "{err}");
}

fn reduce_is_only_for_binary_ufuncs(t: Target) {
    let x = array![1.0f32];
    let err = ufunc(t, "saxpy").reduce(&x, &Reduce::axis(0)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "error: reduce only supported for binary ufuncs; `saxpy` takes 3 inputs"
    );
}

fn summing_ten_million_ones_is_exact(t: Target) {
    let ones = ArrayD::<f64>::ones(IxDyn(&[10_000_000]));
    let r = ufunc(t, "add").reduce(&ones, &Reduce::all()).unwrap();
    assert_eq!(r.get(&[]), Some(ScalarValue::F64(1e7)));
}

fn float_sums_are_pairwise(t: Target) {
    // 1 followed by many tiny values: a left-to-right sum loses every tiny value,
    // a pairwise sum keeps them.
    let n = 1 << 20;
    let mut x = ArrayD::<f64>::from_elem(IxDyn(&[n]), 1e-16);
    x[[0]] = 1.0;
    let r = ufunc(t, "add").reduce(&x, &Reduce::all()).unwrap();
    let sum = match r.get(&[]) {
        Some(ScalarValue::F64(v)) => v,
        other => panic!("{other:?}"),
    };
    let exact = 1.0 + (n - 1) as f64 * 1e-16;
    // Left to right gives exactly 1.0 (an error of 1e-10); pairwise stays within
    // a few ulps of 1 of the exact sum, as NumPy does.
    assert!((sum - exact).abs() < 1e-14, "{sum} vs {exact}");
}

/// `skew`, the non-associative ufunc that shows the order of a reduction.
fn skew(a: i64, b: i64) -> i64 {
    (3 * a + b) % 1000003
}

/// The order docs/ufuncs.md gives a reorderable reduce with `f` along the
/// axis it streams through: blocks of 128 elements, each NumPy's pairwise
/// block (in order below eight; else eight accumulators, their tree, then the
/// tail in order), then the block results the same way until one is left.
fn blocked_order<T: Copy>(x: &[T], f: fn(T, T) -> T) -> T {
    let block = |x: &[T]| {
        if x.len() < 8 {
            return x[1..].iter().fold(x[0], |a, &b| f(a, b));
        }
        let mut r: Vec<T> = x[..8].to_vec();
        let groups = x.len() / 8 * 8;
        for group in x[8..groups].chunks(8) {
            for (acc, &v) in r.iter_mut().zip(group) {
                *acc = f(*acc, v);
            }
        }
        let tree = f(
            f(f(r[0], r[1]), f(r[2], r[3])),
            f(f(r[4], r[5]), f(r[6], r[7])),
        );
        x[groups..].iter().fold(tree, |a, &b| f(a, b))
    };
    let partials: Vec<T> = x.chunks(128).map(block).collect();
    match partials.len() {
        1 => partials[0],
        _ => blocked_order(&partials, f),
    }
}

fn a_reorderable_reduce_streams_in_fixed_blocks(t: Target) {
    let value = |i: usize| (i * 7919 % 1009) as i64 - 500;
    // One lane of every length around the eight lanes and the 128-element
    // blocks, and long enough to be split between workers.
    for n in [
        1usize,
        7,
        8,
        9,
        15,
        127,
        128,
        129,
        1000,
        65_536 + 129,
        200_003,
    ] {
        let x = ArrayD::from_shape_fn(IxDyn(&[n]), |i| value(i[0]));
        let r = ufunc(t, "skew").reduce(&x, &Reduce::axis(0)).unwrap();
        let expected = blocked_order(x.as_slice().unwrap(), skew);
        assert_eq!(r.get(&[]), Some(ScalarValue::I64(expected)), "n = {n}");
        // Reversed, the lane is read from its last element.
        let reversed = x.slice(s![..;-1]);
        let r = ufunc(t, "skew")
            .reduce(&reversed, &Reduce::axis(0))
            .unwrap();
        let backwards: Vec<i64> = reversed.iter().copied().collect();
        assert_eq!(
            r.get(&[]),
            Some(ScalarValue::I64(blocked_order(&backwards, skew)))
        );
    }
    // Many lanes, each reduced alone: rows of a C array, columns of a
    // Fortran one, and lanes that are not one stride apart.
    let m = ArrayD::from_shape_fn(IxDyn(&[300, 200]), |i| value(i[0] * 200 + i[1]));
    let lanes = |a: &ArrayViewD<'_, i64>| -> Vec<i64> {
        a.outer_iter()
            .map(|l| blocked_order(&l.iter().copied().collect::<Vec<_>>(), skew))
            .collect()
    };
    let r = ufunc(t, "skew").reduce(&m, &Reduce::axis(1)).unwrap();
    assert_eq!(i64s(&r).as_slice().unwrap(), lanes(&m.view()).as_slice());
    // `m.t()` is Fortran-ordered: its axis 0 streams.
    let r = ufunc(t, "skew").reduce(&m.t(), &Reduce::axis(0)).unwrap();
    assert_eq!(i64s(&r).as_slice().unwrap(), lanes(&m.view()).as_slice());
    let cube = ArrayD::from_shape_fn(IxDyn(&[3, 5, 700]), |i| {
        value(i[0] * 3500 + i[1] * 700 + i[2])
    });
    let cut = cube.slice(s![.., 1..4, ..]);
    let r = ufunc(t, "skew").reduce(&cut, &Reduce::axis(2)).unwrap();
    let flat = cut.to_shape((9, 700)).unwrap().into_dyn();
    assert_eq!(
        i64s(&r).iter().copied().collect::<Vec<_>>(),
        lanes(&flat.view())
    );
}

fn float_reduces_have_the_bits_of_the_documented_order(t: Target) {
    // Mixed magnitudes, so any other order rounds differently; lengths around
    // the eight accumulators and the blocks; NaN, infinities and -0.0.
    let value = |i: usize| ((i * 7919 % 1009) as f64 - 504.5) * [1e-3, 1.0, 1e9][i % 3];
    let add = ufunc(t, "add");
    for n in [1usize, 7, 8, 9, 16, 17, 127, 128, 129, 1000, 65_536 + 129] {
        let x: Vec<f64> = (0..n).map(value).collect();
        let expected = blocked_order(&x, |a, b| a + b).to_bits();
        assert_eq!(reduced_bits(&add, &x), expected, "n = {n}");
        let x: Vec<f32> = x.iter().map(|&v| v as f32).collect();
        let expected = blocked_order(&x, |a, b| a + b).to_bits();
        assert_eq!(reduced_bits(&add, &x), u64::from(expected), "n = {n}");
    }
    // Every accumulator starts from an element, never from +0.0.
    assert_eq!(reduced_bits(&add, &[-0.0f64; 300]), (-0.0f64).to_bits());
    let mut x: Vec<f64> = (0..300).map(value).collect();
    x[200] = f64::INFINITY;
    assert_eq!(reduced_bits(&add, &x), f64::INFINITY.to_bits());
    x[17] = f64::NEG_INFINITY;
    assert!(f64::from_bits(reduced_bits(&add, &x)).is_nan());
    x[17] = f64::NAN;
    let expected = blocked_order(&x, f64::max).to_bits();
    assert_eq!(reduced_bits(&ufunc(t, "maximum"), &x), expected);
}

/// The bits of `u.reduce` over all of the 1-d array `x` (an f64 or an f32).
fn reduced_bits<T: kern_runtime::Element>(u: &Ufunc, x: &[T]) -> u64 {
    let a = ArrayD::from_shape_vec(IxDyn(&[x.len()]), x.to_vec()).unwrap();
    match u.reduce(&a, &Reduce::all()).unwrap().get(&[]) {
        Some(ScalarValue::F64(v)) => v.to_bits(),
        Some(ScalarValue::F32(v)) => u64::from(v.to_bits()),
        other => panic!("{other:?}"),
    }
}

fn any_other_axis_reduces_row_by_row(t: Target) {
    // NumPy's order for an axis it does not stream through: every lane the
    // left fold x[0], f(x[0], x[1]), .. — one pass over the rows, whatever
    // the number of lanes (a few, more than the scan path takes, several tiles).
    let value = |i: usize| (i * 7919 % 1009) as i64 - 500;
    for rows in [1usize, 2, 9, 130] {
        for lanes in [3usize, 300, 2_500, 5_000, 17_000] {
            let m = ArrayD::from_shape_fn(IxDyn(&[rows, lanes]), |i| value(i[0] * lanes + i[1]));
            let left_fold = |l: usize, seed: Option<i64>| {
                let column = (0..rows).map(|j| m[[j, l]]);
                match seed {
                    Some(s) => column.fold(s, skew),
                    None => column.reduce(skew).unwrap(),
                }
            };
            let r = ufunc(t, "skew").reduce(&m, &Reduce::axis(0)).unwrap();
            let expected: Vec<i64> = (0..lanes).map(|l| left_fold(l, None)).collect();
            assert_eq!(
                i64s(&r).as_slice().unwrap(),
                expected.as_slice(),
                "{rows} x {lanes}"
            );
            // A reorderable ufunc combines `initial` last.
            let r = ufunc(t, "skew")
                .reduce(&m, &Reduce::axis(0).initial(5i64))
                .unwrap();
            let expected: Vec<i64> = (0..lanes).map(|l| skew(5, left_fold(l, None))).collect();
            assert_eq!(i64s(&r).as_slice().unwrap(), expected.as_slice());
        }
    }
    // The middle axis of a 3-d array, lanes in two dimensions.
    let cube = ArrayD::from_shape_fn(IxDyn(&[3, 4, 500]), |i| {
        value(i[0] * 2000 + i[1] * 500 + i[2])
    });
    let r = ufunc(t, "skew").reduce(&cube, &Reduce::axis(1)).unwrap();
    for (i, l) in [(0usize, 0usize), (1, 17), (2, 499)] {
        let expected = (1..4).fold(cube[[i, 0, l]], |a, j| skew(a, cube[[i, j, l]]));
        assert_eq!(i64s(&r)[[i, l]], expected);
    }
    // In f64 the order shows as NumPy's: 1e16 then four 1s, left to right,
    // loses every 1 (a pairwise order would keep two of them).
    let column = [1e16, 1.0, 1.0, 1.0, 1.0];
    let m = ArrayD::from_shape_fn(IxDyn(&[5, 1000]), |i| column[i[0]]);
    let r = ufunc(t, "add").reduce(&m, &Reduce::axis(0)).unwrap();
    assert!(f64s(&r).iter().all(|&v| v == 1e16));
}

fn row_folds_have_the_left_folds_bits_at_every_row_and_lane_count(t: Target) {
    // The row fold keeps groups of lanes in registers across several rows
    // where the combiner cannot trap; every lane must still be the left fold
    // of its column, bit for bit, around those groups and passes, with NaN,
    // infinities and -0.0, in f64, f32 and wrapping i32.
    let special = [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0];
    let value = |i: usize| match i % 23 {
        0..=4 => special[i % 23],
        k => (i * 7919 % 1009) as f64 * 1.1e-3 - 0.5 + k as f64 * 1e8,
    };
    let same = |a: f64, b: f64| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan());
    for rows in (1usize..=9).chain([15, 16, 17, 33]) {
        for lanes in [1usize, 7, 8, 9, 300, 1_001] {
            let m = ArrayD::from_shape_fn(IxDyn(&[rows, lanes]), |i| value(i[0] * lanes + i[1]));
            let m = &m;
            let column = |l: usize| (0..rows).map(move |j| m[[j, l]]);
            let r = f64s(&ufunc(t, "add").reduce(m, &Reduce::axis(0)).unwrap());
            let maxima = f64s(&ufunc(t, "maximum").reduce(m, &Reduce::axis(0)).unwrap());
            let r32 = ufunc(t, "add")
                .reduce(&m.mapv(|v| v as f32), &Reduce::axis(0))
                .unwrap();
            let r32 = r32.as_array::<f32>().expect("an f32 array");
            for l in 0..lanes {
                let ctx = format!("{rows} x {lanes}, lane {l}");
                assert!(
                    same(r[[l]], column(l).reduce(|a, b| a + b).unwrap()),
                    "{ctx}"
                );
                assert!(
                    same(maxima[[l]], column(l).reduce(f64::max).unwrap()),
                    "{ctx}"
                );
                let sum32 = column(l).map(|v| v as f32).reduce(|a, b| a + b).unwrap();
                assert!(same(r32[[l]] as f64, sum32 as f64), "{ctx}");
            }
            let big = ArrayD::from_elem(IxDyn(&[rows, lanes]), i32::MAX);
            let r = ufunc(t, "add").reduce(&big, &Reduce::axis(0)).unwrap();
            let wrapped = i32::MAX.wrapping_mul(rows as i32);
            assert!(r.as_array::<i32>().unwrap().iter().all(|&v| v == wrapped));
        }
    }
    // Every other lane, every other row and a reversed axis: other strides,
    // the same folds.
    let m = ArrayD::from_shape_fn(IxDyn(&[19, 600]), |i| value(i[0] * 600 + i[1]));
    for view in [
        m.slice(s![.., ..;2]),
        m.slice(s![..;2, ..]),
        m.slice(s![..;-1, ..]),
    ] {
        let r = f64s(&ufunc(t, "add").reduce(&view, &Reduce::axis(0)).unwrap());
        for l in 0..view.shape()[1] {
            let fold = (0..view.shape()[0])
                .map(|j| view[[j, l]])
                .reduce(|a, b| a + b);
            assert!(same(r[[l]], fold.unwrap()), "lane {l}");
        }
    }
}

fn a_trap_in_a_row_fold_is_the_steps_located_error(t: Target) {
    // `quotient` can trap, so its row fold runs row after row (where it stops
    // and what it stored first are the compiler's tests, `row_fold.rs`): the
    // error is the one an element-wise step onto a row with a zero reports.
    let mut m = ArrayD::from_shape_fn(IxDyn(&[6, 1_000]), |i| (i[0] * 1_000 + i[1]) as i64 + 1);
    m[[4, 700]] = 0;
    m[[2, 900]] = 0;
    let err = call_error(ufunc(t, "quotient").reduce(&m, &Reduce::axis(0)));
    assert!(err.contains("attempt to divide by zero"), "{err}");
    let row = |j: usize| m.index_axis(ndarray::Axis(0), j).to_owned();
    let step = call_error(ufunc(t, "quotient").call(&[(&row(0)).into(), (&row(2)).into()]));
    assert_eq!(err, step);
}

// -------------------------------------------------------- accumulate, outer

fn accumulate_is_a_running_reduction(t: Target) {
    let x = array![1i64, 2, 3, 4];
    assert_eq!(
        i64s(&ufunc(t, "add").accumulate(&x, 0).unwrap()),
        array![1i64, 3, 6, 10].into_dyn()
    );
    assert_eq!(
        i64s(&ufunc(t, "subtract").accumulate(&x, 0).unwrap()),
        array![1i64, -1, -4, -8].into_dyn()
    );
    let m = array![[1i64, 2], [3, 4]];
    assert_eq!(
        i64s(&ufunc(t, "add").accumulate(&m, 1).unwrap()),
        array![[1i64, 3], [3, 7]].into_dyn()
    );
}

fn outer_combines_every_pair(t: Target) {
    let a = array![1i64, 2, 3];
    let b = array![[10i64, 20]];
    let r = ufunc(t, "add").outer(&a, &b).unwrap();
    assert_eq!(r.shape(), &[3, 1, 2]);
    assert_eq!(i64s(&r)[[2, 0, 1]], 23);
}

fn a_result_memory_cannot_hold_is_an_error_with_its_shape_and_bytes(t: Target) {
    // Two 8 MB operands whose broadcast (or outer) result would take 8 TB.
    let row = ArrayD::<f64>::zeros(IxDyn(&[1_000_000]));
    let column = ArrayD::<f64>::zeros(IxDyn(&[1_000_000, 1]));
    let expected = "error: cannot allocate an array of shape (1000000, 1000000): \
                    8000000000000 bytes requested, more than memory allows";
    let add = ufunc(t, "add");
    assert_eq!(
        call_error(add.call(&[(&row).into(), (&column).into()])),
        expected
    );
    assert_eq!(call_error(add.outer(&row, &row)), expected);
}

// -------------------------------------------------- cpu and parallel agree

fn large_transcendental_calls_are_bit_identical_to_cpu(t: Target) {
    let x = ArrayD::<f64>::from_shape_fn(IxDyn(&[300_007]), |i| (i[0] as f64 - 150_000.0) * 1e-3);
    let reference = ufunc(Target::Cpu, "wave").call(&[(&x).into()]).unwrap();
    let r = ufunc(t, "wave").call(&[(&x).into()]).unwrap();
    let (a, b) = (f64s(&reference), f64s(&r));
    assert!(a
        .iter()
        .zip(b.iter())
        .all(|(p, q)| p.to_bits() == q.to_bits()));
    for (i, v) in x.iter().enumerate().step_by(997) {
        let expected = (-v * v).exp() * v.sin() + v.abs().ln_1p();
        assert!((a[[i]] - expected).abs() <= 4.0 * f64::EPSILON * expected.abs().max(1.0));
    }
}

macro_rules! conformance_suite {
    ($target_mod:ident, $target:expr, [$($case:ident),* $(,)?]) => {
        mod $target_mod {
            $(
                #[test]
                fn $case() {
                    // A target this machine lacks (no GPU) skips, saying why.
                    if let Err(reason) = $target.check_available() {
                        eprintln!("skipped {} on {}: {reason}", stringify!($case), $target);
                        return;
                    }
                    if $target == kern_runtime::Target::Parallel {
                        // Several workers even on a one-core machine, so work is split.
                        kern_runtime::exec::parallel::set_num_threads(4).unwrap();
                    }
                    super::$case($target);
                }
            )*
        }
    };
}

macro_rules! for_every_target {
    ($($target_mod:ident => $target:expr),*) => {$(
        conformance_suite!($target_mod, $target, [
            broadcasting_stretches_length_one_axes,
            incompatible_shapes_are_numpys_error,
            scalars_broadcast_and_all_scalars_give_a_0d_array,
            arity_is_checked,
            an_exact_match_is_preferred_to_an_earlier_loop,
            otherwise_the_first_loop_reached_by_safe_casting,
            host_scalars_are_weak,
            no_matching_loop_lists_the_loops,
            every_dtype_runs,
            a_zero_size_loop_never_runs_the_kernel,
            strided_and_negative_stride_operands,
            fortran_ordered_inputs_give_fortran_ordered_outputs,
            out_receives_the_result,
            out_is_never_stretched_and_needs_a_same_kind_dtype,
            casting_rules_check_inputs_and_out,
            dtype_and_signature_force_a_loop,
            an_input_may_alias_out,
            an_input_overlapping_out_otherwise_is_read_before_writing,
            a_trap_reports_the_kernel_source_location,
            where_masks_a_call_into_out,
            where_without_out_and_mask_errors,
            where_masks_a_reduce,
            reduce_follows_numpys_axis_rules,
            reduce_over_empty_axes_needs_an_identity,
            identities_keep_their_type,
            initial_is_the_result_of_an_empty_reduce_without_identity,
            no_initial_makes_an_empty_reduce_an_error_even_with_an_identity,
            reducing_a_0d_array_gives_its_element,
            narrow_integer_sums_accumulate_in_64_bits,
            several_axes_only_when_reorderable,
            a_non_reorderable_reduce_runs_in_order,
            an_in_order_reduce_starts_from_initial,
            long_in_order_folds_match_a_left_fold_for_few_and_many_lanes,
            a_trap_inside_an_accumulation_is_an_error,
            reduce_is_only_for_binary_ufuncs,
            summing_ten_million_ones_is_exact,
            float_sums_are_pairwise,
            a_reorderable_reduce_streams_in_fixed_blocks,
            float_reduces_have_the_bits_of_the_documented_order,
            any_other_axis_reduces_row_by_row,
            row_folds_have_the_left_folds_bits_at_every_row_and_lane_count,
            a_trap_in_a_row_fold_is_the_steps_located_error,
            accumulate_is_a_running_reduction,
            outer_combines_every_pair,
            a_result_memory_cannot_hold_is_an_error_with_its_shape_and_bytes,
            large_transcendental_calls_are_bit_identical_to_cpu,
        ]);
    )*};
}

for_every_target!(cpu => kern_runtime::Target::Cpu, parallel => kern_runtime::Target::Parallel);
#[cfg(feature = "cuda")]
for_every_target!(cuda => kern_runtime::Target::Cuda);
// Under `mpirun -n N` with `--test-threads=1` every rank runs the same cases in
// the same order, so their collectives pair up (see `.ci/run`).
#[cfg(feature = "mpi")]
for_every_target!(mpi => kern_runtime::Target::Mpi);
