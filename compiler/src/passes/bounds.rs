//! Bounds-check elimination over kern IR.
//!
//! A checked `Load`/`Store` becomes unchecked when every one of its indices is
//! proven below the extent of its array on that axis. The proof is a *guard*: the
//! condition of an enclosing loop (true throughout its `body` and `latch`) or of an
//! enclosing `If` (true throughout its `then` block) that is `v < e` — or a
//! conjunction `&` of such comparisons — where `v` is the index value itself and `e`
//! is the extent of that array on that axis. Values are SSA, so `v` cannot change
//! between the test and the access; a loop whose header reads a local, tests that
//! read, and whose header and body never write the local proves every read of it in
//! the body as well (a `for` loop's variable, which only its latch steps): `for i in 0..a.len() { a[i] }` (the header's
//! `i` is the index), a gufunc body's `for k in 0..N { x[k] }` (`N` is the extent
//! of `x`'s axis) and the loop builders' own loops all qualify; `a[i + 1]`, `b[i]`
//! for another array `b`, an axis other than the one `e` measures, a bound that is
//! not an extent and a `while` loop whose body re-reads its counter do not.
//!
//! `e` is an extent when it is `ArrayLen { array, axis }` or a read of a scalar
//! local (not a parameter) whose every write, anywhere in the function, stores that
//! same extent or the constant 0: such a local only ever holds 0 (its initial value) or the extent
//! (array locals are never reassigned), and `v < 0` never holds for `usize`. A local
//! written with anything else (`let mut n = a.len(); n += 1;`) is no proof.
//!
//! The pass runs before inlining (so a callee's proven accesses stay unchecked when
//! they are rewritten through a sub-view, whose index is unchecked by definition)
//! and after it (for loops whose bound reaches them through an inlined parameter).
//! An `assert` that an extent is at most (`<=`) or equal to (`==`) another makes a
//! proof against the smaller hold for the larger in the rest of its block. The
//! gufunc loops assert so on entry for the axes that share a core dimension name
//! and for every operand's loop axis: in `matmul`'s `a[i][k] * b[k][j]`, `k < N`
//! measured on `a` proves `b`'s first axis too.
//!
//! It never removes a check that could fire, so results and traps stay bit for bit.
//! It knows the IR only.

use crate::collections::{HashMap, HashSet};

use crate::ir::*;

/// Removes the provably redundant bounds checks of every function of `program`.
pub fn eliminate_program(program: &mut Program) {
    for f in &mut program.functions {
        eliminate_checks(f);
    }
}

/// Removes the provably redundant bounds checks of `f`.
pub fn eliminate_checks(f: &mut Function) {
    let facts = Facts::of(f);
    let mut body = std::mem::take(&mut f.body);
    walk(&facts, &mut body, &mut Scope::default());
    f.body = body;
}

/// An array axis: the array local and the axis.
type Axis = (LocalId, u8);

/// What a value's defining instruction is, as far as guards care.
#[derive(Clone, Copy)]
enum Def {
    Extent(Axis),
    /// The `usize` constant 0, which every local starts as anyway.
    Zero,
    Read(LocalId),
    Lt(ValueId, ValueId),
    Eq(ValueId, ValueId),
    Le(ValueId, ValueId),
    And(ValueId, ValueId),
}

/// Definitions and local writes of one function, collected before it is rewritten.
struct Facts {
    defs: HashMap<ValueId, Def>,
    /// The extent every write of a local stores, when there is exactly one.
    local_extents: HashMap<LocalId, Axis>,
}

impl Facts {
    fn of(f: &Function) -> Facts {
        let mut defs = HashMap::default();
        let mut writes: HashMap<LocalId, Vec<ValueId>> = HashMap::default();
        collect(f, &f.body, &mut defs, &mut writes);
        let params: HashSet<LocalId> = f.params.iter().map(|p| p.local).collect();
        let mut facts = Facts {
            defs,
            local_extents: HashMap::default(),
        };
        // A local stores an extent when each write stores that extent, directly or
        // through another such local; iterate to the fixed point (chains are short).
        loop {
            let mut changed = false;
            for (local, stored) in &writes {
                if params.contains(local) || facts.local_extents.contains_key(local) {
                    continue;
                }
                // Writes of 0 (what the inliner initialises a callee's locals
                // with) keep the local at "0 or the extent".
                let extents: Option<Vec<Axis>> = stored
                    .iter()
                    .filter(|v| !matches!(facts.defs.get(v), Some(Def::Zero)))
                    .map(|v| facts.extent(*v))
                    .collect();
                if let Some(first) = extents.as_ref().and_then(|e| e.first()).copied() {
                    if extents.iter().flatten().all(|e| *e == first) {
                        facts.local_extents.insert(*local, first);
                        changed = true;
                    }
                }
            }
            if !changed {
                break facts;
            }
        }
    }

