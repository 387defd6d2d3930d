//! Host code's collectives on real ranks (`World::scatter`, `gather`,
//! `all_gather`, `broadcast`, `send` and `recv`, what `mpi::scatter` & co.
//! run): for every dtype, for C-ordered, transposed and strided arrays, for
//! empty arrays and for splits that give some ranks a row more than others or
//! none, what arrives is the root's array, element for element; and a rank
//! sends the elements' bytes plus a header of a fixed size, whatever the
//! array's length.
//!
//! The same holds for messages longer than MPI's `int` counts allow, which
//! travel in pieces: [`collectives_move_arrays_in_pieces`] lowers the limit
//! of one message to 4 KiB, so arrays of a few kilobytes take that path.
//!
//! Each test runs a child test under `mpirun -n 2` and `-n 4` (how, in
//! `common/mod.rs`).
#![cfg(feature = "mpi")]

mod common;

use common::{child_world, run_ranks_with};
use kern_runtime::exec::mpi::{row_ranges, ReduceOp, World, LIMIT_VARIABLE};
use kern_runtime::NdArray;
use ndarray::{s, Array2, ArrayD, Axis, IxDyn, Slice};

/// The child test `child` on `ranks` ranks, with the variables `env`: every
/// rank says `says`.
fn collectives_on(ranks: usize, child: &str, env: &[(&str, &str)], says: &str) {
    if let Some(text) = run_ranks_with(ranks, child, env) {
        for r in 0..ranks {
            assert!(
                text.contains(&format!("rank {r} of {ranks}: {says}")),
                "{text}"
            );
        }
    }
}

#[test]
fn collectives_on_two_ranks() {
    collectives_on(
        2,
        "collectives_move_arrays",
        &[],
        "collectives move arrays whole",
    );
}

#[test]
fn collectives_on_four_ranks() {
    collectives_on(
        4,
        "collectives_move_arrays",
        &[],
        "collectives move arrays whole",
    );
}

const PIECES: (&str, &str) = (LIMIT_VARIABLE, "4096");

#[test]
fn collectives_in_pieces_on_two_ranks() {
    let says = "collectives move arrays whole in pieces of 4096 bytes";
    collectives_on(2, "collectives_move_arrays_in_pieces", &[PIECES], says);
}

#[test]
fn collectives_in_pieces_on_four_ranks() {
    let says = "collectives move arrays whole in pieces of 4096 bytes";
    collectives_on(4, "collectives_move_arrays_in_pieces", &[PIECES], says);
}

/// The same `rows` x 3 values (element `k` in C order is `value(k)`) in three
/// layouts: C order, transposed (Fortran order) and every other column of a
/// wider array.
fn layouts<T: Copy + PartialEq + std::fmt::Debug>(
    rows: usize,
    value: impl Fn(usize) -> T,
) -> [ArrayD<T>; 3] {
    let c = Array2::from_shape_fn((rows, 3), |(i, j)| value(i * 3 + j)).into_dyn();
    let transposed = Array2::from_shape_fn((3, rows), |(j, i)| value(i * 3 + j))
        .reversed_axes()
        .into_dyn();
    let mut strided = Array2::from_shape_fn((rows, 6), |(i, j)| value(i * 3 + j / 2)).into_dyn();
    strided.slice_collapse(s![.., ..;2]);
    for other in [&transposed, &strided] {
        assert_eq!(other, &c);
        assert!(rows < 2 || !other.is_standard_layout());
    }
    [c, transposed, strided]
}

/// `rows` x 3 arrays of every dtype, in every layout of [`layouts`].
fn every_dtype(rows: usize) -> Vec<NdArray> {
    let mut all = Vec::new();
    macro_rules! of {
        ($($value:expr),* $(,)?) => {
            $(all.extend(layouts(rows, $value).into_iter().map(NdArray::from));)*
        };
    }
    of!(
        |k| k % 3 == 1,
        |k| (k as i8).wrapping_mul(37),
        |k| (k as i16).wrapping_mul(-1001),
        |k| (k as i32).wrapping_mul(-100_003),
        |k| i64::MIN + k as i64 * 7,
        |k| (k as u8).wrapping_mul(251),
        |k| u16::MAX - k as u16,
        |k| (k as u32).wrapping_mul(4_000_037),
        |k| u64::MAX - k as u64 * 3,
        |k| k as f32 / 3.0 - 1.5,
        |k| (k as f64).sqrt() - 0.1,
    );
    all
}

