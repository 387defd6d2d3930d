//! Elementwise loops through the Cranelift backend's SIMD path, compared bit for
//! bit (NaN against any NaN) with the reference interpreter: every dtype, mixed
//! dtypes and casts, branches and early returns, integer division that traps on
//! one lane, aliasing outputs, the stdlib's transcendental functions with the
//! Payne–Hanek guard, `print!` and recursive calls under a condition — at lengths
//! 0..=70 and larger, with unit, zero, strided and negative strides (the last two
//! take the scalar loop). Also: the generated CLIF really is vector code.
//! With `--features llvm` every check runs the optimized tier's loop too
//! (`backend::llvm::host`, whose contiguous path takes the unit and zero
//! strides, through the predicated loop where the body has guards) against the
//! same interpreter run.

use kern_compiler::backend::cranelift::{CallError, CompiledFunction, JitEngine};
use kern_compiler::frontend;
use kern_compiler::interp::Interpreter;
use kern_compiler::ir::{ArrayDesc, FuncId, HostArg, Program, ScalarType, ScalarValue, MAX_RANK};
use kern_compiler::loops::elementwise::{build_elementwise_loop, LoopSignature};
use kern_compiler::SourceMap;
use proptest::prelude::*;

use ScalarType as T;

/// A compiled loop: its program (for the interpreter) and machine code.
struct Loop {
    program: Program,
    func: FuncId,
    compiled: CompiledFunction,
    inputs: Vec<ScalarType>,
    output: ScalarType,
    sources: SourceMap,
    /// The CLIF has a vector path.
    vector: bool,
    /// The optimized tier's code for the same loop.
    #[cfg(feature = "llvm")]
    optimized: CompiledFunction,
}

impl Loop {
    /// The machine code of every tier this build has.
    fn tiers(&self) -> Vec<&CompiledFunction> {
        #[cfg(feature = "llvm")]
        return vec![&self.compiled, &self.optimized];
        #[cfg(not(feature = "llvm"))]
        vec![&self.compiled]
    }
}

fn compile_loop(src: &str, ufunc: &str, inputs: &[ScalarType], output: ScalarType) -> Loop {
    let mut sources = SourceMap::new();
    let file = sources.add("t.kern", src);
    let mut program = match frontend::compile(&mut sources, file) {
        Ok(c) => c.program,
        Err(d) => panic!("{}", d.render(&sources)),
    };
    let f = program.find(ufunc).unwrap();
    let sig = LoopSignature {
        inputs: inputs.to_vec(),
        output,
    };
    let (_, func) = build_elementwise_loop(&mut program, f, &sig).unwrap();
    kern_compiler::ir::verify::verify_program(&program).unwrap();
    let compiled = JitEngine::new().unwrap().compile(&program, func).unwrap();
    let clif = JitEngine::emit_clif(&program, func, &sources).unwrap();
    let vector = ["f64x2", "f32x4", "i64x2", "i32x4", "i16x8", "i8x16"]
        .iter()
        .any(|t| clif.contains(t));
    #[cfg(feature = "llvm")]
    let optimized = kern_compiler::backend::llvm::host::compile(&program, func)
        .unwrap_or_else(|e| panic!("LLVM compiles the loop: {e}"));
    Loop {
        #[cfg(feature = "llvm")]
        optimized,
        program,
        func,
        compiled,
        inputs: inputs.to_vec(),
        output,
        sources,
        vector,
    }
}

/// An operand in memory: `n` logical elements at `stride` (zero: one element).
struct Operand {
    bytes: Vec<u64>,
    offset: usize,
    stride: i64,
    ty: ScalarType,
}

impl Operand {
    fn new(ty: ScalarType, values: &[ScalarValue], n: usize, stride: i64) -> Operand {
        let size = ty.size_bytes();
        let span = if n == 0 || stride == 0 {
            1
        } else {
            (n - 1) * stride.unsigned_abs() as usize + 1
        };
        let mut op = Operand {
            bytes: vec![0xa5a5_a5a5_a5a5_a5a5; (span * size).div_ceil(8) + 1],
            offset: if stride < 0 && n > 0 {
                (n - 1) * stride.unsigned_abs() as usize
            } else {
                0
            },
            stride,
            ty,
        };
        for (i, v) in values
            .iter()
            .enumerate()
            .take(if stride == 0 { 1 } else { n })
        {
            op.set(i, *v);
        }
        op
    }

