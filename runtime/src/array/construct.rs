//! Array constructors with NumPy's semantics: [`zeros`], [`ones`], [`full`],
//! [`arange`], [`linspace`] and [`reshape`].
//!
//! This module owns NumPy's arithmetic for them (arange's length and step rule,
//! linspace's formula, reshape's inferred dimension), so that their values are
//! bit-identical to NumPy's, and the errors for arguments NumPy would reject. It must
//! not know how arrays are printed, stored in files or computed with by kernels.

use ndarray::IxDyn;

use super::alloc::{self, AllocError};
use super::{storage_dtype, with_array, with_dtype, DType, Element, NdArray};
use crate::shape::shape_tuple;
use kern_compiler::ir::ScalarValue;

/// Why an array could not be built.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum ConstructError {
    /// The shape has more elements (or bytes) than memory can address.
    #[error("an array of shape {} is too large to hold in memory", shape_tuple(.shape))]
    TooLarge { shape: Vec<usize> },
    /// The value cannot be stored in the dtype: an integer outside its range, or a
    /// float that is not finite or out of range for an integer dtype.
    /// Memory cannot hold the array, or its size in bytes overflows the address
    /// space: the shape and the bytes requested.
    #[error(transparent)]
    OutOfMemory(#[from] AllocError),
    #[error("{value} is out of bounds for {dtype}")]
    OutOfBounds { value: String, dtype: DType },
    #[error("arange: step must not be zero")]
    ZeroStep,
    /// `arange` over a range whose length is not a finite number (a NaN or infinite
    /// bound or step).
    #[error("arange: cannot compute the length of arange({start}, {stop}, {step})")]
    UndefinedLength {
        start: String,
        stop: String,
        step: String,
    },
    #[error("arange does not make {0} arrays")]
    UnsupportedDtype(DType),
    /// The new shape has a different number of elements than the array.
    #[error("cannot reshape array of size {size} into shape {}", shape_tuple(.shape))]
    Reshape { size: usize, shape: Vec<isize> },
    #[error("can only specify one unknown dimension")]
    MultipleUnknown,
    /// A dimension below -1 (only -1, for "inferred", may be negative).
    #[error("negative dimensions are not allowed: shape {}", shape_tuple(.shape))]
    NegativeDimension { shape: Vec<isize> },
}

/// An array of `dtype` and `shape` filled with zeros (`false` for bool).
pub fn zeros(dtype: DType, shape: &[usize]) -> Result<NdArray, ConstructError> {
    check_size(dtype, shape)?;
    Ok(NdArray::zeros(dtype, shape)?)
}

/// An array of `dtype` and `shape` filled with ones (`true` for bool).
pub fn ones(dtype: DType, shape: &[usize]) -> Result<NdArray, ConstructError> {
    full(dtype, shape, ScalarValue::U8(1))
}

/// An array of `dtype` and `shape` filled with `value`, converted as NumPy's
/// `np.full` converts it: any value becomes a float of a float dtype, non-zero
/// (NaN included) becomes `true`, and floats are truncated toward zero for an integer
/// dtype. A value the dtype cannot hold (300 for `i8`, -1 for `u8`, NaN or infinity
/// for an integer dtype) is an error, where NumPy raises or writes an arbitrary
/// integer.
pub fn full(dtype: DType, shape: &[usize], value: ScalarValue) -> Result<NdArray, ConstructError> {
    check_size(dtype, shape)?;
    let value = convert(Number::of(value), storage_dtype(dtype))?;
    Ok(NdArray::full(dtype, shape, value)?)
}

