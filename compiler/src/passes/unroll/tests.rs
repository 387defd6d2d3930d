//! The unroller's tests: the shape of the IR before and after, and the
//! interpreter's results (traps included) on the program as lowered and unrolled.

use super::*;
use crate::interp::Interpreter;
use crate::passes::fold;
use crate::passes::tests::{lowered, same_results};

/// `program` through what `passes::optimize` runs around the unroller (fold,
/// unroll, fold), verified.
fn unrolled(program: &Program) -> Program {
    let mut p = program.clone();
    fold::fold_program(&mut p);
    unroll_program(&mut p);
    fold::fold_program(&mut p);
    if let Err(e) = crate::ir::verify::verify_program(&p) {
        panic!("{e:?}\n{}", crate::ir::print::print_program(&p));
    }
    p
}

/// How many conditional loops (`for`, `while`) `f` of `program` has, nested ones
/// included (the inliner's one-shot loops have no condition).
fn loops(program: &Program, f: &str) -> usize {
    let id = program.find(f).unwrap();
    program
        .function(id)
        .body
        .insts_deep()
        .filter(|i| matches!(i.kind, InstKind::Loop { cond: Some(_), .. }))
        .count()
}

/// How many instructions of `f` satisfy `pred`.
fn count(program: &Program, f: &str, pred: impl Fn(&InstKind) -> bool) -> usize {
    let id = program.find(f).unwrap();
    program
        .function(id)
        .body
        .insts_deep()
        .filter(|i| pred(&i.kind))
        .count()
}

#[test]
fn a_constant_range_becomes_its_body_once_per_iteration() {
    let src = "fn f(x: i64) -> i64 {
                   let mut t = x;
                   for i in 0..4 { t = t * 3 + i; }
                   t
               }";
    let before = lowered(src);
    let after = unrolled(&before);
    assert_eq!(loops(&before, "f"), 1);
    assert_eq!(loops(&after, "f"), 0, "no loop is left");
    let muls = |p: &Program| count(p, "f", |k| matches!(k, InstKind::Binary(BinaryOp::Mul, ..)));
    assert_eq!(
        (muls(&before), muls(&after)),
        (1, 4),
        "one multiply per iteration"
    );
    // The variable is a constant in each copy: `t * 3 + i` adds 0, 1, 2, 3.
    let consts: Vec<i64> = after
        .function(after.find("f").unwrap())
        .body
        .insts_deep()
        .filter_map(|i| match i.kind {
            InstKind::Const(ScalarValue::I64(c)) => Some(c),
            _ => None,
        })
        .collect();
    for i in 0..4 {
        assert!(consts.contains(&i), "{i} in {consts:?}");
    }
    same_results(&before, &after, &[0, 1, -7, i64::MAX, i64::MIN]);
}

/// `if round > 0` in each copy folds, and the `If` is replaced by the branch that
/// runs: the ten rounds become straight-line code.
#[test]
fn conditions_on_the_variable_fold_away() {
    let src = "fn f(x: i64) -> i64 {
                   let mut k = x;
                   let mut t = 0;
                   for round in 0..10 {
                       if round > 0 { k = k + 7; }
                       t = t ^ (k * 31);
                   }
                   t
               }";
    let before = lowered(src);
    let after = unrolled(&before);
    assert_eq!(loops(&after, "f"), 0);
    assert_eq!(count(&after, "f", |k| matches!(k, InstKind::If { .. })), 0);
    same_results(&before, &after, &[0, 3, -1, i64::MIN]);
}

