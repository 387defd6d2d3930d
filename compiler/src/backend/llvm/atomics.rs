//! `SpmdInst::Atomic` for every LLVM target: one `atomicrmw` per read-modify-write
//! where LLVM has it (a PTX `atom` on the GPU, a locked instruction or LLVM's own
//! compare-and-swap expansion on the host), a compare-and-swap loop where it does
//! not, each computing
//! exactly the value `ir::spmd::atomic_new_value` specifies and yielding the old
//! element.
//!
//! * Integers: `atomicrmw add/sub/min/max/umin/umax/xchg` (signed or unsigned
//!   by the element type) and `cmpxchg`.
//! * Floats: `atomicrmw fadd` (`atom.add.f32/f64`) for `add`, and for `sub` of
//!   the negated operand (`old + -v` is `old - v` in IEEE arithmetic, bit for
//!   bit); `exchange` and `cas` on the element's bits (so `cas` compares bits);
//!   `min`/`max` a loop that reads the element, stops when `v` does not replace
//!   it (an ordered comparison: a NaN `v` never wins, a NaN element is never
//!   replaced) and otherwise swaps `v` in if the bits are still the ones it read.
//!
//! Every atomic is `monotonic` (relaxed) at LLVM's default scope, which NVPTX
//! emits as device-scope `atom`s: what the IR promises and no more. On the host
//! they run in the launch loops of `#[kernel]`s on `cpu`/`parallel`. The element
//! may be in global memory or in a shared array (`atom.shared`); the index is
//! bounds-checked first, like a checked `Load`.

use inkwell::llvm_sys::core::LLVMBuildAtomicRMW;
use inkwell::llvm_sys::{LLVMAtomicOrdering, LLVMAtomicRMWBinOp};
use inkwell::types::IntType;
use inkwell::values::{AsValueRef, BasicValue, BasicValueEnum, FloatValue, IntValue, PointerValue};
use inkwell::{AtomicOrdering, AtomicRMWBinOp, FloatPredicate};

use super::lower::Lowerer;
use super::types::int_type;
use super::LlvmError;
use crate::backend::operands;
use crate::diagnostics::Span;
use crate::ir::spmd::{atomic_element_type, AtomicInst, AtomicOp};
use crate::ir::ValueId;

const RELAXED: AtomicOrdering = AtomicOrdering::Monotonic;

