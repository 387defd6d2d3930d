//! Checking explicit SPMD kernels: the builtins only a `#[kernel]` body may use
//! (`thread_idx()`, `block_idx()`, `block_dim()`, `grid_dim()`, `global_id()` and
//! their `_y`/`_z` forms, `sync_threads()`, `atomic_*(&mut a, i, ..)`), the rule
//! that a kernel is launched and never called, and the launch itself in host code:
//! `k.launch(grid, block, args..)`. What these mean is specified in `ir::spmd`;
//! this module only checks and records resolutions for lowering.

use super::*;
use crate::ir::spmd::{atomic_element_type, AtomicOp, Axis, SpmdIndex};

/// What an SPMD builtin or a launch is, for lowering.
#[derive(Clone, Debug, PartialEq)]
pub enum SpmdResolution {
    /// `thread_idx()`, `block_dim_y()`, ...
    Index(SpmdIndex, Axis),
    /// `global_id()` / `_y` / `_z`: `block_idx * block_dim + thread_idx`.
    GlobalId(Axis),
    SyncThreads,
    /// `atomic_add(&mut a, i, v)`, ...: `array` is the kernel's `&mut [T]` parameter.
    Atomic {
        op: AtomicOp,
        array: BindingId,
    },
    /// `k.launch(grid, block, args..)` in host code: `grid` and `block` are each
    /// one integer or an array literal of one to three.
    Launch {
        kernel: FnKey,
    },
    /// `let tile: &mut [T; len] = shared_array();` (on the initializer).
    SharedArray {
        len: u64,
    },
}

/// The builtin a name stands for, if any.
fn builtin(name: &str) -> Option<Builtin> {
    let indices = [
        ("thread_idx", Some(SpmdIndex::ThreadIdx)),
        ("block_idx", Some(SpmdIndex::BlockIdx)),
        ("block_dim", Some(SpmdIndex::BlockDim)),
        ("grid_dim", Some(SpmdIndex::GridDim)),
        ("global_id", None),
    ];
    for (base, index) in indices {
        let axis = match name.strip_prefix(base) {
            Some("" | "_x") => Axis::X,
            Some("_y") => Axis::Y,
            Some("_z") => Axis::Z,
            _ => continue,
        };
        return Some(match index {
            Some(i) => Builtin::Index(i, axis),
            None => Builtin::GlobalId(axis),
        });
    }
    if name == "sync_threads" {
        return Some(Builtin::SyncThreads);
    }
    let op = name.strip_prefix("atomic_")?;
    AtomicOp::ALL
        .into_iter()
        .find(|o| o.name() == op)
        .map(Builtin::Atomic)
}

enum Builtin {
    Index(SpmdIndex, Axis),
    GlobalId(Axis),
    SyncThreads,
    Atomic(AtomicOp),
}

impl FnChecker<'_, '_> {
    /// A call of an SPMD builtin (`None` for any other name; a function of the
    /// program with the same name wins).
    pub(super) fn spmd_call(&mut self, e: &Expr, names: &[&str], args: &[Expr]) -> Option<Ty> {
        let [name] = names else { return None };
        let builtin = builtin(name)?;
        if self.env.find_fn(self.namespace, name).is_some() || self.lookup(name).is_some() {
            return None;
        }
        if !self.kernel {
            self.arg_exprs(args);
            self.errors.push(
                Diagnostic::error(
                    e.span,
                    format!("`{name}()` can only be used inside a #[kernel] function"),
                )
                .with_label("not inside a kernel")
                .with_note("mark the function #[kernel] and launch it from `main` with `f.launch(grid, block, args..)`"),
            );
            return Some(Ty::Error);
        }
        Some(match builtin {
            Builtin::Index(index, axis) => {
                self.no_arguments(e, name, args)?;
                self.resolve(e, Resolution::Spmd(SpmdResolution::Index(index, axis)));
                Ty::Scalar(ScalarType::Usize)
            }
            Builtin::GlobalId(axis) => {
                self.no_arguments(e, name, args)?;
                self.resolve(e, Resolution::Spmd(SpmdResolution::GlobalId(axis)));
                Ty::Scalar(ScalarType::Usize)
            }
            Builtin::SyncThreads => {
                self.no_arguments(e, name, args)?;
                self.resolve(e, Resolution::Spmd(SpmdResolution::SyncThreads));
                Ty::Unit
            }
            Builtin::Atomic(op) => self.atomic(e, name, op, args),
        })
    }

