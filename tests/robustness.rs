//! No input makes the front end panic: random token sequences (mostly near-valid
//! kern) and random bytes go through parsing, checking and lowering, and must come
//! back as a module or as rendered diagnostics. (`fuzz/` has the same property as a
//! cargo-fuzz target for longer runs.)

use kern::Module;
use proptest::prelude::*;

const TOKENS: &[&str] = &[
    "fn",
    "let",
    "mut",
    "if",
    "else",
    "while",
    "loop",
    "for",
    "in",
    "break",
    "continue",
    "return",
    "as",
    "const",
    "true",
    "false",
    "main",
    "x",
    "y",
    "n",
    "f",
    "T",
    "i64",
    "f64",
    "f32",
    "u8",
    "usize",
    "bool",
    "Float",
    "(",
    ")",
    "{",
    "}",
    "[",
    "]",
    "<",
    ">",
    ",",
    ";",
    ":",
    "::",
    ".",
    "..",
    "..=",
    "->",
    "=",
    "==",
    "!=",
    "<=",
    ">=",
    "+",
    "-",
    "*",
    "/",
    "%",
    "&",
    "&&",
    "|",
    "||",
    "^",
    "!",
    "<<",
    ">>",
    "+=",
    "<<=",
    "#",
    "[vectorize]",
    "0",
    "1",
    "2.5",
    "1e308",
    "0xFF",
    "255u8",
    "1_000",
    "99999999999999999999999999999999999999999",
    "\"{}\"",
    "\"\\q\"",
    "println!",
    "assert!",
    "x.sqrt()",
    "x.exp()",
    "random::uniform",
    "PI",
    "f64::MAX",
    "step_by",
    "/*",
    "*/",
    "//",
    "\n",
];

