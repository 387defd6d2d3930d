//! The dtypes of a ufunc's reductions and accumulations: what the elements are
//! converted to before they are combined (NumPy widens `add` and `multiply` of
//! small integers; kern does so for ufuncs declared `widen = true`), and the loop
//! that combines them.
//!
//! Shared by the checker (host code's `f.reduce(..)` gets its result type at
//! compile time) and the runtime, so both agree. It knows declarations and dtypes,
//! not arrays.

use super::resolve::{resolve_loop, InputDtype, NoMatchingLoop, ResolvedLoop};
use crate::kernel_decl::UfuncDecl;
use crate::scalar::ScalarType;

/// The loop a reduction of elements of `dtype` runs: the one chosen for
/// `(dtype, dtype)`.
pub fn accumulator_loop(
    decl: &UfuncDecl,
    dtype: ScalarType,
) -> Result<ResolvedLoop, NoMatchingLoop> {
    resolve_loop(
        decl,
        &[InputDtype::Strong(dtype), InputDtype::Strong(dtype)],
    )
}

/// The dtype a reduction or accumulation of `dtype` converts its elements to:
/// for a `widen = true` ufunc, bool and integers narrower than 64 bits become
/// `i64` (`u64` when unsigned) if the ufunc has a loop for it, as NumPy's `add`
/// and `multiply` do; otherwise `dtype` itself.
pub fn reduction_input(decl: &UfuncDecl, dtype: ScalarType) -> ScalarType {
    if !decl.widen {
        return dtype;
    }
    let wide = match dtype {
        ScalarType::Bool | ScalarType::I8 | ScalarType::I16 | ScalarType::I32 => ScalarType::I64,
        ScalarType::U8 | ScalarType::U16 | ScalarType::U32 => ScalarType::U64,
        other => other,
    };
    match accumulator_loop(decl, wide) {
        Ok(_) => wide,
        Err(_) => dtype,
    }
}
