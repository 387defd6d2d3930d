//! The scheduling class of the `auto` tier's background compiles: each compile
//! runs in Linux's `SCHED_IDLE` class, so it only takes a core no other thread
//! wants and never slows the calls that run beside it; a compile that has waited
//! that way for [`STARVED`] (the machine busy with other work) goes back to the
//! default class until it ends, so LLVM's code still arrives.
//!
//! Why not a nice value: the scheduler places a waking thread on an idle core,
//! and it counts a core that runs only `SCHED_IDLE` threads as idle, but not one
//! that runs a nice-19 thread. A `parallel` call's worker that woke on the
//! compile's core then shared it with LLVM, and the call waited for its slower
//! half (docs/tiers.md, the figures).
//!
//! Leaving the idle class needs root, `CAP_SYS_NICE` or an `RLIMIT_NICE` of 20
//! or more (Linux treats `SCHED_IDLE` as nice 20). Without that right a starved
//! compile stays idle: its code arrives when a core is free, and the calls keep
//! the baseline's code meanwhile.
//!
//! A thread allowed on one CPU only (an MPI rank bound to its core, a container
//! of one CPU) has no other core to wait for: whatever it waited for in the idle
//! class would be its own caller's pauses, and an MPI rank's pauses are its
//! waits for the other ranks, which its compile then prolongs. Such a compile
//! runs in the default class from its start and shares the one core at once.
//!
//! It knows threads and the clock; it must not know what is compiled. Elsewhere
//! than on Linux every operation does nothing.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A compile in the idle class this long (wall clock; an LLVM compile takes tens
/// of milliseconds of CPU) is starved: it goes back to the default class.
pub const STARVED: Duration = Duration::from_secs(1);

/// The compile running now: since when, whether it runs in the default class
/// (put back there, or there from its start), and whether its thread may run
/// on one CPU only (it then never enters the idle class).
struct Running {
    since: Instant,
    promoted: bool,
    one_cpu: bool,
}

/// The background thread (its kernel id, 0 before its first compile) and its
/// compile, for any thread to check on.
#[derive(Default)]
pub struct IdleClass {
    state: Mutex<(i32, Option<Running>)>,
}

/// Whether the class of `thread` (a kernel thread id, 0: the calling one) is
/// now `SCHED_IDLE`; false where there is none.
#[cfg(test)]
pub fn is_idle(thread: i32) -> bool {
    #[cfg(target_os = "linux")]
    // SAFETY: reads the policy of a thread of this process.
    return unsafe { libc::sched_getscheduler(thread) } == libc::SCHED_IDLE;
    #[cfg(not(target_os = "linux"))]
    false
}

/// Puts `thread` (0: the calling one) in the idle class or back in the default
/// one; whether it could (see the module's docs for leaving the idle class).
fn set_idle(thread: i32, idle: bool) -> bool {
    #[cfg(target_os = "linux")]
    {
        let policy = if idle {
            libc::SCHED_IDLE
        } else {
            libc::SCHED_OTHER
        };
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: `param` is a valid sched_param; `thread` is 0 or a thread of
        // this process. A failure leaves the class as it was.
        unsafe { libc::sched_setscheduler(thread, policy, &param) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = (thread, idle);
        false
    }
}

/// The calling thread's kernel id (0 where there is none).
fn this_thread() -> i32 {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid has no preconditions.
    return unsafe { libc::gettid() };
    #[cfg(not(target_os = "linux"))]
    0
}

/// How many CPUs the calling thread may run on (`None` where that is unknown).
fn cpus_allowed() -> Option<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: an all-zero cpu_set_t is a valid empty set, and
        // sched_getaffinity writes at most its size into it.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        let size = std::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: as above; 0 is the calling thread.
        if unsafe { libc::sched_getaffinity(0, size, &mut set) } != 0 {
            return None;
        }
        // SAFETY: `set` is a valid set.
        usize::try_from(unsafe { libc::CPU_COUNT(&set) }).ok()
    }
    #[cfg(not(target_os = "linux"))]
    None
}

