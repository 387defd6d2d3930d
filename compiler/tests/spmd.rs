//! SPMD kernels in the compiler: the IR a `#[kernel]` lowers to, the launch loop
//! that runs it on cpu/parallel (snapshots), the verifier's rules for SPMD
//! instructions, and the launch loop compiled by Cranelift agreeing with the
//! interpreter thread for thread (atomics included).

use kern_compiler::backend::cranelift::JitEngine;
use kern_compiler::interp::{HostArg, Interpreter};
use kern_compiler::ir::spmd::{AtomicInst, AtomicOp, Axis, SpmdIndex, SpmdInst};
use kern_compiler::ir::{
    print, verify, ArrayDesc, FuncId, FunctionKind, InstKind, Program, ScalarValue, MAX_RANK,
};
use kern_compiler::loops::spmd_launch::{build_launch_loop, LaunchError};
use kern_compiler::{frontend, SourceMap};

fn compile(src: &str) -> Program {
    kern_compiler::frontend::compile_text("k.kern", src)
        .unwrap_or_else(|e| panic!("{e}"))
        .0
        .program
}

fn errors_of(src: &str) -> String {
    let mut sources = SourceMap::new();
    let file = sources.add("k.kern", src);
    match frontend::compile(&mut sources, file) {
        Ok(_) => panic!("expected errors"),
        Err(d) => d.render(&sources),
    }
}

const HISTOGRAM: &str = "
#[kernel]
fn histogram(samples: &[f64], counts: &mut [i32], totals: &mut [f64], width: f64) {
    let i = global_id();
    if i < samples.len() {
        let bin = (samples[i] / width) as usize;
        atomic_add(&mut counts, bin, 1);
        atomic_add(&mut totals, bin, samples[i]);
    }
}";

#[test]
fn a_kernel_reads_its_coordinates_and_updates_atomically() {
    let program = compile(HISTOGRAM);
    let id = program.find("histogram").unwrap();
    insta::assert_snapshot!(print::print_function(&program, program.function(id)));
}

#[test]
fn the_launch_loop_runs_every_thread_of_a_range_of_blocks() {
    let mut program = compile(HISTOGRAM);
    let kernel = program.find("histogram").unwrap();
    let launch = build_launch_loop(&mut program, kernel).unwrap();
    verify::verify_program(&program).unwrap();
    assert_eq!(
        program.function(launch).kind,
        FunctionKind::KernelLaunch { kernel }
    );
    assert!(
        program.function(launch).callees().is_empty(),
        "the thread function is inlined"
    );
    insta::assert_snapshot!(print::print_function(&program, program.function(launch)));
}

