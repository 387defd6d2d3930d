//! `#[kernel]` launches on the `cuda` target: the kernel's PTX SPMD entry (the
//! compiler's `backend::llvm::nvptx`, kind `KernelKind::Spmd`, compiled and loaded
//! once by the compile service), then, per launch, every array argument copied
//! to the device (packed in C order; `&mut` arrays copied back afterwards), the
//! entry launched with the caller's grid and block, and the device trap record
//! decoded into the same `Trap`, at the same source location, the CPU targets
//! report.
//!
//! A launch that traps leaves the `&mut` arrays as they were (nothing is copied
//! back), as a trapping ufunc call on the GPU does. Every driver failure is an
//! error naming the driver call. This module knows device memory and the kernel
//! ABI; the launch shape checks common to every target are the caller's.

use cudarc::driver::{CudaSlice, LaunchConfig, PushKernelArg};
use kern_compiler::backend::llvm::nvptx::{KernelParam, TrapRecord};
use kern_compiler::interp::HostArg;
use kern_compiler::ir::{Function, Trap, Type};

use super::launch::{decode_record, failed, GpuLoop};
use super::pack::{pack, unpack};
use super::{gpu, Gpu};
use crate::exec::dim::Dim3;
use crate::exec::StridedOperand;
use crate::Error;

/// CUDA's limits on a launch's extents per axis (every GPU since compute
/// capability 3.0): grid `x`, `y`, `z`, then block `x`, `y`, `z`.
const MAX_GRID: [usize; 3] = [(1 << 31) - 1, 65535, 65535];
const MAX_BLOCK: [usize; 3] = [1024, 1024, 64];

/// The extents a GPU launch may not exceed, beyond the checks of every target.
pub(crate) fn check_gpu_extents(grid: Dim3, block: Dim3) -> Result<(), Error> {
    for (what, d, max) in [("grid", grid, MAX_GRID), ("block", block, MAX_BLOCK)] {
        let extents = [d.x, d.y, d.z];
        if let Some(axis) = (0..3).find(|&k| extents[k] > max[k]) {
            return Err(Error::Call(format!(
                "a CUDA {what} has at most {} along {}, the {what} is {d}",
                max[axis],
                ["x", "y", "z"][axis]
            )));
        }
    }
    Ok(())
}

/// An array argument on the device: its packed elements and the descriptor the
/// kernel reads them through.
struct DeviceArray {
    buffer: CudaSlice<u8>,
    shape: Vec<i64>,
    strides: Vec<i64>,
    /// Where the elements go back to after the launch, for a `&mut` parameter.
    copy_back: Option<(StridedOperand, Vec<usize>)>,
}

/// A kernel argument as the launch passes it.
enum DeviceArg {
    Array(DeviceArray),
    /// A scalar's bits at the width of its parameter (`bool` a byte): the driver
    /// copies the parameter's size from the value, whatever its Rust type.
    Bits8(u8),
    Bits16(u16),
    Bits32(u32),
    Bits64(u64),
}

