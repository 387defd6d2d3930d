//! `.sum()`, `.mean()`, `.min()` and `.max()` of a distributed array, with
//! `cpu`'s bits (docs/mpi.md, "Reductions keep `cpu`'s bits").
//!
//! `cpu` sums the axes last to first, each lane in blocks of 128 (`reduce.rs`).
//! The axes after the split axis lie whole in every rank's block, so each rank
//! sums them as `cpu` does; of each lane of the split axis it then keeps the
//! results of the blocks that lie wholly in its share and the few elements of
//! the blocks a rank boundary cuts ([`reduce::lane_share`]); every rank gathers
//! those, finishes each lane in `cpu`'s order and sums the axes before the
//! split axis as `cpu` does. `.min()`/`.max()` keep one extreme per index of
//! the axes before the split axis, and take the extreme of those in C order.

use super::*;

impl Distributed {
    /// `.sum()`: the sum `cpu` computes, bit for bit.
    pub(super) fn sum(&self, world: &World) -> Result<ScalarValue, Error> {
        sum_of(&self.block, &self.shape, self.axis, world)
    }

    /// `.mean()`: the sum (integers in f64, as NumPy) over the element count.
    pub(super) fn mean(&self, world: &World) -> Result<ScalarValue, Error> {
        let n: usize = self.shape.iter().product();
        let sum = match self.block.dtype() {
            DType::F32 | DType::F64 => self.sum(world)?,
            _ => sum_of(&self.block.cast(DType::F64), &self.shape, self.axis, world)?,
        };
        Ok(match sum {
            ScalarValue::F32(s) => ScalarValue::F32(s / n as f32),
            ScalarValue::F64(s) => ScalarValue::F64(s / n as f64),
            other => other,
        })
    }

    /// `.min()` or `.max()`: the first minimum (or NaN) in C order, as on
    /// `cpu`. In C order the elements under one index of the axes before the
    /// split axis come rank after rank, so each rank keeps one extreme per such
    /// index and every rank takes the extreme of those in that order.
    pub(super) fn extreme(&self, world: &World, max: bool) -> Result<Option<ScalarValue>, Error> {
        let outer: usize = self.shape[..self.axis].iter().product();
        let inner: usize = self.shape[self.axis + 1..].iter().product();
        let ranges = self.ranges(world);
        let mine = with_array!(NdArray, &self.block, |b: T| {
            let elements = b.as_slice().expect("blocks are in C order");
            let extremes: Vec<T> = match elements.len() / outer.max(1) {
                0 => Vec::new(),
                per_index => (elements.chunks(per_index))
                    .map(|c| reduce::extreme_of(c.iter().copied(), max).expect("not empty"))
                    .collect(),
            };
            T::wrap(ndarray::Array1::from(extremes).into_dyn())
        });
        let all = world.all_gather(&mine)?;
        // The ranks that sent `outer` extremes (the others hold no element).
        let senders = (ranges.iter())
            .filter(|r| !r.is_empty() && inner > 0)
            .count();
        Ok(with_array!(NdArray, &all, |g: T| {
            let g = g.as_slice().expect("gathered arrays are in C order");
            let in_c_order = (0..outer).flat_map(|i| (0..senders).map(move |q| g[q * outer + i]));
            reduce::extreme_of(in_c_order, max).map(|v| v.to_value())
        }))
    }
}

/// The sum of a distributed array of `shape` split along `axis` whose block
/// here is `block`.
fn sum_of(
    block: &NdArray,
    shape: &[usize],
    axis: usize,
    world: &World,
) -> Result<ScalarValue, Error> {
    let ranges: Vec<_> = row_ranges(shape[axis], world.size()).collect();
    let mine = &ranges[world.rank()];
    let outer: usize = shape[..axis].iter().product();
    with_array!(NdArray, block, |b: T| {
        if shape.contains(&0) {
            return Ok(<T as reduce::Add>::zero().to_value());
        }
        // The lanes of the split axis, one per index of the axes before it:
        // the block itself when the split axis is the last.
        let summed;
        let lanes = if axis + 1 == shape.len() {
            b.as_slice().expect("blocks are in C order")
        } else {
            summed = reduce::sum_axes_after(b.view(), axis).map_err(call_error)?;
            summed.as_slice().expect("a new array is in C order")
        };
        let mut share = Vec::new();
        if !mine.is_empty() {
            for lane in lanes.chunks(mine.len()) {
                share.extend(reduce::lane_share(lane, mine.start));
            }
        }
        let share = T::wrap(ndarray::Array1::from(share).into_dyn());
        let shares = world.all_gather(&share)?;
        let shares = shares.as_array::<T>().expect("one dtype");
        let shares = shares.as_slice().expect("gathered arrays are in C order");
        // Rank `r` sent `outer` shares of `lens[r]` values each, in rank order.
        let lens: Vec<usize> = (ranges.iter())
            .map(|r| reduce::lane_share_len(r.start, r.len()))
            .collect();
        let mut lane_sums = Vec::with_capacity(outer);
        let mut lane = Vec::new();
        for i in 0..outer {
            lane.clear();
            let mut at = 0;
            for len in &lens {
                lane.extend_from_slice(&shares[at + i * len..at + (i + 1) * len]);
                at += outer * len;
            }
            lane_sums.push(reduce::blocked_from_shares(&lane, &ranges, shape[axis]));
        }
        let lane_sums = ArrayD::from_shape_vec(IxDyn(&shape[..axis]), lane_sums)
            .expect("one sum per index of the axes before the split axis");
        Ok(reduce::sum_all(lane_sums.view())
            .map_err(call_error)?
            .to_value())
    })
}
