//! Host arrays that stay block-distributed under `--target mpi` (docs/mpi.md,
//! "Distributed arrays"): a ufunc result is kept as each rank's rows of axis 0
//! (split as `array_split` splits them) plus the global shape, and host code's
//! operations on it either need only the local rows or gather on demand.
//!
//! Needing no whole array: ufunc and gufunc calls whose operands line up row
//! for row along the loop's first axis (each rank calls the function on its
//! rows, on its own `parallel` pool — no array data moves), `len`/`ndim`/
//! `shape`, `.copy()`, writing one element (its owner writes), reading one
//! (its owner broadcasts it), and `.sum()`, `.mean()`,
//! `.min()`, `.max()` (each rank reduces its rows; the ranks' small partial
//! results are combined in exactly `cpu`'s order, see [`reduce::lane_share`]).
//! `load` of a C-ordered `.npy` file reads only this rank's rows and `save`
//! writes only them, each at its offset in the file (positioned I/O), so no rank
//! ever holds the whole array. Everything else gathers the array first, once:
//! the slot becomes whole.
//!
//! Every one of these is a collective, so arrays are kept distributed only when
//! host code cannot take different paths on different ranks: when `main` never
//! asks for its rank or makes a rank-dependent `mpi::` call ([`spreading_world`]).
//! This file owns the distributed form and those operations; ufunc planning
//! stays with [`Ufunc`], the ranks and bytes with `exec::mpi`.

use std::ops::Range;

use kern_compiler::ir::{Block, FunctionKind, InstKind, MpiOp, Program};

use super::constructors::wrong_dtype;
use super::*;
use crate::array::{ArrayRef, DType};
use crate::exec::mpi::distribute::agree;
use crate::exec::mpi::{row_ranges, World};

/// An array of which this rank holds only its rows of axis 0.
pub(super) struct Distributed {
    /// The whole array's shape (at least one axis).
    pub(super) shape: Vec<usize>,
    /// This rank's rows `row_ranges(shape[0], size)[rank]`, in C order.
    pub(super) block: NdArray,
}

/// What a distributed call calls.
enum Callee {
    Ufunc(Ufunc),
    Gufunc(crate::gufunc::Gufunc),
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
    /// The array of `shape` whose rows here are `block` (stored in C order).
    pub(super) fn new(shape: Vec<usize>, block: NdArray) -> Distributed {
        let block = with_array!(NdArray, block, |b: T| {
            if b.is_standard_layout() {
                T::wrap(b)
            } else {
                T::wrap(b.as_standard_layout().into_owned())
            }
        });
        Distributed { shape, block }
    }

    /// Each rank's rows, in rank order.
    fn ranges(&self, world: &World) -> Vec<Range<usize>> {
        row_ranges(self.shape[0], world.size()).collect()
    }

