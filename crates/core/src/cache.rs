//! A single-flight cache for values that expire: AWS credentials, Azure and Google tokens.
//!
//! [`RefreshCache`] keeps one value and reloads it before it expires:
//! - a value without an expiry is loaded once and kept;
//! - from the **advisory** window before expiry, one caller reloads while the others keep getting
//!   the cached value; if that reload fails, the still-valid cached value is returned, the failure
//!   is logged, and the next advisory attempt waits a minute;
//! - from the **mandatory** window (and when nothing is cached), callers wait for the reload and a
//!   failure is returned;
//! - only one load runs at a time, however many tasks ask at once (a lock plus a generation
//!   count: a caller that waited for someone else's load uses its result);
//! - a failed load is not repeated by every caller that was waiting for it: they get a
//!   [`RefreshFailed`] carrying its message, and later callers too until a backoff has passed
//!   (1 s after the first failure, doubling up to 30 s); then one caller loads again. The error
//!   type of the loader converts from [`RefreshFailed`].
//!
//! The clock is injectable ([`TimeSource`]) so tests are deterministic.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::time::{Duration, SystemTime};
//! use cloudkit_core::{RefreshCache, RefreshFailed};
//!
//! #[derive(Clone)]
//! struct Token { value: String, expires: SystemTime }
//!
//! #[derive(Debug, thiserror::Error)]
//! enum TokenError {
//!     #[error("the token endpoint refused: {0}")]
//!     Refused(String),
//!     #[error(transparent)]
//!     Recent(#[from] RefreshFailed),
//! }
//!
//! let cache = RefreshCache::new(|t: &Token| Some(t.expires), Duration::from_secs(300), Duration::from_secs(60));
//! let load = || async {
//!     Ok::<_, TokenError>(Token { value: "t1".into(), expires: SystemTime::now() + Duration::from_secs(3600) })
//! };
//! assert_eq!(cache.get_or_refresh(load).await.unwrap().value, "t1");
//! // fresh: served from the cache, the loader is not called
//! let never = || async { Err::<Token, _>(TokenError::Refused("not called".into())) };
//! assert_eq!(cache.get_or_refresh(never).await.unwrap().value, "t1");
//! # }
//! ```

use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

/// Pause between two advisory reload attempts that did not give a value fresh enough.
const ADVISORY_RETRY_PAUSE: Duration = Duration::from_secs(60);
/// The first pause after a failed mandatory load; it doubles with every further failure.
const FAILURE_BACKOFF: Duration = Duration::from_secs(1);
/// The longest pause after failed loads.
const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(30);

/// A load was not attempted: the previous one failed a moment ago (while this caller waited for
/// it, or within the backoff after it). Carries that failure's message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the last attempt failed and the next is not due for {retry_in:?}: {message}")]
pub struct RefreshFailed {
    /// The message of the failed load.
    pub message: String,
    /// How long until a load is attempted again.
    pub retry_in: Duration,
}

/// A clock.
pub trait TimeSource: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemTimeSource;

impl TimeSource for SystemTimeSource {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that moves only when told (for tests).
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use cloudkit_core::{ManualTimeSource, TimeSource};
/// let clock = ManualTimeSource::new(UNIX_EPOCH);
/// clock.advance(Duration::from_secs(5));
/// assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(5));
/// ```
#[derive(Debug)]
pub struct ManualTimeSource {
    now: Mutex<SystemTime>,
}

impl ManualTimeSource {
    /// A clock showing `start`.
    pub fn new(start: SystemTime) -> Self {
        Self { now: Mutex::new(start) }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|p| p.into_inner());
        *now += by;
    }

    /// Sets the clock.
    pub fn set(&self, to: SystemTime) {
        *self.now.lock().unwrap_or_else(|p| p.into_inner()) = to;
    }
}

impl TimeSource for ManualTimeSource {
    fn now(&self) -> SystemTime {
        *self.now.lock().unwrap_or_else(|p| p.into_inner())
    }
}

struct Slot<T> {
    value: Option<T>,
    /// No advisory attempt before this time (after a failed or unhelpful one).
    next_advisory: Option<SystemTime>,
    /// The last failed mandatory load, until a load succeeds.
    failure: Option<LoadFailure>,
}

struct LoadFailure {
    message: String,
    /// Failed loads in a row.
    count: u32,
    /// No load before this time.
    retry_at: SystemTime,
    /// Which failure this is (callers compare it with what they saw before waiting).
    seq: u64,
}

enum Freshness {
    Fresh,
    Advisory,
    Mandatory,
}

