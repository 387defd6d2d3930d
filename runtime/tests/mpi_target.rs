//! The `mpi` target from the Rust API, on real ranks: ufunc and gufunc calls
//! split their first axis across the ranks and every rank ends with exactly the
//! bits the `cpu` target gives, whatever the shapes, strides and rank count; a
//! trap on one rank's share is the same error, with the kernel's location, on
//! every rank.
//!
//! Each test runs one child test of this binary under `mpirun -n 2` and `-n 4`
//! ([`ranks_agree_with_cpu`], [`host_arrays_stay_distributed`]; how, in
//! `common/mod.rs`).
#![cfg(feature = "mpi")]

mod common;

use common::{child_world, peak_of, run_ranks, run_ranks_with, SHARED_DIR};
use kern_runtime::exec::mpi::LIMIT_VARIABLE;
use kern_runtime::{Module, NdArray, Target};
use ndarray::{s, Array1, Array2, Array3, Array4, Axis};

const SOURCE: &str = r#"
#[vectorize]
fn saxpy(a: f32, x: f32, y: f32) -> f32 { a * x + y }

#[vectorize]
fn wave(x: f64) -> f64 { (-x * x).exp() * x.sin() + x.abs().ln_1p() }

#[vectorize]
fn inverse(x: i64) -> i64 { 100 / x }

#[vectorize]
fn add(a: f64, b: f64) -> f64 { a + b }

#[guvectorize]
fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[k][j]; }
            out[i][j] = s;
        }
    }
}
"#;

/// Runs `ranks_agree_with_cpu` on `ranks` ranks whose MPI messages carry at
/// most `limit` bytes (the default 1 GiB without one).
fn ranks_agree_with_cpu_on(ranks: usize, limit: Option<&str>) {
    let env: Vec<_> = limit.map(|l| (LIMIT_VARIABLE, l)).into_iter().collect();
    if let Some(text) = run_ranks_with(ranks, "ranks_agree_with_cpu", &env) {
        let limit = limit.unwrap_or("1073741824");
        for r in 0..ranks {
            let line = format!("rank {r} of {ranks} agrees (messages of at most {limit} bytes)");
            assert!(text.contains(&line), "{text}");
        }
    }
}

#[test]
fn two_ranks_agree_with_cpu() {
    ranks_agree_with_cpu_on(2, None);
}

#[test]
fn four_ranks_agree_with_cpu() {
    ranks_agree_with_cpu_on(4, None);
}

/// Results longer than a message: each rank's block travels in pieces.
#[test]
fn four_ranks_agree_with_cpu_in_pieces_of_4_kib() {
    ranks_agree_with_cpu_on(4, Some("4096"));
}

