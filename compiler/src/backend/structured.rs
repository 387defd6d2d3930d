//! Structured control flow, lowered once for every code generator.
//!
//! kern IR's control flow is structured (`If` and `Loop` own their blocks; `Break`,
//! `Continue` and `Return` end a block; see "Structured control flow" in
//! [`crate::ir`]). Turning it into a machine CFG is the same for every backend:
//! create the blocks, branch, keep the stack of enclosing loops for
//! `break`/`continue`, and start an unreachable block after a terminator. This
//! module does that, generic over [`CfgBuilder`], the few CFG operations a
//! backend provides; a backend lowers only its instructions, and calls
//! [`lower_control`] for the rest. It must not know any engine's types.

use crate::ir::{self, InstKind, ValueId};

/// What a role a new machine block plays, for backends that name their blocks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockRole {
    Then,
    Else,
    EndIf,
    LoopHeader,
    LoopBody,
    LoopLatch,
    LoopExit,
    Unreachable,
}

impl BlockRole {
    pub fn name(self) -> &'static str {
        match self {
            BlockRole::Then => "then",
            BlockRole::Else => "else",
            BlockRole::EndIf => "endif",
            BlockRole::LoopHeader => "loop",
            BlockRole::LoopBody => "body",
            BlockRole::LoopLatch => "latch",
            BlockRole::LoopExit => "endloop",
            BlockRole::Unreachable => "dead",
        }
    }
}

/// The CFG operations of one backend's function lowering.
pub trait CfgBuilder {
    /// A machine basic block.
    type Block: Copy;
    type Error;

    fn new_block(&mut self, role: BlockRole) -> Self::Block;
    /// Continues emitting at the end of `block`.
    fn switch_to(&mut self, block: Self::Block);
    fn jump(&mut self, to: Self::Block) -> Result<(), Self::Error>;
    /// Branches on the boolean IR value `cond`.
    fn branch(
        &mut self,
        cond: ValueId,
        if_true: Self::Block,
        if_false: Self::Block,
    ) -> Result<(), Self::Error>;
    /// Returns from the function with `value` (lowered by the backend).
    fn return_value(&mut self, value: Option<ValueId>) -> Result<(), Self::Error>;
    /// Lowers the instructions of a nested block.
    fn lower_block(&mut self, block: &ir::Block) -> Result<(), Self::Error>;
    /// The stack of enclosing loops: `(latch, exit)` of each, innermost last.
    fn loop_stack(&mut self) -> &mut Vec<(Self::Block, Self::Block)>;
    fn error(&self, message: &str) -> Self::Error;
}

/// Lowers `kind` if it is control flow (`If`, `Loop`, `Break`, `Continue`,
/// `Return`) and says whether it was; such instructions define no value.
pub fn lower_control<B: CfgBuilder>(b: &mut B, kind: &InstKind) -> Result<bool, B::Error> {
    match kind {
        InstKind::If {
            cond,
            then_block,
            else_block,
        } => lower_if(b, *cond, then_block, else_block)?,
        InstKind::Loop {
            header,
            cond,
            body,
            latch,
            ..
        } => lower_loop(b, header, *cond, body, latch)?,
        InstKind::Break | InstKind::Continue => {
            let Some(&(latch, exit)) = b.loop_stack().last() else {
                return Err(b.error("`break`/`continue` outside a loop"));
            };
            let target = if matches!(kind, InstKind::Break) {
                exit
            } else {
                latch
            };
            b.jump(target)?;
            start_unreachable_block(b);
        }
        InstKind::Return(value) => {
            b.return_value(*value)?;
            start_unreachable_block(b);
        }
        _ => return Ok(false),
    }
    Ok(true)
}

/// Code after `break`/`continue`/`return` goes into a fresh block with no
/// predecessors, which the engines drop.
fn start_unreachable_block<B: CfgBuilder>(b: &mut B) {
    let dead = b.new_block(BlockRole::Unreachable);
    b.switch_to(dead);
}

fn lower_if<B: CfgBuilder>(
    b: &mut B,
    cond: ValueId,
    then_block: &ir::Block,
    else_block: &ir::Block,
) -> Result<(), B::Error> {
    let then_b = b.new_block(BlockRole::Then);
    let else_b = b.new_block(BlockRole::Else);
    let merge = b.new_block(BlockRole::EndIf);
    b.branch(cond, then_b, else_b)?;
    b.switch_to(then_b);
    b.lower_block(then_block)?;
    b.jump(merge)?;
    b.switch_to(else_b);
    b.lower_block(else_block)?;
    b.jump(merge)?;
    b.switch_to(merge);
    Ok(())
}

fn lower_loop<B: CfgBuilder>(
    b: &mut B,
    header: &ir::Block,
    cond: Option<ValueId>,
    body: &ir::Block,
    latch: &ir::Block,
) -> Result<(), B::Error> {
    let header_b = b.new_block(BlockRole::LoopHeader);
    let body_b = b.new_block(BlockRole::LoopBody);
    let latch_b = b.new_block(BlockRole::LoopLatch);
    let exit_b = b.new_block(BlockRole::LoopExit);
    b.jump(header_b)?;
    // `Break` may leave the loop from its header, body or latch (the IR spec);
    // `Continue` only appears in the body (the verifier checks that).
    b.loop_stack().push((latch_b, exit_b));
    b.switch_to(header_b);
    b.lower_block(header)?;
    match cond {
        Some(c) => b.branch(c, body_b, exit_b)?,
        None => b.jump(body_b)?,
    }
    b.switch_to(body_b);
    b.lower_block(body)?;
    b.jump(latch_b)?;
    b.switch_to(latch_b);
    b.lower_block(latch)?;
    b.jump(header_b)?;
    b.loop_stack().pop();
    b.switch_to(exit_b);
    Ok(())
}

/// Records `value` as the machine value of the instruction's `result`: every
/// instruction with a result must produce a value, and only those may.
pub fn define<V>(
    values: &mut [Option<V>],
    result: Option<ValueId>,
    value: Option<V>,
) -> Result<(), String> {
    match (result, value) {
        (Some(id), Some(v)) => {
            let slot = values
                .get_mut(id.0 as usize)
                .ok_or_else(|| "result value out of range".to_string())?;
            *slot = Some(v);
            Ok(())
        }
        (None, _) => Ok(()),
        (Some(id), None) => Err(format!("instruction defining v{} produces no value", id.0)),
    }
}
