//! Walking the block tree of kern IR: the blocks an instruction owns (an `If`'s
//! branches, a `Loop`'s header, body and latch) and a visit of every instruction
//! below a block, in program order.
//!
//! It owns only the tree's shape: what a visit does with an instruction (collect
//! callees, fold, print, lower) belongs to the pass, backend or interpreter that
//! walks, and it must not know any of them.

use super::{Block, Inst, InstKind};

/// The blocks `kind` (an `&InstKind` or `&mut InstKind`) owns, as an array of three
/// options: the one match behind [`InstKind::blocks`] and [`InstKind::blocks_mut`].
macro_rules! owned_blocks {
    ($kind:expr) => {
        match $kind {
            InstKind::If {
                then_block,
                else_block,
                ..
            } => [Some(then_block), Some(else_block), None],
            InstKind::Loop {
                header,
                body,
                latch,
                ..
            } => [Some(header), Some(body), Some(latch)],
            _ => [None, None, None],
        }
    };
}

impl InstKind {
    /// The blocks this instruction owns, in program order: an `If`'s then and else
    /// blocks, a `Loop`'s header, body and latch; none for any other instruction.
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        owned_blocks!(self).into_iter().flatten()
    }

    /// [`Self::blocks`], mutably.
    pub fn blocks_mut(&mut self) -> impl Iterator<Item = &mut Block> {
        owned_blocks!(self).into_iter().flatten()
    }
}

impl Block {
    /// Every instruction of this block and of the blocks nested in it, in program
    /// order: an `If` or `Loop` comes before the instructions of its blocks, and
    /// those before the instruction that follows it.
    pub fn insts_deep(&self) -> InstsDeep<'_> {
        InstsDeep {
            open: vec![self.insts.iter()],
        }
    }

    /// The locals a `SetLocal` in this block or below it writes.
    pub fn written_locals(&self) -> crate::collections::HashSet<super::LocalId> {
        self.insts_deep()
            .filter_map(|i| match i.kind {
                InstKind::SetLocal(l, _) => Some(l),
                _ => None,
            })
            .collect()
    }
}

/// The iterator of [`Block::insts_deep`].
pub struct InstsDeep<'a> {
    /// The blocks being walked, innermost last, each at its next instruction.
    open: Vec<std::slice::Iter<'a, Inst>>,
}

impl<'a> Iterator for InstsDeep<'a> {
    type Item = &'a Inst;

    fn next(&mut self) -> Option<&'a Inst> {
        loop {
            let Some(inst) = self.open.last_mut()?.next() else {
                self.open.pop();
                continue;
            };
            let at = self.open.len();
            for block in inst.kind.blocks() {
                // The first block on top, so it is walked first.
                self.open.insert(at, block.insts.iter());
            }
            return Some(inst);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{ScalarValue, ValueId};

    /// `c0; if c0 { c1 } else { c2; loop { c3 } c4 }; c5` with constants `cN = N`.
    fn nested() -> Block {
        let c = |n: i64| Inst {
            result: None,
            kind: InstKind::Const(ScalarValue::I64(n)),
            span: Default::default(),
        };
        let block = |insts: Vec<Inst>| Block { insts };
        let looped = Inst {
            result: None,
            kind: InstKind::Loop {
                header: Block::default(),
                cond: None,
                body: block(vec![c(3)]),
                latch: Block::default(),
                counted: None,
            },
            span: Default::default(),
        };
        let branch = Inst {
            result: None,
            kind: InstKind::If {
                cond: ValueId(0),
                then_block: block(vec![c(1)]),
                else_block: block(vec![c(2), looped, c(4)]),
            },
            span: Default::default(),
        };
        block(vec![c(0), branch, c(5)])
    }

    fn constants(insts: impl Iterator<Item = InstKind>) -> Vec<String> {
        insts
            .map(|k| match k {
                InstKind::Const(ScalarValue::I64(n)) => n.to_string(),
                InstKind::If { .. } => "if".into(),
                InstKind::Loop { .. } => "loop".into(),
                other => panic!("unexpected {other:?}"),
            })
            .collect()
    }

    #[test]
    fn insts_deep_visits_in_program_order() {
        let b = nested();
        let order = constants(b.insts_deep().map(|i| i.kind.clone()));
        assert_eq!(order, ["0", "if", "1", "2", "loop", "3", "4", "5"]);
    }

    #[test]
    fn blocks_are_the_owned_blocks_in_program_order() {
        let mut b = nested();
        assert_eq!(b.insts[0].kind.blocks().count(), 0);
        let branches: Vec<usize> = b.insts[1].kind.blocks().map(|b| b.insts.len()).collect();
        assert_eq!(branches, [1, 3]);
        let InstKind::If { else_block, .. } = &mut b.insts[1].kind else {
            unreachable!()
        };
        let parts: Vec<usize> = else_block.insts[1]
            .kind
            .blocks_mut()
            .map(|b| b.insts.len())
            .collect();
        assert_eq!(parts, [0, 1, 0]);
    }
}
