//! Lane-parallel lowering of one [`PInst`] of a predicated body to 128-bit CLIF
//! vectors, with exactly the per-lane semantics of the IR (`ir/mod.rs`) that the
//! scalar lowering in `ops` has: the dispatch over operations, add/sub/mul/div and
//! logic, selects (`blendv`), constant-table lookups; shifts, comparisons and
//! intrinsics are in `vector_arith`, casts in `vector_cast`.
//!
//! It owns the *representation* of a lane group ([`VVal`], [`VState`]: values
//! per sub-group, lane masks and their width conversions, constants) and the
//! lane-by-lane fallback (extractlane, the scalar operation of `ops`, insertlane)
//! for operations x86 has no vector form of — integer division, shifts by
//! per-lane amounts, 64-bit float↔int conversions Cranelift cannot express — so
//! vectorisation stays total. It knows nothing of loops, strides or guards
//! (`vector`, `vector_body`).
//!
//! # Representation
//!
//! A body runs with `L = 128 / W` lanes, where `W` is the widest scalar type in it
//! (bool counts as 8 bits). A value of type `T` is one vector of `T`'s natural
//! lane type (`f64x2`, `f32x4`, `i32x4`, ...) of which lanes `0..L` are meaningful;
//! narrower types thus fill only the low part of their register (an `i32` in an
//! `f64` body is an `i32x4` with two live lanes), so every operation keeps its
//! exact width semantics for free. A bool is a lane mask (all ones / all zeros) of
//! some lane width — that of the comparison that produced it — converted (and the
//! conversion memoised) to the width a user needs.

use crate::collections::HashMap;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, ConstantData, Endianness, InstBuilder, MemFlagsData, Type, Value,
};
use cranelift_module::Module;

use super::lower::{clif_type, Lowerer, POINTER};
use super::BackendError;
use crate::ir::{BinaryOp, ScalarType, UnaryOp};
use crate::passes::predicate::{PInst, PValue, Predicated};

/// A scalar operation applied to one lane's extracted operands.
pub(super) type LaneOp<'f, L> = dyn FnMut(&mut L, &[Value]) -> Result<Value, BackendError> + 'f;

/// One lane-group value.
#[derive(Clone, Copy, Debug)]
pub(super) enum VVal {
    /// A vector of the type's natural lane type (`vec_type`).
    Data(Value),
    /// A bool: an integer vector with `bits`-wide lanes, each all ones or zeros.
    Mask { v: Value, bits: u32 },
}

/// The vector type holding values of `ty` (bool: its stored byte form).
pub(super) fn vec_type(ty: ScalarType) -> Type {
    match ty {
        ScalarType::F64 => types::F64X2,
        ScalarType::F32 => types::F32X4,
        t => int_vec(t.bits()),
    }
}

pub(super) fn int_vec(bits: u32) -> Type {
    match bits {
        8 => types::I8X16,
        16 => types::I16X8,
        32 => types::I32X4,
        _ => types::I64X2,
    }
}

/// State of the lowering of one unrolled group: `unroll` sub-groups of `lanes`.
pub(super) struct VState<'p> {
    pub pred: &'p Predicated,
    pub lanes: u32,
    /// Lane width of masks with all lanes meaningful (`128 / lanes`).
    pub width: u32,
    /// Values per sub-group `u`, indexed by `PValue`.
    vals: Vec<Vec<Option<VVal>>>,
    masks: HashMap<(u32, usize, u32), Value>,
    /// `not` values that are never materialised: every use is an operand of `and`
    /// (which becomes `and_not`) or the condition of a select (whose operands swap).
    fused_not: Vec<bool>,
    /// Constants materialised for the operation being lowered, shared by its
    /// sub-groups (and only by them, so they stay short-lived).
    row_consts: HashMap<u32, VVal>,
}

