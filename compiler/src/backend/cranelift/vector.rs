//! The SIMD fast path of elementwise loops ([`FunctionKind::ElementwiseLoop`]).
//!
//! It owns the *shape* of the generated loop: the run-time stride check, the
//! unrolled vector loop over groups of `lanes × unroll` elements with its loads and
//! stores, the guard test that sends a whole group to the scalar code, and the
//! scalar loops (strided path, tail and fallback) built from the loop function's
//! own IR body. One iteration's body is `vector_body`, the lane-parallel
//! operations `vector_ops`; whether a body can run lane-parallel at all is decided
//! target-neutrally by [`crate::passes::predicate`]. It does not know how units are
//! linked (`engine`).
//!
//! ```text
//! entry:    n = out.len; if every input stride is 0 or 1, out's stride is 1 and
//!           n >= G: setup, else the strided scalar loop over 0..n, then return
//! setup:    zero-stride inputs splatted once into a G-element stack buffer that is
//!           read with a step of 0; i = 0
//! head:     if i <= n - G: body, else the scalar loop over i..n (tail), return
//! body:     load G elements of each input, compute the predicated body for
//!           `unroll` sub-groups; if any guard holds on any lane: the scalar loop
//!           over i..i+G (fallback), then back to head at i + G
//! store:    store G results; i += G; head
//! ```
//!
//! Stores happen only after the guards passed, so a group that falls back has not
//! written anything, and outputs that alias their inputs element for element see
//! the same values as in the scalar loop. The scalar loop is the IR loop body, so a
//! trap raised there has exactly the interpreter's element and side effects.

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{
    types, Block, InstBuilder, StackSlot, StackSlotData, StackSlotKind, Value,
};
use cranelift_module::Module;

use super::lower::{clif_type, Lowerer, POINTER};
use super::vector_body::{Input, LaneBody};
use super::vector_ops::{data_flags, vec_type, VState};
use super::BackendError;
use crate::ir::{
    self, ArrayDesc, BinaryOp, CmpOp, FunctionKind, InstKind, LocalId, Program, ScalarType,
    ScalarValue, Type, ValueId,
};
use crate::passes::predicate::schedule::schedule;
use crate::passes::predicate::{if_convert, PInst, Predicated};

/// Sub-groups per loop iteration. Measured on the transcendental body
/// `(-x*x).exp() * x.sin() + x.abs().ln_1p()` (f64, 2 lanes): 1 → 1.05×, 2 →
/// 1.27×, 3 → 1.25×, 4 → 1.14× the speed of Rust+libm; beyond 2 the 16 xmm
/// registers spill more than the extra independent work gains. Memory-bound loops
/// do not care.
const UNROLL: usize = 2;

/// Regions smaller than this are computed unconditionally (the test and branch
/// cost about as much as a few vector instructions).
const MIN_REGION: usize = 6;

/// Everything the SIMD lowering of one loop function needs.
pub(super) struct Plan<'f> {
    pub kernel: LaneBody,
    pub inputs: Vec<(LocalId, ScalarType)>,
    pub out: (LocalId, ScalarType),
    /// The loop counter local `i`, its value in the loop body and `out.len()`.
    pub counter: LocalId,
    pub index: ValueId,
    pub len: ValueId,
    /// The IR loop body: loads, the inlined element, the store.
    pub body: &'f ir::Block,
    pub unroll: usize,
}

