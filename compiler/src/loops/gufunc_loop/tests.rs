//! Gufunc loops run in the interpreter and as machine code: sub-views, scalar
//! inputs and returned outputs with conversions, `n = 0`, bodies that stay calls.

use super::*;
use crate::backend::cranelift::JitEngine;
use crate::interp::Interpreter;

use crate::test_support::{accesses, array_arg as desc, compile};

fn sig(inputs: &[ScalarType], outputs: &[ScalarType]) -> GufuncLoopSignature {
    GufuncLoopSignature {
        inputs: inputs.to_vec(),
        outputs: outputs.to_vec(),
    }
}

/// `src`'s gufunc `name` from one `ty` input to one `ty` output, and its loop over
/// one loop dimension, verified.
fn unary_loop(src: &str, name: &str, ty: ScalarType) -> (Program, FuncId, FuncId) {
    let mut program = compile(src);
    let body = program.find(name).unwrap();
    let lp = build_gufunc_loop(&mut program, body, 1, &sig(&[ty], &[ty])).unwrap();
    crate::ir::verify::verify_program(&program).unwrap();
    (program, body, lp)
}

const MATMUL: &str = "
#[guvectorize]
fn matmul(a: &[[f64; N]; M], b: &[[f64; P]; N], out: &mut [[f64; P]; M]) {
    for i in 0..M {
        for j in 0..P {
            let mut s = 0.0;
            for k in 0..N { s += a[i][k] * b[k][j]; }
            out[i][j] = s;
        }
    }
}";

/// `MATMUL`'s program, its gufunc `matmul` and that gufunc's loop over one loop
/// dimension (`f64` operands).
fn matmul_loop() -> (Program, FuncId, FuncId) {
    let mut program = compile(MATMUL);
    let body = program.find("matmul").unwrap();
    let f64s = |n| vec![ScalarType::F64; n];
    let lp = build_gufunc_loop(&mut program, body, 2, &sig(&f64s(2), &f64s(1))).unwrap();
    (program, body, lp)
}

/// Runs the loop of `program` in the interpreter and as machine code.
fn run_both(program: &Program, lp: FuncId, args: &[HostArg]) -> [Result<(), Trap>; 2] {
    // SAFETY: every test's descriptors cover live buffers for all their indices.
    let interpreted = unsafe { Interpreter::new(program).call(lp, args, &mut std::io::sink()) };
    let mut engine = JitEngine::new().unwrap();
    let code = engine.compile(program, lp).unwrap();
    // SAFETY: as above.
    let compiled = unsafe { code.call(args, &mut std::io::sink()) };
    [
        interpreted.map(|_| ()),
        compiled.map(|_| ()).map_err(|e| match e {
            crate::backend::cranelift::CallError::Trap(t) => t,
            other => panic!("{other}"),
        }),
    ]
}

#[test]
fn matmul_is_one_self_contained_loop_over_sub_views() {
    let (program, body, lp) = matmul_loop();
    crate::ir::verify::verify_program(&program).unwrap();
    assert!(program.function(lp).callees().is_empty(), "fully inlined");
    assert_eq!(program.function(lp).kind, FunctionKind::GufuncLoop { body });

    // Two 2x3 @ 3x2 products; b is the same matrix for both (stride 0 on the loop).
    let mut a: Vec<f64> = (1..=12).map(f64::from).collect();
    let mut b: Vec<f64> = vec![1.0, 0.0, 0.0, 1.0, 1.0, 1.0];
    for which in 0..2 {
        let mut out = vec![0.0f64; 8];
        let args = [
            desc(&mut a, &[2, 2, 3], &[6, 3, 1]),
            desc(&mut b, &[2, 3, 2], &[0, 2, 1]),
            desc(&mut out, &[2, 2, 2], &[4, 2, 1]),
        ];
        let result = run_both(&program, lp, &args)[which].clone();
        result.unwrap();
        assert_eq!(out, [4.0, 5.0, 10.0, 11.0, 16.0, 17.0, 22.0, 23.0]);
    }
}

