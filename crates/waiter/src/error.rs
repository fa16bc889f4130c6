//! [`WaiterError`].

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

waiter_error! {
    /// Why a wait ended without reaching a success state.
    ///
    /// Every variant names the waiter (`InstanceRunning`) and, when the waiter was given one, the
    /// resource it waited on (`instance i-0abc`); every variant that follows a poll carries the number
    /// of polls made and the last observed result, so callers can report what the resource looked
    /// like when the wait gave up.
    ///
    /// `Display` is one line naming the waiter, the resource and why the wait ended, and when the
    /// last poll failed, that error's text:
    /// `waiter InstanceRunning for instance i-0abc timed out after 5m and 31 attempts; last error:
    /// EC2.DescribeInstances failed: HTTP 400 InvalidInstanceID.NotFound: …`. Because that text is
    /// printed, [`source`](std::error::Error::source) does not return the poll's error again but its
    /// own source (the next layer down that was not printed); the error itself stays reachable with
    /// [`WaiterError::last`] / [`WaiterError::into_last`] (and the `source` field of
    /// [`WaiterError::UnexpectedError`]).
    #[derive(Debug)]
    #[non_exhaustive]
    pub enum WaiterError<T, E> {
        /// A failure acceptor matched: the resource can no longer reach the wanted state.
        FailureState {
            /// The description of the acceptor that matched.
            acceptor: String,
        } polled("The poll result the acceptor matched."),
        /// A poll failed with an error no acceptor matched; the waiter does not keep polling on
        /// errors it does not know.
        UnexpectedError {
            /// The poll's error (its text is part of `Display`).
            source: E,
            /// The number of polls made.
            attempts: u32,
        },
        /// The deadline (`max_wait`) passed without a success or failure state.
        Timeout {
            /// The configured deadline.
            max_wait: Duration,
        } polled("The result of the last poll, which happened at or just before the deadline."),
        /// `max_attempts` polls (the configured maximum) were made without a success or failure
        /// state.
        MaxAttemptsExceeded {} polled("The result of the last poll."),
        /// The [`WaiterConfig`](crate::WaiterConfig) is unusable (zero `min_delay`, `max_delay`
        /// below `min_delay`, or zero `max_attempts`); nothing was polled.
        InvalidConfig {
            /// What is wrong.
            reason: &'static str,
        },
    }
}

