//! Retry policy: "standard" mode as in the AWS SDKs (full-jitter exponential backoff, a
//! token-bucket retry quota, `Retry-After` honoured).

use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use http::HeaderMap;

use crate::classify::RetryClass;

/// Retry settings.
///
/// ```
/// use std::time::Duration;
/// use cloudkit_core::RetryConfig;
/// let retry = RetryConfig::standard().with_max_attempts(5).with_max_backoff(Duration::from_secs(10));
/// assert_eq!(retry.max_attempts(), 5);
/// assert_eq!(RetryConfig::disabled().max_attempts(), 1);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryConfig {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    use_quota: bool,
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self::standard()
    }
}

impl RetryConfig {
    /// Standard mode: 3 attempts, 1 s base, 20 s cap, quota on.
    pub fn standard() -> Self {
        Self {
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(20),
            use_quota: true,
        }
    }

    /// One attempt, no retries.
    pub fn disabled() -> Self {
        Self { max_attempts: 1, ..Self::standard() }
    }

    /// Total attempts including the first (a value of 0 is treated as 1).
    pub fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts.max(1);
        self
    }

    /// The base of the exponential backoff.
    pub fn with_initial_backoff(mut self, initial_backoff: Duration) -> Self {
        self.initial_backoff = initial_backoff;
        self
    }

    /// The cap of a single backoff delay (also caps a server's `Retry-After`).
    pub fn with_max_backoff(mut self, max_backoff: Duration) -> Self {
        self.max_backoff = max_backoff;
        self
    }

    /// Turns the retry quota off (every retryable failure is retried up to `max_attempts`).
    pub fn with_quota(mut self, use_quota: bool) -> Self {
        self.use_quota = use_quota;
        self
    }

    /// Total attempts including the first.
    pub fn max_attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The backoff base.
    pub fn initial_backoff(&self) -> Duration {
        self.initial_backoff
    }

    /// The backoff cap.
    pub fn max_backoff(&self) -> Duration {
        self.max_backoff
    }

    /// Whether the retry quota applies.
    pub fn uses_quota(&self) -> bool {
        self.use_quota
    }

    /// The upper bound of the delay before retry number `retry` (1 = the first retry):
    /// `min(initial · 2^(retry−1), max)`.
    pub fn backoff_ceiling(&self, retry: u32) -> Duration {
        let exp = retry.saturating_sub(1).min(31);
        let factor = 1u64 << exp;
        let ceiling = self.initial_backoff.saturating_mul(u32::try_from(factor).unwrap_or(u32::MAX));
        ceiling.min(self.max_backoff)
    }

    /// The delay before retry number `retry` for a uniform draw `unit` in [0, 1):
    /// `unit · min(initial · 2^(retry−1), max)` (full jitter).
    pub fn backoff_for_draw(&self, retry: u32, unit: f64) -> Duration {
        self.backoff_ceiling(retry).mul_f64(unit.clamp(0.0, 1.0))
    }

    /// A random full-jitter delay before retry number `retry`.
    pub fn backoff(&self, retry: u32) -> Duration {
        self.backoff_for_draw(retry, fastrand::f64())
    }
}

/// A token bucket that limits retries when a service keeps failing, so an outage is not
/// hammered (AWS "standard" retry quota: 500 tokens, a retry costs 5, a retry after a timeout
/// costs 10, a success returns what its retries took, and a first-try success adds 1).
#[derive(Debug)]
pub struct RetryQuota {
    capacity: u32,
    available: Mutex<u32>,
}

/// Cost of a retry after a throttling or transient error.
pub const RETRY_COST: u32 = 5;
/// Cost of a retry after a timeout.
pub const TIMEOUT_RETRY_COST: u32 = 10;
/// Default quota capacity.
pub const DEFAULT_QUOTA: u32 = 500;

impl Default for RetryQuota {
    fn default() -> Self {
        Self::new(DEFAULT_QUOTA)
    }
}

impl RetryQuota {
    /// A full bucket of `capacity` tokens.
    pub fn new(capacity: u32) -> Self {
        Self { capacity, available: Mutex::new(capacity) }
    }

