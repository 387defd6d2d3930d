//! `reduce` and `accumulate` on the `cuda` target, in the CPU targets' fixed
//! orders, so the GPU gives the bits `cpu` gives (docs/ufuncs.md):
//!
//! * **Blocked reduction** of the axis that streams through memory: the operand
//!   is packed as `lanes × n` and copied in once; each level is one launch of the
//!   batched block loop (the compiler's `loops::reduce_batch`, one thread per block
//!   of a lane) writing `lanes × blocks` partials that stay on the device and are
//!   the next level's operand, until one block per lane is left — then only the
//!   lane results are copied out. The levels are those of `exec::fold`.
//! * **In-order folds** (`accumulate`, `reduce` of a non-reorderable ufunc or
//!   along any other axis): one launch of
//!   the batched scan loop, one thread per lane, each thread the sequential left
//!   fold of the CPU targets — slow when there are few lanes (see docs/cuda.md).
//!
//! `initial`, `keepdims` and the accumulator dtype are handled around these
//! cores by the ufunc's `methods.rs`, the same on every target, which hands
//! the loops over as a [`FoldLoops`]. This module knows the order of the levels
//! and which kernel runs each; device memory and launches are the rest of
//! `exec::cuda`'s.

use super::gpu;
use super::pack::{pack, unpack};
use super::reduce::{launch_regions, DeviceBuffer, Region};
use crate::array::{ArrayRef, DType, NdArray};
use crate::exec::fold::{AxisFold, FoldLoops, BLOCK};
use crate::exec::StridedOperand;
use crate::Error;

/// `source` as a strided operand with `axis` moved last (the other axes keep
/// their order), and the shape in that order. Packed in C order, its
/// lanes (positions of the other axes) come row-major, as on the CPU targets.
fn axis_moved(source: &ArrayRef<'_>, axis: usize) -> (StridedOperand, Vec<usize>) {
    let mut shape = source.shape().to_vec();
    let mut strides = source.strides().to_vec();
    let (n, stride) = (shape.remove(axis), strides.remove(axis));
    shape.push(n);
    strides.push(stride);
    let operand = StridedOperand {
        base: source.base_ptr() as *mut u8,
        elem_size: source.dtype().size_bytes(),
        strides,
    };
    (operand, shape)
}

/// The elements of `operand` over `shape` in C order, one per index (an
/// operand that does not vary is repeated, so every layout below is dense).
///
/// # Safety
/// `operand` must address live elements at every index of `shape`.
unsafe fn pack_dense(operand: &StridedOperand, shape: &[usize]) -> Vec<u8> {
    // SAFETY: the caller's promise.
    let packed = unsafe { pack(operand, shape) };
    if packed.stride == 0 {
        packed.bytes.repeat(shape.iter().product())
    } else {
        packed.bytes
    }
}

/// A new C-ordered array of `dtype` and `shape` holding `bytes`.
fn array_from_bytes(dtype: DType, shape: &[usize], bytes: &[u8]) -> Result<NdArray, Error> {
    let mut array = NdArray::zeros(dtype, shape)?;
    if bytes.len() != array.len() * dtype.size_bytes() {
        return Err(Error::Backend("a device result of the wrong size".into()));
    }
    let base = array.view_mut().base_ptr();
    // SAFETY: a fresh array is dense in C order and holds exactly `bytes.len()`
    // bytes (checked above).
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), base, bytes.len()) };
    Ok(array)
}

/// A reduction's operand on the device, or its (empty) result when there are
/// no lanes.
enum Uploaded {
    /// The shape with `axis` moved, and the elements packed in that order.
    Lanes(Vec<usize>, DeviceBuffer),
    NoLanes(NdArray),
}

/// `source` with `axis` moved last, packed and copied to the device; when
/// the other axes hold no lane, the empty `acc` result instead.
fn upload_moved(
    gpu: &super::Gpu,
    source: &ArrayRef<'_>,
    axis: usize,
    acc: DType,
) -> Result<Uploaded, Error> {
    let (operand, shape) = axis_moved(source, axis);
    let mut lane_shape = shape.clone();
    lane_shape.pop();
    if lane_shape.iter().product::<usize>() == 0 {
        return Ok(Uploaded::NoLanes(NdArray::zeros(acc, &lane_shape)?));
    }
    // SAFETY: `operand` is the live view `source` with its axes reordered.
    let bytes = unsafe { pack_dense(&operand, &shape) };
    let buffer = DeviceBuffer::upload(gpu, &bytes, operand.elem_size)?;
    Ok(Uploaded::Lanes(shape, buffer))
}

/// Reduces `axis` of `source` (length at least 1, the axis that streams
/// through memory) into a new array of `acc` on the GPU, every level's
/// partials kept on the device.
pub fn reduce(
    loops: &dyn FoldLoops,
    source: &ArrayRef<'_>,
    axis: usize,
    acc: DType,
) -> Result<NdArray, Error> {
    let gpu = gpu()?;
    match upload_moved(gpu, source, axis, acc)? {
        Uploaded::Lanes(shape, buffer) => {
            blocked_levels(loops, gpu, &shape, buffer, source.dtype(), acc)
        }
        Uploaded::NoLanes(empty) => Ok(empty),
    }
}

