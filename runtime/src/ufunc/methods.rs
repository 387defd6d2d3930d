//! The methods of a binary ufunc: `reduce`, `accumulate` and `outer`, built from
//! elementwise calls of the ufunc itself (so they run its compiled loop, on its
//! target).
//!
//! Order of operations (documented in docs/ufuncs.md, identical on every target):
//! * A **reorderable** ufunc (declared with an identity, or `"reorderable"`)
//!   reduces the axis it can stream through (the one with the smallest stride) in
//!   one pass of blocks (`exec::fold`). Any other axis is folded row by row, as
//!   NumPy does: the result starts as `x[0]` and `r = f(r, x[j])` follows for
//!   every further row — each lane a left fold, one pass over the operand with
//!   no temporaries. Several axes are reduced one at a time, last to first;
//!   `initial` is combined last, `f(initial, r)`.
//! * Any other ufunc reduces in order, `f(..f(f(x0, x1), x2).., xn-1)` (starting
//!   from `initial` when given: `f(..f(initial, x0)..)`, and an empty axis gives
//!   `initial`), as NumPy defines it; one axis at a time only.
//! * `accumulate` is always in order: `out[0] = x[0]`, `out[j] = f(out[j-1], x[j])`.
//! * A reduction over no elements gives `initial`, else the identity, else is
//!   NumPy's "no identity" error; elements are first converted to the reduction's
//!   input dtype (`dtype=`, or widened for a `widen = true` ufunc:
//!   `dtype_rules::reduction`).
//!
//! In-order folds run the compiled scan loop once per lane (`exec::fold`) when there
//! are few lanes, else row by row across the lanes (`exec::fold::fold_rows`) for
//! `reduce` and one elementwise call across all lanes per step for `accumulate`;
//! all give the same bits. On `cuda` every lane is one GPU thread of the batched
//! scan, and the blocked reduction runs its levels on the device
//! (`exec::cuda::fold`); the loops of each are asked for by `folds.rs`.
//!
//! It knows shapes and views; dtype resolution and execution are the ufunc's.

use kern_compiler::ir::ScalarValue;
use kern_compiler::kernel_decl::Identity;
use ndarray::Axis;

use super::resolve::ResolvedLoop;
use super::Ufunc;
use crate::array::axes::{index_axis, insert_axis, reshape, slice_axis, slice_axis_mut};
use crate::array::{
    storage_dtype, with_array, ArrayMut, ArrayRef, DType, Element, NdArray, Operand,
};
use crate::exec::dispatch;
use crate::exec::fold::AxisFold;
use crate::Error;
use kern_compiler::dtype_rules::reduction;

/// Where a reduction starts (NumPy's `initial=`).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Initial {
    /// The ufunc's identity when it has one (NumPy's default): an empty reduction
    /// gives it, and a ufunc without one cannot reduce an empty axis.
    #[default]
    Identity,
    /// This value: an empty reduction gives it; otherwise it is combined with the
    /// elements (first for an in-order reduction, last for a reorderable one).
    Value(ScalarValue),
    /// No start value even for a ufunc with an identity (NumPy's `initial=None`):
    /// reducing an empty axis is an error.
    NoIdentity,
}

/// Which axes a reduction runs over, and how (NumPy's `axis`, `initial`,
/// `keepdims`, `dtype`). `Reduce::default()` is NumPy's default: axis 0.
#[derive(Clone, Debug, PartialEq)]
pub struct Reduce {
    /// `None`: every axis. Negative axes count from the end. Axis 0 (or -1) of a
    /// 0-d array means no axis, as in NumPy.
    pub axes: Option<Vec<isize>>,
    pub initial: Initial,
    pub keepdims: bool,
    /// The dtype the elements are converted to (with `as`, NumPy's `unsafe`
    /// casting) before reducing; the loop is the one chosen for `(dtype, dtype)`.
    /// `None`: the array's dtype, widened for a `widen = true` ufunc.
    pub dtype: Option<DType>,
    /// NumPy's `where=`: a bool array broadcast to the array's shape; only the
    /// elements where it is true are combined. Needs a start value: the ufunc's
    /// identity, or `initial` for a ufunc without one.
    pub where_mask: Option<NdArray>,
}

impl Default for Reduce {
    fn default() -> Reduce {
        Reduce::axis(0)
    }
}

impl Reduce {
    pub fn axis(axis: isize) -> Reduce {
        Reduce::over(Some(vec![axis]))
    }

    pub fn axes(axes: &[isize]) -> Reduce {
        Reduce::over(Some(axes.to_vec()))
    }

    /// Over every axis, to a 0-d array.
    pub fn all() -> Reduce {
        Reduce::over(None)
    }