impl<'ctx> Lowerer<'ctx, '_> {
    pub fn atomic(
        &mut self,
        atomic: &AtomicInst,
        span: Span,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let (op, array, index) = (atomic.op, atomic.array, atomic.index);
        let operands = &atomic.operands[..];
        operands::atomic_operand_count(op, operands.len()).map_err(|m| self.invalid(m))?;
        let (address, elem) = self.element_address(array, &[index], true, span)?;
        if !atomic_element_type(elem) {
            return Err(self.invalid(format!("an atomic on {elem} elements")));
        }
        for v in operands {
            if self.value_type(*v)? != elem {
                return Err(self.invalid("an atomic operand of another type than the array"));
            }
        }
        if elem.is_float() {
            return self.float_atomic(op, address, operands, elem.bits());
        }
        let v = self.int(operands[0])?;
        let rmw = match op {
            AtomicOp::Add => AtomicRMWBinOp::Add,
            AtomicOp::Sub => AtomicRMWBinOp::Sub,
            AtomicOp::Min if elem.is_signed_int() => AtomicRMWBinOp::Min,
            AtomicOp::Min => AtomicRMWBinOp::UMin,
            AtomicOp::Max if elem.is_signed_int() => AtomicRMWBinOp::Max,
            AtomicOp::Max => AtomicRMWBinOp::UMax,
            AtomicOp::Exchange => AtomicRMWBinOp::Xchg,
            AtomicOp::CompareExchange => {
                let new = self.int(operands[1])?;
                return Ok(self.compare_exchange(address, v, new)?.into());
            }
        };
        Ok(self.b.build_atomicrmw(rmw, address, v, RELAXED)?.into())
    }

    /// The old value of a `cmpxchg` (which swapped or not).
    fn compare_exchange(
        &mut self,
        address: PointerValue<'ctx>,
        expected: IntValue<'ctx>,
        new: IntValue<'ctx>,
    ) -> Result<IntValue<'ctx>, LlvmError> {
        let pair = self
            .b
            .build_cmpxchg(address, expected, new, RELAXED, RELAXED)?;
        Ok(self.b.build_extract_value(pair, 0, "old")?.into_int_value())
    }

    fn float_atomic(
        &mut self,
        op: AtomicOp,
        address: PointerValue<'ctx>,
        operands: &[ValueId],
        bits: u32,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let v = self.float(operands[0])?;
        let float_ty = v.get_type();
        let bits_ty = int_type(self.cx, bits);
        let to_bits = |l: &Self, f: FloatValue<'ctx>| -> Result<IntValue<'ctx>, LlvmError> {
            Ok(l.b.build_bit_cast(f, bits_ty, "")?.into_int_value())
        };
        let old_bits = match op {
            AtomicOp::Add => return Ok(self.atomic_fadd(address, v)?.into()),
            AtomicOp::Sub => {
                let negated = self.b.build_float_neg(v, "")?;
                return Ok(self.atomic_fadd(address, negated)?.into());
            }
            AtomicOp::Exchange => {
                let v = to_bits(self, v)?;
                self.b
                    .build_atomicrmw(AtomicRMWBinOp::Xchg, address, v, RELAXED)?
            }
            AtomicOp::CompareExchange => {
                let expected = to_bits(self, v)?;
                let new = to_bits(self, self.float(operands[1])?)?;
                self.compare_exchange(address, expected, new)?
            }
            AtomicOp::Min | AtomicOp::Max => {
                return self.float_min_max_loop(op, address, bits_ty, v);
            }
        };
        Ok(self.b.build_bit_cast(old_bits, float_ty, "")?)
    }

    /// `atomicrmw fadd` (inkwell builds integer read-modify-writes only).
    fn atomic_fadd(
        &mut self,
        address: PointerValue<'ctx>,
        v: FloatValue<'ctx>,
    ) -> Result<FloatValue<'ctx>, LlvmError> {
        if self.b.get_insert_block().is_none() {
            return Err(self.invalid("the builder has no block"));
        }
        // SAFETY: the builder is positioned in a block of this module; `address`
        // points to elements of `v`'s type; LLVM types the result as `v`'s.
        let old = unsafe {
            LLVMBuildAtomicRMW(
                self.b.as_mut_ptr(),
                LLVMAtomicRMWBinOp::LLVMAtomicRMWBinOpFAdd,
                address.as_value_ref(),
                v.as_value_ref(),
                LLVMAtomicOrdering::LLVMAtomicOrderingMonotonic,
                0,
            )
        };
        // SAFETY: an `atomicrmw fadd` of a float value is that float type.
        Ok(unsafe { FloatValue::new(old) })
    }

    /// `loop { old = *p; if !(v < old) { break old }; if cas(p, old, v) { break old } }`
    /// (`>` for max) on the bits; yields the element's old value.
    fn float_min_max_loop(
        &mut self,
        op: AtomicOp,
        address: PointerValue<'ctx>,
        bits_ty: IntType<'ctx>,
        v: FloatValue<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let entry = self
            .b
            .get_insert_block()
            .ok_or_else(|| self.invalid("the builder has no block"))?;
        let first = self.b.build_load(bits_ty, address, "")?;
        if let Some(load) = first.as_instruction_value() {
            let _ = load.set_alignment(bits_ty.get_bit_width() / 8);
            load.set_atomic_ordering(RELAXED)
                .map_err(|e| self.invalid(format!("an atomic load: {e}")))?;
        }
        let (retry, swap, done) = (
            self.basic_block("atomic_read"),
            self.basic_block("atomic_swap"),
            self.basic_block("atomic_done"),
        );
        self.b.build_unconditional_branch(retry)?;

        self.b.position_at_end(retry);
        let seen = self.b.build_phi(bits_ty, "seen")?;
        seen.add_incoming(&[(&first, entry)]);
        let seen_bits = seen.as_basic_value().into_int_value();
        let old = self
            .b
            .build_bit_cast(seen_bits, v.get_type(), "")?
            .into_float_value();
        // Ordered: false when either side is NaN, so NaNs neither win nor lose.
        let predicate = match op {
            AtomicOp::Min => FloatPredicate::OLT,
            _ => FloatPredicate::OGT,
        };
        let replaces = self.b.build_float_compare(predicate, v, old, "")?;
        self.b.build_conditional_branch(replaces, swap, done)?;

        self.b.position_at_end(swap);
        let v_bits = self.b.build_bit_cast(v, bits_ty, "")?.into_int_value();
        let pair = self
            .b
            .build_cmpxchg(address, seen_bits, v_bits, RELAXED, RELAXED)?;
        let found = self.b.build_extract_value(pair, 0, "found")?;
        let swapped = self
            .b
            .build_extract_value(pair, 1, "swapped")?
            .into_int_value();
        seen.add_incoming(&[(&found, swap)]);
        self.b.build_conditional_branch(swapped, done, retry)?;

        // `old` is defined in `retry`, which dominates both ways into `done`.
        self.b.position_at_end(done);
        Ok(old.into())
    }
}
