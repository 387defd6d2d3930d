//! The walk of if-conversion: the structured IR of an element function, block by
//! block, with a lane mask, into the hash-consing builder (see the parent module
//! for the rules). It owns the bookkeeping of masks, early exits, local ownership
//! and guards; the structural questions about blocks are `shape`'s. Like the rest
//! of `predicate` it must not know lane counts, vector types or any target.

use crate::collections::HashMap;

use super::build::Builder;
use super::shape::{is_one_shot, leaves, owner_blocks, returns_in, scalar_only, BlockKey};
use super::*;

/// Walks element function `f` (already checked to have scalar parameters and
/// locals and a result) into its predicated form.
pub(super) fn run(
    program: &Program,
    f: &Function,
    params: Vec<ScalarType>,
    ret: ScalarType,
) -> Result<Predicated, NotVectorisable> {
    let mut b = Builder::new(&program.const_tables);
    b.span = f.span;
    let mut w = Walker {
        f,
        b,
        values: vec![None; f.value_types.len()],
        locals: Vec::with_capacity(f.locals.len()),
        owners: owner_blocks(&f.body, f.locals.len()),
        entry_masks: HashMap::default(),
        frames: Vec::new(),
        order: Order::of(&f.body, f.locals.len()),
        exits: Vec::new(),
        result: None,
        guards: Vec::new(),
    };
    for local in &f.locals {
        let v = match local.ty {
            Type::Scalar(t) => w.b.constant(ScalarValue::zero(t)),
            Type::Array(_) | Type::HostArray(_) => w.b.bool(false),
        };
        w.locals.push(v);
    }
    for (k, p) in f.params.iter().enumerate() {
        let ty = params[k];
        w.locals[p.local.0 as usize] = w.b.push(PInst::Param(k as u32), ty);
    }
    w.b.span = f.span;
    let all = w.b.bool(true);
    w.block(&f.body, all, None)?;
    let result = match w.result {
        Some(r) => r,
        None => w.b.constant(ScalarValue::zero(ret)),
    };
    let guards = std::mem::take(&mut w.guards);
    Ok(w.b.finish(f.name.clone(), params, ret, result, guards))
}

/// A block being walked.
struct Frame {
    key: BlockKey,
    kind: FrameKind,
    /// Number of the last instruction before lanes excluded inside this frame
    /// become active again: the end of the branch, or of the whole loop.
    rejoin: usize,
}

#[derive(Clone, Copy)]
enum FrameKind {
    /// The function body.
    Body,
    /// An `if` branch, taken where this (bool) value holds.
    Branch(PValue),
    /// A block of the one-shot loop whose exits are `Walker::exits[k]`.
    Loop(usize),
}

/// Instructions numbered in program order (pre-order), which for structured code
/// without back edges is execution order.
struct Order {
    /// Number of the last instruction inside each block / loop.
    block_end: crate::collections::HashMap<BlockKey, usize>,
    loop_end: crate::collections::HashMap<*const Inst, usize>,
    /// Number of the last `GetLocal`/`SetLocal` of each local.
    last_access: Vec<usize>,
}

impl Order {
    fn of(body: &Block, locals: usize) -> Order {
        fn walk(block: &Block, next: &mut usize, o: &mut Order) {
            for inst in &block.insts {
                *next += 1;
                if let InstKind::GetLocal(l) | InstKind::SetLocal(l, _) = &inst.kind {
                    if let Some(a) = o.last_access.get_mut(l.0 as usize) {
                        *a = *next;
                    }
                }
                for nested in inst.kind.blocks() {
                    walk(nested, next, o);
                }
                if let InstKind::Loop { .. } = inst.kind {
                    o.loop_end.insert(inst as *const Inst, *next);
                }
            }
            o.block_end.insert(block as BlockKey, *next);
        }
        let mut o = Order {
            block_end: HashMap::default(),
            loop_end: HashMap::default(),
            last_access: vec![0; locals],
        };
        walk(body, &mut 0, &mut o);
        o
    }
}

struct Walker<'p> {
    f: &'p Function,
    b: Builder<'p>,
    values: Vec<Option<PValue>>,
    /// The current per-lane value of each local.
    locals: Vec<PValue>,
    /// For each local, the innermost block that contains all its accesses.
    owners: Vec<Option<BlockKey>>,
    /// The active mask on entry to each block walked so far.
    entry_masks: HashMap<BlockKey, PValue>,
    /// The blocks being walked, outermost first (see [`Frame`]).
    frames: Vec<Frame>,
    /// Program-order numbering of the body (see [`Order`]).
    order: Order,
    /// Lanes that left each enclosing one-shot loop by `Break`, innermost last.
    exits: Vec<PValue>,
    result: Option<PValue>,
    guards: Vec<Guard>,
}

