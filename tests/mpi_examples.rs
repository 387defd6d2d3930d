//! The MPI examples (`examples/mpi_*.kern`) under `mpirun` with 2 and 4 ranks:
//! each prints what its header promises, and the answers of the matrix product
//! and the integration equal the 1-rank run's (the integral within 1e-12).
//!
//! Needs the `mpi` feature (`cargo test -p kern --features mpi --test
//! mpi_examples`) and `mpirun` on `PATH`; without `mpirun` every test says so and
//! passes. Ranks are oversubscribed, so the tests run on any number of cores.
//! Also here: a failing rank ends the whole job, and `--target mpi` gives every
//! rank the output the `cpu` target gives.
#![cfg(feature = "mpi")]

mod common;

use std::process::Output;

use common::{have_mpirun, kern, mpirun_kern, root, text};

fn checked(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what} failed ({}):\nstdout:\n{}\nstderr:\n{}",
        output.status,
        text(&output.stdout),
        text(&output.stderr)
    );
    text(&output.stdout)
}

/// The example's output on one rank: plain `kern run`, no `mpirun`.
fn single(example: &str) -> String {
    let path = format!("examples/{example}.kern");
    checked(kern(&["run", &path]), &format!("kern run {path}"))
}

/// The example's output under `mpirun -n ranks`.
fn mpirun(ranks: usize, example: &str) -> String {
    let path = format!("examples/{example}.kern");
    checked(
        mpirun_kern(ranks, &["run", &path]),
        &format!("mpirun -n {ranks} kern run {path}"),
    )
}

#[test]
fn hello_world_greets_from_every_rank_in_order() {
    if !have_mpirun() {
        return;
    }
    for ranks in [1, 2, 4] {
        let out = if ranks == 1 {
            single("mpi_hello_world")
        } else {
            mpirun(ranks, "mpi_hello_world")
        };
        let mut expected: String = (0..ranks)
            .map(|r| format!("Hello from rank {r} of {ranks}\n"))
            .collect();
        expected.push_str(&format!("{ranks} rank(s) said hello\n"));
        assert_eq!(out, expected, "{ranks} rank(s)");
    }
}

#[test]
fn simple_send_arrives_at_rank_1_as_on_one_rank() {
    if !have_mpirun() {
        return;
    }
    let one = single("mpi_simple");
    assert_eq!(one, "received [0.   0.25 0.5  0.75 1.  ] from rank 0\n");
    for ranks in [2, 4] {
        assert_eq!(mpirun(ranks, "mpi_simple"), one, "{ranks} ranks");
    }
}

#[test]
fn buddies_swap_arrays_pairwise() {
    if !have_mpirun() {
        return;
    }
    // On 3 ranks the last one swaps with itself: its send of 300 elements must
    // not wait for the receive only it can post.
    for ranks in [2, 3, 4] {
        let out = mpirun(ranks, "mpi_buddy");
        let mut expected = String::new();
        for r in 0..ranks {
            let b = if r ^ 1 < ranks { r ^ 1 } else { r };
            expected.push_str(&format!(
                "rank {r} got {} {} {} from rank {b}\n",
                10 * b,
                10 * b + 1,
                10 * b + 2
            ));
        }
        expected.push_str("every rank got its buddy's array: true\n");
        assert_eq!(out, expected, "{ranks} ranks");
    }
    assert_eq!(
        single("mpi_buddy"),
        "rank 0 got 0 1 2 from rank 0\nevery rank got its buddy's array: true\n"
    );
}

#[test]
fn one_rank_under_mpirun_keeps_the_promises_of_a_single_process() {
    if !have_mpirun() {
        return;
    }
    // Every builtin, and a message of 100001 f64 a rank sends itself: it waits
    // in the mailbox instead of blocking the send forever.
    let fixture = "tests/fixtures/run/host_mpi";
    let expected = std::fs::read_to_string(root().join(format!("{fixture}.stdout"))).unwrap();
    let run = |ranks: usize| {
        checked(
            mpirun_kern(ranks, &["run", &format!("{fixture}.kern")]),
            &format!("mpirun -n {ranks} kern run {fixture}.kern"),
        )
    };
    assert_eq!(run(1), expected);
    // A `recv` nothing can match is the documented error, not a wait.
    let output = mpirun_kern(
        1,
        &["run", "tests/fixtures/errors/host_mpi_no_message.kern"],
    );
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("mpi::recv from rank 0 with tag 9 would wait forever"),
        "{stderr}"
    );
    assert!(stderr.contains("host_mpi_no_message.kern:3:5"), "{stderr}");
}

