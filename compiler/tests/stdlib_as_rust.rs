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
    sample_pairs_f32, sample_pairs_f64, sample_points_f32, sample_points_f64, ulp_diff_f32,
    ulp_diff_f64, zero_sign_differs_f32, zero_sign_differs_f64, Arity, FuncSpec, Reference,
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
                let (want, got) = (want64(x), got64(x));
                f64_report.record(ulp_diff_f64(want, got), zero_sign_differs_f64(want, got), || {
                    format!("x={x:e} ({:#x}): std {want:e}, kern {got:e}", x.to_bits())
                });
            }
            for x in sample_points_f32(spec.name, POINTS) {
                let (want, got) = (want32(x), got32(x));
                f32_report.record(ulp_diff_f32(want, got), zero_sign_differs_f32(want, got), || {
                    format!("x={x:e} ({:#x}): std {want:e}, kern {got:e}", x.to_bits())
                });
            }
        }
        (Reference::Binary(want64, want32), Reference::Binary(got64, got32)) => {
            for (x, y) in sample_pairs_f64(spec.name, POINTS) {
                let (want, got) = (want64(x, y), got64(x, y));
                f64_report.record(ulp_diff_f64(want, got), zero_sign_differs_f64(want, got), || {
                    format!("x={x:e}, y={y:e}: std {want:e}, kern {got:e}")
                });
            }
            for (x, y) in sample_pairs_f32(spec.name, POINTS) {
                let (want, got) = (want32(x, y), got32(x, y));
                f32_report.record(ulp_diff_f32(want, got), zero_sign_differs_f32(want, got), || {
                    format!("x={x:e}, y={y:e}: std {want:e}, kern {got:e}")
                });
            }
        }
        (Reference::WithI32(want64, want32), Reference::WithI32(got64, got32)) => {
            for (x, n) in sample_pairs_f64(spec.name, POINTS) {
                let n = n as i32;
                let (want, got) = (want64(x, n), got64(x, n));
                f64_report.record(ulp_diff_f64(want, got), zero_sign_differs_f64(want, got), || {
                    format!("x={x:e}, n={n}: std {want:e}, kern {got:e}")
                });
            }
            for (x, n) in sample_pairs_f32(spec.name, POINTS) {
                let n = n as i32;
                let (want, got) = (want32(x, n), got32(x, n));
                f32_report.record(ulp_diff_f32(want, got), zero_sign_differs_f32(want, got), || {
                    format!("x={x:e}, n={n}: std {want:e}, kern {got:e}")
                });
            }
        }
        _ => panic!("{}: implementation and reference have different shapes", spec.name),
    }
    Measured { spec, f64_report, f32_report }
}

fn selected_functions() -> Vec<&'static FuncSpec> {
    let only = std::env::var("KERN_STDLIB_ONLY").ok();
    FUNCTIONS
        .iter()
        .filter(|spec| only.as_deref().is_none_or(|list| list.split(',').any(|name| name == spec.name)))
        .collect()
}

#[test]
fn every_math_function_is_within_its_ulp_bound_in_f64_and_f32() {
    let specs = selected_functions();
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(specs.len().max(1));
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
        workers.into_iter().flat_map(|w| w.join().expect("measuring thread panicked")).collect()
    });
    let mut failures: Vec<String> =
        outcomes.iter().filter_map(|o| o.as_ref().err()).map(|name| format!("the stdlib has no `{name}`")).collect();
    let mut results: Vec<Measured> = outcomes.into_iter().filter_map(Result::ok).collect();
    results.sort_by_key(|m| FUNCTIONS.iter().position(|s| s.name == m.spec.name));

    println!("| function | points (per type) | max ULP f64 | max ULP f32 | domain |");
    println!("|---|---|---|---|---|");
    for m in &results {
        println!(
            "| `{}` | {} | {} | {} | {} |",
            m.spec.name, m.f64_report.points, m.f64_report.max_ulp, m.f32_report.max_ulp, m.spec.domain
        );
    }
    for m in &results {
        for (ty, report) in [("f64", &m.f64_report), ("f32", &m.f32_report)] {
            assert!(report.points >= 1_000_000, "{} {ty}: only {} points", m.spec.name, report.points);
            if report.max_ulp > m.spec.max_ulp {
                failures.push(format!(
                    "{}_{ty}: {} ULP (bound {}), worst at {}",
                    m.spec.name, report.max_ulp, m.spec.max_ulp, report.worst
                ));
            }
            if let Some(mismatch) = &report.zero_sign_mismatch {
                failures.push(format!("{}_{ty}: zero sign differs at {mismatch}", m.spec.name));
            }
        }
    }
    assert!(failures.is_empty(), "functions out of bound:\n{}", failures.join("\n"));
}
