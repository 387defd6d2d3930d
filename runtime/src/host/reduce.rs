//! Whole-array reductions of host code: `.sum()`, `.mean()`, `.min()`, `.max()`.
//!
//! `.sum()` adds in the array's own type in exactly the order a reorderable `add`
//! ufunc's `reduce` over every axis uses (see docs/ufuncs.md and
//! `ufunc/methods.rs`): axes from last to first; the axis with the smallest
//! stride in blocks of 128 (NumPy's pairwise block with eight accumulators, then
//! the block results the same way), any other axis row by row (`x[0] + x[1] +
//! ..` for every lane, as NumPy does). Integers wrap. Contiguous lanes are
//! added where they lie; results are allocated fallibly (an `AllocError`).
//!
//! A distributed array (`--target mpi`) sums its rows where they are and
//! combines the ranks' shares of the last lane in this same order
//! ([`lane_share`], [`blocked_from_shares`]), so its sum has `cpu`'s bits.

use ndarray::{ArrayD, ArrayViewD, Axis};

use crate::array::alloc::{self, AllocError};
use crate::array::{with_array, DType, Element, NdArray};

/// Addition as a compiled `a + b` computes it: wrapping for integers, IEEE for floats.
pub(crate) trait Add: Element {
    fn add(self, other: Self) -> Self;
    fn zero() -> Self;
}

macro_rules! int_add {
    ($($t:ty),*) => {$(
        impl Add for $t {
            fn add(self, other: Self) -> Self { self.wrapping_add(other) }
            fn zero() -> Self { 0 }
        }
    )*};
}
int_add!(i8, i16, i32, i64, u8, u16, u32, u64);

impl Add for f32 {
    fn add(self, other: Self) -> Self {
        self + other
    }
    fn zero() -> Self {
        0.0
    }
}

impl Add for f64 {
    fn add(self, other: Self) -> Self {
        self + other
    }
    fn zero() -> Self {
        0.0
    }
}

impl Add for bool {
    fn add(self, other: Self) -> Self {
        self | other
    }
    fn zero() -> Self {
        false
    }
}

/// Elements per block of the one-pass reduction (as `exec/fold.rs`).
const BLOCK: usize = 128;

/// NumPy's pairwise block: in order below eight elements, else eight
/// accumulators combined as a tree, then the tail in order.
fn pairwise_block<T: Add>(x: &[T]) -> T {
    let n = x.len();
    if n < 8 {
        return x[1..].iter().fold(x[0], |a, &b| a.add(b));
    }
    let mut r = [x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]];
    let mut i = 8;
    while i + 8 <= n {
        for (k, acc) in r.iter_mut().enumerate() {
            *acc = acc.add(x[i + k]);
        }
        i += 8;
    }
    let tree = (r[0].add(r[1]).add(r[2].add(r[3]))).add(r[4].add(r[5]).add(r[6].add(r[7])));
    x[i..].iter().fold(tree, |a, &b| a.add(b))
}

/// A lane of at least one element: blocks of `BLOCK`, then the block results.
fn blocked<T: Add>(lane: &[T]) -> T {
    let partials: Vec<T> = lane.chunks(BLOCK).map(pairwise_block).collect();
    if partials.len() == 1 {
        partials[0]
    } else {
        blocked(&partials)
    }
}

/// `axis` has the smallest stride among the axes longer than one.
fn walks_memory_in_order<T>(a: &ArrayViewD<'_, T>, axis: usize) -> bool {
    let stride = a.strides()[axis].unsigned_abs();
    a.shape()
        .iter()
        .zip(a.strides())
        .enumerate()
        .all(|(k, (&len, s))| k == axis || len <= 1 || s.unsigned_abs() >= stride)
}

/// Reduces `axis` of `a` as `add.reduce(a, axis)` does.
fn sum_axis<T: Add>(a: ArrayViewD<'_, T>, axis: usize) -> Result<ArrayD<T>, AllocError> {
    let n = a.shape()[axis];
    if n == 0 {
        let mut shape = a.shape().to_vec();
        shape.remove(axis);
        return alloc::full(&shape, T::zero());
    }
    if walks_memory_in_order(&a, axis) {
        let reduced = a.map_axis(Axis(axis), |lane| match lane.as_slice() {
            Some(contiguous) => blocked(contiguous),
            None => blocked(&lane.to_vec()),
        });
        // `map_axis` keeps the other axes' layout; results are read in C order.
        return Ok(reduced.as_standard_layout().into_owned());
    }
    // Any other axis row by row, as NumPy does: `x[0] + x[1] + ..` per lane.
    let mut current: ArrayD<T> = alloc::to_owned(a.index_axis(Axis(axis), 0))?;
    for j in 1..n {
        ndarray::Zip::from(&mut current)
            .and(a.index_axis(Axis(axis), j))
            .for_each(|x, &y| *x = x.add(y));
    }
    Ok(current)
}

