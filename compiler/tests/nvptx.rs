//! The NVPTX backend without a GPU: PTX and LLVM IR snapshots of small kernels,
//! the kernel ABI each entry declares, the errors for what a GPU cannot run, and
//! PTX for every example and every stdlib function, each checked structurally
//! (and by `ptxas` when it is installed).
#![cfg(feature = "cuda")]

mod common;

use common::ptx::{assert_structurally_valid, stable};
use common::stdlib_samples::{Arity, FUNCTIONS};
use kern_compiler::backend::llvm::nvptx::{
    compile_to_ptx, KernelKind, KernelParam, LlvmError, PtxModule, PtxOptions, TrapRecord,
};
use kern_compiler::frontend::{self, Compiled};
use kern_compiler::ir::{FuncId, Program, ScalarType, TrapKind};
use kern_compiler::kernel_decl::{SchemeType, TypeBound};
use kern_compiler::loops::elementwise::{build_elementwise_loop, LoopSignature};
use kern_compiler::loops::gufunc_loop::{build_gufunc_loop, GufuncLoopSignature};
use kern_compiler::SourceMap;

fn compile_source(name: &str, src: &str) -> (Compiled, SourceMap) {
    frontend::compile_text(name, src).unwrap_or_else(|e| panic!("{e}"))
}

fn compile(src: &str) -> Program {
    compile_source("t.kern", src).0.program
}

fn ptx_of(program: &Program, kernels: &[FuncId]) -> PtxModule {
    let module =
        compile_to_ptx(program, kernels, &PtxOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_structurally_valid(&module);
    module
}

/// The elementwise loop of ufunc `name` for `signature`, in `program`.
fn ufunc_loop(program: &mut Program, name: &str, signature: LoopSignature) -> FuncId {
    let f = program.find(name).expect("the ufunc exists");
    build_elementwise_loop(program, f, &signature).unwrap().1
}

const SAXPY: &str = "#[vectorize] fn saxpy(a: f32, x: f32, y: f32) -> f32 { a * x + y }";

#[test]
fn the_saxpy_loop_is_a_grid_stride_kernel() {
    let mut program = compile(SAXPY);
    let lp = ufunc_loop(
        &mut program,
        "saxpy",
        LoopSignature {
            inputs: vec![ScalarType::F32; 3],
            output: ScalarType::F32,
        },
    );
    let module = ptx_of(&program, &[lp]);
    // No contraction into an FMA: `mul.rn` and `add.rn` keep the CPU's rounding.
    assert!(module.ptx.contains("mul.rn.f32"));
    assert!(module.ptx.contains("add.rn.f32"));
    assert!(!module.ptx.contains("fma"));
    insta::assert_snapshot!("saxpy_ptx", stable(&module.ptx));
}

#[test]
fn the_elementwise_kernel_takes_pointers_strides_and_the_count() {
    let mut program = compile(SAXPY);
    let lp = ufunc_loop(
        &mut program,
        "saxpy",
        LoopSignature {
            inputs: vec![ScalarType::F64, ScalarType::I32, ScalarType::F32],
            output: ScalarType::F64,
        },
    );
    let module = ptx_of(&program, &[lp]);
    let kernel = module.kernel(lp).unwrap();
    assert_eq!(kernel.kind, KernelKind::Elementwise);
    let pointer = |operand: &str, elem, mutable| KernelParam::Pointer {
        operand: operand.into(),
        elem,
        mutable,
    };
    let stride = |operand: &str| KernelParam::Stride {
        operand: operand.into(),
        axis: 0,
    };
    assert_eq!(
        kernel.params,
        vec![
            KernelParam::TrapRecord,
            pointer("in0", ScalarType::F64, false),
            stride("in0"),
            pointer("in1", ScalarType::I32, false),
            stride("in1"),
            pointer("in2", ScalarType::F32, false),
            stride("in2"),
            pointer("out", ScalarType::F64, true),
            stride("out"),
            KernelParam::Count,
        ]
    );
    assert!(module
        .ptx
        .contains(&format!(".param .u64 {}_param_9", kernel.name)));
    // Inputs are never written: LLVM is told so.
    assert!(module.llvm_ir.contains("readonly"), "{}", module.llvm_ir);
}

#[test]
fn a_bounds_checked_load_records_its_site_and_stops_the_thread() {
    let src = "fn get(a: &[f64], i: usize) -> f64 { a[i] }";
    let program = compile(src);
    let get = program.find("get").unwrap();
    let module = ptx_of(&program, &[get]);
    let kernel = module.kernel(get).unwrap();
    assert_eq!(kernel.kind, KernelKind::Scalar);
    assert_eq!(
        kernel.params,
        vec![
            KernelParam::TrapRecord,
            KernelParam::Result {
                ty: ScalarType::F64
            },
            KernelParam::Pointer {
                operand: "a".into(),
                elem: ScalarType::F64,
                mutable: false
            },
            KernelParam::Extent {
                operand: "a".into(),
                axis: 0
            },
            KernelParam::Stride {
                operand: "a".into(),
                axis: 0
            },
            KernelParam::Scalar {
                name: "i".into(),
                ty: ScalarType::Usize
            },
        ]
    );
    // One site, at `a[i]`; the first trapping thread wins the CAS, all exit.
    assert_eq!(module.trap_sites.len(), 1);
    assert_eq!(
        &src[module.trap_sites[0].span.start as usize..module.trap_sites[0].span.end as usize],
        "a[i]"
    );
    assert!(module.ptx.contains("atom.global.cas.b32"), "{}", module.ptx);
    assert!(module.ptx.contains("exit;"));
    let record = TrapRecord {
        code: 3,
        site: 0,
        payload: [7, 2],
    };
    assert_eq!(
        module.decode_trap(&record).map(|t| t.kind),
        Some(TrapKind::IndexOutOfBounds { index: 7, len: 2 })
    );
    insta::assert_snapshot!("bounds_check_ptx", stable(&module.ptx));
    insta::assert_snapshot!("bounds_check_llvm", module.llvm_ir);
}

#[test]
fn branches_and_loops_become_ptx_control_flow() {
    let src = "fn collatz(n: u64) -> u32 {
    let mut steps = 0;
    let mut x = n;
    while x > 1 {
        if x % 2 == 0 { x = x / 2; } else { x = 3 * x + 1; }
        steps += 1;
    }
    steps
}";
    let program = compile(src);
    let collatz = program.find("collatz").unwrap();
    let module = ptx_of(&program, &[collatz]);
    // Division by the constant 2 cannot trap: LLVM removes the check.
    assert!(module.trap_sites.len() <= 2);
    insta::assert_snapshot!("collatz_ptx", stable(&module.ptx));
}

