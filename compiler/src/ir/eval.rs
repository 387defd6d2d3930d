//! The scalar semantics of kern IR as plain functions.
//!
//! The interpreter and the constant folder both call these, so they can never
//! disagree; the backends are tested against them. Every rule here is the one
//! stated in the `ir` module docs (wrapping integers, checked division, masked
//! shifts, Rust `as` casts).

use super::{BinaryOp, CmpOp, Intrinsic, TrapKind, UnaryOp};
use crate::scalar::{ScalarType, ScalarValue};

/// Integer value widened to i128 plus its type (floats are handled separately).
fn int_parts(v: ScalarValue) -> (i128, ScalarType) {
    (v.as_i128().unwrap_or(0), v.ty())
}

pub fn eval_unary(op: UnaryOp, v: ScalarValue) -> ScalarValue {
    match (op, v) {
        (UnaryOp::Neg, ScalarValue::F32(x)) => ScalarValue::F32(-x),
        (UnaryOp::Neg, ScalarValue::F64(x)) => ScalarValue::F64(-x),
        (UnaryOp::Neg, v) => {
            let (x, t) = int_parts(v);
            ScalarValue::int(t, x.wrapping_neg())
        }
        (UnaryOp::Not, ScalarValue::Bool(b)) => ScalarValue::Bool(!b),
        (UnaryOp::Not, v) => {
            let (x, t) = int_parts(v);
            ScalarValue::int(t, !x)
        }
    }
}

pub fn eval_binary(op: BinaryOp, a: ScalarValue, b: ScalarValue) -> Result<ScalarValue, TrapKind> {
    use ScalarValue::*;
    match (a, b) {
        (F32(x), F32(y)) => Ok(F32(match op {
            BinaryOp::Add => x + y,
            BinaryOp::Sub => x - y,
            BinaryOp::Mul => x * y,
            BinaryOp::Div => x / y,
            BinaryOp::Rem => x % y,
            _ => return Ok(F32(f32::NAN)),
        })),
        (F64(x), F64(y)) => Ok(F64(match op {
            BinaryOp::Add => x + y,
            BinaryOp::Sub => x - y,
            BinaryOp::Mul => x * y,
            BinaryOp::Div => x / y,
            BinaryOp::Rem => x % y,
            _ => return Ok(F64(f64::NAN)),
        })),
        (Bool(x), Bool(y)) => Ok(Bool(match op {
            BinaryOp::And => x & y,
            BinaryOp::Or => x | y,
            BinaryOp::Xor => x ^ y,
            _ => x,
        })),
        _ => eval_int_binary(op, a, b),
    }
}

fn eval_int_binary(op: BinaryOp, a: ScalarValue, b: ScalarValue) -> Result<ScalarValue, TrapKind> {
    let (x, t) = int_parts(a);
    let (y, _) = int_parts(b);
    let bits = t.bits();
    let signed = t.is_signed_int();
    let result = match op {
        BinaryOp::Add => x.wrapping_add(y),
        BinaryOp::Sub => x.wrapping_sub(y),
        BinaryOp::Mul => x.wrapping_mul(y),
        BinaryOp::Div | BinaryOp::Rem => {
            if y == 0 {
                return Err(TrapKind::DivisionByZero);
            }
            if signed && y == -1 && x == -(1i128 << (bits - 1)) {
                return Err(TrapKind::DivisionOverflow);
            }
            if op == BinaryOp::Div {
                x / y
            } else {
                x % y
            }
        }
        BinaryOp::And => x & y,
        BinaryOp::Or => x | y,
        BinaryOp::Xor => x ^ y,
        BinaryOp::Shl | BinaryOp::Shr => {
            // The amount is taken modulo the width, whatever its own type.
            let amount = (b.to_bits() as u32) % bits;
            let mask: u128 = if bits == 128 {
                u128::MAX
            } else {
                (1u128 << bits) - 1
            };
            let ux = (x as u128) & mask;
            if op == BinaryOp::Shl {
                ((ux << amount) & mask) as i128
            } else if signed {
                x >> amount
            } else {
                (ux >> amount) as i128
            }
        }
    };
    Ok(ScalarValue::int(t, result))
}

pub fn eval_cmp(op: CmpOp, a: ScalarValue, b: ScalarValue) -> bool {
    use std::cmp::Ordering;
    let ord: Option<Ordering> = match (a, b) {
        (ScalarValue::F32(x), ScalarValue::F32(y)) => x.partial_cmp(&y),
        (ScalarValue::F64(x), ScalarValue::F64(y)) => x.partial_cmp(&y),
        _ => Some(int_parts(a).0.cmp(&int_parts(b).0)),
    };
    match (op, ord) {
        (CmpOp::Ne, None) => true,
        (_, None) => false,
        (CmpOp::Eq, Some(o)) => o == Ordering::Equal,
        (CmpOp::Ne, Some(o)) => o != Ordering::Equal,
        (CmpOp::Lt, Some(o)) => o == Ordering::Less,
        (CmpOp::Le, Some(o)) => o != Ordering::Greater,
        (CmpOp::Gt, Some(o)) => o == Ordering::Greater,
        (CmpOp::Ge, Some(o)) => o != Ordering::Less,
    }
}

