//! Forwarding of scalar locals in straight-line code: a `get l` that follows a
//! `set l, v` in the same block, with nothing between them that writes `l` (a
//! later `set l` forwards its own value; an `If` or `Loop` whose blocks write
//! `l` forwards nothing after it), is `v`: its uses read `v` and the `get` is
//! gone.
//!
//! What it is for: an unrolled loop and an inlined function carry their state
//! in locals (`key0 = key0 + W0` once per round of Philox, `x0 = hi1 ^ x1 ^
//! key0`), and loop-invariant code motion ([`super::licm`]) moves only
//! instructions whose operands are values defined outside the loop, never a
//! `get` of a local the loop writes. Forwarded, Philox's key schedule, which
//! depends on the seed only, is a chain of additions on the seed, and leaves
//! the loop over the samples; its rounds' products fold where an input is a
//! constant.
//!
//! Every use of a `get` reads the very value the `get` would have read, so no
//! result changes. `v` is defined before the `set`, so it is visible wherever
//! the `get`'s value was (later in the block, and in blocks nested there).
//! Blocks start with nothing known: a nested block does not see what its
//! parent set before it. Functions with host instructions (interpreted `main`)
//! are left as they are. This pass knows the IR only.

use crate::collections::{HashMap, HashSet};

use super::rename::remap;
use crate::ir::*;

/// Forwards locals in every function of `program`.
pub fn forward_program(program: &mut Program) {
    for f in &mut program.functions {
        forward_locals(f);
    }
}

/// Forwards the scalar locals of `f` (see the module docs).
pub fn forward_locals(f: &mut Function) {
    if f.body
        .insts_deep()
        .any(|i| matches!(i.kind, InstKind::Host { .. }))
    {
        return;
    }
    let mut body = std::mem::take(&mut f.body);
    let mut forwarded = HashMap::default();
    forward_block(f, &mut body, &mut forwarded);
    if !forwarded.is_empty() {
        substitute(&mut body, &forwarded);
    }
    f.body = body;
}

/// Forwards within `block` and the blocks nested in it, recording in
/// `forwarded` the value each removed `get` read; returns the locals `block`
/// writes, nested blocks included.
fn forward_block(
    f: &Function,
    block: &mut Block,
    forwarded: &mut HashMap<ValueId, ValueId>,
) -> HashSet<LocalId> {
    let mut written: HashSet<LocalId> = HashSet::default();
    let mut known: HashMap<LocalId, ValueId> = HashMap::default();
    for mut inst in std::mem::take(&mut block.insts) {
        for nested in inst.kind.blocks_mut() {
            for l in forward_block(f, nested, forwarded) {
                known.remove(&l);
                written.insert(l);
            }
        }
        match (&inst.kind, inst.result) {
            (InstKind::SetLocal(l, v), _) => {
                written.insert(*l);
                if matches!(f.local(*l).ty, Type::Scalar(_)) {
                    known.insert(*l, *forwarded.get(v).unwrap_or(v));
                }
            }
            (InstKind::GetLocal(l), Some(r)) => {
                if let Some(&v) = known.get(l) {
                    forwarded.insert(r, v);
                    continue;
                }
            }
            _ => {}
        }
        block.insts.push(inst);
    }
    written
}

/// Makes every use of a key of `forwarded` in `block` a use of its value.
fn substitute(block: &mut Block, forwarded: &HashMap<ValueId, ValueId>) {
    let v = |x: &ValueId| *forwarded.get(x).unwrap_or(x);
    for inst in &mut block.insts {
        match &mut inst.kind {
            InstKind::If { cond, .. } => *cond = v(cond),
            InstKind::Loop { cond, counted, .. } => {
                if let Some(c) = cond {
                    *c = v(c);
                }
                if let Some(c) = counted {
                    c.induction = v(&c.induction);
                    c.step = v(&c.step);
                }
            }
            kind => *kind = remap(kind, v, |l| *l),
        }
        for nested in inst.kind.blocks_mut() {
            substitute(nested, forwarded);
        }
    }
}

#[cfg(test)]
mod tests;
