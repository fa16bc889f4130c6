//! [`Waiter`]: poll until an acceptor says stop.

use std::borrow::Cow;
use std::fmt;
use std::future::Future;
use std::time::Duration;

use tokio::time::{Instant, sleep};

use crate::{Acceptor, AcceptorState, Backoff, WaiterConfig, WaiterError};

/// The successful end of a wait: the poll result a success acceptor matched.
///
/// The result is usually `Ok` (the instance is running), but may be an `Err` when a success
/// acceptor matches an error (an "object does not exist" waiter succeeds on `NotFound`).
#[derive(Debug)]
#[non_exhaustive]
pub struct FinalPoll<T, E> {
    /// The matched poll result.
    pub result: Result<T, E>,
    /// The description of the success acceptor that matched.
    pub acceptor: String,
    /// The number of polls made, including the last one.
    pub attempts: u32,
    /// The time from the start of the wait to the end of the last poll.
    pub elapsed: Duration,
}

impl<T, E> FinalPoll<T, E> {
    /// The matched output, if the matched result is `Ok`.
    pub fn output(&self) -> Option<&T> {
        self.result.as_ref().ok()
    }

    /// Consumes the final poll and returns the matched output, if the result is `Ok`.
    pub fn into_output(self) -> Option<T> {
        self.result.ok()
    }

    /// Consumes the final poll and returns the matched result.
    pub fn into_result(self) -> Result<T, E> {
        self.result
    }
}

/// Polls an operation until an [`Acceptor`] reaches a success or failure state, with jittered
/// exponential [`Backoff`] between polls, a deadline and an optional attempt limit.
///
/// Semantics follow botocore and the Smithy waiter specification:
///
/// - the first poll happens at once; acceptors are checked in order and the first match wins;
/// - [`AcceptorState::Success`] returns [`FinalPoll`]; [`AcceptorState::Failure`] returns
///   [`WaiterError::FailureState`];
/// - [`AcceptorState::Retry`], or an `Ok` result no acceptor matched, sleeps and polls again;
/// - an `Err` result no acceptor matched stops with [`WaiterError::UnexpectedError`];
/// - after `max_attempts` polls the wait stops with [`WaiterError::MaxAttemptsExceeded`]; when
///   the deadline has passed, with [`WaiterError::Timeout`]. The delay before the deadline is
///   stretched so the last poll happens at the deadline.
///
/// Time comes from `tokio::time`, so tests can run waits on a paused clock.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cloudkit_waiter::{Acceptor, AcceptorState, Waiter, WaiterConfig, WaiterError};
///
/// #[derive(Debug)]
/// struct ServiceError;
/// impl std::fmt::Display for ServiceError {
///     fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result { f.write_str("service error") }
/// }
/// impl std::error::Error for ServiceError {}
///
/// # #[tokio::main(flavor = "current_thread", start_paused = true)]
/// # async fn main() -> Result<(), WaiterError<&'static str, ServiceError>> {
/// let waiter = Waiter::new(
///     "InstanceRunning",
///     WaiterConfig::default()
///         .min_delay(Duration::from_secs(15))
///         .max_delay(Duration::from_secs(120))
///         .max_attempts(40),
///     vec![
///         Acceptor::output(AcceptorState::Success, "instance state is running", |s: &&str| *s == "running"),
///         Acceptor::output(AcceptorState::Failure, "instance state is terminated", |s: &&str| *s == "terminated"),
///     ],
/// )
/// .resource("instance i-0abc");
///
/// // A pretend DescribeInstances: pending twice, then running.
/// let mut polls = 0;
/// let done = waiter
///     .wait(|| {
///         polls += 1;
///         let state = if polls < 3 { "pending" } else { "running" };
///         async move { Ok::<_, ServiceError>(state) }
///     })
///     .await?;
/// assert_eq!(done.output(), Some(&"running"));
/// assert_eq!(done.attempts, 3);
/// # Ok(())
/// # }
/// ```
pub struct Waiter<T, E> {
    name: Cow<'static, str>,
    resource: Option<String>,
    config: WaiterConfig,
    acceptors: Vec<Acceptor<T, E>>,
    seed: Option<u64>,
}

impl<T, E> Waiter<T, E> {
    /// Creates a waiter named `name` (`"InstanceRunning"`, named in every [`WaiterError`]) from
    /// its configuration and its acceptors (checked in order).
    pub fn new(name: impl Into<Cow<'static, str>>, config: WaiterConfig, acceptors: Vec<Acceptor<T, E>>) -> Self {
        Self { name: name.into(), resource: None, config, acceptors, seed: None }
    }

    /// Says what the waiter waits on (`"instance i-0abc"`, `"bucket s3://logs"`), named in every
    /// [`WaiterError`] after the waiter's name.
    #[must_use]
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// The waiter's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the waiter waits on, when it was told.
    pub fn resource_description(&self) -> Option<&str> {
        self.resource.as_deref()
    }

