//! Host arrays that stay block-distributed under `--target mpi` (docs/mpi.md,
//! "Distributed arrays"): a ufunc result is kept as each rank's block along
//! one *split axis* (axis 0, or the longest axis when axis 0 is short:
//! [`split_axis`]), split as `array_split` splits rows, plus the global shape;
//! host code's operations on it either need only the local block or gather on
//! demand.
//!
//! Needing no whole array: ufunc and gufunc calls whose operands line up along
//! the split axis, `f.out(&mut o, ..)` into `o` (a whole `o` becomes
//! distributed), `reduce` and `accumulate` along another axis (`calls`);
//! `len`/`ndim`/`shape`, `.copy()`, writing one element (its owner writes),
//! reading one (its owner broadcasts it); slices of axis 0
//! and reshapes that keep the split axis and the axes before it (`shapes`);
//! `.sum()`, `.mean()`, `.min()`, `.max()` (each rank reduces its block; the
//! ranks' small partial results are combined in exactly `cpu`'s order, `sums`);
//! `reduce` along the split axis, folded rank after rank where that is `cpu`'s
//! order, and `accumulate` along it, scanned rank after rank; `outer` with a
//! distributed operand (`calls`); and `load`/`save` of `.npy` files, each rank reading or
//! writing only its block in place (`files`). Everything else gathers the array
//! first, once: the slot becomes whole.
//!
//! Every one of these is a collective, so arrays are kept distributed only when
//! host code cannot take different paths on different ranks: when `main` never
//! asks for its rank or makes a rank-dependent `mpi::` call ([`spreading_world`]).
//! This module owns the distributed form and those operations; ufunc planning
//! stays with [`Ufunc`], the ranks and bytes with `exec::mpi`.

mod calls;
mod files;
mod shapes;
mod sums;

use std::ops::Range;

use kern_compiler::ir::{Block, FunctionKind, InstKind, MpiOp, Program};

use super::*;
use crate::array::{ArrayRef, DType};
use crate::exec::mpi::distribute::agree;
use crate::exec::mpi::wire::as_bytes_mut;
use crate::exec::mpi::{row_ranges, split_axis, World};

/// An array of which this rank holds only its block along one axis.
pub(super) struct Distributed {
    /// The whole array's shape (at least one axis).
    pub(super) shape: Vec<usize>,
    /// The axis split across the ranks.
    pub(super) axis: usize,
    /// This rank's indices `row_ranges(shape[axis], size)[rank]` of `axis`,
    /// every index of the other axes, in C order.
    pub(super) block: NdArray,
}

/// What a host array variable holds.
pub(super) enum Slot {
    Whole(NdArray),
    Spread(Distributed),
}

impl Slot {
    pub(super) fn shape(&self) -> &[usize] {
        match self {
            Slot::Whole(a) => a.shape(),
            Slot::Spread(d) => &d.shape,
        }
    }
}

/// The world ufunc results are distributed over: under `--target mpi` with
/// more than one rank, when `main` takes the same path on every rank — it never
/// calls `mpi::` operations other than `size` and `barrier`, the only way its
/// control flow could depend on the rank. Otherwise arrays stay whole (each
/// call all-gathers its result), so a rank-guarded `println!` never waits for
/// ranks that do not come.
pub(super) fn spreading_world(program: &Program, target: Target) -> Option<&'static World> {
    if target != Target::Mpi {
        return None;
    }
    let main = program
        .functions
        .iter()
        .find(|f| f.kind == FunctionKind::Main)?;
    if asks_for_rank(&main.body) {
        return None;
    }
    crate::exec::mpi::world().ok().filter(|w| w.size() > 1)
}

fn asks_for_rank(block: &Block) -> bool {
    block.insts.iter().any(|inst| match &inst.kind {
        InstKind::Host {
            op: HostOp::Mpi(op),
            ..
        } => !matches!(op, MpiOp::Size | MpiOp::Barrier),
        InstKind::If {
            then_block,
            else_block,
            ..
        } => asks_for_rank(then_block) || asks_for_rank(else_block),
        InstKind::Loop {
            header,
            body,
            latch,
            ..
        } => asks_for_rank(header) || asks_for_rank(body) || asks_for_rank(latch),
        _ => false,
    })
}