#[test]
fn matrix_product_equals_the_single_rank_one() {
    if !have_mpirun() {
        return;
    }
    let one = single("mpi_matrix_mul");
    assert!(
        one.ends_with("equals the single-rank product: true\n"),
        "{one}"
    );
    for ranks in [2, 4] {
        assert_eq!(mpirun(ranks, "mpi_matrix_mul"), one, "{ranks} ranks");
    }
}

#[test]
fn midpoint_integration_agrees_with_one_rank_within_1e_12() {
    if !have_mpirun() {
        return;
    }
    let estimate = |out: &str| -> f64 {
        let line = out
            .lines()
            .find_map(|l| l.strip_prefix("pi ~ "))
            .unwrap_or_else(|| panic!("no estimate in:\n{out}"));
        line.split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("bad estimate line: {line}"))
    };
    let one = single("mpi_midpoint_integration");
    let pi = estimate(&one);
    assert!((pi - std::f64::consts::PI).abs() < 1e-12, "{one}");
    for ranks in [2, 4] {
        let out = mpirun(ranks, "mpi_midpoint_integration");
        let p = estimate(&out);
        assert!((p - pi).abs() <= 1e-12, "{ranks} ranks: {p} vs {pi}");
        assert!(out.contains("with 1000000 intervals"), "{out}");
    }
}

#[test]
fn a_failing_rank_ends_the_whole_job_with_its_located_error() {
    if !have_mpirun() {
        return;
    }
    // Rank 1 fails while rank 0 waits at the barrier for it.
    let dir = tempfile::tempdir().unwrap();
    let program = dir.path().join("fails.kern");
    std::fs::write(
        &program,
        "fn main() {\n    if mpi::rank() == 1 { mpi::send(&zeros(3), 7, 0); }\n    mpi::barrier();\n    println!(\"done\");\n}\n",
    )
    .unwrap();
    let output = mpirun_kern(2, &["run", program.to_str().unwrap()]);
    let stderr = text(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("destination rank 7 does not exist"),
        "{stderr}"
    );
    assert!(stderr.contains("fails.kern:2:27"), "{stderr}");
    assert!(
        stderr.contains("MPI rank 1 of 2 failed:\nError: destination rank 7"),
        "{stderr}"
    );
    assert!(!text(&output.stdout).contains("done"));
}

#[test]
fn time_lines_are_whole_and_say_the_rank() {
    if !have_mpirun() {
        return;
    }
    for ranks in [2, 4] {
        let output = mpirun_kern(
            ranks,
            &[
                "run",
                "--time",
                "--target",
                "mpi",
                "examples/discriminant.kern",
            ],
        );
        let stderr = text(&output.stderr);
        assert!(output.status.success(), "{stderr}");
        let mut ranks_seen: Vec<usize> = stderr
            .lines()
            .filter(|l| l.contains("time"))
            .map(|line| {
                let rest = line
                    .strip_prefix("time (rank ")
                    .unwrap_or_else(|| panic!("a cut or unlabelled line: {line:?}"));
                let (rank, rest) = rest.split_once(&format!(" of {ranks}): ")).unwrap();
                // Whole: every phase `name value ms`, from `stdlib` to `run`
                // (and when the first compiled call came, at the end).
                let fields: Vec<&str> = rest.split(", ").collect();
                assert!(fields[0].starts_with("stdlib "), "{line:?}");
                assert!(fields.iter().any(|f| f.starts_with("run ")), "{line:?}");
                for field in &fields {
                    let value = field.trim_end_matches(" ms").rsplit(' ').next();
                    assert!(field.ends_with(" ms"), "{line:?}");
                    assert!(value.is_some_and(|v| v.parse::<f64>().is_ok()), "{line:?}");
                }
                rank.parse().unwrap()
            })
            .collect();
        ranks_seen.sort_unstable();
        assert_eq!(ranks_seen, (0..ranks).collect::<Vec<_>>(), "{stderr}");
    }
}

#[test]
fn the_mpi_target_gives_every_rank_the_cpu_output() {
    if !have_mpirun() {
        return;
    }
    for example in ["discriminant", "sumarrays", "matmul"] {
        let path = format!("examples/{example}.kern");
        let cpu = single(example);
        for ranks in [2, 4] {
            let output = mpirun_kern(ranks, &["run", "--target", "mpi", &path]);
            let out = checked(
                output,
                &format!("mpirun -n {ranks} kern run --target mpi {path}"),
            );
            // Every rank prints the whole program's output; lines of different
            // ranks interleave in any order.
            let mut got: Vec<&str> = out.lines().collect();
            let mut expected: Vec<&str> = cpu.lines().flat_map(|l| vec![l; ranks]).collect();
            got.sort_unstable();
            expected.sort_unstable();
            assert_eq!(got, expected, "{example} on {ranks} ranks");
        }
    }
}
