//! Launching compiled loop kernels on the GPU (see the kernel ABI in the
//! compiler's `backend::llvm::nvptx`): a loop's PTX is loaded once into the device
//! context ([`GpuLoop::load`]). [`launch_views`] is the one launch entry: it takes
//! operands already in device memory ([`DeviceView`]: address, extents, strides)
//! and a [`TrapSlot`] that any number of launches of one call share. Host
//! operands go through it too: a call packs them, copies them in, launches the
//! grid-stride kernel over the `n` loop iterations, reads the trap record, and
//! copies the outputs back out through their strides.
//!
//! [`launch_elementwise`] runs a ufunc loop (one element per iteration);
//! [`launch_gufunc`] a gufunc loop (one call of the body per iteration, every
//! operand a descriptor whose axis 0 is the loop axis).

use std::sync::Arc;

use cudarc::driver::{CudaFunction, CudaModule, CudaSlice, DevicePtr, LaunchConfig, PushKernelArg};
use cudarc::nvrtc::Ptx;
use kern_compiler::backend::llvm::nvptx::{KernelParam, PtxKernel, PtxModule, TrapRecord};
use kern_compiler::ir::{FuncId, Trap};

use super::device::{driver_error, Gpu};
use super::pack::{pack, unpack, Packed};
use crate::exec::gufunc::CoreLayout;
use crate::exec::StridedOperand;
use crate::Error;

/// Threads per block of loop kernels: a multiple of the warp size that keeps
/// occupancy high for register-heavy math bodies.
const BLOCK_THREADS: u32 = 256;
/// Most blocks a loop launch uses; the kernels are grid-stride, so larger calls
/// loop instead of launching more blocks than the GPU can hold at once.
const MAX_BLOCKS: u32 = 8192;

/// A compiled loop kernel, loaded into the GPU's context.
pub struct GpuLoop {
    pub ptx: PtxModule,
    pub kernel: PtxKernel,
    function: CudaFunction,
    _module: Arc<CudaModule>,
}

impl GpuLoop {
    /// Loads the kernel of `function` from `ptx`.
    pub fn load(gpu: &Gpu, ptx: PtxModule, function: FuncId) -> Result<GpuLoop, Error> {
        let kernel = ptx
            .kernel(function)
            .cloned()
            .ok_or_else(|| Error::Backend("the PTX module lacks the loop's kernel".into()))?;
        let module = gpu
            .context
            .load_module(Ptx::from_src(ptx.ptx.clone()))
            .map_err(|e| Error::Backend(driver_error("cuModuleLoadData", e)))?;
        let function = module
            .load_function(&kernel.name)
            .map_err(|e| Error::Backend(driver_error("cuModuleGetFunction", e)))?;
        Ok(GpuLoop {
            ptx,
            kernel,
            function,
            _module: module,
        })
    }

    /// The loaded kernel, for launches that build their own arguments
    /// (`reduce.rs`, `#[kernel]` launches).
    pub(crate) fn function(&self) -> &CudaFunction {
        &self.function
    }
}

/// The launch shape for `n` loop iterations.
pub(super) fn launch_config(n: usize) -> LaunchConfig {
    let blocks = n
        .div_ceil(BLOCK_THREADS as usize)
        .clamp(1, MAX_BLOCKS as usize) as u32;
    LaunchConfig {
        grid_dim: (blocks, 1, 1),
        block_dim: (BLOCK_THREADS, 1, 1),
        shared_mem_bytes: 0,
    }
}

/// The trap record read back from the device (its documented layout).
pub(crate) fn decode_record(bytes: &[u8]) -> TrapRecord {
    // `N` bytes at offset `o`, zeros where the record is short.
    fn at<const N: usize>(bytes: &[u8], o: usize) -> [u8; N] {
        bytes
            .get(o..o + N)
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; N])
    }
    TrapRecord {
        code: u32::from_le_bytes(at(bytes, 0)),
        site: u32::from_le_bytes(at(bytes, 4)),
        payload: [
            i64::from_le_bytes(at(bytes, 8)),
            i64::from_le_bytes(at(bytes, 16)),
        ],
    }
}

pub(crate) fn failed(call: &'static str) -> impl Fn(cudarc::driver::DriverError) -> Error {
    move |e| Error::Backend(driver_error(call, e))
}

