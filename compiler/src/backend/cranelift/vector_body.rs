//! The body of one vector-loop iteration: the predicated operations in their
//! schedule for every sub-group (interleaved, one operation for all sub-groups at
//! a time), skippable regions behind "does any lane need this" branches, the
//! loads of this iteration's input elements and the stores of its results, and
//! the test of the guards. The loops around it (strides, tail, fallback) are
//! `vector`'s and `vector_reduce`'s and are not known here; the operations
//! themselves are `vector_ops`'.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, BlockArg, InstBuilder, Value};
use cranelift_module::Module;

use super::lower::Lowerer;
use super::vector_ops::{data_flags, int_vec, vec_type, VState, VVal};
use super::BackendError;
use crate::ir::ScalarType;
use crate::passes::predicate::schedule::{Item, Region};
use crate::passes::predicate::{PInst, PValue, Predicated};

/// A predicated body ready for lane-parallel lowering.
pub(super) struct LaneBody {
    pub pred: Predicated,
    /// The order the body is emitted in, with its skippable regions.
    pub schedule: Vec<Item>,
    /// Lanes per vector: 128 bits over the widest type of the body.
    pub lanes: u32,
}

/// Where parameter `k` of a body gets its lanes for one group.
pub(super) enum Input {
    /// Loaded from memory: `lanes` consecutive elements per sub-group from
    /// `addr` on (an elementwise loop's operand).
    Memory { addr: Value, ty: ScalarType },
    /// Already in registers, one value per sub-group (a reduction's
    /// accumulators).
    Lanes(Vec<VVal>),
}

/// The CLIF value of a lane group (a data vector or a mask).
pub(super) fn vval_value(x: VVal) -> Value {
    match x {
        VVal::Data(v) | VVal::Mask { v, .. } => v,
    }
}

fn region_values(items: &[Item], out: &mut Vec<PValue>) {
    for i in items {
        match i {
            Item::Value(v) => out.push(*v),
            Item::Region(r) => region_values(&r.items, out),
        }
    }
}

impl<M: Module> Lowerer<'_, '_, M> {
    /// Computes the body for every sub-group (one operation at a time for all
    /// sub-groups, so independent work is interleaved); returns the results.
    pub(super) fn vector_group(
        &mut self,
        body: &LaneBody,
        st: &mut VState,
        inputs: &[Input],
    ) -> Result<Vec<VVal>, BackendError> {
        self.vector_items(body, st, inputs, &body.schedule)?;
        st.new_row();
        (0..st.unroll())
            .map(|u| self.voperand(st, body.pred.result, u))
            .collect()
    }

    pub(super) fn vector_items(
        &mut self,
        body: &LaneBody,
        st: &mut VState,
        inputs: &[Input],
        items: &[Item],
    ) -> Result<(), BackendError> {
        let pred = &body.pred;
        for item in items {
            let v = match item {
                Item::Value(v) => *v,
                Item::Region(r) => {
                    self.vector_region(body, st, inputs, r)?;
                    continue;
                }
            };
            self.set_span(pred.spans[v.0 as usize]);
            st.new_row();
            for u in 0..st.unroll() {
                match pred.inst(v) {
                    PInst::Param(k) => {
                        let x = match &inputs[*k as usize] {
                            Input::Memory { addr, ty } => self.load_lanes(st, *addr, *ty, u),
                            Input::Lanes(given) => given[u],
                        };
                        st.set(u, v, x);
                    }
                    _ => self.vector_inst(st, v, u)?,
                }
            }
        }
        Ok(())
    }