/// An empty array of `a`'s dtype: what a rank other than the root passes.
fn empty_like(a: &NdArray) -> NdArray {
    NdArray::zeros(a.dtype(), &[0, 3]).unwrap()
}

/// Rows `range` of `a`.
fn rows_of(a: &NdArray, range: std::ops::Range<usize>) -> NdArray {
    kern_runtime::with_array!(NdArray, a, |x: T| NdArray::from(
        x.slice_axis(Axis(0), Slice::from(range)).to_owned()
    ))
}

/// Scatter from `root`, then gather, all-gather and broadcast back: each gives
/// the root's array (or its rows) on the ranks that get something.
fn round_trip(world: &World, a: &NdArray, root: usize) {
    let (rank, size) = (world.rank(), world.size());
    let empty = empty_like(a);
    let mine = if rank == root { a } else { &empty };
    let part = world.scatter(mine, root as i64).unwrap();
    let rows: Vec<_> = row_ranges(a.shape()[0], size).collect();
    assert_eq!(part, rows_of(a, rows[rank].clone()), "scatter of {a:?}");
    match world.gather(&part, root as i64).unwrap() {
        Some(all) => {
            assert_eq!(rank, root);
            assert_eq!(&all, a, "gather");
        }
        None => assert_ne!(rank, root),
    }
    assert_eq!(&world.all_gather(&part).unwrap(), a, "all_gather");
    assert_eq!(&world.broadcast(mine, root as i64).unwrap(), a, "broadcast");
}

/// Every rank sends `a` to the next one and receives it from the previous one
/// (even ranks send first, so no two ranks wait for each other).
fn ring(world: &World, a: &NdArray) {
    let (rank, size) = (world.rank(), world.size());
    let (next, previous) = ((rank + 1) % size, (rank + size - 1) % size);
    let send = || world.send(a, next as i64, 9).unwrap();
    let receive = || assert_eq!(&world.recv(previous as i64, 9).unwrap(), a, "recv");
    if rank % 2 == 0 {
        send();
        receive();
    } else {
        receive();
        send();
    }
}

/// The bytes this rank sends while running `f`.
fn bytes_sent_by(world: &World, f: impl FnOnce()) -> u64 {
    world.barrier().unwrap();
    let before = world.bytes_sent();
    f();
    world.bytes_sent() - before
}

/// Under `mpirun`: the collectives on every dtype, layout and split, and the
/// bytes they cost.
#[test]
fn collectives_move_arrays() {
    let Some(world) = child_world() else {
        return;
    };
    let (rank, size) = (world.rank(), world.size());
    // The last rank is the root: not rank 0, where a mistake could hide.
    let root = size - 1;
    // 5 rows: uneven on 2 and 4 ranks; 2 rows: some of 4 ranks get none; 0
    // rows: nothing anywhere.
    for rows in [5, 2, 0] {
        for a in every_dtype(rows) {
            round_trip(world, &a, root);
            ring(world, &a);
        }
    }
    // 0-d arrays: broadcast whole, gathered as one row each, never scattered.
    let scalar = NdArray::from(ndarray::arr0(2.5f32).into_dyn());
    assert_eq!(world.broadcast(&scalar, 0).unwrap(), scalar);
    let rows = world.all_gather(&scalar).unwrap();
    assert_eq!(
        rows,
        NdArray::from(ArrayD::from_elem(IxDyn(&[size]), 2.5f32))
    );
    let err = world.scatter(&scalar, 0).unwrap_err().to_string();
    assert!(err.contains("not a 0-d one"), "{err}");

    // Rows that do not fit rank 0's: the root says whose, the others carry on.
    let width = if rank == 1 { 4 } else { 3 };
    let odd = NdArray::zeros(kern_runtime::DType::I32, &[2, width]).unwrap();
    match world.gather(&odd, 0) {
        Ok(None) => assert_ne!(rank, 0),
        Err(e) => {
            assert_eq!(rank, 0);
            assert!(e.to_string().contains("from rank 1"), "{e}");
        }
        Ok(Some(_)) => panic!("rows of different widths were gathered"),
    }

    elements_and_a_header_travel(world, root);
    println!("rank {rank} of {size}: collectives move arrays whole");
    world.barrier().unwrap();
    kern_runtime::exec::mpi::finalize();
}

