//! End-to-end specification of the `kern` command line.
//!
//! Fixture files drive most cases:
//! * `tests/fixtures/run/NAME.kern` is run on every target it declares by
//!   `tests/corpus.rs`; it must exit 0 and print exactly `NAME.stdout`.
//! * `tests/fixtures/errors/NAME.kern` is run with `kern run`; it must exit 1, print
//!   nothing on stdout and exactly `NAME.stderr` (the rendered diagnostic) on stderr.
//! * every `examples/NAME.kern` must print exactly `tests/fixtures/examples/NAME.stdout`.
//! * `tests/fixtures/fuzz/NAME.kern` (an input a fuzz target found crashing, kept
//!   as found) is run and checked with `kern`: each must end with exit status 0, or
//!   1 and an error located in the file, never a panic or a signal.
//!
//! Run with `KERN_BLESS=1` to (re)write the expected files after a deliberate change,
//! then review the diff.

mod common;

use std::process::Command;

use common::{check_expected, kern, kern_files, relative, root, text};

#[test]
fn error_fixtures_exit_1_with_their_rendered_diagnostic() {
    check_error_fixtures(&[]);
}

/// The traps of compiled code are the same, at the same source locations, on
/// the optimized tier (LLVM) as on the baseline (Cranelift).
#[cfg(feature = "llvm")]
#[test]
fn error_fixtures_fail_the_same_on_the_optimized_tier() {
    check_error_fixtures(&["--tier", "optimized"]);
}

