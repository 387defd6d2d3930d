//! Code generators from kern IR. Each backend lives in its own folder and is the
//! only place its engine's types appear: `cranelift/` makes machine code for the
//! CPU targets in-process (feature `cranelift`, on by default: the baseline tier),
//! `llvm/` one LLVM lowering for two targets — `llvm/nvptx` (feature `cuda`) PTX
//! text for NVIDIA GPUs, `llvm/host` (feature `llvm`) optimised machine code for
//! the host CPU (the optimized tier). What every backend shares lives here: the trap
//! record, codes and decoder ([`traps`]), and the lowering of structured control flow
//! ([`structured`]): a backend implements [`structured::CfgBuilder`] and lowers only
//! its own instructions; the operand checks before an intrinsic or an atomic
//! ([`operands`]).

#[cfg(feature = "cranelift")]
pub mod cranelift;
#[cfg(any(feature = "cuda", feature = "llvm"))]
pub mod llvm;
pub mod operands;
pub mod structured;
pub mod traps;
