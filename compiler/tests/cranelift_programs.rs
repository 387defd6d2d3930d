//! Whole functions through the Cranelift backend: loops with break/continue, calls
//! and recursion (with the depth guard), arrays through descriptors (strided,
//! negative strides, bounds traps), constant tables, assertions, `print!` output,
//! argument checking, units and annotated CLIF.
//!
//! The IR is built by hand, as the front end would lower it.

use kern_compiler::backend::cranelift::{CallError, CompiledFunction, JitEngine};
use kern_compiler::ir::build::FunctionBuilder;
use kern_compiler::ir::*;
use kern_compiler::{FileId, SourceMap, Span};

fn span(start: usize) -> Span {
    Span::new(FileId(0), start, start + 1)
}

fn int(v: i64) -> ScalarValue {
    ScalarValue::I64(v)
}

fn scalar(t: ScalarType) -> Type {
    Type::Scalar(t)
}

const I64: ScalarType = ScalarType::I64;

/// `local += delta` (i64).
fn bump(b: &mut FunctionBuilder, local: LocalId, delta: i64) {
    let v = b.get(local);
    let d = b.constant(int(delta));
    let sum = b.binary(BinaryOp::Add, v, d);
    b.set(local, sum);
}

fn trap_of(result: Result<Option<ScalarValue>, CallError>) -> Trap {
    match result {
        Err(CallError::Trap(t)) => t,
        other => panic!("expected a trap, got {other:?}"),
    }
}

/// `fn sum_skipping(n: i64) -> i64`: sums `i` in `0..n`, skipping multiples of 3
/// (`continue`) and stopping after 50 (`break`).
fn sum_skipping() -> Function {
    let mut b = FunctionBuilder::new("sum_skipping", Some(I64), span(0));
    let n = b.param("n", scalar(I64));
    let s = b.local("s", scalar(I64));
    let i = b.local("i", scalar(I64));
    b.begin_block();
    let (iv, nv) = (b.get(i), b.get(n));
    let cond = b.cmp(CmpOp::Lt, iv, nv);
    let header = b.end_block();
    b.begin_block();
    {
        let iv = b.get(i);
        let three = b.constant(int(3));
        let r = b.binary(BinaryOp::Rem, iv, three);
        let zero = b.constant(int(0));
        let divisible = b.cmp(CmpOp::Eq, r, zero);
        b.begin_block();
        b.inst(InstKind::Continue);
        let then_block = b.end_block();
        b.inst(InstKind::If {
            cond: divisible,
            then_block,
            else_block: Block::default(),
        });
        let fifty = b.constant(int(50));
        let past = b.cmp(CmpOp::Gt, iv, fifty);
        b.begin_block();
        b.inst(InstKind::Break);
        let then_block = b.end_block();
        b.inst(InstKind::If {
            cond: past,
            then_block,
            else_block: Block::default(),
        });
        let sv = b.get(s);
        let sum = b.binary(BinaryOp::Add, sv, iv);
        b.set(s, sum);
    }
    let body = b.end_block();
    b.begin_block();
    bump(&mut b, i, 1);
    let latch = b.end_block();
    b.inst(InstKind::Loop {
        header,
        cond: Some(cond),
        body,
        latch,
        counted: None,
    });
    let sv = b.get(s);
    b.inst(InstKind::Return(Some(sv)));
    b.finish()
}

#[test]
fn loops_honour_break_and_continue() {
    let mut program = Program::default();
    let f = program.add_function(sum_skipping());
    let compiled = JitEngine::new().unwrap().compile(&program, f).unwrap();
    for n in [0i64, 1, 10, 51, 1000] {
        let expected: i64 = (0..n).take_while(|i| *i <= 50).filter(|i| i % 3 != 0).sum();
        let got = compiled.call_scalars(&[int(n)], &mut Vec::new()).unwrap();
        assert_eq!(got, Some(int(expected)), "n = {n}");
    }
}

