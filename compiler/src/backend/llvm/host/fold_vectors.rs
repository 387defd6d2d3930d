//! What the vector forms of folds on the host share (`block_reduce`,
//! `row_fold`): which folds qualify ([`LaneFold`]), the start of their
//! function, calls of the fold's combiner on scalars and, lane by lane, on
//! vectors (LLVM inlines the combiner and makes the lanes' calls one vector
//! operation), loads aligned to one element, counted loops over stack slots
//! (`mem2reg` makes them registers) and the call of the loop function for the
//! calls a vector form does not take.
//!
//! It knows the shared lowering's calling convention (the trap record first),
//! not what a fold computes.

use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::types::{BasicTypeEnum, VectorType};
use inkwell::values::{
    BasicMetadataValueEnum, BasicValue, BasicValueEnum, FunctionValue, InstructionValue, IntValue,
    PointerValue, VectorValue,
};
use inkwell::IntPredicate;

use super::LlvmError;
use crate::backend::llvm::lower::{
    declare_kern_function, kern_function_frame, ArrayValue, Frame, ParamValue, Unit,
};
use crate::ir::{self, FuncId, ScalarType};
use crate::passes::predicate::lane_combiner;

/// A fold whose combiner runs lane by lane
/// ([`crate::passes::predicate::lane_combiner`]): the combiner and the one
/// type, of 32 or 64 bits, of the fold's elements and accumulators.
#[derive(Clone, Copy, Debug)]
pub(super) struct LaneFold {
    pub combine: FuncId,
    pub ty: ScalarType,
}

impl LaneFold {
    /// The plan of a fold in `ty` with combiner `combine`, when they qualify.
    pub(super) fn of(program: &ir::Program, combine: FuncId, ty: ScalarType) -> Option<LaneFold> {
        if !matches!(ty.bits(), 32 | 64) {
            return None;
        }
        lane_combiner(program, combine, ty).map(|_| LaneFold { combine, ty })
    }
}

/// The start of the vector form of fold `func` (whose two parameters are
/// arrays): `name` declared with `func`'s signature, its frame, and the LLVM
/// function of the plan's combiner, which must be defined in the unit.
pub(super) fn begin_fold<'ctx>(
    unit: &mut Unit<'ctx>,
    func: &ir::Function,
    plan: LaneFold,
    name: &str,
) -> Result<(FunctionValue<'ctx>, Frame<'ctx>, FunctionValue<'ctx>), LlvmError> {
    let combine = *unit
        .device_functions
        .get(&plan.combine)
        .ok_or_else(|| LlvmError::Llvm("the fold's combiner is not in its unit".into()))?;
    let function = declare_kern_function(unit, func, name);
    let frame = kern_function_frame(function, func);
    match &frame.params[..] {
        [ParamValue::Array(_), ParamValue::Array(_)] => Ok((function, frame, combine)),
        _ => Err(LlvmError::Llvm("a fold without its two arrays".into())),
    }
}

/// The two array parameters of a frame [`begin_fold`] returned.
pub(super) fn arrays<'a, 'ctx>(
    frame: &'a Frame<'ctx>,
) -> (&'a ArrayValue<'ctx>, &'a ArrayValue<'ctx>) {
    match &frame.params[..] {
        [ParamValue::Array(a), ParamValue::Array(b)] => (a, b),
        _ => unreachable!("begin_fold checked the parameters"),
    }
}

/// `<lanes x elem>`.
pub(super) fn vector_type(elem: BasicTypeEnum<'_>, lanes: u32) -> VectorType<'_> {
    match elem {
        BasicTypeEnum::FloatType(t) => t.vec_type(lanes),
        BasicTypeEnum::IntType(t) => t.vec_type(lanes),
        _ => unreachable!("a fold's element is a number"),
    }
}

/// Ends the current block with a call of `generic` on `function`'s own
/// parameters (both have one signature) and a return.
pub(super) fn call_and_return<'ctx>(
    b: &Builder<'ctx>,
    function: FunctionValue<'ctx>,
    generic: FunctionValue<'ctx>,
) -> Result<(), LlvmError> {
    let all: Vec<BasicMetadataValueEnum> =
        function.get_params().into_iter().map(Into::into).collect();
    b.build_call(generic, &all, "")?;
    b.build_return(None)?;
    Ok(())
}

