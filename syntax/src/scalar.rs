//! The scalar types of kern and constant scalar values.
//!
//! Shared by every stage: the checker assigns `ScalarType`s, the IR is typed with
//! them, the backends map them to machine types and the interpreter computes with
//! [`ScalarValue`]s. `usize`/`isize` are distinct types for the checker (as in Rust)
//! but are 64-bit integers for every backend.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum ScalarType {
    Bool,
    I8,
    I16,
    I32,
    I64,
    Isize,
    U8,
    U16,
    U32,
    U64,
    Usize,
    F32,
    F64,
}

impl ScalarType {
    pub const ALL: [ScalarType; 13] = [
        ScalarType::Bool,
        ScalarType::I8,
        ScalarType::I16,
        ScalarType::I32,
        ScalarType::I64,
        ScalarType::Isize,
        ScalarType::U8,
        ScalarType::U16,
        ScalarType::U32,
        ScalarType::U64,
        ScalarType::Usize,
        ScalarType::F32,
        ScalarType::F64,
    ];

    /// The Rust / kern spelling: `f64`, `usize`, ...
    pub fn name(self) -> &'static str {
        match self {
            ScalarType::Bool => "bool",
            ScalarType::I8 => "i8",
            ScalarType::I16 => "i16",
            ScalarType::I32 => "i32",
            ScalarType::I64 => "i64",
            ScalarType::Isize => "isize",
            ScalarType::U8 => "u8",
            ScalarType::U16 => "u16",
            ScalarType::U32 => "u32",
            ScalarType::U64 => "u64",
            ScalarType::Usize => "usize",
            ScalarType::F32 => "f32",
            ScalarType::F64 => "f64",
        }
    }

    pub fn from_name(name: &str) -> Option<ScalarType> {
        ScalarType::ALL.into_iter().find(|t| t.name() == name)
    }

    pub fn is_float(self) -> bool {
        matches!(self, ScalarType::F32 | ScalarType::F64)
    }

    pub fn is_int(self) -> bool {
        !self.is_float() && self != ScalarType::Bool
    }

    pub fn is_signed_int(self) -> bool {
        matches!(
            self,
            ScalarType::I8
                | ScalarType::I16
                | ScalarType::I32
                | ScalarType::I64
                | ScalarType::Isize
        )
    }

    pub fn is_unsigned_int(self) -> bool {
        self.is_int() && !self.is_signed_int()
    }

    /// Width in bits of the value (bool counts as 8: it is stored as one byte).
    pub fn bits(self) -> u32 {
        match self {
            ScalarType::Bool | ScalarType::I8 | ScalarType::U8 => 8,
            ScalarType::I16 | ScalarType::U16 => 16,
            ScalarType::I32 | ScalarType::U32 | ScalarType::F32 => 32,
            ScalarType::I64
            | ScalarType::U64
            | ScalarType::Isize
            | ScalarType::Usize
            | ScalarType::F64 => 64,
        }
    }

    pub fn size_bytes(self) -> usize {
        self.bits() as usize / 8
    }

    /// The unsigned integer type of the same width (for bit casts of floats).
    pub fn bits_type(self) -> ScalarType {
        match self.bits() {
            8 => ScalarType::U8,
            16 => ScalarType::U16,
            32 => ScalarType::U32,
            _ => ScalarType::U64,
        }
    }
}

impl fmt::Display for ScalarType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A constant of some scalar type. Integers are stored sign- or zero-extended to 64
/// bits according to their type; floats keep their exact bits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum ScalarValue {
    Bool(bool),
    I8(i8),
    I16(i16),
    I32(i32),
    I64(i64),
    Isize(i64),
    U8(u8),
    U16(u16),
    U32(u32),
    U64(u64),
    Usize(u64),
    F32(f32),
    F64(f64),
}

impl ScalarValue {
    pub fn ty(self) -> ScalarType {
        match self {
            ScalarValue::Bool(_) => ScalarType::Bool,
            ScalarValue::I8(_) => ScalarType::I8,
            ScalarValue::I16(_) => ScalarType::I16,
            ScalarValue::I32(_) => ScalarType::I32,
            ScalarValue::I64(_) => ScalarType::I64,
            ScalarValue::Isize(_) => ScalarType::Isize,
            ScalarValue::U8(_) => ScalarType::U8,
            ScalarValue::U16(_) => ScalarType::U16,
            ScalarValue::U32(_) => ScalarType::U32,
            ScalarValue::U64(_) => ScalarType::U64,
            ScalarValue::Usize(_) => ScalarType::Usize,
            ScalarValue::F32(_) => ScalarType::F32,
            ScalarValue::F64(_) => ScalarType::F64,
        }
    }

