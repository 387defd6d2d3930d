//! Inlining of small functions into their callers.
//!
//! A call of a small, non-recursive callee is replaced by a copy of the callee's
//! body with fresh values and locals. The copy sits in a one-shot `Loop` so that a
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

use std::collections::{HashMap, HashSet};

use crate::ir::*;

mod views;

use views::nests_sub_views;

/// Instruction budget of a callee worth inlining (about a dozen source lines).
pub const DEFAULT_MAX_INSTS: usize = 40;

/// Inlines every call (outside host code) whose callee has at most `max_insts`
/// instructions.
pub fn inline_small_functions(program: &mut Program, max_insts: usize) {
    let recursive = recursive_functions(program);
    let inlinable: HashSet<FuncId> = (0..program.functions.len() as u32)
        .map(FuncId)
        .filter(|id| {
            let f = program.function(*id);
            !recursive.contains(id)
                && count_insts(&f.body) <= max_insts
                && !returns_inside_loop(&f.body, false)
        })
        .collect();
    if inlinable.is_empty() {
        return;
    }
    // Callees are inlined as they were before this pass (one level per run), which
    // keeps the pass simple and its growth bounded.
    let originals = program.functions.clone();
    // Host code runs in the interpreter: inlining into it would move compiled work
    // into the interpreter.
    for f in program
        .functions
        .iter_mut()
        .filter(|f| f.kind != FunctionKind::Main)
    {
        let mut inliner = Inliner {
            originals: &originals,
            inlinable: &inlinable,
            caller: f,
            views: HashMap::new(),
            locals_now: HashMap::new(),
            inlined: false,
        };
        let mut body = std::mem::take(&mut inliner.caller.body);
        inliner.block(&mut body);
        inliner.caller.body = body;
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
        let originals: Vec<Function> = program.functions.clone();
        let mut f = originals[caller.0 as usize].clone();
        let mut inliner = Inliner {
            originals: &originals,
            inlinable: &inlinable,
            caller: &mut f,
            views: HashMap::new(),
            locals_now: HashMap::new(),
            inlined: false,
        };
        let mut body = std::mem::take(&mut inliner.caller.body);
        inliner.block(&mut body);
        inliner.caller.body = body;
        // Calls the inliner had to keep (sub-views of sub-views) end the fixpoint.
        let changed = inliner.inlined;
        program.functions[caller.0 as usize] = f;
        if !changed {
            return;
        }
    }
}

fn count_insts(block: &Block) -> usize {
    block
        .insts
        .iter()
        .map(|i| {
            1 + match &i.kind {
                InstKind::If {
                    then_block,
                    else_block,
                    ..
                } => count_insts(then_block) + count_insts(else_block),
                InstKind::Loop {
                    header,
                    body,
                    latch,
                    ..
                } => count_insts(header) + count_insts(body) + count_insts(latch),
                _ => 0,
            }
        })
        .sum()
}

fn returns_inside_loop(block: &Block, in_loop: bool) -> bool {
    block.insts.iter().any(|i| match &i.kind {
        InstKind::Return(_) => in_loop,
        InstKind::If {
            then_block,
            else_block,
            ..
        } => returns_inside_loop(then_block, in_loop) || returns_inside_loop(else_block, in_loop),
        InstKind::Loop {
            header,
            body,
            latch,
            ..
        } => [header, body, latch]
            .iter()
            .any(|b| returns_inside_loop(b, true)),
        _ => false,
    })
}

/// Functions on a call-graph cycle (including self-recursion): the members of the
/// call graph's strongly connected components that have a cycle, found by Tarjan's
/// algorithm, iteratively and in time linear in the calls (a search from every
/// function was quadratic: a chain of 30 000 functions took 18 s).
fn recursive_functions(program: &Program) -> HashSet<FuncId> {
    let callees: Vec<Vec<FuncId>> = program.functions.iter().map(|f| f.callees()).collect();
    let n = callees.len();
    const UNSEEN: usize = usize::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut recursive = HashSet::new();
    let mut next_index = 0;
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        // (function, how many of its callees have been visited)
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(top) = path.last_mut() {
            let f = top.0;
            if let Some(&callee) = callees[f].get(top.1) {
                top.1 += 1;
                let g = callee.0 as usize;
                if g == f {
                    recursive.insert(FuncId(f as u32));
                }
                if index[g] == UNSEEN {
                    index[g] = next_index;
                    low[g] = next_index;
                    next_index += 1;
                    stack.push(g);
                    on_stack[g] = true;
                    path.push((g, 0));
                } else if on_stack[g] {
                    low[f] = low[f].min(index[g]);
                }
                continue;
            }
            path.pop();
            if let Some(&(parent, _)) = path.last() {
                low[parent] = low[parent].min(low[f]);
            }
            if low[f] == index[f] {
                let mut component = Vec::new();
                while let Some(g) = stack.pop() {
                    on_stack[g] = false;
                    component.push(g);
                    if g == f {
                        break;
                    }
                }
                if component.len() > 1 {
                    recursive.extend(component.into_iter().map(|g| FuncId(g as u32)));
                }
            }
        }
    }
    recursive
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
    /// Whether any call was inlined.
    inlined: bool,
}