fn check_does_not_panic(source: &str) {
    match Module::from_source("fuzz.kern", source) {
        Ok(_) => {}
        Err(e) => {
            // Rendering is part of reporting: it must not panic either.
            let _ = e.to_string();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_token_sequences_never_panic(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..60)) {
        check_does_not_panic(&tokens.join(" "));
    }

    #[test]
    fn random_token_sequences_inside_a_function_never_panic(tokens in prop::collection::vec(prop::sample::select(TOKENS), 0..40)) {
        check_does_not_panic(&format!("fn f(x: f64, n: i64) -> f64 {{ {} }}", tokens.join(" ")));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check_does_not_panic(&String::from_utf8_lossy(&bytes));
    }
}

#[test]
fn known_tricky_inputs_are_errors_not_crashes() {
    for source in [
        "",
        "fn",
        "fn main() { let x = -128i8; let y = -(-128i8); }",
        "fn main() { let x: u8 = 256; }",
        "fn f() -> i32 { f() }",
        "const A: i32 = B; const B: i32 = A; fn main() { println!(\"{}\", A); }",
        "const T: [f64; 2] = [1.0]; fn main() {}",
        "fn main() { println!(\"{} {}\", 1); }",
        "fn main() { println!(\"{\"); }",
        "fn g<T: Float>(x: T) -> T { x % 2 } fn main() {}",
        "fn main() { let a = 1; a[0] = 2; }",
        "fn f(a: &[f64]) -> f64 { a[0][1] } fn main() {}",
        "#[vectorize(target = \"tpu\")] fn f(x: f64) -> f64 { x } fn main() {}",
        "fn main(x: i32) -> i32 { x }",
        "fn main() { let x; }",
        "fn main() { for i in 0.0..1.0 {} }",
        "fn main() { 1.max(2.0); }",
        &format!("fn main() {{ {} }}", "{".repeat(1000)),
        &format!("fn f() -> i32 {{ {}1 }}", "-".repeat(5000)),
    ] {
        check_does_not_panic(source);
    }
}

/// Each nesting level must be parsed once. A grammar that tries one form and then
/// another for the same text (a tail expression as a statement first, an array as
/// `[v; n]` first) doubles the work at every level: these inputs would then take
/// 2^60 steps and never finish.
#[test]
fn deep_nesting_parses_in_linear_time() {
    let depth = 60;
    let tails = format!(
        "fn f(x: i64) -> i64 {{ {}x{} }}",
        "x + { ".repeat(depth),
        " }".repeat(depth)
    );
    let mut module =
        Module::from_source("tails.kern", &tails).expect("nested tails are valid kern");
    let mut out = Vec::new();
    let value = module
        .call("f", &[kern::ScalarValue::I64(1)], &mut out)
        .expect("f runs");
    assert_eq!(value, Some(kern::ScalarValue::I64(depth as i64 + 1)));

    let arrays = format!(
        "const T: i64 = {}1{};",
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let error = Module::from_source("arrays.kern", &arrays)
        .err()
        .expect("a 60-deep array is not a valid i64");
    let _ = error.to_string();
}

/// Checking is linear in the source: a constant table `[v; n]` evaluates `v` once,
/// not once per element (10^8 elements took a minute), and a chain of functions
/// each calling the next is checked without a search per function (30 000 took
/// 18 s).
#[test]
fn checking_large_but_simple_programs_takes_linear_time() {
    let table = "const T: [u8; 10000000] = [7; 10000000];\n\
                 fn at(i: usize) -> u8 { T[i] }\n";
    let started = std::time::Instant::now();
    let mut module = Module::from_source("table.kern", table).expect("a valid table");
    let mut out = Vec::new();
    let value = module
        .call("at", &[kern::ScalarValue::Usize(9_999_999)], &mut out)
        .expect("at runs");
    assert_eq!(value, Some(kern::ScalarValue::U8(7)));
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());

    let chain: String = (0..30_000)
        .map(|i| format!("fn f{i}(x: i64) -> i64 {{ f{}(x) + 1 }}\n", i + 1))
        .collect::<String>()
        + "fn f30000(x: i64) -> i64 { x }\n";
    let started = std::time::Instant::now();
    Module::from_source("chain.kern", &chain).expect("a valid chain");
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
}

/// The interpreted reference run the fuzz targets compare compiled code with is
/// bounded: a program that never ends, or whose host code does unbounded array
/// work, stops with a located "step limit" or "time limit" error, and one within
/// both budgets prints what `run_main` prints.
#[test]
fn interpreted_reference_runs_stop_at_their_budgets() {
    let forever = "fn spin(n: i64) -> i64 {\n    let mut x = n;\n    loop {\n        x = x + 1;\n    }\n    x\n}\n\nfn main() {\n    println!(\"{}\", spin(1));\n}\n";
    let mut module = Module::from_source("forever.kern", forever).expect("a valid program");
    let mut out = Vec::new();
    let error = module
        .run_main_interpreted(
            kern::Target::Cpu,
            &mut out,
            1000,
            std::time::Duration::from_secs(60),
        )
        .expect_err("the loop never ends");
    let text = error.to_string();
    assert!(
        text.contains("step limit reached: 1000 instructions run"),
        "{text}"
    );
    assert!(text.contains("forever.kern:4:9"), "{text}");

    let arrays =
        "fn main() {\n    for i in 0..1000000000 {\n        let a = zeros(1000000);\n    }\n}\n";
    let mut module = Module::from_source("arrays.kern", arrays).expect("a valid program");
    let started = std::time::Instant::now();
    let error = module
        .run_main_interpreted(
            kern::Target::Cpu,
            &mut out,
            u64::MAX,
            std::time::Duration::from_millis(200),
        )
        .expect_err("a billion arrays take longer than that");
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    let text = error.to_string();
    assert!(text.contains("time limit reached: 200ms"), "{text}");
    assert!(text.contains("arrays.kern:"), "{text}");

    let source = "fn f(n: i64) -> i64 {\n    let mut s = 0;\n    for k in 0..n {\n        s += k * k;\n    }\n    println!(\"f({}) = {}\", n, s);\n    s\n}\n\nfn main() {\n    let a = linspace(0.0, 1.0, 5);\n    println!(\"{} {}\", f(10), a);\n}\n";
    let mut module = Module::from_source("both.kern", source).expect("a valid program");
    let (mut interpreted, mut compiled) = (Vec::new(), Vec::new());
    module
        .run_main_interpreted(
            kern::Target::Cpu,
            &mut interpreted,
            u64::MAX,
            std::time::Duration::from_secs(600),
        )
        .expect("the example runs");
    module
        .run_main(kern::Target::Cpu, &mut compiled)
        .expect("the example runs");
    assert!(!compiled.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&interpreted),
        String::from_utf8_lossy(&compiled)
    );
}
