//! Explicit SPMD kernels (`#[kernel]`): launching one over a grid of blocks of
//! threads on `cpu`, `parallel` or `cuda`, from Rust ([`Kernel::launch`]) and
//! from host code (`k.launch(grid, block, ..)` in `main`, via `host`).
//!
//! A launch checks the arguments against the kernel's parameters and the grid
//! and block against the limits every target shares, asks the module's compile
//! service for the kernel's launch loop (`loops::spmd_launch`: every thread of a
//! range of blocks, in compiled code; on `cuda` the kernel's own PTX entry), once
//! per kernel and target, and hands it to `exec::dispatch::launch`: all blocks at
//! once on `cpu`, ranges of blocks on the worker pool on `parallel` (so atomics
//! are real atomics), one GPU thread per kernel thread on `cuda`.
//! [`Kernel::interpret`] runs the launch loop in the interpreter (the test
//! oracle). This module knows nothing of how the loop is built, compiled or run.

use std::io::Write;
use std::sync::Arc;

use kern_compiler::diagnostics::Span;
use kern_compiler::interp::{HostArg, Interpreter};
use kern_compiler::ir::{FuncId, FunctionKind, Program, Trap, TrapKind};

pub use crate::exec::dim::Dim3;

use crate::args::{host_args, Arg};
use crate::compile::{CompileService, Failure, LoopRequest};
use crate::exec::dispatch;
use crate::exec::spmd::loop_args;
use crate::{Error, Target};

/// Most threads a block may have: CUDA's limit, so a launch that runs here also
/// runs on a GPU.
pub const MAX_THREADS_PER_BLOCK: usize = 1024;

/// A `#[kernel]` function of a module, launchable over a grid. Cheap to clone.
#[derive(Clone)]
pub struct Kernel {
    core: Arc<CompileService>,
    func: FuncId,
    target: Target,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("name", &self.name())
            .field("target", &self.target)
            .finish()
    }
}

impl Kernel {
    pub(crate) fn new(core: Arc<CompileService>, func: FuncId) -> Kernel {
        let target = declared_target(&core.compiled.program, func).unwrap_or_default();
        Kernel { core, func, target }
    }

    pub fn name(&self) -> &str {
        &self.core.compiled.program.function(self.func).name
    }

    /// The target launches run on: the attribute's (`#[kernel(target = "..")]`),
    /// or `cpu`, unless changed with [`Kernel::with_target`].
    pub fn target(&self) -> Target {
        self.target
    }

    pub fn with_target(mut self, target: Target) -> Kernel {
        self.target = target;
        self
    }

