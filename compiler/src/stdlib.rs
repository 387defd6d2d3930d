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

#[cfg(test)]
mod tests {
    use super::FILES;

    #[test]
    fn every_stdlib_file_is_listed_once_with_its_source() {
        let mut names: Vec<&str> = FILES.iter().map(|(name, _)| *name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), FILES.len());
        for (name, source) in FILES {
            assert!(name.ends_with(".kern"), "{name}");
            assert!(
                source.starts_with("// kern standard library"),
                "{name} lacks its header"
            );
        }
    }

    #[test]
    fn every_float_method_has_an_f64_and_an_f32_definition() {
        let all: String = FILES.iter().map(|(_, source)| *source).collect();
        for method in [
            "round",
            "min",
            "max",
            "signum",
            "to_degrees",
            "to_radians",
            "fmod",
            "exp",
            "exp2",
            "exp_m1",
            "ln",
            "log2",
            "log10",
            "ln_1p",
            "sin",
            "cos",
            "tan",
            "asin",
            "acos",
            "atan",
            "atan2",
            "sinh",
            "cosh",
            "tanh",
            "powf",
            "powi",
            "cbrt",
            "hypot",
        ] {
            for ty in ["f64", "f32"] {
                let signature = format!("fn {method}_{ty}(");
                assert!(all.contains(&signature), "missing {signature}");
            }
        }
    }
}
