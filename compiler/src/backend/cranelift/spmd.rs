//! SPMD instructions (`ir::spmd`) in generated code: atomics as real hardware
//! atomics, so that the threads of a launch run concurrently on the `parallel`
//! target's pool give exact results.
//!
//! Integer atomics are one `atomic_rmw` / `atomic_cas` (sequentially consistent,
//! stronger than the IR promises). Cranelift has no float read-modify-write, so
//! float `add`/`sub`/`min`/`max` are a compare-and-swap loop on the element's bits:
//! read, compute the new value as the IR says, swap if the bits did not change in
//! between, else retry with what was seen. Thread indices, barriers and shared
//! arrays never reach this backend: the launch loop (`loops::spmd_launch`) replaced
//! the first and rejected the others.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::{types, AtomicRmwOp, BlockArg, InstBuilder, MemFlagsData, Value};
use cranelift_module::Module;

use super::lower::{clif_type, Lowerer};
use super::BackendError;
use crate::backend::operands;
use crate::diagnostics::Span;
use crate::ir::spmd::{AtomicInst, AtomicOp, SpmdInst};
use crate::ir::ScalarType;

impl<M: Module> Lowerer<'_, '_, M> {
    pub fn spmd(&mut self, inst: &SpmdInst, span: Span) -> Result<Option<Value>, BackendError> {
        match inst {
            SpmdInst::Atomic(atomic) => self.atomic(atomic, span).map(Some),
            SpmdInst::Index(..) => Err(self.error(format!(
                "`{}` has a value only in a kernel launch: compile the kernel's launch loop, not the kernel itself",
                inst.name()
            ))),
            SpmdInst::SyncThreads | SpmdInst::SharedArray { .. } => Err(self.error(format!(
                "`{}` needs the threads of a block to run at the same time, which compiled code for cpu/parallel cannot do (use --target cuda)",
                inst.name()
            ))),
        }
    }

    fn atomic(&mut self, atomic: &AtomicInst, span: Span) -> Result<Value, BackendError> {
        let (op, array, index) = (atomic.op, atomic.array, atomic.index);
        let operands = &atomic.operands[..];
        let values = operands
            .iter()
            .map(|v| self.value(*v))
            .collect::<Result<Vec<_>, _>>()?;
        operands::atomic_operand_count(op, values.len()).map_err(|m| self.error(m))?;
        let (address, elem) = self.element_address(array, &[index], true, span)?;
        let flags = MemFlagsData::trusted();
        let ty = clif_type(elem);
        let bits_ty = if elem.size_bytes() == 4 {
            types::I32
        } else {
            types::I64
        };
        if !elem.is_float() {
            let signed = elem.is_signed_int();
            let rmw = match op {
                AtomicOp::Add => AtomicRmwOp::Add,
                AtomicOp::Sub => AtomicRmwOp::Sub,
                AtomicOp::Min if signed => AtomicRmwOp::Smin,
                AtomicOp::Min => AtomicRmwOp::Umin,
                AtomicOp::Max if signed => AtomicRmwOp::Smax,
                AtomicOp::Max => AtomicRmwOp::Umax,
                AtomicOp::Exchange => AtomicRmwOp::Xchg,
                AtomicOp::CompareExchange => {
                    return Ok(self
                        .b
                        .ins()
                        .atomic_cas(flags, address, values[0], values[1]));
                }
            };
            return Ok(self.b.ins().atomic_rmw(ty, flags, rmw, address, values[0]));
        }
        let to_bits = |l: &mut Self, v: Value| l.b.ins().bitcast(bits_ty, MemFlagsData::new(), v);
        match op {
            AtomicOp::Exchange => {
                let v = to_bits(self, values[0]);
                let old = self
                    .b
                    .ins()
                    .atomic_rmw(bits_ty, flags, AtomicRmwOp::Xchg, address, v);
                Ok(self.b.ins().bitcast(ty, MemFlagsData::new(), old))
            }
            AtomicOp::CompareExchange => {
                let (e, n) = (to_bits(self, values[0]), to_bits(self, values[1]));
                let old = self.b.ins().atomic_cas(flags, address, e, n);
                Ok(self.b.ins().bitcast(ty, MemFlagsData::new(), old))
            }
            _ => Ok(self.float_cas_loop(op, elem, address, values[0], bits_ty)),
        }
    }

    /// `loop { old = *p; new = op(old, v); if cas(p, old, new) == old { break old } }`
    /// on the bits of a float element.
    fn float_cas_loop(
        &mut self,
        op: AtomicOp,
        elem: ScalarType,
        address: Value,
        v: Value,
        bits_ty: types::Type,
    ) -> Value {
        let ty = clif_type(elem);
        let flags = MemFlagsData::trusted();
        let retry = self.b.create_block();
        let seen_bits = self.b.append_block_param(retry, bits_ty);
        let done = self.b.create_block();
        let old_result = self.b.append_block_param(done, ty);
        let first = self.b.ins().atomic_load(bits_ty, flags, address);
        self.b.ins().jump(retry, &[BlockArg::Value(first)]);

        self.b.switch_to_block(retry);
        let old = self.b.ins().bitcast(ty, MemFlagsData::new(), seen_bits);
        let new = match op {
            AtomicOp::Add => self.b.ins().fadd(old, v),
            AtomicOp::Sub => self.b.ins().fsub(old, v),
            // `v` replaces `old` only when `v < old` (`v > old`): NaNs never win.
            AtomicOp::Min => {
                let lt = self.b.ins().fcmp(FloatCC::LessThan, v, old);
                self.b.ins().select(lt, v, old)
            }
            _ => {
                let gt = self.b.ins().fcmp(FloatCC::GreaterThan, v, old);
                self.b.ins().select(gt, v, old)
            }
        };
        let new_bits = self.b.ins().bitcast(bits_ty, MemFlagsData::new(), new);
        let found = self.b.ins().atomic_cas(flags, address, seen_bits, new_bits);
        let swapped = self.b.ins().icmp(IntCC::Equal, found, seen_bits);
        self.b.ins().brif(
            swapped,
            done,
            &[BlockArg::Value(old)],
            retry,
            &[BlockArg::Value(found)],
        );
        self.b.switch_to_block(done);
        old_result
    }
}
