//! The kern standard library compiled *as Rust* and measured against Rust's `std`.
//!
//! kern is a subset of Rust syntax and the stdlib is written in the part of it that
//! is also valid Rust, so `include!` turns the `.kern` files into ordinary Rust
//! functions with no shims. This test checks the algorithms themselves: every math
//! function in f64 and f32 at >= 10^6 points (see `common::stdlib_samples`) within
//! its ULP bound, and the Philox generator against its published known answers and
//! statistical properties.
//!
//! Run with `cargo test -p kern-compiler --test stdlib_as_rust -- --nocapture` to
//! print the measured ULP table (`KERN_STDLIB_ONLY=exp,ln` restricts the functions).

mod common;

use common::stdlib_samples::{
    reference_f64, sample_pairs_f32, sample_pairs_f64, sample_points_f32, sample_points_f64,
    ulp_diff_f32, ulp_diff_f64, zero_sign_differs_f32, zero_sign_differs_f64, FuncSpec, Reference,
    UlpReport, FUNCTIONS,
};

/// The stdlib as Rust. The `.kern` files have no `pub`, so everything that calls
/// them lives in this module or below it.
#[allow(dead_code, clippy::all, unused_parens, unused_mut, unused_assignments)]
mod kern_stdlib {
    include!("../../stdlib/basic.kern");
    include!("../../stdlib/exp_log.kern");
    include!("../../stdlib/trig_reduce.kern");
    include!("../../stdlib/trig.kern");
    include!("../../stdlib/inverse_trig.kern");
    include!("../../stdlib/hyperbolic.kern");
    include!("../../stdlib/pow.kern");

    use super::Reference;

    /// `random.kern`, reached as `random::name` as in kern.
    pub mod random {
        use super::*;
        include!("../../stdlib/random.kern");

        #[cfg(test)]
        mod tests {
            use super::*;

            fn block(c: [u32; 4], k: [u32; 2]) -> [u32; 4] {
                let low = philox4x32_10(c[0], c[1], c[2], c[3], k[0], k[1], false);
                let high = philox4x32_10(c[0], c[1], c[2], c[3], k[0], k[1], true);
                [
                    low as u32,
                    (low >> 32) as u32,
                    high as u32,
                    (high >> 32) as u32,
                ]
            }

            /// Known-answer vectors of Random123's `kat_vectors` for philox4x32_10.
            #[test]
            fn philox_matches_the_random123_known_answers() {
                assert_eq!(
                    block([0; 4], [0; 2]),
                    [0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8]
                );
                assert_eq!(
                    block([u32::MAX; 4], [u32::MAX; 2]),
                    [0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd]
                );
                assert_eq!(
                    block(
                        [0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344],
                        [0xa4093822, 0x299f31d0]
                    ),
                    [0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1]
                );
            }

            #[test]
            fn values_depend_only_on_seed_and_index() {
                assert_eq!(uniform(7, 123).to_bits(), uniform(7, 123).to_bits());
                assert_ne!(uniform(7, 123).to_bits(), uniform(7, 124).to_bits());
                assert_ne!(uniform(7, 123).to_bits(), uniform(8, 123).to_bits());
                assert_ne!(uniform(7, 1 << 32).to_bits(), uniform(7, 0).to_bits());
                assert_eq!(normal(3, 99).to_bits(), normal(3, 99).to_bits());
            }

            const N: u64 = 1_000_000;

            fn mean_and_variance(values: impl Iterator<Item = f64>) -> (f64, f64) {
                let (mut n, mut mean, mut m2) = (0.0, 0.0, 0.0);
                for v in values {
                    n += 1.0;
                    let delta = v - mean;
                    mean += delta / n;
                    m2 += delta * (v - mean);
                }
                (mean, m2 / (n - 1.0))
            }

