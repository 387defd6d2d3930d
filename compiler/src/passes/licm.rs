//! Loop-invariant code motion over kern IR.
//!
//! An instruction at the top level of a loop's `header` or `body` moves to just
//! before the loop when it is pure and cannot trap, and every operand is defined
//! outside the loop or by an instruction that moves too: `Unary`, `Binary` (not
//! integer `Div`/`Rem`, which trap), `Cmp`, `Cast`, `Bitcast`, `Select`,
//! `Intrinsic`, and `GetLocal`/`ArrayLen`/`ArrayStride` of a local the loop never
//! sets. An integer constant (or a float `+0.0`) moves only when a moved
//! instruction uses it: it is cheaper to rematerialise in the loop (an
//! immediate operand, an `xor`) than to keep in a register across it. Any other
//! float constant always moves ([`held_in_a_register`]): rematerialised, it
//! costs two instructions at each use (`movabs` and `vmovq` on x86-64), which in
//! a loop bound by one division (midpoint integration's `4.0 / (1.0 + x * x)`)
//! were 6 % of its time.
//! Inner loops are done first, so an invariant climbs out of every loop it is
//! invariant in.
//!
//! Moving such an instruction never changes a result: it computes the same bits
//! before the loop as in it (IR semantics are deterministic, floats included), and
//! running it when the loop runs zero times has no effect, since it cannot trap.
//! Instructions in nested `If` blocks and in the latch stay (the latch holds the
//! counted loop's step, which the verifier wants there), as do the loop's
//! condition and induction values. This pass knows the IR only.

use crate::collections::{HashMap, HashSet};

use super::rename::operands;

use crate::ir::*;

/// Hoists loop invariants in every function of `program`.
pub fn hoist_program(program: &mut Program) {
    for f in &mut program.functions {
        hoist_invariants(f);
    }
}

/// Hoists loop invariants in `f`.
pub fn hoist_invariants(f: &mut Function) {
    let mut body = std::mem::take(&mut f.body);
    hoist_block(f, &mut body);
    f.body = body;
}

fn hoist_block(f: &Function, block: &mut Block) {
    let insts = std::mem::take(&mut block.insts);
    for mut inst in insts {
        // Inner loops first.
        for nested in inst.kind.blocks_mut() {
            hoist_block(f, nested);
        }
        let pinned = loop_control(&inst.kind);
        if let InstKind::Loop {
            header,
            body,
            latch,
            ..
        } = &mut inst.kind
        {
            let hoisted = hoist_loop(f, header, body, latch, &pinned);
            block.insts.extend(hoisted);
        }
        block.insts.push(inst);
    }
}

/// The values the control of loop `kind` reads (its condition, a counted loop's
/// induction value and step): they stay in the loop. None for other instructions.
fn loop_control(kind: &InstKind) -> HashSet<ValueId> {
    let InstKind::Loop { cond, counted, .. } = kind else {
        return HashSet::default();
    };
    let declared = counted.iter().flat_map(|c| [c.induction, c.step]);
    cond.iter().copied().chain(declared).collect()
}

/// Removes the invariant instructions of `header` and `body` (top level) and
/// returns them in their order of execution.
fn hoist_loop(
    f: &Function,
    header: &mut Block,
    body: &mut Block,
    latch: &Block,
    pinned: &HashSet<ValueId>,
) -> Vec<Inst> {
    let mut inside: HashSet<ValueId> = HashSet::default();
    let mut written: HashSet<LocalId> = HashSet::default();
    for b in [&*header, &*body, latch] {
        scan(b, &mut inside, &mut written);
    }
    // Candidates in execution order: header, then body. A candidate's result
    // leaves `inside`, so what uses it may be a candidate too.
    let mut candidates: HashSet<ValueId> = HashSet::default();
    let mut constants: HashSet<ValueId> = HashSet::default();
    let mut used_by_moved: HashSet<ValueId> = HashSet::default();
    for b in [&*header, &*body] {
        for inst in &b.insts {
            let Some(result) = inst.result else { continue };
            if pinned.contains(&result) {
                continue;
            }
            let Some(operands) = movable_operands(f, &inst.kind, &written) else {
                continue;
            };
            if operands.iter().any(|v| inside.contains(v)) {
                continue;
            }
            inside.remove(&result);
            candidates.insert(result);
            if matches!(inst.kind, InstKind::Const(c) if !held_in_a_register(c)) {
                constants.insert(result);
            } else {
                used_by_moved.extend(operands);
            }
        }
    }
    let moves = |inst: &Inst| {
        inst.result.is_some_and(|r| {
            candidates.contains(&r) && (!constants.contains(&r) || used_by_moved.contains(&r))
        })
    };
    let mut hoisted = Vec::new();
    for b in [header, body] {
        let (out, stay): (Vec<Inst>, Vec<Inst>) = std::mem::take(&mut b.insts)
            .into_iter()
            .partition(|i| moves(i));
        hoisted.extend(out);
        b.insts = stay;
    }
    hoisted
}

