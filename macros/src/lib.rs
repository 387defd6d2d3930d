//! kern-macros: the attribute macros `#[kern::vectorize]`, `#[kern::guvectorize]`,
//! `#[kern::jit]` and `#[kern::kernel]` (issue 4).
//!
//! They will run kern's front end on the annotated Rust function while rustc
//! compiles it, turn kern errors into `compile_error!`s at the right span, re-emit
//! the original item, and expand to a typed handle that JIT-compiles on first call.
//! This crate must not depend on the runtime: it only checks and captures source.
