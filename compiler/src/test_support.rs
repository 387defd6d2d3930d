//! What the compiler's unit tests share: compiling a source to a program, what a
//! function's IR does (its array accesses as printed, its host operations), and
//! array descriptors over test buffers. Test-only; knows nothing of any builder
//! or pass.

use crate::ir::{
    ArrayDesc, FuncId, Function, HostArg, HostOp, InstKind, Program, ScalarValue, Trap, MAX_RANK,
};

/// The program of `src`, which must compile.
pub(crate) fn compile(src: &str) -> Program {
    crate::frontend::compile_text("t.kern", src)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
        .program
}

/// The array accesses of `f` in order, as `kern emit --ir` prints them:
/// `load`/`store` checked, `load.unchecked`/`store.unchecked` not.
pub(crate) fn accesses(program: &Program, f: FuncId) -> Vec<String> {
    crate::ir::print::print_function(program, program.function(f))
        .lines()
        .filter_map(|l| {
            l.split_whitespace()
                .find(|w| w.starts_with("load") || w.starts_with("store"))
                .map(str::to_owned)
        })
        .collect()
}

/// The host operations of `f`'s top-level block, in order.
pub(crate) fn host_ops(f: &Function) -> Vec<&HostOp> {
    f.body
        .insts
        .iter()
        .filter_map(|i| match &i.kind {
            InstKind::Host { op, .. } => Some(op),
            _ => None,
        })
        .collect()
}

/// A descriptor over the buffer at `data` with `shape` and element `strides`.
pub(crate) fn desc<T>(data: *mut T, shape: &[i64], strides: &[i64]) -> ArrayDesc {
    let mut d = ArrayDesc {
        data: data.cast(),
        shape: [0; MAX_RANK],
        strides: [0; MAX_RANK],
    };
    d.shape[..shape.len()].copy_from_slice(shape);
    d.strides[..strides.len()].copy_from_slice(strides);
    d
}

/// An array argument over `data` with `shape` and element `strides`.
pub(crate) fn array_arg<T>(data: &mut [T], shape: &[i64], strides: &[i64]) -> HostArg {
    HostArg::Array(desc(data.as_mut_ptr(), shape, strides))
}

/// Calls `func` of `program` with `args` as Cranelift machine code (`compiled`)
/// or in the reference interpreter; a trap comes back as `Err`.
///
/// # Safety
/// Every array descriptor in `args` must cover live memory of its element type
/// for the whole call, as for `Interpreter::call`.
#[cfg(feature = "cranelift")]
pub(crate) unsafe fn call(
    program: &Program,
    func: FuncId,
    args: &[HostArg],
    compiled: bool,
) -> Result<Option<ScalarValue>, Trap> {
    use crate::backend::cranelift::{CallError, JitEngine};
    use crate::interp::Interpreter;
    let sink = &mut std::io::sink();
    if !compiled {
        return Interpreter::new(program).call(func, args, sink);
    }
    let mut engine = JitEngine::new().unwrap();
    let code = engine.compile(program, func).unwrap();
    code.call(args, sink).map_err(|e| match e {
        CallError::Trap(t) => t,
        other => panic!("{other}"),
    })
}
