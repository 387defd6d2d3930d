//! Ufunc and gufunc calls on distributed arrays: each rank calls the function
//! on its block, on its own `parallel` pool, and the result stays distributed
//! along the same axis — no array data moves, the ranks only agree on the
//! outcome (a byte each), so a trap is the same located error everywhere.
//!
//! A call lines up when every distributed operand is split along the same
//! loop axis, with that axis's whole length; whole operands are cut to this
//! rank's indices of it, or passed whole where they broadcast along it. The
//! split axis is the distributed operands' (or an `out`'s), else the one
//! [`split_axis`] picks for the loop's shape. `reduce` along another axis
//! reduces each block where it is; along the split axis it folds rank after
//! rank, each rank continuing the fold of the ranks before it, where that is
//! `cpu`'s order. `accumulate` along another axis than the split one
//! accumulates each block where it is; along the split axis it scans rank
//! after rank the same way, each rank starting from the last row of the rank
//! before it, and the result stays split. `outer` with a distributed operand
//! computes each block's outer product with the other operand, gathered.
//! Any other call gathers its operands first (the caller does).

use super::*;

/// What a distributed call calls.
pub(super) enum Callee {
    Ufunc(Ufunc),
    Gufunc(crate::gufunc::Gufunc),
}

/// Tag of the partial folds `reduce` and `accumulate` pass from rank to rank
/// (host code that keeps arrays distributed sends no messages of its own).
const FOLD_TAG: i64 = 0;