/// One operand in device memory: its buffer and its descriptor (extents and
/// strides in elements, axis 0 the loop axis).
struct DeviceOperand {
    buffer: CudaSlice<u8>,
    shape: Vec<i64>,
    strides: Vec<i64>,
}

fn to_device(
    gpu: &Gpu,
    packed: &Packed,
    shape: Vec<i64>,
    strides: Vec<i64>,
) -> Result<DeviceOperand, Error> {
    let buffer = gpu
        .stream
        .clone_htod(&packed.bytes)
        .map_err(failed("cuMemcpyHtoD"))?;
    Ok(DeviceOperand {
        buffer,
        shape,
        strides,
    })
}

/// One operand of a launch, already in device memory: its address and its
/// descriptor (extents and strides in elements, axis 0 the loop axis). Host
/// operands become views after they are copied in; a [`DeviceArray`]
/// (`super::DeviceArray`) is one without a copy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceView {
    /// The device address of the element at index zero on every axis.
    pub address: u64,
    pub extents: Vec<i64>,
    pub strides: Vec<i64>,
}

/// The device trap record of one call, zeroed before its first launch. Every
/// launch of the call shares it, so the first trap of any launch wins, as within
/// one launch.
pub struct TrapSlot {
    record: CudaSlice<u8>,
}

impl TrapSlot {
    pub fn new(gpu: &Gpu) -> Result<TrapSlot, Error> {
        let record = gpu
            .stream
            .alloc_zeros::<u8>(TrapRecord::SIZE as usize)
            .map_err(failed("cuMemAlloc"))?;
        Ok(TrapSlot { record })
    }

    /// Waits for the launches before it and decodes the record against `lp`'s
    /// trap sites: `Err(trap)` when a thread trapped.
    pub fn read(&self, gpu: &Gpu, lp: &GpuLoop) -> Result<Result<(), Trap>, Error> {
        let record = gpu
            .stream
            .clone_dtoh(&self.record)
            .map_err(failed("cuMemcpyDtoH"))?;
        Ok(match lp.ptx.decode_trap(&decode_record(&record)) {
            Some(t) => Err(t),
            None => Ok(()),
        })
    }
}

/// The device address of `buffer`'s first byte.
pub(crate) fn address_of(gpu: &Gpu, buffer: &CudaSlice<u8>) -> u64 {
    // Every kern buffer lives on the one stream of `gpu`, whose work runs in
    // order, so the event the guard records is not needed to order anything.
    let (address, _in_order) = buffer.device_ptr(&gpu.stream);
    address
}

/// Enqueues one launch of `lp` over `n` iterations with `views` in the loop's
/// parameter order, the trap going to `trap`; read the slot for the outcome.
///
/// # Safety
/// The views must match the kernel's parameters: each addresses live device
/// memory of the parameter's element type at every index of its descriptor
/// (writable for outputs), for as long as the launch runs.
pub unsafe fn launch_views(
    gpu: &Gpu,
    lp: &GpuLoop,
    n: usize,
    views: &[DeviceView],
    trap: &TrapSlot,
) -> Result<(), Error> {
    let count = n as i64;
    let mut names: Vec<&str> = Vec::new();
    let operand_of = |names: &[&str], name: &str| -> Result<usize, Error> {
        names.iter().position(|n| *n == name).ok_or_else(|| {
            Error::Backend(format!("a kernel parameter of unknown operand `{name}`"))
        })
    };
    let mut launch = gpu.stream.launch_builder(&lp.function);
    for param in &lp.kernel.params {
        match param {
            KernelParam::TrapRecord => {
                launch.arg(&trap.record);
            }
            KernelParam::Pointer { operand, .. } => {
                let Some(v) = views.get(names.len()) else {
                    return Err(Error::Backend(
                        "the loop kernel has more operands than the call".into(),
                    ));
                };
                // A pointer parameter is the 64-bit address, passed by value.
                launch.arg(&v.address);
                names.push(operand);
            }
            KernelParam::Extent { operand, axis } => {
                let v = &views[operand_of(&names, operand)?];
                let Some(extent) = v.extents.get(*axis as usize) else {
                    return Err(Error::Backend(format!("no axis {axis} of `{operand}`")));
                };
                launch.arg(extent);
            }
            KernelParam::Stride { operand, axis } => {
                let v = &views[operand_of(&names, operand)?];
                let Some(stride) = v.strides.get(*axis as usize) else {
                    return Err(Error::Backend(format!("no axis {axis} of `{operand}`")));
                };
                launch.arg(stride);
            }
            KernelParam::Count => {
                launch.arg(&count);
            }
            other => {
                return Err(Error::Backend(format!(
                    "unexpected parameter {other:?} of a loop kernel"
                )))
            }
        }
    }
    if names.len() != views.len() {
        return Err(Error::Backend(
            "the loop kernel has fewer operands than the call".into(),
        ));
    }
    // SAFETY: the arguments follow the kernel's parameter list, and every view
    // covers its descriptor (the caller's promise).
    unsafe { launch.launch(launch_config(n)) }.map_err(failed("cuLaunchKernel"))?;
    Ok(())
}

