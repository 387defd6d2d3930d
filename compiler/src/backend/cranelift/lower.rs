//! kern IR → CLIF for one function (and the host-call trampolines).
//!
//! Structured `If`/`Loop` become blocks; locals become Cranelift variables (SSA is
//! built by cranelift-frontend); IR values map one-to-one to CLIF values, which is
//! valid because IR scoping guarantees dominance. Every check the IR spec demands
//! (division, bounds, recursion depth, assertions) branches to a cold block that
//! records the trap site in the call context and returns.

use std::collections::HashMap;

use cranelift_codegen::ir::condcodes::{FloatCC, IntCC};
use cranelift_codegen::ir::immediates::{Ieee32, Ieee64};
use cranelift_codegen::ir::{
    types, Block, FuncRef, Function, InstBuilder, MemFlagsData, Signature, SourceLoc, StackSlotData, StackSlotKind,
    Type as ClifType, UserFuncName, Value,
};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_jit::JITModule;
use cranelift_module::Module;

use super::{BackendError, CallContext, JitEngine, Site, RECURSION_LIMIT};
use crate::diagnostics::{SourceMap, Span};
use crate::ir::{self, ArrayDesc, BinaryOp, CmpOp, FuncId, InstKind, Intrinsic, Program, ScalarType, ScalarValue, TrapKind, UnaryOp};

pub(super) fn clif_type(t: ScalarType) -> ClifType {
    match t.bits() {
        8 => types::I8,
        16 => types::I16,
        32 if t == ScalarType::F32 => types::F32,
        32 => types::I32,
        _ if t == ScalarType::F64 => types::F64,
        _ => types::I64,
    }
}

pub(super) fn lower_function(
    engine: &mut JitEngine,
    module: &mut JITModule,
    program: &Program,
    func: FuncId,
) -> Result<Function, BackendError> {
    let f = program.function(func);
    let sig = super::signature(module, program, func);
    let mut clif = Function::with_name_signature(UserFuncName::user(0, func.0), sig);
    let mut fctx = FunctionBuilderContext::new();
    let config = module.target_config();
    {
        let b = FunctionBuilder::new(&mut clif, &mut fctx);
        let mut l = Lowerer {
            engine,
            module,
            program,
            f,
            b,
            ctx_ptr: None,
            values: vec![None; f.value_types.len()],
            vars: Vec::new(),
            loops: Vec::new(),
            func_refs: HashMap::new(),
            propagate: None,
            filled: false,
        };
        l.function_body()?;
        l.b.seal_all_blocks();
        l.b.finalize(config);
    }
    Ok(clif)
}

/// `fn(ctx, args: *const u64, ret: *mut u64)` calling `func` with its arguments
/// read from 64-bit slots.
pub(super) fn trampoline(
    engine: &mut JitEngine,
    module: &mut JITModule,
    program: &Program,
    func: FuncId,
    sig: Signature,
) -> Result<Function, BackendError> {
    let f = program.function(func);
    let mut clif = Function::with_name_signature(UserFuncName::user(1, func.0), sig);
    let mut fctx = FunctionBuilderContext::new();
    let callee = engine.declared[&func];
    let config = module.target_config();
    {
        let mut b = FunctionBuilder::new(&mut clif, &mut fctx);
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        let params = b.block_params(entry).to_vec();
        let (ctx, args, ret) = (params[0], params[1], params[2]);
        let mut call_args = vec![ctx];
        for (i, t) in f.param_types().iter().enumerate() {
            let ty = match t {
                ir::Type::Scalar(s) => clif_type(*s),
                ir::Type::Array(_) => types::I64,
            };
            call_args.push(b.ins().load(ty, MemFlagsData::trusted(), args, (i * 8) as i32));
        }
        let fref = module.declare_func_in_func(callee, b.func);
        let call = b.ins().call(fref, &call_args);
        if f.ret.is_some() {
            let result = b.inst_results(call)[0];
            b.ins().store(MemFlagsData::trusted(), result, ret, 0);
        }
        b.ins().return_(&[]);
        b.seal_all_blocks();
        b.finalize(config);
    }
    Ok(clif)
}

