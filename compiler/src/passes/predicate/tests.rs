//! The predicated form against the interpreter: a lane-by-lane evaluator of
//! [`Predicated`] must give the element function's result whenever no guard
//! holds, and a guard must hold whenever the element traps or needs a real loop.

use super::*;
use crate::diagnostics::SourceMap;
use crate::interp::Interpreter;
use crate::ir::eval::{eval_binary, eval_bitcast, eval_cast, eval_cmp, eval_intrinsic, eval_unary};
use crate::loops::elementwise::{build_elementwise_loop, LoopSignature};

fn build_element(
    src: &str,
    ufunc: &str,
    inputs: &[ScalarType],
    output: ScalarType,
) -> (Program, FuncId) {
    let mut sources = SourceMap::new();
    let file = sources.add("t.kern", src);
    let mut program = match crate::frontend::compile(&mut sources, file) {
        Ok(c) => c.program,
        Err(d) => panic!("{}", d.render(&sources)),
    };
    let f = program.find(ufunc).unwrap();
    let sig = LoopSignature {
        inputs: inputs.to_vec(),
        output,
    };
    let (element, _) = build_elementwise_loop(&mut program, f, &sig).unwrap();
    (program, element)
}

/// Evaluates `p` for one lane: the result, and whether some guard holds.
fn eval(program: &Program, p: &Predicated, args: &[ScalarValue]) -> (ScalarValue, bool) {
    let mut v: Vec<ScalarValue> = Vec::with_capacity(p.insts.len());
    for inst in &p.insts {
        let get = |x: &PValue| v[x.0 as usize];
        let value = match inst {
            PInst::Param(k) => args[*k as usize],
            PInst::Const { ty, bits } => ScalarValue::from_bits(*ty, *bits),
            PInst::Unary(op, a) => eval_unary(*op, get(a)),
            PInst::Binary(op, a, b) => {
                eval_binary(*op, get(a), get(b)).expect("a predicated operation trapped")
            }
            PInst::Cmp(op, a, b) => ScalarValue::Bool(eval_cmp(*op, get(a), get(b))),
            PInst::Cast(a, t) => eval_cast(get(a), *t),
            PInst::Bitcast(a, t) => eval_bitcast(get(a), *t),
            PInst::Select {
                cond,
                if_true,
                if_false,
            } => {
                if get(cond) == ScalarValue::Bool(true) {
                    get(if_true)
                } else {
                    get(if_false)
                }
            }
            PInst::Intrinsic(op, args) => {
                let args: Vec<ScalarValue> = args.iter().map(get).collect();
                eval_intrinsic(*op, &args)
            }
            PInst::LoadConst { table, index } => {
                let i = get(index).as_i128().unwrap() as usize;
                program.const_table(*table).values[i]
            }
        };
        v.push(value);
    }
    let guarded = p
        .guards
        .iter()
        .any(|g| v[g.when.0 as usize] == ScalarValue::Bool(true));
    (v[p.result.0 as usize], guarded)
}

/// Checks `p` against the interpreter at `points`; returns how many were guarded.
fn check(program: &Program, element: FuncId, p: &Predicated, points: &[Vec<ScalarValue>]) -> usize {
    let mut guarded = 0;
    for args in points {
        let expected = Interpreter::new(program).call_scalars(element, args, &mut std::io::sink());
        let (got, g) = eval(program, p, args);
        if g {
            guarded += 1;
            continue;
        }
        let expected =
            expected.unwrap_or_else(|t| panic!("{args:?} trapped ({t}) without a guard"));
        assert!(
            expected.unwrap().same_result(got),
            "{args:?}: interpreter {expected:?}, predicated {got:?}\n{p}"
        );
    }
    guarded
}

fn floats(extra: &[f64]) -> Vec<f64> {
    let mut xs = vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        0.5,
        2.5,
        -3.75,
        1e-310,
        -1e-310,
        1e-20,
        0.1,
        std::f64::consts::FRAC_PI_4 - 1e-7,
        std::f64::consts::FRAC_PI_4 + 1e-7,
        2.0,
        3.0,
        10.0,
        22.0,
        30.0,
        100.0,
        700.0,
        710.0,
        750.0,
        -700.0,
        -750.0,
        1e6,
        1.6e6,
        1.7e6,
        1e15,
        1e300,
        -1e300,
        f64::INFINITY,
        -f64::INFINITY,
        f64::NAN,
        f64::MAX,
        f64::MIN_POSITIVE,
    ];
    xs.extend_from_slice(extra);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..300 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mag = ((seed >> 11) as f64 / (1u64 << 53) as f64) * 40.0 - 20.0;
        let sign = if seed & 1 == 0 { 1.0 } else { -1.0 };
        xs.push(sign * mag.exp2());
    }
    xs
}

