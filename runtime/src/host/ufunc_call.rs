//! Ufunc calls on host arrays in `fn main`: `f(a, b)`, `f.out(&mut o, a, b)`
//! (an input that is the output is read from a copy) and the methods `reduce`,
//! `accumulate` and `outer`, run through [`Ufunc`] on the run's target.

use super::*;

impl HostArrays<'_> {
    /// Runs a ufunc call or a ufunc method.
    pub(super) fn ufunc_op(
        &mut self,
        op: &HostOp,
        args: &[HostValue],
        span: Span,
    ) -> Result<HostValue, Trap> {
        let argv = Args::new(args, span);
        let fail = |msg: String| host(span, msg);
        let value = match op {
            HostOp::Ufunc { name } => {
                let u = self.ufunc(name, span)?;
                let operands = self.operands(args, span)?;
                u.call(&operands).map_err(|e| error_trap(e, span))?
            }
            HostOp::UfuncOut { name } => {
                let u = self.ufunc(name, span)?;
                let HostValue::Array(h) = args[0] else {
                    return Err(fail("internal error: expected an output array".into()));
                };
                let mut target = self.get(h, span)?.clone();
                // An input that is the output itself is read from a copy of it.
                let copy = target.clone();
                let mut operands = Vec::new();
                for a in &args[1..] {
                    operands.push(match a {
                        HostValue::Array(x) if *x == h => Operand::Array(copy.view()),
                        HostValue::Array(x) => Operand::Array(self.get(*x, span)?.view()),
                        HostValue::Scalar(v) => Operand::Scalar(*v),
                        HostValue::Unit => return Err(fail("internal error: operand".into())),
                    });
                }
                u.call_out(&operands, OutOperand(target.view_mut()))
                    .map_err(|e| error_trap(e, span))?;
                drop(operands);
                *self.get_mut(h, span)? = target;
                return Ok(HostValue::Unit);
            }
            HostOp::Reduce { name, axis } => {
                let u = self.ufunc(name, span)?;
                let options = if *axis {
                    Reduce::axis(argv.int(1)? as isize)
                } else {
                    Reduce::all()
                };
                let a = self.arg_array(args, 0, span)?;
                let r = u
                    .reduce(Operand::Array(a.view()), &options)
                    .map_err(|e| error_trap(e, span))?;
                if !*axis {
                    let v = r
                        .get(&[])
                        .ok_or_else(|| fail("internal error: reduction".into()))?;
                    return Ok(HostValue::Scalar(v));
                }
                r
            }
            HostOp::Accumulate { name } => {
                let u = self.ufunc(name, span)?;
                let axis = argv.int(1)? as isize;
                let a = self.arg_array(args, 0, span)?;
                u.accumulate(Operand::Array(a.view()), axis)
                    .map_err(|e| error_trap(e, span))?
            }
            HostOp::Outer { name } => {
                let u = self.ufunc(name, span)?;
                let a = self.arg_array(args, 0, span)?;
                let b = self.arg_array(args, 1, span)?;
                u.outer(Operand::Array(a.view()), Operand::Array(b.view()))
                    .map_err(|e| error_trap(e, span))?
            }
            _ => return Err(fail("internal error: not a ufunc call".into())),
        };
        Ok(self.insert(value))
    }
}
