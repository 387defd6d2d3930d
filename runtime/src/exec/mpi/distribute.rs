//! The `mpi` target's split of one ufunc or gufunc call: each rank runs its rows
//! of the iteration's split axis ([`split_axis`]: the first axis, or the longest
//! when the first is too short to share), then the ranks exchange the output
//! rows, so every rank ends with the whole result.
//!
//! Rows follow NumPy's `array_split` rule ([`row_ranges`]); a "row" is one index
//! of the split axis with everything under it. Inputs need no
//! scattering: every rank runs the same host code, so each already holds them.
//! A trap or an error on any rank travels first, in a small message, and every
//! rank returns the same outcome — the trap of the lowest rank that trapped (the
//! first trapping element in C order when the split axis is the first) — instead
//! of some ranks waiting forever for a rank that stopped.
//!
//! The rows themselves are not packed into messages. When the split axis is the
//! first and an output is C-contiguous (a fresh result always is, unless its
//! inputs were Fortran-ordered) each rank's rows are one block of it: the
//! compiled loop writes them there, and each rank sends its block straight from
//! there into the same place on every other rank (all transfers at once), so
//! every byte is written once on every rank and copied by nothing but MPI. Other
//! outputs (a strided `out`, or rows of another axis, which are not one block)
//! go through one staging buffer. One rank has nothing to exchange.
//!
//! It knows strided operands and bytes; the loop that runs a share is the
//! caller's.

use kern_compiler::diagnostics::{FileId, Span};
use kern_compiler::ir::{Trap, TrapKind};

use super::{row_ranges, split_axis, World};
use crate::exec::Iteration;
use crate::Error;

/// An output of the call whose rows are exchanged: the operand's index in the
/// iteration and the core axes (extents and strides in elements) a gufunc
/// output has after the loop axes; empty for a ufunc's output.
#[derive(Clone, Debug)]
pub struct OutputRows {
    pub operand: usize,
    pub core_shape: Vec<usize>,
    pub core_strides: Vec<isize>,
}

/// Runs `run_share` on this rank's rows of `iteration`'s split axis and then
/// gives every rank the rows of all ranks in the `outputs`. A 0-d iteration has
/// no rows to split: every rank runs all of it.
///
/// # Safety
/// `iteration` must describe live memory as for the loop `run_share` runs, and
/// each output must be writable at every index of the iteration shape followed
/// by its core shape, with those strides, aliased by no other operand.
pub unsafe fn run_distributed(
    world: &World,
    iteration: &Iteration,
    outputs: &[OutputRows],
    run_share: impl FnOnce(&Iteration) -> Result<Result<(), Trap>, Error>,
) -> Result<Result<(), Trap>, Error> {
    if iteration.shape.is_empty() {
        return run_share(iteration);
    }
    let axis = split_axis(&iteration.shape, world.size());
    let ranges: Vec<_> = row_ranges(iteration.shape[axis], world.size()).collect();
    let mine = ranges[world.rank()].clone();
    let outcome = if mine.is_empty() || iteration.is_empty() {
        Ok(Ok(()))
    } else {
        run_share(&rows_of(iteration, axis, mine.start, mine.len()))
    };
    if world.size() == 1 {
        return outcome;
    }
    if let Err(trap) = agree(world, outcome)? {
        return Ok(Err(trap));
    }
    if iteration.is_empty() {
        return Ok(Ok(()));
    }
    for out in outputs {
        // SAFETY: the caller's promise for the outputs; this rank's rows were
        // just written.
        unsafe { exchange_rows(world, &RowLayout::of(iteration, out, axis), &ranges)? };
    }
    Ok(Ok(()))
}

/// What every rank's share of one call came to, the same on every rank: done
/// when every rank is done, else the trap of the lowest rank that trapped or
/// failed (a failure as an error naming the rank). A collective: one small
/// message per rank.
pub fn agree(
    world: &World,
    outcome: Result<Result<(), Trap>, Error>,
) -> Result<Result<(), Trap>, Error> {
    if world.size() == 1 {
        return outcome;
    }
    let outcomes = world.transport.all_gather(&encode_outcome(&outcome))?;
    for (rank, message) in outcomes.iter().enumerate() {
        match decode_outcome(message)?.0 {
            Ok(Ok(())) => {}
            Ok(Err(trap)) => return Ok(Err(trap)),
            Err(why) => {
                return Err(Error::Call(format!(
                    "the call failed on MPI rank {rank}: {why}"
                )))
            }
        }
    }
    Ok(Ok(()))
}

