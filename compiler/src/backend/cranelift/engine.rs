//! The JIT engine: turns a kern function and everything it calls into a
//! *compilation unit* — one cranelift-jit module holding the kern functions, their
//! constant tables and a host trampoline — and calls them.
//!
//! The engine compiles what it is asked, every time: callers that ask again keep
//! the [`CompiledFunction`] (the runtime caches one per loop request and per
//! function). It once cached units by their IR formatted as text, which cost
//! more than a tenth of compiling a math-heavy loop.
//!
//! This file knows modules and linking; calling is `compiled`'s, the IR → CLIF
//! translation `lower`'s.

use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_frontend::FunctionBuilderContext;
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{DataDescription, Linkage, Module};

use super::abi::{print_hook, UnitTables, PRINT_HOOK_SYMBOL};
use super::compiled::{CompiledFunction, Unit};
use super::lower::{frame_estimate, kern_signature, lower_function, HostCaps, UnitEnv, POINTER};
use super::trampoline::{build_trampoline, trampoline_signature};
use super::BackendError;
use crate::collections::HashMap;
use crate::ir::{self, FuncId, Program};

/// Compiles kern functions for the host CPU.
pub struct JitEngine {
    isa: OwnedTargetIsa,
    caps: HostCaps,
    /// Units compiled so far.
    compiled_units: usize,
    builder_ctx: FunctionBuilderContext,
}

/// The host ISA, optimising for speed (what `new` and `emit_clif` compile for).
fn host_isa() -> Result<OwnedTargetIsa, BackendError> {
    let mut flags = settings::builder();
    let host = |e: &dyn std::fmt::Display| BackendError::Host(e.to_string());
    // Not "speed": Cranelift 0.135's egraph elaboration rematerializes constants
    // inside loops and then cannot hoist pure ops that use them, so it *sinks*
    // loop-invariant code the program placed outside a loop (midpoint integration
    // ran 2.0x slower than rustc with "speed", 1.01x with "none"; BENCHMARKS.md).
    // kern's own IR passes do the constant folding and inlining.
    flags.set("opt_level", "none").map_err(|e| host(&e))?;
    // Cranelift's own IR verifier runs in debug builds (every test, the
    // fuzzers): it catches a bad lowering there. A release build skips it, as
    // Wasmtime's does; on a math-heavy loop it was ~9 % of source -> first call.
    flags
        .set(
            "enable_verifier",
            if cfg!(debug_assertions) {
                "true"
            } else {
                "false"
            },
        )
        .map_err(|e| host(&e))?;
    flags.set("is_pic", "false").map_err(|e| host(&e))?;
    flags
        .set("use_colocated_libcalls", "false")
        .map_err(|e| host(&e))?;
    let builder = cranelift_native::builder().map_err(|e| host(&e))?;
    builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| host(&e))
}

/// Which libm-free instructions the ISA can use (see `HostCaps`).
fn host_caps(isa: &OwnedTargetIsa) -> HostCaps {
    let flags = isa.isa_flags();
    let has = |name: &str| {
        flags
            .iter()
            .any(|f| f.name == name && f.as_bool() == Some(true))
    };
    match isa.name() {
        "x64" => HostCaps {
            fma: has("has_avx") && has("has_fma"),
            round: has("has_sse41"),
            simd: has("has_sse41"),
        },
        // aarch64 and the other Cranelift targets have both in the base ISA.
        _ => HostCaps {
            fma: true,
            round: true,
            simd: false,
        },
    }
}

impl JitEngine {
    pub fn new() -> Result<JitEngine, BackendError> {
        let isa = host_isa()?;
        let caps = host_caps(&isa);
        Ok(JitEngine {
            isa,
            caps,
            compiled_units: 0,
            builder_ctx: FunctionBuilderContext::new(),
        })
    }

    /// Number of compilation units this engine has compiled.
    pub fn compiled_units(&self) -> usize {
        self.compiled_units
    }

