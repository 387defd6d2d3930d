//! Where the elements of many lanes lie: the operands of the reduction and
//! fold loops' tests.
#![allow(dead_code)]

/// `lanes` lanes of `n` elements: element `j` of lane `l` at slot
/// `l * lane_stride + j * stride` (strides at least 0).
#[derive(Clone, Copy, Debug)]
pub struct Layout {
    pub lanes: usize,
    pub n: usize,
    pub lane_stride: isize,
    pub stride: isize,
}

impl Layout {
    /// Lanes one after the other, every element `stride` slots after the
    /// previous one: the rows of a C-ordered `lanes × n` array when `stride`
    /// is 1.
    pub fn rows(lanes: usize, n: usize, stride: isize) -> Layout {
        Layout {
            lanes,
            n,
            lane_stride: n as isize * stride,
            stride,
        }
    }

    /// Lanes side by side, element `j` of every lane before element `j + 1`
    /// of any: the columns of a C-ordered `n × lanes` array.
    pub fn columns(lanes: usize, n: usize) -> Layout {
        Layout {
            lanes,
            n,
            lane_stride: 1,
            stride: lanes as isize,
        }
    }

    /// The slot of element `j` of lane `l`.
    pub fn slot(&self, l: usize, j: usize) -> usize {
        (l as isize * self.lane_stride + j as isize * self.stride) as usize
    }

    /// Slots up to the last element, so a buffer of this many holds them all.
    pub fn slots(&self) -> usize {
        if self.lanes == 0 || self.n == 0 {
            return 0;
        }
        self.slot(self.lanes - 1, self.n - 1) + 1
    }
}
