//! The LLVM side of a host compilation: the target machine for the CPU this
//! process runs on (its name and features, so the vectorisers use AVX2/AVX-512/
//! NEON where present), one module per unit with every function marked for that
//! CPU, the verifier (a failure is an error, never an abort), `default<O3>`, and
//! MCJIT, which turns the module into machine code owned by a [`HostCode`].
//!
//! It drives `lower` and `entry`; it does not know kern's instruction semantics.

use inkwell::attributes::{Attribute, AttributeLoc};
use inkwell::context::Context;
use inkwell::execution_engine::ExecutionEngine;
use inkwell::module::Module;
use inkwell::passes::PassBuilderOptions;
use inkwell::targets::{
    CodeModel, FileType, InitializationConfig, RelocMode, Target, TargetMachine,
};
use inkwell::values::FunctionValue;
use inkwell::{AddressSpace, OptimizationLevel};
use std::time::{Duration, Instant};

use super::contiguous::{define_dispatch, Dispatch};
use super::entry::{define_trampoline, define_trap_function, TRAMPOLINE};
use super::hooks::Host;
use super::LlvmError;
use crate::backend::cranelift::abi::{print_hook, UnitTables};
use crate::backend::cranelift::{CompiledFunction, JitEngine};
use crate::backend::llvm::lower::{
    declare_kern_function, kern_function_frame, lower_function, Unit,
};
use crate::ir::{self, FuncId, Program};

/// The host CPU as LLVM names it, and its features (`+avx2,+fma,…`).
pub fn host_cpu() -> (String, String) {
    (
        TargetMachine::get_host_cpu_name().to_string(),
        TargetMachine::get_host_cpu_features().to_string(),
    )
}

/// Bytes an optimised native frame of `func` may take, for the stack checks
/// (`ir::call_graph::CallFacts`): twice the Cranelift tier's estimate, since
/// `-O3` inlines callees into their callers' frames and vectorised loops spill
/// whole vectors. It need not be exact: each check compares the real stack
/// pointer, so an underestimate only eats into the reserve by one frame.
pub fn frame_estimate(func: &ir::Function) -> u64 {
    let slots = func.value_types.len() + func.locals.len();
    512 + 16 * slots as u64
}

fn llvm_error(e: impl std::fmt::Display) -> LlvmError {
    LlvmError::Llvm(e.to_string())
}

fn target_machine() -> Result<TargetMachine, LlvmError> {
    Target::initialize_native(&InitializationConfig::default()).map_err(llvm_error)?;
    let triple = TargetMachine::get_default_triple();
    let target = Target::from_triple(&triple).map_err(llvm_error)?;
    let (cpu, features) = host_cpu();
    target
        .create_target_machine(
            &triple,
            &cpu,
            &features,
            OptimizationLevel::Aggressive,
            // MCJIT links the code where it lands: no PIC needed.
            RelocMode::Static,
            CodeModel::JITDefault,
        )
        .ok_or_else(|| LlvmError::Llvm(format!("no target machine for this CPU ({cpu})")))
}

/// The options of the `default<O3>` pipeline: LLVM's loop unroller off. kern
/// fully unrolls the loops that pay for it before LLVM sees them (`passes::unroll`,
/// `passes::jam`), and the loop vectoriser still interleaves; what LLVM's
/// unroller added was runtime-unrolled copies of the vector loop and its
/// remainder, which cost about a third of an elementwise loop's compile and no
/// measurable speed (docs/tiers.md).
fn pipeline_options() -> PassBuilderOptions {
    let options = PassBuilderOptions::create();
    options.set_loop_unrolling(false);
    options
}

/// An optimised module and what the host needs to call it.
struct Built<'ctx> {
    module: Module<'ctx>,
    machine: TargetMachine,
    tables: UnitTables,
    /// `kern_print_hook`, if the unit prints.
    print_hook: Option<FunctionValue<'ctx>>,
    /// How long lowering and the pass pipeline took.
    times: CompileTimes,
    /// Whether the code leaves elements to the baseline's code of the loop
    /// (`contiguous::Dispatch::falls_back`).
    falls_back: bool,
}

/// Where the time of one unit's compile went (`KERN_LLVM_TIMES`, docs/tiers.md).
#[derive(Clone, Copy, Debug, Default)]
pub struct CompileTimes {
    /// kern IR to LLVM IR: the target machine, the module and the verifier.
    pub lower: Duration,
    /// LLVM's pass pipeline.
    pub optimise: Duration,
    /// MCJIT: LLVM IR to machine code in memory.
    pub machine_code: Duration,
}