impl Inliner<'_> {
    fn block(&mut self, block: &mut Block) {
        let insts = std::mem::take(&mut block.insts);
        for mut inst in insts {
            match &mut inst.kind {
                InstKind::If {
                    then_block,
                    else_block,
                    ..
                } => {
                    self.block(then_block);
                    self.block(else_block);
                }
                InstKind::Loop {
                    header,
                    body,
                    latch,
                    ..
                } => {
                    self.block(header);
                    self.block(body);
                    self.block(latch);
                }
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
                _ => {}
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
        // Callee locals: array parameters alias the caller's array; the others are
        // fresh locals, set from the arguments or reset to zero (a callee's locals
        // start at zero on every call, also when inlined inside a loop).
        let mut locals: HashMap<LocalId, LocalId> = HashMap::new();
        let mut views: HashMap<LocalId, (LocalId, ValueId)> = HashMap::new();
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
        let mut values: HashMap<ValueId, ValueId> = HashMap::new();
        self.views = views;
        self.locals_now = locals.clone();
        let mut body = self.copy_block(callee, &callee.body, &locals, &mut values, result_local);
        self.views.clear();
        self.locals_now.clear();
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

/// A copy of a non-control-flow instruction with values and locals renamed.
fn remap(
    kind: &InstKind,
    v: impl Fn(&ValueId) -> ValueId,
    l: impl Fn(&LocalId) -> LocalId,
) -> InstKind {
    match kind {
        InstKind::Const(c) => InstKind::Const(*c),
        InstKind::GetLocal(x) => InstKind::GetLocal(l(x)),
        InstKind::SetLocal(x, y) => InstKind::SetLocal(l(x), v(y)),
        InstKind::Unary(op, a) => InstKind::Unary(*op, v(a)),
        InstKind::Binary(op, a, b) => InstKind::Binary(*op, v(a), v(b)),
        InstKind::Cmp(op, a, b) => InstKind::Cmp(*op, v(a), v(b)),
        InstKind::Cast(a, t) => InstKind::Cast(v(a), *t),
        InstKind::Bitcast(a, t) => InstKind::Bitcast(v(a), *t),
        InstKind::Select {
            cond,
            if_true,
            if_false,
        } => InstKind::Select {
            cond: v(cond),
            if_true: v(if_true),
            if_false: v(if_false),
        },
        InstKind::Intrinsic(i, args) => InstKind::Intrinsic(*i, args.iter().map(&v).collect()),
        InstKind::Call { callee, args } => InstKind::Call {
            callee: *callee,
            args: args
                .iter()
                .map(|a| match a {
                    Arg::Value(x) => Arg::Value(v(x)),
                    Arg::Array(x) => Arg::Array(l(x)),
                    Arg::SubView { array, index } => Arg::SubView {
                        array: l(array),
                        index: v(index),
                    },
                })
                .collect(),
        },
        InstKind::ArrayLen { array, axis } => InstKind::ArrayLen {
            array: l(array),
            axis: *axis,
        },
        InstKind::Load {
            array,
            indices,
            checked,
        } => InstKind::Load {
            array: l(array),
            indices: indices.iter().map(&v).collect(),
            checked: *checked,
        },
        InstKind::Store {
            array,
            indices,
            value,
            checked,
        } => InstKind::Store {
            array: l(array),
            indices: indices.iter().map(&v).collect(),
            value: v(value),
            checked: *checked,
        },
        InstKind::LoadConst { table, index } => InstKind::LoadConst {
            table: *table,
            index: v(index),
        },
        InstKind::Assert { cond, message } => InstKind::Assert {
            cond: v(cond),
            message: message.clone(),
        },
        InstKind::Print {
            pieces,
            args,
            newline,
        } => InstKind::Print {
            pieces: pieces.clone(),
            args: args.iter().map(&v).collect(),
            newline: *newline,
        },
        InstKind::Spmd(s) => InstKind::Spmd(s.map(|x| v(&x), |x| l(&x))),
        // Control flow is copied by the caller of `remap`.
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interp::Interpreter;

    fn compile(src: &str) -> Program {
        crate::frontend::compile_text("t.kern", src)
            .unwrap_or_else(|e| panic!("{e}"))
            .0
            .program
    }

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

    /// Cycles of every length are found, and nothing else: a chain into a cycle,
    /// self-recursion, mutual recursion, and a long chain (linear time: 30 000
    /// functions calling the next took 18 s with a search from every function).
    #[test]
    fn recursive_functions_are_the_ones_on_call_cycles() {
        let program = compile(
            "fn a(n: i64) -> i64 { b(n) }
             fn b(n: i64) -> i64 { if n > 0 { c(n - 1) } else { 0 } }
             fn c(n: i64) -> i64 { b(n) + d(n) }
             fn d(n: i64) -> i64 { if n > 0 { d(n - 1) } else { e(n) } }
             fn e(n: i64) -> i64 { n }",
        );
        let recursive = recursive_functions(&program);
        let names = |set: &HashSet<FuncId>| {
            let mut n: Vec<&str> = set
                .iter()
                .map(|f| program.function(*f).name.as_str())
                .collect();
            n.sort_unstable();
            n
        };
        assert_eq!(names(&recursive), ["b", "c", "d"]);

        let chain: String = (0..30_000)
            .map(|i| format!("fn f{i}(x: i64) -> i64 {{ f{}(x) + 1 }}\n", i + 1))
            .collect::<String>()
            + "fn f30000(x: i64) -> i64 { x }\n";
        let started = std::time::Instant::now();
        let program = compile(&chain);
        assert!(recursive_functions(&program).is_empty());
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
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
}
