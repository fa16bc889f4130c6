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
//! - only one load runs at a time, however many tasks ask concurrently.
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
}
