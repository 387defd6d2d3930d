//! The Cranelift backend: compiles kern IR to native code in memory (cranelift-jit).
//!
//! This folder owns everything Cranelift: no Cranelift type appears in its public
//! API, and nothing outside it may name one. It knows the IR ([`crate::ir`]) and the
//! shared print formatting ([`crate::ir::format`]); it knows nothing of the front
//! end, the interpreter or the runtime's arrays beyond the [`crate::ir::ArrayDesc`]
//! layout.
//!
//! # Files
//!
//! * [`abi`]: the run-time contract between generated code and the host — the
//!   [`CallContext`] every compiled function receives, trap codes, the per-unit site
//!   tables and the `print!` hook.
//! * `lower` / `ops` / `memory`: IR → CLIF for one function (control flow and calls;
//!   arithmetic, comparisons, casts and intrinsics; array and constant-table access).
//! * `trampoline`: the uniform host entry of a compiled function.
//! * [`engine`]: [`JitEngine`] (units, modules, `emit_clif`/`emit_asm`).
//! * [`compiled`]: [`CompiledFunction`] (calling from the host) and [`CallError`].
//! * `emit`: CLIF text annotated with kern source lines, for `kern emit --clif`.
//! * `vector` / `vector_body` / `vector_ops` / `vector_arith` / `vector_cast`: the
//!   SIMD path of elementwise loops (loop shape and stride check; one iteration's
//!   body with guards and skippable regions; lane-parallel operations on 128-bit
//!   vectors), from the target-neutral predicated form of [`crate::passes::predicate`];
//!   `vector_reduce` the SIMD path of batched block reductions, whose eight
//!   accumulators are lanes of vectors, from the same form of the combiner.
//! * `lane_groups`: adjacent instructions of a block doing one float operation
//!   on neighbouring elements (a jammed gufunc body's columns) as one vector
//!   instruction, in any function lowered on a SIMD host.
//!
//! # Calling convention and traps
//!
//! Every compiled kern function has the native (System V) signature
//! `fn(ctx: *mut CallContext, params...) -> ret`: scalars as their machine type
//! (bool as `i8` 0/1, `usize`/`isize` as `i64`), arrays as a pointer to an
//! [`crate::ir::ArrayDesc`]. The hidden `ctx` carries the trap state, the recursion
//! depth, the output sink and the unit's site tables.
//!
//! Kern traps never use a hardware trap or signal: a division checks its divisor
//! before `sdiv`/`udiv` (so there is never a SIGFPE), every checked index is compared
//! (unsigned) against its extent. On a failed check the function writes the trap
//! code, the *site index* (into the unit's table of `(Span, kind)`) and up to two
//! payloads (index, length) into `ctx` and returns at once with a dummy value. After
//! every call of a kern function that can trap (`ir::call_graph::CallFacts`: it, or
//! something it calls, divides, indexes, asserts or checks a call) the caller tests
//! `ctx.trap_code` and returns too, so a trap unwinds the whole kern stack with
//! ordinary returns. The host then turns the code and site into an
//! [`crate::ir::Trap`]. All failure paths live in
//! blocks marked cold, so hot loops fall through their checks.
//!
//! Recursion cannot overflow the native stack: before a call of a recursive function
//! (one on a cycle of the call graph) the caller compares `ctx.depth` against
//! [`abi::RECURSION_LIMIT`] and traps with `RecursionLimit` at the call's span; before
//! a call of a recursive function, or of one whose frame plus everything it calls
//! without a check may take more than [`crate::stack_limit::UNCHECKED_CALL_BYTES`],
//! it compares its stack pointer, less that stack need, with `ctx.stack_limit` (the
//! calling thread's stack end plus a reserve, [`crate::stack_limit`]) and traps with
//! `StackOverflow` there. Cranelift's own `stack_limit` prologue check is not used: it ends in a
//! hardware trap (a signal), and kern traps are ordinary returns.
//!
//! `print!` formats on the host: the generated code stores the argument bits
//! (`ScalarValue::to_bits`) into a stack buffer and calls the `extern "C"` print hook
//! with the print site's index, and the hook formats with [`crate::ir::format`] so
//! the text is byte-identical to the interpreter's.
//!
//! Elementwise loops (`FunctionKind::ElementwiseLoop`) get a SIMD path on x86-64
//! with SSE4.1: when every input stride is 0 or 1 and the output's is 1, groups of
//! elements run lane-parallel; a group in which some lane would trap or needs
//! something only scalar code can do runs through the scalar loop instead, so
//! results, traps and side effects are exactly the interpreter's (see `vector`).
//! Batched block reductions (`FunctionKind::ReductionBatch`) whose combiner runs
//! lane-parallel without guards keep their eight accumulators in vectors when
//! the reduced axis is contiguous: the same operations on every accumulator,
//! so the same bits (see `vector_reduce`). Row folds (`FunctionKind::RowFold`)
//! of such a combiner keep groups of accumulators in vectors across several rows
//! when the lanes are contiguous: each lane still folds its elements in order
//! (see `vector_rows`). In any function, a run of adjacent instructions doing
//! one float operation on neighbouring elements (a jammed gufunc body's
//! columns) is one vector instruction: nothing moves, every lane is the scalar
//! operation (see `lane_groups`).
//!
//! Intrinsics become single instructions (`sqrt`, `fabs`, `floor`, `ceil`, `trunc`,
//! `nearest`, `fma`, `fcopysign`); where the host lacks the instruction set Cranelift
//! would need a libm call for, compilation fails instead.

pub mod abi;
pub mod compiled;
pub mod engine;

mod emit;
mod lane_groups;
mod lower;
mod memory;
mod ops;
mod spmd;
mod trampoline;
mod vector;
mod vector_arith;
mod vector_body;
mod vector_cast;
mod vector_ops;
mod vector_reduce;
mod vector_rows;

pub use abi::CallContext;
pub use compiled::{CallError, CompiledFunction};
pub use engine::JitEngine;

/// Why a function could not be compiled.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The IR uses something this backend cannot compile (or the host cannot run).
    #[error("cannot compile `{function}`: {message}")]
    Unsupported { function: String, message: String },
    /// Cranelift rejected or failed to compile a function (includes verifier errors).
    #[error("code generation failed for `{function}`: {message}")]
    Codegen { function: String, message: String },
    /// The JIT module could not declare, define or link something.
    #[error("JIT module error for `{function}`: {message}")]
    Module { function: String, message: String },
    /// The host machine is not supported by Cranelift.
    #[error("unsupported host: {0}")]
    Host(String),
    /// A function id that is not in the program.
    #[error("no function with id {0} in the program")]
    NoSuchFunction(u32),
}

impl BackendError {
    pub(crate) fn unsupported(function: &str, message: impl Into<String>) -> BackendError {
        BackendError::Unsupported {
            function: function.to_string(),
            message: message.into(),
        }
    }

    /// Wraps a module error; verifier failures arrive here as `Compilation` errors
    /// and are reported with the verifier's message.
    pub(crate) fn from_module(
        function: &str,
        error: cranelift_module::ModuleError,
    ) -> BackendError {
        match error {
            cranelift_module::ModuleError::Compilation(e) => BackendError::Codegen {
                function: function.to_string(),
                message: format!("{e:?}"),
            },
            other => BackendError::Module {
                function: function.to_string(),
                message: other.to_string(),
            },
        }
    }
}