/// The bytes each collective sends: the elements, plus a header of 2 bytes and
/// 8 per axis (and the 8 bytes of its length), whatever the number of
/// elements and however many pieces they travel in.
fn elements_and_a_header_travel(world: &World, root: usize) {
    let (rank, size) = (world.rank(), world.size());
    let header = 2 + 8 * 2;
    for n in [5, 100_000] {
        let a = NdArray::from(Array2::from_shape_fn((n, 3), |(i, j)| (i + j) as f64).into_dyn());
        let payload = (8 * 3 * n) as u64;
        let gathered = bytes_sent_by(world, || {
            world.gather(&a, root as i64).unwrap();
        });
        let expected = if rank == root {
            0
        } else {
            8 + header + payload
        };
        assert_eq!(gathered, expected, "gather of {n} rows");
        let broadcast = bytes_sent_by(world, || {
            world.broadcast(&a, root as i64).unwrap();
        });
        let others = (size - 1) as u64;
        let expected = if rank == root {
            (8 + header + payload) * others
        } else {
            0
        };
        assert_eq!(broadcast, expected, "broadcast of {n} rows");
        let scattered = bytes_sent_by(world, || {
            world.scatter(&a, root as i64).unwrap();
        });
        let mine = row_ranges(n, size).nth(root).unwrap().len() as u64;
        let expected = if rank == root {
            (8 + header) * others + payload - 8 * 3 * mine
        } else {
            0
        };
        assert_eq!(scattered, expected, "scatter of {n} rows");
        let all = bytes_sent_by(world, || {
            world.all_gather(&a).unwrap();
        });
        assert_eq!(
            all,
            (8 + header + payload) * others,
            "all_gather of {n} rows"
        );
    }
}

/// Under `mpirun` with messages of at most 4 KiB: arrays of up to 72 KB, and
/// blocks of up to 18 KB per rank, arrive whole through every collective and
/// point to point, as do reductions, whose messages carry the whole array.
#[test]
fn collectives_move_arrays_in_pieces() {
    let Some(world) = child_world() else {
        return;
    };
    let (rank, size) = (world.rank(), world.size());
    assert_eq!(world.message_limit(), 4096, "the limit was not lowered");
    let root = size - 1;
    // 3001 rows: uneven on 2 and 4 ranks, every f64 block several pieces
    // long, not a multiple of the piece; 1366 rows of 3 bytes: one piece
    // and a few bytes.
    for rows in [3001, 1366] {
        for a in every_dtype(rows) {
            round_trip(world, &a, root);
            ring(world, &a);
        }
    }
    let mine = Array2::from_shape_fn((700, 3), |(i, j)| (i * 3 + j) as f64 + rank as f64 * 0.5);
    let mine = NdArray::from(mine.into_dyn());
    let sum = Array2::from_shape_fn((700, 3), |(i, j)| {
        (0..size).fold(0.0, |s, r| s + ((i * 3 + j) as f64 + r as f64 * 0.5))
    });
    let sum = NdArray::from(sum.into_dyn());
    assert_eq!(world.all_reduce(&mine, ReduceOp::Sum).unwrap(), sum);
    match world.reduce(&mine, ReduceOp::Sum, root as i64).unwrap() {
        Some(on_root) => assert_eq!((rank, on_root), (root, sum)),
        None => assert_ne!(rank, root),
    }
    elements_and_a_header_travel(world, root);
    println!("rank {rank} of {size}: collectives move arrays whole in pieces of 4096 bytes");
    world.barrier().unwrap();
    kern_runtime::exec::mpi::finalize();
}
