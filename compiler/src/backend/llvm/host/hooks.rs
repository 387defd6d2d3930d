//! The host's [`TargetHooks`]: the Cranelift tier's rules in LLVM IR. A trap
//! block returns a dummy value after `kern$trap` filled the record; a call counts
//! the recursion depth and checks the stack where `CallFacts` says so (the trap
//! at the call's span), and afterwards returns at once if the callee trapped;
//! `print!` calls the host's print hook with the arguments' bits. The GPU-only
//! SPMD instructions never reach the host: a launch loop passes the thread
//! indices as parameters and refuses barriers and shared arrays.

use std::cell::{Cell, RefCell};

use inkwell::intrinsics::Intrinsic;
use inkwell::module::Linkage;
use inkwell::values::{BasicMetadataValueEnum, BasicValueEnum, FunctionValue};
use inkwell::{AddressSpace, IntPredicate};

use crate::backend::cranelift::abi::{PrintSite, PRINT_HOOK_SYMBOL, RECURSION_LIMIT};
use crate::backend::cranelift::CallContext;
use crate::backend::llvm::hooks::TargetHooks;
use crate::backend::llvm::lower::Lowerer;
use crate::backend::llvm::types::pointer_type;
use crate::backend::llvm::LlvmError;
use crate::backend::traps::trap_code;
use crate::diagnostics::Span;
use crate::ir::call_graph::CallFacts;
use crate::ir::spmd::SpmdInst;
use crate::ir::{self, FuncId, InstKind, ScalarType};

/// The hooks of one host unit (shared by its functions).
pub(super) struct Host<'ctx> {
    calls: CallFacts,
    prints: RefCell<Vec<PrintSite>>,
    print_hook: Cell<Option<FunctionValue<'ctx>>>,
}

impl<'ctx> Host<'ctx> {
    pub fn new(calls: CallFacts) -> Host<'ctx> {
        Host {
            calls,
            prints: RefCell::new(Vec::new()),
            print_hook: Cell::new(None),
        }
    }

    /// The declaration of the print hook, if a function of the unit prints.
    pub fn print_hook(&self) -> Option<FunctionValue<'ctx>> {
        self.print_hook.get()
    }

    pub fn into_prints(self) -> Vec<PrintSite> {
        self.prints.into_inner()
    }

    fn declare_print_hook(&self, l: &Lowerer<'ctx, '_>) -> FunctionValue<'ctx> {
        if let Some(f) = self.print_hook.get() {
            return f;
        }
        let cx = l.cx;
        let fn_type = cx.void_type().fn_type(
            &[
                l.trap.get_type().into(),
                cx.i32_type().into(),
                pointer_type(cx, AddressSpace::default()).into(),
            ],
            false,
        );
        let f = l
            .unit
            .module
            .add_function(PRINT_HOOK_SYMBOL, fn_type, Some(Linkage::External));
        self.print_hook.set(Some(f));
        f
    }
}

/// The `i64` word of the context at byte `offset`.
fn context_word<'ctx>(
    l: &Lowerer<'ctx, '_>,
    offset: i32,
) -> Result<inkwell::values::PointerValue<'ctx>, LlvmError> {
    let i64t = l.cx.i64_type();
    // SAFETY (LLVM): a field of the `CallContext` the host passed in.
    Ok(unsafe {
        l.b.build_in_bounds_gep(
            i64t,
            l.trap,
            &[i64t.const_int(offset as u64 / 8, false)],
            "",
        )?
    })
}

