//! The SPMD instructions of a `#[kernel]` (`ir::spmd`) on the GPU: which thread
//! am I (PTX's special registers), the block barrier, and where atomics and shared
//! arrays go (`atomics`, `shared`).
//!
//! A `#[kernel]` becomes one `.entry` run by every thread of the launch, so the
//! IR's launch coordinates are the hardware's: `thread_idx` is `%tid`,
//! `block_idx` `%ctaid`, `block_dim` `%ntid` and `grid_dim` `%nctaid`, each a
//! 32-bit register zero-extended to `usize`. `sync_threads()` is `bar.sync 0`,
//! which also orders the block's memory accesses as the IR promises. It knows
//! the IR's SPMD instructions and the NVVM intrinsics, nothing of the launch.

use inkwell::builder::Builder;
use inkwell::values::{BasicValueEnum, FunctionValue, IntValue};

use crate::backend::llvm::lower::{Lowerer, Unit};
use crate::backend::llvm::LlvmError;
use crate::diagnostics::Span;
use crate::ir::spmd::{SpmdIndex, SpmdInst};
use crate::ir::FunctionKind;

/// The NVVM intrinsic `name` of type `fn() -> i32` (special registers) or
/// `fn()` (the barrier), declared on first use. LLVM gives an intrinsic its
/// attributes from its name (`readnone` registers, `convergent` barrier).
fn intrinsic<'ctx>(unit: &Unit<'ctx>, name: &str, returns_i32: bool) -> FunctionValue<'ctx> {
    if let Some(f) = unit.module.get_function(name) {
        return f;
    }
    let fn_type = if returns_i32 {
        unit.cx.i32_type().fn_type(&[], false)
    } else {
        unit.cx.void_type().fn_type(&[], false)
    };
    unit.module.add_function(name, fn_type, None)
}

/// Special register `register` (`tid.x`, `nctaid.z`, ...) as an `i64`.
pub(super) fn special_register<'ctx>(
    unit: &Unit<'ctx>,
    b: &Builder<'ctx>,
    register: &str,
) -> Result<IntValue<'ctx>, LlvmError> {
    let f = intrinsic(unit, &format!("llvm.nvvm.read.ptx.sreg.{register}"), true);
    let v = b
        .build_call(f, &[], register)?
        .try_as_basic_value()
        .basic()
        .expect("special registers are i32")
        .into_int_value();
    Ok(b.build_int_z_extend(v, unit.cx.i64_type(), "")?)
}

/// `bar.sync 0`: waits for every (not exited) thread of the block.
pub(super) fn barrier<'ctx>(unit: &Unit<'ctx>, b: &Builder<'ctx>) -> Result<(), LlvmError> {
    let f = intrinsic(unit, "llvm.nvvm.barrier0", false);
    b.build_call(f, &[], "")?;
    Ok(())
}

/// The PTX register of a launch coordinate.
fn register_name(index: SpmdIndex) -> &'static str {
    match index {
        SpmdIndex::ThreadIdx => "tid",
        SpmdIndex::BlockIdx => "ctaid",
        SpmdIndex::BlockDim => "ntid",
        SpmdIndex::GridDim => "nctaid",
    }
}

impl<'ctx> Lowerer<'ctx, '_> {
    /// An SPMD instruction other than an atomic (those are the shared
    /// lowering's).
    pub(super) fn gpu_spmd(
        &mut self,
        inst: &SpmdInst,
        _span: Span,
    ) -> Result<Option<BasicValueEnum<'ctx>>, LlvmError> {
        let in_kernel = matches!(self.func.kind, FunctionKind::Kernel { .. });
        match inst {
            SpmdInst::Atomic(_) => Err(self.invalid("an atomic reached the GPU's SPMD hook")),
            // The IR keeps the others in kernel bodies (`ir::spmd_verify`), and a
            // kernel is always an entry, never a device function.
            _ if !in_kernel => {
                Err(self.invalid(format!("`{}` outside of a #[kernel] entry", inst.name())))
            }
            SpmdInst::Index(index, axis) => {
                let register = format!("{}.{}", register_name(*index), axis.name());
                Ok(Some(
                    special_register(self.unit, &self.b, &register)?.into(),
                ))
            }
            SpmdInst::SyncThreads => {
                barrier(self.unit, &self.b)?;
                Ok(None)
            }
            // Bound (and zeroed) by the kernel's frame for the whole body: the
            // memory is the block's wherever the declaration appears.
            SpmdInst::SharedArray { array, .. } => {
                self.array(*array)?;
                Ok(None)
            }
        }
    }
}