/// `fn fib(n: i64) -> i64 { if n < 2 { return n; } fib(n - 1) + fib(n - 2) }`
fn fib(program: &mut Program) -> FuncId {
    let id = FuncId(program.functions.len() as u32);
    let mut b = FunctionBuilder::new("fib", Some(I64), span(0));
    let n = b.param("n", scalar(I64));
    let nv = b.get(n);
    let two = b.constant(int(2));
    let small = b.cmp(CmpOp::Lt, nv, two);
    b.begin_block();
    let nv2 = b.get(n);
    b.inst(InstKind::Return(Some(nv2)));
    let then_block = b.end_block();
    b.inst(InstKind::If {
        cond: small,
        then_block,
        else_block: Block::default(),
    });
    let one = b.constant(int(1));
    let n1 = b.binary(BinaryOp::Sub, nv, one);
    let n2 = b.binary(BinaryOp::Sub, nv, two);
    let call = |b: &mut FunctionBuilder, v| {
        b.value(
            InstKind::Call {
                callee: id,
                args: vec![Arg::Value(v)],
            },
            I64,
        )
    };
    let f1 = call(&mut b, n1);
    let f2 = call(&mut b, n2);
    let sum = b.binary(BinaryOp::Add, f1, f2);
    b.inst(InstKind::Return(Some(sum)));
    program.add_function(b.finish())
}

#[test]
fn recursive_calls_compute_fibonacci() {
    let mut program = Program::default();
    let f = fib(&mut program);
    let compiled = JitEngine::new().unwrap().compile(&program, f).unwrap();
    let got = compiled.call_scalars(&[int(25)], &mut Vec::new()).unwrap();
    assert_eq!(got, Some(int(75025)));
}

#[test]
fn unbounded_recursion_traps_at_the_call_instead_of_overflowing_the_stack() {
    // fn down(n: i64) -> i64 { down(n + 1) }
    let mut program = Program::default();
    let mut b = FunctionBuilder::new("down", Some(I64), span(0));
    let n = b.param("n", scalar(I64));
    let nv = b.get(n);
    let one = b.constant(int(1));
    let next = b.binary(BinaryOp::Add, nv, one);
    b.current_span = span(77);
    let r = b.value(
        InstKind::Call {
            callee: FuncId(0),
            args: vec![Arg::Value(next)],
        },
        I64,
    );
    b.inst(InstKind::Return(Some(r)));
    let f = program.add_function(b.finish());
    let compiled = JitEngine::new().unwrap().compile(&program, f).unwrap();
    let trap = trap_of(compiled.call_scalars(&[int(0)], &mut Vec::new()));
    assert_eq!(trap.kind, TrapKind::RecursionLimit);
    assert_eq!(trap.span, span(77));
}