/// Emits `for (i = start; i < end; i += step) body(i)` with `i` in `slot`;
/// leaves the builder after the loop.
pub(super) fn counted_loop<'ctx>(
    b: &Builder<'ctx>,
    function: FunctionValue<'ctx>,
    slot: PointerValue<'ctx>,
    (start, end, step): (IntValue<'ctx>, IntValue<'ctx>, u64),
    mut body: impl FnMut(IntValue<'ctx>) -> Result<(), LlvmError>,
) -> Result<(), LlvmError> {
    let cx = function.get_type().get_context();
    let i64t = cx.i64_type();
    let (head, inside, exit) = (
        cx.append_basic_block(function, "loop"),
        cx.append_basic_block(function, "loop.body"),
        cx.append_basic_block(function, "loop.exit"),
    );
    b.build_store(slot, start)?;
    b.build_unconditional_branch(head)?;
    b.position_at_end(head);
    let i = b.build_load(i64t, slot, "")?.into_int_value();
    let more = b.build_int_compare(IntPredicate::ULT, i, end, "")?;
    b.build_conditional_branch(more, inside, exit)?;
    b.position_at_end(inside);
    body(i)?;
    // `body` may have left the builder in another block; `i` is still the
    // iteration's (it dominates the body).
    let next = b.build_int_add(i, i64t.const_int(step, false), "")?;
    b.build_store(slot, next)?;
    b.build_unconditional_branch(head)?;
    b.position_at_end(exit);
    Ok(())
}

/// The combiner of a fold and how its values are read.
pub(super) struct Combiner<'a, 'ctx> {
    pub cx: &'ctx Context,
    pub b: &'a Builder<'ctx>,
    pub combine: FunctionValue<'ctx>,
    pub trap: PointerValue<'ctx>,
    pub elem: BasicTypeEnum<'ctx>,
    /// Bytes of one element: the alignment of every access.
    pub size: u32,
}

impl<'ctx> Combiner<'_, 'ctx> {
    /// `f(a, b)`: a call of the combiner (which cannot trap).
    pub fn combine(
        &self,
        a: BasicValueEnum<'ctx>,
        b: BasicValueEnum<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let args: [BasicMetadataValueEnum; 3] = [self.trap.into(), a.into(), b.into()];
        self.b
            .build_call(self.combine, &args, "")?
            .try_as_basic_value()
            .basic()
            .ok_or_else(|| LlvmError::Llvm("a combiner without a value".into()))
    }

    /// `f(acc[k], x[k])` for every lane `k`, as one vector.
    pub fn combine_lanes(
        &self,
        acc: VectorValue<'ctx>,
        x: VectorValue<'ctx>,
    ) -> Result<VectorValue<'ctx>, LlvmError> {
        let i64t = self.cx.i64_type();
        let mut next = acc.get_type().get_undef();
        for k in 0..acc.get_type().get_size() as u64 {
            let lane = i64t.const_int(k, false);
            let (r, v) = (
                self.b.build_extract_element(acc, lane, "")?,
                self.b.build_extract_element(x, lane, "")?,
            );
            let combined = self.combine(r, v)?;
            next = self.b.build_insert_element(next, combined, lane, "")?;
        }
        Ok(next)
    }

    /// A load of `ty` (an element or a vector of them) from `at`, aligned to
    /// one element.
    pub fn load(
        &self,
        ty: BasicTypeEnum<'ctx>,
        at: PointerValue<'ctx>,
    ) -> Result<BasicValueEnum<'ctx>, LlvmError> {
        let v = self.b.build_load(ty, at, "")?;
        if let Some(inst) = v.as_instruction_value() {
            self.aligned(inst);
        }
        Ok(v)
    }

    /// A store of `v` at `at`, aligned to one element.
    pub fn store(&self, at: PointerValue<'ctx>, v: impl BasicValue<'ctx>) -> Result<(), LlvmError> {
        let store = self.b.build_store(at, v)?;
        self.aligned(store);
        Ok(())
    }

    /// The address of element `index` of the elements from `base` on.
    pub fn element(
        &self,
        base: PointerValue<'ctx>,
        index: IntValue<'ctx>,
    ) -> Result<PointerValue<'ctx>, LlvmError> {
        // SAFETY (of the IR): every caller stays inside the array it was
        // given, which the vector form checked on entry.
        Ok(unsafe { self.b.build_in_bounds_gep(self.elem, base, &[index], "")? })
    }

    fn aligned(&self, inst: InstructionValue<'ctx>) {
        let _ = inst.set_alignment(self.size);
    }
}