/// The rows `start..start + count` of `axis` of `iteration`.
fn rows_of(iteration: &Iteration, axis: usize, start: usize, count: usize) -> Iteration {
    let mut share = iteration.clone();
    share.shape[axis] = count;
    for op in &mut share.operands {
        let offset = op.strides[axis] * start as isize * op.elem_size as isize;
        op.base = op.base.wrapping_offset(offset);
    }
    share
}

/// Where one output's elements are: its whole shape (the split axis, the other
/// iteration axes in order, then the core axes), strides in elements, and the
/// element size. "C order" below is the order of this shape.
struct RowLayout {
    base: *mut u8,
    elem_size: usize,
    shape: Vec<usize>,
    strides: Vec<isize>,
}

impl RowLayout {
    /// The layout of `out` with the iteration's `axis` moved first.
    fn of(iteration: &Iteration, out: &OutputRows, axis: usize) -> RowLayout {
        let op = &iteration.operands[out.operand];
        let split_first = |all: &[usize]| -> Vec<usize> {
            let mut order = vec![axis];
            order.extend((0..all.len()).filter(|&a| a != axis));
            order
        };
        let order = split_first(&iteration.shape);
        RowLayout {
            base: op.base,
            elem_size: op.elem_size,
            shape: order
                .iter()
                .map(|&a| iteration.shape[a])
                .chain(out.core_shape.iter().copied())
                .collect(),
            strides: order
                .iter()
                .map(|&a| op.strides[a])
                .chain(out.core_strides.iter().copied())
                .collect(),
        }
    }

    /// The bytes of one row of the first axis, as stored in C order.
    fn row_bytes(&self) -> usize {
        self.shape[1..].iter().product::<usize>() * self.elem_size
    }

    /// Whether the elements lie in C order with no gaps from `base`, so that
    /// any run of rows is one block of memory. Axes of extent 1 may have any
    /// stride.
    fn is_c_contiguous(&self) -> bool {
        let mut expected = 1isize;
        for (&extent, &stride) in self.shape.iter().zip(&self.strides).rev() {
            if extent != 1 && stride != expected {
                return false;
            }
            expected *= extent as isize;
        }
        true
    }

    /// Copies the rows `rows` between their places in the output and `block`
    /// (their bytes in C order): out of the output with `Direction::Out`, into it with
    /// `Direction::In`.
    ///
    /// # Safety
    /// Every element of those rows must be readable (`Out`) or writable (`In`),
    /// and `block` must hold `rows.len() * row_bytes()` bytes.
    unsafe fn copy_rows(
        &self,
        rows: std::ops::Range<usize>,
        block: &mut [u8],
        direction: Direction,
    ) {
        let size = self.elem_size;
        let mut shape = self.shape.clone();
        shape[0] = rows.len();
        let Some((&inner, outer)) = shape.split_last() else {
            return;
        };
        if shape.contains(&0) {
            return;
        }
        let inner_stride = *self.strides.last().expect("as many strides as axes");
        let base = self
            .base
            .wrapping_offset(self.strides[0] * rows.start as isize * size as isize);
        let run_bytes = inner * size;
        let mut index = vec![0usize; outer.len()];
        let mut runs = block.chunks_exact_mut(run_bytes);
        loop {
            let offset: isize = index
                .iter()
                .zip(&self.strides)
                .map(|(&i, &s)| i as isize * s)
                .sum();
            let at = base.wrapping_offset(offset * size as isize);
            let run = runs.next().expect("the block holds every run");
            for k in 0..inner {
                let element = at.wrapping_offset(k as isize * inner_stride * size as isize);
                let packed = run[k * size..(k + 1) * size].as_mut_ptr();
                // SAFETY: the caller's promise; `packed` has `size` bytes.
                unsafe {
                    match direction {
                        Direction::Out => std::ptr::copy_nonoverlapping(element, packed, size),
                        Direction::In => std::ptr::copy_nonoverlapping(packed, element, size),
                    }
                }
            }
            // The next run in C order, or done.
            let mut axis = outer.len();
            loop {
                if axis == 0 {
                    return;
                }
                axis -= 1;
                index[axis] += 1;
                if index[axis] < outer[axis] {
                    break;
                }
                index[axis] = 0;
            }
        }
    }
}

