//! Running an elementwise loop kernel over operands that are already in device
//! memory, with any strides over an n-d shape (device arrays are C-contiguous,
//! but broadcasting gives them zero strides).
//!
//! The elementwise kernel walks one axis (`base + i * stride`), so an n-d call is
//! cut into launches: axes are merged where every operand allows
//! ([`Iteration::coalesce`]), the longest remaining axis becomes the kernel's axis,
//! and there is one launch per index of the others. A call whose operands share
//! their layout (or are scalars) is one launch; broadcasting a row over a matrix is
//! one launch per column or per row, whichever is fewer. All launches of a call
//! share one trap record and are read once, after the last.
//!
//! It knows device addresses and strides, nothing of dtypes or broadcasting rules.

use kern_compiler::ir::Trap;

use super::device::Gpu;
use super::launch::{launch_views, DeviceView, GpuLoop, TrapSlot};
use crate::exec::{Iteration, StridedOperand};
use crate::Error;

/// One operand of a device call: the device address of its element at index zero,
/// its element size, and its strides (elements) over the call's shape.
#[derive(Clone, Debug)]
pub struct DeviceStrided {
    pub address: u64,
    pub elem_size: usize,
    pub strides: Vec<isize>,
}

/// One launch of a cut-up call: its length, and per operand the element offset of
/// its first element and its stride along the launch.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Launch {
    n: usize,
    offsets: Vec<isize>,
    strides: Vec<isize>,
}

/// Cuts `shape` with `strides` (per operand, the last the output) into launches
/// along the longest axis after merging what merges.
fn cut_into_launches(shape: &[usize], strides: &[Vec<isize>]) -> Vec<Launch> {
    let output = strides.len().saturating_sub(1);
    // `Iteration` only reorders and merges strides here; its addresses are never
    // dereferenced, so they stay null.
    let mut iteration = Iteration {
        shape: shape.to_vec(),
        operands: strides
            .iter()
            .map(|s| StridedOperand {
                base: std::ptr::null_mut(),
                elem_size: 1,
                strides: s.clone(),
            })
            .collect(),
    };
    if iteration.is_empty() {
        return Vec::new();
    }
    iteration.order_axes_by(output);
    iteration.coalesce();
    let shape = &iteration.shape;
    let Some(axis) = (0..shape.len()).max_by_key(|&k| (shape[k], std::cmp::Reverse(k))) else {
        // 0-d: one element.
        return vec![Launch {
            n: 1,
            offsets: vec![0; strides.len()],
            strides: vec![0; strides.len()],
        }];
    };
    let others: Vec<usize> = (0..shape.len()).filter(|&k| k != axis).collect();
    let count: usize = others.iter().map(|&k| shape[k]).product();
    let mut launches = Vec::with_capacity(count);
    let mut index = vec![0usize; others.len()];
    for _ in 0..count {
        let offsets = iteration
            .operands
            .iter()
            .map(|o| {
                others
                    .iter()
                    .zip(&index)
                    .map(|(&k, &i)| i as isize * o.strides[k])
                    .sum()
            })
            .collect();
        launches.push(Launch {
            n: shape[axis],
            offsets,
            strides: iteration.operands.iter().map(|o| o.strides[axis]).collect(),
        });
        // Odometer step, last axis first.
        for j in (0..others.len()).rev() {
            index[j] += 1;
            if index[j] < shape[others[j]] {
                break;
            }
            index[j] = 0;
        }
    }
    launches
}

/// Runs the elementwise loop `lp` over `shape` with `operands` (inputs, then the
/// output) in device memory; `Ok(Err(trap))` when a thread trapped, in which case
/// elements of the output may have been written (as on the CPU, where the loop
/// stops at the trap).
///
/// # Safety
/// Every operand must address live device memory of its loop parameter's element
/// type at every index of `shape` with its strides, the output writable and
/// aliased by no input other than elementwise.
pub unsafe fn launch_elementwise_on_device(
    gpu: &Gpu,
    lp: &GpuLoop,
    shape: &[usize],
    operands: &[DeviceStrided],
) -> Result<Result<(), Trap>, Error> {
    let strides: Vec<Vec<isize>> = operands.iter().map(|o| o.strides.clone()).collect();
    let launches = cut_into_launches(shape, &strides);
    if launches.is_empty() {
        return Ok(Ok(()));
    }
    let trap = TrapSlot::new(gpu)?;
    for launch in &launches {
        let views: Vec<DeviceView> = operands
            .iter()
            .zip(launch.offsets.iter().zip(&launch.strides))
            .map(|(o, (&offset, &stride))| DeviceView {
                address: o
                    .address
                    .wrapping_add_signed(offset as i64 * o.elem_size as i64),
                extents: vec![launch.n as i64],
                strides: vec![stride as i64],
            })
            .collect();
        // SAFETY: each view addresses the elements of one line of the call's
        // shape, live by the caller's promise.
        unsafe { launch_views(gpu, lp, launch.n, &views, &trap) }?;
    }
    trap.read(gpu, lp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_of_one_layout_are_one_launch() {
        let c = vec![12, 4, 1];
        let launches = cut_into_launches(&[2, 3, 4], &[c.clone(), c.clone(), c]);
        assert_eq!(
            launches,
            vec![Launch {
                n: 24,
                offsets: vec![0, 0, 0],
                strides: vec![1, 1, 1]
            }]
        );
    }

    #[test]
    fn scalars_read_with_stride_zero_in_the_same_launch() {
        let launches = cut_into_launches(&[5, 7], &[vec![0, 0], vec![7, 1], vec![7, 1]]);
        assert_eq!(launches.len(), 1);
        assert_eq!(launches[0].n, 35);
        assert_eq!(launches[0].strides, vec![0, 1, 1]);
    }

    #[test]
    fn a_broadcast_row_launches_along_the_longer_axis() {
        // (3,) broadcast over (4, 3): launch down the 4 rows, once per column.
        let launches = cut_into_launches(&[4, 3], &[vec![0, 1], vec![3, 1]]);
        assert_eq!(launches.len(), 3);
        for (j, launch) in launches.iter().enumerate() {
            assert_eq!(launch.n, 4);
            assert_eq!(launch.strides, vec![0, 3]);
            assert_eq!(launch.offsets, vec![j as isize, j as isize]);
        }
        // (6,) over (2, 6): along the 6 columns, once per row.
        let launches = cut_into_launches(&[2, 6], &[vec![0, 1], vec![6, 1]]);
        assert_eq!(launches.len(), 2);
        assert_eq!(launches[1].offsets, vec![0, 6]);
        assert_eq!(launches[1].strides, vec![1, 1]);
    }

    #[test]
    fn every_element_is_covered_exactly_once() {
        // A (3, 1, 4) operand broadcast against (2, 3, 5, 4) into a C-order output.
        let shape = [2, 3, 5, 4];
        let out = vec![60, 20, 4, 1];
        let launches = cut_into_launches(&shape, &[vec![0, 4, 0, 1], out]);
        let mut seen = vec![0u32; 120];
        for l in &launches {
            for i in 0..l.n as isize {
                seen[(l.offsets[1] + i * l.strides[1]) as usize] += 1;
            }
        }
        assert!(seen.iter().all(|&c| c == 1), "{seen:?}");
    }

    #[test]
    fn empty_and_zero_dimensional_calls() {
        assert!(cut_into_launches(&[3, 0], &[vec![0, 1], vec![0, 1]]).is_empty());
        let launches = cut_into_launches(&[], &[vec![], vec![]]);
        assert_eq!(launches.len(), 1);
        assert_eq!(launches[0].n, 1);
    }
}
