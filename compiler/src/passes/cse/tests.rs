//! The common-subexpression pass's tests: what goes, what stays, and the
//! interpreter's results on the program before and after (traps included).

use super::*;
use crate::passes::tests::{lowered, same_results};

/// `program` through the pass, verified.
fn eliminated(program: &Program) -> Program {
    let mut p = program.clone();
    crate::passes::forward::forward_program(&mut p);
    eliminate_program(&mut p);
    if let Err(e) = crate::ir::verify::verify_program(&p) {
        panic!("{e:?}\n{}", crate::ir::print::print_program(&p));
    }
    p
}

/// How many instructions of `f` satisfy `pred`.
fn count(program: &Program, pred: impl Fn(&InstKind) -> bool) -> usize {
    let f = program.function(program.find("f").unwrap());
    f.body.insts_deep().filter(|i| pred(&i.kind)).count()
}

#[test]
fn a_repeated_pure_instruction_is_the_first_ones_value() {
    let src = "fn f(x: i64) -> i64 {
                   let a = (x * 7 + 3) ^ (x >> 2);
                   let b = (x * 7 + 3) ^ (x >> 2);
                   a - b + (x * 7)
               }";
    let before = lowered(src);
    let after = eliminated(&before);
    let muls = |p: &Program| count(p, |k| matches!(k, InstKind::Binary(BinaryOp::Mul, ..)));
    assert_eq!(muls(&before), 3);
    assert_eq!(muls(&after), 1);
    same_results(&before, &after, &[0, 1, -9, i64::MAX, i64::MIN]);
}

#[test]
fn a_value_is_reused_in_nested_blocks_but_not_after_them() {
    let src = "fn f(x: i64) -> i64 {
                   let mut t = x * 5;
                   if x > 0 { t = t + x * 5; }
                   if x > 1 { t = t + x * 9; }
                   t + x * 9
               }";
    let before = lowered(src);
    let after = eliminated(&before);
    // `x * 5` is reused in the first `if`; `x * 9` of the second `if` is not
    // visible after it, so both stay.
    let mul_by = |p: &Program, n: i64| {
        let f = p.function(p.find("f").unwrap());
        let is_n = |v: ValueId| {
            f.body
                .insts_deep()
                .any(|i| i.result == Some(v) && i.kind == InstKind::Const(ScalarValue::I64(n)))
        };
        f.body
            .insts_deep()
            .filter(|i| matches!(i.kind, InstKind::Binary(BinaryOp::Mul, _, b) if is_n(b)))
            .count()
    };
    assert_eq!(mul_by(&after, 5), 1);
    assert_eq!(mul_by(&after, 9), 2);
    same_results(&before, &after, &[-3, 0, 1, 2, 7]);
}

#[test]
fn integer_identities_are_their_operand_and_float_ones_stay() {
    let src = "fn f(x: i64) -> i64 {
                   let a = ((x + 0) ^ 0) * 1;
                   let b = (0 | a) << 0;
                   let z = -0.0;
                   let y = (z + 0.0) * 1.0;
                   if y.to_bits() == 0 { b } else { b + 1 }
               }";
    let before = lowered(src);
    let after = eliminated(&before);
    let int_ops = |p: &Program| {
        let f = p.function(p.find("f").unwrap());
        f.body
            .insts_deep()
            .filter(|i| {
                matches!(i.kind, InstKind::Binary(..))
                    && i.result.is_some_and(|r| f.value_type(r) == ScalarType::I64)
            })
            .count()
    };
    // Only `b + 1` is left of the integer operations; the float ones stay (and
    // give -0.0, whose bits are not 0).
    assert_eq!(
        int_ops(&after),
        1,
        "{}",
        crate::ir::print::print_program(&after)
    );
    let floats = count(&after, |k| {
        matches!(k, InstKind::Binary(BinaryOp::Add | BinaryOp::Mul, ..))
    });
    assert!(floats >= 2);
    same_results(&before, &after, &[0, 5, -1]);
}

#[test]
fn divisions_that_can_trap_stay_where_they_are() {
    let src = "fn f(x: i64) -> i64 {
                   let a = 100 / (x - 2);
                   let b = 100 / (x - 2);
                   a + b
               }";
    let before = lowered(src);
    let after = eliminated(&before);
    let divs = |p: &Program| count(p, |k| matches!(k, InstKind::Binary(BinaryOp::Div, ..)));
    assert_eq!(divs(&after), 2);
    same_results(&before, &after, &[2, 3, -98]);
}
