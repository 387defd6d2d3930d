//! Views of an array along one axis — a slice, an index, a new axis — and a
//! reshape in C order: what `reduce`, `accumulate` and the executors of folds
//! cut arrays with.
//!
//! It knows views and layouts; nothing of ufuncs or targets.

use std::ops::Range;

use ndarray::{Axis, Slice};

use super::{with_array, ArrayRef, Element, NdArray, Operand, OutOperand};

/// The view of elements `range` of `axis`.
pub(crate) fn slice_axis<'a>(a: &ArrayRef<'a>, axis: usize, range: Range<usize>) -> ArrayRef<'a> {
    with_array!(ArrayRef, a.clone(), |v: T| {
        match T::wrap_view(v.slice_axis_move(Axis(axis), Slice::from(range))) {
            Operand::Array(r) => r,
            Operand::Scalar(_) => unreachable!(),
        }
    })
}

/// The view of element `index` of `axis` (one axis fewer).
pub(crate) fn index_axis<'a>(a: &ArrayRef<'a>, axis: usize, index: usize) -> ArrayRef<'a> {
    with_array!(ArrayRef, a.clone(), |v: T| {
        match T::wrap_view(v.index_axis_move(Axis(axis), index)) {
            Operand::Array(r) => r,
            Operand::Scalar(_) => unreachable!(),
        }
    })
}

/// The view with a new axis of length 1 at `axis`.
pub(crate) fn insert_axis<'a>(a: &ArrayRef<'a>, axis: usize) -> ArrayRef<'a> {
    with_array!(ArrayRef, a.clone(), |v: T| {
        match T::wrap_view(v.insert_axis(Axis(axis))) {
            Operand::Array(r) => r,
            Operand::Scalar(_) => unreachable!(),
        }
    })
}

/// The writable view of elements `range` of `axis` of `a`.
pub(crate) fn slice_axis_mut(a: &mut NdArray, axis: usize, range: Range<usize>) -> OutOperand<'_> {
    with_array!(NdArray, a, |v: T| T::wrap_view_mut(
        v.slice_axis_mut(Axis(axis), Slice::from(range))
    ))
}

/// `array` with its elements in C order laid out as `shape` (same count).
pub(crate) fn reshape(array: NdArray, shape: &[usize]) -> NdArray {
    with_array!(NdArray, array, |a: T| {
        let a = a.as_standard_layout().into_owned();
        T::wrap(
            a.into_shape_with_order(ndarray::IxDyn(shape))
                .expect("same number of elements"),
        )
    })
}
