//! Lowering of SPMD builtins in `#[kernel]` bodies to `InstKind::Spmd`, and of
//! kernel launches in `main` to `HostOp::Launch` (semantics in `ir::spmd`).

use super::*;
use crate::ir::spmd::{AtomicInst, Axis, SpmdIndex, SpmdInst};
use crate::ir::HostOp;
use crate::types::check::SpmdResolution;

impl BodyLowerer<'_, '_, '_, '_> {
    pub(super) fn spmd_expr(
        &mut self,
        e: &Expr,
        r: SpmdResolution,
        args: &[Expr],
    ) -> Option<ValueId> {
        let usize_ty = ScalarType::Usize;
        match r {
            SpmdResolution::Index(index, axis) => Some(self.spmd_index(index, axis)),
            SpmdResolution::GlobalId(axis) => {
                let block = self.spmd_index(SpmdIndex::BlockIdx, axis);
                let dim = self.spmd_index(SpmdIndex::BlockDim, axis);
                let thread = self.spmd_index(SpmdIndex::ThreadIdx, axis);
                let base = self
                    .b
                    .value(InstKind::Binary(IrBin::Mul, block, dim), usize_ty);
                Some(
                    self.b
                        .value(InstKind::Binary(IrBin::Add, base, thread), usize_ty),
                )
            }
            SpmdResolution::SyncThreads => {
                self.b.inst(InstKind::Spmd(SpmdInst::SyncThreads));
                None
            }
            SpmdResolution::Atomic { op, array } => {
                let array = self.local_for(array);
                let index = self.expr(&args[1])?;
                let mut operands = Vec::new();
                for a in &args[2..] {
                    operands.push(self.expr(a)?);
                }
                self.b.current_span = e.span;
                let t = self.scalar_ty(e);
                Some(self.b.value(
                    InstKind::Spmd(SpmdInst::Atomic(AtomicInst {
                        op,
                        array,
                        index,
                        operands,
                    })),
                    t,
                ))
            }
            // Lowered by its `let` (see `shared_array_len`).
            SpmdResolution::SharedArray { .. } => None,
            SpmdResolution::Launch { kernel } => {
                let kernel = self.lowering.request(kernel, vec![]);
                let mut values = Vec::new();
                for dims in &args[..2] {
                    values.extend(self.launch_dims(dims)?);
                }
                for a in &args[2..] {
                    values.push(match self.typed.ty(a) {
                        Ty::HostArray(_) => Arg::Array(self.host_array_operand(a)?),
                        _ => Arg::Value(self.expr(a)?),
                    });
                }
                self.b.current_span = e.span;
                self.b.inst(InstKind::Host {
                    op: HostOp::Launch { kernel },
                    args: values,
                    dest: None,
                });
                None
            }
        }
    }

    /// The length of a `shared_array()` initializer, if `init` is one.
    pub(super) fn shared_array_len(&self, init: &Expr) -> Option<u64> {
        match self.typed.resolutions.get(&strip_parens(init).id) {
            Some(Resolution::Spmd(SpmdResolution::SharedArray { len })) => Some(*len),
            _ => None,
        }
    }

    fn spmd_index(&mut self, index: SpmdIndex, axis: Axis) -> ValueId {
        self.b.value(
            InstKind::Spmd(SpmdInst::Index(index, axis)),
            ScalarType::Usize,
        )
    }

    /// The three extents (`i64`) of a grid or block: `n` is `[n, 1, 1]`, `[x, y]`
    /// is `[x, y, 1]`.
    fn launch_dims(&mut self, dims: &Expr) -> Option<Vec<Arg>> {
        let items: Vec<&Expr> = match &strip_parens(dims).kind {
            ExprKind::ArrayLit(items) => items.iter().collect(),
            _ => vec![dims],
        };
        let mut extents = Vec::new();
        for item in items {
            let v = self.expr(item)?;
            let t = self.scalar_ty(item);
            extents.push(if t == ScalarType::I64 {
                v
            } else {
                self.b
                    .value(InstKind::Cast(v, ScalarType::I64), ScalarType::I64)
            });
        }
        while extents.len() < 3 {
            extents.push(self.constant(ScalarValue::I64(1)));
        }
        Some(extents.into_iter().map(Arg::Value).collect())
    }
}
