//! Opening the GPU: once per process, on first use of the `cuda` target.
//!
//! The CUDA driver library is loaded at run time, so a kern built with the `cuda`
//! feature still runs everywhere; where the library or a device is missing, the
//! `cuda` target is unavailable with a message naming what is missing. cudarc
//! panics when the library is absent, so its presence is probed before any call.

use std::sync::{Arc, OnceLock};

use cudarc::driver::{CudaContext, CudaStream, DriverError};

use crate::Error;

/// The process's GPU: device 0's primary context and its default stream.
pub struct Gpu {
    pub context: Arc<CudaContext>,
    pub stream: Arc<CudaStream>,
    /// The device's name, as the driver reports it.
    pub name: String,
}

static GPU: OnceLock<Result<Gpu, String>> = OnceLock::new();

/// The GPU, opened on first use; an error (the same every time) when this machine
/// has no usable CUDA driver or device.
pub fn gpu() -> Result<&'static Gpu, Error> {
    GPU.get_or_init(open)
        .as_ref()
        .map_err(|reason| Error::TargetUnavailable(reason.clone()))
}

/// A failed driver call as the message kern reports.
pub fn driver_error(call: &str, e: DriverError) -> String {
    format!("CUDA driver call `{call}` failed: {e}")
}

fn open() -> Result<Gpu, String> {
    // SAFETY: only asks the dynamic loader whether the driver library exists.
    if !unsafe { cudarc::driver::sys::is_culib_present() } {
        return Err(
            "the `cuda` target needs the NVIDIA driver library (libcuda.so), which was not \
             found on this machine: install the NVIDIA driver"
                .into(),
        );
    }
    let count = CudaContext::device_count().map_err(|e| driver_error("cuDeviceGetCount", e))?;
    if count < 1 {
        return Err("the `cuda` target found the NVIDIA driver but no CUDA device".into());
    }
    let context =
        CudaContext::new(0).map_err(|e| driver_error("cuDevicePrimaryCtxRetain(device 0)", e))?;
    let name = context
        .name()
        .map_err(|e| driver_error("cuDeviceGetName", e))?;
    let stream = context.default_stream();
    Ok(Gpu {
        context,
        stream,
        name,
    })
}