/// Declares [`WaiterError`]: every variant gets the fields `waiter` and `resource`, and the
/// variants marked `polled("doc of last")` also `attempts` and `last` (after their own fields),
/// each with its docs; and implements the accessors of `waiter` and `resource`.
macro_rules! waiter_error {
    (
        $(#[$attr:meta])*
        pub enum $name:ident<T, E> {
            $(
                $(#[$variant_attr:meta])*
                $variant:ident { $($fields:tt)* } $(polled($last_doc:literal))?
            ),* $(,)?
        }
    ) => {
        $(#[$attr])*
        pub enum $name<T, E> {
            $(
                $(#[$variant_attr])*
                $variant {
                    /// The waiter's name (`InstanceRunning`).
                    waiter: Cow<'static, str>,
                    /// What was waited on (`instance i-0abc`), when the waiter was told.
                    resource: Option<String>,
                    $($fields)*
                    $(
                        /// The number of polls made.
                        attempts: u32,
                        #[doc = $last_doc]
                        last: Result<T, E>,
                    )?
                },
            )*
        }

        impl<T, E> $name<T, E> {
            /// The waiter's name (`InstanceRunning`, `BucketExists`, `CopyComplete`, …).
            pub fn waiter(&self) -> &str {
                match self {
                    $(Self::$variant { waiter, .. } => waiter,)*
                }
            }

            /// What was waited on (`instance i-0abc`), when the waiter was told.
            pub fn resource(&self) -> Option<&str> {
                match self {
                    $(Self::$variant { resource, .. } => resource.as_deref(),)*
                }
            }
        }
    };
}
use waiter_error;

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
    /// [`WaiterError::UnexpectedError`] the error is the variant's `source` field instead; see
    /// [`WaiterError::last_error`]).
    pub fn last(&self) -> Option<&Result<T, E>> {
        match self {
            Self::FailureState { last, .. } | Self::Timeout { last, .. } | Self::MaxAttemptsExceeded { last, .. } => {
                Some(last)
            }
            Self::UnexpectedError { .. } | Self::InvalidConfig { .. } => None,
        }
    }

    /// The error of the last poll, if it failed (in every variant, including
    /// [`WaiterError::UnexpectedError`]).
    pub fn last_error(&self) -> Option<&E> {
        match self {
            Self::FailureState { last, .. } | Self::Timeout { last, .. } | Self::MaxAttemptsExceeded { last, .. } => {
                last.as_ref().err()
            }
            Self::UnexpectedError { source, .. } => Some(source),
            Self::InvalidConfig { .. } => None,
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

impl<T, E: fmt::Display> fmt::Display for WaiterError<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "waiter {}", self.waiter())?;
        if let Some(resource) = self.resource() {
            write!(f, " for {resource}")?;
        }
        // Why the last poll failed, or that it did not reach a final state.
        let last = |f: &mut fmt::Formatter<'_>, last: &Result<T, E>| match last {
            Ok(_) => f.write_str(" without reaching a success state"),
            Err(e) => write!(f, "; last error: {e}"),
        };
        match self {
            Self::FailureState { acceptor, attempts, last: result, .. } => {
                write!(f, " reached failure state `{acceptor}` after {}", Attempts(*attempts))?;
                match result {
                    Ok(_) => Ok(()),
                    Err(e) => write!(f, ": {e}"),
                }
            }
            Self::UnexpectedError { source, attempts, .. } => {
                write!(f, " stopped after {} on an error no acceptor matched: {source}", Attempts(*attempts))
            }
            Self::Timeout { max_wait, attempts, last: result, .. } => {
                write!(f, " timed out after {} and {}", Human(*max_wait), Attempts(*attempts))?;
                last(f, result)
            }
            Self::MaxAttemptsExceeded { attempts, last: result, .. } => {
                write!(f, " gave up after {}", Attempts(*attempts))?;
                last(f, result)
            }
            Self::InvalidConfig { reason, .. } => write!(f, " has an invalid configuration: {reason}"),
        }
    }
}

/// The poll's error is printed by `Display`, so `source()` continues below it.
impl<T: fmt::Debug, E: std::error::Error + 'static> std::error::Error for WaiterError<T, E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.last_error().and_then(std::error::Error::source)
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

/// A duration as people write it: `5m`, `1h30m`, `1m40s`, `250ms`.
struct Human(Duration);

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = self.0;
        if d.as_secs() == 0 {
            return write!(f, "{}ms", d.as_millis());
        }
        if d.subsec_millis() != 0 || d.as_secs() >= 100 * 24 * 3600 {
            return write!(f, "{d:?}");
        }
        let (h, m, s) = (d.as_secs() / 3600, d.as_secs() / 60 % 60, d.as_secs() % 60);
        if h > 0 {
            write!(f, "{h}h")?;
        }
        if m > 0 {
            write!(f, "{m}m")?;
        }
        if s > 0 {
            write!(f, "{s}s")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_as_people_write_them() {
        let shown = |secs: u64| Human(Duration::from_secs(secs)).to_string();
        assert_eq!(shown(300), "5m");
        assert_eq!(shown(100), "1m40s");
        assert_eq!(shown(5400), "1h30m");
        assert_eq!(shown(7), "7s");
        assert_eq!(Human(Duration::from_millis(250)).to_string(), "250ms");
        assert_eq!(Human(Duration::from_millis(1500)).to_string(), "1.5s");
    }
}
