//! What the expansions of kern's attribute macros (`#[kern::vectorize]`,
//! `#[kern::guvectorize]`, `#[kern::jit]`) call at run time: lazily built, cached,
//! thread-safe handles on a function whose kern source the macro captured at
//! compile time.
//!
//! Each handle lives in a `static` of the expansion. The first call builds the
//! module from the captured source (parse, check, lower) exactly once, whichever
//! thread gets there first; machine code is then compiled per dtype signature and
//! target by the [`Ufunc`]/[`Gufunc`] caches (or per function by the [`Module`]),
//! also once. This file knows nothing of Rust syntax or tokens: the macro crate
//! owns those and must not depend on the runtime.

use std::sync::{Mutex, OnceLock};

use kern_compiler::ir::ScalarValue;

use crate::args::Arg;
use crate::{Error, Gufunc, Module, NdArray, Ufunc};

/// A `#[kern::vectorize]` function's handle, built on first use.
pub struct LazyUfunc {
    name: &'static str,
    file: &'static str,
    source: &'static str,
    handle: OnceLock<Result<Ufunc, Error>>,
}

impl LazyUfunc {
    pub const fn new(name: &'static str, file: &'static str, source: &'static str) -> LazyUfunc {
        LazyUfunc {
            name,
            file,
            source,
            handle: OnceLock::new(),
        }
    }

    /// The cached handle; the first call builds it.
    pub fn get(&'static self) -> Result<&'static Ufunc, Error> {
        self.handle
            .get_or_init(|| self.build())
            .as_ref()
            .map_err(replay)
    }

    /// What the first call does, uncached: a new module from the captured source
    /// and a handle on the ufunc in it (its loops compile on their first call).
    pub fn build(&self) -> Result<Ufunc, Error> {
        Module::from_source(self.file, self.source)?.ufunc(self.name)
    }
}

/// A `#[kern::guvectorize]` function's handle, built on first use.
pub struct LazyGufunc {
    name: &'static str,
    file: &'static str,
    source: &'static str,
    handle: OnceLock<Result<Gufunc, Error>>,
}

impl LazyGufunc {
    pub const fn new(name: &'static str, file: &'static str, source: &'static str) -> LazyGufunc {
        LazyGufunc {
            name,
            file,
            source,
            handle: OnceLock::new(),
        }
    }

    pub fn get(&'static self) -> Result<&'static Gufunc, Error> {
        self.handle
            .get_or_init(|| self.build())
            .as_ref()
            .map_err(replay)
    }

    pub fn build(&self) -> Result<Gufunc, Error> {
        Module::from_source(self.file, self.source)?.gufunc(self.name)
    }
}

/// A `#[kern::jit]` function, built on first use. Calls go through one module
/// behind a lock: [`Module::call_with_arrays`] compiles on first call and needs
/// the module exclusively, so concurrent calls of one `#[jit]` function take
/// turns (different functions have different modules and do not wait).
pub struct LazyJit {
    name: &'static str,
    file: &'static str,
    source: &'static str,
    module: OnceLock<Result<Mutex<Module>, Error>>,
}

impl LazyJit {
    pub const fn new(name: &'static str, file: &'static str, source: &'static str) -> LazyJit {
        LazyJit {
            name,
            file,
            source,
            module: OnceLock::new(),
        }
    }

    /// Calls the function with `args` (scalars and arrays in parameter order);
    /// printed output goes to stdout.
    pub fn call(&'static self, args: &mut [Arg<'_>]) -> Result<Option<ScalarValue>, Error> {
        let module = self
            .module
            .get_or_init(|| Module::from_source(self.file, self.source).map(Mutex::new))
            .as_ref()
            .map_err(replay)?;
        // A panic while the lock was held cannot leave the module half-updated in a
        // way later calls could observe (its caches are filled after success only).
        let mut module = module
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        module.call_with_arrays(self.name, args, &mut std::io::stdout())
    }
}

/// The module of one `#[kern::kernel]` function, built from the captured source
/// on first use; launches get a fresh [`Kernel`](crate::Kernel) handle each time
/// (the compiled launch loop is cached in the module).
pub struct LazyKernel {
    name: &'static str,
    file: &'static str,
    source: &'static str,
    module: OnceLock<Result<Module, Error>>,
}

impl LazyKernel {
    pub const fn new(name: &'static str, file: &'static str, source: &'static str) -> LazyKernel {
        LazyKernel {
            name,
            file,
            source,
            module: OnceLock::new(),
        }
    }

