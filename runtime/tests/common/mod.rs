//! What the runtime's integration tests share: for the multi-rank tests, a
//! test that runs one child test of its own binary under `mpirun -n N`
//! ([`run_ranks`]) and the child's side ([`child_world`]); and this process's
//! peak memory during a run ([`peak_of`]).
//!
//! MPI can be initialised once per process and the test harness runs tests as
//! threads, so a multi-rank test starts its test binary again under `mpirun`,
//! running only one child test with `KERN_MPI_CHILD` set; outside that, the
//! child tests return at once.
#![allow(dead_code)]

use std::process::Command;

pub const CHILD: &str = "KERN_MPI_CHILD";
/// A folder all ranks of a child job share.
pub const SHARED_DIR: &str = "KERN_MPI_SHARED_DIR";

/// Held while a test starts MPI jobs or MPI itself: one `mpirun` at a time
/// (each oversubscribes the machine's cores already), and never while this
/// process starts MPI as a singleton, which sets `OMPI_`/`PMIX_` variables in
/// the environment a job's command is being built from.
pub fn one_job() -> std::sync::MutexGuard<'static, ()> {
    static ONE_JOB: std::sync::Mutex<()> = std::sync::Mutex::new(());
    ONE_JOB.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs the child test `child` under `mpirun -n ranks`; `None` (after saying
/// why) when this machine has no `mpirun`.
pub fn run_ranks(ranks: usize, child: &str) -> Option<String> {
    run_ranks_with(ranks, child, &[])
}

/// [`run_ranks`] with the variables `env` set for every rank.
pub fn run_ranks_with(ranks: usize, child: &str, env: &[(&str, &str)]) -> Option<String> {
    let _job = one_job();
    let exe = std::env::current_exe().expect("the test binary's path");
    // A folder every rank shares, for files.
    let dir = std::env::temp_dir().join(format!("kern-mpi-{}-{ranks}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let mut command = Command::new("mpirun");
    // A singleton MPI started in this process (another test) leaves its own
    // OMPI_/PMIX_ settings in the environment; the job must not inherit them.
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().into_owned();
        if key.starts_with("OMPI_") || key.starts_with("PMIX_") {
            command.env_remove(key);
        }
    }
    let output = command
        // A rank that fails aborts the job; the timeout is the last resort.
        .args([
            "-n",
            &ranks.to_string(),
            "--oversubscribe",
            "--timeout",
            "300",
        ])
        .arg(exe)
        .args(["--exact", child, "--nocapture", "--test-threads=1"])
        .env(CHILD, "1")
        .env(SHARED_DIR, &dir)
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .env("OMPI_MCA_rmaps_base_oversubscribe", "1")
        .envs(env.iter().copied())
        .output();
    std::fs::remove_dir_all(&dir).ok();
    let output = match output {
        Ok(o) => o,
        Err(e) => {
            eprintln!("skipped: cannot start mpirun ({e}); install openmpi-bin");
            return None;
        }
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "mpirun -n {ranks} failed:\n{text}");
    Some(text)
}

/// Under `mpirun`: this rank's world, with a failed assertion on one rank
/// stopping all of them instead of leaving the others waiting in a collective.
/// `None` outside `mpirun` (see the module docs).
pub fn child_world() -> Option<&'static kern_runtime::exec::mpi::World> {
    std::env::var_os(CHILD)?;
    let world = kern_runtime::exec::mpi::world().expect("MPI starts");
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        report(info);
        kern_runtime::exec::mpi::abort_job(101);
    }));
    Some(world)
}

/// This process's resident memory: now, and at its peak since the last reset.
pub fn resident() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| -> u64 {
        let line = status.lines().find(|l| l.starts_with(name)).unwrap();
        let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
        kb << 10
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// The most memory `run` took above what the process held before it.
pub fn peak_of(run: impl FnOnce()) -> u64 {
    // Writing 5 resets the peak (VmHWM) to what is resident now.
    std::fs::write("/proc/self/clear_refs", "5").unwrap();
    let (before, _) = resident();
    run();
    resident().1.saturating_sub(before)
}