#[test]
fn kernels_with_barriers_or_shared_memory_have_no_launch_loop() {
    let mut program = compile(
        "#[kernel] fn k(x: &mut [f32]) { let i = global_id(); let v = x[i]; sync_threads(); x[i ^ 1] = v; }",
    );
    let kernel = program.find("k").unwrap();
    match build_launch_loop(&mut program, kernel) {
        Err(LaunchError::NeedsConcurrentThreads { what, span, .. }) => {
            assert_eq!(what, "`sync_threads()`");
            assert!(span.start > 0);
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn the_verifier_keeps_thread_indices_inside_kernels() {
    let mut program = compile("fn plain() -> usize { 1 }");
    let f = program.find("plain").unwrap();
    let body = &mut program.functions[f.0 as usize].body;
    body.insts[0].kind = InstKind::Spmd(SpmdInst::Index(SpmdIndex::ThreadIdx, Axis::Y));
    let err = verify::verify_program(&program).unwrap_err();
    assert!(
        format!("{err:?}").contains("outside of a kernel"),
        "{err:?}"
    );
}

#[test]
fn the_verifier_checks_atomic_operand_types() {
    let mut program = compile(HISTOGRAM);
    let kernel = program.find("histogram").unwrap();
    let f = &mut program.functions[kernel.0 as usize];
    let mut found = false;
    visit(&mut f.body, &mut |kind| {
        if let InstKind::Spmd(SpmdInst::Atomic(AtomicInst { op, .. })) = kind {
            *op = AtomicOp::CompareExchange; // now one operand short
            found = true;
        }
    });
    assert!(found);
    assert!(verify::verify_program(&program).is_err());
}

fn visit(block: &mut kern_compiler::ir::Block, f: &mut dyn FnMut(&mut InstKind)) {
    for inst in &mut block.insts {
        match &mut inst.kind {
            InstKind::If {
                then_block,
                else_block,
                ..
            } => {
                visit(then_block, f);
                visit(else_block, f);
            }
            InstKind::Loop {
                header,
                body,
                latch,
                ..
            } => {
                visit(header, f);
                visit(body, f);
                visit(latch, f);
            }
            other => f(other),
        }
    }
}

#[test]
fn spmd_builtins_outside_a_kernel_are_errors() {
    let text = errors_of("fn f() -> usize { thread_idx_y() }\n#[vectorize] fn g(x: f64) -> f64 { sync_threads(); x }");
    assert!(
        text.contains("`thread_idx_y()` can only be used inside a #[kernel] function"),
        "{text}"
    );
    assert!(
        text.contains("`sync_threads()` can only be used inside a #[kernel] function"),
        "{text}"
    );
}

#[test]
fn a_kernel_returns_nothing_and_is_never_called() {
    let text = errors_of(
        "#[kernel] fn k(x: &mut [f64]) -> f64 { 1.0 }\n#[kernel] fn j(x: &mut [f64]) {}\nfn h(x: &mut [f64]) { j(x); }",
    );
    assert!(text.contains("a #[kernel] returns nothing"), "{text}");
    assert!(
        text.contains("`j` is a #[kernel]: it cannot be called"),
        "{text}"
    );
}

fn desc<T>(data: &mut [T]) -> ArrayDesc {
    let mut d = ArrayDesc {
        data: data.as_mut_ptr().cast(),
        shape: [0; MAX_RANK],
        strides: [0; MAX_RANK],
    };
    d.shape[0] = data.len() as i64;
    d.strides[0] = 1;
    d
}

/// Runs the histogram launch loop over all blocks in the JIT or the interpreter.
fn run_histogram(
    program: &Program,
    launch: FuncId,
    samples: &mut [f64],
    jit: bool,
) -> (Vec<i32>, Vec<f64>) {
    let mut counts = vec![0i32; 5];
    let mut totals = vec![0f64; 5];
    let (grid, block) = (7usize, 32usize);
    let mut args = vec![
        HostArg::Array(desc(samples)),
        HostArg::Array(desc(&mut counts)),
        HostArg::Array(desc(&mut totals)),
        HostArg::Scalar(ScalarValue::F64(0.25)),
    ];
    for n in [grid, 1, 1, block, 1, 1, 0, grid] {
        args.push(HostArg::Scalar(ScalarValue::Usize(n as u64)));
    }
    // SAFETY: every descriptor covers its live vector.
    if jit {
        let code = JitEngine::new().unwrap().compile(program, launch).unwrap();
        unsafe { code.call(&args, &mut std::io::sink()) }.unwrap();
    } else {
        unsafe { Interpreter::new(program).call(launch, &args, &mut std::io::sink()) }.unwrap();
    }
    (counts, totals)
}

#[test]
fn the_compiled_launch_loop_agrees_with_the_interpreter() {
    let mut program = compile(HISTOGRAM);
    let kernel = program.find("histogram").unwrap();
    let launch = build_launch_loop(&mut program, kernel).unwrap();
    let mut samples: Vec<f64> = (0..200).map(|i| (i * 37 % 125) as f64 / 100.0).collect();
    let jit = run_histogram(&program, launch, &mut samples, true);
    let interp = run_histogram(&program, launch, &mut samples, false);
    assert_eq!(jit, interp);
    assert_eq!(jit.0.iter().sum::<i32>(), 200);
    let expected: Vec<i32> = (0..5)
        .map(|b| {
            samples
                .iter()
                .filter(|s| (**s / 0.25) as usize == b)
                .count() as i32
        })
        .collect();
    assert_eq!(jit.0, expected);
}

#[test]
fn shared_arrays_and_barriers_lower_to_spmd_instructions() {
    let program = compile(
        "#[kernel]
        fn reverse_each_block(x: &mut [f32]) {
            let tile: &mut [f32; 64] = shared_array();
            let t = thread_idx();
            let i = global_id();
            tile[t] = x[i];
            sync_threads();
            x[i] = tile[block_dim() - 1 - t];
        }",
    );
    let id = program.find("reverse_each_block").unwrap();
    insta::assert_snapshot!(print::print_function(&program, program.function(id)));
}

#[test]
fn a_shared_array_needs_its_type_and_a_kernel() {
    let text = errors_of(
        "#[kernel] fn k(x: &mut [f32]) { let tile = shared_array(); }\nfn f() { let t: &mut [f32; 4] = shared_array(); }",
    );
    assert!(
        text.contains("a shared array needs its type: `&mut [T; N]`"),
        "{text}"
    );
    assert!(
        text.contains("`shared_array()` can only be used inside a #[kernel] function"),
        "{text}"
    );
}
