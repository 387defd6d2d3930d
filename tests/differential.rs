//! Differential testing: random well-typed kern programs must give bit-identical
//! results (or the same run-time error at the same place) when compiled by
//! Cranelift and when run by the reference interpreter.
//!
//! Programs are generated as source text from a seed, so a failure prints a
//! program that reproduces it with `kern run`.

use kern::compiler::interp::Interpreter;
use kern::compiler::ir::{ScalarType, Trap};
use kern::{Error, Module, ScalarValue};
use proptest::prelude::*;

/// A small deterministic generator (SplitMix64) driven by proptest's seed.
struct Gen {
    state: u64,
    depth: u32,
    /// Names of locals in scope, with their types and mutability.
    scopes: Vec<Vec<(String, ScalarType, bool)>>,
    next_name: u32,
    int_ty: ScalarType,
    float_ty: ScalarType,
    /// Functions expressions may call: name, parameter types, return type.
    helpers: Vec<(String, Vec<ScalarType>, ScalarType)>,
    /// The return type of the helper being generated (`return` is allowed).
    returns: Option<ScalarType>,
}

impl Gen {
    fn new(seed: u64) -> Gen {
        let mut g = Gen {
            state: seed,
            depth: 0,
            scopes: vec![Vec::new()],
            next_name: 0,
            int_ty: ScalarType::I64,
            float_ty: ScalarType::F64,
            helpers: Vec::new(),
            returns: None,
        };
        g.int_ty = *g.pick(&[
            ScalarType::I64,
            ScalarType::I32,
            ScalarType::U32,
            ScalarType::U8,
            ScalarType::I16,
            ScalarType::U64,
        ]);
        g.float_ty = *g.pick(&[ScalarType::F64, ScalarType::F32]);
        g
    }

    fn next(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }

    fn vars_of(&self, ty: ScalarType) -> Vec<String> {
        self.scopes
            .iter()
            .flatten()
            .filter(|(_, t, _)| *t == ty)
            .map(|(n, _, _)| n.clone())
            .collect()
    }

    fn mutable_vars(&self) -> Vec<(String, ScalarType)> {
        self.scopes
            .iter()
            .flatten()
            .filter(|(_, _, m)| *m)
            .map(|(n, t, _)| (n.clone(), *t))
            .collect()
    }

    fn int_literal(&mut self) -> String {
        let ty = self.int_ty;
        let v: i128 = match self.below(4) {
            0 => self.below(4) as i128,
            1 => self.below(100) as i128,
            2 => {
                // Extremes of the type, to exercise wrapping.
                if ty.is_signed_int() {
                    let bits = ty.bits();
                    if self.below(2) == 0 {
                        (1i128 << (bits - 1)) - 1
                    } else {
                        -(1i128 << (bits - 1))
                    }
                } else {
                    (1i128 << ty.bits()) - 1
                }
            }
            _ => (self.next() % 100_000) as i128,
        };
        let max = if ty.is_signed_int() {
            (1i128 << (ty.bits() - 1)) - 1
        } else {
            (1i128 << ty.bits()) - 1
        };
        let v = v.min(max);
        if v == -max - 1 {
            // `-128i8` would overflow as a literal before negation: spell MIN as arithmetic.
            format!("(-{max}{ty} - 1{ty})")
        } else if v < 0 {
            format!("({v}{ty})")
        } else {
            format!("{v}{ty}")
        }
    }

    fn float_literal(&mut self) -> String {
        let text = match self.below(6) {
            0 => "0.0".to_string(),
            1 => "1.0".to_string(),
            2 => "0.5".to_string(),
            3 => format!("{}.25", self.below(1000)),
            4 => "1e30".to_string(),
            _ => format!("{}e-3", self.below(100_000)),
        };
        format!("{text}{}", self.float_ty)
    }

    fn expr(&mut self, ty: ScalarType) -> String {
        self.depth += 1;
        let leaf = self.depth > 4 || self.below(3) == 0;
        let callable: Vec<(String, Vec<ScalarType>)> = self
            .helpers
            .iter()
            .filter(|h| h.2 == ty)
            .map(|h| (h.0.clone(), h.1.clone()))
            .collect();
        let e = if leaf {
            self.leaf(ty)
        } else if !callable.is_empty() && self.below(5) == 0 {
            let (name, params) = self.pick(&callable).clone();
            let args: Vec<String> = params.iter().map(|t| self.expr(*t)).collect();
            format!("{name}({})", args.join(", "))
        } else if ty == ScalarType::Bool {
            self.bool_expr()
        } else if ty.is_float() {
            self.float_expr()
        } else {
            self.int_expr()
        };
        self.depth -= 1;
        e
    }