impl IdleClass {
    /// The calling thread starts a compile: in the idle class, unless it may
    /// run on one CPU only (then it is promoted at once; see the module's docs).
    pub fn start(&self) {
        let one_cpu = cpus_allowed() == Some(1);
        if !one_cpu {
            let _ = set_idle(0, true);
        }
        if let Ok(mut state) = self.state.lock() {
            *state = (
                this_thread(),
                Some(Running {
                    since: Instant::now(),
                    promoted: one_cpu,
                    one_cpu,
                }),
            );
        }
    }

    /// The calling thread's compile has ended; the thread waits for the next
    /// one in the idle class (in the default one if it may run on one CPU only).
    pub fn end(&self) {
        if let Ok(mut state) = self.state.lock() {
            if state.1.take().is_some_and(|r| r.promoted && !r.one_cpu) {
                let _ = set_idle(0, true);
            }
        }
    }

    /// Puts the compile running now back in the default class if it has been
    /// running since before `now - STARVED`. Any thread may call it, often.
    pub fn check(&self, now: Instant) {
        if let Ok(mut state) = self.state.lock() {
            let thread = state.0;
            if let Some(r) = state.1.as_mut() {
                if !r.promoted && now.saturating_duration_since(r.since) >= STARVED {
                    // Tried once per compile: without the right to leave the
                    // idle class it stays there.
                    let _ = set_idle(thread, false);
                    r.promoted = true;
                }
            }
        }
    }

    /// The background thread, once it has started a compile, and whether a
    /// compile is running.
    #[cfg(test)]
    pub fn thread(&self) -> Option<(i32, bool)> {
        let state = self.state.lock().ok()?;
        (state.0 != 0).then_some((state.0, state.1.is_some()))
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    /// Whether a thread of this process may leave the idle class once in it.
    fn may_leave_the_idle_class() -> bool {
        std::thread::spawn(|| set_idle(0, true) && set_idle(0, false))
            .join()
            .unwrap_or(false)
    }

    #[test]
    fn a_compile_runs_idle_and_goes_back_to_the_default_class_once_starved() {
        std::thread::spawn(|| {
            let class = IdleClass::default();
            class.start();
            let (thread, running) = class.thread().expect("a compile started");
            assert!(running);
            assert!(is_idle(thread), "the compile runs in the idle class");
            class.check(Instant::now());
            assert!(is_idle(thread), "not starved yet");
            class.check(Instant::now() + STARVED);
            if may_leave_the_idle_class() {
                assert!(!is_idle(thread), "starved: the default class");
            } else {
                assert!(is_idle(thread), "not allowed out: still idle");
                eprintln!(
                    "skipped the starved compile's return to the default class: this \
                     process may not leave SCHED_IDLE (not root, no CAP_SYS_NICE, \
                     RLIMIT_NICE below 20)"
                );
            }
            class.end();
            assert!(is_idle(0), "the thread waits for the next compile idle");
            assert_eq!(class.thread(), Some((thread, false)));
        })
        .join()
        .expect("the checks hold");
    }

    #[test]
    fn a_compile_allowed_on_one_cpu_runs_in_the_default_class() {
        std::thread::spawn(|| {
            // This thread on the first CPU it may use, as `mpirun` binds a rank.
            // SAFETY: zeroed sets are valid; the calls read and write this
            // thread's affinity only.
            unsafe {
                let mut set: libc::cpu_set_t = std::mem::zeroed();
                let size = std::mem::size_of::<libc::cpu_set_t>();
                assert_eq!(libc::sched_getaffinity(0, size, &mut set), 0);
                let first = (0..libc::CPU_SETSIZE as usize)
                    .find(|&c| libc::CPU_ISSET(c, &set))
                    .expect("a CPU to run on");
                let mut one: libc::cpu_set_t = std::mem::zeroed();
                libc::CPU_SET(first, &mut one);
                assert_eq!(libc::sched_setaffinity(0, size, &one), 0);
            }
            assert_eq!(cpus_allowed(), Some(1));
            let class = IdleClass::default();
            class.start();
            assert!(!is_idle(0), "no other core to wait for: the default class");
            class.check(Instant::now() + STARVED);
            assert!(!is_idle(0));
            class.end();
            assert!(!is_idle(0), "and waits for the next compile there");
        })
        .join()
        .expect("the checks hold");
    }
}
