//! The text forms of a generated loop that `kern emit` prints: kern IR, CLIF,
//! machine code, (with the `cuda` feature) the LLVM IR and PTX of its GPU
//! kernel, and (with the `llvm` feature) the optimized tier's LLVM IR and
//! assembly. Ufuncs and gufuncs build their loops themselves; this file only turns
//! a built loop into text, so both show a loop the same way.

use kern_compiler::backend::cranelift::JitEngine;
use kern_compiler::ir::{FuncId, Program};
use kern_compiler::SourceMap;

use crate::gpu_text::{self, GpuText};
use crate::Error;

/// A text form of a generated loop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoopForm {
    Ir,
    Clif,
    Asm,
    /// LLVM IR of the NVPTX kernel (needs the `cuda` feature).
    Llvm,
    /// PTX of the GPU kernel (needs the `cuda` feature).
    Ptx,
    /// The optimized tier's LLVM IR for this CPU (needs the `llvm` feature).
    HostLlvm,
    /// The optimized tier's assembly for this CPU (needs the `llvm` feature).
    HostAsm,
}

/// The loop `loop_id` of `program` in `form`.
pub(crate) fn loop_text(
    program: &Program,
    loop_id: FuncId,
    form: LoopForm,
    sources: &SourceMap,
) -> Result<String, Error> {
    let backend =
        |e: kern_compiler::backend::cranelift::BackendError| Error::Backend(e.to_string());
    match form {
        LoopForm::Ir => Ok(kern_compiler::ir::print::print_function(
            program,
            program.function(loop_id),
        )),
        LoopForm::Clif => JitEngine::emit_clif(program, loop_id, sources).map_err(backend),
        LoopForm::Asm => JitEngine::emit_asm(program, loop_id).map_err(backend),
        LoopForm::Llvm => gpu_text::emit(program, loop_id, GpuText::Llvm, sources),
        LoopForm::Ptx => gpu_text::emit(program, loop_id, GpuText::Ptx, sources),
        LoopForm::HostLlvm => optimized_text(program, loop_id, false),
        LoopForm::HostAsm => optimized_text(program, loop_id, true),
    }
}

/// The optimized tier's LLVM IR (or, with `asm`, assembly) of the unit rooted
/// at `func`.
pub(crate) fn optimized_text(program: &Program, func: FuncId, asm: bool) -> Result<String, Error> {
    #[cfg(feature = "llvm")]
    {
        use kern_compiler::backend::llvm::host;
        let text = if asm {
            host::emit_asm(program, func)
        } else {
            host::emit_llvm_ir(program, func)
        };
        text.map_err(|e| Error::Backend(e.to_string()))
    }
    #[cfg(not(feature = "llvm"))]
    {
        let _ = (program, func, asm);
        Err(crate::tier::no_llvm())
    }
}
