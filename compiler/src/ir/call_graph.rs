//! The call graph of kern IR and what it says about calls: which functions are on a
//! cycle (recursive), which calls must guard the native stack, and which functions
//! can trap.
//!
//! Recursion is part of the IR's semantics: a call of a *recursive* function (one on
//! a cycle of the call graph, self-recursion included) counts towards the recursion
//! depth, and the call that would make more than the limit of such calls nested
//! traps with `RecursionLimit`; a call of a non-recursive function never does (a
//! non-recursive call chain is bounded by the program). The interpreter and every
//! backend ask [`recursive_functions`] / [`CallFacts`], so they count the same calls.
//!
//! The strongly connected components come from one iterative Tarjan search, linear
//! in the calls (a search from every function was quadratic: a chain of 30 000
//! functions took 18 s). This file knows the IR only; how large a native frame is
//! comes from the backend (a closure), how much stack may go unchecked from
//! [`crate::stack_limit`].

use crate::collections::{HashMap, HashSet};

use super::{Block, FuncId, Function, InstKind, Program};

/// The strongly connected components of the graph whose node `f` has the edges
/// `callees[f]`, callees first: every component comes after all the components it
/// reaches (the order Tarjan's algorithm finds them in).
pub fn components(callees: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = callees.len();
    const UNSEEN: usize = usize::MAX;
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut out = Vec::new();
    let mut next_index = 0;
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        // (node, how many of its edges have been followed)
        let mut path: Vec<(usize, usize)> = vec![(root, 0)];
        index[root] = next_index;
        low[root] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root] = true;
        while let Some(top) = path.last_mut() {
            let f = top.0;
            if let Some(&g) = callees[f].get(top.1) {
                top.1 += 1;
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
                out.push(component);
            }
        }
    }
    out
}

/// Whether component `c` of `callees` has a cycle: more than one member, or a
/// member that calls itself.
fn is_cycle(c: &[usize], callees: &[Vec<usize>]) -> bool {
    c.len() > 1 || callees[c[0]].contains(&c[0])
}

/// The callees of every function of `program`, by index.
fn call_edges(program: &Program) -> Vec<Vec<usize>> {
    program
        .functions
        .iter()
        .map(|f| f.callees().into_iter().map(|g| g.0 as usize).collect())
        .collect()
}

/// The functions of the compilation unit rooted at `root` (which must be in the
/// program): `root` first, then every function it calls, transitively, in
/// discovery order. `Err((caller, callee))` names a call of a function that is
/// not in the program.
pub fn unit_of(program: &Program, root: FuncId) -> Result<Vec<FuncId>, (FuncId, FuncId)> {
    let mut order = vec![root];
    let mut seen: HashSet<FuncId> = HashSet::from_iter([root]);
    let mut next = 0;
    while next < order.len() {
        let caller = order[next];
        next += 1;
        for callee in program.function(caller).callees() {
            if program.functions.get(callee.0 as usize).is_none() {
                return Err((caller, callee));
            }
            if seen.insert(callee) {
                order.push(callee);
            }
        }
    }
    Ok(order)
}

/// Functions on a call-graph cycle (including self-recursion).
pub fn recursive_functions(program: &Program) -> HashSet<FuncId> {
    let callees = call_edges(program);
    components(&callees)
        .into_iter()
        .filter(|c| is_cycle(c, &callees))
        .flatten()
        .map(|f| FuncId(f as u32))
        .collect()
}

/// The functions of `program`, callees before callers (the members of a recursive
/// cycle in no particular order among themselves).
pub fn callees_first(program: &Program) -> Vec<FuncId> {
    components(&call_edges(program))
        .into_iter()
        .flatten()
        .map(|f| FuncId(f as u32))
        .collect()
}

/// What the code of a call needs to check, for the functions of one compilation
/// unit (a set of functions closed under calls).
///
/// * A call of a **recursive** callee counts the recursion depth.
/// * A call checks the **stack** when its callee is recursive or when the callee's
///   *stack need* exceeds the unchecked budget. The stack need of `f` is its frame
///   plus the largest stack need among the callees it calls without a check, so one
///   check before a call covers the whole unchecked call tree below it, and no chain
///   of unchecked calls takes more than the budget plus one frame.
/// * A function **can trap** when it holds an instruction that can trap, a call that
///   checks the depth or the stack, or a call of a function that can trap. Only
///   after calling such a function does a caller look for a trap.
#[derive(Clone, Debug, Default)]
pub struct CallFacts {
    facts: HashMap<FuncId, Facts>,
}

