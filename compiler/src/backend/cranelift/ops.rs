//! Scalar operations: constants, unary and binary arithmetic (with the division
//! traps), comparisons, `as` casts, bit casts and intrinsics, each following the IR
//! specification in `ir/mod.rs` exactly — results are compared bit for bit with the
//! reference interpreter.
//!
//! Everything here is inline machine code: no host or libm call.

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{types, InstBuilder, MemFlagsData, Value};
use cranelift_module::Module;

use super::abi::trap_code;
use super::lower::{clif_type, Lowerer};
use super::BackendError;
use crate::backend::operands;
use crate::diagnostics::Span;
use crate::ir::{BinaryOp, CmpOp, Intrinsic, ScalarType, ScalarValue, UnaryOp, ValueId};

impl<M: Module> Lowerer<'_, '_, M> {
    /// `value`, computed where it stands: for a constant that a loop reads
    /// from outside it (`passes::licm::held_constants`).
    /// Cranelift's lowering (at `opt_level = "none"`) rematerialises a
    /// constant instruction at every use, which for a float is two
    /// instructions (`movabs`, `vmovq`) inside the loop even where the IR
    /// defines it before the loop; the bit cast of an integer constant is an
    /// instruction whose result lives in a register (or a stack slot) from
    /// where it stands.
    pub fn held_constant(&mut self, value: ScalarValue) -> Value {
        let ty = value.ty();
        let int = self
            .b
            .ins()
            .iconst(clif_type(ty.bits_type()), value.to_bits() as i64);
        self.b
            .ins()
            .bitcast(clif_type(ty), MemFlagsData::new(), int)
    }

    pub fn constant(&mut self, value: ScalarValue) -> Value {
        let ty = value.ty();
        let bits = value.to_bits();
        match ty {
            ScalarType::F32 => self.b.ins().f32const(Ieee32::with_bits(bits as u32)),
            ScalarType::F64 => self.b.ins().f64const(Ieee64::with_bits(bits)),
            // `to_bits` zero-extends, which is the form `iconst` expects for
            // narrow types.
            _ => self.b.ins().iconst(clif_type(ty), bits as i64),
        }
    }

    pub fn unary(&mut self, op: UnaryOp, a: ValueId) -> Result<Value, BackendError> {
        let ty = self.value_type(a)?;
        let x = self.value(a)?;
        Ok(match (op, ty) {
            (UnaryOp::Neg, t) if t.is_float() => self.b.ins().fneg(x),
            (UnaryOp::Neg, t) if t.is_int() => self.b.ins().ineg(x),
            // bool is 0/1: flip the low bit only.
            (UnaryOp::Not, ScalarType::Bool) => self.b.ins().bxor_imm_u(x, 1),
            (UnaryOp::Not, t) if t.is_int() => self.b.ins().bnot(x),
            (op, t) => return Err(self.error(format!("{op:?} is not defined on {t}"))),
        })
    }

