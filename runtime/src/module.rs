//! A loaded kern module: its sources and checked program (held by its compile
//! service, `compile/`, which every handle shares), and the handles onto it.
//!
//! `Module` is the object both the CLI and the Rust API work with. Compilation to
//! machine code is lazy and cached per function (by the compile service); host
//! code (`main`) is interpreted and hands every call into kern code to the
//! compiled version. It depends on the handles (`ufunc`, `gufunc`, `kernel`,
//! `host`, `jobs`); none of them depends on it.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kern_compiler::backend::cranelift::{CallError, CompiledFunction, JitEngine};
use kern_compiler::frontend;
use kern_compiler::interp::{HostArg, Interpreter};
use kern_compiler::ir::{
    FuncId, FunctionKind, HostOp, InstKind, Program, ScalarValue, Trap, TrapKind, Type,
};
use kern_compiler::{Diagnostic, Diagnostics, FileId, SourceMap, Span};

use crate::args::{host_args, Arg};
use crate::compile::{CompileService, LoopRequest};
use crate::gufunc::Gufunc;
use crate::ufunc::Ufunc;
use crate::{Error, Target, Tier};

/// Wall-clock time of each phase, for `kern run --time`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
    /// Loading the stdlib: only the first module of a process pays it.
    pub stdlib: Duration,
    /// Source text to AST (the user's file).
    pub parse: Duration,
    /// Name resolution, type checking and lowering to IR.
    pub check: Duration,
    /// IR to machine code (functions, ufunc and gufunc loops, kernels, PTX) for
    /// everything compiled so far on the calling threads.
    pub compile: Duration,
    /// Starting MPI (`MPI_Init`) for a `main` that calls `mpi::`: the world is
    /// opened before the run's clock starts, as mpi4py starts MPI at its
    /// import. `None` when the run did not open it (no MPI, or it was open
    /// already, as the `mpi` target's availability check opens it).
    pub mpi_start: Option<Duration>,
    /// Running `main` (or the last call).
    pub run: Duration,
}

pub struct Module {
    core: Arc<CompileService>,
    file: FileId,
    /// The functions compiled for host code and calls so far (the service's
    /// code, kept here for the interpreter's call hook).
    machine_code: HashMap<FuncId, CompiledFunction>,
    timings: Timings,
}