    fn position(&self, i: usize) -> usize {
        (self.offset as i64 + i as i64 * self.stride) as usize
    }

    fn set(&mut self, i: usize, v: ScalarValue) {
        let size = self.ty.size_bytes();
        let at = self.position(i) * size;
        let bytes = bytemuck(&mut self.bytes);
        bytes[at..at + size].copy_from_slice(&v.to_bits().to_le_bytes()[..size]);
    }

    /// Every slot of the buffer (touched or not) as values.
    fn slots(&self) -> Vec<u64> {
        let size = self.ty.size_bytes();
        let bytes: Vec<u8> = self.bytes.iter().flat_map(|w| w.to_le_bytes()).collect();
        bytes
            .chunks_exact(size)
            .map(|c| {
                let mut b = [0u8; 8];
                b[..size].copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect()
    }

    fn desc(&mut self, n: usize) -> ArrayDesc {
        let size = self.ty.size_bytes();
        let base = self.bytes.as_mut_ptr() as *mut u8;
        let mut d = ArrayDesc {
            // SAFETY: the offset is inside the buffer.
            data: unsafe { base.add(self.offset * size) },
            shape: [0; MAX_RANK],
            strides: [0; MAX_RANK],
        };
        d.shape[0] = n as i64;
        d.strides[0] = self.stride;
        d
    }
}

fn bytemuck(words: &mut [u64]) -> &mut [u8] {
    // SAFETY: u64 has no invalid bit patterns and u8 no alignment requirement.
    unsafe { std::slice::from_raw_parts_mut(words.as_mut_ptr() as *mut u8, words.len() * 8) }
}

/// What one run left behind: the result and the output buffer (and the aliased
/// input when the output is an input), plus the printed text.
#[derive(Debug)]
struct Outcome {
    trap: Option<String>,
    out: Vec<u64>,
    printed: String,
}

/// Runs the loop on the interpreter and on every tier's machine code and
/// compares everything.
fn check(
    l: &Loop,
    inputs: &[Vec<ScalarValue>],
    n: usize,
    strides: &[i64],
    out_stride: i64,
    alias: Option<usize>,
) {
    let run = |jit: Option<&CompiledFunction>| -> Outcome {
        let mut ops: Vec<Operand> = l
            .inputs
            .iter()
            .zip(inputs)
            .zip(strides)
            .map(|((t, v), s)| Operand::new(*t, v, n, *s))
            .collect();
        let mut out = Operand::new(l.output, &[], n, out_stride);
        let mut args: Vec<HostArg> = ops.iter_mut().map(|o| HostArg::Array(o.desc(n))).collect();
        let out_desc = match alias {
            Some(k) => args[k],
            None => HostArg::Array(out.desc(n)),
        };
        args.push(out_desc);
        let mut printed = Vec::new();
        // SAFETY: every descriptor covers its live buffer for `n` elements.
        let trap = unsafe {
            if let Some(compiled) = jit {
                match compiled.call(&args, &mut printed) {
                    Ok(_) => None,
                    Err(CallError::Trap(t)) => Some(format!("{t} at {:?}", t.span)),
                    Err(e) => panic!("{e}"),
                }
            } else {
                Interpreter::new(&l.program)
                    .call(l.func, &args, &mut printed)
                    .err()
                    .map(|t| format!("{t} at {:?}", t.span))
            }
        };
        Outcome {
            trap,
            out: match alias {
                Some(k) => ops[k].slots(),
                None => out.slots(),
            },
            printed: String::from_utf8(printed).unwrap(),
        }
    };
    let want = run(None);
    for compiled in l.tiers() {
        compare(l, &want, &run(Some(compiled)), || {
            format!(
                "{}: n = {n}, strides {strides:?}, out {out_stride}, alias {alias:?}, inputs {inputs:?}",
                compiled.engine()
            )
        });
    }
}

/// Asserts that the compiled run `got` left what the interpreter's run `want` did.
fn compare(l: &Loop, want: &Outcome, got: &Outcome, ctx: impl Fn() -> String) {
    assert_eq!(want.trap, got.trap, "{}", ctx());
    assert_eq!(want.printed, got.printed, "{}", ctx());
    assert_eq!(want.out.len(), got.out.len());
    for (i, (a, b)) in want.out.iter().zip(&got.out).enumerate() {
        let (a, b) = (
            ScalarValue::from_bits(l.output, *a),
            ScalarValue::from_bits(l.output, *b),
        );
        let same = if l.output == T::Bool {
            want.out[i] == got.out[i]
        } else {
            a.same_result(b)
        };
        assert!(same, "slot {i}: interpreter {a:?}, jit {b:?}; {}", ctx());
    }
}

/// A small deterministic generator of interesting values per dtype.
struct Values(u64);

impl Values {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn value(&mut self, ty: ScalarType) -> ScalarValue {
        let r = self.next();
        let pick = r % 8;
        let bits = self.next();
        match ty {
            T::F64 => ScalarValue::F64(match pick {
                0 => [
                    0.0,
                    -0.0,
                    1.0,
                    -1.0,
                    f64::NAN,
                    f64::INFINITY,
                    -f64::INFINITY,
                    0.5,
                ][(bits % 8) as usize],
                1 => f64::from_bits(bits),
                2 => [1e300, -1e300, 1e-310, 710.0, -746.0, 2e6, 1e20, 3.0][(bits % 8) as usize],
                _ => {
                    ((bits >> 11) as f64 / (1u64 << 53) as f64 - 0.5)
                        * [4.0, 50.0, 1e3][(bits % 3) as usize]
                }
            }),
            T::F32 => match self.value(T::F64) {
                _ if pick == 1 => ScalarValue::F32(f32::from_bits(bits as u32)),
                ScalarValue::F64(x) => ScalarValue::F32(x as f32),
                _ => unreachable!(),
            },
            T::Bool => ScalarValue::Bool(bits & 1 == 1),
            t => {
                let b = t.bits();
                let raw: i128 = match pick {
                    0 => 0,
                    1 => 1,
                    2 => -1,
                    3 => -(1i128 << (b - 1)),
                    4 => (1i128 << (b - 1)) - 1,
                    5 => (bits % 7) as i128 - 3,
                    _ => bits as i128,
                };
                ScalarValue::from_bits(t, raw as u64)
            }
        }
    }

    fn values(&mut self, ty: ScalarType, n: usize) -> Vec<ScalarValue> {
        (0..n.max(1)).map(|_| self.value(ty)).collect()
    }
}

/// Lengths 0..=70 plus a few longer ones.
fn lengths() -> impl Iterator<Item = usize> {
    (0..=70).chain([127, 128, 129, 1000, 4099])
}

/// Stride patterns for `k` inputs: all unit, each input zero / 2 / -1, and the
/// output strided or reversed.
fn stride_patterns(k: usize) -> Vec<(Vec<i64>, i64)> {
    let mut out = vec![
        (vec![1; k], 1),
        (vec![0; k], 1),
        (vec![1; k], 2),
        (vec![1; k], -1),
    ];
    for i in 0..k {
        for s in [0, 2, -1] {
            let mut v = vec![1; k];
            v[i] = s;
            out.push((v, 1));
        }
    }
    out
}

/// Checks `l` at every length and stride pattern with generated inputs.
fn sweep(l: &Loop, seed: u64) {
    assert!(l.vector, "no vector path");
    let mut g = Values(seed | 1);
    for n in lengths() {
        for (strides, out) in stride_patterns(l.inputs.len()) {
            let inputs: Vec<Vec<ScalarValue>> = l.inputs.iter().map(|t| g.values(*t, n)).collect();
            check(l, &inputs, n, &strides, out, None);
        }
    }
}

const INTS: [ScalarType; 8] = [T::I8, T::I16, T::I32, T::I64, T::U8, T::U16, T::U32, T::U64];

#[test]
fn integer_arithmetic_in_every_dtype() {
    for t in INTS {
        let src = format!(
            "#[vectorize] fn f(a: {t}, b: {t}) -> {t} {{
                let c = a * b + (a - b) ^ (a & !b);
                let d = (c << 3) | (b >> 2) | (a << (b & 7));
                if a < b {{ d - a }} else if a == b {{ c ^ b }} else {{ d + 1 }}
            }}"
        );
        let l = compile_loop(&src, "f", &[t, t], t);
        sweep(&l, t.bits() as u64 * 7919);
    }
}

