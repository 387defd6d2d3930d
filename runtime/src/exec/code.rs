//! What the executors take and give back: a compiled loop in the form its
//! target runs ([`LoopCode`]), the outcome of running it ([`Outcome`]: a trap,
//! or a failure of the machinery) and why a kernel launch failed
//! ([`Failure`]: at a construct of the user's source, or any other error).
//!
//! A leaf of `exec`: it knows the compiler's compiled forms and the runtime's
//! errors, nothing of how anything runs.

#[cfg(feature = "cuda")]
use std::sync::Arc;

use kern_compiler::backend::cranelift::{CallError, CompiledFunction};
use kern_compiler::ir::Trap;

use crate::Error;

/// A compiled loop, in the form its target runs: machine code on the CPU
/// targets, a loaded PTX kernel on `cuda`.
#[derive(Clone)]
pub enum LoopCode {
    Machine(CompiledFunction),
    #[cfg(feature = "cuda")]
    Gpu(Arc<super::cuda::GpuLoop>),
}

impl LoopCode {
    /// The machine code, for an executor of the CPU targets.
    pub fn machine(self) -> Result<CompiledFunction, Error> {
        match self {
            LoopCode::Machine(f) => Ok(f),
            #[cfg(feature = "cuda")]
            LoopCode::Gpu(_) => Err(Error::Backend(
                "internal error: a GPU kernel where machine code was expected".into(),
            )),
        }
    }

    /// The GPU kernel, for an executor of `cuda`.
    #[cfg(feature = "cuda")]
    pub fn gpu(self) -> Result<Arc<super::cuda::GpuLoop>, Error> {
        match self {
            LoopCode::Gpu(lp) => Ok(lp),
            LoopCode::Machine(_) => Err(Error::Backend(
                "internal error: machine code where a GPU kernel was expected".into(),
            )),
        }
    }
}

/// Why a request could not be compiled (or, for kernels, launched): at a
/// construct of the user's source, reported as a trap there (a barrier in a
/// kernel launched on `cpu`, a `print!` in a kernel on `cuda`), or any other
/// error.
pub enum Failure {
    At(Trap),
    Error(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Error(e)
    }
}

/// The one conversion of a failed call of compiled code: its trap, or the
/// error of its arguments or its output.
impl From<CallError> for Failure {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Trap(trap) => Failure::At(trap),
            CallError::Arguments { function, message } => {
                Failure::Error(Error::Call(format!("`{function}`: {message}")))
            }
            CallError::Output(source) => Failure::Error(Error::Write {
                what: crate::error::PRINT_OUTPUT.into(),
                source,
            }),
        }
    }
}

/// A run-time outcome: `Err` for a failure of the machinery, `Ok(Err)` for a
/// trap of the loop.
pub type Outcome = Result<Result<(), Trap>, Error>;
