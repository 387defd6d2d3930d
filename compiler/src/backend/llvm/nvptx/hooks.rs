//! The GPU's [`TargetHooks`]: a trapping thread stops (`kern$trap` ends in PTX
//! `exit`, so its block is unreachable), calls are plain device-function calls
//! (no recursion reaches the GPU, `check` refuses it), the SPMD instructions are
//! PTX's special registers, barrier and shared memory, fast math substitutes
//! some stdlib calls, and `print!` never gets here (`check` refuses it).

use std::cell::RefCell;
use std::collections::HashMap;

use inkwell::values::BasicValueEnum;

use super::fastmath::collect_widened_f32;
use super::shared::SharedArray;
use crate::backend::llvm::hooks::TargetHooks;
use crate::backend::llvm::lower::Lowerer;
use crate::backend::llvm::LlvmError;
use crate::diagnostics::Span;
use crate::ir::spmd::SpmdInst;
use crate::ir::{self, Arg, ValueId};

/// The hooks of one GPU function.
pub(super) struct Ptx<'ctx> {
    pub fastmath: bool,
    /// A `#[kernel]`'s shared arrays: bound for the whole body (the IR's
    /// `SharedArray` is the block's memory wherever it appears) and zeroed at entry.
    pub shared_arrays: Vec<SharedArray<'ctx>>,
    /// With fast math: each `x as f64` of an `f32` value, result → `x`.
    pub widened: RefCell<HashMap<ValueId, ValueId>>,
}

impl<'ctx> TargetHooks<'ctx> for Ptx<'ctx> {
    fn enter(&self, l: &mut Lowerer<'ctx, '_>) -> Result<(), LlvmError> {
        if self.fastmath {
            collect_widened_f32(l.func, &l.func.body, &mut self.widened.borrow_mut());
        }
        l.bind_shared_arrays(&self.shared_arrays)
    }

    fn end_trap_block(&self, l: &mut Lowerer<'ctx, '_>) -> Result<(), LlvmError> {
        l.b.build_unreachable()?;
        Ok(())
    }

    fn substitute_call(
        &self,
        l: &mut Lowerer<'ctx, '_>,
        callee: &ir::Function,
        args: &[Arg],
    ) -> Result<Option<BasicValueEnum<'ctx>>, LlvmError> {
        if !self.fastmath {
            return Ok(None);
        }
        self.fast_math_call(l, callee, args)
    }

    fn spmd(
        &self,
        l: &mut Lowerer<'ctx, '_>,
        inst: &SpmdInst,
        span: Span,
    ) -> Result<Option<BasicValueEnum<'ctx>>, LlvmError> {
        l.gpu_spmd(inst, span)
    }

    fn print(&self, l: &mut Lowerer<'ctx, '_>, _inst: &ir::Inst) -> Result<(), LlvmError> {
        // Rejected with its span by `check` before lowering starts.
        Err(l.invalid("print reached the GPU lowering"))
    }
}
