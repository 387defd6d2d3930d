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
