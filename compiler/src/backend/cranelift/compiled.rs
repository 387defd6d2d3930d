//! A compiled unit and the host side of calling it: argument checking and
//! marshalling into the trampoline's slots, the per-call [`CallContext`], decoding
//! traps, and keeping the code memory alive for as long as any handle exists.
//!
//! It knows the ABI (`abi`) and the trampoline's shape, not how code was generated:
//! the optimizing LLVM tier (`backend::llvm::host`) generates code with the same
//! ABI and trampoline and hands it over with [`CompiledFunction::from_foreign`],
//! so the runtime calls either tier's code through this one type. Such code may
//! leave some elements of an elementwise loop to the baseline's code of the
//! same loop (a *fallback*, [`trap_code::FALLBACK`]): the unit's run loop runs
//! them, then hands the rest of the call back, so every caller sees one call.

use std::ffi::c_void;
use std::mem::ManuallyDrop;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use cranelift_jit::JITModule;

use super::abi::{CallContext, OutputSink, UnitTables};
use crate::backend::traps::{trap_code, TrapRecord};
use crate::ir::{self, HostArg, ScalarType, ScalarValue, Trap, Type};

/// Why a host call of a compiled function did not produce a value.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The kernel trapped (division by zero, index out of bounds, ...).
    #[error(transparent)]
    Trap(#[from] Trap),
    /// The arguments do not match the function's parameters.
    #[error("bad arguments for `{function}`: {message}")]
    Arguments { function: String, message: String },
    /// Writing `print!` output failed.
    #[error("writing kernel output failed: {0}")]
    Output(#[from] std::io::Error),
}

/// What owns a unit's code memory. (A unit is one allocation behind an `Arc`:
/// the module's size costs nothing per call.)
#[allow(clippy::large_enum_variant)]
enum Code {
    Cranelift(ManuallyDrop<JITModule>),
    /// Another engine's code (the LLVM tier): freed when the owner is dropped.
    #[cfg_attr(not(feature = "llvm"), allow(dead_code))]
    Foreign {
        _owner: Box<dyn Send + Sync>,
    },
}

/// One compiled unit: its code memory, site tables and entry points.
pub(super) struct Unit {
    code: Code,
    /// Which engine generated the code (`"cranelift"` or `"llvm"`).
    engine: &'static str,
    pub tables: UnitTables,
    /// The root kern function (`fn(ctx, params...) -> ret`).
    pub entry: *const u8,
    /// The root's host trampoline.
    pub trampoline: *const u8,
    name: String,
    params: Vec<Type>,
    ret: Option<ScalarType>,
    /// Nanoseconds spent running this code, summed over every call on every
    /// thread ([`CompiledFunction::time_spent`]).
    spent_ns: AtomicU64,
    /// The baseline's code of the same elementwise loop, for the elements this
    /// code leaves to it, and where its trap sites start in `tables`.
    fallback: Option<(CompiledFunction, u32)>,
}

impl Unit {
    /// Takes ownership of `module` at once, so that every error path after this
    /// frees its code memory.
    pub fn new(module: JITModule, root: &ir::Function) -> Unit {
        Unit {
            code: Code::Cranelift(ManuallyDrop::new(module)),
            engine: "cranelift",
            tables: UnitTables::default(),
            entry: std::ptr::null(),
            trampoline: std::ptr::null(),
            name: root.name.clone(),
            params: root.param_types(),
            ret: root.ret,
            spent_ns: AtomicU64::new(0),
            fallback: None,
        }
    }

    /// Runs the trampoline with `slots`, adding the time it took to the unit's.
    ///
    /// # Safety
    /// As [`CompiledFunction::call_raw`].
    unsafe fn run(&self, ctx: &mut CallContext, slots: *const u64, ret: &mut u64) {
        let started = Instant::now();
        if FIRST_ENTRY.get().is_none() {
            let _ = FIRST_ENTRY.set(started);
        }
        // SAFETY: the trampoline has this signature; the slots are the caller's
        // promise.
        unsafe {
            let trampoline: Trampoline = std::mem::transmute(self.trampoline);
            trampoline(ctx, slots, ret);
            if let Some((fallback, sites)) = &self.fallback {
                if ctx.trap.code == trap_code::FALLBACK {
                    self.run_fallbacks(trampoline, fallback, *sites, ctx, slots, ret);
                }
            }
        }
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.spent_ns.fetch_add(nanos, Ordering::Relaxed);
    }

    /// While the code asks for a fallback: the baseline's code (`fallback`, its
    /// trap sites from index `sites` on in this unit's table) runs the elements
    /// it names, then this code the rest of the call. The unit is an
    /// elementwise loop: every slot is a rank-1 array, the output last, and the
    /// record's payload is relative to the start of the slots it was given.
    ///
    /// # Safety
    /// As [`CompiledFunction::call_raw`], with `trampoline` this unit's.
    unsafe fn run_fallbacks(
        &self,
        trampoline: Trampoline,
        fallback: &CompiledFunction,
        sites: u32,
        ctx: &mut CallContext,
        slots: *const u64,
        ret: &mut u64,
    ) {
        let arrays = self.params.len();
        // SAFETY: one slot per parameter, each the address of a live descriptor.
        let whole: Vec<ir::ArrayDesc> = (0..arrays)
            .map(|k| unsafe { *(*slots.add(k) as *const ir::ArrayDesc) })
            .collect();
        let sizes: Vec<usize> = self
            .params
            .iter()
            .map(|p| match p {
                Type::Array(a) => a.elem.size_bytes(),
                _ => 0,
            })
            .collect();
        let n = whole.last().map_or(0, |out| out.shape[0].max(0) as usize);
        // Elements `from..from + len` of the call, as descriptors of their own.
        let window = |from: usize, len: usize| -> Vec<ir::ArrayDesc> {
            whole
                .iter()
                .zip(&sizes)
                .map(|(d, &size)| {
                    let mut w = *d;
                    let offset = from as isize * d.strides[0] as isize * size as isize;
                    w.data = d.data.wrapping_offset(offset);
                    w.shape[0] = len as i64;
                    w
                })
                .collect()
        };
        // Where the code's slots start in the call.
        let mut base = 0usize;
        while ctx.trap.code == trap_code::FALLBACK {
            let start = base + ctx.trap.payload[0] as usize;
            let count = ctx.trap.payload[1] as usize;
            ctx.trap = TrapRecord::default();
            let part = window(start, count);
            let part_slots: Vec<u64> = part.iter().map(|d| d as *const _ as u64).collect();
            let mut inner = CallContext {
                trap: TrapRecord::default(),
                depth: ctx.depth,
                output: ctx.output,
                tables: &fallback.unit.tables as *const UnitTables as *const c_void,
                stack_limit: ctx.stack_limit,
            };
            // SAFETY: the same loop over a window of the caller's arrays.
            unsafe { fallback.unit.run(&mut inner, part_slots.as_ptr(), ret) };
            if inner.trap.code != trap_code::NONE {
                ctx.trap = inner.trap;
                ctx.trap.site += sites;
                return;
            }
            base = start + count;
            if base >= n {
                return;
            }
            let rest = window(base, n - base);
            let rest_slots: Vec<u64> = rest.iter().map(|d| d as *const _ as u64).collect();
            // SAFETY: as the first run, over the elements not run yet.
            unsafe { trampoline(ctx, rest_slots.as_ptr(), ret) };
        }
    }

    pub fn module_mut(&mut self) -> &mut JITModule {
        match &mut self.code {
            Code::Cranelift(module) => module,
            Code::Foreign { .. } => unreachable!("only `Unit::new` makes units the engine builds"),
        }
    }
}

/// When compiled code was first entered in this process (through
/// [`CompiledFunction::call`] or [`CompiledFunction::call_raw`], either tier's).
static FIRST_ENTRY: OnceLock<Instant> = OnceLock::new();

/// When compiled code was first entered in this process, if it was: what `kern
/// run --time` measures "start to the first compiled call" by.
pub fn first_entry() -> Option<Instant> {
    FIRST_ENTRY.get().copied()
}

impl Drop for Unit {
    fn drop(&mut self) {
        // SAFETY: the last `CompiledFunction` pointing into this code is being
        // dropped, so no code of the module can run any more. (A foreign owner
        // frees its code when the `Box` drops, after this.)
        if let Code::Cranelift(module) = &mut self.code {
            unsafe { ManuallyDrop::take(module).free_memory() };
        }
    }
}

// SAFETY: after `finalize_definitions` the module is never mutated again; the code
// and data it owns are immutable and position-fixed, and every call gets its own
// `CallContext`, so the unit may be shared and sent between threads.
unsafe impl Send for Unit {}
unsafe impl Sync for Unit {}

/// A compiled kern function, ready to call. Cheap to clone; keeps its code alive.
#[derive(Clone)]
pub struct CompiledFunction {
    unit: Arc<Unit>,
}

impl std::fmt::Debug for CompiledFunction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CompiledFunction")
            .field("name", &self.unit.name)
            .field("entry", &self.unit.entry)
            .finish()
    }
}