    fn leaf(&mut self, ty: ScalarType) -> String {
        let vars = self.vars_of(ty);
        if !vars.is_empty() && self.below(3) != 0 {
            return self.pick(&vars).clone();
        }
        match ty {
            ScalarType::Bool => self.pick(&["true", "false"]).to_string(),
            t if t.is_float() => self.float_literal(),
            _ => self.int_literal(),
        }
    }

    fn int_expr(&mut self) -> String {
        let ty = self.int_ty;
        match self.below(9) {
            0..=3 => {
                let op = *self.pick(&["+", "-", "*", "/", "%", "&", "|", "^"]);
                format!("({} {op} {})", self.expr(ty), self.expr(ty))
            }
            4 => {
                let op = *self.pick(&["<<", ">>"]);
                format!("({} {op} {})", self.expr(ty), self.expr(ty))
            }
            5 => {
                if ty.is_signed_int() {
                    format!("(-{})", self.expr(ty))
                } else {
                    format!("(!{})", self.expr(ty))
                }
            }
            6 => format!("({} as {ty})", self.expr(self.float_ty)),
            7 => format!(
                "(if {} {{ {} }} else {{ {} }})",
                self.expr(ScalarType::Bool),
                self.expr(ty),
                self.expr(ty)
            ),
            _ => {
                let m = *self.pick(&["wrapping_add", "wrapping_sub", "wrapping_mul"]);
                format!("{}.{m}({})", self.paren_expr(ty), self.expr(ty))
            }
        }
    }

    fn paren_expr(&mut self, ty: ScalarType) -> String {
        let e = self.expr(ty);
        if e.starts_with('(') {
            e
        } else {
            format!("({e})")
        }
    }

    fn float_expr(&mut self) -> String {
        let ty = self.float_ty;
        match self.below(8) {
            0..=3 => {
                let op = *self.pick(&["+", "-", "*", "/"]);
                format!("({} {op} {})", self.expr(ty), self.expr(ty))
            }
            4 => format!("(-{})", self.expr(ty)),
            5 => format!("({} as {ty})", self.expr(self.int_ty)),
            6 => {
                let m = *self.pick(&["sqrt", "abs", "floor", "ceil", "trunc", "round_ties_even"]);
                format!("{}.{m}()", self.paren_expr(ty))
            }
            _ => format!(
                "{}.mul_add({}, {})",
                self.paren_expr(ty),
                self.expr(ty),
                self.expr(ty)
            ),
        }
    }

    fn bool_expr(&mut self) -> String {
        match self.below(4) {
            0 | 1 => {
                let ty = if self.below(2) == 0 {
                    self.int_ty
                } else {
                    self.float_ty
                };
                let op = *self.pick(&["==", "!=", "<", "<=", ">", ">="]);
                format!("({} {op} {})", self.expr(ty), self.expr(ty))
            }
            2 => {
                let op = *self.pick(&["&&", "||"]);
                format!(
                    "({} {op} {})",
                    self.expr(ScalarType::Bool),
                    self.expr(ScalarType::Bool)
                )
            }
            _ => format!("(!{})", self.expr(ScalarType::Bool)),
        }
    }

    fn fresh(&mut self) -> String {
        self.next_name += 1;
        format!("v{}", self.next_name)
    }

