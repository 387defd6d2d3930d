//! Fuzz target for `kern run`: any program that checks is compiled and run, under
//! bounds on its work, on the `cpu` and `parallel` targets, and every scalar
//! function of it is called once in the interpreter and once as machine code.
//!
//! It must never panic, abort or hang, and compiled code must agree with the
//! interpreter. A program's work is bounded by a reference run in the interpreter
//! first (a step and a time budget: programs that exhaust it are skipped, as too
//! costly to fuzz; the functions host code runs as machine code even then, those
//! of ufunc, gufunc, kernel and job calls, must be free of loops and recursion, as
//! the budget cannot stop them), and its memory by an address-space limit on the process, so
//! that a huge array is the product's own "cannot allocate" error, not an
//! out-of-memory kill. Programs that read or write files are skipped. None of the product's own limits is changed.
#![no_main]

use std::collections::HashSet;
use std::time::Duration;

use kern::compiler::interp::Interpreter;
use kern::compiler::ir::host::HostOp;
use kern::compiler::ir::{Block, FuncId, FunctionKind, InstKind, Program, Type};
use kern::{Module, ScalarType, ScalarValue, Target};
use libfuzzer_sys::fuzz_target;

/// Interpreter steps of a reference run; a program that needs more is skipped.
const STEPS: u64 = 200_000;
/// Wall-clock time of a reference run (host-array work is one step however large).
const TIME: Duration = Duration::from_millis(500);
/// Address space of the whole process: allocations past it fail, as on a machine
/// with that much memory (threads' stacks and the JIT's code are in it too).
const ADDRESS_SPACE: u64 = 4 << 30;

fn limit_address_space() {
    let limit = libc::rlimit {
        rlim_cur: ADDRESS_SPACE,
        rlim_max: ADDRESS_SPACE,
    };
    // SAFETY: setrlimit only reads `limit`.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    assert_eq!(set, 0, "setrlimit(RLIMIT_AS) failed");
    kern::set_num_threads(2).expect("two threads");
}

/// Whether an error is a reference run's budget running out (not a finding).
fn over_budget(error: &impl ToString) -> bool {
    let text = error.to_string();
    text.contains("step limit reached") || text.contains("time limit reached")
}

/// Recursion that compiled code stops earlier or later than the interpreter
/// (compiled frames are measured in bytes of stack, interpreted ones are not).
fn stack_bound(error: &impl ToString) -> bool {
    let text = error.to_string();
    text.contains("recursion limit reached") || text.contains("stack overflow")
}

fn has_loop(block: &Block) -> bool {
    block.insts.iter().any(|inst| match &inst.kind {
        InstKind::Loop { .. } => true,
        InstKind::If {
            then_block,
            else_block,
            ..
        } => has_loop(then_block) || has_loop(else_block),
        _ => false,
    })
}

/// The functions host-array operations of `block` call (ufunc, gufunc, kernel and
/// job functions): these run as machine code even in the reference run. `None`
/// when host code reads or writes files (`load`, `save`), which a fuzz target
/// must not do: a campaign would fill the disk.
fn host_callees(block: &Block, out: &mut Vec<FuncId>) -> Option<()> {
    for inst in &block.insts {
        match &inst.kind {
            InstKind::Host {
                op: HostOp::Load { .. } | HostOp::Save { .. },
                ..
            } => return None,
            InstKind::Host { op, .. } => out.extend(op.callee()),
            InstKind::If {
                then_block,
                else_block,
                ..
            } => {
                host_callees(then_block, out)?;
                host_callees(else_block, out)?;
            }
            InstKind::Loop {
                header,
                body,
                latch,
                ..
            } => {
                host_callees(header, out)?;
                host_callees(body, out)?;
                host_callees(latch, out)?;
            }
            _ => {}
        }
    }
    Some(())
}

/// Whether `func` and everything it calls is free of loops and recursion (so its
/// work per call is bounded by the program's size). `checked`: functions already
/// found to be.
fn straight_line(
    program: &Program,
    func: FuncId,
    path: &mut Vec<FuncId>,
    checked: &mut HashSet<FuncId>,
) -> bool {
    if checked.contains(&func) {
        return true;
    }
    if path.contains(&func) || has_loop(&program.function(func).body) {
        return false;
    }
    path.push(func);
    let bounded = program
        .function(func)
        .callees()
        .into_iter()
        .all(|callee| straight_line(program, callee, path, checked));
    path.pop();
    if bounded {
        checked.insert(func);
    }
    bounded
}