#[test]
fn scalar_inputs_and_returned_values_are_converted() {
    let mut program = compile(
        "#[guvectorize] fn wsum(x: &[f64], w: f64) -> f64 {
            let mut s = 0.0;
            for i in 0..x.len() { s += x[i] * w; }
            s
        }",
    );
    let body = program.find("wsum").unwrap();
    let signature = sig(&[ScalarType::F64, ScalarType::I32], &[ScalarType::F32]);
    let lp = build_gufunc_loop(&mut program, body, 2, &signature).unwrap();
    crate::ir::verify::verify_program(&program).unwrap();
    // Rows reversed (negative loop stride), weights 1, 2, 3.
    let mut x: Vec<f64> = (0..6).map(f64::from).collect();
    let mut w = [1i32, 2, 3];
    for which in 0..2 {
        let mut out = [0f32; 3];
        let args = [
            desc(&mut x[4..], &[3, 2], &[-2, 1]),
            desc(&mut w, &[3], &[1]),
            desc(&mut out, &[3], &[1]),
        ];
        run_both(&program, lp, &args)[which].clone().unwrap();
        assert_eq!(out, [9.0, 10.0, 3.0]);
    }
}

#[test]
fn an_empty_loop_never_runs_the_body_and_empty_core_dims_are_passed_on() {
    let src = "#[guvectorize] fn boom(x: &[i64]) -> i64 { (x.len() as i64) / (x.len() as i64) }";
    let (program, _, lp) = unary_loop(src, "boom", ScalarType::I64);
    let mut x = [0i64; 4];
    let mut out = [7i64; 2];
    let args = [desc(&mut x, &[0, 2], &[2, 1]), desc(&mut out, &[0], &[1])];
    for r in run_both(&program, lp, &args) {
        r.unwrap();
    }
    assert_eq!(out, [7, 7]);
    // Two loop indices with a core dimension of 0: the body runs and divides by 0.
    let args = [desc(&mut x, &[2, 0], &[0, 1]), desc(&mut out, &[2], &[1])];
    for r in run_both(&program, lp, &args) {
        assert_eq!(r.unwrap_err().kind, TrapKind::DivisionByZero);
    }
}

#[test]
fn a_body_that_is_not_inlined_gets_real_sub_view_descriptors() {
    // A return inside a loop keeps the body a call.
    let src = "#[guvectorize] fn first_neg(x: &[[f64; N]; M]) -> f64 {
            for i in 0..M { for j in 0..N { if x[i][j] < 0.0 { return x[i][j] + (i * 10 + j) as f64; } } }
            0.0
        }";
    let (program, body, lp) = unary_loop(src, "first_neg", ScalarType::F64);
    assert_eq!(program.function(lp).callees(), [body]);
    let text = crate::ir::print::print_function(&program, program.function(lp));
    assert!(text.contains("call first_neg(&l0[v"), "{text}");
    // Three 2x2 blocks in a Fortran-ordered buffer: element [b, i, j] at b + 3i + 6j.
    let mut x = vec![1.0f64; 12];
    x[1 + 3] = -1.0; // block 1, [1, 0]
    x[2 + 6] = -2.0; // block 2, [0, 1]
    for which in 0..2 {
        let mut out = [9.0f64; 3];
        let args = [
            desc(&mut x, &[3, 2, 2], &[1, 3, 6]),
            desc(&mut out, &[3], &[1]),
        ];
        run_both(&program, lp, &args)[which].clone().unwrap();
        assert_eq!(out, [0.0, 9.0, -1.0]);
    }
}

#[test]
fn operands_must_match_the_body() {
    let mut program = compile(MATMUL);
    let body = program.find("matmul").unwrap();
    let f64s = |n| vec![ScalarType::F64; n];
    assert!(matches!(
        build_gufunc_loop(&mut program, body, 2, &sig(&f64s(1), &f64s(1))),
        Err(GufuncLoopError::Arity { .. })
    ));
    let err = build_gufunc_loop(
        &mut program,
        body,
        2,
        &sig(&[ScalarType::F32, ScalarType::F64], &f64s(1)),
    )
    .unwrap_err();
    assert!(
        matches!(err, GufuncLoopError::Operand { operand: 0, .. }),
        "{err}"
    );
}