impl Module {
    /// Reads, parses and checks a `.kern` file.
    pub fn load(path: impl AsRef<Path>) -> Result<Module, Error> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?;
        Module::from_source(path.display().to_string(), text)
    }

    /// Parses and checks kern source text; `name` is used in diagnostics.
    pub fn from_source(name: impl Into<String>, text: impl Into<String>) -> Result<Module, Error> {
        let mut sources = SourceMap::new();
        let file = sources.add(name, text);
        let (compiled, phase) = frontend::compile_timed(&mut sources, file)
            .map_err(|diagnostics| Error::compile(diagnostics, &sources))?;
        let tier = Tier::from_env()?;
        tier.check_available()?;
        Ok(Module {
            file: compiled.file,
            core: Arc::new(CompileService::new(sources, compiled, tier)),
            machine_code: HashMap::new(),
            timings: Timings {
                stdlib: phase.stdlib,
                parse: phase.parse,
                check: phase.check,
                ..Timings::default()
            },
        })
    }

    pub fn sources(&self) -> &SourceMap {
        &self.core.sources
    }

    /// The user file's id in [`Module::sources`].
    pub fn file(&self) -> FileId {
        self.file
    }

    pub fn program(&self) -> &Program {
        &self.core.compiled.program
    }

    pub fn timings(&self) -> Timings {
        Timings {
            compile: self.core.compile_time(),
            ..self.timings
        }
    }

    /// Names of the non-generic functions of the user's file, in source order.
    pub fn user_function_names(&self) -> Vec<String> {
        let program = &self.core.compiled.program;
        let mut functions: Vec<(&String, FuncId)> = self
            .core
            .compiled
            .functions
            .iter()
            .map(|(name, id)| (name, *id))
            .collect();
        functions.sort_by_key(|(_, id)| program.function(*id).span.start);
        functions
            .into_iter()
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// A handle on the `#[vectorize]` function `name`, to call on arrays. Its target
    /// is the attribute's (`target = ".."`), or `cpu`; change it with
    /// [`Ufunc::with_target`].
    pub fn ufunc(&self, name: &str) -> Result<Ufunc, Error> {
        let scalar_gufunc = || self.core.compiled.gufuncs.get(name)?.as_ufunc();
        match self
            .core
            .compiled
            .ufuncs
            .get(name)
            .cloned()
            .or_else(scalar_gufunc)
        {
            Some(decl) => Ok(Ufunc::new(self.core.clone(), decl, None)),
            None if self.core.compiled.functions.contains_key(name) => Err(Error::Call(format!(
                "`{name}` is not a ufunc: declare it with #[vectorize]"
            ))),
            None => Err(Error::Call(format!("no ufunc `{name}` in this module"))),
        }
    }

    /// Names of the module's ufuncs, in alphabetical order.
    pub fn ufunc_names(&self) -> Vec<String> {
        self.core.compiled.ufuncs.keys().cloned().collect()
    }

    /// A handle on the `#[guvectorize]` function `name`, to call on arrays. Its
    /// target is the attribute's (`target = ".."`), or `cpu`; change it with
    /// [`Gufunc::with_target`].
    pub fn gufunc(&self, name: &str) -> Result<Gufunc, Error> {
        match self.core.compiled.gufuncs.get(name) {
            Some(decl) => Ok(Gufunc::new(self.core.clone(), decl.clone(), None)),
            None if self.core.compiled.functions.contains_key(name)
                || self.core.compiled.ufuncs.contains_key(name) =>
            {
                Err(Error::Call(format!(
                    "`{name}` is not a gufunc: declare it with #[guvectorize]"
                )))
            }
            None => Err(Error::Call(format!("no gufunc `{name}` in this module"))),
        }
    }

    /// A handle on the `#[kernel]` function `name`, to launch over a grid. Its
    /// target is the attribute's (`target = ".."`), or `cpu`; change it with
    /// [`Kernel::with_target`](crate::Kernel::with_target).
    pub fn kernel(&self, name: &str) -> Result<crate::Kernel, Error> {
        match self.core.compiled.functions.get(name) {
            Some(&id)
                if matches!(
                    self.core.compiled.program.function(id).kind,
                    FunctionKind::Kernel { .. }
                ) =>
            {
                Ok(crate::Kernel::new(self.core.clone(), id))
            }
            Some(_) => Err(Error::Call(format!(
                "`{name}` is not a kernel: declare it with #[kernel]"
            ))),
            None => Err(Error::Call(format!("no kernel `{name}` in this module"))),
        }
    }

    /// Names of the module's gufuncs, in alphabetical order.
    pub fn gufunc_names(&self) -> Vec<String> {
        self.core.compiled.gufuncs.keys().cloned().collect()
    }

    /// Id of a non-generic user function.
    pub fn function_id(&self, name: &str) -> Result<FuncId, Error> {
        self.core
            .compiled
            .functions
            .get(name)
            .copied()
            .ok_or_else(|| Error::Call(format!("no function `{name}` in this module")))
    }

    /// A handle on the scalar kern function `name`, compiled now, to run as a job
    /// on a [`crate::jobs::Server`] (or on any thread).
    pub fn function(&mut self, name: &str) -> Result<crate::jobs::KernFunction, Error> {
        let func = self.function_id(name)?;
        let f = self.core.compiled.program.function(func);
        if f.kind == FunctionKind::Main {
            return Err(Error::Call(
                "`main` is host code and cannot be a job".into(),
            ));
        }
        let (params, ret) = (f.param_types(), f.ret);
        let code = self.machine_code_for(func)?.clone();
        crate::jobs::KernFunction::new(self.core.clone(), code, &params, ret)
    }

    /// Runs `fn main()`: host code in the interpreter, its calls into kern functions
    /// as machine code for `target`. Printed output goes to `out`.
    pub fn run_main(&mut self, target: Target, out: &mut dyn Write) -> Result<(), Error> {
        self.run_main_with(target, out, None)
    }

    /// Runs `fn main()` as [`Module::run_main`] does, but with the kern functions
    /// it calls interpreted too (host-array operations still run as machine code
    /// for `target`), stopped with a located "step limit reached" or "time limit
    /// reached" error after `steps` interpreter steps or `time`: the reference run
    /// compiled code is compared with, for programs of unknown cost (the fuzz
    /// targets use it).
    pub fn run_main_interpreted(
        &mut self,
        target: Target,
        out: &mut dyn Write,
        steps: u64,
        time: std::time::Duration,
    ) -> Result<(), Error> {
        self.run_main_with(target, out, Some((steps, time)))
    }

    /// rustc's "`main` function not found", pointing at the end of the file,
    /// where `main` would go.
    fn missing_main(&self) -> Error {
        let sources = &self.core.sources;
        let file = sources.file(self.file);
        let end = file.text.len();
        let mut diagnostics = Diagnostics::new();
        diagnostics.push(
            Diagnostic::error(Span::new(self.file, end, end), "`main` function not found")
                .with_label(format!(
                    "consider adding a `main` function to `{}`",
                    file.name
                )),
        );
        Error::compile(diagnostics, sources)
    }

    fn run_main_with(
        &mut self,
        target: Target,
        out: &mut dyn Write,
        limits: Option<(u64, std::time::Duration)>,
    ) -> Result<(), Error> {
        target.check_available()?;
        let Some(&main) = self.core.compiled.functions.get("main") else {
            return Err(self.missing_main());
        };
        if self.core.compiled.program.function(main).kind != FunctionKind::Main {
            return Err(Error::Call("`main` is not a host function".into()));
        }
        // Compile everything main calls before starting the clock on `run`: the
        // functions it calls, and the loops that fill its random arrays (whose
        // generators run only inside them).
        let mut functions = Vec::new();
        let mut fills = Vec::new();
        for inst in self.core.compiled.program.function(main).body.insts_deep() {
            match &inst.kind {
                InstKind::Host {
                    op: HostOp::Random { func, elem },
                    ..
                } => fills.push(LoopRequest::IndexFill {
                    func: *func,
                    elem: *elem,
                }),
                InstKind::Call { callee, .. } => functions.push(*callee),
                InstKind::Host { op, .. } => functions.extend(op.callee()),
                _ => {}
            }
        }
        for func in functions {
            self.machine_code_for(func)?;
        }
        for fill in &fills {
            self.core
                .machine_code(fill)
                .map_err(|f| self.core.error(f))?;
        }
        // And start MPI before it, if `main` uses it. A world that cannot
        // open is reported where the program first uses it, with its location.
        self.timings.mpi_start = None;
        let program = &self.core.compiled.program;
        if crate::host::calls_mpi(program.function(main))
            && crate::exec::mpi::opened_world().is_none()
        {
            let opening = Instant::now();
            let _ = crate::exec::mpi::world();
            self.timings.mpi_start = Some(opening.elapsed());
        }
        let started = Instant::now();
        let machine_code = &self.machine_code;
        // A failure of compiled code that is not a trap (e.g. its output cannot be
        // written) stops the interpreter through a trap and is reported instead.
        let host_failure: RefCell<Option<CallError>> = RefCell::new(None);
        // Host arrays of `main` and the operations on them (ufunc calls on arrays
        // run on `target` when it is `parallel`).
        let host_env = crate::host::HostArrays::new(self.core.clone(), machine_code, target);
        let interpreter =
            Interpreter::new(&self.core.compiled.program).with_host_env(Box::new(host_env));
        let mut interpreter = match limits {
            Some((steps, time)) => interpreter.with_step_limit(steps).with_time_limit(time),
            None => interpreter.with_call_hook(Box::new(
                |func: FuncId, args: &[HostArg], out: &mut dyn Write| {
                    let code = machine_code.get(&func)?;
                    // Safety: the interpreter only passes arrays it owns and keeps alive
                    // for the duration of the call.
                    Some(match unsafe { code.call(args, out) } {
                        Ok(v) => Ok(v),
                        Err(CallError::Trap(trap)) => Err(trap),
                        // Its prints could not be written: an error at the call's
                        // function, as for host code's own prints.
                        Err(CallError::Output(e)) => Err(Trap {
                            kind: TrapKind::Host(format!(
                                "cannot write the output of `print!`/`println!`: {e}"
                            )),
                            span: self.core.compiled.program.function(func).span,
                        }),
                        Err(other) => {
                            let span = self.core.compiled.program.function(func).span;
                            *host_failure.borrow_mut() = Some(other);
                            Err(Trap {
                                kind: TrapKind::AssertionFailed("host failure".into()),
                                span,
                            })
                        }
                    })
                },
            )),
        };
        let result = interpreter.call_scalars(main, &[], out);
        drop(interpreter);
        self.timings.run = started.elapsed();
        if let Some(failure) = host_failure.into_inner() {
            return Err(self.core.error(failure));
        }
        result
            .map(|_| ())
            .map_err(|trap| Error::kernel(trap, &self.core.sources))
    }

    /// Calls a scalar kern function as machine code.
    pub fn call(
        &mut self,
        name: &str,
        args: &[ScalarValue],
        out: &mut dyn Write,
    ) -> Result<Option<ScalarValue>, Error> {
        let func = self.function_id(name)?;
        self.check_scalar_args(func, args)?;
        self.run_timed(func, |code| code.call_scalars(args, out))
    }

    /// Calls a kern function whose parameters may be arrays (`&[f64]`, `&mut
    /// [[f32; N]; M]`, ...) as machine code. Each array argument must have the
    /// parameter's element type and rank; `&mut` parameters need [`Arg::Mut`].
    pub fn call_with_arrays(
        &mut self,
        name: &str,
        args: &mut [Arg<'_>],
        out: &mut dyn Write,
    ) -> Result<Option<ScalarValue>, Error> {
        let func = self.function_id(name)?;
        let host_args = host_args(self.core.compiled.program.function(func), args)?;
        // SAFETY: every descriptor comes from a live ndarray view of the parameter's
        // element type and rank, borrowed (mutably for `&mut` parameters) by `args`
        // for the whole call, so the function's in-bounds accesses stay inside them.
        self.run_timed(func, |code| unsafe { code.call(&host_args, out) })
    }

    /// Runs `call` with the machine code of `func`, timed as the run.
    fn run_timed(
        &mut self,
        func: FuncId,
        call: impl FnOnce(&CompiledFunction) -> Result<Option<ScalarValue>, CallError>,
    ) -> Result<Option<ScalarValue>, Error> {
        let code = self.machine_code_for(func)?.clone();
        let started = Instant::now();
        let result = call(&code);
        self.timings.run = started.elapsed();
        result.map_err(|e| self.core.error(e))
    }

    /// Calls a scalar kern function in the reference interpreter (the test oracle).
    pub fn interpret(
        &self,
        name: &str,
        args: &[ScalarValue],
        out: &mut dyn Write,
    ) -> Result<Option<ScalarValue>, Error> {
        let func = self.function_id(name)?;
        self.check_scalar_args(func, args)?;
        Interpreter::new(&self.core.compiled.program)
            .call_scalars(func, args, out)
            .map_err(|trap| Error::kernel(trap, &self.core.sources))
    }

    /// CLIF of a function, annotated with the source lines it came from.
    /// The tier this module's CPU code is compiled with (`KERN_TIER` unless set).
    pub fn tier(&self) -> Tier {
        self.core.tier()
    }

    /// Whether the `auto` tier's background LLVM compiles started so far have
    /// finished (always true on the other tiers).
    pub fn background_compiles_done(&self) -> bool {
        self.core.background_done()
    }

    /// Compiles this module's CPU code with `tier` from now on (an error when
    /// this build lacks it: `optimized` needs the `llvm` feature). Handles made
    /// before share the module's compile service and follow too.
    pub fn set_tier(&mut self, tier: Tier) -> Result<(), Error> {
        self.core.set_tier(tier)?;
        self.machine_code.clear();
        Ok(())
    }

    /// The optimised LLVM IR the `optimized` tier compiles function `name` from
    /// (its unit: the function and everything it calls; `llvm` feature).
    pub fn emit_host_llvm(&self, name: &str) -> Result<String, Error> {
        self.emit_optimized(name, false)
    }

    fn emit_optimized(&self, name: &str, asm: bool) -> Result<String, Error> {
        let func = self.function_id(name)?;
        crate::loop_text::optimized_text(&self.core.compiled.program, func, asm)
    }

    pub fn emit_clif(&self, name: &str) -> Result<String, Error> {
        let func = self.function_id(name)?;
        JitEngine::emit_clif(&self.core.compiled.program, func, &self.core.sources)
            .map_err(|e| Error::Backend(e.to_string()))
    }

    /// LLVM IR of a function compiled as a 1-thread GPU kernel (`cuda` feature).
    pub fn emit_llvm(&self, name: &str) -> Result<String, Error> {
        self.emit_gpu(name, crate::gpu_text::GpuText::Llvm)
    }

    /// PTX of a function compiled as a 1-thread GPU kernel (`cuda` feature).
    pub fn emit_ptx(&self, name: &str) -> Result<String, Error> {
        self.emit_gpu(name, crate::gpu_text::GpuText::Ptx)
    }

    fn emit_gpu(&self, name: &str, form: crate::gpu_text::GpuText) -> Result<String, Error> {
        let func = self.function_id(name)?;
        crate::gpu_text::emit(&self.core.compiled.program, func, form, &self.core.sources)
    }

    /// Disassembly of the machine code of a function, as the module's tier
    /// compiles it (`optimized`: LLVM's assembly of the function's unit).
    pub fn emit_asm(&self, name: &str) -> Result<String, Error> {
        if self.tier() == Tier::Optimized {
            return self.emit_optimized(name, true);
        }
        let func = self.function_id(name)?;
        JitEngine::emit_asm(&self.core.compiled.program, func)
            .map_err(|e| Error::Backend(e.to_string()))
    }

    /// The compiled machine code of `func` (compiling it and its callees on first use).
    /// On the `auto` tier the service is asked every time, so calls pick up the
    /// optimized code once its background compile has finished.
    pub fn machine_code_for(&mut self, func: FuncId) -> Result<&CompiledFunction, Error> {
        if !self.machine_code.contains_key(&func) || self.core.tier() == Tier::Auto {
            let f = self.core.compiled.program.function(func);
            if matches!(f.kind, FunctionKind::Kernel { .. }) {
                return Err(Error::Call(format!(
                    "`{}` is a #[kernel]: launch it with `module.kernel(\"{}\")?.launch(grid, block, args, out)`",
                    f.name, f.name
                )));
            }
            let code = self
                .core
                .machine_code(&LoopRequest::Function(func))
                .map_err(|f| self.core.error(f))?;
            self.machine_code.insert(func, code);
        }
        Ok(&self.machine_code[&func])
    }

    fn check_scalar_args(&self, func: FuncId, args: &[ScalarValue]) -> Result<(), Error> {
        let f = self.core.compiled.program.function(func);
        let expected = f.param_types();
        let given: Vec<Type> = args.iter().map(|a| Type::Scalar(a.ty())).collect();
        if expected != given {
            let names = |types: &[Type]| {
                types
                    .iter()
                    .map(|t| kern_compiler::ir::print::type_name(*t))
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(Error::Call(format!(
                "`{}` takes ({}) but was called with ({})",
                f.name,
                names(&expected),
                names(&given)
            )));
        }
        Ok(())
    }
}
