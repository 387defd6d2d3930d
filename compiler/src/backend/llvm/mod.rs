//! The LLVM backend: one lowering of kern IR to LLVM IR, two targets.
//!
//! * [`nvptx`] (feature `cuda`): PTX text for NVIDIA GPUs, launched by the runtime.
//! * [`host`] (feature `llvm`): machine code for the host CPU, compiled in-process
//!   (MCJIT) at `-O3` for the machine's own vector units (AVX2, AVX-512, NEON) and
//!   called exactly like the Cranelift backend's code: the same
//!   [`crate::backend::cranelift::CallContext`], trampoline signature and trap
//!   record, behind the same [`crate::backend::cranelift::CompiledFunction`].
//!
//! This folder owns everything LLVM (inkwell): no inkwell type appears in its
//! public API, and nothing outside it names one. The shared files lower one
//! function for either target: `types` (registers, memory and parameter forms of
//! kern values), `lower` (frame, control flow, calls, traps), `hooks`
//! (`TargetHooks`, where the targets differ), `ops` (arithmetic, casts,
//! intrinsics), `memory` (arrays and constant tables) and `atomics`. Each target
//! folder adds its entry points, its hooks and its target machine.
//!
//! # Floating point
//!
//! Both targets keep the IR's IEEE semantics: no fast-math flags on any
//! instruction, so LLVM never reassociates or contracts `a * b + c` into a fused
//! multiply-add (only the IR's explicit `fma` intrinsic fuses), and division and
//! square root are correctly rounded. The math functions are kern's stdlib,
//! compiled like user code, never `llvm.exp`/`llvm.sin` & co.

mod atomics;
mod hooks;
mod lower;
mod memory;
mod ops;
mod trap_record;
mod types;

#[cfg(feature = "llvm")]
pub mod host;
#[cfg(feature = "cuda")]
pub mod nvptx;

use crate::diagnostics::{Diagnostic, Span};

/// Why a program could not be compiled by LLVM (for the GPU or the host).
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LlvmError {
    /// The program uses something a GPU kernel cannot do.
    #[error("`{function}` cannot run on the GPU: {construct}")]
    Unsupported {
        function: String,
        construct: String,
        span: Span,
    },
    /// The IR is not what this backend expects (a bug in an earlier stage).
    #[error("cannot compile `{function}` with LLVM: {message}")]
    Invalid { function: String, message: String },
    /// LLVM rejected the generated module (verifier) or failed to emit code.
    #[error("LLVM failed: {0}")]
    Llvm(String),
    #[error("no function with id {0} in the program")]
    NoSuchFunction(u32),
}

impl LlvmError {
    /// The error as a diagnostic at the offending construct, where it has one.
    pub fn to_diagnostic(&self) -> Option<Diagnostic> {
        match self {
            LlvmError::Unsupported {
                function,
                construct,
                span,
            } => Some(
                Diagnostic::error(*span, format!("{construct} cannot run on the GPU"))
                    .with_label("not supported by the cuda target")
                    .with_note(format!("in `{function}`, compiled for the GPU")),
            ),
            _ => None,
        }
    }
}

impl From<inkwell::builder::BuilderError> for LlvmError {
    fn from(e: inkwell::builder::BuilderError) -> LlvmError {
        LlvmError::Llvm(e.to_string())
    }
}
