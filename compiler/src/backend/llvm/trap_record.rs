//! `kern$trap(record, code, site, index, len)` for every LLVM target: its
//! declaration, and the writing of a trap's site and payload into the record
//! (the layout of [`TrapRecord`]). How a target claims the record and stops
//! afterwards (a plain store and return on the host, an atomic claim and PTX
//! `exit` on the GPU) is the target's own.

use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::builder::Builder;
use inkwell::context::Context;
use inkwell::module::{Linkage, Module};
use inkwell::values::FunctionValue;
use inkwell::AddressSpace;

use super::types::pointer_type;
use super::LlvmError;
use crate::backend::traps::TrapRecord;

/// Declares `kern$trap` (internal, never inlined, cold, and with the target's
/// extra `attributes`) with its record in address space `space`.
pub(super) fn declare_trap_function<'ctx>(
    cx: &'ctx Context,
    module: &Module<'ctx>,
    space: AddressSpace,
    attributes: &[&str],
) -> FunctionValue<'ctx> {
    let (i32t, i64t) = (cx.i32_type(), cx.i64_type());
    let params = [
        pointer_type(cx, space).into(),
        i32t.into(),
        i32t.into(),
        i64t.into(),
        i64t.into(),
    ];
    let fn_type = cx.void_type().fn_type(&params, false);
    // `$` never occurs in a kern function's symbol: no clash.
    let f = module.add_function("kern$trap", fn_type, Some(Linkage::Internal));
    for attr in attributes.iter().chain(&["noinline", "cold"]) {
        let kind = Attribute::get_named_enum_kind_id(attr);
        f.add_attribute(AttributeLoc::Function, cx.create_enum_attribute(kind, 0));
    }
    f
}

/// Emits, at `b`'s position in the body of `kern$trap` (`f`), the stores of its
/// `site`, `index` and `len` parameters into the record; the caller has
/// claimed the record and written its code.
pub(super) fn store_trap_details<'ctx>(
    cx: &'ctx Context,
    b: &Builder<'ctx>,
    f: FunctionValue<'ctx>,
) -> Result<(), LlvmError> {
    let (i32t, i64t) = (cx.i32_type(), cx.i64_type());
    let param = |i: u32| f.get_nth_param(i).expect("declared with five parameters");
    let record = param(0).into_pointer_value();
    // SAFETY (LLVM): offsets inside the 24-byte record (see `traps`).
    let site = unsafe {
        b.build_gep(
            i32t,
            record,
            &[i64t.const_int(TrapRecord::SITE_OFFSET / 4, false)],
            "site",
        )?
    };
    b.build_store(site, param(2).into_int_value())?;
    for (k, value) in [param(3), param(4)].into_iter().enumerate() {
        // SAFETY (LLVM): as above.
        let slot = unsafe {
            b.build_gep(
                i64t,
                record,
                &[i64t.const_int(TrapRecord::PAYLOAD_OFFSET / 8 + k as u64, false)],
                "payload",
            )?
        };
        b.build_store(slot, value.into_int_value())?;
    }
    Ok(())
}
