//! Lowering: checked function bodies → kern IR.
//!
//! [`Lowering`] owns the growing `Program`. Functions are lowered on demand: asking
//! for an instance (a function with concrete generic arguments) reserves its
//! `FuncId` and queues it; `run` checks and lowers queued instances until none are
//! left, so only what the roots reach is ever lowered (the stdlib is not paid for
//! wholesale). Constants are evaluated at compile time by lowering their
//! initializer and running it in the interpreter. This module reads the checker's
//! side tables; it never infers types itself.

mod body;

use crate::collections::{HashMap, HashSet};

use crate::diagnostics::Diagnostic;
use crate::interp::Interpreter;
use crate::ir::build::FunctionBuilder;
use crate::ir::{ConstTable, ConstTableId, FuncId, Function, FunctionKind, Program};
use crate::scalar::{ScalarType, ScalarValue};
use crate::syntax::ast::{AttrArg, ExprKind, FnDecl, LitKind, TypeExprKind};
use crate::types::check::FnChecker;
use crate::types::env::{ConstKey, Env, FnKey};
use crate::types::infer::Ty;

pub struct Lowering<'e, 'a> {
    pub env: &'e Env<'a>,
    functions: Vec<Option<Function>>,
    instances: HashMap<(FnKey, Vec<ScalarType>), FuncId>,
    worklist: Vec<(FuncId, FnKey, Vec<ScalarType>)>,
    const_values: HashMap<(ConstKey, ScalarType), ScalarValue>,
    consts_in_progress: HashSet<ConstKey>,
    const_tables: HashMap<ConstKey, ConstTableId>,
    tables: Vec<ConstTable>,
    pub errors: Vec<Diagnostic>,
}

