//! Allocating arrays whose size comes from user input, fallibly: every such buffer
//! is reserved with `try_reserve_exact`, so a shape too large for memory is an
//! [`AllocError`] naming the shape and the bytes asked for, never an abort of the
//! process ("memory allocation of N bytes failed") or a "capacity overflow" panic.
//! Constructors, ufunc and gufunc results, host-array copies and the arrays MPI
//! messages are received into all come here.
//!
//! Large buffers also get a hint: a fresh buffer of many megabytes comes from
//! the operating system untouched, and the first write to each 4 KiB page faults;
//! for an 80 MB ufunc result that costs several times the computation. Like
//! NumPy, kern asks Linux for transparent huge pages (`madvise(MADV_HUGEPAGE)`)
//! on such buffers, so they fault once per 2 MiB. Elsewhere, or when the kernel
//! declines, the buffer is an ordinary one: the advice is only a hint.
//!
//! This module knows nothing of dtypes beyond `size_of::<T>()` nor of what fills
//! the arrays.

use std::mem::MaybeUninit;

use ndarray::{Array1, ArrayD, ArrayViewD, IxDyn, ShapeBuilder};

use crate::shape::shape_tuple;

/// Buffers from this size on get the huge-page advice.
const HUGE_PAGE_THRESHOLD: usize = 4 << 20;
const HUGE_PAGE: usize = 2 << 20;

/// An array of `shape` with elements of `element_bytes` bytes could not be
/// allocated: memory refused it, or its size does not fit in the address space.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "cannot allocate an array of shape {}: {bytes} bytes requested, more than memory allows",
    shape_tuple(.shape)
)]
pub struct AllocError {
    pub shape: Vec<usize>,
    /// The bytes the array needs (exact: computed without overflow).
    pub bytes: u128,
}

impl AllocError {
    /// The error for an array of `shape` with elements of `element_bytes` bytes.
    pub fn new(shape: &[usize], element_bytes: usize) -> AllocError {
        let bytes = shape
            .iter()
            .try_fold(element_bytes as u128, |n, &d| n.checked_mul(d as u128))
            .unwrap_or(u128::MAX);
        AllocError {
            shape: shape.to_vec(),
            bytes,
        }
    }
}

/// An empty vector with room for exactly the elements of `shape`.
pub fn try_buffer<T>(shape: &[usize]) -> Result<Vec<T>, AllocError> {
    let failed = || AllocError::new(shape, std::mem::size_of::<T>());
    let len = checked_len::<T>(shape).ok_or_else(failed)?;
    let mut buffer: Vec<T> = Vec::new();
    buffer.try_reserve_exact(len).map_err(|_| failed())?;
    advise_huge_pages(buffer.as_mut_ptr().cast(), len * std::mem::size_of::<T>());
    Ok(buffer)
}

/// An uninitialised array of `shape` (Fortran order when `fortran`).
pub fn uninit_array<T>(
    shape: &[usize],
    fortran: bool,
) -> Result<ArrayD<MaybeUninit<T>>, AllocError> {
    let mut buffer: Vec<MaybeUninit<T>> = try_buffer(shape)?;
    // SAFETY: `MaybeUninit` elements need no initialisation; the capacity is exact.
    unsafe { buffer.set_len(buffer.capacity()) };
    Ok(ArrayD::from_shape_vec(IxDyn(shape).set_f(fortran), buffer)
        .expect("the buffer has exactly the shape's length"))
}

/// An array of `shape` (C order) with every element `value`.
pub fn full<T: Clone>(shape: &[usize], value: T) -> Result<ArrayD<T>, AllocError> {
    let mut buffer = try_buffer(shape)?;
    buffer.resize(buffer.capacity(), value);
    Ok(ArrayD::from_shape_vec(IxDyn(shape), buffer).expect("the buffer has the shape's length"))
}

/// An array of `shape` (C order) whose bytes are all zero, from the allocator's
/// zeroed memory (`calloc`): a large buffer comes from the operating system
/// untouched, so nothing is written until the caller writes the elements (a
/// buffer that a message is received into).
///
/// # Safety
///
/// All-zero bytes must be a valid `T` (an integer, a float, a bool).
pub unsafe fn zeroed<T>(shape: &[usize]) -> Result<ArrayD<T>, AllocError> {
    let failed = || AllocError::new(shape, std::mem::size_of::<T>());
    let len = checked_len::<T>(shape).ok_or_else(failed)?;
    let buffer = if len == 0 || std::mem::size_of::<T>() == 0 {
        Vec::new()
    } else {
        let layout = std::alloc::Layout::array::<T>(len).map_err(|_| failed())?;
        // SAFETY: the layout has a non-zero size.
        let start = unsafe { std::alloc::alloc_zeroed(layout) };
        if start.is_null() {
            return Err(failed());
        }
        advise_huge_pages(start, layout.size());
        // SAFETY: `start` was allocated by the global allocator with the layout
        // of `len` elements of `T`, all of them initialised (zero bytes are a
        // valid `T`, the caller promises).
        unsafe { Vec::from_raw_parts(start.cast::<T>(), len, len) }
    };
    Ok(ArrayD::from_shape_vec(IxDyn(shape), buffer).expect("the buffer has the shape's length"))
}