    fn over(axes: Option<Vec<isize>>) -> Reduce {
        Reduce {
            axes,
            initial: Initial::Identity,
            keepdims: false,
            dtype: None,
            where_mask: None,
        }
    }

    /// The value the reduction starts from (`initial=` in NumPy).
    pub fn initial<T: Element>(self, value: T) -> Reduce {
        self.initial_value(value.to_value())
    }

    pub fn initial_value(mut self, value: ScalarValue) -> Reduce {
        self.initial = Initial::Value(value);
        self
    }

    /// No start value, not even the ufunc's identity (NumPy's `initial=None`).
    pub fn no_initial(mut self) -> Reduce {
        self.initial = Initial::NoIdentity;
        self
    }

    pub fn keepdims(mut self, keep: bool) -> Reduce {
        self.keepdims = keep;
        self
    }

    /// Combine only the elements where `mask` (a bool array broadcast to the
    /// array's shape) is true (NumPy's `where=`).
    pub fn where_mask(mut self, mask: impl Into<NdArray>) -> Reduce {
        self.where_mask = Some(mask.into());
        self
    }

    /// Reduce in `dtype` (NumPy's `dtype=`), overriding the default (and widening).
    pub fn dtype(mut self, dtype: DType) -> Reduce {
        self.dtype = Some(dtype);
        self
    }
}

impl Ufunc {
    fn require_binary(&self, method: &str) -> Result<(), Error> {
        if self.nin() != 2 {
            return Err(Error::Call(format!(
                "{method} only supported for binary ufuncs; `{}` takes {} input{}",
                self.name(),
                self.nin(),
                if self.nin() == 1 { "" } else { "s" }
            )));
        }
        Ok(())
    }

    /// The dtype a reduction or accumulation of `dtype` computes in: the result of
    /// the loop chosen for `(dtype, dtype)`.
    pub(super) fn accumulator_dtype(&self, dtype: DType) -> Result<DType, Error> {
        Ok(storage_dtype(self.accumulator_loop(dtype)?.ret))
    }

    /// The loop chosen for `(dtype, dtype)`: what reductions of `dtype` run.
    fn accumulator_loop(&self, dtype: DType) -> Result<ResolvedLoop, Error> {
        reduction::accumulator_loop(&self.decl, dtype).map_err(|e| Error::Call(e.message))
    }

    pub(super) fn reorderable(&self) -> bool {
        self.decl.identity != Identity::None
    }

    /// Whether `reduce` (no `dtype=`, no `initial`) along `axis` of a C-ordered
    /// array of `shape` and `dtype` is a left fold row by row,
    /// `f(..f(f(x0, x1), x2)..)`, computed in `dtype` itself: then a prefix of
    /// the rows folded first, put back as one row in front of the others, gives
    /// the same bits (how the `mpi` target folds a distributed array's split
    /// axis rank after rank).
    pub(crate) fn reduces_rows_in_place(&self, shape: &[usize], axis: usize, dtype: DType) -> bool {
        // A C-ordered array streams through `axis` only when the axes after it
        // have at most one element each.
        let streams = shape[axis + 1..].iter().all(|&n| n <= 1);
        !(self.reorderable() && streams) && self.scans_in(dtype)
    }

    /// Whether `accumulate` of a `dtype` array runs in `dtype` itself (no
    /// widening, an accumulator of the same dtype), so that a row of a
    /// previous result put in front of more rows continues the same scan (how
    /// the `mpi` target scans a distributed array's split axis rank after rank).
    pub(crate) fn scans_in(&self, dtype: DType) -> bool {
        self.nin() == 2
            && self.reduction_input(dtype, None) == dtype
            && self.accumulator_dtype(dtype).is_ok_and(|acc| acc == dtype)
    }

    /// The dtype a reduction or accumulation of `dtype` converts its elements to
    /// before combining them: `explicit` when given, else the shared rule
    /// (`dtype_rules::reduction`: widened for a `widen = true` ufunc).
    pub(super) fn reduction_input(&self, dtype: DType, explicit: Option<DType>) -> DType {
        match explicit {
            Some(d) => storage_dtype(d),
            None => reduction::reduction_input(&self.decl, dtype),
        }
    }