    /// Runs the kernel on `grid` blocks of `block` threads each (a `usize`, a
    /// tuple `(x, y)` / `(x, y, z)` or a [`Dim3`]), as compiled code on the
    /// kernel's target. `args` match the kernel's parameters: [`Arg::Ref`] for
    /// `&[T]`, [`Arg::Mut`] for `&mut [T]` (element type and rank must match),
    /// scalars of the parameter's type. Printed output goes to `out`.
    pub fn launch(
        &self,
        grid: impl Into<Dim3>,
        block: impl Into<Dim3>,
        args: &mut [Arg<'_>],
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let (grid, block, target) = (grid.into(), block.into(), self.target);
        // SAFETY: `with_host_args` made every descriptor from a live view borrowed
        // by `args` for this whole call, with the parameter's element type and rank.
        self.with_host_args(args, |core, kernel, host| unsafe {
            launch(core, kernel, target, grid, block, host, out)
        })
    }

    /// As [`Kernel::launch`], in the reference interpreter (the oracle compiled
    /// launches are tested against): every thread in order, on this thread.
    pub fn interpret(
        &self,
        grid: impl Into<Dim3>,
        block: impl Into<Dim3>,
        args: &mut [Arg<'_>],
        out: &mut dyn Write,
    ) -> Result<(), Error> {
        let (grid, block) = (grid.into(), block.into());
        // SAFETY: as in `launch`.
        self.with_host_args(args, |core, kernel, host| unsafe {
            interpret(core, kernel, grid, block, host, out)
        })
    }

    /// Runs `run` with the descriptors of `args`, checked against the kernel's
    /// parameters; its failure as an error.
    fn with_host_args(
        &self,
        args: &mut [Arg<'_>],
        run: impl FnOnce(&CompileService, FuncId, &[HostArg]) -> Result<(), Failure>,
    ) -> Result<(), Error> {
        let host = host_args(self.core.compiled.program.function(self.func), args)?;
        run(&self.core, self.func, &host).map_err(|f| self.core.error(f))
    }
}

/// The target of a `#[kernel(target = "..")]`, if it names one.
pub(crate) fn declared_target(program: &Program, func: FuncId) -> Option<Target> {
    match &program.function(func).kind {
        FunctionKind::Kernel { target } => target.as_deref().and_then(|t| t.parse().ok()),
        _ => None,
    }
}

/// The blocks of a launch and its threads per block, after checking the shape.
fn launch_size(grid: Dim3, block: Dim3) -> Result<(usize, usize), Error> {
    for (what, d) in [("grid", grid), ("block", block)] {
        if d.x == 0 || d.y == 0 || d.z == 0 {
            return Err(Error::Call(format!(
                "every extent of a launch's {what} must be at least 1, the {what} is {d}"
            )));
        }
    }
    let threads = block.count().filter(|&n| n <= MAX_THREADS_PER_BLOCK);
    let Some(threads) = threads else {
        return Err(Error::Call(format!(
            "a block has at most {MAX_THREADS_PER_BLOCK} threads, the block is {block}"
        )));
    };
    let blocks = grid
        .count()
        .filter(|b| b.checked_mul(threads).is_some())
        .ok_or_else(|| Error::Call(format!("a grid of {grid} blocks is too large")))?;
    Ok((blocks, threads))
}

/// Launches `kernel` on `target` over `grid` × `block` threads.
///
/// # Safety
/// Every array in `args` must be valid for the kernel's parameter (element type,
/// rank, shape, strides; writable for `&mut`) for the whole call.
pub(crate) unsafe fn launch(
    core: &CompileService,
    kernel: FuncId,
    target: Target,
    grid: Dim3,
    block: Dim3,
    args: &[HostArg],
    out: &mut dyn Write,
) -> Result<(), Failure> {
    target.check_available()?;
    let size = launch_size(grid, block)?;
    dispatch::check_launch_extents(target, grid, block)?;
    let code = core.compile(
        &LoopRequest::KernelLaunch(kernel),
        target,
        size.0.saturating_mul(size.1),
    )?;
    let f = core.compiled.program.function(kernel);
    // SAFETY: forwarded from the caller.
    unsafe { dispatch::launch(&code, target, f, grid, block, size, args, out) }
}

/// Runs the launch loop of `kernel` in the interpreter.
///
/// # Safety
/// As [`launch`].
pub(crate) unsafe fn interpret(
    core: &CompileService,
    kernel: FuncId,
    grid: Dim3,
    block: Dim3,
    args: &[HostArg],
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let (blocks, _) = launch_size(grid, block)?;
    let (program, launch) = core.build(&LoopRequest::KernelLaunch(kernel), true)?;
    let all = loop_args(args, grid, block, 0..blocks);
    // SAFETY: forwarded from the caller.
    let result = unsafe { Interpreter::new(&program).call(launch, &all, out) };
    result.map(|_| ()).map_err(Failure::At)
}

/// A launch failure from host code, as a trap at the launch's `span`.
pub(crate) fn failure_trap(failure: Failure, span: Span) -> Trap {
    match failure {
        Failure::At(t) => t,
        Failure::Error(e) => Trap {
            kind: TrapKind::Host(match e {
                Error::Call(m) | Error::Backend(m) | Error::TargetUnavailable(m) => m,
                other => other.to_string(),
            }),
            span,
        },
    }
}
