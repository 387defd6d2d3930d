//! [`TargetHooks`]: where the LLVM targets part ways. The shared lowering
//! (`lower`) calls these for what differs between the GPU (`nvptx/hooks.rs`) and
//! the host CPU (`host/hooks.rs`); it must not know either target.

use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, FunctionValue};

use super::lower::Lowerer;
use super::LlvmError;
use crate::diagnostics::Span;
use crate::ir::spmd::SpmdInst;
use crate::ir::{self, Arg, FuncId};

/// What one LLVM target does differently from the others; the shared lowering
/// calls these where the GPU and the host CPU part ways.
pub(super) trait TargetHooks<'ctx> {
    /// Runs once the frame is bound, in the entry block (the GPU binds and zeroes
    /// a `#[kernel]`'s shared arrays here).
    fn enter(&self, _l: &mut Lowerer<'ctx, '_>) -> Result<(), LlvmError> {
        Ok(())
    }
    /// Ends a trap block after its call of `kern$trap`: the GPU's thread has
    /// stopped there, the host's function returns to its caller.
    fn end_trap_block(&self, l: &mut Lowerer<'ctx, '_>) -> Result<(), LlvmError>;
    /// A target's own code for a call of `callee` (the GPU's fast-math
    /// instructions), or `None` for an ordinary call.
    fn substitute_call(
        &self,
        _l: &mut Lowerer<'ctx, '_>,
        _callee: &ir::Function,
        _args: &[Arg],
    ) -> Result<Option<BasicValueEnum<'ctx>>, LlvmError> {
        Ok(None)
    }
    /// Emits the call of kern function `callee` (`function`, with the trap
    /// record first in `args`) at `span`, with whatever checks the target makes
    /// around calls (the GPU makes none), and yields its result.
    fn call(
        &self,
        l: &mut Lowerer<'ctx, '_>,
        _callee: FuncId,
        function: FunctionValue<'ctx>,
        args: &[BasicMetadataValueEnum<'ctx>],
        _span: Span,
    ) -> Result<Option<BasicValueEnum<'ctx>>, LlvmError> {
        let call = l.b.build_call(function, args, "")?;
        Ok(call.try_as_basic_value().basic())
    }
    /// An SPMD instruction other than an atomic (thread indices, barriers,
    /// shared arrays).
    fn spmd(
        &self,
        l: &mut Lowerer<'ctx, '_>,
        inst: &SpmdInst,
        span: Span,
    ) -> Result<Option<BasicValueEnum<'ctx>>, LlvmError>;
    /// `print!`/`println!`.
    fn print(&self, l: &mut Lowerer<'ctx, '_>, inst: &ir::Inst) -> Result<(), LlvmError>;
}