/// The blocked levels over `current`, `lanes × n` elements of `elem` (`shape`
/// with the axis last).
fn blocked_levels(
    loops: &dyn FoldLoops,
    gpu: &super::Gpu,
    shape: &[usize],
    mut current: DeviceBuffer,
    elem: DType,
    acc: DType,
) -> Result<NdArray, Error> {
    let (out_shape, n) = (&shape[..shape.len() - 1], shape[shape.len() - 1]);
    let lanes: usize = out_shape.iter().product();
    let (mut elem, mut len) = (elem, n);
    loop {
        let blocks = len.div_ceil(BLOCK);
        let lp = loops.reduce(elem, acc)?.gpu()?;
        let partials = DeviceBuffer::zeroed(gpu, lanes * blocks, acc.size_bytes())?;
        let regions = [
            Region {
                buffer: &current,
                offset: 0,
                shape: vec![lanes as i64, len as i64],
                strides: vec![len as i64, 1],
            },
            Region {
                buffer: &partials,
                offset: 0,
                shape: vec![lanes as i64, blocks as i64],
                strides: vec![blocks as i64, 1],
            },
        ];
        launch_regions(gpu, &lp, lanes * blocks, &regions)?.map_err(|trap| loops.trapped(trap))?;
        if blocks == 1 {
            return array_from_bytes(acc, out_shape, &partials.download(gpu)?);
        }
        // The partials, `lanes × blocks` in C order, are the next level's
        // operand, as on the CPU targets.
        current = partials;
        (elem, len) = (acc, blocks);
    }
}

/// `exec::fold`'s lane-by-lane fold on the GPU: one thread per lane.
pub fn scan_axis(fold: &AxisFold<'_, '_>, out: &mut NdArray) -> Result<(), Error> {
    let (loops, source, axis, skip) = fold.parts();
    let gpu = gpu()?;
    let acc = out.dtype();
    let acc_size = acc.size_bytes();
    let (x_operand, x_shape) = axis_moved(source, axis);
    let lane_shape = x_shape[..x_shape.len() - 1].to_vec();
    let total = x_shape[x_shape.len() - 1];
    let n = total - skip;
    let lanes: usize = lane_shape.iter().product();
    if n == 0 || lanes == 0 {
        return Ok(());
    }
    let lp = loops.scan(source.dtype(), acc)?.gpu()?;
    // SAFETY: `x_operand` is the live view `source` with its axes reordered.
    let x_bytes = unsafe { pack_dense(&x_operand, &x_shape) };
    let x = DeviceBuffer::upload(gpu, &x_bytes, x_operand.elem_size)?;
    let x_region = Region {
        buffer: &x,
        offset: skip,
        shape: vec![lanes as i64, n as i64],
        strides: vec![total as i64, 1],
    };
    let keeps_steps = out.ndim() == source.shape().len();
    let mut out_view = out.view_mut();
    let out_strides = out_view.strides().to_vec();
    let out_base = out_view.base_ptr();
    let trapped = |trap| loops.trapped(trap);
    if keeps_steps {
        // accumulate: the seeds are element `skip - 1` of every lane, the
        // steps go to `skip..`.
        let mut lane_strides = out_strides.clone();
        let axis_stride = lane_strides.remove(axis);
        let at = |k: usize| out_base.wrapping_offset(k as isize * axis_stride * acc_size as isize);
        let seed_operand = StridedOperand {
            base: at(skip - 1),
            elem_size: acc_size,
            strides: lane_strides.clone(),
        };
        // SAFETY: `out` has `source`'s shape, so every lane has element `skip - 1`.
        let seed_bytes = unsafe { pack_dense(&seed_operand, &lane_shape) };
        let seeds = DeviceBuffer::upload(gpu, &seed_bytes, acc_size)?;
        let steps = DeviceBuffer::zeroed(gpu, lanes * n, acc_size)?;
        let steps_region = Region {
            buffer: &steps,
            offset: 0,
            shape: vec![lanes as i64, n as i64],
            strides: vec![n as i64, 1],
        };
        launch_scan(gpu, &lp, &seeds, x_region, steps_region)?.map_err(trapped)?;
        let bytes = steps.download(gpu)?;
        let mut strides = lane_strides;
        strides.push(axis_stride);
        let target = StridedOperand {
            base: at(skip),
            elem_size: acc_size,
            strides,
        };
        let mut shape = lane_shape;
        shape.push(n);
        // SAFETY: `out` is writable at every step `skip..` of every lane, and
        // `bytes` holds one element per step, lanes in the same order.
        unsafe { unpack(&bytes, &target, &shape) };
    } else {
        // reduce: `out` (without the axis) holds the seeds and receives every
        // step, through a stride-0 axis over the seeds' own buffer.
        let result = StridedOperand {
            base: out_base,
            elem_size: acc_size,
            strides: out_strides,
        };
        // SAFETY: `out` is a live array of `lane_shape`.
        let seed_bytes = unsafe { pack_dense(&result, &lane_shape) };
        let seeds = DeviceBuffer::upload(gpu, &seed_bytes, acc_size)?;
        let onto_seeds = Region {
            buffer: &seeds,
            offset: 0,
            shape: vec![lanes as i64, n as i64],
            strides: vec![1, 0],
        };
        launch_scan(gpu, &lp, &seeds, x_region, onto_seeds)?.map_err(trapped)?;
        let bytes = seeds.download(gpu)?;
        // SAFETY: `out` is writable over `lane_shape`; one element per lane.
        unsafe { unpack(&bytes, &result, &lane_shape) };
    }
    Ok(())
}

/// One launch of the batched scan loop, one thread per lane: each lane's seed
/// from `seeds` (one per lane), its elements from `x` (`lanes × n`), its steps
/// stored through `steps` (`lanes × n`).
fn launch_scan(
    gpu: &super::Gpu,
    lp: &super::GpuLoop,
    seeds: &DeviceBuffer,
    x: Region<'_>,
    steps: Region<'_>,
) -> Result<Result<(), kern_compiler::ir::Trap>, Error> {
    let lanes = seeds.len;
    let seeds = Region {
        buffer: seeds,
        offset: 0,
        shape: vec![lanes as i64],
        strides: vec![1],
    };
    launch_regions(gpu, lp, lanes, &[seeds, x, steps])
}