#[test]
fn integer_division_checks_zero_and_overflow_at_the_division() {
    let src = "fn div(a: i32, b: i32) -> i32 { a / b }";
    let program = compile(src);
    let div = program.find("div").unwrap();
    let module = ptx_of(&program, &[div]);
    let site = &module.trap_sites[0];
    assert_eq!(
        src[site.span.start as usize..site.span.end as usize].trim(),
        "a / b"
    );
    for (code, kind) in [
        (1, TrapKind::DivisionByZero),
        (2, TrapKind::DivisionOverflow),
    ] {
        let record = TrapRecord {
            code,
            site: 0,
            payload: [0, 0],
        };
        assert_eq!(module.decode_trap(&record).map(|t| t.kind), Some(kind));
    }
}

#[test]
fn assertions_carry_their_message() {
    let src = "fn checked(x: f64) -> f64 { assert!(x > 0.0); x.sqrt() }";
    let program = compile(src);
    let f = program.find("checked").unwrap();
    let module = ptx_of(&program, &[f]);
    assert!(module.ptx.contains("sqrt.rn.f64"), "{}", module.ptx);
    let record = TrapRecord {
        code: 4,
        site: 0,
        payload: [0, 0],
    };
    let trap = module.decode_trap(&record).unwrap();
    assert!(
        matches!(trap.kind, TrapKind::AssertionFailed(_)),
        "{trap:?}"
    );
    assert_eq!(
        &src[trap.span.start as usize..trap.span.end as usize],
        "assert!(x > 0.0)"
    );
}

#[test]
fn calls_between_kern_functions_become_device_functions() {
    // A `return` inside a loop keeps `position` from being inlined.
    let src = "fn position(a: &[f64], x: f64) -> usize {
    for i in 0..a.len() { if a[i] == x { return i; } }
    a.len()
}
fn contains(a: &[f64], x: f64) -> bool { position(a, x) < a.len() }";
    let program = compile(src);
    let contains = program.find("contains").unwrap();
    assert!(!program.function(contains).callees().is_empty());
    let module = ptx_of(&program, &[contains]);
    assert_eq!(module.kernels.len(), 1);
    assert!(module.ptx.contains(".entry contains("));
    // `kern_position` is an internal device function; LLVM may inline it.
    // bool results travel as a byte.
    assert_eq!(
        module.kernels[0].params[1],
        KernelParam::Result {
            ty: ScalarType::Bool
        }
    );
}

