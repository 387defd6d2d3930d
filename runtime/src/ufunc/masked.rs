//! `where=` masks (NumPy's `where` argument): calls that compute and write only
//! the elements a boolean mask selects, and reductions that combine only them.
//!
//! A masked call gathers the selected elements of every (broadcast) input into
//! contiguous 1-d arrays, runs the ufunc's own call on them — the same compiled
//! loop on the same target, so every selected element has exactly the bits of an
//! unmasked call, and masked-out elements are never computed (a division by zero
//! there cannot trap) — and scatters the results into the selected elements of
//! `out`; the rest of `out` is untouched. A masked reduction replaces masked-out
//! elements by the ufunc's identity and reduces as usual (same order as without a
//! mask); a ufunc without an identity folds the selected elements in order from
//! `initial`, which is then required (NumPy's rule and message).
//!
//! It knows shapes, masks and values; loop selection and execution are the
//! ufunc's.

use kern_compiler::ir::ScalarValue;
use kern_compiler::kernel_decl::Identity;
use ndarray::{ArrayD, ArrayViewD, IxDyn};

use super::methods::{keep_dims, Initial, Reduce};
use super::{shape_text, Ufunc};
use crate::array::axes::{index_axis, reshape};
use crate::array::{
    cast_value, with_array, ArrayMut, ArrayRef, Element, NdArray, Operand, OutOperand,
};
use crate::broadcast::broadcast_shapes;
use crate::Error;

/// A `where` mask broadcast to a call's shape, as booleans in C order.
struct Mask {
    selected: Vec<bool>,
    count: usize,
}

impl Mask {
    /// `mask` (a bool array or scalar) broadcast to `shape`.
    fn of(mask: &Operand<'_>, shape: &[usize]) -> Result<Mask, Error> {
        let selected: Vec<bool> = match mask {
            Operand::Scalar(ScalarValue::Bool(b)) => vec![*b; shape.iter().product()],
            Operand::Array(ArrayRef::Bool(m)) => match m.broadcast(IxDyn(shape)) {
                Some(b) => b.iter().copied().collect(),
                None => {
                    return Err(Error::Call(format!(
                        "non-broadcastable where mask with shape {} doesn't match the broadcast shape {}",
                        shape_text(m.shape()),
                        shape_text(shape)
                    )))
                }
            },
            other => {
                return Err(Error::Call(format!(
                    "cannot cast the where mask from {} to bool with casting rule 'safe'",
                    other.dtype()
                )))
            }
        };
        let count = selected.iter().filter(|s| **s).count();
        Ok(Mask { selected, count })
    }
}

/// The elements of `a` broadcast to `shape` that `mask` selects, in C order.
fn gather(a: &ArrayRef<'_>, shape: &[usize], mask: &Mask) -> NdArray {
    with_array!(ArrayRef, a, |v: T| {
        let b = v.broadcast(IxDyn(shape)).expect("planned shapes broadcast");
        let picked: Vec<T> = b
            .iter()
            .zip(&mask.selected)
            .filter(|(_, s)| **s)
            .map(|(x, _)| *x)
            .collect();
        T::wrap(ArrayD::from_shape_vec(IxDyn(&[picked.len()]), picked).expect("1-d"))
    })
}

/// Writes `values` (one per selected element, any dtype) into the selected
/// elements of `out`, converted to its dtype with `as`.
fn scatter(out: &mut ArrayMut<'_>, values: &NdArray, mask: &Mask) {
    let values = values.cast(out.dtype());
    with_array!(ArrayMut, out, |o: T| {
        let values = T::unwrap_ref(&values).expect("cast to the output dtype");
        let mut next = values.iter();
        for (slot, s) in o.iter_mut().zip(&mask.selected) {
            if *s {
                *slot = *next.next().expect("one value per selected element");
            }
        }
    })
}

