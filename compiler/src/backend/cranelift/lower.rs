//! Lowering of one kern IR function to CLIF: the function's frame (signature,
//! locals as `Variable`s, the hidden `ctx`), structured control flow, calls between
//! kern functions and the shared trap exits. Arithmetic lives in `ops`, array and
//! constant-table access in `memory`.
//!
//! It knows the IR and Cranelift's frontend; it does not know how modules are
//! linked or cached (that is the engine's job): callees and constant tables arrive
//! as already-declared module ids in [`UnitEnv`].

use crate::collections::{HashMap, HashSet};

use cranelift_codegen::ir::{
    self as clif, types, AbiParam, Block, FuncRef, GlobalValue, InstBuilder, MemFlagsData,
    Signature, SourceLoc, Value,
};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext, Variable};
use cranelift_module::{DataId, Module};

use super::abi::{trap_code, CallContext, UnitTables, RECURSION_LIMIT};
use super::lane_groups::LaneGroups;
use super::BackendError;
use crate::backend::structured::{self, BlockRole, CfgBuilder};
use crate::diagnostics::Span;
use crate::ir::call_graph::CallFacts;
use crate::ir::{
    self, Arg, ConstTableId, FuncId, InstKind, Program, ScalarType, ScalarValue, Type, ValueId,
};

/// The machine type of a kern scalar: bool is a byte holding 0 or 1, `usize` and
/// `isize` are 64-bit.
pub(super) fn clif_type(ty: ScalarType) -> clif::Type {
    match ty {
        ScalarType::Bool | ScalarType::I8 | ScalarType::U8 => types::I8,
        ScalarType::I16 | ScalarType::U16 => types::I16,
        ScalarType::I32 | ScalarType::U32 => types::I32,
        ScalarType::I64 | ScalarType::U64 | ScalarType::Isize | ScalarType::Usize => types::I64,
        ScalarType::F32 => types::F32,
        ScalarType::F64 => types::F64,
    }
}

/// Arrays travel as a pointer to their `ArrayDesc`.
pub(super) const POINTER: clif::Type = types::I64;

/// The native signature of a compiled kern function: `(ctx, params...) -> ret`.
pub(super) fn kern_signature(func: &ir::Function, call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(POINTER));
    for ty in func.param_types() {
        sig.params.push(AbiParam::new(match ty {
            Type::Scalar(s) => clif_type(s),
            // Never compiled (rejected in `lower_body`); host code is interpreted.
            Type::Array(_) | Type::HostArray(_) => POINTER,
        }));
    }
    if let Some(ret) = func.ret {
        sig.returns.push(AbiParam::new(clif_type(ret)));
    }
    sig
}

/// Instructions the host CPU offers that some intrinsics need to stay libm-free.
#[derive(Clone, Copy, Debug)]
pub(super) struct HostCaps {
    /// A fused multiply-add instruction (x86: AVX + FMA3).
    pub fma: bool,
    /// Rounding instructions for floor/ceil/trunc/nearest (x86: SSE4.1).
    pub round: bool,
    /// Compile elementwise loops with a 128-bit SIMD path (`vector`): x86-64 with
    /// SSE4.1, the configuration it is tested on.
    pub simd: bool,
}

/// What one compilation unit shares between the functions lowered into it.
pub(super) struct UnitEnv {
    pub functions: HashMap<FuncId, cranelift_module::FuncId>,
    pub const_tables: HashMap<ConstTableId, DataId>,
    pub print_hook: cranelift_module::FuncId,
    pub tables: UnitTables,
    pub caps: HostCaps,
    /// Which calls count the recursion depth, check the stack, can trap.
    pub calls: CallFacts,
}

/// Memory flags for `CallContext` fields: always valid and aligned, but written by
/// callees, so not read-only.
pub(super) fn ctx_flags() -> MemFlagsData {
    MemFlagsData::trusted()
}

