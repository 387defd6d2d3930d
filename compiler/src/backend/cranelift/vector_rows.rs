//! The SIMD path of row folds ([`FunctionKind::RowFold`], built by
//! `loops::row_fold`): `acc[i] = f(acc[i], x[i, j])` for every row `j`, then
//! every lane `i`.
//!
//! The IR runs row after row, loading and storing every accumulator once per
//! row. When the combiner can never trap (it if-converts without guards), no
//! lane can observe another and the order of the lanes' steps is free, as long
//! as each lane folds its own elements in order: this path keeps a group of
//! [`VECTORS`] vectors of accumulators in registers while [`ROWS`] rows pass
//! (`r = f(f(f(r, x[j]), x[j+1]), ..)` lane by lane — the very operations of
//! the IR, so the same bits), and stores them once. The rows of a pass are read
//! as that many streams side by side, which the prefetchers follow; the
//! accumulators are read and written once per pass instead of once per row.
//!
//! It applies when the element and accumulator are one type other than `bool`, the
//! lanes of `x` (its axis 0) and `acc` are contiguous, `acc` has an element for
//! every lane and does not overlap `x` (a store could otherwise change a later
//! load). Otherwise the function runs its IR body, which is the semantics. The
//! lane-parallel combiner is `vector_body`'s.
//!
//! ```text
//! entry:  if x's axis-0 stride and acc's stride are 1, len(acc) >= lanes and
//!         acc does not overlap x:
//!           for each pass of ROWS rows (the last one shorter):
//!             for each group of G = VECTORS × L lanes:
//!               r = acc[group]; for each row j of the pass: r = f(r, x[group, j])
//!               acc[group] = r
//!             for each lane i after the last full group (one at a time, lane 0):
//!               r = acc[i]; for each row j of the pass: r = f(r, x[i, j]); acc[i] = r
//!         else: the IR body
//! ```

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, BlockArg, InstBuilder, Value};
use cranelift_module::Module;

use super::lower::{clif_type, Lowerer};
use super::vector_body::{vval_value, Input, LaneBody};
use super::vector_ops::{data_flags, vec_type, VState, VVal};
use super::vector_reduce::combiner_body;
use super::BackendError;
use crate::ir::{self, ArrayDesc, LocalId, Program, ScalarType};
use crate::loops::row_fold::RowFold;

/// Vectors of accumulators per group: 64 bytes of lanes, one cache line of
/// each row per step.
const VECTORS: usize = 4;

/// Rows per pass: this many streams are read side by side, and the
/// accumulators are loaded and stored once per this many rows.
const ROWS: i64 = 8;

/// Everything the SIMD lowering of one row fold needs.
pub(super) struct RowsPlan {
    kernel: LaneBody,
    x: LocalId,
    acc: LocalId,
    /// The element type, which is also the accumulator's.
    ty: ScalarType,
}

/// The SIMD plan of `func`, or `None` when it has no vector path (see the
/// module docs).
pub(super) fn rows_plan(program: &Program, func: &ir::Function) -> Option<RowsPlan> {
    let fold = RowFold::of(func)?;
    let kernel = combiner_body(program, fold.combine, fold.ty)?;
    Some(RowsPlan {
        kernel,
        x: fold.x,
        acc: fold.acc,
        ty: fold.ty,
    })
}

/// What every loop of the vector path reads.
struct Rows {
    /// `x`'s rows and lanes.
    rows: Value,
    lanes: Value,
    /// Bytes from one row of `x` to the next.
    row_bytes: Value,
    x_data: Value,
    acc_data: Value,
}

