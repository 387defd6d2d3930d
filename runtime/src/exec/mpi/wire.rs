//! How an array travels as one message: a header (dtype, rank, dimensions) and
//! then its elements in C order, in this machine's byte order (every rank of a
//! job runs the same binary on the same kind of machine, as MPI programs assume).
//!
//! It knows arrays and bytes, not ranks.

use ndarray::{ArrayD, IxDyn};

use crate::array::{with_array, with_dtype, DType, Element, NdArray, ARRAY_DTYPES};
use crate::Error;

/// `array` as bytes: dtype code, number of axes, each axis as u64, elements.
pub(crate) fn encode(array: &NdArray) -> Vec<u8> {
    let code = ARRAY_DTYPES
        .iter()
        .position(|d| *d == array.dtype())
        .unwrap_or(0) as u8;
    let mut bytes = vec![code, array.ndim() as u8];
    for &d in array.shape() {
        bytes.extend_from_slice(&(d as u64).to_le_bytes());
    }
    bytes.extend_from_slice(&element_bytes(array));
    bytes
}

/// The elements of `array` in C order, as bytes.
pub(crate) fn element_bytes(array: &NdArray) -> Vec<u8> {
    with_array!(NdArray, array, |a: T| {
        let mut bytes = Vec::with_capacity(a.len() * std::mem::size_of::<T>());
        for x in a.iter() {
            bytes.extend_from_slice(element_as_bytes(x));
        }
        bytes
    })
}

/// The bytes of one element (kern's dtypes are plain values with no padding).
fn element_as_bytes<T: Element>(x: &T) -> &[u8] {
    // SAFETY: every `Element` is a primitive integer, float or bool: initialised
    // bytes, no padding, and the slice lives as long as the borrow of `x`.
    unsafe { std::slice::from_raw_parts(x as *const T as *const u8, std::mem::size_of::<T>()) }
}

/// The array `encode` wrote, or an error naming what is wrong with the message.
pub(crate) fn decode(bytes: &[u8]) -> Result<NdArray, Error> {
    let bad = |why: &str| Error::Call(format!("a malformed array message arrived: {why}"));
    let [code, ndim, rest @ ..] = bytes else {
        return Err(bad("no header"));
    };
    let dtype = *ARRAY_DTYPES
        .get(*code as usize)
        .ok_or_else(|| bad("unknown dtype"))?;
    let ndim = *ndim as usize;
    if rest.len() < ndim * 8 {
        return Err(bad("truncated shape"));
    }
    let (dims, elements) = rest.split_at(ndim * 8);
    let shape: Vec<usize> = dims
        .chunks_exact(8)
        .map(|d| u64::from_le_bytes(d.try_into().expect("chunks of 8")) as usize)
        .collect();
    from_element_bytes(dtype, &shape, elements)
}

/// An array of `dtype` and `shape` from its elements' bytes in C order.
pub(crate) fn from_element_bytes(
    dtype: DType,
    shape: &[usize],
    bytes: &[u8],
) -> Result<NdArray, Error> {
    with_dtype!(dtype, |T| {
        let size = std::mem::size_of::<T>();
        let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
        if count.and_then(|n| n.checked_mul(size)) != Some(bytes.len()) {
            return Err(Error::Call(format!(
                "a message of {} bytes does not hold a {} array of shape {}",
                bytes.len(),
                dtype,
                crate::shape::shape_text(shape)
            )));
        }
        let elements: Vec<T> = bytes.chunks_exact(size).map(read_element::<T>).collect();
        let array = ArrayD::from_shape_vec(IxDyn(shape), elements)
            .map_err(|e| Error::Call(e.to_string()))?;
        Ok(T::wrap(array))
    })
}

/// One element from its bytes. Bools are read as "not zero", so no byte pattern
/// makes an invalid `bool`.
fn read_element<T: Element>(bytes: &[u8]) -> T {
    if T::DTYPE == DType::Bool {
        let v = kern_compiler::ir::ScalarValue::Bool(bytes[0] != 0);
        return T::from_value(v).expect("a bool element");
    }
    // SAFETY: `bytes` has exactly `size_of::<T>()` bytes (chunks_exact), every bit
    // pattern is a valid integer or float, and the read is unaligned-safe.
    unsafe { std::ptr::read_unaligned(bytes.as_ptr() as *const T) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn every_dtype_and_rank_survives_a_round_trip() {
        let arrays = vec![
            NdArray::from(array![[1.5f64, -2.0], [3.0, 4.25]].into_dyn()),
            NdArray::from(array![1i32, -7, 9].into_dyn()),
            NdArray::from(array![true, false, true].into_dyn()),
            NdArray::from(ndarray::arr0(7u8).into_dyn()),
            NdArray::zeros(DType::F32, &[0, 3]).unwrap(),
        ];
        for a in arrays {
            assert_eq!(decode(&encode(&a)).unwrap(), a);
        }
    }

    #[test]
    fn a_transposed_array_travels_in_c_order() {
        let a = NdArray::from(array![[1i64, 2, 3], [4, 5, 6]].reversed_axes().into_dyn());
        let back = decode(&encode(&a)).unwrap();
        assert_eq!(back, a);
    }

    #[test]
    fn a_truncated_message_is_an_error() {
        let bytes = encode(&NdArray::from(array![1.0f64, 2.0].into_dyn()));
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode(&[]).is_err());
        assert!(decode(&[200, 0]).is_err());
    }
}