/// Which way [`RowLayout::copy_rows`] copies.
#[derive(Clone, Copy)]
enum Direction {
    /// From the output into the block.
    Out,
    /// From the block into the output.
    In,
}

/// Gives every rank every rank's rows of one output, all at once: straight from
/// and into the output when it is C-contiguous, else through a staging buffer.
///
/// # Safety
/// As for [`run_distributed`]'s outputs; this rank's rows hold its results.
unsafe fn exchange_rows(
    world: &World,
    layout: &RowLayout,
    ranges: &[std::ops::Range<usize>],
) -> Result<(), Error> {
    let row_bytes = layout.row_bytes();
    let blocks: Vec<_> = ranges
        .iter()
        .map(|rows| rows.start * row_bytes..rows.end * row_bytes)
        .collect();
    let total = blocks.last().map_or(0, |b| b.end);
    if layout.is_c_contiguous() {
        // SAFETY: a C-contiguous output of `total` bytes from `base`, writable
        // (the caller's promise) and not otherwise borrowed during the call.
        let whole = unsafe { std::slice::from_raw_parts_mut(layout.base, total) };
        return world.transport.all_gather_in_place(whole, &blocks);
    }
    let mut staging = vec![0u8; total];
    let me = world.rank();
    // SAFETY: the caller's promise; this rank's rows were written by it.
    unsafe {
        layout.copy_rows(
            ranges[me].clone(),
            &mut staging[blocks[me].clone()],
            Direction::Out,
        )
    };
    world.transport.all_gather_in_place(&mut staging, &blocks)?;
    for (rank, rows) in ranges.iter().enumerate() {
        if rank != me {
            // SAFETY: the caller's promise: the output is writable there.
            unsafe {
                layout.copy_rows(
                    rows.clone(),
                    &mut staging[blocks[rank].clone()],
                    Direction::In,
                )
            };
        }
    }
    Ok(())
}

/// What one rank's share came to: done, a trap, or an error's message.
type RankOutcome = Result<Result<(), Trap>, String>;