impl HostArrays<'_> {
    /// The loop axis a call over `loop_shape` splits: its distributed
    /// operands' when they all are split along it with its whole length, else
    /// `None`; `axis` (an `out`'s), or [`split_axis`]'s choice, when no operand
    /// is distributed.
    fn call_axis(
        &self,
        world: &World,
        args: &[HostValue],
        loop_parts: &[&[usize]],
        loop_shape: &[usize],
        mut axis: Option<usize>,
        span: Span,
    ) -> Result<Option<usize>, Trap> {
        for (a, part) in args.iter().zip(loop_parts) {
            let HostValue::Array(h) = a else {
                continue;
            };
            let Slot::Spread(d) = self.slot(*h, span)? else {
                continue;
            };
            let offset = loop_shape.len() - part.len();
            if d.axis >= part.len() || part[d.axis] != loop_shape[offset + d.axis] {
                return Ok(None);
            }
            match axis {
                Some(at) if at != offset + d.axis => return Ok(None),
                _ => axis = Some(offset + d.axis),
            }
        }
        Ok(Some(
            axis.unwrap_or_else(|| split_axis(loop_shape, world.size())),
        ))
    }

    /// This rank's operands of a call over `loop_shape` split along `axis`
    /// (lined up by [`Self::call_axis`]): distributed ones' blocks, whole
    /// ones cut to `mine` along the split axis unless they broadcast along it.
    fn shares(
        &self,
        args: &[HostValue],
        loop_parts: &[&[usize]],
        loop_shape: &[usize],
        axis: usize,
        mine: &Range<usize>,
        span: Span,
    ) -> Result<Vec<Operand<'_>>, Trap> {
        let mut operands = Vec::with_capacity(args.len());
        for (a, part) in args.iter().zip(loop_parts) {
            operands.push(match a {
                HostValue::Scalar(v) => Operand::Scalar(*v),
                HostValue::Array(h) => match self.slot(*h, span)? {
                    Slot::Spread(d) => Operand::Array(d.block.view()),
                    Slot::Whole(a) => match axis.checked_sub(loop_shape.len() - part.len()) {
                        Some(j) if part[j] == loop_shape[axis] => {
                            with_array!(ArrayRef, a.view(), |x: T| T::wrap_view(
                                x.slice_axis_move(Axis(j), Slice::from(mine.clone()))
                            ))
                        }
                        _ => Operand::Array(a.view()),
                    },
                },
                // An operand the caller fills in itself.
                HostValue::Unit => Operand::Scalar(ScalarValue::Bool(false)),
            });
        }
        Ok(operands)
    }

    /// A ufunc call, or a gufunc call with one new output, that lines up
    /// along a split axis: the result stays distributed. `None` for any other
    /// call (0-d loops, shapes that do not broadcast — the usual error then
    /// says so —, optional core dimensions, or distributed operands that do
    /// not line up).
    pub(super) fn distributed_call(
        &mut self,
        world: &'static World,
        callee: Callee,
        args: &[HostValue],
        span: Span,
    ) -> Result<Option<HostValue>, Trap> {
        let core_ndims = match &callee {
            Callee::Ufunc(_) => vec![0; args.len()],
            Callee::Gufunc(g) => match g.fixed_input_core_ndims() {
                Some(n) if n.len() == args.len() => n,
                _ => return Ok(None),
            },
        };
        let mut loop_parts: Vec<&[usize]> = Vec::new();
        for (a, &core) in args.iter().zip(&core_ndims) {
            let shape = match a {
                HostValue::Array(h) => self.slot(*h, span)?.shape(),
                _ => &[],
            };
            let Some(loop_ndim) = shape.len().checked_sub(core) else {
                return Ok(None);
            };
            loop_parts.push(&shape[..loop_ndim]);
        }
        let Ok(loop_shape) = crate::broadcast::broadcast_shapes(&loop_parts) else {
            return Ok(None);
        };
        if loop_shape.is_empty() {
            return Ok(None);
        }
        let Some(axis) = self.call_axis(world, args, &loop_parts, &loop_shape, None, span)? else {
            return Ok(None);
        };
        let mine = row_ranges(loop_shape[axis], world.size())
            .nth(world.rank())
            .expect("a range per rank");
        let operands = self.shares(args, &loop_parts, &loop_shape, axis, &mine, span)?;
        let result = match callee {
            Callee::Ufunc(u) => u.with_target(Target::Parallel).call(&operands),
            Callee::Gufunc(g) => {
                g.with_target(Target::Parallel)
                    .call(&operands)
                    .and_then(|mut outs| {
                        outs.pop()
                            .ok_or_else(|| Error::Call("a gufunc call made no output".into()))
                    })
            }
        };
        drop(operands);
        let block = agreed_call(world, result, span)?;
        // The loop's axes, then the output's core axes (the same on every
        // rank: only a loop axis is split).
        let mut shape = loop_shape;
        shape.extend_from_slice(block.shape().get(shape.len()..).unwrap_or_default());
        let d = Distributed::new(shape, axis, block);
        Ok(Some(self.insert_slot(Slot::Spread(d))))
    }

    /// `outcome`, once every rank agrees on it (a failure on any rank is the
    /// same located error on all), kept as this rank's block of an array of
    /// `shape` split along `axis`.
    fn keep_spread(
        &mut self,
        world: &World,
        outcome: Result<NdArray, Error>,
        shape: Vec<usize>,
        axis: usize,
        span: Span,
    ) -> Result<Option<HostValue>, Trap> {
        let block = agreed_call(world, outcome, span)?;
        let d = Distributed::new(shape, axis, block);
        Ok(Some(self.insert_slot(Slot::Spread(d))))
    }

    /// `f.out(&mut o, ..)` into a distributed `o` whose inputs line up with
    /// it: each rank writes its block of `o`. A whole `o` with a distributed
    /// input lined up with it becomes distributed along that input's split
    /// axis first (the call overwrites every element of `o`, so each rank
    /// keeps only its block: nothing moves). `None` otherwise (a whole `o`
    /// and whole inputs, inputs that do not broadcast to `o`'s shape or do
    /// not line up).
    pub(super) fn distributed_call_out(
        &mut self,
        world: &'static World,
        u: Ufunc,
        args: &[HostValue],
        span: Span,
    ) -> Result<Option<HostValue>, Trap> {
        let Some((&HostValue::Array(out), inputs)) = args.split_first() else {
            return Ok(None);
        };
        let (loop_shape, out_axis) = match self.slot(out, span)? {
            Slot::Spread(o) => (o.shape.clone(), Some(o.axis)),
            Slot::Whole(w) => (w.shape().to_vec(), None),
        };
        let mut shapes: Vec<Vec<usize>> = Vec::new();
        let mut spread_input = false;
        for a in inputs {
            shapes.push(match a {
                HostValue::Array(h) => {
                    let slot = self.slot(*h, span)?;
                    spread_input |= matches!(slot, Slot::Spread(_));
                    slot.shape().to_vec()
                }
                _ => Vec::new(),
            });
        }
        if out_axis.is_none() && (!spread_input || loop_shape.is_empty()) {
            return Ok(None);
        }
        let loop_parts: Vec<&[usize]> = shapes.iter().map(Vec::as_slice).collect();
        let mut all = loop_parts.clone();
        all.push(&loop_shape);
        if crate::broadcast::broadcast_shapes(&all).ok().as_ref() != Some(&loop_shape) {
            return Ok(None);
        }
        let Some(axis) = self.call_axis(world, inputs, &loop_parts, &loop_shape, out_axis, span)?
        else {
            return Ok(None);
        };
        let mine = row_ranges(loop_shape[axis], world.size())
            .nth(world.rank())
            .expect("a range per rank");
        if let Slot::Whole(w) = self.slot(out, span)? {
            let block = rows_in(w, axis, mine.clone());
            let d = Distributed::new(loop_shape.clone(), axis, block);
            *self.slot_mut(out, span)? = Slot::Spread(d);
        }
        let Slot::Spread(o) = self.slot(out, span)? else {
            unreachable!("made distributed above")
        };
        // An input that is the output itself is read from a copy of its
        // block, and the output's block leaves the table while the call
        // writes it.
        let is_out = |a: &HostValue| matches!(a, HostValue::Array(x) if *x == out);
        let copy = inputs.iter().any(is_out).then(|| o.block.clone());
        let others: Vec<HostValue> = (inputs.iter())
            .map(|a| match is_out(a) {
                true => HostValue::Unit,
                false => *a,
            })
            .collect();
        let placeholder =
            NdArray::zeros(o.block.dtype(), &[0]).map_err(|e| host(span, e.to_string()))?;
        let held = std::mem::replace(self.slot_mut(out, span)?, Slot::Whole(placeholder));
        let Slot::Spread(mut o) = held else {
            unreachable!("checked above")
        };
        let operands = self.shares(&others, &loop_parts, &loop_shape, axis, &mine, span);
        let result = operands.map(|mut operands| {
            for (operand, a) in operands.iter_mut().zip(inputs) {
                if let (true, Some(c)) = (is_out(a), &copy) {
                    *operand = Operand::Array(c.view());
                }
            }
            u.with_target(Target::Parallel)
                .call_out(&operands, OutOperand(o.block.view_mut()))
        });
        *self.slot_mut(out, span)? = Slot::Spread(o);
        agreed_call(world, result?, span)?;
        Ok(Some(HostValue::Unit))
    }

    /// `f.reduce(&a, axis)` of a distributed `a`: along another axis than the
    /// split one, each rank reduces its block and the result stays split
    /// along the same axis; along the split axis, where `cpu` folds row by row
    /// in the array's dtype, each rank continues the fold of the ranks before
    /// it (rank order, one partial result passed on) and the last rank's
    /// result, whole, goes to every rank. `None` for anything else (an axis out
    /// of range, an empty array, a fold `cpu` blocks or widens).
    pub(super) fn distributed_reduce(
        &mut self,
        world: &'static World,
        u: Ufunc,
        args: &[HostValue],
        span: Span,
    ) -> Result<Option<HostValue>, Trap> {
        let Some((h, d, reduced)) = self.spread_along(args, span)? else {
            return Ok(None);
        };
        if d.shape.contains(&0) {
            return Ok(None);
        }
        let options = Reduce::axis(reduced as isize);
        if reduced == d.axis {
            return self.folded_reduce(world, &u, h, span);
        }
        // The order of the fold depends on whether the array streams through
        // the axis (docs/ufuncs.md): the block must stream as the whole does.
        let streams = |shape: &[usize]| shape[reduced + 1..].iter().all(|&n| n <= 1);
        if streams(&d.shape) != streams(d.block.shape()) {
            return Ok(None);
        }
        let result = u
            .with_target(Target::Parallel)
            .reduce(Operand::Array(d.block.view()), &options);
        let mut shape = d.shape.clone();
        shape.remove(reduced);
        let axis = d.axis - usize::from(reduced < d.axis);
        self.keep_spread(world, result, shape, axis, span)
    }

    /// `f.accumulate(&a, axis)` of a distributed `a`: along another axis than
    /// the split one every lane lies in one rank's block, so each rank
    /// accumulates its block; along the split axis the ranks scan one after
    /// another (see [`Self::scanned_accumulate`]). Either way the result
    /// stays split along the same axis. `None` for an axis out of range or a
    /// scan `cpu` would do in another dtype.
    pub(super) fn distributed_accumulate(
        &mut self,
        world: &'static World,
        u: Ufunc,
        args: &[HostValue],
        span: Span,
    ) -> Result<Option<HostValue>, Trap> {
        let Some((h, d, along)) = self.spread_along(args, span)? else {
            return Ok(None);
        };
        if along == d.axis {
            return self.scanned_accumulate(world, &u, h, span);
        }
        let result = u
            .with_target(Target::Parallel)
            .accumulate(Operand::Array(d.block.view()), along as isize);
        let (shape, split) = (d.shape.clone(), d.axis);
        self.keep_spread(world, result, shape, split, span)
    }

    /// `reduce` along the split axis of the distributed array `h`, folded
    /// rank after rank (see [`Self::distributed_reduce`]); `None` where
    /// that is not `cpu`'s order.
    fn folded_reduce(
        &mut self,
        world: &'static World,
        u: &Ufunc,
        h: HostHandle,
        span: Span,
    ) -> Result<Option<HostValue>, Trap> {
        let Slot::Spread(d) = self.slot(h, span)? else {
            return Ok(None);
        };
        let dtype = d.block.dtype();
        if !u.reduces_rows_in_place(&d.shape, d.axis, dtype) {
            return Ok(None);
        }
        let u = u.clone().with_target(Target::Parallel);
        let options = Reduce::axis(d.axis as isize);
        // The ranks holding indices of the split axis: the first `active`.
        let active = d.shape[d.axis].min(world.size());
        let mut shape = d.shape.clone();
        shape.remove(d.axis);
        let reduce = |rows: &NdArray, _| u.reduce(Operand::Array(rows.view()), &options);
        let outcome = chain_ranks(world, d, &shape, reduce, NdArray::clone)
            .unwrap_or_else(|| NdArray::zeros(dtype, &shape).map_err(call_error));
        let mine = agreed_call(world, outcome, span)?;
        let whole = world
            .broadcast(&mine, active as i64 - 1)
            .map_err(|e| error_trap(e, span))?;
        Ok(Some(self.insert(whole)))
    }

    /// `accumulate` along the split axis of the distributed array `h`: rank 0
    /// accumulates its block; every next rank puts the last row of the
    /// previous rank's result in front of its block, accumulates, and keeps
    /// all but that first row. `accumulate` is a left-to-right scan, so this
    /// is `cpu`'s sequence of operations exactly, one rank after another
    /// (only a row travels; the result is split like `a`). `None` when the
    /// scan would run in another dtype than `a`'s (a widening ufunc).
    fn scanned_accumulate(
        &mut self,
        world: &'static World,
        u: &Ufunc,
        h: HostHandle,
        span: Span,
    ) -> Result<Option<HostValue>, Trap> {
        let Slot::Spread(d) = self.slot(h, span)? else {
            return Ok(None);
        };
        let dtype = d.block.dtype();
        if !u.scans_in(dtype) {
            return Ok(None);
        }
        let u = u.clone().with_target(Target::Parallel);
        let (shape, axis) = (d.shape.clone(), d.axis);
        let mut row_shape = shape.clone();
        row_shape.remove(axis);
        let scan = |rows: &NdArray, carried: bool| {
            let all = u.accumulate(Operand::Array(rows.view()), axis as isize)?;
            Ok(match carried {
                true => rows_in(&all, axis, 1..all.shape()[axis]),
                false => all,
            })
        };
        let last = |all: &NdArray| last_row(all, axis);
        // A rank with no rows has an empty block, and so is its scan.
        let outcome =
            chain_ranks(world, d, &row_shape, scan, last).unwrap_or_else(|| Ok(d.block.clone()));
        self.keep_spread(world, outcome, shape, axis, span)
    }

    /// `f.outer(&a, &b)` with a distributed operand: the first distributed one
    /// keeps its split, the other is gathered (every rank needs it whole), and
    /// each rank computes the outer product of its block with it — the block
    /// of the result along the same axis (`a`'s split axis, or `a.ndim()` plus
    /// `b`'s). `None` when neither operand is distributed.
    pub(super) fn distributed_outer(
        &mut self,
        world: &'static World,
        u: Ufunc,
        args: &[HostValue],
        span: Span,
    ) -> Result<Option<HostValue>, Trap> {
        let [HostValue::Array(a), HostValue::Array(b)] = args else {
            return Ok(None);
        };
        let spread = |this: &Self, h: HostHandle| -> Result<bool, Trap> {
            Ok(matches!(this.slot(h, span)?, Slot::Spread(_)))
        };
        let first_kept = spread(self, *a)?;
        let (kept, other) = match (first_kept, spread(self, *b)?) {
            (true, _) => (*a, *b),
            (false, true) => (*b, *a),
            (false, false) => return Ok(None),
        };
        self.gather(other, span)?;
        // `outer(&x, &x)`: gathering the other operand gathered this one too.
        let (Slot::Spread(d), Slot::Whole(w)) = (self.slot(kept, span)?, self.slot(other, span)?)
        else {
            return Ok(None);
        };
        let u = u.with_target(Target::Parallel);
        let (block, w) = (Operand::Array(d.block.view()), Operand::Array(w.view()));
        let (result, shape, axis) = if first_kept {
            let shape = [d.shape.as_slice(), self.slot(other, span)?.shape()].concat();
            (u.outer(block, w), shape, d.axis)
        } else {
            let whole = self.slot(other, span)?.shape();
            let shape = [whole, d.shape.as_slice()].concat();
            (u.outer(w, block), shape, whole.len() + d.axis)
        };
        self.keep_spread(world, result, shape, axis, span)
    }
}

