//! The IR verifier: checks the invariants of the `ir` module docs.
//!
//! Every value defined once and used only in scope, operand types that fit each
//! operation, `Break`/`Continue` only inside loops, nothing after a terminator,
//! calls that match their callee's signature. The front end runs it in debug builds
//! and the tests run it on everything they lower.

use crate::collections::{HashMap, HashSet};

use super::*;

pub fn verify_program(program: &Program) -> Result<(), Vec<String>> {
    let mut errors = Vec::new();
    for f in &program.functions {
        if let Err(e) = verify_function(program, f) {
            errors.extend(e);
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Verifies the functions the unit of `root` is made of (`root` and every
/// function it calls, transitively): what a backend compiles for it.
pub fn verify_unit(program: &Program, root: FuncId) -> Result<(), Vec<String>> {
    if program.functions.get(root.0 as usize).is_none() {
        return Err(vec![format!("no function with id {}", root.0)]);
    }
    let unit = super::call_graph::unit_of(program, root).map_err(|(caller, callee)| {
        vec![format!(
            "`{}` calls function id {}, which is not in the program",
            program.function(caller).name,
            callee.0
        )]
    })?;
    let errors: Vec<String> = unit
        .iter()
        .filter_map(|&id| verify_function(program, program.function(id)).err())
        .flatten()
        .collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

pub fn verify_function(program: &Program, f: &Function) -> Result<(), Vec<String>> {
    let mut v = Verifier {
        program,
        f,
        defined: HashSet::default(),
        scopes: vec![Vec::new()],
        visible: HashSet::default(),
        errors: Vec::new(),
    };
    v.block(&f.body, 0);
    v.errors.extend(check_fixed_strides(f));
    if f.kind != FunctionKind::Main {
        for (i, local) in f.locals.iter().enumerate() {
            if let Type::HostArray(_) = local.ty {
                v.errors.push(format!(
                    "in `{}`: host-array local l{i} outside of `main`",
                    f.name
                ));
            }
        }
    }
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

struct Verifier<'a> {
    program: &'a Program,
    f: &'a Function,
    defined: HashSet<ValueId>,
    /// Values defined in each open block, innermost last.
    scopes: Vec<Vec<ValueId>>,
    /// Every value of `scopes`: the values visible at this point.
    visible: HashSet<ValueId>,
    errors: Vec<String>,
}

/// A [`CountedLoop`] has the shape it declares: a `usize` counter whose `get` is the
/// header's first instruction, and a latch that sets the counter to the induction
/// value plus a `usize` constant defined in the latch.
fn check_counted(
    f: &Function,
    counted: &CountedLoop,
    header: &Block,
    latch: &Block,
) -> Result<(), String> {
    let counter = counted.counter;
    if f.locals.get(counter.0 as usize).map(|l| l.ty) != Some(Type::Scalar(ScalarType::Usize)) {
        return Err(format!("counted loop: l{} is not a usize local", counter.0));
    }
    match header.insts.first() {
        Some(Inst {
            kind: InstKind::GetLocal(l),
            result: Some(r),
            ..
        }) if *l == counter && *r == counted.induction => {}
        _ => {
            return Err(format!(
                "counted loop: the header does not start with v{} = get l{}",
                counted.induction.0, counter.0
            ))
        }
    }
    let defined = |v: ValueId| latch.insts.iter().find(|i| i.result == Some(v));
    let steps = latch.insts.iter().any(|inst| match inst.kind {
        InstKind::SetLocal(l, next) if l == counter => matches!(
            defined(next).map(|i| &i.kind),
            Some(InstKind::Binary(BinaryOp::Add, a, s))
                if *a == counted.induction && *s == counted.step
        ),
        _ => false,
    });
    let step_is_constant = matches!(
        defined(counted.step).map(|i| &i.kind),
        Some(InstKind::Const(ScalarValue::Usize(_)))
    );
    if !(steps && step_is_constant) {
        return Err(format!(
            "counted loop: the latch does not set l{} = v{} + v{} (a usize constant)",
            counter.0, counted.induction.0, counted.step.0
        ));
    }
    Ok(())
}

/// Every [`FixedStride`] of `f` is of an array parameter's axis and is asserted
/// by the body's opening instructions: before the first one that is not a
/// constant, an extent or stride read, a comparison or an assertion (before any
/// access, call or control flow), an `assert(stride == constant)` states it.
fn check_fixed_strides(f: &Function) -> Vec<String> {
    if f.fixed_strides.is_empty() {
        return Vec::new();
    }
    let opening = f.body.insts.iter().take_while(|i| {
        matches!(
            i.kind,
            InstKind::Const(_)
                | InstKind::ArrayLen { .. }
                | InstKind::ArrayStride { .. }
                | InstKind::Cmp(..)
                | InstKind::Assert { .. }
        )
    });
    let defs: HashMap<ValueId, &InstKind> = opening
        .clone()
        .filter_map(|i| Some((i.result?, &i.kind)))
        .collect();
    let asserted: Vec<FixedStride> = opening
        .filter_map(|i| match i.kind {
            InstKind::Assert { cond, .. } => match defs.get(&cond)? {
                InstKind::Cmp(CmpOp::Eq, x, y) => match (defs.get(x)?, defs.get(y)?) {
                    (
                        InstKind::ArrayStride { array, axis },
                        InstKind::Const(ScalarValue::Isize(stride)),
                    ) => Some(FixedStride {
                        array: *array,
                        axis: *axis,
                        stride: *stride,
                    }),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        })
        .collect();
    let mut errors = Vec::new();
    for fixed in &f.fixed_strides {
        let param = f.params.iter().any(|p| p.local == fixed.array);
        let rank = match f.locals.get(fixed.array.0 as usize).map(|l| l.ty) {
            Some(Type::Array(a)) => a.rank,
            _ => 0,
        };
        if !param || fixed.axis >= rank {
            errors.push(format!(
                "in `{}`: fixed stride of l{}, axis {}, which is no array parameter's axis",
                f.name, fixed.array.0, fixed.axis
            ));
        } else if !asserted.contains(fixed) {
            errors.push(format!(
                "in `{}`: fixed stride {} of l{}, axis {}, not asserted on entry",
                f.name, fixed.stride, fixed.array.0, fixed.axis
            ));
        }
    }
    errors
}

impl Verifier<'_> {
    /// A print (`HostOp::Print` or `InstKind::Print`) has one argument per `{}`.
    fn print_args(&mut self, inst: &Inst, pieces: &[FormatPiece], args: usize) {
        if FormatPiece::arg_count(pieces) != args {
            self.fail(inst, "Print argument count differs from its format".into());
        }
    }

    fn fail(&mut self, inst: &Inst, msg: String) {
        self.errors.push(format!(
            "in `{}`: {msg} (at {:?})",
            self.f.name,
            inst.kind_name()
        ));
    }

    fn visible(&self, v: ValueId) -> bool {
        self.visible.contains(&v)
    }

    /// Ends the innermost open block: its values go out of sight.
    fn close_scope(&mut self) {
        for v in self.scopes.pop().into_iter().flatten() {
            self.visible.remove(&v);
        }
    }

    fn ty(&self, v: ValueId) -> Option<ScalarType> {
        self.f.value_types.get(v.0 as usize).copied()
    }

    fn block(&mut self, block: &Block, loop_depth: usize) {
        self.scopes.push(Vec::new());
        self.insts(block, loop_depth);
        self.close_scope();
    }

    fn insts(&mut self, block: &Block, loop_depth: usize) {
        let mut terminated = false;
        for inst in &block.insts {
            if terminated {
                self.fail(inst, "instruction after a terminator".into());
            }
            self.inst(inst, loop_depth);
            terminated = matches!(
                inst.kind,
                InstKind::Break | InstKind::Continue | InstKind::Return(_)
            );
        }
    }

    fn uses(&mut self, inst: &Inst, values: &[ValueId]) {
        for v in values {
            if self.ty(*v).is_none() {
                self.fail(inst, format!("v{} has no type", v.0));
            } else if !self.visible(*v) {
                self.fail(
                    inst,
                    format!("v{} used out of scope or before its definition", v.0),
                );
            }
        }
    }

    fn expect(&mut self, inst: &Inst, v: ValueId, t: ScalarType, what: &str) {
        if self.ty(v) != Some(t) {
            self.fail(inst, format!("{what} must be {t}, is {:?}", self.ty(v)));
        }
    }

    fn inst(&mut self, inst: &Inst, loop_depth: usize) {
        let f = self.f;
        let local_ty = |l: LocalId| f.locals.get(l.0 as usize).map(|l| l.ty);
        match &inst.kind {
            InstKind::Const(_) | InstKind::Break | InstKind::Continue => {}
            InstKind::GetLocal(l) => {
                if !matches!(local_ty(*l), Some(Type::Scalar(_))) {
                    self.fail(inst, format!("GetLocal of non-scalar local l{}", l.0));
                }
            }
            InstKind::SetLocal(l, v) => {
                self.uses(inst, &[*v]);
                if local_ty(*l) != self.ty(*v).map(Type::Scalar) {
                    self.fail(inst, format!("SetLocal type mismatch on l{}", l.0));
                }
            }
            InstKind::Unary(_, a) | InstKind::Cast(a, _) | InstKind::Bitcast(a, _) => {
                self.uses(inst, &[*a])
            }
            InstKind::Binary(op, a, b) => {
                self.uses(inst, &[*a, *b]);
                let shift = matches!(op, BinaryOp::Shl | BinaryOp::Shr);
                if !shift && self.ty(*a) != self.ty(*b) {
                    self.fail(inst, "binary operands of different types".into());
                }
                if *op == BinaryOp::Rem && self.ty(*a).is_some_and(|t| t.is_float()) {
                    self.fail(inst, "float Rem is not an IR operation".into());
                }
            }
            InstKind::Cmp(_, a, b) => {
                self.uses(inst, &[*a, *b]);
                if self.ty(*a) != self.ty(*b) {
                    self.fail(inst, "compared values of different types".into());
                }
            }
            InstKind::Select {
                cond,
                if_true,
                if_false,
            } => {
                self.uses(inst, &[*cond, *if_true, *if_false]);
                self.expect(inst, *cond, ScalarType::Bool, "Select condition");
            }
            InstKind::Intrinsic(i, args) => {
                self.uses(inst, args);
                if args.len() != i.arity() {
                    self.fail(inst, format!("{} takes {} operands", i.name(), i.arity()));
                }
            }
            InstKind::Call { callee, args } => {
                let Some(target) = self.program.functions.get(callee.0 as usize) else {
                    self.fail(inst, format!("call of unknown function {}", callee.0));
                    return;
                };
                let params = target.param_types();
                if params.len() != args.len() {
                    self.fail(
                        inst,
                        format!("call of `{}` with {} arguments", target.name, args.len()),
                    );
                }
                for (arg, param) in args.iter().zip(params) {
                    match (arg, param) {
                        (Arg::Value(v), Type::Scalar(t)) => {
                            self.uses(inst, &[*v]);
                            self.expect(inst, *v, t, "argument");
                        }
                        (Arg::Array(l), Type::Array(_)) => {
                            let host = f.kind == FunctionKind::Main
                                && matches!(local_ty(*l), Some(Type::HostArray(_)));
                            if !host && !matches!(local_ty(*l), Some(Type::Array(_))) {
                                self.fail(inst, "array argument is not an array local".into());
                            }
                        }
                        (Arg::SubView { array, index }, Type::Array(p)) => {
                            self.uses(inst, &[*index]);
                            self.expect(inst, *index, ScalarType::Usize, "sub-view index");
                            match local_ty(*array) {
                                Some(Type::Array(a))
                                    if a.elem == p.elem
                                        && a.rank == p.rank + 1
                                        && (a.mutable || !p.mutable) => {}
                                _ => self.fail(
                                    inst,
                                    format!(
                                        "sub-view of l{} does not fit a parameter of `{}` (element type, rank + 1, mutability)",
                                        array.0, target.name
                                    ),
                                ),
                            }
                        }
                        _ => self.fail(
                            inst,
                            format!("argument kind mismatch calling `{}`", target.name),
                        ),
                    }
                }
                if let Some(r) = inst.result {
                    if target.ret != self.ty(r) {
                        self.fail(inst, format!("result type of `{}` mismatch", target.name));
                    }
                }
            }
            InstKind::ArrayLen { array, .. } | InstKind::ArrayStride { array, .. } => {
                if !matches!(local_ty(*array), Some(Type::Array(_))) {
                    self.fail(inst, format!("{} of a non-array", inst.kind_name()));
                }
            }
            InstKind::Load { array, indices, .. } | InstKind::Store { array, indices, .. } => {
                self.uses(inst, indices);
                match local_ty(*array) {
                    Some(Type::Array(a)) => {
                        if indices.len() != a.rank as usize {
                            self.fail(inst, "index count differs from array rank".into());
                        }
                        if let InstKind::Store { value, .. } = &inst.kind {
                            self.uses(inst, &[*value]);
                            if !a.mutable {
                                self.fail(inst, "Store into an immutable array".into());
                            }
                            self.expect(inst, *value, a.elem, "stored value");
                        }
                    }
                    _ => self.fail(inst, "Load/Store on a non-array".into()),
                }
                for i in indices {
                    self.expect(inst, *i, ScalarType::Usize, "index");
                }
            }
            InstKind::LoadConst { table, index } => {
                self.uses(inst, &[*index]);
                self.expect(inst, *index, ScalarType::Usize, "table index");
                if self.program.const_tables.get(table.0 as usize).is_none() {
                    self.fail(inst, format!("unknown constant table t{}", table.0));
                }
            }
            InstKind::If {
                cond,
                then_block,
                else_block,
            } => {
                self.uses(inst, &[*cond]);
                self.expect(inst, *cond, ScalarType::Bool, "If condition");
                self.block(then_block, loop_depth);
                self.block(else_block, loop_depth);
            }
            InstKind::Loop {
                header,
                cond,
                body,
                latch,
                counted,
            } => {
                if let Some(counted) = counted {
                    if let Err(msg) = check_counted(f, counted, header, latch) {
                        self.fail(inst, msg);
                    }
                }
                self.scopes.push(Vec::new());
                for part in [header, latch] {
                    if contains_own_continue(part) {
                        self.fail(inst, "Continue in a loop's header or latch".into());
                    }
                }
                self.insts(header, loop_depth + 1);
                if let Some(c) = cond {
                    self.uses(inst, &[*c]);
                    self.expect(inst, *c, ScalarType::Bool, "Loop condition");
                }
                self.block(body, loop_depth + 1);
                self.block(latch, loop_depth + 1);
                self.close_scope();
            }
            InstKind::Return(v) => {
                if let Some(v) = v {
                    self.uses(inst, &[*v]);
                }
                if v.and_then(|v| self.ty(v)) != f.ret {
                    self.fail(
                        inst,
                        "Return does not match the function's return type".into(),
                    );
                }
            }
            InstKind::Assert { cond, .. } => {
                self.uses(inst, &[*cond]);
                self.expect(inst, *cond, ScalarType::Bool, "Assert condition");
            }
            InstKind::Host { op, args, dest } => {
                if f.kind != FunctionKind::Main {
                    self.fail(inst, "host instruction outside of `main`".into());
                }
                for arg in args {
                    match arg {
                        Arg::Value(v) => self.uses(inst, &[*v]),
                        Arg::Array(l) => {
                            if !matches!(local_ty(*l), Some(Type::HostArray(_))) {
                                self.fail(
                                    inst,
                                    format!("host array argument l{} is not a host array", l.0),
                                );
                            }
                        }
                        Arg::SubView { .. } => {
                            self.fail(inst, "a host instruction takes no sub-views".into())
                        }
                    }
                }
                if let Some(d) = dest {
                    if !matches!(local_ty(*d), Some(Type::HostArray(_))) {
                        self.fail(
                            inst,
                            format!("host destination l{} is not a host array", d.0),
                        );
                    }
                }
                if let HostOp::Print { pieces, .. } = op {
                    self.print_args(inst, pieces, args.len());
                }
            }
            InstKind::Spmd(s) => {
                self.uses(inst, &s.values());
                let result = inst.result.and_then(|r| self.ty(r));
                let values: Vec<Option<ScalarType>> =
                    s.values().iter().map(|v| self.ty(*v)).collect();
                if let Err(message) = super::spmd_verify::check(f, s, result, &values) {
                    self.fail(inst, message);
                }
            }
            InstKind::Print { pieces, args, .. } => {
                self.uses(inst, args);
                self.print_args(inst, pieces, args.len());
            }
        }
        if matches!(inst.kind, InstKind::Break | InstKind::Continue) && loop_depth == 0 {
            self.fail(inst, "Break/Continue outside of a loop".into());
        }
        if let Some(r) = inst.result {
            if !self.defined.insert(r) {
                self.fail(inst, format!("v{} defined twice", r.0));
            }
            if let Some(scope) = self.scopes.last_mut() {
                scope.push(r);
                self.visible.insert(r);
            }
        }
    }
}

/// Whether `block` contains a `Continue` that targets the loop owning it (one not
/// nested in an inner loop).
pub(crate) fn contains_own_continue(block: &Block) -> bool {
    block.insts.iter().any(|inst| match &inst.kind {
        InstKind::Continue => true,
        // A loop's own `continue`s target that loop.
        InstKind::Loop { .. } => false,
        other => other.blocks().any(contains_own_continue),
    })
}

impl Inst {
    /// A short name of the instruction's kind, for messages.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            InstKind::Const(_) => "const",
            InstKind::GetLocal(_) => "get",
            InstKind::SetLocal(..) => "set",
            InstKind::Unary(..) => "unary",
            InstKind::Binary(..) => "binary",
            InstKind::Cmp(..) => "cmp",
            InstKind::Cast(..) => "cast",
            InstKind::Bitcast(..) => "bitcast",
            InstKind::Select { .. } => "select",
            InstKind::Intrinsic(..) => "intrinsic",
            InstKind::Call { .. } => "call",
            InstKind::ArrayLen { .. } => "len",
            InstKind::ArrayStride { .. } => "stride",
            InstKind::Load { .. } => "load",
            InstKind::Store { .. } => "store",
            InstKind::LoadConst { .. } => "load.const",
            InstKind::If { .. } => "if",
            InstKind::Loop { .. } => "loop",
            InstKind::Break => "break",
            InstKind::Continue => "continue",
            InstKind::Return(_) => "return",
            InstKind::Assert { .. } => "assert",
            InstKind::Print { .. } => "print",
            InstKind::Host { .. } => "host",
            InstKind::Spmd(_) => "spmd",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{verify_program, verify_unit};
    use crate::ir::{FuncId, InstKind};

    /// Breaks `name`'s body: its first instruction uses a value never defined.
    fn broken(program: &mut crate::ir::Program, name: &str) {
        let f = program.find(name).unwrap();
        let body = &mut program.functions[f.0 as usize].body;
        let undefined = crate::ir::ValueId(u32::MAX);
        body.insts.insert(
            0,
            crate::ir::Inst {
                result: None,
                kind: InstKind::Return(Some(undefined)),
                span: Default::default(),
            },
        );
    }

    #[test]
    fn a_unit_is_its_root_and_every_function_it_calls() {
        let src = "fn leaf(x: f64) -> f64 { x * 2.0 }\n\
                   fn root(x: f64) -> f64 { leaf(x) + 1.0 }\n\
                   fn other(x: f64) -> f64 { x }";
        // Not inlined: the unit really has two functions.
        let mut program = crate::frontend::compile_text_unoptimized("t.kern", src)
            .unwrap()
            .0
            .program;
        let root = program.find("root").unwrap();
        assert!(verify_unit(&program, root).is_ok());
        broken(&mut program, "other");
        assert!(verify_program(&program).is_err());
        assert!(
            verify_unit(&program, root).is_ok(),
            "`other` is not in the unit"
        );
        broken(&mut program, "leaf");
        let errors = verify_unit(&program, root).unwrap_err();
        assert!(!errors.is_empty());
        assert!(verify_unit(&program, FuncId(u32::MAX)).is_err());
    }
}
