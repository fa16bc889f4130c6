//! The delay between polls, per the Smithy waiter specification.

use std::time::Duration;

/// Jittered exponential backoff between polls, as the Smithy waiter specification defines it.
///
/// For retry number `n` (1 after the first poll):
///
/// - `attempt_ceiling = ln(max_delay / min_delay) / ln(2) + 1`;
/// - the cap is `max_delay` if `n > attempt_ceiling`, else `min(max_delay, min_delay · 2^(n−1))`;
/// - the delay is drawn uniformly from `[min_delay, cap]` (millisecond granularity);
/// - if the time left until the deadline minus the delay is at most `min_delay`, the delay
///   becomes the time left, so the last poll happens at the deadline;
/// - if no time is left, there is no delay: the wait has timed out.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use cloudkit_waiter::Backoff;
///
/// let backoff = Backoff::new(Duration::from_secs(15), Duration::from_secs(120));
/// assert_eq!(backoff.cap(1), Duration::from_secs(15));
/// assert_eq!(backoff.cap(2), Duration::from_secs(30));
/// assert_eq!(backoff.cap(5), Duration::from_secs(120));
///
/// let mut rng = fastrand::Rng::with_seed(7);
/// let delay = backoff.delay(2, Duration::from_secs(600), &mut rng).expect("time is left");
/// assert!(delay >= Duration::from_secs(15) && delay <= Duration::from_secs(30));
///
/// // Close to the deadline the delay is the time left; past it there is none.
/// assert_eq!(backoff.delay(2, Duration::from_secs(20), &mut rng), Some(Duration::from_secs(20)));
/// assert_eq!(backoff.delay(2, Duration::ZERO, &mut rng), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    min_delay: Duration,
    max_delay: Duration,
}

impl Backoff {
    /// Creates the backoff for the given delay bounds. A `max_delay` below `min_delay` is raised
    /// to `min_delay`.
    pub fn new(min_delay: Duration, max_delay: Duration) -> Self {
        Self { min_delay, max_delay: max_delay.max(min_delay) }
    }

    /// The shortest delay.
    pub fn min_delay(&self) -> Duration {
        self.min_delay
    }

    /// The longest delay (before deadline clamping).
    pub fn max_delay(&self) -> Duration {
        self.max_delay
    }

    /// `ln(max_delay / min_delay) / ln(2) + 1`: past this retry number the cap is `max_delay`.
    pub fn attempt_ceiling(&self) -> f64 {
        let min = self.min_delay.as_secs_f64();
        if min <= 0.0 {
            return f64::INFINITY;
        }
        (self.max_delay.as_secs_f64() / min).ln() / std::f64::consts::LN_2 + 1.0
    }

    /// The upper bound of the delay after retry number `attempt` (1-based), before deadline
    /// clamping.
    pub fn cap(&self, attempt: u32) -> Duration {
        if f64::from(attempt) > self.attempt_ceiling() {
            return self.max_delay;
        }
        let factor = 2_u32.saturating_pow(attempt.saturating_sub(1));
        self.min_delay.saturating_mul(factor).min(self.max_delay)
    }

    /// The delay after retry number `attempt` (1-based) with `remaining` time left until the
    /// deadline, or `None` if no time is left.
    ///
    /// Pure apart from the random draw taken from `rng`, so its bounds can be tested.
    pub fn delay(&self, attempt: u32, remaining: Duration, rng: &mut fastrand::Rng) -> Option<Duration> {
        if remaining.is_zero() {
            return None;
        }
        let delay = self.jittered(attempt, rng);
        if remaining.saturating_sub(delay) <= self.min_delay { Some(remaining) } else { Some(delay) }
    }

