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
//!
//! # Attribute macros
//!
//! Or write kern functions as Rust functions and annotate them. The kern language is
//! a subset of Rust syntax, so the function is ordinary Rust syntax; the macro runs
//! kern's front end on it while rustc compiles (a kern syntax or type error is a
//! compile error at its tokens) and expands to:
//!
//! - a **function** `name(..)` in the value namespace: the common call;
//! - a **module** `name` in the type namespace: `name::handle()` (the cached
//!   [`Ufunc`]/[`Gufunc`]), `name::on(target)`, `name::call(&[..])`,
//!   `name::call_out(..)`, for binary ufuncs `name::reduce`/`accumulate`/`outer`,
//!   and `name::SOURCE` (the captured kern text).
//!
//! Nothing is compiled at Rust compile time beyond the check: the first call builds
//! the module from the captured text, and each dtype signature and target compiles
//! its loop on first use, once, whichever thread asks first. Bad calls (an
//! unsupported dtype, shapes that do not broadcast, a wrong number of operands to
//! `name::call`) are [`Error`]s, never panics. Kern source errors at run time
//! (kernel traps) name the line and column in the Rust file.
//!
//! ## `#[kern::vectorize]`: ufuncs
//!
//! ```
//! use kern::ndarray::{array, Array1};
//!
//! #[kern::vectorize]
//! fn saxpy(a: f32, x: f32, y: f32) -> f32 {
//!     a * x + y
//! }
//!
//! // Arrays (any rank, any strides) and scalars in any mix; an owned `NdArray` back.
//! let x = array![1.0f32, 2.0, 3.0];
//! let y = array![10.0f32, 20.0, 30.0];
//! let z = saxpy(2.0f32, &x, &y)?;
//! assert_eq!(z.as_array::<f32>().unwrap(), &array![12.0f32, 24.0, 36.0].into_dyn());
//!
//! // Into a buffer you own, and on another target for this call only.
//! let mut out = Array1::<f32>::zeros(3);
//! saxpy::call_out(&[2.0f32.into(), (&x).into(), (&y).into()], &mut out)?;
//! assert_eq!(out, array![12.0f32, 24.0, 36.0]);
//! let parallel = saxpy::on(kern::Target::Parallel)?;
//! assert_eq!(parallel.call(&[2.0f32.into(), (&x).into(), (&y).into()])?, z);
//!
//! // A dtype with no loop to take it (f64 does not convert safely to f32) is an
//! // error, not a panic.
//! let wide = array![1.0f64, 2.0];
//! assert!(saxpy(2.0f32, &wide, &wide).is_err());
//! # Ok::<(), kern::Error>(())
//! ```
//!
//! Generic ufuncs specialise per input dtype on first call; a type list
//! (`#[kern::vectorize(f32, f64)]`, kern's own form rather than Numba's signature
//! strings) fixes the loops. `target = "parallel"` sets the default target and
//! `identity = ..` makes reductions reorderable:
//!
//! ```
//! use kern::ndarray::array;
//!
//! #[kern::vectorize(identity = 0, target = "parallel")]
//! fn add<T>(a: T, b: T) -> T {
//!     a + b
//! }
//!
//! let a = array![[1i64, 2], [3, 4]];
//! assert_eq!(add::handle()?.target(), kern::Target::Parallel);
//! assert_eq!(add::reduce(&a, &kern::Reduce::all())?.get(&[]), Some(kern::ScalarValue::I64(10)));
//! let running = add::accumulate(&a, 1)?;
//! assert_eq!(running.as_array::<i64>().unwrap(), &array![[1i64, 3], [3, 7]].into_dyn());
//! let table = add::outer(&array![1.0f64, 2.0], &array![10.0f64, 20.0, 30.0])?;
//! assert_eq!(table.shape(), &[2, 3]);
//! # Ok::<(), kern::Error>(())
//! ```
//!
//! ## `#[kern::guvectorize]`: gufuncs
//!
//! The layout signature comes from the nested array types (their dimension names
//! are `usize` values in the body), or from the attribute
//! (`#[kern::guvectorize("(m,n),(n,p)->(m,p)")]`). The function returns its output
//! (a `Vec` of them when it has several):
//!
//! ```
//! use kern::ndarray::Array3;
//!
//! #[kern::guvectorize]
//! fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
//!     for i in 0..M {
//!         for j in 0..P {
//!             let mut sum = 0.0;
//!             for k in 0..N {
//!                 sum += a[i][k] * b[k][j];
//!             }
//!             out[i][j] = sum;
//!         }
//!     }
//! }
//!
//! assert_eq!(matmul::SIGNATURE, "(M,N),(N,P)->(M,P)");
//! let a = Array3::from_shape_fn((4, 2, 3), |(b, i, j)| (b + i + j) as f64);
//! let b = Array3::from_shape_fn((4, 3, 2), |(b, i, j)| (b * i + j) as f64);
//! let c = matmul(&a, &b)?;                        // a batch of 4 products
//! assert_eq!(c.shape(), &[4, 2, 2]);
//! let c = c.as_array::<f64>().unwrap();
//! for (i, j) in [(0, 0), (1, 1)] {
//!     let by_hand: f64 = (0..3).map(|k| a[[3, i, k]] * b[[3, k, j]]).sum();
//!     assert_eq!(c[[3, i, j]], by_hand);
//! }
//! # Ok::<(), kern::Error>(())
//! ```
//!
//! ## `#[kern::jit]`: functions over scalars and slices
//!
//! Scalar parameters keep their Rust types; `&[T]` parameters take anything that
//! converts to an [`ArrayRef`] (`&array`), `&mut [T]` ones to an [`ArrayMut`]
//! (`&mut array`); the result is the function's scalar (or `()`):
//!
//! ```
//! use kern::ndarray::{array, Array1};
//!
//! #[kern::jit]
//! fn is_prime(n: i64) -> bool {
//!     if n < 2 { return false; }
//!     let mut i = 2;
//!     while i * i <= n {
//!         if n % i == 0 { return false; }
//!         i += 1;
//!     }
//!     true
//! }
//!
//! #[kern::jit]
//! fn add_into(a: &[f64], b: &[f64], out: &mut [f64]) {
//!     for i in 0..out.len() { out[i] = a[i] + b[i]; }
//! }
//!
//! assert!(is_prime(97)?);
//! let mut out = Array1::<f64>::zeros(2);
//! add_into(&array![1.0, 2.0], &array![3.0, 4.0], &mut out)?;
//! assert_eq!(out, array![4.0, 6.0]);
//! // An index out of range stops the call with the kernel's source location.
//! let error = add_into(&array![1.0], &array![3.0, 4.0], &mut out).unwrap_err();
//! assert!(error.to_string().contains("out of bounds"), "{error}");
//! # Ok::<(), kern::Error>(())
//! ```
//!
//! Each annotated function is its own kern module: it can call the standard
//! library (`x.exp()`, `PI`, ...) but not another annotated function. The body is
//! kern, not necessarily valid Rust (dimension names, `T: Float`), so rustc never
//! compiles it; the item is kept in the expansion under `#[cfg(any())]` for tools.
//!
//! `#[kern::kernel]` makes an explicit SPMD kernel: the generated function takes
//! the grid and the block (a `usize`, a tuple or a [`Dim3`]) before the kernel's
//! own arguments, and module `name` has `handle()`, `on(target)` and `launch`:
//!
//! ```
//! use kern::ndarray::{array, Array1};
//!
//! #[kern::kernel]
//! fn add(a: &[f32], b: &[f32], out: &mut [f32]) {
//!     let i = global_id();
//!     if i < out.len() { out[i] = a[i] + b[i]; }
//! }
//!
//! let mut out = Array1::<f32>::zeros(3);
//! add(1, 32, &array![1.0f32, 2.0, 3.0], &array![10.0f32, 20.0, 30.0], &mut out)?;
//! assert_eq!(out, array![11.0, 22.0, 33.0]);
//! # Ok::<(), kern::Error>(())
//! ```
//!
//! # The GPU
//!
//! With the `cuda` feature, `.with_target(Target::Cuda)` runs ufunc and gufunc
//! loops on an NVIDIA GPU, copying host operands in and results out per call.
//! `DeviceArray` keeps arrays in GPU memory between calls: `to_device(&x)?`,
//! `ufunc.call_on_device(&[(&dx).into(), 2.0f32.into()])?` (a `DeviceArray` back,
//! no copy), `call_on_device_out(.., &mut dout)`, then `to_host()`. See
//! docs/cuda.md.

pub use kern_compiler as compiler;
pub use kern_macros::{guvectorize, jit, kernel, vectorize};
pub use kern_runtime::exec::parallel::{num_threads, set_num_threads};
/// The job server (Parallel Python's model): `kern::jobs::{Server, Job, Template}`.
pub use kern_runtime::jobs;
/// GPU-resident arrays and ufunc calls over them (feature `cuda`; see
/// docs/cuda.md).
#[cfg(feature = "cuda")]
pub use kern_runtime::{to_device, DeviceArray, DeviceOperand};
pub use kern_runtime::{
    Arg, ArrayMut, ArrayRef, Casting, DType, Dim3, Element, Error, Gufunc, Initial, Kernel,
    LoopForm, Module, NdArray, Operand, OutOperand, Reduce, RetainingAllocator, ScalarType,
    ScalarValue, Target, Tier, Timings, Ufunc, TIER_VARIABLE,
};
pub use ndarray;

/// What the attribute macros' expansions call; not a public API.
#[doc(hidden)]
pub mod __private {
    pub use kern_runtime::macro_support::*;
}
