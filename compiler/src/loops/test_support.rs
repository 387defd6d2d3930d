//! What the loop builders' tests share: compiling a source to a program, and
//! array descriptors over test buffers. Test-only; knows nothing of any builder.

use crate::ir::{ArrayDesc, HostArg, Program, MAX_RANK};

/// The program of `src`, which must compile.
pub(crate) fn compile(src: &str) -> Program {
    crate::frontend::compile_text("t.kern", src)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
        .program
}

/// A descriptor over the buffer at `data` with `shape` and element `strides`.
pub(crate) fn desc<T>(data: *mut T, shape: &[i64], strides: &[i64]) -> ArrayDesc {
    let mut d = ArrayDesc {
        data: data.cast(),
        shape: [0; MAX_RANK],
        strides: [0; MAX_RANK],
    };
    d.shape[..shape.len()].copy_from_slice(shape);
    d.strides[..strides.len()].copy_from_slice(strides);
    d
}

/// An array argument over `data` with `shape` and element `strides`.
pub(crate) fn array_arg<T>(data: &mut [T], shape: &[i64], strides: &[i64]) -> HostArg {
    HostArg::Array(desc(data.as_mut_ptr(), shape, strides))
}
