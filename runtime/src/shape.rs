//! How shapes are written in messages — the one formatter every error uses.
//!
//! NumPy writes shapes two ways, and kern follows it to the letter so that its
//! messages read like NumPy's: as a Python tuple, `(2, 3)` (`a.shape`, reshape and
//! allocation errors), and without spaces, `(2,3)`, in the ufunc machinery's
//! messages ("operands could not be broadcast together with shapes (2,3) (4,)").
//! Both print a one-element shape as `(5,)` and a 0-d shape as `()`. This module
//! knows nothing of arrays, only of lists of extents.

use std::fmt::Display;

/// A shape as a Python tuple: `(2, 3)`, `(5,)`, `()`.
pub(crate) fn shape_tuple<D: Display>(dims: &[D]) -> String {
    tuple(dims, ", ")
}

/// A shape as NumPy's ufunc and broadcasting messages write it: `(2,3)`, `(5,)`, `()`.
pub(crate) fn shape_text<D: Display>(dims: &[D]) -> String {
    tuple(dims, ",")
}

fn tuple<D: Display>(dims: &[D], separator: &str) -> String {
    match dims {
        [only] => format!("({only},)"),
        _ => {
            let dims: Vec<String> = dims.iter().map(ToString::to_string).collect();
            format!("({})", dims.join(separator))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tuples_are_written_as_python_writes_them() {
        assert_eq!(shape_tuple::<usize>(&[]), "()");
        assert_eq!(shape_tuple(&[4]), "(4,)");
        assert_eq!(shape_tuple(&[2, -1]), "(2, -1)");
    }

    #[test]
    fn ufunc_messages_write_shapes_without_spaces() {
        assert_eq!(shape_text::<usize>(&[]), "()");
        assert_eq!(shape_text(&[4]), "(4,)");
        assert_eq!(shape_text(&[2, 3]), "(2,3)");
    }
}
