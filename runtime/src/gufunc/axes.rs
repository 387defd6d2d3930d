//! NumPy's `axes=`, `axis=` and `keepdims=` for gufunc calls: which axes of each
//! operand hold its core dimensions, instead of the trailing ones.
//!
//! A call with a layout runs as NumPy's does: every input is viewed with its core
//! axes moved last (no copy), the gufunc runs as usual, and every output is viewed
//! back — a new output is allocated in the usual order (loop dimensions, then core
//! ones) and returned with its core axes moved to where `axes` puts them; a given
//! output is written through a permuted view. With `keepdims`, outputs (which then
//! have no core dimensions) get the inputs' core axes back with length 1.
//!
//! The rules and messages follow NumPy's `_parse_axes_arg`, `_parse_axis_arg` and
//! `_check_keepdims_support`. This module sees shapes, views and the signature:
//! dtypes, loops and targets are the plain call's.

use kern_compiler::gufunc_signature::GufuncSignature;

use super::Gufunc;
use crate::array::{inverse_permutation, NdArray, Operand, OutOperand};
use crate::Error;

impl Gufunc {
    /// NumPy's `axes=`: for each operand (inputs, then outputs), the axes that
    /// hold its core dimensions, in the signature's order; negative axes count
    /// from the end. Outputs without core dimensions may be left out.
    pub fn with_axes(mut self, axes: &[&[isize]]) -> Gufunc {
        self.layout.axes = Some(axes.iter().map(|a| a.to_vec()).collect());
        self
    }

    /// NumPy's `axis=`: the axis of the one core dimension every operand with
    /// core dimensions shares (e.g. `(n),(n)->()`).
    pub fn with_axis(mut self, axis: isize) -> Gufunc {
        self.layout.axis = Some(axis);
        self
    }

    /// NumPy's `keepdims=`: outputs keep the inputs' core axes, with length 1
    /// (only when every input has as many core dimensions and outputs have none).
    pub fn with_keepdims(mut self, keepdims: bool) -> Gufunc {
        self.layout.keepdims = keepdims;
        self
    }

