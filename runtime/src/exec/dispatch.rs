//! Which executor runs a call on which target — the one place outside the
//! executors themselves that looks at the target: an elementwise call
//! ([`elementwise`]), a gufunc call ([`gufunc`]), and a compiled loop called once
//! per item of a list ([`call_each`]: the block loop of reductions, the scan
//! loop of folds). `cpu` runs on the calling thread, `parallel` on the pool,
//! `mpi` splits rows across ranks (each running its share on `parallel`) — or,
//! for [`call_each`], runs everything on every rank, which holds every operand —
//! and `cuda` launches the loop's GPU kernel.
//!
//! It knows the executors and what they take (`code.rs`); it does not know how
//! code is compiled nor what a ufunc or a gufunc is.

use std::io::Write;

use kern_compiler::interp::HostArg;
use kern_compiler::ir::{Function, Trap};

use super::code::{Failure, LoopCode, Outcome};
use super::dim::Dim3;
use super::fold::{AxisFold, FoldLoops};
use super::gufunc::{run_parallel, run_serial, CoreLayout, GufuncLoop};
use super::mpi::distribute::{run_distributed, OutputRows};
use super::{parallel, serial, ElementwiseLoop, Iteration};
use crate::array::{ArrayRef, DType, NdArray};
use crate::{Error, Target};

/// Runs an elementwise loop over `iteration`, whose operands are `nin` inputs
/// then the output.
///
/// # Safety
/// Every operand must address live memory of its dtype at every index of the
/// shape, the output writable and aliased by the inputs only elementwise.
pub unsafe fn elementwise(
    code: &LoopCode,
    target: Target,
    iteration: Iteration,
    nin: usize,
) -> Outcome {
    let output = OutputRows {
        operand: nin,
        core_shape: Vec::new(),
        core_strides: Vec::new(),
    };
    // SAFETY (every arm): the caller's promise, for the whole iteration and so
    // for any sub-range of any of its axes.
    match code {
        LoopCode::Machine(f) => {
            let lp = ElementwiseLoop {
                function: f.clone(),
            };
            let (serial, parallel) = (
                |all: &Iteration| unsafe { serial::run(&lp, all) },
                |share: &Iteration| unsafe { parallel::run(&lp, share) },
            );
            unsafe { on_cpu_targets(target, iteration, nin, &[output], serial, parallel) }
        }
        #[cfg(feature = "cuda")]
        LoopCode::Gpu(lp) => unsafe {
            super::cuda::launch_elementwise(
                super::cuda::gpu()?,
                lp,
                &iteration.shape,
                &iteration.operands,
            )
        },
    }
}

/// Runs a gufunc loop over the loop dimensions of `iteration`, whose operands
/// are `nin` inputs then the outputs, each with its core layout in `cores`;
/// one loop index costs about `cost` elements of work.
///
/// # Safety
/// Every operand must address live memory whose shape is the loop shape
/// (broadcast) followed by its core dimensions as `cores` says; the outputs
/// writable and aliased by no input.
pub unsafe fn gufunc(
    code: &LoopCode,
    target: Target,
    iteration: Iteration,
    cores: &[CoreLayout],
    nin: usize,
    cost: usize,
) -> Outcome {
    let outputs: Vec<OutputRows> = (nin..cores.len())
        .map(|k| OutputRows {
            operand: k,
            core_shape: cores[k].shape.iter().map(|&d| d as usize).collect(),
            core_strides: cores[k].strides.iter().map(|&s| s as isize).collect(),
        })
        .collect();
    // SAFETY (every arm): as in `elementwise`.
    match code {
        LoopCode::Machine(f) => {
            let lp = GufuncLoop {
                function: f.clone(),
            };
            let (serial, parallel) = (
                |all: &Iteration| unsafe { run_serial(&lp, all, cores) },
                |share: &Iteration| unsafe { run_parallel(&lp, share, cores, cost) },
            );
            unsafe { on_cpu_targets(target, iteration, nin, &outputs, serial, parallel) }
        }
        #[cfg(feature = "cuda")]
        LoopCode::Gpu(lp) => unsafe {
            let nout = cores.len() - nin;
            let gpu = super::cuda::gpu()?;
            super::cuda::launch_gufunc(gpu, lp, &iteration.shape, &iteration.operands, cores, nout)
        },
    }
}

/// Runs a loop over `iteration` (its axes ordered by the `nin` inputs and
/// merged first) on a CPU target: `serial` on `cpu`, `parallel` on `parallel`,
/// and on `mpi` `parallel` over this rank's rows, then the `outputs`' rows
/// exchanged.
///
/// # Safety
/// As [`elementwise`] and [`gufunc`]: what `serial` and `parallel` run must be
/// valid over the whole iteration and over any sub-range of any axis.
unsafe fn on_cpu_targets(
    target: Target,
    mut iteration: Iteration,
    nin: usize,
    outputs: &[OutputRows],
    serial: impl FnOnce(&Iteration) -> Result<(), Trap>,
    parallel: impl Fn(&Iteration) -> Result<Result<(), Trap>, String>,
) -> Outcome {
    if target == Target::Mpi {
        // SAFETY: the caller's promise; each rank's share is a sub-range of the
        // split axis of the same operands.
        return unsafe {
            run_distributed(super::mpi::world()?, &iteration, outputs, |share| {
                let mut share = share.clone();
                share.order_axes_by(nin);
                share.coalesce();
                parallel(&share).map_err(Error::Call)
            })
        };
    }
    iteration.order_axes_by(nin);
    iteration.coalesce();
    match target {
        Target::Parallel => parallel(&iteration).map_err(Error::Call),
        _ => Ok(serial(&iteration)),
    }
}

