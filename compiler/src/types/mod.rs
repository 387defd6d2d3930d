//! Types: name resolution, inference and checking of kern
//! functions. Produces side tables over the AST (`check::TypedBody`); knows nothing
//! of IR construction or code generation.

pub mod check;
pub mod env;
mod format_string;
pub mod infer;
pub mod methods;

pub use crate::scalar::{ScalarType, ScalarValue};

/// The most dimensions a host array (`Array<T>`, a shape list, a loaded `.npy`
/// file) has: NumPy 1.x's `NPY_MAXDIMS`, and what any real program needs.
pub const MAX_ARRAY_DIMS: usize = 32;
