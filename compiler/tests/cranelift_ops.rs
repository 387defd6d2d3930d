//! Every scalar operation, comparison, cast and intrinsic of the IR, compiled by the
//! Cranelift backend, against the value Rust computes for the same operation
//! (table-driven, with the edge cases the IR specification calls out).

use kern_compiler::backend::cranelift::{CallError, JitEngine};
use kern_compiler::ir::build::FunctionBuilder;
use kern_compiler::ir::*;
use kern_compiler::{FileId, Span};

fn span(start: usize) -> Span {
    Span::new(FileId(0), start, start + 1)
}

/// Builds `fn f(a: ty_a, b: ty_b) -> ret { <kind built by make> }` as a program.
fn two_arg_program(
    ty_a: ScalarType,
    ty_b: ScalarType,
    ret: ScalarType,
    make: impl FnOnce(&mut FunctionBuilder, ValueId, ValueId) -> ValueId,
) -> Program {
    let mut b = FunctionBuilder::new("f", Some(ret), span(0));
    let pa = b.param("a", Type::Scalar(ty_a));
    let pb = b.param("b", Type::Scalar(ty_b));
    let (a, c) = (b.get(pa), b.get(pb));
    b.current_span = span(42);
    let r = make(&mut b, a, c);
    b.inst(InstKind::Return(Some(r)));
    let mut program = Program::default();
    program.add_function(b.finish());
    program
}

fn one_arg_program(
    ty: ScalarType,
    ret: ScalarType,
    make: impl FnOnce(&mut FunctionBuilder, ValueId) -> ValueId,
) -> Program {
    let mut b = FunctionBuilder::new("f", Some(ret), span(0));
    let p = b.param("a", Type::Scalar(ty));
    let a = b.get(p);
    let r = make(&mut b, a);
    b.inst(InstKind::Return(Some(r)));
    let mut program = Program::default();
    program.add_function(b.finish());
    program
}

type Outcome = Result<ScalarValue, TrapKind>;

fn run(engine: &mut JitEngine, program: &Program, args: &[ScalarValue]) -> Outcome {
    let f = engine.compile(program, FuncId(0)).expect("compiles");
    match f.call_scalars(args, &mut Vec::new()) {
        Ok(v) => Ok(v.expect("returns a value")),
        Err(CallError::Trap(t)) => {
            assert_eq!(t.span, span(42), "trap reported at the instruction's span");
            Err(t.kind)
        }
        Err(e) => panic!("unexpected call error: {e}"),
    }
}

/// Bit-exact, except that any NaN matches any NaN (hardware and Rust constant
/// folding may pick different NaN payloads).
fn same(actual: &Outcome, expected: &Outcome) -> bool {
    match (actual, expected) {
        (Ok(a), Ok(e)) => {
            a.bit_eq(*e)
                || match (a, e) {
                    (ScalarValue::F32(x), ScalarValue::F32(y)) => x.is_nan() && y.is_nan(),
                    (ScalarValue::F64(x), ScalarValue::F64(y)) => x.is_nan() && y.is_nan(),
                    _ => false,
                }
        }
        (a, e) => a == e,
    }
}

const BINARY_OPS: [BinaryOp; 10] = [
    BinaryOp::Add,
    BinaryOp::Sub,
    BinaryOp::Mul,
    BinaryOp::Div,
    BinaryOp::Rem,
    BinaryOp::And,
    BinaryOp::Or,
    BinaryOp::Xor,
    BinaryOp::Shl,
    BinaryOp::Shr,
];

const CMP_OPS: [CmpOp; 6] = [
    CmpOp::Eq,
    CmpOp::Ne,
    CmpOp::Lt,
    CmpOp::Le,
    CmpOp::Gt,
    CmpOp::Ge,
];

fn rust_cmp<T: PartialOrd>(op: CmpOp, a: T, b: T) -> bool {
    match op {
        CmpOp::Eq => a == b,
        CmpOp::Ne => a != b,
        CmpOp::Lt => a < b,
        CmpOp::Le => a <= b,
        CmpOp::Gt => a > b,
        CmpOp::Ge => a >= b,
    }
}

