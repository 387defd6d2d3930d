//! What a handle may ask the compile service for ([`LoopRequest`]), and how each
//! request becomes IR: the function of the checked program it starts from (a
//! generic ufunc or gufunc instantiated for the call's type arguments, or a
//! function of the module as it is) and the compiler's loop builder around it.
//!
//! Requests are the cache keys: two requests are equal exactly when they build
//! the same loop. This file knows the compiler's loop builders; it does not know
//! backends, caches, or who asks.

use std::borrow::Cow;

use kern_compiler::frontend::Compiled;
use kern_compiler::ir::{FuncId, Program, ScalarType, Trap, TrapKind};
use kern_compiler::loops::elementwise::{build_elementwise_loop, LoopSignature};
use kern_compiler::loops::gufunc_loop::{
    build_gufunc_loop, build_specialised_gufunc_loop, CoreSpecialisation, GufuncLoopSignature,
};
use kern_compiler::loops::index_fill::build_index_fill;
use kern_compiler::loops::reduce_batch::build_reduce_batch;
use kern_compiler::loops::row_fold::build_row_fold;
use kern_compiler::loops::scan_loop::build_scan_loop;
use kern_compiler::loops::spmd_launch::{build_launch_loop, LaunchError};
use kern_compiler::SourceMap;

use super::Failure;
use crate::Error;

/// One loop (or function) of a module, as the handles ask for it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum LoopRequest {
    /// The elementwise loop of ufunc `ufunc` instantiated at `type_args`, over
    /// operands of the signature's dtypes (`loops::elementwise`).
    Elementwise {
        ufunc: String,
        type_args: Vec<ScalarType>,
        signature: LoopSignature,
    },
    /// The batched block loop of a reduction, elements of `elem` into an `acc`
    /// accumulator (`loops::reduce_batch`): every block of a call's lanes in
    /// one call on the CPU, one block per thread on the GPU.
    Reduce(Fold),
    /// The left-fold loop of `accumulate` and in-order reductions
    /// (`loops::scan_loop`).
    Scan(Fold),
    /// The fold of whole rows into a row of accumulators, row after row
    /// (`loops::row_fold`): in-order reductions across many lanes on the CPU.
    Rows(Fold),
    /// Batches of lanes, one per iteration: the GPU's form of
    /// [`LoopRequest::Scan`].
    #[cfg(feature = "cuda")]
    BatchedScan(Fold),
    /// The fused loop of gufunc `gufunc` at `type_args` over sub-views of its
    /// `nin` inputs and its outputs (`loops::gufunc_loop`): the generic loop, or
    /// with `core` (the extents of every operand's core axes, operands in
    /// order, and whether they are laid out C-contiguously) the loop
    /// specialised on them, which the service builds only for the calls
    /// [`super::specialise`] admits.
    Gufunc {
        gufunc: String,
        type_args: Vec<ScalarType>,
        nin: usize,
        signature: GufuncLoopSignature,
        core: Option<CoreSpecialisation>,
    },
    /// A `#[kernel]`: its launch loop over every thread of a range of blocks on
    /// the CPU targets (`loops::spmd_launch`), the kernel itself on the GPU.
    KernelLaunch(FuncId),
    /// A function of the module as it is (called from host code, or as a job).
    Function(FuncId),
    /// The loop that fills an array of `elem` with `func(seed, i)`, the
    /// generator of host code's `random::*_array` (`loops::index_fill`).
    IndexFill { func: FuncId, elem: ScalarType },
}

/// A fold of ufunc `ufunc` at `type_args`: elements of `elem` combined into an
/// accumulator of `acc`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct Fold {
    pub ufunc: String,
    pub type_args: Vec<ScalarType>,
    pub elem: ScalarType,
    pub acc: ScalarType,
}