    /// Whether every index of an access to `array` is proven below the extent of
    /// its axis: the index itself, or a read of a local proven there.
    fn covered(&self, scope: &Scope, array: LocalId, indices: &[ValueId]) -> bool {
        indices.iter().enumerate().all(|(axis, v)| {
            let axis = (array, axis as u8);
            scope.proves(Index::Value(*v), axis)
                || matches!(self.defs.get(v), Some(Def::Read(l)) if scope.proves(Index::Local(*l), axis))
        })
    }

    /// The array axis whose extent `v` is (or is 0), if it is one.
    fn extent(&self, v: ValueId) -> Option<Axis> {
        match self.defs.get(&v)? {
            Def::Extent(axis) => Some(*axis),
            Def::Read(local) => self.local_extents.get(local).copied(),
            _ => None,
        }
    }

    /// The facts `index < extent` that hold wherever `cond` is true.
    fn guards_of(&self, cond: ValueId) -> impl Iterator<Item = (ValueId, Axis)> {
        let mut out = Vec::new();
        self.guards(cond, &mut out);
        out.into_iter()
    }

    fn guards(&self, cond: ValueId, out: &mut Vec<(ValueId, Axis)>) {
        match self.defs.get(&cond) {
            Some(Def::Lt(v, e)) => {
                if let Some(axis) = self.extent(*e) {
                    out.push((*v, axis));
                }
            }
            Some(Def::And(a, b)) => {
                self.guards(*a, out);
                self.guards(*b, out);
            }
            _ => {}
        }
    }
}

fn collect(
    f: &Function,
    block: &Block,
    defs: &mut HashMap<ValueId, Def>,
    writes: &mut HashMap<LocalId, Vec<ValueId>>,
) {
    for inst in &block.insts {
        let def = match &inst.kind {
            InstKind::ArrayLen { array, axis } if matches!(f.local(*array).ty, Type::Array(_)) => {
                Some(Def::Extent((*array, *axis)))
            }
            InstKind::GetLocal(l) => Some(Def::Read(*l)),
            InstKind::Const(ScalarValue::Usize(0)) => Some(Def::Zero),
            InstKind::Cmp(CmpOp::Lt, v, e) => Some(Def::Lt(*v, *e)),
            InstKind::Cmp(CmpOp::Gt, e, v) => Some(Def::Lt(*v, *e)),
            InstKind::Cmp(CmpOp::Eq, a, b) => Some(Def::Eq(*a, *b)),
            InstKind::Cmp(CmpOp::Le, a, b) => Some(Def::Le(*a, *b)),
            InstKind::Cmp(CmpOp::Ge, a, b) => Some(Def::Le(*b, *a)),
            InstKind::Binary(BinaryOp::And, a, b) if f.value_type(*a) == ScalarType::Bool => {
                Some(Def::And(*a, *b))
            }
            InstKind::SetLocal(l, v) => {
                writes.entry(*l).or_default().push(*v);
                None
            }
            _ => None,
        };
        if let (Some(result), Some(def)) = (inst.result, def) {
            defs.insert(result, def);
        }
        match &inst.kind {
            InstKind::If {
                then_block,
                else_block,
                ..
            } => {
                collect(f, then_block, defs, writes);
                collect(f, else_block, defs, writes);
            }
            InstKind::Loop {
                header,
                body,
                latch,
                ..
            } => {
                for b in [header, body, latch] {
                    collect(f, b, defs, writes);
                }
            }
            _ => {}
        }
    }
}

/// What is proven below an extent: an SSA value, or every read of a local (in a
/// region that does not write it).
#[derive(Clone, Copy, PartialEq)]
enum Index {
    Value(ValueId),
    Local(LocalId),
}

/// The facts in force at a point of a function: indices proven below extents and
/// extents asserted no larger than others.
#[derive(Default)]
struct Scope {
    proven: Vec<(Index, Axis)>,
    /// `(a, b)`: the extent of `a` is at most that of `b`.
    at_most: Vec<(Axis, Axis)>,
}

impl Scope {
    /// Whether the extent of `a` is at most that of `b` (by the assertions).
    fn at_most(&self, a: Axis, b: Axis) -> bool {
        let mut below = vec![a];
        let mut next = 0;
        while next < below.len() {
            let x = below[next];
            next += 1;
            for &(p, q) in &self.at_most {
                if p == x && !below.contains(&q) {
                    below.push(q);
                }
            }
        }
        below.contains(&b)
    }