/// Evenly spaced values from `start` up to (not including) `stop`, `step` apart, as
/// NumPy's `np.arange(start, stop, step, dtype=dtype)` computes them.
///
/// The length is `ceil((stop - start) / step)` (exact for integer arguments, in `f64`
/// if any is a float), or 0 if that is negative. As in NumPy, element `i` is
/// `first + i * delta` computed in `dtype`, where `first` is `start` and `delta` is
/// `start + step` minus `start`, both converted to `dtype`: this is `start + i * step`
/// whenever those conversions are exact. An element outside the range of an integer
/// dtype is an error (NumPy wraps around).
pub fn arange(
    start: ScalarValue,
    stop: ScalarValue,
    step: ScalarValue,
    dtype: DType,
) -> Result<NdArray, ConstructError> {
    let dtype = storage_dtype(dtype);
    if dtype == DType::Bool {
        return Err(ConstructError::UnsupportedDtype(dtype));
    }
    let (start, stop, step) = (Number::of(start), Number::of(stop), Number::of(step));
    let (len, second) = match (start, stop, step) {
        (Number::Int(a), Number::Int(b), Number::Int(c)) => {
            if c == 0 {
                return Err(ConstructError::ZeroStep);
            }
            let len = ceil_div(b - a, c).max(0);
            let len = usize::try_from(len).map_err(|_| too_large(len))?;
            (len, Number::Int(a + c))
        }
        _ => {
            let (a, b, c) = (start.to_f64(), stop.to_f64(), step.to_f64());
            if c == 0.0 {
                return Err(ConstructError::ZeroStep);
            }
            let len = ((b - a) / c).ceil();
            if len.is_nan() || len == f64::INFINITY {
                return Err(ConstructError::UndefinedLength {
                    start: start.to_string(),
                    stop: stop.to_string(),
                    step: step.to_string(),
                });
            }
            let len = if len <= 0.0 { 0 } else { float_len(len)? };
            (len, Number::Float(a + c))
        }
    };
    check_size(dtype, &[len])?;
    if len == 0 {
        return Ok(NdArray::zeros(dtype, &[0])?);
    }
    let first = convert(start, dtype)?;
    let second = convert(second, dtype)?;
    Ok(match (first, second) {
        (ScalarValue::F32(first), ScalarValue::F32(second)) => {
            let delta = second - first;
            NdArray::from(alloc::from_fn(len, |i| first + i as f32 * delta)?.into_dyn())
        }
        (ScalarValue::F64(first), ScalarValue::F64(second)) => {
            let delta = second - first;
            NdArray::from(alloc::from_fn(len, |i| first + i as f64 * delta)?.into_dyn())
        }
        (first, second) => {
            let (first, second) = (int_of(first), int_of(second));
            let delta = second - first;
            // The elements run from `first` to `last`, so they are all in range if
            // both ends are.
            let last = delta
                .checked_mul(len as i128 - 1)
                .and_then(|d| d.checked_add(first))
                .ok_or_else(|| too_large(len as i128))?;
            convert(Number::Int(last), dtype)?;
            with_dtype!(dtype, |T| {
                let value = |v: i128| {
                    T::from_value(ScalarValue::int(T::DTYPE, v)).expect("an integer dtype")
                };
                T::wrap(alloc::from_fn(len, |i| value(first + i as i128 * delta))?.into_dyn())
            })
        }
    })
}

/// `num` evenly spaced `f64` values from `start` to `stop` (`stop` included if
/// `endpoint`), bit for bit as NumPy's `np.linspace(start, stop, num, endpoint)`:
/// element `i` is `i * step + start` with `step = (stop - start) / div` (`div` is
/// `num - 1` with the endpoint, `num` without), the last element is `stop` itself
/// when it is included, and one value alone is `start`.
pub fn linspace(
    start: f64,
    stop: f64,
    num: usize,
    endpoint: bool,
) -> Result<NdArray, ConstructError> {
    check_size(DType::F64, &[num])?;
    let div = if endpoint { num.saturating_sub(1) } else { num };
    let delta = stop - start;
    let step = delta / div as f64;
    // One pass over fresh memory: NumPy's `y = arange(num) * step; y += start`
    // rounds the product, then the sum, as each element here does.
    let mut y = alloc::from_fn(num, |i| {
        let i = i as f64;
        let offset = if div == 0 {
            // No step: NumPy still multiplies by `delta` (giving NaN for an infinite one).
            i * delta
        } else if step == 0.0 {
            // The step underflowed: NumPy divides first to keep subnormal steps.
            i / div as f64 * delta
        } else {
            i * step
        };
        offset + start
    })?;
    if endpoint && num > 1 {
        y[num - 1] = stop;
    }
    Ok(NdArray::from(y.into_dyn()))
}

