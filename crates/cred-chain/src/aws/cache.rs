//! Caching and refreshing credentials before they expire.
//!
//! [`CredentialsCache`] wraps any provider in core's single-flight
//! [`cloudkit_core::RefreshCache`] (docs/ARCHITECTURE.md, "What lives in core"):
//! - credentials without an expiry are loaded once and kept;
//! - from the **advisory** window (15 min before expiry by default) one caller tries a refresh
//!   while the others keep getting the cached credentials; if the refresh fails, the
//!   still-valid cached credentials are returned and the failure is logged (the next advisory
//!   attempt waits a minute);
//! - from the **mandatory** window (5 min before expiry by default) callers wait for the refresh,
//!   and a failure is returned;
//! - only one load runs at a time, however many tasks ask concurrently;
//! - a failed load is shared by the callers that waited for it (one load, not one per caller),
//!   and the next load waits for a backoff (1 s after a failure, doubling up to 30 s), during
//!   which callers get the failure again ([`cloudkit_core::RefreshFailed`], as a
//!   `CredentialsError::ProviderError`).
//!
//! A load is part of the request that needs the credentials: the request pipeline bounds it by
//! the operation timeout, so a hung source fails that request with a timeout (and a later request
//! loads again).
//!
//! The clock is injectable ([`TimeSource`], from core) so tests are deterministic.
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
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use cloudkit_core::RefreshCache;
/// The clocks of the cache, from core (the paths `cloudkit_cred_chain::aws::{TimeSource, …}` stay).
pub use cloudkit_core::{ManualTimeSource, SystemTimeSource, TimeSource};
use cloudkit_signer::aws::{Credentials, CredentialsError, ProvideCredentials, SharedCredentialsProvider};

/// Default advisory refresh window: 15 minutes before expiry.
pub const DEFAULT_ADVISORY_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Default mandatory refresh window: 5 minutes before expiry.
pub const DEFAULT_MANDATORY_WINDOW: Duration = Duration::from_secs(5 * 60);

/// A caching, refreshing wrapper around a provider (see the [module docs](self)). `Debug` shows
/// the cached credentials with their secret and token redacted.
pub struct CredentialsCache {
    provider: SharedCredentialsProvider,
    cache: RefreshCache<Credentials>,
}

impl fmt::Debug for CredentialsCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CredentialsCache")
            .field("provider", &self.provider)
            .field("refresh", &self.cache)
            // Credentials' Debug redacts the secret and the token.
            .field("credentials", &self.cache.cached())
            .finish()
    }
}

impl CredentialsCache {
    /// Caches `provider` with the default windows and the system clock.
    pub fn new(provider: SharedCredentialsProvider) -> Self {
        Self {
            provider,
            cache: RefreshCache::new(Credentials::expiry, DEFAULT_ADVISORY_WINDOW, DEFAULT_MANDATORY_WINDOW),
        }
    }

    /// Uses another clock.
    pub fn with_time_source(mut self, time: Arc<dyn TimeSource>) -> Self {
        self.cache = self.cache.with_time_source(time);
        self
    }

    /// Sets the refresh windows (`mandatory` is capped at `advisory`).
    pub fn with_windows(mut self, advisory: Duration, mandatory: Duration) -> Self {
        self.cache = self.cache.with_windows(advisory, mandatory);
        self
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &SharedCredentialsProvider {
        &self.provider
    }

    /// Forgets the cached credentials (the next call loads).
    pub fn invalidate(&self) {
        self.cache.invalidate();
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
        self.cache.get_or_refresh(|| self.load()).await
    }
}

// The single-flight, window and failure rules are tested generically in core (crates/core/src/cache.rs);
// these tests cover the wrapper: its default windows, its clock, provider errors and redaction.
#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    use std::time::UNIX_EPOCH;

    use super::*;

    /// Counts loads; returns credentials expiring an hour after the fake clock's now, or fails
    /// while `fail` is set.
    #[derive(Debug)]
    struct Counting {
        loads: AtomicUsize,
        fail: AtomicBool,
        clock: Arc<ManualTimeSource>,
    }

