//! Built-in methods and constants: the ones that are not stdlib functions.
//!
//! Float methods that are one machine instruction (`sqrt`, `mul_add`, ...) become IR
//! intrinsics; bit reinterpretation, classification and wrapping arithmetic are
//! lowered inline. Everything else a method call names is looked up in the stdlib
//! (`x.exp()` → `exp_f64`) by the checker.

use crate::ir::Intrinsic;
use crate::types::{ScalarType, ScalarValue};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MethodResolution {
    /// A native operation and its arity including the receiver.
    Intrinsic(Intrinsic, usize),
    /// `f64::to_bits` → `u64`
    ToBits,
    IsNan,
    IsInfinite,
    IsFinite,
    IsSignNegative,
    IsSignPositive,
    WrappingAdd,
    WrappingSub,
    WrappingMul,
    WrappingNeg,
}

impl MethodResolution {
    /// Parameter types (after the receiver) and result type for a receiver of type `t`.
    pub fn signature(self, t: ScalarType) -> (Vec<ScalarType>, ScalarType) {
        use MethodResolution::*;
        match self {
            Intrinsic(_, arity) => (vec![t; arity - 1], t),
            ToBits => (vec![], t.bits_type()),
            IsNan | IsInfinite | IsFinite | IsSignNegative | IsSignPositive => {
                (vec![], ScalarType::Bool)
            }
            WrappingAdd | WrappingSub | WrappingMul => (vec![t], t),
            WrappingNeg => (vec![], t),
        }
    }
}

/// The built-in method `name` on receiver type `t`, if there is one.
pub fn resolve_method(t: ScalarType, name: &str) -> Option<MethodResolution> {
    use MethodResolution as M;
    if t.is_float() {
        return Some(match name {
            "sqrt" => M::Intrinsic(Intrinsic::Sqrt, 1),
            "abs" => M::Intrinsic(Intrinsic::Abs, 1),
            "floor" => M::Intrinsic(Intrinsic::Floor, 1),
            "ceil" => M::Intrinsic(Intrinsic::Ceil, 1),
            "trunc" => M::Intrinsic(Intrinsic::Trunc, 1),
            "round_ties_even" => M::Intrinsic(Intrinsic::Nearest, 1),
            "mul_add" => M::Intrinsic(Intrinsic::Fma, 3),
            "copysign" => M::Intrinsic(Intrinsic::Copysign, 2),
            "to_bits" => M::ToBits,
            "is_nan" => M::IsNan,
            "is_infinite" => M::IsInfinite,
            "is_finite" => M::IsFinite,
            "is_sign_negative" => M::IsSignNegative,
            "is_sign_positive" => M::IsSignPositive,
            _ => return None,
        });
    }
    if t.is_int() {
        return Some(match name {
            "wrapping_add" => M::WrappingAdd,
            "wrapping_sub" => M::WrappingSub,
            "wrapping_mul" => M::WrappingMul,
            "wrapping_neg" => M::WrappingNeg,
            _ => return None,
        });
    }
    None
}

pub enum BuiltinConst {
    /// A float constant; its type is the given one, or the context's.
    Float(f64),
    Value(ScalarValue),
}

/// `PI`, `f64::MAX`, `std::f64::consts::E`, `i32::MAX`, ... with their fixed type
/// (`None` when the type comes from context, like a float literal).
pub fn builtin_constant(path: &[&str]) -> Option<(BuiltinConst, Option<ScalarType>)> {
    use std::f64::consts;
    let named_float = |name: &str| -> Option<f64> {
        Some(match name {
            "PI" => consts::PI,
            "E" => consts::E,
            "TAU" => consts::TAU,
            "FRAC_PI_2" => consts::FRAC_PI_2,
            "FRAC_PI_3" => consts::FRAC_PI_3,
            "FRAC_PI_4" => consts::FRAC_PI_4,
            "FRAC_PI_6" => consts::FRAC_PI_6,
            "FRAC_1_PI" => consts::FRAC_1_PI,
            "FRAC_2_PI" => consts::FRAC_2_PI,
            "FRAC_2_SQRT_PI" => consts::FRAC_2_SQRT_PI,
            "SQRT_2" => consts::SQRT_2,
            "FRAC_1_SQRT_2" => consts::FRAC_1_SQRT_2,
            "LN_2" => consts::LN_2,
            "LN_10" => consts::LN_10,
            "LOG2_E" => consts::LOG2_E,
            "LOG10_E" => consts::LOG10_E,
            "LOG2_10" => consts::LOG2_10,
            "LOG10_2" => consts::LOG10_2,
            _ => return None,
        })
    };
    let float_type = |name: &str| match name {
        "f32" => Some(ScalarType::F32),
        "f64" => Some(ScalarType::F64),
        _ => None,
    };
    match path {
        ["PI"] => Some((BuiltinConst::Float(consts::PI), None)),
        ["E"] => Some((BuiltinConst::Float(consts::E), None)),
        ["INF"] => Some((BuiltinConst::Float(f64::INFINITY), None)),
        ["NAN"] => Some((BuiltinConst::Float(f64::NAN), None)),
        ["std" | "core", ty, "consts", name] | [ty, "consts", name] => {
            let t = float_type(ty)?;
            Some((BuiltinConst::Float(named_float(name)?), Some(t)))
        }
        [ty, name] => {
            let t = ScalarType::from_name(ty)?;
            if t.is_float() {
                let single = t == ScalarType::F32;
                let v = match *name {
                    "INFINITY" => f64::INFINITY,
                    "NEG_INFINITY" => f64::NEG_INFINITY,
                    "NAN" => f64::NAN,
                    "MAX" if single => f32::MAX as f64,
                    "MAX" => f64::MAX,
                    "MIN" if single => f32::MIN as f64,
                    "MIN" => f64::MIN,
                    "MIN_POSITIVE" if single => f32::MIN_POSITIVE as f64,
                    "MIN_POSITIVE" => f64::MIN_POSITIVE,
                    "EPSILON" if single => f32::EPSILON as f64,
                    "EPSILON" => f64::EPSILON,
                    _ => return None,
                };
                Some((BuiltinConst::Float(v), Some(t)))
            } else if t.is_int() {
                let bits = t.bits();
                let (min, max): (i128, i128) = if t.is_signed_int() {
                    (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
                } else {
                    (0, (1i128 << bits) - 1)
                };
                let v = match *name {
                    "MAX" => max,
                    "MIN" => min,
                    "BITS" => return Some((BuiltinConst::Value(ScalarValue::U32(bits)), None)),
                    _ => return None,
                };
                Some((BuiltinConst::Value(ScalarValue::int(t, v)), Some(t)))
            } else {
                None
            }
        }
        _ => None,
    }
}