impl<M: Module> Lowerer<'_, '_, M> {
    pub(super) fn lower_row_fold(&mut self, plan: &RowsPlan) -> Result<(), BackendError> {
        let span = self.func.span;
        self.set_span(span);
        let size = plan.ty.size_bytes() as i64;
        let (x, acc) = (self.desc(plan.x)?, self.desc(plan.acc)?);
        let axis = |field: i32, k: i32| field + 8 * k;
        let lanes = self.field(x, axis(ArrayDesc::SHAPE_OFFSET, 0));
        let rows = self.field(x, axis(ArrayDesc::SHAPE_OFFSET, 1));
        let lane_stride = self.field(x, axis(ArrayDesc::STRIDES_OFFSET, 0));
        let row_stride = self.field(x, axis(ArrayDesc::STRIDES_OFFSET, 1));
        let acc_len = self.field(acc, ArrayDesc::SHAPE_OFFSET);
        let acc_stride = self.field(acc, ArrayDesc::STRIDES_OFFSET);
        let (x_data, acc_data) = (self.field(x, 0), self.field(acc, 0));
        let row_bytes = self.b.ins().imul_imm_s(row_stride, size);

        let x_contiguous = self.b.ins().icmp_imm_s(IntCC::Equal, lane_stride, 1);
        let acc_contiguous = self.b.ins().icmp_imm_s(IntCC::Equal, acc_stride, 1);
        let fits = self
            .b
            .ins()
            .icmp(IntCC::UnsignedGreaterThanOrEqual, acc_len, lanes);
        let ok = self.b.ins().band(x_contiguous, acc_contiguous);
        let ok = self.b.ins().band(ok, fits);
        let apart = self.disjoint(x_data, rows, row_bytes, acc_data, lanes, size);
        let ok = self.b.ins().band(ok, apart);
        let (vector, scalar) = (self.b.create_block(), self.b.create_block());
        self.b.ins().brif(ok, vector, &[], scalar, &[]);

        self.b.switch_to_block(scalar);
        let body = &self.func.body;
        self.lower_block(body)?;
        self.return_dummy();

        self.b.switch_to_block(vector);
        let r = Rows {
            rows,
            lanes,
            row_bytes,
            x_data,
            acc_data,
        };
        // for pass in (0..rows).step_by(ROWS)
        let (pass_head, pass_body, ret) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let first_row = self.b.append_block_param(pass_head, types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.ins().jump(pass_head, &[zero.into()]);
        self.b.switch_to_block(pass_head);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, first_row, rows);
        self.b.ins().brif(more, pass_body, &[], ret, &[]);
        self.b.switch_to_block(pass_body);
        let left = self.b.ins().isub(r.rows, first_row);
        let most = self.b.ins().iconst(types::I64, ROWS);
        let count = self.b.ins().umin(left, most);
        let skipped = self.b.ins().imul(first_row, r.row_bytes);
        let x_pass = self.b.ins().iadd(r.x_data, skipped);
        self.pass(plan, &r, x_pass, count)?;
        let next = self.b.ins().iadd(first_row, count);
        self.b.ins().jump(pass_head, &[next.into()]);

        self.b.switch_to_block(ret);
        self.b.ins().return_(&[]);
        Ok(())
    }

