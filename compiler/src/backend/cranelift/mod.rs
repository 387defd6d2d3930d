//! The Cranelift backend: kern IR → native code in this process (cranelift-jit).
//!
//! # ABI
//! Every compiled kern function takes a hidden first parameter, a pointer to a
//! [`CallContext`], then its IR parameters (scalars as their machine type, arrays
//! as a pointer to an `ir::ArrayDesc`). On a trap the function records a *site*
//! (an index into the engine's table of trap sites, which knows the span and kind)
//! and payload in the context and returns zeros; every caller checks the context
//! after a call and returns too, so the trap unwinds to the host without signals.
//! Recursion is guarded at each call site: deeper than `RECURSION_LIMIT` nested
//! calls traps instead of overflowing the native stack. `print!` calls a host hook
//! that formats with `ir::format`, exactly like the interpreter.
//!
//! The host enters through a per-function trampoline `fn(ctx, args, ret)` that
//! reads arguments from 64-bit slots, so any signature can be called dynamically.
//!
//! No Cranelift type leaves this folder.

mod lower;

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex, RwLock};

use cranelift_codegen::ir::{types, AbiParam, Signature};
use cranelift_codegen::isa::OwnedTargetIsa;
use cranelift_codegen::settings::{self, Configurable};
use cranelift_jit::{JITBuilder, JITModule};
use cranelift_module::{DataDescription, DataId, FuncId as ClifFuncId, Linkage, Module};

use crate::diagnostics::{SourceMap, Span};
use crate::interp::HostArg;
use crate::ir::{format::format_pieces, FormatPiece, FuncId, Program, ScalarType, ScalarValue, Trap, TrapKind, Type};

/// Deepest nesting of kern calls before a `RecursionLimit` trap.
pub const RECURSION_LIMIT: u32 = 1000;

#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    #[error("cranelift: {0}")]
    Codegen(String),
    #[error("cannot call `{name}`: {reason}")]
    BadCall { name: String, reason: String },
}

/// The per-call state shared between the host and compiled code (C layout; the
/// offsets are used by generated code).
#[repr(C)]
pub struct CallContext {
    /// 0 while running; 1 once a trap happened.
    pub trapped: u32,
    /// Index of the trap site in the engine's table.
    pub site: u32,
    /// Index and length for bounds-check traps.
    pub payload_index: i64,
    pub payload_len: i64,
    /// Current kern call depth.
    pub depth: u32,
    pub _pad: u32,
    /// `*mut &mut dyn Write` for print hooks.
    pub out: *mut u8,
    /// `*const Sites` for print hooks.
    pub sites: *const Sites,
}

impl CallContext {
    const TRAPPED: i32 = 0;
    const SITE: i32 = 4;
    const PAYLOAD_INDEX: i32 = 8;
    const PAYLOAD_LEN: i32 = 16;
    const DEPTH: i32 = 24;
}

/// What a trap site or print site of compiled code stands for.
#[derive(Clone, Debug)]
pub enum Site {
    Trap { kind: TrapKind, span: Span },
    Print { pieces: Vec<FormatPiece>, types: Vec<ScalarType>, newline: bool },
}

/// The site table of an engine, appended to while compiling.
#[derive(Default)]
pub struct Sites(RwLock<Vec<Site>>);

impl Sites {
    fn add(&self, site: Site) -> u32 {
        let mut sites = self.0.write().unwrap_or_else(|e| e.into_inner());
        sites.push(site);
        sites.len() as u32 - 1
    }

    fn get(&self, index: u32) -> Option<Site> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).get(index as usize).cloned()
    }
}

/// Owns the JIT'ed code; freed when the engine and every `CompiledFunction` are gone.
struct CodeMemory(Option<JITModule>);

impl Drop for CodeMemory {
    fn drop(&mut self) {
        if let Some(module) = self.0.take() {
            // Safety: no `CompiledFunction` refers to this memory any more (they hold
            // an `Arc` to it), so no code from it can run.
            unsafe { module.free_memory() };
        }
    }
}

// Safety: the module is only touched under the engine's mutex; compiled code is
// immutable and callable from any thread.
unsafe impl Send for CodeMemory {}
unsafe impl Sync for CodeMemory {}

