//! The machine form of kern values in LLVM IR, for every LLVM target: scalar
//! types in registers and in memory (`bool` is `i1` in registers and a byte in
//! memory), pointers (opaque: a pointer names only its address space, the
//! caller's; each load and address computation names the type it reads or
//! steps over), constants, and the flattened parameter list of a kern function
//! (an array is its data pointer, then its extents, then its strides, all
//! `i64`).
//!
//! It knows the IR's types and inkwell's; it does not lower instructions.

use inkwell::context::Context;
use inkwell::types::{BasicMetadataTypeEnum, BasicTypeEnum, PointerType};
use inkwell::values::BasicValueEnum;
use inkwell::AddressSpace;

use crate::ir::{self, ScalarType, Type};

/// The LLVM integer type of `bits` bits (1, 8, 16, 32 or 64).
pub(super) fn int_type(cx: &Context, bits: u32) -> inkwell::types::IntType<'_> {
    match bits {
        1 => cx.bool_type(),
        8 => cx.i8_type(),
        16 => cx.i16_type(),
        32 => cx.i32_type(),
        _ => cx.i64_type(),
    }
}

/// The register type of a kern scalar: `bool` is `i1`, `usize`/`isize` 64-bit.
pub(super) fn register_type(cx: &Context, ty: ScalarType) -> BasicTypeEnum<'_> {
    match ty {
        ScalarType::Bool => cx.bool_type().into(),
        ScalarType::F32 => cx.f32_type().into(),
        ScalarType::F64 => cx.f64_type().into(),
        t => int_type(cx, t.bits()).into(),
    }
}

/// The in-memory type of a kern scalar: as its register, but `bool` is a byte.
pub(super) fn memory_type(cx: &Context, ty: ScalarType) -> BasicTypeEnum<'_> {
    match ty {
        ScalarType::Bool => cx.i8_type().into(),
        t => register_type(cx, t),
    }
}

/// A pointer into address space `space`: to an array's elements, to the trap
/// record, to the host's argument slots.
pub(super) fn pointer_type(cx: &Context, space: AddressSpace) -> PointerType<'_> {
    cx.ptr_type(space)
}

/// The LLVM parameter types of the function for kern function `func`: the trap
/// record, then each IR parameter (arrays flattened as pointer, extents, strides).
pub(super) fn device_param_types<'ctx>(
    cx: &'ctx Context,
    func: &ir::Function,
    space: AddressSpace,
) -> Vec<BasicMetadataTypeEnum<'ctx>> {
    let mut params: Vec<BasicMetadataTypeEnum> = vec![pointer_type(cx, space).into()];
    for ty in func.param_types() {
        match ty {
            Type::Scalar(s) => params.push(register_type(cx, s).into()),
            Type::Array(a) => {
                params.push(pointer_type(cx, space).into());
                for _ in 0..2 * a.rank {
                    params.push(cx.i64_type().into());
                }
            }
            // Rejected by `check` before lowering; never a parameter type here.
            Type::HostArray(_) => params.push(cx.i64_type().into()),
        }
    }
    params
}

/// The zero of `ty` in its register type.
pub(super) fn zero(cx: &Context, ty: ScalarType) -> BasicValueEnum<'_> {
    constant(cx, ir::ScalarValue::zero(ty))
}

/// A kern constant in its register type.
pub(super) fn constant(cx: &Context, value: ir::ScalarValue) -> BasicValueEnum<'_> {
    let bits = value.to_bits();
    match value.ty() {
        ScalarType::F32 => cx
            .f32_type()
            .const_float(f32::from_bits(bits as u32) as f64)
            .into(),
        ScalarType::F64 => cx.f64_type().const_float(f64::from_bits(bits)).into(),
        ScalarType::Bool => cx.bool_type().const_int(bits & 1, false).into(),
        t => int_type(cx, t.bits()).const_int(bits, false).into(),
    }
}
