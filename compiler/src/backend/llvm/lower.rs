//! Lowering of one kern IR function body to LLVM IR, for every LLVM target: the
//! frame (locals as allocas that `mem2reg` promotes, array parameters as their
//! flattened descriptors), structured control flow, calls of kern functions and
//! the trap exits. Arithmetic lives in `ops`, array and constant-table access in
//! `memory`, atomics in `atomics`.
//!
//! The same lowering serves the GPU's device functions and kernel entries and the
//! host CPU's functions: the caller (`nvptx` or `host`) creates the LLVM function,
//! computes where each parameter comes from ([`Frame`]), for the GPU's loop
//! kernels which IR induction variable becomes the grid-stride index
//! ([`GridStride`]), and passes its [`TargetHooks`]: what differs between the
//! targets (how a trapping thread stops, what a call checks, the SPMD
//! instructions only a GPU runs, `print!`). It does not know how either target
//! receives its operands or turns the module into code.

use std::collections::HashMap;

use inkwell::basic_block::BasicBlock;
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::Module;
use inkwell::values::{
    BasicMetadataValueEnum, BasicValueEnum, FloatValue, FunctionValue, GlobalValue, IntValue,
    PointerValue,
};

use inkwell::module::Linkage;
use inkwell::AddressSpace;

use super::hooks::TargetHooks;
use super::types::{constant, device_param_types, register_type, zero};
use super::LlvmError;
use crate::backend::structured::{self, BlockRole, CfgBuilder};
use crate::backend::traps::{trap_code, TrapSites};
use crate::diagnostics::Span;
use crate::ir::spmd::SpmdInst;
use crate::ir::{self, Arg, ConstTableId, FuncId, InstKind, LocalId, ScalarType, Type, ValueId};

/// An array as generated code sees it: its data pointer and, per axis, extent and
/// stride (in elements) as `i64` values.
#[derive(Clone, Debug)]
pub(super) struct ArrayValue<'ctx> {
    pub data: PointerValue<'ctx>,
    pub shape: Vec<IntValue<'ctx>>,
    pub strides: Vec<IntValue<'ctx>>,
}

/// Where an IR parameter's value comes from.
pub(super) enum ParamValue<'ctx> {
    Scalar(BasicValueEnum<'ctx>),
    Array(ArrayValue<'ctx>),
}

/// What `Return` does.
#[derive(Clone, Copy)]
pub(super) enum ReturnMode<'ctx> {
    /// A device function: returns the value.
    Value,
    /// A kernel: stores the value (if any) through the pointer and returns void.
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    Store(Option<PointerValue<'ctx>>),
}

/// The outer loop of a loop kernel, turned into a grid-stride loop: the IR's
/// induction local starts at the thread's global index instead of 0, and the IR
/// constant it is stepped by (the `1` of `i + 1`) becomes the grid's size.
pub(super) struct GridStride<'ctx> {
    pub induction: LocalId,
    pub start: IntValue<'ctx>,
    pub step_value: ValueId,
    pub step: IntValue<'ctx>,
}

/// How the function being lowered receives its parameters.
pub(super) struct Frame<'ctx> {
    pub trap: PointerValue<'ctx>,
    pub params: Vec<ParamValue<'ctx>>,
    pub ret: ReturnMode<'ctx>,
    pub grid_stride: Option<GridStride<'ctx>>,
}

/// What the functions of one module share.
pub(super) struct Unit<'ctx> {
    pub cx: &'ctx Context,
    pub module: Module<'ctx>,
    pub device_functions: HashMap<FuncId, FunctionValue<'ctx>>,
    pub const_tables: HashMap<ConstTableId, GlobalValue<'ctx>>,
    /// `kern$trap(record, code, site, payload0, payload1)`: noreturn.
    pub trap_function: FunctionValue<'ctx>,
    pub trap_sites: TrapSites,
    /// Where arrays, constant tables and the trap record live (the GPU's global
    /// memory, the host's only address space).
    pub address_space: AddressSpace,
}

/// The frame of a kern function declared by [`declare_kern_function`]: the trap
/// record is its first parameter, then each IR parameter (arrays flattened), and
/// `Return` returns the value.
pub(super) fn kern_function_frame<'ctx>(
    function: FunctionValue<'ctx>,
    func: &ir::Function,
) -> Frame<'ctx> {
    let mut next = 0;
    let mut take = || {
        next += 1;
        function
            .get_nth_param(next - 1)
            .expect("declared with this signature")
    };
    let trap = take().into_pointer_value();
    let mut params = Vec::with_capacity(func.params.len());
    for ty in func.param_types() {
        params.push(match ty {
            Type::Scalar(_) | Type::HostArray(_) => ParamValue::Scalar(take()),
            Type::Array(a) => {
                let data = take().into_pointer_value();
                let shape: Vec<IntValue> = (0..a.rank).map(|_| take().into_int_value()).collect();
                let strides: Vec<IntValue> = (0..a.rank).map(|_| take().into_int_value()).collect();
                ParamValue::Array(ArrayValue {
                    data,
                    shape,
                    strides,
                })
            }
        });
    }
    Frame {
        trap,
        params,
        ret: ReturnMode::Value,
        grid_stride: None,
    }
}