impl<'p> VState<'p> {
    pub fn new(pred: &'p Predicated, lanes: u32, unroll: usize) -> VState<'p> {
        let n = pred.insts.len();
        let mut fused_not: Vec<bool> = pred
            .insts
            .iter()
            .map(|i| matches!(i, PInst::Unary(UnaryOp::Not, a) if pred.ty(*a) == ScalarType::Bool))
            .collect();
        let mut block = |v: PValue| fused_not[v.0 as usize] = false;
        for inst in &pred.insts {
            match inst {
                PInst::Binary(BinaryOp::And, _, _) => {}
                PInst::Select {
                    if_true, if_false, ..
                } => {
                    block(*if_true);
                    block(*if_false);
                }
                other => other.for_each_operand(&mut block),
            }
        }
        block(pred.result);
        for g in &pred.guards {
            block(g.when);
        }
        debug_assert_eq!(fused_not.len(), n);
        VState {
            pred,
            lanes,
            width: 128 / lanes,
            vals: vec![vec![None; n]; unroll],
            masks: HashMap::default(),
            fused_not,
            row_consts: HashMap::default(),
        }
    }

    /// `Some(x)` when `v` is a fused `not x`.
    pub(super) fn fused(&self, v: PValue) -> Option<PValue> {
        match self.pred.inst(v) {
            PInst::Unary(UnaryOp::Not, x) if self.fused_not[v.0 as usize] => Some(*x),
            _ => None,
        }
    }

    pub fn set(&mut self, u: usize, v: PValue, x: VVal) {
        self.vals[u][v.0 as usize] = Some(x);
    }

    /// Sub-groups lowered at once.
    pub fn unroll(&self) -> usize {
        self.vals.len()
    }

    /// Starts lowering another operation (for all sub-groups).
    pub fn new_row(&mut self) {
        self.row_consts.clear();
    }

    pub fn get(&self, u: usize, v: PValue) -> Option<VVal> {
        self.vals[u][v.0 as usize]
    }

    pub fn clear(&mut self, u: usize, v: PValue) {
        self.vals[u][v.0 as usize] = None;
    }

    /// The memoised mask conversions, to restore when leaving a block whose
    /// values do not dominate what follows.
    pub fn masks_snapshot(&self) -> HashMap<(u32, usize, u32), Value> {
        self.masks.clone()
    }

    pub fn restore_masks(&mut self, masks: HashMap<(u32, usize, u32), Value>) {
        self.masks = masks;
    }
}

pub(super) fn little() -> MemFlagsData {
    MemFlagsData::new().with_endianness(Endianness::Little)
}

/// User array memory: valid for the whole access, alignment unknown.
pub(super) fn data_flags() -> MemFlagsData {
    MemFlagsData::new().with_notrap()
}

impl<M: Module> Lowerer<'_, '_, M> {
    /// A vector of type `ty` with every `lane_bits`-wide lane holding `bits`.
    /// A load from the function's constant pool; emitted where it is used, so
    /// constants never hold a register across the body.
    pub(super) fn splat_const(&mut self, ty: Type, lane_bits: u32, bits: u64) -> Value {
        let lane_bytes = (lane_bits / 8) as usize;
        let mut bytes = Vec::with_capacity(16);
        while bytes.len() < 16 {
            bytes.extend_from_slice(&bits.to_le_bytes()[..lane_bytes]);
        }
        let c = self.b.func.dfg.constants.insert(ConstantData::from(bytes));
        self.b.ins().vconst(ty, c)
    }

    /// All-zero `ty` (a `vconst`, which the `snarrow` patterns need).
    pub(super) fn zero_vec(&mut self, ty: Type) -> Value {
        let c = self
            .b
            .func
            .dfg
            .constants
            .insert(ConstantData::from(vec![0u8; 16]));
        self.b.ins().vconst(ty, c)
    }

    pub(super) fn vbitcast(&mut self, to: Type, x: Value) -> Value {
        if self.b.func.dfg.value_type(x) == to {
            x
        } else {
            self.b.ins().bitcast(to, little(), x)
        }
    }

    /// Value `v` of sub-group `u` (constants are materialised at each use, so they
    /// never occupy a register across the body).
    pub(super) fn voperand(
        &mut self,
        st: &mut VState,
        v: PValue,
        u: usize,
    ) -> Result<VVal, BackendError> {
        if let PInst::Const { ty, bits } = st.pred.inst(v) {
            let (ty, bits) = (*ty, *bits);
            if let Some(x) = st.row_consts.get(&v.0) {
                return Ok(*x);
            }
            let x = if ty == ScalarType::Bool {
                let all = if bits & 1 == 1 { u64::MAX } else { 0 };
                VVal::Mask {
                    v: self.splat_const(int_vec(st.width), 64, all),
                    bits: st.width,
                }
            } else {
                VVal::Data(self.splat_const(vec_type(ty), ty.bits(), bits))
            };
            st.row_consts.insert(v.0, x);
            return Ok(x);
        }
        st.vals[u][v.0 as usize]
            .ok_or_else(|| self.error(format!("SIMD value p{} used before its definition", v.0)))
    }