impl Walker<'_> {
    fn value(&self, id: ValueId) -> Result<PValue, NotVectorisable> {
        self.values
            .get(id.0 as usize)
            .copied()
            .flatten()
            .ok_or_else(|| {
                NotVectorisable::NotElementFunction(format!(
                    "value v{} used before its definition",
                    id.0
                ))
            })
    }

    fn guard(&mut self, when: PValue, kind: GuardKind, span: Span) -> Result<(), NotVectorisable> {
        if self.b.is_false(when) {
            return Ok(());
        }
        if self.b.is_true(when) {
            return Err(NotVectorisable::AlwaysScalar { kind, span });
        }
        self.guards.push(Guard { when, kind, span });
        Ok(())
    }

    /// Walks `block` with the lanes of `mask` active; returns the lanes that reach
    /// its end.
    /// Walks `block` (the function body or an `if` branch taken where `cond` holds).
    fn block(
        &mut self,
        block: &Block,
        mask: PValue,
        cond: Option<PValue>,
    ) -> Result<PValue, NotVectorisable> {
        let rejoin = self
            .order
            .block_end
            .get(&(block as BlockKey))
            .copied()
            .unwrap_or(usize::MAX);
        let kind = cond.map_or(FrameKind::Body, FrameKind::Branch);
        self.block_of(block, mask, kind, rejoin)
    }

    /// Walks a block; see [`Frame`] for `rejoin`.
    fn block_of(
        &mut self,
        block: &Block,
        mask: PValue,
        kind: FrameKind,
        rejoin: usize,
    ) -> Result<PValue, NotVectorisable> {
        self.entry_masks.insert(block as BlockKey, mask);
        self.frames.push(Frame {
            key: block as BlockKey,
            kind,
            rejoin,
        });
        let mut mask = mask;
        for inst in &block.insts {
            if self.b.is_false(mask) {
                // No lane gets here; nothing after this point in the block is visible
                // outside it.
                break;
            }
            self.b.span = inst.span;
            match self.inst(inst, mask) {
                Ok(m) => mask = m,
                Err(e) => {
                    self.frames.pop();
                    return Err(e);
                }
            }
        }
        self.frames.pop();
        Ok(mask)
    }

    /// The condition under which `SetLocal(l)` must take the new value on a lane
    /// (`None`: on every lane, no select): the lanes that execute it, minus those
    /// whose old value nobody can observe.
    ///
    /// Lanes leave the *owner* block of `l` (the innermost block containing all
    /// its accesses) either for good (`break` of an enclosing loop, `return`, the
    /// scalar path) or for a while: lanes on the other side of an `if` rejoin after
    /// the branch, lanes that broke out of a one-shot loop nested in the owner after
    /// the loop. Only the blocks between the owner and this point after which `l`
    /// is still accessed need their condition in the select.
    fn select_condition(&mut self, l: LocalId, mask: PValue) -> Option<PValue> {
        let Some(owner) = self.owners[l.0 as usize] else {
            return Some(mask);
        };
        if self.entry_masks.get(&owner) == Some(&mask) {
            return None;
        }
        let last = self.order.last_access[l.0 as usize];
        let mut conds = Vec::new();
        for frame in self.frames.iter().rev() {
            if frame.key == owner {
                break;
            }
            if last <= frame.rejoin {
                continue;
            }
            match frame.kind {
                FrameKind::Branch(c) => conds.push(Ok(c)),
                FrameKind::Loop(k) if !self.b.is_false(self.exits[k]) => conds.push(Err(k)),
                FrameKind::Loop(_) => {}
                FrameKind::Body => return Some(mask),
            }
        }
        let mut cond = self.b.bool(true);
        for c in conds {
            let c = match c {
                Ok(c) => c,
                Err(k) => self.b.not(self.exits[k]),
            };
            cond = self.b.and(cond, c);
        }
        (!self.b.is_true(cond)).then_some(cond)
    }

    fn inst(&mut self, inst: &Inst, mask: PValue) -> Result<PValue, NotVectorisable> {
        let ty = |w: &Self| inst.result.map(|r| w.f.value_type(r));
        let pure = match &inst.kind {
            InstKind::Const(c) => Some(self.b.constant(*c)),
            InstKind::GetLocal(l) => Some(self.locals[l.0 as usize]),
            InstKind::SetLocal(l, v) => {
                let new = self.value(*v)?;
                let slot = l.0 as usize;
                self.locals[slot] = match self.select_condition(*l, mask) {
                    None => new,
                    Some(cond) => self.b.select(cond, new, self.locals[slot]),
                };
                None
            }
            InstKind::Unary(op, a) => {
                Some(self.simple(PInst::Unary(*op, self.value(*a)?), ty(self)))
            }
            InstKind::Binary(op @ (BinaryOp::Div | BinaryOp::Rem), a, b)
                if self.f.value_type(*a).is_int() =>
            {
                let (a, b) = (self.value(*a)?, self.value(*b)?);
                Some(self.safe_division(*op, a, b, mask, inst.span)?)
            }
            InstKind::Binary(op, a, b) => {
                let p = PInst::Binary(*op, self.value(*a)?, self.value(*b)?);
                Some(self.simple(p, ty(self)))
            }
            InstKind::Cmp(op, a, b) => {
                let (a, b) = (self.value(*a)?, self.value(*b)?);
                Some(self.b.cmp(*op, a, b))
            }
            InstKind::Cast(a, t) => Some(self.simple(PInst::Cast(self.value(*a)?, *t), Some(*t))),
            InstKind::Bitcast(a, t) => {
                Some(self.simple(PInst::Bitcast(self.value(*a)?, *t), Some(*t)))
            }
            InstKind::Select {
                cond,
                if_true,
                if_false,
            } => {
                let (c, t, e) = (
                    self.value(*cond)?,
                    self.value(*if_true)?,
                    self.value(*if_false)?,
                );
                Some(self.b.select(c, t, e))
            }
            InstKind::Intrinsic(op, args) => {
                let args = args
                    .iter()
                    .map(|a| self.value(*a))
                    .collect::<Result<_, _>>()?;
                Some(self.simple(PInst::Intrinsic(*op, args), ty(self)))
            }
            InstKind::LoadConst { table, index } => {
                let index = self.value(*index)?;
                Some(self.safe_load_const(*table, index, mask, inst.span)?)
            }
            InstKind::Call { .. } => {
                // The lanes making the call take the scalar path: nothing after it
                // matters for them.
                self.guard(mask, GuardKind::Call, inst.span)?;
                return Ok(self.b.bool(false));
            }
            InstKind::ArrayLen { .. }
            | InstKind::ArrayStride { .. }
            | InstKind::Load { .. }
            | InstKind::Store { .. } => {
                return Err(NotVectorisable::NotElementFunction(format!(
                    "`{}` accesses an array",
                    self.f.name
                )))
            }
            InstKind::If {
                cond,
                then_block,
                else_block,
            } => {
                let c = self.value(*cond)?;
                let then_mask = self.b.and(mask, c);
                let not_c = self.b.not(c);
                let else_mask = self.b.and(mask, not_c);
                let after_then = self.branch(then_block, then_mask, c)?;
                let after_else = self.branch(else_block, else_mask, not_c)?;
                return Ok(
                    if leaves(then_block)
                        || leaves(else_block)
                        || scalar_only(then_block).is_some()
                        || scalar_only(else_block).is_some()
                    {
                        self.b.or(after_then, after_else)
                    } else {
                        mask
                    },
                );
            }
            InstKind::Loop {
                header, cond, body, ..
            } => return self.lower_loop(inst, header, *cond, body, mask),
            InstKind::Break => {
                let top = self.exits.len().checked_sub(1).ok_or_else(|| {
                    NotVectorisable::NotElementFunction("`break` outside a loop".into())
                })?;
                self.exits[top] = self.b.or(self.exits[top], mask);
                return Ok(self.b.bool(false));
            }
            InstKind::Continue => {
                return Err(NotVectorisable::NotElementFunction(
                    "`continue` in a loop without a back edge".into(),
                ))
            }
            InstKind::Return(value) => {
                let v = value.ok_or_else(|| {
                    NotVectorisable::NotElementFunction("`return` without a value".into())
                })?;
                let v = self.value(v)?;
                self.result = Some(match self.result {
                    None => v,
                    Some(old) => self.b.select(mask, v, old),
                });
                return Ok(self.b.bool(false));
            }
            InstKind::Assert { cond, .. } => {
                let c = self.value(*cond)?;
                let failed = self.b.not(c);
                let when = self.b.and(mask, failed);
                self.guard(when, GuardKind::Trap, inst.span)?;
                None
            }
            InstKind::Print { .. } => {
                self.guard(mask, GuardKind::Print, inst.span)?;
                return Ok(self.b.bool(false));
            }
            // Kernels are launched, never elementwise.
            InstKind::Spmd(_) => {
                return Err(NotVectorisable::NotElementFunction(
                    "SPMD instruction".into(),
                ))
            }
            // Host code (`main`) is never an element function.
            InstKind::Host { .. } => {
                return Err(NotVectorisable::NotElementFunction(
                    "host array operation".into(),
                ))
            }
        };
        if let (Some(r), Some(v)) = (inst.result, pure) {
            self.values[r.0 as usize] = Some(v);
        }
        Ok(mask)
    }

    /// An `if` branch. One that contains something only the scalar code can do is
    /// not computed at all: its lanes take the scalar path (a guard on the whole
    /// branch), so the vector code never pays for a rarely taken slow path such as
    /// sin's Payne–Hanek reduction.
    fn branch(
        &mut self,
        block: &Block,
        mask: PValue,
        cond: PValue,
    ) -> Result<PValue, NotVectorisable> {
        if let Some((kind, span)) = scalar_only(block) {
            self.guard(mask, kind, span)?;
            return Ok(self.b.bool(false));
        }
        self.block(block, mask, Some(cond))
    }

    fn simple(&mut self, inst: PInst, ty: Option<ScalarType>) -> PValue {
        let ty = ty.unwrap_or(ScalarType::Bool);
        self.b.push(inst, ty)
    }

    /// `a / b` or `a % b` with a divisor that is safe on every lane; a guard for
    /// active lanes that would trap.
    fn safe_division(
        &mut self,
        op: BinaryOp,
        a: PValue,
        b: PValue,
        mask: PValue,
        span: Span,
    ) -> Result<PValue, NotVectorisable> {
        let ty = self.b.ty(a);
        let zero = self.b.constant(ScalarValue::zero(ty));
        let mut unsafe_lanes = self.b.cmp(CmpOp::Eq, b, zero);
        if ty.is_signed_int() {
            let bits = ty.bits();
            let min = self
                .b
                .constant(ScalarValue::int(ty, -(1i128 << (bits - 1))));
            let minus_one = self.b.constant(ScalarValue::int(ty, -1));
            let is_min = self.b.cmp(CmpOp::Eq, a, min);
            let is_minus_one = self.b.cmp(CmpOp::Eq, b, minus_one);
            let overflow = self.b.and(is_min, is_minus_one);
            unsafe_lanes = self.b.or(unsafe_lanes, overflow);
        }
        let when = self.b.and(mask, unsafe_lanes);
        self.guard(when, GuardKind::Trap, span)?;
        let one = self.b.constant(ScalarValue::int(ty, 1));
        let divisor = self.b.select(unsafe_lanes, one, b);
        Ok(self.b.push(PInst::Binary(op, a, divisor), ty))
    }

    /// `table[index]` with an index that is in range on every lane; a guard for
    /// active lanes whose index is out of range.
    fn safe_load_const(
        &mut self,
        table: ConstTableId,
        index: PValue,
        mask: PValue,
        span: Span,
    ) -> Result<PValue, NotVectorisable> {
        let (elem, len) = {
            let t = self.b.table(table).ok_or_else(|| {
                NotVectorisable::NotElementFunction(format!("no table {}", table.0))
            })?;
            (t.elem, t.values.len() as u64)
        };
        if len == 0 {
            self.guard(mask, GuardKind::Trap, span)?;
            return Ok(self.b.constant(ScalarValue::zero(elem)));
        }
        let limit = self.b.constant(ScalarValue::Usize(len));
        let out_of_range = self.b.cmp(CmpOp::Ge, index, limit);
        let when = self.b.and(mask, out_of_range);
        self.guard(when, GuardKind::Trap, span)?;
        let zero = self.b.constant(ScalarValue::Usize(0));
        let index = self.b.select(out_of_range, zero, index);
        Ok(self.b.push(PInst::LoadConst { table, index }, elem))
    }

    fn lower_loop(
        &mut self,
        inst: &Inst,
        header: &Block,
        cond: Option<ValueId>,
        body: &Block,
        mask: PValue,
    ) -> Result<PValue, NotVectorisable> {
        let span = inst.span;
        if !is_one_shot(body) {
            // Lanes reaching a real loop run on the scalar path.
            self.guard(mask, GuardKind::Loop, span)?;
            return Ok(self.b.bool(false));
        }
        let none = self.b.bool(false);
        self.exits.push(none);
        let k = self.exits.len() - 1;
        let rejoin = self
            .order
            .loop_end
            .get(&(inst as *const Inst))
            .copied()
            .unwrap_or(usize::MAX);
        let mut active = self.block_of(header, mask, FrameKind::Loop(k), rejoin)?;
        if let Some(c) = cond {
            let c = self.value(c)?;
            let not_c = self.b.not(c);
            let leaving = self.b.and(active, not_c);
            let top = self.exits.len() - 1;
            self.exits[top] = self.b.or(self.exits[top], leaving);
            active = self.b.and(active, c);
        }
        self.block_of(body, active, FrameKind::Loop(k), rejoin)?;
        let exits = self.exits.pop().unwrap_or(none);
        // Without a `return` (or a lane sent to the scalar path) inside, every lane
        // that entered leaves by `break`.
        Ok(
            if returns_in(header) || returns_in(body) || scalar_only(body).is_some() {
                exits
            } else {
                mask
            },
        )
    }
}
