//! Lane-parallel shifts, comparisons (into lane masks), intrinsics and the i8
//! multiply x86 lacks, each with the per-lane semantics of the IR. Shifts by a
//! uniform constant use the native instruction; per-lane amounts go lane by lane.
//! It knows the lane representation of `vector_ops`, nothing of loops.

use cranelift_codegen::ir::{types, InstBuilder, Value};
use cranelift_module::Module;

use super::lower::Lowerer;
use super::ops::{float_cc, int_cc};
use super::vector_ops::{int_vec, vec_type, VState, VVal};
use super::BackendError;
use crate::ir::{BinaryOp, CmpOp, Intrinsic, ScalarType};
use crate::passes::predicate::{PInst, PValue};

impl<M: Module> Lowerer<'_, '_, M> {
    /// i8 lanes multiplied as i16 (x86 has no byte multiply); the low bytes kept.
    pub(super) fn mul_i8x16(&mut self, x: Value, y: Value) -> Value {
        let lo = {
            let (a, b) = (self.b.ins().swiden_low(x), self.b.ins().swiden_low(y));
            self.b.ins().imul(a, b)
        };
        let hi = {
            let (a, b) = (self.b.ins().swiden_high(x), self.b.ins().swiden_high(y));
            self.b.ins().imul(a, b)
        };
        let low_byte = self.splat_const(types::I16X8, 16, 0xff);
        let lo = self.b.ins().band(lo, low_byte);
        let low_byte = self.splat_const(types::I16X8, 16, 0xff);
        let hi = self.b.ins().band(hi, low_byte);
        self.b.ins().unarrow(lo, hi)
    }

    pub(super) fn vshift(
        &mut self,
        st: &mut VState,
        op: BinaryOp,
        a: PValue,
        b: PValue,
        u: usize,
    ) -> Result<VVal, BackendError> {
        let ty = st.pred.ty(a);
        let x = self.vdata(st, a, u)?;
        let signed = ty.is_signed_int();
        if let PInst::Const { bits, .. } = st.pred.inst(b) {
            // A uniform amount: the native shift by a scalar count.
            let amount = self
                .b
                .ins()
                .iconst(types::I32, (*bits % ty.bits() as u64) as i64);
            return Ok(VVal::Data(match (op, signed) {
                (BinaryOp::Shl, _) => self.b.ins().ishl(x, amount),
                (_, true) => self.b.ins().sshr(x, amount),
                (_, false) => self.b.ins().ushr(x, amount),
            }));
        }
        // Per-lane amounts: x86 (before AVX2, and Cranelift at all) shifts every
        // lane by one count, so lane by lane.
        let amount_ty = st.pred.ty(b);
        let y = self.voperand(st, b, u)?;
        let mut shift = |lw: &mut Self, s: &[Value]| {
            Ok(match (op, signed) {
                (BinaryOp::Shl, _) => lw.b.ins().ishl(s[0], s[1]),
                (_, true) => lw.b.ins().sshr(s[0], s[1]),
                (_, false) => lw.b.ins().ushr(s[0], s[1]),
            })
        };
        self.per_lane(st, &[(VVal::Data(x), ty), (y, amount_ty)], ty, &mut shift)
    }

    pub(super) fn vcompare(
        &mut self,
        st: &mut VState,
        op: CmpOp,
        a: PValue,
        b: PValue,
        u: usize,
    ) -> Result<VVal, BackendError> {
        let ty = st.pred.ty(a);
        if ty == ScalarType::Bool {
            // false < true on masks.
            let bits = self.mask_width(st, a, u)?.max(self.mask_width(st, b, u)?);
            let (x, y) = (self.vmask(st, a, u, bits)?, self.vmask(st, b, u, bits)?);
            let v = match op {
                CmpOp::Eq => {
                    let d = self.b.ins().bxor(x, y);
                    self.b.ins().bnot(d)
                }
                CmpOp::Ne => self.b.ins().bxor(x, y),
                CmpOp::Lt => self.b.ins().band_not(y, x),
                CmpOp::Gt => self.b.ins().band_not(x, y),
                CmpOp::Le => {
                    let gt = self.b.ins().band_not(x, y);
                    self.b.ins().bnot(gt)
                }
                CmpOp::Ge => {
                    let lt = self.b.ins().band_not(y, x);
                    self.b.ins().bnot(lt)
                }
            };
            return Ok(VVal::Mask { v, bits });
        }
        let (x, y) = (self.vdata(st, a, u)?, self.vdata(st, b, u)?);
        let v = if ty.is_float() {
            self.b.ins().fcmp(float_cc(op), x, y)
        } else {
            self.b.ins().icmp(int_cc(op, ty.is_signed_int()), x, y)
        };
        Ok(VVal::Mask { v, bits: ty.bits() })
    }

    pub(super) fn vintrinsic(&mut self, op: Intrinsic, ty: ScalarType, v: &[Value]) -> Value {
        match op {
            Intrinsic::Sqrt => self.b.ins().sqrt(v[0]),
            Intrinsic::Abs => self.b.ins().fabs(v[0]),
            Intrinsic::Floor => self.b.ins().floor(v[0]),
            Intrinsic::Ceil => self.b.ins().ceil(v[0]),
            Intrinsic::Trunc => self.b.ins().trunc(v[0]),
            Intrinsic::Nearest => self.b.ins().nearest(v[0]),
            Intrinsic::Fma => self.b.ins().fma(v[0], v[1], v[2]),
            Intrinsic::Copysign => {
                // No vector `fcopysign` on x86: magnitude bits of a, sign bit of b.
                let bits = ty.bits();
                let ity = int_vec(bits);
                let sign = self.splat_const(ity, bits, 1u64 << (bits - 1));
                let a = self.vbitcast(ity, v[0]);
                let b = self.vbitcast(ity, v[1]);
                let magnitude = self.b.ins().band_not(a, sign);
                let sign = self.splat_const(ity, bits, 1u64 << (bits - 1));
                let s = self.b.ins().band(b, sign);
                let r = self.b.ins().bor(magnitude, s);
                self.vbitcast(vec_type(ty), r)
            }
        }
    }
}
