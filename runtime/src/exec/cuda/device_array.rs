//! [`DeviceArray`]: an n-d array that lives in GPU memory, so that chained ufunc
//! calls on the `cuda` target pass results from kernel to kernel without a round
//! trip through the host.
//!
//! A device array owns one device buffer of the process's GPU
//! ([`gpu`](super::gpu)) holding its elements in C order — always contiguous,
//! whatever the strides of the host array it was copied from (those are packed on
//! the way in; broadcast views are materialised). It knows dtypes, shapes and the
//! copies between host and device; it does not know ufuncs, which take device
//! arrays as operands (`ufunc::DeviceOperand`).

use cudarc::driver::CudaSlice;
use ndarray::{ArrayBase, ArrayD, Data, Dimension, IxDyn};

use super::device::{gpu, Gpu};
use super::launch::{address_of, failed};
use crate::array::{storage_dtype, with_array, with_dtype, ArrayRef, DType, Element, NdArray};
use crate::Error;

/// An n-d array in GPU memory: a dtype, a shape, and the elements in C order in a
/// device buffer it owns (freed when it is dropped).
///
/// Every constructor opens the GPU first: without a CUDA driver or device it is
/// [`Error::TargetUnavailable`], as for any call on the `cuda` target.
pub struct DeviceArray {
    /// The elements in C order; one spare byte for an empty array, because a
    /// zero-byte device allocation is an error on some drivers.
    buffer: CudaSlice<u8>,
    dtype: DType,
    shape: Vec<usize>,
}

impl std::fmt::Debug for DeviceArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceArray")
            .field("dtype", &self.dtype)
            .field("shape", &self.shape)
            .finish()
    }
}

/// Elements of `shape`, or an error when the count or its bytes overflow.
fn byte_len(dtype: DType, shape: &[usize]) -> Result<usize, Error> {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .and_then(|n| n.checked_mul(dtype.size_bytes()))
        .ok_or_else(|| {
            Error::Call(format!(
                "a device array of shape {} has more bytes than memory can address",
                crate::shape::shape_text(shape)
            ))
        })
}

impl DeviceArray {
    /// A device array of `dtype` and `shape`, every element zero (`false`).
    pub fn zeros(dtype: DType, shape: &[usize]) -> Result<DeviceArray, Error> {
        let dtype = storage_dtype(dtype);
        let bytes = byte_len(dtype, shape)?;
        let gpu = gpu()?;
        let buffer = gpu
            .stream
            .alloc_zeros::<u8>(bytes.max(1))
            .map_err(failed("cuMemAlloc"))?;
        Ok(DeviceArray {
            buffer,
            dtype,
            shape: shape.to_vec(),
        })
    }

    /// A copy of the host view `array` on the GPU, in C order (any strides,
    /// including negative and zero-stride broadcast views).
    pub fn from_host(array: &ArrayRef<'_>) -> Result<DeviceArray, Error> {
        let dtype = array.dtype();
        let shape = array.shape().to_vec();
        byte_len(dtype, &shape)?;
        let gpu = gpu()?;
        let buffer = with_array!(ArrayRef, array, |view: T| {
            match view.as_slice() {
                // Already in C order: copied straight from where it lies.
                Some(elements) => copy_in(gpu, elements),
                None => copy_in(gpu, &view.iter().copied().collect::<Vec<T>>()),
            }
        })?;
        Ok(DeviceArray {
            buffer,
            dtype,
            shape,
        })
    }

    /// A copy of the `ndarray` array `array` (any element type kern supports, any
    /// dimension, any strides) on the GPU.
    pub fn from_array<S, D, T>(array: &ArrayBase<S, D>) -> Result<DeviceArray, Error>
    where
        S: Data<Elem = T>,
        D: Dimension,
        T: Element,
    {
        DeviceArray::from_host(&ArrayRef::from(array))
    }

    /// Copies the elements of `source` (same dtype and shape) into this array,
    /// device to device, and waits for the copy (as every call on the GPU does).
    pub fn copy_from(&mut self, source: &DeviceArray) -> Result<(), Error> {
        if source.dtype != self.dtype || source.shape != self.shape {
            return Err(Error::Call(format!(
                "cannot copy a device array of {} {} into one of {} {}",
                source.dtype,
                crate::shape::shape_text(&source.shape),
                self.dtype,
                crate::shape::shape_text(&self.shape)
            )));
        }
        let gpu = gpu()?;
        // Equal dtype and shape give equal buffer lengths, which cudarc asserts.
        gpu.stream
            .memcpy_dtod(&source.buffer, &mut self.buffer)
            .map_err(failed("cuMemcpyDtoD"))?;
        gpu.stream
            .synchronize()
            .map_err(failed("cuStreamSynchronize"))
    }

