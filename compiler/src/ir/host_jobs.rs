//! Job-server operations of host code: what `HostOp::Jobs` does in `fn main`.
//!
//! Host code reaches the runtime's job server through a handful of `jobs::`
//! builtins. The server itself is the host environment's (one per run of `main`,
//! started on first use with one worker per hardware thread); the IR only names
//! the operation. Like every host op, none is compiled: `main` is interpreted.

use super::FuncId;

/// One job-server operation.
#[derive(Clone, Debug, PartialEq)]
pub enum JobsOp {
    /// `jobs::map(f, &a, &b, ..)`: args are the host arrays (one shape, the element
    /// types of `f`'s parameters) → dest, an array of that shape of `f`'s return
    /// type whose element `i` is `f(a[i], b[i], ..)`. One job per element, run on
    /// the server's workers; `print!` output of the jobs appears in element order,
    /// and the first element (in order) whose call traps is the op's trap.
    Map { func: FuncId },
    /// `jobs::set_workers(n)`: the `i64` count (below 1 traps).
    SetWorkers,
    /// `jobs::workers()` → result (`i64`): the current worker count.
    Workers,
    /// `jobs::print_stats()`: the server's statistics, on stderr (timings are not
    /// program output, so stdout stays deterministic).
    PrintStats,
}

impl JobsOp {
    /// The name `kern emit --ir` prints.
    pub fn name(&self) -> String {
        match self {
            JobsOp::Map { func } => format!("jobs::map f{}", func.0),
            JobsOp::SetWorkers => "jobs::set_workers".into(),
            JobsOp::Workers => "jobs::workers".into(),
            JobsOp::PrintStats => "jobs::print_stats".into(),
        }
    }

    /// The function the op runs, if any (so callers compile it first).
    pub fn callee(&self) -> Option<FuncId> {
        match self {
            JobsOp::Map { func } => Some(*func),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ir::{print, HostOp, JobsOp};

    const PROGRAM: &str = "fn square(x: i64) -> i64 { x * x }\n\
        fn main() { jobs::set_workers(2); let y = jobs::map(square, &arange(1, 4)); \
        println!(\"{} {}\", y.sum(), jobs::workers()); jobs::print_stats(); }";

    #[test]
    fn jobs_builtins_lower_to_jobs_host_ops_that_name_their_function() {
        let (compiled, _) =
            crate::frontend::compile_text("jobs.kern", PROGRAM).unwrap_or_else(|e| panic!("{e}"));
        let main = compiled.program.function(compiled.functions["main"]);
        let ops: Vec<&JobsOp> = crate::test_support::host_ops(main)
            .into_iter()
            .filter_map(|op| match op {
                HostOp::Jobs(op) => Some(op),
                _ => None,
            })
            .collect();
        let square = compiled.functions["square"];
        assert_eq!(
            ops,
            vec![
                &JobsOp::SetWorkers,
                &JobsOp::Map { func: square },
                &JobsOp::Workers,
                &JobsOp::PrintStats
            ]
        );
        assert!(
            main.callees().contains(&square),
            "compiled before main runs"
        );
        let text = print::print_function(&compiled.program, main);
        assert!(
            text.contains(&format!("host jobs::map f{}(", square.0)),
            "{text}"
        );
    }
}
