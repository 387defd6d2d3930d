//! The verifier's rules for `InstKind::Spmd` (see [`super::spmd`]): where each
//! instruction may appear and the types of its operands and result. Scoping of the
//! operands is checked by the verifier itself like for every instruction.

use super::spmd::{atomic_element_type, AtomicInst, SpmdInst};
use super::{Function, FunctionKind, ScalarType, Type};

/// `Err(message)` when `inst` (with result type `result` and operand types
/// `values`, in `SpmdInst::values` order) breaks a rule in `f`.
pub(super) fn check(
    f: &Function,
    inst: &SpmdInst,
    result: Option<ScalarType>,
    values: &[Option<ScalarType>],
) -> Result<(), String> {
    let in_kernel = matches!(f.kind, FunctionKind::Kernel { .. });
    match inst {
        SpmdInst::Index(..) => {
            if !in_kernel {
                return Err(format!("{} outside of a kernel", inst.name()));
            }
            if result != Some(ScalarType::Usize) {
                return Err(format!("{} must define a usize", inst.name()));
            }
        }
        SpmdInst::SyncThreads => {
            if !in_kernel {
                return Err("sync_threads outside of a kernel".into());
            }
            if result.is_some() {
                return Err("sync_threads defines no value".into());
            }
        }
        SpmdInst::SharedArray { array, len } => {
            if !in_kernel {
                return Err("shared_array outside of a kernel".into());
            }
            if *len == 0 || result.is_some() {
                return Err("shared_array needs a length above 0 and defines no value".into());
            }
            if !matches!(f.locals.get(array.0 as usize).map(|l| l.ty), Some(Type::Array(a)) if a.rank == 1 && a.mutable)
                || f.params.iter().any(|p| p.local == *array)
            {
                return Err(format!(
                    "shared_array binds l{}, which is not a rank-1 mutable array local",
                    array.0
                ));
            }
        }
        SpmdInst::Atomic(AtomicInst { op, array, .. }) => {
            if f.kind == FunctionKind::Main {
                return Err("atomic in host code".into());
            }
            let Some(Type::Array(a)) = f.locals.get(array.0 as usize).map(|l| l.ty) else {
                return Err(format!("atomic on l{}, which is not an array", array.0));
            };
            if a.rank != 1 || !a.mutable || !atomic_element_type(a.elem) {
                return Err(format!(
                    "atomic on l{}: needs a rank-1 mutable array of i32, i64, u32, u64, f32 or f64",
                    array.0
                ));
            }
            if values.len() != 1 + op.operand_count() {
                return Err(format!(
                    "atomic_{} has the wrong number of operands",
                    op.name()
                ));
            }
            if values[0] != Some(ScalarType::Usize) {
                return Err("an atomic's index must be a usize".into());
            }
            if values[1..].iter().any(|t| *t != Some(a.elem)) || result != Some(a.elem) {
                return Err(format!(
                    "atomic_{} operands and result must be {}",
                    op.name(),
                    a.elem
                ));
            }
        }
    }
    Ok(())
}
