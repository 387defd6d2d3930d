//! The world of MPI ranks a kern program runs in, and what travels between them:
//! arrays sent point to point, broadcast, scattered along their first axis,
//! gathered, and reduced elementwise ([`World`]); and the `mpi` target's split of a
//! ufunc or gufunc call across ranks ([`distribute`]).
//!
//! Every rank runs the same program (SPMD), so host code holds the same inputs on
//! every rank; the `mpi` target gives each rank a share of one of the loop's axes,
//! runs it on that rank's `parallel` pool, and all-gathers the results, so every
//! rank carries on with the whole array and the caller stays rank-independent.
//! (Host code goes further and keeps results distributed, `host/distributed/`,
//! using [`World::all_gather_blocks`] and [`distribute::agree`] from here.)
//!
//! With the `mpi` feature the world is MPI's (rsmpi), initialised on first use and
//! finalised by [`finalize`] (the CLI calls it when `main` returns; it is also
//! registered to run at process exit). After a failure on one rank, call
//! [`abort_job`] instead: finalising would wait for ranks that are waiting for this
//! one. Without it, and under the feature when the
//! process was not started by `mpirun`, the world is this one process: rank 0 of 1,
//! where collectives return their input. This module knows arrays, bytes and
//! ranks; it does not know ufuncs beyond the iteration it is handed.

pub mod distribute;
pub mod launcher;
mod reduce;
mod transport;
pub(crate) mod wire;

use std::sync::OnceLock;

pub use reduce::ReduceOp;
use transport::Transport;

use crate::array::NdArray;
use crate::Error;

/// The ranks of this run and the operations between them. Obtain it with
/// [`world`]; every rank must make the same collective calls in the same order,
/// as in any MPI program.
pub struct World {
    transport: Transport,
    rank: usize,
    size: usize,
}

static WORLD: OnceLock<Result<World, String>> = OnceLock::new();

/// The world of this process, opened (MPI initialised) on first use.
pub fn world() -> Result<&'static World, Error> {
    let opened = WORLD.get_or_init(|| {
        let transport = Transport::open().map_err(|e| e.to_string())?;
        let (rank, size) = transport.rank_and_size().map_err(|e| e.to_string())?;
        #[cfg(feature = "mpi")]
        // SAFETY: `finalize_at_exit` is an `extern "C" fn()` with no arguments,
        // which is what `atexit` takes.
        unsafe {
            libc::atexit(finalize_at_exit);
        }
        Ok(World {
            transport,
            rank,
            size,
        })
    });
    opened
        .as_ref()
        .map_err(|message| Error::TargetUnavailable(message.clone()))
}

/// The world if something in this process has already opened it, without
/// opening it (for labelling output: opening initialises MPI).
pub fn opened_world() -> Option<&'static World> {
    WORLD.get().and_then(|w| w.as_ref().ok())
}

/// Ends MPI for this process if kern started it (`MPI_Finalize`); a no-op
/// otherwise, and when called again. Collective calls after it are errors of MPI
/// itself, so call it only when the program's communication is over.
pub fn finalize() {
    #[cfg(feature = "mpi")]
    if let Some(Ok(world)) = WORLD.get() {
        world.transport.finalize();
    }
}

/// Ends the whole job after a failure on this rank: with other ranks, MPI aborts
/// them all (they may be waiting in a collective this rank will never join, and
/// finalising would wait with them); alone, the process exits with `code`.
pub fn abort_job(code: i32) -> ! {
    match WORLD.get() {
        Some(Ok(world)) if world.size > 1 => world.transport.abort(code),
        _ => std::process::exit(code),
    }
}

#[cfg(feature = "mpi")]
extern "C" fn finalize_at_exit() {
    finalize();
}

impl World {
    /// This process's rank, `0..size()`.
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// The number of ranks.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The bytes this rank has sent to other ranks since the world opened:
    /// payloads and the lengths sent ahead of them, not what it sent itself.
    pub fn bytes_sent(&self) -> u64 {
        self.transport.bytes_sent()
    }

