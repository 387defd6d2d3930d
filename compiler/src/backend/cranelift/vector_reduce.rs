//! The SIMD path of batched block reductions ([`FunctionKind::ReductionBatch`]
//! with [`BatchRuns::Blocks`], built by `loops::reduce_batch`).
//!
//! The block order of `loops::reduce_loop` keeps eight accumulators,
//! `r[k] = f(r[k], x[8j + k])`: over a contiguous block that is exactly what
//! `8 / L` vectors of `L` lanes compute with the combiner applied lane by lane
//! (`r0..r7` as four `f64x2`, or two `f32x4`), and each lane does the very
//! operations of the scalar code, so the bits are the same. The combining tree
//! `f(f(f(r0, r1), f(r2, r3)), f(f(r4, r5), f(r6, r7)))` packs its pairs into
//! lanes the same way, and the in-order parts (a block of fewer than eight
//! elements, the `n mod 8` left after the groups) run the combiner on lane 0.
//!
//! It owns the shape of that loop and when it applies: the combiner must
//! if-convert without guards (it can never trap or need scalar code), the
//! element and accumulator types be one 32- or 64-bit type, the lanes of `x`
//! be contiguous and `out` big enough that no store is out of bounds.
//! Otherwise (a strided `x`, a wrong `out`, any other combiner) the function
//! runs its IR body, which is the semantics. The lane-parallel combiner is
//! `vector_body`'s.
//!
//! ```text
//! entry:  if x's axis-1 stride is 1 and out is at least lanes × blocks:
//!         for lane, for block (the IR's iterations, in their order):
//!           len < 8:  r = x[0], i = 1                      (in order)
//!           else:     acc = x[0..8] as vectors, i = 8
//!                     while i + 8 <= len: acc = f(acc, x[i..i + 8]), i += 8
//!                     r = the tree of the eight lanes
//!           while i < len: r = f(r, x[i]), i += 1         (in order)
//!           out[lane, block] = r
//!         else: the IR body
//! ```

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, BlockArg, InstBuilder, Value};
use cranelift_module::Module;

use super::lower::{clif_type, Lowerer};
use super::vector::lane_body;
use super::vector_body::{vval_value, Input, LaneBody};
use super::vector_ops::{data_flags, vec_type, VState, VVal};
use super::BackendError;
use crate::ir::{self, ArrayDesc, FuncId, LocalId, Program, ScalarType};
use crate::loops::reduce_batch::BlockBatch;
use crate::loops::reduce_loop::{BLOCK, LANES};
use crate::passes::predicate::lane_combiner;

/// Everything the SIMD lowering of one block-reduction batch needs.
pub(super) struct ReducePlan {
    kernel: LaneBody,
    x: LocalId,
    out: LocalId,
    /// The element type, which is also the accumulator's.
    ty: ScalarType,
}

/// The SIMD plan of `func`, or `None` when it has no vector path (see the
/// module docs).
pub(super) fn reduce_plan(program: &Program, func: &ir::Function) -> Option<ReducePlan> {
    let batch = BlockBatch::of(func)?;
    let kernel = combiner_body(program, batch.combine, batch.ty)?;
    if !LANES.is_multiple_of(kernel.lanes as usize) {
        return None;
    }
    Some(ReducePlan {
        kernel,
        x: batch.x,
        out: batch.out,
        ty: batch.ty,
    })
}

/// The lane-parallel body of the combiner `combine` of a fold in `ty`:
/// `(ty, ty) -> ty` with no guard (it can never trap), or `None`. The block
/// folds here and the row folds (`vector_rows`) both need it.
pub(super) fn combiner_body(
    program: &Program,
    combine: FuncId,
    ty: ScalarType,
) -> Option<LaneBody> {
    lane_body(lane_combiner(program, combine, ty)?)
}

