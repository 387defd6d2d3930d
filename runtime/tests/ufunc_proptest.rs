//! Random ufunc calls against a naive Rust reference: random shapes (with
//! broadcasting), random strides (steps of ±1 and ±2, so negative and
//! non-contiguous views), random dtypes, on `cpu` and `parallel`.

use std::sync::OnceLock;

use kern_runtime::{Module, Target, Ufunc};
use ndarray::{ArrayD, IxDyn, Slice, Zip};
use proptest::prelude::*;

fn module() -> &'static Module {
    static MODULE: OnceLock<Module> = OnceLock::new();
    MODULE.get_or_init(|| {
        Module::from_source(
            "prop.kern",
            "#[vectorize] fn mul_add_self<T>(a: T, b: T) -> T { a * b + a }",
        )
        .unwrap()
    })
}

fn ufunc(target: Target) -> Ufunc {
    module().ufunc("mul_add_self").unwrap().with_target(target)
}

/// An operand: its shape at the broadcast rank (some axes 1, some leading axes
/// dropped) and a step per axis.
#[derive(Clone, Debug)]
struct OperandShape {
    dropped_leading: usize,
    ones: Vec<bool>,
    steps: Vec<isize>,
}

fn operand_shape(ndim: usize) -> impl Strategy<Value = OperandShape> {
    (
        0..=ndim,
        proptest::collection::vec(any::<bool>(), ndim),
        proptest::collection::vec(prop_oneof![Just(1isize), Just(-1), Just(2), Just(-2)], ndim),
    )
        .prop_map(|(dropped_leading, ones, steps)| OperandShape {
            dropped_leading,
            ones,
            steps,
        })
}

/// A strided view of the operand's shape, cut out of a larger array of values
/// `value(i)`.
fn make_operand<T: Copy>(
    shape: &[usize],
    spec: &OperandShape,
    value: impl Fn(usize) -> T,
) -> (ArrayD<T>, Vec<usize>, Vec<isize>) {
    let dims: Vec<usize> = shape
        .iter()
        .enumerate()
        .skip(spec.dropped_leading)
        .map(|(k, &d)| if spec.ones[k] { 1 } else { d })
        .collect();
    let steps: Vec<isize> = spec.steps[spec.dropped_leading..].to_vec();
    let big: Vec<usize> = dims
        .iter()
        .zip(&steps)
        .map(|(&d, &s)| d * s.unsigned_abs())
        .collect();
    let n: usize = big.iter().product();
    let base = ArrayD::from_shape_vec(IxDyn(&big), (0..n).map(&value).collect()).unwrap();
    (base, dims, steps)
}

macro_rules! check_dtype {
    ($name:ident, $ty:ty, $value:expr, $reference:expr) => {
        fn $name(shape: &[usize], a: &OperandShape, b: &OperandShape) {
            let (base_a, dims_a, steps_a) = make_operand(shape, a, $value);
            let (base_b, dims_b, steps_b) = make_operand(shape, b, |i| ($value)(i * 7 + 3));
            let view_a = base_a.slice_each_axis(|ax| Slice::new(0, None, steps_a[ax.axis.index()]));
            let view_b = base_b.slice_each_axis(|ax| Slice::new(0, None, steps_b[ax.axis.index()]));
            assert_eq!(view_a.shape(), dims_a.as_slice());
            assert_eq!(view_b.shape(), dims_b.as_slice());
            let shape = kern_runtime::broadcast::broadcast_shapes(&[&dims_a, &dims_b]).unwrap();
            let shape = shape.as_slice();
            let full = IxDyn(shape);
            let mut expected = ArrayD::<$ty>::from_elem(full.clone(), Default::default());
            Zip::from(&mut expected)
                .and(view_a.broadcast(full.clone()).unwrap())
                .and(view_b.broadcast(full.clone()).unwrap())
                .for_each(|e, &x, &y| *e = $reference(x, y));
            for target in [Target::Cpu, Target::Parallel] {
                let got = ufunc(target)
                    .call(&[(&view_a).into(), (&view_b).into()])
                    .unwrap();
                let got = got.as_array::<$ty>().expect("the dtype of the inputs");
                assert_eq!(got.shape(), shape);
                let same = got
                    .iter()
                    .zip(expected.iter())
                    .all(|(g, e)| format!("{g:?}") == format!("{e:?}"));
                assert!(same, "{target}: {got:?} != {expected:?}");
            }
        }
    };
}

check_dtype!(
    check_i32,
    i32,
    |i: usize| (i as i32).wrapping_mul(2_654_435),
    |x: i32, y: i32| x.wrapping_mul(y).wrapping_add(x)
);
check_dtype!(check_u8, u8, |i: usize| (i * 37) as u8, |x: u8, y: u8| x
    .wrapping_mul(y)
    .wrapping_add(x));
check_dtype!(
    check_i64,
    i64,
    |i: usize| (i as i64 - 40) * 1_000_003,
    |x: i64, y: i64| x.wrapping_mul(y).wrapping_add(x)
);
check_dtype!(
    check_f32,
    f32,
    |i: usize| (i as f32 - 20.0) * 0.37,
    |x: f32, y: f32| x * y + x
);
check_dtype!(
    check_f64,
    f64,
    |i: usize| (i as f64 - 20.0) * 0.37,
    |x: f64, y: f64| x * y + x
);

fn case() -> impl Strategy<Value = (Vec<usize>, OperandShape, OperandShape, u8)> {
    (0usize..=3).prop_flat_map(|ndim| {
        (
            proptest::collection::vec(0usize..=5, ndim),
            operand_shape(ndim),
            operand_shape(ndim),
            0u8..5,
        )
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]
    #[test]
    fn random_calls_match_a_naive_rust_reference((shape, a, b, dtype) in case()) {
        match dtype {
            0 => check_i32(&shape, &a, &b),
            1 => check_u8(&shape, &a, &b),
            2 => check_i64(&shape, &a, &b),
            3 => check_f32(&shape, &a, &b),
            _ => check_f64(&shape, &a, &b),
        }
    }
}