    pub(super) fn vdata(
        &mut self,
        st: &mut VState,
        v: PValue,
        u: usize,
    ) -> Result<Value, BackendError> {
        match self.voperand(st, v, u)? {
            VVal::Data(x) => Ok(x),
            VVal::Mask { .. } => Err(self.error("a bool where a number was expected")),
        }
    }

    /// The lane width bool `v` is naturally available in (constants: any).
    pub(super) fn mask_width(
        &mut self,
        st: &mut VState,
        v: PValue,
        u: usize,
    ) -> Result<u32, BackendError> {
        if let Some(x) = st.fused(v) {
            return self.mask_width(st, x, u);
        }
        Ok(match st.pred.inst(v) {
            PInst::Const { .. } => 8,
            _ => mask_bits(self.voperand(st, v, u)?),
        })
    }

    /// Bool `v` as a mask with `bits`-wide lanes.
    pub(super) fn vmask(
        &mut self,
        st: &mut VState,
        v: PValue,
        u: usize,
        bits: u32,
    ) -> Result<Value, BackendError> {
        if let PInst::Const { bits: b, .. } = st.pred.inst(v) {
            let all = if b & 1 == 1 { u64::MAX } else { 0 };
            return Ok(self.splat_const(int_vec(bits), 64, all));
        }
        if let Some(m) = st.masks.get(&(v.0, u, bits)) {
            return Ok(*m);
        }
        let out = if let Some(x) = st.fused(v) {
            // A fused `not` some user could not absorb after all.
            let m = self.vmask(st, x, u, bits)?;
            self.b.ins().bnot(m)
        } else {
            let VVal::Mask { v: m, bits: have } = self.voperand(st, v, u)? else {
                return Err(self.error("a number where a bool was expected"));
            };
            self.resize_lanes(m, have, bits, true)
        };
        st.masks.insert((v.0, u, bits), out);
        Ok(out)
    }

    /// `cond ? t : f` per lane, with `cond` a mask of `bits`-wide lanes: one
    /// `blendv` (SSE4.1) instead of the and/andnot/or of a general `bitselect`.
    pub(super) fn blend(&mut self, cond: Value, t: Value, f: Value, bits: u32) -> Value {
        let ty = self.b.func.dfg.value_type(t);
        let ity = match bits {
            64 => types::I64X2,
            32 => types::I32X4,
            _ => types::I8X16,
        };
        let (c, t, f) = (
            self.vbitcast(ity, cond),
            self.vbitcast(ity, t),
            self.vbitcast(ity, f),
        );
        let r = self.b.ins().blendv(c, t, f);
        self.vbitcast(ty, r)
    }

    /// The condition of a select as a mask, and whether the operands swap (a fused
    /// `not`).
    pub(super) fn select_cond(
        &mut self,
        st: &mut VState,
        cond: PValue,
        u: usize,
        bits: u32,
    ) -> Result<(Value, bool), BackendError> {
        match st.fused(cond) {
            Some(x) => Ok((self.vmask(st, x, u, bits)?, true)),
            None => Ok((self.vmask(st, cond, u, bits)?, false)),
        }
    }

    /// Applies a scalar operation lane by lane (lanes `0..L`).
    pub(super) fn per_lane(
        &mut self,
        st: &mut VState,
        args: &[(VVal, ScalarType)],
        out: ScalarType,
        f: &mut LaneOp<'_, Self>,
    ) -> Result<VVal, BackendError> {
        let acc_ty = if out == ScalarType::Bool {
            int_vec(st.width)
        } else {
            vec_type(out)
        };
        let mut acc = self.zero_vec(acc_ty);
        for lane in 0..st.lanes as u8 {
            let mut scalars = Vec::with_capacity(args.len());
            for (arg, _) in args {
                scalars.push(match *arg {
                    VVal::Data(v) => self.b.ins().extractlane(v, lane),
                    VVal::Mask { v, .. } => {
                        let l = self.b.ins().extractlane(v, lane);
                        self.b.ins().icmp_imm_u(IntCC::NotEqual, l, 0)
                    }
                });
            }
            let mut r = f(self, &scalars)?;
            if out == ScalarType::Bool {
                let lane_ty = acc_ty.lane_type();
                if lane_ty != types::I8 {
                    r = self.b.ins().uextend(lane_ty, r);
                }
                r = self.b.ins().ineg(r);
            }
            acc = self.b.ins().insertlane(acc, r, lane);
        }
        Ok(if out == ScalarType::Bool {
            VVal::Mask {
                v: acc,
                bits: st.width,
            }
        } else {
            VVal::Data(acc)
        })
    }