            // Bounds are 5 standard errors: sd(mean) = sqrt(var / N), sd(var) ~ sqrt((mu4 - var^2) / N).
            #[test]
            fn uniforms_lie_in_the_unit_interval_with_mean_one_half_and_variance_one_twelfth() {
                for seed in [0u64, 42, u64::MAX] {
                    assert!((0..N).all(|i| (0.0..1.0).contains(&uniform(seed, i))));
                    let (mean, var) = mean_and_variance((0..N).map(|i| uniform(seed, i)));
                    assert!(
                        (mean - 0.5).abs() < 5.0 * (1.0f64 / 12.0 / N as f64).sqrt(),
                        "mean {mean}"
                    );
                    assert!(
                        (var - 1.0 / 12.0).abs() < 5.0 * (1.0f64 / 180.0 / N as f64).sqrt(),
                        "var {var}"
                    );
                    let (mean32, _) =
                        mean_and_variance((0..N).map(|i| uniform_f32(seed, i) as f64));
                    assert!((0..N).all(|i| (0.0..1.0).contains(&uniform_f32(seed, i))));
                    assert!(
                        (mean32 - 0.5).abs() < 5.0 * (1.0f64 / 12.0 / N as f64).sqrt(),
                        "mean {mean32}"
                    );
                }
            }

            #[test]
            fn normals_have_mean_zero_and_variance_one() {
                for seed in [1u64, 2024] {
                    let (mean, var) = mean_and_variance((0..N).map(|i| normal(seed, i)));
                    assert!(mean.abs() < 5.0 / (N as f64).sqrt(), "mean {mean}");
                    assert!(
                        (var - 1.0).abs() < 5.0 * (2.0 / N as f64).sqrt(),
                        "var {var}"
                    );
                    let (mean32, var32) =
                        mean_and_variance((0..N).map(|i| normal_f32(seed, i) as f64));
                    assert!(mean32.abs() < 5.0 / (N as f64).sqrt(), "mean {mean32}");
                    assert!(
                        (var32 - 1.0).abs() < 5.0 * (2.0 / N as f64).sqrt(),
                        "var {var32}"
                    );
                    assert!((0..N).all(|i| normal(seed, i).is_finite()));
                }
            }

            /// Chi-square with 99 degrees of freedom: the 0.999 quantile is 148.23.
            fn chi_square_100_buckets(values: impl Iterator<Item = usize>, n: u64) -> f64 {
                let mut counts = [0u64; 100];
                for b in values {
                    counts[b] += 1;
                }
                let expected = n as f64 / 100.0;
                counts
                    .iter()
                    .map(|&c| (c as f64 - expected).powi(2) / expected)
                    .sum()
            }

            #[test]
            fn uniforms_pass_a_chi_square_test_over_100_buckets_at_p_0_001() {
                for seed in [5u64, 77] {
                    let chi2 = chi_square_100_buckets(
                        (0..N).map(|i| (uniform(seed, i) * 100.0) as usize),
                        N,
                    );
                    assert!(chi2 < 148.23, "seed {seed}: chi2 = {chi2}");
                    let chi2 = chi_square_100_buckets(
                        (0..N).map(|i| (uniform_f32(seed, i) * 100.0) as usize),
                        N,
                    );
                    assert!(chi2 < 148.23, "seed {seed} (f32): chi2 = {chi2}");
                }
            }

            /// The normal CDF mapped through 100 equal-probability buckets.
            #[test]
            fn normals_pass_a_chi_square_test_over_100_equiprobable_buckets_at_p_0_001() {
                // Phi(z) = erfc(-z / sqrt 2) / 2, with erfc from Numerical Recipes'
                // Chebyshev fit (relative error < 1.2e-7, ample for bucketing).
                fn phi(z: f64) -> f64 {
                    let x = -z / std::f64::consts::SQRT_2;
                    let t = 1.0 / (1.0 + 0.5 * x.abs());
                    let y = t
                        * (-x * x - 1.26551223
                            + t * (1.00002368
                                + t * (0.37409196
                                    + t * (0.09678418
                                        + t * (-0.18628806
                                            + t * (0.27886807
                                                + t * (-1.13520398
                                                    + t * (1.48851587
                                                        + t * (-0.82215223
                                                            + t * 0.17087277)))))))))
                            .exp();
                    let erfc = if x >= 0.0 { y } else { 2.0 - y };
                    0.5 * erfc
                }
                let chi2 = chi_square_100_buckets(
                    (0..N).map(|i| ((phi(normal(11, i)) * 100.0) as usize).min(99)),
                    N,
                );
                assert!(chi2 < 148.23, "chi2 = {chi2}");
            }
        }
    }