macro_rules! int_type_cases {
    ($engine:expr, $t:ty, $variant:ident) => {{
        let engine: &mut JitEngine = $engine;
        let ty = ScalarValue::$variant(0 as $t).ty();
        let samples: Vec<$t> = vec![
            0,
            1,
            2,
            3,
            7,
            8,
            9,
            63,
            64,
            100,
            <$t>::MAX,
            <$t>::MIN,
            <$t>::MAX / 3,
            <$t>::MIN.wrapping_add(1),
            (-1i64) as $t,
            (-7i64) as $t,
            // Either side of 2^32, where 64-bit division switches between
            // its 32-bit and 64-bit instructions.
            u32::MAX as i64 as $t,
            (1i64 << 32) as $t,
            ((1i64 << 32) + 5) as $t,
            (u32::MAX / 7) as i64 as $t,
        ];
        for op in BINARY_OPS {
            let program = two_arg_program(ty, ty, ty, |b, x, y| b.binary(op, x, y));
            for &a in &samples {
                for &c in &samples {
                    let expected: Outcome = match op {
                        BinaryOp::Add => Ok(a.wrapping_add(c)),
                        BinaryOp::Sub => Ok(a.wrapping_sub(c)),
                        BinaryOp::Mul => Ok(a.wrapping_mul(c)),
                        BinaryOp::Div if c == 0 => Err(TrapKind::DivisionByZero),
                        BinaryOp::Div => a.checked_div(c).ok_or(TrapKind::DivisionOverflow),
                        BinaryOp::Rem if c == 0 => Err(TrapKind::DivisionByZero),
                        BinaryOp::Rem => a.checked_rem(c).ok_or(TrapKind::DivisionOverflow),
                        BinaryOp::And => Ok(a & c),
                        BinaryOp::Or => Ok(a | c),
                        BinaryOp::Xor => Ok(a ^ c),
                        BinaryOp::Shl => Ok(a.wrapping_shl(c as u32)),
                        BinaryOp::Shr => Ok(a.wrapping_shr(c as u32)),
                    }
                    .map(ScalarValue::$variant);
                    let args = [ScalarValue::$variant(a), ScalarValue::$variant(c)];
                    let actual = run(engine, &program, &args);
                    assert!(
                        same(&actual, &expected),
                        "{ty} {a} {op:?} {c}: got {actual:?}, expected {expected:?}"
                    );
                }
            }
        }
        for op in CMP_OPS {
            let program = two_arg_program(ty, ty, ScalarType::Bool, |b, x, y| b.cmp(op, x, y));
            for &a in &samples {
                for &c in &samples {
                    let expected = Ok(ScalarValue::Bool(rust_cmp(op, a, c)));
                    let actual = run(
                        engine,
                        &program,
                        &[ScalarValue::$variant(a), ScalarValue::$variant(c)],
                    );
                    assert!(same(&actual, &expected), "{ty} {a} {op:?} {c}: {actual:?}");
                }
            }
        }
        let neg = one_arg_program(ty, ty, |b, x| b.value(InstKind::Unary(UnaryOp::Neg, x), ty));
        let not = one_arg_program(ty, ty, |b, x| b.value(InstKind::Unary(UnaryOp::Not, x), ty));
        for &a in &samples {
            let arg = [ScalarValue::$variant(a)];
            let got = run(engine, &neg, &arg);
            assert!(
                same(&got, &Ok(ScalarValue::$variant(a.wrapping_neg()))),
                "-{a}: {got:?}"
            );
            let got = run(engine, &not, &arg);
            assert!(same(&got, &Ok(ScalarValue::$variant(!a))), "!{a}: {got:?}");
        }
    }};
}

#[test]
fn integer_arithmetic_wraps_traps_and_masks_shifts_like_rust() {
    let mut engine = JitEngine::new().unwrap();
    int_type_cases!(&mut engine, i8, I8);
    int_type_cases!(&mut engine, i16, I16);
    int_type_cases!(&mut engine, i32, I32);
    int_type_cases!(&mut engine, i64, I64);
    int_type_cases!(&mut engine, i64, Isize);
    int_type_cases!(&mut engine, u8, U8);
    int_type_cases!(&mut engine, u16, U16);
    int_type_cases!(&mut engine, u32, U32);
    int_type_cases!(&mut engine, u64, U64);
    int_type_cases!(&mut engine, u64, Usize);
}

