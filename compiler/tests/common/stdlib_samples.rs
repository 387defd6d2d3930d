//! Sampling and ULP measurement for the kern standard library's math functions.
//!
//! Owns: which points each stdlib function is tested at, the reference (Rust `std`)
//! for each function, and the ULP distance. It is independent of how the function
//! under test is run — the same table drives the "stdlib compiled as Rust" test and
//! the tests of the JIT-compiled and interpreted stdlib — so it must not know any
//! kern compiler API.
#![allow(dead_code)]

/// How a stdlib function is called.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Arity {
    /// `f(x)`
    Unary,
    /// `f(x, y)`: `x.atan2(y)`, `x.powf(y)`, `x.hypot(y)`, `x % y`, `x.min(y)`, ...
    Binary,
    /// `f(x, n: i32)`: `x.powi(n)`; sampled pairs carry `n` as an integral float.
    WithI32,
}

/// Rust's `std` implementation of a function, the reference it is measured against.
#[derive(Clone, Copy)]
pub enum Reference {
    Unary(fn(f64) -> f64, fn(f32) -> f32),
    Binary(fn(f64, f64) -> f64, fn(f32, f32) -> f32),
    WithI32(fn(f64, i32) -> f64, fn(f32, i32) -> f32),
}

/// One stdlib math function: its method name (the stdlib defines `NAME_f64` and
/// `NAME_f32`), how it is sampled and what it is compared with.
#[derive(Clone, Copy)]
pub struct FuncSpec {
    pub name: &'static str,
    pub arity: Arity,
    /// The interval sampled densely (for binary functions: each argument's).
    pub dense: (f64, f64),
    /// A second dense interval for the second argument of binary functions.
    pub dense_second: (f64, f64),
    /// Human-readable description of the tested domain, for the docs table.
    pub domain: &'static str,
    pub reference: Reference,
    /// The ULP bound the implementation promises against the reference.
    pub max_ulp: u64,
}

// The f32 reference is the f64 `std` function of the widened argument rounded to
// f32 (correctly rounded but for rare double roundings): glibc's own f32 functions
// are up to 2 ULP off for some (`log10f(0.75)`), which would hide our errors.
macro_rules! unary {
    ($name:literal, $lo:expr, $hi:expr, $domain:literal, $f64:expr) => {
        unary!($name, $lo, $hi, $domain, $f64, |x: f32| ($f64)(x as f64)
            as f32)
    };
    ($name:literal, $lo:expr, $hi:expr, $domain:literal, $f64:expr, $f32:expr) => {
        FuncSpec {
            name: $name,
            arity: Arity::Unary,
            dense: ($lo, $hi),
            dense_second: ($lo, $hi),
            domain: $domain,
            reference: Reference::Unary($f64, $f32),
            max_ulp: 1,
        }
    };
}

macro_rules! binary {
    ($name:literal, $d1:expr, $d2:expr, $domain:literal, $f64:expr) => {
        binary!(
            $name,
            $d1,
            $d2,
            $domain,
            $f64,
            |x: f32, y: f32| ($f64)(x as f64, y as f64) as f32
        )
    };
    ($name:literal, $d1:expr, $d2:expr, $domain:literal, $f64:expr, $f32:expr) => {
        FuncSpec {
            name: $name,
            arity: Arity::Binary,
            dense: $d1,
            dense_second: $d2,
            domain: $domain,
            reference: Reference::Binary($f64, $f32),
            max_ulp: 1,
        }
    };
}

const TAU: f64 = std::f64::consts::TAU;