impl CompileTimes {
    /// The whole compile.
    pub fn total(&self) -> Duration {
        self.lower + self.optimise + self.machine_code
    }
}

/// The functions of the unit rooted at `root` (`ir::call_graph::unit_of`).
fn unit_functions(program: &Program, root: FuncId) -> Result<Vec<FuncId>, LlvmError> {
    if program.functions.get(root.0 as usize).is_none() {
        return Err(LlvmError::NoSuchFunction(root.0));
    }
    ir::call_graph::unit_of(program, root)
        .map_err(|(_, callee)| LlvmError::NoSuchFunction(callee.0))
}

fn symbol(id: FuncId, name: &str) -> String {
    let safe: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    format!("kern{}_{safe}", id.0)
}

fn build<'ctx>(
    cx: &'ctx Context,
    program: &Program,
    root: FuncId,
) -> Result<Built<'ctx>, LlvmError> {
    let started = Instant::now();
    let machine = target_machine()?;
    let mut order = unit_functions(program, root)?;
    // The dispatcher decided once; what it calls joins the unit.
    let plan = Dispatch::of(program, program.function(root));
    if let Some(callee) = plan.calls() {
        for f in unit_functions(program, callee)? {
            if !order.contains(&f) {
                order.push(f);
            }
        }
    }
    let module = cx.create_module("kern");
    module.set_triple(&machine.get_triple());
    module.set_data_layout(&machine.get_target_data().get_data_layout());
    let space = AddressSpace::default();
    let trap_function = define_trap_function(cx, &module)?;
    let mut unit = Unit {
        cx,
        module,
        device_functions: Default::default(),
        const_tables: Default::default(),
        trap_function,
        trap_sites: Default::default(),
        address_space: space,
    };
    for &f in &order {
        let declared = declare_kern_function(
            &unit,
            program.function(f),
            &symbol(f, &program.function(f).name),
        );
        unit.device_functions.insert(f, declared);
    }
    let hooks = Host::new(ir::call_graph::CallFacts::of_unit(
        program,
        &order,
        frame_estimate,
        crate::stack_limit::UNCHECKED_CALL_BYTES,
    ));
    // A loop whose scalar elements go to the baseline's code has no scalar loop
    // function here: its root stays a declaration until it is removed below.
    let falls_back = plan.falls_back();
    for &f in &order {
        if !(falls_back && f == root) {
            define_kern_function(&mut unit, &hooks, program, f)?;
        }
    }
    let root_function = unit.device_functions[&root];
    let root_symbol = symbol(root, &program.function(root).name);
    let entry = define_dispatch(
        &mut unit,
        &hooks,
        program,
        program.function(root),
        root_function,
        &root_symbol,
        plan,
    )?
    .unwrap_or(root_function);
    if falls_back {
        // SAFETY: nothing refers to it: the dispatcher falls back instead.
        unsafe { root_function.delete() };
    }
    define_trampoline(&unit, program.function(root), entry)?;

    // Every function is compiled for this CPU, also by MCJIT's own code generator.
    let (cpu, features) = host_cpu();
    let mut attributes = vec![
        cx.create_string_attribute("target-cpu", &cpu),
        cx.create_string_attribute("target-features", &features),
        cx.create_enum_attribute(Attribute::get_named_enum_kind_id("nounwind"), 0),
    ];
    // LLVM's x86 cost model stops at 256-bit vectors on AVX-512 CPUs unless
    // told otherwise; the full width halves the instructions of a compute-bound
    // loop (a jammed matmul's eight columns are one `<8 x double>`).
    if features.split(',').any(|f| f == "+avx512f") {
        attributes.push(cx.create_string_attribute("prefer-vector-width", "512"));
    }
    for function in unit.module.get_functions() {
        if function.count_basic_blocks() > 0 {
            for &attribute in &attributes {
                function.add_attribute(AttributeLoc::Function, attribute);
            }
        }
    }

    unit.module
        .verify()
        .map_err(|e| LlvmError::Llvm(format!("the generated LLVM IR is invalid: {e}")))?;
    let lowered = Instant::now();
    unit.module
        .run_passes("default<O3>", &machine, pipeline_options())
        .map_err(llvm_error)?;
    let times = CompileTimes {
        lower: lowered - started,
        optimise: lowered.elapsed(),
        machine_code: Duration::ZERO,
    };
    let print_hook = hooks.print_hook();
    let tables = UnitTables {
        traps: unit.trap_sites,
        prints: hooks.into_prints(),
    };
    Ok(Built {
        module: unit.module,
        machine,
        tables,
        print_hook,
        times,
        falls_back,
    })
}