/// A single-flight cache of one expiring value, refreshed ahead of its expiry (an advisory and a
/// mandatory window before it).
///
/// `Debug` shows the windows and the cached value's expiry, never the value.
pub struct RefreshCache<T> {
    expiry_of: fn(&T) -> Option<SystemTime>,
    time: Arc<dyn TimeSource>,
    advisory: Duration,
    mandatory: Duration,
    slot: Mutex<Slot<T>>,
    generation: AtomicU64,
    refresh: tokio::sync::Mutex<()>,
}

impl<T> fmt::Debug for RefreshCache<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let slot = self.slot.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("RefreshCache")
            .field("advisory", &self.advisory)
            .field("mandatory", &self.mandatory)
            .field("cached", &slot.value.is_some())
            .field("expiry", &slot.value.as_ref().and_then(self.expiry_of))
            .finish()
    }
}

impl<T: Clone> RefreshCache<T> {
    /// An empty cache. `expiry_of` says when a value expires (`None`: never); reloads start
    /// `advisory` before that and become mandatory `mandatory` before it (capped at `advisory`).
    pub fn new(expiry_of: fn(&T) -> Option<SystemTime>, advisory: Duration, mandatory: Duration) -> Self {
        Self {
            expiry_of,
            time: Arc::new(SystemTimeSource),
            advisory,
            mandatory: mandatory.min(advisory),
            slot: Mutex::new(Slot { value: None, next_advisory: None, failure: None }),
            generation: AtomicU64::new(0),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    /// Uses another clock.
    pub fn with_time_source(mut self, time: Arc<dyn TimeSource>) -> Self {
        self.time = time;
        self
    }

    /// Sets the windows (`mandatory` is capped at `advisory`).
    pub fn with_windows(mut self, advisory: Duration, mandatory: Duration) -> Self {
        self.advisory = advisory;
        self.mandatory = mandatory.min(advisory);
        self
    }

    /// The clock.
    pub fn time_source(&self) -> &Arc<dyn TimeSource> {
        &self.time
    }

    /// The cached value, whatever its age.
    pub fn cached(&self) -> Option<T> {
        self.lock().value.clone()
    }

    /// Forgets the cached value (the next call loads).
    pub fn invalidate(&self) {
        self.lock().value = None;
    }

    fn lock(&self) -> MutexGuard<'_, Slot<T>> {
        self.slot.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn freshness(&self, value: &T, now: SystemTime) -> Freshness {
        let Some(expiry) = (self.expiry_of)(value) else { return Freshness::Fresh };
        let left = expiry.duration_since(now).unwrap_or(Duration::ZERO);
        if left > self.advisory {
            Freshness::Fresh
        } else if left > self.mandatory {
            Freshness::Advisory
        } else {
            Freshness::Mandatory
        }
    }

    fn store(&self, value: &T) {
        let mut slot = self.lock();
        slot.value = Some(value.clone());
        slot.next_advisory = None;
        slot.failure = None;
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The failure to report instead of loading: one newer than `seen` (it happened while the
    /// caller waited), or one whose backoff has not passed.
    fn recent_failure(&self, seen: Option<u64>, now: SystemTime) -> Option<RefreshFailed> {
        let slot = self.lock();
        let failure = slot.failure.as_ref()?;
        let retry_in = failure.retry_at.duration_since(now).unwrap_or(Duration::ZERO);
        (Some(failure.seq) != seen || !retry_in.is_zero())
            .then(|| RefreshFailed { message: failure.message.clone(), retry_in })
    }

    fn record_failure(&self, message: String, now: SystemTime) {
        let mut slot = self.lock();
        let count = slot.failure.as_ref().map_or(1, |f| f.count.saturating_add(1));
        let backoff = FAILURE_BACKOFF.saturating_mul(1 << (count - 1).min(5)).min(MAX_FAILURE_BACKOFF);
        let seq = slot.failure.as_ref().map_or(0, |f| f.seq + 1);
        slot.failure = Some(LoadFailure { message, count, retry_at: now + backoff, seq });
    }

    /// The cached value while it is fresh; otherwise the result of `load` (see the module docs for
    /// who loads, who waits and what a failed load returns).
    pub async fn get_or_refresh<E, F, Fut>(&self, load: F) -> Result<T, E>
    where
        E: fmt::Display + From<RefreshFailed>,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let now = self.time.now();
        let generation = self.generation.load(Ordering::SeqCst);
        let (cached, next_advisory, failure_seen) = {
            let slot = self.lock();
            (slot.value.clone(), slot.next_advisory, slot.failure.as_ref().map(|f| f.seq))
        };
        if let Some(cached) = cached {
            match self.freshness(&cached, now) {
                Freshness::Fresh => return Ok(cached),
                Freshness::Advisory => {
                    if next_advisory.is_some_and(|t| now < t) {
                        return Ok(cached);
                    }
                    // One caller reloads; the others use what is cached.
                    let Ok(_guard) = self.refresh.try_lock() else { return Ok(cached) };
                    if self.generation.load(Ordering::SeqCst) != generation
                        && let Some(value) = self.cached()
                    {
                        // reloaded by someone else meanwhile
                        return Ok(value);
                    }
                    return match load().await {
                        Ok(fresh) => {
                            self.store(&fresh);
                            if !matches!(self.freshness(&fresh, now), Freshness::Fresh) {
                                self.lock().next_advisory = Some(now + ADVISORY_RETRY_PAUSE);
                            }
                            Ok(fresh)
                        }
                        Err(error) => {
                            tracing::warn!(
                                %error,
                                "advisory refresh failed; using the cached value, which is still valid"
                            );
                            self.lock().next_advisory = Some(now + ADVISORY_RETRY_PAUSE);
                            Ok(cached)
                        }
                    };
                }
                Freshness::Mandatory => {}
            }
        }
        // Nothing cached, or inside the mandatory window: wait for the single reload, unless a
        // load failed a moment ago.
        if let Some(failed) = self.recent_failure(failure_seen, now) {
            return Err(failed.into());
        }
        let _guard = self.refresh.lock().await;
        let now = self.time.now();
        if self.generation.load(Ordering::SeqCst) != generation
            && let Some(value) = self.cached()
            && (self.expiry_of)(&value).is_none_or(|e| e > now)
        {
            // Someone else loaded while we waited: use theirs.
            return Ok(value);
        }
        if let Some(failed) = self.recent_failure(failure_seen, now) {
            // Someone else's load failed while we waited: one load per refresh.
            return Err(failed.into());
        }
        match load().await {
            Ok(fresh) => {
                self.store(&fresh);
                Ok(fresh)
            }
            Err(error) => {
                self.record_failure(error.to_string(), now);
                Err(error)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize};
    use std::time::UNIX_EPOCH;

    use super::*;

    #[derive(Clone, Debug, PartialEq)]
    struct Value {
        n: usize,
        expiry: Option<SystemTime>,
    }

    /// The loader's error, or the cache's report of a recent failure.
    #[derive(Debug, PartialEq, thiserror::Error)]
    enum TestError {
        #[error("refresh failed")]
        Load,
        #[error(transparent)]
        Recent(#[from] RefreshFailed),
    }

    /// Counts loads; gives values expiring `lifetime` after the fake clock's now, or fails while
    /// `fail` is set.
    struct Loader {
        loads: AtomicUsize,
        fail: AtomicBool,
        clock: Arc<ManualTimeSource>,
        lifetime: Option<Duration>,
        delay: Duration,
    }

    impl Loader {
        async fn load(&self) -> Result<Value, TestError> {
            let n = self.loads.fetch_add(1, Ordering::SeqCst) + 1;
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            if self.fail.load(Ordering::SeqCst) {
                return Err(TestError::Load);
            }
            Ok(Value { n, expiry: self.lifetime.map(|l| self.clock.now() + l) })
        }
    }

    fn setup(
        lifetime: Option<Duration>,
        delay: Duration,
    ) -> (Arc<Loader>, Arc<ManualTimeSource>, Arc<RefreshCache<Value>>) {
        let clock = Arc::new(ManualTimeSource::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
        let loader = Arc::new(Loader {
            loads: AtomicUsize::new(0),
            fail: AtomicBool::new(false),
            clock: clock.clone(),
            lifetime,
            delay,
        });
        let cache = RefreshCache::new(|v: &Value| v.expiry, Duration::from_secs(15 * 60), Duration::from_secs(5 * 60))
            .with_time_source(clock.clone());
        (loader, clock, Arc::new(cache))
    }

    async fn get(cache: &RefreshCache<Value>, loader: &Arc<Loader>) -> Result<usize, TestError> {
        cache.get_or_refresh(|| loader.load()).await.map(|v| v.n)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_callers_trigger_one_load_and_mandatory_reload_is_single_flight() {
        let (loader, clock, cache) = setup(Some(Duration::from_secs(3600)), Duration::from_millis(50));
        let spawn_all = |cache: &Arc<RefreshCache<Value>>| {
            (0..50)
                .map(|_| {
                    let (cache, loader) = (cache.clone(), loader.clone());
                    tokio::spawn(async move { get(&cache, &loader).await })
                })
                .collect::<Vec<_>>()
        };
        for t in spawn_all(&cache) {
            assert_eq!(t.await.unwrap().unwrap(), 1);
        }
        assert_eq!(loader.loads.load(Ordering::SeqCst), 1);
        clock.advance(Duration::from_secs(3600 - 60)); // 1 min left: mandatory
        for t in spawn_all(&cache) {
            assert_eq!(t.await.unwrap().unwrap(), 2);
        }
        assert_eq!(loader.loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn values_without_expiry_are_kept_forever() {
        let (loader, clock, cache) = setup(None, Duration::ZERO);
        assert_eq!(get(&cache, &loader).await, Ok(1));
        clock.advance(Duration::from_secs(10 * 365 * 86_400));
        assert_eq!(get(&cache, &loader).await, Ok(1));
        assert_eq!(loader.loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn windows_and_failures() {
        let (loader, clock, cache) = setup(Some(Duration::from_secs(3600)), Duration::ZERO);
        assert_eq!(get(&cache, &loader).await, Ok(1));
        clock.advance(Duration::from_secs(40 * 60)); // 20 min left: fresh
        assert_eq!(get(&cache, &loader).await, Ok(1));
        clock.advance(Duration::from_secs(10 * 60)); // 10 min left: advisory reload
        assert_eq!(get(&cache, &loader).await, Ok(2));
        // value 2 expires 60 min after that; 10 min left and the reload fails: keep value 2
        loader.fail.store(true, Ordering::SeqCst);
        clock.advance(Duration::from_secs(50 * 60));
        assert_eq!(get(&cache, &loader).await, Ok(2));
        assert_eq!(loader.loads.load(Ordering::SeqCst), 3);
        // within the pause: no new attempt
        assert_eq!(get(&cache, &loader).await, Ok(2));
        assert_eq!(loader.loads.load(Ordering::SeqCst), 3);
        // after the pause, another advisory attempt
        clock.advance(Duration::from_secs(61));
        assert_eq!(get(&cache, &loader).await, Ok(2));
        assert_eq!(loader.loads.load(Ordering::SeqCst), 4);
        // 4 min left: mandatory, and the failure is returned
        clock.advance(Duration::from_secs(5 * 60));
        assert_eq!(get(&cache, &loader).await, Err(TestError::Load));
        // within a second of it, no new load: the failure is reported again
        loader.fail.store(false, Ordering::SeqCst);
        let recent = get(&cache, &loader).await.unwrap_err();
        assert!(matches!(&recent, TestError::Recent(r) if r.message == "refresh failed"), "{recent:?}");
        assert_eq!(loader.loads.load(Ordering::SeqCst), 5);
        clock.advance(Duration::from_secs(1));
        assert_eq!(get(&cache, &loader).await, Ok(6));
        let shown = format!("{cache:?}");
        assert!(shown.contains("cached: true"), "{shown}");
        cache.invalidate();
        assert_eq!(get(&cache, &loader).await, Ok(7));
    }

    /// Issue 15, defect 11: after a failed load every caller that had queued behind it ran its own
    /// load, one after another (50 callers, 50 loads of a failing source). Now the waiters share
    /// the failure, and the next load waits for a backoff that doubles up to 30 s.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failed_load_is_shared_by_its_waiters_and_backed_off() {
        let (loader, clock, cache) = setup(Some(Duration::from_secs(3600)), Duration::from_millis(50));
        loader.fail.store(true, Ordering::SeqCst);
        let callers: Vec<_> = (0..50)
            .map(|_| {
                let (cache, loader) = (cache.clone(), loader.clone());
                tokio::spawn(async move { get(&cache, &loader).await })
            })
            .collect();
        for c in callers {
            assert!(c.await.unwrap().is_err());
        }
        assert_eq!(loader.loads.load(Ordering::SeqCst), 1, "one load for fifty waiting callers");
        // the backoff doubles: 1 s, 2 s, 4 s …
        for (pause, loads) in [(1, 2), (2, 3), (4, 4)] {
            clock.advance(Duration::from_millis(pause * 1000 - 1));
            assert!(matches!(get(&cache, &loader).await, Err(TestError::Recent(_))));
            clock.advance(Duration::from_millis(1));
            assert_eq!(get(&cache, &loader).await, Err(TestError::Load));
            assert_eq!(loader.loads.load(Ordering::SeqCst), loads);
        }
        clock.advance(Duration::from_secs(3600));
        loader.fail.store(false, Ordering::SeqCst);
        assert_eq!(get(&cache, &loader).await, Ok(5), "recovers once the backoff has passed");
    }

    #[tokio::test]
    async fn an_expired_value_is_never_served() {
        let (loader, clock, cache) = setup(Some(Duration::from_secs(3600)), Duration::ZERO);
        let cache = Arc::new(
            RefreshCache::new(|v: &Value| v.expiry, Duration::from_secs(300), Duration::ZERO)
                .with_time_source(cache.time_source().clone()),
        );
        assert_eq!(get(&cache, &loader).await, Ok(1));
        loader.fail.store(true, Ordering::SeqCst);
        clock.advance(Duration::from_secs(3600));
        assert!(get(&cache, &loader).await.is_err(), "expired: the failure is returned");
    }
}