/// An outcome as bytes: 0 for success, 1 and the trap, 2 and an error message.
fn encode_outcome(outcome: &Result<Result<(), Trap>, Error>) -> Vec<u8> {
    let mut bytes = Vec::new();
    match outcome {
        Ok(Ok(())) => bytes.push(0),
        Ok(Err(trap)) => {
            bytes.push(1);
            let (code, a, b, text) = match &trap.kind {
                TrapKind::DivisionByZero => (0u8, 0, 0, ""),
                TrapKind::DivisionOverflow => (1, 0, 0, ""),
                TrapKind::IndexOutOfBounds { index, len } => (2, *index, *len, ""),
                TrapKind::AssertionFailed(m) => (3, 0, 0, m.as_str()),
                TrapKind::RecursionLimit => (4, 0, 0, ""),
                TrapKind::Host(m) => (5, 0, 0, m.as_str()),
                TrapKind::StackOverflow => (6, 0, 0, ""),
            };
            bytes.push(code);
            for v in [a, b] {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            for v in [trap.span.file.0, trap.span.start, trap.span.end] {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            put_text(&mut bytes, text);
        }
        Err(e) => {
            bytes.push(2);
            put_text(&mut bytes, &e.to_string());
        }
    }
    bytes
}

fn put_text(bytes: &mut Vec<u8>, text: &str) {
    bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
    bytes.extend_from_slice(text.as_bytes());
}

/// The outcome at the front of a rank's message (an error string stands for an
/// `Error`), and whatever follows it.
fn decode_outcome(bytes: &[u8]) -> Result<(RankOutcome, &[u8]), Error> {
    let bad = || Error::Call("a malformed result message arrived from another MPI rank".into());
    let mut reader = Reader { bytes };
    match reader.u8().ok_or_else(bad)? {
        0 => Ok((Ok(Ok(())), reader.bytes)),
        1 => {
            let code = reader.u8().ok_or_else(bad)?;
            let a = reader.i64().ok_or_else(bad)?;
            let b = reader.i64().ok_or_else(bad)?;
            let file = reader.u32().ok_or_else(bad)?;
            let start = reader.u32().ok_or_else(bad)?;
            let end = reader.u32().ok_or_else(bad)?;
            let text = reader.text().ok_or_else(bad)?;
            let kind = match code {
                0 => TrapKind::DivisionByZero,
                1 => TrapKind::DivisionOverflow,
                2 => TrapKind::IndexOutOfBounds { index: a, len: b },
                3 => TrapKind::AssertionFailed(text),
                4 => TrapKind::RecursionLimit,
                5 => TrapKind::Host(text),
                6 => TrapKind::StackOverflow,
                _ => return Err(bad()),
            };
            let span = Span {
                file: FileId(file),
                start,
                end,
            };
            Ok((Ok(Err(Trap { kind, span })), reader.bytes))
        }
        2 => Ok((Err(reader.text().ok_or_else(bad)?), reader.bytes)),
        _ => Err(bad()),
    }
}

struct Reader<'b> {
    bytes: &'b [u8],
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        if self.bytes.len() < N {
            return None;
        }
        let (head, rest) = self.bytes.split_at(N);
        self.bytes = rest;
        head.try_into().ok()
    }
    fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }
    fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }
    fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }
    fn text(&mut self) -> Option<String> {
        let len = usize::try_from(self.take().map(u64::from_le_bytes)?).ok()?;
        if self.bytes.len() < len {
            return None;
        }
        let (text, rest) = self.bytes.split_at(len);
        self.bytes = rest;
        Some(String::from_utf8_lossy(text).into_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traps_and_errors_survive_the_trip_between_ranks() {
        let span = Span {
            file: FileId(2),
            start: 10,
            end: 14,
        };
        let traps = [
            TrapKind::DivisionByZero,
            TrapKind::IndexOutOfBounds { index: -3, len: 7 },
            TrapKind::AssertionFailed("x > 0".into()),
            TrapKind::Host("no such file".into()),
        ];
        for kind in traps {
            let trap = Trap { kind, span };
            let mut bytes = encode_outcome(&Ok(Err(trap.clone())));
            bytes.extend_from_slice(&[9, 9]);
            let (outcome, rest) = decode_outcome(&bytes).unwrap();
            assert_eq!(outcome, Ok(Err(trap)));
            assert_eq!(rest, &[9, 9]);
        }
        let bytes = encode_outcome(&Err(Error::Call("boom".into())));
        let expected = Error::Call("boom".into()).to_string();
        assert_eq!(decode_outcome(&bytes).unwrap().0, Err(expected));
    }

    /// A 2x3 i32 output stored column-major (strides 1, 2).
    fn transposed(data: &mut [i32]) -> RowLayout {
        RowLayout {
            base: data.as_mut_ptr() as *mut u8,
            elem_size: 4,
            shape: vec![2, 3],
            strides: vec![1, 2],
        }
    }

    #[test]
    fn rows_of_a_transposed_output_copy_in_c_order() {
        let mut data: Vec<i32> = vec![0, 3, 1, 4, 2, 5];
        let layout = transposed(&mut data);
        assert!(!layout.is_c_contiguous());
        let mut block = vec![0u8; layout.row_bytes()];
        unsafe { layout.copy_rows(1..2, &mut block, Direction::Out) };
        let row: Vec<i32> = block
            .chunks(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(row, vec![3, 4, 5]);
        let mut new_row: Vec<u8> = [30i32, 40, 50]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        unsafe { layout.copy_rows(1..2, &mut new_row, Direction::In) };
        assert_eq!(data, vec![0, 30, 1, 40, 2, 50]);
    }

    #[test]
    fn c_ordered_outputs_are_exchanged_in_place() {
        let mut data = [0u8; 1];
        let base = data.as_mut_ptr();
        let layout = |shape: Vec<usize>, strides: Vec<isize>| RowLayout {
            base,
            elem_size: 8,
            shape,
            strides,
        };
        // A fresh (4, 5) result, and a gufunc's (4, 2, 3) output.
        assert!(layout(vec![4, 5], vec![5, 1]).is_c_contiguous());
        assert!(layout(vec![4, 2, 3], vec![6, 3, 1]).is_c_contiguous());
        // A column of a (4, 2) array, a reversed array, a Fortran-ordered one.
        assert!(!layout(vec![4], vec![2]).is_c_contiguous());
        assert!(!layout(vec![4], vec![-1]).is_c_contiguous());
        assert!(!layout(vec![4, 5], vec![1, 4]).is_c_contiguous());
        // Axes of extent 1 do not matter.
        assert!(layout(vec![4, 1, 5], vec![5, 99, 1]).is_c_contiguous());
        assert_eq!(layout(vec![4, 2, 3], vec![6, 3, 1]).row_bytes(), 48);
    }
}
