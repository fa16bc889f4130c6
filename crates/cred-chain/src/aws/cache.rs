//! Caching and refreshing credentials before they expire.
//!
//! [`CredentialsCache`] wraps any provider:
//! - credentials without an expiry are loaded once and kept;
//! - from the **advisory** window (15 min before expiry by default) one caller tries a refresh
//!   while the others keep getting the cached credentials; if the refresh fails, the
//!   still-valid cached credentials are returned and the failure is logged (the next advisory
//!   attempt waits a minute);
//! - from the **mandatory** window (5 min before expiry by default) callers wait for the refresh,
//!   and a failure is returned;
//! - only one load runs at a time, however many tasks ask concurrently (a lock plus a
//!   generation check: a caller that waited for someone else's load uses its result).
//!
//! The clock is injectable ([`TimeSource`]) so tests are deterministic.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")] async fn main() {
//! use std::sync::Arc;
//! use cloudkit_cred_chain::aws::cache::CredentialsCache;
//! use cloudkit_signer::aws::{Credentials, ProvideCredentials};
//! let cached = CredentialsCache::new(Arc::new(Credentials::from_keys("AKID", "secret")));
//! assert_eq!(cached.provide_credentials().await.unwrap().access_key_id(), "AKID");
//! # }
//! ```

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials, SharedCredentialsProvider};

/// Default advisory refresh window: 15 minutes before expiry.
pub const DEFAULT_ADVISORY_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Default mandatory refresh window: 5 minutes before expiry.
pub const DEFAULT_MANDATORY_WINDOW: Duration = Duration::from_secs(5 * 60);
/// Pause between two advisory refresh attempts.
const ADVISORY_RETRY_PAUSE: Duration = Duration::from_secs(60);

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
/// use cloudkit_cred_chain::aws::cache::{ManualTimeSource, TimeSource};
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

#[derive(Default)]
struct Cached {
    credentials: Option<Credentials>,
    /// No advisory attempt before this time (after a failed or unhelpful one).
    next_advisory: Option<SystemTime>,
}

/// A caching, refreshing wrapper around a provider (see the [module docs](self)).
pub struct CredentialsCache {
    provider: SharedCredentialsProvider,
    time: Arc<dyn TimeSource>,
    advisory: Duration,
    mandatory: Duration,
    state: Mutex<Cached>,
    generation: AtomicU64,
    refresh: tokio::sync::Mutex<()>,
}

impl fmt::Debug for CredentialsCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f.debug_struct("CredentialsCache")
            .field("provider", &self.provider)
            .field("advisory", &self.advisory)
            .field("mandatory", &self.mandatory)
            // Credentials' Debug redacts the secret and the token.
            .field("cached", &state.credentials)
            .finish()
    }
}

enum Freshness {
    Fresh,
    Advisory,
    Mandatory,
}

impl CredentialsCache {
    /// Caches `provider` with the default windows and the system clock.
    pub fn new(provider: SharedCredentialsProvider) -> Self {
        Self {
            provider,
            time: Arc::new(SystemTimeSource),
            advisory: DEFAULT_ADVISORY_WINDOW,
            mandatory: DEFAULT_MANDATORY_WINDOW,
            state: Mutex::new(Cached::default()),
            generation: AtomicU64::new(0),
            refresh: tokio::sync::Mutex::new(()),
        }
    }

    /// Uses another clock.
    pub fn with_time_source(mut self, time: Arc<dyn TimeSource>) -> Self {
        self.time = time;
        self
    }

    /// Sets the refresh windows (`mandatory` is capped at `advisory`).
    pub fn with_windows(mut self, advisory: Duration, mandatory: Duration) -> Self {
        self.advisory = advisory;
        self.mandatory = mandatory.min(advisory);
        self
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &SharedCredentialsProvider {
        &self.provider
    }

    /// Forgets the cached credentials (the next call loads).
    pub fn invalidate(&self) {
        self.lock_state().credentials = None;
    }

    fn lock_state(&self) -> std::sync::MutexGuard<'_, Cached> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn freshness(&self, credentials: &Credentials, now: SystemTime) -> Freshness {
        let Some(expiry) = credentials.expiry() else { return Freshness::Fresh };
        let left = expiry.duration_since(now).unwrap_or(Duration::ZERO);
        if left > self.advisory {
            Freshness::Fresh
        } else if left > self.mandatory {
            Freshness::Advisory
        } else {
            Freshness::Mandatory
        }
    }

