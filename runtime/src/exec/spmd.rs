//! Running a `#[kernel]`'s launch loop (the compiler's `loops::spmd_launch`:
//! every thread of a range of blocks, in compiled code) on the CPU targets:
//! once over all blocks on `cpu`; on `parallel` (and on every rank of `mpi`,
//! which runs the whole launch) the blocks are cut into ranges run concurrently
//! on the worker pool, which is why atomics are real atomics in the compiled
//! code. Output printed by the threads of each range is collected and written in
//! block order, so it reads the same on every target. `cuda/spmd.rs` runs the
//! kernel itself on the GPU.
//!
//! It knows the launch loop's calling convention (the kernel's arguments, then
//! the grid, the block and the range of blocks); checking a launch's shape and
//! compiling the loop are the kernel handle's.

use std::io::Write;
use std::sync::Mutex;

use kern_compiler::backend::cranelift::{CallError, CompiledFunction};
use kern_compiler::interp::HostArg;
use kern_compiler::ir::{ScalarValue, Trap};

use super::code::Failure;
use super::dim::Dim3;
use crate::{Error, Target};

/// `args` followed by the launch loop's shape parameters for `blocks`.
pub fn loop_args(
    args: &[HostArg],
    grid: Dim3,
    block: Dim3,
    blocks: std::ops::Range<usize>,
) -> Vec<HostArg> {
    let mut all = args.to_vec();
    for n in [
        grid.x,
        grid.y,
        grid.z,
        block.x,
        block.y,
        block.z,
        blocks.start,
        blocks.end,
    ] {
        all.push(HostArg::Scalar(ScalarValue::Usize(n as u64)));
    }
    all
}

/// The kernel's arguments, shared by the worker threads of a `parallel` launch.
struct SharedArgs<'a>(&'a [HostArg]);

// SAFETY: the descriptors point into arrays that outlive the launch; the threads
// of a launch only touch them through the kernel, whose concurrent accesses are
// atomics or the program's own races (as on a GPU), never the runtime's.
unsafe impl Sync for SharedArgs<'_> {}

impl SharedArgs<'_> {
    fn get(&self) -> &[HostArg] {
        self.0
    }
}

/// Runs the launch loop `code` of a kernel on a CPU target over `grid` ×
/// `block` threads, `blocks` blocks of `threads` threads: every block in order
/// on `cpu`; on `parallel` and `mpi` ranges of blocks on the pool, their printed
/// output written in block order.
///
/// # Safety
/// Every array in `args` must be valid for the kernel's parameter (element type,
/// rank, shape, strides; writable for `&mut`) for the whole call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn launch(
    code: &CompiledFunction,
    target: Target,
    grid: Dim3,
    block: Dim3,
    (blocks, threads): (usize, usize),
    args: &[HostArg],
    out: &mut dyn Write,
) -> Result<(), Failure> {
    // On `mpi` every rank runs every block of the launch on its own pool: a
    // kernel writes wherever it likes, so there are no rows to split and gather.
    if !matches!(target, Target::Parallel | Target::Mpi) {
        let all = loop_args(args, grid, block, 0..blocks);
        // SAFETY: forwarded from the caller.
        return unsafe { code.call(&all, out) }
            .map(|_| ())
            .map_err(Failure::from);
    }
    let shared = SharedArgs(args);
    let outputs: Mutex<Vec<(usize, Vec<u8>)>> = Mutex::new(Vec::new());
    let failure: Mutex<Option<CallError>> = Mutex::new(None);
    let run = |start: usize, end: usize| -> Result<(), Trap> {
        let all = loop_args(shared.get(), grid, block, start..end);
        let mut printed = Vec::new();
        // SAFETY: forwarded from the caller; ranges of blocks are disjoint.
        let result = unsafe { code.call(&all, &mut printed) };
        if let Ok(mut o) = outputs.lock() {
            o.push((start, printed));
        }
        match result {
            Ok(_) => Ok(()),
            Err(CallError::Trap(t)) => Err(t),
            Err(other) => {
                if let Ok(mut f) = failure.lock() {
                    f.get_or_insert(other);
                }
                Ok(())
            }
        }
    };
    let result = super::parallel::run_split(blocks, threads, &run).map_err(Error::Backend)?;
    let mut outputs = outputs.into_inner().unwrap_or_default();
    outputs.sort_by_key(|(start, _)| *start);
    for (_, text) in outputs {
        out.write_all(&text).map_err(|source| Error::Write {
            what: crate::error::PRINT_OUTPUT.into(),
            source,
        })?;
    }
    if let Some(e) = failure.into_inner().ok().flatten() {
        return Err(e.into());
    }
    result.map_err(Failure::At)
}
