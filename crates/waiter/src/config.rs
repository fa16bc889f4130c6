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

    /// The configuration of a waiter specified as "poll every `delay`, at most `max_attempts`
    /// times" (the AWS waiter models, and the Azure SDKs' waiters that copy them): the first
    /// retry after `delay`, jittered doubling up to `max_delay` (or `delay` when it is longer),
    /// at most `max_attempts` polls, a deadline of `delay × max_attempts`.
    ///
    /// ```
    /// use std::time::Duration;
    /// use cloudkit_waiter::WaiterConfig;
    ///
    /// let c = WaiterConfig::polling(Duration::from_secs(15), Duration::from_secs(120), 40);
    /// assert_eq!((c.min_delay, c.max_delay), (Duration::from_secs(15), Duration::from_secs(120)));
    /// assert_eq!((c.max_wait, c.max_attempts), (Duration::from_secs(600), Some(40)));
    /// ```
    pub fn polling(delay: Duration, max_delay: Duration, max_attempts: u32) -> Self {
        Self::new(delay, max_delay.max(delay), delay.saturating_mul(max_attempts)).max_attempts(max_attempts)
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

/// The settings every provider waiter builder offers, with one vocabulary across crates:
/// `config`, `delay` (a fixed delay), `min_delay`, `max_delay`, `max_wait`, `max_attempts` and
/// the accessor `waiter_config`; with `(seed)` also `jitter_seed` (reproducible timing in tests).
///
/// Use it inside the `impl` of a builder that has a `config: WaiterConfig` field (and, with
/// `(seed)`, a `seed: Option<u64>` field it passes to [`Waiter::with_seed`](crate::Waiter::with_seed)).
///
/// ```
/// use std::time::Duration;
/// use cloudkit_waiter::WaiterConfig;
///
/// struct ThingWaiter {
///     config: WaiterConfig,
///     seed: Option<u64>,
/// }
/// impl ThingWaiter {
///     cloudkit_waiter::waiter_settings!(seed);
/// }
/// let w = ThingWaiter { config: WaiterConfig::default(), seed: None }
///     .delay(Duration::from_secs(2))
///     .max_wait(Duration::from_secs(60))
///     .jitter_seed(7);
/// assert_eq!(w.waiter_config().min_delay, Duration::from_secs(2));
/// assert_eq!(w.waiter_config().max_wait, Duration::from_secs(60));
/// ```
#[macro_export]
macro_rules! waiter_settings {
    () => {
        /// Replaces the whole waiter configuration.
        pub fn config(mut self, config: $crate::WaiterConfig) -> Self {
            self.config = config;
            self
        }

        /// A fixed delay between polls (sets both `min_delay` and `max_delay`).
        pub fn delay(mut self, delay: ::std::time::Duration) -> Self {
            self.config = self.config.min_delay(delay).max_delay(delay);
            self
        }

        /// The delay before the first retry (and the jitter floor).
        pub fn min_delay(mut self, delay: ::std::time::Duration) -> Self {
            self.config = self.config.min_delay(delay);
            self
        }

        /// The longest delay between polls.
        pub fn max_delay(mut self, delay: ::std::time::Duration) -> Self {
            self.config = self.config.max_delay(delay);
            self
        }

        /// The overall deadline.
        pub fn max_wait(mut self, max_wait: ::std::time::Duration) -> Self {
            self.config = self.config.max_wait(max_wait);
            self
        }

        /// The maximum number of polls.
        pub fn max_attempts(mut self, attempts: u32) -> Self {
            self.config = self.config.max_attempts(attempts);
            self
        }

        /// The configuration in effect.
        pub fn waiter_config(&self) -> &$crate::WaiterConfig {
            &self.config
        }
    };
    (seed) => {
        $crate::waiter_settings!();

        /// Seeds the delay jitter (reproducible timing in tests).
        pub fn jitter_seed(mut self, seed: u64) -> Self {
            self.seed = Some(seed);
            self
        }
    };
}