fn call_error(e: impl std::fmt::Display) -> Error {
    Error::Call(e.to_string())
}

impl Distributed {
    /// The array of `shape` split along `axis` whose block here is `block`
    /// (stored in C order).
    pub(super) fn new(shape: Vec<usize>, axis: usize, block: NdArray) -> Distributed {
        let block = with_array!(NdArray, block, |b: T| {
            if b.is_standard_layout() {
                T::wrap(b)
            } else {
                T::wrap(b.as_standard_layout().into_owned())
            }
        });
        Distributed { shape, axis, block }
    }

    /// Each rank's indices of the split axis, in rank order.
    fn ranges(&self, world: &World) -> Vec<Range<usize>> {
        row_ranges(self.shape[self.axis], world.size()).collect()
    }

    /// The whole array, on every rank (a collective). Blocks of axis 0 are
    /// contiguous in the whole array and travel straight into it; blocks of
    /// another axis travel one after another through a staging buffer and are
    /// then copied into place.
    pub(super) fn gather(&self, world: &World) -> Result<NdArray, Error> {
        let dtype = self.block.dtype();
        let mut whole = NdArray::zeros(dtype, &self.shape).map_err(call_error)?;
        // Elements per index of the split axis.
        let per_index: usize = (self.shape.iter().enumerate())
            .filter(|(k, _)| *k != self.axis)
            .map(|(_, n)| n)
            .product();
        let ranges = self.ranges(world);
        let total = self.shape[self.axis] * per_index;
        let mut staging = if self.axis == 0 {
            None
        } else {
            Some(NdArray::zeros(dtype, &[total]).map_err(call_error)?)
        };
        with_array!(NdArray, &mut whole, |w: T| {
            let size = std::mem::size_of::<T>();
            let block = self.block.as_array::<T>().expect("one dtype");
            let block = block.as_slice().expect("blocks are in C order");
            let mine = &ranges[world.rank()];
            let blocks: Vec<_> = ranges
                .iter()
                .map(|r| r.start * per_index * size..r.end * per_index * size)
                .collect();
            let buffer = match &mut staging {
                None => w.as_slice_mut().expect("a new array is in C order"),
                Some(s) => {
                    let s = T::unwrap_mut(s).expect("one dtype");
                    s.as_slice_mut().expect("a new array is in C order")
                }
            };
            buffer[mine.start * per_index..mine.end * per_index].copy_from_slice(block);
            world.all_gather_blocks(as_bytes_mut(buffer), &blocks)?;
            if let Some(s) = &staging {
                let s = T::unwrap_ref(s).expect("one dtype");
                let s = s.as_slice().expect("a new array is in C order");
                for r in &ranges {
                    let mut shape = self.shape.clone();
                    shape[self.axis] = r.len();
                    let part = ndarray::ArrayViewD::from_shape(
                        IxDyn(&shape),
                        &s[r.start * per_index..r.end * per_index],
                    )
                    .expect("a block's elements");
                    w.slice_axis_mut(Axis(self.axis), Slice::from(r.clone()))
                        .assign(&part);
                }
            }
        });
        Ok(whole)
    }

    /// The rank holding index `at` of the split axis, and its index in the
    /// rank's block.
    fn owner(&self, world: &World, at: usize) -> (usize, usize) {
        let ranges = self.ranges(world);
        let rank = ranges
            .iter()
            .position(|r| r.contains(&at))
            .expect("a checked index is in some rank's block");
        (rank, at - ranges[rank].start)
    }

    /// The element at the (checked) `index`, on every rank: its owner
    /// broadcasts it (a collective).
    pub(super) fn element(&self, world: &World, index: &[usize]) -> Result<ScalarValue, Error> {
        let (owner, local) = self.owner(world, index[self.axis]);
        let value = if owner == world.rank() {
            let mut at = index.to_vec();
            at[self.axis] = local;
            let v = self.block.get(&at).expect("a checked index");
            from_values(self.block.dtype(), &[], &[v])
        } else {
            NdArray::zeros(self.block.dtype(), &[]).map_err(call_error)?
        };
        let arrived = world.broadcast(&value, owner as i64)?;
        arrived
            .get(&[])
            .ok_or_else(|| Error::Call("an element broadcast arrived without its value".into()))
    }