fn run_main(source: &str, module: &mut Module) {
    let Ok(main) = module.function_id("main") else {
        return;
    };
    let mut machine_code = Vec::new();
    if host_callees(&module.program().function(main).body, &mut machine_code).is_none() {
        return;
    }
    let mut checked = HashSet::new();
    if !machine_code
        .into_iter()
        .all(|func| straight_line(module.program(), func, &mut Vec::new(), &mut checked))
    {
        return;
    }
    for target in [Target::Cpu, Target::Parallel] {
        let mut reference = Vec::new();
        let interpreted = module.run_main_interpreted(target, &mut reference, STEPS, TIME);
        if matches!(&interpreted, Err(e) if over_budget(e)) {
            return;
        }
        let mut output = Vec::new();
        let compiled = module.run_main(target, &mut output);
        // Rendering the error is part of what `kern run` does.
        if let Err(error) = &compiled {
            let _ = error.to_string();
        }
        match (&interpreted, &compiled) {
            (Ok(()), Ok(())) => assert!(
                reference == output,
                "{target:?}: compiled code printed other output than the interpreter\n\
                 program:\n{source}\ninterpreter:\n{}\ncompiled:\n{}",
                String::from_utf8_lossy(&reference),
                String::from_utf8_lossy(&output)
            ),
            (Err(_), Err(_)) => {}
            (Err(e), Ok(())) | (Ok(()), Err(e)) => assert!(
                stack_bound(e),
                "{target:?}: compiled code and the interpreter disagree on failing\n\
                 program:\n{source}\ninterpreter: {interpreted:?}\ncompiled: {compiled:?}"
            ),
        }
    }
}

/// A sample value of a scalar type (`which` picks one of two).
fn sample(ty: ScalarType, which: bool) -> ScalarValue {
    match ty {
        ScalarType::F64 => ScalarValue::F64(if which { 1.5 } else { -0.25 }),
        ScalarType::F32 => ScalarValue::F32(if which { 1.5 } else { -0.25 }),
        ScalarType::Bool => ScalarValue::Bool(which),
        _ => ScalarValue::int(ty, if which { 3 } else { -7 }),
    }
}

fn call_functions(source: &str, module: &mut Module) {
    for name in module.user_function_names() {
        let Ok(id) = module.function_id(&name) else {
            continue;
        };
        let function = module.program().function(id);
        if function.kind != FunctionKind::Plain {
            continue;
        }
        let Some(types) = function
            .param_types()
            .iter()
            .map(|t| match t {
                Type::Scalar(s) => Some(*s),
                _ => None,
            })
            .collect::<Option<Vec<_>>>()
        else {
            continue;
        };
        for which in [true, false] {
            let args: Vec<ScalarValue> = types.iter().map(|t| sample(*t, which)).collect();
            let mut reference = Vec::new();
            let interpreted = Interpreter::new(module.program())
                .with_step_limit(STEPS)
                .with_time_limit(TIME)
                .call_scalars(id, &args, &mut reference)
                .map_err(|trap| trap.kind.to_string());
            if matches!(&interpreted, Err(e) if over_budget(e)) {
                continue;
            }
            let mut output = Vec::new();
            let compiled = module
                .call(&name, &args, &mut output)
                .map_err(|e| e.to_string());
            match (&interpreted, &compiled) {
                (Ok(a), Ok(b)) => {
                    let same = match (a, b) {
                        (Some(a), Some(b)) => a.same_result(*b),
                        (None, None) => true,
                        _ => false,
                    };
                    assert!(
                        same && reference == output,
                        "`{name}{args:?}`: compiled code and the interpreter disagree\n\
                         program:\n{source}\ninterpreter: {a:?} {:?}\ncompiled: {b:?} {:?}",
                        String::from_utf8_lossy(&reference),
                        String::from_utf8_lossy(&output)
                    );
                }
                (Err(_), Err(_)) => {}
                (Err(_), Ok(_)) | (Ok(_), Err(_)) => assert!(
                    interpreted
                        .as_ref()
                        .err()
                        .or(compiled.as_ref().err())
                        .is_some_and(|e| stack_bound(e)),
                    "`{name}{args:?}`: compiled code and the interpreter disagree on failing\n\
                     program:\n{source}\ninterpreter: {interpreted:?}\ncompiled: {compiled:?}"
                ),
            }
        }
    }
}

fuzz_target!(init: limit_address_space(), |data: &[u8]| {
    let Ok(source) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(mut module) = Module::from_source("fuzz.kern", source) else {
        return;
    };
    run_main(source, &mut module);
    call_functions(source, &mut module);
});
