//! Elementwise combination of the arrays of all ranks (`mpi::reduce` and
//! `mpi::allreduce`): the operations and the rank-order fold.
//!
//! The fold runs where the arrays were gathered, in rank order, so the result
//! does not depend on MPI's reduction tree or on timing: a float sum over ranks is
//! the same on every run (it may differ in the last bits from a sum in another
//! order). Integers wrap on overflow, as NumPy's do; on `bool`, sum and max are
//! "or", product and min are "and".

use crate::array::{with_array, Element, NdArray};
use crate::Error;

/// How the ranks' elements combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    Sum,
    Prod,
    Min,
    Max,
}

impl ReduceOp {
    pub fn name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "sum",
            ReduceOp::Prod => "prod",
            ReduceOp::Min => "min",
            ReduceOp::Max => "max",
        }
    }
}

/// An element type the reduction can combine.
trait Combine: Copy {
    fn combine(self, other: Self, op: ReduceOp) -> Self;
}

macro_rules! combine_int {
    ($($t:ty),*) => {$(
        impl Combine for $t {
            fn combine(self, other: Self, op: ReduceOp) -> Self {
                match op {
                    ReduceOp::Sum => self.wrapping_add(other),
                    ReduceOp::Prod => self.wrapping_mul(other),
                    ReduceOp::Min => self.min(other),
                    ReduceOp::Max => self.max(other),
                }
            }
        }
    )*};
}
combine_int!(i8, i16, i32, i64, u8, u16, u32, u64);

macro_rules! combine_float {
    ($($t:ty),*) => {$(
        impl Combine for $t {
            /// Min and max propagate NaN, as NumPy's `minimum`/`maximum` do.
            fn combine(self, other: Self, op: ReduceOp) -> Self {
                match op {
                    ReduceOp::Sum => self + other,
                    ReduceOp::Prod => self * other,
                    ReduceOp::Min if self.is_nan() || other.is_nan() => <$t>::NAN,
                    ReduceOp::Max if self.is_nan() || other.is_nan() => <$t>::NAN,
                    ReduceOp::Min => self.min(other),
                    ReduceOp::Max => self.max(other),
                }
            }
        }
    )*};
}
combine_float!(f32, f64);

impl Combine for bool {
    fn combine(self, other: Self, op: ReduceOp) -> Self {
        match op {
            ReduceOp::Sum | ReduceOp::Max => self || other,
            ReduceOp::Prod | ReduceOp::Min => self && other,
        }
    }
}

/// `parts[0] op parts[1] op ..`, elementwise, left to right. The parts must share
/// one dtype and one shape.
pub(super) fn fold(parts: &[NdArray], op: ReduceOp) -> Result<NdArray, Error> {
    let (first, rest) = parts
        .split_first()
        .ok_or_else(|| Error::Call("nothing was reduced".into()))?;
    let mut acc = first.clone();
    for (k, part) in rest.iter().enumerate() {
        if part.dtype() != acc.dtype() || part.shape() != acc.shape() {
            return Err(Error::Call(format!(
                "cannot reduce ({}) a {} array of shape {} from rank {} with a {} array of shape {} from rank 0: \
                 every rank must pass the same dtype and shape",
                op.name(),
                part.dtype(),
                crate::shape::shape_text(part.shape()),
                k + 1,
                acc.dtype(),
                crate::shape::shape_text(acc.shape())
            )));
        }
        with_array!(NdArray, &mut acc, |a: T| {
            let b = T::unwrap_ref(part).expect("dtypes were compared");
            a.zip_mut_with(b, |x, y| *x = x.combine(*y, op));
        });
    }
    Ok(acc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn f64s(v: ndarray::Array1<f64>) -> NdArray {
        NdArray::from(v.into_dyn())
    }

    #[test]
    fn ranks_fold_left_to_right_elementwise() {
        let parts = [
            f64s(array![1.0, 5.0]),
            f64s(array![2.0, -1.0]),
            f64s(array![4.0, 3.0]),
        ];
        assert_eq!(fold(&parts, ReduceOp::Sum).unwrap(), f64s(array![7.0, 7.0]));
        assert_eq!(
            fold(&parts, ReduceOp::Prod).unwrap(),
            f64s(array![8.0, -15.0])
        );
        assert_eq!(
            fold(&parts, ReduceOp::Min).unwrap(),
            f64s(array![1.0, -1.0])
        );
        assert_eq!(fold(&parts, ReduceOp::Max).unwrap(), f64s(array![4.0, 5.0]));
    }

    #[test]
    fn integers_wrap_and_bools_are_logical() {
        let ints = [
            NdArray::from(array![i8::MAX].into_dyn()),
            NdArray::from(array![1i8].into_dyn()),
        ];
        assert_eq!(
            fold(&ints, ReduceOp::Sum).unwrap(),
            NdArray::from(array![i8::MIN].into_dyn())
        );
        let bools = [
            NdArray::from(array![true, false].into_dyn()),
            NdArray::from(array![false, false].into_dyn()),
        ];
        assert_eq!(
            fold(&bools, ReduceOp::Sum).unwrap(),
            NdArray::from(array![true, false].into_dyn())
        );
        assert_eq!(
            fold(&bools, ReduceOp::Min).unwrap(),
            NdArray::from(array![false, false].into_dyn())
        );
    }

    #[test]
    fn nan_wins_min_and_max() {
        let parts = [f64s(array![f64::NAN]), f64s(array![1.0])];
        let NdArray::F64(m) = fold(&parts, ReduceOp::Max).unwrap() else {
            panic!()
        };
        assert!(m[[0]].is_nan());
    }

    #[test]
    fn mismatched_shapes_name_the_rank() {
        let parts = [f64s(array![1.0, 2.0]), f64s(array![1.0])];
        let err = fold(&parts, ReduceOp::Sum).unwrap_err().to_string();
        assert!(err.contains("from rank 1"), "{err}");
    }
}
