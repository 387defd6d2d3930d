//! How deep kern code may go on the native stack of the current thread.
//!
//! Recursion is bounded twice: by call count (`RECURSION_LIMIT`, the documented
//! depth) and by bytes, so that a chain of calls with large frames stops with a
//! `StackOverflow` trap at a call instead of running off the end of the thread's
//! stack (SIGSEGV, or Rust's "has overflowed its stack" abort). Compiled code
//! compares its stack pointer, less the callee's estimated frame, with
//! [`limit`] (stored in the call context); the interpreter compares what is left
//! with [`INTERPRETER_RESERVE`] before each call.
//!
//! The thread's stack bounds come from the operating system (through `stacker`),
//! so this works on the main thread, on worker pools and on threads the embedding
//! application made. It knows nothing of code generation or of the IR.

/// The stack size of every thread kern starts to run kern code on (the `parallel`
/// pool, job-server workers): twice a Linux main thread's usual 8 MiB, so a
/// recursion that fits on the main thread fits there too. Only touched pages cost
/// memory.
pub const WORKER_STACK_BYTES: usize = 16 * 1024 * 1024;

/// Bytes kept free below the lowest frame compiled kern code may occupy: room for
/// the host functions compiled code calls (the `print!` hook formats on the host)
/// and for the host's own frames that unwind a trap.
pub const COMPILED_RESERVE: usize = 256 * 1024;

/// Most bytes of native stack compiled code may take between two stack checks.
/// Compiled code checks the stack before a call of a recursive function and before
/// a call whose callee, with everything it calls without a check, may take more than
/// this ([`crate::ir::call_graph::CallFacts`]); so a non-recursive chain of small
/// frames runs unchecked, a deep chain or a large frame is still stopped at a call,
/// and unchecked code never takes more than this plus one frame below the last
/// check — well inside [`COMPILED_RESERVE`].
pub const UNCHECKED_CALL_BYTES: u64 = 64 * 1024;

/// Bytes that must be left on the stack for the interpreter to enter another kern
/// call: the Rust frames of one interpreted call (a walk over nested blocks, with
/// debug-build frames) stay well inside it.
pub const INTERPRETER_RESERVE: usize = 1024 * 1024;

/// The lowest stack address compiled kern code may use on the current thread, or 0
/// when the platform does not say where the stack ends (then only the call count
/// bounds recursion).
pub fn limit() -> usize {
    let here = approximate_stack_pointer();
    match stacker::remaining_stack() {
        Some(remaining) => here
            .saturating_sub(remaining)
            .saturating_add(COMPILED_RESERVE),
        None => 0,
    }
}

/// Whether the interpreter must refuse to enter another call on this thread.
pub fn interpreter_exhausted() -> bool {
    stacker::remaining_stack().is_some_and(|remaining| remaining < INTERPRETER_RESERVE)
}

/// An address in the current frame: the stack pointer, give or take a frame.
#[inline(never)]
fn approximate_stack_pointer() -> usize {
    let marker = 0u8;
    std::hint::black_box(&marker) as *const u8 as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_lies_below_the_current_frame_with_the_reserve_above_the_stack_end() {
        let here = approximate_stack_pointer();
        let limit = limit();
        assert!(
            limit > COMPILED_RESERVE,
            "the main test threads know their stack"
        );
        assert!(limit < here);
        let remaining = stacker::remaining_stack().expect("stack bounds are known");
        // The stack ends `remaining` bytes below here; the limit is the reserve above.
        let end = here - remaining;
        assert!(limit.abs_diff(end + COMPILED_RESERVE) < 4096);
    }

    #[test]
    fn a_fresh_thread_has_room_for_the_interpreter() {
        let exhausted = std::thread::Builder::new()
            .stack_size(4 << 20)
            .spawn(interpreter_exhausted)
            .unwrap()
            .join()
            .unwrap();
        assert!(!exhausted);
    }
}
