//! `as` casts of lane groups and the lane-width changes they (and mask
//! conversions) are built from: integer widening and truncation, int↔float and
//! float↔float conversions with exactly the scalar semantics of `ops` — native
//! x86 forms where Cranelift has them (including the wasm-style `trunc_sat`
//! patterns), lane by lane for the 64-bit forms it has not. It knows the lane
//! representation of `vector_ops`, nothing of loops.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, ConstantData, InstBuilder, Value};
use cranelift_module::Module;

use super::lower::Lowerer;
use super::vector_ops::{int_vec, vec_type, VState, VVal};
use super::BackendError;
use crate::ir::ScalarType;

impl<M: Module> Lowerer<'_, '_, M> {
    /// Integer lanes of width `from` as lanes of width `to`, lane `k` staying lane
    /// `k`: truncated when narrowing, extended (by `signed`) when widening.
    pub(super) fn resize_lanes(&mut self, x: Value, from: u32, to: u32, signed: bool) -> Value {
        let mut x = self.vbitcast(int_vec(from), x);
        if to > from {
            let mut bits = from;
            while bits < to {
                x = if signed {
                    self.b.ins().swiden_low(x)
                } else {
                    self.b.ins().uwiden_low(x)
                };
                bits *= 2;
            }
            return x;
        }
        if to == from {
            return x;
        }
        // Narrowing: byte shuffle taking the low bytes of each lane; spare output
        // lanes repeat lane 0 so 64→32 stays a `pshufd`.
        let (fb, tb) = ((from / 8) as u8, (to / 8) as u8);
        let lanes = 16 / fb;
        let mut mask = Vec::with_capacity(16);
        for k in 0..16 / tb {
            let src = if k < lanes { k } else { 0 };
            for t in 0..tb {
                mask.push(src * fb + t);
            }
        }
        let bytes = self.vbitcast(types::I8X16, x);
        let imm = self.b.func.dfg.immediates.push(ConstantData::from(mask));
        let shuffled = self.b.ins().shuffle(bytes, bytes, imm);
        self.vbitcast(int_vec(to), shuffled)
    }