/// Compiles the functions of one IR program and caches them. Use one engine per
/// program: `FuncId`s are its cache keys.
pub struct JitEngine {
    memory: Arc<Mutex<CodeMemory>>,
    sites: Arc<Sites>,
    /// kern function → its Cranelift function in the module.
    declared: HashMap<FuncId, ClifFuncId>,
    /// Functions whose bodies were defined and finalized.
    defined: HashMap<FuncId, ClifFuncId>,
    trampolines: HashMap<FuncId, CompiledFunction>,
    tables: HashMap<u32, DataId>,
    print_hook: Option<ClifFuncId>,
}

extern "C" fn kern_print_hook(ctx: *mut CallContext, site: u32, args: *const u64) {
    // Safety: generated code passes its own context and a slot array with one u64
    // per argument of this print site.
    unsafe {
        let ctx = &*ctx;
        let Some(sites) = ctx.sites.as_ref() else { return };
        let Some(Site::Print { pieces, types, newline }) = sites.get(site) else { return };
        let values: Vec<ScalarValue> = types
            .iter()
            .enumerate()
            .map(|(i, t)| ScalarValue::from_bits(*t, *args.add(i)))
            .collect();
        let text = format_pieces(&pieces, &values, newline);
        if let Some(out) = (ctx.out as *mut &mut dyn Write).as_mut() {
            let _ = out.write_all(text.as_bytes());
        }
    }
}

fn host_isa() -> Result<OwnedTargetIsa, BackendError> {
    let mut flags = settings::builder();
    let set = |flags: &mut settings::Builder, k: &str, v: &str| {
        flags.set(k, v).map_err(|e| BackendError::Codegen(format!("setting {k}: {e}")))
    };
    set(&mut flags, "opt_level", "speed")?;
    set(&mut flags, "is_pic", "false")?;
    set(&mut flags, "use_colocated_libcalls", "false")?;
    let isa_builder = cranelift_native::builder().map_err(|e| BackendError::Codegen(e.to_string()))?;
    isa_builder
        .finish(settings::Flags::new(flags))
        .map_err(|e| BackendError::Codegen(e.to_string()))
}

impl JitEngine {
    pub fn new() -> Result<JitEngine, BackendError> {
        let isa = host_isa()?;
        let mut builder = JITBuilder::with_isa(isa, cranelift_module::default_libcall_names());
        builder.symbol("kern_print_hook", kern_print_hook as *const u8);
        Ok(JitEngine {
            memory: Arc::new(Mutex::new(CodeMemory(Some(JITModule::new(builder))))),
            sites: Arc::new(Sites::default()),
            declared: HashMap::new(),
            defined: HashMap::new(),
            trampolines: HashMap::new(),
            tables: HashMap::new(),
            print_hook: None,
        })
    }

    /// Compiles `func` and everything it calls (once; later calls hit the cache).
    pub fn compile(&mut self, program: &Program, func: FuncId) -> Result<CompiledFunction, BackendError> {
        if let Some(compiled) = self.trampolines.get(&func) {
            return Ok(compiled.clone());
        }
        let memory = Arc::clone(&self.memory);
        let mut guard = memory.lock().unwrap_or_else(|e| e.into_inner());
        let module = guard.0.as_mut().ok_or_else(|| BackendError::Codegen("engine was shut down".into()))?;

        // Everything reachable that is not compiled yet.
        let mut pending = vec![func];
        let mut to_define = Vec::new();
        while let Some(f) = pending.pop() {
            if self.defined.contains_key(&f) || to_define.contains(&f) {
                continue;
            }
            to_define.push(f);
            pending.extend(program.function(f).callees());
        }
        for f in &to_define {
            self.declare(module, program, *f)?;
        }
        let mut ctx = module.make_context();
        for f in &to_define {
            ctx.func = lower::lower_function(self, module, program, *f)?;
            let id = self.declared[f];
            module
                .define_function(id, &mut ctx)
                .map_err(|e| BackendError::Codegen(format!("`{}`: {}", program.function(*f).name, describe_module_error(e))))?;
            module.clear_context(&mut ctx);
        }
        let trampoline_id = {
            let name = format!("kern_entry_{}", func.0);
            let mut sig = module.make_signature();
            for _ in 0..3 {
                sig.params.push(AbiParam::new(types::I64));
            }
            let id = module
                .declare_function(&name, Linkage::Local, &sig)
                .map_err(|e| BackendError::Codegen(describe_module_error(e)))?;
            ctx.func = lower::trampoline(self, module, program, func, sig)?;
            module
                .define_function(id, &mut ctx)
                .map_err(|e| BackendError::Codegen(describe_module_error(e)))?;
            module.clear_context(&mut ctx);
            id
        };
        module
            .finalize_definitions()
            .map_err(|e| BackendError::Codegen(describe_module_error(e)))?;
        for f in to_define {
            self.defined.insert(f, self.declared[&f]);
        }
        let f = program.function(func);
        let compiled = CompiledFunction {
            name: f.name.clone(),
            entry: module.get_finalized_function(trampoline_id),
            raw: module.get_finalized_function(self.declared[&func]),
            params: f.param_types(),
            ret: f.ret,
            span: f.span,
            sites: Arc::clone(&self.sites),
            _memory: Arc::clone(&self.memory),
        };
        drop(guard);
        self.trampolines.insert(func, compiled.clone());
        Ok(compiled)
    }