    fn statements(&mut self, count: u64, indent: usize, out: &mut String) {
        let pad = "    ".repeat(indent);
        for _ in 0..count {
            match self.below(6) {
                0 | 1 => {
                    let ty = *self.pick(&[self.int_ty, self.float_ty, ScalarType::Bool]);
                    let name = self.fresh();
                    let init = self.expr(ty);
                    out.push_str(&format!("{pad}let mut {name}: {ty} = {init};\n"));
                    self.scopes.last_mut().unwrap().push((name, ty, true));
                }
                2 => {
                    let vars = self.mutable_vars();
                    if vars.is_empty() {
                        continue;
                    }
                    let (name, ty) = self.pick(&vars).clone();
                    let value = self.expr(ty);
                    let op = if ty.is_int() {
                        *self.pick(&["=", "+=", "-=", "*=", "^="])
                    } else if ty.is_float() {
                        *self.pick(&["=", "+=", "-=", "*="])
                    } else {
                        "="
                    };
                    out.push_str(&format!("{pad}{name} {op} {value};\n"));
                }
                3 if indent < 4 => {
                    let cond = self.expr(ScalarType::Bool);
                    out.push_str(&format!("{pad}if {cond} {{\n"));
                    self.scopes.push(Vec::new());
                    let n = self.below(3) + 1;
                    self.statements(n, indent + 1, out);
                    self.scopes.pop();
                    out.push_str(&format!("{pad}}} else {{\n"));
                    self.scopes.push(Vec::new());
                    let n = self.below(2);
                    self.statements(n, indent + 1, out);
                    self.scopes.pop();
                    out.push_str(&format!("{pad}}}\n"));
                }
                4 if indent < 3 => {
                    let var = self.fresh();
                    let trips = self.below(6);
                    out.push_str(&format!("{pad}for {var} in 0..{trips}i64 {{\n"));
                    self.scopes
                        .push(vec![(var.clone(), ScalarType::I64, false)]);
                    let n = self.below(3) + 1;
                    self.statements(n, indent + 1, out);
                    if self.below(4) == 0 {
                        let cond = self.expr(ScalarType::Bool);
                        let jump = *self.pick(&["break", "continue"]);
                        out.push_str(&format!("{pad}    if {cond} {{ {jump}; }}\n"));
                    }
                    if let Some(ret) = self.returns.filter(|_| self.below(4) == 0) {
                        let cond = self.expr(ScalarType::Bool);
                        let value = self.expr(ret);
                        out.push_str(&format!("{pad}    if {cond} {{ return {value}; }}\n"));
                    }
                    self.scopes.pop();
                    out.push_str(&format!("{pad}}}\n"));
                }
                _ => {
                    let vars = self.mutable_vars();
                    if let Some((name, ty)) = vars.first().cloned() {
                        let value = self.expr(ty);
                        out.push_str(&format!("{pad}{name} = {value};\n"));
                    }
                }
            }
        }
    }

    /// A helper `name(p, q) -> ret` for expressions to call: statements (loops,
    /// branches, traps), an early `return`, a tail. It may call the helpers made
    /// before it, so calls nest and inlining has chains to collapse.
    fn helper(&mut self, name: &str, p: ScalarType, q: ScalarType, ret: ScalarType) -> String {
        self.scopes = vec![vec![("p".into(), p, false), ("q".into(), q, false)]];
        self.returns = Some(ret);
        let mut body = String::new();
        let n = self.below(4) + 1;
        self.statements(n, 1, &mut body);
        if self.below(2) == 0 {
            let cond = self.expr(ScalarType::Bool);
            let value = self.expr(ret);
            body.push_str(&format!(
                "    if {cond} {{\n        return {value};\n    }}\n"
            ));
            let n = self.below(3);
            self.statements(n, 1, &mut body);
        }
        let tail = self.expr(ret);
        self.returns = None;
        self.helpers.push((name.to_string(), vec![p, q], ret));
        format!("fn {name}(p: {p}, q: {q}) -> {ret} {{\n{body}    {tail}\n}}\n\n")
    }

    /// A function `f(a, b, x, y) -> R` and its return type, after the helpers it
    /// may call: random helpers, `helper` (small, always inlined) and `rec`, a
    /// recursion (never inlined) around a call of the random helpers.
    fn program(&mut self) -> (String, ScalarType) {
        let (it, ft) = (self.int_ty, self.float_ty);
        let mut helpers = String::new();
        let count = self.below(4);
        for k in 0..count {
            let p = *self.pick(&[it, ft]);
            let ret = *self.pick(&[it, ft, ScalarType::Bool]);
            helpers.push_str(&self.helper(&format!("h{k}"), p, it, ret));
        }
        self.scopes = vec![vec![("d".into(), it, false), ("r".into(), ft, false)]];
        let step = self.expr(ft);
        helpers.push_str(&format!(
            "fn rec(d: {it}, r: {ft}) -> {ft} {{\n    if d == (0 as {it}) {{\n        return r;\n    }}\n    rec(d - (1 as {it}), {step})\n}}\n\n"
        ));
        self.scopes = vec![vec![
            ("a".into(), it, false),
            ("b".into(), it, false),
            ("x".into(), ft, false),
            ("y".into(), ft, false),
        ]];
        let ret = *self.pick(&[it, ft, ScalarType::Bool]);
        let mut body = String::new();
        let n = self.below(6) + 1;
        self.statements(n, 1, &mut body);
        let tail = self.expr(ret);
        let source = format!(
            "{helpers}fn helper(p: {it}, q: {ft}) -> {ft} {{\n    (p as {ft}) * q\n}}\n\n\
             fn f(a: {it}, b: {it}, x: {ft}, y: {ft}) -> {ret} {{\n{body}    let _h = helper(a, x);\n    let _r = rec(a & (15 as {it}), x);\n    {tail}\n}}\n"
        );
        (source, ret)
    }
}

