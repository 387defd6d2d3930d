//! Parser specification: precedence and associativity (through the fully
//! parenthesised pretty-printer), every construct, and error messages.

use super::{parse, pretty_print};
use crate::diagnostics::{FileId, SourceMap};

fn pretty(src: &str) -> String {
    match parse(FileId(0), src) {
        Ok(unit) => pretty_print(&unit),
        Err(d) => {
            let mut sources = SourceMap::new();
            sources.add("t.kern", src);
            panic!("parse failed:\n{}", d.render(&sources))
        }
    }
}

/// Asserts that the pretty-printed `text` contains each of `lines`.
fn assert_lines(text: &str, lines: &[&str]) {
    for line in lines {
        assert!(text.contains(line), "{line:?} not in:\n{text}");
    }
}

fn body_of(src_expr: &str) -> String {
    let text = pretty(&format!("fn f() {{ {src_expr} }}"));
    text.lines().nth(1).unwrap_or_default().trim().to_string()
}

fn error(src: &str) -> String {
    let mut sources = SourceMap::new();
    let file = sources.add("t.kern", src);
    match parse(file, src) {
        Ok(_) => panic!("expected a syntax error for {src:?}"),
        Err(d) => d.render(&sources),
    }
}

/// The rendered syntax error of `src`, which must come within `limit_ms`
/// milliseconds (in a debug build).
fn error_within(src: &str, limit_ms: u128) -> String {
    let started = std::time::Instant::now();
    let e = error(src);
    let took = started.elapsed();
    assert!(took.as_millis() < limit_ms, "took {took:?}: {e}");
    e
}

#[test]
fn rust_precedence_and_associativity() {
    assert_eq!(body_of("a + b * c - d"), "((a + (b * c)) - d)");
    assert_eq!(body_of("a - b - c"), "((a - b) - c)");
    assert_eq!(body_of("a << 1 + 2"), "(a << (1 + 2))");
    assert_eq!(body_of("a & b == c"), "((a & b) == c)");
    assert_eq!(body_of("a | b ^ c & d"), "(a | (b ^ (c & d)))");
    assert_eq!(body_of("a || b && c"), "(a || (b && c))");
    assert_eq!(body_of("-x.abs()"), "(-x.abs())");
    assert_eq!(body_of("-x as u8"), "((-x) as u8)");
    assert_eq!(body_of("a as f64 * b"), "((a as f64) * b)");
    assert_eq!(body_of("!a && b"), "((!a) && b)");
    assert_eq!(
        body_of("a[i][j] + f(x, y).sqrt()"),
        "(a[i][j] + f(x, y).sqrt())"
    );
    assert_eq!(body_of("x = y = 3"), "x = y = 3");
    assert_eq!(body_of("x += 2 * y"), "x += (2 * y)");
}

#[test]
fn literals_of_every_form() {
    assert_eq!(
        body_of("1_000 + 0xFFu8 + 0b101 + 0o7"),
        "(((1000 + 255u8) + 5) + 7)"
    );
    assert_eq!(
        body_of("1.5e-3f32 + 2f64 + 1.0"),
        "((1.5e-3f32 + 2f64) + 1.0)"
    );
    assert_eq!(body_of("1.max(2)"), "1.max(2)");
    assert_eq!(body_of("2.0f64.sqrt()"), "2.0f64.sqrt()");
    assert_eq!(body_of("true != false"), "(true != false)");
}

#[test]
fn statements_and_control_flow() {
    let text = pretty(
        "fn f(mut n: i64, a: &[[f64; N]; 3]) -> i64 {
            let mut s: i64 = 0; // comment
            /* block /* nested */ comment */
            for i in 0..n { s += i; }
            for i in (0..=n).step_by(2) { continue; }
            while s > 0 { s -= 1; if s == 3 { break; } }
            loop { break; }
            let v = if n > 0 { 1 } else if n < 0 { -1 } else { 0 };
            ;
            return v;
        }",
    );
    assert_lines(
        &text,
        &[
            "fn f(mut n: i64, a: &[[f64; N]; 3]) -> i64 {",
            "for i in 0..n {",
            "for i in (0..=n).step_by(2) {",
            "let v = if (n > 0) {",
            "return v;",
        ],
    );
}