    /// The elements copied back to the host, as an array in C order.
    pub fn to_host(&self) -> Result<NdArray, Error> {
        let bytes = self.read_bytes()?;
        with_dtype!(self.dtype, |T| Ok(T::wrap(self.host_array::<T>(&bytes)?)))
    }

    /// The elements copied back to the host as an `ndarray` array of `T`, which
    /// must be the array's dtype (no conversion).
    pub fn to_host_array<T: Element>(&self) -> Result<ArrayD<T>, Error> {
        if T::DTYPE != self.dtype {
            return Err(Error::Call(format!(
                "the device array holds {} elements, not {}",
                self.dtype,
                T::DTYPE
            )));
        }
        let bytes = self.read_bytes()?;
        self.host_array::<T>(&bytes)
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    pub fn ndim(&self) -> usize {
        self.shape.len()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Strides in elements of the C-order layout.
    pub fn strides(&self) -> Vec<isize> {
        let mut strides = vec![0isize; self.shape.len()];
        let mut step = 1isize;
        for k in (0..self.shape.len()).rev() {
            strides[k] = step;
            step *= self.shape[k].max(1) as isize;
        }
        strides
    }

    /// The device address of the first element.
    pub(crate) fn address(&self, gpu: &Gpu) -> u64 {
        address_of(gpu, &self.buffer)
    }

    /// Every element's bytes, in C order, waiting for the work before it.
    fn read_bytes(&self) -> Result<Vec<u8>, Error> {
        let gpu = gpu()?;
        let mut bytes = gpu
            .stream
            .clone_dtoh(&self.buffer)
            .map_err(failed("cuMemcpyDtoH"))?;
        bytes.truncate(self.len() * self.dtype.size_bytes());
        Ok(bytes)
    }

    /// `bytes` (C order, this array's dtype `T`) as a host array of its shape.
    fn host_array<T: Element>(&self, bytes: &[u8]) -> Result<ArrayD<T>, Error> {
        let len = self.len();
        if bytes.len() != len * std::mem::size_of::<T>() {
            return Err(Error::Backend(
                "a device buffer shorter than its array".into(),
            ));
        }
        // Kernels store `bool` as the byte 0 or 1; anything else is not a bool and
        // must not become one.
        if T::DTYPE == DType::Bool && bytes.iter().any(|&b| b > 1) {
            return Err(Error::Backend(
                "a device `bool` array holds a byte other than 0 and 1".into(),
            ));
        }
        let mut elements: Vec<T> = Vec::with_capacity(len);
        // SAFETY: `bytes` holds exactly `len` elements of `T` (checked above, and
        // valid bit patterns: every pattern is valid for the numeric types, and
        // bools were checked), copied into capacity reserved for them.
        unsafe {
            std::ptr::copy_nonoverlapping(
                bytes.as_ptr(),
                elements.as_mut_ptr().cast::<u8>(),
                bytes.len(),
            );
            elements.set_len(len);
        }
        ArrayD::from_shape_vec(IxDyn(&self.shape), elements)
            .map_err(|e| Error::Backend(format!("a device array's shape: {e}")))
    }
}

/// `elements` copied into a new device buffer (one spare byte when empty).
fn copy_in<T: Element>(gpu: &Gpu, elements: &[T]) -> Result<CudaSlice<u8>, Error> {
    // SAFETY: the elements are plain data (kern's dtypes have no padding), so
    // their memory is `size_of_val` initialised bytes.
    let bytes = unsafe {
        std::slice::from_raw_parts(
            elements.as_ptr().cast::<u8>(),
            std::mem::size_of_val(elements),
        )
    };
    // SAFETY: the allocation is written in full below before anything reads it
    // (the spare byte of an empty array is never read as an element).
    let mut buffer =
        unsafe { gpu.stream.alloc::<u8>(bytes.len().max(1)) }.map_err(failed("cuMemAlloc"))?;
    if !bytes.is_empty() {
        gpu.stream
            .memcpy_htod(bytes, &mut buffer)
            .map_err(failed("cuMemcpyHtoD"))?;
    }
    Ok(buffer)
}

/// A copy of `array` on the GPU: [`DeviceArray::from_array`].
pub fn to_device<S, D, T>(array: &ArrayBase<S, D>) -> Result<DeviceArray, Error>
where
    S: Data<Elem = T>,
    D: Dimension,
    T: Element,
{
    DeviceArray::from_array(array)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_that_overflow_are_an_error_before_any_device_work() {
        let err = byte_len(DType::F64, &[usize::MAX / 4, 3]).unwrap_err();
        assert!(matches!(err, Error::Call(_)), "{err:?}");
        assert_eq!(byte_len(DType::I16, &[2, 0, 5]).unwrap(), 0);
        assert_eq!(byte_len(DType::F32, &[]).unwrap(), 4);
    }

    #[test]
    fn device_arrays_can_move_between_threads() {
        fn send_and_sync<T: Send + Sync>() {}
        send_and_sync::<DeviceArray>();
    }
}