/// Whether constant `c` moves out of every loop it stands in: a float other
/// than `+0.0`, which the baseline computes once where it stands when a loop
/// uses it ([`held_constants`]), so out of the loop it stays in a register;
/// other constants are cheaper to rematerialise at each use.
pub fn held_in_a_register(c: ScalarValue) -> bool {
    c.ty().is_float() && c.to_bits() != 0
}

/// The constants of `f` that qualify for [`held_in_a_register`] and are read
/// inside a loop they stand outside of (where this pass put them): what the
/// baseline computes once instead of at each use.
pub fn held_constants(f: &Function) -> HashSet<ValueId> {
    fn walk(
        block: &Block,
        depth: u32,
        defined: &mut HashMap<ValueId, u32>,
        deepest_use: &mut HashMap<ValueId, u32>,
    ) {
        for inst in &block.insts {
            for v in operands(&inst.kind) {
                let d = deepest_use.entry(v).or_default();
                *d = (*d).max(depth);
            }
            if let (InstKind::Const(c), Some(r)) = (&inst.kind, inst.result) {
                if held_in_a_register(*c) {
                    defined.insert(r, depth);
                }
            }
            let inner = depth + u32::from(matches!(inst.kind, InstKind::Loop { .. }));
            for nested in inst.kind.blocks() {
                walk(nested, inner, defined, deepest_use);
            }
        }
    }
    let (mut defined, mut deepest_use) = (HashMap::default(), HashMap::default());
    walk(&f.body, 0, &mut defined, &mut deepest_use);
    defined
        .into_iter()
        .filter(|(v, depth)| deepest_use.get(v).is_some_and(|d| d > depth))
        .map(|(v, _)| v)
        .collect()
}

/// The operands of `kind` when it may move out of a loop that sets the locals
/// `written`; `None` when it must stay.
pub(super) fn movable_operands(
    f: &Function,
    kind: &InstKind,
    written: &HashSet<LocalId>,
) -> Option<Vec<ValueId>> {
    Some(match kind {
        InstKind::Const(_) => vec![],
        InstKind::GetLocal(l)
        | InstKind::ArrayLen { array: l, .. }
        | InstKind::ArrayStride { array: l, .. } => {
            if written.contains(l) {
                return None;
            }
            vec![]
        }
        InstKind::Unary(_, a) | InstKind::Cast(a, _) | InstKind::Bitcast(a, _) => vec![*a],
        InstKind::Binary(op, a, b) => {
            if matches!(op, BinaryOp::Div | BinaryOp::Rem) && !f.value_type(*a).is_float() {
                return None;
            }
            vec![*a, *b]
        }
        InstKind::Cmp(_, a, b) => vec![*a, *b],
        InstKind::Select {
            cond,
            if_true,
            if_false,
        } => vec![*cond, *if_true, *if_false],
        InstKind::Intrinsic(_, args) => args.clone(),
        _ => return None,
    })
}

