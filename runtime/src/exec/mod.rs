//! Running a compiled elementwise loop over n-d operands: the iteration space, how
//! it is cut into one-dimensional runs, and the targets that execute the runs
//! ([`serial`] on the calling thread, [`parallel`] on a thread pool, [`mpi`] across
//! ranks, each running its share on `parallel`).
//!
//! An [`Iteration`] is a shape plus, for each operand, a base address and strides
//! (in elements) over that shape — broadcasting already applied, so a stride may be
//! zero or negative. Adjacent axes that every operand steps through contiguously are
//! merged first, so the compiled loop sees runs as long as possible. A run is handed
//! to the loop as one-dimensional array descriptors; the loop does the elements.
//! Gufunc loops ([`gufunc`]) iterate their loop dimensions the same way and append
//! each operand's core dimensions to its descriptors.
//! [`dispatch`] picks the executor for a call's target: the only place in the
//! runtime that branches on the target.
//! This module knows addresses and strides, not dtypes or ufunc semantics.

pub mod code;
#[cfg(feature = "cuda")]
pub mod cuda;
pub mod dim;
pub mod dispatch;
pub mod fold;
pub mod gufunc;
pub mod mpi;
pub mod parallel;
pub mod serial;
pub mod spmd;

use kern_compiler::backend::cranelift::CompiledFunction;
use kern_compiler::ir::{ArrayDesc, Trap, MAX_RANK};

pub use code::LoopCode;

/// Most operands (inputs plus outputs) a loop may have.
pub const MAX_OPERANDS: usize = 16;

/// One operand of an iteration.
#[derive(Clone, Debug)]
pub struct StridedOperand {
    /// Address of the element at index zero on every axis.
    pub base: *mut u8,
    /// Element size in bytes.
    pub elem_size: usize,
    /// Strides in elements over the iteration shape.
    pub strides: Vec<isize>,
}

/// The iteration space of one elementwise call.
#[derive(Clone, Debug)]
pub struct Iteration {
    pub shape: Vec<usize>,
    pub operands: Vec<StridedOperand>,
}

// SAFETY: an `Iteration` is a description of memory the caller guarantees valid for
// the call (see `ElementwiseLoop::run`); runs of one iteration never write the same
// element from two threads because every output element belongs to one run.
unsafe impl Send for Iteration {}
unsafe impl Sync for Iteration {}

impl Iteration {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Reorders the axes so that operand `o` (usually the output) is walked in
    /// memory order: outermost the largest stride, innermost the smallest. Ties
    /// keep their order, so C-ordered operands are left as they are.
    pub fn order_axes_by(&mut self, o: usize) {
        let key = &self.operands[o].strides;
        let mut order: Vec<usize> = (0..self.shape.len()).collect();
        order.sort_by_key(|&k| std::cmp::Reverse(key[k].unsigned_abs()));
        self.shape = order.iter().map(|&k| self.shape[k]).collect();
        for op in &mut self.operands {
            op.strides = order.iter().map(|&k| op.strides[k]).collect();
        }
    }

    /// Merges axes so the innermost is as long as possible: drops length-1 axes and
    /// joins axis `k` with `k + 1` when every operand's stride on `k` equals its
    /// stride on `k + 1` times the length of `k + 1`. The order of elements in
    /// memory, and so every result, is unchanged.
    pub fn coalesce(&mut self) {
        let keep: Vec<usize> = (0..self.shape.len())
            .filter(|&k| self.shape[k] != 1)
            .collect();
        let mut shape: Vec<usize> = keep.iter().map(|&k| self.shape[k]).collect();
        let mut strides: Vec<Vec<isize>> = self
            .operands
            .iter()
            .map(|o| keep.iter().map(|&k| o.strides[k]).collect())
            .collect();
        let mut k = shape.len();
        while k >= 2 {
            let (outer, inner) = (k - 2, k - 1);
            let mergeable = strides
                .iter()
                .all(|s| s[outer] == s[inner] * shape[inner] as isize);
            if mergeable {
                shape[outer] *= shape[inner];
                shape.remove(inner);
                for s in &mut strides {
                    s[outer] = s[inner];
                    s.remove(inner);
                }
            }
            k -= 1;
        }
        self.shape = shape;
        for (o, s) in self.operands.iter_mut().zip(strides) {
            o.strides = s;
        }
    }

    /// Length of the innermost axis (1 for a 0-d iteration).
    fn inner_len(&self) -> usize {
        self.shape.last().copied().unwrap_or(1)
    }

    /// Byte offset of operand `o` at the start of run `outer` (row-major over the
    /// outer axes).
    fn run_offset(&self, o: usize, mut outer: usize) -> isize {
        let op = &self.operands[o];
        let n = self.shape.len();
        let mut offset = 0isize;
        for axis in (0..n.saturating_sub(1)).rev() {
            let len = self.shape[axis];
            offset += (outer % len) as isize * op.strides[axis];
            outer /= len;
        }
        offset * op.elem_size as isize
    }

