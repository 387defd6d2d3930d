//! Binding a gufunc signature to the shapes of a call: which trailing axes of each
//! operand are its core dimensions, the size of every dimension, which optional
//! (`?`) dimensions are missing, and what is left over as loop dimensions.
//!
//! It follows NumPy's `_validate_num_dims` and `_get_coredim_sizes` check by check,
//! with their messages:
//! 1. Every operand (inputs, then the given outputs) needs at least as many axes as
//!    it has core dimensions. One with too few drops its optional dimensions, left
//!    to right, until it has enough — a dropped dimension is missing for every
//!    operand (its size is 1 and no operand has an axis for it).
//! 2. Core dimensions are the trailing axes; every appearance of a dimension must
//!    have one size (frozen ones the frozen size), compared in operand order.
//! 3. A dimension only outputs have takes its declared size (`p = "m + n - 1"`,
//!    evaluated from the inputs' sizes), which a given output must agree with;
//!    every other dimension of an output that is not given must be sized by the
//!    inputs.
//!
//! It sees shapes only (no strides, dtypes or memory); broadcasting the loop
//! dimensions is `broadcast`'s.

use kern_compiler::gufunc_signature::{CoreDimSize, GufuncSignature};
use kern_compiler::kernel_decl::dim_sizes::DimSize;

/// The result of binding: sizes and the core axes of every operand.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The size of each distinct dimension (1 for a missing one).
    pub sizes: Vec<usize>,
    /// Whether each distinct dimension is missing (an optional one dropped).
    pub missing: Vec<bool>,
    /// For each operand (inputs, then outputs): the distinct dimension of each of
    /// its core dimensions in the signature.
    pub dims: Vec<Vec<usize>>,
}

impl Binding {
    /// How many axes operand `k` has for its core dimensions (missing ones have none).
    pub fn core_ndim(&self, k: usize) -> usize {
        self.dims[k].iter().filter(|d| !self.missing[**d]).count()
    }

    /// The core shape of operand `k` as an array has it (missing dimensions left out).
    pub fn core_shape(&self, k: usize) -> Vec<usize> {
        self.dims[k]
            .iter()
            .filter(|d| !self.missing[**d])
            .map(|d| self.sizes[*d])
            .collect()
    }
}

/// What names the gufunc in messages: `"<name>: "` and its signature as given.
pub struct Names<'a> {
    pub gufunc: &'a str,
    pub signature: &'a str,
}

