//! kern: a JIT compiler for numeric kernels.
//!
//! This facade re-exports the public API. Load a module of kern functions and run
//! them:
//!
//! ```
//! let mut module = kern::Module::from_source(
//!     "demo.kern",
//!     "fn cube(x: f64) -> f64 { x * x * x }",
//! )?;
//! let y = module.call("cube", &[kern::ScalarValue::F64(3.0)], &mut std::io::sink())?;
//! assert_eq!(y, Some(kern::ScalarValue::F64(27.0)));
//! # Ok::<(), kern::Error>(())
//! ```
//!
//! The pipeline lives in [`compiler`] (syntax → types → IR → backends), running code
//! in the runtime crate whose types are re-exported here.

pub use kern_compiler as compiler;
pub use kern_runtime::exec::parallel::{num_threads, set_num_threads};
/// The job server (Parallel Python's model): `kern::jobs::{Server, Job, Template}`.
pub use kern_runtime::jobs;
pub use kern_runtime::{
    Arg, ArrayMut, ArrayRef, DType, Dim3, Element, Error, Gufunc, Kernel, LoopForm, Module,
    NdArray, Operand, OutOperand, Reduce, ScalarType, ScalarValue, Target, Timings, Ufunc,
};
pub use ndarray;