/// Rust's `as`: truncating/extending integer casts, saturating float→int.
pub fn eval_cast(v: ScalarValue, to: ScalarType) -> ScalarValue {
    use ScalarType as T;
    let float = match v {
        ScalarValue::F32(x) => Some(x as f64),
        ScalarValue::F64(x) => Some(x),
        _ => None,
    };
    match (float, to) {
        (Some(_), T::F32) => ScalarValue::F32(match v {
            ScalarValue::F32(x) => x,
            ScalarValue::F64(x) => x as f32,
            _ => 0.0,
        }),
        (Some(x), T::F64) => ScalarValue::F64(x),
        (Some(x), t) => {
            // Saturating, NaN → 0: exactly what Rust's `as` does for each width.
            let i: i128 = match t {
                T::I8 => x as i8 as i128,
                T::I16 => x as i16 as i128,
                T::I32 => x as i32 as i128,
                T::I64 | T::Isize => x as i64 as i128,
                T::U8 => x as u8 as i128,
                T::U16 => x as u16 as i128,
                T::U32 => x as u32 as i128,
                T::U64 | T::Usize => x as u64 as i128,
                _ => 0,
            };
            ScalarValue::int(t, i)
        }
        (None, T::F32) => {
            let (x, t) = int_parts(v);
            ScalarValue::F32(if t.is_signed_int() || t == T::Bool {
                x as i64 as f32
            } else {
                x as u64 as f32
            })
        }
        (None, T::F64) => {
            let (x, t) = int_parts(v);
            ScalarValue::F64(if t.is_signed_int() || t == T::Bool {
                x as i64 as f64
            } else {
                x as u64 as f64
            })
        }
        (None, T::Bool) => ScalarValue::Bool(int_parts(v).0 != 0),
        (None, t) => ScalarValue::int(t, int_parts(v).0),
    }
}

/// Reinterprets the bits of `v` as `to` (equal widths).
pub fn eval_bitcast(v: ScalarValue, to: ScalarType) -> ScalarValue {
    ScalarValue::from_bits(to, v.to_bits())
}