#[test]
fn the_gufunc_loop_runs_one_iteration_per_thread_over_flattened_descriptors() {
    let src = "#[guvectorize]
fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[k][j]; }
            out[i][j] = s;
        }
    }
}";
    let (compiled, _) = compile_source("t.kern", src);
    let (mut program, body) = compiled.instantiate("matmul", &[]).unwrap();
    let signature = GufuncLoopSignature {
        inputs: vec![ScalarType::F64; 2],
        outputs: vec![ScalarType::F64],
    };
    let lp = build_gufunc_loop(&mut program, body, 2, &signature).unwrap();
    let module = ptx_of(&program, &[lp]);
    let kernel = module.kernel(lp).unwrap();
    assert_eq!(kernel.kind, KernelKind::Gufunc);
    // Three rank-3 operands: pointer, 3 extents, 3 strides each.
    assert_eq!(kernel.params.len(), 1 + 3 * 7);
    assert_eq!(
        kernel.params[1..8],
        [
            KernelParam::Pointer {
                operand: "in0".into(),
                elem: ScalarType::F64,
                mutable: false
            },
            KernelParam::Extent {
                operand: "in0".into(),
                axis: 0
            },
            KernelParam::Extent {
                operand: "in0".into(),
                axis: 1
            },
            KernelParam::Extent {
                operand: "in0".into(),
                axis: 2
            },
            KernelParam::Stride {
                operand: "in0".into(),
                axis: 0
            },
            KernelParam::Stride {
                operand: "in0".into(),
                axis: 1
            },
            KernelParam::Stride {
                operand: "in0".into(),
                axis: 2
            },
        ]
    );
    assert!(module.ptx.contains("%nctaid.x"), "grid-stride");
    assert!(module.llvm_ir.contains("noalias"), "{}", module.llvm_ir);
}

#[test]
fn println_is_a_compile_error_at_its_span() {
    let src = "fn noisy(x: f64) -> f64 { println!(\"{}\", x); x }";
    let program = compile(src);
    let f = program.find("noisy").unwrap();
    let err = compile_to_ptx(&program, &[f], &PtxOptions::default()).unwrap_err();
    let LlvmError::Unsupported {
        function,
        construct,
        span,
    } = &err
    else {
        panic!("{err:?}")
    };
    assert_eq!(function, "noisy");
    assert_eq!(construct, "`println!`");
    assert!(src[span.start as usize..span.end as usize].starts_with("println!"));
    assert!(err.to_diagnostic().is_some());
}

#[test]
fn recursion_is_a_compile_error_at_the_call() {
    let src = "fn fact(n: u64) -> u64 { if n < 2 { 1 } else { n * fact(n - 1) } }";
    let program = compile(src);
    let f = program.find("fact").unwrap();
    let err = compile_to_ptx(&program, &[f], &PtxOptions::default()).unwrap_err();
    let LlvmError::Unsupported {
        construct, span, ..
    } = &err
    else {
        panic!("{err:?}")
    };
    assert!(construct.starts_with("recursion"), "{construct}");
    assert_eq!(&src[span.start as usize..span.end as usize], "fact(n - 1)");
}

#[test]
fn host_code_is_a_compile_error() {
    let src = "fn main() { let x = zeros(3); }";
    let (compiled, _) = compile_source("t.kern", src);
    let main = compiled.functions["main"];
    let err = compile_to_ptx(&compiled.program, &[main], &PtxOptions::default()).unwrap_err();
    assert!(matches!(err, LlvmError::Unsupported { .. }), "{err:?}");
}

#[test]
fn fastmath_uses_the_approximate_instructions_only_when_asked() {
    let src = "fn s(x: f32) -> f32 { x.sin() }";
    let program = compile(src);
    let f = program.find("s").unwrap();
    let exact = ptx_of(&program, &[f]);
    assert!(!exact.ptx.contains(".approx"), "{}", exact.ptx);
    let fast = compile_to_ptx(&program, &[f], &PtxOptions { fastmath: true }).unwrap();
    assert_structurally_valid(&fast);
    assert!(fast.ptx.contains("sin.approx.f32"), "{}", fast.ptx);
    // The exact `sin_f64` is no longer needed: no range reduction, no polynomial.
    assert!(fast.ptx.len() < exact.ptx.len() / 4);
    // f64 math is never approximated.
    let program = compile("fn s(x: f64) -> f64 { x.sin() }");
    let f = program.find("s").unwrap();
    let fast = compile_to_ptx(&program, &[f], &PtxOptions { fastmath: true }).unwrap();
    assert!(!fast.ptx.contains(".approx"), "{}", fast.ptx);
}