/// The rank chain of `reduce` and `accumulate` along the split axis of `d`:
/// the ranks holding rows run `step` one after another, rank 0 on its block
/// (`step(block, false)`), every next rank on its block with the row the rank
/// before passed put in front (`step(rows, true)`); each passes `passed(result)`
/// on, a row of `row_shape` (zeros when its step failed, so that no rank waits
/// forever: the agreement after the chain reports the failure). `None` on a
/// rank that holds no rows.
fn chain_ranks(
    world: &World,
    d: &Distributed,
    row_shape: &[usize],
    step: impl Fn(&NdArray, bool) -> Result<NdArray, Error>,
    passed: impl Fn(&NdArray) -> NdArray,
) -> Option<Result<NdArray, Error>> {
    let active = d.shape[d.axis].min(world.size());
    let rank = world.rank();
    if rank >= active {
        return None;
    }
    let result = if rank == 0 {
        step(&d.block, false)
    } else {
        world.recv(rank as i64 - 1, FOLD_TAG).and_then(|before| {
            let rows = in_front(&before, &d.block, d.axis)?;
            step(&rows, true)
        })
    };
    if rank + 1 == active {
        return Some(result);
    }
    let next = rank as i64 + 1;
    let sent = match &result {
        Ok(r) => world.send(&passed(r), next, FOLD_TAG),
        Err(_) => (NdArray::zeros(d.block.dtype(), row_shape).map_err(call_error))
            .and_then(|z| world.send(&z, next, FOLD_TAG)),
    };
    Some(sent.and(result))
}