    /// Lowers value `v` of sub-group `u` (a non-constant, non-parameter value).
    pub(super) fn vector_inst(
        &mut self,
        st: &mut VState,
        v: PValue,
        u: usize,
    ) -> Result<(), BackendError> {
        let pred = st.pred;
        let ty = pred.ty(v);
        let out = match pred.inst(v) {
            PInst::Const { .. } => return Ok(()),
            PInst::Param(_) => return Err(self.error("parameters are loaded by the loop")),
            PInst::Unary(_, _) if st.fused(v).is_some() => return Ok(()),
            PInst::Unary(op, a) => {
                let x = self.voperand(st, *a, u)?;
                match (op, x) {
                    (UnaryOp::Not, VVal::Mask { v, bits }) => VVal::Mask {
                        v: self.b.ins().bnot(v),
                        bits,
                    },
                    (UnaryOp::Not, VVal::Data(x)) => VVal::Data(self.b.ins().bnot(x)),
                    (UnaryOp::Neg, VVal::Data(x)) if ty.is_float() => {
                        VVal::Data(self.b.ins().fneg(x))
                    }
                    (UnaryOp::Neg, VVal::Data(x)) => VVal::Data(self.b.ins().ineg(x)),
                    _ => return Err(self.error(format!("{op:?} is not defined on {ty}"))),
                }
            }
            PInst::Binary(op, a, b) => self.vbinary(st, *op, *a, *b, u)?,
            PInst::Cmp(op, a, b) => self.vcompare(st, *op, *a, *b, u)?,
            PInst::Cast(a, to) => {
                let from = pred.ty(*a);
                let x = self.voperand(st, *a, u)?;
                self.vcast(st, x, from, *to)?
            }
            PInst::Bitcast(a, to) => {
                let x = self.vdata(st, *a, u)?;
                VVal::Data(self.vbitcast(vec_type(*to), x))
            }
            PInst::Select {
                cond,
                if_true,
                if_false,
            } => {
                if ty == ScalarType::Bool {
                    let bits = self
                        .mask_width(st, *if_true, u)?
                        .max(self.mask_width(st, *if_false, u)?);
                    let t = self.vmask(st, *if_true, u, bits)?;
                    let f = self.vmask(st, *if_false, u, bits)?;
                    let (c, swap) = self.select_cond(st, *cond, u, bits)?;
                    let (t, f) = if swap { (f, t) } else { (t, f) };
                    VVal::Mask {
                        v: self.blend(c, t, f, bits),
                        bits,
                    }
                } else {
                    let zero = |v: PValue| matches!(pred.inst(v), PInst::Const { bits: 0, .. });
                    let (c, swap) = self.select_cond(st, *cond, u, ty.bits())?;
                    let (t, f) = if swap {
                        (*if_false, *if_true)
                    } else {
                        (*if_true, *if_false)
                    };
                    let ity = int_vec(ty.bits());
                    if zero(f) || zero(t) {
                        // `c ? t : 0` is `c & t`, `c ? 0 : f` is `f & !c`.
                        let c = self.vbitcast(ity, c);
                        let r = if zero(f) {
                            let t = self.vdata(st, t, u)?;
                            let t = self.vbitcast(ity, t);
                            self.b.ins().band(c, t)
                        } else {
                            let f = self.vdata(st, f, u)?;
                            let f = self.vbitcast(ity, f);
                            self.b.ins().band_not(f, c)
                        };
                        VVal::Data(self.vbitcast(vec_type(ty), r))
                    } else {
                        let t = self.vdata(st, t, u)?;
                        let f = self.vdata(st, f, u)?;
                        VVal::Data(self.blend(c, t, f, ty.bits()))
                    }
                }
            }
            PInst::Intrinsic(op, args) => {
                self.check_intrinsic_caps(*op)?;
                let x: Vec<Value> = args
                    .iter()
                    .map(|a| self.vdata(st, *a, u))
                    .collect::<Result<_, _>>()?;
                VVal::Data(self.vintrinsic(*op, ty, &x))
            }
            PInst::LoadConst { table, index } => {
                let (table, elem) = (*table, ty);
                let i = self.voperand(st, *index, u)?;
                let gv = self.const_table_global(table)?;
                let shift = elem.size_bytes().trailing_zeros() as i64;
                let mut load = |lw: &mut Self, s: &[Value]| {
                    let base = lw.b.ins().symbol_value(POINTER, gv);
                    let bytes = lw.b.ins().ishl_imm_u(s[0], shift);
                    let addr = lw.b.ins().iadd(base, bytes);
                    let flags = MemFlagsData::trusted().with_readonly();
                    Ok(lw.b.ins().load(clif_type(elem), flags, addr, 0))
                };
                self.per_lane(st, &[(i, ScalarType::Usize)], elem, &mut load)?
            }
        };
        st.vals[u][v.0 as usize] = Some(out);
        Ok(())
    }

