//! Test support shared by the integration tests of `kern-compiler`.

#[cfg(feature = "cuda")]
pub mod ptx;
pub mod stdlib_samples;