/// The SIMD plan of loop function `func`, or `None` when it has no vector path
/// (not the shape `loops::elementwise` builds, or a body that cannot be if-converted).
pub(super) fn plan<'f>(program: &Program, func: &'f ir::Function) -> Option<Plan<'f>> {
    let FunctionKind::ElementwiseLoop { element } = func.kind else {
        return None;
    };
    let mut arrays = Vec::new();
    for p in &func.params {
        match func.local(p.local).ty {
            Type::Array(a) if a.rank == 1 => arrays.push((p.local, a.elem, a.mutable)),
            _ => return None,
        }
    }
    let (out_local, out_ty, true) = arrays.pop()? else {
        return None;
    };
    let [len_inst, loop_inst, ret] = &func.body.insts[..] else {
        return None;
    };
    let (InstKind::ArrayLen { array, axis: 0 }, Some(len), InstKind::Return(None)) =
        (&len_inst.kind, len_inst.result, &ret.kind)
    else {
        return None;
    };
    let InstKind::Loop {
        header,
        cond: Some(cond),
        body,
        latch,
        ..
    } = &loop_inst.kind
    else {
        return None;
    };
    if *array != out_local {
        return None;
    }
    let [get, cmp] = &header.insts[..] else {
        return None;
    };
    let (InstKind::GetLocal(counter), Some(index)) = (&get.kind, get.result) else {
        return None;
    };
    if cmp.kind != InstKind::Cmp(CmpOp::Lt, index, len) || cmp.result != Some(*cond) {
        return None;
    }
    // The latch must be exactly `i = i + 1`: the backend steps the index itself.
    let [one, add, set] = &latch.insts[..] else {
        return None;
    };
    let (Some(one_v), Some(next)) = (one.result, add.result) else {
        return None;
    };
    if one.kind != InstKind::Const(ScalarValue::Usize(1))
        || add.kind != InstKind::Binary(BinaryOp::Add, index, one_v)
        || set.kind != InstKind::SetLocal(*counter, next)
    {
        return None;
    }
    let kernel = lane_body(if_convert(program, element).ok()?)?;
    let inputs: Vec<(LocalId, ScalarType)> = arrays.iter().map(|(l, t, _)| (*l, *t)).collect();
    if kernel.pred.params != inputs.iter().map(|(_, t)| *t).collect::<Vec<_>>()
        || kernel.pred.ret != out_ty
    {
        return None;
    }
    Some(Plan {
        kernel,
        inputs,
        out: (out_local, out_ty),
        counter: *counter,
        index,
        len,
        body,
        unroll: UNROLL,
    })
}

/// The lane-parallel form of a predicated body, or `None` when it has an
/// operation the lane lowering has no form for.
pub(super) fn lane_body(pred: Predicated) -> Option<LaneBody> {
    if !supported(&pred) {
        return None;
    }
    let widest = pred
        .types
        .iter()
        .chain(&pred.params)
        .chain(std::iter::once(&pred.ret))
        .map(|t| t.bits())
        .max()
        .unwrap_or(8);
    Some(LaneBody {
        schedule: schedule(&pred, MIN_REGION),
        pred,
        lanes: 128 / widest,
    })
}

/// Operations the lane lowering has no form for (none the front end produces).
fn supported(pred: &Predicated) -> bool {
    pred.insts.iter().enumerate().all(|(i, inst)| {
        let ty = pred.types[i];
        match inst {
            PInst::Bitcast(a, _) => ty != ScalarType::Bool && pred.ty(*a) != ScalarType::Bool,
            PInst::Cast(a, to) => !(pred.ty(*a).is_float() && *to == ScalarType::Bool),
            PInst::Binary(op, a, _) => {
                pred.ty(*a) != ScalarType::Bool
                    || matches!(op, BinaryOp::And | BinaryOp::Or | BinaryOp::Xor)
            }
            PInst::Intrinsic(_, args) => args.iter().all(|a| pred.ty(*a).is_float()),
            PInst::Unary(ir::UnaryOp::Neg, a) => pred.ty(*a) != ScalarType::Bool,
            _ => true,
        }
    })
}

impl<M: Module> Lowerer<'_, '_, M> {
    pub(super) fn lower_elementwise(&mut self, plan: &Plan) -> Result<(), BackendError> {
        let span = self.func.span;
        self.set_span(span);
        let group = plan.kernel.lanes as i64 * plan.unroll as i64;
        let n = self.array_len(plan.out.0, 0)?;
        self.bind_value(plan.len, n)?;
        let out_desc = self.desc(plan.out.0)?;
        let out_stride = self.field(out_desc, ArrayDesc::STRIDES_OFFSET);
        let mut ok = self.b.ins().icmp_imm_s(IntCC::Equal, out_stride, 1);
        let mut strides = Vec::new();
        for (local, _) in &plan.inputs {
            let desc = self.desc(*local)?;
            let stride = self.field(desc, ArrayDesc::STRIDES_OFFSET);
            let small = self.b.ins().icmp_imm_u(IntCC::UnsignedLessThan, stride, 2);
            ok = self.b.ins().band(ok, small);
            strides.push((desc, stride));
        }
        let big = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedGreaterThanOrEqual, n, group);
        ok = self.b.ins().band(ok, big);

