//! The LLVM side of a compilation: the NVPTX target machine
//! (`nvptx64-nvidia-cuda`, CPU `sm_80`, `+ptx75`: what every GPU since Ampere
//! and every driver of CUDA 11.5 or newer runs; docs/cuda.md), one
//! module per call with its device functions, kernels and the shared trap exit,
//! the verifier (its failure is an error, never an abort), the optimisation
//! pipeline and PTX emission.
//!
//! It drives `lower` and `kernels`; it does not know kern's instruction
//! semantics.

use std::collections::HashSet;

use inkwell::context::Context;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine, TargetTriple,
};
use inkwell::values::FunctionValue;
use inkwell::{AtomicOrdering, IntPredicate, OptimizationLevel};

use super::hooks::Ptx;
use super::kernels::{define_kernel, ptx_identifier};
use super::{global, PtxModule, PtxOptions};
use crate::backend::llvm::lower::{
    declare_kern_function, kern_function_frame, lower_function, Unit,
};
use crate::backend::llvm::trap_record::{declare_trap_function, store_trap_details};
use crate::backend::llvm::LlvmError;
use crate::backend::traps::TrapSites;
use crate::ir::{FuncId, Program};

pub(super) const TRIPLE: &str = "nvptx64-nvidia-cuda";
pub(super) const CPU: &str = "sm_80";
pub(super) const FEATURES: &str = "+ptx75";

fn target_machine() -> Result<TargetMachine, LlvmError> {
    Target::initialize_nvptx(&InitializationConfig::default());
    let triple = TargetTriple::create(TRIPLE);
    let target = Target::from_triple(&triple).map_err(|e| LlvmError::Llvm(e.to_string()))?;
    target
        .create_target_machine(
            &triple,
            CPU,
            FEATURES,
            OptimizationLevel::Aggressive,
            RelocMode::Default,
            CodeModel::Default,
        )
        .ok_or_else(|| LlvmError::Llvm(format!("no target machine for {TRIPLE} {CPU}")))
}

pub(super) fn compile(
    program: &Program,
    kernels: &[FuncId],
    device_functions: &[FuncId],
    options: &PtxOptions,
) -> Result<PtxModule, LlvmError> {
    let machine = target_machine()?;
    let cx = Context::create();
    let module = cx.create_module("kern");
    module.set_triple(&machine.get_triple());
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    let trap_function = define_trap_function(&cx, &module)?;
    let mut unit = Unit {
        cx: &cx,
        module,
        device_functions: Default::default(),
        const_tables: Default::default(),
        trap_function,
        trap_sites: TrapSites::default(),
        address_space: global(),
    };

    // Kernel names first, so they keep the plainest identifiers.
    let mut taken = HashSet::new();
    let kernel_names: Vec<String> = kernels
        .iter()
        .map(|&k| ptx_identifier(&program.function(k).name, &mut taken))
        .collect();
    for &f in device_functions {
        let name = ptx_identifier(&format!("kern_{}", program.function(f).name), &mut taken);
        let declared = declare_kern_function(&unit, program.function(f), &name);
        unit.device_functions.insert(f, declared);
    }
    for &f in device_functions {
        define_device_function(&mut unit, program, f, options)?;
    }
    let mut described = Vec::with_capacity(kernels.len());
    for (&k, name) in kernels.iter().zip(kernel_names) {
        described.push(define_kernel(&mut unit, program, k, name, options)?);
    }

    unit.module
        .verify()
        .map_err(|e| LlvmError::Llvm(format!("the generated LLVM IR is invalid: {e}")))?;
    unit.module
        .run_passes("default<O2>", &machine, PassBuilderOptions::create())
        .map_err(|e| LlvmError::Llvm(e.to_string()))?;
    let llvm_ir = unit.module.print_to_string().to_string();
    let ptx = machine
        .write_to_memory_buffer(&unit.module, FileType::Assembly)
        .map_err(|e| LlvmError::Llvm(e.to_string()))?;
    let ptx = String::from_utf8_lossy(ptx.as_slice())
        .trim_end_matches('\0')
        .to_string();
    Ok(PtxModule {
        ptx,
        llvm_ir,
        kernels: described,
        trap_sites: unit.trap_sites,
    })
}

fn define_device_function(
    unit: &mut Unit<'_>,
    program: &Program,
    id: FuncId,
    options: &PtxOptions,
) -> Result<(), LlvmError> {
    let func = program.function(id);
    let function = unit.device_functions[&id];
    let cx = unit.cx;
    let b = cx.create_builder();
    b.position_at_end(cx.append_basic_block(function, "entry"));
    let frame = kern_function_frame(function, func);
    let hooks = Ptx {
        fastmath: options.fastmath,
        shared_arrays: Vec::new(),
        widened: Default::default(),
    };
    lower_function(unit, &hooks, b, program, func, function, frame)
}

/// `kern$trap(record, code, site, index, len)`: the first caller of a launch
/// (atomic CAS of `record.code` from 0) fills in the record; every caller then
/// stops its thread with PTX `exit`.
fn define_trap_function<'ctx>(
    cx: &'ctx Context,
    module: &inkwell::module::Module<'ctx>,
) -> Result<FunctionValue<'ctx>, LlvmError> {
    let f = declare_trap_function(cx, module, global(), &["noreturn"]);
    let i32t = cx.i32_type();
    let b = cx.create_builder();
    let (entry, fill, stop) = (
        cx.append_basic_block(f, "entry"),
        cx.append_basic_block(f, "first"),
        cx.append_basic_block(f, "stop"),
    );
    let param = |i: u32| f.get_nth_param(i).expect("declared above");
    let record = param(0).into_pointer_value();
    b.position_at_end(entry);
    let swapped = b.build_cmpxchg(
        record,
        i32t.const_zero(),
        param(1).into_int_value(),
        AtomicOrdering::Monotonic,
        AtomicOrdering::Monotonic,
    )?;
    let previous = b
        .build_extract_value(swapped, 0, "previous")?
        .into_int_value();
    let first = b.build_int_compare(IntPredicate::EQ, previous, i32t.const_zero(), "")?;
    b.build_conditional_branch(first, fill, stop)?;

    b.position_at_end(fill);
    store_trap_details(cx, &b, f)?;
    b.build_unconditional_branch(stop)?;

    b.position_at_end(stop);
    let asm_type = cx.void_type().fn_type(&[], false);
    let exit = cx.create_inline_asm(
        asm_type,
        "exit;".to_string(),
        String::new(),
        true,
        false,
        None,
        false,
    );
    b.build_indirect_call(asm_type, exit, &[], "")?;
    b.build_unreachable()?;
    Ok(f)
}