/// The elements of `array` in C order, in `new_shape`. One dimension may be `-1`: it
/// is inferred from the array's size and the other dimensions, as in NumPy's
/// `a.reshape(new_shape)`.
pub fn reshape(array: &NdArray, new_shape: &[isize]) -> Result<NdArray, ConstructError> {
    let shape = resolve_shape(array.len(), new_shape)?;
    // Only zero-length shapes get here with lengths ndarray cannot multiply.
    check_size(array.dtype(), &shape)?;
    Ok(with_array!(NdArray, array, |a: T| {
        let reshaped = a
            .to_shape(IxDyn(&shape))
            .expect("the new shape has the array's size");
        T::wrap(reshaped.into_owned())
    }))
}

/// [`reshape`] of an array the caller gives up: a C-ordered one keeps its
/// buffer (NumPy's reshape of a contiguous array is a view; kern's copies,
/// except here, where nothing can see the difference).
pub fn reshape_owned(array: NdArray, new_shape: &[isize]) -> Result<NdArray, ConstructError> {
    let shape = resolve_shape(array.len(), new_shape)?;
    check_size(array.dtype(), &shape)?;
    Ok(super::axes::reshape(array, &shape))
}

/// `new_shape` with its `-1` (if any) replaced by the length that gives `size`
/// elements.
pub(crate) fn resolve_shape(
    size: usize,
    new_shape: &[isize],
) -> Result<Vec<usize>, ConstructError> {
    let mismatch = || ConstructError::Reshape {
        size,
        shape: new_shape.to_vec(),
    };
    if new_shape.iter().any(|&d| d < -1) {
        return Err(ConstructError::NegativeDimension {
            shape: new_shape.to_vec(),
        });
    }
    let unknown: Vec<usize> = (0..new_shape.len())
        .filter(|&i| new_shape[i] == -1)
        .collect();
    if unknown.len() > 1 {
        return Err(ConstructError::MultipleUnknown);
    }
    // The unknown dimension is 0 until it is inferred.
    let mut shape: Vec<usize> = new_shape
        .iter()
        .map(|&d| usize::try_from(d).unwrap_or(0))
        .collect();
    let known = shape
        .iter()
        .enumerate()
        .filter(|&(i, _)| !unknown.contains(&i))
        .try_fold(1usize, |n, (_, &d)| n.checked_mul(d))
        .ok_or_else(mismatch)?;
    match unknown.first() {
        // NumPy cannot infer a dimension next to a zero-length one, even for size 0.
        Some(&i) if known != 0 && size.is_multiple_of(known) => shape[i] = size / known,
        Some(_) => return Err(mismatch()),
        None if known != size => return Err(mismatch()),
        None => {}
    }
    Ok(shape)
}

/// An error unless an array of `dtype` and `shape` fits in memory's address space
/// (ndarray panics on larger shapes).
fn check_size(dtype: DType, shape: &[usize]) -> Result<(), ConstructError> {
    let too_large =
        || ConstructError::OutOfMemory(AllocError::new(shape, storage_dtype(dtype).size_bytes()));
    let elements = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .ok_or_else(too_large)?;
    let bytes = elements
        .checked_mul(storage_dtype(dtype).size_bytes())
        .ok_or_else(too_large)?;
    if bytes > isize::MAX as usize {
        return Err(too_large());
    }
    Ok(())
}

/// `ceil(n / d)`, exactly.
fn ceil_div(n: i128, d: i128) -> i128 {
    let quotient = n / d;
    // Truncation rounded a positive quotient down.
    let rounded_down = n % d != 0 && (n < 0) == (d < 0);
    quotient + i128::from(rounded_down)
}

fn too_large(len: i128) -> ConstructError {
    ConstructError::TooLarge {
        shape: vec![usize::try_from(len).unwrap_or(usize::MAX)],
    }
}

/// A float length (positive, finite, integral) as a `usize`.
fn float_len(len: f64) -> Result<usize, ConstructError> {
    // `usize::MAX as f64` rounds up to 2^64, which does not fit.
    if len < usize::MAX as f64 {
        Ok(len as usize)
    } else {
        Err(ConstructError::TooLarge {
            shape: vec![usize::MAX],
        })
    }
}

/// A scalar as the exact number it is: integers (and bools) as `i128`, floats as
/// `f64`.
#[derive(Clone, Copy, Debug)]
enum Number {
    Int(i128),
    Float(f64),
}

