//! Test support shared by the integration tests of `kern-compiler`.

pub mod stdlib_samples;