struct Lowerer<'a, 'b> {
    engine: &'a mut JitEngine,
    module: &'a mut JITModule,
    program: &'a Program,
    f: &'a ir::Function,
    b: FunctionBuilder<'b>,
    ctx_ptr: Option<Value>,
    values: Vec<Option<Value>>,
    vars: Vec<Variable>,
    /// (latch, exit) of each enclosing loop.
    loops: Vec<(Block, Block)>,
    func_refs: HashMap<FuncId, FuncRef>,
    /// The block that returns after a callee trapped.
    propagate: Option<Block>,
    /// The current block already ends in a terminator.
    filled: bool,
}

impl Lowerer<'_, '_> {
    fn ctx(&self) -> Value {
        self.ctx_ptr.expect("context parameter is set at entry")
    }

    fn v(&self, id: ir::ValueId) -> Result<Value, BackendError> {
        self.values[id.0 as usize].ok_or_else(|| BackendError::Codegen(format!("`{}`: v{} used before definition", self.f.name, id.0)))
    }

    fn ty(&self, id: ir::ValueId) -> ScalarType {
        self.f.value_type(id)
    }

    fn function_body(&mut self) -> Result<(), BackendError> {
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        let params = self.b.block_params(entry).to_vec();
        self.ctx_ptr = Some(params[0]);
        for local in &self.f.locals {
            let ty = match local.ty {
                ir::Type::Scalar(s) => clif_type(s),
                ir::Type::Array(_) => types::I64,
            };
            let var = self.b.declare_var(ty);
            // Locals start as zero (the IR says so), parameters as their argument.
            let zero = match local.ty {
                ir::Type::Scalar(s) => self.zero(s),
                ir::Type::Array(_) => self.b.ins().iconst(types::I64, 0),
            };
            self.b.def_var(var, zero);
            self.vars.push(var);
        }
        for (i, p) in self.f.params.iter().enumerate() {
            let var = self.vars[p.local.0 as usize];
            self.b.def_var(var, params[i + 1]);
        }
        self.block(&self.f.body)?;
        if !self.filled {
            self.return_zero();
        }
        Ok(())
    }

    fn zero(&mut self, t: ScalarType) -> Value {
        match t {
            ScalarType::F32 => self.b.ins().f32const(Ieee32::with_bits(0)),
            ScalarType::F64 => self.b.ins().f64const(Ieee64::with_bits(0)),
            t => self.b.ins().iconst(clif_type(t), 0),
        }
    }

    fn return_zero(&mut self) {
        match self.f.ret {
            Some(t) => {
                let z = self.zero(t);
                self.b.ins().return_(&[z]);
            }
            None => {
                self.b.ins().return_(&[]);
            }
        }
        self.filled = true;
    }

    /// Starts a fresh (unreachable) block if the current one is already terminated.
    fn ensure_open(&mut self) {
        if self.filled {
            let dead = self.b.create_block();
            self.b.switch_to_block(dead);
            self.filled = false;
        }
    }

    fn switch_to(&mut self, block: Block) {
        self.b.switch_to_block(block);
        self.filled = false;
    }

    fn jump(&mut self, block: Block) {
        if !self.filled {
            self.b.ins().jump(block, &[]);
            self.filled = true;
        }
    }

    fn block(&mut self, block: &ir::Block) -> Result<(), BackendError> {
        for inst in &block.insts {
            self.ensure_open();
            self.b.set_srcloc(SourceLoc::new(inst.span.start));
            self.inst(inst)?;
        }
        Ok(())
    }

    /// Branches to a cold block recording the trap when `cond` is true.
    fn trap_if(&mut self, cond: Value, kind: TrapKind, span: Span, payload: Option<(Value, Value)>) {
        let site = self.engine.sites.add(Site::Trap { kind, span });
        let trap = self.b.create_block();
        let cont = self.b.create_block();
        self.b.ins().brif(cond, trap, &[], cont, &[]);
        self.b.set_cold_block(trap);
        self.switch_to(trap);
        let ctx = self.ctx();
        let one = self.b.ins().iconst(types::I32, 1);
        let site = self.b.ins().iconst(types::I32, site as i64);
        let flags = MemFlagsData::trusted();
        self.b.ins().store(flags, one, ctx, CallContext::TRAPPED);
        self.b.ins().store(flags, site, ctx, CallContext::SITE);
        if let Some((index, len)) = payload {
            self.b.ins().store(flags, index, ctx, CallContext::PAYLOAD_INDEX);
            self.b.ins().store(flags, len, ctx, CallContext::PAYLOAD_LEN);
        }
        self.return_zero();
        self.switch_to(cont);
    }