/// Every axis after `axis` of `a` (which has one at least) summed as
/// [`sum_all`] sums them, last first: what is left are the lanes of `axis`
/// that `sum_all` reduces next.
pub(crate) fn sum_axes_after<T: Add>(
    a: ArrayViewD<'_, T>,
    axis: usize,
) -> Result<ArrayD<T>, AllocError> {
    let ndim = a.ndim();
    let mut current = sum_axis(a, ndim - 1)?;
    for later in (axis + 1..ndim - 1).rev() {
        current = sum_axis(current.view(), later)?;
    }
    Ok(current)
}

/// The sum of every element, in `T`.
pub(crate) fn sum_all<T: Add>(a: ArrayViewD<'_, T>) -> Result<T, AllocError> {
    let rows = match a.ndim() {
        0 => return Ok(*a.first().expect("a 0-d array has one element")),
        1 => sum_axis(a, 0)?,
        _ => sum_axis(sum_axes_after(a, 0)?.view(), 0)?,
    };
    Ok(*rows.first().expect("a 0-d array has one element"))
}

/// Where the elements `at..at + len` of a lane fall among its blocks of
/// `BLOCK`: how many come before the first whole block among them, how many
/// whole blocks there are, and how many elements follow the last.
fn share_layout(at: usize, len: usize) -> (usize, usize, usize) {
    let end = at + len;
    let head_end = at.next_multiple_of(BLOCK).min(end);
    let whole_end = (end / BLOCK * BLOCK).max(head_end);
    (
        head_end - at,
        (whole_end - head_end) / BLOCK,
        end - whole_end,
    )
}

/// What the elements `at..at + part.len()` of a lane contribute to
/// [`blocked`] of the whole lane on their own: the elements before their first
/// whole block, the results of their whole blocks, the elements after them.
pub(crate) fn lane_share<T: Add>(part: &[T], at: usize) -> Vec<T> {
    let (head, blocks, _) = share_layout(at, part.len());
    let whole = &part[head..head + blocks * BLOCK];
    let mut share = part[..head].to_vec();
    share.extend(whole.chunks(BLOCK).map(pairwise_block));
    share.extend_from_slice(&part[head + blocks * BLOCK..]);
    share
}

/// The length of the [`lane_share`] of `len` elements from `at` on.
pub(crate) fn lane_share_len(at: usize, len: usize) -> usize {
    let (head, blocks, tail) = share_layout(at, len);
    head + blocks + tail
}

/// [`blocked`] of a lane of `len` (at least one element) from the
/// [`lane_share`]s of its consecutive `parts`, concatenated in order: the same
/// value, bit for bit.
pub(crate) fn blocked_from_shares<T: Add>(
    shares: &[T],
    parts: &[std::ops::Range<usize>],
    len: usize,
) -> T {
    let mut results = Vec::with_capacity(len.div_ceil(BLOCK));
    let mut pending: Vec<T> = Vec::new();
    let mut next = 0;
    for part in parts {
        let (head, blocks, tail) = share_layout(part.start, part.len());
        // A block whose elements came from several parts ends at `at`.
        let flush = |pending: &mut Vec<T>, results: &mut Vec<T>, at: usize| {
            if !pending.is_empty() && (at.is_multiple_of(BLOCK) || at == len) {
                results.push(pairwise_block(pending));
                pending.clear();
            }
        };
        pending.extend_from_slice(&shares[next..next + head]);
        flush(&mut pending, &mut results, part.start + head);
        results.extend_from_slice(&shares[next + head..next + head + blocks]);
        pending.extend_from_slice(&shares[next + head + blocks..next + head + blocks + tail]);
        flush(&mut pending, &mut results, part.end);
        next += head + blocks + tail;
    }
    if results.len() == 1 {
        results[0]
    } else {
        blocked(&results)
    }
}

/// `.sum()` of an array of any dtype but bool.
pub(crate) fn sum(a: &NdArray) -> Result<kern_compiler::ir::ScalarValue, AllocError> {
    with_array!(NdArray, a, |x: T| Ok(sum_all(x.view())?.to_value()))
}

/// `.mean()`: floats in their own type, integers in f64 (as NumPy).
pub(crate) fn mean(a: &NdArray) -> Result<kern_compiler::ir::ScalarValue, AllocError> {
    use kern_compiler::ir::ScalarValue;
    let n = a.len();
    Ok(match a {
        NdArray::F32(x) => ScalarValue::F32(sum_all(x.view())? / n as f32),
        NdArray::F64(x) => ScalarValue::F64(sum_all(x.view())? / n as f64),
        other => match other.cast(DType::F64) {
            NdArray::F64(x) => ScalarValue::F64(sum_all(x.view())? / n as f64),
            _ => ScalarValue::F64(f64::NAN),
        },
    })
}

/// The error of `.min()`/`.max()` of an empty array (NumPy's words).
pub(crate) fn no_identity(max: bool) -> String {
    format!(
        "zero-size array to reduction operation {} which has no identity",
        if max { "maximum" } else { "minimum" }
    )
}

