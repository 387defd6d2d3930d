//! The error type of the public API: what can go wrong loading or running kern code.
//!
//! Its `Display` is exactly what the CLI prints (rendered diagnostics with file,
//! line, column and a caret), so Rust users and CLI users see the same text.

use kern_compiler::{Diagnostics, SourceMap};

/// What [`Error::Write`] names when the output of `print!`/`println!` is lost.
pub(crate) const PRINT_OUTPUT: &str = "the output of `print!`/`println!`";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Syntax or type errors in kern source.
    #[error("{rendered}")]
    Compile {
        diagnostics: Diagnostics,
        rendered: String,
    },
    /// A kernel stopped at run time (division by zero, index out of bounds, ...).
    #[error("{rendered}")]
    Kernel {
        trap: kern_compiler::ir::Trap,
        rendered: String,
    },
    /// The code generator could not compile a function (a compiler bug or a
    /// construct a backend does not support yet).
    #[error("error: code generation failed: {0}")]
    Backend(String),
    /// The target is not available in this build or on this machine.
    #[error("error: {0}")]
    TargetUnavailable(String),
    /// Wrong function name, arity or argument types in an API call.
    #[error("error: {0}")]
    Call(String),
    #[error("error: cannot read `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    /// Output could not be written (a full disk, a closed standard output).
    #[error("error: cannot write {what}: {source}")]
    Write {
        what: String,
        source: std::io::Error,
    },
}

/// An array that memory cannot hold, from a call of the API.
impl From<crate::array::AllocError> for Error {
    fn from(error: crate::array::AllocError) -> Error {
        Error::Call(error.to_string())
    }
}

impl Error {
    /// Wraps diagnostics, rendering them against the sources they point into.
    pub fn compile(diagnostics: Diagnostics, sources: &SourceMap) -> Error {
        let rendered = diagnostics.render(sources);
        Error::Compile {
            diagnostics,
            rendered,
        }
    }

    /// The message without the `error: ` that `Display` starts a plain message
    /// with: for wrapping into a diagnostic, which says "Error:" itself.
    pub fn message(&self) -> String {
        let text = self.to_string();
        match text.strip_prefix("error: ") {
            Some(rest) => rest.to_string(),
            None => text,
        }
    }

    pub(crate) fn kernel(trap: kern_compiler::ir::Trap, sources: &SourceMap) -> Error {
        let rendered = trap.to_diagnostic().render(sources);
        Error::Kernel { trap, rendered }
    }
}