    /// Writes `value` at the (checked) `index`: its owner does, the others have
    /// nothing to do.
    pub(super) fn set(&mut self, world: &World, index: &[usize], value: ScalarValue) {
        let (owner, local) = self.owner(world, index[self.axis]);
        if owner == world.rank() {
            let mut at = index.to_vec();
            at[self.axis] = local;
            with_array!(NdArray, &mut self.block, |x: T| {
                if let Some(v) = T::from_value(cast_value(value, T::DTYPE)) {
                    x[IxDyn(&at)] = v;
                }
            });
        }
    }
}

/// This rank's `outcome` once every rank has one (a collective): its own error
/// if it failed, else the first failure of another rank, else its value.
fn agreed<T, E: std::fmt::Display>(
    world: &World,
    outcome: Result<T, E>,
    span: Span,
) -> Result<T, Trap> {
    let shared = match &outcome {
        Ok(_) => Ok(Ok(())),
        Err(e) => Err(Error::Call(e.to_string())),
    };
    let all = agree(world, shared);
    match (outcome, all) {
        (Err(e), _) => Err(host(span, e.to_string())),
        (Ok(_), Err(e)) => Err(error_trap(e, span)),
        (Ok(_), Ok(Err(trap))) => Err(trap),
        (Ok(value), Ok(Ok(()))) => Ok(value),
    }
}

/// The outcome of a call every rank made on its share, agreed by all (a
/// collective): this rank's result when every rank succeeded, else the trap
/// of the lowest rank that trapped (or failed).
fn agreed_call<T>(world: &World, result: Result<T, Error>, span: Span) -> Result<T, Trap> {
    let (outcome, value) = match result {
        Ok(value) => (Ok(Ok(())), Some(value)),
        Err(Error::Kernel { trap, .. }) => (Ok(Err(trap)), None),
        Err(e) => (Err(e), None),
    };
    match agree(world, outcome).map_err(|e| error_trap(e, span))? {
        Err(trap) => Err(trap),
        Ok(()) => value.ok_or_else(|| host(span, "internal error: a share without a result")),
    }
}