    /// The stdlib implementation of `name`, in the shape of its `std` reference.
    pub fn implementation(name: &str) -> Option<Reference> {
        Some(match name {
            "round" => Reference::Unary(round_f64, round_f32),
            "min" => Reference::Binary(min_f64, min_f32),
            "max" => Reference::Binary(max_f64, max_f32),
            "signum" => Reference::Unary(signum_f64, signum_f32),
            "to_degrees" => Reference::Unary(to_degrees_f64, to_degrees_f32),
            "to_radians" => Reference::Unary(to_radians_f64, to_radians_f32),
            "fmod" => Reference::Binary(fmod_f64, fmod_f32),
            "exp" => Reference::Unary(exp_f64, exp_f32),
            "exp2" => Reference::Unary(exp2_f64, exp2_f32),
            "exp_m1" => Reference::Unary(exp_m1_f64, exp_m1_f32),
            "ln" => Reference::Unary(ln_f64, ln_f32),
            "log2" => Reference::Unary(log2_f64, log2_f32),
            "log10" => Reference::Unary(log10_f64, log10_f32),
            "ln_1p" => Reference::Unary(ln_1p_f64, ln_1p_f32),
            "sin" => Reference::Unary(sin_f64, sin_f32),
            "cos" => Reference::Unary(cos_f64, cos_f32),
            "tan" => Reference::Unary(tan_f64, tan_f32),
            "asin" => Reference::Unary(asin_f64, asin_f32),
            "acos" => Reference::Unary(acos_f64, acos_f32),
            "atan" => Reference::Unary(atan_f64, atan_f32),
            "atan2" => Reference::Binary(atan2_f64, atan2_f32),
            "sinh" => Reference::Unary(sinh_f64, sinh_f32),
            "cosh" => Reference::Unary(cosh_f64, cosh_f32),
            "tanh" => Reference::Unary(tanh_f64, tanh_f32),
            "powf" => Reference::Binary(powf_f64, powf_f32),
            "powi" => Reference::WithI32(powi_f64, powi_f32),
            "cbrt" => Reference::Unary(cbrt_f64, cbrt_f32),
            "hypot" => Reference::Binary(hypot_f64, hypot_f32),
            _ => return None,
        })
    }
}

/// Points per function and type: the documented command measures >= 10^6.
const POINTS: usize = 1 << 20;

/// Max ULP error of one function, f64 and f32.
struct Measured {
    spec: &'static FuncSpec,
    f64_report: UlpReport,
    f32_report: UlpReport,
}

fn measure(spec: &'static FuncSpec, implementation: Reference) -> Measured {
    let mut f64_report = UlpReport::new();
    let mut f32_report = UlpReport::new();
    match (spec.reference, implementation) {
        (Reference::Unary(want64, want32), Reference::Unary(got64, got32)) => {
            for x in sample_points_f64(spec.name, POINTS) {
                let (want, got) = (reference_f64(spec.name, want64, x), got64(x));
                f64_report.record(
                    ulp_diff_f64(want, got),
                    zero_sign_differs_f64(want, got),
                    || format!("x={x:e} ({:#x}): std {want:e}, kern {got:e}", x.to_bits()),
                );
            }
            for x in sample_points_f32(spec.name, POINTS) {
                let (want, got) = (want32(x), got32(x));
                f32_report.record(
                    ulp_diff_f32(want, got),
                    zero_sign_differs_f32(want, got),
                    || format!("x={x:e} ({:#x}): std {want:e}, kern {got:e}", x.to_bits()),
                );
            }
        }
        (Reference::Binary(want64, want32), Reference::Binary(got64, got32)) => {
            for (x, y) in sample_pairs_f64(spec.name, POINTS) {
                let (want, got) = (want64(x, y), got64(x, y));
                f64_report.record(
                    ulp_diff_f64(want, got),
                    zero_sign_differs_f64(want, got),
                    || format!("x={x:e}, y={y:e}: std {want:e}, kern {got:e}"),
                );
            }
            for (x, y) in sample_pairs_f32(spec.name, POINTS) {
                let (want, got) = (want32(x, y), got32(x, y));
                f32_report.record(
                    ulp_diff_f32(want, got),
                    zero_sign_differs_f32(want, got),
                    || format!("x={x:e}, y={y:e}: std {want:e}, kern {got:e}"),
                );
            }
        }
        (Reference::WithI32(want64, want32), Reference::WithI32(got64, got32)) => {
            for (x, n) in sample_pairs_f64(spec.name, POINTS) {
                let n = n as i32;
                let (want, got) = (want64(x, n), got64(x, n));
                f64_report.record(
                    ulp_diff_f64(want, got),
                    zero_sign_differs_f64(want, got),
                    || format!("x={x:e}, n={n}: std {want:e}, kern {got:e}"),
                );
            }
            for (x, n) in sample_pairs_f32(spec.name, POINTS) {
                let n = n as i32;
                let (want, got) = (want32(x, n), got32(x, n));
                f32_report.record(
                    ulp_diff_f32(want, got),
                    zero_sign_differs_f32(want, got),
                    || format!("x={x:e}, n={n}: std {want:e}, kern {got:e}"),
                );
            }
        }
        _ => panic!(
            "{}: implementation and reference have different shapes",
            spec.name
        ),
    }
    Measured {
        spec,
        f64_report,
        f32_report,
    }
}