    /// The whole array, on every rank (a collective).
    pub(super) fn gather(&self, world: &World) -> Result<NdArray, Error> {
        let mut whole = NdArray::zeros(self.block.dtype(), &self.shape).map_err(call_error)?;
        let row: usize = self.shape[1..].iter().product();
        let ranges = self.ranges(world);
        with_array!(NdArray, &mut whole, |w: T| {
            let size = std::mem::size_of::<T>();
            let block = self.block.as_array::<T>().expect("one dtype");
            let mine = &ranges[world.rank()];
            let elements = w.as_slice_mut().expect("a new array is in C order");
            elements[mine.start * row..mine.end * row]
                .copy_from_slice(block.as_slice().expect("blocks are in C order"));
            let blocks: Vec<_> = ranges
                .iter()
                .map(|r| r.start * row * size..r.end * row * size)
                .collect();
            // SAFETY: the elements are plain data of `size` bytes each.
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(
                    elements.as_mut_ptr().cast::<u8>(),
                    std::mem::size_of_val(elements),
                )
            };
            world.all_gather_blocks(bytes, &blocks)?;
        });
        Ok(whole)
    }

    /// The rank holding global row `row`, and the row's index in its block.
    fn owner(&self, world: &World, row: usize) -> (usize, usize) {
        let ranges = self.ranges(world);
        let rank = ranges
            .iter()
            .position(|r| r.contains(&row))
            .expect("a checked index is in some rank's rows");
        (rank, row - ranges[rank].start)
    }

    /// The element at the (checked) `index`, on every rank: its owner
    /// broadcasts it (a collective).
    pub(super) fn element(&self, world: &World, index: &[usize]) -> Result<ScalarValue, Error> {
        let (owner, local) = self.owner(world, index[0]);
        let value = if owner == world.rank() {
            let mut at = index.to_vec();
            at[0] = local;
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
        let (owner, local) = self.owner(world, index[0]);
        if owner == world.rank() {
            let mut at = index.to_vec();
            at[0] = local;
            with_array!(NdArray, &mut self.block, |x: T| {
                if let Some(v) = T::from_value(cast_value(value, T::DTYPE)) {
                    x[IxDyn(&at)] = v;
                }
            });
        }
    }

    /// `.sum()`: each rank's rows reduced as `cpu` reduces them, the ranks'
    /// partial results then combined in `cpu`'s order, so the result has
    /// `cpu`'s bits.
    pub(super) fn sum(&self, world: &World) -> Result<ScalarValue, Error> {
        sum_of(&self.block, &self.shape, world)
    }

    /// `.mean()`: the sum (integers in f64, as NumPy) over the element count.
    pub(super) fn mean(&self, world: &World) -> Result<ScalarValue, Error> {
        let n: usize = self.shape.iter().product();
        let sum = match self.block.dtype() {
            DType::F32 | DType::F64 => sum_of(&self.block, &self.shape, world)?,
            _ => sum_of(&self.block.cast(DType::F64), &self.shape, world)?,
        };
        Ok(match sum {
            ScalarValue::F32(s) => ScalarValue::F32(s / n as f32),
            ScalarValue::F64(s) => ScalarValue::F64(s / n as f64),
            other => other,
        })
    }

    /// `.min()` or `.max()`: each rank's extreme, then the extreme of those in
    /// rank order — the first minimum (or NaN) in C order, as on `cpu`.
    pub(super) fn extreme(&self, world: &World, max: bool) -> Result<Option<ScalarValue>, Error> {
        let mine: Vec<ScalarValue> = reduce::extreme(&self.block, max).into_iter().collect();
        let mine = from_values(self.block.dtype(), &[mine.len()], &mine);
        Ok(reduce::extreme(&world.all_gather(&mine)?, max))
    }
}