    /// Seeds the random jitter, for reproducible delays in tests.
    #[must_use]
    pub fn with_seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Seeds the random jitter when `seed` is `Some`: the `jitter_seed` a waiter builder was given
    /// ([`waiter_settings!(seed)`](crate::waiter_settings)), if any.
    #[must_use]
    pub fn with_optional_seed(mut self, seed: Option<u64>) -> Self {
        if seed.is_some() {
            self.seed = seed;
        }
        self
    }

    /// Replaces the configuration (for per-call overrides such as a longer deadline).
    #[must_use]
    pub fn with_config(mut self, config: WaiterConfig) -> Self {
        self.config = config;
        self
    }

    /// The configuration.
    pub fn config(&self) -> &WaiterConfig {
        &self.config
    }

    /// The acceptors, in the order they are checked.
    pub fn acceptors(&self) -> &[Acceptor<T, E>] {
        &self.acceptors
    }

    /// Polls with `poll` until an acceptor reaches a success or failure state, the deadline
    /// passes, or the attempt limit is reached.
    ///
    /// `poll` is called once per attempt; a poll in progress is never interrupted.
    pub async fn wait<F, Fut>(&self, mut poll: F) -> Result<FinalPoll<T, E>, WaiterError<T, E>>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let (waiter, resource) = (|| self.name.clone(), || self.resource.clone());
        self.config.validate().map_err(|reason| WaiterError::InvalidConfig {
            waiter: waiter(),
            resource: resource(),
            reason,
        })?;
        let backoff = Backoff::new(self.config.min_delay, self.config.max_delay);
        let mut rng = self.seed.map_or_else(fastrand::Rng::new, fastrand::Rng::with_seed);
        let start = Instant::now();
        // A `max_wait` too large to add to the clock (e.g. `Duration::MAX`) means no deadline.
        let deadline = start.checked_add(self.config.max_wait);
        let mut attempts: u32 = 0;
        loop {
            let result = poll().await;
            attempts = attempts.saturating_add(1);
            let matched = self.acceptors.iter().find(|a| a.matches(&result));
            match matched {
                Some(acceptor) if acceptor.state() == AcceptorState::Success => {
                    tracing::debug!(attempts, acceptor = acceptor.description(), "waiter reached success state");
                    return Ok(FinalPoll {
                        result,
                        acceptor: acceptor.description().to_owned(),
                        attempts,
                        elapsed: start.elapsed(),
                    });
                }
                Some(acceptor) if acceptor.state() == AcceptorState::Failure => {
                    tracing::debug!(attempts, acceptor = acceptor.description(), "waiter reached failure state");
                    return Err(WaiterError::FailureState {
                        waiter: waiter(),
                        resource: resource(),
                        acceptor: acceptor.description().to_owned(),
                        attempts,
                        last: result,
                    });
                }
                Some(acceptor) => {
                    tracing::debug!(attempts, acceptor = acceptor.description(), "waiter acceptor says retry");
                }
                None => match result {
                    Ok(_) => tracing::debug!(attempts, "no waiter acceptor matched the output; retrying"),
                    Err(source) => {
                        tracing::debug!(attempts, "no waiter acceptor matched the error; stopping");
                        return Err(WaiterError::UnexpectedError {
                            waiter: waiter(),
                            resource: resource(),
                            source,
                            attempts,
                        });
                    }
                },
            }

            if self.config.max_attempts.is_some_and(|max| attempts >= max) {
                tracing::debug!(attempts, "waiter reached max attempts");
                return Err(WaiterError::MaxAttemptsExceeded {
                    waiter: waiter(),
                    resource: resource(),
                    attempts,
                    last: result,
                });
            }
            let remaining = match deadline {
                Some(deadline) => deadline.saturating_duration_since(Instant::now()),
                None => Duration::MAX,
            };
            let Some(delay) = backoff.delay(attempts, remaining, &mut rng) else {
                tracing::debug!(attempts, max_wait = ?self.config.max_wait, "waiter timed out");
                return Err(WaiterError::Timeout {
                    waiter: waiter(),
                    resource: resource(),
                    max_wait: self.config.max_wait,
                    attempts,
                    last: result,
                });
            };
            tracing::debug!(attempts, ?delay, ?remaining, "waiter sleeping before the next poll");
            drop(result);
            sleep(delay).await;
        }
    }
}

impl<T, E> fmt::Debug for Waiter<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Waiter")
            .field("name", &self.name)
            .field("resource", &self.resource)
            .field("config", &self.config)
            .field("acceptors", &self.acceptors)
            .field("seed", &self.seed)
            .finish()
    }
}
