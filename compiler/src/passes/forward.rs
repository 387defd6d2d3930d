//! Forwarding of scalar locals in straight-line code: a `get l` that follows a
//! `set l, v` in the same block, with nothing between them that writes `l` (a
//! later `set l` forwards its own value; an `If` or `Loop` whose blocks write
//! `l` forwards nothing after it), is `v`: its uses read `v` and the `get` is
//! gone. So is a second `get l` after a first one with no write between: it
//! reads the first one's value.
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
//! The blocks of an `If` start with what is known where it stands; a loop's
//! blocks start with nothing known (they run again after the loop's own
//! writes). Functions with host instructions (interpreted `main`)
//! are left as they are. This pass knows the IR only.

use crate::collections::{HashMap, HashSet};

use super::rename::replace_uses;
use crate::ir::*;

/// Forwards locals in every function of `program`.
pub fn forward_program(program: &mut Program) {
    for f in &mut program.functions {
        forward_locals(f);
    }
}

/// Forwards the scalar locals of `f` (see the module docs).
pub fn forward_locals(f: &mut Function) {
    if super::has_host_code(f) {
        return;
    }
    let mut body = std::mem::take(&mut f.body);
    let mut forwarded = HashMap::default();
    forward_block(f, &mut body, HashMap::default(), &mut forwarded);
    if !forwarded.is_empty() {
        replace_uses(&mut body, &forwarded);
    }
    f.body = body;
}

/// Forwards within `block` and the blocks nested in it, `known` the value
/// of each local known on entry, recording in `forwarded` the value each
/// removed `get` read; returns the locals `block` writes, nested blocks
/// included.
fn forward_block(
    f: &Function,
    block: &mut Block,
    mut known: HashMap<LocalId, ValueId>,
    forwarded: &mut HashMap<ValueId, ValueId>,
) -> HashSet<LocalId> {
    let mut written: HashSet<LocalId> = HashSet::default();
    for mut inst in std::mem::take(&mut block.insts) {
        // The blocks of an `If` run once, from here: they start with what is
        // known here. A loop's blocks run again after its own writes.
        let inherited = match inst.kind {
            InstKind::If { .. } => known.clone(),
            _ => HashMap::default(),
        };
        let mut nested_writes = Vec::new();
        for nested in inst.kind.blocks_mut() {
            nested_writes.extend(forward_block(f, nested, inherited.clone(), forwarded));
        }
        for l in nested_writes {
            known.remove(&l);
            written.insert(l);
        }
        match (&inst.kind, inst.result) {
            (InstKind::SetLocal(l, v), _) => {
                written.insert(*l);
                if matches!(f.local(*l).ty, Type::Scalar(_)) {
                    known.insert(*l, *forwarded.get(v).unwrap_or(v));
                }
            }
            (InstKind::GetLocal(l), Some(r)) => match known.get(l) {
                Some(&v) => {
                    forwarded.insert(r, v);
                    continue;
                }
                None if matches!(f.local(*l).ty, Type::Scalar(_)) => {
                    known.insert(*l, r);
                }
                None => {}
            },
            _ => {}
        }
        block.insts.push(inst);
    }
    written
}

#[cfg(test)]
mod tests;
