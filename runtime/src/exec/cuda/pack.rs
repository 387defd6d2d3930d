//! Moving strided host operands to and from the contiguous buffers a GPU kernel
//! reads and writes: packing gathers an operand's elements in C order over the
//! iteration shape; unpacking scatters results back through an output's strides.
//! An operand that does not vary (every stride zero: a scalar, a fully broadcast
//! array) is one element, which the kernel reads with stride 0.
//!
//! It knows addresses, element sizes and strides, nothing of dtypes.

use super::super::StridedOperand;

/// An operand as the kernel sees it: contiguous bytes and the element stride.
pub struct Packed {
    pub bytes: Vec<u8>,
    /// 1, or 0 for an operand that does not vary.
    pub stride: i64,
}

/// Byte offsets of every element of `shape` in C order, for `strides` (elements)
/// and elements of `elem_size` bytes.
fn for_each_offset(shape: &[usize], strides: &[isize], elem_size: usize, mut f: impl FnMut(isize)) {
    let len: usize = shape.iter().product();
    if len == 0 {
        return;
    }
    let mut index = vec![0usize; shape.len()];
    let mut offset = 0isize;
    for _ in 0..len {
        f(offset * elem_size as isize);
        // Odometer step over the last axis first.
        for k in (0..shape.len()).rev() {
            index[k] += 1;
            offset += strides[k];
            if index[k] < shape[k] {
                break;
            }
            offset -= strides[k] * shape[k] as isize;
            index[k] = 0;
        }
    }
}

/// Packs `operand` over `shape`.
///
/// # Safety
/// `operand` must address live elements at every index of `shape`.
pub unsafe fn pack(operand: &StridedOperand, shape: &[usize]) -> Packed {
    let size = operand.elem_size;
    if operand.strides.iter().all(|&s| s == 0) {
        // SAFETY: index zero is live by the caller's promise.
        let bytes = unsafe { std::slice::from_raw_parts(operand.base, size) }.to_vec();
        return Packed { bytes, stride: 0 };
    }
    let len: usize = shape.iter().product();
    let mut bytes = Vec::with_capacity(len * size);
    for_each_offset(shape, &operand.strides, size, |offset| {
        // SAFETY: every offset addresses a live element, by the caller's promise.
        let element = unsafe { std::slice::from_raw_parts(operand.base.offset(offset), size) };
        bytes.extend_from_slice(element);
    });
    Packed { bytes, stride: 1 }
}

/// Writes `bytes` (C order over `shape`) through `operand`'s strides.
///
/// # Safety
/// `operand` must address writable elements at every index of `shape`, and
/// `bytes` must hold one element per index.
pub unsafe fn unpack(bytes: &[u8], operand: &StridedOperand, shape: &[usize]) {
    let size = operand.elem_size;
    let mut next = bytes.chunks_exact(size);
    for_each_offset(shape, &operand.strides, size, |offset| {
        if let Some(element) = next.next() {
            // SAFETY: the offset addresses a writable element (caller's promise).
            unsafe {
                std::ptr::copy_nonoverlapping(element.as_ptr(), operand.base.offset(offset), size)
            };
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn packing_follows_c_order_through_any_strides() {
        // A transposed, reversed 2x3 view of 0..6 (i32).
        let data: Vec<i32> = (0..6).collect();
        let base = data.as_ptr().wrapping_add(2) as *mut u8;
        let operand = StridedOperand {
            base,
            elem_size: 4,
            strides: vec![-1, 3],
        };
        // Element [i][j] is data[2 - i + 3 j]: shape (3, 2).
        let packed = unsafe { pack(&operand, &[3, 2]) };
        let values: Vec<i32> = packed
            .bytes
            .chunks_exact(4)
            .map(|c| i32::from_le_bytes(c.try_into().unwrap()))
            .collect();
        assert_eq!(values, vec![2, 5, 1, 4, 0, 3]);
        assert_eq!(packed.stride, 1);

        let mut out = vec![0i32; 6];
        let target = StridedOperand {
            base: out.as_mut_ptr().wrapping_add(2) as *mut u8,
            elem_size: 4,
            strides: vec![-1, 3],
        };
        unsafe { unpack(&packed.bytes, &target, &[3, 2]) };
        assert_eq!(out, data);
    }

    #[test]
    fn an_operand_that_does_not_vary_is_one_element() {
        let x = 7.5f64;
        let operand = StridedOperand {
            base: &x as *const f64 as *mut u8,
            elem_size: 8,
            strides: vec![0, 0],
        };
        let packed = unsafe { pack(&operand, &[4, 5]) };
        assert_eq!(packed.bytes, 7.5f64.to_ne_bytes());
        assert_eq!(packed.stride, 0);
    }
}