    /// `ufunc.reduce(array, axis=.., initial=.., keepdims=.., dtype=..)`.
    pub fn reduce<'a>(
        &self,
        array: impl Into<Operand<'a>>,
        options: &Reduce,
    ) -> Result<NdArray, Error> {
        self.require_binary("reduce")?;
        let array = match array.into() {
            Operand::Array(a) => a,
            Operand::Scalar(v) => {
                return Err(Error::Call(format!(
                    "cannot reduce a scalar ({v}) with `{}`: pass an array",
                    self.name()
                )))
            }
        };
        if let Some(mask) = &options.where_mask {
            return self.reduce_where(&array, mask, options);
        }
        let ndim = array.shape().len();
        let mut axes = match &options.axes {
            None => (0..ndim).collect(),
            // NumPy reads axis 0 of a 0-d array as "no axis".
            Some(list) if ndim == 0 && list.iter().all(|&a| a == 0 || a == -1) => Vec::new(),
            Some(list) => normalize_axes(list, ndim)?,
        };
        if axes.len() > 1 && !self.reorderable() {
            return Err(Error::Call(format!(
                "reduction operation `{}` is not reorderable, so at most one axis may be specified",
                self.name()
            )));
        }
        let input = self.reduction_input(array.dtype(), options.dtype);
        let converted = (input != array.dtype()).then(|| array.cast(input));
        let source = match &converted {
            Some(c) => c.view(),
            None => array.reborrow(),
        };
        let acc = self.accumulator_dtype(input)?;
        let initial = match options.initial {
            Initial::Value(v) => Some(v),
            _ => None,
        };
        let mut out_shape = source.shape().to_vec();
        // Reduce the last axis first so the remaining axis numbers stay valid.
        axes.sort_unstable_by(|a, b| b.cmp(a));
        for &axis in &axes {
            out_shape.remove(axis);
        }
        let reduced: usize = axes.iter().map(|&a| source.shape()[a]).product();
        let result = if reduced == 0 {
            // Nothing to combine: the start value, as NumPy returns it.
            let start = match (options.initial, self.decl.identity) {
                (Initial::Value(v), _) => v,
                (Initial::Identity, Identity::Value(v)) => v,
                _ => {
                    return Err(Error::Call(format!(
                        "zero-size array to reduction operation `{}` which has no identity",
                        self.name()
                    )))
                }
            };
            NdArray::full(acc, &out_shape, start)?
        } else {
            let mut current: Option<NdArray> = None;
            for &axis in &axes {
                let view = match &current {
                    Some(c) => c.view(),
                    None => source.reborrow(),
                };
                current = Some(self.reduce_axis(&view, axis, acc, initial)?);
            }
            let mut result = match current {
                Some(r) => r,
                // No axes: a copy in the accumulator dtype, as NumPy returns.
                None => source.cast(acc),
            };
            // A reorderable reduction combines `initial` last, and so does one
            // over no axis (every element with it); an in-order one started from it.
            if let (Some(v), true) = (initial, self.reorderable() || axes.is_empty()) {
                result = self.call(&[Operand::Scalar(v), Operand::Array(result.view())])?;
            }
            result
        };
        Ok(keep_dims(result, source.shape(), &axes, options.keepdims))
    }

    /// Reduces one non-empty axis of `source`; `initial` is where an in-order
    /// reduction starts (a reorderable one combines it in `reduce`).
    fn reduce_axis(
        &self,
        source: &ArrayRef<'_>,
        axis: usize,
        acc: DType,
        initial: Option<ScalarValue>,
    ) -> Result<NdArray, Error> {
        if self.reorderable() && walks_memory_in_order(source, axis) {
            // On `cuda` the levels run on the GPU (`exec::cuda::fold`), same order.
            let resolved = self.accumulator_loop(source.dtype())?;
            dispatch::reduce_blocked(self.target, &self.folds(Some(&resolved)), source, axis, acc)
        } else {
            // Any other axis row by row, as NumPy does: a reorderable ufunc
            // combines `initial` last (in `reduce`), so its fold starts at x0.
            let start = if self.reorderable() { None } else { initial };
            self.reduce_in_order(source, axis, acc, start)
        }
    }

    /// `f(..f(f(seed, x0), x1).., xn-1)` along `axis`, the seed being `initial`
    /// when given, else the first element (whose fold then starts at `x1`).
    fn reduce_in_order(
        &self,
        source: &ArrayRef<'_>,
        axis: usize,
        acc: DType,
        initial: Option<ScalarValue>,
    ) -> Result<NdArray, Error> {
        let (mut result, skip) = match initial {
            Some(v) => {
                let mut shape = source.shape().to_vec();
                shape.remove(axis);
                (NdArray::full(acc, &shape, v)?, 0)
            }
            None => (index_axis(source, axis, 0).cast(acc), 1),
        };
        let resolved = self.accumulator_loop(source.dtype())?;
        let folds = self.folds(Some(&resolved));
        let fold = AxisFold {
            loops: &folds,
            source,
            axis,
            skip,
        };
        dispatch::reduce_in_order(self.target, &fold, &mut result)?;
        Ok(result)
    }

    /// `ufunc.accumulate(array, axis)`: `out[j] = f(out[j-1], x[j])` along `axis`.
    pub fn accumulate<'a>(
        &self,
        array: impl Into<Operand<'a>>,
        axis: isize,
    ) -> Result<NdArray, Error> {
        self.require_binary("accumulate")?;
        let array = match array.into() {
            Operand::Array(a) if !a.shape().is_empty() => a,
            _ => {
                return Err(Error::Call(format!(
                    "`{}.accumulate` needs an array of at least one dimension",
                    self.name()
                )))
            }
        };
        let axis = normalize_axes(&[axis], array.shape().len())?[0];
        let input = self.reduction_input(array.dtype(), None);
        let converted = (input != array.dtype()).then(|| array.cast(input));
        let array = match &converted {
            Some(c) => c.view(),
            None => array.reborrow(),
        };
        let acc = self.accumulator_dtype(input)?;
        let mut out = NdArray::zeros(acc, array.shape())?;
        let n = array.shape()[axis];
        if n == 0 {
            return Ok(out);
        }
        assign(
            slice_axis_mut(&mut out, axis, 0..1).0,
            &slice_axis(&array, axis, 0..1),
        );
        if dispatch::folds_lane_by_lane(self.target, out.len() / n) {
            let resolved = self.accumulator_loop(array.dtype())?;
            let folds = self.folds(Some(&resolved));
            let fold = AxisFold {
                loops: &folds,
                source: &array,
                axis,
                skip: 1,
            };
            dispatch::scan_axis(self.target, &fold, &mut out)?;
            return Ok(out);
        }
        // Many lanes: one elementwise call across them per step is cheaper.
        for j in 1..n {
            let x = index_axis(&array, axis, j);
            with_array!(NdArray, &mut out, |a: T| {
                let (done, mut rest) = a.view_mut().split_at(Axis(axis), j);
                let previous = done.index_axis_move(Axis(axis), j - 1);
                let target = rest.index_axis_mut(Axis(axis), 0);
                self.call_out(
                    &[T::wrap_view(previous.view()), Operand::Array(x.reborrow())],
                    T::wrap_view_mut(target),
                )?;
            });
        }
        Ok(out)
    }

    /// `ufunc.outer(a, b)`: `out[i.., j..] = f(a[i..], b[j..])`, of shape
    /// `a.shape + b.shape`.
    pub fn outer<'a, 'b>(
        &self,
        a: impl Into<Operand<'a>>,
        b: impl Into<Operand<'b>>,
    ) -> Result<NdArray, Error> {
        self.require_binary("outer")?;
        let (a, b): (Operand<'a>, Operand<'b>) = (a.into(), b.into());
        let b = b.reborrow();
        let a = match a.reborrow() {
            Operand::Array(view) => {
                let mut view = view;
                for _ in 0..b.shape().len() {
                    let at = view.shape().len();
                    view = insert_axis(&view, at);
                }
                Operand::Array(view)
            }
            scalar => scalar,
        };
        self.call(&[a, b])
    }
}

