//! The compile service of one module: the checked program and its sources, ONE
//! JIT engine (created on first use), and the loops compiled so far, cached by
//! request and target (a gufunc's loop also by its small core extents, a bounded
//! number of them: `specialise.rs`). Every handle (`Module`, `Ufunc`, `Gufunc`, `Kernel`, host
//! code, jobs) asks [`CompileService::compile`] for what it runs: a
//! [`LoopRequest`] is built into IR by the compiler's loop builders, verified
//! (`ir::verify`: a loop built at run time that breaks the IR's rules is an
//! internal error, never miscompiled), compiled by the target's backend
//! (on the CPU targets the module's [`Tier`]'s: Cranelift, or LLVM `-O3` with
//! the `llvm` feature; the NVPTX backend on `cuda`) and cached, under one lock
//! so concurrent first calls compile once.
//!
//! It knows the compiler's builders, verifier and backends, and which backend a
//! target uses; it must not know the handles that ask (module, ufunc, gufunc,
//! kernel, host, jobs) nor how a compiled loop is run (`exec`).

#[cfg(feature = "llvm")]
mod auto;
#[cfg(feature = "llvm")]
mod idle_class;
#[cfg(feature = "llvm")]
mod llvm;
mod request;
mod specialise;

use std::collections::HashMap;
#[cfg(feature = "cuda")]
use std::sync::Arc;
use std::sync::Mutex;

use kern_compiler::backend::cranelift::{CompiledFunction, JitEngine};
use kern_compiler::frontend::Compiled;
use kern_compiler::ir::Program;
use kern_compiler::SourceMap;

pub(crate) use request::{Fold, LoopRequest};
pub use specialise::{MAX_CORE_EXTENT, MAX_SPECIALISED_PER_LOOP};

pub(crate) use crate::exec::code::Failure;
#[cfg(feature = "cuda")]
use crate::exec::cuda::GpuLoop;
use crate::exec::LoopCode;
use crate::{Error, Target, Tier};

/// What a module's handles share: the sources (to render errors), the checked
/// program (to instantiate and build loops from) and the compiled code.
pub(crate) struct CompileService {
    pub sources: SourceMap,
    pub compiled: Compiled,
    state: Mutex<State>,
}

/// The engine and the caches, behind the service's one lock.
#[derive(Default)]
struct State {
    /// Which compiler makes the CPU targets' code (`KERN_TIER` by default).
    tier: Tier,
    engine: Option<JitEngine>,
    /// The gufunc calls' core extents specialised on so far (bounded).
    admitted: specialise::Admitted,
    machine: HashMap<LoopRequest, CompiledFunction>,
    /// Time spent building and compiling on callers' threads (background
    /// compiles of the `auto` tier excluded): `kern run --time`'s "compile".
    compile_time: std::time::Duration,
    /// The `auto` tier's LLVM code and its background compiler; a request
    /// found upgraded is served LLVM's code (the swap).
    #[cfg(feature = "llvm")]
    upgrades: auto::Upgrades,
    #[cfg(feature = "cuda")]
    gpu: HashMap<LoopRequest, Arc<GpuLoop>>,
}

/// The one conversion of a backend's error.
fn backend_error(e: impl std::fmt::Display) -> Error {
    Error::Backend(e.to_string())
}

impl CompileService {
    pub fn new(sources: SourceMap, compiled: Compiled, tier: Tier) -> CompileService {
        CompileService {
            sources,
            compiled,
            state: Mutex::new(State {
                tier,
                ..State::default()
            }),
        }
    }

    /// Time spent so far building and compiling code on callers' threads (the
    /// `auto` tier's background compiles are not in it).
    pub fn compile_time(&self) -> std::time::Duration {
        self.state
            .lock()
            .map_or(Default::default(), |s| s.compile_time)
    }

    /// The tier the CPU targets' code is compiled with.
    pub fn tier(&self) -> Tier {
        self.state.lock().map_or(Tier::Baseline, |s| s.tier)
    }

    /// Compiles the CPU targets' code with `tier` from now on; code compiled
    /// before stays as it is (every tier computes the same bits).
    pub fn set_tier(&self, tier: Tier) -> Result<(), Error> {
        tier.check_available()?;
        let mut state = self
            .state
            .lock()
            .map_err(|_| Error::Backend("a thread panicked while compiling a loop".into()))?;
        if state.tier != tier {
            state.tier = tier;
            state.machine.clear();
        }
        Ok(())
    }