impl<'ctx> TargetHooks<'ctx> for Host<'ctx> {
    fn end_trap_block(&self, l: &mut Lowerer<'ctx, '_>) -> Result<(), LlvmError> {
        l.return_dummy()
    }

    fn call(
        &self,
        l: &mut Lowerer<'ctx, '_>,
        callee: FuncId,
        function: FunctionValue<'ctx>,
        args: &[BasicMetadataValueEnum<'ctx>],
        span: Span,
    ) -> Result<Option<BasicValueEnum<'ctx>>, LlvmError> {
        let calls = &self.calls;
        let (counts_depth, checks_stack) = (calls.is_recursive(callee), calls.checks_stack(callee));
        let (can_trap, stack_need) = (calls.can_trap(callee), calls.stack_need(callee));
        let site = (counts_depth || checks_stack).then(|| l.unit.trap_sites.add(span, None));
        let i64t = l.cx.i64_type();
        let depth = match site.filter(|_| counts_depth) {
            Some(site) => {
                let slot = context_word(l, CallContext::DEPTH_OFFSET)?;
                let depth = l.b.build_load(i64t, slot, "depth")?.into_int_value();
                let limit = i64t.const_int(RECURSION_LIMIT as u64, true);
                let ok = l.b.build_int_compare(IntPredicate::SLT, depth, limit, "")?;
                l.trap_unless(ok, trap_code::RECURSION_LIMIT, site, None)?;
                Some((slot, depth))
            }
            None => None,
        };
        if let Some(site) = site.filter(|_| checks_stack) {
            // The callee's frame and everything it calls unchecked must fit above
            // the thread's limit.
            let stacksave = Intrinsic::find("llvm.stacksave")
                // Overloaded on its result's address space.
                .and_then(|i| {
                    let ptr = pointer_type(l.cx, AddressSpace::default());
                    i.get_declaration(&l.unit.module, &[ptr.into()])
                })
                .ok_or_else(|| LlvmError::Llvm("LLVM has no `llvm.stacksave`".into()))?;
            let sp =
                l.b.build_call(stacksave, &[], "sp")?
                    .try_as_basic_value()
                    .basic()
                    .ok_or_else(|| LlvmError::Llvm("`llvm.stacksave` returned nothing".into()))?;
            let sp = l.b.build_ptr_to_int(sp.into_pointer_value(), i64t, "")?;
            let limit_slot = context_word(l, CallContext::STACK_LIMIT_OFFSET)?;
            let limit = l.b.build_load(i64t, limit_slot, "limit")?.into_int_value();
            let bottom =
                l.b.build_int_sub(sp, i64t.const_int(stack_need, false), "")?;
            let fits =
                l.b.build_int_compare(IntPredicate::UGE, bottom, limit, "")?;
            l.trap_unless(fits, trap_code::STACK_OVERFLOW, site, None)?;
        }
        if let Some((slot, depth)) = depth {
            let deeper = l.b.build_int_add(depth, i64t.const_int(1, false), "")?;
            l.b.build_store(slot, deeper)?;
        }
        let result =
            l.b.build_call(function, args, "")?
                .try_as_basic_value()
                .basic();
        if let Some((slot, depth)) = depth {
            l.b.build_store(slot, depth)?;
        }
        // A trap inside the callee: return at once, leaving the record as the
        // callee wrote it.
        if can_trap {
            let code =
                l.b.build_load(l.cx.i32_type(), l.trap, "trap")?
                    .into_int_value();
            let clear =
                l.b.build_int_compare(IntPredicate::EQ, code, code.get_type().const_zero(), "")?;
            let (cont, propagate) = (l.basic_block("ok"), l.basic_block("propagate"));
            l.b.build_conditional_branch(clear, cont, propagate)?;
            l.b.position_at_end(propagate);
            l.return_dummy()?;
            l.b.position_at_end(cont);
        }
        Ok(result)
    }

    fn spmd(
        &self,
        l: &mut Lowerer<'ctx, '_>,
        inst: &SpmdInst,
        _span: Span,
    ) -> Result<Option<BasicValueEnum<'ctx>>, LlvmError> {
        Err(l.invalid(format!(
            "`{}` only runs on the GPU (a CPU launch loop passes the thread indices)",
            inst.name()
        )))
    }

    fn print(&self, l: &mut Lowerer<'ctx, '_>, inst: &ir::Inst) -> Result<(), LlvmError> {
        let InstKind::Print {
            pieces,
            args,
            newline,
        } = &inst.kind
        else {
            return Err(l.invalid("a print hook for another instruction"));
        };
        let cx = l.cx;
        let i64t = cx.i64_type();
        let arg_types = args
            .iter()
            .map(|a| l.value_type(*a))
            .collect::<Result<Vec<_>, _>>()?;
        let site = {
            let mut prints = self.prints.borrow_mut();
            prints.push(PrintSite {
                pieces: pieces.clone(),
                arg_types: arg_types.clone(),
                newline: *newline,
            });
            prints.len() as u64 - 1
        };
        let buffer = if args.is_empty() {
            pointer_type(cx, AddressSpace::default()).const_null()
        } else {
            // In the entry block, so a print in a loop reuses one buffer.
            let entry = l
                .llvm_function
                .get_first_basic_block()
                .ok_or_else(|| l.invalid("a function without an entry block"))?;
            let at = cx.create_builder();
            match entry.get_first_instruction() {
                Some(first) => at.position_before(&first),
                None => at.position_at_end(entry),
            }
            at.build_alloca(i64t.array_type(args.len() as u32), "print_args")?
        };
        for (i, (arg, ty)) in args.iter().zip(&arg_types).enumerate() {
            let v = l.value(*arg)?;
            let bits = match ty {
                ScalarType::F64 => l.b.build_bit_cast(v, i64t, "")?.into_int_value(),
                ScalarType::F32 => {
                    let b32 = l.b.build_bit_cast(v, cx.i32_type(), "")?.into_int_value();
                    l.b.build_int_z_extend(b32, i64t, "")?
                }
                ScalarType::Bool => l.b.build_int_z_extend(v.into_int_value(), i64t, "")?,
                t if t.bits() == 64 => v.into_int_value(),
                // `ScalarValue::from_bits` reads the low bits.
                _ => l.b.build_int_z_extend(v.into_int_value(), i64t, "")?,
            };
            // SAFETY (LLVM): slot `i` of the `args.len()` slots allocated above.
            let slot = unsafe {
                l.b.build_in_bounds_gep(i64t, buffer, &[i64t.const_int(i as u64, false)], "")?
            };
            l.b.build_store(slot, bits)?;
        }
        let hook = self.declare_print_hook(l);
        let site = cx.i32_type().const_int(site, false);
        l.b.build_call(hook, &[l.trap.into(), site.into(), buffer.into()], "")?;
        Ok(())
    }
}
