//! `.npy` files of distributed arrays under `--target mpi`: `load` of a
//! C-ordered file reads only this rank's block and `save` writes only it, each
//! in place in the file (positioned I/O, `array::npy::NpyRows`), so no rank
//! ever holds the whole array. A block of axis 0 is one run of bytes in the
//! file; a block of another axis one run per index of the axes before it. A
//! whole array is saved by rank 0 alone.

use super::super::constructors::wrong_dtype;
use super::*;

/// `save(path, &a)` of a distributed array: rank 0 creates the file, then each
/// rank writes its block at its place in it; no rank holds the whole array.
/// Every rank returns once the file is complete.
pub(super) fn save(world: &World, d: &Distributed, path: &Path, span: Span) -> Result<(), Trap> {
    let file = npy::NpyRows::planned(path, d.block.dtype(), &d.shape);
    let file = agreed(world, file, span)?;
    let created = if world.rank() == 0 {
        file.create(path)
    } else {
        Ok(())
    };
    agreed(world, created, span)?;
    let mine = &d.ranges(world)[world.rank()];
    let written = file.write_block(path, d.axis, mine.start, &d.block);
    agreed(world, written, span)
}

/// `save(path, &a)` of an array every rank holds whole (the same on every
/// rank, as host code that keeps arrays distributed takes one path): rank 0
/// writes it, and every rank returns once it has — ranks writing one file at
/// once would truncate it under each other's feet.
pub(super) fn save_whole(world: &World, a: &NdArray, path: &Path, span: Span) -> Result<(), Trap> {
    let saved = if world.rank() == 0 {
        npy::save_npy(path, &a.view())
    } else {
        Ok(())
    };
    agreed(world, saved, span)
}

impl HostArrays<'_> {
    /// `load(path)` of a C-ordered `.npy` file: each rank reads its own block
    /// (along the axis [`split_axis`] picks for the file's shape), in place.
    /// `None` for a file that does not read in place (a 0-d array, a
    /// Fortran-ordered or byte-swapped file): it loads whole.
    pub(super) fn distributed_load(
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
        let axis = split_axis(&file.shape, world.size());
        let mine = row_ranges(file.shape[axis], world.size())
            .nth(world.rank())
            .expect("a range per rank");
        let block = agreed(world, file.read_block(path, axis, mine), span)?;
        let d = Distributed::new(file.shape, axis, block);
        Ok(Some(self.insert_slot(Slot::Spread(d))))
    }
}