    fn inner_stride(&self, o: usize) -> isize {
        self.operands[o].strides.last().copied().unwrap_or(0)
    }
}

/// A compiled elementwise loop: `loop(in0: &[A], .., out: &mut [Z])` over
/// one-dimensional descriptors of equal length.
#[derive(Clone)]
pub struct ElementwiseLoop {
    pub function: CompiledFunction,
}

impl ElementwiseLoop {
    /// Runs the loop over the elements `start..end` of `iteration`, in row-major
    /// order, cut into runs along the innermost axis. Returns the first trap.
    ///
    /// # Safety
    /// Every operand of `iteration` must address live memory of its element type
    /// at every index of the shape, outputs writable and not aliased except
    /// elementwise by an input; the operand count must match the loop's.
    pub unsafe fn run(&self, iteration: &Iteration, start: usize, end: usize) -> Result<(), Trap> {
        assert!(
            iteration.operands.len() <= MAX_OPERANDS,
            "at most {MAX_OPERANDS} operands"
        );
        let descs = [ArrayDesc {
            data: std::ptr::null_mut(),
            shape: [0; MAX_RANK],
            strides: [0; MAX_RANK],
        }; MAX_OPERANDS];
        // SAFETY: forwarded from the caller.
        unsafe { run_in_runs(&self.function, iteration, descs, start, end) }
    }
}

/// Calls `function` once per run of the elements `start..end` of `iteration`
/// (row-major, cut along the innermost axis), with operand `o` described by
/// `descs[o]` whose axis 0 is set to the run (data, length, stride); other axes of
/// `descs` (a gufunc's core dimensions) are passed as given. Returns the first trap.
///
/// # Safety
/// As [`ElementwiseLoop::run`], for every axis of the descriptors.
pub(crate) unsafe fn run_in_runs(
    function: &CompiledFunction,
    iteration: &Iteration,
    mut descs: [ArrayDesc; MAX_OPERANDS],
    start: usize,
    end: usize,
) -> Result<(), Trap> {
    let operands = iteration.operands.len();
    let inner = iteration.inner_len();
    if inner == 0 || start >= end {
        return Ok(());
    }
    let mut slots = [0u64; MAX_OPERANDS];
    let mut ctx = function.new_context();
    let mut position = start;
    while position < end {
        let (outer, offset) = (position / inner, position % inner);
        let n = (inner - offset).min(end - position);
        for o in 0..operands {
            let op = &iteration.operands[o];
            let stride = iteration.inner_stride(o);
            let byte_offset =
                iteration.run_offset(o, outer) + offset as isize * stride * op.elem_size as isize;
            descs[o].data = op.base.wrapping_offset(byte_offset);
            descs[o].shape[0] = n as i64;
            descs[o].strides[0] = stride as i64;
            slots[o] = &descs[o] as *const ArrayDesc as u64;
        }
        // SAFETY: the slots point at descriptors of the loop's parameters, which
        // cover valid memory by the caller's promise.
        unsafe { function.call_raw(&mut ctx, slots.as_ptr()) };
        if let Some(trap) = function.trap_of(&ctx) {
            return Err(trap);
        }
        position += n;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iteration(shape: &[usize], strides: &[&[isize]]) -> Iteration {
        Iteration {
            shape: shape.to_vec(),
            operands: strides
                .iter()
                .map(|s| StridedOperand {
                    base: std::ptr::null_mut(),
                    elem_size: 8,
                    strides: s.to_vec(),
                })
                .collect(),
        }
    }

    #[test]
    fn contiguous_axes_merge_into_one_run() {
        let mut it = iteration(&[2, 3, 4], &[&[12, 4, 1], &[12, 4, 1]]);
        it.coalesce();
        assert_eq!(it.shape, vec![24]);
        assert_eq!(it.operands[0].strides, vec![1]);
    }

    #[test]
    fn a_broadcast_axis_merges_only_where_strides_allow() {
        // Row vector broadcast over rows: the inner axis stays separate.
        let mut it = iteration(&[3, 4], &[&[0, 1], &[4, 1]]);
        it.coalesce();
        assert_eq!(it.shape, vec![3, 4]);
        // A scalar (all strides 0) with a contiguous array merges fully.
        let mut it = iteration(&[3, 4], &[&[0, 0], &[4, 1]]);
        it.coalesce();
        assert_eq!(it.shape, vec![12]);
    }

    #[test]
    fn length_one_axes_are_dropped_and_offsets_follow_row_major_order() {
        let mut it = iteration(&[2, 1, 3], &[&[1, 99, 2]]);
        it.coalesce();
        assert_eq!(it.shape, vec![2, 3]);
        assert_eq!(it.operands[0].strides, vec![1, 2]);
        assert_eq!(it.run_offset(0, 1), 8);
    }
}
