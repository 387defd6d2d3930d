//! The `cuda` target: the GPU behind the CUDA driver (cudarc, loaded at run time),
//! running the PTX kernels of the compiler's NVPTX backend.
//!
//! * [`device`]: opening the GPU once per process; a missing driver library or
//!   device is an error that says so (cudarc would panic: it is probed first).
//! * [`device_array`]: [`DeviceArray`], arrays that live in GPU memory between
//!   calls, and their copies to and from the host.
//! * [`pack`]: strided host operands packed into contiguous buffers on the way
//!   in, results scattered back into strided outputs on the way out.
//! * [`launch`]: loading a loop's PTX and launching its grid-stride kernel — over
//!   device views ([`launch_views`]), or over packed host operands (ufunc loops
//!   and gufunc loops) — with the device trap record turned into the same `Trap`
//!   the CPU targets report.
//! * [`device_launch`]: an elementwise call over n-d operands already on the
//!   device, cut into one-axis launches.
//! * [`fold`]: `reduce` and `accumulate` on the GPU in the CPU targets' orders.
//! * [`spmd`]: `#[kernel]` launches: the kernel's own PTX entry, one GPU thread
//!   per kernel thread.
//! * [`reduce`]: buffers that stay on the device between launches, and launches
//!   over regions of them — the levels of `reduce` and the lanes of `accumulate`
//!   keep their partials on the GPU.
//!
//! Every driver call's failure becomes an [`Error`](crate::Error) naming the call.
//! This module knows device memory and launches; dtype resolution and broadcasting
//! are the ufunc's, and code generation the compiler's.

pub mod device;
pub mod device_array;
pub mod device_launch;
pub mod fold;
pub mod launch;
pub mod pack;
pub mod reduce;
pub mod spmd;

pub use device::{gpu, Gpu};
pub use device_array::{to_device, DeviceArray};
pub use device_launch::{launch_elementwise_on_device, DeviceStrided};
pub use launch::{launch_elementwise, launch_gufunc, launch_views, DeviceView, GpuLoop, TrapSlot};