fn selected_functions() -> Vec<&'static FuncSpec> {
    let only = std::env::var("KERN_STDLIB_ONLY").ok();
    FUNCTIONS
        .iter()
        .filter(|spec| {
            only.as_deref()
                .is_none_or(|list| list.split(',').any(|name| name == spec.name))
        })
        .collect()
}

#[test]
fn every_math_function_is_within_its_ulp_bound_in_f64_and_f32() {
    let verbose = std::env::var("KERN_STDLIB_VERBOSE").is_ok();
    let specs = selected_functions();
    let threads = std::thread::available_parallelism()
        .map_or(2, |n| n.get())
        .min(specs.len().max(1));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let outcomes: Vec<Result<Measured, &str>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(&spec) = specs.get(i) else { break };
                        match kern_stdlib::implementation(spec.name) {
                            Some(implementation) => mine.push(Ok(measure(spec, implementation))),
                            None => mine.push(Err(spec.name)),
                        }
                    }
                    mine
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("measuring thread panicked"))
            .collect()
    });
    let mut failures: Vec<String> = outcomes
        .iter()
        .filter_map(|o| o.as_ref().err())
        .map(|name| format!("the stdlib has no `{name}`"))
        .collect();
    let mut results: Vec<Measured> = outcomes.into_iter().filter_map(Result::ok).collect();
    results.sort_by_key(|m| FUNCTIONS.iter().position(|s| s.name == m.spec.name));

    println!("| function | points (per type) | max ULP f64 | max ULP f32 | domain |");
    println!("|---|---|---|---|---|");
    for m in &results {
        println!(
            "| `{}` | {} | {} | {} | {} |",
            m.spec.name,
            m.f64_report.points,
            m.f64_report.max_ulp,
            m.f32_report.max_ulp,
            m.spec.domain
        );
    }
    for m in &results {
        if verbose {
            println!(
                "{} f64 worst: {}\n{} f32 worst: {}",
                m.spec.name, m.f64_report.worst, m.spec.name, m.f32_report.worst
            );
        }
        for (ty, report) in [("f64", &m.f64_report), ("f32", &m.f32_report)] {
            assert!(
                report.points >= 1_000_000,
                "{} {ty}: only {} points",
                m.spec.name,
                report.points
            );
            if report.max_ulp > m.spec.max_ulp {
                failures.push(format!(
                    "{}_{ty}: {} ULP (bound {}), worst at {}",
                    m.spec.name, report.max_ulp, m.spec.max_ulp, report.worst
                ));
            }
            if let Some(mismatch) = &report.zero_sign_mismatch {
                failures.push(format!(
                    "{}_{ty}: zero sign differs at {mismatch}",
                    m.spec.name
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "functions out of bound:\n{}",
        failures.join("\n")
    );
}