/// The number of elements of `shape`, if its buffer fits in the address space.
fn checked_len<T>(shape: &[usize]) -> Option<usize> {
    // ndarray needs the non-zero dimensions to multiply within `isize::MAX` bytes,
    // even for an empty array; a `Vec` holds at most that many.
    let nonzero = shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |n, &d| n.checked_mul(d))?;
    let bytes = nonzero.checked_mul(std::mem::size_of::<T>().max(1))?;
    (bytes <= isize::MAX as usize).then_some(if shape.contains(&0) { 0 } else { nonzero })
}

/// A one-dimensional array of `len` elements, element `i` being `f(i)`.
pub fn from_fn<T>(len: usize, f: impl FnMut(usize) -> T) -> Result<Array1<T>, AllocError> {
    let mut buffer = try_buffer(&[len])?;
    buffer.extend((0..len).map(f));
    Ok(Array1::from_vec(buffer))
}

/// A copy of `view` in C order.
pub fn to_owned<T: Clone>(view: ArrayViewD<'_, T>) -> Result<ArrayD<T>, AllocError> {
    let mut buffer = try_buffer(view.shape())?;
    buffer.extend(view.iter().cloned());
    Ok(ArrayD::from_shape_vec(IxDyn(view.shape()), buffer)
        .expect("the buffer has the shape's length"))
}

#[cfg(target_os = "linux")]
fn advise_huge_pages(start: *mut u8, bytes: usize) {
    if bytes < HUGE_PAGE_THRESHOLD {
        return;
    }
    // Only whole huge pages inside the buffer: the advice covers whole pages,
    // and pages partly outside it may belong to other allocations.
    let first = (start as usize).next_multiple_of(HUGE_PAGE);
    let end = (start as usize + bytes) / HUGE_PAGE * HUGE_PAGE;
    if end > first {
        // SAFETY: the range lies inside the live allocation; MADV_HUGEPAGE
        // changes how pages are backed, never their contents.
        unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_start: *mut u8, _bytes: usize) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_of_any_size_and_order_have_their_shape() {
        for (shape, fortran) in [
            (vec![0usize], false),
            (vec![3, 4], true),
            (vec![1 << 20, 3], false),
        ] {
            let a = uninit_array::<f64>(&shape, fortran).unwrap();
            assert_eq!(a.shape(), shape.as_slice());
            if shape.iter().product::<usize>() > 1 && shape.len() == 2 {
                assert_eq!(a.t().is_standard_layout(), fortran);
            }
        }
    }

    #[test]
    fn a_shape_memory_cannot_hold_is_an_error_with_its_shape_and_bytes() {
        let err = full(&[1_000_000, 1_000_000], 0.0f64).unwrap_err();
        assert_eq!(err.shape, [1_000_000, 1_000_000]);
        assert_eq!(err.bytes, 8_000_000_000_000);
        assert_eq!(
            err.to_string(),
            "cannot allocate an array of shape (1000000, 1000000): \
             8000000000000 bytes requested, more than memory allows"
        );
        // Sizes past the address space are counted exactly, not wrapped.
        let err = uninit_array::<u64>(&[usize::MAX, 3], false).unwrap_err();
        assert_eq!(err.bytes, usize::MAX as u128 * 24);
        assert!(from_fn(usize::MAX / 2, |i| i as u8).is_err());
    }

    #[test]
    fn zeroed_arrays_are_zeros_of_any_size() {
        for shape in [vec![0usize, 3], vec![4, 5], vec![1 << 20]] {
            // SAFETY: zero bytes are a valid f64 and a valid bool.
            let a = unsafe { zeroed::<f64>(&shape) }.unwrap();
            assert_eq!(a, ArrayD::zeros(IxDyn(&shape)));
            let b = unsafe { zeroed::<bool>(&shape) }.unwrap();
            assert!(b.iter().all(|x| !x) && b.shape() == shape.as_slice());
        }
        let err = unsafe { zeroed::<u64>(&[usize::MAX, 3]) }.unwrap_err();
        assert_eq!(err.bytes, usize::MAX as u128 * 24);
    }

    #[test]
    fn fallible_constructors_fill_and_copy_like_ndarray() {
        assert_eq!(
            full(&[2, 3], 7i32).unwrap(),
            ArrayD::from_elem(IxDyn(&[2, 3]), 7)
        );
        assert_eq!(from_fn(4, |i| i * i).unwrap().to_vec(), [0, 1, 4, 9]);
        let fortran = ArrayD::from_shape_vec(IxDyn(&[2, 3]).f(), (0..6).collect()).unwrap();
        let copy = to_owned(fortran.view()).unwrap();
        assert_eq!(copy, fortran);
        assert!(copy.is_standard_layout());
    }
}