    fn no_arguments(&mut self, e: &Expr, name: &str, args: &[Expr]) -> Option<()> {
        if args.is_empty() {
            return Some(());
        }
        for a in args {
            self.expr(a);
        }
        self.arity_error(e.span, name, 0, args.len());
        None
    }

    /// `atomic_op(&mut array, index, value)` / `atomic_cas(&mut array, index,
    /// expected, new)`: returns the old element.
    fn atomic(&mut self, e: &Expr, name: &str, op: AtomicOp, args: &[Expr]) -> Ty {
        let expected = 2 + op.operand_count();
        if args.len() != expected {
            self.arg_exprs(args);
            return self.arity_error(e.span, name, expected, args.len());
        }
        let array = match &args[0].kind {
            ExprKind::Ref {
                mutable: true,
                expr,
            } => match &expr.kind {
                ExprKind::Path(p) if p.len() == 1 => self.lookup(&p[0].name),
                _ => None,
            },
            _ => None,
        };
        let array_ty = self.arg_expr(&args[0]);
        let Some(array) = array else {
            for a in &args[1..] {
                self.expr(a);
            }
            return self.error(
                args[0].span,
                format!("the first argument of `{name}` is an array parameter of the kernel, borrowed mutably: `&mut out`"),
            );
        };
        let elem = match self.inf.resolve(array_ty) {
            Ty::Array {
                elem,
                rank: 1,
                mutable: true,
            } if atomic_element_type(elem) => Some(elem),
            Ty::Error => None,
            other => {
                let d = self.inf.describe(other);
                self.error(
                    args[0].span,
                    format!("`{name}` works on a `&mut [T]` with elements of type i32, i64, u32, u64, f32 or f64, not on `{d}`"),
                );
                None
            }
        };
        let index = self.expr(&args[1]);
        self.expect(index, Ty::Scalar(ScalarType::Usize), args[1].span);
        for a in &args[2..] {
            let t = self.expr(a);
            if let Some(elem) = elem {
                self.expect(t, Ty::Scalar(elem), a.span);
            }
        }
        let Some(elem) = elem else { return Ty::Error };
        self.resolve(e, Resolution::Spmd(SpmdResolution::Atomic { op, array }));
        Ty::Scalar(elem)
    }

    /// A plain call of a `#[kernel]`: an error, kernels are launched.
    pub(super) fn kernel_called(&mut self, call: &UserCall) -> Option<Ty> {
        let (e, key, name, args) = (call.e, call.key, call.name, call.args);
        if !is_kernel(self.env.function(key).decl) {
            return None;
        }
        self.arg_exprs(args);
        self.errors.push(
            Diagnostic::error(e.span, format!("`{name}` is a #[kernel]: it cannot be called"))
                .with_label("called like a function")
                .with_note(format!(
                    "launch it from `main` over a grid of blocks of threads: `{name}.launch(grid, block, args..)`"
                )),
        );
        Some(Ty::Error)
    }

    /// `k.launch(grid, block, args..)` on a `#[kernel]` `k` in host code; `None`
    /// when the receiver is not a kernel.
    pub(super) fn kernel_launch(&mut self, call: &MethodCall) -> Option<Ty> {
        let (e, receiver, method, args) = (call.e, call.receiver, call.method, call.args);
        let (kname, key) = self.user_fn_receiver(receiver)?;
        let decl = self.env.function(key).decl;
        if !is_kernel(decl) {
            return None;
        }
        let name = &kname.name;
        if method.name != "launch" {
            self.arg_exprs(args);
            return Some(self.error(
                method.span,
                format!(
                    "kernels have one method, `launch(grid, block, args..)`, not `{}`",
                    method.name
                ),
            ));
        }
        let params = decl.params.len();
        if args.len() != params + 2 {
            self.arg_exprs(args);
            let s = |n: usize| if n == 1 { "" } else { "s" };
            let given = args.len().saturating_sub(2);
            self.errors.push(
                Diagnostic::error(
                    e.span,
                    format!(
                        "`{name}.launch` takes the grid, the block and {params} kernel argument{}, but {} argument{} {} supplied",
                        s(params),
                        args.len(),
                        s(args.len()),
                        if args.len() == 1 { "was" } else { "were" }
                    ),
                )
                .with_label(if args.len() < 2 {
                    "the grid and block dimensions come first".to_string()
                } else {
                    format!("{given} kernel argument{} for {params} parameter{}", s(given), s(params))
                }),
            );
            return Some(Ty::Error);
        }
        for dims in &args[..2] {
            self.launch_dims(dims);
        }
        self.call_function(e, key, name, None, &args[2..]);
        self.resolve(e, Resolution::Spmd(SpmdResolution::Launch { kernel: key }));
        Some(Ty::Unit)
    }

