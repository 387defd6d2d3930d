//! Inlining of small functions into their callers.
//!
//! A call of a small ([`DEFAULT_MAX_INSTS`]), non-recursive callee is replaced by a
//! copy of the callee's body with fresh values and locals; a scalar parameter the
//! callee never sets is not copied into a local but read as the argument value
//! itself, so a constant argument folds in the copy. Functions are visited
//! callees first ([`crate::ir::call_graph::callees_first`]), so what is copied
//! already has its own small callees inlined. The copy sits in a one-shot `Loop` so that a
//! `Return` in it becomes "store the result, `Break`"; callees whose `Return`s sit
//! inside their own loops are not inlined (the `Break` would leave the wrong loop).
//! Instruction spans are kept, so a trap in inlined code still points at the
//! callee's source line. Semantics are unchanged: the interpreter gives the same
//! result before and after (tested).
//!
//! A callee that receives a sub-view (`Arg::SubView`) is inlined with its accesses
//! to that parameter rewritten to the parent array, the sub-view's index prepended
//! (`ArrayLen` one axis further in); a callee that would pass a sub-view of such a
//! parameter on (a sub-view of a sub-view) stays a call.

use crate::collections::{HashMap, HashSet};

use crate::ir::call_graph::{callees_first, recursive_functions};
use crate::ir::*;

mod views;

use super::rename::remap;
use views::nests_sub_views;

/// Instruction budget of a callee worth inlining: IR instructions, nested blocks
/// included, counted after the callee's own small callees were inlined into it.
/// 250 is about sixty source lines; it takes in the stdlib's `exp` (127), `ln`
/// (197), `ln_1p` (238) and `random::uniform` (216: Philox-4x32-10 with its
/// ten-round loop, 99, inside), not `sin`/`cos`, whose argument reduction alone
/// is larger. Recursive functions and functions that `return` from inside a loop
/// are never inlined, whatever their size.
pub const DEFAULT_MAX_INSTS: usize = 250;

/// Inlines every call (outside host code) of a non-recursive callee that has at most
/// `max_insts` instructions. Functions are visited callees first, so a callee is
/// copied with its own small callees already inlined: a chain of small functions
/// collapses into its caller in one run, and the size a callee is judged by is the
/// size it has when copied.
pub fn inline_small_functions(program: &mut Program, max_insts: usize) {
    let recursive = recursive_functions(program);
    let mut sizes: Vec<Option<usize>> = vec![None; program.functions.len()];
    for id in callees_first(program) {
        let index = id.0 as usize;
        // Host code runs in the interpreter: inlining into it would move compiled
        // work into the interpreter.
        if program.functions[index].kind != FunctionKind::Main {
            let inlinable: HashSet<FuncId> = program.functions[index]
                .callees()
                .into_iter()
                .filter(|g| {
                    let callee = program.function(*g);
                    !recursive.contains(g)
                        && sizes[g.0 as usize].is_some_and(|n| n <= max_insts)
                        && !returns_inside_loop(&callee.body, false)
                })
                .collect();
            if !inlinable.is_empty() {
                let mut f = program.functions[index].clone();
                inline_calls(&program.functions, &inlinable, &mut f);
                program.functions[index] = f;
            }
        }
        sizes[index] = Some(count_insts(&program.functions[index].body));
    }
}

/// Largest body [`inline_all_into`] grows a function to; beyond it calls stay calls.
pub const MAX_INLINED_BODY: usize = 50_000;

/// Inlines every call in `caller`, transitively, except calls of recursive functions
/// and of functions that return from inside a loop: the elementwise loops of
/// ufuncs are made self-contained this way so the whole body can be vectorised.
pub fn inline_all_into(program: &mut Program, caller: FuncId) {
    let recursive = recursive_functions(program);
    loop {
        let inlinable: HashSet<FuncId> = program
            .function(caller)
            .callees()
            .into_iter()
            .filter(|id| {
                *id != caller
                    && !recursive.contains(id)
                    && !returns_inside_loop(&program.function(*id).body, false)
            })
            .collect();
        if inlinable.is_empty() || count_insts(&program.function(caller).body) > MAX_INLINED_BODY {
            return;
        }
        // The caller is never its own callee here, so the program as it stands
        // holds the bodies to copy.
        let mut f = program.function(caller).clone();
        // Calls the inliner had to keep (sub-views of sub-views) end the fixpoint.
        let changed = inline_calls(&program.functions, &inlinable, &mut f);
        program.functions[caller.0 as usize] = f;
        if !changed {
            return;
        }
    }
}