/// `is_prime(n)` and `sum_primes(limit)`, the benchmark pair from the design doc.
fn primes_program() -> (Program, FuncId) {
    let mut program = Program::default();
    let mut b = FunctionBuilder::new("is_prime", Some(ScalarType::Bool), span(0));
    let n = b.param("n", scalar(I64));
    let i = b.local("i", scalar(I64));
    let nv = b.get(n);
    let two = b.constant(int(2));
    let small = b.cmp(CmpOp::Lt, nv, two);
    b.begin_block();
    let no = b.constant(ScalarValue::Bool(false));
    b.inst(InstKind::Return(Some(no)));
    let then_block = b.end_block();
    b.inst(InstKind::If {
        cond: small,
        then_block,
        else_block: Block::default(),
    });
    b.set(i, two);
    b.begin_block();
    let iv = b.get(i);
    let sq = b.binary(BinaryOp::Mul, iv, iv);
    let cond = b.cmp(CmpOp::Le, sq, nv);
    let header = b.end_block();
    b.begin_block();
    let r = b.binary(BinaryOp::Rem, nv, iv);
    let zero = b.constant(int(0));
    let divides = b.cmp(CmpOp::Eq, r, zero);
    b.begin_block();
    let no = b.constant(ScalarValue::Bool(false));
    b.inst(InstKind::Return(Some(no)));
    let then_block = b.end_block();
    b.inst(InstKind::If {
        cond: divides,
        then_block,
        else_block: Block::default(),
    });
    let body = b.end_block();
    b.begin_block();
    bump(&mut b, i, 1);
    let latch = b.end_block();
    b.inst(InstKind::Loop {
        header,
        cond: Some(cond),
        body,
        latch,
        counted: None,
    });
    let yes = b.constant(ScalarValue::Bool(true));
    b.inst(InstKind::Return(Some(yes)));
    let is_prime = program.add_function(b.finish());

    let mut b = FunctionBuilder::new("sum_primes", Some(I64), span(0));
    let limit = b.param("limit", scalar(I64));
    let s = b.local("s", scalar(I64));
    let k = b.local("k", scalar(I64));
    b.begin_block();
    let (kv, lv) = (b.get(k), b.get(limit));
    let cond = b.cmp(CmpOp::Lt, kv, lv);
    let header = b.end_block();
    b.begin_block();
    let prime = b.value(
        InstKind::Call {
            callee: is_prime,
            args: vec![Arg::Value(kv)],
        },
        ScalarType::Bool,
    );
    b.begin_block();
    let sv = b.get(s);
    let sum = b.binary(BinaryOp::Add, sv, kv);
    b.set(s, sum);
    let then_block = b.end_block();
    b.inst(InstKind::If {
        cond: prime,
        then_block,
        else_block: Block::default(),
    });
    let body = b.end_block();
    b.begin_block();
    bump(&mut b, k, 1);
    let latch = b.end_block();
    b.inst(InstKind::Loop {
        header,
        cond: Some(cond),
        body,
        latch,
        counted: None,
    });
    let sv = b.get(s);
    b.inst(InstKind::Return(Some(sv)));
    let sum_primes = program.add_function(b.finish());
    (program, sum_primes)
}

fn rust_is_prime(n: i64) -> bool {
    if n < 2 {
        return false;
    }
    let mut i = 2;
    while i * i <= n {
        if n % i == 0 {
            return false;
        }
        i += 1;
    }
    true
}

fn rust_sum_primes(limit: i64) -> i64 {
    (0..limit).filter(|k| rust_is_prime(*k)).sum()
}

#[test]
fn calls_inside_loops_sum_primes() {
    let (program, sum_primes) = primes_program();
    let compiled = JitEngine::new()
        .unwrap()
        .compile(&program, sum_primes)
        .unwrap();
    let got = compiled
        .call_scalars(&[int(10_000)], &mut Vec::new())
        .unwrap();
    assert_eq!(got, Some(int(rust_sum_primes(10_000))));
}

#[test]
fn the_time_spent_in_compiled_code_adds_up_over_calls() {
    let (program, sum_primes) = primes_program();
    let compiled = JitEngine::new()
        .unwrap()
        .compile(&program, sum_primes)
        .unwrap();
    assert_eq!(compiled.time_spent(), std::time::Duration::ZERO);
    let mut spent = Vec::new();
    for _ in 0..3 {
        compiled
            .call_scalars(&[int(20_000)], &mut Vec::new())
            .unwrap();
        spent.push(compiled.time_spent());
    }
    assert!(spent[0] > std::time::Duration::ZERO);
    assert!(spent[0] < spent[1] && spent[1] < spent[2], "{spent:?}");
    let clone = compiled.clone();
    assert_eq!(
        clone.time_spent(),
        spent[2],
        "clones share the code's count"
    );
}

