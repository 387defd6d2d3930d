//! kern-runtime