pub fn eval_intrinsic(i: Intrinsic, args: &[ScalarValue]) -> ScalarValue {
    use ScalarValue::{F32, F64};
    let arg = |k: usize| args.get(k).copied().unwrap_or(F64(f64::NAN));
    match (i, arg(0)) {
        (Intrinsic::Sqrt, F32(x)) => F32(x.sqrt()),
        (Intrinsic::Sqrt, F64(x)) => F64(x.sqrt()),
        (Intrinsic::Abs, F32(x)) => F32(x.abs()),
        (Intrinsic::Abs, F64(x)) => F64(x.abs()),
        (Intrinsic::Floor, F32(x)) => F32(x.floor()),
        (Intrinsic::Floor, F64(x)) => F64(x.floor()),
        (Intrinsic::Ceil, F32(x)) => F32(x.ceil()),
        (Intrinsic::Ceil, F64(x)) => F64(x.ceil()),
        (Intrinsic::Trunc, F32(x)) => F32(x.trunc()),
        (Intrinsic::Trunc, F64(x)) => F64(x.trunc()),
        (Intrinsic::Nearest, F32(x)) => F32(x.round_ties_even()),
        (Intrinsic::Nearest, F64(x)) => F64(x.round_ties_even()),
        (Intrinsic::Fma, F32(x)) => match (arg(1), arg(2)) {
            (F32(y), F32(z)) => F32(x.mul_add(y, z)),
            _ => F32(f32::NAN),
        },
        (Intrinsic::Fma, F64(x)) => match (arg(1), arg(2)) {
            (F64(y), F64(z)) => F64(x.mul_add(y, z)),
            _ => F64(f64::NAN),
        },
        (Intrinsic::Copysign, F32(x)) => match arg(1) {
            F32(y) => F32(x.copysign(y)),
            _ => F32(f32::NAN),
        },
        (Intrinsic::Copysign, F64(x)) => match arg(1) {
            F64(y) => F64(x.copysign(y)),
            _ => F64(f64::NAN),
        },
        (_, other) => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScalarValue::*;

    #[test]
    fn integer_arithmetic_wraps() {
        assert_eq!(
            eval_binary(BinaryOp::Add, I32(i32::MAX), I32(1)),
            Ok(I32(i32::MIN))
        );
        assert_eq!(eval_binary(BinaryOp::Mul, U8(200), U8(2)), Ok(U8(144)));
        assert_eq!(
            eval_binary(BinaryOp::Sub, U64(0), U64(1)),
            Ok(U64(u64::MAX))
        );
        assert_eq!(eval_unary(UnaryOp::Neg, I8(i8::MIN)), I8(i8::MIN));
        assert_eq!(eval_unary(UnaryOp::Not, U8(0)), U8(255));
    }

    #[test]
    fn division_truncates_and_traps() {
        assert_eq!(eval_binary(BinaryOp::Div, I32(-7), I32(2)), Ok(I32(-3)));
        assert_eq!(eval_binary(BinaryOp::Rem, I32(-7), I32(2)), Ok(I32(-1)));
        assert_eq!(
            eval_binary(BinaryOp::Div, I64(1), I64(0)),
            Err(TrapKind::DivisionByZero)
        );
        assert_eq!(
            eval_binary(BinaryOp::Rem, U8(1), U8(0)),
            Err(TrapKind::DivisionByZero)
        );
        assert_eq!(
            eval_binary(BinaryOp::Div, I32(i32::MIN), I32(-1)),
            Err(TrapKind::DivisionOverflow)
        );
        assert_eq!(
            eval_binary(BinaryOp::Rem, I8(i8::MIN), I8(-1)),
            Err(TrapKind::DivisionOverflow)
        );
        assert_eq!(
            eval_binary(BinaryOp::Div, U32(u32::MAX), U32(1)),
            Ok(U32(u32::MAX))
        );
    }

    #[test]
    fn shifts_mask_the_amount() {
        assert_eq!(eval_binary(BinaryOp::Shl, I8(1), U32(9)), Ok(I8(2)));
        assert_eq!(eval_binary(BinaryOp::Shr, I32(-8), I64(1)), Ok(I32(-4)));
        assert_eq!(
            eval_binary(BinaryOp::Shr, U32(0x8000_0000), U8(31)),
            Ok(U32(1))
        );
        assert_eq!(
            eval_binary(BinaryOp::Shl, U64(1), I32(-1)),
            Ok(U64(1 << 63))
        );
        assert_eq!(eval_binary(BinaryOp::Shl, U8(0x81), U32(1)), Ok(U8(2)));
    }

    #[test]
    fn casts_follow_rust_as() {
        assert_eq!(eval_cast(I32(300), ScalarType::U8), U8(44));
        assert_eq!(eval_cast(I32(-1), ScalarType::U32), U32(u32::MAX));
        assert_eq!(eval_cast(U8(255), ScalarType::I8), I8(-1));
        assert_eq!(eval_cast(F64(300.0), ScalarType::U8), U8(255));
        assert_eq!(eval_cast(F64(-1.5), ScalarType::U8), U8(0));
        assert_eq!(eval_cast(F64(f64::NAN), ScalarType::I32), I32(0));
        assert_eq!(eval_cast(F64(1e20), ScalarType::I64), I64(i64::MAX));
        assert_eq!(eval_cast(F32(-3.99), ScalarType::I16), I16(-3));
        assert_eq!(
            eval_cast(U64(u64::MAX), ScalarType::F64),
            F64(u64::MAX as f64)
        );
        assert_eq!(eval_cast(Bool(true), ScalarType::I32), I32(1));
        assert!(eval_cast(F64(1e300), ScalarType::F32).bit_eq(F32(f32::INFINITY)));
    }

    #[test]
    fn float_comparisons_with_nan() {
        assert!(!eval_cmp(CmpOp::Eq, F64(f64::NAN), F64(f64::NAN)));
        assert!(eval_cmp(CmpOp::Ne, F64(f64::NAN), F64(1.0)));
        assert!(!eval_cmp(CmpOp::Lt, F32(f32::NAN), F32(1.0)));
        assert!(eval_cmp(CmpOp::Eq, F64(0.0), F64(-0.0)));
        assert!(eval_cmp(CmpOp::Lt, I64(-1), I64(0)));
        assert!(!eval_cmp(CmpOp::Lt, U64(u64::MAX), U64(0)));
    }

    #[test]
    fn intrinsics_are_exact_operations() {
        assert_eq!(eval_intrinsic(Intrinsic::Nearest, &[F64(2.5)]), F64(2.0));
        assert_eq!(
            eval_intrinsic(Intrinsic::Fma, &[F64(0.1), F64(10.0), F64(-1.0)]),
            F64(0.1f64.mul_add(10.0, -1.0))
        );
        assert!(eval_intrinsic(Intrinsic::Copysign, &[F32(1.0), F32(-0.0)]).bit_eq(F32(-1.0)));
    }
}