/// Row `len - 1` of `rows` along `axis` (`rows` without `axis`).
fn last_row(rows: &NdArray, axis: usize) -> NdArray {
    with_array!(NdArray, rows, |r: T| {
        let last = r.len_of(Axis(axis)) - 1;
        T::wrap(r.index_axis(Axis(axis), last).to_owned())
    })
}

/// The rows `range` of `rows` along `axis`, in C order.
fn rows_in(rows: &NdArray, axis: usize, range: Range<usize>) -> NdArray {
    with_array!(NdArray, rows, |r: T| {
        let part = r.slice_axis(Axis(axis), Slice::from(range));
        T::wrap(part.as_standard_layout().into_owned())
    })
}

/// `row` (a partial fold, `rows` without `axis`) put in front of `rows` along
/// `axis`.
fn in_front(row: &NdArray, rows: &NdArray, axis: usize) -> Result<NdArray, Error> {
    let mismatch = || Error::Call("internal error: a partial fold of another dtype".into());
    with_array!(NdArray, rows, |r: T| {
        let row = T::unwrap_ref(row).ok_or_else(mismatch)?;
        let row = row.view().insert_axis(Axis(axis));
        let joined = ndarray::concatenate(Axis(axis), &[row, r.view()]).map_err(call_error)?;
        Ok(T::wrap(joined))
    })
}
