//! What a ufunc or gufunc call fixes of its types: NumPy's `casting=`, `dtype=`
//! and `signature=`, kept on the handle by its `with_casting`, `with_dtype` and
//! `with_signature` builders.
//!
//! Loop selection under these is the compiler's `dtype_rules::resolve` (so host
//! code and the Rust API agree); this module only holds the choices and checks
//! that they fit the callee's arity. It knows dtypes, not arrays or loops.

use kern_compiler::dtype_rules::casting::Casting;
use kern_compiler::dtype_rules::resolve::FixedTypes;

use crate::array::DType;
use crate::Error;

/// The type choices of a handle's calls (the default: selected loop, `same_kind`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct CallTypes {
    pub casting: Casting,
    pub fixed: FixedTypes,
    /// What fixed the types: `dtype=`, `signature=` (with its length), or both.
    dtype_given: bool,
    signature_len: Option<usize>,
}

impl CallTypes {
    /// NumPy's `dtype=`: the (first) output's dtype, and through it the loop.
    pub fn set_dtype(&mut self, dtype: DType) {
        self.dtype_given = true;
        self.fixed = FixedTypes::result(dtype);
    }

    /// NumPy's `signature=`: per input, then per output, a fixed dtype or `None`.
    pub fn set_signature(&mut self, nin: usize, types: &[Option<DType>]) {
        self.signature_len = Some(types.len());
        let (params, results) = types.split_at(nin.min(types.len()));
        self.fixed = FixedTypes {
            params: params.to_vec(),
            results: results.to_vec(),
        };
    }

    /// The choices, checked against the callee (NumPy's `TypeError`s).
    pub fn check(&self, what: &str, name: &str, nin: usize, nout: usize) -> Result<(), Error> {
        if self.dtype_given && self.signature_len.is_some() {
            return Err(Error::Call(
                "cannot specify both 'signature' and 'dtype'".into(),
            ));
        }
        match self.signature_len {
            Some(n) if n != nin + nout => Err(Error::Call(format!(
                "a type-tuple must be specified of length {} for {what} `{name}`",
                nin + nout
            ))),
            _ => Ok(()),
        }
    }
}

/// The target of a new handle: the one asked for, else the declaration's
/// `target = ".."`, else `cpu`.
pub(crate) fn initial_target(
    asked: Option<crate::Target>,
    declared: Option<&str>,
) -> crate::Target {
    asked
        .or_else(|| declared.and_then(|t| t.parse().ok()))
        .unwrap_or_default()
}

/// The options every callable handle (`Ufunc`, `Gufunc`) keeps for its calls —
/// `target` and the type choices (`types: CallTypes`) — with their accessors and
/// builders, written once.
macro_rules! handle_options {
    ($handle:ident) => {
        impl $handle {
            /// The target calls run on: the one given with `with_target`, else the
            /// attribute's `target = ".."`, else `cpu`.
            pub fn target(&self) -> $crate::Target {
                self.target
            }

            /// The same handle running on `target`.
            pub fn with_target(mut self, target: $crate::Target) -> $handle {
                self.target = target;
                self
            }

            /// The same handle casting under `casting` (NumPy's `casting=`;
            /// `same_kind` by default): inputs to the loop's element types, results
            /// to given outputs' dtypes.
            pub fn with_casting(mut self, casting: $crate::Casting) -> $handle {
                self.types.casting = casting;
                self
            }

            /// The same handle with its (first) result's element type fixed
            /// (NumPy's `dtype=`): the loop returning `dtype` is chosen — for a
            /// generic function the instance whose type argument it is — and the
            /// inputs cast to it under the casting rule.
            pub fn with_dtype(mut self, dtype: $crate::DType) -> $handle {
                self.types.set_dtype(dtype);
                self
            }

            /// The same handle with its loop's element types fixed (NumPy's
            /// `signature=` as a type tuple): one entry per input and per output,
            /// `None` leaving that one to selection.
            pub fn with_signature(mut self, types: &[Option<$crate::DType>]) -> $handle {
                self.types.set_signature(self.nin(), types);
                self
            }
        }
    };
}
pub(crate) use handle_options;
