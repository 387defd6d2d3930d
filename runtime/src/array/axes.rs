//! Views of any-dtype arrays with their axes cut or moved, without copying —
//! a slice, an index, a new axis, a permutation (what NumPy's `transpose`,
//! `moveaxis` and `np.newaxis` do to strides) — and a reshape in C order: what
//! `reduce`, `accumulate`, the executors of folds and the gufunc `axes=` layouts
//! cut arrays with.
//!
//! It knows views and layouts; nothing of ufuncs or targets.

use std::ops::Range;

use ndarray::{Axis, IxDyn, Slice};

use super::{ArrayMut, ArrayRef, Element, NdArray, Operand, OutOperand};
use crate::with_array;

impl<'a> ArrayRef<'a> {
    /// The view with its axes in `order` (`order[i]` is the old axis that
    /// becomes axis `i`; `order` is a permutation of `0..ndim`).
    pub fn permuted_axes(self, order: &[usize]) -> ArrayRef<'a> {
        with_array!(ArrayRef, self, |v: T| typed_ref(
            v.permuted_axes(IxDyn(order))
        ))
    }

    /// The view with a new axis of length 1 at `axis` (`0..=ndim`).
    pub fn insert_axis(self, axis: usize) -> ArrayRef<'a> {
        with_array!(ArrayRef, self, |v: T| typed_ref(v.insert_axis(Axis(axis))))
    }

    /// The subview at `index` along `axis`, which disappears.
    pub fn index_axis(self, axis: usize, index: usize) -> ArrayRef<'a> {
        with_array!(ArrayRef, self, |v: T| typed_ref(
            v.index_axis_move(Axis(axis), index)
        ))
    }
}

impl<'a> ArrayMut<'a> {
    /// See [`ArrayRef::permuted_axes`].
    pub fn permuted_axes(self, order: &[usize]) -> ArrayMut<'a> {
        with_array!(ArrayMut, self, |v: T| T::wrap_view_mut(
            v.permuted_axes(IxDyn(order))
        )
        .0)
    }

    /// See [`ArrayRef::index_axis`].
    pub fn index_axis(self, axis: usize, index: usize) -> ArrayMut<'a> {
        with_array!(ArrayMut, self, |v: T| T::wrap_view_mut(
            v.index_axis_move(Axis(axis), index)
        )
        .0)
    }
}

impl NdArray {
    /// See [`ArrayRef::permuted_axes`]; the data stays where it is.
    pub fn permuted_axes(self, order: &[usize]) -> NdArray {
        with_array!(NdArray, self, |a: T| T::wrap(a.permuted_axes(IxDyn(order))))
    }

    /// See [`ArrayRef::insert_axis`].
    pub fn insert_axis(self, axis: usize) -> NdArray {
        with_array!(NdArray, self, |a: T| T::wrap(a.insert_axis(Axis(axis))))
    }
}

/// The view of elements `range` of `axis`.
pub(crate) fn slice_axis<'a>(a: &ArrayRef<'a>, axis: usize, range: Range<usize>) -> ArrayRef<'a> {
    with_array!(ArrayRef, a.clone(), |v: T| typed_ref(
        v.slice_axis_move(Axis(axis), Slice::from(range))
    ))
}

/// The view of element `index` of `axis` (one axis fewer).
pub(crate) fn index_axis<'a>(a: &ArrayRef<'a>, axis: usize, index: usize) -> ArrayRef<'a> {
    a.clone().index_axis(axis, index)
}

/// The view with a new axis of length 1 at `axis`.
pub(crate) fn insert_axis<'a>(a: &ArrayRef<'a>, axis: usize) -> ArrayRef<'a> {
    a.clone().insert_axis(axis)
}

/// The writable view of elements `range` of `axis` of `a`.
pub(crate) fn slice_axis_mut(a: &mut NdArray, axis: usize, range: Range<usize>) -> OutOperand<'_> {
    with_array!(NdArray, a, |v: T| T::wrap_view_mut(
        v.slice_axis_mut(Axis(axis), Slice::from(range))
    ))
}

/// `array` with its elements in C order laid out as `shape` (same count): its
/// own buffer when it is C-ordered, else one C-ordered copy.
pub(crate) fn reshape(array: NdArray, shape: &[usize]) -> NdArray {
    with_array!(NdArray, array, |a: T| {
        let a = if a.is_standard_layout() {
            a
        } else {
            a.as_standard_layout().into_owned()
        };
        T::wrap(
            a.into_shape_with_order(ndarray::IxDyn(shape))
                .expect("same number of elements"),
        )
    })
}

fn typed_ref<T: Element>(view: ndarray::ArrayViewD<'_, T>) -> ArrayRef<'_> {
    match T::wrap_view(view) {
        Operand::Array(a) => a,
        Operand::Scalar(_) => unreachable!("wrap_view wraps every view as an array"),
    }
}

/// The inverse of the permutation `order`.
pub fn inverse_permutation(order: &[usize]) -> Vec<usize> {
    let mut inverse = vec![0; order.len()];
    for (i, &o) in order.iter().enumerate() {
        inverse[o] = i;
    }
    inverse
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::ArrayD;

    #[test]
    fn permuting_moves_strides_and_inverse_undoes_it() {
        let a = NdArray::F64(ArrayD::from_shape_fn(IxDyn(&[2, 3, 4]), |i| {
            (i[0] * 100 + i[1] * 10 + i[2]) as f64
        }));
        let order = [2, 0, 1];
        let p = a.view().permuted_axes(&order);
        assert_eq!(p.shape(), &[4, 2, 3]);
        assert_eq!(p.to_owned().get(&[3, 1, 2]), a.get(&[1, 2, 3]));
        let back = p.permuted_axes(&inverse_permutation(&order));
        assert_eq!(back.to_owned(), a);
        let wide = a.clone().insert_axis(1);
        assert_eq!(wide.shape(), &[2, 1, 3, 4]);
        assert_eq!(wide.view().index_axis(1, 0).to_owned(), a);
    }
}
