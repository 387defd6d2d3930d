//! The `mpi` target's split of one ufunc or gufunc call: each rank runs its rows
//! of the iteration's first axis, then the ranks all-gather the output rows, so
//! every rank ends with the whole result.
//!
//! Rows follow NumPy's `array_split` rule ([`row_ranges`]). Inputs need no
//! scattering: every rank runs the same host code, so each already holds them.
//! A trap or an error on any rank travels with the rows, and every rank returns
//! the same outcome — the trap of the lowest rank that trapped, which is the
//! first trapping element in C order of the first axis — instead of some ranks
//! waiting forever for a rank that stopped.
//!
//! It knows strided operands and bytes; the loop that runs a share is the
//! caller's.

use kern_compiler::diagnostics::{FileId, Span};
use kern_compiler::ir::{Trap, TrapKind};

use super::{row_ranges, World};
use crate::exec::{Iteration, StridedOperand};
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

/// Runs `run_share` on this rank's rows of `iteration` and then gives every rank
/// the rows of all ranks in the `outputs`. A 0-d iteration has no rows to split:
/// every rank runs all of it.
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
    let Some(&rows) = iteration.shape.first() else {
        return run_share(iteration);
    };
    let ranges: Vec<_> = row_ranges(rows, world.size()).collect();
    let mine = ranges[world.rank()].clone();
    let outcome = if mine.is_empty() || iteration.is_empty() {
        Ok(Ok(()))
    } else {
        run_share(&rows_of(iteration, mine.start, mine.len()))
    };
    let mut message = encode_outcome(&outcome);
    if matches!(outcome, Ok(Ok(()))) {
        for out in outputs {
            // SAFETY: the caller's promise for the outputs; these rows were just
            // written by this rank.
            unsafe { pack_rows(iteration, out, mine.clone(), &mut message) };
        }
    }
    let messages = world.transport.all_gather(&message)?;
    for (rank, message) in messages.iter().enumerate() {
        let (outcome, mut rest) = decode_outcome(message)?;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(trap)) => return Ok(Err(trap)),
            Err(why) => {
                return Err(Error::Call(format!(
                    "the call failed on MPI rank {rank}: {why}"
                )))
            }
        }
        if rank == world.rank() {
            continue;
        }
        for out in outputs {
            // SAFETY: as above; another rank's rows, written into this rank's
            // output where they belong.
            rest = unsafe { unpack_rows(iteration, out, ranges[rank].clone(), rest)? };
        }
    }
    Ok(Ok(()))
}

/// The rows `start..start + count` of the first axis of `iteration`.
fn rows_of(iteration: &Iteration, start: usize, count: usize) -> Iteration {
    let mut share = iteration.clone();
    share.shape[0] = count;
    for op in &mut share.operands {
        let offset = op.strides[0] * start as isize * op.elem_size as isize;
        op.base = op.base.wrapping_offset(offset);
    }
    share
}

/// Calls `visit` with the byte address of every element of `out` in the rows
/// `rows`, in C order of (iteration axes, core axes).
fn for_each_element(
    iteration: &Iteration,
    out: &OutputRows,
    rows: std::ops::Range<usize>,
    mut visit: impl FnMut(*mut u8),
) {
    let op: &StridedOperand = &iteration.operands[out.operand];
    let mut shape: Vec<usize> = iteration.shape.clone();
    shape[0] = rows.len();
    shape.extend(&out.core_shape);
    let mut strides: Vec<isize> = op.strides.clone();
    strides.extend(&out.core_strides);
    if shape.contains(&0) {
        return;
    }
    let size = op.elem_size as isize;
    let base = op
        .base
        .wrapping_offset(op.strides[0] * rows.start as isize * size);
    let mut index = vec![0usize; shape.len()];
    loop {
        let offset: isize = index
            .iter()
            .zip(&strides)
            .map(|(&i, &s)| i as isize * s)
            .sum();
        visit(base.wrapping_offset(offset * size));
        // The next index in C order, or done.
        let mut axis = shape.len();
        loop {
            if axis == 0 {
                return;
            }
            axis -= 1;
            index[axis] += 1;
            if index[axis] < shape[axis] {
                break;
            }
            index[axis] = 0;
        }
    }
}

/// Appends the bytes of `out`'s rows `rows` to `message`.
///
/// # Safety
/// Every element of those rows must be readable.
unsafe fn pack_rows(
    iteration: &Iteration,
    out: &OutputRows,
    rows: std::ops::Range<usize>,
    message: &mut Vec<u8>,
) {
    let size = iteration.operands[out.operand].elem_size;
    for_each_element(iteration, out, rows, |at| {
        // SAFETY: the caller's promise.
        message.extend_from_slice(unsafe { std::slice::from_raw_parts(at as *const u8, size) });
    });
}

/// Writes `out`'s rows `rows` from the front of `bytes`; returns the rest.
///
/// # Safety
/// Every element of those rows must be writable.
unsafe fn unpack_rows<'b>(
    iteration: &Iteration,
    out: &OutputRows,
    rows: std::ops::Range<usize>,
    mut bytes: &'b [u8],
) -> Result<&'b [u8], Error> {
    let size = iteration.operands[out.operand].elem_size;
    let mut short = false;
    for_each_element(iteration, out, rows, |at| {
        if bytes.len() < size {
            short = true;
            return;
        }
        let (element, rest) = bytes.split_at(size);
        // SAFETY: the caller's promise; `element` has `size` bytes.
        unsafe { std::ptr::copy_nonoverlapping(element.as_ptr(), at, size) };
        bytes = rest;
    });
    if short {
        return Err(Error::Call(
            "a rank sent fewer result rows than it owns".into(),
        ));
    }
    Ok(bytes)
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
/// `Error`), and the result rows after it.
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

    #[test]
    fn rows_of_a_transposed_output_pack_in_c_order() {
        // A 2x3 i32 output stored column-major (strides 1, 2).
        let mut data: Vec<i32> = vec![0, 3, 1, 4, 2, 5];
        let iteration = Iteration {
            shape: vec![2, 3],
            operands: vec![StridedOperand {
                base: data.as_mut_ptr() as *mut u8,
                elem_size: 4,
                strides: vec![1, 2],
            }],
        };
        let out = OutputRows {
            operand: 0,
            core_shape: vec![],
            core_strides: vec![],
        };
        let mut message = Vec::new();
        unsafe { pack_rows(&iteration, &out, 1..2, &mut message) };
        let row: Vec<i32> = message
            .chunks(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(row, vec![3, 4, 5]);
        let new_row: Vec<u8> = [30i32, 40, 50]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let rest = unsafe { unpack_rows(&iteration, &out, 1..2, &new_row).unwrap() };
        assert!(rest.is_empty());
        assert_eq!(data, vec![0, 30, 1, 40, 2, 50]);
    }
}
