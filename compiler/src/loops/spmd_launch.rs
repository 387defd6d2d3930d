//! The launch loop of a kernel: how `cpu` and `parallel` run every thread of a
//! launch, one after the other, in compiled code.
//!
//! For a `#[kernel] fn k(params..)`, [`build_launch_loop`] adds two functions:
//!
//! * the **thread function** `k.thread(params.., tx, ty, tz, bx, by, bz, bdx, bdy,
//!   bdz, gdx, gdy, gdz)`: the kernel's body with every `Spmd(Index(..))` replaced
//!   by the matching extra `usize` parameter (thread index, block index, block
//!   dimension, grid dimension, x/y/z each). It is an ordinary function; atomics
//!   stay in it.
//! * the **launch loop** `k.launch(params.., gdx, gdy, gdz, bdx, bdy, bdz,
//!   first_block, end_block)` of kind [`FunctionKind::KernelLaunch`]: for every
//!   block of the flat range `first_block..end_block` (block `b` is at
//!   `x = b % gdx`, `y = b / gdx % gdy`, `z = b / (gdx * gdy)`), and in it every
//!   thread in `z`, `y`, `x` order (x fastest), it calls the thread function. The
//!   thread function is inlined where the inliner can.
//!
//! The runtime checks the dimensions (every extent at least 1) and cuts the blocks
//! into ranges — one for `cpu`, several run concurrently on a pool for `parallel`
//! — so it calls one compiled function per range. Threads of a block run one after
//! the other, to completion, so a kernel that needs them to run concurrently (a
//! `sync_threads()` barrier, or block-shared memory, which without a barrier can
//! only be used by one thread at a time) cannot run this way:
//! [`LaunchError::NeedsConcurrentThreads`] rejects it, pointing at the instruction.
//! A trap stops the range at the first failing thread in this order.

use crate::diagnostics::Span;
use crate::ir::build::FunctionBuilder;
use crate::ir::spmd::{Axis, SpmdIndex, SpmdInst};
use crate::ir::*;

/// Number of `usize` parameters the launch loop adds after the kernel's own.
pub const LAUNCH_EXTRA_PARAMS: usize = 8;

/// Why a kernel has no launch loop.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum LaunchError {
    #[error("`{0}` is not a #[kernel]")]
    NotAKernel(String),
    /// `what` is `sync_threads()` or a shared array, at `span`.
    #[error("`{kernel}` uses {what}, which needs the threads of a block to run at the same time: launch it with `--target cuda` (the cpu and parallel targets run the threads of a block one after the other)")]
    NeedsConcurrentThreads {
        kernel: String,
        what: &'static str,
        span: Span,
    },
}

