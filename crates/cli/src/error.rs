//! The command's errors and exit codes.

use std::fmt;

/// Exit code of a failure.
pub(crate) const EXIT_FAILURE: u8 = 1;
/// Exit code when some objects of a recursive operation failed.
pub(crate) const EXIT_PARTIAL: u8 = 3;
/// Exit code after Ctrl-C (128 + SIGINT, as shells report it).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// A failure, with the exit code it ends the process with.
#[derive(Debug)]
pub(crate) struct CliError {
    /// What went wrong (the whole error chain).
    pub(crate) message: String,
    /// The exit code.
    pub(crate) code: u8,
}

/// The command's result type.
pub(crate) type Result<T> = std::result::Result<T, CliError>;

impl CliError {
    /// A failure (exit code 1).
    pub(crate) fn failure(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: EXIT_FAILURE }
    }

    /// Some objects of a recursive operation failed (exit code 3); they were listed already.
    pub(crate) fn partial(failed: usize, total: usize) -> Self {
        Self { message: format!("{failed} of {total} objects failed"), code: EXIT_PARTIAL }
    }

    /// The command was stopped by Ctrl-C (exit code 130); `message` says what was done.
    pub(crate) fn interrupted(message: impl Into<String>) -> Self {
        Self { message: message.into(), code: EXIT_INTERRUPTED }
    }

    /// A failure described by `context` and the chain of `error`.
    pub(crate) fn from_error(context: &str, error: &(dyn std::error::Error + 'static)) -> Self {
        Self::failure(format!("{context}: {}", chain(error)))
    }
}

/// An error and its sources, joined by `: ` (each layer only once, when a layer's text already
/// contains the next one's).
pub(crate) fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut source = error.source();
    while let Some(e) = source {
        let text = e.to_string();
        if !out.contains(&text) {
            out.push_str(": ");
            out.push_str(&text);
        }
        source = e.source();
    }
    out
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<cloudkit::store::Error> for CliError {
    fn from(e: cloudkit::store::Error) -> Self {
        Self::failure(chain(&e))
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::failure(chain(&e))
    }
}