fn scalar(ty: ScalarType, bits: u64) -> ScalarValue {
    ScalarValue::from_bits(ty, bits)
}

fn same_outcome(
    jit: &Result<Option<ScalarValue>, Error>,
    interp: &Result<Option<ScalarValue>, Error>,
) -> bool {
    match (jit, interp) {
        (Ok(Some(a)), Ok(Some(b))) => a.same_result(*b),
        (Ok(None), Ok(None)) => true,
        (Err(Error::Kernel { trap: a, .. }), Err(Error::Kernel { trap: b, .. })) => a == b,
        _ => false,
    }
}

/// The oracle of every IR pass: the interpreter on the program as lowered, before
/// `passes::optimize` (inlining, folding). Compiled code of the optimised program
/// must give its results and its traps, at the same source locations.
fn interpret_as_lowered(source: &str, args: &[ScalarValue]) -> Result<Option<ScalarValue>, Trap> {
    let (compiled, _) = kern::compiler::frontend::compile_text_unoptimized("random.kern", source)
        .unwrap_or_else(|e| panic!("generated program does not compile:\n{source}\n{e}"));
    let f = compiled.functions["f"];
    let result = Interpreter::new(&compiled.program).call_scalars(f, args, &mut std::io::sink());
    result
}

fn same_as_lowered(
    jit: &Result<Option<ScalarValue>, Error>,
    lowered: &Result<Option<ScalarValue>, Trap>,
) -> bool {
    match (jit, lowered) {
        (Ok(Some(a)), Ok(Some(b))) => a.same_result(*b),
        (Ok(None), Ok(None)) => true,
        (Err(Error::Kernel { trap: a, .. }), Err(b)) => a == b,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn jit_and_interpreter_agree_bit_for_bit(seed in any::<u64>(), inputs in any::<[u64; 4]>()) {
        let mut generator = Gen::new(seed);
        let (source, _ret) = generator.program();
        let module = Module::from_source("random.kern", source.clone());
        let mut module = match module {
            Ok(m) => m,
            Err(e) => panic!("generated program does not compile:\n{source}\n{e}"),
        };
        let (it, ft) = (generator.int_ty, generator.float_ty);
        let args = [
            scalar(it, inputs[0] % 1000),
            scalar(it, inputs[1]),
            scalar(ft, if ft == ScalarType::F32 { (inputs[2] as f32 / 7.0).to_bits() as u64 } else { (inputs[2] as f64 / 7.0).to_bits() }),
            scalar(ft, inputs[3]),
        ];
        let interpreted = module.interpret("f", &args, &mut std::io::sink());
        let compiled = module.call("f", &args, &mut std::io::sink());
        prop_assert!(
            same_outcome(&compiled, &interpreted),
            "program:\n{}\nargs: {:?}\njit: {:?}\ninterpreter: {:?}",
            source, args, compiled, interpreted
        );
        let lowered = interpret_as_lowered(&source, &args);
        prop_assert!(
            same_as_lowered(&compiled, &lowered),
            "program:\n{}\nargs: {:?}\njit: {:?}\ninterpreter before the passes: {:?}",
            source, args, compiled, lowered
        );
    }
}

/// Inlined calls, case by case: a trap inside an inlined function (reported at the
/// callee's line and column), early returns from an inlined function, an inlined
/// function with a loop, a chain of small functions, and recursion mixed with
/// non-recursive calls — compiled code of the optimised program gives exactly what
/// the interpreter gives on the program as lowered.
#[test]
fn inlined_calls_keep_results_traps_and_their_locations() {
    let source = "\
fn ratio(p: i64, q: i64) -> i64 {
    p / q
}
fn clamp(v: i64) -> i64 {
    if v > 100 { return 100; }
    if v < -100 { return -100; }
    v
}
fn triangle(n: i64) -> i64 {
    let mut t = 0;
    for i in 0..n { t += clamp(i * i); }
    t
}
fn chain(p: i64, q: i64) -> i64 { clamp(ratio(p, q)) + triangle(q & 7) }
fn depth(n: i64, p: i64) -> i64 {
    if n == 0 { return chain(p, n + 3); }
    depth(n - 1, p) + ratio(p, n)
}
fn f(a: i64, b: i64) -> i64 { chain(a, b) + depth(b & 15, a) }
";
    let outcomes = compiled_as_lowered(
        "inlined.kern",
        source,
        &[
            (7, 3),
            (-900, 5),
            (250, -1),
            (i64::MIN, -1),
            (5, 0),
            (3, 16),
        ],
    );
    for ((a, b), compiled) in outcomes {
        if b == 0 || (a == i64::MIN && b == -1) {
            let message = compiled.unwrap_err().to_string();
            assert!(message.contains("inlined.kern:2:5"), "{message}");
        }
    }
}