/// The body every rank runs (only under `mpirun`, see the module docs).
#[test]
fn ranks_agree_with_cpu() {
    let Some(world) = child_world() else {
        return;
    };
    let m = Module::from_source("mpi.kern", SOURCE).expect("compiles");

    // Ufuncs: a transposed, reversed operand with a broadcast column; more rows
    // than ranks, fewer rows than ranks, one row, no rows, and a 0-d call.
    let saxpy = m.ufunc("saxpy").unwrap();
    let on_mpi = saxpy.clone().with_target(Target::Mpi);
    for rows in [301usize, 3, 1, 0] {
        let x = Array2::from_shape_fn((70, rows), |(i, j)| (i as f32 - 35.0) * 0.01 + j as f32);
        let xt = x.t();
        let xs = xt.slice(s![..;-1, ..]);
        let y = Array1::from_shape_fn(rows, |j| j as f32 * 0.5).insert_axis(Axis(1));
        let args = [3.0f32.into(), (&xs).into(), (&y).into()];
        assert_eq!(
            saxpy.call(&args).unwrap(),
            on_mpi.call(&args).unwrap(),
            "{rows} rows"
        );
    }
    let zero_d = ndarray::arr0(4.0f32);
    let args = [2.0f32.into(), 1.5f32.into(), (&zero_d).into()];
    assert_eq!(saxpy.call(&args).unwrap(), on_mpi.call(&args).unwrap());

    let w = Array1::from_shape_fn(100_003, |i| (i as f64 - 5e4) * 1e-3);
    let wave = m.ufunc("wave").unwrap();
    let cpu = wave.call(&[(&w).into()]).unwrap();
    assert_eq!(
        cpu,
        wave.clone()
            .with_target(Target::Mpi)
            .call(&[(&w).into()])
            .unwrap()
    );

    // `out` given as a strided view: every rank's rows land in it.
    let mut out = Array2::<f64>::zeros((100_003, 2));
    {
        let mut column = out.column_mut(1);
        wave.clone()
            .with_target(Target::Mpi)
            .call_out(&[(&w).into()], &mut column)
            .unwrap();
    }
    assert_eq!(NdArray::from(out.column(1).to_owned().into_dyn()), cpu);
    assert!(out.column(0).iter().all(|v| *v == 0.0));

    // Gufuncs: a batch of matrix products split over the loop axis.
    let a = Array3::from_shape_fn((37, 4, 3), |(b, i, j)| (b + 2 * i + 3 * j) as f64 * 0.25);
    let b = Array2::from_shape_fn((3, 5), |(i, j)| i as f64 - j as f64 * 0.5);
    let matmul = m.gufunc("matmul").unwrap();
    let cpu = matmul.call(&[(&a).into(), (&b).into()]).unwrap();
    let mpi = matmul
        .clone()
        .with_target(Target::Mpi)
        .call(&[(&a).into(), (&b).into()])
        .unwrap();
    assert_eq!(cpu, mpi);

    // Two long rows: split along the longest axis, so every rank has a share
    // (and sends it) on any number of ranks; the output is not one block per
    // rank and is exchanged through the staging path.
    let rows = Array2::from_shape_fn((2, 20_001), |(i, j)| (j as f64 - 1e4) * 1e-3 + i as f64);
    let before = world.bytes_sent();
    let mpi = wave
        .clone()
        .with_target(Target::Mpi)
        .call(&[(&rows).into()])
        .unwrap();
    // Each rank sends its share of the result (about 1/size of it) to the others.
    let share = rows.len() * 8 / (2 * world.size());
    let sent = (world.bytes_sent() - before) as usize;
    assert!(sent >= share, "rank {} sent {sent} bytes", world.rank());
    assert_eq!(wave.call(&[(&rows).into()]).unwrap(), mpi);
    let few = Array4::from_shape_fn((3, 41, 4, 3), |(p, q, i, j)| {
        (p * 7 + q + 2 * i + 3 * j) as f64 * 0.125
    });
    assert_eq!(
        matmul.call(&[(&few).into(), (&b).into()]).unwrap(),
        matmul
            .clone()
            .with_target(Target::Mpi)
            .call(&[(&few).into(), (&b).into()])
            .unwrap()
    );

    // A zero in the last rank's rows: every rank gets that trap, located.
    let mut x = Array1::from_vec((1..=40i64).collect());
    x[39] = 0;
    let inverse = m.ufunc("inverse").unwrap().with_target(Target::Mpi);
    let err = inverse.call(&[(&x).into()]).unwrap_err().to_string();
    assert!(err.contains("attempt to divide by zero"), "{err}");
    assert!(err.contains("mpi.kern:9:"), "{err}");
    // The same in the last block of a split along the second axis.
    let mut x = Array2::from_shape_fn((2, 40), |(i, j)| (i * 40 + j + 1) as i64);
    x[[0, 39]] = 0;
    let err = inverse.call(&[(&x).into()]).unwrap_err().to_string();
    assert!(err.contains("attempt to divide by zero"), "{err}");
    assert!(err.contains("mpi.kern:9:"), "{err}");

    // Reductions and scans run whole on every rank's own pool.
    let add = m.ufunc("add").unwrap();
    let add_mpi = add.clone().with_target(Target::Mpi);
    let grid = Array2::from_shape_fn((500, 33), |(i, j)| (i * 33 + j) as f64 * 1e-3);
    let whole = kern_runtime::Reduce::default();
    assert_eq!(
        add.reduce(&grid, &whole).unwrap(),
        add_mpi.reduce(&grid, &whole).unwrap()
    );
    assert_eq!(
        add.accumulate(&grid, 0).unwrap(),
        add_mpi.accumulate(&grid, 0).unwrap()
    );
    println!(
        "rank {} of {} agrees (messages of at most {} bytes)",
        world.rank(),
        world.size(),
        world.message_limit()
    );
    world.barrier().unwrap();
    kern_runtime::exec::mpi::finalize();
}

