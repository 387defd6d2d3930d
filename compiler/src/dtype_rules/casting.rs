//! NumPy's casting rules between array dtypes: `safe` (every value survives:
//! `np.can_cast(a, b, "safe")`) for choosing a loop, `same_kind` for writing a
//! loop's result into a given `out`, the five `casting=` rules a call may ask for
//! ([`Casting`]), and how weak (host scalar) operands fit a dtype.
//!
//! It knows dtypes and scalar values only, not ufuncs or arrays.

use crate::scalar::{ScalarType, ScalarValue};

use super::storage_dtype;

/// NumPy's kinds, in the order `same_kind` casting may go up: bool < unsigned <
/// signed < float.
fn kind_rank(t: ScalarType) -> u8 {
    match t {
        ScalarType::Bool => 0,
        t if t.is_unsigned_int() => 1,
        t if t.is_signed_int() => 2,
        _ => 3,
    }
}

/// `np.can_cast(from, to, "safe")`. NumPy counts `int64 -> float64` as safe, and so
/// do we. `usize`/`isize` cast like `u64`/`i64`.
pub fn can_cast_safely(from: ScalarType, to: ScalarType) -> bool {
    let (from, to) = (storage_dtype(from), storage_dtype(to));
    if from == to || from == ScalarType::Bool {
        return true;
    }
    match (from, to) {
        (_, ScalarType::Bool) => false,
        (f, t) if f.is_float() && t.is_float() => t.bits() >= f.bits(),
        (f, _) if f.is_float() => false,
        (f, t) if t.is_float() => match t {
            ScalarType::F32 => f.bits() <= 16,
            _ => true,
        },
        (f, t) if f.is_unsigned_int() && t.is_unsigned_int() => t.bits() >= f.bits(),
        (f, t) if f.is_signed_int() && t.is_signed_int() => t.bits() >= f.bits(),
        (f, t) if f.is_unsigned_int() && t.is_signed_int() => t.bits() > f.bits(),
        _ => false,
    }
}

/// `np.can_cast(from, to, "same_kind")`: safe, or within a kind or up the kinds
/// (`f64 -> f32`, `i64 -> i8`, `u8 -> i8` yes; `f64 -> i64`, `i8 -> u8` no).
pub fn can_cast_same_kind(from: ScalarType, to: ScalarType) -> bool {
    can_cast_safely(from, to) || kind_rank(from) <= kind_rank(to)
}

/// NumPy's `casting=` argument, from the strictest rule to the loosest. kern's
/// dtypes have no byte order, so `equiv` is `no`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Casting {
    /// Only the same dtype.
    No,
    /// The same dtype up to byte order (the same as `No` here).
    Equiv,
    /// Casts that keep every value.
    Safe,
    /// Safe casts, and casts within a kind or up the kinds (the default).
    #[default]
    SameKind,
    /// Any cast (`as`).
    Unsafe,
}

impl Casting {
    /// NumPy's spelling: `'same_kind'`.
    pub fn name(self) -> &'static str {
        match self {
            Casting::No => "no",
            Casting::Equiv => "equiv",
            Casting::Safe => "safe",
            Casting::SameKind => "same_kind",
            Casting::Unsafe => "unsafe",
        }
    }

    /// `np.can_cast(from, to, casting)`.
    pub fn allows(self, from: ScalarType, to: ScalarType) -> bool {
        match self {
            Casting::No | Casting::Equiv => storage_dtype(from) == storage_dtype(to),
            Casting::Safe => can_cast_safely(from, to),
            Casting::SameKind => can_cast_same_kind(from, to),
            Casting::Unsafe => true,
        }
    }
}

impl std::fmt::Display for Casting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Casting {
    /// NumPy's `ValueError` text.
    type Err = String;

    fn from_str(text: &str) -> Result<Casting, String> {
        [
            Casting::No,
            Casting::Equiv,
            Casting::Safe,
            Casting::SameKind,
            Casting::Unsafe,
        ]
        .into_iter()
        .find(|c| c.name() == text)
        .ok_or_else(|| {
            format!(
                "casting must be one of 'no', 'equiv', 'safe', 'same_kind', 'unsafe' (got '{text}')"
            )
        })
    }
}

/// The kind of a weak (host scalar) operand, for NEP 50: 0 bool, 1 integer (of
/// either signedness), 2 float.
pub fn weak_kind(value: ScalarValue) -> u8 {
    match value.ty() {
        ScalarType::Bool => 0,
        t if t.is_float() => 2,
        _ => 1,
    }
}

/// The kind of a dtype on the same scale as [`weak_kind`].
pub fn dtype_kind(t: ScalarType) -> u8 {
    match t {
        ScalarType::Bool => 0,
        t if t.is_float() => 2,
        _ => 1,
    }
}

