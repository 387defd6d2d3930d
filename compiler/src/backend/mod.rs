//! Code generators from kern IR. Each backend lives in its own folder and is the
//! only place its engine's types appear.

pub mod cranelift;