/// Lowers kern function `id` into `out` (whose signature is already set).
/// Returns the span of each source location id used in `out` (for `emit`).
pub(super) fn lower_function<M: Module>(
    module: &mut M,
    unit: &mut UnitEnv,
    program: &Program,
    id: FuncId,
    out: &mut clif::Function,
    builder_ctx: &mut FunctionBuilderContext,
) -> Result<Vec<Span>, BackendError> {
    let func = program
        .functions
        .get(id.0 as usize)
        .ok_or(BackendError::NoSuchFunction(id.0))?;
    let mut lowerer = Lowerer {
        b: FunctionBuilder::new(out, builder_ctx),
        module,
        unit,
        program,
        func,
        values: vec![None; func.value_types.len()],
        vars: Vec::with_capacity(func.locals.len()),
        ctx: Value::from_u32(0),
        loops: Vec::new(),
        callees: HashMap::default(),
        const_globals: HashMap::default(),
        print_ref: None,
        spans: Vec::new(),
        bases: HashMap::default(),
        lanes: LaneGroups::default(),
        held: crate::passes::licm::held_constants(func),
    };
    lowerer.lower_body()?;
    let spans = std::mem::take(&mut lowerer.spans);
    lowerer.b.seal_all_blocks();
    let config = lowerer.module.target_config();
    lowerer.b.finalize(config);
    Ok(spans)
}

pub(super) struct Lowerer<'a, 'b, M: Module> {
    pub b: FunctionBuilder<'b>,
    pub module: &'a mut M,
    pub unit: &'a mut UnitEnv,
    pub program: &'a Program,
    pub func: &'a ir::Function,
    values: Vec<Option<Value>>,
    vars: Vec<Variable>,
    /// The hidden `*mut CallContext` parameter.
    pub ctx: Value,
    /// `(latch, exit)` of each enclosing loop, innermost last.
    loops: Vec<(Block, Block)>,
    callees: HashMap<FuncId, FuncRef>,
    const_globals: HashMap<ConstTableId, GlobalValue>,
    print_ref: Option<FuncRef>,
    /// Span of each source location id, in order of first use.
    spans: Vec<Span>,
    /// Element addresses' run-time parts computed so far, for later accesses in
    /// the same block (see `memory`).
    pub bases: HashMap<super::memory::BaseKey, Value>,
    /// The lane groups lowered so far (see `lane_groups`).
    pub(super) lanes: LaneGroups,
    /// The constants computed once where they stand
    /// (`passes::licm::held_constants`).
    held: HashSet<ValueId>,
}

impl<M: Module> Lowerer<'_, '_, M> {
    pub fn error(&self, message: impl Into<String>) -> BackendError {
        BackendError::unsupported(&self.func.name, message)
    }

    fn lower_body(&mut self) -> Result<(), BackendError> {
        let entry = self.b.create_block();
        self.b.append_block_params_for_function_params(entry);
        self.b.switch_to_block(entry);
        let params = self.b.block_params(entry).to_vec();
        self.ctx = params[0];
        for local in &self.func.locals {
            let ty = match local.ty {
                Type::Scalar(s) => clif_type(s),
                Type::Array(_) => POINTER,
                Type::HostArray(_) => {
                    return Err(
                        self.error("host arrays (`Array<T>`) only exist in interpreted host code")
                    )
                }
            };
            let var = self.b.declare_var(ty);
            self.vars.push(var);
        }
        // Parameters start as the arguments, every other local as zero.
        let mut initialised = vec![false; self.vars.len()];
        for (param, value) in self.func.params.iter().zip(&params[1..]) {
            let var = self.var(param.local)?;
            self.b.def_var(var, *value);
            initialised[param.local.0 as usize] = true;
        }
        for (i, local) in self.func.locals.iter().enumerate() {
            if !initialised[i] {
                let zero = match local.ty {
                    Type::Scalar(s) => self.constant(ScalarValue::zero(s)),
                    Type::Array(_) | Type::HostArray(_) => self.b.ins().iconst(POINTER, 0),
                };
                self.b.def_var(self.vars[i], zero);
            }
        }
        if self.unit.caps.simd {
            if let Some(plan) = super::vector::plan(self.program, self.func) {
                return self.lower_elementwise(&plan);
            }
            if let Some(plan) = super::vector_reduce::reduce_plan(self.program, self.func) {
                return self.lower_reduce_batch(&plan);
            }
            if let Some(plan) = super::vector_rows::rows_plan(self.program, self.func) {
                return self.lower_row_fold(&plan);
            }
        }
        let body = &self.func.body;
        self.lower_block(body)?;
        // Falling off the end: `()` functions return; a value-returning function
        // only gets here on paths the IR never reaches.
        self.return_dummy();
        Ok(())
    }