/// Storage dtype of a loop operand (NumPy has no `usize`).
fn storage(t: ScalarType) -> ScalarType {
    match t {
        ScalarType::Usize => ScalarType::U64,
        ScalarType::Isize => ScalarType::I64,
        t => t,
    }
}

/// The type arguments a generic declaration is shown with (the runtime's choice
/// for `kern emit`): the first declared loop, else `i64` for integer and `f64`
/// for every other bound.
fn natural_type_args(
    declared: Option<&Vec<ScalarType>>,
    generics: &[TypeBound],
) -> Vec<ScalarType> {
    match declared {
        Some(first) => first.clone(),
        None => generics
            .iter()
            .map(|b| match b {
                TypeBound::Int => ScalarType::I64,
                _ => ScalarType::F64,
            })
            .collect(),
    }
}

#[test]
fn every_function_ufunc_and_gufunc_of_every_example_compiles_to_ptx() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut examples: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "kern"))
        .collect();
    examples.sort();
    assert!(!examples.is_empty());
    let mut kernels_compiled = 0;
    let mut spmd_kernels_compiled = 0;
    for path in examples {
        let src = std::fs::read_to_string(&path).unwrap();
        let (compiled, _) = compile_source(&path.display().to_string(), &src);
        let context = |what: &str, e: LlvmError| format!("{}: {what}: {e}", path.display());
        // Plain functions and `#[kernel]`s (their SPMD entries), one module with
        // all of them.
        let plain: Vec<FuncId> = compiled
            .functions
            .iter()
            .filter(|(name, _)| name.as_str() != "main")
            .map(|(_, id)| *id)
            .collect();
        let spmd_kernels = plain
            .iter()
            .filter(|id| {
                matches!(
                    compiled.program.function(**id).kind,
                    kern_compiler::ir::FunctionKind::Kernel { .. }
                )
            })
            .count();
        spmd_kernels_compiled += spmd_kernels;
        if !plain.is_empty() {
            let module = compile_to_ptx(&compiled.program, &plain, &PtxOptions::default())
                .unwrap_or_else(|e| panic!("{}", context("functions", e)));
            assert_structurally_valid(&module);
            kernels_compiled += module.kernels.len();
        }
        for (name, decl) in &compiled.ufuncs {
            let type_args = natural_type_args(decl.declared.first(), &decl.generics);
            let apply = |t: SchemeType| match t {
                SchemeType::Concrete(t) => t,
                SchemeType::Generic(i) => type_args[i],
            };
            let (mut program, id) = compiled.instantiate(name, &type_args).unwrap();
            let signature = LoopSignature {
                inputs: decl.params.iter().map(|p| storage(apply(*p))).collect(),
                output: storage(apply(decl.ret)),
            };
            let (_, lp) = build_elementwise_loop(&mut program, id, &signature).unwrap();
            let module = compile_to_ptx(&program, &[lp], &PtxOptions::default())
                .unwrap_or_else(|e| panic!("{}", context(name, e)));
            assert_structurally_valid(&module);
            kernels_compiled += 1;
        }
        for (name, decl) in &compiled.gufuncs {
            let type_args = natural_type_args(None, &decl.generics);
            let dtype = |o: &kern_compiler::kernel_decl::GufuncOperand| match o.elem {
                SchemeType::Concrete(t) => storage(t),
                SchemeType::Generic(i) => type_args[i],
            };
            let (mut program, id) = compiled.instantiate(name, &type_args).unwrap();
            let signature = GufuncLoopSignature {
                inputs: decl.inputs.iter().map(dtype).collect(),
                outputs: decl.outputs.iter().map(dtype).collect(),
            };
            let lp = build_gufunc_loop(&mut program, id, decl.inputs.len(), &signature).unwrap();
            let module = compile_to_ptx(&program, &[lp], &PtxOptions::default())
                .unwrap_or_else(|e| panic!("{}", context(name, e)));
            assert_structurally_valid(&module);
            kernels_compiled += 1;
        }
    }
    assert!(
        kernels_compiled >= 5,
        "only {kernels_compiled} kernels found"
    );
    // vector_add.kern's `vector_add` and `histogram`, at least.
    assert!(
        spmd_kernels_compiled >= 2,
        "only {spmd_kernels_compiled} #[kernel]s found"
    );
}

