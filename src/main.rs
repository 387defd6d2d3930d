//! The `kern` command line: `run`, `check` and `emit` over `.kern` files.
//!
//! Exit status: 0 on success, 1 on any user-facing error (the diagnostic goes to
//! stderr, nothing result-like to stdout), 2 on bad usage (clap's own exit code).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use kern::{Error, LoopForm, Module, Target, Tier};

mod closed_stdout;

/// Host programs free an array result and ask for another of the same size in a
/// loop; keeping the freed block spares the fresh pages' faults and zeroing
/// (docs/language.md, "Memory").
#[global_allocator]
static ALLOCATOR: kern::RetainingAllocator = kern::RetainingAllocator::new();

#[derive(Parser)]
#[command(name = "kern", version, about = "JIT compiler for numeric kernels")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile a .kern file and run its `fn main()`.
    Run {
        file: PathBuf,
        /// Target for every kernel in the file: cpu, parallel, cuda or mpi.
        #[arg(long, default_value = "cpu")]
        target: Target,
        /// Print parse, check, compile, MPI start-up and run times to stderr.
        #[arg(long)]
        time: bool,
        /// Compiler of the CPU targets' code: baseline (Cranelift), optimized
        /// (LLVM -O3; a build with `--features llvm`) or auto. Default: the
        /// KERN_TIER environment variable, else baseline.
        #[arg(long)]
        tier: Option<Tier>,
    },
    /// Parse and type-check a .kern file without running it.
    Check { file: PathBuf },
    /// Print an intermediate form of a .kern file.
    Emit(EmitArgs),
}

#[derive(Args)]
#[group(required = true, multiple = false, id = "form")]
struct EmitForm {
    /// The parsed syntax tree (fully parenthesised).
    #[arg(long)]
    ast: bool,
    /// kern IR after lowering and optimisation.
    #[arg(long)]
    ir: bool,
    /// Cranelift IR, annotated with the source lines it came from.
    #[arg(long)]
    clif: bool,
    /// The machine code Cranelift generates (disassembly).
    #[arg(long)]
    asm: bool,
    /// LLVM IR of the GPU kernels (`--features cuda`), or with `--target cpu`
    /// the optimized tier's LLVM IR for this CPU (`--features llvm`).
    #[arg(long)]
    llvm: bool,
    /// PTX of the GPU kernels (needs a build with `--features cuda`).
    #[arg(long)]
    ptx: bool,
}

#[derive(Args)]
struct EmitArgs {
    #[command(flatten)]
    form: EmitForm,
    file: PathBuf,
    /// Only this function (default: every user function).
    #[arg(long = "fn", value_name = "NAME")]
    function: Option<String>,
    /// With `--llvm`: cuda (the GPU kernels, the default) or cpu (the optimized
    /// tier's module).
    #[arg(long)]
    target: Option<Target>,
    /// With `--asm`: whose machine code, baseline (Cranelift) or optimized
    /// (LLVM). Default: KERN_TIER, else baseline.
    #[arg(long)]
    tier: Option<Tier>,
}

fn main() -> ExitCode {
    let started = std::time::Instant::now();
    let cli = Cli::parse();
    let mut out = closed_stdout::stdout();
    let result = match cli.command {
        Command::Run {
            file,
            target,
            time,
            tier,
        } => run(&file, target, tier, time.then_some(started), &mut out),
        Command::Check { file } => Module::load(&file).map(|_| ()),
        Command::Emit(args) => emit(&args, &mut out),
    };
    // Output still buffered (a `print!` without a newline) can fail here too.
    let flushed = out.flush().map_err(|source| Error::Write {
        what: "to standard output".into(),
        source,
    });
    let result = result.and(flushed);
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One write, so that the diagnostics of several ranks do not
            // interleave mid-line; with several ranks it says which one failed.
            let mut text = match several_ranks() {
                Some((rank, size)) => format!("MPI rank {rank} of {size} failed:\n{error}"),
                None => error.to_string(),
            };
            if !text.ends_with('\n') {
                text.push('\n');
            }
            write_stderr(&text);
            // Other ranks may be waiting for this one in a collective it will
            // never join: MPI_Abort ends them all (alone, this just exits).
            kern_runtime::exec::mpi::abort_job(1)
        }
    };
    // Every rank finalises MPI (a no-op unless `main` started it) once `main` is
    // over, so that `mpirun` sees all of them end.
    kern_runtime::exec::mpi::finalize();
    code
}

/// This process's rank and the number of ranks, when MPI is up with several.
fn several_ranks() -> Option<(usize, usize)> {
    kern_runtime::exec::mpi::opened_world()
        .filter(|w| w.size() > 1)
        .map(|w| (w.rank(), w.size()))
}

/// Writes `text` to stderr in one call (lines of a whole message stay together
/// when several processes share the stream, as under `mpirun`).
fn write_stderr(text: &str) {
    let _ = std::io::stderr().lock().write_all(text.as_bytes());
}

