//! kern-syntax: the kern language as text — source files, spans and diagnostics,
//! the scalar types, the pest grammar and the parser that turns text into the
//! owned, span-carrying [`ast`]. Knows nothing of types, semantics or code.
//!
//! It is a crate of its own so that the compiler's build script can parse the
//! stdlib once, at build time, and ship its AST ready to use
//! (`kern_compiler::stdlib`); the compiler re-exports it as
//! `kern_compiler::syntax`.

pub mod ast;
pub mod diagnostics;
mod literals;
pub mod names;
pub mod parser;
mod pretty;
pub mod scalar;

pub use parser::parse;
pub use pretty::pretty_print;

#[cfg(test)]
mod tests;