#[test]
fn a_single_process_is_a_world_of_one() {
    if std::env::var_os(common::CHILD).is_some() {
        return;
    }
    let world = {
        // Not while another test builds an `mpirun` command (`one_job`).
        let _job = common::one_job();
        kern_runtime::exec::mpi::world().expect("MPI starts as a singleton")
    };
    assert_eq!((world.rank(), world.size()), (0, 1));
    let m = Module::from_source("mpi.kern", SOURCE).expect("compiles");
    let x = Array1::from_shape_fn(1000, |i| i as f32);
    let saxpy = m.ufunc("saxpy").unwrap();
    let args = [2.0f32.into(), (&x).into(), (&x).into()];
    assert_eq!(
        saxpy.call(&args).unwrap(),
        saxpy.clone().with_target(Target::Mpi).call(&args).unwrap()
    );
}

/// Runs `host_arrays_stay_distributed` on `ranks` ranks: every rank says it
/// kept its rows.
fn distributed_arrays_on(ranks: usize) {
    if let Some(text) = run_ranks(ranks, "host_arrays_stay_distributed") {
        text.lines()
            .filter(|l| l.contains("kept its rows"))
            .for_each(|l| println!("{l}"));
        for r in 0..ranks {
            assert!(
                text.contains(&format!("rank {r} of {ranks} kept its rows")),
                "{text}"
            );
        }
    }
}

#[test]
fn distributed_arrays_on_two_ranks() {
    distributed_arrays_on(2);
}

#[test]
fn distributed_arrays_on_four_ranks() {
    distributed_arrays_on(4);
}

/// Ten elementwise ufunc calls in a row, on an array of `n` elements.
fn chain(n: usize) -> String {
    let mut main = format!("fn main() {{\n    let x = linspace(0.0, 1.0, {n});\n");
    for _ in 0..10 {
        main.push_str("    let x = step(&x);\n");
    }
    main.push_str("}\n");
    format!("#[vectorize]\nfn step(x: f64) -> f64 {{ x * 0.999 + 0.25 }}\n{main}")
}

/// What host code does with distributed results, printed: every line must be
/// what `cpu` prints.
const HOST_CODE: &str = r#"
#[vectorize]
fn wave(x: f64) -> f64 { (-x * x).exp() * x.sin() + x.abs().ln_1p() }

#[vectorize]
fn add<T: Num>(a: T, b: T) -> T { a + b }

#[vectorize]
fn inverse(x: i64) -> i64 { 100 / x }

#[guvectorize]
fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[k][j]; }
            out[i][j] = s;
        }
    }
}

fn total(x: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..x.len() { s += x[i]; }
    s
}

fn main() {
    let x = linspace(-3.0, 3.0, 100003);
    let y = wave(&x);
    let z = add(&y, 1.5);
    println!("{} {} {} {}", z.sum(), z.mean(), z.min(), z.max());
    println!("{} {} {} {} {}", z[0], z[50001], z[100002], z.len(), z.shape());
    let mut w = z;
    w[70000] = 7.0;
    println!("{} {} {}", w[70000], z[70000], w.sum());
    // Rows of a 2-d array, with a row broadcast along them and a scalar.
    let m = linspace(0.0, 1.0, 2100).reshape([7, 300]);
    let row = linspace(5.0, 6.0, 300);
    let p = add(&add(&m, &row), 0.25);
    println!("{} {} {}", p.sum(), p.ndim(), p[6][299]);
    // A batch of matrix products: the loop's rows, then a chain on them.
    let a = linspace(0.0, 1.0, 444).reshape([37, 4, 3]);
    let b = linspace(-1.0, 1.0, 15).reshape([3, 5]);
    let c = matmul(&a, &b);
    let d = add(&c, &c);
    println!("{} {} {} {}", c.sum(), c.shape(), c[36][3][4], d.max());
    // Integers, and operations that need the whole array.
    let k: Array<i64> = arange(1, 4001);
    let q = inverse(&k);
    println!("{} {} {} {}", q.sum(), q.mean(), q.max(), add.reduce(&q));
    println!("{}", total(&z));
    println!("{}", p);
    println!("{}", p[2..4]);
    let k: Array<i64> = arange(-2000, 2000);
    let q = inverse(&k);
    println!("unreachable {}", q);
}
"#;

