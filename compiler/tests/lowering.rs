//! Lowering specification: the IR kern produces for small functions (insta
//! snapshots of `ir::print`), and the verifier accepting the IR of every example.

use kern_compiler::ir::{print, verify, Program};

fn compile(src: &str) -> Program {
    kern_compiler::frontend::compile_text("t.kern", src)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
        .program
}

fn ir_of(src: &str, name: &str) -> String {
    let program = compile(src);
    let id = program.find(name).expect("function exists");
    print::print_function(&program, program.function(id))
}

#[test]
fn is_prime_lowers_to_a_loop_with_early_returns() {
    insta::assert_snapshot!(ir_of(
        "fn is_prime(n: i64) -> bool {
            if n < 2 { return false; }
            let mut i = 2;
            while i * i <= n {
                if n % i == 0 { return false; }
                i += 1;
            }
            true
        }",
        "is_prime"
    ));
}

#[test]
fn inclusive_stepped_for_loops_break_in_the_latch_instead_of_overflowing() {
    insta::assert_snapshot!(ir_of(
        "fn sum(a: u8, b: u8) -> u32 {
            let mut s = 0;
            for i in (a..=b).step_by(3) { s += i as u32; }
            s
        }",
        "sum"
    ));
}

#[test]
fn short_circuit_operators_and_if_expressions_use_result_locals() {
    insta::assert_snapshot!(ir_of(
        "fn pick(x: f64, lo: f64, hi: f64) -> f64 {
            if x >= lo && x < hi { x } else { 0.5 * (lo + hi) }
        }",
        "pick"
    ));
}

#[test]
fn constants_fold_and_traps_stay() {
    insta::assert_snapshot!(ir_of(
        "const K: i32 = 6 * 7;
        fn f(x: i32) -> i32 { (K + 1) * 2 + x / 0 }",
        "f"
    ));
}

#[test]
fn the_ir_of_every_example_passes_the_verifier() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples");
    let mut checked = 0;
    for entry in std::fs::read_dir(dir).expect("examples folder") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "kern") {
            let program = compile(&std::fs::read_to_string(&path).expect("readable"));
            if let Err(errors) = verify::verify_program(&program) {
                panic!("{}: {errors:#?}", path.display());
            }
            checked += 1;
        }
    }
    assert!(checked >= 4, "found {checked} examples");
}