/// Ad-hoc benchmark: `cargo test --release -p kern-compiler --test cranelift_programs
/// -- --ignored --nocapture`.
#[test]
#[ignore]
fn benchmark_sum_primes_against_rust() {
    let (program, sum_primes) = primes_program();
    let mut engine = JitEngine::new().unwrap();
    let start = std::time::Instant::now();
    let compiled = engine.compile(&program, sum_primes).unwrap();
    let compile_time = start.elapsed();
    let limit = 200_000;
    let best = |f: &dyn Fn() -> i64| {
        (0..5)
            .map(|_| {
                let t = std::time::Instant::now();
                let v = f();
                (t.elapsed(), v)
            })
            .min()
            .unwrap()
    };
    let (jit_time, jit) = best(
        &|| match compiled.call_scalars(&[int(limit)], &mut Vec::new()) {
            Ok(Some(ScalarValue::I64(v))) => v,
            other => panic!("{other:?}"),
        },
    );
    let (rust_time, rust) = best(&|| rust_sum_primes(std::hint::black_box(limit)));
    assert_eq!(jit, rust);
    println!(
        "sum_primes({limit}): jit {jit_time:?}, rust {rust_time:?}, ratio {:.2}; compile (2 functions + trampoline) {compile_time:?}",
        jit_time.as_secs_f64() / rust_time.as_secs_f64()
    );
    // Compile latency of a small function, each on a fresh engine.
    let mut small = Program::default();
    small.add_function(sum_skipping());
    let times: Vec<_> = (0..20)
        .map(|_| {
            let mut engine = JitEngine::new().unwrap();
            let t = std::time::Instant::now();
            engine.compile(&small, FuncId(0)).unwrap();
            t.elapsed()
        })
        .collect();
    println!(
        "compile sum_skipping: best {:?}",
        times.iter().min().unwrap()
    );
}

fn descriptor(data: *mut u8, shape: &[i64], strides: &[i64]) -> ArrayDesc {
    let mut desc = ArrayDesc {
        data,
        shape: [0; MAX_RANK],
        strides: [0; MAX_RANK],
    };
    desc.shape[..shape.len()].copy_from_slice(shape);
    desc.strides[..strides.len()].copy_from_slice(strides);
    desc
}

fn array(elem: ScalarType, rank: u8, mutable: bool) -> Type {
    Type::Array(ArrayType {
        elem,
        rank,
        mutable,
    })
}

/// `fn sum(a: &[f64]) -> f64 { let mut s = 0.0; for i in 0..a.len() { s += a[i]; } s }`
fn array_sum() -> Function {
    let f64t = ScalarType::F64;
    let mut b = FunctionBuilder::new("sum", Some(f64t), span(0));
    let a = b.param("a", array(f64t, 1, false));
    let s = b.local("s", scalar(f64t));
    let i = b.local("i", scalar(ScalarType::Usize));
    b.begin_block();
    let iv = b.get(i);
    let len = b.value(InstKind::ArrayLen { array: a, axis: 0 }, ScalarType::Usize);
    let cond = b.cmp(CmpOp::Lt, iv, len);
    let header = b.end_block();
    b.begin_block();
    let x = b.value(
        InstKind::Load {
            array: a,
            indices: vec![iv],
            checked: true,
        },
        f64t,
    );
    let sv = b.get(s);
    let sum = b.binary(BinaryOp::Add, sv, x);
    b.set(s, sum);
    let body = b.end_block();
    b.begin_block();
    let iv = b.get(i);
    let one = b.constant(ScalarValue::Usize(1));
    let next = b.binary(BinaryOp::Add, iv, one);
    b.set(i, next);
    let latch = b.end_block();
    b.inst(InstKind::Loop {
        header,
        cond: Some(cond),
        body,
        latch,
        counted: None,
    });
    let sv = b.get(s);
    b.inst(InstKind::Return(Some(sv)));
    b.finish()
}

fn compile_one(function: Function) -> CompiledFunction {
    let mut program = Program::default();
    let f = program.add_function(function);
    JitEngine::new().unwrap().compile(&program, f).unwrap()
}