fn unary_points(extra: &[f64]) -> Vec<Vec<ScalarValue>> {
    floats(extra)
        .into_iter()
        .map(|x| vec![ScalarValue::F64(x)])
        .collect()
}

const F64: ScalarType = ScalarType::F64;

#[test]
fn branches_become_selects_and_agree_with_the_interpreter() {
    let src = "#[vectorize] fn f(x: f64) -> f64 {
        if x.is_nan() { return 1.0; }
        let mut y = x * 2.0;
        if x < 0.0 { y = -y; } else if x > 10.0 { y = 10.0; }
        y + 1.0
    }";
    let (program, element) = build_element(src, "f", &[F64], F64);
    let p = if_convert(&program, element).unwrap();
    assert!(p.guards.is_empty(), "{p}");
    assert!(
        p.insts.iter().any(|i| matches!(i, PInst::Select { .. })),
        "{p}"
    );
    assert_eq!(check(&program, element, &p, &unary_points(&[])), 0);
}

#[test]
fn stdlib_bodies_agree_with_the_interpreter_where_no_guard_holds() {
    for (call, guards) in [
        ("x.exp()", false),
        ("x.ln()", false),
        ("x.ln_1p()", false),
        ("x.tanh()", false),
        ("x.sin()", true),
        ("x.cos()", true),
        ("(-x * x).exp() * x.sin() + x.abs().ln_1p()", true),
    ] {
        let src = format!("#[vectorize] fn f(x: f64) -> f64 {{ {call} }}");
        let (program, element) = build_element(&src, "f", &[F64], F64);
        let p = if_convert(&program, element).unwrap();
        assert_eq!(!p.guards.is_empty(), guards, "{call}:\n{p}");
        let guarded = check(&program, element, &p, &unary_points(&[]));
        // Only the Payne–Hanek arguments (|x| >= 1647099, finite) need the loop.
        let huge = floats(&[])
            .iter()
            .filter(|x| x.abs() >= 1647099.0 && x.is_finite())
            .count();
        assert_eq!(guarded, if guards { huge } else { 0 }, "{call}");
    }
}

#[test]
fn duplicated_inlined_kernels_are_computed_once() {
    // sin's quadrant dispatch inlines the sine and cosine kernels twice each.
    let src = "#[vectorize] fn f(x: f64) -> f64 { x.sin() }";
    let (program, element) = build_element(src, "f", &[F64], F64);
    let p = if_convert(&program, element).unwrap();
    let kernel_coefficient = -1.984_126_982_985_795e-4_f64; // KERN_S3
    let uses = p
        .insts
        .iter()
        .filter(|i| {
            matches!(i, PInst::Const { ty: ScalarType::F64, bits } if *bits == kernel_coefficient.to_bits())
        })
        .count();
    assert_eq!(uses, 1, "{p}");
    let multiplies_by_s3 = p
        .insts
        .iter()
        .filter(|i| match i {
            PInst::Binary(BinaryOp::Mul, _, b) | PInst::Binary(BinaryOp::Add, _, b) => {
                matches!(p.inst(*b), PInst::Const { bits, .. } if *bits == kernel_coefficient.to_bits())
            }
            _ => false,
        })
        .count();
    assert!(
        multiplies_by_s3 <= 2,
        "sin kernel evaluated {multiplies_by_s3} times\n{p}"
    );
}

#[test]
fn integer_division_is_guarded_per_active_lane() {
    let src = "#[vectorize] fn f(a: i32, b: i32) -> i32 { if a > 0 { a / b } else { a % 7 } }";
    let i32t = ScalarType::I32;
    let (program, element) = build_element(src, "f", &[i32t, i32t], i32t);
    let p = if_convert(&program, element).unwrap();
    assert_eq!(p.guards.len(), 1, "only the division by a variable: {p}");
    let mut points = Vec::new();
    for a in [i32::MIN, -7, -1, 0, 1, 5, i32::MAX] {
        for b in [i32::MIN, -1, 0, 1, 3] {
            points.push(vec![ScalarValue::I32(a), ScalarValue::I32(b)]);
        }
    }
    let guarded = check(&program, element, &p, &points);
    // a > 0 (1, 5, MAX) with b == 0; MIN / -1 is on the inactive `%` side.
    assert_eq!(guarded, 3);
}

