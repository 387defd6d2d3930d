//! Operand checks every code generator makes before lowering an intrinsic or an
//! atomic. The IR verifier guarantees them, so a failure is an internal error
//! (worded once, here, for every backend); each backend wraps the message in its
//! own error type. Knows nothing of Cranelift or LLVM.

use crate::ir::spmd::AtomicOp;
use crate::ir::Intrinsic;
use crate::scalar::ScalarType;

/// An intrinsic takes exactly its arity in operands.
pub fn intrinsic_arity(op: Intrinsic, given: usize) -> Result<(), String> {
    if given == op.arity() {
        return Ok(());
    }
    Err(format!(
        "{} takes {} operands, got {given}",
        op.name(),
        op.arity()
    ))
}

/// Intrinsics are defined on floats only.
pub fn intrinsic_operand_type(op: Intrinsic, ty: ScalarType) -> Result<(), String> {
    if ty.is_float() {
        return Ok(());
    }
    Err(format!("{} is not defined on {ty}", op.name()))
}

/// An atomic takes exactly its operation's count of operands.
pub fn atomic_operand_count(op: AtomicOp, given: usize) -> Result<(), String> {
    if given == op.operand_count() {
        return Ok(());
    }
    Err(format!("atomic_{} with {given} operands", op.name()))
}