    /// Whether the `auto` tier's background compiles have all finished (for
    /// tests and benchmarks that wait for the swap).
    pub fn background_done(&self) -> bool {
        #[cfg(feature = "llvm")]
        if let Ok(state) = self.state.lock() {
            return state.upgrades.all_done();
        }
        true
    }

    /// The code of `request` for `target`, built, verified and compiled on first
    /// use and cached. `elements` is how many elements the caller is about to run
    /// through it (0 where it does not know): on the `auto` tier a large call
    /// makes the request hot at once (`auto.rs`).
    pub fn compile(
        &self,
        request: &LoopRequest,
        #[cfg_attr(not(feature = "cuda"), allow(unused_variables))] target: Target,
        #[cfg_attr(not(feature = "llvm"), allow(unused_variables))] elements: usize,
    ) -> Result<LoopCode, Failure> {
        let mut state = self
            .state
            .lock()
            .map_err(|_| Error::Backend("a thread panicked while compiling a loop".into()))?;
        let admitted = state.admitted.admit(request);
        let request = &*admitted;
        #[cfg(feature = "cuda")]
        if target == Target::Cuda && !matches!(request, LoopRequest::Function(_)) {
            let request = &request.gpu_form();
            if let Some(lp) = state.gpu.get(request) {
                return Ok(LoopCode::Gpu(lp.clone()));
            }
            // Fail before building anything when there is no GPU.
            let gpu = crate::exec::cuda::gpu()?;
            let started = std::time::Instant::now();
            let (program, root) = self.build(request, false)?;
            let ptx = kern_compiler::backend::llvm::nvptx::compile_to_ptx(
                &program,
                &[root],
                &Default::default(),
            )
            .map_err(|e| self.ptx_failure(request, e))?;
            let lp = Arc::new(GpuLoop::load(gpu, ptx, root)?);
            state.gpu.insert(request.clone(), lp.clone());
            state.compile_time += started.elapsed();
            return Ok(LoopCode::Gpu(lp));
        }
        #[cfg(feature = "llvm")]
        if state.tier == Tier::Auto {
            if let Some(f) = state.upgrades.get(request) {
                return Ok(LoopCode::Machine(f));
            }
        }
        let f = match state.machine.get(request) {
            Some(f) => f.clone(),
            None => self.compile_machine(&mut state, request)?,
        };
        // Baseline now, LLVM behind it once hot (`auto.rs`): no call waits.
        #[cfg(feature = "llvm")]
        if state.tier == Tier::Auto
            && !state.upgrades.is_queued(request)
            && auto::worth_upgrading(request)
            && auto::is_hot(elements, Some(&f))
        {
            let (program, root) = self.build(request, true)?;
            let program = program.into_owned();
            state
                .upgrades
                .queue(request.clone(), program, root, f.clone());
        }
        Ok(LoopCode::Machine(f))
    }

    /// Compiles `request` for the CPU with the tier's compiler (`auto` starts
    /// with the baseline's) and caches it.
    fn compile_machine(
        &self,
        state: &mut State,
        request: &LoopRequest,
    ) -> Result<CompiledFunction, Failure> {
        let started = std::time::Instant::now();
        let (program, root) = self.build(request, true)?;
        let f = match state.tier {
            #[cfg(feature = "llvm")]
            Tier::Optimized => {
                llvm::compile(&program, root, "on call", None).map_err(backend_error)?
            }
            _ => {
                if state.engine.is_none() {
                    state.engine = Some(JitEngine::new().map_err(backend_error)?);
                }
                let engine = state.engine.as_mut().expect("engine was just created");
                engine.compile(&program, root).map_err(backend_error)?
            }
        };
        state.machine.insert(request.clone(), f.clone());
        state.compile_time += started.elapsed();
        Ok(f)
    }

    /// The machine code of `request` (any CPU target).
    pub fn machine_code(&self, request: &LoopRequest) -> Result<CompiledFunction, Failure> {
        Ok(self.compile(request, Target::Cpu, 0)?.machine()?)
    }

    /// The loaded GPU kernel of `request`.
    #[cfg(feature = "cuda")]
    pub fn gpu_loop(&self, request: &LoopRequest) -> Result<Arc<GpuLoop>, Failure> {
        Ok(self.compile(request, Target::Cuda, 0)?.gpu()?)
    }

