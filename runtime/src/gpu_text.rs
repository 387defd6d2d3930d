//! The GPU forms of `kern emit`: LLVM IR and PTX of a function or a generated
//! loop, from the NVPTX backend when this build has the `cuda` feature, and a
//! clear "rebuild with `--features cuda`" error when it does not.
//!
//! It only turns compiler output into text or an [`Error`]; loading and launching
//! PTX is not its business.

use kern_compiler::ir::{FuncId, Program};
use kern_compiler::SourceMap;

use crate::Error;

/// Which text of the NVPTX backend to return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GpuText {
    Llvm,
    Ptx,
}

/// The LLVM IR or PTX of `function` compiled as a kernel (a loop function as its
/// grid-stride kernel, anything else as a 1-thread kernel).
#[cfg(feature = "cuda")]
pub(crate) fn emit(
    program: &Program,
    function: FuncId,
    text: GpuText,
    sources: &SourceMap,
) -> Result<String, Error> {
    use kern_compiler::backend::llvm::nvptx::{compile_to_ptx, PtxOptions};
    let module = compile_to_ptx(program, &[function], &PtxOptions::default())
        .map_err(|e| crate::compile::ptx_error(e, sources))?;
    Ok(match text {
        GpuText::Llvm => module.llvm_ir,
        GpuText::Ptx => module.ptx,
    })
}

#[cfg(not(feature = "cuda"))]
pub(crate) fn emit(
    _program: &Program,
    _function: FuncId,
    text: GpuText,
    _sources: &SourceMap,
) -> Result<String, Error> {
    let what = match text {
        GpuText::Llvm => "LLVM IR",
        GpuText::Ptx => "PTX",
    };
    Err(Error::TargetUnavailable(format!(
        "{what} output needs the NVPTX backend, which is not built in: rebuild kern with \
         `--features cuda` (needs LLVM 19 development files, Debian package `llvm-19-dev`)"
    )))
}