    fn store(&self, credentials: &Credentials) {
        let mut state = self.lock_state();
        state.credentials = Some(credentials.clone());
        state.next_advisory = None;
        self.generation.fetch_add(1, Ordering::SeqCst);
    }

    async fn load(&self) -> Result<Credentials, CredentialsError> {
        let credentials = self.provider.provide_credentials().await?;
        tracing::debug!(
            provider = credentials.provider_name(),
            expiry = ?credentials.expiry(),
            "credentials cache refreshed"
        );
        Ok(credentials)
    }
}

#[async_trait]
impl ProvideCredentials for CredentialsCache {
    async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
        let now = self.time.now();
        let generation = self.generation.load(Ordering::SeqCst);
        let (cached, next_advisory) = {
            let state = self.lock_state();
            (state.credentials.clone(), state.next_advisory)
        };
        if let Some(cached) = cached {
            match self.freshness(&cached, now) {
                Freshness::Fresh => return Ok(cached),
                Freshness::Advisory => {
                    if next_advisory.is_some_and(|t| now < t) {
                        return Ok(cached);
                    }
                    // One caller refreshes; the others use what is cached.
                    let Ok(_guard) = self.refresh.try_lock() else { return Ok(cached) };
                    if self.generation.load(Ordering::SeqCst) != generation {
                        // refreshed by someone else meanwhile
                        if let Some(c) = self.lock_state().credentials.clone() {
                            return Ok(c);
                        }
                    }
                    return match self.load().await {
                        Ok(fresh) => {
                            self.store(&fresh);
                            if matches!(self.freshness(&fresh, now), Freshness::Advisory | Freshness::Mandatory) {
                                self.lock_state().next_advisory = Some(now + ADVISORY_RETRY_PAUSE);
                            }
                            Ok(fresh)
                        }
                        Err(error) => {
                            tracing::warn!(
                                %error,
                                "advisory credentials refresh failed; using the cached credentials, which are still valid"
                            );
                            self.lock_state().next_advisory = Some(now + ADVISORY_RETRY_PAUSE);
                            Ok(cached)
                        }
                    };
                }
                Freshness::Mandatory => {}
            }
        }
        // Nothing cached, or inside the mandatory window: wait for the single refresh.
        let _guard = self.refresh.lock().await;
        if self.generation.load(Ordering::SeqCst) != generation
            && let Some(c) = self.lock_state().credentials.clone()
            && c.expiry().is_none_or(|e| e > self.time.now())
        {
            // Someone else loaded while we waited: use theirs.
            return Ok(c);
        }
        let fresh = self.load().await?;
        self.store(&fresh);
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicUsize;
    use std::time::UNIX_EPOCH;

    use super::*;

    /// Counts loads; returns credentials expiring `lifetime` after the fake clock's now, or fails
    /// while `fail` is set.
    #[derive(Debug)]
    struct Counting {
        loads: AtomicUsize,
        fail: std::sync::atomic::AtomicBool,
        clock: Arc<ManualTimeSource>,
        lifetime: Option<Duration>,
        delay: Duration,
    }