    pub fn binary(
        &mut self,
        op: BinaryOp,
        a: ValueId,
        b: ValueId,
        span: Span,
    ) -> Result<Value, BackendError> {
        let ty = self.value_type(a)?;
        let (x, y) = (self.value(a)?, self.value(b)?);
        if ty.is_float() {
            return Ok(match op {
                BinaryOp::Add => self.b.ins().fadd(x, y),
                BinaryOp::Sub => self.b.ins().fsub(x, y),
                BinaryOp::Mul => self.b.ins().fmul(x, y),
                BinaryOp::Div => self.b.ins().fdiv(x, y),
                _ => return Err(self.error(format!("{op:?} is not defined on {ty}"))),
            });
        }
        let signed = ty.is_signed_int();
        Ok(match op {
            BinaryOp::Add => self.b.ins().iadd(x, y),
            BinaryOp::Sub => self.b.ins().isub(x, y),
            BinaryOp::Mul => self.b.ins().imul(x, y),
            BinaryOp::And => self.b.ins().band(x, y),
            BinaryOp::Or => self.b.ins().bor(x, y),
            BinaryOp::Xor => self.b.ins().bxor(x, y),
            // CLIF shifts take the amount modulo the width of `x`, which is Rust's
            // `wrapping_shl`/`wrapping_shr`; the amount may have any integer type.
            BinaryOp::Shl => self.b.ins().ishl(x, y),
            BinaryOp::Shr if signed => self.b.ins().sshr(x, y),
            BinaryOp::Shr => self.b.ins().ushr(x, y),
            BinaryOp::Div | BinaryOp::Rem => {
                if ty == ScalarType::Bool {
                    return Err(self.error(format!("{op:?} is not defined on bool")));
                }
                if let Some(r) = self.div_rem_by_constant(op, ty, x, y) {
                    return Ok(r);
                }
                let site = self.unit.tables.traps.add(span, None);
                if ty.bits() == 64 {
                    self.div_rem_64(op, ty, x, y, Some(site))
                } else {
                    self.check_divisor(ty, x, y, site);
                    self.unchecked_div_rem(op, signed, x, y)
                }
            }
        })
    }

    /// A 64-bit `Div`/`Rem` that divides in 32 bits when both operands are below
    /// 2^32 as unsigned numbers — then both are non-negative, so the signed and
    /// unsigned quotients and remainders agree and fit in 32 bits, and the result
    /// is exactly the 64-bit one. x86's 64-bit `div` takes several times as long
    /// as the 32-bit one on many cores (what LLVM's "bypass slow division" does
    /// for the optimized tier). With a trap `site`, each path checks the divisor
    /// first; the 32-bit one only for zero, since `MIN / -1` cannot reach it.
    /// Without one, the divisor is known not to trap.
    fn div_rem_64(
        &mut self,
        op: BinaryOp,
        ty: ScalarType,
        x: Value,
        y: Value,
        site: Option<u32>,
    ) -> Value {
        let signed = ty.is_signed_int();
        let (narrow, wide, join) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let result = self.b.append_block_param(join, types::I64);
        let both = self.b.ins().bor(x, y);
        let high = self.b.ins().ushr_imm_u(both, 32);
        self.b.ins().brif(high, wide, &[], narrow, &[]);
        self.b.switch_to_block(narrow);
        if let Some(site) = site {
            self.check_nonzero(y, site);
        }
        let (x32, y32) = (
            self.b.ins().ireduce(types::I32, x),
            self.b.ins().ireduce(types::I32, y),
        );
        let r32 = self.unchecked_div_rem(op, false, x32, y32);
        let r = self.b.ins().uextend(types::I64, r32);
        self.b.ins().jump(join, &[r.into()]);
        self.b.switch_to_block(wide);
        if let Some(site) = site {
            self.check_divisor(ty, x, y, site);
        }
        let r = self.unchecked_div_rem(op, signed, x, y);
        self.b.ins().jump(join, &[r.into()]);
        self.b.switch_to_block(join);
        result
    }