    /// The value's bits, zero-extended to 64 (floats: their IEEE bits; bool: 0/1).
    /// This is how scalars travel through the JIT's argument slots.
    pub fn to_bits(self) -> u64 {
        match self {
            ScalarValue::Bool(b) => b as u64,
            ScalarValue::I8(v) => v as u8 as u64,
            ScalarValue::I16(v) => v as u16 as u64,
            ScalarValue::I32(v) => v as u32 as u64,
            ScalarValue::I64(v) | ScalarValue::Isize(v) => v as u64,
            ScalarValue::U8(v) => v as u64,
            ScalarValue::U16(v) => v as u64,
            ScalarValue::U32(v) => v as u64,
            ScalarValue::U64(v) | ScalarValue::Usize(v) => v,
            ScalarValue::F32(v) => v.to_bits() as u64,
            ScalarValue::F64(v) => v.to_bits(),
        }
    }

    /// Inverse of [`ScalarValue::to_bits`]: reads the low bits of `bits` as `ty`.
    pub fn from_bits(ty: ScalarType, bits: u64) -> ScalarValue {
        match ty {
            ScalarType::Bool => ScalarValue::Bool(bits & 1 != 0),
            ScalarType::I8 => ScalarValue::I8(bits as u8 as i8),
            ScalarType::I16 => ScalarValue::I16(bits as u16 as i16),
            ScalarType::I32 => ScalarValue::I32(bits as u32 as i32),
            ScalarType::I64 => ScalarValue::I64(bits as i64),
            ScalarType::Isize => ScalarValue::Isize(bits as i64),
            ScalarType::U8 => ScalarValue::U8(bits as u8),
            ScalarType::U16 => ScalarValue::U16(bits as u16),
            ScalarType::U32 => ScalarValue::U32(bits as u32),
            ScalarType::U64 => ScalarValue::U64(bits),
            ScalarType::Usize => ScalarValue::Usize(bits),
            ScalarType::F32 => ScalarValue::F32(f32::from_bits(bits as u32)),
            ScalarType::F64 => ScalarValue::F64(f64::from_bits(bits)),
        }
    }

    /// The zero of a type (`false` for bool).
    pub fn zero(ty: ScalarType) -> ScalarValue {
        ScalarValue::from_bits(ty, 0)
    }

    /// Integer value as i128 (exact for every integer type); `None` for floats.
    pub fn as_i128(self) -> Option<i128> {
        Some(match self {
            ScalarValue::Bool(b) => b as i128,
            ScalarValue::I8(v) => v as i128,
            ScalarValue::I16(v) => v as i128,
            ScalarValue::I32(v) => v as i128,
            ScalarValue::I64(v) | ScalarValue::Isize(v) => v as i128,
            ScalarValue::U8(v) => v as i128,
            ScalarValue::U16(v) => v as i128,
            ScalarValue::U32(v) => v as i128,
            ScalarValue::U64(v) | ScalarValue::Usize(v) => v as i128,
            ScalarValue::F32(_) | ScalarValue::F64(_) => return None,
        })
    }

    /// An integer constant of type `ty` from an i128, wrapping like `as`.
    pub fn int(ty: ScalarType, value: i128) -> ScalarValue {
        ScalarValue::from_bits(ty, value as u64)
    }

    /// Bit-exact equality (NaN equals the same NaN; -0.0 differs from 0.0).
    pub fn bit_eq(self, other: ScalarValue) -> bool {
        self.ty() == other.ty() && self.to_bits() == other.to_bits()
    }

    /// The equality every engine must satisfy: bit-exact, except that any NaN
    /// equals any NaN (payload and sign of a NaN are unspecified, see `ir`).
    pub fn same_result(self, other: ScalarValue) -> bool {
        let is_nan = |v: ScalarValue| match v {
            ScalarValue::F32(x) => x.is_nan(),
            ScalarValue::F64(x) => x.is_nan(),
            _ => false,
        };
        self.bit_eq(other) || (self.ty() == other.ty() && is_nan(self) && is_nan(other))
    }
}

impl fmt::Display for ScalarValue {
    /// Rust's `Display` of the value, exactly as `println!("{}", v)` prints it.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ScalarValue::Bool(v) => fmt::Display::fmt(&v, f),
            ScalarValue::I8(v) => fmt::Display::fmt(&v, f),
            ScalarValue::I16(v) => fmt::Display::fmt(&v, f),
            ScalarValue::I32(v) => fmt::Display::fmt(&v, f),
            ScalarValue::I64(v) | ScalarValue::Isize(v) => fmt::Display::fmt(&v, f),
            ScalarValue::U8(v) => fmt::Display::fmt(&v, f),
            ScalarValue::U16(v) => fmt::Display::fmt(&v, f),
            ScalarValue::U32(v) => fmt::Display::fmt(&v, f),
            ScalarValue::U64(v) | ScalarValue::Usize(v) => fmt::Display::fmt(&v, f),
            ScalarValue::F32(v) => fmt::Display::fmt(&v, f),
            ScalarValue::F64(v) => fmt::Display::fmt(&v, f),
        }
    }
}