type Trampoline = unsafe extern "C" fn(*mut CallContext, *const u64, *mut u64);

impl CompiledFunction {
    pub(super) fn from_unit(unit: Unit) -> CompiledFunction {
        CompiledFunction {
            unit: Arc::new(unit),
        }
    }

    /// Takes over code another engine generated with this ABI: `trampoline` is
    /// the host entry (`extern "C" fn(*mut CallContext, *const u64, *mut u64)`,
    /// see `trampoline`), `entry` the root's native entry or null where the
    /// engine has none with the Cranelift tier's signature, `tables` the unit's
    /// trap and print sites, `owner` keeps the code memory alive, and
    /// `fallback` is the baseline's code of the same elementwise loop, for code
    /// that leaves elements to it ([`trap_code::FALLBACK`]).
    ///
    /// # Safety
    /// `trampoline` and `entry` point to code with those signatures that `owner`
    /// keeps alive, built for `root` and reporting traps and prints by `tables`.
    #[cfg_attr(not(feature = "llvm"), allow(dead_code))]
    pub(crate) unsafe fn from_foreign(
        owner: Box<dyn Send + Sync>,
        engine: &'static str,
        mut tables: UnitTables,
        entry: *const u8,
        trampoline: *const u8,
        root: &ir::Function,
        fallback: Option<CompiledFunction>,
    ) -> CompiledFunction {
        // The fallback's trap sites follow the unit's own, so that one table
        // decodes both.
        let fallback = fallback.map(|code| {
            let sites = tables.traps.0.len() as u32;
            tables
                .traps
                .0
                .extend(code.unit.tables.traps.0.iter().cloned());
            (code, sites)
        });
        CompiledFunction::from_unit(Unit {
            code: Code::Foreign { _owner: owner },
            engine,
            tables,
            entry,
            trampoline,
            name: root.name.clone(),
            params: root.param_types(),
            ret: root.ret,
            spent_ns: AtomicU64::new(0),
            fallback,
        })
    }