fn run(
    file: &Path,
    target: Target,
    tier: Option<Tier>,
    time: Option<std::time::Instant>,
    out: &mut dyn Write,
) -> Result<(), Error> {
    // A build without the `mpi` feature started by `mpirun -n N` runs N copies
    // of rank 0 of 1: say so instead of silently doing the work N times.
    if let Some(warning) =
        kern_runtime::exec::mpi::launcher::missing_feature_warning(cfg!(feature = "mpi"))
    {
        write_stderr(&warning);
    }
    target.check_available()?;
    if let Some(tier) = tier {
        tier.check_available()?;
    }
    let mut module = Module::load(file)?;
    if let Some(tier) = tier {
        module.set_tier(tier)?;
    }
    // Long `jobs::map` batches show a progress bar, on a terminal only.
    kern::jobs::progress::set_enabled(true);
    let result = module.run_main(target, out);
    let _ = out.flush();
    if let Some(started) = time {
        let t = module.timings();
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
        let who = match several_ranks() {
            Some((rank, size)) => format!(" (rank {rank} of {size})"),
            None => String::new(),
        };
        // MPI's start-up, when the run made it, is a phase of its own.
        let mpi_start = match t.mpi_start {
            Some(d) => format!(", mpi start {:.3} ms", ms(d)),
            None => String::new(),
        };
        // From the start of `main` (process start-up before it is not seen) to
        // the first entry into compiled code, whatever host code ran before it.
        let first_call = match kern_compiler::backend::cranelift::compiled::first_entry() {
            Some(at) => format!(", first compiled call {:.3} ms", ms(at - started)),
            None => String::new(),
        };
        write_stderr(&format!(
            "time{who}: stdlib {:.3} ms, parse {:.3} ms, check {:.3} ms, compile {:.3} ms{mpi_start}, run {:.3} ms{first_call}\n",
            ms(t.stdlib),
            ms(t.parse),
            ms(t.check),
            ms(t.compile),
            ms(t.run)
        ));
    }
    result
}

fn emit(args: &EmitArgs, out: &mut dyn Write) -> Result<(), Error> {
    let write = |out: &mut dyn Write, text: &str| {
        out.write_all(text.as_bytes())
            .map_err(|source| Error::Write {
                what: "to standard output".into(),
                source,
            })
    };
    if args.form.ast {
        let text = std::fs::read_to_string(&args.file).map_err(|source| Error::Io {
            path: args.file.display().to_string(),
            source,
        })?;
        let mut sources = kern::compiler::SourceMap::new();
        let file = sources.add(args.file.display().to_string(), text.clone());
        let unit = kern::compiler::syntax::parse(file, &text)
            .map_err(|diagnostics| Error::compile(diagnostics, &sources))?;
        return write(out, &kern::compiler::syntax::pretty_print(&unit));
    }
    let mut module = Module::load(&args.file)?;
    if let Some(tier) = args.tier {
        module.set_tier(tier)?;
    }
    let host_llvm = args.form.llvm && args.target.is_some_and(|t| t != Target::Cuda);
    let ufuncs = module.ufunc_names();
    let gufuncs = module.gufunc_names();
    let names: Vec<String> = match &args.function {
        Some(name) => vec![name.clone()],
        None => {
            let mut names = module.user_function_names();
            // Generic ufuncs have no function of their own, only loops.
            names.extend(
                ufuncs
                    .iter()
                    .filter(|u| !names.contains(u))
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            names
        }
    };
    let form = if args.form.ir {
        LoopForm::Ir
    } else if args.form.asm && module.tier() == Tier::Optimized {
        LoopForm::HostAsm
    } else if args.form.asm {
        LoopForm::Asm
    } else if host_llvm {
        LoopForm::HostLlvm
    } else if args.form.llvm {
        LoopForm::Llvm
    } else if args.form.ptx {
        LoopForm::Ptx
    } else {
        LoopForm::Clif
    };
    let gpu = matches!(form, LoopForm::Llvm | LoopForm::Ptx);
    for name in names {
        // Host code never runs on the GPU; name it with `--fn` to see why.
        if gpu && name == "main" && args.function.is_none() {
            continue;
        }
        if !ufuncs.contains(&name) || module.function_id(&name).is_ok() {
            let text = match form {
                LoopForm::Ir => {
                    let id = module.function_id(&name)?;
                    let program = module.program();
                    Ok(kern::compiler::ir::print::print_function(
                        program,
                        program.function(id),
                    ))
                }
                LoopForm::Asm | LoopForm::HostAsm => module.emit_asm(&name),
                LoopForm::Clif => module.emit_clif(&name),
                LoopForm::HostLlvm => module.emit_host_llvm(&name),
                LoopForm::Llvm => module.emit_llvm(&name),
                LoopForm::Ptx => module.emit_ptx(&name),
            };
            let text = match text {
                // Host code that works on arrays is interpreted, never compiled:
                // leave it out of a whole-file listing (`--fn main` shows why).
                Err(_) if name == "main" && args.function.is_none() => continue,
                other => other?,
            };
            write(out, &text)?;
            write(out, "\n")?;
        }
        // A ufunc or gufunc is also shown as the loop the runtime runs for it.
        if ufuncs.contains(&name) {
            write(out, &module.ufunc(&name)?.emit_loop(form)?)?;
            write(out, "\n")?;
        }
        if gufuncs.contains(&name) {
            write(out, &module.gufunc(&name)?.emit_loop(form)?)?;
            write(out, "\n")?;
        }
    }
    Ok(())
}