    /// Every rank's block of `buffer` on every rank, in place: `blocks[r]` is
    /// rank `r`'s byte range (in rank order), and this rank's holds its bytes.
    pub(crate) fn all_gather_blocks(
        &self,
        buffer: &mut [u8],
        blocks: &[std::ops::Range<usize>],
    ) -> Result<(), Error> {
        self.transport.all_gather_in_place(buffer, blocks)
    }

    /// Waits until every rank has reached the barrier.
    pub fn barrier(&self) -> Result<(), Error> {
        self.transport.barrier()
    }

    fn check_rank(&self, what: &str, rank: i64) -> Result<usize, Error> {
        usize::try_from(rank)
            .ok()
            .filter(|r| *r < self.size)
            .ok_or_else(|| {
                Error::Call(format!(
                    "{what} rank {rank} does not exist: the world has {} rank{} (0..{})",
                    self.size,
                    if self.size == 1 { "" } else { "s" },
                    self.size
                ))
            })
    }

    fn check_tag(tag: i64) -> Result<i32, Error> {
        i32::try_from(tag)
            .ok()
            .filter(|t| *t >= 0 && *t <= 32767)
            .ok_or_else(|| {
                Error::Call(format!(
                    "message tag {tag} is out of range: tags are 0..=32767 (the least every MPI allows)"
                ))
            })
    }

    /// Sends `array` (any dtype and shape) to rank `dest` with `tag`.
    pub fn send(&self, array: &NdArray, dest: i64, tag: i64) -> Result<(), Error> {
        let dest = self.check_rank("destination", dest)?;
        let tag = World::check_tag(tag)?;
        self.transport.send(dest, tag, &wire::encode(array))
    }

    /// The next array rank `source` sent with `tag`, in the dtype and shape it was
    /// sent with.
    pub fn recv(&self, source: i64, tag: i64) -> Result<NdArray, Error> {
        let source = self.check_rank("source", source)?;
        let tag = World::check_tag(tag)?;
        wire::decode(&self.transport.recv(source, tag)?)
    }

    /// The `root` rank's `array` on every rank (the others' `array` is ignored).
    pub fn broadcast(&self, array: &NdArray, root: i64) -> Result<NdArray, Error> {
        let root = self.check_rank("root", root)?;
        let bytes = if self.rank == root {
            wire::encode(array)
        } else {
            Vec::new()
        };
        wire::decode(&self.transport.broadcast(root, bytes)?)
    }

    /// The `root` rank's `array` split along its first axis as NumPy's
    /// `array_split` does — the first `len % size` ranks get one row more — and
    /// rank `r` receiving part `r`. A 0-d array cannot be split (an error on the
    /// root, and on the other ranks a message saying the root failed).
    pub fn scatter(&self, array: &NdArray, root: i64) -> Result<NdArray, Error> {
        let root = self.check_rank("root", root)?;
        let pieces = if self.rank == root {
            Some(match array.shape().first() {
                Some(&rows) => row_ranges(rows, self.size)
                    .map(|range| wire::encode(&rows_of(array, range)))
                    .collect(),
                // Everyone still takes part, and learns of the failure.
                None => vec![Vec::new(); self.size],
            })
        } else {
            None
        };
        let mine = self.transport.scatter(root, pieces)?;
        if mine.is_empty() {
            return Err(Error::Call(
                "mpi::scatter needs an array with at least one axis on the root, not a 0-d one"
                    .into(),
            ));
        }
        wire::decode(&mine)
    }

    /// Every rank's `array` concatenated along the first axis, in rank order, on
    /// `root`; `None` on the other ranks. The arrays must agree in dtype and in
    /// every axis but the first (0-d arrays become one row each).
    pub fn gather(&self, array: &NdArray, root: i64) -> Result<Option<NdArray>, Error> {
        let root = self.check_rank("root", root)?;
        match self.transport.gather(root, &wire::encode(array))? {
            Some(pieces) => concatenate_rows(&decode_all(&pieces)?).map(Some),
            None => Ok(None),
        }
    }

