//! `#[kernel]`s compiled for the GPU without a GPU: the SPMD entry's ABI, PTX
//! snapshots of `examples/vector_add.kern`'s kernel and of a block sum with a
//! shared array, a barrier and atomics, every atomic on every element type, and
//! the compile errors for what a GPU kernel cannot do. Every PTX text is checked
//! structurally (and by `ptxas` when it is installed).
#![cfg(feature = "cuda")]

mod common;

use common::ptx::{assert_structurally_valid, stable};
use kern_compiler::backend::llvm::nvptx::{
    compile_to_ptx, KernelKind, KernelParam, LlvmError, PtxModule, PtxOptions,
};
use kern_compiler::frontend;
use kern_compiler::ir::{Program, ScalarType};
use kern_compiler::SourceMap;

fn compile_named(name: &str, src: &str) -> (Program, SourceMap) {
    let (compiled, sources) = frontend::compile_text(name, src).unwrap_or_else(|e| panic!("{e}"));
    (compiled.program, sources)
}

fn compile(src: &str) -> Program {
    compile_named("k.kern", src).0
}

fn ptx_of(program: &Program, kernel: &str) -> PtxModule {
    let id = program.find(kernel).expect("the kernel exists");
    let module =
        compile_to_ptx(program, &[id], &PtxOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    assert_structurally_valid(&module);
    module
}

fn error_of(src: &str, kernel: &str) -> (LlvmError, String) {
    let program = compile(src);
    let id = program.find(kernel).expect("the kernel exists");
    let err = compile_to_ptx(&program, &[id], &PtxOptions::default())
        .expect_err("the kernel cannot run on the GPU");
    let spanned = match &err {
        LlvmError::Unsupported { span, .. } => {
            src[span.start as usize..span.end as usize].to_string()
        }
        other => panic!("expected an unsupported construct, got {other:?}"),
    };
    (err, spanned)
}

fn vector_add_example() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/vector_add.kern");
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn a_kernel_is_an_spmd_entry_taking_the_trap_record_then_its_parameters() {
    let program = compile(
        "#[kernel] fn scale(x: &mut [f64], grid: &[[i32; W]; H], factor: f64, on: bool) {
            let i = global_id();
            if on && i < x.len() { x[i] = x[i] * factor + (grid[0][0] as f64); }
        }",
    );
    let module = ptx_of(&program, "scale");
    let kernel = &module.kernels[0];
    assert_eq!(kernel.kind, KernelKind::Spmd);
    let pointer = |operand: &str, elem, mutable| KernelParam::Pointer {
        operand: operand.into(),
        elem,
        mutable,
    };
    let extent = |operand: &str, axis| KernelParam::Extent {
        operand: operand.into(),
        axis,
    };
    let stride = |operand: &str, axis| KernelParam::Stride {
        operand: operand.into(),
        axis,
    };
    assert_eq!(
        kernel.params,
        vec![
            KernelParam::TrapRecord,
            pointer("x", ScalarType::F64, true),
            extent("x", 0),
            stride("x", 0),
            pointer("grid", ScalarType::I32, false),
            extent("grid", 0),
            extent("grid", 1),
            stride("grid", 0),
            stride("grid", 1),
            KernelParam::Scalar {
                name: "factor".into(),
                ty: ScalarType::F64
            },
            KernelParam::Scalar {
                name: "on".into(),
                ty: ScalarType::Bool
            },
        ]
    );
    // `bool` travels as a byte, like every scalar parameter of a kernel entry.
    assert!(
        module.ptx.contains(".param .u8 scale_param_10"),
        "{}",
        module.ptx
    );
}

#[test]
fn vector_add_reads_its_thread_coordinates_from_the_special_registers() {
    let src = vector_add_example();
    let (program, _) = compile_named("vector_add.kern", &src);
    let module = ptx_of(&program, "vector_add");
    let ptx = &module.ptx;
    for register in ["%tid.x", "%ctaid.x", "%ntid.x"] {
        assert!(ptx.contains(register), "no {register} in\n{ptx}");
    }
    // No shared arrays: no zeroing, no barrier.
    assert!(!ptx.contains("bar.sync"), "{ptx}");
    assert!(!ptx.contains(".shared"), "{ptx}");
    insta::assert_snapshot!("vector_add_ptx", stable(ptx));
}

