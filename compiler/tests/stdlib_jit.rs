//! The stdlib as kern actually runs it: every math function, compiled by kern's
//! front end and Cranelift, measured in ULPs against Rust's `std` at the sample
//! points of `common/stdlib_samples.rs`, and compared bit for bit with the
//! reference interpreter on a subset of the same points.
//!
//! `KERN_STDLIB_SAMPLES` sets the points per function and type (default 20 000 to
//! keep `cargo test` quick; CI runs `KERN_STDLIB_SAMPLES=1000000 cargo test
//! --release -p kern-compiler --test stdlib_jit -- --nocapture`, which prints the
//! table recorded in `docs/stdlib.md`).

mod common;

use common::stdlib_samples::*;
use kern_compiler::backend::cranelift::{CompiledFunction, JitEngine};
use kern_compiler::frontend;
use kern_compiler::interp::Interpreter;
use kern_compiler::ir::{FuncId, InstKind, Program, ScalarType, ScalarValue};
use kern_compiler::loops::elementwise::{build_elementwise_loop, LoopSignature};
use kern_compiler::SourceMap;

fn samples() -> usize {
    std::env::var("KERN_STDLIB_SAMPLES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
}

/// The kern expression that calls the stdlib function `name` on `x` (and `y`/`n`).
fn call_expression(spec: &FuncSpec) -> String {
    match (spec.name, spec.arity) {
        ("fmod", _) => "x % y".to_string(),
        (name, Arity::Unary) => format!("x.{name}()"),
        (name, Arity::Binary) => format!("x.{name}(y)"),
        (name, Arity::WithI32) => format!("x.{name}(n)"),
    }
}

/// A kern program with `f64_NAME` and `f32_NAME` wrappers for every function.
fn wrapper_program() -> String {
    FUNCTIONS.iter().map(wrappers).collect()
}

/// The `f64_NAME` and `f32_NAME` wrappers of one function.
fn wrappers(spec: &FuncSpec) -> String {
    let mut src = String::new();
    let call = call_expression(spec);
    for t in ["f64", "f32"] {
        let params = match spec.arity {
            Arity::Unary => format!("x: {t}"),
            Arity::Binary => format!("x: {t}, y: {t}"),
            Arity::WithI32 => format!("x: {t}, n: i32"),
        };
        src.push_str(&format!(
            "fn {t}_{}({params}) -> {t} {{ {call} }}\n",
            spec.name
        ));
    }
    src
}

/// The front end parses only the stdlib files a program reaches: each function,
/// called alone, must reach every file its definition needs.
#[test]
fn every_stdlib_function_compiles_in_a_program_that_uses_only_it() {
    for spec in FUNCTIONS {
        let mut sources = SourceMap::new();
        let file = sources.add(format!("{}.kern", spec.name), wrappers(spec));
        if let Err(d) = frontend::compile(&mut sources, file) {
            panic!(
                "`{}` alone does not compile:\n{}",
                spec.name,
                d.render(&sources)
            );
        }
    }
}

/// A trigonometric function's elementwise loop, where everything is inlined, holds
/// its reduction once: the reduction hands n, y0 and y1 on to `kern_trig_reduced`
/// instead of being called once per result (the Payne–Hanek path reads seven
/// words of the 2/pi table; it was inlined three times, twelve reads each), and
/// the function's constant selector keeps only its own kernels (seen by a
/// coefficient of each: sin and cos use the sin kernel and not the tan kernel,
/// tan the other way round).
#[test]
fn a_trigonometric_loop_holds_its_reduction_once() {
    const SIN_COEFFICIENT: f64 = 1.589_690_995_211_55e-10; // KERN_S6
    const TAN_COEFFICIENT: f64 = 2.590_730_518_636_337e-5; // KERN_T12
    for (name, uses_tan_kernel) in [("sin", false), ("cos", false), ("tan", true)] {
        let (program, lp) = elementwise_loop(name, ScalarType::F64);
        let insts = || program.function(lp).body.insts_deep();
        let table_reads = insts()
            .filter(|i| matches!(i.kind, InstKind::LoadConst { .. }))
            .count();
        let constants = |c: f64| {
            insts()
                .filter(|i| i.kind == InstKind::Const(ScalarValue::F64(c)))
                .count()
        };
        assert_eq!(table_reads, 7, "{name}");
        assert_eq!(constants(SIN_COEFFICIENT) > 0, !uses_tan_kernel, "{name}");
        assert_eq!(constants(TAN_COEFFICIENT) > 0, uses_tan_kernel, "{name}");
    }
}

/// The f32 functions that compute in f32 (docs/stdlib.md) convert nothing to f64
/// in their elementwise loop, rare paths included: a vector loop runs them in
/// f32 lanes only. Those that take an f64 detour (`sin` and `cos` reduce in f64,
/// `tan` evaluates the f64 function) do.
#[test]
fn the_f32_functions_computed_in_f32_convert_nothing_to_f64() {
    let conversions_to_f64 = |name: &str| {
        let (program, lp) = elementwise_loop(name, ScalarType::F32);
        let body = &program.function(lp).body;
        body.insts_deep()
            .filter(|i| matches!(i.kind, InstKind::Cast(_, ScalarType::F64)))
            .count()
    };
    for name in [
        "exp", "exp2", "exp_m1", "ln", "ln_1p", "log2", "log10", "asin", "acos", "atan", "sinh",
        "cosh", "tanh", "cbrt",
    ] {
        assert_eq!(conversions_to_f64(name), 0, "{name}");
    }
    for name in ["sin", "cos", "tan"] {
        assert!(conversions_to_f64(name) > 0, "{name}");
    }
}

/// The elementwise loop of `#[vectorize] fn f(x: T) -> T { x.NAME() }`, everything
/// inlined, and the program holding it.
fn elementwise_loop(name: &str, ty: ScalarType) -> (Program, FuncId) {
    let src = format!("#[vectorize] fn f(x: {ty}) -> {ty} {{ x.{name}() }}");
    let mut sources = SourceMap::new();
    let file = sources.add("t.kern", src);
    let mut program = match frontend::compile(&mut sources, file) {
        Ok(c) => c.program,
        Err(d) => panic!("{}", d.render(&sources)),
    };
    let signature = LoopSignature {
        inputs: vec![ty],
        output: ty,
    };
    let f = program.find("f").unwrap();
    let (_, lp) = build_elementwise_loop(&mut program, f, &signature).unwrap();
    (program, lp)
}

struct Compiled {
    program: Program,
    functions: std::collections::BTreeMap<String, FuncId>,
    engine: JitEngine,
}

impl Compiled {
    fn new() -> Compiled {
        let mut sources = SourceMap::new();
        let file = sources.add("stdlib_wrappers.kern", wrapper_program());
        let compiled = match frontend::compile(&mut sources, file) {
            Ok(c) => c,
            Err(d) => panic!("wrappers do not compile:\n{}", d.render(&sources)),
        };
        Compiled {
            program: compiled.program,
            functions: compiled.functions,
            engine: JitEngine::new().expect("host ISA"),
        }
    }

    fn jit(&mut self, name: &str) -> (FuncId, CompiledFunction) {
        let id = self.functions[name];
        (
            id,
            self.engine.compile(&self.program, id).expect("compiles"),
        )
    }
}

fn run(code: &CompiledFunction, args: &[ScalarValue]) -> ScalarValue {
    code.call_scalars(args, &mut std::io::sink())
        .expect("no trap")
        .expect("a value")
}

fn interpret(program: &Program, id: FuncId, args: &[ScalarValue]) -> ScalarValue {
    Interpreter::new(program)
        .call_scalars(id, args, &mut std::io::sink())
        .expect("no trap")
        .expect("a value")
}

#[test]
fn every_stdlib_function_compiled_by_kern_is_within_its_ulp_bound_and_matches_the_interpreter() {
    let n = samples();
    let interpreted_every = (n / 2_000).max(1);
    let mut compiled = Compiled::new();
    let mut failures = Vec::new();
    let mut table = vec![format!(
        "| function | f64 max ULP | f32 max ULP | points per type |\n|---|---|---|---|"
    )];
    for spec in FUNCTIONS {
        let (id64, jit64) = compiled.jit(&format!("f64_{}", spec.name));
        let (id32, jit32) = compiled.jit(&format!("f32_{}", spec.name));
        let mut r64 = UlpReport::new();
        let mut r32 = UlpReport::new();
        let mut mismatches = 0usize;
        let mut check_interp = |k: usize, id: FuncId, args: &[ScalarValue], got: ScalarValue| {
            if k.is_multiple_of(interpreted_every) {
                let want = interpret(&compiled.program, id, args);
                if !want.same_result(got) {
                    mismatches += 1;
                    if mismatches < 4 {
                        failures.push(format!(
                            "{}: JIT {got:?} but interpreter {want:?} at {args:?}",
                            spec.name
                        ));
                    }
                }
            }
        };
        match spec.reference {
            Reference::Unary(want64, want32) => {
                for (k, x) in sample_points_f64(spec.name, n).into_iter().enumerate() {
                    let args = [ScalarValue::F64(x)];
                    let got = run(&jit64, &args);
                    check_interp(k, id64, &args, got);
                    let (want, got) = (reference_f64(spec.name, want64, x), as_f64(got));
                    r64.record(
                        ulp_diff_f64(want, got),
                        zero_sign_differs_f64(want, got),
                        || format!("x={x:e}: std {want:e}, kern {got:e}"),
                    );
                }
                for (k, x) in sample_points_f32(spec.name, n).into_iter().enumerate() {
                    let args = [ScalarValue::F32(x)];
                    let got = run(&jit32, &args);
                    check_interp(k, id32, &args, got);
                    let (want, got) = (want32(x), as_f32(got));
                    r32.record(
                        ulp_diff_f32(want, got),
                        zero_sign_differs_f32(want, got),
                        || format!("x={x:e}: std {want:e}, kern {got:e}"),
                    );
                }
            }
            Reference::Binary(want64, want32) => {
                for (k, (x, y)) in sample_pairs_f64(spec.name, n).into_iter().enumerate() {
                    let args = [ScalarValue::F64(x), ScalarValue::F64(y)];
                    let got = run(&jit64, &args);
                    check_interp(k, id64, &args, got);
                    let (want, got) = (want64(x, y), as_f64(got));
                    r64.record(
                        ulp_diff_f64(want, got),
                        zero_sign_differs_f64(want, got),
                        || format!("x={x:e}, y={y:e}: std {want:e}, kern {got:e}"),
                    );
                }
                for (k, (x, y)) in sample_pairs_f32(spec.name, n).into_iter().enumerate() {
                    let args = [ScalarValue::F32(x), ScalarValue::F32(y)];
                    let got = run(&jit32, &args);
                    check_interp(k, id32, &args, got);
                    let (want, got) = (want32(x, y), as_f32(got));
                    r32.record(
                        ulp_diff_f32(want, got),
                        zero_sign_differs_f32(want, got),
                        || format!("x={x:e}, y={y:e}: std {want:e}, kern {got:e}"),
                    );
                }
            }
            Reference::WithI32(want64, want32) => {
                for (k, (x, n)) in sample_pairs_f64(spec.name, n).into_iter().enumerate() {
                    let n = n as i32;
                    let args = [ScalarValue::F64(x), ScalarValue::I32(n)];
                    let got = run(&jit64, &args);
                    check_interp(k, id64, &args, got);
                    let (want, got) = (want64(x, n), as_f64(got));
                    r64.record(
                        ulp_diff_f64(want, got),
                        zero_sign_differs_f64(want, got),
                        || format!("x={x:e}, n={n}: std {want:e}, kern {got:e}"),
                    );
                }
                for (k, (x, n)) in sample_pairs_f32(spec.name, n).into_iter().enumerate() {
                    let n = n as i32;
                    let args = [ScalarValue::F32(x), ScalarValue::I32(n)];
                    let got = run(&jit32, &args);
                    check_interp(k, id32, &args, got);
                    let (want, got) = (want32(x, n), as_f32(got));
                    r32.record(
                        ulp_diff_f32(want, got),
                        zero_sign_differs_f32(want, got),
                        || format!("x={x:e}, n={n}: std {want:e}, kern {got:e}"),
                    );
                }
            }
        }
        for (t, report) in [("f64", &r64), ("f32", &r32)] {
            if report.max_ulp > spec.max_ulp {
                failures.push(format!(
                    "{}_{t}: {} ULP > {} at {}",
                    spec.name, report.max_ulp, spec.max_ulp, report.worst
                ));
            }
            if let Some(z) = &report.zero_sign_mismatch {
                failures.push(format!("{}_{t}: sign of zero differs at {z}", spec.name));
            }
        }
        table.push(format!(
            "| `{}` | {} | {} | {} |",
            spec.name, r64.max_ulp, r32.max_ulp, r64.points
        ));
    }
    println!("{}", table.join("\n"));
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn as_f64(v: ScalarValue) -> f64 {
    match v {
        ScalarValue::F64(x) => x,
        other => panic!("expected f64, got {other:?}"),
    }
}

fn as_f32(v: ScalarValue) -> f32 {
    match v {
        ScalarValue::F32(x) => x,
        other => panic!("expected f32, got {other:?}"),
    }
}
