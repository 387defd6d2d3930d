//! kern-compiler: everything from kern source text to runnable code.
//!
//! The pipeline, one folder per stage after [`syntax`] (the `kern-syntax` crate:
//! pest grammar → AST with spans, re-exported here),
//! [`types`] (name resolution, inference, checking, monomorphization), [`ir`] (the
//! typed target-neutral IR, lowering into it and passes over it), [`interp`] (the
//! reference interpreter over the IR) and [`backend`] (code generators). The
//! [`stdlib`] is kern source compiled like user code. This crate knows nothing of
//! arrays on the host, of threads (beyond where the current one's stack ends,
//! [`stack_limit`]) or of targets beyond "compile this function": the
//! runtime crate drives it.

pub mod backend;
pub mod collections;
pub use kern_syntax::diagnostics;
pub mod dtype_rules;
pub mod frontend;
pub mod gufunc_signature;
pub mod interp;
pub mod ir;
pub mod kernel_decl;
pub mod loops;
pub mod lower;
pub mod passes;
pub use kern_syntax::scalar;
pub mod stack_limit;
pub mod stdlib;
/// The language as text (grammar, parser, AST): the `kern-syntax` crate.
pub use kern_syntax as syntax;
#[cfg(test)]
pub(crate) mod test_support;
pub mod types;

pub use diagnostics::{Diagnostic, Diagnostics, FileId, SourceMap, Span};