    /// Compiles `func` and everything it calls into one unit.
    pub fn compile(
        &mut self,
        program: &Program,
        func: FuncId,
    ) -> Result<CompiledFunction, BackendError> {
        let order = reachable_functions(program, func)?;
        let compiled = self.compile_unit(program, &order)?;
        self.compiled_units += 1;
        Ok(compiled)
    }

    fn compile_unit(
        &mut self,
        program: &Program,
        order: &[FuncId],
    ) -> Result<CompiledFunction, BackendError> {
        let root = program.function(order[0]);
        let mut jit_builder =
            JITBuilder::with_isa(self.isa.clone(), cranelift_module::default_libcall_names());
        jit_builder.symbol(PRINT_HOOK_SYMBOL, print_hook as *const u8);
        // From here on the module owns code memory: keep it in a `Unit` at once so
        // every error path frees it.
        let mut unit = Unit::new(JITModule::new(jit_builder), root);
        let module = unit.module_mut();
        let mut env = declare_unit(module, program, order, self.caps)?;

        let mut ctx = module.make_context();
        for id in order {
            let f = program.function(*id);
            ctx.func.signature = kern_signature(f, module.isa().default_call_conv());
            lower_function(
                module,
                &mut env,
                program,
                *id,
                &mut ctx.func,
                &mut self.builder_ctx,
            )?;
            module
                .define_function(env.functions[id], &mut ctx)
                .map_err(|e| BackendError::from_module(&f.name, e))?;
            module.clear_context(&mut ctx);
        }

        let trampoline_sig = trampoline_signature(module);
        let trampoline_id = module
            .declare_anonymous_function(&trampoline_sig)
            .map_err(|e| BackendError::from_module(&root.name, e))?;
        ctx.func.signature = trampoline_sig;
        build_trampoline(
            module,
            root,
            env.functions[&order[0]],
            &mut ctx.func,
            &mut self.builder_ctx,
        );
        module
            .define_function(trampoline_id, &mut ctx)
            .map_err(|e| BackendError::from_module(&root.name, e))?;
        module.clear_context(&mut ctx);

        module
            .finalize_definitions()
            .map_err(|e| BackendError::from_module(&root.name, e))?;
        let entry = module.get_finalized_function(env.functions[&order[0]]);
        let trampoline = module.get_finalized_function(trampoline_id);
        unit.entry = entry;
        unit.trampoline = trampoline;
        unit.tables = std::mem::take(&mut env.tables);
        Ok(CompiledFunction::from_unit(unit))
    }

    /// CLIF text of one function (before optimisation), with each group of
    /// instructions preceded by the kern source line it came from.
    pub fn emit_clif(
        program: &Program,
        func: FuncId,
        sources: &crate::SourceMap,
    ) -> Result<String, BackendError> {
        let (clif, spans, _) = lower_alone(program, func)?;
        Ok(super::emit::annotated_clif(&clif, &spans, sources))
    }

    /// The optimised machine code of one function as Cranelift's annotated
    /// disassembly (VCode), for `kern emit --asm` and for checking instruction
    /// selection (e.g. that `fma` is one fused instruction).
    pub fn emit_asm(program: &Program, func: FuncId) -> Result<String, BackendError> {
        let (clif, _, isa) = lower_alone(program, func)?;
        let name = program.function(func).name.clone();
        let mut ctx = cranelift_codegen::Context::for_function(clif);
        ctx.set_disasm(true);
        let compiled =
            ctx.compile(&*isa, &mut Default::default())
                .map_err(|e| BackendError::Codegen {
                    function: name.clone(),
                    message: format!("{:?}", e.inner),
                })?;
        Ok(compiled.vcode.clone().unwrap_or_default())
    }
}

/// Lowers one function on its own (callees declared, not compiled), for the
/// `emit_*` views. Returns the CLIF, its source-location spans and the ISA.
fn lower_alone(
    program: &Program,
    func: FuncId,
) -> Result<
    (
        cranelift_codegen::ir::Function,
        Vec<crate::Span>,
        OwnedTargetIsa,
    ),
    BackendError,
