//! Scalar operations: unary and binary arithmetic (with the division traps),
//! comparisons, `as` casts, bit casts and intrinsics, each following the IR
//! specification in `ir/mod.rs` exactly, as the interpreter and the Cranelift
//! backend do, for every LLVM target. (The GPU's optional fast-math
//! substitutions of stdlib calls are `nvptx`'s.)
//!
//! Only operations LLVM's NVPTX backend lowers to instructions are emitted
//! (on the host they are instructions too, or exact libm calls such as `rint`):
//! `llvm.sqrt/fabs/floor/ceil/trunc/rint/fma` and plain arithmetic. Casts that
//! saturate and `copysign` are spelled out with compares, selects and bit masks
//! rather than left to intrinsics whose NVPTX lowering is not guaranteed.

use inkwell::intrinsics::Intrinsic as LlvmIntrinsic;
use inkwell::types::BasicTypeEnum;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, FloatValue, IntValue};
use inkwell::{FloatPredicate, IntPredicate};

use super::lower::Lowerer;
use super::types::register_type;
use super::LlvmError;
use crate::backend::operands;
use crate::backend::traps::trap_code;
use crate::diagnostics::Span;
use crate::ir::{BinaryOp, CmpOp, Intrinsic, ScalarType, UnaryOp, ValueId};

/// Width of a kern integer in registers (`bool` is one bit there).
fn register_bits(ty: ScalarType) -> u32 {
    if ty == ScalarType::Bool {
        1
    } else {
        ty.bits()
    }
}

