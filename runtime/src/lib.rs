//! kern-runtime: loads kern modules, compiles their functions for a target and runs
//! them.
//!
//! It drives the compiler crate (front end, interpreter, backends) and owns
//! everything about *running*: which target executes a call, where printed output
//! goes, how errors reach the user. Host code (`fn main`) runs in the reference
//! interpreter; every call it makes into a kern function runs as compiled code on
//! the selected target. The runtime knows nothing of kern syntax or of Cranelift:
//! it only talks to the compiler's public API.

mod args;
pub mod array;
pub mod broadcast;
mod compile;
mod error;
pub mod exec;
mod gpu_text;
pub mod gufunc;
mod host;
pub mod jobs;
pub mod kernel;
mod loop_text;
/// Run-time support for the expansions of the attribute macros; not a public API.
#[doc(hidden)]
pub mod macro_support;
mod module;
mod named;
mod shape;
mod target;
mod tier;
pub mod ufunc;

pub use args::Arg;
pub use array::{
    ArrayMut, ArrayRef, DType, Element, NdArray, Operand, OutOperand, RetainingAllocator,
};
pub use error::Error;
#[cfg(feature = "cuda")]
pub use exec::cuda::{to_device, DeviceArray};
pub use gufunc::Gufunc;
pub use kernel::{Dim3, Kernel};
pub use module::{Module, Timings};
pub use target::Target;
pub use tier::{Tier, TIER_VARIABLE};
#[cfg(feature = "cuda")]
pub use ufunc::DeviceOperand;
pub use ufunc::{Initial, LoopForm, Reduce, Ufunc};

pub use kern_compiler::dtype_rules::casting::Casting;
pub use kern_compiler::gufunc_signature;
pub use kern_compiler::ir::{ScalarType, ScalarValue};