    /// An integer `Div`/`Rem` whose divisor `y` is a constant that cannot trap
    /// (not 0, and not -1 for a signed type): no checks, and a power of two
    /// becomes shifts and masks — Rust's truncating quotient and remainder (a
    /// negative signed dividend is biased by 2^k - 1 before the arithmetic shift),
    /// the same bits as the division instruction. `None` when `y` is not such a
    /// constant.
    fn div_rem_by_constant(
        &mut self,
        op: BinaryOp,
        ty: ScalarType,
        x: Value,
        y: Value,
    ) -> Option<Value> {
        let bits = ty.bits();
        let mask = value_mask(ty);
        // `iconst` holds narrow constants zero-extended; as the type's value:
        let raw = self.constant_of(y)? as u64 & mask;
        let signed = ty.is_signed_int();
        let negative = signed && raw >> (bits - 1) == 1;
        let minus_one = signed && raw == mask;
        if raw == 0 || minus_one {
            return None;
        }
        let div = op == BinaryOp::Div;
        if negative || !raw.is_power_of_two() {
            return Some(if bits == 64 {
                self.div_rem_64(op, ty, x, y, None)
            } else {
                self.unchecked_div_rem(op, signed, x, y)
            });
        }
        let k = raw.trailing_zeros() as i64;
        if k == 0 {
            // Division by 1.
            return Some(if div {
                x
            } else {
                self.b.ins().iconst(clif_type(ty), 0)
            });
        }
        let low_mask = (raw - 1) as i64;
        let high_mask = (!(raw - 1) & mask) as i64;
        let bits = bits as i64;
        Some(match (div, signed) {
            (true, false) => self.b.ins().ushr_imm_u(x, k),
            (false, false) => self.b.ins().band_imm_u(x, low_mask),
            (_, true) => {
                let sign = self.b.ins().sshr_imm_u(x, bits - 1);
                let bias = self.b.ins().ushr_imm_u(sign, bits - k);
                let biased = self.b.ins().iadd(x, bias);
                if div {
                    self.b.ins().sshr_imm_u(biased, k)
                } else {
                    let multiple = self.b.ins().band_imm_u(biased, high_mask);
                    self.b.ins().isub(x, multiple)
                }
            }
        })
    }

    /// Integer `Div`/`Rem` without the trap checks: the divisor must be known to be
    /// non-zero and not `-1` against `MIN` (the SIMD path makes it so).
    pub fn unchecked_div_rem(&mut self, op: BinaryOp, signed: bool, x: Value, y: Value) -> Value {
        match (op, signed) {
            (BinaryOp::Div, true) => self.b.ins().sdiv(x, y),
            (BinaryOp::Div, false) => self.b.ins().udiv(x, y),
            (_, true) => self.b.ins().srem(x, y),
            (_, false) => self.b.ins().urem(x, y),
        }
    }

    /// Traps at `site` on a zero divisor.
    fn check_nonzero(&mut self, y: Value, site: u32) {
        let nonzero = self.b.ins().icmp_imm_u(IntCC::NotEqual, y, 0);
        self.trap_unless(nonzero, trap_code::DIVISION_BY_ZERO, site, None);
    }

    /// Traps at `site` before the division instruction could fault: on a zero
    /// divisor and, for signed types, on `MIN / -1`.
    fn check_divisor(&mut self, ty: ScalarType, x: Value, y: Value, site: u32) {
        self.check_nonzero(y, site);
        if ty.is_signed_int() {
            let mask = value_mask(ty);
            let min = 1u64 << (ty.bits() - 1);
            // Constants in the zero-extended form `iconst` expects for narrow types.
            let clif_ty = clif_type(ty);
            let min = self.b.ins().iconst(clif_ty, min as i64);
            let minus_one = self.b.ins().iconst(clif_ty, mask as i64);
            let is_min = self.b.ins().icmp(IntCC::Equal, x, min);
            let is_minus_one = self.b.ins().icmp(IntCC::Equal, y, minus_one);
            let overflow = self.b.ins().band(is_min, is_minus_one);
            let ok = self.b.ins().bxor_imm_u(overflow, 1);
            self.trap_unless(ok, trap_code::DIVISION_OVERFLOW, site, None);
        }
    }

    pub fn compare(&mut self, op: CmpOp, a: ValueId, b: ValueId) -> Result<Value, BackendError> {
        let ty = self.value_type(a)?;
        let (x, y) = (self.value(a)?, self.value(b)?);
        Ok(if ty.is_float() {
            self.b.ins().fcmp(float_cc(op), x, y)
        } else {
            self.b.ins().icmp(int_cc(op, ty.is_signed_int()), x, y)
        })
    }