/// Declares the LLVM function of kern function `func` (internal linkage; the
/// trap record, then each parameter, arrays flattened: `types::device_param_types`).
pub(super) fn declare_kern_function<'ctx>(
    unit: &Unit<'ctx>,
    func: &ir::Function,
    name: &str,
) -> FunctionValue<'ctx> {
    let cx = unit.cx;
    let params = device_param_types(cx, func, unit.address_space);
    let fn_type = match func.ret {
        Some(ty) => match register_type(cx, ty) {
            inkwell::types::BasicTypeEnum::IntType(t) => t.fn_type(&params, false),
            inkwell::types::BasicTypeEnum::FloatType(t) => t.fn_type(&params, false),
            _ => cx.void_type().fn_type(&params, false),
        },
        None => cx.void_type().fn_type(&params, false),
    };
    unit.module
        .add_function(name, fn_type, Some(Linkage::Internal))
}

enum LocalSlot<'ctx> {
    Scalar(PointerValue<'ctx>),
    Array(Option<ArrayValue<'ctx>>),
}

pub(super) struct Lowerer<'ctx, 'a> {
    pub cx: &'ctx Context,
    pub b: Builder<'ctx>,
    pub unit: &'a mut Unit<'ctx>,
    pub program: &'a ir::Program,
    pub func: &'a ir::Function,
    pub llvm_function: FunctionValue<'ctx>,
    pub trap: PointerValue<'ctx>,
    pub hooks: &'a dyn TargetHooks<'ctx>,
    values: Vec<Option<BasicValueEnum<'ctx>>>,
    locals: Vec<LocalSlot<'ctx>>,
    /// `(latch, exit)` of each enclosing loop, innermost last.
    loops: Vec<(BasicBlock<'ctx>, BasicBlock<'ctx>)>,
    ret: ReturnMode<'ctx>,
    /// IR values the frame defines instead of their instruction (the grid step).
    overrides: HashMap<ValueId, BasicValueEnum<'ctx>>,
}

/// Lowers the body of `func` into `llvm_function`, whose entry block `b` is
/// positioned in (the caller may have emitted the frame's values there).
pub(super) fn lower_function<'ctx>(
    unit: &mut Unit<'ctx>,
    hooks: &dyn TargetHooks<'ctx>,
    b: Builder<'ctx>,
    program: &ir::Program,
    func: &ir::Function,
    llvm_function: FunctionValue<'ctx>,
    frame: Frame<'ctx>,
) -> Result<(), LlvmError> {
    let cx = unit.cx;
    let mut lowerer = Lowerer {
        cx,
        b,
        unit,
        program,
        func,
        llvm_function,
        trap: frame.trap,
        hooks,
        values: vec![None; func.value_types.len()],
        locals: Vec::with_capacity(func.locals.len()),
        loops: Vec::new(),
        ret: frame.ret,
        overrides: HashMap::new(),
    };
    lowerer.lower_frame(frame.params, frame.grid_stride)?;
    // After the frame's allocas, which must stay in the entry block for `mem2reg`.
    hooks.enter(&mut lowerer)?;
    lowerer.lower_block(&func.body)?;
    // Falling off the end: `()` functions return; a value-returning function only
    // gets here on paths the IR never reaches.
    lowerer.return_dummy()?;
    Ok(())
}