    /// Whether the bytes `acc` covers (`lanes` elements of `size`) and those
    /// of `x` (`rows` rows `row_bytes` apart, each `lanes` elements from its
    /// start) are disjoint.
    fn disjoint(
        &mut self,
        x_data: Value,
        rows: Value,
        row_bytes: Value,
        acc_data: Value,
        lanes: Value,
        size: i64,
    ) -> Value {
        let last = self.b.ins().iadd_imm_s(rows, -1);
        let last_row = self.b.ins().imul(last, row_bytes);
        let zero = self.b.ins().iconst(types::I64, 0);
        let below = self.b.ins().smin(last_row, zero);
        let above = self.b.ins().smax(last_row, zero);
        let lane_bytes = self.b.ins().imul_imm_s(lanes, size);
        let x_start = self.b.ins().iadd(x_data, below);
        let x_rows_end = self.b.ins().iadd(x_data, above);
        let x_end = self.b.ins().iadd(x_rows_end, lane_bytes);
        let acc_end = self.b.ins().iadd(acc_data, lane_bytes);
        let x_first = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, x_end, acc_data);
        let acc_first = self
            .b
            .ins()
            .icmp(IntCC::UnsignedLessThanOrEqual, acc_end, x_start);
        self.b.ins().bor(x_first, acc_first)
    }

    /// The `count >= 1` rows from `x_pass` on folded into every lane: the
    /// full groups in vectors, the lanes after them one at a time.
    fn pass(
        &mut self,
        plan: &RowsPlan,
        r: &Rows,
        x_pass: Value,
        count: Value,
    ) -> Result<(), BackendError> {
        let (ty, lanes) = (plan.ty, plan.kernel.lanes as usize);
        let size = ty.size_bytes() as i64;
        let group = (lanes * VECTORS) as i64;
        // Lanes in full groups (`group` is a power of two).
        let grouped = self.b.ins().band_imm_s(r.lanes, -group);

        // for i in (0..grouped).step_by(group)
        let (group_head, group_body, single_head) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let i = self.b.append_block_param(group_head, types::I64);
        let lane = self.b.append_block_param(single_head, types::I64);
        let zero = self.b.ins().iconst(types::I64, 0);
        self.b.ins().jump(group_head, &[zero.into()]);
        self.b.switch_to_block(group_head);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, i, grouped);
        self.b
            .ins()
            .brif(more, group_body, &[], single_head, &[grouped.into()]);
        self.b.switch_to_block(group_body);
        let acc_at = self.offset_const(r.acc_data, i, size);
        let x_at = self.offset_const(x_pass, i, size);
        let st = VState::new(&plan.kernel.pred, lanes as u32, VECTORS);
        let current: Vec<Value> = (0..VECTORS)
            .map(|u| vval_value(self.load_lanes(&st, acc_at, ty, u)))
            .collect();
        let folded = self.fold_rows_into(plan, r, x_at, count, current)?;
        for (u, v) in folded.into_iter().enumerate() {
            let bytes = lanes * size as usize;
            self.store_lanes(v, bytes, acc_at, (u * bytes) as i32);
        }
        let next = self.b.ins().iadd_imm_s(i, group);
        self.b.ins().jump(group_head, &[next.into()]);

        // for i in grouped..lanes, one lane at a time
        self.b.switch_to_block(single_head);
        let (single_body, done) = (self.b.create_block(), self.b.create_block());
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, lane, r.lanes);
        self.b.ins().brif(more, single_body, &[], done, &[]);
        self.b.switch_to_block(single_body);
        let scalar_ty = clif_type(ty);
        let acc_at = self.offset_const(r.acc_data, lane, size);
        let x_at = self.offset_const(x_pass, lane, size);
        let seed = self.b.ins().load(scalar_ty, data_flags(), acc_at, 0);
        let (row_head, row_body, row_done) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let k = self.b.append_block_param(row_head, types::I64);
        let at = self.b.append_block_param(row_head, types::I64);
        let value = self.b.append_block_param(row_head, scalar_ty);
        self.b
            .ins()
            .jump(row_head, &[zero.into(), x_at.into(), seed.into()]);
        self.b.switch_to_block(row_head);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, k, count);
        self.b.ins().brif(more, row_body, &[], row_done, &[]);
        self.b.switch_to_block(row_body);
        let element = self.b.ins().load(scalar_ty, data_flags(), at, 0);
        let next = self.combine_pairs(&plan.kernel, ty, &[value], &[element])?[0];
        let k_next = self.b.ins().iadd_imm_s(k, 1);
        let at_next = self.b.ins().iadd(at, r.row_bytes);
        self.b
            .ins()
            .jump(row_head, &[k_next.into(), at_next.into(), next.into()]);
        self.b.switch_to_block(row_done);
        self.b.ins().store(data_flags(), value, acc_at, 0);
        let lane_next = self.b.ins().iadd_imm_s(lane, 1);
        self.b.ins().jump(single_head, &[lane_next.into()]);
        self.b.switch_to_block(done);
        Ok(())
    }

    /// `current` (a group's accumulators) with the group's lanes of the
    /// `count` rows from `x_at` on folded in, row after row.
    fn fold_rows_into(
        &mut self,
        plan: &RowsPlan,
        r: &Rows,
        x_at: Value,
        count: Value,
        current: Vec<Value>,
    ) -> Result<Vec<Value>, BackendError> {
        let (ty, lanes) = (plan.ty, plan.kernel.lanes as usize);
        let vector_ty = vec_type(ty);
        let (head, body, done) = (
            self.b.create_block(),
            self.b.create_block(),
            self.b.create_block(),
        );
        let k = self.b.append_block_param(head, types::I64);
        let at = self.b.append_block_param(head, types::I64);
        let accumulators: Vec<Value> = (0..VECTORS)
            .map(|_| self.b.append_block_param(head, vector_ty))
            .collect();
        let zero = self.b.ins().iconst(types::I64, 0);
        let mut args: Vec<BlockArg> = vec![zero.into(), x_at.into()];
        args.extend(current.iter().map(|&v| BlockArg::from(v)));
        self.b.ins().jump(head, &args);
        self.b.switch_to_block(head);
        let more = self.b.ins().icmp(IntCC::UnsignedLessThan, k, count);
        self.b.ins().brif(more, body, &[], done, &[]);
        self.b.switch_to_block(body);
        let mut st = VState::new(&plan.kernel.pred, lanes as u32, VECTORS);
        let inputs = [
            Input::Lanes(accumulators.iter().map(|&v| VVal::Data(v)).collect()),
            Input::Memory { addr: at, ty },
        ];
        let next = self.vector_group(&plan.kernel, &mut st, &inputs)?;
        let k_next = self.b.ins().iadd_imm_s(k, 1);
        let at_next = self.b.ins().iadd(at, r.row_bytes);
        let mut args: Vec<BlockArg> = vec![k_next.into(), at_next.into()];
        args.extend(next.into_iter().map(|v| BlockArg::from(vval_value(v))));
        self.b.ins().jump(head, &args);
        self.b.switch_to_block(done);
        Ok(accumulators)
    }
}