/// Collects the values defined and the locals set anywhere in `block`.
pub(super) fn scan(block: &Block, defined: &mut HashSet<ValueId>, written: &mut HashSet<LocalId>) {
    for inst in block.insts_deep() {
        defined.extend(inst.result);
        if let InstKind::SetLocal(l, _) = &inst.kind {
            written.insert(*l);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;

    use crate::passes::tests::lowered as compile;

    /// Instructions at the top level of the loops of `block` (nested loops too).
    fn loop_insts(block: &Block, out: &mut Vec<InstKind>) {
        for inst in &block.insts {
            if let InstKind::Loop { header, body, .. } = &inst.kind {
                for b in [header, body] {
                    out.extend(b.insts.iter().map(|i| i.kind.clone()));
                    loop_insts(b, out);
                }
            }
        }
    }

    #[test]
    fn invariants_leave_their_loops_and_results_stay() {
        let src = "
            fn f(n: i64, x: f64, d: i64) -> f64 {
                let mut t = 0.0;
                for i in 0..n {
                    let scale = (x * 2.0).sqrt() + 1.0;
                    let q = 100 / d;
                    for j in 0..n {
                        t += scale * ((x + 3.0) as f64) + (j as f64) + (q as f64);
                    }
                    t += i as f64;
                }
                t
            }";
        let program = compile(src);
        let mut hoisted = program.clone();
        hoist_program(&mut hoisted);
        assert!(crate::ir::verify::verify_program(&hoisted).is_ok());
        let id = program.find("f").unwrap();
        let mut inside = Vec::new();
        loop_insts(&hoisted.function(id).body, &mut inside);
        assert!(
            !inside
                .iter()
                .any(|k| matches!(k, InstKind::Intrinsic(Intrinsic::Sqrt, _))),
            "the square root left both loops"
        );
        assert!(
            inside
                .iter()
                .any(|k| matches!(k, InstKind::Binary(BinaryOp::Div, _, _))),
            "an integer division (it can trap) stays in its loop"
        );
        for (n, x, d) in [
            (0, 1.5, 1),
            (3, 2.0, 7),
            (4, 1.0, 3),
            (2, 0.5, 0),
            (0, 0.5, 0),
        ] {
            let run = |p: &Program| {
                Interpreter::new(p).call_scalars(
                    id,
                    &[
                        ScalarValue::I64(n),
                        ScalarValue::F64(x),
                        ScalarValue::I64(d),
                    ],
                    &mut std::io::sink(),
                )
            };
            assert_eq!(run(&program), run(&hoisted), "({n}, {x}, {d})");
        }
    }

    /// Midpoint integration's loop: its float constants leave it and are the
    /// ones the baseline holds in registers; the integer and `+0.0` constants
    /// a loop reads stay where they are rematerialised.
    #[test]
    fn float_constants_leave_their_loops_and_are_held() {
        let src = "
            fn f(n: i64) -> f64 {
                let h = 1.0 / n as f64;
                let mut sum = 0.0;
                for i in 0..n {
                    let x = h * (i as f64 + 0.5);
                    let k = (i % 3) as f64 + 0.0;
                    sum += 4.0 / (1.0 + x * x) + k;
                }
                sum * h
            }";
        let mut program = compile(src);
        hoist_program(&mut program);
        let f = program.function(program.find("f").unwrap());
        let mut inside = Vec::new();
        loop_insts(&f.body, &mut inside);
        let constants: Vec<ScalarValue> = inside
            .iter()
            .filter_map(|k| match k {
                InstKind::Const(c) => Some(*c),
                _ => None,
            })
            .collect();
        assert!(
            constants.iter().all(|c| !held_in_a_register(*c)),
            "{constants:?}"
        );
        assert!(constants.contains(&ScalarValue::I64(3)), "{constants:?}");
        assert!(constants.contains(&ScalarValue::F64(0.0)), "{constants:?}");
        let held: Vec<ScalarValue> = held_constants(f)
            .into_iter()
            .filter_map(|v| {
                f.body.insts.iter().find_map(|i| match i.kind {
                    InstKind::Const(c) if i.result == Some(v) => Some(c),
                    _ => None,
                })
            })
            .collect();
        for c in [0.5, 4.0, 1.0] {
            assert!(held.contains(&ScalarValue::F64(c)), "{c} in {held:?}");
        }
    }
}
