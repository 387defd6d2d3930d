//! Moving bytes between the ranks of the world: point-to-point messages and the
//! collectives kern needs (broadcast, gather, all-gather, scatter, barrier) in
//! two forms: over byte buffers of any length, which the receiver learns (for
//! small messages such as an array's header), and straight between buffers
//! whose lengths every rank already knows (for an array's elements: sent from
//! the sender's memory and received into the receiver's, with no copy).
//!
//! With the `mpi` feature the bytes travel through MPI (rsmpi): the universe is
//! initialised on first use and every call takes one lock, so calls from several
//! threads are serialised (MPI is initialised for `MPI_THREAD_SERIALIZED`).
//! Without it the world is this process alone — a singleton, as an MPI program
//! started without `mpirun` is. Either way a message a rank sends to itself
//! waits in that rank's mailbox, whatever its size, until the rank receives it.
//! MPI counts in `int`s: a message longer than the [`MessageLimit`] (1 GiB)
//! travels in pieces, and scatters and gathers move each rank's block point to
//! point (in pieces too) instead of through `MPI_Scatterv`/`MPI_Gatherv`,
//! whose offsets into the root's buffer are `int`s as well (`pieces.rs`).
//! It counts the bytes this rank hands to MPI for other ranks ([`Transport::bytes_sent`]),
//! so tests can tell how much a computation communicates.
//! This module knows bytes and ranks, not dtypes or arrays.

#![cfg_attr(not(feature = "mpi"), allow(unused_variables))]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

#[cfg(feature = "mpi")]
use super::pieces::pieces;
use super::pieces::MessageLimit;
use crate::Error;

/// The ranks of the world and the wire between them.
pub(super) struct Transport {
    /// This process's rank.
    rank: usize,
    /// The messages this rank sent to itself and has not received yet, with
    /// their tags, oldest first. They never go through MPI: a blocking MPI send
    /// to oneself waits for a receive that the same thread can only post after
    /// it (for all but small, eagerly sent messages), so it would hang.
    own: Mutex<VecDeque<(i32, Vec<u8>)>>,
    link: Link,
    /// The bytes this rank handed to MPI for other ranks so far (payloads and
    /// the lengths sent ahead of them; a message to itself moves nothing).
    sent: AtomicU64,
    /// The most bytes one MPI message carries.
    limit: MessageLimit,
}

/// How bytes reach the other ranks.
enum Link {
    /// This process alone: there are no other ranks.
    #[cfg_attr(feature = "mpi", allow(dead_code))]
    Single,
    /// The processes `mpirun` started, through MPI.
    #[cfg(feature = "mpi")]
    Mpi(Mutex<Option<mpi::environment::Universe>>),
}

/// The world communicator, used while the transport's lock is held.
#[cfg(feature = "mpi")]
struct Session<'a> {
    _lock: std::sync::MutexGuard<'a, Option<mpi::environment::Universe>>,
    world: mpi::topology::SimpleCommunicator,
}

#[cfg(feature = "mpi")]
fn session(universe: &Mutex<Option<mpi::environment::Universe>>) -> Result<Session<'_>, Error> {
    let guard = lock(universe);
    let world = guard
        .as_ref()
        .ok_or_else(|| {
            Error::Call(
                "MPI was finalised: no more communication is possible in this process".into(),
            )
        })?
        .world();
    Ok(Session {
        _lock: guard,
        world,
    })
}

impl Transport {
    /// The world of this process: MPI's when the `mpi` feature is built (a
    /// singleton when the process was not started by `mpirun`), else a singleton.
    pub(super) fn open() -> Result<Transport, Error> {
        let limit = MessageLimit::from_env()?;
        #[cfg(feature = "mpi")]
        {
            match mpi::initialize_with_threading(mpi::Threading::Serialized) {
                Some((universe, _)) => {
                    use mpi::topology::Communicator;
                    let rank = universe.world().rank() as usize;
                    Ok(Transport {
                        rank,
                        own: Mutex::new(VecDeque::new()),
                        link: Link::Mpi(Mutex::new(Some(universe))),
                        sent: AtomicU64::new(0),
                        limit,
                    })
                }
                None => Err(Error::TargetUnavailable(
                    "MPI was already initialised outside kern in this process".into(),
                )),
            }
        }
        #[cfg(not(feature = "mpi"))]
        {
            Ok(Transport {
                rank: 0,
                own: Mutex::new(VecDeque::new()),
                link: Link::Single,
                sent: AtomicU64::new(0),
                limit,
            })
        }
    }