/// `f64_NAME` and `f32_NAME` calling stdlib function `NAME`, as in `stdlib_jit`.
fn stdlib_wrappers(name: &str, arity: Arity) -> String {
    let call = match (name, arity) {
        ("fmod", _) => "x % y".to_string(),
        (name, Arity::Unary) => format!("x.{name}()"),
        (name, Arity::Binary) => format!("x.{name}(y)"),
        (name, Arity::WithI32) => format!("x.{name}(n)"),
    };
    let mut src = String::new();
    for t in ["f64", "f32"] {
        let params = match arity {
            Arity::Unary => format!("x: {t}"),
            Arity::Binary => format!("x: {t}, y: {t}"),
            Arity::WithI32 => format!("x: {t}, n: i32"),
        };
        src.push_str(&format!("fn {t}_{name}({params}) -> {t} {{ {call} }}\n"));
    }
    src
}

#[test]
fn every_stdlib_function_compiles_to_ptx_in_both_precisions() {
    for spec in FUNCTIONS {
        let src = stdlib_wrappers(spec.name, spec.arity);
        let (compiled, _) = compile_source(&format!("{}.kern", spec.name), &src);
        let kernels: Vec<FuncId> = ["f64", "f32"]
            .iter()
            .map(|t| compiled.functions[&format!("{t}_{}", spec.name)])
            .collect();
        let module = compile_to_ptx(&compiled.program, &kernels, &PtxOptions::default())
            .unwrap_or_else(|e| panic!("`{}`: {e}", spec.name));
        assert_structurally_valid(&module);
        assert_eq!(module.kernels.len(), 2);
    }
}

#[test]
fn every_stdlib_function_compiles_as_a_ufunc_loop() {
    // The shape the runtime launches: the loop with the function inlined.
    let src: String = FUNCTIONS
        .iter()
        .filter(|s| s.arity == Arity::Unary)
        .map(|s| {
            format!(
                "#[vectorize] fn u_{0}(x: f32) -> f32 {{ x.{0}() }}\n",
                s.name
            )
        })
        .collect();
    let mut program = compile(&src);
    let loops: Vec<FuncId> = FUNCTIONS
        .iter()
        .filter(|s| s.arity == Arity::Unary)
        .map(|s| {
            ufunc_loop(
                &mut program,
                &format!("u_{}", s.name),
                LoopSignature {
                    inputs: vec![ScalarType::F32],
                    output: ScalarType::F32,
                },
            )
        })
        .collect();
    let module = ptx_of(&program, &loops);
    assert_eq!(module.kernels.len(), loops.len());
}

/// Every scalar operation and cast the language accepts on every type lowers to
/// PTX (LLVM aborts the process on an operation its NVPTX backend cannot select,
/// so this also guards against that).
#[test]
fn every_operator_and_cast_on_every_type_compiles_to_ptx() {
    let mut src = String::new();
    let mut n = 0;
    let add = |candidate: String, src: &mut String| {
        let mut sources = SourceMap::new();
        let file = sources.add("probe.kern", candidate.clone());
        if frontend::compile(&mut sources, file).is_ok() {
            src.push_str(&candidate);
            src.push('\n');
        }
    };
    for from in ScalarType::ALL {
        let t = from.name();
        for op in ["+", "-", "*", "/", "%", "&", "|", "^", "<<", ">>"] {
            n += 1;
            add(
                format!("fn f{n}(a: {t}, b: {t}) -> {t} {{ a {op} b }}"),
                &mut src,
            );
        }
        for op in ["==", "!=", "<", "<=", ">", ">="] {
            n += 1;
            add(
                format!("fn f{n}(a: {t}, b: {t}) -> bool {{ a {op} b }}"),
                &mut src,
            );
        }
        for op in ["-", "!"] {
            n += 1;
            add(format!("fn f{n}(a: {t}) -> {t} {{ {op}a }}"), &mut src);
        }
        n += 1;
        add(
            format!("fn f{n}(a: {t}, s: u8) -> {t} {{ a << s }}"),
            &mut src,
        );
        for to in ScalarType::ALL {
            n += 1;
            add(
                format!("fn f{n}(a: {t}) -> {} {{ a as {} }}", to.name(), to.name()),
                &mut src,
            );
        }
    }
    for t in ["f32", "f64"] {
        for m in ["sqrt", "abs", "floor", "ceil", "trunc", "round_ties_even"] {
            n += 1;
            add(format!("fn f{n}(a: {t}) -> {t} {{ a.{m}() }}"), &mut src);
        }
        n += 1;
        add(
            format!("fn f{n}(a: {t}, b: {t}) -> {t} {{ a.copysign(b) }}"),
            &mut src,
        );
        n += 1;
        add(
            format!("fn f{n}(a: {t}, b: {t}, c: {t}) -> {t} {{ a.mul_add(b, c) }}"),
            &mut src,
        );
        n += 1;
        add(
            format!("fn f{n}(a: {t}) -> u64 {{ a.to_bits() as u64 }}"),
            &mut src,
        );
    }
    let (compiled, _) = compile_source("ops.kern", &src);
    let functions: Vec<FuncId> = compiled.functions.values().copied().collect();
    assert!(
        functions.len() > 300,
        "only {} probes compiled",
        functions.len()
    );
    let module = ptx_of(&compiled.program, &functions);
    assert_eq!(module.kernels.len(), functions.len());
}