> {
    let isa = host_isa()?;
    let caps = host_caps(&isa);
    let order = reachable_functions(program, func)?;
    let jit_builder = JITBuilder::with_isa(isa.clone(), cranelift_module::default_libcall_names());
    // Nothing is defined in this module, so it never holds code memory to free.
    let mut module = JITModule::new(jit_builder);
    let mut env = declare_unit(&mut module, program, &order, caps)?;
    let mut ctx = module.make_context();
    ctx.func.signature = kern_signature(program.function(func), module.isa().default_call_conv());
    let spans = lower_function(
        &mut module,
        &mut env,
        program,
        func,
        &mut ctx.func,
        &mut FunctionBuilderContext::new(),
    )?;
    Ok((ctx.func, spans, isa))
}

/// The functions of the unit rooted at `root` (`ir::call_graph::unit_of`).
fn reachable_functions(program: &Program, root: FuncId) -> Result<Vec<FuncId>, BackendError> {
    if program.functions.get(root.0 as usize).is_none() {
        return Err(BackendError::NoSuchFunction(root.0));
    }
    ir::call_graph::unit_of(program, root).map_err(|(caller, callee)| {
        BackendError::unsupported(
            &program.function(caller).name,
            format!(
                "call to function id {} which is not in the program",
                callee.0
            ),
        )
    })
}

/// Declares the unit's functions, constant tables and the print hook in `module`.
fn declare_unit<M: Module>(
    module: &mut M,
    program: &Program,
    order: &[FuncId],
    caps: HostCaps,
) -> Result<UnitEnv, BackendError> {
    let root_name = &program.function(order[0]).name;
    let err = |e| BackendError::from_module(root_name, e);
    let mut hook_sig = module.make_signature();
    hook_sig.params.extend([
        cranelift_codegen::ir::AbiParam::new(POINTER),
        cranelift_codegen::ir::AbiParam::new(cranelift_codegen::ir::types::I32),
        cranelift_codegen::ir::AbiParam::new(POINTER),
    ]);
    let print_hook = module
        .declare_function(PRINT_HOOK_SYMBOL, Linkage::Import, &hook_sig)
        .map_err(err)?;

    let mut functions = HashMap::default();
    for id in order {
        let func = program.function(*id);
        let sig = kern_signature(func, module.isa().default_call_conv());
        // Names are only for reading CLIF: the index keeps them unique.
        let name = format!("kern{}_{}", id.0, symbol_safe(&func.name));
        let clif_id = module
            .declare_function(&name, Linkage::Local, &sig)
            .map_err(|e| BackendError::from_module(&func.name, e))?;
        functions.insert(*id, clif_id);
    }

    let mut const_tables = HashMap::default();
    for (i, table) in program.const_tables.iter().enumerate() {
        let data_id = module.declare_anonymous_data(false, false).map_err(err)?;
        let mut bytes = Vec::with_capacity(table.values.len() * table.elem.size_bytes());
        for v in &table.values {
            if v.ty() != table.elem {
                return Err(BackendError::unsupported(
                    root_name,
                    format!("constant table `{}` holds a {} value", table.name, v.ty()),
                ));
            }
            bytes.extend_from_slice(&v.to_bits().to_le_bytes()[..table.elem.size_bytes()]);
        }
        // An empty table still needs an address: every index into it traps first.
        if bytes.is_empty() {
            bytes.push(0);
        }
        let mut desc = DataDescription::new();
        desc.define(bytes.into_boxed_slice());
        desc.set_align(8);
        module.define_data(data_id, &desc).map_err(err)?;
        const_tables.insert(ir::ConstTableId(i as u32), data_id);
    }

    Ok(UnitEnv {
        functions,
        const_tables,
        print_hook,
        tables: UnitTables::default(),
        caps,
        calls: ir::call_graph::CallFacts::of_unit(
            program,
            order,
            frame_estimate,
            crate::stack_limit::UNCHECKED_CALL_BYTES,
        ),
    })
}

fn symbol_safe(name: &str) -> String {
    name.chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect()
}