    /// Tokens left.
    pub fn available(&self) -> u32 {
        *self.available.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Takes the tokens a retry after `class` costs; `None` when the bucket cannot pay.
    pub fn acquire(&self, class: RetryClass) -> Option<u32> {
        let cost = if class == RetryClass::Timeout { TIMEOUT_RETRY_COST } else { RETRY_COST };
        let mut available = self.available.lock().unwrap_or_else(|p| p.into_inner());
        if *available < cost {
            return None;
        }
        *available -= cost;
        Some(cost)
    }

    /// Records a success: returns `refund` tokens (what this request's retries took), or 1 token
    /// for a request that succeeded on its first attempt.
    pub fn release(&self, refund: u32) {
        let mut available = self.available.lock().unwrap_or_else(|p| p.into_inner());
        let add = if refund == 0 { 1 } else { refund };
        *available = (*available + add).min(self.capacity);
    }
}

/// The delay a server asked for: `x-amz-retry-after` / `retry-after-ms` / `x-ms-retry-after-ms`
/// (milliseconds), or `Retry-After` (seconds or an HTTP date).
pub fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    for name in ["x-amz-retry-after", "retry-after-ms", "x-ms-retry-after-ms"] {
        if let Some(ms) = header_str(headers, name).and_then(|v| v.trim().parse::<u64>().ok()) {
            return Some(Duration::from_millis(ms));
        }
    }
    let value = header_str(headers, "retry-after")?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delay_bounds_hold_over_many_draws() {
        let cfg = RetryConfig::standard();
        let mut rng = fastrand::Rng::with_seed(7);
        for retry in 1..=10u32 {
            let ceiling = cfg.backoff_ceiling(retry);
            let expected = Duration::from_secs(1u64 << (retry - 1)).min(Duration::from_secs(20));
            assert_eq!(ceiling, expected);
            let mut max_seen = Duration::ZERO;
            let mut min_seen = Duration::MAX;
            for _ in 0..10_000 {
                let d = cfg.backoff_for_draw(retry, rng.f64());
                assert!(d <= ceiling, "retry {retry}: {d:?} > {ceiling:?}");
                max_seen = max_seen.max(d);
                min_seen = min_seen.min(d);
            }
            // full jitter really spreads over [0, ceiling)
            assert!(max_seen > ceiling.mul_f64(0.95), "retry {retry}: max {max_seen:?}");
            assert!(min_seen < ceiling.mul_f64(0.05), "retry {retry}: min {min_seen:?}");
        }
        // the real RNG path stays in bounds too
        for _ in 0..1000 {
            assert!(cfg.backoff(3) <= Duration::from_secs(4));
        }
    }

    #[test]
    fn quota_stops_after_sustained_failures_and_refills_on_success() {
        let quota = RetryQuota::new(DEFAULT_QUOTA);
        let mut retries = 0;
        while quota.acquire(RetryClass::Transient).is_some() {
            retries += 1;
        }
        assert_eq!(retries, 100); // 500 / 5
        assert!(quota.acquire(RetryClass::Timeout).is_none());
        quota.release(0);
        assert_eq!(quota.available(), 1);
        quota.release(5);
        assert_eq!(quota.available(), 6);
        assert!(quota.acquire(RetryClass::Transient).is_some());
        // never above capacity
        let full = RetryQuota::new(10);
        full.release(100);
        assert_eq!(full.available(), 10);
        assert_eq!(full.acquire(RetryClass::Timeout), Some(10));
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let mut h = HeaderMap::new();
        h.insert("retry-after", "7".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(7)));
        let date = httpdate::fmt_http_date(now + Duration::from_secs(30));
        h.insert("retry-after", date.parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_secs(30)));
        h.insert("x-ms-retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after(&h, now), Some(Duration::from_millis(1500)));
        let mut bad = HeaderMap::new();
        bad.insert("retry-after", "soon".parse().unwrap());
        assert_eq!(retry_after(&bad, now), None);
    }
}