/// Division and remainder by a constant skip the trap checks the constant cannot
/// need and turn a power of two into shifts and masks: every integer type,
/// dividends at the edges, divisors that are powers of two (to the top bit),
/// others, -1, MIN and 0 (which still trap), against the IR's own evaluation.
#[test]
fn division_by_a_constant_is_division() {
    let mut engine = JitEngine::new().unwrap();
    for ty in ScalarType::ALL.into_iter().filter(|t| t.is_int()) {
        let bits = ty.bits();
        let mut divisors: Vec<i128> = (0..bits).map(|k| 1i128 << k).collect();
        divisors.extend(divisors.clone().iter().map(|d| -d));
        divisors.extend([0, 3, 7, 10, 1000, -3, -7, (1i128 << bits) - 1]);
        let mut dividends: Vec<ScalarValue> = samples_of(ty);
        dividends.extend([-2i128, -3, -4, -5, -8, -9, 5, 9, 17].map(|v| ScalarValue::int(ty, v)));
        for d in divisors {
            let d = ScalarValue::int(ty, d);
            for op in [BinaryOp::Div, BinaryOp::Rem] {
                let mut b = FunctionBuilder::new("f", Some(ty), span(0));
                let p = b.param("a", Type::Scalar(ty));
                let a = b.get(p);
                b.current_span = span(42);
                let c = b.constant(d);
                let r = b.binary(op, a, c);
                b.inst(InstKind::Return(Some(r)));
                let mut program = Program::default();
                program.add_function(b.finish());
                for &x in &dividends {
                    let expected = eval::eval_binary(op, x, d);
                    let actual = run(&mut engine, &program, &[x]);
                    assert!(
                        same(&actual, &expected),
                        "{ty} {x:?} {op:?} {d:?}: got {actual:?}, expected {expected:?}"
                    );
                }
            }
        }
    }
}

#[test]
fn shift_amounts_of_another_type_are_masked_to_the_left_operand_width() {
    let mut engine = JitEngine::new().unwrap();
    let shl = two_arg_program(
        ScalarType::U8,
        ScalarType::I64,
        ScalarType::U8,
        |b, x, y| b.binary(BinaryOp::Shl, x, y),
    );
    for amount in [0i64, 1, 7, 8, 9, 63, 64, -1] {
        let got = run(
            &mut engine,
            &shl,
            &[ScalarValue::U8(0b1011), ScalarValue::I64(amount)],
        );
        let expected = ScalarValue::U8(0b1011u8.wrapping_shl(amount as u32));
        assert!(same(&got, &Ok(expected)), "u8 << {amount}: {got:?}");
    }
    let shr = two_arg_program(
        ScalarType::I64,
        ScalarType::U8,
        ScalarType::I64,
        |b, x, y| b.binary(BinaryOp::Shr, x, y),
    );
    for amount in [0u8, 1, 63, 64, 65, 255] {
        let got = run(
            &mut engine,
            &shr,
            &[ScalarValue::I64(-1000), ScalarValue::U8(amount)],
        );
        let expected = ScalarValue::I64((-1000i64).wrapping_shr(amount as u32));
        assert!(same(&got, &Ok(expected)), "i64 >> {amount}: {got:?}");
    }
}

#[test]
fn bool_logic_and_comparisons() {
    let mut engine = JitEngine::new().unwrap();
    let t = ScalarType::Bool;
    let bools = [false, true];
    for op in [BinaryOp::And, BinaryOp::Or, BinaryOp::Xor] {
        let program = two_arg_program(t, t, t, |b, x, y| b.binary(op, x, y));
        for a in bools {
            for c in bools {
                let expected = match op {
                    BinaryOp::And => a & c,
                    BinaryOp::Or => a | c,
                    _ => a ^ c,
                };
                let got = run(
                    &mut engine,
                    &program,
                    &[ScalarValue::Bool(a), ScalarValue::Bool(c)],
                );
                assert_eq!(got, Ok(ScalarValue::Bool(expected)), "{a} {op:?} {c}");
            }
        }
    }
    let not = one_arg_program(t, t, |b, x| b.value(InstKind::Unary(UnaryOp::Not, x), t));
    for a in bools {
        assert_eq!(
            run(&mut engine, &not, &[ScalarValue::Bool(a)]),
            Ok(ScalarValue::Bool(!a))
        );
    }
    for op in CMP_OPS {
        let program = two_arg_program(t, t, t, |b, x, y| b.cmp(op, x, y));
        for a in bools {
            for c in bools {
                let got = run(
                    &mut engine,
                    &program,
                    &[ScalarValue::Bool(a), ScalarValue::Bool(c)],
                );
                assert_eq!(got, Ok(ScalarValue::Bool(rust_cmp(op, a, c))));
            }
        }
    }
}