/// Whether a weak operand may take dtype `to` by kind (NEP 50): a bool any
/// dtype, an integer any integer or float dtype, a float any float dtype.
pub fn weak_kind_fits(value: ScalarValue, to: ScalarType) -> bool {
    weak_kind(value) <= dtype_kind(storage_dtype(to))
}

/// Whether a weak operand's *value* is representable in `to` (an integer in
/// range); checked after the loop is chosen, as NumPy raises `OverflowError`.
pub fn weak_scalar_fits(value: ScalarValue, to: ScalarType) -> bool {
    let to = storage_dtype(to);
    if !weak_kind_fits(value, to) {
        return false;
    }
    match value.as_i128() {
        Some(v) if to.is_int() && value.ty() != ScalarType::Bool => {
            let (lo, hi) = int_range(to);
            lo <= v && v <= hi
        }
        _ => true,
    }
}

fn int_range(t: ScalarType) -> (i128, i128) {
    let bits = t.bits();
    if t.is_signed_int() {
        (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
    } else {
        (0, (1i128 << bits) - 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ScalarType::*;

    /// The table of `np.can_cast(a, b, "safe")` over the eleven array dtypes, as
    /// NumPy 2 prints it (rows: from; columns: to, in the order below).
    const ORDER: [ScalarType; 11] = [Bool, I8, I16, I32, I64, U8, U16, U32, U64, F32, F64];
    const SAFE: [&str; 11] = [
        "11111111111", // bool
        "01111000011", // i8
        "00111000011", // i16
        "00011000001", // i32
        "00001000001", // i64
        "00111111111", // u8
        "00011011111", // u16
        "00001001101", // u32  (u32 -> f32 is not safe)
        "00000000101", // u64
        "00000000011", // f32
        "00000000001", // f64
    ];

    #[test]
    fn safe_casting_matches_numpy() {
        for (i, from) in ORDER.iter().enumerate() {
            for (j, to) in ORDER.iter().enumerate() {
                let expected = SAFE[i].as_bytes()[j] == b'1';
                assert_eq!(can_cast_safely(*from, *to), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn same_kind_allows_downcasts_within_and_up_the_kinds() {
        assert!(can_cast_same_kind(F64, F32));
        assert!(can_cast_same_kind(I64, I8));
        assert!(can_cast_same_kind(U8, I8));
        assert!(can_cast_same_kind(I32, F32));
        assert!(!can_cast_same_kind(F64, I64));
        assert!(!can_cast_same_kind(I8, U8));
        assert!(!can_cast_same_kind(I8, Bool));
    }

    #[test]
    fn casting_rules_nest_from_no_to_unsafe() {
        assert!(Casting::No.allows(I64, I64) && !Casting::No.allows(I32, I64));
        assert!(Casting::Equiv.allows(Usize, U64));
        assert!(Casting::Safe.allows(I32, I64) && !Casting::Safe.allows(F64, F32));
        assert!(Casting::SameKind.allows(F64, F32) && !Casting::SameKind.allows(F64, I64));
        assert!(Casting::Unsafe.allows(F64, Bool));
        for from in ORDER {
            for to in ORDER {
                let allowed: Vec<bool> = [
                    Casting::No,
                    Casting::Equiv,
                    Casting::Safe,
                    Casting::SameKind,
                    Casting::Unsafe,
                ]
                .iter()
                .map(|c| c.allows(from, to))
                .collect();
                assert!(allowed.windows(2).all(|w| w[0] <= w[1]), "{from} -> {to}");
            }
        }
        assert_eq!("same_kind".parse(), Ok(Casting::SameKind));
        assert_eq!(
            "bogus".parse::<Casting>(),
            Err(
                "casting must be one of 'no', 'equiv', 'safe', 'same_kind', 'unsafe' (got 'bogus')"
                    .into()
            )
        );
    }

    #[test]
    fn weak_scalars_fit_by_kind_and_value() {
        assert!(weak_scalar_fits(ScalarValue::I64(2), I32));
        assert!(weak_scalar_fits(ScalarValue::I64(255), U8));
        assert!(!weak_scalar_fits(ScalarValue::I64(256), U8));
        assert!(!weak_scalar_fits(ScalarValue::I64(-1), U64));
        assert!(weak_scalar_fits(ScalarValue::I64(2), F32));
        assert!(weak_scalar_fits(ScalarValue::F64(2.5), F32));
        assert!(!weak_scalar_fits(ScalarValue::F64(2.0), I64));
        assert!(weak_scalar_fits(ScalarValue::Bool(true), I64));
        assert!(!weak_kind_fits(ScalarValue::F64(1.0), I64));
    }
}