    /// A grid or block: one integer, or `[x, y]` / `[x, y, z]` of integers.
    fn launch_dims(&mut self, dims: &Expr) {
        let items: Vec<&Expr> = match &strip_parens(dims).kind {
            ExprKind::ArrayLit(items) => items.iter().collect(),
            _ => vec![dims],
        };
        if items.is_empty() || items.len() > 3 {
            for i in &items {
                self.expr(i);
            }
            self.error(
                dims.span,
                "a grid or block has one to three dimensions: `n`, `[x, y]` or `[x, y, z]`",
            );
            return;
        }
        for item in items {
            let t = self.expr(item);
            if self.inf.constrain(t, VarKind::Int).is_err() {
                let d = self.inf.describe(t);
                self.error(
                    item.span,
                    format!("a grid or block dimension is an integer, found `{d}`"),
                );
            }
        }
    }
}

impl FnChecker<'_, '_> {
    /// `let name: &mut [T; N] = shared_array();`: binds `name` to a block-shared
    /// array. False (nothing done) when `init` is not a `shared_array()` call.
    pub(super) fn shared_array_let(
        &mut self,
        name: &Ident,
        ty: Option<&TypeExpr>,
        init: Option<&Expr>,
    ) -> bool {
        let Some(init) = init else { return false };
        let ExprKind::Call { callee, args } = &strip_parens(init).kind else {
            return false;
        };
        let ExprKind::Path(p) = &callee.kind else {
            return false;
        };
        if p.len() != 1
            || p[0].name != "shared_array"
            || self.env.find_fn(self.namespace, "shared_array").is_some()
        {
            return false;
        }
        let form = "write `let tile: &mut [f32; 256] = shared_array();` (the element type and a literal length)";
        let fail = |c: &mut Self, span: Span, message: String| {
            c.errors
                .push(Diagnostic::error(span, message).with_note(form));
            c.bind(name, Ty::Error, false, None);
            true
        };
        if !self.kernel {
            return fail(
                self,
                init.span,
                "`shared_array()` can only be used inside a #[kernel] function".into(),
            );
        }
        if !args.is_empty() {
            return fail(
                self,
                init.span,
                "`shared_array()` takes no arguments".into(),
            );
        }
        let shape = ty.and_then(|t| match &t.kind {
            TypeExprKind::Ref {
                mutable: true,
                inner,
            } => match &inner.kind {
                TypeExprKind::Array {
                    elem,
                    len: ArrayLen::Literal(len, _),
                } => Some((elem, *len)),
                _ => None,
            },
            _ => None,
        });
        let Some((elem, len)) = shape else {
            let span = ty.map_or(name.span, |t| t.span);
            return fail(
                self,
                span,
                "a shared array needs its type: `&mut [T; N]`".into(),
            );
        };
        let Some(elem) = self.scalar_type(elem) else {
            self.bind(name, Ty::Error, false, None);
            return true;
        };
        if len == 0 {
            return fail(
                self,
                init.span,
                "a shared array has at least one element".into(),
            );
        }
        self.record(init, Ty::Unit);
        self.resolve(init, Resolution::Spmd(SpmdResolution::SharedArray { len }));
        self.bind(
            name,
            Ty::Array {
                elem,
                rank: 1,
                mutable: true,
            },
            false,
            None,
        );
        true
    }
}

pub(crate) fn is_kernel(decl: &FnDecl) -> bool {
    decl.attrs.iter().any(|a| a.name.name == "kernel")
}
