//! One corpus on every target: each `tests/fixtures/run/NAME.kern` is run with
//! `kern run --target T` for every target T it declares, and must exit 0 and print
//! exactly `NAME.stdout` — the same expected output on every target.
//!
//! A fixture declares its targets in a header comment line,
//! `// targets: cpu parallel mpi cuda`, and may add `// ranks: N` for the number of
//! `mpi` ranks (default 2). On `mpi` every rank runs the whole program, so every
//! rank must print the expected output (`mpirun --tag-output` separates them).
//!
//! * `cpu` and `parallel` always run.
//! * `mpi` needs the `mpi` feature (`cargo test -p kern --features mpi --test
//!   corpus`); with `mpirun` on `PATH` it runs under `mpirun -n N`, otherwise as a
//!   single rank. Without the feature the test says it skipped.
//! * `cuda` needs the `cuda` feature and a GPU; without one it says so and skips.
//! * With the `llvm` feature, the `cpu` and `parallel` fixtures run again on the
//!   optimized tier (`--tier optimized`, LLVM `-O3`) and the `auto` tier against
//!   the same expected output: the tiers must print the same bits.
//!
//! The IR, CLIF (and, with `cuda`, PTX) of each fixture are snapshots beside it.
//! `KERN_BLESS=1` rewrites the expected files (outputs from the `cpu` run).

mod common;

use std::path::Path;

use common::{check_expected, kern, kern_files, relative, text};

const TARGETS: [&str; 4] = ["cpu", "parallel", "mpi", "cuda"];

/// The targets and `mpi` rank count `file` declares in its header comment.
fn declared(file: &Path) -> (Vec<String>, usize) {
    let source = std::fs::read_to_string(file).expect("read fixture");
    let header = || {
        source
            .trim_start_matches('\u{feff}')
            .lines()
            .take_while(|l| l.starts_with("//"))
            .map(|l| l.trim_start_matches('/').trim())
    };
    let targets: Vec<String> = header()
        .find_map(|l| l.strip_prefix("targets:"))
        .unwrap_or_else(|| panic!("{} declares no `// targets:` line", relative(file)))
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    for t in &targets {
        assert!(
            TARGETS.contains(&t.as_str()),
            "{}: unknown target `{t}`",
            relative(file)
        );
    }
    let ranks = header()
        .find_map(|l| l.strip_prefix("ranks:"))
        .map(|n| n.trim().parse().expect("`// ranks:` is a number"))
        .unwrap_or(2);
    (targets, ranks)
}

