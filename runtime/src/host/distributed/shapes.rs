//! Slices and reshapes of distributed arrays that keep the block structure:
//! each rank reshapes or slices its own block and the result stays split along
//! the same axis, so nothing moves. That holds for `a[s..e]` when the split
//! axis is not axis 0, and for `.reshape(..)` when the new shape keeps the
//! split axis and every axis before it. Any other slice or reshape would need
//! the ranks' elements redistributed: it gathers the array (the caller does).

use super::array_methods::slice_rows;
use super::*;

impl HostArrays<'_> {
    /// `a[s..e]` or `a.reshape(..)` of a distributed `a`, where it keeps the
    /// blocks; `None` otherwise (the usual path then gathers `a`, and reports
    /// any error).
    pub(super) fn distributed_shape_op(
        &mut self,
        op: &HostOp,
        args: &[HostValue],
        span: Span,
    ) -> Result<Option<HostValue>, Trap> {
        let Some((_, d)) = self.spread_first(args, span)? else {
            return Ok(None);
        };
        let argv = Args::new(args, span);
        let fail = |e: String| host(span, e);
        let (shape, block) = match op {
            HostOp::Slice { has_start, has_end } if d.axis != 0 => {
                let rows = slice_rows(*has_start, *has_end, &argv, d.shape[0])?;
                let mut shape = d.shape.clone();
                shape[0] = rows.len();
                let block = with_array!(NdArray, &d.block, |x: T| T::wrap(
                    alloc::to_owned(x.slice_axis(Axis(0), Slice::from(rows)))
                        .map_err(|e| fail(e.to_string()))?
                ));
                (shape, block)
            }
            HostOp::Reshape => {
                let dims: Vec<isize> = (1..args.len())
                    .map(|i| argv.int(i).map(|d| d as isize))
                    .collect::<Result<_, _>>()?;
                let size: usize = d.shape.iter().product();
                let Ok(shape) = construct::resolve_shape(size, &dims) else {
                    return Ok(None);
                };
                if shape.get(..=d.axis) != Some(&d.shape[..=d.axis]) {
                    return Ok(None);
                }
                let mut local: Vec<isize> = shape.iter().map(|&n| n as isize).collect();
                local[d.axis] = d.block.shape()[d.axis] as isize;
                let block =
                    construct::reshape(&d.block, &local).map_err(|e| fail(e.to_string()))?;
                (shape, block)
            }
            _ => return Ok(None),
        };
        let d = Distributed::new(shape, d.axis, block);
        Ok(Some(self.insert_slot(Slot::Spread(d))))
    }
}