/// Every math function of the stdlib, with its reference in Rust's `std`.
pub const FUNCTIONS: &[FuncSpec] = &[
    unary!("round", -1e3, 1e3, "all f64/f32", f64::round, f32::round),
    binary!(
        "min",
        (-1e3, 1e3),
        (-1e3, 1e3),
        "all pairs",
        f64::min,
        f32::min
    ),
    binary!(
        "max",
        (-1e3, 1e3),
        (-1e3, 1e3),
        "all pairs",
        f64::max,
        f32::max
    ),
    unary!("signum", -1.0, 1.0, "all", f64::signum, f32::signum),
    unary!(
        "to_degrees",
        -10.0,
        10.0,
        "all",
        f64::to_degrees,
        f32::to_degrees
    ),
    unary!(
        "to_radians",
        -1e3,
        1e3,
        "all",
        f64::to_radians,
        f32::to_radians
    ),
    binary!(
        "fmod",
        (-1e3, 1e3),
        (-10.0, 10.0),
        "all pairs (exact)",
        |a: f64, b: f64| a % b
    ),
    unary!("exp", -745.2, 709.8, "all", f64::exp),
    unary!("exp2", -1075.0, 1024.0, "all", f64::exp2),
    unary!("exp_m1", -40.0, 40.0, "all", f64::exp_m1),
    unary!("ln", 0.0, 4.0, "all", f64::ln),
    unary!("log2", 0.0, 4.0, "all", f64::log2),
    // glibc's log10, sinh, cosh and tanh are up to ~1.5 ulp off (see
    // KNOWN_REFERENCE_ERRORS and docs/stdlib.md), so a correctly rounded result can
    // be 2 ulp from them.
    FuncSpec {
        max_ulp: 2,
        ..unary!("log10", 0.0, 4.0, "all", f64::log10)
    },
    unary!("ln_1p", -1.0, 2.0, "all", f64::ln_1p),
    unary!(
        "sin",
        -TAU,
        TAU,
        "all, incl. huge |x| and near multiples of pi/2",
        f64::sin
    ),
    unary!(
        "cos",
        -TAU,
        TAU,
        "all, incl. huge |x| and near multiples of pi/2",
        f64::cos
    ),
    unary!(
        "tan",
        -TAU,
        TAU,
        "all, incl. huge |x| and near multiples of pi/2",
        f64::tan
    ),
    unary!("asin", -1.0, 1.0, "all", f64::asin),
    unary!("acos", -1.0, 1.0, "all", f64::acos),
    unary!("atan", -10.0, 10.0, "all", f64::atan),
    binary!(
        "atan2",
        (-10.0, 10.0),
        (-10.0, 10.0),
        "all pairs",
        f64::atan2
    ),
    FuncSpec {
        max_ulp: 2,
        ..unary!("sinh", -30.0, 30.0, "all", f64::sinh)
    },
    FuncSpec {
        max_ulp: 2,
        ..unary!("cosh", -30.0, 30.0, "all", f64::cosh)
    },
    FuncSpec {
        max_ulp: 2,
        ..unary!("tanh", -20.0, 20.0, "all", f64::tanh)
    },
    binary!(
        "powf",
        (0.0, 4.0),
        (-40.0, 40.0),
        "all pairs, incl. negative bases and IEEE special cases",
        f64::powf
    ),
    FuncSpec {
        name: "powi",
        arity: Arity::WithI32,
        dense: (-4.0, 4.0),
        dense_second: (-64.0, 64.0),
        domain: "all x, all i32 n (same algorithm as Rust: bit-identical)",
        reference: Reference::WithI32(f64::powi, f32::powi),
        max_ulp: 0,
    },
    unary!("cbrt", -10.0, 10.0, "all", f64::cbrt),
    binary!(
        "hypot",
        (-10.0, 10.0),
        (-10.0, 10.0),
        "all pairs",
        f64::hypot
    ),
];

/// Points where Rust's `std` (the platform libm) is itself wrong, with the
/// correctly rounded f64 result (computed with 3000-bit arithmetic in mpmath):
/// `(function, argument bits, correct result bits)`. The measurement uses these
/// instead of `std` at exactly these arguments.
///
/// 6381956970095103 * 2^797 is the double closest to a multiple of pi/2
/// (x mod pi/2 ~ 4.7e-19); glibc's cos and tan lose ~3 bits there. glibc's log10
/// is not correctly rounded (1.5 ulp off at 0.5826003971864506).
pub const KNOWN_REFERENCE_ERRORS: &[(&str, u64, u64)] = &[
    ("log10", 0x3fe2_a4a9_9691_ad64, 0xbfce_0854_9516_134b),
    ("cos", 0x7506_ac5b_262c_a1ff, 0xbc21_4ae7_2e6b_a22f),
    ("cos", 0xf506_ac5b_262c_a1ff, 0xbc21_4ae7_2e6b_a22f),
    ("tan", 0x7506_ac5b_262c_a1ff, 0xc3bd_9ba9_a797_5636),
    ("tan", 0xf506_ac5b_262c_a1ff, 0x43bd_9ba9_a797_5636),
];

/// The reference result of `func` at `x`: `std`, or the correction from
/// [`KNOWN_REFERENCE_ERRORS`].
pub fn reference_f64(func: &str, reference: fn(f64) -> f64, x: f64) -> f64 {
    KNOWN_REFERENCE_ERRORS
        .iter()
        .find(|&&(name, arg, _)| name == func && arg == x.to_bits())
        .map_or_else(|| reference(x), |&(_, _, correct)| f64::from_bits(correct))
}