    pub(super) fn rank_and_size(&self) -> Result<(usize, usize), Error> {
        match &self.link {
            Link::Single => Ok((0, 1)),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::topology::Communicator;
                let session = session(universe)?;
                let world = &session.world;
                Ok((world.rank() as usize, world.size() as usize))
            }
        }
    }

    /// The most bytes one MPI message carries.
    pub(super) fn message_limit(&self) -> MessageLimit {
        self.limit
    }

    /// The bytes this rank has sent to other ranks since the world opened.
    pub(super) fn bytes_sent(&self) -> u64 {
        self.sent.load(Ordering::Relaxed)
    }

    /// Counts `bytes` more sent to other ranks.
    #[cfg(feature = "mpi")]
    fn count(&self, bytes: usize) {
        self.sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(super) fn barrier(&self) -> Result<(), Error> {
        match &self.link {
            Link::Single => Ok(()),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::collective::CommunicatorCollectives;
                session(universe)?.world.barrier();
                Ok(())
            }
        }
    }

    /// Ends MPI (`MPI_Finalize`, by dropping the universe) once; later calls
    /// through the transport are errors.
    #[cfg(feature = "mpi")]
    pub(super) fn finalize(&self) {
        if let Link::Mpi(universe) = &self.link {
            drop(lock(universe).take());
        }
    }

    /// Stops every process of the job with exit status `code` (`MPI_Abort`).
    pub(super) fn abort(&self, code: i32) -> ! {
        #[cfg(feature = "mpi")]
        if let Link::Mpi(universe) = &self.link {
            use mpi::topology::Communicator;
            if let Ok(session) = session(universe) {
                session.world.abort(code);
            }
        }
        std::process::exit(code)
    }

    /// Sends `bytes` to rank `dest` with `tag` (blocking until the buffer may be
    /// reused; MPI's standard mode). A message to this rank itself waits in its
    /// mailbox, so it never blocks.
    pub(super) fn send(&self, dest: usize, tag: i32, bytes: &[u8]) -> Result<(), Error> {
        if dest == self.rank {
            lock(&self.own).push_back((tag, bytes.to_vec()));
            return Ok(());
        }
        match &self.link {
            Link::Single => Err(no_rank(dest)),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::point_to_point::Destination;
                use mpi::topology::Communicator;
                let session = session(universe)?;
                let process = session.world.process_at_rank(dest as i32);
                for piece in message_pieces(bytes.len(), self.limit) {
                    process.send_with_tag(at_real_address(&bytes[piece]), tag);
                }
                self.count(bytes.len());
                Ok(())
            }
        }
    }

    /// The next message from rank `source` with `tag`, of whatever length (at
    /// most the [`MessageLimit`]: one message, as a header is). From this rank
    /// itself it is the oldest such message in the mailbox; with none there, no
    /// send could ever match the receive, so it is an error, not a wait.
    pub(super) fn recv(&self, source: usize, tag: i32) -> Result<Vec<u8>, Error> {
        if source == self.rank {
            let mut mailbox = lock(&self.own);
            let at = mailbox.iter().position(|(t, _)| *t == tag).ok_or_else(|| {
                Error::Call(format!(
                    "mpi::recv from rank {source} with tag {tag} would wait forever: \
                     rank {source} is this rank, and it sent itself no such message before"
                ))
            })?;
            return Ok(mailbox.remove(at).map(|(_, b)| b).unwrap_or_default());
        }
        match &self.link {
            Link::Single => Err(no_rank(source)),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::point_to_point::Source;
                use mpi::topology::Communicator;
                let session = session(universe)?;
                let world = &session.world;
                let (bytes, _) = world
                    .process_at_rank(source as i32)
                    .receive_vec_with_tag::<u8>(tag);
                Ok(bytes)
            }
        }
    }

    /// Receives the next message from rank `source` with `tag` straight into
    /// `buffer`, which must have the message's length (the sender said it in
    /// an earlier message); a message longer than the [`MessageLimit`] arrives
    /// in its pieces, each into its part of `buffer`. From this rank itself it
    /// is the oldest such message in the mailbox, as for [`Transport::recv`].
    pub(super) fn recv_into(
        &self,
        source: usize,
        tag: i32,
        buffer: &mut [u8],
    ) -> Result<(), Error> {
        if source == self.rank {
            let bytes = self.recv(source, tag)?;
            if bytes.len() != buffer.len() {
                return Err(wrong_length(bytes.len(), buffer.len()));
            }
            buffer.copy_from_slice(&bytes);
            return Ok(());
        }
        match &self.link {
            Link::Single => Err(no_rank(source)),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::point_to_point::Source;
                use mpi::topology::Communicator;
                let session = session(universe)?;
                let process = session.world.process_at_rank(source as i32);
                let mut spare = [0];
                for piece in message_pieces(buffer.len(), self.limit) {
                    let part = at_real_address_mut(&mut buffer[piece], &mut spare);
                    let expected = part.len();
                    arrived_whole(process.receive_into_with_tag(part, tag), expected)?;
                }
                Ok(())
            }
        }
    }

    /// `root`'s `bytes` on every rank (the others' `bytes` are ignored): its
    /// length first, then the bytes as [`Transport::broadcast_into`] sends them.
    pub(super) fn broadcast(&self, root: usize, bytes: Vec<u8>) -> Result<Vec<u8>, Error> {
        match &self.link {
            Link::Single => Ok(bytes),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::collective::Root;
                use mpi::topology::Communicator;
                let session = session(universe)?;
                let world = &session.world;
                if world.rank() == root as i32 {
                    self.count(8 * (world.size() as usize - 1));
                }
                let mut len = bytes.len() as u64;
                world.process_at_rank(root as i32).broadcast_into(&mut len);
                let mut bytes = bytes;
                bytes.resize(to_usize(len)?, 0);
                self.broadcast_pieces(world, root, &mut bytes);
                Ok(bytes)
            }
        }
    }

    /// `root`'s `buffer` on every rank, in place: every rank's `buffer` has the
    /// length of the root's (which an earlier message said). One broadcast per
    /// piece of at most the [`MessageLimit`].
    pub(super) fn broadcast_into(&self, root: usize, buffer: &mut [u8]) -> Result<(), Error> {
        match &self.link {
            Link::Single => Ok(()),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                let session = session(universe)?;
                self.broadcast_pieces(&session.world, root, buffer);
                Ok(())
            }
        }
    }

    #[cfg(feature = "mpi")]
    fn broadcast_pieces(
        &self,
        world: &mpi::topology::SimpleCommunicator,
        root: usize,
        buffer: &mut [u8],
    ) {
        use mpi::collective::Root;
        use mpi::topology::Communicator;
        if world.rank() == root as i32 {
            self.count(buffer.len() * (world.size() as usize - 1));
        }
        let root = world.process_at_rank(root as i32);
        for piece in pieces(buffer.len(), self.limit) {
            root.broadcast_into(&mut buffer[piece]);
        }
    }

    /// Block `r` of `root`'s `bytes` into `buffer` on rank `r`: `blocks[r]` is
    /// rank `r`'s byte range of the root's `bytes` (in rank order, known to
    /// every rank), and `buffer` has the length of this rank's block. The other
    /// ranks pass `None` for `bytes`. Straight from the root's memory into each
    /// rank's, with no copy: the root sends every other rank its block (in
    /// pieces of at most the [`MessageLimit`], all at once) and copies its own
    /// while they travel, as `MPI_Scatterv` does, whose counts and offsets are
    /// `int`s.
    pub(super) fn scatter_blocks(
        &self,
        root: usize,
        bytes: Option<&[u8]>,
        blocks: &[std::ops::Range<usize>],
        buffer: &mut [u8],
    ) -> Result<(), Error> {
        let copy_own = |buffer: &mut [u8]| {
            let bytes = bytes.ok_or_else(|| no_rank(root))?;
            buffer.copy_from_slice(&bytes[blocks[root].clone()]);
            Ok(())
        };
        match &self.link {
            Link::Single => copy_own(buffer),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::point_to_point::{Destination, Source};
                use mpi::topology::Communicator;
                let session = session(universe)?;
                let world = &session.world;
                let Some(bytes) = bytes.filter(|_| self.rank == root) else {
                    let process = world.process_at_rank(root as i32);
                    for piece in pieces(buffer.len(), self.limit) {
                        let part = &mut buffer[piece];
                        let expected = part.len();
                        arrived_whole(process.receive_into_with_tag(part, OWN_TAG), expected)?;
                    }
                    return Ok(());
                };
                let others = || (blocks.iter().enumerate()).filter(|(r, _)| *r != root);
                self.count(others().map(|(_, b)| b.len()).sum());
                mpi::request::scope(|scope| {
                    let mut requests = Vec::new();
                    for (rank, block) in others() {
                        let process = world.process_at_rank(rank as i32);
                        let block = &bytes[block.clone()];
                        for piece in pieces(block.len(), self.limit) {
                            requests.push(process.immediate_send_with_tag(
                                scope,
                                &block[piece],
                                OWN_TAG,
                            ));
                        }
                    }
                    let copied = copy_own(buffer);
                    for request in requests {
                        request.wait();
                    }
                    copied
                })
            }
        }
    }

    /// Every rank's `bytes` on `root`, each straight into its block of
    /// `buffer`: the root passes `buffer` and `blocks` (rank `r`'s byte range,
    /// in rank order, of the length rank `r` sends), the others `None`. No
    /// copy: every other rank sends its bytes (in pieces of at most the
    /// [`MessageLimit`]) into their block, all received at once, and the root
    /// copies its own, as `MPI_Gatherv` does, whose counts and offsets are
    /// `int`s.
    pub(super) fn gather_blocks(
        &self,
        root: usize,
        bytes: &[u8],
        into: Option<(&mut [u8], &[std::ops::Range<usize>])>,
    ) -> Result<(), Error> {
        match &self.link {
            Link::Single => {
                let (buffer, blocks) = into.ok_or_else(|| no_rank(root))?;
                buffer[blocks[0].clone()].copy_from_slice(bytes);
                Ok(())
            }
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                let session = session(universe)?;
                self.gather_pieces(&session.world, root, bytes, into)
            }
        }
    }

    #[cfg(feature = "mpi")]
    fn gather_pieces(
        &self,
        world: &mpi::topology::SimpleCommunicator,
        root: usize,
        bytes: &[u8],
        into: Option<(&mut [u8], &[std::ops::Range<usize>])>,
    ) -> Result<(), Error> {
        use mpi::point_to_point::{Destination, Source};
        use mpi::topology::Communicator;
        let Some((buffer, blocks)) = into.filter(|_| self.rank == root) else {
            self.count(bytes.len());
            let process = world.process_at_rank(root as i32);
            for piece in pieces(bytes.len(), self.limit) {
                process.send_with_tag(&bytes[piece], OWN_TAG);
            }
            return Ok(());
        };
        let mut parts = disjoint_blocks(buffer, blocks);
        let own = std::mem::take(&mut parts[root]);
        let mut outcome = Ok(());
        mpi::request::scope(|scope| {
            let mut requests = Vec::new();
            for (rank, part) in parts.iter_mut().enumerate() {
                if rank == root {
                    continue;
                }
                let process = world.process_at_rank(rank as i32);
                for piece in part.chunks_mut(self.limit.bytes()) {
                    let expected = piece.len();
                    let request = process.immediate_receive_into_with_tag(scope, piece, OWN_TAG);
                    requests.push((request, expected));
                }
            }
            // The root's own bytes, while the others' arrive.
            own.copy_from_slice(bytes);
            for (request, expected) in requests {
                let status = request.wait();
                if outcome.is_ok() {
                    outcome = arrived_whole(status, expected);
                }
            }
        });
        outcome
    }

    /// Every rank's block of `buffer` on every rank, in place: `blocks[r]` is
    /// rank `r`'s byte range (in rank order, not overlapping), and this rank's
    /// block holds its bytes. Each rank sends its block straight from `buffer` to
    /// every other rank, which receives it straight into the same range — no
    /// copy beyond MPI's own, all transfers at once. Blocks longer than the
    /// [`MessageLimit`] travel in several pieces.
    pub(super) fn all_gather_in_place(
        &self,
        buffer: &mut [u8],
        blocks: &[std::ops::Range<usize>],
    ) -> Result<(), Error> {
        match &self.link {
            Link::Single => Ok(()),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                let session = session(universe)?;
                self.exchange_blocks(&session.world, buffer, blocks)
            }
        }
    }

    #[cfg(feature = "mpi")]
    fn exchange_blocks(
        &self,
        world: &mpi::topology::SimpleCommunicator,
        buffer: &mut [u8],
        blocks: &[std::ops::Range<usize>],
    ) -> Result<(), Error> {
        use mpi::point_to_point::{Destination, Source};
        use mpi::topology::Communicator;
        let limit = self.limit.bytes();
        let mut parts = disjoint_blocks(buffer, blocks);
        let own: &mut [u8] = std::mem::take(&mut parts[self.rank]);
        let own: &[u8] = own;
        self.count(own.len() * (blocks.len() - 1));
        let mut outcome = Ok(());
        mpi::request::scope(|scope| {
            let mut receives = Vec::new();
            let mut sends = Vec::new();
            for (rank, part) in parts.iter_mut().enumerate() {
                if rank == self.rank {
                    continue;
                }
                let process = world.process_at_rank(rank as i32);
                for piece in part.chunks_mut(limit) {
                    let expected = piece.len();
                    let request = process.immediate_receive_into_with_tag(scope, piece, OWN_TAG);
                    receives.push((request, expected));
                }
                for piece in own.chunks(limit) {
                    sends.push(process.immediate_send_with_tag(scope, piece, OWN_TAG));
                }
            }
            for (request, expected) in receives {
                let status = request.wait();
                if outcome.is_ok() {
                    outcome = arrived_whole(status, expected);
                }
            }
            for request in sends {
                request.wait();
            }
        });
        outcome
    }

    /// Every rank's `bytes`, in rank order, on `root`; `None` on the others.
    /// The lengths travel first (8 bytes each), then the bytes as
    /// [`Transport::gather_blocks`] moves them.
    pub(super) fn gather(&self, root: usize, bytes: &[u8]) -> Result<Option<Vec<Vec<u8>>>, Error> {
        match &self.link {
            Link::Single => Ok(Some(vec![bytes.to_vec()])),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::collective::Root;
                use mpi::topology::Communicator;
                let session = session(universe)?;
                let world = &session.world;
                let root_process = world.process_at_rank(root as i32);
                let len = bytes.len() as u64;
                if self.rank != root {
                    self.count(8);
                    root_process.gather_into(&len);
                    self.gather_pieces(world, root, bytes, None)?;
                    return Ok(None);
                }
                let mut lens = vec![0u64; world.size() as usize];
                root_process.gather_into_root(&len, &mut lens[..]);
                let blocks = blocks_of(&lens)?;
                let mut all = vec![0u8; blocks.last().map_or(0, |b| b.end)];
                self.gather_pieces(world, root, bytes, Some((&mut all, &blocks)))?;
                Ok(Some(
                    blocks.iter().map(|b| all[b.clone()].to_vec()).collect(),
                ))
            }
        }
    }

    /// Every rank's `bytes`, in rank order, on every rank: the lengths first
    /// (8 bytes each), then the bytes as [`Transport::all_gather_in_place`]
    /// moves them.
    pub(super) fn all_gather(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        match &self.link {
            Link::Single => Ok(vec![bytes.to_vec()]),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::collective::CommunicatorCollectives;
                use mpi::topology::Communicator;
                let session = session(universe)?;
                let world = &session.world;
                self.count(8 * (world.size() as usize - 1));
                let mut lens = vec![0u64; world.size() as usize];
                world.all_gather_into(&(bytes.len() as u64), &mut lens[..]);
                let blocks = blocks_of(&lens)?;
                let mut all = vec![0u8; blocks.last().map_or(0, |b| b.end)];
                all[blocks[self.rank].clone()].copy_from_slice(bytes);
                self.exchange_blocks(world, &mut all, &blocks)?;
                Ok(blocks.iter().map(|b| all[b.clone()].to_vec()).collect())
            }
        }
    }
}

