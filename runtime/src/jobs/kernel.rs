//! Compiled kern functions as jobs: a [`KernFunction`] handle (machine code that
//! any thread may call, plus what is needed to render its traps) and the argument
//! sets it accepts ([`KernArgs`]).
//!
//! Only functions with scalar parameters can be jobs: array arguments would
//! have to be borrowed across threads for as long as the job runs, which a job's
//! `'static` lifetime cannot express safely.

use std::io::Write;
use std::sync::Arc;

use kern_compiler::backend::cranelift::CompiledFunction;
use kern_compiler::ir::{ScalarType, Type};

use crate::array::Element;
use crate::compile::CompileService;
use crate::{Error, ScalarValue};

/// A compiled kern function with scalar parameters, ready to run on any thread.
/// Get one with [`crate::Module::function`]; cheap to clone.
#[derive(Clone)]
pub struct KernFunction {
    core: Arc<CompileService>,
    code: CompiledFunction,
    params: Vec<ScalarType>,
    ret: Option<ScalarType>,
}

impl std::fmt::Debug for KernFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernFunction")
            .field("name", &self.code.name())
            .field("params", &self.params)
            .finish()
    }
}

impl KernFunction {
    /// `None` when a parameter is not a scalar.
    pub(crate) fn new(
        core: Arc<CompileService>,
        code: CompiledFunction,
        params: &[Type],
        ret: Option<ScalarType>,
    ) -> Result<KernFunction, Error> {
        let params = params
            .iter()
            .map(|p| match p {
                Type::Scalar(t) => Ok(*t),
                _ => Err(Error::Call(format!(
                    "`{}` takes arrays: only functions with scalar parameters can be jobs",
                    code.name()
                ))),
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(KernFunction {
            core,
            code,
            params,
            ret,
        })
    }

    pub fn name(&self) -> &str {
        self.code.name()
    }

    pub fn param_types(&self) -> &[ScalarType] {
        &self.params
    }

    pub fn return_type(&self) -> Option<ScalarType> {
        self.ret
    }

    /// Calls the function on this thread, `print!` output to `out`.
    pub fn call(
        &self,
        args: &[ScalarValue],
        out: &mut dyn Write,
    ) -> Result<Option<ScalarValue>, Error> {
        self.check_args(args)?;
        self.code
            .call_scalars(args, out)
            .map_err(|e| self.core.error(e))
    }

    /// Calls the function with its output collected and written to stdout in one
    /// piece, so lines of concurrent jobs never interleave.
    pub(crate) fn call_to_stdout(
        &self,
        args: &[ScalarValue],
    ) -> Result<Option<ScalarValue>, Error> {
        let mut output = Vec::new();
        let result = self.call(args, &mut output);
        if !output.is_empty() {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(&output)
                .and_then(|()| stdout.flush())
                .map_err(|source| Error::Write {
                    what: crate::error::PRINT_OUTPUT.into(),
                    source,
                })?;
        }
        result
    }

    fn check_args(&self, args: &[ScalarValue]) -> Result<(), Error> {
        let given: Vec<ScalarType> = args.iter().map(|a| a.ty()).collect();
        if given != self.params {
            let names = |types: &[ScalarType]| {
                types
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            };
            return Err(Error::Call(format!(
                "`{}` takes ({}) but was called with ({})",
                self.name(),
                names(&self.params),
                names(&given)
            )));
        }
        Ok(())
    }
}

/// An argument set for a kern function job: a tuple of scalars (`(n,)`,
/// `(x, y)`, ...) or a `Vec<ScalarValue>`. Types are checked when the job runs;
/// a mismatch is the job's error.
pub trait KernArgs {
    fn into_values(self) -> Vec<ScalarValue>;
}

impl KernArgs for Vec<ScalarValue> {
    fn into_values(self) -> Vec<ScalarValue> {
        self
    }
}

impl KernArgs for &[ScalarValue] {
    fn into_values(self) -> Vec<ScalarValue> {
        self.to_vec()
    }
}

impl KernArgs for () {
    fn into_values(self) -> Vec<ScalarValue> {
        Vec::new()
    }
}

macro_rules! tuple_args {
    ($($name:ident),+) => {
        impl<$($name: Element),+> KernArgs for ($($name,)+) {
            #[allow(non_snake_case)]
            fn into_values(self) -> Vec<ScalarValue> {
                let ($($name,)+) = self;
                vec![$($name.to_value()),+]
            }
        }
    };
}

tuple_args!(A);
tuple_args!(A, B);
tuple_args!(A, B, C);
tuple_args!(A, B, C, D);
tuple_args!(A, B, C, D, E);
tuple_args!(A, B, C, D, E, F);
