//! The interpreter's side of host arrays: the environment that owns them.
//!
//! The interpreter knows nothing of n-d arrays. Host-array locals hold opaque
//! [`HostHandle`]s; every `InstKind::Host` instruction, and every call that passes
//! a host array to a kern function, goes to a [`HostEnv`] the runtime provides.

use std::io::Write;

use crate::diagnostics::Span;
use crate::ir::{ArrayDesc, HostOp, ScalarValue, Trap};

/// An array owned by the host environment. `HostHandle(0)` is no array (a local
/// not assigned yet).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct HostHandle(pub u32);

/// An operand or result of a host operation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum HostValue {
    Scalar(ScalarValue),
    Array(HostHandle),
    /// No result.
    Unit,
}

/// What runs host-array operations for the interpreter (implemented by the runtime).
pub trait HostEnv {
    /// Runs `op` on `args` (see `ir::host` for each op's operands). Returns the new
    /// array for ops that make one, the scalar for ops with a scalar result, `Unit`
    /// otherwise. Errors are traps at `span` (`TrapKind::Host`), or the trap of
    /// compiled code the op ran.
    fn host_op(
        &mut self,
        op: &HostOp,
        args: &[HostValue],
        span: Span,
        out: &mut dyn Write,
    ) -> Result<HostValue, Trap>;

    /// The descriptor of an array passed to a kern parameter of `rank` (mutable if
    /// the parameter is `&mut`); the memory stays valid until the next `host_op`
    /// or `release`.
    fn descriptor(&mut self, array: HostHandle, rank: u8, span: Span) -> Result<ArrayDesc, Trap>;

    /// The array is no longer used by any local.
    fn release(&mut self, array: HostHandle);

    /// Called just before `host_op` with those of its array operands that are
    /// temporaries (`ir::host`): nothing reads them after this op, and the
    /// interpreter releases them right after it, so the op may take their
    /// array instead of copying it. (An environment that ignores this is
    /// correct, only slower.)
    fn temporaries(&mut self, _arrays: &[HostHandle]) {}
}

#[cfg(test)]
mod tests {
    use crate::interp::Interpreter;
    use crate::ir::{print, HostOp, TrapKind};

    fn compile(text: &str) -> crate::frontend::Compiled {
        crate::frontend::compile_text("host.kern", text)
            .unwrap_or_else(|e| panic!("{e}"))
            .0
    }

    const PROGRAM: &str = "#[vectorize]\nfn twice(x: f64) -> f64 { 2.0 * x }\n\
        fn main() { let x = zeros([2, 3]); let y = twice(&x); println!(\"{}\", y.sum()); }";

    #[test]
    fn host_code_lowers_to_host_instructions_in_main() {
        let compiled = compile(PROGRAM);
        let main = compiled.program.function(compiled.functions["main"]);
        let ops = crate::test_support::host_ops(main);
        assert!(matches!(ops[0], HostOp::Zeros(_)), "{ops:?}");
        assert!(matches!(ops[1], HostOp::Ufunc { name } if name == "twice"));
        let text = print::print_function(&compiled.program, main);
        assert!(text.contains("host zeros<f64>("), "{text}");
        assert!(text.contains("Array<f64>"), "{text}");
    }

    #[test]
    fn without_a_host_environment_host_instructions_trap() {
        let compiled = compile(PROGRAM);
        let err = Interpreter::new(&compiled.program)
            .call_scalars(compiled.functions["main"], &[], &mut std::io::sink())
            .unwrap_err();
        assert!(
            matches!(&err.kind, TrapKind::Host(m) if m.contains("host environment")),
            "{err:?}"
        );
    }
}
