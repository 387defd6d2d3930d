//! Structural questions about IR blocks that if-conversion asks: does a loop run
//! at most once, may a block be left early, does it contain something only the
//! scalar code can do, which block owns a local. Pure functions of the IR; they
//! know nothing of masks, lanes or targets.

use super::GuardKind;
use crate::diagnostics::Span;
use crate::ir::verify::contains_own_continue;
use crate::ir::{Block, Inst, InstKind};

/// Identity of a block of the function being walked.
pub(super) type BlockKey = *const Block;

/// The loop body never reaches the latch: it ends every path with `break` or
/// `return` and has no `continue`, so the loop runs at most once.
pub(super) fn is_one_shot(body: &Block) -> bool {
    fn falls_through(block: &Block) -> bool {
        match block.insts.last().map(|i| &i.kind) {
            Some(InstKind::Break | InstKind::Return(_)) => false,
            Some(InstKind::If {
                then_block,
                else_block,
                ..
            }) => falls_through(then_block) || falls_through(else_block),
            _ => true,
        }
    }
    !falls_through(body) && !contains_own_continue(body)
}

/// The first thing in `block` (nested blocks included) that only the scalar code
/// can do: a loop with a back edge, a call, `print!`.
pub(super) fn scalar_only(block: &Block) -> Option<(GuardKind, Span)> {
    block.insts.iter().find_map(|i| match &i.kind {
        InstKind::Call { .. } => Some((GuardKind::Call, i.span)),
        InstKind::Print { .. } => Some((GuardKind::Print, i.span)),
        InstKind::If {
            then_block,
            else_block,
            ..
        } => scalar_only(then_block).or_else(|| scalar_only(else_block)),
        InstKind::Loop { body, .. } if !is_one_shot(body) => Some((GuardKind::Loop, i.span)),
        InstKind::Loop { header, body, .. } => scalar_only(header).or_else(|| scalar_only(body)),
        _ => None,
    })
}

/// A `return` anywhere inside `block` (nested blocks included).
pub(super) fn returns_in(block: &Block) -> bool {
    block.insts.iter().any(returns)
}

/// A `return` in `i` or anywhere inside it.
fn returns(i: &Inst) -> bool {
    match &i.kind {
        InstKind::Return(_) => true,
        other => other.blocks().any(returns_in),
    }
}

/// Some lane may leave `block` other than by reaching its end: a `break` or
/// `continue` of an enclosing loop, or a `return`.
pub(super) fn leaves(block: &Block) -> bool {
    block.insts.iter().any(|i| match &i.kind {
        InstKind::Break | InstKind::Continue | InstKind::Return(_) => true,
        InstKind::If {
            then_block,
            else_block,
            ..
        } => leaves(then_block) || leaves(else_block),
        // Its own `break`s and `continue`s stay inside the loop.
        InstKind::Loop { .. } => returns(i),
        _ => false,
    })
}

/// For each local, the innermost block containing every `GetLocal`/`SetLocal` of
/// it (`None` for locals never accessed).
pub(super) fn owner_blocks(body: &Block, locals: usize) -> Vec<Option<BlockKey>> {
    fn walk(block: &Block, path: &mut Vec<BlockKey>, common: &mut [Option<Vec<BlockKey>>]) {
        path.push(block as BlockKey);
        for inst in &block.insts {
            let local = match &inst.kind {
                InstKind::GetLocal(l) | InstKind::SetLocal(l, _) => Some(l.0 as usize),
                _ => None,
            };
            if let Some(slot) = local.and_then(|l| common.get_mut(l)) {
                *slot = Some(match slot.take() {
                    None => path.clone(),
                    Some(prefix) => {
                        let n = prefix
                            .iter()
                            .zip(path.iter())
                            .take_while(|(a, b)| a == b)
                            .count();
                        prefix[..n].to_vec()
                    }
                });
            }
            for nested in inst.kind.blocks() {
                walk(nested, path, common);
            }
        }
        path.pop();
    }
    let mut common = vec![None; locals];
    walk(body, &mut Vec::new(), &mut common);
    common
        .into_iter()
        .map(|p| p.and_then(|p| p.last().copied()))
        .collect()
}
