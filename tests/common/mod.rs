//! What the end-to-end tests of the `kern` binary share: running it (directly or
//! under `mpirun`), reading its output, and comparing it with expected files that
//! `KERN_BLESS=1` (re)writes. Each test file includes this with `mod common;` and
//! uses what it needs.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root: fixtures and examples are named relative to it.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `kern ARGS`, run from the repository root without colours.
pub fn kern(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kern"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .output()
        .expect("the kern binary runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Compares `actual` with the file at `expected_path`, or writes it in bless mode.
pub fn check_expected(expected_path: &Path, actual: &str, failures: &mut Vec<String>) {
    if std::env::var_os("KERN_BLESS").is_some() {
        std::fs::write(expected_path, actual).expect("write expected file");
        return;
    }
    match std::fs::read_to_string(expected_path) {
        Ok(expected) if expected == actual => {}
        Ok(expected) => failures.push(format!(
            "{}:\n--- expected\n{expected}\n--- actual\n{actual}",
            expected_path.display()
        )),
        Err(_) => failures.push(format!(
            "{} is missing (run with KERN_BLESS=1 to create it); actual output:\n{actual}",
            expected_path.display()
        )),
    }
}

/// The `.kern` files of `dir` (relative to the root), sorted.
pub fn kern_files(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root().join(dir))
        .unwrap_or_else(|e| panic!("read {dir}: {e}"))
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "kern"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .kern files in {dir}");
    files
}

/// `path` relative to the root, as the CLI is given it.
pub fn relative(path: &Path) -> String {
    path.strip_prefix(root())
        .unwrap_or(path)
        .display()
        .to_string()
}

/// Whether `mpirun` is on `PATH`; says so on stderr when it is not.
pub fn have_mpirun() -> bool {
    let found = Command::new("mpirun")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        eprintln!("skipped: `mpirun` is not on PATH");
    }
    found
}

/// `kern ARGS` under `mpirun -n ranks` (oversubscribed, allowed as root; a job
/// that hangs is killed after 300 s). `extra` goes to `mpirun` before the program.
pub fn mpirun_kern_with(ranks: usize, extra: &[&str], args: &[&str]) -> Output {
    Command::new("mpirun")
        .args([
            "-n",
            &ranks.to_string(),
            "--oversubscribe",
            "--timeout",
            "300",
        ])
        .args(extra)
        .arg(env!("CARGO_BIN_EXE_kern"))
        .args(args)
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .output()
        .expect("mpirun runs")
}

/// `kern ARGS` under `mpirun -n ranks`.
pub fn mpirun_kern(ranks: usize, args: &[&str]) -> Output {
    mpirun_kern_with(ranks, &[], args)
}

/// The standard output of each rank of a job run with `mpirun --tag-output`
/// (OpenMPI prefixes every line with `[job,rank]<stdout>:`), in rank order.
pub fn stdout_by_rank(tagged: &str, ranks: usize) -> Vec<String> {
    let mut out = vec![String::new(); ranks];
    for line in tagged.lines() {
        let Some(rest) = line.strip_prefix('[') else {
            continue;
        };
        let Some((tag, text)) = rest.split_once("]<stdout>:") else {
            continue;
        };
        let rank = tag.rsplit(',').next().and_then(|r| r.parse::<usize>().ok());
        if let Some(slot) = rank.and_then(|r| out.get_mut(r)) {
            slot.push_str(text);
            slot.push('\n');
        }
    }
    out
}
