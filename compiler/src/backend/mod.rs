//! Code generators from kern IR. Each backend lives in its own folder and is the
//! only place its engine's types appear: `cranelift/` makes machine code for the
//! CPU targets in-process, `nvptx/` (feature `cuda`) PTX text for NVIDIA GPUs.

pub mod cranelift;
#[cfg(feature = "cuda")]
pub mod nvptx;