impl Number {
    fn of(value: ScalarValue) -> Number {
        match value {
            ScalarValue::F32(x) => Number::Float(f64::from(x)),
            ScalarValue::F64(x) => Number::Float(x),
            int => Number::Int(int.as_i128().expect("not a float")),
        }
    }

    fn to_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(x) => x,
        }
    }
}

impl std::fmt::Display for Number {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Number::Int(i) => write!(f, "{i}"),
            Number::Float(x) => write!(f, "{x:?}"),
        }
    }
}

/// `n` as a value of the array dtype `dtype`, converted as NumPy converts a Python
/// number assigned into an array: floats round to the nearest float of the dtype,
/// bool is "non-zero", floats are truncated toward zero for an integer dtype. An
/// integer dtype must hold the value.
fn convert(n: Number, dtype: DType) -> Result<ScalarValue, ConstructError> {
    let out_of_bounds = || ConstructError::OutOfBounds {
        value: n.to_string(),
        dtype,
    };
    Ok(match (dtype, n) {
        (DType::F32, n) => ScalarValue::F32(match n {
            Number::Int(i) => i as f32,
            Number::Float(x) => x as f32,
        }),
        (DType::F64, n) => ScalarValue::F64(n.to_f64()),
        (DType::Bool, Number::Int(i)) => ScalarValue::Bool(i != 0),
        (DType::Bool, Number::Float(x)) => ScalarValue::Bool(x != 0.0),
        (_, Number::Float(x)) => {
            let truncated = x.trunc();
            // Finite and within ±2^127, so the cast below is exact.
            let in_i128 = truncated.abs() < 2f64.powi(127);
            if !in_i128 {
                return Err(out_of_bounds());
            }
            convert(Number::Int(truncated as i128), dtype).map_err(|_| out_of_bounds())?
        }
        (_, Number::Int(i)) => {
            let (min, max) = int_bounds(dtype);
            if !(min..=max).contains(&i) {
                return Err(out_of_bounds());
            }
            ScalarValue::int(dtype, i)
        }
    })
}

