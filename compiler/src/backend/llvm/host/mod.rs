//! The host-CPU target of the LLVM backend: the optimized tier. Compiles a kern
//! function and everything it calls to LLVM IR (the shared lowering of
//! [`crate::backend::llvm`]), optimises it with LLVM's `default<O3>` pipeline for
//! the machine it runs on (its CPU name and features: AVX2, AVX-512, NEON …) and
//! turns it into machine code in-process (MCJIT). Compiled only with the `llvm`
//! feature.
//!
//! # Calling convention: the Cranelift tier's, exactly
//!
//! The result is a [`CompiledFunction`], called through the same trampoline
//! signature `extern "C" fn(ctx: *mut CallContext, args: *const u64, ret: *mut
//! u64)` with the same slots (scalar bits, or the address of an
//! [`crate::ir::ArrayDesc`]) and the same [`CallContext`](crate::backend::cranelift::CallContext): the runtime cannot tell
//! the tiers apart except by [`CompiledFunction::engine`]. Inside the unit, kern
//! functions take the context (typed as its trap record's `code` word) first and
//! arrays flattened (pointer, extents, strides), as on the GPU.
//!
//! # Traps, recursion, the stack and `print!`: the Cranelift tier's rules
//!
//! A failed check writes the trap record at the start of the context (code, site,
//! payload; `kern$trap`) and returns a dummy value; after a call of a function
//! that can trap (`ir::call_graph::CallFacts`) the caller tests the record's code
//! and returns too, so a trap unwinds with ordinary returns and the host decodes
//! the same site — the same kind and source span as the baseline tier. Calls into
//! a recursive cycle count [`CallContext::depth`](crate::backend::cranelift::CallContext::depth) against
//! [`crate::backend::cranelift::abi::RECURSION_LIMIT`] and trap at the call's span
//! beyond it; calls the facts say must check the stack compare the stack pointer
//! (`llvm.stacksave`), less the callee's estimated need, with
//! [`CallContext::stack_limit`](crate::backend::cranelift::CallContext::stack_limit). LLVM's frames are estimated more generously than
//! Cranelift's ([`frame_estimate`]): `-O3` inlines, so a frame may hold its
//! callees' values. `print!` stores the arguments' bits in a buffer and calls the
//! same host hook, which formats with `ir::format`.
//!
//! # Floating point
//!
//! The same bits as the baseline tier: no fast-math flags, no `fmuladd` (so no
//! fused multiply-add where the IR has a multiply and an add, on any CPU), no
//! `llvm.exp`/`llvm.sin` & co. (the math is kern's stdlib, inlined, which LLVM's
//! loop vectoriser can run at the machine's full vector width).
//!
//! # Files
//!
//! * `target`: the host target machine, the module's function attributes, the
//!   pass pipeline, MCJIT and the owner of the code memory.
//! * `entry`: the unit's host-specific functions — `kern$trap` (fills the record)
//!   and the trampoline.
//! * `hooks`: the host's side of the shared lowering (calls, traps, `print!`).
//! * `contiguous`: the dispatcher in front of an elementwise loop that runs
//!   contiguous and broadcast operands through a unit-stride copy of the loop,
//!   which LLVM vectorises.
//! * `block_reduce`: a batch of block reductions built with its eight
//!   accumulators as one vector; `row_fold`: a row fold with groups of
//!   accumulators in registers across rows; `fold_vectors`: what they share.

mod block_reduce;
mod contiguous;
mod entry;
mod fold_vectors;
mod hooks;
mod row_fold;
mod target;

use crate::backend::cranelift::CompiledFunction;
use crate::ir::{FuncId, Program};

pub use super::LlvmError;
pub use target::{frame_estimate, host_cpu, CompileTimes};

/// Compiles `root` and every kern function it calls to optimised machine code
/// for this CPU, callable like the Cranelift tier's code.
pub fn compile(program: &Program, root: FuncId) -> Result<CompiledFunction, LlvmError> {
    target::compile(program, root, None).map(|(code, _)| code)
}

/// [`compile`], and where its time went. An elementwise loop whose body has
/// guards leaves its scalar elements (other strides, chunks where a guard held)
/// to the baseline's code of the same loop: `baseline`, the request's Cranelift
/// code where the caller has it, else compiled here.
pub fn compile_timed(
    program: &Program,
    root: FuncId,
    baseline: Option<&CompiledFunction>,
) -> Result<(CompiledFunction, CompileTimes), LlvmError> {
    target::compile(program, root, baseline)
}

/// The optimised LLVM IR of the unit rooted at `root` (`kern emit --llvm
/// --target cpu`).
pub fn emit_llvm_ir(program: &Program, root: FuncId) -> Result<String, LlvmError> {
    target::emit(program, root, target::Emit::LlvmIr)
}

/// The host assembly of the unit rooted at `root`, as LLVM generates it for the
/// optimized tier (`kern emit --asm --tier optimized`).
pub fn emit_asm(program: &Program, root: FuncId) -> Result<String, LlvmError> {
    target::emit(program, root, target::Emit::Asm)
}