impl<'ctx> Lowerer<'ctx, '_> {
    pub fn invalid(&self, message: impl Into<String>) -> LlvmError {
        LlvmError::Invalid {
            function: self.func.name.clone(),
            message: message.into(),
        }
    }

    fn lower_frame(
        &mut self,
        params: Vec<ParamValue<'ctx>>,
        grid_stride: Option<GridStride<'ctx>>,
    ) -> Result<(), LlvmError> {
        for local in &self.func.locals {
            self.locals.push(match local.ty {
                Type::Scalar(s) => {
                    let slot = self
                        .b
                        .build_alloca(register_type(self.cx, s), &local.name)?;
                    self.b.build_store(slot, zero(self.cx, s))?;
                    LocalSlot::Scalar(slot)
                }
                Type::Array(_) => LocalSlot::Array(None),
                Type::HostArray(_) => {
                    return Err(self.invalid("host arrays only exist in host code"))
                }
            });
        }
        if params.len() != self.func.params.len() {
            return Err(self.invalid("parameter count does not match the frame"));
        }
        for (param, value) in self.func.params.iter().zip(params) {
            match (&mut self.locals[param.local.0 as usize], value) {
                (LocalSlot::Scalar(slot), ParamValue::Scalar(v)) => {
                    let slot = *slot;
                    self.b.build_store(slot, v)?;
                }
                (LocalSlot::Array(slot), ParamValue::Array(a)) => *slot = Some(a),
                _ => return Err(self.invalid(format!("parameter `{}` kind", param.name))),
            }
        }
        if let Some(gs) = grid_stride {
            let Some(LocalSlot::Scalar(slot)) = self.locals.get(gs.induction.0 as usize) else {
                return Err(self.invalid("the grid-stride induction is not a scalar local"));
            };
            let slot = *slot;
            self.b.build_store(slot, gs.start)?;
            self.overrides.insert(gs.step_value, gs.step.into());
        }
        Ok(())
    }

    pub fn lower_block(&mut self, block: &ir::Block) -> Result<(), LlvmError> {
        for inst in &block.insts {
            self.lower_inst(inst)?;
        }
        Ok(())
    }

    pub fn value(&self, id: ValueId) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        self.values
            .get(id.0 as usize)
            .copied()
            .flatten()
            .ok_or_else(|| self.invalid(format!("value v{} used before its definition", id.0)))
    }

    pub fn int(&self, id: ValueId) -> Result<IntValue<'ctx>, LlvmError> {
        match self.value(id)? {
            BasicValueEnum::IntValue(v) => Ok(v),
            _ => Err(self.invalid(format!("v{} is not an integer", id.0))),
        }
    }

    pub fn float(&self, id: ValueId) -> Result<FloatValue<'ctx>, LlvmError> {
        match self.value(id)? {
            BasicValueEnum::FloatValue(v) => Ok(v),
            _ => Err(self.invalid(format!("v{} is not a float", id.0))),
        }
    }

    pub fn value_type(&self, id: ValueId) -> Result<ScalarType, LlvmError> {
        self.func
            .value_types
            .get(id.0 as usize)
            .copied()
            .ok_or_else(|| self.invalid(format!("value v{} has no type", id.0)))
    }

    pub fn array(&self, local: LocalId) -> Result<(ArrayValue<'ctx>, ir::ArrayType), LlvmError> {
        let ty = match self.func.locals.get(local.0 as usize).map(|l| l.ty) {
            Some(Type::Array(a)) => a,
            _ => return Err(self.invalid(format!("local l{} is not an array", local.0))),
        };
        match self.locals.get(local.0 as usize) {
            Some(LocalSlot::Array(Some(a))) => Ok((a.clone(), ty)),
            _ => Err(self.invalid(format!("array local l{} has no value", local.0))),
        }
    }

    /// Binds array local `local` to `value` (a shared array: see `shared`).
    #[cfg_attr(not(feature = "cuda"), allow(dead_code))]
    pub fn bind_array(&mut self, local: LocalId, value: ArrayValue<'ctx>) -> Result<(), LlvmError> {
        match self.locals.get_mut(local.0 as usize) {
            Some(LocalSlot::Array(slot)) => {
                *slot = Some(value);
                Ok(())
            }
            _ => Err(self.invalid(format!("local l{} is not an array", local.0))),
        }
    }

    fn scalar_slot(&self, local: LocalId) -> Result<(PointerValue<'ctx>, ScalarType), LlvmError> {
        match (
            self.locals.get(local.0 as usize),
            self.func.locals.get(local.0 as usize).map(|l| l.ty),
        ) {
            (Some(LocalSlot::Scalar(slot)), Some(Type::Scalar(t))) => Ok((*slot, t)),
            _ => Err(self.invalid(format!("local l{} is not a scalar", local.0))),
        }
    }

    fn lower_inst(&mut self, inst: &ir::Inst) -> Result<(), LlvmError> {
        if let Some(v) = inst.result.and_then(|r| self.overrides.get(&r).copied()) {
            return self.define(inst.result, Some(v));
        }
        let result: Option<BasicValueEnum<'ctx>> = match &inst.kind {
            InstKind::Const(v) => Some(constant(self.cx, *v)),
            InstKind::GetLocal(local) => {
                let (slot, ty) = self.scalar_slot(*local)?;
                let name = &self.func.local(*local).name;
                Some(self.b.build_load(register_type(self.cx, ty), slot, name)?)
            }
            InstKind::SetLocal(local, value) => {
                let (slot, ty) = self.scalar_slot(*local)?;
                if self.value_type(*value)? != ty {
                    return Err(self.invalid(format!("local l{} set to another type", local.0)));
                }
                let v = self.value(*value)?;
                self.b.build_store(slot, v)?;
                None
            }
            InstKind::Unary(op, a) => Some(self.unary(*op, *a)?),
            InstKind::Binary(op, a, b) => Some(self.binary(*op, *a, *b, inst.span)?),
            InstKind::Cmp(op, a, b) => Some(self.compare(*op, *a, *b)?.into()),
            InstKind::Cast(a, to) => Some(self.cast(*a, *to)?),
            InstKind::Bitcast(a, to) => Some(self.bitcast(*a, *to)?),
            InstKind::Select {
                cond,
                if_true,
                if_false,
            } => {
                let c = self.int(*cond)?;
                let (t, f) = (self.value(*if_true)?, self.value(*if_false)?);
                Some(self.b.build_select(c, t, f, "")?)
            }
            InstKind::Intrinsic(op, args) => Some(self.intrinsic(*op, args)?),
            InstKind::Call { callee, args } => self.call(*callee, args, inst.span)?,
            InstKind::ArrayLen { array, axis } => Some(self.array_len(*array, *axis)?.into()),
            InstKind::ArrayStride { array, axis } => Some(self.array_stride(*array, *axis)?.into()),
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
                let ok = self.int(*cond)?;
                let site = self.unit.trap_sites.add(inst.span, Some(message.clone()));
                self.trap_unless(ok, trap_code::ASSERTION_FAILED, site, None)?;
                None
            }
            InstKind::Spmd(SpmdInst::Atomic(atomic)) => Some(self.atomic(atomic, inst.span)?),
            InstKind::Spmd(spmd) => {
                let hooks = self.hooks;
                hooks.spmd(self, spmd, inst.span)?
            }
            InstKind::Print { .. } => {
                let hooks = self.hooks;
                hooks.print(self, inst)?;
                None
            }
            // Host code is interpreted, never compiled.
            InstKind::Host { .. } => {
                return Err(self.invalid("a host instruction reached the lowering"))
            }
        };
        self.define(inst.result, result)
    }

    fn define(
        &mut self,
        result: Option<ValueId>,
        value: Option<BasicValueEnum<'ctx>>,
    ) -> Result<(), LlvmError> {
        structured::define(&mut self.values, result, value).map_err(|e| self.invalid(e))
    }

    pub fn basic_block(&self, name: &str) -> BasicBlock<'ctx> {
        self.cx.append_basic_block(self.llvm_function, name)
    }

    fn build_return(&mut self, value: Option<BasicValueEnum<'ctx>>) -> Result<(), LlvmError> {
        let target = match self.ret {
            ReturnMode::Value => None,
            ReturnMode::Store(target) => Some(target),
        };
        match (target, value) {
            (None, Some(v)) => self.b.build_return(Some(&v))?,
            (None, None) => self.b.build_return(None)?,
            (Some(target), v) => {
                if let (Some(ptr), Some(v), Some(ty)) = (target, v, self.func.ret) {
                    let v = self.memory_form(v, ty)?;
                    self.b.build_store(ptr, v)?;
                }
                self.b.build_return(None)?
            }
        };
        Ok(())
    }

    /// Returns zero of the function's type (paths the IR never reaches).
    pub fn return_dummy(&mut self) -> Result<(), LlvmError> {
        match (&self.ret, self.func.ret) {
            (ReturnMode::Value, Some(ty)) => {
                let z = zero(self.cx, ty);
                self.b.build_return(Some(&z))?;
            }
            _ => {
                self.b.build_return(None)?;
            }
        }
        Ok(())
    }

    /// Continues when `ok` (an `i1`) is true; otherwise records trap `code` at
    /// `site` (with optional `(index, len)` payloads) and stops the thread.
    pub fn trap_unless(
        &mut self,
        ok: IntValue<'ctx>,
        code: u32,
        site: u32,
        payload: Option<[IntValue<'ctx>; 2]>,
    ) -> Result<(), LlvmError> {
        let (cont, fail) = (self.basic_block("ok"), self.basic_block("trap"));
        self.b.build_conditional_branch(ok, cont, fail)?;
        self.b.position_at_end(fail);
        let i32t = self.cx.i32_type();
        let i64t = self.cx.i64_type();
        let [index, len] = payload.unwrap_or([i64t.const_zero(), i64t.const_zero()]);
        let args: [BasicMetadataValueEnum; 5] = [
            self.trap.into(),
            i32t.const_int(code as u64, false).into(),
            i32t.const_int(site as u64, false).into(),
            index.into(),
            len.into(),
        ];
        self.b.build_call(self.unit.trap_function, &args, "")?;
        let hooks = self.hooks;
        hooks.end_trap_block(self)?;
        self.b.position_at_end(cont);
        Ok(())
    }

    fn call(
        &mut self,
        callee: FuncId,
        args: &[Arg],
        span: Span,
    ) -> Result<Option<BasicValueEnum<'ctx>>, LlvmError> {
        let callee_ir = self
            .program
            .functions
            .get(callee.0 as usize)
            .ok_or(LlvmError::NoSuchFunction(callee.0))?;
        if callee_ir.params.len() != args.len() {
            return Err(self.invalid(format!(
                "call to `{}` with {} arguments, expected {}",
                callee_ir.name,
                args.len(),
                callee_ir.params.len()
            )));
        }
        let hooks = self.hooks;
        if let Some(v) = hooks.substitute_call(self, callee_ir, args)? {
            return Ok(Some(v));
        }
        let function =
            *self.unit.device_functions.get(&callee).ok_or_else(|| {
                self.invalid(format!("callee `{}` was not declared", callee_ir.name))
            })?;
        let mut values: Vec<BasicMetadataValueEnum> = vec![self.trap.into()];
        for (arg, param_ty) in args.iter().zip(callee_ir.param_types()) {
            match (arg, param_ty) {
                (Arg::Value(v), Type::Scalar(t)) if self.value_type(*v)? == t => {
                    values.push(self.value(*v)?.into());
                }
                (Arg::Array(local), Type::Array(t)) => {
                    let (a, ty) = self.array(*local)?;
                    if ty.elem != t.elem || ty.rank != t.rank {
                        return Err(self.invalid("array argument of another type"));
                    }
                    push_array(&mut values, &a);
                }
                (Arg::SubView { array, index }, Type::Array(t)) => {
                    let (a, ty) = self.array(*array)?;
                    if ty.elem != t.elem || ty.rank != t.rank + 1 {
                        return Err(self.invalid("sub-view argument of another type"));
                    }
                    let view = self.sub_view(&a, ty.elem, *index)?;
                    push_array(&mut values, &view);
                }
                _ => {
                    return Err(self.invalid(format!(
                        "call to `{}`: an argument does not match its parameter type",
                        callee_ir.name
                    )))
                }
            }
        }
        hooks.call(self, callee, function, &values, span)
    }
}