/// The smallest and largest value of an integer dtype.
fn int_bounds(dtype: DType) -> (i128, i128) {
    let bits = dtype.bits();
    if dtype.is_signed_int() {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

fn int_of(value: ScalarValue) -> i128 {
    value.as_i128().expect("an integer dtype")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::{cast_value, ARRAY_DTYPES};
    use ndarray::{array, ArrayD, ShapeBuilder};

    fn f64s(array: NdArray) -> Vec<f64> {
        array.into_array::<f64>().unwrap().into_iter().collect()
    }

    fn bits(values: &[f64]) -> Vec<u64> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn zeros_and_ones_fill_every_dtype() {
        for dtype in ARRAY_DTYPES {
            let z = zeros(dtype, &[2, 3]).unwrap();
            let o = ones(dtype, &[2, 3]).unwrap();
            assert_eq!((z.dtype(), z.shape()), (dtype, &[2, 3][..]));
            assert_eq!(z.get(&[1, 2]), Some(ScalarValue::zero(dtype)));
            assert_eq!(o.get(&[1, 2]), Some(cast_value(ScalarValue::U8(1), dtype)));
        }
        assert_eq!(
            ones(DType::Bool, &[1]).unwrap().get(&[0]),
            Some(ScalarValue::Bool(true))
        );
        assert_eq!(
            ones(DType::F32, &[]).unwrap().get(&[]),
            Some(ScalarValue::F32(1.0))
        );
    }

    #[test]
    fn usize_and_isize_arrays_are_64_bit() {
        assert_eq!(zeros(DType::Usize, &[2]).unwrap().dtype(), DType::U64);
        assert_eq!(ones(DType::Isize, &[2]).unwrap().dtype(), DType::I64);
    }

    #[test]
    fn a_shape_too_large_for_memory_is_an_error() {
        let err = zeros(DType::F64, &[usize::MAX / 4, 4]).unwrap_err();
        assert!(matches!(err, ConstructError::OutOfMemory(_)));
        assert_eq!(
            ones(DType::U8, &[usize::MAX, 2]).unwrap_err().to_string(),
            format!(
                "cannot allocate an array of shape ({}, 2): {} bytes requested, \
                 more than memory allows",
                usize::MAX,
                usize::MAX as u128 * 2
            )
        );
        // Zero-length arrays have no elements, but ndarray still needs the others
        // to multiply within `isize`.
        assert!(zeros(DType::I32, &[0, usize::MAX]).is_err());
        // Within the address space but beyond memory: the shape and bytes asked for.
        for err in [
            zeros(DType::F64, &[1_000_000_000_000]).unwrap_err(),
            full(DType::F64, &[1_000_000, 1_000_000], ScalarValue::F64(1.0)).unwrap_err(),
            linspace(0.0, 1.0, 1_000_000_000_000, true).unwrap_err(),
        ] {
            assert!(matches!(err, ConstructError::OutOfMemory(_)), "{err}");
            assert!(err.to_string().contains("8000000000000 bytes"), "{err}");
        }
        let err = arange(
            ScalarValue::I64(0),
            ScalarValue::I64(1_000_000_000_000),
            ScalarValue::I64(1),
            DType::I16,
        )
        .unwrap_err();
        assert_eq!(err.to_string(), "999999999999 is out of bounds for i16");
        let err = arange(
            ScalarValue::I64(0),
            ScalarValue::I64(1_000_000_000_000),
            ScalarValue::I64(1),
            DType::I64,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot allocate an array of shape (1000000000000,): \
             8000000000000 bytes requested, more than memory allows"
        );
        assert_eq!(zeros(DType::I32, &[0, 1 << 20]).unwrap().len(), 0);
    }

    #[test]
    fn full_converts_the_value_like_numpy() {
        // np.full(2, 3.7, dtype=np.int8) -> [3 3], np.full(2, -3.7, ...) -> [-3 -3]
        let a = full(DType::I8, &[2], ScalarValue::F64(3.7)).unwrap();
        assert_eq!(a.into_array::<i8>().unwrap(), array![3i8, 3].into_dyn());
        let a = full(DType::I8, &[1], ScalarValue::F64(-3.7)).unwrap();
        assert_eq!(a.get(&[0]), Some(ScalarValue::I8(-3)));
        // np.full(2, 0.5, dtype=bool) -> [ True  True]
        let a = full(DType::Bool, &[2], ScalarValue::F64(0.5)).unwrap();
        assert_eq!(a.get(&[1]), Some(ScalarValue::Bool(true)));
        // np.full(1, 16777217, dtype=np.float32) -> [16777216.]
        let a = full(DType::F32, &[1], ScalarValue::I64(16_777_217)).unwrap();
        assert_eq!(a.get(&[0]), Some(ScalarValue::F32(16_777_216.0)));
        let a = full(DType::U64, &[1], ScalarValue::U64(u64::MAX)).unwrap();
        assert_eq!(a.get(&[0]), Some(ScalarValue::U64(u64::MAX)));
    }

    #[test]
    fn full_rejects_values_the_dtype_cannot_hold() {
        // np.full(2, 300, dtype=np.int8): "Python integer 300 out of bounds for int8"
        let err = full(DType::I8, &[2], ScalarValue::I64(300)).unwrap_err();
        assert_eq!(err.to_string(), "300 is out of bounds for i8");
        let err = full(DType::U8, &[2], ScalarValue::I32(-1)).unwrap_err();
        assert_eq!(err.to_string(), "-1 is out of bounds for u8");
        let err = full(DType::I32, &[2], ScalarValue::F64(f64::NAN)).unwrap_err();
        assert_eq!(err.to_string(), "NaN is out of bounds for i32");
        let err = full(DType::U16, &[2], ScalarValue::F32(70000.0)).unwrap_err();
        assert_eq!(err.to_string(), "70000.0 is out of bounds for u16");
        assert!(full(DType::I64, &[1], ScalarValue::F64(f64::INFINITY)).is_err());
    }

    #[test]
    fn arange_of_integers_counts_up_to_but_not_including_stop() {
        let int = ScalarValue::I64;
        // np.arange(0, 5) -> [0 1 2 3 4]; np.arange(10, 0, -3) -> [10  7  4  1]
        let a = arange(int(0), int(5), int(1), DType::I64).unwrap();
        assert_eq!(
            a.into_array::<i64>().unwrap(),
            array![0i64, 1, 2, 3, 4].into_dyn()
        );
        let a = arange(int(10), int(0), int(-3), DType::I32).unwrap();
        assert_eq!(
            a.into_array::<i32>().unwrap(),
            array![10i32, 7, 4, 1].into_dyn()
        );
        // np.arange(10, 0, -3, dtype=np.uint8) -> [10  7  4  1]: the step is negative,
        // the elements are not.
        let a = arange(int(10), int(0), int(-3), DType::U8).unwrap();
        assert_eq!(
            a.into_array::<u8>().unwrap(),
            array![10u8, 7, 4, 1].into_dyn()
        );
    }

    #[test]
    fn arange_of_an_empty_range_is_empty() {
        let int = ScalarValue::I64;
        // np.arange(5, 5) -> [], np.arange(5, 0) -> [], np.arange(0, 1, -0.5) -> []
        for (start, stop, step) in [(5, 5, 1), (5, 0, 1), (0, 5, -1)] {
            let a = arange(int(start), int(stop), int(step), DType::I16).unwrap();
            assert_eq!((a.dtype(), a.shape()), (DType::I16, &[0][..]));
        }
        let a = arange(
            ScalarValue::F64(0.0),
            int(1),
            ScalarValue::F64(-0.5),
            DType::F64,
        )
        .unwrap();
        assert_eq!(a.shape(), &[0]);
    }

    #[test]
    fn arange_of_floats_steps_by_start_plus_step_minus_start() {
        let f = ScalarValue::F64;
        // np.arange(1, 2, 0.1).tolist(): the step NumPy uses is (1 + 0.1) - 1.
        let a = arange(f(1.0), f(2.0), f(0.1), DType::F64).unwrap();
        let expected = [
            1.0,
            1.1,
            1.2000000000000002,
            1.3000000000000003,
            1.4000000000000004,
            1.5000000000000004,
            1.6000000000000005,
            1.7000000000000006,
            1.8000000000000007,
            1.9000000000000008,
        ];
        assert_eq!(bits(&f64s(a)), bits(&expected));
        // np.arange(1e16, 1e16 + 10, 3.0).tolist()
        let a = arange(f(1e16), f(1e16 + 10.0), f(3.0), DType::F64).unwrap();
        let expected = [
            1e16,
            1.0000000000000004e16,
            1.0000000000000008e16,
            1.0000000000000012e16,
        ];
        assert_eq!(bits(&f64s(a)), bits(&expected));
        // np.arange(0, 1, 0.1, dtype=np.float32).tolist(), computed in float32
        let a = arange(ScalarValue::I64(0), ScalarValue::I64(1), f(0.1), DType::F32).unwrap();
        let expected = [
            0.0,
            0.10000000149011612,
            0.20000000298023224,
            0.30000001192092896,
            0.4000000059604645,
            0.5,
            0.6000000238418579,
            0.699999988079071,
            0.800000011920929,
            0.9000000357627869,
        ];
        let actual: Vec<f64> = a
            .cast(DType::F64)
            .into_array::<f64>()
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(bits(&actual), bits(&expected));
        // np.arange(0, 5.5, 1) -> [0. 1. 2. 3. 4. 5.]
        let a = arange(ScalarValue::I32(0), f(5.5), ScalarValue::I32(1), DType::F64).unwrap();
        assert_eq!(f64s(a), [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
    }

    #[test]
    fn arange_with_float_arguments_and_an_integer_dtype_truncates_first_and_second() {
        // np.arange(0.5, 3.0, 0.5, dtype=np.int32) -> [0 1 2 3 4]: the length is 5,
        // the first element int(0.5) = 0 and the step int(1.0) - int(0.5) = 1.
        let f = ScalarValue::F64;
        let a = arange(f(0.5), f(3.0), f(0.5), DType::I32).unwrap();
        assert_eq!(
            a.into_array::<i32>().unwrap(),
            array![0i32, 1, 2, 3, 4].into_dyn()
        );
    }

    #[test]
    fn arange_rejects_a_zero_step_and_undefined_lengths() {
        let (i, f) = (ScalarValue::I64, ScalarValue::F64);
        assert_eq!(
            arange(i(0), i(10), i(0), DType::I64),
            Err(ConstructError::ZeroStep)
        );
        assert_eq!(
            arange(f(0.0), f(1.0), f(-0.0), DType::F64),
            Err(ConstructError::ZeroStep)
        );
        let err = arange(f(0.0), f(f64::INFINITY), f(1.0), DType::F64).unwrap_err();
        assert_eq!(
            err.to_string(),
            "arange: cannot compute the length of arange(0.0, inf, 1.0)"
        );
        assert!(arange(f(f64::NAN), f(1.0), f(1.0), DType::F64).is_err());
        assert!(matches!(
            arange(i(0), i(i64::MAX), i(1), DType::I64),
            Err(ConstructError::OutOfMemory(_))
        ));
        assert_eq!(
            arange(i(0), i(2), i(1), DType::Bool),
            Err(ConstructError::UnsupportedDtype(DType::Bool))
        );
    }

    #[test]
    fn arange_rejects_elements_the_integer_dtype_cannot_hold() {
        let i = ScalarValue::I64;
        // NumPy wraps np.arange(250, 260, dtype=np.uint8) to [250 ... 255 0 1 2 3].
        let err = arange(i(250), i(260), i(1), DType::U8).unwrap_err();
        assert_eq!(err.to_string(), "259 is out of bounds for u8");
        // np.arange(-3, 3, 2, dtype=np.uint8): "Python integer -3 out of bounds for uint8"
        let err = arange(i(-3), i(3), i(2), DType::U8).unwrap_err();
        assert_eq!(err.to_string(), "-3 is out of bounds for u8");
        let a = arange(i(-128), i(128), i(255), DType::I8).unwrap();
        assert_eq!(
            a.into_array::<i8>().unwrap(),
            array![-128i8, 127].into_dyn()
        );
    }

    #[test]
    fn arange_takes_unsigned_arguments_beyond_i64() {
        let u = ScalarValue::U64;
        let a = arange(u(u64::MAX - 2), u(u64::MAX), u(1), DType::U64).unwrap();
        assert_eq!(
            a.into_array::<u64>().unwrap(),
            array![u64::MAX - 2, u64::MAX - 1].into_dyn()
        );
    }

    #[test]
    fn linspace_matches_numpy_bit_for_bit() {
        // [x.hex() for x in np.linspace(0, 1, 7)], as bit patterns
        let expected: [u64; 7] = [
            0x0000000000000000,
            0x3fc5555555555555,
            0x3fd5555555555555,
            0x3fe0000000000000,
            0x3fe5555555555555,
            0x3feaaaaaaaaaaaaa,
            0x3ff0000000000000,
        ];
        assert_eq!(bits(&f64s(linspace(0.0, 1.0, 7, true).unwrap())), expected);

        // np.linspace(-3.3, 17.1, 1000): elements 0, 1 (-3.2795795795795795),
        // 500 (6.910210210210212), 998 (17.07957957957958) and 999
        let y = f64s(linspace(-3.3, 17.1, 1000, true).unwrap());
        assert_eq!(y.len(), 1000);
        let picks = [y[0], y[1], y[500], y[998], y[999]];
        let expected: [u64; 5] = [
            0xc00a666666666666,
            0xc00a3c9437f763c9,
            0x401ba40e25355a43,
            0x4031145f53cbb946,
            0x403119999999999a,
        ];
        assert_eq!(bits(&picks), expected);

        // np.linspace(0.1, 0.7, 5, endpoint=False)
        let y = f64s(linspace(0.1, 0.7, 5, false).unwrap());
        let expected: [u64; 5] = [
            0x3fb999999999999a,
            0x3fcc28f5c28f5c29,
            0x3fd5c28f5c28f5c2,
            0x3fdd70a3d70a3d70,
            0x3fe28f5c28f5c28f,
        ];
        assert_eq!(bits(&y), expected);

        // np.linspace(1e-300, 1e300, 4)
        let y = f64s(linspace(1e-300, 1e300, 4, true).unwrap());
        let expected: [u64; 4] = [
            0x01a56e1fc2f8f359,
            0x7e1fdafb60009cd0,
            0x7e2fdafb60009cd0,
            0x7e37e43c8800759c,
        ];
        assert_eq!(bits(&y), expected);
    }

    #[test]
    fn linspace_of_zero_or_one_values() {
        // np.linspace(2, 5, 0) -> [], np.linspace(2, 5, 1) -> [2.],
        // np.linspace(2, 5, 1, endpoint=False) -> [2.], np.linspace(0, np.inf, 1) -> [nan]
        assert!(f64s(linspace(2.0, 5.0, 0, true).unwrap()).is_empty());
        assert!(f64s(linspace(2.0, 5.0, 0, false).unwrap()).is_empty());
        assert_eq!(f64s(linspace(2.0, 5.0, 1, true).unwrap()), [2.0]);
        assert_eq!(f64s(linspace(2.0, 5.0, 1, false).unwrap()), [2.0]);
        assert!(f64s(linspace(0.0, f64::INFINITY, 1, true).unwrap())[0].is_nan());
    }

    #[test]
    fn linspace_keeps_steps_that_underflow_to_zero() {
        // np.linspace(0, 1e-323, 5) -> [0.e+000 0.e+000 5.e-324 1.e-323 1.e-323]: the
        // step (half the smallest subnormal) rounds to 0, so NumPy computes
        // i / 4 * 1e-323 instead of i * step.
        let tiny = f64::from_bits(1);
        let y = f64s(linspace(0.0, 2.0 * tiny, 5, true).unwrap());
        assert_eq!(bits(&y), [0, 0, 1, 2, 2]);
    }

    #[test]
    fn reshape_is_in_c_order_with_one_inferred_dimension() {
        let a = NdArray::from(ndarray::Array::from_iter(0i32..6).into_dyn());
        let b = reshape(&a, &[2, 3]).unwrap();
        assert_eq!(
            b.into_array::<i32>().unwrap(),
            array![[0, 1, 2], [3, 4, 5]].into_dyn()
        );
        let b = reshape(&a, &[3, -1]).unwrap();
        assert_eq!(b.shape(), &[3, 2]);
        let b = reshape(&a, &[-1]).unwrap();
        assert_eq!(b.shape(), &[6]);
        let b = reshape(&a, &[1, 2, -1, 1]).unwrap();
        assert_eq!(b.shape(), &[1, 2, 3, 1]);
    }

    #[test]
    fn reshape_reads_any_layout_in_c_order() {
        let fortran = ArrayD::from_shape_vec(IxDyn(&[2, 3]).f(), (0u8..6).collect()).unwrap();
        let a = NdArray::from(fortran);
        let b = reshape(&a, &[-1]).unwrap();
        assert_eq!(
            b.into_array::<u8>().unwrap(),
            array![0u8, 2, 4, 1, 3, 5].into_dyn()
        );
    }

    #[test]
    fn reshape_to_and_from_zero_dimensions() {
        let one = NdArray::from(array![7.5f64].into_dyn());
        let scalar = reshape(&one, &[]).unwrap();
        assert_eq!(
            (scalar.shape(), scalar.get(&[])),
            (&[][..], Some(ScalarValue::F64(7.5)))
        );
        assert_eq!(reshape(&scalar, &[1, 1, -1]).unwrap().shape(), &[1, 1, 1]);
        let empty = NdArray::zeros(DType::I8, &[0, 4]).unwrap();
        assert_eq!(
            reshape(&empty, &[2, 0, -1]).unwrap_err().to_string(),
            "cannot reshape array of size 0 into shape (2, 0, -1)"
        );
        assert_eq!(reshape(&empty, &[3, -1]).unwrap().shape(), &[3, 0]);
    }

    #[test]
    fn reshape_errors_read_like_numpys() {
        let a = NdArray::from(ndarray::Array::from_iter(0i64..6).into_dyn());
        // a.reshape(4): "cannot reshape array of size 6 into shape (4,)"
        let err = reshape(&a, &[4]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot reshape array of size 6 into shape (4,)"
        );
        let err = reshape(&a, &[-1, 4]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot reshape array of size 6 into shape (-1, 4)"
        );
        let err = reshape(&a, &[-1, -1]).unwrap_err();
        assert_eq!(err.to_string(), "can only specify one unknown dimension");
        let err = reshape(&a, &[2, -3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "negative dimensions are not allowed: shape (2, -3)"
        );
        let err = reshape(&a, &[0, -1]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot reshape array of size 6 into shape (0, -1)"
        );
        let huge = isize::MAX;
        assert!(reshape(&a, &[huge, huge, 0]).is_err());
        let empty = NdArray::zeros(DType::F32, &[0]).unwrap();
        assert!(matches!(
            reshape(&empty, &[0, huge, huge]),
            Err(ConstructError::OutOfMemory(_))
        ));
    }
}