#[test]
fn sub_views_reach_helpers_that_stay_calls() {
    // The recursive helper is never inlined: it receives the sub-view itself.
    let src = "fn rsum(x: &[f64], i: usize) -> f64 { if i == x.len() { 0.0 } else { x[i] + rsum(x, i + 1) } }
         #[guvectorize] fn total(x: &[f64]) -> f64 { rsum(x, 0) }";
    let (program, _, lp) = unary_loop(src, "total", ScalarType::F64);
    assert_eq!(
        program.function(lp).callees(),
        [program.find("rsum").unwrap()]
    );
    let mut x: Vec<f64> = (0..6).map(f64::from).collect();
    for which in 0..2 {
        let mut out = [0.0f64; 2];
        let args = [desc(&mut x, &[2, 3], &[1, 2]), desc(&mut out, &[2], &[1])];
        run_both(&program, lp, &args)[which].clone().unwrap();
        assert_eq!(out, [0.0 + 2.0 + 4.0, 1.0 + 3.0 + 5.0]);
    }
}

#[test]
fn a_loop_over_a_loop_keeps_the_sub_view_of_a_sub_view_as_a_call() {
    let mut program = compile(
        "#[guvectorize] fn first_neg(x: &[f64]) -> f64 {
            for i in 0..x.len() { if x[i] < 0.0 { return i as f64; } }
            -1.0
        }",
    );
    let body = program.find("first_neg").unwrap();
    let f64s = sig(&[ScalarType::F64], &[ScalarType::F64]);
    let inner = build_gufunc_loop(&mut program, body, 1, &f64s).unwrap();
    // The inner loop as a body: both operands are arrays, the output `&mut`.
    let outer = build_gufunc_loop(&mut program, inner, 1, &f64s).unwrap();
    crate::ir::verify::verify_program(&program).unwrap();
    assert_eq!(program.function(outer).callees(), [inner], "not inlined");
    // x[a, b, i] at 4a + 2b + i over shape (2, 2, 2).
    let mut x = vec![1.0f64; 8];
    x[1] = -1.0; // [0, 0, 1]
    x[6] = -5.0; // [1, 1, 0]
    for which in 0..2 {
        let mut out = [9.0f64; 4];
        let args = [
            desc(&mut x, &[2, 2, 2], &[4, 2, 1]),
            desc(&mut out, &[2, 2], &[2, 1]),
        ];
        run_both(&program, outer, &args)[which].clone().unwrap();
        assert_eq!(out, [1.0, -1.0, -1.0, 0.0]);
    }
}

#[test]
fn core_dimensions_a_name_binds_together_prove_each_others_indices() {
    let (program, _, lp) = matmul_loop();
    assert_eq!(
        accesses(&program, lp),
        ["load.unchecked", "load.unchecked", "store.unchecked"],
        "`k < N` measured on `a` proves `b[k]`, `j < P` on `b` proves `out[i][j]`"
    );

    // `(n),(n1)->()`: two lengths the body relates by itself, so `y[i]` keeps its
    // check, which fires (at its place) when `y` is the shorter.
    let src = "#[guvectorize] fn dot(x: &[f64], y: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..x.len() { s += x[i] * y[i]; }
        s
    }";
    let mut program = compile(src);
    let body = program.find("dot").unwrap();
    let f64s = |n| vec![ScalarType::F64; n];
    let lp = build_gufunc_loop(&mut program, body, 2, &sig(&f64s(2), &f64s(1))).unwrap();
    assert_eq!(
        accesses(&program, lp),
        ["load.unchecked", "load", "store.unchecked"]
    );
    let mut x = vec![1.0, 2.0, 3.0];
    let mut y = vec![4.0, 5.0];
    let mut out = vec![0.0];
    let args = [
        desc(&mut x, &[1, 3], &[0, 1]),
        desc(&mut y, &[1, 2], &[0, 1]),
        desc(&mut out, &[1], &[1]),
    ];
    for result in run_both(&program, lp, &args) {
        let trap = result.unwrap_err();
        assert_eq!(trap.kind, TrapKind::IndexOutOfBounds { index: 2, len: 2 });
        assert_eq!(
            &src[trap.span.start as usize..trap.span.end as usize],
            "y[i]"
        );
    }
}

/// `MATMUL`'s loop specialised on `m x n @ n x p` (and contiguous core axes).
fn specialised_matmul(m: usize, n: usize, p: usize, contiguous: bool) -> (Program, FuncId) {
    let mut program = compile(MATMUL);
    let body = program.find("matmul").unwrap();
    let f64s = |n| vec![ScalarType::F64; n];
    let core = CoreSpecialisation {
        extents: vec![vec![m, n], vec![n, p], vec![m, p]],
        contiguous,
    };
    let lp = build_specialised_gufunc_loop(&mut program, body, 2, &sig(&f64s(2), &f64s(1)), &core)
        .unwrap();
    crate::ir::verify::verify_program(&program).unwrap();
    (program, lp)
}