/// Philox-4x32-10 in `random::uniform`, inlined into a Monte Carlo loop by
/// `passes::optimize`: its ten-round loop is gone, the sample loop stays.
#[test]
fn philox_rounds_are_straight_line_after_the_passes() {
    let src = "fn count(seed: u64, n: u64) -> u64 {
                   let mut inside = 0;
                   for i in 0..n {
                       let x = random::uniform(seed, 2 * i);
                       let y = random::uniform(seed, 2 * i + 1);
                       if x * x + y * y < 1.0 { inside += 1; }
                   }
                   inside
               }";
    let before = lowered(src);
    let after = crate::test_support::compile(src);
    assert!(after
        .function(after.find("count").unwrap())
        .callees()
        .is_empty());
    assert_eq!(loops(&after, "count"), 1, "only the loop over the samples");
    let id = before.find("count").unwrap();
    for (seed, n) in [(2024u64, 50u64), (0, 7), (u64::MAX, 3)] {
        let args = [ScalarValue::U64(seed), ScalarValue::U64(n)];
        let run = |p: &Program| Interpreter::new(p).call_scalars(id, &args, &mut std::io::sink());
        assert_eq!(run(&before), run(&after), "count({seed}, {n})");
    }
}

#[test]
fn nested_loops_unroll_inside_out() {
    let src = "fn f(x: i64) -> i64 {
                   let mut t = x;
                   for i in 0..3 {
                       for j in 1..=2 { t = t * 5 + i * 10 + j; }
                   }
                   t
               }";
    let before = lowered(src);
    let after = unrolled(&before);
    assert_eq!(loops(&after, "f"), 0);
    same_results(&before, &after, &[0, 9, -4]);
}

/// The loop's end and the empty and one-element ranges, in narrow types at their
/// extremes: no copy steps past the type's end, and the variable's local ends
/// holding what the loop leaves in it.
#[test]
fn zero_trip_inclusive_and_extreme_ranges() {
    let src = "fn f(x: i64) -> i64 {
                   let mut t = x;
                   for i in 5..2 { t = t + 1000; }
                   for i in 3..3 { t = t + 2000; }
                   for i in 250u8..=255u8 { t = t * 2 + (i as i64); }
                   for i in -128i8..-126i8 { t = t * 3 + (i as i64); }
                   for i in 127i8..=127i8 { t = t + (i as i64); }
                   t
               }";
    let before = lowered(src);
    let after = unrolled(&before);
    assert_eq!(loops(&after, "f"), 0);
    let adds = |p: &Program, n: i64| count(p, "f", |k| *k == InstKind::Const(ScalarValue::I64(n)));
    assert_eq!(
        (adds(&after, 1000), adds(&after, 2000)),
        (0, 0),
        "the empty loops are gone"
    );
    same_results(&before, &after, &[0, 11, i64::MAX]);
}

/// A `break` or `continue` of the loop itself keeps the loop; one of an inner loop
/// does not; a `return` leaves the function from the copies as from the loop.
#[test]
fn early_exits() {
    let jumps = "fn f(x: i64) -> i64 {
                     let mut t = 0;
                     for i in 0..4 { if x == i { break; } t += i; }
                     for i in 0..4 { if x == i { continue; } t += i * 3; }
                     for i in 0..3 { let mut j = 0; while true { j += 1; if j > i { break; } } t += j; }
                     t
                 }";
    let before = lowered(jumps);
    let after = unrolled(&before);
    // The two loops that leave themselves stay; the outer third unrolls, its
    // `while` stays in each of its three copies.
    assert_eq!(loops(&after, "f"), 2 + 3);
    same_results(&before, &after, &[-1, 0, 2, 3, 9]);

    let returns = "fn f(x: i64) -> i64 {
                       let mut t = 0;
                       for i in 0..4 { if x == i { return t * 100; } t += i + 1; }
                       for i in 0..3 { return t + i + 7; }
                       t
                   }";
    let before = lowered(returns);
    let after = unrolled(&before);
    assert_eq!(loops(&after, "f"), 0);
    same_results(&before, &after, &[0, 1, 3, 4, -5]);
}

/// Bounds that are not constants, a `step_by`, more than [`MAX_TRIPS`] iterations:
/// the loop stays.
#[test]
fn what_is_not_unrolled() {
    let src = "fn f(x: i64) -> i64 {
                   let mut t = 0;
                   for i in 0..x { t += i; }
                   for i in 0..8 { t += i; t = t * x; }
                   for i in (0..8).step_by(2) { t += i; }
                   for i in 0..17 { t += i; }
                   t
               }";
    let before = lowered(src);
    let after = unrolled(&before);
    assert_eq!(loops(&after, "f"), 3, "only the second loop unrolls");
    same_results(&before, &after, &[0, 5, -3]);
}

