//! Lane groups: runs of adjacent instructions of one block that do the same
//! floating-point operation on neighbouring data, lowered as one 128-bit
//! vector instruction — two `f64` lanes or four `f32` ones.
//!
//! The jammer ([`crate::passes::jam`]) leaves the copies of a body's
//! instruction side by side: matmul's eight columns load `b[k][j..j + 8]` one
//! after the other, multiply each by the one `a[i][k]`, add each into its own
//! accumulator local and store `out[i][j..j + 8]` one after the other. `L`
//! adjacent instructions (`L` the lanes of a vector of their type; lane `l` is
//! the `l`-th instruction) form a group when they are
//!
//! - unchecked loads, or stores, of one `f64`/`f32` array at indices that are
//!   the same values on every axis but the last, whose stride the function
//!   declares 1 ([`crate::ir::FixedStride`]), and whose index is lane 0's
//!   plus `l` (constants, or one value plus constants): one vector load (store)
//!   of `L` neighbouring elements; the values a group of stores stores are one
//!   group's, or one value in every lane;
//! - `add`, `sub`, `mul` or `div` of floats whose operands, position by
//!   position, are one value in every lane (splatted) or one group's, at
//!   least one of them a group's: the vector operation, which is the scalar
//!   one in every lane (IEEE, so the same bits; never fused);
//! - `set`s of `L` distinct float locals to one group's values or to one value,
//!   and `get`s of locals whose values a group of `set`s left, in the same
//!   Cranelift block, with none of them set since: the vector itself.
//!
//! Fusing adjacent instructions moves nothing past anything: no other
//! instruction runs between a group's lanes, whose loads (stores) touch `L`
//! distinct neighbouring elements, and whose arithmetic is the scalar one per
//! lane. So a group needs no condition on aliasing besides what made its
//! instructions adjacent (for the jammer: stores into outputs, loads from
//! inputs, which never share memory). Every lane's scalar value is bound too
//! (an extracted lane; Cranelift drops an extraction nothing uses), so an
//! instruction outside any group reads it as it always did.
//!
//! Anything else is lowered one instruction at a time. This file knows the IR
//! and the CLIF the lowering gives an index; which instructions end up adjacent
//! is the passes' business.

use crate::collections::HashMap;

use cranelift_codegen::ir::{Block, InstBuilder, InstructionData, Opcode, Value, ValueDef};
use cranelift_module::Module;

use super::lower::Lowerer;
use super::vector_ops::{data_flags, vec_type};
use super::BackendError;
use crate::ir::{BinaryOp, Inst, InstKind, LocalId, ScalarType, Type, ValueId};

/// The groups lowered so far in one function.
#[derive(Default)]
pub(super) struct LaneGroups {
    /// What each group's lanes are, under its lane-0 value, with every lane's
    /// value.
    values: HashMap<ValueId, (Vec<ValueId>, Operand)>,
    /// What a group of `set`s left in locals, in the Cranelift block of the
    /// `set`s.
    locals: Vec<(Block, Vec<LocalId>, Operand)>,
    /// Each value splatted so far, in the Cranelift block of the splat.
    splats: HashMap<(Block, ValueId), Value>,
}

impl LaneGroups {
    /// Forgets the groups of locals that hold `local`, which is set on its own.
    pub(super) fn forget(&mut self, local: LocalId) {
        self.locals.retain(|(_, ls, _)| !ls.contains(&local));
    }
}

/// An operand of a group, position by position: one value in every lane
/// (splatted only where a vector needs it), or one group's vector.
#[derive(Clone, Copy)]
enum Operand {
    Same(ValueId),
    Vector(Value),
}

impl<M: Module> Lowerer<'_, '_, M> {
    /// Lowers the lane group `insts` starts with, if it starts with one, and
    /// returns how many instructions that took (0: none).
    pub(super) fn lower_lane_group(&mut self, insts: &[Inst]) -> Result<usize, BackendError> {
        let Some(ty) = self.lane_type(&insts[0].kind)? else {
            return Ok(0);
        };
        let lanes = 16 / ty.size_bytes();
        let Some(group) = insts.get(..lanes) else {
            return Ok(0);
        };
        let lowered = match &group[0].kind {
            InstKind::Load { .. } => self.load_group(group, ty)?,
            InstKind::Store { .. } => self.store_group(group, ty)?,
            InstKind::Binary(..) => self.binary_group(group, ty)?,
            InstKind::SetLocal(..) => self.set_group(group, ty)?,
            InstKind::GetLocal(..) => self.get_group(group)?,
            _ => false,
        };
        Ok(if lowered { lanes } else { 0 })
    }