    pub(super) fn vbinary(
        &mut self,
        st: &mut VState,
        op: BinaryOp,
        a: PValue,
        b: PValue,
        u: usize,
    ) -> Result<VVal, BackendError> {
        let ty = st.pred.ty(a);
        if ty == ScalarType::Bool {
            let bits = self.mask_width(st, a, u)?.max(self.mask_width(st, b, u)?);
            if op == BinaryOp::And {
                // `a & !x` is one `andnps`.
                let (fa, fb) = (st.fused(a), st.fused(b));
                let (keep, negated) = match (fa, fb) {
                    (_, Some(x)) => (a, Some(x)),
                    (Some(x), None) => (b, Some(x)),
                    _ => (a, None),
                };
                if let Some(x) = negated {
                    let (k, x) = (self.vmask(st, keep, u, bits)?, self.vmask(st, x, u, bits)?);
                    return Ok(VVal::Mask {
                        v: self.b.ins().band_not(k, x),
                        bits,
                    });
                }
            }
            let (x, y) = (self.vmask(st, a, u, bits)?, self.vmask(st, b, u, bits)?);
            let v = match op {
                BinaryOp::And => self.b.ins().band(x, y),
                BinaryOp::Or => self.b.ins().bor(x, y),
                BinaryOp::Xor => self.b.ins().bxor(x, y),
                _ => return Err(self.error(format!("{op:?} is not defined on bool"))),
            };
            return Ok(VVal::Mask { v, bits });
        }
        if matches!(op, BinaryOp::Shl | BinaryOp::Shr) {
            return self.vshift(st, op, a, b, u);
        }
        let (x, y) = (self.vdata(st, a, u)?, self.vdata(st, b, u)?);
        Ok(VVal::Data(match op {
            BinaryOp::Add if ty.is_float() => self.b.ins().fadd(x, y),
            BinaryOp::Sub if ty.is_float() => self.b.ins().fsub(x, y),
            BinaryOp::Mul if ty.is_float() => self.b.ins().fmul(x, y),
            BinaryOp::Div if ty.is_float() => self.b.ins().fdiv(x, y),
            BinaryOp::Add => self.b.ins().iadd(x, y),
            BinaryOp::Sub => self.b.ins().isub(x, y),
            BinaryOp::Mul if ty.bits() == 8 => self.mul_i8x16(x, y),
            BinaryOp::Mul => self.b.ins().imul(x, y),
            BinaryOp::And => self.b.ins().band(x, y),
            BinaryOp::Or => self.b.ins().bor(x, y),
            BinaryOp::Xor => self.b.ins().bxor(x, y),
            BinaryOp::Div | BinaryOp::Rem if ty.is_int() => {
                // No vector integer division on x86: lane by lane. The predicated
                // form guarantees a safe divisor on every lane.
                let signed = ty.is_signed_int();
                let args = [(VVal::Data(x), ty), (VVal::Data(y), ty)];
                let mut div =
                    |lw: &mut Self, s: &[Value]| Ok(lw.unchecked_div_rem(op, signed, s[0], s[1]));
                match self.per_lane(st, &args, ty, &mut div)? {
                    VVal::Data(v) => v,
                    m => return Ok(m),
                }
            }
            _ => return Err(self.error(format!("{op:?} is not defined on {ty}"))),
        }))
    }
}

pub(super) fn mask_bits(v: VVal) -> u32 {
    match v {
        VVal::Mask { bits, .. } => bits,
        VVal::Data(_) => 8,
    }
}
