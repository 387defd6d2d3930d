//! Targets a kernel can run on. Whether this build and machine provide one is
//! `exec`'s to say (`Target::check_available`, in `exec/dispatch.rs`): this file
//! knows names only.

use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub enum Target {
    /// One thread, Cranelift machine code.
    #[default]
    Cpu,
    /// All cores (Cranelift + a thread pool). Scalar calls run as on `cpu`.
    Parallel,
    /// An NVIDIA GPU (needs the `cuda` feature).
    Cuda,
    /// Many MPI ranks (needs the `mpi` feature): a call's first axis is split
    /// across the ranks, each running its share on `parallel`, and the results are
    /// all-gathered so every rank holds the whole output.
    Mpi,
}

impl Target {
    pub fn name(self) -> &'static str {
        match self {
            Target::Cpu => "cpu",
            Target::Parallel => "parallel",
            Target::Cuda => "cuda",
            Target::Mpi => "mpi",
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for Target {
    type Err = String;

    fn from_str(s: &str) -> Result<Target, String> {
        match s {
            "cpu" => Ok(Target::Cpu),
            "parallel" => Ok(Target::Parallel),
            "cuda" => Ok(Target::Cuda),
            "mpi" => Ok(Target::Mpi),
            other => Err(format!(
                "unknown target `{other}` (expected one of: cpu, parallel, cuda, mpi)"
            )),
        }
    }
}
