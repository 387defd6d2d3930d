//! Specification: recursion with large frames never crashes kern. However many
//! values a recursive function keeps alive across its recursive call, the call
//! that would go too deep is a run-time error at that call — "stack overflow"
//! (the thread's stack is bounded in bytes) or "recursion limit reached" (the
//! depth guard), whichever comes first — on every kind of thread that runs kern
//! code (the main thread, `parallel` workers, job-server workers, threads of the
//! embedding program), in compiled code and in the interpreter.
//!
//! A regression here would be a SIGSEGV or a "has overflowed its stack" abort, so
//! every case runs in a child process: the `kern` binary, or this test binary run
//! again for one test (see [`in_child_process`]); a crash fails the test.

use std::process::{Command, Output};

use kern::{Module, ScalarValue};

/// Live locals per frame: the sizes that crashed a job-server worker, a
/// `parallel` worker and the main thread.
const FRAME_SIZES: [usize; 3] = [150, 400, 2000];

/// Column of the recursive call in [`deep_recursion`]'s `let mut s = deep(n + 1);`.
const CALL_COLUMN: usize = 17;

/// `fn deep(n: i64) -> i64` that recurses forever with `locals` values computed
/// before the recursive call and all used after it, so they live in its frame.
fn deep_recursion(locals: usize) -> String {
    large_frame("deep", "deep(n + 1)", locals)
}

/// `fn NAME(n: i64) -> i64` that computes `locals` values, then `let mut s =
/// CALL;` (at column [`CALL_COLUMN`]), then adds them all to `s`.
fn large_frame(name: &str, call: &str, locals: usize) -> String {
    let mut text = format!("fn {name}(n: i64) -> i64 {{\n");
    for k in 0..locals {
        text.push_str(&format!("    let v{k} = (n ^ {k}) * (n + {k});\n"));
    }
    text.push_str(&format!("    let mut s = {call};\n"));
    for k in 0..locals {
        text.push_str(&format!("    s += v{k};\n"));
    }
    text.push_str("    s\n}\n");
    text
}

/// The line of the recursive call in [`deep_recursion`]`(locals)`.
fn call_line(locals: usize) -> usize {
    locals + 2
}

/// Whether `message` is one of the two documented errors, at the recursive call.
fn is_located_stack_error(message: &str, file: &str, locals: usize) -> bool {
    let location = format!("{file}:{}:{CALL_COLUMN}", call_line(locals));
    (message.contains("stack overflow") || message.contains("recursion limit reached"))
        && message.contains(&location)
}

/// `kern run [--target TARGET] FILE` on `program`, written to `FILE`.
fn kern_run(dir: &std::path::Path, file: &str, program: &str, target: &str) -> Output {
    std::fs::write(dir.join(file), program).expect("write the program");
    Command::new(env!("CARGO_BIN_EXE_kern"))
        .args(["run", "--target", target, file])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the kern binary runs")
}

