//! Targets a kernel can run on. Whether this build and machine provide one is
//! `exec`'s to say (`Target::check_available`, in `exec/dispatch.rs`): this file
//! knows names only.

use crate::named::named_choice;

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

named_choice!(Target, "target", {
    Cpu => "cpu",
    Parallel => "parallel",
    Cuda => "cuda",
    Mpi => "mpi",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_by_name_and_print_back_and_an_unknown_name_lists_them_all() {
        for target in [Target::Cpu, Target::Parallel, Target::Cuda, Target::Mpi] {
            assert_eq!(target.name().parse::<Target>(), Ok(target));
            assert_eq!(format!("{target:>9}"), format!("{:>9}", target.name()));
        }
        assert_eq!(
            "tpu".parse::<Target>(),
            Err("unknown target `tpu` (expected one of: cpu, parallel, cuda, mpi)".to_string())
        );
    }
}
