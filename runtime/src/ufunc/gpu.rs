//! Ufunc calls on the `cuda` target: the loop of a call's dtypes compiled to PTX
//! (the compiler's NVPTX backend, from the same IR loop the CPU targets compile),
//! loaded once per module and dtypes, and launched over packed operands.
//!
//! Reductions and `accumulate` on `cuda` (`gpu_reduce.rs`) use the same fixed
//! orders as the CPU targets, so every target computes the same bits.

use std::sync::Arc;

use kern_compiler::loops::elementwise::{build_elementwise_loop, LoopSignature};

use super::resolve::ResolvedLoop;
use super::{CallPlan, Ufunc};
use crate::exec::cuda::{cached_gpu_loop, gpu, launch_elementwise, GpuLoop};
use crate::exec::StridedOperand;
use crate::Error;

impl Ufunc {
    /// The GPU kernel of the loop for `resolved` at `signature`, compiled and
    /// loaded on first use (under the module's loop lock: once per process).
    pub(super) fn gpu_loop(
        &self,
        resolved: &ResolvedLoop,
        signature: &LoopSignature,
    ) -> Result<Arc<GpuLoop>, Error> {
        let key = (
            self.decl.name.clone(),
            resolved.type_args.clone(),
            signature.clone(),
        );
        let mut cache = self
            .core
            .loops
            .lock()
            .map_err(|_| Error::Backend("a thread panicked while compiling a loop".into()))?;
        cached_gpu_loop(&mut cache.gpu, key, &self.core.sources, || {
            let (mut program, id) = self
                .core
                .compiled
                .instantiate(&self.decl.name, &resolved.type_args)
                .map_err(|d| Error::compile(d, &self.core.sources))?;
            let (_, loop_id) = build_elementwise_loop(&mut program, id, signature)
                .map_err(|e| Error::Backend(e.to_string()))?;
            Ok((program, loop_id))
        })
    }

    /// Runs the call of `plan` on the GPU.
    ///
    /// # Safety
    /// As `execute`: the operands address live memory over the broadcast shape,
    /// the last (the output) writable.
    pub(super) unsafe fn execute_on_gpu(
        &self,
        plan: &CallPlan,
        operands: &[StridedOperand],
    ) -> Result<(), Error> {
        let lp = self.gpu_loop(&plan.resolved, &plan.signature)?;
        // SAFETY: the caller's promise.
        unsafe { launch_elementwise(gpu()?, &lp, &plan.shape, operands) }?
            .map_err(|trap| Error::kernel(trap, &self.core.sources))
    }
}
