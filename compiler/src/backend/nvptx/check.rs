//! What a GPU kernel cannot do, found before any LLVM work: `print!`, host code
//! (`fn main`, host arrays and their operations) and recursion (device stacks are
//! small and fixed; kern has no depth guard on the GPU). Each is an
//! [`NvptxError::Unsupported`] naming the construct and its source span.
//!
//! It knows the IR only.

use std::collections::HashMap;

use super::NvptxError;
use crate::diagnostics::Span;
use crate::ir::{Block, FuncId, FunctionKind, InstKind, Program, Type};

/// Every function the kernels call, directly or not, callees before their callers (the
/// device functions of the module), after checking that each kernel and each of
/// them can run on the GPU.
pub(super) fn reachable_device_functions(
    program: &Program,
    kernels: &[FuncId],
) -> Result<Vec<FuncId>, NvptxError> {
    let mut order = Vec::new();
    let mut state: HashMap<FuncId, Visit> = HashMap::new();
    for &kernel in kernels {
        visit(program, kernel, &mut state, &mut order, &mut Vec::new())?;
    }
    // Only callees are recorded: a kernel is a device function too only when
    // something calls it.
    Ok(order)
}

#[derive(Clone, Copy, PartialEq)]
enum Visit {
    InProgress,
    Done,
}

/// Depth-first over the call graph; `stack` holds `(caller, call span)` of the
/// path, to name the call that closes a cycle.
fn visit(
    program: &Program,
    id: FuncId,
    state: &mut HashMap<FuncId, Visit>,
    order: &mut Vec<FuncId>,
    stack: &mut Vec<(FuncId, Span)>,
) -> Result<(), NvptxError> {
    match state.get(&id) {
        Some(Visit::Done) => return Ok(()),
        Some(Visit::InProgress) => {
            let (caller, span) = *stack.last().expect("a cycle has a call");
            return Err(NvptxError::Unsupported {
                function: program.function(caller).name.clone(),
                construct: format!(
                    "recursion (this call of `{}` closes a cycle of calls)",
                    program.function(id).name
                ),
                span,
            });
        }
        None => {}
    }
    let func = program
        .functions
        .get(id.0 as usize)
        .ok_or(NvptxError::NoSuchFunction(id.0))?;
    let unsupported = |construct: &str, span: Span| NvptxError::Unsupported {
        function: func.name.clone(),
        construct: construct.to_string(),
        span,
    };
    if func.kind == FunctionKind::Main {
        return Err(unsupported("host code (`fn main`)", func.span));
    }
    if let Some(local) = func
        .locals
        .iter()
        .find(|l| matches!(l.ty, Type::HostArray(_)))
    {
        return Err(unsupported(
            &format!("the host array `{}` (`Array<T>`)", local.name),
            func.span,
        ));
    }
    state.insert(id, Visit::InProgress);
    let mut calls = Vec::new();
    scan(&func.body, &mut calls, &|construct, span| {
        unsupported(construct, span)
    })?;
    for (callee, span) in calls {
        stack.push((id, span));
        visit(program, callee, state, order, stack)?;
        stack.pop();
        if !order.contains(&callee) {
            order.push(callee);
        }
    }
    state.insert(id, Visit::Done);
    Ok(())
}

/// Collects the calls of `block` (with their spans) and rejects what the GPU
/// cannot run.
fn scan(
    block: &Block,
    calls: &mut Vec<(FuncId, Span)>,
    unsupported: &dyn Fn(&str, Span) -> NvptxError,
) -> Result<(), NvptxError> {
    for inst in &block.insts {
        match &inst.kind {
            InstKind::Call { callee, .. } => calls.push((*callee, inst.span)),
            InstKind::Print { newline, .. } => {
                let what = if *newline { "`println!`" } else { "`print!`" };
                return Err(unsupported(what, inst.span));
            }
            InstKind::Host { op, .. } => {
                return Err(unsupported(
                    &format!("the host-array operation `{}`", op.name()),
                    inst.span,
                ))
            }
            InstKind::Spmd(spmd) => {
                return Err(unsupported(
                    &format!(
                        "the kernel builtin `{}` (explicit `#[kernel]` kernels are not compiled for the GPU yet; launch them on `cpu` or `parallel`)",
                        spmd_builtin_name(spmd)
                    ),
                    inst.span,
                ))
            }
            InstKind::If {
                then_block,
                else_block,
                ..
            } => {
                scan(then_block, calls, unsupported)?;
                scan(else_block, calls, unsupported)?;
            }
            InstKind::Loop {
                header,
                body,
                latch,
                ..
            } => {
                scan(header, calls, unsupported)?;
                scan(body, calls, unsupported)?;
                scan(latch, calls, unsupported)?;
            }
            _ => {}
        }
    }
    Ok(())
}

/// The source spelling of an SPMD instruction, for messages.
fn spmd_builtin_name(spmd: &crate::ir::spmd::SpmdInst) -> String {
    use crate::ir::spmd::SpmdInst;
    match spmd {
        SpmdInst::Index(index, axis) => format!("{}_{}()", index.name(), axis.name()),
        SpmdInst::SyncThreads => "sync_threads()".into(),
        SpmdInst::SharedArray { .. } => "shared_array()".into(),
        SpmdInst::Atomic { op, .. } => format!("atomic_{}", op.name()),
    }
}
