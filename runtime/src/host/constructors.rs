//! Host-array constructors of `fn main`: `zeros`, `ones`, `full`, `arange`,
//! `linspace`, `random::*_array` (the compiled stdlib generator run once per
//! element) and `load` of a `.npy` file. Every size comes from the program, so
//! every allocation is fallible and reported at the call.

use super::*;

impl HostArrays<'_> {
    /// Runs a constructor: the new array's handle.
    pub(super) fn constructor(
        &mut self,
        op: &HostOp,
        args: &[HostValue],
        span: Span,
        out: &mut dyn Write,
    ) -> Result<HostValue, Trap> {
        let argv = Args::new(args, span);
        let fail = |msg: String| host(span, msg);
        let construct_error = |e: construct::ConstructError| host(span, e.to_string());
        let value = match op {
            HostOp::Zeros(t) => {
                construct::zeros(*t, &argv.shape(args)?).map_err(construct_error)?
            }
            HostOp::Ones(t) => construct::ones(*t, &argv.shape(args)?).map_err(construct_error)?,
            HostOp::Full(t) => {
                let (dims, value) = args.split_at(args.len().saturating_sub(1));
                let HostValue::Scalar(v) = value.first().copied().unwrap_or(HostValue::Unit) else {
                    return Err(fail("internal error: `full` without a value".into()));
                };
                construct::full(*t, &argv.shape(dims)?, v).map_err(construct_error)?
            }
            HostOp::Arange(t) => {
                construct::arange(argv.scalar(0)?, argv.scalar(1)?, argv.scalar(2)?, *t)
                    .map_err(construct_error)?
            }
            HostOp::Linspace(t) => {
                let f = |v: ScalarValue| match v {
                    ScalarValue::F64(x) => x,
                    other => match kern_compiler::ir::eval::eval_cast(other, ScalarType::F64) {
                        ScalarValue::F64(x) => x,
                        _ => f64::NAN,
                    },
                };
                let num = argv.int(2)?;
                if num < 0 {
                    return Err(fail(format!(
                        "linspace: the number of samples, {num}, must be non-negative"
                    )));
                }
                let a =
                    construct::linspace(f(argv.scalar(0)?), f(argv.scalar(1)?), num as usize, true)
                        .map_err(construct_error)?;
                if storage_dtype(*t) == a.dtype() {
                    a
                } else {
                    a.cast(*t)
                }
            }
            HostOp::Random { func, elem } => {
                let seed = argv.scalar(0)?;
                let n = argv.int(1)?;
                if n < 0 {
                    return Err(fail(format!("cannot make an array of {n} random numbers")));
                }
                let code = self.machine_code.get(func).ok_or_else(|| {
                    fail("internal error: the random number generator is not compiled".into())
                })?;
                // The array first: a length memory cannot hold is an error up front.
                let mut array = construct::zeros(*elem, &[n as usize]).map_err(construct_error)?;
                with_array!(NdArray, &mut array, |x: T| {
                    for (i, slot) in x.iter_mut().enumerate() {
                        let v = match code.call_scalars(&[seed, ScalarValue::U64(i as u64)], out) {
                            Ok(Some(v)) => v,
                            Ok(None) => return Err(fail("internal error: no random value".into())),
                            Err(CallError::Trap(t)) => return Err(t),
                            Err(other) => return Err(fail(format!("{other}"))),
                        };
                        *slot = T::from_value(cast_value(v, T::DTYPE))
                            .ok_or_else(|| fail("internal error: element type".into()))?;
                    }
                });
                array
            }
            HostOp::Load { path, elem } => {
                let a = npy::load_npy(Path::new(path)).map_err(|e| fail(e.to_string()))?;
                if a.dtype() != storage_dtype(*elem) {
                    return Err(fail(wrong_dtype(Path::new(path), *elem, a.dtype())));
                }
                a
            }
            _ => return Err(fail("internal error: not a constructor".into())),
        };
        Ok(self.insert(value))
    }
}

/// The error of `load` when the file's dtype is not the array's.
pub(super) fn wrong_dtype(path: &Path, elem: ScalarType, found: crate::array::DType) -> String {
    format!(
        "cannot load `{}` as an `Array<{elem}>`: the file holds an array of dtype {found}",
        path.display()
    )
}