fn f64_samples() -> Vec<f64> {
    vec![
        0.0,
        -0.0,
        1.0,
        -1.0,
        1.5,
        -1.5,
        2.5,
        -2.5,
        0.49999999999999994,
        127.5,
        -128.9,
        255.9,
        300.0,
        -300.0,
        65535.9,
        -32768.5,
        2147483647.5,
        -2147483649.0,
        4294967295.5,
        1e10,
        -1e10,
        9.3e18,
        1.8446744073709552e19,
        1e20,
        -1e20,
        f64::MAX,
        f64::MIN_POSITIVE,
        5e-324,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NAN,
        std::f64::consts::PI,
    ]
}

macro_rules! float_type_cases {
    ($engine:expr, $t:ty, $variant:ident) => {{
        let engine: &mut JitEngine = $engine;
        let ty = ScalarValue::$variant(0.0).ty();
        let samples: Vec<$t> = f64_samples().into_iter().map(|v| v as $t).collect();
        let ops = [BinaryOp::Add, BinaryOp::Sub, BinaryOp::Mul, BinaryOp::Div];
        for op in ops {
            let program = two_arg_program(ty, ty, ty, |b, x, y| b.binary(op, x, y));
            for &a in &samples {
                for &c in &samples {
                    let expected = ScalarValue::$variant(match op {
                        BinaryOp::Add => a + c,
                        BinaryOp::Sub => a - c,
                        BinaryOp::Mul => a * c,
                        _ => a / c,
                    });
                    let args = [ScalarValue::$variant(a), ScalarValue::$variant(c)];
                    let got = run(engine, &program, &args);
                    assert!(same(&got, &Ok(expected)), "{a} {op:?} {c}: {got:?}");
                }
            }
        }
        for op in CMP_OPS {
            let program = two_arg_program(ty, ty, ScalarType::Bool, |b, x, y| b.cmp(op, x, y));
            for &a in &samples {
                for &c in &samples {
                    let args = [ScalarValue::$variant(a), ScalarValue::$variant(c)];
                    let got = run(engine, &program, &args);
                    let expected = ScalarValue::Bool(rust_cmp(op, a, c));
                    assert!(same(&got, &Ok(expected)), "{a} {op:?} {c}: {got:?}");
                }
            }
        }
        let neg = one_arg_program(ty, ty, |b, x| b.value(InstKind::Unary(UnaryOp::Neg, x), ty));
        let unary: [(Intrinsic, fn($t) -> $t); 6] = [
            (Intrinsic::Sqrt, |x| x.sqrt()),
            (Intrinsic::Abs, |x| x.abs()),
            (Intrinsic::Floor, |x| x.floor()),
            (Intrinsic::Ceil, |x| x.ceil()),
            (Intrinsic::Trunc, |x| x.trunc()),
            (Intrinsic::Nearest, |x| x.round_ties_even()),
        ];
        for &a in &samples {
            let got = run(engine, &neg, &[ScalarValue::$variant(a)]);
            assert!(same(&got, &Ok(ScalarValue::$variant(-a))), "-{a}: {got:?}");
        }
        for (op, rust) in unary {
            let program =
                one_arg_program(ty, ty, |b, x| b.value(InstKind::Intrinsic(op, vec![x]), ty));
            for &a in &samples {
                let got = run(engine, &program, &[ScalarValue::$variant(a)]);
                let expected = ScalarValue::$variant(rust(a));
                assert!(same(&got, &Ok(expected)), "{op:?}({a}): {got:?}");
            }
        }
        let copysign = two_arg_program(ty, ty, ty, |b, x, y| {
            b.value(InstKind::Intrinsic(Intrinsic::Copysign, vec![x, y]), ty)
        });
        let fma = {
            let mut b = FunctionBuilder::new("fma", Some(ty), span(0));
            let ps: Vec<_> = ["a", "b", "c"]
                .iter()
                .map(|n| b.param(*n, Type::Scalar(ty)))
                .collect();
            let vs: Vec<_> = ps.iter().map(|p| b.get(*p)).collect();
            let r = b.value(InstKind::Intrinsic(Intrinsic::Fma, vs), ty);
            b.inst(InstKind::Return(Some(r)));
            let mut program = Program::default();
            program.add_function(b.finish());
            program
        };
        for &a in &samples {
            for &c in &samples {
                let args = [ScalarValue::$variant(a), ScalarValue::$variant(c)];
                let got = run(engine, &copysign, &args);
                let expected = ScalarValue::$variant(a.copysign(c));
                assert!(same(&got, &Ok(expected)), "copysign({a}, {c}): {got:?}");
                let third = (0.1 as $t) * c;
                let args = [
                    ScalarValue::$variant(a),
                    ScalarValue::$variant(c),
                    ScalarValue::$variant(third),
                ];
                let got = run(engine, &fma, &args);
                let expected = ScalarValue::$variant(a.mul_add(c, third));
                assert!(same(&got, &Ok(expected)), "fma({a}, {c}, {third}): {got:?}");
            }
        }
    }};
}

