//! The reduction-batch kernels of the NVPTX backend without a GPU: the ABI their
//! entries declare (flattened descriptors, the trap record first), their
//! grid-stride shape, and PTX that `ptxas` accepts when it is installed.
#![cfg(feature = "cuda")]

use kern_compiler::backend::llvm::nvptx::{compile_to_ptx, KernelKind, KernelParam, PtxOptions};
use kern_compiler::ir::{Program, ScalarType};
use kern_compiler::loops::reduce_batch::{build_reduce_batch, build_scan_batch};
use kern_compiler::{frontend, SourceMap};

const SOURCE: &str = r#"
#[vectorize(identity = 0)] fn add(a: f64, b: f64) -> f64 { a + b }
#[vectorize(identity = 0)] fn careful(a: i64, b: i64) -> i64 { a + 1000 / b }
"#;

fn program() -> Program {
    let mut sources = SourceMap::new();
    let file = sources.add("t.kern", SOURCE);
    match frontend::compile(&mut sources, file) {
        Ok(c) => c.program,
        Err(d) => panic!("{}", d.render(&sources)),
    }
}

/// Runs `ptxas` on the text when it is on PATH (it is not part of LLVM).
fn ptxas_accepts(ptx: &str, name: &str) {
    if std::process::Command::new("ptxas")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("ptxas is not on PATH: {name} is only checked structurally");
        return;
    }
    let dir = std::env::temp_dir().join(format!("kern-nvptx-reduce-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("kernel.ptx");
    std::fs::write(&path, ptx).unwrap();
    let out = std::process::Command::new("ptxas")
        .args(["-arch=sm_80", "-o"])
        .arg(dir.join("kernel.cubin"))
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ptxas rejected the PTX: {}\n{ptx}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The flattened descriptor of a rank-`rank` operand.
fn descriptor(operand: &str, elem: ScalarType, mutable: bool, rank: u8) -> Vec<KernelParam> {
    let mut params = vec![KernelParam::Pointer {
        operand: operand.into(),
        elem,
        mutable,
    }];
    params.extend((0..rank).map(|axis| KernelParam::Extent {
        operand: operand.into(),
        axis,
    }));
    params.extend((0..rank).map(|axis| KernelParam::Stride {
        operand: operand.into(),
        axis,
    }));
    params
}

#[test]
fn the_reduce_batch_runs_one_block_per_thread_over_flattened_descriptors() {
    let mut program = program();
    let add = program.find("add").unwrap();
    let batch = build_reduce_batch(&mut program, add, ScalarType::F32, ScalarType::F64).unwrap();
    let module = compile_to_ptx(&program, &[batch], &PtxOptions::default()).unwrap();
    let kernel = module.kernel(batch).unwrap();
    assert_eq!(kernel.kind, KernelKind::ReductionBatch);
    let mut expected = vec![KernelParam::TrapRecord];
    expected.extend(descriptor("x", ScalarType::F32, false, 2));
    expected.extend(descriptor("out", ScalarType::F64, true, 2));
    assert_eq!(kernel.params, expected);
    let ptx = &module.ptx;
    assert!(ptx.contains(&format!(".entry {}(", kernel.name)), "{ptx}");
    assert!(ptx.contains("%nctaid.x"), "grid-stride:\n{ptx}");
    assert!(
        ptx.contains("cvt.f64.f32"),
        "elements convert to the accumulator:\n{ptx}"
    );
    assert!(!module.llvm_ir.contains("noalias"), "{}", module.llvm_ir);
    ptxas_accepts(ptx, "reduce_batch");
}

#[test]
fn the_scan_batch_runs_one_lane_per_thread() {
    let mut program = program();
    let add = program.find("add").unwrap();
    let batch = build_scan_batch(&mut program, add, ScalarType::F64, ScalarType::F64).unwrap();
    let module = compile_to_ptx(&program, &[batch], &PtxOptions::default()).unwrap();
    let kernel = module.kernel(batch).unwrap();
    assert_eq!(kernel.kind, KernelKind::ReductionBatch);
    let mut expected = vec![KernelParam::TrapRecord];
    expected.extend(descriptor("seed", ScalarType::F64, false, 1));
    expected.extend(descriptor("x", ScalarType::F64, false, 2));
    expected.extend(descriptor("out", ScalarType::F64, true, 2));
    assert_eq!(kernel.params, expected);
    assert!(
        module.ptx.contains("%nctaid.x"),
        "grid-stride:\n{}",
        module.ptx
    );
    ptxas_accepts(&module.ptx, "scan_batch");
}

#[test]
fn a_trap_in_a_batched_body_is_a_site_at_the_ufuncs_source() {
    let mut program = program();
    let careful = program.find("careful").unwrap();
    let reduce =
        build_reduce_batch(&mut program, careful, ScalarType::I64, ScalarType::I64).unwrap();
    let scan = build_scan_batch(&mut program, careful, ScalarType::I64, ScalarType::I64).unwrap();
    let module = compile_to_ptx(&program, &[reduce, scan], &PtxOptions::default()).unwrap();
    assert_eq!(module.kernels.len(), 2);
    // The division of `careful` (line 3 of the source) is a trap site; the
    // batch's own bounds-checked stores are others.
    assert!(
        module.trap_sites.iter().any(|site| {
            let (start, end) = (site.span.start as usize, site.span.end as usize);
            SOURCE.get(start..end).map(str::trim) == Some("1000 / b")
        }),
        "{:?}",
        module.trap_sites
    );
    ptxas_accepts(&module.ptx, "careful");
}