/// `.min()` (`max == false`) or `.max()`: NaN if any element is NaN; `None` for
/// an empty array.
pub(crate) fn extreme(a: &NdArray, max: bool) -> Option<kern_compiler::ir::ScalarValue> {
    with_array!(NdArray, a, |x: T| extreme_of(x.iter().copied(), max)
        .map(|v| v.to_value()))
}

/// The first minimum (`max == false`) or maximum of `values`, or their first
/// NaN; `None` when there are none.
pub(crate) fn extreme_of<T: PartialOrd + Copy>(
    values: impl IntoIterator<Item = T>,
    max: bool,
) -> Option<T> {
    let mut iter = values.into_iter();
    let mut best = iter.next()?;
    #[allow(clippy::eq_op)]
    for v in iter {
        if best != best {
            break;
        }
        if v != v || (max && v > best) || (!max && v < best) {
            best = v;
        }
    }
    Some(best)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::IxDyn;

    #[test]
    fn sum_follows_the_reduction_order() {
        // The order is observable in f64. A contiguous axis of five: in order.
        let v = vec![1.0, 1e16, 3.0, -1e16, 2.0];
        let x = ArrayD::from_shape_vec(IxDyn(&[5]), v).unwrap();
        assert_eq!(
            sum_all(x.view()).unwrap(),
            (((1.0f64 + 1e16) + 3.0) + -1e16) + 2.0
        );
        // Axis 0 of a (5, 2) array is not the smallest stride: row by row,
        // so the 1s after 1e16 are lost one at a time (halving would keep two).
        let column = [1e16, 1.0, 1.0, 1.0, 1.0];
        let m = ArrayD::from_shape_fn(IxDyn(&[5, 2]), |i| column[i[0]] * i[1] as f64);
        let by_rows = sum_axis(m.view(), 0).unwrap();
        assert_eq!(by_rows[[1]], column.iter().fold(0.0, |a, b| a + b));
        assert_eq!(by_rows[[1]], 1e16);
    }

    #[test]
    fn long_sums_are_blocked() {
        let x: Vec<f64> = (0..1000).map(|i| 1.0 / (i as f64 + 1.0)).collect();
        let partials: Vec<f64> = x.chunks(128).map(pairwise_block).collect();
        let expected = pairwise_block(&partials);
        let a = ArrayD::from_shape_vec(IxDyn(&[1000]), x).unwrap();
        assert_eq!(sum_all(a.view()).unwrap(), expected);
    }

    #[test]
    fn shares_of_a_lane_combine_to_the_whole_lanes_sum_bit_for_bit() {
        // Values whose sum depends on the order of the additions.
        let lane: Vec<f64> = (0..1000)
            .map(|i| (i as f64 * 0.7).sin() * 10f64.powi(i % 17 - 8))
            .collect();
        let whole = blocked(&lane);
        for parts in [
            vec![0..1000, 1000..1000],
            vec![0..500, 500..1000],
            vec![0..250, 250..500, 500..750, 750..1000],
            vec![0..3, 3..130, 130..130, 130..1000],
            vec![0..100, 100..110, 110..120, 120..1000],
        ] {
            let shares: Vec<f64> = parts
                .iter()
                .flat_map(|p| lane_share(&lane[p.clone()], p.start))
                .collect();
            let sum = blocked_from_shares(&shares, &parts, lane.len());
            assert_eq!(sum.to_bits(), whole.to_bits(), "{parts:?}");
        }
        // A lane shorter than a block, split anywhere.
        let short = &lane[..100];
        let parts = [0..40, 40..41, 41..100];
        let shares: Vec<f64> = parts
            .iter()
            .flat_map(|p| lane_share(&short[p.clone()], p.start))
            .collect();
        let sum = blocked_from_shares(&shares, &parts, short.len());
        assert_eq!(sum.to_bits(), blocked(short).to_bits());
    }

    #[test]
    fn integer_sums_wrap_and_empty_sums_are_zero() {
        let x = ArrayD::from_shape_vec(IxDyn(&[3]), vec![i8::MAX, 1, 1]).unwrap();
        assert_eq!(sum_all(x.view()).unwrap(), i8::MIN.wrapping_add(1));
        let e = ArrayD::<f64>::zeros(IxDyn(&[0, 3]));
        assert_eq!(sum_all(e.view()).unwrap(), 0.0);
    }

    #[test]
    fn min_and_max_propagate_nan() {
        let x =
            NdArray::from(ArrayD::from_shape_vec(IxDyn(&[3]), vec![1.0, f64::NAN, 0.0]).unwrap());
        assert!(
            matches!(extreme(&x, false), Some(kern_compiler::ir::ScalarValue::F64(v)) if v.is_nan())
        );
        let y = NdArray::from(ArrayD::from_shape_vec(IxDyn(&[3]), vec![3i32, -1, 2]).unwrap());
        assert_eq!(
            extreme(&y, true),
            Some(kern_compiler::ir::ScalarValue::I32(3))
        );
        assert_eq!(
            extreme(&NdArray::zeros(DType::F64, &[0]).unwrap(), true),
            None
        );
    }
}