/// Runs every error fixture with `kern run OPTIONS.. FILE` against its
/// expected exit status and stderr.
fn check_error_fixtures(options: &[&str]) {
    let mut failures = Vec::new();
    for file in kern_files("tests/fixtures/errors") {
        let name = relative(&file);
        let mut args = vec!["run"];
        args.extend_from_slice(options);
        args.push(&name);
        let output = kern(&args);
        if output.status.code() != Some(1) {
            failures.push(format!(
                "{}: expected exit status 1, got {}",
                relative(&file),
                output.status
            ));
        }
        if !output.stdout.is_empty() {
            failures.push(format!(
                "{}: printed on stdout: {}",
                relative(&file),
                text(&output.stdout)
            ));
        }
        check_expected(
            &file.with_extension("stderr"),
            &text(&output.stderr),
            &mut failures,
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn fuzz_findings_end_with_a_located_error_not_a_crash() {
    let mut failures = Vec::new();
    let files = kern_files("tests/fixtures/fuzz");
    assert!(!files.is_empty(), "no fuzz findings in tests/fixtures/fuzz");
    for file in files {
        let file = relative(&file);
        for command in ["check", "run"] {
            let output = kern(&[command, &file]);
            let stderr = text(&output.stderr);
            let clean = match output.status.code() {
                Some(0) => true,
                Some(1) => stderr.contains(&format!("{file}:")) && !stderr.contains("panicked"),
                _ => false,
            };
            if !clean {
                failures.push(format!(
                    "kern {command} {file}: {}\n{stderr}",
                    output.status
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn examples_print_their_expected_output() {
    let mut failures = Vec::new();
    for file in kern_files("examples") {
        let output = kern(&["run", &relative(&file)]);
        if !output.status.success() {
            failures.push(format!(
                "{} failed ({}):\n{}",
                relative(&file),
                output.status,
                text(&output.stderr)
            ));
            continue;
        }
        let name = file.file_stem().expect("file name").to_string_lossy();
        let expected = root().join(format!("tests/fixtures/examples/{name}.stdout"));
        check_expected(&expected, &text(&output.stdout), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn check_accepts_a_valid_file_and_prints_nothing() {
    let output = kern(&["check", "examples/sum_primes.kern"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(output.stdout.is_empty());
}

#[test]
fn check_rejects_an_invalid_file_with_status_1() {
    let output = kern(&["check", "tests/fixtures/errors/type_mismatch.kern"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("tests/fixtures/errors/type_mismatch.kern:"));
}

#[test]
fn bad_usage_exits_with_status_2() {
    assert_eq!(kern(&["run"]).status.code(), Some(2));
    assert_eq!(kern(&["frobnicate"]).status.code(), Some(2));
    let unknown_target = kern(&["run", "--target", "tpu", "examples/hello.kern"]);
    assert_eq!(unknown_target.status.code(), Some(2));
    assert!(text(&unknown_target.stderr).contains("unknown target `tpu`"));
    assert_eq!(
        kern(&["emit", "examples/hello.kern"]).status.code(),
        Some(2),
        "emit needs one of --ast, --ir, --clif"
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let output = kern(&["run", "no/such/file.kern"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("cannot read `no/such/file.kern`"));
}

#[cfg(not(feature = "cuda"))]
#[test]
fn a_target_not_built_in_says_how_to_get_it() {
    let output = kern(&["run", "--target", "cuda", "examples/hello.kern"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(stderr.contains("--features cuda"), "{stderr}");
    assert!(output.stdout.is_empty());
}

#[cfg(not(feature = "llvm"))]
#[test]
fn the_optimized_tier_without_the_llvm_feature_says_how_to_get_it() {
    for args in [
        &["run", "--tier", "optimized", "examples/hello.kern"][..],
        &["emit", "--llvm", "--target", "cpu", "examples/saxpy.kern"][..],
    ] {
        let output = kern(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        let stderr = text(&output.stderr);
        assert!(stderr.contains("`llvm` feature"), "{args:?}: {stderr}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_kern"))
        .args(["run", "examples/hello.kern"])
        .current_dir(root())
        .env("KERN_TIER", "optimized")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("`llvm` feature"));
}

#[test]
fn an_unknown_tier_is_bad_usage_or_an_error_naming_the_variable() {
    let output = kern(&["run", "--tier", "fastest", "examples/hello.kern"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(text(&output.stderr).contains("baseline, optimized, auto"));
    let output = Command::new(env!("CARGO_BIN_EXE_kern"))
        .args(["run", "examples/hello.kern"])
        .current_dir(root())
        .env("KERN_TIER", "fastest")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("KERN_TIER"));
}

/// `kern emit --llvm --target cpu` is the optimized tier's module: the host
/// trampoline, LLVM's code for this CPU, no fast-math flags; `--asm --tier
/// optimized` its assembly.
#[cfg(feature = "llvm")]
#[test]
fn emit_shows_the_optimized_tiers_llvm_ir_and_assembly() {
    let output = kern(&["emit", "--llvm", "--target", "cpu", "examples/saxpy.kern"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let ir = text(&output.stdout);
    assert!(ir.contains("define void @\"kern$entry\""), "{ir}");
    assert!(ir.contains("\"target-cpu\""), "{ir}");
    assert!(!ir.contains(" fast ") && !ir.contains("fmuladd"), "{ir}");
    let output = kern(&[
        "emit",
        "--asm",
        "--tier",
        "optimized",
        "examples/saxpy.kern",
    ]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("kern$entry"));
}

/// `KERN_LLVM_TIMES` reports each LLVM compile on stderr, one line each with the
/// unit's root function and where the time went; the program's output is as
/// without it.
#[cfg(feature = "llvm")]
#[test]
fn kern_llvm_times_reports_each_llvm_compile() {
    let run = |times: bool| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_kern"));
        command
            .args([
                "run",
                "--tier",
                "optimized",
                "examples/midpoint_integration.kern",
            ])
            .current_dir(root());
        if times {
            command.env("KERN_LLVM_TIMES", "1");
        } else {
            command.env_remove("KERN_LLVM_TIMES");
        }
        command.output().expect("kern runs")
    };
    let (plain, timed) = (run(false), run(true));
    assert!(timed.status.success(), "{}", text(&timed.stderr));
    assert_eq!(plain.stdout, timed.stdout);
    let stderr = text(&timed.stderr);
    let line = stderr
        .lines()
        .find(|l| l.starts_with("llvm: integrate (on call) "))
        .unwrap_or_else(|| panic!("no report of `integrate`:\n{stderr}"));
    for part in ["ms (cpu ", "lower ", "optimise ", "machine code "] {
        assert!(line.contains(part), "{line}");
    }
    assert!(!text(&plain.stderr).contains("llvm:"));
}

/// With the `cuda` feature, `--target cuda` runs the ufuncs on the GPU, or — on a
/// machine without a driver or device — stops with an error saying what is
/// missing (never a panic).
#[cfg(feature = "cuda")]
#[test]
fn the_cuda_target_runs_or_says_what_is_missing() {
    let output = kern(&["run", "--target", "cuda", "examples/discriminant.kern"]);
    let stderr = text(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    if output.status.success() {
        let expected =
            std::fs::read_to_string(root().join("tests/fixtures/examples/discriminant.stdout"))
                .unwrap();
        assert_eq!(text(&output.stdout), expected);
    } else {
        assert_eq!(output.status.code(), Some(1));
        assert!(
            stderr.contains("NVIDIA driver")
                || stderr.contains("CUDA device")
                || stderr.contains("CUDA driver call"),
            "{stderr}"
        );
        eprintln!("skipped the GPU run: {stderr}");
    }
}

#[test]
fn time_flag_reports_every_phase_on_stderr() {
    let output = kern(&["run", "--time", "examples/hello.kern"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    for phase in [
        "stdlib",
        "parse",
        "check",
        "compile",
        "run",
        "first compiled call",
    ] {
        assert!(stderr.contains(&format!("{phase} ")), "{stderr}");
    }
    assert!(!stderr.contains("mpi start"), "{stderr}");
    assert!(text(&output.stdout).starts_with("Hello, world from kern!"));
}

#[test]
fn time_flag_reports_mpi_start_apart_from_the_run() {
    // A program that uses `mpi::` starts MPI before `main` runs.
    let output = kern(&["run", "--time", "examples/mpi_hello_world.kern"]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stderr = text(&output.stderr);
    let start = stderr.find(", mpi start ").expect("an `mpi start` phase");
    let run = stderr.find(", run ").expect("a `run` phase");
    assert!(start < run, "{stderr}");
}

#[test]
fn emit_shows_ast_ir_and_annotated_clif() {
    let ast = kern(&["emit", "--ast", "examples/sum_primes.kern"]);
    assert!(ast.status.success(), "{}", text(&ast.stderr));
    assert!(text(&ast.stdout).contains("fn is_prime"));

    let ir = kern(&[
        "emit",
        "--ir",
        "examples/sum_primes.kern",
        "--fn",
        "is_prime",
    ]);
    assert!(ir.status.success(), "{}", text(&ir.stderr));
    assert!(text(&ir.stdout).contains("fn is_prime(l0: i64) -> bool"));

    let clif = kern(&[
        "emit",
        "--clif",
        "examples/sum_primes.kern",
        "--fn",
        "is_prime",
    ]);
    assert!(clif.status.success(), "{}", text(&clif.stderr));
    let clif = text(&clif.stdout);
    assert!(clif.contains("function"), "{clif}");
    assert!(
        clif.contains("sum_primes.kern:"),
        "CLIF is annotated with source lines: {clif}"
    );

    let asm = kern(&[
        "emit",
        "--asm",
        "examples/sum_primes.kern",
        "--fn",
        "is_prime",
    ]);
    assert!(asm.status.success(), "{}", text(&asm.stderr));
    // `n % i`: the 32-bit `div` of the narrow path.
    assert!(text(&asm.stdout).contains("divl"), "{}", text(&asm.stdout));

    let missing = kern(&["emit", "--ir", "examples/sum_primes.kern", "--fn", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
}

#[test]
fn emit_shows_the_generated_loop_of_a_ufunc() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("u.kern");
    std::fs::write(
        &file,
        "#[vectorize]\nfn twice<T: Float>(x: T) -> T { x * 2.0 }\n",
    )
    .unwrap();
    let ir = kern(&["emit", "--ir", file.to_str().unwrap()]);
    assert!(ir.status.success(), "{}", text(&ir.stderr));
    let ir = text(&ir.stdout);
    assert!(ir.contains("elementwise"), "{ir}");
    assert!(ir.contains("twice<f64>[f64->f64].loop"), "{ir}");
    let clif = kern(&["emit", "--clif", file.to_str().unwrap(), "--fn", "twice"]);
    assert!(clif.status.success(), "{}", text(&clif.stderr));
    assert!(
        text(&clif.stdout).contains("fmul"),
        "{}",
        text(&clif.stdout)
    );
}
#[test]
fn emit_shows_the_generated_loop_of_a_gufunc_and_leaves_out_array_host_code() {
    let ir = kern(&["emit", "--ir", "examples/matmul.kern"]);
    assert!(ir.status.success(), "{}", text(&ir.stderr));
    let ir = text(&ir.stdout);
    // The body as written, then the loop the runtime runs over the loop axis.
    assert!(
        ir.contains("gufunc \"(M,N),(N,P)->(M,P)\" fn matmul("),
        "{ir}"
    );
    assert!(ir.contains("matmul[f64,f64->f64].loop"), "{ir}");

    // `main` works on host arrays, so it has no CLIF: the listing leaves it out
    // and shows the body and the loop; `--fn main` says why.
    let clif = kern(&["emit", "--clif", "examples/matmul.kern"]);
    assert!(clif.status.success(), "{}", text(&clif.stderr));
    let functions = text(&clif.stdout)
        .lines()
        .filter(|l| l.starts_with("function "))
        .count();
    assert_eq!(functions, 2, "{}", text(&clif.stdout));
    let main = kern(&["emit", "--clif", "examples/matmul.kern", "--fn", "main"]);
    assert!(!main.status.success());
    assert!(
        text(&main.stderr).contains("host arrays"),
        "{}",
        text(&main.stderr)
    );
}

/// `save` then `load` of every numeric dtype, run in a fresh directory so the
/// files it writes land there.
#[test]
fn host_arrays_round_trip_through_npy_files() {
    let dir = std::env::temp_dir().join(format!("kern-host-npy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let program = r#"
fn main() {
    let a: Array<f32> = linspace(0.0, 1.0, 5);
    save("a.npy", &a);
    let b: Array<f32> = load("a.npy");
    assert_eq!(a.sum(), b.sum());
    let m: Array<i16> = arange(-3, 3);
    let m = m.reshape([2, 3]);
    save("m.npy", &m);
    let back: Array<i16> = load("m.npy");
    println!("{} {}", b, back);
    let u: Array<u8> = full([2, 2], 255u8);
    save("u.npy", &u);
    let u2: Array<u8> = load("u.npy");
    let f: Array<bool> = ones(2);
    save("f.npy", &f);
    let f2: Array<bool> = load("f.npy");
    let w: Array<u64> = arange(0u64, 3u64);
    save("w.npy", &w);
    let w2: Array<u64> = load("w.npy");
    println!("{} {} {}", u2, f2, w2);
    let wrong: Array<f64> = load("m.npy");
}
"#;
    std::fs::write(dir.join("roundtrip.kern"), program).expect("write program");
    let output = Command::new(env!("CARGO_BIN_EXE_kern"))
        .args(["run", "roundtrip.kern"])
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the kern binary runs");
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        text(&output.stdout),
        "[0.   0.25 0.5  0.75 1.  ] [[-3 -2 -1]\n [ 0  1  2]]\n[[255 255]\n [255 255]] [ True  True] [0 1 2]\n"
    );
    assert_eq!(output.status.code(), Some(1));
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(
            "cannot load `m.npy` as an `Array<f64>`: the file holds an array of dtype i16"
        ),
        "{stderr}"
    );
}

#[cfg(feature = "cuda")]
#[test]
fn emit_ptx_and_llvm_show_the_gpu_kernels() {
    let ptx = kern(&["emit", "--ptx", "examples/saxpy.kern"]);
    assert!(ptx.status.success(), "{}", text(&ptx.stderr));
    let ptx = text(&ptx.stdout);
    assert!(ptx.contains(".target sm_80"), "{ptx}");
    // The plain function as a 1-thread kernel and the ufunc's grid-stride loop;
    // `main` is host code and is left out.
    assert!(ptx.contains(".entry saxpy("), "{ptx}");
    assert!(ptx.contains("_loop("), "{ptx}");
    assert!(ptx.contains("%nctaid.x"), "{ptx}");

    let llvm = kern(&["emit", "--llvm", "examples/saxpy.kern", "--fn", "saxpy"]);
    assert!(llvm.status.success(), "{}", text(&llvm.stderr));
    assert!(text(&llvm.stdout).contains("target triple = \"nvptx64-nvidia-cuda\""));

    // A gufunc is shown with its loop kernel too.
    let ptx = kern(&["emit", "--ptx", "examples/matmul.kern"]);
    assert!(ptx.status.success(), "{}", text(&ptx.stderr));
    let ptx = text(&ptx.stdout);
    assert!(ptx.contains(".entry matmul("), "{ptx}");
    assert!(ptx.contains(".entry matmul_f64_f64__f64__loop("), "{ptx}");
}

#[cfg(feature = "cuda")]
#[test]
fn emit_ptx_of_a_print_is_a_diagnostic_at_the_print() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.kern");
    std::fs::write(
        &file,
        "fn f(x: f64) -> f64 {\n    println!(\"{}\", x);\n    x\n}\n",
    )
    .unwrap();
    let out = kern(&["emit", "--ptx", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("`println!` cannot run on the GPU"),
        "{stderr}"
    );
    assert!(stderr.contains("p.kern:2:5"), "{stderr}");
}

#[cfg(not(feature = "cuda"))]
#[test]
fn emit_ptx_without_the_cuda_feature_says_how_to_get_it() {
    for form in ["--ptx", "--llvm"] {
        let out = kern(&["emit", form, "examples/saxpy.kern"]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(stderr.contains("--features cuda"), "{stderr}");
        assert!(stderr.contains("llvm-19-dev"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// `KERN_NUM_THREADS` sizes the `parallel` target's pool: a value that is not a
/// number of threads from 1 to 1024 is a clear error when the pool starts, never
/// silently ignored nor a minute spent starting four billion threads.
#[test]
fn a_bad_kern_num_threads_is_an_error_naming_it() {
    let file = "tests/fixtures/run/host_ufuncs.kern";
    for value in ["0", "-1", "", "abc", "4294967297", "1025"] {
        let started = std::time::Instant::now();
        let output = Command::new(env!("CARGO_BIN_EXE_kern"))
            .args(["run", "--target", "parallel", file])
            .current_dir(root())
            .env("NO_COLOR", "1")
            .env("KERN_NUM_THREADS", value)
            .output()
            .expect("the kern binary runs");
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{value:?}: {stderr}");
        assert!(
            stderr.contains(&format!(
                "KERN_NUM_THREADS must be a number of threads from 1 to 1024, not `{value}`"
            )),
            "{value:?}: {stderr}"
        );
        assert!(!stderr.contains("error: error"), "{stderr}");
        assert!(started.elapsed().as_secs() < 10, "{value:?}");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_kern"))
        .args(["run", "--target", "parallel", file])
        .current_dir(root())
        .env("KERN_NUM_THREADS", " 3 ")
        .output()
        .expect("the kern binary runs");
    assert!(output.status.success(), "{}", text(&output.stderr));
}

/// Output that cannot be written (a full device, a pipe nobody reads, a standard
/// output closed with `>&-`) is an error naming the write, exit 1: from host
/// code's prints, from a compiled function's, and from a `print!` still buffered
/// when the program ends.
#[cfg(unix)]
#[test]
fn lost_output_is_an_error_naming_the_write() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let programs = [
        ("host", "fn main() {\n    println!(\"hello\");\n}\n", "cannot write the output of `print!`/`println!`"),
        (
            "compiled",
            "fn hello(x: i64) -> i64 {\n    println!(\"hello {}\", x);\n    x\n}\n\nfn main() {\n    let y = hello(1);\n}\n",
            "cannot write the output of `print!`/`println!`",
        ),
        ("buffered", "fn main() {\n    print!(\"no newline\");\n}\n", "cannot write"),
    ];
    for (name, source, message) in programs {
        let file = dir.path().join(format!("{name}.kern"));
        std::fs::write(&file, source).expect("write the program");
        for redirect in ["a full device", "a closed pipe", "a closed descriptor"] {
            let mut kern = Command::new(env!("CARGO_BIN_EXE_kern"));
            kern.arg("run").arg(&file).env("NO_COLOR", "1");
            match redirect {
                "a full device" => {
                    let full = std::fs::OpenOptions::new().write(true).open("/dev/full");
                    kern.stdout(full.expect("/dev/full opens"));
                }
                "a closed pipe" => {
                    let (reader, writer) = std::io::pipe().expect("a pipe");
                    drop(reader);
                    kern.stdout(writer);
                }
                _ => {
                    // `kern run prog.kern >&-`: descriptor 1 is not open at all.
                    use std::os::unix::process::CommandExt;
                    // SAFETY: close(2) is async-signal-safe, as pre_exec requires.
                    unsafe {
                        kern.pre_exec(|| {
                            libc::close(1);
                            Ok(())
                        });
                    }
                }
            }
            let output = kern
                .stderr(std::process::Stdio::piped())
                .output()
                .expect("kern runs");
            let stderr = text(&output.stderr);
            assert_eq!(output.status.code(), Some(1), "{name} {redirect}: {stderr}");
            assert!(stderr.contains(message), "{name} {redirect}: {stderr}");
            assert!(
                !stderr.contains("cannot read") && !stderr.contains("Error: error"),
                "{name} {redirect}: {stderr}"
            );
            if name != "buffered" {
                assert!(
                    stderr.contains(&format!("{name}.kern:")),
                    "{name} {redirect}: {stderr}"
                );
            }
        }
    }
}

/// Started by a launcher as one of two processes (the environment `mpirun -n 2`
/// gives rank 0), a build without the `mpi` feature warns that each process runs
/// alone, and still runs; a build with it says nothing.
#[test]
fn a_launched_build_without_the_mpi_feature_warns_once() {
    let out = Command::new(env!("CARGO_BIN_EXE_kern"))
        .args(["run", "examples/hello.kern"])
        .current_dir(root())
        .env("NO_COLOR", "1")
        .env("OMPI_COMM_WORLD_RANK", "0")
        .env("OMPI_COMM_WORLD_SIZE", "2")
        .output()
        .expect("the kern binary runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let expected = std::fs::read_to_string(root().join("tests/fixtures/examples/hello.stdout"))
        .expect("the hello fixture");
    assert_eq!(text(&out.stdout), expected);
    if cfg!(feature = "mpi") {
        assert_eq!(stderr, "");
    } else {
        assert!(
            stderr.starts_with("warning: a launcher started 2 processes")
                && stderr.contains("--features mpi")
                && stderr.lines().count() == 1,
            "{stderr}"
        );
    }
}