    pub fn handle(&'static self) -> Result<crate::Kernel, Error> {
        self.module
            .get_or_init(|| Module::from_source(self.file, self.source))
            .as_ref()
            .map_err(replay)?
            .kernel(self.name)
    }
}

/// Converts between Rust scalars and kern's [`ScalarValue`] for the typed
/// parameters and results of `#[kern::jit]` functions.
pub trait JitScalar: Sized {
    fn into_value(self) -> ScalarValue;
    fn from_value(v: ScalarValue) -> Option<Self>;
}

macro_rules! jit_scalar {
    ($($t:ty => $variant:ident),* $(,)?) => {$(
        impl JitScalar for $t {
            fn into_value(self) -> ScalarValue {
                ScalarValue::$variant(self)
            }
            fn from_value(v: ScalarValue) -> Option<$t> {
                match v {
                    ScalarValue::$variant(x) => Some(x),
                    _ => None,
                }
            }
        }
    )*};
}

jit_scalar!(
    i8 => I8, i16 => I16, i32 => I32, i64 => I64, u8 => U8, u16 => U16, u32 => U32,
    u64 => U64, f32 => F32, f64 => F64,
);

// kern keeps `isize`/`usize` values 64 bits wide whatever the host's width.
impl JitScalar for isize {
    fn into_value(self) -> ScalarValue {
        ScalarValue::Isize(self as i64)
    }
    fn from_value(v: ScalarValue) -> Option<isize> {
        match v {
            ScalarValue::Isize(x) => isize::try_from(x).ok(),
            _ => None,
        }
    }
}

impl JitScalar for usize {
    fn into_value(self) -> ScalarValue {
        ScalarValue::Usize(self as u64)
    }
    fn from_value(v: ScalarValue) -> Option<usize> {
        match v {
            ScalarValue::Usize(x) => usize::try_from(x).ok(),
            _ => None,
        }
    }
}

impl JitScalar for bool {
    fn into_value(self) -> ScalarValue {
        ScalarValue::Bool(self)
    }
    fn from_value(v: ScalarValue) -> Option<bool> {
        match v {
            ScalarValue::Bool(b) => Some(b),
            _ => None,
        }
    }
}

/// A scalar argument of a `#[kern::jit]` call.
pub fn scalar_arg<'a, T: JitScalar>(value: T) -> Arg<'a> {
    Arg::Scalar(value.into_value())
}

/// The typed result of a `#[kern::jit]` call that returns a scalar.
pub fn scalar_result<T: JitScalar>(
    name: &str,
    result: Result<Option<ScalarValue>, Error>,
) -> Result<T, Error> {
    match result? {
        Some(v) => T::from_value(v).ok_or_else(|| {
            Error::Call(format!(
                "`{name}` returned a {}, which does not match its declared type",
                v.ty()
            ))
        }),
        None => Err(Error::Call(format!("`{name}` returned no value"))),
    }
}

/// The one output of a gufunc that declares one.
pub fn single_output(name: &str, outputs: Vec<NdArray>) -> Result<NdArray, Error> {
    let count = outputs.len();
    let mut outputs = outputs.into_iter();
    match (outputs.next(), outputs.next()) {
        (Some(out), None) => Ok(out),
        _ => Err(Error::Call(format!(
            "gufunc `{name}` gave {count} outputs where one was expected"
        ))),
    }
}

/// A fresh copy of an error cached by a handle whose first build failed: every
/// later call reports the same failure. Errors are not `Clone` (they may hold an
/// `io::Error`), so the variants a build can produce are copied field by field.
fn replay(error: &Error) -> Error {
    match error {
        Error::Compile {
            diagnostics,
            rendered,
        } => Error::Compile {
            diagnostics: diagnostics.clone(),
            rendered: rendered.clone(),
        },
        Error::Kernel { trap, rendered } => Error::Kernel {
            trap: trap.clone(),
            rendered: rendered.clone(),
        },
        Error::Backend(m) => Error::Backend(m.clone()),
        Error::TargetUnavailable(m) => Error::TargetUnavailable(m.clone()),
        Error::Call(m) => Error::Call(m.clone()),
        Error::Io { path, source } => Error::Io {
            path: path.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
        Error::Write { what, source } => Error::Write {
            what: what.clone(),
            source: std::io::Error::new(source.kind(), source.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    static BROKEN: LazyUfunc =
        LazyUfunc::new("f", "broken.rs", "#[vectorize] fn f(x: f64) -> f64 { y }");

    #[test]
    fn a_failed_first_build_is_reported_again_on_every_call() {
        let first = BROKEN.get().unwrap_err().to_string();
        let second = BROKEN.get().unwrap_err().to_string();
        assert!(first.contains("broken.rs"), "{first}");
        assert_eq!(first, second);
    }

    #[test]
    fn jit_scalars_round_trip_and_reject_other_types() {
        assert_eq!(u64::from_value(7usize.into_value()), None);
        assert_eq!(usize::from_value(7usize.into_value()), Some(7));
        assert_eq!(f32::from_value(1.5f32.into_value()), Some(1.5));
        let wrong = scalar_result::<f64>("f", Ok(Some(ScalarValue::I32(1))));
        assert!(wrong.unwrap_err().to_string().contains("does not match"));
    }
}
