//! One LLVM `-O3` compile of a request, as the `optimized` tier runs it on the
//! calling thread and the `auto` tier on its background thread, and its report:
//! with `KERN_LLVM_TIMES` set (to anything), each compile prints one line to
//! stderr with the unit's root function and where the time went (docs/tiers.md).
//!
//! It knows the LLVM host backend; it must not know which tier asked, nor the
//! requests' queue.

use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

use kern_compiler::backend::cranelift::CompiledFunction;
use kern_compiler::backend::llvm::host::{self, CompileTimes, LlvmError};
use kern_compiler::ir::{FuncId, Program};

/// Whether `KERN_LLVM_TIMES` asks for a line per compile (read once).
fn reporting() -> bool {
    static REPORT: OnceLock<bool> = OnceLock::new();
    *REPORT.get_or_init(|| std::env::var_os("KERN_LLVM_TIMES").is_some())
}

/// The CPU time this thread has run so far: unlike the wall clock, what a
/// compile costs whatever else the machine runs.
fn thread_cpu_time() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `t` is a valid timespec to write; the clock exists on every
    // supported system (an error leaves it zero).
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

/// The `KERN_LLVM_TIMES` line of the compile of `name` (`how`: on the calling
/// thread or in the background) that took `cpu` of the thread's time.
fn report_line(name: &str, how: &str, t: &CompileTimes, cpu: Duration) -> String {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    format!(
        "llvm: {name} ({how}) {:.1} ms (cpu {:.1} ms): lower {:.1} ms, optimise {:.1} ms, machine code {:.1} ms\n",
        ms(t.total()),
        ms(cpu),
        ms(t.lower),
        ms(t.optimise),
        ms(t.machine_code)
    )
}

/// Compiles the unit rooted at `root` with LLVM; `how` says where, for the
/// report. `baseline` is the request's Cranelift code where the caller has it:
/// the scalar elements of a guarded elementwise loop run it
/// (`host::compile_timed`).
pub fn compile(
    program: &Program,
    root: FuncId,
    how: &str,
    baseline: Option<&CompiledFunction>,
) -> Result<CompiledFunction, LlvmError> {
    let cpu = thread_cpu_time();
    let (code, times) = host::compile_timed(program, root, baseline)?;
    if reporting() {
        let cpu = thread_cpu_time().saturating_sub(cpu);
        let line = report_line(&program.function(root).name, how, &times, cpu);
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
    Ok(code)
}