/// Launches `lp` over `n` iterations with `operands` in the loop's parameter
/// order; `Ok(Err(trap))` when a thread trapped.
///
/// # Safety
/// The operands must match the kernel's parameters: each buffer holds every
/// element its descriptor addresses, of the parameter's element type.
unsafe fn launch(
    gpu: &Gpu,
    lp: &GpuLoop,
    n: usize,
    operands: &[DeviceOperand],
) -> Result<Result<(), Trap>, Error> {
    let trap = TrapSlot::new(gpu)?;
    let views: Vec<DeviceView> = operands
        .iter()
        .map(|o| DeviceView {
            address: address_of(gpu, &o.buffer),
            extents: o.shape.clone(),
            strides: o.strides.clone(),
        })
        .collect();
    // SAFETY: the buffers outlive the call, which waits for the launch when it
    // reads the trap record; they cover their descriptors (caller's promise).
    unsafe { launch_views(gpu, lp, n, &views, &trap) }?;
    trap.read(gpu, lp)
}

/// Copies `from`'s buffer back into the strided host operand over `shape`.
///
/// # Safety
/// `to` must address writable elements at every index of `shape`, whose count
/// the buffer holds.
unsafe fn from_device(
    gpu: &Gpu,
    from: &DeviceOperand,
    to: &StridedOperand,
    shape: &[usize],
) -> Result<(), Error> {
    let bytes = gpu
        .stream
        .clone_dtoh(&from.buffer)
        .map_err(failed("cuMemcpyDtoH"))?;
    // SAFETY: the caller's promise.
    unsafe { unpack(&bytes, to, shape) };
    Ok(())
}

/// Runs the elementwise loop `lp` over `shape`: `operands` are the loop's inputs
/// then its output, with strides over `shape` (broadcasting applied). On a trap
/// the output is left as it was.
///
/// # Safety
/// Every operand must address live elements at every index of `shape`, the
/// output writable ones.
pub unsafe fn launch_elementwise(
    gpu: &Gpu,
    lp: &GpuLoop,
    shape: &[usize],
    operands: &[StridedOperand],
) -> Result<Result<(), Trap>, Error> {
    let n: usize = shape.iter().product();
    let Some((output, inputs)) = operands.split_last() else {
        return Err(Error::Backend("a loop without an output".into()));
    };
    if n == 0 {
        return Ok(Ok(()));
    }
    let mut device = Vec::with_capacity(operands.len());
    for input in inputs {
        // SAFETY: inputs are live over `shape` (caller's promise).
        let packed = unsafe { pack(input, shape) };
        let stride = packed.stride;
        device.push(to_device(gpu, &packed, vec![n as i64], vec![stride])?);
    }
    let buffer = gpu
        .stream
        .alloc_zeros::<u8>(n * output.elem_size)
        .map_err(failed("cuMemAlloc"))?;
    device.push(DeviceOperand {
        buffer,
        shape: vec![n as i64],
        strides: vec![1],
    });
    // SAFETY: every buffer holds `n` elements (or one, read with stride 0).
    if let Err(trap) = unsafe { launch(gpu, lp, n, &device) }? {
        return Ok(Err(trap));
    }
    // SAFETY: the output is writable over `shape`.
    unsafe { from_device(gpu, &device[device.len() - 1], output, shape) }?;
    Ok(Ok(()))
}