#[test]
fn a_specialised_loop_reads_core_extents_only_on_entry_and_computes_the_same_bits() {
    let (program, lp) = specialised_matmul(2, 3, 2, false);
    let f = program.function(lp);
    assert!(f.name.ends_with(".loop@2x3,3x2,2x2"), "{}", f.name);
    assert!(f.callees().is_empty(), "fully inlined");
    // Inside the loop no extent but the loop axis's is read: the body's loops
    // over core dimensions run to constants.
    let inner_extents: Vec<u8> = f
        .body
        .insts
        .iter()
        .flat_map(|i| i.kind.blocks())
        .flat_map(|b| b.insts_deep())
        .filter_map(|i| match i.kind {
            InstKind::ArrayLen { axis, .. } => Some(axis),
            _ => None,
        })
        .collect();
    assert!(inner_extents.iter().all(|&a| a == 0), "{inner_extents:?}");
    // The body's three loops ran to constants and were unrolled (`k`, `i`) or
    // jammed (`j`, whose two columns share the row's loads of `a`): only the
    // loop axis's is left (and the inliner's `loop { body; break }`), and each
    // row of the 2x2 output is three loads of `a`, six of `b` and two stores.
    let loops =
        (f.body.insts_deep()).filter(|i| matches!(i.kind, InstKind::Loop { cond: Some(_), .. }));
    assert_eq!(loops.count(), 1);
    let row = [vec!["load.unchecked"; 3 + 6], vec!["store.unchecked"; 2]].concat();
    assert_eq!(accesses(&program, lp), row.repeat(2));
    // At 16x16 the loop over `i` stays a loop (too large to unroll; `j` is
    // jammed into two groups of eight columns, `passes::jam`), running to a
    // constant: the header compares the counter with a constant or a local
    // that only ever holds constants (`for i in 0..16`).
    let (large, llp) = specialised_matmul(16, 16, 16, false);
    let f = large.function(llp);
    let defs: std::collections::HashMap<ValueId, &InstKind> = f
        .body
        .insts_deep()
        .filter_map(|i| Some((i.result?, &i.kind)))
        .collect();
    let constant = |v: &ValueId| matches!(defs.get(v), Some(InstKind::Const(_)));
    let bounds: Vec<bool> = f
        .body
        .insts_deep()
        .filter_map(|i| match &i.kind {
            InstKind::Loop {
                cond: Some(cond),
                counted: None,
                ..
            } => Some(cond),
            _ => None,
        })
        .map(|cond| match defs[cond] {
            InstKind::Cmp(CmpOp::Lt, _, bound) => match defs[bound] {
                InstKind::GetLocal(l) => f.body.insts_deep().all(|i| match &i.kind {
                    InstKind::SetLocal(w, v) => w != l || constant(v),
                    _ => true,
                }),
                _ => constant(bound),
            },
            _ => false,
        })
        .collect();
    assert_eq!(bounds, [true]);

    // The generic loop's test case, reversed along the loop axis: the same bits.
    let (generic, _, glp) = matmul_loop();
    let mut a: Vec<f64> = (1..=12).map(|x| f64::from(x) * 0.37 - 1.1).collect();
    let mut b: Vec<f64> = vec![1.5, 0.25, -0.5, 1.0, 1.0, 3.0];
    let mut outs = Vec::new();
    for (program, lp) in [(&program, lp), (&generic, glp)] {
        for which in 0..2 {
            let mut out = vec![0.0f64; 8];
            let args = [
                desc(&mut a[6..], &[2, 2, 3], &[-6, 3, 1]),
                desc(&mut b, &[2, 3, 2], &[0, 2, 1]),
                desc(&mut out, &[2, 2, 2], &[4, 2, 1]),
            ];
            run_both(program, lp, &args)[which].clone().unwrap();
            outs.push(out.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }
    }
    assert!(outs.windows(2).all(|w| w[0] == w[1]), "{outs:?}");
}

#[test]
fn a_specialised_loop_handed_other_extents_stops_with_a_trap() {
    let (program, lp) = specialised_matmul(2, 3, 2, false);
    let mut a = vec![0.0f64; 8];
    let mut b = vec![0.0f64; 8];
    let mut out = vec![0.0f64; 8];
    // 2x2 @ 2x2: every access would be in bounds of the buffers, not of the loop.
    let args = [
        desc(&mut a, &[2, 2, 2], &[4, 2, 1]),
        desc(&mut b, &[2, 2, 2], &[4, 2, 1]),
        desc(&mut out, &[2, 2, 2], &[4, 2, 1]),
    ];
    for result in run_both(&program, lp, &args) {
        let trap = result.unwrap_err();
        assert!(
            matches!(&trap.kind, TrapKind::AssertionFailed(m) if m.contains("built for")),
            "{trap:?}"
        );
    }
}

#[test]
fn a_contiguous_loop_fixes_its_core_strides_and_computes_the_same_bits() {
    let (program, lp) = specialised_matmul(2, 3, 2, true);
    let f = program.function(lp);
    assert!(
        f.name.ends_with(".loop@2x3,3x2,2x2:contiguous"),
        "{}",
        f.name
    );
    let fixed: Vec<(u32, u8, i64)> = f
        .fixed_strides
        .iter()
        .map(|s| (s.array.0, s.axis, s.stride))
        .collect();
    let [a, b, out] = [0, 1, 2].map(|k| f.params[k].local.0);
    assert_eq!(
        fixed,
        [
            (a, 1, 3),
            (a, 2, 1),
            (b, 1, 2),
            (b, 2, 1),
            (out, 1, 2),
            (out, 2, 1)
        ]
    );
    // Contiguous cores under every loop-axis stride: reversed, broadcast (0),
    // and a gap between sub-arrays. The same bits as the generic loop's.
    let (generic, _, glp) = matmul_loop();
    let mut a: Vec<f64> = (0..18).map(|x| f64::from(x) * 0.37 - 1.1).collect();
    let mut b: Vec<f64> = vec![1.5, 0.25, -0.5, 1.0, 1.0, 3.0];
    let mut outs = Vec::new();
    for (program, lp) in [(&program, lp), (&generic, glp)] {
        for which in 0..2 {
            let mut out = vec![0.0f64; 12];
            let args = [
                desc(&mut a[12..], &[2, 2, 3], &[-12, 3, 1]),
                desc(&mut b, &[2, 3, 2], &[0, 2, 1]),
                desc(&mut out, &[2, 2, 2], &[6, 2, 1]),
            ];
            run_both(program, lp, &args)[which].clone().unwrap();
            outs.push(out.iter().map(|x| x.to_bits()).collect::<Vec<_>>());
        }
    }
    assert!(outs.windows(2).all(|w| w[0] == w[1]), "{outs:?}");
}

#[test]
fn a_contiguous_loop_handed_other_strides_stops_before_reading() {
    let (program, lp) = specialised_matmul(2, 3, 2, true);
    let mut a: Vec<f64> = (0..12).map(f64::from).collect();
    let mut b: Vec<f64> = (0..12).map(f64::from).collect();
    // `b` transposed (its core read down columns), then `a` with every other
    // element of a row: in bounds of the buffers, but not the layout the loop
    // addresses.
    for (a_strides, b_strides) in [([6, 3, 1], [6, 1, 3]), ([6, 6, 2], [6, 2, 1])] {
        let mut out = vec![7.0f64; 8];
        let args = [
            desc(&mut a, &[2, 2, 3], &a_strides),
            desc(&mut b, &[2, 3, 2], &b_strides),
            desc(&mut out, &[2, 2, 2], &[4, 2, 1]),
        ];
        for result in run_both(&program, lp, &args) {
            let trap = result.unwrap_err();
            assert!(
                matches!(&trap.kind, TrapKind::AssertionFailed(m) if m.contains("contiguous")),
                "{trap:?}"
            );
            assert_eq!(trap.span, program.function(lp).span);
        }
        assert_eq!(out, [7.0; 8], "nothing written");
    }
}

#[test]
fn a_fixed_stride_needs_its_assertion_on_entry() {
    let (mut program, lp) = specialised_matmul(2, 3, 2, true);
    let f = &mut program.functions[lp.0 as usize];
    // Drop the opening assertion of the first fixed stride (`in0`, axis 1).
    let first = f
        .body
        .insts
        .iter()
        .position(|i| matches!(i.kind, InstKind::ArrayStride { .. }))
        .unwrap();
    let assertion = f.body.insts[first..]
        .iter()
        .position(|i| matches!(i.kind, InstKind::Assert { .. }))
        .unwrap();
    f.body.insts.remove(first + assertion);
    let errors = crate::ir::verify::verify_program(&program).unwrap_err();
    assert!(
        errors
            .iter()
            .any(|e| e.contains("fixed stride 3") && e.contains("not asserted")),
        "{errors:?}"
    );
}

#[test]
fn a_contiguous_loop_multiplies_once_per_sub_array_not_per_access() {
    let count = |contiguous: bool| {
        let (program, lp) = specialised_matmul(4, 4, 4, contiguous);
        let asm = crate::backend::cranelift::JitEngine::emit_asm(&program, lp).unwrap();
        asm.lines().filter(|l| l.contains("imul")).count()
    };
    let (strided, contiguous) = (count(false), count(true));
    // At 4x4 the `j` and `k` loops are unrolled: the strided loop multiplies
    // an index by a stride per access and axis (16 products of 2 loads each
    // per row, 3 axes), the contiguous one per sub-array and row (the loop
    // axis's stride, and the row's offset).
    assert!(contiguous * 10 < strided, "{contiguous} against {strided}");
}

#[test]
fn axes_specialised_on_one_extent_prove_each_others_indices() {
    // `(n),(n1)->()`: the generic loop keeps `y[i]`'s check; at one extent for
    // both the specialised loop asserts them equal and drops it.
    let src = "#[guvectorize] fn dot(x: &[f64], y: &[f64]) -> f64 {
        let mut s = 0.0;
        for i in 0..x.len() { s += x[i] * y[i]; }
        s
    }";
    let f64s = |n| vec![ScalarType::F64; n];
    for (core, expected) in [
        ([vec![3], vec![3], vec![]], "load.unchecked"),
        ([vec![3], vec![2], vec![]], "load"),
    ] {
        let mut program = compile(src);
        let body = program.find("dot").unwrap();
        let signature = sig(&f64s(2), &f64s(1));
        let specialisation = CoreSpecialisation {
            extents: core.to_vec(),
            contiguous: false,
        };
        let lp = build_specialised_gufunc_loop(&mut program, body, 2, &signature, &specialisation)
            .unwrap();
        crate::ir::verify::verify_program(&program).unwrap();
        // Three copies of `s += x[i] * y[i]` (the loop unrolled).
        let loads = ["load.unchecked", expected].repeat(3);
        assert_eq!(
            accesses(&program, lp),
            [loads, vec!["store.unchecked"]].concat(),
            "{core:?}"
        );
        // A shorter `y` still traps at `y[i]`, as in the generic loop.
        let mut x = vec![1.0, 2.0, 3.0];
        let mut y = vec![4.0, 5.0, 6.0];
        let mut out = vec![0.0];
        let args = [
            desc(&mut x, &[1, 3], &[0, 1]),
            desc(&mut y, &[1, core[1][0] as i64], &[0, 1]),
            desc(&mut out, &[1], &[1]),
        ];
        for result in run_both(&program, lp, &args) {
            match core[1][0] {
                3 => assert_eq!(result, Ok(())),
                _ => assert_eq!(
                    result.unwrap_err().kind,
                    TrapKind::IndexOutOfBounds { index: 2, len: 2 }
                ),
            }
        }
    }
}

#[test]
fn core_extents_must_match_the_operands() {
    let mut program = compile(MATMUL);
    let body = program.find("matmul").unwrap();
    let signature = sig(&[ScalarType::F64; 2], &[ScalarType::F64]);
    for core in [
        vec![vec![2, 2], vec![2, 2]],
        vec![vec![2, 2], vec![2], vec![2, 2]],
    ] {
        let core = CoreSpecialisation {
            extents: core,
            contiguous: false,
        };
        let err =
            build_specialised_gufunc_loop(&mut program, body, 2, &signature, &core).unwrap_err();
        assert!(matches!(err, GufuncLoopError::CoreSizes { .. }), "{err}");
    }
}