#[test]
fn arrays_are_read_through_descriptors_with_any_stride() {
    let sum = compile_one(array_sum());
    let mut data = [1.0f64, 2.0, 4.0, 8.0, 16.0, 32.0];
    let base = data.as_mut_ptr();
    let call = |desc: ArrayDesc| unsafe { sum.call(&[HostArg::Array(desc)], &mut Vec::new()) };
    let contiguous = descriptor(base as *mut u8, &[6], &[1]);
    assert_eq!(call(contiguous).unwrap(), Some(ScalarValue::F64(63.0)));
    let every_other = descriptor(base as *mut u8, &[3], &[2]);
    assert_eq!(call(every_other).unwrap(), Some(ScalarValue::F64(21.0)));
    // Reversed view of the last four: data points at the last element.
    let reversed = descriptor(unsafe { base.add(5) } as *mut u8, &[4], &[-1]);
    assert_eq!(call(reversed).unwrap(), Some(ScalarValue::F64(60.0)));
    let broadcast = descriptor(unsafe { base.add(2) } as *mut u8, &[5], &[0]);
    assert_eq!(call(broadcast).unwrap(), Some(ScalarValue::F64(20.0)));
    let empty = descriptor(base as *mut u8, &[0], &[1]);
    assert_eq!(call(empty).unwrap(), Some(ScalarValue::F64(0.0)));
}

#[test]
fn stores_write_through_two_dimensional_descriptors() {
    // fn put(m: &mut [[i16]], i: usize, j: usize, v: i16) { m[i][j] = v; }
    let t = ScalarType::I16;
    let usize_t = ScalarType::Usize;
    let mut b = FunctionBuilder::new("put", None, span(0));
    let m = b.param("m", array(t, 2, true));
    let i = b.param("i", scalar(usize_t));
    let j = b.param("j", scalar(usize_t));
    let v = b.param("v", scalar(t));
    let (iv, jv, vv) = (b.get(i), b.get(j), b.get(v));
    b.current_span = span(9);
    b.inst(InstKind::Store {
        array: m,
        indices: vec![iv, jv],
        value: vv,
        checked: true,
    });
    let put = compile_one(b.finish());
    // A 2x3 row-major matrix, seen transposed (shape 3x2, strides 1, 3).
    let mut data = [0i16; 6];
    let desc = descriptor(data.as_mut_ptr() as *mut u8, &[3, 2], &[1, 3]);
    let call = |i: u64, j: u64, v: i16| unsafe {
        put.call(
            &[
                HostArg::Array(desc),
                HostArg::Scalar(ScalarValue::Usize(i)),
                HostArg::Scalar(ScalarValue::Usize(j)),
                HostArg::Scalar(ScalarValue::I16(v)),
            ],
            &mut Vec::new(),
        )
    };
    assert_eq!(call(2, 1, -7).unwrap(), None);
    assert_eq!(call(0, 0, 5).unwrap(), None);
    assert_eq!(data, [5, 0, 0, 0, 0, -7]);
    let trap = trap_of(call(1, 2, 1));
    assert_eq!(trap.kind, TrapKind::IndexOutOfBounds { index: 2, len: 2 });
    assert_eq!(trap.span, span(9));
    let trap = trap_of(call(u64::MAX, 0, 1));
    assert_eq!(
        trap.kind,
        TrapKind::IndexOutOfBounds { index: -1, len: 3 },
        "a huge usize index fails the unsigned check"
    );
    assert_eq!(data, [5, 0, 0, 0, 0, -7], "trapping stores write nothing");
}

#[test]
fn out_of_bounds_loads_trap_with_index_and_length() {
    let get = {
        let mut b = FunctionBuilder::new("get", Some(ScalarType::I32), span(0));
        let a = b.param("a", array(ScalarType::I32, 1, false));
        let i = b.param("i", scalar(ScalarType::Usize));
        let iv = b.get(i);
        b.current_span = span(31);
        let x = b.value(
            InstKind::Load {
                array: a,
                indices: vec![iv],
                checked: true,
            },
            ScalarType::I32,
        );
        b.inst(InstKind::Return(Some(x)));
        compile_one(b.finish())
    };
    let mut data = [10i32, 20, 30];
    let desc = descriptor(data.as_mut_ptr() as *mut u8, &[3], &[1]);
    let call = |i: u64| unsafe {
        get.call(
            &[HostArg::Array(desc), HostArg::Scalar(ScalarValue::Usize(i))],
            &mut Vec::new(),
        )
    };
    assert_eq!(call(2).unwrap(), Some(ScalarValue::I32(30)));
    let trap = trap_of(call(3));
    assert_eq!(trap.kind, TrapKind::IndexOutOfBounds { index: 3, len: 3 });
    assert_eq!(trap.span, span(31));
}

