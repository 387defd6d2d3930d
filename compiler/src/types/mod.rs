//! Types: scalar types, and (being written) name resolution, inference and checking.

pub mod scalar;

pub use scalar::{ScalarType, ScalarValue};
