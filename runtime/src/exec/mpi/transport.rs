//! Moving bytes between the ranks of the world: point-to-point messages and the
//! collectives kern needs (broadcast, gather, all-gather, scatter, barrier), each
//! over variable-length byte buffers.
//!
//! With the `mpi` feature the bytes travel through MPI (rsmpi): the universe is
//! initialised on first use and every call takes one lock, so calls from several
//! threads are serialised (MPI is initialised for `MPI_THREAD_SERIALIZED`).
//! Without it the world is this process alone — a singleton, as an MPI program
//! started without `mpirun` is. Either way a message a rank sends to itself
//! waits in that rank's mailbox, whatever its size, until the rank receives it.
//! It counts the bytes this rank hands to MPI for other ranks ([`Transport::bytes_sent`]),
//! so tests can tell how much a computation communicates.
//! This module knows bytes and ranks, not dtypes or arrays.

#![cfg_attr(not(feature = "mpi"), allow(unused_variables))]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

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
                let world = &session.world;
                world.process_at_rank(dest as i32).send_with_tag(bytes, tag);
                self.count(bytes.len());
                Ok(())
            }
        }
    }

    /// The next message from rank `source` with `tag`, of whatever length. From
    /// this rank itself it is the oldest such message in the mailbox; with none
    /// there, no send could ever match the receive, so it is an error, not a
    /// wait.
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

    /// `root`'s `bytes` on every rank (the others' `bytes` are ignored).
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
                    self.count((8 + bytes.len()) * (world.size() as usize - 1));
                }
                let root = world.process_at_rank(root as i32);
                let mut len = bytes.len() as u64;
                root.broadcast_into(&mut len);
                let mut bytes = bytes;
                bytes.resize(to_usize(len)?, 0);
                root.broadcast_into(&mut bytes[..]);
                Ok(bytes)
            }
        }
    }

    /// Every rank's block of `buffer` on every rank, in place: `blocks[r]` is
    /// rank `r`'s byte range (in rank order, not overlapping), and this rank's
    /// block holds its bytes. Each rank sends its block straight from `buffer` to
    /// every other rank, which receives it straight into the same range — no
    /// copy beyond MPI's own, all transfers at once. Blocks of 1 GiB or more
    /// travel in several pieces.
    pub(super) fn all_gather_in_place(
        &self,
        buffer: &mut [u8],
        blocks: &[std::ops::Range<usize>],
    ) -> Result<(), Error> {
        match &self.link {
            Link::Single => Ok(()),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::point_to_point::{Destination, Source};
                use mpi::topology::Communicator;
                /// The most bytes one message moves.
                const PIECE: usize = 1 << 30;
                let session = session(universe)?;
                let world = &session.world;
                // One disjoint slice per rank.
                let mut parts: Vec<&mut [u8]> = Vec::with_capacity(blocks.len());
                let (mut rest, mut at) = (buffer, 0);
                for block in blocks {
                    let (_, tail) = std::mem::take(&mut rest).split_at_mut(block.start - at);
                    let (part, tail) = tail.split_at_mut(block.len());
                    parts.push(part);
                    (rest, at) = (tail, block.end);
                }
                let own: &mut [u8] = std::mem::take(&mut parts[self.rank]);
                let own: &[u8] = own;
                self.count(own.len() * (blocks.len() - 1));
                mpi::request::scope(|scope| {
                    let mut requests = Vec::new();
                    for (rank, part) in parts.iter_mut().enumerate() {
                        if rank == self.rank {
                            continue;
                        }
                        let process = world.process_at_rank(rank as i32);
                        for piece in part.chunks_mut(PIECE) {
                            requests.push(
                                process.immediate_receive_into_with_tag(scope, piece, TARGET_TAG),
                            );
                        }
                        for piece in own.chunks(PIECE) {
                            requests
                                .push(process.immediate_send_with_tag(scope, piece, TARGET_TAG));
                        }
                    }
                    for request in requests {
                        request.wait();
                    }
                });
                Ok(())
            }
        }
    }

    /// Every rank's `bytes`, in rank order, on `root`; `None` on the others.
    pub(super) fn gather(&self, root: usize, bytes: &[u8]) -> Result<Option<Vec<Vec<u8>>>, Error> {
        match &self.link {
            Link::Single => Ok(Some(vec![bytes.to_vec()])),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::collective::Root;
                use mpi::datatype::PartitionMut;
                use mpi::topology::Communicator;
                let session = session(universe)?;
                let world = &session.world;
                let root_process = world.process_at_rank(root as i32);
                let count = mpi_count(bytes.len())?;
                if world.rank() as usize != root {
                    self.count(4 + bytes.len());
                    root_process.gather_into(&count);
                    root_process.gather_varcount_into(bytes);
                    return Ok(None);
                }
                let mut counts = vec![0i32; world.size() as usize];
                root_process.gather_into_root(&count, &mut counts[..]);
                let (displs, total) = displacements(&counts)?;
                let mut all = vec![0u8; total];
                let mut partition = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
                root_process.gather_varcount_into_root(bytes, &mut partition);
                Ok(Some(split_pieces(&all, &counts)))
            }
        }
    }

    /// Every rank's `bytes`, in rank order, on every rank.
    pub(super) fn all_gather(&self, bytes: &[u8]) -> Result<Vec<Vec<u8>>, Error> {
        match &self.link {
            Link::Single => Ok(vec![bytes.to_vec()]),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::collective::CommunicatorCollectives;
                use mpi::datatype::PartitionMut;
                use mpi::topology::Communicator;
                let session = session(universe)?;
                let world = &session.world;
                let count = mpi_count(bytes.len())?;
                self.count((4 + bytes.len()) * (world.size() as usize - 1));
                let mut counts = vec![0i32; world.size() as usize];
                world.all_gather_into(&count, &mut counts[..]);
                let (displs, total) = displacements(&counts)?;
                let mut all = vec![0u8; total];
                let mut partition = PartitionMut::new(&mut all[..], &counts[..], &displs[..]);
                world.all_gather_varcount_into(bytes, &mut partition);
                Ok(split_pieces(&all, &counts))
            }
        }
    }

    /// Piece `r` of `root`'s `pieces` (one per rank, in rank order) on rank `r`;
    /// the other ranks pass `None`.
    pub(super) fn scatter(
        &self,
        root: usize,
        pieces: Option<Vec<Vec<u8>>>,
    ) -> Result<Vec<u8>, Error> {
        match &self.link {
            Link::Single => Ok(pieces
                .and_then(|p| p.into_iter().next())
                .unwrap_or_default()),
            #[cfg(feature = "mpi")]
            Link::Mpi(universe) => {
                use mpi::collective::Root;
                use mpi::datatype::Partition;
                use mpi::topology::Communicator;
                let session = session(universe)?;
                let world = &session.world;
                let root_process = world.process_at_rank(root as i32);
                let mut count = 0i32;
                match pieces {
                    Some(pieces) if world.rank() as usize == root => {
                        let counts = pieces.iter().map(|p| mpi_count(p.len())).collect::<Result<
                            Vec<i32>,
                            Error,
                        >>(
                        )?;
                        let (displs, _) = displacements(&counts)?;
                        let all: Vec<u8> = pieces.concat();
                        self.count(
                            pieces
                                .iter()
                                .enumerate()
                                .filter(|(r, _)| *r != root)
                                .map(|(_, p)| 4 + p.len())
                                .sum(),
                        );
                        root_process.scatter_into_root(&counts[..], &mut count);
                        let mut mine = vec![0u8; to_usize(count as u64)?];
                        let partition = Partition::new(&all[..], &counts[..], &displs[..]);
                        root_process.scatter_varcount_into_root(&partition, &mut mine[..]);
                        Ok(mine)
                    }
                    _ => {
                        root_process.scatter_into(&mut count);
                        let mut mine = vec![0u8; to_usize(count as u64)?];
                        root_process.scatter_varcount_into(&mut mine[..]);
                        Ok(mine)
                    }
                }
            }
        }
    }
}