#[test]
fn constant_tables_are_read_only_data_with_bounds_checks() {
    let mut program = Program::default();
    program.const_tables.push(ConstTable {
        name: "WEIGHTS".into(),
        elem: ScalarType::F32,
        values: vec![
            ScalarValue::F32(1.5),
            ScalarValue::F32(-2.25),
            ScalarValue::F32(8.0),
        ],
    });
    let mut b = FunctionBuilder::new("weight", Some(ScalarType::F32), span(0));
    let i = b.param("i", scalar(ScalarType::Usize));
    let iv = b.get(i);
    b.current_span = span(12);
    let w = b.value(
        InstKind::LoadConst {
            table: ConstTableId(0),
            index: iv,
        },
        ScalarType::F32,
    );
    b.inst(InstKind::Return(Some(w)));
    let f = program.add_function(b.finish());
    let compiled = JitEngine::new().unwrap().compile(&program, f).unwrap();
    let call = |i| compiled.call_scalars(&[ScalarValue::Usize(i)], &mut Vec::new());
    assert_eq!(call(1).unwrap(), Some(ScalarValue::F32(-2.25)));
    assert_eq!(call(2).unwrap(), Some(ScalarValue::F32(8.0)));
    let trap = trap_of(call(3));
    assert_eq!(trap.kind, TrapKind::IndexOutOfBounds { index: 3, len: 3 });
    assert_eq!(trap.span, span(12));
}

#[test]
fn assertions_trap_with_their_message() {
    let mut b = FunctionBuilder::new("check", None, span(0));
    let x = b.param("x", scalar(I64));
    let xv = b.get(x);
    let zero = b.constant(int(0));
    let positive = b.cmp(CmpOp::Gt, xv, zero);
    b.current_span = span(5);
    b.inst(InstKind::Assert {
        cond: positive,
        message: "x > 0".into(),
    });
    let check = compile_one(b.finish());
    assert_eq!(
        check.call_scalars(&[int(1)], &mut Vec::new()).unwrap(),
        None
    );
    let trap = trap_of(check.call_scalars(&[int(0)], &mut Vec::new()));
    assert_eq!(trap.kind, TrapKind::AssertionFailed("x > 0".into()));
    assert_eq!(trap.span, span(5));
}

#[test]
fn traps_in_callees_stop_the_caller() {
    // fn div(a, b) = a / b; fn outer(a, b) { print!("before"); div(a, b); print!("after") }
    let mut program = Program::default();
    let mut b = FunctionBuilder::new("div", Some(I64), span(0));
    let (pa, pb) = (b.param("a", scalar(I64)), b.param("b", scalar(I64)));
    let (a, c) = (b.get(pa), b.get(pb));
    b.current_span = span(20);
    let q = b.binary(BinaryOp::Div, a, c);
    b.inst(InstKind::Return(Some(q)));
    let div = program.add_function(b.finish());
    let mut b = FunctionBuilder::new("outer", None, span(0));
    let (pa, pb) = (b.param("a", scalar(I64)), b.param("b", scalar(I64)));
    let (a, c) = (b.get(pa), b.get(pb));
    let text = |s: &str| InstKind::Print {
        pieces: vec![FormatPiece::Text(s.into())],
        args: vec![],
        newline: true,
    };
    b.inst(text("before"));
    b.value(
        InstKind::Call {
            callee: div,
            args: vec![Arg::Value(a), Arg::Value(c)],
        },
        I64,
    );
    b.inst(text("after"));
    let outer = program.add_function(b.finish());
    let compiled = JitEngine::new().unwrap().compile(&program, outer).unwrap();
    let mut out = Vec::new();
    let trap = trap_of(compiled.call_scalars(&[int(1), int(0)], &mut out));
    assert_eq!(trap.kind, TrapKind::DivisionByZero);
    assert_eq!(trap.span, span(20));
    assert_eq!(String::from_utf8(out).unwrap(), "before\n");
    let mut out = Vec::new();
    let trap = trap_of(compiled.call_scalars(&[int(i64::MIN), int(-1)], &mut out));
    assert_eq!(trap.kind, TrapKind::DivisionOverflow);
    let mut out = Vec::new();
    assert_eq!(
        compiled.call_scalars(&[int(7), int(2)], &mut out).unwrap(),
        None
    );
    assert_eq!(String::from_utf8(out).unwrap(), "before\nafter\n");
}