/// `save(path, &a)` of a distributed array: rank 0 creates the file, then each
/// rank writes its rows at their place in it (positioned I/O); no rank holds
/// the whole array. Every rank returns once the file is complete.
fn save(world: &World, d: &Distributed, path: &Path, span: Span) -> Result<(), Trap> {
    let file = npy::NpyRows::planned(path, d.block.dtype(), &d.shape);
    let file = agreed(world, file, span)?;
    let created = if world.rank() == 0 {
        file.create(path)
    } else {
        Ok(())
    };
    agreed(world, created, span)?;
    let mine = &d.ranges(world)[world.rank()];
    agreed(world, file.write_rows(path, mine.start, &d.block), span)
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

/// The sum of a distributed array whose rows here are `block`.
fn sum_of(block: &NdArray, shape: &[usize], world: &World) -> Result<ScalarValue, Error> {
    let ranges: Vec<_> = row_ranges(shape[0], world.size()).collect();
    with_array!(NdArray, block, |b: T| {
        if shape[0] == 0 {
            return Ok(<T as reduce::Add>::zero().to_value());
        }
        // The lane `cpu` reduces last: the elements of a 1-d array, else one
        // sum per row.
        let row_sums;
        let rows = if b.ndim() == 1 {
            b.as_slice().expect("blocks are in C order")
        } else {
            row_sums = reduce::sum_rows(b.view()).map_err(call_error)?;
            row_sums.as_slice().expect("a new array is in C order")
        };
        let share = reduce::lane_share(rows, ranges[world.rank()].start);
        let share = T::wrap(ndarray::Array1::from(share).into_dyn());
        let shares = world.all_gather(&share)?;
        let shares = shares.as_array::<T>().expect("one dtype");
        let shares = shares.as_slice().expect("gathered arrays are in C order");
        Ok(reduce::blocked_from_shares(shares, &ranges, shape[0]).to_value())
    })
}

impl HostArrays<'_> {
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
        if let HostOp::Ufunc { name } = op {
            let u = self.ufunc(name, span)?;
            return self.distributed_call(world, Callee::Ufunc(u), args, span);
        }
        if let HostOp::Gufunc {
            name,
            allocating: true,
            ..
        } = op
        {
            let g = self.gufunc(name, span)?;
            return self.distributed_call(world, Callee::Gufunc(g), args, span);
        }
        if let HostOp::Load { path, elem } = op {
            return self.distributed_load(world, Path::new(path), *elem, span);
        }
        let Some(HostValue::Array(h)) = args.first() else {
            return Ok(None);
        };
        let h = *h;
        if let (HostOp::Save { path }, Slot::Spread(d)) = (op, self.slot(h, span)?) {
            save(world, d, Path::new(path), span)?;
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
                let copy = Distributed::new(d.shape.clone(), copy);
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

    /// A ufunc call, or a gufunc call with one new output, whose array
    /// operands' loop axes line up with the loop's rows (or broadcast whole
    /// along them): each rank calls it on its rows, and the result stays
    /// distributed. `None` for any other call (0-d loops, shapes that do not
    /// broadcast — the usual error then says so —, optional core dimensions,
    /// or a distributed operand broadcast along axis 0).
    fn distributed_call(
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
        let mut loop_shapes: Vec<&[usize]> = Vec::new();
        for (a, &core) in args.iter().zip(&core_ndims) {
            let shape = match a {
                HostValue::Array(h) => self.slot(*h, span)?.shape(),
                _ => &[],
            };
            let Some(loop_ndim) = shape.len().checked_sub(core) else {
                return Ok(None);
            };
            loop_shapes.push(&shape[..loop_ndim]);
        }
        let Ok(loop_shape) = crate::broadcast::broadcast_shapes(&loop_shapes) else {
            return Ok(None);
        };
        let Some(&rows) = loop_shape.first() else {
            return Ok(None);
        };
        let mine = row_ranges(rows, world.size())
            .nth(world.rank())
            .expect("a range per rank");
        let lines_up = |s: &[usize]| s.len() == loop_shape.len() && s[0] == rows;
        let mut operands = Vec::with_capacity(args.len());
        for (a, loop_part) in args.iter().zip(&loop_shapes) {
            operands.push(match a {
                HostValue::Scalar(v) => Operand::Scalar(*v),
                HostValue::Array(h) => match self.slot(*h, span)? {
                    Slot::Spread(d) if lines_up(loop_part) => Operand::Array(d.block.view()),
                    Slot::Spread(_) => return Ok(None),
                    Slot::Whole(a) if lines_up(loop_part) => {
                        with_array!(ArrayRef, a.view(), |x: T| T::wrap_view(
                            x.slice_axis_move(Axis(0), Slice::from(mine.clone()))
                        ))
                    }
                    Slot::Whole(a) => Operand::Array(a.view()),
                },
                HostValue::Unit => return Err(host(span, "internal error: operand")),
            });
        }
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
        let (outcome, block) = match result {
            Ok(block) => (Ok(Ok(())), Some(block)),
            Err(Error::Kernel { trap, .. }) => (Ok(Err(trap)), None),
            Err(e) => (Err(e), None),
        };
        drop(operands);
        match agree(world, outcome).map_err(|e| error_trap(e, span))? {
            Err(trap) => Err(trap),
            Ok(()) => {
                let block =
                    block.ok_or_else(|| host(span, "internal error: a share without a result"))?;
                // The loop's axes, then the output's core axes (the same on
                // every rank: only the loop's rows are split).
                let mut shape = loop_shape;
                shape.extend_from_slice(block.shape().get(shape.len()..).unwrap_or_default());
                let d = Distributed::new(shape, block);
                Ok(Some(self.insert_slot(Slot::Spread(d))))
            }
        }
    }

    /// `load(path)` of a C-ordered `.npy` file: each rank reads its own rows,
    /// in place. `None` for a file that does not read by rows (a 0-d array, a
    /// Fortran-ordered or byte-swapped file): it loads whole.
    fn distributed_load(
        &mut self,
        world: &'static World,
        path: &Path,
        elem: ScalarType,
        span: Span,
    ) -> Result<Option<HostValue>, Trap> {
        let file = agreed(world, npy::NpyRows::open(path), span)?;
        if file.dtype != storage_dtype(elem) {
            return Err(host(span, wrong_dtype(path, elem, file.dtype)));
        }
        if !file.by_rows() {
            return Ok(None);
        }
        let mine = row_ranges(file.shape[0], world.size())
            .nth(world.rank())
            .expect("a range per rank");
        let block = agreed(world, file.read_rows(path, mine), span)?;
        let d = Distributed::new(file.shape, block);
        Ok(Some(self.insert_slot(Slot::Spread(d))))
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
