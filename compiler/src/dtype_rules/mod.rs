//! NumPy's dtype rules as kern applies them to ufunc calls: casting (`safe`,
//! `same_kind`, weak scalars) and loop selection.
//!
//! Shared by the type checker (host code calling a ufunc on arrays gets its result
//! dtype at compile time) and the runtime (Rust API calls resolve at run time), so
//! both always agree. It knows declarations and dtypes, not arrays or code.

pub mod casting;
pub mod reduction;
pub mod resolve;

use crate::scalar::ScalarType;

/// The dtype arrays use for values of `ty`: `usize`/`isize` are stored as 64-bit.
pub fn storage_dtype(ty: ScalarType) -> ScalarType {
    match ty {
        ScalarType::Usize => ScalarType::U64,
        ScalarType::Isize => ScalarType::I64,
        other => other,
    }
}