impl LoopRequest {
    /// The request in the form the GPU runs: a fold's scan loop as its batch
    /// (one lane per GPU thread; a reduction's loop is a batch already).
    #[cfg(feature = "cuda")]
    pub(super) fn gpu_form(&self) -> LoopRequest {
        match self {
            LoopRequest::Scan(f) => LoopRequest::BatchedScan(f.clone()),
            other => other.clone(),
        }
    }

    /// The program holding the loop `self` asks for and the loop's id: the
    /// checked program itself when nothing is built, else a copy (an instance)
    /// with the built loop added. `spmd_threads` builds a kernel's launch loop
    /// (the CPU targets); without it the kernel is its own entry (the GPU).
    pub(super) fn build<'p>(
        &self,
        compiled: &'p Compiled,
        sources: &SourceMap,
        spmd_threads: bool,
    ) -> Result<(Cow<'p, Program>, FuncId), Failure> {
        let instance = |name: &str, type_args: &[ScalarType]| {
            compiled
                .instantiate(name, type_args)
                .map_err(|d| Failure::Error(Error::compile(d, sources)))
        };
        let built = |program: Program, root: Result<FuncId, String>| match root {
            Ok(root) => Ok((Cow::Owned(program), root)),
            Err(message) => Err(Failure::Error(Error::Backend(message))),
        };
        let fold = |fold: &Fold, builder: FoldBuilder| {
            let (mut program, id) = instance(&fold.ufunc, &fold.type_args)?;
            let root = builder(&mut program, id, fold.elem, fold.acc).map_err(|e| e.to_string());
            built(program, root)
        };
        match self {
            LoopRequest::Elementwise {
                ufunc,
                type_args,
                signature,
            } => {
                let (mut program, id) = instance(ufunc, type_args)?;
                let root = build_elementwise_loop(&mut program, id, signature)
                    .map(|(_, lp)| lp)
                    .map_err(|e| e.to_string());
                built(program, root)
            }
            LoopRequest::Reduce(f) => fold(f, build_reduce_batch),
            LoopRequest::Scan(f) => fold(f, build_scan_loop),
            LoopRequest::Rows(f) => fold(f, build_row_fold),
            #[cfg(feature = "cuda")]
            LoopRequest::BatchedScan(f) => {
                fold(f, kern_compiler::loops::reduce_batch::build_scan_batch)
            }
            LoopRequest::Gufunc {
                gufunc,
                type_args,
                nin,
                signature,
                core,
            } => {
                let (mut program, id) = instance(gufunc, type_args)?;
                let root = match core {
                    None => build_gufunc_loop(&mut program, id, *nin, signature),
                    Some(core) => {
                        build_specialised_gufunc_loop(&mut program, id, *nin, signature, core)
                    }
                };
                built(program, root.map_err(|e| e.to_string()))
            }
            LoopRequest::KernelLaunch(kernel) if spmd_threads => {
                let mut program = compiled.program.clone();
                let launch = build_launch_loop(&mut program, *kernel).map_err(|e| match e {
                    // It points into the kernel: reported like a trap there.
                    LaunchError::NeedsConcurrentThreads { span, .. } => Failure::At(Trap {
                        kind: TrapKind::Host(e.to_string()),
                        span,
                    }),
                    other => Failure::Error(Error::Call(other.to_string())),
                })?;
                Ok((Cow::Owned(program), launch))
            }
            LoopRequest::IndexFill { func, elem } => {
                let mut program = compiled.program.clone();
                let root = build_index_fill(&mut program, *func, *elem).map_err(|e| e.to_string());
                built(program, root)
            }
            LoopRequest::KernelLaunch(func) | LoopRequest::Function(func) => {
                Ok((Cow::Borrowed(&compiled.program), *func))
            }
        }
    }
}

/// The compiler's builders of fold loops share one shape.
type FoldBuilder = fn(
    &mut Program,
    FuncId,
    ScalarType,
    ScalarType,
) -> Result<FuncId, kern_compiler::loops::elementwise::LoopError>;