/// True when `axis` has the smallest stride of `source`'s axes longer than one:
/// reducing it streams through memory, so the blocked one-pass reduction fits.
/// Other axes are folded row by row, elementwise over the remaining axes.
fn walks_memory_in_order(source: &ArrayRef<'_>, axis: usize) -> bool {
    let stride = source.strides()[axis].unsigned_abs();
    source
        .shape()
        .iter()
        .zip(source.strides())
        .enumerate()
        .all(|(k, (&len, s))| k == axis || len <= 1 || s.unsigned_abs() >= stride)
}

pub(super) fn normalize_axes(axes: &[isize], ndim: usize) -> Result<Vec<usize>, Error> {
    let mut out = Vec::new();
    for &axis in axes {
        let a = if axis < 0 { axis + ndim as isize } else { axis };
        if a < 0 || a >= ndim as isize {
            return Err(Error::Call(format!(
                "axis {axis} is out of bounds for array of dimension {ndim}"
            )));
        }
        if out.contains(&(a as usize)) {
            return Err(Error::Call("duplicate value in 'axis'".into()));
        }
        out.push(a as usize);
    }
    Ok(out)
}

/// `dst[..] = src[..] as dst's dtype` (same shapes).
fn assign(dst: ArrayMut<'_>, src: &ArrayRef<'_>) {
    let src = src.cast(dst.dtype());
    with_array!(ArrayMut, dst, |d: T| {
        let s = T::unwrap_ref(&src).expect("cast to the destination dtype");
        let mut d = d;
        d.assign(s);
    })
}

/// A reduction's `result` over `axes` of an array of `shape`, with the reduced
/// axes kept as length 1 when `keepdims` (NumPy's `keepdims=True`).
pub(super) fn keep_dims(
    result: NdArray,
    shape: &[usize],
    axes: &[usize],
    keepdims: bool,
) -> NdArray {
    if !keepdims {
        return result;
    }
    let mut shape = shape.to_vec();
    for &axis in axes {
        shape[axis] = 1;
    }
    reshape(result, &shape)
}
