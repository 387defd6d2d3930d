//! The interpreter's side of SPMD instructions (`ir::spmd`).
//!
//! The interpreter runs a kernel through its launch loop (`loops::spmd_launch`), one
//! thread after the other, where thread indices are ordinary parameters and only
//! atomics are left: on one thread, an atomic is a read, the new value from
//! `spmd::atomic_new_value`, and a write. Barriers and shared arrays need
//! concurrent threads, which the interpreter does not have; reaching one (or a
//! thread index outside a launch loop) is a trap that says so.

use super::{array_desc, array_elem, element_offset, read_element, write_element, Frame};
use crate::ir::spmd::{atomic_new_value, SpmdInst};
use crate::ir::{Function, ScalarValue, TrapKind};

/// Runs `inst`; `Some(value)` for instructions with a result.
pub(super) fn run(
    f: &Function,
    inst: &SpmdInst,
    frame: &mut Frame,
) -> Result<Option<ScalarValue>, TrapKind> {
    match inst {
        SpmdInst::Atomic(atomic) => {
            let desc = array_desc(frame, atomic.array);
            let elem = array_elem(f, atomic.array);
            let offset = element_offset(&desc, &[atomic.index], frame, true)?;
            let operands: Vec<ScalarValue> = atomic
                .operands
                .iter()
                .map(|v| frame.values[v.0 as usize])
                .collect();
            // Safety: the caller of `Interpreter::call` guarantees the view is valid
            // and writable (the verifier checked the array is `&mut`); the index
            // was bounds-checked just above.
            let old = unsafe { read_element(desc.data, offset, elem) };
            let new = atomic_new_value(atomic.op, old, &operands);
            unsafe { write_element(desc.data, offset, elem, new) };
            Ok(Some(old))
        }
        SpmdInst::Index(..) | SpmdInst::SyncThreads | SpmdInst::SharedArray { .. } => {
            Err(TrapKind::Host(format!(
                "`{}` can only run in a kernel launch on `--target cuda`, or through the launch loop of `cpu`/`parallel`",
                inst.name()
            )))
        }
    }
}
