//! The optimized tier (`backend::llvm::host`, feature `llvm`) against the
//! baseline (Cranelift): the same bits for the same calls, the same traps at the
//! same source spans, the same `print!` text, one calling convention
//! (`CompiledFunction`), and no fused multiply-add where the IR has a multiply
//! and an add.

#![cfg(feature = "llvm")]

use kern_compiler::backend::cranelift::{CallError, CompiledFunction, JitEngine};
use kern_compiler::backend::llvm::host;
use kern_compiler::frontend::{compile_text, Compiled};
use kern_compiler::ir::{ArrayDesc, HostArg, ScalarValue, Trap, MAX_RANK};

const SOURCE: &str = r#"
fn poly(x: f64) -> f64 {
    let mut acc = 0.0;
    let mut i = 0;
    while i < 8 {
        acc = acc * x + 1.0 / ((i + 1) as f64);
        i += 1;
    }
    acc
}

fn transcendental(x: f64) -> f64 {
    (-(x * x)).exp() * x.sin() + x.abs().ln_1p()
}

fn fused(a: f64, b: f64, c: f64) -> f64 {
    a.mul_add(b, c)
}

fn muladd(a: f64, b: f64, c: f64) -> f64 {
    a * b + c
}

fn narrow(x: f32, n: i32, flag: bool) -> i64 {
    let y = if flag { x * 3.5 } else { x / 7.0 };
    (y as i64) + (n as i64) * 3 - (n / 2) as i64
}

fn divide(a: i64, b: i64) -> i64 {
    a / b
}

fn checked(x: i64) -> i64 {
    assert!(x > 0, "x must be positive");
    x + 1
}

fn forever(n: i64) -> i64 {
    if n == 0 { 0 } else { 1 + forever(n + 1) }
}

fn countdown(n: i64) -> i64 {
    if n == 0 { 0 } else { n + countdown(n - 1) }
}

fn sum_every(xs: &[f64], step: usize) -> f64 {
    let mut s = 0.0;
    let mut i = 0;
    while i < xs.len() {
        s += xs[i];
        i += step;
    }
    s + xs[xs.len()]
}

fn shout(x: f64, n: i32) -> i32 {
    println!("x = {}, n = {}, both: {} {}", x, n, x > 1.0, n as u8);
    n * 2
}
"#;

fn program() -> Compiled {
    compile_text("tiers.kern", SOURCE)
        .unwrap_or_else(|e| panic!("the test program compiles:\n{e}"))
        .0
}

/// `name` compiled by both tiers: (baseline, optimized).
fn both(compiled: &Compiled, name: &str) -> (CompiledFunction, CompiledFunction) {
    let id = compiled.functions[name];
    let baseline = JitEngine::new()
        .expect("host ISA")
        .compile(&compiled.program, id)
        .expect("Cranelift compiles it");
    let optimized = host::compile(&compiled.program, id)
        .unwrap_or_else(|e| panic!("LLVM compiles `{name}`: {e}"));
    assert_eq!(
        (baseline.engine(), optimized.engine()),
        ("cranelift", "llvm")
    );
    (baseline, optimized)
}

fn call(f: &CompiledFunction, args: &[ScalarValue]) -> Result<Option<ScalarValue>, CallError> {
    f.call_scalars(args, &mut std::io::sink())
}

/// The bits of a result, NaNs as one value: the IR leaves a NaN result's sign
/// and payload unspecified (`ir/mod.rs`), and LLVM's folding may pick another
/// NaN than the hardware; every other bit must agree.
fn bits(v: Option<ScalarValue>) -> Option<u64> {
    v.map(|v| match v {
        ScalarValue::F64(x) if x.is_nan() => f64::NAN.to_bits(),
        ScalarValue::F32(x) if x.is_nan() => f32::NAN.to_bits() as u64,
        v => v.to_bits(),
    })
}