    fn placement(
        &self,
        inputs: &[Operand<'_>],
        outputs: &[Option<usize>],
    ) -> Result<Placement, Error> {
        let ndims: Vec<usize> = inputs.iter().map(|o| o.shape().len()).collect();
        place(
            &self.decl.name,
            &self.decl.signature_text,
            &self.decl.signature,
            &self.layout,
            &ndims,
            outputs,
        )
        .map_err(Error::Call)
    }

    /// The same gufunc with its core dimensions trailing (the layout applied).
    fn trailing(&self) -> Gufunc {
        Gufunc {
            layout: CoreLayout::default(),
            ..self.clone()
        }
    }

    /// [`Gufunc::call`] under a layout: inputs viewed with their core axes last,
    /// new outputs returned with theirs where the layout puts them.
    pub(super) fn call_placed(&self, inputs: &[Operand<'_>]) -> Result<Vec<NdArray>, Error> {
        let placement = self.placement(inputs, &vec![None; self.nout()])?;
        let inputs = placed_inputs(inputs, &placement);
        let outs = self.trailing().call(&inputs)?;
        Ok(outs
            .into_iter()
            .enumerate()
            .map(|(j, mut out)| {
                for _ in 0..placement.kept {
                    let end = out.ndim();
                    out = out.insert_axis(end);
                }
                out.permuted_axes(&placement.output_order(self.nin(), j))
            })
            .collect())
    }

    /// [`Gufunc::call_out`] under a layout: the given outputs written through
    /// views with their core axes last (kept axes, of length 1, left out).
    pub(super) fn call_out_placed(
        &self,
        inputs: &[Operand<'_>],
        outs: Vec<OutOperand<'_>>,
    ) -> Result<(), Error> {
        let ndims: Vec<Option<usize>> = outs.iter().map(|o| Some(o.0.shape().len())).collect();
        let placement = self.placement(inputs, &ndims)?;
        let inputs = placed_inputs(inputs, &placement);
        let mut views = Vec::with_capacity(outs.len());
        for (j, out) in outs.into_iter().enumerate() {
            let mut view = out.0.permuted_axes(&placement.orders[self.nin() + j]);
            for _ in 0..placement.kept {
                let last = view.shape().len() - 1;
                if view.shape()[last] != 1 {
                    return Err(Error::Call(format!(
                        "{}: output operand {j} has length {} along a kept core axis; keepdims needs length 1 there",
                        self.decl.name,
                        view.shape()[last]
                    )));
                }
                view = view.index_axis(last, 0);
            }
            views.push(OutOperand(view));
        }
        self.trailing().call_out(&inputs, views)
    }
}

/// The inputs viewed as the gufunc sees them (no copies).
fn placed_inputs<'a>(inputs: &'a [Operand<'_>], placement: &Placement) -> Vec<Operand<'a>> {
    inputs
        .iter()
        .zip(&placement.orders)
        .map(|(input, order)| match input {
            Operand::Array(a) => Operand::Array(a.reborrow().permuted_axes(order)),
            Operand::Scalar(v) => Operand::Scalar(*v),
        })
        .collect()
}

/// Where the core dimensions of a call's operands are (the default: trailing).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CoreLayout {
    /// NumPy's `axes=`: per operand (inputs, then outputs), its core axes in the
    /// signature's order; outputs without core dimensions may be left out.
    pub axes: Option<Vec<Vec<isize>>>,
    /// NumPy's `axis=`: the one axis of a single shared core dimension.
    pub axis: Option<isize>,
    /// NumPy's `keepdims=`: outputs keep the inputs' core axes with length 1.
    pub keepdims: bool,
}

impl CoreLayout {
    pub fn is_default(&self) -> bool {
        *self == CoreLayout::default()
    }
}

/// A layout resolved for the shapes of one call.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Placement {
    /// Per operand (inputs, then outputs): the permutation that views the operand
    /// as the gufunc sees it (`order[i]` is the operand's axis that becomes axis
    /// `i`: loop axes in order, then core axes in the signature's order).
    pub orders: Vec<Vec<usize>>,
    /// How many length-1 axes `keepdims` adds to every output (0 without it).
    pub kept: usize,
}

impl Placement {
    /// The permutation that turns an output computed in the gufunc's order into
    /// the layout the caller asked for.
    pub fn output_order(&self, nin: usize, j: usize) -> Vec<usize> {
        inverse_permutation(&self.orders[nin + j])
    }
}

/// Resolves `layout` for a call: `input_ndims` per input, `output_ndims` per
/// output (`None`: to be allocated). Errors are NumPy's messages.
pub(crate) fn place(
    name: &str,
    signature_text: &str,
    signature: &GufuncSignature,
    layout: &CoreLayout,
    input_ndims: &[usize],
    output_ndims: &[Option<usize>],
) -> Result<Placement, String> {
    let nin = signature.inputs.len();
    let nop = nin + signature.outputs.len();
    if layout.axes.is_some() && layout.axis.is_some() {
        return Err("cannot specify both 'axis' and 'axes'".into());
    }
    let mut cores: Vec<usize> = signature
        .inputs
        .iter()
        .chain(&signature.outputs)
        .map(Vec::len)
        .collect();
    let mut kept = 0;
    if layout.keepdims {
        let first = cores[0];
        let unsupported = (0..nin)
            .find(|&k| cores[k] != first)
            .map(|k| ("input", k, cores[k]))
            .or_else(|| {
                (nin..nop)
                    .find(|&k| cores[k] != 0)
                    .map(|k| ("output", k - nin, cores[k]))
            });
        if let Some((kind, k, n)) = unsupported {
            return Err(format!(
                "{name} does not support keepdims: its signature {signature_text} requires {kind} {k} to have {n} core dimensions, but keepdims can only be used when all inputs have the same number of core dimensions and all outputs have no core dimensions."
            ));
        }
        kept = first;
        cores[nin..].iter_mut().for_each(|c| *c = first);
    }
    // The loop rank of new outputs: the inputs' broadcast loop dimensions.
    let loop_ndim = (0..nin)
        .map(|k| input_ndims[k].saturating_sub(cores[k]))
        .max()
        .unwrap_or(0);
    let ndims: Vec<usize> = input_ndims
        .iter()
        .copied()
        .chain(
            output_ndims
                .iter()
                .zip(&cores[nin..])
                .map(|(given, core)| given.unwrap_or(loop_ndim + core)),
        )
        .collect();
    let axes: Vec<Vec<isize>> = match (&layout.axes, layout.axis) {
        (Some(axes), _) => {
            let outputs_bare = cores[nin..].iter().all(|&c| c == 0);
            if axes.len() != nop && !(axes.len() == nin && outputs_bare) {
                return Err(format!(
                    "axes should be a list with an entry for all {nop} inputs and outputs; entries for outputs can only be omitted if none of them has core axes."
                ));
            }
            (0..nop)
                .map(|k| axes.get(k).cloned().unwrap_or_default())
                .collect()
        }
        (None, Some(axis)) => {
            let mut dims = signature.inputs.iter().chain(&signature.outputs).flatten();
            let shared = match dims.next() {
                Some(first) => dims.all(|d| d.size == first.size),
                None => false,
            };
            if !shared
                || signature
                    .inputs
                    .iter()
                    .chain(&signature.outputs)
                    .any(|o| o.len() > 1)
            {
                let mut distinct: Vec<_> = Vec::new();
                for d in signature.inputs.iter().chain(&signature.outputs).flatten() {
                    if !distinct.contains(&&d.size) {
                        distinct.push(&d.size);
                    }
                }
                return Err(format!(
                    "{name}: axis can only be used with a single shared core dimension, not with the {} distinct ones implied by signature {signature_text}.",
                    distinct.len()
                ));
            }
            cores
                .iter()
                .map(|&c| if c == 1 { vec![axis] } else { Vec::new() })
                .collect()
        }
        (None, None) => cores
            .iter()
            .zip(&ndims)
            .map(|(&c, &n)| (n.saturating_sub(c)..n).map(|a| a as isize).collect())
            .collect(),
    };
    let explicit = layout.axes.is_some() || layout.axis.is_some();
    let mut orders = Vec::with_capacity(nop);
    for (k, (entry, (&core, &ndim))) in axes.iter().zip(cores.iter().zip(&ndims)).enumerate() {
        // (An operand with fewer axes than core dimensions is left to `bind`'s
        // messages when the axes are the default ones.)
        if entry.len() != core && explicit {
            return Err(format!(
                "{name}: operand {k} has {core} core dimensions, but {} dimensions are specified by axes tuple.",
                entry.len()
            ));
        }
        let mut core_axes = Vec::with_capacity(core);
        for &a in entry {
            let axis = normalize_axis(a, ndim)?;
            if core_axes.contains(&axis) {
                return Err(format!("axes item {k} has value {a} repeated"));
            }
            core_axes.push(axis);
        }
        let mut order: Vec<usize> = (0..ndim).filter(|a| !core_axes.contains(a)).collect();
        order.extend(core_axes);
        orders.push(order);
    }
    Ok(Placement { orders, kept })
}

/// `axis` counted from the end when negative, checked against `ndim` (NumPy's
/// `AxisError` text).
fn normalize_axis(axis: isize, ndim: usize) -> Result<usize, String> {
    let n = ndim as isize;
    if axis < -n || axis >= n {
        return Err(format!(
            "axis {axis} is out of bounds for array of dimension {ndim}"
        ));
    }
    Ok(if axis < 0 { axis + n } else { axis } as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn placed(
        sig: &str,
        layout: CoreLayout,
        ins: &[usize],
        outs: &[Option<usize>],
    ) -> Result<Placement, String> {
        let signature: GufuncSignature = sig.parse().unwrap();
        place("g", sig, &signature, &layout, ins, outs)
    }

    fn axes(a: &[&[isize]]) -> CoreLayout {
        CoreLayout {
            axes: Some(a.iter().map(|e| e.to_vec()).collect()),
            ..CoreLayout::default()
        }
    }

    #[test]
    fn axes_move_each_operands_core_axes_last() {
        let p = placed(
            "(n,k),(k,m)->(n,m)",
            axes(&[&[1, 2], &[1, -1], &[0, 1]]),
            &[3, 3],
            &[None],
        )
        .unwrap();
        assert_eq!(p.orders, vec![vec![0, 1, 2], vec![0, 1, 2], vec![2, 0, 1]]);
        // The output computed as (loop, n, m) is returned as (n, m, loop).
        assert_eq!(p.output_order(2, 0), vec![1, 2, 0]);
        let p = placed(
            "(n,k),(k,m)->(n,m)",
            axes(&[&[0, 1], &[0, 1], &[-2, -1]]),
            &[3, 3],
            &[None],
        )
        .unwrap();
        assert_eq!(p.orders[0], vec![2, 0, 1]);
    }

    #[test]
    fn numpys_messages_for_bad_axes() {
        let sig = "(n,k),(k,m)->(n,m)";
        let err = |layout, ins: &[usize]| placed(sig, layout, ins, &[None]).unwrap_err();
        assert_eq!(
            err(axes(&[&[0, 1], &[0, 1]]), &[3, 3]),
            "axes should be a list with an entry for all 3 inputs and outputs; entries for outputs can only be omitted if none of them has core axes."
        );
        assert_eq!(
            err(axes(&[&[0], &[0, 1], &[0, 1]]), &[3, 3]),
            "g: operand 0 has 2 core dimensions, but 1 dimensions are specified by axes tuple."
        );
        assert_eq!(
            err(axes(&[&[0, 1], &[0, 1], &[0, 5]]), &[3, 3]),
            "axis 5 is out of bounds for array of dimension 3"
        );
        assert_eq!(
            err(axes(&[&[0, 1], &[0, 1], &[1, 1]]), &[3, 3]),
            "axes item 2 has value 1 repeated"
        );
        let axis = CoreLayout {
            axis: Some(0),
            ..CoreLayout::default()
        };
        assert_eq!(
            err(axis, &[3, 3]),
            "g: axis can only be used with a single shared core dimension, not with the 3 distinct ones implied by signature (n,k),(k,m)->(n,m)."
        );
        let keep = CoreLayout {
            keepdims: true,
            ..CoreLayout::default()
        };
        assert_eq!(
            err(keep, &[3, 3]),
            "g does not support keepdims: its signature (n,k),(k,m)->(n,m) requires output 0 to have 2 core dimensions, but keepdims can only be used when all inputs have the same number of core dimensions and all outputs have no core dimensions."
        );
        let both = CoreLayout {
            axis: Some(0),
            ..axes(&[&[0, 1], &[0, 1], &[0, 1]])
        };
        assert_eq!(err(both, &[3, 3]), "cannot specify both 'axis' and 'axes'");
    }

    #[test]
    fn axis_and_keepdims_on_a_shared_core_dimension() {
        let sig = "(n),(n)->()";
        let axis = CoreLayout {
            axis: Some(0),
            ..CoreLayout::default()
        };
        let p = placed(sig, axis.clone(), &[2, 2], &[None]).unwrap();
        assert_eq!(p.orders, vec![vec![1, 0], vec![1, 0], vec![0]]);
        assert_eq!(p.kept, 0);
        // keepdims: the output gets the core axis back (length 1) where the inputs had it.
        let p = placed(
            sig,
            CoreLayout {
                keepdims: true,
                ..axis
            },
            &[2, 2],
            &[None],
        )
        .unwrap();
        assert_eq!(p.orders[2], vec![1, 0]);
        assert_eq!(p.kept, 1);
        let p = placed(
            sig,
            CoreLayout {
                keepdims: true,
                ..CoreLayout::default()
            },
            &[2, 2],
            &[None],
        )
        .unwrap();
        assert_eq!(p.orders[2], vec![0, 1]);
        // Outputs without core axes may be left out of `axes`.
        assert!(placed(sig, axes(&[&[0], &[0]]), &[2, 2], &[None]).is_ok());
        assert_eq!(
            placed(sig, axes(&[&[0], &[0], &[0]]), &[2, 2], &[None]).unwrap_err(),
            "g: operand 2 has 0 core dimensions, but 1 dimensions are specified by axes tuple."
        );
    }
}
