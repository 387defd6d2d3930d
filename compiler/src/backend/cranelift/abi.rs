//! The run-time contract between generated code and the host: the [`CallContext`]
//! passed to every compiled function, the trap codes written into it, the per-unit
//! site tables that turn a trap code into an [`ir::Trap`], and the `print!` hook.
//!
//! Field offsets of [`CallContext`] are baked into generated code (the `*_OFFSET`
//! constants); a test pins them to the struct layout. This file must not know how
//! code is generated, only what it reads and writes.

use std::ffi::c_void;
use std::io::Write;

use crate::backend::traps::{TrapRecord, TrapSites};
use crate::ir::{self, format::format_pieces, FormatPiece, ScalarType, ScalarValue};

/// Deepest nesting of calls of recursive kern functions (those on a cycle of the
/// call graph, `ir::call_graph`) before such a call traps with `RecursionLimit`;
/// calls of other functions do not count. The stack itself is bounded separately
/// (`CallContext::stack_limit`), so frames of any size end in a trap rather than a
/// crash.
pub const RECURSION_LIMIT: i64 = 1000;

pub use crate::backend::traps::trap_code;

/// The hidden first argument of every compiled kern function.
///
/// One per host call (never shared between threads): generated code writes the trap
/// fields and the depth; the output sink and tables are read by the print hook.
#[repr(C)]
#[derive(Debug)]
pub struct CallContext {
    /// The trap, if any: written by the trapping function, its code read by every
    /// caller after a call that can trap.
    pub trap: TrapRecord,
    /// Current nesting of calls of recursive kern functions.
    pub depth: i64,
    /// A `*mut OutputSink` for `print!`; null prints to standard output.
    pub output: *mut c_void,
    /// The `*const UnitTables` of the unit the running code belongs to.
    pub tables: *const c_void,
    /// The lowest stack address kern code may use on the calling thread
    /// ([`crate::stack_limit::limit`]); a call whose callee's frame would go below
    /// it traps with `StackOverflow`. Set by the thread that makes the host call.
    pub stack_limit: usize,
}

impl CallContext {
    pub const TRAP_CODE_OFFSET: i32 = TrapRecord::CODE_OFFSET as i32;
    pub const TRAP_SITE_OFFSET: i32 = TrapRecord::SITE_OFFSET as i32;
    pub const TRAP_PAYLOAD_OFFSET: i32 = TrapRecord::PAYLOAD_OFFSET as i32;
    pub const DEPTH_OFFSET: i32 = TrapRecord::SIZE as i32;
    /// Where [`CallContext::stack_limit`] is (after the trap record, depth, output
    /// and tables).
    pub const STACK_LIMIT_OFFSET: i32 = TrapRecord::SIZE as i32 + 24;

    pub(crate) fn new(tables: &UnitTables, output: *mut c_void) -> CallContext {
        CallContext {
            trap: TrapRecord::default(),
            depth: 0,
            output,
            tables: tables as *const UnitTables as *const c_void,
            stack_limit: crate::stack_limit::limit(),
        }
    }
}

/// Where `print!` output of one host call goes.
pub(crate) struct OutputSink<'a> {
    pub out: &'a mut dyn Write,
    /// The first write error; later prints of the same call are dropped.
    pub error: Option<std::io::Error>,
}

#[derive(Clone, Debug, PartialEq)]
pub(crate) struct PrintSite {
    pub pieces: Vec<FormatPiece>,
    pub arg_types: Vec<ScalarType>,
    pub newline: bool,
}

/// The site tables of one compilation unit (a root function and everything it
/// calls), shared by all of the unit's functions.
#[derive(Clone, Debug, Default)]
pub(crate) struct UnitTables {
    pub traps: TrapSites,
    pub prints: Vec<PrintSite>,
}

impl UnitTables {
    pub fn add_print(&mut self, site: PrintSite) -> u32 {
        self.prints.push(site);
        self.prints.len() as u32 - 1
    }

    /// The trap recorded in `ctx`, if any.
    pub fn decode_trap(&self, ctx: &CallContext) -> Option<ir::Trap> {
        self.traps.decode(&ctx.trap)
    }
}

/// Name under which [`print_hook`] is registered with the JIT.
pub(crate) const PRINT_HOOK_SYMBOL: &str = "kern_print_hook";

/// Called by generated code for `print!`: formats the arguments of print site
/// `site` (their bits in `args`) exactly as the interpreter does and writes them to
/// the call's output sink.
///
/// # Safety
/// `ctx` is the context the host passed in (valid tables, a valid or null sink) and
/// `args` points to as many `u64` slots as the site has arguments.
pub(crate) unsafe extern "C" fn print_hook(ctx: *mut CallContext, site: u32, args: *const u64) {
    // A panic must not unwind into JIT frames; formatting does not panic, but a
    // user-supplied writer might.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        // SAFETY: guaranteed by the caller (generated code passes its own ctx).
        let ctx = unsafe { &mut *ctx };
        let tables = unsafe { &*(ctx.tables as *const UnitTables) };
        let Some(site) = tables.prints.get(site as usize) else {
            return;
        };
        let values: Vec<ScalarValue> = site
            .arg_types
            .iter()
            .enumerate()
            // SAFETY: the generated code stores one slot per argument.
            .map(|(i, ty)| ScalarValue::from_bits(*ty, unsafe { *args.add(i) }))
            .collect();
        let text = format_pieces(&site.pieces, &values, site.newline);
        if ctx.output.is_null() {
            let _ = std::io::stdout().write_all(text.as_bytes());
            return;
        }
        // SAFETY: a non-null output is the `OutputSink` of the running host call.
        let sink = unsafe { &mut *(ctx.output as *mut OutputSink<'_>) };
        if sink.error.is_none() {
            if let Err(e) = sink.out.write_all(text.as_bytes()) {
                sink.error = Some(e);
            }
        }
    }));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_offsets_match_the_struct_layout() {
        let ctx = CallContext::new(&UnitTables::default(), std::ptr::null_mut());
        let base = &ctx as *const CallContext as usize;
        let offset = |p: *const u8| (p as usize - base) as i32;
        assert_eq!(
            offset(&ctx.trap as *const TrapRecord as *const u8),
            CallContext::TRAP_CODE_OFFSET
        );
        assert_eq!(
            offset(&ctx.depth as *const i64 as *const u8),
            CallContext::DEPTH_OFFSET
        );
        assert_eq!(
            offset(&ctx.stack_limit as *const usize as *const u8),
            CallContext::STACK_LIMIT_OFFSET
        );
    }
}