#[test]
fn the_histogram_example_counts_with_a_global_atomic_add() {
    let src = vector_add_example();
    let (program, _) = compile_named("vector_add.kern", &src);
    let ptx = ptx_of(&program, "histogram").ptx;
    assert!(ptx.contains("atom.global.add.u32"), "{ptx}");
}

const BLOCK_SUM: &str =
    "// Each block sums its part of `x` in shared memory, then adds it to `total`.
#[kernel]
fn block_sum(x: &[i64], sums: &mut [i64], total: &mut [i64]) {
    let partial: &mut [i64; 256] = shared_array();
    let t = thread_idx();
    let i = global_id();
    if i < x.len() {
        partial[t] = x[i];
    }
    sync_threads();
    let mut width = block_dim() / 2;
    while width > 0 {
        if t < width {
            partial[t] += partial[t + width];
        }
        sync_threads();
        width /= 2;
    }
    if t == 0 {
        sums[block_idx()] = partial[0];
        atomic_add(&mut total, 0, partial[0]);
    }
}";

#[test]
fn a_block_sum_zeroes_its_shared_array_then_synchronises_and_adds_atomically() {
    let module = ptx_of(&compile(BLOCK_SUM), "block_sum");
    let ptx = &module.ptx;
    // 256 i64 elements of static shared memory, zeroed by the block at entry.
    assert!(
        ptx.contains(".shared .align 8 .b8 block_sum$shared"),
        "{ptx}"
    );
    assert!(ptx.contains("[2048]"), "{ptx}");
    assert!(ptx.contains("st.shared.u64"), "{ptx}");
    // The entry barrier after zeroing, then the kernel's own two.
    assert!(ptx.matches("bar.sync \t0;").count() >= 3, "{ptx}");
    assert!(ptx.contains("atom.global.add.u64"), "{ptx}");
    // Bounds checks against the shared array's length stay (the kernel can index
    // past 256 with a larger block).
    assert!(ptx.contains("256"), "{ptx}");
    insta::assert_snapshot!("block_sum_ptx", stable(ptx));
}

#[test]
fn every_atomic_compiles_for_every_element_type_on_global_and_shared_memory() {
    let types = [
        ("i32", "s32", "b32", "0"),
        ("i64", "s64", "b64", "0"),
        ("u32", "u32", "b32", "0"),
        ("u64", "u64", "b64", "0"),
        ("f32", "f32", "b32", "0.0"),
        ("f64", "f64", "b64", "0.0"),
    ];
    for (t, suffix, bits, zero) in types {
        let src = format!(
            "#[kernel]
fn all_{t}(a: &mut [{t}], v: {t}, seen: &mut [{t}]) {{
    let local: &mut [{t}; 32] = shared_array();
    let i = thread_idx();
    let mut s = atomic_add(&mut a, i, v);
    s += atomic_sub(&mut a, i, v);
    s += atomic_min(&mut a, i, v);
    s += atomic_max(&mut a, i, v);
    s += atomic_exchange(&mut a, i, v);
    s += atomic_cas(&mut a, i, v, {zero});
    s += atomic_add(&mut local, i, v);
    s += atomic_sub(&mut local, i, v);
    s += atomic_min(&mut local, i, v);
    s += atomic_max(&mut local, i, v);
    s += atomic_exchange(&mut local, i, v);
    s += atomic_cas(&mut local, i, v, {zero});
    seen[i] = s;
}}"
        );
        let module = ptx_of(&compile(&src), &format!("all_{t}"));
        let ptx = &module.ptx;
        for space in ["global", "shared"] {
            let has = |instruction: String| {
                assert!(
                    ptx.contains(&instruction),
                    "{t}: no `{instruction}` in\n{ptx}"
                )
            };
            has(format!("atom.{space}.cas.{bits}"));
            has(format!("atom.{space}.exch.{bits}"));
            if t.starts_with('f') {
                // Add and sub (of the negation) in hardware; min/max a CAS loop.
                has(format!("atom.{space}.add.{suffix}"));
                assert!(ptx.contains(&format!("neg.{suffix}")), "{t}:\n{ptx}");
            } else {
                // PTX spells integer add in the unsigned form for both signs.
                let add = suffix.replace('s', "u");
                has(format!("atom.{space}.add.{add}"));
                has(format!("atom.{space}.min.{suffix}"));
                has(format!("atom.{space}.max.{suffix}"));
            }
        }
        // Each of the twelve atomics bounds-checks its index.
        assert!(
            module.trap_sites.len() >= 12,
            "{t}: {:?}",
            module.trap_sites
        );
    }
}