        // The splat buffers are made here, where this dominates both paths, and
        // filled on the vector path only (that reads element 0, which exists only
        // when n > 0); the loop reads each input's base and stride itself
        // (`stream_address`).
        let fills: Vec<(StackSlot, Value, i64)> = strides
            .iter()
            .zip(&plan.inputs)
            .map(|((desc, _), (_, ty))| self.splat_buffer(*desc, *ty, group))
            .collect();
        let limit = self.b.ins().iadd_imm_s(n, -group);
        let i = self.b.declare_var(types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.def_var(i, zero);

        let ret = self.b.create_block();
        let (setup, strided) = (self.b.create_block(), self.b.create_block());
        self.b.ins().brif(ok, setup, &[], strided, &[]);

        self.b.switch_to_block(setup);
        for (fill, (_, ty)) in fills.iter().zip(&plan.inputs) {
            self.fill_splat(*fill, *ty);
        }
        let v_head = self.b.create_block();
        self.b.ins().jump(v_head, &[]);

        let (v_body, tail, store) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        self.b.switch_to_block(v_head);
        let iv = self.b.use_var(i);
        let more = self.b.ins().icmp(IntCC::SignedLessThanOrEqual, iv, limit);
        self.b.ins().brif(more, v_body, &[], tail, &[]);

        self.b.switch_to_block(v_body);
        let iv = self.b.use_var(i);
        let mut st = VState::new(&plan.kernel.pred, plan.kernel.lanes, plan.unroll);
        let mut inputs = Vec::new();
        for ((local, ty), (slot, _, _)) in plan.inputs.iter().zip(&fills) {
            let addr = self.stream_address(*local, *slot, *ty, iv)?;
            inputs.push(Input::Memory { addr, ty: *ty });
        }
        let results = self.vector_group(&plan.kernel, &mut st, &inputs)?;
        let any = self.guards_hold(&mut st, plan.unroll)?;
        let fallback = self.b.create_block();
        match any {
            Some(any) => {
                self.b.ins().brif(any, fallback, &[], store, &[]);
            }
            None => {
                self.b.ins().jump(store, &[]);
            }
        }

        self.b.switch_to_block(store);
        self.set_span(span);
        let out_ty = plan.out.1;
        let shift = out_ty.size_bytes().trailing_zeros() as i64;
        let offset = self.b.ins().ishl_imm_u(iv, shift);
        let out_desc = self.desc(plan.out.0)?;
        let out_base = self.field(out_desc, 0);
        let out_addr = self.b.ins().iadd(out_base, offset);
        for (u, r) in results.iter().enumerate() {
            let bytes = plan.kernel.lanes as usize * out_ty.size_bytes();
            let r = self.stored_form(*r);
            self.store_lanes(r, bytes, out_addr, (u * bytes) as i32);
        }
        let next = self.b.ins().iadd_imm_s(iv, group);
        self.b.def_var(i, next);
        self.b.ins().jump(v_head, &[]);

        // The strided path, the tail and fallback groups share one scalar loop;
        // after it, `ret_or_more` returns at the end of the array or resumes the
        // vector loop (never after the strided path, which runs to the end).
        let ret_or_more = self.b.create_block();
        self.b.append_block_param(ret_or_more, types::I64);
        let g_head = self.scalar_loop(plan, ret, ret_or_more)?;
        self.b.switch_to_block(strided);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.ins().jump(g_head, &[zero.into(), n.into()]);
        self.b.switch_to_block(tail);
        let iv = self.b.use_var(i);
        self.b.ins().jump(g_head, &[iv.into(), n.into()]);
        if any.is_some() {
            self.b.switch_to_block(fallback);
            let iv = self.b.use_var(i);
            let end = self.b.ins().iadd_imm_s(iv, group);
            self.b.ins().jump(g_head, &[iv.into(), end.into()]);
        }

        self.b.switch_to_block(ret_or_more);
        let end = self.b.block_params(ret_or_more)[0];
        let done = self.b.ins().icmp(IntCC::Equal, end, n);
        let more = self.b.create_block();
        self.b.ins().brif(done, ret, &[], more, &[]);
        self.b.switch_to_block(more);
        self.b.def_var(i, end);
        self.b.ins().jump(v_head, &[]);

        self.b.switch_to_block(ret);
        self.b.ins().return_(&[]);
        Ok(())
    }