impl<'e, 'a> Lowering<'e, 'a> {
    pub fn new(env: &'e Env<'a>) -> Lowering<'e, 'a> {
        Lowering {
            env,
            functions: Vec::new(),
            instances: HashMap::default(),
            worklist: Vec::new(),
            const_values: HashMap::default(),
            consts_in_progress: HashSet::default(),
            const_tables: HashMap::default(),
            tables: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// The `FuncId` of an instance, queueing it for lowering the first time.
    pub fn request(&mut self, key: FnKey, type_args: Vec<ScalarType>) -> FuncId {
        if let Some(id) = self.instances.get(&(key, type_args.clone())) {
            return *id;
        }
        let id = FuncId(self.functions.len() as u32);
        self.functions.push(None);
        self.instances.insert((key, type_args.clone()), id);
        self.worklist.push((id, key, type_args));
        id
    }

    /// Checks and lowers every queued instance (and what they reach).
    pub fn run(&mut self) {
        while let Some((id, key, type_args)) = self.worklist.pop() {
            let function = self.lower_instance(key, &type_args);
            self.functions[id.0 as usize] = Some(function);
        }
    }

    /// Checks a function without lowering it (for generic functions nobody calls).
    pub fn check_only(&mut self, key: FnKey, type_args: &[ScalarType]) {
        let entry = self.env.function(key);
        let generics = generic_map(entry.decl, type_args);
        let checker = FnChecker::new(self.env, entry.namespace, generics);
        let (_, errors) = checker.check_function(entry.decl);
        self.push_errors(errors);
    }

    /// The finished program. Instances that failed to check become empty stubs,
    /// but `errors` is non-empty then and the program must not be run.
    pub fn into_program(self) -> Program {
        Program {
            functions: self
                .functions
                .into_iter()
                .map(|f| {
                    f.unwrap_or_else(|| {
                        FunctionBuilder::new("<missing>", None, Default::default()).finish()
                    })
                })
                .collect(),
            const_tables: self.tables,
        }
    }

    fn push_errors(&mut self, errors: Vec<Diagnostic>) {
        for e in errors {
            if !self.errors.contains(&e) {
                self.errors.push(e);
            }
        }
    }

    fn lower_instance(&mut self, key: FnKey, type_args: &[ScalarType]) -> Function {
        let entry = self.env.function(key);
        let decl = entry.decl;
        let generics = generic_map(decl, type_args);
        let checker = FnChecker::new(self.env, entry.namespace, generics);
        let (typed, errors) = checker.check_function(decl);
        let failed = !errors.is_empty();
        self.push_errors(errors);
        let name = if type_args.is_empty() {
            decl.name.name.clone()
        } else {
            let args: Vec<&str> = type_args.iter().map(|t| t.name()).collect();
            format!("{}<{}>", decl.name.name, args.join(", "))
        };
        let ret = match typed.ret {
            Ty::Scalar(t) => Some(t),
            _ => None,
        };
        let mut builder = FunctionBuilder::new(name, ret, decl.span);
        builder.set_kind(function_kind(decl));
        if failed {
            return builder.finish();
        }
        body::lower_function(self, &typed, decl, builder)
    }

    /// Evaluates constant `key` at its declared type, so that its errors show even
    /// when nothing uses it (as rustc reports them).
    pub fn check_constant(&mut self, key: ConstKey) {
        let decl = self.env.constant(key).decl;
        match &decl.ty.kind {
            TypeExprKind::Array { .. } => {
                self.const_table(key);
                return;
            }
            TypeExprKind::Named(n) => {
                if let Some(ty) = ScalarType::from_name(&n.name) {
                    self.const_value(key, ty);
                    return;
                }
            }
            _ => {}
        }
        self.errors.push(
            Diagnostic::error(decl.ty.span, "unsupported constant type")
                .with_label("a constant is a scalar or a table `[T; N]` of scalars"),
        );
    }

    /// The value of scalar constant `key` as type `ty`, evaluated at compile time.
    pub fn const_value(&mut self, key: ConstKey, ty: ScalarType) -> Option<ScalarValue> {
        if let Some(v) = self.const_values.get(&(key, ty)) {
            return Some(*v);
        }
        let entry = self.env.constant(key);
        if !self.consts_in_progress.insert(key) {
            self.errors.push(Diagnostic::error(
                entry.decl.name.span,
                format!(
                    "cycle detected when evaluating constant `{}`",
                    entry.decl.name.name
                ),
            ));
            return None;
        }
        let value = self.evaluate(entry.namespace, &entry.decl.value, ty);
        self.consts_in_progress.remove(&key);
        if let Some(v) = value {
            self.const_values.insert((key, ty), v);
        }
        value
    }

    /// The table of array constant `key`, built on first use.
    pub fn const_table(&mut self, key: ConstKey) -> Option<ConstTableId> {
        if let Some(id) = self.const_tables.get(&key) {
            return Some(*id);
        }
        let entry = self.env.constant(key);
        let decl = entry.decl;
        let TypeExprKind::Array { elem, len } = &decl.ty.kind else {
            return None;
        };
        let elem_ty = match &elem.kind {
            TypeExprKind::Named(n) => ScalarType::from_name(&n.name),
            _ => None,
        };
        let Some(elem_ty) = elem_ty else {
            self.errors
                .push(Diagnostic::error(elem.span, "constant tables hold scalars"));
            return None;
        };
        let declared_len = match len {
            crate::syntax::ast::ArrayLen::Literal(n, _) => *n as usize,
            crate::syntax::ast::ArrayLen::Named(n) => {
                self.errors.push(Diagnostic::error(
                    n.span,
                    "the length of a constant table must be a number",
                ));
                return None;
            }
        };
        // A repeated value is evaluated once; the table is allocated fallibly,
        // so a length memory cannot hold is a diagnostic, not an abort.
        let table_buffer = |this: &mut Self, n: usize| -> Option<Vec<ScalarValue>> {
            let mut values = Vec::new();
            if values.try_reserve_exact(n).is_err() {
                let bytes = n as u128 * elem_ty.size_bytes() as u128;
                this.errors.push(
                    Diagnostic::error(decl.value.span, "constant table too large").with_label(
                        format!(
                            "a table of {} ({bytes} bytes of {elem_ty}) is more than memory allows",
                            elements(n)
                        ),
                    ),
                );
                return None;
            }
            Some(values)
        };
        let values = match &decl.value.kind {
            ExprKind::ArrayLit(items) => {
                if items.len() != declared_len {
                    self.errors.push(
                        Diagnostic::error(decl.value.span, "mismatched types").with_label(format!(
                            "expected an array of {}, found one of {}",
                            elements(declared_len),
                            elements(items.len())
                        )),
                    );
                    return None;
                }
                let mut values = table_buffer(self, items.len())?;
                for item in items {
                    values.push(self.evaluate(entry.namespace, item, elem_ty)?);
                }
                values
            }
            ExprKind::ArrayRepeat { value, count } => {
                // The count is a constant expression of type usize, as in Rust.
                let n = match self.evaluate(entry.namespace, count, ScalarType::Usize)? {
                    ScalarValue::Usize(n) => n as usize,
                    _ => return None,
                };
                if n != declared_len {
                    self.errors.push(
                        Diagnostic::error(count.span, "mismatched types").with_label(format!(
                            "expected an array of {}, found one of {}",
                            elements(declared_len),
                            elements(n)
                        )),
                    );
                    return None;
                }
                let value = self.evaluate(entry.namespace, value, elem_ty)?;
                let mut values = table_buffer(self, n)?;
                values.resize(n, value);
                values
            }
            _ => {
                self.errors.push(Diagnostic::error(
                    decl.value.span,
                    "expected an array literal `[a, b, ...]`",
                ));
                return None;
            }
        };
        let id = ConstTableId(self.tables.len() as u32);
        self.tables.push(ConstTable {
            name: decl.name.name.clone(),
            elem: elem_ty,
            values,
        });
        self.const_tables.insert(key, id);
        Some(id)
    }

    /// Evaluates a constant expression of type `ty` by lowering it and interpreting.
    fn evaluate(
        &mut self,
        namespace: crate::types::env::Namespace,
        expr: &crate::syntax::ast::Expr,
        ty: ScalarType,
    ) -> Option<ScalarValue> {
        let checker = FnChecker::new(self.env, namespace, HashMap::default());
        let (typed, errors) = checker.check_const_expr(expr, Ty::Scalar(ty));
        if !errors.is_empty() {
            self.push_errors(errors);
            return None;
        }
        let builder = FunctionBuilder::new("<const>", Some(ty), expr.span);
        let function = body::lower_const_expr(self, &typed, expr, builder)?;
        if !function.callees().is_empty() {
            self.errors.push(Diagnostic::error(
                expr.span,
                "function calls are not allowed in constants",
            ));
            return None;
        }
        let program = Program {
            functions: vec![function],
            const_tables: self.tables.clone(),
        };
        let result = Interpreter::new(&program).call_scalars(FuncId(0), &[], &mut std::io::sink());
        match result {
            Ok(Some(v)) => Some(v),
            Ok(None) => None,
            Err(trap) => {
                self.errors.push(Diagnostic::error(
                    trap.span,
                    format!("evaluation of constant failed: {}", trap.kind),
                ));
                None
            }
        }
    }
}

fn elements(n: usize) -> String {
    match n {
        1 => "1 element".to_string(),
        n => format!("{n} elements"),
    }
}

fn generic_map(decl: &FnDecl, type_args: &[ScalarType]) -> HashMap<String, ScalarType> {
    decl.generics
        .iter()
        .zip(type_args)
        .map(|(g, t)| (g.name.name.clone(), *t))
        .collect()
}

/// The IR function kind named by a declaration's attributes.
pub fn function_kind(decl: &FnDecl) -> FunctionKind {
    let target = |attr: &crate::syntax::ast::Attribute| {
        attr.args.iter().find_map(|a| match a {
            AttrArg::KeyValue { key, value } if key.name == "target" => match &value.kind {
                LitKind::Str(s) => Some(s.clone()),
                _ => None,
            },
            _ => None,
        })
    };
    if decl.name.name == "main" && decl.attrs.is_empty() {
        return FunctionKind::Main;
    }
    for attr in &decl.attrs {
        match attr.name.name.as_str() {
            "vectorize" => {
                return FunctionKind::Ufunc {
                    target: target(attr),
                }
            }
            "guvectorize" => {
                // The attribute's signature, or the one derived from the types.
                let signature = crate::kernel_decl::GufuncDecl::of(decl)
                    .map(|g| g.signature_text)
                    .unwrap_or_default();
                return FunctionKind::Gufunc {
                    signature,
                    target: target(attr),
                };
            }
            "kernel" => {
                return FunctionKind::Kernel {
                    target: target(attr),
                }
            }
            _ => {}
        }
    }
    FunctionKind::Plain
}