    /// [`World::gather`] with the result on every rank.
    pub fn all_gather(&self, array: &NdArray) -> Result<NdArray, Error> {
        let pieces = self.transport.all_gather(&wire::encode(array))?;
        concatenate_rows(&decode_all(&pieces)?)
    }

    /// Every rank's `array` (one dtype and shape on all ranks) combined
    /// elementwise with `op`, folding in rank order — so the result is the same on
    /// every run — on `root`; `None` on the other ranks.
    pub fn reduce(
        &self,
        array: &NdArray,
        op: ReduceOp,
        root: i64,
    ) -> Result<Option<NdArray>, Error> {
        let root = self.check_rank("root", root)?;
        match self.transport.gather(root, &wire::encode(array))? {
            Some(pieces) => reduce::fold(&decode_all(&pieces)?, op).map(Some),
            None => Ok(None),
        }
    }

    /// [`World::reduce`] with the result on every rank.
    pub fn all_reduce(&self, array: &NdArray, op: ReduceOp) -> Result<NdArray, Error> {
        let pieces = self.transport.all_gather(&wire::encode(array))?;
        reduce::fold(&decode_all(&pieces)?, op)
    }
}

/// The rows `[start, end)` of rank `r` when `rows` are split over `size` ranks as
/// `array_split` does, for `r` in `0..size`.
pub fn row_ranges(rows: usize, size: usize) -> impl Iterator<Item = std::ops::Range<usize>> {
    let (base, extra) = (rows / size, rows % size);
    (0..size).map(move |r| {
        let start = r * base + r.min(extra);
        start..start + base + usize::from(r < extra)
    })
}

/// Rows per rank below which a distributed array's first axis is too short to
/// split well ([`split_axis`]).
pub const MIN_ROWS_PER_RANK: usize = 8;

/// The axis a distributed array of `shape` (at least one axis) is split along
/// over `size` ranks: axis 0, unless it has fewer than [`MIN_ROWS_PER_RANK`]
/// rows per rank and another axis is longer — then the longest axis (the first
/// of equals). With 8 rows or more per rank, `array_split` gives no rank more
/// than 1/8 more rows than another; a shorter first axis would leave ranks idle
/// (shape (2, 10⁶) on 4 ranks) or unbalanced, and the longest axis balances best.
pub fn split_axis(shape: &[usize], size: usize) -> usize {
    let rows = shape.first().copied().unwrap_or(0);
    if rows >= MIN_ROWS_PER_RANK.saturating_mul(size) {
        return 0;
    }
    let longest = shape.iter().copied().max().unwrap_or(0);
    if longest <= rows {
        return 0;
    }
    shape
        .iter()
        .position(|&n| n == longest)
        .expect("the longest axis is one of them")
}

/// The rows `range` of `array`'s first axis, as an owned array.
fn rows_of(array: &NdArray, range: std::ops::Range<usize>) -> NdArray {
    use ndarray::{Axis, Slice};
    crate::array::with_array!(NdArray, array, |a: T| {
        let part = a.slice_axis(Axis(0), Slice::from(range)).to_owned();
        NdArray::from(part)
    })
}

fn decode_all(pieces: &[Vec<u8>]) -> Result<Vec<NdArray>, Error> {
    pieces.iter().map(|p| wire::decode(p)).collect()
}