fn trap(result: Result<Option<ScalarValue>, CallError>) -> Trap {
    match result {
        Err(CallError::Trap(t)) => t,
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// Inputs around every special case of `f64`.
fn samples() -> Vec<f64> {
    let mut xs = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        1e-310,
        -1e-310,
        1e300,
        -1e300,
        700.0,
        -745.5,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        f64::MIN_POSITIVE,
        f64::MAX,
        std::f64::consts::PI,
        1e22,
        3.0e-8,
    ];
    let mut x = 0.123_f64;
    for _ in 0..400 {
        x = (x * 7.77 + 0.31).fract() * 40.0 - 20.0;
        xs.push(x);
    }
    xs
}

#[test]
fn scalar_functions_give_the_same_bits_on_both_tiers() {
    let compiled = program();
    for name in ["poly", "transcendental"] {
        let (baseline, optimized) = both(&compiled, name);
        for x in samples() {
            let args = [ScalarValue::F64(x)];
            let (b, o) = (
                call(&baseline, &args).unwrap(),
                call(&optimized, &args).unwrap(),
            );
            assert_eq!(bits(b), bits(o), "{name}({x:e}): {b:?} vs {o:?}");
        }
    }
    let (baseline, optimized) = both(&compiled, "muladd");
    let (fb, fo) = both(&compiled, "fused");
    for (a, b, c) in [
        (0.1, 10.0, -1.0),
        (1.0 + 1e-16, 1.0 - 1e-16, -1.0),
        (3.0, 1.0 / 3.0, -1.0),
    ] {
        let args = [
            ScalarValue::F64(a),
            ScalarValue::F64(b),
            ScalarValue::F64(c),
        ];
        assert_eq!(
            bits(call(&baseline, &args).unwrap()),
            bits(call(&optimized, &args).unwrap())
        );
        assert_eq!(
            bits(call(&fb, &args).unwrap()),
            bits(call(&fo, &args).unwrap())
        );
    }
    let (baseline, optimized) = both(&compiled, "narrow");
    for (x, n, flag) in [
        (1.5f32, 7, true),
        (-1e10, -9, false),
        (f32::NAN, i32::MIN, true),
        (3e38, 1, true),
    ] {
        let args = [
            ScalarValue::F32(x),
            ScalarValue::I32(n),
            ScalarValue::Bool(flag),
        ];
        assert_eq!(
            call(&baseline, &args).unwrap(),
            call(&optimized, &args).unwrap()
        );
    }
}

#[test]
fn traps_have_the_same_kind_and_span_on_both_tiers() {
    let compiled = program();
    let cases: [(&str, Vec<ScalarValue>); 3] = [
        ("divide", vec![ScalarValue::I64(1), ScalarValue::I64(0)]),
        (
            "divide",
            vec![ScalarValue::I64(i64::MIN), ScalarValue::I64(-1)],
        ),
        ("checked", vec![ScalarValue::I64(-3)]),
    ];
    for (name, args) in cases {
        let (baseline, optimized) = both(&compiled, name);
        assert_eq!(
            trap(call(&baseline, &args)),
            trap(call(&optimized, &args)),
            "{name}"
        );
    }
    // Deep recursion: the depth guard traps at the recursive call on both.
    let (baseline, optimized) = both(&compiled, "forever");
    let args = [ScalarValue::I64(1)];
    let t = trap(call(&optimized, &args));
    assert_eq!(trap(call(&baseline, &args)), t);
    assert_eq!(t.kind, kern_compiler::ir::TrapKind::RecursionLimit);
    // Recursion within the limit is no trap, and the depth is restored.
    let (baseline, optimized) = both(&compiled, "countdown");
    for n in [0, 10, 900] {
        let args = [ScalarValue::I64(n)];
        assert_eq!(
            call(&baseline, &args).unwrap(),
            call(&optimized, &args).unwrap()
        );
    }
}

fn descriptor(data: &mut [f64]) -> ArrayDesc {
    let mut shape = [0; MAX_RANK];
    let mut strides = [0; MAX_RANK];
    shape[0] = data.len() as i64;
    strides[0] = 1;
    ArrayDesc {
        data: data.as_mut_ptr() as *mut u8,
        shape,
        strides,
    }
}

#[test]
fn arrays_pass_through_the_same_descriptors_and_trap_at_the_same_index() {
    let compiled = program();
    let (baseline, optimized) = both(&compiled, "sum_every");
    let mut data: Vec<f64> = (0..37).map(|i| i as f64 * 0.1).collect();
    let desc = descriptor(&mut data);
    let args = [HostArg::Array(desc), HostArg::Scalar(ScalarValue::Usize(3))];
    // SAFETY: `desc` describes `data`, alive for both calls.
    let (b, o) = unsafe {
        (
            baseline.call(&args, &mut std::io::sink()),
            optimized.call(&args, &mut std::io::sink()),
        )
    };
    let (b, o) = (trap(b), trap(o));
    assert_eq!(b, o);
    assert!(matches!(
        o.kind,
        kern_compiler::ir::TrapKind::IndexOutOfBounds { index: 37, len: 37 }
    ));
}

#[test]
fn print_writes_the_same_text_on_both_tiers() {
    let compiled = program();
    let (baseline, optimized) = both(&compiled, "shout");
    let args = [ScalarValue::F64(2.5), ScalarValue::I32(300)];
    let (mut b_out, mut o_out) = (Vec::new(), Vec::new());
    let b = baseline.call_scalars(&args, &mut b_out).unwrap();
    let o = optimized.call_scalars(&args, &mut o_out).unwrap();
    assert_eq!(b, o);
    assert_eq!(
        String::from_utf8(o_out).unwrap(),
        String::from_utf8(b_out).unwrap()
    );
}

#[test]
fn arguments_are_checked_as_for_the_baseline() {
    let compiled = program();
    let (_, optimized) = both(&compiled, "divide");
    let err = call(&optimized, &[ScalarValue::F64(1.0), ScalarValue::I64(1)]).unwrap_err();
    assert!(matches!(err, CallError::Arguments { .. }), "{err}");
}

/// A multiply and an add stay two roundings (no `fmuladd`, no contraction in
/// the code generator); `mul_add` is one fused instruction where the CPU has it.
#[cfg(target_arch = "x86_64")]
#[test]
fn a_multiply_and_an_add_are_never_fused() {
    let compiled = program();
    let asm = |name: &str| host::emit_asm(&compiled.program, compiled.functions[name]).unwrap();
    let ir = |name: &str| host::emit_llvm_ir(&compiled.program, compiled.functions[name]).unwrap();
    for name in ["muladd", "poly", "transcendental"] {
        assert!(
            !asm(name).contains("vfmadd"),
            "{name} fused:\n{}",
            asm(name)
        );
        assert!(!ir(name).contains("fmuladd"), "{name}:\n{}", ir(name));
        assert!(!ir(name).contains(" fast "), "{name}: fast-math flags");
    }
    let (_, features) = host::host_cpu();
    if features.contains("+fma") {
        assert!(asm("fused").contains("vfmadd"), "{}", asm("fused"));
    }
}
