//! The GPU's optional fast math ([`super::PtxOptions::fastmath`]): calls of the
//! stdlib's `exp2`, `log2`, `sin` and `cos` on `f32` values become PTX's
//! approximate instructions. It knows the stdlib's function names and the shape
//! of its `f32` versions; everything else is the shared lowering's.

use std::collections::HashMap;

use inkwell::values::BasicValueEnum;

use super::hooks::Ptx;
use crate::backend::llvm::lower::Lowerer;
use crate::backend::llvm::LlvmError;
use crate::ir::{self, Arg, InstKind, ScalarType, ValueId};

impl<'ctx> Ptx<'ctx> {
    /// With [`super::PtxOptions::fastmath`], a call of the stdlib's `exp2`,
    /// `log2`, `sin` or `cos` on an `f32` becomes the GPU's approximate
    /// instruction. The stdlib's `f32` versions are `NAME_f64(x as f64) as f32`
    /// and are inlined, so the call seen here is `NAME_f64` on a widened `f32`:
    /// it becomes `approx(x) as f64`, which the following cast narrows exactly.
    pub(super) fn fast_math_call(
        &self,
        l: &mut Lowerer<'ctx, '_>,
        callee: &ir::Function,
        args: &[Arg],
    ) -> Result<Option<BasicValueEnum<'ctx>>, LlvmError> {
        let intrinsic = match callee.name.as_str() {
            "exp2_f32" | "exp2_f64" => "llvm.nvvm.ex2.approx.f",
            "log2_f32" | "log2_f64" => "llvm.nvvm.lg2.approx.f",
            "sin_f32" | "sin_f64" => "llvm.nvvm.sin.approx.f",
            "cos_f32" | "cos_f64" => "llvm.nvvm.cos.approx.f",
            _ => return Ok(None),
        };
        let [Arg::Value(arg)] = args else {
            return Ok(None);
        };
        let (x, widen) = match l.value_type(*arg)? {
            ScalarType::F32 => (*arg, false),
            ScalarType::F64 => match self.widened.borrow().get(arg).copied() {
                Some(x) => (x, true),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        let x = l.float(x)?;
        let f32t = l.cx.f32_type();
        let declaration = match l.unit.module.get_function(intrinsic) {
            Some(f) => f,
            None => {
                l.unit
                    .module
                    .add_function(intrinsic, f32t.fn_type(&[f32t.into()], false), None)
            }
        };
        let call = l.b.build_call(declaration, &[x.into()], "")?;
        let Some(r) = call.try_as_basic_value().basic() else {
            return Ok(None);
        };
        Ok(Some(if widen {
            l.b.build_float_ext(r.into_float_value(), l.cx.f64_type(), "")?
                .into()
        } else {
            r
        }))
    }
}

/// Every `Cast(x: f32, f64)` in `block`, result → `x` (for fast-math matching).
pub(super) fn collect_widened_f32(
    func: &ir::Function,
    block: &ir::Block,
    out: &mut HashMap<ValueId, ValueId>,
) {
    for inst in block.insts_deep() {
        if let (InstKind::Cast(x, ScalarType::F64), Some(r)) = (&inst.kind, inst.result) {
            if func.value_type(*x) == ScalarType::F32 {
                out.insert(r, *x);
            }
        }
    }
}
