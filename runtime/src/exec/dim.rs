//! [`Dim3`]: the extents of a launch's grid or block along x, y and z.

use std::fmt;

/// Extents along x, y, z; an axis a launch does not use has extent 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Dim3 {
    pub x: usize,
    pub y: usize,
    pub z: usize,
}

impl Dim3 {
    pub const fn new(x: usize, y: usize, z: usize) -> Dim3 {
        Dim3 { x, y, z }
    }

    /// `x * y * z`, `None` on overflow.
    pub fn count(self) -> Option<usize> {
        self.x.checked_mul(self.y)?.checked_mul(self.z)
    }
}

impl From<usize> for Dim3 {
    fn from(x: usize) -> Dim3 {
        Dim3::new(x, 1, 1)
    }
}

impl From<(usize, usize)> for Dim3 {
    fn from((x, y): (usize, usize)) -> Dim3 {
        Dim3::new(x, y, 1)
    }
}

impl From<(usize, usize, usize)> for Dim3 {
    fn from((x, y, z): (usize, usize, usize)) -> Dim3 {
        Dim3::new(x, y, z)
    }
}

impl fmt::Display for Dim3 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "({}, {}, {})", self.x, self.y, self.z)
    }
}
