//! Turning a loop's kern IR into a GPU kernel loaded on the device, once per cache
//! key: ufunc loops (`ufunc/gpu.rs`) and gufunc loops (`gufunc/run.rs`) differ
//! only in how they build the loop function and in which cache holds it, so both
//! come here for the rest — PTX generation, mapping its errors, loading.
//!
//! It knows the compiler's PTX entry point and the device; it does not know what a
//! ufunc or a gufunc is, nor the keys it caches under.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use kern_compiler::backend::nvptx::{compile_to_ptx, PtxOptions};
use kern_compiler::ir::{FuncId, Program};
use kern_compiler::SourceMap;

use super::device::gpu;
use super::launch::GpuLoop;
use crate::Error;

impl GpuLoop {
    /// Compiles `function` of `program` to PTX and loads it. A construct the GPU
    /// cannot run (`print!`, recursion, ...) is a compile error rendered against
    /// `sources`, with its span.
    pub fn compile(
        program: &Program,
        function: FuncId,
        sources: &SourceMap,
    ) -> Result<GpuLoop, Error> {
        let gpu = gpu()?;
        let ptx =
            compile_to_ptx(program, &[function], &PtxOptions::default()).map_err(|e| {
                match e.to_diagnostic() {
                    Some(d) => Error::compile(d.into(), sources),
                    None => Error::Backend(e.to_string()),
                }
            })?;
        GpuLoop::load(gpu, ptx, function)
    }
}

/// The loaded loop under `key`, or the loop `build` returns compiled and loaded
/// and cached under `key`. The caller holds the lock around `cache` for the whole
/// call, so concurrent first calls compile once.
pub fn cached_gpu_loop<K: Eq + Hash>(
    cache: &mut HashMap<K, Arc<GpuLoop>>,
    key: K,
    sources: &SourceMap,
    build: impl FnOnce() -> Result<(Program, FuncId), Error>,
) -> Result<Arc<GpuLoop>, Error> {
    if let Some(lp) = cache.get(&key) {
        return Ok(lp.clone());
    }
    // Fail before building anything when there is no GPU.
    gpu()?;
    let (program, function) = build()?;
    let lp = Arc::new(GpuLoop::compile(&program, function, sources)?);
    cache.insert(key, lp.clone());
    Ok(lp)
}