    #[async_trait]
    impl ProvideCredentials for Counting {
        async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
            let n = self.loads.fetch_add(1, Ordering::SeqCst) + 1;
            if self.fail.load(Ordering::SeqCst) {
                return Err(CredentialsError::provider_error("test", "refresh failed", None));
            }
            let expiry = self.clock.now() + Duration::from_secs(3600);
            Ok(Credentials::new(format!("AKID{n}"), "TOPSECRETVALUE".to_owned(), None, Some(expiry), "test"))
        }
    }

    fn setup() -> (Arc<Counting>, Arc<ManualTimeSource>, CredentialsCache) {
        let clock = Arc::new(ManualTimeSource::new(UNIX_EPOCH + Duration::from_secs(1_700_000_000)));
        let provider = Arc::new(Counting { loads: AtomicUsize::new(0), fail: false.into(), clock: clock.clone() });
        let cache = CredentialsCache::new(provider.clone()).with_time_source(clock.clone());
        (provider, clock, cache)
    }

    #[tokio::test]
    async fn default_windows_and_provider_errors() {
        let (provider, clock, cache) = setup();
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID1");
        // 20 min left: fresh
        clock.advance(Duration::from_secs(40 * 60));
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID1");
        assert_eq!(provider.loads.load(Ordering::SeqCst), 1);
        // 10 min left: advisory refresh
        clock.advance(Duration::from_secs(10 * 60));
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID2");
        // AKID2 has 10 min left and the refresh fails: the still-valid credentials are kept
        provider.fail.store(true, Ordering::SeqCst);
        clock.advance(Duration::from_secs(50 * 60));
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID2");
        assert_eq!(provider.loads.load(Ordering::SeqCst), 3);
        // 4 min left: mandatory, and the provider's error is returned
        clock.advance(Duration::from_secs(6 * 60));
        let err = cache.provide_credentials().await.unwrap_err();
        assert!(matches!(err, CredentialsError::ProviderError { .. }), "{err:?}");
        assert!(err.to_string().contains("refresh failed"), "{err}");
        // recovery, once the backoff after the failure has passed
        provider.fail.store(false, Ordering::SeqCst);
        clock.advance(Duration::from_secs(1));
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID5");
    }

    #[tokio::test]
    async fn custom_windows_and_invalidate() {
        let (provider, clock, cache) = setup();
        let cache = cache.with_windows(Duration::from_secs(30 * 60), Duration::from_secs(60));
        cache.provide_credentials().await.unwrap();
        // 25 min left: inside the custom advisory window
        clock.advance(Duration::from_secs(35 * 60));
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID2");
        cache.invalidate();
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID3");
        assert_eq!(provider.loads.load(Ordering::SeqCst), 3);
        assert!(Arc::ptr_eq(
            &(cache.inner().clone() as Arc<dyn ProvideCredentials>),
            &(provider as Arc<dyn ProvideCredentials>)
        ));
    }

    #[tokio::test]
    async fn first_load_failure_is_returned_and_retried() {
        let (provider, clock, cache) = setup();
        provider.fail.store(true, Ordering::SeqCst);
        assert!(cache.provide_credentials().await.is_err());
        provider.fail.store(false, Ordering::SeqCst);
        // within the backoff the failure is reported again without a load (issue 15, defect 11) …
        let recent = cache.provide_credentials().await.unwrap_err();
        assert!(recent.to_string().contains("refresh failed"), "{recent}");
        assert_eq!(provider.loads.load(Ordering::SeqCst), 1);
        // … and after it the provider is asked again
        clock.advance(Duration::from_secs(1));
        assert!(cache.provide_credentials().await.is_ok());
        let shown = format!("{cache:?}");
        assert!(!shown.contains("TOPSECRETVALUE") && shown.contains("AKID"), "{shown}");
    }

    /// Issue 15, defect 15: windows from configuration may be as large as `Duration::MAX`; they
    /// mean "always refresh" and never overflow.
    #[tokio::test]
    async fn huge_windows_do_not_overflow() {
        let (provider, clock, cache) = setup();
        let cache = cache.with_windows(Duration::MAX, Duration::MAX);
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID1");
        clock.advance(Duration::from_secs(1));
        assert_eq!(cache.provide_credentials().await.unwrap().access_key_id(), "AKID2");
        assert_eq!(provider.loads.load(Ordering::SeqCst), 2);
    }

    /// Issue 15, defect 11: after a failed load, each caller that had queued behind it ran its
    /// own load. Fifty callers and a failing provider: one load, fifty errors.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn fifty_callers_and_a_failing_provider_make_one_load() {
        #[derive(Debug, Default)]
        struct SlowFailing(AtomicUsize);
        #[async_trait]
        impl ProvideCredentials for SlowFailing {
            async fn provide_credentials(&self) -> Result<Credentials, CredentialsError> {
                self.0.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(100)).await;
                Err(CredentialsError::provider_error("test", "the source is down", None))
            }
        }
        let provider = Arc::new(SlowFailing::default());
        let cache = Arc::new(CredentialsCache::new(provider.clone()));
        let callers: Vec<_> = (0..50)
            .map(|_| {
                let cache = cache.clone();
                tokio::spawn(async move { cache.provide_credentials().await })
            })
            .collect();
        for caller in callers {
            let e = caller.await.unwrap().unwrap_err();
            assert!(e.to_string().contains("the source is down"), "{e}");
        }
        assert_eq!(provider.0.load(Ordering::SeqCst), 1, "one load for fifty callers");
    }
}