    pub(super) fn desc(&mut self, local: LocalId) -> Result<Value, BackendError> {
        let var = self.var(local)?;
        Ok(self.b.use_var(var))
    }

    /// The read-only descriptor field at byte `offset`.
    pub(super) fn field(&mut self, desc: Value, offset: i32) -> Value {
        let flags = cranelift_codegen::ir::MemFlagsData::trusted()
            .with_readonly()
            .with_can_move();
        self.b.ins().load(types::I64, flags, desc, offset)
    }

    /// `for j in start..end { IR body }` with `(start, end)` the parameters of the
    /// returned head block; jumps to `exit(end)` after the last element. A `break`
    /// of the IR loop goes to `brk`.
    fn scalar_loop(&mut self, plan: &Plan, brk: Block, exit: Block) -> Result<Block, BackendError> {
        let (head, body, latch, done) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let j = self.b.append_block_param(head, types::I64);
        let end = self.b.append_block_param(head, types::I64);
        self.b.switch_to_block(head);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, j, end);
        self.b.ins().brif(more, body, &[], done, &[]);
        self.b.switch_to_block(body);
        self.bind_value(plan.index, j)?;
        let counter = self.var(plan.counter)?;
        self.b.def_var(counter, j);
        self.lower_block_in_loop(plan.body, latch, brk)?;
        self.b.ins().jump(latch, &[]);
        self.b.switch_to_block(latch);
        let next = self.b.ins().iadd_imm_s(j, 1);
        self.b.ins().jump(head, &[next.into(), end.into()]);
        self.b.switch_to_block(done);
        self.b.ins().jump(exit, &[end.into()]);
        Ok(head)
    }

    /// The buffer a zero-stride input is read from in the vector loop, sized for
    /// `group` copies of its element, with the input's data pointer (what
    /// [`Self::fill_splat`] fills it from) and its size in bytes.
    fn splat_buffer(&mut self, desc: Value, ty: ScalarType, group: i64) -> (StackSlot, Value, i64) {
        let size = ty.size_bytes() as i64;
        let data = self.field(desc, 0);
        let bytes = ((group * size).max(16) + 15) / 16 * 16;
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            bytes as u32,
            4,
        ));
        (slot, data, bytes)
    }

    /// Where the vector loop reads input `local` at element `iv`: the array
    /// (unit stride) or its splat buffer `slot` (zero stride). Base and step are
    /// read from the descriptor here, inside the loop, rather than computed
    /// before it: values kept live across the loop made the register allocator
    /// store them back to their spill slots on every iteration.
    fn stream_address(
        &mut self,
        local: LocalId,
        slot: StackSlot,
        ty: ScalarType,
        iv: Value,
    ) -> Result<Value, BackendError> {
        let desc = self.desc(local)?;
        let stride = self.field(desc, ArrayDesc::STRIDES_OFFSET);
        let data = self.field(desc, 0);
        let buffer = self.b.ins().stack_addr(POINTER, slot, 0);
        let is_zero = self.b.ins().icmp_imm_s(IntCC::Equal, stride, 0);
        let base = self.b.ins().select(is_zero, buffer, data);
        let step = self.b.ins().imul_imm_s(stride, ty.size_bytes() as i64);
        let offset = self.b.ins().imul(iv, step);
        Ok(self.b.ins().iadd(base, offset))
    }

    /// Splats element 0 into a zero-stride input's buffer (harmless for a unit
    /// stride; n >= group >= 1 here, so element 0 exists).
    fn fill_splat(&mut self, (slot, data, bytes): (StackSlot, Value, i64), ty: ScalarType) {
        let first = self.b.ins().load(clif_type(ty), data_flags(), data, 0);
        let splat = self.b.ins().splat(vec_type(ty), first);
        for k in 0..bytes / 16 {
            self.b
                .ins()
                .stack_store(POINTER, splat, slot, (16 * k) as i32);
        }
    }
}
