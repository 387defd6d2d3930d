//! What the environment says about the job this process was started in: an MPI
//! launcher (`mpirun`, `mpiexec`, `srun --mpi`) tells each process its rank and
//! the job's size in environment variables before MPI is initialised. kern reads
//! them to warn when a build without the `mpi` feature was started as several
//! processes (each would run alone as rank 0 of 1, silently repeating the work)
//! and to label per-process output before MPI is up.
//!
//! It knows environment variables, not MPI itself or the world.

/// The rank and size variables of the launchers kern knows, in pairs: Open MPI,
/// then MPICH, Intel MPI and other PMI-based launchers, then MVAPICH.
const VARIABLES: [(&str, &str); 3] = [
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),
    ("PMI_RANK", "PMI_SIZE"),
    ("MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE"),
];

/// The rank of this process and the size of its job as a launcher set them,
/// if one did.
pub fn launched_as() -> Option<(usize, usize)> {
    launched_as_in(|name| std::env::var(name).ok())
}

/// [`launched_as`] over any environment (`var` looks a variable up).
fn launched_as_in(var: impl Fn(&str) -> Option<String>) -> Option<(usize, usize)> {
    VARIABLES.iter().find_map(|(rank, size)| {
        let rank = var(rank)?.trim().parse().ok()?;
        let size = var(size)?.trim().parse().ok()?;
        Some((rank, size))
    })
}

/// The warning for a build without the `mpi` feature started by a launcher as
/// a job of several processes; `None` when there is nothing to warn about (the
/// feature is built in, or there is no such job). Only the launcher's rank 0
/// gets the warning, so it is printed once.
pub fn missing_feature_warning(feature_built: bool) -> Option<String> {
    missing_feature_warning_in(feature_built, launched_as())
}

fn missing_feature_warning_in(
    feature_built: bool,
    launched: Option<(usize, usize)>,
) -> Option<String> {
    match launched {
        Some((0, size)) if size > 1 && !feature_built => Some(format!(
            "warning: a launcher started {size} processes of this program, but this kern was \
             built without the `mpi` feature: each process runs alone as rank 0 of 1, \
             repeating the same work; rebuild with `cargo build --release --features mpi`\n"
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_mpi_and_pmi_launchers_are_recognised() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        let ompi = env(&[("OMPI_COMM_WORLD_RANK", "1"), ("OMPI_COMM_WORLD_SIZE", "4")]);
        assert_eq!(launched_as_in(ompi), Some((1, 4)));
        let hydra = env(&[("PMI_RANK", "0"), ("PMI_SIZE", "2")]);
        assert_eq!(launched_as_in(hydra), Some((0, 2)));
        assert_eq!(launched_as_in(env(&[("PMI_RANK", "0")])), None);
        assert_eq!(launched_as_in(env(&[])), None);
    }

    #[test]
    fn only_a_featureless_build_in_a_job_of_several_warns_once() {
        let warning = missing_feature_warning_in(false, Some((0, 2))).unwrap();
        assert!(warning.contains("2 processes"), "{warning}");
        assert!(warning.contains("--features mpi"), "{warning}");
        assert_eq!(missing_feature_warning_in(false, Some((1, 2))), None);
        assert_eq!(missing_feature_warning_in(true, Some((0, 2))), None);
        assert_eq!(missing_feature_warning_in(false, Some((0, 1))), None);
        assert_eq!(missing_feature_warning_in(false, None), None);
    }
}
