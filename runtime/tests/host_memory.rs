//! The memory host code's arrays take: an array made only to be an operand
//! (`linspace(..).reshape(..)`, `f(&g(x))`) is freed as soon as the operation
//! that reads it has run, not when `main` returns, and `.reshape(..)` of such
//! a temporary keeps its buffer instead of copying it.
//!
//! One test in this binary: it measures the process's peak memory, which other
//! tests running beside it would disturb.
#![cfg(target_os = "linux")]

mod common;

use common::peak_of;
use kern_runtime::{Module, Target};

/// Bytes of one `N` x `N` f64 array.
const N: usize = 2000;
const ARRAY: u64 = (N * N * 8) as u64;

fn run(source: &str) -> String {
    let mut m = Module::from_source("memory.kern", source).expect("compiles");
    let mut out = Vec::new();
    m.run_main(Target::Cpu, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn temporaries_die_after_their_one_use_and_reshape_keeps_their_buffer() {
    // Two matrices built from temporaries: two arrays live at the end. (Kept
    // until `main` returns, the temporaries made it four; a reshape that copied
    // made three at once.)
    let from_temporaries = format!(
        "fn main() {{\n    let a = linspace(0.0, 1.0, {n}).reshape([{N}, {N}]);\n    \
         let b = linspace(-1.0, 0.0, {n}).reshape([{N}, {N}]);\n    \
         println!(\"{{}} {{}} {{}}\", a.sum(), b.sum(), a[1999][3]);\n}}\n",
        n = N * N
    );
    let mut printed = String::new();
    let peak = peak_of(|| printed = run(&from_temporaries));
    assert!(
        peak < 2 * ARRAY + ARRAY / 2,
        "peak {peak} bytes for two arrays of {ARRAY}"
    );
    // The same values as reshaping variables, which are copied and kept.
    let from_variables = format!(
        "fn main() {{\n    let x = linspace(0.0, 1.0, {n});\n    let a = x.reshape([{N}, {N}]);\n    \
         let y = linspace(-1.0, 0.0, {n});\n    let b = y.reshape([{N}, {N}]);\n    \
         println!(\"{{}} {{}} {{}}\", a.sum(), b.sum(), a[1999][3]);\n}}\n",
        n = N * N
    );
    let peak_of_variables = peak_of(|| assert_eq!(run(&from_variables), printed));
    assert!(
        peak_of_variables > 3 * ARRAY + ARRAY / 2,
        "{peak_of_variables}"
    );
}