#[test]
fn float_arithmetic_in_both_dtypes() {
    for t in [T::F32, T::F64] {
        let src = format!(
            "#[vectorize] fn f(a: {t}, b: {t}) -> {t} {{
                let q = a / b - a.sqrt() * b.abs();
                let r = a.mul_add(b, q).floor() + b.ceil() - a.trunc() + b.round_ties_even();
                if a > b {{ r.copysign(b) }} else {{ -r }}
            }}"
        );
        let l = compile_loop(&src, "f", &[t, t], t);
        sweep(&l, t.bits() as u64 * 31);
    }
}

#[test]
fn bool_logic() {
    let src = "#[vectorize] fn f(a: bool, b: bool, c: bool) -> bool {
        let x = (a & !b) | (b ^ c);
        if x == c { a < b } else { !(b >= c) | (a > c) }
    }";
    let l = compile_loop(src, "f", &[T::Bool, T::Bool, T::Bool], T::Bool);
    sweep(&l, 5);
}

#[test]
fn every_cast_between_stored_dtypes() {
    // The loop signature converts each stored input to the parameter type with `as`
    // (for any pair, also those Rust spells differently), the result back.
    let all = [
        T::Bool,
        T::I8,
        T::I16,
        T::I32,
        T::I64,
        T::U8,
        T::U16,
        T::U32,
        T::U64,
        T::F32,
        T::F64,
    ];
    for to in all {
        let src = format!("#[vectorize] fn id(x: {to}) -> {to} {{ x }}");
        for from in all {
            if from.is_float() && to == T::Bool {
                continue; // no `as bool` for floats
            }
            let l = compile_loop(&src, "id", &[from], to);
            assert!(l.vector, "{from} as {to}");
            let mut g = Values(from.bits() as u64 * 131 + to.bits() as u64);
            for n in [0, 1, 3, 16, 17, 33, 70] {
                check(&l, &[g.values(from, n)], n, &[1], 1, None);
            }
        }
    }
}

