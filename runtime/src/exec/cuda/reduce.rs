//! Device-resident launches for reductions and scans: buffers that stay in
//! device memory from one launch to the next, and kernels launched over regions
//! of them — so the levels of a reduction pass their partials on the device and
//! only the operand (once, packed) and the final results cross the bus.
//!
//! A [`DeviceBuffer`] is one device allocation; a [`Region`] an element offset
//! into one with the descriptor (extents and strides in elements) a kernel
//! parameter gets. [`launch_regions`] launches any loop kernel of the compiler's
//! ABI — elementwise loops (1-D regions and the count) and reduction batches
//! (flattened descriptors) — and reads back its trap record.
//!
//! It knows device memory and the kernel ABI; which kernels run over which
//! regions, and in what order, is `fold.rs`'s.

use cudarc::driver::CudaSlice;
use kern_compiler::ir::Trap;

use super::device::Gpu;
use super::launch::{address_of, failed, launch_views, DeviceView, GpuLoop, TrapSlot};
use crate::Error;

/// One device allocation of `len` elements of `elem_size` bytes.
pub struct DeviceBuffer {
    bytes: CudaSlice<u8>,
    pub elem_size: usize,
    pub len: usize,
}

impl DeviceBuffer {
    /// A buffer holding a copy of `bytes` (whole elements of `elem_size`).
    pub fn upload(gpu: &Gpu, bytes: &[u8], elem_size: usize) -> Result<DeviceBuffer, Error> {
        let len = bytes.len() / elem_size;
        // A zero-byte allocation is an error for the driver; one spare element
        // costs nothing and keeps empty operands valid.
        let bytes = if bytes.is_empty() {
            gpu.stream.alloc_zeros::<u8>(elem_size)
        } else {
            gpu.stream.clone_htod(bytes)
        }
        .map_err(failed("cuMemcpyHtoD"))?;
        Ok(DeviceBuffer {
            bytes,
            elem_size,
            len,
        })
    }

    /// A zeroed buffer of `len` elements.
    pub fn zeroed(gpu: &Gpu, len: usize, elem_size: usize) -> Result<DeviceBuffer, Error> {
        let bytes = gpu
            .stream
            .alloc_zeros::<u8>(len.max(1) * elem_size)
            .map_err(failed("cuMemAlloc"))?;
        Ok(DeviceBuffer {
            bytes,
            elem_size,
            len,
        })
    }

    /// The buffer's elements, copied to the host.
    pub fn download(&self, gpu: &Gpu) -> Result<Vec<u8>, Error> {
        let mut bytes = gpu
            .stream
            .clone_dtoh(&self.bytes)
            .map_err(failed("cuMemcpyDtoH"))?;
        bytes.truncate(self.len * self.elem_size);
        Ok(bytes)
    }
}

/// What one kernel operand addresses: elements of `buffer` from element
/// `offset`, with the operand's extents and strides (in elements).
pub struct Region<'a> {
    pub buffer: &'a DeviceBuffer,
    pub offset: usize,
    pub shape: Vec<i64>,
    pub strides: Vec<i64>,
}

impl Region<'_> {
    /// One past the furthest element offset the descriptor reaches from `offset`
    /// (strides are never negative here), or 0 when it addresses nothing.
    fn reach(&self) -> usize {
        if self.shape.iter().any(|&n| n <= 0) {
            return 0;
        }
        let last: i64 = self
            .shape
            .iter()
            .zip(&self.strides)
            .map(|(&n, &s)| (n - 1) * s)
            .sum();
        self.offset + last as usize + 1
    }
}

/// Launches `lp` over `iterations` loop iterations (the elementwise count, or
/// the batch's runs) with `regions` as the loop's array operands in parameter
/// order; `Ok(Err(trap))` when a thread trapped. Waits for the kernel (reading
/// the trap record), so the regions' buffers may be reused afterwards.
///
/// Every region is checked to lie inside its buffer and to have non-negative
/// strides, so a wrong descriptor is an error here rather than a stray access.
pub fn launch_regions(
    gpu: &Gpu,
    lp: &GpuLoop,
    iterations: usize,
    regions: &[Region<'_>],
) -> Result<Result<(), Trap>, Error> {
    for r in regions {
        if r.strides.iter().any(|&s| s < 0) || r.reach() > r.buffer.len {
            return Err(Error::Backend(
                "a kernel operand reaches outside its device buffer".into(),
            ));
        }
    }
    let views: Vec<DeviceView> = regions
        .iter()
        .map(|r| DeviceView {
            address: address_of(gpu, &r.buffer.bytes) + (r.offset * r.buffer.elem_size) as u64,
            extents: r.shape.clone(),
            strides: r.strides.clone(),
        })
        .collect();
    let trap = TrapSlot::new(gpu)?;
    if iterations > 0 {
        // SAFETY: every region lies inside its live buffer (checked above), and
        // the regions come in the kernel's operand order (the caller's promise).
        unsafe { launch_views(gpu, lp, iterations, &views, &trap) }?;
    }
    trap.read(gpu, lp)
}