    /// Whether `index` is proven below the extent of `axis`.
    fn proves(&self, index: Index, axis: Axis) -> bool {
        self.proven
            .iter()
            .any(|&(i, a)| i == index && self.at_most(a, axis))
    }
}

/// Unchecks the accesses of `block` that the facts of `scope` cover, adding the
/// guards of nested blocks as it enters them and the equalities its assertions
/// state for the rest of the block.
fn walk(facts: &Facts, block: &mut Block, scope: &mut Scope) {
    let assertions = scope.at_most.len();
    for inst in &mut block.insts {
        match &mut inst.kind {
            InstKind::Load {
                array,
                indices,
                checked,
            }
            | InstKind::Store {
                array,
                indices,
                checked,
                ..
            } if *checked && facts.covered(scope, *array, indices) => {
                *checked = false;
            }
            InstKind::Assert { cond, .. } => {
                let (both, (a, b)) = match facts.defs.get(cond) {
                    Some(Def::Eq(a, b)) => (true, (a, b)),
                    Some(Def::Le(a, b)) => (false, (a, b)),
                    _ => continue,
                };
                if let (Some(Def::Extent(a)), Some(Def::Extent(b))) =
                    (facts.defs.get(a), facts.defs.get(b))
                {
                    scope.at_most.push((*a, *b));
                    if both {
                        scope.at_most.push((*b, *a));
                    }
                }
            }
            InstKind::If {
                cond,
                then_block,
                else_block,
            } => {
                let depth = scope.proven.len();
                let guards = facts.guards_of(*cond).map(|(v, a)| (Index::Value(v), a));
                scope.proven.extend(guards);
                walk(facts, then_block, scope);
                scope.proven.truncate(depth);
                walk(facts, else_block, scope);
            }
            InstKind::Loop {
                header,
                cond,
                body,
                latch,
                ..
            } => {
                walk(facts, header, scope);
                let depth = scope.proven.len();
                let guards: Vec<(ValueId, Axis)> = cond
                    .map(|c| facts.guards_of(c))
                    .into_iter()
                    .flatten()
                    .collect();
                scope
                    .proven
                    .extend(guards.iter().map(|&(v, a)| (Index::Value(v), a)));
                // A local the header read and tested, which neither the header nor
                // the body writes (a `for` loop's variable: only its latch steps
                // it), holds the tested value wherever the body reads it. (Scanned
                // only for a loop with guards: an inlined call's one-shot loop has
                // none, and scanning every nested loop's body would be quadratic.)
                let mut stable_reads: Vec<(Index, Axis)> = Vec::new();
                if !guards.is_empty() {
                    let mut read_in_header = HashSet::default();
                    let mut written = HashSet::default();
                    super::licm::scan(header, &mut read_in_header, &mut written);
                    super::licm::scan(body, &mut HashSet::default(), &mut written);
                    stable_reads.extend(guards.iter().filter_map(
                        |&(v, a)| match facts.defs.get(&v) {
                            Some(Def::Read(l))
                                if read_in_header.contains(&v) && !written.contains(l) =>
                            {
                                Some((Index::Local(*l), a))
                            }
                            _ => None,
                        },
                    ));
                }
                let values = scope.proven.len();
                scope.proven.extend(stable_reads);
                walk(facts, body, scope);
                scope.proven.truncate(values);
                walk(facts, latch, scope);
                scope.proven.truncate(depth);
            }
            _ => {}
        }
    }
    scope.at_most.truncate(assertions);
}

#[cfg(all(test, feature = "cranelift"))]
mod tests {
    use super::*;
    use crate::passes::tests::lowered;
    use crate::test_support::array_arg;

    /// `f`'s accesses in execution order (see [`crate::test_support::accesses`]).
    fn accesses(program: &Program) -> Vec<String> {
        crate::test_support::accesses(program, program.find("f").unwrap())
    }

    /// `f(x, z, n)` of `src` as lowered and after this pass (which must verify),
    /// run on the same arguments for several `n`: results, traps (with their
    /// spans) and what `f` wrote must agree, and so must the machine code of the
    /// fully optimised program. Returns the pass's program.
    fn same_results(src: &str) -> Program {
        let program = lowered(src);
        let mut done = program.clone();
        eliminate_program(&mut done);
        assert!(crate::ir::verify::verify_program(&done).is_ok());
        let mut optimized = program.clone();
        crate::passes::optimize(&mut optimized);
        for n in [0, 2, 5, 6, 9] {
            let expected = run(&program, n, false);
            assert_eq!(expected, run(&done, n, false), "n = {n}");
            assert_eq!(expected, run(&optimized, n, true), "n = {n}, compiled");
        }
        done
    }