#[test]
fn mixed_input_dtypes_with_casts() {
    let src = "#[vectorize] fn f(a: i16, x: f32, k: u8, big: i64) -> f64 {
        let s = (a as f64) * (x as f64) + (k as f64);
        if k > 100 { s - (big as f64) } else { s * ((big % 1000) as f64) + ((x as i32) as f64) }
    }";
    let l = compile_loop(src, "f", &[T::I16, T::F32, T::U8, T::I64], T::F64);
    sweep(&l, 77);
    // Stored dtypes that differ from the parameters: the loop converts them.
    let l = compile_loop(src, "f", &[T::I8, T::F64, T::U16, T::U32], T::F32);
    sweep(&l, 78);
}

#[test]
fn branches_and_early_returns() {
    let src = "#[vectorize] fn f(x: f64, y: f64) -> f64 {
        if x.is_nan() { return y; }
        let mut r = x;
        if x > y {
            r = x - y;
            if r > 10.0 { return 10.0; }
        } else if x < -y {
            r = -1.0;
        } else {
            let mut t = 0.0;
            if y > 0.0 { t = y.sqrt(); }
            r = r + t;
        }
        r * 2.0
    }";
    let l = compile_loop(src, "f", &[T::F64, T::F64], T::F64);
    sweep(&l, 99);
    let src = "fn step(v: i32) -> i32 { if v > 50 { return v - 50; } if v < -50 { return v + 50; } v * 2 }
        #[vectorize] fn g(a: i32, b: i32) -> i32 {
            let mut s = step(a);
            if s == 0 { return b; }
            if b > 0 { s = s + step(b); } else { s = s - step(-b); }
            s
        }";
    let l = compile_loop(src, "g", &[T::I32, T::I32], T::I32);
    sweep(&l, 100);
}