    /// Lowers `block`'s instructions in order, with the SIMD host's vectors
    /// where a run of them forms a lane group (`lane_groups`).
    pub fn lower_block(&mut self, block: &'_ ir::Block) -> Result<(), BackendError> {
        let mut rest = &block.insts[..];
        while let Some(inst) = rest.first() {
            self.set_span(inst.span);
            let grouped = match self.unit.caps.simd {
                true => self.lower_lane_group(rest)?,
                false => 0,
            };
            if grouped == 0 {
                self.lower_inst(inst)?;
            }
            rest = &rest[grouped.max(1)..];
        }
        Ok(())
    }

    /// Lowers `block` as the body of a loop whose `continue` goes to `latch` and
    /// whose `break` goes to `exit` (for loops the backend builds itself).
    pub fn lower_block_in_loop(
        &mut self,
        block: &ir::Block,
        latch: Block,
        exit: Block,
    ) -> Result<(), BackendError> {
        self.loops.push((latch, exit));
        let r = self.lower_block(block);
        self.loops.pop();
        r
    }

    /// Makes IR value `id` stand for `v` (for values the backend defines itself).
    pub fn bind_value(&mut self, id: ValueId, v: Value) -> Result<(), BackendError> {
        let slot = self
            .values
            .get_mut(id.0 as usize)
            .ok_or_else(|| BackendError::unsupported("", "value out of range"))?;
        *slot = Some(v);
        Ok(())
    }

    pub fn set_span(&mut self, span: Span) {
        if self.spans.last() != Some(&span) {
            self.spans.push(span);
        }
        self.b
            .set_srcloc(SourceLoc::new(self.spans.len() as u32 - 1));
    }

    pub fn value(&self, id: ValueId) -> Result<Value, BackendError> {
        self.values
            .get(id.0 as usize)
            .copied()
            .flatten()
            .ok_or_else(|| self.error(format!("value v{} used before its definition", id.0)))
    }

    pub fn value_type(&self, id: ValueId) -> Result<ScalarType, BackendError> {
        self.func
            .value_types
            .get(id.0 as usize)
            .copied()
            .ok_or_else(|| self.error(format!("value v{} has no type", id.0)))
    }

    pub fn var(&self, local: ir::LocalId) -> Result<Variable, BackendError> {
        self.vars
            .get(local.0 as usize)
            .copied()
            .ok_or_else(|| self.error(format!("unknown local l{}", local.0)))
    }