/// The tag of the `mpi` target's own messages: above the `0..=32767` that host
/// code's messages may use, so the two never match each other.
#[cfg(feature = "mpi")]
const TARGET_TAG: i32 = 32768;

/// The error for a rank the world does not have (the callers check ranks
/// first; this is the last line of defence).
fn no_rank(rank: usize) -> Error {
    Error::Call(format!(
        "rank {rank} does not exist in this one-process world"
    ))
}

/// The lock of the transport; a poisoned lock (a panic mid-call elsewhere) still
/// hands out the state, which MPI itself keeps consistent.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A byte count as MPI's `int`, or an error for messages of 2 GiB or more.
#[cfg(feature = "mpi")]
fn mpi_count(len: usize) -> Result<i32, Error> {
    i32::try_from(len).map_err(|_| {
        Error::Call(format!(
            "an MPI message of {len} bytes is too long: kern sends at most {} bytes at once",
            i32::MAX
        ))
    })
}

#[cfg(feature = "mpi")]
fn to_usize(len: u64) -> Result<usize, Error> {
    usize::try_from(len).map_err(|_| {
        Error::Call(format!(
            "an MPI message of {len} bytes does not fit in memory"
        ))
    })
}

/// Where each rank's piece starts in the concatenation, and its total length.
#[cfg(feature = "mpi")]
fn displacements(counts: &[i32]) -> Result<(Vec<i32>, usize), Error> {
    let mut displs = Vec::with_capacity(counts.len());
    let mut at = 0usize;
    for &c in counts {
        displs.push(mpi_count(at)?);
        at += c as usize;
    }
    Ok((displs, at))
}

#[cfg(feature = "mpi")]
fn split_pieces(all: &[u8], counts: &[i32]) -> Vec<Vec<u8>> {
    let mut at = 0;
    counts
        .iter()
        .map(|&c| {
            let piece = all[at..at + c as usize].to_vec();
            at += c as usize;
            piece
        })
        .collect()
}