/// Looks a function up in [`FUNCTIONS`].
pub fn func_spec(name: &str) -> Option<&'static FuncSpec> {
    FUNCTIONS.iter().find(|spec| spec.name == name)
}

/// SplitMix64: a small deterministic generator so every run samples the same points.
pub struct SampleRng(u64);

impl SampleRng {
    pub fn new(seed: u64) -> Self {
        SampleRng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    pub fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// |x| log-uniform in [2^lo_exp, 2^hi_exp) with a random sign.
    pub fn log_uniform(&mut self, lo_exp: f64, hi_exp: f64) -> f64 {
        let magnitude = (lo_exp + (hi_exp - lo_exp) * self.unit()).exp2();
        if self.next_u64() & 1 == 0 {
            magnitude
        } else {
            -magnitude
        }
    }
}

fn seed_for(func: &str, salt: u64) -> u64 {
    func.bytes().fold(0xcbf2_9ce4_8422_2325 ^ salt, |h, b| {
        (h ^ b as u64).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Values every function is tested at, f64 version.
pub fn special_values_f64() -> Vec<f64> {
    let mut values = vec![
        0.0,
        1.0,
        2.0,
        0.5,
        3.0,
        10.0,
        100.0,
        1e-300,
        1e300,
        f64::INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
        f64::MIN_POSITIVE * 0.5,
        f64::from_bits(1),
        f64::from_bits(0x000f_ffff_ffff_ffff),
        f64::MAX,
        f64::EPSILON,
        1.0 + f64::EPSILON,
        1.0 - f64::EPSILON / 2.0,
        std::f64::consts::PI,
        std::f64::consts::FRAC_PI_2,
        std::f64::consts::FRAC_PI_4,
        std::f64::consts::E,
        std::f64::consts::LN_2,
        709.782712893384,
        709.7827128933841,
        -745.1332191019411,
        -745.1332191019412,
        -708.3964185322641,
        1023.9999999999999,
        -1074.0,
        -1074.5,
        -1022.0,
        710.4758600739439,
        1e22,
        1e200,
        6381956970095103.0 * 2f64.powi(797),
        5.0e-324,
        0.75,
        22.0,
        0.9999999999999999,
        1.0000000000000002,
    ];
    let negatives: Vec<f64> = values.iter().map(|v| -v).collect();
    values.extend(negatives);
    values
}

/// Extra points for functions with known hard regions.
fn function_specific_f64(func: &str, rng: &mut SampleRng, out: &mut Vec<f64>, n: usize) {
    match func {
        "sin" | "cos" | "tan" => {
            // Near multiples of pi/2 (moderate and huge), where reduction cancels.
            for i in 0..n {
                let k = if i % 2 == 0 {
                    (rng.next_u64() % 2_000_000) as f64 - 1_000_000.0
                } else {
                    rng.log_uniform(0.0, 1000.0).round()
                };
                let base = k * std::f64::consts::FRAC_PI_2;
                let ulps = (rng.next_u64() % 64) as i64 - 32;
                out.push(nudge_f64(base, ulps));
            }
        }
        "exp" | "exp2" | "exp_m1" | "sinh" | "cosh" => {
            let thresholds = [
                709.782712893384,
                -745.1332191019411,
                -708.4,
                1024.0,
                -1022.0,
                -1074.0,
                710.475860073944,
                22.0,
            ];
            for i in 0..n {
                let t = thresholds[i % thresholds.len()];
                out.push(nudge_f64(t, (rng.next_u64() % 2048) as i64 - 1024));
            }
        }
        "ln" | "log2" | "log10" | "ln_1p" | "acos" | "asin" | "cbrt" => {
            for i in 0..n {
                let centre = [1.0, -1.0, 0.0, 1e-310][i % 4];
                out.push(nudge_f64(
                    centre,
                    (rng.next_u64() % 100_000) as i64 - 50_000,
                ));
            }
        }
        _ => {}
    }
}

/// The float `ulps` steps away from `x` in the ordered representation.
pub fn nudge_f64(x: f64, ulps: i64) -> f64 {
    from_ordered_f64(to_ordered_f64(x).saturating_add(ulps))
}

fn to_ordered_f64(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    if bits < 0 {
        i64::MIN - bits
    } else {
        bits
    }
}

fn from_ordered_f64(o: i64) -> f64 {
    if o < 0 {
        f64::from_bits((i64::MIN - o) as u64)
    } else {
        f64::from_bits(o as u64)
    }
}

fn to_ordered_f32(x: f32) -> i64 {
    let bits = x.to_bits() as i32 as i64;
    if bits < 0 {
        i32::MIN as i64 - bits
    } else {
        bits
    }
}

/// ULP distance between two f64 results: steps between them in the ordered
/// integer representation (so +0 and -0 are 0 apart; check zero signs separately).
/// Two NaNs are 0 apart; a NaN and a number are `u64::MAX` apart.
pub fn ulp_diff_f64(a: f64, b: f64) -> u64 {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => 0,
        (false, false) => {
            (to_ordered_f64(a) as i128 - to_ordered_f64(b) as i128).unsigned_abs() as u64
        }
        _ => u64::MAX,
    }
}

/// [`ulp_diff_f64`] for f32.
pub fn ulp_diff_f32(a: f32, b: f32) -> u64 {
    match (a.is_nan(), b.is_nan()) {
        (true, true) => 0,
        (false, false) => (to_ordered_f32(a) - to_ordered_f32(b)).unsigned_abs(),
        _ => u64::MAX,
    }
}

/// True when both are zeros of different signs (a failure even at 0 ULP).
pub fn zero_sign_differs_f64(a: f64, b: f64) -> bool {
    a == 0.0 && b == 0.0 && a.is_sign_negative() != b.is_sign_negative()
}

pub fn zero_sign_differs_f32(a: f32, b: f32) -> bool {
    a == 0.0 && b == 0.0 && a.is_sign_negative() != b.is_sign_negative()
}

/// `n` f64 arguments for the unary function `func`: special values, 30% dense in
/// the function's interesting interval, 25% random bit patterns (every exponent,
/// NaNs, subnormals), 25% log-uniform magnitudes, the rest function-specific.
pub fn sample_points_f64(func: &str, n: usize) -> Vec<f64> {
    let spec = func_spec(func);
    let (lo, hi) = spec.map_or((-10.0, 10.0), |s| s.dense);
    let mut rng = SampleRng::new(seed_for(func, 1));
    let mut out = special_values_f64();
    let dense = n * 3 / 10;
    let bits = n / 4;
    let logu = n / 4;
    for _ in 0..dense {
        out.push(rng.uniform(lo, hi));
    }
    for _ in 0..bits {
        out.push(f64::from_bits(rng.next_u64()));
    }
    for _ in 0..logu {
        out.push(rng.log_uniform(-1074.0, 1024.0));
    }
    let rest = n.saturating_sub(out.len());
    function_specific_f64(func, &mut rng, &mut out, rest);
    while out.len() < n {
        out.push(rng.log_uniform(-30.0, 30.0));
    }
    out.truncate(n.max(special_values_f64().len()));
    out
}

/// `n` f32 arguments: random f32 bit patterns (a quarter) and the f64 samples
/// rounded to f32.
pub fn sample_points_f32(func: &str, n: usize) -> Vec<f32> {
    let mut rng = SampleRng::new(seed_for(func, 2));
    let mut out: Vec<f32> = special_values_f64().iter().map(|&v| v as f32).collect();
    for _ in 0..n / 4 {
        out.push(f32::from_bits(rng.next_u64() as u32));
    }
    let rest = n.saturating_sub(out.len());
    out.extend(sample_points_f64(func, rest).into_iter().map(|v| v as f32));
    out
}

/// `n` argument pairs for the binary function `func` (for `powi`, the second is an
/// integral value in i32 range): the cross product of special values, dense pairs,
/// random bit patterns and log-uniform pairs, plus function-specific pairs.
pub fn sample_pairs_f64(func: &str, n: usize) -> Vec<(f64, f64)> {
    let spec = func_spec(func);
    let ((lo1, hi1), (lo2, hi2)) = spec.map_or(((-10.0, 10.0), (-10.0, 10.0)), |s| {
        (s.dense, s.dense_second)
    });
    let is_powi = spec.is_some_and(|s| s.arity == Arity::WithI32);
    let mut rng = SampleRng::new(seed_for(func, 3));
    let specials = special_values_f64();
    let mut out = Vec::with_capacity(n + specials.len() * specials.len());
    for &a in &specials {
        for &b in &specials {
            out.push((a, b));
        }
    }
    let quarter = n / 4;
    for _ in 0..quarter {
        out.push((rng.uniform(lo1, hi1), rng.uniform(lo2, hi2)));
    }
    for _ in 0..quarter {
        out.push((
            f64::from_bits(rng.next_u64()),
            f64::from_bits(rng.next_u64()),
        ));
    }
    for _ in 0..quarter {
        out.push((
            rng.log_uniform(-1074.0, 1024.0),
            rng.log_uniform(-1074.0, 1024.0),
        ));
    }
    while out.len() < n {
        let pair = match func {
            "powf" => {
                // Bases near 1 with large exponents, negative bases with integral
                // exponents, and results near overflow/underflow.
                match rng.next_u64() % 4 {
                    0 => (
                        nudge_f64(1.0, (rng.next_u64() % 2_000_000) as i64 - 1_000_000),
                        rng.log_uniform(0.0, 40.0),
                    ),
                    1 => (
                        -rng.log_uniform(-20.0, 20.0).abs(),
                        ((rng.next_u64() % 200) as f64) - 100.0,
                    ),
                    2 => {
                        let x = rng.log_uniform(-30.0, 30.0).abs();
                        let target = rng.uniform(-745.0, 709.7);
                        (x, target / x.ln())
                    }
                    _ => (rng.uniform(0.0, 1e3), rng.uniform(-100.0, 100.0)),
                }
            }
            "fmod" => (
                rng.log_uniform(-1074.0, 1024.0),
                rng.log_uniform(-60.0, 60.0),
            ),
            "hypot" => {
                let a = rng.log_uniform(-1074.0, 1024.0);
                (a, a * rng.log_uniform(-40.0, 40.0))
            }
            "atan2" => (rng.log_uniform(-30.0, 30.0), rng.log_uniform(-30.0, 30.0)),
            _ => (rng.log_uniform(-30.0, 30.0), rng.log_uniform(-30.0, 30.0)),
        };
        out.push(pair);
    }
    if is_powi {
        for (i, pair) in out.iter_mut().enumerate() {
            let n = if i % 8 == 0 {
                (rng.next_u64() as i32) as f64
            } else if pair.1.is_finite() && pair.1.abs() < 64.0 {
                pair.1.round()
            } else {
                ((rng.next_u64() % 129) as i64 - 64) as f64
            };
            *pair = (pair.0, n);
        }
    }
    out
}

/// f32 pairs: f32 bit patterns (a quarter) and the f64 pairs rounded to f32.
pub fn sample_pairs_f32(func: &str, n: usize) -> Vec<(f32, f32)> {
    let mut rng = SampleRng::new(seed_for(func, 4));
    let mut out = Vec::with_capacity(n);
    for _ in 0..n / 4 {
        out.push((
            f32::from_bits(rng.next_u64() as u32),
            f32::from_bits(rng.next_u64() as u32),
        ));
    }
    let rest = n.saturating_sub(out.len());
    out.extend(
        sample_pairs_f64(func, rest)
            .into_iter()
            .map(|(a, b)| (a as f32, b as f32)),
    );
    if func_spec(func).is_some_and(|s| s.arity == Arity::WithI32) {
        for pair in out.iter_mut() {
            if !(pair.1.is_finite() && pair.1.abs() < 1e9) {
                pair.1 = 3.0;
            }
            pair.1 = pair.1.round();
        }
    }
    out
}

/// The result of measuring one function at many points.
#[derive(Clone, Debug)]
pub struct UlpReport {
    pub points: usize,
    pub max_ulp: u64,
    /// The argument(s) of the worst result, with the two results.
    pub worst: String,
    /// A description of the first signed-zero mismatch, if any.
    pub zero_sign_mismatch: Option<String>,
}

impl UlpReport {
    pub fn new() -> Self {
        UlpReport {
            points: 0,
            max_ulp: 0,
            worst: String::new(),
            zero_sign_mismatch: None,
        }
    }

    pub fn record(
        &mut self,
        ulps: u64,
        zero_sign_differs: bool,
        describe: impl FnOnce() -> String,
    ) {
        self.points += 1;
        if zero_sign_differs && self.zero_sign_mismatch.is_none() {
            self.zero_sign_mismatch = Some(describe());
            return;
        }
        if ulps > self.max_ulp || (self.worst.is_empty() && ulps == self.max_ulp) {
            self.max_ulp = ulps;
            self.worst = describe();
        }
    }
}

impl Default for UlpReport {
    fn default() -> Self {
        Self::new()
    }
}