#[test]
fn integer_division_traps_at_the_interpreters_element() {
    for t in [T::I32, T::I8, T::U16, T::I64] {
        let src = format!(
            "#[vectorize] fn d(a: {t}, b: {t}) -> {t} {{ if a > b {{ a / b }} else {{ a % (b | 1) }} }}"
        );
        let l = compile_loop(&src, "d", &[t, t], t);
        assert!(l.vector);
        let mut g = Values(t.bits() as u64 + 3);
        for n in lengths() {
            for (strides, out) in stride_patterns(2) {
                let a = g.values(t, n);
                // Non-zero divisors, then a zero (or MIN / -1) at one element.
                let mut b: Vec<ScalarValue> = (0..n.max(1))
                    .map(|i| ScalarValue::from_bits(t, (i as u64 % 5) + 1))
                    .collect();
                if n > 0 {
                    let at = (g.next() % n as u64) as usize;
                    b[at] = ScalarValue::from_bits(t, 0);
                }
                check(&l, &[a.clone(), b], n, &strides, out, None);
                // Random divisors (zeros and -1 included).
                check(&l, &[a, g.values(t, n)], n, &strides, out, None);
            }
        }
    }
}

#[test]
fn outputs_may_alias_inputs_element_for_element() {
    let src =
        "#[vectorize] fn f(x: f64, y: f64) -> f64 { if x > 1e6 { x.sin() } else { x * 2.0 + y } }";
    let l = compile_loop(src, "f", &[T::F64, T::F64], T::F64);
    assert!(l.vector);
    let mut g = Values(4242);
    for n in lengths() {
        for k in 0..2 {
            let inputs = vec![g.values(T::F64, n), g.values(T::F64, n)];
            check(&l, &inputs, n, &[1, 1], 1, Some(k));
        }
    }
    let src = "#[vectorize] fn d(a: i32, b: i32) -> i32 { a / b + a }";
    let l = compile_loop(src, "d", &[T::I32, T::I32], T::I32);
    for n in lengths() {
        let inputs = vec![g.values(T::I32, n), g.values(T::I32, n)];
        check(&l, &inputs, n, &[1, 1], 1, Some(0));
    }
}