    #[async_trait]
    impl ProvideCredentials for Counting {
        async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
            let n = self.loads.fetch_add(1, Ordering::SeqCst) + 1;
            if !self.delay.is_zero() {
                tokio::time::sleep(self.delay).await;
            }
            if self.fail.load(Ordering::SeqCst) {
                return Err(CredentialsError::provider_error("test", "refresh failed", None));
            }
            let expiry = self.lifetime.map(|l| self.clock.now() + l);
            Ok(Credentials::new(format!("AKID{n}"), "TOPSECRETVALUE".to_owned(), None, expiry, "test"))
        }
    }

    fn setup(
        lifetime: Option<Duration>,
        delay: Duration,
    ) -> (Arc<Counting>, Arc<ManualTimeSource>, Arc<CredentialsCache>) {
        let clock = Arc::new(ManualTimeSource::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
        let provider = Arc::new(Counting {
            loads: AtomicUsize::new(0),
            fail: false.into(),
            clock: clock.clone(),
            lifetime,
            delay,
        });
        let cache = Arc::new(CredentialsCache::new(provider.clone()).with_time_source(clock.clone()));
        (provider, clock, cache)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn fifty_concurrent_callers_trigger_one_load() {
        let (provider, _clock, cache) = setup(Some(Duration::from_secs(3600)), Duration::from_millis(50));
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.provide_credentials().await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().access_key_id(), "AKID1");
        }
        assert_eq!(provider.loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_mandatory_refresh_is_single_flight() {
        let (provider, clock, cache) = setup(Some(Duration::from_secs(3600)), Duration::from_millis(50));
        cache.provide_credentials().await.unwrap();
        clock.advance(Duration::from_secs(3600 - 60)); // 1 min left: mandatory
        let tasks: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.provide_credentials().await })
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().access_key_id(), "AKID2");
        }
        assert_eq!(provider.loads.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn credentials_without_expiry_are_cached_forever() {
        let (provider, clock, cache) = setup(None, Duration::ZERO);
        cache.provide_credentials().await.unwrap();
        clock.advance(Duration::from_secs(10 * 365 * 86_400));
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID1");
        assert_eq!(provider.loads.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn windows() {
        let (provider, clock, cache) = setup(Some(Duration::from_secs(3600)), Duration::ZERO);
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID1");
        // 20 min left: fresh
        clock.advance(Duration::from_secs(40 * 60));
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID1");
        assert_eq!(provider.loads.load(Ordering::SeqCst), 1);
        // 10 min left: advisory refresh
        clock.advance(Duration::from_secs(10 * 60));
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID2");
        assert_eq!(provider.loads.load(Ordering::SeqCst), 2);
        // AKID2 expires 60 min after that; 4 min left: mandatory refresh
        clock.advance(Duration::from_secs(56 * 60));
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID3");
        assert_eq!(provider.loads.load(Ordering::SeqCst), 3);
    }

    #[tokio::test]
    async fn failed_advisory_refresh_keeps_old_credentials_and_failed_mandatory_errors() {
        let (provider, clock, cache) = setup(Some(Duration::from_secs(3600)), Duration::ZERO);
        cache.provide_credentials().await.unwrap();
        provider.fail.store(true, Ordering::SeqCst);
        clock.advance(Duration::from_secs(50 * 60)); // 10 min left
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID1");
        assert_eq!(provider.loads.load(Ordering::SeqCst), 2);
        // within the pause: no new attempt
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID1");
        assert_eq!(provider.loads.load(Ordering::SeqCst), 2);
        // after the pause, another advisory attempt
        clock.advance(Duration::from_secs(61));
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID1");
        assert_eq!(provider.loads.load(Ordering::SeqCst), 3);
        // 4 min left: mandatory, and the failure is returned
        clock.advance(Duration::from_secs(5 * 60));
        let err = cache.provide_credentials().await.unwrap_err();
        assert!(err.to_string().contains("refresh failed"), "{err}");
        // recovery
        provider.fail.store(false, Ordering::SeqCst);
        assert!(cache.provide_credentials().await.unwrap().access_key_id().starts_with("AKID"));
    }

    #[tokio::test]
    async fn first_load_failure_is_returned_and_retried() {
        let (provider, _clock, cache) = setup(Some(Duration::from_secs(3600)), Duration::ZERO);
        provider.fail.store(true, Ordering::SeqCst);
        assert!(cache.provide_credentials().await.is_err());
        provider.fail.store(false, Ordering::SeqCst);
        assert!(cache.provide_credentials().await.is_ok());
        let shown = format!("{cache:?}");
        assert!(!shown.contains("TOPSECRETVALUE") && shown.contains("AKID"), "{shown}");
    }
}
