//! Cranelift backend. (being written)
