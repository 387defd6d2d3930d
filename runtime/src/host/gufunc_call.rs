//! Gufunc calls of host code (`ir::HostOp::Gufunc`): `matmul(&a, &b)` returns the
//! new output, `matmul(&a, &b, &mut c)` writes into the given outputs. Both go
//! through the module's [`Gufunc`] handles on the run's target, so host code gets
//! exactly the semantics and error messages of the Rust API.

use kern_compiler::diagnostics::Span;
use kern_compiler::interp::{HostHandle, HostValue};
use kern_compiler::ir::Trap;

use super::{cached, error_trap, host, HostArrays};
use crate::array::{NdArray, OutOperand};
use crate::gufunc::Gufunc;

impl HostArrays<'_> {
    pub(super) fn gufunc(&mut self, name: &str, span: Span) -> Result<Gufunc, Trap> {
        let (core, target) = (&self.core, self.ufunc_target);
        cached(&mut self.gufuncs, name, || {
            let decl = (core.compiled.gufuncs.get(name).cloned())
                .ok_or_else(|| host(span, format!("no gufunc `{name}` in this module")))?;
            Ok(Gufunc::new(core.clone(), decl, target))
        })
    }

    /// `name(inputs..)`: the one output, allocated.
    pub(super) fn call_gufunc(
        &mut self,
        name: &str,
        args: &[HostValue],
        span: Span,
    ) -> Result<NdArray, Trap> {
        let g = self.gufunc(name, span)?;
        let operands = self.operands(args, span)?;
        let mut outs = g.call(&operands).map_err(|e| error_trap(e, span))?;
        outs.pop()
            .ok_or_else(|| host(span, "internal error: a gufunc call made no output"))
    }

    /// `name(inputs.., &mut outputs..)`: the outputs written in place. The call
    /// writes into copies of the outputs that replace them afterwards, so inputs
    /// (read from the table) never alias what is written, as NumPy guarantees,
    /// and a failed call leaves the outputs as they were.
    pub(super) fn call_gufunc_out(
        &mut self,
        name: &str,
        nin: usize,
        args: &[HostValue],
        span: Span,
    ) -> Result<(), Trap> {
        let g = self.gufunc(name, span)?;
        let mut handles: Vec<HostHandle> = Vec::new();
        for a in &args[nin..] {
            match a {
                HostValue::Array(h) if !handles.contains(h) => handles.push(*h),
                HostValue::Array(_) => {
                    return Err(host(span, "the same array is passed as two outputs"))
                }
                _ => return Err(host(span, "internal error: expected an output array")),
            }
        }
        let mut written: Vec<NdArray> = Vec::new();
        for h in &handles {
            written.push(self.get(*h, span)?.clone());
        }
        {
            let operands = self.operands(&args[..nin], span)?;
            let outs: Vec<OutOperand<'_>> = written
                .iter_mut()
                .map(|t| OutOperand(t.view_mut()))
                .collect();
            g.call_out(&operands, outs)
                .map_err(|e| error_trap(e, span))?;
        }
        for (h, array) in handles.iter().zip(written) {
            *self.get_mut(*h, span)? = array;
        }
        Ok(())
    }
}