#[test]
fn print_formats_on_the_host_exactly_like_ir_format() {
    let pieces = vec![
        FormatPiece::Text("i=".into()),
        FormatPiece::Arg(FormatSpec::default()),
        FormatPiece::Text(" pi=".into()),
        FormatPiece::Arg(FormatSpec {
            precision: Some(3),
            ..FormatSpec::default()
        }),
        FormatPiece::Text(" f=".into()),
        FormatPiece::Arg(FormatSpec {
            debug: true,
            ..FormatSpec::default()
        }),
        FormatPiece::Text(" ok=".into()),
        FormatPiece::Arg(FormatSpec {
            width: Some(6),
            ..FormatSpec::default()
        }),
        FormatPiece::Text(" b=".into()),
        FormatPiece::Arg(FormatSpec::default()),
    ];
    let values = [
        ScalarValue::I8(-5),
        ScalarValue::F64(std::f64::consts::PI),
        ScalarValue::F32(0.1),
        ScalarValue::Bool(true),
        ScalarValue::U16(65535),
    ];
    let mut b = FunctionBuilder::new("show", None, span(0));
    let args: Vec<_> = values.iter().map(|v| b.constant(*v)).collect();
    b.inst(InstKind::Print {
        pieces: pieces.clone(),
        args: args.clone(),
        newline: true,
    });
    b.inst(InstKind::Print {
        pieces: pieces.clone(),
        args,
        newline: false,
    });
    let show = compile_one(b.finish());
    let mut out = Vec::new();
    show.call_scalars(&[], &mut out).unwrap();
    let line = format::format_pieces(&pieces, &values, true);
    assert_eq!(line, "i=-5 pi=3.142 f=0.1 ok=true   b=65535\n");
    let expected = format!("{line}{}", line.trim_end_matches('\n'));
    assert_eq!(String::from_utf8(out).unwrap(), expected);
}

#[test]
fn argument_mismatches_are_errors_not_panics() {
    let sum = compile_one(sum_skipping());
    let wrong_count = sum.call_scalars(&[], &mut Vec::new());
    assert!(matches!(wrong_count, Err(CallError::Arguments { .. })));
    let wrong_type = sum.call_scalars(&[ScalarValue::I32(3)], &mut Vec::new());
    assert!(matches!(wrong_type, Err(CallError::Arguments { .. })));
    let arrays = compile_one(array_sum());
    let scalar_for_array = arrays.call_scalars(&[ScalarValue::F64(1.0)], &mut Vec::new());
    assert!(matches!(scalar_for_array, Err(CallError::Arguments { .. })));
}

#[test]
fn every_compile_makes_a_unit_of_its_own() {
    // The engine keeps no cache (its callers keep what they compiled): asking
    // twice compiles twice, into two independent units that agree.
    let (program, sum_primes) = primes_program();
    let mut engine = JitEngine::new().unwrap();
    let first = engine.compile(&program, sum_primes).unwrap();
    let second = engine.compile(&program, sum_primes).unwrap();
    assert_eq!(engine.compiled_units(), 2);
    assert_ne!(first.raw_entry(), second.raw_entry());
    drop(first);
    let out = second.call_scalars(&[int(100)], &mut Vec::new()).unwrap();
    assert_eq!(out, Some(int(rust_sum_primes(100))));
    // The callee alone is another unit.
    engine.compile(&program, FuncId(0)).unwrap();
    assert_eq!(engine.compiled_units(), 3);
}