/// The arrays joined along their first axis (0-d arrays as one row each).
fn concatenate_rows(parts: &[NdArray]) -> Result<NdArray, Error> {
    let first = parts
        .first()
        .ok_or_else(|| Error::Call("nothing was gathered".into()))?;
    let row_shape = |a: &NdArray| {
        a.shape()
            .get(1..)
            .map(<[usize]>::to_vec)
            .unwrap_or_default()
    };
    for (rank, part) in parts.iter().enumerate() {
        if part.dtype() != first.dtype()
            || row_shape(part) != row_shape(first)
            || part.ndim().max(1) != first.ndim().max(1)
        {
            return Err(Error::Call(format!(
                "cannot gather a {} array of shape {} from rank {rank} with a {} array of shape {} from rank 0: \
                 the dtypes and every axis but the first must agree",
                part.dtype(),
                crate::shape::shape_text(part.shape()),
                first.dtype(),
                crate::shape::shape_text(first.shape())
            )));
        }
    }
    let rows: usize = parts
        .iter()
        .map(|p| p.shape().first().copied().unwrap_or(1))
        .sum();
    let mut shape = vec![rows];
    shape.extend(row_shape(first));
    let bytes: Vec<u8> = parts.iter().flat_map(wire::element_bytes).collect();
    wire::from_element_bytes(first.dtype(), &shape, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn rows_are_split_like_array_split() {
        let ranges: Vec<_> = row_ranges(10, 4).collect();
        assert_eq!(ranges, vec![0..3, 3..6, 6..8, 8..10]);
        let ranges: Vec<_> = row_ranges(2, 4).collect();
        assert_eq!(ranges, vec![0..1, 1..2, 2..2, 2..2]);
    }

    #[test]
    fn short_first_axes_split_along_the_longest_axis() {
        assert_eq!(split_axis(&[100], 4), 0);
        assert_eq!(split_axis(&[2], 4), 0);
        assert_eq!(split_axis(&[2, 1_000_000], 4), 1);
        assert_eq!(split_axis(&[2, 1_000_000], 2), 1);
        // Eight rows per rank or more: axis 0, however long the others.
        assert_eq!(split_axis(&[32, 1_000_000], 4), 0);
        assert_eq!(split_axis(&[31, 1_000_000], 4), 1);
        // The first of equally long axes; axis 0 when it is the longest.
        assert_eq!(split_axis(&[3, 50, 50], 4), 1);
        assert_eq!(split_axis(&[7, 5], 4), 0);
        assert_eq!(split_axis(&[0, 5], 4), 1);
    }

    #[test]
    fn gathered_rows_concatenate_in_rank_order_and_scalars_become_rows() {
        let parts = [
            NdArray::from(array![[1.0f64, 2.0]].into_dyn()),
            NdArray::from(array![[3.0f64, 4.0], [5.0, 6.0]].into_dyn()),
        ];
        let joined = concatenate_rows(&parts).unwrap();
        assert_eq!(
            joined,
            NdArray::from(array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]].into_dyn())
        );
        let scalars = [
            NdArray::from(ndarray::arr0(1i64).into_dyn()),
            NdArray::from(ndarray::arr0(2i64).into_dyn()),
        ];
        assert_eq!(
            concatenate_rows(&scalars).unwrap(),
            NdArray::from(array![1i64, 2].into_dyn())
        );
    }

    #[test]
    fn rows_of_different_widths_do_not_gather() {
        let parts = [
            NdArray::from(array![[1.0f64, 2.0]].into_dyn()),
            NdArray::from(array![[3.0f64]].into_dyn()),
        ];
        let err = concatenate_rows(&parts).unwrap_err().to_string();
        assert!(err.contains("every axis but the first"), "{err}");
    }

    #[test]
    fn a_singleton_world_passes_arrays_through() {
        // Without `mpirun` the world is this process (also with the feature).
        let world = world().unwrap();
        if world.size() != 1 {
            return;
        }
        let a = NdArray::from(array![1i32, 2, 3].into_dyn());
        assert_eq!(world.broadcast(&a, 0).unwrap(), a);
        assert_eq!(world.scatter(&a, 0).unwrap(), a);
        assert_eq!(world.gather(&a, 0).unwrap(), Some(a.clone()));
        assert_eq!(world.all_reduce(&a, ReduceOp::Sum).unwrap(), a);
        world.send(&a, 0, 7).unwrap();
        assert_eq!(world.recv(0, 7).unwrap(), a);
        let err = world.send(&a, 1, 0).unwrap_err().to_string();
        assert!(err.contains("destination rank 1 does not exist"), "{err}");
        let err = world.send(&a, 0, 40000).unwrap_err().to_string();
        assert!(err.contains("tag 40000"), "{err}");
    }
}