    fn lower_inst(&mut self, inst: &ir::Inst) -> Result<(), BackendError> {
        let result = match &inst.kind {
            InstKind::Host { op, .. } => {
                return Err(self.error(format!(
                    "host operation `{}` only runs in interpreted host code",
                    op.name()
                )))
            }
            InstKind::Const(v) => match inst.result {
                Some(r) if self.held.contains(&r) => Some(self.held_constant(*v)),
                _ => Some(self.constant(*v)),
            },
            InstKind::GetLocal(local) => {
                let var = self.var(*local)?;
                Some(self.b.use_var(var))
            }
            InstKind::SetLocal(local, value) => {
                self.lanes.forget(*local);
                let (var, v) = (self.var(*local)?, self.value(*value)?);
                self.b.try_def_var(var, v).map_err(|_| {
                    self.error(format!(
                        "local l{} assigned a value of another type",
                        local.0
                    ))
                })?;
                None
            }
            InstKind::Unary(op, a) => Some(self.unary(*op, *a)?),
            InstKind::Binary(op, a, b) => Some(self.binary(*op, *a, *b, inst.span)?),
            InstKind::Cmp(op, a, b) => Some(self.compare(*op, *a, *b)?),
            InstKind::Cast(a, to) => Some(self.cast(*a, *to)?),
            InstKind::Bitcast(a, to) => Some(self.bitcast(*a, *to)?),
            InstKind::Select {
                cond,
                if_true,
                if_false,
            } => {
                let (c, t, f) = (
                    self.value(*cond)?,
                    self.value(*if_true)?,
                    self.value(*if_false)?,
                );
                Some(self.b.ins().select(c, t, f))
            }
            InstKind::Intrinsic(op, args) => Some(self.intrinsic(*op, args)?),
            InstKind::Call { callee, args } => self.call(*callee, args, inst.span)?,
            InstKind::ArrayLen { array, axis } => Some(self.array_len(*array, *axis)?),
            InstKind::ArrayStride { array, axis } => Some(self.array_stride(*array, *axis)?),
            InstKind::Load {
                array,
                indices,
                checked,
            } => Some(self.load(*array, indices, *checked, inst.span)?),
            InstKind::Store {
                array,
                indices,
                value,
                checked,
            } => {
                self.store(*array, indices, *value, *checked, inst.span)?;
                None
            }
            InstKind::Spmd(s) => self.spmd(s, inst.span)?,
            InstKind::LoadConst { table, index } => {
                Some(self.load_const(*table, *index, inst.span)?)
            }
            InstKind::If { .. }
            | InstKind::Loop { .. }
            | InstKind::Break
            | InstKind::Continue
            | InstKind::Return(_) => {
                structured::lower_control(self, &inst.kind)?;
                None
            }
            InstKind::Assert { cond, message } => {
                let ok = self.value(*cond)?;
                let site = self.unit.tables.traps.add(inst.span, Some(message.clone()));
                self.trap_unless(ok, trap_code::ASSERTION_FAILED, site, None);
                None
            }
            InstKind::Print {
                pieces,
                args,
                newline,
            } => {
                self.print(pieces, args, *newline)?;
                None
            }
        };
        structured::define(&mut self.values, inst.result, result).map_err(|e| self.error(e))
    }

    /// Returns from the function with zero of its return type: the way out after a
    /// trap has been recorded in `ctx`.
    pub fn return_dummy(&mut self) {
        match self.func.ret {
            Some(ty) => {
                let zero = self.constant(ScalarValue::zero(ty));
                self.b.ins().return_(&[zero]);
            }
            None => {
                self.b.ins().return_(&[]);
            }
        }
    }

    /// Continues when `ok` is non-zero; otherwise (in a cold block) records trap
    /// `code` at `site` with optional `(index, len)` payloads and returns.
    pub fn trap_unless(&mut self, ok: Value, code: u32, site: u32, payload: Option<[Value; 2]>) {
        let (cont, cold) = (self.b.create_block(), self.b.create_block());
        self.b.set_cold_block(cold);
        self.b.ins().brif(ok, cont, &[], cold, &[]);
        self.b.switch_to_block(cold);
        self.record_trap(code, site, payload);
        self.return_dummy();
        self.b.switch_to_block(cont);
    }

    fn record_trap(&mut self, code: u32, site: u32, payload: Option<[Value; 2]>) {
        let ctx = self.ctx;
        let code = self.b.ins().iconst(types::I32, code as i64);
        let site = self.b.ins().iconst(types::I32, site as i64);
        self.b
            .ins()
            .store(ctx_flags(), code, ctx, CallContext::TRAP_CODE_OFFSET);
        self.b
            .ins()
            .store(ctx_flags(), site, ctx, CallContext::TRAP_SITE_OFFSET);
        if let Some([index, len]) = payload {
            let offset = CallContext::TRAP_PAYLOAD_OFFSET;
            self.b.ins().store(ctx_flags(), index, ctx, offset);
            self.b.ins().store(ctx_flags(), len, ctx, offset + 8);
        }
    }