/// Under `mpirun`: ufunc results stay as each rank's rows — a chain of calls
/// moves no array data between the ranks — and whatever host code does with
/// them prints what `cpu` prints, bit for bit.
#[test]
fn host_arrays_stay_distributed() {
    let Some(world) = child_world() else {
        return;
    };
    let bytes_moved_by = |source: &str| {
        let mut m = Module::from_source("chain.kern", source).expect("compiles");
        let before = world.bytes_sent();
        m.run_main(Target::Mpi, &mut Vec::new()).unwrap();
        world.bytes_sent() - before
    };
    let small = bytes_moved_by(&chain(1000));
    let large = bytes_moved_by(&chain(1_000_000));
    // The ranks only agree on each call's outcome: a few bytes per call,
    // whatever the array's size (8 MB here).
    assert_eq!(small, large, "bytes moved depend on the array's size");
    assert!(large < 10 * 64 * world.size() as u64, "{large} bytes moved");
    // A batch of matrix products keeps its loop's rows where they are too.
    let products = |n: usize| {
        let source = SOURCE.to_owned()
            + &format!(
                "fn main() {{\n    let a = linspace(0.0, 1.0, {}).reshape([{n}, 4, 3]);\n    \
                 let b = linspace(-1.0, 1.0, 15).reshape([3, 5]);\n    \
                 let c = matmul(&a, &b);\n    let c = add(&c, &c);\n}}\n",
                n * 12
            );
        bytes_moved_by(&source)
    };
    assert_eq!(products(100), products(100_000));

    // A program that asks for its rank may use an array on some ranks only:
    // its results stay whole, so the guarded print waits for no one.
    let guarded = SOURCE.to_owned()
        + "fn main() {\n    let x = linspace(0.0, 1.0, 1000);\n    let y = add(&x, &x);\n    \
           if mpi::rank() == 0 {\n        println!(\"{}\", y.sum());\n    }\n}\n";
    let guarded_run = |target| {
        let mut out = Vec::new();
        let mut m = Module::from_source("guarded.kern", guarded.as_str()).unwrap();
        m.run_main(target, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let printed = guarded_run(Target::Mpi);
    assert_eq!(printed, guarded_run(Target::Cpu));
    assert_eq!(printed.is_empty(), world.rank() != 0);

    let run = |target| {
        let mut m = Module::from_source("host.kern", HOST_CODE).expect("compiles");
        let mut out = Vec::new();
        let err = m.run_main(target, &mut out).unwrap_err().to_string();
        (String::from_utf8(out).unwrap(), err)
    };
    let (cpu, cpu_err) = run(Target::Cpu);
    let (mpi, mpi_err) = run(Target::Mpi);
    assert_eq!(mpi, cpu);
    assert!(mpi_err.contains("attempt to divide by zero"), "{mpi_err}");
    assert_eq!(mpi_err, cpu_err);

    kept_distributions(world, &bytes_moved_by);

    let peak = pipeline_peaks(world);
    println!(
        "rank {} of {} kept its rows ({large} bytes sent for 10 calls on 10^6 elements; \
         peak memory of load, ufuncs, sum, save of 64 MB: {} MB on cpu, {} MB here)",
        world.rank(),
        world.size(),
        peak.0 >> 20,
        peak.1 >> 20
    );
    world.barrier().unwrap();
    kern_runtime::exec::mpi::finalize();
}

/// Host code on arrays whose first axis is short (split along the longest
/// axis instead, docs/mpi.md) and the operations that keep a distribution:
/// `{path}` is where it saves and loads a file.
const SPLIT_CODE: &str = r#"
#[vectorize]
fn wave(x: f64) -> f64 { (-x * x).exp() * x.sin() + x.abs().ln_1p() }

#[vectorize(identity = 0)]
fn add(a: f64, b: f64) -> f64 { a + b }

#[vectorize]
fn sub(a: f64, b: f64) -> f64 { a - b }

// 1 but for a 0.0 at the end of the first row and -0.0 at the start of the second.
#[vectorize]
fn pick(x: f64) -> f64 {
    if x > 0.3 && x < 0.3334 { 0.0 } else if x >= 0.3334 && x < 0.4 { -0.0 } else { 1.0 }
}

fn main() {
    // Three rows of 1001: fewer than 8 rows per rank, split along axis 1.
    let x = linspace(-3.0, 3.0, 3003).reshape([3, 1001]);
    let y = wave(&x);
    let z = add(&y, &y[1..2]);
    println!("{} {} {} {}", z.sum(), z.mean(), z.min(), z.max());
    println!("{} {} {} {}", z[2][1000], z[0][0], z[1][500], z.shape());
    // The first minimum in C order is on the last rank (0.0, not -0.0).
    let p = pick(&linspace(0.0, 1.0, 3003).reshape([3, 1001]));
    println!("{} {} {}", p.min(), p.max(), add(&z, &linspace(0.0, 1.0, 1001)).sum());
    let mut w = z.clone();
    w[1][500] = 7.0;
    add.call_out(&mut w, &w, &z);
    println!("{} {}", w[1][500], w.sum());
    save("{path}", &w);
    let l: Array<f64> = load("{path}");
    println!("{} {}", l.sum(), l[2][999]);
    let c = add.reduce(&w, 0);
    println!("{} {} {}", c.sum(), c.shape(), c[1000]);
    println!("{}", sub.reduce(&w, 1));
    let r = sub.accumulate(&w, 0);
    println!("{} {} {}", r.sum(), r[2][1000], r[1][3]);
    // These two gather `w`: blocked adds along the split axis, every axis.
    println!("{} {}", add.reduce(&w, 1), add.reduce(&w));
    println!("{}", z);
    // Rows enough for every rank: split along axis 0.
    let m = wave(&linspace(-1.0, 1.0, 6000).reshape([200, 30]));
    let t = m.reshape([200, 5, 6]);
    println!("{} {}", t.sum(), t.max());
    println!("{}", add.reduce(&m, 0));
    println!("{}", sub.reduce(&t, 0));
    println!("{} {}", add.reduce(&t, 2).sum(), sub.reduce(&m, 1).sum());
    // Scans along the split axis, rank after rank: the order matters for `sub`.
    let q = sub.accumulate(&m, 0);
    println!("{} {} {} {}", q.sum(), q[199][29], q[57][3], q.shape());
    println!("{}", add.accumulate(&t, 0).sum());
    // Outer products keep the distributed operand's split.
    let v = wave(&linspace(-1.0, 1.0, 40));
    let o = sub.outer(&v, &linspace(0.0, 1.0, 3));
    let p = sub.outer(&linspace(0.0, 1.0, 3), &v);
    println!("{} {} {} {} {}", o.sum(), o[39][2], o.shape(), p[2][39], p.shape());
    // A whole `out` written from distributed inputs (and read as one).
    let mut g = zeros([200, 30]);
    g[7][7] = 3.5;
    add.call_out(&mut g, &m, &g);
    println!("{} {} {}", g.sum(), g[7][7], g[199][29]);
}
"#;

/// Under `mpirun`: arrays split along their longest axis, and the operations
/// that keep a distribution (`call_out`, `reduce`, slices, reshapes) print
/// what `cpu` prints and move no array data — the bytes sent do not depend on
/// the array's size (`reduce` and `accumulate` along the split axis pass on
/// one partial result or row per rank, of the result's or a row's size).
fn kept_distributions(
    world: &kern_runtime::exec::mpi::World,
    bytes_moved_by: &dyn Fn(&str) -> u64,
) {
    let dir = std::path::PathBuf::from(std::env::var_os(SHARED_DIR).expect("a shared folder"));
    let run = |target, path: &std::path::Path| {
        let source = SPLIT_CODE.replace("{path}", path.to_str().unwrap());
        let mut m = Module::from_source("split.kern", source).expect("compiles");
        let mut out = Vec::new();
        m.run_main(target, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    };
    let mpi = run(Target::Mpi, &dir.join("split.npy"));
    let cpu = run(
        Target::Cpu,
        &dir.join(format!("split-{}.npy", world.rank())),
    );
    assert_eq!(mpi, cpu);

    let program = |n: usize, body: &str| {
        format!(
            "#[vectorize]\nfn step(x: f64) -> f64 {{ x * 0.999 + 0.25 }}\n\
             #[vectorize(identity = 0)]\nfn add(a: f64, b: f64) -> f64 {{ a + b }}\n\
             fn main() {{\n    let n = {n};\n{body}\n}}\n"
        )
    };
    for body in [
        // Two rows: every rank holds a block of columns.
        "let x = step(&linspace(0.0, 1.0, 2 * n).reshape([2, n]));\n\
         let x = step(&x);\n let x = step(&x[1..2]);\n let x = step(&x);",
        "let mut y = step(&linspace(0.0, 1.0, n));\n step.call_out(&mut y, &y);\n\
         let z = step(&y);",
        "let y = step(&linspace(0.0, 1.0, 3 * n).reshape([3, n]));\n\
         let r = add.reduce(&y, 0);\n let r = step(&r);",
        "let y = step(&linspace(0.0, 1.0, 4 * n).reshape([n, 4]));\n\
         let r = add.reduce(&y, 1);\n let r = step(&r);\n let s = add.reduce(&y, 0);",
        "let y = step(&linspace(0.0, 1.0, 4 * n).reshape([n, 4]));\n\
         let t = step(&y.reshape([n, 2, 2]));",
        "let y = step(&linspace(0.0, 1.0, 4 * n).reshape([n, 4]));\n\
         let a = add.accumulate(&y, 1);\n let b = step(&a);",
        // Along the split axis: one row of 4 passes from rank to rank.
        "let y = step(&linspace(0.0, 1.0, 4 * n).reshape([n, 4]));\n\
         let a = add.accumulate(&y, 0);\n let b = step(&a);",
        "let y = step(&linspace(0.0, 1.0, n));\n\
         let o = add.outer(&y, &linspace(0.0, 1.0, 3));\n let p = step(&o);",
        "let y = step(&linspace(0.0, 1.0, n));\n let mut z = linspace(0.0, 1.0, n);\n\
         step.call_out(&mut z, &y);\n let w = step(&z);",
    ] {
        let small = bytes_moved_by(&program(1000, body));
        let large = bytes_moved_by(&program(400_000, body));
        assert_eq!(
            small, large,
            "bytes moved depend on the array's size:\n{body}"
        );
    }
}

/// A 64 MB `.npy` file loaded, three ufunc calls, a sum and a save, on `cpu`
/// and on the ranks: the same output and the same file, and each rank's peak
/// memory about 1/N of `cpu`'s (no rank ever holds the whole array). Returns
/// the two peaks.
fn pipeline_peaks(world: &kern_runtime::exec::mpi::World) -> (u64, u64) {
    let dir = std::path::PathBuf::from(std::env::var_os(SHARED_DIR).expect("a shared folder"));
    let input = dir.join("in.npy");
    if world.rank() == 0 {
        let x = Array1::from_shape_fn(8_000_000, |i| (i as f64 * 1e-6).sin());
        kern_runtime::array::npy::save_npy(&input, &NdArray::from(x.into_dyn()).view()).unwrap();
    }
    world.barrier().unwrap();
    let program = |output: &std::path::Path| {
        format!(
            "#[vectorize]\nfn step(x: f64) -> f64 {{ x * 0.999 + 0.25 }}\n\
             fn main() {{\n    let x: Array<f64> = load({input:?});\n    \
             let x = step(&x);\n    let x = step(&x);\n    let x = step(&x);\n    \
             println!(\"{{}}\", x.sum());\n    save({output:?}, &x);\n}}\n"
        )
    };
    let run = |target, output: &std::path::Path| {
        let mut m = Module::from_source("pipeline.kern", program(output)).unwrap();
        let mut out = Vec::new();
        let peak = peak_of(|| m.run_main(target, &mut out).unwrap());
        (String::from_utf8(out).unwrap(), peak)
    };
    // The ranks first: the whole arrays of `cpu` must not have left memory to
    // reuse behind.
    let shared = dir.join("out.npy");
    let (mpi, mpi_peak) = run(Target::Mpi, &shared);
    let own = dir.join(format!("cpu-{}.npy", world.rank()));
    let (cpu, cpu_peak) = run(Target::Cpu, &own);
    assert_eq!(mpi, cpu);
    assert_eq!(
        std::fs::read(&shared).unwrap(),
        std::fs::read(&own).unwrap()
    );
    let ranks = world.size() as u64;
    assert!(
        mpi_peak < cpu_peak / ranks + cpu_peak / ranks / 10 + (4 << 20),
        "peak {mpi_peak} bytes on each of {ranks} ranks, {cpu_peak} on cpu"
    );
    world.barrier().unwrap();
    (cpu_peak, mpi_peak)
}
