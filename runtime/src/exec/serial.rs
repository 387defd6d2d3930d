//! The `cpu` target for elementwise work: every run on the calling thread, in
//! order, stopping at the first trap — the reference every other target must match.

use kern_compiler::ir::Trap;

use super::{ElementwiseLoop, Iteration};

/// Runs all of `iteration`.
///
/// # Safety
/// As [`ElementwiseLoop::run`].
pub unsafe fn run(lp: &ElementwiseLoop, iteration: &Iteration) -> Result<(), Trap> {
    // SAFETY: forwarded from the caller.
    unsafe { lp.run(iteration, 0, iteration.len()) }
}