    fn call(
        &mut self,
        callee: FuncId,
        args: &[Arg],
        span: Span,
    ) -> Result<Option<Value>, BackendError> {
        let callee_ir = self
            .program
            .functions
            .get(callee.0 as usize)
            .ok_or(BackendError::NoSuchFunction(callee.0))?;
        if callee_ir.params.len() != args.len() {
            return Err(self.error(format!(
                "call to `{}` with {} arguments, expected {}",
                callee_ir.name,
                args.len(),
                callee_ir.params.len()
            )));
        }
        let func_ref = match self.callees.get(&callee) {
            Some(r) => *r,
            None => {
                let id = *self.unit.functions.get(&callee).ok_or_else(|| {
                    self.error(format!("callee `{}` was not declared", callee_ir.name))
                })?;
                let r = self.module.declare_func_in_func(id, self.b.func);
                self.callees.insert(callee, r);
                r
            }
        };
        let mut values = Vec::with_capacity(args.len() + 1);
        values.push(self.ctx);
        // Scalars must go to scalar parameters and array locals to array parameters:
        // an integer passed where a descriptor pointer is expected would pass the
        // verifier (both are i64) but be memory-unsafe.
        for (arg, param_ty) in args.iter().zip(callee_ir.param_types()) {
            let fits = match (arg, param_ty) {
                (Arg::Value(v), Type::Scalar(t)) => self.value_type(*v)? == t,
                (Arg::Array(local), Type::Array(t)) => self
                    .func
                    .locals
                    .get(local.0 as usize)
                    // `&mut` arrays may be passed where `&` is expected.
                    .is_some_and(|l| match l.ty {
                        Type::Array(a) => a.elem == t.elem && a.rank == t.rank,
                        Type::Scalar(_) | Type::HostArray(_) => false,
                    }),
                (Arg::SubView { array, index }, Type::Array(t)) => {
                    self.value_type(*index)? == ScalarType::Usize
                        && self
                            .func
                            .locals
                            .get(array.0 as usize)
                            .is_some_and(|l| match l.ty {
                                Type::Array(a) => a.elem == t.elem && a.rank == t.rank + 1,
                                Type::Scalar(_) | Type::HostArray(_) => false,
                            })
                }
                _ => false,
            };
            if !fits {
                return Err(self.error(format!(
                    "call to `{}`: an argument does not match its parameter type",
                    callee_ir.name
                )));
            }
        }
        for arg in args {
            values.push(match arg {
                Arg::Value(v) => self.value(*v)?,
                Arg::Array(local) => {
                    let var = self.var(*local)?;
                    self.b.use_var(var)
                }
                Arg::SubView { array, index } => self.sub_view(*array, *index)?,
            });
        }

        // The guards are checked by the caller, so their traps point at this call:
        // the depth of calls into a recursive cycle, and the stack where the callee
        // is recursive or its unchecked call tree is large (`CallFacts`).
        let calls = &self.unit.calls;
        let (counts_depth, checks_stack) = (calls.is_recursive(callee), calls.checks_stack(callee));
        let (can_trap, stack_need) = (calls.can_trap(callee), calls.stack_need(callee));
        let ctx = self.ctx;
        let site = (counts_depth || checks_stack).then(|| self.unit.tables.traps.add(span, None));
        let depth = match site.filter(|_| counts_depth) {
            Some(site) => {
                let depth =
                    self.b
                        .ins()
                        .load(types::I64, ctx_flags(), ctx, CallContext::DEPTH_OFFSET);
                let ok = self.b.ins().icmp_imm_s(
                    clif::condcodes::IntCC::SignedLessThan,
                    depth,
                    RECURSION_LIMIT,
                );
                self.trap_unless(ok, trap_code::RECURSION_LIMIT, site, None);
                Some(depth)
            }
            None => None,
        };
        if let Some(site) = site.filter(|_| checks_stack) {
            // The callee's frame and everything it calls unchecked must fit above
            // the thread's limit.
            let sp = self.b.ins().get_stack_pointer(POINTER);
            let limit =
                self.b
                    .ins()
                    .load(POINTER, ctx_flags(), ctx, CallContext::STACK_LIMIT_OFFSET);
            let bottom = self.b.ins().iadd_imm_s(sp, -(stack_need as i64));
            let fits = self.b.ins().icmp(
                clif::condcodes::IntCC::UnsignedGreaterThanOrEqual,
                bottom,
                limit,
            );
            self.trap_unless(fits, trap_code::STACK_OVERFLOW, site, None);
        }
        if let Some(depth) = depth {
            let deeper = self.b.ins().iadd_imm_s(depth, 1);
            self.b
                .ins()
                .store(ctx_flags(), deeper, ctx, CallContext::DEPTH_OFFSET);
        }
        let call = self.b.ins().call(func_ref, &values);
        let result = self.b.inst_results(call).first().copied();
        if let Some(depth) = depth {
            self.b
                .ins()
                .store(ctx_flags(), depth, ctx, CallContext::DEPTH_OFFSET);
        }

        // A trap inside the callee: return at once, leaving ctx as the callee set it.
        if can_trap {
            let code =
                self.b
                    .ins()
                    .load(types::I32, ctx_flags(), ctx, CallContext::TRAP_CODE_OFFSET);
            let (cont, propagate) = (self.b.create_block(), self.b.create_block());
            self.b.set_cold_block(propagate);
            self.b.ins().brif(code, propagate, &[], cont, &[]);
            self.b.switch_to_block(propagate);
            self.return_dummy();
            self.b.switch_to_block(cont);
        }
        Ok(result)
    }