    /// Rust's `as`.
    pub fn cast(&mut self, a: ValueId, to: ScalarType) -> Result<Value, BackendError> {
        let from = self.value_type(a)?;
        let x = self.value(a)?;
        self.cast_value(from, to, x)
    }

    /// Rust's `as` on a machine value `x` of kern type `from`.
    pub fn cast_value(
        &mut self,
        from: ScalarType,
        to: ScalarType,
        x: Value,
    ) -> Result<Value, BackendError> {
        let to_ty = clif_type(to);
        Ok(match (from.is_float(), to.is_float()) {
            (true, true) if from == to => x,
            (true, true) if to == ScalarType::F64 => self.b.ins().fpromote(to_ty, x),
            (true, true) => self.b.ins().fdemote(to_ty, x),
            (false, true) => self.int_to_float(from, x, to_ty),
            (true, false) => self.float_to_int(x, to)?,
            (false, false) => {
                if to == ScalarType::Bool {
                    // Not expressible in Rust; defined as "non-zero" for robustness.
                    self.b.ins().icmp_imm_u(IntCC::NotEqual, x, 0)
                } else if from.bits() == to.bits() {
                    x
                } else if from.bits() > to.bits() {
                    self.b.ins().ireduce(to_ty, x)
                } else if from.is_signed_int() {
                    self.b.ins().sextend(to_ty, x)
                } else {
                    // Unsigned and bool (0/1) zero-extend.
                    self.b.ins().uextend(to_ty, x)
                }
            }
        })
    }

    fn int_to_float(&mut self, from: ScalarType, x: Value, to_ty: types::Type) -> Value {
        match (from.is_signed_int(), from.bits()) {
            (true, 64) => self.b.ins().fcvt_from_sint(to_ty, x),
            (true, _) => {
                let wide = self.b.ins().sextend(types::I64, x);
                self.b.ins().fcvt_from_sint(to_ty, wide)
            }
            (false, 64) => self.b.ins().fcvt_from_uint(to_ty, x),
            // Narrow unsigned (and bool) values are exact as non-negative i64s,
            // which converts with one instruction.
            (false, _) => {
                let wide = self.b.ins().uextend(types::I64, x);
                self.b.ins().fcvt_from_sint(to_ty, wide)
            }
        }
    }

    /// Saturating float → int with NaN → 0. The 8- and 16-bit targets saturate to
    /// i32 first (exact for their whole range) and then clamp to the narrow range, so
    /// `300.0 as u8 == 255` and `-1e10 as i16 == i16::MIN`.
    fn float_to_int(&mut self, x: Value, to: ScalarType) -> Result<Value, BackendError> {
        let to_ty = clif_type(to);
        Ok(match (to.is_signed_int(), to.bits()) {
            (_, 8 | 16) if to != ScalarType::Bool => {
                let (lo, hi) = if to.is_signed_int() {
                    (-(1i64 << (to.bits() - 1)), (1i64 << (to.bits() - 1)) - 1)
                } else {
                    (0, (1i64 << to.bits()) - 1)
                };
                let wide = self.b.ins().fcvt_to_sint_sat(types::I32, x);
                let lo = self.b.ins().iconst(types::I32, lo);
                let hi = self.b.ins().iconst(types::I32, hi);
                let clamped = self.b.ins().smax(wide, lo);
                let clamped = self.b.ins().smin(clamped, hi);
                self.b.ins().ireduce(to_ty, clamped)
            }
            (true, _) => self.b.ins().fcvt_to_sint_sat(to_ty, x),
            (false, 32 | 64) => self.b.ins().fcvt_to_uint_sat(to_ty, x),
            _ => return Err(self.error(format!("cannot cast a float to {to}"))),
        })
    }