#[test]
fn compiled_functions_outlive_their_engine_and_cross_threads() {
    let (program, sum_primes) = primes_program();
    let compiled = JitEngine::new()
        .unwrap()
        .compile(&program, sum_primes)
        .unwrap();
    let handles: Vec<_> = (0..2)
        .map(|_| {
            let f = compiled.clone();
            std::thread::spawn(move || f.call_scalars(&[int(100)], &mut Vec::new()).unwrap())
        })
        .collect();
    for h in handles {
        assert_eq!(h.join().unwrap(), Some(int(rust_sum_primes(100))));
    }
}

#[test]
fn emitted_clif_is_annotated_with_kern_source_lines() {
    let text = "fn axpy(a: f64, x: f64, b: f64) -> f64 {\n    let y = a * x + b;\n    y / a\n}\n";
    let mut sources = SourceMap::new();
    let file = sources.add("axpy.kern", text);
    let at = |needle: &str| {
        let start = text.find(needle).unwrap();
        Span::new(file, start, start + needle.len())
    };
    let f64t = ScalarType::F64;
    let mut b = FunctionBuilder::new("axpy", Some(f64t), at("fn axpy"));
    let ps: Vec<_> = ["a", "x", "b"]
        .iter()
        .map(|n| b.param(*n, scalar(f64t)))
        .collect();
    let y = b.local("y", scalar(f64t));
    b.current_span = at("a * x + b");
    let vs: Vec<_> = ps.iter().map(|p| b.get(*p)).collect();
    let ax = b.binary(BinaryOp::Mul, vs[0], vs[1]);
    let sum = b.binary(BinaryOp::Add, ax, vs[2]);
    b.set(y, sum);
    b.current_span = at("y / a");
    let yv = b.get(y);
    let q = b.binary(BinaryOp::Div, yv, vs[0]);
    b.inst(InstKind::Return(Some(q)));
    let mut program = Program::default();
    let f = program.add_function(b.finish());
    let clif = JitEngine::emit_clif(&program, f, &sources).unwrap();
    insta::assert_snapshot!(clif);
}

#[test]
fn malformed_ir_is_a_backend_error_not_a_panic() {
    // Adding an i32 to an i64: caught by Cranelift's verifier.
    let mut b = FunctionBuilder::new("bad_add", Some(I64), span(0));
    let x = b.constant(int(1));
    let y = b.constant(ScalarValue::I32(2));
    let sum = b.value(InstKind::Binary(BinaryOp::Add, x, y), I64);
    b.inst(InstKind::Return(Some(sum)));
    let mut program = Program::default();
    let f = program.add_function(b.finish());
    let err = JitEngine::new().unwrap().compile(&program, f).unwrap_err();
    assert!(err.to_string().contains("bad_add"), "{err}");

    // Assigning an f64 to an i64 local.
    let mut b = FunctionBuilder::new("bad_set", None, span(0));
    let l = b.local("l", scalar(I64));
    let v = b.constant(ScalarValue::F64(1.0));
    b.set(l, v);
    let mut program = Program::default();
    let f = program.add_function(b.finish());
    assert!(JitEngine::new().unwrap().compile(&program, f).is_err());

    // Passing a scalar where the callee takes an array.
    let mut program = Program::default();
    let sum = program.add_function(array_sum());
    let mut b = FunctionBuilder::new("caller", Some(ScalarType::F64), span(0));
    let x = b.constant(ScalarValue::Usize(4096));
    let r = b.value(
        InstKind::Call {
            callee: sum,
            args: vec![Arg::Value(x)],
        },
        ScalarType::F64,
    );
    b.inst(InstKind::Return(Some(r)));
    let caller = program.add_function(b.finish());
    assert!(JitEngine::new().unwrap().compile(&program, caller).is_err());
    assert!(JitEngine::new()
        .unwrap()
        .compile(&program, FuncId(9))
        .is_err());
}
