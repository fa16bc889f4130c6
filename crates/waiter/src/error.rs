//! [`WaiterError`].

use std::fmt;
use std::time::Duration;

/// Why a wait ended without reaching a success state.
///
/// Every variant that follows a poll carries the number of polls made and the last observed
/// result, so callers can report what the resource looked like when the wait gave up. The
/// `Display` form is one line and leaves the last result out (see `Debug` or
/// [`WaiterError::last`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WaiterError<T, E> {
    /// A failure acceptor matched: the resource can no longer reach the wanted state.
    #[error("waiter reached failure state `{acceptor}` after {}", Attempts(*.attempts))]
    FailureState {
        /// The description of the acceptor that matched.
        acceptor: String,
        /// The number of polls made.
        attempts: u32,
        /// The poll result the acceptor matched.
        last: Result<T, E>,
    },
    /// A poll failed with an error no acceptor matched; the waiter does not keep polling on
    /// errors it does not know.
    #[error("waiter stopped on an error no acceptor matched after {}", Attempts(*.attempts))]
    UnexpectedError {
        /// The poll's error.
        #[source]
        source: E,
        /// The number of polls made.
        attempts: u32,
    },
    /// The deadline (`max_wait`) passed without a success or failure state.
    #[error("waiter timed out after {max_wait:?} and {} without reaching a success state", Attempts(*.attempts))]
    Timeout {
        /// The configured deadline.
        max_wait: Duration,
        /// The number of polls made.
        attempts: u32,
        /// The result of the last poll, which happened at or just before the deadline.
        last: Result<T, E>,
    },
    /// `max_attempts` polls were made without a success or failure state.
    #[error("waiter gave up after {} without reaching a success state", Attempts(*.attempts))]
    MaxAttemptsExceeded {
        /// The number of polls made (the configured maximum).
        attempts: u32,
        /// The result of the last poll.
        last: Result<T, E>,
    },
    /// The [`WaiterConfig`](crate::WaiterConfig) is unusable (zero `min_delay`, `max_delay`
    /// below `min_delay`, or zero `max_attempts`); nothing was polled.
    #[error("invalid waiter configuration: {reason}")]
    InvalidConfig {
        /// What is wrong.
        reason: &'static str,
    },
}

impl<T, E> WaiterError<T, E> {
    /// The number of polls made before the wait ended (0 for an invalid configuration).
    pub fn attempts(&self) -> u32 {
        match self {
            Self::FailureState { attempts, .. }
            | Self::UnexpectedError { attempts, .. }
            | Self::Timeout { attempts, .. }
            | Self::MaxAttemptsExceeded { attempts, .. } => *attempts,
            Self::InvalidConfig { .. } => 0,
        }
    }

    /// The last observed poll result, if the wait polled (for
    /// [`WaiterError::UnexpectedError`] the error is the [`source`](std::error::Error::source)
    /// instead).
    pub fn last(&self) -> Option<&Result<T, E>> {
        match self {
            Self::FailureState { last, .. } | Self::Timeout { last, .. } | Self::MaxAttemptsExceeded { last, .. } => {
                Some(last)
            }
            Self::UnexpectedError { .. } | Self::InvalidConfig { .. } => None,
        }
    }

    /// Consumes the error and returns the last observed poll result, including the error of
    /// [`WaiterError::UnexpectedError`].
    pub fn into_last(self) -> Option<Result<T, E>> {
        match self {
            Self::FailureState { last, .. } | Self::Timeout { last, .. } | Self::MaxAttemptsExceeded { last, .. } => {
                Some(last)
            }
            Self::UnexpectedError { source, .. } => Some(Err(source)),
            Self::InvalidConfig { .. } => None,
        }
    }
}

/// "1 attempt", "3 attempts".
struct Attempts(u32);

impl fmt::Display for Attempts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            1 => f.write_str("1 attempt"),
            n => write!(f, "{n} attempts"),
        }
    }
}
