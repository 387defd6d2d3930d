//! Inlining of small functions (not yet: Cranelift calls are cheap enough for now).