    /// Rust's `as` on lane groups.
    pub(super) fn vcast(
        &mut self,
        st: &mut VState,
        x: VVal,
        from: ScalarType,
        to: ScalarType,
    ) -> Result<VVal, BackendError> {
        use ScalarType as T;
        if from == to {
            return Ok(x);
        }
        let data = |x: VVal| match x {
            VVal::Data(v) => v,
            VVal::Mask { v, .. } => v,
        };
        match (x, from, to) {
            (VVal::Mask { v, bits }, T::Bool, t) => {
                // 0/1 (or 0.0/1.0) where the mask is set.
                let lane = t.bits();
                let m = self.resize_lanes(v, bits, lane, true);
                let one = if t.is_float() { one_bits(t) } else { 1 };
                let one = self.splat_const(int_vec(lane), lane, one);
                let r = self.b.ins().band(m, one);
                return Ok(VVal::Data(self.vbitcast(vec_type(t), r)));
            }
            (_, f, T::Bool) if f.is_int() => {
                let v = data(x);
                let zero = self.zero_vec(vec_type(f));
                let ne = self.b.ins().icmp(IntCC::NotEqual, v, zero);
                return Ok(VVal::Mask {
                    v: ne,
                    bits: f.bits(),
                });
            }
            _ => {}
        }
        let v = data(x);
        let (fb, tb) = (from.bits(), to.bits());
        let r = match (from.is_float(), to.is_float()) {
            (false, false) => self.resize_lanes(v, fb, tb, from.is_signed_int()),
            (true, true) if to == T::F64 => self.b.ins().fvpromote_low(v),
            (true, true) => self.b.ins().fvdemote(v),
            (false, true) => match (fb, to) {
                (64, T::F64) if from.is_signed_int() => {
                    self.b.ins().fcvt_from_sint(types::F64X2, v)
                }
                (64, T::F64) => self.b.ins().fcvt_from_uint(types::F64X2, v),
                (64, _) => return self.vcast_lanes(st, x, from, to),
                (_, T::F32) => {
                    let (w, signed) = self.as_i32_lanes(v, from);
                    if signed {
                        self.b.ins().fcvt_from_sint(types::F32X4, w)
                    } else {
                        self.b.ins().fcvt_from_uint(types::F32X4, w)
                    }
                }
                _ => {
                    // `cvtdq2pd`/`cvtudq2pd` patterns: the conversion of a widened
                    // low half.
                    let (w, signed) = self.as_i32_lanes(v, from);
                    if signed {
                        let wide = self.b.ins().swiden_low(w);
                        self.b.ins().fcvt_from_sint(types::F64X2, wide)
                    } else {
                        let wide = self.b.ins().uwiden_low(w);
                        self.b.ins().fcvt_from_uint(types::F64X2, wide)
                    }
                }
            },
            (true, false) => {
                if tb == 64 {
                    return self.vcast_lanes(st, x, from, to);
                }
                let signed32 = to.is_signed_int() || tb < 32;
                let i32s = match (from, signed32) {
                    (T::F32, true) => self.b.ins().fcvt_to_sint_sat(types::I32X4, v),
                    (T::F32, false) => self.b.ins().fcvt_to_uint_sat(types::I32X4, v),
                    // The `i32x4.trunc_sat_f64x2_{s,u}_zero` patterns.
                    (_, true) => {
                        let wide = self.b.ins().fcvt_to_sint_sat(types::I64X2, v);
                        let zero = self.zero_vec(types::I64X2);
                        self.b.ins().snarrow(wide, zero)
                    }
                    (_, false) => {
                        let wide = self.b.ins().fcvt_to_uint_sat(types::I64X2, v);
                        let zero = self.zero_vec(types::I64X2);
                        self.b.ins().uunarrow(wide, zero)
                    }
                };
                if tb == 32 {
                    i32s
                } else {
                    // 8/16-bit targets saturate to i32 first, then clamp (as `ops`).
                    let (lo, hi) = if to.is_signed_int() {
                        (-(1i64 << (tb - 1)), (1i64 << (tb - 1)) - 1)
                    } else {
                        (0, (1i64 << tb) - 1)
                    };
                    let lo = self.splat_const(types::I32X4, 32, lo as u64);
                    let hi = self.splat_const(types::I32X4, 32, hi as u64);
                    let c = self.b.ins().smax(i32s, lo);
                    let c = self.b.ins().smin(c, hi);
                    self.resize_lanes(c, 32, tb, true)
                }
            }
        };
        Ok(VVal::Data(self.vbitcast(vec_type(to), r)))
    }

    /// An 8/16/32-bit integer group as `i32x4` lanes, and whether they are signed
    /// (narrow unsigned values become non-negative signed ones).
    pub(super) fn as_i32_lanes(&mut self, v: Value, from: ScalarType) -> (Value, bool) {
        let fb = from.bits();
        if fb == 32 {
            (v, from.is_signed_int())
        } else {
            (self.resize_lanes(v, fb, 32, from.is_signed_int()), true)
        }
    }

    /// A cast lane by lane with the scalar lowering (64-bit float↔int forms
    /// Cranelift has no vector instruction for on x86).
    pub(super) fn vcast_lanes(
        &mut self,
        st: &mut VState,
        x: VVal,
        from: ScalarType,
        to: ScalarType,
    ) -> Result<VVal, BackendError> {
        let mut cast = |lw: &mut Self, s: &[Value]| lw.cast_value(from, to, s[0]);
        self.per_lane(st, &[(x, from)], to, &mut cast)
    }
}

/// The bits of 1.0 in float type `t`.
fn one_bits(t: ScalarType) -> u64 {
    match t {
        ScalarType::F32 => 1.0f32.to_bits() as u64,
        _ => 1.0f64.to_bits(),
    }
}