/// What a compiled call gave.
type Outcome = Result<Option<ScalarValue>, Error>;

/// Calls `f(a, b)` of `source` compiled (the optimised program) and in the
/// interpreter on the program as lowered, asserts that they agree for every pair,
/// and returns the compiled outcomes.
fn compiled_as_lowered(
    file: &str,
    source: &str,
    pairs: &[(i64, i64)],
) -> Vec<((i64, i64), Outcome)> {
    let mut module = Module::from_source(file, source).expect("compiles");
    let (lowered_program, _) =
        kern::compiler::frontend::compile_text_unoptimized(file, source).expect("compiles");
    let f = lowered_program.functions["f"];
    let mut interpreter = Interpreter::new(&lowered_program.program);
    pairs
        .iter()
        .map(|&(a, b)| {
            let args = [ScalarValue::I64(a), ScalarValue::I64(b)];
            let compiled = module.call("f", &args, &mut std::io::sink());
            let lowered = interpreter.call_scalars(f, &args, &mut std::io::sink());
            assert!(
                same_as_lowered(&compiled, &lowered),
                "({a}, {b}): jit {compiled:?}, interpreter before the passes {lowered:?}"
            );
            ((a, b), compiled)
        })
        .collect()
}

/// Loop invariants, case by case: float math and reads of locals set before the
/// loop move out of nested loops; a division that could trap stays where it is, so
/// a loop that runs zero times never traps and one that runs traps at its line.
#[test]
fn hoisted_loop_invariants_keep_results_and_traps() {
    let source = "\
fn f(a: i64, b: i64) -> i64 {
    let x = a as f64 * 0.37;
    let mut t = 0;
    for i in 0..(b & 7) {
        let scale = (x * x + 1.0).sqrt();
        for j in 0..(a & 3) {
            t += ((scale * (j as f64)) as i64) ^ (a * 3 + i);
            t += 1000 / (b - 5);
        }
        t += a.wrapping_mul(b) >> 3;
    }
    t
}
";
    let outcomes = compiled_as_lowered(
        "hoisted.kern",
        source,
        &[(7, 3), (-13, 6), (4, 5), (5, 5), (i64::MAX, -1), (0, 13)],
    );
    let (_, trapped) = &outcomes[3];
    let message = trapped.as_ref().unwrap_err().to_string();
    assert!(message.contains("hoisted.kern:8:18"), "{message}");
    assert!(
        outcomes[2].1.is_ok(),
        "(4, 5): the inner loop runs zero times"
    );
}

/// Unrolled loops, case by case: nested constant ranges, loops writing locals, a
/// branch on the loop variable that folds away, zero-trip and one-trip ranges, a
/// range at the unroller's trip limit and one past it, loops that leave themselves
/// (`break`, `continue`: never unrolled) and a `return` from an unrolled one, and a
/// trap in an unrolled iteration — compiled code of the optimised program gives
/// exactly what the interpreter gives on the program as lowered.
#[test]
fn unrolled_loops_keep_results_and_traps() {
    let source = "\
fn f(a: i64, b: i64) -> i64 {
    let mut t = a;
    let mut k = b;
    for round in 0..10 {
        if round > 0 { k = k.wrapping_add(0x9E3779B9); }
        t = (t * 31) ^ k ^ round;
    }
    for i in 0..3 {
        for j in 1..=2 { t = t.wrapping_mul(5) + i * 10 + j; }
    }
    for i in 7..7 { t += 1000; }
    for i in 250u8..=255u8 { t = t * 2 + (i as i64); }
    for i in 0..16 { t += i; }
    for i in 0..17 { t ^= i; }
    for i in 0..4 { if (b & 7) == i { break; } t += i; }
    for i in 0..4 { if (a & 3) == i { continue; } t -= i; }
    for i in 0..4 {
        if b == i + 100 { return t; }
        t += 100 / (b - i - 200);
    }
    t
}
";
    let outcomes = compiled_as_lowered(
        "unrolled.kern",
        source,
        &[
            (7, 3),
            (-13, 6),
            (0, 100),
            (5, 102),
            (i64::MAX, 201),
            (i64::MIN, -1),
        ],
    );
    let (_, trapped) = &outcomes[4];
    let message = trapped.as_ref().unwrap_err().to_string();
    assert!(message.contains("unrolled.kern:19:14"), "{message}");
    assert!(
        outcomes[2].1.is_ok() && outcomes[3].1.is_ok(),
        "early returns"
    );
}