/// Copies the array `desc` (rank `rank`, elements of `elem_size` bytes) to the
/// device, packed in C order.
///
/// # Safety
/// `desc` must address live elements at every index of its shape.
unsafe fn array_to_device(
    gpu: &Gpu,
    desc: &kern_compiler::ir::ArrayDesc,
    rank: usize,
    elem_size: usize,
    mutable: bool,
) -> Result<DeviceArray, Error> {
    let shape: Vec<usize> = desc.shape[..rank]
        .iter()
        .map(|&n| usize::try_from(n).unwrap_or(0))
        .collect();
    let operand = StridedOperand {
        base: desc.data,
        elem_size,
        strides: desc.strides[..rank].iter().map(|&s| s as isize).collect(),
    };
    let count: usize = shape.iter().product();
    let extents: Vec<i64> = shape.iter().map(|&n| n as i64).collect();
    let (buffer, strides) = if count == 0 {
        // The driver cannot allocate 0 bytes; the kernel's bounds checks never
        // let it read this element.
        let buffer = gpu
            .stream
            .alloc_zeros::<u8>(elem_size)
            .map_err(failed("cuMemAlloc"))?;
        (buffer, vec![0; rank])
    } else {
        // SAFETY: the caller's promise.
        let packed = unsafe { pack(&operand, &shape) };
        let buffer = gpu
            .stream
            .clone_htod(&packed.bytes)
            .map_err(failed("cuMemcpyHtoD"))?;
        // A view that does not vary (every stride 0) is packed as one element.
        let mut strides = vec![0i64; rank];
        if packed.stride != 0 {
            let mut step = 1i64;
            for k in (0..rank).rev() {
                strides[k] = step;
                step *= extents[k];
            }
        }
        (buffer, strides)
    };
    Ok(DeviceArray {
        buffer,
        shape: extents,
        strides,
        copy_back: (mutable && count > 0).then_some((operand, shape)),
    })
}

/// The device form of every argument, in parameter order.
///
/// # Safety
/// As [`launch`].
unsafe fn arguments_to_device(
    gpu: &Gpu,
    f: &kern_compiler::ir::Function,
    args: &[HostArg],
) -> Result<Vec<DeviceArg>, Error> {
    let params = crate::args::check_arity(f, args.len())?;
    let mut device = Vec::with_capacity(args.len());
    for (param, arg) in params.iter().zip(args) {
        device.push(match (param, arg) {
            (Type::Array(a), HostArg::Array(desc)) => {
                // SAFETY: forwarded from the caller.
                DeviceArg::Array(unsafe {
                    array_to_device(gpu, desc, a.rank as usize, a.elem.size_bytes(), a.mutable)
                }?)
            }
            (Type::Scalar(t), HostArg::Scalar(v)) if v.ty() == *t => {
                let bits = v.to_bits();
                match t.size_bytes() {
                    1 => DeviceArg::Bits8(bits as u8),
                    2 => DeviceArg::Bits16(bits as u16),
                    4 => DeviceArg::Bits32(bits as u32),
                    _ => DeviceArg::Bits64(bits),
                }
            }
            _ => {
                return Err(Error::Call(format!(
                    "an argument of `{}` does not match its parameter",
                    f.name
                )))
            }
        });
    }
    Ok(device)
}

/// Extent or stride `axis` of a descriptor.
fn axis_of(values: &[i64], axis: u8) -> Result<&i64, Error> {
    values
        .get(usize::from(axis))
        .ok_or_else(|| Error::Backend(format!("no axis {axis} in a kernel parameter")))
}

