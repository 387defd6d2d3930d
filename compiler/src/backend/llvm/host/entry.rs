//! The host-only functions of a unit: `kern$trap`, which fills the trap record at
//! the start of the [`CallContext`](crate::backend::cranelift::CallContext), and
//! the trampoline, the host entry with the Cranelift tier's signature
//! `extern "C" fn(ctx, args: *const u64, ret: *mut u64)`: it reads each argument
//! from its slot (scalar bits; an array's [`ArrayDesc`] through its address),
//! calls the root with its arrays flattened and stores the result's memory form
//! into `*ret`.
//!
//! It knows the slot and descriptor layouts and the trap record's; instruction
//! lowering is the shared `lower`'s.

use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::values::{BasicMetadataValueEnum, FunctionValue, IntValue, PointerValue};
use inkwell::AddressSpace;

use super::LlvmError;
use crate::backend::llvm::lower::Unit;
use crate::backend::llvm::trap_record::{declare_trap_function, store_trap_details};
use crate::backend::llvm::types::{pointer_type, register_type};
use crate::ir::{self, ArrayDesc, ScalarType, Type};

/// The trampoline's symbol (`$` keeps it apart from every kern function's).
pub(super) const TRAMPOLINE: &str = "kern$entry";

/// `kern$trap(record, code, site, index, len)`: writes the trap record. The
/// caller then returns (the hooks' `end_trap_block`); on the CPU one call has
/// one context and its first trap ends it, so no atomics are needed.
pub(super) fn define_trap_function<'ctx>(
    cx: &'ctx Context,
    module: &Module<'ctx>,
) -> Result<FunctionValue<'ctx>, LlvmError> {
    let f = declare_trap_function(cx, module, AddressSpace::default(), &[]);
    let b = cx.create_builder();
    b.position_at_end(cx.append_basic_block(f, "entry"));
    let param = |i: u32| f.get_nth_param(i).expect("declared above");
    b.build_store(param(0).into_pointer_value(), param(1).into_int_value())?;
    store_trap_details(cx, &b, f)?;
    b.build_return(None)?;
    Ok(f)
}

/// Defines [`TRAMPOLINE`] for `func`, whose LLVM function is `target`.
pub(super) fn define_trampoline<'ctx>(
    unit: &Unit<'ctx>,
    func: &ir::Function,
    target: FunctionValue<'ctx>,
) -> Result<(), LlvmError> {
    let cx = unit.cx;
    let space = AddressSpace::default();
    let i64t = cx.i64_type();
    let ptr = pointer_type(cx, space);
    let fn_type = cx
        .void_type()
        .fn_type(&[ptr.into(), ptr.into(), ptr.into()], false);
    let f = unit
        .module
        .add_function(TRAMPOLINE, fn_type, Some(Linkage::External));
    let b = cx.create_builder();
    b.position_at_end(cx.append_basic_block(f, "entry"));
    let param = |i: u32| f.get_nth_param(i).expect("declared above");
    let (ctx, args, ret) = (
        param(0).into_pointer_value(),
        param(1).into_pointer_value(),
        param(2).into_pointer_value(),
    );
    // Word `i` of the `i64` array at `base`.
    let word =
        |base: PointerValue<'ctx>, i: u64, name: &str| -> Result<IntValue<'ctx>, LlvmError> {
            // SAFETY (LLVM): the host passes one slot per parameter and descriptors
            // of `ArrayDesc`'s layout.
            let at =
                unsafe { b.build_in_bounds_gep(i64t, base, &[i64t.const_int(i, false)], name)? };
            Ok(b.build_load(i64t, at, name)?.into_int_value())
        };
    let mut call_args: Vec<BasicMetadataValueEnum> = vec![ctx.into()];
    for (i, ty) in func.param_types().into_iter().enumerate() {
        let bits = word(args, i as u64, "slot")?;
        match ty {
            Type::Scalar(s) => call_args.push(scalar_from_bits(unit, &b, bits, s)?.into()),
            Type::Array(a) => {
                let desc = b.build_int_to_ptr(bits, ptr, "desc")?;
                let data = word(desc, 0, "data")?;
                let data = b.build_int_to_ptr(data, ptr, "data")?;
                call_args.push(data.into());
                let (shape, strides) = (
                    ArrayDesc::SHAPE_OFFSET as u64 / 8,
                    ArrayDesc::STRIDES_OFFSET as u64 / 8,
                );
                for k in 0..a.rank as u64 {
                    call_args.push(word(desc, shape + k, "extent")?.into());
                }
                for k in 0..a.rank as u64 {
                    call_args.push(word(desc, strides + k, "stride")?.into());
                }
            }
            Type::HostArray(_) => {
                return Err(LlvmError::Invalid {
                    function: func.name.clone(),
                    message: "a host-array parameter in compiled code".into(),
                })
            }
        }
    }
    let call = b.build_call(target, &call_args, "")?;
    if let (Some(value), Some(ty)) = (call.try_as_basic_value().basic(), func.ret) {
        let value = if ty == ScalarType::Bool {
            b.build_int_z_extend(value.into_int_value(), cx.i8_type(), "")?
                .into()
        } else {
            value
        };
        b.build_store(ret, value)?;
    }
    b.build_return(None)?;
    Ok(())
}

/// The register value of kern type `ty` whose bits (`ScalarValue::to_bits`) are
/// the low bits of `bits`.
fn scalar_from_bits<'ctx>(
    unit: &Unit<'ctx>,
    b: &inkwell::builder::Builder<'ctx>,
    bits: IntValue<'ctx>,
    ty: ScalarType,
) -> Result<inkwell::values::BasicValueEnum<'ctx>, LlvmError> {
    let cx = unit.cx;
    Ok(match ty {
        ScalarType::F64 => b.build_bit_cast(bits, cx.f64_type(), "")?,
        ScalarType::F32 => {
            let low = b.build_int_truncate(bits, cx.i32_type(), "")?;
            b.build_bit_cast(low, cx.f32_type(), "")?
        }
        ScalarType::Bool => {
            let zero = bits.get_type().const_zero();
            b.build_int_compare(inkwell::IntPredicate::NE, bits, zero, "")?
                .into()
        }
        t if t.bits() == 64 => bits.into(),
        t => b
            .build_int_truncate(bits, register_type(cx, t).into_int_type(), "")?
            .into(),
    })
}