impl Ufunc {
    /// Applies the ufunc where `mask` is true, into `out` (NumPy's `out=out,
    /// where=mask`): the inputs and the mask (a bool array or scalar) broadcast to
    /// `out`'s shape; elements of `out` where the mask is false keep their values
    /// and are never computed. Dtype rules are [`Ufunc::call_out`]'s. A kernel
    /// error leaves `out` untouched.
    pub fn call_out_where<'o, 'm>(
        &self,
        inputs: &[Operand<'_>],
        mask: impl Into<Operand<'m>>,
        out: impl Into<OutOperand<'o>>,
    ) -> Result<(), Error> {
        let OutOperand(mut out) = out.into();
        let mask = mask.into();
        // Dtypes and shapes as for an unmasked call into `out`; the mask takes
        // part in broadcasting, so it must fit `out` too.
        self.plan(inputs, Some(&out))?;
        let shape = out.shape().to_vec();
        let mask = Mask::of(&mask, &shape)?;
        if mask.count == 0 {
            return Ok(());
        }
        let packed: Vec<NdArray> = inputs
            .iter()
            .filter_map(|input| match input {
                Operand::Array(a) => Some(gather(a, &shape, &mask)),
                Operand::Scalar(_) => None,
            })
            .collect();
        let mut arrays = packed.iter();
        let packed_inputs: Vec<Operand<'_>> = inputs
            .iter()
            .map(|input| match input {
                Operand::Array(_) => Operand::Array(arrays.next().expect("gathered").view()),
                Operand::Scalar(v) => Operand::Scalar(*v),
            })
            .collect();
        let mut values = self.call(&packed_inputs)?;
        if values.shape().is_empty() {
            // Every input a scalar: one value for every selected element.
            let v = values.get(&[]).expect("a 0-d result has one element");
            values = NdArray::full(values.dtype(), &[mask.count], v)?;
        }
        scatter(&mut out, &values, &mask);
        Ok(())
    }

    /// Applies the ufunc where `mask` is true (NumPy's `where=mask` without
    /// `out`): the mask takes part in broadcasting; the result's other elements
    /// are zero (NumPy leaves them uninitialised; kern never returns garbage).
    pub fn call_where<'m>(
        &self,
        inputs: &[Operand<'_>],
        mask: impl Into<Operand<'m>>,
    ) -> Result<NdArray, Error> {
        let mask = mask.into();
        let plan = self.plan(inputs, None)?;
        let shape = broadcast_shapes(&[plan.shape.as_slice(), mask.shape()])
            .map_err(|e| Error::Call(e.to_string()))?;
        let mut out = NdArray::zeros(plan.out_dtype, &shape)?;
        self.call_out_where(inputs, mask, OutOperand(out.view_mut()))?;
        Ok(out)
    }

    /// `reduce` with `options.where_mask` (see [`Reduce::where_mask`]).
    pub(super) fn reduce_where(
        &self,
        array: &ArrayRef<'_>,
        mask: &NdArray,
        options: &Reduce,
    ) -> Result<NdArray, Error> {
        let unmasked = Reduce {
            where_mask: None,
            ..options.clone()
        };
        let shape = array.shape().to_vec();
        let mask = Mask::of(&Operand::Array(mask.view()), &shape)?;
        let identity = match (options.initial, self.decl.identity) {
            (Initial::NoIdentity, _) | (_, Identity::None | Identity::Reorderable) => None,
            (_, Identity::Value(v)) => Some(v),
        };
        if let Some(identity) = identity {
            // Masked-out elements become the identity; the order is unchanged.
            let filled = fill_masked_out(array, &mask, identity);
            return self.reduce(&filled, &unmasked);
        }
        let Initial::Value(initial) = options.initial else {
            return Err(Error::Call(format!(
                "reduction operation `{}` does not have an identity, so to use a where mask one has to specify 'initial'",
                self.name()
            )));
        };
        self.fold_selected(array, mask, initial, &unmasked)
    }

    /// Without an identity: `f(..f(initial, x_a).., x_z)` over the selected
    /// elements of each lane, in order (the reduced axes flattened in C order).
    fn fold_selected(
        &self,
        array: &ArrayRef<'_>,
        mask: Mask,
        initial: ScalarValue,
        options: &Reduce,
    ) -> Result<NdArray, Error> {
        let ndim = array.shape().len();
        let mut axes = match &options.axes {
            None => (0..ndim).collect(),
            Some(list) if ndim == 0 && list.iter().all(|&a| a == 0 || a == -1) => Vec::new(),
            Some(list) => super::methods::normalize_axes(list, ndim)?,
        };
        axes.sort_unstable();
        if axes.len() > 1 && !self.reorderable() {
            return Err(Error::Call(format!(
                "reduction operation `{}` is not reorderable, so at most one axis may be specified",
                self.name()
            )));
        }
        let input = self.reduction_input(array.dtype(), options.dtype);
        let acc = self.accumulator_dtype(input)?;
        // Kept axes first, reduced axes last, flattened into one lane axis.
        let kept: Vec<usize> = (0..ndim).filter(|a| !axes.contains(a)).collect();
        let order: Vec<usize> = kept.iter().chain(&axes).copied().collect();
        let kept_shape: Vec<usize> = kept.iter().map(|&a| array.shape()[a]).collect();
        let n: usize = axes.iter().map(|&a| array.shape()[a]).product();
        let mut lanes_shape = kept_shape.clone();
        lanes_shape.push(n);
        let values = reshape(permuted(&array.cast(input).view(), &order), &lanes_shape);
        let mask_array = NdArray::from(
            ArrayD::from_shape_vec(IxDyn(array.shape()), mask.selected).expect("mask of the shape"),
        );
        let lane_mask = reshape(permuted(&mask_array.view(), &order), &lanes_shape);
        let mut result = NdArray::full(acc, &kept_shape, initial)?;
        for j in 0..n {
            let x = index_axis(&values.view(), kept.len(), j);
            let m = index_axis(&lane_mask.view(), kept.len(), j);
            let previous = result.clone();
            self.call_out_where(
                &[Operand::Array(previous.view()), Operand::Array(x)],
                Operand::Array(m),
                &mut result,
            )?;
        }
        Ok(keep_dims(result, array.shape(), &axes, options.keepdims))
    }
}

/// `array` with its masked-out elements replaced by `value` (converted with `as`).
fn fill_masked_out(array: &ArrayRef<'_>, mask: &Mask, value: ScalarValue) -> NdArray {
    with_array!(ArrayRef, array, |a: T| {
        let fill = T::from_value(cast_value(value, T::DTYPE)).expect("storage dtype");
        let values: Vec<T> = a
            .iter()
            .zip(&mask.selected)
            .map(|(x, s)| if *s { *x } else { fill })
            .collect();
        T::wrap(ArrayD::from_shape_vec(IxDyn(a.shape()), values).expect("same shape"))
    })
}

/// `a` with its axes in `order` (a copy).
fn permuted(a: &ArrayRef<'_>, order: &[usize]) -> NdArray {
    with_array!(ArrayRef, a, |v: T| {
        let p: ArrayViewD<'_, T> = v.view().permuted_axes(IxDyn(order));
        T::wrap(p.to_owned())
    })
}
