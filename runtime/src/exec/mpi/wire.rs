//! How an array travels between ranks: a small [`Header`] (dtype, number of
//! axes, each axis) and its elements' bytes in C order, in this machine's byte
//! order (every rank of a job runs the same binary on the same kind of machine,
//! as MPI programs assume).
//!
//! The elements are never touched one by one. A C-contiguous array is sent
//! straight from its own memory ([`Payload`]); any other is made C-ordered once.
//! A receiver builds the array from the header first and has the elements
//! received straight into its memory ([`Header::zeros`], [`fill`]). Collectives
//! send the headers in one message and the elements in another, so a gathered
//! array's parts land in their places in the result, with no copy in between.
//! [`encode`] and [`decode`] put both in one message, for the few values
//! (`reduce` operands) that are folded from a list of messages.
//!
//! It knows arrays and bytes, not ranks.

use std::borrow::Cow;

use crate::array::{alloc, with_array, with_dtype, DType, Element, NdArray, ARRAY_DTYPES};
use crate::Error;

/// What a receiver needs to know of an array before its elements arrive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub dtype: DType,
    pub shape: Vec<usize>,
}

impl Header {
    pub fn of(array: &NdArray) -> Header {
        Header {
            dtype: array.dtype(),
            shape: array.shape().to_vec(),
        }
    }

    /// Dtype code, number of axes, each axis as a little-endian u64.
    pub fn encode(&self) -> Vec<u8> {
        let code = ARRAY_DTYPES
            .iter()
            .position(|d| *d == self.dtype)
            .unwrap_or(0) as u8;
        let mut bytes = Vec::with_capacity(2 + 8 * self.shape.len());
        bytes.extend_from_slice(&[code, self.shape.len() as u8]);
        for &d in &self.shape {
            bytes.extend_from_slice(&(d as u64).to_le_bytes());
        }
        bytes
    }

    /// The header [`Header::encode`] wrote at the start of `bytes`, and the
    /// bytes after it; an error naming what is wrong with the message.
    pub fn decode(bytes: &[u8]) -> Result<(Header, &[u8]), Error> {
        let [code, ndim, rest @ ..] = bytes else {
            return Err(malformed("no header"));
        };
        let dtype = *ARRAY_DTYPES
            .get(*code as usize)
            .ok_or_else(|| malformed("unknown dtype"))?;
        let ndim = *ndim as usize;
        if rest.len() < ndim * 8 {
            return Err(malformed("truncated shape"));
        }
        let (dims, rest) = rest.split_at(ndim * 8);
        let shape = dims
            .chunks_exact(8)
            .map(|d| u64::from_le_bytes(d.try_into().expect("chunks of 8")) as usize)
            .collect();
        Ok((Header { dtype, shape }, rest))
    }

    /// The bytes of one row along axis 0 (of the one element of a 0-d array).
    pub fn row_bytes(&self) -> Result<usize, Error> {
        let size = with_dtype!(self.dtype, |T| std::mem::size_of::<T>());
        let rest = self.shape.get(1..).unwrap_or_default();
        rest.iter()
            .try_fold(size, |n, &d| n.checked_mul(d))
            .ok_or_else(|| self.too_large())
    }

    /// The bytes of all the elements.
    pub fn payload_bytes(&self) -> Result<usize, Error> {
        let rows = self.shape.first().copied().unwrap_or(1);
        self.row_bytes()?
            .checked_mul(rows)
            .ok_or_else(|| self.too_large())
    }

    /// An array of this dtype and shape, all zeros, in C order: what a message's
    /// elements are received into ([`fill`]). Its memory comes zeroed from the
    /// allocator, so nothing is written before the elements arrive.
    pub fn zeros(&self) -> Result<NdArray, Error> {
        let failed = |e: alloc::AllocError| Error::Call(e.to_string());
        with_dtype!(self.dtype, |T| {
            // SAFETY: kern's elements are plain integers, floats and bools, for
            // which all-zero bytes are a valid value (0, 0.0, false).
            let array = unsafe { alloc::zeroed::<T>(&self.shape) }.map_err(failed)?;
            Ok(T::wrap(array))
        })
    }

