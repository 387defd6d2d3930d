//! Targets a kernel can run on, and whether this build and machine provide them.

use std::fmt;
use std::str::FromStr;

use crate::Error;

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

    /// `Ok` when this build can run code on the target.
    pub fn check_available(self) -> Result<(), Error> {
        match self {
            Target::Cpu | Target::Parallel => Ok(()),
            #[cfg(feature = "cuda")]
            Target::Cuda => crate::exec::cuda::gpu().map(|_| ()),
            #[cfg(not(feature = "cuda"))]
            Target::Cuda => Err(Error::TargetUnavailable(
                "the `cuda` target is not built in: rebuild kern with `--features cuda` \
                 (needs LLVM 14 development files, Debian package `llvm-14-dev`, and an NVIDIA driver at run time)"
                    .into(),
            )),
            #[cfg(feature = "mpi")]
            Target::Mpi => crate::exec::mpi::world().map(|_| ()),
            #[cfg(not(feature = "mpi"))]
            Target::Mpi => Err(Error::TargetUnavailable(
                "the `mpi` target is not built in: rebuild kern with `--features mpi` \
                 (needs an MPI implementation and libclang, Debian packages `libopenmpi-dev openmpi-bin libclang-dev`)"
                    .into(),
            )),
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