/// Adds the thread function and the launch loop of `kernel` to `program` and
/// returns the launch loop.
pub fn build_launch_loop(program: &mut Program, kernel: FuncId) -> Result<FuncId, LaunchError> {
    let k = program.function(kernel);
    if !matches!(k.kind, FunctionKind::Kernel { .. }) {
        return Err(LaunchError::NotAKernel(k.name.clone()));
    }
    if let Some((what, span)) = first_concurrent_use(&k.body) {
        return Err(LaunchError::NeedsConcurrentThreads {
            kernel: k.name.clone(),
            what,
            span,
        });
    }
    let thread = add_thread_function(program, kernel);
    let k = program.function(kernel);
    let span = k.span;
    let name = k.name.clone();
    let params: Vec<(String, Type)> = k
        .params
        .iter()
        .map(|p| (p.name.clone(), k.local(p.local).ty))
        .collect();

    let mut b = FunctionBuilder::new(format!("{name}.launch"), None, span);
    b.set_kind(FunctionKind::KernelLaunch { kernel });
    let kernel_params: Vec<LocalId> = params.into_iter().map(|(n, t)| b.param(n, t)).collect();
    let usize_ty = Type::Scalar(ScalarType::Usize);
    let grid: Vec<LocalId> = Axis::ALL
        .iter()
        .map(|a| b.param(format!("grid_dim_{}", a.name()), usize_ty))
        .collect();
    let block: Vec<LocalId> = Axis::ALL
        .iter()
        .map(|a| b.param(format!("block_dim_{}", a.name()), usize_ty))
        .collect();
    let first_block = b.param("first_block", usize_ty);
    let end_block = b.param("end_block", usize_ty);

    let flat = b.local("block", usize_ty);
    let start = b.get(first_block);
    b.set(flat, start);
    let end = b.get(end_block);
    b.counted_loop_to(flat, end, IterationOrder::Independent, |b, flat_block| {
        // Block coordinates: once per block, so the division is not per thread.
        let gdx = b.get(grid[0]);
        let gdy = b.get(grid[1]);
        let bx = b.binary(BinaryOp::Rem, flat_block, gdx);
        let rest = b.binary(BinaryOp::Div, flat_block, gdx);
        let by = b.binary(BinaryOp::Rem, rest, gdy);
        let bz = b.binary(BinaryOp::Div, rest, gdy);
        let t: Vec<LocalId> = Axis::ALL
            .iter()
            .map(|a| b.local(format!("thread_{}", a.name()), usize_ty))
            .collect();
        let zero = b.constant(ScalarValue::Usize(0));
        b.set(t[2], zero);
        let bdz = b.get(block[2]);
        b.counted_loop_to(t[2], bdz, IterationOrder::Independent, |b, tz| {
            let zero = b.constant(ScalarValue::Usize(0));
            b.set(t[1], zero);
            let bdy = b.get(block[1]);
            b.counted_loop_to(t[1], bdy, IterationOrder::Independent, |b, ty| {
                let zero = b.constant(ScalarValue::Usize(0));
                b.set(t[0], zero);
                let bdx = b.get(block[0]);
                b.counted_loop_to(t[0], bdx, IterationOrder::Independent, |b, tx| {
                    let mut args: Vec<Arg> = kernel_params
                        .iter()
                        .map(|&p| match b.local_type(p) {
                            Type::Scalar(_) => Arg::Value(b.get(p)),
                            _ => Arg::Array(p),
                        })
                        .collect();
                    args.extend([tx, ty, tz, bx, by, bz].map(Arg::Value));
                    for &l in block.iter().chain(&grid) {
                        args.push(Arg::Value(b.get(l)));
                    }
                    b.inst(InstKind::Call {
                        callee: thread,
                        args,
                    });
                });
            });
        });
    });
    b.inst(InstKind::Return(None));
    let launch = crate::loops::add_inlined(program, b);
    Ok(launch)
}

/// The kernel as a plain function with its launch coordinates as parameters.
fn add_thread_function(program: &mut Program, kernel: FuncId) -> FuncId {
    let mut f = program.function(kernel).clone();
    f.name = format!("{}.thread", f.name);
    f.kind = FunctionKind::Plain;
    let mut coordinate = Vec::new();
    for kind in [
        SpmdIndex::ThreadIdx,
        SpmdIndex::BlockIdx,
        SpmdIndex::BlockDim,
        SpmdIndex::GridDim,
    ] {
        for axis in Axis::ALL {
            let local = LocalId(f.locals.len() as u32);
            let name = format!("{}_{}", kind.name(), axis.name());
            f.locals.push(Local {
                name: name.clone(),
                ty: Type::Scalar(ScalarType::Usize),
            });
            f.params.push(Param { name, local });
            coordinate.push(((kind, axis), local));
        }
    }
    replace_indices(&mut f.body, &|kind, axis| {
        coordinate
            .iter()
            .find(|(k, _)| *k == (kind, axis))
            .map(|(_, l)| *l)
            .expect("every coordinate has a parameter")
    });
    program.add_function(f)
}

fn replace_indices(block: &mut Block, local: &dyn Fn(SpmdIndex, Axis) -> LocalId) {
    for inst in &mut block.insts {
        if let InstKind::Spmd(SpmdInst::Index(kind, axis)) = inst.kind {
            inst.kind = InstKind::GetLocal(local(kind, axis));
        }
        for nested in inst.kind.blocks_mut() {
            replace_indices(nested, local);
        }
    }
}

/// The first barrier or shared array of a kernel body, with its span.
fn first_concurrent_use(block: &Block) -> Option<(&'static str, Span)> {
    block.insts_deep().find_map(|inst| match &inst.kind {
        InstKind::Spmd(s) if s.needs_concurrent_threads() => Some((
            match s {
                SpmdInst::SyncThreads => "`sync_threads()`",
                _ => "a shared array",
            },
            inst.span,
        )),
        _ => None,
    })
}