/// The LLVM side of the shared structured control flow.
impl<'ctx> CfgBuilder for Lowerer<'ctx, '_> {
    type Block = BasicBlock<'ctx>;
    type Error = LlvmError;

    fn new_block(&mut self, role: BlockRole) -> BasicBlock<'ctx> {
        self.basic_block(role.name())
    }

    fn switch_to(&mut self, block: BasicBlock<'ctx>) {
        self.b.position_at_end(block);
    }

    fn jump(&mut self, to: BasicBlock<'ctx>) -> Result<(), LlvmError> {
        self.b.build_unconditional_branch(to)?;
        Ok(())
    }

    fn branch(
        &mut self,
        cond: ValueId,
        if_true: BasicBlock<'ctx>,
        if_false: BasicBlock<'ctx>,
    ) -> Result<(), LlvmError> {
        let c = self.int(cond)?;
        self.b.build_conditional_branch(c, if_true, if_false)?;
        Ok(())
    }

    fn return_value(&mut self, value: Option<ValueId>) -> Result<(), LlvmError> {
        let value = value.map(|v| self.value(v)).transpose()?;
        self.build_return(value)
    }

    fn lower_block(&mut self, block: &ir::Block) -> Result<(), LlvmError> {
        Lowerer::lower_block(self, block)
    }

    fn loop_stack(&mut self) -> &mut Vec<(BasicBlock<'ctx>, BasicBlock<'ctx>)> {
        &mut self.loops
    }

    fn error(&self, message: &str) -> LlvmError {
        self.invalid(message)
    }
}

fn push_array<'ctx>(values: &mut Vec<BasicMetadataValueEnum<'ctx>>, a: &ArrayValue<'ctx>) {
    values.push(a.data.into());
    values.extend(a.shape.iter().map(|v| BasicMetadataValueEnum::from(*v)));
    values.extend(a.strides.iter().map(|v| BasicMetadataValueEnum::from(*v)));
}
