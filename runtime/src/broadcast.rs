//! NumPy broadcasting: the common shape of several operands, and the strides that
//! view one operand at that shape.
//!
//! This module owns the broadcasting rule only. It sees shapes and strides counted
//! in elements, never dtypes, memory, or the core dimensions of a gufunc (callers
//! pass the loop dimensions alone).
//!
//! It follows NumPy's iterator: shapes are aligned at their last dimension, missing
//! leading dimensions count as 1, and two sizes combine when they are equal or one
//! of them is 1, so 1 stretches to 0 but 0 and 3 do not combine. Errors use NumPy's
//! wording and print shapes its way, without spaces and with the comma of a 1-tuple:
//! `(2,3) (4,)`.

use crate::shape::shape_text;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BroadcastError {
    /// Two operands disagree on an axis; `first` fixed its size, `second` conflicts.
    #[error(
        "operands could not be broadcast together with shapes {}",
        shape_list(.shapes)
    )]
    Incompatible {
        /// Every operand's shape, as the message prints them all.
        shapes: Vec<Vec<usize>>,
        first: usize,
        second: usize,
    },
    /// An operand cannot be viewed at the requested shape (`np.broadcast_to`'s error).
    #[error(
        "operands could not be broadcast together with remapped shapes \
         [original->remapped]: {} and requested shape {}",
        shape_text(.shape),
        shape_text(.to)
    )]
    NotBroadcastableTo { shape: Vec<usize>, to: Vec<usize> },
    /// A caller bug: the strides do not describe the shape.
    #[error(
        "{strides} strides given for shape {} of {} dimensions",
        shape_text(.shape),
        .shape.len()
    )]
    StrideCount { shape: Vec<usize>, strides: usize },
}

/// NumPy ends every shape with a space; we only separate them, so that the message
/// has no trailing whitespace.
fn shape_list(shapes: &[Vec<usize>]) -> String {
    let texts: Vec<String> = shapes.iter().map(|shape| shape_text(shape)).collect();
    texts.join(" ")
}

/// The shape all of `shapes` broadcast to. No operands broadcast to a scalar.
pub fn broadcast_shapes(shapes: &[&[usize]]) -> Result<Vec<usize>, BroadcastError> {
    let ndim = shapes.iter().map(|shape| shape.len()).max().unwrap_or(0);
    let mut result = vec![1; ndim];
    // Which operand set each axis to a size other than 1, to name it in an error.
    let mut fixed_by: Vec<Option<usize>> = vec![None; ndim];
    // Operand by operand, like NumPy's iterator, so the same pair is reported.
    for (operand, shape) in shapes.iter().enumerate() {
        let offset = ndim - shape.len();
        for (axis, &size) in (offset..).zip(shape.iter()) {
            if size == 1 {
                continue;
            }
            match fixed_by[axis] {
                None => {
                    result[axis] = size;
                    fixed_by[axis] = Some(operand);
                }
                Some(_) if result[axis] == size => {}
                Some(first) => {
                    return Err(BroadcastError::Incompatible {
                        shapes: shapes.iter().map(|shape| shape.to_vec()).collect(),
                        first,
                        second: operand,
                    })
                }
            }
        }
    }
    Ok(result)
}

