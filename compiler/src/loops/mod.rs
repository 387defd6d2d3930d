//! The loops the runtime calls: IR functions built around a kernel for a call's
//! shape of work — elementwise loops over strided runs, reductions and scans,
//! folds of whole rows, batches of them (what a GPU runs, one thread per
//! iteration), gufunc loops over sub-views and the launch loop of an SPMD kernel
//! on the CPU.
//!
//! Every builder writes its loops with the one counted-loop helper of
//! [`crate::ir::build`], so a built loop declares what it is (its kind and its
//! induction variable) and backends and passes read that instead of recognising
//! shapes. Builders produce verified IR; they know nothing of backends or of the
//! runtime's arrays.

pub mod elementwise;
pub mod gufunc_loop;
pub mod index_fill;
pub mod predicated_loop;
pub mod reduce_batch;
pub mod reduce_loop;
pub mod row_fold;
pub mod scan_loop;
pub mod spmd_launch;

use crate::ir::build::FunctionBuilder;
use crate::ir::{FuncId, Program};

/// Adds the function `b` built to `program` with everything it calls inlined, as
/// every built loop and element function is (so one compiled unit runs a call),
/// then folds what the inlined arguments made constant (a stdlib function's
/// selector argument keeps one of its branches).
pub(crate) fn add_inlined(program: &mut Program, b: FunctionBuilder) -> FuncId {
    let id = program.add_function(b.finish());
    crate::passes::inline::inline_all_into(program, id);
    let f = &mut program.functions[id.0 as usize];
    crate::passes::fold::fold_constants(f);
    crate::passes::bounds::eliminate_checks(f);
    id
}
