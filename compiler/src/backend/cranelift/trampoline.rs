//! The host entry of a compiled function: one signature for every kern signature,
//! `extern "C" fn(ctx: *mut CallContext, args: *const u64, ret: *mut u64)`.
//!
//! Argument `i` is read from slot `args[i]` (the scalar's `ScalarValue::to_bits`, or
//! the address of an `ArrayDesc`); the result is written to the low bytes of `*ret`,
//! which the host zeroes first. This lets the host call any kern signature without
//! generating Rust function-pointer types. It knows nothing of the body it calls.

use cranelift_codegen::ir::{self as clif, AbiParam, InstBuilder, MemFlagsData, Signature};
use cranelift_frontend::{FunctionBuilder, FunctionBuilderContext};
use cranelift_module::Module;

use super::lower::{clif_type, POINTER};
use crate::ir::{self, Type};

/// The trampoline's own signature (the host's `extern "C"`).
pub(super) fn trampoline_signature<M: Module>(module: &M) -> Signature {
    let mut sig = module.make_signature();
    sig.params.extend([AbiParam::new(POINTER); 3]);
    sig
}

/// Builds the body of the trampoline for `func` (declared in `module` as `target`)
/// into `out`, whose signature must be [`trampoline_signature`].
pub(super) fn build_trampoline<M: Module>(
    module: &mut M,
    func: &ir::Function,
    target: cranelift_module::FuncId,
    out: &mut clif::Function,
    builder_ctx: &mut FunctionBuilderContext,
) {
    let callee = module.declare_func_in_func(target, out);
    let mut b = FunctionBuilder::new(out, builder_ctx);
    let entry = b.create_block();
    b.append_block_params_for_function_params(entry);
    b.switch_to_block(entry);
    let params = b.block_params(entry).to_vec();
    let (ctx, args, ret) = (params[0], params[1], params[2]);
    // The host owns these buffers for the whole call: always valid and aligned.
    let flags = MemFlagsData::trusted();

    let mut call_args = vec![ctx];
    for (i, ty) in func.param_types().into_iter().enumerate() {
        let slot_ty = match ty {
            // Little-endian: the low bytes of the slot are the narrow value.
            Type::Scalar(s) => clif_type(s),
            Type::Array(_) | Type::HostArray(_) => POINTER,
        };
        call_args.push(b.ins().load(slot_ty, flags, args, 8 * i as i32));
    }
    let call = b.ins().call(callee, &call_args);
    if let Some(result) = b.inst_results(call).first().copied() {
        b.ins().store(flags, result, ret, 0);
    }
    b.ins().return_(&[]);
    b.seal_all_blocks();
    b.finalize(module.target_config());
}