/// Runs every fixture that declares `target` with `run`, which returns each
/// rank's standard output (one entry off `mpi`), or `Err` with the failure.
fn run_corpus(target: &str, run: impl Fn(&str, usize) -> Result<Vec<String>, String>) {
    let mut failures = Vec::new();
    let mut ran = 0;
    for file in kern_files("tests/fixtures/run") {
        let (targets, ranks) = declared(&file);
        if !targets.iter().any(|t| t == target) {
            continue;
        }
        ran += 1;
        let expected = file.with_extension("stdout");
        match run(&relative(&file), ranks) {
            Err(e) => failures.push(format!("{} on {target}: {e}", relative(&file))),
            Ok(outputs) => {
                for (rank, out) in outputs.iter().enumerate() {
                    let before = failures.len();
                    // Blessing writes the cpu run only.
                    if target == "cpu" || std::env::var_os("KERN_BLESS").is_none() {
                        check_expected(&expected, out, &mut failures);
                    }
                    if failures.len() > before && outputs.len() > 1 {
                        failures.push(format!("(that was rank {rank} on {target})"));
                    }
                }
            }
        }
    }
    assert!(ran > 0, "no fixture declares {target}");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// `kern run --target T FILE` on this process: its stdout, or why it failed.
fn run_here(target: &str, file: &str) -> Result<Vec<String>, String> {
    run_here_with(target, &[], file)
}

/// `kern run --target T OPTIONS.. FILE`: its stdout, or why it failed.
fn run_here_with(target: &str, options: &[&str], file: &str) -> Result<Vec<String>, String> {
    let mut args = vec!["run", "--target", target];
    args.extend_from_slice(options);
    args.push(file);
    let output = kern(&args);
    if output.status.success() {
        Ok(vec![text(&output.stdout)])
    } else {
        Err(format!("{}:\n{}", output.status, text(&output.stderr)))
    }
}

#[test]
fn every_run_fixture_declares_its_targets_and_runs_on_cpu() {
    run_corpus("cpu", |file, _| run_here("cpu", file));
}

#[test]
fn run_fixtures_print_the_same_on_parallel() {
    run_corpus("parallel", |file, _| run_here("parallel", file));
}

/// `optimized` runs LLVM's code only; `auto` Cranelift's first and LLVM's once
/// its background compile is done, so a run mixes the tiers' code.
#[cfg(feature = "llvm")]
#[test]
fn run_fixtures_print_the_same_bits_on_the_optimized_and_auto_tiers() {
    for tier in ["optimized", "auto"] {
        for target in ["cpu", "parallel"] {
            run_corpus(target, |file, _| {
                run_here_with(target, &["--tier", tier], file)
            });
        }
    }
}

#[cfg(feature = "mpi")]
#[test]
fn run_fixtures_print_the_same_on_every_mpi_rank() {
    use common::{have_mpirun, mpirun_kern_with, stdout_by_rank};
    if !have_mpirun() {
        eprintln!("running the mpi fixtures on a single rank");
        return run_corpus("mpi", |file, _| run_here("mpi", file));
    }
    run_corpus("mpi", |file, ranks| {
        let output = mpirun_kern_with(ranks, &["--tag-output"], &["run", "--target", "mpi", file]);
        if output.status.success() {
            Ok(stdout_by_rank(&text(&output.stdout), ranks))
        } else {
            Err(format!(
                "mpirun -n {ranks}: {}:\n{}",
                output.status,
                text(&output.stderr)
            ))
        }
    });
}

#[cfg(not(feature = "mpi"))]
#[test]
fn run_fixtures_on_mpi_need_the_mpi_feature() {
    eprintln!("skipped: the mpi corpus needs `--features mpi`");
}

#[cfg(feature = "cuda")]
#[test]
fn run_fixtures_print_the_same_on_cuda_where_a_gpu_exists() {
    let probe = kern(&["run", "--target", "cuda", "examples/discriminant.kern"]);
    if !probe.status.success() {
        eprintln!(
            "skipped the GPU corpus: {}",
            text(&probe.stderr).lines().next().unwrap_or_default()
        );
        return;
    }
    run_corpus("cuda", |file, _| run_here("cuda", file));
}

/// What `kern emit FORM FILE` shows: its stdout, or its exit status and stderr.
fn emitted(form: &str, file: &str) -> String {
    let output = kern(&["emit", form, file]);
    if output.status.success() {
        text(&output.stdout)
    } else {
        format!("{}\n{}", output.status, text(&output.stderr))
    }
}

/// The IR and the CLIF of every run fixture are snapshots beside it
/// (`NAME.ir`, `NAME.clif`; `KERN_BLESS=1` rewrites them), so a change to lowering,
/// the passes or the Cranelift backend shows up as a reviewable diff.
#[test]
fn run_fixtures_ir_and_clif_match_their_snapshots() {
    let mut failures = Vec::new();
    for file in kern_files("tests/fixtures/run") {
        let name = relative(&file);
        for (form, extension) in [("--ir", "ir"), ("--clif", "clif")] {
            check_expected(
                &file.with_extension(extension),
                &emitted(form, &name),
                &mut failures,
            );
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// With the `cuda` feature the PTX of every run fixture is a snapshot too
/// (`NAME.ptx`), or the diagnostic that says why it has none.
#[cfg(feature = "cuda")]
#[test]
fn run_fixtures_ptx_matches_its_snapshot() {
    let mut failures = Vec::new();
    for file in kern_files("tests/fixtures/run") {
        let name = relative(&file);
        check_expected(
            &file.with_extension("ptx"),
            &emitted("--ptx", &name),
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