#[derive(Clone, Copy, Debug)]
struct Facts {
    recursive: bool,
    checks_stack: bool,
    can_trap: bool,
    stack_need: u64,
}

/// What is assumed of a function the facts were not computed for: everything.
const UNKNOWN: Facts = Facts {
    recursive: true,
    checks_stack: true,
    can_trap: true,
    stack_need: 1 << 20,
};

impl CallFacts {
    /// The facts of `unit` (every callee of a member must be a member), with native
    /// frames of `frame_bytes` and at most `unchecked_budget` bytes of stack taken by
    /// calls that do not check it.
    pub fn of_unit(
        program: &Program,
        unit: &[FuncId],
        frame_bytes: impl Fn(&Function) -> u64,
        unchecked_budget: u64,
    ) -> CallFacts {
        let position: HashMap<FuncId, usize> =
            unit.iter().enumerate().map(|(i, f)| (*f, i)).collect();
        let callees: Vec<Vec<usize>> = unit
            .iter()
            .map(|f| {
                program
                    .function(*f)
                    .callees()
                    .into_iter()
                    .filter_map(|g| position.get(&g).copied())
                    .collect()
            })
            .collect();
        let mut facts: HashMap<FuncId, Facts> =
            HashMap::with_capacity_and_hasher(unit.len(), Default::default());
        for component in components(&callees) {
            let recursive = is_cycle(&component, &callees);
            let members: HashSet<FuncId> = component.iter().map(|&i| unit[i]).collect();
            let mut can_trap = recursive;
            let mut needs = Vec::with_capacity(component.len());
            for &i in &component {
                let f = program.function(unit[i]);
                let mut deepest = 0u64;
                for g in f.callees() {
                    let g_facts = if members.contains(&g) {
                        // Only in a cycle: recursive, so checked.
                        continue;
                    } else {
                        facts.get(&g).copied().unwrap_or(UNKNOWN)
                    };
                    can_trap |= g_facts.can_trap || g_facts.recursive || g_facts.checks_stack;
                    if !g_facts.checks_stack {
                        deepest = deepest.max(g_facts.stack_need);
                    }
                }
                can_trap |= block_can_trap(f, &f.body);
                needs.push(frame_bytes(f).saturating_add(deepest));
            }
            for (&i, need) in component.iter().zip(needs) {
                facts.insert(
                    unit[i],
                    Facts {
                        recursive,
                        checks_stack: recursive || need > unchecked_budget,
                        can_trap,
                        stack_need: need,
                    },
                );
            }
        }
        CallFacts { facts }
    }

    fn get(&self, f: FuncId) -> Facts {
        self.facts.get(&f).copied().unwrap_or(UNKNOWN)
    }

    /// Whether `f` is on a call-graph cycle: its calls count the recursion depth.
    pub fn is_recursive(&self, f: FuncId) -> bool {
        self.get(f).recursive
    }

    /// Whether a call of `f` checks the stack (for [`Self::stack_need`] bytes).
    pub fn checks_stack(&self, f: FuncId) -> bool {
        self.get(f).checks_stack
    }

    /// Bytes of stack a call of `f` may take before the next checked call.
    pub fn stack_need(&self, f: FuncId) -> u64 {
        self.get(f).stack_need
    }

    /// Whether a call of `f` can end in a trap, so the caller must look for one.
    pub fn can_trap(&self, f: FuncId) -> bool {
        self.get(f).can_trap
    }
}

