//! Constant folding over kern IR.
//!
//! Folds pure operations whose operands are constants, using the same `ir::eval`
//! functions the interpreter uses, so folding never changes a result (bit for bit:
//! NaN payloads and signed zeros included). Operations that would trap are left in
//! place so the error still happens at run time with its span. An `If` whose
//! condition folds is replaced by the block it always runs (what follows it in its
//! block is dropped when that block ends in `Break`, `Continue` or `Return`: it
//! could never run); values defined in that block stay defined once, now visible
//! to more of the function, which the scoping rules allow.

use crate::collections::HashMap;

use crate::ir::eval::{eval_binary, eval_bitcast, eval_cast, eval_cmp, eval_intrinsic, eval_unary};
use crate::ir::*;

pub fn fold_program(program: &mut Program) {
    for f in &mut program.functions {
        fold_constants(f);
    }
}

/// Replaces every foldable instruction of `f` by a `Const`.
pub fn fold_constants(f: &mut Function) {
    let mut known: HashMap<ValueId, ScalarValue> = HashMap::default();
    fold_block(&mut f.body, &mut known);
}

fn fold_block(block: &mut Block, known: &mut HashMap<ValueId, ScalarValue>) {
    let insts = std::mem::take(&mut block.insts);
    for mut inst in insts {
        if let InstKind::If {
            cond,
            then_block,
            else_block,
        } = &mut inst.kind
        {
            if let Some(ScalarValue::Bool(taken)) = known.get(cond) {
                let mut runs = std::mem::take(if *taken { then_block } else { else_block });
                fold_block(&mut runs, known);
                block.insts.append(&mut runs.insts);
                let ends = block.insts.last().is_some_and(|i| {
                    matches!(
                        i.kind,
                        InstKind::Break | InstKind::Continue | InstKind::Return(_)
                    )
                });
                if ends {
                    return;
                }
                continue;
            }
        }
        if let InstKind::If { .. } | InstKind::Loop { .. } = inst.kind {
            for nested in inst.kind.blocks_mut() {
                fold_block(nested, known);
            }
            block.insts.push(inst);
            continue;
        }
        let folded = {
            let k = |v: &ValueId| known.get(v).copied();
            match &inst.kind {
                InstKind::Const(c) => Some(*c),
                InstKind::Unary(op, a) => k(a).map(|a| eval_unary(*op, a)),
                InstKind::Binary(op, a, b) => match (k(a), k(b)) {
                    (Some(a), Some(b)) => eval_binary(*op, a, b).ok(),
                    _ => None,
                },
                InstKind::Cmp(op, a, b) => match (k(a), k(b)) {
                    (Some(a), Some(b)) => Some(ScalarValue::Bool(eval_cmp(*op, a, b))),
                    _ => None,
                },
                InstKind::Cast(a, t) => k(a).map(|a| eval_cast(a, *t)),
                InstKind::Bitcast(a, t) => k(a).map(|a| eval_bitcast(a, *t)),
                InstKind::Select {
                    cond,
                    if_true,
                    if_false,
                } => match k(cond) {
                    Some(ScalarValue::Bool(true)) => k(if_true),
                    Some(_) => k(if_false),
                    None => None,
                },
                InstKind::Intrinsic(i, args) => {
                    let values: Option<Vec<ScalarValue>> = args.iter().map(k).collect();
                    values.map(|v| eval_intrinsic(*i, &v))
                }
                _ => None,
            }
        };
        if let (Some(value), Some(result)) = (folded, inst.result) {
            known.insert(result, value);
            inst.kind = InstKind::Const(value);
        }
        block.insts.push(inst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::build::FunctionBuilder;

    #[test]
    fn folds_pure_constant_arithmetic_but_not_traps() {
        let mut b = FunctionBuilder::new("f", Some(ScalarType::I32), Default::default());
        let two = b.constant(ScalarValue::I32(2));
        let three = b.constant(ScalarValue::I32(3));
        let six = b.binary(BinaryOp::Mul, two, three);
        let zero = b.constant(ScalarValue::I32(0));
        let trap = b.binary(BinaryOp::Div, six, zero);
        b.inst(InstKind::Return(Some(trap)));
        let mut f = b.finish();
        fold_constants(&mut f);
        assert_eq!(f.body.insts[2].kind, InstKind::Const(ScalarValue::I32(6)));
        assert!(matches!(
            f.body.insts[4].kind,
            InstKind::Binary(BinaryOp::Div, _, _)
        ));
    }
}
