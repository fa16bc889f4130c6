//! [`WaiterConfig`]: delays, deadline and attempt limit.

use std::time::Duration;

/// How long and how often a [`Waiter`](crate::Waiter) polls.
///
/// Each waiter supplies its own defaults (EC2 `instance_running`: 15 s minimum delay, 120 s
/// maximum delay, 40 attempts); callers adjust them with the setters.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cloudkit_waiter::WaiterConfig;
///
/// let config = WaiterConfig::default()
///     .min_delay(Duration::from_secs(15))
///     .max_delay(Duration::from_secs(120))
///     .max_wait(Duration::from_secs(600))
///     .max_attempts(40);
/// assert_eq!(config.max_attempts, Some(40));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaiterConfig {
    /// The shortest delay between two polls (Smithy `minDelay`). Must be greater than zero.
    pub min_delay: Duration,
    /// The longest delay between two polls (Smithy `maxDelay`). Must be at least `min_delay`.
    pub max_delay: Duration,
    /// The overall deadline, counted from the start of the wait. The last poll happens at (or
    /// just before) the deadline; a poll in progress is not interrupted.
    pub max_wait: Duration,
    /// The maximum number of polls, if any (botocore's `MaxAttempts`).
    pub max_attempts: Option<u32>,
}

impl Default for WaiterConfig {
    /// Smithy's default delays (2 s minimum, 120 s maximum), a 5 minute deadline and no attempt
    /// limit.
    fn default() -> Self {
        Self {
            min_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(120),
            max_wait: Duration::from_secs(300),
            max_attempts: None,
        }
    }
}

impl WaiterConfig {
    /// Creates a configuration with the given delays and deadline and no attempt limit.
    pub fn new(min_delay: Duration, max_delay: Duration, max_wait: Duration) -> Self {
        Self { min_delay, max_delay, max_wait, max_attempts: None }
    }

    /// Sets the shortest delay between two polls.
    #[must_use]
    pub fn min_delay(mut self, min_delay: Duration) -> Self {
        self.min_delay = min_delay;
        self
    }

    /// Sets the longest delay between two polls.
    #[must_use]
    pub fn max_delay(mut self, max_delay: Duration) -> Self {
        self.max_delay = max_delay;
        self
    }

    /// Sets the overall deadline.
    #[must_use]
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Sets the maximum number of polls.
    #[must_use]
    pub fn max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = Some(max_attempts);
        self
    }

    /// Removes the attempt limit, leaving only the deadline.
    #[must_use]
    pub fn unlimited_attempts(mut self) -> Self {
        self.max_attempts = None;
        self
    }

    /// Checks the configuration, returning what is wrong with it.
    pub(crate) fn validate(&self) -> Result<(), &'static str> {
        if self.min_delay.is_zero() {
            return Err("min_delay must be greater than zero");
        }
        if self.max_delay < self.min_delay {
            return Err("max_delay must be at least min_delay");
        }
        if self.max_attempts == Some(0) {
            return Err("max_attempts must be at least 1");
        }
        Ok(())
    }
}
