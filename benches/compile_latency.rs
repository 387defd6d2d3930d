//! Compile latency: from kern source text to a callable machine-code function.
//!
//! Goal (issue 2): median under 1 ms for a saxpy-sized ufunc body and for
//! `is_prime`. Numba's first call of the same functions takes 50–250 ms.
//! Each iteration starts from text: parse, check, lower, Cranelift codegen, and one
//! call (so the function is known to be callable).

use criterion::{criterion_group, criterion_main, Criterion};
use kern::{Module, ScalarValue};

const SAXPY: &str = "
#[vectorize]
fn saxpy(a: f32, x: f32, y: f32) -> f32 {
    a * x + y
}
";

const IS_PRIME: &str = "
fn is_prime(n: i64) -> bool {
    if n < 2 { return false; }
    let mut i = 2;
    while i * i <= n {
        if n % i == 0 { return false; }
        i += 1;
    }
    true
}
";

fn compile_and_call(source: &str, name: &str, args: &[ScalarValue]) -> Option<ScalarValue> {
    let mut module = Module::from_source("bench.kern", source).expect("valid source");
    module
        .call(name, args, &mut std::io::sink())
        .expect("call succeeds")
}

fn compile_latency(c: &mut Criterion) {
    // The stdlib is parsed once per process: pay that outside the measurement, as a
    // long-running program would.
    compile_and_call(IS_PRIME, "is_prime", &[ScalarValue::I64(7)]);

    let mut group = c.benchmark_group("compile_latency");
    group.bench_function("saxpy_f32", |b| {
        b.iter(|| {
            compile_and_call(
                SAXPY,
                "saxpy",
                &[
                    ScalarValue::F32(2.0),
                    ScalarValue::F32(1.0),
                    ScalarValue::F32(0.5),
                ],
            )
        })
    });
    group.bench_function("is_prime", |b| {
        b.iter(|| compile_and_call(IS_PRIME, "is_prime", &[ScalarValue::I64(1_000_003)]))
    });
    group.finish();
}

criterion_group!(benches, compile_latency);
criterion_main!(benches);
