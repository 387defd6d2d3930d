//! Host-array methods and indexing of `fn main`: `save`, `.copy()`, `a[i, j]`
//! reads and writes, slices `a[s..e]`, `.reshape(..)`, the whole-array reductions
//! (`.sum()`, `.mean()`, `.min()`, `.max()`, in `reduce`) and `len`/`ndim`/`shape`.
//! Ufunc calls on arrays are in `ufunc_call`.

use super::*;

impl HostArrays<'_> {
    /// Runs an array method or an indexing operation.
    pub(super) fn array_method(
        &mut self,
        op: &HostOp,
        args: &[HostValue],
        span: Span,
    ) -> Result<HostValue, Trap> {
        let argv = Args::new(args, span);
        let fail = |msg: String| host(span, msg);
        let construct_error = |e: construct::ConstructError| host(span, e.to_string());
        let value = match op {
            HostOp::Save { path } => {
                let a = self.arg_array(args, 0, span)?;
                npy::save_npy(Path::new(path), &a.view()).map_err(|e| fail(e.to_string()))?;
                return Ok(HostValue::Unit);
            }
            HostOp::Copy => {
                let a = self.arg_array(args, 0, span)?;
                with_array!(NdArray, a, |x: T| T::wrap(
                    alloc::to_owned(x.view()).map_err(|e| fail(e.to_string()))?
                ))
            }
            HostOp::Get => {
                let a = self.arg_array(args, 0, span)?;
                let index = checked_index(a.shape(), &args[1..], span)?;
                let v = a
                    .get(&index)
                    .ok_or_else(|| fail("internal error: index".into()))?;
                return Ok(HostValue::Scalar(v));
            }
            HostOp::Set => {
                let HostValue::Array(h) = args[0] else {
                    return Err(fail("internal error: expected an array".into()));
                };
                let (indices, value) = args[1..].split_at(args.len() - 2);
                let HostValue::Scalar(v) = value[0] else {
                    return Err(fail("internal error: expected a value".into()));
                };
                let a = self.get_mut(h, span)?;
                let index = checked_index(a.shape(), indices, span)?;
                with_array!(NdArray, a, |x: T| {
                    let v = T::from_value(cast_value(v, T::DTYPE))
                        .ok_or_else(|| fail("internal error: element type".into()))?;
                    x[IxDyn(&index)] = v;
                });
                return Ok(HostValue::Unit);
            }
            HostOp::Slice { has_start, has_end } => {
                let a = self.arg_array(args, 0, span)?;
                if a.ndim() == 0 {
                    return Err(fail("cannot slice a 0-d array".into()));
                }
                let rows = slice_rows(*has_start, *has_end, &argv, a.shape()[0])?;
                with_array!(NdArray, a, |x: T| T::wrap(
                    alloc::to_owned(x.slice_axis(Axis(0), Slice::from(rows)))
                        .map_err(|e| fail(e.to_string()))?
                ))
            }
            HostOp::Reshape => {
                let dims: Vec<isize> = (1..args.len())
                    .map(|i| argv.int(i).map(|d| d as isize))
                    .collect::<Result<_, _>>()?;
                // A temporary (`linspace(..).reshape(..)`) keeps its buffer.
                match self.take_temporary(&args[0]) {
                    Some(a) => construct::reshape_owned(a, &dims),
                    None => construct::reshape(self.arg_array(args, 0, span)?, &dims),
                }
                .map_err(construct_error)?
            }
            HostOp::Sum => {
                let a = self.arg_array(args, 0, span)?;
                if a.dtype() == ScalarType::Bool {
                    return Err(fail("`.sum()` of a bool array is not supported".into()));
                }
                return Ok(HostValue::Scalar(
                    reduce::sum(a).map_err(|e| fail(e.to_string()))?,
                ));
            }
            HostOp::Mean => {
                return Ok(HostValue::Scalar(
                    reduce::mean(self.arg_array(args, 0, span)?)
                        .map_err(|e| fail(e.to_string()))?,
                ))
            }
            HostOp::Min | HostOp::Max => {
                let max = matches!(op, HostOp::Max);
                let a = self.arg_array(args, 0, span)?;
                return match reduce::extreme(a, max) {
                    Some(v) => Ok(HostValue::Scalar(v)),
                    None => Err(fail(reduce::no_identity(max))),
                };
            }
            HostOp::Len => {
                let a = self.arg_array(args, 0, span)?;
                return match a.shape().first() {
                    Some(n) => Ok(HostValue::Scalar(ScalarValue::Usize(*n as u64))),
                    None => Err(fail("len() of a 0-d array".into())),
                };
            }
            HostOp::Ndim => {
                let a = self.arg_array(args, 0, span)?;
                return Ok(HostValue::Scalar(ScalarValue::Usize(a.ndim() as u64)));
            }
            HostOp::Shape => {
                let a = self.arg_array(args, 0, span)?;
                let shape: Vec<u64> = a.shape().iter().map(|d| *d as u64).collect();
                NdArray::from(ndarray::Array1::from(shape).into_dyn())
            }
            _ => return Err(fail("internal error: not an array method".into())),
        };
        Ok(self.insert(value))
    }
}

/// The rows `a[start..end]` of an axis 0 of `len` rows selects (`args`: the
/// array, then the bounds present), checked as Rust checks a slice's.
pub(super) fn slice_rows(
    has_start: bool,
    has_end: bool,
    args: &Args<'_>,
    len: usize,
) -> Result<std::ops::Range<usize>, Trap> {
    let mut next = 1;
    let mut bound = |present: bool, default: usize| -> Result<usize, Trap> {
        if !present {
            return Ok(default);
        }
        next += 1;
        Ok(args.scalar(next - 1)?.as_i128().unwrap_or(0) as usize)
    };
    let start = bound(has_start, 0)?;
    let end = bound(has_end, len)?;
    if end > len {
        return Err(host(
            args.span,
            format!("range end index {end} out of range for axis 0 of length {len}"),
        ));
    }
    if start > end {
        return Err(host(
            args.span,
            format!("slice index starts at {start} but ends at {end}"),
        ));
    }
    Ok(start..end)
}
