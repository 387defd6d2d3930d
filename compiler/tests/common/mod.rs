//! Test support shared by the integration tests of `kern-compiler`.

pub mod combiners;
pub mod layout;
#[cfg(feature = "cuda")]
pub mod ptx;
pub mod stdlib_samples;
