//! The kern standard library: kern source files under `stdlib/`, embedded in the
//! compiler binary and compiled like user code (no host libm anywhere), so every
//! backend computes the same functions.
//!
//! Naming contract with the type checker:
//! * float math is reached through method syntax: `x.exp()` on an `f64` calls the
//!   stdlib function `exp_f64`, on an `f32` `exp_f32`; float `a % b` calls `fmod_*`;
//! * functions of `random.kern` are reached as `random::name(..)`;
//! * everything else in the stdlib is private to it.

/// `(file name, source text)` of every stdlib file, in a fixed order.
pub const FILES: &[(&str, &str)] = &[
    ("basic.kern", include_str!("../../stdlib/basic.kern")),
    ("exp_log.kern", include_str!("../../stdlib/exp_log.kern")),
    (
        "trig_reduce.kern",
        include_str!("../../stdlib/trig_reduce.kern"),
    ),
    ("trig.kern", include_str!("../../stdlib/trig.kern")),
    (
        "inverse_trig.kern",
        include_str!("../../stdlib/inverse_trig.kern"),
    ),
    (
        "hyperbolic.kern",
        include_str!("../../stdlib/hyperbolic.kern"),
    ),
    ("pow.kern", include_str!("../../stdlib/pow.kern")),
    ("random.kern", include_str!("../../stdlib/random.kern")),
];