#[test]
fn float_min_and_max_swap_only_when_the_value_replaces_the_old_one() {
    let module = ptx_of(
        &compile(
            "#[kernel] fn lowest(x: &[f64], lo: &mut [f64]) {
                let i = global_id();
                if i < x.len() { atomic_min(&mut lo, 0, x[i]); }
            }",
        ),
        "lowest",
    );
    let ptx = &module.ptx;
    // An ordered `<` (false on NaN) guards a 64-bit compare-and-swap of the bits;
    // LLVM may branch on its negation, the unordered `>=` (true on NaN: no swap).
    assert!(
        ptx.contains("setp.lt.f64") || ptx.contains("setp.geu.f64"),
        "{ptx}"
    );
    assert!(ptx.contains("atom.global.cas.b64"), "{ptx}");
    assert!(!ptx.contains("atom.global.min"), "{ptx}");
}

#[test]
fn shared_memory_above_48_kib_is_an_error_at_the_declaration_that_crosses_it() {
    let src = "#[kernel] fn big(x: &mut [f64]) {
    let a: &mut [f64; 4096] = shared_array();
    let b: &mut [f32; 4097] = shared_array();
    x[0] = a[0] + (b[0] as f64);
}";
    let (err, spanned) = error_of(src, "big");
    assert!(spanned.contains("shared_array()"), "{spanned}");
    let text = err.to_string();
    assert!(text.contains("`b`"), "{text}");
    assert!(text.contains("49156 bytes"), "{text}");
    assert!(text.contains("48 KiB"), "{text}");
    // Exactly 48 KiB is fine.
    let fits = "#[kernel] fn fits(x: &mut [f64]) {
    let a: &mut [f64; 4096] = shared_array();
    let b: &mut [f32; 4096] = shared_array();
    x[0] = a[0] + (b[0] as f64);
}";
    ptx_of(&compile(fits), "fits");
}

#[test]
fn a_shared_array_passed_to_a_function_is_an_error_at_the_call() {
    // The loop keeps `first` from being inlined into the kernel.
    let src = "fn first(a: &[f32]) -> f32 {
    let mut i = 0;
    while i < a.len() { if a[i] != 0.0 { return a[i]; } i += 1; }
    0.0
}
#[kernel] fn k(x: &mut [f32]) {
    let tile: &mut [f32; 64] = shared_array();
    tile[thread_idx()] = x[thread_idx()];
    sync_threads();
    x[thread_idx()] = first(&tile);
}";
    let (err, spanned) = error_of(src, "k");
    assert!(spanned.contains("first(&tile)"), "{spanned}");
    assert!(err.to_string().contains("the shared array `tile`"), "{err}");
}

#[test]
fn printing_in_a_kernel_is_still_an_error_at_its_span() {
    let src = "#[kernel] fn noisy(x: &mut [f32]) { println!(\"{}\", x[0]); }";
    let (err, spanned) = error_of(src, "noisy");
    assert!(spanned.starts_with("println!"), "{spanned}");
    let diagnostic = err.to_diagnostic().expect("it has a span");
    assert!(
        diagnostic.message.contains("`println!`"),
        "{}",
        diagnostic.message
    );
}

#[test]
fn an_out_of_range_atomic_index_traps_at_the_atomic() {
    let src =
        "#[kernel] fn count(bins: &mut [u32], which: usize) { atomic_add(&mut bins, which, 1); }";
    let module = ptx_of(&compile(src), "count");
    let site = module
        .trap_sites
        .iter()
        .find(|s| src[s.span.start as usize..s.span.end as usize].starts_with("atomic_add"))
        .expect("the atomic is a trap site");
    assert!(site.assertion.is_none());
}
