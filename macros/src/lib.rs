//! kern-macros