/// Runs `main` (appended to `deep_recursion`) for every frame size through the
/// `kern` binary and expects exit status 1 with the located error.
fn expect_cli_error(main: &str, target: &str) {
    let dir = tempfile::tempdir().expect("temporary directory");
    let mut failures = Vec::new();
    for locals in FRAME_SIZES {
        let file = format!("deep_{locals}.kern");
        let program = format!("{}\n{main}", deep_recursion(locals));
        let output = kern_run(dir.path(), &file, &program, target);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.code() != Some(1) || !is_located_stack_error(&stderr, &file, locals) {
            failures.push(format!("{file}: {}\n{stderr}", output.status));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn compiled_recursion_on_the_main_thread_is_a_located_error() {
    expect_cli_error("fn main() {\n    println!(\"{}\", deep(1));\n}\n", "cpu");
}

#[test]
fn compiled_recursion_on_parallel_workers_is_a_located_error() {
    // 2^16 elements: several chunks, all on the rayon pool's workers.
    let main = "#[vectorize]\nfn start(x: i64) -> i64 {\n    deep(x)\n}\n\n\
                fn main() {\n    let a = arange(0, 65536);\n    println!(\"{}\", start(&a));\n}\n";
    expect_cli_error(main, "parallel");
}

#[test]
fn compiled_recursion_on_job_server_workers_is_a_located_error() {
    let main =
        "fn main() {\n    let r = jobs::map(deep, &arange(0, 4));\n    println!(\"{}\", r);\n}\n";
    expect_cli_error(main, "cpu");
}

/// Set in the child process that runs one test's body.
const CHILD: &str = "KERN_STACK_OVERFLOW_CHILD";

/// Runs `case` in a child process: this test binary again, filtered to the test
/// `name`. The test fails when the child does (a failed assertion or a crash).
fn in_child_process(name: &str, case: impl FnOnce()) {
    if std::env::var_os(CHILD).is_some() {
        case();
        return;
    }
    let output = Command::new(std::env::current_exe().expect("the test binary"))
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .output()
        .expect("the test binary runs again");
    assert!(
        output.status.success(),
        "{name} in a child process: {}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The module of [`deep_recursion`]`(locals)`, named `deep_LOCALS.kern`.
fn deep_module(locals: usize) -> (Module, String) {
    let file = format!("deep_{locals}.kern");
    let module = Module::from_source(file.clone(), deep_recursion(locals)).expect("deep compiles");
    (module, file)
}

/// Calls `deep(1)` for every frame size, in the interpreter or as machine code,
/// and expects the located error.
fn expect_api_error(interpreted: bool) {
    for locals in FRAME_SIZES {
        let (mut module, file) = deep_module(locals);
        let args = [ScalarValue::I64(1)];
        let result = if interpreted {
            module.interpret("deep", &args, &mut std::io::sink())
        } else {
            module.call("deep", &args, &mut std::io::sink())
        };
        let message = result.expect_err("deep recursion fails").to_string();
        assert!(
            is_located_stack_error(&message, &file, locals),
            "{file}: {message}"
        );
    }
}

/// Runs `case` on a new thread with `stack` bytes of stack.
fn on_thread(stack: usize, case: impl FnOnce() + Send + 'static) {
    std::thread::Builder::new()
        .stack_size(stack)
        .spawn(case)
        .expect("spawn")
        .join()
        .expect("the case passes");
}

#[test]
fn interpreted_recursion_is_a_located_error_on_small_and_main_sized_stacks() {
    in_child_process(
        "interpreted_recursion_is_a_located_error_on_small_and_main_sized_stacks",
        || {
            // Rust's default for spawned threads, and a Linux main thread's.
            on_thread(2 << 20, || expect_api_error(true));
            on_thread(8 << 20, || expect_api_error(true));
        },
    );
}

#[test]
fn compiled_recursion_is_a_located_error_on_threads_of_the_embedding_program() {
    in_child_process(
        "compiled_recursion_is_a_located_error_on_threads_of_the_embedding_program",
        || {
            on_thread(2 << 20, || expect_api_error(false));
            on_thread(8 << 20, || expect_api_error(false));
        },
    );
}

#[test]
fn recursion_on_job_server_workers_is_a_located_error_compiled_and_interpreted() {
    in_child_process(
        "recursion_on_job_server_workers_is_a_located_error_compiled_and_interpreted",
        || {
            let server = kern::jobs::Server::with_workers(2).expect("a job server");
            for locals in FRAME_SIZES {
                let (mut module, file) = deep_module(locals);
                let function = module.function("deep").expect("deep");
                let message = server
                    .submit(&function, (1i64,))
                    .wait()
                    .expect_err("deep recursion fails")
                    .to_string();
                assert!(
                    is_located_stack_error(&message, &file, locals),
                    "{file}: {message}"
                );
            }
            let interpreted = server.submit_fn(|| expect_api_error(true));
            interpreted
                .wait()
                .expect("the interpreter's errors are located");
        },
    );
}

/// A call chain without recursion — 64 functions, each too large to inline and
/// keeping 400 values (3.2 KiB) live across its call — takes more stack than a
/// 384 KiB thread leaves kern code (what is left above the 256 KiB reserve): it
/// stops with "stack overflow" at one of its calls rather than running into the
/// reserve (or, on a smaller stack, off its end). Only recursive calls count depth,
/// so this is the stack check that calls keep where the callee's unchecked call
/// tree is large.
#[test]
fn compiled_non_recursive_chains_of_large_frames_are_a_located_error() {
    in_child_process(
        "compiled_non_recursive_chains_of_large_frames_are_a_located_error",
        || {
            const FUNCTIONS: usize = 64;
            let mut text: String = (0..FUNCTIONS)
                .map(|i| large_frame(&format!("c{i}"), &format!("c{}(n + 1)", i + 1), 400))
                .collect();
            text.push_str(&format!("fn c{FUNCTIONS}(n: i64) -> i64 {{ n }}\n"));
            let mut module = Module::from_source("chain.kern", text).expect("the chain compiles");
            let function = module.function("c0").expect("c0");
            on_thread(384 << 10, move || {
                let message = function
                    .call(&[ScalarValue::I64(1)], &mut std::io::sink())
                    .expect_err("the chain does not fit")
                    .to_string();
                let at_a_call = (0..FUNCTIONS).any(|i| {
                    message.contains(&format!(
                        "chain.kern:{}:{CALL_COLUMN}",
                        call_line(400) + i * (2 * 400 + 4)
                    ))
                });
                assert!(message.contains("stack overflow") && at_a_call, "{message}");
            });
        },
    );
}