    /// The IR of `request` (for `kern emit` and the interpreter), built and
    /// verified. `spmd_threads` as in [`LoopRequest::build`].
    pub fn build(
        &self,
        request: &LoopRequest,
        spmd_threads: bool,
    ) -> Result<(std::borrow::Cow<'_, Program>, kern_compiler::ir::FuncId), Failure> {
        let (program, root) = request.build(&self.compiled, &self.sources, spmd_threads)?;
        // What was built now is checked here, whatever the build profile: the
        // functions the loop's unit is made of, which is what gets compiled.
        if let std::borrow::Cow::Owned(built) = &program {
            kern_compiler::ir::verify::verify_unit(built, root).map_err(|errors| {
                Error::Backend(format!(
                    "internal error: the loop built for {request:?} breaks the IR's rules: {}",
                    errors.join("; ")
                ))
            })?;
        }
        Ok((program, root))
    }

    /// `failure` (or a failed call) as an error, a trap rendered at its source
    /// location.
    pub fn error(&self, failure: impl Into<Failure>) -> Error {
        match failure.into() {
            Failure::At(trap) => Error::kernel(trap, &self.sources),
            Failure::Error(e) => e,
        }
    }

    /// Requests the `auto` tier has queued for LLVM so far.
    #[cfg(all(test, feature = "llvm"))]
    fn upgrades_queued(&self) -> usize {
        self.state
            .lock()
            .expect("no thread panicked")
            .upgrades
            .queued()
    }

    /// Whether the `auto` tier's background thread is in the idle scheduling
    /// class now (`None` before its first compile).
    #[cfg(all(test, feature = "llvm"))]
    fn background_thread_idle(&self) -> Option<bool> {
        self.state
            .lock()
            .expect("no thread panicked")
            .upgrades
            .background_thread_idle()
    }

    /// The requests compiled to machine code so far.
    #[cfg(test)]
    pub(crate) fn cached_requests(&self) -> Vec<LoopRequest> {
        let state = self.state.lock().expect("no thread panicked");
        state.machine.keys().cloned().collect()
    }

    /// Compilation units the engine holds (each compiled once).
    #[cfg(test)]
    fn compiled_units(&self) -> usize {
        let state = self.state.lock().expect("no thread panicked");
        state.engine.as_ref().map_or(0, |e| e.compiled_units())
    }

    /// A compile error of the NVPTX backend: for a kernel, at the construct's
    /// span (a `print!` in the kernel, a shared array too large) so that it
    /// renders at the kernel's source like a trap; for a loop, the diagnostic
    /// rendered against the sources.
    #[cfg(feature = "cuda")]
    fn ptx_failure(
        &self,
        request: &LoopRequest,
        e: kern_compiler::backend::llvm::nvptx::LlvmError,
    ) -> Failure {
        use kern_compiler::backend::llvm::nvptx::LlvmError;
        match (request, e) {
            (
                LoopRequest::KernelLaunch(_),
                LlvmError::Unsupported {
                    function,
                    construct,
                    span,
                },
            ) => Failure::At(kern_compiler::ir::Trap {
                kind: kern_compiler::ir::TrapKind::Host(format!(
                    "{construct} cannot run on the GPU (in `{function}`, compiled for the cuda target)"
                )),
                span,
            }),
            (LoopRequest::KernelLaunch(_), other) => backend_error(other).into(),
            (_, e) => ptx_error(e, &self.sources).into(),
        }
    }
}

/// LLVM must not be compiling while the process tears it down: a dropped
/// service waits for its background compiles (each tens of milliseconds).
#[cfg(feature = "llvm")]
impl Drop for CompileService {
    fn drop(&mut self) {
        match self.state.get_mut() {
            Ok(state) => state.upgrades.finish(),
            Err(poisoned) => poisoned.into_inner().upgrades.finish(),
        }
    }
}

/// A compile error of the NVPTX backend for a loop or a function: its
/// diagnostic rendered against `sources` when it has one.
#[cfg(feature = "cuda")]
pub(crate) fn ptx_error(
    e: kern_compiler::backend::llvm::nvptx::LlvmError,
    sources: &SourceMap,
) -> Error {
    match e.to_diagnostic() {
        Some(d) => Error::compile(d.into(), sources),
        None => backend_error(e),
    }
}

#[cfg(test)]
mod tests;