/// Whether an instruction of `block` (nested blocks included, calls excluded) can
/// trap: integer division, checked array and constant-table accesses, assertions,
/// and SPMD and host operations (conservatively).
fn block_can_trap(f: &Function, block: &Block) -> bool {
    block.insts_deep().any(|inst| match &inst.kind {
        InstKind::Binary(op, a, _) => {
            matches!(op, super::BinaryOp::Div | super::BinaryOp::Rem)
                && !f.value_type(*a).is_float()
        }
        InstKind::Load { checked, .. } | InstKind::Store { checked, .. } => *checked,
        InstKind::LoadConst { .. }
        | InstKind::Assert { .. }
        | InstKind::Spmd(_)
        | InstKind::Host { .. } => true,
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The program as lowered: no call inlined yet.
    fn compile(src: &str) -> Program {
        crate::frontend::compile_text_unoptimized("t.kern", src)
            .unwrap_or_else(|e| panic!("{e}"))
            .0
            .program
    }

    fn names(program: &Program, set: &HashSet<FuncId>) -> Vec<String> {
        let mut n: Vec<String> = set
            .iter()
            .map(|f| program.function(*f).name.clone())
            .collect();
        n.sort_unstable();
        n
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
        assert_eq!(names(&program, &recursive), ["b", "c", "d"]);

        let chain: String = (0..30_000)
            .map(|i| format!("fn f{i}(x: i64) -> i64 {{ f{}(x) + 1 }}\n", i + 1))
            .collect::<String>()
            + "fn f30000(x: i64) -> i64 { x }\n";
        let started = std::time::Instant::now();
        let program = compile(&chain);
        assert!(recursive_functions(&program).is_empty());
        let order = callees_first(&program);
        let mut position = vec![0; order.len()];
        for (i, f) in order.iter().enumerate() {
            position[f.0 as usize] = i;
        }
        for (i, f) in program.functions.iter().enumerate() {
            for g in f.callees() {
                assert!(position[g.0 as usize] < position[i], "callees come first");
            }
        }
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    }

    fn unit_facts(program: &Program, frame: u64, budget: u64) -> (CallFacts, Vec<FuncId>) {
        let unit: Vec<FuncId> = (0..program.functions.len() as u32).map(FuncId).collect();
        (CallFacts::of_unit(program, &unit, |_| frame, budget), unit)
    }

    /// Only calls into a cycle count depth; the stack is checked where a chain of
    /// unchecked calls would pass the budget, and at every recursive call.
    #[test]
    fn calls_check_the_depth_in_cycles_and_the_stack_where_the_budget_ends() {
        let program = compile(
            "fn leaf(x: f64) -> f64 { x * 2.0 }
             fn mid(x: f64) -> f64 { leaf(x) + leaf(x + 1.0) }
             fn top(x: f64) -> f64 { mid(x) }
             fn fact(n: i64) -> i64 { if n < 2 { 1 } else { n * fact(n - 1) } }",
        );
        let id = |name: &str| program.find(name).unwrap();
        // Frames of 100 bytes, 250 unchecked: leaf 100, mid 200, top 300 (checked).
        let (facts, _) = unit_facts(&program, 100, 250);
        assert!(facts.is_recursive(id("fact")) && facts.checks_stack(id("fact")));
        assert!(!facts.is_recursive(id("leaf")) && !facts.is_recursive(id("top")));
        assert_eq!(facts.stack_need(id("mid")), 200);
        assert!(!facts.checks_stack(id("leaf")) && !facts.checks_stack(id("mid")));
        assert!(facts.checks_stack(id("top")));
    }

    /// A function can trap when something in it or below it can: a division, an
    /// index, an assertion, a checked call; pure float code cannot.
    #[test]
    fn functions_can_trap_when_they_or_their_callees_can() {
        let program = compile(
            "fn pure(x: f64) -> f64 { x / 3.0 }
             fn calls_pure(x: f64) -> f64 { pure(x) + 1.0 }
             fn divides(a: i64, b: i64) -> i64 { a / b }
             fn calls_divides(a: i64) -> i64 { divides(a, 3) }
             fn indexes(a: &[f64], i: usize) -> f64 { a[i] }
             fn asserts(x: f64) -> f64 { assert!(x > 0.0, \"positive\"); x }
             fn fact(n: i64) -> i64 { if n < 2 { 1 } else { n * fact(n - 1) } }
             fn calls_fact(n: i64) -> i64 { fact(n) }",
        );
        let (facts, _) = unit_facts(&program, 100, 1 << 20);
        let can_trap = |name: &str| facts.can_trap(program.find(name).unwrap());
        assert!(!can_trap("pure") && !can_trap("calls_pure"));
        for name in [
            "divides",
            "calls_divides",
            "indexes",
            "asserts",
            "fact",
            "calls_fact",
        ] {
            assert!(can_trap(name), "{name}");
        }
    }
}
