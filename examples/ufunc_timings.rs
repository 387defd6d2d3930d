//! Median wall times of kern's workloads, one `name milliseconds` line each, for
//! `benches/peers.py` to put next to NumPy and Numba (the criterion bench
//! `benches/ufuncs.rs` is the reference measurement; this is the quick table):
//! the ufuncs, reductions and batched matmul gufuncs on `cpu` and `parallel`,
//! and the scalar programs (Monte Carlo π, sum of primes, midpoint rule) called
//! as compiled functions on one core.
//!
//! `cargo run --release --example ufunc_timings [n] [repeats]`; the tier comes
//! from `KERN_TIER` (`--features llvm` for `optimized`). With a third argument
//! `f32-math` it times instead the f32 stdlib functions that compute in f32 (see
//! [`F32_MATH`]).

use std::time::Instant;

use kern::ndarray::{Array1, Array3, Ix1};
use kern::{Module, NdArray, Reduce, ScalarValue, Target};

const SOURCE: &str = r#"
#[vectorize]
fn saxpy(a: f32, x: f32, y: f32) -> f32 { a * x + y }

#[vectorize(identity = 0)]
fn add(a: f64, b: f64) -> f64 { a + b }

#[vectorize]
fn discriminant<T: Float>(a: T, b: T, c: T) -> T { b * b - 4.0 * a * c }

#[vectorize]
fn wave(x: f64) -> f64 { (-x * x).exp() * x.sin() + x.abs().ln_1p() }

#[guvectorize]
fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[k][j]; }
            out[i][j] = s;
        }
    }
}

fn count_inside(seed: u64, n: u64) -> u64 {
    let mut inside = 0;
    for i in 0..n {
        let x = random::uniform(seed, 2 * i);
        let y = random::uniform(seed, 2 * i + 1);
        if x * x + y * y < 1.0 { inside += 1; }
    }
    inside
}

fn is_prime(n: i64) -> bool {
    if n < 2 { return false; }
    if n % 2 == 0 { return n == 2; }
    let mut i = 3;
    while i * i <= n {
        if n % i == 0 { return false; }
        i += 2;
    }
    true
}

fn sum_primes(n: i64) -> i64 {
    let mut sum = 0;
    for k in 2..n { if is_prime(k) { sum += k; } }
    sum
}

fn integrate(n: i64) -> f64 {
    let h = 1.0 / n as f64;
    let mut sum = 0.0;
    for i in 0..n {
        let x = h * (i as f64 + 0.5);
        sum += 4.0 / (1.0 + x * x);
    }
    sum * h
}
"#;

/// The f32 stdlib functions that compute in f32 (docs/stdlib.md), each timed as
/// a one-core ufunc over n f32 in [lo, hi] (element i is lo + (hi - lo) (i mod
/// 4096) / 4096, computed in f64), next to its previous definition written as
/// user code (the f64 function rounded once: `NAME_via_f64`) and a plain Rust
/// loop of Rust's own f32 function (`NAME_rust`, the platform's libm).
const F32_MATH: [(&str, f64, f64); 7] = [
    ("asin", -1.0, 1.0),
    ("acos", -1.0, 1.0),
    ("atan", -10.0, 10.0),
    ("sinh", -10.0, 10.0),
    ("cosh", -10.0, 10.0),
    ("tanh", -5.0, 5.0),
    ("cbrt", -1000.0, 1000.0),
];

/// The batched matmul sizes of issue 14's table: (batch, core size).
const MATMUL_SIZES: [(usize, usize); 4] = [(100_000, 3), (100_000, 4), (10_000, 8), (2_000, 16)];