/// Inlines the calls of `inlinable` functions in `caller` (bodies taken from
/// `originals`); whether any call was inlined.
fn inline_calls(
    originals: &[Function],
    inlinable: &HashSet<FuncId>,
    caller: &mut Function,
) -> bool {
    let mut inliner = Inliner {
        originals,
        inlinable,
        caller,
        views: HashMap::default(),
        locals_now: HashMap::default(),
        params_now: HashMap::default(),
        inlined: false,
    };
    let mut body = std::mem::take(&mut inliner.caller.body);
    inliner.block(&mut body);
    inliner.caller.body = body;
    inliner.inlined
}

fn count_insts(block: &Block) -> usize {
    block.insts_deep().count()
}

fn returns_inside_loop(block: &Block, in_loop: bool) -> bool {
    block.insts.iter().any(|i| match &i.kind {
        InstKind::Return(_) => in_loop,
        InstKind::Loop { .. } => i.kind.blocks().any(|b| returns_inside_loop(b, true)),
        other => other.blocks().any(|b| returns_inside_loop(b, in_loop)),
    })
}

struct Inliner<'a> {
    originals: &'a [Function],
    inlinable: &'a HashSet<FuncId>,
    caller: &'a mut Function,
    /// While copying a callee: its array parameters bound to a sub-view, with the
    /// caller's array and index.
    views: HashMap<LocalId, (LocalId, ValueId)>,
    /// While copying a callee: the renaming of its other locals.
    locals_now: HashMap<LocalId, LocalId>,
    /// While copying a callee: its scalar parameters that it never sets, each read
    /// as the caller's argument value itself (so a constant argument folds).
    params_now: HashMap<LocalId, ValueId>,
    /// Whether any call was inlined.
    inlined: bool,
}