    fn declare(&mut self, module: &mut JITModule, program: &Program, func: FuncId) -> Result<ClifFuncId, BackendError> {
        if let Some(id) = self.declared.get(&func) {
            return Ok(*id);
        }
        let sig = signature(module, program, func);
        let id = module
            .declare_function(&format!("kern_{}", func.0), Linkage::Local, &sig)
            .map_err(|e| BackendError::Codegen(describe_module_error(e)))?;
        self.declared.insert(func, id);
        Ok(id)
    }

    fn print_hook(&mut self, module: &mut JITModule) -> Result<ClifFuncId, BackendError> {
        if let Some(id) = self.print_hook {
            return Ok(id);
        }
        let mut sig = module.make_signature();
        sig.params.push(AbiParam::new(types::I64));
        sig.params.push(AbiParam::new(types::I32));
        sig.params.push(AbiParam::new(types::I64));
        let id = module
            .declare_function("kern_print_hook", Linkage::Import, &sig)
            .map_err(|e| BackendError::Codegen(describe_module_error(e)))?;
        self.print_hook = Some(id);
        Ok(id)
    }

    fn const_table(&mut self, module: &mut JITModule, program: &Program, table: u32) -> Result<DataId, BackendError> {
        if let Some(id) = self.tables.get(&table) {
            return Ok(*id);
        }
        let t = program.const_table(crate::ir::ConstTableId(table));
        let size = t.elem.size_bytes();
        let mut bytes = Vec::with_capacity(t.values.len() * size);
        for v in &t.values {
            bytes.extend_from_slice(&v.to_bits().to_le_bytes()[..size]);
        }
        let id = module
            .declare_data(&format!("kern_table_{table}"), Linkage::Local, false, false)
            .map_err(|e| BackendError::Codegen(describe_module_error(e)))?;
        let mut data = DataDescription::new();
        data.set_align(8);
        data.define(bytes.into_boxed_slice());
        module
            .define_data(id, &data)
            .map_err(|e| BackendError::Codegen(describe_module_error(e)))?;
        self.tables.insert(table, id);
        Ok(id)
    }

    /// CLIF text of one function, annotated with the kern source lines it came from.
    pub fn emit_clif(program: &Program, func: FuncId, sources: &SourceMap) -> Result<String, BackendError> {
        let mut engine = JitEngine::new()?;
        let memory = Arc::clone(&engine.memory);
        let mut guard = memory.lock().unwrap_or_else(|e| e.into_inner());
        let module = guard.0.as_mut().ok_or_else(|| BackendError::Codegen("engine was shut down".into()))?;
        let mut pending = vec![func];
        while let Some(f) = pending.pop() {
            if engine.declared.contains_key(&f) {
                continue;
            }
            engine.declare(module, program, f)?;
            pending.extend(program.function(f).callees());
        }
        let clif = lower::lower_function(&mut engine, module, program, func)?;
        Ok(lower::annotated_text(&clif, program.function(func), sources))
    }
}

fn describe_module_error(e: cranelift_module::ModuleError) -> String {
    match e {
        cranelift_module::ModuleError::Compilation(c) => format!("{c:?}"),
        other => other.to_string(),
    }
}