    /// A region behind `if some lane of some sub-group needs it`; on the skip path
    /// its outputs are zeros, which every user discards.
    pub(super) fn vector_region(
        &mut self,
        body: &LaneBody,
        st: &mut VState,
        inputs: &[Input],
        r: &Region,
    ) -> Result<(), BackendError> {
        // Nothing cached may cross the region's blocks.
        st.new_row();
        let mut all: Option<Value> = None;
        for u in 0..st.unroll() {
            let m = self.vmask(st, r.when, u, st.width)?;
            all = Some(match (all, r.negated) {
                (None, _) => m,
                (Some(a), false) => self.b.ins().bor(a, m),
                (Some(a), true) => self.b.ins().band(a, m),
            });
        }
        let Some(all) = all else {
            return Ok(());
        };
        let test = if r.negated {
            self.b.ins().vall_true(all)
        } else {
            self.b.ins().vany_true(all)
        };
        let (run, skip, cont) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        if r.negated {
            self.b.ins().brif(test, skip, &[], run, &[]);
        } else {
            self.b.ins().brif(test, run, &[], skip, &[]);
        }
        self.b.switch_to_block(run);
        let masks = st.masks_snapshot();
        self.vector_items(body, st, inputs, &r.items)?;
        let mut outs = Vec::new();
        for v in &r.outputs {
            for u in 0..st.unroll() {
                let x = st
                    .get(u, *v)
                    .ok_or_else(|| self.error(format!("region output p{} not computed", v.0)))?;
                outs.push(x);
            }
        }
        let args: Vec<BlockArg> = outs.iter().map(|x| vval_value(*x).into()).collect();
        self.b.ins().jump(cont, &args);
        self.b.switch_to_block(skip);
        let mut zeros = Vec::new();
        for x in &outs {
            let ty = self.b.func.dfg.value_type(vval_value(*x));
            let c = self.b.func.dfg.constants.insert(vec![0u8; 16].into());
            zeros.push(BlockArg::from(self.b.ins().vconst(ty, c)));
        }
        self.b.ins().jump(cont, &zeros);
        self.b.switch_to_block(cont);
        st.new_row();
        st.restore_masks(masks);
        let mut defined = Vec::new();
        region_values(&r.items, &mut defined);
        for v in defined {
            for u in 0..st.unroll() {
                st.clear(u, v);
            }
        }
        let mut k = 0;
        for v in &r.outputs {
            for u in 0..st.unroll() {
                let ty = self.b.func.dfg.value_type(vval_value(outs[k]));
                let param = self.b.append_block_param(cont, ty);
                let x = match outs[k] {
                    VVal::Data(_) => VVal::Data(param),
                    VVal::Mask { bits, .. } => VVal::Mask { v: param, bits },
                };
                st.set(u, *v, x);
                k += 1;
            }
        }
        Ok(())
    }

    /// Elements `u*L .. (u+1)*L` of type `ty` from `addr` on.
    pub(super) fn load_lanes(
        &mut self,
        st: &VState,
        addr: Value,
        ty: ScalarType,
        u: usize,
    ) -> VVal {
        let bytes = st.lanes as usize * ty.size_bytes();
        let offset = (u * bytes) as i32;
        let raw_ty = vec_type(ty);
        let raw = if bytes == 16 {
            self.b.ins().load(raw_ty, data_flags(), addr, offset)
        } else {
            let (scalar, vector) = match bytes {
                8 => (types::I64, types::I64X2),
                4 => (types::I32, types::I32X4),
                _ => (types::I16, types::I16X8),
            };
            let x = self.b.ins().load(scalar, data_flags(), addr, offset);
            let v = self.b.ins().scalar_to_vector(vector, x);
            self.vbitcast(raw_ty, v)
        };
        if ty == ScalarType::Bool {
            let zero = self.splat_const(types::I8X16, 8, 0);
            let m = self.b.ins().icmp(IntCC::NotEqual, raw, zero);
            VVal::Mask { v: m, bits: 8 }
        } else {
            VVal::Data(raw)
        }
    }

    /// The result in its stored form (bools as bytes 0/1).
    pub(super) fn stored_form(&mut self, r: VVal) -> Value {
        match r {
            VVal::Data(v) => v,
            VVal::Mask { v, bits } => {
                let bytes = self.resize_lanes(v, bits, 8, true);
                let one = self.splat_const(types::I8X16, 8, 1);
                self.b.ins().band(bytes, one)
            }
        }
    }

    /// Stores the low `bytes` bytes of `v` at `addr + offset`.
    pub(super) fn store_lanes(&mut self, v: Value, bytes: usize, addr: Value, offset: i32) {
        if bytes == 16 {
            self.b.ins().store(data_flags(), v, addr, offset);
            return;
        }
        let vector = match bytes {
            8 => types::I64X2,
            4 => types::I32X4,
            _ => types::I16X8,
        };
        let v = self.vbitcast(vector, v);
        let low = self.b.ins().extractlane(v, 0);
        self.b.ins().store(data_flags(), low, addr, offset);
    }

    /// Whether some guard holds on some lane of some sub-group (`None`: no guards).
    pub(super) fn guards_hold(
        &mut self,
        st: &mut VState,
        unroll: usize,
    ) -> Result<Option<Value>, BackendError> {
        let guards: Vec<PValue> = st.pred.guards.iter().map(|g| g.when).collect();
        let mut any: Option<Value> = None;
        for u in 0..unroll {
            for g in &guards {
                let m = self.vmask(st, *g, u, st.width)?;
                any = Some(match any {
                    Some(a) => self.b.ins().bor(a, m),
                    None => m,
                });
            }
        }
        Ok(any.map(|a| {
            let a = self.vbitcast(int_vec(st.width), a);
            self.b.ins().vany_true(a)
        }))
    }
}