    /// `f(x, z, n)` with `x` 5 elements at stride 2 and `z` 2×3, interpreted or
    /// compiled: its result (or trap and span) and `x` afterwards.
    fn run(
        program: &Program,
        n: u64,
        compiled: bool,
    ) -> (Result<Option<ScalarValue>, Trap>, Vec<f64>) {
        let mut x: Vec<f64> = (0..10).map(|i| i as f64 * 0.5 - 1.0).collect();
        let mut z: Vec<f64> = (0..6).map(|i| i as f64 + 0.25).collect();
        let args = [
            array_arg(&mut x, &[5], &[2]),
            array_arg(&mut z, &[2, 3], &[3, 1]),
            HostArg::Scalar(ScalarValue::Usize(n)),
        ];
        let f = program.find("f").unwrap();
        // Safety: the descriptors cover `x` and `z`, which outlive the call.
        let r = unsafe { crate::test_support::call(program, f, &args, compiled) };
        (r, x)
    }

    #[test]
    fn an_index_below_its_own_extent_is_unchecked() {
        let done = same_results(
            "fn f(x: &mut [f64], z: &[[f64; C]; R], n: usize) -> f64 {
                let mut s = 0.0;
                for i in 0..x.len() { s += x[i]; x[i] = s; }
                let m = x.len();
                for i in 0..m { if i < n { s += x[i] * 2.0; } }
                for i in 0..R { for j in 0..C { s += z[i][j]; } }
                for i in 0..x.len() { if i < C { s += z[1][i]; } }
                s
            }",
        );
        assert_eq!(
            accesses(&done),
            [
                "load.unchecked",
                "store.unchecked",
                "load.unchecked",
                "load.unchecked",
                "load"
            ],
            "`for` over an extent, directly or through a `let`, a nest over both \
             axes; a constant index is not an induction value"
        );
    }

    #[test]
    fn checks_that_could_fire_stay() {
        let done = same_results(
            "fn f(x: &mut [f64], z: &[[f64; C]; R], n: usize) -> f64 {
                let mut s = 0.0;
                for i in 0..x.len() { if i < n { s += x[i + 1]; } }
                for i in 0..n { s += x[i]; }
                for i in 0..=x.len() { if i < n { s += x[i]; } }
                let mut m = x.len();
                m += 1;
                for i in 0..m { if i < n { s += x[i]; } }
                for i in 0..x.len() { if i < n { s += z[0][i]; } }
                for i in 0..R { for j in 0..C { s += z[j][i]; } }
                let mut i = 0;
                while i < x.len() { s += x[i]; i += 1; }
                s
            }",
        );
        assert!(
            accesses(&done).iter().all(|a| a == "load"),
            "index + 1, a bound that is not an extent, an inclusive range, a \
             bound written with something else, another array's extent, the \
             other axis, a `while` that re-reads its counter: {:?}",
            accesses(&done)
        );
    }

    /// A loop whose condition tests a read made before the loop proves nothing
    /// about the reads of that local in its body once the latch has stepped it.
    #[test]
    fn a_read_tested_outside_the_loop_is_no_proof_for_later_reads() {
        use crate::ir::build::FunctionBuilder;
        let mut b = FunctionBuilder::new("f", Some(ScalarType::F64), Default::default());
        let x = b.param(
            "x",
            Type::Array(ArrayType {
                elem: ScalarType::F64,
                rank: 1,
                mutable: false,
            }),
        );
        let c = b.local("c", Type::Scalar(ScalarType::Usize));
        let sum = b.local("s", Type::Scalar(ScalarType::F64));
        let before = b.get(c);
        let extent = b.array_len(x, 0);
        let cond = b.cmp(CmpOp::Lt, before, extent);
        b.begin_block();
        let header = b.end_block();
        b.begin_block();
        let now = b.get(c);
        let element = b.load(x, vec![now], true, ScalarType::F64);
        b.set(sum, element);
        let body = b.end_block();
        b.begin_block();
        b.increment(c, ScalarValue::Usize(1));
        let latch = b.end_block();
        b.plain_loop(header, Some(cond), body, latch);
        let zero = b.constant(ScalarValue::F64(0.0));
        b.inst(InstKind::Return(Some(zero)));
        let mut f = b.finish();
        eliminate_checks(&mut f);
        let InstKind::Loop { body, .. } = &f.body.insts[3].kind else {
            panic!("{:?}", f.body.insts[3]);
        };
        assert!(
            matches!(body.insts[1].kind, InstKind::Load { checked: true, .. }),
            "the latch steps `c`: from the second iteration on, `x[c]` is past `c < len`"
        );
    }
}