    fn too_large(&self) -> Error {
        Error::Call(format!(
            "a message of a {} array of shape {} is larger than memory",
            self.dtype,
            crate::shape::shape_text(&self.shape)
        ))
    }
}

fn malformed(why: &str) -> Error {
    Error::Call(format!("a malformed array message arrived: {why}"))
}

/// The elements of an array in C order, as bytes: the array's own memory when
/// it is C-contiguous, else one C-ordered copy.
pub(crate) struct Payload<'a>(Cow<'a, NdArray>);

impl<'a> Payload<'a> {
    pub fn of(array: &'a NdArray) -> Result<Payload<'a>, Error> {
        let c_ordered = with_array!(NdArray, array, |a: T| a.is_standard_layout());
        if c_ordered {
            return Ok(Payload(Cow::Borrowed(array)));
        }
        let copy = with_array!(NdArray, array, |a: T| {
            T::wrap(alloc::to_owned(a.view()).map_err(|e| Error::Call(e.to_string()))?)
        });
        Ok(Payload(Cow::Owned(copy)))
    }

    pub fn bytes(&self) -> &[u8] {
        with_array!(NdArray, &*self.0, |a: T| as_bytes(
            a.as_slice().expect("a payload is in C order")
        ))
    }

    /// The array, owned: the copy if one was made, else a clone.
    pub fn into_array(self) -> NdArray {
        self.0.into_owned()
    }
}

/// Runs `receive` on the bytes of `array`'s elements (an array from
/// [`Header::zeros`], in C order) to have a message's elements written into
/// them. Received bools are then made `true` where their byte is not zero,
/// so no byte pattern leaves an invalid `bool`.
pub(crate) fn fill(
    array: &mut NdArray,
    receive: impl FnOnce(&mut [u8]) -> Result<(), Error>,
) -> Result<(), Error> {
    with_array!(NdArray, array, |a: T| {
        let elements = a.as_slice_mut().expect("a received array is in C order");
        receive(as_bytes_mut(elements))?;
        if T::DTYPE == DType::Bool {
            for byte in as_bytes_mut(elements) {
                *byte = u8::from(*byte != 0);
            }
        }
        Ok(())
    })
}

/// Elements as their bytes.
pub(crate) fn as_bytes<T: Element>(elements: &[T]) -> &[u8] {
    // SAFETY: every `Element` is a primitive integer, float or bool: initialised
    // bytes, no padding; the slice covers exactly the elements' memory.
    unsafe { std::slice::from_raw_parts(elements.as_ptr().cast::<u8>(), size_of_val(elements)) }
}

/// Elements as their bytes, to be written. Only whole elements of the same
/// dtype may be written into them (a bool's byte 0 or 1: [`fill`] makes sure).
pub(crate) fn as_bytes_mut<T: Element>(elements: &mut [T]) -> &mut [u8] {
    // SAFETY: as in `as_bytes`; the callers write only bytes of elements of
    // `T`, and `fill` makes bool bytes 0 or 1 before the elements are read.
    unsafe {
        std::slice::from_raw_parts_mut(elements.as_mut_ptr().cast::<u8>(), size_of_val(elements))
    }
}

/// `array` as one message: its header, then its elements.
pub(crate) fn encode(array: &NdArray) -> Result<Vec<u8>, Error> {
    let mut bytes = Header::of(array).encode();
    bytes.extend_from_slice(Payload::of(array)?.bytes());
    Ok(bytes)
}

/// The array [`encode`] wrote, or an error naming what is wrong with the message.
pub(crate) fn decode(bytes: &[u8]) -> Result<NdArray, Error> {
    let (header, elements) = Header::decode(bytes)?;
    if header.payload_bytes().ok() != Some(elements.len()) {
        return Err(Error::Call(format!(
            "a message of {} bytes does not hold a {} array of shape {}",
            elements.len(),
            header.dtype,
            crate::shape::shape_text(&header.shape)
        )));
    }
    let mut array = header.zeros()?;
    fill(&mut array, |bytes| {
        bytes.copy_from_slice(elements);
        Ok(())
    })?;
    Ok(array)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// One array of every dtype, of several ranks, empty ones included.
    fn every_dtype() -> Vec<NdArray> {
        vec![
            NdArray::from(array![[1.5f64, -2.0], [3.0, 4.25]].into_dyn()),
            NdArray::from(array![1.5f32, f32::NAN, -0.0].into_dyn()),
            NdArray::from(array![1i8, -128, 127].into_dyn()),
            NdArray::from(array![[1i16, -7], [9, 300]].into_dyn()),
            NdArray::from(array![1i32, -7, 9].into_dyn()),
            NdArray::from(array![i64::MIN, 0, i64::MAX].into_dyn()),
            NdArray::from(ndarray::arr0(7u8).into_dyn()),
            NdArray::from(array![65535u16, 1].into_dyn()),
            NdArray::from(array![u32::MAX].into_dyn()),
            NdArray::from(array![[u64::MAX], [3]].into_dyn()),
            NdArray::from(array![true, false, true].into_dyn()),
            NdArray::zeros(DType::F32, &[0, 3]).unwrap(),
            NdArray::zeros(DType::Bool, &[4, 0, 2]).unwrap(),
        ]
    }

    #[test]
    fn every_dtype_and_rank_survives_a_round_trip() {
        for a in every_dtype() {
            let back = decode(&encode(&a).unwrap()).unwrap();
            // Bit for bit (NaN included): compare the elements' bytes.
            assert_eq!(Header::of(&back), Header::of(&a));
            let (a_bytes, back_bytes) = (Payload::of(&a).unwrap(), Payload::of(&back).unwrap());
            assert_eq!(back_bytes.bytes(), a_bytes.bytes(), "{a:?}");
        }
    }

    #[test]
    fn a_c_ordered_array_is_sent_from_its_own_memory() {
        let a = NdArray::from(array![[1i64, 2, 3], [4, 5, 6]].into_dyn());
        let payload = Payload::of(&a).unwrap();
        let NdArray::I64(elements) = &a else { panic!() };
        assert_eq!(payload.bytes().as_ptr(), elements.as_ptr().cast::<u8>());
        assert_eq!(payload.bytes().len(), 6 * 8);
    }

    #[test]
    fn transposed_and_strided_arrays_travel_in_c_order() {
        let t = NdArray::from(array![[1i64, 2, 3], [4, 5, 6]].reversed_axes().into_dyn());
        assert_eq!(
            Payload::of(&t).unwrap().bytes(),
            as_bytes(&[1i64, 4, 2, 5, 3, 6])
        );
        let back = decode(&encode(&t).unwrap()).unwrap();
        assert_eq!(back, t);
        // An owned array with every other element of its buffer, backwards.
        let mut strided = array![10u16, 11, 12, 13, 14, 15].into_dyn();
        strided.slice_collapse(ndarray::s![..;-2]);
        let strided = NdArray::from(strided);
        assert_eq!(
            Payload::of(&strided).unwrap().bytes(),
            as_bytes(&[15u16, 13, 11])
        );
        assert_eq!(decode(&encode(&strided).unwrap()).unwrap(), strided);
    }

    #[test]
    fn received_bools_are_valid_whatever_the_bytes() {
        let header = Header {
            dtype: DType::Bool,
            shape: vec![3],
        };
        let mut a = header.zeros().unwrap();
        fill(&mut a, |bytes| {
            bytes.copy_from_slice(&[0, 7, 1]);
            Ok(())
        })
        .unwrap();
        assert_eq!(a, NdArray::from(array![false, true, true].into_dyn()));
    }

    #[test]
    fn headers_say_how_many_bytes_follow() {
        let h = Header::of(&NdArray::zeros(DType::I16, &[5, 3]).unwrap());
        assert_eq!(
            (h.row_bytes().unwrap(), h.payload_bytes().unwrap()),
            (6, 30)
        );
        let scalar = Header::of(&NdArray::from(ndarray::arr0(1.0f64).into_dyn()));
        assert_eq!(scalar.payload_bytes().unwrap(), 8);
        let huge = Header {
            dtype: DType::F64,
            shape: vec![usize::MAX, 2],
        };
        assert!(huge.payload_bytes().is_err());
    }

    #[test]
    fn a_truncated_message_is_an_error() {
        let bytes = encode(&NdArray::from(array![1.0f64, 2.0].into_dyn())).unwrap();
        assert!(decode(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode(&[]).is_err());
        assert!(decode(&[200, 0]).is_err());
    }
}