    fn inst(&mut self, inst: &ir::Inst) -> Result<(), BackendError> {
        let value = match &inst.kind {
            InstKind::Const(c) => Some(self.constant(*c)),
            InstKind::GetLocal(l) => Some(self.b.use_var(self.vars[l.0 as usize])),
            InstKind::SetLocal(l, x) => {
                let x = self.v(*x)?;
                self.b.def_var(self.vars[l.0 as usize], x);
                None
            }
            InstKind::Unary(op, x) => {
                let t = self.ty(*x);
                let x = self.v(*x)?;
                Some(match (op, t) {
                    (UnaryOp::Neg, t) if t.is_float() => self.b.ins().fneg(x),
                    (UnaryOp::Neg, _) => self.b.ins().ineg(x),
                    (UnaryOp::Not, ScalarType::Bool) => self.b.ins().bxor_imm_s(x, 1),
                    (UnaryOp::Not, _) => self.b.ins().bnot(x),
                })
            }
            InstKind::Binary(op, a, b) => Some(self.binary(*op, *a, *b, inst.span)?),
            InstKind::Cmp(op, a, b) => {
                let t = self.ty(*a);
                let (a, b) = (self.v(*a)?, self.v(*b)?);
                Some(if t.is_float() {
                    let cc = match op {
                        CmpOp::Eq => FloatCC::Equal,
                        CmpOp::Ne => FloatCC::NotEqual,
                        CmpOp::Lt => FloatCC::LessThan,
                        CmpOp::Le => FloatCC::LessThanOrEqual,
                        CmpOp::Gt => FloatCC::GreaterThan,
                        CmpOp::Ge => FloatCC::GreaterThanOrEqual,
                    };
                    self.b.ins().fcmp(cc, a, b)
                } else {
                    let signed = t.is_signed_int();
                    let cc = match (op, signed) {
                        (CmpOp::Eq, _) => IntCC::Equal,
                        (CmpOp::Ne, _) => IntCC::NotEqual,
                        (CmpOp::Lt, true) => IntCC::SignedLessThan,
                        (CmpOp::Le, true) => IntCC::SignedLessThanOrEqual,
                        (CmpOp::Gt, true) => IntCC::SignedGreaterThan,
                        (CmpOp::Ge, true) => IntCC::SignedGreaterThanOrEqual,
                        (CmpOp::Lt, false) => IntCC::UnsignedLessThan,
                        (CmpOp::Le, false) => IntCC::UnsignedLessThanOrEqual,
                        (CmpOp::Gt, false) => IntCC::UnsignedGreaterThan,
                        (CmpOp::Ge, false) => IntCC::UnsignedGreaterThanOrEqual,
                    };
                    self.b.ins().icmp(cc, a, b)
                })
            }
            InstKind::Cast(x, to) => {
                let from = self.ty(*x);
                let x = self.v(*x)?;
                Some(self.cast(x, from, *to))
            }
            InstKind::Bitcast(x, to) => {
                let x = self.v(*x)?;
                Some(self.b.ins().bitcast(clif_type(*to), MemFlagsData::new(), x))
            }
            InstKind::Select { cond, if_true, if_false } => {
                let (c, t, e) = (self.v(*cond)?, self.v(*if_true)?, self.v(*if_false)?);
                Some(self.b.ins().select(c, t, e))
            }
            InstKind::Intrinsic(i, args) => {
                let a: Vec<Value> = args.iter().map(|x| self.v(*x)).collect::<Result<_, _>>()?;
                Some(match i {
                    Intrinsic::Sqrt => self.b.ins().sqrt(a[0]),
                    Intrinsic::Abs => self.b.ins().fabs(a[0]),
                    Intrinsic::Floor => self.b.ins().floor(a[0]),
                    Intrinsic::Ceil => self.b.ins().ceil(a[0]),
                    Intrinsic::Trunc => self.b.ins().trunc(a[0]),
                    Intrinsic::Nearest => self.b.ins().nearest(a[0]),
                    Intrinsic::Fma => self.b.ins().fma(a[0], a[1], a[2]),
                    Intrinsic::Copysign => self.b.ins().fcopysign(a[0], a[1]),
                })
            }
            InstKind::Call { callee, args } => self.call(*callee, args, inst.span)?,
            InstKind::ArrayLen { array, axis } => {
                let desc = self.b.use_var(self.vars[array.0 as usize]);
                Some(self.b.ins().load(types::I64, MemFlagsData::trusted(), desc, ArrayDesc::SHAPE_OFFSET + 8 * *axis as i32))
            }
            InstKind::Load { array, indices, checked } => {
                let (addr, elem) = self.element_address(*array, indices, *checked, inst.span)?;
                Some(self.b.ins().load(clif_type(elem), MemFlagsData::new(), addr, 0))
            }
            InstKind::Store { array, indices, value, checked } => {
                let (addr, _) = self.element_address(*array, indices, *checked, inst.span)?;
                let v = self.v(*value)?;
                self.b.ins().store(MemFlagsData::new(), v, addr, 0);
                None
            }
            InstKind::LoadConst { table, index } => {
                let t = self.program.const_table(*table);
                let (elem, len) = (t.elem, t.values.len());
                let data = self.engine.const_table(self.module, self.program, table.0)?;
                let gv = self.module.declare_data_in_func(data, self.b.func);
                let base = self.b.ins().symbol_value(types::I64, gv);
                let idx = self.v(*index)?;
                let len_v = self.b.ins().iconst(types::I64, len as i64);
                let out = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, idx, len_v);
                self.trap_if(out, TrapKind::IndexOutOfBounds { index: 0, len: len as i64 }, inst.span, Some((idx, len_v)));
                let offset = self.b.ins().imul_imm_s(idx, elem.size_bytes() as i64);
                let addr = self.b.ins().iadd(base, offset);
                Some(self.b.ins().load(clif_type(elem), MemFlagsData::trusted().with_readonly(), addr, 0))
            }
            InstKind::If { cond, then_block, else_block } => {
                let c = self.v(*cond)?;
                let (then_b, else_b, merge) = (self.b.create_block(), self.b.create_block(), self.b.create_block());
                self.b.ins().brif(c, then_b, &[], else_b, &[]);
                self.switch_to(then_b);
                self.block(then_block)?;
                self.jump(merge);
                self.switch_to(else_b);
                self.block(else_block)?;
                self.jump(merge);
                self.switch_to(merge);
                None
            }
            InstKind::Loop { header, cond, body, latch } => {
                let (head_b, body_b, latch_b, exit_b) =
                    (self.b.create_block(), self.b.create_block(), self.b.create_block(), self.b.create_block());
                self.b.ins().jump(head_b, &[]);
                self.switch_to(head_b);
                self.loops.push((latch_b, exit_b));
                self.block(header)?;
                if !self.filled {
                    match cond {
                        Some(c) => {
                            let c = self.v(*c)?;
                            self.b.ins().brif(c, body_b, &[], exit_b, &[]);
                            self.filled = true;
                        }
                        None => self.jump(body_b),
                    }
                }
                self.switch_to(body_b);
                self.block(body)?;
                self.jump(latch_b);
                self.switch_to(latch_b);
                self.block(latch)?;
                self.jump(head_b);
                self.loops.pop();
                self.switch_to(exit_b);
                None
            }
            InstKind::Break | InstKind::Continue => {
                let (latch, exit) = *self
                    .loops
                    .last()
                    .ok_or_else(|| BackendError::Codegen("break outside of a loop".into()))?;
                self.jump(if matches!(inst.kind, InstKind::Break) { exit } else { latch });
                None
            }
            InstKind::Return(x) => {
                match x {
                    Some(x) => {
                        let x = self.v(*x)?;
                        self.b.ins().return_(&[x]);
                    }
                    None => {
                        self.b.ins().return_(&[]);
                    }
                }
                self.filled = true;
                None
            }
            InstKind::Assert { cond, message } => {
                let c = self.v(*cond)?;
                let failed = self.b.ins().bxor_imm_s(c, 1);
                self.trap_if(failed, TrapKind::AssertionFailed(message.clone()), inst.span, None);
                None
            }
            InstKind::Print { pieces, args, newline } => {
                self.print(pieces, args, *newline)?;
                None
            }
        };
        if let (Some(r), Some(v)) = (inst.result, value) {
            self.values[r.0 as usize] = Some(v);
        }
        Ok(())
    }

    fn constant(&mut self, c: ScalarValue) -> Value {
        match c {
            ScalarValue::F32(x) => self.b.ins().f32const(Ieee32::with_bits(x.to_bits())),
            ScalarValue::F64(x) => self.b.ins().f64const(Ieee64::with_bits(x.to_bits())),
            other => self.b.ins().iconst(clif_type(other.ty()), other.to_bits() as i64),
        }
    }

    fn binary(&mut self, op: BinaryOp, a: ir::ValueId, b: ir::ValueId, span: Span) -> Result<Value, BackendError> {
        let t = self.ty(a);
        let bt = self.ty(b);
        let (x, y) = (self.v(a)?, self.v(b)?);
        if t.is_float() {
            return Ok(match op {
                BinaryOp::Add => self.b.ins().fadd(x, y),
                BinaryOp::Sub => self.b.ins().fsub(x, y),
                BinaryOp::Mul => self.b.ins().fmul(x, y),
                BinaryOp::Div => self.b.ins().fdiv(x, y),
                _ => return Err(BackendError::Codegen(format!("`{}`: {op:?} on floats", self.f.name))),
            });
        }
        let signed = t.is_signed_int();
        Ok(match op {
            BinaryOp::Add => self.b.ins().iadd(x, y),
            BinaryOp::Sub => self.b.ins().isub(x, y),
            BinaryOp::Mul => self.b.ins().imul(x, y),
            BinaryOp::And => self.b.ins().band(x, y),
            BinaryOp::Or => self.b.ins().bor(x, y),
            BinaryOp::Xor => self.b.ins().bxor(x, y),
            BinaryOp::Div | BinaryOp::Rem => {
                let is_zero = self.b.ins().icmp_imm_s(IntCC::Equal, y, 0);
                self.trap_if(is_zero, TrapKind::DivisionByZero, span, None);
                if signed {
                    let min = (-(1i128 << (t.bits() - 1))) as i64;
                    let x_min = self.b.ins().icmp_imm_s(IntCC::Equal, x, min);
                    let y_m1 = self.b.ins().icmp_imm_s(IntCC::Equal, y, -1);
                    let both = self.b.ins().band(x_min, y_m1);
                    self.trap_if(both, TrapKind::DivisionOverflow, span, None);
                }
                match (op, signed) {
                    (BinaryOp::Div, true) => self.b.ins().sdiv(x, y),
                    (BinaryOp::Div, false) => self.b.ins().udiv(x, y),
                    (_, true) => self.b.ins().srem(x, y),
                    (_, false) => self.b.ins().urem(x, y),
                }
            }
            BinaryOp::Shl | BinaryOp::Shr => {
                // Amounts are taken modulo the width; bring them to the lhs width first.
                let amount = self.cast_int(y, bt, if t.bits() >= bt.bits() { bt } else { t.bits_type() });
                let amount = self.b.ins().band_imm_s(amount, (t.bits() - 1) as i64);
                match (op, signed) {
                    (BinaryOp::Shl, _) => self.b.ins().ishl(x, amount),
                    (_, true) => self.b.ins().sshr(x, amount),
                    (_, false) => self.b.ins().ushr(x, amount),
                }
            }
        })
    }

    /// Integer conversion by width: truncate, or extend by the source's signedness.
    fn cast_int(&mut self, x: Value, from: ScalarType, to: ScalarType) -> Value {
        let (fb, tb) = (from.bits(), to.bits());
        let ty = clif_type(to);
        if tb < fb {
            self.b.ins().ireduce(ty, x)
        } else if tb > fb {
            if from.is_signed_int() {
                self.b.ins().sextend(ty, x)
            } else {
                self.b.ins().uextend(ty, x)
            }
        } else {
            x
        }
    }

    fn cast(&mut self, x: Value, from: ScalarType, to: ScalarType) -> Value {
        match (from.is_float(), to.is_float()) {
            (false, false) => self.cast_int(x, from, to),
            (true, true) => match (from, to) {
                (ScalarType::F32, ScalarType::F64) => self.b.ins().fpromote(types::F64, x),
                (ScalarType::F64, ScalarType::F32) => self.b.ins().fdemote(types::F32, x),
                _ => x,
            },
            (false, true) => {
                let wide = if from.is_signed_int() { ScalarType::I64 } else { ScalarType::U64 };
                let x64 = self.cast_int(x, from, wide);
                let ty = clif_type(to);
                if from.is_signed_int() {
                    self.b.ins().fcvt_from_sint(ty, x64)
                } else {
                    self.b.ins().fcvt_from_uint(ty, x64)
                }
            }
            (true, false) => {
                if to.bits() >= 32 {
                    let ty = clif_type(to);
                    if to.is_signed_int() {
                        self.b.ins().fcvt_to_sint_sat(ty, x)
                    } else {
                        self.b.ins().fcvt_to_uint_sat(ty, x)
                    }
                } else {
                    // Saturate to 32 bits, then clamp into the narrow type's range.
                    let bits = to.bits();
                    let wide = if to.is_signed_int() {
                        let w = self.b.ins().fcvt_to_sint_sat(types::I32, x);
                        let lo = self.b.ins().iconst(types::I32, -(1i64 << (bits - 1)));
                        let hi = self.b.ins().iconst(types::I32, (1i64 << (bits - 1)) - 1);
                        let w = self.b.ins().smax(w, lo);
                        self.b.ins().smin(w, hi)
                    } else {
                        let w = self.b.ins().fcvt_to_uint_sat(types::I32, x);
                        let hi = self.b.ins().iconst(types::I32, (1i64 << bits) - 1);
                        self.b.ins().umin(w, hi)
                    };
                    self.b.ins().ireduce(clif_type(to), wide)
                }
            }
        }
    }

    fn func_ref(&mut self, callee: FuncId) -> FuncRef {
        if let Some(r) = self.func_refs.get(&callee) {
            return *r;
        }
        let id = self.engine.declared[&callee];
        let r = self.module.declare_func_in_func(id, self.b.func);
        self.func_refs.insert(callee, r);
        r
    }

    fn call(&mut self, callee: FuncId, args: &[ir::Arg], span: Span) -> Result<Option<Value>, BackendError> {
        let ctx = self.ctx();
        let flags = MemFlagsData::trusted();
        let depth = self.b.ins().load(types::I32, flags, ctx, CallContext::DEPTH);
        let too_deep = self.b.ins().icmp_imm_s(IntCC::UnsignedGreaterThanOrEqual, depth, RECURSION_LIMIT as i64);
        self.trap_if(too_deep, TrapKind::RecursionLimit, span, None);
        let deeper = self.b.ins().iadd_imm_s(depth, 1);
        self.b.ins().store(flags, deeper, ctx, CallContext::DEPTH);
        let mut values = vec![ctx];
        for a in args {
            values.push(match a {
                ir::Arg::Value(v) => self.v(*v)?,
                ir::Arg::Array(l) => self.b.use_var(self.vars[l.0 as usize]),
            });
        }
        let fref = self.func_ref(callee);
        let call = self.b.ins().call(fref, &values);
        let result = self.b.inst_results(call).first().copied();
        self.b.ins().store(flags, depth, ctx, CallContext::DEPTH);
        let trapped = self.b.ins().load(types::I32, flags, ctx, CallContext::TRAPPED);
        let propagate = match self.propagate {
            Some(p) => p,
            None => {
                let p = self.b.create_block();
                self.b.set_cold_block(p);
                self.propagate = Some(p);
                p
            }
        };
        let cont = self.b.create_block();
        self.b.ins().brif(trapped, propagate, &[], cont, &[]);
        // Fill the propagation block once: it just returns.
        if !self.propagate_filled() {
            self.switch_to(propagate);
            self.return_zero();
        }
        self.switch_to(cont);
        Ok(result)
    }

    fn propagate_filled(&self) -> bool {
        self.propagate
            .is_some_and(|p| self.b.func.layout.first_inst(p).is_some())
    }

    fn element_address(
        &mut self,
        array: ir::LocalId,
        indices: &[ir::ValueId],
        checked: bool,
        span: Span,
    ) -> Result<(Value, ScalarType), BackendError> {
        let elem = match self.f.local(array).ty {
            ir::Type::Array(a) => a.elem,
            ir::Type::Scalar(_) => return Err(BackendError::Codegen("indexing a scalar".into())),
        };
        let desc = self.b.use_var(self.vars[array.0 as usize]);
        let flags = MemFlagsData::trusted();
        let data = self.b.ins().load(types::I64, flags, desc, 0);
        let mut offset = self.b.ins().iconst(types::I64, 0);
        for (axis, index) in indices.iter().enumerate() {
            let idx = self.v(*index)?;
            if checked {
                let len = self.b.ins().load(types::I64, flags, desc, ArrayDesc::SHAPE_OFFSET + 8 * axis as i32);
                let out = self.b.ins().icmp(IntCC::UnsignedGreaterThanOrEqual, idx, len);
                self.trap_if(out, TrapKind::IndexOutOfBounds { index: 0, len: 0 }, span, Some((idx, len)));
            }
            let stride = self.b.ins().load(types::I64, flags, desc, ArrayDesc::STRIDES_OFFSET + 8 * axis as i32);
            let term = self.b.ins().imul(idx, stride);
            offset = self.b.ins().iadd(offset, term);
        }
        let bytes = self.b.ins().imul_imm_s(offset, elem.size_bytes() as i64);
        Ok((self.b.ins().iadd(data, bytes), elem))
    }

    fn print(&mut self, pieces: &[ir::FormatPiece], args: &[ir::ValueId], newline: bool) -> Result<(), BackendError> {
        let types_: Vec<ScalarType> = args.iter().map(|a| self.ty(*a)).collect();
        let site = self.engine.sites.add(Site::Print { pieces: pieces.to_vec(), types: types_.clone(), newline });
        let slot = self.b.create_sized_stack_slot(StackSlotData::new(
            StackSlotKind::ExplicitSlot,
            (8 * args.len().max(1)) as u32,
            3,
        ));
        for (i, (a, t)) in args.iter().zip(&types_).enumerate() {
            let v = self.v(*a)?;
            let bits = match t {
                ScalarType::F64 => self.b.ins().bitcast(types::I64, MemFlagsData::new(), v),
                ScalarType::F32 => {
                    let b32 = self.b.ins().bitcast(types::I32, MemFlagsData::new(), v);
                    self.b.ins().uextend(types::I64, b32)
                }
                t if t.bits() < 64 => self.b.ins().uextend(types::I64, v),
                _ => v,
            };
            self.b.ins().stack_store(types::I64, bits, slot, (8 * i) as i32);
        }
        let addr = self.b.ins().stack_addr(types::I64, slot, 0);
        let hook = self.engine.print_hook(self.module)?;
        let fref = self.module.declare_func_in_func(hook, self.b.func);
        let ctx = self.ctx();
        let site = self.b.ins().iconst(types::I32, site as i64);
        self.b.ins().call(fref, &[ctx, site, addr]);
        Ok(())
    }
}