#[test]
fn constant_tables_are_read_only_globals_with_checked_indices() {
    let src = "const WEIGHTS: [f64; 3] = [0.25, 0.5, 0.25];
fn weight(i: usize) -> f64 { WEIGHTS[i] }";
    let program = compile(src);
    let f = program.find("weight").unwrap();
    let module = ptx_of(&program, &[f]);
    assert!(
        module.ptx.contains(".global .align 8 .b8 kern$const0[24]"),
        "{}",
        module.ptx
    );
    assert!(
        module.ptx.contains("atom.global.cas.b32"),
        "the index is checked"
    );
    assert!(
        module
            .llvm_ir
            .contains("internal unnamed_addr addrspace(1) constant [3 x double]")
            || module
                .llvm_ir
                .contains("internal addrspace(1) constant [3 x double]"),
        "{}",
        module.llvm_ir
    );
    let site = &module.trap_sites[0];
    assert_eq!(
        &src[site.span.start as usize..site.span.end as usize],
        "WEIGHTS[i]"
    );
}

#[test]
fn a_loop_kernel_of_another_shape_is_an_error_not_a_crash() {
    let mut program = compile("fn plain(a: &[f64], out: &mut [f64]) { out[0] = a[0]; }");
    let f = program.find("plain").unwrap();
    // Claim it is an elementwise loop: it has no loop to make grid-stride.
    program.functions[f.0 as usize].kind =
        kern_compiler::ir::FunctionKind::ElementwiseLoop { element: f };
    let err = compile_to_ptx(&program, &[f], &PtxOptions::default()).unwrap_err();
    assert!(matches!(err, LlvmError::Invalid { .. }), "{err:?}");
    assert!(
        compile_to_ptx(&program, &[FuncId(9999)], &PtxOptions::default()).is_err(),
        "an unknown function id is an error"
    );
}

#[test]
fn a_gufunc_body_that_stays_a_call_receives_its_sub_views_as_descriptors() {
    // The `return` inside a loop keeps the body from being inlined into the loop.
    let src = "#[guvectorize]
fn first_negative(x: &[f64]) -> i64 {
    for i in 0..x.len() { if x[i] < 0.0 { return i as i64; } }
    -1
}";
    let (compiled, _) = compile_source("t.kern", src);
    let (mut program, body) = compiled.instantiate("first_negative", &[]).unwrap();
    let signature = GufuncLoopSignature {
        inputs: vec![ScalarType::F64],
        outputs: vec![ScalarType::I64],
    };
    let lp = build_gufunc_loop(&mut program, body, 1, &signature).unwrap();
    assert_eq!(program.function(lp).callees(), vec![body]);
    let module = ptx_of(&program, &[lp]);
    let kernel = module.kernel(lp).unwrap();
    // in0: pointer, 2 extents, 2 strides; out0 (the returned value): 1-D.
    assert_eq!(kernel.params.len(), 1 + 5 + 3);
    assert_eq!(
        kernel.params[6],
        KernelParam::Pointer {
            operand: "out0".into(),
            elem: ScalarType::I64,
            mutable: true
        }
    );
}