impl Inliner<'_> {
    fn block(&mut self, block: &mut Block) {
        let insts = std::mem::take(&mut block.insts);
        for mut inst in insts {
            match &mut inst.kind {
                InstKind::Call { callee, args }
                    if self.inlinable.contains(callee)
                        && !nests_sub_views(&self.originals[callee.0 as usize], args) =>
                {
                    let callee = &self.originals[callee.0 as usize];
                    let args = args.clone();
                    self.inline_call(callee, &args, inst.result, inst.span, &mut block.insts);
                    self.inlined = true;
                    continue;
                }
                other => {
                    for nested in other.blocks_mut() {
                        self.block(nested);
                    }
                }
            }
            block.insts.push(inst);
        }
    }

    fn new_value(&mut self, ty: ScalarType) -> ValueId {
        self.caller.value_types.push(ty);
        ValueId(self.caller.value_types.len() as u32 - 1)
    }

    fn new_local(&mut self, name: String, ty: Type) -> LocalId {
        self.caller.locals.push(Local { name, ty });
        LocalId(self.caller.locals.len() as u32 - 1)
    }

    fn inline_call(
        &mut self,
        callee: &Function,
        args: &[Arg],
        result: Option<ValueId>,
        span: crate::diagnostics::Span,
        out: &mut Vec<Inst>,
    ) {
        let inst = |kind: InstKind, result: Option<ValueId>| Inst { result, kind, span };
        // Callee locals: array parameters alias the caller's array; scalar
        // parameters the callee never sets are the argument values; the others are
        // fresh locals, set from the arguments or reset to zero (a callee's locals
        // start at zero on every call, also when inlined inside a loop).
        let written = callee.body.written_locals();
        let mut locals: HashMap<LocalId, LocalId> = HashMap::default();
        let mut views: HashMap<LocalId, (LocalId, ValueId)> = HashMap::default();
        let mut read_only: HashMap<LocalId, ValueId> = HashMap::default();
        let params: HashMap<LocalId, Arg> = callee
            .params
            .iter()
            .zip(args)
            .map(|(p, a)| (p.local, *a))
            .collect();
        for (i, local) in callee.locals.iter().enumerate() {
            let id = LocalId(i as u32);
            match (params.get(&id), local.ty) {
                (Some(Arg::Array(caller_array)), _) => {
                    locals.insert(id, *caller_array);
                }
                (Some(Arg::SubView { array, index }), _) => {
                    views.insert(id, (*array, *index));
                }
                (Some(Arg::Value(v)), Type::Scalar(_)) if !written.contains(&id) => {
                    read_only.insert(id, *v);
                }
                (arg, Type::Scalar(t)) => {
                    let new = self.new_local(local.name.clone(), local.ty);
                    locals.insert(id, new);
                    let value = match arg {
                        Some(Arg::Value(v)) => *v,
                        _ => {
                            let zero = self.new_value(t);
                            out.push(inst(InstKind::Const(ScalarValue::zero(t)), Some(zero)));
                            zero
                        }
                    };
                    out.push(inst(InstKind::SetLocal(new, value), None));
                }
                (_, Type::Array(_) | Type::HostArray(_)) => {
                    // An array local that is not a parameter cannot exist.
                    let new = self.new_local(local.name.clone(), local.ty);
                    locals.insert(id, new);
                }
            }
        }
        let result_local = callee
            .ret
            .map(|t| self.new_local(format!("{}.result", callee.name), Type::Scalar(t)));
        let mut values: HashMap<ValueId, ValueId> = HashMap::default();
        self.views = views;
        self.locals_now = locals.clone();
        self.params_now = read_only;
        let mut body = self.copy_block(callee, &callee.body, &locals, &mut values, result_local);
        self.views.clear();
        self.locals_now.clear();
        self.params_now.clear();
        // Falling off the end of the callee's body ends the call too.
        let terminated = body.insts.last().is_some_and(|i| {
            matches!(
                i.kind,
                InstKind::Break | InstKind::Continue | InstKind::Return(_)
            )
        });
        if !terminated {
            body.insts.push(inst(InstKind::Break, None));
        }
        out.push(inst(
            InstKind::Loop {
                header: Block::default(),
                cond: None,
                body,
                latch: Block::default(),
                counted: None,
            },
            None,
        ));
        if let (Some(r), Some(local)) = (result, result_local) {
            out.push(inst(InstKind::GetLocal(local), Some(r)));
        }
    }

    fn copy_block(
        &mut self,
        callee: &Function,
        block: &Block,
        locals: &HashMap<LocalId, LocalId>,
        values: &mut HashMap<ValueId, ValueId>,
        result_local: Option<LocalId>,
    ) -> Block {
        let mut out = Vec::with_capacity(block.insts.len());
        for inst in &block.insts {
            let v = |values: &HashMap<ValueId, ValueId>, x: &ValueId| {
                values.get(x).copied().unwrap_or(*x)
            };
            let l = |x: &LocalId| locals.get(x).copied().unwrap_or(*x);
            if let (InstKind::GetLocal(param), Some(r)) = (&inst.kind, inst.result) {
                if let Some(arg) = self.params_now.get(param) {
                    values.insert(r, *arg);
                    continue;
                }
            }
            let kind = match &inst.kind {
                InstKind::Return(value) => {
                    if let (Some(value), Some(r)) = (value, result_local) {
                        out.push(Inst {
                            result: None,
                            kind: InstKind::SetLocal(r, v(values, value)),
                            span: inst.span,
                        });
                    }
                    InstKind::Break
                }
                InstKind::If {
                    cond,
                    then_block,
                    else_block,
                } => InstKind::If {
                    cond: v(values, cond),
                    then_block: self.copy_block(callee, then_block, locals, values, result_local),
                    else_block: self.copy_block(callee, else_block, locals, values, result_local),
                },
                InstKind::Loop {
                    header,
                    cond,
                    body,
                    latch,
                    counted,
                } => {
                    let header = self.copy_block(callee, header, locals, values, result_local);
                    let body = self.copy_block(callee, body, locals, values, result_local);
                    let latch = self.copy_block(callee, latch, locals, values, result_local);
                    InstKind::Loop {
                        cond: cond.map(|c| v(values, &c)),
                        header,
                        body,
                        latch,
                        counted: counted.map(|c| CountedLoop {
                            counter: l(&c.counter),
                            induction: v(values, &c.induction),
                            step: v(values, &c.step),
                            order: c.order,
                        }),
                    }
                }
                other => match self.through_views(other, |x| v(values, x)) {
                    Some(kind) => kind,
                    None => remap(other, |x| v(values, x), l),
                },
            };
            let result = inst.result.map(|r| {
                let new = self.new_value(callee.value_type(r));
                values.insert(r, new);
                new
            });
            out.push(Inst {
                result,
                kind,
                span: inst.span,
            });
        }
        Block { insts: out }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;

    use crate::passes::tests::lowered as compile;

    const SRC: &str = "
        fn clamp_add(a: i64, b: i64) -> i64 {
            let s = a + b;
            if s > 100 { return 100; }
            if s < -100 { return -100; }
            s
        }
        fn total(n: i64) -> i64 {
            let mut t = 0;
            for i in 0..n { t += clamp_add(t, i); }
            t
        }
        fn fact(n: i64) -> i64 { if n < 2 { 1 } else { n * fact(n - 1) } }
        fn uses_fact(n: i64) -> i64 { fact(n) + 1 }
    ";

    #[test]
    fn inlined_code_computes_what_the_call_did() {
        let program = compile(SRC);
        let total = program.find("total").unwrap();
        let mut inlined = program.clone();
        inline_small_functions(&mut inlined, DEFAULT_MAX_INSTS);
        assert!(crate::ir::verify::verify_program(&inlined).is_ok());
        assert!(
            !inlined
                .function(total)
                .callees()
                .contains(&program.find("clamp_add").unwrap()),
            "the small callee is inlined"
        );
        for n in [0i64, 1, 5, 30, 200] {
            let run = |p: &Program| {
                Interpreter::new(p)
                    .call_scalars(total, &[ScalarValue::I64(n)], &mut std::io::sink())
                    .unwrap()
            };
            assert_eq!(run(&program), run(&inlined), "n = {n}");
        }
    }

    #[test]
    fn recursive_functions_are_not_inlined() {
        let mut program = compile(SRC);
        inline_small_functions(&mut program, DEFAULT_MAX_INSTS);
        let fact = program.find("fact").unwrap();
        assert!(program
            .function(program.find("uses_fact").unwrap())
            .callees()
            .contains(&fact));
    }

    /// A parameter the callee never sets is read as the caller's argument itself,
    /// so a constant argument folds in the copy: `pick(0, x)` keeps one branch.
    #[test]
    fn a_constant_argument_folds_in_the_inlined_body() {
        let src =
            "fn pick(which: i32, x: f64) -> f64 { if which == 0 { x + 1.0 } else { x * 2.0 } }\n\
                   fn f(x: f64) -> f64 { pick(0, x) }\n";
        let program = compile(src);
        let f = program.find("f").unwrap();
        let mut inlined = program.clone();
        inline_small_functions(&mut inlined, DEFAULT_MAX_INSTS);
        crate::passes::fold::fold_program(&mut inlined);
        assert!(crate::ir::verify::verify_program(&inlined).is_ok());
        let ifs = inlined
            .function(f)
            .body
            .insts_deep()
            .filter(|i| matches!(i.kind, InstKind::If { .. }))
            .count();
        assert_eq!(ifs, 0, "the branch on `which` folds away");
        for x in [0.5f64, -3.0] {
            let run = |p: &Program| {
                Interpreter::new(p)
                    .call_scalars(f, &[ScalarValue::F64(x)], &mut std::io::sink())
                    .unwrap()
            };
            assert_eq!(run(&program), run(&inlined));
        }
    }

    /// Callees are inlined with their own callees already inlined: a chain of small
    /// functions (stdlib-style wrappers) ends as one body without calls, and a trap
    /// in the innermost one still reports the innermost one's line and column.
    #[test]
    fn chains_of_small_functions_collapse_and_keep_trap_locations() {
        let src = "fn inner(a: i64, b: i64) -> i64 {\n    a / b\n}\n\
                   fn middle(a: i64, b: i64) -> i64 { inner(a, b) + inner(b, a) }\n\
                   fn outer(a: i64, b: i64) -> i64 { middle(a, b) * 2 }\n";
        let program = compile(src);
        let outer = program.find("outer").unwrap();
        let mut inlined = program.clone();
        inline_small_functions(&mut inlined, DEFAULT_MAX_INSTS);
        assert!(crate::ir::verify::verify_program(&inlined).is_ok());
        assert!(
            inlined.function(outer).callees().is_empty(),
            "the whole chain is inlined"
        );
        let run = |p: &Program, a: i64, b: i64| {
            Interpreter::new(p).call_scalars(
                outer,
                &[ScalarValue::I64(a), ScalarValue::I64(b)],
                &mut std::io::sink(),
            )
        };
        for (a, b) in [(7, 3), (-9, 2), (5, 0), (0, 4), (i64::MIN, -1)] {
            assert_eq!(run(&program, a, b), run(&inlined, a, b), "({a}, {b})");
        }
        let trap = run(&inlined, 5, 0).unwrap_err();
        // `a / b` in `inner`: line 2, column 5 of the source.
        assert_eq!(trap.kind, TrapKind::DivisionByZero);
        assert_eq!(trap.span.start, src.find("a / b").unwrap() as u32);
    }

    /// The stdlib is inlined like user code: a Monte Carlo loop over
    /// `random::uniform` (Philox-4x32-10 inside two wrappers) and a loop over `exp`
    /// keep no call after `passes::optimize`; `sin` (argument reduction included)
    /// is too large and stays a call.
    #[test]
    fn small_stdlib_functions_are_inlined_whole() {
        let program = crate::frontend::compile_text(
            "t.kern",
            "fn count(seed: u64, n: u64) -> u64 {
                 let mut inside = 0;
                 for i in 0..n {
                     let x = random::uniform(seed, 2 * i);
                     let y = random::uniform(seed, 2 * i + 1);
                     if x * x + y * y < 1.0 { inside += 1; }
                 }
                 inside
             }
             fn growth(x: f64) -> f64 { x.exp() * 2.0 }
             fn wave(x: f64) -> f64 { x.sin() }",
        )
        .unwrap()
        .0
        .program;
        let callees = |name: &str| program.function(program.find(name).unwrap()).callees();
        assert!(callees("count").is_empty(), "{:?}", callees("count"));
        assert!(callees("growth").is_empty());
        assert_eq!(callees("wave").len(), 1);
    }
}