#[test]
fn float_arithmetic_comparisons_and_intrinsics_match_rust() {
    let mut engine = JitEngine::new().unwrap();
    float_type_cases!(&mut engine, f32, F32);
    float_type_cases!(&mut engine, f64, F64);
}

#[test]
fn fma_is_fused_with_a_single_rounding() {
    // 0.1 * 10 - 1 is 0 when rounded twice and 2^-54 * 5.55.. when fused.
    let mut engine = JitEngine::new().unwrap();
    let t = ScalarType::F64;
    let mut b = FunctionBuilder::new("fma", Some(t), span(0));
    let (x, y, z) = (
        b.constant(ScalarValue::F64(0.1)),
        b.constant(ScalarValue::F64(10.0)),
        b.constant(ScalarValue::F64(-1.0)),
    );
    let r = b.value(InstKind::Intrinsic(Intrinsic::Fma, vec![x, y, z]), t);
    b.inst(InstKind::Return(Some(r)));
    let mut program = Program::default();
    program.add_function(b.finish());
    let got = run(&mut engine, &program, &[]);
    assert_eq!(got, Ok(ScalarValue::F64(0.1f64.mul_add(10.0, -1.0))));
    assert_ne!(got, Ok(ScalarValue::F64(0.0)));
}

/// Rust's `x as to` for any pair of kern scalar types (bool only as a source, and
/// never into a float: Rust has no such cast).
fn rust_cast(v: ScalarValue, to: ScalarType) -> Option<ScalarValue> {
    macro_rules! cast {
        ($x:expr) => {
            Some(match to {
                ScalarType::I8 => ScalarValue::I8($x as i8),
                ScalarType::I16 => ScalarValue::I16($x as i16),
                ScalarType::I32 => ScalarValue::I32($x as i32),
                ScalarType::I64 => ScalarValue::I64($x as i64),
                ScalarType::Isize => ScalarValue::Isize($x as i64),
                ScalarType::U8 => ScalarValue::U8($x as u8),
                ScalarType::U16 => ScalarValue::U16($x as u16),
                ScalarType::U32 => ScalarValue::U32($x as u32),
                ScalarType::U64 => ScalarValue::U64($x as u64),
                ScalarType::Usize => ScalarValue::Usize($x as u64),
                ScalarType::F32 => ScalarValue::F32($x as f32),
                ScalarType::F64 => ScalarValue::F64($x as f64),
                ScalarType::Bool => return None,
            })
        };
    }
    match v {
        ScalarValue::Bool(b) if !to.is_float() => cast!(b as u8),
        ScalarValue::Bool(_) => None,
        ScalarValue::I8(x) => cast!(x),
        ScalarValue::I16(x) => cast!(x),
        ScalarValue::I32(x) => cast!(x),
        ScalarValue::I64(x) | ScalarValue::Isize(x) => cast!(x),
        ScalarValue::U8(x) => cast!(x),
        ScalarValue::U16(x) => cast!(x),
        ScalarValue::U32(x) => cast!(x),
        ScalarValue::U64(x) | ScalarValue::Usize(x) => cast!(x),
        ScalarValue::F32(x) => cast!(x),
        ScalarValue::F64(x) => cast!(x),
    }
}

fn samples_of(ty: ScalarType) -> Vec<ScalarValue> {
    let ints: [i128; 14] = [
        0,
        1,
        -1,
        127,
        128,
        -129,
        255,
        256,
        65535,
        -32769,
        i32::MAX as i128,
        u32::MAX as i128 + 1,
        i64::MIN as i128,
        u64::MAX as i128,
    ];
    match ty {
        ScalarType::Bool => vec![ScalarValue::Bool(false), ScalarValue::Bool(true)],
        ScalarType::F32 => f64_samples()
            .into_iter()
            .map(|v| ScalarValue::F32(v as f32))
            .collect(),
        ScalarType::F64 => f64_samples().into_iter().map(ScalarValue::F64).collect(),
        _ => ints.iter().map(|v| ScalarValue::int(ty, *v)).collect(),
    }
}