/// Binds `signature` (with its declared output-only `sizes`) to the input shapes
/// and the shapes of the given outputs (`None`: to be allocated). Errors are
/// NumPy's `ValueError` messages.
pub fn bind(
    names: &Names<'_>,
    signature: &GufuncSignature,
    declared: &[DimSize],
    inputs: &[&[usize]],
    outputs: &[Option<&[usize]>],
) -> Result<Binding, String> {
    let nin = signature.nin();
    // Distinct dimensions: a name, or a frozen size (equal sizes are one dimension,
    // as in NumPy), with the frozen size and whether it may be dropped.
    let mut distinct: Vec<(CoreDimSize, bool)> = Vec::new();
    let dims: Vec<Vec<usize>> = signature
        .inputs
        .iter()
        .chain(&signature.outputs)
        .map(|operand| {
            operand
                .iter()
                .map(
                    |dim| match distinct.iter().position(|(s, _)| *s == dim.size) {
                        Some(d) => d,
                        None => {
                            distinct.push((dim.size.clone(), dim.optional));
                            distinct.len() - 1
                        }
                    },
                )
                .collect()
        })
        .collect();
    let shapes: Vec<Option<&[usize]>> = inputs
        .iter()
        .map(|s| Some(*s))
        .chain(outputs.iter().copied())
        .collect();
    let role = |k: usize| {
        if k < nin {
            ("Input", k)
        } else {
            ("Output", k - nin)
        }
    };
    let mut can_ignore: Vec<bool> = distinct.iter().map(|(_, opt)| *opt).collect();
    let mut missing = vec![false; distinct.len()];
    let mut core_num: Vec<usize> = dims.iter().map(Vec::len).collect();

    // 1. Enough dimensions, dropping optional ones.
    for (k, shape) in shapes.iter().enumerate() {
        let Some(shape) = shape else { continue };
        let ndim = shape.len();
        if ndim >= core_num[k] {
            continue;
        }
        for &d in &dims[k] {
            if can_ignore[d] {
                missing[d] = true;
                can_ignore[d] = false;
                for (count, operand) in core_num.iter_mut().zip(&dims) {
                    *count -= operand.iter().filter(|x| **x == d).count();
                }
                if ndim == core_num[k] {
                    break;
                }
            }
        }
        if ndim < core_num[k] {
            let (what, index) = role(k);
            return Err(format!(
                "{}: {what} operand {index} does not have enough dimensions (has {ndim}, gufunc core with signature {} requires {})",
                names.gufunc, names.signature, core_num[k]
            ));
        }
    }

    // 2. One size per dimension.
    let mut sizes: Vec<Option<usize>> = distinct
        .iter()
        .map(|(size, _)| match size {
            CoreDimSize::Frozen(n) => Some(*n),
            CoreDimSize::Named(_) => None,
        })
        .collect();
    for (k, shape) in shapes.iter().enumerate() {
        let Some(shape) = shape else { continue };
        let core_start = shape.len() - core_num[k];
        let mut delta = 0;
        for (idim, &d) in dims[k].iter().enumerate() {
            let size = if missing[d] {
                delta += 1;
                1
            } else {
                shape[core_start + idim - delta]
            };
            match sizes[d] {
                None => sizes[d] = Some(size),
                Some(known) if known == size => {}
                Some(known) => {
                    let (what, index) = role(k);
                    return Err(format!(
                        "{}: {what} operand {index} has a mismatch in its core dimension {}, with gufunc signature {} (size {size} is different from {known})",
                        names.gufunc,
                        idim - delta,
                        names.signature
                    ));
                }
            }
        }
    }

    // 3. Declared sizes of output-only dimensions, then outputs to allocate are
    // sized.
    for size in declared {
        let named = CoreDimSize::Named(size.dim.clone());
        let Some(d) = distinct.iter().position(|(s, _)| *s == named) else {
            continue;
        };
        let size_of = |name: &str| -> u64 {
            let named = CoreDimSize::Named(name.to_string());
            distinct
                .iter()
                .position(|(s, _)| *s == named)
                .and_then(|i| sizes[i])
                .unwrap_or(1) as u64
        };
        let value = size
            .expr
            .eval(&size_of)
            .and_then(|v| usize::try_from(v).ok())
            .filter(|v| *v <= isize::MAX as usize);
        let Some(value) = value else {
            let shown = size.expr.eval(&size_of).map_or(
                "undefined (a division by zero or an overflow)".to_string(),
                |v| v.to_string(),
            );
            return Err(format!(
                "{}: core dimension {} = {} is {shown} for these inputs, which is not a size",
                names.gufunc, size.dim, size.text
            ));
        };
        match sizes[d] {
            None => sizes[d] = Some(value),
            Some(given) if given == value => {}
            Some(given) => {
                return Err(format!(
                "{}: a given output has core dimension {} of size {given}, but {} = {} is {value}",
                names.gufunc, size.dim, size.dim, size.text
            ))
            }
        }
    }
    for (k, shape) in shapes.iter().enumerate().skip(nin) {
        if shape.is_some() {
            continue;
        }
        if let Some(idim) = dims[k].iter().position(|d| sizes[*d].is_none()) {
            return Err(format!(
                "{}: Output operand {} has core dimension {idim} unspecified, with gufunc signature {}",
                names.gufunc,
                k - nin,
                names.signature
            ));
        }
    }
    Ok(Binding {
        sizes: sizes.into_iter().map(|s| s.unwrap_or(1)).collect(),
        missing,
        dims,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: Names<'static> = Names {
        gufunc: "g",
        signature: "SIG",
    };

    fn run(
        sig: &str,
        inputs: &[&[usize]],
        outputs: &[Option<&[usize]>],
    ) -> Result<Binding, String> {
        bind(&NAMES, &sig.parse().unwrap(), &[], inputs, outputs)
    }

    #[test]
    fn core_dimensions_are_the_trailing_axes() {
        let b = run("(m,n),(n,p)->(m,p)", &[&[5, 2, 3], &[3, 4]], &[None]).unwrap();
        assert_eq!(b.sizes, [2, 3, 4]);
        assert_eq!(b.core_shape(2), [2, 4]);
        assert_eq!((b.core_ndim(0), b.core_ndim(1)), (2, 2));
    }

    #[test]
    fn optional_dimensions_are_dropped_for_too_short_operands() {
        let sig = "(m?,n),(n,p?)->(m?,p?)";
        let b = run(sig, &[&[3], &[3, 4]], &[None]).unwrap();
        assert_eq!(b.missing, [true, false, false]);
        assert_eq!(b.sizes, [1, 3, 4]);
        assert_eq!(b.core_shape(2), [4]);
        let b = run(sig, &[&[3], &[3]], &[None]).unwrap();
        assert_eq!(b.core_shape(2), Vec::<usize>::new());
        // Enough dimensions: nothing is dropped, extra ones are loop dimensions.
        let b = run(sig, &[&[7, 2, 3], &[3, 4]], &[None]).unwrap();
        assert_eq!(b.missing, [false; 3]);
    }

    #[test]
    fn output_only_dimensions_take_their_declared_size() {
        use kern_compiler::kernel_decl::dim_sizes::parse_size;
        let sig: GufuncSignature = "(m),(n)->(p)".parse().unwrap();
        let declared = [DimSize {
            dim: "p".into(),
            expr: parse_size("m + n - 1").unwrap(),
            text: "m + n - 1".into(),
        }];
        let b = bind(&NAMES, &sig, &declared, &[&[5], &[3]], &[None]).unwrap();
        assert_eq!(b.core_shape(2), [7]);
        assert!(bind(&NAMES, &sig, &declared, &[&[5], &[3]], &[Some(&[2, 7])]).is_ok());
        assert_eq!(
            bind(&NAMES, &sig, &declared, &[&[5], &[3]], &[Some(&[6])]).unwrap_err(),
            "g: a given output has core dimension p of size 6, but p = m + n - 1 is 7"
        );
        assert_eq!(
            bind(&NAMES, &sig, &declared, &[&[0], &[0]], &[None]).unwrap_err(),
            "g: core dimension p = m + n - 1 is -1 for these inputs, which is not a size"
        );
    }

    #[test]
    fn errors_are_numpys() {
        assert_eq!(
            run("(m,n),(n,p)->(m,p)", &[&[3], &[3, 4]], &[None]).unwrap_err(),
            "g: Input operand 0 does not have enough dimensions (has 1, gufunc core with signature SIG requires 2)"
        );
        assert_eq!(
            run("(m,n),(n,p)->(m,p)", &[&[2, 2], &[3, 4]], &[None]).unwrap_err(),
            "g: Input operand 1 has a mismatch in its core dimension 0, with gufunc signature SIG (size 3 is different from 2)"
        );
        assert_eq!(
            run("(3)->()", &[&[4]], &[None]).unwrap_err(),
            "g: Input operand 0 has a mismatch in its core dimension 0, with gufunc signature SIG (size 4 is different from 3)"
        );
        assert_eq!(
            run("(n)->(n,k)", &[&[4]], &[None]).unwrap_err(),
            "g: Output operand 0 has core dimension 1 unspecified, with gufunc signature SIG"
        );
        assert!(run("(n)->(n,k)", &[&[4]], &[Some(&[4, 2])]).is_ok());
        assert_eq!(
            run("(n)->(n)", &[&[4]], &[Some(&[5])]).unwrap_err(),
            "g: Output operand 0 has a mismatch in its core dimension 0, with gufunc signature SIG (size 5 is different from 4)"
        );
        assert_eq!(
            run("(n)->(n,k)", &[&[4]], &[Some(&[4])]).unwrap_err(),
            "g: Output operand 0 does not have enough dimensions (has 1, gufunc core with signature SIG requires 2)"
        );
    }
}