/// The strides, in elements, of an operand of `shape` and `strides` viewed at the
/// broadcast shape `to`: prepended and stretched axes step by 0, the others keep
/// their stride (negative ones included).
pub fn broadcast_strides(
    shape: &[usize],
    strides: &[isize],
    to: &[usize],
) -> Result<Vec<isize>, BroadcastError> {
    if strides.len() != shape.len() {
        return Err(BroadcastError::StrideCount {
            shape: shape.to_vec(),
            strides: strides.len(),
        });
    }
    let not_broadcastable = || BroadcastError::NotBroadcastableTo {
        shape: shape.to_vec(),
        to: to.to_vec(),
    };
    let offset = to
        .len()
        .checked_sub(shape.len())
        .ok_or_else(not_broadcastable)?;
    let mut result = vec![0; to.len()];
    for (axis, (&size, &stride)) in (offset..).zip(shape.iter().zip(strides)) {
        result[axis] = if size == to[axis] {
            // Equal sizes keep the stride even when both are 1: a length-1 axis
            // never steps, and the caller may still read the stride for layout.
            stride
        } else if size == 1 {
            0
        } else {
            return Err(not_broadcastable());
        };
    }
    Ok(result)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shapes_of(shapes: &[&[usize]]) -> Vec<usize> {
        broadcast_shapes(shapes).unwrap_or_else(|e| panic!("{shapes:?}: {e}"))
    }

    fn incompatible(shapes: &[&[usize]]) -> (String, usize, usize) {
        match broadcast_shapes(shapes) {
            Err(error @ BroadcastError::Incompatible { first, second, .. }) => {
                (error.to_string(), first, second)
            }
            other => panic!("{shapes:?} should not broadcast, got {other:?}"),
        }
    }

    #[test]
    fn no_operands_and_scalars_broadcast_to_a_scalar() {
        assert_eq!(shapes_of(&[]), Vec::<usize>::new());
        assert_eq!(shapes_of(&[&[]]), Vec::<usize>::new());
        assert_eq!(shapes_of(&[&[], &[]]), Vec::<usize>::new());
    }

    #[test]
    fn a_scalar_takes_the_shape_of_the_other_operand() {
        assert_eq!(shapes_of(&[&[], &[2, 3]]), [2, 3]);
        assert_eq!(shapes_of(&[&[2, 3], &[]]), [2, 3]);
    }

    #[test]
    fn equal_shapes_broadcast_to_themselves() {
        assert_eq!(shapes_of(&[&[2, 3], &[2, 3]]), [2, 3]);
        assert_eq!(shapes_of(&[&[5], &[5], &[5]]), [5]);
    }

    #[test]
    fn shapes_are_aligned_at_their_last_dimension() {
        assert_eq!(shapes_of(&[&[5, 4], &[4]]), [5, 4]);
        assert_eq!(shapes_of(&[&[15, 3, 5], &[3, 5]]), [15, 3, 5]);
        assert_eq!(shapes_of(&[&[8, 1, 6, 1], &[7, 1, 5]]), [8, 7, 6, 5]);
    }

    #[test]
    fn size_one_stretches_to_the_other_size() {
        assert_eq!(shapes_of(&[&[3, 1], &[1, 4]]), [3, 4]);
        assert_eq!(shapes_of(&[&[15, 3, 5], &[15, 1, 5]]), [15, 3, 5]);
        assert_eq!(shapes_of(&[&[1, 1], &[1]]), [1, 1]);
    }

    #[test]
    fn size_zero_broadcasts_with_one_and_with_itself_only() {
        assert_eq!(shapes_of(&[&[0], &[1]]), [0]);
        assert_eq!(shapes_of(&[&[1], &[0]]), [0]);
        assert_eq!(shapes_of(&[&[0, 3], &[1, 3]]), [0, 3]);
        assert_eq!(shapes_of(&[&[0], &[0]]), [0]);
        assert_eq!(shapes_of(&[&[2, 0], &[]]), [2, 0]);
        assert_eq!(
            incompatible(&[&[0], &[3]]),
            (
                "operands could not be broadcast together with shapes (0,) (3,)".to_owned(),
                0,
                1
            )
        );
    }

    #[test]
    fn mismatched_sizes_report_every_shape_in_numpy_form() {
        assert_eq!(
            incompatible(&[&[2, 3], &[4]]),
            (
                "operands could not be broadcast together with shapes (2,3) (4,)".to_owned(),
                0,
                1
            )
        );
        assert_eq!(
            incompatible(&[&[], &[2, 1], &[3, 4], &[5]]).0,
            "operands could not be broadcast together with shapes () (2,1) (3,4) (5,)"
        );
    }

    #[test]
    fn the_operand_that_fixed_the_axis_is_named_not_a_stretched_one() {
        // Operand 0 has 1 on the axis, so operand 1 fixed it and 2 conflicts.
        assert_eq!(incompatible(&[&[1, 3], &[2, 1], &[4, 3]]).1, 1);
        assert_eq!(incompatible(&[&[1, 3], &[2, 1], &[4, 3]]).2, 2);
        // The first conflict in operand order, even if a later axis also conflicts.
        let (_, first, second) = incompatible(&[&[2, 3], &[2, 4], &[5, 3]]);
        assert_eq!((first, second), (0, 1));
    }

    #[test]
    fn many_operands_broadcast_together() {
        let shapes: [&[usize]; 5] = [&[], &[1], &[2, 1], &[1, 1, 3], &[4, 1, 1]];
        assert_eq!(shapes_of(&shapes), [4, 2, 3]);
    }

    #[test]
    fn prepended_axes_get_stride_zero() {
        assert_eq!(
            broadcast_strides(&[2, 3], &[3, 1], &[4, 2, 3]),
            Ok(vec![0, 3, 1])
        );
        assert_eq!(broadcast_strides(&[], &[], &[2, 3]), Ok(vec![0, 0]));
        assert_eq!(broadcast_strides(&[], &[], &[]), Ok(vec![]));
    }

    #[test]
    fn stretched_size_one_axes_get_stride_zero() {
        assert_eq!(broadcast_strides(&[3, 1], &[1, 1], &[3, 4]), Ok(vec![1, 0]));
        assert_eq!(broadcast_strides(&[1, 4], &[4, 1], &[3, 4]), Ok(vec![0, 1]));
        assert_eq!(broadcast_strides(&[1], &[1], &[0]), Ok(vec![0]));
    }

    #[test]
    fn axes_that_keep_their_size_keep_their_stride() {
        assert_eq!(broadcast_strides(&[1, 3], &[3, 1], &[1, 3]), Ok(vec![3, 1]));
        assert_eq!(broadcast_strides(&[0], &[1], &[2, 0]), Ok(vec![0, 1]));
        // Non-contiguous and reversed views are kept as they are.
        assert_eq!(broadcast_strides(&[3], &[-1], &[2, 3]), Ok(vec![0, -1]));
        assert_eq!(
            broadcast_strides(&[2, 1], &[-6, 7], &[2, 5]),
            Ok(vec![-6, 0])
        );
        assert_eq!(broadcast_strides(&[2, 3], &[1, 2], &[2, 3]), Ok(vec![1, 2]));
    }

    #[test]
    fn strides_fit_the_shape_computed_by_broadcast_shapes() {
        let a: &[usize] = &[8, 1, 6, 1];
        let b: &[usize] = &[7, 1, 5];
        let to = shapes_of(&[a, b]);
        assert_eq!(
            broadcast_strides(a, &[6, 6, 1, 1], &to),
            Ok(vec![6, 0, 1, 0])
        );
        assert_eq!(broadcast_strides(b, &[5, 5, 1], &to), Ok(vec![0, 5, 0, 1]));
    }

    #[test]
    fn an_operand_that_does_not_fit_the_requested_shape_is_rejected() {
        let error = broadcast_strides(&[3], &[1], &[4]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "operands could not be broadcast together with remapped shapes \
             [original->remapped]: (3,) and requested shape (4,)"
        );
        assert_eq!(
            broadcast_strides(&[2, 3], &[3, 1], &[3]),
            Err(BroadcastError::NotBroadcastableTo {
                shape: vec![2, 3],
                to: vec![3]
            })
        );
        assert!(
            broadcast_strides(&[3], &[1], &[0]).is_err(),
            "3 does not shrink to 0"
        );
        assert!(
            broadcast_strides(&[0], &[1], &[3]).is_err(),
            "0 does not grow to 3"
        );
    }

    #[test]
    fn strides_must_match_the_shape() {
        let error = broadcast_strides(&[2, 3], &[1], &[2, 3]).unwrap_err();
        assert_eq!(
            error,
            BroadcastError::StrideCount {
                shape: vec![2, 3],
                strides: 1
            }
        );
        assert_eq!(
            error.to_string(),
            "1 strides given for shape (2,3) of 2 dimensions"
        );
    }
}