#[test]
fn every_cast_between_scalar_types_follows_rust_as() {
    let mut engine = JitEngine::new().unwrap();
    for from in ScalarType::ALL {
        for to in ScalarType::ALL {
            if rust_cast(ScalarValue::zero(from), to).is_none() {
                continue;
            }
            let program = one_arg_program(from, to, |b, x| b.value(InstKind::Cast(x, to), to));
            for v in samples_of(from) {
                let expected = rust_cast(v, to).unwrap();
                let got = run(&mut engine, &program, &[v]);
                assert!(
                    same(&got, &Ok(expected)),
                    "{v:?} as {to}: got {got:?}, expected {expected:?}"
                );
            }
        }
    }
}

#[test]
fn bitcasts_reinterpret_float_bits() {
    let mut engine = JitEngine::new().unwrap();
    let cases = [
        (
            ScalarValue::F64(-0.0),
            ScalarValue::U64((-0.0f64).to_bits()),
        ),
        (
            ScalarValue::F64(1.5),
            ScalarValue::I64(1.5f64.to_bits() as i64),
        ),
        (
            ScalarValue::F32(-2.5),
            ScalarValue::U32((-2.5f32).to_bits()),
        ),
        (
            ScalarValue::U32(0x7fc0_0001),
            ScalarValue::F32(f32::from_bits(0x7fc0_0001)),
        ),
        (
            ScalarValue::I64(-1),
            ScalarValue::F64(f64::from_bits(u64::MAX)),
        ),
        (ScalarValue::I32(-5), ScalarValue::U32(-5i32 as u32)),
    ];
    for (input, expected) in cases {
        let to = expected.ty();
        let program = one_arg_program(input.ty(), to, |b, x| b.value(InstKind::Bitcast(x, to), to));
        let got = run(&mut engine, &program, &[input]).unwrap();
        assert!(got.bit_eq(expected), "{input:?} → {to}: {got:?}");
    }
}

#[test]
fn select_picks_by_condition_without_branching_semantics() {
    let mut engine = JitEngine::new().unwrap();
    let program = two_arg_program(
        ScalarType::F64,
        ScalarType::F64,
        ScalarType::F64,
        |b, x, y| {
            let c = b.cmp(CmpOp::Lt, x, y);
            b.value(
                InstKind::Select {
                    cond: c,
                    if_true: x,
                    if_false: y,
                },
                ScalarType::F64,
            )
        },
    );
    let mut min = |a: f64, c: f64| {
        run(
            &mut engine,
            &program,
            &[ScalarValue::F64(a), ScalarValue::F64(c)],
        )
    };
    assert_eq!(min(1.0, 2.0), Ok(ScalarValue::F64(1.0)));
    assert_eq!(min(3.0, -2.0), Ok(ScalarValue::F64(-2.0)));
}

#[test]
fn intrinsics_are_single_instructions_not_libm_calls() {
    for (op, arity) in [
        (Intrinsic::Fma, 3),
        (Intrinsic::Floor, 1),
        (Intrinsic::Nearest, 1),
        (Intrinsic::Sqrt, 1),
    ] {
        let t = ScalarType::F64;
        let mut b = FunctionBuilder::new("f", Some(t), span(0));
        let args: Vec<_> = (0..arity)
            .map(|i| {
                let p = b.param(format!("x{i}"), Type::Scalar(t));
                b.get(p)
            })
            .collect();
        let r = b.value(InstKind::Intrinsic(op, args), t);
        b.inst(InstKind::Return(Some(r)));
        let mut program = Program::default();
        let f = program.add_function(b.finish());
        let asm = JitEngine::emit_asm(&program, f).unwrap();
        let calls = asm.lines().any(|l| l.trim_start().starts_with("call"));
        assert!(!calls, "{op:?} calls out:\n{asm}");
        if cfg!(target_arch = "x86_64") && op == Intrinsic::Fma {
            assert!(asm.contains("vfmadd"), "fma is not fused:\n{asm}");
        }
    }
}
