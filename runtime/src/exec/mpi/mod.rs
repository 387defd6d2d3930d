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
mod pieces;
mod reduce;
mod transport;
pub(crate) mod wire;

use std::sync::OnceLock;

pub use pieces::LIMIT_VARIABLE;
pub use reduce::ReduceOp;
use transport::Transport;

use crate::array::NdArray;
use crate::Error;
use wire::{Header, Payload};

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

    /// The most bytes one MPI message carries: 1 GiB, or what
    /// [`LIMIT_VARIABLE`] says; longer messages travel in pieces.
    pub fn message_limit(&self) -> usize {
        self.transport.message_limit().bytes()
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

    /// Sends `array` (any dtype and shape) to rank `dest` with `tag`: its
    /// header, then its elements straight from its memory.
    pub fn send(&self, array: &NdArray, dest: i64, tag: i64) -> Result<(), Error> {
        let dest = self.check_rank("destination", dest)?;
        let tag = World::check_tag(tag)?;
        let payload = Payload::of(array)?;
        self.transport
            .send(dest, tag, &Header::of(array).encode())?;
        self.transport.send(dest, tag, payload.bytes())
    }

    /// The next array rank `source` sent with `tag`, in the dtype and shape it was
    /// sent with: its elements are received straight into the new array.
    pub fn recv(&self, source: i64, tag: i64) -> Result<NdArray, Error> {
        let source = self.check_rank("source", source)?;
        let tag = World::check_tag(tag)?;
        let header = whole_header(&self.transport.recv(source, tag)?)?;
        let mut array = header.zeros()?;
        wire::fill(&mut array, |bytes| {
            self.transport.recv_into(source, tag, bytes)
        })?;
        Ok(array)
    }

    /// The `root` rank's `array` on every rank (the others' `array` is ignored):
    /// the header first, then the elements straight into the new array.
    pub fn broadcast(&self, array: &NdArray, root: i64) -> Result<NdArray, Error> {
        let root = self.check_rank("root", root)?;
        let mut result = if self.rank == root {
            // The root's result is its own array, C-ordered: sent from there.
            let result = Payload::of(array)?.into_array();
            self.transport
                .broadcast(root, Header::of(&result).encode())?;
            result
        } else {
            whole_header(&self.transport.broadcast(root, Vec::new())?)?.zeros()?
        };
        wire::fill(&mut result, |bytes| {
            self.transport.broadcast_into(root, bytes)
        })?;
        Ok(result)
    }

    /// The `root` rank's `array` split along its first axis as NumPy's
    /// `array_split` does — the first `len % size` ranks get one row more — and
    /// rank `r` receiving part `r`, straight from the root's array into its own.
    /// A 0-d array cannot be split (an error on every rank: the root sends its
    /// header first).
    pub fn scatter(&self, array: &NdArray, root: i64) -> Result<NdArray, Error> {
        let root = self.check_rank("root", root)?;
        let header = if self.rank == root {
            Header::of(array).encode()
        } else {
            Vec::new()
        };
        let header = whole_header(&self.transport.broadcast(root, header)?)?;
        let Some(&rows) = header.shape.first() else {
            return Err(Error::Call(
                "mpi::scatter needs an array with at least one axis on the root, not a 0-d one"
                    .into(),
            ));
        };
        let row_bytes = header.row_bytes()?;
        let ranges: Vec<_> = row_ranges(rows, self.size).collect();
        let blocks: Vec<_> = (ranges.iter())
            .map(|r| r.start * row_bytes..r.end * row_bytes)
            .collect();
        let mut shape = header.shape.clone();
        shape[0] = ranges[self.rank].len();
        let mut mine = Header { shape, ..header }.zeros()?;
        let payload = match self.rank == root {
            true => Some(Payload::of(array)?),
            false => None,
        };
        let bytes = payload.as_ref().map(Payload::bytes);
        wire::fill(&mut mine, |into| {
            self.transport.scatter_blocks(root, bytes, &blocks, into)
        })?;
        Ok(mine)
    }

    /// Every rank's `array` concatenated along the first axis, in rank order, on
    /// `root`; `None` on the other ranks. The arrays must agree in dtype and in
    /// every axis but the first (0-d arrays become one row each). The headers
    /// travel first; then every rank's elements go straight into their place in
    /// the result.
    pub fn gather(&self, array: &NdArray, root: i64) -> Result<Option<NdArray>, Error> {
        let root = self.check_rank("root", root)?;
        let payload = Payload::of(array)?;
        let Some(headers) = self.transport.gather(root, &Header::of(array).encode())? else {
            self.transport.gather_blocks(root, payload.bytes(), None)?;
            return Ok(None);
        };
        let headers = decode_headers(&headers)?;
        let blocks = byte_blocks(&headers)?;
        match joined_rows(&headers) {
            Ok(joined) => {
                let mut all = joined.zeros()?;
                wire::fill(&mut all, |into| {
                    self.transport
                        .gather_blocks(root, payload.bytes(), Some((into, &blocks)))
                })?;
                Ok(Some(all))
            }
            Err(e) => {
                // The other ranks send their elements all the same: receive
                // them, then fail.
                let mut scratch = vec![0u8; blocks.last().map_or(0, |b| b.end)];
                self.transport.gather_blocks(
                    root,
                    payload.bytes(),
                    Some((&mut scratch, &blocks)),
                )?;
                Err(e)
            }
        }
    }

    /// [`World::gather`] with the result on every rank. Every rank checks the
    /// headers, so on a mismatch all of them fail before any element moves.
    pub fn all_gather(&self, array: &NdArray) -> Result<NdArray, Error> {
        let payload = Payload::of(array)?;
        let headers = decode_headers(&self.transport.all_gather(&Header::of(array).encode())?)?;
        let blocks = byte_blocks(&headers)?;
        let mut all = joined_rows(&headers)?.zeros()?;
        wire::fill(&mut all, |into| {
            into[blocks[self.rank].clone()].copy_from_slice(payload.bytes());
            self.transport.all_gather_in_place(into, &blocks)
        })?;
        Ok(all)
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
        match self.transport.gather(root, &wire::encode(array)?)? {
            Some(pieces) => reduce::fold(&decode_all(&pieces)?, op).map(Some),
            None => Ok(None),
        }
    }

    /// [`World::reduce`] with the result on every rank.
    pub fn all_reduce(&self, array: &NdArray, op: ReduceOp) -> Result<NdArray, Error> {
        let pieces = self.transport.all_gather(&wire::encode(array)?)?;
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

fn decode_all(pieces: &[Vec<u8>]) -> Result<Vec<NdArray>, Error> {
    pieces.iter().map(|p| wire::decode(p)).collect()
}

/// A message that is one header and nothing else.
fn whole_header(bytes: &[u8]) -> Result<Header, Error> {
    match Header::decode(bytes)? {
        (header, []) => Ok(header),
        _ => Err(Error::Call(
            "a malformed array message arrived: bytes after the header".into(),
        )),
    }
}

fn decode_headers(pieces: &[Vec<u8>]) -> Result<Vec<Header>, Error> {
    pieces.iter().map(|p| whole_header(p)).collect()
}

/// Where each rank's elements go in the concatenation of all of them: rank
/// `r`'s byte range, in rank order.
fn byte_blocks(headers: &[Header]) -> Result<Vec<std::ops::Range<usize>>, Error> {
    let mut at = 0usize;
    headers
        .iter()
        .map(|h| {
            let start = at;
            at = at
                .checked_add(h.payload_bytes()?)
                .ok_or_else(|| Error::Call("the gathered arrays are larger than memory".into()))?;
            Ok(start..at)
        })
        .collect()
}

/// The header of the ranks' arrays joined along their first axis (0-d arrays
/// as one row each), or the error saying which rank's does not fit rank 0's.
fn joined_rows(parts: &[Header]) -> Result<Header, Error> {
    let first = parts
        .first()
        .ok_or_else(|| Error::Call("nothing was gathered".into()))?;
    let row_shape = |h: &Header| h.shape.get(1..).map(<[usize]>::to_vec).unwrap_or_default();
    for (rank, part) in parts.iter().enumerate() {
        if part.dtype != first.dtype
            || row_shape(part) != row_shape(first)
            || part.shape.len().max(1) != first.shape.len().max(1)
        {
            return Err(Error::Call(format!(
                "cannot gather a {} array of shape {} from rank {rank} with a {} array of shape {} from rank 0: \
                 the dtypes and every axis but the first must agree",
                part.dtype,
                crate::shape::shape_text(&part.shape),
                first.dtype,
                crate::shape::shape_text(&first.shape)
            )));
        }
    }
    let rows = parts
        .iter()
        .try_fold(0usize, |n, h| {
            n.checked_add(h.shape.first().copied().unwrap_or(1))
        })
        .ok_or_else(|| Error::Call("the gathered arrays are larger than memory".into()))?;
    let mut shape = vec![rows];
    shape.extend(row_shape(first));
    Ok(Header {
        dtype: first.dtype,
        shape,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::DType;
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

    fn header(dtype: DType, shape: &[usize]) -> Header {
        Header {
            dtype,
            shape: shape.to_vec(),
        }
    }

    #[test]
    fn gathered_rows_join_in_rank_order_and_scalars_become_rows() {
        let parts = [header(DType::F64, &[1, 2]), header(DType::F64, &[2, 2])];
        assert_eq!(joined_rows(&parts).unwrap(), header(DType::F64, &[3, 2]));
        assert_eq!(byte_blocks(&parts).unwrap(), vec![0..16, 16..48]);
        let scalars = [header(DType::I64, &[]), header(DType::I64, &[])];
        assert_eq!(joined_rows(&scalars).unwrap(), header(DType::I64, &[2]));
        assert_eq!(byte_blocks(&scalars).unwrap(), vec![0..8, 8..16]);
        // Empty parts take no bytes.
        let empty = [header(DType::U8, &[0, 3]), header(DType::U8, &[2, 3])];
        assert_eq!(joined_rows(&empty).unwrap(), header(DType::U8, &[2, 3]));
        assert_eq!(byte_blocks(&empty).unwrap(), vec![0..0, 0..6]);
    }

    #[test]
    fn rows_of_different_widths_or_dtypes_do_not_gather() {
        for parts in [
            [header(DType::F64, &[1, 2]), header(DType::F64, &[1, 1])],
            [header(DType::F64, &[1, 2]), header(DType::F32, &[1, 2])],
            [header(DType::F64, &[2]), header(DType::F64, &[1, 2])],
        ] {
            let err = joined_rows(&parts).unwrap_err().to_string();
            assert!(err.contains("from rank 1"), "{err}");
            assert!(err.contains("every axis but the first"), "{err}");
        }
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
        // Transposed, empty and 0-d arrays, and messages queued to oneself.
        let transposed = NdArray::from(array![[1u8, 2, 3], [4, 5, 6]].reversed_axes().into_dyn());
        let empty = NdArray::zeros(DType::Bool, &[0, 2]).unwrap();
        for a in [&transposed, &empty] {
            assert_eq!(&world.broadcast(a, 0).unwrap(), a);
            assert_eq!(&world.scatter(a, 0).unwrap(), a);
            assert_eq!(world.gather(a, 0).unwrap().as_ref(), Some(a));
            assert_eq!(&world.all_gather(a).unwrap(), a);
            world.send(a, 0, 1).unwrap();
        }
        assert_eq!(world.recv(0, 1).unwrap(), transposed);
        assert_eq!(world.recv(0, 1).unwrap(), empty);
        let scalar = NdArray::from(ndarray::arr0(-3i16).into_dyn());
        assert_eq!(world.broadcast(&scalar, 0).unwrap(), scalar);
        let row = NdArray::from(array![-3i16].into_dyn());
        assert_eq!(world.gather(&scalar, 0).unwrap(), Some(row));
        let err = world.scatter(&scalar, 0).unwrap_err().to_string();
        assert!(err.contains("not a 0-d one"), "{err}");
        let err = world.send(&a, 1, 0).unwrap_err().to_string();
        assert!(err.contains("destination rank 1 does not exist"), "{err}");
        let err = world.send(&a, 0, 40000).unwrap_err().to_string();
        assert!(err.contains("tag 40000"), "{err}");
    }
}