/// A loop whose copies would add up to more than [`MAX_UNROLLED_INSTS`]
/// instructions stays a loop; at the budget it unrolls.
#[test]
fn the_size_budget_is_trip_count_times_body() {
    let body = "t = (t ^ (i * 3)) + x;".repeat(6);
    let src = |trips: u128| {
        format!("fn f(x: i64) -> i64 {{ let mut t = 0; for i in 0..{trips} {{ {body} }} t }}")
    };
    // The body's size as lowered, from a loop that stays.
    let probe = lowered(&src(100));
    let id = probe.find("f").unwrap();
    let size = probe
        .function(id)
        .body
        .insts_deep()
        .find_map(|i| match &i.kind {
            InstKind::Loop { body, .. } => Some(body.insts_deep().count() as u128),
            _ => None,
        })
        .unwrap();
    let fits = MAX_UNROLLED_INSTS / size;
    assert!(
        fits < MAX_TRIPS,
        "the body ({size}) is large enough to test the size"
    );
    for (trips, stays) in [(fits, 0), (fits + 1, 1)] {
        let before = lowered(&src(trips));
        let after = unrolled(&before);
        assert_eq!(loops(&after, "f"), stays, "{trips} trips of {size}");
        same_results(&before, &after, &[0, 7]);
    }
    let before = lowered(&format!(
        "fn f(x: i64) -> i64 {{ let mut t = 0; for i in 0..{MAX_TRIPS} {{ t += i; }} t }}"
    ));
    assert_eq!(
        loops(&unrolled(&before), "f"),
        0,
        "{MAX_TRIPS} small iterations unroll"
    );
}

/// A trap in an unrolled iteration is the loop's trap: the same kind at the
/// same place, and the iterations before it ran (their prints came out).
#[test]
fn traps_happen_in_the_same_iteration_at_the_same_place() {
    let src = "fn f(x: i64) -> i64 {
                   let mut t = 0;
                   for i in 0..5 {
                       println!(\"{}\", i);
                       t += 100 / (x - i);
                   }
                   t
               }";
    let before = lowered(src);
    let after = unrolled(&before);
    assert_eq!(loops(&after, "f"), 0);
    let id = before.find("f").unwrap();
    let run = |p: &Program| {
        let mut out = Vec::new();
        let r = Interpreter::new(p).call_scalars(id, &[ScalarValue::I64(2)], &mut out);
        (r, String::from_utf8(out).unwrap())
    };
    let (trapped, printed) = run(&after);
    assert_eq!(trapped.as_ref().unwrap_err().kind, TrapKind::DivisionByZero);
    assert_eq!(printed, "0\n1\n2\n");
    assert_eq!(run(&before), (trapped, printed));
    same_results(&before, &after, &[-1, 9, 4]);
}

/// `passes::licm` moves the read of the range's end out of the header (a built
/// loop inlines bodies in that form, `loops::gufunc_loop`): the loop still
/// unrolls, to the value read.
#[test]
fn a_range_whose_end_is_read_before_the_loop_unrolls() {
    let src = "fn f(x: i64) -> i64 { let mut t = x; for i in 0..4 { t = t * 3 + i; } t }";
    let before = lowered(src);
    let mut hoisted = before.clone();
    crate::passes::licm::hoist_program(&mut hoisted);
    let id = hoisted.find("f").unwrap();
    let header = hoisted
        .function(id)
        .body
        .insts_deep()
        .find_map(|i| match &i.kind {
            InstKind::Loop {
                header,
                cond: Some(_),
                ..
            } => Some(header.insts.len()),
            _ => None,
        });
    assert_eq!(header, Some(2), "`i = get l; c = i < e`, `e` read before");
    let after = unrolled(&hoisted);
    assert_eq!(loops(&after, "f"), 0);
    same_results(&before, &after, &[0, 1, -7]);
}