/// The first call (which compiles the loop) is left out of the median and
/// printed as `first NAME ms` when `KERN_PRINT_FIRST` is set, for the tiers'
/// compile times (docs/tiers.md).
fn median_ms(repeats: usize, mut f: impl FnMut()) -> f64 {
    let started = Instant::now();
    f();
    if std::env::var_os("KERN_PRINT_FIRST").is_some() {
        eprint!("first {:.3} ms; ", started.elapsed().as_secs_f64() * 1e3);
    }
    let mut times: Vec<f64> = (0..repeats)
        .map(|_| {
            let started = Instant::now();
            f();
            started.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    times.sort_by(|a, b| a.total_cmp(b));
    times[times.len() / 2]
}

/// A 1-d array of `n` elements, element `i` being `f(i)`, in a buffer from
/// kern's allocator: like NumPy's, a large one gets the transparent-huge-page
/// advice before it is first written, so kern and its peers stream through
/// memory backed alike (on a machine whose huge pages are `madvise`-only, a
/// plain `Vec` would be 4 KiB pages against NumPy's 2 MiB ones).
fn filled<T: kern::Element>(n: usize, f: impl Fn(usize) -> T) -> Result<Array1<T>, kern::Error> {
    let zeros = NdArray::zeros(T::DTYPE, &[n]).map_err(|e| kern::Error::Call(e.to_string()))?;
    let mut a = zeros
        .into_array::<T>()
        .expect("an array of its own dtype")
        .into_dimensionality::<Ix1>()
        .expect("one dimension");
    a.indexed_iter_mut().for_each(|(i, v)| *v = f(i));
    Ok(a)
}

fn main() -> Result<(), kern::Error> {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let repeats: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(7);
    if args.next().as_deref() == Some("f32-math") {
        return f32_math(n, repeats);
    }
    let module = Module::from_source("timings.kern", SOURCE)?;
    let x32 = filled(n, |i| (i % 1000) as f32 * 1e-3)?;
    let y32 = filled(n, |i| (i % 7) as f32)?;
    let a = filled(n, |i| 1.0 + (i % 10) as f64)?;
    let b = filled(n, |i| 5.0 + (i % 13) as f64)?;
    let c = filled(n, |i| (i % 17) as f64 * 0.25)?;
    let x = filled(n, |i| (i as f64 / n as f64 - 0.5) * 20.0)?;
    let mut out32 = filled(n, |_| 0.0f32)?;
    let mut out = filled(n, |_| 0.0f64)?;
    // The axis-0 reduce: a (1000, 10000) C-ordered array summed down its rows.
    let rows = filled(1000 * 10_000, |k| {
        ((k / 10_000 * 7 + k % 10_000) % 101) as f64 * 0.5
    })?
    .into_shape_with_order((1000, 10_000))
    .expect("a C-ordered buffer of the shape's length");
    let mut matmuls: Vec<(Array3<f64>, Array3<f64>)> = Vec::new();
    for (batch, k) in MATMUL_SIZES {
        let cube = |f: fn(usize, usize, usize) -> f64| -> Result<Array3<f64>, kern::Error> {
            Ok(filled(batch * k * k, |e| f(e / (k * k), e / k % k, e % k))?
                .into_shape_with_order((batch, k, k))
                .expect("a C-ordered buffer of the shape's length"))
        };
        matmuls.push((
            cube(|b, i, j| ((b + i + j) % 11) as f64)?,
            cube(|_, _, _| 0.0)?,
        ));
    }
    for target in [Target::Cpu, Target::Parallel] {
        let ufunc = |name: &str| module.ufunc(name).map(|u| u.with_target(target));
        let (saxpy, add, disc, wave) = (
            ufunc("saxpy")?,
            ufunc("add")?,
            ufunc("discriminant")?,
            ufunc("wave")?,
        );
        let t = median_ms(repeats, || {
            saxpy
                .call_out(&[2.0f32.into(), (&x32).into(), (&y32).into()], &mut out32)
                .unwrap()
        });
        println!("saxpy_f32_{target} {t:.3}");
        let t = median_ms(repeats, || {
            add.call_out(&[(&a).into(), (&b).into()], &mut out).unwrap()
        });
        println!("sumarrays_f64_{target} {t:.3}");
        let t = median_ms(repeats, || {
            disc.call_out(&[(&a).into(), (&b).into(), (&c).into()], &mut out)
                .unwrap()
        });
        println!("discriminant_f64_{target} {t:.3}");
        let t = median_ms(repeats, || wave.call_out(&[(&x).into()], &mut out).unwrap());
        println!("wave_f64_{target} {t:.3}");
        let t = median_ms(repeats, || {
            add.reduce(&x, &Reduce::all()).unwrap();
        });
        println!("sum_f64_{target} {t:.3}");
        let t = median_ms(repeats, || {
            add.reduce(&rows, &Reduce::axis(0)).unwrap();
        });
        println!("reduce_axis0_f64_{target} {t:.3}");
        let matmul = module.gufunc("matmul")?.with_target(target);
        for (ma, mc) in matmuls.iter_mut() {
            let k = ma.shape()[1];
            let t = median_ms(repeats, || {
                matmul
                    .call_out(&[(&*ma).into(), (&*ma).into()], vec![(&mut *mc).into()])
                    .unwrap()
            });
            println!("matmul_{k}x{k}_f64_{target} {t:.3}");
        }
    }
    // The scalar programs: one compiled call on one core (checked against the
    // value every peer must give, so a faster wrong answer cannot pass).
    let mut module = module;
    let mut sink = std::io::sink();
    let mut scalar = |name: &str, args: &[ScalarValue]| {
        let mut value = None;
        let t = median_ms(repeats, || {
            value = module.call(name, args, &mut sink).unwrap();
        });
        (t, value.expect("the function returns a value"))
    };
    let (t, inside) = scalar(
        "count_inside",
        &[ScalarValue::U64(2024), ScalarValue::U64(10_000_000)],
    );
    println!("montecarlo_cpu {t:.3}");
    if let ScalarValue::U64(inside) = inside {
        println!("value_montecarlo {inside}");
    }
    let (t, sum) = scalar("sum_primes", &[ScalarValue::I64(800_000)]);
    assert_eq!(
        sum,
        ScalarValue::I64(24_465_663_438),
        "sum of the primes below 800 000"
    );
    println!("sum_primes_cpu {t:.3}");
    let (t, pi) = scalar("integrate", &[ScalarValue::I64(100_000_000)]);
    println!("midpoint_cpu {t:.3}");
    if let ScalarValue::F64(pi) = pi {
        println!("value_midpoint {pi}");
    }
    Ok(())
}

/// The [`F32_MATH`] rows: `f32_NAME_cpu`, `f32_NAME_via_f64_cpu` and
/// `f32_NAME_rust_cpu`, interleaved per function.
fn f32_math(n: usize, repeats: usize) -> Result<(), kern::Error> {
    let source: String = F32_MATH
        .iter()
        .map(|(name, ..)| {
            format!(
                "#[vectorize]\nfn {name}(x: f32) -> f32 {{ x.{name}() }}\n\
                 #[vectorize]\nfn {name}_via_f64(x: f32) -> f32 {{ (x as f64).{name}() as f32 }}\n"
            )
        })
        .collect();
    let module = Module::from_source("f32_math.kern", &source)?;
    let mut out = filled(n, |_| 0.0f32)?;
    for (name, lo, hi) in F32_MATH {
        let x = filled(n, |i| {
            (lo + (hi - lo) * ((i % 4096) as f64 / 4096.0)) as f32
        })?;
        for ufunc in [name.to_string(), format!("{name}_via_f64")] {
            let f = module.ufunc(&ufunc)?.with_target(Target::Cpu);
            let t = median_ms(repeats, || f.call_out(&[(&x).into()], &mut out).unwrap());
            println!("f32_{ufunc}_cpu {t:.3}");
        }
        // Each loop is its own instance, calling its function directly (a
        // function pointer would add an indirect call per element).
        let out = &mut out;
        let t = match name {
            "asin" => median_ms(repeats, || rust_loop(&x, out, f32::asin)),
            "acos" => median_ms(repeats, || rust_loop(&x, out, f32::acos)),
            "atan" => median_ms(repeats, || rust_loop(&x, out, f32::atan)),
            "sinh" => median_ms(repeats, || rust_loop(&x, out, f32::sinh)),
            "cosh" => median_ms(repeats, || rust_loop(&x, out, f32::cosh)),
            "tanh" => median_ms(repeats, || rust_loop(&x, out, f32::tanh)),
            _ => median_ms(repeats, || rust_loop(&x, out, f32::cbrt)),
        };
        println!("f32_{name}_rust_cpu {t:.3}");
    }
    Ok(())
}

fn rust_loop(x: &Array1<f32>, out: &mut Array1<f32>, f: impl Fn(f32) -> f32) {
    out.iter_mut().zip(x.iter()).for_each(|(o, &v)| *o = f(v));
}
