//! Standard output closed when `kern` starts (`kern run prog.kern >&-`).
//!
//! The Rust runtime reopens a closed standard descriptor on `/dev/null` before
//! `main` runs, so every later write "succeeds" and a program's output would be
//! lost with exit 0. This module looks at descriptor 1 before the runtime does (a
//! constructor in `.init_array`, run by the dynamic loader) and, when it was
//! closed, gives `main` a writer whose every write fails with `EBADF`, so that
//! losing output is the same "cannot write" error (exit 1) as a full device or a
//! broken pipe. It knows nothing of what is written or of the commands.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static CLOSED_AT_START: AtomicBool = AtomicBool::new(false);

#[cfg(target_os = "linux")]
extern "C" fn look_at_stdout() {
    // SAFETY: F_GETFD only reads descriptor 1's flags; it fails with EBADF when
    // the descriptor is not open.
    if unsafe { libc::fcntl(libc::STDOUT_FILENO, libc::F_GETFD) } == -1 {
        CLOSED_AT_START.store(true, Ordering::Relaxed);
    }
}

#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static LOOK_AT_STDOUT: extern "C" fn() = look_at_stdout;

/// Whether standard output was closed when the process started.
pub fn was_closed() -> bool {
    CLOSED_AT_START.load(Ordering::Relaxed)
}

/// Standard output as it was handed to `kern`: the real one, or one that refuses
/// every write when it was closed.
pub fn stdout() -> Box<dyn Write> {
    if was_closed() {
        Box::new(Closed)
    } else {
        Box::new(io::stdout().lock())
    }
}

/// A closed descriptor: every write and flush fails as `write(2)` on it would.
struct Closed;

impl Write for Closed {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::from_raw_os_error(libc::EBADF))
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
