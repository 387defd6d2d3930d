//! What a GPU kernel cannot do, found before any LLVM work: `print!`, host code
//! (`fn main`, host arrays and their operations), recursion (device stacks are
//! small and fixed; kern has no depth guard on the GPU) and passing a kernel's
//! shared array to a function (device functions take global pointers, and a
//! shared address is not one). Each is an [`LlvmError::Unsupported`] naming the
//! construct and its source span.
//!
//! It knows the IR only.

use std::collections::HashMap;

use crate::backend::llvm::LlvmError;
use crate::diagnostics::Span;
use crate::ir::spmd::SpmdInst;
use crate::ir::{Arg, Block, FuncId, FunctionKind, InstKind, LocalId, Program, Type};

/// Every function the kernels call, directly or not, callees before their callers (the
/// device functions of the module), after checking that each kernel and each of
/// them can run on the GPU.
pub(super) fn reachable_device_functions(
    program: &Program,
    kernels: &[FuncId],
) -> Result<Vec<FuncId>, LlvmError> {
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
) -> Result<(), LlvmError> {
    match state.get(&id) {
        Some(Visit::Done) => return Ok(()),
        Some(Visit::InProgress) => {
            let (caller, span) = *stack.last().expect("a cycle has a call");
            return Err(LlvmError::Unsupported {
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
        .ok_or(LlvmError::NoSuchFunction(id.0))?;
    let unsupported = |construct: &str, span: Span| LlvmError::Unsupported {
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
    let mut shared = Vec::new();
    shared_arrays(&func.body, &mut shared);
    let unsupported_call = |args: &[Arg], span: Span| -> Result<(), LlvmError> {
        let passes_shared = args.iter().find_map(|arg| match arg {
            Arg::Array(l) | Arg::SubView { array: l, .. } => shared.iter().find(|s| *s == l),
            Arg::Value(_) => None,
        });
        match passes_shared {
            Some(l) => Err(unsupported(
                &format!(
                    "passing the shared array `{}` to a function (a function takes global memory; index the shared array in the kernel itself)",
                    func.local(*l).name
                ),
                span,
            )),
            None => Ok(()),
        }
    };
    scan(
        &func.body,
        &mut calls,
        &|construct, span| unsupported(construct, span),
        &unsupported_call,
    )?;
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

/// The array locals `block` binds to shared memory.
fn shared_arrays(block: &Block, out: &mut Vec<LocalId>) {
    out.extend(block.insts_deep().filter_map(|inst| match inst.kind {
        InstKind::Spmd(SpmdInst::SharedArray { array, .. }) => Some(array),
        _ => None,
    }));
}

/// Vets the arguments of one call at its span.
type CallCheck<'a> = dyn Fn(&[Arg], Span) -> Result<(), LlvmError> + 'a;

/// Collects the calls of `block` (with their spans) and rejects what the GPU
/// cannot run; `check_call` vets a call's arguments.
fn scan(
    block: &Block,
    calls: &mut Vec<(FuncId, Span)>,
    unsupported: &dyn Fn(&str, Span) -> LlvmError,
    check_call: &CallCheck<'_>,
) -> Result<(), LlvmError> {
    for inst in block.insts_deep() {
        match &inst.kind {
            InstKind::Call { callee, args } => {
                check_call(args, inst.span)?;
                calls.push((*callee, inst.span));
            }
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
            _ => {}
        }
    }
    Ok(())
}