fn signature(module: &JITModule, program: &Program, func: FuncId) -> Signature {
    let f = program.function(func);
    let mut sig = module.make_signature();
    sig.params.push(AbiParam::new(types::I64));
    for t in f.param_types() {
        sig.params.push(AbiParam::new(match t {
            Type::Scalar(s) => lower::clif_type(s),
            Type::Array(_) => types::I64,
        }));
    }
    if let Some(r) = f.ret {
        sig.returns.push(AbiParam::new(lower::clif_type(r)));
    }
    sig
}

/// A compiled kern function, callable from the host. Cheap to clone; keeps its
/// code alive; callable from several threads at once.
#[derive(Clone)]
pub struct CompiledFunction {
    name: String,
    entry: *const u8,
    raw: *const u8,
    params: Vec<Type>,
    ret: Option<ScalarType>,
    span: Span,
    sites: Arc<Sites>,
    _memory: Arc<Mutex<CodeMemory>>,
}

// Safety: the code pointers point into immutable, finalized code kept alive by
// `_memory`; calls share nothing but the per-call context.
unsafe impl Send for CompiledFunction {}
unsafe impl Sync for CompiledFunction {}

type Trampoline = unsafe extern "C" fn(*mut CallContext, *const u64, *mut u64);

impl CompiledFunction {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The function's own entry (hidden context first, then its parameters).
    pub fn raw_entry(&self) -> *const u8 {
        self.raw
    }

    /// Calls with scalar arguments only.
    pub fn call_scalars(&self, args: &[ScalarValue], out: &mut dyn Write) -> Result<Option<ScalarValue>, Trap> {
        if self.params.iter().any(|p| matches!(p, Type::Array(_))) {
            return Err(self.bad_call("it takes arrays: use `call`"));
        }
        let args: Vec<HostArg> = args.iter().map(|a| HostArg::Scalar(*a)).collect();
        // Safety: no arrays among the arguments.
        unsafe { self.call(&args, out) }
    }

    fn bad_call(&self, reason: &str) -> Trap {
        Trap {
            kind: TrapKind::AssertionFailed(format!("cannot call `{}`: {reason}", self.name)),
            span: self.span,
        }
    }

    /// Calls the function.
    ///
    /// # Safety
    /// Every `HostArg::Array` must describe valid memory for its shape, strides and
    /// element type (writable when the parameter is `&mut`) for the whole call.
    pub unsafe fn call(&self, args: &[HostArg], out: &mut dyn Write) -> Result<Option<ScalarValue>, Trap> {
        if args.len() != self.params.len() {
            return Err(self.bad_call(&format!("expected {} arguments, got {}", self.params.len(), args.len())));
        }
        let mut slots = Vec::with_capacity(args.len());
        for (arg, param) in args.iter().zip(&self.params) {
            match (arg, param) {
                (HostArg::Scalar(v), Type::Scalar(t)) if v.ty() == *t => slots.push(v.to_bits()),
                (HostArg::Array(desc), Type::Array(_)) => slots.push(desc as *const _ as u64),
                _ => return Err(self.bad_call("argument types do not match the parameters")),
            }
        }
        let mut out_ref: &mut dyn Write = out;
        let mut ctx = CallContext {
            trapped: 0,
            site: 0,
            payload_index: 0,
            payload_len: 0,
            depth: 0,
            _pad: 0,
            out: &mut out_ref as *mut &mut dyn Write as *mut u8,
            sites: Arc::as_ptr(&self.sites),
        };
        let mut ret: u64 = 0;
        let entry: Trampoline = std::mem::transmute(self.entry);
        entry(&mut ctx, slots.as_ptr(), &mut ret);
        if ctx.trapped != 0 {
            return Err(match self.sites.get(ctx.site) {
                Some(Site::Trap { kind, span }) => Trap {
                    kind: match kind {
                        TrapKind::IndexOutOfBounds { .. } => TrapKind::IndexOutOfBounds {
                            index: ctx.payload_index,
                            len: ctx.payload_len,
                        },
                        other => other,
                    },
                    span,
                },
                _ => self.bad_call("unknown trap site"),
            });
        }
        Ok(self.ret.map(|t| ScalarValue::from_bits(t, ret)))
    }
}

#[cfg(test)]
mod tests;