/// Runs the gufunc loop `lp` over `loop_shape`: `operands` (inputs, then the
/// `nout` outputs) have loop strides over `loop_shape` and `cores` their core
/// extents and strides. Outputs are copied in too (a body may read them) and
/// back out after the launch; on a trap they are left as they were.
///
/// # Safety
/// Every operand must address live elements at every loop and core index, the
/// outputs writable ones.
pub unsafe fn launch_gufunc(
    gpu: &Gpu,
    lp: &GpuLoop,
    loop_shape: &[usize],
    operands: &[StridedOperand],
    cores: &[CoreLayout],
    nout: usize,
) -> Result<Result<(), Trap>, Error> {
    let n: usize = loop_shape.iter().product();
    if n == 0 {
        return Ok(Ok(()));
    }
    // Each operand over its whole shape: loop axes, then core axes.
    let whole: Vec<(Vec<usize>, StridedOperand)> = operands
        .iter()
        .zip(cores)
        .map(|(o, core)| {
            let mut shape = loop_shape.to_vec();
            shape.extend(core.shape.iter().map(|&d| d as usize));
            let mut strides = o.strides.clone();
            strides.extend(core.strides.iter().map(|&s| s as isize));
            (
                shape,
                StridedOperand {
                    base: o.base,
                    elem_size: o.elem_size,
                    strides,
                },
            )
        })
        .collect();
    let loop_ndim = loop_shape.len();
    let mut device = Vec::with_capacity(whole.len());
    for (k, (shape, o)) in whole.iter().enumerate() {
        let core = &shape[loop_ndim..];
        // An input the same for every loop index (a broadcast matrix) is copied
        // once and read with loop stride 0.
        let invariant = k < whole.len() - nout && o.strides[..loop_ndim].iter().all(|&s| s == 0);
        let packed_shape = if invariant { core } else { &shape[..] };
        let packed_operand = StridedOperand {
            base: o.base,
            elem_size: o.elem_size,
            strides: o.strides[if invariant { loop_ndim } else { 0 }..].to_vec(),
        };
        // SAFETY: live over the whole shape (caller's promise).
        let packed = unsafe { pack(&packed_operand, packed_shape) };
        let mut extents = vec![n as i64];
        extents.extend(core.iter().map(|&d| d as i64));
        // Packed C order over [n, core..] (or over the core alone); an operand
        // that does not vary at all is one element read with every stride 0.
        let mut strides = vec![0i64; extents.len()];
        if packed.stride != 0 {
            let mut step = 1i64;
            for k in (0..extents.len()).rev() {
                strides[k] = step;
                step *= extents[k].max(1);
            }
            if invariant {
                strides[0] = 0;
            }
        }
        device.push(to_device(gpu, &packed, extents, strides)?);
    }
    // SAFETY: every buffer covers its descriptor.
    if let Err(trap) = unsafe { launch(gpu, lp, n, &device) }? {
        return Ok(Err(trap));
    }
    let first_output = whole.len() - nout;
    for k in first_output..whole.len() {
        let (shape, o) = &whole[k];
        if device[k].strides.iter().all(|&s| s == 0) && shape.iter().product::<usize>() > 1 {
            return Err(Error::Backend("a gufunc output that does not vary".into()));
        }
        // SAFETY: outputs are writable over their whole shape.
        unsafe { from_device(gpu, &device[k], o, shape) }?;
    }
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn launches_cover_any_size_with_a_bounded_grid() {
        assert_eq!(launch_config(1).grid_dim, (1, 1, 1));
        assert_eq!(launch_config(256).grid_dim, (1, 1, 1));
        assert_eq!(launch_config(257).grid_dim, (2, 1, 1));
        assert_eq!(launch_config(1 << 30).grid_dim, (MAX_BLOCKS, 1, 1));
    }

    #[test]
    fn the_trap_record_is_decoded_from_its_documented_layout() {
        let mut bytes = vec![0u8; 24];
        bytes[0..4].copy_from_slice(&3u32.to_le_bytes());
        bytes[4..8].copy_from_slice(&7u32.to_le_bytes());
        bytes[8..16].copy_from_slice(&(-2i64).to_le_bytes());
        bytes[16..24].copy_from_slice(&10i64.to_le_bytes());
        let r = decode_record(&bytes);
        assert_eq!((r.code, r.site, r.payload), (3, 7, [-2, 10]));
    }
}