#[test]
fn block_like_expression_at_the_end_is_the_tail() {
    let unit = parse(FileId(0), "fn f(c: bool) -> i32 { if c { 1 } else { 2 } }").unwrap();
    let crate::ast::Item::Fn(f) = &unit.items[0] else {
        panic!()
    };
    assert!(f.body.stmts.is_empty());
    assert!(f.body.tail.is_some());
}

#[test]
fn items_attributes_generics_consts_macros() {
    let text = pretty(
        "#[vectorize(target = \"parallel\")]
         fn d<T: Float>(a: T, b: T) -> T { b * b - 4.0 * a }
         #[guvectorize(\"(n)->()\")] fn g(x: &[f64]) -> f64 { x[0] }
         const T: [u32; 3] = [1, 2, 3];
         fn main() { println!(\"{} {:.3}\", 1, PI); assert!(true, \"msg\"); }",
    );
    assert_lines(
        &text,
        &[
            "#[vectorize(target = \"parallel\")]",
            "fn d<T: Float>(a: T, b: T) -> T {",
            "const T: [u32; 3] = [1, 2, 3];",
            "println!(\"{} {:.3}\", 1, PI);",
        ],
    );
}

#[test]
fn expression_ids_are_dense_and_unique() {
    let unit = parse(FileId(0), "fn f() -> i32 { 1 + 2 * 3 }").unwrap();
    assert_eq!(unit.expr_count, 5);
}

#[test]
fn syntax_errors_name_what_was_expected() {
    let e = error("fn main() {\n    let x = 1 +;\n}\n");
    assert!(e.contains("expected expression, found `;`"), "{e}");
    assert!(e.contains("t.kern:2:16"), "{e}");
    let e = error("fn main( {}");
    assert!(e.contains("expected"), "{e}");
    let e = error("fn f(a: i32, b: i32, c: i32) -> bool { a < b < c }");
    assert!(e.contains("comparison operators cannot be chained"), "{e}");
    let e = error("fn f() { let x = 99999999999999999999999999999999999999999999; }");
    assert!(e.contains("too large"), "{e}");
}

#[test]
fn pathological_nesting_is_an_error_not_a_crash() {
    let deep = format!(
        "fn f() -> i32 {{ {}1{} }}",
        "(".repeat(5000),
        ")".repeat(5000)
    );
    assert!(error(&deep).contains("nesting too deep"));
    let negs = format!("fn f() -> i32 {{ {}1 }}", "- ".repeat(20000));
    assert!(error(&negs).contains("nested too deeply"));
    let chain = format!(
        "fn f(x: i32) -> i32 {{ if x == 0 {{ 0 }} {} else {{ 1 }} }}",
        "else if x == 1 { 1 } ".repeat(3000)
    );
    assert!(error(&chain).contains("nested too deeply"));
}

#[test]
fn a_block_like_expression_ends_its_statement_as_in_rust() {
    // `if c { .. } (x)` is an `if` statement followed by a parenthesised tail.
    let text = pretty("fn f(y: i64) -> bool { if y > 0 { return false; } ((y & 1) == 1) }");
    assert!(text.contains("    ((y & 1) == 1)\n"), "{text}");
    let text = pretty("fn f() -> i32 { loop { break; } -1 }");
    assert!(text.contains("    (-1)\n"), "{text}");
}

/// Parse time is linear in the input, for well-formed code and for syntax errors
/// deep inside nesting alike. Each input here took 2^n steps before (a failed form
/// parsed again as another): 30 levels would take days; now each is reported, with
/// the real syntax error, within the parser's step budget of
/// `PARSE_STEPS_PER_BYTE` a byte and well under a second in a debug build.
#[test]
fn syntax_errors_deep_in_nesting_are_found_in_linear_time() {
    for opener in [
        "if true { ",
        "while x { ",
        "loop { ",
        "{ ",
        "for i in 0..n { ",
        "f({ ",
        "f!({ ",
        "x.m({ ",
        "a[{ ",
        "a - { ",
        "a && { ",
        "let y = f({ ",
        "{ x } = f({ ",
    ] {
        let e = error_within(&format!("fn main() {{ {}", opener.repeat(30)), 1000);
        assert!(e.contains("expected"), "{opener:?}: {e}");
        assert!(!e.contains("gave up"), "{opener:?}: {e}");
    }
}

/// A parenthesised `for` range, stepped or not, is parsed once: it used to be tried
/// as `(a..b).step_by(s)` and then again as `a..b`, so each level of ranges nested
/// in ranges doubled the parse (40 levels ran out of the step budget, 2^40 steps).
/// Now 40 levels parse at once, and an error 40 levels deep is found, like any
/// other, in linear time.
#[test]
fn parenthesised_for_ranges_parse_once_at_any_nesting() {
    let depth = 40;
    for (open, close) in [("(", ")"), ("(", ").step_by(2)")] {
        let nested = (0..depth).fold("0".to_string(), |inner, _| {
            format!("{{ for i in {open}{inner}..n{close} {{ }} 0 }}")
        });
        let src = format!("fn f(n: i64) -> i64 {nested}");
        let started = std::time::Instant::now();
        let parsed = parse(FileId(0), &src);
        let took = started.elapsed();
        assert!(parsed.is_ok(), "{open}..{close}: {}", error(&src));
        assert!(took.as_millis() < 1000, "{open}..{close}: took {took:?}");
    }
    let e = error_within(&format!("fn main() {{ {}", "for i in ({ ".repeat(40)), 1000);
    assert!(e.contains("expected"), "{e}");
    assert!(!e.contains("gave up"), "{e}");
}

#[test]
fn a_for_loop_runs_over_a_range_with_or_without_parentheses() {
    for (src, printed) in [
        ("for i in 0..n { }", "for i in 0..n {"),
        ("for i in (0..n) { }", "for i in 0..n {"),
        ("for i in ((a + 1))..=n { }", "for i in (a + 1)..=n {"),
        (
            "for i in (a..=b).step_by(s) { }",
            "for i in (a..=b).step_by(s) {",
        ),
    ] {
        let text = pretty(&format!("fn f() {{ {src} }}"));
        assert!(text.contains(printed), "{src}: {text}");
    }
    for bad in [
        "for i in n { }",
        "for i in (0..n).rev() { }",
        "for i in (0..n).step_by(1, 2) { }",
        "for i in (0..n) + 1 { }",
    ] {
        let e = error(&format!("fn f() {{ {bad} }}"));
        assert!(e.contains("expected a range"), "{bad}: {e}");
        assert!(e.contains("t.kern:1:"), "{bad}: {e}");
    }
    let e = error("fn f() { let r = (0..n); }");
    assert!(
        e.contains("a range `a..b` can only be the bounds of a `for` loop"),
        "{e}"
    );
}

/// `1 + 1 + … + 1` with 30 000 terms: each operator moves its operands into the new
/// node (cloning them was quadratic: over a minute), and the chain is refused for
/// its depth.
#[test]
fn long_flat_expressions_parse_in_linear_time() {
    let e = error_within(
        &format!("fn f() -> i32 {{ {}1 }}", "1 + ".repeat(30_000)),
        1000,
    );
    assert!(e.contains("nested too deeply"), "{e}");
    let sum = format!("fn f() -> i32 {{ {}1 }}", "1 + ".repeat(150));
    assert!(parse(FileId(0), &sum).is_ok());
}

#[test]
fn a_missing_semicolon_is_reported_where_it_goes() {
    let e = error("fn main() {\n    let x = 1;\n    f(x)\n    g(x);\n}\n");
    assert!(
        e.contains("expected `;`, found the start of another statement"),
        "{e}"
    );
    assert!(e.contains("t.kern:3:9"), "{e}");
    assert!(e.contains("add `;` here"), "{e}");
}

/// Files past `MAX_SOURCE_BYTES` are refused before parsing, with a located error:
/// parsing them would need hundreds of times their size in memory.
#[test]
fn an_oversized_file_is_refused_before_parsing() {
    let statements = "x = 1;\n".repeat(super::parser::MAX_SOURCE_BYTES / 7 + 1);
    let source = format!("fn main() {{ let mut x = 0;\n{statements}}}\n");
    let e = error_within(&source, 1000);
    assert!(
        e.contains("kern reads source files of at most 4 MiB"),
        "{e}"
    );
    assert!(e.contains("t.kern:1:1"), "{e}");
}