/// The tag of the runtime's own point-to-point messages (the `mpi` target's
/// exchanges, the pieces of scatters and gathers): above the `0..=32767` that
/// host code's messages may use, so the two never match each other.
#[cfg(feature = "mpi")]
const OWN_TAG: i32 = 32768;

/// The error for a rank the world does not have (the callers check ranks
/// first; this is the last line of defence).
fn no_rank(rank: usize) -> Error {
    Error::Call(format!(
        "rank {rank} does not exist in this one-process world"
    ))
}

fn wrong_length(arrived: usize, announced: usize) -> Error {
    Error::Call(format!(
        "a message of {arrived} bytes arrived where {announced} were announced"
    ))
}

/// The lock of the transport; a poisoned lock (a panic mid-call elsewhere) still
/// hands out the state, which MPI itself keeps consistent.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The pieces of a point-to-point message: as [`pieces`], but one empty
/// message for no bytes (a receiver of a message of unknown length waits for
/// one).
#[cfg(feature = "mpi")]
fn message_pieces(len: usize, limit: MessageLimit) -> impl Iterator<Item = std::ops::Range<usize>> {
    let empty = (len == 0).then_some(0..0);
    empty.into_iter().chain(pieces(len, limit))
}

/// A piece of `expected` bytes arrived whole, or the error saying how long it
/// was (a sender whose [`MessageLimit`] is not this rank's cuts elsewhere).
#[cfg(feature = "mpi")]
fn arrived_whole(status: mpi::point_to_point::Status, expected: usize) -> Result<(), Error> {
    use mpi::datatype::Equivalence;
    let arrived = status.count(u8::equivalent_datatype()) as usize;
    if arrived == expected {
        Ok(())
    } else {
        Err(wrong_length(arrived, expected))
    }
}