    pub fn bitcast(&mut self, a: ValueId, to: ScalarType) -> Result<Value, BackendError> {
        let from = self.value_type(a)?;
        let x = self.value(a)?;
        if from.bits() != to.bits() {
            return Err(self.error(format!("bitcast from {from} to {to} changes the width")));
        }
        let (from_ty, to_ty) = (clif_type(from), clif_type(to));
        Ok(if from_ty == to_ty {
            x
        } else {
            self.b.ins().bitcast(to_ty, MemFlagsData::new(), x)
        })
    }

    pub fn intrinsic(&mut self, op: Intrinsic, args: &[ValueId]) -> Result<Value, BackendError> {
        operands::intrinsic_arity(op, args.len()).map_err(|m| self.error(m))?;
        let ty = self.value_type(args[0])?;
        operands::intrinsic_operand_type(op, ty).map_err(|m| self.error(m))?;
        self.check_intrinsic_caps(op)?;
        let v: Vec<Value> = args
            .iter()
            .map(|a| self.value(*a))
            .collect::<Result<_, _>>()?;
        let ins = self.b.ins();
        Ok(match op {
            Intrinsic::Sqrt => ins.sqrt(v[0]),
            Intrinsic::Abs => ins.fabs(v[0]),
            Intrinsic::Floor => ins.floor(v[0]),
            Intrinsic::Ceil => ins.ceil(v[0]),
            Intrinsic::Trunc => ins.trunc(v[0]),
            Intrinsic::Nearest => ins.nearest(v[0]),
            Intrinsic::Fma => ins.fma(v[0], v[1], v[2]),
            Intrinsic::Copysign => ins.fcopysign(v[0], v[1]),
        })
    }

    /// Fails when the host has no instruction for `op` (Cranelift would call libm).
    pub fn check_intrinsic_caps(&self, op: Intrinsic) -> Result<(), BackendError> {
        let needs = match op {
            Intrinsic::Fma => Some(("fused multiply-add", self.unit.caps.fma)),
            Intrinsic::Floor | Intrinsic::Ceil | Intrinsic::Trunc | Intrinsic::Nearest => {
                Some(("rounding", self.unit.caps.round))
            }
            _ => None,
        };
        if let Some((what, false)) = needs {
            return Err(self.error(format!(
                "the host CPU has no {what} instruction for `{}` (kern never calls libm)",
                op.name()
            )));
        }
        Ok(())
    }
}

/// The condition code of a float comparison: ordered comparisons are false on NaN;
/// `ne` is "unordered or not equal".
pub(super) fn float_cc(op: CmpOp) -> FloatCC {
    match op {
        CmpOp::Eq => FloatCC::Equal,
        CmpOp::Ne => FloatCC::NotEqual,
        CmpOp::Lt => FloatCC::LessThan,
        CmpOp::Le => FloatCC::LessThanOrEqual,
        CmpOp::Gt => FloatCC::GreaterThan,
        CmpOp::Ge => FloatCC::GreaterThanOrEqual,
    }
}

/// The condition code of an integer comparison of the given signedness.
pub(super) fn int_cc(op: CmpOp, signed: bool) -> IntCC {
    match (op, signed) {
        (CmpOp::Eq, _) => IntCC::Equal,
        (CmpOp::Ne, _) => IntCC::NotEqual,
        (CmpOp::Lt, true) => IntCC::SignedLessThan,
        (CmpOp::Le, true) => IntCC::SignedLessThanOrEqual,
        (CmpOp::Gt, true) => IntCC::SignedGreaterThan,
        (CmpOp::Ge, true) => IntCC::SignedGreaterThanOrEqual,
        (CmpOp::Lt, false) => IntCC::UnsignedLessThan,
        (CmpOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
        (CmpOp::Gt, false) => IntCC::UnsignedGreaterThan,
        (CmpOp::Ge, false) => IntCC::UnsignedGreaterThanOrEqual,
    }
}

/// The bits of an integer type's values, as a mask of the low `ty.bits()` bits.
fn value_mask(ty: ScalarType) -> u64 {
    u64::MAX >> (64 - ty.bits())
}