    /// The float type a group starting with `kind` would have lanes of.
    fn lane_type(&self, kind: &InstKind) -> Result<Option<ScalarType>, BackendError> {
        let ty = match kind {
            InstKind::Load {
                array,
                checked: false,
                ..
            }
            | InstKind::Store {
                array,
                checked: false,
                ..
            } => match self.func.local(*array).ty {
                Type::Array(a) => a.elem,
                _ => return Ok(None),
            },
            InstKind::Binary(
                BinaryOp::Add | BinaryOp::Sub | BinaryOp::Mul | BinaryOp::Div,
                a,
                _,
            ) => self.value_type(*a)?,
            InstKind::GetLocal(l) | InstKind::SetLocal(l, _) => match self.func.local(*l).ty {
                Type::Scalar(s) => s,
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        Ok(ty.is_float().then_some(ty))
    }

    fn load_group(&mut self, group: &[Inst], ty: ScalarType) -> Result<bool, BackendError> {
        let Some((array, indices)) = self.neighbours(group, false)? else {
            return Ok(false);
        };
        let (address, offset, _) = self.element_place(array, &indices, false, group[0].span)?;
        let v = self
            .b
            .ins()
            .load(vec_type(ty), data_flags(), address, offset);
        self.bind_lanes(group, Operand::Vector(v))?;
        Ok(true)
    }

    fn store_group(&mut self, group: &[Inst], ty: ScalarType) -> Result<bool, BackendError> {
        let Some((array, indices)) = self.neighbours(group, true)? else {
            return Ok(false);
        };
        let stored: Vec<ValueId> = group
            .iter()
            .filter_map(|i| match i.kind {
                InstKind::Store { value, .. } => Some(value),
                _ => None,
            })
            .collect();
        let Some(v) = self.operand(&stored) else {
            return Ok(false);
        };
        let v = self.vector(v, ty)?;
        let (address, offset, _) = self.element_place(array, &indices, false, group[0].span)?;
        self.b.ins().store(data_flags(), v, address, offset);
        Ok(true)
    }

    fn binary_group(&mut self, group: &[Inst], ty: ScalarType) -> Result<bool, BackendError> {
        let InstKind::Binary(op, ..) = group[0].kind else {
            return Ok(false);
        };
        let mut lhs = Vec::with_capacity(group.len());
        let mut rhs = Vec::with_capacity(group.len());
        for inst in group {
            match inst.kind {
                InstKind::Binary(o, a, b) if o == op => {
                    lhs.push(a);
                    rhs.push(b);
                }
                _ => return Ok(false),
            }
        }
        let (Some(x), Some(y)) = (self.operand(&lhs), self.operand(&rhs)) else {
            return Ok(false);
        };
        if matches!((&x, &y), (Operand::Same(_), Operand::Same(_))) {
            return Ok(false);
        }
        let (x, y) = (self.vector(x, ty)?, self.vector(y, ty)?);
        let v = match op {
            BinaryOp::Add => self.b.ins().fadd(x, y),
            BinaryOp::Sub => self.b.ins().fsub(x, y),
            BinaryOp::Mul => self.b.ins().fmul(x, y),
            BinaryOp::Div => self.b.ins().fdiv(x, y),
            _ => return Ok(false),
        };
        self.bind_lanes(group, Operand::Vector(v))?;
        Ok(true)
    }

    fn set_group(&mut self, group: &[Inst], ty: ScalarType) -> Result<bool, BackendError> {
        let mut locals = Vec::with_capacity(group.len());
        let mut values = Vec::with_capacity(group.len());
        for inst in group {
            match inst.kind {
                InstKind::SetLocal(l, v)
                    if !locals.contains(&l) && self.func.local(l).ty == Type::Scalar(ty) =>
                {
                    locals.push(l);
                    values.push(v);
                }
                _ => return Ok(false),
            }
        }
        let Some(operand) = self.operand(&values) else {
            return Ok(false);
        };
        for (lane, &local) in locals.iter().enumerate() {
            let scalar = self.scalar(operand, lane)?;
            let var = self.var(local)?;
            self.b.try_def_var(var, scalar).map_err(|_| {
                self.error(format!(
                    "local l{} assigned a value of another type",
                    local.0
                ))
            })?;
            self.lanes.forget(local);
        }
        let block = self.b.current_block().expect("lowering fills a block");
        self.lanes.locals.push((block, locals, operand));
        Ok(true)
    }

    fn get_group(&mut self, group: &[Inst]) -> Result<bool, BackendError> {
        let locals: Vec<LocalId> = group
            .iter()
            .map_while(|i| match i.kind {
                InstKind::GetLocal(l) => Some(l),
                _ => None,
            })
            .collect();
        let block = self.b.current_block().expect("lowering fills a block");
        let found = self
            .lanes
            .locals
            .iter()
            .find(|(b, ls, _)| *b == block && *ls == locals)
            .map(|&(_, _, operand)| operand);
        match found {
            Some(operand) => {
                self.bind_lanes(group, operand)?;
                Ok(true)
            }
            None => Ok(false),
        }
    }

    /// The array and lane 0's indices when `group` is unchecked stores (`store`)
    /// or loads of neighbouring elements along the array's last axis, of
    /// stride 1, lane by lane.
    fn neighbours(
        &self,
        group: &[Inst],
        store: bool,
    ) -> Result<Option<(LocalId, Vec<ValueId>)>, BackendError> {
        let access = |kind| unchecked_access(kind, store);
        let Some((array, first)) = access(&group[0].kind) else {
            return Ok(None);
        };
        let Some(last) = first.len().checked_sub(1) else {
            return Ok(None);
        };
        if self.func.fixed_stride(array, last) != Some(1) {
            return Ok(None);
        }
        let (base, start) = self.index_terms(first[last])?;
        for (lane, inst) in group.iter().enumerate().skip(1) {
            let Some((a, indices)) = access(&inst.kind) else {
                return Ok(None);
            };
            if a != array || indices.len() != first.len() || indices[..last] != first[..last] {
                return Ok(None);
            }
            let (b, at) = self.index_terms(indices[last])?;
            if b != base || Some(at) != start.checked_add(lane as i64) {
                return Ok(None);
            }
        }
        Ok(Some((array, first.to_vec())))
    }

    /// An index as a run-time part (none for a constant) plus a constant.
    fn index_terms(&self, index: ValueId) -> Result<(Option<Value>, i64), BackendError> {
        let v = self.value(index)?;
        if let Some(c) = self.constant_of(v) {
            return Ok((None, c));
        }
        if let ValueDef::Result(inst, _) = self.b.func.dfg.value_def(v) {
            if let InstructionData::Binary {
                opcode: Opcode::Iadd,
                args: [x, y],
            } = self.b.func.dfg.insts[inst]
            {
                if let Some(c) = self.constant_of(y) {
                    return Ok((Some(x), c));
                }
                if let Some(c) = self.constant_of(x) {
                    return Ok((Some(y), c));
                }
            }
        }
        Ok((Some(v), 0))
    }

    /// The operand that `values` (one per lane) are, if one value or one
    /// group's.
    fn operand(&self, values: &[ValueId]) -> Option<Operand> {
        if values.iter().all(|v| *v == values[0]) {
            return Some(Operand::Same(values[0]));
        }
        match self.lanes.values.get(&values[0]) {
            Some((lanes, operand)) if lanes == values => Some(*operand),
            _ => None,
        }
    }

    fn vector(&mut self, operand: Operand, ty: ScalarType) -> Result<Value, BackendError> {
        Ok(match operand {
            Operand::Vector(v) => v,
            Operand::Same(x) => {
                let block = self.b.current_block().expect("lowering fills a block");
                if let Some(&v) = self.lanes.splats.get(&(block, x)) {
                    return Ok(v);
                }
                let scalar = self.value(x)?;
                let v = self.b.ins().splat(vec_type(ty), scalar);
                self.lanes.splats.insert((block, x), v);
                v
            }
        })
    }

    /// Makes `lanes` what `group`'s results are and binds each lane's result
    /// to its scalar.
    fn bind_lanes(&mut self, group: &[Inst], lanes: Operand) -> Result<(), BackendError> {
        let mut results = Vec::with_capacity(group.len());
        for (lane, inst) in group.iter().enumerate() {
            let Some(r) = inst.result else {
                return Err(self.error("a lane group's instruction has no result"));
            };
            let scalar = self.scalar(lanes, lane)?;
            self.bind_value(r, scalar)?;
            results.push(r);
        }
        self.lanes.values.insert(results[0], (results, lanes));
        Ok(())
    }

    /// Lane `lane` of `lanes`.
    fn scalar(&mut self, lanes: Operand, lane: usize) -> Result<Value, BackendError> {
        Ok(match lanes {
            Operand::Same(x) => self.value(x)?,
            Operand::Vector(v) => self.b.ins().extractlane(v, lane as u8),
        })
    }
}

/// The array and indices of an unchecked store (`store`) or load (not `store`).
fn unchecked_access(kind: &InstKind, store: bool) -> Option<(LocalId, &[ValueId])> {
    match kind {
        InstKind::Load {
            array,
            indices,
            checked: false,
        } if !store => Some((*array, indices)),
        InstKind::Store {
            array,
            indices,
            checked: false,
            ..
        } if store => Some((*array, indices)),
        _ => None,
    }
}