/// The guard that keeps `f` of `src` (`f64 -> f64`) scalar on every call, if any.
fn always_scalar(src: &str) -> Option<GuardKind> {
    let (program, element) = build_element(src, "f", &[F64], F64);
    match if_convert(&program, element) {
        Err(NotVectorisable::AlwaysScalar { kind, .. }) => Some(kind),
        _ => None,
    }
}

#[test]
fn unconditional_loops_and_prints_are_always_scalar() {
    // (A loop of a few constant iterations is unrolled before it gets here.)
    let src = "#[vectorize] fn f(x: f64) -> f64 { let mut s = 0.0; for i in 0..100 { s += x; } s }";
    assert_eq!(always_scalar(src), Some(GuardKind::Loop));
    let src = "#[vectorize] fn f(x: f64) -> f64 { println!(\"{}\", x); x }";
    assert_eq!(always_scalar(src), Some(GuardKind::Print));
    let src = "#[vectorize] fn f(x: f64) -> f64 { if x > 1.0 { println!(\"{}\", x); } x }";
    let (program, element) = build_element(src, "f", &[F64], F64);
    let p = if_convert(&program, element).unwrap();
    assert_eq!(p.guards.len(), 1);
    assert_eq!(p.guards[0].kind, GuardKind::Print);
}

#[test]
fn constant_tables_get_in_range_indices() {
    let src = "const T: [f64; 3] = [1.5, 2.5, 3.5];
        #[vectorize] fn f(i: u32) -> f64 { if i < 2 { T[i as usize] } else { T[(i - 2) as usize] * 2.0 } }";
    let (program, element) = build_element(src, "f", &[ScalarType::U32], F64);
    let p = if_convert(&program, element).unwrap();
    let points: Vec<Vec<ScalarValue>> = (0..8).map(|i| vec![ScalarValue::U32(i)]).collect();
    let guarded = check(&program, element, &p, &points);
    assert_eq!(
        guarded, 3,
        "i = 5, 6, 7 index past the end on the active branch"
    );
}

/// Checks that a schedule defines every value before its uses, in a position
/// that dominates them (values of a region are visible after it only as outputs).
fn check_schedule(p: &Predicated, items: &[schedule::Item]) {
    fn walk(p: &Predicated, items: &[schedule::Item], visible: &mut [bool], all: &mut [bool]) {
        for item in items {
            match item {
                schedule::Item::Value(v) => {
                    p.inst(*v).for_each_operand(|o| {
                        let ok = visible[o.0 as usize] || matches!(p.inst(o), PInst::Const { .. });
                        assert!(ok, "p{} uses p{} before it is visible\n{p}", v.0, o.0);
                    });
                    assert!(!all[v.0 as usize], "p{} scheduled twice", v.0);
                    visible[v.0 as usize] = true;
                    all[v.0 as usize] = true;
                }
                schedule::Item::Region(r) => {
                    assert!(
                        visible[r.when.0 as usize],
                        "region condition p{} not visible",
                        r.when.0
                    );
                    let mut inner = visible.to_vec();
                    walk(p, &r.items, &mut inner, all);
                    for o in &r.outputs {
                        visible[o.0 as usize] = true;
                    }
                }
            }
        }
    }
    let n = p.insts.len();
    let mut visible = vec![false; n];
    walk(p, items, &mut visible, &mut vec![false; n]);
    let used = |v: PValue| visible[v.0 as usize] || matches!(p.inst(v), PInst::Const { .. });
    assert!(used(p.result));
    assert!(p.guards.iter().all(|g| used(g.when)));
}

#[test]
fn schedules_define_values_before_their_uses() {
    for call in [
        "x.exp()",
        "x.ln_1p()",
        "x.sin()",
        "x.cos()",
        "x.tanh()",
        "x.powf(y)",
        "(-x * x).exp() * x.sin() + x.abs().ln_1p()",
    ] {
        let src = format!("#[vectorize] fn f(x: f64, y: f64) -> f64 {{ {call} }}");
        let (program, element) = build_element(&src, "f", &[F64, F64], F64);
        let p = if_convert(&program, element).unwrap();
        for min in [1, 6] {
            let items = schedule::schedule(&p, min);
            check_schedule(&p, &items);
            if min == 6 && call.contains("sin") {
                assert!(
                    items.iter().any(|i| matches!(i, schedule::Item::Region(_))),
                    "{call}"
                );
            }
        }
    }
}