/// Launches the kernel `f` (its loaded entry `code`) on the GPU over `grid` ×
/// `block` threads; the launch shape has passed the checks every target makes
/// and [`check_gpu_extents`].
///
/// # Safety
/// Every array in `args` must be valid for the kernel's parameter (element type,
/// rank, shape, strides; writable for `&mut`) for the whole call.
pub(crate) unsafe fn launch(
    code: &GpuLoop,
    f: &Function,
    grid: Dim3,
    block: Dim3,
    args: &[HostArg],
) -> Result<Result<(), Trap>, Error> {
    let gpu = gpu()?;
    // SAFETY: forwarded from the caller.
    let device = unsafe { arguments_to_device(gpu, f, args) }?;
    let trap = gpu
        .stream
        .alloc_zeros::<u8>(TrapRecord::SIZE as usize)
        .map_err(failed("cuMemAlloc"))?;
    let param_index = |name: &str| -> Result<usize, Error> {
        f.params
            .iter()
            .position(|p| p.name == name)
            .ok_or_else(|| Error::Backend(format!("the kernel has no parameter `{name}`")))
    };
    let array = |name: &str| -> Result<&DeviceArray, Error> {
        match &device[param_index(name)?] {
            DeviceArg::Array(a) => Ok(a),
            _ => Err(Error::Backend(format!("`{name}` is not an array argument"))),
        }
    };
    let mut builder = gpu.stream.launch_builder(code.function());
    for param in &code.kernel.params {
        match param {
            KernelParam::TrapRecord => {
                builder.arg(&trap);
            }
            KernelParam::Pointer { operand, .. } => {
                builder.arg(&array(operand)?.buffer);
            }
            KernelParam::Extent { operand, axis } => {
                builder.arg(axis_of(&array(operand)?.shape, *axis)?);
            }
            KernelParam::Stride { operand, axis } => {
                builder.arg(axis_of(&array(operand)?.strides, *axis)?);
            }
            KernelParam::Scalar { name, .. } => match &device[param_index(name)?] {
                DeviceArg::Bits8(v) => {
                    builder.arg(v);
                }
                DeviceArg::Bits16(v) => {
                    builder.arg(v);
                }
                DeviceArg::Bits32(v) => {
                    builder.arg(v);
                }
                DeviceArg::Bits64(v) => {
                    builder.arg(v);
                }
                DeviceArg::Array(_) => {
                    return Err(Error::Backend(format!("`{name}` is not a scalar argument")))
                }
            },
            other => {
                return Err(Error::Backend(format!(
                    "unexpected parameter {other:?} of an SPMD kernel"
                )))
            }
        }
    }
    let dims = |d: Dim3| (d.x as u32, d.y as u32, d.z as u32);
    let config = LaunchConfig {
        grid_dim: dims(grid),
        block_dim: dims(block),
        // Shared arrays are static (`.shared` in the PTX), none is dynamic.
        shared_mem_bytes: 0,
    };
    // SAFETY: the arguments follow the entry's parameter list; every buffer
    // holds the elements its descriptor addresses (packed over its shape).
    unsafe { builder.launch(config) }.map_err(failed("cuLaunchKernel"))?;
    // Faults inside the kernel surface here, named as the wait they end.
    gpu.stream
        .synchronize()
        .map_err(failed("cuStreamSynchronize"))?;
    let record = gpu
        .stream
        .clone_dtoh(&trap)
        .map_err(failed("cuMemcpyDtoH"))?;
    if let Some(trap) = code.ptx.decode_trap(&decode_record(&record)) {
        return Ok(Err(trap));
    }
    for arg in &device {
        let DeviceArg::Array(a) = arg else { continue };
        let Some((operand, shape)) = &a.copy_back else {
            continue;
        };
        let bytes = gpu
            .stream
            .clone_dtoh(&a.buffer)
            .map_err(failed("cuMemcpyDtoH"))?;
        // SAFETY: a `&mut` argument is writable over its shape (the caller's
        // promise), and the buffer holds one element per index (packed).
        unsafe { unpack(&bytes, operand, shape) };
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extents_beyond_what_cuda_launches_are_call_errors() {
        assert!(check_gpu_extents(Dim3::new(1 << 20, 65535, 1), Dim3::new(1024, 1, 1)).is_ok());
        assert!(check_gpu_extents(Dim3::new(1, 1, 1), Dim3::new(1, 1, 64)).is_ok());
        let refused = |grid, block| check_gpu_extents(grid, block).unwrap_err().to_string();
        let too_deep = refused(Dim3::new(1, 1, 1), Dim3::new(1, 1, 65));
        assert!(
            too_deep.contains("a CUDA block has at most 64 along z"),
            "{too_deep}"
        );
        let too_tall = refused(Dim3::new(1, 65536, 1), Dim3::new(1, 1, 1));
        assert!(
            too_tall.contains("a CUDA grid has at most 65535 along y"),
            "{too_tall}"
        );
        assert!(check_gpu_extents(Dim3::new(1 << 31, 1, 1), Dim3::new(1, 1, 1)).is_err());
    }
}