impl<'ctx> Lowerer<'ctx, '_> {
    pub fn unary(&mut self, op: UnaryOp, a: ValueId) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let ty = self.value_type(a)?;
        Ok(match (op, ty) {
            (UnaryOp::Neg, t) if t.is_float() => self.b.build_float_neg(self.float(a)?, "")?.into(),
            (UnaryOp::Neg, t) if t.is_int() => self.b.build_int_neg(self.int(a)?, "")?.into(),
            (UnaryOp::Not, t) if t == ScalarType::Bool || t.is_int() => {
                self.b.build_not(self.int(a)?, "")?.into()
            }
            (op, t) => return Err(self.invalid(format!("{op:?} is not defined on {t}"))),
        })
    }

    pub fn binary(
        &mut self,
        op: BinaryOp,
        a: ValueId,
        b: ValueId,
        span: Span,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let ty = self.value_type(a)?;
        if ty.is_float() {
            let (x, y) = (self.float(a)?, self.float(b)?);
            return Ok(match op {
                BinaryOp::Add => self.b.build_float_add(x, y, "")?,
                BinaryOp::Sub => self.b.build_float_sub(x, y, "")?,
                BinaryOp::Mul => self.b.build_float_mul(x, y, "")?,
                BinaryOp::Div => self.b.build_float_div(x, y, "")?,
                _ => return Err(self.invalid(format!("{op:?} is not defined on {ty}"))),
            }
            .into());
        }
        let (x, y) = (self.int(a)?, self.int(b)?);
        let signed = ty.is_signed_int();
        let b_ = &self.b;
        Ok(match op {
            BinaryOp::Add => b_.build_int_add(x, y, "")?,
            BinaryOp::Sub => b_.build_int_sub(x, y, "")?,
            BinaryOp::Mul => b_.build_int_mul(x, y, "")?,
            BinaryOp::And => b_.build_and(x, y, "")?,
            BinaryOp::Or => b_.build_or(x, y, "")?,
            BinaryOp::Xor => b_.build_xor(x, y, "")?,
            BinaryOp::Shl | BinaryOp::Shr => {
                if ty == ScalarType::Bool {
                    return Err(self.invalid(format!("{op:?} is not defined on bool")));
                }
                // Rust's wrapping shifts: the amount (any integer type) modulo the
                // width of `x`. LLVM's shifts are poison past the width, so mask.
                let amount = self
                    .b
                    .build_int_cast_sign_flag(y, x.get_type(), false, "")?;
                let mask = x.get_type().const_int(ty.bits() as u64 - 1, false);
                let amount = self.b.build_and(amount, mask, "")?;
                match (op, signed) {
                    (BinaryOp::Shl, _) => self.b.build_left_shift(x, amount, "")?,
                    (_, sign_extend) => self.b.build_right_shift(x, amount, sign_extend, "")?,
                }
            }
            BinaryOp::Div | BinaryOp::Rem => {
                if ty == ScalarType::Bool {
                    return Err(self.invalid(format!("{op:?} is not defined on bool")));
                }
                self.check_divisor(ty, x, y, span)?;
                match (op, signed) {
                    (BinaryOp::Div, true) => self.b.build_int_signed_div(x, y, "")?,
                    (BinaryOp::Div, false) => self.b.build_int_unsigned_div(x, y, "")?,
                    (_, true) => self.b.build_int_signed_rem(x, y, "")?,
                    (_, false) => self.b.build_int_unsigned_rem(x, y, "")?,
                }
            }
        }
        .into())
    }

    /// Traps before the division: on a zero divisor and, for signed types, on
    /// `MIN / -1` (both undefined behaviour for LLVM's `sdiv`/`udiv`).
    fn check_divisor(
        &mut self,
        ty: ScalarType,
        x: IntValue<'ctx>,
        y: IntValue<'ctx>,
        span: Span,
    ) -> Result<(), LlvmError> {
        let site = self.unit.trap_sites.add(span, None);
        let int = x.get_type();
        let nonzero = self
            .b
            .build_int_compare(IntPredicate::NE, y, int.const_zero(), "")?;
        self.trap_unless(nonzero, trap_code::DIVISION_BY_ZERO, site, None)?;
        if ty.is_signed_int() {
            let min = int.const_int(1u64 << (ty.bits() - 1), false);
            let minus_one = int.const_all_ones();
            let is_min = self.b.build_int_compare(IntPredicate::EQ, x, min, "")?;
            let is_minus_one = self
                .b
                .build_int_compare(IntPredicate::EQ, y, minus_one, "")?;
            let overflow = self.b.build_and(is_min, is_minus_one, "")?;
            let ok = self.b.build_not(overflow, "")?;
            self.trap_unless(ok, trap_code::DIVISION_OVERFLOW, site, None)?;
        }
        Ok(())
    }

    pub fn compare(
        &mut self,
        op: CmpOp,
        a: ValueId,
        b: ValueId,
    ) -> Result<IntValue<'ctx>, LlvmError> {
        let ty = self.value_type(a)?;
        if ty.is_float() {
            // Ordered predicates are false on NaN; `ne` is "unordered or not equal".
            let predicate = match op {
                CmpOp::Eq => FloatPredicate::OEQ,
                CmpOp::Ne => FloatPredicate::UNE,
                CmpOp::Lt => FloatPredicate::OLT,
                CmpOp::Le => FloatPredicate::OLE,
                CmpOp::Gt => FloatPredicate::OGT,
                CmpOp::Ge => FloatPredicate::OGE,
            };
            let (x, y) = (self.float(a)?, self.float(b)?);
            return Ok(self.b.build_float_compare(predicate, x, y, "")?);
        }
        let signed = ty.is_signed_int();
        let predicate = match (op, signed) {
            (CmpOp::Eq, _) => IntPredicate::EQ,
            (CmpOp::Ne, _) => IntPredicate::NE,
            (CmpOp::Lt, true) => IntPredicate::SLT,
            (CmpOp::Le, true) => IntPredicate::SLE,
            (CmpOp::Gt, true) => IntPredicate::SGT,
            (CmpOp::Ge, true) => IntPredicate::SGE,
            (CmpOp::Lt, false) => IntPredicate::ULT,
            (CmpOp::Le, false) => IntPredicate::ULE,
            (CmpOp::Gt, false) => IntPredicate::UGT,
            (CmpOp::Ge, false) => IntPredicate::UGE,
        };
        let (x, y) = (self.int(a)?, self.int(b)?);
        Ok(self.b.build_int_compare(predicate, x, y, "")?)
    }

    /// Rust's `as`.
    pub fn cast(&mut self, a: ValueId, to: ScalarType) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let from = self.value_type(a)?;
        let x = self.value(a)?;
        let to_ty = register_type(self.cx, to);
        Ok(match (from.is_float(), to.is_float()) {
            (true, true) => {
                let x = x.into_float_value();
                let to_ty = to_ty.into_float_type();
                match from.bits().cmp(&to.bits()) {
                    std::cmp::Ordering::Equal => x,
                    std::cmp::Ordering::Less => self.b.build_float_ext(x, to_ty, "")?,
                    // Round to nearest-even (`cvt.rn.f32.f64`).
                    std::cmp::Ordering::Greater => self.b.build_float_trunc(x, to_ty, "")?,
                }
                .into()
            }
            (false, true) => {
                let x = x.into_int_value();
                let to_ty = to_ty.into_float_type();
                if from.is_signed_int() {
                    self.b.build_signed_int_to_float(x, to_ty, "")?.into()
                } else {
                    // Unsigned and bool (0/1).
                    self.b.build_unsigned_int_to_float(x, to_ty, "")?.into()
                }
            }
            (true, false) => self.float_to_int(x.into_float_value(), to)?.into(),
            (false, false) => {
                let x = x.into_int_value();
                let to_int = to_ty.into_int_type();
                if to == ScalarType::Bool {
                    // Not expressible in Rust; "non-zero" as on the other backends.
                    self.b
                        .build_int_compare(IntPredicate::NE, x, x.get_type().const_zero(), "")?
                        .into()
                } else {
                    let (fb, tb) = (register_bits(from), register_bits(to));
                    if fb == tb {
                        x.into()
                    } else if fb > tb {
                        self.b.build_int_truncate(x, to_int, "")?.into()
                    } else if from.is_signed_int() {
                        self.b.build_int_s_extend(x, to_int, "")?.into()
                    } else {
                        self.b.build_int_z_extend(x, to_int, "")?.into()
                    }
                }
            }
        })
    }

    /// Saturating float → int, NaN → 0 (Rust's `as`): the conversion instruction
    /// is only used on values in range (LLVM's `fptosi` is poison outside it), the
    /// bounds are powers of two and exact in both float types.
    fn float_to_int(
        &mut self,
        x: FloatValue<'ctx>,
        to: ScalarType,
    ) -> Result<IntValue<'ctx>, LlvmError> {
        if to == ScalarType::Bool {
            return Err(self.invalid("cannot cast a float to bool"));
        }
        let int = register_type(self.cx, to).into_int_type();
        let fty = x.get_type();
        let bits = to.bits();
        let b = &self.b;
        Ok(if to.is_signed_int() {
            let limit = 2f64.powi(bits as i32 - 1);
            let converted = b.build_float_to_signed_int(x, int, "")?;
            let max = int.const_int((1u64 << (bits - 1)) - 1, false);
            let min = int.const_int(1u64 << (bits - 1), false);
            let too_big =
                b.build_float_compare(FloatPredicate::OGE, x, fty.const_float(limit), "")?;
            let r = b
                .build_select(too_big, max, converted, "")?
                .into_int_value();
            let in_range_low =
                b.build_float_compare(FloatPredicate::OGE, x, fty.const_float(-limit), "")?;
            let r = b.build_select(in_range_low, r, min, "")?.into_int_value();
            let is_nan = b.build_float_compare(FloatPredicate::UNO, x, x, "")?;
            b.build_select(is_nan, int.const_zero(), r, "")?
                .into_int_value()
        } else {
            let limit = 2f64.powi(bits as i32);
            let converted = b.build_float_to_unsigned_int(x, int, "")?;
            let too_big =
                b.build_float_compare(FloatPredicate::OGE, x, fty.const_float(limit), "")?;
            let r = b
                .build_select(too_big, int.const_all_ones(), converted, "")?
                .into_int_value();
            // (-1, 0) truncates to 0 in range; at or below -1 and NaN give 0.
            let above_minus_one =
                b.build_float_compare(FloatPredicate::OGT, x, fty.const_float(-1.0), "")?;
            b.build_select(above_minus_one, r, int.const_zero(), "")?
                .into_int_value()
        })
    }

    pub fn bitcast(
        &mut self,
        a: ValueId,
        to: ScalarType,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let from = self.value_type(a)?;
        if from.bits() != to.bits() || from == ScalarType::Bool || to == ScalarType::Bool {
            return Err(self.invalid(format!("bitcast from {from} to {to}")));
        }
        let x = self.value(a)?;
        let to_ty = register_type(self.cx, to);
        if x.get_type() == to_ty {
            return Ok(x);
        }
        Ok(self.b.build_bit_cast(x, to_ty, "")?)
    }

    pub fn intrinsic(
        &mut self,
        op: Intrinsic,
        args: &[ValueId],
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        operands::intrinsic_arity(op, args.len()).map_err(|m| self.invalid(m))?;
        let ty = self.value_type(args[0])?;
        operands::intrinsic_operand_type(op, ty).map_err(|m| self.invalid(m))?;
        let v: Vec<FloatValue> = args
            .iter()
            .map(|a| self.float(*a))
            .collect::<Result<_, _>>()?;
        if op == Intrinsic::Copysign {
            return self.copysign(ty, v[0], v[1]);
        }
        let name = match op {
            Intrinsic::Sqrt => "llvm.sqrt",
            Intrinsic::Abs => "llvm.fabs",
            Intrinsic::Floor => "llvm.floor",
            Intrinsic::Ceil => "llvm.ceil",
            Intrinsic::Trunc => "llvm.trunc",
            // `cvt.rni`: round to nearest, ties to even.
            Intrinsic::Nearest => "llvm.rint",
            Intrinsic::Fma => "llvm.fma",
            Intrinsic::Copysign => unreachable!("handled above"),
        };
        let args: Vec<BasicMetadataValueEnum> = v.iter().map(|x| (*x).into()).collect();
        self.call_intrinsic(name, register_type(self.cx, ty), &args)
    }

    /// Magnitude of `x`, sign of `y`, on the bit patterns.
    fn copysign(
        &mut self,
        ty: ScalarType,
        x: FloatValue<'ctx>,
        y: FloatValue<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let int = super::types::int_type(self.cx, ty.bits());
        let sign = int.const_int(1u64 << (ty.bits() - 1), false);
        let magnitude_mask = int.const_int(!(1u64 << (ty.bits() - 1)), false);
        let xb = self.b.build_bit_cast(x, int, "")?.into_int_value();
        let yb = self.b.build_bit_cast(y, int, "")?.into_int_value();
        let magnitude = self.b.build_and(xb, magnitude_mask, "")?;
        let sign = self.b.build_and(yb, sign, "")?;
        let bits = self.b.build_or(magnitude, sign, "")?;
        Ok(self.b.build_bit_cast(bits, x.get_type(), "")?)
    }

    pub fn call_intrinsic(
        &mut self,
        name: &str,
        overload: BasicTypeEnum<'ctx>,
        args: &[BasicMetadataValueEnum<'ctx>],
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let declaration = LlvmIntrinsic::find(name)
            .and_then(|i| i.get_declaration(&self.unit.module, &[overload]))
            .ok_or_else(|| LlvmError::Llvm(format!("LLVM has no intrinsic `{name}`")))?;
        let call = self.b.build_call(declaration, args, "")?;
        call.try_as_basic_value()
            .basic()
            .ok_or_else(|| LlvmError::Llvm(format!("`{name}` returned nothing")))
    }

    /// A register value of kern type `ty` in its memory form (`bool` → byte).
    pub fn memory_form(
        &mut self,
        v: BasicValueEnum<'ctx>,
        ty: ScalarType,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        Ok(if ty == ScalarType::Bool {
            self.b
                .build_int_z_extend(v.into_int_value(), self.cx.i8_type(), "")?
                .into()
        } else {
            v
        })
    }

    /// A loaded memory value of kern type `ty` in register form (byte → `bool`:
    /// non-zero is true).
    pub fn register_form(
        &mut self,
        v: BasicValueEnum<'ctx>,
        ty: ScalarType,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        Ok(if ty == ScalarType::Bool {
            let byte = v.into_int_value();
            self.b
                .build_int_compare(IntPredicate::NE, byte, byte.get_type().const_zero(), "")?
                .into()
        } else {
            v
        })
    }
}