impl HostArrays<'_> {
    /// The first argument, when it is a distributed array: its handle and
    /// its distributed form.
    fn spread_first(
        &self,
        args: &[HostValue],
        span: Span,
    ) -> Result<Option<(HostHandle, &Distributed)>, Trap> {
        let Some(HostValue::Array(h)) = args.first() else {
            return Ok(None);
        };
        match self.slot(*h, span)? {
            Slot::Spread(d) => Ok(Some((*h, d))),
            Slot::Whole(_) => Ok(None),
        }
    }

    /// The first argument when it is a distributed array (its handle and
    /// distributed form) together with the axis the second argument names
    /// (counted from the end when negative); `None` when either is not so.
    fn spread_along(
        &self,
        args: &[HostValue],
        span: Span,
    ) -> Result<Option<(HostHandle, &Distributed, usize)>, Trap> {
        let Some((h, d)) = self.spread_first(args, span)? else {
            return Ok(None);
        };
        let ndim = d.shape.len();
        let axis = Args::new(args, span).int(1)?;
        let axis = if axis < 0 { axis + ndim as i64 } else { axis };
        Ok(usize::try_from(axis)
            .ok()
            .filter(|&a| a < ndim)
            .map(|a| (h, d, a)))
    }

    /// Runs `op` on distributed arrays where it needs no whole array (`None`
    /// when it does: the caller gathers and runs it as usual).
    pub(super) fn distributed_op(
        &mut self,
        world: &'static World,
        op: &HostOp,
        args: &[HostValue],
        span: Span,
    ) -> Result<Option<HostValue>, Trap> {
        let fail = |e: Error| error_trap(e, span);
        match op {
            HostOp::Ufunc { name } => {
                let u = self.ufunc(name, span)?;
                return self.distributed_call(world, calls::Callee::Ufunc(u), args, span);
            }
            HostOp::Gufunc {
                name,
                allocating: true,
                ..
            } => {
                let g = self.gufunc(name, span)?;
                return self.distributed_call(world, calls::Callee::Gufunc(g), args, span);
            }
            HostOp::UfuncOut { name } => {
                let u = self.ufunc(name, span)?;
                return self.distributed_call_out(world, u, args, span);
            }
            HostOp::Reduce { name, axis: true } => {
                let u = self.ufunc(name, span)?;
                return self.distributed_reduce(world, u, args, span);
            }
            HostOp::Accumulate { name } => {
                let u = self.ufunc(name, span)?;
                return self.distributed_accumulate(world, u, args, span);
            }
            HostOp::Outer { name } => {
                let u = self.ufunc(name, span)?;
                return self.distributed_outer(world, u, args, span);
            }
            HostOp::Load { path, elem } => {
                return self.distributed_load(world, Path::new(path), *elem, span);
            }
            _ => {}
        }
        let Some(HostValue::Array(h)) = args.first() else {
            return Ok(None);
        };
        let h = *h;
        if let HostOp::Save { path } = op {
            match self.slot(h, span)? {
                Slot::Spread(d) => files::save(world, d, Path::new(path), span)?,
                Slot::Whole(a) => files::save_whole(world, a, Path::new(path), span)?,
            }
            return Ok(Some(HostValue::Unit));
        }
        if let HostOp::Set = op {
            let (indices, value) = args[1..].split_at(args.len() - 2);
            let (Slot::Spread(d), [HostValue::Scalar(v)]) = (self.slot_mut(h, span)?, value) else {
                return Ok(None);
            };
            let index = checked_index(&d.shape, indices, span)?;
            d.set(world, &index, *v);
            return Ok(Some(HostValue::Unit));
        }
        if matches!(op, HostOp::Slice { .. } | HostOp::Reshape) {
            return self.distributed_shape_op(op, args, span);
        }
        let Slot::Spread(d) = self.slot(h, span)? else {
            return Ok(None);
        };
        let value = match op {
            HostOp::Len => ScalarValue::Usize(d.shape[0] as u64),
            HostOp::Ndim => ScalarValue::Usize(d.shape.len() as u64),
            HostOp::Shape => {
                let shape: Vec<u64> = d.shape.iter().map(|n| *n as u64).collect();
                let shape = NdArray::from(ndarray::Array1::from(shape).into_dyn());
                return Ok(Some(self.insert(shape)));
            }
            HostOp::Copy => {
                let copy = with_array!(NdArray, &d.block, |x: T| T::wrap(
                    alloc::to_owned(x.view()).map_err(|e| host(span, e.to_string()))?
                ));
                let copy = Distributed::new(d.shape.clone(), d.axis, copy);
                return Ok(Some(self.insert_slot(Slot::Spread(copy))));
            }
            HostOp::Get => {
                let index = checked_index(&d.shape, &args[1..], span)?;
                d.element(world, &index).map_err(fail)?
            }
            HostOp::Sum if d.block.dtype() != ScalarType::Bool => d.sum(world).map_err(fail)?,
            HostOp::Mean => d.mean(world).map_err(fail)?,
            HostOp::Min | HostOp::Max => {
                let max = matches!(op, HostOp::Max);
                match d.extreme(world, max).map_err(fail)? {
                    Some(v) => v,
                    None => return Err(host(span, reduce::no_identity(max))),
                }
            }
            _ => return Ok(None),
        };
        Ok(Some(HostValue::Scalar(value)))
    }

    /// Makes every distributed array among `args` whole (a collective, in
    /// argument order on every rank).
    pub(super) fn gather_args(&mut self, args: &[HostValue], span: Span) -> Result<(), Trap> {
        for a in args {
            if let HostValue::Array(h) = a {
                self.gather(*h, span)?;
            }
        }
        Ok(())
    }

    /// Makes the array `h` whole if it is distributed.
    pub(super) fn gather(&mut self, h: HostHandle, span: Span) -> Result<(), Trap> {
        let (Some(world), Slot::Spread(d)) = (self.spread, self.slot(h, span)?) else {
            return Ok(());
        };
        let whole = d.gather(world).map_err(|e| error_trap(e, span))?;
        *self.slot_mut(h, span)? = Slot::Whole(whole);
        Ok(())
    }
}