fn define_kern_function<'ctx>(
    unit: &mut Unit<'ctx>,
    hooks: &Host<'ctx>,
    program: &Program,
    id: FuncId,
) -> Result<(), LlvmError> {
    let func = program.function(id);
    let function = unit.device_functions[&id];
    let b = unit.cx.create_builder();
    b.position_at_end(unit.cx.append_basic_block(function, "entry"));
    let frame = kern_function_frame(function, func);
    lower_function(unit, hooks, b, program, func, function, frame)
}

/// What [`emit`] prints.
pub(super) enum Emit {
    LlvmIr,
    Asm,
}

pub(super) fn emit(program: &Program, root: FuncId, what: Emit) -> Result<String, LlvmError> {
    let cx = Context::create();
    let built = build(&cx, program, root)?;
    Ok(match what {
        Emit::LlvmIr => built.module.print_to_string().to_string(),
        Emit::Asm => {
            let asm = built
                .machine
                .write_to_memory_buffer(&built.module, FileType::Assembly)
                .map_err(llvm_error)?;
            String::from_utf8_lossy(asm.as_slice())
                .trim_end_matches('\0')
                .to_string()
        }
    })
}

/// The machine code of one unit: MCJIT's engine (which owns the module and the
/// code memory) and the LLVM context everything lives in. Dropping it frees
/// both, the engine first.
struct HostCode {
    engine: Option<ExecutionEngine<'static>>,
    context: *mut Context,
}

impl Drop for HostCode {
    fn drop(&mut self) {
        drop(self.engine.take());
        // SAFETY: `context` came from `Box::into_raw` in `compile`, and the
        // engine, the only thing that borrowed it, is gone.
        unsafe { drop(Box::from_raw(self.context)) };
    }
}

// SAFETY: after `compile` returns, nothing calls into the engine or the context
// again until `Drop`: the code memory is immutable and every call of the code
// gets its own `CallContext`, so the owner may be shared and sent between threads.
unsafe impl Send for HostCode {}
unsafe impl Sync for HostCode {}

/// Compiles the unit rooted at `root`. A unit that falls back to the baseline's
/// code of its loop gets `baseline` (the same request's Cranelift code), or, if
/// there is none, compiles it with Cranelift here (its time counts as machine
/// code).
pub(super) fn compile(
    program: &Program,
    root: FuncId,
    baseline: Option<&CompiledFunction>,
) -> Result<(CompiledFunction, CompileTimes), LlvmError> {
    let context: *mut Context = Box::into_raw(Box::new(Context::create()));
    // From here on `owner` frees the context on every path.
    let mut owner = HostCode {
        engine: None,
        context,
    };
    // SAFETY: the context lives until `owner` drops, after everything borrowing
    // it: the module below (a local dropped before `owner`) and the engine.
    let cx: &'static Context = unsafe { &*context };
    let built = build(cx, program, root)?;
    let generating = Instant::now();
    let fallback = match (built.falls_back, baseline) {
        (false, _) => None,
        (true, Some(code)) => Some(code.clone()),
        (true, None) => Some(
            JitEngine::new()
                .and_then(|mut engine| engine.compile(program, root))
                .map_err(|e| LlvmError::Llvm(format!("the baseline's fallback: {e}")))?,
        ),
    };
    let engine = built
        .module
        .create_jit_execution_engine(OptimizationLevel::Aggressive)
        .map_err(llvm_error)?;
    if let Some(hook) = built.print_hook {
        engine.add_global_mapping(&hook, print_hook as *const () as usize);
    }
    let trampoline = engine
        .get_function_address(TRAMPOLINE)
        .map_err(llvm_error)?;
    let times = CompileTimes {
        machine_code: generating.elapsed(),
        ..built.times
    };
    owner.engine = Some(engine);
    drop(built.module);
    // SAFETY: the trampoline is a function of the finalized module with the
    // trampoline signature (`entry`); `owner` keeps it. The kern functions are
    // internal (and mostly inlined into it): there is no native entry to offer.
    // The fallback is the same loop's code.
    let code = unsafe {
        CompiledFunction::from_foreign(
            Box::new(owner),
            "llvm",
            built.tables,
            std::ptr::null(),
            trampoline as *const u8,
            program.function(root),
            fallback,
        )
    };
    Ok((code, times))
}