    pub fn const_table_global(&mut self, table: ConstTableId) -> Result<GlobalValue, BackendError> {
        if let Some(gv) = self.const_globals.get(&table) {
            return Ok(*gv);
        }
        let data = *self
            .unit
            .const_tables
            .get(&table)
            .ok_or_else(|| self.error(format!("unknown constant table {}", table.0)))?;
        let gv = self.module.declare_data_in_func(data, self.b.func);
        self.const_globals.insert(table, gv);
        Ok(gv)
    }

    pub fn print_hook_ref(&mut self) -> FuncRef {
        match self.print_ref {
            Some(r) => r,
            None => {
                let r = self
                    .module
                    .declare_func_in_func(self.unit.print_hook, self.b.func);
                self.print_ref = Some(r);
                r
            }
        }
    }
}

/// The Cranelift side of the shared structured control flow.
impl<M: Module> CfgBuilder for Lowerer<'_, '_, M> {
    type Block = Block;
    type Error = BackendError;

    fn new_block(&mut self, _role: BlockRole) -> Block {
        self.b.create_block()
    }

    fn switch_to(&mut self, block: Block) {
        self.b.switch_to_block(block);
    }

    fn jump(&mut self, to: Block) -> Result<(), BackendError> {
        self.b.ins().jump(to, &[]);
        Ok(())
    }

    fn branch(
        &mut self,
        cond: ValueId,
        if_true: Block,
        if_false: Block,
    ) -> Result<(), BackendError> {
        let c = self.value(cond)?;
        self.b.ins().brif(c, if_true, &[], if_false, &[]);
        Ok(())
    }

    fn return_value(&mut self, value: Option<ValueId>) -> Result<(), BackendError> {
        match value {
            Some(v) => {
                let v = self.value(v)?;
                self.b.ins().return_(&[v]);
            }
            None => {
                self.b.ins().return_(&[]);
            }
        }
        Ok(())
    }

    fn lower_block(&mut self, block: &ir::Block) -> Result<(), BackendError> {
        Lowerer::lower_block(self, block)
    }

    fn loop_stack(&mut self) -> &mut Vec<(Block, Block)> {
        &mut self.loops
    }

    fn error(&self, message: &str) -> BackendError {
        Lowerer::error(self, message)
    }
}

/// Bytes the native frame of `callee` may take: a spill slot per value and local,
/// plus the return address, saved registers and small buffers. It need not be
/// exact: each call is checked against the real stack pointer, so an
/// underestimate only eats into `stack_limit::COMPILED_RESERVE` by one frame.
pub(super) fn frame_estimate(callee: &ir::Function) -> u64 {
    let slots = callee.value_types.len() + callee.locals.len();
    256 + 8 * slots as u64
}