    pub fn name(&self) -> &str {
        &self.unit.name
    }

    /// The engine that generated this code: `"cranelift"` (the baseline tier) or
    /// `"llvm"` (the optimized tier).
    pub fn engine(&self) -> &'static str {
        self.unit.engine
    }

    /// Calls the function. Argument count and types are checked (an `Err`, never a
    /// panic); `print!` output goes to `out`.
    ///
    /// # Safety
    /// Every array argument must describe memory that is valid for the function's
    /// accesses for the whole call: `data` plus each in-bounds index times its stride
    /// must stay inside one live allocation of the right element type, and arrays the
    /// function writes must not be aliased by other live references.
    pub unsafe fn call(
        &self,
        args: &[HostArg],
        out: &mut dyn std::io::Write,
    ) -> Result<Option<ScalarValue>, CallError> {
        let unit = &*self.unit;
        let bad = |message: String| CallError::Arguments {
            function: unit.name.clone(),
            message,
        };
        if args.len() != unit.params.len() {
            return Err(bad(format!(
                "expected {} arguments, got {}",
                unit.params.len(),
                args.len()
            )));
        }
        // Descriptors are copied here so their addresses stay fixed during the call.
        let descriptors: Vec<ir::ArrayDesc> = args
            .iter()
            .filter_map(|a| match a {
                HostArg::Array(d) => Some(*d),
                HostArg::Scalar(_) => None,
            })
            .collect();
        let mut next_descriptor = descriptors.iter();
        let mut slots = Vec::with_capacity(args.len());
        for (i, (arg, param)) in args.iter().zip(&unit.params).enumerate() {
            match (arg, param) {
                (HostArg::Scalar(v), Type::Scalar(t)) if v.ty() == *t => slots.push(v.to_bits()),
                (HostArg::Array(_), Type::Array(_)) => {
                    let desc = next_descriptor
                        .next()
                        .map_or(std::ptr::null(), |d| d as *const _);
                    slots.push(desc as u64);
                }
                (HostArg::Scalar(v), Type::Scalar(t)) => {
                    return Err(bad(format!("argument {i} is a {}, expected {t}", v.ty())))
                }
                (HostArg::Scalar(_), Type::Array(_)) => {
                    return Err(bad(format!("argument {i} is a scalar, expected an array")))
                }
                (HostArg::Array(_), Type::Scalar(t)) => {
                    return Err(bad(format!("argument {i} is an array, expected {t}")))
                }
                (_, Type::HostArray(_)) => {
                    return Err(bad(format!(
                        "argument {i} is a host array, which compiled code cannot take"
                    )))
                }
            }
        }
        let mut sink = OutputSink { out, error: None };
        let mut ctx = CallContext::new(
            &unit.tables,
            &mut sink as *mut OutputSink<'_> as *mut c_void,
        );
        let mut ret: u64 = 0;
        // SAFETY: the slots match the parameters (checked above); arrays are the
        // caller's promise.
        unsafe { unit.run(&mut ctx, slots.as_ptr(), &mut ret) };
        if let Some(trap) = unit.tables.decode_trap(&ctx) {
            return Err(CallError::Trap(trap));
        }
        if let Some(e) = sink.error {
            return Err(CallError::Output(e));
        }
        Ok(unit.ret.map(|t| ScalarValue::from_bits(t, ret)))
    }

    /// Calls a function whose parameters are all scalars.
    pub fn call_scalars(
        &self,
        args: &[ScalarValue],
        out: &mut dyn std::io::Write,
    ) -> Result<Option<ScalarValue>, CallError> {
        let args: Vec<HostArg> = args.iter().map(|v| HostArg::Scalar(*v)).collect();
        if self.unit.params.iter().any(|p| matches!(p, Type::Array(_))) {
            return Err(CallError::Arguments {
                function: self.unit.name.clone(),
                message: "the function takes arrays; use `call`".into(),
            });
        }
        // SAFETY: no array parameters, so nothing depends on the caller.
        unsafe { self.call(&args, out) }
    }

    /// The kern function's native entry, `extern "C" fn(*mut CallContext,
    /// params...) -> ret` (scalars as machine types, arrays as `*const ArrayDesc`),
    /// for code that generates its own calls. Null for the LLVM tier's code,
    /// whose kern functions are internal to its unit (call it through the
    /// trampoline: [`CompiledFunction::call_raw`]).
    pub fn raw_entry(&self) -> *const u8 {
        self.unit.entry
    }

    /// A fresh context for calling [`CompiledFunction::raw_entry`] directly;
    /// `print!` output goes to standard output. The context borrows this
    /// function's tables: use it only while `self` is alive.
    pub fn new_context(&self) -> CallContext {
        CallContext::new(&self.unit.tables, std::ptr::null_mut())
    }

    /// Calls the host trampoline directly: no checks, no allocation. For hot callers
    /// that marshal their own slots (the runtime's elementwise loops); the result,
    /// if any, is discarded.
    ///
    /// # Safety
    /// `ctx` comes from [`CompiledFunction::new_context`] of this function; `slots`
    /// holds one slot per parameter as [`CompiledFunction::call`] would build them
    /// (scalar bits, or the address of a live `ArrayDesc` valid for the call).
    pub unsafe fn call_raw(&self, ctx: &mut CallContext, slots: *const u64) {
        let mut ret: u64 = 0;
        // SAFETY: the caller's promise.
        unsafe { self.unit.run(ctx, slots, &mut ret) };
    }

    /// The time spent running this code so far, summed over every call through
    /// [`CompiledFunction::call`] and [`CompiledFunction::call_raw`] on every
    /// thread (calls through [`CompiledFunction::raw_entry`] are not counted).
    /// What the runtime's `auto` tier reads to find hot code.
    pub fn time_spent(&self) -> Duration {
        Duration::from_nanos(self.unit.spent_ns.load(Ordering::Relaxed))
    }

    /// The trap a direct call through [`CompiledFunction::raw_entry`] left in `ctx`.
    pub fn trap_of(&self, ctx: &CallContext) -> Option<Trap> {
        self.unit.tables.decode_trap(ctx)
    }
}