impl<M: Module> Lowerer<'_, '_, M> {
    pub(super) fn lower_reduce_batch(&mut self, plan: &ReducePlan) -> Result<(), BackendError> {
        let span = self.func.span;
        self.set_span(span);
        let size = plan.ty.size_bytes() as i64;
        let (x, out) = (self.desc(plan.x)?, self.desc(plan.out)?);
        let axis = |field: i32, k: i32| field + 8 * k;
        let lanes = self.field(x, axis(ArrayDesc::SHAPE_OFFSET, 0));
        let n = self.field(x, axis(ArrayDesc::SHAPE_OFFSET, 1));
        let x_lane_stride = self.field(x, axis(ArrayDesc::STRIDES_OFFSET, 0));
        let x_stride = self.field(x, axis(ArrayDesc::STRIDES_OFFSET, 1));
        let out_rows = self.field(out, axis(ArrayDesc::SHAPE_OFFSET, 0));
        let out_cols = self.field(out, axis(ArrayDesc::SHAPE_OFFSET, 1));
        let out_row_stride = self.field(out, axis(ArrayDesc::STRIDES_OFFSET, 0));
        let out_col_stride = self.field(out, axis(ArrayDesc::STRIDES_OFFSET, 1));
        let (x_data, out_data) = (self.field(x, 0), self.field(out, 0));
        // blocks = ceil(n / BLOCK), as the IR computes it.
        let rounded_up = self.b.ins().iadd_imm_s(n, BLOCK as i64 - 1);
        let blocks = self
            .b
            .ins()
            .ushr_imm_u(rounded_up, BLOCK.trailing_zeros() as i64);
        let contiguous = self.b.ins().icmp_imm_s(IntCC::Equal, x_stride, 1);
        let rows_fit = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, out_rows, lanes);
        let cols_fit = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, out_cols, blocks);
        let ok = self.b.ins().band(contiguous, rows_fit);
        let ok = self.b.ins().band(ok, cols_fit);
        let (vector, scalar) = (self.b.create_block(), self.b.create_block());
        self.b.ins().brif(ok, vector, &[], scalar, &[]);

        self.b.switch_to_block(scalar);
        let body = &self.func.body;
        self.lower_block(body)?;
        self.return_dummy();

        // for lane in 0..lanes
        self.b.switch_to_block(vector);
        let (lane_head, lane_body, ret) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let lane = self.b.append_block_param(lane_head, types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.ins().jump(lane_head, &[zero.into()]);
        self.b.switch_to_block(lane_head);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, lane, lanes);
        self.b.ins().brif(more, lane_body, &[], ret, &[]);
        self.b.switch_to_block(lane_body);
        let x_lane = self.offset(x_data, lane, x_lane_stride, size);
        let out_lane = self.offset(out_data, lane, out_row_stride, size);
        // for block in 0..blocks
        let (block_head, block_body, lane_next) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let block = self.b.append_block_param(block_head, types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.ins().jump(block_head, &[zero.into()]);
        self.b.switch_to_block(block_head);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, block, blocks);
        self.b.ins().brif(more, block_body, &[], lane_next, &[]);
        self.b.switch_to_block(block_body);
        let start = self.b.ins().imul_imm_s(block, BLOCK as i64);
        let left = self.b.ins().isub(n, start);
        let block_len = self.b.ins().iconst(types::I64, BLOCK as i64);
        let len = self.b.ins().umin(left, block_len);
        let first = self.offset_const(x_lane, start, size);
        let r = self.block_reduction(plan, first, len)?;
        let at = self.offset(out_lane, block, out_col_stride, size);
        self.b.ins().store(data_flags(), r, at, 0);
        let next = self.b.ins().iadd_imm_s(block, 1);
        self.b.ins().jump(block_head, &[next.into()]);
        self.b.switch_to_block(lane_next);
        let next = self.b.ins().iadd_imm_s(lane, 1);
        self.b.ins().jump(lane_head, &[next.into()]);

        self.b.switch_to_block(ret);
        self.b.ins().return_(&[]);
        Ok(())
    }

    /// `base + index * stride * size` (bytes; `size` a constant).
    fn offset(&mut self, base: Value, index: Value, stride: Value, size: i64) -> Value {
        let elements = self.b.ins().imul(index, stride);
        let bytes = self.b.ins().imul_imm_s(elements, size);
        self.b.ins().iadd(base, bytes)
    }

    /// The reduction, in the block order, of the `len >= 1` contiguous elements
    /// from `first` on: a scalar of the plan's type.
    fn block_reduction(
        &mut self,
        plan: &ReducePlan,
        first: Value,
        len: Value,
    ) -> Result<Value, BackendError> {
        let (ty, lanes) = (plan.ty, plan.kernel.lanes as usize);
        let (scalar_ty, vector_ty) = (clif_type(ty), vec_type(ty));
        let size = ty.size_bytes() as i64;
        let vectors = LANES / lanes;
        let (small, large, in_order) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let r = self.b.append_block_param(in_order, scalar_ty);
        let i = self.b.append_block_param(in_order, types::I64);
        let is_small = self
            .b
            .ins()
            .icmp_imm_u(IntCC::UnsignedLessThan, len, LANES as i64);
        self.b.ins().brif(is_small, small, &[], large, &[]);

        // len < 8: in order from x[0].
        self.b.switch_to_block(small);
        let x0 = self.b.ins().load(scalar_ty, data_flags(), first, 0);
        let one = self.b.ins().iconst(types::I64, 1);
        self.b.ins().jump(in_order, &[x0.into(), one.into()]);

        // len >= 8: the accumulators x[0..8], then one group of eight per step.
        self.b.switch_to_block(large);
        let st = VState::new(&plan.kernel.pred, lanes as u32, vectors);
        let accumulators: Vec<Value> = (0..vectors)
            .map(|u| vval_value(self.load_lanes(&st, first, ty, u)))
            .collect();
        let (group_head, group_body, tree) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let i_group = self.b.append_block_param(group_head, types::I64);
        let current: Vec<Value> = (0..vectors)
            .map(|_| self.b.append_block_param(group_head, vector_ty))
            .collect();
        let eight = self.b.ins().iconst(types::I64, LANES as i64);
        let mut args: Vec<BlockArg> = vec![eight.into()];
        args.extend(accumulators.iter().map(|&v| BlockArg::from(v)));
        self.b.ins().jump(group_head, &args);
        self.b.switch_to_block(group_head);
        let end = self.b.ins().iadd_imm_s(i_group, LANES as i64);
        let fits = self.b.ins().icmp(IntCC::UnsignedLessThanOrEqual, end, len);
        self.b.ins().brif(fits, group_body, &[], tree, &[]);
        self.b.switch_to_block(group_body);
        let addr = self.offset_const(first, i_group, size);
        let mut st = VState::new(&plan.kernel.pred, lanes as u32, vectors);
        let inputs = [
            Input::Lanes(current.iter().map(|&v| VVal::Data(v)).collect()),
            Input::Memory { addr, ty },
        ];
        let next = self.vector_group(&plan.kernel, &mut st, &inputs)?;
        let mut args: Vec<BlockArg> = vec![end.into()];
        for v in next {
            args.push(vval_value(v).into());
        }
        self.b.ins().jump(group_head, &args);

        // f(f(f(r0, r1), f(r2, r3)), f(f(r4, r5), f(r6, r7))), pairs packed
        // into lanes.
        self.b.switch_to_block(tree);
        let mut level: Vec<Value> = (0..LANES)
            .map(|k| {
                let lane = (k % lanes) as u8;
                self.b.ins().extractlane(current[k / lanes], lane)
            })
            .collect();
        while level.len() > 1 {
            let (lefts, rights): (Vec<Value>, Vec<Value>) =
                level.chunks(2).map(|pair| (pair[0], pair[1])).unzip();
            level = self.combine_pairs(&plan.kernel, plan.ty, &lefts, &rights)?;
        }
        self.b
            .ins()
            .jump(in_order, &[level[0].into(), i_group.into()]);

        // The rest one element at a time: all of a small block, the tail of a
        // large one.
        self.b.switch_to_block(in_order);
        let (step, done) = (self.b.create_block(), self.b.create_block());
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, i, len);
        self.b.ins().brif(more, step, &[], done, &[]);
        self.b.switch_to_block(step);
        let addr = self.offset_const(first, i, size);
        let xi = self.b.ins().load(scalar_ty, data_flags(), addr, 0);
        let next = self.combine_pairs(&plan.kernel, plan.ty, &[r], &[xi])?[0];
        let i_next = self.b.ins().iadd_imm_s(i, 1);
        self.b.ins().jump(in_order, &[next.into(), i_next.into()]);
        self.b.switch_to_block(done);
        Ok(r)
    }

    /// `base + index * size` (bytes; `size` a constant).
    pub(super) fn offset_const(&mut self, base: Value, index: Value, size: i64) -> Value {
        let bytes = self.b.ins().imul_imm_s(index, size);
        self.b.ins().iadd(base, bytes)
    }

    /// `f(lefts[k], rights[k])` for every `k`, as scalars of `ty` (the type of
    /// both parameters and the result of `kernel`), the pairs packed into the
    /// lanes of as few vector combinations as they fill.
    pub(super) fn combine_pairs(
        &mut self,
        kernel: &LaneBody,
        ty: ScalarType,
        lefts: &[Value],
        rights: &[Value],
    ) -> Result<Vec<Value>, BackendError> {
        let lanes = kernel.lanes as usize;
        let mut results = Vec::with_capacity(lefts.len());
        for (ls, rs) in lefts.chunks(lanes).zip(rights.chunks(lanes)) {
            let (a, b) = (self.pack(ty, ls), self.pack(ty, rs));
            let mut st = VState::new(&kernel.pred, lanes as u32, 1);
            let inputs = [
                Input::Lanes(vec![VVal::Data(a)]),
                Input::Lanes(vec![VVal::Data(b)]),
            ];
            let r = vval_value(self.vector_group(kernel, &mut st, &inputs)?[0]);
            for k in 0..ls.len() {
                results.push(self.b.ins().extractlane(r, k as u8));
            }
        }
        Ok(results)
    }

    /// A vector of `ty` whose first lanes are `scalars` (the others copies of
    /// the first, which no lane-parallel operation can trap on).
    fn pack(&mut self, ty: ScalarType, scalars: &[Value]) -> Value {
        let mut v = self.b.ins().splat(vec_type(ty), scalars[0]);
        for (k, &s) in scalars.iter().enumerate().skip(1) {
            v = self.b.ins().insertlane(v, s, k as u8);
        }
        v
    }
}