/// The limits of `target` on a launch's extents beyond those every target
/// shares (checked before anything is compiled).
pub fn check_launch_extents(target: Target, grid: Dim3, block: Dim3) -> Result<(), Error> {
    #[cfg(feature = "cuda")]
    if target == Target::Cuda {
        return super::cuda::spmd::check_gpu_extents(grid, block);
    }
    let _ = (target, grid, block);
    Ok(())
}

/// Launches a kernel over `grid` × `block` threads (`size`: the blocks and
/// the threads per block) with `code`: its launch loop on the CPU targets
/// (`spmd.rs`), the kernel itself on the GPU (`cuda/spmd.rs`).
///
/// # Safety
/// Every array in `args` must be valid for the kernel's parameter (element type,
/// rank, shape, strides; writable for `&mut`) for the whole call.
#[allow(clippy::too_many_arguments)]
pub unsafe fn launch(
    code: &LoopCode,
    target: Target,
    #[cfg_attr(not(feature = "cuda"), allow(unused_variables))] kernel: &Function,
    grid: Dim3,
    block: Dim3,
    size: (usize, usize),
    args: &[HostArg],
    out: &mut dyn Write,
) -> Result<(), Failure> {
    match code {
        // SAFETY: forwarded from the caller.
        LoopCode::Machine(f) => unsafe {
            super::spmd::launch(f, target, grid, block, size, args, out)
        },
        #[cfg(feature = "cuda")]
        // SAFETY: forwarded from the caller.
        LoopCode::Gpu(lp) => unsafe { super::cuda::spmd::launch(lp, kernel, grid, block, args) }?
            .map_err(Failure::At),
    }
}

/// Reduces `axis` of `source` (length at least 1) into a new array of `acc`
/// with the block loops of `loops`, in blocks fixed by position on every target.
pub fn reduce_blocked(
    target: Target,
    loops: &dyn FoldLoops,
    source: &ArrayRef<'_>,
    axis: usize,
    acc: DType,
) -> Result<NdArray, Error> {
    #[cfg(feature = "cuda")]
    if target == Target::Cuda {
        return super::cuda::fold::reduce(loops, source, axis, acc);
    }
    super::fold::reduce_blocked(loops, target, source, axis, acc)
}

/// Folds elements `skip..` of `axis` of `source` lane by lane into `out` (see
/// `exec::fold::scan_axis`).
pub fn scan_axis(target: Target, fold: &AxisFold<'_, '_>, out: &mut NdArray) -> Result<(), Error> {
    #[cfg(feature = "cuda")]
    if target == Target::Cuda {
        return super::cuda::fold::scan_axis(fold, out);
    }
    super::fold::scan_axis(fold, target, out)
}

/// Whether an in-order fold over `lanes` lanes runs the scan loop lane by
/// lane: up to `MAX_SCAN_LANES` on the CPU targets (beyond, elementwise calls
/// across the lanes are faster), always on `cuda`, where every lane is one GPU
/// thread of one launch (elementwise calls would be one launch per step).
pub fn folds_lane_by_lane(target: Target, lanes: usize) -> bool {
    lanes <= super::fold::MAX_SCAN_LANES || target == Target::Cuda
}

/// Folds elements `skip..` of `axis` of `source` into `out` (the shape without
/// `axis`, holding the seeds): lane by lane where [`folds_lane_by_lane`] says
/// so (always on `cuda`, where every lane is a thread), else row by row (see
/// `exec::fold::fold_rows`) — the same folds.
pub fn reduce_in_order(
    target: Target,
    fold: &AxisFold<'_, '_>,
    out: &mut NdArray,
) -> Result<(), Error> {
    if folds_lane_by_lane(target, out.len()) {
        return scan_axis(target, fold, out);
    }
    // Many lanes: row by row into the result, in tiles kept in cache.
    super::fold::fold_rows(fold, target, out)
}

/// Device operands are only for `cuda`: a CPU target would need every device
/// array copied back, which kern leaves to the caller to ask for.
#[cfg(feature = "cuda")]
pub fn check_device_operands(target: Target, ufunc: &str) -> Result<(), Error> {
    if target == Target::Cuda {
        return Ok(());
    }
    Err(Error::Call(format!(
        "ufunc `{ufunc}` runs on the `{target}` target, which cannot read device arrays: call it \
         with `.with_target(Target::Cuda)`, or copy the arrays to the host with `to_host()`"
    )))
}

impl Target {
    /// `Ok` when this build can run code on the target.
    pub fn check_available(self) -> Result<(), Error> {
        match self {
            Target::Cpu | Target::Parallel => Ok(()),
            #[cfg(feature = "cuda")]
            Target::Cuda => super::cuda::gpu().map(|_| ()),
            #[cfg(not(feature = "cuda"))]
            Target::Cuda => Err(Error::TargetUnavailable(
                "the `cuda` target is not built in: rebuild kern with `--features cuda` \
                 (needs LLVM 19 development files, Debian package `llvm-19-dev`, and an NVIDIA driver at run time)"
                    .into(),
            )),
            #[cfg(feature = "mpi")]
            Target::Mpi => super::mpi::world().map(|_| ()),
            #[cfg(not(feature = "mpi"))]
            Target::Mpi => Err(Error::TargetUnavailable(
                "the `mpi` target is not built in: rebuild kern with `--features mpi` \
                 (needs an MPI implementation and libclang, Debian packages `libopenmpi-dev openmpi-bin libclang-dev`)"
                    .into(),
            )),
        }
    }
}