/// CLIF text with `; file:line: source` comments where the source line changes.
pub(super) fn annotated_text(clif: &Function, f: &ir::Function, sources: &SourceMap) -> String {
    let mut out = format!("function {}{} {{\n", f.name, signature_text(&clif.signature));
    let mut last_line = None;
    for block in clif.layout.blocks() {
        let params: Vec<String> = clif
            .dfg
            .block_params(block)
            .iter()
            .map(|v| format!("{v}: {}", clif.dfg.value_type(*v)))
            .collect();
        out.push_str(&format!("{block}({}):\n", params.join(", ")));
        for inst in clif.layout.block_insts(block) {
            let loc = clif.srcloc(inst);
            if !loc.is_default() {
                let span = Span {
                    file: f.span.file,
                    start: loc.bits(),
                    end: loc.bits(),
                };
                let (line, _) = sources.line_col(span);
                if last_line != Some(line) {
                    let file = sources.file(f.span.file);
                    let text = file.text.lines().nth(line - 1).unwrap_or("").trim();
                    out.push_str(&format!("    ; {}:{line}: {text}\n", file.name));
                    last_line = Some(line);
                }
            }
            out.push_str(&format!("    {}\n", clif.dfg.display_inst(inst)));
        }
    }
    out.push_str("}\n");
    out
}

fn signature_text(sig: &Signature) -> String {
    let params: Vec<String> = sig.params.iter().map(|p| p.value_type.to_string()).collect();
    let rets: Vec<String> = sig.returns.iter().map(|p| p.value_type.to_string()).collect();
    if rets.is_empty() {
        format!("({})", params.join(", "))
    } else {
        format!("({}) -> {}", params.join(", "), rets.join(", "))
    }
}
