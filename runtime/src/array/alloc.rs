//! Allocating large result arrays. A fresh buffer of many megabytes comes from
//! the operating system untouched, and the first write to each 4 KiB page faults;
//! for an 80 MB ufunc result that costs several times the computation. Like
//! NumPy, kern asks Linux for transparent huge pages (`madvise(MADV_HUGEPAGE)`)
//! on such buffers, so they fault once per 2 MiB. Elsewhere, or when the kernel
//! declines, the buffer is an ordinary one: the advice is only a hint.

use std::mem::MaybeUninit;

use ndarray::{ArrayD, IxDyn, ShapeBuilder};

/// Buffers from this size on get the huge-page advice.
const HUGE_PAGE_THRESHOLD: usize = 4 << 20;
const HUGE_PAGE: usize = 2 << 20;

/// An uninitialised array of `shape` (Fortran order when `fortran`).
pub fn uninit_array<T>(shape: &[usize], fortran: bool) -> ArrayD<MaybeUninit<T>> {
    let len: usize = shape.iter().product();
    let mut buffer: Vec<MaybeUninit<T>> = Vec::with_capacity(len);
    // SAFETY: `MaybeUninit` elements need no initialisation.
    unsafe { buffer.set_len(len) };
    advise_huge_pages(buffer.as_mut_ptr().cast(), len * std::mem::size_of::<T>());
    ArrayD::from_shape_vec(IxDyn(shape).set_f(fortran), buffer)
        .expect("the buffer has exactly the shape's length")
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
            let a = uninit_array::<f64>(&shape, fortran);
            assert_eq!(a.shape(), shape.as_slice());
            if shape.iter().product::<usize>() > 1 && shape.len() == 2 {
                assert_eq!(a.t().is_standard_layout(), fortran);
            }
        }
    }
}