#[cfg(feature = "mpi")]
fn to_usize(len: u64) -> Result<usize, Error> {
    usize::try_from(len).map_err(|_| {
        Error::Call(format!(
            "an MPI message of {len} bytes does not fit in memory"
        ))
    })
}

/// Where each rank's bytes go in the concatenation of all of them, from
/// their lengths: rank `r`'s byte range, in rank order.
#[cfg(feature = "mpi")]
fn blocks_of(lens: &[u64]) -> Result<Vec<std::ops::Range<usize>>, Error> {
    let mut at = 0usize;
    lens.iter()
        .map(|&len| {
            let start = at;
            at = at.checked_add(to_usize(len)?).ok_or_else(|| {
                Error::Call("the gathered messages are larger than memory".into())
            })?;
            Ok(start..at)
        })
        .collect()
}

/// `buffer` cut into one slice per block (in rank order, not overlapping).
#[cfg(feature = "mpi")]
fn disjoint_blocks<'a>(
    buffer: &'a mut [u8],
    blocks: &[std::ops::Range<usize>],
) -> Vec<&'a mut [u8]> {
    let mut parts: Vec<&mut [u8]> = Vec::with_capacity(blocks.len());
    let (mut rest, mut at) = (buffer, 0);
    for block in blocks {
        let (_, tail) = std::mem::take(&mut rest).split_at_mut(block.start - at);
        let (part, tail) = tail.split_at_mut(block.len());
        parts.push(part);
        (rest, at) = (tail, block.end);
    }
    parts
}

/// `bytes`, or, when it is empty, an empty slice at a real address: an empty
/// slice of bytes points at address 1, which Open MPI reads as `MPI_IN_PLACE`.
#[cfg(feature = "mpi")]
fn at_real_address(bytes: &[u8]) -> &[u8] {
    if bytes.is_empty() {
        &[0u8; 1][..0]
    } else {
        bytes
    }
}

/// [`at_real_address`] of a buffer to write, with `spare` as the address.
#[cfg(feature = "mpi")]
fn at_real_address_mut<'a>(bytes: &'a mut [u8], spare: &'a mut [u8; 1]) -> &'a mut [u8] {
    if bytes.is_empty() {
        &mut spare[..0]
    } else {
        bytes
    }
}