#[test]
fn constant_tables_asserts_prints_and_calls_under_conditions() {
    let src = "const T: [f64; 4] = [1.5, -2.5, 3.25, 8.0];
        fn fact(n: i64) -> i64 { if n < 2 { 1 } else { n * fact(n - 1) } }
        #[vectorize] fn f(i: u32, x: f64) -> f64 {
            if x > 100.0 { println!(\"big {}\", x); }
            assert!(x != 3.0, \"three\");
            let t = if i < 8 { T[((i + 2) % 6) as usize] } else { x.atan() };
            if x < -100.0 { t + (fact((i % 20) as i64) as f64) } else { t * x }
        }";
    let l = compile_loop(src, "f", &[T::U32, T::F64], T::F64);
    sweep(&l, 555);
    // A real loop under a condition: lanes reaching it run on the scalar path.
    let src = "#[vectorize] fn f(x: f64, k: i32) -> f64 {
        if k > 3 {
            let mut s = x;
            let mut i = 0;
            while i < k % 7 { s = s * 1.5 + 1.0; i += 1; }
            s
        } else {
            x + 1.0
        }
    }";
    let l = compile_loop(src, "f", &[T::F64, T::I32], T::F64);
    sweep(&l, 556);
}

const TRANSCENDENTAL: &str = "(-x * x).exp() * x.sin() + x.abs().ln_1p()";

#[test]
fn stdlib_functions_match_the_interpreter() {
    for t in [T::F64, T::F32] {
        for call in [
            "x.exp()",
            "x.ln()",
            "x.ln_1p()",
            "x.sin()",
            "x.cos()",
            "x.tanh()",
            "x.powf(y)",
            TRANSCENDENTAL,
        ] {
            let src = format!("#[vectorize] fn f(x: {t}, y: {t}) -> {t} {{ {call} }}");
            let l = compile_loop(&src, "f", &[t, t], t);
            assert!(l.vector, "{call}");
            let mut g = Values(call.len() as u64 * 17 + t.bits() as u64);
            for n in (0..=40).chain([64, 65, 300]) {
                for (strides, out) in [
                    (vec![1, 1], 1),
                    (vec![0, 1], 1),
                    (vec![1, 0], 1),
                    (vec![2, 1], -1),
                ] {
                    let inputs = vec![g.values(t, n), g.values(t, n)];
                    check(&l, &inputs, n, &strides, out, None);
                }
            }
            // Huge arguments scattered through a long array: sin/cos take the
            // Payne–Hanek guard for those groups only.
            let huge = [
                1e300,
                -3.3e50,
                1e22,
                2.1e6,
                -7.5e17,
                1.7e6,
                123456789.0,
                6.5e9,
                -2.5e100,
            ];
            let mut xs = g.values(t, 257);
            for (k, i) in (0..257).step_by(29).enumerate() {
                let h = huge[k % huge.len()];
                xs[i] = if t == T::F64 {
                    ScalarValue::F64(h)
                } else {
                    ScalarValue::F32((h as f32).min(3e38))
                };
            }
            check(&l, &[xs, g.values(t, 257)], 257, &[1, 1], 1, None);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn transcendental_body_matches_on_random_inputs(xs in proptest::collection::vec(any::<f64>(), 0..200)) {
        let l = transcendental_loop(T::F64);
        let n = xs.len();
        let xs: Vec<ScalarValue> = xs.into_iter().map(ScalarValue::F64).collect();
        check(l, &[xs.clone(), xs], n, &[1, 1], 1, None);
    }

    #[test]
    fn f32_transcendental_body_matches_on_random_inputs(xs in proptest::collection::vec(-1e4f32..1e4, 0..200)) {
        let l = transcendental_loop(T::F32);
        let n = xs.len();
        let xs: Vec<ScalarValue> = xs.into_iter().map(ScalarValue::F32).collect();
        check(l, &[xs.clone(), xs], n, &[1, 1], 1, None);
    }
}

fn transcendental_loop(t: ScalarType) -> &'static Loop {
    use std::sync::OnceLock;
    static F64: OnceLock<Loop> = OnceLock::new();
    static F32: OnceLock<Loop> = OnceLock::new();
    let cell = if t == T::F64 { &F64 } else { &F32 };
    cell.get_or_init(|| {
        let src = format!("#[vectorize] fn f(x: {t}, y: {t}) -> {t} {{ {TRANSCENDENTAL} }}");
        compile_loop(&src, "f", &[t, t], t)
    })
}

fn clif(l: &Loop) -> String {
    JitEngine::emit_clif(&l.program, l.func, &l.sources).unwrap()
}

#[test]
fn the_vector_path_is_really_generated() {
    let saxpy = compile_loop(
        "#[vectorize] fn saxpy(a: f32, x: f32, y: f32) -> f32 { a * x + y }",
        "saxpy",
        &[T::F32, T::F32, T::F32],
        T::F32,
    );
    let text = clif(&saxpy);
    assert!(text.contains("load.f32x4"), "{text}");
    assert!(text.contains("fmul") && text.contains("f32x4"), "{text}");
    let tr = transcendental_loop(T::F64);
    let text = clif(tr);
    assert!(text.contains("f64x2"), "{text}");
    assert!(text.contains("vany_true"), "the Payne–Hanek guard: {text}");
    // A body with an unconditional loop has no vector path...
    let scalar = compile_loop(
        "#[vectorize] fn f(x: f64) -> f64 { let mut s = 0.0; for i in 0..100 { s += x; } s }",
        "f",
        &[T::F64],
        T::F64,
    );
    assert!(!scalar.vector);
    // ...unless the loop is small enough to be unrolled (`passes/unroll.rs`).
    let unrolled = compile_loop(
        "#[vectorize] fn f(x: f64) -> f64 { let mut s = 0.0; for i in 0..3 { s += x; } s }",
        "f",
        &[T::F64],
        T::F64,
    );
    assert!(unrolled.vector);
}

#[test]
fn the_clif_of_a_tiny_loop() {
    let l = compile_loop(
        "#[vectorize] fn axpy(a: f32, x: f32, y: f32) -> f32 { a * x + y }",
        "axpy",
        &[T::F32, T::F32, T::F32],
        T::F32,
    );
    insta::assert_snapshot!(clif(&l));
}

/// The optimized tier's vector loop is the contiguous path's, which assumes unit
/// strides instead of testing them: LLVM's own versioning (`ident.check`: "is
/// this run-time stride 1?") would send a broadcast operand, stride 0 like
/// saxpy's `a`, to the scalar loop.
#[cfg(feature = "llvm")]
#[test]
fn the_optimized_tiers_vector_loop_takes_broadcast_operands() {
    let saxpy = compile_loop(
        "#[vectorize] fn saxpy(a: f32, x: f32, y: f32) -> f32 { a * x + y }",
        "saxpy",
        &[T::F32, T::F32, T::F32],
        T::F32,
    );
    let ir = kern_compiler::backend::llvm::host::emit_llvm_ir(&saxpy.program, saxpy.func).unwrap();
    assert!(ir.contains("x float>"), "no vector code:\n{ir}");
    assert!(!ir.contains("ident.check"), "a stride check:\n{ir}");
    let mut g = Values(3);
    for n in [1, 5, 64, 2047, 2048, 5000] {
        let inputs: Vec<Vec<ScalarValue>> = (0..3).map(|_| g.values(T::F32, n)).collect();
        check(&saxpy, &inputs, n, &[0, 1, 1], 1, None);
    }
}

/// The optimized tier vectorises a body whose scalar loop has a rare path LLVM
/// cannot vectorise (sin's Payne–Hanek call and its trap check): it runs the
/// predicated loop, whose guards LLVM folds into a vector of flags (`phi <N x
/// i1>`, the "did any lane need the scalar code" reduction).
#[cfg(feature = "llvm")]
#[test]
fn the_optimized_tier_vectorises_a_guarded_body() {
    let tr = transcendental_loop(T::F64);
    let ir = kern_compiler::backend::llvm::host::emit_llvm_ir(&tr.program, tr.func).unwrap();
    assert!(
        ir.lines()
            .any(|l| l.contains("phi <") && l.contains(" x i1>")),
        "no vectorised guard reduction:\n{ir}"
    );
    assert!(ir.contains(" x double>"), "no vector code:\n{ir}");
}

/// A guarded body's unit holds no scalar copy of it: other strides and the
/// chunks where a guard held run the baseline's code of the same loop (a
/// fallback the host runs between two stretches of the optimized code), so the
/// optimized tier lowers the body once, as its predicated form (more than half
/// of `wave`'s compile), and the predicated loop runs whole groups of elements
/// (no scalar remainder loop). Those elements give the interpreter's values: huge
/// arguments (`sin`'s Payne–Hanek path) in a middle chunk and at the last
/// element, on unit, broadcast, doubled, reversed and strided-output calls.
#[cfg(feature = "llvm")]
#[test]
fn a_guarded_bodys_scalar_elements_run_the_baseline_code() {
    let tr = transcendental_loop(T::F64);
    let ir = kern_compiler::backend::llvm::host::emit_llvm_ir(&tr.program, tr.func).unwrap();
    assert!(
        !ir.lines()
            .any(|l| l.starts_with("define") && l.contains("_loop(")),
        "a scalar loop function in the unit:\n{ir}"
    );
    // Nor a scalar remainder of the predicated loop: it runs whole groups of
    // elements only, the last few of a call go to the baseline too.
    assert!(
        !ir.contains("fmul double "),
        "scalar code of the body:\n{ir}"
    );
    let n = 20_000;
    let mut x: Vec<ScalarValue> = (0..n)
        .map(|i| ScalarValue::F64(i as f64 * 1e-3 - 7.0))
        .collect();
    x[9_000] = ScalarValue::F64(1e300);
    x[9_001] = ScalarValue::F64(-3e22);
    x[n - 1] = ScalarValue::F64(2e200);
    let y: Vec<ScalarValue> = (0..n).map(|i| ScalarValue::F64(i as f64)).collect();
    for (strides, out_stride) in [
        ([1, 1], 1),
        ([1, 0], 1),
        ([2, 1], 1),
        ([-1, 1], 1),
        ([1, 1], 2),
    ] {
        check(tr, &[x.clone(), y.clone()], n, &strides, out_stride, None);
    }
}
