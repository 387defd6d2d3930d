//! The forwarding pass's tests: which `get`s go, which stay, and the
//! interpreter's results on the program before and after (traps included).

use super::*;
use crate::passes::tests::{lowered, same_results};

/// `program` forwarded, verified.
fn forwarded(program: &Program) -> Program {
    let mut p = program.clone();
    forward_program(&mut p);
    if let Err(e) = crate::ir::verify::verify_program(&p) {
        panic!("{e:?}\n{}", crate::ir::print::print_program(&p));
    }
    p
}

/// How many `get`s of locals named `name` function `f` has.
fn gets(program: &Program, f: &str, name: &str) -> usize {
    let func = program.function(program.find(f).unwrap());
    func.body
        .insts_deep()
        .filter(|i| matches!(i.kind, InstKind::GetLocal(l) if func.local(l).name == name))
        .count()
}

#[test]
fn a_get_after_a_set_in_its_block_reads_the_value_set() {
    let src = "fn f(x: i64) -> i64 {
                   let mut k = x;
                   k = k.wrapping_add(7);
                   k = k.wrapping_mul(3);
                   k ^ x
               }";
    let before = lowered(src);
    let after = forwarded(&before);
    assert!(gets(&before, "f", "k") >= 3);
    assert_eq!(gets(&after, "f", "k"), 0);
    same_results(&before, &after, &[0, 1, -5, i64::MAX, i64::MIN]);
}

#[test]
fn a_nested_block_that_writes_the_local_stops_forwarding() {
    let src = "fn f(x: i64) -> i64 {
                   let mut k = x;
                   if x > 2 { k = 5; }
                   let mut t = k;
                   for i in 0..x { t = t + k * i; }
                   t + k
               }";
    let before = lowered(src);
    let after = forwarded(&before);
    // `k` after the `if` is not known; `t` in the loop is read before it is
    // set in the body (the loop's own block), so it stays a `get` too.
    assert!(
        gets(&after, "f", "k") >= 1,
        "{}",
        crate::ir::print::print_program(&after)
    );
    assert!(gets(&after, "f", "t") >= 1);
    same_results(&before, &after, &[-1, 0, 1, 2, 3, 9]);
}

#[test]
fn traps_keep_their_place() {
    let src = "fn f(x: i64) -> i64 {
                   let mut d = x - 3;
                   let q = 100 / d;
                   d = d * q;
                   d / (x - 4)
               }";
    let before = lowered(src);
    let after = forwarded(&before);
    assert_eq!(gets(&after, "f", "d"), 0);
    same_results(&before, &after, &[3, 4, 5, 103, -7]);
}

/// Philox's key schedule depends on the seed only: with the pass list,
/// forwarded and then hoisted, none of its additions (its only `u32`
/// additions) is left in the loop over the samples — before this pass all
/// ten rounds' were — and the counts agree.
#[test]
fn philoxs_key_schedule_leaves_the_loop_over_the_samples() {
    let src = "fn f(n: i64) -> i64 {
                   let seed = n as u64 * 2654435761;
                   let mut inside = 0;
                   for i in 0..n {
                       let x = random::uniform(seed, 2 * i as u64);
                       let y = random::uniform(seed, 2 * i as u64 + 1);
                       if x * x + y * y < 1.0 { inside += 1; }
                   }
                   inside
               }";
    let key_steps = |p: &Program| {
        let func = p.function(p.find("f").unwrap());
        let u32_add = |i: &Inst| {
            matches!(i.kind, InstKind::Binary(BinaryOp::Add, ..))
                && i.result
                    .is_some_and(|r| func.value_type(r) == ScalarType::U32)
        };
        func.body
            .insts
            .iter()
            .filter(|i| matches!(i.kind, InstKind::Loop { .. }))
            .flat_map(|l| l.kind.blocks().flat_map(|b| b.insts_deep()))
            .filter(|i| u32_add(i))
            .count()
    };
    let unoptimized = lowered(src);
    let mut optimized = unoptimized.clone();
    crate::passes::optimize(&mut optimized);
    assert_eq!(
        key_steps(&optimized),
        0,
        "{}",
        crate::ir::print::print_program(&optimized)
    );
    let mut unforwarded = unoptimized.clone();
    crate::passes::inline::inline_small_functions(
        &mut unforwarded,
        crate::passes::inline::DEFAULT_MAX_INSTS,
    );
    crate::passes::fold::fold_program(&mut unforwarded);
    crate::passes::unroll::unroll_program(&mut unforwarded);
    crate::passes::fold::fold_program(&mut unforwarded);
    crate::passes::licm::hoist_program(&mut unforwarded);
    assert_eq!(key_steps(&unforwarded), 36);
    same_results(&unoptimized, &optimized, &[0, 1, 1000]);
}

#[test]
fn an_ifs_blocks_start_with_what_is_known_before_it_and_a_loops_do_not() {
    let src = "fn f(x: i64) -> i64 {
                   let mut k = x * 3;
                   let mut t = 0;
                   if x > 2 { t = k + 1; } else { t = k - 1; }
                   for i in 0..x { t = t + k; k = k + i; }
                   t + k
               }";
    let before = lowered(src);
    let after = forwarded(&before);
    // The `if`'s two reads of `k` are gone, and the loop body's second read
    // (the first one's value: nothing wrote `k` between them); the loop's
    // first read stays (the loop writes `k`), and so does the read after it.
    assert_eq!(gets(&before, "f", "k") - gets(&after, "f", "k"), 3);
    assert_eq!(gets(&after, "f", "k"), 2);
    same_results(&before, &after, &[-1, 0, 2, 3, 7]);
}