    /// A delay drawn uniformly from `[min_delay, cap(attempt)]`, in whole milliseconds above
    /// `min_delay`.
    pub fn jittered(&self, attempt: u32, rng: &mut fastrand::Rng) -> Duration {
        let cap = self.cap(attempt);
        let span_ms = u64::try_from(cap.saturating_sub(self.min_delay).as_millis()).unwrap_or(u64::MAX);
        let delay = self.min_delay.saturating_add(Duration::from_millis(rng.u64(0..=span_ms)));
        delay.min(cap)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DRAWS: usize = 10_000;

    fn secs(s: u64) -> Duration {
        Duration::from_secs(s)
    }

    #[test]
    fn attempt_ceiling_matches_the_spec() {
        assert!((Backoff::new(secs(15), secs(120)).attempt_ceiling() - 4.0).abs() < 1e-9);
        assert!((Backoff::new(secs(2), secs(120)).attempt_ceiling() - (60f64.log2() + 1.0)).abs() < 1e-9);
        assert!((Backoff::new(secs(5), secs(5)).attempt_ceiling() - 1.0).abs() < 1e-9);
    }

    #[test]
    fn cap_doubles_per_attempt_up_to_max_delay() {
        let backoff = Backoff::new(secs(2), secs(120));
        let caps: Vec<u64> = (1..=9).map(|n| backoff.cap(n).as_secs()).collect();
        assert_eq!(caps, [2, 4, 8, 16, 32, 64, 120, 120, 120]);
        assert_eq!(backoff.cap(u32::MAX), secs(120), "no overflow");
        let ec2 = Backoff::new(secs(15), secs(120));
        let caps: Vec<u64> = (1..=6).map(|n| ec2.cap(n).as_secs()).collect();
        assert_eq!(caps, [15, 30, 60, 120, 120, 120]);
    }

    #[test]
    fn delays_stay_within_bounds_over_many_draws() {
        let far_deadline = secs(100_000);
        for (min, max) in [(secs(2), secs(120)), (secs(15), secs(120)), (secs(5), secs(5))] {
            let backoff = Backoff::new(min, max);
            let mut rng = fastrand::Rng::with_seed(42);
            let mut previous_cap = Duration::ZERO;
            for attempt in 1..=12 {
                let cap = backoff.cap(attempt);
                assert!(cap >= previous_cap, "the cap never shrinks");
                assert!(cap == (previous_cap * 2).min(max) || attempt == 1);
                previous_cap = cap;
                let (mut lowest, mut highest) = (Duration::MAX, Duration::ZERO);
                for _ in 0..DRAWS {
                    let delay = backoff.delay(attempt, far_deadline, &mut rng).unwrap();
                    assert!(delay >= min && delay <= cap, "attempt {attempt}: {delay:?} outside [{min:?}, {cap:?}]");
                    lowest = lowest.min(delay);
                    highest = highest.max(delay);
                }
                // The draws actually spread over the range (jitter, not a fixed delay).
                let span = cap - min;
                assert!(lowest <= min + span / 20, "attempt {attempt}: lowest {lowest:?}");
                assert!(highest >= cap - span / 20, "attempt {attempt}: highest {highest:?}");
            }
        }
    }

    #[test]
    fn first_retry_waits_exactly_min_delay() {
        let backoff = Backoff::new(secs(15), secs(120));
        let mut rng = fastrand::Rng::with_seed(1);
        for _ in 0..100 {
            assert_eq!(backoff.delay(1, secs(1000), &mut rng), Some(secs(15)));
        }
    }

    #[test]
    fn close_to_the_deadline_the_delay_is_the_time_left() {
        let backoff = Backoff::new(secs(2), secs(120));
        let mut rng = fastrand::Rng::with_seed(3);
        for _ in 0..DRAWS {
            // Any delay from [2, 8] leaves at most 2 s: wait out the remaining 4 s.
            assert_eq!(backoff.delay(3, secs(4), &mut rng), Some(secs(4)));
            // Less time left than the minimum delay.
            assert_eq!(backoff.delay(7, Duration::from_millis(500), &mut rng), Some(Duration::from_millis(500)));
        }
        // Enough time left: the drawn delay is kept.
        let delay = backoff.delay(1, secs(100), &mut rng);
        assert_eq!(delay, Some(secs(2)));
    }

    #[test]
    fn no_time_left_means_no_delay() {
        let backoff = Backoff::new(secs(2), secs(120));
        let mut rng = fastrand::Rng::with_seed(5);
        assert_eq!(backoff.delay(1, Duration::ZERO, &mut rng), None);
    }

    #[test]
    fn sub_second_delays_work() {
        let backoff = Backoff::new(Duration::from_millis(10), Duration::from_millis(100));
        let mut rng = fastrand::Rng::with_seed(9);
        for attempt in 1..=6 {
            for _ in 0..1000 {
                let delay = backoff.jittered(attempt, &mut rng);
                assert!(delay >= Duration::from_millis(10) && delay <= backoff.cap(attempt));
            }
        }
        assert_eq!(backoff.cap(4), Duration::from_millis(80));
        assert_eq!(backoff.cap(5), Duration::from_millis(100));
    }
}
