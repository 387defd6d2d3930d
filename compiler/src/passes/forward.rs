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

use crate::collections::HashMap;

use crate::ir::*;

/// Forwards locals in every function of `program`.
pub fn forward_program(program: &mut Program) {
    for f in &mut program.functions {
        forward_locals(f);
    }
}

/// Forwards the scalar locals of `f` (see the module docs).
pub fn forward_locals(f: &mut Function) {
    super::replace_found(f, |f, body| {
        let mut forward = Forward {
            f,
            known: HashMap::default(),
            undo: Vec::new(),
            forwarded: HashMap::default(),
        };
        forward.block(body);
        forward.forwarded
    });
}

struct Forward<'a> {
    f: &'a Function,
    /// The value of each local known where the walk is.
    known: HashMap<LocalId, ValueId>,
    /// What each change of `known` replaced, in order, so that an `If`'s
    /// block can give back what it learnt.
    undo: Vec<(LocalId, Option<ValueId>)>,
    /// The value each removed `get` read.
    forwarded: HashMap<ValueId, ValueId>,
}

impl Forward<'_> {
    /// Forwards within `block` and the blocks nested in it; returns the
    /// locals `block` writes, nested blocks included (some more than once).
    fn block(&mut self, block: &mut Block) -> Vec<LocalId> {
        let mut written: Vec<LocalId> = Vec::new();
        let insts = std::mem::take(&mut block.insts);
        block.insts.reserve_exact(insts.len());
        for mut inst in insts {
            let nested_writes = match &mut inst.kind {
                // An `If`'s blocks run once, from here: each starts with what is
                // known here and gives back what it learnt.
                InstKind::If {
                    then_block,
                    else_block,
                    ..
                } => {
                    let mut writes = Vec::new();
                    for b in [then_block, else_block] {
                        let mark = self.undo.len();
                        writes.extend(self.block(b));
                        self.roll_back(mark);
                    }
                    writes
                }
                // A loop's blocks run again after its own writes: each starts
                // with nothing known.
                kind => {
                    let mut writes = Vec::new();
                    for b in kind.blocks_mut() {
                        let known = std::mem::take(&mut self.known);
                        let undo = std::mem::take(&mut self.undo);
                        writes.extend(self.block(b));
                        self.known = known;
                        self.undo = undo;
                    }
                    writes
                }
            };
            for &l in &nested_writes {
                self.forget(l);
            }
            written.extend(nested_writes);
            match (&inst.kind, inst.result) {
                (InstKind::SetLocal(l, v), _) => {
                    written.push(*l);
                    if self.scalar(*l) {
                        let v = *self.forwarded.get(v).unwrap_or(v);
                        self.learn(*l, v);
                    }
                }
                (InstKind::GetLocal(l), Some(r)) => match self.known.get(l) {
                    Some(&v) => {
                        self.forwarded.insert(r, v);
                        continue;
                    }
                    None if self.scalar(*l) => self.learn(*l, r),
                    None => {}
                },
                _ => {}
            }
            block.insts.push(inst);
        }
        written
    }

    fn scalar(&self, l: LocalId) -> bool {
        matches!(self.f.local(l).ty, Type::Scalar(_))
    }

    fn learn(&mut self, l: LocalId, v: ValueId) {
        let before = self.known.insert(l, v);
        self.undo.push((l, before));
    }

    fn forget(&mut self, l: LocalId) {
        if let Some(before) = self.known.remove(&l) {
            self.undo.push((l, Some(before)));
        }
    }

    /// Undoes the changes of `known` since the undo log was `mark` long.
    fn roll_back(&mut self, mark: usize) {
        while self.undo.len() > mark {
            let (l, before) = self.undo.pop().expect("longer than the mark");
            match before {
                Some(v) => self.known.insert(l, v),
                None => self.known.remove(&l),
            };
        }
    }
}

#[cfg(test)]
mod tests;
